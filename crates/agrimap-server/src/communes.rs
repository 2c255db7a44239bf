//! `/api/communes` (find or list communes) and `/api/communes/{code}` (one
//! commune with its district, province and boundary), over the core's
//! [`CommuneIndex`](agrimap_core::communes::CommuneIndex).

use crate::AppState;
use crate::Route;
use crate::auth::Need;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use agrimap_core::communes::{Commune, CommuneCache, CommuneQuery};
use agrimap_core::echo;
use agrimap_io::export::geojson::GeoJsonGeometry;
use agrimap_model::BoundarySet;
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

/// Page size when the request gives none.
pub const DEFAULT_LIMIT: usize = 10;
/// Largest page; larger limits are capped to it.
pub const MAX_LIMIT: usize = 50;

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![
        Route::new(Method::GET, "/api/communes", Need::Anyone, get(list)),
        Route::new(Method::GET, "/api/communes/{code}", Need::Anyone, get(detail)),
        Route::new(Method::GET, "/api/provinces", Need::Anyone, get(provinces)),
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

/// Query parameters of `/api/communes`; all text, checked by hand so that
/// every mistake answers a JSON error.
#[derive(Debug, Deserialize)]
struct ListParams {
    q: Option<String>,
    province: Option<String>,
    district: Option<String>,
    boundary_set: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

/// Query parameters of `/api/communes/{code}`.
#[derive(Debug, Deserialize)]
struct DetailParams {
    boundary_set: Option<String>,
}

/// A parameter given with a value (an empty one counts as not given).
fn given(p: Option<&String>) -> Option<&str> {
    p.map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn parse_boundary_set(p: Option<&String>) -> Result<Option<BoundarySet>, ApiError> {
    Ok(given(p).map(agrimap_core::communes::parse_boundary_set).transpose()?)
}

fn parse_limit(p: Option<&String>) -> Result<usize, ApiError> {
    let Some(s) = given(p) else {
        return Ok(DEFAULT_LIMIT);
    };
    match s.parse::<u64>() {
        Ok(0) | Err(_) => Err(ApiError::bad_request(
            "bad_limit",
            format!(
                "limit must be a whole number from 1 to {MAX_LIMIT}, got '{}'",
                echo(s, 64)
            ),
        )),
        // Larger pages are capped rather than refused.
        Ok(n) => Ok(usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT)),
    }
}

fn parse_offset(p: Option<&String>) -> Result<usize, ApiError> {
    given(p).map_or(Ok(0), |s| {
        s.parse::<usize>().map_err(|_| {
            ApiError::bad_request(
                "bad_offset",
                format!("offset must be a whole number from 0, got '{}'", echo(s, 64)),
            )
        })
    })
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
    let boundary_set = parse_boundary_set(p.boundary_set.as_ref())?;
    let limit = parse_limit(p.limit.as_ref())?;
    let offset = parse_offset(p.offset.as_ref())?;
    let index = api.cache.index(api.store.as_ref()).await?;
    let found = index.find(&CommuneQuery {
        text: p.q.as_deref().unwrap_or(""),
        province: given(p.province.as_ref()),
        district: given(p.district.as_ref()),
        boundary_set,
    })?;
    let page: Vec<JsonValue> = found.iter().skip(offset).take(limit).map(|c| summary(c)).collect();
    Ok(Json(json!({
        "communes": page,
        "total": found.len(),
        "offset": offset,
        "limit": limit,
    }))
    .into_response())
}

/// `GET /api/provinces`: each province the store holds communes of, by
/// boundary set (newest first), with its name, number of communes and box.
async fn provinces(State(api): State<Communes>) -> Result<Response, ApiError> {
    let index = api.cache.index(api.store.as_ref()).await?;
    Ok(Json(json!({ "provinces": index.provinces_held() })).into_response())
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
        "boundary": geojson(&c.boundary),
    }))
    .into_response())
}

/// A geometry as a GeoJSON geometry object (RFC 7946), longitude first.
#[must_use]
pub fn geojson(g: &geo::Geometry<f64>) -> JsonValue {
    serde_json::to_value(GeoJsonGeometry(g)).unwrap_or(JsonValue::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geojson_of_a_polygon_with_a_hole() {
        let outer = geo::LineString::from(vec![(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 0.0)]);
        let hole = geo::LineString::from(vec![(1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (1.0, 1.0)]);
        let g = geo::Geometry::Polygon(geo::Polygon::new(outer, vec![hole]));
        let j = geojson(&g);
        assert_eq!(j["type"], "Polygon");
        assert_eq!(j["coordinates"][1][2], json!([2.0, 2.0]));
    }
}
