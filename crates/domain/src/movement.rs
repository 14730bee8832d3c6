//! Floating population (流动人口): a resident's moves in and out, kept as a history (in, out,
//! in again), and the monthly figures drawn from many histories.
//!
//! A history alternates: a move in follows a move out (or starts the history) and the other
//! way round, never earlier than the move before it. A history that starts with a move out
//! belongs to someone who lived here before records began.

use chrono::{Datelike, Months, NaiveDate};

use crate::codes::code_enum;

code_enum!(
    /// Which way a resident moved.
    Direction, "movement direction" {
        /// 迁入 / 来住.
        In = "in",
        /// 迁出 / 离开.
        Out = "out",
    }
);

/// The most characters of a move's reason.
pub const MAX_REASON_CHARS: usize = 200;

/// One move.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Move {
    /// Which way.
    pub direction: Direction,
    /// On which day.
    pub on: NaiveDate,
}

/// Why a move does not fit a history.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MovementError {
    /// A move in for someone already here, or out for someone already gone.
    #[error("the resident already moved this way last")]
    SameDirection,
    /// Dated before the last move recorded.
    #[error("dated before the last move")]
    BeforeLast,
}

/// Whether `next` may follow `history` (oldest first).
pub fn check_next(history: &[Move], next: Move) -> Result<(), MovementError> {
    match history.last() {
        Some(last) if last.direction == next.direction => Err(MovementError::SameDirection),
        Some(last) if next.on < last.on => Err(MovementError::BeforeLast),
        _ => Ok(()),
    }
}

/// Whether someone with this history (oldest first) is here at the end of `day`.
pub fn present_on(history: &[Move], day: NaiveDate) -> bool {
    match history.iter().rev().find(|m| m.on <= day) {
        Some(last) => last.direction == Direction::In,
        // Before the first record: here if the first record is a move out.
        None => history
            .first()
            .is_some_and(|first| first.direction == Direction::Out),
    }
}

/// A calendar month, named by its first day. Invariant: the day is the 1st.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Month(NaiveDate);

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Month> {
        NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
            .ok()
            .map(Month)
    }

    /// The month a day falls in.
    pub fn of(day: NaiveDate) -> Month {
        Month(day.with_day(1).unwrap_or(day))
    }

    /// Its first day.
    pub fn first_day(self) -> NaiveDate {
        self.0
    }

    /// Its last day.
    pub fn last_day(self) -> NaiveDate {
        self.next().0.pred_opt().unwrap_or(self.0)
    }

    /// The month after.
    pub fn next(self) -> Month {
        Month(self.0.checked_add_months(Months::new(1)).unwrap_or(self.0))
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m"))
    }
}

/// The longest span the dynamics cover, in months.
pub const MAX_DYNAMICS_MONTHS: usize = 120;

/// One month's figures.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MonthFigures {
    /// The month.
    pub month: Month,
    /// Moves in during the month.
    pub moved_in: u32,
    /// Moves out during the month.
    pub moved_out: u32,
    /// People here at the month's end.
    pub present_at_end: u32,
}

/// Per month from `from` to `to` (both included, at most [`MAX_DYNAMICS_MONTHS`]): moves in,
/// moves out and people present at the month's end, over many histories (each oldest
/// first). None when `to` is before `from` or the span is too long.
pub fn monthly_dynamics(
    histories: &[Vec<Move>],
    from: Month,
    to: Month,
) -> Option<Vec<MonthFigures>> {
    if to < from {
        return None;
    }
    let months: Vec<Month> = std::iter::successors(Some(from), |m| Some(m.next()))
        .take_while(|m| *m <= to)
        .take(MAX_DYNAMICS_MONTHS + 1)
        .collect();
    if months.len() > MAX_DYNAMICS_MONTHS {
        return None;
    }
    Some(
        months
            .into_iter()
            .map(|month| {
                let inside =
                    |m: &&Move, direction| m.direction == direction && Month::of(m.on) == month;
                let count = |direction| {
                    histories
                        .iter()
                        .flatten()
                        .filter(|m| inside(m, direction))
                        .count() as u32
                };
                MonthFigures {
                    month,
                    moved_in: count(Direction::In),
                    moved_out: count(Direction::Out),
                    present_at_end: histories
                        .iter()
                        .filter(|h| present_on(h, month.last_day()))
                        .count() as u32,
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn mv(direction: Direction, on: NaiveDate) -> Move {
        Move { direction, on }
    }

    #[test]
    fn a_history_alternates_forward_in_time() {
        let moved_in = [mv(Direction::In, day(2025, 3, 1))];
        assert_eq!(
            check_next(&moved_in, mv(Direction::In, day(2025, 4, 1))),
            Err(MovementError::SameDirection)
        );
        assert_eq!(
            check_next(&moved_in, mv(Direction::Out, day(2025, 2, 28))),
            Err(MovementError::BeforeLast)
        );
        assert_eq!(
            check_next(&moved_in, mv(Direction::Out, day(2025, 3, 1))),
            Ok(())
        );
        assert_eq!(check_next(&[], mv(Direction::Out, day(2025, 3, 1))), Ok(()));
    }

    #[test]
    fn in_out_and_in_again() {
        let history = [
            mv(Direction::In, day(2025, 1, 10)),
            mv(Direction::Out, day(2025, 3, 5)),
            mv(Direction::In, day(2025, 5, 20)),
        ];
        assert!(!present_on(&history, day(2025, 1, 9)));
        assert!(present_on(&history, day(2025, 2, 28)));
        assert!(!present_on(&history, day(2025, 4, 30)));
        assert!(present_on(&history, day(2025, 5, 31)));
        let figures = monthly_dynamics(
            &[history.to_vec()],
            Month::parse("2025-01").unwrap(),
            Month::parse("2025-05").unwrap(),
        )
        .unwrap();
        let rows: Vec<(String, u32, u32, u32)> = figures
            .iter()
            .map(|f| {
                (
                    f.month.to_string(),
                    f.moved_in,
                    f.moved_out,
                    f.present_at_end,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("2025-01".to_owned(), 1, 0, 1),
                ("2025-02".to_owned(), 0, 0, 1),
                ("2025-03".to_owned(), 0, 1, 0),
                ("2025-04".to_owned(), 0, 0, 0),
                ("2025-05".to_owned(), 1, 0, 1),
            ]
        );
    }

    #[test]
    fn someone_who_first_moves_out_was_here_before() {
        let history = [mv(Direction::Out, day(2025, 2, 1))];
        assert!(present_on(&history, day(2025, 1, 31)));
        assert!(!present_on(&history, day(2025, 2, 1)));
    }

    #[test]
    fn months_parse_and_spans_are_bounded() {
        assert!(Month::parse("2025-13").is_none());
        assert_eq!(
            Month::parse("2024-02").unwrap().last_day(),
            day(2024, 2, 29)
        );
        let jan = Month::parse("2025-01").unwrap();
        assert!(monthly_dynamics(&[], jan.next(), jan).is_none());
        assert!(monthly_dynamics(&[], Month::parse("2000-01").unwrap(), jan).is_none());
        assert_eq!(monthly_dynamics(&[], jan, jan).unwrap().len(), 1);
    }

    fn history() -> impl Strategy<Value = Vec<Move>> {
        (any::<bool>(), prop::collection::vec(0i64..40, 0..8)).prop_map(|(start_in, gaps)| {
            let mut on = day(2024, 1, 1);
            let mut direction = if start_in {
                Direction::In
            } else {
                Direction::Out
            };
            gaps.into_iter()
                .map(|gap| {
                    on += chrono::Duration::days(gap);
                    let m = mv(direction, on);
                    direction = if direction == Direction::In {
                        Direction::Out
                    } else {
                        Direction::In
                    };
                    m
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn generated_histories_are_coherent_and_counts_balance(histories in prop::collection::vec(history(), 0..20)) {
            for h in &histories {
                for i in 0..h.len() {
                    prop_assert_eq!(check_next(&h[..i], h[i]), Ok(()));
                }
            }
            let from = Month::parse("2023-12").unwrap();
            let to = Month::parse("2024-12").unwrap();
            let figures = monthly_dynamics(&histories, from, to).unwrap();
            // Present at the end of a month = present at the end of the month before
            // + moves in − moves out during it.
            let mut before = histories
                .iter()
                .filter(|h| present_on(h, from.first_day().pred_opt().unwrap()))
                .count() as i64;
            for f in &figures {
                let now = before + i64::from(f.moved_in) - i64::from(f.moved_out);
                prop_assert_eq!(now, i64::from(f.present_at_end));
                before = now;
            }
        }
    }
}
