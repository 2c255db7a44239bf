//! PostgreSQL stopped under a running agrimap: requests that need it answer
//! 503 with a JSON error instead of hanging, tiles cached before the outage
//! are still served, and agrimap recovers by itself
//! when the database is back. The test runs a cluster of its own, so that
//! stopping it disturbs no other test.

use agrimap_suite::TestServer;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

struct Cluster {
    dir: PathBuf,
    port: u16,
}

fn as_postgres(program: &str) -> Command {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    if is_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", program]);
        c
    } else {
        Command::new(program)
    }
}

impl Cluster {
    fn create() -> Self {
        let dir = std::env::temp_dir().join(format!("agrimap-faults-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let _ = Command::new("chown").arg("postgres").arg(&dir).status();
        let ok = as_postgres(&format!("{PG_BIN}/initdb"))
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-U", "postgres", "-A", "trust"])
            .output()
            .expect("initdb (tests/run.sh installs PostgreSQL)");
        assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let cluster = Self { dir, port };
        cluster.start();
        cluster
    }

    fn pg_ctl(&self, args: &[&str]) {
        let out = as_postgres(&format!("{PG_BIN}/pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(args)
            .output()
            .expect("pg_ctl");
        assert!(
            out.status.success(),
            "pg_ctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn start(&self) {
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log");
        self.pg_ctl(&["-w", "-l", path(&log), "-o", &opts, "start"]);
    }

    fn stop(&self) {
        self.pg_ctl(&["-w", "-m", "fast", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_postgres(&format!("{PG_BIN}/pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn stopped_database_gives_quick_503s_and_agrimap_recovers() {
    let cluster = Cluster::create();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store = rt
        .block_on(agrimap::postgres::connect_and_migrate(&cluster.url()))
        .expect("migrate");
    let server = TestServer::start(Arc::new(store));
    let tile = "/tiles/crop,ocop/14/13006/7733.mvt";
    assert_eq!(server.get("/health", &[]).status, 200);
    assert_eq!(server.get(tile, &[]).status, 204, "an empty database has empty tiles");

    cluster.stop();
    // A tile rendered before the outage is served from the cache: nothing
    // can change in a database that is down.
    assert_eq!(server.get(tile, &[]).status, 204, "a cached tile through the outage");
    let uncached = "/tiles/crop,ocop/14/13007/7733.mvt";
    for path in ["/health", uncached, "/tiles/crop.json"] {
        let started = Instant::now();
        let r = server.get(path, &[]);
        let took = started.elapsed();
        assert_eq!(r.status, 503, "{path}: {}", String::from_utf8_lossy(&r.body));
        if path != "/health" {
            assert_eq!(r.error_code(), "store_unavailable", "{path}");
        }
        // Generous bound against hanging; the figure itself is reported by the run.
        assert!(took < Duration::from_secs(10), "{path} took {took:?}");
        eprintln!("{path}: 503 after {took:?}");
    }
    // Static things do not need the database.
    assert_eq!(server.get("/catalog", &[]).status, 200);

    cluster.start();
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.get("/health", &[]).status != 200 {
        assert!(
            Instant::now() < deadline,
            "agrimap did not recover after PostgreSQL came back"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(server.get(tile, &[]).status, 204);
}
