//! The re-division page for community staff and above: a form that proposes a new division
//! of the community's grids, and a proposal page with its before/after figures, the
//! buildings it moves, the grids it creates and retires (and who moves with them), drawn on
//! a map beside today's division, and a confirmed "apply". The work is the API's
//! (`api::redivision::{create, load, apply_proposal}`); this page carries forms and tables.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

use super::map::{with_tiles, MapFrame};
use super::{check_form, page, with_lang, Layout};
use crate::api::redivision::{apply_proposal, community, create, load, Mode, RedivisionAsk};
use crate::auth::PageUser;
use crate::error::{PageError, WebError};
use crate::i18n::Tr;
use crate::AppState;

/// The re-division pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/communities/{id}/redivision",
            get(view_redivision_get).post(view_redivision_post),
        )
        .route(
            "/communities/{id}/redivision/{proposal}",
            get(view_proposal_get),
        )
        .route(
            "/communities/{id}/redivision/{proposal}/apply",
            post(view_apply_post),
        )
}

#[derive(Template)]
#[template(path = "redivision.html")]
struct FormPage {
    l: Layout,
    id: String,
    community: String,
    error: Option<String>,
}

/// One figure before and after.
struct Figure {
    label: String,
    before: String,
    after: String,
}

struct MoveRow {
    building_id: String,
    building: String,
    from: String,
    to: String,
    households: u64,
}

/// A grid the proposal creates.
struct NewGridRow {
    code: String,
    name: String,
    households: u64,
}

/// A grid the proposal retires, where it goes and the posts that go with it.
struct RetiredRow {
    name: String,
    successor: String,
    posts: String,
}

#[derive(Template)]
#[template(path = "redivision_proposal.html")]
struct ProposalPage {
    l: Layout,
    id: String,
    proposal: String,
    community: String,
    mode: String,
    range: String,
    figures: Vec<Figure>,
    moves: Vec<MoveRow>,
    new_grids: Vec<NewGridRow>,
    retired: Vec<RetiredRow>,
    applied: bool,
    error: Option<String>,
    frame: MapFrame,
}

/// The texts the proposal map shows (`assets/map-extra.js`).
const MAP_TEXTS: &[&str] = &[
    "redivision.map.households",
    "redivision.map.today",
    "redivision.map.boundaries.derived",
    "redivision.map.boundaries.outline",
    "map.load_failed",
];

/// A figure as shown: numbers with one decimal, yes/no for flags, a dash when absent.
fn shown(t: &Tr, v: &Value) -> String {
    match v {
        Value::Bool(b) => t
            .get(if *b {
                "redivision.yes"
            } else {
                "redivision.no"
            })
            .to_owned(),
        Value::Number(n) if n.is_f64() => format!("{:.1}", n.as_f64().unwrap_or(0.0)),
        Value::Number(n) => n.to_string(),
        _ => "—".to_owned(),
    }
}

async fn form_page(
    state: &AppState,
    user: &PageUser,
    uri: &Uri,
    id: &str,
    error: Option<String>,
) -> Result<Html<String>, WebError> {
    let node = community(state, &user.auth, id).await?;
    page(&FormPage {
        l: Layout::for_user(state, user, uri),
        id: node.path.id().to_string(),
        community: node.name,
        error,
    })
}

async fn view_redivision_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    form_page(&state, &user, &uri, &id, None)
        .await
        .map_err(with_lang(user.lang))
}

/// The form as typed: empty fields mean the API's defaults.
#[derive(serde::Deserialize)]
struct AskForm {
    mode: Mode,
    #[serde(default)]
    target_count: String,
    #[serde(default)]
    min_households: String,
    #[serde(default)]
    max_households: String,
}

impl AskForm {
    fn ask(&self) -> Result<RedivisionAsk, WebError> {
        fn number<T: std::str::FromStr>(text: &str) -> Result<Option<T>, WebError> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            text.parse()
                .map(Some)
                .map_err(|_| WebError::Invalid("redivision.error.number"))
        }
        Ok(RedivisionAsk {
            mode: self.mode,
            target_count: number(&self.target_count)?,
            min_households: number(&self.min_households)?,
            max_households: number(&self.max_households)?,
        })
    }
}

async fn view_redivision_post(
    State(state): State<AppState>,
    user: PageUser,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let lang = user.lang;
    check_form(&user, &headers, &body)?;
    let made = match serde_urlencoded::from_bytes::<AskForm>(&body) {
        Ok(form) => match form.ask() {
            Ok(ask) => create(&state, &user.auth, &id, &ask).await,
            Err(err) => Err(err),
        },
        Err(_) => Err(WebError::Invalid("redivision.error.number")),
    };
    match made {
        Ok(proposal) => Ok(Redirect::to(&format!(
            "/communities/{id}/redivision/{}",
            proposal["id"].as_str().unwrap_or_default()
        ))
        .into_response()),
        Err(err @ (WebError::Invalid(_) | WebError::BadRequest(_))) => {
            let (status, _) = err.status_and_code();
            let message = err.message(lang);
            let html = form_page(&state, &user, &uri, &id, Some(message))
                .await
                .map_err(with_lang(lang))?;
            Ok((status, html).into_response())
        }
        Err(other) => Err(with_lang(lang)(other)),
    }
}

async fn proposal_page(
    state: &AppState,
    user: &PageUser,
    uri: &Uri,
    (id, proposal): (&str, &str),
    error: Option<String>,
) -> Result<Response, WebError> {
    let body = load(state, &user.auth, id, proposal).await?;
    let l = Layout::for_user(state, user, uri);
    let figures = [
        ("grids", "redivision.fig.grids"),
        ("in_range", "redivision.fig.in_range"),
        ("min_households", "redivision.fig.min"),
        ("max_households", "redivision.fig.max"),
        ("deviation", "redivision.fig.deviation"),
        ("mean_distance_m", "redivision.fig.distance"),
        ("contiguous", "redivision.fig.contiguous"),
        ("kept_households", "redivision.fig.kept"),
    ]
    .iter()
    .map(|(field, key)| Figure {
        label: l.t.get(key).to_owned(),
        before: shown(&l.t, &body["before"][field]),
        after: shown(&l.t, &body["after"][field]),
    })
    .collect();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let moves = body["moves"]
        .as_array()
        .map_or(&[][..], |m| m.as_slice())
        .iter()
        .map(|m| MoveRow {
            building_id: text(&m["building_id"]),
            building: text(&m["building"]),
            from: text(&m["from_grid"]),
            to: text(&m["to_grid"]),
            households: m["households"].as_u64().unwrap_or(0),
        })
        .collect();
    let list = |key: &str| body[key].as_array().map_or(&[][..], |l| l.as_slice());
    let new_grids = list("new_grids")
        .iter()
        .map(|g| NewGridRow {
            code: g["code"].as_str().unwrap_or("—").to_owned(),
            name: text(&g["name"]),
            households: g["households"].as_u64().unwrap_or(0),
        })
        .collect();
    let retired = list("retired_grids")
        .iter()
        .map(|r| {
            let posts: Vec<String> = r["posts"]
                .as_array()
                .map_or(&[][..], |p| p.as_slice())
                .iter()
                .map(|p| {
                    format!(
                        "{} {}",
                        l.t.get(&format!("post.{}", text(&p["kind"]))),
                        text(&p["holder"])
                    )
                })
                .collect();
            RetiredRow {
                name: text(&r["name"]),
                successor: text(&r["successor"]),
                posts: if posts.is_empty() {
                    l.t.get("redivision.no_posts").to_owned()
                } else {
                    posts.join("、")
                },
            }
        })
        .collect();
    let html = page(&ProposalPage {
        frame: MapFrame::new(state, &l, MAP_TEXTS),
        id: text(&body["community_id"]),
        proposal: text(&body["id"]),
        community: text(&body["community"]),
        mode: l
            .t
            .get(&format!("redivision.mode.{}", text(&body["mode"])))
            .to_owned(),
        range: format!("{}–{}", body["min_households"], body["max_households"]),
        figures,
        moves,
        new_grids,
        retired,
        applied: !body["applied_at"].is_null(),
        error,
        l,
    })?;
    with_tiles(state, html)
}

async fn view_proposal_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
    Path((id, proposal)): Path<(String, String)>,
) -> Result<Response, PageError> {
    proposal_page(&state, &user, &uri, (&id, &proposal), None)
        .await
        .map_err(with_lang(user.lang))
}

async fn view_apply_post(
    State(state): State<AppState>,
    user: PageUser,
    headers: HeaderMap,
    uri: Uri,
    Path((id, proposal)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let lang = user.lang;
    check_form(&user, &headers, &body)?;
    let confirmed = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
        .unwrap_or_default()
        .iter()
        .any(|(k, v)| k == "confirm" && v == "yes");
    let outcome = if confirmed {
        apply_proposal(&state, &user.auth, &id, &proposal)
            .await
            .map(|_| ())
    } else {
        Err(WebError::Invalid("redivision.error.unconfirmed"))
    };
    match outcome {
        Ok(()) => {
            Ok(Redirect::to(&format!("/communities/{id}/redivision/{proposal}")).into_response())
        }
        // Stale, already applied or boundaries that cannot follow: the proposal again, with why.
        Err(err @ (WebError::Conflict(_) | WebError::Invalid(_))) => {
            let status: StatusCode = err.status_and_code().0;
            let message = match &err {
                WebError::Conflict(detail) => detail.clone(),
                other => other.message(lang),
            };
            let response = proposal_page(&state, &user, &uri, (&id, &proposal), Some(message))
                .await
                .map_err(with_lang(lang))?;
            Ok((status, response).into_response())
        }
        Err(other) => Err(with_lang(lang)(other)),
    }
}
