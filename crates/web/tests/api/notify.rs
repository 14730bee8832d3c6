//! Notifications that leave the app, and the KPI dashboard: webhook deliveries signed,
//! retried after a 500, not repeated after a restart and deleted after their retention; a hotline's callback hearing every
//! change of its work order; the daily series and the dashboard page, scoped.

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::post;
use chrono::Duration;
use hmac::{Hmac, Mac};
use mulin_storage::{DeliveryState, WebhookRecord};
use mulin_web::clock::Clock;
use mulin_web::notify::{dispatch_due, purge_delivered, spawn_dispatcher, WebhookNotifier};
use mulin_web::{AppState, WebSettings};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::{spawn_app, TestApp};
use crate::requests::building_in_grid;

/// One POST a receiver got.
#[derive(Clone, Debug)]
struct Received {
    delivery: String,
    timestamp: String,
    signature: Option<String>,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Whether the signature is HMAC-SHA256 of "<timestamp>.<body>" under `secret`.
    fn signed_with(&self, secret: &str) -> bool {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(self.timestamp.as_bytes());
        mac.update(b".");
        mac.update(&self.body);
        self.signature.as_deref()
            == Some(format!("sha256={}", hex::encode(mac.finalize().into_bytes())).as_str())
    }
}

/// A receiver on a random port that answers 500 to its first `fail_first` POSTs, then 200.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(fail_first: usize) -> Receiver {
        Receiver::serve(fail_first, None).await
    }

    /// A receiver on `https://127.0.0.1:<port>/hook` showing `certificate`.
    async fn start_tls(certificate: &rcgen::CertifiedKey) -> Receiver {
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(certificate.key_pair.serialize_der().into());
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![certificate.cert.der().clone()], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        Receiver::serve(0, Some(acceptor)).await
    }

    async fn serve(fail_first: usize, tls: Option<tokio_rustls::TlsAcceptor>) -> Receiver {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let seen = got.clone();
        let router = axum::Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let seen = seen.clone();
                async move {
                    let header =
                        |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
                    let mut seen = seen.lock().unwrap();
                    seen.push(Received {
                        delivery: header("x-mulin-delivery").unwrap_or_default(),
                        timestamp: header("x-mulin-timestamp").unwrap_or_default(),
                        signature: header("x-mulin-signature"),
                        body: body.to_vec(),
                    });
                    if seen.len() <= fail_first {
                        AxumStatus::INTERNAL_SERVER_ERROR
                    } else {
                        AxumStatus::OK
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        match tls {
            None => {
                let url = format!("http://{}/hook", listener.local_addr().unwrap());
                tokio::spawn(async move { axum::serve(listener, router).await });
                Receiver { url, got }
            }
            Some(acceptor) => {
                let url = format!("https://{}/hook", listener.local_addr().unwrap());
                let listener = TlsListener {
                    tcp: listener,
                    acceptor,
                };
                tokio::spawn(async move { axum::serve(listener, router).await });
                Receiver { url, got }
            }
        }
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits (bounded) until at least `n` POSTs arrived.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..200 {
            if self.got().len() >= n {
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(25)).await;
        }
        self.got()
    }
}

/// A TCP listener that serves only what completes a TLS handshake; a client that gives up
/// on the certificate is dropped and the next one is waited for.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// A new app state over the test app's database and clock: what a restarted server has.
fn fresh_state(app: &TestApp) -> AppState {
    AppState::new(
        app.store.clone(),
        app.clock.clone(),
        WebSettings::local(),
        true,
    )
}

/// Subscribes `url` to the demo district's notifications, then has a grid worker file a
/// request in their grid (which notifies them): the created request.
async fn subscribe_and_file(app: &TestApp, name: &str, url: &str, secret: &str) -> Value {
    app.store
        .insert_webhook(&WebhookRecord {
            district: app.demo.dataset.nodes[0].path.id().into(),
            id: uuid::Uuid::now_v7(),
            name: name.into(),
            url: url.into(),
            secret: secret.into(),
            created_at: app.clock.now(),
        })
        .await
        .unwrap();
    let w = app.token("wangge01").await;
    let (status, created) = app
        .post(
            &w,
            "/api/v1/requests",
            json!({"service_code": "noise", "description": "夜间施工噪音",
                   "address_node_id": building_in_grid(app, 0)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

#[tokio::test]
async fn webhook_deliveries_are_signed_retried_after_a_500_and_not_repeated_after_a_restart() {
    let app = spawn_app().await;
    let receiver = Receiver::start(1).await;
    let secret = "s3cret-for-the-test-receiver";
    let district = app.demo.dataset.nodes[0].path.id().into();
    let created = subscribe_and_file(&app, "ops", &receiver.url, secret).await;
    let id = created["id"].as_str().unwrap();

    let state = fresh_state(&app);
    let notifier = Arc::new(WebhookNotifier::new().unwrap());
    let now = app.clock.now();
    assert_eq!(dispatch_due(&state, &notifier, now).await.unwrap(), 0);
    assert_eq!(receiver.got().len(), 1, "refused with a 500");
    // Not again before its retry is due.
    assert_eq!(dispatch_due(&state, &notifier, now).await.unwrap(), 0);
    assert_eq!(receiver.got().len(), 1);
    let later = now + Duration::seconds(11);
    assert_eq!(dispatch_due(&state, &notifier, later).await.unwrap(), 1);
    let got = receiver.got();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].delivery, got[1].delivery, "the same message, again");
    assert!(got[1].signed_with(secret), "signature checks");
    assert!(!got[1].signed_with("another secret"));
    let message = got[1].json();
    assert_eq!(message["type"], "notification");
    assert_eq!(message["kind"], "dispatched");
    assert_eq!(message["request_id"], id);
    assert_eq!(message["status"], "dispatched");
    assert_eq!(message["title"], created["title"]);
    assert_eq!(message["id"], got[1].delivery);

    // A restarted server finds nothing left to send.
    let restarted = fresh_state(&app);
    let much_later = now + Duration::hours(2);
    assert_eq!(
        dispatch_due(&restarted, &notifier, much_later)
            .await
            .unwrap(),
        0
    );
    assert_eq!(receiver.got().len(), 2, "no duplicate after a restart");
    let deliveries = app
        .store
        .deliveries(district, id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].state, DeliveryState::Delivered);
    assert_eq!(deliveries[0].attempts, 2);
    assert_eq!(deliveries[0].last_error.as_deref(), Some("HTTP 500"));

    // Delivered messages are deleted once the retention (a week unless configured) has
    // passed since delivery and the last lease.
    let lease_end = later + Duration::minutes(5);
    let week = lease_end + Duration::days(7);
    assert_eq!(purge_delivered(&restarted, week).await.unwrap(), 0);
    let one_day = AppState::new(
        app.store.clone(),
        app.clock.clone(),
        WebSettings {
            outbox_retention_days: 1,
            ..WebSettings::local()
        },
        true,
    );
    assert_eq!(
        purge_delivered(&one_day, lease_end + Duration::hours(23))
            .await
            .unwrap(),
        0
    );
    // The dispatcher purges when it starts (and hourly after), on the app's clock, with the
    // retention configured.
    app.clock
        .set(lease_end + Duration::days(1) + Duration::seconds(1));
    let dispatcher = spawn_dispatcher(
        one_day,
        Arc::new(WebhookNotifier::new().unwrap()),
        StdDuration::from_millis(20),
    );
    let mut left = deliveries.len();
    // Bounded by 20 s: the whole suite shares a loaded machine. Only the delivered message
    // counts: a day on, the app's scheduler may have queued new ones for the late request.
    for _ in 0..800 {
        left = app
            .store
            .deliveries(district, id.parse().unwrap())
            .await
            .unwrap()
            .iter()
            .filter(|d| d.id == deliveries[0].id)
            .count();
        if left == 0 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
    dispatcher.abort();
    assert_eq!(left, 0, "the delivered message is gone");
}

#[tokio::test]
async fn failed_deliveries_are_kept_past_any_retention() {
    let app = spawn_app().await;
    let receiver = Receiver::start(usize::MAX).await;
    let district = app.demo.dataset.nodes[0].path.id().into();
    app.store
        .insert_webhook(&WebhookRecord {
            district,
            id: uuid::Uuid::now_v7(),
            name: "ops".into(),
            url: receiver.url.clone(),
            secret: "s3cret-for-the-test-receiver".into(),
            created_at: app.clock.now(),
        })
        .await
        .unwrap();
    let w = app.token("wangge01").await;
    let (status, created) = app
        .post(
            &w,
            "/api/v1/requests",
            json!({"service_code": "noise", "description": "夜间施工噪音",
                   "address_node_id": building_in_grid(&app, 0)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().parse().unwrap();
    let state = AppState::new(
        app.store.clone(),
        app.clock.clone(),
        WebSettings {
            outbox_retention_days: 1,
            ..WebSettings::local()
        },
        true,
    );
    let notifier = Arc::new(WebhookNotifier::new().unwrap());
    // The receiver refuses every attempt until the message is marked failed.
    let mut at = app.clock.now();
    for _ in 0..mulin_web::notify::MAX_ATTEMPTS {
        dispatch_due(&state, &notifier, at).await.unwrap();
        at += Duration::hours(2);
    }
    let deliveries = app.store.deliveries(district, id).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].state, DeliveryState::Failed);
    assert_eq!(
        purge_delivered(&state, at + Duration::days(30))
            .await
            .unwrap(),
        0,
        "a failed message is the record of what never arrived"
    );
    assert_eq!(app.store.deliveries(district, id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_https_receiver_gets_deliveries_and_an_untrusted_certificate_is_retried() {
    let app = spawn_app().await;
    let certificate = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let receiver = Receiver::start_tls(&certificate).await;
    assert!(receiver.url.starts_with("https://127.0.0.1:"));
    let secret = "s3cret-for-the-tls-receiver";
    let district = app.demo.dataset.nodes[0].path.id().into();
    let url = mulin_web::notify::check_url(&receiver.url).unwrap();
    let created = subscribe_and_file(&app, "tls", &url, secret).await;
    let id = created["id"].as_str().unwrap().parse().unwrap();

    // The production notifier trusts only the compiled-in roots: a self-signed receiver
    // is a failed attempt, recorded and retried, never a panic or a delivery.
    let state = fresh_state(&app);
    let production = Arc::new(WebhookNotifier::new().unwrap());
    let now = app.clock.now();
    assert_eq!(dispatch_due(&state, &production, now).await.unwrap(), 0);
    assert!(receiver.got().is_empty(), "nothing got past the handshake");
    let deliveries = app.store.deliveries(district, id).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].state, DeliveryState::Pending, "to be retried");
    assert_eq!(deliveries[0].attempts, 1);
    let error = deliveries[0].last_error.clone().unwrap_or_default();
    assert!(error.to_lowercase().contains("certificate"), "{error}");

    // Once the certificate is trusted, the retry arrives over TLS, signed.
    let trusting = Arc::new(WebhookNotifier::trusting(certificate.cert.pem().as_bytes()).unwrap());
    let later = now + Duration::seconds(11);
    assert_eq!(dispatch_due(&state, &trusting, later).await.unwrap(), 1);
    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1);
    assert!(got[0].signed_with(secret));
    assert_eq!(got[0].json()["request_id"], created["id"]);
    let deliveries = app.store.deliveries(district, id).await.unwrap();
    assert_eq!(deliveries[0].state, DeliveryState::Delivered);
    assert_eq!(deliveries[0].attempts, 2);
}

#[tokio::test]
async fn a_hotline_hears_every_change_of_its_work_order() {
    let app = spawn_app().await;
    let receiver = Receiver::start(0).await;
    let secret = "hotline-shared-secret-42";
    let shequ = app.token("shequ1").await;
    let order = json!({
        "order_no": "12345-20261124-0007",
        "service_code": "heating",
        "description": "市民来电：家中暖气不热",
        "address_node_id": building_in_grid(&app, 0),
        "callback_url": receiver.url,
        "callback_secret": secret,
    });
    // A bad callback is refused before anything is taken in.
    let mut bad = order.clone();
    bad["callback_url"] = json!("ftp://example.org/x");
    let (status, refused) = app.post(&shequ, "/api/v1/hotline/orders", bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.to_string().contains("http:// 或 https://"),
        "the message names the schemes taken: {refused}"
    );
    let mut short = order.clone();
    short["callback_secret"] = json!("short");
    let (status, _) = app.post(&shequ, "/api/v1/hotline/orders", short).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .get(Some(&shequ), "/api/v1/hotline/orders/12345-20261124-0007")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing half-written");

    let (status, created) = app.post(&shequ, "/api/v1/hotline/orders", order).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["request"]["id"].as_str().unwrap();
    let w = app.token("wangge01").await;
    for action in [
        json!({"action": "sign_for"}),
        json!({"action": "solve", "note": "已联系供热公司排气，温度恢复"}),
    ] {
        let (status, answer) = app
            .post(&w, &format!("/api/v1/requests/{id}/actions"), action)
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    // The dispatcher as the server runs it.
    let dispatcher = spawn_dispatcher(
        fresh_state(&app),
        Arc::new(WebhookNotifier::new().unwrap()),
        StdDuration::from_millis(20),
    );
    let got = receiver.wait_for(3).await;
    dispatcher.abort();
    assert_eq!(got.len(), 3, "{got:?}");
    let messages: Vec<Value> = got.iter().map(Received::json).collect();
    let events: Vec<&str> = messages
        .iter()
        .map(|m| m["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["dispatched", "signed_for", "solved"]);
    let states: Vec<&str> = messages
        .iter()
        .map(|m| m["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["dispatched", "signed_for", "solved"]);
    for (message, received) in messages.iter().zip(&got) {
        assert_eq!(message["type"], "hotline_result");
        assert_eq!(message["order_no"], "12345-20261124-0007");
        assert_eq!(message["request_id"], id);
        assert!(received.signed_with(secret));
    }
    assert_eq!(messages[2]["result"], "已联系供热公司排气，温度恢复");
}

#[tokio::test]
async fn the_daily_series_and_the_dashboard_are_scoped() {
    let app = spawn_app().await;
    let shequ = app.token("shequ1").await;
    let community = app.community(0).path.id();
    for n in 0..2 {
        let (status, _) = app
            .post(
                &shequ,
                "/api/v1/requests",
                json!({"service_code": "noise", "description": format!("噪音 {n}"),
                       "address_node_id": building_in_grid(&app, 0)}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let path = format!("/api/v1/stats/requests/daily?under={community}");
    let (status, daily) = app.get(Some(&shequ), &path).await;
    assert_eq!(status, StatusCode::OK, "{daily}");
    let days = daily["days"].as_array().unwrap();
    assert!((30..=31).contains(&days.len()), "{}", days.len());
    assert_eq!(
        days.iter()
            .map(|d| d["total"].as_i64().unwrap())
            .sum::<i64>(),
        2
    );
    assert_eq!(days.last().unwrap()["total"], 2);
    assert_eq!(
        days.last().unwrap()["date"],
        app.clock.today().to_string(),
        "days are China days"
    );
    let (status, _) = app
        .get(
            Some(&shequ),
            &format!("{path}&from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "over 92 days");

    // Outside the scope, or without the right: nothing.
    let (status, _) = app.get(None, &path).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for who in ["shequ2", "wangge02", "jumin"] {
        let token = app.token(who).await;
        let (status, body) = app.get(Some(&token), &path).await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
            "{who}: {status}"
        );
        assert!(body.get("days").is_none());
    }

    // The page: pickers, the chart data with its labels, the scripts; the table stays.
    let browser = app.web_login("shequ1").await;
    let res = browser
        .get(app.url(&format!("/stats/requests?under={community}&days=7")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("data-testid=\"request-stats\""));
    assert!(html.contains("id=\"kpi-trend\""));
    assert!(html.contains("/assets/vendor/echarts.min.js"));
    assert!(html.contains("/assets/dashboard.js"));
    assert!(html.contains("近7天"), "the period picker");
    let grid1 = app.grid(1);
    assert!(
        html.contains(&format!("value=\"{}\"", grid1.path.id())),
        "children offered"
    );
    let start = html.find("data-chart=\"").unwrap() + "data-chart=\"".len();
    let attr = &html[start..start + html[start..].find('"').unwrap()];
    let chart: Value = serde_json::from_str(&attr.replace("&quot;", "\"").replace("&#34;", "\""))
        .unwrap_or_else(|e| panic!("{e}: {attr}"));
    assert_eq!(chart["labels"]["intake"], "受理量");
    assert_eq!(chart["rates"].as_array().unwrap().len(), 4);
    assert_eq!(chart["daily"].as_array().unwrap().len(), 8);
    let res = browser
        .get(app.url("/assets/dashboard.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let other = app.community(1).path.id();
    let res = browser
        .get(app.url(&format!("/stats/requests?under={other}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // Both are in the OpenAPI document, with the payloads Mulin pushes.
    let (_, doc) = app.get(None, "/api/v1/openapi.json").await;
    assert!(doc["paths"]["/api/v1/stats/requests/daily"].is_object());
    for schema in ["DailyView", "HotlineResultPush", "WebhookNotification"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    assert!(doc["components"]["schemas"]["HotlineOrder"]
        .to_string()
        .contains("callback_url"));
}
