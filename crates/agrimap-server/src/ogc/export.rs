//! `GET /api/export/{layer}.{geojson|csv|gpkg|shp.zip|kml|fgb}`: a whole
//! selection of a layer as one file ([`agrimap_core::export`] says which
//! parameters it takes and writes it).
//!
//! Only the HTTP plumbing is here: GeoJSON and CSV are streamed chunk by
//! chunk; the other formats are sent from the file GDAL wrote, in a
//! temporary directory that goes with the response. The store's first chunk
//! is read before answering, so a filter the store refuses is a 400, not a
//! cut transfer. How many exports run at once is bounded
//! ([`super::export_slots`]), and a client that stops reading is let go
//! after a while ([`super::paced_body`]).

use super::paced_body::{SEND_IDLE, paced_body};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use agrimap_core::export::{self, Export};
use agrimap_core::features::Params;
use axum::body::Bytes;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Extension, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use std::net::SocketAddr;

/// `GET /api/export/{file}`
pub(super) async fn export(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    ApiPath(file): ApiPath<String>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let params = Params::new(pairs)?;
    let audience =
        agrimap_core::features::scope::selection_audience(&state.core, caller.audience(), &caller.provinces, &params)
            .await?;
    let plan = export::plan(&state.core, &file, &params, audience).await?;
    let address = client.map(|Extension(ConnectInfo(a))| a.ip());
    let slot = match state.exports.acquire(address) {
        Ok(slot) => slot,
        Err(busy) => return Ok(busy.into_response()),
    };
    let (media_type, name) = (plan.format.media_type(), plan.name.clone());
    let body = match export::start(&state.core, plan).await? {
        Export::Streamed(chunks) => paced_body(chunks.map_ok(Bytes::from), slot, SEND_IDLE),
        Export::File { path, dir } => {
            let file = tokio::fs::File::open(&path).await.map_err(|e| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "export_failed",
                    format!("GDAL wrote no file: {e}"),
                )
            })?;
            // The directory lives as long as the body, which holds it.
            paced_body(tokio_util::io::ReaderStream::new(file), (slot, dir), SEND_IDLE)
        }
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    // What a token holder exports may hold restricted fields: never cached for others.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}
