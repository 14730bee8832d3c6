//! The HTML pages: login, home, walking the tree to a household, search, language.

use mulin_domain::tree::NodeKind;
use reqwest::StatusCode;

use crate::helpers::{browser, spawn_app, PASSWORD};

#[tokio::test]
async fn a_grid_worker_walks_from_home_to_a_household() {
    let app = spawn_app().await;
    let client = app.web_login("wangge01").await;
    let home = app.html(&client, "/").await;
    assert!(home.contains("lang=\"zh-CN\""));
    assert!(home.contains("我的管辖范围"));
    assert!(home.contains("演示数据库"), "demo banner");
    let grid = app.grid(0);
    assert!(home.contains(&format!("href=\"/nodes/{}\"", grid.path.id())));

    let grid_page = client
        .get(app.url(&format!("/nodes/{}", grid.path.id())))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(grid_page.contains(&grid.name));
    assert!(grid_page.contains("data-kind=\"compound\""));
    assert!(
        grid_page.contains("网格员"),
        "the grid worker's post is listed"
    );

    let household = app
        .nodes(NodeKind::Household)
        .into_iter()
        .find(|h| h.path.at(NodeKind::Grid) == Some(grid.path.id()))
        .unwrap();
    let entrance_page = client
        .get(app.url(&format!("/nodes/{}", household.path.parent().unwrap())))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(entrance_page.contains(&format!("href=\"/households/{}\"", household.path.id())));
    let page = client
        .get(app.url(&format!("/households/{}", household.path.id())))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains(household.address.as_deref().unwrap()));
    let members = app
        .demo
        .dataset
        .residents
        .iter()
        .filter(|r| r.household.id() == household.path.id());
    for member in members {
        assert!(page.contains(member.name.as_ref()));
        assert!(page.contains(&member.id_number.as_ref().unwrap().masked()));
        assert!(!page.contains(member.id_number.as_ref().unwrap().expose()));
    }
}

#[tokio::test]
async fn search_answers_htmx_with_a_fragment_and_browsers_with_a_page() {
    let app = spawn_app().await;
    let client = app.web_login("shequ1").await;
    let sample = app.residents_in(NodeKind::Community, app.community(0).path.id())[3];
    let url = app.url(&format!("/search?q={}", sample.name.as_ref()));
    let full = client.get(&url).send().await.unwrap();
    assert_eq!(full.headers()["vary"], "HX-Request");
    let full = full.text().await.unwrap();
    assert!(full.contains("<html") && full.contains(sample.name.as_ref()));
    let fragment = client
        .get(&url)
        .header("hx-request", "true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!fragment.contains("<html"));
    assert!(fragment.contains(&format!("/residents/{}", sample.id)));
}

#[tokio::test]
async fn the_language_switch_sets_english() {
    let app = spawn_app().await;
    let client = app.web_login("wangge01").await;
    let res = client.get(app.url("/lang/en?back=/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/");
    let home = app.html(&client, "/").await;
    assert!(home.contains("lang=\"en\"") && home.contains("My areas"));
    // Only local paths are followed back.
    let res = client
        .get(app.url("/lang/zh-CN?back=//evil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/");
}

#[tokio::test]
async fn a_wrong_password_shows_a_chinese_message() {
    let app = spawn_app().await;
    let res = browser()
        .post(app.url("/login"))
        .form(&[("username", "wangge01"), ("password", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let html = res.text().await.unwrap();
    assert!(html.contains("用户名或密码错误"));
    assert!(html.contains("value=\"wangge01\""));
    let res = browser()
        .post(app.url("/login"))
        .form(&[("username", "nobody"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
