//! CSRF, origin checks, rate limits, cookies, masking and the audit trail of reveals.

use mulin_domain::tree::NodeKind;
use mulin_storage_tests::audit_page;
use mulin_web::WebSettings;
use reqwest::StatusCode;

use crate::helpers::{browser, spawn_app, spawn_app_with, PASSWORD};

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_strict() {
    let app = spawn_app().await;
    let res = browser()
        .post(app.url("/login"))
        .form(&[("username", "wangge01"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert!(res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
}

#[tokio::test]
async fn form_posts_need_the_session_csrf_token() {
    let app = spawn_app().await;
    let client = app.web_login("wangge01").await;
    let res = client
        .post(app.url("/logout"))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        client.get(app.url("/")).send().await.unwrap().status(),
        StatusCode::OK,
        "still logged in"
    );
    let token = app.csrf(&client).await;
    let res = client
        .post(app.url("/logout"))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        client.get(app.url("/")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER,
        "logged out"
    );
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = spawn_app().await;
    for (header, value) in [
        ("origin", "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let res = browser()
            .post(app.url("/login"))
            .header(header, value)
            .form(&[("username", "wangge01"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{header}");
    }
    let same_origin = browser()
        .post(app.url("/login"))
        .header("origin", app.base.as_str())
        .form(&[("username", "wangge01"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_username() {
    let app = spawn_app_with(WebSettings {
        login_per_minute_per_user: 3,
        ..WebSettings::local()
    })
    .await;
    let attempt = |password: &'static str| {
        let app = &app;
        async move {
            reqwest::Client::new()
                .post(app.url("/api/v1/login"))
                .json(&serde_json::json!({"username": "shequ2", "password": password}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for _ in 0..3 {
        assert_eq!(attempt("wrong").await, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused until the window passes.
    assert_eq!(attempt(PASSWORD).await, StatusCode::TOO_MANY_REQUESTS);
    // Other accounts are unaffected.
    app.token("shequ3").await;
    // The form shows the limit in Chinese.
    let res = browser()
        .post(app.url("/login"))
        .form(&[("username", "shequ2"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.text().await.unwrap().contains("尝试次数过多"));
}

#[tokio::test]
async fn revealing_personal_data_is_audited_and_masking_is_the_default() {
    let app = spawn_app().await;
    let grid = app.grid(0).path.id();
    let resident = app.residents_in(NodeKind::Grid, grid)[0];
    let full_id = resident.id_number.as_ref().unwrap().expose().to_owned();

    let client = app.web_login("wangge01").await;
    let page = app
        .html(&client, &format!("/residents/{}", resident.id))
        .await;
    assert!(!page.contains(&full_id), "masked by default");
    assert!(page.contains(&resident.id_number.as_ref().unwrap().masked()));

    // Without the CSRF header the reveal is refused; with it the htmx partial shows all.
    let res = client
        .post(app.url(&format!("/residents/{}/reveal", resident.id)))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let token = app.csrf(&client).await;
    let res = client
        .post(app.url(&format!("/residents/{}/reveal", resident.id)))
        .header("hx-request", "true")
        .header("x-csrf-token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let partial = res.text().await.unwrap();
    assert!(partial.contains(&full_id));
    assert!(!partial.contains("<html"), "htmx gets the fragment only");

    let log = audit_page(&*app.store, resident.household.district().into(), 1, 50)
        .await
        .unwrap();
    let entry = log
        .items
        .iter()
        .find(|e| e.action == "resident.reveal")
        .expect("audited");
    assert_eq!(entry.username, "wangge01");
    assert_eq!(entry.target_id, resident.id.to_string());
    assert_eq!(entry.ip.as_deref(), Some("127.0.0.1"));

    // Logins are writes too, and recorded.
    assert!(log
        .items
        .iter()
        .any(|e| e.action == "login" && e.username == "wangge01"));

    // The admin sees the entry in the audit viewer.
    let admin = app.web_login("admin").await;
    let audit = app.html(&admin, "/audit").await;
    assert!(audit.contains("resident.reveal") && audit.contains("wangge01"));
}
