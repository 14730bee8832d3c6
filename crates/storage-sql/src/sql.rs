//! A statement and its arguments, written with `$n` placeholders that both dialects accept.
//!
//! sqlx's `QueryBuilder<Any>` writes `?` placeholders, which PostgreSQL rejects, and an
//! untyped NULL confuses PostgreSQL's type inference; so arguments carry their SQL type.

use std::fmt::Write;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Transaction};

use crate::{map_err, Dialect};

/// One argument with its SQL type, so a NULL is typed too.
#[derive(Clone, Debug)]
pub(crate) enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    Float(Option<f64>),
}

impl From<String> for Arg {
    fn from(value: String) -> Arg {
        Arg::Text(Some(value))
    }
}
impl From<&str> for Arg {
    fn from(value: &str) -> Arg {
        Arg::Text(Some(value.to_owned()))
    }
}
impl From<Option<String>> for Arg {
    fn from(value: Option<String>) -> Arg {
        Arg::Text(value)
    }
}
impl From<i64> for Arg {
    fn from(value: i64) -> Arg {
        Arg::Int(Some(value))
    }
}
impl From<Option<i64>> for Arg {
    fn from(value: Option<i64>) -> Arg {
        Arg::Int(value)
    }
}
impl From<Option<f64>> for Arg {
    fn from(value: Option<f64>) -> Arg {
        Arg::Float(value)
    }
}

/// SQL text with its arguments.
#[derive(Default, Debug)]
pub(crate) struct Sql {
    text: String,
    args: Vec<Arg>,
    /// Placeholders are anonymous `?` (see [`Sql::in_order`]).
    anonymous: bool,
    /// Where in `text` each placeholder starts, so [`Batch`] can rewrite them.
    marks: Vec<usize>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Sql {
        Sql {
            text: text.to_owned(),
            args: Vec::new(),
            anonymous: false,
            marks: Vec::new(),
        }
    }

    /// A statement whose placeholders are written only by [`Sql::bind`] (each argument once,
    /// in order), so on SQLite they can be anonymous `?`. sqlx asks SQLite for every
    /// parameter's name, and SQLite finds a numbered name by walking the statement's list of
    /// names: binding a 500-parameter insert was quadratic, 10 % of a 100,000-resident
    /// import's CPU.
    pub(crate) fn in_order(text: &str, dialect: Dialect) -> Sql {
        Sql {
            anonymous: dialect == Dialect::Sqlite,
            ..Sql::new(text)
        }
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `arg`.
    pub(crate) fn bind(&mut self, arg: impl Into<Arg>) -> &mut Sql {
        self.args.push(arg.into());
        self.marks.push(self.text.len());
        if self.anonymous {
            self.text.push('?');
        } else {
            // Writing to a String cannot fail.
            let _ = write!(self.text, "${}", self.args.len());
        }
        self
    }

    /// Appends `(a, b, c)` placeholders for one row.
    pub(crate) fn bind_row(&mut self, args: Vec<Arg>) -> &mut Sql {
        self.push("(");
        for (idx, arg) in args.into_iter().enumerate() {
            if idx > 0 {
                self.push(", ");
            }
            self.bind(arg);
        }
        self.push(")")
    }

    /// This statement inside `before … after` (as a subquery), arguments kept.
    pub(crate) fn wrap(self, before: &str, after: &str) -> Sql {
        Sql {
            text: format!("{before}{}{after}", self.text),
            marks: self.marks.iter().map(|at| at + before.len()).collect(),
            ..self
        }
    }

    /// Appends another statement's text and arguments, its placeholders renumbered.
    pub(crate) fn append(&mut self, other: Sql) -> &mut Sql {
        let mut from = 0;
        for (&at, arg) in other.marks.iter().zip(other.args) {
            self.push(&other.text[from..at]);
            from = at + placeholder_len(&other.text[at..]);
            self.bind(arg);
        }
        self.push(&other.text[from..])
    }

    pub(crate) fn n_args(&self) -> usize {
        self.args.len()
    }

    /// The sqlx query, arguments bound in order.
    pub(crate) fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut query = sqlx::query(&self.text);
        for arg in &self.args {
            query = match arg {
                Arg::Text(value) => query.bind(value.as_deref()),
                Arg::Int(value) => query.bind(*value),
                Arg::Float(Some(value)) => query.bind(*value),
                // sqlx 0.8.6's Any driver swaps the NULL types of f32 and f64 (a `None::<f64>`
                // reaches PostgreSQL as FLOAT4), and the cached statement then rejects the
                // FLOAT8 values of later rows. `None::<f32>` arrives as a FLOAT8 NULL.
                Arg::Float(None) => query.bind(None::<f32>),
            };
        }
        query
    }
}

/// The length of the placeholder `bind` wrote at the start of `text`: `?` or `$n`.
fn placeholder_len(text: &str) -> usize {
    match text.as_bytes().first() {
        Some(b'$') => 1 + text[1..].bytes().take_while(u8::is_ascii_digit).count(),
        _ => 1,
    }
}

/// Statements of one transaction sent together. SQLite runs a statement text holding
/// several statements in one call to its connection's worker thread (anonymous `?`
/// placeholders take the arguments in order across them), so a write of several rows costs
/// one hand-over to the writer instead of one per statement; while a transaction holds
/// SQLite's only writer, each hand-over is time no other write can use. PostgreSQL's
/// extended protocol takes one statement per message, so there they go one by one.
#[derive(Debug)]
pub(crate) struct Batch {
    dialect: Dialect,
    statements: Vec<Sql>,
}

impl Batch {
    pub(crate) fn new(dialect: Dialect) -> Batch {
        Batch {
            dialect,
            statements: Vec::new(),
        }
    }

    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub(crate) fn push(&mut self, sql: Sql) -> &mut Batch {
        self.statements.push(sql);
        self
    }

    /// Runs the statements in order inside `tx`; the first failure stops them.
    pub(crate) async fn execute(
        self,
        tx: &mut Transaction<'_, Any>,
    ) -> Result<(), mulin_storage::StoreError> {
        if self.dialect == Dialect::Sqlite && self.statements.len() > 1 {
            let mut joined = Sql::in_order("", Dialect::Sqlite);
            for (idx, sql) in self.statements.into_iter().enumerate() {
                if idx > 0 {
                    joined.push(";\n");
                }
                joined.append(sql);
            }
            joined.query().execute(&mut **tx).await.map_err(map_err)?;
            return Ok(());
        }
        for sql in &self.statements {
            sql.query().execute(&mut **tx).await.map_err(map_err)?;
        }
        Ok(())
    }
}

/// Reads a column, mapping a decode failure to `Corrupt`.
pub(crate) fn get<'r, T>(row: &'r AnyRow, column: &str) -> Result<T, mulin_storage::StoreError>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    use sqlx::Row;
    row.try_get(column)
        .map_err(|err| mulin_storage::StoreError::Corrupt(format!("column {column}: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(table: &str, values: &[i64]) -> Sql {
        let mut sql = Sql::new(&format!("INSERT INTO {table} VALUES "));
        sql.bind_row(values.iter().map(|v| Arg::from(*v)).collect());
        sql
    }

    #[test]
    fn appending_renumbers_the_placeholders_after_the_ones_before() {
        let mut sql = statement("a", &[1, 2]);
        sql.push("; ").append(statement("b", &[3; 11]));
        assert!(sql
            .text
            .starts_with("INSERT INTO a VALUES ($1, $2); INSERT INTO b VALUES ($3, "));
        assert!(sql.text.ends_with("$12, $13)"), "{}", sql.text);
        assert_eq!(sql.n_args(), 13);
    }

    #[test]
    fn an_anonymous_statement_takes_every_placeholder_as_a_question_mark() {
        let mut sql = Sql::in_order("", Dialect::Sqlite);
        sql.append(statement("a", &[1; 10]))
            .push(";\n")
            .append(statement("b", &[2]).wrap("WITH x AS (", ") SELECT 1"));
        assert_eq!(
            sql.text,
            format!(
                "INSERT INTO a VALUES ({});\nWITH x AS (INSERT INTO b VALUES (?)) SELECT 1",
                ["?"; 10].join(", ")
            )
        );
        assert_eq!(sql.n_args(), 11);
    }
}
