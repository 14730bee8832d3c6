//! `impl RequestBatchStore for SqlStore`: many compare-and-set request changes, one commit.

use async_trait::async_trait;
use mulin_storage::kpi::rollup_deltas;
use mulin_storage::{RequestBatchStore, RequestChange, RequestEvent, RequestRecord, StoreResult};
use tracing::instrument;

use crate::kpi::apply_rollup;
use crate::outbox::enqueue;
use crate::requests::{request_args, update_statement, TimelineRows, REQUEST_COLUMNS};
use crate::sql::{Arg, Batch};
use crate::store::{execute_in, insert_rows};
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
        let mut batch = Batch::new(self.dialect());
        timeline.push_to(&mut batch, max_args);
        // Webhooks and hotline callbacks hear of a breach like of any other change.
        enqueue(
            &mut batch,
            max_args,
            applied
                .iter()
                .map(|c| (&c.request, &c.events[..], &c.notifications[..])),
        );
        batch.execute(&mut tx).await?;
        apply_rollup(&mut tx, max_args, deltas).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(written)
    }

    #[instrument(skip_all, fields(n = requests.len()))]
    async fn insert_requests(
        &self,
        requests: &[(RequestRecord, Vec<RequestEvent>)],
    ) -> StoreResult<()> {
        let max_args = self.dialect().max_insert_args();
        let rows: Vec<Vec<Arg>> = requests.iter().map(|(r, _)| request_args(r)).collect();
        let timeline =
            TimelineRows::of(requests.iter().map(|(r, events)| (r, &events[..], &[][..])));
        let deltas = rollup_deltas(requests.iter().map(|(r, _)| (None, r)));
        let head = format!("INSERT INTO requests ({REQUEST_COLUMNS}) VALUES ");
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        insert_rows(&mut tx, max_args, &head, rows.into_iter()).await?;
        // One statement at a time: each has the text of the one before, so it is
        // prepared once.
        for sql in timeline.statements(self.dialect(), max_args) {
            execute_in(&mut tx, &sql).await?;
        }
        apply_rollup(&mut tx, max_args, deltas).await?;
        tx.commit().await.map_err(map_err)
    }
}
