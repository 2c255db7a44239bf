//! `/styles/{name}.json`: the bundled MapLibre styles with absolute URLs for
//! the host that was asked; the planner style colours communes by
//! `?layer=crop&metric=area[&class=crop_type&value=rice]`
//! ([`agrimap_core::styles`]).

use crate::AppState;
use crate::Route;
use crate::auth::Need;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::origin::request_origin;
use agrimap_core::echo;
use agrimap_core::styles::{ChoroplethParams, STYLE_NAMES, style};
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![Route::get("/styles/{file}", Need::Anyone, get_style)]
}

/// `GET /styles/{name}.json`
pub(crate) async fn get_style(
    State(state): State<AppState>,
    ApiPath(file): ApiPath<String>,
    ApiQuery(params): ApiQuery<ChoroplethParams>,
    axum::extract::Extension(caller): axum::extract::Extension<crate::auth::Caller>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let name = file.strip_suffix(".json").unwrap_or_default();
    // Communes' NTM criteria met are the appraisal's working figures: planners' only.
    if params.layer.as_deref() == Some("ntm") && caller.role < crate::auth::Role::Planner {
        return Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the NTM choropleth needs a 'planner' token sent as 'Authorization: Bearer <token>'",
        ));
    }
    let origin = request_origin(state.config.public_url.as_deref(), &headers);
    let body = style(&state.core, name, &origin, &params).await?.ok_or_else(|| {
        ApiError::not_found(
            "unknown_style",
            format!("no style '{}'; styles: {}", echo(&file, 64), STYLE_NAMES.join(", ")),
        )
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}
