//! The representatives page: a community's representatives and building captains with
//! their loads, the households nobody looks after (by building), and a form linking and
//! unlinking one post's households. Goes through [`crate::reps`].

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use mulin_domain::ids::{NodeId, PostId};
use mulin_domain::org::LinkLoad;
use mulin_domain::tree::NodeKind;
use serde::Deserialize;

use super::{check_form, page, parse_id, with_lang, Layout};
use crate::auth::PageUser;
use crate::error::{PageError, WebError};
use crate::reps;
use crate::AppState;

/// The representatives page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/communities/{id}/representatives", get(view_reps_get))
        .route(
            "/communities/{id}/representatives/{post}",
            post(view_reps_post),
        )
}

struct PostRow {
    id: String,
    kind: String,
    holder: String,
    node: String,
    count: usize,
    warning: Option<String>,
}

struct BuildingRow {
    name: String,
    households: Vec<String>,
}

struct Choice {
    id: String,
    label: String,
    linked: bool,
}

struct Editing {
    id: String,
    title: String,
    choices: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "representatives.html")]
struct RepsPage {
    l: Layout,
    community: String,
    community_id: String,
    posts: Vec<PostRow>,
    unlinked: usize,
    buildings: Vec<BuildingRow>,
    editing: Option<Editing>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Params {
    post: Option<String>,
}

async fn reps_page(
    state: &AppState,
    user: &PageUser,
    uri: &Uri,
    id: NodeId,
    editing: Option<PostId>,
    error: Option<String>,
) -> Result<Html<String>, WebError> {
    let o = reps::overview(state, &user.auth, id).await?;
    let l = Layout::for_user(state, user, uri);
    let name = |id: Option<NodeId>| {
        id.and_then(|id| o.names.get(&id).cloned())
            .unwrap_or_default()
    };
    let mut buildings: Vec<BuildingRow> = Vec::new();
    let mut last: Option<NodeId> = None;
    // Households come in tree order, so each building's run is contiguous.
    for h in &o.unlinked {
        let building = h.path.at(NodeKind::Building);
        if last != building || buildings.is_empty() {
            buildings.push(BuildingRow {
                name: name(building),
                households: Vec::new(),
            });
            last = building;
        }
        if let Some(row) = buildings.last_mut() {
            row.households.push(h.name.clone());
        }
    }
    let editing = match editing {
        None => None,
        Some(post) => {
            let p = o
                .posts
                .iter()
                .find(|p| p.post.id == post)
                .ok_or(WebError::NotFound)?;
            let choices = o
                .households
                .iter()
                .filter(|h| {
                    // The households under the post's node, and any it links elsewhere.
                    h.path.levels().contains(&Some(p.post.node))
                        || p.post.households.contains(&h.path.id())
                })
                .map(|h| Choice {
                    id: h.path.id().to_string(),
                    label: format!("{} {}", name(h.path.at(NodeKind::Building)), h.name),
                    linked: p.post.households.contains(&h.path.id()),
                })
                .collect();
            Some(Editing {
                id: p.post.id.to_string(),
                title: format!(
                    "{} · {} · {}",
                    p.post.holder_name.as_ref(),
                    l.t.code("post", p.post.kind.as_str()),
                    p.node_name
                ),
                choices,
            })
        }
    };
    let posts = o
        .posts
        .iter()
        .map(|p| PostRow {
            id: p.post.id.to_string(),
            kind: l.t.code("post", p.post.kind.as_str()),
            holder: p.post.holder_name.as_ref().to_owned(),
            node: p.node_name.clone(),
            count: p.post.households.len(),
            warning: (p.load != LinkLoad::Within).then(|| l.t.code("reps.load", p.load.as_str())),
        })
        .collect();
    page(&RepsPage {
        community: o.community.name.clone(),
        community_id: id.to_string(),
        posts,
        unlinked: o.unlinked.len(),
        buildings,
        editing,
        error,
        l,
    })
}

async fn view_reps_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Html<String>, PageError> {
    let lang = user.lang;
    let id = parse_id(&id, lang)?;
    let editing = match params.post.as_deref() {
        Some(post) => Some(parse_id(post, lang)?),
        None => None,
    };
    reps_page(&state, &user, &uri, id, editing, None)
        .await
        .map_err(with_lang(lang))
}

async fn view_reps_post(
    State(state): State<AppState>,
    user: PageUser,
    Path((id, post)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let lang = user.lang;
    check_form(&user, &headers, &body)?;
    let id: NodeId = parse_id(&id, lang)?;
    let post: PostId = parse_id(&post, lang)?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|_| with_lang(lang)(WebError::Invalid("reps.error.household")))?;
    let households: Result<Vec<NodeId>, _> = fields
        .iter()
        .filter(|(name, _)| name == "household")
        .map(|(_, v)| v.parse())
        .collect();
    let result = match households {
        Ok(households) => reps::set_households(&state, &user.auth, post, &households).await,
        Err(_) => Err(WebError::Invalid("reps.error.household")),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/communities/{id}/representatives")).into_response()),
        Err(err @ WebError::Invalid(_)) => {
            let message = err.message(lang);
            Ok(
                reps_page(&state, &user, &uri, id, Some(post), Some(message))
                    .await
                    .map_err(with_lang(lang))?
                    .into_response(),
            )
        }
        Err(other) => Err(with_lang(lang)(other)),
    }
}
