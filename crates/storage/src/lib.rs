//! The storage interface: what Mulin keeps and asks of a database, in domain terms.
//!
//! This crate names no database driver. `mulin-storage-sql` implements [`Storage`] once;
//! the SQLite and PostgreSQL crates only connect and migrate. The web layer holds an
//! `Arc<dyn Storage>` and never learns which database is behind it, and the conformance
//! suite in `mulin-storage-tests` runs the same story against each backend.
//!
//! Every method takes the district (the tenant key) and every row carries it, so the schema
//! can be sharded by district later without changing a query.
#![deny(missing_docs)]

mod audit;
mod care;
mod floating;
mod floating_import;
mod geo;
mod id_keys;
mod intake;
pub mod kpi;
mod ledger;
mod map;
mod open311;
mod outbox;
mod records;
mod redivision;
mod reps;
mod request_batch;
mod request_kpi;
mod requests;
mod schedule;
mod sessions;
mod visits;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use mulin_domain::ids::{DistrictId, NodeId, ResidentId, UserId};
use mulin_domain::policy::{Grant, Role};
use mulin_domain::tree::NodePath;

pub use audit::{AuditQuery, AuditStore, PERSONAL_DATA_READ_SUFFIX};
pub use care::*;
pub use floating::*;
pub use floating_import::FloatingImportStore;
pub use geo::GeoStore;
pub use id_keys::IdKeyStore;
pub use intake::{Intake, IntakeStore};
pub use ledger::{ImportBatch, ImportProgress, LedgerStore};
pub use map::{MapStore, StationRecord};
pub use open311::*;
pub use outbox::*;
pub use records::*;
pub use redivision::{
    CompoundMove, GridRetirement, RedivisionChange, RedivisionRecord, RedivisionStore,
};
pub use reps::RepresentativeStore;
pub use request_batch::{RequestBatchStore, RequestChange};
pub use request_kpi::RequestKpiStore;
pub use requests::*;
pub use schedule::{CalendarYearRecord, ScheduleStore};
pub use sessions::SessionStore;
pub use visits::*;

/// What can go wrong in storage, as far as a caller can act on it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist (in this district).
    #[error("not found")]
    NotFound,
    /// A unique key is taken (a username, an ID number in the district ...).
    #[error("already exists: {0}")]
    Conflict(String),
    /// A stored row no longer parses into a domain value: a bug or a hand-edited database.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database server is too old, unreachable or misconfigured.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else, with its cause.
    #[error("storage failure")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The result of every storage call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Everything Mulin keeps. One implementation serves SQLite and PostgreSQL.
#[async_trait]
pub trait Storage:
    AuditStore
    + CareStore
    + FloatingImportStore
    + FloatingStore
    + GeoStore
    + IdKeyStore
    + IntakeStore
    + LedgerStore
    + MapStore
    + Open311Store
    + OutboxStore
    + RedivisionStore
    + RepresentativeStore
    + RequestBatchStore
    + RequestKpiStore
    + RequestStore
    + ScheduleStore
    + SessionStore
    + VisitStore
    + Send
    + Sync
    + 'static
{
    /// Which database this is (`sqlite` or `postgres`), for banners and benchmarks.
    fn backend_name(&self) -> &'static str;

    /// Writes a whole dataset (a new district, the demo, an import) in one transaction:
    /// all of it lands or none of it does.
    async fn load(&self, dataset: &Dataset) -> StoreResult<()>;

    /// Whether the database holds no district yet.
    async fn is_empty(&self) -> StoreResult<bool>;

    /// Whether this database was created by `mulin demo` (demo accounts live only there).
    async fn is_demo(&self) -> StoreResult<bool>;

    /// Marks the database as a demo database.
    async fn mark_demo(&self) -> StoreResult<()>;

    /// The districts held, root nodes only.
    async fn districts(&self) -> StoreResult<Vec<NodeRecord>>;

    /// One node of a district.
    async fn node(&self, district: DistrictId, id: NodeId) -> StoreResult<NodeRecord>;

    /// A node found by its division code (codes are unique in a database).
    async fn node_by_code(&self, code: &str) -> StoreResult<NodeRecord>;

    /// The children of a node, in sibling order.
    async fn children(&self, district: DistrictId, parent: NodeId) -> StoreResult<Vec<NodeRecord>>;

    /// Every node inside `scope` (itself included) down to `deepest`, ordered by level then
    /// sibling order.
    async fn subtree(
        &self,
        district: DistrictId,
        scope: &NodePath,
        deepest: mulin_domain::NodeKind,
    ) -> StoreResult<Vec<NodeRecord>>;

    /// Households, residents and special-group members under a node, with "elderly"
    /// counted as of `today`.
    async fn counts(
        &self,
        district: DistrictId,
        scope: &NodePath,
        today: NaiveDate,
    ) -> StoreResult<NodeCounts>;

    /// The same counts for every child of `parent`, keyed by child id.
    async fn child_counts(
        &self,
        district: DistrictId,
        parent: &NodePath,
        today: NaiveDate,
    ) -> StoreResult<Vec<(NodeId, NodeCounts)>>;

    /// One resident.
    async fn resident(&self, district: DistrictId, id: ResidentId) -> StoreResult<ResidentRecord>;

    /// The members of a household, head first.
    async fn household_members(
        &self,
        district: DistrictId,
        household: NodeId,
    ) -> StoreResult<Vec<ResidentRecord>>;

    /// Residents inside any of `scopes` that match the query, a page at a time. An empty
    /// `scopes` finds nothing: the caller's policy decides the scopes.
    async fn search_residents(
        &self,
        district: DistrictId,
        scopes: &[NodePath],
        query: &ResidentQuery,
    ) -> StoreResult<Page<ResidentRecord>>;

    /// Adds one resident to an existing household.
    async fn insert_resident(&self, resident: &ResidentRecord) -> StoreResult<()>;

    /// The party organisations attached to the nodes of `place`.
    async fn party_orgs(
        &self,
        district: DistrictId,
        place: Place<'_>,
    ) -> StoreResult<Vec<PartyOrgRecord>>;

    /// The units whose address is one of the nodes of `place`.
    async fn units(&self, district: DistrictId, place: Place<'_>) -> StoreResult<Vec<UnitRecord>>;

    /// The posts held at the nodes of `place`.
    async fn posts(&self, district: DistrictId, place: Place<'_>) -> StoreResult<Vec<PostRecord>>;

    /// The district's extra fields.
    async fn field_defs(
        &self,
        district: DistrictId,
    ) -> StoreResult<Vec<mulin_domain::org::FieldDef>>;

    /// Adds an extra field to a district.
    async fn insert_field_def(
        &self,
        district: DistrictId,
        field: &mulin_domain::org::FieldDef,
    ) -> StoreResult<()>;

    /// Creates an account; the username must be free.
    async fn insert_user(&self, user: &UserRecord) -> StoreResult<()>;

    /// An account by its login name.
    async fn user_by_username(&self, username: &str) -> StoreResult<UserRecord>;

    /// An account by id.
    async fn user(&self, id: UserId) -> StoreResult<UserRecord>;

    /// Replaces an account's password hash.
    async fn set_password_hash(&self, id: UserId, password_hash: &str) -> StoreResult<()>;

    /// Grants a role at a node (idempotent).
    async fn grant(
        &self,
        user: UserId,
        district: DistrictId,
        role: Role,
        node: NodeId,
    ) -> StoreResult<()>;

    /// An account's grants, each with the full path of its node.
    async fn grants(&self, user: UserId) -> StoreResult<Vec<Grant>>;

    /// Stores a new session.
    async fn insert_session(&self, session: &SessionRecord) -> StoreResult<()>;

    /// A live session by the hash of its token, or `NotFound` if absent or expired at `now`.
    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<SessionRecord>;

    /// Ends a session.
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;

    /// Appends to the audit log.
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
}
