//! The demo province on disk: one gzipped file of GeoJSON features per layer
//! (one feature per line), the readings as gzipped CSV, and a manifest.
//!
//! Output is byte-stable: keys in schema order, coordinates rounded to 1e-7°,
//! gzip with no timestamp and a fixed level.

use crate::{DemoError, DemoProvince, Manifest};
use agrimap_model::{Feature, FieldType, LayerDef, Reading, Value};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

/// Longest line accepted when reading (a commune outline is a few kB).
const MAX_LINE: usize = 8 * 1024 * 1024;

fn gz_writer(path: &Path) -> Result<GzEncoder<std::io::BufWriter<std::fs::File>>, DemoError> {
    let file = std::fs::File::create(path).map_err(|e| DemoError::io(path, e))?;
    Ok(flate2::GzBuilder::new()
        .mtime(0)
        .write(std::io::BufWriter::new(file), Compression::new(6)))
}

fn finish(path: &Path, w: GzEncoder<std::io::BufWriter<std::fs::File>>) -> Result<(), DemoError> {
    w.finish()
        .and_then(|mut b| b.flush())
        .map_err(|e| DemoError::io(path, e))
}

/// Writes every layer, the readings and the manifest into `dir`.
///
/// # Errors
/// When a file cannot be written.
pub fn write_dir(p: &DemoProvince, manifest: &Manifest, dir: &Path) -> Result<(), DemoError> {
    std::fs::create_dir_all(dir).map_err(|e| DemoError::io(dir, e))?;
    for (layer, features) in &p.layers {
        let path = dir.join(format!("{}.geojsonl.gz", layer.id));
        let mut w = gz_writer(&path)?;
        let mut line = String::new();
        for f in features {
            line.clear();
            feature_json(layer, f, &mut line);
            line.push('\n');
            w.write_all(line.as_bytes()).map_err(|e| DemoError::io(&path, e))?;
        }
        finish(&path, w)?;
    }
    let path = dir.join(HISTORY_FILE);
    let mut w = gz_writer(&path)?;
    let mut line = String::new();
    for c in &p.history {
        line.clear();
        let _ = write!(
            line,
            "{{\"date\":\"{}\",\"layer\":\"{}\",\"change\":\"{}\",\"key\":{},\"before\":",
            c.date,
            c.layer.id,
            c.kind.as_str(),
            serde_json::to_string(&c.key).expect("a key serialises")
        );
        match &c.before {
            Some(f) => feature_json(c.layer, f, &mut line),
            None => line.push_str("null"),
        }
        line.push_str("}\n");
        w.write_all(line.as_bytes()).map_err(|e| DemoError::io(&path, e))?;
    }
    finish(&path, w)?;
    let path = dir.join("readings.csv.gz");
    let mut w = gz_writer(&path)?;
    let mut text = String::from("station_id,parameter,value,unit,time\n");
    for r in &p.readings {
        let _ = writeln!(
            text,
            "{},{},{},{},{}",
            r.station_id, r.parameter, r.value, r.unit, r.time
        );
    }
    w.write_all(text.as_bytes()).map_err(|e| DemoError::io(&path, e))?;
    finish(&path, w)?;
    let path = dir.join("manifest.json");
    let mut json = serde_json::to_string_pretty(manifest).map_err(|e| DemoError::format(&path, 0, e.to_string()))?;
    json.push('\n');
    std::fs::write(&path, json).map_err(|e| DemoError::io(&path, e))
}

fn feature_json(layer: &LayerDef, f: &Feature, out: &mut String) {
    let geometry = geojson::Geometry::from(&f.geometry);
    let _ = write!(
        out,
        "{{\"type\":\"Feature\",\"id\":{},\"geometry\":{},\"properties\":{{",
        f.id,
        serde_json::to_string(&geometry).expect("geometry serialises")
    );
    let mut first = true;
    for (field, value) in layer.fields.iter().zip(&f.properties) {
        if value.is_null() {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        let _ = write!(
            out,
            "\"{}\":{}",
            field.name,
            serde_json::to_string(value).expect("value serialises")
        );
    }
    out.push_str("}}");
}

/// The file of the province's history.
const HISTORY_FILE: &str = "history.jsonl.gz";

/// Reads the province's history back (none when the directory has no
/// history file: a province made before it had one), checking every
/// version against its layer's schema.
///
/// # Errors
/// When the file cannot be read or a line is not a change.
pub fn read_history(dir: &Path) -> Result<Vec<crate::DemoChange>, DemoError> {
    let path = dir.join(HISTORY_FILE);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let file = std::fs::File::open(&path).map_err(|e| DemoError::io(&path, e))?;
    let reader = BufReader::new(GzDecoder::new(file));
    let mut out = Vec::new();
    for (number, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| DemoError::io(&path, e))?;
        let bad = |m: String| DemoError::format(&path, number + 1, m);
        let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        let field = |name: &str| v.get(name).and_then(serde_json::Value::as_str).map(str::to_owned);
        let (Some(date), Some(layer_id), Some(kind), Some(key)) =
            (field("date"), field("layer"), field("change"), field("key"))
        else {
            return Err(bad("a change needs date, layer, change and key".into()));
        };
        if !agrimap_model::calendar::is_date(&date) {
            return Err(bad(format!("'{date}' is not a date")));
        }
        let layer = agrimap_model::layer(&layer_id)
            .filter(|l| l.versioned())
            .ok_or_else(|| bad(format!("'{layer_id}' is not a layer that keeps its history")))?;
        let kind = crate::ChangeKind::parse(&kind).ok_or_else(|| bad(format!("'{kind}' is not a change")))?;
        let before = match v.get("before") {
            Some(serde_json::Value::Null) | None => None,
            Some(f) => Some(parse_feature(layer, &f.to_string()).map_err(bad)?),
        };
        if before.is_none() != (kind == crate::ChangeKind::Insert) {
            return Err(bad(
                "an update or removal gives the version it replaced, an insert none".into(),
            ));
        }
        out.push(crate::DemoChange {
            date,
            layer,
            kind,
            key,
            before,
        });
    }
    Ok(out)
}

/// Reads one layer back, checking every feature against the schema.
///
/// # Errors
/// When the file is missing or a line is not a valid feature of the layer.
pub fn read_layer(dir: &Path, layer: &'static LayerDef) -> Result<Vec<Feature>, DemoError> {
    let path = dir.join(format!("{}.geojsonl.gz", layer.id));
    let file = std::fs::File::open(&path).map_err(|e| DemoError::io(&path, e))?;
    let mut reader = BufReader::new(GzDecoder::new(file));
    let mut out = Vec::new();
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        number += 1;
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_line(&mut line)
            .map_err(|e| DemoError::io(&path, e))?;
        if n == 0 {
            break;
        }
        if n > MAX_LINE {
            return Err(DemoError::format(
                &path,
                number,
                format!("line longer than {MAX_LINE} bytes"),
            ));
        }
        let feature = parse_feature(layer, line.trim_end()).map_err(|m| DemoError::format(&path, number, m))?;
        out.push(feature);
    }
    Ok(out)
}

/// Reads one line of a layer file (one GeoJSON feature) and checks it against
/// the layer's schema.
///
/// # Errors
/// What is wrong with the line.
pub fn parse_feature(layer: &LayerDef, line: &str) -> Result<Feature, String> {
    let f: geojson::Feature = line.parse().map_err(|e: geojson::Error| e.to_string())?;
    let id = match &f.id {
        Some(geojson::feature::Id::Number(n)) => n.as_i64().ok_or("id is not an integer")?,
        _ => return Err("feature has no numeric id".into()),
    };
    let geometry = f.geometry.as_ref().ok_or("feature has no geometry")?;
    if !positions_complete(&geometry.value) {
        return Err("a position has fewer than two numbers (longitude, latitude)".into());
    }
    let geometry: geo::Geometry<f64> = geometry.try_into().map_err(|e: geojson::Error| e.to_string())?;
    let props = f.properties.unwrap_or_default();
    if let Some(unknown) = props.keys().find(|k| layer.field(k).is_none()) {
        return Err(format!("layer '{}' has no field '{unknown}'", layer.id));
    }
    let mut properties = Vec::with_capacity(layer.fields.len());
    for field in layer.fields {
        let v = match (props.get(field.name), field.ty) {
            (None | Some(serde_json::Value::Null), _) => Value::Null,
            (Some(serde_json::Value::String(s)), FieldType::Text | FieldType::Date | FieldType::DateTime) => {
                Value::Text(s.clone())
            }
            (Some(serde_json::Value::Number(n)), FieldType::Integer) => Value::Int(
                n.as_i64()
                    .ok_or_else(|| format!("field '{}' is not an integer", field.name))?,
            ),
            (Some(serde_json::Value::Number(n)), FieldType::Real) => Value::Real(n.as_f64().ok_or("bad number")?),
            (Some(serde_json::Value::Bool(b)), FieldType::Boolean) => Value::Bool(*b),
            (Some(other), ty) => return Err(format!("field '{}' expects {ty:?}, got {other}", field.name)),
        };
        properties.push(v);
    }
    let feature = Feature {
        id,
        geometry,
        properties,
    };
    layer.check_feature(&feature)?;
    Ok(feature)
}

/// Whether every position holds at least a longitude and a latitude: the
/// geojson crate reads shorter ones but panics converting them.
fn positions_complete(value: &geojson::GeometryValue) -> bool {
    use geojson::GeometryValue as G;
    let ok = |p: &geojson::Position| p.len() >= 2;
    match value {
        G::Point { coordinates } => ok(coordinates),
        G::MultiPoint { coordinates } | G::LineString { coordinates } => coordinates.iter().all(ok),
        G::MultiLineString { coordinates } | G::Polygon { coordinates } => coordinates.iter().flatten().all(ok),
        G::MultiPolygon { coordinates } => coordinates.iter().flatten().flatten().all(ok),
        G::GeometryCollection { geometries } => geometries.iter().all(|g| positions_complete(&g.value)),
    }
}

/// Reads the readings back.
///
/// # Errors
/// When the file is missing or a row is malformed.
pub fn read_readings(dir: &Path) -> Result<Vec<Reading>, DemoError> {
    let path = dir.join("readings.csv.gz");
    let file = std::fs::File::open(&path).map_err(|e| DemoError::io(&path, e))?;
    parse_readings(BufReader::new(GzDecoder::new(file)), &path)
}

/// Reads readings as CSV with the header `station_id,parameter,value,unit,time`;
/// `path` names the source in errors.
///
/// # Errors
/// When the text cannot be read or a row is malformed.
pub fn parse_readings(reader: impl BufRead, path: &Path) -> Result<Vec<Reading>, DemoError> {
    let mut out = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| DemoError::io(path, e))?;
        if i == 0 {
            if line != "station_id,parameter,value,unit,time" {
                return Err(DemoError::format(path, 1, "unexpected header".into()));
            }
            continue;
        }
        let cols: Vec<&str> = line.split(',').collect();
        let [station_id, parameter, value, unit, time] = cols[..] else {
            return Err(DemoError::format(
                path,
                i + 1,
                format!("expected 5 columns, got {}", cols.len()),
            ));
        };
        let value: f64 = value
            .parse()
            .map_err(|_| DemoError::format(path, i + 1, format!("'{value}' is not a number")))?;
        let time = agrimap_model::UtcTime::parse(time).map_err(|e| DemoError::format(path, i + 1, e))?;
        out.push(Reading {
            station_id: station_id.into(),
            parameter: parameter.into(),
            value,
            unit: unit.into(),
            time,
        });
    }
    Ok(out)
}

/// Reads the manifest.
///
/// # Errors
/// When it is missing or not a manifest.
pub fn read_manifest(dir: &Path) -> Result<Manifest, DemoError> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| DemoError::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| DemoError::format(&path, e.line(), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_without_a_latitude_are_refused() {
        let water = agrimap_model::layer("water").expect("water");
        for geometry in [
            r#"{"type":"Point","coordinates":[106.03]}"#,
            r#"{"type":"LineString","coordinates":[[106.03,9.89],[106.04]]}"#,
            r#"{"type":"Polygon","coordinates":[[[106.03,9.89],[106.04,9.89],[106.04],[106.03,9.89]]]}"#,
            r#"{"type":"MultiPolygon","coordinates":[[[[106.03,9.89],[],[106.04,9.9],[106.03,9.89]]]]}"#,
            r#"{"type":"GeometryCollection","geometries":[{"type":"MultiPoint","coordinates":[[1]]}]}"#,
        ] {
            let line = format!(r#"{{"type":"Feature","id":1,"geometry":{geometry},"properties":{{}}}}"#);
            // Refused, whether by the geojson crate or by the check before converting.
            let err = parse_feature(water, &line).expect_err("refused");
            assert!(err.contains("position"), "{geometry}: {err}");
        }
    }
}
