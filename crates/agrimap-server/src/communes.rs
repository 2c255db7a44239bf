//! `/api/communes` (find or list communes) and `/api/communes/{code}` (one
//! commune with its district, province and boundary), over the core's
//! [`CommuneIndex`](agrimap_core::communes::CommuneIndex).

use crate::AppState;
use crate::Route;
use crate::auth::Need;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use agrimap_core::communes::list::{List, ListParams, parse_boundary_set};
use agrimap_core::communes::{Commune, CommuneCache};
use agrimap_core::echo;
use agrimap_io::export::geojson::GeoJsonGeometry;
use agrimap_store::Store;
use axum::Json;
use axum::extract::FromRef;
use axum::extract::State;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};
use std::sync::Arc;

pub use agrimap_core::communes::list::{DEFAULT_LIMIT, MAX_LIMIT};

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![
        Route::new(Method::GET, "/api/communes", Need::Anyone, get(list)),
        Route::new(Method::GET, "/api/communes/{code}", Need::Anyone, get(detail)),
    ]
}

/// What the commune handlers share: the store and the index cache.
#[derive(Clone)]
pub(crate) struct Communes {
    store: Arc<dyn Store>,
    cache: Arc<CommuneCache>,
}

impl FromRef<AppState> for Communes {
    fn from_ref(state: &AppState) -> Self {
        Self {
            store: state.core.store.clone(),
            cache: state.core.communes.clone(),
        }
    }
}

/// Query parameters of `/api/communes/{code}`.
#[derive(Debug, Deserialize)]
struct DetailParams {
    boundary_set: Option<String>,
}

fn summary(c: &Commune) -> JsonValue {
    json!({
        "code": c.code,
        "name": c.name,
        "kind": c.kind,
        "district_code": c.district_code,
        "district_name": c.district_name,
        "province_code": c.province_code,
        "province_name": c.province_name,
        "boundary_set": c.boundary_set,
        "area_ha": c.area_ha,
        "bbox": c.bbox,
        "center": c.center,
    })
}

/// `GET /api/communes?q=…&province=…&district=…&boundary_set=…&limit=…&offset=…`:
/// communes matching `q` (by name or code), best match first; without `q`,
/// every commune in code order. Paged by `limit` (default 10, at most 50) and `offset`.
async fn list(State(api): State<Communes>, ApiQuery(p): ApiQuery<ListParams>) -> Result<Response, ApiError> {
    let list = List::new(&p)?;
    let index = api.cache.index(api.store.as_ref()).await?;
    let page = list.page(&index)?;
    Ok(Json(json!({
        "communes": page.communes.iter().map(|c| summary(c)).collect::<Vec<_>>(),
        "total": page.total,
        "offset": page.offset,
        "limit": page.limit,
    }))
    .into_response())
}

/// `GET /api/communes/{code}[?boundary_set=…]`: the commune with its district,
/// province, area, NTM status, population, bounding box and boundary (GeoJSON).
async fn detail(
    State(api): State<Communes>,
    ApiPath(code): ApiPath<String>,
    ApiQuery(p): ApiQuery<DetailParams>,
) -> Result<Response, ApiError> {
    let boundary_set = parse_boundary_set(p.boundary_set.as_ref())?;
    let index = api.cache.index(api.store.as_ref()).await?;
    let c = index.get(code.trim(), boundary_set).ok_or_else(|| {
        let within = boundary_set.map_or_else(String::new, |set| format!(" in the {set} boundary set"));
        ApiError::not_found(
            "unknown_commune",
            format!(
                "no commune has the code '{}'{within}; find communes by name or code with /api/communes?q=…",
                echo(&code, 64)
            ),
        )
    })?;
    let district = c
        .district_code
        .as_ref()
        .map(|code| json!({ "code": code, "name": c.district_name }));
    Ok(Json(json!({
        "code": c.code,
        "name": c.name,
        "kind": c.kind,
        "boundary_set": c.boundary_set,
        "district": district,
        "province": { "code": c.province_code, "name": c.province_name },
        "area_ha": c.area_ha,
        "ntm_status": c.ntm_status,
        "ntm_year": c.ntm_year,
        "population": c.population,
        "bbox": c.bbox,
        "center": c.center,
        "boundary": GeoJsonGeometry(&c.boundary).to_json(),
    }))
    .into_response())
}
