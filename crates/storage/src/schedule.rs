//! What a district and its communities set about their own working: a community's duty
//! list (准入, 一村一策) and the district's work calendar year by year.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use mulin_domain::ids::{DistrictId, NodeId};

use crate::StoreResult;

/// A district's own holidays and make-up working days (调休) for one year; it replaces the
/// built-in schedule for that year.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CalendarYearRecord {
    /// The year.
    pub year: i32,
    /// Days off that would be working days (public holidays and their bridge days).
    pub holidays: Vec<NaiveDate>,
    /// Weekend days worked in their place.
    pub make_up_days: Vec<NaiveDate>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Duty lists and work calendars.
#[async_trait]
pub trait ScheduleStore {
    /// The catalogue codes a community admitted, or `None` when it never set a list (then
    /// every item is admitted).
    async fn duty_list(
        &self,
        district: DistrictId,
        community: NodeId,
    ) -> StoreResult<Option<Vec<String>>>;

    /// Sets (or replaces) a community's admitted catalogue codes.
    async fn set_duty_list(
        &self,
        district: DistrictId,
        community: NodeId,
        service_codes: &[String],
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Every year a district set its own calendar for, in year order.
    async fn calendar_years(&self, district: DistrictId) -> StoreResult<Vec<CalendarYearRecord>>;

    /// Sets (or replaces) a district's calendar for one year.
    async fn set_calendar_year(
        &self,
        district: DistrictId,
        year: &CalendarYearRecord,
    ) -> StoreResult<()>;
}
