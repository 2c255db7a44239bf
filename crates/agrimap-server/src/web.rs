//! `/`, `/sw.js` and `/static/{file}`: the map page, served from the binary.

use crate::Route;
use crate::assets::asset;
use crate::auth::Need;
use crate::error::ApiError;
use crate::extract::ApiPath;
use axum::http::header;
use axum::response::{IntoResponse, Response};

fn serve(path: &str) -> Result<Response, ApiError> {
    let a = asset(path).ok_or_else(|| ApiError::not_found("not_found", format!("no such resource: {path}")))?;
    // The page and its service worker must revalidate (they name the current
    // assets); the library files change only with a new binary.
    let cache = if path == "/" || path == "/sw.js" {
        "no-cache"
    } else {
        "public, max-age=3600"
    };
    Ok((
        [(header::CONTENT_TYPE, a.content_type), (header::CACHE_CONTROL, cache)],
        a.bytes,
    )
        .into_response())
}

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![
        Route::get("/", Need::Anyone, index),
        Route::get("/sw.js", Need::Anyone, service_worker),
        Route::get("/static/{file}", Need::Anyone, static_file),
    ]
}

/// `GET /`
pub(crate) async fn index() -> Result<Response, ApiError> {
    serve("/")
}

/// `GET /sw.js`: the service worker, from the root so that it may serve the whole page.
pub(crate) async fn service_worker() -> Result<Response, ApiError> {
    serve("/sw.js")
}

/// `GET /static/{file}`
pub(crate) async fn static_file(ApiPath(file): ApiPath<String>) -> Result<Response, ApiError> {
    serve(&format!("/static/{file}"))
}
