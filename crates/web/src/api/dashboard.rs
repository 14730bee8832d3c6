//! The KPI dashboard's daily series through the JSON API (the period's figures are
//! `GET /api/v1/stats/requests`).

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use mulin_domain::ids::NodeId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::parse_id;
use super::requests::instant_param;
use crate::auth::AuthUser;
use crate::dashboard;
use crate::error::{ErrorBody, WebError};
use crate::AppState;

/// The dashboard routes (mounted at `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new().route("/stats/requests/daily", get(daily))
}

/// The dashboard part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(daily), components(schemas(DailyView, DayView)))]
pub struct DashboardApi;

/// Daily series query.
#[derive(Deserialize, IntoParams)]
pub struct DailyParams {
    /// The subtree (required).
    pub under: String,
    /// Start of the period (RFC 3339; default 30 days before `to`).
    pub from: Option<String>,
    /// End of the period, exclusive (RFC 3339; default: just after now). At most 92 days
    /// after `from`.
    pub to: Option<String>,
}

/// One China day (UTC+8) of the period.
#[derive(Serialize, ToSchema)]
pub struct DayView {
    /// The date, `YYYY-MM-DD`.
    pub date: String,
    /// Requests received that day.
    pub total: i64,
    /// Of them, solved in time, of those whose resolve deadline is decided.
    pub on_time_rate: Option<f64>,
    /// Of them, on site in time, of those whose arrive deadline is decided.
    pub response_rate: Option<f64>,
    /// Of them, solved.
    pub resolved: i64,
}

/// The daily series.
#[derive(Serialize, ToSchema)]
pub struct DailyView {
    /// The node.
    pub under: String,
    /// Start (RFC 3339).
    pub from: String,
    /// End, exclusive.
    pub to: String,
    /// Each day the period touches, oldest first.
    pub days: Vec<DayView>,
}

/// Intake and on-time figures per day of a period, for a subtree (the dashboard's trend).
#[utoipa::path(get, path = "/api/v1/stats/requests/daily", tag = "requests", params(DailyParams), security(("bearer" = [])),
    responses((status = 200, body = DailyView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn daily(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<DailyParams>,
) -> Result<Json<DailyView>, WebError> {
    let under: NodeId = parse_id(&params.under)?;
    let to = instant_param(params.to.as_deref(), "dashboard.error.period")?
        .unwrap_or_else(|| state.clock.now() + chrono::Duration::milliseconds(1));
    let from = instant_param(params.from.as_deref(), "dashboard.error.period")?
        .unwrap_or(to - chrono::Duration::days(30));
    let days = dashboard::daily(&state, &auth, under, from, to).await?;
    Ok(Json(DailyView {
        under: under.to_string(),
        from: from.to_rfc3339(),
        to: to.to_rfc3339(),
        days: days
            .iter()
            .map(|day| DayView {
                date: day.date.to_string(),
                total: day.stats.tallies.total,
                on_time_rate: day.stats.on_time_rate,
                response_rate: day.stats.response_rate,
                resolved: day.stats.tallies.resolved,
            })
            .collect(),
    }))
}
