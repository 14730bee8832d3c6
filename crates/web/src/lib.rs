//! Mulin's HTTP face: HTML pages (askama + htmx), the JSON API under `/api/v1` with its
//! OpenAPI document, and static assets compiled into the binary.
//!
//! The crate holds an `Arc<dyn Storage>` and never names a database. Every access decision
//! goes through `mulin_domain::policy`; handlers ask it and the storage only ever sees the
//! scopes it allowed. Errors map to responses in [`error`], once.
#![deny(missing_docs)]

mod access;
pub mod api;
pub mod assets;
pub mod auth;
pub mod cache;
pub mod care;
pub mod clock;
pub mod dashboard;
pub mod demo_activity;
pub mod error;
pub mod floating;
pub mod grids;
pub mod i18n;
pub mod import_jobs;
pub mod ledger_text;
pub mod map;
mod middleware;
pub mod notify;
pub mod open311;
pub mod pages;
pub mod reps;
pub mod requests;
pub mod schedule;
mod views;
pub mod visits;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::Router;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use mulin_storage::{AuditEntry, Storage};
use tokio::net::TcpListener;

use crate::auth::AuthUser;
use crate::clock::Clock;

/// Settings the web layer needs, parsed by the binary.
#[derive(Clone, Debug)]
pub struct WebSettings {
    /// Mark cookies `Secure` (set when served over HTTPS behind a proxy).
    pub secure_cookies: bool,
    /// Login attempts allowed per minute from one address.
    pub login_per_minute_per_ip: u32,
    /// Login attempts allowed per minute for one username.
    pub login_per_minute_per_user: u32,
    /// The map's tiles (none by default).
    pub map: map::MapSettings,
    /// Days a delivered outbox message is kept before the dispatcher deletes it.
    pub outbox_retention_days: u32,
}

impl WebSettings {
    /// The defaults for a local start: plain HTTP, 20 attempts per address and 5 per
    /// username a minute, delivered messages kept a week.
    pub fn local() -> WebSettings {
        WebSettings {
            secure_cookies: false,
            login_per_minute_per_ip: 20,
            login_per_minute_per_user: 5,
            map: map::MapSettings::default(),
            outbox_retention_days: notify::DEFAULT_RETENTION_DAYS,
        }
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<dyn Storage>,
    /// The clock (settable in tests).
    pub clock: Arc<dyn Clock>,
    /// Settings.
    pub settings: Arc<WebSettings>,
    /// Whether this is a demo database (shown in a banner on every page).
    pub is_demo: bool,
    /// Each district's work calendar, which deadlines count working days on.
    pub calendars: Arc<schedule::Calendars>,
    /// Point → grid routing, one index per district (see [`grids::GridRouter`]).
    pub grids: Arc<grids::GridRouter>,
    /// Ledger imports running for the import page.
    pub import_jobs: Arc<import_jobs::ImportJobs>,
    /// Community settings, grant holders and Open311 keys every intake reads.
    pub caches: Arc<cache::Caches>,
    login_by_ip: Arc<DefaultKeyedRateLimiter<String>>,
    login_by_user: Arc<DefaultKeyedRateLimiter<String>>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

impl AppState {
    /// Builds the state.
    pub fn new(
        store: Arc<dyn Storage>,
        clock: Arc<dyn Clock>,
        settings: WebSettings,
        is_demo: bool,
    ) -> AppState {
        AppState {
            grids: Arc::new(grids::GridRouter::new(store.clone())),
            calendars: Arc::new(schedule::Calendars::new(store.clone())),
            import_jobs: Arc::default(),
            caches: Arc::new(cache::Caches::new(store.clone())),
            store,
            clock,
            login_by_ip: Arc::new(RateLimiter::keyed(per_minute(
                settings.login_per_minute_per_ip,
            ))),
            login_by_user: Arc::new(RateLimiter::keyed(per_minute(
                settings.login_per_minute_per_user,
            ))),
            settings: Arc::new(settings),
            is_demo,
        }
    }

    /// Whether a login attempt for `username` from `ip` is within the limits.
    pub fn login_allowed(&self, ip: Option<&str>, username: &str) -> bool {
        let ip_ok = self
            .login_by_ip
            .check_key(&ip.unwrap_or("unknown").to_owned())
            .is_ok();
        let user_ok = self
            .login_by_user
            .check_key(&username.to_lowercase())
            .is_ok();
        ip_ok && user_ok
    }

    /// Appends an audit record for something a logged-in caller did.
    pub async fn audit(
        &self,
        auth: &AuthUser,
        action: &str,
        target: (&str, &str),
        detail: &str,
    ) -> Result<(), error::WebError> {
        self.audit_user(&auth.user, auth.ip.as_deref(), action, target, detail)
            .await
    }

    /// Appends an audit record for something done as `user` from `ip` (also before a
    /// session exists: logins and failed logins).
    pub async fn audit_user(
        &self,
        user: &mulin_storage::UserRecord,
        ip: Option<&str>,
        action: &str,
        (target_kind, target_id): (&str, &str),
        detail: &str,
    ) -> Result<(), error::WebError> {
        self.audit_actor(
            user.district,
            Some(user.id),
            &user.username,
            ip,
            action,
            (target_kind, target_id),
            detail,
        )
        .await
    }

    /// Appends an audit record for something done by an actor that may have no account
    /// (an Open311 client's key is recorded by name, as `open311:<key name>`).
    #[allow(clippy::too_many_arguments)]
    pub async fn audit_actor(
        &self,
        district: mulin_domain::ids::DistrictId,
        user: Option<mulin_domain::ids::UserId>,
        name: &str,
        ip: Option<&str>,
        action: &str,
        target: (&str, &str),
        detail: &str,
    ) -> Result<(), error::WebError> {
        self.store
            .append_audit(&self.audit_entry(district, user, name, ip, action, target, detail))
            .await
            .map_err(Into::into)
    }

    /// The audit record of something done now, for a caller that writes it in its own
    /// transaction.
    #[allow(clippy::too_many_arguments)]
    pub fn audit_entry(
        &self,
        district: mulin_domain::ids::DistrictId,
        user: Option<mulin_domain::ids::UserId>,
        name: &str,
        ip: Option<&str>,
        action: &str,
        (target_kind, target_id): (&str, &str),
        detail: &str,
    ) -> AuditEntry {
        AuditEntry {
            id: uuid::Uuid::now_v7(),
            district,
            at: self.clock.now(),
            user_id: user,
            username: name.to_owned(),
            action: action.to_owned(),
            target_kind: target_kind.to_owned(),
            target_id: target_id.to_owned(),
            ip: ip.map(str::to_owned),
            detail: detail.to_owned(),
        }
    }
}

/// The whole router: pages, API, assets, health check, middleware.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(pages::routes())
        .nest("/api/v1", api::routes())
        .nest("/open311/v2", open311::routes())
        .merge(assets::routes())
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .layer(axum::middleware::from_fn(middleware::check_origin))
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(axum::middleware::from_fn(middleware::op_id))
        .layer(middleware::trace_layer())
        .with_state(state)
}

/// A bound, ready-to-run server. Binding happens in [`Application::build`], so the port is
/// known (and can be 0 in tests) before anything is served.
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Binds `listen` and builds the router.
    pub async fn build(listen: &str, state: AppState) -> std::io::Result<Application> {
        let listener = TcpListener::bind(listen).await?;
        Ok(Application {
            listener,
            router: router(state),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}
