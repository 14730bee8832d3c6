//! Home visits and patrols (走访, 巡查): what a grid worker logs, and the figures drawn from
//! the log — households not visited lately and the share of working time spent visiting.
//!
//! National rules against "指尖上的形式主义" forbid check-ins, rankings by online time, GPS
//! tracks and photo quotas as a basis of assessment; nothing here counts any of them. A
//! location is optional evidence only.

use chrono::{Duration, NaiveDate};

use crate::calendar::WorkCalendar;
use crate::codes::code_enum;

code_enum!(
    /// What kind of round it was.
    VisitKind, "visit kind" {
        /// 入户走访: calling on households.
        HomeVisit = "home_visit",
        /// 巡查: walking the grid.
        Patrol = "patrol",
    }
);

/// The longest visit one entry may log: a working day and a half.
pub const MAX_VISIT_MINUTES: u32 = 720;
/// The most characters of the findings.
pub const MAX_FINDINGS_CHARS: usize = 2_000;
/// The most households one visit may name.
pub const MAX_VISIT_HOUSEHOLDS: usize = 50;
/// A working day, for the share of working time spent visiting.
pub const WORKDAY_MINUTES: i64 = 8 * 60;
/// The coverage window when none is asked for (seed 000: every household within a month).
pub const DEFAULT_COVERAGE_DAYS: u32 = 30;
/// The longest coverage window.
pub const MAX_COVERAGE_DAYS: u32 = 366;

/// Why a visit entry was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VisitError {
    /// The duration is zero or longer than [`MAX_VISIT_MINUTES`].
    #[error("duration must be 1–{MAX_VISIT_MINUTES} minutes")]
    Minutes,
    /// The findings are longer than [`MAX_FINDINGS_CHARS`].
    #[error("findings are too long")]
    Findings,
    /// A home visit names no household, or any visit names too many.
    #[error("a home visit names 1–{MAX_VISIT_HOUSEHOLDS} households")]
    Households,
    /// The coverage window is outside 1–[`MAX_COVERAGE_DAYS`] days.
    #[error("the window must be 1–{MAX_COVERAGE_DAYS} days")]
    Window,
}

/// A visit's duration in minutes. Invariant: 1–[`MAX_VISIT_MINUTES`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct VisitMinutes(u32);

impl VisitMinutes {
    /// Checks a duration.
    pub fn new(minutes: u32) -> Result<VisitMinutes, VisitError> {
        if (1..=MAX_VISIT_MINUTES).contains(&minutes) {
            Ok(VisitMinutes(minutes))
        } else {
            Err(VisitError::Minutes)
        }
    }

    /// The minutes.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Trims and checks the findings text (empty is allowed: nothing found).
pub fn findings(text: &str) -> Result<String, VisitError> {
    let text = text.trim();
    if text.chars().count() > MAX_FINDINGS_CHARS {
        return Err(VisitError::Findings);
    }
    Ok(text.to_owned())
}

/// Checks how many households a visit names: a home visit at least one, a patrol may name
/// none (a walk of the grid), neither more than [`MAX_VISIT_HOUSEHOLDS`].
pub fn check_households(kind: VisitKind, count: usize) -> Result<(), VisitError> {
    let least = match kind {
        VisitKind::HomeVisit => 1,
        VisitKind::Patrol => 0,
    };
    if (least..=MAX_VISIT_HOUSEHOLDS).contains(&count) {
        Ok(())
    } else {
        Err(VisitError::Households)
    }
}

/// A coverage window of whole days ending with `today`. Invariant: 1–[`MAX_COVERAGE_DAYS`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CoverageWindow(u32);

impl CoverageWindow {
    /// Checks a window length.
    pub fn new(days: u32) -> Result<CoverageWindow, VisitError> {
        if (1..=MAX_COVERAGE_DAYS).contains(&days) {
            Ok(CoverageWindow(days))
        } else {
            Err(VisitError::Window)
        }
    }

    /// The days.
    pub fn days(self) -> u32 {
        self.0
    }

    /// The first day inside the window that ends with `today`.
    pub fn first_day(self, today: NaiveDate) -> NaiveDate {
        today - Duration::days(i64::from(self.0) - 1)
    }

    /// Working minutes of one worker inside the window, on the work calendar.
    pub fn working_minutes(self, today: NaiveDate, calendar: &WorkCalendar) -> i64 {
        let first = self.first_day(today);
        let days = first
            .iter_days()
            .take(self.0 as usize)
            .filter(|day| calendar.is_working_day(*day))
            .count();
        days as i64 * WORKDAY_MINUTES
    }
}

impl Default for CoverageWindow {
    fn default() -> CoverageWindow {
        CoverageWindow(DEFAULT_COVERAGE_DAYS)
    }
}

/// The share (0–1, may exceed 1 with overtime) of working time spent visiting; none when
/// there was no working time to share.
pub fn visiting_share(visit_minutes: i64, working_minutes: i64) -> Option<f64> {
    (working_minutes > 0).then(|| visit_minutes as f64 / working_minutes as f64)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn minutes_are_checked_on_both_sides() {
        assert_eq!(VisitMinutes::new(0), Err(VisitError::Minutes));
        assert_eq!(VisitMinutes::new(1).map(VisitMinutes::get), Ok(1));
        assert_eq!(VisitMinutes::new(720).map(VisitMinutes::get), Ok(720));
        assert_eq!(VisitMinutes::new(721), Err(VisitError::Minutes));
    }

    #[test]
    fn a_home_visit_names_a_household_and_a_patrol_may_not() {
        assert_eq!(
            check_households(VisitKind::HomeVisit, 0),
            Err(VisitError::Households)
        );
        assert_eq!(check_households(VisitKind::HomeVisit, 1), Ok(()));
        assert_eq!(check_households(VisitKind::Patrol, 0), Ok(()));
        assert_eq!(check_households(VisitKind::Patrol, 50), Ok(()));
        assert_eq!(
            check_households(VisitKind::Patrol, 51),
            Err(VisitError::Households)
        );
    }

    #[test]
    fn findings_are_trimmed_and_bounded() {
        assert_eq!(findings("  漏水 "), Ok("漏水".to_owned()));
        assert_eq!(findings(&"水".repeat(2_000)).map(|t| t.len()), Ok(6_000));
        assert_eq!(findings(&"水".repeat(2_001)), Err(VisitError::Findings));
    }

    #[test]
    fn a_window_counts_working_days_only() {
        let calendar = WorkCalendar::china_official();
        let window = CoverageWindow::new(7).unwrap();
        // Monday 2025-06-09 … Sunday 2025-06-15: five working days.
        let sunday = NaiveDate::from_ymd_opt(2025, 6, 15).unwrap();
        assert_eq!(
            window.first_day(sunday),
            NaiveDate::from_ymd_opt(2025, 6, 9).unwrap()
        );
        assert_eq!(window.working_minutes(sunday, &calendar), 5 * 480);
        assert_eq!(CoverageWindow::new(0), Err(VisitError::Window));
        assert_eq!(CoverageWindow::new(367), Err(VisitError::Window));
        assert_eq!(CoverageWindow::default().days(), 30);
    }

    #[test]
    fn the_share_needs_working_time() {
        assert_eq!(visiting_share(240, 480), Some(0.5));
        assert_eq!(visiting_share(10, 0), None);
    }

    proptest! {
        #[test]
        fn a_window_holds_exactly_its_days(days in 1u32..=366, offset in 0i64..3_000) {
            let today = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + Duration::days(offset);
            let window = CoverageWindow::new(days).unwrap();
            let first = window.first_day(today);
            prop_assert_eq!((today - first).num_days() + 1, i64::from(days));
            let minutes = window.working_minutes(today, &WorkCalendar::china_official());
            prop_assert!(minutes <= i64::from(days) * WORKDAY_MINUTES);
            prop_assert_eq!(minutes % WORKDAY_MINUTES, 0);
        }
    }
}
