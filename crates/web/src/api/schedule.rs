//! A community's duty list (准入) and the district's work calendar through the JSON API.
//! Every handler calls [`crate::schedule`], which asks the policy.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::parse_id;
use crate::auth::AuthUser;
use crate::error::{ErrorBody, WebError};
use crate::schedule::{self, CalendarYear, DutyList};
use crate::AppState;

/// The schedule routes (mounted at `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/communities/{id}/duty-list",
            get(get_duty_list).put(put_duty_list),
        )
        .route("/calendar/{year}", get(get_calendar).put(put_calendar))
}

/// The schedule part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(get_duty_list, put_duty_list, get_calendar, put_calendar),
    components(schemas(DutyListView, DutyListBody, CalendarView, CalendarBody)),
    tags((name = "schedule", description = "Communities' duty lists (准入) and the district's work calendar"))
)]
pub struct ScheduleApi;

/// A community's duty list: the catalogue items that may be pushed to its grids. An item
/// outside it waits in the community's queue for an approval (`approve_admission`).
#[derive(Serialize, ToSchema)]
pub struct DutyListView {
    /// The community.
    pub community_id: String,
    /// Whether the community never set a list (then every item is admitted).
    pub is_default: bool,
    /// Admitted catalogue codes, in catalogue order.
    pub service_codes: Vec<String>,
}

/// The admitted catalogue codes (see `GET /api/v1/services`).
#[derive(Deserialize, ToSchema)]
pub struct DutyListBody {
    /// Admitted catalogue codes.
    pub service_codes: Vec<String>,
}

fn duty_view(community_id: String, list: DutyList) -> DutyListView {
    DutyListView {
        community_id,
        is_default: list.is_default,
        service_codes: list.admitted,
    }
}

/// A community's duty list (community staff of that community and above).
#[utoipa::path(get, path = "/api/v1/communities/{id}/duty-list", tag = "schedule", params(("id" = String, Path, description = "Community id")), security(("bearer" = [])),
    responses((status = 200, body = DutyListView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_duty_list(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<DutyListView>, WebError> {
    let list = schedule::duty_list(&state, &auth, parse_id(&id)?).await?;
    Ok(Json(duty_view(id, list)))
}

/// Sets a community's duty list (community staff of that community and above; audited).
#[utoipa::path(put, path = "/api/v1/communities/{id}/duty-list", tag = "schedule", params(("id" = String, Path, description = "Community id")), request_body = DutyListBody, security(("bearer" = [])),
    responses((status = 200, body = DutyListView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_duty_list(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<DutyListBody>,
) -> Result<Json<DutyListView>, WebError> {
    let list = schedule::set_duty_list(&state, &auth, parse_id(&id)?, &body.service_codes).await?;
    Ok(Json(duty_view(id, list)))
}

/// The district's work calendar for one year.
#[derive(Serialize, ToSchema)]
pub struct CalendarView {
    /// The year.
    pub year: i32,
    /// Days off (`YYYY-MM-DD`), public holidays and their bridge days.
    pub holidays: Vec<String>,
    /// Weekend days worked in their place (调休).
    pub make_up_days: Vec<String>,
    /// Whether this is the built-in China official schedule.
    pub is_default: bool,
    /// Whether any table covers the year (else only Monday–Friday counts).
    pub known: bool,
}

/// One year's table; it replaces the year's holidays and make-up days.
#[derive(Deserialize, ToSchema)]
pub struct CalendarBody {
    /// Days off (`YYYY-MM-DD`, all in the year).
    pub holidays: Vec<String>,
    /// Make-up working days (`YYYY-MM-DD`, all in the year).
    pub make_up_days: Vec<String>,
}

impl From<CalendarYear> for CalendarView {
    fn from(y: CalendarYear) -> CalendarView {
        let texts = |dates: Vec<NaiveDate>| dates.iter().map(NaiveDate::to_string).collect();
        CalendarView {
            year: y.year,
            holidays: texts(y.holidays),
            make_up_days: texts(y.make_up_days),
            is_default: y.is_default,
            known: y.known,
        }
    }
}

fn dates(texts: &[String]) -> Result<Vec<NaiveDate>, WebError> {
    texts
        .iter()
        .map(|t| {
            NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d")
                .map_err(|_| WebError::Invalid("calendar.error.date"))
        })
        .collect()
}

/// The district's work calendar for a year (staff accounts).
#[utoipa::path(get, path = "/api/v1/calendar/{year}", tag = "schedule", params(("year" = i32, Path, description = "Year")), security(("bearer" = [])),
    responses((status = 200, body = CalendarView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_calendar(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(year): Path<i32>,
) -> Result<Json<CalendarView>, WebError> {
    Ok(Json(
        schedule::calendar_year(&state, &auth, year).await?.into(),
    ))
}

/// Replaces the district's work calendar for a year (district admins; audited). Deadlines
/// computed from then on count on it.
#[utoipa::path(put, path = "/api/v1/calendar/{year}", tag = "schedule", params(("year" = i32, Path, description = "Year")), request_body = CalendarBody, security(("bearer" = [])),
    responses((status = 200, body = CalendarView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_calendar(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(year): Path<i32>,
    Json(body): Json<CalendarBody>,
) -> Result<Json<CalendarView>, WebError> {
    let holidays = dates(&body.holidays)?;
    let make_up_days = dates(&body.make_up_days)?;
    Ok(Json(
        schedule::set_calendar_year(&state, &auth, year, holidays, make_up_days)
            .await?
            .into(),
    ))
}
