//! Writing the ledger: exports (xlsx and CSV) and the blank template, with the same columns
//! the import reads, so an unmasked export imports back unchanged.

use chrono::NaiveDate;
use mulin_domain::person::{Gender, Relation, ResidenceStatus, SpecialGroup};
use rust_xlsxwriter::{Format, FormatAlign, Workbook, XlsxError};

use crate::vocab::{gender_label, group_label, relation_label, status_label, Field};
use crate::LedgerError;

/// One resident as an export writes it. The caller masks `id_number` and `phone` as the
/// reader's role requires; this crate writes what it is given.
#[derive(Clone, PartialEq, Debug)]
pub struct ExportRow {
    /// 姓名.
    pub name: String,
    /// 性别.
    pub gender: Gender,
    /// 民族.
    pub ethnicity: Option<String>,
    /// 出生日期.
    pub birth_date: Option<NaiveDate>,
    /// 身份证号, masked or not.
    pub id_number: Option<String>,
    /// 联系电话, masked or not.
    pub phone: Option<String>,
    /// 小区.
    pub compound: String,
    /// 楼栋.
    pub building: String,
    /// 单元.
    pub entrance: String,
    /// 房号.
    pub house: String,
    /// 与户主关系.
    pub relation: Relation,
    /// 人户状态.
    pub status: ResidenceStatus,
    /// Tagged special groups (65+ left out: it is derived on import too).
    pub groups: Vec<SpecialGroup>,
}

impl ExportRow {
    /// The cells in [`Field::ALL`] order.
    fn cells(&self) -> [String; 14] {
        [
            self.name.clone(),
            gender_label(self.gender).to_owned(),
            self.ethnicity.clone().unwrap_or_default(),
            self.birth_date
                .map(|date| date.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            self.id_number.clone().unwrap_or_default(),
            self.phone.clone().unwrap_or_default(),
            self.compound.clone(),
            self.building.clone(),
            self.entrance.clone(),
            self.house.clone(),
            relation_label(self.relation).to_owned(),
            status_label(self.status).to_owned(),
            self.groups
                .iter()
                .filter(|group| **group != SpecialGroup::Elderly)
                .map(|group| group_label(*group))
                .collect::<Vec<_>>()
                .join("、"),
            String::new(),
        ]
    }
}

const RESIDENT_SHEET: &str = "居民底册";

fn xlsx_err(err: XlsxError) -> LedgerError {
    LedgerError::Write(err.to_string())
}

/// One column of a [`Table`]: its header and its width in Excel's character units.
#[derive(Clone, PartialEq, Debug)]
pub struct Column {
    /// The header cell.
    pub header: String,
    /// The column's width.
    pub width: f64,
}

impl Column {
    /// A column of `width` under `header`.
    pub fn new(header: impl Into<String>, width: f64) -> Column {
        Column {
            header: header.into(),
            width,
        }
    }

    /// The column a ledger field is written in: its header as offices write it.
    fn of(field: Field) -> Column {
        let width = match field {
            Field::IdNumber | Field::PermitNumber => 22.0,
            Field::Phone
            | Field::Compound
            | Field::Groups
            | Field::Note
            | Field::HomeAddress
            | Field::MoveInReason
            | Field::MoveOutReason
            | Field::Occupation => 16.0,
            Field::BirthDate | Field::MoveInDate | Field::MoveOutDate => 12.0,
            _ => 9.0,
        };
        Column::new(field.header(), width)
    }
}

/// Any list as a sheet of text cells: every export (ledgers and the other lists) is written
/// from one, so xlsx and CSV come out of a single writer with the same guards.
#[derive(Clone, PartialEq, Debug)]
pub struct Table {
    /// The sheet's name (at most 31 characters, as Excel requires).
    pub sheet_name: String,
    /// A merged title row above the header, as offices' own files have.
    pub title: Option<String>,
    /// The columns.
    pub columns: Vec<Column>,
    /// The rows, cells in the order of `columns`.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table of `rows` under `columns`, without a title row.
    pub fn new(
        sheet_name: impl Into<String>,
        columns: Vec<Column>,
        rows: Vec<Vec<String>>,
    ) -> Table {
        Table {
            sheet_name: sheet_name.into(),
            title: None,
            columns,
            rows,
        }
    }

    /// A table in the columns of ledger `fields`.
    pub(crate) fn of_fields(sheet_name: &str, fields: &[Field], rows: Vec<Vec<String>>) -> Table {
        Table::new(
            sheet_name,
            fields.iter().map(|field| Column::of(*field)).collect(),
            rows,
        )
    }

    /// The workbook: the optional merged title row, the header row, then the rows. Every
    /// column is text, so ID numbers and phones keep every digit when edited in Excel.
    pub fn to_xlsx(&self) -> Result<Vec<u8>, LedgerError> {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.set_name(&self.sheet_name).map_err(xlsx_err)?;
        let text = Format::new().set_num_format("@");
        let bold = Format::new().set_bold().set_num_format("@");
        let title_format = Format::new().set_bold().set_align(FormatAlign::Center);
        let n_cols = self.columns.len().max(1) as u16;
        let mut row: u32 = 0;
        if let Some(title) = &self.title {
            sheet
                .merge_range(0, 0, 0, n_cols - 1, title, &title_format)
                .map_err(xlsx_err)?;
            row = 1;
        }
        for (col, column) in self.columns.iter().enumerate() {
            let col = col as u16;
            sheet.set_column_format(col, &text).map_err(xlsx_err)?;
            sheet
                .set_column_width(col, column.width)
                .map_err(xlsx_err)?;
            sheet
                .write_string_with_format(row, col, &column.header, &bold)
                .map_err(xlsx_err)?;
        }
        sheet.set_freeze_panes(row + 1, 0).map_err(xlsx_err)?;
        for cells in &self.rows {
            row += 1;
            for (col, cell) in cells.iter().enumerate() {
                if !cell.is_empty() {
                    sheet
                        .write_string_with_format(row, col as u16, cell, &text)
                        .map_err(xlsx_err)?;
                }
            }
        }
        workbook.save_to_buffer().map_err(xlsx_err)
    }

    /// CSV (UTF-8 with a byte-order mark, so Excel opens it as UTF-8): the header row, then
    /// the rows. A cell that begins like a formula is prefixed with `'`, so a name such as
    /// `=HYPERLINK(...)` stays text when the file is opened.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("\u{feff}");
        let header: Vec<String> = self.columns.iter().map(|c| c.header.clone()).collect();
        push_csv_line(&mut out, &header);
        for cells in &self.rows {
            push_csv_line(&mut out, cells);
        }
        out
    }
}

/// The residents export as a [`Table`] in the import's columns.
pub fn resident_table(rows: &[ExportRow]) -> Table {
    Table::of_fields(
        RESIDENT_SHEET,
        &Field::ALL,
        rows.iter().map(|r| Vec::from(r.cells())).collect(),
    )
}

/// An export as xlsx.
pub fn write_xlsx(rows: &[ExportRow]) -> Result<Vec<u8>, LedgerError> {
    resident_table(rows).to_xlsx()
}

/// The blank template: a title row above the header, as offices' own files have.
pub fn template_xlsx() -> Result<Vec<u8>, LedgerError> {
    let mut table = Table::of_fields(RESIDENT_SHEET, &Field::ALL, Vec::new());
    table.title = Some("居民底册（身份证号请保持文本格式）".to_owned());
    table.to_xlsx()
}

/// An export as CSV (UTF-8 with a byte-order mark, so Excel opens it as UTF-8). ID numbers
/// are written as text; a cell that begins like a formula is prefixed with `'`.
pub fn write_csv(rows: &[ExportRow]) -> String {
    resident_table(rows).to_csv()
}

fn push_csv_line(out: &mut String, cells: &[String]) {
    for (idx, cell) in cells.iter().enumerate() {
        if idx > 0 {
            out.push(',');
        }
        let guarded = if cell.starts_with(['=', '+', '-', '@']) {
            format!("'{cell}")
        } else {
            cell.clone()
        };
        if guarded.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&guarded.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&guarded);
        }
    }
    out.push_str("\r\n");
}
