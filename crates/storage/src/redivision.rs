//! Storage for re-division proposals (seed 002: re-dividing a community's grids) and their
//! audited application to the tree.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mulin_domain::ids::{DistrictId, NodeId};

use crate::{AuditEntry, StoreResult};

/// A stored re-division proposal of one community.
#[derive(Clone, PartialEq, Debug)]
pub struct RedivisionRecord {
    /// The tenant.
    pub district: DistrictId,
    /// The proposal (UUIDv7).
    pub id: uuid::Uuid,
    /// The community whose grids it re-divides.
    pub community: NodeId,
    /// When it was proposed.
    pub created_at: DateTime<Utc>,
    /// Who asked for it (username).
    pub created_by: String,
    /// A digest of the community's compound → grid assignment when proposed; applying is
    /// refused once it differs (the division changed since).
    pub fingerprint: String,
    /// The proposal as the API returned it (JSON text).
    pub body: String,
    /// When it was applied, if it was.
    pub applied_at: Option<DateTime<Utc>>,
}

/// One compound (a block: never split) moving to another grid with everything under it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CompoundMove {
    /// The compound node.
    pub compound: NodeId,
    /// The grid it is under now.
    pub from: NodeId,
    /// The grid it moves to (in the same community).
    pub to: NodeId,
}

/// Re-division proposals.
#[async_trait]
pub trait RedivisionStore {
    /// Stores a new proposal.
    async fn insert_redivision(&self, proposal: &RedivisionRecord) -> StoreResult<()>;

    /// One proposal of the district.
    async fn redivision(
        &self,
        district: DistrictId,
        id: uuid::Uuid,
    ) -> StoreResult<RedivisionRecord>;

    /// In one transaction: marks the proposal applied at `at` (`Conflict` if it already
    /// was), moves each compound with its buildings, entrances, households, residents and
    /// requests to its new grid (`Conflict` if a compound is no longer under `from`), sets
    /// each listed grid's boundary (GeoJSON; `None` clears it: a grid left without ground;
    /// `NotFound` for a node not in the district), and appends `audit`. On any error nothing
    /// changes.
    async fn apply_redivision(
        &self,
        district: DistrictId,
        id: uuid::Uuid,
        moves: &[CompoundMove],
        boundaries: &[(NodeId, Option<String>)],
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
}
