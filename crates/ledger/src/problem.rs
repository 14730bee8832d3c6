//! What can be wrong with a ledger file, as data: the kind of each problem and what the
//! person fixing the file needs to see (the text they wrote, the date the ID number holds …).
//!
//! The ledger never words a problem itself: the web crate renders each kind from its locale
//! files (`ledger.problem.<code>`), so a page shows it in the reader's language, the API in the
//! request's, and clients can branch on [`ProblemKind::code`].

use chrono::NaiveDate;
use mulin_domain::movement::Direction;
use mulin_domain::person::Gender;
use mulin_domain::tree::NodeKind;

use crate::vocab::Field;

/// One problem of an import: where, and why.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Problem {
    /// The row as Excel numbers it (1-based); 0 for the file as a whole.
    pub row: u32,
    /// The column's header as the file writes it ("" for the file as a whole).
    pub column: String,
    /// What is wrong.
    pub kind: ProblemKind,
}

/// Why a row (or the import as a whole) cannot be imported. Texts in the variants are the
/// file's own cells, which the message quotes back.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ProblemKind {
    /// A cell that must be filled is blank (the problem's column says which).
    Blank,
    /// 姓名 is longer than a name may be.
    NameTooLong,
    /// Excel stored the ID number as a number, which keeps 15 significant digits only.
    IdNumberStoredAsNumber,
    /// The ID number's check character does not match its first 17 digits.
    IdNumberCheckDigit {
        /// The number as written.
        number: String,
        /// The check character the first 17 digits call for.
        expected: char,
    },
    /// The ID number's birth date is not a real day.
    IdNumberBirthDate {
        /// The number as written.
        number: String,
    },
    /// The ID number is not 17 digits and a digit or X.
    IdNumberShape {
        /// The number as written.
        number: String,
        /// How many characters it has.
        length: usize,
    },
    /// The ID number already appeared on an earlier row of the file.
    DuplicateIdNumber {
        /// The first row with the number.
        first_row: u32,
    },
    /// 性别 is neither 男 nor 女.
    UnknownGender {
        /// The cell.
        text: String,
    },
    /// 性别 contradicts the ID number.
    GenderMismatch {
        /// The cell.
        text: String,
        /// The gender the ID number's 17th digit gives.
        expected: Gender,
    },
    /// 出生日期 cannot be read as a date.
    BadBirthDate {
        /// The cell.
        text: String,
    },
    /// 出生日期 contradicts the ID number.
    BirthDateMismatch {
        /// The birth date the ID number holds.
        expected: NaiveDate,
    },
    /// 联系电话 is neither a mobile nor a landline number.
    BadPhone {
        /// The cell.
        text: String,
    },
    /// 与户主关系 is not a known relation.
    UnknownRelation {
        /// The cell.
        text: String,
    },
    /// 人户状态 is not a known status.
    UnknownStatus {
        /// The cell.
        text: String,
    },
    /// 特殊群体 names groups the ledger does not know.
    UnknownGroups {
        /// The unknown parts, as written.
        names: Vec<String>,
    },
    /// A one-cell address does not split into compound, building, entrance and house.
    UnsplittableAddress {
        /// The cell.
        text: String,
    },
    /// A date names a month but no day.
    DateWithoutDay {
        /// The cell.
        text: String,
    },
    /// A date cannot be read.
    BadDate {
        /// The cell.
        text: String,
    },
    /// A date lies after today.
    FutureDate {
        /// The date.
        date: NaiveDate,
    },
    /// 离开日期 lies before 来本地日期.
    MoveOutBeforeMoveIn {
        /// 来本地日期.
        moved_in: NaiveDate,
        /// 离开日期.
        moved_out: NaiveDate,
    },
    /// 离开原因 without 离开日期.
    OutReasonWithoutDate,
    /// A text column is longer than it may be.
    TooLong {
        /// The most characters allowed.
        max: usize,
    },
    /// The import's node is below a compound (row 0).
    BadTarget,
    /// The row's address could not be resolved, for no reason found in its cells.
    NoAddress,
    /// The ID number belongs to a resident outside the importer's scope.
    IdNumberOutsideScope,
    /// The import goes under one compound and the row names another.
    CompoundNotTarget {
        /// The compound the row names.
        name: String,
        /// The compound imported under.
        target: String,
    },
    /// No compound of that name under the import's node.
    UnknownCompound {
        /// The compound the row names.
        name: String,
        /// The node imported under.
        under: String,
    },
    /// The address lies outside the importer's scope.
    OutsideScope,
    /// A missing place would be created in a compound split across grids, so its grid is
    /// unknown.
    SplitCompound {
        /// The compound.
        compound: String,
        /// What would be created (building, entrance or household).
        kind: NodeKind,
        /// Its name as written.
        name: String,
    },
    /// More than one place of that name in the compound.
    AmbiguousPlace {
        /// The compound.
        compound: String,
        /// What the row names (building, entrance or household).
        kind: NodeKind,
        /// Its name as written.
        name: String,
    },
    /// The move is already recorded with another reason; moves are never rewritten.
    MoveReasonDiffers {
        /// In or out.
        direction: Direction,
        /// The day.
        on: NaiveDate,
        /// The reason recorded.
        recorded: String,
    },
    /// A move in while the resident's last move in (on `since`) has no move out.
    StillHere {
        /// The last move in.
        since: NaiveDate,
    },
    /// A move out after the resident already left (on `left`).
    AlreadyLeft {
        /// The last move out.
        left: NaiveDate,
    },
    /// The move lies before the resident's last recorded move.
    MoveBeforeLast {
        /// The last recorded move.
        last: NaiveDate,
    },
}

impl ProblemKind {
    /// A stable code for clients (`ledger.problem.<code>` in the web crate's locale files).
    pub const fn code(&self) -> &'static str {
        match self {
            ProblemKind::Blank => "blank",
            ProblemKind::NameTooLong => "name_too_long",
            ProblemKind::IdNumberStoredAsNumber => "id_number_stored_as_number",
            ProblemKind::IdNumberCheckDigit { .. } => "id_number_check_digit",
            ProblemKind::IdNumberBirthDate { .. } => "id_number_birth_date",
            ProblemKind::IdNumberShape { .. } => "id_number_shape",
            ProblemKind::DuplicateIdNumber { .. } => "duplicate_id_number",
            ProblemKind::UnknownGender { .. } => "unknown_gender",
            ProblemKind::GenderMismatch { .. } => "gender_mismatch",
            ProblemKind::BadBirthDate { .. } => "bad_birth_date",
            ProblemKind::BirthDateMismatch { .. } => "birth_date_mismatch",
            ProblemKind::BadPhone { .. } => "bad_phone",
            ProblemKind::UnknownRelation { .. } => "unknown_relation",
            ProblemKind::UnknownStatus { .. } => "unknown_status",
            ProblemKind::UnknownGroups { .. } => "unknown_groups",
            ProblemKind::UnsplittableAddress { .. } => "unsplittable_address",
            ProblemKind::DateWithoutDay { .. } => "date_without_day",
            ProblemKind::BadDate { .. } => "bad_date",
            ProblemKind::FutureDate { .. } => "future_date",
            ProblemKind::MoveOutBeforeMoveIn { .. } => "move_out_before_move_in",
            ProblemKind::OutReasonWithoutDate => "out_reason_without_date",
            ProblemKind::TooLong { .. } => "too_long",
            ProblemKind::BadTarget => "bad_target",
            ProblemKind::NoAddress => "no_address",
            ProblemKind::IdNumberOutsideScope => "id_number_outside_scope",
            ProblemKind::CompoundNotTarget { .. } => "compound_not_target",
            ProblemKind::UnknownCompound { .. } => "unknown_compound",
            ProblemKind::OutsideScope => "outside_scope",
            ProblemKind::SplitCompound { .. } => "split_compound",
            ProblemKind::AmbiguousPlace { .. } => "ambiguous_place",
            ProblemKind::MoveReasonDiffers { .. } => "move_reason_differs",
            ProblemKind::StillHere { .. } => "still_here",
            ProblemKind::AlreadyLeft { .. } => "already_left",
            ProblemKind::MoveBeforeLast { .. } => "move_before_last",
        }
    }
}

/// Why a workbook cannot be read at all. The web crate words the variants a user causes
/// (`ledger.error.<code>`); the `Display` here is for logs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LedgerError {
    /// Not a workbook calamine can open.
    #[error("unreadable workbook: {0}")]
    Unreadable(String),
    /// The workbook has no worksheet.
    #[error("the workbook has no worksheet")]
    NoSheet,
    /// No row names enough known columns.
    #[error("no header row in the first 30 rows")]
    NoHeader,
    /// The header row lacks required columns: each entry is a column of which any one of
    /// these fields would do.
    #[error("the header lacks required columns: {0:?}")]
    MissingColumns(Vec<Vec<Field>>),
    /// Writing a workbook failed.
    #[error("cannot write the workbook: {0}")]
    Write(String),
}

impl LedgerError {
    /// A stable code for clients (`ledger.error.<code>` in the web crate's locale files).
    pub const fn code(&self) -> &'static str {
        match self {
            LedgerError::Unreadable(_) => "unreadable",
            LedgerError::NoSheet => "no_sheet",
            LedgerError::NoHeader => "no_header",
            LedgerError::MissingColumns(_) => "missing_columns",
            LedgerError::Write(_) => "write",
        }
    }
}
