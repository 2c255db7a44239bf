//! Readings in: the one path every entry point takes (a station's HTTP batch,
//! its MQTT message, an editor's CSV upload).
//!
//! A batch is checked reading by reading first (known parameter, a light
//! trap's pest species on the store's `pest_species` list, its unit, a
//! possible value, a time not in the future) and refused whole, every bad
//! reading named, if any is bad. Then it lands in one transaction with each
//! station's latest values and alert state, judged by the store inside that
//! transaction from the latest readings it holds ([`agrimap_store::Judge`]),
//! so `/api/alerts`, tiles and summaries agree. Readings already stored (same
//! station, parameter and time) are skipped, so sending a batch twice
//! changes nothing.

pub mod csv;
pub mod refusal;

pub use refusal::Sent;

use crate::Core;
use crate::error::{CoreError, echo};
use crate::tokens::{hash_token, same_hash};
use agrimap_model::readings::{AlertCause, AlertState, Threshold, alert_state};
use agrimap_model::{CodeLists, CompareOp, Feature, FeatureQuery, Filter, LayerDef, Reading, Value, layer};
use agrimap_store::{Judge, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most readings one batch may carry.
pub const MAX_BATCH: usize = 10_000;
/// A station clock this far ahead is tolerated.
pub const MAX_FUTURE_SECONDS: i64 = 600;

/// Who sends a batch.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    /// A signed-in editor (or admin): may send any station's readings.
    Editor,
    /// A secret presented as the station's own token.
    StationToken(&'a str),
    /// Nothing.
    None,
}

pub use agrimap_model::readings::IncomingReading;

/// A reading that cannot be stored: where it is (its index in a batch, or
/// its line in a file) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadReading {
    pub at: u64,
    pub message: String,
}

/// Why a batch was not stored. Nothing was stored in every case.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IngestError {
    #[error("no station '{0}'")]
    UnknownStation(String),
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The sender is known but may not send this station's readings.
    #[error("{0}")]
    Forbidden(String),
    /// The batch cannot be read at all.
    #[error("{0}")]
    BadBody(String),
    /// Readable, but these readings are invalid.
    #[error("{} of the batch's readings are invalid; nothing was stored", .0.len())]
    BadReadings(Vec<BadReading>),
    /// The store failed: the batch may be sent again.
    #[error(transparent)]
    Store(#[from] CoreError),
}

impl From<agrimap_store::StoreError> for IngestError {
    fn from(e: agrimap_store::StoreError) -> Self {
        Self::Store(e.into())
    }
}

/// What became of a station's batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IngestReport {
    pub station_id: String,
    /// Valid readings in the batch.
    pub accepted: usize,
    /// Readings added (the rest were stored already).
    pub stored: usize,
    pub duplicates: usize,
    pub alert_state: AlertState,
    pub alert_cause: Option<AlertCause>,
}

/// The body of a station's batch: a JSON list of readings, or
/// `{"readings": [...]}`. The shape is told by the first character, so that
/// a mistake inside (an unknown or repeated field) is named as it is.
///
/// # Errors
/// [`IngestError::BadBody`] for anything else, or for 0 or more than
/// [`MAX_BATCH`] readings.
pub fn parse_batch(body: &[u8]) -> Result<Vec<IncomingReading>, IngestError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Wrapped {
        readings: Vec<IncomingReading>,
    }
    let bad = |e: serde_json::Error| {
        IngestError::BadBody(format!(
            "the body must be a JSON list of readings {{parameter, value, unit, time}}: {e}"
        ))
    };
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let readings = if first == Some(&b'{') {
        serde_json::from_slice::<Wrapped>(body).map_err(bad)?.readings
    } else {
        serde_json::from_slice::<Vec<IncomingReading>>(body).map_err(bad)?
    };
    if readings.is_empty() || readings.len() > MAX_BATCH {
        return Err(IngestError::BadBody(format!(
            "a batch holds 1 to {MAX_BATCH} readings, not {}",
            readings.len()
        )));
    }
    Ok(readings)
}

/// A station whose caller has been let in: the only way to
/// [`Core::ingest`], so no batch is read before its sender is known.
#[derive(Debug, Clone)]
pub struct Admitted {
    station_id: String,
    feature: Feature,
}

impl Core {
    /// Lets the sender of a batch in: the station must exist, and
    /// `credential` must be an editor's or the station's own token.
    ///
    /// # Errors
    /// [`IngestError::UnknownStation`], [`IngestError::Unauthorized`], the
    /// store's errors.
    pub async fn admit(&self, station_id: &str, credential: Credential<'_>) -> Result<Admitted, IngestError> {
        let store = self.store.as_ref();
        let feature = station(store, station_id)
            .await?
            .ok_or_else(|| IngestError::UnknownStation(echo(station_id, 64)))?;
        authenticate(store, station_id, credential).await?;
        Ok(Admitted {
            station_id: station_id.to_owned(),
            feature,
        })
    }

    /// Refuses an admitted station outside `provinces` (an editor's token
    /// limited to provinces; empty for every province), by the province of
    /// the station's commune.
    ///
    /// # Errors
    /// [`IngestError::Forbidden`], or the store's errors.
    pub async fn within_provinces(&self, station: &Admitted, provinces: &[String]) -> Result<(), IngestError> {
        self.stations_within_provinces([(station.station_id.as_str(), &station.feature)], provinces)
            .await
    }

    /// Refuses stations outside `provinces` (empty for every province), by
    /// the province of each station's commune, naming every one outside.
    pub(crate) async fn stations_within_provinces<'a>(
        &self,
        stations: impl IntoIterator<Item = (&'a str, &'a Feature)>,
        provinces: &[String],
    ) -> Result<(), IngestError> {
        if provinces.is_empty() {
            return Ok(());
        }
        let layer = monitoring();
        let index = self.communes.index(self.store.as_ref()).await?;
        let mut outside = Vec::new();
        for (id, feature) in stations {
            let set = layer
                .text_of(feature, "boundary_set")
                .and_then(agrimap_model::BoundarySet::parse);
            let province = layer
                .text_of(feature, "commune_code")
                .and_then(|code| index.get(code, set))
                .map(|c| c.province_code.clone());
            if !province.as_ref().is_some_and(|p| provinces.contains(p)) {
                outside.push(format!(
                    "station {id} is in province {}",
                    province.as_deref().unwrap_or("unknown")
                ));
            }
        }
        if outside.is_empty() {
            return Ok(());
        }
        Err(IngestError::Forbidden(format!(
            "{}; the token may send readings of provinces {} only",
            outside.join(", "),
            provinces.join(", ")
        )))
    }

    /// Ingests one admitted station's batch: every reading must be valid;
    /// then the batch and the station's new latest values and alert state
    /// land in one transaction.
    ///
    /// # Errors
    /// [`IngestError`]: nothing was stored.
    pub async fn ingest(&self, station: Admitted, readings: Vec<IncomingReading>) -> Result<IngestReport, IngestError> {
        let Admitted { station_id, feature } = station;
        let station_id = station_id.as_str();
        let store = self.store.as_ref();
        let lists = self.lists_for_species(readings.iter()).await?;
        let sent = readings.len();
        let (checked, bad) = check_batch(station_id, readings, unix_now(), &lists);
        if !bad.is_empty() {
            // The whole batch is refused: none of its readings is stored.
            self.metrics.readings_refused.inc_by(sent as u64);
            return Err(IngestError::BadReadings(bad));
        }
        let accepted = checked.len();
        let stations = BTreeMap::from([(station_id.to_owned(), feature)]);
        let ingested = store.ingest(checked, self.judge(&stations)).await?;
        self.metrics.readings_ingested.inc_by(ingested.stored as u64);
        if !ingested.events.is_empty() {
            self.alerts.wake();
        }
        let (alert_state, alert_cause) = ingested
            .judged
            .get(station_id)
            .cloned()
            .unwrap_or((AlertState::Ok, None));
        Ok(IngestReport {
            station_id: station_id.to_owned(),
            accepted,
            stored: ingested.stored,
            duplicates: accepted - ingested.stored,
            alert_state,
            alert_cause,
        })
    }

    /// The store's value lists when a reading of the batch names a pest
    /// species (to check it against `pest_species`), else none: the lists
    /// are read only for the batches that need them.
    pub(crate) async fn lists_for_species<'a>(
        &self,
        mut readings: impl Iterator<Item = &'a IncomingReading>,
    ) -> Result<CodeLists, IngestError> {
        if readings.any(|r| r.species.is_some() || r.parameter.contains(':')) {
            Ok(CodeLists::new(&self.store.codes().await?))
        } else {
            Ok(CodeLists::default())
        }
    }

    /// Judges the stations of a batch by their kind and commune with the
    /// core's thresholds.
    fn judge(&self, stations: &BTreeMap<String, Feature>) -> Judge {
        let monitoring = monitoring();
        let context: BTreeMap<String, (String, String)> = stations
            .iter()
            .map(|(id, f)| {
                let text = |name| monitoring.text_of(f, name).unwrap_or_default().to_owned();
                (id.clone(), (text("kind"), text("commune_code")))
            })
            .collect();
        let thresholds: Arc<Vec<Threshold>> = self.thresholds.clone();
        Arc::new(move |station_id: &str, latest: &[Reading]| {
            let (kind, commune) = context
                .get(station_id)
                .map_or(("", ""), |(k, c)| (k.as_str(), c.as_str()));
            alert_state(latest, kind, commune, &thresholds)
        })
    }
}

fn monitoring() -> &'static LayerDef {
    layer("monitoring").unwrap_or_else(|| panic!("the catalog has no monitoring layer"))
}

/// The station's feature, if there is one.
pub(crate) async fn station(store: &dyn Store, id: &str) -> Result<Option<Feature>, CoreError> {
    let query = FeatureQuery {
        filter: Some(Filter::Compare {
            field: "station_id".into(),
            op: CompareOp::Eq,
            value: Value::from(id),
        }),
        limit: Some(1),
        ..FeatureQuery::default()
    };
    Ok(store.features(monitoring(), &query).await?.into_iter().next())
}

/// An editor may send any station's readings; anyone else must hold the
/// station's own token.
async fn authenticate(store: &dyn Store, station_id: &str, credential: Credential<'_>) -> Result<(), IngestError> {
    let token = match credential {
        Credential::Editor => return Ok(()),
        Credential::StationToken(token) => token,
        Credential::None => {
            return Err(IngestError::Unauthorized(
                "send the station's token as 'Authorization: Bearer <token>'",
            ));
        }
    };
    match store.station_token_hash(station_id).await? {
        Some(hash) if same_hash(&hash, &hash_token(token)) => Ok(()),
        _ => Err(IngestError::Unauthorized("the token is not this station's")),
    }
}

/// Checks every reading of a station's batch against `now_unix` and the
/// store's lists (pest species): the good readings, their times in UTC, and
/// each bad one with its index and why.
#[must_use]
pub fn check_batch(
    station_id: &str,
    readings: Vec<IncomingReading>,
    now_unix: i64,
    lists: &CodeLists,
) -> (Vec<Reading>, Vec<BadReading>) {
    let mut checked = Vec::with_capacity(readings.len());
    let mut bad = Vec::new();
    for (index, r) in readings.into_iter().enumerate() {
        match r.check(station_id, now_unix, MAX_FUTURE_SECONDS, lists) {
            Ok(r) => checked.push(r),
            Err(message) => bad.push(BadReading {
                at: index as u64,
                message,
            }),
        }
    }
    (checked, bad)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_a_list_or_wrapped_and_mistakes_are_named() {
        let one = r#"{"parameter": "ph", "value": 7.1, "unit": "pH", "time": "2026-11-20T01:00:00Z"}"#;
        assert_eq!(parse_batch(format!("[{one}]").as_bytes()).expect("list").len(), 1);
        assert_eq!(
            parse_batch(format!(" {{\"readings\": [{one}, {one}]}}").as_bytes())
                .expect("wrapped")
                .len(),
            2
        );
        let message = |body: &str| match parse_batch(body.as_bytes()) {
            Err(IngestError::BadBody(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(
            message(r#"[{"parameter": "ph", "value": 1, "unit": "pH", "time": "t", "colour": 1}]"#)
                .contains("unknown field `colour`")
        );
        assert!(
            message(r#"[{"parameter": "ph", "value": 1, "value": 2, "unit": "pH", "time": "t"}]"#)
                .contains("duplicate field `value`")
        );
        assert!(message(r#"{"readings": [], "extra": 1}"#).contains("unknown field `extra`"));
        assert!(message("[]").contains("1 to 10000 readings, not 0"));
    }
}
