//! Grid boundaries: the demo's grids tile their communities, and geometries are replaced
//! all at once with their audit record, or not at all.

use mulin_domain::ids::NodeId;
use mulin_domain::tree::NodeKind;
use mulin_storage::{AuditEntry, StoreError};
use mulin_storage_tests::audit_page;

use crate::loaded;
use mulin_storage_tests::test_now;

#[tokio::test]
async fn the_demo_grids_tile_their_communities() {
    let (db, _demo) = loaded().await;
    let store = db.store();
    let district = store.districts().await.unwrap()[0].path;
    let district_id = district.id().into();
    let nodes = store
        .subtree(district_id, &district, NodeKind::Grid)
        .await
        .unwrap();
    let communities: Vec<_> = nodes
        .iter()
        .filter(|n| n.path.kind() == NodeKind::Community)
        .collect();
    assert_eq!(communities.len(), 5);
    let mut n_grids = 0;
    for community in communities {
        let outline = mulin_geo::parse_geometry(community.geometry.as_deref().unwrap()).unwrap();
        let grids: Vec<(NodeId, _)> = nodes
            .iter()
            .filter(|n| {
                n.path.kind() == NodeKind::Grid
                    && n.path.at(NodeKind::Community) == Some(community.path.id())
            })
            .map(|n| {
                (
                    n.path.id(),
                    mulin_geo::parse_geometry(n.geometry.as_deref().unwrap()).unwrap(),
                )
            })
            .collect();
        assert!(!grids.is_empty());
        n_grids += grids.len();
        let found =
            mulin_geo::validate_tiling(Some(&outline), &grids, &mulin_geo::Tolerance::default());
        assert!(found.is_empty(), "{}: {found:?}", community.name);
    }
    assert!(n_grids >= 5);
}

#[tokio::test]
async fn geometries_are_replaced_together_with_their_audit_record_or_not_at_all() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let grids: Vec<_> = demo
        .dataset
        .nodes
        .iter()
        .filter(|n| n.path.kind() == NodeKind::Grid)
        .take(2)
        .collect();
    let district_id = grids[0].path.district().into();
    let audit = |detail: &str| AuditEntry {
        id: uuid::Uuid::now_v7(),
        district: district_id,
        at: test_now(),
        user_id: None,
        username: "admin".into(),
        action: "grids.import".into(),
        target_kind: "node".into(),
        target_id: grids[0].path.id().to_string(),
        ip: None,
        detail: detail.into(),
    };
    let square = r#"{"type":"Polygon","coordinates":[[[113.1,40.2],[113.2,40.2],[113.2,40.3],[113.1,40.2]]]}"#;
    let before = audit_page(&*store, district_id, 1, 500)
        .await
        .unwrap()
        .items
        .len();

    // One unknown node: nothing changes, no audit record.
    let missing = NodeId::from_uuid(uuid::Uuid::now_v7());
    let err = store
        .replace_geometries(
            district_id,
            &[
                (grids[0].path.id(), square.into()),
                (missing, square.into()),
            ],
            &audit("bad"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let first = store.node(district_id, grids[0].path.id()).await.unwrap();
    assert_eq!(first.geometry, grids[0].geometry);
    let log = audit_page(&*store, district_id, 1, 500)
        .await
        .unwrap()
        .items;
    assert_eq!(log.len(), before);

    store
        .replace_geometries(
            district_id,
            &[
                (grids[0].path.id(), square.into()),
                (grids[1].path.id(), square.into()),
            ],
            &audit("2 grids"),
        )
        .await
        .unwrap();
    for grid in &grids {
        let node = store.node(district_id, grid.path.id()).await.unwrap();
        assert_eq!(node.geometry.as_deref(), Some(square));
        assert_eq!(node.name, grid.name);
    }
    let log = audit_page(&*store, district_id, 1, 500)
        .await
        .unwrap()
        .items;
    assert_eq!(log.len(), before + 1);
    assert!(log
        .iter()
        .any(|e| e.action == "grids.import" && e.detail == "2 grids"));
}
