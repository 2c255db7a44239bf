//! The traceability registries over HTTP ([`agrimap_core::registry`]):
//!
//! - `GET /api/producers`, `/api/products`, `/api/growing-areas` (`?province=`)
//!   and `/{id}`: anyone; producers' contact details only for planners and up.
//!   `POST` of the same paths (editors): one record or an array, as JSON.
//! - `GET /api/{registry}/{id}/history` (planners): every change of a record.
//! - `POST /api/registry/import?kind=K` (editors): an xlsx or CSV file as the
//!   body; `GET /api/registry/export/{kind}.{xlsx|csv}`.
//! - `GET /api/registry/checks` (planners): the registry against the parcels.
//! - `GET /api/products/{id}/qr.svg`, `/qr.png`, `/label.svg`: the QR code of
//!   the product's page and a sheet of labels; `/scans` (editors): its scans by day.
//! - `GET /t/{id}`: the public product page ([`page`]).

mod page;

use crate::AppState;
use crate::Route;
use crate::auth::{Caller, Need, Role};
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiPath, ApiQuery};
use crate::respond::attachment;
use agrimap_core::echo;
use agrimap_core::registry::export::ExportFormat;
use agrimap_core::registry::sheet::SheetFormat;
use agrimap_core::registry::{RegistryReport, qr};
use agrimap_model::registry::RegistryKind;
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

/// Largest spreadsheet taken.
pub const MAX_SHEET_BYTES: usize = agrimap_core::registry::sheet::MAX_FILE_BYTES;

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    let mut routes = Vec::new();
    for (list, one, history) in [
        ("/api/producers", "/api/producers/{id}", "/api/producers/{id}/history"),
        ("/api/products", "/api/products/{id}", "/api/products/{id}/history"),
        (
            "/api/growing-areas",
            "/api/growing-areas/{id}",
            "/api/growing-areas/{id}/history",
        ),
    ] {
        routes.push(Route::get(list, Need::Anyone, list_records));
        routes.push(Route::post(list, Need::AtLeast(Role::Editor), post_records).with_body_limit(MAX_SHEET_BYTES));
        routes.push(Route::get(one, Need::Anyone, one_record));
        routes.push(Route::get(history, Need::AtLeast(Role::Planner), record_history));
    }
    routes.extend([
        Route::post("/api/registry/import", Need::AtLeast(Role::Editor), import).with_body_limit(MAX_SHEET_BYTES),
        Route::get("/api/registry/export/{file}", Need::Anyone, export),
        Route::get("/api/registry/checks", Need::AtLeast(Role::Planner), checks),
        Route::get("/api/products/{id}/qr.svg", Need::Anyone, qr_svg),
        Route::get("/api/products/{id}/qr.png", Need::Anyone, qr_png),
        Route::get("/api/products/{id}/label.svg", Need::Anyone, label_svg),
        Route::get("/api/products/{id}/scans", Need::AtLeast(Role::Editor), scans),
        Route::get("/t/{id}", Need::Anyone, page::product_page),
        Route::get("/t/{id}/", Need::Anyone, page::product_page),
    ]);
    routes
}

/// The registry a request path names (its second segment).
fn kind_of(uri: &axum::http::Uri) -> RegistryKind {
    let segment = uri.path().split('/').nth(2).unwrap_or_default();
    // The router only sends the three registries' paths here.
    RegistryKind::parse(segment).unwrap_or(RegistryKind::Products)
}

#[derive(Debug, Deserialize)]
struct ListParams {
    province: Option<String>,
}

async fn list_records(
    State(state): State<AppState>,
    uri: axum::http::Uri,
    ApiQuery(params): ApiQuery<ListParams>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let kind = kind_of(&uri);
    let records = state
        .core
        .registry_list(kind, params.province.as_deref(), caller.registry_reader())
        .await?;
    Ok(Json(json!({ "kind": kind.as_str(), "count": records.len(), "records": records })).into_response())
}

async fn one_record(
    State(state): State<AppState>,
    uri: axum::http::Uri,
    ApiPath(id): ApiPath<String>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let record = state
        .core
        .registry_record(kind_of(&uri), &id, caller.registry_reader())
        .await?;
    Ok(Json(record).into_response())
}

async fn record_history(
    State(state): State<AppState>,
    uri: axum::http::Uri,
    ApiPath(id): ApiPath<String>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let kind = kind_of(&uri);
    let changes = state.core.registry_history(kind, &id, caller.registry_reader()).await?;
    Ok(Json(json!({ "kind": kind.as_str(), "id": id, "changes": changes })).into_response())
}

/// 200 with the report when written, 422 when rows were refused (nothing written).
fn answer(report: &RegistryReport) -> Response {
    if report.written {
        return (StatusCode::OK, Json(report)).into_response();
    }
    let message = if report.refused.is_empty() {
        "the file holds no record".to_owned()
    } else {
        format!(
            "{} rows cannot be used; nothing was written (the first: {}, row {}: {})",
            report.refused.len(),
            report.refused[0].sheet,
            report.refused[0].row,
            report.refused[0].reason
        )
    };
    let body = json!({"error": {"code": "rows_refused", "message": message, "report": report}});
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

async fn post_records(
    State(state): State<AppState>,
    uri: axum::http::Uri,
    Extension(caller): Extension<Caller>,
    ApiBody(body): ApiBody,
) -> Result<Response, ApiError> {
    let report = state.core.registry_post(kind_of(&uri), &body, &caller.actor()).await?;
    Ok(answer(&report))
}

#[derive(Debug, Deserialize)]
struct ImportParams {
    kind: Option<String>,
    /// `xlsx` (any workbook) or `csv`; else from the Content-Type.
    format: Option<String>,
}

fn registry_kind(kind: Option<&str>) -> Result<RegistryKind, ApiError> {
    kind.and_then(RegistryKind::parse).ok_or_else(|| {
        ApiError::bad_request(
            "bad_kind",
            format!(
                "kind must be producers, products or growing-areas, not '{}'",
                echo(kind.unwrap_or_default(), 40)
            ),
        )
    })
}

async fn import(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ImportParams>,
    headers: HeaderMap,
    Extension(caller): Extension<Caller>,
    ApiBody(body): ApiBody,
) -> Result<Response, ApiError> {
    let kind = registry_kind(params.kind.as_deref())?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let format = match params.format.as_deref() {
        Some("csv") => SheetFormat::Csv,
        Some("xlsx" | "xls" | "ods") => SheetFormat::Workbook,
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_format",
                format!("format must be xlsx or csv, not '{}'", echo(other, 20)),
            ));
        }
        None if content_type.starts_with("text/csv") => SheetFormat::Csv,
        None => SheetFormat::Workbook,
    };
    let report = state
        .core
        .registry_import(kind, &body, format, "csv", &caller.actor())
        .await?;
    Ok(answer(&report))
}

async fn export(
    State(state): State<AppState>,
    ApiPath(file): ApiPath<String>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let (kind, format) = file
        .rsplit_once('.')
        .and_then(|(k, f)| Some((RegistryKind::parse(k)?, ExportFormat::parse(f)?)))
        .ok_or_else(|| {
            ApiError::not_found(
                "not_found",
                format!(
                    "'{}' is none of {{producers,products,growing-areas}}.{{xlsx,csv}}",
                    echo(&file, 40)
                ),
            )
        })?;
    let bytes = state
        .core
        .registry_export(kind, format, caller.registry_reader())
        .await?;
    Ok(attachment(format.content_type(), &file, bytes))
}

async fn checks(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(state.core.registry_checks().await?).into_response())
}

/// The page URL of a stored product (404 for an unknown one).
async fn page_url(state: &AppState, headers: &HeaderMap, id: &str) -> Result<String, ApiError> {
    // The view is what the page shows, and is kept in memory: a cheap check.
    state.core.product_view(id).await?;
    let origin = crate::origin::request_origin(state.config.public_url.as_deref(), headers);
    Ok(qr::product_url(&origin, id))
}

const IMAGE_CACHE: &str = "public, max-age=86400";

async fn qr_svg(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let url = page_url(&state, &headers, &id).await?;
    let svg = state
        .core
        .registry
        .image(&url, "svg", |u| qr::svg(u, 256).map(String::into_bytes))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, IMAGE_CACHE),
        ],
        svg,
    )
        .into_response())
}

async fn qr_png(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let url = page_url(&state, &headers, &id).await?;
    let png = state.core.registry.image(&url, "png", |u| qr::png(u, 8))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, IMAGE_CACHE),
        ],
        png,
    )
        .into_response())
}

async fn label_svg(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let url = page_url(&state, &headers, &id).await?;
    let view = state.core.product_view(&id).await?;
    let svg = page::label_sheet(&view, &url)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

async fn scans(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> Result<Response, ApiError> {
    let days = state.core.product_scans(&id).await?;
    let total: u64 = days.iter().map(|(_, n)| n).sum();
    let days: Vec<serde_json::Value> = days.iter().map(|(d, n)| json!({"day": d, "scans": n})).collect();
    Ok(Json(json!({ "product": id, "total": total, "days": days })).into_response())
}
