//! Ledger import problems in words: the ledger crate reports what is wrong as data
//! ([`ProblemKind`], [`LedgerError`]); this module renders it from the locale files
//! (`ledger.problem.<code>`, `ledger.error.<code>`) in the language of whoever reads it — the
//! page's user, the API's caller, zh-CN on the command line.

use mulin_ledger::vocab::Field;
use mulin_ledger::{LedgerError, Problem, ProblemKind};

use crate::i18n::Tr;

/// Why a problem's row (or the file) cannot be imported, in `tr`'s language.
pub fn problem_message(tr: &Tr, problem: &Problem) -> String {
    let day = |date: &chrono::NaiveDate| date.format("%Y-%m-%d").to_string();
    let values: Vec<(&str, String)> = match &problem.kind {
        ProblemKind::Blank
        | ProblemKind::NameTooLong
        | ProblemKind::IdNumberStoredAsNumber
        | ProblemKind::OutReasonWithoutDate
        | ProblemKind::BadTarget
        | ProblemKind::NoAddress
        | ProblemKind::IdNumberOutsideScope
        | ProblemKind::OutsideScope => Vec::new(),
        ProblemKind::IdNumberCheckDigit { number, expected } => {
            vec![
                ("number", number.clone()),
                ("expected", expected.to_string()),
            ]
        }
        ProblemKind::IdNumberBirthDate { number } => vec![("number", number.clone())],
        ProblemKind::IdNumberShape { number, length } => {
            vec![("number", number.clone()), ("length", length.to_string())]
        }
        ProblemKind::DuplicateIdNumber { first_row } => vec![("first_row", first_row.to_string())],
        ProblemKind::UnknownGender { text }
        | ProblemKind::BadBirthDate { text }
        | ProblemKind::BadPhone { text }
        | ProblemKind::UnknownRelation { text }
        | ProblemKind::UnknownStatus { text }
        | ProblemKind::UnsplittableAddress { text }
        | ProblemKind::DateWithoutDay { text }
        | ProblemKind::BadDate { text } => vec![("text", text.clone())],
        ProblemKind::GenderMismatch { text, expected } => vec![
            ("text", text.clone()),
            ("expected", tr.code("gender", expected.as_str())),
        ],
        ProblemKind::BirthDateMismatch { expected } => vec![("expected", day(expected))],
        ProblemKind::UnknownGroups { names } => {
            vec![("names", names.join(tr.get("ledger.list_separator")))]
        }
        ProblemKind::FutureDate { date } => vec![("date", day(date))],
        ProblemKind::MoveOutBeforeMoveIn {
            moved_in,
            moved_out,
        } => vec![("moved_in", day(moved_in)), ("moved_out", day(moved_out))],
        ProblemKind::TooLong { max } => vec![("max", max.to_string())],
        ProblemKind::CompoundNotTarget { name, target } => {
            vec![("name", name.clone()), ("target", target.clone())]
        }
        ProblemKind::UnknownCompound { name, under } => {
            vec![("name", name.clone()), ("under", under.clone())]
        }
        ProblemKind::SplitCompound { compound, name, .. }
        | ProblemKind::AmbiguousPlace { compound, name, .. } => {
            vec![("compound", compound.clone()), ("name", name.clone())]
        }
        ProblemKind::MoveReasonDiffers {
            direction,
            on,
            recorded,
        } => vec![
            ("on", day(on)),
            ("direction", tr.code("ledger.direction", direction.as_str())),
            ("recorded", recorded.clone()),
        ],
        ProblemKind::StillHere { since } => vec![("since", day(since))],
        ProblemKind::AlreadyLeft { left } => vec![("left", day(left))],
        ProblemKind::MoveBeforeLast { last } => vec![("last", day(last))],
    };
    let mut values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // Every message may name the column as the file writes it.
    values.push(("column", &problem.column));
    tr.fill(
        &tr.code("ledger.problem", problem.kind.code()),
        values.as_slice(),
    )
}

/// Why a workbook cannot be read at all, in `tr`'s language.
pub fn ledger_error_message(tr: &Tr, err: &LedgerError) -> String {
    let template = tr.code("ledger.error", err.code());
    match err {
        LedgerError::Unreadable(detail) | LedgerError::Write(detail) => {
            tr.fill(&template, &[("detail", detail)])
        }
        LedgerError::NoSheet | LedgerError::NoHeader => template,
        LedgerError::MissingColumns(columns) => {
            let columns: Vec<String> = columns
                .iter()
                .map(|any_of| {
                    let headers: Vec<&str> = any_of.iter().copied().map(Field::header).collect();
                    headers.join(tr.get("ledger.or"))
                })
                .collect();
            tr.fill(
                &template,
                &[("columns", &columns.join(tr.get("ledger.list_separator")))],
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use mulin_domain::movement::Direction;
    use mulin_domain::person::Gender;
    use mulin_domain::tree::NodeKind;

    use super::*;
    use crate::i18n::Lang;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()
    }

    /// One of every kind (the match in `problem_message` keeps this list honest: a new kind
    /// without a message does not compile there, one without a key fails here).
    fn every_kind() -> Vec<ProblemKind> {
        let text = || "x".to_owned();
        vec![
            ProblemKind::Blank,
            ProblemKind::NameTooLong,
            ProblemKind::IdNumberStoredAsNumber,
            ProblemKind::IdNumberCheckDigit {
                number: text(),
                expected: 'X',
            },
            ProblemKind::IdNumberBirthDate { number: text() },
            ProblemKind::IdNumberShape {
                number: text(),
                length: 1,
            },
            ProblemKind::DuplicateIdNumber { first_row: 2 },
            ProblemKind::UnknownGender { text: text() },
            ProblemKind::GenderMismatch {
                text: text(),
                expected: Gender::Male,
            },
            ProblemKind::BadBirthDate { text: text() },
            ProblemKind::BirthDateMismatch { expected: day() },
            ProblemKind::BadPhone { text: text() },
            ProblemKind::UnknownRelation { text: text() },
            ProblemKind::UnknownStatus { text: text() },
            ProblemKind::UnknownGroups {
                names: vec![text(), text()],
            },
            ProblemKind::UnsplittableAddress { text: text() },
            ProblemKind::DateWithoutDay { text: text() },
            ProblemKind::BadDate { text: text() },
            ProblemKind::FutureDate { date: day() },
            ProblemKind::MoveOutBeforeMoveIn {
                moved_in: day(),
                moved_out: day(),
            },
            ProblemKind::OutReasonWithoutDate,
            ProblemKind::TooLong { max: 200 },
            ProblemKind::BadTarget,
            ProblemKind::NoAddress,
            ProblemKind::IdNumberOutsideScope,
            ProblemKind::CompoundNotTarget {
                name: text(),
                target: text(),
            },
            ProblemKind::UnknownCompound {
                name: text(),
                under: text(),
            },
            ProblemKind::OutsideScope,
            ProblemKind::SplitCompound {
                compound: text(),
                kind: NodeKind::Building,
                name: text(),
            },
            ProblemKind::AmbiguousPlace {
                compound: text(),
                kind: NodeKind::Household,
                name: text(),
            },
            ProblemKind::MoveReasonDiffers {
                direction: Direction::Out,
                on: day(),
                recorded: text(),
            },
            ProblemKind::StillHere { since: day() },
            ProblemKind::AlreadyLeft { left: day() },
            ProblemKind::MoveBeforeLast { last: day() },
        ]
    }

    fn problem(kind: ProblemKind) -> Problem {
        Problem {
            row: 3,
            column: "房号/门牌号".to_owned(),
            kind,
        }
    }

    #[test]
    fn every_problem_and_error_has_a_message_in_both_languages() {
        let errors = [
            LedgerError::Unreadable("zip".to_owned()),
            LedgerError::NoSheet,
            LedgerError::NoHeader,
            LedgerError::MissingColumns(vec![vec![Field::House, Field::CurrentAddress]]),
            LedgerError::Write("disk".to_owned()),
        ];
        for lang in [Lang::ZhCn, Lang::En] {
            let tr = Tr::new(lang);
            let mut codes = std::collections::HashSet::new();
            for kind in every_kind() {
                assert!(codes.insert(kind.code()), "{} twice", kind.code());
                let message = problem_message(&tr, &problem(kind.clone()));
                assert!(
                    !message.starts_with("ledger."),
                    "{kind:?} has no {lang:?} text"
                );
                assert!(
                    !message.contains('{'),
                    "{kind:?} leaves a placeholder: {message}"
                );
            }
            for err in &errors {
                let message = ledger_error_message(&tr, err);
                assert!(!message.starts_with("ledger."), "{err:?}: {message}");
                assert!(!message.contains('{'), "{err:?}: {message}");
            }
        }
    }

    #[test]
    fn messages_quote_the_file_in_the_readers_language() {
        let zh = Tr::new(Lang::ZhCn);
        let en = Tr::new(Lang::En);
        let mismatch = problem(ProblemKind::GenderMismatch {
            text: "女".to_owned(),
            expected: Gender::Male,
        });
        assert_eq!(
            problem_message(&zh, &mismatch),
            "性别「女」与身份证号不符（身份证号第 17 位表示男）"
        );
        assert_eq!(
            problem_message(&en, &mismatch),
            "Gender “女” does not match the ID number (its 17th digit says Male)"
        );
        assert_eq!(
            problem_message(&zh, &problem(ProblemKind::Blank)),
            "房号/门牌号不能为空"
        );
        assert_eq!(
            problem_message(
                &zh,
                &problem(ProblemKind::DuplicateIdNumber { first_row: 2 })
            ),
            "身份证号与第 2 行重复，同一人只能出现一次"
        );
        let missing = LedgerError::MissingColumns(vec![
            vec![Field::House, Field::CurrentAddress],
            vec![Field::MoveInDate],
        ]);
        assert_eq!(
            ledger_error_message(&zh, &missing),
            "表头缺少必需的列：房号或现居住地址、来本地日期"
        );
        assert_eq!(
            ledger_error_message(&en, &missing),
            "The header row lacks required columns: 房号 or 现居住地址, 来本地日期"
        );
    }
}
