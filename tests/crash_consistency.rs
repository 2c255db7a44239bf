//! `agrimap` killed outright (SIGKILL) in the middle of writing: after a
//! restart, what it was writing is either wholly there or wholly absent.
//! Two writes: a large CSV upload of readings through `agrimap serve` (on
//! both stores), and `agrimap load` replacing a province in PostGIS.

use agrimap_model::calendar::format_timestamp;
use agrimap_model::{FeatureQuery, layer};
use agrimap_store::LayerStore as _;
use agrimap_store::{PgStore, ReadingQuery, Store};
use agrimap_suite::{PgDatabase, ServeProcess, StoreKind, agrimap_bin, scratch_dir};
use std::io::Write;
use std::process::Command;
use std::time::Duration;

const ROWS_PER_STATION: i64 = 20_000;
const STATIONS: [&str; 5] = ["WQ-01", "WQ-02", "WQ-03", "WQ-04", "WQ-05"];

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

/// 100,000 readings: hourly salinity of five stations, ending a day ago.
fn big_csv() -> Vec<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let end = i64::try_from(now).expect("time") / 3600 * 3600 - 86_400;
    let mut csv = b"station_id,parameter,value,unit,time\n".to_vec();
    for station in STATIONS {
        for h in 0..ROWS_PER_STATION {
            // Minutes and seconds that hourly demo readings never have, so
            // that none of these is a duplicate of a stored reading.
            let time = format_timestamp(end - h * 3600 - 17 * 60 - 17);
            writeln!(csv, "{station},salinity,{:.2},ppt,{time}", 0.5 + (h % 7) as f64 / 10.0).expect("row");
        }
    }
    csv
}

fn readings_count(store: &dyn Store) -> usize {
    STATIONS
        .iter()
        .map(|s| {
            let q = ReadingQuery {
                station_id: (*s).into(),
                parameter: Some("salinity".into()),
                ..ReadingQuery::default()
            };
            block_on(store.readings_between(&q)).expect("readings").len()
        })
        .sum()
}

/// Sends the upload on a raw connection (the answer never comes: the server
/// is killed) and kills the server `after` the body is sent.
fn upload_then_kill(server: ServeProcess, auth: &str, body: &[u8], after: Duration) {
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    write!(
        stream,
        "POST /api/readings HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("headers");
    stream.write_all(body).expect("body");
    std::thread::sleep(after);
    drop(server); // SIGKILL, then wait
}

/// Where the server under test keeps its data.
struct Target {
    /// The PostGIS database, dropped with the target.
    db: Option<PgDatabase>,
    /// Store arguments of `agrimap` commands.
    args: Vec<String>,
    data: std::path::PathBuf,
}

impl Target {
    fn new(kind: StoreKind) -> Self {
        match kind {
            StoreKind::GeoPackage => Self {
                db: None,
                args: Vec::new(),
                data: scratch_dir("crash-csv-gpkg"),
            },
            StoreKind::PostGis => {
                let db = PgDatabase::demo("crash_csv");
                Self {
                    args: vec!["--database".to_owned(), db.url.clone()],
                    db: Some(db),
                    data: scratch_dir("crash-csv-pg"),
                }
            }
        }
    }

    /// The store as a new process would open it.
    fn open(&self) -> Box<dyn Store> {
        match &self.db {
            Some(db) => Box::new(PgStore::connect(&db.url).expect("connect")),
            None => Box::new(agrimap_store::GpkgStore::open(&self.data.join("agrimap.gpkg")).expect("open")),
        }
    }
}

fn a_killed_csv_upload_is_wholly_there_or_absent(kind: StoreKind) {
    let body = big_csv();
    let target = Target::new(kind);
    let open = || target.open();
    let args = &target.args;
    let data = &target.data;
    let seed = agrimap_suite::demo_dir();
    let env = [
        ("AGRIMAP_DATA_DIR", data.as_os_str()),
        ("AGRIMAP_SEED_DIR", seed.as_os_str()),
    ];
    let mut token_args = vec!["token", "create", "--role", "editor", "--name", "crash test"];
    token_args.extend(args.iter().map(String::as_str));
    let created = Command::new(agrimap_bin())
        .args(&token_args)
        .envs(env)
        .output()
        .expect("run agrimap");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let auth = format!("Bearer {}", String::from_utf8_lossy(&created.stdout).trim());
    let serve_args: Vec<&str> = args.iter().map(String::as_str).collect();

    let total = STATIONS.len() * usize::try_from(ROWS_PER_STATION).expect("rows");
    let before = readings_count(open().as_ref());
    let mut outcomes = Vec::new();
    // Killed at several moments: while checking, while writing, after.
    for after_ms in [20, 150, 400, 900, 2_000] {
        let server = ServeProcess::start(&serve_args, &env);
        upload_then_kill(server, &auth, &body, Duration::from_millis(after_ms));
        let now = readings_count(open().as_ref());
        assert!(
            now == before || now == before + total,
            "killed {after_ms} ms after sending: {} of {total} readings landed",
            now - before
        );
        outcomes.push((after_ms, now > before));
        if now > before {
            break;
        }
    }
    // The server comes back healthy on the same store.
    let server = ServeProcess::start(&serve_args, &env);
    assert_eq!(server.get("/health", &[]).status, 200);
    eprintln!("kill after ms → upload landed: {outcomes:?}");
}

#[test]
fn a_killed_load_leaves_the_database_as_it_was_or_wholly_replaced() {
    let db = PgDatabase::demo("crash_load");
    let store = PgStore::connect(&db.url).expect("connect");
    let crop = layer("crop").expect("crop");
    let count = || block_on(store.count(crop, &FeatureQuery::default())).expect("count");
    let old = count();
    // A different province: 3,000 parcels instead of the demo's.
    let small = scratch_dir("crash-load-province");
    let made = Command::new(agrimap_bin())
        .args(["demo-data", "--parcels", "3000", "--out"])
        .arg(&small)
        .output()
        .expect("demo-data");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let mut outcomes = Vec::new();
    for after_ms in [200, 600, 1_200] {
        let mut child = Command::new(agrimap_bin())
            .args(["load", "--database", &db.url, "--from"])
            .arg(&small)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("load");
        std::thread::sleep(Duration::from_millis(after_ms));
        let _ = child.kill();
        let _ = child.wait();
        let now = count();
        assert!(now == old || now == 3_000, "killed after {after_ms} ms: {now} parcels");
        outcomes.push((after_ms, now));
        if now == 3_000 {
            break;
        }
    }
    eprintln!("kill after ms → parcels: {outcomes:?}");
}

agrimap_suite::store_suite!(a_killed_csv_upload_is_wholly_there_or_absent);
