//! [`RepresentativeStore`] for the SQL store: post ↔ household links.

use async_trait::async_trait;
use mulin_domain::ids::{DistrictId, NodeId, PostId};
use mulin_domain::org::PostKind;
use mulin_storage::{AuditEntry, RepresentativeStore, StoreResult};

use crate::rows::{corrupt, uuid_text};
use crate::sql::{get, Sql};
use crate::store::{audit_insert, execute_in, id_text, insert_rows};
use crate::{map_err, SqlStore};

#[async_trait]
impl RepresentativeStore for SqlStore {
    async fn post_place(
        &self,
        district: DistrictId,
        post: PostId,
    ) -> StoreResult<(PostKind, NodeId)> {
        let mut sql = Sql::new("SELECT kind, node_id FROM posts WHERE district_id = ");
        sql.bind(district.to_string())
            .push(" AND id = ")
            .bind(post.to_string());
        let row = self.fetch_one(&sql).await?;
        let kind: String = get(&row, "kind")?;
        Ok((
            PostKind::parse(&kind).map_err(corrupt)?,
            NodeId::from_uuid(uuid_text(&row, "node_id")?),
        ))
    }

    async fn set_post_households(
        &self,
        district: DistrictId,
        post: PostId,
        households: &[NodeId],
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut delete = Sql::new("DELETE FROM post_households WHERE district_id = ");
        delete
            .bind(district.to_string())
            .push(" AND post_id = ")
            .bind(post.to_string());
        let mut tx = self.writer().begin().await.map_err(map_err)?;
        execute_in(&mut tx, &delete).await?;
        insert_rows(
            &mut tx,
            self.dialect.max_insert_args(),
            "INSERT INTO post_households (district_id, post_id, household_id) VALUES ",
            households
                .iter()
                .map(|h| vec![id_text(district), id_text(post), id_text(h)]),
        )
        .await?;
        execute_in(&mut tx, &audit_insert(audit)).await?;
        tx.commit().await.map_err(map_err)
    }
}
