//! What a request's intake asks of storage beyond [`crate::RequestStore`]: the address node
//! it names, with its compound's name, in one read; and the new request written with
//! everything that belongs to it (timeline, notifications, outbox, the channel's audit
//! record, a hotline's callback) in one transaction, so none of it can exist without the
//! rest.

use async_trait::async_trait;
use mulin_domain::ids::{DistrictId, NodeId};

use crate::{
    AuditEntry, HotlineCallbackRecord, NodeRecord, NotificationRecord, RequestEvent, RequestRecord,
    StoreResult,
};

/// A new request and what is written with it.
#[derive(Clone, Copy, Debug)]
pub struct Intake<'a> {
    /// The request.
    pub request: &'a RequestRecord,
    /// Its first timeline events.
    pub events: &'a [RequestEvent],
    /// Who is told (in the app; the outbox gets one message per webhook subscription).
    pub notifications: &'a [NotificationRecord],
    /// The channel's audit record of the intake (Open311 records the key that sent it).
    pub audit: Option<&'a AuditEntry>,
    /// Where a hotline work order's results go: recorded with the request, and its
    /// timeline so far queued for it.
    pub callback: Option<&'a HotlineCallbackRecord>,
}

/// Intake's reads and its one write.
#[async_trait]
pub trait IntakeStore {
    /// A node of a district and, for a node below a compound, that compound's name (how a
    /// building without an address of its own is named: "阳光小区" + "3号楼"), in one read.
    async fn address_node(
        &self,
        district: DistrictId,
        id: NodeId,
    ) -> StoreResult<(NodeRecord, Option<String>)>;

    /// Writes a new request with its events, notifications, outbox messages, audit record
    /// and callback in one transaction. `Conflict` when the request id or its external
    /// reference is taken (nothing is written then).
    async fn insert_intake(&self, intake: &Intake<'_>) -> StoreResult<()>;
}
