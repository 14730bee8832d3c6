//! A statement and its arguments, written with `$n` placeholders that both dialects accept.
//!
//! sqlx's `QueryBuilder<Any>` writes `?` placeholders, which PostgreSQL rejects, and an
//! untyped NULL confuses PostgreSQL's type inference; so arguments carry their SQL type.

use std::fmt::Write;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::Any;

use crate::Dialect;

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
}

impl Sql {
    pub(crate) fn new(text: &str) -> Sql {
        Sql {
            text: text.to_owned(),
            args: Vec::new(),
            anonymous: false,
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
            ..self
        }
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

/// Reads a column, mapping a decode failure to `Corrupt`.
pub(crate) fn get<'r, T>(row: &'r AnyRow, column: &str) -> Result<T, mulin_storage::StoreError>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    use sqlx::Row;
    row.try_get(column)
        .map_err(|err| mulin_storage::StoreError::Corrupt(format!("column {column}: {err}")))
}
