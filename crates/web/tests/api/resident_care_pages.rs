//! The resident's care page and the care page's forms, as a phone's browser uses them:
//! moves in and out with their history, the health record (65+), setting up a family
//! sickbed and logging its visits, each form CSRF-checked and each refusal shown in Chinese.

use chrono::Duration;
use mulin_domain::tree::NodePath;
use mulin_web::clock::Clock;
use reqwest::StatusCode;

use crate::care::residents;
use crate::helpers::spawn_app;
use crate::helpers::TestApp;

/// Posts a form with the session's CSRF token; the status and the redirect target or body.
async fn post_form(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let csrf = app.csrf(client).await;
    let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let res = client.post(app.url(path)).form(&form).send().await.unwrap();
    let status = res.status();
    let location = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = res.text().await.unwrap();
    (status, location.unwrap_or(body))
}

#[tokio::test]
async fn moves_and_the_health_record_are_kept_from_the_resident_page() {
    let app = spawn_app().await;
    let (old, _) = residents(&app);
    let client = app.web_login("wangge01").await;
    let care = format!("/residents/{old}/care");
    let html = app.html(&client, &format!("/residents/{old}")).await;
    assert!(
        html.contains(&format!("href=\"{care}\"")),
        "linked from the resident page"
    );
    let html = app.html(&client, &care).await;
    for form in ["move-form", "health-form", "sickbed-form"] {
        assert!(html.contains(&format!("data-testid=\"{form}\"")), "{form}");
    }

    let moves = format!("/residents/{old}/moves");
    let (status, to) = post_form(
        &app,
        &client,
        &moves,
        &[
            ("direction", "in"),
            ("on", "2025-01-10"),
            ("reason", "务工"),
        ],
    )
    .await;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, care.as_str())
    );
    let html = app.html(&client, &care).await;
    assert!(
        html.contains("2025-01-10") && html.contains("务工"),
        "in the history"
    );
    // The next move offered is the move out.
    assert!(html.contains("name=\"direction\" value=\"out\""));
    let (status, body) = post_form(
        &app,
        &client,
        &moves,
        &[("direction", "in"), ("on", "2025-02-01"), ("reason", "")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("data-testid=\"form-error\"") && body.contains("迁入后须先迁出"));
    let res = client
        .post(app.url(&moves))
        .form(&[("direction", "out"), ("on", "2025-02-01")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "no CSRF token, no move"
    );

    let (status, to) = post_form(
        &app,
        &client,
        &format!("/residents/{old}/health"),
        &[
            ("conditions", "高血压"),
            ("care_team", "家庭医生一组"),
            ("notes", ""),
        ],
    )
    .await;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, care.as_str())
    );
    let reads_before = health_reads(&app).await;
    let html = app.html(&client, &care).await;
    assert!(html.contains("高血压"));
    assert_eq!(
        health_reads(&app).await,
        reads_before + 1,
        "the read is audited"
    );
}

async fn health_reads(app: &TestApp) -> usize {
    let district = app.demo.dataset.nodes[0].path;
    app.store
        .search_audit(
            district.id().into(),
            &[district],
            &mulin_storage::AuditQuery {
                action: Some("health.read".to_owned()),
                page: 1,
                per_page: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items
        .len()
}

#[tokio::test]
async fn a_sickbed_is_set_up_falls_overdue_and_a_visit_clears_it() {
    let app = spawn_app().await;
    let (old, _) = residents(&app);
    let client = app.web_login("wangge01").await;
    let today = app.clock.today().to_string();
    let (status, _) = post_form(
        &app,
        &client,
        &format!("/residents/{old}/sickbeds"),
        &[
            ("care_team", "家庭医生一组"),
            ("every_days", "91"),
            ("starts_on", &today),
        ],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "refused with the reason on the page"
    );
    let (status, _) = post_form(
        &app,
        &client,
        &format!("/residents/{old}/sickbeds"),
        &[
            ("care_team", "家庭医生一组"),
            ("every_days", "7"),
            ("starts_on", &today),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let district = app.demo.dataset.nodes[0].path;
    let beds = app
        .store
        .sickbeds_under(district.id().into(), &[NodePath::root(district.id())])
        .await
        .unwrap();
    assert_eq!(beds.len(), 1);

    app.clock.set(app.clock.now() + Duration::days(2));
    let client = app.web_login("wangge01").await;
    let html = app.html(&client, "/care?overdue=1").await;
    assert!(html.contains("data-testid=\"overdue\""), "two days late");
    let visit = format!("/care/sickbeds/{}/visits", beds[0].id);
    assert!(html.contains(&visit), "a visit form on the row");
    let day = app.clock.today().to_string();
    let (status, to) =
        post_form(&app, &client, &visit, &[("on", &day), ("note", "血压平稳")]).await;
    assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, "/care"));
    let html = app.html(&client, "/care?overdue=1").await;
    assert!(
        !html.contains("data-testid=\"overdue\""),
        "cleared by the visit"
    );
}

#[tokio::test]
async fn the_care_forms_are_refused_outside_the_scope() {
    let app = spawn_app().await;
    let (old, _) = residents(&app);
    let resident = app.web_login("jumin").await;
    let res = resident
        .get(app.url(&format!("/residents/{old}/care")))
        .send()
        .await
        .unwrap();
    assert!(matches!(
        res.status(),
        StatusCode::NOT_FOUND | StatusCode::FORBIDDEN
    ));
    let (status, _) = post_form(
        &app,
        &resident,
        &format!("/residents/{old}/moves"),
        &[("direction", "in"), ("on", "2025-01-10")],
    )
    .await;
    assert!(matches!(
        status,
        StatusCode::NOT_FOUND | StatusCode::FORBIDDEN
    ));
    // A street administrator sees the resident but keeps no registry.
    let street = app.web_login("jiedao").await;
    let html = app.html(&street, &format!("/residents/{old}/care")).await;
    assert!(!html.contains("data-testid=\"move-form\""));
    let (status, _) = post_form(
        &app,
        &street,
        &format!("/residents/{old}/health"),
        &[("conditions", "x"), ("care_team", "y"), ("notes", "")],
    )
    .await;
    assert!(matches!(
        status,
        StatusCode::NOT_FOUND | StatusCode::FORBIDDEN
    ));
    let (status, _) = post_form(
        &app,
        &resident,
        "/care/sickbeds/0190a0a0-0000-7000-8000-000000000000/visits",
        &[("on", "2025-01-10")],
    )
    .await;
    assert!(matches!(
        status,
        StatusCode::NOT_FOUND | StatusCode::FORBIDDEN
    ));
}
