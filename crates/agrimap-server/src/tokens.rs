//! `/api/me` (who the caller is) and `/api/tokens` (API tokens, for admins).

use crate::AppState;
use crate::Route;
use crate::auth::Caller;
use crate::auth::Need;
use crate::auth::Role;
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiPath};
use agrimap_core::communes::merges::ProvinceMerges;
use agrimap_core::tokens::{issue_for, manages, revoke_for};
use agrimap_store::ApiToken;
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};

/// A token as listed: `provinces` as issued, `covers` with the pre-2025
/// provinces the official list merges into them.
fn token_json(t: &ApiToken, merges: &ProvinceMerges) -> JsonValue {
    json!({
        "id": t.id,
        "name": t.name,
        "role": t.role.name(),
        "created_at": t.created_at,
        "revoked_at": t.revoked_at,
        "provinces": t.provinces,
        "covers": merges.coverage(&t.provinces),
    })
}

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![
        Route::get("/api/me", Need::Anyone, me),
        Route::get("/api/tokens", Need::AtLeast(Role::Admin), list),
        Route::post("/api/tokens", Need::AtLeast(Role::Admin), create),
        Route::delete("/api/tokens/{id}", Need::AtLeast(Role::Admin), revoke),
    ]
}

/// `GET /api/me`: the caller's role, so that a page can show what it may do.
pub(crate) async fn me(Extension(caller): Extension<Caller>) -> Json<JsonValue> {
    Json(json!({ "role": caller.role.name(), "token": caller.token_id }))
}

/// `GET /api/tokens`: the tokens the caller manages (every token for an
/// admin of every province), without secrets.
pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<JsonValue>, ApiError> {
    let actor = caller.actor();
    let tokens = state.core.store.api_tokens().await?;
    let merges = state.core.province_merges().await?;
    Ok(Json(json!({
        "tokens": tokens
            .iter()
            .filter(|t| manages(&actor, t))
            .map(|t| token_json(t, &merges))
            .collect::<Vec<_>>()
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    role: String,
    /// Province codes the token is limited to; absent or empty for all.
    #[serde(default)]
    provinces: Vec<String>,
}

/// `POST /api/tokens` with `{"name": "...", "role": "planner"}`: the new
/// token, with its secret shown this once. An admin limited to provinces
/// issues tokens limited to provinces it covers.
pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiBody(body): ApiBody,
) -> Result<Response, ApiError> {
    let new: NewToken = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "bad_token_request",
            format!("the body must be {{\"name\": \"...\", \"role\": \"planner|editor|admin\"}}: {e}"),
        )
    })?;
    let (token, secret) = issue_for(
        state.core.store.as_ref(),
        &caller.actor(),
        &new.name,
        &new.role,
        &new.provinces,
    )
    .await?;
    let mut body = token_json(&token, &*state.core.province_merges().await?);
    body["token"] = secret.into();
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `DELETE /api/tokens/{id}`: revokes a token the caller manages at once.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    if revoke_for(state.core.store.as_ref(), &caller.actor(), &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(
            "unknown_token",
            format!("no valid token has the id '{}'", agrimap_core::echo(&id, 32)),
        ))
    }
}
