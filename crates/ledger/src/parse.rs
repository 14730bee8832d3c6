//! Reading a ledger workbook: find the header row, then check every row, collecting every
//! problem by row and column instead of stopping at the first.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{Data, Reader};
use chrono::{Datelike, NaiveDate};
use mulin_domain::person::{
    Gender, IdNumber, PersonError, PersonName, Phone, Relation, ResidenceStatus, SpecialGroup,
    SpecialGroups,
};

use crate::vocab::{
    fold, gender_from, group_from, relation_from, split_groups, status_from, Field,
};
use crate::{LedgerError, Problem, ProblemKind};

/// How many rows from the top are searched for the header row (title rows, merged group
/// headers and notes may stand above it).
const HEADER_SEARCH_ROWS: usize = 30;
/// A row is the header row when it names at least this many known columns.
const HEADER_MIN_MATCHES: usize = 3;
/// The columns a resident ledger must have (each entry: any one of these).
const REQUIRED: [&[Field]; 3] = [&[Field::Name], &[Field::IdNumber], &[Field::House]];

/// One checked row of the ledger: a resident and the address they live at.
#[derive(Clone, PartialEq, Debug)]
pub struct LedgerRow {
    /// The row number as Excel shows it (1-based).
    pub row: u32,
    /// 姓名.
    pub name: PersonName,
    /// 性别 (from the ID number when the column is blank).
    pub gender: Gender,
    /// 民族.
    pub ethnicity: Option<String>,
    /// 出生日期 (from the ID number when the column is blank).
    pub birth_date: NaiveDate,
    /// 身份证号: the key a re-import matches by.
    pub id_number: IdNumber,
    /// 联系电话.
    pub phone: Option<Phone>,
    /// 小区, 楼栋, 单元, 房号 as written (blank where the file leaves them out).
    pub address: Address,
    /// 与户主关系 (其他 when blank).
    pub relation: Relation,
    /// 人户状态 (户籍 when blank).
    pub status: ResidenceStatus,
    /// 特殊群体 (65+ is derived from the birth date, never stored).
    pub groups: SpecialGroups,
}

/// The columns about the person, common to both ledgers.
#[derive(Clone, PartialEq, Debug)]
pub(crate) struct Person {
    pub(crate) name: PersonName,
    pub(crate) gender: Gender,
    pub(crate) ethnicity: Option<String>,
    pub(crate) birth_date: NaiveDate,
    pub(crate) id_number: IdNumber,
    pub(crate) phone: Option<Phone>,
}

/// The address parts of a row.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Address {
    /// 小区.
    pub compound: Option<String>,
    /// 楼栋.
    pub building: Option<String>,
    /// 单元.
    pub entrance: Option<String>,
    /// 房号.
    pub house: Option<String>,
}

/// A parsed workbook: the good rows, and every problem of the others.
#[derive(Clone, PartialEq, Debug)]
pub struct Parsed<R = LedgerRow> {
    /// Rows without a problem.
    pub rows: Vec<R>,
    /// Every problem found, in row order.
    pub problems: Vec<Problem>,
    /// The addresses of rows that failed their field checks, by Excel row, so the plan
    /// reports their address problems too and one dry run lists everything to fix.
    pub unchecked_addresses: Vec<(u32, Address)>,
    /// Data rows read (good or not; blank rows are not counted).
    pub n_rows: usize,
    /// Each known column's header as the file writes it.
    pub headers: HashMap<Field, String>,
}

impl<R> Default for Parsed<R> {
    fn default() -> Self {
        Parsed {
            rows: Vec::new(),
            problems: Vec::new(),
            unchecked_addresses: Vec::new(),
            n_rows: 0,
            headers: HashMap::new(),
        }
    }
}

impl<R> Parsed<R> {
    /// The header of a column as the file writes it (the template's word if absent).
    pub fn header(&self, field: Field) -> String {
        self.headers
            .get(&field)
            .cloned()
            .unwrap_or_else(|| field.header().to_owned())
    }
}

/// Reads the first worksheet of an xlsx (or xls, xlsb, ods) workbook as a resident ledger.
pub fn parse_workbook(bytes: &[u8]) -> Result<Parsed, LedgerError> {
    with_first_sheet(bytes, parse_rows)
}

/// Hands the cells of a workbook's first worksheet, and the 0-based sheet row of the first,
/// to `parse`.
pub(crate) fn with_first_sheet<T>(
    bytes: &[u8],
    parse: impl FnOnce(&[&[Data]], u32) -> Result<T, LedgerError>,
) -> Result<T, LedgerError> {
    let mut workbook = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|err| LedgerError::Unreadable(err.to_string()))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or(LedgerError::NoSheet)?
        .map_err(|err| LedgerError::Unreadable(err.to_string()))?;
    let (row0, _) = range.start().unwrap_or((0, 0));
    let rows: Vec<&[Data]> = range.rows().collect();
    parse(&rows, row0)
}

/// Checks rows of cells of a resident ledger; `row0` is the 0-based sheet row of `rows[0]`.
pub fn parse_rows(rows: &[&[Data]], row0: u32) -> Result<Parsed, LedgerError> {
    read_sheet(
        rows,
        row0,
        &REQUIRED,
        |reader| reader.read(),
        |row| &row.id_number,
    )
}

/// Finds the header row (which must name a column of each of `required`), then reads every
/// non-blank row below it with `read`, collecting every problem. A person is keyed by ID
/// number (`id_of`) and may appear once.
pub(crate) fn read_sheet<R>(
    rows: &[&[Data]],
    row0: u32,
    required: &[&[Field]],
    mut read: impl FnMut(&mut RowReader<'_>) -> Option<R>,
    id_of: impl Fn(&R) -> &IdNumber,
) -> Result<Parsed<R>, LedgerError> {
    let (header_idx, columns) = find_header(rows, required)?;
    let mut parsed = Parsed {
        headers: columns
            .iter()
            .map(|(field, (_, header))| (*field, header.clone()))
            .collect(),
        ..Parsed::default()
    };
    let mut seen: HashMap<String, u32> = HashMap::new();
    for (idx, cells) in rows.iter().enumerate().skip(header_idx + 1) {
        let row = row0 + idx as u32 + 1;
        let mut reader = RowReader {
            row,
            cells,
            columns: &columns,
            problems: Vec::new(),
        };
        if reader.is_blank() {
            continue;
        }
        parsed.n_rows += 1;
        if let Some(ledger_row) = read(&mut reader) {
            let key = id_of(&ledger_row).expose().to_owned();
            if let Some(first) = seen.get(&key) {
                reader.problem(
                    Field::IdNumber,
                    ProblemKind::DuplicateIdNumber { first_row: *first },
                );
            } else {
                seen.insert(key, row);
                if reader.problems.is_empty() {
                    parsed.rows.push(ledger_row);
                }
            }
        }
        if !reader.problems.is_empty() {
            parsed.unchecked_addresses.push((row, reader.address()));
        }
        parsed.problems.append(&mut reader.problems);
    }
    Ok(parsed)
}

/// The column of each known field, with the header text as the file writes it.
type Columns = HashMap<Field, (usize, String)>;

fn find_header(rows: &[&[Data]], required: &[&[Field]]) -> Result<(usize, Columns), LedgerError> {
    for (idx, cells) in rows.iter().take(HEADER_SEARCH_ROWS).enumerate() {
        let mut columns = Columns::new();
        for (col, cell) in cells.iter().enumerate() {
            if let Data::String(text) = cell {
                if let Some(field) = Field::from_header(text) {
                    columns
                        .entry(field)
                        .or_insert_with(|| (col, fold(text).trim().to_owned()));
                }
            }
        }
        if columns.len() >= HEADER_MIN_MATCHES {
            let missing: Vec<Vec<Field>> = required
                .iter()
                .filter(|any_of| !any_of.iter().any(|field| columns.contains_key(field)))
                .map(|any_of| any_of.to_vec())
                .collect();
            if !missing.is_empty() {
                return Err(LedgerError::MissingColumns(missing));
            }
            return Ok((idx, columns));
        }
    }
    Err(LedgerError::NoHeader)
}

/// One row being read: its cells, where each known column is, and the row's problems.
pub(crate) struct RowReader<'a> {
    row: u32,
    cells: &'a [Data],
    columns: &'a Columns,
    problems: Vec<Problem>,
}

/// Excel's day 0 for serial dates (1899-12-30: it counts the 1900 leap day that never was).
fn excel_epoch() -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1899, 12, 30)
}

/// A date from an Excel serial number (whole days; a time of day is dropped).
pub fn date_from_serial(serial: f64) -> Option<NaiveDate> {
    if !(1.0..=2_958_465.0).contains(&serial) {
        return None;
    }
    excel_epoch()?.checked_add_days(chrono::Days::new(serial.trunc() as u64))
}

/// What a date cell says: a whole date, or only a year and month (出生年月).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum DateCell {
    Day(NaiveDate),
    Month(i32, u32),
}

fn date_from_text(text: &str) -> Option<DateCell> {
    let text = fold(text);
    let text = text.split(['T', ' ']).next().unwrap_or("");
    for format in ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d"] {
        if let Ok(date) = NaiveDate::parse_from_str(text, format) {
            return Some(DateCell::Day(date));
        }
    }
    let trimmed = text.trim_end_matches('月');
    for sep in ['-', '/', '.', '年'] {
        if let Some((year, month)) = trimmed.split_once(sep) {
            if let (Ok(year), Ok(month)) = (year.parse::<i32>(), month.parse::<u32>()) {
                if (1900..=2200).contains(&year) && (1..=12).contains(&month) {
                    return Some(DateCell::Month(year, month));
                }
            }
        }
    }
    None
}

fn date_from_number(value: f64) -> Option<DateCell> {
    // 19560314 typed as a number, or an Excel serial.
    if value.fract() == 0.0 && (19_000_101.0..=22_001_231.0).contains(&value) {
        return date_from_text(&format!("{}", value as i64));
    }
    date_from_serial(value).map(DateCell::Day)
}

impl RowReader<'_> {
    /// Excel's number of this row.
    pub(crate) fn row(&self) -> u32 {
        self.row
    }

    pub(crate) fn problem(&mut self, field: Field, kind: ProblemKind) {
        let column = self
            .columns
            .get(&field)
            .map(|(_, header)| header.clone())
            .unwrap_or_else(|| field.header().to_owned());
        self.problems.push(Problem {
            row: self.row,
            column,
            kind,
        });
    }

    fn cell(&self, field: Field) -> &Data {
        self.columns
            .get(&field)
            .and_then(|(col, _)| self.cells.get(*col))
            .unwrap_or(&Data::Empty)
    }

    fn is_blank(&self) -> bool {
        self.columns
            .keys()
            .all(|field| cell_text(self.cell(*field)).is_none())
    }

    /// Whether the file has this column.
    pub(crate) fn has(&self, field: Field) -> bool {
        self.columns.contains_key(&field)
    }

    /// The text of a cell, trimmed; `None` when blank.
    pub(crate) fn text(&self, field: Field) -> Option<String> {
        cell_text(self.cell(field))
    }

    fn read(&mut self) -> Option<LedgerRow> {
        let person = self.person();
        let relation = match self.text(Field::Relation) {
            None => Some(Relation::Other),
            Some(text) => relation_from(&text).or_else(|| {
                self.problem(Field::Relation, ProblemKind::UnknownRelation { text });
                None
            }),
        };
        let status = match self.text(Field::Status) {
            None => Some(ResidenceStatus::Registered),
            Some(text) => status_from(&text).or_else(|| {
                self.problem(Field::Status, ProblemKind::UnknownStatus { text });
                None
            }),
        };
        let groups = self.groups();
        let address = self.checked_address();
        let person = person?;
        Some(LedgerRow {
            row: self.row,
            name: person.name,
            gender: person.gender,
            ethnicity: person.ethnicity,
            birth_date: person.birth_date,
            id_number: person.id_number,
            phone: person.phone,
            address,
            relation: relation?,
            status: status?,
            groups: groups?,
        })
    }

    /// The person's own columns, each checked (every problem reported).
    pub(crate) fn person(&mut self) -> Option<Person> {
        let name = match self.text(Field::Name) {
            None => {
                self.problem(Field::Name, ProblemKind::Blank);
                None
            }
            Some(text) => PersonName::parse(&text)
                .map_err(|_| self.problem(Field::Name, ProblemKind::NameTooLong))
                .ok(),
        };
        let id_number = self.id_number();
        let gender = self.gender(id_number.as_ref());
        let birth_date = self.birth_date(id_number.as_ref());
        let phone = match self.text(Field::Phone) {
            None => None,
            Some(text) => match Phone::parse(&text) {
                Ok(phone) => Some(phone),
                Err(_) => {
                    self.problem(Field::Phone, ProblemKind::BadPhone { text });
                    None
                }
            },
        };
        let ethnicity = self.text(Field::Ethnicity);
        Some(Person {
            name: name?,
            gender: gender?,
            ethnicity,
            birth_date: birth_date?,
            id_number: id_number?,
            phone,
        })
    }

    /// The address, from its own columns or else split from a one-cell 现居住地址.
    pub(crate) fn address(&self) -> Address {
        let parts = Address {
            compound: self.text(Field::Compound).map(|t| fold(&t)),
            building: self.text(Field::Building).map(|t| fold(&t)),
            entrance: self.text(Field::Entrance).map(|t| fold(&t)),
            house: self.text(Field::House).map(|t| fold(&t)),
        };
        if parts.house.is_some() {
            return parts;
        }
        self.text(Field::CurrentAddress)
            .and_then(|text| split_address(&text))
            .unwrap_or(parts)
    }

    /// The address, with a problem when it names no house.
    pub(crate) fn checked_address(&mut self) -> Address {
        let address = self.address();
        if address.house.is_none() {
            match self.text(Field::CurrentAddress) {
                Some(text) => self.problem(
                    Field::CurrentAddress,
                    ProblemKind::UnsplittableAddress { text },
                ),
                None => self.problem(Field::House, ProblemKind::Blank),
            }
        }
        address
    }

    /// A date column other than the birth date: a whole day, or blank (`Ok(None)`); a
    /// problem otherwise.
    pub(crate) fn date(&mut self, field: Field) -> Result<Option<NaiveDate>, ()> {
        let cell = self.cell(field).clone();
        let Some(shown) = cell_text(&cell) else {
            return Ok(None);
        };
        let written = match &cell {
            Data::DateTime(value) => date_from_serial(value.as_f64()).map(DateCell::Day),
            Data::Float(value) => date_from_number(*value),
            Data::Int(value) => date_from_number(*value as f64),
            Data::DateTimeIso(text) | Data::String(text) => date_from_text(text),
            _ => None,
        };
        match written {
            Some(DateCell::Day(date)) => Ok(Some(date)),
            Some(DateCell::Month(..)) => {
                self.problem(field, ProblemKind::DateWithoutDay { text: shown });
                Err(())
            }
            None => {
                self.problem(field, ProblemKind::BadDate { text: shown });
                Err(())
            }
        }
    }

    fn id_number(&mut self) -> Option<IdNumber> {
        let text = match self.cell(Field::IdNumber) {
            Data::Float(_) | Data::Int(_) => {
                self.problem(Field::IdNumber, ProblemKind::IdNumberStoredAsNumber);
                return None;
            }
            cell => cell_text(cell),
        };
        let Some(text) = text else {
            self.problem(Field::IdNumber, ProblemKind::Blank);
            return None;
        };
        let compact: String = fold(&text);
        match IdNumber::parse(&compact) {
            Ok(id_number) => Some(id_number),
            Err(err) => {
                let length = compact.chars().count();
                let kind = match err {
                    PersonError::IdNumberCheck { expected } => ProblemKind::IdNumberCheckDigit {
                        number: compact,
                        expected,
                    },
                    PersonError::IdNumberBirthDate => {
                        ProblemKind::IdNumberBirthDate { number: compact }
                    }
                    _ => ProblemKind::IdNumberShape {
                        number: compact,
                        length,
                    },
                };
                self.problem(Field::IdNumber, kind);
                None
            }
        }
    }

    fn gender(&mut self, id_number: Option<&IdNumber>) -> Option<Gender> {
        let from_id = id_number.map(IdNumber::gender);
        match self.text(Field::Gender) {
            None => {
                if from_id.is_none() && id_number.is_none() {
                    // The ID number's own problem is already reported.
                    return None;
                }
                from_id
            }
            Some(text) => match gender_from(&text) {
                None => {
                    self.problem(Field::Gender, ProblemKind::UnknownGender { text });
                    None
                }
                Some(gender) => match from_id {
                    Some(expected) if expected != gender => {
                        self.problem(
                            Field::Gender,
                            ProblemKind::GenderMismatch { text, expected },
                        );
                        None
                    }
                    _ => Some(gender),
                },
            },
        }
    }

    fn birth_date(&mut self, id_number: Option<&IdNumber>) -> Option<NaiveDate> {
        let from_id = id_number.and_then(IdNumber::birth_date);
        let cell = self.cell(Field::BirthDate).clone();
        let written = match &cell {
            Data::Empty => None,
            Data::DateTime(value) => date_from_serial(value.as_f64()).map(DateCell::Day),
            Data::Float(value) => date_from_number(*value),
            Data::Int(value) => date_from_number(*value as f64),
            Data::DateTimeIso(text) | Data::String(text) if text.trim().is_empty() => {
                return from_id;
            }
            Data::DateTimeIso(text) | Data::String(text) => date_from_text(text),
            _ => None,
        };
        if cell_text(&cell).is_none() {
            return from_id;
        }
        let Some(written) = written else {
            let shown = cell_text(&cell).unwrap_or_default();
            self.problem(Field::BirthDate, ProblemKind::BadBirthDate { text: shown });
            return None;
        };
        let from_id = from_id?;
        let agrees = match written {
            DateCell::Day(date) => date == from_id,
            DateCell::Month(year, month) => year == from_id.year() && month == from_id.month(),
        };
        if agrees {
            Some(from_id)
        } else {
            self.problem(
                Field::BirthDate,
                ProblemKind::BirthDateMismatch { expected: from_id },
            );
            None
        }
    }

    fn groups(&mut self) -> Option<SpecialGroups> {
        let Some(text) = self.text(Field::Groups) else {
            return Some(SpecialGroups::default());
        };
        if matches!(text.as_str(), "无" | "否" | "-" | "—") {
            return Some(SpecialGroups::default());
        }
        let mut tags: Vec<SpecialGroup> = Vec::new();
        let mut unknown: Vec<&str> = Vec::new();
        for part in split_groups(&text) {
            match group_from(part) {
                Some(group) => tags.push(group),
                None => unknown.push(part),
            }
        }
        if unknown.is_empty() {
            Some(SpecialGroups::from_tags(tags))
        } else {
            let names = unknown.into_iter().map(str::to_owned).collect();
            self.problem(Field::Groups, ProblemKind::UnknownGroups { names });
            None
        }
    }
}

/// A cell as text, trimmed; `None` for a blank cell. Whole numbers print without ".0".
fn cell_text(cell: &Data) -> Option<String> {
    let text = match cell {
        Data::Empty | Data::Error(_) => return None,
        Data::String(text) | Data::DateTimeIso(text) | Data::DurationIso(text) => {
            text.trim().to_owned()
        }
        Data::Int(value) => value.to_string(),
        Data::Float(value) if value.fract() == 0.0 && value.abs() < 1e15 => {
            format!("{}", *value as i64)
        }
        Data::Float(value) => value.to_string(),
        Data::Bool(value) => value.to_string(),
        Data::DateTime(value) => match date_from_serial(value.as_f64()) {
            Some(date) => date.format("%Y-%m-%d").to_string(),
            None => value.as_f64().to_string(),
        },
    };
    (!text.is_empty()).then_some(text)
}

/// Splits "阳光小区3号楼2单元401室" (or "阳光小区3栋2单元401") into its parts; `None` when no
/// building number can be found.
pub fn split_address(text: &str) -> Option<Address> {
    let text = fold(text);
    let (marker_at, marker) = ["号楼", "栋", "幢"]
        .iter()
        .filter_map(|marker| text.find(marker).map(|at| (at, *marker)))
        .min_by_key(|(at, _)| *at)?;
    let before = &text[..marker_at];
    let stem_at = before
        .char_indices()
        .rev()
        .take_while(|(_, ch)| ch.is_ascii_alphanumeric() || *ch == '-')
        .last()
        .map(|(at, _)| at)?;
    let (compound, building) = before.split_at(stem_at);
    let rest = &text[marker_at + marker.len()..];
    let (entrance, house) = match rest.split_once("单元") {
        Some((entrance, house)) => (Some(entrance), house),
        None => (None, rest),
    };
    let house = house.trim_end_matches(['室', '号']);
    if compound.is_empty() || house.is_empty() || entrance.is_some_and(str::is_empty) {
        return None;
    }
    Some(Address {
        compound: Some(compound.to_owned()),
        building: Some(building.to_owned()),
        entrance: entrance.map(str::to_owned),
        house: Some(house.to_owned()),
    })
}
