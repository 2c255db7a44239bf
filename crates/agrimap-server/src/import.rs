//! `POST /api/import/{layer}` (editors): a GIS file as the body, imported
//! into the layer in one transaction, as `agrimap import` does.
//!
//! The format comes from `?format=` (geojson, csv, gpkg, kml, zip for a
//! zipped Shapefile or MapInfo TAB, shp.zip, dgn, ...), the extension of
//! `?filename=`, or the Content-Type, in that order; `srs`, `map` (repeated
//! or comma-separated `source=field`), `commune_field`, `encoding` and
//! `skip_invalid` are the CLI's options. The answer is the import report:
//! 200 when written, 422 when records were refused and nothing was written.
//! The body goes to a private temporary directory (GDAL reads files, and a
//! zipped Shapefile through `/vsizip/`), removed when the request ends.
//! Editors may read restricted fields, so the report needs no redaction;
//! values are not quoted in it for restricted fields anyway.

use crate::AppState;
use crate::Route;
use crate::auth::Need;
use crate::auth::Role;
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiQuery};
use agrimap_io::import::{ImportError, ImportOptions, ImportReport, import, parse_mapping, parse_setting};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![
        Route::new(
            Method::POST,
            "/api/import/{layer}",
            Need::AtLeast(Role::Editor),
            axum::routing::post(post),
        )
        .with_body_limit(MAX_BYTES),
    ]
}

/// Largest upload: a province's parcels as a zipped Shapefile.
pub const MAX_BYTES: usize = 256 * 1024 * 1024;

const PARAMETERS: &[&str] = &[
    "format",
    "filename",
    "srs",
    "map",
    "commune_field",
    "encoding",
    "skip_invalid",
    "replace",
    "set",
];

/// Formats by name, as `?format=` takes them, with the extension GDAL knows them by.
const FORMATS: &[(&str, &str)] = &[
    ("geojson", "geojson"),
    ("json", "geojson"),
    ("csv", "csv"),
    ("gpkg", "gpkg"),
    ("kml", "kml"),
    ("zip", "zip"),
    ("shp.zip", "zip"),
    ("shp", "zip"),
    ("tab", "zip"),
    ("dgn", "dgn"),
    ("fgb", "fgb"),
    ("gml", "gml"),
];

const CONTENT_TYPES: &[(&str, &str)] = &[
    ("application/geo+json", "geojson"),
    ("application/json", "geojson"),
    ("text/csv", "csv"),
    ("application/geopackage+sqlite3", "gpkg"),
    ("application/vnd.google-earth.kml+xml", "kml"),
    ("application/zip", "zip"),
    ("application/x-zip-compressed", "zip"),
];

fn extension(params: &[(String, String)], headers: &HeaderMap) -> Result<&'static str, ApiError> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_lowercase())
    };
    let known = || FORMATS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
    if let Some(f) = get("format") {
        return FORMATS.iter().find(|(n, _)| *n == f).map(|(_, e)| *e).ok_or_else(|| {
            ApiError::bad_request(
                "unknown_format",
                format!(
                    "unknown format '{}'; known formats: {}",
                    crate::ogc::params::echo(&f),
                    known()
                ),
            )
        });
    }
    if let Some(name) = get("filename") {
        return FORMATS
            .iter()
            .find(|(n, _)| name.ends_with(&format!(".{n}")))
            .map(|(_, e)| *e)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "unknown_format",
                    format!("the file name does not end in a known format: {}", known()),
                )
            });
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_lowercase())
        .unwrap_or_default();
    CONTENT_TYPES
        .iter()
        .find(|(t, _)| *t == content_type)
        .map(|(_, e)| *e)
        .ok_or_else(|| {
            ApiError::bad_request(
                "unknown_format",
                format!(
                    "say the file's format with ?format= ({}), ?filename=, or a Content-Type",
                    known()
                ),
            )
        })
}

fn options(params: &[(String, String)]) -> Result<ImportOptions, ApiError> {
    if let Some((name, _)) = params.iter().find(|(n, _)| !PARAMETERS.contains(&n.as_str())) {
        return Err(ApiError::bad_request(
            "unknown_parameter",
            format!(
                "unknown query parameter '{}'; this resource takes: {}",
                crate::ogc::params::echo(name),
                PARAMETERS.join(", ")
            ),
        ));
    }
    let get = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim().to_owned());
    let mut mappings = Vec::new();
    for (_, v) in params.iter().filter(|(n, _)| n == "map") {
        for pair in v.split(',').filter(|p| !p.trim().is_empty()) {
            mappings.push(parse_mapping(pair).map_err(|m| ApiError::bad_request("bad_field_mapping", m))?);
        }
    }
    let mut set = Vec::new();
    for (_, v) in params.iter().filter(|(n, _)| n == "set") {
        set.push(parse_setting(v).map_err(|m| ApiError::bad_request("bad_field_mapping", m))?);
    }
    let flag = |name: &str| match get(name).as_deref() {
        None | Some("false" | "0") => Ok(false),
        Some("" | "true" | "1") => Ok(true),
        Some(_) => Err(ApiError::bad_request(
            "bad_parameter",
            format!("{name} is true or false"),
        )),
    };
    Ok(ImportOptions {
        srs: get("srs").filter(|s| !s.is_empty()),
        mappings,
        commune_field: get("commune_field").filter(|s| !s.is_empty()),
        skip_invalid: flag("skip_invalid")?,
        encoding: get("encoding").filter(|s| !s.is_empty()),
        replace: flag("replace")?,
        set,
        boundary_set: get("boundary_set")
            .filter(|s| !s.is_empty())
            .map(|s| agrimap_core::communes::parse_boundary_set(&s))
            .transpose()?,
        province: get("province").filter(|s| !s.is_empty()),
    })
}

fn refused(e: &ImportError) -> ApiError {
    let status = match e {
        ImportError::NeedsGdal { .. } => StatusCode::NOT_IMPLEMENTED,
        ImportError::Mapping(_) | ImportError::Layer(_) => StatusCode::BAD_REQUEST,
        ImportError::Store(agrimap_store::StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
        ImportError::Store(agrimap_store::StoreError::InvalidFeature { .. }) => StatusCode::UNPROCESSABLE_ENTITY,
        ImportError::Store(_) | ImportError::Task(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::new(status, e.code(), e.to_string())
}

/// Removes the upload's directory when the request ends, however it ends.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn answer(report: &ImportReport) -> Response {
    if report.written {
        return (StatusCode::OK, Json(report)).into_response();
    }
    let message = if report.rejected.is_empty() {
        "the file holds nothing to import".to_owned()
    } else {
        format!(
            "{} records cannot be imported; nothing was written (skip_invalid=true imports the rest)",
            report.rejected.len()
        )
    };
    let body = json!({"error": {"code": "invalid_records", "message": message, "report": report}});
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

/// `POST /api/import/{layer}`
pub(crate) async fn post(
    State(state): State<AppState>,
    Path(layer): Path<String>,
    ApiQuery(params): ApiQuery<Vec<(String, String)>>,
    headers: HeaderMap,
    ApiBody(body): ApiBody,
) -> Result<Response, ApiError> {
    let Some(layer_def) = agrimap_model::layer(&layer) else {
        return Err(ApiError::not_found(
            "unknown_layer",
            format!("unknown layer '{}'", crate::ogc::params::echo(&layer)),
        ));
    };
    let opts = options(&params)?;
    let ext = extension(&params, &headers)?;
    if body.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_file",
            "the request has no body: send the file as it",
        ));
    }
    let id = agrimap_core::tokens::new_token_id()
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "import_failed", e.to_string()))?;
    let dir = Scratch(std::env::temp_dir().join(format!("agrimap-import-{id}")));
    let path = dir.0.join(format!("upload.{ext}"));
    let write = async {
        tokio::fs::create_dir_all(&dir.0).await?;
        tokio::fs::write(&path, &body).await
    };
    write.await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "import_failed",
            format!("keeping the upload: {e}"),
        )
    })?;
    let report = import(state.core.store.as_ref(), layer_def, &path, &opts)
        .await
        .map_err(|e| refused(&e))?;
    tracing::info!(
        layer = layer_def.id,
        inserted = report.inserted,
        updated = report.updated,
        rejected = report.rejected.len(),
        "import"
    );
    Ok(answer(&report))
}
