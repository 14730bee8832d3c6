//! The request KPI rollup in SQL (`request_kpis` by the day, `request_kpis_hourly` by the
//! hour, `request_kpis_monthly` by the month): kept in step inside the request's own
//! transaction, and read for whole months, days and hours; the days or hours a period's bounds cut are counted from the requests table, or
//! as the stretch's rollup less the requests of the rest of it, whichever holds fewer
//! requests (see [`mulin_storage::kpi::plan`]).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mulin_domain::deadline::EscalationLevel;
use mulin_domain::ids::DistrictId;
use mulin_domain::org::Department;
use mulin_domain::request::RequestStatus;
use mulin_domain::tree::NodePath;
use mulin_storage::kpi::{
    add_facts, days_touched, intake_day, plan, rollup_deltas, tallies_from, Cut, Grain, KpiFacts,
    Metric, RollupKey, Span,
};
use mulin_storage::{RequestKpiStore, RequestTallies, StoreResult};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};
use tracing::instrument;

use crate::requests::{opt_instant, request_from_row, request_level_column, REQUEST_COLUMNS};
use crate::rows::{corrupt, instant, millis};
use crate::sql::{get, Arg, Sql};
use crate::store::{execute_in, id_text, parse_optional};
use crate::{map_err, Dialect, SqlStore};

/// The table and start column of a grain's rollup.
fn rollup_table(grain: Grain) -> (&'static str, &'static str) {
    match grain {
        Grain::Day => ("request_kpis", "day"),
        Grain::Hour => ("request_kpis_hourly", "hour"),
        Grain::Month => ("request_kpis_monthly", "month"),
    }
}

/// Writes rollup changes ([`rollup_deltas`]): per grain, one multi-row upsert per
/// `max_args` arguments, usually one statement.
pub(crate) async fn apply_rollup(
    tx: &mut Transaction<'_, Any>,
    max_args: usize,
    deltas: Vec<(RollupKey, i64)>,
) -> StoreResult<()> {
    let per_statement = (max_args / 5).max(1);
    let mut statements = Vec::new();
    // The deltas are in key order, grain first: each grain's rows are one run.
    for run in deltas.chunk_by(|a, b| a.0.grain == b.0.grain) {
        let (table, column) = rollup_table(run[0].0.grain);
        for chunk in run.chunks(per_statement) {
            let mut sql = Sql::new(&format!(
                "INSERT INTO {table} (district_id, scope_id, {column}, metric, amount) VALUES "
            ));
            for (idx, (key, amount)) in chunk.iter().enumerate() {
                if idx > 0 {
                    sql.push(", ");
                }
                sql.bind_row(vec![
                    id_text(key.district),
                    id_text(key.scope),
                    Arg::from(key.start),
                    Arg::from(key.metric.key()),
                    Arg::from(*amount),
                ]);
            }
            sql.push(&format!(
                " ON CONFLICT (district_id, scope_id, {column}, metric) \
                 DO UPDATE SET amount = {table}.amount + excluded.amount"
            ));
            statements.push(sql);
        }
    }
    for sql in &statements {
        execute_in(tx, sql).await?;
    }
    Ok(())
}

const FACT_COLUMNS: &str = "received_at, status, level, arrive_due, resolve_due, arrived_at, \
     resolved_at, rating, arrive_breached, resolve_breached, whistle_breached, \
     whistle_department, merged_into";

fn facts_from_row(row: &AnyRow) -> StoreResult<KpiFacts> {
    let status: String = get(row, "status")?;
    let level: String = get(row, "level")?;
    let rating: Option<i64> = get(row, "rating")?;
    let merged: Option<String> = get(row, "merged_into")?;
    let flag = |column: &str| -> StoreResult<bool> { Ok(get::<i64>(row, column)? != 0) };
    Ok(KpiFacts {
        received_at: instant(row, "received_at")?,
        status: RequestStatus::parse(&status).map_err(corrupt)?,
        level: EscalationLevel::parse(&level).map_err(corrupt)?,
        arrive_due: instant(row, "arrive_due")?,
        resolve_due: instant(row, "resolve_due")?,
        arrived_at: opt_instant(row, "arrived_at")?,
        resolved_at: opt_instant(row, "resolved_at")?,
        rating: rating
            .map(|r| u8::try_from(r).map_err(corrupt))
            .transpose()?,
        breached: [
            flag("arrive_breached")?,
            flag("resolve_breached")?,
            flag("whistle_breached")?,
        ],
        whistle_department: parse_optional(Department::parse, get(row, "whistle_department")?)?,
        merged: merged.is_some(),
    })
}

/// How many requests of a stretch are counted at most when choosing how to count a cut
/// day or hour: enough to tell an empty or quiet stretch from a busy one, cheap either way.
const EDGE_SAMPLE: i64 = 2_000;

/// Requests read per query while rebuilding a rollup.
const REBUILD_PAGE: i64 = 20_000;

/// Counter sums per target: a period, or a day of the dashboard's series.
type Sums<K> = BTreeMap<K, BTreeMap<Metric, i64>>;

/// `SELECT … FROM requests WHERE` the requests of `scope` received in `span`.
fn requests_in(select: &str, district: DistrictId, scope: &NodePath, span: Span) -> Sql {
    let mut sql = Sql::new(&format!(
        "SELECT {select} FROM requests WHERE district_id = "
    ));
    sql.bind(district.to_string())
        .push(" AND ")
        .push(request_level_column(scope.kind()))
        .push(" = ")
        .bind(scope.id().to_string())
        .push(" AND received_at >= ")
        .bind(millis(span.0))
        .push(" AND received_at < ")
        .bind(millis(span.1));
    sql
}

/// Adds a rollup amount to counter sums; a counter a newer version wrote is none of this
/// version's figures.
fn add_amount(sums: &mut BTreeMap<Metric, i64>, row: &AnyRow) -> StoreResult<()> {
    let key: String = get(row, "metric")?;
    let amount: i64 = get(row, "amount")?;
    if let Some(metric) = Metric::parse(&key) {
        *sums.entry(metric).or_default() += amount;
    }
    Ok(())
}

/// The `meta` marks a migration leaves where the rollup must be rebuilt from the requests:
/// 0014 where requests predate the hourly rollup, 0015 where their handling-time buckets
/// changed, 0016 where they predate the monthly one.
const REBUILD_MARKS: [&str; 2] = [
    "request_kpis_hourly_pending",
    "request_kpis_rebuild_pending",
];

impl SqlStore {
    /// Rebuilds the rollup of every district with requests where a migration marked it
    /// ([`REBUILD_MARKS`]), once: the marks go with the rebuild.
    #[instrument(skip_all)]
    pub(crate) async fn open_request_kpis(&self) -> StoreResult<()> {
        let mut marked = false;
        for mark in REBUILD_MARKS {
            marked |= self.meta(mark).await?.is_some();
        }
        if !marked {
            return Ok(());
        }
        let rows = self
            .fetch_all(&Sql::new("SELECT DISTINCT district_id FROM requests"))
            .await?;
        for row in rows {
            let district: String = get(&row, "district_id")?;
            let district: DistrictId = district.parse().map_err(corrupt)?;
            let n_read = self.rebuild_request_kpis(district).await?;
            tracing::info!(%district, n_read, "rebuilt the request KPI rollup");
        }
        for mark in REBUILD_MARKS {
            let mut done = Sql::new("DELETE FROM meta WHERE key = ");
            done.bind(mark);
            self.execute(&done).await?;
        }
        Ok(())
    }

    /// The facts of the requests of `scope` received in `span`.
    async fn facts_in(
        &self,
        district: DistrictId,
        scope: &NodePath,
        span: Span,
    ) -> StoreResult<Vec<KpiFacts>> {
        if span.0 >= span.1 {
            return Ok(Vec::new());
        }
        let sql = requests_in(FACT_COLUMNS, district, scope, span);
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(facts_from_row)
            .collect()
    }

    /// Adds the rollup's counters of `scope` for the stretches of `grain` starting in
    /// `span`: all to `key(span.0)`, or with `per_stretch` each to `key` of its start.
    #[allow(clippy::too_many_arguments)]
    async fn add_rolled_up<K: Ord>(
        &self,
        sums: &mut Sums<K>,
        key: impl Fn(DateTime<Utc>) -> K,
        grain: Grain,
        district: DistrictId,
        scope: &NodePath,
        span: Span,
        per_stretch: bool,
    ) -> StoreResult<()> {
        let (table, column) = rollup_table(grain);
        // PostgreSQL sums BIGINTs as NUMERIC, which `Any` cannot decode: the sum is cast.
        let select = if per_stretch {
            format!("{column} AS start, metric, amount")
        } else {
            "metric, CAST(SUM(amount) AS BIGINT) AS amount".to_owned()
        };
        let mut sql = Sql::new(&format!(
            "SELECT {select} FROM {table} WHERE district_id = "
        ));
        sql.bind(district.to_string())
            .push(" AND scope_id = ")
            .bind(scope.id().to_string())
            .push(&format!(" AND {column} >= "))
            .bind(millis(span.0))
            .push(&format!(" AND {column} < "))
            .bind(millis(span.1));
        if !per_stretch {
            sql.push(" GROUP BY metric");
        }
        for row in self.fetch_all(&sql).await? {
            let start = if per_stretch {
                instant(&row, "start")?
            } else {
                span.0
            };
            add_amount(sums.entry(key(start)).or_default(), &row)?;
        }
        Ok(())
    }

    /// How many requests of `scope` were received in `span`, counted up to `EDGE_SAMPLE`.
    async fn count_at_most(
        &self,
        district: DistrictId,
        scope: &NodePath,
        span: Span,
    ) -> StoreResult<i64> {
        if span.0 >= span.1 {
            return Ok(0);
        }
        let mut sql = requests_in("1 AS one", district, scope, span);
        sql.push(" LIMIT ").bind(EDGE_SAMPLE);
        let sql = sql.wrap("SELECT COUNT(*) AS n FROM (", ") AS sample");
        get(&self.fetch_one(&sql).await?, "n")
    }

    /// Adds the pieces of a cut day or hour to their periods' targets, reading the fewer
    /// requests: the periods' pieces themselves, or the stretch's rollup less every other
    /// piece (credited to the busiest piece of a period). When counts tie, the shorter
    /// stretches are read. Each piece's requests are read at most once, even where two
    /// periods meet inside the stretch.
    async fn add_cut<K: Ord + Clone>(
        &self,
        sums: &mut Sums<K>,
        target: &impl Fn(usize, DateTime<Utc>) -> K,
        district: DistrictId,
        scope: &NodePath,
        cut: &Cut,
    ) -> StoreResult<()> {
        let mut costs = Vec::with_capacity(cut.pieces.len());
        for (span, _) in &cut.pieces {
            let n = self.count_at_most(district, scope, *span).await?;
            costs.push((n, (span.1 - span.0).num_milliseconds()));
        }
        let cost_of = |pick: &dyn Fn(usize) -> bool| {
            (0..costs.len())
                .filter(|idx| pick(*idx))
                .fold((0, 0), |acc, idx| {
                    (acc.0 + costs[idx].0, acc.1 + costs[idx].1)
                })
        };
        let owned = |idx: usize| cut.pieces[idx].1.is_some();
        let Some((busiest, busiest_owner)) = cut
            .pieces
            .iter()
            .enumerate()
            .filter_map(|(idx, (_, owner))| owner.map(|owner| (idx, owner)))
            .max_by_key(|(idx, _)| costs[*idx])
        else {
            return Ok(());
        };
        let read = |idx: usize| costs[idx].0 > 0;
        if cost_of(&owned) <= cost_of(&|idx| idx != busiest) {
            for (idx, (span, owner)) in cut.pieces.iter().enumerate() {
                let Some(owner) = owner.filter(|_| read(idx)) else {
                    continue;
                };
                let into = sums.entry(target(owner, span.0)).or_default();
                for facts in self.facts_in(district, scope, *span).await? {
                    add_facts(into, &facts, 1);
                }
            }
            return Ok(());
        }
        let derived = target(busiest_owner, cut.pieces[busiest].0 .0);
        let whole = cut.whole();
        self.add_rolled_up(
            sums,
            |_| derived.clone(),
            cut.grain,
            district,
            scope,
            whole,
            false,
        )
        .await?;
        for (idx, (span, owner)) in cut.pieces.iter().enumerate() {
            if idx == busiest || !read(idx) {
                continue;
            }
            for facts in self.facts_in(district, scope, *span).await? {
                add_facts(sums.entry(derived.clone()).or_default(), &facts, -1);
                if let Some(owner) = owner {
                    add_facts(sums.entry(target(*owner, span.0)).or_default(), &facts, 1);
                }
            }
        }
        Ok(())
    }

    /// The counter sums of the periods `[bounds[0], bounds[1])` … (ascending bounds), each
    /// part added to `target(period, where it lies)`; with `per_day` whole days are read
    /// day by day and no month is read whole (for targets that tell days apart).
    async fn tally<K: Ord + Clone>(
        &self,
        district: DistrictId,
        scope: &NodePath,
        bounds: &[DateTime<Utc>],
        target: impl Fn(usize, DateTime<Utc>) -> K,
        per_day: bool,
    ) -> StoreResult<Sums<K>> {
        let mut sums = Sums::new();
        let grains = Grain::of(scope.kind());
        if grains.is_empty() {
            for (idx, w) in bounds.windows(2).enumerate() {
                for facts in self.facts_in(district, scope, (w[0], w[1])).await? {
                    let into = sums.entry(target(idx, facts.received_at)).or_default();
                    add_facts(into, &facts, 1);
                }
            }
            return Ok(sums);
        }
        let grains: Vec<Grain> = grains
            .iter()
            .copied()
            .filter(|grain| !(per_day && *grain == Grain::Month))
            .collect();
        let plan = plan(bounds, &grains);
        for (idx, stretches) in plan.whole.iter().enumerate() {
            for (grain, span) in stretches {
                let per_stretch = per_day && *grain == Grain::Day;
                let key = |at| target(idx, at);
                self.add_rolled_up(&mut sums, key, *grain, district, scope, *span, per_stretch)
                    .await?;
            }
        }
        for cut in &plan.cuts {
            self.add_cut(&mut sums, &target, district, scope, cut)
                .await?;
        }
        Ok(sums)
    }

    /// The tallies of `scope` for the consecutive periods between `bounds` (ascending).
    async fn tallies_between(
        &self,
        district: DistrictId,
        scope: &NodePath,
        bounds: &[DateTime<Utc>],
    ) -> StoreResult<Vec<RequestTallies>> {
        let sums = self
            .tally(district, scope, bounds, |idx, _| idx, false)
            .await?;
        let none = BTreeMap::new();
        Ok((0..bounds.len().saturating_sub(1))
            .map(|idx| tallies_from(sums.get(&idx).unwrap_or(&none)))
            .collect())
    }

    /// The tallies of `scope` for requests received in `[from, to)`.
    pub(crate) async fn kpi_tallies(
        &self,
        district: DistrictId,
        scope: &NodePath,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<RequestTallies> {
        let mut tallies = self.tallies_between(district, scope, &[from, to]).await?;
        Ok(tallies.pop().unwrap_or_default())
    }
}

#[async_trait]
impl RequestKpiStore for SqlStore {
    #[instrument(skip_all, fields(scope = %scope.id()))]
    async fn request_tallies_of_periods(
        &self,
        district: DistrictId,
        scope: &NodePath,
        bounds: &[DateTime<Utc>],
    ) -> StoreResult<Vec<RequestTallies>> {
        if bounds.is_sorted() {
            return self.tallies_between(district, scope, bounds).await;
        }
        // Periods out of order may overlap, so they share no stretch: each is counted alone.
        let mut out = Vec::new();
        for w in bounds.windows(2) {
            out.extend(self.tallies_between(district, scope, w).await?);
        }
        Ok(out)
    }

    #[instrument(skip_all, fields(scope = %scope.id()))]
    async fn request_tallies_by_day(
        &self,
        district: DistrictId,
        scope: &NodePath,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<(DateTime<Utc>, RequestTallies)>> {
        let mut sums: Sums<DateTime<Utc>> = days_touched(from, to)
            .into_iter()
            .map(|day| (day, BTreeMap::new()))
            .collect();
        let by_day = self
            .tally(district, scope, &[from, to], |_, at| intake_day(at), true)
            .await?;
        for (day, day_sums) in by_day {
            let into = sums.entry(day).or_default();
            for (metric, amount) in day_sums {
                *into.entry(metric).or_default() += amount;
            }
        }
        Ok(sums
            .into_iter()
            .map(|(day, day_sums)| (day, tallies_from(&day_sums)))
            .collect())
    }

    #[instrument(skip_all, fields(district = %district))]
    async fn rebuild_request_kpis(&self, district: DistrictId) -> StoreResult<u64> {
        let max_args = self.dialect().max_insert_args();
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        // SQLite has one writer, so the transaction's first write keeps every other out. On
        // PostgreSQL an intake committing meanwhile would upsert a counter the rebuild
        // deleted or already summed, so writes to requests wait for the rebuild.
        if self.dialect() == Dialect::Postgres {
            execute_in(&mut tx, &Sql::new("LOCK TABLE requests IN SHARE MODE")).await?;
        }
        for grain in Grain::ALL {
            let (table, _) = rollup_table(grain);
            let mut clear = Sql::new(&format!("DELETE FROM {table} WHERE district_id = "));
            clear.bind(district.to_string());
            execute_in(&mut tx, &clear).await?;
        }
        let mut n_read = 0u64;
        let mut after = String::new();
        loop {
            let mut page = Sql::new(&format!(
                "SELECT {REQUEST_COLUMNS} FROM requests WHERE district_id = "
            ));
            page.bind(district.to_string())
                .push(" AND id > ")
                .bind(after.clone())
                .push(" ORDER BY id LIMIT ")
                .bind(REBUILD_PAGE);
            let rows = page.query().fetch_all(&mut *tx).await.map_err(map_err)?;
            let records = rows
                .iter()
                .map(request_from_row)
                .collect::<StoreResult<Vec<_>>>()?;
            let Some(last) = records.last() else {
                break;
            };
            after = last.id.to_string();
            n_read += records.len() as u64;
            let deltas = rollup_deltas(records.iter().map(|r| (None, r)));
            apply_rollup(&mut tx, max_args, deltas).await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(n_read)
    }
}
