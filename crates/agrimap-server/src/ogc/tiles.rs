//! OGC API – Tiles (Core, TileSet, TileSets list, dataset and geodata
//! tilesets, Mapbox Vector Tiles) over the same tiles as `/tiles`, in the
//! WebMercatorQuad tile matrix set, so that clients that speak the standard
//! (QGIS, GDAL's OGCAPI driver, tipg's and pygeoapi's viewers) find them.
//!
//! | path | answer |
//! |---|---|
//! | `/ogc/tileMatrixSets` | the tile matrix sets offered: WebMercatorQuad |
//! | `/ogc/tileMatrixSets/WebMercatorQuad` | its definition (OGC 2D Tile Matrix Set 2.0) |
//! | `/ogc/tiles` | the tilesets of the whole map (every layer in one tile) |
//! | `/ogc/tiles/WebMercatorQuad` | that tileset: its layers, zooms, limits and tile template |
//! | `/ogc/tiles/WebMercatorQuad/{z}/{row}/{col}` | one composite tile (MVT) |
//! | `/ogc/collections/{id}/tiles`… | the same for one collection |
//!
//! A tile is answered exactly as `/tiles/{layers}/{z}/{x}/{y}.mvt` answers it
//! (the row is `y`, the column `x`): same bytes, entity tag and caching.

use super::request::OgcRequest;
use super::{JSON, home, html, html_response, json_response, link, self_and_alternate, with_f};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::tiles::{MVT_CONTENT_TYPE, answer_tile};
use agrimap_core::echo;
use agrimap_core::tilejson::layers_extent;
use agrimap_core::tiles::parse_zxy;
use agrimap_model::{Audience, LayerDef, catalog};
use agrimap_tiles::tile_containing;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value as Json, json};

use super::request::Format;

/// The one tile matrix set offered.
pub const WEB_MERCATOR_QUAD: &str = "WebMercatorQuad";
const TMS_URI: &str = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad";
const EPSG_3857: &str = "http://www.opengis.net/def/crs/EPSG/0/3857";
/// The relation of a tiling scheme, and of vector tilesets.
const REL_TILING_SCHEME: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme";
pub const REL_TILESETS_VECTOR: &str = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector";
/// Web Mercator's half-width in metres, and the scale of zoom 0 for 256-pixel tiles.
const HALF_WORLD: f64 = 20_037_508.342_789_244;
const Z0_SCALE: f64 = 559_082_264.028_717_8;
const Z0_CELL: f64 = 156_543.033_928_041;
/// Zooms the definition lists (the tiles themselves stop at each layer's maxzoom).
const MATRICES: u8 = 24;

/// The conformance classes of OGC API – Tiles this module implements.
pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/dataset-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
];

/// `tileMatrixSetId` as a path names it: WebMercatorQuad only.
fn tile_matrix_set(id: &str) -> Result<(), ApiError> {
    if id == WEB_MERCATOR_QUAD {
        Ok(())
    } else {
        Err(ApiError::not_found(
            "unknown_tile_matrix_set",
            format!(
                "no tile matrix set '{}'; tiles are offered in {WEB_MERCATOR_QUAD} only",
                echo(id, 64)
            ),
        ))
    }
}

/// JSON, or a page of the document's links for a browser.
fn answer(doc: &Json, format: Format, title: &str, base: &str) -> Response {
    match format {
        Format::Json => json_response(doc, JSON),
        Format::Html => {
            let body = format!(
                "<pre>{}</pre>\n",
                html::escape(&serde_json::to_string_pretty(doc).unwrap_or_default())
            );
            html_response(html::page(title, &[home(base)], &body, &doc["links"]))
        }
    }
}

/// `GET /ogc/tileMatrixSets`
pub(super) async fn tile_matrix_sets(OgcRequest { format, base, .. }: OgcRequest) -> Result<Response, ApiError> {
    let url = format!("{base}/tileMatrixSets");
    let doc = json!({
        "tileMatrixSets": [{
            "id": WEB_MERCATOR_QUAD,
            "title": "Google Maps Compatible for the World",
            "uri": TMS_URI,
            "crs": EPSG_3857,
            "links": [link("self", JSON, WEB_MERCATOR_QUAD, format!("{url}/{WEB_MERCATOR_QUAD}"))],
        }],
        "links": self_and_alternate(&url, "", format, JSON, "The tile matrix sets"),
    });
    Ok(answer(&doc, format, "Tile matrix sets", &base))
}

/// `GET /ogc/tileMatrixSets/{tileMatrixSetId}`: the definition, zoom 0 to 24.
pub(super) async fn tile_matrix_set_definition(
    ApiPath(id): ApiPath<String>,
    OgcRequest { format, base, .. }: OgcRequest,
) -> Result<Response, ApiError> {
    tile_matrix_set(&id)?;
    let matrices: Vec<Json> = (0..=MATRICES)
        .map(|z| {
            let n = 1_u64 << z;
            let scale = f64::from(1_u32 << z);
            json!({
                "id": z.to_string(),
                "scaleDenominator": Z0_SCALE / scale,
                "cellSize": Z0_CELL / scale,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-HALF_WORLD, HALF_WORLD],
                "identifier": z.to_string(),
                "topLeftCorner": [-HALF_WORLD, HALF_WORLD],
                "tileWidth": 256,
                "tileHeight": 256,
                "matrixWidth": n,
                "matrixHeight": n,
            })
        })
        .collect();
    let url = format!("{base}/tileMatrixSets/{WEB_MERCATOR_QUAD}");
    let doc = json!({
        "id": WEB_MERCATOR_QUAD,
        // The draft's names too (`identifier`, `supportedCRS`, the corners,
        // and each matrix's `identifier` and `topLeftCorner`): GDAL before
        // 3.7 (Debian 12's) reads only those.
        "identifier": WEB_MERCATOR_QUAD,
        "supportedCRS": EPSG_3857,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": EPSG_3857,
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "boundingBox": {
            "lowerLeft": [-HALF_WORLD, -HALF_WORLD],
            "upperRight": [HALF_WORLD, HALF_WORLD],
            "lowerCorner": [-HALF_WORLD, -HALF_WORLD],
            "upperCorner": [HALF_WORLD, HALF_WORLD],
            "crs": EPSG_3857,
        },
        "tileMatrices": matrices,
        "links": self_and_alternate(&url, "", format, JSON, "The tile matrix set"),
    });
    Ok(answer(&doc, format, WEB_MERCATOR_QUAD, &base))
}

/// Where the tilesets of `layers` live: `/ogc/tiles` for the whole map,
/// `/ogc/collections/{id}/tiles` for one collection.
fn tilesets_url(base: &str, layer: Option<&LayerDef>) -> String {
    match layer {
        None => format!("{base}/tiles"),
        Some(l) => format!("{base}/collections/{}/tiles", l.id),
    }
}

/// The tilesets list of `layer` (or of the whole map).
fn tilesets_list(base: &str, layer: Option<&'static LayerDef>, format: Format) -> Json {
    let url = tilesets_url(base, layer);
    let title = layer.map_or("agrimap: every layer", |l| l.title);
    json!({
        "tilesets": [{
            "title": title,
            "dataType": "vector",
            "crs": EPSG_3857,
            "tileMatrixSetURI": TMS_URI,
            "links": [
                link("self", JSON, &format!("{title}, {WEB_MERCATOR_QUAD}"), format!("{url}/{WEB_MERCATOR_QUAD}")),
                link(REL_TILING_SCHEME, JSON, WEB_MERCATOR_QUAD, format!("{base}/tileMatrixSets/{WEB_MERCATOR_QUAD}")),
            ],
        }],
        "links": self_and_alternate(&url, "", format, JSON, "The tilesets"),
    })
}

/// `GET /ogc/tiles`
pub(super) async fn dataset_tilesets(OgcRequest { format, base, .. }: OgcRequest) -> Result<Response, ApiError> {
    Ok(answer(&tilesets_list(&base, None, format), format, "Tilesets", &base))
}

/// `GET /ogc/collections/{id}/tiles`
pub(super) async fn collection_tilesets(
    OgcRequest {
        collection: layer,
        format,
        base,
        ..
    }: OgcRequest<&'static LayerDef>,
) -> Result<Response, ApiError> {
    Ok(answer(
        &tilesets_list(&base, Some(layer), format),
        format,
        &format!("{} tilesets", layer.id),
        &base,
    ))
}

/// The tileset of `layers`: layers with their zooms and public fields, the
/// tile template, and the tiles that hold data at each zoom.
async fn tileset(
    state: &AppState,
    base: &str,
    layer: Option<&'static LayerDef>,
    format: Format,
) -> Result<Json, ApiError> {
    let layers: Vec<&'static LayerDef> = layer.map_or_else(|| catalog().iter().collect(), |l| vec![l]);
    let bounds = layers_extent(&state.core, &layers).await?;
    let minzoom = layers.iter().map(|l| l.minzoom).min().unwrap_or(0);
    let maxzoom = layers.iter().map(|l| l.maxzoom).max().unwrap_or(16);
    let url = format!("{}/{WEB_MERCATOR_QUAD}", tilesets_url(base, layer));
    let title = layer.map_or("agrimap: every layer", |l| l.title);
    let mut links = self_and_alternate(&url, "", format, JSON, "This tileset");
    links.extend([
        link(
            REL_TILING_SCHEME,
            JSON,
            WEB_MERCATOR_QUAD,
            format!("{base}/tileMatrixSets/{WEB_MERCATOR_QUAD}"),
        ),
        json!({
            "rel": "item",
            "type": MVT_CONTENT_TYPE,
            "title": "A tile (Mapbox Vector Tile)",
            "href": format!("{url}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"),
            "templated": true,
        }),
    ]);
    if let Some(l) = layer {
        links.push(link(
            "collection",
            JSON,
            l.title,
            with_f(&format!("{base}/collections/{}", l.id), "", Format::Json),
        ));
    }
    let mut doc = json!({
        "title": title,
        "dataType": "vector",
        "crs": EPSG_3857,
        "tileMatrixSetURI": TMS_URI,
        "links": links,
        "layers": layers.iter().map(|l| layer_json(l)).collect::<Vec<_>>(),
    });
    if let Some(b) = bounds {
        doc["boundingBox"] = json!({
            "lowerLeft": [b.min().x, b.min().y],
            "upperRight": [b.max().x, b.max().y],
            "crs": super::CRS84,
        });
        doc["tileMatrixSetLimits"] = (minzoom..=maxzoom)
            .map(|z| {
                let top_left = tile_containing(b.min().x, b.max().y, z);
                let bottom_right = tile_containing(b.max().x, b.min().y, z);
                json!({
                    "tileMatrix": z.to_string(),
                    "minTileRow": top_left.y,
                    "maxTileRow": bottom_right.y,
                    "minTileCol": top_left.x,
                    "maxTileCol": bottom_right.x,
                })
            })
            .collect::<Vec<_>>()
            .into();
    }
    Ok(doc)
}

/// One layer of a tileset: what the tiles' layer of that name holds.
fn layer_json(layer: &LayerDef) -> Json {
    let properties: serde_json::Map<String, Json> = layer
        .readable_fields(Audience::Public)
        .map(|(_, f)| (f.name.to_owned(), json!({ "description": f.description })))
        .collect();
    json!({
        "id": layer.id,
        "title": layer.title,
        "dataType": "vector",
        "geometryDimension": match layer.geometry {
            agrimap_model::GeometryKind::Point => 0,
            agrimap_model::GeometryKind::LineString | agrimap_model::GeometryKind::PointOrLine => 1,
            agrimap_model::GeometryKind::Polygon => 2,
        },
        "minTileMatrix": layer.minzoom.to_string(),
        "maxTileMatrix": layer.maxzoom.to_string(),
        "propertiesSchema": { "type": "object", "properties": properties },
    })
}

/// `GET /ogc/tiles/{tileMatrixSetId}`
pub(super) async fn dataset_tileset(
    State(state): State<AppState>,
    ApiPath(tms): ApiPath<String>,
    OgcRequest { format, base, .. }: OgcRequest,
) -> Result<Response, ApiError> {
    tile_matrix_set(&tms)?;
    let doc = tileset(&state, &base, None, format).await?;
    Ok(answer(&doc, format, "Tileset", &base))
}

/// `GET /ogc/collections/{id}/tiles/{tileMatrixSetId}`
pub(super) async fn collection_tileset(
    State(state): State<AppState>,
    ApiPath((_, tms)): ApiPath<(String, String)>,
    OgcRequest {
        collection: layer,
        format,
        base,
        ..
    }: OgcRequest<&'static LayerDef>,
) -> Result<Response, ApiError> {
    tile_matrix_set(&tms)?;
    let doc = tileset(&state, &base, Some(layer), format).await?;
    Ok(answer(&doc, format, &format!("{} tileset", layer.id), &base))
}

/// `GET /ogc/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}`: the composite tile.
pub(super) async fn dataset_tile(
    State(state): State<AppState>,
    ApiPath((tms, z, row, col)): ApiPath<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    tile_matrix_set(&tms)?;
    let coord = parse_zxy(&z, &col, &row)?;
    let layers: Vec<&'static LayerDef> = catalog().iter().collect();
    answer_tile(&state, &layers, coord, None, &headers).await
}

/// `GET /ogc/collections/{id}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}`
pub(super) async fn collection_tile(
    State(state): State<AppState>,
    ApiPath((id, tms, z, row, col)): ApiPath<(String, String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let layer = agrimap_core::features::collection(&id)?;
    tile_matrix_set(&tms)?;
    let coord = parse_zxy(&z, &col, &row)?;
    answer_tile(&state, &[layer], coord, None, &headers).await
}
