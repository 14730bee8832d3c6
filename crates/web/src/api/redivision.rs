//! Re-division of a community's grids (seed 002): propose new grids of 300–500 households
//! or re-balance today's to a target count, store the proposal with its figures and moves,
//! and apply it on confirmation as one audited change.
//!
//! A block (never split) is a compound: the walled 小区 between roads. Applying moves
//! whole compounds, with everything under them, between the community's grids. A proposal
//! needing more grids than exist plans them (the next division codes under the community's,
//! names numbered like the existing grids') and applying creates them; a grid the proposal
//! empties is retired into the grid that takes most of its households (its successor): its
//! workers' posts, units, party organisations, grants, visits and the requests placed on the
//! grid itself go there, and the node is deleted, so nothing points at a grid that is gone.
//! The proposal lists both before anyone confirms.
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
use mulin_domain::code::DivisionCode;
use mulin_domain::ids::NodeId;
use mulin_domain::policy::Action;
use mulin_domain::tree::NodeKind;
use mulin_geo::partition::{self, BlockGraph, Building, Quality, Range};
use mulin_geo::regrid::{regrid, RegridError, Site};
use mulin_geo::tiling::Shape;
use mulin_geo::Tolerance;
use mulin_storage::{
    AuditEntry, CompoundMove, GridRetirement, NodeRecord, Place, RedivisionChange, RedivisionRecord,
};
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
    /// Grids created.
    pub created_grids: usize,
    /// Grids retired into their successors.
    pub retired_grids: usize,
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

/// A grid a proposal needs that does not exist yet: what applying will create.
#[derive(Clone, PartialEq, Debug)]
struct PlannedGrid {
    name: String,
    code: Option<String>,
    sort_key: i64,
}

/// Names for `n` new grids, numbered on from the existing ones: the commonest pattern of
/// text around a number among them ("第3网格" → "第N网格"), else `fallback` and a number;
/// names already taken are skipped.
fn new_grid_names(existing: &[&str], n: usize, fallback: &str) -> Vec<String> {
    let mut patterns: BTreeMap<(String, String), (usize, u64)> = BTreeMap::new();
    for name in existing {
        let Some(end) = name.rfind(|c: char| c.is_ascii_digit()).map(|i| i + 1) else {
            continue;
        };
        let start = name[..end]
            .rfind(|c: char| !c.is_ascii_digit())
            .map_or(0, |i| {
                i + name[i..].chars().next().map_or(1, char::len_utf8)
            });
        let Ok(number) = name[start..end].parse::<u64>() else {
            continue;
        };
        let entry = patterns
            .entry((name[..start].to_owned(), name[end..].to_owned()))
            .or_default();
        entry.0 += 1;
        entry.1 = entry.1.max(number);
    }
    let ((prefix, suffix), (_, mut number)) = patterns
        .into_iter()
        .max_by_key(|(_, (count, _))| *count)
        .unwrap_or(((fallback.to_owned(), String::new()), (0, 0)));
    let mut names = Vec::with_capacity(n);
    while names.len() < n {
        number += 1;
        let name = format!("{prefix}{number}{suffix}");
        if !existing.contains(&name.as_str()) {
            names.push(name);
        }
    }
    names
}

/// The next free division codes of `n` grids under `community`'s code (none when the
/// community has no code or its 999 grid numbers are used up).
fn new_grid_codes(community: &NodeRecord, grids: &[NodeRecord], n: usize) -> Vec<Option<String>> {
    let parent = community
        .code
        .as_deref()
        .and_then(|c| DivisionCode::parse(NodeKind::Community, c, None).ok());
    let last = grids
        .iter()
        .filter_map(|g| g.code.as_deref()?.get(12..15)?.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    (1..=n as u32)
        .map(|i| {
            parent
                .as_ref()
                .and_then(|p| p.child(NodeKind::Grid, last + i))
                .map(|c| c.to_string())
        })
        .collect()
}

/// Boundary changes of the grids that stay (grid, GeoJSON) and the new grids' boundaries.
type NewBoundaries = (Vec<(NodeId, Option<String>)>, Vec<Option<String>>);

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
    /// The `n` grids a proposal adds: names, codes and places after today's grids.
    fn plan_new_grids(&self, community: &NodeRecord, n: usize) -> Vec<PlannedGrid> {
        let tr = Tr::new(Lang::ZhCn);
        let names: Vec<&str> = self.grids.iter().map(|g| g.name.as_str()).collect();
        let last_sort = self.grids.iter().map(|g| g.sort_key).max().unwrap_or(-1);
        new_grid_names(&names, n, tr.get("redivision.new_grid"))
            .into_iter()
            .zip(new_grid_codes(community, &self.grids, n))
            .zip(1..)
            .map(|((name, code), i)| PlannedGrid {
                name,
                code,
                sort_key: last_sort + i,
            })
            .collect()
    }

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
/// grid, households), `compound_moves`, `new_grids` (grids applying creates: id, name,
/// code, households, buildings; `new_grids_needed` counts them), `retired_grids` (grids it
/// empties: id, name, the successor that takes over their posts, units, party
/// organisations, grants, visits and grid-level requests, and the posts that move) and
/// `emptied_grids` (their ids and names).
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

    // Grids to create: every label past today's grids, in label order.
    let n_today = division.grids.len();
    let new_labels: Vec<usize> = {
        let mut labels: Vec<usize> = new.iter().copied().filter(|&l| l >= n_today).collect();
        labels.sort_unstable();
        labels.dedup();
        labels
    };
    let planned: Vec<(NodeId, PlannedGrid)> = division
        .plan_new_grids(&community, new_labels.len())
        .into_iter()
        .map(|plan| (NodeId::from_uuid(uuid::Uuid::now_v7()), plan))
        .collect();
    let new_of_label: HashMap<usize, &(NodeId, PlannedGrid)> =
        new_labels.iter().copied().zip(&planned).collect();
    let grid_name = |label: usize| -> (Option<String>, String) {
        match (division.grids.get(label), new_of_label.get(&label)) {
            (Some(g), _) => (Some(g.path.id().to_string()), g.name.clone()),
            (None, Some((id, plan))) => (Some(id.to_string()), plan.name.clone()),
            (None, None) => (None, String::new()),
        }
    };

    // Grids left without households retire into the grid that takes most of them.
    let mut successors: BTreeMap<usize, BTreeMap<usize, u64>> = BTreeMap::new();
    for (block, (&from, &to)) in old.iter().zip(&new).enumerate() {
        if !new.contains(&from) {
            *successors.entry(from).or_default().entry(to).or_default() += graph.weight[block];
        }
    }
    let successor_of: BTreeMap<usize, usize> = successors
        .iter()
        .filter_map(|(&from, to)| {
            let (&label, _) = to
                .iter()
                .max_by_key(|(&label, &n)| (n, std::cmp::Reverse(label)))?;
            Some((from, label))
        })
        .collect();

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
    let mut compound_to: HashMap<NodeId, usize> = graph
        .keys
        .iter()
        .zip(&new)
        .map(|(&c, &label)| (division.compounds[c].path.id(), label))
        .collect();
    // Compounds without households under a retiring grid go with it to its successor.
    for compound in &division.compounds {
        let Some(&from) = compound
            .path
            .at(NodeKind::Grid)
            .and_then(|g| grid_idx.get(&g))
        else {
            continue;
        };
        let Some(&to) = successor_of.get(&from) else {
            continue;
        };
        if compound_to.contains_key(&compound.path.id()) {
            continue;
        }
        compound_to.insert(compound.path.id(), to);
        compound_moves.push(json!({
            "compound_id": compound.path.id().to_string(),
            "compound": compound.name,
            "from_grid_id": grid_name(from).0,
            "to_grid_id": grid_name(to).0,
        }));
    }
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
    let emptied: Vec<Value> = successor_of
        .keys()
        .map(|&label| {
            let g = &division.grids[label];
            json!({"id": g.path.id().to_string(), "name": g.name})
        })
        .collect();
    let mut retired = Vec::new();
    for (&label, &to) in &successor_of {
        let grid = &division.grids[label];
        let posts = state
            .store
            .posts(grid.path.district().into(), Place::At(&grid.path))
            .await?;
        let (successor_id, successor) = grid_name(to);
        retired.push(json!({
            "id": grid.path.id().to_string(),
            "name": grid.name,
            "successor_id": successor_id,
            "successor": successor,
            "posts": posts
                .iter()
                .map(|p| json!({"kind": p.kind.to_string(), "holder": p.holder_name.as_ref()}))
                .collect::<Vec<_>>(),
        }));
    }
    let new_grids: Vec<Value> = new_labels
        .iter()
        .filter_map(|label| {
            let (id, plan) = new_of_label.get(label)?;
            let grid = members.get(label)?;
            Some(json!({
                "id": id.to_string(),
                "name": plan.name,
                "code": plan.code,
                "households": grid.households,
                "buildings": grid.points.len(),
            }))
        })
        .collect();

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
        "retired_grids": retired,
        "new_grids": new_grids,
        "new_grids_needed": new_labels.len(),
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

/// Applies a proposal in one audited transaction: creates the grids it needs, moves its
/// compounds (with buildings, households, residents, requests and care records) to their
/// new grids, retires the grids it empties into their successors (posts, units, party
/// organisations, grants, visits and requests on the grid itself move there; the node is
/// deleted) and saves the new boundaries (derived from today's, checked to tile the
/// community); then rebuilds the routing index. Refused (409) when already applied or when
/// the community's division changed since the proposal (stale), and (422) when the
/// boundaries cannot follow (only some grids have one, two buildings at one point part, or
/// the result would not tile).
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
    let stale = || WebError::Conflict(tr.get("redivision.error.stale").to_owned());
    if record.applied_at.is_some() {
        return Err(WebError::Conflict(
            tr.get("redivision.error.applied").to_owned(),
        ));
    }
    let division = Division::load(state, &community).await?;
    // A proposal stored before grids were created and retired on apply does not say which
    // grid takes over an emptied one: it has to be made again.
    if division.fingerprint() != record.fingerprint || body.get("retired_grids").is_none() {
        return Err(stale());
    }
    let node = |v: &Value| -> Result<NodeId, WebError> {
        v.as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| WebError::Internal("a stored proposal lost a node id".into()))
    };
    let list = |key: &str| body[key].as_array().map_or(&[][..], |l| l.as_slice());

    // The grids to create, planned again from today's: another grid made meanwhile would
    // take a name or code the proposal showed.
    let stored_new = list("new_grids");
    let planned = division.plan_new_grids(&community, stored_new.len());
    let mut new_grids = Vec::with_capacity(planned.len());
    for (shown, plan) in stored_new.iter().zip(planned) {
        if shown["name"].as_str() != Some(plan.name.as_str())
            || shown["code"].as_str() != plan.code.as_deref()
        {
            return Err(stale());
        }
        let id = node(&shown["id"])?;
        new_grids.push(NodeRecord {
            path: community
                .path
                .child(NodeKind::Grid, id)
                .map_err(|e| WebError::Internal(Box::new(e)))?,
            name: plan.name,
            code: plan.code,
            sort_key: plan.sort_key,
            position: None,
            geometry: None,
            address: None,
            extra: Vec::new(),
        });
    }
    let moves = list("compound_moves")
        .iter()
        .map(|m| {
            Ok(CompoundMove {
                compound: node(&m["compound_id"])?,
                from: node(&m["from_grid_id"])?,
                to: node(&m["to_grid_id"])?,
            })
        })
        .collect::<Result<Vec<_>, WebError>>()?;
    let retired = list("retired_grids")
        .iter()
        .map(|r| {
            Ok(GridRetirement {
                grid: node(&r["id"])?,
                successor: node(&r["successor_id"])?,
            })
        })
        .collect::<Result<Vec<_>, WebError>>()?;
    let (boundaries, new_shapes) = new_boundaries(&division, &community, &moves, &new_grids)?;
    for (grid, shape) in new_grids.iter_mut().zip(new_shapes) {
        grid.geometry = shape;
    }
    let building_moves = list("moves");
    let applied = Applied {
        compounds: moves.len(),
        buildings: building_moves.len(),
        households: building_moves
            .iter()
            .filter_map(|m| m["households"].as_u64())
            .sum(),
        created_grids: new_grids.len(),
        retired_grids: retired.len(),
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
            "{}: {} {} ({} → {}; +{} -{})",
            community.name,
            record.id,
            applied.households,
            body["before"]["grids"],
            body["after"]["grids"],
            applied.created_grids,
            applied.retired_grids,
        ),
    };
    let change = RedivisionChange {
        new_grids: &new_grids,
        moves: &moves,
        retired: &retired,
        boundaries: &boundaries,
    };
    state
        .store
        .apply_redivision(auth.user.district, record.id, change, now, &audit)
        .await
        .map_err(|e| match e {
            mulin_storage::StoreError::Conflict(_) => stale(),
            other => other.into(),
        })?;
    state.grids.refresh(auth.user.district).await?;
    Ok(applied)
}

/// Boundary changes of today's grids that stay, as GeoJSON (`None` clears one), and the
/// new grids' boundaries; nothing when the community has no boundaries. Refused when they
/// cannot follow the moves or the result does not tile the community.
fn new_boundaries(
    division: &Division,
    community: &NodeRecord,
    moves: &[CompoundMove],
    new_grids: &[NodeRecord],
) -> Result<NewBoundaries, WebError> {
    let grid_idx: HashMap<NodeId, usize> = division
        .grids
        .iter()
        .chain(new_grids)
        .enumerate()
        .map(|(i, g)| (g.path.id(), i))
        .collect();
    let to: HashMap<NodeId, usize> = moves
        .iter()
        .filter_map(|m| Some((m.compound, *grid_idx.get(&m.to)?)))
        .collect();
    let mut shapes = match division.regrid(&to) {
        Boundaries::Absent => return Ok((Vec::new(), vec![None; new_grids.len()])),
        Boundaries::Refused(key) => return Err(WebError::Invalid(key)),
        Boundaries::Derived(shapes) => shapes,
    };
    shapes.resize(division.grids.len() + new_grids.len(), None);
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
    let geojson = |s: Option<Shape>| s.map(|s| mulin_geo::to_geojson(&s).to_string());
    let added = shapes.split_off(division.grids.len());
    let today = division.shapes();
    // A grid left without ground is retired, not kept without a boundary.
    let changed = division
        .grids
        .iter()
        .zip(shapes)
        .zip(today)
        .filter(|((_, new), old)| new.is_some() && new != old)
        .map(|((grid, new), _)| (grid.path.id(), geojson(new)))
        .collect();
    Ok((changed, added.into_iter().map(geojson).collect()))
}
