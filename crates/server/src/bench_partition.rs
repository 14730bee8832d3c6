//! `mulin bench partition`: dividing a synthetic city's buildings into grids of 300–500
//! households, and re-balancing 31 grids to 27, against METIS (pymetis, contiguous parts)
//! and GerryChain's spanning-tree bisection run by `scripts/bench_partition_ref.py` on the
//! same block graph in the same run. Every division is measured by the same
//! `mulin_geo::partition::quality`.
//!
//! The city is also cut into communities of a few thousand households, each divided on
//! its own by every method (as a community office would): GerryChain's spanning-tree cuts
//! find no balanced split of the whole 20,000-building city, but finish per community, so
//! that table is the fair three-way comparison.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use mulin_geo::partition::{self, BlockGraph, Quality, Range};
use mulin_geo::synth;
use serde_json::{json, Value};

/// Buildings of the re-balance case: about 31 grids of 370 households.
const REBALANCE_BUILDINGS: usize = 310;

/// Most households of a bench community: about 10–20 grids, a large urban 社区.
const COMMUNITY_HOUSEHOLDS: u64 = 8_000;

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

/// Cuts the blocks into communities of at most [`COMMUNITY_HOUSEHOLDS`]: straight cuts
/// across the longer side at the households' median, recursively (block indices per
/// community).
fn communities(graph: &BlockGraph) -> Vec<Vec<usize>> {
    fn split(graph: &BlockGraph, mut blocks: Vec<usize>, out: &mut Vec<Vec<usize>>) {
        let total: u64 = blocks.iter().map(|&b| graph.weight[b]).sum();
        if total <= COMMUNITY_HOUSEHOLDS || blocks.len() < 2 {
            out.push(blocks);
            return;
        }
        let span = |d: usize| {
            let (lo, hi) = blocks
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &b| {
                    (lo.min(graph.at[b][d]), hi.max(graph.at[b][d]))
                });
            hi - lo
        };
        let axis = usize::from(span(1) > span(0));
        blocks.sort_by(|&a, &b| graph.at[a][axis].total_cmp(&graph.at[b][axis]));
        let mut acc = 0;
        let cut = blocks
            .iter()
            .position(|&b| {
                acc += graph.weight[b];
                2 * acc >= total
            })
            .map_or(1, |i| i.clamp(1, blocks.len() - 1));
        let right = blocks.split_off(cut);
        split(graph, blocks, out);
        split(graph, right, out);
    }
    let mut out = Vec::new();
    split(graph, (0..graph.len()).collect(), &mut out);
    connect(graph, out)
}

/// Hands every piece of a community cut off from its largest piece (a straight cut can
/// strand a block whose neighbours lie across it) to the community it touches, so each
/// community is one connected instance: METIS refuses contiguous parts of a disconnected
/// graph and GerryChain finds no balanced cut in one.
fn connect(graph: &BlockGraph, communities: Vec<Vec<usize>>) -> Vec<Vec<usize>> {
    let mut community_of = vec![0; graph.len()];
    for (c, blocks) in communities.iter().enumerate() {
        for &b in blocks {
            community_of[b] = c;
        }
    }
    for _ in 0..graph.len() {
        let mut moved = false;
        let mut seen = vec![false; graph.len()];
        let mut pieces: Vec<Vec<Vec<usize>>> = vec![Vec::new(); communities.len()];
        for start in 0..graph.len() {
            if seen[start] {
                continue;
            }
            let c = community_of[start];
            let mut piece = vec![start];
            seen[start] = true;
            let mut next = 0;
            while next < piece.len() {
                for &n in &graph.adj[piece[next]] {
                    if !seen[n] && community_of[n] == c {
                        seen[n] = true;
                        piece.push(n);
                    }
                }
                next += 1;
            }
            pieces[c].push(piece);
        }
        for mut mine in pieces {
            mine.sort_by_key(|p| std::cmp::Reverse(p.len()));
            for stray in mine.iter().skip(1) {
                let own = community_of[stray[0]];
                let Some(to) = stray
                    .iter()
                    .flat_map(|&b| graph.adj[b].iter())
                    .map(|&n| community_of[n])
                    .find(|&c| c != own)
                else {
                    continue;
                };
                for &b in stray {
                    community_of[b] = to;
                }
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    let mut out = vec![Vec::new(); communities.len()];
    for (b, &c) in community_of.iter().enumerate() {
        out[c].push(b);
    }
    out.retain(|blocks| !blocks.is_empty());
    out
}

/// The blocks' graph as a community sees it: only its blocks and the edges between them.
fn induced(graph: &BlockGraph, blocks: &[usize]) -> BlockGraph {
    let local: std::collections::HashMap<usize, usize> =
        blocks.iter().enumerate().map(|(i, &b)| (b, i)).collect();
    BlockGraph {
        keys: blocks.to_vec(),
        weight: blocks.iter().map(|&b| graph.weight[b]).collect(),
        at: blocks.iter().map(|&b| graph.at[b]).collect(),
        adj: blocks
            .iter()
            .map(|&b| {
                graph.adj[b]
                    .iter()
                    .filter_map(|n| local.get(n).copied())
                    .collect()
            })
            .collect(),
        block_of_building: Vec::new(),
    }
}

/// Each community's grid numbers laid into one division of the whole city (community
/// `c`'s grids numbered after those of the communities before it).
fn combine(n_blocks: usize, blocks: &[Vec<usize>], parts: &[Vec<usize>]) -> Vec<usize> {
    let mut grid = vec![0; n_blocks];
    let mut offset = 0;
    for (mine, labels) in blocks.iter().zip(parts) {
        for (&b, &label) in mine.iter().zip(labels) {
            grid[b] = offset + label;
        }
        offset += labels.iter().max().map_or(0, |m| m + 1);
    }
    grid
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

/// A reference's parts per community laid into one division, if it divided every one.
fn combined_parts(result: &Value, blocks: &[Vec<usize>], n_blocks: usize) -> Option<Vec<usize>> {
    let per: Vec<Vec<usize>> = result["parts"]
        .as_array()?
        .iter()
        .map(|p| {
            p.as_array()?
                .iter()
                .map(|x| x.as_u64().map(|x| x as usize))
                .collect::<Option<Vec<usize>>>()
        })
        .collect::<Option<_>>()?;
    (per.len() == blocks.len() && per.iter().zip(blocks).all(|(p, b)| p.len() == b.len()))
        .then(|| combine(n_blocks, blocks, &per))
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
    blocks: Option<&[Vec<usize>]>,
) {
    for (label, key) in [
        ("METIS (pymetis, contig)", "metis"),
        ("GerryChain tree", "gerrychain"),
    ] {
        let label = format!("{label}{name}");
        let Some(r) = result.map(|r| &r[key]) else {
            continue;
        };
        if r.is_null() {
            continue;
        }
        let found = match blocks {
            Some(blocks) => combined_parts(r, blocks, graph.len()),
            None => parts(r),
        };
        match found {
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

/// When a reference left some communities undivided: every method on the communities all
/// of them divided, so the figures stay comparable (our time from our last run).
fn finished_by_all(
    graph: &BlockGraph,
    range: Range,
    community_blocks: &[Vec<usize>],
    (ours, our_seconds): (&[Vec<usize>], &[f64]),
    refs: &Value,
) {
    let methods = [
        ("METIS (pymetis, contig)", &refs["metis"]),
        ("GerryChain tree", &refs["gerrychain"]),
    ];
    let divided = |r: &Value, c: usize| r["parts"][c].is_array();
    let all: Vec<usize> = (0..community_blocks.len())
        .filter(|&c| methods.iter().all(|(_, r)| divided(r, c)))
        .collect();
    if all.len() == community_blocks.len() || all.is_empty() {
        return;
    }
    let union: Vec<usize> = all
        .iter()
        .flat_map(|&c| community_blocks[c].iter().copied())
        .collect();
    let sub = induced(graph, &union);
    let mut local = Vec::with_capacity(all.len());
    let mut at = 0;
    for &c in &all {
        let n = community_blocks[c].len();
        local.push((at..at + n).collect::<Vec<usize>>());
        at += n;
    }
    println!();
    println!(
        "On the {} of {} communities every reference divided ({} households):",
        all.len(),
        community_blocks.len(),
        sub.total()
    );
    println!();
    table_header();
    let mine: Vec<Vec<usize>> = all.iter().map(|&c| ours[c].clone()).collect();
    let q = partition::quality(&sub, range, &combine(sub.len(), &local, &mine), None);
    let seconds: f64 = all.iter().map(|&c| our_seconds[c]).sum();
    row(
        "mulin (bisection + local search)",
        Some(seconds),
        &q,
        sub.total(),
    );
    for (label, r) in methods {
        let parts: Option<Vec<Vec<usize>>> = all
            .iter()
            .map(|&c| {
                r["parts"][c]
                    .as_array()?
                    .iter()
                    .map(|x| x.as_u64().map(|x| x as usize))
                    .collect()
            })
            .collect();
        let Some(parts) = parts else { continue };
        let q = partition::quality(&sub, range, &combine(sub.len(), &local, &parts), None);
        let seconds: f64 = all
            .iter()
            .filter_map(|&c| r["seconds_each"][c].as_f64())
            .sum();
        row(label, Some(seconds), &q, sub.total());
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

    let community_blocks = communities(&graph);
    let community_graphs: Vec<BlockGraph> = community_blocks
        .iter()
        .map(|blocks| induced(&graph, blocks))
        .collect();
    let disconnected = community_graphs
        .iter()
        .filter(|g| !partition::is_contiguous(g, &vec![0; g.len()]))
        .count();
    let mut community_times = Vec::new();
    let mut community_parts = Vec::new();
    let mut community_times_each = Vec::new();
    for _ in 0..options.runs {
        let started = Instant::now();
        community_parts = Vec::with_capacity(community_graphs.len());
        community_times_each = Vec::with_capacity(community_graphs.len());
        for g in &community_graphs {
            let one = Instant::now();
            community_parts
                .push(partition::propose(g, range, None).context("propose per community")?);
            community_times_each.push(one.elapsed().as_secs_f64());
        }
        community_times.push(started.elapsed().as_secs_f64());
    }
    let per_community = combine(graph.len(), &community_blocks, &community_parts);
    let ours_per_community = partition::quality(&graph, range, &per_community, None);
    let community_cases: Vec<Value> = community_graphs
        .iter()
        .zip(&community_parts)
        .map(|(g, parts)| case(g, parts.iter().max().map_or(1, |m| m + 1), range))
        .collect();

    let small = synth::city(REBALANCE_BUILDINGS, 31);
    let small = BlockGraph::build(&small).context("block graph")?;
    let old = partition::propose(&small, Range::new(250, 500).context("range")?, Some(31))
        .context("old division")?;
    let started = Instant::now();
    let rebalanced = partition::rebalance(&small, range, &old, 27).context("rebalance")?;
    let rebalance_secs = started.elapsed().as_secs_f64();
    let rebalanced_q = partition::quality(&small, range, &rebalanced, Some(&old));

    let mut whole = case(&graph, ours.grids, range);
    whole["refs"] = json!(["metis"]);
    let cases = json!({
        "divide": whole,
        "communities": community_cases,
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
    table_header();
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
        None,
    );
    println!();
    let sizes: Vec<u64> = community_graphs.iter().map(BlockGraph::total).collect();
    println!(
        "Per community: the same city cut into {} communities of {}–{} households \
         ({} not connected in the block graph), each divided on its own; times are summed \
         over the communities (ours: median of {} runs); references get our grid count per \
         community.",
        community_graphs.len(),
        sizes.iter().min().copied().unwrap_or(0),
        sizes.iter().max().copied().unwrap_or(0),
        disconnected,
        options.runs,
    );
    println!();
    table_header();
    row(
        "mulin (bisection + local search)",
        Some(median(community_times)),
        &ours_per_community,
        graph.total(),
    );
    reference_rows(
        "",
        &graph,
        range,
        None,
        refs.as_ref().ok().map(|r| &r["communities"]),
        Some(&community_blocks),
    );
    if let Ok(r) = &refs {
        finished_by_all(
            &graph,
            range,
            &community_blocks,
            (&community_parts, &community_times_each),
            &r["communities"],
        );
    }
    println!();
    println!(
        "Re-balance 31 → 27: {} blocks, {} households; references divide afresh into 27 and \
         each part takes the old grid it overlaps most.",
        small.len(),
        small.total()
    );
    println!();
    table_header();
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
        None,
    );
    if let Err(why) = refs {
        println!();
        println!("References not run: {why}");
    }
    Ok(())
}

/// The head of every table the partition bench prints.
fn table_header() {
    println!("| method | time | grids | in range | households | deviation | mean distance | contiguous | kept |");
    println!("|---|---|---|---|---|---|---|---|---|");
}
