//! The demo province is deterministic, and what ships in data/demo is exactly
//! what the generator makes with the default options.

use agrimap_suite::{agrimap_bin, demo_dir, scratch_dir};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect()
}

fn generate(dir: &Path, extra: &[&str]) {
    let out = Command::new(agrimap_bin())
        .arg("demo-data")
        .arg("--out")
        .arg(dir)
        .args(extra)
        .output()
        .expect("run agrimap demo-data");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn same_seed_same_bytes_and_the_shipped_data_is_the_default_output() {
    let a = scratch_dir("demo-a");
    generate(&a, &[]);
    let shipped = files(&demo_dir());
    let generated = files(&a);
    assert_eq!(generated.keys().collect::<Vec<_>>(), shipped.keys().collect::<Vec<_>>());
    for (name, bytes) in &generated {
        assert!(
            bytes == &shipped[name],
            "{name} differs from data/demo: regenerate with `agrimap demo-data`"
        );
    }
    let total: usize = shipped.values().map(Vec::len).sum();
    assert!(total < 20 * 1024 * 1024, "data/demo is {total} bytes");
}

#[test]
fn another_seed_gives_another_province_of_the_requested_size() {
    let a = scratch_dir("demo-seed7-a");
    let b = scratch_dir("demo-seed7-b");
    generate(&a, &["--seed", "7", "--parcels", "8000"]);
    generate(&b, &["--seed", "7", "--parcels", "8000"]);
    assert_eq!(files(&a), files(&b));
    let manifest = agrimap_demo::read_manifest(&a).expect("manifest");
    assert_eq!(manifest.counts["crop"], 8000);
    assert_ne!(files(&a)["crop.geojsonl.gz"], files(&demo_dir())["crop.geojsonl.gz"]);
}
