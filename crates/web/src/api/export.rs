//! Exports of lists as xlsx or CSV. Every export — the ledgers and the other lists — goes
//! through [`deliver`]: the audit record first (so nothing leaves unrecorded), then one
//! [`Table`] written by the ledger crate's writer, which keeps ID numbers as text and
//! defuses formula-like CSV cells.
//!
//! Each list's export reads the rows the list endpoint reads, with its filters and its scope,
//! so an export never shows more than the list would, and masks what the list masks.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use mulin_ledger::{Column, Table};
use serde::de::DeserializeOwned;

use super::ledger::{attachment, XLSX};
use crate::auth::{ApiLang, AuthUser};
use crate::error::WebError;
use crate::i18n::Tr;
use crate::AppState;

/// The most rows one export writes.
pub(crate) const MAX_EXPORT_ROWS: usize = 200_000;

/// The file format, from the path's extension: `….csv` is CSV, anything else xlsx. One
/// handler serves both paths of a list.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ExportFormat {
    Xlsx,
    Csv,
}

impl<S: Send + Sync> FromRequestParts<S> for ExportFormat {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(if parts.uri.path().ends_with(".csv") {
            ExportFormat::Csv
        } else {
            ExportFormat::Xlsx
        })
    }
}

/// What every list export's handler reads from its request: the caller (401 first), the
/// language of the headers, the format and the list's own query parameters.
pub(crate) struct ExportRequest<P> {
    pub state: AppState,
    pub auth: AuthUser,
    pub tr: Tr,
    pub format: ExportFormat,
    pub params: P,
}

impl<P: DeserializeOwned + Send> FromRequestParts<AppState> for ExportRequest<P> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let auth = AuthUser::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Ok(ApiLang(lang)) = ApiLang::from_request_parts(parts, state).await;
        let Ok(format) = ExportFormat::from_request_parts(parts, state).await;
        let Query(params) = Query::<P>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(ExportRequest {
            state: state.clone(),
            auth,
            tr: Tr::new(lang),
            format,
            params,
        })
    }
}

impl<P> ExportRequest<P> {
    /// Audits and answers with `rows` under the localized `columns` (see [`localized_table`]).
    pub(crate) async fn send(
        &self,
        what: Exported,
        detail: String,
        columns: &[(&str, f64)],
        rows: Vec<Vec<String>>,
    ) -> Result<Response, WebError> {
        let export = Export {
            file_stem: what.file_stem,
            action: what.action.to_owned(),
            target: what.target,
            detail,
            table: localized_table(&self.tr, what.locale_prefix, columns, rows),
        };
        deliver(&self.state, &self.auth, self.format, export).await
    }
}

/// Which list an export is: its file, its audit action and target, its locale keys.
pub(crate) struct Exported {
    /// The file name's stem.
    pub file_stem: &'static str,
    /// The audit action (`export.visits` …).
    pub action: &'static str,
    /// The audit target.
    pub target: (&'static str, String),
    /// The prefix of the sheet's and headers' locale keys (`export.visits` …).
    pub locale_prefix: &'static str,
}

/// An export ready to leave: the table, the file's name without extension, and what the
/// audit log records of it.
pub(crate) struct Export {
    /// The file name's stem (`visits` → `visits.xlsx`).
    pub file_stem: &'static str,
    /// The audit action (`export.visits`, `resident.export.reveal` …).
    pub action: String,
    /// The audit target: kind and id (the `under` node, or empty for the caller's scopes).
    pub target: (&'static str, String),
    /// The audit detail: the row count and the filters.
    pub detail: String,
    /// What is written.
    pub table: Table,
}

/// Records `export` in the audit log, then answers with it as a download in `format`.
pub(crate) async fn deliver(
    state: &AppState,
    auth: &AuthUser,
    format: ExportFormat,
    export: Export,
) -> Result<Response, WebError> {
    let Export {
        file_stem,
        action,
        target,
        detail,
        table,
    } = export;
    state
        .audit(auth, &action, (target.0, &target.1), &detail)
        .await?;
    match format {
        ExportFormat::Xlsx => {
            let bytes = tokio::task::spawn_blocking(move || table.to_xlsx())
                .await
                .map_err(|err| WebError::Internal(Box::new(err)))?
                .map_err(|err| WebError::Internal(Box::new(err)))?;
            Ok(attachment(XLSX, &format!("{file_stem}.xlsx"), bytes))
        }
        ExportFormat::Csv => Ok(attachment(
            "text/csv; charset=utf-8",
            &format!("{file_stem}.csv"),
            table.to_csv().into_bytes(),
        )),
    }
}

/// A table whose sheet name and headers come from the locale: `{prefix}.sheet` and
/// `{prefix}.col.{key}` for each `(key, width)`.
pub(crate) fn localized_table(
    tr: &Tr,
    prefix: &str,
    columns: &[(&str, f64)],
    rows: Vec<Vec<String>>,
) -> Table {
    Table::new(
        tr.code(prefix, "sheet"),
        columns
            .iter()
            .map(|(key, width)| Column::new(tr.code(prefix, &format!("col.{key}")), *width))
            .collect(),
        rows,
    )
}

/// The audit target of an export under `under` (empty: the caller's scopes).
pub(crate) fn node_target(under: Option<impl ToString>) -> (&'static str, String) {
    ("node", under.map(|id| id.to_string()).unwrap_or_default())
}

/// An instant in China time (UTC+8), as every list shows it.
pub(crate) fn china_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&crate::clock::china())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}
