//! `/health` and `/catalog`.

use crate::AppState;
use crate::Route;
use crate::auth::Need;
use agrimap_model::catalog as layer_catalog;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![
        Route::get("/health", Need::Anyone, health),
        Route::get("/catalog", Need::Anyone, catalog),
    ]
}

/// `GET /health`: 200 when the store answers, 503 when it does not; names the store either way.
pub(crate) async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let kind = state.core.store.kind();
    match state.core.store.health().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "store": kind, "database": "ok" })),
        ),
        Err(e) => {
            tracing::warn!(cause = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "store": kind, "database": "unavailable" })),
            )
        }
    }
}

/// `GET /catalog`: every layer with its schema, and whether each field is public or restricted.
pub(crate) async fn catalog() -> impl IntoResponse {
    Json(json!({ "layers": layer_catalog() }))
}
