//! What storage keeps about the floating population (流动人口): each resident's moves in
//! and out, oldest first, never overwritten.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use mulin_domain::ids::{DistrictId, ResidentId, UserId};
use mulin_domain::movement::Direction;
use mulin_domain::tree::NodePath;

use crate::{AuditEntry, StoreResult};

/// One move in or out.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MovementRecord {
    /// Identity (UUIDv7).
    pub id: uuid::Uuid,
    /// Tenant.
    pub district: DistrictId,
    /// Who moved.
    pub resident: ResidentId,
    /// Their name (read side, from the registry).
    pub resident_name: String,
    /// 1-based position in the resident's history.
    pub seq: i64,
    /// The household they moved into or out of.
    pub household: NodePath,
    /// In or out.
    pub direction: Direction,
    /// On which day.
    pub on: NaiveDate,
    /// Why (work, study, family …), free text.
    pub reason: String,
    /// Who recorded it.
    pub recorded_by: UserId,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// Moves in and out.
#[async_trait]
pub trait FloatingStore {
    /// Appends a move with its audit record; `Conflict` when the resident's history already
    /// has a move at `seq` (another move landed first) and nothing is written.
    async fn insert_movement(
        &self,
        movement: &MovementRecord,
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    /// A resident's moves, oldest first.
    async fn movements(
        &self,
        district: DistrictId,
        resident: ResidentId,
    ) -> StoreResult<Vec<MovementRecord>>;

    /// Every move recorded inside any of `scopes` (grids or the levels above them) up to
    /// and including `until`, by resident then oldest first. An empty `scopes` finds
    /// nothing.
    async fn movements_under(
        &self,
        district: DistrictId,
        scopes: &[NodePath],
        until: NaiveDate,
    ) -> StoreResult<Vec<MovementRecord>>;
}
