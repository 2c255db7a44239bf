//! Prints what the CQL2 reader makes of every file of a corpus (by default
//! `fuzz/corpus/cql2`): one line per file, layer, audience and filter CRS,
//! the `Filter` read or the error. Run it before and after a change to the
//! reader and compare the two outputs:
//!
//! ```text
//! cargo run -q -p agrimap-model --example cql2_corpus > after.txt
//! ```

use agrimap_model::{Audience, catalog, cql2};
use geo::Coord;
use std::path::PathBuf;

fn main() {
    let dir = std::env::args().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/cql2"),
        PathBuf::from,
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    files.sort();
    // Another CRS: latitude first, refused south of the equator.
    let swap = |c: Coord<f64>| (c.x >= 0.0).then_some(Coord { x: c.y, y: c.x });
    let other = cql2::FilterCrs::Other {
        name: "latitude-longitude",
        to_crs84: &swap,
    };
    let (mut read, mut accepted) = (0_usize, 0_usize);
    for file in &files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(text) = std::fs::read_to_string(file) else {
            println!("{name}: not UTF-8");
            continue;
        };
        read += 1;
        let mut any = false;
        for layer in catalog() {
            for audience in [Audience::Public, Audience::Full] {
                for (crs_name, crs) in [("crs84", cql2::FilterCrs::Crs84), ("other", other)] {
                    let outcome = cql2::parse_in(&text, layer, audience, crs);
                    any |= outcome.is_ok();
                    println!("{name} {} {audience:?} {crs_name}: {outcome:?}", layer.id);
                }
            }
        }
        accepted += usize::from(any);
    }
    eprintln!(
        "{} files, {read} UTF-8, {accepted} read as a filter for at least one layer",
        files.len()
    );
}
