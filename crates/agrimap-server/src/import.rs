//! `POST /api/import/{layer}` (editors): a GIS file as the body, imported
//! into the layer in one transaction, as `agrimap import` does
//! ([`agrimap_core::upload`] reads the format and options from the query
//! string and the Content-Type). The answer is the import report: 200 when
//! written, 422 when records were refused and nothing was written. Editors
//! may read restricted fields, so the report needs no redaction; values are
//! not quoted in it for restricted fields anyway.

use crate::AppState;
use crate::Route;
use crate::auth::{Need, Role};
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiPath, ApiQuery};
use agrimap_core::upload;
use agrimap_io::import::ImportReport;
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![Route::post("/api/import/{layer}", Need::AtLeast(Role::Editor), post).with_body_limit(MAX_BYTES)]
}

/// Largest upload: a province's parcels as a zipped Shapefile.
pub const MAX_BYTES: usize = 256 * 1024 * 1024;

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
    ApiPath(layer): ApiPath<String>,
    ApiQuery(params): ApiQuery<Vec<(String, String)>>,
    headers: HeaderMap,
    Extension(caller): Extension<crate::auth::Caller>,
    ApiBody(body): ApiBody,
) -> Result<Response, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let report = upload::import(&state.core, &layer, &params, content_type, &body, &caller.provinces).await?;
    Ok(answer(&report))
}
