//! Visits, patrols and the floating population over HTTP: logging with record updates
//! (once, audited), a finding becoming a request, coverage, moves in and out with their
//! monthly dynamics, the phone pages, and who may do what.

use chrono::Duration;
use mulin_domain::calendar::WorkCalendar;
use mulin_domain::policy::Role;
use mulin_domain::tree::NodeKind;
use mulin_domain::visit::CoverageWindow;
use mulin_storage_tests::audit_page;
use mulin_web::clock::Clock;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app, TestApp};

/// A household of `grid` with at least one resident, and that resident.
fn household_with_resident(app: &TestApp, grid: usize) -> (String, String) {
    let grid = app.grid(grid).path.id();
    let resident = app.residents_in(NodeKind::Grid, grid)[0];
    (resident.household.id().to_string(), resident.id.to_string())
}

fn households_in(app: &TestApp, grid: usize) -> i64 {
    let grid = app.grid(grid).path.id();
    app.nodes(NodeKind::Household)
        .iter()
        .filter(|n| n.path.at(NodeKind::Grid) == Some(grid))
        .count() as i64
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    let district = app.demo.dataset.nodes[0].path.id().into();
    audit_page(&*app.store, district, 1, 200)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.action)
        .collect()
}

#[tokio::test]
async fn a_visit_updates_the_record_once_and_its_finding_becomes_a_request() {
    let app = spawn_app().await;
    let token = app.token("wangge01").await;
    let (household, resident) = household_with_resident(&app, 0);
    let (status, visit) = app
        .post(
            &token,
            "/api/v1/visits",
            json!({"kind": "home_visit", "minutes": 40, "household_ids": [household],
                   "findings": "楼道灯坏了，老人夜里出门不便",
                   "updates": [{"resident_id": resident, "phone": "13800001111",
                                "status": "floating", "groups": ["living_alone"]}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");
    assert_eq!(visit["kind"], "home_visit");
    assert_eq!(visit["household_ids"], json!([household]));
    let id = visit["id"].as_str().unwrap().to_owned();

    // The update is visible everywhere the resident is read.
    let (_, person) = app
        .get(Some(&token), &format!("/api/v1/residents/{resident}"))
        .await;
    assert_eq!(person["status"], "floating");
    assert!(
        person["special_groups"]
            .as_array()
            .unwrap()
            .contains(&json!("living_alone")),
        "{person}"
    );
    assert!(person["phone"].as_str().unwrap().ends_with("1111"));
    let actions = audit_actions(&app).await;
    assert!(actions.contains(&"visit.create".to_owned()));
    assert!(actions.contains(&"resident.update".to_owned()));

    let (status, mine) = app.get(Some(&token), "/api/v1/visits?mine=true").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let (status, one) = app.get(Some(&token), &format!("/api/v1/visits/{id}")).await;
    assert_eq!(
        (status, one["minutes"].as_i64()),
        (StatusCode::OK, Some(40))
    );

    // One step: the finding becomes a patrol request at the household, linked, once.
    let (status, linked) = app
        .post(
            &token,
            &format!("/api/v1/visits/{id}/request"),
            json!({"service_code": "sanitation"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{linked}");
    let request = linked["request_id"].as_str().unwrap();
    let (_, detail) = app
        .get(Some(&token), &format!("/api/v1/requests/{request}"))
        .await;
    assert_eq!(detail["request"]["channel"], "patrol", "{detail}");
    let (status, _) = app
        .post(
            &token,
            &format!("/api/v1/visits/{id}/request"),
            json!({"service_code": "sanitation"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Coverage of the grid: every other household is still owed a visit.
    let grid = app.grid(0).path.id();
    let (status, coverage) = app
        .get(
            Some(&token),
            &format!("/api/v1/visits/coverage?under={grid}&days=30"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{coverage}");
    let row = &coverage[0];
    assert_eq!(row["grid_id"], grid.to_string());
    assert_eq!(row["households"].as_i64(), Some(households_in(&app, 0)));
    assert_eq!(
        row["not_visited"].as_i64(),
        Some(households_in(&app, 0) - 1)
    );
    assert_eq!(row["visit_minutes"].as_i64(), Some(40));
    let working = CoverageWindow::default()
        .working_minutes(app.clock.today(), &WorkCalendar::china_official());
    assert_eq!(row["workers"].as_i64(), Some(1));
    assert_eq!(row["working_minutes"].as_i64(), Some(working));
    let share = row["visiting_share"].as_f64().unwrap();
    assert!((share - 40.0 / working as f64).abs() < 1e-9);

    // Thirty-one days on, the household is owed a visit again.
    app.clock.set(app.clock.now() + Duration::days(31));
    let token = app.token("wangge01").await;
    let (_, later) = app
        .get(
            Some(&token),
            &format!("/api/v1/visits/coverage?under={grid}"),
        )
        .await;
    assert_eq!(
        later[0]["not_visited"].as_i64(),
        Some(households_in(&app, 0))
    );
    let (status, _) = app
        .get(
            Some(&token),
            &format!("/api/v1/visits/coverage?under={grid}&days=0"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn bad_visits_are_refused_and_write_nothing() {
    let app = spawn_app().await;
    let token = app.token("wangge01").await;
    let (household, _) = household_with_resident(&app, 0);
    let (other_household, other_resident) = household_with_resident(&app, 1);
    let now = app.clock.now();
    for (body, expected) in [
        (
            json!({"kind": "home_visit", "minutes": 0, "household_ids": [household]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"kind": "home_visit", "minutes": 721, "household_ids": [household]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"kind": "chat", "minutes": 10, "household_ids": [household]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"kind": "home_visit", "minutes": 10, "household_ids": []}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"kind": "home_visit", "minutes": 10, "household_ids": [household],
                "visited_at": (now + Duration::hours(2)).to_rfc3339()}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"kind": "home_visit", "minutes": 10, "household_ids": [household],
                "visited_at": (now - Duration::days(31)).to_rfc3339()}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        // Another grid's household: outside the worker's scope.
        (
            json!({"kind": "home_visit", "minutes": 10, "household_ids": [other_household]}),
            StatusCode::NOT_FOUND,
        ),
        // Mixed grids.
        (
            json!({"kind": "home_visit", "minutes": 10, "household_ids": [household, other_household]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        // An update of someone who was not visited: refused, and the visit is not kept.
        (
            json!({"kind": "home_visit", "minutes": 10, "household_ids": [household],
                "updates": [{"resident_id": other_resident, "status": "floating"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"kind": "patrol", "minutes": 10}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (status, answer) = app.post(&token, "/api/v1/visits", body.clone()).await;
        assert_eq!(status, expected, "{body} → {answer}");
    }
    let (_, mine) = app.get(Some(&token), "/api/v1/visits").await;
    assert_eq!(mine["items"], json!([]));
    // A patrol may name no household when it names its grid.
    let grid = app.grid(0).path.id().to_string();
    let (status, _) = app
        .post(
            &token,
            "/api/v1/visits",
            json!({"kind": "patrol", "minutes": 60, "grid_id": grid, "findings": ""}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn visits_are_seen_and_logged_only_in_scope() {
    let app = spawn_app().await;
    app.add_user("xunjian", Role::GridWorker, app.grid(1).path.id())
        .await;
    app.add_user(
        "lianluo",
        Role::DepartmentLiaison,
        app.community(0).path.id(),
    )
    .await;
    let other = app.token("xunjian").await;
    let (other_household, _) = household_with_resident(&app, 1);
    let (status, visit) = app
        .post(
            &other,
            "/api/v1/visits",
            json!({"kind": "home_visit", "minutes": 20, "household_ids": [other_household]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = visit["id"].as_str().unwrap().to_owned();
    let grid1 = app.grid(1).path.id().to_string();
    let community_of_grid1 = app.grid(1).path.at(NodeKind::Community).unwrap();
    let outsider_staff = app
        .nodes(NodeKind::Community)
        .iter()
        .position(|c| c.path.id() != community_of_grid1)
        .unwrap();
    app.add_user(
        "bieshequ",
        Role::CommunityStaff,
        app.community(outsider_staff).path.id(),
    )
    .await;

    // Above or at the grid: seen.
    for username in ["admin", "jiedao", "xunjian"] {
        let token = app.token(username).await;
        let (status, _) = app.get(Some(&token), &format!("/api/v1/visits/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{username}");
        let (_, list) = app.get(Some(&token), "/api/v1/visits").await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{username}");
    }
    // Another grid's worker and another community's staff: not found, empty lists.
    for username in ["wangge01", "bieshequ"] {
        let token = app.token(username).await;
        let (status, _) = app.get(Some(&token), &format!("/api/v1/visits/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{username}");
        let (_, list) = app.get(Some(&token), "/api/v1/visits").await;
        assert_eq!(list["items"], json!([]), "{username}");
        let (status, _) = app
            .get(Some(&token), &format!("/api/v1/visits?under={grid1}"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{username}");
        let (status, _) = app
            .get(
                Some(&token),
                &format!("/api/v1/visits/coverage?under={grid1}"),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{username}");
        let (status, _) = app
            .post(
                &token,
                &format!("/api/v1/visits/{id}/request"),
                json!({"service_code": "sanitation"}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{username}");
    }
    let wangge = app.token("wangge01").await;
    let (status, _) = app
        .post(
            &wangge,
            "/api/v1/visits",
            json!({"kind": "patrol", "minutes": 20, "grid_id": grid1}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Roles without resident data: nothing at all.
    for username in ["jumin", "lianluo"] {
        let token = app.token(username).await;
        for path in [
            "/api/v1/visits".to_owned(),
            format!("/api/v1/visits/{id}"),
            "/api/v1/visits/coverage".into(),
            "/api/v1/floating".into(),
            "/api/v1/floating/dynamics?from=2026-01&to=2026-11".into(),
        ] {
            let (status, body) = app.get(Some(&token), &path).await;
            assert!(
                status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
                "{username} {path}: {status} {body}"
            );
        }
        let (status, _) = app
            .post(
                &token,
                "/api/v1/visits",
                json!({"kind": "home_visit", "minutes": 20, "household_ids": [other_household]}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{username}");
    }
    // Managers see but do not log.
    let admin = app.token("admin").await;
    let (status, _) = app
        .post(
            &admin,
            "/api/v1/visits",
            json!({"kind": "patrol", "minutes": 20, "grid_id": grid1}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for path in [
        "/api/v1/visits",
        "/api/v1/visits/coverage",
        "/api/v1/floating",
    ] {
        let (status, _) = app.get(None, path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[tokio::test]
async fn moves_in_and_out_keep_a_history_and_give_monthly_dynamics() {
    let app = spawn_app().await;
    let token = app.token("wangge01").await;
    let (_, resident) = household_with_resident(&app, 0);
    let path = format!("/api/v1/residents/{resident}/movements");
    let today = app.clock.today();
    let back = |days: i64| (today - Duration::days(days)).to_string();
    for (direction, on) in [("in", back(90)), ("out", back(40)), ("in", back(5))] {
        let (status, body) = app
            .post(
                &token,
                &path,
                json!({"direction": direction, "on": on, "reason": "务工"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{direction} {on}: {body}");
    }
    for (body, why) in [
        (json!({"direction": "in", "on": back(1)}), "already in"),
        (
            json!({"direction": "out", "on": back(10)}),
            "before the last move",
        ),
        (
            json!({"direction": "out", "on": (today + Duration::days(1)).to_string()}),
            "future",
        ),
        (json!({"direction": "sideways", "on": back(1)}), "direction"),
        (json!({"direction": "out", "on": "2026-13-01"}), "date"),
    ] {
        let (status, _) = app.post(&token, &path, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{why}");
    }
    let (status, history) = app.get(Some(&token), &path).await;
    assert_eq!(status, StatusCode::OK);
    let directions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["direction"].as_str().unwrap())
        .collect();
    assert_eq!(directions, ["in", "out", "in"]);

    let (_, current) = app.get(Some(&token), "/api/v1/floating").await;
    assert_eq!(current.as_array().unwrap().len(), 1);
    assert_eq!(current[0]["resident_id"], resident.as_str());
    let (_, past) = app.get(Some(&token), "/api/v1/floating?state=past").await;
    assert_eq!(past, json!([]));

    let month = |days: i64| (today - Duration::days(days)).format("%Y-%m").to_string();
    let (from, to) = (month(120), month(0));
    let grid = app.grid(0).path.id();
    let (status, months) = app
        .get(
            Some(&token),
            &format!("/api/v1/floating/dynamics?under={grid}&from={from}&to={to}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{months}");
    let rows = months.as_array().unwrap();
    assert_eq!(rows.last().unwrap()["present_at_end"], 1);
    let total = |key: &str| rows.iter().map(|r| r[key].as_i64().unwrap()).sum::<i64>();
    assert_eq!((total("moved_in"), total("moved_out")), (2, 1));
    let (status, _) = app
        .get(
            Some(&token),
            &format!("/api/v1/floating/dynamics?from={to}&to={from}"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Another grid's worker neither sees nor records this resident's moves.
    app.add_user("xunjian", Role::GridWorker, app.grid(1).path.id())
        .await;
    let other = app.token("xunjian").await;
    let (status, _) = app.get(Some(&other), &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .post(&other, &path, json!({"direction": "out", "on": back(1)}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, theirs) = app.get(Some(&other), "/api/v1/floating").await;
    assert_eq!(theirs, json!([]));
    // A street manager sees the lists but does not record moves.
    let street = app.token("jiedao").await;
    let (_, seen) = app.get(Some(&street), "/api/v1/floating").await;
    assert_eq!(seen.as_array().unwrap().len(), 1);
    let (status, _) = app
        .post(&street, &path, json!({"direction": "out", "on": back(1)}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        audit_actions(&app)
            .await
            .iter()
            .filter(|a| a.starts_with("movement."))
            .count()
            == 3
    );
}

#[tokio::test]
async fn the_phone_pages_log_a_visit_and_turn_it_into_a_request() {
    let app = spawn_app().await;
    let client = app.web_login("wangge01").await;
    let (household, _) = household_with_resident(&app, 0);
    let form = app.html(&client, "/visits/new").await;
    assert!(form.contains("data-testid=\"visit-form\""));
    assert!(form.contains(&household));
    let csrf = app.csrf(&client).await;
    let res = client
        .post(app.url("/visits"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("kind", "home_visit"),
            ("minutes", "25"),
            ("visited_at", ""),
            ("household", household.as_str()),
            ("findings", "独居老人需要助餐"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/visits/"));
    let page = app.html(&client, &location).await;
    assert!(page.contains("独居老人需要助餐"));
    let res = client
        .post(app.url(&format!("{location}/request")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("service_code", "sanitation"),
            ("household", household.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/requests/"));
    let list = app.html(&client, "/visits").await;
    assert!(list.contains("data-testid=\"visit-row\""));
    assert!(list.contains("data-testid=\"coverage\""));
    // A form without a token is refused.
    let res = client
        .post(app.url("/visits"))
        .form(&[
            ("kind", "home_visit"),
            ("minutes", "25"),
            ("household", household.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // A resident has no visit pages.
    let resident = app.web_login("jumin").await;
    let res = resident.get(app.url("/visits/new")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = resident.get(app.url("/visits")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let floating = app.html(&client, "/floating").await;
    assert!(floating.contains("data-testid=\"dynamics\""));
}
