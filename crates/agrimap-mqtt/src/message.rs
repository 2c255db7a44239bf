//! One MQTT message, from topic and payload to the answer published back.
//!
//! A station publishes to `agrimap/stations/{id}/readings` the same readings
//! the HTTP endpoint takes, with its token beside them, since MQTT 3.1.1
//! carries no per-message credentials:
//! `{"token": "…", "readings": [{parameter, value, unit, time}, …]}`.
//! The batch goes through the core's ingestion ([`agrimap_core::ingest`]),
//! as the HTTP endpoint's does, and the answer (the JSON the HTTP endpoint
//! answers) is published to `agrimap/stations/{id}/readings/result`.

use agrimap_core::ingest::{Credential, IngestError, Sent, parse_batch};
use agrimap_core::{Core, CoreError};
use serde_json::Value as JsonValue;

/// The topic filter the listener subscribes to.
pub const READINGS_TOPICS: &str = "agrimap/stations/+/readings";

/// The station a readings topic names (`agrimap/stations/{id}/readings`).
#[must_use]
pub fn station_of(topic: &str) -> Option<&str> {
    let id = topic.strip_prefix("agrimap/stations/")?.strip_suffix("/readings")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

/// Where the answer to a station's batch is published.
#[must_use]
pub fn result_topic(station_id: &str) -> String {
    format!("agrimap/stations/{station_id}/readings/result")
}

/// What became of one message.
#[derive(Debug)]
pub enum Outcome {
    /// Stored, or refused for good (unknown station, wrong token, bad
    /// readings): publish the answer, then acknowledge the message.
    Answered(JsonValue),
    /// The store failed and nothing was stored: the message must not be
    /// acknowledged, so that it is tried again.
    StoreFailed(CoreError),
}

/// Ingests one payload for `station_id`.
pub async fn handle(core: &Core, station_id: &str, payload: &[u8]) -> Outcome {
    let outcome = async {
        let (token, body) = envelope(payload)?;
        let station = core.admit(station_id, Credential::StationToken(&token)).await?;
        core.ingest(station, parse_batch(&body)?).await
    };
    match outcome.await {
        Ok(report) => Outcome::Answered(serde_json::to_value(report).unwrap_or_default()),
        Err(IngestError::Store(e)) => Outcome::StoreFailed(e),
        Err(e) => Outcome::Answered(e.body(Sent::Batch)),
    }
}

/// Splits a payload into the station's token and the rest, which is the HTTP
/// body (`{"readings": […]}`) and never holds the token, so no error message
/// can echo it.
fn envelope(payload: &[u8]) -> Result<(String, Vec<u8>), IngestError> {
    const SHAPE: &str = "the payload must be a JSON object {\"token\": \"<the station's token>\", \"readings\": [{parameter, value, unit, time}, …]}";
    let Ok(JsonValue::Object(mut object)) = serde_json::from_slice::<JsonValue>(payload) else {
        return Err(IngestError::BadBody(SHAPE.into()));
    };
    match object.remove("token") {
        Some(JsonValue::String(token)) if !token.is_empty() => {
            let body = serde_json::to_vec(&object).map_err(|_| IngestError::BadBody(SHAPE.into()))?;
            Ok((token, body))
        }
        _ => Err(IngestError::Unauthorized(SHAPE)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_readings_topics_name_a_station() {
        assert_eq!(station_of("agrimap/stations/WQ-01/readings"), Some("WQ-01"));
        assert_eq!(station_of("agrimap/stations//readings"), None);
        assert_eq!(station_of("agrimap/stations/WQ-01/readings/result"), None);
        assert_eq!(station_of("agrimap/stations/a/b/readings"), None);
        assert_eq!(result_topic("WQ-01"), "agrimap/stations/WQ-01/readings/result");
    }

    #[test]
    fn the_token_is_taken_out_of_the_body() {
        let (token, body) = envelope(br#"{"token": "t0k", "readings": [1]}"#).expect("envelope");
        assert_eq!(token, "t0k");
        assert_eq!(body, br#"{"readings":[1]}"#);
        for (payload, code) in [
            (&br#"{"readings": []}"#[..], "unauthorized"),
            (br#"{"token": 7, "readings": []}"#, "unauthorized"),
            (br#"[{"parameter": "ph"}]"#, "bad_body"),
            (b"not json", "bad_body"),
        ] {
            let body = envelope(payload).expect_err("refused").body(Sent::Batch);
            assert_eq!(body["error"]["code"], code);
        }
    }
}
