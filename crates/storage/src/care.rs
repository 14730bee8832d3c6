//! What storage keeps about elderly care: health records of residents aged 65+, family
//! sickbeds (家庭病床) with their schedules, and the sickbed visits.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use mulin_domain::care::Schedule;
use mulin_domain::ids::{DistrictId, NodeId, ResidentId, UserId};
use mulin_domain::person::SpecialGroup;
use mulin_domain::tree::NodePath;

use crate::{AuditEntry, Page, ResidentRecord, StoreResult};

/// A resident's health record (kept for residents aged 65+).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HealthRecord {
    /// Tenant.
    pub district: DistrictId,
    /// Whom.
    pub resident: ResidentId,
    /// Their household.
    pub household: NodeId,
    /// Their grid (for scoped lists).
    pub grid: NodePath,
    /// Chronic conditions, free text.
    pub conditions: String,
    /// The family-doctor or care team.
    pub care_team: String,
    /// Notes.
    pub notes: String,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// By whom.
    pub updated_by: UserId,
}

/// A family sickbed and its visit schedule.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SickbedRecord {
    /// Identity (UUIDv7).
    pub id: uuid::Uuid,
    /// Tenant.
    pub district: DistrictId,
    /// The patient.
    pub resident: ResidentId,
    /// Their name (read side, from the registry).
    pub resident_name: String,
    /// Their household.
    pub household: NodeId,
    /// Their grid (for scoped lists).
    pub grid: NodePath,
    /// The care team it is assigned to.
    pub care_team: String,
    /// Every N days from a start day.
    pub schedule: Schedule,
    /// The day of the latest visit.
    pub last_visit_on: Option<NaiveDate>,
    /// When it was set up.
    pub created_at: DateTime<Utc>,
}

/// A visit to a family sickbed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SickbedVisit {
    /// Identity (UUIDv7).
    pub id: uuid::Uuid,
    /// Tenant.
    pub district: DistrictId,
    /// The sickbed.
    pub sickbed: uuid::Uuid,
    /// The day.
    pub on: NaiveDate,
    /// What was done.
    pub note: String,
    /// Who recorded it.
    pub recorded_by: UserId,
    /// When.
    pub recorded_at: DateTime<Utc>,
}

/// Health records and family sickbeds.
#[async_trait]
pub trait CareStore {
    /// Writes (or replaces) a resident's health record with its audit record.
    async fn put_health_record(&self, record: &HealthRecord, audit: &AuditEntry)
        -> StoreResult<()>;

    /// A resident's health record, `NotFound` when none is kept.
    async fn health_record(
        &self,
        district: DistrictId,
        resident: ResidentId,
    ) -> StoreResult<HealthRecord>;

    /// Sets up a family sickbed with its audit record.
    async fn insert_sickbed(&self, sickbed: &SickbedRecord, audit: &AuditEntry) -> StoreResult<()>;

    /// One sickbed.
    async fn sickbed(&self, district: DistrictId, id: uuid::Uuid) -> StoreResult<SickbedRecord>;

    /// Sickbeds inside any of `scopes` (grids or the levels above them), by patient name.
    /// An empty `scopes` finds nothing.
    async fn sickbeds_under(
        &self,
        district: DistrictId,
        scopes: &[NodePath],
    ) -> StoreResult<Vec<SickbedRecord>>;

    /// Records a visit and moves the sickbed's last visit forward (never back), with the
    /// audit record, in one transaction.
    async fn insert_sickbed_visit(
        &self,
        visit: &SickbedVisit,
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    /// Residents inside any of `scopes` in a special group, by name, a page at a time:
    /// `Elderly` is derived (65 or over on `today`), the others are tags. An empty `scopes`
    /// finds nothing.
    async fn special_group_members(
        &self,
        district: DistrictId,
        scopes: &[NodePath],
        group: SpecialGroup,
        today: NaiveDate,
        page: u32,
        per_page: u32,
    ) -> StoreResult<Page<ResidentRecord>>;
}
