//! `mulin bench`: generates the demo district at a chosen size into an empty database and
//! measures what matters at that size: generation and load time, and resident search
//! latency (median and 99th percentile) for the three kinds of query a grid worker types,
//! over the whole district and over one grid. Figures go in docs/BENCHMARKS.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use mulin_domain::tree::NodeKind;
use mulin_storage::{ResidentQuery, Storage};
use mulin_web::clock::{Clock, SystemClock};
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// Runs the benchmark and prints a Markdown table.
pub async fn run(
    store: Arc<dyn Storage>,
    households: usize,
    n_queries: usize,
) -> anyhow::Result<()> {
    if !store.is_empty().await? {
        bail!("bench needs an empty database (a fresh data folder or PostgreSQL database)");
    }
    let clock = SystemClock;
    let started = Instant::now();
    let demo = mulin_demo::generate(&mulin_demo::DemoParams {
        households,
        seed: 2026,
        today: clock.today(),
        now: clock.now(),
        password_hash: "bench-has-no-logins".into(),
    })?;
    let generated = started.elapsed();
    store.load(&demo.dataset).await?;
    let loaded = started.elapsed() - generated;
    let n_residents = demo.dataset.residents.len();
    println!("| backend | households | residents | generate | load | total |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| {} | {households} | {n_residents} | {:.1} s | {:.1} s | {:.1} s |",
        store.backend_name(),
        generated.as_secs_f64(),
        loaded.as_secs_f64(),
        (generated + loaded).as_secs_f64()
    );
    println!();

    let district = demo.dataset.nodes[0].path;
    let district_id = district.id().into();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let samples: Vec<_> = demo
        .dataset
        .residents
        .choose_multiple(&mut rng, n_queries)
        .cloned()
        .collect();
    let grid_of = |r: &mulin_storage::ResidentRecord| {
        let grid = r.household.at(NodeKind::Grid);
        demo.dataset
            .nodes
            .iter()
            .find(|n| Some(n.path.id()) == grid)
            .map(|n| n.path)
    };
    // Baseline from the same run: a primary-key read of one resident, so the search figures
    // can be read as a ratio on this (shared, noisy) machine.
    let mut baseline = Vec::with_capacity(samples.len());
    for sample in &samples {
        let t0 = Instant::now();
        store.resident(district_id, sample.id).await?;
        baseline.push(t0.elapsed());
    }
    baseline.sort();
    let base_p50 = percentile(&baseline, 50);
    println!(
        "| backend | residents | query | scope | n | p50 | p99 | p50 ÷ baseline | mean rows |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {n_residents} | baseline: resident by id | — | {} | {} | {} | 1 | 1 |",
        store.backend_name(),
        baseline.len(),
        ms(base_p50),
        ms(percentile(&baseline, 99))
    );
    for kind in ["name", "id_tail", "address"] {
        for scope_name in ["district", "grid"] {
            let mut times = Vec::with_capacity(samples.len());
            let mut n_rows = 0;
            for sample in &samples {
                let q = match kind {
                    "name" => sample.name.as_ref().to_owned(),
                    "id_tail" => sample
                        .id_number
                        .as_ref()
                        .map(|n| n.expose()[12..].to_owned())
                        .unwrap_or_default(),
                    _ => sample.address.chars().take(8).collect(),
                };
                let scope = match scope_name {
                    "district" => district,
                    _ => grid_of(sample).unwrap_or(district),
                };
                let query = ResidentQuery {
                    q,
                    page: 1,
                    per_page: 50,
                };
                let t0 = Instant::now();
                let page = store
                    .search_residents(district_id, &[scope], &query)
                    .await?;
                times.push(t0.elapsed());
                n_rows += page.items.len();
            }
            times.sort();
            let p50 = percentile(&times, 50);
            println!(
                "| {} | {n_residents} | {kind} | {scope_name} | {} | {} | {} | {:.0}× | {:.1} |",
                store.backend_name(),
                times.len(),
                ms(p50),
                ms(percentile(&times, 99)),
                p50.as_secs_f64() / base_p50.as_secs_f64().max(1e-9),
                n_rows as f64 / times.len().max(1) as f64
            );
        }
    }
    Ok(())
}

fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() * pct).div_ceil(100)).clamp(1, sorted.len()) - 1;
    sorted[idx]
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}
