//! The work calendar: which days are worked and at which hours, so that deadlines counted in
//! working time ("7 working days", as city 12345 hotline work orders are) land where a person
//! would expect them.
//!
//! A day is a working day when it is a make-up working day (调休: a weekend day worked in
//! place of a holiday), else when it is not a public holiday and its weekday is in the weekly
//! pattern (Monday to Friday). China publishes each year's holidays and make-up days in a
//! State Council notice in the autumn before, so the table is per year and editable: a
//! district can correct a year or add the next one without a release.
//!
//! Years outside the table fall back to the weekly pattern alone. [`WorkCalendar::known_years`]
//! tells a UI which years are covered so it can warn before next year's notice is entered.
//!
//! Days and hours are local to the calendar's fixed offset (UTC+8 for China, which has no
//! daylight saving), while every instant going in and out is UTC.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    Timelike, Utc, Weekday,
};

/// Why a calendar or its working hours cannot be built.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum CalendarError {
    /// Working time cannot be counted without any working period.
    #[error("working hours need at least one period")]
    NoPeriods,
    /// Periods are counted in whole minutes.
    #[error("working periods start and end on whole minutes")]
    NotWholeMinutes,
    /// A period must have a positive length.
    #[error("a working period must end after it starts ({start}–{end})")]
    EmptyPeriod {
        /// The period's start.
        start: NaiveTime,
        /// The period's end.
        end: NaiveTime,
    },
    /// Periods are listed in order and do not overlap, so no minute counts twice.
    #[error("working periods must be in order and must not overlap")]
    Overlap,
    /// Without a working weekday, counting working days would never end.
    #[error("a working week needs at least one working weekday")]
    NoWorkingWeekday,
    /// A year's replacement table may only hold dates of that year.
    #[error("{date} does not lie in year {year}")]
    OutsideYear {
        /// The year being replaced.
        year: i32,
        /// The stray date.
        date: NaiveDate,
    },
    /// A date cannot be a day off and a make-up working day at once.
    #[error("{0} is listed both as a holiday and as a make-up working day")]
    HolidayAndMakeUp(NaiveDate),
}

/// Minutes in a day; working periods end before midnight.
const MINUTES_PER_DAY: u32 = 24 * 60;

/// The offset of China Standard Time, UTC+8, in seconds.
const CHINA_OFFSET_SECONDS: i32 = 8 * 3600;

/// China Standard Time as an offset (UTC+8; China keeps no summer time): the zone every
/// "today", China-time day and shown time is counted in.
pub fn china() -> FixedOffset {
    // East 8 hours is always in range; the fallback is never taken.
    FixedOffset::east_opt(CHINA_OFFSET_SECONDS).unwrap_or_else(|| Utc.fix())
}

/// The UTC instant a China calendar date starts at.
pub fn china_day_start(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN).and_utc() - TimeDelta::seconds(i64::from(CHINA_OFFSET_SECONDS))
}

/// The hours of a working day and the offset they are given in.
///
/// Invariant: at least one period; each period is `(start, end)` in whole minutes after local
/// midnight with `start < end < 24:00`; periods are sorted and do not overlap (a period may
/// start where the previous one ends).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct WorkingHours {
    offset: FixedOffset,
    periods: Vec<(u32, u32)>,
}

/// The minute of the day of a whole-minute time.
fn minute_of_day(time: NaiveTime) -> Option<u32> {
    (time.second() == 0 && time.nanosecond() == 0).then(|| time.hour() * 60 + time.minute())
}

/// The time at `minute` minutes after midnight (wrapping, which the invariant never needs).
fn time_of_minute(minute: u32) -> NaiveTime {
    NaiveTime::MIN + TimeDelta::minutes(i64::from(minute % MINUTES_PER_DAY))
}

impl WorkingHours {
    /// Checks working periods given in local time at `offset`.
    pub fn new(
        offset: FixedOffset,
        periods: &[(NaiveTime, NaiveTime)],
    ) -> Result<WorkingHours, CalendarError> {
        if periods.is_empty() {
            return Err(CalendarError::NoPeriods);
        }
        let mut checked: Vec<(u32, u32)> = Vec::with_capacity(periods.len());
        for &(start, end) in periods {
            let (Some(from), Some(to)) = (minute_of_day(start), minute_of_day(end)) else {
                return Err(CalendarError::NotWholeMinutes);
            };
            if to <= from {
                return Err(CalendarError::EmptyPeriod { start, end });
            }
            if checked
                .last()
                .is_some_and(|&(_, previous_end)| from < previous_end)
            {
                return Err(CalendarError::Overlap);
            }
            checked.push((from, to));
        }
        Ok(WorkingHours {
            offset,
            periods: checked,
        })
    }

    /// China's usual office hours: 09:00–12:00 and 13:30–17:30 at UTC+8 (7 hours a day).
    pub fn china_default() -> WorkingHours {
        WorkingHours {
            offset: china(),
            periods: vec![(9 * 60, 12 * 60), (13 * 60 + 30, 17 * 60 + 30)],
        }
    }

    /// The offset the periods are given in.
    pub fn offset(&self) -> FixedOffset {
        self.offset
    }

    /// The periods, in order, as local times.
    pub fn periods(&self) -> Vec<(NaiveTime, NaiveTime)> {
        self.periods
            .iter()
            .map(|&(start, end)| (time_of_minute(start), time_of_minute(end)))
            .collect()
    }

    /// Working minutes in one working day.
    pub fn minutes_per_day(&self) -> u32 {
        self.periods.iter().map(|&(start, end)| end - start).sum()
    }

    /// Close of business: the end of the last period.
    pub fn close(&self) -> NaiveTime {
        time_of_minute(self.periods.last().map_or(0, |&(_, end)| end))
    }
}

/// A work calendar: the weekly pattern, the per-year table of public holidays and make-up
/// working days, and the working hours.
///
/// Invariant: at least one weekday is worked; no date is both a holiday and a make-up day;
/// every listed date lies in a year of `known_years`; `span` is January 1 of the first known
/// year to December 31 of the last (`None` when no year is known).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct WorkCalendar {
    weekdays: [bool; 7],
    holidays: BTreeSet<NaiveDate>,
    make_up_days: BTreeSet<NaiveDate>,
    known_years: BTreeSet<i32>,
    span: Option<(NaiveDate, NaiveDate)>,
    hours: WorkingHours,
}

/// A date of a known year, as (month, day).
type MonthDay = (u32, u32);

/// One year of a State Council holiday notice: the periods off as printed (first and last
/// day), and the make-up working days.
struct OfficialYear {
    year: i32,
    days_off: &'static [(MonthDay, MonthDay)],
    make_up_days: &'static [MonthDay],
}

/// The published schedules. Periods off are copied as the notice prints them (weekend days
/// inside a period are listed too; that changes nothing). Only years whose notice has been
/// published belong here.
const OFFICIAL_YEARS: &[OfficialYear] = &[
    // 国务院办公厅关于2024年部分节假日安排的通知 (国办发明电〔2023〕7号, 2023-10-25).
    OfficialYear {
        year: 2024,
        days_off: &[
            ((1, 1), (1, 1)),   // 元旦, with the weekend before
            ((2, 10), (2, 17)), // 春节
            ((4, 4), (4, 6)),   // 清明节
            ((5, 1), (5, 5)),   // 劳动节
            ((6, 10), (6, 10)), // 端午节, with the weekend before
            ((9, 15), (9, 17)), // 中秋节
            ((10, 1), (10, 7)), // 国庆节
        ],
        make_up_days: &[
            (2, 4),
            (2, 18),
            (4, 7),
            (4, 28),
            (5, 11),
            (9, 14),
            (9, 29),
            (10, 12),
        ],
    },
    // 国务院办公厅关于2025年部分节假日安排的通知 (国办发明电〔2024〕12号, 2024-11-12),
    // the first under the revised 全国年节及纪念日放假办法 (除夕 and May 2 added).
    OfficialYear {
        year: 2025,
        days_off: &[
            ((1, 1), (1, 1)),   // 元旦, no make-up day
            ((1, 28), (2, 4)),  // 春节
            ((4, 4), (4, 6)),   // 清明节
            ((5, 1), (5, 5)),   // 劳动节
            ((5, 31), (6, 2)),  // 端午节
            ((10, 1), (10, 8)), // 国庆节 and 中秋节 together
        ],
        make_up_days: &[(1, 26), (2, 8), (4, 27), (9, 28), (10, 11)],
    },
    // 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04).
    OfficialYear {
        year: 2026,
        days_off: &[
            ((1, 1), (1, 3)),   // 元旦
            ((2, 15), (2, 23)), // 春节
            ((4, 4), (4, 6)),   // 清明节
            ((5, 1), (5, 5)),   // 劳动节
            ((6, 19), (6, 21)), // 端午节
            ((9, 25), (9, 27)), // 中秋节
            ((10, 1), (10, 7)), // 国庆节
        ],
        make_up_days: &[(1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10)],
    },
];

/// Monday to Friday.
const MONDAY_TO_FRIDAY: [bool; 7] = [true, true, true, true, true, false, false];

/// The span of the table: January 1 of the first known year to December 31 of the last.
fn span_of(known_years: &BTreeSet<i32>) -> Option<(NaiveDate, NaiveDate)> {
    let first = NaiveDate::from_ymd_opt(*known_years.first()?, 1, 1)?;
    let last = NaiveDate::from_ymd_opt(*known_years.last()?, 12, 31)?;
    Some((first, last))
}

/// The first and last day of `year`, when chrono can represent them.
fn year_bounds(year: i32) -> Option<(NaiveDate, NaiveDate)> {
    Some((
        NaiveDate::from_ymd_opt(year, 1, 1)?,
        NaiveDate::from_ymd_opt(year, 12, 31)?,
    ))
}

/// The instant returned when a deadline lies beyond what chrono can represent.
const FAR_FUTURE: DateTime<Utc> = DateTime::<Utc>::MAX_UTC;

impl WorkCalendar {
    /// China's official calendar: Monday to Friday, 09:00–12:00 and 13:30–17:30 at UTC+8,
    /// and the State Council's holiday schedules for 2024, 2025 and 2026.
    pub fn china_official() -> WorkCalendar {
        let mut holidays = BTreeSet::new();
        let mut make_up_days = BTreeSet::new();
        let mut known_years = BTreeSet::new();
        for official in OFFICIAL_YEARS {
            known_years.insert(official.year);
            for &((from_month, from_day), (to_month, to_day)) in official.days_off {
                let first = NaiveDate::from_ymd_opt(official.year, from_month, from_day);
                let last = NaiveDate::from_ymd_opt(official.year, to_month, to_day);
                if let (Some(first), Some(last)) = (first, last) {
                    holidays.extend(first.iter_days().take_while(|day| *day <= last));
                }
            }
            make_up_days.extend(
                official
                    .make_up_days
                    .iter()
                    .filter_map(|&(month, day)| NaiveDate::from_ymd_opt(official.year, month, day)),
            );
        }
        WorkCalendar {
            weekdays: MONDAY_TO_FRIDAY,
            holidays,
            make_up_days,
            span: span_of(&known_years),
            known_years,
            hours: WorkingHours::china_default(),
        }
    }

    /// A builder starting from an empty table (weekly pattern only), Monday to Friday and
    /// China's default hours.
    pub fn builder() -> WorkCalendarBuilder {
        WorkCalendarBuilder {
            calendar: WorkCalendar {
                weekdays: MONDAY_TO_FRIDAY,
                holidays: BTreeSet::new(),
                make_up_days: BTreeSet::new(),
                known_years: BTreeSet::new(),
                span: None,
                hours: WorkingHours::china_default(),
            },
            error: None,
        }
    }

    /// A builder starting from this calendar, to correct it.
    pub fn to_builder(&self) -> WorkCalendarBuilder {
        WorkCalendarBuilder {
            calendar: self.clone(),
            error: None,
        }
    }

    /// The years the holiday table covers, in order. Outside them only the weekly pattern
    /// counts, which is wrong around holidays: a UI should warn.
    pub fn known_years(&self) -> Vec<i32> {
        self.known_years.iter().copied().collect()
    }

    /// Whether the table covers `year`.
    pub fn is_known_year(&self, year: i32) -> bool {
        self.known_years.contains(&year)
    }

    /// The public holidays (days off) listed for `year`, in order.
    pub fn holidays_in(&self, year: i32) -> Vec<NaiveDate> {
        match year_bounds(year) {
            Some((first, last)) => self.holidays.range(first..=last).copied().collect(),
            None => Vec::new(),
        }
    }

    /// The make-up working days (调休) listed for `year`, in order.
    pub fn make_up_days_in(&self, year: i32) -> Vec<NaiveDate> {
        match year_bounds(year) {
            Some((first, last)) => self.make_up_days.range(first..=last).copied().collect(),
            None => Vec::new(),
        }
    }

    /// The weekdays of the weekly pattern, Monday first.
    pub fn working_weekdays(&self) -> Vec<Weekday> {
        WEEK.into_iter()
            .filter(|day| self.weekdays[day.num_days_from_monday() as usize])
            .collect()
    }

    /// The working hours.
    pub fn hours(&self) -> &WorkingHours {
        &self.hours
    }

    /// Whether `date` (a local date) is a working day: a make-up day is, a holiday is not,
    /// any other day follows the weekly pattern.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.make_up_days.contains(&date) {
            return true;
        }
        if self.holidays.contains(&date) {
            return false;
        }
        self.weekdays[date.weekday().num_days_from_monday() as usize]
    }

    /// Whether `at` falls on a working day inside a working period, both ends included (so
    /// close of business is a working instant).
    pub fn is_working_instant(&self, at: DateTime<Utc>) -> bool {
        let Some(local) = self.local(at) else {
            return false;
        };
        if !self.is_working_day(local.date()) {
            return false;
        }
        let time = local.time();
        self.hours
            .periods
            .iter()
            .any(|&(start, end)| time_of_minute(start) <= time && time <= time_of_minute(end))
    }

    /// The hotline deadline of `n` working days: close of business (the end of the last
    /// working period, 17:30 by default) of the `n`-th working day after the local day `from`
    /// falls on.
    ///
    /// The day of receipt never counts, whatever its hour and whether or not it is a working
    /// day: an order received on Friday evening, on a Sunday or during the Spring Festival
    /// holiday has its first working day on the next working day after that date. For
    /// `n == 0` the deadline is close of business of the day of receipt when that is a working
    /// day not yet closed, else of the next working day.
    ///
    /// Costs at most one table lookup per day inside the holiday table; outside it whole weeks
    /// are skipped at once. A deadline beyond chrono's range saturates at its largest instant.
    pub fn add_working_days(&self, from: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        let Some(local) = self.local(from) else {
            return FAR_FUTURE;
        };
        let close = self.hours.close();
        let received = local.date();
        let due_day = if n == 0 && self.is_working_day(received) && local.time() <= close {
            Some(received)
        } else {
            self.nth_working_day_after(received, n.max(1))
        };
        due_day.map_or(FAR_FUTURE, |day| self.to_utc(day.and_time(close)))
    }

    /// The instant `minutes` working minutes after `from`: only minutes inside working periods
    /// of working days count. The result is the earliest such instant, so a count that runs
    /// out exactly at a period's end gives that end (12:00), not the next start (13:30).
    /// Zero minutes give `from` unchanged. Saturates like [`Self::add_working_days`].
    pub fn add_working_minutes(&self, from: DateTime<Utc>, minutes: u32) -> DateTime<Utc> {
        if minutes == 0 {
            return from;
        }
        let Some(local) = self.local(from) else {
            return FAR_FUTURE;
        };
        self.add_working_local(local, TimeDelta::minutes(i64::from(minutes)))
            .map_or(FAR_FUTURE, |due| self.to_utc(due))
    }

    /// The whole working minutes between `a` and `b` (rounded down); zero when `b` is not
    /// after `a`, and `u32::MAX` when the count does not fit.
    pub fn working_minutes_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> u32 {
        if b <= a {
            return 0;
        }
        let Some(start) = self.local(a) else {
            return 0;
        };
        let Some(end) = self.local(b) else {
            return u32::MAX;
        };
        let cap = TimeDelta::minutes(i64::from(u32::MAX));
        let week = self.week_length();
        let last_day = end.date();
        let mut total = TimeDelta::zero();
        let mut day = start.date();
        let mut cursor = start;
        while day <= last_day {
            if self.is_working_day(day) {
                for &(from, to) in &self.hours.periods {
                    let begin = cursor.max(day.and_time(time_of_minute(from)));
                    let finish = end.min(day.and_time(time_of_minute(to)));
                    if finish > begin {
                        total += finish - begin;
                    }
                }
            }
            if total >= cap {
                return u32::MAX;
            }
            let Some(next) = day.succ_opt() else {
                break;
            };
            day = next;
            cursor = day.and_time(NaiveTime::MIN);
            // Whole weeks that lie before the last day and outside the table add a week each.
            let before_end = u64::try_from((last_day - day).num_days()).unwrap_or(0);
            let weeks = (self.weekly_days_from(day) / 7).min(before_end / 7);
            if weeks > 0 {
                let Some(skipped) = day.checked_add_days(Days::new(weeks * 7)) else {
                    break;
                };
                let Ok(weeks) = i32::try_from(weeks) else {
                    return u32::MAX;
                };
                total += week * weeks;
                day = skipped;
                cursor = day.and_time(NaiveTime::MIN);
            }
        }
        u32::try_from(total.num_minutes()).unwrap_or(u32::MAX)
    }

    /// `at` in local time, if representable.
    fn local(&self, at: DateTime<Utc>) -> Option<NaiveDateTime> {
        at.naive_utc()
            .checked_add_signed(TimeDelta::seconds(i64::from(
                self.hours.offset.local_minus_utc(),
            )))
    }

    /// The UTC instant of a local time, saturating.
    fn to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        local
            .checked_sub_signed(TimeDelta::seconds(i64::from(
                self.hours.offset.local_minus_utc(),
            )))
            .map_or(FAR_FUTURE, |naive| naive.and_utc())
    }

    /// Working weekdays in a week (at least one by the invariant).
    fn working_days_per_week(&self) -> u32 {
        self.weekdays.iter().map(|&worked| u32::from(worked)).sum()
    }

    /// Working time in a week outside the table.
    fn week_length(&self) -> TimeDelta {
        TimeDelta::minutes(i64::from(
            self.working_days_per_week() * self.hours.minutes_per_day(),
        ))
    }

    /// How many consecutive days from `first` on follow the weekly pattern alone (outside the
    /// holiday table); `u64::MAX` when all of them do.
    fn weekly_days_from(&self, first: NaiveDate) -> u64 {
        match self.span {
            None => u64::MAX,
            Some((_, last)) if first > last => u64::MAX,
            Some((start, _)) if first < start => {
                u64::try_from((start - first).num_days()).unwrap_or(0)
            }
            Some(_) => 0,
        }
    }

    /// The `n`-th working day after `day` (`n >= 1`), or `None` past chrono's range.
    fn nth_working_day_after(&self, mut day: NaiveDate, mut left: u32) -> Option<NaiveDate> {
        let per_week = self.working_days_per_week().max(1);
        while left > 0 {
            let next = day.succ_opt()?;
            if left > per_week {
                // Each whole week outside the table holds exactly `per_week` working days;
                // skip as many as leave at least one working day to walk to.
                let weeks = (self.weekly_days_from(next) / 7).min(u64::from((left - 1) / per_week));
                if weeks > 0 {
                    day = day.checked_add_days(Days::new(weeks * 7))?;
                    // weeks * per_week <= left - 1, so this fits and leaves left >= 1.
                    left -= u32::try_from(weeks).ok()? * per_week;
                    continue;
                }
            }
            day = next;
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        Some(day)
    }

    /// The earliest local time at which `remaining` (positive) working time after `start`
    /// has passed, or `None` past chrono's range.
    fn add_working_local(
        &self,
        start: NaiveDateTime,
        mut remaining: TimeDelta,
    ) -> Option<NaiveDateTime> {
        let week = self.week_length();
        let week_seconds = week.num_seconds().max(1);
        let mut day = start.date();
        let mut cursor = start;
        loop {
            if self.is_working_day(day) {
                for &(from, to) in &self.hours.periods {
                    let period_end = day.and_time(time_of_minute(to));
                    if cursor >= period_end {
                        continue;
                    }
                    let begin = cursor.max(day.and_time(time_of_minute(from)));
                    let available = period_end - begin;
                    if remaining <= available {
                        return begin.checked_add_signed(remaining);
                    }
                    remaining -= available;
                    cursor = period_end;
                }
            }
            day = day.succ_opt()?;
            // Skip whole weeks outside the table while more than a week remains.
            let remaining_seconds = u64::try_from(remaining.num_seconds() - 1).unwrap_or(0);
            let weeks = (self.weekly_days_from(day) / 7)
                .min(remaining_seconds / u64::try_from(week_seconds).unwrap_or(1));
            if weeks > 0 {
                day = day.checked_add_days(Days::new(weeks * 7))?;
                remaining -= week * i32::try_from(weeks).ok()?;
            }
            cursor = day.and_time(NaiveTime::MIN);
        }
    }
}

/// The days of the week, Monday first.
const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// Edits a [`WorkCalendar`]; errors surface at [`WorkCalendarBuilder::build`].
///
/// Adding a date to a year marks that year as known. Adding a holiday removes the date from
/// the make-up days and the other way round, so the last edit wins.
#[derive(Clone, Debug)]
pub struct WorkCalendarBuilder {
    calendar: WorkCalendar,
    error: Option<CalendarError>,
}

impl WorkCalendarBuilder {
    /// Sets the weekly pattern: the weekdays worked in an ordinary week.
    pub fn working_weekdays(mut self, days: &[Weekday]) -> Self {
        let mut weekdays = [false; 7];
        for day in days {
            weekdays[day.num_days_from_monday() as usize] = true;
        }
        self.calendar.weekdays = weekdays;
        self
    }

    /// Sets the working hours.
    pub fn hours(mut self, hours: WorkingHours) -> Self {
        self.calendar.hours = hours;
        self
    }

    /// Makes `date` a public holiday (a day off).
    pub fn add_holiday(mut self, date: NaiveDate) -> Self {
        self.calendar.make_up_days.remove(&date);
        self.calendar.holidays.insert(date);
        self.calendar.known_years.insert(date.year());
        self
    }

    /// Removes `date` from the holidays.
    pub fn remove_holiday(mut self, date: NaiveDate) -> Self {
        self.calendar.holidays.remove(&date);
        self
    }

    /// Makes `date` a make-up working day (调休).
    pub fn add_make_up_day(mut self, date: NaiveDate) -> Self {
        self.calendar.holidays.remove(&date);
        self.calendar.make_up_days.insert(date);
        self.calendar.known_years.insert(date.year());
        self
    }

    /// Removes `date` from the make-up working days.
    pub fn remove_make_up_day(mut self, date: NaiveDate) -> Self {
        self.calendar.make_up_days.remove(&date);
        self
    }

    /// Replaces the whole table of `year` (as when a new notice is published) and marks the
    /// year known. Every date must lie in `year`, and no date may be in both lists.
    pub fn replace_year(
        mut self,
        year: i32,
        holidays: &[NaiveDate],
        make_up_days: &[NaiveDate],
    ) -> Self {
        if self.error.is_some() {
            return self;
        }
        if let Some(&date) = holidays
            .iter()
            .chain(make_up_days)
            .find(|date| date.year() != year)
        {
            self.error = Some(CalendarError::OutsideYear { year, date });
            return self;
        }
        if let Some(&date) = holidays.iter().find(|date| make_up_days.contains(date)) {
            self.error = Some(CalendarError::HolidayAndMakeUp(date));
            return self;
        }
        self = self.forget_year(year);
        self.calendar.holidays.extend(holidays.iter().copied());
        self.calendar
            .make_up_days
            .extend(make_up_days.iter().copied());
        self.calendar.known_years.insert(year);
        self
    }

    /// Drops the table of `year`: it falls back to the weekly pattern and is no longer known.
    pub fn forget_year(mut self, year: i32) -> Self {
        self.calendar.holidays.retain(|date| date.year() != year);
        self.calendar
            .make_up_days
            .retain(|date| date.year() != year);
        self.calendar.known_years.remove(&year);
        self
    }

    /// Checks and returns the calendar.
    pub fn build(self) -> Result<WorkCalendar, CalendarError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let mut calendar = self.calendar;
        if !calendar.weekdays.iter().any(|&worked| worked) {
            return Err(CalendarError::NoWorkingWeekday);
        }
        calendar.span = span_of(&calendar.known_years);
        Ok(calendar)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// A UTC instant from China local time.
    fn cst(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn time(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn well_known_days_of_the_official_table() {
        let cal = WorkCalendar::china_official();
        // 2025 Spring Festival: Sunday Jan 26 and Saturday Feb 8 are worked.
        assert_eq!(date(2025, 1, 26).weekday(), Weekday::Sun);
        assert!(cal.is_working_day(date(2025, 1, 26)));
        assert_eq!(date(2025, 2, 8).weekday(), Weekday::Sat);
        assert!(cal.is_working_day(date(2025, 2, 8)));
        for day in 28..=31 {
            assert!(!cal.is_working_day(date(2025, 1, day)));
        }
        assert!(!cal.is_working_day(date(2025, 2, 4)));
        assert!(cal.is_working_day(date(2025, 2, 5)));
        // National Day and Mid-Autumn 2025 together: Oct 1 to 8 off, Oct 11 worked.
        for day in 1..=8 {
            assert!(!cal.is_working_day(date(2025, 10, day)), "2025-10-{day}");
        }
        assert!(cal.is_working_day(date(2025, 10, 9)));
        assert!(cal.is_working_day(date(2025, 10, 11)));
        assert!(cal.is_working_day(date(2025, 9, 28)));
        // 2026 New Year: Jan 1 to 3 off, Sunday Jan 4 worked.
        assert!(!cal.is_working_day(date(2026, 1, 1)));
        assert!(!cal.is_working_day(date(2026, 1, 2)));
        assert!(cal.is_working_day(date(2026, 1, 4)));
        // 2026 Spring Festival: nine days, Saturdays Feb 14 and 28 worked.
        assert!(!cal.is_working_day(date(2026, 2, 23)));
        assert!(cal.is_working_day(date(2026, 2, 14)));
        assert!(cal.is_working_day(date(2026, 2, 28)));
        // 2024: Spring Festival Feb 10 to 17, Sundays Feb 4 and 18 worked.
        assert!(!cal.is_working_day(date(2024, 2, 16)));
        assert!(cal.is_working_day(date(2024, 2, 4)));
        assert!(cal.is_working_day(date(2024, 2, 18)));
        // An ordinary week.
        assert!(cal.is_working_day(date(2025, 3, 3)));
        assert!(!cal.is_working_day(date(2025, 3, 8)));
        assert!(!cal.is_working_day(date(2025, 3, 9)));
    }

    #[test]
    fn official_table_is_complete_and_consistent() {
        let cal = WorkCalendar::china_official();
        assert_eq!(cal.known_years(), vec![2024, 2025, 2026]);
        // Days off as the notices print them, weekends inside the periods included.
        assert_eq!(cal.holidays_in(2024).len(), 1 + 8 + 3 + 5 + 1 + 3 + 7);
        assert_eq!(cal.holidays_in(2025).len(), 1 + 8 + 3 + 5 + 3 + 8);
        assert_eq!(cal.holidays_in(2026).len(), 3 + 9 + 3 + 5 + 3 + 3 + 7);
        assert_eq!(cal.make_up_days_in(2024).len(), 8);
        assert_eq!(cal.make_up_days_in(2025).len(), 5);
        assert_eq!(cal.make_up_days_in(2026).len(), 6);
        for year in cal.known_years() {
            for day in cal.make_up_days_in(year) {
                assert!(
                    matches!(day.weekday(), Weekday::Sat | Weekday::Sun),
                    "make-up day {day} is not a weekend day"
                );
                assert!(!cal.holidays_in(year).contains(&day));
            }
        }
        // Working days a year: weekdays, less holidays falling on weekdays, plus make-up days
        // (2024: 262 - 19 + 8; 2025: 261 - 18 + 5; 2026: 261 - 19 + 6).
        let worked = |year| {
            date(year, 1, 1)
                .iter_days()
                .take_while(|d| d.year() == year)
                .filter(|d| cal.is_working_day(*d))
                .count()
        };
        assert_eq!(worked(2024), 251);
        assert_eq!(worked(2025), 248);
        assert_eq!(worked(2026), 248);
    }

    #[test]
    fn unknown_years_follow_the_weekly_pattern() {
        let cal = WorkCalendar::china_official();
        assert!(!cal.is_known_year(2027));
        // 2027-01-01 is a Friday: without a table it counts as a working day.
        assert!(cal.is_working_day(date(2027, 1, 1)));
        assert!(!cal.is_working_day(date(2027, 1, 2)));
        assert!(cal.holidays_in(2027).is_empty());
    }

    #[test]
    fn working_days_end_at_close_of_business_of_the_nth_day_after_receipt() {
        let cal = WorkCalendar::china_official();
        // Received Monday morning: the day of receipt does not count.
        assert_eq!(
            cal.add_working_days(cst(2025, 3, 3, 9, 0), 1),
            cst(2025, 3, 4, 17, 30)
        );
        // Received Friday evening: Saturday and Sunday are skipped.
        assert_eq!(
            cal.add_working_days(cst(2025, 3, 7, 21, 0), 1),
            cst(2025, 3, 10, 17, 30)
        );
        // Received on a Sunday: the first working day is Monday.
        assert_eq!(
            cal.add_working_days(cst(2025, 3, 9, 10, 0), 7),
            cst(2025, 3, 18, 17, 30)
        );
        // Received during the Spring Festival holiday (Saturday Feb 1, 2025): Feb 5 is the
        // first working day, and Saturday Feb 8 is a make-up working day.
        assert_eq!(
            cal.add_working_days(cst(2025, 2, 1, 10, 0), 1),
            cst(2025, 2, 5, 17, 30)
        );
        assert_eq!(
            cal.add_working_days(cst(2025, 2, 1, 10, 0), 4),
            cst(2025, 2, 8, 17, 30)
        );
        // Received on a make-up Sunday (Jan 26, 2025): Monday Jan 27 is the one working day
        // before the holiday.
        assert_eq!(
            cal.add_working_days(cst(2025, 1, 26, 10, 0), 1),
            cst(2025, 1, 27, 17, 30)
        );
        // Across National Day 2025: Oct 9, 10, 11 (Saturday, worked), 13, 14, 15, 16.
        assert_eq!(
            cal.add_working_days(cst(2025, 9, 30, 16, 0), 7),
            cst(2025, 10, 16, 17, 30)
        );
        // 15 working days from Christmas 2025 cross the 2026 New Year holiday.
        // Dec 26, 29, 30, 31, Jan 4 (Sunday, worked), 5..9, 12..16.
        assert_eq!(
            cal.add_working_days(cst(2025, 12, 25, 11, 0), 15),
            cst(2026, 1, 16, 17, 30)
        );
    }

    #[test]
    fn zero_working_days_is_close_of_the_day_or_the_next_working_day() {
        let cal = WorkCalendar::china_official();
        assert_eq!(
            cal.add_working_days(cst(2025, 3, 3, 9, 0), 0),
            cst(2025, 3, 3, 17, 30)
        );
        assert_eq!(
            cal.add_working_days(cst(2025, 3, 3, 18, 0), 0),
            cst(2025, 3, 4, 17, 30)
        );
        assert_eq!(
            cal.add_working_days(cst(2025, 3, 8, 9, 0), 0),
            cst(2025, 3, 10, 17, 30)
        );
    }

    #[test]
    fn local_day_decides_not_utc_day() {
        let cal = WorkCalendar::china_official();
        // Friday 2025-03-07 20:00 UTC is already Saturday 04:00 in China.
        let from = Utc.with_ymd_and_hms(2025, 3, 7, 20, 0, 0).unwrap();
        assert_eq!(cal.add_working_days(from, 1), cst(2025, 3, 10, 17, 30));
    }

    #[test]
    fn working_minutes_skip_lunch_nights_and_holidays() {
        let cal = WorkCalendar::china_official();
        // 30 working minutes from 11:50 run 10 before lunch and 20 after.
        assert_eq!(
            cal.add_working_minutes(cst(2025, 3, 3, 11, 50), 30),
            cst(2025, 3, 3, 13, 50)
        );
        // Running out exactly at noon gives noon.
        assert_eq!(
            cal.add_working_minutes(cst(2025, 3, 3, 11, 50), 10),
            cst(2025, 3, 3, 12, 0)
        );
        // From Friday 17:00, 60 minutes: 30 on Friday, 30 on Monday.
        assert_eq!(
            cal.add_working_minutes(cst(2025, 3, 7, 17, 0), 60),
            cst(2025, 3, 10, 9, 30)
        );
        // From a night before a holiday week: Sept 30, 2025 at 20:00 to Oct 9 at 10:00.
        assert_eq!(
            cal.add_working_minutes(cst(2025, 9, 30, 20, 0), 60),
            cst(2025, 10, 9, 10, 0)
        );
        assert_eq!(
            cal.working_minutes_between(cst(2025, 3, 3, 8, 0), cst(2025, 3, 4, 8, 0)),
            420
        );
        assert_eq!(
            cal.working_minutes_between(cst(2025, 3, 4, 8, 0), cst(2025, 3, 3, 8, 0)),
            0
        );
        assert_eq!(
            cal.add_working_minutes(cst(2025, 3, 8, 3, 0), 0),
            cst(2025, 3, 8, 3, 0)
        );
    }

    #[test]
    fn working_hours_are_checked() {
        let offset = FixedOffset::east_opt(8 * 3600).unwrap();
        assert_eq!(
            WorkingHours::new(offset, &[]),
            Err(CalendarError::NoPeriods)
        );
        assert!(matches!(
            WorkingHours::new(offset, &[(time(9, 0), time(9, 0))]),
            Err(CalendarError::EmptyPeriod { .. })
        ));
        assert_eq!(
            WorkingHours::new(
                offset,
                &[(time(9, 0), time(12, 0)), (time(11, 59), time(17, 0))]
            ),
            Err(CalendarError::Overlap)
        );
        assert_eq!(
            WorkingHours::new(
                offset,
                &[(NaiveTime::from_hms_opt(9, 0, 30).unwrap(), time(12, 0))]
            ),
            Err(CalendarError::NotWholeMinutes)
        );
        // Adjacent periods are fine.
        let hours = WorkingHours::new(
            offset,
            &[(time(9, 0), time(12, 0)), (time(12, 0), time(17, 0))],
        )
        .unwrap();
        assert_eq!(hours.minutes_per_day(), 480);
        assert_eq!(hours.close(), time(17, 0));
        let china = WorkingHours::china_default();
        assert_eq!(china.offset(), offset);
        assert_eq!(china.minutes_per_day(), 420);
        assert_eq!(
            china.periods(),
            vec![(time(9, 0), time(12, 0)), (time(13, 30), time(17, 30))]
        );
    }

    #[test]
    fn a_district_can_correct_and_extend_the_table() {
        let cal = WorkCalendar::china_official()
            .to_builder()
            .add_holiday(date(2025, 3, 3))
            .add_make_up_day(date(2025, 3, 8))
            .remove_make_up_day(date(2025, 2, 8))
            .remove_holiday(date(2026, 1, 2))
            .replace_year(2027, &[date(2027, 1, 1)], &[date(2027, 1, 2)])
            .build()
            .unwrap();
        assert!(!cal.is_working_day(date(2025, 3, 3)));
        assert!(cal.is_working_day(date(2025, 3, 8)));
        assert!(!cal.is_working_day(date(2025, 2, 8)));
        assert!(cal.is_working_day(date(2026, 1, 2)));
        assert!(!cal.is_working_day(date(2027, 1, 1)));
        assert!(cal.is_working_day(date(2027, 1, 2)));
        assert_eq!(cal.known_years(), vec![2024, 2025, 2026, 2027]);

        // The last edit wins between holiday and make-up day.
        let cal = cal
            .to_builder()
            .add_holiday(date(2025, 3, 8))
            .build()
            .unwrap();
        assert!(!cal.is_working_day(date(2025, 3, 8)));
        assert!(!cal.make_up_days_in(2025).contains(&date(2025, 3, 8)));

        // Replacing a year drops its old entries; forgetting it falls back to the week.
        let cal = cal
            .to_builder()
            .replace_year(2025, &[], &[])
            .forget_year(2024)
            .build()
            .unwrap();
        assert!(cal.is_working_day(date(2025, 10, 8)));
        assert!(!cal.is_working_day(date(2025, 1, 26)));
        assert!(cal.is_known_year(2025));
        assert!(!cal.is_known_year(2024));
        assert!(cal.is_working_day(date(2024, 2, 16)));
    }

    #[test]
    fn builder_rejects_bad_tables() {
        assert_eq!(
            WorkCalendar::builder()
                .replace_year(2027, &[date(2028, 1, 1)], &[])
                .build(),
            Err(CalendarError::OutsideYear {
                year: 2027,
                date: date(2028, 1, 1)
            })
        );
        assert_eq!(
            WorkCalendar::builder()
                .replace_year(2027, &[date(2027, 1, 2)], &[date(2027, 1, 2)])
                .build(),
            Err(CalendarError::HolidayAndMakeUp(date(2027, 1, 2)))
        );
        assert_eq!(
            WorkCalendar::builder().working_weekdays(&[]).build(),
            Err(CalendarError::NoWorkingWeekday)
        );
        let six_days = WorkCalendar::builder()
            .working_weekdays(&[
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
            ])
            .build()
            .unwrap();
        assert!(six_days.is_working_day(date(2025, 3, 8)));
        assert_eq!(six_days.working_weekdays().len(), 6);
    }

    #[test]
    fn huge_counts_saturate_instead_of_panicking() {
        let cal = WorkCalendar::china_official();
        let from = cst(2025, 3, 3, 9, 0);
        assert_eq!(cal.add_working_days(from, u32::MAX), FAR_FUTURE);
        assert!(cal.add_working_minutes(from, u32::MAX) > from);
        assert_eq!(cal.add_working_days(FAR_FUTURE, 1), FAR_FUTURE);
        assert_eq!(cal.working_minutes_between(from, FAR_FUTURE), u32::MAX);
    }

    /// Day-by-day reference for the week-skipping fast path.
    fn reference_nth_working_day(cal: &WorkCalendar, mut day: NaiveDate, mut n: u32) -> NaiveDate {
        while n > 0 {
            day = day.succ_opt().unwrap();
            if cal.is_working_day(day) {
                n -= 1;
            }
        }
        day
    }

    #[test]
    fn long_counts_across_the_table_match_a_day_by_day_walk() {
        let cal = WorkCalendar::china_official();
        // Monday 2023-01-02 lies before the table; 1000 working days end well after it.
        let from = cst(2023, 1, 2, 9, 0);
        for n in [1, 6, 250, 1000, 1001] {
            let expected = reference_nth_working_day(&cal, date(2023, 1, 2), n);
            assert_eq!(
                cal.add_working_days(from, n),
                cst(expected.year(), expected.month(), expected.day(), 17, 30),
                "{n} working days"
            );
            // A whole working day is 420 minutes; counting from Monday 09:00, k days of
            // minutes end at close of business of the (k - 1)-th working day after Monday.
            let minutes_due = cal.add_working_minutes(from, 420 * (n + 1));
            assert_eq!(
                minutes_due,
                cal.add_working_days(from, n),
                "{n} days of minutes"
            );
            assert_eq!(
                cal.working_minutes_between(from, minutes_due),
                420 * (n + 1)
            );
        }
    }

    /// Instants from mid-2023 to the end of 2027, so tables and both fallbacks are crossed.
    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        let start = cst(2023, 6, 1, 0, 0).timestamp();
        let end = cst(2027, 12, 31, 0, 0).timestamp();
        (start..end).prop_map(|secs| DateTime::from_timestamp(secs, 0).unwrap())
    }

    proptest! {
        #[test]
        fn working_day_deadline_is_a_working_instant_after_from(from in instant(), n in 0u32..400) {
            let cal = WorkCalendar::china_official();
            let due = cal.add_working_days(from, n);
            prop_assert!(due >= from);
            prop_assert!(cal.is_working_instant(due));
            if n > 0 {
                let received = cal.local(from).unwrap().date();
                let expected = reference_nth_working_day(&cal, received, n);
                prop_assert_eq!(cal.local(due).unwrap().date(), expected);
            }
        }

        #[test]
        fn working_day_deadline_is_monotonic(
            from in instant(),
            later in 0i64..(30 * 24 * 3600),
            n in 0u32..300,
            more in 0u32..50,
        ) {
            let cal = WorkCalendar::china_official();
            prop_assert!(cal.add_working_days(from, n) <= cal.add_working_days(from, n + more));
            let from_later = from + TimeDelta::seconds(later);
            prop_assert!(cal.add_working_days(from, n) <= cal.add_working_days(from_later, n));
        }

        #[test]
        fn working_minutes_round_trip(from in instant(), minutes in 0u32..200_000) {
            let cal = WorkCalendar::china_official();
            let due = cal.add_working_minutes(from, minutes);
            prop_assert!(due >= from);
            prop_assert_eq!(cal.working_minutes_between(from, due), minutes);
            if minutes > 0 {
                prop_assert!(cal.is_working_instant(due));
                // The earliest instant: a minute sooner is not enough.
                prop_assert_eq!(
                    cal.working_minutes_between(from, due - TimeDelta::minutes(1)),
                    minutes - 1
                );
            }
        }

        #[test]
        fn working_minutes_compose(from in instant(), a in 0u32..100_000, b in 0u32..100_000) {
            let cal = WorkCalendar::china_official();
            prop_assert_eq!(
                cal.add_working_minutes(cal.add_working_minutes(from, a), b),
                cal.add_working_minutes(from, a + b)
            );
        }

        #[test]
        fn a_holiday_never_makes_a_deadline_earlier(
            from in instant(),
            holiday in instant(),
            n in 0u32..60,
            minutes in 0u32..20_000,
        ) {
            let cal = WorkCalendar::china_official();
            let day = cal.local(holiday).unwrap().date();
            let more = cal.to_builder().add_holiday(day).build().unwrap();
            prop_assert!(more.add_working_days(from, n) >= cal.add_working_days(from, n));
            prop_assert!(more.add_working_minutes(from, minutes) >= cal.add_working_minutes(from, minutes));
        }
    }
}
