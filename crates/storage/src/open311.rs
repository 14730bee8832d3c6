//! What storage keeps for Open311 GeoReport v2 clients: their API keys (only the hash of
//! each), and the public request query the standard's `GET requests` needs.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mulin_domain::ids::{DistrictId, RequestId};
use uuid::Uuid;

use crate::{RequestRecord, StoreResult};

/// An Open311 client's key. The key itself is shown once when issued; only its SHA-256
/// is kept.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Open311KeyRecord {
    /// Tenant: requests posted with the key land in this district.
    pub district: DistrictId,
    /// UUIDv7.
    pub id: Uuid,
    /// Who the key was issued to (unique in the district); the timeline names the key by it.
    pub name: String,
    /// SHA-256 of the key, hex.
    pub key_hash: String,
    /// Issued.
    pub created_at: DateTime<Utc>,
    /// Revoked (a revoked key is refused).
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What `GET requests` asks for, inside one district.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Open311Query {
    /// Only these requests (when non-empty, nothing else but the district restricts).
    pub ids: Vec<RequestId>,
    /// Only these catalogue codes (empty: all).
    pub service_codes: Vec<String>,
    /// Received at or after.
    pub from: Option<DateTime<Utc>>,
    /// Received at or before.
    pub to: Option<DateTime<Utc>>,
    /// `Some(true)`: only open ones; `Some(false)`: only solved, verified or closed ones.
    pub open: Option<bool>,
    /// The most rows returned (newest first).
    pub limit: u32,
}

/// Open311 keys and the public request query.
#[async_trait]
pub trait Open311Store {
    /// Stores a new key; `Conflict` when the name is taken in the district.
    async fn insert_open311_key(&self, key: &Open311KeyRecord) -> StoreResult<()>;

    /// A key by the hash of its text (revoked keys too: the caller refuses them).
    async fn open311_key_by_hash(&self, key_hash: &str) -> StoreResult<Open311KeyRecord>;

    /// A district's keys, oldest first.
    async fn open311_keys(&self, district: DistrictId) -> StoreResult<Vec<Open311KeyRecord>>;

    /// Revokes the key named `name` at `at` (`NotFound` when there is none; revoking twice
    /// keeps the first time).
    async fn revoke_open311_key(
        &self,
        district: DistrictId,
        name: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Requests of the district matching `query`, newest first, at most `query.limit`.
    async fn open311_requests(
        &self,
        district: DistrictId,
        query: &Open311Query,
    ) -> StoreResult<Vec<RequestRecord>>;

    /// The public status note of each request: the note of its latest solve, verification,
    /// department report or closing event that has one. Requests without one are left out.
    async fn open311_status_notes(
        &self,
        district: DistrictId,
        ids: &[RequestId],
    ) -> StoreResult<Vec<(RequestId, String)>>;
}
