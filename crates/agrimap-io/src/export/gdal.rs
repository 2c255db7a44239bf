//! The formats GDAL writes (GeoPackage, zipped Shapefile, KML, FlatGeobuf):
//! the selection is written as GeoJSON into a temporary directory, then
//! converted by GDAL's `ogr2ogr`, which must be on the PATH. For a VN-2000
//! CRS, `ogr2ogr` is given the very operation `crate::crs` applies (a PROJ
//! pipeline with the official shift), so every export agrees with `/ogc`.

use super::geojson::GeoJsonEncoder;
use super::{Columns, ExportError, write_async};
use crate::crs::Crs;
use agrimap_model::FieldType;
use agrimap_store::resumable::ChunkStream;
use futures::StreamExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A format GDAL writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GdalFormat {
    GeoPackage,
    ShapefileZip,
    Kml,
    FlatGeobuf,
}

impl GdalFormat {
    /// The file extension (`shp.zip` for a zipped Shapefile).
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Self::GeoPackage => "gpkg",
            Self::ShapefileZip => "shp.zip",
            Self::Kml => "kml",
            Self::FlatGeobuf => "fgb",
        }
    }

    /// GDAL's driver and layer creation options.
    fn driver(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Self::GeoPackage => ("GPKG", &[]),
            Self::ShapefileZip => ("ESRI Shapefile", &["-lco", "ENCODING=UTF-8"]),
            Self::Kml => ("KML", &[]),
            Self::FlatGeobuf => ("FlatGeobuf", &[]),
        }
    }
}

/// A temporary directory, removed with everything in it when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty directory under the system's temporary directory.
    ///
    /// # Errors
    /// When no directory can be created.
    pub fn new() -> std::io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "agrimap-export-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(name);
        // `create_dir` fails on an existing path, so two exports never share one.
        std::fs::create_dir(&dir)?;
        Ok(Self(dir))
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes the features as `format` in `dir` and returns the file's path.
/// Dropping the future stops the store's query or kills `ogr2ogr`.
///
/// # Errors
/// [`ExportError::GdalMissing`] without `ogr2ogr`, [`ExportError::Gdal`]
/// when it fails, or the store's or the file system's error.
pub async fn write_file(
    pages: ChunkStream,
    columns: Columns,
    format: GdalFormat,
    crs: Option<Crs>,
    dir: &TempDir,
) -> Result<PathBuf, ExportError> {
    let layer = columns.layer;
    let source = dir.path().join("source.geojson");
    let mut file = tokio::fs::File::create(&source).await?;
    let written = Arc::new(AtomicU64::new(0));
    let counted = written.clone();
    let pages = pages
        .inspect(move |chunk| {
            if let Ok(features) = chunk {
                counted.fetch_add(features.len() as u64, Ordering::Relaxed);
            }
        })
        .boxed();
    write_async(GeoJsonEncoder::new(columns.clone()), pages, &mut file).await?;
    drop(file);
    let empty = written.load(Ordering::Relaxed) == 0;
    if empty {
        tokio::fs::write(&source, placeholder_source(&columns)).await?;
    }

    let target = dir.path().join(format!("{}.{}", layer.id, format.extension()));
    let (driver, options) = format.driver();
    let mut command = tokio::process::Command::new("ogr2ogr");
    command
        .args(["-f", driver])
        .arg(&target)
        .arg(&source)
        .args(["-nln", layer.id])
        .args(["-dialect", "OGRSQL", "-sql", &typed_select(&columns, empty)])
        .args(options)
        .kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    if empty {
        // No feature tells GDAL the geometry type: the layer's own.
        command.args(["-nlt", layer.geometry.ogc_name()]);
    }
    if let Some(crs) = crs
        && let (Some(code), Some(pipeline)) = (crs.epsg_code(), crs.pipeline_from_epsg4326())
    {
        // The operation is given, so that every export and /ogc agree on the
        // official shift wherever the features lie.
        command.args([
            "-s_srs",
            "EPSG:4326",
            "-t_srs",
            &format!("EPSG:{code}"),
            "-ct",
            &pipeline,
        ]);
    }
    let output = command
        .output()
        .await
        .map_err(|e| ExportError::GdalMissing(e.to_string()))?;
    if !output.status.success() {
        return Err(ExportError::Gdal(String::from_utf8_lossy(&output.stderr).into_owned()));
    }
    Ok(target)
}

/// The source GDAL reads for an empty selection: GDAL learns a GeoJSON
/// file's columns from its features, and without any it has none to
/// select, so it is given one feature with every column null, which the
/// SQL leaves out ([`typed_select`]). The file then has the layer's
/// columns and no feature, as the GeoJSON and CSV exports have.
fn placeholder_source(columns: &Columns) -> String {
    let properties: serde_json::Map<String, serde_json::Value> = columns
        .fields
        .iter()
        .flat_map(|&i| {
            let label = columns.labels.get(&i).map(|l| l.column.clone());
            std::iter::once(columns.layer.fields[i].name.to_owned()).chain(label)
        })
        .map(|name| (name, serde_json::Value::Null))
        .collect();
    serde_json::json!({
        "type": "FeatureCollection",
        "features": [{ "type": "Feature", "properties": properties, "geometry": null }],
    })
    .to_string()
}

/// The OGR SQL that gives every column the type of its field, whatever its
/// values: GDAL guesses a GeoJSON column's type from the values, so a
/// column that is empty in the selection (a province's populations not
/// entered yet) would come out as text and change type from one export
/// to the next. Text (and every label column) is taken as it is. For an
/// empty selection, no row is taken (see [`placeholder_source`]).
fn typed_select(columns: &Columns, empty: bool) -> String {
    let list: Vec<String> = columns
        .fields
        .iter()
        .flat_map(|&i| {
            let name = columns.layer.fields[i].name;
            let typed = match columns.layer.fields[i].ty {
                FieldType::Text => format!("\"{name}\""),
                ty => format!("CAST(\"{name}\" AS {}) AS \"{name}\"", sql_type(ty)),
            };
            let label = columns.labels.get(&i).map(|l| format!("\"{}\"", l.column));
            std::iter::once(typed).chain(label)
        })
        .collect();
    let select = if list.is_empty() {
        "SELECT * FROM \"source\"".to_owned()
    } else {
        format!("SELECT {} FROM \"source\"", list.join(", "))
    };
    if empty { select + " WHERE 1 = 0" } else { select }
}

/// OGR SQL's name of a field type, for `CAST`.
fn sql_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Text => "character",
        FieldType::Integer => "bigint",
        FieldType::Real => "float",
        FieldType::Boolean => "boolean",
        FieldType::Date => "date",
        FieldType::DateTime => "timestamp",
    }
}
