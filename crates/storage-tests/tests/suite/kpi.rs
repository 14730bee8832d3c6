//! The KPI rollup never drifts: after random sequences of request changes, or a bulk load,
//! or a rebuild of a damaged rollup, the tallies of every scope (whole days from the rollup,
//! partial days from the requests), for a period and day by day, equal a recomputation from
//! the requests as they now stand.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use mulin_domain::deadline::EscalationLevel;
use mulin_domain::org::Department;
use mulin_domain::request::{Rating, RequestStatus};
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_storage::kpi::{days_touched, handling_bucket, intake_day, Grain};
use mulin_storage::{RequestRecord, RequestTallies, Storage};
use mulin_storage_tests::test_now;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

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
        // Up to two days: exact minutes, then widening histogram buckets.
        (0i64..2_880).prop_map(Op::Resolve),
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
    let mut handling_ms = Vec::new();
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
            handling_ms.push((at - r.received_at).num_milliseconds());
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
    handling_ms.sort_unstable();
    t.handling_minutes_sum = handling_ms.iter().sum::<i64>() as f64 / 60_000.0;
    // The median as the documented histogram reports it: the middle times' buckets.
    t.handling_minutes_median = (!handling_ms.is_empty()).then(|| {
        let n = handling_ms.len();
        let bucket = |ms: i64| f64::from(handling_bucket(ms));
        (bucket(handling_ms[(n - 1) / 2]) + bucket(handling_ms[n / 2])) / 2.0
    });
    t.breaches_by_level = by_level.into_iter().collect();
    t.breaches_by_department = by_dept.into_iter().collect();
    t
}

/// The places requests go to (buildings, one in another grid, and the community's
/// queue), and the scopes checked (district, community, grid, compound, building).
fn places_and_scopes(demo: &mulin_demo::Demo) -> ([NodePath; 4], [NodePath; 5]) {
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
    let scope = |kind: NodeKind| {
        let mut ids = first.levels();
        for id in ids.iter_mut().skip(kind.level() + 1) {
            *id = None;
        }
        NodePath::from_levels(kind, ids).unwrap()
    };
    (
        [first, buildings[1], other_grid, scope(NodeKind::Community)],
        [
            scope(NodeKind::District),
            scope(NodeKind::Community),
            scope(NodeKind::Grid),
            scope(NodeKind::Compound),
            first,
        ],
    )
}

/// Periods around `base` (where a case's requests lie): partial days at both ends on the
/// hour and mid-hour, stretches inside one day and inside one hour, and whole days.
fn periods(base: DateTime<Utc>) -> [(DateTime<Utc>, DateTime<Utc>); 5] {
    let midnight = intake_day(base);
    let min = Duration::minutes(1);
    [
        (
            base - Duration::hours(3),
            base + Duration::hours(24 * 5 + 7),
        ),
        (
            base - Duration::hours(3) + min * 17,
            base + Duration::hours(24 * 3 + 7) + min * 41,
        ),
        (base + Duration::hours(30), base + Duration::hours(36)),
        (
            base + Duration::hours(50) + min * 5,
            base + Duration::hours(50) + min * 50,
        ),
        (midnight, midnight + Duration::days(6)),
    ]
}

/// Checks every scope's tallies, for each period, for it and the period before it read
/// together, and for each of its days, against a recomputation from `records`.
async fn check_against_recomputation(
    store: &dyn Storage,
    records: &[RequestRecord],
    scopes: &[NodePath],
    base: DateTime<Utc>,
) -> Result<(), TestCaseError> {
    for (from, to) in periods(base) {
        check_periods(store, records, scopes, &[from - (to - from), from, to]).await?;
    }
    Ok(())
}

/// Checks every scope's tallies for the consecutive periods between `bounds` (read
/// together and the last one alone), and each day of the last one, against a
/// recomputation from `records`.
async fn check_periods(
    store: &dyn Storage,
    records: &[RequestRecord],
    scopes: &[NodePath],
    bounds: &[DateTime<Utc>],
) -> Result<(), TestCaseError> {
    let district = scopes[0].district().into();
    let (from, to) = (bounds[bounds.len() - 2], bounds[bounds.len() - 1]);
    for scope in scopes {
        let together = store
            .request_tallies_of_periods(district, scope, bounds)
            .await
            .unwrap();
        prop_assert_eq!(together.len(), bounds.len() - 1);
        for (w, got) in bounds.windows(2).zip(&together) {
            let want = recompute(records, scope, w[0], w[1]);
            prop_assert_eq!(
                got,
                &want,
                "{:?} {:?}..{:?} together",
                scope.kind(),
                w[0],
                w[1]
            );
        }
        let got = store
            .request_tallies(district, scope, from, to)
            .await
            .unwrap();
        let want = recompute(records, scope, from, to);
        prop_assert_eq!(&got, &want, "{:?} {:?}..{:?}", scope.kind(), from, to);
        let by_day = store
            .request_tallies_by_day(district, scope, from, to)
            .await
            .unwrap();
        let days: Vec<DateTime<Utc>> = by_day.iter().map(|(day, _)| *day).collect();
        prop_assert_eq!(days, days_touched(from, to));
        for (day, got) in &by_day {
            let part = (from.max(*day), to.min(*day + Duration::days(1)));
            let want = recompute(records, scope, part.0, part.1);
            prop_assert_eq!(got, &want, "{:?} day {:?}", scope.kind(), day);
        }
    }
    Ok(())
}

/// Requests at `intakes` (place index, minute after `base`), then `ops` applied in
/// memory: what a store should hold after them.
fn records_after(
    places: &[NodePath],
    base: DateTime<Utc>,
    intakes: &[(usize, i64)],
    ops: &[(usize, Op)],
) -> Vec<RequestRecord> {
    let mut records: Vec<RequestRecord> = intakes
        .iter()
        .map(|(place, minute)| request(places[*place], base + Duration::minutes(*minute)))
        .collect();
    for (idx, op) in ops {
        let idx = idx % records.len();
        let other = records[(idx + 1) % records.len()].clone();
        apply(&mut records[idx], op, places, &other);
        records[idx].seq += 1;
    }
    records
}

/// Intakes (place index, minute after the case's base) and the changes applied after them
/// (request index, change).
type Case = (Vec<(usize, i64)>, Vec<(usize, Op)>);

fn intakes_and_ops() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec((0usize..4, 0i64..(5 * 24 * 60)), 1..8),
        prop::collection::vec((0usize..8, op()), 0..40),
    )
}

/// Each case in its own stretch of time, so the cases do not see each other.
fn case_base(case: &std::cell::Cell<i64>) -> DateTime<Utc> {
    let base = test_now() + Duration::days(40 * case.get());
    case.set(case.get() + 1);
    base
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn the_rollup_equals_a_recomputation_after_random_changes() {
    let runtime = current_thread();
    let (db, demo) = runtime.block_on(loaded());
    let store = db.store();
    let (places, scopes) = places_and_scopes(&demo);
    let case = std::cell::Cell::new(0i64);
    let mut runner = TestRunner::new(Config::with_cases(12));
    runner
        .run(&intakes_and_ops(), |(intakes, ops)| {
            let base = case_base(&case);
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
                    change_stored(&*store, &mut records, idx, op, &places).await;
                }
                check_against_recomputation(&*store, &records, &scopes, base).await
            })
        })
        .unwrap();
}

#[test]
fn a_bulk_load_rolls_up_like_a_recomputation() {
    let runtime = current_thread();
    let (db, demo) = runtime.block_on(loaded());
    let store = db.store();
    let (places, scopes) = places_and_scopes(&demo);
    let case = std::cell::Cell::new(0i64);
    let mut runner = TestRunner::new(Config::with_cases(8));
    runner
        .run(&intakes_and_ops(), |(intakes, ops)| {
            let base = case_base(&case);
            let records = records_after(&places, base, &intakes, &ops);
            runtime.block_on(async {
                // In two batches, so the second adds to counters the first wrote.
                let batch: Vec<_> = records
                    .iter()
                    .map(|r| (r.clone(), vec![received(r.received_at)]))
                    .collect();
                let (first, second) = batch.split_at(batch.len() / 2);
                store.insert_requests(first).await.unwrap();
                store.insert_requests(second).await.unwrap();
                check_against_recomputation(&*store, &records, &scopes, base).await
            })
        })
        .unwrap();
}

#[tokio::test]
async fn a_rebuild_restores_a_lost_or_damaged_rollup() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let (places, scopes) = places_and_scopes(&demo);
    let base = test_now();
    let intakes: Vec<(usize, i64)> = (0..24).map(|i| (i % 4, i as i64 * 311)).collect();
    let ops: Vec<(usize, Op)> = vec![
        (0, Op::Arrive(5)),
        (0, Op::Resolve(50)),
        (0, Op::Rate(5)),
        (1, Op::BreachArrive),
        (1, Op::Escalate),
        (2, Op::Whistle(1)),
        (2, Op::BreachWhistle),
        (3, Op::Merge),
        (5, Op::Resolve(700)),
        (6, Op::Close),
        (7, Op::Move(2)),
    ];
    let records = records_after(&places, base, &intakes, &ops);
    bulk_insert(&*store, &records).await;
    // What a database holds whose requests predate the rollup, or whose counters were
    // damaged: some lost, some wrong.
    let before = intake_day(base + Duration::days(2)).timestamp_millis();
    raw_sql(
        &db,
        &[
            &format!("DELETE FROM request_kpis WHERE metric = 'total' AND day < {before}"),
            "UPDATE request_kpis SET amount = amount + 3 WHERE metric = 'resolved'",
            "DELETE FROM request_kpis_hourly WHERE metric = 'rated'",
            "UPDATE request_kpis_hourly SET amount = amount + 2 WHERE metric = 'total'",
        ],
    )
    .await;
    let district = scopes[0].district().into();
    let (from, to) = periods(base)[4];
    let damaged = store
        .request_tallies(district, &scopes[0], from, to)
        .await
        .unwrap();
    assert_ne!(damaged, recompute(&records, &scopes[0], from, to));

    let n_read = store.rebuild_request_kpis(district).await.unwrap();
    assert_eq!(n_read, records.len() as u64);
    check_against_recomputation(&*store, &records, &scopes, base)
        .await
        .unwrap();
    // Rebuilding a sound rollup changes nothing.
    store.rebuild_request_kpis(district).await.unwrap();
    check_against_recomputation(&*store, &records, &scopes, base)
        .await
        .unwrap();
}

/// Requests every 16 hours for 100 days in every state, changed after they were stored:
/// periods of months with mid-day bounds, alone and with the period before them, and whole
/// calendar months, count what a recomputation counts (their whole months are read from the
/// monthly rollup), also after a damaged monthly rollup is rebuilt.
#[tokio::test]
async fn periods_over_months_equal_a_recomputation() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let (places, scopes) = places_and_scopes(&demo);
    let base = test_now();
    let intakes: Vec<(usize, i64)> = (0..150)
        .map(|i| (i as usize % 4, i * 16 * 60 + i % 7))
        .collect();
    let mut records = records_after(&places, base, &intakes, &[]);
    bulk_insert(&*store, &records).await;
    for idx in 0..records.len() {
        let minutes = (idx as i64 * 53) % 3_000;
        let ops = match idx % 5 {
            0 | 1 => vec![
                Op::Arrive(minutes % 30),
                Op::Resolve(minutes),
                Op::Rate(1 + (idx % 5) as u8),
            ],
            2 => vec![Op::BreachArrive, Op::Escalate],
            3 => vec![Op::Whistle(idx % 3), Op::BreachWhistle],
            _ => vec![Op::Close],
        };
        for op in ops {
            change_stored(&*store, &mut records, idx, &op, &places).await;
        }
    }
    let min = Duration::minutes(1);
    let long = (base + min * 317, base + Duration::days(99) + min * 120);
    let month = Grain::Month.start_at_or_after(base);
    let next = Grain::Month.end(month);
    let cases = [
        vec![long.0 - (long.1 - long.0), long.0, long.1],
        vec![month, next],
        vec![month - min * 130, next, Grain::Month.end(next) + min * 425],
    ];
    for bounds in &cases {
        check_periods(&*store, &records, &scopes, bounds)
            .await
            .unwrap();
    }
    raw_sql(
        &db,
        &["UPDATE request_kpis_monthly SET amount = amount + 5 WHERE metric = 'total'"],
    )
    .await;
    let district = scopes[0].district().into();
    let damaged = store
        .request_tallies(district, &scopes[0], month, next)
        .await
        .unwrap();
    assert_ne!(damaged, recompute(&records, &scopes[0], month, next));
    store.rebuild_request_kpis(district).await.unwrap();
    for bounds in &cases {
        check_periods(&*store, &records, &scopes, bounds)
            .await
            .unwrap();
    }
}

/// Requests every 7 minutes for two days, then a burst in the first 40 minutes of an hour,
/// in every state: a busy stretch where every cut day or hour has requests on both sides.
fn dense_records(places: &[NodePath], base: DateTime<Utc>) -> (Vec<RequestRecord>, i64) {
    let burst = 2 * 24 * 60 + 60;
    let mut intakes: Vec<(usize, i64)> = (0..2 * 24 * 60 / 7)
        .map(|i| (i as usize % 4, i * 7))
        .collect();
    intakes.extend((0..40).map(|i| (i as usize % 3, burst + i)));
    let mut ops = Vec::new();
    for idx in 0..intakes.len() {
        let minutes = (idx as i64 * 37) % 1_400;
        ops.push((idx, Op::Arrive(minutes % 30)));
        match idx % 7 {
            0..=2 => {
                ops.push((idx, Op::Resolve(minutes)));
                ops.push((idx, Op::Rate(1 + (idx % 5) as u8)));
            }
            3 => ops.push((idx, Op::BreachResolve)),
            4 => {
                ops.push((idx, Op::Whistle(idx % 3)));
                ops.push((idx, Op::BreachWhistle));
                ops.push((idx, Op::Escalate));
            }
            5 => ops.push((idx, Op::Merge)),
            _ => ops.push((idx, Op::Close)),
        }
    }
    (records_after(places, base, &intakes, &ops), burst)
}

/// Periods whose bounds fall mid-day and mid-hour, alone and with the period before them,
/// count what a recomputation counts, whichever way each cut day or hour is read: a busy
/// hour whose rest is empty (the hour's rollup less nothing), a quiet part of an hour (its
/// requests one by one), the rollup less both sides, and two periods meeting inside an hour.
#[tokio::test]
async fn mid_day_and_mid_hour_periods_equal_a_recomputation() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let (places, scopes) = places_and_scopes(&demo);
    let base = test_now();
    let (records, burst) = dense_records(&places, base);
    bulk_insert(&*store, &records).await;
    let at = |minute: i64| base + Duration::minutes(minute);
    let up_to_now = at(burst + 45);
    let cases: Vec<Vec<DateTime<Utc>>> = vec![
        vec![at(-3 * 60 + 17), at(20 * 60 + 41), at(45 * 60 + 13)],
        vec![
            up_to_now - Duration::days(2),
            up_to_now - Duration::days(1),
            up_to_now,
        ],
        vec![at(burst + 10), at(burst + 20)],
        vec![at(burst + 5), at(burst + 39)],
        vec![
            at(burst - 30),
            at(burst + 5),
            at(burst + 25),
            at(burst + 45),
        ],
        vec![at(7 * 60 + 3), at(7 * 60 + 3), at(31 * 60 + 59)],
    ];
    for bounds in &cases {
        check_periods(&*store, &records, &scopes, bounds)
            .await
            .unwrap();
    }
}

/// A database whose requests predate the hourly rollup (migration 0014 marks it), the
/// handling-time buckets (0015) or the monthly rollup (0016) gets its rollup rebuilt when
/// the store next opens, once.
#[tokio::test]
async fn opening_a_marked_database_rebuilds_its_rollup_once() {
    let (db, demo) = loaded().await;
    let (places, scopes) = places_and_scopes(&demo);
    let base = test_now();
    let (records, burst) = dense_records(&places, base);
    bulk_insert(&*db.store(), &records).await;
    let at = |minute: i64| base + Duration::minutes(minute);
    let mid_day = [at(5 * 60 + 31), at(burst + 17)];
    let month = Grain::Month.start(base);
    let months = [month, Grain::Month.end(Grain::Month.end(month))];
    for mark in [
        "request_kpis_hourly_pending",
        "request_kpis_rebuild_pending",
    ] {
        let mark = format!("INSERT INTO meta (key, value) VALUES ('{mark}', '1')");
        let store = reopen_after(
            &db,
            &[
                "DELETE FROM request_kpis_hourly",
                "DELETE FROM request_kpis_monthly",
                &mark,
            ],
        )
        .await;
        for period in [&mid_day, &months] {
            check_periods(&*store, &records, &scopes, period)
                .await
                .unwrap();
        }
    }
    // Once: the marks went with the rebuild.
    let reopened = reopen_after(
        &db,
        &["DELETE FROM request_kpis_hourly WHERE metric = 'total'"],
    )
    .await;
    let district = scopes[0].district().into();
    let tallies = reopened
        .request_tallies(district, &scopes[0], mid_day[0], mid_day[1])
        .await
        .unwrap();
    assert!(tallies.total < recompute(&records, &scopes[0], mid_day[0], mid_day[1]).total);
}

/// Runs `statements` on the test database behind the store's back, then opens the store
/// anew.
async fn reopen_after(
    db: &mulin_storage_tests::TestDb,
    statements: &[&str],
) -> std::sync::Arc<dyn Storage> {
    raw_sql(db, statements).await;
    db.reopen(mulin_storage_tests::test_id_keys(&[1]))
        .await
        .unwrap()
}

/// Applies `op` to request `idx` in the store and in `records`, as a handler's change would.
async fn change_stored(
    store: &dyn Storage,
    records: &mut [RequestRecord],
    idx: usize,
    op: &Op,
    places: &[NodePath],
) {
    let before = records[idx].clone();
    let other = records[(idx + 1) % records.len()].clone();
    let mut next = before.clone();
    apply(&mut next, op, places, &other);
    next.seq += 1;
    store
        .update_request(&before, &next, &[], &[])
        .await
        .unwrap();
    records[idx] = next;
}

/// Bulk-loads `records`, each with its intake event.
async fn bulk_insert(store: &dyn Storage, records: &[RequestRecord]) {
    let batch: Vec<_> = records
        .iter()
        .map(|r| (r.clone(), vec![received(r.received_at)]))
        .collect();
    store.insert_requests(&batch).await.unwrap();
}

/// Runs `statements` on the test database behind the store's back.
async fn raw_sql(db: &mulin_storage_tests::TestDb, statements: &[&str]) {
    mulin_storage_sql::install_drivers();
    let pool = sqlx::AnyPool::connect(db.url()).await.unwrap();
    for statement in statements {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
}
