//! Do a community's grids tile it? No invalid ring, no overlap, no gap, nothing outside.
//!
//! # Areas
//! Areas are in square metres on a local equirectangular projection centred on the
//! community (x = R·cos φ₀·Δλ, y = R·Δφ with R = 6,371,008.8 m, the mean Earth radius). Over
//! a community's few kilometres it differs from the geodesic area by well under 0.1%, far
//! below the tolerance that matters here; all boolean operations run in those metres too.
//!
//! # The outline
//! The caller says what the grids must cover: the community's own stored geometry when it
//! has one, else the union of the grids' previous boundaries (see the web layer). With no
//! outline, only rings and overlaps are checked.

use geo::line_intersection::{line_intersection, LineIntersection};
use geo::{
    unary_union, Area, BooleanOps, BoundingRect, Distance, Euclidean, InteriorPoint, Line,
    MapCoords, MultiPolygon, Polygon, Rect, Validation,
};

use crate::shape::ShapeError;

pub use geo::Coord;

/// A grid's or community's boundary, in degrees.
pub type Shape = MultiPolygon<f64>;

/// The union of some boundaries (e.g. a community's outline from its grids' previous
/// boundaries).
pub fn union(shapes: &[Shape]) -> Shape {
    unary_union(shapes)
}

/// Mean Earth radius in metres (IUGG).
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// What counts as a real overlap, gap or overhang.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Tolerance {
    /// Pieces smaller than this (m²) are rounding, not a violation.
    pub min_area_m2: f64,
    /// A grid this close (m) to a gap is named as its neighbour.
    pub neighbour_m: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            min_area_m2: 1.0,
            neighbour_m: 1.0,
        }
    }
}

/// What is wrong with a ring.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RingProblem {
    /// Fewer than three distinct points.
    TooFewPoints,
    /// The ring crosses itself.
    SelfIntersection,
    /// A coordinate is not a finite number.
    NonFinite,
    /// A hole lies outside its polygon's outer ring.
    HoleOutside,
    /// Two rings of one polygon cross or share an edge.
    RingsCross,
}

/// One reason a set of grids does not tile its community. `K` names a grid.
#[derive(Clone, PartialEq, Debug)]
pub enum Violation<K> {
    /// The grid's geometry could not be read as a polygon.
    Geometry {
        /// The grid.
        grid: K,
        /// Why.
        problem: ShapeError,
    },
    /// The grid's polygon is not valid.
    InvalidRing {
        /// The grid.
        grid: K,
        /// Where (longitude, latitude).
        at: Coord,
        /// What.
        problem: RingProblem,
    },
    /// Two grids cover the same ground.
    Overlap {
        /// The two grids, in input order.
        grids: [K; 2],
        /// A point inside the (largest piece of the) overlap.
        at: Coord,
        /// The overlap's area in m².
        area_m2: f64,
    },
    /// Ground of the community that no grid covers.
    Gap {
        /// Grids bordering the gap.
        next_to: Vec<K>,
        /// A point inside the gap.
        at: Coord,
        /// Its area in m².
        area_m2: f64,
    },
    /// Part of a grid lies outside its community.
    Outside {
        /// The grid.
        grid: K,
        /// A point inside the (largest) part outside.
        at: Coord,
        /// The area outside, m².
        area_m2: f64,
    },
}

/// Local equirectangular projection to metres around a centre.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Local {
    lon0: f64,
    lat0: f64,
    kx: f64,
    ky: f64,
}

impl Local {
    pub(crate) fn around(rect: Rect<f64>) -> Self {
        let c = rect.center();
        let ky = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
        Local {
            lon0: c.x,
            lat0: c.y,
            kx: ky * c.y.to_radians().cos(),
            ky,
        }
    }

    pub(crate) fn to_m(self, c: Coord) -> Coord {
        Coord {
            x: (c.x - self.lon0) * self.kx,
            y: (c.y - self.lat0) * self.ky,
        }
    }

    pub(crate) fn to_deg(self, c: Coord) -> Coord {
        Coord {
            x: self.lon0 + c.x / self.kx,
            y: self.lat0 + c.y / self.ky,
        }
    }

    pub(crate) fn shape(self, s: &MultiPolygon<f64>) -> MultiPolygon<f64> {
        s.map_coords(|c| self.to_m(c))
    }
}

/// The area (m², projected) of a grid's geometry given in degrees, on the module's local
/// projection around the grid itself.
pub fn area_m2(shape: &MultiPolygon<f64>) -> f64 {
    match shape.bounding_rect() {
        Some(rect) => Local::around(rect).shape(shape).unsigned_area(),
        None => 0.0,
    }
}

/// The largest piece's interior point and the total area, if the total passes `min`.
fn significant(pieces: &MultiPolygon<f64>, min: f64) -> Option<(Coord, f64)> {
    let total = pieces.unsigned_area();
    if total < min {
        return None;
    }
    let largest = pieces
        .0
        .iter()
        .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))?;
    let at = largest.interior_point()?;
    Some((at.0, total))
}

/// Checks that `grids` tile `outline`. Returns every violation found (empty: they tile it).
///
/// Grids with an invalid polygon are reported and left out of the other checks; the gap
/// check runs only when every grid is valid (a left-out grid would show as a false gap).
pub fn validate_tiling<K: Clone>(
    outline: Option<&MultiPolygon<f64>>,
    grids: &[(K, MultiPolygon<f64>)],
    tolerance: &Tolerance,
) -> Vec<Violation<K>> {
    let mut violations = Vec::new();
    let mut valid: Vec<(K, MultiPolygon<f64>)> = Vec::new();
    for (key, shape) in grids {
        match ring_problem(shape) {
            Some((at, problem)) => violations.push(Violation::InvalidRing {
                grid: key.clone(),
                at,
                problem,
            }),
            None => valid.push((key.clone(), shape.clone())),
        }
    }
    let all_valid = valid.len() == grids.len();
    let mut extent: Option<Rect<f64>> = outline.and_then(BoundingRect::bounding_rect);
    for (_, shape) in &valid {
        if let Some(r) = shape.bounding_rect() {
            extent = Some(match extent {
                Some(e) => Rect::new(
                    Coord {
                        x: e.min().x.min(r.min().x),
                        y: e.min().y.min(r.min().y),
                    },
                    Coord {
                        x: e.max().x.max(r.max().x),
                        y: e.max().y.max(r.max().y),
                    },
                ),
                None => r,
            });
        }
    }
    let Some(extent) = extent else {
        return violations;
    };
    let local = Local::around(extent);
    let min = tolerance.min_area_m2;
    let projected: Vec<(K, MultiPolygon<f64>, Option<Rect<f64>>)> = valid
        .into_iter()
        .map(|(k, s)| {
            let m = local.shape(&s);
            let r = m.bounding_rect();
            (k, m, r)
        })
        .collect();

    for (i, (ka, a, ra)) in projected.iter().enumerate() {
        for (kb, b, rb) in &projected[i + 1..] {
            let (Some(ra), Some(rb)) = (ra, rb) else {
                continue;
            };
            if !boxes_overlap(ra, rb) {
                continue;
            }
            if let Some((at, area_m2)) = significant(&a.intersection(b), min) {
                violations.push(Violation::Overlap {
                    grids: [ka.clone(), kb.clone()],
                    at: local.to_deg(at),
                    area_m2,
                });
            }
        }
    }

    let Some(outline) = outline else {
        return violations;
    };
    let outline = local.shape(outline);
    for (k, shape, _) in &projected {
        if let Some((at, area_m2)) = significant(&shape.difference(&outline), min) {
            violations.push(Violation::Outside {
                grid: k.clone(),
                at: local.to_deg(at),
                area_m2,
            });
        }
    }
    if all_valid {
        let union = unary_union(projected.iter().map(|(_, s, _)| s));
        let gaps = outline.difference(&union);
        for piece in &gaps.0 {
            let area_m2 = piece.unsigned_area();
            if area_m2 < min {
                continue;
            }
            let Some(at) = piece.interior_point() else {
                continue;
            };
            let next_to = projected
                .iter()
                .filter(|(_, s, _)| {
                    s.0.iter()
                        .any(|p| Euclidean.distance(p, piece) <= tolerance.neighbour_m)
                })
                .map(|(k, _, _)| k.clone())
                .collect();
            violations.push(Violation::Gap {
                next_to,
                at: local.to_deg(at.0),
                area_m2,
            });
        }
    }
    violations
}

fn boxes_overlap(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x < b.max().x && b.min().x < a.max().x && a.min().y < b.max().y && b.min().y < a.max().y
}

/// The first thing wrong with a shape's rings, and where.
fn ring_problem(shape: &MultiPolygon<f64>) -> Option<(Coord, RingProblem)> {
    use geo::algorithm::validation::InvalidPolygon;
    for polygon in &shape.0 {
        let first = polygon
            .exterior()
            .0
            .first()
            .copied()
            .unwrap_or(Coord { x: 0.0, y: 0.0 });
        let Some(error) = polygon.validation_errors().into_iter().next() else {
            continue;
        };
        let found = match error {
            InvalidPolygon::TooFewPointsInRing(_) => (first, RingProblem::TooFewPoints),
            InvalidPolygon::SelfIntersection(_) => (
                crossing_point(polygon).unwrap_or(first),
                RingProblem::SelfIntersection,
            ),
            InvalidPolygon::NonFiniteCoord(_, _) => (first, RingProblem::NonFinite),
            InvalidPolygon::InteriorRingNotContainedInExteriorRing(_) => {
                (first, RingProblem::HoleOutside)
            }
            InvalidPolygon::IntersectingRingsOnALine(_, _)
            | InvalidPolygon::IntersectingRingsOnAnArea(_, _) => (
                crossing_point(polygon).unwrap_or(first),
                RingProblem::RingsCross,
            ),
        };
        return Some(found);
    }
    // Two parts of one multipolygon that overlap are also invalid.
    if !shape.is_valid() {
        let first = shape
            .0
            .first()
            .and_then(|p| p.exterior().0.first().copied())
            .unwrap_or(Coord { x: 0.0, y: 0.0 });
        return Some((first, RingProblem::RingsCross));
    }
    None
}

/// Where two non-adjacent edges of a polygon's rings meet (brute force; rings of at most a
/// few thousand edges).
fn crossing_point(polygon: &Polygon<f64>) -> Option<Coord> {
    const MAX_EDGES: usize = 4_000;
    let rings: Vec<Vec<Line<f64>>> = std::iter::once(polygon.exterior())
        .chain(polygon.interiors())
        .map(|r| r.lines().collect())
        .collect();
    let edges: Vec<(usize, usize, Line<f64>)> = rings
        .iter()
        .enumerate()
        .flat_map(|(r, lines)| lines.iter().enumerate().map(move |(i, l)| (r, i, *l)))
        .collect();
    if edges.len() > MAX_EDGES {
        return None;
    }
    for (a, &(ra, ia, la)) in edges.iter().enumerate() {
        for &(rb, ib, lb) in &edges[a + 1..] {
            if ra == rb {
                let n = rings[ra].len();
                // Neighbours along the ring share an end by construction.
                if ib == ia + 1 || (ia == 0 && ib + 1 == n) {
                    continue;
                }
            }
            match line_intersection(la, lb) {
                Some(LineIntersection::SinglePoint { intersection, .. }) => {
                    return Some(intersection)
                }
                Some(LineIntersection::Collinear { intersection }) => {
                    return Some(intersection.start)
                }
                None => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{self, rectangle};
    use geo::{LineString, Polygon};
    use proptest::prelude::*;

    fn keys<K: Clone>(v: &[Violation<K>]) -> Vec<Vec<K>> {
        v.iter()
            .map(|v| match v {
                Violation::Geometry { grid, .. }
                | Violation::InvalidRing { grid, .. }
                | Violation::Outside { grid, .. } => vec![grid.clone()],
                Violation::Overlap { grids, .. } => grids.to_vec(),
                Violation::Gap { next_to, .. } => next_to.clone(),
            })
            .collect()
    }

    /// A guillotine tiling of the rectangle: split `depth` times at the given fractions.
    fn guillotine(
        rect: (f64, f64, f64, f64),
        cuts: &[(bool, f64)],
        out: &mut Vec<(f64, f64, f64, f64)>,
    ) {
        let Some((&(vertical, f), rest)) = cuts.split_first() else {
            out.push(rect);
            return;
        };
        let (w, s, e, n) = rect;
        let (a, b) = if vertical {
            let x = w + (e - w) * f;
            ((w, s, x, n), (x, s, e, n))
        } else {
            let y = s + (n - s) * f;
            ((w, s, e, y), (w, y, e, n))
        };
        let (left, right) = rest.split_at(rest.len() / 2);
        guillotine(a, left, out);
        guillotine(b, right, out);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn random_rectangle_tilings_pass(
            cuts in proptest::collection::vec((any::<bool>(), 0.2f64..0.8), 0..9),
        ) {
            let outline = (113.08, 40.22, 113.092, 40.23);
            let mut cells = Vec::new();
            guillotine(outline, &cuts, &mut cells);
            let grids: Vec<(usize, MultiPolygon<f64>)> = cells
                .iter()
                .enumerate()
                .map(|(i, &(w, s, e, n))| (i, rectangle(w, s, e, n)))
                .collect();
            let outline = rectangle(outline.0, outline.1, outline.2, outline.3);
            let found = validate_tiling(Some(&outline), &grids, &Tolerance::default());
            prop_assert!(found.is_empty(), "{:?}", found);
        }

        #[test]
        fn moving_a_shared_edge_makes_exactly_one_overlap_or_gap(
            split in 0.3f64..0.7,
            shift_m in 5.0f64..50.0,
            east in any::<bool>(),
        ) {
            // Two grids side by side in a community 1.2 km × 1.1 km.
            let (w, s, e, n) = (113.08, 40.22, 113.094, 40.23);
            let x = w + (e - w) * split;
            let outline = rectangle(w, s, e, n);
            let local = Local::around(Rect::new(Coord { x: w, y: s }, Coord { x: e, y: n }));
            let dx = shift_m / local.kx;
            let height_m = (n - s) * local.ky;
            // Move the western grid's east edge: east overlaps its neighbour, west leaves a gap.
            let moved = if east { x + dx } else { x - dx };
            let grids = vec![(1, rectangle(w, s, moved, n)), (2, rectangle(x, s, e, n))];
            let found = validate_tiling(Some(&outline), &grids, &Tolerance::default());
            prop_assert_eq!(found.len(), 1, "{:?}", found);
            let expected = shift_m * height_m;
            match &found[0] {
                Violation::Overlap { grids, area_m2, at } if east => {
                    prop_assert_eq!(grids, &[1, 2]);
                    prop_assert!((area_m2 - expected).abs() < expected * 0.01);
                    prop_assert!(at.x > x && at.x < moved && at.y > s && at.y < n);
                }
                Violation::Gap { next_to, area_m2, at } if !east => {
                    prop_assert_eq!(next_to, &vec![1, 2]);
                    prop_assert!((area_m2 - expected).abs() < expected * 0.01);
                    prop_assert!(at.x > moved && at.x < x);
                }
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }

    #[test]
    fn wiggly_tilings_pass_and_missing_one_cell_is_a_gap_named_by_its_neighbours() {
        let grids = synth::wiggly_tiling(5, 4, 99);
        let (w, s, e, n) = synth::extent(&grids);
        let outline = rectangle(w, s, e, n);
        let found = validate_tiling(Some(&outline), &grids, &Tolerance::default());
        assert!(found.is_empty(), "{found:?}");

        // Drop cell 7 (row 1, column 2): a gap bordered by its four lattice neighbours (and
        // possibly diagonal ones whose corners touch).
        let without: Vec<_> = grids.iter().filter(|(k, _)| *k != 7).cloned().collect();
        let found = validate_tiling(Some(&outline), &without, &Tolerance::default());
        assert_eq!(found.len(), 1, "{found:?}");
        let Violation::Gap {
            next_to,
            area_m2,
            at,
        } = &found[0]
        else {
            panic!("{found:?}")
        };
        for k in [2, 6, 8, 12] {
            assert!(next_to.contains(&k), "{next_to:?}");
        }
        let cell = &grids[7].1;
        assert!((area_m2 - area_m2_of(cell)).abs() < area_m2 * 0.01);
        assert_eq!(crate::locate_exact(&grids, at.x, at.y), Some(7));
    }

    fn area_m2_of(shape: &MultiPolygon<f64>) -> f64 {
        area_m2(shape)
    }

    #[test]
    fn grid_outside_its_community_and_bad_rings_are_named() {
        let outline = rectangle(113.0, 40.0, 113.01, 40.01);
        let bowtie = MultiPolygon(vec![Polygon::new(
            LineString::from(vec![
                (113.0, 40.0),
                (113.01, 40.01),
                (113.01, 40.0),
                (113.0, 40.01),
                (113.0, 40.0),
            ]),
            vec![],
        )]);
        let grids = vec![
            ("a", rectangle(113.0, 40.0, 113.005, 40.01)),
            ("b", rectangle(113.005, 40.0, 113.011, 40.01)),
            ("c", bowtie),
        ];
        let found = validate_tiling(Some(&outline), &grids, &Tolerance::default());
        assert_eq!(keys(&found), vec![vec!["c"], vec!["b"]], "{found:?}");
        let Violation::InvalidRing { at, problem, .. } = &found[0] else {
            panic!()
        };
        assert_eq!(*problem, RingProblem::SelfIntersection);
        assert!(
            (at.x - 113.005).abs() < 1e-9 && (at.y - 40.005).abs() < 1e-9,
            "{at:?}"
        );
        let Violation::Outside { area_m2, .. } = &found[1] else {
            panic!()
        };
        // 0.001° of longitude × 0.01° of latitude at 40°N ≈ 85 m × 1112 m.
        assert!((area_m2 - 94_700.0).abs() < 1_000.0, "{area_m2}");
    }

    #[test]
    fn without_an_outline_only_rings_and_overlaps_count() {
        let grids = vec![
            (1, rectangle(113.0, 40.0, 113.005, 40.01)),
            (2, rectangle(113.006, 40.0, 113.01, 40.01)),
        ];
        assert!(validate_tiling(None, &grids, &Tolerance::default()).is_empty());
        let empty: Vec<(u8, MultiPolygon<f64>)> = Vec::new();
        assert!(validate_tiling(None, &empty, &Tolerance::default()).is_empty());
        let outline = rectangle(113.0, 40.0, 113.01, 40.01);
        let found = validate_tiling(Some(&outline), &empty, &Tolerance::default());
        assert_eq!(found.len(), 1);
        assert!(matches!(&found[0], Violation::Gap { next_to, .. } if next_to.is_empty()));
    }
}
