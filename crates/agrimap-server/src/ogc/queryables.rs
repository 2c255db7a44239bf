//! `/ogc/collections/{id}/queryables` (Part 3): what a `filter` on the
//! collection may name, as a JSON Schema: the geometry and the public fields
//! with their types. Restricted fields are not queryable and not listed.

use super::params::{self, Format, Params};
use super::{JSON, Ogc, collection_of, home, html, link, with_f};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use agrimap_model::{Audience, FieldDef, FieldType, LayerDef, cql2};
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde_json::{Map, Value as Json, json};

/// The media type of a JSON Schema.
pub const SCHEMA_JSON: &str = "application/schema+json";
/// The link relation of queryables (Part 3).
pub const REL_QUERYABLES: &str = "http://www.opengis.net/def/rel/ogc/1.0/queryables";

/// The JSON Schema of one public field.
fn property(f: &FieldDef) -> Json {
    let mut p = match f.ty {
        FieldType::Text => json!({ "type": "string" }),
        FieldType::Integer => json!({ "type": "integer" }),
        FieldType::Real => json!({ "type": "number" }),
        FieldType::Boolean => json!({ "type": "boolean" }),
        FieldType::Date => json!({ "type": "string", "format": "date" }),
        FieldType::DateTime => json!({ "type": "string", "format": "date-time" }),
    };
    p["title"] = json!(f.name);
    p["description"] = json!(f.description);
    if let Some(unit) = f.unit {
        p["x-ogc-unit"] = json!(unit);
    }
    if !f.values.is_empty() {
        p["enum"] = json!(f.values);
    }
    p
}

/// The queryables of a collection as a JSON Schema (2020-12).
#[must_use]
pub fn schema(layer: &LayerDef, url: &str) -> Json {
    let mut properties = Map::new();
    properties.insert(
        cql2::GEOMETRY.to_owned(),
        json!({
            "title": cql2::GEOMETRY,
            "description": "The feature's geometry (CRS84), for S_INTERSECTS",
            "format": format!("geometry-{}", layer.geometry.ogc_name().to_ascii_lowercase()),
            "x-ogc-role": "primary-geometry",
        }),
    );
    let fields: Vec<&FieldDef> = layer.readable_fields(Audience::Public).map(|(_, f)| f).collect();
    for f in &fields {
        properties.insert(f.name.to_owned(), property(f));
    }
    // Drafts of Part 3 listed queryables as an array of ids; GDAL's OGC API
    // driver still reads that list to decide which properties it may send in
    // a CQL filter. JSON Schema ignores the extra member.
    let listed: Vec<Json> = std::iter::once(json!({ "id": cql2::GEOMETRY }))
        .chain(
            fields
                .iter()
                .map(|f| json!({ "id": f.name, "type": property(f)["type"] })),
        )
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": url,
        "type": "object",
        "title": layer.title,
        "description": format!(
            "The properties a CQL2 filter on '{}' may use. Restricted fields are not queryable.",
            layer.id
        ),
        "properties": properties,
        "additionalProperties": false,
        "queryables": listed,
    })
}

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
    State(ogc): State<Ogc>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let layer = collection_of(&id)?;
    let params = Params::new(pairs)?;
    params.only(&["f"])?;
    let format = params::format(&params, &headers)?;
    let base = ogc.base(&headers);
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
                &[
                    home(&base),
                    (
                        with_f(&format!("{base}/collections"), "", Format::Html),
                        "Collections".to_owned(),
                    ),
                    (with_f(&collection, "", Format::Html), layer.id.to_owned()),
                ],
                &body,
                &links,
            ))
        }
    })
}

/// A few filters on the layer's own fields, for the HTML page.
fn examples(layer: &LayerDef) -> Vec<String> {
    let mut out = Vec::new();
    let public: Vec<&FieldDef> = layer.readable_fields(Audience::Public).map(|(_, f)| f).collect();
    if let Some(f) = public.iter().find(|f| !f.values.is_empty()) {
        out.push(format!("{} = '{}'", f.name, f.values[0]));
    }
    if let Some(f) = public
        .iter()
        .find(|f| matches!(f.ty, FieldType::Integer | FieldType::Real))
    {
        out.push(format!("{} >= 1", f.name));
    }
    if let Some(f) = public.iter().find(|f| f.ty == FieldType::Date) {
        out.push(format!("{} >= DATE('2026-01-01')", f.name));
    }
    out.push(format!(
        "S_INTERSECTS({}, BBOX(105.7, 9.8, 105.9, 10.0))",
        cql2::GEOMETRY
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queryables_are_the_public_fields_and_the_geometry() {
        for l in agrimap_model::catalog() {
            let doc = schema(l, "http://h/ogc/collections/x/queryables");
            let names: Vec<&str> = doc["properties"]
                .as_object()
                .expect("properties")
                .keys()
                .map(String::as_str)
                .collect();
            let mut want = cql2::queryables(l, Audience::Public);
            let mut got = names.clone();
            want.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, want, "{}", l.id);
            let listed = doc["queryables"].as_array().expect("queryables").len();
            assert_eq!(listed, names.len(), "{}", l.id);
        }
        let crop = schema(agrimap_model::layer("crop").expect("crop"), "u");
        assert_eq!(crop["properties"]["planting_date"]["format"], "date");
        assert_eq!(crop["properties"]["geometry"]["format"], "geometry-multipolygon");
        assert!(crop["properties"].get("owner_phone").is_none());
        for e in examples(agrimap_model::layer("crop").expect("crop")) {
            assert!(
                cql2::parse(&e, agrimap_model::layer("crop").expect("crop"), Audience::Public).is_ok(),
                "{e}"
            );
        }
    }
}
