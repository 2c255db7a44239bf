//! The JSON body of `POST /api/stations/{id}/readings`, read and checked as
//! the handler does before anything reaches the store.

#![no_main]

use agrimap_model::codes::national_defaults;
use agrimap_model::{CodeLists, UtcTime};
use agrimap_core::ingest::{MAX_BATCH, check_batch, parse_batch};
use libfuzzer_sys::fuzz_target;

/// 2026-11-25T00:00:00Z: a fixed "now", so that runs repeat.
const NOW: i64 = 1_795_564_800;

fuzz_target!(|data: &[u8]| {
    if let Ok(incoming) = parse_batch(data) {
        // The national lists: the pest species a fresh store holds.
        let lists = CodeLists::new(&national_defaults());
        let (readings, errors) = check_batch("CT-WQ-01", incoming, NOW, &lists);
        let n = readings.len() + errors.len();
        assert!((1..=MAX_BATCH).contains(&n), "{n} readings");
        for r in &readings {
            let text = r.time.to_string();
            assert!(text.len() == 20 && text.ends_with('Z'), "time {text}");
            assert_eq!(UtcTime::parse(&text), Ok(r.time), "the kept form reads back");
            assert!(r.time.unix() <= NOW + 600, "time {text} in the future");
        }
    }
});
