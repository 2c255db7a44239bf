//! The `agrimap` binary itself: first start seeds the store, SIGTERM stops it
//! cleanly, bad input exits non-zero with a message.

use agrimap_suite::{agrimap_bin, request, scratch_dir};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn serve_seeds_a_new_data_dir_serves_and_stops_on_sigterm() {
    let data = scratch_dir("cli-serve");
    let mut child = Command::new(agrimap_bin())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("AGRIMAP_DATA_DIR", &data)
        .env("AGRIMAP_SEED_DIR", agrimap_suite::demo_dir())
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start agrimap");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.find("http://") {
                let url = line[at..].split_whitespace().next().unwrap_or_default();
                let _ = tx.send(url.trim_end_matches('/').to_owned());
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(300))
        .expect("agrimap announces its address");
    let health = request("GET", &format!("{base}/health"), &[]);
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

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    assert!(status.success(), "agrimap exits cleanly on SIGTERM: {status:?}");
}

fn wait_with_timeout(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("agrimap did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
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
