//! `impl OutboxStore for SqlStore`: webhook subscriptions, hotline callbacks, the outbox,
//! and [`enqueue`], which the request writes call inside their own transaction.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mulin_domain::ids::{DistrictId, RequestId, UserId};
use mulin_domain::request::EventKind;
use mulin_storage::{
    DeliveryOutcome, DeliveryState, NotificationRecord, OutboxRecord, OutboxStore, RequestEvent,
    RequestRecord, StoreError, StoreResult, WebhookRecord,
};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};
use tracing::instrument;

use crate::requests::opt_instant;
use crate::rows::{corrupt, instant, millis, uuid_text};
use crate::sql::{get, Arg, Sql};
use crate::store::{execute_in, id_text};
use crate::{map_err, SqlStore};

const WEBHOOK_COLUMNS: &str = "district_id, id, name, url, secret, created_at";

const OUTBOX_COLUMNS: &str = "district_id, id, subscription_id, url, request_id, kind, status, \
     body, user_id, external_ref, at, state, attempts, next_attempt_at, last_error, delivered_at";

/// The outbox columns of a read, with the signing key of the subscription or callback.
const OUTBOX_SELECT: &str = "SELECT o.district_id, o.id, o.subscription_id, o.url, \
     o.request_id, o.kind, o.status, o.body, o.user_id, o.external_ref, o.at, o.state, \
     o.attempts, o.next_attempt_at, o.last_error, o.delivered_at, \
     COALESCE(w.secret, h.secret) AS secret FROM outbox o \
     LEFT JOIN webhook_subscriptions w ON w.district_id = o.district_id \
     AND w.id = o.subscription_id \
     LEFT JOIN hotline_callbacks h ON h.district_id = o.district_id \
     AND h.request_id = o.request_id AND o.subscription_id IS NULL";

fn webhook_from_row(row: &AnyRow) -> StoreResult<WebhookRecord> {
    Ok(WebhookRecord {
        district: DistrictId::from_uuid(uuid_text(row, "district_id")?),
        id: uuid_text(row, "id")?,
        name: get(row, "name")?,
        url: get(row, "url")?,
        secret: get(row, "secret")?,
        created_at: instant(row, "created_at")?,
    })
}

fn opt_uuid(row: &AnyRow, column: &str) -> StoreResult<Option<uuid::Uuid>> {
    let text: Option<String> = get(row, column)?;
    text.map(|t| uuid::Uuid::parse_str(&t).map_err(|e| corrupt(format!("{column}: {e}"))))
        .transpose()
}

fn outbox_from_row(row: &AnyRow) -> StoreResult<OutboxRecord> {
    let state: String = get(row, "state")?;
    Ok(OutboxRecord {
        district: DistrictId::from_uuid(uuid_text(row, "district_id")?),
        id: get(row, "id")?,
        subscription: opt_uuid(row, "subscription_id")?,
        url: get(row, "url")?,
        secret: get(row, "secret")?,
        request: RequestId::from_uuid(uuid_text(row, "request_id")?),
        kind: get(row, "kind")?,
        status: get(row, "status")?,
        body: get(row, "body")?,
        user: opt_uuid(row, "user_id")?.map(UserId::from_uuid),
        external_ref: get(row, "external_ref")?,
        at: instant(row, "at")?,
        state: DeliveryState::parse(&state).ok_or_else(|| corrupt(format!("state: {state}")))?,
        attempts: get(row, "attempts")?,
        next_attempt_at: instant(row, "next_attempt_at")?,
        last_error: get(row, "last_error")?,
        delivered_at: opt_instant(row, "delivered_at")?,
    })
}

/// What one outbox row reports, before it is addressed.
struct Message<'a> {
    id: String,
    kind: &'a str,
    status: &'a str,
    body: &'a str,
    user: Option<UserId>,
    at: DateTime<Utc>,
}

/// Inserts a pending message for `url`, unless the same message is already queued (the id
/// is derived from what it reports, so a repeat changes nothing).
async fn insert_message(
    tx: &mut Transaction<'_, Any>,
    request: &RequestRecord,
    subscription: Option<&str>,
    url: &str,
    message: Message<'_>,
) -> StoreResult<()> {
    let mut sql = Sql::new(&format!("INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES "));
    sql.bind_row(vec![
        id_text(request.district),
        Arg::from(message.id),
        Arg::from(subscription.map(str::to_owned)),
        Arg::from(url),
        id_text(request.id),
        Arg::from(message.kind),
        Arg::from(message.status),
        Arg::from(message.body),
        Arg::from(message.user.map(|u| u.to_string())),
        Arg::from(request.external_ref.clone()),
        Arg::from(millis(message.at)),
        Arg::from(DeliveryState::Pending.as_str()),
        Arg::from(0_i64),
        Arg::from(millis(message.at)),
        Arg::Text(None),
        Arg::Int(None),
    ]);
    sql.push(" ON CONFLICT (district_id, id) DO NOTHING");
    execute_in(tx, &sql).await
}

/// Queues a hotline push for each event but the intake itself (the hotline sent that).
async fn enqueue_hotline(
    tx: &mut Transaction<'_, Any>,
    request: &RequestRecord,
    url: &str,
    events: &[RequestEvent],
) -> StoreResult<()> {
    for event in events.iter().filter(|e| e.kind != EventKind::Received) {
        // The status the event left the request in: written on the event by commands, and
        // otherwise (intake, breaches) the request's own.
        let status = event
            .data
            .iter()
            .find(|(key, _)| key == "status")
            .map(|(_, value)| value.as_str())
            .unwrap_or(request.state.status.as_str());
        let message = Message {
            // Zero-padded, so a request's pushes due at the same instant sort in
            // timeline order.
            id: format!("hotline:{}:{:010}", request.id, event.seq),
            kind: event.kind.as_str(),
            status,
            body: &event.note,
            user: None,
            at: event.at,
        };
        insert_message(tx, request, None, url, message).await?;
    }
    Ok(())
}

/// The webhook subscriptions (id, url) of each district met in one transaction, read once
/// per district: a batch of breaches would otherwise read them once per request.
#[derive(Default)]
pub(crate) struct Subscriptions(HashMap<DistrictId, Vec<(String, String)>>);

impl Subscriptions {
    async fn of(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        district: DistrictId,
    ) -> StoreResult<&[(String, String)]> {
        if let Entry::Vacant(slot) = self.0.entry(district) {
            let mut sql =
                Sql::new("SELECT id, url FROM webhook_subscriptions WHERE district_id = ");
            sql.bind(district.to_string());
            let rows = sql.query().fetch_all(&mut **tx).await.map_err(map_err)?;
            let found = rows
                .iter()
                .map(|row| Ok((get(row, "id")?, get(row, "url")?)))
                .collect::<StoreResult<Vec<_>>>()?;
            slot.insert(found);
        }
        Ok(self.0.get(&district).map(Vec::as_slice).unwrap_or_default())
    }
}

/// Queues, inside a request write's transaction, what leaves the app about it: each
/// notification for each webhook subscription of the district, and each event for the
/// request's hotline callback.
pub(crate) async fn enqueue(
    tx: &mut Transaction<'_, Any>,
    subscriptions: &mut Subscriptions,
    request: &RequestRecord,
    events: &[RequestEvent],
    notifications: &[NotificationRecord],
) -> StoreResult<()> {
    if !notifications.is_empty() {
        for (subscription, url) in subscriptions.of(tx, request.district).await? {
            for n in notifications {
                let message = Message {
                    id: format!("{subscription}:{}", n.id),
                    kind: &n.kind,
                    status: request.state.status.as_str(),
                    body: &n.text,
                    user: Some(n.user),
                    at: n.at,
                };
                insert_message(tx, request, Some(subscription), url, message).await?;
            }
        }
    }
    if !events.is_empty() && request.external_ref.is_some() {
        let mut sql = Sql::new("SELECT url FROM hotline_callbacks WHERE district_id = ");
        sql.bind(request.district.to_string())
            .push(" AND request_id = ")
            .bind(request.id.to_string());
        let callback = sql
            .query()
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_err)?;
        if let Some(row) = callback {
            let url: String = get(&row, "url")?;
            enqueue_hotline(tx, request, &url, events).await?;
        }
    }
    Ok(())
}

#[async_trait]
impl OutboxStore for SqlStore {
    async fn insert_webhook(&self, webhook: &WebhookRecord) -> StoreResult<()> {
        let mut sql = Sql::new(&format!(
            "INSERT INTO webhook_subscriptions ({WEBHOOK_COLUMNS}) VALUES "
        ));
        sql.bind_row(vec![
            id_text(webhook.district),
            id_text(webhook.id),
            Arg::from(webhook.name.clone()),
            Arg::from(webhook.url.clone()),
            Arg::from(webhook.secret.clone()),
            Arg::from(millis(webhook.created_at)),
        ]);
        self.execute(&sql).await?;
        Ok(())
    }

    async fn webhooks(&self, district: DistrictId) -> StoreResult<Vec<WebhookRecord>> {
        let mut sql = Sql::new(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhook_subscriptions WHERE district_id = "
        ));
        sql.bind(district.to_string()).push(" ORDER BY id");
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(webhook_from_row)
            .collect()
    }

    async fn delete_webhook(&self, district: DistrictId, name: &str) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        let mut sql = Sql::new("SELECT id FROM webhook_subscriptions WHERE district_id = ");
        sql.bind(district.to_string())
            .push(" AND name = ")
            .bind(name);
        let row = sql.query().fetch_one(&mut *tx).await.map_err(map_err)?;
        let id: String = get(&row, "id")?;
        let mut sql = Sql::new("DELETE FROM outbox WHERE district_id = ");
        sql.bind(district.to_string())
            .push(" AND subscription_id = ")
            .bind(id.clone())
            .push(" AND state = ")
            .bind(DeliveryState::Pending.as_str());
        execute_in(&mut tx, &sql).await?;
        let mut sql = Sql::new("DELETE FROM webhook_subscriptions WHERE district_id = ");
        sql.bind(district.to_string()).push(" AND id = ").bind(id);
        execute_in(&mut tx, &sql).await?;
        tx.commit().await.map_err(map_err)
    }

    #[instrument(skip_all, fields(limit))]
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxRecord>> {
        let mut sql = Sql::new(OUTBOX_SELECT);
        sql.push(" WHERE o.state = ")
            .bind(DeliveryState::Pending.as_str())
            .push(" AND o.next_attempt_at <= ")
            .bind(millis(now))
            .push(" ORDER BY o.next_attempt_at, o.id LIMIT ")
            .bind(i64::from(limit.clamp(1, 1_000)));
        let mut claimed = Vec::new();
        for row in self.fetch_all(&sql).await? {
            let mut record = outbox_from_row(&row)?;
            // Compare-and-set on the due time: of two dispatchers, one wins each message.
            let mut claim = Sql::new("UPDATE outbox SET next_attempt_at = ");
            claim
                .bind(millis(lease_until))
                .push(" WHERE district_id = ")
                .bind(record.district.to_string())
                .push(" AND id = ")
                .bind(record.id.clone())
                .push(" AND state = ")
                .bind(DeliveryState::Pending.as_str())
                .push(" AND next_attempt_at = ")
                .bind(millis(record.next_attempt_at));
            if self.execute(&claim).await? == 1 {
                record.next_attempt_at = lease_until;
                claimed.push(record);
            }
        }
        Ok(claimed)
    }

    async fn record_delivery(
        &self,
        district: DistrictId,
        id: &str,
        outcome: &DeliveryOutcome,
    ) -> StoreResult<()> {
        let mut sql = Sql::new("UPDATE outbox SET attempts = attempts + 1, state = ");
        match outcome {
            DeliveryOutcome::Delivered(at) => {
                sql.bind(DeliveryState::Delivered.as_str())
                    .push(", delivered_at = ")
                    .bind(millis(*at));
            }
            DeliveryOutcome::Retry(at, error) => {
                sql.bind(DeliveryState::Pending.as_str())
                    .push(", next_attempt_at = ")
                    .bind(millis(*at))
                    .push(", last_error = ")
                    .bind(error.as_str());
            }
            DeliveryOutcome::Failed(error) => {
                sql.bind(DeliveryState::Failed.as_str())
                    .push(", last_error = ")
                    .bind(error.as_str());
            }
        }
        sql.push(" WHERE district_id = ")
            .bind(district.to_string())
            .push(" AND id = ")
            .bind(id);
        match self.execute(&sql).await? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    #[instrument(skip_all, fields(limit))]
    async fn delete_delivered(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<u64> {
        // A delivered message keeps the end of its last lease as `next_attempt_at`, which
        // is never long after its delivery: bounding both lets the `(state,
        // next_attempt_at)` index find them, at the cost of keeping a message up to a lease
        // longer than asked.
        let mut sql = Sql::new(
            "DELETE FROM outbox WHERE (district_id, id) IN (SELECT district_id, id FROM outbox \
             WHERE state = ",
        );
        sql.bind(DeliveryState::Delivered.as_str())
            .push(" AND next_attempt_at < ")
            .bind(millis(before))
            .push(" AND delivered_at < ")
            .bind(millis(before))
            .push(" LIMIT ")
            .bind(i64::from(limit.max(1)))
            .push(")");
        self.execute(&sql).await
    }

    async fn deliveries(
        &self,
        district: DistrictId,
        request: RequestId,
    ) -> StoreResult<Vec<OutboxRecord>> {
        let mut sql = Sql::new(OUTBOX_SELECT);
        sql.push(" WHERE o.district_id = ")
            .bind(district.to_string())
            .push(" AND o.request_id = ")
            .bind(request.to_string())
            .push(" ORDER BY o.at, o.id");
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(outbox_from_row)
            .collect()
    }
}
