//! What the map keeps besides the tree: service stations and each district's grid rules
//! (score thresholds and the service-circle walk).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mulin_domain::ids::{DistrictId, NodeId};
use mulin_domain::station::StationKind;
use mulin_geo::GridRules;
use uuid::Uuid;

use crate::{AuditEntry, LonLat, StoreResult};

/// A service station under a community.
#[derive(Clone, PartialEq, Debug)]
pub struct StationRecord {
    /// Tenant.
    pub district: DistrictId,
    /// UUIDv7.
    pub id: Uuid,
    /// The community it serves (scopes who sees and manages it).
    pub community: NodeId,
    /// 党群服务站 or 便民服务站.
    pub kind: StationKind,
    /// Its name, e.g. "文苑小区党群服务站".
    pub name: String,
    /// Where it is (WGS-84).
    pub position: LonLat,
    /// Recorded.
    pub created_at: DateTime<Utc>,
}

/// Stations and grid rules.
#[async_trait]
pub trait MapStore {
    /// The district's stations, oldest first.
    async fn stations(&self, district: DistrictId) -> StoreResult<Vec<StationRecord>>;

    /// Records a station and appends `audit`, in one transaction.
    async fn insert_station(&self, station: &StationRecord, audit: &AuditEntry) -> StoreResult<()>;

    /// Removes a station and appends `audit`, in one transaction (`NotFound` when the
    /// district has no such station, and nothing changes).
    async fn delete_station(
        &self,
        district: DistrictId,
        id: Uuid,
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    /// The district's grid rules, `None` until an administrator sets them.
    async fn grid_rules(&self, district: DistrictId) -> StoreResult<Option<GridRules>>;

    /// Replaces the district's grid rules and appends `audit`, in one transaction.
    async fn set_grid_rules(
        &self,
        district: DistrictId,
        rules: &GridRules,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
}
