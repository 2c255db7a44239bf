//! OGC API – Features under `/ogc`: Part 1 (Core, GeoJSON, HTML, OpenAPI 3.0),
//! Part 2 (coordinate reference systems by reference) and Part 3 filtering in
//! CQL2 text; and OGC API – Tiles over the vector tiles.
//!
//! | path | answer |
//! |---|---|
//! | `/ogc` | landing page: links to the API definition, conformance and collections |
//! | `/ogc/conformance` | the conformance classes implemented |
//! | `/ogc/api` | the API definition (OpenAPI 3.0, JSON), or an HTML summary |
//! | `/ogc/collections` | every catalog layer as a collection, with its extent |
//! | `/ogc/collections/{id}` | one collection |
//! | `/ogc/collections/{id}/items` | its features, GeoJSON: `bbox`, `bbox-crs`, `datetime`, `filter`, `limit`, `offset`, `commune`, `properties`, `crs` |
//! | `/ogc/collections/{id}/items/{featureId}` | one feature by its store id (`properties`, `crs`) |
//! | `/ogc/collections/{id}/queryables` | what a filter may name: JSON Schema of the geometry and the public fields |
//! | `/ogc/tileMatrixSets`, `/ogc/tiles`, `/ogc/collections/{id}/tiles`… | OGC API – Tiles over the same vector tiles ([`tiles`]) |
//!
//! Every resource is JSON (GeoJSON for features) or HTML, chosen by `f=json|html`
//! or else by `Accept`. Links are absolute, from the configured public URL or
//! the host the client asked for. Features carry public fields only: a
//! restricted field is neither returned, nor selectable with `properties`,
//! nor told apart from a field that does not exist. Coordinates are CRS84
//! (longitude, latitude, the storage CRS) unless `crs` asks for EPSG:4326
//! (latitude first) or a VN-2000 CRS (easting, northing in metres), named
//! back in the `Content-Crs` header; `bbox-crs` gives `bbox` and `filter-crs`
//! the filter's geometries in any of them.
//!
//! `bbox` selects the features whose bounding box meets the box, as the stores
//! index them; a feature whose envelope touches the box while its geometry
//! does not is included. Paging is by `offset`, in feature-id order, through
//! `next` and `prev` links.
//!
//! Which features the parameters select is the core's
//! ([`agrimap_core::features`]); this module reads requests
//! ([`request::OgcRequest`]) and renders the answers.

mod crs;
mod export;
pub mod export_slots;
pub mod filter_turns;
pub(crate) mod html;
mod items;
mod openapi;
mod paced_body;
mod queryables;
pub mod request;
mod tiles;

use crate::AppState;
use crate::Route;
use crate::auth::Need;
use crate::error::ApiError;
use agrimap_core::features::time;
use agrimap_model::{Audience, LayerDef, catalog};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use futures::future::try_join_all;
use geo::Rect;
use request::{Format, OgcRequest};
use serde::Serialize;
use serde_json::{Value as Json, json};
use std::fmt::Write as _;

/// Media types of the documents.
pub const JSON: &str = "application/json";
pub const GEOJSON: &str = "application/geo+json";
pub const HTML: &str = "text/html";
pub const OPENAPI: &str = "application/vnd.oai.openapi+json;version=3.0";
/// WGS 84 longitude/latitude: the CRS layers are stored in and answered in by default.
pub const CRS84: &str = agrimap_io::crs::CRS84_URI;

/// The conformance classes this service implements: OGC API – Features –
/// Parts 1, 2 (CRS by reference) and 3 (filtering), and the CQL2 classes its filters read.
pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
];

const TITLE: &str = "agrimap: OGC API – Features";
const DESCRIPTION: &str = "The agricultural layers of the province (crops, aquaculture, monitoring stations, \
     registered growing areas, OCOP products) and its base map, as OGC API – Features collections. \
     Coordinates are longitude and latitude (CRS84) unless the crs parameter asks for WGS 84 latitude first \
     (EPSG:4326) or the national VN-2000 system (UTM and TM-3 zones). Restricted fields (owners, phone numbers) are not published.";

/// The endpoints under `/ogc`: all open to anyone, restricted fields only
/// for callers who may read them.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![
        Route::get("/ogc", Need::Anyone, landing),
        Route::get("/ogc/conformance", Need::Anyone, conformance),
        Route::get("/ogc/api", Need::Anyone, api),
        Route::get("/ogc/collections", Need::Anyone, collections),
        Route::get("/ogc/collections/{id}", Need::Anyone, collection),
        Route::get("/ogc/collections/{id}/items", Need::Anyone, items::items),
        Route::get("/ogc/collections/{id}/items/{feature}", Need::Anyone, items::item),
        Route::get("/ogc/collections/{id}/queryables", Need::Anyone, queryables::queryables),
        Route::get("/ogc/tileMatrixSets", Need::Anyone, tiles::tile_matrix_sets),
        Route::get(
            "/ogc/tileMatrixSets/{tms}",
            Need::Anyone,
            tiles::tile_matrix_set_definition,
        ),
        Route::get("/ogc/tiles", Need::Anyone, tiles::dataset_tilesets),
        Route::get("/ogc/tiles/{tms}", Need::Anyone, tiles::dataset_tileset),
        Route::get("/ogc/tiles/{tms}/{z}/{row}/{col}", Need::Anyone, tiles::dataset_tile),
        Route::get("/ogc/collections/{id}/tiles", Need::Anyone, tiles::collection_tilesets),
        Route::get(
            "/ogc/collections/{id}/tiles/{tms}",
            Need::Anyone,
            tiles::collection_tileset,
        ),
        Route::get(
            "/ogc/collections/{id}/tiles/{tms}/{z}/{row}/{col}",
            Need::Anyone,
            tiles::collection_tile,
        ),
        Route::get("/api/export/{file}", Need::Anyone, export::export),
    ]
}

/// The query parameters each `/ogc` resource takes, by route.
fn parameters(route: &str) -> &'static [&'static str] {
    match route {
        "/ogc/collections/{id}/items" => items::ITEMS_PARAMS,
        "/ogc/collections/{id}/items/{feature}" => items::ITEM_PARAMS,
        _ => &["f"],
    }
}

/// One link object.
#[allow(clippy::needless_pass_by_value)] // callers build the href and hand it over
fn link(rel: &str, ty: &str, title: &str, href: String) -> Json {
    json!({ "rel": rel, "type": ty, "title": title, "href": href })
}

/// `href` with `f=` added to its query (which may be empty).
fn with_f(path: &str, query: &str, f: Format) -> String {
    if query.is_empty() {
        format!("{path}?f={}", f.param())
    } else {
        format!("{path}?{query}&f={}", f.param())
    }
}

/// The `self` link in the format answered and an `alternate` in the other.
fn self_and_alternate(url: &str, query: &str, format: Format, json_type: &str, what: &str) -> Vec<Json> {
    let (json_rel, html_rel) = match format {
        Format::Json => ("self", "alternate"),
        Format::Html => ("alternate", "self"),
    };
    let mut links = vec![
        link(
            json_rel,
            json_type,
            &format!("{what} as JSON"),
            with_f(url, query, Format::Json),
        ),
        link(
            html_rel,
            HTML,
            &format!("{what} as HTML"),
            with_f(url, query, Format::Html),
        ),
    ];
    if format == Format::Html {
        links.swap(0, 1);
    }
    links
}

/// A JSON document with its media type.
fn json_response(body: &impl Serialize, content_type: &'static str) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => with_vary(
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
                bytes,
            )
                .into_response(),
        ),
        Err(e) => {
            tracing::error!(cause = %e, "serialising an /ogc document failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "encode_failed",
                "the document could not be written",
            )
            .into_response()
        }
    }
}

/// An HTML page.
fn html_response(page: String) -> Response {
    with_vary(
        (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            page,
        )
            .into_response(),
    )
}

/// The answer depends on `Accept`: caches must keep one per value.
fn with_vary(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

/// The breadcrumb of the landing page.
fn home(base: &str) -> (String, String) {
    (with_f(base, "", Format::Html), "agrimap OGC API".to_owned())
}

/// The breadcrumbs of a page under `/ogc/collections`: the landing page,
/// the collections and, given `layer`, its collection.
fn crumbs(base: &str, layer: Option<&LayerDef>) -> Vec<(String, String)> {
    let mut crumbs = vec![
        home(base),
        (
            with_f(&format!("{base}/collections"), "", Format::Html),
            "Collections".to_owned(),
        ),
    ];
    if let Some(l) = layer {
        let url = format!("{base}/collections/{}", l.id);
        crumbs.push((with_f(&url, "", Format::Html), l.id.to_owned()));
    }
    crumbs
}

/// `GET /ogc`: the landing page.
async fn landing(OgcRequest { format, base, .. }: OgcRequest) -> Result<Response, ApiError> {
    let mut links = self_and_alternate(&base, "", format, JSON, "This document");
    links.extend([
        link(
            "service-desc",
            OPENAPI,
            "The API definition (OpenAPI 3.0)",
            with_f(&format!("{base}/api"), "", Format::Json),
        ),
        link(
            "service-doc",
            HTML,
            "The API documentation",
            with_f(&format!("{base}/api"), "", Format::Html),
        ),
        link(
            "conformance",
            JSON,
            "Conformance classes implemented",
            with_f(&format!("{base}/conformance"), "", Format::Json),
        ),
        link(
            "data",
            JSON,
            "The feature collections",
            with_f(&format!("{base}/collections"), "", Format::Json),
        ),
        link(
            tiles::REL_TILESETS_VECTOR,
            JSON,
            "The whole map as vector tiles (OGC API – Tiles)",
            format!("{base}/tiles"),
        ),
        link(
            "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
            JSON,
            "The tile matrix sets",
            format!("{base}/tileMatrixSets"),
        ),
    ]);
    let doc = json!({ "title": TITLE, "description": DESCRIPTION, "links": links });
    Ok(match format {
        Format::Json => json_response(&doc, JSON),
        Format::Html => {
            let body = format!(
                "<p>{}</p>\n<ul>\n<li>{}</li>\n<li>{}</li>\n<li>{}</li>\n</ul>\n",
                html::escape(DESCRIPTION),
                html::link(&with_f(&format!("{base}/collections"), "", Format::Html), "Collections"),
                html::link(&with_f(&format!("{base}/api"), "", Format::Html), "API definition"),
                html::link(
                    &with_f(&format!("{base}/conformance"), "", Format::Html),
                    "Conformance classes"
                ),
            );
            html_response(html::page(TITLE, &[home(&base)], &body, &doc["links"]))
        }
    })
}

/// `GET /ogc/conformance`: the conformance classes.
async fn conformance(OgcRequest { format, base, .. }: OgcRequest) -> Result<Response, ApiError> {
    let links = self_and_alternate(
        &format!("{base}/conformance"),
        "",
        format,
        JSON,
        "The conformance classes",
    );
    let classes: Vec<&str> = CONFORMANCE.iter().chain(tiles::CONFORMANCE).copied().collect();
    let doc = json!({ "conformsTo": classes, "links": links });
    Ok(match format {
        Format::Json => json_response(&doc, JSON),
        Format::Html => {
            let items = classes.iter().fold(String::new(), |mut items, c| {
                let _ = writeln!(items, "<li>{}</li>", html::link(c, c));
                items
            });
            html_response(html::page(
                "Conformance classes",
                &[home(&base)],
                &format!("<ul>\n{items}</ul>\n"),
                &doc["links"],
            ))
        }
    })
}

/// `GET /ogc/api`: the API definition.
async fn api(OgcRequest { format, base, .. }: OgcRequest) -> Result<Response, ApiError> {
    let doc = openapi::document(&base);
    Ok(match format {
        Format::Json => json_response(&doc, OPENAPI),
        Format::Html => {
            let links = json!(self_and_alternate(
                &format!("{base}/api"),
                "",
                format,
                OPENAPI,
                "The API definition"
            ));
            html_response(html::page(
                "API definition",
                &[home(&base)],
                &openapi::html(&doc),
                &links,
            ))
        }
    })
}

/// A collection as `/ogc/collections` and `/ogc/collections/{id}` describe it.
/// How a collection that keeps its history says so. OGC API – Features
/// gives `datetime` to the features' own time (their temporal geometry), so
/// the version valid on a day is asked for with a parameter of its own.
pub(super) const AS_OF_NOTE: &str = "The collection keeps its history: as_of=YYYY-MM-DD (the end of that day, UTC) or \
     an RFC 3339 time on its items and on one item gives it as it stood then; datetime selects by the features' own time.";

fn collection_json(base: &str, layer: &'static LayerDef, extent: Option<Rect<f64>>, links: Vec<Json>) -> Json {
    let url = format!("{base}/collections/{}", layer.id);
    let mut links = links;
    links.extend([
        link(
            "items",
            GEOJSON,
            &format!("{} as GeoJSON", layer.title),
            with_f(&format!("{url}/items"), "", Format::Json),
        ),
        link(
            "items",
            HTML,
            &format!("{} as HTML", layer.title),
            with_f(&format!("{url}/items"), "", Format::Html),
        ),
        link(
            queryables::REL_QUERYABLES,
            queryables::SCHEMA_JSON,
            &format!("What a filter on {} may name", layer.id),
            with_f(&format!("{url}/queryables"), "", Format::Json),
        ),
        // The relation as drafts of Part 3 spelled it, which GDAL looks for.
        link(
            "queryables",
            JSON,
            &format!("What a filter on {} may name (JSON)", layer.id),
            with_f(&format!("{url}/queryables"), "", Format::Json),
        ),
        link(
            tiles::REL_TILESETS_VECTOR,
            JSON,
            &format!("{} as vector tiles", layer.title),
            format!("{url}/tiles"),
        ),
    ]);
    let description = if layer.versioned() {
        format!("{} {}", layer.description, AS_OF_NOTE)
    } else {
        layer.description.to_owned()
    };
    let mut doc = json!({
        "id": layer.id,
        "title": layer.title,
        "description": description,
        "keywords": [layer.title_vi, layer.id],
        "itemType": "feature",
        "crs": crs::supported(),
        "storageCrs": CRS84,
        "links": links,
    });
    if let Some(r) = extent {
        doc["extent"] = json!({
            "spatial": { "bbox": [[r.min().x, r.min().y, r.max().x, r.max().y]], "crs": CRS84 },
        });
    }
    doc
}

/// `GET /ogc/collections`: every catalog layer.
async fn collections(
    State(state): State<AppState>,
    OgcRequest { format, base, .. }: OgcRequest,
) -> Result<Response, ApiError> {
    let core = &state.core;
    let versions = core.store.versions().await?;
    let extents = try_join_all(
        catalog()
            .iter()
            .map(|l| core.extents.get(core.store.as_ref(), l, &versions)),
    )
    .await?;
    let list: Vec<Json> = catalog()
        .iter()
        .zip(&extents)
        .map(|(l, e)| {
            let url = format!("{base}/collections/{}", l.id);
            let links = vec![link("self", JSON, l.title, with_f(&url, "", Format::Json))];
            collection_json(&base, l, *e, links)
        })
        .collect();
    let links = self_and_alternate(&format!("{base}/collections"), "", format, JSON, "The collections");
    let doc = json!({ "collections": list, "links": links });
    Ok(match format {
        Format::Json => json_response(&doc, JSON),
        Format::Html => {
            let rows: Vec<Vec<String>> = catalog()
                .iter()
                .zip(&extents)
                .map(|(l, e)| {
                    let url = format!("{base}/collections/{}", l.id);
                    vec![
                        html::link(&with_f(&url, "", Format::Html), l.id),
                        format!("{} ({})", html::escape(l.title), html::escape(l.title_vi)),
                        format!("{:?}", l.geometry),
                        html::escape(l.description),
                        e.map_or_else(String::new, |r| {
                            format!("{:.5}, {:.5}, {:.5}, {:.5}", r.min().x, r.min().y, r.max().x, r.max().y)
                        }),
                        html::link(&with_f(&format!("{url}/items"), "", Format::Html), "items"),
                    ]
                })
                .collect();
            let body = html::table(&["id", "title", "geometry", "description", "extent (CRS84)", ""], &rows);
            html_response(html::page("Collections", &[home(&base)], &body, &doc["links"]))
        }
    })
}

/// `GET /ogc/collections/{id}`: one collection.
async fn collection(
    State(state): State<AppState>,
    OgcRequest {
        collection: layer,
        format,
        base,
        ..
    }: OgcRequest<&'static LayerDef>,
) -> Result<Response, ApiError> {
    let core = &state.core;
    let versions = core.store.versions().await?;
    let extent = core.extents.get(core.store.as_ref(), layer, &versions).await?;
    let url = format!("{base}/collections/{}", layer.id);
    let links = self_and_alternate(&url, "", format, JSON, "This collection");
    let doc = collection_json(&base, layer, extent, links);
    Ok(match format {
        Format::Json => json_response(&doc, JSON),
        Format::Html => {
            let rows: Vec<Vec<String>> = layer
                .readable_fields(Audience::Public)
                .map(|(_, f)| {
                    vec![
                        format!("<code>{}</code>", html::escape(f.name)),
                        format!("{:?}", f.ty).to_lowercase(),
                        html::escape(f.unit.unwrap_or("")),
                        html::escape(&f.values.join(", ")),
                        html::escape(f.description),
                    ]
                })
                .collect();
            let mut time = time::temporal(layer).map_or_else(String::new, |t| {
                format!(
                    "<p><code>datetime</code> selects by <code>{}</code>.</p>\n",
                    html::escape(&t.describe())
                )
            });
            if layer.versioned() {
                time = format!("{time}<p>{}</p>\n", html::escape(AS_OF_NOTE));
            }
            let body = format!(
                "<p>{} ({}). {}</p>\n<p>Geometry: {:?}. Extent (CRS84): {}.</p>\n{time}<p>{} · {}</p>\n<h2>Properties</h2>\n{}",
                html::escape(layer.description),
                html::escape(layer.title_vi),
                if layer.has_commune() {
                    "<code>commune</code> selects by commune code."
                } else {
                    ""
                },
                layer.geometry,
                extent.map_or_else(
                    || "none (no features)".to_owned(),
                    |r| format!("{:.5}, {:.5}, {:.5}, {:.5}", r.min().x, r.min().y, r.max().x, r.max().y)
                ),
                html::link(
                    &with_f(&format!("{url}/items"), "", Format::Html),
                    "Browse the features"
                ),
                html::link(
                    &with_f(&format!("{url}/queryables"), "", Format::Html),
                    "Filter them (queryables)"
                ),
                html::table(&["name", "type", "unit", "values", "description"], &rows),
            );
            html_response(html::page(layer.title, &crumbs(&base, None), &body, &doc["links"]))
        }
    })
}
