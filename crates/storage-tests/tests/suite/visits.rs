//! Visits and moves on both backends: a visit lands with its households, record updates
//! and audit records together or not at all; lists are scoped; coverage counts households
//! not visited since a day; a resident's moves read back in order and collide on `seq`.

use chrono::{Duration, NaiveDate};
use mulin_domain::ids::{RequestId, UserId};
use mulin_domain::movement::Direction;
use mulin_domain::person::{Phone, ResidenceStatus, SpecialGroup, SpecialGroups};
use mulin_domain::tree::NodeKind;
use mulin_domain::visit::VisitKind;
use mulin_storage::{
    AuditEntry, MovementRecord, ResidentRecord, ResidentUpdate, StoreError, VisitFilter,
    VisitRecord,
};
use mulin_storage_tests::test_now;

use crate::loaded;

fn audit(district: mulin_domain::ids::DistrictId, action: &str) -> AuditEntry {
    AuditEntry {
        id: uuid::Uuid::now_v7(),
        district,
        at: test_now(),
        user_id: None,
        username: "wangge01".into(),
        action: action.into(),
        target_kind: "visit".into(),
        target_id: String::new(),
        ip: None,
        detail: String::new(),
    }
}

fn filter(visitor: Option<UserId>) -> VisitFilter {
    VisitFilter {
        visitor,
        page: 1,
        per_page: 50,
    }
}

#[tokio::test]
async fn a_visit_lands_whole_and_coverage_counts_what_it_missed() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let district = demo.dataset.nodes[0].path.id().into();
    let resident: &ResidentRecord = &demo.dataset.residents[0];
    let grid = demo
        .dataset
        .nodes
        .iter()
        .find(|n| {
            n.path.kind() == NodeKind::Grid
                && resident.household.is_within(NodeKind::Grid, n.path.id())
        })
        .unwrap()
        .path;
    let other_grid = demo
        .dataset
        .nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Grid && n.path != grid)
        .unwrap()
        .path;
    let households_in_grid = demo
        .dataset
        .nodes
        .iter()
        .filter(|n| {
            n.path.kind() == NodeKind::Household && n.path.is_within(NodeKind::Grid, grid.id())
        })
        .count() as i64;
    let visitor = UserId::new_v7();
    let visit = VisitRecord {
        id: uuid::Uuid::now_v7(),
        district,
        grid,
        kind: VisitKind::HomeVisit,
        visited_at: test_now(),
        minutes: 45,
        visitor,
        visitor_name: "王网格".into(),
        findings: "楼道堆物".into(),
        position: None,
        request: None,
        households: vec![resident.household.id()],
    };
    let update = ResidentUpdate {
        resident: resident.id,
        household: resident.household.id(),
        phone: Some(Phone::parse("13912345678").unwrap()),
        status: Some(ResidenceStatus::Floating),
        groups: Some(SpecialGroups::from_tags([SpecialGroup::LivingAlone])),
    };

    // An update of someone who does not live there writes nothing, the visit included.
    let wrong = ResidentUpdate {
        household: other_grid.id(),
        ..update.clone()
    };
    assert!(matches!(
        store
            .insert_visit(&visit, &[wrong], &[audit(district, "visit.create")])
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.visit(district, visit.id).await,
        Err(StoreError::NotFound)
    ));

    store
        .insert_visit(&visit, &[update], &[audit(district, "visit.create")])
        .await
        .unwrap();
    assert_eq!(store.visit(district, visit.id).await.unwrap(), visit);
    let changed = store.resident(district, resident.id).await.unwrap();
    assert_eq!(changed.phone.unwrap().expose(), "13912345678");
    assert_eq!(changed.status, ResidenceStatus::Floating);
    assert_eq!(
        changed.groups,
        SpecialGroups::from_tags([SpecialGroup::LivingAlone])
    );
    assert_eq!(changed.id_number, resident.id_number);

    // Scoped lists: the grid and the district see it, another grid does not, nor an
    // empty scope list; the visitor filter narrows.
    let page = store
        .search_visits(district, &[grid], &filter(None))
        .await
        .unwrap();
    assert_eq!(page.items, vec![visit.clone()]);
    let root = demo.dataset.nodes[0].path;
    assert_eq!(
        store
            .search_visits(district, &[root], &filter(Some(visitor)))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert!(store
        .search_visits(district, &[root], &filter(Some(UserId::new_v7())))
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(store
        .search_visits(district, &[other_grid], &filter(None))
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(store
        .search_visits(district, &[], &filter(None))
        .await
        .unwrap()
        .items
        .is_empty());

    // Coverage: one household visited since yesterday, none since tomorrow.
    let coverage = store
        .visit_coverage(district, &grid, test_now() - Duration::days(1))
        .await
        .unwrap();
    assert_eq!(coverage.len(), 1);
    assert_eq!(coverage[0].grid, grid.id());
    assert_eq!(coverage[0].households, households_in_grid);
    assert_eq!(coverage[0].not_visited, households_in_grid - 1);
    assert_eq!((coverage[0].visits, coverage[0].visit_minutes), (1, 45));
    let later = store
        .visit_coverage(district, &grid, test_now() + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(
        (later[0].not_visited, later[0].visits),
        (households_in_grid, 0)
    );
    let unvisited = store
        .unvisited_households(district, &grid, test_now() - Duration::days(1), 1_000)
        .await
        .unwrap();
    assert_eq!(unvisited.len() as i64, households_in_grid - 1);
    assert!(unvisited
        .iter()
        .all(|h| h.path.id() != resident.household.id()));

    // A finding becomes a request once.
    let request = RequestId::new_v7();
    store
        .link_visit_request(
            district,
            visit.id,
            request,
            &audit(district, "visit.request"),
        )
        .await
        .unwrap();
    assert_eq!(
        store.visit(district, visit.id).await.unwrap().request,
        Some(request)
    );
    assert!(matches!(
        store
            .link_visit_request(
                district,
                visit.id,
                RequestId::new_v7(),
                &audit(district, "visit.request")
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
}

#[tokio::test]
async fn moves_read_back_in_order_and_collide_on_seq() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let district = demo.dataset.nodes[0].path.id().into();
    let resident = &demo.dataset.residents[3];
    let day = |d| NaiveDate::from_ymd_opt(2026, 1, d).unwrap();
    let movement = |seq: i64, direction, on| MovementRecord {
        id: uuid::Uuid::now_v7(),
        district,
        resident: resident.id,
        resident_name: resident.name.as_ref().to_owned(),
        seq,
        household: resident.household,
        direction,
        on,
        reason: "务工".into(),
        recorded_by: UserId::new_v7(),
        recorded_at: test_now(),
    };
    let moves = [
        movement(1, Direction::In, day(2)),
        movement(2, Direction::Out, day(10)),
        movement(3, Direction::In, day(20)),
    ];
    for m in &moves {
        store
            .insert_movement(m, &audit(district, "movement.create"))
            .await
            .unwrap();
    }
    assert_eq!(store.movements(district, resident.id).await.unwrap(), moves);
    assert!(matches!(
        store
            .insert_movement(
                &movement(3, Direction::Out, day(25)),
                &audit(district, "movement.create")
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    let grid = resident.household.at(NodeKind::Grid).unwrap();
    let grid_path = demo
        .dataset
        .nodes
        .iter()
        .find(|n| n.path.id() == grid)
        .unwrap()
        .path;
    let until_10 = store
        .movements_under(district, &[grid_path], day(10))
        .await
        .unwrap();
    assert_eq!(until_10, moves[..2]);
    let household_scope = resident.household;
    assert!(store
        .movements_under(district, &[household_scope], day(31))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn health_records_replace_and_sickbed_visits_move_forward_only() {
    use mulin_domain::care::Schedule;
    use mulin_storage::{HealthRecord, SickbedRecord, SickbedVisit};

    let (db, demo) = loaded().await;
    let store = db.store();
    let district = demo.dataset.nodes[0].path.id().into();
    let resident = &demo.dataset.residents[5];
    let grid_id = resident.household.at(NodeKind::Grid).unwrap();
    let grid = demo
        .dataset
        .nodes
        .iter()
        .find(|n| n.path.id() == grid_id)
        .unwrap()
        .path;
    let mut record = HealthRecord {
        district,
        resident: resident.id,
        household: resident.household.id(),
        grid,
        conditions: "高血压".into(),
        care_team: "社区卫生服务站一组".into(),
        notes: String::new(),
        updated_at: test_now(),
        updated_by: UserId::new_v7(),
    };
    assert!(matches!(
        store.health_record(district, resident.id).await,
        Err(StoreError::NotFound)
    ));
    store
        .put_health_record(&record, &audit(district, "health.update"))
        .await
        .unwrap();
    record.conditions = "高血压、糖尿病".into();
    store
        .put_health_record(&record, &audit(district, "health.update"))
        .await
        .unwrap();
    assert_eq!(
        store.health_record(district, resident.id).await.unwrap(),
        record
    );

    let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
    let sickbed = SickbedRecord {
        id: uuid::Uuid::now_v7(),
        district,
        resident: resident.id,
        resident_name: resident.name.as_ref().to_owned(),
        household: resident.household.id(),
        grid,
        care_team: "家庭医生团队A".into(),
        schedule: Schedule::new(7, day(1)).unwrap(),
        last_visit_on: None,
        created_at: test_now(),
    };
    store
        .insert_sickbed(&sickbed, &audit(district, "sickbed.create"))
        .await
        .unwrap();
    assert_eq!(store.sickbed(district, sickbed.id).await.unwrap(), sickbed);
    let visit = |on| SickbedVisit {
        id: uuid::Uuid::now_v7(),
        district,
        sickbed: sickbed.id,
        on,
        note: "测血压".into(),
        recorded_by: UserId::new_v7(),
        recorded_at: test_now(),
    };
    store
        .insert_sickbed_visit(&visit(day(10)), &audit(district, "sickbed.visit"))
        .await
        .unwrap();
    // A late entry for an earlier day does not move the last visit back.
    store
        .insert_sickbed_visit(&visit(day(3)), &audit(district, "sickbed.visit"))
        .await
        .unwrap();
    assert_eq!(
        store
            .sickbed(district, sickbed.id)
            .await
            .unwrap()
            .last_visit_on,
        Some(day(10))
    );
    assert_eq!(
        store.sickbeds_under(district, &[grid]).await.unwrap().len(),
        1
    );
    let other_grid = demo
        .dataset
        .nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Grid && n.path != grid)
        .unwrap()
        .path;
    assert!(store
        .sickbeds_under(district, &[other_grid])
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .sickbeds_under(district, &[])
        .await
        .unwrap()
        .is_empty());

    // Special groups: 65+ derived from the birth date, the others by tag, within scope.
    let today = mulin_storage_tests::test_today();
    let in_grid: Vec<_> = demo
        .dataset
        .residents
        .iter()
        .filter(|r| r.household.is_within(NodeKind::Grid, grid.id()))
        .collect();
    for group in [
        SpecialGroup::Elderly,
        SpecialGroup::Dibao,
        SpecialGroup::LivingAlone,
    ] {
        let expected = in_grid
            .iter()
            .filter(|r| r.groups.with_derived(r.birth_date, today).contains(&group))
            .count();
        let found = store
            .special_group_members(district, &[grid], group, today, 1, 200)
            .await
            .unwrap();
        assert_eq!(found.items.len(), expected, "{group}");
        assert!(found
            .items
            .windows(2)
            .all(|w| w[0].name.as_ref() <= w[1].name.as_ref()));
    }
    assert!(store
        .special_group_members(district, &[], SpecialGroup::Elderly, today, 1, 200)
        .await
        .unwrap()
        .items
        .is_empty());
}
