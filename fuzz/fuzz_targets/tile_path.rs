//! Tile paths: `{layers}/{z}/{x}/{y}.mvt` and `{layers}.json` after `/tiles/`,
//! split into segments as the router does, then the layer list and the tile
//! coordinate read as the handlers read them.

#![no_main]

use agrimap_core::tiles::{parse_coord, parse_layers};
use agrimap_tiles::{tile_bounds, tile_bounds_buffered};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let segments: Vec<&str> = path.split('/').collect();
    match segments.as_slice() {
        [file] => {
            if let Some(spec) = file.strip_suffix(".json") {
                check_layers(spec);
            }
        }
        [spec, z, x, y] => {
            check_layers(spec);
            if let Ok(coord) = parse_coord(z, x, y) {
                let n = 1_u64 << coord.z;
                assert!(u64::from(coord.x) < n && u64::from(coord.y) < n, "{path:?}: {coord:?}");
                for rect in [tile_bounds(coord), tile_bounds_buffered(coord, 64, 4096)] {
                    let (a, b) = (rect.min(), rect.max());
                    assert!(
                        [a.x, a.y, b.x, b.y].iter().all(|v| v.is_finite()) && a.x < b.x && a.y < b.y,
                        "{path:?}: bounds {rect:?}"
                    );
                }
            }
        }
        _ => {}
    }
});

fn check_layers(spec: &str) {
    if let Ok(layers) = parse_layers(spec) {
        assert!(!layers.is_empty(), "{spec:?}: no layers");
        let mut ids: Vec<&str> = layers.iter().map(|l| l.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), layers.len(), "{spec:?}: a layer twice");
    }
}
