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

/// Writes a workbook: an optional merged title row, the header row of `fields`, then
/// `rows` (cells in the order of `fields`). Every column is text, so ID numbers and phones
/// keep every digit when edited in Excel.
pub(crate) fn workbook(
    sheet_name: &str,
    title: Option<&str>,
    fields: &[Field],
    rows: impl Iterator<Item = Vec<String>>,
) -> Result<Vec<u8>, LedgerError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(sheet_name).map_err(xlsx_err)?;
    let text = Format::new().set_num_format("@");
    let bold = Format::new().set_bold().set_num_format("@");
    let title_format = Format::new().set_bold().set_align(FormatAlign::Center);
    let n_cols = fields.len() as u16;
    let mut row: u32 = 0;
    if let Some(title) = title {
        sheet
            .merge_range(0, 0, 0, n_cols - 1, title, &title_format)
            .map_err(xlsx_err)?;
        row = 1;
    }
    for (col, field) in fields.iter().enumerate() {
        let col = col as u16;
        sheet.set_column_format(col, &text).map_err(xlsx_err)?;
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
        sheet.set_column_width(col, width).map_err(xlsx_err)?;
        sheet
            .write_string_with_format(row, col, field.header(), &bold)
            .map_err(xlsx_err)?;
    }
    sheet.set_freeze_panes(row + 1, 0).map_err(xlsx_err)?;
    for cells in rows {
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

/// An export as xlsx.
pub fn write_xlsx(rows: &[ExportRow]) -> Result<Vec<u8>, LedgerError> {
    workbook(
        RESIDENT_SHEET,
        None,
        &Field::ALL,
        rows.iter().map(|r| Vec::from(r.cells())),
    )
}

/// The blank template: a title row above the header, as offices' own files have.
pub fn template_xlsx() -> Result<Vec<u8>, LedgerError> {
    workbook(
        RESIDENT_SHEET,
        Some("居民底册（身份证号请保持文本格式）"),
        &Field::ALL,
        std::iter::empty(),
    )
}

/// An export as CSV (UTF-8 with a byte-order mark, so Excel opens it as UTF-8). ID numbers
/// are written as text; a cell that begins like a formula is prefixed with `'`.
pub fn write_csv(rows: &[ExportRow]) -> String {
    csv(&Field::ALL, rows.iter().map(|r| Vec::from(r.cells())))
}

/// CSV of the header row of `fields`, then `rows` (cells in the order of `fields`), as
/// [`write_csv`] writes it.
pub(crate) fn csv(fields: &[Field], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut out = String::from("\u{feff}");
    let header: Vec<String> = fields.iter().map(|f| f.header().to_owned()).collect();
    push_csv_line(&mut out, &header);
    for cells in rows {
        push_csv_line(&mut out, &cells);
    }
    out
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
