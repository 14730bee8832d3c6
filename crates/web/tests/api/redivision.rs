//! Re-division over the API: a re-balance proposal keeps grids contiguous and is stored;
//! applying it moves whole compounds once, audited; a stale proposal is refused; only the
//! community's staff and above may do any of it. Applying creates the grids a proposal
//! needs and retires the ones it empties, and the grids still tile and route.

use mulin_domain::policy::Role;
use mulin_domain::tree::NodeKind;
use mulin_storage_tests::audit_page;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

/// Grids of community `idx`.
fn grids_of(app: &TestApp, idx: usize) -> usize {
    let community = app.community(idx).path.id();
    app.nodes(NodeKind::Grid)
        .iter()
        .filter(|g| g.path.at(NodeKind::Community) == Some(community))
        .count()
}

async fn rebalance(app: &TestApp, token: &str, idx: usize, target: usize) -> (StatusCode, Value) {
    let community = app.community(idx).path.id();
    app.post(
        token,
        &format!("/api/v1/communities/{community}/redivision"),
        json!({"mode": "rebalance", "target_count": target, "min_households": 200, "max_households": 900}),
    )
    .await
}

async fn redivisions(app: &TestApp) -> usize {
    let district = app.community(0).path.district().into();
    let log = audit_page(&*app.store, district, 1, 500)
        .await
        .unwrap()
        .items;
    log.iter().filter(|e| e.action == "grids.redivide").count()
}

#[tokio::test]
async fn a_rebalance_is_proposed_stored_and_applied_once() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let community = app.community(0).path.id();
    let n = grids_of(&app, 0);
    assert!(n >= 2);
    let (status, proposal) = rebalance(&app, &admin, 0, n - 1).await;
    assert_eq!(status, StatusCode::OK, "{proposal}");
    assert_eq!(proposal["after"]["grids"], n - 1);
    assert_eq!(proposal["before"]["grids"], n);
    assert_eq!(proposal["after"]["contiguous"], true);
    assert_eq!(proposal["emptied_grids"].as_array().unwrap().len(), 1);
    assert_eq!(proposal["new_grids_needed"], 0);
    let moves = proposal["moves"].as_array().unwrap();
    assert!(!moves.is_empty());
    let moved: u64 = moves
        .iter()
        .map(|m| m["households"].as_u64().unwrap())
        .sum();
    let total = proposal["after"]["households"].as_u64().unwrap();
    assert_eq!(
        proposal["after"]["kept_households"].as_u64().unwrap() + moved,
        total
    );
    assert_eq!(
        proposal["grids"]["features"].as_array().unwrap().len(),
        n - 1
    );
    let id = proposal["id"].as_str().unwrap();
    let (status, shown) = app
        .get(
            Some(&admin),
            &format!("/api/v1/communities/{community}/redivision/{id}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["moves"], proposal["moves"]);
    assert_eq!(shown["applied_at"], Value::Null);

    let apply = format!("/api/v1/communities/{community}/redivision/{id}/apply");
    let (status, applied) = app.post(&admin, &apply, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["households"].as_u64().unwrap(), moved);
    assert_eq!(redivisions(&app).await, 1);
    // Each moved building now sits in its new grid.
    let district = app.community(0).path.district().into();
    for m in moves {
        let building = app
            .store
            .node(
                district,
                m["building_id"].as_str().unwrap().parse().unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(
            building.path.at(NodeKind::Grid).unwrap().to_string(),
            m["to_grid_id"].as_str().unwrap()
        );
    }
    // Once only.
    let (status, _) = app.post(&admin, &apply, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(redivisions(&app).await, 1);
}

#[tokio::test]
async fn a_proposal_made_before_the_division_changed_is_refused() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let community = app.community(0).path.id();
    let n = grids_of(&app, 0);
    let (_, first) = rebalance(&app, &admin, 0, n - 1).await;
    let (_, second) = rebalance(&app, &admin, 0, n - 1).await;
    let apply = |p: &Value| {
        format!(
            "/api/v1/communities/{community}/redivision/{}/apply",
            p["id"].as_str().unwrap()
        )
    };
    let (status, _) = app.post(&admin, &apply(&first), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.post(&admin, &apply(&second), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("过期"),
        "{body}"
    );
    assert_eq!(redivisions(&app).await, 1);
}

#[tokio::test]
async fn bad_asks_are_refused_with_a_reason() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let community = app.community(0).path.id();
    let path = format!("/api/v1/communities/{community}/redivision");
    let (status, _) = app
        .post(
            &admin,
            &path,
            json!({"mode": "propose", "min_households": 500, "max_households": 300}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.post(&admin, &path, json!({"mode": "rebalance"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .post(
            &admin,
            &path,
            json!({"mode": "rebalance", "target_count": 100000}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn only_the_communitys_staff_and_above_may_redivide() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let n = grids_of(&app, 0);
    // Community staff of community 0: their own community yes, another one does not exist.
    let staff = app.token("shequ1").await;
    let (status, proposal) = rebalance(&app, &staff, 0, n - 1).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = rebalance(&app, &staff, 1, grids_of(&app, 1) - 1).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let other = app.community(1).path.id();
    let (status, theirs) = rebalance(&app, &admin, 1, grids_of(&app, 1) - 1).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .get(
            Some(&staff),
            &format!(
                "/api/v1/communities/{other}/redivision/{}",
                theirs["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A grid worker's scope is one grid: the community is not theirs to see, let alone
    // re-divide, and neither is applying a proposal.
    let worker = app.token("wangge01").await;
    let (status, _) = rebalance(&app, &worker, 0, n - 1).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let community = app.community(0).path.id();
    let apply = format!(
        "/api/v1/communities/{community}/redivision/{}/apply",
        proposal["id"].as_str().unwrap()
    );
    let (status, _) = app.post(&worker, &apply, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A proposal of another community is not found under this one.
    let (status, _) = app
        .post(
            &admin,
            &format!(
                "/api/v1/communities/{community}/redivision/{}/apply",
                theirs["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A volunteer of the community sees it but may not re-divide it.
    app.add_user("zhiyuan", Role::Volunteer, community).await;
    let volunteer = app.token("zhiyuan").await;
    let (status, _) = rebalance(&app, &volunteer, 0, n - 1).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.post(&volunteer, &apply, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Nobody logged in: nothing.
    let res = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/communities/{community}/redivision")))
        .json(&json!({"mode": "propose"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(redivisions(&app).await, 0);
}

/// The community's grids as `grids.geojson` gives them: (id, boundary if any).
async fn boundaries(
    app: &TestApp,
    token: &str,
    community: &str,
) -> Vec<(String, Option<mulin_geo::tiling::Shape>)> {
    let (status, body) = app
        .get(
            Some(token),
            &format!("/api/v1/grids.geojson?under={community}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    body["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let shape = (!f["geometry"].is_null())
                .then(|| mulin_geo::shape::geometry_from_value(&f["geometry"]).unwrap());
            (f["id"].as_str().unwrap().to_owned(), shape)
        })
        .collect()
}

#[tokio::test]
async fn applying_moves_the_boundaries_with_the_buildings_and_pins_follow() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let community = app.community(0);
    let id = community.path.id().to_string();
    let n = grids_of(&app, 0);
    let (status, proposal) = rebalance(&app, &admin, 0, n - 1).await;
    assert_eq!(status, StatusCode::OK, "{proposal}");
    assert_eq!(proposal["boundaries"], "derived");
    let apply = format!(
        "/api/v1/communities/{id}/redivision/{}/apply",
        proposal["id"].as_str().unwrap()
    );
    let (status, applied) = app.post(&admin, &apply, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{applied}");

    // The stored boundaries are the proposal's, the emptied grid is gone, and together
    // they tile the community.
    let stored = boundaries(&app, &admin, &id).await;
    let emptied = proposal["emptied_grids"][0]["id"].as_str().unwrap();
    assert_eq!(stored.len(), n - 1);
    assert!(stored.iter().all(|(g, _)| g != emptied));
    check_tiled_and_routed(&app, &admin, &proposal).await;
}

/// The community's stored grids are the proposal's, tile it, and every moved building lies
/// in its new grid, where a pin routes a request.
async fn check_tiled_and_routed(app: &TestApp, admin: &str, proposal: &Value) {
    let id = proposal["community_id"].as_str().unwrap();
    let community = app
        .nodes(NodeKind::Community)
        .into_iter()
        .find(|c| c.path.id().to_string() == id)
        .unwrap();
    let outline = mulin_geo::parse_geometry(community.geometry.as_deref().unwrap()).unwrap();
    let stored = boundaries(app, admin, id).await;
    let tiling: Vec<(String, mulin_geo::tiling::Shape)> = stored
        .iter()
        .filter_map(|(g, s)| Some((g.clone(), s.clone()?)))
        .collect();
    assert_eq!(tiling.len(), stored.len(), "every grid keeps a boundary");
    assert_eq!(
        tiling.len(),
        proposal["after"]["grids"].as_u64().unwrap() as usize
    );
    for feature in proposal["grids"]["features"].as_array().unwrap() {
        let grid = feature["properties"]["grid_id"].as_str().unwrap();
        let shape = mulin_geo::shape::geometry_from_value(&feature["geometry"]).unwrap();
        assert!(
            tiling.iter().any(|(g, s)| g == grid && *s == shape),
            "{grid}: the stored boundary is not the proposal's"
        );
    }
    let violations =
        mulin_geo::validate_tiling(Some(&outline), &tiling, &mulin_geo::Tolerance::default());
    assert!(violations.is_empty(), "{violations:?}");

    // Every moved building lies in its new grid, and a pin there routes to it.
    let district: mulin_domain::ids::DistrictId = community.path.district().into();
    let moves = proposal["moves"].as_array().unwrap();
    assert!(!moves.is_empty());
    for m in moves {
        let building = app
            .store
            .node(
                district,
                m["building_id"].as_str().unwrap().parse().unwrap(),
            )
            .await
            .unwrap();
        let at = building.position.unwrap();
        let to = m["to_grid_id"].as_str().unwrap();
        let by_index: Vec<(usize, mulin_geo::tiling::Shape)> = tiling
            .iter()
            .enumerate()
            .map(|(i, (_, s))| (i, s.clone()))
            .collect();
        let found = mulin_geo::locate_exact(&by_index, at.lon, at.lat).unwrap();
        assert_eq!(tiling[found].0, to, "{m}");
        let (status, created) = app
            .post(
                admin,
                "/api/v1/requests",
                json!({"service_code": "sanitation", "description": "垃圾桶满溢",
                       "lon": at.lon, "lat": at.lat}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["grid_id"], to, "{m}");
    }
}

#[tokio::test]
async fn a_proposal_needing_more_grids_creates_them_and_they_tile_and_route() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let community = app.community(0).path.id();
    // The demo has a compound per grid: one grid fewer first, so a grid more than there
    // are is possible again.
    let (_, fewer) = rebalance(&app, &admin, 0, grids_of(&app, 0) - 1).await;
    let (status, _) = app
        .post(
            &admin,
            &format!(
                "/api/v1/communities/{community}/redivision/{}/apply",
                fewer["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let n = grids_of(&app, 0) - 1;
    let (status, proposal) = app
        .post(
            &admin,
            &format!("/api/v1/communities/{community}/redivision"),
            json!({"mode": "propose", "target_count": n + 1, "min_households": 1, "max_households": 100000}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{proposal}");
    assert_eq!(proposal["boundaries"], "derived");
    let planned = proposal["new_grids"].as_array().unwrap().clone();
    assert_eq!(planned.len(), 1, "{proposal}");
    assert_eq!(proposal["new_grids_needed"], 1);
    // Named and coded like its neighbours: the next number, under the community's code.
    let siblings = app
        .store
        .children(app.community(0).path.district().into(), community)
        .await
        .unwrap();
    assert_eq!(siblings.len(), n);
    let last = siblings
        .iter()
        .filter_map(|g| {
            g.name
                .strip_prefix('第')?
                .strip_suffix("网格")?
                .parse::<u32>()
                .ok()
        })
        .max()
        .unwrap();
    assert_eq!(planned[0]["name"], format!("第{}网格", last + 1));
    let code = planned[0]["code"].as_str().unwrap();
    assert_eq!(code.len(), 15);
    assert!(siblings.iter().all(|g| g.code.as_deref() != Some(code)));
    assert!(code.starts_with(&app.community(0).code.clone().unwrap()[..12]));
    let new_id = planned[0]["id"].as_str().unwrap();
    assert!(proposal["moves"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["to_grid_id"] == new_id));

    // The page says what will be created before anyone confirms.
    let client = app.web_login("admin").await;
    let html = app
        .html(
            &client,
            &format!(
                "/communities/{community}/redivision/{}",
                proposal["id"].as_str().unwrap()
            ),
        )
        .await;
    assert!(html.contains("redivision-new-grids"), "{html}");
    assert!(html.contains(code));

    let apply = format!(
        "/api/v1/communities/{community}/redivision/{}/apply",
        proposal["id"].as_str().unwrap()
    );
    let (status, applied) = app.post(&admin, &apply, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["created_grids"], 1);
    let district = app.community(0).path.district().into();
    let grid = app
        .store
        .node(district, new_id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(grid.path.kind(), NodeKind::Grid);
    assert_eq!(grid.path.at(NodeKind::Community), Some(community));
    assert_eq!(grid.code.as_deref(), Some(code));
    assert!(grid.geometry.is_some());
    check_tiled_and_routed(&app, &admin, &proposal).await;
}

#[tokio::test]
async fn a_rebalance_that_empties_grids_retires_them_into_their_successors() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let community = app.community(0).path.id();
    let district: mulin_domain::ids::DistrictId = app.community(0).path.district().into();
    let n = grids_of(&app, 0);
    assert!(n >= 3);
    let (status, proposal) = rebalance(&app, &admin, 0, n - 2).await;
    assert_eq!(status, StatusCode::OK, "{proposal}");
    let retired = proposal["retired_grids"].as_array().unwrap().clone();
    assert_eq!(retired.len(), 2, "{proposal}");
    // The worker posted on a retired grid is named with where they go.
    for r in &retired {
        assert!(!r["posts"].as_array().unwrap().is_empty(), "{r}");
        assert!(r["successor_id"].is_string());
    }
    let client = app.web_login("admin").await;
    let html = app
        .html(
            &client,
            &format!(
                "/communities/{community}/redivision/{}",
                proposal["id"].as_str().unwrap()
            ),
        )
        .await;
    assert!(html.contains("redivision-retired-grids"), "{html}");
    for r in &retired {
        assert!(html.contains(r["successor"].as_str().unwrap()));
    }

    let gone: Vec<mulin_domain::ids::NodeId> = retired
        .iter()
        .map(|r| r["id"].as_str().unwrap().parse().unwrap())
        .collect();
    let retired_path = app
        .nodes(NodeKind::Grid)
        .into_iter()
        .find(|g| g.path.id() == gone[0])
        .unwrap()
        .path;
    let posts_before = app
        .store
        .posts(district, mulin_storage::Place::At(&retired_path))
        .await
        .unwrap();

    let apply = format!(
        "/api/v1/communities/{community}/redivision/{}/apply",
        proposal["id"].as_str().unwrap()
    );
    let (status, applied) = app.post(&admin, &apply, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["retired_grids"], 2);
    assert_eq!(grids_in_store(&app, community).await, n - 2);
    // The retired grids are gone and nothing under the community still names them.
    let under = app
        .store
        .subtree(district, &app.community(0).path, NodeKind::Household)
        .await
        .unwrap();
    for grid in &gone {
        assert!(matches!(
            app.store.node(district, *grid).await,
            Err(mulin_storage::StoreError::NotFound)
        ));
        assert!(under
            .iter()
            .all(|n| n.path.at(NodeKind::Grid) != Some(*grid)));
    }
    // The retired grid's posts now sit on its successor.
    let successor: mulin_domain::ids::NodeId = retired[0]["successor_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let successor = app.store.node(district, successor).await.unwrap();
    let there = app
        .store
        .posts(district, mulin_storage::Place::At(&successor.path))
        .await
        .unwrap();
    for post in &posts_before {
        assert!(there.iter().any(|p| p.id == post.id), "{post:?}");
    }
    check_tiled_and_routed(&app, &admin, &proposal).await;
}

/// The community's grids as stored now.
async fn grids_in_store(app: &TestApp, community: mulin_domain::ids::NodeId) -> usize {
    let district = app.community(0).path.district().into();
    app.store
        .children(district, community)
        .await
        .unwrap()
        .iter()
        .filter(|n| n.path.kind() == NodeKind::Grid)
        .count()
}

#[tokio::test]
async fn boundaries_that_cannot_stay_a_tiling_refuse_the_whole_application() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let community = app.community(0);
    let id = community.path.id().to_string();
    let n = grids_of(&app, 0);
    let (_, proposal) = rebalance(&app, &admin, 0, n - 1).await;
    // Today's boundaries already overlap: one grid was stored as the whole community.
    let district = community.path.district().into();
    let grid = app.grid(0).path.id();
    assert_eq!(
        app.grid(0).path.at(NodeKind::Community),
        Some(community.path.id())
    );
    let audit = mulin_storage::AuditEntry {
        id: uuid::Uuid::now_v7(),
        district,
        at: mulin_storage_tests::test_now(),
        user_id: None,
        username: "test".into(),
        action: "grids.import".into(),
        target_kind: "node".into(),
        target_id: String::new(),
        ip: None,
        detail: String::new(),
    };
    app.store
        .replace_geometries(
            district,
            &[(grid, community.geometry.clone().unwrap())],
            &audit,
        )
        .await
        .unwrap();
    let before = boundaries(&app, &admin, &id).await;
    let apply = format!(
        "/api/v1/communities/{id}/redivision/{}/apply",
        proposal["id"].as_str().unwrap()
    );
    let (status, body) = app.post(&admin, &apply, json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("铺满"),
        "{body}"
    );
    // Nothing moved: no audit record, the boundaries and the compounds as they were.
    assert_eq!(redivisions(&app).await, 0);
    assert_eq!(boundaries(&app, &admin, &id).await, before);
    let moved = proposal["compound_moves"][0]["compound_id"]
        .as_str()
        .unwrap();
    let compound = app
        .store
        .node(district, moved.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        compound.path.at(NodeKind::Grid).unwrap().to_string(),
        proposal["compound_moves"][0]["from_grid_id"]
            .as_str()
            .unwrap()
    );
}
