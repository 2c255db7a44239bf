//! `GET /api/export/{layer}.{geojson|csv|gpkg|shp.zip|kml|fgb}`: a whole
//! selection of a layer as one file, with the same selection parameters as
//! `/ogc` items (`commune`, `bbox`, `datetime`, `filter`, `properties`) and
//! `crs` (an EPSG code: 4326 by default, VN-2000 3405, 3406, 5896–5899 and
//! the provincial TM-3 zones 9205–9218).
//!
//! GeoJSON (in WGS 84, as RFC 7946 requires) and CSV (in any offered CRS,
//! transformed by `agrimap_io::crs`) are written here as rows arrive from the
//! store, in bounded memory whatever the size of the layer. The other
//! formats are written by GDAL's `ogr2ogr` from that same GeoJSON in a
//! temporary directory, then streamed out; the directory goes with the
//! response. A client that disconnects drops the response,
//! which stops the store's query (and kills `ogr2ogr`).

use super::Ogc;
use super::items::{GeoJsonFeature, chosen_fields, feature_query};
use super::params::{Params, echo};
use super::{collection_of, read_params};
use crate::auth::Caller;
use crate::error::ApiError;
use agrimap_io::crs::{Crs, Transform};
use agrimap_model::{Feature, LayerDef, Value};
use agrimap_store::{FeatureStream, StoreError};
use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt, TryStreamExt, stream};
use std::path::PathBuf;
use tokio::io::AsyncWriteExt;

const EXPORT_PARAMS: &[&str] = &[
    "bbox",
    "bbox-crs",
    "datetime",
    "commune",
    "filter",
    "filter-lang",
    "properties",
    "crs",
];

/// Features written per chunk of the response body.
const CHUNK_FEATURES: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    GeoJson,
    Csv,
    GeoPackage,
    ShapefileZip,
    Kml,
    FlatGeobuf,
}

impl Format {
    const ALL: [(&'static str, Self); 6] = [
        ("geojson", Self::GeoJson),
        ("csv", Self::Csv),
        ("gpkg", Self::GeoPackage),
        ("shp.zip", Self::ShapefileZip),
        ("kml", Self::Kml),
        ("fgb", Self::FlatGeobuf),
    ];

    fn content_type(self) -> &'static str {
        match self {
            Self::GeoJson => "application/geo+json",
            Self::Csv => "text/csv; charset=utf-8",
            Self::GeoPackage => "application/geopackage+sqlite3",
            Self::ShapefileZip => "application/zip",
            Self::Kml => "application/vnd.google-earth.kml+xml",
            Self::FlatGeobuf => "application/flatgeobuf",
        }
    }

    /// GDAL's driver and layer creation options for the format.
    fn gdal(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Self::GeoJson => ("GeoJSON", &[]),
            Self::Csv => ("CSV", &["-lco", "GEOMETRY=AS_WKT"]),
            Self::GeoPackage => ("GPKG", &[]),
            Self::ShapefileZip => ("ESRI Shapefile", &["-lco", "ENCODING=UTF-8"]),
            Self::Kml => ("KML", &[]),
            Self::FlatGeobuf => ("FlatGeobuf", &[]),
        }
    }
}

fn known_formats() -> String {
    Format::ALL.iter().map(|(ext, _)| *ext).collect::<Vec<_>>().join(", ")
}

/// `crop.shp.zip` → the crop layer, as a zipped Shapefile.
fn parse_file(file: &str) -> Result<(&'static LayerDef, Format), ApiError> {
    let (id, ext) = file.split_once('.').ok_or_else(|| {
        ApiError::not_found(
            "unknown_format",
            format!("name the file as {{layer}}.{{format}}; formats: {}", known_formats()),
        )
    })?;
    let layer = collection_of(id)?;
    let format = Format::ALL
        .iter()
        .find(|(e, _)| *e == ext)
        .map(|(_, f)| *f)
        .ok_or_else(|| {
            ApiError::not_found(
                "unknown_format",
                format!("unknown export format '{}'; formats: {}", echo(ext), known_formats()),
            )
        })?;
    Ok((layer, format))
}

/// `crs`: an EPSG code offered by `agrimap_io::crs` (`EPSG:9210`, `9210`, or
/// the OGC URI); `None` for WGS 84, which exports keep in longitude,
/// latitude order whether asked as CRS84 or EPSG:4326, as GIS files do.
fn parse_crs(params: &Params) -> Result<Option<Crs>, ApiError> {
    let Some(text) = params.get("crs") else {
        return Ok(None);
    };
    let crs = Crs::parse(text).map_err(|_| {
        ApiError::bad_request(
            "bad_crs",
            format!(
                "crs '{}' is not offered; use an EPSG code among {}",
                echo(text),
                Crs::epsg_codes().map(|c| c.to_string()).collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    Ok((!crs.is_wgs84()).then_some(crs))
}

/// `GET /api/export/{file}`
pub(super) async fn export(
    State(ogc): State<Ogc>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(file) = path?;
    let (layer, format) = parse_file(&file)?;
    let params = read_params(query)?;
    params.only(EXPORT_PARAMS)?;
    let crs = parse_crs(&params)?;
    if crs.is_some() && matches!(format, Format::GeoJson | Format::Kml) {
        return Err(ApiError::bad_request(
            "bad_crs",
            "GeoJSON (RFC 7946) and KML are always in WGS 84 longitude/latitude; \
             export gpkg, shp.zip, fgb or csv for another CRS",
        ));
    }
    let audience = caller.audience();
    let fields = chosen_fields(&params, layer, audience)?;
    let query = feature_query(&ogc, layer, &params, audience).await?;
    let features = ogc.store.stream(layer, query);
    let name = download_name(layer, &params, &file);

    let body = match (format, crs) {
        (Format::GeoJson, _) => Body::from_stream(geojson_body(features, layer, fields)),
        (Format::Csv, _) => Body::from_stream(csv_body(features, layer, fields, crs)),
        _ => gdal_body(features, layer, fields, format, crs).await?,
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    // What a token holder exports may hold restricted fields: never cached for others.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
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

fn io_error(e: StoreError) -> std::io::Error {
    // The response has started: all that can be done is to cut it, which the
    // client sees as an incomplete file. The cause goes to the log.
    tracing::error!(cause = %e, "export failed mid-stream");
    std::io::Error::other("the export failed while reading the store")
}

/// Chunks of features, as the store yields them.
fn chunks(features: FeatureStream) -> impl Stream<Item = Result<Vec<Feature>, std::io::Error>> {
    features
        .ready_chunks(CHUNK_FEATURES)
        .map(|chunk| chunk.into_iter().collect::<Result<Vec<_>, _>>().map_err(io_error))
}

/// A GeoJSON FeatureCollection written as the features arrive.
fn geojson_body(
    features: FeatureStream,
    layer: &'static LayerDef,
    fields: Vec<usize>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    let head = stream::once(async { Ok(Bytes::from_static(b"{\"type\":\"FeatureCollection\",\"features\":[\n")) });
    let mut first = true;
    let body = chunks(features).map_ok(move |chunk| {
        let mut out = Vec::with_capacity(chunk.len() * 512);
        for feature in &chunk {
            if !first {
                out.extend_from_slice(b",\n");
            }
            first = false;
            let f = GeoJsonFeature {
                layer,
                feature,
                fields: &fields,
                links: None,
            };
            // Serialising plain values into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut out, &f);
        }
        Bytes::from(out)
    });
    let tail = stream::once(async { Ok(Bytes::from_static(b"\n]}\n")) });
    head.chain(body).chain(tail)
}

/// CSV with a header: `fid`, the chosen fields, and the geometry as `WKT`
/// (the column GDAL and QGIS read geometries from).
fn csv_body(
    features: FeatureStream,
    layer: &'static LayerDef,
    fields: Vec<usize>,
    crs: Option<Crs>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    let transform = crs.map(|c| std::sync::Arc::new(Transform::new(c)));
    let mut header = csv::Writer::from_writer(Vec::new());
    let names = std::iter::once("fid")
        .chain(fields.iter().map(|&i| layer.fields[i].name))
        .chain(std::iter::once("WKT"));
    let head = header
        .write_record(names)
        .and_then(|()| header.into_inner().map_err(|e| e.into_error().into()))
        .map(Bytes::from)
        .map_err(std::io::Error::other);
    let body = chunks(features).and_then(move |chunk| {
        let fields = fields.clone();
        let transform = transform.clone();
        // Transforming a chunk is CPU work: off the async runtime.
        async move {
            tokio::task::spawn_blocking(move || csv_rows(&chunk, &fields, transform.as_deref()))
                .await
                .map_err(std::io::Error::other)?
        }
    });
    stream::once(async move { head }).chain(body)
}

/// CSV rows of a chunk of features, their geometries in the transform's CRS.
fn csv_rows(chunk: &[Feature], fields: &[usize], transform: Option<&Transform>) -> Result<Bytes, std::io::Error> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(chunk.len() * 256));
    for f in chunk {
        let mut record = Vec::with_capacity(fields.len() + 2);
        record.push(f.id.to_string());
        record.extend(fields.iter().map(|&i| csv_cell(&f.properties[i])));
        let geometry = match transform {
            None => wkt::ToWkt::wkt_string(&f.geometry),
            Some(t) => {
                let g = t.geometry_from_wgs84(&f.geometry).map_err(|e| {
                    tracing::error!(cause = %e, feature = f.id, "export transform failed");
                    std::io::Error::other("a feature could not be transformed")
                })?;
                wkt::ToWkt::wkt_string(&g)
            }
        };
        record.push(geometry);
        w.write_record(&record).map_err(std::io::Error::other)?;
    }
    w.into_inner().map(Bytes::from).map_err(|e| e.into_error())
}

/// A value as a CSV cell: empty for null.
fn csv_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Text(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Real(r) => r.to_string(),
        Value::Bool(b) => b.to_string(),
    }
}

/// A temporary directory removed when dropped (with the response body).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<Self> {
        let name = agrimap_core::tokens::new_token_id()?;
        let dir = std::env::temp_dir().join(format!("agrimap-export-{name}"));
        std::fs::create_dir(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn export_failed(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "export_failed", message)
}

/// Writes the selection as GeoJSON into a temporary directory, has `ogr2ogr`
/// convert it, and streams the result.
async fn gdal_body(
    features: FeatureStream,
    layer: &'static LayerDef,
    fields: Vec<usize>,
    format: Format,
    crs: Option<Crs>,
) -> Result<Body, ApiError> {
    let dir = TempDir::new().map_err(|e| export_failed(format!("no temporary directory: {e}")))?;
    let source = dir.0.join("source.geojson");
    let mut file = tokio::fs::File::create(&source)
        .await
        .map_err(|e| export_failed(format!("cannot write the temporary file: {e}")))?;
    let mut parts = std::pin::pin!(geojson_body(features, layer, fields));
    while let Some(part) = parts.next().await {
        let bytes = part.map_err(|e| export_failed(e.to_string()))?;
        file.write_all(&bytes)
            .await
            .map_err(|e| export_failed(format!("cannot write the temporary file: {e}")))?;
    }
    file.flush().await.map_err(|e| export_failed(e.to_string()))?;
    drop(file);

    let ext = Format::ALL
        .iter()
        .find(|(_, f)| *f == format)
        .map_or("out", |(e, _)| *e);
    let target = dir.0.join(format!("{}.{ext}", layer.id));
    let (driver, options) = format.gdal();
    let mut command = tokio::process::Command::new("ogr2ogr");
    command
        .args(["-f", driver])
        .arg(&target)
        .arg(&source)
        .args(["-nln", layer.id])
        .args(options)
        .kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
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
    let output = command.output().await.map_err(|e| {
        ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "gdal_missing",
            format!("this export needs GDAL's ogr2ogr on the server ({e}); GeoJSON and CSV exports work without it"),
        )
    })?;
    if !output.status.success() {
        tracing::error!(stderr = %String::from_utf8_lossy(&output.stderr), "ogr2ogr failed");
        return Err(export_failed("GDAL could not write the export"));
    }
    let file = tokio::fs::File::open(&target)
        .await
        .map_err(|e| export_failed(format!("GDAL wrote no file: {e}")))?;
    // The directory lives as long as the body stream, which holds it.
    let stream = tokio_util::io::ReaderStream::new(file).map(move |chunk| {
        let _keep = &dir;
        chunk
    });
    Ok(Body::from_stream(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_layer_and_format() {
        let (layer, format) = parse_file("crop.shp.zip").expect("ok");
        assert_eq!((layer.id, format), ("crop", Format::ShapefileZip));
        assert_eq!(parse_file("ocop.geojson").expect("ok").1, Format::GeoJson);
        assert_eq!(parse_file("crop.xls").expect_err("format").code, "unknown_format");
        assert_eq!(parse_file("crop").expect_err("no dot").code, "unknown_format");
        assert_eq!(parse_file("nope.csv").expect_err("layer").status, StatusCode::NOT_FOUND);
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
