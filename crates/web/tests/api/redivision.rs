//! Re-division over the API: a re-balance proposal keeps grids contiguous and is stored;
//! applying it moves whole compounds once, audited; a stale proposal is refused; only the
//! community's staff and above may do any of it.

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
