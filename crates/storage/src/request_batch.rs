//! Many request writes in one transaction: the scheduler records a batch of breaches with
//! one commit instead of one each, so a backlog does not hold up later deadlines; a bulk
//! load inserts many requests at once.

use async_trait::async_trait;

use crate::{NotificationRecord, RequestEvent, RequestRecord, StoreResult};

/// One compare-and-set change of a request, as [`crate::RequestStore::update_request`]
/// takes it.
#[derive(Clone, Debug)]
pub struct RequestChange {
    /// The request as read (its `seq` is checked).
    pub previous: RequestRecord,
    /// The request as it should be.
    pub request: RequestRecord,
    /// New timeline events.
    pub events: Vec<RequestEvent>,
    /// Notifications the change causes.
    pub notifications: Vec<NotificationRecord>,
}

/// Batched request writes.
#[async_trait]
pub trait RequestBatchStore {
    /// Writes every change whose request is still stored as its `previous` (checked by
    /// `seq`), with its events, notifications and KPI rollup, in one transaction; a change
    /// whose request moved on meanwhile is skipped whole. Returns, per change, whether it
    /// was written.
    async fn update_requests(&self, changes: &[RequestChange]) -> StoreResult<Vec<bool>>;

    /// Stores many new requests with their events in one transaction of multi-row inserts,
    /// the KPI rollup summed over the batch (bulk loads: hotline backfills, benchmarks).
    async fn insert_requests(
        &self,
        requests: &[(RequestRecord, Vec<RequestEvent>)],
    ) -> StoreResult<()>;
}
