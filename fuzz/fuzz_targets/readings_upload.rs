//! The CSV an editor uploads to `POST /api/readings`, read as the handler
//! reads it before judging the readings: any bytes give rows and named bad
//! lines, or an error saying the file cannot be read, never a panic.

#![no_main]

use agrimap_core::ingest::csv::{MAX_ROWS, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse(data) {
        Ok(parsed) => {
            assert!(parsed.rows.len() + parsed.errors.len() <= MAX_ROWS);
            for (line, _station, reading) in &parsed.rows {
                assert!(*line >= 2, "a row on line {line}: the header is line 1");
                assert!(reading.value.is_finite(), "value {}", reading.value);
            }
            for error in &parsed.errors {
                // What the file said is quoted cut short, whatever the row held.
                assert!(error.message.chars().count() < 400, "{}", error.message);
            }
        }
        Err(error) => assert!(
            matches!(error, agrimap_core::ingest::IngestError::BadBody(_)),
            "{error:?}"
        ),
    }
});
