//! `/styles/{name}.json`: the bundled MapLibre styles with absolute URLs for
//! the host that was asked.

use crate::AppState;
use crate::assets::{STYLE_NAMES, style_template};
use crate::error::ApiError;
use crate::origin::request_origin;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

/// `GET /styles/{name}.json`
pub async fn style(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(file) = path?;
    let template = file.strip_suffix(".json").and_then(style_template).ok_or_else(|| {
        ApiError::not_found(
            "unknown_style",
            format!(
                "no style '{}'; styles: {}",
                file.chars().take(64).collect::<String>(),
                STYLE_NAMES.join(", ")
            ),
        )
    })?;
    let origin = request_origin(state.config.public_url.as_deref(), &headers);
    let body = template.replace("{origin}", &origin);
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}
