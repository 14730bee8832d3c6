//! The request KPI rollup in SQL: kept in step inside the request's own transaction, and
//! read for whole days; a period's partial days are counted from the requests table, or
//! as the day's rollup less the requests of the rest of the day, whichever holds fewer
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
    add_facts, days_touched, intake_day, plan, rollup_deltas, tallies_from, Edge, KpiFacts, Metric,
    RollupKey, Span, ROLLUP_KINDS,
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

const UPSERT_HEAD: &str =
    "INSERT INTO request_kpis (district_id, scope_id, day, metric, amount) VALUES ";
const UPSERT_TAIL: &str = " ON CONFLICT (district_id, scope_id, day, metric) \
     DO UPDATE SET amount = request_kpis.amount + excluded.amount";

/// Writes rollup changes ([`rollup_deltas`]): one multi-row upsert per `max_args`
/// arguments, usually one statement.
pub(crate) async fn apply_rollup(
    tx: &mut Transaction<'_, Any>,
    max_args: usize,
    deltas: Vec<(RollupKey, i64)>,
) -> StoreResult<()> {
    let per_statement = (max_args / 5).max(1);
    let statements: Vec<Sql> = deltas
        .chunks(per_statement)
        .map(|chunk| {
            let mut sql = Sql::new(UPSERT_HEAD);
            for (idx, (key, amount)) in chunk.iter().enumerate() {
                if idx > 0 {
                    sql.push(", ");
                }
                sql.bind_row(vec![
                    id_text(key.district),
                    id_text(key.scope),
                    Arg::from(key.day),
                    Arg::from(key.metric.key()),
                    Arg::from(*amount),
                ]);
            }
            sql.push(UPSERT_TAIL);
            sql
        })
        .collect();
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

/// How many requests of a stretch are counted at most when choosing how to count a partial
/// day: enough to tell an empty or quiet stretch from a busy one, cheap either way.
const EDGE_SAMPLE: i64 = 2_000;

/// Requests read per query while rebuilding a rollup.
const REBUILD_PAGE: i64 = 20_000;

/// Counter sums per day.
type DaySums = BTreeMap<DateTime<Utc>, BTreeMap<Metric, i64>>;

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

/// `SELECT … FROM request_kpis WHERE` the rollup rows of `scope` for the days starting in
/// `span`.
fn rollup_in(select: &str, district: DistrictId, scope: &NodePath, span: Span) -> Sql {
    let mut sql = Sql::new(&format!(
        "SELECT {select} FROM request_kpis WHERE district_id = "
    ));
    sql.bind(district.to_string())
        .push(" AND scope_id = ")
        .bind(scope.id().to_string())
        .push(" AND day >= ")
        .bind(millis(span.0))
        .push(" AND day < ")
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

impl SqlStore {
    /// Adds (`sign` 1) or takes away (-1) the requests of `scope` received in `span`,
    /// counted one by one.
    async fn add_direct(
        &self,
        sums: &mut BTreeMap<Metric, i64>,
        district: DistrictId,
        scope: &NodePath,
        span: Span,
        sign: i64,
    ) -> StoreResult<()> {
        if span.0 >= span.1 {
            return Ok(());
        }
        let sql = requests_in(FACT_COLUMNS, district, scope, span);
        for row in self.fetch_all(&sql).await? {
            add_facts(sums, &facts_from_row(&row)?, sign);
        }
        Ok(())
    }

    /// Adds the rollup's counters of `scope` for the days starting in `span`.
    async fn add_rolled_up(
        &self,
        sums: &mut BTreeMap<Metric, i64>,
        district: DistrictId,
        scope: &NodePath,
        span: Span,
    ) -> StoreResult<()> {
        // PostgreSQL sums BIGINTs as NUMERIC, which `Any` cannot decode: the sum is cast.
        let mut sql = rollup_in(
            "metric, CAST(SUM(amount) AS BIGINT) AS amount",
            district,
            scope,
            span,
        );
        sql.push(" GROUP BY metric");
        for row in self.fetch_all(&sql).await? {
            add_amount(sums, &row)?;
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

    /// Adds the part of a partial day the period covers, reading the fewer requests: the
    /// part itself, or the rest of the day taken from the day's rollup. When both are busy
    /// the shorter stretch is read.
    async fn add_edge(
        &self,
        sums: &mut BTreeMap<Metric, i64>,
        district: DistrictId,
        scope: &NodePath,
        edge: &Edge,
    ) -> StoreResult<()> {
        let part = self.count_at_most(district, scope, edge.part).await?;
        let mut rest = 0;
        for span in &edge.rest {
            rest += self.count_at_most(district, scope, *span).await?;
        }
        let length = |spans: &[Span]| -> i64 {
            spans
                .iter()
                .map(|(from, to)| (*to - *from).num_milliseconds())
                .sum()
        };
        if (part, length(&[edge.part])) <= (rest, length(&edge.rest)) {
            return self.add_direct(sums, district, scope, edge.part, 1).await;
        }
        self.add_rolled_up(sums, district, scope, edge.whole_day())
            .await?;
        for span in &edge.rest {
            self.add_direct(sums, district, scope, *span, -1).await?;
        }
        Ok(())
    }

    /// The tallies of `scope` for requests received in `[from, to)`.
    pub(crate) async fn kpi_tallies(
        &self,
        district: DistrictId,
        scope: &NodePath,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<RequestTallies> {
        let mut sums = BTreeMap::new();
        if ROLLUP_KINDS.contains(&scope.kind()) {
            let plan = plan(from, to);
            if let Some(days) = plan.days {
                self.add_rolled_up(&mut sums, district, scope, days).await?;
            }
            for edge in &plan.edges {
                self.add_edge(&mut sums, district, scope, edge).await?;
            }
        } else {
            self.add_direct(&mut sums, district, scope, (from, to), 1)
                .await?;
        }
        Ok(tallies_from(&sums))
    }

    /// Adds the rollup rows of the whole days in `span`, each to its day.
    async fn add_rolled_up_by_day(
        &self,
        sums: &mut DaySums,
        district: DistrictId,
        scope: &NodePath,
        span: Span,
    ) -> StoreResult<()> {
        let sql = rollup_in("day, metric, amount", district, scope, span);
        for row in self.fetch_all(&sql).await? {
            let day = instant(&row, "day")?;
            add_amount(sums.entry(day).or_default(), &row)?;
        }
        Ok(())
    }

    /// Adds the requests of `span`, counted one by one, each to its intake day.
    async fn add_direct_by_day(
        &self,
        sums: &mut DaySums,
        district: DistrictId,
        scope: &NodePath,
        span: Span,
    ) -> StoreResult<()> {
        let sql = requests_in(FACT_COLUMNS, district, scope, span);
        for row in self.fetch_all(&sql).await? {
            let facts = facts_from_row(&row)?;
            add_facts(
                sums.entry(intake_day(facts.received_at)).or_default(),
                &facts,
                1,
            );
        }
        Ok(())
    }
}

#[async_trait]
impl RequestKpiStore for SqlStore {
    #[instrument(skip_all, fields(scope = %scope.id()))]
    async fn request_tallies_by_day(
        &self,
        district: DistrictId,
        scope: &NodePath,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<(DateTime<Utc>, RequestTallies)>> {
        let mut sums: DaySums = days_touched(from, to)
            .into_iter()
            .map(|day| (day, BTreeMap::new()))
            .collect();
        if ROLLUP_KINDS.contains(&scope.kind()) {
            let plan = plan(from, to);
            if let Some(days) = plan.days {
                self.add_rolled_up_by_day(&mut sums, district, scope, days)
                    .await?;
            }
            for edge in &plan.edges {
                self.add_edge(sums.entry(edge.day).or_default(), district, scope, edge)
                    .await?;
            }
        } else if from < to {
            self.add_direct_by_day(&mut sums, district, scope, (from, to))
                .await?;
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
        let mut clear = Sql::new("DELETE FROM request_kpis WHERE district_id = ");
        clear.bind(district.to_string());
        execute_in(&mut tx, &clear).await?;
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
