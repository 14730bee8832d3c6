//! Re-division proposals: stored and read back; applying moves a compound with everything
//! under it to its new grid and sets the grids' boundaries, once, with its audit record; a
//! stale move or an unknown grid changes nothing. Applying also creates the grids a
//! proposal needs and retires the ones it empties into their successors, leaving nothing
//! that points at a grid that is gone and the KPI rollup equal to a rebuild.

use mulin_domain::ids::{DistrictId, NodeId};
use mulin_domain::tree::NodeKind;
use mulin_storage::{
    AuditEntry, CompoundMove, GridRetirement, NodeRecord, Place, RedivisionChange,
    RedivisionRecord, StoreError,
};
use mulin_storage_tests::{audit_page, TestDb};

use crate::loaded;
use crate::requests::{received, request};
use mulin_storage_tests::{test_now, test_today};

/// Only moves and boundaries.
fn moving<'a>(
    moves: &'a [CompoundMove],
    boundaries: &'a [(NodeId, Option<String>)],
) -> RedivisionChange<'a> {
    RedivisionChange {
        new_grids: &[],
        moves,
        retired: &[],
        boundaries,
    }
}

fn proposal_of(district: DistrictId, community: NodeId) -> RedivisionRecord {
    RedivisionRecord {
        district,
        id: uuid::Uuid::now_v7(),
        community,
        created_at: test_now(),
        created_by: "admin".into(),
        fingerprint: "f".into(),
        body: "{}".into(),
        applied_at: None,
    }
}

fn audit_of(district: DistrictId, community: NodeId) -> AuditEntry {
    AuditEntry {
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
    }
}

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
    let proposal = proposal_of(district, community);
    store.insert_redivision(&proposal).await.unwrap();
    assert_eq!(
        store.redivision(district, proposal.id).await.unwrap(),
        proposal
    );
    assert!(matches!(
        store.redivision(district, uuid::Uuid::now_v7()).await,
        Err(StoreError::NotFound)
    ));
    let audit = audit_of(district, community);
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
        .apply_redivision(
            district,
            proposal.id,
            moving(&[stale], &[]),
            test_now(),
            &audit,
        )
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
            moving(&[step], &[(unknown, None)]),
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
            moving(
                &[step],
                &[(from, None), (to.path.id(), Some(boundary.to_owned()))],
            ),
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
            .apply_redivision(
                district,
                proposal.id,
                moving(&[again], &[]),
                test_now(),
                &audit,
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(redivisions(&store, district).await, 1);
}

/// The KPI rollup's rows, in key order.
async fn rollup(db: &TestDb) -> Vec<(String, i64, String, i64)> {
    mulin_storage_sql::install_drivers();
    let pool = sqlx::AnyPool::connect(db.url()).await.unwrap();
    let rows: Vec<(String, i64, String, i64)> = sqlx::query_as(
        "SELECT scope_id, day, metric, amount FROM request_kpis WHERE amount <> 0 \
         ORDER BY scope_id, day, metric",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows
}

#[tokio::test]
async fn applying_creates_new_grids_and_retires_emptied_ones_into_their_successor() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let nodes = &demo.dataset.nodes;
    // A grid retired: its first compound to a new grid, any others to a neighbour, which
    // also takes over what hangs on the retired grid.
    let (retired, compounds) = nodes
        .iter()
        .filter(|n| n.path.kind() == NodeKind::Grid)
        .map(|g| {
            let mine: Vec<&NodeRecord> = nodes
                .iter()
                .filter(|n| {
                    n.path.kind() == NodeKind::Compound && n.path.parent() == Some(g.path.id())
                })
                .collect();
            (g, mine)
        })
        .find(|(_, mine)| !mine.is_empty())
        .unwrap();
    let district: DistrictId = retired.path.district().into();
    let community = retired.path.at(NodeKind::Community).unwrap();
    let successor = nodes
        .iter()
        .find(|n| {
            n.path.kind() == NodeKind::Grid
                && n.path.at(NodeKind::Community) == Some(community)
                && n.path.id() != retired.path.id()
        })
        .unwrap();
    let community_path = nodes
        .iter()
        .find(|n| n.path.id() == community)
        .unwrap()
        .path;
    let new_id = NodeId::from_uuid(uuid::Uuid::now_v7());
    let new_grid = NodeRecord {
        path: community_path.child(NodeKind::Grid, new_id).unwrap(),
        name: "第99网格".into(),
        code: None,
        sort_key: 99,
        position: None,
        geometry: Some(r#"{"type":"Polygon","coordinates":[[[113.0,40.0],[113.1,40.0],[113.1,40.1],[113.0,40.0]]]}"#.into()),
        address: None,
        extra: Vec::new(),
    };
    let posts = store
        .posts(district, Place::At(&retired.path))
        .await
        .unwrap();
    assert!(!posts.is_empty(), "the demo posts a worker on every grid");
    let holders = store
        .users_granted_at(district, retired.path.id())
        .await
        .unwrap();
    assert!(!holders.is_empty());

    // Requests under a moving compound and on the retired grid itself.
    let building = nodes
        .iter()
        .find(|n| {
            n.path.kind() == NodeKind::Building
                && n.path.at(NodeKind::Compound) == Some(compounds[0].path.id())
        })
        .unwrap();
    let at_building = request(building.path, test_now());
    let at_grid = request(retired.path, test_now());
    store
        .insert_requests(&[
            (at_building.clone(), vec![received(test_now())]),
            (at_grid.clone(), vec![received(test_now())]),
        ])
        .await
        .unwrap();

    let moves: Vec<CompoundMove> = compounds
        .iter()
        .enumerate()
        .map(|(i, c)| CompoundMove {
            compound: c.path.id(),
            from: retired.path.id(),
            to: if i == 0 { new_id } else { successor.path.id() },
        })
        .collect();
    let retirement = GridRetirement {
        grid: retired.path.id(),
        successor: successor.path.id(),
    };
    let audit = audit_of(district, community);

    // Retiring a grid that still holds a compound is refused, and nothing is written:
    // not even the new grid.
    let proposal = proposal_of(district, community);
    store.insert_redivision(&proposal).await.unwrap();
    let refused = store
        .apply_redivision(
            district,
            proposal.id,
            RedivisionChange {
                new_grids: std::slice::from_ref(&new_grid),
                moves: &moves[1..],
                retired: &[retirement],
                boundaries: &[],
            },
            test_now(),
            &audit,
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert!(matches!(
        store.node(district, new_id).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.node(district, retired.path.id()).await.is_ok());
    assert_eq!(redivisions(&store, district).await, 0);

    store
        .apply_redivision(
            district,
            proposal.id,
            RedivisionChange {
                new_grids: std::slice::from_ref(&new_grid),
                moves: &moves,
                retired: &[retirement],
                boundaries: &[],
            },
            test_now(),
            &audit,
        )
        .await
        .unwrap();
    assert_eq!(redivisions(&store, district).await, 1);
    // The new grid exists with its boundary and holds its compound.
    assert_eq!(store.node(district, new_id).await.unwrap(), new_grid);
    let moved = store.node(district, compounds[0].path.id()).await.unwrap();
    assert_eq!(moved.path.at(NodeKind::Grid), Some(new_id));
    // The retired grid is gone; its posts and grants are the successor's.
    assert!(matches!(
        store.node(district, retired.path.id()).await,
        Err(StoreError::NotFound)
    ));
    let taken_over = store
        .posts(district, Place::At(&successor.path))
        .await
        .unwrap();
    for post in &posts {
        assert!(taken_over.iter().any(|p| p.id == post.id), "{post:?}");
    }
    let now_held = store
        .users_granted_at(district, successor.path.id())
        .await
        .unwrap();
    for holder in &holders {
        assert!(now_held.contains(holder), "{holder:?}");
    }
    assert!(store
        .users_granted_at(district, retired.path.id())
        .await
        .unwrap()
        .is_empty());
    // Requests follow: the building's to the new grid, the grid's own to the successor,
    // and the rollup is what a rebuild makes of them.
    let r = store.request(district, at_building.id).await.unwrap();
    assert_eq!(r.place.at(NodeKind::Grid), Some(new_id));
    let r = store.request(district, at_grid.id).await.unwrap();
    assert_eq!(r.place.at(NodeKind::Grid), Some(successor.path.id()));
    let kept = rollup(&db).await;
    assert!(kept
        .iter()
        .all(|(scope, ..)| *scope != retired.path.id().to_string()));
    assert!(kept.iter().any(|(scope, ..)| *scope == new_id.to_string()));
    store.rebuild_request_kpis(district).await.unwrap();
    assert_eq!(rollup(&db).await, kept);
}

/// Re-division records in the audit log.
async fn redivisions(
    store: &std::sync::Arc<dyn mulin_storage::Storage>,
    district: mulin_domain::ids::DistrictId,
) -> usize {
    let log = audit_page(&**store, district, 1, 500).await.unwrap().items;
    log.iter().filter(|e| e.action == "grids.redivide").count()
}
