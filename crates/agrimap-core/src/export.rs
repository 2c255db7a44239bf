//! A whole selection of a layer as one file: `{layer}.{geojson|csv|gpkg|shp.zip|kml|fgb}`
//! with the selection parameters of `/ogc` items (`commune`, `bbox`,
//! `bbox-crs`, `datetime`, `filter`, `filter-lang`, `filter-crs`,
//! `properties`) and `crs` (an EPSG code: 4326 by default, VN-2000 3405,
//! 3406, 5896–5899 and the provincial TM-3 zones 9205–9218). What both
//! `GET /api/export/{file}` and `agrimap export` write.
//!
//! [`plan`] checks the request and builds its store query; [`start`] reads
//! the store's first chunk (so that a filter the store refuses is an error
//! before anything is written) and gives the file's bytes as they are made
//! (GeoJSON, CSV) or the file GDAL's `ogr2ogr` wrote (the other formats);
//! [`write`] writes it all to any `AsyncWrite`. The features are read with
//! `agrimap_store::resumable`, which gives its pooled connection back when
//! the reader stops for a moment, and encoded by `agrimap_io::export`.

use crate::Core;
use crate::communes::AdminUnit;
use crate::error::{CoreError, ErrorKind, echo};
use crate::features::{self, Params};
use agrimap_io::crs::Crs;
use agrimap_io::export::csv::CsvEncoder;
use agrimap_io::export::gdal::{GdalFormat, TempDir, write_file};
use agrimap_io::export::geojson::GeoJsonEncoder;
use agrimap_io::export::{Columns, ExportError, Label, encoded_chunks};
use agrimap_model::{Audience, FeatureQuery, LayerDef};
use agrimap_store::resumable::{ChunkStream, HOLD, resumable};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt, stream};
use std::collections::BTreeMap;
use std::path::PathBuf;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// The file formats, by the extension that asks for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    GeoJson,
    Csv,
    Gdal(GdalFormat),
}

impl Format {
    const ALL: [(&'static str, Self); 6] = [
        ("geojson", Self::GeoJson),
        ("csv", Self::Csv),
        ("gpkg", Self::Gdal(GdalFormat::GeoPackage)),
        ("shp.zip", Self::Gdal(GdalFormat::ShapefileZip)),
        ("kml", Self::Gdal(GdalFormat::Kml)),
        ("fgb", Self::Gdal(GdalFormat::FlatGeobuf)),
    ];

    /// The media type of a file in this format.
    #[must_use]
    pub fn media_type(self) -> &'static str {
        match self {
            Self::GeoJson => "application/geo+json",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Gdal(GdalFormat::GeoPackage) => "application/geopackage+sqlite3",
            Self::Gdal(GdalFormat::ShapefileZip) => "application/zip",
            Self::Gdal(GdalFormat::Kml) => "application/vnd.google-earth.kml+xml",
            Self::Gdal(GdalFormat::FlatGeobuf) => "application/flatgeobuf",
        }
    }
}

fn known_formats() -> String {
    Format::ALL.iter().map(|(ext, _)| *ext).collect::<Vec<_>>().join(", ")
}

/// `crop.shp.zip` → the crop layer, as a zipped Shapefile.
fn parse_file(file: &str) -> Result<(&'static LayerDef, Format), CoreError> {
    let (id, ext) = file.split_once('.').ok_or_else(|| {
        CoreError::not_found(
            "unknown_format",
            format!("name the file as {{layer}}.{{format}}; formats: {}", known_formats()),
        )
    })?;
    let layer = features::collection(id)?;
    let format = Format::ALL
        .iter()
        .find(|(e, _)| *e == ext)
        .map(|(_, f)| *f)
        .ok_or_else(|| {
            CoreError::not_found(
                "unknown_format",
                format!(
                    "unknown export format '{}'; formats: {}",
                    echo(ext, 64),
                    known_formats()
                ),
            )
        })?;
    Ok((layer, format))
}

/// `crs`: an EPSG code offered by `agrimap_io::crs` (`EPSG:9210`, `9210`, or
/// the OGC URI); `None` for WGS 84, which exports keep in longitude,
/// latitude order whether asked as CRS84 or EPSG:4326, as GIS files do.
fn parse_crs(params: &Params) -> Result<Option<Crs>, CoreError> {
    let Some(text) = params.get("crs") else {
        return Ok(None);
    };
    let crs = Crs::parse(text).map_err(|_| {
        CoreError::invalid(
            "bad_crs",
            format!(
                "crs '{}' is not offered; use an EPSG code among {}",
                echo(text, 64),
                Crs::epsg_codes().map(|c| c.to_string()).collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    Ok((!crs.is_wgs84()).then_some(crs))
}

/// An export resolved from its file name and parameters.
pub struct ExportPlan {
    pub format: Format,
    columns: Columns,
    query: FeatureQuery,
    crs: Option<Crs>,
    /// The file name to offer (`crop-33001.geojson`).
    pub name: String,
}

/// Checks the parameters of an export of `file` (`crop.geojson`) for
/// `audience` and builds its store query.
///
/// # Errors
/// `unknown_format` or `unknown_collection` (not found) for a file name that
/// names no export; the parameter that is wrong, named.
pub async fn plan(core: &Core, file: &str, params: &Params, audience: Audience) -> Result<ExportPlan, CoreError> {
    let (layer, format) = parse_file(file)?;
    // An export is a whole selection: the selection's parameters, no paging.
    params.only(crate::features::SELECTION_PARAMS)?;
    let crs = parse_crs(params)?;
    if layer.geometry == agrimap_model::GeometryKind::PointOrLine && format == Format::Gdal(GdalFormat::ShapefileZip) {
        return Err(CoreError::invalid(
            "mixed_geometry",
            format!(
                "a Shapefile holds one kind of geometry and layer '{}' holds points and lines; \
                 export gpkg, fgb, kml, geojson or csv",
                layer.id
            ),
        ));
    }
    if crs.is_some() && matches!(format, Format::GeoJson | Format::Gdal(GdalFormat::Kml)) {
        return Err(CoreError::invalid(
            "bad_crs",
            "GeoJSON (RFC 7946) and KML are always in WGS 84 longitude/latitude; \
             export gpkg, shp.zip, fgb or csv for another CRS",
        ));
    }
    let mut columns = Columns::new(layer, features::chosen_fields(params, layer, audience)?);
    columns.labels = labels(core, layer, &columns.fields).await?;
    let query = features::query(core, layer, params, audience).await?;
    Ok(ExportPlan {
        format,
        columns,
        query,
        crs,
        name: download_name(layer, params, file),
    })
}

/// What the codes of the chosen fields mean: the Vietnamese label of each
/// code of a value list, as the store's lists hold them (retired codes
/// included, so old features keep their label); and, for communes and
/// districts, the names of their district and province.
async fn labels(core: &Core, layer: &LayerDef, fields: &[usize]) -> Result<BTreeMap<usize, Label>, CoreError> {
    let mut labels = BTreeMap::new();
    let listed: Vec<(usize, &str)> = fields
        .iter()
        .filter_map(|&i| layer.fields[i].code_list.map(|list| (i, list)))
        .collect();
    if !listed.is_empty() {
        let codes = core.store.codes().await?;
        for (i, list) in listed {
            let of_list = codes
                .iter()
                .filter(|c| c.list == list)
                .map(|c| (c.code.clone(), c.label_vi.clone()));
            labels.insert(i, Label::of_list(layer.fields[i].name, of_list));
        }
    }
    if matches!(layer.id, "admin_commune" | "admin_district") {
        let named = |units: &[AdminUnit]| {
            units
                .iter()
                .map(|u| ((u.code.clone(), u.boundary_set.clone()), u.name.clone()))
                .collect::<Vec<_>>()
        };
        let index = core.commune_index().await?;
        for &i in fields {
            let label = match layer.fields[i].name {
                "province_code" => Label::of_units("province_name", named(index.provinces())),
                "district_code" => Label::of_units("district_name", named(index.districts())),
                _ => continue,
            };
            labels.insert(i, label);
        }
    }
    Ok(labels)
}

/// An export under way.
pub enum Export {
    /// GeoJSON or CSV: the file's bytes, made as the store is read.
    Streamed(BoxStream<'static, Result<Vec<u8>, CoreError>>),
    /// Written whole by GDAL: the file, in a directory that is removed when
    /// `dir` is dropped.
    File { path: PathBuf, dir: TempDir },
}

/// Starts a planned export: reads the store's first chunk, and for the
/// formats GDAL writes, the whole file.
///
/// # Errors
/// What the store refuses (a filter too costly, a store that is down);
/// `gdal_missing` (unsupported) without `ogr2ogr`; `export_failed`.
pub async fn start(core: &Core, plan: ExportPlan) -> Result<Export, CoreError> {
    let layer = plan.columns.layer;
    let chunks = first_chunk_read(resumable(core.store.clone(), layer, plan.query, HOLD)).await?;
    let streamed =
        |bytes: BoxStream<'static, Result<Vec<u8>, ExportError>>| Export::Streamed(bytes.map_err(failed).boxed());
    Ok(match plan.format {
        Format::GeoJson => streamed(encoded_chunks(GeoJsonEncoder::new(plan.columns), chunks).boxed()),
        Format::Csv => streamed(encoded_chunks(CsvEncoder::new(plan.columns, plan.crs), chunks).boxed()),
        Format::Gdal(gdal) => {
            let dir = TempDir::new().map_err(|e| export_failed(format!("no temporary directory: {e}")))?;
            let path = write_file(chunks, plan.columns, gdal, plan.crs, &dir)
                .await
                .map_err(failed)?;
            Export::File { path, dir }
        }
    })
}

/// Writes a planned export to `out`, reading the store as `out` takes it.
///
/// # Errors
/// As [`start`], and when `out` fails; what was written stays written.
pub async fn write(core: &Core, plan: ExportPlan, out: &mut (impl AsyncWrite + Unpin)) -> Result<(), CoreError> {
    let written_to = |e: std::io::Error| export_failed(e.to_string());
    match start(core, plan).await? {
        Export::Streamed(mut chunks) => {
            while let Some(chunk) = chunks.next().await {
                out.write_all(&chunk?).await.map_err(written_to)?;
            }
        }
        Export::File { path, dir: _dir } => {
            let mut file = tokio::fs::File::open(&path)
                .await
                .map_err(|e| export_failed(format!("GDAL wrote no file: {e}")))?;
            tokio::io::copy(&mut file, out).await.map_err(written_to)?;
        }
    }
    out.flush().await.map_err(written_to)
}

/// Reads the first chunk before anything is written, so that what the store
/// refuses (a filter too costly, a store that is down) is told as it is.
async fn first_chunk_read(mut pages: ChunkStream) -> Result<ChunkStream, CoreError> {
    Ok(match pages.try_next().await? {
        Some(first) => Box::pin(stream::iter([Ok(first)]).chain(pages)),
        // The stream has ended and must not be polled again.
        None => Box::pin(stream::empty()),
    })
}

/// `crop-33001.geojson`: the layer, the commune when one was chosen, the format.
fn download_name(layer: &LayerDef, params: &Params, file: &str) -> String {
    let ext = file.split_once('.').map_or("", |(_, e)| e);
    let commune: String = params
        .get("commune")
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect();
    if commune.is_empty() {
        format!("{}.{ext}", layer.id)
    } else {
        format!("{}-{commune}.{ext}", layer.id)
    }
}

fn export_failed(message: impl Into<String>) -> CoreError {
    CoreError::internal("export_failed", message)
}

// Handed to `map_err`, which gives the error by value.
#[allow(clippy::needless_pass_by_value)]
fn failed(e: ExportError) -> CoreError {
    match e {
        ExportError::Store(e) => e.into(),
        ExportError::GdalMissing(_) => CoreError::new(ErrorKind::Unsupported, "gdal_missing", e.to_string()),
        ExportError::Gdal(stderr) => {
            tracing::error!(%stderr, "ogr2ogr failed");
            export_failed("GDAL could not write the export")
        }
        other => export_failed(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_layer_and_format() {
        let (layer, format) = parse_file("crop.shp.zip").expect("ok");
        assert_eq!((layer.id, format), ("crop", Format::Gdal(GdalFormat::ShapefileZip)));
        assert_eq!(parse_file("ocop.geojson").expect("ok").1, Format::GeoJson);
        assert_eq!(parse_file("crop.xls").expect_err("format").code, "unknown_format");
        assert_eq!(parse_file("crop").expect_err("no dot").code, "unknown_format");
        assert_eq!(parse_file("nope.csv").expect_err("layer").kind, ErrorKind::NotFound);
    }

    #[test]
    fn crs_is_an_offered_epsg_code() {
        let crs = |v: &str| parse_crs(&Params::new(vec![("crs".into(), v.into())]).expect("params"));
        let code = |v: &str| crs(v).expect("ok").and_then(Crs::epsg_code);
        assert_eq!(code("EPSG:9210"), Some(9210));
        assert_eq!(code("http://www.opengis.net/def/crs/EPSG/0/3405"), Some(3405));
        assert_eq!(code("4326"), None);
        assert_eq!(code("[OGC:CRS84]"), None);
        assert_eq!(crs("EPSG:3857").expect_err("not offered").code, "bad_crs");
        assert_eq!(crs("VN-2000").expect_err("no code").code, "bad_crs");
    }
}
