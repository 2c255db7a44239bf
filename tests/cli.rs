//! The `agrimap` binary itself: first start seeds the store, SIGTERM stops it
//! cleanly, bad input exits non-zero with a message.

use agrimap_suite::{ServeProcess, agrimap_bin, scratch_dir};
use std::process::Command;
use std::time::Duration;

#[test]
fn serve_seeds_a_new_data_dir_serves_and_stops_on_sigterm() {
    let data = scratch_dir("cli-serve");
    let server = ServeProcess::start(
        &[],
        &[
            ("AGRIMAP_DATA_DIR", data.as_os_str()),
            ("AGRIMAP_SEED_DIR", agrimap_suite::demo_dir().as_os_str()),
        ],
    );
    let health = server.get("/health", &[]);
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["store"], "geopackage");
    assert!(
        data.join("agrimap.gpkg").is_file(),
        "the store is created under the data dir"
    );
    assert!(
        !std::fs::read_dir(&data).expect("dir").any(|e| e
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .contains("partial"))
    );
    let status = server.terminate(Duration::from_secs(10));
    assert!(status.success(), "agrimap exits cleanly on SIGTERM: {status:?}");
}

#[test]
fn bad_input_exits_non_zero_with_a_message() {
    let out = Command::new(agrimap_bin())
        .args(["demo-data", "--parcels", "lots"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'lots'"));

    let out = Command::new(agrimap_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--seed-dir", "/nonexistent/demo"])
        .env("AGRIMAP_DATA_DIR", scratch_dir("cli-bad-seed"))
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("agrimap: error: no demo province in '/nonexistent/demo'"),
        "{err}"
    );

    let out = Command::new(agrimap_bin())
        .args(["serve", "--listen", "not-an-address"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));
}
