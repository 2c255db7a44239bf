//! `GET /api/stats`: a statistics table of the core ([`agrimap_core::stats`])
//! as JSON or CSV.

use crate::AppState;
use crate::Route;
use crate::auth::Need;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use agrimap_core::echo;
use agrimap_core::stats::{StatsRequest, thematic_layers, to_csv};
use axum::Json;
use axum::extract::State;
use axum::http::Method;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![Route::new(Method::GET, "/api/stats", Need::Anyone, get(stats))]
}

/// Query parameters of `/api/stats`.
#[derive(Debug, Deserialize)]
pub struct StatsParams {
    layer: Option<String>,
    by: Option<String>,
    class: Option<String>,
    metric: Option<String>,
    boundary_set: Option<String>,
    province: Option<String>,
    f: Option<String>,
}

/// `GET /api/stats?layer=…&by=…&class=…&metric=…[&boundary_set=…][&province=…][&f=csv]`
pub(crate) async fn stats(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<StatsParams>,
) -> Result<Response, ApiError> {
    let layer = params.layer.as_deref().ok_or_else(|| {
        ApiError::bad_request(
            "bad_layer",
            format!("layer is required; layers: {}", thematic_layers().join(", ")),
        )
    })?;
    let request = StatsRequest::parse(
        layer,
        params.by.as_deref(),
        params.class.as_deref(),
        params.metric.as_deref(),
    )?
    .within(params.boundary_set.as_deref(), params.province.as_deref())?;
    let csv = match params.f.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_format",
                format!("f must be json or csv, not '{}'", echo(other, 64)),
            ));
        }
    };
    let table = state.core.stats.table(state.core.store.as_ref(), request).await?;
    Ok(if csv {
        ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], to_csv(&table)).into_response()
    } else {
        Json(table.as_ref()).into_response()
    })
}
