//! The map over HTTP: a grid's panel, the map layers (WGS-84 and GCJ-02), service
//! stations, the district's grid rules and the 15-minute service circle; each scoped by
//! the policy, changes audited.

use mulin_domain::ids::DistrictId;
use mulin_storage_tests::audit_page;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .request(method, app.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn district(app: &TestApp) -> DistrictId {
    app.demo.dataset.nodes[0].path.id().into()
}

async fn audited(app: &TestApp, action: &str) -> usize {
    let log = audit_page(&*app.store, district(app), 1, 500)
        .await
        .unwrap()
        .items;
    log.iter().filter(|e| e.action == action).count()
}

/// Writes the demo's stations as `mulin demo` does.
async fn add_demo_stations(app: &TestApp) {
    for station in &app.demo.stations {
        let audit = mulin_storage::AuditEntry {
            id: uuid::Uuid::now_v7(),
            district: station.district,
            at: mulin_storage_tests::test_now(),
            user_id: None,
            username: "test".into(),
            action: "station.create".into(),
            target_kind: "station".into(),
            target_id: station.id.to_string(),
            ip: None,
            detail: String::new(),
        };
        app.store.insert_station(station, &audit).await.unwrap();
    }
}

fn rules_body(households_over: i64, detour_factor: f64) -> Value {
    json!({
        "households_over": households_over, "large_area_km2": 0.5, "special_share_over": 0.3,
        "reference_area_km2": 0.25, "reference_density": 10000.0, "reference_special_share": 0.2,
        "reference_places": 20.0, "walk_minutes": 15.0, "walk_speed_kmh": 4.5,
        "detour_factor": detour_factor
    })
}

#[tokio::test]
async fn a_grid_panel_shows_its_figures_and_only_to_those_who_may_see_the_grid() {
    let app = spawn_app().await;
    let grid0 = app.grid(0).path.id();
    let grid1 = app.grid(1).path.id();
    let admin = app.token("admin").await;
    let (status, panel) = app
        .get(Some(&admin), &format!("/api/v1/grids/{grid0}/panel"))
        .await;
    assert_eq!(status, StatusCode::OK, "{panel}");
    let (_, collection) = app
        .get(
            Some(&admin),
            &format!("/api/v1/grids.geojson?under={grid0}"),
        )
        .await;
    let props = &collection["features"][0]["properties"];
    for key in [
        "households",
        "residents",
        "special_groups",
        "buildings",
        "places",
    ] {
        assert_eq!(panel[key], props[key], "{key}");
    }
    assert_eq!(panel["score"], props["score"]);
    assert!(panel["households"].as_i64().unwrap() > 0);
    assert!(!panel["workers"].as_array().unwrap().is_empty());
    assert!(panel["workers"][0]["name"].as_str().is_some());
    assert_eq!(panel["open_requests"], 0);
    assert_eq!(panel["rules"]["households_over"], 400);

    // A grid worker sees their own grid's panel only; a resident and a liaison none.
    let wangge = app.token("wangge01").await;
    let (status, _) = app
        .get(Some(&wangge), &format!("/api/v1/grids/{grid0}/panel"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .get(Some(&wangge), &format!("/api/v1/grids/{grid1}/panel"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.get("households").is_none());
    let jumin = app.token("jumin").await;
    let (status, body) = app
        .get(Some(&jumin), &format!("/api/v1/grids/{grid0}/panel"))
        .await;
    assert!(
        status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
        "{status}"
    );
    assert!(body.get("households").is_none());
    let community0 = app.community(0).path.id();
    app.add_user(
        "lianluo",
        mulin_domain::policy::Role::DepartmentLiaison,
        community0,
    )
    .await;
    let lianluo = app.token("lianluo").await;
    let (status, _) = app
        .get(Some(&lianluo), &format!("/api/v1/grids/{grid0}/panel"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A node that is not a grid has no panel.
    let (status, _) = app
        .get(Some(&admin), &format!("/api/v1/grids/{community0}/panel"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get(None, &format!("/api/v1/grids/{grid0}/panel")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn stations_are_managed_by_community_staff_in_scope_and_audited() {
    let app = spawn_app().await;
    let community0 = app.community(0).path.id().to_string();
    let community1 = app.community(1).path.id().to_string();
    let shequ = app.token("shequ1").await;
    let body = |community: &str| {
        json!({"community_id": community, "kind": "party_service", "name": "文苑小区党群服务站",
               "lon": 113.085, "lat": 40.225})
    };
    let (status, created) = app
        .post(&shequ, "/api/v1/stations", body(&community0))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["kind"], "party_service");
    assert_eq!(created["at"], json!([113.085, 40.225]));
    assert_eq!(audited(&app, "station.create").await, 1);

    // Outside the staff's community: as if it did not exist.
    let (status, _) = app
        .post(&shequ, "/api/v1/stations", body(&community1))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A grid worker sees the stations of its community but cannot record one there (the
    // community itself lies outside its scope); a liaison sees the community but may not
    // record either.
    let wangge = app.token("wangge01").await;
    let (status, _) = app
        .post(&wangge, "/api/v1/stations", body(&community0))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.add_user(
        "lianluo",
        mulin_domain::policy::Role::DepartmentLiaison,
        app.community(0).path.id(),
    )
    .await;
    let lianluo = app.token("lianluo").await;
    let (status, _) = app
        .post(&lianluo, "/api/v1/stations", body(&community0))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, list) = app.get(Some(&wangge), "/api/v1/stations").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    // Staff of another community sees none of them.
    let admin = app.token("admin").await;
    let (status, list) = app
        .get(
            Some(&admin),
            &format!("/api/v1/stations?under={community1}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.as_array().unwrap().is_empty());
    // A resident sees no map at all.
    let jumin = app.token("jumin").await;
    let (status, _) = app.get(Some(&jumin), "/api/v1/stations").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Bad input is refused with a Chinese message, and nothing is written.
    for bad in [
        json!({"community_id": community0, "kind": "shop", "name": "x", "lon": 113.0, "lat": 40.0}),
        json!({"community_id": community0, "kind": "convenience", "name": "  ", "lon": 113.0, "lat": 40.0}),
        json!({"community_id": community0, "kind": "convenience", "name": "x", "lon": 213.0, "lat": 40.0}),
        json!({"community_id": app.grid(0).path.id().to_string(), "kind": "convenience", "name": "x", "lon": 113.0, "lat": 40.0}),
    ] {
        let (status, answer) = app.post(&shequ, "/api/v1/stations", bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("服务站")
                || answer["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("坐标")
        );
    }
    assert_eq!(audited(&app, "station.create").await, 1);

    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/stations/{id}");
    let (status, _) = send(&app, reqwest::Method::DELETE, &wangge, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(&app, reqwest::Method::DELETE, &lianluo, &path, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(&app, reqwest::Method::DELETE, &shequ, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(&app, reqwest::Method::DELETE, &shequ, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(audited(&app, "station.delete").await, 1);
}

#[tokio::test]
async fn grid_rules_are_the_district_admins_and_drive_the_scores() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let (status, rules) = app.get(Some(&admin), "/api/v1/grid-score-rules").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rules["is_default"], true);
    assert_eq!(rules["households_over"], 400);
    assert_eq!(
        rules["placeholders"],
        json!(["large_area_km2", "special_share_over", "detour_factor"])
    );
    assert!((rules["reach_m"].as_f64().unwrap() - 1125.0 / 1.3).abs() < 1e-6);

    for who in ["jiedao", "shequ1", "wangge01", "jumin"] {
        let token = app.token(who).await;
        let (status, body) = app.get(Some(&token), "/api/v1/grid-score-rules").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}");
        assert!(body.get("households_over").is_none());
        let (status, _) = send(
            &app,
            reqwest::Method::PUT,
            &token,
            "/api/v1/grid-score-rules",
            Some(rules_body(1, 1.3)),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}");
    }
    for bad in [rules_body(0, 1.3), rules_body(400, 0.8)] {
        let (status, _) = send(
            &app,
            reqwest::Method::PUT,
            &admin,
            "/api/v1/grid-score-rules",
            Some(bad),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    assert_eq!(audited(&app, "grid_rules.set").await, 0);

    // Every grid of the small test district has a few households: over 1 suggests help.
    let (status, saved) = send(
        &app,
        reqwest::Method::PUT,
        &admin,
        "/api/v1/grid-score-rules",
        Some(rules_body(1, 1.5)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["is_default"], false);
    assert_eq!(
        saved["placeholders"],
        json!(["large_area_km2", "special_share_over"])
    );
    assert_eq!(audited(&app, "grid_rules.set").await, 1);
    let (_, rules) = app.get(Some(&admin), "/api/v1/grid-score-rules").await;
    assert_eq!(rules["households_over"], 1);
    assert_eq!(rules["detour_factor"], 1.5);
    let grid0 = app.grid(0).path.id();
    let (_, panel) = app
        .get(Some(&admin), &format!("/api/v1/grids/{grid0}/panel"))
        .await;
    assert!(panel["part_time_reasons"]
        .as_array()
        .unwrap()
        .contains(&json!("many_households")));
    let (_, collection) = app
        .get(
            Some(&admin),
            &format!("/api/v1/grids.geojson?under={grid0}"),
        )
        .await;
    assert_eq!(
        collection["features"][0]["properties"]["part_time_suggested"],
        true
    );
}

#[tokio::test]
async fn the_service_circle_counts_every_household_once_per_grid() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let (status, empty) = app.get(Some(&admin), "/api/v1/service-circle").await;
    assert_eq!(status, StatusCode::OK, "{empty}");
    let total = app.nodes(mulin_domain::tree::NodeKind::Household).len();
    assert_eq!(empty["stations"], 0);
    assert_eq!(empty["covered"], 0);
    assert_eq!(empty["uncovered"].as_u64().unwrap() as usize, total);

    add_demo_stations(&app).await;
    let (_, report) = app.get(Some(&admin), "/api/v1/service-circle").await;
    let covered = report["covered"].as_u64().unwrap() as usize;
    let uncovered = report["uncovered"].as_u64().unwrap() as usize;
    assert_eq!(covered + uncovered, total);
    assert!(covered > 0, "{report}");
    let grids = report["grids"].as_array().unwrap();
    assert_eq!(
        grids.len(),
        app.nodes(mulin_domain::tree::NodeKind::Grid).len()
    );
    let sum = |key: &str| -> usize {
        grids
            .iter()
            .map(|g| g[key].as_u64().unwrap() as usize)
            .sum()
    };
    assert_eq!((sum("covered"), sum("uncovered")), (covered, uncovered));
    for g in grids {
        let listed = g["uncovered_households"].as_array().unwrap();
        assert_eq!(listed.len(), g["uncovered"].as_u64().unwrap() as usize);
        for h in listed {
            // Addresses only: no names, ID numbers or phones.
            let keys: Vec<&String> = h.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["address", "id"]);
        }
    }

    // A longer detour shrinks the circle.
    let (status, _) = send(
        &app,
        reqwest::Method::PUT,
        &admin,
        "/api/v1/grid-score-rules",
        Some(rules_body(400, 3.0)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, narrower) = app.get(Some(&admin), "/api/v1/service-circle").await;
    assert!(narrower["covered"].as_u64().unwrap() as usize <= covered);
    assert!((narrower["rules"]["reach_m"].as_f64().unwrap() - 375.0).abs() < 1e-6);

    // A grid worker gets their grid only; others' nodes look absent; residents get nothing.
    let wangge = app.token("wangge01").await;
    let (status, mine) = app.get(Some(&wangge), "/api/v1/service-circle").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["grids"].as_array().unwrap().len(), 1);
    assert_eq!(mine["grids"][0]["id"], app.grid(0).path.id().to_string());
    let grid1 = app.grid(1).path.id();
    let (status, _) = app
        .get(
            Some(&wangge),
            &format!("/api/v1/service-circle?under={grid1}"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let jumin = app.token("jumin").await;
    let (status, body) = app.get(Some(&jumin), "/api/v1/service-circle").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.get("grids").is_none());
}

#[tokio::test]
async fn map_layers_come_in_wgs84_or_shifted_to_gcj02() {
    let app = spawn_app().await;
    add_demo_stations(&app).await;
    let admin = app.token("admin").await;
    let community0 = app.community(0).path.id();
    let (status, wgs) = app
        .get(
            Some(&admin),
            &format!("/api/v1/map/layers?under={community0}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{wgs}");
    assert_eq!(wgs["crs"], "wgs84");
    let buildings = wgs["buildings"].as_array().unwrap();
    assert!(!buildings.is_empty());
    assert!(buildings
        .iter()
        .all(|b| b["households"].as_u64().unwrap() > 0));
    assert!(!wgs["stations"].as_array().unwrap().is_empty());
    let (_, gcj) = app
        .get(
            Some(&admin),
            &format!("/api/v1/map/layers?under={community0}&crs=gcj02"),
        )
        .await;
    assert_eq!(gcj["crs"], "gcj02");
    let at = |v: &Value| [v["at"][0].as_f64().unwrap(), v["at"][1].as_f64().unwrap()];
    let same = |p: [f64; 2], q: [f64; 2]| (p[0] - q[0]).abs() < 1e-9 && (p[1] - q[1]).abs() < 1e-9;
    let (a, b) = (at(&wgs["buildings"][0]), at(&gcj["buildings"][0]));
    assert!(same(b, mulin_geo::gcj02::wgs84_to_gcj02(a)));
    // Around 大同 GCJ-02 lies some hundreds of metres off WGS-84.
    assert!((b[0] - a[0]).abs() > 0.001);

    let (_, grids_wgs) = app
        .get(
            Some(&admin),
            &format!("/api/v1/grids.geojson?under={community0}"),
        )
        .await;
    let (_, grids_gcj) = app
        .get(
            Some(&admin),
            &format!("/api/v1/grids.geojson?under={community0}&crs=gcj02"),
        )
        .await;
    let corner = |c: &Value| {
        let p = &c["features"][0]["geometry"]["coordinates"][0][0];
        [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()]
    };
    assert!(same(
        corner(&grids_gcj),
        mulin_geo::gcj02::wgs84_to_gcj02(corner(&grids_wgs))
    ));

    // Scoped: a grid worker's layers hold their grid's buildings only.
    let wangge = app.token("wangge01").await;
    let (status, mine) = app.get(Some(&wangge), "/api/v1/map/layers").await;
    assert_eq!(status, StatusCode::OK);
    let grid0 = app.grid(0).path.id().to_string();
    assert!(mine["buildings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["grid_id"] == grid0.as_str()));
    let community1 = app.community(1).path.id();
    let (status, _) = app
        .get(
            Some(&wangge),
            &format!("/api/v1/map/layers?under={community1}"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let jumin = app.token("jumin").await;
    let (status, _) = app.get(Some(&jumin), "/api/v1/map/layers").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_map_page_is_in_the_nav_for_staff_and_refused_to_residents() {
    let app = spawn_app().await;
    let admin = app.web_login("admin").await;
    let html = app.html(&admin, "/").await;
    assert!(html.contains("data-testid=\"nav-map\""));
    let res = admin.get(app.url("/map")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"map\""));
    assert!(html.contains("/assets/vendor/leaflet.js"));
    assert!(html.contains("/assets/map.js"));
    assert!(html.contains("data-crs=\"wgs84\""));
    assert!(html.contains("网格地图"));
    let community1 = app.community(1).path.id();
    let res = admin
        .get(app.url(&format!("/map?under={community1}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let js = reqwest::get(app.url("/assets/map.js")).await.unwrap();
    assert_eq!(js.status(), StatusCode::OK);

    let jumin = app.web_login("jumin").await;
    let html = app.html(&jumin, "/").await;
    assert!(!html.contains("data-testid=\"nav-map\""));
    let res = jumin.get(app.url("/map")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let wangge = app.web_login("wangge01").await;
    let res = wangge
        .get(app.url(&format!("/map?under={community1}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_map_endpoint_refuses_each_role_outside_its_scope() {
    use mulin_domain::policy::Role;
    let app = spawn_app().await;
    let community0 = app.community(0).path.id();
    for (name, role) in [
        ("lianluo", Role::DepartmentLiaison),
        ("dangyuan", Role::PartyMember),
        ("zhiyuan", Role::Volunteer),
    ] {
        app.add_user(name, role, community0).await;
    }
    let grid0 = app.grid(0).path.id().to_string();
    let grid1 = app.grid(1).path.id().to_string();
    let community1 = app.community(1).path.id().to_string();
    assert_ne!(
        app.grid(7).path.at(mulin_domain::tree::NodeKind::Community),
        Some(community0)
    );
    // Who may see the map, and a grid outside their scope (none for district-wide roles).
    let cases = [
        ("admin", true, None),
        ("jiedao", true, None),
        ("shequ1", true, Some(community1.as_str())),
        ("wangge01", true, Some(grid1.as_str())),
        ("lianluo", false, Some(community1.as_str())),
        ("dangyuan", false, Some(community1.as_str())),
        ("zhiyuan", false, Some(community1.as_str())),
        ("jumin", false, Some(grid1.as_str())),
    ];
    for (who, sees_map, outside) in cases {
        let token = app.token(who).await;
        let inside = [
            format!("/api/v1/grids/{grid0}/panel"),
            format!("/api/v1/map/layers?under={grid0}"),
            format!("/api/v1/stations?under={grid0}"),
            format!("/api/v1/service-circle?under={grid0}"),
        ];
        for path in &inside {
            let (status, _) = app.get(Some(&token), path).await;
            if sees_map {
                assert_eq!(status, StatusCode::OK, "{who} {path}");
            } else {
                assert!(
                    status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
                    "{who} {path}: {status}"
                );
            }
        }
        let Some(outside) = outside else { continue };
        let grid_outside = if outside == grid1 {
            grid1.clone()
        } else {
            app.grid(7).path.id().to_string()
        };
        for path in [
            format!("/api/v1/grids/{grid_outside}/panel"),
            format!("/api/v1/map/layers?under={outside}"),
            format!("/api/v1/stations?under={outside}"),
            format!("/api/v1/service-circle?under={outside}"),
        ] {
            let (status, body) = app.get(Some(&token), &path).await;
            assert!(
                status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
                "{who} {path}: {status}"
            );
            assert!(body.get("error").is_some(), "{who} {path}: {body}");
        }
    }
}
