//! Reports people hand in ([`agrimap_core::reports`]):
//!
//! - `GET /api/reports/commune/{code}.xlsx|.html[?boundary_set=]`
//! - `GET /api/reports/province/{code}.xlsx|.html[?boundary_set=]`
//!
//! The workbook has one sheet per theme; the page prints on A4 with the
//! place's map. Both are public; a signed-in planner's (a token of at least
//! `planner`, limited to the place's province if limited at all) carry the
//! restricted fields too, and are not kept by caches.

use crate::AppState;
use crate::Route;
use crate::auth::{Caller, Need};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::respond::{XLSX, attachment};
use agrimap_core::communes::boundary_set_param;
use agrimap_core::reports::{Report, commune_report, page, province_report, workbook};
use axum::extract::{Extension, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![
        Route::get("/api/reports/commune/{file}", Need::Anyone, commune),
        Route::get("/api/reports/province/{file}", Need::Anyone, province),
    ]
}

#[derive(Debug, Deserialize)]
pub struct ReportParams {
    boundary_set: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum Form {
    Xlsx,
    Html,
}

/// `33030.xlsx` → (`33030`, workbook).
fn split_file(file: &str) -> Result<(&str, Form), ApiError> {
    let bad = || {
        ApiError::bad_request(
            "bad_format",
            format!(
                "a report is {{code}}.xlsx or {{code}}.html, not '{}'",
                agrimap_core::echo(file, 64)
            ),
        )
    };
    let (code, ext) = file.rsplit_once('.').ok_or_else(bad)?;
    let form = match ext {
        "xlsx" => Form::Xlsx,
        "html" => Form::Html,
        _ => return Err(bad()),
    };
    if code.is_empty() {
        return Err(bad());
    }
    Ok((code, form))
}

fn respond(report: &Report, form: Form) -> Result<Response, ApiError> {
    let h = &report.heading;
    // A report with restricted fields is the caller's alone.
    let cache = if h.restricted { "private, no-store" } else { "no-cache" };
    let mut response = match form {
        Form::Xlsx => attachment(
            XLSX,
            &format!("agrimap-{}-{}.xlsx", h.level, h.code),
            workbook::report_xlsx(report)?,
        ),
        Form::Html => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page::report_html(report),
        )
            .into_response(),
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, header::HeaderValue::from_static(cache));
    Ok(response)
}

/// `GET /api/reports/commune/{code}.xlsx|.html`
async fn commune(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(file): ApiPath<String>,
    ApiQuery(params): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let (code, form) = split_file(&file)?;
    let set = boundary_set_param(params.boundary_set.as_deref())?;
    let report = commune_report(&state.core, code, set, caller.audience(), &caller.provinces).await?;
    respond(&report, form)
}

/// `GET /api/reports/province/{code}.xlsx|.html`
async fn province(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(file): ApiPath<String>,
    ApiQuery(params): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let (code, form) = split_file(&file)?;
    let set = boundary_set_param(params.boundary_set.as_deref())?;
    let report = province_report(&state.core, code, set, caller.audience(), &caller.provinces).await?;
    respond(&report, form)
}
