//! A refused batch or file, told the same way to every entry point: the
//! HTTP answer's body and the MQTT result are one JSON document.

use super::{BadReading, IngestError};
use crate::error::ErrorKind;
use serde_json::{Value as Json, json};

/// What was sent: a station's batch (readings named by index) or an
/// editor's CSV file (rows named by line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    Batch,
    File,
}

/// Most bad rows of a CSV file named in its refusal: enough to fix the file by.
const MAX_ROWS_NAMED: usize = 1_000;

impl IngestError {
    /// Whose fault the refusal is.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::UnknownStation(_) => ErrorKind::NotFound,
            Self::Unauthorized(_) => ErrorKind::Unauthorized,
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::BadBody(_) => ErrorKind::Invalid,
            Self::BadReadings(_) => ErrorKind::Unprocessable,
            Self::Store(e) => e.kind,
        }
    }

    /// The refusal as a JSON document: `{"error": {"code", "message"}}`, and
    /// with bad readings each of them, by index in a batch or by line in a file.
    #[must_use]
    pub fn body(&self, sent: Sent) -> Json {
        let code = match self {
            Self::UnknownStation(_) => "unknown_station",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::BadBody(_) if sent == Sent::File => "bad_csv",
            Self::BadBody(_) => "bad_body",
            Self::BadReadings(bad) => {
                let at = match sent {
                    Sent::Batch => "index",
                    Sent::File => "line",
                };
                let named: Vec<Json> = bad
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
                    (self.to_string(), "readings")
                };
                return json!({"error": {"code": "bad_readings", "message": what, list: named}});
            }
            Self::Store(e) => e.code,
        };
        json!({"error": {"code": code, "message": self.to_string()}})
    }
}
