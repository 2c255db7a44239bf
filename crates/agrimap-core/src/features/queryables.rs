//! Queryables (OGC API – Features – Part 3): what a `filter` on a layer may
//! name, as a JSON Schema: the geometry and the public fields with their
//! types. Restricted fields are not queryable and not listed.

use agrimap_model::{Audience, FieldDef, FieldType, LayerDef, cql2};
use serde_json::{Map, Value as Json, json};

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
            "format": match layer.geometry {
                // OGC API - Features Part 3 names a mixed geometry `geometry-any`.
                agrimap_model::GeometryKind::PointOrLine => "geometry-any".to_owned(),
                kind => format!("geometry-{}", kind.ogc_name().to_ascii_lowercase()),
            },
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

/// A few filters on the layer's own fields, to show how filters are written.
#[must_use]
pub fn examples(layer: &LayerDef) -> Vec<String> {
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
