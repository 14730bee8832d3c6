//! Requests through the JSON API: intake, lists, the timeline, lifecycle actions, KPIs,
//! notifications and the service catalogue. Every handler calls [`crate::requests`], which
//! asks the policy.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use mulin_domain::deadline::{DeadlinePolicy, DeadlinePolicyParts, Limit, LimitKind, Severity};
use mulin_domain::ids::{NodeId, RequestId};
use mulin_domain::policy::Action;
use mulin_domain::request::{Channel, RequestStatus, SERVICE_CATALOGUE};
use mulin_storage::{LonLat, RequestFilter, RequestOrder, RequestRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::parse_id;
use crate::auth::AuthUser;
use crate::error::{ErrorBody, WebError};
use crate::i18n::{Lang, Tr};
use crate::requests::{self, ActionInput, ListScope, NewRequest, RequestStats};
use crate::views::{Disclosure, EventView, RequestView};
use crate::AppState;

/// The request routes (mounted at `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/services", get(services))
        .route("/requests", post(create).get(list))
        .route("/requests/{id}", get(one))
        .route("/requests/{id}/actions", post(act))
        .route("/stats/requests", get(stats))
        .route("/notifications", get(notifications))
        .route("/notifications/read", post(read_notifications))
        .route("/hotline/orders", post(hotline_create))
        .route("/hotline/orders/{order_no}", get(hotline_get))
        .route(
            "/communities/{id}/deadline-policy",
            get(get_policy).put(put_policy),
        )
}

/// The request part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(services, create, list, one, act, stats, notifications, read_notifications, get_policy, put_policy, hotline_create, hotline_get),
    components(schemas(ActionInput, HotlineOrder, HotlineResult, PolicyView, PolicyBody, LimitView, ServiceView, CreateRequest, RequestView, RequestPage, RequestDetail, EventView, StatsView, PeriodStats, NotificationView)),
    tags((name = "requests", description = "Residents' requests, the 1341 deadlines, whistles and KPIs"))
)]
pub struct RequestsApi;

/// A service of the catalogue.
#[derive(Serialize, ToSchema)]
pub struct ServiceView {
    /// Code (Open311 `service_code`).
    pub code: String,
    /// Name (Chinese).
    pub name: String,
    /// Group name (Chinese).
    pub group: String,
    /// Usual severity.
    pub severity: String,
    /// The department usually whistled.
    pub department: Option<String>,
}

/// The service catalogue.
#[utoipa::path(get, path = "/api/v1/services", tag = "requests", security(("bearer" = [])),
    responses((status = 200, body = Vec<ServiceView>), (status = 401, body = ErrorBody)))]
async fn services(_auth: AuthUser) -> Json<Vec<ServiceView>> {
    let tr = Tr::new(Lang::ZhCn);
    Json(
        SERVICE_CATALOGUE
            .iter()
            .map(|s| ServiceView {
                code: s.code.to_owned(),
                name: tr.code("service", s.code),
                group: tr.code("service_group", s.group),
                severity: s.severity.as_str().to_owned(),
                department: s.department.map(|d| d.as_str().to_owned()),
            })
            .collect(),
    )
}

/// A new request. Give `address_node_id` (a building, entrance or household), or
/// `community_id` to queue it at a community.
#[derive(Deserialize, ToSchema)]
pub struct CreateRequest {
    /// Catalogue code (see `/api/v1/services`).
    pub service_code: String,
    /// Summary (default: the start of the description).
    pub title: Option<String>,
    /// What is wrong, in the resident's words (at most 4,000 characters).
    pub description: String,
    /// `walk_in`, `phone`, `web`, `patrol`, `representative`, `hotline` (default `api`).
    pub channel: Option<String>,
    /// A building, entrance or household of the standard address.
    pub address_node_id: Option<String>,
    /// The community whose queue takes it when no address is given.
    pub community_id: Option<String>,
    /// Free-text address.
    pub address: Option<String>,
    /// Longitude (WGS-84).
    pub lon: Option<f64>,
    /// Latitude (WGS-84).
    pub lat: Option<f64>,
    /// `ordinary`, `complex`, `major` (default: the service's).
    pub severity: Option<String>,
    /// Who raised it.
    pub reporter_name: Option<String>,
    /// Their phone.
    pub reporter_phone: Option<String>,
}

fn parse_code<T>(
    text: Option<&str>,
    parse: impl Fn(&str) -> Result<T, mulin_domain::codes::UnknownCode>,
    key: &'static str,
) -> Result<Option<T>, WebError> {
    text.map(|t| parse(t.trim()).map_err(|_| WebError::Invalid(key)))
        .transpose()
}

fn body_id<T: std::str::FromStr>(text: Option<&str>) -> Result<Option<T>, WebError> {
    text.map(|t| {
        t.trim()
            .parse()
            .map_err(|_| WebError::Invalid("request.error.place"))
    })
    .transpose()
}

impl CreateRequest {
    fn into_new(self) -> Result<NewRequest, WebError> {
        let position = match (self.lon, self.lat) {
            (Some(lon), Some(lat)) => Some(LonLat { lon, lat }),
            (None, None) => None,
            _ => return Err(WebError::Invalid("request.error.position")),
        };
        Ok(NewRequest {
            channel: parse_code(
                self.channel.as_deref(),
                Channel::parse,
                "request.error.channel",
            )?,
            severity: parse_code(
                self.severity.as_deref(),
                Severity::parse,
                "request.error.severity",
            )?,
            address_node: body_id(self.address_node_id.as_deref())?,
            community: body_id(self.community_id.as_deref())?,
            position,
            address_text: self.address,
            service_code: self.service_code,
            title: self.title,
            description: self.description,
            reporter_name: self.reporter_name,
            reporter_phone: self.reporter_phone,
            ..NewRequest::default()
        })
    }
}

/// Whether the caller sees the reporter's phone in full: those who handle the request.
fn disclosure(auth: &AuthUser, r: &RequestRecord) -> Disclosure {
    if auth.principal.allows(Action::HandleRequests, &r.place) {
        Disclosure::Full
    } else {
        Disclosure::Masked
    }
}

/// Takes in a request; it is routed to its grid at once, or queued at the community.
#[utoipa::path(post, path = "/api/v1/requests", tag = "requests", request_body = CreateRequest, security(("bearer" = [])),
    responses((status = 201, body = RequestView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    auth: AuthUser,
    Json(body): Json<CreateRequest>,
) -> Result<(StatusCode, Json<RequestView>), WebError> {
    let record = requests::submit(&state, &auth, body.into_new()?).await?;
    Ok((
        StatusCode::CREATED,
        Json(RequestView::new(&record, disclosure(&auth, &record))),
    ))
}

/// Request list filters.
#[derive(Deserialize, IntoParams)]
pub struct ListParams {
    /// Only below this node (default: everywhere the caller may see requests).
    pub under: Option<String>,
    /// `mine`: the caller's own submissions; `whistled`: open whistles addressed to the
    /// caller (a department liaison's inbox).
    pub view: Option<String>,
    /// Only open requests (default `false`).
    pub open: Option<bool>,
    /// Only this status.
    pub status: Option<String>,
    /// `deadline` (nearest resolve deadline first, the default) or `newest`.
    pub order: Option<String>,
    /// 1-based page.
    pub page: Option<u32>,
    /// Page size, 1–200 (default 50).
    pub per_page: Option<u32>,
}

/// A page of requests.
#[derive(Serialize, ToSchema)]
pub struct RequestPage {
    /// The requests.
    pub items: Vec<RequestView>,
    /// Page number.
    pub page: u32,
    /// Page size.
    pub per_page: u32,
    /// Whether another page follows.
    pub has_more: bool,
}

/// Requests the caller may see: a grid worker's grid, a community's queue, the caller's own,
/// or the whistles addressed to a liaison.
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = RequestPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<ListParams>,
) -> Result<Json<RequestPage>, WebError> {
    let scope = match params.view.as_deref() {
        Some("mine") => ListScope::Mine,
        Some("whistled") => ListScope::Whistled,
        None | Some("") => ListScope::Under(params.under.as_deref().map(parse_id).transpose()?),
        Some(_) => return Err(WebError::Invalid("request.error.view")),
    };
    let filter = RequestFilter {
        open_only: params.open.unwrap_or(false),
        status: parse_code(
            params.status.as_deref(),
            RequestStatus::parse,
            "request.error.status",
        )?,
        submitted_by: None,
        whistle_liaison: None,
        order: match params.order.as_deref() {
            None | Some("deadline") => RequestOrder::Deadline,
            Some("newest") => RequestOrder::Newest,
            Some(_) => return Err(WebError::Invalid("request.error.order")),
        },
        page: params.page.unwrap_or(1).max(1),
        per_page: params.per_page.unwrap_or(50).clamp(1, 200),
    };
    let page = requests::list(&state, &auth, scope, filter).await?;
    Ok(Json(RequestPage {
        items: page
            .items
            .iter()
            .map(|r| RequestView::new(r, disclosure(&auth, r)))
            .collect(),
        page: page.page,
        per_page: page.per_page,
        has_more: page.has_more,
    }))
}

/// A request and its timeline.
#[derive(Serialize, ToSchema)]
pub struct RequestDetail {
    /// The request.
    pub request: RequestView,
    /// Every event, oldest first.
    pub events: Vec<EventView>,
    /// For staff who can merge: open requests that look like the same problem (same
    /// service and community, last 24 hours, same building or within 200 m).
    pub possible_duplicates: Vec<RequestView>,
}

/// One request with its timeline.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests", params(("id" = String, Path, description = "Request id")), security(("bearer" = [])),
    responses((status = 200, body = RequestDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn one(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<RequestDetail>, WebError> {
    let (request, events) = requests::detail(&state, &auth, parse_id(&id)?).await?;
    let duplicates = requests::possible_duplicates(&state, &auth, &request).await?;
    Ok(Json(RequestDetail {
        request: RequestView::new(&request, disclosure(&auth, &request)),
        events: events.iter().map(EventView::from).collect(),
        possible_duplicates: duplicates
            .iter()
            .map(|r| RequestView::new(r, disclosure(&auth, r)))
            .collect(),
    }))
}

/// Applies a lifecycle action. Refused actions answer 422 with the rule that refused them;
/// actions the caller's role may not take answer 403.
#[utoipa::path(post, path = "/api/v1/requests/{id}/actions", tag = "requests", params(("id" = String, Path, description = "Request id")), request_body = ActionInput, security(("bearer" = [])),
    responses((status = 200, body = RequestView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn act(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<ActionInput>,
) -> Result<Json<RequestView>, WebError> {
    let id: RequestId = parse_id(&id)?;
    let record = requests::command(&state, &auth, id, body.command()?).await?;
    Ok(Json(RequestView::new(&record, disclosure(&auth, &record))))
}

/// KPI query.
#[derive(Deserialize, IntoParams)]
pub struct StatsParams {
    /// The subtree (required).
    pub under: String,
    /// Start of the period (RFC 3339; default 30 days before `to`).
    pub from: Option<String>,
    /// End of the period, exclusive (RFC 3339; default: just after now).
    pub to: Option<String>,
}

/// The KPIs of one period.
#[derive(Serialize, ToSchema)]
pub struct PeriodStats {
    /// Start (RFC 3339).
    pub from: String,
    /// End, exclusive.
    pub to: String,
    /// Requests received.
    pub total: i64,
    /// 响应率: on site in time, of those whose arrive deadline is decided.
    pub response_rate: Option<f64>,
    /// Solved in time, of those whose resolve deadline is decided.
    pub on_time_rate: Option<f64>,
    /// 解决率: solved, of all received.
    pub resolution_rate: Option<f64>,
    /// 满意率: rated 4–5 stars, of those rated.
    pub satisfaction_rate: Option<f64>,
    /// Mean minutes from intake to solved.
    pub mean_handling_minutes: Option<f64>,
    /// Median minutes from intake to solved.
    pub median_handling_minutes: Option<f64>,
    /// Deadlines missed.
    pub breaches: i64,
    /// Deadlines missed, by the escalation level (`grid`, `compound`, `community`, `street`)
    /// their request stands at; levels without breaches are left out.
    pub breaches_by_level: BTreeMap<String, i64>,
    /// Whistle acknowledgements missed, by department code; departments without are left out.
    pub breaches_by_department: BTreeMap<String, i64>,
    /// "三率" composite (30% response, 35% resolution, 35% satisfaction).
    pub composite: Option<f64>,
    /// Requests solved.
    pub resolved: i64,
    /// Requests rated.
    pub rated: i64,
}

/// KPIs of the period (at the top level) and of the one just before it.
#[derive(Serialize, ToSchema)]
pub struct StatsView {
    /// The node.
    pub under: String,
    /// The period's figures.
    #[serde(flatten)]
    pub current: PeriodStats,
    /// The period of the same length just before.
    pub previous: PeriodStats,
}

fn period(stats: &RequestStats, from: DateTime<Utc>, to: DateTime<Utc>) -> PeriodStats {
    let t = &stats.tallies;
    PeriodStats {
        from: from.to_rfc3339(),
        to: to.to_rfc3339(),
        total: t.total,
        response_rate: stats.response_rate,
        on_time_rate: stats.on_time_rate,
        resolution_rate: stats.resolution_rate,
        satisfaction_rate: stats.satisfaction_rate,
        mean_handling_minutes: stats.mean_handling_minutes,
        median_handling_minutes: t.handling_minutes_median,
        breaches: t.breaches,
        breaches_by_level: t
            .breaches_by_level
            .iter()
            .map(|(level, n)| (level.as_str().to_owned(), *n))
            .collect(),
        breaches_by_department: t
            .breaches_by_department
            .iter()
            .map(|(dept, n)| (dept.as_str().to_owned(), *n))
            .collect(),
        composite: stats.composite,
        resolved: t.resolved,
        rated: t.rated,
    }
}

pub(super) fn instant_param(
    text: Option<&str>,
    key: &'static str,
) -> Result<Option<DateTime<Utc>>, WebError> {
    text.map(|t| {
        DateTime::parse_from_rfc3339(t.trim())
            .map(|at| at.with_timezone(&Utc))
            .map_err(|_| WebError::Invalid(key))
    })
    .transpose()
}

/// Request KPIs for a subtree and period, computed from the record.
#[utoipa::path(get, path = "/api/v1/stats/requests", tag = "requests", params(StatsParams), security(("bearer" = [])),
    responses((status = 200, body = StatsView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn stats(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<StatsParams>,
) -> Result<Json<StatsView>, WebError> {
    let under: NodeId = parse_id(&params.under)?;
    // By default up to and including this instant (the period's end is exclusive).
    let to = instant_param(params.to.as_deref(), "request.error.period")?
        .unwrap_or_else(|| state.clock.now() + chrono::Duration::milliseconds(1));
    let from = instant_param(params.from.as_deref(), "request.error.period")?
        .unwrap_or(to - chrono::Duration::days(30));
    let (current, previous) = requests::stats(&state, &auth, under, from, to).await?;
    let before = from - (to - from);
    Ok(Json(StatsView {
        under: under.to_string(),
        current: period(&current, from, to),
        previous: period(&previous, before, from),
    }))
}

/// An in-app notification.
#[derive(Serialize, ToSchema)]
pub struct NotificationView {
    /// Id.
    pub id: String,
    /// When.
    pub at: String,
    /// `dispatched`, `queued`, `escalated`, `breached`, `whistled`, `returned`, `reopened`,
    /// `extension_requested`.
    pub kind: String,
    /// What it says (Chinese).
    pub message: String,
    /// The request.
    pub request_id: String,
    /// The request's title.
    pub title: String,
    /// Read.
    pub read: bool,
}

/// Notification filter.
#[derive(Deserialize, IntoParams)]
pub struct NotificationParams {
    /// Only unread ones.
    pub unread: Option<bool>,
}

/// The caller's notifications, newest first (at most 100).
#[utoipa::path(get, path = "/api/v1/notifications", tag = "requests", params(NotificationParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<NotificationView>), (status = 401, body = ErrorBody)))]
async fn notifications(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<NotificationParams>,
) -> Result<Json<Vec<NotificationView>>, WebError> {
    let tr = Tr::new(Lang::ZhCn);
    let items = state
        .store
        .notifications(auth.user.id, params.unread.unwrap_or(false), 100)
        .await?;
    Ok(Json(
        items
            .iter()
            .map(|n| NotificationView {
                id: n.id.to_string(),
                at: n.at.to_rfc3339(),
                kind: n.kind.clone(),
                message: tr.code("notification", &n.kind),
                request_id: n.request.to_string(),
                title: n.text.clone(),
                read: n.read,
            })
            .collect(),
    ))
}

/// Marks all the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "requests", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
async fn read_notifications(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<StatusCode, WebError> {
    state.store.mark_notifications_read(auth.user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A deadline: `kind` is `clock` (minutes on the clock), `working_minutes` (minutes within
/// working hours of working days) or `working_days` (to the close of the n-th working day
/// after the day received, on China's holiday calendar with its make-up days).
#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct LimitView {
    /// `clock`, `working_minutes` or `working_days`.
    pub kind: String,
    /// Minutes or days.
    pub amount: u32,
}

impl From<Limit> for LimitView {
    fn from(limit: Limit) -> LimitView {
        LimitView {
            kind: limit.kind().as_str().to_owned(),
            amount: limit.amount(),
        }
    }
}

impl LimitView {
    fn limit(&self) -> Result<Limit, WebError> {
        let kind =
            LimitKind::parse(&self.kind).map_err(|_| WebError::Invalid("policy.error.kind"))?;
        Limit::from_parts(kind, self.amount).map_err(|_| WebError::Invalid("policy.error.limit"))
    }
}

/// A community's deadline policy (default "1341": on site in 10 minutes, ordinary problems
/// solved in 30 minutes, complex in 4 hours, major ones planned within a day).
#[derive(Serialize, ToSchema)]
pub struct PolicyView {
    /// The community.
    pub community_id: String,
    /// Whether the community runs the default.
    pub is_default: bool,
    /// The limits.
    #[serde(flatten)]
    pub policy: PolicyBody,
}

/// The limits of a deadline policy.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct PolicyBody {
    /// On site (or first contact), from receipt.
    pub arrive: LimitView,
    /// An ordinary problem solved, from receipt.
    pub resolve_ordinary: LimitView,
    /// A complex problem solved, from receipt.
    pub resolve_complex: LimitView,
    /// A major problem given a plan, from receipt.
    pub resolve_major: LimitView,
    /// A whistled department reports, from the whistle.
    pub whistle_acknowledge: LimitView,
    /// Verification and revisit, from resolution.
    pub verify: LimitView,
    /// Extensions one request may get.
    pub max_extensions: u32,
}

impl From<&DeadlinePolicy> for PolicyBody {
    fn from(policy: &DeadlinePolicy) -> PolicyBody {
        let p = policy.parts();
        PolicyBody {
            arrive: p.arrive.into(),
            resolve_ordinary: p.resolve_ordinary.into(),
            resolve_complex: p.resolve_complex.into(),
            resolve_major: p.resolve_major.into(),
            whistle_acknowledge: p.whistle_acknowledge.into(),
            verify: p.verify.into(),
            max_extensions: p.max_extensions,
        }
    }
}

/// A community's deadline policy.
#[utoipa::path(get, path = "/api/v1/communities/{id}/deadline-policy", tag = "requests", params(("id" = String, Path, description = "Community id")), security(("bearer" = [])),
    responses((status = 200, body = PolicyView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_policy(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<PolicyView>, WebError> {
    let (policy, is_default) = requests::community_policy(&state, &auth, parse_id(&id)?).await?;
    Ok(Json(PolicyView {
        community_id: id,
        is_default,
        policy: PolicyBody::from(&policy),
    }))
}

/// Sets a community's deadline policy (community staff and above; audited). New requests
/// get it at once; requests already taken in keep their deadlines.
#[utoipa::path(put, path = "/api/v1/communities/{id}/deadline-policy", tag = "requests", params(("id" = String, Path, description = "Community id")), request_body = PolicyBody, security(("bearer" = [])),
    responses((status = 200, body = PolicyView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_policy(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<PolicyBody>,
) -> Result<Json<PolicyView>, WebError> {
    let parts = DeadlinePolicyParts {
        arrive: body.arrive.limit()?,
        resolve_ordinary: body.resolve_ordinary.limit()?,
        resolve_complex: body.resolve_complex.limit()?,
        resolve_major: body.resolve_major.limit()?,
        whistle_acknowledge: body.whistle_acknowledge.limit()?,
        verify: body.verify.limit()?,
        max_extensions: body.max_extensions,
    };
    let policy = requests::set_community_policy(&state, &auth, parse_id(&id)?, parts).await?;
    Ok(Json(PolicyView {
        community_id: id,
        is_default: false,
        policy: PolicyBody::from(&policy),
    }))
}

/// A city 12345 hotline work order, as the hotline sends it.
#[derive(Deserialize, ToSchema)]
pub struct HotlineOrder {
    /// The hotline's work order number (unique; sending it again changes nothing).
    pub order_no: String,
    /// When the hotline received it (RFC 3339; at most 30 days ago; default now). Deadlines
    /// count from then.
    pub received_at: Option<String>,
    /// The hotline's limit in working days (e.g. 7 or 15); default the community's policy.
    pub limit_working_days: Option<u32>,
    /// Where every change of the request is pushed (`http://`; see the `HotlineResultPush`
    /// schema): POSTed as JSON, retried with backoff until answered 2xx. Only taken when
    /// the order is created.
    pub callback_url: Option<String>,
    /// A key of 16–200 characters; when given, each push carries `X-Mulin-Signature:
    /// sha256=<hex HMAC-SHA256 of "<X-Mulin-Timestamp>.<body>">`.
    pub callback_secret: Option<String>,
    /// The request itself.
    #[serde(flatten)]
    pub request: CreateRequest,
}

/// A work order's state and result, for the hotline to read back.
#[derive(Serialize, ToSchema)]
pub struct HotlineResult {
    /// The hotline's number.
    pub order_no: String,
    /// Whether this call created it (false: it was already taken in).
    pub created: bool,
    /// The request, with its current deadline and state.
    pub request: RequestView,
    /// What was done: the note of the latest solve (or whistle report).
    pub result: Option<String>,
    /// Every event, oldest first.
    pub events: Vec<EventView>,
}

fn hotline_result(
    auth: &AuthUser,
    order_no: String,
    created: bool,
    request: &RequestRecord,
    events: &[mulin_storage::RequestEvent],
) -> HotlineResult {
    use mulin_domain::request::EventKind;
    let result = events
        .iter()
        .rev()
        .find(|e| matches!(e.kind, EventKind::Solved | EventKind::WhistleReported))
        .map(|e| e.note.clone());
    HotlineResult {
        order_no,
        created,
        request: RequestView::new(request, disclosure(auth, request)),
        result,
        events: events.iter().map(EventView::from).collect(),
    }
}

/// Takes in a 12345 hotline work order (community staff, or an account the integration uses
/// with that grant). Idempotent by `order_no`: 201 when created, 200 with the existing
/// request when sent again.
#[utoipa::path(post, path = "/api/v1/hotline/orders", tag = "requests", request_body = HotlineOrder, security(("bearer" = [])),
    responses((status = 201, body = HotlineResult), (status = 200, body = HotlineResult), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn hotline_create(
    State(state): State<AppState>,
    auth: AuthUser,
    Json(body): Json<HotlineOrder>,
) -> Result<(StatusCode, Json<HotlineResult>), WebError> {
    let mut input = body.request.into_new()?;
    input.received_at = instant_param(body.received_at.as_deref(), "request.error.received_at")?;
    input.resolve_limit = body.limit_working_days.map(Limit::WorkingDays);
    // Checked before the intake, so a bad callback leaves nothing behind.
    let callback = crate::notify::check_callback(
        body.callback_url.as_deref(),
        body.callback_secret.as_deref(),
    )?;
    let (request, created) =
        requests::take_in_hotline(&state, &auth, &body.order_no, input, callback).await?;
    let events = state
        .store
        .request_events(request.district, request.id)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(hotline_result(
            &auth,
            body.order_no,
            created,
            &request,
            &events,
        )),
    ))
}

/// A hotline work order's state and result, by its number.
#[utoipa::path(get, path = "/api/v1/hotline/orders/{order_no}", tag = "requests", params(("order_no" = String, Path, description = "The hotline's work order number")), security(("bearer" = [])),
    responses((status = 200, body = HotlineResult), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn hotline_get(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(order_no): Path<String>,
) -> Result<Json<HotlineResult>, WebError> {
    let (request, events) = requests::hotline_order(&state, &auth, &order_no).await?;
    Ok(Json(hotline_result(
        &auth, order_no, false, &request, &events,
    )))
}
