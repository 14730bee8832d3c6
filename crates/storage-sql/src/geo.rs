//! [`GeoStore`] for the SQL store.

use async_trait::async_trait;
use mulin_domain::ids::{DistrictId, NodeId};
use mulin_storage::{AuditEntry, GeoStore, StoreError, StoreResult};
use tracing::instrument;

use crate::sql::Sql;
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
            let mut sql = Sql::new("UPDATE nodes SET geometry = ");
            sql.bind(geometry.as_str())
                .push(" WHERE district_id = ")
                .bind(district.to_string())
                .push(" AND id = ")
                .bind(id.to_string());
            let done = sql.query().execute(&mut *tx).await.map_err(map_err)?;
            if done.rows_affected() != 1 {
                // Dropping the transaction rolls it back.
                return Err(StoreError::NotFound);
            }
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
