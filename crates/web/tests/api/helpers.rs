//! `spawn_app` and the few helpers every test speaks through.

use std::sync::Arc;

use mulin_domain::ids::{NodeId, UserId};
use mulin_domain::policy::Role;
use mulin_domain::tree::NodeKind;
use mulin_storage::{NodeRecord, Storage, UserRecord};
use mulin_storage_tests::{small_demo, test_now, TestDb};
use mulin_web::clock::ManualClock;
use mulin_web::{AppState, Application, WebSettings};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::OnceCell;

pub const PASSWORD: &str = "test-password-1";
/// Households in the test district: small, but every grid has some.
const HOUSEHOLDS: usize = 300;

pub struct TestApp {
    pub base: String,
    pub store: Arc<dyn Storage>,
    pub demo: mulin_demo::Demo,
    pub clock: Arc<ManualClock>,
    _db: TestDb,
}

async fn password_hash() -> String {
    static HASH: OnceCell<String> = OnceCell::const_new();
    HASH.get_or_init(|| async {
        mulin_web::auth::hash_password(PASSWORD.into())
            .await
            .unwrap()
    })
    .await
    .clone()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(WebSettings::local()).await
}

pub async fn spawn_app_with(settings: WebSettings) -> TestApp {
    let (db, demo) = demo_db().await;
    start_app(db, demo, settings).await
}

/// A fresh database holding the small demo district, for a test to change before the app
/// starts on it.
pub async fn demo_db() -> (TestDb, mulin_demo::Demo) {
    init_test_tracing();
    let db = TestDb::new().await.expect("test database");
    let store = db.store();
    let demo = small_demo(HOUSEHOLDS, &password_hash().await);
    store.load(&demo.dataset).await.unwrap();
    store.mark_demo().await.unwrap();
    (db, demo)
}

/// The app, with its scheduler, on a database from [`demo_db`].
pub async fn start_app(db: TestDb, demo: mulin_demo::Demo, settings: WebSettings) -> TestApp {
    let store = db.store();
    let clock = Arc::new(ManualClock::new(test_now()));
    let state = AppState::new(store.clone(), clock.clone(), settings, true);
    // The deadline scheduler runs as in production, only more often, so a test that moves
    // the clock sees breaches within a few polls.
    mulin_web::requests::spawn_scheduler(state.clone(), std::time::Duration::from_millis(50));
    let app = Application::build("127.0.0.1:0", state).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        base,
        store,
        demo,
        clock,
        _db: db,
    }
}

fn init_test_tracing() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Quiet unless asked: TEST_LOG=1 shows the app's logs (errors with their causes).
        if std::env::var_os("TEST_LOG").is_some() {
            tracing_subscriber::fmt()
                .with_env_filter("debug,sqlx=warn")
                .with_test_writer()
                .init();
        }
    });
}

/// A client that keeps cookies and does not follow redirects (tests look at them).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn token(&self, username: &str) -> String {
        let res = reqwest::Client::new()
            .post(self.url("/api/v1/login"))
            .json(&serde_json::json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "login of {username}");
        res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn get(&self, token: Option<&str>, path: &str) -> (StatusCode, Value) {
        let mut req = reqwest::Client::new().get(self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// A JSON POST with a bearer token; the status and the JSON answer (or null).
    pub async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let res = reqwest::Client::new()
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json::<Value>().await.unwrap_or(Value::Null))
    }

    /// The node a demo account's (first) role is granted at.
    pub fn granted_node(&self, username: &str) -> mulin_domain::tree::NodePath {
        let (_, grants) = self
            .demo
            .dataset
            .users
            .iter()
            .find(|(user, _)| user.username == username)
            .unwrap_or_else(|| panic!("no demo account {username}"));
        let node = grants[0].1;
        self.demo
            .dataset
            .nodes
            .iter()
            .find(|n| n.path.id() == node)
            .unwrap()
            .path
    }

    /// Logs a browser in through the form; returns it with its session cookie.
    pub async fn web_login(&self, username: &str) -> reqwest::Client {
        let client = browser();
        let res = client
            .post(self.url("/login"))
            .form(&[("username", username), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "web login of {username}"
        );
        client
    }

    pub fn nodes(&self, kind: NodeKind) -> Vec<&NodeRecord> {
        self.demo
            .dataset
            .nodes
            .iter()
            .filter(|n| n.path.kind() == kind)
            .collect()
    }

    /// The n-th grid (0-based) in generation order: grid 0 is wangge01's.
    pub fn grid(&self, idx: usize) -> &NodeRecord {
        self.nodes(NodeKind::Grid)[idx]
    }

    pub fn community(&self, idx: usize) -> &NodeRecord {
        self.nodes(NodeKind::Community)[idx]
    }

    pub fn residents_in(&self, kind: NodeKind, id: NodeId) -> Vec<&mulin_storage::ResidentRecord> {
        self.demo
            .dataset
            .residents
            .iter()
            .filter(|r| r.household.at(kind) == Some(id))
            .collect()
    }

    pub fn residents_outside(
        &self,
        kind: NodeKind,
        id: NodeId,
    ) -> Vec<&mulin_storage::ResidentRecord> {
        self.demo
            .dataset
            .residents
            .iter()
            .filter(|r| r.household.at(kind) != Some(id))
            .collect()
    }

    /// Adds an account with one role at `node`.
    pub async fn add_user(&self, username: &str, role: Role, node: NodeId) {
        let district = self.demo.dataset.nodes[0].path.id().into();
        let user = UserRecord {
            id: UserId::new_v7(),
            district,
            username: username.into(),
            display_name: username.into(),
            password_hash: password_hash().await,
            is_demo: false,
            created_at: test_now(),
        };
        self.store.insert_user(&user).await.unwrap();
        self.store
            .grant(user.id, district, role, node)
            .await
            .unwrap();
    }

    /// The HTML of a page, as `client` sees it.
    pub async fn html(&self, client: &reqwest::Client, path: &str) -> String {
        client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The CSRF token embedded in a page.
    pub async fn csrf(&self, client: &reqwest::Client) -> String {
        let html = client
            .get(self.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let marker = "name=\"csrf\" value=\"";
        let start = html.find(marker).expect("csrf field") + marker.len();
        html[start..start + 64].to_owned()
    }
}
