//! A GIS file uploaded for import (`POST /api/import/{layer}`): its format
//! and the import's options read from the request's parameters, as
//! `agrimap import` takes them on the command line, then imported into the
//! layer in one transaction by `agrimap_io::import`.
//!
//! The format comes from `format=` (geojson, csv, gpkg, kml, zip for a
//! zipped Shapefile or MapInfo TAB, shp.zip, dgn, ...), the extension of
//! `filename=`, or the content type, in that order; `srs`, `map` (repeated
//! or comma-separated `source=field`), `commune_field`, `encoding`,
//! `skip_invalid`, `replace` and `set` are the CLI's options. The file goes
//! to a private temporary directory (GDAL reads files, and a zipped
//! Shapefile through `/vsizip/`), removed when the import ends.

use crate::Core;
use crate::error::{CoreError, ErrorKind, echo};
use agrimap_io::import::{
    ImportError, ImportOptions, ImportReport, import as import_file, parse_mapping, parse_setting,
};
use agrimap_store::StoreError;

const PARAMETERS: &[&str] = &[
    "format",
    "filename",
    "srs",
    "map",
    "commune_field",
    "encoding",
    "source_layer",
    "skip_invalid",
    "replace",
    "set",
    "boundary_set",
    "province",
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

fn extension(params: &[(String, String)], content_type: Option<&str>) -> Result<&'static str, CoreError> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_lowercase())
    };
    let known = || FORMATS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
    if let Some(f) = get("format") {
        return FORMATS.iter().find(|(n, _)| *n == f).map(|(_, e)| *e).ok_or_else(|| {
            CoreError::invalid(
                "unknown_format",
                format!("unknown format '{}'; known formats: {}", echo(&f, 64), known()),
            )
        });
    }
    if let Some(name) = get("filename") {
        return FORMATS
            .iter()
            .find(|(n, _)| name.ends_with(&format!(".{n}")))
            .map(|(_, e)| *e)
            .ok_or_else(|| {
                CoreError::invalid(
                    "unknown_format",
                    format!("the file name does not end in a known format: {}", known()),
                )
            });
    }
    let content_type = content_type
        .map(|v| v.split(';').next().unwrap_or("").trim().to_lowercase())
        .unwrap_or_default();
    CONTENT_TYPES
        .iter()
        .find(|(t, _)| *t == content_type)
        .map(|(_, e)| *e)
        .ok_or_else(|| {
            CoreError::invalid(
                "unknown_format",
                format!(
                    "say the file's format with ?format= ({}), ?filename=, or a Content-Type",
                    known()
                ),
            )
        })
}

fn options(params: &[(String, String)]) -> Result<ImportOptions, CoreError> {
    if let Some((name, _)) = params.iter().find(|(n, _)| !PARAMETERS.contains(&n.as_str())) {
        return Err(CoreError::invalid(
            "unknown_parameter",
            format!(
                "unknown query parameter '{}'; this resource takes: {}",
                echo(name, 64),
                PARAMETERS.join(", ")
            ),
        ));
    }
    let get = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim().to_owned());
    let mut mappings = Vec::new();
    for (_, v) in params.iter().filter(|(n, _)| n == "map") {
        for pair in v.split(',').filter(|p| !p.trim().is_empty()) {
            mappings.push(parse_mapping(pair).map_err(|m| CoreError::invalid("bad_field_mapping", m))?);
        }
    }
    let mut set = Vec::new();
    for (_, v) in params.iter().filter(|(n, _)| n == "set") {
        set.push(parse_setting(v).map_err(|m| CoreError::invalid("bad_field_mapping", m))?);
    }
    let flag = |name: &str| match get(name).as_deref() {
        None | Some("false" | "0") => Ok(false),
        Some("" | "true" | "1") => Ok(true),
        Some(_) => Err(CoreError::invalid("bad_parameter", format!("{name} is true or false"))),
    };
    Ok(ImportOptions {
        srs: get("srs").filter(|s| !s.is_empty()),
        mappings,
        commune_field: get("commune_field").filter(|s| !s.is_empty()),
        skip_invalid: flag("skip_invalid")?,
        encoding: get("encoding").filter(|s| !s.is_empty()),
        source_layer: get("source_layer").filter(|s| !s.is_empty()),
        replace: flag("replace")?,
        set,
        boundary_set: crate::communes::boundary_set_param(get("boundary_set").as_deref())?,
        province: get("province").filter(|s| !s.is_empty()),
        writable_provinces: Vec::new(),
    })
}

fn refused(e: &ImportError) -> CoreError {
    let kind = match e {
        ImportError::NeedsGdal { .. } => ErrorKind::Unsupported,
        ImportError::Mapping(_) | ImportError::Layer(_) => ErrorKind::Invalid,
        ImportError::OutsideProvinces(_) => ErrorKind::Forbidden,
        ImportError::Store(StoreError::Unavailable(_)) => ErrorKind::Unavailable,
        ImportError::Store(StoreError::InvalidFeature { .. }) => ErrorKind::Unprocessable,
        ImportError::Store(_) | ImportError::Task(_) => ErrorKind::Internal,
        _ => ErrorKind::Unprocessable,
    };
    CoreError::new(kind, e.code(), e.to_string())
}

/// Removes the upload's directory when the request ends, however it ends.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Imports the uploaded file `body` into `layer`, as `params` and the
/// request's content type say.
///
/// # Errors
/// `unknown_layer` (not found); `unknown_parameter`, `unknown_format`,
/// `bad_field_mapping` or `bad_parameter` for what the request asks;
/// `empty_file` for no file; the import's refusal, with its code.
pub async fn import(
    core: &Core,
    layer: &str,
    params: &[(String, String)],
    content_type: Option<&str>,
    body: &[u8],
    writable_provinces: &[String],
) -> Result<ImportReport, CoreError> {
    let Some(layer_def) = agrimap_model::layer(layer) else {
        return Err(CoreError::not_found(
            "unknown_layer",
            format!("unknown layer '{}'", echo(layer, 64)),
        ));
    };
    let opts = ImportOptions {
        writable_provinces: writable_provinces.to_vec(),
        ..options(params)?
    };
    let ext = extension(params, content_type)?;
    if body.is_empty() {
        return Err(CoreError::new(
            ErrorKind::Unprocessable,
            "empty_file",
            "the request has no body: send the file as it",
        ));
    }
    let id = crate::tokens::new_token_id().map_err(|e| CoreError::internal("import_failed", e.to_string()))?;
    let dir = Scratch(std::env::temp_dir().join(format!("agrimap-import-{id}")));
    let path = dir.0.join(format!("upload.{ext}"));
    let write = async {
        tokio::fs::create_dir_all(&dir.0).await?;
        tokio::fs::write(&path, body).await
    };
    write
        .await
        .map_err(|e| CoreError::internal("import_failed", format!("keeping the upload: {e}")))?;
    let report = import_file(core.store.as_ref(), layer_def, &path, &opts)
        .await
        .map_err(|e| refused(&e))?;
    tracing::info!(
        layer = layer_def.id,
        inserted = report.inserted,
        updated = report.updated,
        rejected = report.rejected.len(),
        "import"
    );
    Ok(report)
}
