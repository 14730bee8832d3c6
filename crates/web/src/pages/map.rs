//! The map page: the grids under a node drawn with Leaflet from the binary, coloured by a
//! chosen measure, with buildings, open requests, service stations and the service circle
//! over them, and a grid's panel on a click. The page is a frame; `assets/map.js` loads
//! everything from the map API with the caller's session.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_SECURITY_POLICY;
use axum::http::{HeaderValue, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use mulin_domain::policy::Action;
use serde::Deserialize;

use super::{page, with_lang, Layout};
use crate::auth::PageUser;
use crate::error::{PageError, WebError};
use crate::map::MapCrs;
use crate::AppState;

/// The map page route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/map", get(view_map_get))
}

#[derive(Deserialize)]
struct MapQuery {
    under: Option<String>,
}

#[derive(Template)]
#[template(path = "map.html")]
struct MapPage {
    l: Layout,
    scope_name: String,
    under: String,
    frame: MapFrame,
    can_manage_stations: bool,
    can_set_rules: bool,
}

/// What a page's map element carries (`data-crs`, `data-tile-url`, `data-attribution`,
/// `data-text`): the configured tiles and the script's texts.
pub(crate) struct MapFrame {
    pub(crate) crs: &'static str,
    pub(crate) tile_url: String,
    pub(crate) attribution: String,
    /// The script's texts as JSON, from the locale files.
    pub(crate) text_json: String,
}

impl MapFrame {
    /// The configured tiles, with the texts of `keys` in the page's language.
    pub(crate) fn new(state: &AppState, l: &Layout, keys: &[&str]) -> MapFrame {
        let text: serde_json::Map<String, serde_json::Value> = keys
            .iter()
            .map(|key| ((*key).to_owned(), l.t.get(key).into()))
            .collect();
        let settings = &state.settings.map;
        MapFrame {
            crs: settings.crs.as_str(),
            tile_url: settings.tile_url.clone().unwrap_or_default(),
            attribution: settings.attribution.clone(),
            text_json: serde_json::Value::Object(text).to_string(),
        }
    }

    /// Like [`MapFrame::new`], but without tiles unless they are in WGS-84: for maps whose
    /// clicks must give WGS-84 points.
    pub(crate) fn wgs84(state: &AppState, l: &Layout, keys: &[&str]) -> MapFrame {
        let mut frame = MapFrame::new(state, l, keys);
        if frame.crs != MapCrs::Wgs84.as_str() {
            frame.crs = MapCrs::Wgs84.as_str();
            frame.tile_url.clear();
            frame.attribution.clear();
        }
        frame
    }
}

/// A page with a map: tiles come from the configured server, so the Content-Security-Policy
/// lets images come from there; everything else stays same-origin.
pub(crate) fn with_tiles(state: &AppState, html: Html<String>) -> Result<Response, WebError> {
    let mut response = html.into_response();
    if let Some(origin) = state.settings.map.tile_origin() {
        let policy = format!(
            "default-src 'self'; img-src 'self' data: {origin}; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"
        );
        let value =
            HeaderValue::from_str(&policy).map_err(|err| WebError::Internal(Box::new(err)))?;
        response
            .headers_mut()
            .insert(CONTENT_SECURITY_POLICY, value);
    }
    Ok(response)
}

/// The texts `map.js` shows, by the key it looks them up with.
const SCRIPT_TEXTS: &[&str] = &[
    "map.measure.households",
    "map.measure.density",
    "map.measure.special_share",
    "map.measure.open_requests",
    "map.measure.score",
    "map.panel.households",
    "map.panel.residents",
    "map.panel.special_groups",
    "map.panel.elderly",
    "map.panel.workers",
    "map.panel.no_worker",
    "map.panel.open_requests",
    "map.panel.buildings",
    "map.panel.area",
    "map.panel.density",
    "map.panel.score",
    "map.panel.suggest_part_time",
    "map.panel.no_suggestion",
    "map.panel.uncovered",
    "map.reason.many_households",
    "map.reason.large_area",
    "map.reason.many_special_groups",
    "map.employment.full_time",
    "map.employment.part_time",
    "map.station.party_service",
    "map.station.convenience",
    "map.circle.summary",
    "map.load_failed",
    "map.no_grids",
];

async fn view_map_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
    Query(query): Query<MapQuery>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    let scopes = crate::map::scopes(&state, &user.auth, Action::ViewMap, query.under.as_deref())
        .await
        .map_err(with_lang(lang))?;
    // One scope: the map is of it. Several (grants side by side): of the whole district,
    // which the API narrows to them.
    let (under, scope_name) = match scopes.as_slice() {
        [one] => {
            let node = state
                .store
                .node(user.auth.user.district, one.id())
                .await
                .map_err(|e| with_lang(lang)(e.into()))?;
            (node.path.id().to_string(), node.name)
        }
        _ => (String::new(), String::new()),
    };
    let l = Layout::for_user(&state, &user, &uri);
    let html = page(&MapPage {
        can_manage_stations: scopes
            .iter()
            .any(|s| user.auth.principal.allows(Action::ManageStations, s)),
        can_set_rules: user.auth.principal.allows_anywhere(Action::SetGridRules),
        frame: MapFrame::new(&state, &l, SCRIPT_TEXTS),
        l,
        scope_name,
        under,
    })
    .map_err(with_lang(lang))?;
    with_tiles(&state, html).map_err(with_lang(lang))
}
