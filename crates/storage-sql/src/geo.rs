//! [`GeoStore`] for the SQL store.

use async_trait::async_trait;
use mulin_domain::ids::{DistrictId, NodeId};
use mulin_storage::{AuditEntry, GeoStore, StoreError, StoreResult};
use sqlx::{Any, Transaction};
use tracing::instrument;

use crate::sql::{Arg, Sql};
use crate::store::audit_insert;
use crate::{map_err, SqlStore};

#[async_trait]
impl GeoStore for SqlStore {
    #[instrument(skip_all, fields(n = geometries.len()))]
    async fn replace_geometries(
        &self,
        district: DistrictId,
        geometries: &[(NodeId, String)],
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.writer().begin().await.map_err(map_err)?;
        for (id, geometry) in geometries {
            set_geometry(&mut tx, district, *id, Some(geometry.as_str())).await?;
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

/// Sets (or with `None` clears) one node's geometry inside `tx`; `NotFound` when the
/// district has no such node (the caller's transaction then rolls back).
pub(crate) async fn set_geometry(
    tx: &mut Transaction<'_, Any>,
    district: DistrictId,
    id: NodeId,
    geometry: Option<&str>,
) -> StoreResult<()> {
    let mut sql = Sql::new("UPDATE nodes SET geometry = ");
    sql.bind(Arg::from(geometry.map(str::to_owned)))
        .push(" WHERE district_id = ")
        .bind(district.to_string())
        .push(" AND id = ")
        .bind(id.to_string());
    let done = sql.query().execute(&mut **tx).await.map_err(map_err)?;
    if done.rows_affected() != 1 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
