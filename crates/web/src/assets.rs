//! Static assets compiled into the binary, so Mulin works with no internet: our stylesheet
//! and scripts, and the front-end libraries vendored from npm at pinned versions (see
//! `assets/vendor/README.md` and `scripts/vendor-assets.sh`).

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::routing::get;
use axum::Router;

use crate::AppState;

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const PNG: &str = "image/png";

/// Every served asset: URL path, content type, bytes. One line per file.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("/assets/app.css", CSS, include_bytes!("../assets/app.css")),
    (
        "/assets/visits.js",
        JS,
        include_bytes!("../assets/visits.js"),
    ),
    (
        "/assets/swagger-init.js",
        JS,
        include_bytes!("../assets/swagger-init.js"),
    ),
    ("/assets/map.js", JS, include_bytes!("../assets/map.js")),
    (
        "/assets/map-extra.js",
        JS,
        include_bytes!("../assets/map-extra.js"),
    ),
    (
        "/assets/dashboard.js",
        JS,
        include_bytes!("../assets/dashboard.js"),
    ),
    (
        "/assets/countdown.js",
        JS,
        include_bytes!("../assets/countdown.js"),
    ),
    (
        "/assets/vendor/htmx.min.js",
        JS,
        include_bytes!("../assets/vendor/htmx.min.js"),
    ),
    (
        "/assets/vendor/swagger-ui-bundle.js",
        JS,
        include_bytes!("../assets/vendor/swagger-ui-bundle.js"),
    ),
    (
        "/assets/vendor/swagger-ui.css",
        CSS,
        include_bytes!("../assets/vendor/swagger-ui.css"),
    ),
    (
        "/assets/vendor/leaflet.js",
        JS,
        include_bytes!("../assets/vendor/leaflet.js"),
    ),
    (
        "/assets/vendor/leaflet.css",
        CSS,
        include_bytes!("../assets/vendor/leaflet.css"),
    ),
    (
        "/assets/vendor/images/layers.png",
        PNG,
        include_bytes!("../assets/vendor/images/layers.png"),
    ),
    (
        "/assets/vendor/images/layers-2x.png",
        PNG,
        include_bytes!("../assets/vendor/images/layers-2x.png"),
    ),
    (
        "/assets/vendor/images/marker-icon.png",
        PNG,
        include_bytes!("../assets/vendor/images/marker-icon.png"),
    ),
    (
        "/assets/vendor/images/marker-icon-2x.png",
        PNG,
        include_bytes!("../assets/vendor/images/marker-icon-2x.png"),
    ),
    (
        "/assets/vendor/images/marker-shadow.png",
        PNG,
        include_bytes!("../assets/vendor/images/marker-shadow.png"),
    ),
    (
        "/assets/vendor/echarts.min.js",
        JS,
        include_bytes!("../assets/vendor/echarts.min.js"),
    ),
];

/// Routes under `/assets`.
pub fn routes() -> Router<AppState> {
    ASSETS
        .iter()
        .fold(Router::new(), |router, &(path, content_type, body)| {
            router.route(
                path,
                get(move || async move {
                    (
                        [
                            (CONTENT_TYPE, content_type),
                            (CACHE_CONTROL, "public, max-age=3600"),
                        ],
                        body,
                    )
                }),
            )
        })
}
