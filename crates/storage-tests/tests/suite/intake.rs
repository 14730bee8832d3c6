//! Intake on both backends: the address node with its compound's name in one read, and a new
//! request written with its audit record in one transaction (both or neither).

use mulin_domain::ids::NodeId;
use mulin_domain::tree::NodeKind;
use mulin_storage::{AuditEntry, Intake, StoreError};
use mulin_storage_tests::audit_page;
use mulin_storage_tests::test_now;

use crate::loaded;
use crate::requests::{received, request};

#[tokio::test]
async fn an_address_node_comes_with_its_compounds_name() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let nodes = &demo.dataset.nodes;
    let district = nodes[0].path.district().into();
    let building = nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Building)
        .unwrap();
    let compound = nodes
        .iter()
        .find(|n| Some(n.path.id()) == building.path.at(NodeKind::Compound))
        .unwrap();
    let (node, compound_name) = store
        .address_node(district, building.path.id())
        .await
        .unwrap();
    assert_eq!(&node, building);
    assert_eq!(compound_name.as_deref(), Some(compound.name.as_str()));
    // A compound is not its own compound; above it there is none.
    let (node, compound_name) = store
        .address_node(district, compound.path.id())
        .await
        .unwrap();
    assert_eq!(&node, compound);
    assert_eq!(compound_name, None);
    let grid = nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Grid)
        .unwrap();
    assert_eq!(
        store.address_node(district, grid.path.id()).await.unwrap(),
        (grid.clone(), None)
    );
    // Another district's id (or none at all) is not found.
    assert!(matches!(
        store
            .address_node(NodeId::new_v7().into(), building.path.id())
            .await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn an_intake_and_its_audit_record_land_together_or_not_at_all() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let grid = demo
        .dataset
        .nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Grid)
        .unwrap()
        .path;
    let district = grid.district().into();
    let now = test_now();
    let record = request(grid, now);
    let audit = |request: &mulin_storage::RequestRecord| AuditEntry {
        id: uuid::Uuid::now_v7(),
        district,
        at: now,
        user_id: None,
        username: "open311:bench".into(),
        action: "open311.submit".into(),
        target_kind: "request".into(),
        target_id: request.id.to_string(),
        ip: Some("127.0.0.1".into()),
        detail: "sanitation".into(),
    };
    let entry = audit(&record);
    let events = [received(now)];
    let intake = Intake {
        request: &record,
        events: &events,
        notifications: &[],
        audit: Some(&entry),
        callback: None,
    };
    store.insert_intake(&intake).await.unwrap();
    assert_eq!(store.request(district, record.id).await.unwrap(), record);
    let logged = audit_page(&*store, district, 1, 50).await.unwrap().items;
    assert!(logged.contains(&entry));

    // The same request again is a conflict, and its second audit record is not kept.
    let again = audit(&record);
    let refused = store
        .insert_intake(&Intake {
            audit: Some(&again),
            ..intake
        })
        .await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))));
    let logged = audit_page(&*store, district, 1, 50).await.unwrap().items;
    assert!(!logged.iter().any(|e| e.id == again.id));

    // An audit record of another district is refused before anything is written.
    let other = request(grid, now);
    let stray = AuditEntry {
        district: NodeId::new_v7().into(),
        ..audit(&other)
    };
    let refused = store
        .insert_intake(&Intake {
            request: &other,
            audit: Some(&stray),
            ..intake
        })
        .await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))));
    assert!(matches!(
        store.request(district, other.id).await,
        Err(StoreError::NotFound)
    ));
}
