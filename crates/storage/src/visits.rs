//! What storage keeps about home visits and patrols: the visit, the households it called
//! on, the record updates it brought back (written with it, once), and the coverage figures.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mulin_domain::ids::{DistrictId, NodeId, RequestId, ResidentId, UserId};
use mulin_domain::person::{Phone, ResidenceStatus, SpecialGroups};
use mulin_domain::tree::NodePath;
use mulin_domain::visit::VisitKind;

use crate::{AuditEntry, LonLat, NodeRecord, Page, StoreResult};

/// One visit or patrol.
#[derive(Clone, PartialEq, Debug)]
pub struct VisitRecord {
    /// Identity (UUIDv7).
    pub id: uuid::Uuid,
    /// Tenant.
    pub district: DistrictId,
    /// The grid it was made in.
    pub grid: NodePath,
    /// Home visit or patrol.
    pub kind: VisitKind,
    /// When it started.
    pub visited_at: DateTime<Utc>,
    /// How long it took, in minutes.
    pub minutes: u32,
    /// Who made it.
    pub visitor: UserId,
    /// Their name at the time.
    pub visitor_name: String,
    /// What was found (may be empty).
    pub findings: String,
    /// Optional evidence of where: never required, never counted.
    pub position: Option<LonLat>,
    /// The request a finding became.
    pub request: Option<RequestId>,
    /// The households called on.
    pub households: Vec<NodeId>,
}

/// A change to a resident's record that a visit brought back. Only the fields given change.
#[derive(Clone, PartialEq, Debug)]
pub struct ResidentUpdate {
    /// Whom.
    pub resident: ResidentId,
    /// Their household (the update is refused unless the resident lives there).
    pub household: NodeId,
    /// A new phone.
    pub phone: Option<Phone>,
    /// A new residence status.
    pub status: Option<ResidenceStatus>,
    /// The new set of tagged special groups (replaces the old set).
    pub groups: Option<SpecialGroups>,
}

/// Which visits a list shows.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VisitFilter {
    /// Only those made by this account.
    pub visitor: Option<UserId>,
    /// 1-based page.
    pub page: u32,
    /// Page size, 1–200.
    pub per_page: u32,
}

/// Coverage of one grid over a window.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GridCoverage {
    /// The grid.
    pub grid: NodeId,
    /// Households in it.
    pub households: i64,
    /// Households not visited since the window began.
    pub not_visited: i64,
    /// Visits made in the window.
    pub visits: i64,
    /// Minutes they took.
    pub visit_minutes: i64,
}

/// Visits and patrols.
#[async_trait]
pub trait VisitStore {
    /// Stores a visit with its households, the record updates it brought back and their
    /// audit records, in one transaction: an update of a resident who does not live in the
    /// named household is `NotFound` and nothing is written.
    async fn insert_visit(
        &self,
        visit: &VisitRecord,
        updates: &[ResidentUpdate],
        audit: &[AuditEntry],
    ) -> StoreResult<()>;

    /// One visit.
    async fn visit(&self, district: DistrictId, id: uuid::Uuid) -> StoreResult<VisitRecord>;

    /// Visits inside any of `scopes` (grids or the levels above them), newest first. An
    /// empty `scopes` finds nothing.
    async fn search_visits(
        &self,
        district: DistrictId,
        scopes: &[NodePath],
        filter: &VisitFilter,
    ) -> StoreResult<Page<VisitRecord>>;

    /// Links the request a visit's finding became, with its audit record; `Conflict` when
    /// the visit already has one.
    async fn link_visit_request(
        &self,
        district: DistrictId,
        visit: uuid::Uuid,
        request: RequestId,
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    /// Per grid inside `scope`: households, those not visited since `since`, and the
    /// visits made since then with their minutes.
    async fn visit_coverage(
        &self,
        district: DistrictId,
        scope: &NodePath,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<GridCoverage>>;

    /// Households of a grid not visited since `since`, in address order, at most `limit`.
    async fn unvisited_households(
        &self,
        district: DistrictId,
        grid: &NodePath,
        since: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<NodeRecord>>;
}
