//! `/api/codes`: the value lists (crop types, seasons, species, …) with their
//! labels, for legends, popups and clients; admins add and retire codes.

use crate::AppState;
use crate::Route;
use crate::auth::{Need, Role};
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiPath};
use agrimap_model::Code;
use agrimap_model::codes::CODE_LISTS;
use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![
        Route::new(Method::GET, "/api/codes", Need::Anyone, get(all)),
        Route::new(Method::GET, "/api/codes/{list}", Need::Anyone, get(one)),
        Route::new(Method::POST, "/api/codes/{list}", Need::AtLeast(Role::Admin), post(add)),
        Route::new(
            Method::DELETE,
            "/api/codes/{list}/{code}",
            Need::AtLeast(Role::Admin),
            delete(retire),
        ),
    ]
}

fn code_json(c: &Code) -> JsonValue {
    json!({ "code": c.code, "label_vi": c.label_vi, "label_en": c.label_en, "retired": c.retired })
}

/// Every list with its titles and codes.
fn lists_json(codes: &[Code], only: Option<&str>) -> Vec<JsonValue> {
    CODE_LISTS
        .iter()
        .filter(|(id, ..)| only.is_none_or(|o| o == *id))
        .map(|(id, vi, en)| {
            let of_list: Vec<JsonValue> = codes.iter().filter(|c| c.list == *id).map(code_json).collect();
            json!({ "list": id, "title_vi": vi, "title_en": en, "codes": of_list })
        })
        .collect()
}

/// `GET /api/codes`: every list and its codes (retired ones marked).
async fn all(State(state): State<AppState>) -> Result<Json<JsonValue>, ApiError> {
    let codes = state.core.store.codes().await.map_err(agrimap_core::CoreError::from)?;
    Ok(Json(json!({ "lists": lists_json(&codes, None) })))
}

/// `GET /api/codes/{list}`
async fn one(State(state): State<AppState>, ApiPath(list): ApiPath<String>) -> Result<Json<JsonValue>, ApiError> {
    if !agrimap_model::codes::is_code_list(&list) {
        return Err(agrimap_core::CoreError::from(agrimap_store::StoreError::Code(
            agrimap_model::codes::CodeError::UnknownList(agrimap_core::echo(&list, 64)),
        ))
        .into());
    }
    let codes = state.core.store.codes().await.map_err(agrimap_core::CoreError::from)?;
    let mut lists = lists_json(&codes, Some(&list));
    Ok(Json(lists.pop().unwrap_or(JsonValue::Null)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCode {
    code: String,
    label_vi: String,
    label_en: String,
}

/// `POST /api/codes/{list}` `{"code", "label_vi", "label_en"}` (admins): 201.
async fn add(
    State(state): State<AppState>,
    ApiPath(list): ApiPath<String>,
    ApiBody(body): ApiBody,
) -> Result<Response, ApiError> {
    let new: NewCode = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "bad_code",
            format!("the body must be {{\"code\": \"...\", \"label_vi\": \"...\", \"label_en\": \"...\"}}: {e}"),
        )
    })?;
    let code = Code {
        list,
        code: new.code,
        label_vi: new.label_vi,
        label_en: new.label_en,
        retired: false,
    };
    state
        .core
        .store
        .add_code(&code)
        .await
        .map_err(agrimap_core::CoreError::from)?;
    Ok((StatusCode::CREATED, Json(code_json(&code))).into_response())
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
