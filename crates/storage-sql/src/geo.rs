//! [`GeoStore`] for the SQL store.

use async_trait::async_trait;
use mulin_domain::ids::{DistrictId, NodeId};
use mulin_storage::{AuditEntry, GeoStore, StoreError, StoreResult};
use tracing::instrument;

use crate::rows::millis;
use crate::sql::{Arg, Sql};
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
        let mut sql = Sql::new(
            "INSERT INTO audit_log (district_id, id, at, user_id, username, action, target_kind, \
             target_id, ip, detail) VALUES ",
        );
        sql.bind_row(vec![
            Arg::from(audit.district.to_string()),
            Arg::from(audit.id.to_string()),
            Arg::from(millis(audit.at)),
            Arg::from(audit.user_id.map(|id| id.to_string())),
            Arg::from(audit.username.clone()),
            Arg::from(audit.action.clone()),
            Arg::from(audit.target_kind.clone()),
            Arg::from(audit.target_id.clone()),
            Arg::from(audit.ip.clone()),
            Arg::from(audit.detail.clone()),
        ]);
        sql.query().execute(&mut *tx).await.map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }
}
