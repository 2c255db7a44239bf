//! The readings CSV of a province directory (`readings.csv.gz`, unzipped),
//! read as `agrimap load --from DIR` reads it, then each row checked as a
//! station's reading is.

#![no_main]

use agrimap_model::readings::check_reading;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

/// 2026-11-25T00:00:00Z: a fixed "now", so that runs repeat.
const NOW: i64 = 1_795_564_800;

fuzz_target!(|data: &[u8]| {
    if let Ok(readings) = agrimap_demo::parse_readings(data, Path::new("readings.csv")) {
        for r in &readings {
            let _ = check_reading(r, NOW, 600);
        }
    }
});
