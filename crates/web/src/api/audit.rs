//! The audit viewer's API: the audit log filtered by actor, action, target, days and
//! personal-data reads, a page at a time, within what the policy lets the caller read.
//!
//! Reading the log is not itself audited: entries never carry an unmasked ID number or
//! phone (details hold counts, file names and ids), so reading them is not a read of
//! personal data, and auditing every look at the log would bury the reads that matter.

use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use mulin_storage::{AuditEntry, AuditQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::export::{china_time, ExportRequest, Exported, MAX_EXPORT_ROWS};
use crate::access;
use crate::auth::AuthUser;
use crate::error::{ErrorBody, WebError};
use crate::i18n::{Lang, Tr};
use crate::AppState;

/// The audit routes (mounted at `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/audit", get(list_audit))
        .route("/audit.xlsx", get(export_audit))
        .route("/audit.csv", get(export_audit))
}

/// The audit part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(list_audit, export_audit),
    components(schemas(AuditEntryView, AuditPageView)),
    tags((name = "audit", description = "The audit log, for administrators"))
)]
pub struct AuditApi;

/// Filters; empty values are ignored, so a plain HTML form can send every field.
#[derive(Deserialize, IntoParams, Default, Clone, Debug)]
pub struct AuditParams {
    /// The actor's username, exactly.
    pub actor: Option<String>,
    /// The action, exactly (`resident.reveal`, `resident.import` ...).
    pub action: Option<String>,
    /// The target's id, exactly (a resident's or node's id ...).
    pub target: Option<String>,
    /// First day (China time, `YYYY-MM-DD`), inclusive.
    pub from: Option<String>,
    /// Last day (China time, `YYYY-MM-DD`), inclusive.
    pub until: Option<String>,
    /// `true` (or a checked box's `on`): only reads of unmasked personal data.
    pub personal: Option<String>,
    /// 1-based page (default 1).
    pub page: Option<u32>,
    /// Entries per page (default 100, at most 500).
    pub per_page: Option<u32>,
}

fn filled(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

/// The start of a China-time day, as a UTC instant.
fn day_start(text: &str) -> Result<DateTime<Utc>, WebError> {
    let bad = || WebError::BadRequest(Tr::new(Lang::ZhCn).get("audit.error.date").to_owned());
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad())?;
    Ok(crate::clock::china_day_start(day))
}

impl AuditParams {
    /// The storage query these filters ask for.
    pub fn to_query(&self) -> Result<AuditQuery, WebError> {
        Ok(AuditQuery {
            actor: filled(&self.actor),
            action: filled(&self.action),
            target: filled(&self.target),
            from: filled(&self.from).map(|d| day_start(&d)).transpose()?,
            until: filled(&self.until)
                .map(|d| day_start(&d).map(|start| start + chrono::Duration::days(1)))
                .transpose()?,
            personal_data_reads: matches!(
                filled(&self.personal).as_deref(),
                Some("true" | "on" | "1")
            ),
            page: self.page.unwrap_or(1).max(1),
            per_page: self.per_page.unwrap_or(100).clamp(1, 500),
        })
    }
}

/// One audit entry.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct AuditEntryView {
    /// The entry's id.
    pub id: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The account (none for the command line or an unknown login name).
    pub user_id: Option<String>,
    /// The username at the time.
    pub username: String,
    /// What was done or read.
    pub action: String,
    /// The kind of thing touched.
    pub target_kind: String,
    /// Its id.
    pub target_id: String,
    /// The client address.
    pub ip: Option<String>,
    /// A short detail.
    pub detail: String,
}

impl From<&AuditEntry> for AuditEntryView {
    fn from(entry: &AuditEntry) -> AuditEntryView {
        AuditEntryView {
            id: entry.id.to_string(),
            at: entry.at.to_rfc3339(),
            user_id: entry.user_id.map(|id| id.to_string()),
            username: entry.username.clone(),
            action: entry.action.clone(),
            target_kind: entry.target_kind.clone(),
            target_id: entry.target_id.clone(),
            ip: entry.ip.clone(),
            detail: entry.detail.clone(),
        }
    }
}

/// A page of the audit log.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct AuditPageView {
    /// The entries, newest first.
    pub items: Vec<AuditEntryView>,
    /// This page.
    pub page: u32,
    /// Entries per page.
    pub per_page: u32,
    /// Whether a next page has entries.
    pub has_more: bool,
}

/// The audit log: a district administrator reads the district's; a street administrator
/// what the accounts working inside their street did. Not audited itself (it holds no
/// unmasked personal data).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams),
    security(("bearer" = [])),
    responses((status = 200, body = AuditPageView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_audit(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<AuditParams>,
) -> Result<Json<AuditPageView>, WebError> {
    let log = access::audit_log(&state, &auth, &params.to_query()?).await?;
    Ok(Json(AuditPageView {
        items: log.items.iter().map(AuditEntryView::from).collect(),
        page: log.page,
        per_page: log.per_page,
        has_more: log.has_more,
    }))
}

/// The audit log as xlsx (`/audit.xlsx`) or CSV (`/audit.csv`): every entry the viewer
/// would page through with the same filters (`page` and `per_page` ignored), for the same
/// administrators. Unlike reading the log, exporting it is audited (`export.audit`): the file
/// leaves the system.
#[utoipa::path(get, path = "/api/v1/audit.xlsx", tag = "audit", params(AuditParams),
    security(("bearer" = [])),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn export_audit(req: ExportRequest<AuditParams>) -> Result<Response, WebError> {
    let mut query = req.params.to_query()?;
    query.page = 1;
    query.per_page = 500;
    let mut rows: Vec<Vec<String>> = Vec::new();
    loop {
        let log = access::audit_log(&req.state, &req.auth, &query).await?;
        rows.extend(log.items.iter().map(|entry| {
            vec![
                china_time(entry.at),
                entry.username.clone(),
                entry.action.clone(),
                entry.target_kind.clone(),
                entry.target_id.clone(),
                entry.ip.clone().unwrap_or_default(),
                entry.detail.clone(),
            ]
        }));
        if !log.has_more || rows.len() >= MAX_EXPORT_ROWS {
            break;
        }
        query.page += 1;
    }
    let what = Exported {
        file_stem: "audit",
        action: "export.audit",
        target: ("audit", String::new()),
        locale_prefix: "export.audit",
    };
    let detail = format!("{} 行", rows.len());
    let columns = [
        ("at", 17.0),
        ("username", 12.0),
        ("action", 22.0),
        ("target_kind", 10.0),
        ("target_id", 38.0),
        ("ip", 16.0),
        ("detail", 40.0),
    ];
    req.send(what, detail, &columns, rows).await
}
