//! The request store on both backends: a request reads back as written, changes are
//! compare-and-set, lists are scoped, the scheduler's poll is ordered, tallies add up.

use chrono::{DateTime, Duration, Utc};
use mulin_domain::deadline::{EscalationLevel, Severity};
use mulin_domain::ids::{NotificationId, RequestId, UserId};
use mulin_domain::org::Department;
use mulin_domain::person::Phone;
use mulin_domain::request::{Channel, EventKind, Rating, RequestState, RequestStatus};
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_storage::{
    LonLat, NotificationRecord, RequestEvent, RequestFilter, RequestOrder, RequestRecord,
    StoreError,
};
use mulin_storage_tests::test_now;

use crate::loaded;

pub(crate) fn request(place: NodePath, received_at: DateTime<Utc>) -> RequestRecord {
    RequestRecord {
        id: RequestId::new_v7(),
        district: place.district().into(),
        place,
        address: Some("阳光小区3号楼".into()),
        position: Some(LonLat {
            lon: 113.1,
            lat: 40.2,
        }),
        service_code: "sanitation".into(),
        severity: Severity::Ordinary,
        channel: Channel::Web,
        state: RequestState {
            status: RequestStatus::Dispatched,
            level: EscalationLevel::Grid,
            whistle_open: false,
            whistle_acknowledged: false,
            extension_pending: None,
            major: None,
            admission_pending: false,
        },
        title: "楼道堆放杂物".into(),
        description: "三单元楼道堆满杂物，影响通行".into(),
        reporter_name: Some("王女士".into()),
        reporter_phone: Some(Phone::parse("13800138000").unwrap()),
        submitted_by: Some(UserId::new_v7()),
        received_at,
        arrive_due: received_at + Duration::minutes(10),
        resolve_due: received_at + Duration::minutes(30),
        arrived_at: None,
        resolved_at: None,
        closed_at: None,
        rating: None,
        arrive_breached: false,
        resolve_breached: false,
        whistle_department: None,
        whistle_liaison: None,
        whistle_due: None,
        whistle_breached: false,
        external_ref: None,
        merged_into: None,
        seq: 1,
        updated_at: received_at,
    }
}

pub(crate) fn received(at: DateTime<Utc>) -> RequestEvent {
    RequestEvent {
        seq: 1,
        at,
        kind: EventKind::Received,
        actor: None,
        actor_name: "test".into(),
        note: String::new(),
        data: vec![("channel".into(), "web".into())],
    }
}

fn filter() -> RequestFilter {
    RequestFilter {
        open_only: false,
        status: None,
        submitted_by: None,
        whistle_liaison: None,
        order: RequestOrder::Deadline,
        page: 1,
        per_page: 200,
    }
}

#[tokio::test]
async fn requests_read_back_change_by_compare_and_set_and_stay_in_scope() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let buildings: Vec<_> = demo
        .dataset
        .nodes
        .iter()
        .filter(|n| n.path.kind() == NodeKind::Building)
        .collect();
    let here = buildings[0].path;
    let elsewhere = buildings
        .iter()
        .find(|b| b.path.at(NodeKind::Grid) != here.at(NodeKind::Grid))
        .unwrap()
        .path;
    let district = here.district().into();
    let t0 = test_now();

    let mut r = request(here, t0);
    let user = UserId::new_v7();
    let note = NotificationRecord {
        id: NotificationId::new_v7(),
        district,
        user,
        at: t0,
        kind: "dispatched".into(),
        request: r.id,
        text: r.title.clone(),
        read: false,
    };
    store
        .insert_request(&r, &[received(t0)], std::slice::from_ref(&note))
        .await
        .unwrap();
    assert_eq!(store.request(district, r.id).await.unwrap(), r);
    assert_eq!(
        store.request_events(district, r.id).await.unwrap(),
        vec![received(t0)]
    );
    assert_eq!(
        store.notifications(user, true, 10).await.unwrap(),
        vec![note]
    );
    store.mark_notifications_read(user).await.unwrap();
    assert!(store
        .notifications(user, true, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.notifications(user, false, 10).await.unwrap().len(), 1);

    // A change lands only on the version it was made from.
    let before = r.clone();
    r.state.status = RequestStatus::Whistled;
    r.state.whistle_open = true;
    r.whistle_department = Some(Department::Water);
    r.whistle_liaison = Some(user);
    r.whistle_due = Some(t0 + Duration::minutes(30));
    r.arrived_at = Some(t0 + Duration::minutes(5));
    r.rating = Some(Rating::new(4).unwrap());
    r.seq = 2;
    let whistled = RequestEvent {
        seq: 2,
        kind: EventKind::Whistled,
        ..received(t0 + Duration::minutes(6))
    };
    store
        .update_request(&before, &r, std::slice::from_ref(&whistled), &[])
        .await
        .unwrap();
    assert_eq!(store.request(district, r.id).await.unwrap(), r);
    let stale = store
        .update_request(&before, &before, std::slice::from_ref(&whistled), &[])
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    assert_eq!(store.request_events(district, r.id).await.unwrap().len(), 2);

    // Scoped lists: the grid sees it, another grid does not; the liaison's inbox has it.
    let other = request(elsewhere, t0 + Duration::minutes(1));
    store
        .insert_request(&other, &[received(other.received_at)], &[])
        .await
        .unwrap();
    let grid = NodePath::from_levels(NodeKind::Grid, {
        let mut ids = here.levels();
        for id in ids.iter_mut().skip(4) {
            *id = None;
        }
        ids
    })
    .unwrap();
    let mine = store
        .search_requests(district, &[grid], &filter())
        .await
        .unwrap();
    assert_eq!(
        mine.items.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![r.id]
    );
    assert!(store
        .search_requests(district, &[], &filter())
        .await
        .unwrap()
        .items
        .is_empty());
    let inbox = RequestFilter {
        whistle_liaison: Some(user),
        ..filter()
    };
    assert_eq!(
        store
            .search_requests(district, &[], &inbox)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let district_path = NodePath::root(here.district());
    let open = RequestFilter {
        open_only: true,
        order: RequestOrder::Newest,
        ..filter()
    };
    let all = store
        .search_requests(district, &[district_path], &open)
        .await
        .unwrap();
    assert_eq!(
        all.items.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![other.id, r.id]
    );

    // The scheduler's poll: only what is owed by then, earliest first.
    assert!(store.due_requests(t0, 10).await.unwrap().is_empty());
    let due = store
        .due_requests(t0 + Duration::minutes(11), 10)
        .await
        .unwrap();
    // `r` arrived, so it owes its whistle (t0+30) and resolve (t0+30) only; `other` owes
    // its arrival at t0+11.
    assert_eq!(due.iter().map(|x| x.id).collect::<Vec<_>>(), vec![other.id]);
    let later = store
        .due_requests(t0 + Duration::hours(1), 10)
        .await
        .unwrap();
    assert_eq!(later.len(), 2);
}

#[tokio::test]
async fn tallies_count_what_happened_in_the_period() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let building = demo
        .dataset
        .nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Building)
        .unwrap()
        .path;
    let district = building.district().into();
    let t0 = test_now();
    // Four requests: handled in 20, 40 and 60 minutes (the first two on site in time), one
    // still open and past its deadlines; ratings 5, 2 and none.
    let mut records = Vec::new();
    for (i, handled) in [Some(20), Some(40), Some(60), None].into_iter().enumerate() {
        let mut r = request(building, t0 + Duration::minutes(i as i64));
        if let Some(minutes) = handled {
            r.arrived_at = Some(r.received_at + Duration::minutes(if i < 2 { 5 } else { 15 }));
            r.resolved_at = Some(r.received_at + Duration::minutes(minutes));
            r.state.status = RequestStatus::Solved;
        } else {
            r.arrive_breached = true;
            r.resolve_breached = true;
            r.state.level = EscalationLevel::Community;
        }
        r.rating = match i {
            0 => Some(Rating::new(5).unwrap()),
            1 => Some(Rating::new(2).unwrap()),
            _ => None,
        };
        store
            .insert_request(&r, &[received(r.received_at)], &[])
            .await
            .unwrap();
        records.push(r);
    }
    let community = NodePath::from_levels(NodeKind::Community, {
        let mut ids = building.levels();
        for id in ids.iter_mut().skip(3) {
            *id = None;
        }
        ids
    })
    .unwrap();
    let t = store
        .request_tallies(district, &community, t0, t0 + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(t.total, 4);
    assert_eq!(t.arrive_decided, 4);
    assert_eq!(t.arrived_on_time, 2);
    assert_eq!(t.resolve_decided, 4);
    assert_eq!(t.resolved_on_time, 1);
    assert_eq!(t.resolved, 3);
    assert_eq!(t.rated, 2);
    assert_eq!(t.satisfied, 1);
    assert!((t.handling_minutes_sum - 120.0).abs() < 1e-9);
    assert_eq!(t.handling_minutes_median, Some(40.0));
    assert_eq!(t.breaches, 2);
    assert_eq!(t.breaches_by_level, vec![(EscalationLevel::Community, 2)]);
    // Another period, or a place elsewhere, counts nothing.
    let empty = store
        .request_tallies(district, &community, t0 - Duration::hours(1), t0)
        .await
        .unwrap();
    assert_eq!(empty.total, 0);
    assert_eq!(empty.handling_minutes_median, None);
    // Users granted at a node, for notifications.
    let grid = building.at(NodeKind::Grid).unwrap();
    let granted = store.users_granted_at(district, grid).await.unwrap();
    assert_eq!(granted.len(), 1, "the grid worker of the first grid");
}

#[tokio::test]
async fn a_batch_of_changes_writes_all_but_the_stale_ones_in_one_go() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let building = demo
        .dataset
        .nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Building)
        .unwrap()
        .path;
    let district = building.district().into();
    let t0 = test_now();
    let mut changes = Vec::new();
    for i in 0..3 {
        let r = request(building, t0 + Duration::minutes(i));
        store
            .insert_request(&r, &[received(r.received_at)], &[])
            .await
            .unwrap();
        let mut next = r.clone();
        next.arrive_breached = true;
        next.state.level = EscalationLevel::Compound;
        next.seq = 2;
        let breached = RequestEvent {
            seq: 2,
            kind: EventKind::Breached,
            ..received(t0 + Duration::minutes(11))
        };
        let note = NotificationRecord {
            id: NotificationId::new_v7(),
            district,
            user: UserId::new_v7(),
            at: t0 + Duration::minutes(11),
            kind: "breached".into(),
            request: r.id,
            text: r.title.clone(),
            read: false,
        };
        changes.push(mulin_storage::RequestChange {
            previous: r,
            request: next,
            events: vec![breached],
            notifications: vec![note],
        });
    }
    // The second was changed by someone else after the scheduler read it.
    let mut moved = changes[1].previous.clone();
    moved.seq = 2;
    moved.arrived_at = Some(t0 + Duration::minutes(5));
    store
        .update_request(&changes[1].previous, &moved, &[], &[])
        .await
        .unwrap();
    let written = store.update_requests(&changes).await.unwrap();
    assert_eq!(written, vec![true, false, true]);
    for (change, done) in changes.iter().zip(&written) {
        let stored = store.request(district, change.request.id).await.unwrap();
        let events = store
            .request_events(district, change.request.id)
            .await
            .unwrap();
        let notes = store
            .notifications(change.notifications[0].user, false, 10)
            .await
            .unwrap();
        if *done {
            assert_eq!(stored, change.request);
            assert_eq!(events.len(), 2);
            assert_eq!(notes.len(), 1);
        } else {
            assert_eq!(stored, moved);
            assert_eq!(events.len(), 1);
            assert!(notes.is_empty());
        }
    }
    // The rollup followed exactly the written changes.
    let t = store
        .request_tallies(
            district,
            &building,
            t0 - Duration::days(3),
            t0 + Duration::days(3),
        )
        .await
        .unwrap();
    assert_eq!(t.total, 3);
    assert_eq!(t.breaches_by_level, vec![(EscalationLevel::Compound, 2)]);
    assert_eq!(t.arrive_decided, 3);
    assert!(store.update_requests(&[]).await.unwrap().is_empty());

    // A bulk load lands whole, with its events, and the rollup counts it.
    let later = t0 + Duration::days(10);
    let bulk: Vec<_> = (0..40)
        .map(|i| {
            let r = request(building, later + Duration::minutes(i));
            let first = received(r.received_at);
            (r, vec![first])
        })
        .collect();
    store.insert_requests(&bulk).await.unwrap();
    let (last, _) = bulk.last().unwrap();
    assert_eq!(store.request(district, last.id).await.unwrap(), *last);
    assert_eq!(
        store.request_events(district, last.id).await.unwrap().len(),
        1
    );
    let district_path = NodePath::from_levels(NodeKind::District, {
        let mut ids = building.levels();
        for id in ids.iter_mut().skip(1) {
            *id = None;
        }
        ids
    })
    .unwrap();
    let t = store
        .request_tallies(
            district,
            &district_path,
            later - Duration::days(2),
            later + Duration::days(2),
        )
        .await
        .unwrap();
    assert_eq!(t.total, 40);
}
