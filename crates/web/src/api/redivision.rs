//! Re-division of a community's grids (seed 002): propose new grids of 300–500 households
//! or re-balance today's to a target count, store the proposal with its figures and moves,
//! and apply it on confirmation as one audited change.
//!
//! A block (never split) is a compound: the walled 小区 between roads. Applying moves
//! whole compounds, with everything under them, between the community's existing grids; a
//! proposal needing more grids than exist is shown but cannot be applied.
//! Boundaries follow the buildings (`mulin_geo::regrid`): compounds carry no polygons, so
//! each changed grid's ground is cut into its buildings' Voronoi cells and the cells go with
//! their buildings. The proposal shows those boundaries; applying derives them again from
//! the stored ones, checks the community stays tiled and saves them in the same
//! transaction. A community whose grids have no boundaries at all keeps none (the
//! proposal's map then shows hulls of each grid's buildings); one where only some grids
//! have one cannot be kept tiled, and applying is refused.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use mulin_domain::ids::NodeId;
use mulin_domain::policy::Action;
use mulin_domain::tree::NodeKind;
use mulin_geo::partition::{self, BlockGraph, Building, Quality, Range};
use mulin_geo::regrid::{regrid, RegridError, Site};
use mulin_geo::tiling::Shape;
use mulin_geo::Tolerance;
use mulin_storage::{AuditEntry, CompoundMove, NodeRecord, RedivisionRecord};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::AuthUser;
use crate::error::{ErrorBody, WebError};
use crate::i18n::{Lang, Tr};
use crate::map::MapCrs;
use crate::AppState;

/// Metres each building is widened by in a proposal's outlines.
const OUTLINE_PAD_M: f64 = 15.0;

/// The routes (mounted at `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/communities/{id}/redivision", post(propose))
        .route("/communities/{id}/redivision/{proposal}", get(show))
        .route("/communities/{id}/redivision/{proposal}/apply", post(apply))
}

/// The re-division endpoints' part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(propose, show, apply),
    components(schemas(RedivisionAsk, Mode, Applied)),
    tags((name = "redivision", description = "Balanced re-division of a community's grids"))
)]
pub struct RedivisionApi;

/// What to propose.
#[derive(Deserialize, ToSchema)]
pub struct RedivisionAsk {
    /// `propose` divides afresh; `rebalance` keeps today's grids as far as it can.
    pub mode: Mode,
    /// Grids wanted (required for `rebalance`; `propose` picks one near the range's middle).
    pub target_count: Option<usize>,
    /// Fewest households per grid (default 300).
    pub min_households: Option<u64>,
    /// Most households per grid (default 500).
    pub max_households: Option<u64>,
}

/// Re-division mode.
#[derive(Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A fresh division.
    Propose,
    /// Today's division brought to a target count, moving as few households as possible.
    Rebalance,
}

/// An applied proposal.
#[derive(Serialize, ToSchema)]
pub struct Applied {
    /// Compounds moved to another grid.
    pub compounds: usize,
    /// Buildings moved.
    pub buildings: usize,
    /// Households moved.
    pub households: u64,
}

/// A proposed grid being summed up: its buildings' positions and households.
#[derive(Default)]
struct NewGrid {
    points: Vec<(f64, f64)>,
    households: u64,
}

/// The community's division as stored: grids, compounds (blocks) and buildings with their
/// households.
struct Division {
    grids: Vec<NodeRecord>,
    compounds: Vec<NodeRecord>,
    buildings: Vec<(NodeRecord, u64)>,
}

impl Division {
    async fn load(state: &AppState, community: &NodeRecord) -> Result<Self, WebError> {
        let nodes = state
            .store
            .subtree(
                community.path.district().into(),
                &community.path,
                NodeKind::Household,
            )
            .await?;
        let mut households: HashMap<NodeId, u64> = HashMap::new();
        for n in nodes
            .iter()
            .filter(|n| n.path.kind() == NodeKind::Household)
        {
            if let Some(b) = n.path.at(NodeKind::Building) {
                *households.entry(b).or_default() += 1;
            }
        }
        let of = |kind: NodeKind| nodes.iter().filter(move |n| n.path.kind() == kind).cloned();
        Ok(Self {
            grids: of(NodeKind::Grid).collect(),
            compounds: of(NodeKind::Compound).collect(),
            buildings: of(NodeKind::Building)
                .map(|b| {
                    let n = households.get(&b.path.id()).copied().unwrap_or(0);
                    (b, n)
                })
                .collect(),
        })
    }

    /// A digest of which compound is under which grid and which building under which
    /// compound: a proposal made from another digest is stale.
    fn fingerprint(&self) -> String {
        let mut lines: Vec<String> = self
            .compounds
            .iter()
            .map(|c| format!("c {} {:?}", c.path.id(), c.path.at(NodeKind::Grid)))
            .chain(
                self.buildings
                    .iter()
                    .map(|(b, _)| format!("b {} {:?}", b.path.id(), b.path.at(NodeKind::Compound))),
            )
            .collect();
        lines.sort_unstable();
        hex::encode(Sha256::digest(lines.join("\n").as_bytes()))
    }
}

/// What the community's grid boundaries become after a re-division.
enum Boundaries {
    /// No grid has a boundary: there is no tiling to keep.
    Absent,
    /// Each grid's new boundary, by grid label (`None`: left without ground).
    Derived(Vec<Option<Shape>>),
    /// They cannot follow; the locale key says why.
    Refused(&'static str),
}

impl Division {
    /// Today's boundary of each grid, in grid order.
    fn shapes(&self) -> Vec<Option<Shape>> {
        self.grids
            .iter()
            .map(|g| {
                g.geometry
                    .as_deref()
                    .and_then(|t| mulin_geo::parse_geometry(t).ok())
            })
            .collect()
    }

    /// The boundaries after each compound in `to` (compound → grid label) moves there;
    /// every other compound stays.
    fn regrid(&self, to: &HashMap<NodeId, usize>) -> Boundaries {
        let shapes = self.shapes();
        if shapes.iter().all(Option::is_none) {
            return Boundaries::Absent;
        }
        let Some(shapes) = shapes.into_iter().collect::<Option<Vec<Shape>>>() else {
            return Boundaries::Refused("redivision.error.partial_boundaries");
        };
        let grid_idx: HashMap<NodeId, usize> = self
            .grids
            .iter()
            .enumerate()
            .map(|(i, g)| (g.path.id(), i))
            .collect();
        let sites: Vec<Site> = self
            .buildings
            .iter()
            .filter_map(|(b, _)| {
                let at = b.position?;
                let old = *grid_idx.get(&b.path.at(NodeKind::Grid)?)?;
                let new = b
                    .path
                    .at(NodeKind::Compound)
                    .and_then(|c| to.get(&c).copied())
                    .unwrap_or(old);
                Some(Site {
                    old,
                    new,
                    lon: at.lon,
                    lat: at.lat,
                })
            })
            .collect();
        match regrid(&shapes, &sites) {
            Ok(new) => Boundaries::Derived(new),
            Err(RegridError::Coincident { .. }) => {
                Boundaries::Refused("redivision.error.coincident")
            }
            Err(RegridError::UnknownGrid(_)) => {
                Boundaries::Refused("redivision.error.partial_boundaries")
            }
        }
    }

    /// What the grids must tile: the community's own boundary, else the union of its
    /// grids' boundaries today.
    fn outline(&self, community: &NodeRecord) -> Option<Shape> {
        community
            .geometry
            .as_deref()
            .and_then(|t| mulin_geo::parse_geometry(t).ok())
            .or_else(|| {
                let today: Vec<Shape> = self.shapes().into_iter().flatten().collect();
                (!today.is_empty()).then(|| mulin_geo::tiling::union(&today))
            })
    }
}

/// The community named in the path, if the caller may re-divide it (404 when it cannot
/// see it or it is no community, 403 when it sees it but may not edit grids).
pub(crate) async fn community(
    state: &AppState,
    auth: &AuthUser,
    id: &str,
) -> Result<NodeRecord, WebError> {
    let id: NodeId = id.parse().map_err(|_| WebError::NotFound)?;
    let community = state.store.node(auth.user.district, id).await?;
    if !auth.principal.allows(Action::ViewTree, &community.path)
        || community.path.kind() != NodeKind::Community
    {
        return Err(WebError::NotFound);
    }
    if !auth.principal.allows(Action::EditGrids, &community.path) {
        return Err(WebError::Forbidden);
    }
    Ok(community)
}

fn quality_json(q: &Quality, total: u64) -> Value {
    json!({
        "grids": q.grids,
        "in_range": q.in_range,
        "min_households": q.min_households,
        "max_households": q.max_households,
        "deviation": q.deviation,
        "mean_distance_m": q.mean_distance_m,
        "contiguous": q.contiguous,
        "households": total,
        "kept_households": q.kept,
        "kept_share": q.kept.map(|k| k as f64 / total.max(1) as f64),
    })
}

/// Proposes a re-division of the community's grids and stores it. The answer (also what
/// `GET …/redivision/{proposal}` returns): `id`, `mode`, the range, `before` and `after`
/// figures (grids, grids in range, smallest and largest grid, mean absolute deviation from
/// the mean grid, households' mean distance to their grid's centroid in metres,
/// contiguity, households kept in their old grid), `grids` (a GeoJSON FeatureCollection of
/// the new grids: the boundaries applying would save when `boundaries` is `derived`, else
/// hulls of their buildings, `outline`), `moves` (building, from grid, to
/// grid, households), `compound_moves`, `emptied_grids` and `new_grids_needed` (a proposal
/// needing grids that do not exist yet cannot be applied).
#[utoipa::path(post, path = "/api/v1/communities/{id}/redivision", tag = "redivision",
    params(("id" = String, Path, description = "Community id")), security(("bearer" = [])),
    request_body = RedivisionAsk,
    responses((status = 200, description = "The stored proposal"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn propose(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
    Json(ask): Json<RedivisionAsk>,
) -> Result<Json<Value>, WebError> {
    create(&state, &auth, &id, &ask).await.map(Json)
}

/// Proposes a re-division of community `id` and stores it; the API's and the page's work.
pub(crate) async fn create(
    state: &AppState,
    auth: &AuthUser,
    id: &str,
    ask: &RedivisionAsk,
) -> Result<Value, WebError> {
    let tr = Tr::new(Lang::ZhCn);
    let community = community(state, auth, id).await?;
    let range = Range::new(
        ask.min_households.unwrap_or(300),
        ask.max_households.unwrap_or(500),
    )
    .map_err(|_| WebError::BadRequest(tr.get("redivision.error.range").to_owned()))?;
    let division = Division::load(state, &community).await?;

    // Blocks are compounds; only buildings with households take part.
    let compound_idx: HashMap<NodeId, usize> = division
        .compounds
        .iter()
        .enumerate()
        .map(|(i, c)| (c.path.id(), i))
        .collect();
    let mut input = Vec::new();
    let mut placed = Vec::new();
    for (idx, (b, households)) in division.buildings.iter().enumerate() {
        let Some(&block) = b
            .path
            .at(NodeKind::Compound)
            .and_then(|c| compound_idx.get(&c))
        else {
            continue;
        };
        if *households == 0 {
            continue;
        }
        let at = b
            .position
            .ok_or(WebError::Invalid("redivision.error.no_position"))?;
        input.push(Building {
            block,
            households: *households as u32,
            lon: at.lon,
            lat: at.lat,
        });
        placed.push(idx);
    }
    let graph =
        BlockGraph::build(&input).map_err(|_| WebError::Invalid("redivision.error.empty"))?;
    let grid_idx: HashMap<NodeId, usize> = division
        .grids
        .iter()
        .enumerate()
        .map(|(i, g)| (g.path.id(), i))
        .collect();
    let old: Vec<usize> = graph
        .keys
        .iter()
        .map(|&c| {
            division.compounds[c]
                .path
                .at(NodeKind::Grid)
                .and_then(|g| grid_idx.get(&g).copied())
                .unwrap_or(0)
        })
        .collect();
    let new = match ask.mode {
        Mode::Propose => partition::propose(&graph, range, ask.target_count)
            .map(|parts| partition::match_to_old(&graph, &old, &parts)),
        Mode::Rebalance => {
            let target = ask
                .target_count
                .ok_or(WebError::Invalid("redivision.error.count"))?;
            partition::rebalance(&graph, range, &old, target)
        }
    }
    .map_err(|_| WebError::Invalid("redivision.error.count"))?;

    let total = graph.total();
    let before = partition::quality(&graph, range, &old, None);
    let after = partition::quality(&graph, range, &new, Some(&old));
    let grid_name = |label: usize| -> (Option<String>, String) {
        match division.grids.get(label) {
            Some(g) => (Some(g.path.id().to_string()), g.name.clone()),
            None => (
                None,
                format!(
                    "{}{}",
                    tr.get("redivision.new_grid"),
                    label + 1 - division.grids.len()
                ),
            ),
        }
    };

    let mut moves = Vec::new();
    let mut compound_moves = Vec::new();
    for (block, (&from, &to)) in old.iter().zip(&new).enumerate() {
        if from == to {
            continue;
        }
        let compound = &division.compounds[graph.keys[block]];
        compound_moves.push(json!({
            "compound_id": compound.path.id().to_string(),
            "compound": compound.name,
            "from_grid_id": grid_name(from).0,
            "to_grid_id": grid_name(to).0,
        }));
        for (&idx, &b) in placed.iter().zip(&graph.block_of_building) {
            if b == block {
                let (building, households) = &division.buildings[idx];
                moves.push(json!({
                    "building_id": building.path.id().to_string(),
                    "building": format!("{}{}", compound.name, building.name),
                    "from_grid_id": grid_name(from).0,
                    "from_grid": grid_name(from).1,
                    "to_grid_id": grid_name(to).0,
                    "to_grid": grid_name(to).1,
                    "households": households,
                }));
            }
        }
    }

    // Boundaries and totals of the new grids.
    let compound_to: HashMap<NodeId, usize> = graph
        .keys
        .iter()
        .zip(&new)
        .map(|(&c, &label)| (division.compounds[c].path.id(), label))
        .collect();
    let derived = match division.regrid(&compound_to) {
        Boundaries::Derived(shapes) => Some(shapes),
        Boundaries::Absent | Boundaries::Refused(_) => None,
    };
    let mut members: BTreeMap<usize, NewGrid> = BTreeMap::new();
    for (i, b) in input.iter().enumerate() {
        let entry = members.entry(new[graph.block_of_building[i]]).or_default();
        entry.points.push((b.lon, b.lat));
        entry.households += u64::from(b.households);
    }
    let features: Vec<Value> = members
        .iter()
        .map(|(&label, grid)| {
            let (points, households, buildings) =
                (&grid.points, &grid.households, grid.points.len());
            let (id, name) = grid_name(label);
            let shape = derived
                .as_ref()
                .and_then(|shapes| shapes.get(label).cloned().flatten())
                .unwrap_or_else(|| partition::outline(points, OUTLINE_PAD_M));
            json!({
                "type": "Feature",
                "geometry": mulin_geo::to_geojson(&shape),
                "properties": {
                    "grid_id": id,
                    "name": name,
                    "households": households,
                    "buildings": buildings,
                    "in_range": *households >= range.min() && *households <= range.max(),
                },
            })
        })
        .collect();
    let emptied: Vec<Value> = division
        .grids
        .iter()
        .enumerate()
        .filter(|(i, _)| old.contains(i) && !new.contains(i))
        .map(|(_, g)| json!({"id": g.path.id().to_string(), "name": g.name}))
        .collect();
    let new_grids_needed = members
        .keys()
        .filter(|&&l| l >= division.grids.len())
        .count();

    let id = uuid::Uuid::now_v7();
    let body = json!({
        "id": id.to_string(),
        "community_id": community.path.id().to_string(),
        "community": community.name,
        "mode": ask.mode,
        "min_households": range.min(),
        "max_households": range.max(),
        "before": quality_json(&before, total),
        "after": quality_json(&after, total),
        "grids": {"type": "FeatureCollection", "features": features},
        "boundaries": if derived.is_some() { "derived" } else { "outline" },
        "moves": moves,
        "compound_moves": compound_moves,
        "emptied_grids": emptied,
        "new_grids_needed": new_grids_needed,
    });
    state
        .store
        .insert_redivision(&RedivisionRecord {
            district: auth.user.district,
            id,
            community: community.path.id(),
            created_at: state.clock.now(),
            created_by: auth.user.username.clone(),
            fingerprint: division.fingerprint(),
            body: body.to_string(),
            applied_at: None,
        })
        .await?;
    Ok(body)
}

/// Loads a proposal of this community, with `applied_at` added.
async fn stored(
    state: &AppState,
    auth: &AuthUser,
    community: &NodeRecord,
    proposal: &str,
) -> Result<(RedivisionRecord, Value), WebError> {
    let proposal: uuid::Uuid = proposal.parse().map_err(|_| WebError::NotFound)?;
    let record = state.store.redivision(auth.user.district, proposal).await?;
    if record.community != community.path.id() {
        return Err(WebError::NotFound);
    }
    let mut body: Value =
        serde_json::from_str(&record.body).map_err(|e| WebError::Internal(Box::new(e)))?;
    body["applied_at"] = json!(record.applied_at.map(|t| t.to_rfc3339()));
    Ok((record, body))
}

/// A stored proposal, as `POST …/redivision` answered it, with `applied_at`; its grids in
/// the coordinate system asked for.
#[utoipa::path(get, path = "/api/v1/communities/{id}/redivision/{proposal}", tag = "redivision",
    params(("id" = String, Path, description = "Community id"), ("proposal" = String, Path, description = "Proposal id"), CrsParams),
    security(("bearer" = [])),
    responses((status = 200, description = "The proposal"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    auth: AuthUser,
    Path((id, proposal)): Path<(String, String)>,
    Query(params): Query<CrsParams>,
) -> Result<Json<Value>, WebError> {
    let mut body = load(&state, &auth, &id, &proposal).await?;
    let crs = params.crs.unwrap_or_default();
    if let Some(features) = body["grids"]["features"].as_array_mut() {
        for feature in features {
            crs.convert_geometry(&mut feature["geometry"]);
        }
    }
    Ok(Json(body))
}

/// The coordinate system of a proposal's grids.
#[derive(Deserialize, IntoParams)]
pub struct CrsParams {
    /// `wgs84` (default) or `gcj02` (for Chinese tiles).
    pub crs: Option<MapCrs>,
}

/// Proposal `proposal` of community `id`, with `applied_at`.
pub(crate) async fn load(
    state: &AppState,
    auth: &AuthUser,
    id: &str,
    proposal: &str,
) -> Result<Value, WebError> {
    let community = community(state, auth, id).await?;
    Ok(stored(state, auth, &community, proposal).await?.1)
}

/// Applies a proposal: moves its compounds (with buildings, households, residents and
/// requests) to their new grids and saves the grids' new boundaries (derived from today's,
/// checked to tile the community; a grid left without buildings loses its boundary) in one
/// transaction, audited, and rebuilds the routing index. Refused (409) when already
/// applied or when the community's division changed since the proposal (stale), and (422)
/// when it needs grids that do not exist or when the boundaries cannot follow (only some
/// grids have one, two buildings at one point part, or the result would not tile).
#[utoipa::path(post, path = "/api/v1/communities/{id}/redivision/{proposal}/apply", tag = "redivision",
    params(("id" = String, Path, description = "Community id"), ("proposal" = String, Path, description = "Proposal id")),
    security(("bearer" = [])),
    responses((status = 200, body = Applied), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn apply(
    State(state): State<AppState>,
    auth: AuthUser,
    Path((id, proposal)): Path<(String, String)>,
) -> Result<Json<Applied>, WebError> {
    apply_proposal(&state, &auth, &id, &proposal)
        .await
        .map(Json)
}

/// Applies proposal `proposal` of community `id` (see [`apply`]); the API's and the page's
/// work.
pub(crate) async fn apply_proposal(
    state: &AppState,
    auth: &AuthUser,
    id: &str,
    proposal: &str,
) -> Result<Applied, WebError> {
    let tr = Tr::new(Lang::ZhCn);
    let community = community(state, auth, id).await?;
    let (record, body) = stored(state, auth, &community, proposal).await?;
    if record.applied_at.is_some() {
        return Err(WebError::Conflict(
            tr.get("redivision.error.applied").to_owned(),
        ));
    }
    if body["new_grids_needed"].as_u64().unwrap_or(0) > 0 {
        return Err(WebError::Invalid("redivision.error.new_grids"));
    }
    let division = Division::load(state, &community).await?;
    if division.fingerprint() != record.fingerprint {
        return Err(WebError::Conflict(
            tr.get("redivision.error.stale").to_owned(),
        ));
    }
    let node = |v: &Value| -> Result<NodeId, WebError> {
        v.as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| WebError::Internal("a stored proposal lost a node id".into()))
    };
    let moves = body["compound_moves"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|m| {
                    Ok(CompoundMove {
                        compound: node(&m["compound_id"])?,
                        from: node(&m["from_grid_id"])?,
                        to: node(&m["to_grid_id"])?,
                    })
                })
                .collect::<Result<Vec<_>, WebError>>()
        })
        .transpose()?
        .unwrap_or_default();
    let boundaries = new_boundaries(&division, &community, &moves)?;
    let building_moves = body["moves"].as_array().map_or(&[][..], |m| m.as_slice());
    let applied = Applied {
        compounds: moves.len(),
        buildings: building_moves.len(),
        households: building_moves
            .iter()
            .filter_map(|m| m["households"].as_u64())
            .sum(),
    };
    let now = state.clock.now();
    let audit = AuditEntry {
        id: uuid::Uuid::now_v7(),
        district: auth.user.district,
        at: now,
        user_id: Some(auth.user.id),
        username: auth.user.username.clone(),
        action: "grids.redivide".into(),
        target_kind: "node".into(),
        target_id: community.path.id().to_string(),
        ip: auth.ip.clone(),
        detail: format!(
            "{}: {} {} ({} → {})",
            community.name,
            record.id,
            applied.households,
            body["before"]["grids"],
            body["after"]["grids"]
        ),
    };
    state
        .store
        .apply_redivision(
            auth.user.district,
            record.id,
            &moves,
            &boundaries,
            now,
            &audit,
        )
        .await
        .map_err(|e| match e {
            mulin_storage::StoreError::Conflict(_) => {
                WebError::Conflict(tr.get("redivision.error.stale").to_owned())
            }
            other => other.into(),
        })?;
    state.grids.refresh(auth.user.district).await?;
    Ok(applied)
}

/// The boundaries to save with `moves`: each grid whose ground changes, as GeoJSON (`None`
/// clears it); nothing when the community has no boundaries. Refused when they cannot
/// follow the moves or the result does not tile the community.
fn new_boundaries(
    division: &Division,
    community: &NodeRecord,
    moves: &[CompoundMove],
) -> Result<Vec<(NodeId, Option<String>)>, WebError> {
    let grid_idx: HashMap<NodeId, usize> = division
        .grids
        .iter()
        .enumerate()
        .map(|(i, g)| (g.path.id(), i))
        .collect();
    let to: HashMap<NodeId, usize> = moves
        .iter()
        .filter_map(|m| Some((m.compound, *grid_idx.get(&m.to)?)))
        .collect();
    let shapes = match division.regrid(&to) {
        Boundaries::Absent => return Ok(Vec::new()),
        Boundaries::Refused(key) => return Err(WebError::Invalid(key)),
        Boundaries::Derived(shapes) => shapes,
    };
    let tiling: Vec<(usize, Shape)> = shapes
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((i, s.clone()?)))
        .collect();
    let violations = mulin_geo::validate_tiling(
        division.outline(community).as_ref(),
        &tiling,
        &Tolerance::default(),
    );
    if !violations.is_empty() {
        tracing::warn!(community = %community.path.id(), ?violations, "re-divided boundaries do not tile");
        return Err(WebError::Invalid("redivision.error.tiling"));
    }
    let today = division.shapes();
    Ok(division
        .grids
        .iter()
        .zip(shapes)
        .zip(today)
        .filter(|((_, new), old)| new != old)
        .map(|((grid, new), _)| {
            (
                grid.path.id(),
                new.map(|s| mulin_geo::to_geojson(&s).to_string()),
            )
        })
        .collect())
}
