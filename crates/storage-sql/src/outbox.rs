//! `impl OutboxStore for SqlStore`: webhook subscriptions, hotline callbacks, the outbox,
//! and [`enqueue`], which the request writes call inside their own transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mulin_domain::ids::{DistrictId, RequestId, UserId};
use mulin_domain::request::EventKind;
use mulin_storage::{
    DeliveryOutcome, DeliveryState, NotificationRecord, OutboxRecord, OutboxStore, RequestEvent,
    RequestRecord, StoreError, StoreResult, WebhookRecord,
};
use sqlx::any::AnyRow;
use tracing::instrument;

use crate::requests::opt_instant;
use crate::rows::{corrupt, instant, millis, uuid_text};
use crate::sql::{get, Arg, Batch, Sql};
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

/// What one outbox row reports, before it is addressed: the order of the `VALUES` columns
/// in [`fan_out`] (`column1` … are the standard names of a `VALUES` list's columns, in
/// SQLite and PostgreSQL alike).
const MESSAGE_COLUMNS: usize = 9;

fn message(
    request: &RequestRecord,
    id: String,
    kind: &str,
    status: &str,
    body: &str,
    user: Option<UserId>,
    at: DateTime<Utc>,
) -> Vec<Arg> {
    vec![
        Arg::from(id),
        Arg::from(kind),
        Arg::from(status),
        Arg::from(body),
        Arg::from(user.map(|u| u.to_string())),
        Arg::from(millis(at)),
        id_text(request.id),
        Arg::from(request.external_ref.clone()),
        id_text(request.district),
    ]
}

/// `INSERT … SELECT`s of one outbox row per message and receiver: `receivers` joins the
/// receiver table as `r` (with its `url`) to the messages `n`, so queueing reads nothing
/// first and writes nothing when there is nobody to tell. `id` and `subscription` are
/// the row's id and subscription expressions. An already queued message (same id) is left
/// as it is.
fn fan_out(
    batch: &mut Batch,
    max_args: usize,
    id: &str,
    subscription: &str,
    receivers: &str,
    messages: Vec<Vec<Arg>>,
) {
    let per_statement = (max_args / MESSAGE_COLUMNS).max(1);
    let mut messages = messages.into_iter().peekable();
    while messages.peek().is_some() {
        let mut sql = Sql::new(&format!(
            "INSERT INTO outbox ({OUTBOX_COLUMNS}) SELECT r.district_id, {id}, {subscription}, \
             r.url, n.column7, n.column2, n.column3, n.column4, n.column5, n.column8, \
             n.column6, "
        ));
        sql.bind(DeliveryState::Pending.as_str())
            .push(", ")
            .bind(0_i64)
            .push(", n.column6, ")
            .bind(Arg::Text(None))
            .push(", ")
            .bind(Arg::Int(None))
            .push(" FROM (VALUES ");
        for (idx, row) in messages.by_ref().take(per_statement).enumerate() {
            if idx > 0 {
                sql.push(", ");
            }
            sql.bind_row(row);
        }
        // SQLite needs a WHERE before the upsert clause of an `INSERT … SELECT`.
        sql.push(") AS n JOIN ")
            .push(receivers)
            .push(" WHERE 1 = 1 ON CONFLICT (district_id, id) DO NOTHING");
        batch.push(sql);
    }
}

/// Queues, as statements of the request writes' transaction, what leaves the app about
/// them: each notification for each webhook subscription of its district, and each event
/// but the intake itself (the hotline sent that) for a request's hotline callback.
pub(crate) fn enqueue<'a>(
    batch: &mut Batch,
    max_args: usize,
    changes: impl IntoIterator<
        Item = (
            &'a RequestRecord,
            &'a [RequestEvent],
            &'a [NotificationRecord],
        ),
    >,
) {
    let mut notified = Vec::new();
    let mut pushed = Vec::new();
    for (request, events, notifications) in changes {
        notified.extend(notifications.iter().map(|n| {
            message(
                request,
                n.id.to_string(),
                &n.kind,
                request.state.status.as_str(),
                &n.text,
                Some(n.user),
                n.at,
            )
        }));
        // Only a hotline's work orders (they carry its order number) have a callback.
        if request.external_ref.is_none() {
            continue;
        }
        pushed.extend(
            events
                .iter()
                .filter(|e| e.kind != EventKind::Received)
                .map(|event| {
                    // The status the event left the request in: written on the event by
                    // commands, and otherwise (intake, breaches) the request's own.
                    let status = event
                        .data
                        .iter()
                        .find(|(key, _)| key == "status")
                        .map(|(_, value)| value.as_str())
                        .unwrap_or(request.state.status.as_str());
                    // Zero-padded, so a request's pushes due at the same instant sort in
                    // timeline order.
                    let id = format!("hotline:{}:{:010}", request.id, event.seq);
                    message(
                        request,
                        id,
                        event.kind.as_str(),
                        status,
                        &event.note,
                        None,
                        event.at,
                    )
                }),
        );
    }
    fan_out(
        batch,
        max_args,
        "r.id || ':' || n.column1",
        "r.id",
        "webhook_subscriptions r ON r.district_id = n.column9",
        notified,
    );
    fan_out(
        batch,
        max_args,
        "n.column1",
        "NULL",
        "hotline_callbacks r ON r.district_id = n.column9 AND r.request_id = n.column7",
        pushed,
    );
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
