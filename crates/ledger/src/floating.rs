//! The floating-population ledger (流动人口信息登记台账): one row per stay of a person who
//! does not hold the local household registration — who they are, where they live now,
//! when and why they came, and when and why they left.
//!
//! It is read with the resident ledger's machinery (header search, ID checks, dates,
//! addresses) and planned with the resident ledger's plan: each row creates or updates the
//! resident (status 流动; an existing resident keeps their relation and special groups,
//! which this ledger does not carry). The stay becomes moves in the resident's history,
//! which is append-only: a move already recorded is recognised by direction and day, so
//! importing the same file twice adds nothing, and a row that contradicts the history is a
//! problem of the row, never a rewrite.

use std::collections::HashMap;

use calamine::Data;
use chrono::{DateTime, NaiveDate, Utc};
use mulin_domain::ids::{DistrictId, ResidentId, UserId};
use mulin_domain::movement::{self, Direction, Move, MovementError, MAX_REASON_CHARS};
use mulin_domain::person::{Relation, ResidenceStatus, SpecialGroups};
use mulin_domain::tree::NodePath;
use mulin_storage::{MovementRecord, NodeRecord, ResidentRecord, Storage, StoreResult};

use crate::parse::{read_sheet, with_first_sheet, LedgerRow, Parsed, RowReader};
use crate::plan::{plan_merged, ImportPlan};
use crate::vocab::{gender_label, Field};
use crate::write::Table;
use crate::{ExportRow, LedgerError, Problem, ProblemKind};

/// The columns a floating ledger must have (each entry: any one of these).
const REQUIRED: [&[Field]; 4] = [
    &[Field::Name],
    &[Field::IdNumber],
    &[Field::House, Field::CurrentAddress],
    &[Field::MoveInDate],
];

/// The columns kept on the resident as extra fields, under their template header.
pub const KEPT: [Field; 4] = [
    Field::HomeAddress,
    Field::Occupation,
    Field::PermitNumber,
    Field::Note,
];

/// The most characters of a kept column.
const MAX_KEPT_CHARS: usize = 200;

const SHEET: &str = "流动人口信息登记台账";

/// One checked row of the floating ledger.
#[derive(Clone, PartialEq, Debug)]
pub struct FloatingRow {
    /// The person and where they live (relation 其他, status 流动, no groups).
    pub resident: LedgerRow,
    /// 来本地日期.
    pub moved_in: NaiveDate,
    /// 暂住事由 (empty when blank).
    pub in_reason: String,
    /// 离开日期.
    pub moved_out: Option<NaiveDate>,
    /// 离开原因 (empty when blank).
    pub out_reason: String,
    /// Each [`KEPT`] column the file has, with its text (`None`: blank, which clears it).
    pub kept: Vec<(Field, Option<String>)>,
}

/// Reads the first worksheet of a floating-population ledger; `today` bounds the dates.
pub fn parse_floating_workbook(
    bytes: &[u8],
    today: NaiveDate,
) -> Result<Parsed<FloatingRow>, LedgerError> {
    with_first_sheet(bytes, |rows, row0| parse_floating_rows(rows, row0, today))
}

/// Checks rows of cells of a floating ledger; `row0` is the 0-based sheet row of `rows[0]`.
pub fn parse_floating_rows(
    rows: &[&[Data]],
    row0: u32,
    today: NaiveDate,
) -> Result<Parsed<FloatingRow>, LedgerError> {
    read_sheet(
        rows,
        row0,
        &REQUIRED,
        |reader| read_row(reader, today),
        |row| &row.resident.id_number,
    )
}

fn read_row(reader: &mut RowReader<'_>, today: NaiveDate) -> Option<FloatingRow> {
    let person = reader.person();
    let address = reader.checked_address();
    let moved_in = reader.date(Field::MoveInDate);
    if moved_in == Ok(None) {
        reader.problem(Field::MoveInDate, ProblemKind::Blank);
    }
    let in_reason = reason(reader, Field::MoveInReason);
    let moved_out = reader.date(Field::MoveOutDate);
    let out_reason = reason(reader, Field::MoveOutReason);
    for (field, date) in [
        (Field::MoveInDate, &moved_in),
        (Field::MoveOutDate, &moved_out),
    ] {
        if let Ok(Some(date)) = date {
            if *date > today {
                reader.problem(field, ProblemKind::FutureDate { date: *date });
            }
        }
    }
    if let (Ok(Some(moved_in)), Ok(Some(moved_out))) = (moved_in, moved_out) {
        if moved_out < moved_in {
            reader.problem(
                Field::MoveOutDate,
                ProblemKind::MoveOutBeforeMoveIn {
                    moved_in,
                    moved_out,
                },
            );
        }
    }
    if matches!(moved_out, Ok(None)) && out_reason.as_deref().is_some_and(|r| !r.is_empty()) {
        reader.problem(Field::MoveOutReason, ProblemKind::OutReasonWithoutDate);
    }
    let mut kept = Vec::new();
    for field in KEPT {
        if reader.has(field) {
            let text = reader.text(field);
            if text
                .as_ref()
                .is_some_and(|t| t.chars().count() > MAX_KEPT_CHARS)
            {
                reader.problem(
                    field,
                    ProblemKind::TooLong {
                        max: MAX_KEPT_CHARS,
                    },
                );
            }
            kept.push((field, text));
        }
    }
    let person = person?;
    Some(FloatingRow {
        resident: LedgerRow {
            row: reader.row(),
            name: person.name,
            gender: person.gender,
            ethnicity: person.ethnicity,
            birth_date: person.birth_date,
            id_number: person.id_number,
            phone: person.phone,
            address,
            relation: Relation::Other,
            status: ResidenceStatus::Floating,
            groups: SpecialGroups::default(),
        },
        moved_in: moved_in.ok()??,
        in_reason: in_reason?,
        moved_out: moved_out.ok()?,
        out_reason: out_reason?,
        kept,
    })
}

/// A reason column's text ("" when blank), or `None` after reporting it too long.
fn reason(reader: &mut RowReader<'_>, field: Field) -> Option<String> {
    let text = reader.text(field).unwrap_or_default();
    if text.chars().count() > MAX_REASON_CHARS {
        reader.problem(
            field,
            ProblemKind::TooLong {
                max: MAX_REASON_CHARS,
            },
        );
        return None;
    }
    Some(text)
}

/// Who records an import's moves, and when.
#[derive(Clone, Copy, Debug)]
pub struct Recorder {
    /// The account importing.
    pub by: UserId,
    /// The moment of the import.
    pub at: DateTime<Utc>,
}

/// What a floating import would write, and every problem that stops it.
#[derive(Clone, Debug, Default)]
pub struct FloatingPlan {
    /// The residents' part, as the resident ledger plans it (its problems include the
    /// moves' problems).
    pub plan: ImportPlan,
    /// Moves to append, each resident's in order.
    pub movements: Vec<MovementRecord>,
}

/// Where a planned row's resident lives, and whether they were registered before.
struct Placed {
    id: ResidentId,
    household: NodePath,
    name: String,
    existed: bool,
}

/// Plans a floating import under `under`: the residents as [`crate::plan_import`] does, then
/// the moves each row's stay adds to the resident's history.
pub async fn plan_floating(
    store: &dyn Storage,
    under: &NodeRecord,
    parsed: Parsed<FloatingRow>,
    allowed: &(dyn Fn(&NodePath) -> bool + Send + Sync),
    recorder: Recorder,
) -> StoreResult<FloatingPlan> {
    let district: DistrictId = under.path.district().into();
    let headers = parsed.headers.clone();
    let mut stays = Vec::with_capacity(parsed.rows.len());
    let mut kept_by_row = HashMap::new();
    let mut residents = Vec::with_capacity(parsed.rows.len());
    for row in parsed.rows {
        kept_by_row.insert(row.resident.row, row.kept);
        stays.push((
            row.resident.row,
            [
                Some((Direction::In, row.moved_in, row.in_reason)),
                row.moved_out
                    .map(|moved_out| (Direction::Out, moved_out, row.out_reason)),
            ],
        ));
        residents.push(row.resident);
    }
    let resident_rows = Parsed {
        rows: residents,
        problems: parsed.problems,
        unchecked_addresses: parsed.unchecked_addresses,
        n_rows: parsed.n_rows,
        headers: parsed.headers,
    };
    let mut placed: HashMap<u32, Placed> = HashMap::new();
    let mut merge = |row: u32, before: Option<&ResidentRecord>, record: &mut ResidentRecord| {
        if let Some(before) = before {
            record.relation = before.relation;
            record.groups = before.groups;
        }
        for (field, text) in kept_by_row.get(&row).into_iter().flatten() {
            let key = field.header();
            record.extra.retain(|(k, _)| k != key);
            if let Some(text) = text {
                record.extra.push((key.to_owned(), text.clone()));
            }
        }
        // Stored extras come back ordered by key; keep the same order so an unchanged
        // row compares equal.
        record.extra.sort();
        placed.insert(
            row,
            Placed {
                id: record.id,
                household: record.household,
                name: record.name.as_ref().to_owned(),
                existed: before.is_some(),
            },
        );
    };
    let mut plan = plan_merged(store, under, resident_rows, allowed, &mut merge).await?;

    let existing: Vec<ResidentId> = placed
        .values()
        .filter(|p| p.existed)
        .map(|p| p.id)
        .collect();
    let mut histories: HashMap<ResidentId, Vec<MovementRecord>> = HashMap::new();
    for m in store.movements_of(district, &existing).await? {
        histories.entry(m.resident).or_default().push(m);
    }
    let header = |field: Field| {
        headers
            .get(&field)
            .cloned()
            .unwrap_or_else(|| field.header().to_owned())
    };
    let mut movements = Vec::new();
    for (row, moves) in stays {
        let Some(place) = placed.get(&row) else {
            continue;
        };
        let mut history = histories.remove(&place.id).unwrap_or_default();
        for (direction, on, reason) in moves.into_iter().flatten() {
            let (date_field, reason_field) = match direction {
                Direction::In => (Field::MoveInDate, Field::MoveInReason),
                Direction::Out => (Field::MoveOutDate, Field::MoveOutReason),
            };
            if let Some(known) = history
                .iter()
                .find(|m| m.direction == direction && m.on == on)
            {
                if known.reason != reason {
                    plan.problems.push(Problem {
                        row,
                        column: header(reason_field),
                        kind: ProblemKind::MoveReasonDiffers {
                            direction,
                            on,
                            recorded: known.reason.clone(),
                        },
                    });
                }
                continue;
            }
            let known: Vec<Move> = history
                .iter()
                .map(|m| Move {
                    direction: m.direction,
                    on: m.on,
                })
                .collect();
            if let Err(err) = movement::check_next(&known, Move { direction, on }) {
                // check_next refuses only a move that follows a known one.
                let last = known.last().map_or(on, |m| m.on);
                let kind = match (err, direction) {
                    (MovementError::SameDirection, Direction::In) => {
                        ProblemKind::StillHere { since: last }
                    }
                    (MovementError::SameDirection, Direction::Out) => {
                        ProblemKind::AlreadyLeft { left: last }
                    }
                    (MovementError::BeforeLast, _) => ProblemKind::MoveBeforeLast { last },
                };
                plan.problems.push(Problem {
                    row,
                    column: header(date_field),
                    kind,
                });
                break;
            }
            let record = MovementRecord {
                id: uuid::Uuid::now_v7(),
                district,
                resident: place.id,
                resident_name: place.name.clone(),
                seq: history.len() as i64 + 1,
                household: place.household,
                direction,
                on,
                reason,
                recorded_by: recorder.by,
                recorded_at: recorder.at,
            };
            history.push(record.clone());
            movements.push(record);
        }
    }
    plan.problems.sort_by_key(|problem| problem.row);
    Ok(FloatingPlan { plan, movements })
}

/// One stay as an export writes it: the resident's columns (the caller masks them) and the
/// stay's moves and kept columns.
#[derive(Clone, PartialEq, Debug)]
pub struct FloatingExportRow {
    /// The person and the address (relation, status and groups are not written).
    pub resident: ExportRow,
    /// 来本地日期 (blank for someone who lived here before records began).
    pub moved_in: Option<NaiveDate>,
    /// 暂住事由.
    pub in_reason: String,
    /// 离开日期.
    pub moved_out: Option<NaiveDate>,
    /// 离开原因.
    pub out_reason: String,
    /// The resident's extra fields ([`KEPT`] are written).
    pub extra: Vec<(String, String)>,
}

fn date_text(date: Option<NaiveDate>) -> String {
    date.map(|date| date.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

impl FloatingExportRow {
    /// The cells in [`Field::FLOATING`] order.
    fn cells(&self) -> Vec<String> {
        let r = &self.resident;
        let kept = |field: Field| {
            self.extra
                .iter()
                .find(|(key, _)| key == field.header())
                .map(|(_, value)| value.clone())
                .unwrap_or_default()
        };
        Field::FLOATING
            .iter()
            .map(|field| match field {
                Field::Name => r.name.clone(),
                Field::Gender => gender_label(r.gender).to_owned(),
                Field::Ethnicity => r.ethnicity.clone().unwrap_or_default(),
                Field::BirthDate => date_text(r.birth_date),
                Field::IdNumber => r.id_number.clone().unwrap_or_default(),
                Field::Phone => r.phone.clone().unwrap_or_default(),
                Field::Compound => r.compound.clone(),
                Field::Building => r.building.clone(),
                Field::Entrance => r.entrance.clone(),
                Field::House => r.house.clone(),
                Field::MoveInDate => date_text(self.moved_in),
                Field::MoveInReason => self.in_reason.clone(),
                Field::MoveOutDate => date_text(self.moved_out),
                Field::MoveOutReason => self.out_reason.clone(),
                other => kept(*other),
            })
            .collect()
    }
}

/// A floating-population export as a [`Table`] in the template's columns.
pub fn floating_table(rows: &[FloatingExportRow]) -> Table {
    Table::of_fields(
        SHEET,
        &Field::FLOATING,
        rows.iter().map(FloatingExportRow::cells).collect(),
    )
}

/// A floating-population export as xlsx, in the template's columns.
pub fn write_floating_xlsx(rows: &[FloatingExportRow]) -> Result<Vec<u8>, LedgerError> {
    floating_table(rows).to_xlsx()
}

/// A floating-population export as CSV, in the template's columns (as
/// [`crate::write_csv`] writes the resident ledger).
pub fn write_floating_csv(rows: &[FloatingExportRow]) -> String {
    floating_table(rows).to_csv()
}

/// The blank floating-population template, under a title row.
pub fn floating_template_xlsx() -> Result<Vec<u8>, LedgerError> {
    let mut table = Table::of_fields(SHEET, &Field::FLOATING, Vec::new());
    table.title =
        Some("流动人口信息登记台账（身份证号请保持文本格式；日期写成 2024-03-14）".to_owned());
    table.to_xlsx()
}

#[cfg(test)]
mod tests {
    use mulin_domain::person::id_check_char;
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

    use super::*;
    use crate::split_address;

    fn id(first17: &str) -> String {
        format!("{first17}{}", id_check_char(first17).unwrap())
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_one_cell_address_splits_whatever_the_suffixes() {
        let parts =
            |text: &str| split_address(text).map(|a| (a.compound, a.building, a.entrance, a.house));
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(
            parts("阳光小区3号楼2单元401室"),
            Some((some("阳光小区"), some("3"), some("2"), some("401")))
        );
        assert_eq!(
            parts("幸福 里 １２栋1单元502"),
            Some((some("幸福里"), some("12"), some("1"), some("502")))
        );
        assert_eq!(
            parts("东苑B幢301号"),
            Some((some("东苑"), some("B"), None, some("301")))
        );
        assert_eq!(parts("3号楼2单元401"), None, "no compound");
        assert_eq!(parts("阳光小区"), None);
        assert_eq!(parts("阳光小区3号楼"), None, "no house");
    }

    #[test]
    fn a_floating_ledger_reads_under_a_title_with_dates_as_serials() {
        let here = id("41052219950612301");
        let gone = id("41052219880203402");
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet
            .merge_range(0, 0, 0, 6, "流动人口信息登记台账", &Format::new())
            .unwrap();
        for (col, header) in [
            "姓 名",
            "身份证号码",
            "现住址",
            "迁入日期",
            "来由",
            "迁出日期",
            "居住证编号",
        ]
        .iter()
        .enumerate()
        {
            sheet.write_string(1, col as u16, *header).unwrap();
        }
        let date_format = Format::new().set_num_format("yyyy-mm-dd");
        sheet.write_string(2, 0, "刘来").unwrap();
        sheet.write_string(2, 1, &here).unwrap();
        sheet.write_string(2, 2, "阳光小区3号楼2单元401室").unwrap();
        let moved_in = ExcelDateTime::from_ymd(2025, 3, 1).unwrap();
        sheet
            .write_datetime_with_format(2, 3, &moved_in, &date_format)
            .unwrap();
        sheet.write_string(2, 4, "务工").unwrap();
        sheet.write_string(2, 6, "JZ1").unwrap();
        sheet.write_string(3, 0, "陈走").unwrap();
        sheet.write_string(3, 1, &gone).unwrap();
        sheet.write_string(3, 2, "阳光小区3号楼2单元402室").unwrap();
        sheet.write_string(3, 3, "2024年9月15日").unwrap();
        sheet.write_number(3, 5, 20250630.0).unwrap();
        let bytes = workbook.save_to_buffer().unwrap();

        let parsed = parse_floating_workbook(&bytes, day(2026, 1, 1)).unwrap();
        assert_eq!(parsed.problems, []);
        assert_eq!(parsed.n_rows, 2);
        let first = &parsed.rows[0];
        assert_eq!(first.resident.row, 3);
        assert_eq!(first.resident.status, ResidenceStatus::Floating);
        assert_eq!(first.resident.address.house.as_deref(), Some("401"));
        assert_eq!(
            (first.moved_in, first.in_reason.as_str(), first.moved_out),
            (day(2025, 3, 1), "务工", None)
        );
        assert_eq!(
            first.kept,
            [(Field::PermitNumber, Some("JZ1".to_owned()))],
            "only the kept columns the file has"
        );
        let second = &parsed.rows[1];
        assert_eq!(
            (second.moved_in, second.moved_out),
            (day(2024, 9, 15), Some(day(2025, 6, 30)))
        );
        assert_eq!(second.kept, [(Field::PermitNumber, None)]);
    }

    #[test]
    fn a_floating_ledger_needs_a_move_in_column_and_an_address() {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        for (col, header) in ["姓名", "身份证号", "联系电话", "备注"].iter().enumerate()
        {
            sheet.write_string(0, col as u16, *header).unwrap();
        }
        let bytes = workbook.save_to_buffer().unwrap();
        assert_eq!(
            parse_floating_workbook(&bytes, day(2026, 1, 1)),
            Err(LedgerError::MissingColumns(vec![
                vec![Field::House, Field::CurrentAddress],
                vec![Field::MoveInDate]
            ]))
        );
    }

    #[test]
    fn the_template_is_the_export_header_and_reads_back_empty() {
        let template = floating_template_xlsx().unwrap();
        let parsed = parse_floating_workbook(&template, day(2026, 1, 1)).unwrap();
        assert_eq!(parsed.n_rows, 0);
        for field in Field::FLOATING {
            assert_eq!(parsed.header(field), field.header());
            assert!(parsed.headers.contains_key(&field), "{field:?}");
        }
    }
}
