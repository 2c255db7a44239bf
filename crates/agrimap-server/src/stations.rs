//! Monitoring stations: readings in (`POST /api/stations/{id}/readings`, by
//! the station itself with its own token), series out
//! (`GET /api/stations/{id}/readings`), and the stations on watch or alarm
//! (`GET /api/alerts`).
//!
//! A batch lands whole or not at all, and repeating it changes nothing: the
//! store skips readings it has (same station, parameter and time). Every
//! reading is checked first (known parameter, its unit, a possible value, a
//! time not in the future) and a bad batch is answered with every bad reading
//! named. The station's alert state is judged from its latest readings with
//! the thresholds and stored in the same transaction, so the `monitoring`
//! tiles colour stations by it.

use crate::AppState;
use crate::auth::secret::{hash_token, same_hash};
use crate::auth::{Caller, Role};
use crate::error::ApiError;
use agrimap_model::readings::{AlertCause, AlertState, Threshold, alert_state, check_reading, parse_utc};
use agrimap_model::{CompareOp, Feature, FeatureQuery, Filter, LayerDef, Reading, Value, layer};
use agrimap_store::{ReadingQuery, StationAlert, Store};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Most readings one request may carry.
pub const MAX_BATCH: usize = 10_000;
/// A station clock this far ahead is tolerated.
pub(crate) const MAX_FUTURE_SECONDS: i64 = 600;

fn monitoring() -> &'static LayerDef {
    layer("monitoring").unwrap_or_else(|| panic!("the catalog has no monitoring layer"))
}

fn short(s: &str) -> String {
    s.chars().take(64).collect()
}

/// The station's feature, or 404.
pub(crate) async fn station(store: &dyn Store, id: &str) -> Result<Feature, ApiError> {
    let query = FeatureQuery {
        filter: Some(Filter::Compare {
            field: "station_id".into(),
            op: CompareOp::Eq,
            value: Value::from(id),
        }),
        limit: Some(1),
        ..FeatureQuery::default()
    };
    store
        .features(monitoring(), &query)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found("unknown_station", format!("no station '{}'", short(id))))
}

pub(crate) fn text<'a>(f: &'a Feature, name: &str) -> &'a str {
    monitoring()
        .field_index(name)
        .and_then(|i| f.properties[i].as_str())
        .unwrap_or("")
}

/// One reading as a station sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Incoming {
    parameter: String,
    value: f64,
    unit: String,
    time: String,
}

/// The body: a list of readings, or `{"readings": [...]}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Body {
    List(Vec<Incoming>),
    Wrapped { readings: Vec<Incoming> },
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// An editor (or admin) may post any station's readings; anyone else must
/// hold the station's own token.
async fn authenticate(store: &dyn Store, station_id: &str, caller: &Caller) -> Result<(), ApiError> {
    if caller.role >= Role::Editor {
        return Ok(());
    }
    let unauthorized = |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message.to_owned());
    let token = caller
        .station_token
        .as_deref()
        .ok_or_else(|| unauthorized("send the station's token as 'Authorization: Bearer <token>'"))?;
    match store.station_token_hash(station_id).await? {
        Some(hash) if same_hash(&hash, &hash_token(token)) => Ok(()),
        _ => Err(unauthorized("the token is not this station's")),
    }
}

/// The latest reading of each parameter once `batch` is added to `stored`.
pub(crate) fn merged_latest(stored: Vec<Reading>, batch: &[Reading]) -> Vec<Reading> {
    let mut latest: BTreeMap<String, Reading> = stored.into_iter().map(|r| (r.parameter.clone(), r)).collect();
    for r in batch {
        // Times are normalised ISO UTC, so they compare as text.
        if latest.get(&r.parameter).is_none_or(|seen| seen.time < r.time) {
            latest.insert(r.parameter.clone(), r.clone());
        }
    }
    latest.into_values().collect()
}

/// Normalises a checked time to `YYYY-MM-DDTHH:MM:SSZ` (seconds precision),
/// so that both stores keep and compare it the same way.
pub(crate) fn normalise_time(t: &str) -> String {
    format!("{}Z", &t[..19])
}

/// Reads the body of `POST /api/stations/{id}/readings` for `station_id` and
/// checks every reading against `now_unix`: the good readings with their
/// times normalised, and `{index, error}` for each bad one.
///
/// # Errors
/// `bad_body` for a body that is not a list of 1 to [`MAX_BATCH`] readings.
pub fn readings_from_body(
    station_id: &str,
    body: &[u8],
    now_unix: i64,
) -> Result<(Vec<Reading>, Vec<JsonValue>), ApiError> {
    let parsed: Body = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "bad_body",
            format!("the body must be a JSON list of readings {{parameter, value, unit, time}}: {e}"),
        )
    })?;
    let incoming = match parsed {
        Body::List(v) | Body::Wrapped { readings: v } => v,
    };
    if incoming.is_empty() || incoming.len() > MAX_BATCH {
        return Err(ApiError::bad_request(
            "bad_body",
            format!("a batch holds 1 to {MAX_BATCH} readings, not {}", incoming.len()),
        ));
    }
    let mut readings = Vec::with_capacity(incoming.len());
    let mut errors = Vec::new();
    for (index, r) in incoming.into_iter().enumerate() {
        let reading = Reading {
            station_id: station_id.to_owned(),
            parameter: r.parameter,
            value: r.value,
            unit: r.unit,
            time: r.time,
        };
        match check_reading(&reading, now_unix, MAX_FUTURE_SECONDS) {
            Ok(()) => readings.push(Reading {
                time: normalise_time(&reading.time),
                ..reading
            }),
            Err(message) => errors.push(json!({"index": index, "error": message})),
        }
    }
    Ok((readings, errors))
}

/// `POST /api/stations/{id}/readings`
pub async fn post_readings(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    Extension(caller): Extension<Caller>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = path?;
    let body = body?;
    let (status, answer) = ingest_batch(&state, &id, &caller, &body).await?;
    Ok((status, Json(answer)).into_response())
}

/// One batch of a station's readings, whichever way it came (the HTTP
/// endpoint, or the MQTT listener in [`crate::mqtt`]): the station must
/// exist, the caller must hold its token (or be an editor), every reading is
/// checked, then the batch and the station's new alert state are stored in
/// one transaction. The answer is the status and JSON body of the HTTP
/// answer: 200 with what was stored, or 422 naming every bad reading (nothing
/// stored).
///
/// # Errors
/// `unknown_station` (404), `unauthorized` (401), `bad_body` (400), and the
/// store's errors (503 or 500: nothing was stored, the batch may be sent again).
pub async fn ingest_batch(
    state: &AppState,
    id: &str,
    caller: &Caller,
    body: &[u8],
) -> Result<(StatusCode, JsonValue), ApiError> {
    let store = state.store.as_ref();
    let feature = station(store, id).await?;
    authenticate(store, id, caller).await?;
    let (readings, errors) = readings_from_body(id, body, unix_now())?;
    if !errors.is_empty() {
        let body = json!({
            "error": {
                "code": "bad_readings",
                "message": format!("{} of the batch's readings are invalid; nothing was stored", errors.len()),
                "readings": errors,
            }
        });
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, body));
    }
    let latest = merged_latest(store.latest_readings(Some(id)).await?, &readings);
    let (alert, cause) = alert_state(
        &latest,
        text(&feature, "kind"),
        text(&feature, "commune_code"),
        &state.thresholds,
    );
    let accepted = readings.len();
    let added = store
        .ingest(
            readings,
            vec![StationAlert {
                station_id: id.to_owned(),
                state: alert.as_str(),
            }],
        )
        .await?;
    Ok((
        StatusCode::OK,
        json!({
            "station_id": id,
            "accepted": accepted,
            "stored": added,
            "duplicates": accepted - added,
            "alert_state": alert,
            "alert_cause": cause,
        }),
    ))
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

/// One aggregated bucket.
#[derive(Debug, Clone, serde::Serialize)]
struct Bucket {
    parameter: String,
    time: String,
    min: f64,
    max: f64,
    mean: f64,
    count: u64,
}

/// The start of a reading's hour or day. A stored time that is not ISO 8601
/// (written by another SQLite or SQL client) is a bucket of its own.
fn bucket_start(time: &str, step: &str) -> String {
    match step {
        "hour" => time
            .get(..13)
            .map_or_else(|| time.to_owned(), |t| format!("{t}:00:00Z")),
        _ => time
            .get(..10)
            .map_or_else(|| time.to_owned(), |d| format!("{d}T00:00:00Z")),
    }
}

fn aggregate(readings: &[Reading], step: &str) -> Vec<Bucket> {
    let mut buckets: BTreeMap<(String, String), Bucket> = BTreeMap::new();
    for r in readings {
        let start = bucket_start(&r.time, step);
        let b = buckets
            .entry((r.parameter.clone(), start.clone()))
            .or_insert_with(|| Bucket {
                parameter: r.parameter.clone(),
                time: start,
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
                mean: 0.0,
                count: 0,
            });
        b.min = b.min.min(r.value);
        b.max = b.max.max(r.value);
        b.mean += r.value;
        b.count += 1;
    }
    let mut out: Vec<Bucket> = buckets
        .into_values()
        .map(|mut b| {
            b.mean /= b.count as f64;
            b
        })
        .collect();
    out.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.parameter.cmp(&b.parameter)));
    out
}

fn time_bound(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    value
        .map(|t| {
            parse_utc(&t).map(|_| normalise_time(&t)).ok_or_else(|| {
                ApiError::bad_request(
                    "bad_time",
                    format!(
                        "{name} must be an ISO 8601 UTC time like 2026-11-01T00:00:00Z, not '{}'",
                        short(&t)
                    ),
                )
            })
        })
        .transpose()
}

/// `GET /api/stations/{id}/readings?from&to&parameter&step=hour|day&f=csv`
pub async fn get_readings(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    params: Result<Query<SeriesParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = path?;
    let Query(params) = params.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let store = state.store.as_ref();
    station(store, &id).await?;
    if let Some(p) = &params.parameter
        && agrimap_model::readings::parameter(p).is_none()
    {
        let known: Vec<&str> = agrimap_model::readings::PARAMETERS.iter().map(|p| p.name).collect();
        return Err(ApiError::bad_request(
            "bad_parameter",
            format!("unknown parameter '{}'; parameters: {}", short(p), known.join(", ")),
        ));
    }
    let step = match params.step.as_deref() {
        None | Some("raw") => None,
        Some(s @ ("hour" | "day")) => Some(s),
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_step",
                format!("step must be raw, hour or day, not '{}'", short(other)),
            ));
        }
    };
    let csv = match params.f.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_format",
                format!("f must be json or csv, not '{}'", short(other)),
            ));
        }
    };
    let query = ReadingQuery {
        station_id: id.clone(),
        parameter: params.parameter,
        from: time_bound("from", params.from)?,
        to: time_bound("to", params.to)?,
    };
    let readings = store.readings_between(&query).await?;
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
            "step": step,
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

/// One station's state, for `/api/alerts` and the commune summary.
#[must_use]
pub fn judge(station: &Feature, latest: &[Reading], thresholds: &[Threshold]) -> (AlertState, Option<AlertCause>) {
    alert_state(latest, text(station, "kind"), text(station, "commune_code"), thresholds)
}

/// `GET /api/alerts`: stations on watch or alarm, the worst first, each with
/// the reading that put it there.
pub async fn alerts(State(state): State<AppState>) -> Result<Json<JsonValue>, ApiError> {
    let store = state.store.as_ref();
    let stations = store.features(monitoring(), &FeatureQuery::default()).await?;
    let mut latest: BTreeMap<String, Vec<Reading>> = BTreeMap::new();
    for r in store.latest_readings(None).await? {
        latest.entry(r.station_id.clone()).or_default().push(r);
    }
    let mut out = Vec::new();
    for s in &stations {
        let id = text(s, "station_id");
        let (alert, cause) = judge(s, latest.get(id).map_or(&[][..], Vec::as_slice), &state.thresholds);
        if alert != AlertState::Ok {
            let point = match &s.geometry {
                geo::Geometry::Point(p) => json!([p.x(), p.y()]),
                _ => JsonValue::Null,
            };
            out.push((
                alert,
                json!({
                    "station_id": id,
                    "name": text(s, "name"),
                    "kind": text(s, "kind"),
                    "commune_code": text(s, "commune_code"),
                    "alert_state": alert,
                    "cause": cause,
                    "location": point,
                }),
            ));
        }
    }
    out.sort_by_key(|(state, _)| std::cmp::Reverse(*state));
    Ok(Json(json!({
        "alerts": out.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_stored_times_are_buckets_of_their_own() {
        assert_eq!(bucket_start("2026-11-24T05:17:00Z", "hour"), "2026-11-24T05:00:00Z");
        assert_eq!(bucket_start("2026-11-24T05:17:00Z", "day"), "2026-11-24T00:00:00Z");
        assert_eq!(bucket_start("24/11/2026", "hour"), "24/11/2026");
        assert_eq!(bucket_start("2026-11-2Ц", "day"), "2026-11-2Ц");
    }
}
