//! [`RedivisionStore`] for the SQL store.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mulin_domain::ids::{DistrictId, NodeId};
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_storage::kpi::rollup_deltas;
use mulin_storage::{
    AuditEntry, GridRetirement, RedivisionChange, RedivisionRecord, RedivisionStore, StoreError,
    StoreResult,
};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};
use tracing::instrument;

use crate::geo::set_geometry;
use crate::kpi::apply_rollup;
use crate::requests::{opt_instant, request_from_row, REQUEST_COLUMNS};
use crate::rows::{corrupt, instant, millis, node_args, uuid_text, NODE_COLUMNS};
use crate::sql::{get, Arg, Sql};
use crate::store::{audit_insert, execute_in, id_text, insert_rows};
use crate::{map_err, SqlStore};

const COLUMNS: &str =
    "district_id, id, community_id, created_at, created_by, fingerprint, body, applied_at";

/// Tables whose rows under a compound carry its grid in `grid_id` (requests move apart,
/// with their KPI rollup).
const GRID_TABLES: [&str; 3] = ["nodes", "residents", "movements"];

/// Tables whose rows name a household and carry its grid in `grid_id`.
const HOUSEHOLD_TABLES: [&str; 2] = ["health_records", "sickbeds"];

/// Tables whose rows hang on a node by `node_id`: what a retired grid hands its successor.
const NODE_TABLES: [&str; 3] = ["posts", "units", "party_orgs"];

/// Tables whose rows name the grid they were recorded in, with no compound to follow.
const RECORDED_IN_GRID: [&str; 4] = ["visits", "movements", "health_records", "sickbeds"];

/// Moves the requests whose `column` is `id` to grid `to`, and their KPI rollup with them.
async fn move_requests(
    tx: &mut Transaction<'_, Any>,
    max_args: usize,
    district: DistrictId,
    (column, id): (&str, NodeId),
    to: NodeId,
) -> StoreResult<()> {
    let filter = |mut sql: Sql| {
        sql.push(" WHERE district_id = ")
            .bind(district.to_string())
            .push(&format!(" AND {column} = "))
            .bind(id.to_string());
        sql
    };
    let rows = filter(Sql::new(&format!("SELECT {REQUEST_COLUMNS} FROM requests")))
        .query()
        .fetch_all(&mut **tx)
        .await
        .map_err(map_err)?;
    let mut changes = Vec::with_capacity(rows.len());
    for row in &rows {
        let before = request_from_row(row)?;
        let mut levels = before.place.levels();
        levels[NodeKind::Grid.level()] = Some(to);
        let mut after = before.clone();
        after.place = NodePath::from_levels(before.place.kind(), levels).map_err(corrupt)?;
        changes.push((before, after));
    }
    if changes.is_empty() {
        return Ok(());
    }
    let mut update = Sql::new("UPDATE requests SET grid_id = ");
    update.bind(to.to_string());
    execute_in(tx, &filter(update)).await?;
    apply_rollup(
        tx,
        max_args,
        rollup_deltas(changes.iter().map(|(before, after)| (Some(before), after))),
    )
    .await
}

/// Retires an emptied grid into its successor: what hangs on it moves over, then the node
/// goes. Its compounds have moved already; one left behind is a conflict.
async fn retire(
    tx: &mut Transaction<'_, Any>,
    max_args: usize,
    district: DistrictId,
    retired: GridRetirement,
) -> StoreResult<()> {
    let (grid, successor) = (retired.grid.to_string(), retired.successor.to_string());
    move_requests(
        tx,
        max_args,
        district,
        ("grid_id", retired.grid),
        retired.successor,
    )
    .await?;
    let repoint = |table: &str, column: &str| {
        let mut sql = Sql::new(&format!("UPDATE {table} SET {column} = "));
        sql.bind(successor.clone())
            .push(" WHERE district_id = ")
            .bind(district.to_string())
            .push(&format!(" AND {column} = "))
            .bind(grid.clone());
        sql
    };
    for table in NODE_TABLES {
        execute_in(tx, &repoint(table, "node_id")).await?;
    }
    for table in RECORDED_IN_GRID {
        execute_in(tx, &repoint(table, "grid_id")).await?;
    }
    // A grant held at both grids is kept once.
    let mut sql = repoint("grants", "node_id");
    sql.push(
        " AND NOT EXISTS (SELECT 1 FROM grants AS held WHERE held.district_id = grants.district_id \
         AND held.user_id = grants.user_id AND held.role = grants.role AND held.node_id = ",
    )
    .bind(successor.clone())
    .push(")");
    execute_in(tx, &sql).await?;
    for (table, column) in [
        ("grants", "node_id"),
        ("request_kpis", "scope_id"),
        ("request_kpis_monthly", "scope_id"),
    ] {
        let mut sql = Sql::new(&format!("DELETE FROM {table} WHERE district_id = "));
        sql.bind(district.to_string())
            .push(&format!(" AND {column} = "))
            .bind(grid.clone());
        execute_in(tx, &sql).await?;
    }
    let mut sql = Sql::new("DELETE FROM nodes WHERE district_id = ");
    sql.bind(district.to_string())
        .push(" AND id = ")
        .bind(grid.clone())
        .push(" AND kind = 'grid' AND NOT EXISTS (SELECT 1 FROM nodes AS child WHERE child.district_id = ")
        .bind(district.to_string())
        .push(" AND child.parent_id = ")
        .bind(grid)
        .push(")");
    let done = sql.query().execute(&mut **tx).await.map_err(map_err)?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Conflict(
            "a retired grid still holds compounds".into(),
        ));
    }
    Ok(())
}

fn from_row(row: &AnyRow) -> StoreResult<RedivisionRecord> {
    Ok(RedivisionRecord {
        district: DistrictId::from_uuid(uuid_text(row, "district_id")?),
        id: uuid_text(row, "id")?,
        community: NodeId::from_uuid(uuid_text(row, "community_id")?),
        created_at: instant(row, "created_at")?,
        created_by: get(row, "created_by")?,
        fingerprint: get(row, "fingerprint")?,
        body: get(row, "body")?,
        applied_at: opt_instant(row, "applied_at")?,
    })
}

#[async_trait]
impl RedivisionStore for SqlStore {
    #[instrument(skip_all, fields(id = %proposal.id))]
    async fn insert_redivision(&self, proposal: &RedivisionRecord) -> StoreResult<()> {
        let mut sql = Sql::new(&format!(
            "INSERT INTO redivision_proposals ({COLUMNS}) VALUES "
        ));
        sql.bind_row(vec![
            id_text(proposal.district),
            id_text(proposal.id),
            id_text(proposal.community),
            Arg::from(millis(proposal.created_at)),
            Arg::from(proposal.created_by.clone()),
            Arg::from(proposal.fingerprint.clone()),
            Arg::from(proposal.body.clone()),
            Arg::from(proposal.applied_at.map(millis)),
        ]);
        self.execute(&sql).await?;
        Ok(())
    }

    #[instrument(skip_all, fields(%id))]
    async fn redivision(
        &self,
        district: DistrictId,
        id: uuid::Uuid,
    ) -> StoreResult<RedivisionRecord> {
        let mut sql = Sql::new(&format!(
            "SELECT {COLUMNS} FROM redivision_proposals WHERE district_id = "
        ));
        sql.bind(district.to_string())
            .push(" AND id = ")
            .bind(id.to_string());
        from_row(&self.fetch_one(&sql).await?)
    }

    #[instrument(skip_all, fields(%id, n = change.moves.len(), new = change.new_grids.len(), retired = change.retired.len()))]
    async fn apply_redivision(
        &self,
        district: DistrictId,
        id: uuid::Uuid,
        change: RedivisionChange<'_>,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let max_args = self.dialect().max_insert_args();
        let mut tx = self.writer().begin().await.map_err(map_err)?;
        let mut sql = Sql::new("UPDATE redivision_proposals SET applied_at = ");
        sql.bind(millis(at))
            .push(" WHERE district_id = ")
            .bind(district.to_string())
            .push(" AND id = ")
            .bind(id.to_string())
            .push(" AND applied_at IS NULL");
        let done = sql.query().execute(&mut *tx).await.map_err(map_err)?;
        if done.rows_affected() != 1 {
            // Dropping the transaction rolls it back.
            return Err(StoreError::Conflict("proposal already applied".into()));
        }
        insert_rows(
            &mut tx,
            max_args,
            &format!("INSERT INTO nodes ({NODE_COLUMNS}) VALUES "),
            change.new_grids.iter().map(node_args),
        )
        .await?;
        for step in change.moves {
            // The compound itself: a new parent, checked against where the proposal saw it.
            let mut sql = Sql::new("UPDATE nodes SET parent_id = ");
            sql.bind(step.to.to_string())
                .push(" WHERE district_id = ")
                .bind(district.to_string())
                .push(" AND id = ")
                .bind(step.compound.to_string())
                .push(" AND parent_id = ")
                .bind(step.from.to_string());
            let done = sql.query().execute(&mut *tx).await.map_err(map_err)?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Conflict("compound moved since".into()));
            }
            move_requests(
                &mut tx,
                max_args,
                district,
                ("compound_id", step.compound),
                step.to,
            )
            .await?;
            // Everything under it (the compound's own row included) by its path column.
            for table in GRID_TABLES {
                let mut sql = Sql::new(&format!("UPDATE {table} SET grid_id = "));
                sql.bind(step.to.to_string())
                    .push(" WHERE district_id = ")
                    .bind(district.to_string())
                    .push(" AND compound_id = ")
                    .bind(step.compound.to_string());
                execute_in(&mut tx, &sql).await?;
            }
            // Care records carry the household's path down to the grid only.
            for table in HOUSEHOLD_TABLES {
                let mut sql = Sql::new(&format!("UPDATE {table} SET grid_id = "));
                sql.bind(step.to.to_string())
                    .push(" WHERE district_id = ")
                    .bind(district.to_string())
                    .push(" AND household_id IN (SELECT id FROM nodes WHERE district_id = ")
                    .bind(district.to_string())
                    .push(" AND compound_id = ")
                    .bind(step.compound.to_string())
                    .push(")");
                execute_in(&mut tx, &sql).await?;
            }
        }
        for retired in change.retired {
            retire(&mut tx, max_args, district, *retired).await?;
        }
        for (grid, boundary) in change.boundaries {
            set_geometry(&mut tx, district, *grid, boundary.as_deref()).await?;
        }
        audit_insert(audit)
            .query()
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }
}
