//! `/tiles/{layers}/{z}/{x}/{y}.mvt` and `/tiles/{layers}.json` (TileJSON 3.0.0).
//!
//! A tile is: cache lookup by (layers, z, x, y, layer versions) → one store
//! query per layer for the tile's bounding box plus buffer, run concurrently →
//! clip, simplify and encode on the blocking pool → gzip → cache.

use crate::AppState;
use crate::error::ApiError;
use crate::origin::request_origin;
use crate::tile_cache::{TileBody, TileKey};
use agrimap_model::{Audience, FeatureQuery, LayerDef, catalog};
use agrimap_store::LayerVersions;
use agrimap_tiles::{TileCoord, encode_tile, tile_bounds, tile_bounds_buffered};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flate2::Compression;
use flate2::write::GzEncoder;
use futures::future::try_join_all;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;

pub const MVT_CONTENT_TYPE: &str = "application/vnd.mapbox-vector-tile";
const CACHE_CONTROL: &str = "public, max-age=60, stale-while-revalidate=300";

/// Parses `crop,aquaculture` into catalog layers, in catalog order.
pub fn parse_layers(spec: &str) -> Result<Vec<&'static LayerDef>, ApiError> {
    if spec.is_empty() {
        return Err(ApiError::bad_request("bad_layers", "the layer list is empty"));
    }
    let mut layers = Vec::new();
    for id in spec.split(',') {
        let layer = agrimap_model::layer(id).ok_or_else(|| {
            let known: Vec<&str> = catalog().iter().map(|l| l.id).collect();
            ApiError::not_found(
                "unknown_layer",
                format!("unknown layer '{}'; known layers: {}", truncate(id), known.join(", ")),
            )
        })?;
        if layers.contains(&layer) {
            return Err(ApiError::bad_request(
                "bad_layers",
                format!("layer '{id}' is listed twice"),
            ));
        }
        layers.push(layer);
    }
    layers.sort_by_key(|l| catalog().iter().position(|c| c.id == l.id));
    Ok(layers)
}

/// Echoing a client string back: keep it short.
fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Parses the `{z}`, `{x}` and `{y}.mvt` segments of a tile path.
pub fn parse_coord(z: &str, x: &str, y_file: &str) -> Result<TileCoord, ApiError> {
    let y = y_file.strip_suffix(".mvt").ok_or_else(|| {
        ApiError::not_found(
            "bad_tile",
            format!("tile path must end in '{{y}}.mvt', got '{}'", truncate(y_file)),
        )
    })?;
    let number = |name: &str, s: &str| {
        s.parse::<u32>().map_err(|_| {
            ApiError::bad_request(
                "bad_tile",
                format!("{name} must be a non-negative integer, got '{}'", truncate(s)),
            )
        })
    };
    let z = u8::try_from(number("z", z)?)
        .map_err(|_| ApiError::bad_request("bad_tile", format!("zoom {z} is out of range")))?;
    TileCoord::new(z, number("x", x)?, number("y", y)?).map_err(|e| ApiError::bad_request("bad_tile", e.to_string()))
}

fn etag(key: &TileKey) -> String {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    format!("W/\"{:016x}\"", h.finish())
}

fn versions_of(layers: &[&'static LayerDef], versions: &LayerVersions) -> Vec<u64> {
    layers
        .iter()
        .map(|l| versions.get(l.id).copied().unwrap_or(0))
        .collect()
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    // One reading of Accept-Encoding for the whole service (weights such as q=0.0 included).
    crate::encoding::accepts_gzip(headers)
}

/// `GET /tiles/{layers}/{z}/{x}/{y}.mvt`
pub async fn tile(
    State(state): State<AppState>,
    path: Result<Path<(String, String, String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path((spec, z, x, y_file)) = path?;
    let layers = parse_layers(&spec)?;
    let coord = parse_coord(&z, &x, &y_file)?;
    let versions = state.store.versions().await?;
    let key = TileKey {
        layers: layers.iter().map(|l| l.id).collect::<Vec<_>>().join(","),
        z: coord.z,
        x: coord.x,
        y: coord.y,
        versions: versions_of(&layers, &versions),
    };
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

    let body = state
        .tile_cache
        .get_or_render(&key, render(&state, &layers, coord))
        .await?;
    if body.is_empty() {
        return Ok((StatusCode::NO_CONTENT, out).into_response());
    }
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT_CONTENT_TYPE));
    if accepts_gzip(&headers) {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        Ok((out, body.gzip).into_response())
    } else {
        Ok((out, body.plain).into_response())
    }
}

/// Renders one tile: store queries for every layer visible at this zoom,
/// then encoding and compression off the async runtime.
pub async fn render(state: &AppState, layers: &[&'static LayerDef], coord: TileCoord) -> Result<TileBody, ApiError> {
    let opts = state.tile_options.clone();
    let bbox = tile_bounds_buffered(coord, opts.buffer, opts.extent);
    // A polygon or line that fits inside one tile unit both ways cannot be
    // drawn meaningfully; the store skips it by its R-tree box without reading it.
    let min_extent = tile_bounds(coord).width() / f64::from(opts.extent);
    let visible: Vec<&'static LayerDef> = layers.iter().copied().filter(|l| coord.z >= l.minzoom).collect();
    let queries = visible.iter().map(|layer| {
        let query = FeatureQuery {
            bbox: Some(bbox),
            min_extent: Some(min_extent),
            any_order: true,
            ..FeatureQuery::default()
        };
        let store = state.store.clone();
        async move { store.features(layer, &query).await }
    });
    let mut fetched = try_join_all(queries).await?;
    tokio::task::spawn_blocking(move || {
        // The stores return rows in any order (a sort in the database can spill
        // to disk on a big tile); sorting here keeps tiles identical whatever
        // the store and its physical row order.
        for features in &mut fetched {
            features.sort_unstable_by_key(|f| f.id);
        }
        let pairs: Vec<(&LayerDef, &[agrimap_model::Feature])> =
            visible.iter().copied().zip(fetched.iter().map(Vec::as_slice)).collect();
        let mvt = encode_tile(coord, &pairs, Audience::Public, &opts);
        if mvt.is_empty() {
            Ok(TileBody::default())
        } else {
            Ok(TileBody {
                gzip: gzip(&mvt)?.into(),
                plain: mvt.into(),
            })
        }
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "tile_failed",
            format!("tile task failed: {e}"),
        )
    })?
    .map_err(|e: std::io::Error| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "tile_failed", e.to_string()))
}

fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::with_capacity(data.len() / 3), Compression::default());
    enc.write_all(data)?;
    enc.finish()
}

/// `GET /tiles/{layers}.json`: TileJSON 3.0.0 for a layer list.
pub async fn tilejson(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(file) = path?;
    let spec = file.strip_suffix(".json").ok_or_else(|| {
        ApiError::not_found(
            "not_found",
            format!("expected '/tiles/{{layers}}.json', got '/tiles/{}'", truncate(&file)),
        )
    })?;
    let layers = parse_layers(spec)?;
    let origin = request_origin(state.config.public_url.as_deref(), &headers);
    let mut bounds: Option<geo::Rect<f64>> = None;
    for layer in &layers {
        if let Some(r) = state.store.extent(layer).await? {
            bounds = Some(bounds.map_or(r, |b| {
                geo::Rect::new(
                    geo::coord! { x: b.min().x.min(r.min().x), y: b.min().y.min(r.min().y) },
                    geo::coord! { x: b.max().x.max(r.max().x), y: b.max().y.max(r.max().y) },
                )
            }));
        }
    }
    let minzoom = layers.iter().map(|l| l.minzoom).min().unwrap_or(0);
    let maxzoom = layers.iter().map(|l| l.maxzoom).max().unwrap_or(16);
    let mut doc = serde_json::json!({
        "tilejson": "3.0.0",
        "name": format!("agrimap: {spec}"),
        "scheme": "xyz",
        "tiles": [format!("{origin}/tiles/{spec}/{{z}}/{{x}}/{{y}}.mvt")],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "vector_layers": layers.iter().map(|l| vector_layer(l)).collect::<Vec<_>>(),
    });
    if let Some(b) = bounds {
        let c = b.center();
        doc["bounds"] = serde_json::json!([b.min().x, b.min().y, b.max().x, b.max().y]);
        doc["center"] = serde_json::json!([c.x, c.y, minzoom.max(9)]);
    }
    Ok(([(header::CACHE_CONTROL, "no-cache")], axum::Json(doc)).into_response())
}

/// One `vector_layers` entry: public fields only, described with type and unit.
fn vector_layer(layer: &LayerDef) -> serde_json::Value {
    let fields: serde_json::Map<String, serde_json::Value> = layer
        .readable_fields(Audience::Public)
        .map(|(_, f)| {
            let unit = f.unit.map(|u| format!(" ({u})")).unwrap_or_default();
            (
                f.name.to_owned(),
                format!("{}: {}{unit}", f.ty.tilejson_name(), f.description).into(),
            )
        })
        .collect();
    serde_json::json!({
        "id": layer.id,
        "description": layer.description,
        "minzoom": layer.minzoom,
        "maxzoom": layer.maxzoom,
        "fields": fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_lists_are_checked_and_put_in_catalog_order() {
        let ids = |s| parse_layers(s).map(|v| v.iter().map(|l| l.id).collect::<Vec<_>>());
        assert_eq!(ids("ocop,crop").expect("ok"), vec!["crop", "ocop"]);
        assert_eq!(ids("crop,nope").expect_err("unknown").status, StatusCode::NOT_FOUND);
        assert_eq!(ids("crop,crop").expect_err("twice").status, StatusCode::BAD_REQUEST);
        assert_eq!(ids("").expect_err("empty").status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn tile_coordinates_are_checked() {
        assert!(parse_coord("14", "13000", "7600.mvt").is_ok());
        assert_eq!(
            parse_coord("3", "8", "0.mvt").expect_err("x").status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            parse_coord("-1", "0", "0.mvt").expect_err("z").status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            parse_coord("300", "0", "0.mvt").expect_err("z").status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            parse_coord("3", "0", "0.png").expect_err("ext").status,
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn gzip_negotiation_honours_q0() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, v.parse().expect("header"));
            accepts_gzip(&m)
        };
        assert!(h("gzip, deflate, br"));
        assert!(!h("gzip;q=0, br"));
        assert!(!h("br"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
