//! Monitoring stations over HTTP: readings in (`POST /api/stations/{id}/readings`,
//! by the station itself with its own token, or an editor; `POST /api/readings`,
//! an editor's CSV file), series out (`GET /api/stations/{id}/readings`), and
//! the stations on watch or alarm (`GET /api/alerts`). The work is the core's
//! ([`agrimap_core::ingest`], [`agrimap_core::stations`]); this module reads
//! requests and writes answers.

use crate::AppState;
use crate::Route;
use crate::auth::{Caller, Need, Role};
use crate::error::{ApiError, status_of};
use crate::extract::{ApiBody, ApiPath, ApiQuery};
use agrimap_core::ingest::{Credential, IngestError, Sent, parse_batch};
use agrimap_core::series::SeriesParams;
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as JsonValue, json};

/// How an HTTP caller proves it may send a station's readings.
fn credential(caller: &Caller) -> Credential<'_> {
    if caller.role >= Role::Editor {
        Credential::Editor
    } else {
        caller
            .station_token
            .as_deref()
            .map_or(Credential::None, Credential::StationToken)
    }
}

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![
        Route::get("/api/stations/{id}/readings", Need::Anyone, get_readings),
        Route::post("/api/stations/{id}/readings", Need::StationOrEditor, post_readings),
        Route::post("/api/readings", Need::AtLeast(Role::Editor), post_csv)
            .with_body_limit(agrimap_core::ingest::csv::MAX_BYTES),
        Route::get("/api/alerts", Need::Anyone, alerts),
    ]
}

/// The answer to a refused batch or file.
fn refused(e: &IngestError, sent: Sent) -> Response {
    let status = status_of(e.kind());
    if status == StatusCode::UNAUTHORIZED {
        // The 401 names the scheme, as every other 401 of the service does.
        return ApiError::new(status, "unauthorized", e.to_string()).into_response();
    }
    (status, Json(e.body(sent))).into_response()
}

/// `POST /api/stations/{id}/readings`: one station's batch.
pub(crate) async fn post_readings(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    Extension(caller): Extension<Caller>,
    ApiBody(body): ApiBody,
) -> Result<Response, ApiError> {
    let outcome = async {
        let station = state.core.admit(&id, credential(&caller)).await?;
        state.core.within_provinces(&station, &caller.provinces).await?;
        state.core.ingest(station, parse_batch(&body)?).await
    };
    Ok(match outcome.await {
        Ok(report) => Json(report).into_response(),
        Err(e) => refused(&e, Sent::Batch),
    })
}

/// `POST /api/readings` (`text/csv`): an editor's file of readings of any stations.
pub(crate) async fn post_csv(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiBody(body): ApiBody,
) -> Result<Response, ApiError> {
    Ok(match state.core.ingest_csv(&body, &caller.provinces).await {
        Ok(report) => Json(report).into_response(),
        Err(e) => refused(&e, Sent::File),
    })
}

/// `GET /api/stations/{id}/readings?from&to&parameter&step=hour|day&f=csv`
pub(crate) async fn get_readings(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<SeriesParams>,
) -> Result<Response, ApiError> {
    let series = state.core.series(&id, params).await?;
    Ok(if series.csv {
        ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], series.to_csv()).into_response()
    } else {
        Json(series.to_json()).into_response()
    })
}

/// `GET /api/alerts`: stations on watch or alarm, the worst first, each with
/// the reading that put it there.
pub(crate) async fn alerts(State(state): State<AppState>) -> Result<Json<JsonValue>, ApiError> {
    Ok(Json(json!({ "alerts": state.core.alerts().await? })))
}
