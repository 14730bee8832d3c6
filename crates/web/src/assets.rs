//! Static assets compiled into the binary, so Mulin works with no internet: our stylesheet
//! and the front-end libraries vendored from npm at pinned versions (see
//! `assets/vendor/README.md` and `scripts/vendor-assets.sh`).

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::AppState;

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

fn asset(content_type: &'static str, body: &'static [u8]) -> impl IntoResponse + Clone {
    (
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}

/// Routes under `/assets`.
pub fn routes() -> Router<AppState> {
    let app_css = asset(CSS, include_bytes!("../assets/app.css"));
    let htmx = asset(JS, include_bytes!("../assets/vendor/htmx.min.js"));
    let swagger_js = asset(JS, include_bytes!("../assets/vendor/swagger-ui-bundle.js"));
    let swagger_css = asset(CSS, include_bytes!("../assets/vendor/swagger-ui.css"));
    let swagger_init = asset(JS, include_bytes!("../assets/swagger-init.js"));
    let countdown = asset(JS, include_bytes!("../assets/countdown.js"));
    Router::new()
        .route("/assets/app.css", get(move || async move { app_css }))
        .route(
            "/assets/vendor/htmx.min.js",
            get(move || async move { htmx }),
        )
        .route(
            "/assets/vendor/swagger-ui-bundle.js",
            get(move || async move { swagger_js }),
        )
        .route(
            "/assets/vendor/swagger-ui.css",
            get(move || async move { swagger_css }),
        )
        .route(
            "/assets/swagger-init.js",
            get(move || async move { swagger_init }),
        )
        .route(
            "/assets/countdown.js",
            get(move || async move { countdown }),
        )
}
