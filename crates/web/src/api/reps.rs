//! Representatives and building captains over the API: a community's posts with their
//! household counts and 5–15 warnings, and replacing one post's linked households.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, put};
use axum::{Json, Router};
use mulin_domain::ids::{NodeId, PostId};
use mulin_domain::org::{LinkLoad, LINKED_HOUSEHOLDS};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::export::{ExportRequest, Exported};
use crate::auth::AuthUser;
use crate::error::{ErrorBody, WebError};
use crate::reps;
use crate::AppState;

/// The routes (mounted at `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/communities/{id}/representatives", get(representatives))
        .route(
            "/communities/{id}/representatives.xlsx",
            get(representatives_export),
        )
        .route(
            "/communities/{id}/representatives.csv",
            get(representatives_export),
        )
        .route("/posts/{id}/households", put(put_households))
}

/// The representatives endpoints' part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(representatives, representatives_export, put_households),
    components(schemas(Representatives, RepPostView, PostHouseholds, PostHouseholdsView)),
    tags((name = "representatives", description = "Representatives and building captains and the 5–15 households each looks after"))
)]
pub struct RepsApi;

/// A community's representative and building-captain posts.
#[derive(Serialize, ToSchema)]
pub struct Representatives {
    /// Community id.
    pub community_id: String,
    /// Community name.
    pub community: String,
    /// The fewest households a post should link (5).
    pub min_households: usize,
    /// The most households a post should link (15).
    pub max_households: usize,
    /// The posts.
    pub posts: Vec<RepPostView>,
    /// Households of the community.
    pub households: usize,
    /// Households no post links.
    pub unlinked_households: usize,
}

/// A representative or building-captain post.
#[derive(Serialize, ToSchema)]
pub struct RepPostView {
    /// Post id.
    pub id: String,
    /// `resident_representative` or `building_captain`.
    pub kind: String,
    /// The holder's name.
    pub holder_name: String,
    /// The node it is held at (a grid or building).
    pub node_id: String,
    /// That node's name.
    pub node_name: String,
    /// Linked households.
    pub households: usize,
    /// `too_few` or `too_many` when outside 5–15, absent otherwise.
    pub warning: Option<String>,
}

/// The households a post links, replacing its list.
#[derive(Deserialize, ToSchema)]
pub struct PostHouseholds {
    /// Household ids, all inside the post's community (an empty list unlinks all).
    pub household_ids: Vec<String>,
}

/// A post's links after a change.
#[derive(Serialize, ToSchema)]
pub struct PostHouseholdsView {
    /// Post id.
    pub post_id: String,
    /// Linked households.
    pub households: usize,
    /// `too_few` or `too_many` when outside 5–15, absent otherwise.
    pub warning: Option<String>,
}

fn warning(load: LinkLoad) -> Option<String> {
    (load != LinkLoad::Within).then(|| load.as_str().to_owned())
}

/// A community's representatives and building captains with their linked household
/// counts, warnings outside 5–15 and how many households nobody looks after (community
/// staff and above).
#[utoipa::path(get, path = "/api/v1/communities/{id}/representatives", tag = "representatives", security(("bearer" = [])),
    params(("id" = String, Path, description = "Community id")),
    responses((status = 200, body = Representatives), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn representatives(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Representatives>, WebError> {
    Ok(Json(overview(&state, &auth, &id).await?))
}

/// The overview the list and its export show.
async fn overview(
    state: &AppState,
    auth: &AuthUser,
    id: &str,
) -> Result<Representatives, WebError> {
    let id: NodeId = id.parse().map_err(|_| WebError::NotFound)?;
    let o = reps::overview(state, auth, id).await?;
    Ok(Representatives {
        community_id: id.to_string(),
        community: o.community.name.clone(),
        min_households: *LINKED_HOUSEHOLDS.start(),
        max_households: *LINKED_HOUSEHOLDS.end(),
        posts: o
            .posts
            .iter()
            .map(|p| RepPostView {
                id: p.post.id.to_string(),
                kind: p.post.kind.as_str().to_owned(),
                holder_name: p.post.holder_name.as_ref().to_owned(),
                node_id: p.post.node.to_string(),
                node_name: p.node_name.clone(),
                households: p.post.households.len(),
                warning: warning(p.load),
            })
            .collect(),
        households: o.households.len(),
        unlinked_households: o.unlinked.len(),
    })
}

/// No options: the export is the whole community's list.
#[derive(Deserialize)]
pub struct NoParams {}

/// A community's posts as xlsx (`…/representatives.xlsx`) or CSV (`….csv`): holder, kind,
/// place, linked households and the 5–15 warning, as the list shows them, for the same
/// callers; audited as `export.representatives`.
#[utoipa::path(get, path = "/api/v1/communities/{id}/representatives.xlsx", tag = "representatives", security(("bearer" = [])),
    params(("id" = String, Path, description = "Community id")),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn representatives_export(
    Path(id): Path<String>,
    req: ExportRequest<NoParams>,
) -> Result<Response, WebError> {
    let list = overview(&req.state, &req.auth, &id).await?;
    let rows: Vec<Vec<String>> = list
        .posts
        .into_iter()
        .map(|p| {
            vec![
                p.holder_name,
                req.tr.code("post", &p.kind),
                p.node_name,
                p.households.to_string(),
                p.warning
                    .map(|w| req.tr.code("reps.load", &w))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let what = Exported {
        file_stem: "representatives",
        action: "export.representatives",
        target: ("node", list.community_id),
        locale_prefix: "export.reps",
    };
    let detail = format!("{} 行；未联系户 {}", rows.len(), list.unlinked_households);
    let columns = [
        ("holder", 10.0),
        ("kind", 12.0),
        ("node", 16.0),
        ("households", 9.0),
        ("warning", 12.0),
    ];
    req.send(what, detail, &columns, rows).await
}

/// Replaces the households a representative or building captain links; every household
/// must lie in the post's community (community staff and above; audited).
#[utoipa::path(put, path = "/api/v1/posts/{id}/households", tag = "representatives", security(("bearer" = [])),
    params(("id" = String, Path, description = "Post id")),
    request_body = PostHouseholds,
    responses((status = 200, body = PostHouseholdsView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_households(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
    Json(input): Json<PostHouseholds>,
) -> Result<Json<PostHouseholdsView>, WebError> {
    let post: PostId = id.parse().map_err(|_| WebError::NotFound)?;
    let households = input
        .household_ids
        .iter()
        .map(|h| h.parse())
        .collect::<Result<Vec<NodeId>, _>>()
        .map_err(|_| WebError::Invalid("reps.error.household"))?;
    let (count, load) = reps::set_households(&state, &auth, post, &households).await?;
    Ok(Json(PostHouseholdsView {
        post_id: post.to_string(),
        households: count,
        warning: warning(load),
    }))
}
