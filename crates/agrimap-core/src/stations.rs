//! Stations seen from outside: their readings as a series (raw or by hour
//! or day), and the stations on watch or alarm.

use crate::Core;
use crate::error::CoreError;
use crate::ingest::station;
use agrimap_model::readings::{AlertCause, AlertState, alert_state};
use agrimap_model::{Feature, FeatureQuery, LayerDef, Reading, UtcTime, layer};
use serde::Serialize;
use std::collections::BTreeMap;

/// How a series is summed up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Hour,
    Day,
}

impl Step {
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hour" => Some(Self::Hour),
            "day" => Some(Self::Day),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }
}

/// One aggregated bucket.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Bucket {
    pub parameter: String,
    pub time: UtcTime,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub count: u64,
}

/// The start of a reading's hour or day.
fn bucket_start(time: UtcTime, step: Step) -> UtcTime {
    match step {
        Step::Hour => time.hour_start(),
        Step::Day => time.day_start(),
    }
}

/// Readings summed up by `step` (`hour` or `day`) and parameter, in time order.
#[must_use]
pub fn aggregate(readings: &[Reading], step: Step) -> Vec<Bucket> {
    let mut buckets: BTreeMap<(String, UtcTime), Bucket> = BTreeMap::new();
    for r in readings {
        let start = bucket_start(r.time, step);
        let b = buckets.entry((r.parameter.clone(), start)).or_insert_with(|| Bucket {
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

/// A station on watch or alarm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StationAlert {
    pub station_id: String,
    pub name: String,
    pub kind: String,
    pub commune_code: String,
    pub alert_state: AlertState,
    pub cause: Option<AlertCause>,
    /// `[longitude, latitude]`.
    pub location: Option<[f64; 2]>,
}

fn monitoring() -> &'static LayerDef {
    layer("monitoring").unwrap_or_else(|| panic!("the catalog has no monitoring layer"))
}

impl Core {
    /// The stations on watch or alarm, judged now from their latest
    /// readings, each with the reading that put it there, and the stations
    /// gone silent; alarms first.
    ///
    /// # Errors
    /// The store's.
    pub async fn alerts(&self) -> Result<Vec<StationAlert>, CoreError> {
        let store = self.store.as_ref();
        let monitoring = monitoring();
        let stations = store.features(monitoring, &FeatureQuery::default()).await?;
        let mut latest: BTreeMap<String, Vec<Reading>> = BTreeMap::new();
        for r in store.latest_readings(None).await? {
            latest.entry(r.station_id.clone()).or_default().push(r);
        }
        let mut out: Vec<StationAlert> = stations
            .iter()
            .filter_map(|s| {
                let text = |name| monitoring.text_of(s, name).unwrap_or_default().to_owned();
                let id = text("station_id");
                let readings = latest.get(&id).map_or(&[][..], Vec::as_slice);
                // Silence is not in the readings: it is the stored state the silence check set.
                let (alert, cause) = if text("alert_state") == AlertState::Silent.as_str() {
                    (AlertState::Silent, None)
                } else {
                    alert_state(readings, &text("kind"), &text("commune_code"), &self.thresholds)
                };
                (alert != AlertState::Ok).then(|| StationAlert {
                    location: match &s.geometry {
                        geo::Geometry::Point(p) => Some([p.x(), p.y()]),
                        _ => None,
                    },
                    name: text("name"),
                    kind: text("kind"),
                    commune_code: text("commune_code"),
                    alert_state: alert,
                    cause,
                    station_id: id,
                })
            })
            .collect();
        // Alarms first, then watches, then stations gone silent.
        out.sort_by_key(|a| match a.alert_state {
            AlertState::Alarm => 0,
            AlertState::Watch => 1,
            AlertState::Silent => 2,
            AlertState::Ok => 3,
        });
        Ok(out)
    }

    /// The station's feature.
    ///
    /// # Errors
    /// `unknown_station` (not found), and the store's errors.
    pub async fn station(&self, id: &str) -> Result<Feature, CoreError> {
        station(self.store.as_ref(), id)
            .await?
            .ok_or_else(|| CoreError::not_found("unknown_station", format!("no station '{}'", crate::echo(id, 64))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_fall_in_their_hour_and_day() {
        let t = |s: &str| UtcTime::parse(s).expect(s);
        assert_eq!(
            bucket_start(t("2026-11-24T05:17:00Z"), Step::Hour),
            t("2026-11-24T05:00:00Z")
        );
        assert_eq!(
            bucket_start(t("2026-11-24T05:17:00Z"), Step::Day),
            t("2026-11-24T00:00:00Z")
        );
        // A reading sent at 06:30 in Vietnam is in the UTC day before.
        assert_eq!(
            bucket_start(t("2026-11-24T06:30:00+07:00"), Step::Day),
            t("2026-11-23T00:00:00Z")
        );
    }
}
