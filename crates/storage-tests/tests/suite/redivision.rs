//! Re-division proposals: stored and read back; applying moves a compound with everything
//! under it to its new grid and sets the grids' boundaries, once, with its audit record; a
//! stale move or an unknown grid changes nothing.

use mulin_domain::tree::NodeKind;
use mulin_storage::{AuditEntry, CompoundMove, RedivisionRecord, StoreError};
use mulin_storage_tests::audit_page;

use crate::loaded;
use mulin_storage_tests::{test_now, test_today};

#[tokio::test]
async fn a_proposal_moves_a_compound_and_its_subtree_once_or_not_at_all() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let nodes = &demo.dataset.nodes;
    let compound = nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Compound)
        .unwrap();
    let district = compound.path.district().into();
    let from = compound.path.at(NodeKind::Grid).unwrap();
    let community = compound.path.at(NodeKind::Community).unwrap();
    let to = nodes
        .iter()
        .find(|n| {
            n.path.kind() == NodeKind::Grid
                && n.path.at(NodeKind::Community) == Some(community)
                && n.path.id() != from
        })
        .unwrap();
    let proposal = RedivisionRecord {
        district,
        id: uuid::Uuid::now_v7(),
        community,
        created_at: test_now(),
        created_by: "admin".into(),
        fingerprint: "f".into(),
        body: "{}".into(),
        applied_at: None,
    };
    store.insert_redivision(&proposal).await.unwrap();
    assert_eq!(
        store.redivision(district, proposal.id).await.unwrap(),
        proposal
    );
    assert!(matches!(
        store.redivision(district, uuid::Uuid::now_v7()).await,
        Err(StoreError::NotFound)
    ));
    let audit = AuditEntry {
        id: uuid::Uuid::now_v7(),
        district,
        at: test_now(),
        user_id: None,
        username: "admin".into(),
        action: "grids.redivide".into(),
        target_kind: "node".into(),
        target_id: community.to_string(),
        ip: None,
        detail: "1".into(),
    };
    let before = store
        .counts(district, &compound.path, test_today())
        .await
        .unwrap();

    // A stale move (the compound is not under `to`) changes nothing, not even the proposal.
    let stale = CompoundMove {
        compound: compound.path.id(),
        from: to.path.id(),
        to: from,
    };
    let refused = store
        .apply_redivision(district, proposal.id, &[stale], &[], test_now(), &audit)
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(
        store.node(district, compound.path.id()).await.unwrap().path,
        compound.path
    );
    assert_eq!(redivisions(&store, district).await, 0);

    let step = CompoundMove {
        compound: compound.path.id(),
        from,
        to: to.path.id(),
    };
    // A boundary of a node not in the district rolls the whole application back.
    let unknown = mulin_domain::ids::NodeId::from_uuid(uuid::Uuid::now_v7());
    let refused = store
        .apply_redivision(
            district,
            proposal.id,
            &[step],
            &[(unknown, None)],
            test_now(),
            &audit,
        )
        .await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    assert_eq!(
        store.node(district, compound.path.id()).await.unwrap().path,
        compound.path
    );
    assert_eq!(redivisions(&store, district).await, 0);

    // Boundaries follow in the same transaction: `from` is cleared, `to` gets a new one.
    let boundary = r#"{"type":"Polygon","coordinates":[[[113.0,40.0],[113.1,40.0],[113.1,40.1],[113.0,40.0]]]}"#;
    store
        .apply_redivision(
            district,
            proposal.id,
            &[step],
            &[(from, None), (to.path.id(), Some(boundary.to_owned()))],
            test_now(),
            &audit,
        )
        .await
        .unwrap();
    assert_eq!(store.node(district, from).await.unwrap().geometry, None);
    assert_eq!(
        store
            .node(district, to.path.id())
            .await
            .unwrap()
            .geometry
            .as_deref(),
        Some(boundary)
    );
    let moved = store.node(district, compound.path.id()).await.unwrap();
    assert_eq!(moved.path.at(NodeKind::Grid), Some(to.path.id()));
    // Buildings, households and residents follow: the counts under the moved compound
    // (read through its new path) and under the new grid include them.
    assert_eq!(
        store
            .counts(district, &moved.path, test_today())
            .await
            .unwrap(),
        before
    );
    let buildings = store
        .subtree(district, &moved.path, NodeKind::Household)
        .await
        .unwrap();
    assert!(buildings.len() > 1);
    assert!(buildings
        .iter()
        .all(|n| n.path.at(NodeKind::Grid) == Some(to.path.id())));
    let residents = demo
        .dataset
        .residents
        .iter()
        .filter(|r| r.household.at(NodeKind::Compound) == Some(compound.path.id()));
    for r in residents {
        let stored = store.resident(district, r.id).await.unwrap();
        assert_eq!(stored.household.at(NodeKind::Grid), Some(to.path.id()));
    }
    assert_eq!(redivisions(&store, district).await, 1);
    assert!(store
        .redivision(district, proposal.id)
        .await
        .unwrap()
        .applied_at
        .is_some());

    // Applied once only.
    let again = CompoundMove {
        compound: compound.path.id(),
        from: to.path.id(),
        to: from,
    };
    assert!(matches!(
        store
            .apply_redivision(district, proposal.id, &[again], &[], test_now(), &audit)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(redivisions(&store, district).await, 1);
}

/// Re-division records in the audit log.
async fn redivisions(
    store: &std::sync::Arc<dyn mulin_storage::Storage>,
    district: mulin_domain::ids::DistrictId,
) -> usize {
    let log = audit_page(&**store, district, 1, 500).await.unwrap().items;
    log.iter().filter(|e| e.action == "grids.redivide").count()
}
