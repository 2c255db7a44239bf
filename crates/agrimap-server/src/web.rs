//! `/`, `/sw.js` and `/static/{file}`: the map page, served from the binary.

use crate::Route;
use crate::assets::asset;
use crate::auth::Need;
use crate::error::ApiError;
use crate::extract::ApiPath;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Whether `If-None-Match` names `tag` (weak comparison: `W/` aside).
fn not_modified(headers: &HeaderMap, tag: &HeaderValue) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let Ok(tag) = tag.to_str() else { return false };
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == "*" || bare(t) == bare(tag)))
}

fn serve(path: &str, headers: &HeaderMap) -> Result<Response, ApiError> {
    let a = asset(path).ok_or_else(|| ApiError::not_found("not_found", format!("no such resource: {path}")))?;
    // The page, its service worker and its own scripts revalidate on every
    // load (they change with the binary, under the same names); the
    // libraries are kept an hour. Either way a revalidation is a 304.
    let cache = match path {
        "/" | "/sw.js" | "/static/app.js" | "/static/app.css" | "/static/stats.js" => "no-cache",
        _ => "public, max-age=3600",
    };
    let tag = HeaderValue::from_str(a.etag()).expect("a hex tag is a valid header");
    if not_modified(headers, &tag) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, tag),
                (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            ],
        )
            .into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(a.content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (header::ETAG, tag),
        ],
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
pub(crate) async fn index(headers: HeaderMap) -> Result<Response, ApiError> {
    serve("/", &headers)
}

/// `GET /sw.js`: the service worker, from the root so that it may serve the whole page.
pub(crate) async fn service_worker(headers: HeaderMap) -> Result<Response, ApiError> {
    serve("/sw.js", &headers)
}

/// `GET /static/{file}`
pub(crate) async fn static_file(headers: HeaderMap, ApiPath(file): ApiPath<String>) -> Result<Response, ApiError> {
    serve(&format!("/static/{file}"), &headers)
}
