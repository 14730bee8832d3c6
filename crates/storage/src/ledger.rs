//! What the ledger import needs of a database: finding residents by ID number, and writing a
//! whole import in one transaction.

use async_trait::async_trait;
use mulin_domain::ids::DistrictId;
use mulin_domain::person::IdNumber;

use crate::{AuditEntry, NodeRecord, ResidentRecord, StoreResult};

/// Told the number of residents written so far.
pub type ImportProgress<'a> = dyn Fn(usize) + Send + Sync + 'a;

/// One import, written all or nothing.
#[derive(Clone, Debug)]
pub struct ImportBatch {
    /// Tenant.
    pub district: DistrictId,
    /// New nodes (buildings, entrances, households), parents before children.
    pub nodes: Vec<NodeRecord>,
    /// Residents to insert, or to update where the district already has their ID number
    /// (the stored id is kept then). Every one carries an ID number.
    pub residents: Vec<ResidentRecord>,
    /// The audit record of the import, written in the same transaction.
    pub audit: AuditEntry,
}

/// The ledger's storage methods.
#[async_trait]
pub trait LedgerStore {
    /// The district's residents holding any of these ID numbers (absent ones are skipped).
    async fn residents_by_id_numbers(
        &self,
        district: DistrictId,
        id_numbers: &[IdNumber],
    ) -> StoreResult<Vec<ResidentRecord>>;

    /// Writes an import in one transaction: the nodes, the residents (inserted, or updated
    /// by `(district, ID number)`), the audit record. On any error nothing is written.
    /// `progress` is told how many of the batch's residents are written so far, as the
    /// write advances (a 100,000-row import takes seconds, and the page and the CLI show it).
    async fn apply_import(
        &self,
        batch: &ImportBatch,
        progress: &ImportProgress<'_>,
    ) -> StoreResult<()>;
}
