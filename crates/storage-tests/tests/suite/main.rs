//! The storage conformance story, run against the backend `TEST_DATABASE_URL` names
//! (SQLite when unset). `scripts/test.sh` runs it on both. Every `Storage` method is
//! touched here.

// Test code: a failed step should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;

use chrono::Duration;
use mulin_domain::ids::{NodeId, ResidentId, UserId};
use mulin_domain::org::{FieldDef, FieldEntity, FieldType, PostKind};
use mulin_domain::person::{Gender, PersonName, Relation, ResidenceStatus, SpecialGroups};
use mulin_domain::policy::{Action, Principal, Role};
use mulin_domain::tree::NodeKind;
use mulin_storage::{
    AuditEntry, Dataset, Place, ResidentQuery, ResidentRecord, SessionKind, SessionRecord,
    StoreError, UserRecord,
};
use mulin_storage_tests::audit_page;
use mulin_storage_tests::{small_demo, test_now, test_today, TestDb};

mod audit;
mod floating_import;
mod geo;
mod id_keys;
mod intake;
mod kpi;
mod ledger;
mod map;
mod open311;
mod outbox;
mod redivision;
mod reps;
mod requests;
mod schedule;
mod visits;

async fn loaded() -> (TestDb, mulin_demo::Demo) {
    let db = TestDb::new().await.unwrap();
    let demo = small_demo(400, "hash");
    db.store().load(&demo.dataset).await.unwrap();
    (db, demo)
}

fn query(q: &str) -> ResidentQuery {
    ResidentQuery {
        q: q.into(),
        page: 1,
        per_page: 200,
    }
}

#[tokio::test]
async fn the_tree_reads_back_as_written() {
    let (db, demo) = loaded().await;
    let store = db.store();
    assert!(!store.is_empty().await.unwrap());
    let districts = store.districts().await.unwrap();
    assert_eq!(districts.len(), 1);
    let district = districts[0].path;
    let district_id = district.id().into();
    assert_eq!(districts[0], demo.dataset.nodes[0]);

    let streets = store.children(district_id, district.id()).await.unwrap();
    assert_eq!(streets.len(), 1);
    let communities = store
        .children(district_id, streets[0].path.id())
        .await
        .unwrap();
    assert_eq!(communities.len(), 5);
    assert!(communities
        .windows(2)
        .all(|w| w[0].sort_key < w[1].sort_key));

    // A whole subtree, and one node, read back unchanged.
    let grid = demo
        .dataset
        .nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Grid)
        .unwrap();
    let subtree = store
        .subtree(district_id, &grid.path, NodeKind::Household)
        .await
        .unwrap();
    let expected: Vec<_> = demo
        .dataset
        .nodes
        .iter()
        .filter(|n| n.path.is_within(NodeKind::Grid, grid.path.id()))
        .collect();
    assert_eq!(subtree.len(), expected.len());
    assert_eq!(subtree[0], *grid);
    let household = expected
        .iter()
        .find(|n| n.path.kind() == NodeKind::Household)
        .unwrap();
    assert_eq!(
        store.node(district_id, household.path.id()).await.unwrap(),
        **household
    );
    let only_buildings = store
        .subtree(district_id, &grid.path, NodeKind::Building)
        .await
        .unwrap();
    assert!(only_buildings
        .iter()
        .all(|n| n.path.kind() <= NodeKind::Building));

    assert!(matches!(
        store.node(district_id, NodeId::new_v7()).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn counts_agree_with_the_dataset() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let today = test_today();
    let district = demo.dataset.nodes[0].path;
    let district_id = district.id().into();
    let total = store.counts(district_id, &district, today).await.unwrap();
    assert_eq!(total.households as usize, 400);
    assert_eq!(total.residents as usize, demo.dataset.residents.len());
    let elderly = demo
        .dataset
        .residents
        .iter()
        .filter(|r| mulin_domain::person::age_on(r.birth_date.unwrap(), today) >= 65)
        .count();
    assert_eq!(total.elderly as usize, elderly);
    let special = demo
        .dataset
        .residents
        .iter()
        .filter(|r| !r.groups.with_derived(r.birth_date, today).is_empty())
        .count();
    assert_eq!(total.special_groups as usize, special);

    // The children's counts add up to the parent's, at every level down to a household.
    let mut node = district;
    while node.kind() < NodeKind::Household {
        let parent_counts = store.counts(district_id, &node, today).await.unwrap();
        let children = store.child_counts(district_id, &node, today).await.unwrap();
        assert_eq!(
            children.iter().map(|(_, c)| c.residents).sum::<i64>(),
            parent_counts.residents
        );
        assert_eq!(
            children.iter().map(|(_, c)| c.households).sum::<i64>(),
            parent_counts.households
        );
        let first_child = store
            .children(district_id, node.id())
            .await
            .unwrap()
            .remove(0);
        node = first_child.path;
    }
    assert!(store
        .child_counts(district_id, &node, today)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn residents_are_found_by_name_address_and_id_tail_inside_scopes_only() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let district = demo.dataset.nodes[0].path;
    let district_id = district.id().into();
    let sample = &demo.dataset.residents[17];
    let grid = sample.household.at(NodeKind::Grid).unwrap();
    let grid_path = demo
        .dataset
        .nodes
        .iter()
        .find(|n| n.path.id() == grid)
        .unwrap()
        .path;

    let by_id = store.resident(district_id, sample.id).await.unwrap();
    assert_eq!(&by_id, sample);

    let id_number = sample.id_number.as_ref().unwrap().expose();
    let tail = &id_number[id_number.len() - 6..];
    let found = store
        .search_residents(district_id, &[district], &query(tail))
        .await
        .unwrap();
    assert!(found.items.iter().any(|r| r.id == sample.id));
    assert!(found
        .items
        .iter()
        .all(|r| r.id_number.as_ref().unwrap().expose().ends_with(tail)));

    let name = sample.name.as_ref();
    let found = store
        .search_residents(district_id, &[grid_path], &query(name))
        .await
        .unwrap();
    assert!(found.items.iter().any(|r| r.id == sample.id));
    assert!(found
        .items
        .iter()
        .all(|r| r.household.at(NodeKind::Grid) == Some(grid)));

    let found = store
        .search_residents(district_id, &[district], &query(&sample.address))
        .await
        .unwrap();
    let members: HashSet<ResidentId> = demo
        .dataset
        .residents
        .iter()
        .filter(|r| r.household == sample.household)
        .map(|r| r.id)
        .collect();
    assert_eq!(
        found.items.iter().map(|r| r.id).collect::<HashSet<_>>(),
        members
    );

    // LIKE wildcards in the query are literal text, not patterns.
    let found = store
        .search_residents(district_id, &[district], &query("%"))
        .await
        .unwrap();
    assert!(found.items.is_empty());

    // A scope elsewhere finds nothing of this grid; no scope finds nothing at all.
    let other_grid = demo
        .dataset
        .nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Grid && n.path.id() != grid)
        .unwrap()
        .path;
    let found = store
        .search_residents(district_id, &[other_grid], &query(id_number))
        .await
        .unwrap();
    assert!(found.items.is_empty());
    assert!(store
        .search_residents(district_id, &[], &query(""))
        .await
        .unwrap()
        .items
        .is_empty());

    // Paging covers the scope exactly once, in name order.
    let mut seen = HashSet::new();
    let mut page = 1;
    loop {
        let res = store
            .search_residents(
                district_id,
                &[grid_path],
                &ResidentQuery {
                    q: String::new(),
                    page,
                    per_page: 7,
                },
            )
            .await
            .unwrap();
        assert!(res
            .items
            .windows(2)
            .all(|w| w[0].name.as_ref() <= w[1].name.as_ref()));
        for resident in &res.items {
            assert!(seen.insert(resident.id));
        }
        if !res.has_more {
            break;
        }
        page += 1;
    }
    let in_grid = demo
        .dataset
        .residents
        .iter()
        .filter(|r| r.household.at(NodeKind::Grid) == Some(grid))
        .count();
    assert_eq!(seen.len(), in_grid);

    let members = store
        .household_members(district_id, sample.household.id())
        .await
        .unwrap();
    assert_eq!(members.len(), members_count(&demo, sample));
    assert_eq!(members[0].relation, Relation::Head);
}

fn members_count(demo: &mulin_demo::Demo, sample: &ResidentRecord) -> usize {
    demo.dataset
        .residents
        .iter()
        .filter(|r| r.household == sample.household)
        .count()
}

#[tokio::test]
async fn a_failed_load_writes_nothing() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let district = demo.dataset.nodes[0].path;
    let before = store
        .counts(district.id().into(), &district, test_today())
        .await
        .unwrap();
    // A new household whose resident repeats an existing ID number: the second insert
    // fails, so the household must not stay behind either.
    let entrance = demo
        .dataset
        .nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Entrance)
        .unwrap();
    let household_path = entrance
        .path
        .child(NodeKind::Household, NodeId::new_v7())
        .unwrap();
    let mut household = entrance.clone();
    household.path = household_path;
    let mut duplicate = demo.dataset.residents[0].clone();
    duplicate.id = ResidentId::new_v7();
    duplicate.household = household_path;
    let dataset = Dataset {
        nodes: vec![household],
        residents: vec![duplicate],
        ..Dataset::default()
    };
    assert!(matches!(
        store.load(&dataset).await,
        Err(StoreError::Conflict(_))
    ));
    let after = store
        .counts(district.id().into(), &district, test_today())
        .await
        .unwrap();
    assert_eq!(before, after);
    assert!(matches!(
        store.node(district.id().into(), household_path.id()).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn one_resident_can_be_added() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let mut resident = demo.dataset.residents[3].clone();
    resident.id = ResidentId::new_v7();
    resident.id_number = None;
    resident.phone = None;
    resident.name = PersonName::parse("新居民").unwrap();
    resident.gender = Gender::Female;
    resident.relation = Relation::Other;
    resident.status = ResidenceStatus::Floating;
    resident.groups = SpecialGroups::default();
    resident.extra = vec![("note".into(), "租户".into())];
    store.insert_resident(&resident).await.unwrap();
    let district = resident.household.district().into();
    assert_eq!(
        store.resident(district, resident.id).await.unwrap(),
        resident
    );
}

#[tokio::test]
async fn accounts_grants_sessions_and_audit() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let district = demo.dataset.nodes[0].path;
    let district_id = district.id().into();

    let worker = store.user_by_username("wangge01").await.unwrap();
    assert!(worker.is_demo);
    let grants = store.grants(worker.id).await.unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].role, Role::GridWorker);
    assert_eq!(grants[0].at.kind(), NodeKind::Grid);
    let principal = Principal::new(worker.id, worker.district, grants).unwrap();
    assert_eq!(principal.roots(Action::ViewResidents).len(), 1);

    // Granting twice is harmless; granting at a node of no district fails.
    let community = store
        .children(
            district_id,
            store.children(district_id, district.id()).await.unwrap()[0]
                .path
                .id(),
        )
        .await
        .unwrap()[0]
        .path;
    store
        .grant(worker.id, district_id, Role::Volunteer, community.id())
        .await
        .unwrap();
    store
        .grant(worker.id, district_id, Role::Volunteer, community.id())
        .await
        .unwrap();
    assert_eq!(store.grants(worker.id).await.unwrap().len(), 2);
    assert!(matches!(
        store
            .grant(worker.id, district_id, Role::Admin, NodeId::new_v7())
            .await,
        Err(StoreError::NotFound)
    ));

    let user = UserRecord {
        id: UserId::new_v7(),
        district: district_id,
        username: "new-user".into(),
        display_name: "新用户".into(),
        password_hash: "h1".into(),
        is_demo: false,
        created_at: test_now(),
    };
    store.insert_user(&user).await.unwrap();
    assert!(matches!(
        store
            .insert_user(&UserRecord {
                id: UserId::new_v7(),
                ..user.clone()
            })
            .await,
        Err(StoreError::Conflict(_))
    ));
    store.set_password_hash(user.id, "h2").await.unwrap();
    assert_eq!(store.user(user.id).await.unwrap().password_hash, "h2");
    assert!(matches!(
        store.set_password_hash(UserId::new_v7(), "h").await,
        Err(StoreError::NotFound)
    ));

    let session = SessionRecord {
        token_hash: "abc".into(),
        user_id: user.id,
        district: district_id,
        kind: SessionKind::Api,
        csrf_token: "csrf".into(),
        created_at: test_now(),
        expires_at: test_now() + Duration::hours(1),
    };
    store.insert_session(&session).await.unwrap();
    assert_eq!(store.session("abc", test_now()).await.unwrap(), session);
    assert!(matches!(
        store.session("abc", test_now() + Duration::hours(1)).await,
        Err(StoreError::NotFound)
    ));
    // The one-read caller: an account without grants, then one with two.
    let mut user = store.user(user.id).await.unwrap();
    assert_eq!(
        store.session_caller("abc", test_now()).await.unwrap(),
        (session.clone(), user.clone(), Vec::new())
    );
    let worker_session = SessionRecord {
        token_hash: "def".into(),
        user_id: worker.id,
        kind: SessionKind::Web,
        created_at: test_now() - Duration::minutes(5),
        ..session.clone()
    };
    store.insert_session(&worker_session).await.unwrap();
    assert_eq!(
        store.session_caller("def", test_now()).await.unwrap(),
        (
            worker_session,
            store.user(worker.id).await.unwrap(),
            store.grants(worker.id).await.unwrap()
        )
    );
    assert!(matches!(
        store
            .session_caller("abc", test_now() + Duration::hours(1))
            .await,
        Err(StoreError::NotFound)
    ));
    user.password_hash = "h3".into();
    store.set_password_hash(user.id, "h3").await.unwrap();
    assert_eq!(
        store.session_caller("abc", test_now()).await.unwrap().1,
        user
    );
    store.delete_session("abc").await.unwrap();
    assert!(matches!(
        store.session("abc", test_now()).await,
        Err(StoreError::NotFound)
    ));

    for minute in 0..3 {
        store
            .append_audit(&AuditEntry {
                id: uuid::Uuid::now_v7(),
                district: district_id,
                at: test_now() + Duration::minutes(minute),
                user_id: Some(user.id),
                username: user.username.clone(),
                action: format!("test.{minute}"),
                target_kind: "resident".into(),
                target_id: "x".into(),
                ip: Some("127.0.0.1".into()),
                detail: "详情".into(),
            })
            .await
            .unwrap();
    }
    let log = audit_page(&*store, district_id, 1, 2).await.unwrap();
    assert_eq!(
        log.items
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        ["test.2", "test.1"]
    );
    assert!(log.has_more);
    assert_eq!(
        audit_page(&*store, district_id, 2, 2).await.unwrap().items[0].action,
        "test.0"
    );
}

#[tokio::test]
async fn party_orgs_units_posts_and_extra_fields() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let district = demo.dataset.nodes[0].path;
    let district_id = district.id().into();
    assert_eq!(
        store
            .party_orgs(district_id, Place::Within(&district))
            .await
            .unwrap()
            .len(),
        demo.dataset.party_orgs.len()
    );
    assert_eq!(
        store
            .units(district_id, Place::Within(&district))
            .await
            .unwrap()
            .len(),
        demo.dataset.units.len()
    );
    let posts = store
        .posts(district_id, Place::Within(&district))
        .await
        .unwrap();
    assert_eq!(posts.len(), demo.dataset.posts.len());
    let rep = posts
        .iter()
        .find(|p| p.kind == PostKind::ResidentRepresentative)
        .unwrap();
    let original = demo.dataset.posts.iter().find(|p| p.id == rep.id).unwrap();
    assert_eq!(
        rep.households.iter().collect::<HashSet<_>>(),
        original.households.iter().collect::<HashSet<_>>()
    );
    let liaison = posts
        .iter()
        .find(|p| p.kind == PostKind::DepartmentLiaison)
        .unwrap();
    assert!(liaison.department.is_some() && !liaison.categories.is_empty());

    let grid = demo
        .dataset
        .nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Grid)
        .unwrap()
        .path;
    let grid_posts = store
        .posts(district_id, Place::Within(&grid))
        .await
        .unwrap();
    assert!(grid_posts.iter().any(|p| p.kind == PostKind::GridWorker));
    assert!(grid_posts.len() < posts.len());

    assert!(store.field_defs(district_id).await.unwrap().is_empty());
    let field = FieldDef::new(
        FieldEntity::Household,
        "house_use",
        "房屋用途",
        FieldType::Choice,
        vec!["自住".into(), "出租".into()],
    )
    .unwrap();
    store.insert_field_def(district_id, &field).await.unwrap();
    assert_eq!(
        store.field_defs(district_id).await.unwrap(),
        vec![field.clone()]
    );
    assert!(matches!(
        store.insert_field_def(district_id, &field).await,
        Err(StoreError::Conflict(_))
    ));
}

#[tokio::test]
async fn a_new_database_is_empty_and_can_be_marked_demo() {
    let db = TestDb::new().await.unwrap();
    let store = db.store();
    assert!(store.is_empty().await.unwrap());
    assert!(!store.is_demo().await.unwrap());
    store.mark_demo().await.unwrap();
    store.mark_demo().await.unwrap();
    assert!(store.is_demo().await.unwrap());
    assert!(["sqlite", "postgres"].contains(&store.backend_name()));
}
