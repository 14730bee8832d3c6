//! The app's clock. Handlers ask it for "now" instead of reading the system clock, so tests
//! can set the time (and later jump past deadlines) instead of waiting.

use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};
/// China time, as the domain counts it: the web crate's one way to show, parse and cut days.
pub use mulin_domain::calendar::{china, china_day_start};

/// A source of the current instant.
pub trait Clock: Send + Sync + 'static {
    /// The current instant, UTC.
    fn now(&self) -> DateTime<Utc>;

    /// Today's date in China.
    fn today(&self) -> NaiveDate {
        self.now().with_timezone(&china()).date_naive()
    }
}

/// The real clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    // The one place that reads the system clock.
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock tests set by hand.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock stopped at `at`.
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(Mutex::new(at))
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        if let Ok(mut now) = self.0.lock() {
            *now = at;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|now| *now).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn china_days_start_at_sixteen_utc_the_day_before() {
        let date = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let start = china_day_start(date);
        assert_eq!(start, Utc.with_ymd_and_hms(2025, 12, 31, 16, 0, 0).unwrap());
        assert_eq!(ManualClock::new(start).today(), date);
        assert_eq!(
            ManualClock::new(start - chrono::Duration::seconds(1)).today(),
            date.pred_opt().unwrap()
        );
    }
}
