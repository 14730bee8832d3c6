//! `impl IntakeStore for SqlStore`: the address node of an intake in one read, and the new
//! request with its timeline, notifications, outbox messages, audit record and hotline
//! callback in one transaction: one batch of statements (on SQLite one call to the
//! writer), then the rollup.

use async_trait::async_trait;
use mulin_domain::ids::{DistrictId, NodeId};
use mulin_storage::kpi::rollup_deltas;
use mulin_storage::{Intake, IntakeStore, NodeRecord, StoreError, StoreResult};
use tracing::instrument;

use crate::kpi::apply_rollup;
use crate::requests::{request_args, TimelineRows, REQUEST_COLUMNS};
use crate::rows::{node_from_row, NODE_COLUMNS};
use crate::sql::{get, Arg, Batch, Sql};
use crate::store::{audit_insert, id_text, prefixed};
use crate::{map_err, SqlStore};

#[async_trait]
impl IntakeStore for SqlStore {
    async fn address_node(
        &self,
        district: DistrictId,
        id: NodeId,
    ) -> StoreResult<(NodeRecord, Option<String>)> {
        // A node's own level column holds its own id, so a compound is not joined to itself.
        let mut sql = Sql::new(&format!(
            "SELECT {}, c.name AS compound_name FROM nodes n \
             LEFT JOIN nodes c ON c.district_id = n.district_id AND c.id = n.compound_id \
             AND c.id <> n.id WHERE n.district_id = ",
            prefixed("n.", NODE_COLUMNS)
        ));
        sql.bind(district.to_string())
            .push(" AND n.id = ")
            .bind(id.to_string());
        let row = self.fetch_one(&sql).await?;
        Ok((node_from_row(&row)?, get(&row, "compound_name")?))
    }

    #[instrument(skip_all, fields(id = %intake.request.id))]
    async fn insert_intake(&self, intake: &Intake<'_>) -> StoreResult<()> {
        let request = intake.request;
        if intake
            .callback
            .is_some_and(|c| c.district != request.district || c.request != request.id)
            || intake
                .audit
                .is_some_and(|entry| entry.district != request.district)
        {
            return Err(StoreError::Conflict(
                "an intake's callback and audit record belong to its request".into(),
            ));
        }
        // Everything but the rollup is one batch: on SQLite one call to the writer.
        let max_args = self.dialect().max_insert_args();
        let mut batch = Batch::new(self.dialect());
        let mut sql = Sql::new(&format!("INSERT INTO requests ({REQUEST_COLUMNS}) VALUES "));
        sql.bind_row(request_args(request));
        batch.push(sql);
        TimelineRows::of([(request, intake.events, intake.notifications)])
            .push_to(&mut batch, max_args);
        if let Some(callback) = intake.callback {
            // Written before the outbox is filled, which then queues the timeline so far
            // for it like every later change.
            let mut sql = Sql::new(
                "INSERT INTO hotline_callbacks (district_id, request_id, url, secret) VALUES ",
            );
            sql.bind_row(vec![
                id_text(callback.district),
                id_text(callback.request),
                Arg::from(callback.url.clone()),
                Arg::from(callback.secret.clone()),
            ]);
            batch.push(sql);
        }
        crate::outbox::enqueue(
            &mut batch,
            max_args,
            [(request, intake.events, intake.notifications)],
        );
        if let Some(entry) = intake.audit {
            batch.push(audit_insert(entry));
        }
        let deltas = rollup_deltas([(None, request)]);
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        batch.execute(&mut tx).await?;
        apply_rollup(&mut tx, max_args, deltas).await?;
        tx.commit().await.map_err(map_err)
    }
}
