//! What storage keeps for notifications that leave the app: webhook subscriptions per
//! district, hotline result callbacks, and the outbox a dispatcher delivers from.
//!
//! The outbox rows of a request change are written by [`crate::RequestStore::insert_request`],
//! [`crate::IntakeStore::insert_intake`] and [`crate::RequestStore::update_request`] in the
//! change's own transaction (one row per
//! notification and subscription of the district; one per timeline event of a request with
//! a hotline callback), so nothing is reported that did not happen and nothing that happened
//! is lost. Delivery happens later, outside that transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mulin_domain::ids::{DistrictId, RequestId, UserId};
use uuid::Uuid;

use crate::StoreResult;

/// A receiver of every notification of its district.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct WebhookRecord {
    /// Tenant.
    pub district: DistrictId,
    /// UUIDv7.
    pub id: Uuid,
    /// Who it is for (unique in the district).
    pub name: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The HMAC-SHA256 key that signs deliveries (shown once, when added).
    pub secret: String,
    /// Added.
    pub created_at: DateTime<Utc>,
}

/// Where a hotline work order's results are pushed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HotlineCallbackRecord {
    /// Tenant.
    pub district: DistrictId,
    /// The request made from the work order.
    pub request: RequestId,
    /// Where each change is POSTed.
    pub url: String,
    /// The HMAC-SHA256 key the hotline gave, if any.
    pub secret: Option<String>,
}

/// Where an outbox message stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DeliveryState {
    /// Not delivered yet; tried again at `next_attempt_at`.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up after the last attempt.
    Failed,
}

impl DeliveryState {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    /// The state a stored word names.
    pub fn parse(text: &str) -> Option<DeliveryState> {
        [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Failed,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }
}

/// One message to one receiver, with its delivery state.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OutboxRecord {
    /// Tenant.
    pub district: DistrictId,
    /// Derived from what it reports: `<subscription id>:<notification id>` or
    /// `hotline:<request id>:<seq, 10 digits>` (receivers use it to drop a repeated delivery).
    pub id: String,
    /// The webhook subscription; none for a hotline push.
    pub subscription: Option<Uuid>,
    /// Where it goes.
    pub url: String,
    /// The signing key (the subscription's, or the hotline's), read when delivering.
    pub secret: Option<String>,
    /// The request it is about.
    pub request: RequestId,
    /// The notification kind, or the timeline event's kind for a hotline push.
    pub kind: String,
    /// The request's status after the change.
    pub status: String,
    /// The notification text, or the event's note (the result text).
    pub body: String,
    /// The notification's recipient (none for a hotline push).
    pub user: Option<UserId>,
    /// The hotline's work order number.
    pub external_ref: Option<String>,
    /// When the change happened.
    pub at: DateTime<Utc>,
    /// Delivery state.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: i64,
    /// When it is next due (while pending).
    pub next_attempt_at: DateTime<Utc>,
    /// The last failure.
    pub last_error: Option<String>,
    /// When the receiver took it.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// How an attempt ended.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum DeliveryOutcome {
    /// Taken at this instant.
    Delivered(DateTime<Utc>),
    /// Refused or unreachable; try again at the instant.
    Retry(DateTime<Utc>, String),
    /// Refused or unreachable for the last time.
    Failed(String),
}

/// Webhook subscriptions, hotline callbacks and the outbox.
#[async_trait]
pub trait OutboxStore {
    /// Adds a subscription; `Conflict` when the name is taken in the district.
    async fn insert_webhook(&self, webhook: &WebhookRecord) -> StoreResult<()>;

    /// A district's subscriptions, oldest first.
    async fn webhooks(&self, district: DistrictId) -> StoreResult<Vec<WebhookRecord>>;

    /// Removes the subscription named `name` and its undelivered messages (`NotFound` when
    /// there is none).
    async fn delete_webhook(&self, district: DistrictId, name: &str) -> StoreResult<()>;

    /// Claims up to `limit` pending messages of any district due at `now`, oldest first:
    /// each is pushed to `lease_until`, so another dispatcher (or this one after a crash)
    /// takes it again only once the lease has run out.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxRecord>>;

    /// Records one attempt at a message.
    async fn record_delivery(
        &self,
        district: DistrictId,
        id: &str,
        outcome: &DeliveryOutcome,
    ) -> StoreResult<()>;

    /// Deletes up to `limit` messages of any district delivered before `before`; how many
    /// went. Pending and failed messages stay (failed ones are the record of what never
    /// arrived).
    async fn delete_delivered(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<u64>;

    /// A district's messages about one request, oldest first.
    async fn deliveries(
        &self,
        district: DistrictId,
        request: RequestId,
    ) -> StoreResult<Vec<OutboxRecord>>;
}
