//! Monitoring stations over HTTP: readings in (`POST /api/stations/{id}/readings`,
//! by the station itself with its own token, or an editor; `POST /api/readings`,
//! an editor's CSV file), series out (`GET /api/stations/{id}/readings`), and
//! the stations on watch or alarm (`GET /api/alerts`). The work is the core's
//! ([`agrimap_core::ingest`], [`agrimap_core::stations`]); this module reads
//! requests and writes answers.

use crate::AppState;
use crate::Route;
use crate::auth::Need;
use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiPath, ApiQuery};
use agrimap_core::echo;
use agrimap_core::ingest::{BadReading, Credential, IngestError, parse_batch};
use agrimap_core::stations::{Step, aggregate};
use agrimap_model::readings::utc_time;
use agrimap_store::ReadingQuery;
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::Method;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Most bad rows of a CSV file named in its refusal: enough to fix the file by.
const MAX_ROWS_NAMED: usize = 1_000;

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
        Route::new(
            Method::GET,
            "/api/stations/{id}/readings",
            Need::Anyone,
            get(get_readings),
        ),
        Route::new(
            Method::POST,
            "/api/stations/{id}/readings",
            Need::StationOrEditor,
            post(post_readings),
        ),
        Route::new(
            Method::POST,
            "/api/readings",
            Need::AtLeast(Role::Editor),
            post(post_csv),
        )
        .with_body_limit(agrimap_core::ingest::csv::MAX_BYTES),
        Route::new(Method::GET, "/api/alerts", Need::Anyone, get(alerts)),
    ]
}

/// What was sent: a station's batch (readings named by index) or an
/// editor's CSV file (rows named by line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    Batch,
    File,
}

/// The answer to a refused batch or file: status and JSON body.
#[must_use]
pub fn refusal(e: &IngestError, sent: Sent) -> (StatusCode, JsonValue) {
    let (status, code) = match e {
        IngestError::UnknownStation(_) => (StatusCode::NOT_FOUND, "unknown_station"),
        IngestError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
        IngestError::BadBody(_) if sent == Sent::File => (StatusCode::BAD_REQUEST, "bad_csv"),
        IngestError::BadBody(_) => (StatusCode::BAD_REQUEST, "bad_body"),
        IngestError::BadReadings(bad) => {
            let at = match sent {
                Sent::Batch => "index",
                Sent::File => "line",
            };
            let named: Vec<JsonValue> = bad
                .iter()
                .take(MAX_ROWS_NAMED)
                .map(|BadReading { at: n, message }| json!({ at: n, "error": message }))
                .collect();
            let (what, list) = if sent == Sent::File {
                (
                    format!("{} rows of the file are invalid; nothing was stored", bad.len()),
                    "rows",
                )
            } else {
                (e.to_string(), "readings")
            };
            let body = json!({"error": {"code": "bad_readings", "message": what, list: named}});
            return (StatusCode::UNPROCESSABLE_ENTITY, body);
        }
        IngestError::Store(store) => {
            let error = ApiError::from(store.clone());
            return (error.status, error.body());
        }
    };
    (status, ApiError::new(status, code, e.to_string()).body())
}

fn answer(status: StatusCode, body: JsonValue) -> Response {
    if status == StatusCode::UNAUTHORIZED {
        // The 401 names the scheme, as every other 401 of the service does.
        return ApiError::new(
            status,
            "unauthorized",
            body["error"]["message"].as_str().unwrap_or_default(),
        )
        .into_response();
    }
    (status, Json(body)).into_response()
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
        state.core.ingest(station, parse_batch(&body)?).await
    };
    Ok(match outcome.await {
        Ok(report) => Json(report).into_response(),
        Err(e) => {
            let (status, body) = refusal(&e, Sent::Batch);
            answer(status, body)
        }
    })
}

/// `POST /api/readings` (`text/csv`): an editor's file of readings of any stations.
pub(crate) async fn post_csv(State(state): State<AppState>, ApiBody(body): ApiBody) -> Result<Response, ApiError> {
    Ok(match state.core.ingest_csv(&body).await {
        Ok(report) => Json(report).into_response(),
        Err(e) => {
            let (status, body) = refusal(&e, Sent::File);
            answer(status, body)
        }
    })
}

/// Query of a time series.
#[derive(Debug, Deserialize)]
pub struct SeriesParams {
    from: Option<String>,
    to: Option<String>,
    parameter: Option<String>,
    step: Option<String>,
    f: Option<String>,
}

fn time_bound(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    value
        .map(|t| {
            utc_time(&t).ok_or_else(|| {
                ApiError::bad_request(
                    "bad_time",
                    format!(
                        "{name} must be an ISO 8601 UTC time like 2026-11-01T00:00:00Z, not '{}'",
                        echo(&t, 64)
                    ),
                )
            })
        })
        .transpose()
}

/// `GET /api/stations/{id}/readings?from&to&parameter&step=hour|day&f=csv`
pub(crate) async fn get_readings(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<SeriesParams>,
) -> Result<Response, ApiError> {
    state.core.station(&id).await?;
    if let Some(p) = &params.parameter
        && agrimap_model::readings::parameter(p).is_none()
    {
        let known: Vec<&str> = agrimap_model::readings::PARAMETERS.iter().map(|p| p.name).collect();
        return Err(ApiError::bad_request(
            "bad_parameter",
            format!("unknown parameter '{}'; parameters: {}", echo(p, 64), known.join(", ")),
        ));
    }
    let step = match params.step.as_deref() {
        None | Some("raw") => None,
        Some(s) if Step::parse(s).is_some() => Step::parse(s),
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_step",
                format!("step must be raw, hour or day, not '{}'", echo(other, 64)),
            ));
        }
    };
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
    let query = ReadingQuery {
        station_id: id.clone(),
        parameter: params.parameter,
        from: time_bound("from", params.from)?,
        to: time_bound("to", params.to)?,
    };
    let readings = state.core.store.readings_between(&query).await?;
    let units: BTreeMap<&str, &str> = agrimap_model::readings::PARAMETERS
        .iter()
        .map(|p| (p.name, p.unit))
        .collect();
    Ok(match (step, csv) {
        (None, false) => Json(json!({
            "station_id": id,
            "readings": readings.iter().map(|r| json!({"parameter": r.parameter, "value": r.value, "unit": r.unit, "time": r.time})).collect::<Vec<_>>(),
        }))
        .into_response(),
        (None, true) => {
            let mut out = String::from("time,parameter,value,unit\n");
            for r in &readings {
                let _ = writeln!(out, "{},{},{},{}", r.time, r.parameter, r.value, r.unit);
            }
            ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response()
        }
        (Some(step), false) => Json(json!({
            "station_id": id,
            "step": step.as_str(),
            "series": aggregate(&readings, step).iter().map(|b| json!({
                "parameter": b.parameter, "time": b.time, "min": b.min, "max": b.max,
                "mean": b.mean, "count": b.count, "unit": units.get(b.parameter.as_str()),
            })).collect::<Vec<_>>(),
        }))
        .into_response(),
        (Some(step), true) => {
            let mut out = String::from("time,parameter,min,max,mean,count,unit\n");
            for b in aggregate(&readings, step) {
                let unit = units.get(b.parameter.as_str()).copied().unwrap_or("");
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{},{unit}",
                    b.time, b.parameter, b.min, b.max, b.mean, b.count
                );
            }
            ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response()
        }
    })
}

/// `GET /api/alerts`: stations on watch or alarm, the worst first, each with
/// the reading that put it there.
pub(crate) async fn alerts(State(state): State<AppState>) -> Result<Json<JsonValue>, ApiError> {
    Ok(Json(json!({ "alerts": state.core.alerts().await? })))
}
