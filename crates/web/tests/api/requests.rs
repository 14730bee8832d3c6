//! Requests through HTTP: intake and routing, the whole lifecycle, deadlines that breach
//! and escalate exactly once (also across a restart), whistles, KPIs, bad input and who
//! may do what.

use std::time::Duration as StdDuration;

use chrono::Duration;
use mulin_domain::tree::NodeKind;
use mulin_web::clock::Clock;
use mulin_web::requests::sweep;
use mulin_web::{AppState, WebSettings};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

/// The demo login of the grid worker of `grid`, and of the staff of its community.
fn handlers(app: &TestApp, grid: mulin_domain::NodeId) -> (String, String) {
    let grids = app.nodes(NodeKind::Grid);
    let g = grids.iter().position(|n| n.path.id() == grid).unwrap();
    let community = grids[g].path.at(NodeKind::Community).unwrap();
    let c = app
        .nodes(NodeKind::Community)
        .iter()
        .position(|n| n.path.id() == community)
        .unwrap();
    (format!("wangge{:02}", g + 1), format!("shequ{}", c + 1))
}

/// A building of grid `idx`.
pub(crate) fn building_in_grid(app: &TestApp, idx: usize) -> String {
    let grid = app.grid(idx).path.id();
    app.nodes(NodeKind::Building)
        .into_iter()
        .find(|b| b.path.at(NodeKind::Grid) == Some(grid))
        .unwrap()
        .path
        .id()
        .to_string()
}

pub(crate) async fn submit(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, created) = app.post(token, "/api/v1/requests", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

pub(crate) async fn act(app: &TestApp, token: &str, id: &str, body: Value) -> (StatusCode, Value) {
    app.post(token, &format!("/api/v1/requests/{id}/actions"), body)
        .await
}

pub(crate) async fn ok(app: &TestApp, token: &str, id: &str, body: Value) -> Value {
    let (status, answer) = act(app, token, id, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body} → {answer}");
    answer
}

pub(crate) async fn timeline(app: &TestApp, token: &str, id: &str) -> Vec<String> {
    let (status, detail) = app
        .get(Some(token), &format!("/api/v1/requests/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls until `check` holds on the request (the scheduler runs every 50 ms); bounded.
pub(crate) async fn wait_for(
    app: &TestApp,
    token: &str,
    id: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..100 {
        let (_, detail) = app
            .get(Some(token), &format!("/api/v1/requests/{id}"))
            .await;
        if check(&detail) {
            return detail;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("request {id} never reached the expected state");
}

#[tokio::test]
async fn a_residents_request_reaches_its_grid_and_closes_after_a_good_rating() {
    let app = spawn_app().await;
    let household = app.granted_node("jumin");
    let grid = household.at(NodeKind::Grid).unwrap();
    let (worker, staff) = handlers(&app, grid);
    let jumin = app.token("jumin").await;
    let created = submit(
        &app,
        &jumin,
        json!({"service_code": "drainage", "description": "楼下排水井堵塞，污水外溢",
               "address_node_id": household.id().to_string(), "channel": "web",
               "reporter_phone": "13912345678"}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["status"], "dispatched");
    assert_eq!(created["grid_id"], grid.to_string());
    assert_eq!(
        created["severity"], "complex",
        "drainage is complex by default"
    );
    assert_eq!(created["channel"], "web");
    // 1341: on site within 10 minutes, complex problems solved within 4 hours.
    let received =
        chrono::DateTime::parse_from_rfc3339(created["received_at"].as_str().unwrap()).unwrap();
    let due = |key: &str| {
        chrono::DateTime::parse_from_rfc3339(created[key].as_str().unwrap()).unwrap() - received
    };
    assert_eq!(due("arrive_due"), Duration::minutes(10));
    assert_eq!(due("resolve_due"), Duration::hours(4));
    // The resident sees their own phone masked; the grid worker sees it whole.
    assert_eq!(created["reporter_phone"], "139****5678");

    let w = app.token(&worker).await;
    let (_, notes) = app.get(Some(&w), "/api/v1/notifications?unread=true").await;
    assert_eq!(notes[0]["kind"], "dispatched", "{notes}");
    assert_eq!(notes[0]["request_id"], id);
    let (_, inbox) = app.get(Some(&w), "/api/v1/requests?open=true").await;
    let inbox = inbox["items"].as_array().unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0]["reporter_phone"], "13912345678");

    app.clock.set(app.clock.now() + Duration::minutes(3));
    ok(&app, &w, id, json!({"action": "sign_for"})).await;
    let on_site = ok(&app, &w, id, json!({"action": "arrive"})).await;
    assert!(on_site["arrived_at"].is_string());
    ok(&app, &w, id, json!({"action": "solve", "note": "已疏通"})).await;
    let s = app.token(&staff).await;
    ok(&app, &s, id, json!({"action": "verify", "passed": true})).await;
    let closed = ok(
        &app,
        &jumin,
        id,
        json!({"action": "rate", "stars": 5, "note": "很及时"}),
    )
    .await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["rating"], 5);
    ok(
        &app,
        &s,
        id,
        json!({"action": "revisit", "note": "居民表示满意"}),
    )
    .await;
    assert_eq!(
        timeline(&app, &jumin, id).await,
        [
            "received",
            "dispatched",
            "signed_for",
            "on_site",
            "solved",
            "verified",
            "rated",
            "revisited"
        ]
    );
    // The resident's own list has it; nobody breached anything.
    let (_, mine) = app.get(Some(&jumin), "/api/v1/requests?view=mine").await;
    assert_eq!(mine["items"][0]["id"], id);
    assert_eq!(mine["items"][0]["breaches"], json!([]));
}

#[tokio::test]
async fn missed_deadlines_breach_once_escalate_and_notify_the_level_above() {
    let app = spawn_app().await;
    let w = app.token("wangge01").await;
    let created = submit(
        &app,
        &w,
        json!({"service_code": "sanitation", "description": "垃圾桶满溢",
               "address_node_id": building_in_grid(&app, 0), "channel": "patrol"}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let t0 = app.clock.now();

    // Eleven minutes later nobody is on site: one breach, one level up.
    app.clock.set(t0 + Duration::minutes(11));
    let detail = wait_for(&app, &w, &id, |d| {
        d["request"]["breaches"] == json!(["arrive"])
    })
    .await;
    assert_eq!(detail["request"]["level"], "compound");
    // Thirty-one minutes: the resolve deadline too; the request reaches the community.
    app.clock.set(t0 + Duration::minutes(31));
    let detail = wait_for(&app, &w, &id, |d| {
        d["request"]["breaches"] == json!(["arrive", "resolve"])
    })
    .await;
    assert_eq!(detail["request"]["level"], "community");
    // Many more polls change nothing: each breach is recorded once.
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    let kinds = timeline(&app, &w, &id).await;
    assert_eq!(
        kinds,
        [
            "received",
            "dispatched",
            "breached",
            "escalated",
            "breached",
            "escalated"
        ]
    );
    let shequ = app.token("shequ1").await;
    let (_, notes) = app.get(Some(&shequ), "/api/v1/notifications").await;
    assert!(
        notes
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "breached" && n["request_id"] == id.as_str()),
        "{notes}"
    );
    // Escalated work can still be done and is counted as late.
    ok(&app, &w, &id, json!({"action": "solve", "note": "已清运"})).await;
    let community = app.community(0).path.id();
    let (status, stats) = app
        .get(
            Some(&shequ),
            &format!(
                "/api/v1/stats/requests?under={community}&from={}&to={}",
                (t0 - Duration::hours(1)).to_rfc3339().replace('+', "%2B"),
                (t0 + Duration::hours(1)).to_rfc3339().replace('+', "%2B"),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["total"], 1);
    assert_eq!(stats["response_rate"], 0.0);
    assert_eq!(stats["on_time_rate"], 0.0);
    assert_eq!(stats["resolution_rate"], 1.0);
    assert_eq!(stats["breaches"], 2);
    assert_eq!(stats["median_handling_minutes"], 31.0);
    assert_eq!(stats["previous"]["total"], 0);
}

#[tokio::test]
async fn a_restart_with_pending_deadlines_misses_none_and_doubles_none() {
    let app = spawn_app().await;
    let w = app.token("wangge01").await;
    let building = building_in_grid(&app, 0);
    let mut ids = Vec::new();
    for n in 0..5 {
        let created = submit(
            &app,
            &w,
            json!({"service_code": "noise", "description": format!("夜间施工噪音 {n}"),
                   "address_node_id": building}),
        )
        .await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    // "Restart": two fresh app states over the same database sweep at the same moment, long
    // after every deadline, as a restarted server and a second instance would.
    let later = app.clock.now() + Duration::hours(2);
    let fresh = || {
        AppState::new(
            app.store.clone(),
            app.clock.clone(),
            WebSettings::local(),
            true,
        )
    };
    let (a, b) = (fresh(), fresh());
    let (ra, rb) = tokio::join!(sweep(&a, later), sweep(&b, later));
    let recorded = ra.unwrap() + rb.unwrap();
    // The running app's own scheduler may have taken some (its clock has not moved, so it
    // cannot): 5 requests × (arrive + resolve), each exactly once.
    assert_eq!(recorded, 10);
    assert_eq!(sweep(&fresh(), later).await.unwrap(), 0);
    for id in &ids {
        let kinds = timeline(&app, &w, id).await;
        assert_eq!(
            kinds.iter().filter(|k| *k == "breached").count(),
            2,
            "{kinds:?}"
        );
    }
}

#[tokio::test]
async fn a_whistle_reaches_the_departments_liaison_who_must_report() {
    let app = spawn_app().await;
    let w = app.token("wangge01").await;
    let created = submit(
        &app,
        &w,
        json!({"service_code": "water_supply", "description": "主管道破裂停水",
               "address_node_id": building_in_grid(&app, 0), "severity": "complex"}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    ok(&app, &w, id, json!({"action": "sign_for"})).await;
    ok(&app, &w, id, json!({"action": "arrive"})).await;
    // Department order: urban_management, fire_service, power, water … → bumen4 is water.
    let whistled = ok(
        &app,
        &w,
        id,
        json!({"action": "whistle", "department": "water", "note": "请自来水公司抢修"}),
    )
    .await;
    assert_eq!(whistled["status"], "whistled");
    assert_eq!(whistled["whistle_department"], "water");
    // Solving before the department reports is refused.
    let (status, refused) = act(&app, &w, id, json!({"action": "solve", "note": "x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid");

    let other_liaison = app.token("bumen1").await;
    let (status, _) = app
        .get(Some(&other_liaison), &format!("/api/v1/requests/{id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not addressed to 城管");
    let (status, _) = act(
        &app,
        &other_liaison,
        id,
        json!({"action": "acknowledge_whistle"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let liaison = app.token("bumen4").await;
    let (_, inbox) = app
        .get(Some(&liaison), "/api/v1/requests?view=whistled")
        .await;
    assert_eq!(inbox["items"][0]["id"], id, "{inbox}");
    let (_, notes) = app.get(Some(&liaison), "/api/v1/notifications").await;
    assert_eq!(notes[0]["kind"], "whistled");
    // The liaison reports late: the whistle deadline is breached once, without escalating.
    app.clock.set(app.clock.now() + Duration::minutes(31));
    wait_for(&app, &w, id, |d| {
        d["request"]["breaches"]
            .as_array()
            .is_some_and(|b| b.iter().any(|x| x == "whistle_acknowledge"))
    })
    .await;
    ok(&app, &liaison, id, json!({"action": "acknowledge_whistle"})).await;
    let reported = ok(
        &app,
        &liaison,
        id,
        json!({"action": "report_whistle", "note": "已更换破损管段"}),
    )
    .await;
    assert_eq!(reported["status"], "on_site");
    // The liaison's work is done: it no longer sees the request.
    let (status, _) = app
        .get(Some(&liaison), &format!("/api/v1/requests/{id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    ok(&app, &w, id, json!({"action": "solve", "note": "恢复供水"})).await;
    let kinds = timeline(&app, &w, id).await;
    for kind in [
        "whistled",
        "whistle_acknowledged",
        "whistle_reported",
        "solved",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
}

#[tokio::test]
async fn returned_requests_are_reassigned_and_extensions_are_approved() {
    let app = spawn_app().await;
    let w1 = app.token("wangge01").await;
    let shequ = app.token("shequ1").await;
    let created = submit(
        &app,
        &shequ,
        json!({"service_code": "property_repair", "description": "电梯故障",
               "address_node_id": building_in_grid(&app, 0), "channel": "walk_in"}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let (status, refused) = act(&app, &w1, id, json!({"action": "return", "note": " "})).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a reason is required: {refused}"
    );
    let returned = ok(
        &app,
        &w1,
        id,
        json!({"action": "return", "note": "不属于本网格"}),
    )
    .await;
    assert_eq!(returned["status"], "received");
    assert_eq!(returned["grid_id"], Value::Null);
    // Returned, it has left the grid: its worker no longer sees it; staff reassign it.
    let grid1 = app.grid(1).path.id().to_string();
    let (status, _) = act(
        &app,
        &w1,
        id,
        json!({"action": "reassign", "grid_id": grid1}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, queue) = app
        .get(Some(&shequ), "/api/v1/requests?status=received")
        .await;
    assert_eq!(queue["items"][0]["id"], id, "in the community's queue");
    let moved = ok(
        &app,
        &shequ,
        id,
        json!({"action": "reassign", "grid_id": grid1}),
    )
    .await;
    assert_eq!(moved["grid_id"], grid1);
    let (status, _) = app.get(Some(&w1), &format!("/api/v1/requests/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no longer wangge01's");

    let w2 = app.token("wangge02").await;
    ok(&app, &w2, id, json!({"action": "sign_for"})).await;
    let asked = ok(
        &app,
        &w2,
        id,
        json!({"action": "request_extension", "minutes": 120, "note": "等待电梯厂家配件"}),
    )
    .await;
    assert_eq!(asked["extension_pending"], 120);
    let before =
        chrono::DateTime::parse_from_rfc3339(asked["resolve_due"].as_str().unwrap()).unwrap();
    let (status, _) = act(&app, &w2, id, json!({"action": "approve_extension"})).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a handler cannot approve their own extension"
    );
    let approved = ok(&app, &shequ, id, json!({"action": "approve_extension"})).await;
    let after =
        chrono::DateTime::parse_from_rfc3339(approved["resolve_due"].as_str().unwrap()).unwrap();
    assert_eq!(after - before, Duration::minutes(120));
    assert_eq!(approved["extension_pending"], Value::Null);
    // A poor rating reopens it with a fresh deadline.
    ok(&app, &w2, id, json!({"action": "solve", "note": "已修复"})).await;
    let reopened = ok(
        &app,
        &shequ,
        id,
        json!({"action": "rate", "stars": 1, "note": "电话回访：仍然故障"}),
    )
    .await;
    assert_eq!(reopened["status"], "dispatched");
    assert_eq!(reopened["resolved_at"], Value::Null);
    let kinds = timeline(&app, &shequ, id).await;
    assert!(
        kinds.ends_with(&["rated".to_owned(), "reopened".to_owned()]),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_a_reason_and_writes_nothing() {
    let app = spawn_app().await;
    let w = app.token("wangge01").await;
    let building = building_in_grid(&app, 0);
    let cases = [
        json!({"service_code": "teleportation", "description": "x", "address_node_id": building}),
        json!({"service_code": "noise", "description": "   ", "address_node_id": building}),
        json!({"service_code": "noise", "description": "x".repeat(4001), "address_node_id": building}),
        json!({"service_code": "noise", "description": "x"}),
        json!({"service_code": "noise", "description": "x", "address_node_id": "not-a-uuid"}),
        json!({"service_code": "noise", "description": "x", "address_node_id": building, "lon": 113.0}),
        json!({"service_code": "noise", "description": "x", "address_node_id": building, "reporter_phone": "12"}),
        json!({"service_code": "noise", "description": "x", "address_node_id": building, "channel": "pigeon"}),
    ];
    for body in cases {
        let (status, answer) = app.post(&w, "/api/v1/requests", body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} → {answer}"
        );
        assert!(!answer["error"]["message"].as_str().unwrap().is_empty());
    }
    // Outside the caller's grid: as if it did not exist.
    let (status, _) = app
        .post(
            &w,
            "/api/v1/requests",
            json!({"service_code": "noise", "description": "x", "address_node_id": building_in_grid(&app, 1)}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = app.get(Some(&w), "/api/v1/requests").await;
    assert_eq!(list["items"], json!([]), "nothing was written");
    // Unknown actions and missing fields.
    let created = submit(
        &app,
        &w,
        json!({"service_code": "noise", "description": "x", "address_node_id": building}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    for body in [
        json!({"action": "fly"}),
        json!({"action": "rate", "stars": 9}),
        json!({"action": "request_extension", "note": "no minutes"}),
        json!({"action": "whistle", "department": "ministry_of_magic", "note": "x"}),
        json!({"action": "close"}),
    ] {
        let (status, answer) = act(&app, &w, id, body.clone()).await;
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::FORBIDDEN,
            "{body} → {status} {answer}"
        );
    }
    let (status, _) = app.get(Some(&w), "/api/v1/stats/requests?under=x").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let community = app.community(0).path.id();
    let (status, _) = app
        .get(
            Some(&w),
            &format!("/api/v1/stats/requests?under={community}&from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z"),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a grid worker gets no community figures"
    );
    let shequ = app.token("shequ1").await;
    let (status, _) = app
        .get(
            Some(&shequ),
            &format!("/api/v1/stats/requests?under={community}&from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn nobody_outside_the_scope_sees_or_touches_a_request() {
    let app = spawn_app().await;
    let w1 = app.token("wangge01").await;
    let created = submit(
        &app,
        &w1,
        json!({"service_code": "parking", "description": "消防通道被占",
               "address_node_id": building_in_grid(&app, 0)}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let community0 = app.community(0).path.id();
    let grid0 = app.grid(0).path.id();
    app.add_user("zhiyuan", mulin_domain::policy::Role::Volunteer, community0)
        .await;
    // Who sees it: by scope, never by guessing an id.
    for (user, sees) in [
        ("admin", true),
        ("jiedao", true),
        ("shequ1", true),
        ("wangge01", true),
        ("wangge02", false),
        ("shequ2", false),
        ("bumen1", false),
        ("jumin", false),
        ("zhiyuan", false),
    ] {
        let token = app.token(user).await;
        let (status, _) = app
            .get(Some(&token), &format!("/api/v1/requests/{id}"))
            .await;
        assert_eq!(status == StatusCode::OK, sees, "{user} GET → {status}");
        let (status, list) = app.get(Some(&token), "/api/v1/requests").await;
        let listed = status == StatusCode::OK
            && list["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["id"] == id);
        assert_eq!(listed, sees, "{user} list → {status}");
        if !sees {
            for action in [
                json!({"action": "sign_for"}),
                json!({"action": "note", "note": "x"}),
            ] {
                let (status, _) = act(&app, &token, id, action).await;
                assert!(
                    status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
                    "{user} acted → {status}"
                );
            }
        }
        let (status, _) = app
            .get(
                Some(&token),
                &format!("/api/v1/stats/requests?under={grid0}"),
            )
            .await;
        let stats_ok = matches!(user, "admin" | "jiedao" | "shequ1" | "wangge01");
        assert_eq!(
            status == StatusCode::OK,
            stats_ok,
            "{user} stats → {status}"
        );
    }
    // Managers see figures but do not do the handler's work.
    let admin = app.token("admin").await;
    let (status, _) = act(&app, &admin, id, json!({"action": "sign_for"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Without a login: nothing at all.
    for path in [
        "/api/v1/requests",
        "/api/v1/services",
        "/api/v1/notifications",
    ] {
        let (status, _) = app.get(None, path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let (status, _) = app.get(None, &format!("/api/v1/requests/{id}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/requests"))
        .json(&json!({"service_code": "noise", "description": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_catalogue_and_the_openapi_document_describe_requests() {
    let app = spawn_app().await;
    let token = app.token("jumin").await;
    let (status, services) = app.get(Some(&token), "/api/v1/services").await;
    assert_eq!(status, StatusCode::OK);
    let services = services.as_array().unwrap();
    assert!(services
        .iter()
        .any(|s| s["code"] == "noise" && s["name"] == "噪音扰民"));
    let (_, doc) = app.get(None, "/api/v1/openapi.json").await;
    for path in [
        "/api/v1/requests",
        "/api/v1/requests/{id}",
        "/api/v1/requests/{id}/actions",
        "/api/v1/stats/requests",
        "/api/v1/notifications",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
}

#[tokio::test]
async fn each_community_sets_its_own_deadlines_even_in_working_days() {
    let app = spawn_app().await;
    let community = app.community(0).path.id();
    let path = format!("/api/v1/communities/{community}/deadline-policy");
    let shequ = app.token("shequ1").await;
    let (status, policy) = app.get(Some(&shequ), &path).await;
    assert_eq!(status, StatusCode::OK, "{policy}");
    assert_eq!(policy["is_default"], true);
    assert_eq!(policy["arrive"], json!({"kind": "clock", "amount": 10}));
    // Seed 002's community: 15 minutes to arrive; hotline-style 7 working days for complex.
    let mut body = policy.clone();
    body["arrive"]["amount"] = json!(15);
    body["resolve_complex"] = json!({"kind": "working_days", "amount": 7});
    body["resolve_major"] = json!({"kind": "working_days", "amount": 10});
    let res = reqwest::Client::new()
        .put(app.url(&path))
        .bearer_auth(&shequ)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let w = app.token("wangge01").await;
    let created = submit(
        &app,
        &w,
        json!({"service_code": "heating", "description": "暖气不热",
               "address_node_id": building_in_grid(&app, 0)}),
    )
    .await;
    // Received Monday 2026-11-23 20:00 China time: the 7th working day after is Wednesday
    // 2 December, due at the close of work (17:30 China time).
    assert_eq!(created["resolve_due"], "2026-12-02T09:30:00Z");
    let received =
        chrono::DateTime::parse_from_rfc3339(created["received_at"].as_str().unwrap()).unwrap();
    let arrive =
        chrono::DateTime::parse_from_rfc3339(created["arrive_due"].as_str().unwrap()).unwrap();
    assert_eq!(arrive - received, Duration::minutes(15));
    // Other communities keep the default.
    let other = app.community(1).path.id();
    let (_, theirs) = app
        .get(
            Some(&app.token("admin").await),
            &format!("/api/v1/communities/{other}/deadline-policy"),
        )
        .await;
    assert_eq!(theirs["is_default"], true);
    // Nonsense is refused: a complex problem may not get less time than an ordinary one.
    let mut bad = policy.clone();
    bad["resolve_complex"] = json!({"kind": "clock", "amount": 5});
    let res = reqwest::Client::new()
        .put(app.url(&path))
        .bearer_auth(&shequ)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A grid worker, or another community's staff, cannot change it.
    for user in ["wangge01", "shequ2"] {
        let res = reqwest::Client::new()
            .put(app.url(&path))
            .bearer_auth(app.token(user).await)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{user}");
    }
}

#[tokio::test]
async fn staff_see_likely_duplicates_and_merge_them_out_of_the_figures() {
    let app = spawn_app().await;
    let w = app.token("wangge01").await;
    let building = building_in_grid(&app, 0);
    let first = submit(
        &app,
        &w,
        json!({"service_code": "sanitation", "description": "垃圾没人清", "address_node_id": building}),
    )
    .await;
    let second = submit(
        &app,
        &w,
        json!({"service_code": "sanitation", "description": "楼下垃圾堆了三天", "address_node_id": building}),
    )
    .await;
    let unrelated = submit(
        &app,
        &w,
        json!({"service_code": "noise", "description": "噪音", "address_node_id": building}),
    )
    .await;
    let (a, b) = (
        first["id"].as_str().unwrap(),
        second["id"].as_str().unwrap(),
    );
    let shequ = app.token("shequ1").await;
    let (_, detail) = app
        .get(Some(&shequ), &format!("/api/v1/requests/{b}"))
        .await;
    let dups: Vec<&str> = detail["possible_duplicates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        dups,
        [a],
        "same service, same building; not the noise complaint"
    );
    // A grid worker cannot merge, so is shown none.
    let (_, theirs) = app.get(Some(&w), &format!("/api/v1/requests/{b}")).await;
    assert_eq!(theirs["possible_duplicates"], json!([]));
    let (status, _) = act(&app, &w, b, json!({"action": "merge", "into": a})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = act(&app, &shequ, b, json!({"action": "merge", "into": b})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "not into itself");
    let merged = ok(&app, &shequ, b, json!({"action": "merge", "into": a})).await;
    assert_eq!(merged["status"], "closed");
    assert_eq!(timeline(&app, &shequ, b).await.last().unwrap(), "merged");
    // The duplicate no longer counts: two requests received, not three.
    let community = app.community(0).path.id();
    let (_, stats) = app
        .get(
            Some(&shequ),
            &format!("/api/v1/stats/requests?under={community}"),
        )
        .await;
    assert_eq!(stats["total"], 2, "{stats}");
    assert!(unrelated["id"].is_string());
}

#[tokio::test]
async fn a_hotline_work_order_is_taken_in_once_and_its_result_read_back() {
    let app = spawn_app().await;
    let shequ = app.token("shequ1").await;
    let building = building_in_grid(&app, 0);
    let order = json!({
        "order_no": "12345-20261123-0042",
        "received_at": "2026-11-23T11:00:00Z",
        "limit_working_days": 7,
        "service_code": "heating",
        "description": "市民来电：家中暖气不热",
        "address_node_id": building,
        "reporter_name": "李先生",
        "reporter_phone": "13700001111",
    });
    let (status, first) = app
        .post(&shequ, "/api/v1/hotline/orders", order.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["created"], true);
    assert_eq!(first["request"]["channel"], "hotline");
    assert_eq!(first["request"]["received_at"], "2026-11-23T11:00:00Z");
    // 7 working days after Monday 23 November: Wednesday 2 December, 17:30 China time.
    assert_eq!(first["request"]["resolve_due"], "2026-12-02T09:30:00Z");
    let (status, again) = app
        .post(&shequ, "/api/v1/hotline/orders", order.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "sent twice: taken in once");
    assert_eq!(again["created"], false);
    assert_eq!(again["request"]["id"], first["request"]["id"]);
    let id = first["request"]["id"].as_str().unwrap();
    let w = app.token("wangge01").await;
    ok(&app, &w, id, json!({"action": "sign_for"})).await;
    ok(
        &app,
        &w,
        id,
        json!({"action": "solve", "note": "已联系供热公司排气，温度恢复"}),
    )
    .await;
    let (status, result) = app
        .get(Some(&shequ), "/api/v1/hotline/orders/12345-20261123-0042")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(result["request"]["status"], "solved");
    assert_eq!(result["result"], "已联系供热公司排气，温度恢复");
    // A grid worker does not take hotline orders; a date in the future is refused.
    let mut other = order.clone();
    other["order_no"] = json!("12345-20261123-0043");
    let (status, _) = app.post(&w, "/api/v1/hotline/orders", other.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    other["received_at"] = json!("2030-01-01T00:00:00Z");
    let (status, _) = app.post(&shequ, "/api/v1/hotline/orders", other).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .get(
            Some(&app.token("shequ2").await),
            "/api/v1/hotline/orders/12345-20261123-0042",
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another community's staff see nothing"
    );
}

/// The centre of a demo grid's rectangle.
fn centre_of(app: &TestApp, idx: usize) -> (f64, f64) {
    let geometry: Value = serde_json::from_str(app.grid(idx).geometry.as_deref().unwrap()).unwrap();
    let ring = geometry["coordinates"][0].as_array().unwrap();
    let (xs, ys): (Vec<f64>, Vec<f64>) = ring
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
        .unzip();
    let mid = |v: &[f64]| {
        (v.iter().cloned().fold(f64::MAX, f64::min) + v.iter().cloned().fold(f64::MIN, f64::max))
            / 2.0
    };
    (mid(&xs), mid(&ys))
}

#[tokio::test]
async fn a_map_pin_routes_to_the_grid_whose_boundary_holds_it() {
    let app = spawn_app().await;
    let shequ = app.token("shequ1").await;
    let (lon, lat) = centre_of(&app, 1);
    let created = submit(
        &app,
        &shequ,
        json!({"service_code": "safety_hazard", "description": "井盖缺失", "lon": lon, "lat": lat,
               "address": "和平路与新华街路口"}),
    )
    .await;
    assert_eq!(created["grid_id"], app.grid(1).path.id().to_string());
    assert_eq!(created["status"], "dispatched");
    assert_eq!(created["address"], "和平路与新华街路口");
    // Outside every grid, with no community to queue it at: refused, not lost silently.
    let (status, _) = app
        .post(
            &shequ,
            "/api/v1/requests",
            json!({"service_code": "safety_hazard", "description": "x", "lon": 100.0, "lat": 30.0}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // With the community given, it lands in the community's queue instead.
    let community = app.community(0).path.id().to_string();
    let queued = submit(
        &app,
        &shequ,
        json!({"service_code": "safety_hazard", "description": "x", "lon": 100.0, "lat": 30.0,
               "community_id": community}),
    )
    .await;
    assert_eq!(queued["status"], "received");
}
