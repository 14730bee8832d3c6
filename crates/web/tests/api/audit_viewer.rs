//! The audit viewer: `GET /api/v1/audit` and `/audit`, filtered, paged and scoped (the
//! district administrator: everything; a street administrator: what their street's
//! accounts did; anyone else: nothing).

use mulin_domain::tree::NodeKind;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, TestApp};

fn items(body: &Value) -> &Vec<Value> {
    body["items"].as_array().unwrap()
}

/// A grid worker reveals one of their residents through the API; returns the resident id.
async fn reveal_one(app: &TestApp) -> String {
    let grid = app.grid(0).path.id();
    let resident = app.residents_in(NodeKind::Grid, grid)[0];
    let token = app.token("wangge01").await;
    let (status, _) = app
        .get(
            Some(&token),
            &format!("/api/v1/residents/{}?reveal=true", resident.id),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    resident.id.to_string()
}

#[tokio::test]
async fn the_audit_log_is_filtered_by_actor_action_target_days_and_personal_reads() {
    let app = spawn_app().await;
    let revealed = reveal_one(&app).await;
    let admin = app.token("admin").await;

    let (status, body) = app.get(Some(&admin), "/api/v1/audit?personal=true").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!items(&body).is_empty());
    assert!(items(&body)
        .iter()
        .all(|e| e["action"].as_str().unwrap().ends_with(".reveal")));

    let path = format!("/api/v1/audit?actor=wangge01&action=resident.reveal&target={revealed}");
    let (_, body) = app.get(Some(&admin), &path).await;
    assert_eq!(items(&body).len(), 1);
    assert_eq!(items(&body)[0]["username"], "wangge01");
    assert_eq!(items(&body)[0]["target_id"], revealed.as_str());

    // Days are China-time dates, both ends inclusive; before the log began there is nothing.
    let (_, body) = app
        .get(
            Some(&admin),
            &format!("{path}&from=2000-01-01&until=2100-12-31"),
        )
        .await;
    assert_eq!(items(&body).len(), 1);
    let (_, body) = app
        .get(Some(&admin), &format!("{path}&until=2000-01-01"))
        .await;
    assert!(items(&body).is_empty());
    let (status, body) = app.get(Some(&admin), "/api/v1/audit?from=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.to_string().contains("年-月-日"), "{body}");

    // Pages of one entry, newest first, without repeats.
    let (_, first) = app.get(Some(&admin), "/api/v1/audit?per_page=1").await;
    let (_, second) = app
        .get(Some(&admin), "/api/v1/audit?per_page=1&page=2")
        .await;
    assert_eq!(first["has_more"], true);
    assert_eq!(items(&first).len(), 1);
    assert_ne!(items(&first)[0]["id"], items(&second)[0]["id"]);
    assert!(items(&first)[0]["at"].as_str() >= items(&second)[0]["at"].as_str());
}

#[tokio::test]
async fn a_street_administrator_reads_only_what_the_streets_accounts_did() {
    let app = spawn_app().await;
    reveal_one(&app).await;
    let admin = app.token("admin").await;
    let street = app.token("jiedao").await;

    let (_, everything) = app.get(Some(&admin), "/api/v1/audit?per_page=500").await;
    let actors = |body: &Value| -> Vec<String> {
        items(body)
            .iter()
            .map(|e| e["username"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(actors(&everything).contains(&"admin".to_owned()));

    let (status, mine) = app.get(Some(&street), "/api/v1/audit?per_page=500").await;
    assert_eq!(status, StatusCode::OK);
    let seen = actors(&mine);
    assert!(seen.contains(&"wangge01".to_owned()), "{seen:?}");
    assert!(!seen.contains(&"admin".to_owned()), "{seen:?}");
    assert!(seen.len() < actors(&everything).len());
}

#[tokio::test]
async fn only_administrators_reach_the_audit_api_and_page() {
    let app = spawn_app().await;
    let (status, _) = app.get(None, "/api/v1/audit").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for (username, expected) in [
        ("admin", StatusCode::OK),
        ("jiedao", StatusCode::OK),
        ("shequ1", StatusCode::FORBIDDEN),
        ("wangge01", StatusCode::FORBIDDEN),
        ("jumin", StatusCode::FORBIDDEN),
    ] {
        let token = app.token(username).await;
        let (status, body) = app.get(Some(&token), "/api/v1/audit").await;
        assert_eq!(status, expected, "{username}");
        if expected != StatusCode::OK {
            assert!(body.get("items").is_none(), "{username} got entries");
        }
        let client = app.web_login(username).await;
        let res = client
            .get(app.url("/audit?personal=true"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), expected, "page for {username}");
    }
}

#[tokio::test]
async fn the_audit_page_shows_the_filtered_log() {
    let app = spawn_app().await;
    let revealed = reveal_one(&app).await;
    let client = app.web_login("admin").await;
    let html = app
        .html(&client, "/audit?personal=true&actor=wangge01")
        .await;
    assert!(html.contains("data-testid=\"audit-filters\""));
    assert!(html.contains(&revealed));
    assert!(html.contains("resident.reveal"));
    assert!(html.contains("checked"), "the filter stays set");
    let html = app.html(&client, "/audit?actor=nobody").await;
    assert!(html.contains("data-testid=\"audit-empty\""));
}
