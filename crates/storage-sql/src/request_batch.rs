//! `impl RequestBatchStore for SqlStore`: many compare-and-set request changes, one commit.

use async_trait::async_trait;
use mulin_storage::kpi::rollup_deltas;
use mulin_storage::{RequestBatchStore, RequestChange, StoreResult};
use tracing::instrument;

use crate::kpi::apply_rollup;
use crate::requests::{update_statement, TimelineRows};
use crate::{map_err, SqlStore};

#[async_trait]
impl RequestBatchStore for SqlStore {
    #[instrument(skip_all, fields(n = changes.len()))]
    async fn update_requests(&self, changes: &[RequestChange]) -> StoreResult<Vec<bool>> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        let mut written = Vec::with_capacity(changes.len());
        for change in changes {
            let done = update_statement(&change.previous, &change.request)
                .query()
                .execute(&mut *tx)
                .await
                .map_err(map_err)?
                .rows_affected();
            written.push(done == 1);
        }
        let applied: Vec<&RequestChange> = changes
            .iter()
            .zip(&written)
            .filter(|(_, done)| **done)
            .map(|(change, _)| change)
            .collect();
        let timeline = TimelineRows::of(
            applied
                .iter()
                .map(|c| (&c.request, &c.events[..], &c.notifications[..])),
        );
        let deltas = rollup_deltas(applied.iter().map(|c| (Some(&c.previous), &c.request)));
        let max_args = self.dialect().max_insert_args();
        timeline.insert(&mut tx, max_args).await?;
        apply_rollup(&mut tx, max_args, deltas).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(written)
    }
}
