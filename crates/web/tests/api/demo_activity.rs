//! The demo district's replayed request work: every step accepted by the rules, and the
//! office it leaves behind visible through the API (figures, inboxes, timelines).

use chrono::Duration;
use mulin_storage_tests::test_now;
use mulin_web::demo_activity::{replay, ActivityParams};
use mulin_web::WebSettings;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{demo_db, start_app};

const DAYS: u32 = 6;

fn stamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339().replace('+', "%2B")
}

#[tokio::test]
async fn a_replayed_week_leaves_a_working_office_behind() {
    let (db, demo) = demo_db().await;
    let params = ActivityParams {
        days: DAYS,
        end: test_now(),
        seed: 11,
    };
    let summary = replay(db.store(), &demo.dataset, params).await.unwrap();
    assert_eq!(
        summary.refused, 0,
        "every scripted step is one the rules accept"
    );
    assert!(summary.requests > 30, "{summary:?}");
    assert!(summary.commands > 4 * summary.requests, "{summary:?}");
    assert!(
        summary.breaches > 0,
        "late arrivals are recorded: {summary:?}"
    );

    let app = start_app(db, demo, WebSettings::local()).await;
    let admin = app.token("admin").await;
    let district = app.nodes(mulin_domain::tree::NodeKind::District)[0]
        .path
        .id();
    let from = test_now() - Duration::days(i64::from(DAYS) + 1);
    let (status, stats) = app
        .get(
            Some(&admin),
            &format!(
                "/api/v1/stats/requests?under={district}&from={}&to={}",
                stamp(from),
                stamp(test_now())
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["total"].as_u64(), Some(summary.requests as u64));
    let rate = |key: &str| stats[key].as_f64().unwrap_or(-1.0);
    // Some arrive late, most in time; most are solved and most ratings satisfied.
    assert!((0.5..1.0).contains(&rate("response_rate")), "{stats}");
    assert!(rate("resolution_rate") > 0.5, "{stats}");
    assert!(rate("satisfaction_rate") > 0.5, "{stats}");
    assert!(stats["median_handling_minutes"].as_f64().unwrap_or(0.0) > 0.0);

    // The first grid's worker has fresh work with deadlines running.
    let worker = app.token("wangge01").await;
    let (status, open) = app.get(Some(&worker), "/api/v1/requests?open=true").await;
    assert_eq!(status, StatusCode::OK);
    let items = open["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .any(|r| r["status"] == "dispatched" || r["status"] == "signed_for"),
        "{open}"
    );

    // The worker's visits cover part of the grid's households.
    let (status, coverage) = app
        .get(Some(&worker), "/api/v1/visits/coverage?days=7")
        .await;
    assert_eq!(status, StatusCode::OK, "{coverage}");
    let grid = &coverage.as_array().unwrap()[0];
    assert!(grid["visits"].as_i64().unwrap() > 0, "{grid}");
    assert!(
        grid["not_visited"].as_i64().unwrap() < grid["households"].as_i64().unwrap(),
        "{grid}"
    );

    // A whistled request's timeline names the department liaison who answered.
    let (_, all) = app
        .get(Some(&admin), "/api/v1/requests?per_page=200&order=newest")
        .await;
    let mut answered = false;
    for item in all["items"].as_array().unwrap() {
        let (_, one) = app
            .get(
                Some(&admin),
                &format!("/api/v1/requests/{}", item["id"].as_str().unwrap()),
            )
            .await;
        let events: &Vec<Value> = one["events"].as_array().unwrap();
        let times: Vec<&str> = events.iter().map(|e| e["at"].as_str().unwrap()).collect();
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "timeline in order: {events:#?}"
        );
        if let Some(ack) = events.iter().find(|e| e["kind"] == "whistle_acknowledged") {
            assert_ne!(ack["actor"], "system");
            answered = true;
        }
    }
    assert!(answered, "some whistle was answered by its department");
}
