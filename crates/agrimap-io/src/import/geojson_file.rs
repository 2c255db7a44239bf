//! GeoJSON (RFC 7946) read in pure Rust, for builds without GDAL: always
//! UTF-8, in WGS 84 longitude/latitude or in the CRS its old `crs` member
//! names (which the import reprojects when it is one of the VN-2000 CRSs
//! `crate::crs` knows; any other needs GDAL).

use super::error::ImportError;
use super::source::{SourceData, SourceRecord, SourceValue};
use serde_json::Value as Json;

/// Names of a `crs` member that still mean WGS 84 longitude/latitude.
const WGS84_NAMES: &[&str] = &[
    "urn:ogc:def:crs:OGC:1.3:CRS84",
    "urn:ogc:def:crs:OGC::CRS84",
    "EPSG:4326",
    "urn:ogc:def:crs:EPSG::4326",
];

fn value(v: &Json) -> SourceValue {
    match v {
        Json::Null => SourceValue::Null,
        Json::Bool(b) => SourceValue::Text(b.to_string()),
        Json::Number(n) => n
            .as_i64()
            .map_or_else(|| SourceValue::Real(n.as_f64().unwrap_or(f64::NAN)), SourceValue::Int),
        Json::String(s) => SourceValue::Text(s.clone()),
        other => SourceValue::Text(other.to_string()),
    }
}

/// Whether every position under `coordinates` has a longitude and a
/// latitude: the geojson crate reads shorter ones but panics converting them.
fn positions_complete(v: &Json) -> bool {
    match v {
        Json::Array(items) if items.iter().all(Json::is_number) => items.len() >= 2,
        Json::Array(items) => items.iter().all(positions_complete),
        _ => false,
    }
}

fn geometry(g: &Json) -> Result<geo::Geometry<f64>, String> {
    let complete = match g.get("geometries").and_then(Json::as_array) {
        Some(parts) => parts
            .iter()
            .all(|p| p.get("coordinates").is_some_and(positions_complete)),
        None => g.get("coordinates").is_some_and(positions_complete),
    };
    if !complete {
        return Err("a position has fewer than two numbers (longitude, latitude)".into());
    }
    let g: geojson::Geometry = serde_json::from_value(g.clone()).map_err(|e| e.to_string())?;
    geo::Geometry::<f64>::try_from(&g.value).map_err(|e| e.to_string())
}

/// Reads a GeoJSON FeatureCollection (or a single Feature).
///
/// # Errors
/// When the bytes are not UTF-8 GeoJSON, or declare a CRS other than WGS 84.
pub fn read(bytes: &[u8], file: &str) -> Result<SourceData, ImportError> {
    let unreadable = |reason: String| ImportError::Unreadable {
        file: file.to_owned(),
        format: "GeoJSON".into(),
        reason,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ImportError::Encoding(format!(
            "'{file}' is not UTF-8 (invalid byte at {}), which GeoJSON must be",
            e.valid_up_to()
        ))
    })?;
    let doc: Json = serde_json::from_str(text).map_err(|e| unreadable(e.to_string()))?;
    let crs = match doc.pointer("/crs/properties/name").and_then(Json::as_str) {
        Some(name) if !WGS84_NAMES.contains(&name) => name.to_owned(),
        _ => "EPSG:4326".to_owned(),
    };
    let features: Vec<&Json> = match doc.get("type").and_then(Json::as_str) {
        Some("FeatureCollection") => doc
            .get("features")
            .and_then(Json::as_array)
            .ok_or_else(|| unreadable("a FeatureCollection without a 'features' list".into()))?
            .iter()
            .collect(),
        Some("Feature") => vec![&doc],
        Some(other) => {
            return Err(unreadable(format!(
                "a GeoJSON {other}, not a Feature or FeatureCollection"
            )));
        }
        None => return Err(unreadable("not GeoJSON: no 'type' member".into())),
    };
    let mut fields: Vec<String> = Vec::new();
    for f in &features {
        if let Some(props) = f.get("properties").and_then(Json::as_object) {
            for k in props.keys() {
                if !fields.contains(k) {
                    fields.push(k.clone());
                }
            }
        }
    }
    let records = features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let fid = match f.get("id") {
                Some(Json::String(s)) => s.clone(),
                Some(Json::Number(n)) => n.to_string(),
                _ => i.to_string(),
            };
            let props = f.get("properties").and_then(Json::as_object);
            let values = fields
                .iter()
                .map(|k| props.and_then(|p| p.get(k)).map_or(SourceValue::Null, value))
                .collect();
            let geometry = match f.get("geometry") {
                None | Some(Json::Null) => Err("the feature has no geometry".to_owned()),
                Some(g) => geometry(g).map_err(|e| format!("unreadable geometry: {e}")),
            };
            SourceRecord {
                fid,
                geometry,
                repaired: None,
                values,
            }
        })
        .collect();
    Ok(SourceData {
        fields,
        records,
        crs,
        format: "GeoJSON".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_fields_and_ids_are_read() {
        let doc = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[105.5,10.2]},"properties":{"name":"Bưởi Năm Roi","stars":4}},
          {"type":"Feature","geometry":null,"properties":{"producer":"HTX Mỹ Xương"}}]}"#;
        let data = read(doc.as_bytes(), "x.geojson").expect("read");
        assert_eq!(data.fields, vec!["name", "stars", "producer"]);
        assert_eq!(data.records[0].fid, "a");
        assert_eq!(data.records[0].values[1], SourceValue::Int(4));
        assert_eq!(data.records[1].fid, "1");
        assert!(data.records[1].geometry.is_err());
    }

    #[test]
    fn broken_files_are_named() {
        let e = read(
            br#"{"type":"FeatureCollection","features":[{"type":"Fea"#,
            "cut.geojson",
        )
        .expect_err("cut");
        assert!(e.to_string().contains("'cut.geojson' cannot be read as GeoJSON"), "{e}");
        let e = read(
            b"{\"type\":\"FeatureCollection\",\"features\":[],\"name\":\"\xd0\xf4\xcc\"}",
            "x.geojson",
        )
        .expect_err("latin");
        assert!(matches!(e, ImportError::Encoding(_)), "{e}");
        let data = read(
            br#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3405"}},"features":[]}"#,
            "vn2000.geojson",
        )
        .expect("a CRS the import reprojects");
        assert_eq!(data.crs, "urn:ogc:def:crs:EPSG::3405");
    }
}
