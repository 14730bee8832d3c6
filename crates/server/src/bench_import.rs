//! `mulin bench import --rows N`: the ledger import at a size, with a baseline from the same
//! run. Two demo districts are generated from different seeds; district B's residents are
//! written with the bulk `Storage::load` (the baseline), district A's residents are written
//! to an xlsx ledger in memory and imported through the same path the API and CLI use:
//! parse, plan (address resolution and ID-number lookup), one-transaction write. Then the
//! same file is imported again (nothing changes, nothing is written).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::bail;
use mulin_domain::ids::NodeId;
use mulin_domain::tree::NodeKind;
use mulin_ledger::{parse_workbook, plan_import, write_xlsx, ExportRow};
use mulin_storage::{AuditEntry, Dataset, ImportBatch, ResidentRecord, Storage};
use mulin_web::clock::{Clock, SystemClock};

/// Residents per household in the demo generator, roughly (28,000 / 11,000).
const RESIDENTS_PER_HOUSEHOLD: f64 = 2.5;

fn demo(households: usize, seed: u64) -> anyhow::Result<mulin_demo::Demo> {
    let clock = SystemClock;
    let mut demo = mulin_demo::generate(&mulin_demo::DemoParams {
        households,
        seed,
        today: clock.today(),
        now: clock.now(),
        password_hash: "bench-has-no-logins".into(),
    })?;
    // Accounts are unique database-wide; the bench needs none.
    demo.dataset.users.clear();
    Ok(demo)
}

/// A resident as the operator's unmasked export writes it.
fn ledger_row(
    resident: &ResidentRecord,
    names: &HashMap<NodeId, String>,
    today: chrono::NaiveDate,
) -> ExportRow {
    let name_at = |kind: NodeKind| {
        resident
            .household
            .at(kind)
            .and_then(|id| names.get(&id).cloned())
            .unwrap_or_default()
    };
    ExportRow {
        name: resident.name.as_ref().to_owned(),
        gender: resident.gender,
        ethnicity: resident.ethnicity.clone(),
        birth_date: resident.birth_date,
        id_number: resident.id_number.as_ref().map(|n| n.expose().to_owned()),
        phone: resident.phone.as_ref().map(|p| p.expose().to_owned()),
        compound: name_at(NodeKind::Compound),
        building: name_at(NodeKind::Building),
        entrance: name_at(NodeKind::Entrance),
        house: name_at(NodeKind::Household),
        relation: resident.relation,
        status: resident.status,
        groups: resident.groups.with_derived(resident.birth_date, today),
    }
}

fn secs(t0: Instant) -> f64 {
    t0.elapsed().as_secs_f64()
}

/// Runs the benchmark into an empty database and prints a Markdown table.
pub async fn run(store: Arc<dyn Storage>, rows: usize) -> anyhow::Result<()> {
    if !store.is_empty().await? {
        bail!("bench import needs an empty database (a fresh data folder or PostgreSQL database)");
    }
    let households = ((rows as f64 / RESIDENTS_PER_HOUSEHOLD) as usize).max(10);
    let mut a = demo(households, 2026)?;
    let mut b = demo(households, 2027)?;
    a.dataset.residents.truncate(rows);
    b.dataset.residents.truncate(rows);
    let n = a.dataset.residents.len().min(b.dataset.residents.len());
    let residents_b = std::mem::take(&mut b.dataset.residents);
    let residents_a = std::mem::take(&mut a.dataset.residents);
    // The demo splits a compound across grids and numbers each part's buildings from 1, so
    // a district-wide ledger could not tell the parts apart by name: give each part its own
    // name, as a real ledger's compound names would be.
    for (idx, node) in a
        .dataset
        .nodes
        .iter_mut()
        .filter(|node| node.path.kind() == NodeKind::Compound)
        .enumerate()
    {
        node.name = format!("{}{}区", node.name, idx + 1);
    }
    store.load(&a.dataset).await?;
    store.load(&b.dataset).await?;

    // Baseline: the bulk load of the same number of residents.
    let t0 = Instant::now();
    store
        .load(&Dataset {
            residents: residents_b[..n].to_vec(),
            ..Dataset::default()
        })
        .await?;
    let baseline = secs(t0);

    // The ledger file of district A's residents, as an unmasked export writes it.
    let names: HashMap<NodeId, String> = a
        .dataset
        .nodes
        .iter()
        .map(|node| (node.path.id(), node.name.clone()))
        .collect();
    let today = SystemClock.today();
    let t0 = Instant::now();
    let export: Vec<_> = residents_a[..n]
        .iter()
        .map(|r| ledger_row(r, &names, today))
        .collect();
    let bytes = write_xlsx(&export)?;
    let written = secs(t0);

    let under = a.dataset.nodes[0].clone();
    let district = under.path.district().into();
    let mut lines = Vec::new();
    for pass in ["first import", "same file again"] {
        let t0 = Instant::now();
        let parsed = parse_workbook(&bytes)?;
        let parse = secs(t0);
        let t1 = Instant::now();
        let plan = plan_import(store.as_ref(), &under, parsed, &|_| true).await?;
        let resolve = secs(t1);
        if !plan.problems.is_empty() {
            bail!(
                "the generated ledger has problems: {:?}",
                &plan.problems[..plan.problems.len().min(5)]
            );
        }
        let t2 = Instant::now();
        store
            .apply_import(
                &ImportBatch {
                    district,
                    nodes: plan.nodes.clone(),
                    residents: plan.residents.clone(),
                    audit: AuditEntry {
                        id: uuid::Uuid::now_v7(),
                        district,
                        at: SystemClock.now(),
                        user_id: None,
                        username: "mulin-bench".into(),
                        action: "resident.import".into(),
                        target_kind: "node".into(),
                        target_id: under.path.id().to_string(),
                        ip: None,
                        detail: "bench".into(),
                    },
                },
                &|_| {},
            )
            .await?;
        let write = secs(t2);
        let total = parse + resolve + write;
        lines.push(format!(
            "| {} | {pass} | {n} | {} | {} | {parse:.2} s | {resolve:.2} s | {write:.2} s | {total:.2} s | {baseline:.2} s | {:.1}× |",
            store.backend_name(),
            bytes.len() / 1024,
            plan.created + plan.updated,
            total / baseline.max(1e-9)
        ));
    }
    println!(
        "ledger file: {n} rows, {} KiB, written in {written:.2} s",
        bytes.len() / 1024
    );
    println!();
    println!("| backend | pass | rows | file KiB | rows written | parse | resolve | write | import total | baseline: bulk load | total ÷ baseline |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for line in lines {
        println!("{line}");
    }
    Ok(())
}
