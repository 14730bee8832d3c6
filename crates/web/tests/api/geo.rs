//! Grid boundaries over the API: GeoJSON out, whole-tiling import in, refused imports
//! change nothing, and only the community's own managers may import.

use mulin_domain::policy::Role;
use mulin_domain::tree::NodeKind;
use mulin_storage_tests::audit_page;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn put(app: &TestApp, token: Option<&str>, path: &str, body: &Value) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .put(app.url(path))
        .header("content-type", "application/geo+json")
        .body(body.to_string());
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Import records in the audit log (logins are audited too).
async fn imports(app: &TestApp, district: mulin_domain::ids::DistrictId) -> usize {
    let log = audit_page(&*app.store, district, 1, 500)
        .await
        .unwrap()
        .items;
    log.iter().filter(|e| e.action == "grids.import").count()
}

/// The west, south, east, north of a rectangular Polygon feature.
fn rect(feature: &Value) -> (f64, f64, f64, f64) {
    let ring = feature["geometry"]["coordinates"][0].as_array().unwrap();
    let xs: Vec<f64> = ring.iter().map(|p| p[0].as_f64().unwrap()).collect();
    let ys: Vec<f64> = ring.iter().map(|p| p[1].as_f64().unwrap()).collect();
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (min(&xs), min(&ys), max(&xs), max(&ys))
}

fn polygon(w: f64, s: f64, e: f64, n: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]})
}

/// The features of community `idx`'s grids, as the admin reads them.
async fn community_features(app: &TestApp, idx: usize) -> Vec<Value> {
    let admin = app.token("admin").await;
    let community = app.community(idx).path.id();
    let (status, body) = app
        .get(
            Some(&admin),
            &format!("/api/v1/grids.geojson?under={community}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    body["features"].as_array().unwrap().clone()
}

#[tokio::test]
async fn grids_come_out_as_a_feature_collection_scoped_by_the_policy() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/grids.geojson"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/geo+json"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], "FeatureCollection");
    let features = body["features"].as_array().unwrap();
    let grids = app.nodes(NodeKind::Grid);
    assert_eq!(features.len(), grids.len());
    let households = app.nodes(NodeKind::Household).len() as i64;
    let total: i64 = features
        .iter()
        .map(|f| f["properties"]["households"].as_i64().unwrap())
        .sum();
    assert_eq!(total, households);
    let first = &features[0];
    assert_eq!(first["type"], "Feature");
    assert_eq!(first["geometry"]["type"], "Polygon");
    assert_eq!(first["properties"]["id"], grids[0].path.id().to_string());
    assert_eq!(first["properties"]["name"], grids[0].name.as_str());
    assert_eq!(first["properties"]["code"], json!(grids[0].code));
    assert!(first["properties"]["households"].as_i64().unwrap() > 0);
    // The "四维" score: every grid of the demo has buildings, two shops and an area.
    for f in features {
        let p = &f["properties"];
        assert!(p["buildings"].as_i64().unwrap() > 0, "{p}");
        let grid: mulin_domain::ids::NodeId = p["id"].as_str().unwrap().parse().unwrap();
        let places = app
            .demo
            .dataset
            .units
            .iter()
            .filter(|u| {
                app.demo.dataset.nodes.iter().any(|n| {
                    n.path.id() == u.node
                        && n.path.kind() != NodeKind::Household
                        && n.path.at(NodeKind::Grid) == Some(grid)
                })
            })
            .count();
        assert!(places >= 2);
        assert_eq!(p["places"], places, "{p}");
        assert!(p["area_km2"].as_f64().unwrap() > 0.01, "{p}");
        assert!(p["score"].as_f64().unwrap() > 0.0, "{p}");
        let households = p["households"].as_i64().unwrap();
        let reasons = p["part_time_reasons"].as_array().unwrap();
        assert_eq!(
            reasons.contains(&json!("many_households")),
            households > 400,
            "{p}"
        );
        assert_eq!(p["part_time_suggested"], !reasons.is_empty());
    }

    // A grid worker sees their own grid only; anywhere else is "not found".
    let worker = app.token("wangge01").await;
    let (status, body) = app.get(Some(&worker), "/api/v1/grids.geojson").await;
    assert_eq!(status, StatusCode::OK);
    let mine = body["features"].as_array().unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["id"], app.grid(0).path.id().to_string());
    for other in [app.grid(1).path.id(), app.community(1).path.id()] {
        let (status, body) = app
            .get(
                Some(&worker),
                &format!("/api/v1/grids.geojson?under={other}"),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.get("features").is_none());
    }
    let (status, _) = app.get(None, "/api/v1/grids.geojson").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_demo_tiling_passes_and_is_saved_with_one_audit_record() {
    let app = spawn_app().await;
    let district = app.demo.dataset.nodes[0].path.id().into();
    let community = app.community(0).path.id();
    let features = community_features(&app, 0).await;
    assert!(features.len() >= 2);
    let before = imports(&app, district).await;

    // Name the grids by code this time, and move the shared edge of the first two
    // (side by side in one row) a little east: still a tiling.
    let (a, b) = (rect(&features[0]), rect(&features[1]));
    assert_eq!(a.2, b.0, "first two grids share an edge");
    let x = a.2 + (b.2 - b.0) * 0.25;
    let mut moved: Vec<Value> = features
        .iter()
        .map(|f| json!({"type": "Feature", "properties": {"code": f["properties"]["code"]}, "geometry": f["geometry"]}))
        .collect();
    moved[0]["geometry"] = polygon(a.0, a.1, x, a.3);
    moved[1]["geometry"] = polygon(x, b.1, b.2, b.3);
    let staff = app.token("shequ1").await;
    let (status, body) = put(
        &app,
        Some(&staff),
        &format!("/api/v1/communities/{community}/grids.geojson"),
        &json!({"type": "FeatureCollection", "features": moved}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["saved"], features.len());
    let after = community_features(&app, 0).await;
    assert!((rect(&after[0]).2 - x).abs() < 1e-12);
    assert!((rect(&after[1]).0 - x).abs() < 1e-12);
    let log = audit_page(&*app.store, district, 1, 500)
        .await
        .unwrap()
        .items;
    assert_eq!(imports(&app, district).await, before + 1);
    assert!(log
        .iter()
        .any(|e| e.action == "grids.import" && e.target_id == community.to_string()));
}

#[tokio::test]
async fn overlaps_and_gaps_are_refused_naming_the_grids_and_change_nothing() {
    let app = spawn_app().await;
    let district = app.demo.dataset.nodes[0].path.id().into();
    let community = app.community(0).path.id();
    let features = community_features(&app, 0).await;
    let before = imports(&app, district).await;
    let staff = app.token("shequ1").await;
    let path = format!("/api/v1/communities/{community}/grids.geojson");
    let (a, b) = (rect(&features[0]), rect(&features[1]));
    let id_a = features[0]["id"].as_str().unwrap();
    let id_b = features[1]["id"].as_str().unwrap();

    // Grid A reaches a quarter into B: one overlap, named by both.
    let x = a.2 + (b.2 - b.0) * 0.25;
    let overlap = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": id_a, "properties": {}, "geometry": polygon(a.0, a.1, x, a.3)},
    ]});
    let (status, body) = put(&app, Some(&staff), &path, &overlap).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_tiling");
    let violations = body["violations"].as_array().unwrap();
    assert_eq!(violations.len(), 1, "{body}");
    let v = &violations[0];
    assert_eq!(v["kind"], "overlap");
    assert_eq!(v["grids"][0]["id"], id_a);
    assert_eq!(v["grids"][1]["id"], id_b);
    let at = v["at"].as_array().unwrap();
    let (lon, lat) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    assert!(lon > a.2 && lon < x && lat > a.1 && lat < a.3, "{v}");
    assert!(v["area_m2"].as_f64().unwrap() > 1000.0);
    let message = v["message"].as_str().unwrap();
    assert!(message.contains("重叠"), "{message}");
    assert!(message.contains(features[0]["properties"]["name"].as_str().unwrap()));

    // Grid B shrinks from the west: a gap between A and B, and nothing else.
    let gap = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": id_b}, "geometry": polygon(x, b.1, b.2, b.3)},
    ]});
    let (status, body) = put(&app, Some(&staff), &path, &gap).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let violations = body["violations"].as_array().unwrap();
    assert_eq!(violations.len(), 1, "{body}");
    assert_eq!(violations[0]["kind"], "gap");
    let named: Vec<&str> = violations[0]["grids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert!(named.contains(&id_a) && named.contains(&id_b), "{named:?}");
    assert!(violations[0]["message"].as_str().unwrap().contains("空隙"));

    // A self-crossing ring, an unclosed one and an unknown grid are all reported.
    let bad = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": id_a, "geometry": {"type": "Polygon", "coordinates": [[[a.0, a.1], [a.2, a.3], [a.2, a.1], [a.0, a.3], [a.0, a.1]]]}},
        {"type": "Feature", "id": id_b, "geometry": {"type": "Polygon", "coordinates": [[[b.0, b.1], [b.2, b.1], [b.2, b.3], [b.0, b.3]]]}},
        {"type": "Feature", "properties": {"code": "999999999999999"}, "geometry": polygon(a.0, a.1, a.2, a.3)},
    ]});
    let (status, body) = put(&app, Some(&staff), &path, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let kinds: Vec<&str> = body["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["unknown_grid", "geometry"], "{body}");

    // Not JSON, or not a collection: 400.
    for text in [
        json!("nope"),
        json!({"type": "FeatureCollection", "features": []}),
    ] {
        let (status, _) = put(&app, Some(&staff), &path, &text).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    // Nothing changed, and nothing was written to the audit log.
    assert_eq!(community_features(&app, 0).await, features);
    assert_eq!(imports(&app, district).await, before);
}

#[tokio::test]
async fn only_the_communitys_managers_may_import() {
    let app = spawn_app().await;
    let community = app.community(0).path.id();
    let path = format!("/api/v1/communities/{community}/grids.geojson");
    let features = community_features(&app, 0).await;
    let same = json!({"type": "FeatureCollection", "features": features});
    let before = community_features(&app, 0).await;

    // Outside the caller's scope: not found. In scope without the right: forbidden.
    app.add_user("volunteer1", Role::Volunteer, community).await;
    for (user, expected) in [
        ("wangge01", StatusCode::NOT_FOUND),
        ("shequ2", StatusCode::NOT_FOUND),
        ("volunteer1", StatusCode::FORBIDDEN),
    ] {
        let token = app.token(user).await;
        let (status, body) = put(&app, Some(&token), &path, &same).await;
        assert_eq!(status, expected, "{user}: {body}");
        assert!(body.get("saved").is_none());
    }
    let (status, _) = put(&app, None, &path, &same).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A grid is not a community.
    let admin = app.token("admin").await;
    let grid = app.grid(0).path.id();
    let (status, _) = put(
        &app,
        Some(&admin),
        &format!("/api/v1/communities/{grid}/grids.geojson"),
        &same,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(community_features(&app, 0).await, before);

    // The street's admin and the district's admin may.
    for user in ["jiedao", "admin"] {
        let token = app.token(user).await;
        let (status, body) = put(&app, Some(&token), &path, &same).await;
        assert_eq!(status, StatusCode::OK, "{user}: {body}");
    }
}

#[tokio::test]
async fn points_route_to_their_grid_and_follow_a_changed_boundary() {
    let app = spawn_app().await;
    let district = app.demo.dataset.nodes[0].path.id().into();
    let router = mulin_web::grids::GridRouter::new(app.store.clone());
    let features = community_features(&app, 0).await;
    let (a, b) = (rect(&features[0]), rect(&features[1]));
    let grid_a = app.grid(0).path.id();
    let grid_b = app.grid(1).path.id();
    assert_eq!(features[0]["id"], grid_a.to_string());
    // A point in B just east of the shared edge.
    let (lon, lat) = (b.0 + (b.2 - b.0) * 0.1, (b.1 + b.3) / 2.0);
    assert_eq!(
        router.locate(district, lon, lat).await.unwrap(),
        Some(grid_b)
    );
    assert_eq!(
        router
            .locate(district, (a.0 + a.2) / 2.0, (a.1 + a.3) / 2.0)
            .await
            .unwrap(),
        Some(grid_a)
    );
    assert_eq!(router.locate(district, 0.0, 0.0).await.unwrap(), None);

    // Move the edge east past the point: after a refresh the point is in A.
    let x = b.0 + (b.2 - b.0) * 0.25;
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
            &[
                (grid_a, polygon(a.0, a.1, x, a.3).to_string()),
                (grid_b, polygon(x, b.1, b.2, b.3).to_string()),
            ],
            &audit,
        )
        .await
        .unwrap();
    assert_eq!(
        router.locate(district, lon, lat).await.unwrap(),
        Some(grid_b)
    );
    router.refresh(district).await.unwrap();
    assert_eq!(
        router.locate(district, lon, lat).await.unwrap(),
        Some(grid_a)
    );
}
