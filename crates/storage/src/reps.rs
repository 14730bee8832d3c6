//! The households linked to representative and building-captain posts (居民代表 / 楼栋长
//! each look after 5–15 households): reading one post's place and replacing its links.

use async_trait::async_trait;
use mulin_domain::ids::{DistrictId, NodeId, PostId};
use mulin_domain::org::PostKind;

use crate::{AuditEntry, StoreResult};

/// Post ↔ household links.
#[async_trait]
pub trait RepresentativeStore {
    /// A post's kind and the node it is held at (`NotFound` outside the district).
    async fn post_place(
        &self,
        district: DistrictId,
        post: PostId,
    ) -> StoreResult<(PostKind, NodeId)>;

    /// Replaces the households linked to `post` with `households` and appends `audit`, in
    /// one transaction. The caller checks the households lie in the post's community.
    async fn set_post_households(
        &self,
        district: DistrictId,
        post: PostId,
        households: &[NodeId],
        audit: &AuditEntry,
    ) -> StoreResult<()>;
}
