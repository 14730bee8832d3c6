//! `mulin bench partition`: dividing a synthetic city's buildings into grids of 300–500
//! households, and re-balancing 31 grids to 27, against METIS (pymetis, contiguous parts)
//! and GerryChain's spanning-tree bisection run by `scripts/bench_partition_ref.py` on the
//! same block graph in the same run. Every division is measured by the same
//! `mulin_geo::partition::quality`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use mulin_geo::partition::{self, BlockGraph, Quality, Range};
use mulin_geo::synth;
use serde_json::{json, Value};

/// Buildings of the re-balance case: about 31 grids of 370 households.
const REBALANCE_BUILDINGS: usize = 310;

/// What to run.
pub struct Options {
    /// Buildings of the division case.
    pub buildings: usize,
    /// Runs of our partitioner; the median time is reported.
    pub runs: usize,
    /// The Python with pymetis and gerrychain; references are skipped when it fails.
    pub python: PathBuf,
    /// The reference script.
    pub script: PathBuf,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn case(graph: &BlockGraph, k: usize, range: Range) -> Value {
    json!({
        "weight": graph.weight,
        "adj": graph.adj,
        "k": k,
        "min": range.min(),
        "max": range.max(),
    })
}

/// Runs the reference script, or says why not.
fn references(options: &Options, cases: &Value) -> Result<Value, String> {
    let dir = std::env::temp_dir();
    let input = dir.join(format!("mulin-partition-{}.json", std::process::id()));
    let output = dir.join(format!("mulin-partition-{}.out.json", std::process::id()));
    std::fs::write(&input, cases.to_string()).map_err(|e| e.to_string())?;
    let status = std::process::Command::new(&options.python)
        .arg(&options.script)
        .arg(&input)
        .arg(&output)
        .status()
        .map_err(|e| format!("{}: {e}", options.python.display()))?;
    let _ = std::fs::remove_file(&input);
    if !status.success() {
        return Err(format!("reference script failed: {status}"));
    }
    let text = std::fs::read_to_string(&output).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&output);
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

fn parts(result: &Value) -> Option<Vec<usize>> {
    result["parts"]
        .as_array()?
        .iter()
        .map(|p| p.as_u64().map(|p| p as usize))
        .collect()
}

fn row(name: &str, seconds: Option<f64>, q: &Quality, total: u64) {
    let time = seconds.map_or("–".to_owned(), |s| format!("{:.3} s", s));
    let kept = q.kept.map_or("–".to_owned(), |k| {
        format!("{:.1}%", 100.0 * k as f64 / total.max(1) as f64)
    });
    println!(
        "| {name} | {time} | {} | {} | {}–{} | {:.1}% | {:.0} m | {} | {kept} |",
        q.grids,
        q.in_range,
        q.min_households,
        q.max_households,
        100.0 * q.deviation,
        q.mean_distance_m,
        if q.contiguous { "yes" } else { "no" },
    );
}

fn reference_rows(
    name: &str,
    graph: &BlockGraph,
    range: Range,
    old: Option<&[usize]>,
    result: Option<&Value>,
) {
    for (label, key) in [
        ("METIS (pymetis, contig)", "metis"),
        ("GerryChain tree", "gerrychain"),
    ] {
        let label = format!("{label}{name}");
        let Some(r) = result.map(|r| &r[key]) else {
            continue;
        };
        match parts(r) {
            Some(p) if p.len() == graph.len() => {
                let p = match old {
                    Some(old) => partition::match_to_old(graph, old, &p),
                    None => p,
                };
                let q = partition::quality(graph, range, &p, old);
                row(&label, r["seconds"].as_f64(), &q, graph.total());
            }
            _ => println!(
                "| {label} | {} | failed: {} |||||||",
                r["seconds"]
                    .as_f64()
                    .map_or("–".into(), |s| format!("{s:.3} s")),
                r["error"].as_str().unwrap_or("no parts")
            ),
        }
    }
}

/// Generates both cities, divides them, runs the references, prints Markdown tables.
pub fn run(options: &Options) -> anyhow::Result<()> {
    if options.buildings == 0 || options.runs == 0 {
        bail!("--buildings and --runs must be positive");
    }
    let range = Range::new(300, 500).context("range")?;

    let buildings = synth::city(options.buildings, 2026);
    let started = Instant::now();
    let graph = BlockGraph::build(&buildings).context("block graph")?;
    let graph_secs = started.elapsed().as_secs_f64();
    let mut times = Vec::new();
    let mut grid = Vec::new();
    for _ in 0..options.runs {
        let started = Instant::now();
        grid = partition::propose(&graph, range, None).context("propose")?;
        times.push(started.elapsed().as_secs_f64());
    }
    let ours = partition::quality(&graph, range, &grid, None);

    let small = synth::city(REBALANCE_BUILDINGS, 31);
    let small = BlockGraph::build(&small).context("block graph")?;
    let old = partition::propose(&small, Range::new(250, 500).context("range")?, Some(31))
        .context("old division")?;
    let started = Instant::now();
    let rebalanced = partition::rebalance(&small, range, &old, 27).context("rebalance")?;
    let rebalance_secs = started.elapsed().as_secs_f64();
    let rebalanced_q = partition::quality(&small, range, &rebalanced, Some(&old));

    let cases = json!({
        "divide": case(&graph, ours.grids, range),
        "rebalance": case(&small, 27, range),
    });
    let refs = references(options, &cases);

    println!(
        "Division: {} buildings, {} blocks, {} households, range {}–{}; block graph built in {:.3} s; \
         our time is the median of {} runs, one thread; references get the same grid count ({}).",
        buildings.len(),
        graph.len(),
        graph.total(),
        range.min(),
        range.max(),
        graph_secs,
        options.runs,
        ours.grids
    );
    println!();
    println!("| method | time | grids | in range | households | deviation | mean distance | contiguous | kept |");
    println!("|---|---|---|---|---|---|---|---|---|");
    row(
        "mulin (bisection + local search)",
        Some(median(times)),
        &ours,
        graph.total(),
    );
    reference_rows(
        "",
        &graph,
        range,
        None,
        refs.as_ref().ok().map(|r| &r["divide"]),
    );
    println!();
    println!(
        "Re-balance 31 → 27: {} blocks, {} households; references divide afresh into 27 and \
         each part takes the old grid it overlaps most.",
        small.len(),
        small.total()
    );
    println!();
    println!("| method | time | grids | in range | households | deviation | mean distance | contiguous | kept |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let old_q = partition::quality(&small, range, &old, Some(&old));
    row("old division (31)", None, &old_q, small.total());
    row(
        "mulin rebalance",
        Some(rebalance_secs),
        &rebalanced_q,
        small.total(),
    );
    reference_rows(
        "",
        &small,
        range,
        Some(&old),
        refs.as_ref().ok().map(|r| &r["rebalance"]),
    );
    if let Err(why) = refs {
        println!();
        println!("References not run: {why}");
    }
    Ok(())
}
