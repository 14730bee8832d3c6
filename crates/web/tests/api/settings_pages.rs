//! The map's settings pages: community staff list, add (typed coordinates; the map click
//! only fills them) and delete their community's service stations through CSRF-checked
//! forms, audited as over the API; the district's administrator sets the grid rules; a
//! role outside the scope gets nothing.

use mulin_storage_tests::audit_page;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, TestApp};

/// Posts a form; the status, where it redirects and the page it shows.
async fn post_form(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    form: &[(&str, String)],
) -> (StatusCode, String, String) {
    let res = client.post(app.url(path)).form(form).send().await.unwrap();
    let status = res.status();
    let location = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location, res.text().await.unwrap())
}

async fn audited(app: &TestApp, action: &str) -> usize {
    let district = app.community(0).path.district().into();
    let log = audit_page(&*app.store, district, 1, 500)
        .await
        .unwrap()
        .items;
    log.iter().filter(|e| e.action == action).count()
}

fn station(csrf: &str, community: &str, name: &str, lon: &str) -> Vec<(&'static str, String)> {
    vec![
        ("csrf", csrf.to_owned()),
        ("community_id", community.to_owned()),
        ("kind", "convenience".to_owned()),
        ("name", name.to_owned()),
        ("lon", lon.to_owned()),
        ("lat", "40.225".to_owned()),
    ]
}

async fn status_of(app: &TestApp, client: &reqwest::Client, path: &str) -> StatusCode {
    client.get(app.url(path)).send().await.unwrap().status()
}

#[tokio::test]
async fn staff_add_and_delete_their_communitys_stations_through_the_page() {
    let app = spawn_app().await;
    let client = app.web_login("shequ1").await;
    let community = app.community(0).path.id().to_string();
    let map = app.html(&client, "/map").await;
    assert!(map.contains("data-testid=\"settings-stations-link\""));
    assert!(!map.contains("data-testid=\"settings-rules-link\""));
    let page = app.html(&client, "/settings/stations").await;
    assert!(page.contains("data-testid=\"station-form\""));
    assert!(page.contains("data-testid=\"station-map\""));
    assert!(page.contains(&format!("<option value=\"{community}\"")));
    let other = app.community(1).path.id().to_string();
    assert!(!page.contains(&other), "another community is offered");
    let csrf = app.csrf(&client).await;

    // Without the CSRF token nothing is recorded.
    let form = station("", &community, "文苑便民服务站", "113.085");
    let (status, _, _) = post_form(&app, &client, "/settings/stations", &form).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A longitude that is no number is refused on the page, in Chinese, keeping the name.
    let form = station(&csrf, &community, "文苑便民服务站", "东经113度");
    let (status, _, html) = post_form(&app, &client, "/settings/stations", &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("请填写正确的经纬度"), "{html}");
    assert!(html.contains("value=\"文苑便民服务站\""));
    // Out of range: the API's own check, its message shown.
    let form = station(&csrf, &community, "文苑便民服务站", "213.0");
    let (status, _, html) = post_form(&app, &client, "/settings/stations", &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("data-testid=\"form-error\""), "{html}");
    assert_eq!(audited(&app, "station.create").await, 0);

    let form = station(&csrf, &community, "文苑便民服务站", "113.085");
    let (status, location, _) = post_form(&app, &client, "/settings/stations", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/settings/stations");
    assert_eq!(audited(&app, "station.create").await, 1);
    let page = app.html(&client, "/settings/stations").await;
    assert!(page.contains("文苑便民服务站"));
    assert!(page.contains("113.085000, 40.225000"));

    // Another community's station (recorded by the administrator) is neither listed nor
    // deletable.
    let admin = app.token("admin").await;
    let (status, theirs) = app
        .post(
            &admin,
            "/api/v1/stations",
            serde_json::json!({"community_id": other, "kind": "party_service",
                               "name": "别处党群服务站", "lon": 113.2, "lat": 40.3}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let page = app.html(&client, "/settings/stations").await;
    assert!(!page.contains("别处党群服务站"));
    let theirs = theirs["id"].as_str().unwrap();
    let delete = [("csrf", csrf.clone())];
    let (status, _, _) = post_form(
        &app,
        &client,
        &format!("/settings/stations/{theirs}/delete"),
        &delete,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Their own: deleted once, audited.
    let (_, stations) = app
        .get(Some(&app.token("shequ1").await), "/api/v1/stations")
        .await;
    let mine = stations
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "文苑便民服务站")
        .and_then(|s| s["id"].as_str())
        .unwrap()
        .to_owned();
    let path = format!("/settings/stations/{mine}/delete");
    let (status, _, _) = post_form(&app, &client, &path, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token");
    let (status, location, _) = post_form(&app, &client, &path, &delete).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/settings/stations");
    assert_eq!(audited(&app, "station.delete").await, 1);
    assert!(!app
        .html(&client, "/settings/stations")
        .await
        .contains("文苑便民服务站"));
}

#[tokio::test]
async fn the_administrator_sets_the_grid_rules_through_the_page() {
    let app = spawn_app().await;
    let client = app.web_login("admin").await;
    assert!(app
        .html(&client, "/map")
        .await
        .contains("data-testid=\"settings-rules-link\""));
    let page = app.html(&client, "/settings/grid-rules").await;
    assert!(page.contains("data-testid=\"rules-form\""));
    assert!(page.contains("name=\"households_over\""));
    assert!(page.contains("data-testid=\"rules-placeholders\""));
    let csrf = app.csrf(&client).await;
    let mut form = vec![
        ("csrf", csrf.clone()),
        ("households_over", "380".to_owned()),
        ("large_area_km2", "0.6".to_owned()),
        ("special_share_over", "0.25".to_owned()),
        ("reference_area_km2", "0.3".to_owned()),
        ("reference_density", "20000".to_owned()),
        ("reference_special_share", "0.2".to_owned()),
        ("reference_places", "40".to_owned()),
        ("walk_minutes", "15".to_owned()),
        ("walk_speed_kmh", "4.5".to_owned()),
        ("detour_factor", "1.3".to_owned()),
    ];
    // A detour factor under 1 is refused with the API's reason; what was typed stays.
    form[10].1 = "0.5".to_owned();
    let (status, _, html) = post_form(&app, &client, "/settings/grid-rules", &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("data-testid=\"form-error\""), "{html}");
    assert!(html.contains("value=\"0.5\""));
    // A household count with a fraction is no count.
    form[10].1 = "1.3".to_owned();
    form[1].1 = "380.5".to_owned();
    let (status, _, html) = post_form(&app, &client, "/settings/grid-rules", &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("请为每一项填写正确的数字"), "{html}");
    assert_eq!(audited(&app, "grid_rules.set").await, 0);

    form[1].1 = "380".to_owned();
    let (status, location, _) = post_form(&app, &client, "/settings/grid-rules", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/settings/grid-rules?saved=1");
    assert_eq!(audited(&app, "grid_rules.set").await, 1);
    let page = app.html(&client, &location).await;
    assert!(page.contains("data-testid=\"rules-saved\""));
    assert!(page.contains("value=\"380\""));
    let (_, rules): (_, Value) = app
        .get(Some(&app.token("admin").await), "/api/v1/grid-score-rules")
        .await;
    assert_eq!(rules["households_over"], 380);
    assert_eq!(rules["detour_factor"], 1.3);
    assert_eq!(rules["is_default"], false);
}

#[tokio::test]
async fn roles_outside_the_scope_get_nothing() {
    let app = spawn_app().await;
    // A grid worker may not manage stations nor set rules; community staff may not set
    // rules. Posting is refused as well, and nothing is written.
    let worker = app.web_login("wangge01").await;
    assert_eq!(
        status_of(&app, &worker, "/settings/stations").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status_of(&app, &worker, "/settings/grid-rules").await,
        StatusCode::FORBIDDEN
    );
    let csrf = app.csrf(&worker).await;
    let community = app.community(0).path.id().to_string();
    let form = station(&csrf, &community, "越权服务站", "113.085");
    let (status, _, _) = post_form(&app, &worker, "/settings/stations", &form).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let staff = app.web_login("shequ1").await;
    assert_eq!(
        status_of(&app, &staff, "/settings/grid-rules").await,
        StatusCode::FORBIDDEN
    );
    let csrf = app.csrf(&staff).await;
    let rules = [("csrf", csrf), ("households_over", "1".to_owned())];
    let (status, _, _) = post_form(&app, &staff, "/settings/grid-rules", &rules).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Not logged in: the login page, not the settings.
    let res = crate::helpers::browser()
        .get(app.url("/settings/stations"))
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), StatusCode::OK);
    assert_eq!(audited(&app, "station.create").await, 0);
    assert_eq!(audited(&app, "grid_rules.set").await, 0);
}
