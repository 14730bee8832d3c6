//! The request KPI rollup: what one request adds to the figures of its place and intake day.
//!
//! Every KPI of a subtree and period is a sum over requests, so each request contributes a
//! few counters ([`Metric`]) to each rolled-up node on its path ([`ROLLUP_KINDS`]) for the
//! day it was received on ([`intake_day`]). A change of a request removes its old
//! contribution and adds its new one in the same transaction, so the rollup never drifts;
//! a KPI over whole days is then a sum over at most (days × metrics) rows, however many
//! requests there are. Every rolled-up node is also rolled up by the calendar month, so a
//! period of many months reads its whole months as one stretch each; the busiest levels
//! ([`HOURLY_KINDS`]) are also rolled up by the hour, so a period that starts or ends
//! mid-day reads whole hours there and counts at most part of an hour request by request
//! ([`plan`]).
//!
//! Everything here is judged from the record alone, never from a clock: a deadline counts
//! as decided once it was met or its breach was recorded (the scheduler records a breach
//! within a second of the deadline), or once the request is no longer open.
//!
//! The median handling time is read from a histogram of fixed buckets ([`handling_bucket`]):
//! one minute wide up to an hour, then each at most 1/16 of its lower bound wide. The median
//! reported is the lower bound of the bucket holding the middle request (the mean of the two
//! for an even count), so it is exact for whole minutes under 64 and otherwise at most one
//! bucket width (6.25 %) below the true median.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};
use mulin_domain::calendar::{china, china_day_start};
use mulin_domain::deadline::EscalationLevel;
use mulin_domain::org::Department;
use mulin_domain::request::RequestStatus;
use mulin_domain::tree::NodeKind;

use crate::{RequestRecord, RequestTallies};

/// The node kinds a request's figures are rolled up at (district down to compound). KPIs
/// of a deeper node are counted from its requests directly: they are few.
pub const ROLLUP_KINDS: [NodeKind; 5] = [
    NodeKind::District,
    NodeKind::Street,
    NodeKind::Community,
    NodeKind::Grid,
    NodeKind::Compound,
];

/// The node kinds also rolled up by the hour, so a period starting or ending mid-day reads
/// at most part of an hour of their requests one by one. A grid (300–500 households) and
/// the compounds in it receive few requests in half a day, and an hourly row of theirs
/// would mostly hold a single request: reading those requests is as cheap as reading the
/// rows, so only the levels whose intake grows with the district's size get hours.
pub const HOURLY_KINDS: [NodeKind; 3] = [NodeKind::District, NodeKind::Street, NodeKind::Community];

/// The stretches of intake time the rollup sums over.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Grain {
    /// A China calendar day (every rolled-up node).
    Day,
    /// A China-time hour ([`HOURLY_KINDS`] only).
    Hour,
    /// A China calendar month (every rolled-up node), so a period of many months reads a
    /// month's rows once instead of each of its days'.
    Month,
}

impl Grain {
    /// Every grain, in key order.
    pub const ALL: [Grain; 3] = [Grain::Day, Grain::Hour, Grain::Month];

    /// The start (as a UTC instant) of the stretch `at` falls in.
    pub fn start(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let fixed = |length: Duration| {
            let length_ms = length.num_milliseconds();
            // Days (and hours) are China's, as the district reports them.
            let offset_ms = i64::from(china().local_minus_utc()) * 1_000;
            let local = at.timestamp_millis() + offset_ms;
            let start = local.div_euclid(length_ms) * length_ms - offset_ms;
            DateTime::from_timestamp_millis(start).unwrap_or(at)
        };
        match self {
            Grain::Day => fixed(Duration::days(1)),
            Grain::Hour => fixed(Duration::hours(1)),
            Grain::Month => {
                let date = china_date(at);
                china_day_start(date.with_day(1).unwrap_or(date))
            }
        }
    }

    /// The end of the stretch starting at `start` (the next one's start).
    pub fn end(self, start: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Grain::Day => start + Duration::days(1),
            Grain::Hour => start + Duration::hours(1),
            Grain::Month => {
                let date = china_date(start);
                china_day_start(date.checked_add_months(Months::new(1)).unwrap_or(date))
            }
        }
    }

    /// The first stretch start at or after `at`.
    pub fn start_at_or_after(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let start = self.start(at);
        if start == at {
            start
        } else {
            self.end(start)
        }
    }

    /// The grains a node of `kind` is rolled up by.
    pub fn of(kind: NodeKind) -> &'static [Grain] {
        if HOURLY_KINDS.contains(&kind) {
            &Grain::ALL
        } else if ROLLUP_KINDS.contains(&kind) {
            &[Grain::Day, Grain::Month]
        } else {
            &[]
        }
    }
}

/// The start (as a UTC instant) of the China-time day `at` falls on.
pub fn intake_day(at: DateTime<Utc>) -> DateTime<Utc> {
    Grain::Day.start(at)
}

/// One counter of the rollup.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Metric {
    /// Requests received.
    Total,
    /// Arrive deadline met, breached, or no longer owed.
    ArriveDecided,
    /// On site by the arrive deadline.
    ArrivedOnTime,
    /// Resolve deadline met, breached, or no longer owed.
    ResolveDecided,
    /// Solved by the resolve deadline.
    ResolvedOnTime,
    /// Solved.
    Resolved,
    /// Rated.
    Rated,
    /// Rated 4–5 stars.
    Satisfied,
    /// Sum of handling milliseconds of those solved.
    HandlingMs,
    /// Breaches (arrive, resolve, whistle) of requests standing at this escalation level.
    BreachesAt(EscalationLevel),
    /// Whistle acknowledgements a department let pass.
    WhistleBreaches(Department),
    /// Solved requests whose handling time falls in the bucket starting at this minute.
    Handling(u32),
}

impl Metric {
    /// The stored key.
    pub fn key(self) -> String {
        match self {
            Metric::Total => "total".into(),
            Metric::ArriveDecided => "arrive_decided".into(),
            Metric::ArrivedOnTime => "arrived_on_time".into(),
            Metric::ResolveDecided => "resolve_decided".into(),
            Metric::ResolvedOnTime => "resolved_on_time".into(),
            Metric::Resolved => "resolved".into(),
            Metric::Rated => "rated".into(),
            Metric::Satisfied => "satisfied".into(),
            Metric::HandlingMs => "handling_ms".into(),
            Metric::BreachesAt(level) => format!("breaches_at:{level}"),
            Metric::WhistleBreaches(department) => format!("whistle_breaches:{department}"),
            Metric::Handling(minute) => format!("handling:{minute}"),
        }
    }

    /// Parses a stored key; `None` for a key this version does not know.
    pub fn parse(key: &str) -> Option<Metric> {
        const PLAIN: [Metric; 9] = [
            Metric::Total,
            Metric::ArriveDecided,
            Metric::ArrivedOnTime,
            Metric::ResolveDecided,
            Metric::ResolvedOnTime,
            Metric::Resolved,
            Metric::Rated,
            Metric::Satisfied,
            Metric::HandlingMs,
        ];
        if let Some(plain) = PLAIN.into_iter().find(|m| m.key() == key) {
            return Some(plain);
        }
        let (name, value) = key.split_once(':')?;
        match name {
            "breaches_at" => EscalationLevel::parse(value).ok().map(Metric::BreachesAt),
            "whistle_breaches" => Department::parse(value).ok().map(Metric::WhistleBreaches),
            "handling" => value.parse().ok().map(Metric::Handling),
            _ => None,
        }
    }
}

/// Handling times under this many minutes have a bucket each.
const EXACT_MINUTES: u32 = 64;

/// Buckets per doubling of the handling time beyond [`EXACT_MINUTES`]: a bucket is at most
/// 1/16 of its lower bound wide.
const BUCKETS_PER_DOUBLING: u32 = 16;

/// The lower bound in minutes of the histogram bucket of a handling time: the minute itself
/// under [`EXACT_MINUTES`], beyond that one of [`BUCKETS_PER_DOUBLING`] equal buckets of the
/// power-of-two range the minute falls in (64–67, 68–71, … 124–127, then 128–135, …).
///
/// The buckets grow with the time, so a stretch's histogram has a bounded number of rows
/// whatever the spread of handling times (about 230 up to 60 days) and the median stays
/// within 1/16 of the truth; minute-wide buckets up to a day gave a busy district-day up
/// to 1,440 rows, which every KPI read had to sum.
pub fn handling_bucket(handling_ms: i64) -> u32 {
    let minutes = u32::try_from(handling_ms.max(0) / 60_000).unwrap_or(u32::MAX);
    if minutes < EXACT_MINUTES {
        return minutes;
    }
    let width = (1 << minutes.ilog2()) / BUCKETS_PER_DOUBLING;
    minutes / width * width
}

/// What of a request the KPIs look at: a few columns, so a period's edges can be counted
/// from the requests table without reading whole records.
#[derive(Clone, PartialEq, Debug)]
pub struct KpiFacts {
    /// Taken in.
    pub received_at: DateTime<Utc>,
    /// Current status.
    pub status: RequestStatus,
    /// Current escalation level.
    pub level: EscalationLevel,
    /// On site by.
    pub arrive_due: DateTime<Utc>,
    /// Solved by.
    pub resolve_due: DateTime<Utc>,
    /// First on site.
    pub arrived_at: Option<DateTime<Utc>>,
    /// Solved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Stars given.
    pub rating: Option<u8>,
    /// Breach flags: arrive, resolve, whistle.
    pub breached: [bool; 3],
    /// The whistled department.
    pub whistle_department: Option<Department>,
    /// Closed into another request as a duplicate (counts nothing).
    pub merged: bool,
}

impl KpiFacts {
    /// The facts of a whole record.
    pub fn of(r: &RequestRecord) -> KpiFacts {
        KpiFacts {
            received_at: r.received_at,
            status: r.state.status,
            level: r.state.level,
            arrive_due: r.arrive_due,
            resolve_due: r.resolve_due,
            arrived_at: r.arrived_at,
            resolved_at: r.resolved_at,
            rating: r.rating.map(|rating| rating.stars()),
            breached: [r.arrive_breached, r.resolve_breached, r.whistle_breached],
            whistle_department: r.whistle_department,
            merged: r.merged_into.is_some(),
        }
    }

    /// The counters this request adds to its day.
    pub fn contributions(&self) -> Vec<(Metric, i64)> {
        if self.merged {
            return Vec::new();
        }
        let closed = !self.status.is_open();
        let [arrive_breached, resolve_breached, whistle_breached] = self.breached;
        let mut out = vec![(Metric::Total, 1)];
        let mut count = |metric: Metric, yes: bool| {
            if yes {
                out.push((metric, 1));
            }
        };
        count(
            Metric::ArriveDecided,
            self.arrived_at.is_some() || arrive_breached || closed,
        );
        count(
            Metric::ArrivedOnTime,
            self.arrived_at.is_some_and(|at| at <= self.arrive_due),
        );
        count(
            Metric::ResolveDecided,
            self.resolved_at.is_some() || resolve_breached || closed,
        );
        count(
            Metric::ResolvedOnTime,
            self.resolved_at.is_some_and(|at| at <= self.resolve_due),
        );
        count(Metric::Resolved, self.resolved_at.is_some());
        count(Metric::Rated, self.rating.is_some());
        count(
            Metric::Satisfied,
            self.rating.is_some_and(|stars| stars >= 4),
        );
        if let Some(dept) = self.whistle_department.filter(|_| whistle_breached) {
            out.push((Metric::WhistleBreaches(dept), 1));
        }
        let breaches = self.breached.iter().filter(|b| **b).count() as i64;
        if breaches > 0 {
            out.push((Metric::BreachesAt(self.level), breaches));
        }
        if let Some(at) = self.resolved_at {
            let ms = (at - self.received_at).num_milliseconds();
            out.push((Metric::HandlingMs, ms));
            out.push((Metric::Handling(handling_bucket(ms)), 1));
        }
        out
    }
}

/// One row of rollup change: add `amount` to `metric` of node `scope` in the stretch of
/// `grain` starting at `start`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct RollupKey {
    /// Day or hour (first, so a batch writes all its days before its hours).
    pub grain: Grain,
    /// Tenant.
    pub district: mulin_domain::ids::DistrictId,
    /// A rolled-up node on the request's path.
    pub scope: mulin_domain::ids::NodeId,
    /// The day's or hour's start, UTC milliseconds.
    pub start: i64,
    /// The counter.
    pub metric: Metric,
}

/// The rollup changes of a batch of request writes (`None` before: a new request), summed
/// per key, zero sums dropped, in key order (so concurrent writers lock rows in one order).
pub fn rollup_deltas<'a>(
    changes: impl IntoIterator<Item = (Option<&'a RequestRecord>, &'a RequestRecord)>,
) -> Vec<(RollupKey, i64)> {
    let mut sums: BTreeMap<RollupKey, i64> = BTreeMap::new();
    let mut add = |r: &RequestRecord, sign: i64| {
        let contributions = KpiFacts::of(r).contributions();
        for kind in ROLLUP_KINDS {
            let Some(scope) = r.place.at(kind) else {
                continue;
            };
            for grain in Grain::of(kind) {
                let start = grain.start(r.received_at).timestamp_millis();
                for (metric, amount) in &contributions {
                    let key = RollupKey {
                        grain: *grain,
                        district: r.district,
                        scope,
                        start,
                        metric: *metric,
                    };
                    *sums.entry(key).or_default() += sign * amount;
                }
            }
        }
    };
    for (before, after) in changes {
        if let Some(before) = before {
            add(before, -1);
        }
        add(after, 1);
    }
    sums.into_iter().filter(|(_, sum)| *sum != 0).collect()
}

/// The tallies of summed counters.
pub fn tallies_from(sums: &BTreeMap<Metric, i64>) -> RequestTallies {
    let get = |metric: Metric| sums.get(&metric).copied().unwrap_or(0);
    let resolved = get(Metric::Resolved);
    let mut histogram = Vec::new();
    let mut breaches_by_level = Vec::new();
    let mut breaches_by_department = Vec::new();
    for (metric, amount) in sums.iter().filter(|(_, amount)| **amount != 0) {
        match metric {
            Metric::Handling(minute) => histogram.push((*minute, *amount)),
            Metric::BreachesAt(level) => breaches_by_level.push((*level, *amount)),
            Metric::WhistleBreaches(dept) => breaches_by_department.push((*dept, *amount)),
            _ => {}
        }
    }
    RequestTallies {
        total: get(Metric::Total),
        arrive_decided: get(Metric::ArriveDecided),
        arrived_on_time: get(Metric::ArrivedOnTime),
        resolve_decided: get(Metric::ResolveDecided),
        resolved_on_time: get(Metric::ResolvedOnTime),
        resolved,
        rated: get(Metric::Rated),
        satisfied: get(Metric::Satisfied),
        handling_minutes_sum: get(Metric::HandlingMs) as f64 / 60_000.0,
        handling_minutes_median: histogram_median(&histogram, resolved),
        breaches: breaches_by_level.iter().map(|(_, n)| n).sum(),
        breaches_by_level,
        breaches_by_department,
    }
}

/// The median of `n` values from (bucket lower bound, count) pairs in ascending order.
fn histogram_median(histogram: &[(u32, i64)], n: i64) -> Option<f64> {
    if n <= 0 {
        return None;
    }
    // The 0-based ranks of the middle value(s).
    let ranks = [(n - 1) / 2, n / 2];
    let mut values = [0.0; 2];
    for (value, rank) in values.iter_mut().zip(ranks) {
        let mut seen = 0;
        for (minute, count) in histogram {
            seen += count;
            if seen > rank {
                *value = f64::from(*minute);
                break;
            }
        }
    }
    Some((values[0] + values[1]) / 2.0)
}

/// Adds a request's facts to counter sums (for the parts of a period counted directly),
/// or with `sign` -1 takes them away (the rest of a day read whole from the rollup).
pub fn add_facts(sums: &mut BTreeMap<Metric, i64>, facts: &KpiFacts, sign: i64) {
    for (metric, amount) in facts.contributions() {
        *sums.entry(metric).or_default() += sign * amount;
    }
}

/// A stretch of intake time `[from, to)`.
pub type Span = (DateTime<Utc>, DateTime<Utc>);

/// A day or hour cut by the bounds of the periods: the pieces the bounds split it into,
/// each either counted from its requests one by one, or (one piece) as the stretch's rollup
/// less the requests of the other pieces, whichever reads fewer requests. Which is cheaper
/// depends on where the requests fall: for a period ending now the rest of the hour is the
/// future and holds nothing, however many requests the hour already has. Two periods that
/// meet inside the stretch share it, so its requests are read once for both.
#[derive(Clone, PartialEq, Debug)]
pub struct Cut {
    /// An hour where the scope is rolled up by the hour, a day otherwise.
    pub grain: Grain,
    /// The stretch's start.
    pub start: DateTime<Utc>,
    /// The pieces in time order, covering the stretch, each with the period it belongs to
    /// (`None`: outside every period).
    pub pieces: Vec<(Span, Option<usize>)>,
}

impl Cut {
    /// The whole stretch.
    pub fn whole(&self) -> Span {
        (self.start, self.grain.end(self.start))
    }
}

/// How the counts of consecutive periods are gathered: whole months, days and hours from
/// the rollup, and the days or hours their bounds cut.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct Plan {
    /// For each period, the stretches read whole from the rollup: the months, days or
    /// hours starting in each span.
    pub whole: Vec<Vec<(Grain, Span)>>,
    /// The stretches cut by a bound, oldest first.
    pub cuts: Vec<Cut>,
}

/// The plan for the periods `[bounds[0], bounds[1])`, `[bounds[1], bounds[2])` …, for a
/// scope rolled up by the day and by those of `grains` besides (hours for the partial
/// days, months for the whole ones). Bounds are in ascending order (a period whose end is
/// not after its start is empty).
pub fn plan(bounds: &[DateTime<Utc>], grains: &[Grain]) -> Plan {
    let hourly = grains.contains(&Grain::Hour);
    let monthly = grains.contains(&Grain::Month);
    let fine = if hourly { Grain::Hour } else { Grain::Day };
    let periods: Vec<Span> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    let whole = periods
        .iter()
        .map(|&(from, to)| whole_stretches(from, to, hourly, monthly))
        .collect();
    let owner = |at: DateTime<Utc>| {
        periods
            .iter()
            .position(|(from, to)| *from <= at && at < *to)
    };
    let mut starts: Vec<DateTime<Utc>> = bounds
        .iter()
        .filter(|b| fine.start(**b) != **b)
        .map(|b| fine.start(*b))
        .collect();
    starts.sort();
    starts.dedup();
    let cuts = starts
        .into_iter()
        .map(|start| {
            let end = fine.end(start);
            let mut points: Vec<DateTime<Utc>> = bounds
                .iter()
                .copied()
                .filter(|b| start < *b && *b < end)
                .collect();
            points.sort();
            points.dedup();
            points.insert(0, start);
            points.push(end);
            let pieces = points
                .windows(2)
                .map(|w| ((w[0], w[1]), owner(w[0])))
                .collect();
            Cut {
                grain: fine,
                start,
                pieces,
            }
        })
        .filter(|cut| cut.pieces.iter().any(|(_, owner)| owner.is_some()))
        .collect();
    Plan { whole, cuts }
}

/// The whole days of `[from, to)` (where `monthly`, its whole months and the whole days
/// beside them), and where `hourly` the whole hours of its partial days.
fn whole_stretches(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    hourly: bool,
    monthly: bool,
) -> Vec<(Grain, Span)> {
    let mut out = Vec::new();
    if from >= to {
        return out;
    }
    let first_day = Grain::Day.start_at_or_after(from);
    let end_day = Grain::Day.start(to);
    let first_month = Grain::Month.start_at_or_after(first_day);
    let end_month = Grain::Month.start(end_day);
    let days = if monthly && first_month < end_month {
        out.push((Grain::Month, (first_month, end_month)));
        vec![(first_day, first_month), (end_month, end_day)]
    } else {
        vec![(first_day, end_day)]
    };
    out.extend(
        days.into_iter()
            .filter(|(from, to)| from < to)
            .map(|span| (Grain::Day, span)),
    );
    if hourly {
        let first_hour = Grain::Hour.start_at_or_after(from);
        let end_hour = Grain::Hour.start(to);
        let hours = if first_day <= end_day {
            // Partial days on either side of the whole ones.
            vec![(first_hour, first_day), (end_day, end_hour)]
        } else {
            vec![(first_hour, end_hour)]
        };
        out.extend(
            hours
                .into_iter()
                .filter(|(from, to)| from < to)
                .map(|span| (Grain::Hour, span)),
        );
    }
    out
}

/// The starts of the days `[from, to)` touches, oldest first.
pub fn days_touched(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut days = Vec::new();
    let mut day = intake_day(from);
    while day < to {
        days.push(day);
        day += Duration::days(1);
    }
    days
}

/// The China calendar date of a day starting at `day`.
pub fn china_date(day: DateTime<Utc>) -> NaiveDate {
    day.with_timezone(&china()).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const HOURLY: &[Grain] = &[Grain::Day, Grain::Hour];
    const DAILY: &[Grain] = &[Grain::Day];

    #[test]
    fn days_are_china_days() {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 15, 59, 0).unwrap();
        assert_eq!(
            intake_day(at),
            Utc.with_ymd_and_hms(2026, 2, 28, 16, 0, 0).unwrap()
        );
        let next = Utc.with_ymd_and_hms(2026, 3, 1, 16, 0, 0).unwrap();
        assert_eq!(intake_day(next), next);
        assert_eq!(Grain::Day.start_at_or_after(next), next);
        assert_eq!(Grain::Day.start_at_or_after(at), next);
        assert_eq!(
            Grain::Hour.start(at),
            Utc.with_ymd_and_hms(2026, 3, 1, 15, 0, 0).unwrap()
        );
        assert_eq!(Grain::Hour.start_at_or_after(at), next);
        assert_eq!(Grain::of(NodeKind::Street), Grain::ALL);
        assert!(Grain::of(NodeKind::Building).is_empty());
    }

    /// Checks that `plan` covers each period exactly once with stretches of its grains
    /// (whole ones aligned to their grain), and returns it.
    fn checked_plan(bounds: &[DateTime<Utc>], grains: &[Grain]) -> Plan {
        let p = plan(bounds, grains);
        assert_eq!(p.whole.len(), bounds.len().saturating_sub(1));
        for (idx, w) in bounds.windows(2).enumerate() {
            let mut spans: Vec<Span> = p.whole[idx]
                .iter()
                .map(|(grain, span)| {
                    assert!(*grain == Grain::Day || grains.contains(grain));
                    assert_eq!(grain.start(span.0), span.0, "{grain:?} aligned");
                    assert_eq!(grain.start(span.1), span.1, "{grain:?} aligned");
                    *span
                })
                .collect();
            for cut in &p.cuts {
                assert_eq!(cut.pieces.first().map(|p| p.0 .0), Some(cut.start));
                assert_eq!(cut.pieces.last().map(|p| p.0 .1), Some(cut.whole().1));
                spans.extend(
                    cut.pieces
                        .iter()
                        .filter(|(_, owner)| *owner == Some(idx))
                        .map(|(span, _)| *span),
                );
            }
            spans.sort();
            let mut at = w[0];
            for (from, to) in spans {
                assert_eq!(from, at, "contiguous");
                assert!(from < to);
                at = to;
            }
            assert_eq!(at, w[1].max(w[0]), "covers {w:?}");
        }
        p
    }

    #[test]
    fn a_plan_covers_each_period_once() {
        let midnight = Utc.with_ymd_and_hms(2026, 2, 28, 16, 0, 0).unwrap();
        let day = Duration::days(1);
        let hour = Duration::hours(1);
        let min = Duration::minutes(1);
        // Midnight to midnight: whole days only.
        let whole = checked_plan(&[midnight, midnight + day * 3], HOURLY);
        assert_eq!(
            whole.whole[0],
            [(Grain::Day, (midnight, midnight + day * 3))]
        );
        assert!(whole.cuts.is_empty());
        // Partial days at both ends, on the hour: whole hours besides the days.
        let from = midnight - hour * 3;
        let to = midnight + day * 2 + hour * 7;
        let both = checked_plan(&[from, to], HOURLY);
        assert!(both.cuts.is_empty());
        assert_eq!(
            both.whole[0],
            [
                (Grain::Day, (midnight, midnight + day * 2)),
                (Grain::Hour, (from, midnight)),
                (Grain::Hour, (midnight + day * 2, to))
            ]
        );
        // Not hourly: the partial days are cut days.
        let daily = checked_plan(&[from, to], DAILY);
        assert_eq!(daily.cuts.len(), 2);
        assert_eq!(
            daily.cuts[0].pieces,
            [((midnight - day, from), None), ((from, midnight), Some(0))]
        );
        // Mid-hour: at most the cut hours are read one by one.
        let odd = checked_plan(&[from + min * 17, to + min * 41], HOURLY);
        assert_eq!(odd.cuts.len(), 2);
        assert_eq!(odd.cuts[0].grain, Grain::Hour);
        assert_eq!(
            odd.cuts[1].pieces,
            [
                ((to, to + min * 41), Some(0)),
                ((to + min * 41, to + hour), None)
            ]
        );
        // Two periods meeting mid-hour share the hour they cut.
        let now = midnight + day * 40 + hour * 9 + min * 23;
        let pair = checked_plan(&[now - day * 60, now - day * 30, now], HOURLY);
        assert_eq!(pair.cuts.len(), 3);
        let shared = &pair.cuts[1];
        assert_eq!(shared.start, now - day * 30 - min * 23);
        assert_eq!(
            shared
                .pieces
                .iter()
                .map(|(_, owner)| *owner)
                .collect::<Vec<_>>(),
            [Some(0), Some(1)]
        );
        // Inside one hour, inside one day, across one midnight, and empty periods.
        let inside = checked_plan(&[now, now + min * 20], HOURLY);
        assert_eq!(inside.cuts.len(), 1);
        assert_eq!(inside.cuts[0].pieces.len(), 3);
        checked_plan(&[now, now + hour * 5], HOURLY);
        checked_plan(&[now, now + hour * 5], DAILY);
        checked_plan(&[midnight - min * 90, midnight + min * 90], HOURLY);
        checked_plan(&[midnight - min * 90, midnight + min * 90], DAILY);
        checked_plan(&[now - day * 2, now - day, now, now + min * 5], HOURLY);
        let empty = checked_plan(&[now, now], HOURLY);
        assert!(empty.whole[0].is_empty() && empty.cuts.is_empty());
        assert_eq!(plan(&[to, from], &Grain::ALL).whole, [Vec::new()]);
        assert!(plan(&[to, from], &Grain::ALL).cuts.is_empty());
    }

    #[test]
    fn months_are_china_months() {
        // 2026-03-01 00:00 in China is 2026-02-28 16:00 UTC.
        let march = Utc.with_ymd_and_hms(2026, 2, 28, 16, 0, 0).unwrap();
        let april = Utc.with_ymd_and_hms(2026, 3, 31, 16, 0, 0).unwrap();
        assert_eq!(Grain::Month.start(march), march);
        assert_eq!(
            Grain::Month
                .start(march - Duration::milliseconds(1))
                .to_string(),
            "2026-01-31 16:00:00 UTC"
        );
        assert_eq!(Grain::Month.start(april - Duration::hours(1)), march);
        assert_eq!(Grain::Month.end(march), april);
        assert_eq!(
            Grain::Month.start_at_or_after(march + Duration::days(3)),
            april
        );
        let december = Utc.with_ymd_and_hms(2026, 11, 30, 16, 0, 0).unwrap();
        assert_eq!(
            Grain::Month.end(december).to_string(),
            "2026-12-31 16:00:00 UTC"
        );
        assert_eq!(Grain::of(NodeKind::Grid), [Grain::Day, Grain::Month]);
    }

    /// A period of several months reads its whole months from the monthly rollup, the whole
    /// days beside them from the daily one and the partial days' hours from the hourly one;
    /// the dashboard's series (days only) reads no months.
    #[test]
    fn whole_months_are_read_as_months() {
        let china = |m: u32, d: u32, h: u32, min: u32| {
            Utc.with_ymd_and_hms(2026, m, d, h, min, 0).unwrap() - Duration::hours(8)
        };
        let from = china(1, 15, 10, 23);
        let to = china(4, 3, 9, 0);
        let p = checked_plan(&[from, to], &Grain::ALL);
        assert_eq!(
            p.whole[0],
            [
                (Grain::Month, (china(2, 1, 0, 0), china(4, 1, 0, 0))),
                (Grain::Day, (china(1, 16, 0, 0), china(2, 1, 0, 0))),
                (Grain::Day, (china(4, 1, 0, 0), china(4, 3, 0, 0))),
                (Grain::Hour, (china(1, 15, 11, 0), china(1, 16, 0, 0))),
                (Grain::Hour, (china(4, 3, 0, 0), to)),
            ]
        );
        assert_eq!(p.cuts.len(), 1);
        // A grid has months but no hours; a period from one month start to another is
        // months only.
        let grid = checked_plan(&[from, to], &[Grain::Day, Grain::Month]);
        assert_eq!(grid.cuts.len(), 2);
        let whole = checked_plan(&[china(1, 1, 0, 0), china(3, 1, 0, 0)], &Grain::ALL);
        assert_eq!(
            whole.whole[0],
            [(Grain::Month, (china(1, 1, 0, 0), china(3, 1, 0, 0)))]
        );
        // No whole month inside: days only. A year and the year before it, read together.
        let short = checked_plan(&[china(1, 2, 0, 0), china(2, 20, 0, 0)], &Grain::ALL);
        assert!(short.whole[0].iter().all(|(grain, _)| *grain == Grain::Day));
        let now = china(12, 5, 9, 41);
        let year = Duration::days(365);
        checked_plan(&[now - year * 2, now - year, now], &Grain::ALL);
        checked_plan(
            &[now - year * 2, now - year, now],
            &[Grain::Day, Grain::Month],
        );
        assert!(checked_plan(&[now - year, now], HOURLY).whole[0]
            .iter()
            .all(|(grain, _)| *grain != Grain::Month));
    }

    #[test]
    fn days_touched_and_their_dates() {
        let midnight = Utc.with_ymd_and_hms(2026, 11, 1, 16, 0, 0).unwrap();
        let days = days_touched(
            midnight - Duration::hours(4),
            midnight + Duration::hours(34),
        );
        assert_eq!(
            days,
            [
                midnight - Duration::days(1),
                midnight,
                midnight + Duration::days(1)
            ]
        );
        assert_eq!(china_date(midnight).to_string(), "2026-11-02");
        assert!(days_touched(midnight, midnight).is_empty());
        assert_eq!(
            days_touched(midnight, midnight + Duration::days(1)),
            [midnight]
        );
    }

    /// Every minute up to 60 days: buckets never decrease, hold their minute, are within
    /// 1/16 of it, and stay few.
    #[test]
    fn buckets_are_close_and_few() {
        let mut buckets = std::collections::BTreeSet::new();
        let mut last = 0;
        for minute in 0..60 * 24 * 60_i64 {
            let bucket = handling_bucket(minute * 60_000 + 59_999);
            let minute = u32::try_from(minute).unwrap();
            assert!(bucket <= minute && bucket >= last);
            assert!(minute - bucket <= bucket / 16, "{minute} in {bucket}");
            buckets.insert(bucket);
            last = bucket;
        }
        assert!(buckets.len() < 240, "{} buckets", buckets.len());
    }

    #[test]
    fn buckets_and_median() {
        assert_eq!(handling_bucket(-5), 0);
        assert_eq!(handling_bucket(31 * 60_000 + 59_999), 31);
        assert_eq!(handling_bucket(63 * 60_000), 63);
        assert_eq!(handling_bucket(67 * 60_000), 64);
        assert_eq!(handling_bucket(68 * 60_000), 68);
        assert_eq!(handling_bucket(135 * 60_000), 128);
        // 25 h 5 min = 1,505 min: 1,024–2,047 in buckets of 64 minutes.
        assert_eq!(handling_bucket(25 * 60 * 60_000 + 5 * 60_000), 1_472);
        assert_eq!(handling_bucket(i64::MAX), 4_160_749_568);
        let h = [(20, 1), (40, 1), (60, 1)];
        assert_eq!(histogram_median(&h, 3), Some(40.0));
        assert_eq!(histogram_median(&h[..2], 2), Some(30.0));
        assert_eq!(histogram_median(&[], 0), None);
    }

    #[test]
    fn every_metric_key_parses_back() {
        let metrics = [
            Metric::Total,
            Metric::HandlingMs,
            Metric::Satisfied,
            Metric::BreachesAt(EscalationLevel::Street),
            Metric::WhistleBreaches(Department::ALL[0]),
            Metric::Handling(1440),
        ];
        for m in metrics {
            assert_eq!(Metric::parse(&m.key()), Some(m));
        }
        assert_eq!(Metric::parse("nonsense"), None);
    }
}
