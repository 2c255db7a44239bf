//! What only the GeoPackage store does: its file (the cases every store
//! passes are in `contract.rs`).

use agrimap_store::GpkgStore;
use std::path::PathBuf;

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("agrimap-store-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("store.gpkg")
}

#[test]
fn opening_something_else_is_a_clear_error() {
    let path = temp_path("other");
    std::fs::write(&path, b"not a database at all, just text").expect("write");
    let err = GpkgStore::open(&path).err().expect("must fail");
    assert!(err.to_string().contains("is not an agrimap GeoPackage"), "{err}");
    assert!(GpkgStore::open(&path.with_file_name("missing.gpkg")).is_err());
}
