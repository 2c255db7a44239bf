//! OGC API – Features Part 2 in the answers: the CRSs each collection lists,
//! and the `Content-Crs` header naming the CRS of the geometries answered.
//! Reading `crs` and `bbox-crs` is the core's
//! ([`agrimap_core::features::params::crs`]).

use agrimap_io::crs::{Crs, offered_uris};
use axum::http::HeaderValue;
use axum::response::Response;

/// The header that names the CRS of the geometries in a response.
pub const CONTENT_CRS: &str = "content-crs";

/// Every CRS offered, as URIs: what `crs` lists of each collection.
pub fn supported() -> Vec<String> {
    offered_uris()
}

/// Names the CRS of the response's geometries: `Content-Crs: <uri>`.
pub fn with_content_crs(mut response: Response, crs: Crs) -> Response {
    if response.status().is_success()
        && let Ok(v) = HeaderValue::from_str(&format!("<{}>", crs.uri()))
    {
        response.headers_mut().insert(CONTENT_CRS, v);
    }
    response
}
