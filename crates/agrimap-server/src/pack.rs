//! `GET /api/packs/{code}.pmtiles`: a commune's offline pack
//! ([`agrimap_core::pack`]), built on request.

use crate::AppState;
use crate::Route;
use crate::auth::Need;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use agrimap_core::echo;
use agrimap_core::pack::{DEFAULT_MAXZOOM, DEFAULT_MINZOOM, commune_pack};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![
        // Offline packs hold the public tiles only.
        Route::get("/api/packs/{file}", Need::Anyone, pack),
    ]
}

/// `?minzoom=&maxzoom=` of `/api/packs`.
#[derive(Debug, Deserialize)]
pub struct PackParams {
    minzoom: Option<u8>,
    maxzoom: Option<u8>,
    boundary_set: Option<String>,
}

/// `GET /api/packs/{code}.pmtiles[?minzoom=10&maxzoom=16][&boundary_set=2025]`
pub(crate) async fn pack(
    State(state): State<AppState>,
    ApiPath(file): ApiPath<String>,
    ApiQuery(params): ApiQuery<PackParams>,
) -> Result<Response, ApiError> {
    let code = file.strip_suffix(".pmtiles").ok_or_else(|| {
        ApiError::not_found(
            "not_found",
            format!(
                "packs are /api/packs/{{commune code}}.pmtiles, not '{}'",
                echo(&file, 64)
            ),
        )
    })?;
    let boundary_set = agrimap_core::communes::boundary_set_param(params.boundary_set.as_deref())?;
    let pack = commune_pack(
        &state.core,
        code,
        boundary_set,
        params.minzoom.unwrap_or(DEFAULT_MINZOOM),
        params.maxzoom.unwrap_or(DEFAULT_MAXZOOM),
    )
    .await?;
    // Only ASCII in the header: the code names the file, the name stays in the metadata.
    let disposition = format!("attachment; filename=\"agrimap-{}.pmtiles\"", pack.commune_code);
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.pmtiles".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-cache".to_owned()),
        ],
        pack.bytes,
    )
        .into_response())
}
