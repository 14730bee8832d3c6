//! The floating-population ledger in Excel: import with a dry run (residents and their moves,
//! all or nothing, idempotent), the template, the export of the floating list and the
//! round trip back, and who may do any of it.

use mulin_domain::movement::Direction;
use mulin_domain::person::ResidenceStatus;
use mulin_domain::tree::NodeKind;
use mulin_storage::NodeRecord;
use reqwest::StatusCode;
use rust_xlsxwriter::{Format, Workbook};
use serde_json::Value;

use crate::helpers::{spawn_app, TestApp};
use crate::ledger::{address_of, id_number};

const HEADER: [&str; 13] = [
    "序号",
    "姓名",
    "公民身份号码",
    "联系电话",
    "户籍地",
    "现居住地址",
    "来本地日期",
    "暂住事由",
    "离开日期",
    "离开原因",
    "职业/工作单位",
    "居住证号",
    "备注",
];

/// A floating ledger as an office keeps it: a merged title, a merged group header, then the
/// header row (the address in one cell) and `rows`.
pub(crate) fn floating_ledger(rows: &[Vec<String>]) -> Vec<u8> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let format = Format::new();
    sheet
        .merge_range(0, 0, 0, 12, "某社区流动人口信息登记台账", &format)
        .unwrap();
    sheet.merge_range(1, 6, 1, 9, "变动情况", &format).unwrap();
    for (col, text) in HEADER.iter().enumerate() {
        sheet.write_string(2, col as u16, *text).unwrap();
    }
    for (idx, row) in rows.iter().enumerate() {
        for (col, text) in row.iter().enumerate() {
            if !text.is_empty() {
                sheet
                    .write_string(idx as u32 + 3, col as u16, text)
                    .unwrap();
            }
        }
    }
    workbook.save_to_buffer().unwrap()
}

/// A row: name, ID number, phone, address in one cell, then the stay and the kept columns.
pub(crate) fn stay(name: &str, number: &str, address: &str, cells: [&str; 7]) -> Vec<String> {
    let mut row = vec![
        "1".to_owned(),
        name.to_owned(),
        number.to_owned(),
        "13812345678".to_owned(),
        "河北省张家口市某村".to_owned(),
        address.to_owned(),
    ];
    row.extend(cells.iter().map(|c| (*c).to_owned()));
    row
}

impl TestApp {
    async fn import_floating(
        &self,
        token: &str,
        under: &str,
        dry_run: bool,
        bytes: Vec<u8>,
    ) -> (StatusCode, Value) {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("流动人口.xlsx"),
        );
        let res = reqwest::Client::new()
            .post(self.url(&format!(
                "/api/v1/imports/floating?under={under}&dry_run={dry_run}"
            )))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub(crate) fn household_in_grid(&self, grid_idx: usize) -> NodeRecord {
        let grid = self.grid(grid_idx).path.id();
        self.nodes(NodeKind::Household)
            .into_iter()
            .find(|h| h.path.at(NodeKind::Grid) == Some(grid))
            .unwrap()
            .clone()
    }

    async fn floating_audits(&self, action: &str) -> usize {
        let district = self.demo.dataset.nodes[0].path;
        self.store
            .search_audit(
                district.id().into(),
                &[district],
                &mulin_storage::AuditQuery {
                    action: Some(action.to_owned()),
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
}

/// The data cells of an exported sheet, as text, header row first.
pub(crate) fn sheet_cells(bytes: &[u8]) -> Vec<Vec<String>> {
    use calamine::Reader;
    let mut workbook =
        calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = workbook.worksheet_range_at(0).unwrap().unwrap();
    range
        .rows()
        .map(|row| row.iter().map(|cell| cell.to_string()).collect())
        .collect()
}

#[tokio::test]
async fn a_floating_ledger_registers_residents_and_moves_once_and_round_trips() {
    let app = spawn_app().await;
    let token = app.token("wangge01").await;
    let household = app.household_in_grid(0);
    let [compound, building, entrance, house] = address_of(&app, &household);
    let address = format!("{compound}{building}{entrance}{house}");
    let here = id_number("41052219950612301");
    let gone = id_number("41052219880203402");
    let rows = vec![
        stay(
            "刘来",
            &here,
            &address,
            ["2025-03-01", "务工", "", "", "某物流公司", "JZ2025001", ""],
        ),
        stay(
            "陈走",
            &gone,
            &address,
            [
                "2024-09-15",
                "投亲",
                "2025-06-30",
                "返乡",
                "个体",
                "",
                "曾参加社区志愿活动",
            ],
        ),
    ];
    let under = app.grid(0).path.id().to_string();

    let (status, body) = app
        .import_floating(&token, &under, true, floating_ledger(&rows))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["ok"].as_bool(),
            body["rows"].as_u64(),
            body["moves"].as_u64()
        ),
        (Some(true), Some(2), Some(3))
    );
    assert!(
        app.find_by_number(&here[14..]).await.is_empty(),
        "a dry run writes nothing"
    );

    let (status, body) = app
        .import_floating(&token, &under, false, floating_ledger(&rows))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["created"].as_u64(), body["moves"].as_u64()),
        (Some(2), Some(3))
    );
    let stored = &app.find_by_number(&here[14..]).await[0];
    assert_eq!(stored.status, ResidenceStatus::Floating);
    assert_eq!(stored.household.id(), household.path.id());
    assert!(stored
        .extra
        .contains(&("居住证号".to_owned(), "JZ2025001".to_owned())));
    let gone_id = app.find_by_number(&gone[14..]).await[0].id;
    let history = app
        .store
        .movements(stored.household.district().into(), gone_id)
        .await
        .unwrap();
    let moves: Vec<(Direction, String, String)> = history
        .iter()
        .map(|m| (m.direction, m.on.to_string(), m.reason.clone()))
        .collect();
    assert_eq!(
        moves,
        [
            (Direction::In, "2024-09-15".into(), "投亲".into()),
            (Direction::Out, "2025-06-30".into(), "返乡".into()),
        ]
    );

    let (status, body) = app
        .import_floating(&token, &under, false, floating_ledger(&rows))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["created"].as_u64(),
            body["updated"].as_u64(),
            body["unchanged"].as_u64(),
            body["moves"].as_u64()
        ),
        (Some(0), Some(0), Some(2), Some(0)),
        "the same file twice changes nothing"
    );

    // Export (revealed, so the numbers can go back in) → import: nothing changes, and the
    // export after it is the same sheet.
    let mut exports = Vec::new();
    for current in [true, false] {
        let (status, bytes) = app
            .bytes(
                &token,
                &format!("/api/v1/floating.xlsx?under={under}&current={current}&reveal=true"),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        exports.push(bytes);
    }
    let current = sheet_cells(&exports[0]);
    assert_eq!(current.len(), 2, "header and 刘来: {current:?}");
    assert!(current[1].contains(&here) && current[1].contains(&"JZ2025001".to_owned()));
    let past = sheet_cells(&exports[1]);
    assert_eq!(past.len(), 2, "header and 陈走: {past:?}");
    for expected in [
        "2024-09-15",
        "投亲",
        "2025-06-30",
        "返乡",
        "曾参加社区志愿活动",
    ] {
        assert!(
            past[1].contains(&expected.to_owned()),
            "{expected} in {past:?}"
        );
    }
    for bytes in &exports {
        let (status, body) = app
            .import_floating(&token, &under, false, bytes.clone())
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            (
                body["updated"].as_u64(),
                body["unchanged"].as_u64(),
                body["moves"].as_u64()
            ),
            (Some(0), Some(1), Some(0)),
            "an export imports back unchanged: {body}"
        );
    }
    let (_, again) = app
        .bytes(
            &token,
            &format!("/api/v1/floating.xlsx?under={under}&current=false&reveal=true"),
        )
        .await;
    assert_eq!(sheet_cells(&again), past);

    // Masked by default; every export audited.
    let (_, masked) = app
        .bytes(&token, &format!("/api/v1/floating.xlsx?under={under}"))
        .await;
    let masked = sheet_cells(&masked);
    assert!(!masked[1].contains(&here));
    assert_eq!(app.floating_audits("floating.import").await, 4);
    assert_eq!(app.floating_audits("floating.export.reveal").await, 3);
    assert_eq!(app.floating_audits("floating.export").await, 1);

    // A new stay after the last one is appended; one that contradicts the history is not.
    let mut back = rows[1].clone();
    back[6] = "2025-09-01".into();
    back[7] = "再次务工".into();
    back[8] = String::new();
    back[9] = String::new();
    let (status, body) = app
        .import_floating(&token, &under, false, floating_ledger(&[back]))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["moves"].as_u64(), Some(1));
    let mut before_last = rows[0].clone();
    before_last[6] = "2025-01-01".into();
    let (status, body) = app
        .import_floating(&token, &under, false, floating_ledger(&[before_last]))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["column"], "来本地日期", "{body}");
}

#[tokio::test]
async fn a_floating_ledger_with_errors_imports_nothing_and_lists_every_error() {
    let app = spawn_app().await;
    let token = app.token("wangge01").await;
    let household = app.household_in_grid(0);
    let [compound, building, entrance, house] = address_of(&app, &household);
    let address = format!("{compound}{building}{entrance}{house}");
    let good = id_number("41052219950612301");
    let rows = vec![
        stay(
            "刘好",
            &good,
            &address,
            ["2025-03-01", "务工", "", "", "", "", ""],
        ),
        // Lost digits, a date that is no date, a move out before the move in.
        stay(
            "王坏",
            "410522199506123",
            &address,
            ["2025-13-01", "", "", "返乡", "", "", ""],
        ),
        stay(
            "赵早",
            &id_number("41052219880203402"),
            &address,
            ["2025-05-01", "", "2025-04-01", "", "", "", ""],
        ),
        stay(
            "钱无",
            &id_number("41052219700101003"),
            "不知道哪里",
            ["", "", "", "", "", "", ""],
        ),
        stay(
            "孙未",
            &id_number("41052219700101004"),
            &address,
            ["2099-01-01", "", "", "", "", "", ""],
        ),
    ];
    let (status, body) = app
        .import_floating(
            &token,
            &app.grid(0).path.id().to_string(),
            false,
            floating_ledger(&rows),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        (body["ok"].as_bool(), body["rows"].as_u64()),
        (Some(false), Some(5))
    );
    let errors: Vec<(u64, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(!e["message"].as_str().unwrap().is_empty());
            (
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        (5, "公民身份号码"),
        (5, "来本地日期"),
        (5, "离开原因"),
        (6, "离开日期"),
        (7, "现居住地址"),
        (7, "来本地日期"),
        (8, "来本地日期"),
    ] {
        assert!(
            errors.contains(&(expected.0, expected.1.to_owned())),
            "{expected:?} in {body}"
        );
    }
    assert!(
        app.find_by_number(&good[14..]).await.is_empty(),
        "all or nothing"
    );

    let (status, template) = app
        .bytes(&token, "/api/v1/imports/floating/template.xlsx")
        .await;
    assert_eq!(status, StatusCode::OK);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let parsed = mulin_ledger::floating::parse_floating_workbook(&template, today).unwrap();
    assert_eq!(parsed.n_rows, 0);
}

#[tokio::test]
async fn floating_imports_and_exports_are_refused_outside_the_scope() {
    let app = spawn_app().await;
    let bytes = floating_ledger(&[]);
    let grid1 = app.grid(1).path.id().to_string();
    let wangge = app.token("wangge01").await;
    let (status, _) = app
        .import_floating(&wangge, &grid1, true, bytes.clone())
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another grid is not visible");
    let jiedao = app.token("jiedao").await;
    let (status, _) = app
        .import_floating(&jiedao, &grid1, true, bytes.clone())
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a street administrator does not import"
    );
    let jumin = app.token("jumin").await;
    let grid0 = app.grid(0).path.id().to_string();
    let (status, _) = app.import_floating(&jumin, &grid0, true, bytes).await;
    assert!(matches!(
        status,
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ));
    for export in ["floating.xlsx", "floating.csv"] {
        let (status, _) = app.bytes(&jumin, &format!("/api/v1/{export}")).await;
        assert!(
            matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{export}"
        );
        let (status, _) = app
            .bytes(&wangge, &format!("/api/v1/{export}?under={grid1}"))
            .await;
        assert!(
            matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{export}"
        );
    }
    for path in [
        "/api/v1/floating.xlsx",
        "/api/v1/floating.csv",
        "/api/v1/imports/floating/template.xlsx",
    ] {
        let res = reqwest::Client::new()
            .get(app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[tokio::test]
async fn a_long_floating_list_exports_whole_as_xlsx_and_csv_masked_and_audited() {
    let app = spawn_app().await;
    let token = app.token("wangge01").await;
    let household = app.household_in_grid(0);
    let address = address_of(&app, &household).concat();
    let under = app.grid(0).path.id().to_string();
    // More people than the store reads in one statement, so the export's batched read joins
    // its chunks.
    const N: usize = 450;
    let numbers: Vec<String> = (0..N)
        .map(|idx| id_number(&format!("4105221995061{idx:04}")))
        .collect();
    let rows: Vec<Vec<String>> = numbers
        .iter()
        .map(|number| {
            stay(
                "流动人员",
                number,
                &address,
                ["2025-03-01", "务工", "", "", "", "", ""],
            )
        })
        .collect();
    let (status, body) = app
        .import_floating(&token, &under, false, floating_ledger(&rows))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["moves"].as_u64(), Some(N as u64));

    let (status, revealed) = app
        .bytes(
            &token,
            &format!("/api/v1/floating.xlsx?under={under}&reveal=true"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let revealed = sheet_cells(&revealed);
    assert_eq!(revealed.len(), N + 1, "the header and every stay");
    let exported: std::collections::HashSet<&String> =
        revealed[1..].iter().map(|row| &row[4]).collect();
    assert_eq!(exported, numbers.iter().collect(), "each person once");

    let (status, csv) = app
        .bytes(&token, &format!("/api/v1/floating.csv?under={under}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with("\u{feff}姓名,性别"), "{}", &csv[..40]);
    assert_eq!(csv.lines().count(), N + 1);
    assert!(
        numbers.iter().all(|number| !csv.contains(number.as_str())),
        "masked unless revealed"
    );
    assert!(csv.contains("2025-03-01") && csv.contains("务工"));
    assert_eq!(app.floating_audits("floating.export.reveal").await, 1);
    assert_eq!(app.floating_audits("floating.export").await, 1);
}
