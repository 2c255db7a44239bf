//! A station's readings as a series: raw or summed up by hour or day
//! ([`crate::stations::aggregate`]), between two times, as JSON or CSV.

use crate::Core;
use crate::error::{CoreError, echo};
use crate::stations::{Step, aggregate};
use agrimap_model::Reading;
use agrimap_model::UtcTime;
use agrimap_model::readings::{PARAMETERS, parameter};
use agrimap_store::ReadingQuery;
use serde::Deserialize;
use serde_json::{Value as Json, json};
use std::fmt::Write as _;

/// What a series of readings asks for, as sent (all text, checked by [`Core::series`]).
#[derive(Debug, Default, Deserialize)]
pub struct SeriesParams {
    /// From this time (RFC 3339), inclusive.
    pub from: Option<String>,
    /// Up to this time (RFC 3339), inclusive.
    pub to: Option<String>,
    /// One parameter (`ph`, `salinity`, …); all of them by default.
    pub parameter: Option<String>,
    /// `raw` (the default), `hour` or `day`.
    pub step: Option<String>,
    /// `json` (the default) or `csv`.
    pub f: Option<String>,
}

/// A station's readings, raw or summed up by step.
#[derive(Debug)]
pub struct Series {
    station_id: String,
    step: Option<Step>,
    readings: Vec<Reading>,
    /// Asked for as CSV (`f=csv`) rather than JSON.
    pub csv: bool,
}

fn bad(code: &'static str, message: String) -> CoreError {
    CoreError::invalid(code, message)
}

/// A time bound of a series, as readings are kept (UTC, whole seconds).
fn time_bound(name: &str, value: Option<String>) -> Result<Option<UtcTime>, CoreError> {
    value
        .map(|t| {
            UtcTime::parse(&t).map_err(|_| {
                bad(
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

impl Core {
    /// The readings of station `id` that `params` ask for.
    ///
    /// # Errors
    /// `unknown_station` (not found); `bad_parameter`, `bad_step`,
    /// `bad_format` or `bad_time` naming what is wrong; the store's errors.
    pub async fn series(&self, id: &str, params: SeriesParams) -> Result<Series, CoreError> {
        self.station(id).await?;
        if let Some(p) = &params.parameter
            && parameter(p).is_none()
        {
            let known: Vec<&str> = PARAMETERS.iter().map(|p| p.name).collect();
            return Err(bad(
                "bad_parameter",
                format!("unknown parameter '{}'; parameters: {}", echo(p, 64), known.join(", ")),
            ));
        }
        let step = match params.step.as_deref() {
            None | Some("raw") => None,
            Some(s) if Step::parse(s).is_some() => Step::parse(s),
            Some(other) => {
                return Err(bad(
                    "bad_step",
                    format!("step must be raw, hour or day, not '{}'", echo(other, 64)),
                ));
            }
        };
        let csv = match params.f.as_deref() {
            None | Some("json") => false,
            Some("csv") => true,
            Some(other) => {
                return Err(bad(
                    "bad_format",
                    format!("f must be json or csv, not '{}'", echo(other, 64)),
                ));
            }
        };
        let query = ReadingQuery {
            station_id: id.to_owned(),
            parameter: params.parameter,
            from: time_bound("from", params.from)?,
            to: time_bound("to", params.to)?,
        };
        let readings = self.store.readings_between(&query).await?;
        Ok(Series {
            station_id: id.to_owned(),
            step,
            readings,
            csv,
        })
    }
}

/// The unit of a parameter.
fn unit(parameter_name: &str) -> Option<&'static str> {
    parameter(parameter_name).map(|p| p.unit)
}

impl Series {
    /// The series as a JSON document: `{station_id, readings}` raw, or
    /// `{station_id, step, series}` summed up.
    #[must_use]
    pub fn to_json(&self) -> Json {
        match self.step {
            None => json!({
                "station_id": self.station_id,
                "readings": self.readings.iter().map(|r| json!({"parameter": r.parameter, "value": r.value, "unit": r.unit, "time": r.time})).collect::<Vec<_>>(),
            }),
            Some(step) => json!({
                "station_id": self.station_id,
                "step": step.as_str(),
                "series": aggregate(&self.readings, step).iter().map(|b| json!({
                    "parameter": b.parameter, "time": b.time, "min": b.min, "max": b.max,
                    "mean": b.mean, "count": b.count, "unit": unit(&b.parameter),
                })).collect::<Vec<_>>(),
            }),
        }
    }

    /// The series as CSV, with a header line.
    #[must_use]
    pub fn to_csv(&self) -> String {
        match self.step {
            None => {
                let mut out = String::from("time,parameter,value,unit\n");
                for r in &self.readings {
                    let _ = writeln!(out, "{},{},{},{}", r.time, r.parameter, r.value, r.unit);
                }
                out
            }
            Some(step) => {
                let mut out = String::from("time,parameter,min,max,mean,count,unit\n");
                for b in aggregate(&self.readings, step) {
                    let unit = unit(&b.parameter).unwrap_or("");
                    let _ = writeln!(
                        out,
                        "{},{},{},{},{},{},{unit}",
                        b.time, b.parameter, b.min, b.max, b.mean, b.count
                    );
                }
                out
            }
        }
    }
}
