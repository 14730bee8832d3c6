//! Storage for re-division proposals (seed 002: re-dividing a community's grids) and their
//! audited application to the tree.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mulin_domain::ids::{DistrictId, NodeId};

use crate::{AuditEntry, NodeRecord, StoreResult};

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

/// A grid a re-division leaves without households, retired into the grid that took most of
/// them (its successor).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct GridRetirement {
    /// The grid being retired.
    pub grid: NodeId,
    /// The grid that takes over what hangs on it.
    pub successor: NodeId,
}

/// Everything one applied proposal changes, in the order it is written.
#[derive(Clone, Copy, Debug)]
pub struct RedivisionChange<'a> {
    /// Grids the proposal needs that do not exist yet (kind grid, under the community).
    pub new_grids: &'a [NodeRecord],
    /// Compounds moving to another grid.
    pub moves: &'a [CompoundMove],
    /// Grids left empty by the moves.
    pub retired: &'a [GridRetirement],
    /// New boundaries (GeoJSON; `None` clears one) of grids that stay.
    pub boundaries: &'a [(NodeId, Option<String>)],
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
    /// was); inserts the new grids; moves each compound with its buildings, entrances,
    /// households, residents, requests (their KPI rollup with them), moves, health records
    /// and sickbeds to its new grid (`Conflict` if a compound is no longer under `from`);
    /// retires each emptied grid: its posts, units, party organisations, grants, visits and
    /// the requests placed on the grid itself go to its successor, its rollup rows (empty
    /// by then) go, and the node is deleted (`Conflict` if anything still hangs under it);
    /// sets each listed grid's boundary (`NotFound` for a node not in the district); and
    /// appends `audit`. On any error nothing changes.
    async fn apply_redivision(
        &self,
        district: DistrictId,
        id: uuid::Uuid,
        change: RedivisionChange<'_>,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
}
