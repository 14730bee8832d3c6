//! Point → grid routing: [`GridIndex`], and [`BaselineIndex`] to measure it against.
//!
//! `GridIndex` lays a uniform raster of cells over the grids' bounding box. While building,
//! every cell that some boundary edge passes through (or comes within a hair of) is a
//! *boundary cell* and keeps a short list of candidate grids; every other cell lies wholly in
//! one face of the arrangement, so it records the one grid that holds it (or none). Most
//! points fall in such a cell and are answered with one array read and no polygon test;
//! the rest test only the cell's few candidates.
//!
//! # Which grid holds a point (the tie rule)
//! A point is in a grid when the half-open crossing rule says so: a horizontal ray to the
//! east crosses the grid's rings an odd number of times, an edge counting when one end lies
//! strictly above the point and the other at or below it. For two grids sharing an edge this
//! puts a point on the edge in exactly one of them: the grid to its east (for a horizontal
//! edge, the grid to its north). When grids overlap, the first grid in input order that holds
//! the point wins. [`locate_exact`] is this rule by brute force; the index answers the same.

use geo::{BoundingRect, Contains, Coord, MultiPolygon, Point};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

/// About this many raster cells per grid: a typical grid (32 × 32 cells) then has most of
/// its cells inside and only its rim, about 7%, on the boundary (`mulin bench geo` prints
/// the share; 256 per grid gave 14% and ran slower there).
pub const CELLS_PER_GRID: f64 = 1024.0;
/// The raster never has more cells than this (64 MiB of cells).
const MAX_CELLS: usize = 1 << 24;
/// A cell value with this bit set points at a candidate list.
const LIST_BIT: u32 = 1 << 31;

#[derive(Clone, Copy, Debug)]
struct Edge {
    x1: f64,
    y1: f64,
    x2: f64,
    y2: f64,
}

/// The edges of each grid (all rings of all parts) in one flat array.
#[derive(Clone, Debug, Default)]
struct Shapes {
    edges: Vec<Edge>,
    /// Grid `i` owns `edges[starts[i]..starts[i + 1]]`.
    starts: Vec<usize>,
    /// Each grid's bounding box: west, south, east, north.
    bounds: Vec<[f64; 4]>,
}

impl Shapes {
    fn new<'a>(shapes: impl Iterator<Item = &'a MultiPolygon<f64>>) -> Self {
        let mut out = Shapes {
            starts: vec![0],
            ..Shapes::default()
        };
        for shape in shapes {
            let mut b = [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ];
            for polygon in &shape.0 {
                for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                    for line in ring.lines() {
                        out.edges.push(Edge {
                            x1: line.start.x,
                            y1: line.start.y,
                            x2: line.end.x,
                            y2: line.end.y,
                        });
                        b[0] = b[0].min(line.start.x);
                        b[1] = b[1].min(line.start.y);
                        b[2] = b[2].max(line.start.x);
                        b[3] = b[3].max(line.start.y);
                    }
                }
            }
            out.starts.push(out.edges.len());
            out.bounds.push(b);
        }
        out
    }

    fn len(&self) -> usize {
        self.bounds.len()
    }

    /// The half-open crossing rule (see the module documentation).
    #[inline]
    fn holds(&self, grid: usize, x: f64, y: f64) -> bool {
        self.holds_with(
            grid,
            &self.edges[self.starts[grid]..self.starts[grid + 1]],
            x,
            y,
        )
    }

    /// The crossing rule over `edges`: all of the grid's edges, or those whose y-span
    /// meets a band the point lies in (the others cannot cross its ray, so the answer is
    /// the same to the bit).
    #[inline]
    fn holds_with(&self, grid: usize, edges: &[Edge], x: f64, y: f64) -> bool {
        let b = &self.bounds[grid];
        if x < b[0] || x > b[2] || y < b[1] || y > b[3] {
            return false;
        }
        let mut inside = false;
        for e in edges {
            if (e.y1 > y) != (e.y2 > y) {
                let cross = e.x1 + (y - e.y1) * (e.x2 - e.x1) / (e.y2 - e.y1);
                if x < cross {
                    inside = !inside;
                }
            }
        }
        inside
    }
}

/// The exact answer by brute force: the first grid, in input order, that holds the point
/// under the half-open crossing rule. The reference the index is tested against.
pub fn locate_exact<K: Copy>(grids: &[(K, MultiPolygon<f64>)], lon: f64, lat: f64) -> Option<K> {
    let shapes = Shapes::new(grids.iter().map(|(_, s)| s));
    (0..shapes.len())
        .find(|&g| shapes.holds(g, lon, lat))
        .map(|g| grids[g].0)
}

/// A grid to test in a boundary cell, with its edges near the cell's row.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    grid: u32,
    start: u32,
    end: u32,
}

/// Point → grid, answered mostly from a raster without a polygon test.
#[derive(Clone, Debug)]
pub struct GridIndex<K> {
    keys: Vec<K>,
    shapes: Shapes,
    west: f64,
    south: f64,
    /// Cells per degree of longitude and latitude.
    scale_x: f64,
    scale_y: f64,
    nx: usize,
    ny: usize,
    /// 0: no grid; `g + 1`: wholly in grid `g`; `LIST_BIT | l`: test candidate list `l`.
    cells: Vec<u32>,
    /// List `l` is `list_items[list_starts[l]..list_starts[l + 1]]`, grids in input order.
    list_starts: Vec<u32>,
    list_items: Vec<Candidate>,
    /// For each (raster row, grid) that a candidate needs: the grid's edges whose y-span
    /// meets the row's band, so a boundary lookup tests a few edges, not the whole ring.
    band_edges: Vec<Edge>,
}

/// How much of the index's raster the lookups can answer without a polygon test.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct IndexStats {
    /// Grids indexed.
    pub grids: usize,
    /// Raster cells.
    pub cells: usize,
    /// Cells that need a polygon test.
    pub boundary_cells: usize,
    /// Average candidates in a boundary cell.
    pub mean_candidates: f64,
}

impl<K: Copy> GridIndex<K> {
    /// Builds the index with the default resolution (about 1,024 cells per grid).
    pub fn new(grids: &[(K, MultiPolygon<f64>)]) -> Self {
        Self::with_cells_per_grid(grids, CELLS_PER_GRID)
    }

    /// Builds the index with about `cells_per_grid` raster cells per grid.
    pub fn with_cells_per_grid(grids: &[(K, MultiPolygon<f64>)], cells_per_grid: f64) -> Self {
        let keys: Vec<K> = grids.iter().map(|(k, _)| *k).collect();
        let shapes = Shapes::new(grids.iter().map(|(_, s)| s));
        let mut bbox = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for b in &shapes.bounds {
            bbox = [
                bbox[0].min(b[0]),
                bbox[1].min(b[1]),
                bbox[2].max(b[2]),
                bbox[3].max(b[3]),
            ];
        }
        let mut index = GridIndex {
            keys,
            shapes,
            west: 0.0,
            south: 0.0,
            scale_x: 1.0,
            scale_y: 1.0,
            nx: 0,
            ny: 0,
            cells: Vec::new(),
            list_starts: vec![0],
            list_items: Vec::new(),
            band_edges: Vec::new(),
        };
        if !(bbox[0].is_finite()
            && bbox[1].is_finite()
            && bbox[2].is_finite()
            && bbox[3].is_finite())
        {
            return index;
        }
        // Square cells (in degrees); a zero-width box still gets one cell across.
        let width = (bbox[2] - bbox[0]).max(1e-9);
        let height = (bbox[3] - bbox[1]).max(1e-9);
        let target = (cells_per_grid.max(1.0) * index.keys.len() as f64).min(MAX_CELLS as f64);
        let side = (width * height / target).sqrt();
        let nx = ((width / side).ceil() as usize).clamp(1, MAX_CELLS);
        let ny = ((height / side).ceil() as usize).clamp(1, (MAX_CELLS / nx).max(1));
        // The raster reaches a little past the east and north edges, so every vertex maps
        // to a cell inside it.
        index.west = bbox[0];
        index.south = bbox[1];
        index.scale_x = nx as f64 / (width * (1.0 + 1e-9));
        index.scale_y = ny as f64 / (height * (1.0 + 1e-9));
        index.nx = nx;
        index.ny = ny;
        index.fill();
        index
    }

    fn cell_w(&self) -> f64 {
        1.0 / self.scale_x
    }

    fn cell_h(&self) -> f64 {
        1.0 / self.scale_y
    }

    fn col(&self, x: f64) -> usize {
        (((x - self.west) * self.scale_x).floor().max(0.0) as usize).min(self.nx - 1)
    }

    fn row(&self, y: f64) -> usize {
        (((y - self.south) * self.scale_y).floor().max(0.0) as usize).min(self.ny - 1)
    }

    fn centre(&self, col: usize, row: usize) -> (f64, f64) {
        (
            self.west + (col as f64 + 0.5) * self.cell_w(),
            self.south + (row as f64 + 0.5) * self.cell_h(),
        )
    }

    fn fill(&mut self) {
        let n_cells = self.nx * self.ny;
        // A margin far above rounding error and far below a cell: an edge this close to a
        // cell counts as passing through it.
        let eps_x = self.cell_w() * 1e-6;
        let eps_y = self.cell_h() * 1e-6;
        let mut boundary = vec![false; n_cells];
        // (cell, grid): the grid is a candidate in that boundary cell.
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for grid in 0..self.shapes.len() {
            let (start, end) = (self.shapes.starts[grid], self.shapes.starts[grid + 1]);
            for e in start..end {
                let edge = self.shapes.edges[e];
                self.edge_cells(edge, eps_x, eps_y, |cell| {
                    boundary[cell] = true;
                    pairs.push((cell as u32, grid as u32));
                });
            }
        }
        self.cells = vec![0; n_cells];
        let mut assigned = vec![false; n_cells];
        for grid in 0..self.shapes.len() {
            let b = self.shapes.bounds[grid];
            let (c0, c1) = (self.col(b[0]), self.col(b[2]));
            let (r0, r1) = (self.row(b[1]), self.row(b[3]));
            for row in r0..=r1 {
                for col in c0..=c1 {
                    let cell = row * self.nx + col;
                    if !boundary[cell] && assigned[cell] {
                        continue;
                    }
                    let (x, y) = self.centre(col, row);
                    if !self.shapes.holds(grid, x, y) {
                        continue;
                    }
                    if boundary[cell] {
                        // The grid has no edge here but may hold the whole cell under
                        // another grid's edges (overlapping input): keep it a candidate.
                        pairs.push((cell as u32, grid as u32));
                    } else {
                        // No edge of any grid comes near the cell, so every grid holds
                        // either all of it or none: the first that holds its centre wins.
                        self.cells[cell] = grid as u32 + 1;
                        assigned[cell] = true;
                    }
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        let mut bands: std::collections::HashMap<(usize, u32), (u32, u32)> =
            std::collections::HashMap::new();
        let mut i = 0;
        while i < pairs.len() {
            let cell = pairs[i].0;
            let list = (self.list_starts.len() - 1) as u32;
            while i < pairs.len() && pairs[i].0 == cell {
                let grid = pairs[i].1;
                let row = cell as usize / self.nx;
                let (start, end) = match bands.get(&(row, grid)) {
                    Some(range) => *range,
                    None => {
                        let lo = self.south + row as f64 * self.cell_h() - eps_y;
                        let hi = self.south + (row + 1) as f64 * self.cell_h() + eps_y;
                        let g = grid as usize;
                        let start = self.band_edges.len() as u32;
                        for e in
                            &self.shapes.edges[self.shapes.starts[g]..self.shapes.starts[g + 1]]
                        {
                            if e.y1.max(e.y2) >= lo && e.y1.min(e.y2) <= hi {
                                self.band_edges.push(*e);
                            }
                        }
                        let range = (start, self.band_edges.len() as u32);
                        bands.insert((row, grid), range);
                        range
                    }
                };
                self.list_items.push(Candidate { grid, start, end });
                i += 1;
            }
            self.list_starts.push(self.list_items.len() as u32);
            self.cells[cell as usize] = LIST_BIT | list;
        }
    }

    /// Calls `mark` with every cell the edge passes through or comes within `eps` of.
    fn edge_cells(&self, e: Edge, eps_x: f64, eps_y: f64, mut mark: impl FnMut(usize)) {
        let (ylo, yhi) = (e.y1.min(e.y2) - eps_y, e.y1.max(e.y2) + eps_y);
        let (r0, r1) = (self.row(ylo), self.row(yhi));
        let dy = e.y2 - e.y1;
        for row in r0..=r1 {
            let band_lo = self.south + row as f64 * self.cell_h() - eps_y;
            let band_hi = self.south + (row + 1) as f64 * self.cell_h() + eps_y;
            // The part of the edge inside this row's band (widened by eps).
            let (xa, xb) = if dy.abs() < f64::MIN_POSITIVE {
                (e.x1, e.x2)
            } else {
                let ta = ((band_lo - e.y1) / dy).clamp(0.0, 1.0);
                let tb = ((band_hi - e.y1) / dy).clamp(0.0, 1.0);
                (e.x1 + ta * (e.x2 - e.x1), e.x1 + tb * (e.x2 - e.x1))
            };
            let (c0, c1) = (self.col(xa.min(xb) - eps_x), self.col(xa.max(xb) + eps_x));
            for col in c0..=c1 {
                mark(row * self.nx + col);
            }
        }
    }

    /// The grid holding the point (longitude, latitude in degrees), under the module's tie
    /// rule; `None` outside every grid.
    #[inline]
    pub fn locate(&self, lon: f64, lat: f64) -> Option<K> {
        let fx = (lon - self.west) * self.scale_x;
        let fy = (lat - self.south) * self.scale_y;
        // Also false for NaN.
        if !(fx >= 0.0 && fy >= 0.0 && fx < self.nx as f64 && fy < self.ny as f64) {
            return None;
        }
        let cell = fy as usize * self.nx + fx as usize;
        let value = *self.cells.get(cell)?;
        if value & LIST_BIT == 0 {
            return match value {
                0 => None,
                g => self.keys.get(g as usize - 1).copied(),
            };
        }
        let list = (value & !LIST_BIT) as usize;
        let (start, end) = (
            *self.list_starts.get(list)? as usize,
            *self.list_starts.get(list + 1)? as usize,
        );
        self.list_items[start..end]
            .iter()
            .find(|c| {
                self.shapes.holds_with(
                    c.grid as usize,
                    &self.band_edges[c.start as usize..c.end as usize],
                    lon,
                    lat,
                )
            })
            .and_then(|c| self.keys.get(c.grid as usize).copied())
    }

    /// Grids in the index.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the index has no grid.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// How the raster came out.
    pub fn stats(&self) -> IndexStats {
        let lists = self.list_starts.len() - 1;
        IndexStats {
            grids: self.keys.len(),
            cells: self.cells.len(),
            boundary_cells: lists,
            mean_candidates: if lists == 0 {
                0.0
            } else {
                self.list_items.len() as f64 / lists as f64
            },
        }
    }
}

/// The plain approach, for comparison: an R-tree of bounding boxes, then geo's exact
/// `Contains` on each candidate (first in input order wins). `Contains` leaves points on
/// the boundary out, so on edges it may differ from [`GridIndex`]; it is a speed baseline.
pub struct BaselineIndex<K> {
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
    grids: Vec<(K, MultiPolygon<f64>)>,
}

impl<K: Copy> BaselineIndex<K> {
    /// Builds the R-tree.
    pub fn new(grids: &[(K, MultiPolygon<f64>)]) -> Self {
        let boxes = grids
            .iter()
            .enumerate()
            .filter_map(|(i, (_, shape))| {
                let r = shape.bounding_rect()?;
                Some(GeomWithData::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i,
                ))
            })
            .collect();
        BaselineIndex {
            tree: RTree::bulk_load(boxes),
            grids: grids.to_vec(),
        }
    }

    /// The first grid (in input order) whose polygon contains the point.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<K> {
        let point = Point(Coord { x: lon, y: lat });
        self.tree
            .locate_all_at_point(&[lon, lat])
            .map(|hit| hit.data)
            .filter(|&i| self.grids[i].1.contains(&point))
            .min()
            .map(|i| self.grids[i].0)
    }

    /// The bounding box of everything indexed.
    pub fn envelope(&self) -> AABB<[f64; 2]> {
        self.tree.root().envelope()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth;
    use proptest::prelude::*;

    fn square(x: f64, y: f64, side: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![geo::Polygon::new(
            geo::LineString::from(vec![
                (x, y),
                (x + side, y),
                (x + side, y + side),
                (x, y + side),
                (x, y),
            ]),
            vec![],
        )])
    }

    #[test]
    fn shared_edges_go_east_and_north() {
        let grids = vec![(1, square(0.0, 0.0, 1.0)), (2, square(1.0, 0.0, 1.0))];
        let index = GridIndex::new(&grids);
        assert_eq!(index.locate(1.0, 0.5), Some(2));
        assert_eq!(index.locate(0.0, 0.5), Some(1));
        assert_eq!(index.locate(2.0, 0.5), None);
        assert_eq!(index.locate(0.5, 0.0), Some(1));
        assert_eq!(index.locate(0.5, 1.0), None);
        assert_eq!(index.locate(f64::NAN, 0.5), None);
        assert_eq!(index.locate(-0.1, 0.5), None);
        let empty: GridIndex<u32> = GridIndex::new(&[]);
        assert_eq!(empty.locate(0.5, 0.5), None);
        assert!(empty.is_empty());
    }

    #[test]
    fn overlapping_grids_first_wins_and_holes_are_empty() {
        let outer = geo::Polygon::new(
            geo::LineString::from(vec![
                (0.0, 0.0),
                (4.0, 0.0),
                (4.0, 4.0),
                (0.0, 4.0),
                (0.0, 0.0),
            ]),
            vec![geo::LineString::from(vec![
                (1.0, 1.0),
                (3.0, 1.0),
                (3.0, 3.0),
                (1.0, 3.0),
                (1.0, 1.0),
            ])],
        );
        let grids = vec![
            (7, MultiPolygon(vec![outer])),
            (8, square(0.5, 0.5, 1.0)),
            (9, square(3.5, 3.5, 2.0)),
        ];
        let index = GridIndex::with_cells_per_grid(&grids, 400.0);
        assert_eq!(index.locate(2.0, 2.0), None);
        assert_eq!(index.locate(0.7, 0.7), Some(7));
        assert_eq!(index.locate(1.2, 1.2), Some(8));
        assert_eq!(index.locate(3.7, 3.7), Some(7));
        assert_eq!(index.locate(4.5, 4.5), Some(9));
        assert!(index.stats().boundary_cells > 0);
    }

    #[test]
    fn synthetic_tiling_mostly_answers_without_a_polygon_test() {
        let grids = synth::wiggly_tiling(20, 20, 7);
        let index = GridIndex::new(&grids);
        let stats = index.stats();
        assert!(stats.boundary_cells * 3 < stats.cells, "{stats:?}");
        // Every cell of a tiling has a grid: a point inside the box is always routed.
        let b = &index.shapes.bounds;
        let (w, s) = (b[0][0], b[0][1]);
        assert!(index.locate(w + 1e-9, s + 1e-9).is_some());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn agrees_with_brute_force_on_wiggly_tilings(
            seed in any::<u64>(),
            nx in 1usize..6,
            ny in 1usize..6,
            cells_per_grid in 1.0f64..600.0,
            points in proptest::collection::vec((0.0f64..1.0, 0.0f64..1.0), 200),
        ) {
            let grids = synth::wiggly_tiling(nx, ny, seed);
            let index = GridIndex::with_cells_per_grid(&grids, cells_per_grid);
            let (w, s, e, n) = synth::extent(&grids);
            for (fx, fy) in points {
                // Spread over a box a little larger than the tiling.
                let x = w - 0.1 * (e - w) + fx * 1.2 * (e - w);
                let y = s - 0.1 * (n - s) + fy * 1.2 * (n - s);
                prop_assert_eq!(index.locate(x, y), locate_exact(&grids, x, y));
            }
            // Points exactly on vertices and edge midpoints.
            for (_, shape) in grids.iter().take(4) {
                for line in shape.0[0].exterior().lines() {
                    for (x, y) in [
                        (line.start.x, line.start.y),
                        ((line.start.x + line.end.x) / 2.0, (line.start.y + line.end.y) / 2.0),
                    ] {
                        prop_assert_eq!(index.locate(x, y), locate_exact(&grids, x, y));
                    }
                }
            }
        }

        #[test]
        fn agrees_with_brute_force_on_random_overlapping_squares(
            squares in proptest::collection::vec((0.0f64..10.0, 0.0f64..10.0, 0.1f64..4.0), 1..12),
            points in proptest::collection::vec((-1.0f64..15.0, -1.0f64..15.0), 200),
        ) {
            let grids: Vec<(usize, MultiPolygon<f64>)> = squares
                .iter()
                .enumerate()
                .map(|(i, &(x, y, side))| (i, square(x, y, side)))
                .collect();
            let index = GridIndex::new(&grids);
            for (x, y) in points {
                prop_assert_eq!(index.locate(x, y), locate_exact(&grids, x, y));
            }
            for &(x, y, side) in &squares {
                for (px, py) in [(x, y), (x + side, y + side / 2.0), (x + side / 3.0, y + side)] {
                    prop_assert_eq!(index.locate(px, py), locate_exact(&grids, px, py));
                }
            }
        }
    }

    #[test]
    fn baseline_finds_the_same_grid_inside() {
        let grids = synth::wiggly_tiling(8, 8, 3);
        let index = GridIndex::new(&grids);
        let baseline = BaselineIndex::new(&grids);
        let (w, s, e, n) = synth::extent(&grids);
        let env = baseline.envelope();
        assert!(env.lower()[0] <= w && env.upper()[1] >= n);
        let mut agree = 0;
        for i in 0..50 {
            for j in 0..50 {
                let x = w + (e - w) * (i as f64 + 0.37) / 50.0;
                let y = s + (n - s) * (j as f64 + 0.61) / 50.0;
                if baseline.locate(x, y) == index.locate(x, y) {
                    agree += 1;
                }
            }
        }
        assert_eq!(agree, 2500);
    }
}
