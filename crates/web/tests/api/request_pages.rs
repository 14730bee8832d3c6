//! The request pages through a browser session: the resident's form, the grid worker's
//! inbox and actions, the timeline and the KPI page.

use mulin_domain::tree::NodeKind;
use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_resident_reports_and_the_grid_worker_handles_it_from_the_pages() {
    let app = spawn_app().await;
    let household = app.granted_node("jumin");
    let grids = app.nodes(NodeKind::Grid);
    let g = grids
        .iter()
        .position(|n| Some(n.path.id()) == household.at(NodeKind::Grid))
        .unwrap();
    let worker = format!("wangge{:02}", g + 1);

    let jumin = app.web_login("jumin").await;
    let form = app.html(&jumin, "/requests/new").await;
    assert!(form.contains("data-testid=\"request-form\""), "{form}");
    assert!(
        form.contains(&household.id().to_string()),
        "the household is offered"
    );
    let csrf = app.csrf(&jumin).await;
    // An empty description is refused on the form, in Chinese, and nothing is saved.
    let res = jumin
        .post(app.url("/requests"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("service_code", "noise"),
            ("place", &household.id().to_string()),
            ("description", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("请填写诉求内容"));
    let res = jumin
        .post(app.url("/requests"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("service_code", "noise"),
            ("place", &household.id().to_string()),
            ("description", "楼上深夜装修噪音"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/requests/"));
    let mine = app.html(&jumin, "/requests").await;
    assert!(mine.contains("楼上深夜装修噪音"), "{mine}");
    // Without the CSRF token nothing happens.
    let res = jumin
        .post(app.url("/requests"))
        .form(&[("service_code", "noise"), ("description", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let w = app.web_login(&worker).await;
    let inbox = app.html(&w, "/requests").await;
    assert!(
        inbox.contains("data-due="),
        "countdowns in the inbox: {inbox}"
    );
    let page = app.html(&w, &location).await;
    assert!(page.contains("data-testid=\"action-sign_for\""), "{page}");
    assert!(
        !page.contains("data-testid=\"action-rate\""),
        "the worker does not rate"
    );
    let csrf = app.csrf(&w).await;
    for action in ["sign_for", "arrive"] {
        let res = w
            .post(app.url(&format!("{location}/actions")))
            .form(&[("csrf", csrf.as_str()), ("action", action)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{action}");
    }
    let res = w
        .post(app.url(&format!("{location}/actions")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", "solve"),
            ("note", "已劝导停工"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // The resident now may rate it, and the timeline tells the story.
    let page = app.html(&jumin, &location).await;
    assert!(page.contains("data-testid=\"action-rate\""), "{page}");
    let csrf = app.csrf(&jumin).await;
    let res = jumin
        .post(app.url(&format!("{location}/actions")))
        .form(&[("csrf", csrf.as_str()), ("action", "rate"), ("stars", "4")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = app.html(&jumin, &location).await;
    for label in ["受理", "派单", "签收", "到场", "办结", "评价", "已关闭"] {
        assert!(page.contains(label), "{label} on the page");
    }
    // Another grid's worker gets nothing.
    let other = app
        .web_login(if g == 0 { "wangge02" } else { "wangge01" })
        .await;
    let res = other.get(app.url(&location)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let staff = app.web_login("shequ1").await;
    let stats = app.html(&staff, "/stats/requests").await;
    assert!(stats.contains("data-testid=\"request-stats\""), "{stats}");
    assert!(stats.contains("满意率"));
}
