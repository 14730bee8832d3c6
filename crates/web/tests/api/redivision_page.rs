//! The re-division page: community staff make a proposal through the form, see its
//! figures and building moves, apply it once (audited, as over the API) and are told in
//! Chinese when it was already applied; a grid worker and another community's staff get
//! nothing.

use mulin_domain::tree::NodeKind;
use mulin_storage_tests::audit_page;
use reqwest::StatusCode;

use crate::helpers::{spawn_app, TestApp};

/// Grids of community `idx`.
fn grids_of(app: &TestApp, idx: usize) -> usize {
    let community = app.community(idx).path.id();
    app.nodes(NodeKind::Grid)
        .iter()
        .filter(|g| g.path.at(NodeKind::Community) == Some(community))
        .count()
}

/// Posts a form; the status and where it redirects (or the page it shows).
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

fn ask(csrf: &str, target: usize) -> Vec<(&'static str, String)> {
    vec![
        ("csrf", csrf.to_owned()),
        ("mode", "rebalance".to_owned()),
        ("target_count", target.to_string()),
        ("min_households", "200".to_owned()),
        ("max_households", "900".to_owned()),
    ]
}

async fn redivisions(app: &TestApp) -> usize {
    let district = app.community(0).path.district().into();
    let log = audit_page(&*app.store, district, 1, 500)
        .await
        .unwrap()
        .items;
    log.iter().filter(|e| e.action == "grids.redivide").count()
}

#[tokio::test]
async fn staff_propose_check_and_apply_a_redivision_through_the_page() {
    let app = spawn_app().await;
    let client = app.web_login("shequ1").await;
    let community = app.community(0).path.id();
    let node = app.html(&client, &format!("/nodes/{community}")).await;
    assert!(node.contains("data-testid=\"redivision-link\""));
    let form_path = format!("/communities/{community}/redivision");
    let form = app.html(&client, &form_path).await;
    assert!(form.contains("data-testid=\"redivision-form\""));
    let csrf = app.csrf(&client).await;

    // Without the CSRF token nothing is made.
    let (status, _, _) = post_form(&app, &client, &form_path, &ask("", 1)[1..]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // An unreadable number is refused on the form, in Chinese.
    let mut bad = ask(&csrf, 1);
    bad[2].1 = "两个".to_owned();
    let (status, _, html) = post_form(&app, &client, &form_path, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("请填写正确的数字"), "{html}");

    let n = grids_of(&app, 0);
    let (status, location, _) = post_form(&app, &client, &form_path, &ask(&csrf, n - 1)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with(&format!("{form_path}/")), "{location}");
    let page = app.html(&client, &location).await;
    assert!(page.contains("data-testid=\"redivision-figures\""));
    assert!(page.contains("户数在范围内的网格"));
    assert!(page.contains("留在原网格的户数"));
    assert!(
        page.contains(&format!("<td>{n}</td><td>{}</td>", n - 1)),
        "{page}"
    );
    assert!(page.contains("data-testid=\"redivision-moves\""));
    assert!(page.contains("data-testid=\"redivision-apply\""));
    assert!(!page.contains("data-testid=\"redivision-applied\""));
    // The map beside the moves: the proposal to draw, its script, and each move's building
    // to point at.
    let proposal_id = location.rsplit('/').next().unwrap();
    assert!(
        page.contains(&format!("data-proposal=\"{proposal_id}\"")),
        "{page}"
    );
    assert!(page.contains("/assets/map-extra.js"));
    assert!(page.contains("data-building-id=\""));
    let script = client
        .get(app.url("/assets/map-extra.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);

    let apply = format!("{location}/apply");
    // Not without the confirmation.
    let (status, _, html) = post_form(&app, &client, &apply, &[("csrf", csrf.clone())]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("请勾选确认"), "{html}");
    assert_eq!(redivisions(&app).await, 0);

    let confirmed = [("csrf", csrf.clone()), ("confirm", "yes".to_owned())];
    let (status, back, _) = post_form(&app, &client, &apply, &confirmed).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(back, location);
    let page = app.html(&client, &location).await;
    assert!(page.contains("data-testid=\"redivision-applied\""));
    assert!(!page.contains("data-testid=\"redivision-apply\""));
    assert_eq!(redivisions(&app).await, 1);

    // Twice is refused with a clear message, and nothing more is written.
    let (status, _, html) = post_form(&app, &client, &apply, &confirmed).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("该方案已应用过"), "{html}");
    assert_eq!(redivisions(&app).await, 1);
}

#[tokio::test]
async fn a_grid_worker_and_another_communitys_staff_get_nothing() {
    let app = spawn_app().await;
    let staff = app.web_login("shequ1").await;
    let csrf = app.csrf(&staff).await;
    let community = app.community(0).path.id();
    let form_path = format!("/communities/{community}/redivision");
    let (status, location, _) =
        post_form(&app, &staff, &form_path, &ask(&csrf, grids_of(&app, 0) - 1)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Community 0's staff cannot see community 1's page.
    let other = app.community(1).path.id();
    let res = staff
        .get(app.url(&format!("/communities/{other}/redivision")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // Nor a proposal of community 0 under community 1's address.
    let id = location.rsplit('/').next().unwrap();
    let res = staff
        .get(app.url(&format!("/communities/{other}/redivision/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // A grid worker sees neither the form nor the proposal, and cannot apply it.
    let worker = app.web_login("wangge01").await;
    let worker_csrf = app.csrf(&worker).await;
    for path in [form_path.clone(), location.clone()] {
        let res = worker.get(app.url(&path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _, _) = post_form(
        &app,
        &worker,
        &format!("{location}/apply"),
        &[("csrf", worker_csrf), ("confirm", "yes".to_owned())],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(redivisions(&app).await, 0);
}
