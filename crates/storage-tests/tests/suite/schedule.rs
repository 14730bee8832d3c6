//! Duty lists and work calendars on both backends, and the request fields of major steps
//! and admission (migration 0008).

use chrono::{Duration, NaiveDate};
use mulin_domain::request::MajorStage;
use mulin_domain::tree::NodeKind;
use mulin_storage::CalendarYearRecord;
use mulin_storage_tests::test_now;

use crate::loaded;
use crate::requests::{received, request};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[tokio::test]
async fn duty_lists_are_per_community_and_replaced_whole() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let communities: Vec<_> = demo
        .dataset
        .nodes
        .iter()
        .filter(|n| n.path.kind() == NodeKind::Community)
        .collect();
    let district = communities[0].path.district().into();
    let (one, two) = (communities[0].path.id(), communities[1].path.id());
    assert_eq!(store.duty_list(district, one).await.unwrap(), None);
    let codes = vec!["sanitation".to_owned(), "noise".to_owned()];
    store
        .set_duty_list(district, one, &codes, test_now())
        .await
        .unwrap();
    assert_eq!(store.duty_list(district, one).await.unwrap(), Some(codes));
    assert_eq!(store.duty_list(district, two).await.unwrap(), None);
    store
        .set_duty_list(district, one, &[], test_now())
        .await
        .unwrap();
    assert_eq!(
        store.duty_list(district, one).await.unwrap(),
        Some(Vec::new()),
        "an empty list admits nothing, unlike no list"
    );
}

#[tokio::test]
async fn calendar_years_are_per_district_and_replaced_whole() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let district = demo.dataset.nodes[0].path.id().into();
    assert!(store.calendar_years(district).await.unwrap().is_empty());
    let y2027 = CalendarYearRecord {
        year: 2027,
        holidays: vec![date(2027, 1, 1), date(2027, 2, 5)],
        make_up_days: vec![date(2027, 2, 7)],
        updated_at: test_now(),
    };
    let y2026 = CalendarYearRecord {
        year: 2026,
        holidays: vec![date(2026, 11, 25)],
        make_up_days: Vec::new(),
        updated_at: test_now(),
    };
    store.set_calendar_year(district, &y2027).await.unwrap();
    store.set_calendar_year(district, &y2026).await.unwrap();
    assert_eq!(
        store.calendar_years(district).await.unwrap(),
        [y2026.clone(), y2027.clone()],
        "in year order"
    );
    let replaced = CalendarYearRecord {
        holidays: vec![date(2027, 1, 1)],
        make_up_days: Vec::new(),
        updated_at: test_now() + Duration::minutes(1),
        ..y2027
    };
    store.set_calendar_year(district, &replaced).await.unwrap();
    assert_eq!(
        store.calendar_years(district).await.unwrap(),
        [y2026, replaced]
    );
    let other = mulin_domain::ids::DistrictId::new_v7();
    assert!(store.calendar_years(other).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_requests_major_step_and_admission_read_back() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let building = demo
        .dataset
        .nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Building)
        .unwrap()
        .path;
    let mut r = request(building, test_now());
    r.state.major = Some(MajorStage::NotStarted);
    r.state.admission_pending = true;
    store
        .insert_request(&r, &[received(test_now())], &[])
        .await
        .unwrap();
    let back = store.request(r.district, r.id).await.unwrap();
    assert_eq!(back.state, r.state);
    let mut next = back.clone();
    next.state.major = Some(MajorStage::Met);
    next.state.admission_pending = false;
    next.seq += 1;
    let mut event = received(test_now());
    event.seq = next.seq;
    store
        .update_request(&back, &next, &[event], &[])
        .await
        .unwrap();
    assert_eq!(
        store.request(r.district, r.id).await.unwrap().state,
        next.state
    );
}
