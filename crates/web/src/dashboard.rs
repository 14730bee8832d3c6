//! The KPI dashboard's daily series: intake and on-time figures per China day of a period,
//! for a subtree the caller may see, from the same tallies as the period's KPIs.

use chrono::{DateTime, Days, FixedOffset, NaiveDate, Utc};
use mulin_domain::ids::NodeId;
use mulin_domain::policy::Action;

use crate::auth::AuthUser;
use crate::error::WebError;
use crate::requests::RequestStats;
use crate::AppState;

/// The longest period drawn day by day (one tally query per day).
pub const MAX_DAYS: i64 = 92;

/// China Standard Time, the zone a day is counted in.
const CHINA: i32 = 8 * 3600;

/// One day's figures.
#[derive(Clone, PartialEq, Debug)]
pub struct DayStats {
    /// The day in China.
    pub date: NaiveDate,
    /// Its KPIs (requests received that day).
    pub stats: RequestStats,
}

/// The China days `[from, to)` touches, each with the part of the period inside it.
fn days(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(NaiveDate, DateTime<Utc>, DateTime<Utc>)> {
    let Some(zone) = FixedOffset::east_opt(CHINA) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut date = from.with_timezone(&zone).date_naive();
    let mut start = from;
    while start < to {
        let next_midnight = date
            .checked_add_days(Days::new(1))
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .and_then(|t| t.and_local_timezone(zone).single())
            .map(|t| t.with_timezone(&Utc));
        let Some(next_midnight) = next_midnight else {
            break;
        };
        let end = next_midnight.min(to);
        out.push((date, start, end));
        start = end;
        date = date.succ_opt().unwrap_or(date);
    }
    out
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
    let mut out = Vec::new();
    for (date, start, end) in days(from, to) {
        let tallies = state
            .store
            .request_tallies(district, &node.path, start, end)
            .await?;
        out.push(DayStats {
            date,
            stats: RequestStats::from_tallies(tallies),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_period_splits_at_china_midnight() {
        // 2026-11-01 20:00 China time to 2026-11-03 10:00 China time.
        let split = days(at("2026-11-01T12:00:00Z"), at("2026-11-03T02:00:00Z"));
        let dates: Vec<String> = split.iter().map(|(d, _, _)| d.to_string()).collect();
        assert_eq!(dates, ["2026-11-01", "2026-11-02", "2026-11-03"]);
        assert_eq!(split[0].2, at("2026-11-01T16:00:00Z"));
        assert_eq!(split[1].1, at("2026-11-01T16:00:00Z"));
        assert_eq!(split[2].2, at("2026-11-03T02:00:00Z"));
        // The pieces cover the period exactly, end to end.
        assert!(split.windows(2).all(|w| w[0].2 == w[1].1));
    }

    #[test]
    fn an_empty_period_has_no_days() {
        assert!(days(at("2026-11-01T12:00:00Z"), at("2026-11-01T12:00:00Z")).is_empty());
    }
}
