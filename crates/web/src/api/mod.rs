//! The JSON API under `/api/v1`, described by the OpenAPI document at
//! `/api/v1/openapi.json` (browsable at `/api/v1/docs`). Authentication is a bearer token
//! from `POST /api/v1/login`; every endpoint answers a resident outside the caller's scope
//! with 403 or 404 and never with its data.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Json, Router};
use mulin_domain::tree::NodeKind;
use mulin_storage::{ResidentQuery, SessionKind};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

pub mod audit;
mod export;
pub mod floating_ledger;
pub mod ledger;

use crate::access;
use crate::auth::{self, AuthUser};
use crate::error::{ErrorBody, WebError};
use crate::views::{CountsView, NodeView, ResidentView};
use crate::AppState;

mod care;
mod dashboard;
pub mod geo;
pub(crate) mod map;
pub(crate) mod redivision;
mod reps;
mod requests;
mod schedule;
mod visits;

/// The API's routes (mounted at `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/tree", get(tree))
        .route("/nodes/{id}", get(node))
        .route("/residents", get(residents))
        .route("/residents/{id}", get(resident))
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(docs))
        .merge(requests::routes())
        .merge(geo::routes())
        .merge(ledger::routes())
        .merge(schedule::routes())
        .merge(dashboard::routes())
        .merge(visits::routes())
        .merge(care::routes())
        .merge(audit::routes())
        .merge(redivision::routes())
        .merge(map::routes())
        .merge(reps::routes())
        .merge(floating_ledger::routes())
}

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Mulin 睦邻 API", version = "1", description = "Community grid governance: the organisation tree, the resident registry and accounts. Authenticate with `POST /api/v1/login`, then send `Authorization: Bearer <token>`."),
    paths(login, logout, me, tree, node, residents, resident),
    components(schemas(LoginRequest, LoginResponse, Me, RoleView, TreeResponse, NodeResponse, ChildView, PostView, BodyView, ResidentPage, ResidentView, NodeView, CountsView, ErrorBody, crate::error::ErrorDetail)),
    modifiers(&BearerAuth),
    tags((name = "auth", description = "Log in and out"), (name = "registry", description = "The tree and its residents"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

fn parse_id<T: std::str::FromStr>(text: &str) -> Result<T, WebError> {
    text.parse().map_err(|_| WebError::NotFound)
}

/// A day as forms and bodies write it (`YYYY-MM-DD`), or the message `key` for a bad one.
pub(crate) fn parse_day(text: &str, key: &'static str) -> Result<chrono::NaiveDate, WebError> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| WebError::Invalid(key))
}

/// Credentials.
#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A new bearer token.
#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When it stops working (RFC 3339, UTC).
    pub expires_at: String,
}

/// Exchanges a username and password for a bearer token.
#[utoipa::path(post, path = "/api/v1/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    auth::ClientIp(ip): auth::ClientIp,
    Json(body): Json<LoginRequest>,
) -> Result<Json<LoginResponse>, WebError> {
    let user =
        auth::check_credentials(&state, ip.as_deref(), &body.username, &body.password).await?;
    let (token, session) = auth::start_session(&state, &user, SessionKind::Api, ip).await?;
    Ok(Json(LoginResponse {
        token,
        expires_at: session.expires_at.to_rfc3339(),
    }))
}

/// Ends the session of the token presented.
#[utoipa::path(post, path = "/api/v1/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
async fn logout(State(state): State<AppState>, auth: AuthUser) -> Result<StatusCode, WebError> {
    state.store.delete_session(&auth.session.token_hash).await?;
    state
        .audit(&auth, "logout", ("session", auth.session.kind.as_str()), "")
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller.
#[derive(Serialize, ToSchema)]
pub struct Me {
    /// Account id.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// The district (tenant) id.
    pub district_id: String,
    /// Roles, each granted at a node and valid for its subtree.
    pub roles: Vec<RoleView>,
}

/// A role granted at a node.
#[derive(Serialize, ToSchema)]
pub struct RoleView {
    /// `admin`, `street_admin`, `community_staff`, `grid_worker`, `department_liaison`,
    /// `party_member`, `volunteer` or `resident`.
    pub role: String,
    /// The node it is granted at.
    pub node_id: String,
    /// That node's kind.
    pub node_kind: String,
}

/// Who the token belongs to and what they may do where.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(auth: AuthUser) -> Json<Me> {
    Json(Me {
        id: auth.user.id.to_string(),
        username: auth.user.username.clone(),
        display_name: auth.user.display_name.clone(),
        district_id: auth.user.district.to_string(),
        roles: auth
            .principal
            .grants()
            .iter()
            .map(|grant| RoleView {
                role: grant.role.as_str().to_owned(),
                node_id: grant.at.id().to_string(),
                node_kind: grant.at.kind().as_str().to_owned(),
            })
            .collect(),
    })
}

/// Tree query.
#[derive(Deserialize, IntoParams)]
pub struct TreeParams {
    /// Only below this node (default: everything the caller may see).
    pub under: Option<String>,
    /// The deepest kind to include (default `building`; `household` for all).
    pub deepest: Option<String>,
}

/// The visible part of the tree.
#[derive(Serialize, ToSchema)]
pub struct TreeResponse {
    /// Nodes, parents before children.
    pub nodes: Vec<NodeView>,
}

/// The part of the tree the caller may see.
#[utoipa::path(get, path = "/api/v1/tree", tag = "registry", params(TreeParams), security(("bearer" = [])),
    responses((status = 200, body = TreeResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn tree(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<TreeParams>,
) -> Result<Json<TreeResponse>, WebError> {
    let under = params.under.as_deref().map(parse_id).transpose()?;
    let deepest = match params.deepest.as_deref() {
        Some(text) => NodeKind::parse(text).map_err(|err| WebError::BadRequest(err.to_string()))?,
        None => NodeKind::Building,
    };
    let nodes = access::tree(&state, &auth, under, deepest).await?;
    Ok(Json(TreeResponse {
        nodes: nodes.iter().map(NodeView::from).collect(),
    }))
}

/// A child with its counts.
#[derive(Serialize, ToSchema)]
pub struct ChildView {
    /// The child.
    pub node: NodeView,
    /// Its counts.
    pub counts: CountsView,
}

/// A post held at a node.
#[derive(Serialize, ToSchema)]
pub struct PostView {
    /// `grid_worker`, `building_captain`, `resident_representative`, `branch_secretary`,
    /// `branch_member`, `department_liaison`, `owners_committee_member`, `property_manager`.
    pub kind: String,
    /// The holder.
    pub holder_name: String,
    /// `full_time` or `part_time` (grid workers).
    pub employment: Option<String>,
    /// Where the holder comes from (四方力量).
    pub origin: Option<String>,
    /// The department (liaisons).
    pub department: Option<String>,
    /// Request categories (liaisons).
    pub categories: Vec<String>,
    /// Households linked (representatives, 5–15).
    pub household_ids: Vec<String>,
}

/// A party organisation or a unit attached to a node.
#[derive(Serialize, ToSchema)]
pub struct BodyView {
    /// Id.
    pub id: String,
    /// Kind: party organisation kinds (`committee`, `branch` …) or unit kinds
    /// (`property_company`, `owners_committee` …).
    pub kind: String,
    /// Name.
    pub name: String,
}

/// A node with counts.
#[derive(Serialize, ToSchema)]
pub struct NodeResponse {
    /// The node.
    pub node: NodeView,
    /// Households, residents and special groups under it.
    pub counts: CountsView,
    /// Its children with their counts.
    pub children: Vec<ChildView>,
    /// Posts held at this node.
    pub posts: Vec<PostView>,
    /// Party organisations attached to this node.
    pub party_orgs: Vec<BodyView>,
    /// Units at this address.
    pub units: Vec<BodyView>,
}

/// One node with its counts and children.
#[utoipa::path(get, path = "/api/v1/nodes/{id}", tag = "registry", params(("id" = String, Path, description = "Node id")), security(("bearer" = [])),
    responses((status = 200, body = NodeResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn node(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<NodeResponse>, WebError> {
    let detail = access::node_detail(&state, &auth, parse_id(&id)?).await?;
    let attached = access::attached(&state, &auth, &detail.node).await?;
    Ok(Json(NodeResponse {
        posts: attached
            .posts
            .iter()
            .map(|post| PostView {
                kind: post.kind.as_str().to_owned(),
                holder_name: post.holder_name.as_ref().to_owned(),
                employment: post.employment.map(|e| e.as_str().to_owned()),
                origin: post.origin.map(|o| o.as_str().to_owned()),
                department: post.department.map(|d| d.as_str().to_owned()),
                categories: post.categories.clone(),
                household_ids: post.households.iter().map(ToString::to_string).collect(),
            })
            .collect(),
        party_orgs: attached
            .party_orgs
            .iter()
            .map(|org| BodyView {
                id: org.id.to_string(),
                kind: org.kind.as_str().to_owned(),
                name: org.name.clone(),
            })
            .collect(),
        units: attached
            .units
            .iter()
            .map(|unit| BodyView {
                id: unit.id.to_string(),
                kind: unit.kind.as_str().to_owned(),
                name: unit.name.clone(),
            })
            .collect(),
        node: NodeView::from(&detail.node),
        counts: detail.counts.into(),
        children: detail
            .children
            .iter()
            .map(|(child, counts)| ChildView {
                node: NodeView::from(child),
                counts: (*counts).into(),
            })
            .collect(),
    }))
}

/// Resident search.
#[derive(Deserialize, IntoParams)]
pub struct ResidentParams {
    /// Only below this node (default: everywhere the caller may see residents).
    pub under: Option<String>,
    /// Name, part of an address, or the last 4+ digits of an ID number.
    pub q: Option<String>,
    /// 1-based page (default 1).
    pub page: Option<u32>,
    /// Page size, 1–200 (default 50).
    pub per_page: Option<u32>,
}

/// A page of residents.
#[derive(Serialize, ToSchema)]
pub struct ResidentPage {
    /// The residents (ID numbers and phones masked).
    pub items: Vec<ResidentView>,
    /// Page number.
    pub page: u32,
    /// Page size.
    pub per_page: u32,
    /// Whether another page follows.
    pub has_more: bool,
}

/// Residents the caller may see, searched and paged.
#[utoipa::path(get, path = "/api/v1/residents", tag = "registry", params(ResidentParams), security(("bearer" = [])),
    responses((status = 200, body = ResidentPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn residents(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<ResidentParams>,
) -> Result<Json<ResidentPage>, WebError> {
    let under = params.under.as_deref().map(parse_id).transpose()?;
    let query = ResidentQuery {
        q: params.q.unwrap_or_default(),
        page: params.page.unwrap_or(1),
        per_page: params.per_page.unwrap_or(50),
    };
    let page = access::search_residents(&state, &auth, under, &query).await?;
    let today = state.clock.today();
    Ok(Json(ResidentPage {
        items: page
            .items
            .iter()
            .map(|r| ResidentView::new(r, today, crate::views::Disclosure::Masked))
            .collect(),
        page: page.page,
        per_page: page.per_page,
        has_more: page.has_more,
    }))
}

/// Resident read options.
#[derive(Deserialize, IntoParams)]
pub struct RevealParams {
    /// `true` for the full ID number and phone (roles that serve residents only; audited).
    pub reveal: Option<bool>,
}

/// One resident.
#[utoipa::path(get, path = "/api/v1/residents/{id}", tag = "registry", params(("id" = String, Path, description = "Resident id"), RevealParams), security(("bearer" = [])),
    responses((status = 200, body = ResidentView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn resident(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
    Query(params): Query<RevealParams>,
) -> Result<Json<ResidentView>, WebError> {
    let (resident, disclosure) = access::resident(
        &state,
        &auth,
        parse_id(&id)?,
        params.reveal.unwrap_or(false),
    )
    .await?;
    Ok(Json(ResidentView::new(
        &resident,
        state.clock.today(),
        disclosure,
    )))
}

async fn openapi_json() -> impl IntoResponse {
    let mut doc = ApiDoc::openapi();
    doc.merge(requests::RequestsApi::openapi());
    doc.merge(geo::GeoApi::openapi());
    doc.merge(ledger::LedgerApi::openapi());
    doc.merge(schedule::ScheduleApi::openapi());
    doc.merge(crate::notify::NotifyApi::openapi());
    doc.merge(dashboard::DashboardApi::openapi());
    doc.merge(visits::VisitsApi::openapi());
    doc.merge(care::CareApi::openapi());
    doc.merge(audit::AuditApi::openapi());
    doc.merge(redivision::RedivisionApi::openapi());
    doc.merge(map::MapApi::openapi());
    doc.merge(reps::RepsApi::openapi());
    doc.merge(floating_ledger::FloatingLedgerApi::openapi());
    Json(doc)
}

async fn docs() -> Html<&'static str> {
    Html(include_str!("../../assets/api-docs.html"))
}
