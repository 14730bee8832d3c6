//! The request KPI rollup: what one request adds to the figures of its place and intake day.
//!
//! Every KPI of a subtree and period is a sum over requests, so each request contributes a
//! few counters ([`Metric`]) to each rolled-up node on its path ([`ROLLUP_KINDS`]) for the
//! day it was received on ([`intake_day`]). A change of a request removes its old
//! contribution and adds its new one in the same transaction, so the rollup never drifts;
//! a KPI over whole days is then a sum over at most (days × metrics) rows, however many
//! requests there are.
//!
//! Everything here is judged from the record alone, never from a clock: a deadline counts
//! as decided once it was met or its breach was recorded (the scheduler records a breach
//! within a second of the deadline), or once the request is no longer open.
//!
//! The median handling time is read from a histogram of fixed buckets: one minute wide up
//! to a day, one hour wide up to 30 days, one day wide beyond. The median reported is the
//! lower bound of the bucket holding the middle request (the mean of the two for an even
//! count), so it is exact for whole minutes under a day and otherwise at most one bucket
//! width below the true median.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use mulin_domain::deadline::EscalationLevel;
use mulin_domain::org::Department;
use mulin_domain::request::RequestStatus;
use mulin_domain::tree::{NodeKind, NodePath};

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

/// Days are China's calendar days (UTC+8), as the district reports them.
const DAY_OFFSET_HOURS: i64 = 8;

/// The start (as a UTC instant) of the China-time day `at` falls on.
pub fn intake_day(at: DateTime<Utc>) -> DateTime<Utc> {
    let day_ms = Duration::days(1).num_milliseconds();
    let offset_ms = Duration::hours(DAY_OFFSET_HOURS).num_milliseconds();
    let local = at.timestamp_millis() + offset_ms;
    let start = local.div_euclid(day_ms) * day_ms - offset_ms;
    DateTime::from_timestamp_millis(start).unwrap_or(at)
}

/// The first day start at or after `at`.
pub fn day_at_or_after(at: DateTime<Utc>) -> DateTime<Utc> {
    let day = intake_day(at);
    if day == at {
        day
    } else {
        day + Duration::days(1)
    }
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

/// The lower bound in minutes of the histogram bucket of a handling time.
pub fn handling_bucket(handling_ms: i64) -> u32 {
    const DAY: u32 = 24 * 60;
    const MONTH: u32 = 30 * DAY;
    let minutes = u32::try_from(handling_ms.max(0) / 60_000).unwrap_or(u32::MAX);
    if minutes < DAY {
        minutes
    } else if minutes < MONTH {
        minutes / 60 * 60
    } else {
        minutes / DAY * DAY
    }
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

/// One row of rollup change: add `amount` to `metric` of node `scope` on `day`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct RollupKey {
    /// Tenant.
    pub district: mulin_domain::ids::DistrictId,
    /// A rolled-up node on the request's path.
    pub scope: mulin_domain::ids::NodeId,
    /// The intake day's start, UTC milliseconds.
    pub day: i64,
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
        let day = intake_day(r.received_at).timestamp_millis();
        let contributions = KpiFacts::of(r).contributions();
        for scope in rolled_up_nodes(&r.place) {
            for (metric, amount) in &contributions {
                let key = RollupKey {
                    district: r.district,
                    scope,
                    day,
                    metric: *metric,
                };
                *sums.entry(key).or_default() += sign * amount;
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

fn rolled_up_nodes(place: &NodePath) -> impl Iterator<Item = mulin_domain::ids::NodeId> + '_ {
    ROLLUP_KINDS.into_iter().filter_map(|kind| place.at(kind))
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

/// One day a period covers only in part, and the two ways of counting that part: its
/// requests one by one, or the day's rollup less the requests of the rest of the day.
/// Which is cheaper depends on where the requests fall: for a period ending now the rest
/// of today is the future and holds nothing, however many requests today already has.
#[derive(Clone, PartialEq, Debug)]
pub struct Edge {
    /// The day's start.
    pub day: DateTime<Utc>,
    /// The part of the period in the day.
    pub part: Span,
    /// The rest of the day (one or two stretches, possibly empty).
    pub rest: Vec<Span>,
}

impl Edge {
    /// The whole day.
    pub fn whole_day(&self) -> Span {
        (self.day, self.day + Duration::days(1))
    }
}

/// How the counts of a period are gathered: whole days from the rollup, and at most two
/// partial days.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct Plan {
    /// The days read whole from the rollup: those starting in this stretch.
    pub days: Option<Span>,
    /// The days covered in part.
    pub edges: Vec<Edge>,
}

/// The plan for the requests received in `[from, to)`.
pub fn plan(from: DateTime<Utc>, to: DateTime<Utc>) -> Plan {
    if from >= to {
        return Plan::default();
    }
    let first_day = day_at_or_after(from);
    let end_day = intake_day(to);
    let day = Duration::days(1);
    if first_day > end_day {
        // Both ends inside one day.
        return Plan {
            days: None,
            edges: vec![Edge {
                day: end_day,
                part: (from, to),
                rest: vec![(end_day, from), (to, end_day + day)],
            }],
        };
    }
    let mut edges = Vec::new();
    if from < first_day {
        edges.push(Edge {
            day: first_day - day,
            part: (from, first_day),
            rest: vec![(first_day - day, from)],
        });
    }
    if end_day < to {
        edges.push(Edge {
            day: end_day,
            part: (end_day, to),
            rest: vec![(to, end_day + day)],
        });
    }
    Plan {
        days: (first_day < end_day).then_some((first_day, end_day)),
        edges,
    }
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
    (day + Duration::hours(DAY_OFFSET_HOURS)).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn days_are_china_days() {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 15, 59, 0).unwrap();
        assert_eq!(
            intake_day(at),
            Utc.with_ymd_and_hms(2026, 2, 28, 16, 0, 0).unwrap()
        );
        let next = Utc.with_ymd_and_hms(2026, 3, 1, 16, 0, 0).unwrap();
        assert_eq!(intake_day(next), next);
        assert_eq!(day_at_or_after(next), next);
        assert_eq!(day_at_or_after(at), next);
    }

    #[test]
    fn a_plan_covers_the_period_once() {
        let midnight = Utc.with_ymd_and_hms(2026, 2, 28, 16, 0, 0).unwrap();
        let day = Duration::days(1);
        // Midnight to midnight: whole days only.
        let whole = plan(midnight, midnight + day * 3);
        assert_eq!(whole.days, Some((midnight, midnight + day * 3)));
        assert!(whole.edges.is_empty());
        // Partial days at both ends.
        let from = midnight - Duration::hours(3);
        let to = midnight + day * 2 + Duration::hours(7);
        let both = plan(from, to);
        assert_eq!(both.days, Some((midnight, midnight + day * 2)));
        assert_eq!(both.edges.len(), 2);
        assert_eq!(both.edges[0].day, midnight - day);
        assert_eq!(both.edges[0].part, (from, midnight));
        assert_eq!(both.edges[0].rest, [(midnight - day, from)]);
        assert_eq!(both.edges[1].part, (midnight + day * 2, to));
        assert_eq!(both.edges[1].rest, [(to, midnight + day * 3)]);
        // Inside one day: the rest lies on both sides.
        let inside = plan(midnight + Duration::hours(1), midnight + Duration::hours(2));
        assert_eq!(inside.days, None);
        assert_eq!(
            inside.edges[0].rest,
            [
                (midnight, midnight + Duration::hours(1)),
                (midnight + Duration::hours(2), midnight + day)
            ]
        );
        assert_eq!(inside.edges[0].whole_day(), (midnight, midnight + day));
        // Across one midnight: two partial days, no whole one.
        let across = plan(midnight - Duration::hours(1), midnight + Duration::hours(1));
        assert_eq!(across.days, None);
        assert_eq!(across.edges.len(), 2);
        assert_eq!(plan(to, from), Plan::default());
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

    #[test]
    fn buckets_and_median() {
        assert_eq!(handling_bucket(31 * 60_000 + 59_999), 31);
        assert_eq!(handling_bucket(25 * 60 * 60_000 + 5 * 60_000), 25 * 60);
        assert_eq!(handling_bucket(40 * 24 * 60 * 60_000 + 1), 40 * 24 * 60);
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
