//! Elderly care: family sickbed visits (家庭病床) on a schedule — every N days from a start
//! day, assigned to a care team — and which schedules are overdue on a given day.

use chrono::{Duration, NaiveDate};

use crate::person::{age_on, ELDERLY_AGE};

/// The longest interval between sickbed visits.
pub const MAX_INTERVAL_DAYS: u32 = 90;
/// The most characters of a care team's name, conditions or notes.
pub const MAX_CARE_TEXT: usize = 500;

/// Why a schedule or record was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CareError {
    /// The interval is outside 1–[`MAX_INTERVAL_DAYS`] days.
    #[error("visits are every 1–{MAX_INTERVAL_DAYS} days")]
    Interval,
    /// Health records are kept for residents 65 and over.
    #[error("health records are for residents aged 65 and over")]
    NotElderly,
}

/// Whether a resident born on `birth_date` is 65 or over on `today` (unknown: no).
pub fn is_elderly(birth_date: Option<NaiveDate>, today: NaiveDate) -> bool {
    birth_date.is_some_and(|birth| age_on(birth, today) >= ELDERLY_AGE)
}

/// A family sickbed's visit schedule. Invariant: the interval is 1–[`MAX_INTERVAL_DAYS`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Schedule {
    every_days: u32,
    starts_on: NaiveDate,
}

impl Schedule {
    /// Checks a schedule.
    pub fn new(every_days: u32, starts_on: NaiveDate) -> Result<Schedule, CareError> {
        if (1..=MAX_INTERVAL_DAYS).contains(&every_days) {
            Ok(Schedule {
                every_days,
                starts_on,
            })
        } else {
            Err(CareError::Interval)
        }
    }

    /// The interval.
    pub fn every_days(self) -> u32 {
        self.every_days
    }

    /// The first day a visit is due.
    pub fn starts_on(self) -> NaiveDate {
        self.starts_on
    }

    /// The day the next visit is due: the start when none was made, else the interval
    /// after the last one.
    pub fn next_due(self, last_visit: Option<NaiveDate>) -> NaiveDate {
        match last_visit {
            Some(last) => last + Duration::days(i64::from(self.every_days)),
            None => self.starts_on,
        }
    }

    /// Days the next visit is late on `today` (0 when not late).
    pub fn days_overdue(self, last_visit: Option<NaiveDate>, today: NaiveDate) -> i64 {
        (today - self.next_due(last_visit)).num_days().max(0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_interval_is_checked_on_both_sides() {
        assert_eq!(Schedule::new(0, day(2026, 1, 1)), Err(CareError::Interval));
        assert!(Schedule::new(1, day(2026, 1, 1)).is_ok());
        assert!(Schedule::new(90, day(2026, 1, 1)).is_ok());
        assert_eq!(Schedule::new(91, day(2026, 1, 1)), Err(CareError::Interval));
    }

    #[test]
    fn a_visit_is_due_from_the_start_then_every_interval() {
        let s = Schedule::new(7, day(2026, 3, 2)).unwrap();
        assert_eq!(s.next_due(None), day(2026, 3, 2));
        assert_eq!(s.days_overdue(None, day(2026, 3, 2)), 0);
        assert_eq!(s.days_overdue(None, day(2026, 3, 4)), 2);
        assert_eq!(s.next_due(Some(day(2026, 3, 3))), day(2026, 3, 10));
        assert_eq!(s.days_overdue(Some(day(2026, 3, 3)), day(2026, 3, 10)), 0);
        assert_eq!(s.days_overdue(Some(day(2026, 3, 3)), day(2026, 3, 11)), 1);
    }

    #[test]
    fn elderly_is_65_on_the_day_asked() {
        let birth = day(1961, 5, 10);
        assert!(!is_elderly(Some(birth), day(2026, 5, 9)));
        assert!(is_elderly(Some(birth), day(2026, 5, 10)));
        assert!(!is_elderly(None, day(2026, 5, 10)));
    }

    proptest! {
        #[test]
        fn a_visit_on_the_due_day_is_never_late(every in 1u32..=90, start in 0i64..2_000, gaps in prop::collection::vec(0i64..120, 0..10)) {
            let schedule = Schedule::new(every, day(2024, 1, 1) + Duration::days(start)).unwrap();
            let mut last = None;
            for gap in gaps {
                let due = schedule.next_due(last);
                prop_assert_eq!(schedule.days_overdue(last, due), 0);
                let visit = due + Duration::days(gap - 60);
                let late = schedule.days_overdue(last, visit);
                prop_assert_eq!(late, (gap - 60).max(0));
                last = Some(visit);
                prop_assert!(schedule.next_due(last) > visit);
            }
        }
    }
}
