//! `mulin bench geo`: point → grid lookups per second, on one core, for the raster
//! `GridIndex` against the plain baseline (R-tree of bounding boxes + exact `Contains`),
//! over a synthetic tiling of irregular 40-vertex grids and uniformly random points.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::bail;
use mulin_geo::{synth, BaselineIndex, GridIndex};
use rand::{Rng, SeedableRng};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `lookup` over every point and returns lookups per second and a checksum.
fn time(points: &[(f64, f64)], lookup: impl Fn(f64, f64) -> Option<usize>) -> (f64, usize) {
    let started = Instant::now();
    let mut sum = 0usize;
    for &(x, y) in points {
        sum = sum.wrapping_add(black_box(lookup(black_box(x), black_box(y))).map_or(0, |g| g + 1));
    }
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    (points.len() as f64 / secs, sum)
}

/// Generates the tiling and points, then prints a Markdown table.
pub fn run(grids: usize, n_points: usize, runs: usize, cells_per_grid: f64) -> anyhow::Result<()> {
    if grids == 0 || n_points == 0 || runs == 0 {
        bail!("--grids, --points and --runs must be positive");
    }
    let nx = (grids as f64).sqrt().ceil() as usize;
    let ny = grids.div_ceil(nx);
    let tiling = synth::wiggly_tiling(nx, ny, 2026);
    let (w, s, e, n) = synth::extent(&tiling);
    let vertices: usize = tiling
        .iter()
        .map(|(_, g)| g.0[0].exterior().0.len() - 1)
        .sum();

    let started = Instant::now();
    let index = GridIndex::with_cells_per_grid(&tiling, cells_per_grid);
    let index_build = started.elapsed();
    let started = Instant::now();
    let baseline = BaselineIndex::new(&tiling);
    let baseline_build = started.elapsed();

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let points: Vec<(f64, f64)> = (0..n_points)
        .map(|_| (rng.gen_range(w..e), rng.gen_range(s..n)))
        .collect();

    let mut index_rates = Vec::new();
    let mut baseline_rates = Vec::new();
    for _ in 0..runs {
        let (rate, a) = time(&points, |x, y| index.locate(x, y));
        index_rates.push(rate);
        let (rate, b) = time(&points, |x, y| baseline.locate(x, y));
        baseline_rates.push(rate);
        if a != b {
            // Only a point exactly on an edge may differ (Contains leaves edges out).
            tracing::debug!(index = a, baseline = b, "checksums differ");
        }
    }
    let disagree = points
        .iter()
        .filter(|&&(x, y)| index.locate(x, y) != baseline.locate(x, y))
        .count();
    let stats = index.stats();
    let (ir, br) = (median(index_rates), median(baseline_rates));
    println!(
        "{} grids ({} × {}), {:.1} vertices per grid; {} random points; median of {} runs, one thread; {} cells per grid.",
        tiling.len(),
        nx,
        ny,
        vertices as f64 / tiling.len() as f64,
        n_points,
        runs,
        cells_per_grid
    );
    println!();
    println!("| method | build | lookups/s | ns/lookup |");
    println!("|---|---|---|---|");
    for (name, build, rate) in [
        ("GridIndex (raster)", index_build, ir),
        ("baseline: R-tree + Contains", baseline_build, br),
    ] {
        println!(
            "| {name} | {} ms | {:.2} M | {:.0} |",
            ms(build),
            rate / 1e6,
            1e9 / rate
        );
    }
    println!();
    println!(
        "ratio: {:.1}×; raster {} cells, {:.1}% boundary cells, {:.2} candidates each; answers differing from the baseline: {}",
        ir / br,
        stats.cells,
        100.0 * stats.boundary_cells as f64 / stats.cells.max(1) as f64,
        stats.mean_candidates,
        disagree
    );
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1e3)
}
