//! `GET /api/compare?communes=A,B[,C,D]&layers=…&boundary_set=&since=`:
//! two to four communes side by side ([`agrimap_core::compare`]), public.
//!
//! A code may name its boundary set (`33030@pre-2025`), so communes of the
//! two sets can stand side by side; `boundary_set=` applies to the codes
//! that do not. `since=YYYY-MM-DD` adds each commune's change since the
//! end of that day, by class of each layer; without it the answer's
//! `since` is `null`.

use crate::AppState;
use crate::Route;
use crate::auth::Need;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use agrimap_core::compare::{CompareRequest, compare};
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::Value as JsonValue;

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![Route::get("/api/compare", Need::Anyone, side_by_side)]
}

#[derive(Debug, Deserialize)]
pub struct CompareParams {
    communes: Option<String>,
    layers: Option<String>,
    boundary_set: Option<String>,
    since: Option<String>,
}

/// `GET /api/compare`
async fn side_by_side(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<CompareParams>,
) -> Result<Json<JsonValue>, ApiError> {
    let request = CompareRequest::parse(
        params.communes.as_deref(),
        params.layers.as_deref(),
        params.boundary_set.as_deref(),
        params.since.as_deref(),
    )?;
    Ok(Json(compare(&state.core, &request).await?))
}
