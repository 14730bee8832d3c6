//! Reading the request KPI rollup day by day, and rebuilding it from the record.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mulin_domain::ids::DistrictId;
use mulin_domain::tree::NodePath;

use crate::{RequestTallies, StoreResult};

/// The KPI rollup beyond a period's tallies ([`crate::RequestStore::request_tallies`]).
#[async_trait]
pub trait RequestKpiStore {
    /// The tallies of `scope` for each of the consecutive periods `[bounds[0], bounds[1])`,
    /// `[bounds[1], bounds[2])` … (a period and the one before it, as the KPI API asks):
    /// the requests where two periods meet inside a day or hour are read once for both.
    async fn request_tallies_of_periods(
        &self,
        district: DistrictId,
        scope: &NodePath,
        bounds: &[DateTime<Utc>],
    ) -> StoreResult<Vec<RequestTallies>>;

    /// The tallies of each China day `[from, to)` touches, oldest first, keyed by the
    /// day's start: the requests of `scope` received that day inside the period. Whole
    /// days come from one read of the rollup, however many there are.
    async fn request_tallies_by_day(
        &self,
        district: DistrictId,
        scope: &NodePath,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<(DateTime<Utc>, RequestTallies)>>;

    /// Recomputes a district's whole rollup from its requests, in one transaction (for
    /// requests stored before the rollup existed, or after a repair of the raw record).
    /// Writes to the district's requests wait until it is done. Returns the requests read.
    async fn rebuild_request_kpis(&self, district: DistrictId) -> StoreResult<u64>;
}
