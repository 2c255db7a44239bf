//! The JSON body of `POST /api/stations/{id}/readings`, read and checked as
//! the handler does before anything reaches the store.

#![no_main]

use agrimap_model::readings::parse_utc;
use agrimap_core::ingest::{MAX_BATCH, check_batch, parse_batch};
use libfuzzer_sys::fuzz_target;

/// 2026-11-25T00:00:00Z: a fixed "now", so that runs repeat.
const NOW: i64 = 1_795_564_800;

fuzz_target!(|data: &[u8]| {
    if let Ok(incoming) = parse_batch(data) {
        let (readings, errors) = check_batch("CT-WQ-01", incoming, NOW);
        let n = readings.len() + errors.len();
        assert!((1..=MAX_BATCH).contains(&n), "{n} readings");
        for r in &readings {
            assert!(r.time.len() == 20 && r.time.ends_with('Z'), "time {:?}", r.time);
            let t = parse_utc(&r.time).unwrap_or_else(|| panic!("normalised time {:?} does not parse", r.time));
            assert!(t <= NOW + 600, "time {:?} in the future", r.time);
        }
    }
});
