//! `mulin bench circle`: the 15-minute service circle, households classified per second
//! on one core, for the unit-sphere R-tree of [`mulin_geo::walk::ServiceCircle`] against
//! the brute-force loop over every station, on the same random homes and stations.

use std::hint::black_box;
use std::time::Instant;

use anyhow::bail;
use mulin_geo::walk::{covered_brute_force, ServiceCircle, WalkRules};
use rand::{Rng, SeedableRng};

/// A city-sized box around 大同 (about 25 km × 28 km).
const WEST: f64 = 113.05;
const EAST: f64 = 113.35;
const SOUTH: f64 = 39.95;
const NORTH: f64 = 40.20;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Classifies every home with `covers`; returns homes per second and how many are covered.
fn time(homes: &[[f64; 2]], covers: impl Fn([f64; 2]) -> bool) -> (f64, usize) {
    let started = Instant::now();
    let covered = homes
        .iter()
        .filter(|h| black_box(covers(black_box(**h))))
        .count();
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    (homes.len() as f64 / secs, covered)
}

/// Generates homes and stations, then prints a Markdown table.
pub fn run(households: usize, stations: usize, runs: usize) -> anyhow::Result<()> {
    if households == 0 || stations == 0 || runs == 0 {
        bail!("--households, --stations and --runs must be positive");
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    let mut point = || [rng.gen_range(WEST..EAST), rng.gen_range(SOUTH..NORTH)];
    let station_points: Vec<[f64; 2]> = (0..stations).map(|_| point()).collect();
    let homes: Vec<[f64; 2]> = (0..households).map(|_| point()).collect();
    let rules = WalkRules::default();
    let reach = rules.reach_m();

    let started = Instant::now();
    let circle = ServiceCircle::new(&station_points, reach);
    let build = started.elapsed();

    let mut index_rates = Vec::new();
    let mut brute_rates = Vec::new();
    let mut counts = (0, 0);
    for _ in 0..runs {
        let (rate, a) = time(&homes, |h| circle.covers(h));
        index_rates.push(rate);
        let (rate, b) = time(&homes, |h| covered_brute_force(&station_points, reach, h));
        brute_rates.push(rate);
        counts = (a, b);
    }
    let (ir, br) = (median(index_rates), median(brute_rates));
    println!(
        "{households} random homes, {stations} random stations in a {:.0} km × {:.0} km box; walk {} min at {} km/h, detour {} (reach {:.0} m); median of {runs} runs, one thread.",
        mulin_geo::walk::distance_m([WEST, SOUTH], [EAST, SOUTH]) / 1e3,
        mulin_geo::walk::distance_m([WEST, SOUTH], [WEST, NORTH]) / 1e3,
        rules.minutes,
        rules.speed_kmh,
        rules.detour_factor,
        reach
    );
    println!();
    println!("| method | households/s | ns/household |");
    println!("|---|---|---|");
    for (name, rate) in [
        ("ServiceCircle (unit-sphere R-tree)", ir),
        ("baseline: haversine to every station", br),
    ] {
        println!("| {name} | {:.2} M | {:.0} |", rate / 1e6, 1e9 / rate);
    }
    println!();
    println!(
        "ratio: {:.1}×; index built in {:.2} ms; covered: {} (index) vs {} (baseline) of {households}",
        ir / br,
        build.as_secs_f64() * 1e3,
        counts.0,
        counts.1
    );
    Ok(())
}
