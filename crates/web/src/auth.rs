//! Accounts at the edge: Argon2id passwords, session tokens (cookie for the UI, bearer for
//! the API), the CSRF token of a web session, and the extractors that turn a request into
//! a [`Principal`] the policy can judge.

use std::net::SocketAddr;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use chrono::Duration;
use mulin_domain::policy::Principal;
use mulin_storage::{SessionKind, SessionRecord, StoreError, UserRecord};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{PageError, WebError};
use crate::i18n::Lang;
use crate::AppState;

/// The session cookie. HttpOnly and SameSite=Strict: scripts cannot read it and other sites
/// cannot make the browser send it.
pub const SESSION_COOKIE: &str = "mulin_session";
/// The language cookie.
pub const LANG_COOKIE: &str = "mulin_lang";
/// How long a session lasts.
pub const SESSION_HOURS: i64 = 12;

/// Hashes a password with Argon2id (default parameters), off the async threads.
pub async fn hash_password(password: String) -> Result<String, WebError> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt)
            .map_err(|err| WebError::Internal(err.to_string().into()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|err| WebError::Internal(err.to_string().into()))
    })
    .await
    .map_err(|err| WebError::Internal(Box::new(err)))?
}

/// Checks a password against a stored hash, off the async threads. A malformed hash is a
/// failed check, never an error a user could probe.
pub async fn verify_password(hash: String, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash to verify against when the username is unknown, so a wrong username takes as
/// long as a wrong password and does not reveal which accounts exist.
pub async fn dummy_hash() -> String {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_init(|| async {
            hash_password("not-a-real-password".into())
                .await
                .unwrap_or_default()
        })
        .await
        .clone()
}

/// A fresh random token (hex) and the hash stored in its place.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

/// SHA-256 of a token, hex. Tokens are 256 random bits, so a fast hash is enough.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Starts a session for `user` (audited as a login) and returns its token.
pub async fn start_session(
    state: &AppState,
    user: &UserRecord,
    kind: SessionKind,
    ip: Option<String>,
) -> Result<(String, SessionRecord), WebError> {
    let (token, token_hash) = new_token();
    let (csrf_token, _) = new_token();
    let now = state.clock.now();
    let session = SessionRecord {
        token_hash,
        user_id: user.id,
        district: user.district,
        kind,
        csrf_token,
        created_at: now,
        expires_at: now + Duration::hours(SESSION_HOURS),
    };
    state.store.insert_session(&session).await?;
    state
        .audit_user(user, ip.as_deref(), "login", ("session", kind.as_str()), "")
        .await?;
    Ok((token, session))
}

/// Checks credentials against the rate limits and the store; shared by the API and the
/// login form.
pub async fn check_credentials(
    state: &AppState,
    ip: Option<&str>,
    username: &str,
    password: &str,
) -> Result<mulin_storage::UserRecord, WebError> {
    if !state.login_allowed(ip, username) {
        return Err(WebError::RateLimited);
    }
    match state.store.user_by_username(username.trim()).await {
        Ok(user) => {
            if verify_password(user.password_hash.clone(), password.to_owned()).await {
                Ok(user)
            } else {
                // A failed record must not turn a wrong password into a server error.
                let _ = state
                    .audit_user(
                        &user,
                        ip,
                        "login.failed",
                        ("user", &user.id.to_string()),
                        "",
                    )
                    .await;
                Err(WebError::Unauthorized)
            }
        }
        Err(mulin_storage::StoreError::NotFound) => {
            // Spend the same time as a wrong password so names cannot be probed.
            verify_password(dummy_hash().await, password.to_owned()).await;
            Err(WebError::Unauthorized)
        }
        Err(other) => Err(other.into()),
    }
}

/// A logged-in caller.
#[derive(Clone, Debug)]
pub struct AuthUser {
    /// The account.
    pub user: UserRecord,
    /// Its grants, ready for the policy.
    pub principal: Principal,
    /// The session the request came with.
    pub session: SessionRecord,
    /// The client address.
    pub ip: Option<String>,
}

/// The client address of a request, when the server was started with connect info.
pub fn client_ip(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip().to_string())
}

/// The client address, when the server runs with connect info (it always does; tests that
/// call the router directly have none).
#[derive(Clone, Debug)]
pub struct ClientIp(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts)))
    }
}

/// The token of a request: a bearer token, else the session cookie.
fn request_token(parts: &Parts) -> Option<String> {
    let bearer = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| token.trim().to_owned());
    bearer.or_else(|| {
        CookieJar::from_headers(&parts.headers)
            .get(SESSION_COOKIE)
            .map(|cookie| cookie.value().to_owned())
    })
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<AuthUser, WebError> {
    let token = request_token(parts).ok_or(WebError::Unauthorized)?;
    caller(state, &token, client_ip(parts)).await
}

/// The caller a session token stands for: its session, account and grants (read in one
/// statement) with the policy built from the grants.
pub async fn caller(
    state: &AppState,
    token: &str,
    ip: Option<String>,
) -> Result<AuthUser, WebError> {
    let (session, user, grants) = match state
        .store
        .session_caller(&token_hash(token), state.clock.now())
        .await
    {
        Ok(caller) => caller,
        Err(StoreError::NotFound) => return Err(WebError::Unauthorized),
        Err(other) => return Err(other.into()),
    };
    let principal = Principal::new(user.id, user.district, grants)
        .map_err(|err| WebError::Internal(Box::new(err)))?;
    Ok(AuthUser {
        user,
        principal,
        session,
        ip,
    })
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state).await
    }
}

/// The language of a request: the language cookie, else zh-CN.
pub fn request_lang(parts: &Parts) -> Lang {
    CookieJar::from_headers(&parts.headers)
        .get(LANG_COOKIE)
        .map(|cookie| Lang::from_tag(cookie.value()))
        .unwrap_or_default()
}

/// A logged-in caller of an HTML page, with their language. Without a session the page
/// redirects to the login form.
#[derive(Clone, Debug)]
pub struct PageUser {
    /// The caller.
    pub auth: AuthUser,
    /// Their language.
    pub lang: Lang,
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = request_lang(parts);
        authenticate(parts, state)
            .await
            .map(|auth| PageUser { auth, lang })
            .map_err(|error| PageError { error, lang })
    }
}

/// The language of a page that needs no login.
#[derive(Clone, Copy, Debug)]
pub struct PageLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for PageLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(PageLang(request_lang(parts)))
    }
}

/// The language of an API answer's messages: the language cookie (a page's script calling
/// the API speaks the page's language), else the first tag of `Accept-Language` when it is
/// English, else zh-CN.
#[derive(Clone, Copy, Debug)]
pub struct ApiLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for ApiLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if CookieJar::from_headers(&parts.headers)
            .get(LANG_COOKIE)
            .is_some()
        {
            return Ok(ApiLang(request_lang(parts)));
        }
        let first = parts
            .headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split([',', ';']).next())
            .unwrap_or("");
        Ok(ApiLang(Lang::from_tag(first)))
    }
}

/// Checks the CSRF token of a cookie session's form post (field or `X-CSRF-Token` header).
/// Bearer sessions carry no ambient authority and need none.
pub fn check_csrf(auth: &AuthUser, presented: Option<&str>) -> Result<(), WebError> {
    if auth.session.kind == SessionKind::Api {
        return Ok(());
    }
    match presented {
        Some(token) if constant_time_eq(token.as_bytes(), auth.session.csrf_token.as_bytes()) => {
            Ok(())
        }
        _ => Err(WebError::Csrf),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_verify_only_themselves() {
        let hash = hash_password("正确的密码".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(hash.clone(), "正确的密码".into()).await);
        assert!(!verify_password(hash, "wrong".into()).await);
        assert!(!verify_password("garbage".into(), "x".into()).await);
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, hash_a) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_hash(&a), hash_a);
        assert_ne!(a, hash_a);
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
