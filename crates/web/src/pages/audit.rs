//! The audit viewer: the audit log with filters (actor, action, target, days,
//! personal-data reads only), a page at a time, within the caller's scope. It reads through
//! the same `access::audit_log` as the API and, like it, is not itself audited.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::Html;
use axum::routing::get;
use axum::Router;

use super::{page, with_lang, Layout};
use crate::access;
use crate::api::audit::AuditParams;
use crate::auth::PageUser;
use crate::error::PageError;
use crate::AppState;

/// The audit page's route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/audit", get(view_audit_get))
}

struct AuditRow {
    at: String,
    who: String,
    action: String,
    target: String,
    ip: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    l: Layout,
    filters: AuditParams,
    personal: bool,
    entries: Vec<AuditRow>,
    prev_href: Option<String>,
    next_href: Option<String>,
}

/// The filters as a query string for another page of the same list.
fn page_href(filters: &AuditParams, page_no: u32) -> String {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let pairs = [
        ("actor", text(&filters.actor)),
        ("action", text(&filters.action)),
        ("target", text(&filters.target)),
        ("from", text(&filters.from)),
        ("until", text(&filters.until)),
        ("personal", text(&filters.personal)),
        ("page", page_no.to_string()),
    ];
    let kept: Vec<_> = pairs.iter().filter(|(_, v)| !v.is_empty()).collect();
    format!(
        "/audit?{}",
        serde_urlencoded::to_string(kept).unwrap_or_default()
    )
}

async fn view_audit_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
    Query(filters): Query<AuditParams>,
) -> Result<Html<String>, PageError> {
    let lang = user.lang;
    let query = filters.to_query().map_err(with_lang(lang))?;
    let log = access::audit_log(&state, &user.auth, &query)
        .await
        .map_err(with_lang(lang))?;
    page(&AuditPage {
        l: Layout::for_user(&state, &user, &uri),
        personal: query.personal_data_reads,
        entries: log
            .items
            .iter()
            .map(|e| AuditRow {
                at: e
                    .at
                    .with_timezone(&crate::clock::china())
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string(),
                who: e.username.clone(),
                action: e.action.clone(),
                target: format!("{} {}", e.target_kind, e.target_id),
                ip: e.ip.clone().unwrap_or_default(),
                detail: e.detail.clone(),
            })
            .collect(),
        prev_href: (query.page > 1).then(|| page_href(&filters, query.page - 1)),
        next_href: log.has_more.then(|| page_href(&filters, query.page + 1)),
        filters,
    })
    .map_err(with_lang(lang))
}
