//! [`RedivisionStore`] for the SQL store.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mulin_domain::ids::{DistrictId, NodeId};
use mulin_storage::{
    AuditEntry, CompoundMove, RedivisionRecord, RedivisionStore, StoreError, StoreResult,
};
use sqlx::any::AnyRow;
use tracing::instrument;

use crate::geo::set_geometry;
use crate::requests::opt_instant;
use crate::rows::{instant, millis, uuid_text};
use crate::sql::{get, Arg, Sql};
use crate::store::{audit_insert, id_text};
use crate::{map_err, SqlStore};

const COLUMNS: &str =
    "district_id, id, community_id, created_at, created_by, fingerprint, body, applied_at";

/// Tables whose rows under a compound carry its grid in `grid_id`.
const GRID_TABLES: [&str; 3] = ["nodes", "residents", "requests"];

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

    #[instrument(skip_all, fields(%id, n = moves.len()))]
    async fn apply_redivision(
        &self,
        district: DistrictId,
        id: uuid::Uuid,
        moves: &[CompoundMove],
        boundaries: &[(NodeId, Option<String>)],
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
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
        for step in moves {
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
            // Everything under it (the compound's own row included) by its path column.
            for table in GRID_TABLES {
                let mut sql = Sql::new(&format!("UPDATE {table} SET grid_id = "));
                sql.bind(step.to.to_string())
                    .push(" WHERE district_id = ")
                    .bind(district.to_string())
                    .push(" AND compound_id = ")
                    .bind(step.compound.to_string());
                sql.query().execute(&mut *tx).await.map_err(map_err)?;
            }
        }
        for (grid, boundary) in boundaries {
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
