//! Any vector file GDAL reads, reprojected to WGS 84 longitude/latitude
//! through PROJ, with invalid geometries repaired by GDAL's MakeValid (GEOS).
//!
//! VN-2000: PROJ knows two transformations to WGS 84, the official one of
//! the Ministry of Natural Resources and Environment (Decision
//! 05/2007/QĐ-BTNMT, EPSG "VN-2000 to WGS 84 (2)", all of Vietnam) and an
//! older one for two Mekong-delta blocks (EPSG "(1)"), and picks the older
//! one for points inside those blocks: a metre off the official figures in
//! the provinces this service is for. Every CRS on the VN-2000 datum is
//! therefore given the official seven parameters as its TOWGS84 (in PROJ's
//! position-vector convention: the published rotations with their signs
//! turned, as the published values are coordinate-frame), so all points
//! take the official shift.

use super::cp1258;
use super::csv_file::{LAT_COLUMNS, LON_COLUMNS, WKT_COLUMNS};
use super::error::ImportError;
use super::source::{SourceData, SourceRecord, SourceValue};
use gdal::cpl::CslStringList;
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::vector::{FieldValue, Geometry, LayerAccess};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags, Metadata};
use std::path::Path;

/// The official VN-2000 → WGS 84 parameters as a PROJ `+towgs84`
/// (position vector: metres, arc-seconds, parts per million).
pub const VN2000_TOWGS84: &str =
    "-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278";

/// What a GDAL read needs besides the file.
#[derive(Debug, Clone, Default)]
pub struct GdalRead<'a> {
    /// The CRS of the file when it does not say, or says wrongly (`EPSG:3405`).
    pub srs: Option<&'a str>,
    /// The code page of a Shapefile's `.dbf` when it has no `.cpg` (`CP1258`).
    pub encoding: Option<&'a str>,
    /// The layer to read, of a file with several (a GeoPackage's tables, a
    /// KML's folders).
    pub layer: Option<&'a str>,
}

thread_local! {
    /// GDAL's errors on this thread since they were last taken.
    static GDAL_ERRORS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Routes GDAL's error messages to the thread that raised them (GDAL calls
/// the handler there), instead of standard error: a record GDAL could not
/// read (a `.shp` cut short) is then refused with GDAL's own words.
fn capture_gdal_errors() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        gdal::config::set_error_handler(|class, _, message| match class {
            gdal::errors::CplErrType::Failure | gdal::errors::CplErrType::Fatal => {
                GDAL_ERRORS.with(|e| e.borrow_mut().push(message.trim().to_owned()));
            }
            gdal::errors::CplErrType::Warning => tracing::warn!(message, "GDAL"),
            _ => tracing::debug!(message, "GDAL"),
        });
    });
}

/// GDAL's errors on this thread since the last call, leaving out those about
/// asking a missing geometry whether it is empty.
fn take_gdal_errors() -> Vec<String> {
    GDAL_ERRORS
        .with(|e| std::mem::take(&mut *e.borrow_mut()))
        .into_iter()
        .filter(|m| !m.contains("is NULL in"))
        .collect()
}

fn gdal_message(e: &gdal::errors::GdalError) -> String {
    let text = e.to_string();
    // GDAL repeats the file name; the caller already names the file.
    agrimap_model::echo(text.trim(), 300)
}

/// The path GDAL opens: a zip (a zipped Shapefile) is read through `/vsizip/`.
fn gdal_path(path: &Path) -> String {
    let p = path.display().to_string();
    if p.to_lowercase().ends_with(".zip") {
        format!("/vsizip/{p}")
    } else {
        p
    }
}

/// Whether a CRS is on the VN-2000 datum.
fn is_vn2000(srs: &SpatialRef) -> bool {
    srs.to_wkt()
        .is_ok_and(|w| w.contains("Vietnam_2000") || w.contains("Vietnam 2000") || w.contains("VN-2000"))
}

/// The CRS to transform from, with the official VN-2000 shift where it applies.
fn source_crs(srs: SpatialRef) -> Result<SpatialRef, ImportError> {
    let mut srs = if is_vn2000(&srs) {
        let proj4 = srs.to_proj4().map_err(|e| ImportError::UnknownCrs {
            crs: srs.name().unwrap_or_default(),
            reason: gdal_message(&e),
        })?;
        let without: Vec<&str> = proj4
            .split_whitespace()
            .filter(|t| !t.starts_with("+towgs84=") && !t.starts_with("+datum="))
            .collect();
        let forced = format!("{} +towgs84={VN2000_TOWGS84}", without.join(" "));
        SpatialRef::from_proj4(&forced).map_err(|e| ImportError::UnknownCrs {
            crs: forced.clone(),
            reason: gdal_message(&e),
        })?
    } else {
        srs
    };
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    Ok(srs)
}

/// A short name of a CRS for the report (`EPSG:3405`, or its name).
fn crs_label(srs: &SpatialRef) -> String {
    let mut probe = srs.clone();
    let _ = probe.auto_identify_epsg();
    match (probe.auth_name(), probe.auth_code()) {
        (Some(name), Ok(code)) => format!("{name}:{code}"),
        _ => srs.name().unwrap_or_else(|| "unnamed CRS".into()),
    }
}

/// One value; dates and times in ISO 8601 (chrono's `Debug` form, as the
/// crate is built without its formatting features).
fn value(v: Option<FieldValue>) -> SourceValue {
    let join = |items: Vec<String>| SourceValue::Text(items.join(","));
    match v {
        None => SourceValue::Null,
        Some(FieldValue::IntegerValue(i)) => SourceValue::Int(i.into()),
        Some(FieldValue::Integer64Value(i)) => SourceValue::Int(i),
        Some(FieldValue::RealValue(r)) => SourceValue::Real(r),
        Some(FieldValue::StringValue(s)) => SourceValue::Text(s),
        Some(FieldValue::DateValue(d)) => SourceValue::Date(format!("{d:?}")),
        Some(FieldValue::DateTimeValue(t)) => SourceValue::DateTime(format!("{t:?}")),
        Some(FieldValue::IntegerListValue(l)) => join(l.iter().map(ToString::to_string).collect()),
        Some(FieldValue::Integer64ListValue(l)) => join(l.iter().map(ToString::to_string).collect()),
        Some(FieldValue::RealListValue(l)) => join(l.iter().map(ToString::to_string).collect()),
        Some(FieldValue::StringListValue(l)) => join(l),
    }
}

/// Repairs, reprojects and converts one geometry; the note says what was repaired.
fn geometry(g: Option<&Geometry>, transform: &CoordTransform) -> (Result<geo::Geometry<f64>, String>, Option<String>) {
    let Some(g) = g.filter(|g| !g.is_empty()) else {
        return (Err("the feature has no geometry".into()), None);
    };
    let mut repaired = None;
    let valid = if g.is_valid() {
        g.clone()
    } else {
        let mut opts = CslStringList::new();
        // STRUCTURE keeps polygons polygons (a bow tie becomes two
        // triangles) instead of LINEWORK's mix of lines and polygons.
        if opts.set_name_value("METHOD", "STRUCTURE").is_err() {
            return (Err("GDAL refused the repair options".into()), None);
        }
        match g.make_valid(&opts) {
            Ok(fixed) if !fixed.is_empty() => {
                repaired = Some(format!(
                    "invalid {} (self-intersecting or badly nested rings) repaired with GEOS MakeValid",
                    g.geometry_name()
                ));
                fixed
            }
            _ => {
                return (
                    Err(format!("invalid {} that cannot be repaired", g.geometry_name())),
                    None,
                );
            }
        }
    };
    let converted = valid
        .transform(transform)
        .map_err(|e| format!("cannot be reprojected to WGS 84: {}", gdal_message(&e)))
        .and_then(|t| t.iso_wkb().map_err(|e| gdal_message(&e)))
        .and_then(|wkb| {
            agrimap_store::wkb::read_wkb(&wkb)
                .map_err(|e| format!("a {} agrimap cannot hold: {e}", valid.geometry_name()))
        });
    (converted, repaired)
}

/// Opens `path` for reading; `own_cp1258` reads text as Latin-1 for [`cp1258`].
fn open(
    path: &Path,
    file: &str,
    is_csv: bool,
    encoding: Option<&str>,
    own_cp1258: bool,
) -> Result<Dataset, ImportError> {
    let mut options: Vec<String> = Vec::new();
    if is_csv {
        options.push(format!("GEOM_POSSIBLE_NAMES={}", WKT_COLUMNS.join(",")));
        options.push(format!("X_POSSIBLE_NAMES={}", LON_COLUMNS.join(",")));
        options.push(format!("Y_POSSIBLE_NAMES={}", LAT_COLUMNS.join(",")));
        options.push("KEEP_GEOM_COLUMNS=NO".into());
    }
    if own_cp1258 {
        options.push("ENCODING=ISO-8859-1".into());
    } else if let Some(enc) = encoding {
        options.push(format!("ENCODING={enc}"));
    }
    let refs: Vec<&str> = options.iter().map(String::as_str).collect();
    Dataset::open_ex(
        gdal_path(path),
        DatasetOptions {
            open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
            open_options: (!refs.is_empty()).then_some(refs.as_slice()),
            ..DatasetOptions::default()
        },
    )
    .map_err(|e| ImportError::Unreadable {
        file: file.to_owned(),
        format: "a vector file GDAL knows".into(),
        reason: gdal_message(&e),
    })
}

/// Whether a feature leaves field `index` unset: a GeoJSON feature without
/// a property the others have. The gdal crate tells null from set but not
/// unset from set, and gives an unset number as 0; GDAL writes an unset
/// field as empty text, which a number set to any value never is.
fn unset(feature: &gdal::vector::Feature<'_>, name: &str) -> bool {
    feature
        .field_index(name)
        .and_then(|i| feature.field_as_string(i))
        .is_ok_and(|s| s.is_none_or(|s| s.is_empty()))
}

/// The index of the layer to read: the one named, or the only one with
/// features. A file of several layers with features is not read from its
/// first alone: what the others hold would be left out without a word.
fn layer_to_read(dataset: &Dataset, file: &str, named: Option<&str>) -> Result<usize, ImportError> {
    let with_features: Vec<(usize, String, u64)> = (0..dataset.layer_count())
        .filter_map(|i| {
            let l = dataset.layer(i).ok()?;
            let count = l.feature_count();
            (count > 0).then(|| (i, l.name(), count))
        })
        .collect();
    let listed = || {
        with_features
            .iter()
            .map(|(_, name, count)| format!("'{name}' ({count})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (named, with_features.as_slice()) {
        (Some(name), _) => match with_features.iter().find(|(_, n, _)| n == name) {
            Some((i, _, _)) => Ok(*i),
            None => Err(ImportError::WhichLayer {
                file: file.to_owned(),
                problem: format!("has no layer '{name}' with features"),
                layers: listed(),
            }),
        },
        (None, []) => Err(ImportError::Empty { file: file.to_owned() }),
        (None, [(i, _, _)]) => Ok(*i),
        (None, _) => Err(ImportError::WhichLayer {
            file: file.to_owned(),
            problem: format!("holds {} layers with features", with_features.len()),
            layers: listed(),
        }),
    }
}

/// Reads the layer of `path` that has features (or the one named).
///
/// # Errors
/// When GDAL cannot open the file, the CRS is unknown or missing, or the file is empty.
pub fn read(path: &Path, opts: &GdalRead<'_>) -> Result<SourceData, ImportError> {
    capture_gdal_errors();
    take_gdal_errors();
    let file = path
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    let is_csv = file.to_lowercase().ends_with(".csv");
    let mut own_cp1258 = opts.encoding.is_some_and(cp1258::is_cp1258);
    let mut dataset = open(path, &file, is_csv, opts.encoding, own_cp1258)?;
    let index = layer_to_read(&dataset, &file, opts.layer)?;
    // A Shapefile whose `.cpg` (or `.dbf` header) says Windows-1258, even in
    // a zip: read again as Latin-1 and decoded here (see [`cp1258`]).
    if !own_cp1258 && opts.encoding.is_none() {
        let source_encoding = dataset
            .layer(index)
            .ok()
            .and_then(|l| l.metadata_item("SOURCE_ENCODING", "SHAPEFILE"));
        if source_encoding.as_deref().is_some_and(cp1258::is_cp1258) {
            own_cp1258 = true;
            dataset = open(path, &file, is_csv, None, true)?;
        }
    }
    let format = dataset.driver().short_name();
    let unreadable = |reason: String| ImportError::Unreadable {
        file: file.clone(),
        format: format.clone(),
        reason,
    };
    let mut layer = dataset.layer(index).map_err(|e| unreadable(gdal_message(&e)))?;
    let text = |s: String| if own_cp1258 { cp1258::from_latin1(&s) } else { s };
    let fields: Vec<String> = layer.defn().fields().map(|f| text(f.name())).collect();

    // GeoJSON, KML and CSV are WGS 84 by definition or by custom.
    let default_wgs84 = matches!(
        format.as_str(),
        "GeoJSON" | "GeoJSONSeq" | "KML" | "LIBKML" | "CSV" | "GPX"
    );
    let srs = match (opts.srs, layer.spatial_ref()) {
        (Some(given), _) => SpatialRef::from_definition(given).map_err(|e| ImportError::UnknownCrs {
            crs: given.to_owned(),
            reason: gdal_message(&e),
        })?,
        (None, Some(found)) => found,
        (None, None) if default_wgs84 => SpatialRef::from_epsg(4326).map_err(|e| unreadable(gdal_message(&e)))?,
        (None, None) => return Err(ImportError::NoCrs { file: file.clone() }),
    };
    let label = crs_label(&srs);
    let source = source_crs(srs)?;
    let mut wgs84 = SpatialRef::from_epsg(4326).map_err(|e| unreadable(gdal_message(&e)))?;
    wgs84.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let transform = CoordTransform::new(&source, &wgs84).map_err(|e| ImportError::UnknownCrs {
        crs: label.clone(),
        reason: format!("no transformation to WGS 84: {}", gdal_message(&e)),
    })?;

    let mut records = Vec::new();
    for (n, feature) in layer.features().enumerate() {
        let fid = feature.fid().map_or_else(|| n.to_string(), |f| f.to_string());
        let (mut geometry, repaired) = geometry(feature.geometry(), &transform);
        if let (Err(reason), Some(gdal)) = (&mut geometry, take_gdal_errors().first()) {
            *reason = format!("unreadable record, the file is cut short or corrupt (GDAL: {gdal})");
        }
        // By name: some drivers (LIBKML) give a feature fewer fields than the layer declares.
        let mut values = vec![SourceValue::Null; fields.len()];
        for (name, v) in feature.fields() {
            if let Some(i) = fields.iter().position(|f| *f == text(name.clone())) {
                values[i] = match value(v) {
                    SourceValue::Text(s) => SourceValue::Text(text(s)),
                    SourceValue::Int(_) | SourceValue::Real(_) if unset(&feature, &name) => SourceValue::Null,
                    v => v,
                };
            }
        }
        records.push(SourceRecord {
            fid,
            geometry,
            repaired,
            values,
        });
    }
    Ok(SourceData {
        fields,
        records,
        crs: label,
        format,
    })
}
