//! The import page: the form for those who may import, a dry run listing every problem by
//! row and column, then the import; CSRF and scope are checked as for every page post.

use mulin_domain::tree::NodeKind;
use reqwest::StatusCode;

use crate::floating_ledger::{floating_ledger, stay};
use crate::helpers::TestApp;
use crate::ledger::{address_of, id_number, ledger, row};

/// Posts a ledger as the page's htmx form does; returns the status and the first answer
/// (the job's progress, or the refusal).
async fn start_import(
    app: &TestApp,
    client: &reqwest::Client,
    csrf: Option<&str>,
    under: &str,
    dry_run: bool,
    bytes: Vec<u8>,
) -> (StatusCode, String) {
    start_kind_import(app, client, csrf, "residents", under, dry_run, bytes).await
}

/// [`start_import`] of a `kind` of ledger (`residents` or `floating`).
async fn start_kind_import(
    app: &TestApp,
    client: &reqwest::Client,
    csrf: Option<&str>,
    kind: &str,
    under: &str,
    dry_run: bool,
    bytes: Vec<u8>,
) -> (StatusCode, String) {
    let form = reqwest::multipart::Form::new()
        .text("kind", kind.to_owned())
        .text("under", under.to_owned())
        .text("dry_run", dry_run.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("底册.xlsx"),
        );
    let mut req = client
        .post(app.url("/imports"))
        .header("hx-request", "true")
        .multipart(form);
    if let Some(csrf) = csrf {
        req = req.header("x-csrf-token", csrf);
    }
    let res = req.send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// The job a progress fragment polls.
fn job_path(progress: &str) -> String {
    let start = progress.find("hx-get=\"").expect("a progress fragment") + "hx-get=\"".len();
    let end = progress[start..].find('"').unwrap() + start;
    progress[start..end].to_owned()
}

/// Polls a job as the progress fragment does until it answers with something else.
async fn poll_to_end(app: &TestApp, client: &reqwest::Client, job: &str) -> (StatusCode, String) {
    loop {
        let res = client
            .get(app.url(job))
            .header("hx-request", "true")
            .send()
            .await
            .unwrap();
        let status = res.status();
        let html = res.text().await.unwrap();
        if status != StatusCode::OK || !html.contains("data-testid=\"import-progress\"") {
            return (status, html);
        }
        tokio::task::yield_now().await;
    }
}

/// Posts a ledger and follows its job to the report.
async fn post_import(
    app: &TestApp,
    client: &reqwest::Client,
    csrf: Option<&str>,
    under: &str,
    dry_run: bool,
    bytes: Vec<u8>,
) -> (StatusCode, String) {
    let (status, html) = start_import(app, client, csrf, under, dry_run, bytes).await;
    if status != StatusCode::OK {
        return (status, html);
    }
    poll_to_end(app, client, &job_path(&html)).await
}

#[tokio::test]
async fn the_import_page_checks_then_imports_and_lists_problems_by_row_and_column() {
    let app = crate::helpers::spawn_app().await;
    let client = app.web_login("wangge01").await;
    let page = app.html(&client, "/imports").await;
    assert!(page.contains("data-testid=\"import-form\""));
    assert!(page.contains("/api/v1/imports/residents/template.xlsx"));
    let grid = app.grid(0).path.id().to_string();
    assert!(
        page.contains(&grid),
        "the grid is offered as the place to import under"
    );

    let household = app
        .nodes(NodeKind::Household)
        .into_iter()
        .find(|h| h.path.at(NodeKind::Grid) == Some(app.grid(0).path.id()))
        .unwrap()
        .clone();
    let address = address_of(&app, &household);
    let good = id_number("14021219560314231");
    let bad = ledger(&[
        row("张好", &good, &address, &household.name, ""),
        row("王坏", "140212195603142", &address, &household.name, ""),
    ]);
    let csrf = app.csrf(&client).await;

    // Without the CSRF token nothing happens.
    let (status, _) = post_import(&app, &client, None, &grid, true, bad.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, html) = post_import(&app, &client, Some(&csrf), &grid, true, bad).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-ok=\"false\""), "{html}");
    assert!(html.contains("<td>4</td><td>身份证号码</td>"), "{html}");
    assert!(!html.contains("<html"), "htmx gets the report only");

    let good_file = ledger(&[row("张好", &good, &address, &household.name, "")]);
    let (_, html) = post_import(&app, &client, Some(&csrf), &grid, true, good_file.clone()).await;
    assert!(html.contains("data-ok=\"true\""), "{html}");
    assert!(
        app.find_by_number(&good[14..]).await.is_empty(),
        "a dry run writes nothing"
    );
    let (_, html) = post_import(&app, &client, Some(&csrf), &grid, false, good_file).await;
    assert!(html.contains("data-ok=\"true\""), "{html}");
    assert_eq!(app.find_by_number(&good[14..]).await.len(), 1);
}

#[tokio::test]
async fn only_those_who_may_import_reach_the_page_and_only_under_their_places() {
    let app = crate::helpers::spawn_app().await;
    for (username, expected) in [
        ("admin", StatusCode::OK),
        ("shequ1", StatusCode::OK),
        ("wangge01", StatusCode::OK),
        ("jiedao", StatusCode::FORBIDDEN),
        ("jumin", StatusCode::FORBIDDEN),
    ] {
        let client = app.web_login(username).await;
        let res = client.get(app.url("/imports")).send().await.unwrap();
        assert_eq!(res.status(), expected, "{username}");
    }
    // A grid worker posting under another grid gets nothing written and no report.
    let client = app.web_login("wangge01").await;
    let csrf = app.csrf(&client).await;
    let other_grid = app.grid(1).path.id().to_string();
    let (status, html) =
        post_import(&app, &client, Some(&csrf), &other_grid, true, ledger(&[])).await;
    assert!(
        status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
        "{status}"
    );
    assert!(!html.contains("import-report"));
    // Anonymous callers are sent to the login form.
    let res = crate::helpers::browser()
        .get(app.url("/imports"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_import_shows_its_progress_to_the_one_who_started_it_only() {
    let app = crate::helpers::spawn_app().await;
    let client = app.web_login("wangge01").await;
    let csrf = app.csrf(&client).await;
    let grid = app.grid(0).path.id().to_string();
    let household = app
        .nodes(NodeKind::Household)
        .into_iter()
        .find(|h| h.path.at(NodeKind::Grid) == Some(app.grid(0).path.id()))
        .unwrap()
        .clone();
    let address = address_of(&app, &household);
    let numbers: Vec<String> = (0..40)
        .map(|idx| id_number(&format!("1402121956031{idx:04}")))
        .collect();
    let rows: Vec<_> = numbers
        .iter()
        .map(|number| row("李进", number, &address, &household.name, ""))
        .collect();
    let (status, progress) =
        start_import(&app, &client, Some(&csrf), &grid, false, ledger(&rows)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        progress.contains("data-testid=\"import-progress\""),
        "{progress}"
    );
    assert!(progress.contains("<progress"), "{progress}");
    let job = job_path(&progress);
    assert!(job.starts_with("/imports/jobs/"), "{job}");

    // Nobody else sees the job: not another account of the same community, not a guest.
    let staff = app.web_login("shequ1").await;
    let res = staff
        .get(app.url(&job))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = crate::helpers::browser()
        .get(app.url(&job))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // Its owner follows it to the report, which is handed out once.
    let (status, report) = poll_to_end(&app, &client, &job).await;
    assert_eq!(status, StatusCode::OK);
    assert!(report.contains("data-ok=\"true\""), "{report}");
    assert!(report.contains("新增居民: 40"), "{report}");
    assert_eq!(app.find_by_number(&numbers[7]).await.len(), 1);
    let res = client.get(app.url(&job)).send().await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "a fetched report is gone"
    );
}

#[tokio::test]
async fn a_floating_ledger_runs_as_a_job_and_reports_in_the_users_language() {
    let app = crate::helpers::spawn_app().await;
    let client = app.web_login("wangge01").await;
    let csrf = app.csrf(&client).await;
    let grid = app.grid(0).path.id().to_string();
    let household = app.household_in_grid(0);
    let address = address_of(&app, &household).concat();
    let here = id_number("41052219950612301");
    let good = floating_ledger(&[stay(
        "刘来",
        &here,
        &address,
        ["2025-03-01", "务工", "", "", "", "", ""],
    )]);
    let (status, progress) = start_kind_import(
        &app,
        &client,
        Some(&csrf),
        "floating",
        &grid,
        false,
        good.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        progress.contains("data-testid=\"import-progress\""),
        "a floating import is a job too: {progress}"
    );
    let job = job_path(&progress);
    let staff = app.web_login("shequ1").await;
    let res = staff
        .get(app.url(&job))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "owner only");
    let (status, report) = poll_to_end(&app, &client, &job).await;
    assert_eq!(status, StatusCode::OK);
    assert!(report.contains("data-ok=\"true\""), "{report}");
    assert!(report.contains("新增迁入迁出记录: 1"), "{report}");
    assert_eq!(app.find_by_number(&here[14..]).await.len(), 1);

    // In English, the problems of a bad file come back in English.
    client.get(app.url("/lang/en")).send().await.unwrap();
    let bad = floating_ledger(&[stay(
        "陈走",
        &id_number("41052219880203402"),
        &address,
        ["2025-13-01", "务工", "", "", "", "", ""],
    )]);
    let (status, progress) =
        start_kind_import(&app, &client, Some(&csrf), "floating", &grid, true, bad).await;
    assert_eq!(status, StatusCode::OK);
    let (_, report) = poll_to_end(&app, &client, &job_path(&progress)).await;
    assert!(report.contains("data-ok=\"false\""), "{report}");
    assert!(
        report.contains("Cannot read 来本地日期 “2025-13-01”; write a date like 2024-03-14"),
        "{report}"
    );
}
