//! Service stations and grid rules: written with their audit record or not at all, and
//! kept per district.

use mulin_domain::station::StationKind;
use mulin_domain::tree::NodeKind;
use mulin_geo::GridRules;
use mulin_storage::{AuditEntry, LonLat, StationRecord, StoreError};
use mulin_storage_tests::audit_page;

use crate::loaded;
use mulin_storage_tests::test_now;

fn audit(district: mulin_domain::ids::DistrictId, action: &str) -> AuditEntry {
    AuditEntry {
        id: uuid::Uuid::now_v7(),
        district,
        at: test_now(),
        user_id: None,
        username: "test".into(),
        action: action.into(),
        target_kind: "station".into(),
        target_id: String::new(),
        ip: None,
        detail: String::new(),
    }
}

async fn audited(
    store: &dyn mulin_storage::Storage,
    district: mulin_domain::ids::DistrictId,
    action: &str,
) -> usize {
    let log = audit_page(store, district, 1, 200).await.unwrap().items;
    log.iter().filter(|e| e.action == action).count()
}

#[tokio::test]
async fn stations_are_recorded_listed_and_removed_with_their_audit() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let district = demo.dataset.nodes[0].path.id().into();
    let community = demo
        .dataset
        .nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Community)
        .unwrap()
        .path
        .id();
    assert!(store.stations(district).await.unwrap().is_empty());
    let station = StationRecord {
        district,
        id: uuid::Uuid::now_v7(),
        community,
        kind: StationKind::PartyService,
        name: "文苑小区党群服务站".into(),
        position: LonLat {
            lon: 113.085,
            lat: 40.225,
        },
        created_at: test_now(),
    };
    store
        .insert_station(&station, &audit(district, "station.create"))
        .await
        .unwrap();
    let second = StationRecord {
        id: uuid::Uuid::now_v7(),
        kind: StationKind::Convenience,
        name: "便民服务站".into(),
        ..station.clone()
    };
    store
        .insert_station(&second, &audit(district, "station.create"))
        .await
        .unwrap();
    assert_eq!(
        store.stations(district).await.unwrap(),
        vec![station.clone(), second.clone()]
    );
    assert_eq!(audited(store.as_ref(), district, "station.create").await, 2);

    // Another district sees none of them and cannot remove them.
    let other = mulin_domain::ids::DistrictId::new_v7();
    assert!(store.stations(other).await.unwrap().is_empty());
    assert!(matches!(
        store
            .delete_station(other, station.id, &audit(other, "station.delete"))
            .await,
        Err(StoreError::NotFound)
    ));

    store
        .delete_station(district, station.id, &audit(district, "station.delete"))
        .await
        .unwrap();
    assert_eq!(store.stations(district).await.unwrap(), vec![second]);
    // Removing it again finds nothing and writes no audit record.
    assert!(matches!(
        store
            .delete_station(district, station.id, &audit(district, "station.delete"))
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(audited(store.as_ref(), district, "station.delete").await, 1);
}

#[tokio::test]
async fn grid_rules_are_absent_until_set_then_replaced_whole() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let district = demo.dataset.nodes[0].path.id().into();
    assert_eq!(store.grid_rules(district).await.unwrap(), None);
    let mut rules = GridRules::default();
    rules.score.households_over = 450;
    rules.score.large_area_km2 = 0.8;
    rules.walk.detour_factor = 1.4;
    store
        .set_grid_rules(district, &rules, test_now(), &audit(district, "rules.set"))
        .await
        .unwrap();
    assert_eq!(store.grid_rules(district).await.unwrap(), Some(rules));
    rules.walk.minutes = 10.0;
    store
        .set_grid_rules(district, &rules, test_now(), &audit(district, "rules.set"))
        .await
        .unwrap();
    assert_eq!(store.grid_rules(district).await.unwrap(), Some(rules));
    assert_eq!(audited(store.as_ref(), district, "rules.set").await, 2);
    let other = mulin_domain::ids::DistrictId::new_v7();
    assert_eq!(store.grid_rules(other).await.unwrap(), None);
}
