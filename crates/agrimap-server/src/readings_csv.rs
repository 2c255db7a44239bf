//! `POST /api/readings` with a CSV body: readings an editor uploads, for any
//! stations (a logger's export, a laboratory's sheet).
//!
//! The header names the columns `station_id, parameter, value, unit, time`,
//! in any order. The whole file is checked first, each bad row named by its
//! line; then it lands in one transaction with every station's alert state,
//! or not at all. Rows already stored (same station, parameter and time) are
//! skipped, so uploading a file twice changes nothing.

use crate::AppState;
use crate::error::ApiError;
use crate::stations::{MAX_FUTURE_SECONDS, merged_latest, normalise_time, station, text, unix_now};
use agrimap_model::Reading;
use agrimap_model::readings::{alert_state, check_reading};
use agrimap_store::StationAlert;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value as JsonValue, json};
use std::collections::BTreeMap;

/// Most rows one upload may hold.
pub const MAX_ROWS: usize = 200_000;
/// Largest upload, in bytes (a year of hourly readings of a few stations).
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

const COLUMNS: [&str; 5] = ["station_id", "parameter", "value", "unit", "time"];

/// A row that could not be read, with its line in the file (the header is line 1).
#[derive(Debug)]
pub struct RowError {
    pub line: u64,
    pub message: String,
}

/// Where each column is, from the header.
fn column_positions(header: &csv::StringRecord) -> Result<[usize; 5], ApiError> {
    let names: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_lowercase())
        .collect();
    if let Some(extra) = names.iter().find(|n| !COLUMNS.contains(&n.as_str())) {
        return Err(ApiError::bad_request(
            "bad_csv",
            format!(
                "unknown column '{}'; the header names the columns {}",
                extra.chars().take(40).collect::<String>(),
                COLUMNS.join(", ")
            ),
        ));
    }
    let mut positions = [0; 5];
    for (slot, want) in positions.iter_mut().zip(COLUMNS) {
        *slot = names.iter().position(|n| n == want).ok_or_else(|| {
            ApiError::bad_request(
                "bad_csv",
                format!("the header has no '{want}' column; it names {}", COLUMNS.join(", ")),
            )
        })?;
    }
    Ok(positions)
}

/// The rows of a file: readings with their lines, and the rows that could not be read.
#[derive(Debug)]
pub struct Parsed {
    pub rows: Vec<(u64, Reading)>,
    pub errors: Vec<RowError>,
}

/// Line numbers of records, counted from the bytes: the csv crate's own line
/// count is one short for a record that follows a `\r\n` (it starts the record
/// at the `\n`), and files saved on Windows end their lines so. A line ends
/// with `\n`, `\r\n` or a lone `\r`, as for the csv crate.
struct Lines<'a> {
    body: &'a [u8],
    counted_to: usize,
    line: u64,
}

impl<'a> Lines<'a> {
    fn new(body: &'a [u8]) -> Self {
        Self {
            body,
            counted_to: 0,
            line: 1,
        }
    }

    /// The line a record starting at `position` is on (records come in order).
    fn of(&mut self, position: Option<&csv::Position>) -> u64 {
        let Some(position) = position else { return 0 };
        let mut start = usize::try_from(position.byte())
            .unwrap_or(usize::MAX)
            .min(self.body.len());
        while start < self.body.len() && matches!(self.body[start], b'\r' | b'\n') {
            start += 1;
        }
        if start > self.counted_to {
            let span = &self.body[self.counted_to..start];
            let ends = span
                .iter()
                .enumerate()
                .filter(|&(i, b)| *b == b'\n' || (*b == b'\r' && span.get(i + 1) != Some(&b'\n')))
                .count();
            self.line += ends as u64;
            self.counted_to = start;
        }
        self.line
    }
}

/// Reads every row into a reading; rows that cannot be read are collected.
/// Only the shape is checked here (columns, a finite number); readings are
/// judged by the handler.
///
/// # Errors
/// `bad_csv` when the header cannot be read or names the wrong columns, or
/// when the file holds more than [`MAX_ROWS`] rows, readable or not.
pub fn parse(body: &[u8]) -> Result<Parsed, ApiError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(body);
    let header = reader
        .headers()
        .map_err(|e| ApiError::bad_request("bad_csv", format!("the header cannot be read: {e}")))?
        .clone();
    let [station, parameter, value, unit, time] = column_positions(&header)?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut lines = Lines::new(body);
    for record in reader.records() {
        // Counted before reading the row: unreadable rows cost memory too.
        if rows.len() + errors.len() >= MAX_ROWS {
            return Err(ApiError::bad_request(
                "bad_csv",
                format!("an upload holds at most {MAX_ROWS} rows"),
            ));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = lines.of(e.position());
                errors.push(RowError {
                    line,
                    message: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        let line = lines.of(record.position());
        let field = |i: usize| record.get(i).unwrap_or("").to_owned();
        match field(value).parse::<f64>() {
            Ok(v) if v.is_finite() => rows.push((
                line,
                Reading {
                    station_id: field(station),
                    parameter: field(parameter),
                    value: v,
                    unit: field(unit),
                    time: field(time),
                },
            )),
            _ => errors.push(RowError {
                line,
                message: format!(
                    "value '{}' is not a number",
                    field(value).chars().take(40).collect::<String>()
                ),
            }),
        }
    }
    Ok(Parsed { rows, errors })
}

fn refused(errors: &[RowError]) -> Response {
    let rows: Vec<JsonValue> = errors
        .iter()
        .take(1_000)
        .map(|e| json!({"line": e.line, "error": e.message}))
        .collect();
    let body = json!({
        "error": {
            "code": "bad_readings",
            "message": format!("{} rows of the file are invalid; nothing was stored", errors.len()),
            "rows": rows,
        }
    });
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

/// `POST /api/readings` (`text/csv`)
pub async fn post(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let body = body?;
    let Parsed { rows, mut errors } = parse(&body)?;
    if rows.is_empty() && errors.is_empty() {
        return Err(ApiError::bad_request("bad_csv", "the file has a header but no rows"));
    }
    let store = state.store.as_ref();
    let now = unix_now();
    let mut by_station: BTreeMap<String, Vec<Reading>> = BTreeMap::new();
    let mut unknown: BTreeMap<String, ()> = BTreeMap::new();
    let mut features = BTreeMap::new();
    for (line, reading) in rows {
        if let Err(message) = check_reading(&reading, now, MAX_FUTURE_SECONDS) {
            errors.push(RowError { line, message });
            continue;
        }
        if !features.contains_key(&reading.station_id) && !unknown.contains_key(&reading.station_id) {
            match station(store, &reading.station_id).await {
                Ok(f) => {
                    features.insert(reading.station_id.clone(), f);
                }
                Err(e) if e.status == StatusCode::NOT_FOUND => {
                    unknown.insert(reading.station_id.clone(), ());
                }
                Err(e) => return Err(e),
            }
        }
        if unknown.contains_key(&reading.station_id) {
            errors.push(RowError {
                line,
                message: format!(
                    "no station '{}'",
                    reading.station_id.chars().take(40).collect::<String>()
                ),
            });
            continue;
        }
        let normalised = Reading {
            time: normalise_time(&reading.time),
            ..reading
        };
        by_station
            .entry(normalised.station_id.clone())
            .or_default()
            .push(normalised);
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return Ok(refused(&errors));
    }

    let mut alerts = Vec::new();
    let mut stations = Vec::new();
    for (id, readings) in &by_station {
        let feature = &features[id];
        let latest = merged_latest(store.latest_readings(Some(id)).await?, readings);
        let (alert, _) = alert_state(
            &latest,
            text(feature, "kind"),
            text(feature, "commune_code"),
            &state.thresholds,
        );
        alerts.push(StationAlert {
            station_id: id.clone(),
            state: alert.as_str(),
        });
        stations.push(json!({"station_id": id, "readings": readings.len(), "alert_state": alert}));
    }
    let readings: Vec<Reading> = by_station.into_values().flatten().collect();
    let accepted = readings.len();
    let stored = store.ingest(readings, alerts).await?;
    Ok(Json(json!({
        "accepted": accepted,
        "stored": stored,
        "duplicates": accepted - stored,
        "stations": stations,
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_with_their_lines_and_bad_values_named() {
        let body = b"time,station_id,parameter,value,unit\n\
            2026-11-20T01:00:00Z,CT-WQ-01,salinity,2.5,ppt\n\
            2026-11-20T02:00:00Z,CT-WQ-01,salinity,abc,ppt\n";
        let parsed = parse(body).expect("parsed");
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.rows[0].0, 2);
        assert_eq!(parsed.rows[0].1.station_id, "CT-WQ-01");
        assert!((parsed.rows[0].1.value - 2.5).abs() < f64::EPSILON);
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].line, 3);
        assert!(parsed.errors[0].message.contains("'abc' is not a number"));
    }

    #[test]
    fn lines_are_counted_the_same_whatever_ends_them() {
        let rows = [
            "2026-11-20T01:00:00Z,CT-WQ-01,salinity,2.5,ppt",
            "2026-11-20T02:00:00Z,CT-WQ-01,salinity,x,ppt",
        ];
        for end in ["\n", "\r\n", "\r"] {
            let body = format!(
                "time,station_id,parameter,value,unit{end}{}{end}{end}{}{end}",
                rows[0], rows[1]
            );
            let parsed = parse(body.as_bytes()).expect("parsed");
            assert_eq!(parsed.rows[0].0, 2, "{end:?}");
            // An empty line (line 3) is skipped but still counted.
            assert_eq!(parsed.errors[0].line, 4, "{end:?}");
        }
    }

    #[test]
    fn unreadable_rows_count_towards_the_row_limit() {
        // Every row has too few fields: without the limit, each would be kept as an error.
        let mut body = b"station_id,parameter,value,unit,time\n".to_vec();
        for _ in 0..=MAX_ROWS {
            body.extend_from_slice(b"x\n");
        }
        let error = parse(&body).expect_err("too many rows");
        assert_eq!(error.code, "bad_csv");
        assert!(error.message.contains("at most 200000 rows"), "{}", error.message);
    }
}
