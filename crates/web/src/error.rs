//! Errors at the HTTP edge. Handlers return `Result<_, WebError>` (JSON API) or
//! `Result<_, PageError>` (HTML) and use `?`; the mapping to a status and a message happens
//! here, once. A 5xx shows only an operation id; the cause goes to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use mulin_storage::StoreError;
use serde::Serialize;

use crate::i18n::{Lang, Tr};

/// What went wrong, as the client should hear it.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No valid session or token.
    #[error("not logged in")]
    Unauthorized,
    /// Logged in, but the policy says no.
    #[error("forbidden")]
    Forbidden,
    /// Missing, or outside the caller's scope (the two look the same on purpose).
    #[error("not found")]
    NotFound,
    /// Input the client can fix; the message key names the problem.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A form post without a valid CSRF token or from another origin.
    #[error("CSRF check failed")]
    Csrf,
    /// Too many login attempts.
    #[error("rate limited")]
    RateLimited,
    /// Well-formed input the rules refuse (a closed request cannot be signed for ...); the
    /// locale key names the rule.
    #[error("unprocessable: {0}")]
    Invalid(&'static str),
    /// A conflict the client caused (a taken username ...).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Anything else; logged with its cause.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for WebError {
    fn from(err: StoreError) -> WebError {
        match err {
            StoreError::NotFound => WebError::NotFound,
            StoreError::Conflict(what) => WebError::Conflict(what),
            other => WebError::Internal(Box::new(other)),
        }
    }
}

/// An error with each of its sources, `: `-separated: one line that says what failed and
/// why.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut chain = err.to_string();
    let mut cause = err.source();
    while let Some(next) = cause {
        chain.push_str(": ");
        chain.push_str(&next.to_string());
        cause = next.source();
    }
    chain
}

impl WebError {
    /// The status and the stable code clients can branch on.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            WebError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            WebError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            WebError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            WebError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            WebError::Csrf => (StatusCode::FORBIDDEN, "csrf"),
            WebError::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            WebError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            WebError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            WebError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// The message in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        let tr = Tr::new(lang);
        let key = match self {
            WebError::Unauthorized => "error.unauthorized",
            WebError::Forbidden => "error.forbidden",
            WebError::NotFound => "error.not_found",
            WebError::BadRequest(detail) | WebError::Conflict(detail) => {
                return format!("{}: {detail}", tr.get("error.bad_request"));
            }
            WebError::Csrf => "error.csrf",
            WebError::Invalid(key) => key,
            WebError::RateLimited => "error.rate_limited",
            WebError::Internal(_) => "error.internal",
        };
        tr.get(key).to_owned()
    }

    fn log(&self) {
        if let WebError::Internal(source) = self {
            let chain = error_chain(source.as_ref());
            tracing::error!(error = %chain, "request failed");
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
/// The body of every API error.
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
/// A stable code and a message for people (Chinese unless `Accept-Language: en`).
pub struct ErrorDetail {
    /// Stable code: `unauthorized`, `forbidden`, `not_found`, `bad_request`, `csrf`,
    /// `rate_limited`, `conflict`, `invalid`, `internal`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        self.log();
        let (status, code) = self.status_and_code();
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message: self.message(Lang::ZhCn),
            },
        };
        (status, Json(body)).into_response()
    }
}

/// An error on an HTML page: rendered as a page in the user's language, or a redirect to
/// the login page when the session is missing.
#[derive(Debug)]
pub struct PageError {
    /// The error.
    pub error: WebError,
    /// The language to show it in.
    pub lang: Lang,
}

impl From<WebError> for PageError {
    fn from(error: WebError) -> PageError {
        PageError {
            error,
            lang: Lang::default(),
        }
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> PageError {
        PageError::from(WebError::from(error))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if matches!(self.error, WebError::Unauthorized) {
            return Redirect::to("/login").into_response();
        }
        self.error.log();
        let (status, _) = self.error.status_and_code();
        let page = crate::pages::ErrorPage::new(self.lang, status, self.error.message(self.lang));
        (status, page).into_response()
    }
}
