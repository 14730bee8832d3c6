//! What the floating-population ledger needs beyond the resident ledger's: the histories and
//! records of many residents at once (an export reads a whole list in a fixed number of
//! statements), and one transaction that writes the residents and their moves together.

use async_trait::async_trait;
use mulin_domain::ids::{DistrictId, ResidentId};

use crate::{ImportBatch, ImportProgress, MovementRecord, ResidentRecord, StoreResult};

/// The floating ledger's storage methods.
#[async_trait]
pub trait FloatingImportStore {
    /// The moves of these residents, by resident then oldest first (residents without
    /// moves are absent).
    async fn movements_of(
        &self,
        district: DistrictId,
        residents: &[ResidentId],
    ) -> StoreResult<Vec<MovementRecord>>;

    /// These residents of the district (ids not found are absent), in no particular order.
    async fn residents_by_ids(
        &self,
        district: DistrictId,
        residents: &[ResidentId],
    ) -> StoreResult<Vec<ResidentRecord>>;

    /// Writes an import in one transaction: the batch as [`crate::LedgerStore::apply_import`]
    /// writes it (reporting residents written to `progress`), then the moves. `Conflict` when
    /// a move's `seq` is already taken (another move of the resident landed since the plan);
    /// on any error nothing is written.
    async fn apply_floating_import(
        &self,
        batch: &ImportBatch,
        movements: &[MovementRecord],
        progress: &ImportProgress<'_>,
    ) -> StoreResult<()>;
}
