//! OGC API – Features Part 2: `crs` (the CRS of the geometries answered) and
//! `bbox-crs` (the CRS `bbox` is given in). Layers are stored in CRS84; other
//! CRSs are reached through `agrimap_io::crs`.

use super::params::{Params, echo};
use crate::error::ApiError;
use agrimap_io::crs::{Crs, Transform, offered_uris};
use agrimap_model::Feature;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

/// The header that names the CRS of the geometries in a response.
pub const CONTENT_CRS: &str = "content-crs";

/// Every CRS offered, as URIs: what `crs` lists of each collection.
pub fn supported() -> Vec<String> {
    offered_uris()
}

/// The CRS named by the parameter `name`, CRS84 without it.
///
/// # Errors
/// `bad_crs` naming the parameter and listing the CRSs offered.
pub fn param(params: &Params, name: &str) -> Result<Crs, ApiError> {
    let Some(text) = params.get(name) else {
        return Ok(Crs::CRS84);
    };
    Crs::parse(text).map_err(|_| {
        ApiError::bad_request(
            "bad_crs",
            format!(
                "{name}: '{}' is not a CRS offered here; give one of these URIs: {}",
                echo(text),
                supported().join(", ")
            ),
        )
    })
}

/// The features with their geometries in `crs`. Off the async runtime: a
/// page may hold thousands of polygons.
///
/// # Errors
/// 500 `transform_failed` when a stored position lies outside what the
/// projection reaches.
pub async fn features_in(features: Vec<Feature>, crs: Crs) -> Result<Vec<Feature>, ApiError> {
    if crs == Crs::CRS84 {
        return Ok(features);
    }
    tokio::task::spawn_blocking(move || {
        let transform = Transform::new(crs);
        features
            .into_iter()
            .map(|mut f| {
                f.geometry = transform.geometry_from_wgs84(&f.geometry).map_err(|e| failed(&e))?;
                Ok(f)
            })
            .collect()
    })
    .await
    .map_err(|e| {
        tracing::error!(cause = %e, "transforming features failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "transform_failed",
            "the features could not be transformed",
        )
    })?
}

fn failed(e: &agrimap_io::crs::TransformError) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "transform_failed",
        format!("a stored feature cannot be given in this CRS: {e}"),
    )
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
