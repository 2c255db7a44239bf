//! `/ogc/collections/{id}/queryables` (Part 3): what a `filter` on the
//! collection may name, as a JSON Schema ([`agrimap_core::features::queryables`])
//! or an HTML page. Restricted fields are not queryable and not listed.

use super::request::{Format, OgcRequest};
use super::{JSON, crumbs, html, link, with_f};
use crate::error::ApiError;
use agrimap_core::features::params;
use agrimap_core::features::queryables::{examples, schema};
use agrimap_model::{Audience, LayerDef, cql2};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde_json::{Value as Json, json};

/// The media type of a JSON Schema.
pub const SCHEMA_JSON: &str = "application/schema+json";
/// The link relation of queryables (Part 3).
pub const REL_QUERYABLES: &str = "http://www.opengis.net/def/rel/ogc/1.0/queryables";

/// `application/json` for clients that ask for JSON and not for JSON Schema
/// (GDAL), `application/schema+json` otherwise.
fn media_type(headers: &HeaderMap) -> &'static str {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !accept.contains(SCHEMA_JSON) && (accept.contains(JSON) || accept.contains(super::GEOJSON)) {
        JSON
    } else {
        SCHEMA_JSON
    }
}

/// `GET /ogc/collections/{id}/queryables`.
pub(super) async fn queryables(
    headers: HeaderMap,
    OgcRequest {
        collection: layer,
        format,
        base,
        ..
    }: OgcRequest<&'static LayerDef>,
) -> Result<Response, ApiError> {
    let collection = format!("{base}/collections/{}", layer.id);
    let url = format!("{collection}/queryables");
    let doc = schema(layer, &url);
    Ok(match format {
        Format::Json => super::json_response(&doc, media_type(&headers)),
        Format::Html => {
            // In schema order (the JSON object's keys need not keep it).
            let rows: Vec<Vec<String>> = cql2::queryables(layer, Audience::Public)
                .into_iter()
                .map(|name| {
                    let p = &doc["properties"][name];
                    let ty = p["format"].as_str().or_else(|| p["type"].as_str()).unwrap_or("");
                    let values = p["enum"].as_array().map_or_else(String::new, |v| {
                        v.iter().filter_map(Json::as_str).collect::<Vec<_>>().join(", ")
                    });
                    vec![
                        format!("<code>{}</code>", html::escape(name)),
                        html::escape(ty),
                        html::escape(p["x-ogc-unit"].as_str().unwrap_or("")),
                        html::escape(&values),
                        html::escape(p["description"].as_str().unwrap_or("")),
                    ]
                })
                .collect();
            let links = json!([
                link(
                    "self",
                    super::HTML,
                    "The queryables as HTML",
                    with_f(&url, "", Format::Html)
                ),
                link(
                    "alternate",
                    SCHEMA_JSON,
                    "The queryables as JSON Schema",
                    with_f(&url, "", Format::Json)
                ),
                link("collection", JSON, layer.title, with_f(&collection, "", Format::Json)),
            ]);
            let body = format!(
                "<p>The properties a <code>filter</code> on <code>{id}</code> may use, in CQL2 text \
                 (<code>filter-lang=cql2-text</code>, the default). For example: {examples}.</p>\n\
                 <p>Comparisons (<code>=</code>, <code>&lt;&gt;</code>, <code>&lt;</code>, <code>&lt;=</code>, \
                 <code>&gt;</code>, <code>&gt;=</code>), <code>AND</code>, <code>OR</code>, <code>NOT</code>, \
                 <code>LIKE</code> (case-sensitive; <code>%</code> any run, <code>_</code> one character, \
                 <code>\\</code> escapes), <code>IN</code>, <code>BETWEEN</code>, <code>IS [NOT] NULL</code>, \
                 <code>DATE('…')</code>, <code>TIMESTAMP('…Z')</code> and \
                 <code>S_INTERSECTS(geometry, BBOX(…) or WKT)</code> in CRS84.</p>\n{table}<p>{items}</p>\n",
                id = html::escape(layer.id),
                examples = examples(layer)
                    .iter()
                    .map(|e| html::link(
                        &with_f(
                            &format!("{collection}/items"),
                            &format!("filter={}", params::encode(e)),
                            Format::Html
                        ),
                        e
                    ))
                    .collect::<Vec<_>>()
                    .join(", "),
                table = html::table(&["name", "type", "unit", "values", "description"], &rows),
                items = html::link(
                    &with_f(&format!("{collection}/items"), "", Format::Html),
                    "The features"
                ),
            );
            super::html_response(html::page(
                &format!("{}: queryables", layer.title),
                &crumbs(&base, Some(layer)),
                &body,
                &links,
            ))
        }
    })
}
