//! `GET /api/export/{layer}.{geojson|csv|gpkg|shp.zip|kml|fgb}`: a whole
//! selection of a layer as one file, with the same selection parameters as
//! `/ogc` items (`commune`, `bbox`, `bbox-crs`, `datetime`, `filter`,
//! `filter-lang`, `filter-crs`, `properties`) and `crs` (an EPSG code: 4326
//! by default, VN-2000 3405, 3406, 5896–5899 and the provincial TM-3 zones
//! 9205–9218).
//!
//! Only the HTTP plumbing is here; the files are written by
//! `agrimap_io::export` from the store's features read with
//! `agrimap_store::resumable`, which gives its pooled connection back when
//! the client stops reading for a moment. GeoJSON and CSV are streamed chunk
//! by chunk; the other formats are written by GDAL's `ogr2ogr` in a
//! temporary directory that goes with the response. The first chunk is read
//! before answering, so a filter the store refuses is a 400, not a cut
//! transfer. How many exports run at once is bounded
//! ([`super::export_slots`]), and a client that stops reading is let go
//! after a while ([`super::paced_body`]).

use super::Ogc;
use super::collection_of;
use super::items::{chosen_fields, feature_query};
use super::paced_body::{SEND_IDLE, paced_body};
use super::params::{Params, echo};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use agrimap_io::crs::Crs;
use agrimap_io::export::csv::CsvEncoder;
use agrimap_io::export::gdal::{GdalFormat, TempDir, write_file};
use agrimap_io::export::geojson::GeoJsonEncoder;
use agrimap_io::export::{Columns, Encoder, ExportError, encoded_chunks, write_async};
use agrimap_model::{Audience, FeatureQuery, LayerDef};
use agrimap_store::resumable::{ChunkStream, HOLD, resumable};
use axum::body::{Body, Bytes};
use axum::extract::FromRef;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Extension, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{StreamExt, TryStreamExt, stream};
use std::net::SocketAddr;
use tokio::io::AsyncWrite;

const EXPORT_PARAMS: &[&str] = &[
    "bbox",
    "bbox-crs",
    "datetime",
    "commune",
    "filter",
    "filter-lang",
    "filter-crs",
    "properties",
    "crs",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
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

    fn content_type(self) -> &'static str {
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

/// An export resolved from its file name and query parameters: what both
/// `GET /api/export/{file}` and `agrimap export` write.
pub struct ExportPlan {
    format: Format,
    columns: Columns,
    query: FeatureQuery,
    crs: Option<Crs>,
    /// The file name to offer (`crop-33001.geojson`).
    pub name: String,
}

/// Checks the parameters of an export of `file` and builds its store query.
async fn plan(ogc: &Ogc, file: &str, params: &Params, audience: Audience) -> Result<ExportPlan, ApiError> {
    let (layer, format) = parse_file(file)?;
    params.only(EXPORT_PARAMS)?;
    let crs = parse_crs(params)?;
    if crs.is_some() && matches!(format, Format::GeoJson | Format::Gdal(GdalFormat::Kml)) {
        return Err(ApiError::bad_request(
            "bad_crs",
            "GeoJSON (RFC 7946) and KML are always in WGS 84 longitude/latitude; \
             export gpkg, shp.zip, fgb or csv for another CRS",
        ));
    }
    let columns = Columns {
        layer,
        fields: chosen_fields(params, layer, audience)?,
    };
    let query = feature_query(ogc, layer, params, audience).await?;
    Ok(ExportPlan {
        format,
        columns,
        query,
        crs,
        name: download_name(layer, params, file),
    })
}

/// The export of `file` (`crop.geojson`) with the query parameters `pairs`,
/// for callers outside HTTP (`agrimap export`).
///
/// # Errors
/// As `GET /api/export/{file}` answers them.
pub async fn plan_export(
    state: &AppState,
    file: &str,
    pairs: Vec<(String, String)>,
    audience: Audience,
) -> Result<ExportPlan, ApiError> {
    let params = Params::new(pairs)?;
    plan(&Ogc::from_ref(state), file, &params, audience).await
}

/// Writes a planned export to `out`, reading the store as `out` takes it.
///
/// # Errors
/// When the store, GDAL or `out` fails; what was written stays written.
pub async fn write_export(
    state: &AppState,
    plan: ExportPlan,
    out: &mut (impl AsyncWrite + Unpin),
) -> Result<(), ApiError> {
    let layer = plan.columns.layer;
    let chunks = first_chunk_read(resumable(state.core.store.clone(), layer, plan.query, HOLD)).await?;
    let written = match plan.format {
        Format::GeoJson => write_async(GeoJsonEncoder::new(plan.columns), chunks, out).await,
        Format::Csv => write_async(CsvEncoder::new(plan.columns, plan.crs), chunks, out).await,
        Format::Gdal(gdal) => {
            let dir = TempDir::new().map_err(|e| export_failed(format!("no temporary directory: {e}")))?;
            let target = write_file(chunks, plan.columns, gdal, plan.crs, &dir)
                .await
                .map_err(gdal_error)?;
            let mut file = tokio::fs::File::open(&target)
                .await
                .map_err(|e| export_failed(format!("GDAL wrote no file: {e}")))?;
            tokio::io::copy(&mut file, out)
                .await
                .map(drop)
                .map_err(ExportError::from)
        }
    };
    written.map_err(|e| match e {
        ExportError::Store(e) => e.into(),
        other => export_failed(other.to_string()),
    })
}

/// `GET /api/export/{file}`
pub(super) async fn export(
    State(ogc): State<Ogc>,
    Extension(caller): Extension<Caller>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    ApiPath(file): ApiPath<String>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let params = Params::new(pairs)?;
    let plan = plan(&ogc, &file, &params, caller.audience()).await?;
    let address = client.map(|Extension(ConnectInfo(a))| a.ip());
    let slot = match ogc.exports.acquire(address) {
        Ok(slot) => slot,
        Err(busy) => return Ok(busy.into_response()),
    };
    let layer = plan.columns.layer;
    let pages = first_chunk_read(resumable(ogc.store.clone(), layer, plan.query, HOLD)).await?;
    let (format, columns, crs) = (plan.format, plan.columns, plan.crs);
    let body = match format {
        Format::GeoJson => streamed(GeoJsonEncoder::new(columns), pages, slot),
        Format::Csv => streamed(CsvEncoder::new(columns, crs), pages, slot),
        Format::Gdal(gdal) => {
            let dir = TempDir::new().map_err(|e| export_failed(format!("no temporary directory: {e}")))?;
            let target = write_file(pages, columns, gdal, crs, &dir).await.map_err(gdal_error)?;
            let file = tokio::fs::File::open(&target)
                .await
                .map_err(|e| export_failed(format!("GDAL wrote no file: {e}")))?;
            // The directory lives as long as the body, which holds it.
            paced_body(tokio_util::io::ReaderStream::new(file), (slot, dir), SEND_IDLE)
        }
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", plan.name)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    // What a token holder exports may hold restricted fields: never cached for others.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}

/// Reads the first chunk before the response starts, so that what the store
/// refuses (a filter too costly, a store that is down) gets its own status.
async fn first_chunk_read(mut pages: ChunkStream) -> Result<ChunkStream, ApiError> {
    Ok(match pages.try_next().await? {
        Some(first) => Box::pin(stream::iter([Ok(first)]).chain(pages)),
        // The stream has ended and must not be polled again.
        None => Box::pin(stream::empty()),
    })
}

/// A GeoJSON or CSV body, written as pages are read and sent.
fn streamed(encoder: impl Encoder, pages: ChunkStream, slot: impl Send + 'static) -> Body {
    let chunks = encoded_chunks(encoder, pages).map_ok(Bytes::from);
    paced_body(chunks, slot, SEND_IDLE)
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

fn export_failed(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "export_failed", message)
}

fn gdal_error(e: ExportError) -> ApiError {
    match e {
        ExportError::Store(e) => e.into(),
        ExportError::GdalMissing(_) => ApiError::new(StatusCode::NOT_IMPLEMENTED, "gdal_missing", e.to_string()),
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
