//! The API definition: an OpenAPI 3.0 document with one path per collection,
//! so that each collection's parameters (`datetime` and `commune` where the
//! layer has them) and public properties are described exactly.

// The document is written as JSON literals: its builders take the values
// they place, and the functions that list paths and schemas are long lists.
#![allow(clippy::needless_pass_by_value, clippy::too_many_lines)]

use super::queryables::SCHEMA_JSON;
use super::{CONFORMANCE, CRS84, DESCRIPTION, GEOJSON, HTML, JSON, OPENAPI, TITLE, crs, html, time};
use agrimap_core::features::params::{DEFAULT_LIMIT, FILTER_CRS, FILTER_LANGS, MAX_LIMIT};
use agrimap_model::{Audience, FieldType, LayerDef, catalog};
use serde_json::{Map, Value as Json, json};
use std::fmt::Write as _;

/// OpenAPI's `$ref` to a component.
fn r(kind: &str, name: &str) -> Json {
    json!({ "$ref": format!("#/components/{kind}/{name}") })
}

/// The JSON schema of one field.
fn field_schema(f: &agrimap_model::FieldDef) -> Json {
    let mut s = match f.ty {
        FieldType::Text => json!({ "type": "string" }),
        FieldType::Integer => json!({ "type": "integer" }),
        FieldType::Real => json!({ "type": "number" }),
        FieldType::Boolean => json!({ "type": "boolean" }),
        FieldType::Date => json!({ "type": "string", "format": "date" }),
        FieldType::DateTime => json!({ "type": "string", "format": "date-time" }),
    };
    let description = match f.unit {
        Some(unit) => format!("{} ({unit})", f.description),
        None => f.description.to_owned(),
    };
    s["description"] = json!(description);
    if !f.values.is_empty() {
        s["enum"] = json!(f.values);
    }
    if !f.required {
        s["nullable"] = json!(true);
    }
    s
}

fn public_fields(layer: &LayerDef) -> Vec<&'static agrimap_model::FieldDef> {
    layer.readable_fields(Audience::Public).map(|(_, f)| f).collect()
}

/// `properties` of one collection: its public fields.
fn properties_param(layer: &LayerDef) -> Json {
    let names: Vec<&str> = public_fields(layer).iter().map(|f| f.name).collect();
    json!({
        "name": "properties",
        "in": "query",
        "required": false,
        "description": "The properties to return, comma-separated (all public properties by default; an empty list returns none).",
        "style": "form",
        "explode": false,
        "schema": { "type": "array", "items": { "type": "string", "enum": names } },
    })
}

fn responses(ok: Json) -> Json {
    json!({
        "200": ok,
        "400": r("responses", "InvalidParameter"),
        "404": r("responses", "NotFound"),
        "500": r("responses", "ServerError"),
        "503": r("responses", "ServiceUnavailable"),
    })
}

fn ok(description: &str, json_type: &str, schema: Json) -> Json {
    json!({
        "description": description,
        "content": {
            json_type: { "schema": schema },
            HTML: { "schema": { "type": "string" } },
        },
    })
}

fn operation(tag: &str, id: &str, summary: &str, description: &str, parameters: Vec<Json>, ok: Json) -> Json {
    json!({
        "get": {
            "tags": [tag],
            "operationId": id,
            "summary": summary,
            "description": description,
            "parameters": parameters,
            "responses": responses(ok),
        }
    })
}

fn collection_paths(layer: &LayerDef, paths: &mut Map<String, Json>, schemas: &mut Map<String, Json>) {
    let id = layer.id;
    let props: Map<String, Json> = public_fields(layer)
        .iter()
        .map(|f| (f.name.to_owned(), field_schema(f)))
        .collect();
    schemas.insert(
        format!("properties_{id}"),
        json!({ "type": "object", "properties": props }),
    );
    schemas.insert(
        format!("feature_{id}"),
        json!({ "allOf": [
            r("schemas", "featureGeoJSON"),
            { "type": "object", "properties": { "properties": r("schemas", &format!("properties_{id}")) } },
        ]}),
    );
    schemas.insert(
        format!("featureCollection_{id}"),
        json!({ "allOf": [
            r("schemas", "featureCollectionGeoJSON"),
            { "type": "object", "properties": {
                "features": { "type": "array", "items": r("schemas", &format!("feature_{id}")) },
            } },
        ]}),
    );

    paths.insert(
        format!("/collections/{id}"),
        operation(
            "Data",
            &format!("describeCollection_{id}"),
            &format!("The '{id}' collection ({})", layer.title),
            layer.description,
            vec![r("parameters", "f")],
            ok("The collection", JSON, r("schemas", "collection")),
        ),
    );

    let mut params = vec![
        r("parameters", "limit"),
        r("parameters", "offset"),
        r("parameters", "bbox"),
        r("parameters", "bbox-crs"),
        r("parameters", "crs"),
    ];
    let mut description = format!(
        "Features of '{id}' in feature-id order, public properties only. `bbox` selects features whose bounding box meets the box."
    );
    if let Some(t) = time::temporal(layer) {
        params.push(json!({
            "name": "datetime",
            "in": "query",
            "required": false,
            "description": format!(
                "An RFC 3339 date-time or date, or an interval start/end with '..' for an open end; selects by {}.",
                t.describe()
            ),
            "style": "form",
            "explode": false,
            "schema": { "type": "string" },
        }));
        let _ = write!(description, " `datetime` selects by {}.", t.describe());
    }
    if layer.versioned() {
        params.push(as_of_parameter());
        let _ = write!(
            description,
            " `as_of` gives the collection as it stood on a past day or at a past time."
        );
    }
    if layer.has_commune() {
        params.extend([
            r("parameters", "commune"),
            r("parameters", "boundary_set"),
            r("parameters", "province"),
        ]);
    }
    params.extend([
        r("parameters", "filter"),
        r("parameters", "filter-lang"),
        r("parameters", "filter-crs"),
    ]);
    let _ = write!(
        description,
        " `filter` selects by a CQL2 text expression over the queryables (/collections/{id}/queryables)."
    );
    params.push(properties_param(layer));
    params.push(r("parameters", "f"));
    paths.insert(
        format!("/collections/{id}/items"),
        with_content_crs(operation(
            "Data",
            &format!("getFeatures_{id}"),
            &format!("Features of '{id}'"),
            &description,
            params,
            ok(
                "A page of features, with a `next` link while more match",
                GEOJSON,
                r("schemas", &format!("featureCollection_{id}")),
            ),
        )),
    );
    paths.insert(
        format!("/collections/{id}/queryables"),
        json!({
            "get": {
                "tags": ["Data"],
                "operationId": format!("getQueryables_{id}"),
                "summary": format!("Queryables of '{id}'"),
                "description": "The properties a filter on the collection may name, as a JSON Schema: the geometry and the public fields.",
                "parameters": [r("parameters", "f")],
                "responses": responses(json!({
                    "description": "The queryables",
                    "content": {
                        SCHEMA_JSON: { "schema": { "type": "object" } },
                        HTML: { "schema": { "type": "string" } },
                    },
                })),
            }
        }),
    );
    let mut one = vec![
        r("parameters", "featureId"),
        properties_param(layer),
        r("parameters", "crs"),
        r("parameters", "f"),
    ];
    if layer.versioned() {
        one.push(as_of_parameter());
    }
    paths.insert(
        format!("/collections/{id}/items/{{featureId}}"),
        with_content_crs(operation(
            "Data",
            &format!("getFeature_{id}"),
            &format!("One feature of '{id}'"),
            "One feature by its id, public properties only.",
            one,
            ok("The feature", GEOJSON, r("schemas", &format!("feature_{id}"))),
        )),
    );
}

/// Documents the `Content-Crs` header of an operation's answer (Part 2).
fn with_content_crs(mut operation: Json) -> Json {
    operation["get"]["responses"]["200"]["headers"] = json!({
        "Content-Crs": {
            "description": "The URI of the CRS of the geometries, in angle brackets.",
            "schema": { "type": "string" },
        },
    });
    operation
}

fn error_response(description: &str) -> Json {
    json!({
        "description": description,
        "content": { JSON: { "schema": r("schemas", "exception") } },
    })
}

/// The OpenAPI 3.0 document of the service at `base` (`…/ogc`).
#[must_use]
pub fn document(base: &str) -> Json {
    let mut paths = Map::new();
    paths.insert(
        "/".into(),
        operation(
            "Capabilities",
            "getLandingPage",
            "Landing page",
            "Links to the API definition, the conformance classes and the collections.",
            vec![r("parameters", "f")],
            ok("The landing page", JSON, r("schemas", "landingPage")),
        ),
    );
    paths.insert(
        "/conformance".into(),
        operation(
            "Capabilities",
            "getConformanceDeclaration",
            "Conformance classes",
            "The conformance classes of OGC API – Features this service implements.",
            vec![r("parameters", "f")],
            ok("The conformance classes", JSON, r("schemas", "confClasses")),
        ),
    );
    paths.insert(
        "/api".into(),
        operation(
            "Capabilities",
            "getAPI",
            "API definition",
            "This document (JSON), or a summary of it (HTML).",
            vec![r("parameters", "f")],
            ok("The API definition", OPENAPI, json!({ "type": "object" })),
        ),
    );
    paths.insert(
        "/collections".into(),
        operation(
            "Capabilities",
            "getCollections",
            "Collections",
            "Every layer of the catalog, with its spatial extent.",
            vec![r("parameters", "f")],
            ok("The collections", JSON, r("schemas", "collections")),
        ),
    );
    let mut schemas = base_schemas();
    for layer in catalog() {
        collection_paths(layer, &mut paths, &mut schemas);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": TITLE,
            "description": DESCRIPTION,
            "version": env!("CARGO_PKG_VERSION"),
            "license": { "name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0" },
        },
        "servers": [{ "url": base, "description": "This service" }],
        "tags": [
            { "name": "Capabilities", "description": "What the service offers" },
            { "name": "Data", "description": "The collections and their features" },
        ],
        "paths": paths,
        "components": {
            "parameters": parameters(),
            "schemas": schemas,
            "responses": {
                "InvalidParameter": error_response("A query parameter is unknown, repeated or has a bad value"),
                "NotFound": error_response("No such collection or feature"),
                "ServerError": error_response("The server failed"),
                "ServiceUnavailable": error_response("The data store is not answering"),
            },
        },
    })
}

fn parameters() -> Json {
    json!({
        "f": {
            "name": "f",
            "in": "query",
            "required": false,
            "description": "The format of the answer; without it, the Accept header decides (JSON by default).",
            "style": "form",
            "explode": false,
            "schema": { "type": "string", "enum": ["json", "html"] },
        },
        "limit": {
            "name": "limit",
            "in": "query",
            "required": false,
            "description": format!("The most features to return; larger values return {MAX_LIMIT}."),
            "style": "form",
            "explode": false,
            "schema": { "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT },
        },
        "offset": {
            "name": "offset",
            "in": "query",
            "required": false,
            "description": "The features to skip, in feature-id order (the next links set it).",
            "style": "form",
            "explode": false,
            "schema": { "type": "integer", "minimum": 0, "default": 0 },
        },
        "bbox": {
            "name": "bbox",
            "in": "query",
            "required": false,
            "description": "West, south, east, north in degrees (CRS84), or six numbers with heights (ignored). \
                A west greater than east crosses the antimeridian.",
            "style": "form",
            "explode": false,
            "schema": {
                "type": "array",
                "minItems": 4,
                "maxItems": 6,
                "items": { "type": "number" },
            },
        },
        "bbox-crs": {
            "name": "bbox-crs",
            "in": "query",
            "required": false,
            "description": "The CRS bbox is given in, in its axis order: CRS84 (the default; west, south, east, north), \
                EPSG:4326 (south, west, north, east) or a VN-2000 CRS (eastings and northings in metres).",
            "style": "form",
            "explode": false,
            "schema": { "type": "string", "format": "uri", "enum": crs::supported(), "default": CRS84 },
        },
        "crs": {
            "name": "crs",
            "in": "query",
            "required": false,
            "description": "The CRS of the geometries answered, named back in the Content-Crs header: CRS84 \
                (the default; longitude, latitude), EPSG:4326 (latitude, longitude) or a VN-2000 CRS \
                (EPSG:3405 and 3406, UTM zones 48N and 49N; TM-3 zones: easting, northing in metres).",
            "style": "form",
            "explode": false,
            "schema": { "type": "string", "format": "uri", "enum": crs::supported(), "default": CRS84 },
        },
        "commune": {
            "name": "commune",
            "in": "query",
            "required": false,
            "description": "Official commune code: features whose commune_code is this code; of a 2025 \
                commune, with the official crosswalk loaded, also the features coded by the pre-2025 communes that \
                went wholly into it, and those coded by one split among several 2025 communes that lie in it.",
            "style": "form",
            "explode": false,
            "schema": { "type": "string" },
        },
        "boundary_set": {
            "name": "boundary_set",
            "in": "query",
            "required": false,
            "description": "The boundary set the commune code belongs to (before or after the 2025 reform); \
                by default the newest set that has the code.",
            "style": "form",
            "explode": false,
            "schema": { "type": "string", "enum": ["pre-2025", "2025"] },
        },
        "province": {
            "name": "province",
            "in": "query",
            "required": false,
            "description": "Official province code: features whose commune lies in this province, in any \
                boundary set held, and (once the official crosswalk is loaded) those still coded by communes of the \
                pre-2025 provinces merged into it; of the administrative collections, the communes and districts of \
                the province and the province itself, with the pre-2025 units merged into it.",
            "style": "form",
            "explode": false,
            "schema": { "type": "string" },
        },
        "filter": {
            "name": "filter",
            "in": "query",
            "required": false,
            "description": "A CQL2 text filter over the collection's queryables: comparisons (=, <>, <, <=, >, >=), \
                AND, OR, NOT, LIKE (case-sensitive; % any run, _ one character, \\ escapes), IN, BETWEEN, \
                IS [NOT] NULL, DATE('YYYY-MM-DD'), TIMESTAMP('YYYY-MM-DDTHH:MM:SSZ') and \
                S_INTERSECTS(geometry, BBOX(…) or WKT) in filter-crs (CRS84 by default), exactly. Example: stars >= 4 AND category = 'food'.",
            "style": "form",
            "explode": false,
            "schema": { "type": "string" },
        },
        "filter-lang": {
            "name": "filter-lang",
            "in": "query",
            "required": false,
            "description": "The language of filter: CQL2 text (cql-text is its name in drafts of Part 3).",
            "style": "form",
            "explode": false,
            "schema": { "type": "string", "enum": FILTER_LANGS, "default": "cql2-text" },
        },
        "filter-crs": {
            "name": "filter-crs",
            "in": "query",
            "required": false,
            "description": "The CRS of the filter's geometries, in its axis order: CRS84 (the default), \
                EPSG:4326 (latitude first) or a VN-2000 CRS (metres).",
            "style": "form",
            "explode": false,
            "schema": { "type": "string", "format": "uri", "enum": crs::supported(), "default": FILTER_CRS },
        },
        "featureId": {
            "name": "featureId",
            "in": "path",
            "required": true,
            "description": "The id of a feature (an integer assigned by the store).",
            "schema": { "type": "string" },
        },
    })
}

fn base_schemas() -> Map<String, Json> {
    let links = json!({ "type": "array", "items": r("schemas", "link") });
    let schemas = json!({
        "link": {
            "type": "object",
            "required": ["href", "rel"],
            "properties": {
                "href": { "type": "string" },
                "rel": { "type": "string" },
                "type": { "type": "string" },
                "hreflang": { "type": "string" },
                "title": { "type": "string" },
                "length": { "type": "integer" },
            },
        },
        "landingPage": {
            "type": "object",
            "required": ["links"],
            "properties": {
                "title": { "type": "string" },
                "description": { "type": "string" },
                "links": links,
            },
        },
        "confClasses": {
            "type": "object",
            "required": ["conformsTo"],
            "properties": {
                "conformsTo": { "type": "array", "items": { "type": "string" }, "example": CONFORMANCE },
            },
        },
        "extent": {
            "type": "object",
            "properties": {
                "spatial": {
                    "type": "object",
                    "properties": {
                        "bbox": {
                            "type": "array",
                            "minItems": 1,
                            "items": { "type": "array", "minItems": 4, "maxItems": 6, "items": { "type": "number" } },
                        },
                        "crs": { "type": "string", "enum": [CRS84], "default": CRS84 },
                    },
                },
            },
        },
        "collection": {
            "type": "object",
            "required": ["id", "links"],
            "properties": {
                "id": { "type": "string" },
                "title": { "type": "string" },
                "description": { "type": "string" },
                "keywords": { "type": "array", "items": { "type": "string" } },
                "links": links,
                "extent": r("schemas", "extent"),
                "itemType": { "type": "string", "default": "feature" },
                "crs": { "type": "array", "items": { "type": "string" }, "default": [CRS84] },
                "storageCrs": { "type": "string", "default": CRS84 },
            },
        },
        "collections": {
            "type": "object",
            "required": ["links", "collections"],
            "properties": {
                "links": links,
                "collections": { "type": "array", "items": r("schemas", "collection") },
            },
        },
        "geometryGeoJSON": {
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {
                    "type": "string",
                    "enum": ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"],
                },
                "coordinates": { "type": "array", "items": {} },
                "geometries": { "type": "array", "items": r("schemas", "geometryGeoJSON") },
            },
        },
        "featureGeoJSON": {
            "type": "object",
            "required": ["type", "geometry", "properties"],
            "properties": {
                "type": { "type": "string", "enum": ["Feature"] },
                "id": { "type": "integer" },
                "geometry": r("schemas", "geometryGeoJSON"),
                "properties": { "type": "object", "nullable": true },
                "links": links,
            },
        },
        "featureCollectionGeoJSON": {
            "type": "object",
            "required": ["type", "features"],
            "properties": {
                "type": { "type": "string", "enum": ["FeatureCollection"] },
                "features": { "type": "array", "items": r("schemas", "featureGeoJSON") },
                "links": links,
                "timeStamp": { "type": "string", "format": "date-time" },
                "numberMatched": { "type": "integer", "minimum": 0 },
                "numberReturned": { "type": "integer", "minimum": 0 },
            },
        },
        "exception": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": { "type": "string" },
                        "message": { "type": "string" },
                    },
                },
            },
        },
    });
    match schemas {
        Json::Object(map) => map,
        _ => Map::new(),
    }
}

/// The API definition as an HTML summary: each path, what it does and its parameters.
#[must_use]
pub fn html(doc: &Json) -> String {
    let Some(paths) = doc["paths"].as_object() else {
        return String::new();
    };
    let rows: Vec<Vec<String>> = paths
        .iter()
        .map(|(path, item)| {
            let get = &item["get"];
            let params: Vec<String> = get["parameters"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|p| {
                    let name = p["name"].as_str().map_or_else(
                        || {
                            p["$ref"]
                                .as_str()
                                .and_then(|r| r.rsplit('/').next())
                                .unwrap_or("")
                                .to_owned()
                        },
                        str::to_owned,
                    );
                    format!("<code>{}</code>", html::escape(&name))
                })
                .collect();
            vec![
                format!("<code>GET {}</code>", html::escape(path)),
                html::escape(get["summary"].as_str().unwrap_or("")),
                html::escape(get["description"].as_str().unwrap_or("")),
                params.join(" "),
            ]
        })
        .collect();
    let server = doc["servers"][0]["url"].as_str().unwrap_or("");
    format!(
        "<p>{}</p>\n<p>Paths are relative to <code>{}</code>. The full definition is {}.</p>\n{}",
        html::escape(doc["info"]["description"].as_str().unwrap_or("")),
        html::escape(server),
        html::link(&format!("{server}/api?f=json"), "OpenAPI 3.0 JSON"),
        html::table(&["path", "summary", "description", "parameters"], &rows),
    )
}

/// `as_of` on the items of a collection that keeps its history.
fn as_of_parameter() -> Json {
    json!({
        "name": "as_of",
        "in": "query",
        "required": false,
        "description": "The collection as it stood then: a date (YYYY-MM-DD, the end of that day in UTC) or an RFC 3339 date-time; not in the future. Unlike datetime, which selects by the features' own time, this selects the version of each feature valid then.",
        "style": "form",
        "explode": false,
        "schema": { "type": "string" },
    })
}
