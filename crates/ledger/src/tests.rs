//! Parsing workbooks built in memory, as offices' files come.

use chrono::NaiveDate;
use mulin_domain::person::{id_check_char, Gender, Relation, ResidenceStatus, SpecialGroup};
use proptest::prelude::*;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use crate::vocab::Field;
use crate::{parse_workbook, write_csv, write_xlsx, ExportRow, LedgerError, ProblemKind};

fn id(first17: &str) -> String {
    format!("{first17}{}", id_check_char(first17).unwrap())
}

/// A workbook whose first sheet holds `cells` (row, column, text); numbers written as
/// numbers where `numbers` says.
fn book(build: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> Vec<u8> {
    let mut workbook = Workbook::new();
    build(workbook.add_worksheet());
    workbook.save_to_buffer().unwrap()
}

fn write_row(sheet: &mut rust_xlsxwriter::Worksheet, row: u32, cells: &[&str]) {
    for (col, text) in cells.iter().enumerate() {
        if !text.is_empty() {
            sheet.write_string(row, col as u16, *text).unwrap();
        }
    }
}

#[test]
fn headers_in_any_order_under_a_title_and_merged_group_header() {
    let man = id("14021219560314231");
    let woman = id("14021219900701002");
    let bytes = book(|sheet| {
        let format = Format::new();
        sheet
            .merge_range(0, 0, 0, 9, "新荣区某社区居民底册", &format)
            .unwrap();
        sheet.merge_range(1, 5, 1, 8, "住址", &format).unwrap();
        write_row(
            sheet,
            2,
            &[
                "序号",
                "身份证号码 ",
                "姓　名",
                "性别",
                "出生年月",
                "小区名称",
                "楼号",
                "单元",
                "房号/门牌号",
                "与户主关系",
                "人户状态",
                "特殊人群",
                "手机号码",
            ],
        );
        write_row(
            sheet,
            3,
            &[
                "1",
                &man,
                " 张伟 ",
                "男",
                "1956.03",
                "阳光小区",
                "3",
                "2单元",
                "401",
                "户主",
                "户籍",
                "空巢老人、低保",
                "138 1234 5678",
            ],
        );
        // A serial date and a blank gender (taken from the ID number).
        write_row(
            sheet,
            4,
            &[
                "2",
                &woman,
                "李娜",
                "",
                "",
                "阳光小区",
                "3号楼",
                "2",
                "401室",
                "妻",
                "",
                "",
                "",
            ],
        );
        sheet
            .write_datetime(4, 4, ExcelDateTime::from_ymd(1990, 7, 1).unwrap())
            .unwrap();
        // A blank row is skipped.
    });
    let parsed = parse_workbook(&bytes).unwrap();
    assert_eq!(parsed.problems, vec![]);
    assert_eq!(parsed.n_rows, 2);
    let [first, second] = parsed.rows.as_slice() else {
        panic!("two rows expected: {:?}", parsed.rows);
    };
    assert_eq!(first.row, 4);
    assert_eq!(first.name.as_ref(), "张伟");
    assert_eq!(first.gender, Gender::Male);
    assert_eq!(
        first.birth_date,
        NaiveDate::from_ymd_opt(1956, 3, 14).unwrap()
    );
    assert_eq!(first.address.building.as_deref(), Some("3"));
    assert_eq!(first.relation, Relation::Head);
    assert_eq!(first.status, ResidenceStatus::Registered);
    assert_eq!(
        first
            .groups
            .with_derived(None, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
        vec![SpecialGroup::EmptyNest, SpecialGroup::Dibao]
    );
    assert_eq!(
        first.phone.as_ref().map(|p| p.expose()),
        Some("13812345678")
    );
    assert_eq!(second.gender, Gender::Female);
    assert_eq!(
        second.birth_date,
        NaiveDate::from_ymd_opt(1990, 7, 1).unwrap()
    );
    assert_eq!(second.relation, Relation::Spouse);
}

#[test]
fn every_problem_is_reported_by_row_and_column() {
    let good = id("14021219560314231");
    let mut bad_check = id("14021219800101123");
    let last = if bad_check.ends_with('1') { '2' } else { '1' };
    bad_check.pop();
    bad_check.push(last);
    let bytes = book(|sheet| {
        write_row(
            sheet,
            0,
            &[
                "姓名",
                "身份证号",
                "性别",
                "出生日期",
                "楼栋",
                "单元",
                "房号",
                "联系电话",
                "与户主关系",
                "特殊群体",
            ],
        );
        write_row(
            sheet,
            1,
            &[
                "张伟",
                &good,
                "女",
                "1956-03-15",
                "1",
                "1",
                "101",
                "12345",
                "表哥",
                "富豪",
            ],
        );
        write_row(
            sheet,
            2,
            &["", &bad_check, "", "", "1", "1", "", "", "", ""],
        );
        write_row(
            sheet,
            3,
            &["王五", &good, "", "", "1", "1", "102", "", "", ""],
        );
        write_row(sheet, 4, &["赵六", "", "", "", "1", "1", "103", "", "", ""]);
        // Excel stored this ID number as a number: its last digits are gone.
        write_row(sheet, 5, &["钱七", "", "", "", "1", "1", "104", "", "", ""]);
        sheet.write_number(5, 1, 140212195603142315_f64).unwrap();
    });
    let parsed = parse_workbook(&bytes).unwrap();
    assert_eq!(parsed.n_rows, 5);
    let good_rows: Vec<u32> = parsed.rows.iter().map(|r| r.row).collect();
    assert_eq!(good_rows, vec![4]);
    let at = |row: u32, column: &str| {
        parsed
            .problems
            .iter()
            .find(|p| p.row == row && p.column == column)
            .map(|p| p.kind.clone())
            .unwrap_or_else(|| panic!("no problem at {row}/{column}: {:?}", parsed.problems))
    };
    assert_eq!(
        at(2, "性别"),
        ProblemKind::GenderMismatch {
            text: "女".to_owned(),
            expected: Gender::Male
        }
    );
    assert_eq!(
        at(2, "出生日期"),
        ProblemKind::BirthDateMismatch {
            expected: NaiveDate::from_ymd_opt(1956, 3, 14).unwrap()
        }
    );
    assert_eq!(
        at(2, "联系电话"),
        ProblemKind::BadPhone {
            text: "12345".to_owned()
        }
    );
    assert_eq!(
        at(2, "与户主关系"),
        ProblemKind::UnknownRelation {
            text: "表哥".to_owned()
        }
    );
    assert_eq!(
        at(2, "特殊群体"),
        ProblemKind::UnknownGroups {
            names: vec!["富豪".to_owned()]
        }
    );
    assert_eq!(at(3, "姓名"), ProblemKind::Blank);
    assert!(matches!(
        at(3, "身份证号"),
        ProblemKind::IdNumberCheckDigit { number, .. } if number == bad_check
    ));
    assert_eq!(at(3, "房号"), ProblemKind::Blank);
    // Row 2 had other problems, so row 4's number is its first good use: not a duplicate.
    assert!(parsed.problems.iter().all(|p| p.row != 4));
    assert_eq!(at(5, "身份证号"), ProblemKind::Blank);
    assert_eq!(at(6, "身份证号"), ProblemKind::IdNumberStoredAsNumber);
}

#[test]
fn the_same_number_twice_is_a_problem_of_the_second_row() {
    let good = id("14021219560314231");
    let bytes = book(|sheet| {
        write_row(sheet, 0, &["姓名", "身份证号", "房号"]);
        write_row(sheet, 1, &["张伟", &good, "101"]);
        write_row(sheet, 2, &["张伟", &good, "102"]);
    });
    let parsed = parse_workbook(&bytes).unwrap();
    assert_eq!(parsed.rows.len(), 1);
    assert_eq!(parsed.problems.len(), 1);
    assert_eq!(parsed.problems[0].row, 3);
    assert_eq!(
        parsed.problems[0].kind,
        ProblemKind::DuplicateIdNumber { first_row: 2 }
    );
}

#[test]
fn files_without_a_usable_header_are_refused() {
    let bytes = book(|sheet| write_row(sheet, 0, &["序号", "名称"]));
    assert_eq!(parse_workbook(&bytes), Err(LedgerError::NoHeader));
    let bytes = book(|sheet| write_row(sheet, 0, &["姓名", "性别", "民族", "小区"]));
    assert_eq!(
        parse_workbook(&bytes),
        Err(LedgerError::MissingColumns(vec![
            vec![Field::IdNumber],
            vec![Field::House]
        ]))
    );
    assert!(matches!(
        parse_workbook(b"not a workbook"),
        Err(LedgerError::Unreadable(_))
    ));
}

fn export_row(id_number: String) -> ExportRow {
    ExportRow {
        name: "张伟".to_owned(),
        gender: Gender::Male,
        ethnicity: Some("汉族".to_owned()),
        birth_date: NaiveDate::from_ymd_opt(1956, 3, 14),
        id_number: Some(id_number),
        phone: Some("0352-6012345".to_owned()),
        compound: "阳光小区".to_owned(),
        building: "3号楼".to_owned(),
        entrance: "2单元".to_owned(),
        house: "401室".to_owned(),
        relation: Relation::Head,
        status: ResidenceStatus::Floating,
        groups: vec![SpecialGroup::Elderly, SpecialGroup::Disabled],
    }
}

#[test]
fn an_export_reads_back_as_the_same_row() {
    let bytes = write_xlsx(&[export_row(id("14021219560314231"))]).unwrap();
    let parsed = parse_workbook(&bytes).unwrap();
    assert_eq!(parsed.problems, vec![]);
    let row = &parsed.rows[0];
    assert_eq!(row.id_number.expose(), id("14021219560314231"));
    assert_eq!(row.ethnicity.as_deref(), Some("汉族"));
    assert_eq!(row.status, ResidenceStatus::Floating);
    assert_eq!(row.address.house.as_deref(), Some("401室"));
    assert_eq!(
        row.groups
            .with_derived(None, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
        vec![SpecialGroup::Disabled]
    );
    let template = parse_workbook(&crate::template_xlsx().unwrap()).unwrap();
    assert_eq!((template.n_rows, template.problems.len()), (0, 0));
}

#[test]
fn csv_quotes_and_defuses_formulas() {
    let mut row = export_row("=HYPERLINK(\"x\")".to_owned());
    row.name = "张,伟".to_owned();
    let csv = write_csv(&[row]);
    assert!(csv.starts_with("\u{feff}姓名,性别"));
    assert!(csv.contains("\"张,伟\""));
    assert!(csv.contains("\"'=HYPERLINK(\"\"x\"\")\""));
    assert_eq!(csv.lines().count(), 2);
}

proptest! {
    /// Any valid ID number written as text in any known header order reads back unchanged,
    /// with the birth date it holds.
    #[test]
    fn valid_numbers_read_back(digits in "[1-6][0-9]{5}(19[3-9][0-9]|200[0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}", rotate in 0usize..3) {
        let number = id(&digits);
        let mut columns = [(Field::Name, "张伟".to_owned()), (Field::IdNumber, number.clone()), (Field::House, "101".to_owned())];
        columns.rotate_left(rotate);
        let bytes = book(|sheet| {
            for (col, (field, value)) in columns.iter().enumerate() {
                sheet.write_string(0, col as u16, field.header()).unwrap();
                sheet.write_string(1, col as u16, value).unwrap();
            }
        });
        let parsed = parse_workbook(&bytes).unwrap();
        prop_assert_eq!(parsed.problems.len(), 0);
        prop_assert_eq!(parsed.rows[0].id_number.expose(), number.as_str());
        prop_assert_eq!(Some(parsed.rows[0].birth_date), parsed.rows[0].id_number.birth_date());
    }
}
