//! `/api/communes` (find or list communes) and `/api/communes/{code}` (one
//! commune with its district, province and boundary), over the core's
//! [`CommuneIndex`](agrimap_core::communes::CommuneIndex).

use crate::AppState;
use crate::Route;
use crate::auth::Need;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use agrimap_core::communes::list::{self, List, ListParams, parse_boundary_set};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

pub use agrimap_core::communes::list::{DEFAULT_LIMIT, MAX_LIMIT};

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![
        Route::get("/api/communes", Need::Anyone, list),
        Route::get("/api/communes/{code}", Need::Anyone, detail),
        Route::get("/api/provinces", Need::Anyone, provinces),
    ]
}

/// Query parameters of `/api/communes/{code}`.
#[derive(Debug, Deserialize)]
struct DetailParams {
    boundary_set: Option<String>,
}

/// `GET /api/communes?q=…&province=…&district=…&boundary_set=…&limit=…&offset=…`:
/// communes matching `q` (by name or code), best match first; without `q`,
/// every commune in code order. Paged by `limit` (default 10, at most 50) and `offset`.
/// `former` lists the old communes (before the 2025 reform) whose name matches
/// `q`, each with the 2025 commune it went into.
async fn list(State(state): State<AppState>, ApiQuery(p): ApiQuery<ListParams>) -> Result<Response, ApiError> {
    let list = List::new(&p)?;
    let index = state.core.commune_index().await?;
    let page = list.page(&index)?;
    let mut body = page.to_json();
    body["former"] = if list.asks_former_names() {
        let former = state.core.communes.former.get(state.core.store.as_ref()).await?;
        list.former_json(&index, &former)
    } else {
        json!([])
    };
    Ok(Json(body).into_response())
}

/// `GET /api/provinces`: each province the store holds communes of, by
/// boundary set (newest first), with its name, number of communes and box.
async fn provinces(State(state): State<AppState>) -> Result<Response, ApiError> {
    let index = state.core.commune_index().await?;
    Ok(Json(json!({ "provinces": index.provinces_held() })).into_response())
}

/// `GET /api/communes/{code}[?boundary_set=…]`: the commune with its district,
/// province, area, NTM status, population, bounding box and boundary (GeoJSON).
async fn detail(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
    ApiQuery(p): ApiQuery<DetailParams>,
) -> Result<Response, ApiError> {
    let boundary_set = parse_boundary_set(p.boundary_set.as_ref())?;
    let index = state.core.commune_index().await?;
    let commune = list::one(&index, &code, boundary_set)?;
    Ok(Json(list::detail(commune)).into_response())
}
