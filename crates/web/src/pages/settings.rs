//! The map's settings pages, phone-sized: service stations (list, add by a click on the map
//! or typed coordinates, delete) for community staff and above, and the district's grid
//! rules (the "四维" score thresholds and the service-circle walk) for its administrator.
//! The work, with its access checks and audit, is the map API's (`api::map`); these pages
//! carry forms.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use mulin_domain::policy::Action;
use mulin_domain::tree::NodeKind;
use serde::Deserialize;

use super::map::{with_tiles, MapFrame};
use super::{check_form, page, with_lang, Layout};
use crate::api::map::{
    add_station, remove_station, rules_of, set_rules, stations_seen, NewStation, RulesInput,
    RulesView,
};
use crate::auth::PageUser;
use crate::error::{PageError, WebError};
use crate::AppState;

/// The settings pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/settings/stations",
            get(view_stations_get).post(view_stations_post),
        )
        .route(
            "/settings/stations/{id}/delete",
            post(view_station_delete_post),
        )
        .route(
            "/settings/grid-rules",
            get(view_grid_rules_get).post(view_grid_rules_post),
        )
}

/// A station as listed.
struct StationRow {
    id: String,
    name: String,
    kind: String,
    community: String,
    at: String,
}

/// A community a station may be added to.
struct CommunityOption {
    id: String,
    name: String,
}

#[derive(Template)]
#[template(path = "settings_stations.html")]
struct StationsPage {
    l: Layout,
    stations: Vec<StationRow>,
    communities: Vec<CommunityOption>,
    frame: MapFrame,
    error: Option<String>,
    /// What was typed, shown again after a refusal.
    form: StationForm,
}

/// The add form as typed.
#[derive(Default, Deserialize)]
struct StationForm {
    #[serde(default)]
    community_id: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    lat: String,
}

impl StationForm {
    fn station(&self) -> Result<NewStation, WebError> {
        let coordinate = |text: &str| {
            text.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or(WebError::Invalid("settings.error.position"))
        };
        Ok(NewStation {
            community_id: self.community_id.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            lon: coordinate(&self.lon)?,
            lat: coordinate(&self.lat)?,
        })
    }
}

/// The texts the station picker shows (`assets/map-extra.js`).
const PICKER_TEXTS: &[&str] = &["stations.picked", "map.load_failed"];

async fn stations_page(
    state: &AppState,
    user: &PageUser,
    uri: &Uri,
    form: StationForm,
    error: Option<String>,
) -> Result<Response, WebError> {
    let auth = &user.auth;
    let roots = auth.principal.roots(Action::ManageStations);
    if roots.is_empty() {
        return Err(WebError::Forbidden);
    }
    let mut communities = Vec::new();
    for root in &roots {
        let nodes = state
            .store
            .subtree(auth.user.district, root, NodeKind::Community)
            .await?;
        communities.extend(
            nodes
                .into_iter()
                .filter(|n| n.path.kind() == NodeKind::Community)
                .map(|n| CommunityOption {
                    id: n.path.id().to_string(),
                    name: n.name,
                }),
        );
    }
    let l = Layout::for_user(state, user, uri);
    let stations = stations_seen(state, auth)
        .await?
        .into_iter()
        .map(|(s, community)| StationRow {
            kind: l.t.get(&format!("map.station.{}", s.kind)).to_owned(),
            at: format!("{:.6}, {:.6}", s.at[0], s.at[1]),
            id: s.id,
            name: s.name,
            community,
        })
        .collect();
    let html = page(&StationsPage {
        frame: MapFrame::wgs84(state, &l, PICKER_TEXTS),
        l,
        stations,
        communities,
        error,
        form,
    })?;
    with_tiles(state, html)
}

async fn view_stations_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
) -> Result<Response, PageError> {
    stations_page(&state, &user, &uri, StationForm::default(), None)
        .await
        .map_err(with_lang(user.lang))
}

/// A refusal the user can fix, shown on the page again with what was typed; anything else
/// is the error page.
fn refusal(err: &WebError) -> bool {
    matches!(err, WebError::Invalid(_) | WebError::BadRequest(_))
}

async fn view_stations_post(
    State(state): State<AppState>,
    user: PageUser,
    headers: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let lang = user.lang;
    check_form(&user, &headers, &body)?;
    let form: StationForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let added = match form.station() {
        Ok(station) => add_station(&state, &user.auth, &station).await.map(|_| ()),
        Err(err) => Err(err),
    };
    match added {
        Ok(()) => Ok(Redirect::to("/settings/stations").into_response()),
        Err(err) if refusal(&err) => {
            let status = err.status_and_code().0;
            let message = match &err {
                WebError::BadRequest(detail) => detail.clone(),
                other => other.message(lang),
            };
            let response = stations_page(&state, &user, &uri, form, Some(message))
                .await
                .map_err(with_lang(lang))?;
            Ok((status, response).into_response())
        }
        Err(other) => Err(with_lang(lang)(other)),
    }
}

async fn view_station_delete_post(
    State(state): State<AppState>,
    user: PageUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    check_form(&user, &headers, &body)?;
    remove_station(&state, &user.auth, &id)
        .await
        .map_err(with_lang(user.lang))?;
    Ok(Redirect::to("/settings/stations").into_response())
}

/// One rule as a form field: its name, label and value as shown.
struct RuleField {
    name: &'static str,
    label: String,
    value: String,
    /// The `step` of the number input.
    step: &'static str,
}

#[derive(Template)]
#[template(path = "settings_grid_rules.html")]
struct RulesPage {
    l: Layout,
    fields: Vec<RuleField>,
    is_default: bool,
    placeholders: Vec<String>,
    error: Option<String>,
    saved: bool,
}

/// The rules' fields in form order: name, locale key, `step`.
const RULE_FIELDS: [(&str, &str, &str); 10] = [
    ("households_over", "settings.rules.households_over", "1"),
    ("large_area_km2", "settings.rules.large_area_km2", "any"),
    (
        "special_share_over",
        "settings.rules.special_share_over",
        "any",
    ),
    (
        "reference_area_km2",
        "settings.rules.reference_area_km2",
        "any",
    ),
    (
        "reference_density",
        "settings.rules.reference_density",
        "any",
    ),
    (
        "reference_special_share",
        "settings.rules.reference_special_share",
        "any",
    ),
    ("reference_places", "settings.rules.reference_places", "any"),
    ("walk_minutes", "settings.rules.walk_minutes", "any"),
    ("walk_speed_kmh", "settings.rules.walk_speed_kmh", "any"),
    ("detour_factor", "settings.rules.detour_factor", "any"),
];

/// The value of each rule as the form shows it, in [`RULE_FIELDS`] order.
fn rule_values(view: &RulesView) -> [String; 10] {
    [
        view.households_over.to_string(),
        view.large_area_km2.to_string(),
        view.special_share_over.to_string(),
        view.reference_area_km2.to_string(),
        view.reference_density.to_string(),
        view.reference_special_share.to_string(),
        view.reference_places.to_string(),
        view.walk_minutes.to_string(),
        view.walk_speed_kmh.to_string(),
        view.detour_factor.to_string(),
    ]
}

fn rules_page(
    l: Layout,
    view: &RulesView,
    typed: Option<&[(String, String)]>,
    error: Option<String>,
    saved: bool,
) -> Result<Response, WebError> {
    let stored = rule_values(view);
    let fields = RULE_FIELDS
        .iter()
        .zip(stored)
        .map(|(&(name, key, step), value)| RuleField {
            name,
            label: l.t.get(key).to_owned(),
            // After a refusal, what was typed; else the rule in force.
            value: typed
                .and_then(|pairs| pairs.iter().find(|(k, _)| k == name))
                .map_or(value, |(_, v)| v.clone()),
            step,
        })
        .collect();
    let placeholders = view
        .placeholders
        .iter()
        .map(|p| l.t.get(&format!("settings.rules.{p}")).to_owned())
        .collect();
    Ok(page(&RulesPage {
        l,
        fields,
        is_default: view.is_default,
        placeholders,
        error,
        saved,
    })?
    .into_response())
}

#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

async fn view_grid_rules_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
    axum::extract::Query(query): axum::extract::Query<SavedQuery>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    let view = rules_of(&state, &user.auth)
        .await
        .map_err(with_lang(lang))?;
    rules_page(
        Layout::for_user(&state, &user, &uri),
        &view,
        None,
        None,
        query.saved.is_some(),
    )
    .map_err(with_lang(lang))
}

/// The rules as typed: every field a number.
fn parse_rules(pairs: &[(String, String)]) -> Result<RulesInput, WebError> {
    let number = |name: &str| -> Result<f64, WebError> {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite())
            .ok_or(WebError::Invalid("settings.error.number"))
    };
    let households = number("households_over")?;
    if households.fract() != 0.0 {
        return Err(WebError::Invalid("settings.error.number"));
    }
    Ok(RulesInput {
        households_over: households as i64,
        large_area_km2: number("large_area_km2")?,
        special_share_over: number("special_share_over")?,
        reference_area_km2: number("reference_area_km2")?,
        reference_density: number("reference_density")?,
        reference_special_share: number("reference_special_share")?,
        reference_places: number("reference_places")?,
        walk_minutes: number("walk_minutes")?,
        walk_speed_kmh: number("walk_speed_kmh")?,
        detour_factor: number("detour_factor")?,
    })
}

async fn view_grid_rules_post(
    State(state): State<AppState>,
    user: PageUser,
    headers: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let lang = user.lang;
    check_form(&user, &headers, &body)?;
    // Only the administrator gets as far as the form's contents.
    let view = rules_of(&state, &user.auth)
        .await
        .map_err(with_lang(lang))?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let saved = match parse_rules(&pairs) {
        Ok(input) => set_rules(&state, &user.auth, &input).await.map(|_| ()),
        Err(err) => Err(err),
    };
    match saved {
        Ok(()) => Ok(Redirect::to("/settings/grid-rules?saved=1").into_response()),
        Err(err) if refusal(&err) => {
            let status: StatusCode = err.status_and_code().0;
            let message = match &err {
                WebError::BadRequest(detail) => detail.clone(),
                other => other.message(lang),
            };
            let response = rules_page(
                Layout::for_user(&state, &user, &uri),
                &view,
                Some(&pairs),
                Some(message),
                false,
            )
            .map_err(with_lang(lang))?;
            Ok((status, response).into_response())
        }
        Err(other) => Err(with_lang(lang)(other)),
    }
}
