//! `/api/codes`: the value lists (crop types, seasons, species, …) with their
//! labels ([`agrimap_core::codes`]), for legends, popups and clients; admins
//! add and retire codes.

use crate::AppState;
use crate::Route;
use crate::auth::{Need, Role};
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiPath};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value as JsonValue;

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![
        Route::get("/api/codes", Need::Anyone, all),
        Route::get("/api/codes/{list}", Need::Anyone, one),
        Route::post("/api/codes/{list}", Need::AtLeast(Role::Admin), add),
        Route::delete("/api/codes/{list}/{code}", Need::AtLeast(Role::Admin), retire),
    ]
}

/// `GET /api/codes`: every list and its codes (retired ones marked).
async fn all(State(state): State<AppState>) -> Result<Json<JsonValue>, ApiError> {
    Ok(Json(state.core.code_lists().await?))
}

/// `GET /api/codes/{list}`
async fn one(State(state): State<AppState>, ApiPath(list): ApiPath<String>) -> Result<Json<JsonValue>, ApiError> {
    Ok(Json(state.core.code_list(&list).await?))
}

/// `POST /api/codes/{list}` `{"code", "label_vi", "label_en"}` (admins): 201.
async fn add(
    State(state): State<AppState>,
    ApiPath(list): ApiPath<String>,
    ApiBody(body): ApiBody,
) -> Result<Response, ApiError> {
    let code = state.core.add_code(list, &body).await?;
    Ok((StatusCode::CREATED, Json(code)).into_response())
}

/// `DELETE /api/codes/{list}/{code}` (admins): retires the code, refused
/// (422 `code_in_use`, with the count) while features use it.
async fn retire(
    State(state): State<AppState>,
    ApiPath((list, code)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    state
        .core
        .store
        .retire_code(&list, &code)
        .await
        .map_err(agrimap_core::CoreError::from)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
