//! Cross-cutting layers: operation ids, tracing spans, security headers and the origin
//! check that (with SameSite cookies and per-session tokens) blocks cross-site requests.

use axum::extract::{MatchedPath, Request};
use axum::http::header::{HeaderName, HeaderValue, HOST, ORIGIN};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::TraceLayer;
use tracing::Instrument;

use crate::error::WebError;

tokio::task_local! {
    /// The operation id of the request being served (shown on error pages, logged).
    pub static OP_ID: String;
}

/// The current request's operation id, if inside one.
pub fn current_op_id() -> Option<String> {
    OP_ID.try_with(Clone::clone).ok()
}

const OP_ID_HEADER: HeaderName = HeaderName::from_static("x-op-id");

/// Gives each request an operation id: in a task-local, in the log span, in a header.
pub async fn op_id(request: Request, next: Next) -> Response {
    let op_id = uuid::Uuid::now_v7().to_string();
    let span = tracing::info_span!("op", op_id = %op_id);
    let mut response = OP_ID
        .scope(op_id.clone(), next.run(request).instrument(span))
        .await;
    if let Ok(value) = HeaderValue::from_str(&op_id) {
        response.headers_mut().insert(OP_ID_HEADER, value);
    }
    response
}

/// A span per request with the method and the matched route template (not the raw path,
/// which would carry ids).
pub fn trace_layer(
) -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, impl Fn(&Request) -> tracing::Span + Clone>
{
    TraceLayer::new_for_http().make_span_with(|request: &Request| {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str)
            .unwrap_or("-");
        tracing::info_span!("http", method = %request.method(), route = %route)
    })
}

/// Headers every response carries.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        (
            "content-security-policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ),
    ] {
        // A page may set its own policy (the map allows its configured tile server).
        headers
            .entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from_static(value));
    }
    response
}

/// Refuses unsafe requests that a browser marks as coming from another site.
pub async fn check_origin(request: Request, next: Next) -> Response {
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if unsafe_method && is_cross_site(&request) {
        return WebError::Csrf.into_response();
    }
    next.run(request).await
}

fn is_cross_site(request: &Request) -> bool {
    let headers = request.headers();
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site == "cross-site")
    {
        return true;
    }
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        // Non-browser clients (curl, API clients) send no Origin.
        return false;
    };
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(origin);
    origin == "null" || origin_host != host
}
