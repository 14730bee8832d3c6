//! Representatives and building captains over HTTP: the community overview with 5–15
//! warnings, replacing a post's households (API and page form), each scoped by the policy
//! and audited.

use mulin_domain::ids::{DistrictId, NodeId};
use mulin_domain::policy::Role;
use mulin_domain::tree::NodeKind;
use mulin_storage_tests::audit_page;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn put(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .put(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn households_of(app: &TestApp, community: NodeId) -> Vec<String> {
    app.nodes(NodeKind::Household)
        .into_iter()
        .filter(|h| h.path.at(NodeKind::Community) == Some(community))
        .map(|h| h.path.id().to_string())
        .collect()
}

async fn audited(app: &TestApp) -> usize {
    let district: DistrictId = app.demo.dataset.nodes[0].path.id().into();
    let log = audit_page(&*app.store, district, 1, 500)
        .await
        .unwrap()
        .items;
    log.iter().filter(|e| e.action == "post.households").count()
}

#[tokio::test]
async fn staff_see_loads_and_replace_a_posts_households() {
    let app = spawn_app().await;
    let community = app.granted_node("shequ1").id();
    let shequ = app.token("shequ1").await;
    let path = format!("/api/v1/communities/{community}/representatives");
    let (status, body) = app.get(Some(&shequ), &path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["min_households"], 5);
    assert_eq!(body["max_households"], 15);
    let posts = body["posts"].as_array().unwrap();
    assert!(!posts.is_empty());
    let post = posts[0]["id"].as_str().unwrap().to_owned();
    let before = body["unlinked_households"].as_u64().unwrap();
    assert!(before <= body["households"].as_u64().unwrap());

    // Three households: fewer than five, so the post is flagged.
    let mine = households_of(&app, community);
    let three: Vec<&String> = mine.iter().take(3).collect();
    let (status, body) = put(
        &app,
        &shequ,
        &format!("/api/v1/posts/{post}/households"),
        json!({ "household_ids": three }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["households"], 3);
    assert_eq!(body["warning"], "too_few");
    assert_eq!(audited(&app).await, 1);

    let (_, body) = app.get(Some(&shequ), &path).await;
    let view = body["posts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == post.as_str())
        .unwrap()
        .clone();
    assert_eq!(view["households"], 3);
    assert_eq!(view["warning"], "too_few");

    // A household of another community is refused and nothing changes.
    let other = app
        .nodes(NodeKind::Community)
        .into_iter()
        .map(|c| c.path.id())
        .find(|c| *c != community)
        .expect("a second community");
    let foreign = households_of(&app, other)[0].clone();
    let (status, _) = put(
        &app,
        &shequ,
        &format!("/api/v1/posts/{post}/households"),
        json!({ "household_ids": [mine[0], foreign] }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(audited(&app).await, 1);
    let (_, body) = app.get(Some(&shequ), &path).await;
    assert!(body["posts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == post.as_str() && p["households"] == 3));

    let spec = app.get(None, "/api/v1/openapi.json").await.1;
    assert!(spec["paths"]["/api/v1/posts/{id}/households"]["put"].is_object());
    assert!(spec["paths"]["/api/v1/communities/{id}/representatives"]["get"].is_object());
}

#[tokio::test]
async fn grid_workers_and_other_communities_get_nothing() {
    let app = spawn_app().await;
    let community = app.granted_node("shequ1").id();
    let path = format!("/api/v1/communities/{community}/representatives");
    let shequ = app.token("shequ1").await;
    let post = app.get(Some(&shequ), &path).await.1["posts"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let put_path = format!("/api/v1/posts/{post}/households");
    let one = json!({ "household_ids": [households_of(&app, community)[0]] });

    let wangge = app.token("wangge01").await;
    let (status, _) = app.get(Some(&wangge), &path).await;
    assert!(matches!(
        status,
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ));
    let (status, _) = put(&app, &wangge, &put_path, one.clone()).await;
    assert!(matches!(
        status,
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ));

    let other = app
        .nodes(NodeKind::Community)
        .into_iter()
        .map(|c| c.path.id())
        .find(|c| *c != community)
        .unwrap();
    app.add_user("shequ_other", Role::CommunityStaff, other)
        .await;
    let stranger = app.token("shequ_other").await;
    assert_eq!(
        app.get(Some(&stranger), &path).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        put(&app, &stranger, &put_path, one).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(audited(&app).await, 0);

    // The page too.
    let browser = app.web_login("wangge01").await;
    let status = browser
        .get(app.url(&format!("/communities/{community}/representatives")))
        .send()
        .await
        .unwrap()
        .status();
    assert!(matches!(
        status,
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ));
}

#[tokio::test]
async fn the_page_lists_posts_and_links_households_through_the_form() {
    let app = spawn_app().await;
    let community = app.granted_node("shequ1").id();
    let browser = app.web_login("shequ1").await;
    let page = format!("/communities/{community}/representatives");
    let node = app.html(&browser, &format!("/nodes/{community}")).await;
    assert!(node.contains(&format!("href=\"{page}\"")));
    let html = app.html(&browser, &page).await;
    assert!(html.contains("data-testid=\"rep-posts\""), "{html}");
    assert!(html.contains("data-testid=\"unlinked-count\""));

    let shequ = app.token("shequ1").await;
    let api = format!("/api/v1/communities/{community}/representatives");
    let post = app.get(Some(&shequ), &api).await.1["posts"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let html = app.html(&browser, &format!("{page}?post={post}")).await;
    assert!(html.contains("data-testid=\"rep-form\""));

    let mine = households_of(&app, community);
    let form: Vec<(&str, &str)> = mine
        .iter()
        .take(6)
        .map(|h| ("household", h.as_str()))
        .collect();
    // Without the CSRF token nothing changes.
    let res = browser
        .post(app.url(&format!("{page}/{post}")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(audited(&app).await, 0);

    let csrf = app.csrf(&browser).await;
    let mut with_csrf = form.clone();
    with_csrf.push(("csrf", csrf.as_str()));
    let res = browser
        .post(app.url(&format!("{page}/{post}")))
        .form(&with_csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(audited(&app).await, 1);
    let body = app.get(Some(&shequ), &api).await.1;
    let view = body["posts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == post.as_str())
        .unwrap()
        .clone();
    assert_eq!(view["households"], 6);
    assert!(view["warning"].is_null());
}
