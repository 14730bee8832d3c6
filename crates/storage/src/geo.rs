//! Storage for grid boundaries.

use async_trait::async_trait;
use mulin_domain::ids::{DistrictId, NodeId};

use crate::{AuditEntry, StoreResult};

/// Writing node geometries (grid and community boundaries).
#[async_trait]
pub trait GeoStore {
    /// Sets the GeoJSON geometry of each node and appends `audit`, all in one transaction.
    /// A node that does not exist in the district makes it `NotFound` and changes nothing.
    async fn replace_geometries(
        &self,
        district: DistrictId,
        geometries: &[(NodeId, String)],
        audit: &AuditEntry,
    ) -> StoreResult<()>;
}
