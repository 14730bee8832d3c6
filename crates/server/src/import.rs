//! `mulin import residents FILE --under NODE [--dry-run]`: the ledger import from the
//! command line, with a progress bar over its phases (read, check, resolve) and then over
//! the residents written.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use mulin_ledger::{parse_workbook, plan_import};
use mulin_storage::{AuditEntry, ImportBatch, NodeRecord, Storage};
use mulin_web::clock::{Clock, SystemClock};
use mulin_web::i18n::{Lang, Tr};
use mulin_web::ledger_text::{ledger_error_message, problem_message};

/// Read, check, resolve; a write then counts residents.
fn bar() -> ProgressBar {
    let bar = ProgressBar::new(3);
    bar.set_style(style("{spinner} [{bar:20}] {pos}/{len} {msg} ({elapsed})"));
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// Imports (or with `dry_run` only checks) a ledger file under `under`, as the operator.
pub async fn residents(
    store: &Arc<dyn Storage>,
    file: &Path,
    under: &NodeRecord,
    dry_run: bool,
) -> anyhow::Result<()> {
    let progress = bar();
    progress.set_message("读取文件 reading");
    let bytes = tokio::fs::read(file)
        .await
        .with_context(|| format!("cannot read {}", file.display()))?;
    progress.inc(1);
    progress.set_message("检查每一行 checking rows");
    // Offices read the problems: they are printed in Chinese, like the pages' default.
    let tr = Tr::new(Lang::ZhCn);
    let parsed = tokio::task::spawn_blocking(move || parse_workbook(&bytes))
        .await?
        .map_err(|err| anyhow!(ledger_error_message(&tr, &err)))?;
    progress.inc(1);
    progress.set_message(format!("核对 {} 行的地址与居民 resolving", parsed.n_rows));
    let plan = plan_import(store.as_ref(), under, parsed, &|_| true).await?;
    progress.inc(1);
    if !plan.problems.is_empty() {
        progress.finish_and_clear();
        for problem in &plan.problems {
            eprintln!(
                "第 {} 行 row {}  [{}]  {}",
                problem.row,
                problem.row,
                problem.column,
                problem_message(&tr, problem)
            );
        }
        bail!(
            "{} 个问题，未导入任何数据 / {} problems, nothing imported",
            plan.problems.len(),
            plan.problems.len()
        );
    }
    let summary = format!(
        "{} 行：新增 {}，更新 {}，未变 {}，新建地址 {}",
        plan.n_rows,
        plan.created,
        plan.updated,
        plan.unchanged,
        plan.nodes.len()
    );
    if dry_run {
        progress.finish_and_clear();
        println!("检查通过（未写入）dry run ok: {summary}");
        return Ok(());
    }
    // The write is the long phase: the bar now counts residents.
    progress.set_length(plan.residents.len() as u64);
    progress.set_position(0);
    progress.set_style(style(
        "{spinner} [{bar:20}] {pos}/{len} {msg} ({elapsed}, {eta})",
    ));
    progress.set_message("写入居民 writing");
    let district = under.path.district().into();
    let file_name = file
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    store
        .apply_import(
            &ImportBatch {
                district,
                nodes: plan.nodes,
                residents: plan.residents,
                audit: AuditEntry {
                    id: uuid::Uuid::now_v7(),
                    district,
                    at: SystemClock.now(),
                    user_id: None,
                    username: "mulin-cli".into(),
                    action: "resident.import".into(),
                    target_kind: "node".into(),
                    target_id: under.path.id().to_string(),
                    ip: None,
                    detail: format!("{file_name}：{summary}"),
                },
            },
            &|n_written| progress.set_position(n_written as u64),
        )
        .await?;
    progress.finish_and_clear();
    println!("导入完成 imported: {summary}");
    Ok(())
}
