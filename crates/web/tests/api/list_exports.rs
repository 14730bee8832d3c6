//! Exports of the visit, coverage, sickbed and audit lists over HTTP: the list's rows and
//! filters, headers in the caller's language, formula-like CSV cells defused, personal data
//! no more visible than in the list, every export audited, and nothing for a caller outside
//! the list's scope.

use chrono::Duration;
use mulin_domain::policy::Role;
use mulin_domain::tree::NodeKind;
use mulin_storage_tests::audit_page;
use mulin_web::clock::Clock;
use reqwest::StatusCode;
use serde_json::json;

use crate::care::{add_weekly_sickbed, residents};
use crate::floating_ledger::sheet_cells;
use crate::helpers::{spawn_app, TestApp};

/// A download with a bearer token and an `Accept-Language`: status, content type, body.
async fn download(
    app: &TestApp,
    token: &str,
    path: &str,
    lang: &str,
) -> (StatusCode, String, Vec<u8>) {
    let res = reqwest::Client::new()
        .get(app.url(path))
        .bearer_auth(token)
        .header("Accept-Language", lang)
        .send()
        .await
        .unwrap();
    let kind = format!("{:?}", res.headers().get(reqwest::header::CONTENT_TYPE));
    (res.status(), kind, res.bytes().await.unwrap().to_vec())
}

/// The rows of a CSV export (BOM stripped), cells split naively: the tests' cells hold no
/// commas or quotes.
fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("a byte-order mark");
    text.split("\r\n")
        .filter(|line| !line.is_empty())
        .map(|line| line.split(',').map(str::to_owned).collect())
        .collect()
}

/// How many audit entries carry `action`.
async fn audited(app: &TestApp, action: &str) -> usize {
    let district = app.demo.dataset.nodes[0].path.id().into();
    audit_page(&*app.store, district, 1, 500)
        .await
        .unwrap()
        .items
        .iter()
        .filter(|entry| entry.action == action)
        .count()
}

fn refused(status: StatusCode) -> bool {
    matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND)
}

#[tokio::test]
async fn the_visit_list_and_its_coverage_export_in_the_callers_language_and_are_audited() {
    let app = spawn_app().await;
    let token = app.token("wangge01").await;
    let grid0 = app.grid(0).path.id();
    let resident = app.residents_in(NodeKind::Grid, grid0)[0].clone();
    let household = resident.household.id().to_string();
    let (status, visit) = app
        .post(
            &token,
            "/api/v1/visits",
            json!({"kind": "home_visit", "minutes": 25, "household_ids": [household], "findings": "=1+1 楼道漏水"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");

    let (status, kind, bytes) =
        download(&app, &token, "/api/v1/visits.xlsx?mine=true", "zh-CN").await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.contains("spreadsheetml"), "{kind}");
    let cells = sheet_cells(&bytes);
    assert_eq!(
        cells[0],
        [
            "时间",
            "类型",
            "网格",
            "走访人",
            "时长（分钟）",
            "走访户",
            "发现情况",
            "关联诉求"
        ]
    );
    assert_eq!(cells.len(), 2, "{cells:?}");
    assert_eq!(cells[1][1], "入户走访");
    assert_eq!(cells[1][2], grid0.to_string());
    assert_eq!(cells[1][3], visit["visitor_name"].as_str().unwrap());
    assert_eq!(cells[1][4], "25");
    assert_eq!(cells[1][5], household);
    assert_eq!(cells[1][6], "=1+1 楼道漏水", "xlsx keeps the text as text");

    let (status, kind, bytes) =
        download(&app, &token, "/api/v1/visits.csv", "en-US,en;q=0.8").await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.contains("text/csv"), "{kind}");
    let rows = csv_rows(&bytes);
    assert_eq!(rows[0][0], "Time");
    assert_eq!(rows[0][6], "Findings");
    assert_eq!(rows[1][1], "Home visit");
    assert_eq!(
        rows[1][6], "'=1+1 楼道漏水",
        "a formula-like cell is defused"
    );
    // Nothing of the residents' personal data beyond what the list shows.
    let text = String::from_utf8(bytes).unwrap();
    let number = resident.id_number.as_ref().unwrap().expose();
    assert!(!text.contains(number));
    assert!(!text.contains(AsRef::<str>::as_ref(&resident.name)));

    let (_, coverage) = app
        .get(
            Some(&token),
            &format!("/api/v1/visits/coverage?under={grid0}&days=30"),
        )
        .await;
    let (status, _, bytes) = download(
        &app,
        &token,
        &format!("/api/v1/visits/coverage.xlsx?under={grid0}&days=30"),
        "zh-CN",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let cells = sheet_cells(&bytes);
    assert_eq!(cells[0][0], "网格");
    assert_eq!(cells[0][2], "未走访户数");
    let listed = coverage.as_array().unwrap();
    assert_eq!(cells.len(), listed.len() + 1);
    assert_eq!(cells[1][0], listed[0]["grid_name"].as_str().unwrap());
    assert_eq!(cells[1][2], listed[0]["not_visited"].to_string());
    assert_eq!(cells[1][3], "1");

    assert_eq!(audited(&app, "export.visits").await, 2);
    assert_eq!(audited(&app, "export.visit_coverage").await, 1);
}

#[tokio::test]
async fn visit_exports_give_nothing_outside_the_lists_scope() {
    let app = spawn_app().await;
    let token = app.token("wangge01").await;
    let household = app.residents_in(NodeKind::Grid, app.grid(0).path.id())[0]
        .household
        .id()
        .to_string();
    let (status, _) = app
        .post(
            &token,
            "/api/v1/visits",
            json!({"kind": "home_visit", "minutes": 20, "household_ids": [household]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    app.add_user("xunjian", Role::GridWorker, app.grid(1).path.id())
        .await;
    let other = app.token("xunjian").await;
    let grid0 = app.grid(0).path.id();
    // Another grid's worker: the list is empty, so the export has the header only.
    for path in ["/api/v1/visits.xlsx", "/api/v1/visits/coverage.xlsx"] {
        let (status, _, bytes) = download(&app, &other, path, "zh-CN").await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let cells = sheet_cells(&bytes);
        assert!(
            cells
                .iter()
                .skip(1)
                .all(|row| !row.contains(&grid0.to_string())),
            "{path}: {cells:?}"
        );
    }
    let (_, _, bytes) = download(&app, &other, "/api/v1/visits.xlsx", "zh-CN").await;
    assert_eq!(sheet_cells(&bytes).len(), 1, "no other grid's visit");
    let before = audited(&app, "export.visits").await;
    for path in [
        format!("/api/v1/visits.xlsx?under={grid0}"),
        format!("/api/v1/visits.csv?under={grid0}"),
        format!("/api/v1/visits/coverage.xlsx?under={grid0}"),
        format!("/api/v1/visits/coverage.csv?under={grid0}"),
    ] {
        let (status, _, _) = download(&app, &other, &path, "zh-CN").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let jumin = app.token("jumin").await;
    for path in [
        "/api/v1/visits.xlsx",
        "/api/v1/visits.csv",
        "/api/v1/visits/coverage.xlsx",
        "/api/v1/visits/coverage.csv",
    ] {
        let (status, _, _) = download(&app, &jumin, path, "zh-CN").await;
        assert!(refused(status), "{path}: {status}");
        let (status, _) = app.get(None, path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    assert_eq!(
        audited(&app, "export.visits").await,
        before,
        "a refused export is not recorded as one"
    );
}

#[tokio::test]
async fn sickbeds_and_their_overdue_counts_export_with_the_lists_filters_and_scope() {
    let app = spawn_app().await;
    let token = app.token("wangge01").await;
    let (old, _) = residents(&app);
    let patient = app
        .residents_in(NodeKind::Grid, app.grid(0).path.id())
        .into_iter()
        .find(|r| r.id.to_string() == old)
        .unwrap()
        .clone();
    let today = app.clock.today();
    add_weekly_sickbed(&app, &token, &old).await;
    app.clock.set(app.clock.now() + Duration::days(2));
    let token = app.token("wangge01").await;
    let grid0 = app.grid(0).path.id().to_string();

    let (status, _, bytes) =
        download(&app, &token, "/api/v1/sickbeds.xlsx?overdue=true", "zh-CN").await;
    assert_eq!(status, StatusCode::OK);
    let cells = sheet_cells(&bytes);
    assert_eq!(
        cells[0],
        [
            "患者",
            "网格",
            "医护团队",
            "随访间隔（天）",
            "上次随访",
            "下次随访",
            "逾期天数"
        ]
    );
    assert_eq!(cells.len(), 2, "{cells:?}");
    assert_eq!(cells[1][0], AsRef::<str>::as_ref(&patient.name));
    assert_eq!(cells[1][1], grid0);
    assert_eq!(cells[1][2], "家庭医生一组");
    assert_eq!(cells[1][3], "7");
    assert_eq!(cells[1][5], today.to_string());
    assert_eq!(cells[1][6], "2");

    let (status, _, bytes) = download(&app, &token, "/api/v1/sickbeds.csv", "en").await;
    assert_eq!(status, StatusCode::OK);
    let rows = csv_rows(&bytes);
    assert_eq!(rows[0][0], "Patient");
    assert_eq!(rows.len(), 2);
    // The list shows the patient by name only: no ID number, no phone.
    let text = String::from_utf8(bytes).unwrap();
    assert!(!text.contains(patient.id_number.as_ref().unwrap().expose()));
    if let Some(phone) = &patient.phone {
        assert!(!text.contains(phone.expose()));
    }

    let (status, _, bytes) = download(&app, &token, "/api/v1/sickbeds/overdue.csv", "zh-CN").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        csv_rows(&bytes),
        [
            vec!["网格".to_owned(), "家庭病床数".into(), "逾期数".into()],
            vec![grid0.clone(), "1".into(), "1".into()],
        ]
    );
    assert_eq!(audited(&app, "export.sickbeds").await, 2);
    assert_eq!(audited(&app, "export.sickbeds_overdue").await, 1);

    // Another grid's worker: header only, and not found under this grid; a resident: nothing.
    app.add_user("xunjian", Role::GridWorker, app.grid(1).path.id())
        .await;
    let other = app.token("xunjian").await;
    for path in ["/api/v1/sickbeds.xlsx", "/api/v1/sickbeds/overdue.xlsx"] {
        let (status, _, bytes) = download(&app, &other, path, "zh-CN").await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(sheet_cells(&bytes).len(), 1, "{path}");
    }
    let jumin = app.token("jumin").await;
    for path in [
        "/api/v1/sickbeds.xlsx",
        "/api/v1/sickbeds.csv",
        "/api/v1/sickbeds/overdue.xlsx",
        "/api/v1/sickbeds/overdue.csv",
    ] {
        let (status, _, _) =
            download(&app, &other, &format!("{path}?under={grid0}"), "zh-CN").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        let (status, _, _) = download(&app, &jumin, path, "zh-CN").await;
        assert!(refused(status), "{path}: {status}");
        let (status, _) = app.get(None, path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    assert_eq!(
        (
            audited(&app, "export.sickbeds").await,
            audited(&app, "export.sickbeds_overdue").await
        ),
        (3, 2),
        "the header-only exports are recorded, the refused ones are not"
    );
}

#[tokio::test]
async fn administrators_export_the_filtered_audit_log_and_no_one_else_does() {
    let app = spawn_app().await;
    let wangge = app.token("wangge01").await;
    let (status, _, _) = download(&app, &wangge, "/api/v1/sickbeds/overdue.xlsx", "zh-CN").await;
    assert_eq!(status, StatusCode::OK);

    let admin = app.token("admin").await;
    let (status, _, bytes) = download(
        &app,
        &admin,
        "/api/v1/audit.xlsx?action=export.sickbeds_overdue&page=7&per_page=1",
        "zh-CN",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let cells = sheet_cells(&bytes);
    assert_eq!(
        cells[0],
        ["时间", "用户", "操作", "对象类型", "对象", "地址", "详情"]
    );
    assert_eq!(cells.len(), 2, "paging is ignored: {cells:?}");
    assert_eq!(cells[1][1], "wangge01");
    assert_eq!(cells[1][2], "export.sickbeds_overdue");

    let (status, _, bytes) = download(&app, &admin, "/api/v1/audit.csv?actor=wangge01", "en").await;
    assert_eq!(status, StatusCode::OK);
    let rows = csv_rows(&bytes);
    assert_eq!(rows[0][1], "User");
    assert!(rows.len() > 1);
    assert!(
        rows.iter().skip(1).all(|row| row[1] == "wangge01"),
        "{rows:?}"
    );
    assert_eq!(audited(&app, "export.audit").await, 2);

    let (status, _, _) = download(&app, &admin, "/api/v1/audit.xlsx?from=soon", "zh-CN").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for username in ["shequ1", "wangge01", "jumin"] {
        let token = app.token(username).await;
        for path in ["/api/v1/audit.xlsx", "/api/v1/audit.csv"] {
            let (status, _, _) = download(&app, &token, path, "zh-CN").await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{username} {path}");
        }
    }
    let (status, _) = app.get(None, "/api/v1/audit.csv").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        audited(&app, "export.audit").await,
        2,
        "refused exports are not recorded"
    );
}

#[tokio::test]
async fn each_lists_page_links_its_export_and_the_link_downloads_in_the_session() {
    let app = spawn_app().await;
    let client = app.web_login("admin").await;
    for (page, link) in [
        ("/visits", "/api/v1/visits.xlsx?mine=true"),
        ("/visits", "/api/v1/visits/coverage.csv?days="),
        ("/care", "/api/v1/sickbeds.xlsx"),
        ("/care?overdue=1", "/api/v1/sickbeds.csv?overdue=true"),
        ("/care", "/api/v1/sickbeds/overdue.xlsx"),
        ("/audit", "formaction=\"/api/v1/audit.xlsx\""),
    ] {
        let html = app.html(&client, page).await;
        assert!(html.contains(link), "{page} links {link}");
    }
    for path in ["/api/v1/sickbeds.xlsx", "/api/v1/audit.csv?actor=admin"] {
        let res = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(res
            .headers()
            .get(reqwest::header::CONTENT_DISPOSITION)
            .is_some());
    }
}

#[tokio::test]
async fn a_communitys_representatives_export_for_its_staff_only() {
    let app = spawn_app().await;
    let community = app.granted_node("shequ1").id();
    let shequ = app.token("shequ1").await;
    let (_, list) = app
        .get(
            Some(&shequ),
            &format!("/api/v1/communities/{community}/representatives"),
        )
        .await;
    let posts = list["posts"].as_array().unwrap();
    let xlsx = format!("/api/v1/communities/{community}/representatives.xlsx");
    let csv = format!("/api/v1/communities/{community}/representatives.csv");
    let (status, _, bytes) = download(&app, &shequ, &xlsx, "zh-CN").await;
    assert_eq!(status, StatusCode::OK);
    let cells = sheet_cells(&bytes);
    assert_eq!(
        cells[0],
        ["姓名", "职务", "所在网格/楼栋", "联系户数", "提示"]
    );
    assert_eq!(cells.len(), posts.len() + 1);
    assert_eq!(cells[1][0], posts[0]["holder_name"].as_str().unwrap());
    assert_eq!(cells[1][2], posts[0]["node_name"].as_str().unwrap());
    assert_eq!(cells[1][3], posts[0]["households"].to_string());
    let (status, _, bytes) = download(&app, &shequ, &csv, "en").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(csv_rows(&bytes)[0][0], "Holder");
    assert_eq!(audited(&app, "export.representatives").await, 2);
    let client = app.web_login("shequ1").await;
    let page = app
        .html(
            &client,
            &format!("/communities/{community}/representatives"),
        )
        .await;
    assert!(page.contains(&xlsx));

    let other = app
        .nodes(NodeKind::Community)
        .into_iter()
        .find(|c| c.path.id() != community)
        .unwrap()
        .path
        .id();
    let wangge = app.token("wangge01").await;
    let jumin = app.token("jumin").await;
    for path in [&xlsx, &csv] {
        for token in [&wangge, &jumin] {
            let (status, _, _) = download(&app, token, path, "zh-CN").await;
            assert!(refused(status), "{path}: {status}");
        }
        let (status, _) = app.get(None, path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let (status, _, _) = download(
        &app,
        &shequ,
        &format!("/api/v1/communities/{other}/representatives.xlsx"),
        "zh-CN",
    )
    .await;
    assert!(refused(status), "another community: {status}");
    assert_eq!(audited(&app, "export.representatives").await, 2);
}
