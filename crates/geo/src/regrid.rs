//! Grid boundaries that follow a re-division (issue 4: apply a proposal "as an audited
//! change" and keep every community tiled).
//!
//! Blocks (compounds) carry no polygons in the data, only their buildings' points; grids
//! do. So each old grid whose buildings do not all go to one grid is cut into the Voronoi
//! cells of its buildings, clipped to the grid's polygon, and every cell goes with its
//! building to the building's new grid. The cells of one old grid tile it and the old grids
//! tile the community, so the new grids tile it too, by construction; the tiling validator
//! still checks the result before anything is saved, because the boolean operations round.
//! A grid that neither gains nor loses a building keeps its polygon exactly, and a moved
//! block takes the ground nearer to its buildings than to any other building of its old grid.

use geo::{unary_union, BooleanOps, BoundingRect, Coord, LineString, MultiPolygon, Polygon, Rect};

use crate::tiling::Local;

/// A building: the grid it is in now, the grid it goes to (numbers index the old grids'
/// list; a number past its end is a grid that does not exist yet), and its position.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Site {
    /// Its grid now.
    pub old: usize,
    /// Its grid after the re-division.
    pub new: usize,
    /// Longitude in degrees.
    pub lon: f64,
    /// Latitude in degrees.
    pub lat: f64,
}

/// Why no boundaries were derived.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RegridError {
    /// Two buildings at one point go to different grids: no line can part them.
    #[error("two buildings at one point go to different grids")]
    Coincident {
        /// The point (longitude, latitude).
        at: Coord,
    },
    /// A building's old grid is not in the list of old boundaries.
    #[error("a building is in grid {0}, which has no boundary")]
    UnknownGrid(usize),
}

/// The Voronoi cells going to one grid: its label and the cells.
type Cells = (usize, Vec<Polygon<f64>>);

/// Part of a new grid: a whole old grid (kept exact), or a cut piece in local metres.
enum Piece {
    Whole(usize),
    Cut(MultiPolygon<f64>),
}

/// The new boundary of every grid: index `g` is grid `g`'s ground after the buildings move
/// (`None` for a grid left with none). `old[g]` is grid `g`'s boundary today.
pub fn regrid(
    old: &[MultiPolygon<f64>],
    sites: &[Site],
) -> Result<Vec<Option<MultiPolygon<f64>>>, RegridError> {
    let labels = sites
        .iter()
        .map(|s| s.new + 1)
        .chain([old.len()])
        .max()
        .unwrap_or(0);
    let mut by_old: Vec<Vec<&Site>> = vec![Vec::new(); old.len()];
    for site in sites {
        by_old
            .get_mut(site.old)
            .ok_or(RegridError::UnknownGrid(site.old))?
            .push(site);
    }
    let Some(local) = extent(old).map(Local::around) else {
        return Ok(vec![None; labels]);
    };
    let mut pieces: Vec<Vec<Piece>> = (0..labels).map(|_| Vec::new()).collect();
    for (g, mine) in by_old.iter().enumerate() {
        let mut targets: Vec<usize> = mine.iter().map(|s| s.new).collect();
        targets.sort_unstable();
        targets.dedup();
        match targets.as_slice() {
            [] => pieces[g].push(Piece::Whole(g)),
            [one] => pieces[*one].push(Piece::Whole(g)),
            _ => {
                let ground = local.shape(&old[g]);
                for (label, cells) in voronoi(local, mine, &ground)? {
                    let piece = unary_union(&cells).intersection(&ground);
                    pieces[label].push(Piece::Cut(piece));
                }
            }
        }
    }
    Ok(pieces
        .into_iter()
        .map(|parts| match parts.as_slice() {
            [] => None,
            [Piece::Whole(g)] => Some(old[*g].clone()),
            _ => {
                let metres: Vec<MultiPolygon<f64>> = parts
                    .iter()
                    .map(|p| match p {
                        Piece::Whole(g) => local.shape(&old[*g]),
                        Piece::Cut(m) => m.clone(),
                    })
                    .collect();
                let union = unary_union(&metres);
                Some(geo::MapCoords::map_coords(&union, |c| local.to_deg(c)))
            }
        })
        .collect())
}

/// The bounding box of all the shapes, if any has one.
fn extent(shapes: &[MultiPolygon<f64>]) -> Option<Rect<f64>> {
    shapes
        .iter()
        .filter_map(BoundingRect::bounding_rect)
        .reduce(|a, b| {
            Rect::new(
                Coord {
                    x: a.min().x.min(b.min().x),
                    y: a.min().y.min(b.min().y),
                },
                Coord {
                    x: a.max().x.max(b.max().x),
                    y: a.max().y.max(b.max().y),
                },
            )
        })
}

/// The Voronoi cells (local metres, over a box holding `ground` and every site) of the
/// sites' distinct points, grouped by the sites' new grid.
fn voronoi(
    local: Local,
    sites: &[&Site],
    ground: &MultiPolygon<f64>,
) -> Result<Vec<Cells>, RegridError> {
    let mut points: Vec<(Coord, usize, Coord)> = sites
        .iter()
        .map(|s| {
            let at = Coord { x: s.lon, y: s.lat };
            (local.to_m(at), s.new, at)
        })
        .collect();
    points.sort_by(|a, b| a.0.x.total_cmp(&b.0.x).then(a.0.y.total_cmp(&b.0.y)));
    let mut unique: Vec<(Coord, usize)> = Vec::with_capacity(points.len());
    for (p, label, at) in points {
        match unique.last() {
            Some((q, other)) if *q == p => {
                if *other != label {
                    return Err(RegridError::Coincident { at });
                }
            }
            _ => unique.push((p, label)),
        }
    }
    let (mut lo, mut hi) = match ground.bounding_rect() {
        Some(r) => (r.min(), r.max()),
        None => (unique[0].0, unique[0].0),
    };
    for (p, _) in &unique {
        lo = Coord {
            x: lo.x.min(p.x),
            y: lo.y.min(p.y),
        };
        hi = Coord {
            x: hi.x.max(p.x),
            y: hi.y.max(p.y),
        };
    }
    // A margin keeps every cell's clipping box strictly around the ground.
    let margin = (hi.x - lo.x).max(hi.y - lo.y) + 1.0;
    let frame = vec![
        Coord {
            x: lo.x - margin,
            y: lo.y - margin,
        },
        Coord {
            x: hi.x + margin,
            y: lo.y - margin,
        },
        Coord {
            x: hi.x + margin,
            y: hi.y + margin,
        },
        Coord {
            x: lo.x - margin,
            y: hi.y + margin,
        },
    ];
    let mut groups: Vec<Cells> = Vec::new();
    for (i, &(p, label)) in unique.iter().enumerate() {
        let mut cell = frame.clone();
        for (j, &(q, _)) in unique.iter().enumerate() {
            if i == j || cell.is_empty() {
                continue;
            }
            cell = clip_closer(&cell, p, q);
        }
        if cell.len() < 3 {
            continue;
        }
        cell.push(cell[0]);
        let polygon = Polygon::new(LineString(cell), Vec::new());
        match groups.iter_mut().find(|(l, _)| *l == label) {
            Some((_, cells)) => cells.push(polygon),
            None => groups.push((label, vec![polygon])),
        }
    }
    Ok(groups)
}

/// The part of the convex polygon `cell` (open ring) closer to `p` than to `q`
/// (Sutherland–Hodgman against their bisector).
fn clip_closer(cell: &[Coord], p: Coord, q: Coord) -> Vec<Coord> {
    let d = Coord {
        x: q.x - p.x,
        y: q.y - p.y,
    };
    let mid = Coord {
        x: (p.x + q.x) / 2.0,
        y: (p.y + q.y) / 2.0,
    };
    // Negative: on p's side.
    let side = |c: Coord| (c.x - mid.x) * d.x + (c.y - mid.y) * d.y;
    let mut out = Vec::with_capacity(cell.len() + 1);
    for (k, &a) in cell.iter().enumerate() {
        let b = cell[(k + 1) % cell.len()];
        let (sa, sb) = (side(a), side(b));
        if sa <= 0.0 {
            out.push(a);
        }
        if (sa < 0.0 && sb > 0.0) || (sa > 0.0 && sb < 0.0) {
            let t = sa / (sa - sb);
            out.push(Coord {
                x: a.x + (b.x - a.x) * t,
                y: a.y + (b.y - a.y) * t,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{self, rectangle};
    use crate::tiling::{validate_tiling, Tolerance};
    use crate::{locate_exact, tiling};
    use proptest::prelude::*;

    fn site(old: usize, new: usize, lon: f64, lat: f64) -> Site {
        Site { old, new, lon, lat }
    }

    fn keyed(shapes: &[Option<MultiPolygon<f64>>]) -> Vec<(usize, MultiPolygon<f64>)> {
        shapes
            .iter()
            .enumerate()
            .filter_map(|(g, s)| Some((g, s.clone()?)))
            .collect()
    }

    #[test]
    fn grids_that_keep_their_buildings_keep_their_boundary_exactly() {
        let old = vec![
            rectangle(113.0, 40.0, 113.01, 40.01),
            rectangle(113.01, 40.0, 113.02, 40.01),
        ];
        let sites = [
            site(0, 0, 113.002, 40.005),
            site(0, 0, 113.008, 40.005),
            site(1, 1, 113.015, 40.005),
        ];
        let new = regrid(&old, &sites).unwrap();
        assert_eq!(new, vec![Some(old[0].clone()), Some(old[1].clone())]);
    }

    #[test]
    fn a_moved_building_takes_its_ground_along_and_the_community_stays_tiled() {
        let old = vec![
            rectangle(113.0, 40.0, 113.01, 40.01),
            rectangle(113.01, 40.0, 113.02, 40.01),
        ];
        // The building near the shared edge moves east.
        let sites = [
            site(0, 0, 113.002, 40.005),
            site(0, 1, 113.008, 40.005),
            site(1, 1, 113.015, 40.005),
        ];
        let new = regrid(&old, &sites).unwrap();
        let grids = keyed(&new);
        let outline = rectangle(113.0, 40.0, 113.02, 40.01);
        let found = validate_tiling(Some(&outline), &grids, &Tolerance::default());
        assert!(found.is_empty(), "{found:?}");
        for s in &sites {
            assert_eq!(locate_exact(&grids, s.lon, s.lat), Some(s.new), "{s:?}");
        }
        // The bisector of 113.002 and 113.008 is 113.005: half of grid 0 went east.
        let west = tiling::area_m2(&old[0]);
        let ratio = tiling::area_m2(&grids[0].1) / west;
        assert!((ratio - 0.5).abs() < 0.001, "{ratio}");
    }

    #[test]
    fn a_grid_whose_buildings_all_leave_has_no_ground_left() {
        let old = vec![
            rectangle(113.0, 40.0, 113.01, 40.01),
            rectangle(113.01, 40.0, 113.02, 40.01),
            rectangle(113.02, 40.0, 113.03, 40.01),
        ];
        let sites = [
            site(0, 0, 113.005, 40.005),
            site(1, 0, 113.012, 40.005),
            site(1, 2, 113.018, 40.005),
            site(2, 2, 113.025, 40.005),
        ];
        let new = regrid(&old, &sites).unwrap();
        assert!(new[1].is_none());
        let grids = keyed(&new);
        let outline = rectangle(113.0, 40.0, 113.03, 40.01);
        assert!(validate_tiling(Some(&outline), &grids, &Tolerance::default()).is_empty());
    }

    #[test]
    fn buildings_at_one_point_going_apart_are_refused() {
        let old = vec![rectangle(113.0, 40.0, 113.01, 40.01)];
        let sites = [site(0, 0, 113.005, 40.005), site(0, 1, 113.005, 40.005)];
        assert!(matches!(
            regrid(&old, &sites),
            Err(RegridError::Coincident { .. })
        ));
        assert_eq!(
            regrid(&old, &[site(3, 0, 113.0, 40.0)]),
            Err(RegridError::UnknownGrid(3))
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn any_reassignment_of_a_wiggly_tiling_stays_a_tiling(
            seed in any::<u64>(),
            points in proptest::collection::vec((0.0f64..1.0, 0.0f64..1.0, 0usize..12), 10..80),
        ) {
            let grids = synth::wiggly_tiling(4, 3, seed);
            let (w, s, e, n) = synth::extent(&grids);
            let old: Vec<MultiPolygon<f64>> = grids.iter().map(|(_, g)| g.clone()).collect();
            let sites: Vec<Site> = points
                .iter()
                .filter_map(|&(fx, fy, to)| {
                    let (lon, lat) = (w + (e - w) * fx, s + (n - s) * fy);
                    let g = locate_exact(&grids, lon, lat)?;
                    Some(site(g, to, lon, lat))
                })
                .collect();
            let new = regrid(&old, &sites).unwrap();
            let shapes = keyed(&new);
            let outline = rectangle(w, s, e, n);
            let found = validate_tiling(Some(&outline), &shapes, &Tolerance::default());
            prop_assert!(found.is_empty(), "{:?}", found);
            for st in &sites {
                prop_assert_eq!(locate_exact(&shapes, st.lon, st.lat), Some(st.new));
            }
        }
    }
}
