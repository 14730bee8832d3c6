//! The request KPI rollup in SQL: kept in step inside the request's own transaction, and
//! read for whole days; a period's partial days are counted from the requests table.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use mulin_domain::deadline::EscalationLevel;
use mulin_domain::ids::DistrictId;
use mulin_domain::org::Department;
use mulin_domain::request::RequestStatus;
use mulin_domain::tree::NodePath;
use mulin_storage::kpi::{
    add_facts, day_at_or_after, intake_day, tallies_from, KpiFacts, Metric, RollupKey, ROLLUP_KINDS,
};
use mulin_storage::{RequestTallies, StoreResult};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use crate::requests::{opt_instant, request_level_column};
use crate::rows::{corrupt, instant, millis};
use crate::sql::{get, Arg, Sql};
use crate::store::{execute_in, id_text, parse_optional};
use crate::SqlStore;

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

impl SqlStore {
    /// Adds the requests of `scope` received in `[from, to)`, counted one by one.
    async fn add_direct(
        &self,
        sums: &mut BTreeMap<Metric, i64>,
        district: DistrictId,
        scope: &NodePath,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<()> {
        if from >= to {
            return Ok(());
        }
        let mut sql = Sql::new(&format!(
            "SELECT {FACT_COLUMNS} FROM requests WHERE district_id = "
        ));
        sql.bind(district.to_string())
            .push(" AND ")
            .push(request_level_column(scope.kind()))
            .push(" = ")
            .bind(scope.id().to_string())
            .push(" AND received_at >= ")
            .bind(millis(from))
            .push(" AND received_at < ")
            .bind(millis(to));
        for row in self.fetch_all(&sql).await? {
            add_facts(sums, &facts_from_row(&row)?);
        }
        Ok(())
    }

    /// Adds the rollup's counters of `scope` for the days starting in `[from, to)`.
    async fn add_rolled_up(
        &self,
        sums: &mut BTreeMap<Metric, i64>,
        district: DistrictId,
        scope: &NodePath,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<()> {
        // PostgreSQL sums BIGINTs as NUMERIC, which `Any` cannot decode: the sum is cast.
        let mut sql = Sql::new(
            "SELECT metric, CAST(SUM(amount) AS BIGINT) AS amount FROM request_kpis \
             WHERE district_id = ",
        );
        sql.bind(district.to_string())
            .push(" AND scope_id = ")
            .bind(scope.id().to_string())
            .push(" AND day >= ")
            .bind(millis(from))
            .push(" AND day < ")
            .bind(millis(to))
            .push(" GROUP BY metric");
        for row in self.fetch_all(&sql).await? {
            let key: String = get(&row, "metric")?;
            let amount: i64 = get(&row, "amount")?;
            // A counter a newer version wrote is none of this version's figures.
            if let Some(metric) = Metric::parse(&key) {
                *sums.entry(metric).or_default() += amount;
            }
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
        let first_day = day_at_or_after(from);
        let end_day = intake_day(to);
        if ROLLUP_KINDS.contains(&scope.kind()) && first_day < end_day {
            self.add_direct(&mut sums, district, scope, from, first_day)
                .await?;
            self.add_rolled_up(&mut sums, district, scope, first_day, end_day)
                .await?;
            self.add_direct(&mut sums, district, scope, end_day, to)
                .await?;
        } else {
            self.add_direct(&mut sums, district, scope, from, to)
                .await?;
        }
        Ok(tallies_from(&sums))
    }
}
