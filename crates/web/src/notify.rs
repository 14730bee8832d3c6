//! Notifications that leave the app: webhook subscriptions and hotline result pushes,
//! delivered from the outbox by a background dispatcher.
//!
//! In-app notifications are rows the inbox reads, written in the request change's own
//! transaction. Every other channel is a [`Notifier`]: storage queues one outbox message per
//! receiver in that same transaction (see `mulin_storage::OutboxStore`), and
//! [`spawn_dispatcher`] hands due messages to the notifier, records each attempt and
//! retries with a growing delay. A slow or broken receiver therefore never holds up or
//! rolls back a request change, and a restart resumes where the outbox says, so a message
//! taken (2xx) is never sent again; one cut off mid-attempt is sent again after its lease,
//! and receivers drop a repeat by its delivery id. Delivered messages are deleted after a
//! retention ([`purge_delivered`]); failed ones stay as the record of what never arrived.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use mulin_storage::{DeliveryOutcome, OutboxRecord};
use serde::Serialize;
use sha2::Sha256;
use utoipa::ToSchema;

use crate::error::{error_chain, WebError};
use crate::AppState;

/// The header carrying `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
pub const SIGNATURE_HEADER: &str = "x-mulin-signature";
/// The header carrying the signing time (Unix seconds), which the signature covers.
pub const TIMESTAMP_HEADER: &str = "x-mulin-timestamp";
/// The header carrying the message id (the same on every attempt at one message).
pub const DELIVERY_HEADER: &str = "x-mulin-delivery";

/// How many attempts a message gets before it is marked failed (the last one about 11
/// hours after the first, with the delays of [`retry_delay`]).
pub const MAX_ATTEMPTS: i64 = 12;

/// How long a claimed message is left alone before another dispatcher may take it again
/// (longer than an attempt can take).
const LEASE: chrono::Duration = chrono::Duration::minutes(5);

/// The most messages one pass takes.
const BATCH: u32 = 50;

/// How long the receiver has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The dispatcher's period when none is configured.
pub const DEFAULT_DISPATCH_EVERY: Duration = Duration::from_secs(1);

/// Days a delivered message is kept when no retention is configured: long enough to answer
/// "did the hotline get it?" for a week's work orders.
pub const DEFAULT_RETENTION_DAYS: u32 = 7;

/// How often the dispatcher deletes delivered messages past their retention.
const PURGE_EVERY: chrono::Duration = chrono::Duration::hours(1);

/// The most messages one delete removes, so a backlog never holds the writer for long.
const PURGE_BATCH: u32 = 2_000;

/// The most characters of a receiver's URL.
const MAX_URL_CHARS: usize = 500;

/// A notification of the request flow, as a webhook subscription receives it.
#[derive(Serialize, ToSchema)]
pub struct WebhookNotification {
    /// The message id (also in `X-Mulin-Delivery`); the same on a repeated attempt.
    pub id: String,
    /// Always `notification`.
    pub r#type: &'static str,
    /// The district (tenant).
    pub district_id: String,
    /// `dispatched`, `queued`, `escalated`, `breached`, `whistled`, `returned`, `reopened`,
    /// `extension_requested`.
    pub kind: String,
    /// The request.
    pub request_id: String,
    /// The request's status after the change.
    pub status: String,
    /// The request's title.
    pub title: String,
    /// The account the in-app notification went to.
    pub user_id: Option<String>,
    /// When it happened (RFC 3339).
    pub at: String,
}

/// One change of a hotline work order's request, pushed to the order's `callback_url`.
#[derive(Serialize, ToSchema)]
pub struct HotlineResultPush {
    /// The message id (also in `X-Mulin-Delivery`); the same on a repeated attempt.
    pub id: String,
    /// Always `hotline_result`.
    pub r#type: &'static str,
    /// The hotline's work order number.
    pub order_no: String,
    /// Our request id.
    pub request_id: String,
    /// What happened: the timeline event (`dispatched`, `signed_for`, `on_site`, `returned`,
    /// `reassigned`, `escalated`, `extension_requested`, `extension_approved`, `solved`,
    /// `verified`, `closed`, `reopened`, `breached` …).
    pub event: String,
    /// The work order's state after it, in 12345 terms (`received`, `dispatched`,
    /// `signed_for`, `on_site`, `whistled`, `solved`, `verified`, `closed`).
    pub state: String,
    /// The result or reason written with it (may be empty).
    pub result: String,
    /// When it happened (RFC 3339).
    pub at: String,
}

/// The payloads Mulin POSTs, for the OpenAPI document (they are not endpoints).
#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(WebhookNotification, HotlineResultPush)))]
pub struct NotifyApi;

/// One message ready to leave: where, what, and how it is signed.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// The message id.
    pub id: String,
    /// Where it is POSTed.
    pub url: String,
    /// The JSON body.
    pub body: Vec<u8>,
    /// The signature header's value, when the receiver gave a secret.
    pub signature: Option<String>,
    /// Unix seconds the signature was made at.
    pub timestamp: i64,
}

/// A channel outbox messages leave by.
pub trait Notifier: Send + Sync + 'static {
    /// Hands one message to its receiver; `Err` says why it was not taken.
    fn deliver(&self, message: &Outgoing) -> impl Future<Output = Result<(), String>> + Send;
}

/// Webhooks: an HTTP POST of the JSON body, signed, answered 2xx when taken.
#[derive(Clone, Debug)]
pub struct WebhookNotifier {
    client: reqwest::Client,
}

impl WebhookNotifier {
    /// A notifier with its own connection pool; redirects are not followed (a receiver
    /// that moved is reconfigured, not guessed). An `https://` receiver must show a
    /// certificate chain to one of the Mozilla root certificates compiled into the binary
    /// (webpki-roots), so trust does not depend on the host's certificate store.
    pub fn new() -> Result<WebhookNotifier, reqwest::Error> {
        Ok(WebhookNotifier {
            client: Self::client().build()?,
        })
    }

    /// A notifier that also trusts the PEM certificate `root`: only for tests, which serve
    /// HTTPS with a certificate made on the spot. It is compiled only with the
    /// `test-support` feature, which the server binary never enables, so no setting can
    /// widen what production trusts.
    #[cfg(feature = "test-support")]
    pub fn trusting(root: &[u8]) -> Result<WebhookNotifier, reqwest::Error> {
        Ok(WebhookNotifier {
            client: Self::client()
                .add_root_certificate(reqwest::Certificate::from_pem(root)?)
                .build()?,
        })
    }

    fn client() -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
    }
}

impl Notifier for WebhookNotifier {
    async fn deliver(&self, message: &Outgoing) -> Result<(), String> {
        let mut request = self
            .client
            .post(&message.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(DELIVERY_HEADER, &message.id)
            .header(TIMESTAMP_HEADER, message.timestamp.to_string())
            .body(message.body.clone());
        if let Some(signature) = &message.signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        // The error's sources name the cause (a refused connection, an untrusted
        // certificate), which the outbox records as the attempt's error.
        let response = request.send().await.map_err(|err| error_chain(&err))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", status.as_u16()))
        }
    }
}

/// `sha256=<hex>` of HMAC-SHA256 over `"<timestamp>.<body>"` (the timestamp is covered so a
/// captured message cannot be replayed later as new). HMAC takes a key of any length; the
/// error only exists in the type.
pub fn signature(
    secret: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, hmac::digest::InvalidLength> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// A receiver's URL as given, if it is an absolute `http://` or `https://` URL of
/// reasonable length: any other scheme could never be delivered to, so it is refused here
/// rather than failing every delivery.
pub fn check_url(text: &str) -> Result<String, WebError> {
    let text = text.trim();
    let url = reqwest::Url::parse(text).map_err(|_| WebError::Invalid("notify.error.url"))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || text.chars().count() > MAX_URL_CHARS
    {
        return Err(WebError::Invalid("notify.error.url"));
    }
    Ok(text.to_owned())
}

/// A hotline's callback URL and optional secret, checked; none when no URL is given.
pub fn check_callback(
    url: Option<&str>,
    secret: Option<&str>,
) -> Result<Option<(String, Option<String>)>, WebError> {
    let secret = secret.map(str::trim).filter(|s| !s.is_empty());
    let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
        return match secret {
            Some(_) => Err(WebError::Invalid("notify.error.url")),
            None => Ok(None),
        };
    };
    let url = check_url(url)?;
    if secret.is_some_and(|s| !(16..=200).contains(&s.chars().count())) {
        return Err(WebError::Invalid("notify.error.secret"));
    }
    Ok(Some((url, secret.map(str::to_owned))))
}

/// The JSON a message carries: a hotline push for a hotline callback, a notification for a
/// webhook subscription.
fn body(record: &OutboxRecord) -> Result<Vec<u8>, serde_json::Error> {
    let at = record.at.to_rfc3339();
    match (record.subscription, &record.external_ref) {
        (None, Some(order_no)) => serde_json::to_vec(&HotlineResultPush {
            id: record.id.clone(),
            r#type: "hotline_result",
            order_no: order_no.clone(),
            request_id: record.request.to_string(),
            event: record.kind.clone(),
            state: record.status.clone(),
            result: record.body.clone(),
            at,
        }),
        _ => serde_json::to_vec(&WebhookNotification {
            id: record.id.clone(),
            r#type: "notification",
            district_id: record.district.to_string(),
            kind: record.kind.clone(),
            request_id: record.request.to_string(),
            status: record.status.clone(),
            title: record.body.clone(),
            user_id: record.user.map(|u| u.to_string()),
            at,
        }),
    }
}

/// The message of an outbox row, signed at `now` when the receiver gave a secret.
fn outgoing(record: &OutboxRecord, now: DateTime<Utc>) -> Result<Outgoing, String> {
    let body = body(record).map_err(|err| err.to_string())?;
    let timestamp = now.timestamp();
    let signature = record
        .secret
        .as_deref()
        .map(|secret| signature(secret, timestamp, &body))
        .transpose()
        .map_err(|err| err.to_string())?;
    Ok(Outgoing {
        id: record.id.clone(),
        url: record.url.clone(),
        body,
        signature,
        timestamp,
    })
}

/// How long to wait before attempt `attempts + 1`, after `attempts` failed: 10 s doubling
/// to at most an hour.
pub fn retry_delay(attempts: i64) -> chrono::Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 9)).unwrap_or(9);
    chrono::Duration::seconds(10 * (1_i64 << doublings)).min(chrono::Duration::hours(1))
}

/// One pass: claims the messages due at `now`, hands them to `notifier` and records how
/// each went. Receivers are served side by side, so a slow one delays only its own
/// messages; each receiver gets its messages one at a time, in the order they were queued.
/// Returns how many were taken.
pub async fn dispatch_due<N: Notifier>(
    state: &AppState,
    notifier: &Arc<N>,
    now: DateTime<Utc>,
) -> Result<usize, WebError> {
    let due = state
        .store
        .claim_deliveries(now, now + LEASE, BATCH)
        .await?;
    let mut by_url: Vec<(String, Vec<OutboxRecord>)> = Vec::new();
    for record in due {
        match by_url.iter_mut().find(|(url, _)| *url == record.url) {
            Some((_, queue)) => queue.push(record),
            None => by_url.push((record.url.clone(), vec![record])),
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (_, queue) in by_url {
        let (state, notifier) = (state.clone(), notifier.clone());
        tasks.spawn(async move {
            let mut delivered = 0;
            for record in queue {
                delivered += usize::from(attempt(&state, notifier.as_ref(), &record, now).await?);
            }
            Ok::<usize, WebError>(delivered)
        });
    }
    let mut delivered = 0;
    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(n)) => delivered += n,
            Ok(Err(err)) => failure = Some(err),
            Err(err) => failure = Some(WebError::Internal(Box::new(err))),
        }
    }
    match failure {
        // Messages left unrecorded are claimed again once their lease runs out.
        Some(err) => Err(err),
        None => Ok(delivered),
    }
}

/// One attempt at one message, recorded; whether the receiver took it.
async fn attempt(
    state: &AppState,
    notifier: &impl Notifier,
    record: &OutboxRecord,
    now: DateTime<Utc>,
) -> Result<bool, WebError> {
    let outcome = match outgoing(record, now) {
        Ok(message) => match notifier.deliver(&message).await {
            Ok(()) => DeliveryOutcome::Delivered(state.clock.now()),
            Err(error) if record.attempts + 1 >= MAX_ATTEMPTS => DeliveryOutcome::Failed(error),
            Err(error) => DeliveryOutcome::Retry(now + retry_delay(record.attempts + 1), error),
        },
        Err(error) => DeliveryOutcome::Failed(error),
    };
    let taken = matches!(outcome, DeliveryOutcome::Delivered(_));
    if !taken {
        tracing::warn!(delivery = %record.id, url = %record.url, ?outcome, "delivery not taken");
    }
    state
        .store
        .record_delivery(record.district, &record.id, &outcome)
        .await?;
    Ok(taken)
}

/// Deletes the messages delivered more than the configured retention
/// (`WebSettings::outbox_retention_days`) before `now`; pending and failed ones stay.
/// Returns how many went.
pub async fn purge_delivered(state: &AppState, now: DateTime<Utc>) -> Result<u64, WebError> {
    let before = now - chrono::Duration::days(i64::from(state.settings.outbox_retention_days));
    let mut purged = 0;
    loop {
        let n = state.store.delete_delivered(before, PURGE_BATCH).await?;
        purged += n;
        if n < u64::from(PURGE_BATCH) {
            return Ok(purged);
        }
    }
}

/// Runs [`dispatch_due`] every `every`, on the app's clock, until the runtime stops, and
/// [`purge_delivered`] at the start and every hour.
pub fn spawn_dispatcher<N: Notifier>(
    state: AppState,
    notifier: Arc<N>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut next_purge = state.clock.now();
        loop {
            ticker.tick().await;
            let now = state.clock.now();
            match dispatch_due(&state, &notifier, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(delivered = n, "notifications delivered"),
                Err(err) => tracing::warn!(error = %err, "notification dispatch failed"),
            }
            if now >= next_purge {
                // A failed purge is tried again at the next tick.
                match purge_delivered(&state, now).await {
                    Ok(n) => {
                        next_purge = now + PURGE_EVERY;
                        if n > 0 {
                            tracing::info!(purged = n, "delivered notifications deleted");
                        }
                    }
                    Err(err) => tracing::warn!(error = %err, "outbox purge failed"),
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_from_ten_seconds_up_to_an_hour() {
        let delays: Vec<i64> = (1..=MAX_ATTEMPTS)
            .map(|n| retry_delay(n).num_seconds())
            .collect();
        assert_eq!(&delays[..4], &[10, 20, 40, 80]);
        assert_eq!(delays[MAX_ATTEMPTS as usize - 1], 3600);
        assert!(delays.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn the_signature_covers_the_timestamp() {
        let signed = signature("Jefe", 1, b"{}").unwrap();
        assert!(signed.starts_with("sha256=") && signed.len() == 7 + 64);
        assert_ne!(signed, signature("Jefe", 2, b"{}").unwrap());
    }

    #[test]
    fn only_http_and_https_receivers_are_accepted() {
        assert!(check_url(" http://127.0.0.1:8080/hook ").is_ok());
        assert!(check_url("https://example.org/hook").is_ok());
        assert!(check_url("HTTPS://example.org/hook").is_ok());
        assert!(check_url("ftp://example.org").is_err());
        assert!(check_url("file:///etc/passwd").is_err());
        assert!(check_url("ws://example.org/hook").is_err());
        assert!(check_url("https://").is_err(), "no host");
        assert!(check_url("not a url").is_err());
        assert!(check_url(&format!("http://a.cn/{}", "x".repeat(600))).is_err());
    }
}
