//! Synthetic grid tilings for tests and the benchmark: a jittered lattice whose shared
//! edges wiggle, so each cell is an irregular polygon of 40 vertices, and neighbours share
//! exactly the same coordinates along their common edge.

use geo::{Coord, LineString, MultiPolygon, Polygon};

/// West and south edges of the synthetic tilings (near the demo district).
pub const WEST: f64 = 113.0;
/// South edge.
pub const SOUTH: f64 = 40.0;
/// A lattice cell's width in degrees of longitude (about 340 m there).
pub const CELL_W: f64 = 0.004;
/// A lattice cell's height in degrees of latitude (about 330 m).
pub const CELL_H: f64 = 0.003;
/// Segments per edge: four edges of ten make 40 vertices per cell.
const SEGMENTS: usize = 10;

fn mix(mut z: u64) -> u64 {
    // splitmix64's finaliser.
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A repeatable number in [-1, 1) from the seed and a position.
fn noise(seed: u64, a: u64, b: u64, c: u64) -> f64 {
    let h = mix(seed ^ mix(a ^ mix(b ^ mix(c))));
    (h >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

/// A tiling of `nx` × `ny` irregular cells of 40 vertices; keys are `0..nx*ny`, row by row.
/// Its outline is the rectangle [`WEST`, `SOUTH`] + (`nx`·[`CELL_W`], `ny`·[`CELL_H`]).
pub fn wiggly_tiling(nx: usize, ny: usize, seed: u64) -> Vec<(usize, MultiPolygon<f64>)> {
    let corner = |i: usize, j: usize| -> Coord {
        let inner_x = i > 0 && i < nx;
        let inner_y = j > 0 && j < ny;
        let dx = if inner_x {
            0.15 * noise(seed, 1, i as u64, j as u64)
        } else {
            0.0
        };
        let dy = if inner_y {
            0.15 * noise(seed, 2, i as u64, j as u64)
        } else {
            0.0
        };
        Coord {
            x: WEST + (i as f64 + dx) * CELL_W,
            y: SOUTH + (j as f64 + dy) * CELL_H,
        }
    };
    // The points of the edge from corner `a` to corner `b` (both included), wiggling
    // sideways unless it lies on the outline. `kind` and (i, j) name the edge.
    let edge = |a: Coord, b: Coord, outer: bool, kind: u64, i: usize, j: usize| -> Vec<Coord> {
        let (ux, uy) = (b.x - a.x, b.y - a.y);
        (0..=SEGMENTS)
            .map(|k| {
                let t = k as f64 / SEGMENTS as f64;
                let wiggle = if outer || k == 0 || k == SEGMENTS {
                    0.0
                } else {
                    0.025
                        * (std::f64::consts::PI * t).sin()
                        * noise(seed, kind, i as u64, (j * 64 + k) as u64)
                };
                // Sideways in lattice units, so the wiggle scales with the cell.
                Coord {
                    x: a.x + t * ux - wiggle * uy / CELL_H * CELL_W,
                    y: a.y + t * uy + wiggle * ux / CELL_W * CELL_H,
                }
            })
            .collect()
    };
    // Horizontal edge from corner (i, j) to (i + 1, j); vertical from (i, j) to (i, j + 1).
    let horizontal =
        |i: usize, j: usize| edge(corner(i, j), corner(i + 1, j), j == 0 || j == ny, 3, i, j);
    let vertical =
        |i: usize, j: usize| edge(corner(i, j), corner(i, j + 1), i == 0 || i == nx, 4, i, j);
    let mut grids = Vec::with_capacity(nx * ny);
    for j in 0..ny {
        for i in 0..nx {
            let mut ring: Vec<Coord> = Vec::with_capacity(4 * SEGMENTS + 1);
            let south = horizontal(i, j);
            ring.extend(&south[..SEGMENTS]);
            let east = vertical(i + 1, j);
            ring.extend(&east[..SEGMENTS]);
            let mut north = horizontal(i, j + 1);
            north.reverse();
            ring.extend(&north[..SEGMENTS]);
            let mut west = vertical(i, j);
            west.reverse();
            ring.extend(&west[..SEGMENTS]);
            ring.push(ring[0]);
            grids.push((
                j * nx + i,
                MultiPolygon(vec![Polygon::new(LineString(ring), vec![])]),
            ));
        }
    }
    grids
}

/// The bounding box (west, south, east, north) of some grids.
pub fn extent<K>(grids: &[(K, MultiPolygon<f64>)]) -> (f64, f64, f64, f64) {
    let mut b = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    for (_, shape) in grids {
        for polygon in &shape.0 {
            for c in &polygon.exterior().0 {
                b = (b.0.min(c.x), b.1.min(c.y), b.2.max(c.x), b.3.max(c.y));
            }
        }
    }
    b
}

/// The rectangle (west, south, east, north) as a one-part multipolygon.
pub fn rectangle(w: f64, s: f64, e: f64, n: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![Polygon::new(
        LineString::from(vec![(w, s), (e, s), (e, n), (w, n), (w, s)]),
        vec![],
    )])
}

/// A synthetic city for re-division tests and `mulin bench partition`: about `buildings`
/// buildings on a lattice of street blocks (about 130 m × 110 m, corners jittered), one to
/// four buildings per block (a block stops growing past 250 households), and households per
/// building skewed: mostly 12–48 (walk-ups of one to four entrances), one in twelve a tower
/// of 80–160.
pub fn city(buildings: usize, seed: u64) -> Vec<crate::partition::Building> {
    const BLOCK_W: f64 = 0.0015;
    const BLOCK_H: f64 = 0.001;
    let cols = ((buildings as f64 / 2.5).sqrt().ceil() as usize).max(1);
    let mut out = Vec::with_capacity(buildings);
    let mut block = 0usize;
    while out.len() < buildings {
        let (i, j) = ((block % cols) as f64, (block / cols) as f64);
        let (cx, cy) = (
            WEST + (i + 0.5 + 0.2 * noise(seed, 5, block as u64, 0)) * BLOCK_W,
            SOUTH + (j + 0.5 + 0.2 * noise(seed, 6, block as u64, 0)) * BLOCK_H,
        );
        let wanted = 1 + (mix(seed ^ mix(block as u64 ^ 0x51)) % 4) as usize;
        let mut households = 0u32;
        for k in 0..wanted {
            if out.len() == buildings || households > 250 {
                break;
            }
            let r = mix(seed ^ mix((block * 8 + k) as u64 ^ 0xB1D));
            let size = if r.is_multiple_of(12) {
                80 + (r >> 8) % 81
            } else {
                12 * (1 + (r >> 8) % 4)
            } as u32;
            households += size;
            out.push(crate::partition::Building {
                block,
                households: size,
                lon: cx + 0.3 * BLOCK_W * noise(seed, 7, block as u64, k as u64),
                lat: cy + 0.3 * BLOCK_H * noise(seed, 8, block as u64, k as u64),
            });
        }
        block += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, Validation};

    #[test]
    fn cells_are_valid_forty_vertex_polygons_covering_the_box() {
        let grids = wiggly_tiling(6, 5, 11);
        assert_eq!(grids.len(), 30);
        let mut area = 0.0;
        for (_, shape) in &grids {
            assert!(shape.is_valid(), "{:?}", shape.validation_errors());
            assert_eq!(shape.0[0].exterior().0.len(), 41);
            area += shape.unsigned_area();
        }
        let expected = 6.0 * CELL_W * 5.0 * CELL_H;
        assert!((area - expected).abs() < expected * 1e-9);
        assert_eq!(
            extent(&grids),
            (WEST, SOUTH, WEST + 6.0 * CELL_W, SOUTH + 5.0 * CELL_H)
        );
    }
}
