//! Visits, patrols and the floating population through the JSON API. Every handler calls
//! [`crate::visits`] or [`crate::floating`], which ask the policy.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use mulin_domain::ids::NodeId;
use mulin_domain::visit::{CoverageWindow, DEFAULT_COVERAGE_DAYS};
use mulin_storage::{LonLat, MovementRecord, VisitRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::export::{china_time, node_target, ExportRequest, Exported, MAX_EXPORT_ROWS};
use super::parse_id;
use crate::auth::AuthUser;
use crate::error::{ErrorBody, WebError};
use crate::visits::{self, NewUpdate, NewVisit};
use crate::{floating, AppState};

/// The visit and floating-population routes (mounted at `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/visits", post(create).get(list))
        .route("/visits.xlsx", get(list_export))
        .route("/visits.csv", get(list_export))
        .route("/visits/coverage", get(coverage))
        .route("/visits/coverage.xlsx", get(coverage_export))
        .route("/visits/coverage.csv", get(coverage_export))
        .route("/visits/{id}", get(one))
        .route("/visits/{id}/request", post(to_request))
        .route("/floating", get(floating_list))
        .route("/floating/dynamics", get(dynamics))
        .route(
            "/residents/{id}/movements",
            post(move_create).get(move_list),
        )
}

/// The visit part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(list_export, coverage_export, create, list, one, to_request, coverage, floating_list, dynamics, move_create, move_list),
    components(schemas(CreateVisit, UpdateBody, VisitView, VisitPage, VisitRequest, CoverageView, MovementBody, MovementView, MonthView)),
    tags((name = "visits", description = "Home visits and patrols (走访, 巡查) and their coverage; the floating population (流动人口). No check-in, online-time ranking, GPS track or photo quota exists.")),
)]
pub struct VisitsApi;

/// A record update a visit brought back; only the fields given change.
#[derive(Deserialize, ToSchema)]
pub struct UpdateBody {
    /// A member of a visited household.
    pub resident_id: String,
    /// A new phone.
    pub phone: Option<String>,
    /// A new residence status: `registered`, `permanent`, `floating`, `registered_absent`.
    pub status: Option<String>,
    /// The new set of tagged special groups (`empty_nest`, `living_alone`, `dibao`,
    /// `shidu`, `disabled`, `left_behind_child`; 65+ is derived).
    pub groups: Option<Vec<String>>,
}

/// A visit to log.
#[derive(Deserialize, ToSchema)]
pub struct CreateVisit {
    /// `home_visit` or `patrol`.
    pub kind: String,
    /// When it started (RFC 3339; default now; at most 30 days back).
    pub visited_at: Option<String>,
    /// Minutes it took, 1–720.
    pub minutes: u32,
    /// The grid (needed only for a patrol that names no household).
    pub grid_id: Option<String>,
    /// Households called on (a home visit names 1–50).
    #[serde(default)]
    pub household_ids: Vec<String>,
    /// What was found.
    #[serde(default)]
    pub findings: String,
    /// Optional evidence of where (never required).
    pub lon: Option<f64>,
    /// Latitude, with `lon`.
    pub lat: Option<f64>,
    /// Record updates, applied with the visit (audited).
    #[serde(default)]
    pub updates: Vec<UpdateBody>,
}

/// A visit.
#[derive(Serialize, ToSchema)]
pub struct VisitView {
    /// Id.
    pub id: String,
    /// `home_visit` or `patrol`.
    pub kind: String,
    /// The grid.
    pub grid_id: String,
    /// When (RFC 3339, UTC).
    pub visited_at: String,
    /// Minutes.
    pub minutes: u32,
    /// Who.
    pub visitor_name: String,
    /// What was found.
    pub findings: String,
    /// Households called on.
    pub household_ids: Vec<String>,
    /// The request a finding became.
    pub request_id: Option<String>,
}

impl From<&VisitRecord> for VisitView {
    fn from(v: &VisitRecord) -> VisitView {
        VisitView {
            id: v.id.to_string(),
            kind: v.kind.as_str().to_owned(),
            grid_id: v.grid.id().to_string(),
            visited_at: v.visited_at.to_rfc3339(),
            minutes: v.minutes,
            visitor_name: v.visitor_name.clone(),
            findings: v.findings.clone(),
            household_ids: v.households.iter().map(ToString::to_string).collect(),
            request_id: v.request.map(|id| id.to_string()),
        }
    }
}

/// Logs a visit or patrol in one of the caller's grids, with the record updates it brought
/// back.
#[utoipa::path(post, path = "/api/v1/visits", tag = "visits", request_body = CreateVisit, security(("bearer" = [])),
    responses((status = 201, body = VisitView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    auth: AuthUser,
    Json(body): Json<CreateVisit>,
) -> Result<(StatusCode, Json<VisitView>), WebError> {
    let households = body
        .household_ids
        .iter()
        .map(|id| parse_id::<NodeId>(id))
        .collect::<Result<Vec<_>, _>>()?;
    let input = NewVisit {
        kind: body.kind,
        visited_at: body
            .visited_at
            .as_deref()
            .map(|text| {
                DateTime::parse_from_rfc3339(text.trim())
                    .map(|at| at.with_timezone(&Utc))
                    .map_err(|_| WebError::Invalid("visit.error.time"))
            })
            .transpose()?,
        minutes: body.minutes,
        grid: body.grid_id.as_deref().map(parse_id).transpose()?,
        households,
        findings: body.findings,
        position: body.lon.zip(body.lat).map(|(lon, lat)| LonLat { lon, lat }),
        updates: body
            .updates
            .into_iter()
            .map(|u| NewUpdate {
                resident: u.resident_id,
                phone: u.phone,
                status: u.status,
                groups: u.groups,
            })
            .collect(),
    };
    let visit = visits::log(&state, &auth, input).await?;
    Ok((StatusCode::CREATED, Json(VisitView::from(&visit))))
}

/// Visit list query.
#[derive(Deserialize, IntoParams)]
pub struct VisitParams {
    /// Only below this node (default: everywhere the caller may see visits).
    pub under: Option<String>,
    /// `true` for the caller's own visits only.
    pub mine: Option<bool>,
    /// 1-based page (default 1).
    pub page: Option<u32>,
    /// Page size, 1–200 (default 50).
    pub per_page: Option<u32>,
}

/// A page of visits.
#[derive(Serialize, ToSchema)]
pub struct VisitPage {
    /// Newest first.
    pub items: Vec<VisitView>,
    /// Whether another page follows.
    pub has_more: bool,
}

/// Visits the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/visits", tag = "visits", params(VisitParams), security(("bearer" = [])),
    responses((status = 200, body = VisitPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<VisitParams>,
) -> Result<Json<VisitPage>, WebError> {
    let under = params.under.as_deref().map(parse_id).transpose()?;
    let page = visits::list(
        &state,
        &auth,
        under,
        params.mine.unwrap_or(false),
        params.page.unwrap_or(1),
        params.per_page.unwrap_or(50),
    )
    .await?;
    Ok(Json(VisitPage {
        items: page.items.iter().map(VisitView::from).collect(),
        has_more: page.has_more,
    }))
}

/// The visit list as xlsx (`/visits.xlsx`) or CSV (`/visits.csv`): every visit the list
/// would show with the same `under` and `mine`, newest first, headers in the caller's
/// language; audited as `export.visits`.
#[utoipa::path(get, path = "/api/v1/visits.xlsx", tag = "visits", params(VisitParams), security(("bearer" = [])),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_export(req: ExportRequest<VisitParams>) -> Result<Response, WebError> {
    let under = req.params.under.as_deref().map(parse_id).transpose()?;
    let mine = req.params.mine.unwrap_or(false);
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut page = 1;
    loop {
        let visits = visits::list(&req.state, &req.auth, under, mine, page, 200).await?;
        rows.extend(visits.items.iter().map(|v| {
            vec![
                china_time(v.visited_at),
                req.tr.code("visit_kind", v.kind.as_str()),
                v.grid.id().to_string(),
                v.visitor_name.clone(),
                v.minutes.to_string(),
                v.households
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
                v.findings.clone(),
                v.request.map(|id| id.to_string()).unwrap_or_default(),
            ]
        }));
        if !visits.has_more || rows.len() >= MAX_EXPORT_ROWS {
            break;
        }
        page += 1;
    }
    let what = Exported {
        file_stem: "visits",
        action: "export.visits",
        target: node_target(under),
        locale_prefix: "export.visits",
    };
    let detail = format!("{} 行；mine={mine}", rows.len());
    let columns = [
        ("visited_at", 17.0),
        ("kind", 9.0),
        ("grid", 38.0),
        ("visitor", 10.0),
        ("minutes", 9.0),
        ("households", 38.0),
        ("findings", 40.0),
        ("request", 38.0),
    ];
    req.send(what, detail, &columns, rows).await
}

/// One visit.
#[utoipa::path(get, path = "/api/v1/visits/{id}", tag = "visits", params(("id" = String, Path, description = "Visit id")), security(("bearer" = [])),
    responses((status = 200, body = VisitView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn one(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<VisitView>, WebError> {
    Ok(Json(VisitView::from(
        &visits::get(&state, &auth, &id).await?,
    )))
}

/// A finding to turn into a request.
#[derive(Deserialize, ToSchema)]
pub struct VisitRequest {
    /// Catalogue code.
    pub service_code: String,
    /// One of the visit's households (default the first).
    pub household_id: Option<String>,
    /// The request's text (default the visit's findings).
    pub description: Option<String>,
}

/// Turns the visit's finding into a request (channel `patrol`), linked to the visit.
#[utoipa::path(post, path = "/api/v1/visits/{id}/request", tag = "visits", params(("id" = String, Path, description = "Visit id")), request_body = VisitRequest, security(("bearer" = [])),
    responses((status = 201, body = VisitView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn to_request(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<VisitRequest>,
) -> Result<(StatusCode, Json<VisitView>), WebError> {
    let household = body.household_id.as_deref().map(parse_id).transpose()?;
    let (visit, _) = visits::to_request(
        &state,
        &auth,
        &id,
        body.service_code,
        household,
        body.description,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(VisitView::from(&visit))))
}

/// Coverage query.
#[derive(Deserialize, IntoParams)]
pub struct CoverageParams {
    /// Only below this node (default: the caller's scopes).
    pub under: Option<String>,
    /// The window in days ending today, 1–366 (default 30).
    pub days: Option<u32>,
}

/// One grid's coverage over the window.
#[derive(Serialize, ToSchema)]
pub struct CoverageView {
    /// The grid.
    pub grid_id: String,
    /// Its name.
    pub grid_name: String,
    /// Households in it.
    pub households: i64,
    /// Households not visited in the window.
    pub not_visited: i64,
    /// Visits made in the window.
    pub visits: i64,
    /// Their minutes.
    pub visit_minutes: i64,
    /// Grid workers posted at the grid.
    pub workers: i64,
    /// Their working minutes in the window (working days × 8 h on the work calendar).
    pub working_minutes: i64,
    /// Visit minutes over working minutes (seeds: 0.5 or more); null without workers.
    pub visiting_share: Option<f64>,
}

/// Per grid: households not visited in N days and the share of working time spent
/// visiting.
#[utoipa::path(get, path = "/api/v1/visits/coverage", tag = "visits", params(CoverageParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<CoverageView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn coverage(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<CoverageParams>,
) -> Result<Json<Vec<CoverageView>>, WebError> {
    Ok(Json(coverage_views(&state, &auth, &params).await?))
}

/// The coverage rows the list and its export show.
async fn coverage_views(
    state: &AppState,
    auth: &AuthUser,
    params: &CoverageParams,
) -> Result<Vec<CoverageView>, WebError> {
    let under = params.under.as_deref().map(parse_id).transpose()?;
    let window = CoverageWindow::new(params.days.unwrap_or(DEFAULT_COVERAGE_DAYS))
        .map_err(|_| WebError::Invalid("visit.error.window"))?;
    let rows = visits::coverage(state, auth, under, window).await?;
    Ok(rows
        .into_iter()
        .map(|r| CoverageView {
            grid_id: r.grid.path.id().to_string(),
            grid_name: r.grid.name,
            households: r.households,
            not_visited: r.not_visited,
            visits: r.visits,
            visit_minutes: r.visit_minutes,
            workers: r.workers,
            working_minutes: r.working_minutes,
            visiting_share: r.share,
        })
        .collect())
}

/// Coverage per grid as xlsx (`/visits/coverage.xlsx`) or CSV (`….csv`), with the same
/// `under` and `days` as the list; the share as a percentage; audited as
/// `export.visit_coverage`.
#[utoipa::path(get, path = "/api/v1/visits/coverage.xlsx", tag = "visits", params(CoverageParams), security(("bearer" = [])),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn coverage_export(req: ExportRequest<CoverageParams>) -> Result<Response, WebError> {
    let views = coverage_views(&req.state, &req.auth, &req.params).await?;
    let rows: Vec<Vec<String>> = views
        .into_iter()
        .map(|v| {
            vec![
                v.grid_name,
                v.households.to_string(),
                v.not_visited.to_string(),
                v.visits.to_string(),
                v.visit_minutes.to_string(),
                v.workers.to_string(),
                v.working_minutes.to_string(),
                v.visiting_share
                    .map(|share| format!("{:.0}%", share * 100.0))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let what = Exported {
        file_stem: "visit-coverage",
        action: "export.visit_coverage",
        target: node_target(req.params.under.as_deref()),
        locale_prefix: "export.coverage",
    };
    let days = req.params.days.unwrap_or(DEFAULT_COVERAGE_DAYS);
    let detail = format!("{} 行；days={days}", rows.len());
    let columns = [
        ("grid", 16.0),
        ("households", 9.0),
        ("not_visited", 12.0),
        ("visits", 9.0),
        ("visit_minutes", 12.0),
        ("workers", 9.0),
        ("working_minutes", 12.0),
        ("share", 9.0),
    ];
    req.send(what, detail, &columns, rows).await
}

/// A move to record.
#[derive(Deserialize, ToSchema)]
pub struct MovementBody {
    /// `in` or `out`.
    pub direction: String,
    /// The day (YYYY-MM-DD, not in the future).
    pub on: String,
    /// Why (work, study, family …).
    #[serde(default)]
    pub reason: String,
}

/// A move in or out.
#[derive(Serialize, ToSchema)]
pub struct MovementView {
    /// Id.
    pub id: String,
    /// The resident.
    pub resident_id: String,
    /// Their name.
    pub resident_name: String,
    /// The household.
    pub household_id: String,
    /// `in` or `out`.
    pub direction: String,
    /// The day.
    pub on: String,
    /// Why.
    pub reason: String,
}

impl From<&MovementRecord> for MovementView {
    fn from(m: &MovementRecord) -> MovementView {
        MovementView {
            id: m.id.to_string(),
            resident_id: m.resident.to_string(),
            resident_name: m.resident_name.clone(),
            household_id: m.household.id().to_string(),
            direction: m.direction.as_str().to_owned(),
            on: m.on.to_string(),
            reason: m.reason.clone(),
        }
    }
}

/// Records a resident's move in or out; the history is kept (in, out, in again).
#[utoipa::path(post, path = "/api/v1/residents/{id}/movements", tag = "visits", params(("id" = String, Path, description = "Resident id")), request_body = MovementBody, security(("bearer" = [])),
    responses((status = 201, body = MovementView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn move_create(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<MovementBody>,
) -> Result<(StatusCode, Json<MovementView>), WebError> {
    let on = super::parse_day(&body.on, "floating.error.date")?;
    let record = floating::record(&state, &auth, &id, &body.direction, on, &body.reason).await?;
    Ok((StatusCode::CREATED, Json(MovementView::from(&record))))
}

/// A resident's moves, oldest first.
#[utoipa::path(get, path = "/api/v1/residents/{id}/movements", tag = "visits", params(("id" = String, Path, description = "Resident id")), security(("bearer" = [])),
    responses((status = 200, body = Vec<MovementView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn move_list(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<MovementView>>, WebError> {
    let moves = floating::history(&state, &auth, &id).await?;
    Ok(Json(moves.iter().map(MovementView::from).collect()))
}

/// Floating-population list query.
#[derive(Deserialize, IntoParams)]
pub struct FloatingParams {
    /// Only below this node (default: the caller's scopes).
    pub under: Option<String>,
    /// `past` for those who moved out (default: those here now).
    pub state: Option<String>,
}

/// The floating population: each resident's latest move, those here now or those gone.
#[utoipa::path(get, path = "/api/v1/floating", tag = "visits", params(FloatingParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<MovementView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn floating_list(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<FloatingParams>,
) -> Result<Json<Vec<MovementView>>, WebError> {
    let under = params.under.as_deref().map(parse_id).transpose()?;
    let current = params.state.as_deref() != Some("past");
    let rows = floating::list(&state, &auth, under, current).await?;
    Ok(Json(rows.iter().map(MovementView::from).collect()))
}

/// Dynamics query.
#[derive(Deserialize, IntoParams)]
pub struct DynamicsParams {
    /// Only below this node (default: the caller's scopes).
    pub under: Option<String>,
    /// First month, `YYYY-MM`.
    pub from: String,
    /// Last month, `YYYY-MM` (at most 120 months after `from`).
    pub to: String,
}

/// One month of the dynamics.
#[derive(Serialize, ToSchema)]
pub struct MonthView {
    /// `YYYY-MM`.
    pub month: String,
    /// Moves in during the month.
    pub moved_in: u32,
    /// Moves out during the month.
    pub moved_out: u32,
    /// People present at the month's end.
    pub present_at_end: u32,
}

/// Per month: moved in, moved out, present at month end.
#[utoipa::path(get, path = "/api/v1/floating/dynamics", tag = "visits", params(DynamicsParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<MonthView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn dynamics(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<DynamicsParams>,
) -> Result<Json<Vec<MonthView>>, WebError> {
    let under = params.under.as_deref().map(parse_id).transpose()?;
    let figures = floating::dynamics(&state, &auth, under, &params.from, &params.to).await?;
    Ok(Json(
        figures
            .iter()
            .map(|f| MonthView {
                month: f.month.to_string(),
                moved_in: f.moved_in,
                moved_out: f.moved_out,
                present_at_end: f.present_at_end,
            })
            .collect(),
    ))
}
