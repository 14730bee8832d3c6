//! The map's API: a grid's panel, the points drawn over the grids (buildings, open
//! requests, service stations), service stations themselves, the district's grid rules,
//! and the 15-minute service circle of seed 000.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use axum::{Json, Router};
use mulin_domain::ids::NodeId;
use mulin_domain::org::PostKind;
use mulin_domain::policy::Action;
use mulin_domain::station::StationKind;
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_geo::walk::{ServiceCircle, WalkRules};
use mulin_geo::{GridFacts, GridRules, ScoreRules};
use mulin_storage::{LonLat, Place, RequestFilter, RequestOrder, StationRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::AuthUser;
use crate::error::{ErrorBody, WebError};
use crate::i18n::{Lang, Tr};
use crate::map::{grid_rules, scopes, MapCrs};
use crate::AppState;

/// The routes (mounted at `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/grids/{id}/panel", get(panel))
        .route("/map/layers", get(layers))
        .route("/stations", get(list_stations).post(create_station))
        .route("/stations/{id}", delete(delete_station))
        .route("/grid-score-rules", get(get_rules).put(put_rules))
        .route("/service-circle", get(service_circle))
}

/// The map endpoints' part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(panel, layers, list_stations, create_station, delete_station, get_rules, put_rules, service_circle),
    components(schemas(Panel, WorkerView, MapLayers, BuildingPoint, RequestPoint, StationView, NewStation, RulesView, RulesInput, CircleReport, CircleGrid, UncoveredHousehold, UncoveredBuilding, MapCrs)),
    tags((name = "map", description = "The map: grid panels, stations, grid rules, the 15-minute service circle"))
)]
pub struct MapApi;

/// The most open requests a panel counts and the map draws.
const MAX_REQUESTS: u32 = 200;

/// A grid's panel: its figures, workers, open requests and "四维" score.
#[derive(Serialize, ToSchema)]
pub struct Panel {
    /// Grid id.
    pub id: String,
    /// Division code.
    pub code: Option<String>,
    /// Name.
    pub name: String,
    /// Resident households.
    pub households: i64,
    /// Residents.
    pub residents: i64,
    /// Residents in a special group (65+ included).
    pub special_groups: i64,
    /// Residents aged 65 or over.
    pub elderly: i64,
    /// The grid's workers.
    pub workers: Vec<WorkerView>,
    /// Open requests at places in the grid (counted up to 200).
    pub open_requests: usize,
    /// Whether there are more than counted.
    pub open_requests_more: bool,
    /// Buildings.
    pub buildings: i64,
    /// Places (units).
    pub places: i64,
    /// Area, km².
    pub area_km2: f64,
    /// Residents per km².
    pub density: f64,
    /// Share of residents in a special group.
    pub special_share: f64,
    /// Indices against the reference grid: area, density, special groups, places.
    pub indices: [f64; 4],
    /// Mean of the indices (1.0 = the reference grid).
    pub score: f64,
    /// Whether a part-time worker is suggested.
    pub part_time_suggested: bool,
    /// Why: `many_households`, `large_area`, `many_special_groups`.
    pub part_time_reasons: Vec<String>,
    /// The thresholds applied (the district's rules).
    pub rules: RulesView,
}

/// A grid worker.
#[derive(Serialize, ToSchema)]
pub struct WorkerView {
    /// Name.
    pub name: String,
    /// `full_time` or `part_time` (absent when not recorded).
    pub employment: Option<String>,
}

/// A grid's panel: households, residents, special groups, workers, open requests and its
/// "四维" score with the staffing suggestion, under the district's grid rules.
#[utoipa::path(get, path = "/api/v1/grids/{id}/panel", tag = "map", security(("bearer" = [])),
    params(("id" = String, Path, description = "Grid id")),
    responses((status = 200, body = Panel), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn panel(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Panel>, WebError> {
    let district = auth.user.district;
    let id: NodeId = id.parse().map_err(|_| WebError::NotFound)?;
    let grid = state.store.node(district, id).await?;
    if grid.path.kind() != NodeKind::Grid || !auth.principal.allows(Action::ViewTree, &grid.path) {
        return Err(WebError::NotFound);
    }
    if !auth.principal.allows(Action::ViewMap, &grid.path) {
        return Err(WebError::Forbidden);
    }
    let rules = grid_rules(&state, district).await?;
    let counts = state
        .store
        .counts(district, &grid.path, state.clock.today())
        .await?;
    let buildings = state
        .store
        .subtree(district, &grid.path, NodeKind::Building)
        .await?
        .iter()
        .filter(|n| n.path.kind() == NodeKind::Building)
        .count() as i64;
    let places = state
        .store
        .units(district, Place::Within(&grid.path))
        .await?
        .len() as i64;
    let workers = state
        .store
        .posts(district, Place::At(&grid.path))
        .await?
        .into_iter()
        .filter(|p| p.kind == PostKind::GridWorker)
        .map(|p| WorkerView {
            name: p.holder_name.as_ref().to_owned(),
            employment: p.employment.map(|e| e.as_str().to_owned()),
        })
        .collect();
    let requests = if auth.principal.allows(Action::ViewRequests, &grid.path) {
        state
            .store
            .search_requests(district, &[grid.path], &open_filter())
            .await?
    } else {
        mulin_storage::Page {
            items: Vec::new(),
            page: 1,
            per_page: MAX_REQUESTS,
            has_more: false,
        }
    };
    let area_m2 = grid
        .geometry
        .as_deref()
        .and_then(|t| mulin_geo::parse_geometry(t).ok())
        .as_ref()
        .map_or(0.0, mulin_geo::tiling::area_m2);
    let score = mulin_geo::score(
        &GridFacts {
            area_m2,
            households: counts.households,
            residents: counts.residents,
            special_groups: counts.special_groups,
            buildings,
            places,
        },
        &rules.score,
    );
    Ok(Json(Panel {
        id: grid.path.id().to_string(),
        code: grid.code,
        name: grid.name,
        households: counts.households,
        residents: counts.residents,
        special_groups: counts.special_groups,
        elderly: counts.elderly,
        workers,
        open_requests: requests.items.len(),
        open_requests_more: requests.has_more,
        buildings,
        places,
        area_km2: score.area_km2,
        density: score.density,
        special_share: score.special_share,
        indices: score.indices,
        score: score.score,
        part_time_suggested: score.suggests_part_time(),
        part_time_reasons: score
            .part_time_reasons
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect(),
        rules: RulesView::new(&rules, true),
    }))
}

fn open_filter() -> RequestFilter {
    RequestFilter {
        open_only: true,
        status: None,
        submitted_by: None,
        whistle_liaison: None,
        order: RequestOrder::Newest,
        page: 1,
        per_page: MAX_REQUESTS,
    }
}

/// Where and in which coordinate system.
#[derive(Deserialize, IntoParams)]
pub struct LayerParams {
    /// Only below this node (default: everything the caller may see).
    pub under: Option<String>,
    /// The coordinate system of the answer: `wgs84` (default) or `gcj02`.
    pub crs: Option<MapCrs>,
}

/// A building on the map.
#[derive(Serialize, ToSchema)]
pub struct BuildingPoint {
    /// Building id.
    pub id: String,
    /// Its name with its compound's, e.g. "阳光小区3号楼".
    pub name: String,
    /// Its grid.
    pub grid_id: Option<String>,
    /// Households in it.
    pub households: usize,
    /// `[longitude, latitude]` in the requested system.
    pub at: [f64; 2],
}

/// An open request on the map.
#[derive(Serialize, ToSchema)]
pub struct RequestPoint {
    /// Request id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Status code.
    pub status: String,
    /// Its grid.
    pub grid_id: Option<String>,
    /// `[longitude, latitude]` in the requested system.
    pub at: [f64; 2],
}

/// A service station.
#[derive(Serialize, ToSchema)]
pub struct StationView {
    /// Station id.
    pub id: String,
    /// The community it belongs to.
    pub community_id: String,
    /// `party_service` (党群服务站) or `convenience` (便民服务站).
    pub kind: String,
    /// Name.
    pub name: String,
    /// `[longitude, latitude]` (WGS-84 unless another system was asked for).
    pub at: [f64; 2],
}

impl StationView {
    fn new(s: &StationRecord, crs: MapCrs) -> StationView {
        StationView {
            id: s.id.to_string(),
            community_id: s.community.to_string(),
            kind: s.kind.as_str().to_owned(),
            name: s.name.clone(),
            at: crs.convert([s.position.lon, s.position.lat]),
        }
    }
}

/// What the map draws over the grids.
#[derive(Serialize, ToSchema)]
pub struct MapLayers {
    /// The coordinate system of every `at`.
    pub crs: MapCrs,
    /// Buildings with a position.
    pub buildings: Vec<BuildingPoint>,
    /// Open requests with a position (the newest 200 per scope), for callers who may see
    /// requests.
    pub requests: Vec<RequestPoint>,
    /// Service stations of the communities in scope.
    pub stations: Vec<StationView>,
}

/// The points the map draws over the grids under a node: buildings, open requests and
/// service stations, in WGS-84 or (for Chinese tiles) GCJ-02.
#[utoipa::path(get, path = "/api/v1/map/layers", tag = "map", params(LayerParams), security(("bearer" = [])),
    responses((status = 200, body = MapLayers), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn layers(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<LayerParams>,
) -> Result<Json<MapLayers>, WebError> {
    let district = auth.user.district;
    let crs = params.crs.unwrap_or_default();
    let scopes = scopes(&state, &auth, Action::ViewMap, params.under.as_deref()).await?;
    let mut out = MapLayers {
        crs,
        buildings: Vec::new(),
        requests: Vec::new(),
        stations: Vec::new(),
    };
    let mut building_at: HashMap<NodeId, [f64; 2]> = HashMap::new();
    for scope in &scopes {
        let nodes = state
            .store
            .subtree(district, scope, NodeKind::Household)
            .await?;
        let names: HashMap<NodeId, &str> = nodes
            .iter()
            .map(|n| (n.path.id(), n.name.as_str()))
            .collect();
        let mut households: HashMap<NodeId, usize> = HashMap::new();
        for n in nodes
            .iter()
            .filter(|n| n.path.kind() == NodeKind::Household)
        {
            if let Some(building) = n.path.at(NodeKind::Building) {
                *households.entry(building).or_default() += 1;
            }
        }
        for n in nodes.iter().filter(|n| n.path.kind() == NodeKind::Building) {
            let Some(p) = n.position else { continue };
            let compound = n
                .path
                .at(NodeKind::Compound)
                .and_then(|c| names.get(&c).copied())
                .unwrap_or("");
            building_at.insert(n.path.id(), [p.lon, p.lat]);
            out.buildings.push(BuildingPoint {
                id: n.path.id().to_string(),
                name: format!("{compound}{}", n.name),
                grid_id: n.path.at(NodeKind::Grid).map(|g| g.to_string()),
                households: households.get(&n.path.id()).copied().unwrap_or(0),
                at: crs.convert([p.lon, p.lat]),
            });
        }
        if auth.principal.allows(Action::ViewRequests, scope) {
            let page = state
                .store
                .search_requests(district, &[*scope], &open_filter())
                .await?;
            for r in page.items {
                let at = r.position.map(|p| [p.lon, p.lat]).or_else(|| {
                    r.place
                        .at(NodeKind::Building)
                        .and_then(|b| building_at.get(&b).copied())
                });
                let Some(at) = at else { continue };
                out.requests.push(RequestPoint {
                    id: r.id.to_string(),
                    title: r.title,
                    status: r.state.status.as_str().to_owned(),
                    grid_id: r.place.at(NodeKind::Grid).map(|g| g.to_string()),
                    at: crs.convert(at),
                });
            }
        }
    }
    out.stations = visible_stations(&state, &auth, &scopes)
        .await?
        .iter()
        .map(|(s, _)| StationView::new(s, crs))
        .collect();
    Ok(Json(out))
}

/// The district's stations whose community lies in one of `scopes` (or contains one: a
/// grid worker sees the stations of the grid's community), each with its community.
async fn visible_stations(
    state: &AppState,
    auth: &AuthUser,
    scopes: &[NodePath],
) -> Result<Vec<(StationRecord, NodePath)>, WebError> {
    let district = auth.user.district;
    let mut out = Vec::new();
    let mut communities: HashMap<NodeId, Option<NodePath>> = HashMap::new();
    for station in state.store.stations(district).await? {
        if let std::collections::hash_map::Entry::Vacant(slot) =
            communities.entry(station.community)
        {
            slot.insert(match state.store.node(district, station.community).await {
                Ok(node) => Some(node.path),
                Err(mulin_storage::StoreError::NotFound) => None,
                Err(other) => return Err(other.into()),
            });
        }
        let Some(Some(community)) = communities.get(&station.community).copied() else {
            continue;
        };
        let seen = scopes.iter().any(|scope| {
            community.is_within(scope.kind(), scope.id())
                || scope.at(NodeKind::Community) == Some(community.id())
        });
        if seen {
            out.push((station, community));
        }
    }
    Ok(out)
}

/// Which stations.
#[derive(Deserialize, IntoParams)]
pub struct UnderParams {
    /// Only below this node (default: everything the caller may see).
    pub under: Option<String>,
}

/// The service stations of the communities under a node (WGS-84).
#[utoipa::path(get, path = "/api/v1/stations", tag = "map", params(UnderParams), security(("bearer" = [])),
    responses((status = 200, body = [StationView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_stations(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<UnderParams>,
) -> Result<Json<Vec<StationView>>, WebError> {
    let scopes = scopes(&state, &auth, Action::ViewMap, params.under.as_deref()).await?;
    Ok(Json(
        visible_stations(&state, &auth, &scopes)
            .await?
            .iter()
            .map(|(s, _)| StationView::new(s, MapCrs::Wgs84))
            .collect(),
    ))
}

/// The stations the caller sees (as `GET /stations` without `under`), each with its
/// community's name: the API's and the settings page's work.
pub(crate) async fn stations_seen(
    state: &AppState,
    auth: &AuthUser,
) -> Result<Vec<(StationView, String)>, WebError> {
    let scopes = scopes(state, auth, Action::ViewMap, None).await?;
    let mut out = Vec::new();
    for (station, community) in visible_stations(state, auth, &scopes).await? {
        let name = state
            .store
            .node(auth.user.district, community.id())
            .await?
            .name;
        out.push((StationView::new(&station, MapCrs::Wgs84), name));
    }
    Ok(out)
}

/// A station to record.
#[derive(Deserialize, ToSchema)]
pub struct NewStation {
    /// The community it belongs to.
    pub community_id: String,
    /// `party_service` (党群服务站) or `convenience` (便民服务站).
    pub kind: String,
    /// Name, 1–100 characters.
    pub name: String,
    /// Longitude (WGS-84).
    pub lon: f64,
    /// Latitude (WGS-84).
    pub lat: f64,
}

fn bad(key: &str) -> WebError {
    WebError::BadRequest(Tr::new(Lang::ZhCn).get(key).to_owned())
}

/// Records a service station under a community (community staff and above; audited).
#[utoipa::path(post, path = "/api/v1/stations", tag = "map", request_body = NewStation, security(("bearer" = [])),
    responses((status = 201, body = StationView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn create_station(
    State(state): State<AppState>,
    auth: AuthUser,
    Json(input): Json<NewStation>,
) -> Result<impl IntoResponse, WebError> {
    let station = add_station(&state, &auth, &input).await?;
    Ok((StatusCode::CREATED, Json(station)))
}

/// Records a station (see [`create_station`]); the API's and the settings page's work.
pub(crate) async fn add_station(
    state: &AppState,
    auth: &AuthUser,
    input: &NewStation,
) -> Result<StationView, WebError> {
    let district = auth.user.district;
    let id: NodeId = input.community_id.parse().map_err(|_| WebError::NotFound)?;
    let community = state.store.node(district, id).await?;
    if !auth.principal.allows(Action::ViewTree, &community.path) {
        return Err(WebError::NotFound);
    }
    if !auth
        .principal
        .allows(Action::ManageStations, &community.path)
    {
        return Err(WebError::Forbidden);
    }
    if community.path.kind() != NodeKind::Community {
        return Err(bad("map.error.not_community"));
    }
    let kind = StationKind::parse(&input.kind).map_err(|_| bad("map.error.station_kind"))?;
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(bad("map.error.station_name"));
    }
    let in_range = (-180.0..=180.0).contains(&input.lon) && (-90.0..=90.0).contains(&input.lat);
    if !in_range {
        return Err(bad("map.error.position"));
    }
    let station = StationRecord {
        district,
        id: uuid::Uuid::now_v7(),
        community: community.path.id(),
        kind,
        name: name.to_owned(),
        position: LonLat {
            lon: input.lon,
            lat: input.lat,
        },
        created_at: state.clock.now(),
    };
    let audit = entry(
        state,
        auth,
        "station.create",
        &station.id.to_string(),
        format!(
            "{} {} @ {} ({:.6}, {:.6})",
            station.name,
            kind.as_str(),
            community.name,
            input.lon,
            input.lat
        ),
    );
    state.store.insert_station(&station, &audit).await?;
    Ok(StationView::new(&station, MapCrs::Wgs84))
}

fn entry(
    state: &AppState,
    auth: &AuthUser,
    action: &str,
    target: &str,
    detail: String,
) -> mulin_storage::AuditEntry {
    mulin_storage::AuditEntry {
        id: uuid::Uuid::now_v7(),
        district: auth.user.district,
        at: state.clock.now(),
        user_id: Some(auth.user.id),
        username: auth.user.username.clone(),
        action: action.to_owned(),
        target_kind: if action.starts_with("station") {
            "station".into()
        } else {
            "district".into()
        },
        target_id: target.to_owned(),
        ip: auth.ip.clone(),
        detail,
    }
}

/// Removes a service station (community staff and above; audited).
#[utoipa::path(delete, path = "/api/v1/stations/{id}", tag = "map", security(("bearer" = [])),
    params(("id" = String, Path, description = "Station id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_station(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, WebError> {
    remove_station(&state, &auth, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes station `id` (see [`delete_station`]); the API's and the settings page's work.
pub(crate) async fn remove_station(
    state: &AppState,
    auth: &AuthUser,
    id: &str,
) -> Result<(), WebError> {
    let district = auth.user.district;
    let id: uuid::Uuid = id.parse().map_err(|_| WebError::NotFound)?;
    let station = state
        .store
        .stations(district)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or(WebError::NotFound)?;
    let community = state.store.node(district, station.community).await?;
    if !auth.principal.allows(Action::ViewTree, &community.path) {
        return Err(WebError::NotFound);
    }
    if !auth
        .principal
        .allows(Action::ManageStations, &community.path)
    {
        return Err(WebError::Forbidden);
    }
    let audit = entry(
        state,
        auth,
        "station.delete",
        &id.to_string(),
        format!("{} @ {}", station.name, community.name),
    );
    state.store.delete_station(district, id, &audit).await?;
    Ok(())
}

/// The district's grid rules.
#[derive(Serialize, ToSchema)]
pub struct RulesView {
    /// More households than this suggest a part-time worker (seed 002: 400).
    pub households_over: i64,
    /// A larger area (km²) suggests a part-time worker.
    pub large_area_km2: f64,
    /// A larger share of special-group residents suggests a part-time worker.
    pub special_share_over: f64,
    /// Reference area, km² (index 1.0).
    pub reference_area_km2: f64,
    /// Reference density, residents per km².
    pub reference_density: f64,
    /// Reference special-group share.
    pub reference_special_share: f64,
    /// Reference buildings plus places.
    pub reference_places: f64,
    /// The service-circle walk, minutes (seed 000: 15).
    pub walk_minutes: f64,
    /// Walking speed, km/h (4.5).
    pub walk_speed_kmh: f64,
    /// Walked over straight-line distance.
    pub detour_factor: f64,
    /// The straight-line reach of the walk, metres.
    pub reach_m: f64,
    /// Whether the district has set no rules yet (these are the defaults).
    pub is_default: bool,
    /// The fields still at a placeholder default no source fixes (seed 002 names 400
    /// households but no area or special-group figure; the detour factor is unmeasured).
    pub placeholders: Vec<String>,
}

impl RulesView {
    fn new(rules: &GridRules, is_default: bool) -> RulesView {
        let (s, w) = (&rules.score, &rules.walk);
        let (ds, dw) = (ScoreRules::default(), WalkRules::default());
        let placeholders = [
            ("large_area_km2", s.large_area_km2 == ds.large_area_km2),
            (
                "special_share_over",
                s.special_share_over == ds.special_share_over,
            ),
            ("detour_factor", w.detour_factor == dw.detour_factor),
        ]
        .into_iter()
        .filter(|(_, still)| *still)
        .map(|(name, _)| name.to_owned())
        .collect();
        RulesView {
            households_over: s.households_over,
            large_area_km2: s.large_area_km2,
            special_share_over: s.special_share_over,
            reference_area_km2: s.reference_area_km2,
            reference_density: s.reference_density,
            reference_special_share: s.reference_special_share,
            reference_places: s.reference_places,
            walk_minutes: w.minutes,
            walk_speed_kmh: w.speed_kmh,
            detour_factor: w.detour_factor,
            reach_m: w.reach_m(),
            is_default,
            placeholders,
        }
    }
}

/// New grid rules: every value, replacing the old ones.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesInput {
    /// More households than this suggest a part-time worker.
    pub households_over: i64,
    /// A larger area (km²) suggests a part-time worker.
    pub large_area_km2: f64,
    /// A larger special-group share (0–1) suggests a part-time worker.
    pub special_share_over: f64,
    /// Reference area, km².
    pub reference_area_km2: f64,
    /// Reference density, residents per km².
    pub reference_density: f64,
    /// Reference special-group share (0–1).
    pub reference_special_share: f64,
    /// Reference buildings plus places.
    pub reference_places: f64,
    /// The walk, minutes.
    pub walk_minutes: f64,
    /// Walking speed, km/h.
    pub walk_speed_kmh: f64,
    /// Walked over straight-line distance, at least 1.
    pub detour_factor: f64,
}

/// Only the district's administrator sets (and reads) its grid rules.
fn require_admin(auth: &AuthUser) -> Result<(), WebError> {
    let root = NodePath::root(auth.user.district.into());
    if auth.principal.allows(Action::SetGridRules, &root) {
        Ok(())
    } else {
        Err(WebError::Forbidden)
    }
}

/// The district's grid rules: the "四维" score thresholds and reference values, and the
/// service-circle walk (district administrator only).
#[utoipa::path(get, path = "/api/v1/grid-score-rules", tag = "map", security(("bearer" = [])),
    responses((status = 200, body = RulesView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn get_rules(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<RulesView>, WebError> {
    rules_of(&state, &auth).await.map(Json)
}

/// The district's grid rules, for its administrator (see [`get_rules`]); the API's and the
/// settings page's work.
pub(crate) async fn rules_of(state: &AppState, auth: &AuthUser) -> Result<RulesView, WebError> {
    require_admin(auth)?;
    let stored = state.store.grid_rules(auth.user.district).await?;
    Ok(RulesView::new(
        &stored.unwrap_or_default(),
        stored.is_none(),
    ))
}

/// Replaces the district's grid rules (district administrator only; audited). Values that
/// are not positive, shares over 1 or a detour factor under 1 are refused with 400.
#[utoipa::path(put, path = "/api/v1/grid-score-rules", tag = "map", request_body = RulesInput, security(("bearer" = [])),
    responses((status = 200, body = RulesView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn put_rules(
    State(state): State<AppState>,
    auth: AuthUser,
    Json(input): Json<RulesInput>,
) -> Result<Json<RulesView>, WebError> {
    set_rules(&state, &auth, &input).await.map(Json)
}

/// Replaces the district's grid rules (see [`put_rules`]); the API's and the settings
/// page's work.
pub(crate) async fn set_rules(
    state: &AppState,
    auth: &AuthUser,
    input: &RulesInput,
) -> Result<RulesView, WebError> {
    require_admin(auth)?;
    let rules = GridRules {
        score: ScoreRules {
            households_over: input.households_over,
            large_area_km2: input.large_area_km2,
            special_share_over: input.special_share_over,
            reference_area_km2: input.reference_area_km2,
            reference_density: input.reference_density,
            reference_special_share: input.reference_special_share,
            reference_places: input.reference_places,
        },
        walk: WalkRules {
            minutes: input.walk_minutes,
            speed_kmh: input.walk_speed_kmh,
            detour_factor: input.detour_factor,
        },
    };
    rules.validate().map_err(|err| {
        bad(match err {
            mulin_geo::GridRulesError::Score => "map.error.score_rules",
            mulin_geo::GridRulesError::Walk(_) => "map.error.walk_rules",
        })
    })?;
    let view = RulesView::new(&rules, false);
    let detail = serde_json::to_string(&view).unwrap_or_default();
    let audit = entry(
        state,
        auth,
        "grid_rules.set",
        &auth.user.district.to_string(),
        detail,
    );
    state
        .store
        .set_grid_rules(auth.user.district, &rules, state.clock.now(), &audit)
        .await?;
    Ok(view)
}

/// Who the 15-minute service circle reaches, per grid.
#[derive(Serialize, ToSchema)]
pub struct CircleReport {
    /// The walk: minutes, km/h, detour factor, and its straight-line reach in metres.
    pub rules: RulesView,
    /// Stations counted (every station of the district: a station serves across
    /// community lines).
    pub stations: usize,
    /// Households within reach.
    pub covered: usize,
    /// Households out of reach.
    pub uncovered: usize,
    /// Households without a position (neither theirs nor their building's).
    pub unlocated: usize,
    /// Per grid, in tree order.
    pub grids: Vec<CircleGrid>,
}

/// One grid's part of the circle.
#[derive(Serialize, ToSchema)]
pub struct CircleGrid {
    /// Grid id.
    pub id: String,
    /// Division code.
    pub code: Option<String>,
    /// Name.
    pub name: String,
    /// Households within reach.
    pub covered: usize,
    /// Households out of reach.
    pub uncovered: usize,
    /// The households out of reach, by address (no personal data).
    pub uncovered_households: Vec<UncoveredHousehold>,
    /// Their buildings, for shading on the map.
    pub uncovered_buildings: Vec<UncoveredBuilding>,
}

/// A household out of reach.
#[derive(Serialize, ToSchema)]
pub struct UncoveredHousehold {
    /// Household id.
    pub id: String,
    /// Its standard address.
    pub address: String,
}

/// A building with households out of reach.
#[derive(Serialize, ToSchema)]
pub struct UncoveredBuilding {
    /// Building id.
    pub id: String,
    /// Households in it out of reach.
    pub households: usize,
    /// `[longitude, latitude]`, WGS-84.
    pub at: [f64; 2],
}

/// The 15-minute service circle of seed 000 under a node: which households lie within the
/// walk (straight-line distance × the detour factor, at the walking speed of the district's
/// grid rules) of any service station, per grid, with the uncovered households by address.
#[utoipa::path(get, path = "/api/v1/service-circle", tag = "map", params(UnderParams), security(("bearer" = [])),
    responses((status = 200, body = CircleReport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn service_circle(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<UnderParams>,
) -> Result<Json<CircleReport>, WebError> {
    let district = auth.user.district;
    let scopes = scopes(&state, &auth, Action::ViewMap, params.under.as_deref()).await?;
    let stored = state.store.grid_rules(district).await?;
    let rules = stored.unwrap_or_default();
    let stations: Vec<[f64; 2]> = state
        .store
        .stations(district)
        .await?
        .iter()
        .map(|s| [s.position.lon, s.position.lat])
        .collect();
    let circle = ServiceCircle::new(&stations, rules.walk.reach_m());
    let mut report = CircleReport {
        rules: RulesView::new(&rules, stored.is_none()),
        stations: stations.len(),
        covered: 0,
        uncovered: 0,
        unlocated: 0,
        grids: Vec::new(),
    };
    for scope in &scopes {
        let nodes = state
            .store
            .subtree(district, scope, NodeKind::Household)
            .await?;
        let building_at: HashMap<NodeId, LonLat> = nodes
            .iter()
            .filter(|n| n.path.kind() == NodeKind::Building)
            .filter_map(|n| Some((n.path.id(), n.position?)))
            .collect();
        let mut by_grid: HashMap<NodeId, usize> = HashMap::new();
        for grid in nodes.iter().filter(|n| n.path.kind() == NodeKind::Grid) {
            by_grid.insert(grid.path.id(), report.grids.len());
            report.grids.push(CircleGrid {
                id: grid.path.id().to_string(),
                code: grid.code.clone(),
                name: grid.name.clone(),
                covered: 0,
                uncovered: 0,
                uncovered_households: Vec::new(),
                uncovered_buildings: Vec::new(),
            });
        }
        for household in nodes
            .iter()
            .filter(|n| n.path.kind() == NodeKind::Household)
        {
            let building = household.path.at(NodeKind::Building);
            let Some(at) = household
                .position
                .or_else(|| building.and_then(|b| building_at.get(&b).copied()))
            else {
                report.unlocated += 1;
                continue;
            };
            let covered = circle.covers([at.lon, at.lat]);
            if covered {
                report.covered += 1;
            } else {
                report.uncovered += 1;
            }
            let Some(grid) = household
                .path
                .at(NodeKind::Grid)
                .and_then(|g| by_grid.get(&g))
                .and_then(|idx| report.grids.get_mut(*idx))
            else {
                continue;
            };
            if covered {
                grid.covered += 1;
                continue;
            }
            grid.uncovered += 1;
            grid.uncovered_households.push(UncoveredHousehold {
                id: household.path.id().to_string(),
                address: household
                    .address
                    .clone()
                    .unwrap_or_else(|| household.name.clone()),
            });
            if let Some((building, b_at)) = building.and_then(|b| Some((b, *building_at.get(&b)?)))
            {
                let id = building.to_string();
                match grid.uncovered_buildings.iter_mut().find(|b| b.id == id) {
                    Some(b) => b.households += 1,
                    None => grid.uncovered_buildings.push(UncoveredBuilding {
                        id,
                        households: 1,
                        at: [b_at.lon, b_at.lat],
                    }),
                }
            }
        }
    }
    Ok(Json(report))
}
