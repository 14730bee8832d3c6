//! The KPI API over the rollup: breaches by escalation level and by department, over a
//! period of several whole days and its partial ends.

use chrono::{DateTime, Duration, Utc};
use mulin_web::clock::Clock;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::requests::{building_in_grid, ok, submit, wait_for};

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339().replace('+', "%2B")
}

async fn stats(
    app: &TestApp,
    token: &str,
    under: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Value {
    let (status, body) = app
        .get(
            Some(token),
            &format!(
                "/api/v1/stats/requests?under={under}&from={}&to={}",
                stamp(from),
                stamp(to)
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn breaches_are_counted_by_level_and_by_department() {
    let app = crate::helpers::spawn_app().await;
    let w = app.token("wangge01").await;
    let building = building_in_grid(&app, 0);
    let t0 = app.clock.now();
    // One request nobody reaches or solves in time (escalated twice, to the community), one
    // whose whistled department acknowledges late (no escalation).
    let late = submit(
        &app,
        &w,
        json!({"service_code": "sanitation", "description": "垃圾桶满溢",
               "address_node_id": building}),
    )
    .await;
    let late = late["id"].as_str().unwrap().to_owned();
    let whistled = submit(
        &app,
        &w,
        json!({"service_code": "water_supply", "description": "主管道破裂停水",
               "address_node_id": building, "severity": "complex"}),
    )
    .await;
    let whistled = whistled["id"].as_str().unwrap().to_owned();
    ok(&app, &w, &whistled, json!({"action": "sign_for"})).await;
    ok(&app, &w, &whistled, json!({"action": "arrive"})).await;
    ok(
        &app,
        &w,
        &whistled,
        json!({"action": "whistle", "department": "water", "note": "请自来水公司抢修"}),
    )
    .await;
    app.clock.set(t0 + Duration::minutes(11));
    wait_for(&app, &w, &late, |d| d["request"]["level"] == "compound").await;
    app.clock.set(t0 + Duration::minutes(31));
    wait_for(&app, &w, &whistled, |d| {
        d["request"]["breaches"]
            .as_array()
            .is_some_and(|b| b.iter().any(|x| x == "whistle_acknowledge"))
    })
    .await;
    let shequ = app.token("shequ1").await;
    let community = app.community(0).path.id().to_string();
    // Days from the rollup with partial days at both ends; and the hour around the intakes.
    for (from, to) in [
        (
            t0 - Duration::days(3) - Duration::hours(5),
            t0 + Duration::days(2),
        ),
        (t0 - Duration::minutes(30), t0 + Duration::minutes(30)),
    ] {
        let s = stats(&app, &shequ, &community, from, to).await;
        assert_eq!(s["total"], 2, "{s}");
        assert_eq!(s["breaches"], 3, "{s}");
        assert_eq!(
            s["breaches_by_level"],
            json!({"community": 2, "grid": 1}),
            "{s}"
        );
        assert_eq!(s["breaches_by_department"], json!({"water": 1}), "{s}");
        assert_eq!(s["previous"]["breaches_by_level"], json!({}), "{s}");
    }
    // Another community's staff sees none of it.
    let (status, _) = app
        .get(
            Some(&app.token("shequ2").await),
            &format!("/api/v1/stats/requests?under={community}"),
        )
        .await;
    assert!(matches!(
        status,
        StatusCode::NOT_FOUND | StatusCode::FORBIDDEN
    ));
}
