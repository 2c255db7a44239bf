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

/// A store made before the catalog gained `former_commune_code` (recoded
/// features keep their pre-2025 code there) gets the column when opened,
/// and its features read with the field empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_without_a_newer_column_gains_it_on_open() {
    use agrimap_model::{FeatureQuery, layer};
    use agrimap_store::LayerStore as _;
    let path = temp_path("older");
    drop(GpkgStore::create(&path).expect("create"));
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    // A store that old kept no versions either: without the history
    // triggers, which name every column, the column can be dropped.
    conn.execute_batch(
        "DROP TRIGGER agrimap_history_crop_update; DROP TRIGGER agrimap_history_crop_delete;
         ALTER TABLE crop DROP COLUMN former_commune_code",
    )
    .expect("an older schema");
    drop(conn);
    let store = GpkgStore::open(&path).expect("open");
    let crop = layer("crop").expect("crop");
    assert!(
        store
            .features(crop, &FeatureQuery::default())
            .await
            .expect("read")
            .is_empty()
    );
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    let has: bool = conn
        .query_row(
            "SELECT count(*) FROM pragma_table_info('crop') WHERE name = 'former_commune_code'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .expect("columns")
        == 1;
    assert!(has);
}

/// A reading time written by another SQLite client that is not a time is
/// an error naming it when read back, never a reading at a guessed time;
/// one written in another RFC 3339 form is read as the instant it names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_reading_times_are_read_as_instants_or_refused_by_name() {
    use agrimap_store::ReadingStore as _;
    let path = temp_path("times");
    drop(GpkgStore::create(&path).expect("create"));
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    conn.execute_batch(
        "INSERT INTO readings (station_id, parameter, value, unit, time)
         VALUES ('WQ-01', 'ph', 7.1, 'pH', '2026-11-24T12:00:00+07:00')",
    )
    .expect("a reading in an offset");
    drop(conn);
    let store = GpkgStore::open(&path).expect("open");
    let read = store.readings("WQ-01").await.expect("read");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].time.to_string(), "2026-11-24T05:00:00Z");
    drop(store);

    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    conn.execute_batch(
        "INSERT INTO readings (station_id, parameter, value, unit, time)
         VALUES ('WQ-01', 'salinity', 2.0, 'ppt', '24/11/2026')",
    )
    .expect("a malformed time");
    drop(conn);
    let store = GpkgStore::open(&path).expect("open");
    let err = store.readings("WQ-01").await.expect_err("refused");
    assert!(err.to_string().contains("24/11/2026"), "{err}");
}
