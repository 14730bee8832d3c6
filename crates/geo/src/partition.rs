//! Balanced re-division of a community's buildings into grids (issue 4, seed 002: "以常住户
//! 300—500户的若干楼栋为单位划分网格", 31 grids re-divided into 27).
//!
//! The unit that moves is a *block*: the buildings between the same roads and walls (in the
//! web layer, one compound). A block is never split. Blocks are adjacent when they are
//! neighbours in the k-nearest-neighbour graph of their centroids ([`BlockGraph::build`]):
//! the data holds building points, not block polygons, so adjacency is derived from
//! positions; the graph is made symmetric and then connected by linking each stray
//! component to its nearest block elsewhere.
//!
//! Two modes:
//! - [`propose`]: recursive coordinate bisection by households into the wanted number of
//!   grids, then contiguity repair, then local search.
//! - [`rebalance`]: keep an existing division but reach a target count, dissolving the
//!   grids that cost least to dissolve into their neighbours, then the same local search,
//!   which here never trades away households kept in their old grid for compactness.
//!
//! The local search moves one boundary block at a time (never disconnecting its grid) and
//! pushes households along chains of neighbouring grids when no single move helps, or
//! trades blocks with a neighbour (a chain that comes back to the grid it starts from). It
//! minimises, in this order: households outside the range, households moved from their old
//! grid (rebalance only), and the compactness cost.
//!
//! **Compactness** is measured as the households' mean distance to their grid's household
//! centroid, in metres (lower is more compact); the search minimises the matching moment
//! of inertia (sum of households × squared distance). [`quality`] reports it for any
//! assignment, so reference partitioners are judged by the same measure.

use std::collections::VecDeque;

use rstar::primitives::GeomWithData;
use rstar::RTree;

/// Neighbours per block in the adjacency graph.
const NEIGHBOURS: usize = 6;
/// Metres per degree of latitude.
const M_PER_DEG: f64 = 110_540.0;
/// Metres per degree of longitude at the equator.
const M_PER_DEG_LON: f64 = 111_320.0;
/// Passes of the local search over every boundary block.
const MAX_PASSES: usize = 30;
/// Longest chain of grids households are pushed along to fix a grid out of range.
const CHAIN: usize = 3;

/// One building: its block (any key; equal keys are one block), households and position
/// (WGS-84 longitude, latitude).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Building {
    /// The block it stands in.
    pub block: usize,
    /// Households living in it.
    pub households: u32,
    /// Longitude in degrees.
    pub lon: f64,
    /// Latitude in degrees.
    pub lat: f64,
}

/// The households a grid may hold, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    min: u64,
    max: u64,
}

impl Range {
    /// A range of at least one household with `min <= max`.
    pub fn new(min: u64, max: u64) -> Result<Self, PartitionError> {
        if min == 0 || min > max {
            return Err(PartitionError::BadRange);
        }
        Ok(Self { min, max })
    }

    /// The smallest allowed grid.
    pub fn min(&self) -> u64 {
        self.min
    }

    /// The largest allowed grid.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Households outside the range.
    fn penalty(&self, w: u64) -> u64 {
        self.min.saturating_sub(w) + w.saturating_sub(self.max)
    }
}

/// Why no division was made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PartitionError {
    /// The range is empty or starts at zero.
    #[error("bad household range")]
    BadRange,
    /// No buildings, or none with households.
    #[error("no households to divide")]
    Empty,
    /// More grids asked for than there are blocks, or none.
    #[error("cannot make {0} grids of these blocks")]
    BadCount(usize),
    /// The old assignment does not give one grid per block.
    #[error("the old division does not cover every block")]
    BadOld,
}

/// Blocks with their households, centroids (metres on a local projection) and adjacency.
#[derive(Clone, Debug)]
pub struct BlockGraph {
    /// The caller's block key of each block, in block order.
    pub keys: Vec<usize>,
    /// Households per block.
    pub weight: Vec<u64>,
    /// Centroid per block, metres east and north of the buildings' mean position.
    pub at: Vec<[f64; 2]>,
    /// Sorted neighbour lists.
    pub adj: Vec<Vec<usize>>,
    /// Block index of each input building.
    pub block_of_building: Vec<usize>,
}

impl BlockGraph {
    /// Groups buildings into blocks and derives block adjacency from centroids.
    pub fn build(buildings: &[Building]) -> Result<Self, PartitionError> {
        if buildings.is_empty() {
            return Err(PartitionError::Empty);
        }
        let n_b = buildings.len() as f64;
        let lon0 = buildings.iter().map(|b| b.lon).sum::<f64>() / n_b;
        let lat0 = buildings.iter().map(|b| b.lat).sum::<f64>() / n_b;
        let kx = M_PER_DEG_LON * lat0.to_radians().cos();
        let mut index = std::collections::HashMap::new();
        let mut keys = Vec::new();
        let mut sums: Vec<(u64, f64, f64, f64)> = Vec::new();
        let mut block_of_building = Vec::with_capacity(buildings.len());
        for b in buildings {
            let idx = *index.entry(b.block).or_insert_with(|| {
                keys.push(b.block);
                sums.push((0, 0.0, 0.0, 0.0));
                keys.len() - 1
            });
            block_of_building.push(idx);
            let s = &mut sums[idx];
            s.0 += u64::from(b.households);
            s.1 += (b.lon - lon0) * kx;
            s.2 += (b.lat - lat0) * M_PER_DEG;
            s.3 += 1.0;
        }
        if sums.iter().all(|s| s.0 == 0) {
            return Err(PartitionError::Empty);
        }
        let weight: Vec<u64> = sums.iter().map(|s| s.0).collect();
        let at: Vec<[f64; 2]> = sums.iter().map(|s| [s.1 / s.3, s.2 / s.3]).collect();
        let adj = adjacency(&at);
        Ok(Self {
            keys,
            weight,
            at,
            adj,
            block_of_building,
        })
    }

    /// Number of blocks.
    pub fn len(&self) -> usize {
        self.weight.len()
    }

    /// Whether there are no blocks (never true for a built graph).
    pub fn is_empty(&self) -> bool {
        self.weight.is_empty()
    }

    /// All households.
    pub fn total(&self) -> u64 {
        self.weight.iter().sum()
    }
}

fn dist2(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)
}

/// The symmetric k-nearest-neighbour graph of the points, connected.
fn adjacency(at: &[[f64; 2]]) -> Vec<Vec<usize>> {
    let n = at.len();
    let tree = RTree::bulk_load(
        at.iter()
            .enumerate()
            .map(|(i, p)| GeomWithData::new(*p, i))
            .collect(),
    );
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, p) in at.iter().enumerate() {
        for nb in tree
            .nearest_neighbor_iter(p)
            .filter(|g| g.data != i)
            .take(NEIGHBOURS)
        {
            adj[i].push(nb.data);
            adj[nb.data].push(i);
        }
    }
    loop {
        let comp = components(n, &adj, |_| true);
        let count = comp.iter().copied().max().map_or(0, |m| m + 1);
        if count <= 1 {
            break;
        }
        // Link the smallest component to the nearest block outside it.
        let mut sizes = vec![0usize; count];
        for &c in &comp {
            sizes[c] += 1;
        }
        let small = (0..count).min_by_key(|&c| sizes[c]).unwrap_or(0);
        let mut best: Option<(f64, usize, usize)> = None;
        for i in (0..n).filter(|&i| comp[i] == small) {
            if let Some(nb) = tree
                .nearest_neighbor_iter(&at[i])
                .find(|g| comp[g.data] != small)
            {
                let d = dist2(at[i], at[nb.data]);
                if best.is_none_or(|b| d < b.0) {
                    best = Some((d, i, nb.data));
                }
            }
        }
        match best {
            Some((_, a, b)) => {
                adj[a].push(b);
                adj[b].push(a);
            }
            None => break,
        }
    }
    for list in &mut adj {
        list.sort_unstable();
        list.dedup();
    }
    adj
}

/// Component number of each node among those `keep` admits (others get `usize::MAX`).
fn components(n: usize, adj: &[Vec<usize>], keep: impl Fn(usize) -> bool) -> Vec<usize> {
    let mut comp = vec![usize::MAX; n];
    let mut next = 0;
    let mut queue = VecDeque::new();
    for start in 0..n {
        if comp[start] != usize::MAX || !keep(start) {
            continue;
        }
        comp[start] = next;
        queue.push_back(start);
        while let Some(v) = queue.pop_front() {
            for &u in &adj[v] {
                if comp[u] == usize::MAX && keep(u) {
                    comp[u] = next;
                    queue.push_back(u);
                }
            }
        }
        next += 1;
    }
    comp
}

/// Whether every grid's blocks form one connected piece of the block graph.
pub fn is_contiguous(graph: &BlockGraph, grid_of_block: &[usize]) -> bool {
    // Walk only edges whose ends share a grid: a grid met twice is in two pieces.
    let n = graph.len();
    let mut seen_grid = std::collections::HashSet::new();
    let mut visited = vec![false; n];
    for start in 0..n {
        if visited[start] {
            continue;
        }
        if !seen_grid.insert(grid_of_block[start]) {
            return false;
        }
        visited[start] = true;
        let mut queue = VecDeque::from([start]);
        while let Some(v) = queue.pop_front() {
            for &u in &graph.adj[v] {
                if !visited[u] && grid_of_block[u] == grid_of_block[v] {
                    visited[u] = true;
                    queue.push_back(u);
                }
            }
        }
    }
    true
}

/// The grid count `propose` picks: as near the range's middle as the total allows.
pub fn natural_count(total: u64, range: Range) -> usize {
    let mid = (range.min + range.max) as f64 / 2.0;
    let lo = total.div_ceil(range.max).max(1);
    let hi = (total / range.min).max(lo);
    ((total as f64 / mid).round() as u64).clamp(lo, hi) as usize
}

/// A new division into `count` grids (or [`natural_count`]): grid numbers `0..count` per
/// block.
pub fn propose(
    graph: &BlockGraph,
    range: Range,
    count: Option<usize>,
) -> Result<Vec<usize>, PartitionError> {
    let k = count.unwrap_or_else(|| natural_count(graph.total(), range));
    if k == 0 || k > graph.len() {
        return Err(PartitionError::BadCount(k));
    }
    let first = divide(graph, range, k);
    if first.0 == 0 || count.is_some() {
        return Ok(first.1);
    }
    // Left to choose the count, try one grid more or less when some grid is out of range.
    let total = graph.total();
    let others = [k + 1, k - 1]
        .into_iter()
        .filter(|&c| c > 0 && c <= graph.len())
        .filter(|&c| total.div_ceil(c as u64) <= range.max && total / c as u64 >= range.min)
        .map(|c| divide(graph, range, c));
    Ok(std::iter::once(first)
        .chain(others)
        .min_by_key(|(penalty, _)| *penalty)
        .map(|(_, grid)| grid)
        .unwrap_or_default())
}

/// Bisection and local search into `k` grids: households out of range and the division.
fn divide(graph: &BlockGraph, range: Range, k: usize) -> (u64, Vec<usize>) {
    let mut grid = vec![0usize; graph.len()];
    let mut blocks: Vec<usize> = (0..graph.len()).collect();
    let mut next = 0;
    bisect(graph, &mut blocks, k, &mut grid, &mut next);
    let mut search = Search::new(graph, range, grid, k, None);
    search.make_contiguous();
    search.improve();
    (search.total_penalty(), search.grid)
}

/// Splits `blocks` into `k` grids by households across the longer side, recursively.
fn bisect(
    graph: &BlockGraph,
    blocks: &mut [usize],
    k: usize,
    grid: &mut [usize],
    next: &mut usize,
) {
    if k <= 1 || blocks.len() <= 1 {
        for &b in blocks.iter() {
            grid[b] = *next;
        }
        *next += 1;
        // More grids than blocks never reaches here: `k <= len` is kept below.
        return;
    }
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for &b in blocks.iter() {
        for d in 0..2 {
            lo[d] = lo[d].min(graph.at[b][d]);
            hi[d] = hi[d].max(graph.at[b][d]);
        }
    }
    let axis = usize::from(hi[1] - lo[1] > hi[0] - lo[0]);
    blocks.sort_by(|&a, &b| graph.at[a][axis].total_cmp(&graph.at[b][axis]));
    let k1 = k / 2;
    let total: u64 = blocks.iter().map(|&b| graph.weight[b]).sum();
    let goal = total as f64 * k1 as f64 / k as f64;
    let mut acc = 0u64;
    let mut cut = blocks.len();
    for (i, &b) in blocks.iter().enumerate() {
        let before = acc as f64;
        acc += graph.weight[b];
        if acc as f64 >= goal {
            cut = if goal - before < acc as f64 - goal {
                i
            } else {
                i + 1
            };
            break;
        }
    }
    // Each side needs at least as many blocks as grids.
    let cut = cut.clamp(k1, blocks.len() - (k - k1));
    let (left, right) = blocks.split_at_mut(cut);
    bisect(graph, left, k1, grid, next);
    bisect(graph, right, k - k1, grid, next);
}

/// Re-balances `old` (a grid number per block) to `target` grids. Kept grids keep their
/// numbers; dissolved ones disappear, and when more grids are wanted, the heaviest are
/// split and the new halves numbered after the largest old number.
pub fn rebalance(
    graph: &BlockGraph,
    range: Range,
    old: &[usize],
    target: usize,
) -> Result<Vec<usize>, PartitionError> {
    if old.len() != graph.len() {
        return Err(PartitionError::BadOld);
    }
    if target == 0 || target > graph.len() {
        return Err(PartitionError::BadCount(target));
    }
    let labels = old.iter().copied().max().map_or(0, |m| m + 1);
    let mut search = Search::new(graph, range, old.to_vec(), labels, Some(old));
    search.make_contiguous();
    while search.live() < target {
        if !search.split_heaviest() {
            return Err(PartitionError::BadCount(target));
        }
    }
    while search.live() > target {
        search.dissolve_cheapest();
    }
    search.improve();
    Ok(search.grid)
}

/// Renumbers `new` (a part number per block, from any partitioner) so that each part takes
/// the number of the old grid it shares most households with, greedily by largest overlap,
/// each old number used once; parts left over get numbers after the old ones.
pub fn match_to_old(graph: &BlockGraph, old: &[usize], new: &[usize]) -> Vec<usize> {
    let mut overlap = std::collections::HashMap::<(usize, usize), u64>::new();
    for (b, (&o, &n)) in old.iter().zip(new).enumerate() {
        *overlap.entry((n, o)).or_default() += graph.weight[b];
    }
    let mut pairs: Vec<((usize, usize), u64)> = overlap.into_iter().collect();
    pairs.sort_by_key(|&((n, o), w)| (std::cmp::Reverse(w), n, o));
    let mut to = std::collections::HashMap::new();
    let mut taken = std::collections::HashSet::new();
    for ((n, o), _) in pairs {
        if !to.contains_key(&n) && taken.insert(o) {
            to.insert(n, o);
        }
    }
    let mut fresh = old.iter().copied().max().map_or(0, |m| m + 1);
    let mut parts: Vec<usize> = new.to_vec();
    parts.sort_unstable();
    parts.dedup();
    for n in parts {
        to.entry(n).or_insert_with(|| {
            fresh += 1;
            fresh - 1
        });
    }
    new.iter()
        .map(|n| to.get(n).copied().unwrap_or(*n))
        .collect()
}

/// A grid's outline for display: the convex hull of its buildings (longitude, latitude),
/// each widened to a square `pad_m` metres either way so one or two buildings still make
/// an area.
pub fn outline(points: &[(f64, f64)], pad_m: f64) -> geo::MultiPolygon<f64> {
    use geo::ConvexHull;
    let corners: Vec<geo::Point<f64>> = points
        .iter()
        .flat_map(|&(lon, lat)| {
            let dx = pad_m / (M_PER_DEG_LON * lat.to_radians().cos());
            let dy = pad_m / M_PER_DEG;
            [(-dx, -dy), (dx, -dy), (dx, dy), (-dx, dy)]
                .map(|(x, y)| geo::Point::new(lon + x, lat + y))
        })
        .collect();
    geo::MultiPolygon(vec![geo::MultiPoint(corners).convex_hull()])
}

/// What a division is worth, by the measures the benchmark compares.
#[derive(Clone, Debug, PartialEq)]
pub struct Quality {
    /// Grids with at least one household.
    pub grids: usize,
    /// Households of the smallest grid.
    pub min_households: u64,
    /// Households of the largest grid.
    pub max_households: u64,
    /// Grids inside the range.
    pub in_range: usize,
    /// Mean absolute deviation of grid households from the mean grid, as a share of it.
    pub deviation: f64,
    /// Households' mean distance to their grid's centroid, metres.
    pub mean_distance_m: f64,
    /// Whether every grid is one connected piece.
    pub contiguous: bool,
    /// Households still in their old grid (when an old division is given).
    pub kept: Option<u64>,
}

/// Measures a division (grid number per block), optionally against an old one.
pub fn quality(
    graph: &BlockGraph,
    range: Range,
    grid_of_block: &[usize],
    old: Option<&[usize]>,
) -> Quality {
    let labels = grid_of_block.iter().copied().max().map_or(0, |m| m + 1);
    let mut w = vec![0u64; labels];
    let mut s = vec![[0.0f64; 2]; labels];
    for (b, &g) in grid_of_block.iter().enumerate() {
        w[g] += graph.weight[b];
        s[g][0] += graph.weight[b] as f64 * graph.at[b][0];
        s[g][1] += graph.weight[b] as f64 * graph.at[b][1];
    }
    let mut distance = 0.0;
    for (b, &g) in grid_of_block.iter().enumerate() {
        if w[g] > 0 {
            let c = [s[g][0] / w[g] as f64, s[g][1] / w[g] as f64];
            distance += graph.weight[b] as f64 * dist2(graph.at[b], c).sqrt();
        }
    }
    let used: Vec<u64> = w.iter().copied().filter(|&x| x > 0).collect();
    let total: u64 = used.iter().sum();
    let mean = total as f64 / used.len().max(1) as f64;
    let deviation = used.iter().map(|&x| (x as f64 - mean).abs()).sum::<f64>()
        / used.len().max(1) as f64
        / mean.max(1.0);
    Quality {
        grids: used.len(),
        min_households: used.iter().copied().min().unwrap_or(0),
        max_households: used.iter().copied().max().unwrap_or(0),
        in_range: used
            .iter()
            .filter(|&&x| x >= range.min && x <= range.max)
            .count(),
        deviation,
        mean_distance_m: distance / total.max(1) as f64,
        contiguous: is_contiguous(graph, grid_of_block),
        kept: old.map(|old| {
            old.iter()
                .zip(grid_of_block)
                .enumerate()
                .filter(|(_, (o, n))| o == n)
                .map(|(b, _)| graph.weight[b])
                .sum()
        }),
    }
}

/// Lexicographic change of the objective: (households out of range, households moved from
/// their old grid, moment of inertia). Negative is better.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Delta {
    penalty: i64,
    moved: i64,
    cost: f64,
}

impl Delta {
    fn better(&self) -> bool {
        self.penalty < 0
            || (self.penalty == 0 && self.moved < 0)
            || (self.penalty == 0 && self.moved == 0 && self.cost < -1e-6)
    }
}

/// The local search state: a grid number per block and per-grid sums.
struct Search<'a> {
    graph: &'a BlockGraph,
    range: Range,
    old: Option<&'a [usize]>,
    grid: Vec<usize>,
    members: Vec<Vec<usize>>,
    w: Vec<u64>,
    sx: Vec<f64>,
    sy: Vec<f64>,
    q: Vec<f64>,
}

impl<'a> Search<'a> {
    fn new(
        graph: &'a BlockGraph,
        range: Range,
        grid: Vec<usize>,
        labels: usize,
        old: Option<&'a [usize]>,
    ) -> Self {
        let mut s = Self {
            graph,
            range,
            old,
            grid: grid.clone(),
            members: vec![Vec::new(); labels],
            w: vec![0; labels],
            sx: vec![0.0; labels],
            sy: vec![0.0; labels],
            q: vec![0.0; labels],
        };
        for (b, &g) in grid.iter().enumerate() {
            s.add(b, g);
        }
        s
    }

    fn live(&self) -> usize {
        self.members.iter().filter(|m| !m.is_empty()).count()
    }

    fn add(&mut self, b: usize, g: usize) {
        let (wb, p) = (self.graph.weight[b], self.graph.at[b]);
        self.grid[b] = g;
        self.members[g].push(b);
        self.w[g] += wb;
        self.sx[g] += wb as f64 * p[0];
        self.sy[g] += wb as f64 * p[1];
        self.q[g] += wb as f64 * (p[0] * p[0] + p[1] * p[1]);
    }

    fn remove(&mut self, b: usize) {
        let g = self.grid[b];
        let (wb, p) = (self.graph.weight[b], self.graph.at[b]);
        if let Some(pos) = self.members[g].iter().position(|&x| x == b) {
            self.members[g].swap_remove(pos);
        }
        self.w[g] -= wb;
        self.sx[g] -= wb as f64 * p[0];
        self.sy[g] -= wb as f64 * p[1];
        self.q[g] -= wb as f64 * (p[0] * p[0] + p[1] * p[1]);
    }

    fn relabel(&mut self, b: usize, to: usize) {
        self.remove(b);
        self.add(b, to);
    }

    /// Moment of inertia of a grid with the given sums.
    fn inertia(w: f64, sx: f64, sy: f64, q: f64) -> f64 {
        if w <= 0.0 {
            0.0
        } else {
            q - (sx * sx + sy * sy) / w
        }
    }

    fn delta(&self, b: usize, to: usize) -> Delta {
        let from = self.grid[b];
        let (wb, p) = (self.graph.weight[b], self.graph.at[b]);
        let (wf, wt) = (self.w[from], self.w[to]);
        let penalty = (self.range.penalty(wf - wb) + self.range.penalty(wt + wb)) as i64
            - (self.range.penalty(wf) + self.range.penalty(wt)) as i64;
        let moved = match self.old {
            Some(old) if old[b] == from => wb as i64,
            Some(old) if old[b] == to => -(wb as i64),
            _ => 0,
        };
        let (fx, fy, fq) = (
            wb as f64 * p[0],
            wb as f64 * p[1],
            wb as f64 * dist2(p, [0.0; 2]),
        );
        let before = Self::inertia(wf as f64, self.sx[from], self.sy[from], self.q[from])
            + Self::inertia(wt as f64, self.sx[to], self.sy[to], self.q[to]);
        let after = Self::inertia(
            (wf - wb) as f64,
            self.sx[from] - fx,
            self.sy[from] - fy,
            self.q[from] - fq,
        ) + Self::inertia(
            (wt + wb) as f64,
            self.sx[to] + fx,
            self.sy[to] + fy,
            self.q[to] + fq,
        );
        Delta {
            penalty,
            moved,
            cost: after - before,
        }
    }

    /// Whether grid `g` stays connected without block `b`.
    fn stays_connected_without(&self, b: usize) -> bool {
        let g = self.grid[b];
        let members = &self.members[g];
        if members.len() <= 1 {
            return false;
        }
        let Some(&start) = members.iter().find(|&&x| x != b) else {
            return false;
        };
        let mut seen = vec![start];
        let mut queue = vec![start];
        while let Some(v) = queue.pop() {
            for &u in &self.graph.adj[v] {
                if u != b && self.grid[u] == g && !seen.contains(&u) {
                    seen.push(u);
                    queue.push(u);
                }
            }
        }
        seen.len() == members.len() - 1
    }

    /// Grids other than `b`'s that `b` touches.
    fn neighbour_grids(&self, b: usize) -> Vec<usize> {
        let mut out: Vec<usize> = self.graph.adj[b]
            .iter()
            .map(|&u| self.grid[u])
            .filter(|&g| g != self.grid[b])
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Gives every stray piece of a grid to the neighbouring grid it touches most.
    fn make_contiguous(&mut self) {
        let n = self.graph.len();
        let labels = self.members.len();
        for g in 0..labels {
            if self.members[g].len() <= 1 {
                continue;
            }
            let comp = components(n, &self.graph.adj, |b| self.grid[b] == g);
            let count = self.members[g]
                .iter()
                .map(|&b| comp[b])
                .max()
                .map_or(0, |m| m + 1);
            if count <= 1 {
                continue;
            }
            let mut weight = vec![0u64; count];
            for &b in &self.members[g] {
                weight[comp[b]] += self.graph.weight[b];
            }
            let main = (0..count)
                .max_by_key(|&c| (weight[c], usize::MAX - c))
                .unwrap_or(0);
            for c in (0..count).filter(|&c| c != main) {
                let piece: Vec<usize> = self.members[g]
                    .iter()
                    .copied()
                    .filter(|&b| comp[b] == c)
                    .collect();
                let mut touches: Vec<usize> = piece
                    .iter()
                    .flat_map(|&b| self.graph.adj[b].iter().map(|&u| self.grid[u]))
                    .filter(|&h| h != g)
                    .collect();
                touches.sort_unstable();
                // The most touched grid; a piece touching none cannot exist in a connected
                // graph unless it is the whole grid, which `main` is not.
                let Some(to) = mode(&touches) else { continue };
                for b in piece {
                    self.relabel(b, to);
                }
            }
        }
    }

    /// Local search: single boundary moves, then chains, until nothing improves.
    fn improve(&mut self) {
        for _ in 0..MAX_PASSES {
            let mut changed = false;
            for b in 0..self.graph.len() {
                let mut best: Option<(Delta, usize)> = None;
                for to in self.neighbour_grids(b) {
                    let d = self.delta(b, to);
                    if d.better()
                        && best.is_none_or(|(bd, _)| {
                            (d.penalty, d.moved) < (bd.penalty, bd.moved)
                                || ((d.penalty, d.moved) == (bd.penalty, bd.moved)
                                    && d.cost < bd.cost)
                        })
                    {
                        best = Some((d, to));
                    }
                }
                if let Some((_, to)) = best {
                    if self.stays_connected_without(b) {
                        self.relabel(b, to);
                        changed = true;
                    }
                }
            }
            if !changed && !self.push_chains() {
                break;
            }
        }
    }

    fn total_penalty(&self) -> u64 {
        self.members
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.is_empty())
            .map(|(g, _)| self.range.penalty(self.w[g]))
            .sum()
    }

    /// For each grid out of range, moves households along a short chain of neighbouring
    /// grids to (or from) one that can spare (or take) them, or trades blocks with a
    /// neighbour; keeps the first that lowers the households out of range. Returns whether
    /// any was kept.
    fn push_chains(&mut self) -> bool {
        let mut any = false;
        for g in 0..self.members.len() {
            if self.members[g].is_empty() || self.range.penalty(self.w[g]) == 0 {
                continue;
            }
            let short = self.w[g] < self.range.min;
            // A trade is a chain that comes back: a grid of two big blocks just over the
            // maximum (255 + 251) sheds one to a neighbour and takes smaller ones back,
            // which no chain away from it can do.
            let trades = self.grid_neighbours(g).into_iter().map(|h| vec![g, h, g]);
            for path in self.paths_from(g, short).into_iter().chain(trades) {
                if self.try_chain(&path, short) {
                    any = true;
                    break;
                }
            }
        }
        any
    }

    /// Passes blocks along `path`, link by link: towards `g` when it is short (each giver
    /// gives until its taker reaches the minimum), away from it otherwise (each giver gives
    /// until it is down to the maximum). The end of the path, which has room (or households
    /// to spare), must not leave the range by its own move. Undoes everything unless the
    /// households out of range drop.
    fn try_chain(&mut self, path: &[usize], short: bool) -> bool {
        const MOVES_PER_LINK: usize = 8;
        let before = self.total_penalty();
        let links: Vec<(usize, usize)> = if short {
            (1..path.len()).map(|i| (path[i], path[i - 1])).collect()
        } else {
            (0..path.len() - 1)
                .map(|i| (path[i], path[i + 1]))
                .collect()
        };
        let last = links.len().saturating_sub(1);
        let mut done: Vec<(usize, usize)> = Vec::new();
        let mut ok = true;
        'links: for (i, (giver, taker)) in links.into_iter().enumerate() {
            for _ in 0..MOVES_PER_LINK {
                let amount = if short {
                    self.range.min.saturating_sub(self.w[taker])
                } else {
                    self.w[giver].saturating_sub(self.range.max)
                };
                if amount == 0 {
                    continue 'links;
                }
                let limit = match (i == last, short) {
                    (false, _) => u64::MAX,
                    (true, true) => self.w[giver].saturating_sub(self.range.min),
                    (true, false) => self.range.max.saturating_sub(self.w[taker]),
                };
                let Some(b) = self.pick_block(giver, taker, amount, limit) else {
                    ok = false;
                    break 'links;
                };
                done.push((b, giver));
                self.relabel(b, taker);
            }
        }
        if ok && self.total_penalty() < before {
            return true;
        }
        for (b, giver) in done.into_iter().rev() {
            self.relabel(b, giver);
        }
        false
    }

    /// A boundary block of `giver` touching `taker` whose loss keeps `giver` connected,
    /// with at most `limit` households and as near `amount` as possible.
    fn pick_block(&self, giver: usize, taker: usize, amount: u64, limit: u64) -> Option<usize> {
        self.members[giver]
            .iter()
            .copied()
            .filter(|&b| self.graph.weight[b] <= limit)
            .filter(|&b| self.graph.adj[b].iter().any(|&u| self.grid[u] == taker))
            .filter(|&b| self.stays_connected_without(b))
            .min_by_key(|&b| (self.graph.weight[b].abs_diff(amount), b))
    }

    /// Simple paths of up to [`CHAIN`] links in the grid graph from `g` to grids that can
    /// give (when `short`) or take households without leaving the range, shortest first.
    fn paths_from(&self, g: usize, short: bool) -> Vec<Vec<usize>> {
        let fits = |h: usize| {
            if short {
                self.w[h] > self.range.min
            } else {
                self.w[h] < self.range.max
            }
        };
        let mut paths: Vec<Vec<usize>> = Vec::new();
        let mut stack: Vec<Vec<usize>> = vec![vec![g]];
        while let Some(path) = stack.pop() {
            let Some(&end) = path.last() else { continue };
            if path.len() > 1 && fits(end) {
                paths.push(path.clone());
            }
            if path.len() > CHAIN {
                continue;
            }
            for h in self.grid_neighbours(end) {
                if !path.contains(&h) {
                    let mut longer = path.clone();
                    longer.push(h);
                    stack.push(longer);
                }
            }
        }
        paths.sort_by_key(|p| p.len());
        paths
    }

    /// The grids touching grid `g`.
    fn grid_neighbours(&self, g: usize) -> Vec<usize> {
        let mut out: Vec<usize> = self.members[g]
            .iter()
            .flat_map(|&b| self.graph.adj[b].iter().map(|&u| self.grid[u]))
            .filter(|&h| h != g)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Dissolves the grid whose households its neighbours can best absorb: the lightest,
    /// counting double what would overflow their spare room. Its blocks go, from the
    /// boundary inwards, to the lightest neighbouring grid.
    fn dissolve_cheapest(&mut self) {
        let labels = self.members.len();
        let Some(g) = (0..labels)
            .filter(|&g| !self.members[g].is_empty())
            .min_by_key(|&g| {
                let mut around: Vec<usize> = self.members[g]
                    .iter()
                    .flat_map(|&b| self.neighbour_grids(b))
                    .collect();
                around.sort_unstable();
                around.dedup();
                let room: u64 = around
                    .iter()
                    .map(|&h| self.range.max.saturating_sub(self.w[h]))
                    .sum();
                (self.w[g] + 2 * self.w[g].saturating_sub(room), g)
            })
        else {
            return;
        };
        let mut left: Vec<usize> = self.members[g].clone();
        while !left.is_empty() {
            let before = left.len();
            let mut i = 0;
            while i < left.len() {
                let b = left[i];
                let to = self
                    .neighbour_grids(b)
                    .into_iter()
                    .min_by_key(|&h| (self.w[h], h));
                if let Some(to) = to {
                    self.relabel(b, to);
                    left.swap_remove(i);
                } else {
                    i += 1;
                }
            }
            if left.len() == before {
                // Unreachable in a connected graph with another grid; stop rather than spin.
                break;
            }
        }
    }

    /// Splits the heaviest grid in two by bisection; false when no grid has two blocks.
    fn split_heaviest(&mut self) -> bool {
        let Some(g) = (0..self.members.len())
            .filter(|&g| self.members[g].len() >= 2)
            .max_by_key(|&g| (self.w[g], usize::MAX - g))
        else {
            return false;
        };
        let mut blocks = self.members[g].clone();
        let mut part = vec![0usize; self.graph.len()];
        let mut next = 0;
        bisect(self.graph, &mut blocks, 2, &mut part, &mut next);
        let new = self.members.len();
        self.members.push(Vec::new());
        self.w.push(0);
        self.sx.push(0.0);
        self.sy.push(0.0);
        self.q.push(0.0);
        for b in blocks {
            if part[b] == 1 {
                self.relabel(b, new);
            }
        }
        self.make_contiguous();
        true
    }
}

/// The most frequent value of a sorted slice (the smallest on ties).
fn mode(sorted: &[usize]) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < sorted.len() {
        let j = sorted[i..]
            .iter()
            .position(|&x| x != sorted[i])
            .map_or(sorted.len(), |p| i + p);
        if best.is_none_or(|(_, c)| j - i > c) {
            best = Some((sorted[i], j - i));
        }
        i = j;
    }
    best.map(|(v, _)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::city;
    use proptest::prelude::*;

    fn range() -> Range {
        Range::new(300, 500).unwrap()
    }

    /// Grid households of a division.
    fn loads(graph: &BlockGraph, grid: &[usize]) -> Vec<u64> {
        let mut w = vec![0u64; grid.iter().max().unwrap() + 1];
        for (b, &g) in grid.iter().enumerate() {
            w[g] += graph.weight[b];
        }
        w.into_iter().filter(|&x| x > 0).collect()
    }

    #[test]
    fn ranges_reject_zero_and_reversed_ends() {
        assert_eq!(Range::new(0, 10), Err(PartitionError::BadRange));
        assert_eq!(Range::new(11, 10), Err(PartitionError::BadRange));
        assert!(Range::new(10, 10).is_ok());
    }

    #[test]
    fn natural_count_aims_at_the_middle_within_the_range() {
        assert_eq!(natural_count(4000, range()), 10);
        assert_eq!(natural_count(100, range()), 1);
        // 1,000 households: 2 grids of 500 (or 3 of 333); 4 is the middle's count but too small.
        assert_eq!(natural_count(1000, range()), 3);
    }

    #[test]
    fn a_city_is_divided_into_contiguous_grids_in_range() {
        let graph = BlockGraph::build(&city(3000, 7)).unwrap();
        let grid = propose(&graph, range(), None).unwrap();
        let q = quality(&graph, range(), &grid, None);
        assert!(q.contiguous);
        assert_eq!(q.in_range, q.grids, "{q:?}");
        assert!(q.grids.abs_diff(natural_count(graph.total(), range())) <= 1);
    }

    #[test]
    fn the_benchmark_city_has_every_grid_in_range() {
        // `mulin bench partition`'s 20,000 buildings: one grid of two blocks (255 + 251
        // households) ended 6 over the maximum until chains could come back as trades.
        let graph = BlockGraph::build(&city(20_000, 2026)).unwrap();
        let grid = propose(&graph, range(), None).unwrap();
        let q = quality(&graph, range(), &grid, None);
        assert!(q.contiguous);
        assert_eq!(q.in_range, q.grids, "{q:?}");
    }

    #[test]
    fn rebalancing_31_grids_to_27_keeps_most_households() {
        let graph = BlockGraph::build(&city(300, 3)).unwrap();
        let old = propose(&graph, Range::new(250, 500).unwrap(), Some(31)).unwrap();
        let new = rebalance(&graph, range(), &old, 27).unwrap();
        let q = quality(&graph, range(), &new, Some(&old));
        assert_eq!(q.grids, 27);
        assert!(q.contiguous);
        assert_eq!(q.in_range, 27, "{q:?}");
        let kept = q.kept.unwrap() as f64 / graph.total() as f64;
        assert!(kept >= 0.86, "kept {kept} {q:?}");
    }

    #[test]
    fn rebalancing_to_more_grids_splits_the_heaviest() {
        let graph = BlockGraph::build(&city(200, 5)).unwrap();
        let old = propose(&graph, range(), Some(10)).unwrap();
        let new = rebalance(&graph, range(), &old, 12).unwrap();
        let q = quality(&graph, range(), &new, Some(&old));
        assert_eq!(q.grids, 12);
        assert!(q.contiguous);
    }

    #[test]
    fn parts_take_the_old_number_they_overlap_most() {
        let graph = BlockGraph::build(&city(40, 2)).unwrap();
        let old: Vec<usize> = (0..graph.len()).map(|b| b % 3).collect();
        let new: Vec<usize> = old.iter().map(|o| (o + 1) % 3).collect();
        assert_eq!(match_to_old(&graph, &old, &new), old);
    }

    #[test]
    fn an_outline_covers_its_buildings_even_alone() {
        use geo::{Area, Contains};
        let one = outline(&[(113.0, 40.0)], 15.0);
        assert!(one.unsigned_area() > 0.0);
        let two = outline(&[(113.0, 40.0), (113.001, 40.001)], 15.0);
        assert!(two.contains(&geo::Point::new(113.0005, 40.0005)));
    }

    #[test]
    fn impossible_counts_are_refused() {
        let graph = BlockGraph::build(&city(10, 1)).unwrap();
        assert!(matches!(
            propose(&graph, range(), Some(graph.len() + 1)),
            Err(PartitionError::BadCount(_))
        ));
        assert_eq!(
            rebalance(&graph, range(), &[0], 1),
            Err(PartitionError::BadOld)
        );
        assert_eq!(BlockGraph::build(&[]).unwrap_err(), PartitionError::Empty);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn proposals_are_contiguous_conserve_households_and_keep_blocks_whole(
            n in 8usize..400, seed in any::<u64>()
        ) {
            let buildings = city(n, seed);
            let graph = BlockGraph::build(&buildings).unwrap();
            let grid = propose(&graph, range(), None).unwrap();
            prop_assert!(is_contiguous(&graph, &grid));
            prop_assert_eq!(loads(&graph, &grid).iter().sum::<u64>(),
                buildings.iter().map(|b| u64::from(b.households)).sum::<u64>());
            // Whole blocks: every building of a block lands in the block's one grid, and
            // buildings sharing a key share a block.
            for (i, b) in buildings.iter().enumerate() {
                prop_assert_eq!(graph.keys[graph.block_of_building[i]], b.block);
            }
            // 300–500 is reachable only when some count k has 300k ≤ total ≤ 500k (548
            // households fit neither one grid nor two). Blocks here hold at most ~410
            // households, so then it nearly always is; the heuristic is not exact: it still
            // leaves the odd grid a few households out of range, so this allows one grid in
            // ten (at least one).
            let total = graph.total();
            if 300 * total.div_ceil(500) <= total {
                let q = quality(&graph, range(), &grid, None);
                prop_assert!(q.grids - q.in_range <= (q.grids / 10).max(1), "{:?}", q);
            }
        }

        #[test]
        fn rebalances_reach_the_count_and_stay_contiguous(
            n in 60usize..400, seed in any::<u64>(), drop in 1usize..5
        ) {
            let graph = BlockGraph::build(&city(n, seed)).unwrap();
            let k = natural_count(graph.total(), Range::new(200, 400).unwrap());
            let old = propose(&graph, Range::new(200, 400).unwrap(), Some(k)).unwrap();
            let target = k.saturating_sub(drop).max(1);
            let new = rebalance(&graph, range(), &old, target).unwrap();
            let q = quality(&graph, range(), &new, Some(&old));
            prop_assert_eq!(q.grids, target);
            prop_assert!(q.contiguous);
            prop_assert_eq!(loads(&graph, &new).iter().sum::<u64>(), graph.total());
        }
    }
}
