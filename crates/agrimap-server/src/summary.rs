//! `GET /api/communes/{code}/summary`: a commune's summary
//! ([`agrimap_core::summary`]), for planners.

use crate::AppState;
use crate::Route;
use crate::auth::Need;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use agrimap_core::summary::commune_summary;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::Value as JsonValue;

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![Route::get("/api/communes/{code}/summary", Need::Anyone, summary)]
}

#[derive(Debug, Deserialize)]
pub struct SummaryParams {
    boundary_set: Option<String>,
}

/// `GET /api/communes/{code}/summary[?boundary_set=…]`
pub(crate) async fn summary(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
    ApiQuery(params): ApiQuery<SummaryParams>,
) -> Result<Json<JsonValue>, ApiError> {
    let boundary_set = agrimap_core::communes::boundary_set_param(params.boundary_set.as_deref())?;
    Ok(Json(commune_summary(&state.core, &code, boundary_set).await?))
}
