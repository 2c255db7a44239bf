//! Readings as CSV: what an editor uploads for any stations (a logger's
//! export, a laboratory's sheet), through `POST /api/readings`.
//!
//! The header names the columns `station_id, parameter, value, unit, time`,
//! in any order, and optionally `species` (a light trap's pest species of a
//! `pest_count` row, empty otherwise). The whole file is checked first, each
//! bad row named by its line; then it lands in one transaction with every station's alert state,
//! or not at all. Rows already stored (same station, parameter and time) are
//! skipped, so uploading a file twice changes nothing.

use super::{BadReading, IncomingReading, IngestError, MAX_FUTURE_SECONDS, station, unix_now};
use crate::Core;
use crate::error::echo;
use agrimap_model::Reading;
use agrimap_model::readings::AlertState;
use serde::Serialize;
use std::collections::BTreeMap;

/// Most rows one upload may hold.
pub const MAX_ROWS: usize = 200_000;
/// Largest upload, in bytes (a year of hourly readings of a few stations).
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

const COLUMNS: [&str; 5] = ["station_id", "parameter", "value", "unit", "time"];
/// Columns a file may leave out.
const OPTIONAL: [&str; 1] = ["species"];

/// Where each column is, from the header, and the `species` column if any.
fn column_positions(header: &csv::StringRecord) -> Result<([usize; 5], Option<usize>), IngestError> {
    let names: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_lowercase())
        .collect();
    if let Some(extra) = names
        .iter()
        .find(|n| !COLUMNS.contains(&n.as_str()) && !OPTIONAL.contains(&n.as_str()))
    {
        return Err(IngestError::BadBody(format!(
            "unknown column '{}'; the header names the columns {} (and optionally {})",
            echo(extra, 40),
            COLUMNS.join(", "),
            OPTIONAL.join(", ")
        )));
    }
    // Which of two columns of one name would hold the value is anyone's guess.
    if let Some((i, twice)) = names.iter().enumerate().find(|(i, n)| names[..*i].contains(n)) {
        return Err(IngestError::BadBody(format!(
            "the header names the column '{twice}' twice (columns {} and {})",
            names.iter().position(|n| n == twice).map_or(0, |p| p + 1),
            i + 1
        )));
    }
    let mut positions = [0; 5];
    for (slot, want) in positions.iter_mut().zip(COLUMNS) {
        *slot = names.iter().position(|n| n == want).ok_or_else(|| {
            IngestError::BadBody(format!(
                "the header has no '{want}' column; it names {}",
                COLUMNS.join(", ")
            ))
        })?;
    }
    Ok((positions, names.iter().position(|n| n == "species")))
}

/// The rows of a file: each reading with its line and station, and the rows that could not be read.
#[derive(Debug)]
pub struct Parsed {
    pub rows: Vec<(u64, String, IncomingReading)>,
    pub errors: Vec<BadReading>,
}

/// Reads every row into a reading; rows that cannot be read are collected.
/// Only the shape is checked here (columns, a finite number); readings are
/// judged by the handler.
///
/// # Errors
/// [`IngestError::BadBody`] when the header cannot be read or names the
/// wrong columns, or when the file holds more than [`MAX_ROWS`] rows,
/// readable or not.
pub fn parse(body: &[u8]) -> Result<Parsed, IngestError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(body);
    let header = reader
        .headers()
        .map_err(|e| IngestError::BadBody(format!("the header cannot be read: {e}")))?
        .clone();
    let ([station, parameter, value, unit, time], species) = column_positions(&header)?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut lines = crate::csv_lines::Lines::new(body);
    for record in reader.records() {
        // Counted before reading the row: unreadable rows cost memory too.
        if rows.len() + errors.len() >= MAX_ROWS {
            return Err(IngestError::BadBody(format!("an upload holds at most {MAX_ROWS} rows")));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = lines.of(e.position());
                errors.push(BadReading {
                    at: line,
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
                field(station),
                IncomingReading {
                    parameter: field(parameter),
                    species: species.map(field).filter(|s| !s.is_empty()),
                    value: v,
                    unit: field(unit),
                    time: field(time),
                },
            )),
            _ => errors.push(BadReading {
                at: line,
                message: format!("value '{}' is not a number", echo(&field(value), 40)),
            }),
        }
    }
    Ok(Parsed { rows, errors })
}

/// What became of an upload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CsvReport {
    /// Valid rows in the file.
    pub accepted: usize,
    /// Readings added (the rest were stored already).
    pub stored: usize,
    pub duplicates: usize,
    pub stations: Vec<StationReport>,
}

/// One station of an upload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StationReport {
    pub station_id: String,
    pub readings: usize,
    pub alert_state: AlertState,
}

impl Core {
    /// Ingests an editor's CSV upload: every row is checked (and its station
    /// looked up) first, then the whole file lands in one transaction with
    /// the alert state of every station in it, or nothing does.
    ///
    /// An editor's token limited to `provinces` (empty for every province)
    /// may send readings of the stations of those provinces only: a file
    /// with any other station is refused whole, naming them.
    ///
    /// # Errors
    /// [`IngestError::BadBody`] for a file that cannot be read,
    /// [`IngestError::BadReadings`] naming every bad row by line,
    /// [`IngestError::Forbidden`] naming the stations outside `provinces`,
    /// and the store's errors.
    pub async fn ingest_csv(&self, body: &[u8], provinces: &[String]) -> Result<CsvReport, IngestError> {
        let Parsed { rows, mut errors } = parse(body)?;
        if rows.is_empty() && errors.is_empty() {
            return Err(IngestError::BadBody("the file has a header but no rows".into()));
        }
        let store = self.store.as_ref();
        let now = unix_now();
        let lists = self.lists_for_species(rows.iter().map(|(_, _, r)| r)).await?;
        let mut by_station: BTreeMap<String, Vec<Reading>> = BTreeMap::new();
        let mut features = BTreeMap::new();
        let mut unknown: Vec<String> = Vec::new();
        for (line, station_id, reading) in rows {
            let reading = match reading.check(&station_id, now, MAX_FUTURE_SECONDS, &lists) {
                Ok(r) => r,
                Err(message) => {
                    errors.push(BadReading { at: line, message });
                    continue;
                }
            };
            let id = &reading.station_id;
            if !features.contains_key(id) && !unknown.contains(id) {
                match station(store, id).await? {
                    Some(f) => {
                        features.insert(id.clone(), f);
                    }
                    None => unknown.push(id.clone()),
                }
            }
            if unknown.contains(id) {
                errors.push(BadReading {
                    at: line,
                    message: format!("no station '{}'", echo(id, 40)),
                });
                continue;
            }
            by_station.entry(id.clone()).or_default().push(reading);
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.at);
            // The whole file is refused: none of its rows is stored.
            let rows: usize = by_station.values().map(Vec::len).sum::<usize>() + errors.len();
            self.metrics.readings_refused.inc_by(rows as u64);
            return Err(IngestError::BadReadings(errors));
        }
        self.stations_within_provinces(features.iter().map(|(id, f)| (id.as_str(), f)), provinces)
            .await?;
        let counts: Vec<(String, usize)> = by_station.iter().map(|(id, r)| (id.clone(), r.len())).collect();
        let readings: Vec<Reading> = by_station.into_values().flatten().collect();
        let accepted = readings.len();
        let ingested = store.ingest(readings, self.judge(&features)).await?;
        self.metrics.readings_ingested.inc_by(ingested.stored as u64);
        if !ingested.events.is_empty() {
            self.alerts.wake();
        }
        let stations = counts
            .into_iter()
            .map(|(station_id, readings)| StationReport {
                alert_state: ingested.judged.get(&station_id).map_or(AlertState::Ok, |j| j.0),
                station_id,
                readings,
            })
            .collect();
        Ok(CsvReport {
            accepted,
            stored: ingested.stored,
            duplicates: accepted - ingested.stored,
            stations,
        })
    }
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
        assert_eq!(parsed.rows[0].1, "CT-WQ-01");
        assert!((parsed.rows[0].2.value - 2.5).abs() < f64::EPSILON);
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].at, 3);
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
            assert_eq!(parsed.errors[0].at, 4, "{end:?}");
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
        assert!(error.to_string().contains("at most 200000 rows"), "{error}");
    }

    #[test]
    fn a_column_named_twice_is_refused_by_name() {
        let body = b"station_id,parameter,value,unit,time,value\nCT-WQ-01,ph,7,pH,2026-11-20T01:00:00Z,8\n";
        let error = parse(body).expect_err("duplicate column");
        assert!(
            error
                .to_string()
                .contains("names the column 'value' twice (columns 3 and 6)"),
            "{error}"
        );
    }
}
