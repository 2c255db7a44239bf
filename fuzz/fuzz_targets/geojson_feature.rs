//! One line of a layer file as `agrimap load --from DIR` reads it (one
//! GeoJSON feature of a `*.geojsonl.gz`), checked against every layer's schema.

#![no_main]

use agrimap_model::catalog;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    for layer in catalog() {
        if let Ok(feature) = agrimap_demo::parse_feature(layer, line) {
            assert_eq!(feature.properties.len(), layer.fields.len(), "{line:?} on {}", layer.id);
        }
    }
});
