//! `/tiles/{layers}/{z}/{x}/{y}.mvt` and `/tiles/{layers}.json` (TileJSON 3.0.0).
//!
//! Tiles are the core's ([`agrimap_core::tiles::TileService`]), and so is
//! the TileJSON document ([`agrimap_core::tilejson`]); this module
//! adds entity tags, caching headers and content negotiation.

use crate::AppState;
use crate::Route;
use crate::auth::Need;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::origin::request_origin;
use agrimap_core::echo;
use agrimap_core::features::as_of::parse_as_of;
use agrimap_core::tilejson::tilejson;
use agrimap_core::tiles::{etag, parse_coord, parse_layers};
use agrimap_model::LayerDef;
use agrimap_tiles::TileCoord;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![
        Route::get("/tiles/{layers}/{z}/{x}/{y}", Need::Anyone, tile),
        Route::get("/tiles/{file}", Need::Anyone, get_tilejson),
    ]
}

pub const MVT_CONTENT_TYPE: &str = "application/vnd.mapbox-vector-tile";
const CACHE_CONTROL: &str = "public, max-age=60, stale-while-revalidate=300";

/// What a tile takes besides its path.
#[derive(serde::Deserialize)]
pub(crate) struct TileParams {
    /// The layers as they stood then (a date or an RFC 3339 time); layers
    /// that keep no history are drawn as they are.
    as_of: Option<String>,
}

/// `GET /tiles/{layers}/{z}/{x}/{y}.mvt[?as_of=…]`
pub(crate) async fn tile(
    State(state): State<AppState>,
    ApiPath((spec, z, x, y_file)): ApiPath<(String, String, String, String)>,
    ApiQuery(params): ApiQuery<TileParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let layers = parse_layers(&spec)?;
    let coord = parse_coord(&z, &x, &y_file)?;
    let as_of = params
        .as_of
        .as_deref()
        .map(|s| parse_as_of(s, agrimap_model::UtcTime::now()))
        .transpose()?;
    answer_tile(&state, &layers, coord, as_of, &headers).await
}

/// The answer for one tile of `layers` (as they stood at `as_of`, when
/// given): its entity tag and caching headers, 304 when the client holds
/// it, 204 when it is empty, gzip when accepted. `/tiles` and OGC API –
/// Tiles answer alike.
///
/// # Errors
/// The store's and the encoder's.
pub(crate) async fn answer_tile(
    state: &AppState,
    layers: &[&'static LayerDef],
    coord: TileCoord,
    as_of: Option<agrimap_model::UtcTime>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let key = state.core.tiles.key_as_of(layers, coord, as_of).await?;
    let etag = etag(&key);
    let mut out = HeaderMap::new();
    out.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex etag is a valid header"),
    );
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL));
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    let matches_etag = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches_etag {
        return Ok((StatusCode::NOT_MODIFIED, out).into_response());
    }

    let body = state.core.tiles.tile_at(&key, layers, coord).await?;
    if body.is_empty() {
        return Ok((StatusCode::NO_CONTENT, out).into_response());
    }
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT_CONTENT_TYPE));
    // One reading of Accept-Encoding for the whole service (weights such as q=0.0 included).
    if crate::encoding::accepts_gzip(headers) {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        Ok((out, body.gzip).into_response())
    } else {
        Ok((out, body.plain).into_response())
    }
}

/// `GET /tiles/{layers}.json`: TileJSON 3.0.0 for a layer list.
pub(crate) async fn get_tilejson(
    State(state): State<AppState>,
    ApiPath(file): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let spec = file.strip_suffix(".json").ok_or_else(|| {
        ApiError::not_found(
            "not_found",
            format!("expected '/tiles/{{layers}}.json', got '/tiles/{}'", echo(&file, 64)),
        )
    })?;
    let layers = parse_layers(spec)?;
    let origin = request_origin(state.config.public_url.as_deref(), &headers);
    let doc = tilejson(&state.core, spec, &layers, &origin).await?;
    Ok(([(header::CACHE_CONTROL, "no-cache")], axum::Json(doc)).into_response())
}
