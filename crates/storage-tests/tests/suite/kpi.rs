//! The KPI rollup never drifts: after random sequences of request changes, the tallies of
//! every scope (whole days from the rollup, partial days from the requests) equal a
//! recomputation from the requests as they now stand.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use mulin_domain::deadline::EscalationLevel;
use mulin_domain::org::Department;
use mulin_domain::request::{Rating, RequestStatus};
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_storage::{RequestRecord, RequestTallies};
use mulin_storage_tests::test_now;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::loaded;
use crate::requests::{received, request};

/// One change a handler or the scheduler could make.
#[derive(Clone, Debug)]
enum Op {
    Arrive(i64),
    Resolve(i64),
    Reopen,
    Rate(u8),
    BreachArrive,
    BreachResolve,
    Whistle(usize),
    BreachWhistle,
    Escalate,
    Merge,
    Close,
    Move(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0i64..120).prop_map(Op::Arrive),
        // Under a day, so the histogram's median is exact and comparable.
        (0i64..1_400).prop_map(Op::Resolve),
        Just(Op::Reopen),
        (1u8..=5).prop_map(Op::Rate),
        Just(Op::BreachArrive),
        Just(Op::BreachResolve),
        (0usize..3).prop_map(Op::Whistle),
        Just(Op::BreachWhistle),
        Just(Op::Escalate),
        Just(Op::Merge),
        Just(Op::Close),
        (0usize..4).prop_map(Op::Move),
    ]
}

fn apply(r: &mut RequestRecord, op: &Op, places: &[NodePath], other: &RequestRecord) {
    match op {
        Op::Arrive(m) => r.arrived_at = Some(r.received_at + Duration::minutes(*m)),
        Op::Resolve(m) => {
            r.resolved_at = Some(r.received_at + Duration::minutes(*m));
            r.state.status = RequestStatus::Solved;
        }
        Op::Reopen => {
            r.resolved_at = None;
            r.state.status = RequestStatus::Dispatched;
        }
        Op::Rate(stars) => r.rating = Some(Rating::new(*stars).unwrap()),
        Op::BreachArrive => r.arrive_breached = true,
        Op::BreachResolve => r.resolve_breached = true,
        Op::Whistle(d) => {
            r.whistle_department = Some(Department::ALL[*d]);
            r.whistle_breached = false;
        }
        Op::BreachWhistle => r.whistle_breached = r.whistle_department.is_some(),
        Op::Escalate => {
            if let Some(level) = r.state.level.next() {
                r.state.level = level;
            }
        }
        Op::Merge => {
            r.merged_into = Some(other.id);
            r.state.status = RequestStatus::Closed;
        }
        Op::Close => r.state.status = RequestStatus::Closed,
        Op::Move(p) => r.place = places[*p],
    }
}

/// The tallies recomputed from the records, independently of the rollup's code.
fn recompute(
    records: &[RequestRecord],
    scope: &NodePath,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> RequestTallies {
    let mut t = RequestTallies::default();
    let mut minutes = Vec::new();
    let mut by_level: BTreeMap<EscalationLevel, i64> = BTreeMap::new();
    let mut by_dept: BTreeMap<Department, i64> = BTreeMap::new();
    for r in records.iter().filter(|r| {
        r.merged_into.is_none()
            && r.place.is_within(scope.kind(), scope.id())
            && r.received_at >= from
            && r.received_at < to
    }) {
        let open = r.state.status.is_open();
        t.total += 1;
        t.arrive_decided += i64::from(r.arrived_at.is_some() || r.arrive_breached || !open);
        t.arrived_on_time += i64::from(r.arrived_at.is_some_and(|a| a <= r.arrive_due));
        t.resolve_decided += i64::from(r.resolved_at.is_some() || r.resolve_breached || !open);
        t.resolved_on_time += i64::from(r.resolved_at.is_some_and(|a| a <= r.resolve_due));
        t.rated += i64::from(r.rating.is_some());
        t.satisfied += i64::from(r.rating.is_some_and(|s| s.stars() >= 4));
        if let Some(at) = r.resolved_at {
            t.resolved += 1;
            minutes.push((at - r.received_at).num_minutes());
        }
        let breaches = [r.arrive_breached, r.resolve_breached, r.whistle_breached];
        let n = breaches.iter().filter(|b| **b).count() as i64;
        if n > 0 {
            *by_level.entry(r.state.level).or_default() += n;
        }
        t.breaches += n;
        if let (true, Some(d)) = (r.whistle_breached, r.whistle_department) {
            *by_dept.entry(d).or_default() += 1;
        }
    }
    minutes.sort_unstable();
    t.handling_minutes_sum = minutes.iter().sum::<i64>() as f64;
    t.handling_minutes_median = (!minutes.is_empty()).then(|| {
        let n = minutes.len();
        (minutes[(n - 1) / 2] + minutes[n / 2]) as f64 / 2.0
    });
    t.breaches_by_level = by_level.into_iter().collect();
    t.breaches_by_department = by_dept.into_iter().collect();
    t
}

#[test]
fn the_rollup_equals_a_recomputation_after_random_changes() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (db, demo) = runtime.block_on(loaded());
    let store = db.store();
    let buildings: Vec<NodePath> = demo
        .dataset
        .nodes
        .iter()
        .filter(|n| n.path.kind() == NodeKind::Building)
        .map(|n| n.path)
        .collect();
    let first = buildings[0];
    let other_grid = *buildings
        .iter()
        .find(|b| b.at(NodeKind::Grid) != first.at(NodeKind::Grid))
        .unwrap();
    let community = NodePath::from_levels(NodeKind::Community, {
        let mut ids = first.levels();
        for id in ids.iter_mut().skip(3) {
            *id = None;
        }
        ids
    })
    .unwrap();
    // Buildings (one in another grid) and the community's queue.
    let places = [first, buildings[1], other_grid, community];
    let scope = |kind: NodeKind| {
        let mut ids = first.levels();
        for id in ids.iter_mut().skip(kind.level() + 1) {
            *id = None;
        }
        NodePath::from_levels(kind, ids).unwrap()
    };
    let scopes = [
        scope(NodeKind::District),
        scope(NodeKind::Community),
        scope(NodeKind::Grid),
        scope(NodeKind::Compound),
        first,
    ];
    let district = first.district().into();
    let case = std::cell::Cell::new(0i64);
    let mut runner = TestRunner::new(Config::with_cases(12));
    let requests = prop::collection::vec((0usize..4, 0i64..(5 * 24 * 60)), 1..8);
    let ops = prop::collection::vec((0usize..8, op()), 0..40);
    runner
        .run(&(requests, ops), |(intakes, ops)| {
            // Each case in its own stretch of time, so the cases do not see each other.
            let base = test_now() + Duration::days(40 * case.get());
            case.set(case.get() + 1);
            runtime.block_on(async {
                let mut records: Vec<RequestRecord> = Vec::new();
                for (place, minute) in &intakes {
                    let r = request(places[*place], base + Duration::minutes(*minute));
                    store
                        .insert_request(&r, &[received(r.received_at)], &[])
                        .await
                        .unwrap();
                    records.push(r);
                }
                for (idx, op) in &ops {
                    let idx = idx % records.len();
                    let before = records[idx].clone();
                    let other = records[(idx + 1) % records.len()].clone();
                    let mut next = before.clone();
                    apply(&mut next, op, &places, &other);
                    next.seq += 1;
                    store
                        .update_request(&before, &next, &[], &[])
                        .await
                        .unwrap();
                    records[idx] = next;
                }
                // Partial days at both ends, and a stretch inside one day.
                let periods = [
                    (
                        base - Duration::hours(3),
                        base + Duration::hours(24 * 5 + 7),
                    ),
                    (base + Duration::hours(30), base + Duration::hours(36)),
                ];
                for scope in &scopes {
                    for (from, to) in periods {
                        let got = store
                            .request_tallies(district, scope, from, to)
                            .await
                            .unwrap();
                        let want = recompute(&records, scope, from, to);
                        prop_assert_eq!(&got, &want, "{:?} {:?}..{:?}", scope.kind(), from, to);
                    }
                }
                Ok(())
            })
        })
        .unwrap();
}
