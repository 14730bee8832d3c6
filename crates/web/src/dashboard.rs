//! The KPI dashboard's daily series: intake and on-time figures per China day of a period,
//! for a subtree the caller may see, from the same tallies as the period's KPIs.

use chrono::{DateTime, NaiveDate, Utc};
use mulin_domain::ids::NodeId;
use mulin_domain::policy::Action;
use mulin_storage::kpi::china_date;

use crate::auth::AuthUser;
use crate::error::WebError;
use crate::requests::RequestStats;
use crate::AppState;

/// The longest period drawn day by day.
pub const MAX_DAYS: i64 = 92;

/// One day's figures.
#[derive(Clone, PartialEq, Debug)]
pub struct DayStats {
    /// The day in China.
    pub date: NaiveDate,
    /// Its KPIs (requests received that day).
    pub stats: RequestStats,
}

/// The figures of each China day of `[from, to)` under `under` (at most [`MAX_DAYS`] days).
pub async fn daily(
    state: &AppState,
    auth: &AuthUser,
    under: NodeId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<DayStats>, WebError> {
    let district = auth.user.district;
    let node = state.store.node(district, under).await?;
    if !auth.principal.allows(Action::ViewRequestStats, &node.path) {
        return Err(WebError::NotFound);
    }
    if to <= from || to - from > chrono::Duration::days(MAX_DAYS) {
        return Err(WebError::Invalid("dashboard.error.period"));
    }
    // One read of the rollup for all the whole days, not one query per day.
    let days = state
        .store
        .request_tallies_by_day(district, &node.path, from, to)
        .await?;
    Ok(days
        .into_iter()
        .map(|(day, tallies)| DayStats {
            date: china_date(day),
            stats: RequestStats::from_tallies(tallies),
        })
        .collect())
}
