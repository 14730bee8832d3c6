//! Elderly care over HTTP: health records only for residents aged 65+, every read audited
//! and only for roles that serve residents; family sickbeds flagged overdue as the clock
//! moves, per grid, and scoped.

use chrono::Duration;
use mulin_domain::care::is_elderly;
use mulin_domain::policy::Role;
use mulin_domain::tree::NodeKind;
use mulin_storage_tests::audit_page;
use mulin_web::clock::Clock;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app, TestApp};

/// A JSON PUT with a bearer token; the status and the JSON answer (or null).
async fn put(
    app: &TestApp,
    token: &str,
    path: &str,
    body: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    let res = reqwest::Client::new()
        .put(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

/// An elderly and a younger resident of grid 0.
pub(crate) fn residents(app: &TestApp) -> (String, String) {
    let today = app.clock.today();
    let grid = app.grid(0).path.id();
    let people = app.residents_in(NodeKind::Grid, grid);
    let old = people
        .iter()
        .find(|r| is_elderly(r.birth_date, today))
        .expect("an elderly resident in grid 0");
    let young = people
        .iter()
        .find(|r| r.birth_date.is_some() && !is_elderly(r.birth_date, today))
        .expect("a younger resident in grid 0");
    (old.id.to_string(), young.id.to_string())
}

#[tokio::test]
async fn health_records_are_for_the_elderly_and_every_read_is_audited() {
    let app = spawn_app().await;
    let token = app.token("wangge01").await;
    let (old, young) = residents(&app);
    let body = json!({"conditions": "高血压", "care_team": "家庭医生一组", "notes": "每周测血压"});
    let (status, saved) = put(
        &app,
        &token,
        &format!("/api/v1/residents/{old}/health"),
        body.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (status, _) = put(
        &app,
        &token,
        &format!("/api/v1/residents/{young}/health"),
        body.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, read) = app
        .get(Some(&token), &format!("/api/v1/residents/{old}/health"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["conditions"], "高血压");
    let district = app.demo.dataset.nodes[0].path.id().into();
    let log = audit_page(&*app.store, district, 1, 100)
        .await
        .unwrap()
        .items;
    assert!(log
        .iter()
        .any(|e| e.action == "health.read" && e.target_id == old));
    assert!(log
        .iter()
        .any(|e| e.action == "health.update" && e.target_id == old));

    // Managers see residents masked but not health data; other grids see nothing.
    let admin = app.token("admin").await;
    let (status, _) = app
        .get(Some(&admin), &format!("/api/v1/residents/{old}/health"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = put(
        &app,
        &app.token("jiedao").await,
        &format!("/api/v1/residents/{old}/health"),
        body.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.add_user("xunjian", Role::GridWorker, app.grid(1).path.id())
        .await;
    let other = app.token("xunjian").await;
    let (status, _) = app
        .get(Some(&other), &format!("/api/v1/residents/{old}/health"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = put(
        &app,
        &other,
        &format!("/api/v1/residents/{old}/health"),
        body,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .get(None, &format!("/api/v1/residents/{old}/health"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Sets up a sickbed for `resident` visited weekly by 家庭医生一组 from today; its view.
pub(crate) async fn add_weekly_sickbed(
    app: &TestApp,
    token: &str,
    resident: &str,
) -> serde_json::Value {
    let today = app.clock.today();
    let (status, bed) = app
        .post(token, "/api/v1/sickbeds",
              json!({"resident_id": resident, "care_team": "家庭医生一组", "every_days": 7, "starts_on": today.to_string()}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bed}");
    bed
}

#[tokio::test]
async fn sickbed_visits_fall_overdue_as_the_clock_moves() {
    let app = spawn_app().await;
    let token = app.token("wangge01").await;
    let (old, _) = residents(&app);
    let today = app.clock.today();
    let bed = add_weekly_sickbed(&app, &token, &old).await;
    assert_eq!(bed["overdue"], false);
    let id = bed["id"].as_str().unwrap().to_owned();
    for body in [
        json!({"resident_id": old, "care_team": "一组", "every_days": 0, "starts_on": today.to_string()}),
        json!({"resident_id": old, "care_team": "一组", "every_days": 91, "starts_on": today.to_string()}),
        json!({"resident_id": old, "care_team": " ", "every_days": 7, "starts_on": today.to_string()}),
        json!({"resident_id": old, "care_team": "一组", "every_days": 7, "starts_on": "soon"}),
    ] {
        let (status, _) = app.post(&token, "/api/v1/sickbeds", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }

    // Two days on, the first visit is late.
    app.clock.set(app.clock.now() + Duration::days(2));
    let token = app.token("wangge01").await;
    let (_, late) = app.get(Some(&token), "/api/v1/sickbeds?overdue=true").await;
    assert_eq!(late.as_array().unwrap().len(), 1);
    assert_eq!(late[0]["days_overdue"], 2);
    let grid = app.grid(0).path.id().to_string();
    let (_, counts) = app.get(Some(&token), "/api/v1/sickbeds/overdue").await;
    assert_eq!(
        counts,
        json!([{"grid_id": grid, "sickbeds": 1, "overdue": 1}])
    );

    // A visit today clears it and sets the next one a week on.
    let visit_day = app.clock.today();
    let (status, after) = app
        .post(
            &token,
            &format!("/api/v1/sickbeds/{id}/visits"),
            json!({"on": visit_day.to_string(), "note": "测血压"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{after}");
    assert_eq!(after["overdue"], false);
    assert_eq!(
        after["next_due"],
        (visit_day + Duration::days(7)).to_string()
    );
    let (status, _) = app
        .post(
            &token,
            &format!("/api/v1/sickbeds/{id}/visits"),
            json!({"on": (visit_day + Duration::days(1)).to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, late) = app.get(Some(&token), "/api/v1/sickbeds?overdue=true").await;
    assert_eq!(late, json!([]));

    // Scope: another grid's worker sees none and cannot log; a resident gets nothing.
    app.add_user("xunjian", Role::GridWorker, app.grid(1).path.id())
        .await;
    let other = app.token("xunjian").await;
    let (_, theirs) = app.get(Some(&other), "/api/v1/sickbeds").await;
    assert_eq!(theirs, json!([]));
    let (status, _) = app
        .get(Some(&other), &format!("/api/v1/sickbeds?under={grid}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .post(
            &other,
            &format!("/api/v1/sickbeds/{id}/visits"),
            json!({"on": visit_day.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .post(&other, "/api/v1/sickbeds", json!({"resident_id": old, "care_team": "一组", "every_days": 7, "starts_on": today.to_string()}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let jumin = app.token("jumin").await;
    for path in ["/api/v1/sickbeds", "/api/v1/sickbeds/overdue"] {
        let (status, _) = app.get(Some(&jumin), path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let street = app.token("jiedao").await;
    let (_, seen) = app.get(Some(&street), "/api/v1/sickbeds").await;
    assert_eq!(seen.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn special_groups_list_by_group_and_the_care_page_flags_overdue_sickbeds() {
    let app = spawn_app().await;
    let token = app.token("wangge01").await;
    let today = app.clock.today();
    let grid = app.grid(0).path.id();
    let elderly_in_grid = app
        .residents_in(NodeKind::Grid, grid)
        .iter()
        .filter(|r| is_elderly(r.birth_date, today))
        .count();
    let (status, page) = app
        .get(Some(&token), "/api/v1/special-groups/elderly")
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), elderly_in_grid);
    assert!(page["items"][0]["id_number"]
        .as_str()
        .is_none_or(|n| n.contains('*')));
    let (status, _) = app.get(Some(&token), "/api/v1/special-groups/rich").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .get(
            Some(&app.token("jumin").await),
            "/api/v1/special-groups/elderly",
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (old, _) = residents(&app);
    let (status, _) = app
        .post(
            &token,
            "/api/v1/sickbeds",
            json!({"resident_id": old, "care_team": "家庭医生一组", "every_days": 7,
                     "starts_on": (today - Duration::days(3)).to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let client = app.web_login("wangge01").await;
    let html = app.html(&client, "/care?group=elderly").await;
    assert!(html.contains("data-testid=\"group-members\""));
    assert!(
        html.contains("data-testid=\"overdue\""),
        "the sickbed is flagged"
    );
    let resident = app.web_login("jumin").await;
    let res = resident.get(app.url("/care")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}
