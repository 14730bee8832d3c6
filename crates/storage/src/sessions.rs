//! The caller of an authenticated request in one read: session, account and grants.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mulin_domain::policy::Grant;

use crate::{SessionRecord, StoreResult, UserRecord};

/// What every authenticated request asks first.
#[async_trait]
pub trait SessionStore {
    /// A live session by the hash of its token (`NotFound` if absent or expired at `now`),
    /// with its account and the account's grants, each with the full path of its node, in
    /// one read. The same as `session`, `user` and `grants` asked one after the other.
    async fn session_caller(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<(SessionRecord, UserRecord, Vec<Grant>)>;
}
