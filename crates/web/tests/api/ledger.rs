//! Excel in and out: importing a ledger (dry run, all-or-nothing, idempotent, scoped),
//! the template, exports masked per role, and export → import as a lossless round trip.

use std::collections::HashMap;

use mulin_domain::ids::NodeId;
use mulin_domain::person::id_check_char;
use mulin_domain::tree::NodeKind;
use mulin_storage::{NodeRecord, ResidentQuery};
use mulin_storage_tests::audit_page;
use mulin_web::clock::Clock;
use reqwest::StatusCode;
use rust_xlsxwriter::{Format, Workbook};
use serde_json::Value;

use crate::helpers::{spawn_app, TestApp};

pub(crate) fn id_number(first17: &str) -> String {
    format!("{first17}{}", id_check_char(first17).unwrap())
}

const HEADER: [&str; 11] = [
    "序号",
    "姓 名",
    "身份证号码",
    "性别",
    "出生日期",
    "小区名称",
    "楼栋",
    "单元",
    "房号/门牌号",
    "与户主关系",
    "联系电话",
];

/// A ledger as an office would send it: a merged title row, then the header, then `rows`.
pub(crate) fn ledger(rows: &[Vec<String>]) -> Vec<u8> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet
        .merge_range(0, 0, 0, 10, "某网格居民底册", &Format::new())
        .unwrap();
    for (col, text) in HEADER.iter().enumerate() {
        sheet.write_string(1, col as u16, *text).unwrap();
    }
    for (idx, row) in rows.iter().enumerate() {
        for (col, text) in row.iter().enumerate() {
            if !text.is_empty() {
                sheet
                    .write_string(idx as u32 + 2, col as u16, text)
                    .unwrap();
            }
        }
    }
    workbook.save_to_buffer().unwrap()
}

/// A workbook whose only row is `header`.
fn ledger_with_header(header: &[&str]) -> Vec<u8> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    for (col, text) in header.iter().enumerate() {
        sheet.write_string(0, col as u16, *text).unwrap();
    }
    workbook.save_to_buffer().unwrap()
}

/// The names of a household's compound, building, entrance and itself.
pub(crate) fn address_of(app: &TestApp, household: &NodeRecord) -> [String; 4] {
    let names: HashMap<NodeId, &str> = app
        .demo
        .dataset
        .nodes
        .iter()
        .map(|n| (n.path.id(), n.name.as_str()))
        .collect();
    let at = |kind| names[&household.path.at(kind).unwrap()].to_owned();
    [
        at(NodeKind::Compound),
        at(NodeKind::Building),
        at(NodeKind::Entrance),
        household.name.clone(),
    ]
}

pub(crate) fn row(
    name: &str,
    number: &str,
    address: &[String; 4],
    house: &str,
    phone: &str,
) -> Vec<String> {
    vec![
        "1".into(),
        name.into(),
        number.into(),
        String::new(),
        String::new(),
        address[0].clone(),
        address[1].clone(),
        address[2].clone(),
        house.into(),
        "户主".into(),
        phone.into(),
    ]
}

impl TestApp {
    async fn import(
        &self,
        token: &str,
        under: &str,
        dry_run: bool,
        bytes: Vec<u8>,
    ) -> (StatusCode, Value) {
        self.import_in("zh-CN", token, under, dry_run, bytes).await
    }

    /// [`TestApp::import`], asking for messages in `accept_language`.
    async fn import_in(
        &self,
        accept_language: &str,
        token: &str,
        under: &str,
        dry_run: bool,
        bytes: Vec<u8>,
    ) -> (StatusCode, Value) {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("底册.xlsx"),
        );
        let res = reqwest::Client::new()
            .post(self.url(&format!(
                "/api/v1/imports/residents?under={under}&dry_run={dry_run}"
            )))
            .bearer_auth(token)
            .header("accept-language", accept_language)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn bytes(&self, token: &str, path: &str) -> (StatusCode, Vec<u8>) {
        let res = reqwest::Client::new()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (res.status(), res.bytes().await.unwrap().to_vec())
    }

    pub(crate) async fn find_by_number(&self, number: &str) -> Vec<mulin_storage::ResidentRecord> {
        let district = self.demo.dataset.nodes[0].path;
        self.store
            .search_residents(
                district.id().into(),
                &[district],
                &ResidentQuery {
                    q: number.to_owned(),
                    page: 1,
                    per_page: 10,
                },
            )
            .await
            .unwrap()
            .items
    }
}

#[tokio::test]
async fn an_import_is_checked_then_written_once_and_again_changes_nothing() {
    let app = spawn_app().await;
    let token = app.token("wangge01").await;
    let grid = app.grid(0).path.id();
    let household = app
        .nodes(NodeKind::Household)
        .into_iter()
        .find(|h| h.path.at(NodeKind::Grid) == Some(grid))
        .unwrap()
        .clone();
    let address = address_of(&app, &household);
    let first = id_number("14021219560314231");
    let second = id_number("14021219900701002");
    let rows = vec![
        row("张新", &first, &address, &household.name, "13812345678"),
        // A house number the tree does not have yet: created inside the entrance.
        row("李新", &second, &address, "9901", ""),
    ];
    let under = grid.to_string();

    let (status, body) = app.import(&token, &under, true, ledger(&rows)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ok"], true);
    assert_eq!(body["rows"], 2);
    assert_eq!(body["created"], 2);
    assert_eq!(body["new_places"], 1);
    assert!(
        app.find_by_number(&first[14..]).await.is_empty(),
        "a dry run writes nothing"
    );

    let (status, body) = app.import(&token, &under, false, ledger(&rows)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["created"].as_u64(), body["updated"].as_u64()),
        (Some(2), Some(0))
    );
    let stored = app.find_by_number(&first[14..]).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].household.id(), household.path.id());
    assert_eq!(stored[0].name.as_ref(), "张新");
    let new_home = app.find_by_number(&second[14..]).await;
    assert!(
        new_home[0].address.ends_with("9901室"),
        "{}",
        new_home[0].address
    );

    let (status, body) = app.import(&token, &under, false, ledger(&rows)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["created"].as_u64(),
            body["updated"].as_u64(),
            body["unchanged"].as_u64(),
            body["new_places"].as_u64()
        ),
        (Some(0), Some(0), Some(2), Some(0)),
        "the same file twice changes nothing"
    );

    let mut changed = rows.clone();
    changed[0][10] = "13900001111".into();
    let (status, body) = app.import(&token, &under, false, ledger(&changed)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["updated"].as_u64(), body["unchanged"].as_u64()),
        (Some(1), Some(1))
    );
    let stored = app.find_by_number(&first[14..]).await;
    assert_eq!(stored[0].phone.as_ref().unwrap().expose(), "13900001111");

    let audited = audit_page(
        &*app.store,
        app.demo.dataset.nodes[0].path.id().into(),
        1,
        50,
    )
    .await
    .unwrap()
    .items
    .into_iter()
    .filter(|e| e.action == "resident.import")
    .count();
    assert_eq!(audited, 3, "one audit record per written import");
}

#[tokio::test]
async fn a_file_with_errors_imports_nothing_and_lists_every_error() {
    let app = spawn_app().await;
    let token = app.token("wangge01").await;
    let grid = app.grid(0).path.id();
    let household = app
        .nodes(NodeKind::Household)
        .into_iter()
        .find(|h| h.path.at(NodeKind::Grid) == Some(grid))
        .unwrap()
        .clone();
    let address = address_of(&app, &household);
    let good = id_number("14021219560314231");
    let mut unknown_compound = address.clone();
    unknown_compound[0] = "不存在小区".into();
    let elsewhere = app
        .nodes(NodeKind::Household)
        .into_iter()
        .find(|h| h.path.at(NodeKind::Grid) == Some(app.grid(1).path.id()))
        .unwrap()
        .clone();
    let rows = vec![
        row("张好", &good, &address, &household.name, ""),
        row("王坏", "140212195603142", &address, &household.name, ""),
        row(
            "赵无",
            &id_number("14021219700101003"),
            &unknown_compound,
            "101",
            "",
        ),
        row(
            "钱外",
            &id_number("14021219700101004"),
            &address_of(&app, &elsewhere),
            &elsewhere.name,
            "",
        ),
        // A field error does not hide the row's address error: both are listed.
        row("孙双", "140212195603142", &unknown_compound, "102", ""),
    ];
    let (status, body) = app
        .import(
            &token,
            &app.community(0).path.id().to_string(),
            false,
            ledger(&rows),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["ok"], false);
    assert_eq!(body["rows"], 5);
    let errors: Vec<(u64, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(errors.contains(&(4, "身份证号码".into())), "{body}");
    assert!(errors.contains(&(5, "小区名称".into())), "{body}");
    assert!(errors.contains(&(7, "身份证号码".into())), "{body}");
    assert!(errors.contains(&(7, "小区名称".into())), "{body}");
    // A row in grid 1, seen from grid 0's worker: outside the scope.
    let outside = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["row"] == 6)
        .unwrap_or_else(|| panic!("row 6 reported: {body}"));
    assert!(outside["message"].as_str().unwrap().contains("管辖范围"));
    assert_eq!(outside["code"], "outside_scope");
    let short = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["row"] == 4)
        .unwrap();
    assert_eq!(short["code"], "id_number_shape");
    assert_eq!(
        short["message"],
        "身份证号「140212195603142」应为 18 位：17 位数字加 1 位数字或 X（现为 15 位）"
    );
    assert!(
        app.find_by_number(&good[14..]).await.is_empty(),
        "all or nothing"
    );

    // The same problems in English for a client that asks for it; codes do not change.
    let (status, english) = app
        .import_in(
            "en-US,en;q=0.9",
            &token,
            &app.community(0).path.id().to_string(),
            true,
            ledger(&rows),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let codes = |body: &Value| -> Vec<(Value, Value)> {
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["row"].clone(), e["code"].clone()))
            .collect()
    };
    assert_eq!(codes(&english), codes(&body));
    let short = english["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["row"] == 4)
        .unwrap();
    assert_eq!(
        short["message"],
        "ID number “140212195603142” must have 18 characters: 17 digits and a digit or X (it has 15)"
    );
}

#[tokio::test]
async fn imports_are_refused_outside_the_scope_and_for_roles_without_the_right() {
    let app = spawn_app().await;
    let bytes = ledger(&[]);
    let grid1 = app.grid(1).path.id().to_string();
    let wangge = app.token("wangge01").await;
    let (status, _) = app.import(&wangge, &grid1, true, bytes.clone()).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another grid is not even visible"
    );
    let jiedao = app.token("jiedao").await;
    let (status, _) = app.import(&jiedao, &grid1, true, bytes.clone()).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a street administrator does not import"
    );
    let jumin = app.token("jumin").await;
    let (status, _) = app
        .import(
            &jumin,
            &app.grid(0).path.id().to_string(),
            true,
            bytes.clone(),
        )
        .await;
    assert!(matches!(
        status,
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ));
    let res = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/imports/residents?under={grid1}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    for path in [
        "/api/v1/residents.csv",
        "/api/v1/imports/residents/template.xlsx",
    ] {
        let res = reqwest::Client::new()
            .get(app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // Exports of another grid: nothing.
    let (status, _) = app
        .bytes(&wangge, &format!("/api/v1/residents.csv?under={grid1}"))
        .await;
    assert!(matches!(
        status,
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ));
}

#[tokio::test]
async fn oversized_and_unreadable_files_are_refused_whole() {
    let app = spawn_app().await;
    let token = app.token("wangge01").await;
    let under = app.grid(0).path.id().to_string();
    let (status, body) = app
        .import(&token, &under, true, vec![b'x'; 21 * 1024 * 1024])
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["errors"][0]["code"], "too_large");
    assert_eq!(
        body["errors"][0]["message"],
        "文件超过 20 MB，请分成几个文件导入"
    );
    let (status, body) = app
        .import(&token, &under, true, b"not excel".to_vec())
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["row"], 0);
    assert_eq!(body["errors"][0]["code"], "unreadable");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("无法读取该文件，请上传 Excel 工作簿（.xlsx）"),
        "{body}"
    );
    let (status, body) = app
        .import(&token, &under, true, ledger_with_header(&["序号", "备注"]))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["code"], "no_header");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("找不到表头行"),
        "{body}"
    );
    let (status, template) = app
        .bytes(&token, "/api/v1/imports/residents/template.xlsx")
        .await;
    assert_eq!(status, StatusCode::OK);
    let parsed = mulin_ledger::parse_workbook(&template).unwrap();
    assert_eq!(parsed.n_rows, 0);
}

#[tokio::test]
async fn exports_are_masked_unless_revealed_by_a_role_that_may() {
    let app = spawn_app().await;
    let grid = app.grid(0).path.id();
    let mine = app.residents_in(NodeKind::Grid, grid);
    let wangge = app.token("wangge01").await;
    let (status, csv) = app
        .bytes(&wangge, &format!("/api/v1/residents.csv?under={grid}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().count(), mine.len() + 1);
    let full = mine[0].id_number.as_ref().unwrap().expose();
    assert!(!csv.contains(full), "masked by default");
    assert!(csv.contains(&mine[0].id_number.as_ref().unwrap().masked()));
    let outsider = &app.residents_outside(NodeKind::Grid, grid)[0];
    assert!(!csv.contains(outsider.name.as_ref()) || mine.iter().any(|r| r.name == outsider.name));

    let (status, csv) = app
        .bytes(
            &wangge,
            &format!("/api/v1/residents.csv?under={grid}&reveal=true"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8(csv).unwrap().contains(full));

    let admin = app.token("admin").await;
    let (status, _) = app
        .bytes(
            &admin,
            &format!("/api/v1/residents.xlsx?under={grid}&reveal=true"),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "managers never get full numbers"
    );
    let actions: Vec<String> = audit_page(
        &*app.store,
        app.demo.dataset.nodes[0].path.id().into(),
        1,
        50,
    )
    .await
    .unwrap()
    .items
    .into_iter()
    .map(|e| e.action)
    .filter(|a| a.starts_with("resident.export"))
    .collect();
    assert_eq!(actions, vec!["resident.export.reveal", "resident.export"]);
}

#[tokio::test]
async fn an_unmasked_export_imports_back_unchanged() {
    let app = spawn_app().await;
    let grid = app.grid(0).path.id();
    let wangge = app.token("wangge01").await;
    let (status, xlsx) = app
        .bytes(
            &wangge,
            &format!("/api/v1/residents.xlsx?under={grid}&reveal=true"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let n = app.residents_in(NodeKind::Grid, grid).len();
    let (status, body) = app.import(&wangge, &grid.to_string(), false, xlsx).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"].as_u64(), Some(n as u64));
    assert_eq!(
        (
            body["created"].as_u64(),
            body["updated"].as_u64(),
            body["unchanged"].as_u64(),
            body["new_places"].as_u64()
        ),
        (Some(0), Some(0), Some(n as u64), Some(0)),
        "{body}"
    );
}

#[tokio::test]
async fn a_special_group_list_exports_as_a_ledger_masked_and_audited() {
    let app = spawn_app().await;
    let grid = app.grid(0).path.id();
    let elderly: Vec<_> = app
        .residents_in(NodeKind::Grid, grid)
        .into_iter()
        .filter(|r| {
            r.groups
                .with_derived(r.birth_date, app.clock.today())
                .contains(&mulin_domain::person::SpecialGroup::Elderly)
        })
        .collect();
    assert!(!elderly.is_empty(), "the demo grid has residents aged 65+");
    let wangge = app.token("wangge01").await;
    for format in ["csv", "xlsx"] {
        let (status, bytes) = app
            .bytes(
                &wangge,
                &format!("/api/v1/residents.{format}?under={grid}&group=elderly"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{format}");
        if format == "xlsx" {
            let parsed = mulin_ledger::parse_workbook(&bytes).unwrap();
            assert_eq!(
                parsed.n_rows,
                elderly.len(),
                "every 65+ resident of the grid"
            );
            continue;
        }
        let csv = String::from_utf8(bytes).unwrap();
        assert_eq!(csv.lines().count(), elderly.len() + 1);
        for resident in &elderly {
            let number = resident.id_number.as_ref().unwrap();
            assert!(!csv.contains(number.expose()), "masked");
            assert!(csv.contains(&number.masked()));
        }
    }
    let (status, _) = app.bytes(&wangge, "/api/v1/residents.csv?group=rich").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let jumin = app.token("jumin").await;
    let (status, _) = app
        .bytes(&jumin, "/api/v1/residents.csv?group=elderly")
        .await;
    assert!(matches!(
        status,
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ));
    let details: Vec<String> = audit_page(
        &*app.store,
        app.demo.dataset.nodes[0].path.id().into(),
        1,
        50,
    )
    .await
    .unwrap()
    .items
    .into_iter()
    .filter(|e| e.action == "resident.export")
    .map(|e| e.detail)
    .collect();
    assert_eq!(details.len(), 2, "each export audited: {details:?}");
    assert!(
        details.iter().all(|d| d.ends_with("group=elderly")),
        "{details:?}"
    );
}
