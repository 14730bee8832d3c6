//! Elderly care through the JSON API: health records of residents aged 65+ and family
//! sickbeds (家庭病床) with overdue visits flagged. Every handler calls [`crate::care`].

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use mulin_storage::{HealthRecord, SickbedRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::export::{node_target, ExportRequest, Exported};
use super::{parse_day, parse_id};
use crate::auth::AuthUser;
use crate::care;
use crate::error::{ErrorBody, WebError};
use crate::views::{Disclosure, ResidentView};
use crate::AppState;

/// The care routes (mounted at `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/residents/{id}/health", get(health_get).put(health_put))
        .route("/sickbeds", post(sickbed_create).get(sickbed_list))
        .route("/sickbeds.xlsx", get(sickbed_export))
        .route("/sickbeds.csv", get(sickbed_export))
        .route("/sickbeds/overdue", get(overdue))
        .route("/sickbeds/overdue.xlsx", get(overdue_export))
        .route("/sickbeds/overdue.csv", get(overdue_export))
        .route("/sickbeds/{id}/visits", post(sickbed_visit))
        .route("/special-groups/{group}", get(group_members))
}

/// The care part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(health_get, health_put, sickbed_create, sickbed_list, sickbed_export, overdue, overdue_export, sickbed_visit, group_members),
    components(schemas(GroupPage, HealthBody, HealthView, SickbedBody, SickbedView, SickbedVisitBody, OverdueView)),
    tags((name = "care", description = "Elderly care: health records (65+) and family sickbed visits (家庭病床)"))
)]
pub struct CareApi;

fn day(text: &str) -> Result<NaiveDate, WebError> {
    parse_day(text, "care.error.date")
}

/// A health record to write.
#[derive(Deserialize, ToSchema)]
pub struct HealthBody {
    /// Chronic conditions.
    #[serde(default)]
    pub conditions: String,
    /// The family-doctor or care team.
    #[serde(default)]
    pub care_team: String,
    /// Notes.
    #[serde(default)]
    pub notes: String,
}

/// A health record.
#[derive(Serialize, ToSchema)]
pub struct HealthView {
    /// The resident.
    pub resident_id: String,
    /// Chronic conditions.
    pub conditions: String,
    /// The care team.
    pub care_team: String,
    /// Notes.
    pub notes: String,
    /// Last change (RFC 3339, UTC).
    pub updated_at: String,
}

impl From<&HealthRecord> for HealthView {
    fn from(r: &HealthRecord) -> HealthView {
        HealthView {
            resident_id: r.resident.to_string(),
            conditions: r.conditions.clone(),
            care_team: r.care_team.clone(),
            notes: r.notes.clone(),
            updated_at: r.updated_at.to_rfc3339(),
        }
    }
}

/// A resident's health record (roles that serve residents face to face; audited).
#[utoipa::path(get, path = "/api/v1/residents/{id}/health", tag = "care", params(("id" = String, Path, description = "Resident id")), security(("bearer" = [])),
    responses((status = 200, body = HealthView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn health_get(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<HealthView>, WebError> {
    Ok(Json(HealthView::from(
        &care::health(&state, &auth, &id).await?,
    )))
}

/// Writes (or replaces) the health record of a resident aged 65+.
#[utoipa::path(put, path = "/api/v1/residents/{id}/health", tag = "care", params(("id" = String, Path, description = "Resident id")), request_body = HealthBody, security(("bearer" = [])),
    responses((status = 200, body = HealthView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn health_put(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<HealthBody>,
) -> Result<Json<HealthView>, WebError> {
    let record = care::put_health(
        &state,
        &auth,
        &id,
        &body.conditions,
        &body.care_team,
        &body.notes,
    )
    .await?;
    Ok(Json(HealthView::from(&record)))
}

/// A family sickbed to set up.
#[derive(Deserialize, ToSchema)]
pub struct SickbedBody {
    /// The patient.
    pub resident_id: String,
    /// The care team it is assigned to.
    pub care_team: String,
    /// A visit every N days (1–90).
    pub every_days: u32,
    /// The first visit is due on (YYYY-MM-DD).
    pub starts_on: String,
}

/// A family sickbed with its next visit.
#[derive(Serialize, ToSchema)]
pub struct SickbedView {
    /// Id.
    pub id: String,
    /// The patient.
    pub resident_id: String,
    /// Their name.
    pub resident_name: String,
    /// Their grid.
    pub grid_id: String,
    /// The care team.
    pub care_team: String,
    /// Every N days.
    pub every_days: u32,
    /// The latest visit (YYYY-MM-DD).
    pub last_visit_on: Option<String>,
    /// The next visit is due on (YYYY-MM-DD).
    pub next_due: String,
    /// Days the next visit is late today (0: not late).
    pub days_overdue: i64,
    /// Whether it is late.
    pub overdue: bool,
}

fn sickbed_view(s: &SickbedRecord, late: i64) -> SickbedView {
    SickbedView {
        id: s.id.to_string(),
        resident_id: s.resident.to_string(),
        resident_name: s.resident_name.clone(),
        grid_id: s.grid.id().to_string(),
        care_team: s.care_team.clone(),
        every_days: s.schedule.every_days(),
        last_visit_on: s.last_visit_on.map(|d| d.to_string()),
        next_due: s.schedule.next_due(s.last_visit_on).to_string(),
        days_overdue: late,
        overdue: late > 0,
    }
}

/// Sets up a family sickbed.
#[utoipa::path(post, path = "/api/v1/sickbeds", tag = "care", request_body = SickbedBody, security(("bearer" = [])),
    responses((status = 201, body = SickbedView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn sickbed_create(
    State(state): State<AppState>,
    auth: AuthUser,
    Json(body): Json<SickbedBody>,
) -> Result<(StatusCode, Json<SickbedView>), WebError> {
    let sickbed = care::create_sickbed(
        &state,
        &auth,
        &body.resident_id,
        &body.care_team,
        body.every_days,
        day(&body.starts_on)?,
    )
    .await?;
    let late = sickbed
        .schedule
        .days_overdue(sickbed.last_visit_on, state.clock.today());
    Ok((StatusCode::CREATED, Json(sickbed_view(&sickbed, late))))
}

/// Sickbed query.
#[derive(Deserialize, IntoParams)]
pub struct SickbedParams {
    /// Only below this node (default: the caller's scopes).
    pub under: Option<String>,
    /// `true` for overdue ones only.
    pub overdue: Option<bool>,
}

/// Family sickbeds with their next visit, overdue ones flagged.
#[utoipa::path(get, path = "/api/v1/sickbeds", tag = "care", params(SickbedParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<SickbedView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn sickbed_list(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<SickbedParams>,
) -> Result<Json<Vec<SickbedView>>, WebError> {
    Ok(Json(sickbed_views(&state, &auth, &params).await?))
}

/// The sickbeds the list and its export show.
async fn sickbed_views(
    state: &AppState,
    auth: &AuthUser,
    params: &SickbedParams,
) -> Result<Vec<SickbedView>, WebError> {
    let under = params.under.as_deref().map(parse_id).transpose()?;
    let only_overdue = params.overdue.unwrap_or(false);
    let rows = care::sickbeds(state, auth, under).await?;
    Ok(rows
        .iter()
        .filter(|(_, late)| !only_overdue || *late > 0)
        .map(|(s, late)| sickbed_view(s, *late))
        .collect())
}

/// The sickbed list as xlsx (`/sickbeds.xlsx`) or CSV (`/sickbeds.csv`), with the same
/// `under` and `overdue` as the list (patients by name, as the list shows them); audited as
/// `export.sickbeds`.
#[utoipa::path(get, path = "/api/v1/sickbeds.xlsx", tag = "care", params(SickbedParams), security(("bearer" = [])),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn sickbed_export(req: ExportRequest<SickbedParams>) -> Result<Response, WebError> {
    let rows: Vec<Vec<String>> = sickbed_views(&req.state, &req.auth, &req.params)
        .await?
        .into_iter()
        .map(|v| {
            vec![
                v.resident_name,
                v.grid_id,
                v.care_team,
                v.every_days.to_string(),
                v.last_visit_on.unwrap_or_default(),
                v.next_due,
                v.days_overdue.to_string(),
            ]
        })
        .collect();
    let what = Exported {
        file_stem: "sickbeds",
        action: "export.sickbeds",
        target: node_target(req.params.under.as_deref()),
        locale_prefix: "export.sickbeds",
    };
    let only_overdue = req.params.overdue.unwrap_or(false);
    let detail = format!("{} 行；overdue={only_overdue}", rows.len());
    let columns = [
        ("resident", 10.0),
        ("grid", 38.0),
        ("care_team", 16.0),
        ("every_days", 9.0),
        ("last_visit_on", 12.0),
        ("next_due", 12.0),
        ("days_overdue", 9.0),
    ];
    req.send(what, detail, &columns, rows).await
}

/// Overdue count of one grid.
#[derive(Serialize, ToSchema)]
pub struct OverdueView {
    /// The grid.
    pub grid_id: String,
    /// Sickbeds in it.
    pub sickbeds: u32,
    /// Those whose next visit is late.
    pub overdue: u32,
}

/// Per grid: sickbeds and how many are overdue today.
#[utoipa::path(get, path = "/api/v1/sickbeds/overdue", tag = "care", params(SickbedParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<OverdueView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn overdue(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<SickbedParams>,
) -> Result<Json<Vec<OverdueView>>, WebError> {
    Ok(Json(overdue_views(&state, &auth, &params).await?))
}

/// The per-grid counts the overdue list and its export show.
async fn overdue_views(
    state: &AppState,
    auth: &AuthUser,
    params: &SickbedParams,
) -> Result<Vec<OverdueView>, WebError> {
    let under = params.under.as_deref().map(parse_id).transpose()?;
    let rows = care::sickbeds(state, auth, under).await?;
    Ok(care::overdue_per_grid(&rows)
        .into_iter()
        .map(|(grid, (sickbeds, overdue))| OverdueView {
            grid_id: grid.to_string(),
            sickbeds,
            overdue,
        })
        .collect())
}

/// The per-grid overdue counts as xlsx (`/sickbeds/overdue.xlsx`) or CSV (`….csv`), with
/// the same `under` as the list; audited as `export.sickbeds_overdue`.
#[utoipa::path(get, path = "/api/v1/sickbeds/overdue.xlsx", tag = "care", params(SickbedParams), security(("bearer" = [])),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn overdue_export(req: ExportRequest<SickbedParams>) -> Result<Response, WebError> {
    let rows: Vec<Vec<String>> = overdue_views(&req.state, &req.auth, &req.params)
        .await?
        .into_iter()
        .map(|v| vec![v.grid_id, v.sickbeds.to_string(), v.overdue.to_string()])
        .collect();
    let what = Exported {
        file_stem: "sickbeds-overdue",
        action: "export.sickbeds_overdue",
        target: node_target(req.params.under.as_deref()),
        locale_prefix: "export.overdue",
    };
    let detail = format!("{} 行", rows.len());
    let columns = [("grid", 38.0), ("sickbeds", 9.0), ("overdue", 9.0)];
    req.send(what, detail, &columns, rows).await
}

/// A sickbed visit to record.
#[derive(Deserialize, ToSchema)]
pub struct SickbedVisitBody {
    /// The day (YYYY-MM-DD, not in the future).
    pub on: String,
    /// What was done.
    #[serde(default)]
    pub note: String,
}

/// Records a visit to a family sickbed; answers the sickbed with its next visit.
#[utoipa::path(post, path = "/api/v1/sickbeds/{id}/visits", tag = "care", params(("id" = String, Path, description = "Sickbed id")), request_body = SickbedVisitBody, security(("bearer" = [])),
    responses((status = 201, body = SickbedView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn sickbed_visit(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<SickbedVisitBody>,
) -> Result<(StatusCode, Json<SickbedView>), WebError> {
    let sickbed = care::log_sickbed_visit(&state, &auth, &id, day(&body.on)?, &body.note).await?;
    let late = sickbed
        .schedule
        .days_overdue(sickbed.last_visit_on, state.clock.today());
    Ok((StatusCode::CREATED, Json(sickbed_view(&sickbed, late))))
}

/// Special-group list query.
#[derive(Deserialize, IntoParams)]
pub struct GroupParams {
    /// Only below this node (default: the caller's scopes).
    pub under: Option<String>,
    /// 1-based page (default 1; 100 a page).
    pub page: Option<u32>,
}

/// A page of a special group's members.
#[derive(Serialize, ToSchema)]
pub struct GroupPage {
    /// By name; ID numbers and phones masked.
    pub items: Vec<ResidentView>,
    /// Whether another page follows.
    pub has_more: bool,
}

/// Members of a special group (`elderly` is 65+ derived from the birth date; `empty_nest`,
/// `living_alone`, `dibao`, `shidu`, `disabled`, `left_behind_child` are tags).
#[utoipa::path(get, path = "/api/v1/special-groups/{group}", tag = "care", params(("group" = String, Path, description = "Group code"), GroupParams), security(("bearer" = [])),
    responses((status = 200, body = GroupPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn group_members(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(group): Path<String>,
    Query(params): Query<GroupParams>,
) -> Result<Json<GroupPage>, WebError> {
    let under = params.under.as_deref().map(parse_id).transpose()?;
    let page = care::group_members(&state, &auth, under, &group, params.page.unwrap_or(1)).await?;
    let today = state.clock.today();
    Ok(Json(GroupPage {
        items: page
            .items
            .iter()
            .map(|r| ResidentView::new(r, today, Disclosure::Masked))
            .collect(),
        has_more: page.has_more,
    }))
}
