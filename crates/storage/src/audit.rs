//! Reading the audit log with filters, for the administrators' audit viewer.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mulin_domain::ids::DistrictId;
use mulin_domain::tree::NodePath;

use crate::{AuditEntry, Page, StoreResult};

/// The suffix of every action that read unmasked personal data (`resident.reveal`,
/// `resident.export.reveal`): new reads of that kind must be named the same way to be found
/// by [`AuditQuery::personal_data_reads`].
pub const PERSONAL_DATA_READ_SUFFIX: &str = ".reveal";

/// Filters on the audit log; every one set must match.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// The actor's username, exactly.
    pub actor: Option<String>,
    /// The action, exactly (`resident.reveal`).
    pub action: Option<String>,
    /// The target's id, exactly (a resident's or node's id, a username ...).
    pub target: Option<String>,
    /// From this instant, inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Only reads of unmasked personal data.
    pub personal_data_reads: bool,
    /// 1-based page.
    pub page: u32,
    /// Entries per page (at most 500).
    pub per_page: u32,
}

/// The audit viewer's storage method.
#[async_trait]
pub trait AuditStore {
    /// The district's audit entries matching `query`, newest first, inside `scopes` (what
    /// the policy allows the reader): a scope that is the district itself covers every
    /// entry; narrower scopes cover what accounts working inside them did, that is accounts
    /// every grant of which lies inside one of the scopes (entries without an account, such
    /// as the command line's, need the district). An empty `scopes` finds nothing.
    async fn search_audit(
        &self,
        district: DistrictId,
        scopes: &[NodePath],
        query: &AuditQuery,
    ) -> StoreResult<Page<AuditEntry>>;
}
