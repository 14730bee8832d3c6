//! Grid boundaries as GeoJSON: read them for a subtree, replace a community's whole tiling.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use mulin_domain::ids::NodeId;
use mulin_domain::policy::Action;
use mulin_domain::tree::NodeKind;
use mulin_geo::tiling::RingProblem;
use mulin_geo::{ShapeError, Tolerance, Violation};
use mulin_storage::{AuditEntry, NodeCounts, NodeRecord, Place};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::AuthUser;
use crate::error::{ErrorBody, ErrorDetail, WebError};
use crate::i18n::{Lang, Tr};
use crate::AppState;

/// The routes (mounted at `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/grids.geojson", get(grids_geojson))
        .route("/communities/{id}/grids.geojson", put(replace_grids))
}

/// The grid endpoints' part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(grids_geojson, replace_grids),
    components(schemas(TilingRejected, ViolationView, GridLabel, ImportResult)),
    tags((name = "geo", description = "Grid boundaries (GeoJSON, WGS-84)"))
)]
pub struct GeoApi;

/// Which grids.
#[derive(Deserialize, IntoParams)]
pub struct GridsParams {
    /// Only grids below this node (default: every grid the caller may see).
    pub under: Option<String>,
    /// The coordinate system of the geometries: `wgs84` (default) or `gcj02`.
    pub crs: Option<crate::map::MapCrs>,
}

/// The grids the caller may see under `under`, as a GeoJSON FeatureCollection (WGS-84):
/// one Feature per grid, its boundary as geometry (null when none is stored) and `id`,
/// `code`, `name`, `community_id`, `households`, `residents`, `special_groups`,
/// `buildings`, `places` (units), and the "四维" score as properties: `area_km2`,
/// `density` (residents/km²), `special_share`, `score` (mean of the four dimensions against
/// a reference grid, 1.0 = reference), `part_time_suggested` with `part_time_reasons`
/// (`many_households`, `large_area`, `many_special_groups`, against the district's grid
/// rules: by default over 400 households, 0.5 km², 30%).
#[utoipa::path(get, path = "/api/v1/grids.geojson", tag = "geo", params(GridsParams), security(("bearer" = [])),
    responses((status = 200, description = "A GeoJSON FeatureCollection", content_type = "application/geo+json"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn grids_geojson(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<GridsParams>,
) -> Result<Response, WebError> {
    let district = auth.user.district;
    let scopes = match params.under.as_deref() {
        Some(text) => {
            let id: NodeId = text.parse().map_err(|_| WebError::NotFound)?;
            let under = state.store.node(district, id).await?;
            let scopes = auth.principal.scopes_under(Action::ViewTree, &under.path);
            if scopes.is_empty() {
                return Err(WebError::NotFound);
            }
            scopes
        }
        None => auth.principal.roots(Action::ViewTree),
    };
    let today = state.clock.today();
    let mut features = Vec::new();
    let rules = crate::map::grid_rules(&state, district).await?.score;
    for scope in scopes {
        let nodes = state
            .store
            .subtree(district, &scope, NodeKind::Building)
            .await?;
        // Buildings and places (units at the grid, a compound or a building) by grid.
        let grid_of: HashMap<NodeId, NodeId> = nodes
            .iter()
            .filter_map(|n| Some((n.path.id(), n.path.at(NodeKind::Grid)?)))
            .collect();
        let mut buildings: HashMap<NodeId, i64> = HashMap::new();
        for n in nodes.iter().filter(|n| n.path.kind() == NodeKind::Building) {
            if let Some(grid) = grid_of.get(&n.path.id()) {
                *buildings.entry(*grid).or_default() += 1;
            }
        }
        let mut places: HashMap<NodeId, i64> = HashMap::new();
        for unit in state.store.units(district, Place::Within(&scope)).await? {
            if let Some(grid) = grid_of.get(&unit.node) {
                *places.entry(*grid).or_default() += 1;
            }
        }
        let mut counts: HashMap<NodeId, NodeCounts> = HashMap::new();
        if scope.kind() == NodeKind::Grid {
            counts.insert(
                scope.id(),
                state.store.counts(district, &scope, today).await?,
            );
        }
        for community in nodes
            .iter()
            .filter(|n| n.path.kind() == NodeKind::Community)
        {
            counts.extend(
                state
                    .store
                    .child_counts(district, &community.path, today)
                    .await?,
            );
        }
        for grid in nodes.iter().filter(|n| n.path.kind() == NodeKind::Grid) {
            let c = counts.get(&grid.path.id()).copied().unwrap_or_default();
            let shape = grid
                .geometry
                .as_deref()
                .and_then(|text| mulin_geo::parse_geometry(text).ok());
            let score = mulin_geo::score(
                &mulin_geo::GridFacts {
                    area_m2: shape.as_ref().map_or(0.0, mulin_geo::tiling::area_m2),
                    households: c.households,
                    residents: c.residents,
                    special_groups: c.special_groups,
                    buildings: buildings.get(&grid.path.id()).copied().unwrap_or(0),
                    places: places.get(&grid.path.id()).copied().unwrap_or(0),
                },
                &rules,
            );
            let mut geometry = shape
                .as_ref()
                .map(mulin_geo::to_geojson)
                .unwrap_or(Value::Null);
            params
                .crs
                .unwrap_or_default()
                .convert_geometry(&mut geometry);
            features.push(json!({
                "type": "Feature",
                "id": grid.path.id().to_string(),
                "geometry": geometry,
                "properties": {
                    "id": grid.path.id().to_string(),
                    "code": grid.code,
                    "name": grid.name,
                    "community_id": grid.path.at(NodeKind::Community).map(|id| id.to_string()),
                    "households": c.households,
                    "residents": c.residents,
                    "special_groups": c.special_groups,
                    "buildings": buildings.get(&grid.path.id()).copied().unwrap_or(0),
                    "places": places.get(&grid.path.id()).copied().unwrap_or(0),
                    "area_km2": score.area_km2,
                    "density": score.density,
                    "special_share": score.special_share,
                    "score": score.score,
                    "part_time_suggested": score.suggests_part_time(),
                    "part_time_reasons": score
                        .part_time_reasons
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>(),
                },
            }));
        }
    }
    let body = json!({"type": "FeatureCollection", "features": features});
    Ok((
        [(header::CONTENT_TYPE, "application/geo+json")],
        body.to_string(),
    )
        .into_response())
}

/// A grid named in a violation.
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct GridLabel {
    /// Its id (absent for a reference that matched no grid).
    pub id: Option<String>,
    /// Its division code.
    pub code: Option<String>,
    /// Its name, or the reference given when it matched no grid.
    pub name: String,
}

/// One reason the import was refused.
#[derive(Serialize, ToSchema, Debug)]
pub struct ViolationView {
    /// `geometry`, `invalid_ring`, `overlap`, `gap`, `outside`, `unknown_grid`,
    /// `duplicate_grid`.
    pub kind: String,
    /// The grids involved (for a gap: those bordering it).
    pub grids: Vec<GridLabel>,
    /// A representative point, `[longitude, latitude]` (WGS-84), when there is a place.
    pub at: Option<[f64; 2]>,
    /// The area concerned in m² (local equirectangular projection), when there is one.
    pub area_m2: Option<f64>,
    /// The same in words, naming the grids and the place.
    pub message: String,
}

/// The body of a refused import (422): nothing was saved.
#[derive(Serialize, ToSchema)]
pub struct TilingRejected {
    /// `code` is `invalid_tiling`.
    pub error: ErrorDetail,
    /// Every problem found.
    pub violations: Vec<ViolationView>,
}

/// A saved import.
#[derive(Serialize, ToSchema)]
pub struct ImportResult {
    /// Grids whose boundary was replaced.
    pub saved: usize,
}

/// Violations name a grid by its position in the community's grid list.
type Ref = usize;

/// Replaces the boundaries of a community's grids. The body is a GeoJSON FeatureCollection
/// whose features name grids by `id` (the feature's or in `properties`) or
/// `properties.code`; grids left out keep their boundary. The whole new tiling is checked
/// against the community's outline (its stored geometry, else the union of its grids'
/// current boundaries): valid rings, no overlap, no gap, nothing outside. Any violation
/// refuses the import with 422 and changes nothing; otherwise all boundaries are saved in
/// one transaction with one audit record, and point routing is rebuilt.
#[utoipa::path(put, path = "/api/v1/communities/{id}/grids.geojson", tag = "geo",
    params(("id" = String, Path, description = "Community id")), security(("bearer" = [])),
    request_body(content = String, description = "A GeoJSON FeatureCollection", content_type = "application/geo+json"),
    responses((status = 200, body = ImportResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = TilingRejected)))]
async fn replace_grids(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, WebError> {
    let district = auth.user.district;
    let id: NodeId = id.parse().map_err(|_| WebError::NotFound)?;
    let community = state.store.node(district, id).await?;
    if !auth.principal.allows(Action::ViewTree, &community.path)
        || community.path.kind() != NodeKind::Community
    {
        return Err(WebError::NotFound);
    }
    if !auth.principal.allows(Action::EditGrids, &community.path) {
        return Err(WebError::Forbidden);
    }
    let tr = Tr::new(Lang::ZhCn);
    let collection: Value = serde_json::from_slice(&body)
        .map_err(|_| WebError::BadRequest(tr.get("geo.error.not_collection").to_owned()))?;
    let features = match (
        collection.get("type").and_then(Value::as_str),
        collection.get("features"),
    ) {
        (Some("FeatureCollection"), Some(Value::Array(features))) if !features.is_empty() => {
            features
        }
        _ => {
            return Err(WebError::BadRequest(
                tr.get("geo.error.not_collection").to_owned(),
            ))
        }
    };

    let grids: Vec<NodeRecord> = state
        .store
        .subtree(district, &community.path, NodeKind::Grid)
        .await?
        .into_iter()
        .filter(|n| n.path.kind() == NodeKind::Grid)
        .collect();
    let mut violations: Vec<Violation<Ref>> = Vec::new();
    let mut unknown: Vec<(String, &'static str)> = Vec::new();
    let mut replaced: Vec<Option<mulin_geo::tiling::Shape>> = vec![None; grids.len()];
    for feature in features {
        let reference = feature_ref(feature);
        let found = reference.as_deref().and_then(|r| {
            grids
                .iter()
                .position(|g| g.path.id().to_string() == r || g.code.as_deref() == Some(r))
        });
        let Some(idx) = found else {
            unknown.push((reference.unwrap_or_default(), "unknown_grid"));
            continue;
        };
        if replaced[idx].is_some() {
            unknown.push((grid_label(&grids[idx]).name, "duplicate_grid"));
            continue;
        }
        match feature
            .get("geometry")
            .ok_or(ShapeError::NotGeometry)
            .and_then(mulin_geo::shape::geometry_from_value)
        {
            Ok(shape) => replaced[idx] = Some(shape),
            Err(problem) => violations.push(Violation::Geometry { grid: idx, problem }),
        }
    }

    // The new tiling: new boundaries where given, stored ones elsewhere.
    let stored: Vec<Option<mulin_geo::tiling::Shape>> = grids
        .iter()
        .map(|g| {
            g.geometry
                .as_deref()
                .and_then(|t| mulin_geo::parse_geometry(t).ok())
        })
        .collect();
    let tiling: Vec<(Ref, mulin_geo::tiling::Shape)> = replaced
        .iter()
        .zip(&stored)
        .enumerate()
        .filter_map(|(idx, (new, old))| Some((idx, new.clone().or(old.clone())?)))
        .collect();
    let outline = match community
        .geometry
        .as_deref()
        .and_then(|t| mulin_geo::parse_geometry(t).ok())
    {
        Some(outline) => Some(outline),
        None => {
            let previous: Vec<_> = stored.iter().flatten().cloned().collect();
            (!previous.is_empty()).then(|| mulin_geo::tiling::union(&previous))
        }
    };
    // A boundary that cannot be read would show up as a false gap: check the tiling only
    // once every given boundary reads.
    if violations.is_empty() {
        violations.extend(mulin_geo::validate_tiling(
            outline.as_ref(),
            &tiling,
            &Tolerance::default(),
        ));
    }
    if !violations.is_empty() || !unknown.is_empty() {
        let mut views: Vec<ViolationView> = unknown
            .into_iter()
            .map(|(name, kind)| {
                let label = GridLabel {
                    id: None,
                    code: None,
                    name,
                };
                ViolationView {
                    kind: kind.to_owned(),
                    message: fill(
                        tr.get(if kind == "unknown_grid" {
                            "geo.violation.unknown_grid"
                        } else {
                            "geo.violation.duplicate_grid"
                        }),
                        &[("grid", &label.name)],
                    ),
                    grids: vec![label],
                    at: None,
                    area_m2: None,
                }
            })
            .collect();
        views.extend(violations.iter().map(|v| describe(v, &grids, &tr)));
        let body = TilingRejected {
            error: ErrorDetail {
                code: "invalid_tiling".into(),
                message: fill(
                    tr.get("geo.error.invalid_tiling"),
                    &[("n", &views.len().to_string())],
                ),
            },
            violations: views,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response());
    }

    let changes: Vec<(NodeId, String)> = replaced
        .iter()
        .enumerate()
        .filter_map(|(idx, shape)| {
            let shape = shape.as_ref()?;
            Some((
                grids[idx].path.id(),
                mulin_geo::to_geojson(shape).to_string(),
            ))
        })
        .collect();
    let names: Vec<String> = replaced
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_some())
        .map(|(idx, _)| grids[idx].name.clone())
        .collect();
    let audit = AuditEntry {
        id: uuid::Uuid::now_v7(),
        district,
        at: state.clock.now(),
        user_id: Some(auth.user.id),
        username: auth.user.username.clone(),
        action: "grids.import".into(),
        target_kind: "node".into(),
        target_id: community.path.id().to_string(),
        ip: auth.ip.clone(),
        detail: format!("{}: {}", community.name, names.join("、")),
    };
    state
        .store
        .replace_geometries(district, &changes, &audit)
        .await?;
    state.grids.refresh(district).await?;
    Ok(Json(ImportResult {
        saved: changes.len(),
    })
    .into_response())
}

/// The grid a feature names: its `id`, else `properties.id`, else `properties.code`.
fn feature_ref(feature: &Value) -> Option<String> {
    let text = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let props = feature.get("properties");
    text(feature.get("id"))
        .or_else(|| text(props.and_then(|p| p.get("id"))))
        .or_else(|| text(props.and_then(|p| p.get("code"))))
}

fn grid_label(grid: &NodeRecord) -> GridLabel {
    GridLabel {
        id: Some(grid.path.id().to_string()),
        code: grid.code.clone(),
        name: grid.name.clone(),
    }
}

fn label(idx: &Ref, grids: &[NodeRecord]) -> GridLabel {
    grids.get(*idx).map(grid_label).unwrap_or(GridLabel {
        id: None,
        code: None,
        name: String::new(),
    })
}

/// "第1网格（140212001001001）".
fn label_text(label: &GridLabel) -> String {
    match &label.code {
        Some(code) => format!("{}（{code}）", label.name),
        None => label.name.clone(),
    }
}

fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (key, value)| {
            text.replace(&format!("{{{key}}}"), value)
        })
}

fn describe(v: &Violation<Ref>, grids: &[NodeRecord], tr: &Tr) -> ViolationView {
    let place = |c: &mulin_geo::tiling::Coord| format!("{:.6}, {:.6}", c.x, c.y);
    let area = |a: f64| format!("{a:.1}");
    match v {
        Violation::Geometry { grid, problem } => {
            let l = label(grid, grids);
            let key = match problem {
                ShapeError::TooFewPoints { .. } => "geo.problem.too_few_points",
                ShapeError::Unclosed { .. } => "geo.problem.unclosed",
                ShapeError::NotPolygon(_) => "geo.problem.not_polygon",
                _ => "geo.problem.bad_geometry",
            };
            let at = match problem {
                ShapeError::TooFewPoints { at: Some(c) } | ShapeError::Unclosed { at: c } => {
                    Some(*c)
                }
                _ => None,
            };
            ViolationView {
                kind: "geometry".into(),
                message: fill(
                    tr.get("geo.violation.geometry"),
                    &[
                        ("grid", &label_text(&l)),
                        ("problem", tr.get(key)),
                        ("at", &at.as_ref().map(place).unwrap_or_default()),
                    ],
                ),
                grids: vec![l],
                at: at.map(|c| [c.x, c.y]),
                area_m2: None,
            }
        }
        Violation::InvalidRing { grid, at, problem } => {
            let l = label(grid, grids);
            let key = match problem {
                RingProblem::TooFewPoints => "geo.problem.too_few_points",
                RingProblem::SelfIntersection => "geo.problem.self_intersection",
                RingProblem::NonFinite => "geo.problem.bad_geometry",
                RingProblem::HoleOutside => "geo.problem.hole_outside",
                RingProblem::RingsCross => "geo.problem.rings_cross",
            };
            ViolationView {
                kind: "invalid_ring".into(),
                message: fill(
                    tr.get("geo.violation.invalid_ring"),
                    &[
                        ("grid", &label_text(&l)),
                        ("problem", tr.get(key)),
                        ("at", &place(at)),
                    ],
                ),
                grids: vec![l],
                at: Some([at.x, at.y]),
                area_m2: None,
            }
        }
        Violation::Overlap {
            grids: [a, b],
            at,
            area_m2,
        } => {
            let (la, lb) = (label(a, grids), label(b, grids));
            ViolationView {
                kind: "overlap".into(),
                message: fill(
                    tr.get("geo.violation.overlap"),
                    &[
                        ("a", &label_text(&la)),
                        ("b", &label_text(&lb)),
                        ("area", &area(*area_m2)),
                        ("at", &place(at)),
                    ],
                ),
                grids: vec![la, lb],
                at: Some([at.x, at.y]),
                area_m2: Some(*area_m2),
            }
        }
        Violation::Gap {
            next_to,
            at,
            area_m2,
        } => {
            let labels: Vec<GridLabel> = next_to.iter().map(|r| label(r, grids)).collect();
            let names: Vec<String> = labels.iter().map(label_text).collect();
            ViolationView {
                kind: "gap".into(),
                message: fill(
                    tr.get("geo.violation.gap"),
                    &[
                        ("grids", &names.join("、")),
                        ("area", &area(*area_m2)),
                        ("at", &place(at)),
                    ],
                ),
                grids: labels,
                at: Some([at.x, at.y]),
                area_m2: Some(*area_m2),
            }
        }
        Violation::Outside { grid, at, area_m2 } => {
            let l = label(grid, grids);
            ViolationView {
                kind: "outside".into(),
                message: fill(
                    tr.get("geo.violation.outside"),
                    &[
                        ("grid", &label_text(&l)),
                        ("area", &area(*area_m2)),
                        ("at", &place(at)),
                    ],
                ),
                grids: vec![l],
                at: Some([at.x, at.y]),
                area_m2: Some(*area_m2),
            }
        }
    }
}
