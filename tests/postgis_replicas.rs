//! Read replicas: `agrimap serve --database P --database-replica R` against a
//! real PostgreSQL primary and a streaming replica made from it by
//! `pg_basebackup -R`, both clusters of the test's own. Reads of layers are
//! answered by the replica (its own table statistics and agrimap's metrics
//! show it); a client that writes reads its write on its next request; a
//! primary given as a replica, or a replica that cannot be reached, stops
//! the start with a clear message; and the replica killed under a load of
//! tile, `/ogc` and statistics requests costs no request anything: every
//! one answers 200 (or 204) with what it answered before. Restarted, the
//! replica takes reads again.

use agrimap_core::tokens::hash_token;
use agrimap_store::CredentialStore as _;
use agrimap_suite::pg_cluster::{Cluster, free_port};
use agrimap_suite::{Reply, ServeProcess, agrimap_bin, demo_dir, on_database, request_with_body};
use agrimap_tiles::tile_containing;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const TOKEN: &str = "replica-test-token-for-wq01";
const APPLY_DELAY: Duration = Duration::from_millis(1500);

/// The demo province loaded into a new primary, with a token for station WQ-01.
fn primary_with_demo() -> Cluster {
    let primary = Cluster::create("replicas-primary");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = agrimap::postgres::connect_and_migrate(&primary.url())
            .await
            .expect("migrate");
        let batch = agrimap::seed::demo_batch(&demo_dir()).expect("demo batch");
        agrimap_store::LayerStore::write(&store, batch)
            .await
            .expect("load the demo province");
        assert!(
            store
                .set_station_token_hash("WQ-01", &hash_token(TOKEN))
                .await
                .expect("token")
        );
    });
    primary
}

/// Runs `agrimap serve` expecting it to refuse to start; returns its exit
/// status and what it wrote to standard error.
fn refused_start(args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = std::process::Command::new(agrimap_bin())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start agrimap");
    let deadline = Instant::now() + Duration::from_mins(1);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("agrimap serve did not stop: it should have refused to start");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr).expect("stderr");
    (status, stderr)
}

/// A value of `/metrics`, by its series (`name{labels}` as written).
fn metric<T: std::str::FromStr>(server: &ServeProcess, series: &str) -> Option<T> {
    let reply = server.get("/metrics", &[]);
    assert_eq!(reply.status, 200);
    String::from_utf8_lossy(&reply.body).lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok()).flatten()
    })
}

fn replica_reads(server: &ServeProcess) -> u64 {
    metric(server, "agrimap_db_layer_reads_total{target=\"replica\"}").unwrap_or(0)
}

fn primary_reads(server: &ServeProcess) -> u64 {
    metric(server, "agrimap_db_layer_reads_total{target=\"primary\"}").unwrap_or(0)
}

fn replicas_healthy(server: &ServeProcess) -> Option<i64> {
    metric(server, "agrimap_db_replicas_healthy")
}

fn wait_for_healthy_replica(server: &ServeProcess) {
    let deadline = Instant::now() + Duration::from_mins(1);
    while replicas_healthy(server) != Some(1) {
        assert!(
            Instant::now() < deadline,
            "the replica never became healthy:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Scans of the crop table the replica itself has run (its own statistics:
/// the primary's are not replicated).
fn crop_scans_on(replica: &Cluster) -> i64 {
    on_database(&replica.url(), async |c| {
        c.query_one(
            // crop is partitioned by province: its partitions are scanned.
            "SELECT coalesce(sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)), 0)::bigint FROM pg_stat_user_tables
             WHERE relid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'crop'::regclass)",
            &[],
        )
        .await
        .expect("replica statistics")
        .get(0)
    })
}

/// What must not change between two answers to the same request: the
/// status, and the decoded tile or the JSON without its timestamp.
fn essence(reply: &Reply) -> (u16, Vec<u8>) {
    let body = reply.decoded_body();
    let kept = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(mut v) => {
            if let Some(o) = v.as_object_mut() {
                o.remove("timeStamp");
            }
            v.to_string().into_bytes()
        }
        Err(_) => body,
    };
    (reply.status, kept)
}

/// Tiles, `/ogc` pages and counts, and statistics of the demo province.
fn load_paths(server: &ServeProcess) -> Vec<String> {
    let tilejson = server.get("/tiles/crop.json", &[]).json();
    let b: Vec<f64> = tilejson["bounds"]
        .as_array()
        .expect("bounds")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect();
    let (lon, lat) = (f64::midpoint(b[0], b[2]), f64::midpoint(b[1], b[3]));
    let mut paths = Vec::new();
    for z in [11u8, 12, 13, 14] {
        let t = tile_containing(lon, lat, z);
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            paths.push(format!("/tiles/crop,ocop/{z}/{}/{}.mvt", t.x + dx, t.y + dy));
        }
    }
    for offset in [0, 100, 200, 300] {
        paths.push(format!("/ogc/collections/crop/items?limit=100&offset={offset}&f=json"));
    }
    let d = 0.02;
    paths.push(format!(
        "/ogc/collections/crop/items?bbox={},{},{},{}&limit=500&f=json",
        lon - d,
        lat - d,
        lon + d,
        lat + d
    ));
    paths.push("/ogc/collections/ocop/items?limit=50&f=json".into());
    paths.push("/api/stats?layer=crop&by=province&metric=area".into());
    paths.push("/api/stats?layer=crop&by=commune&metric=count".into());
    paths
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one story: the clusters are made once for all of it"
)]
fn reads_go_to_the_replica_and_survive_it() {
    let primary = primary_with_demo();
    // Always 1.5 s behind: a read of a layer just written that went to it
    // would miss the write, yet it stays within the lag bound (5 s).
    let replica = Cluster::replica_of(&primary, "replicas-replica", Some(APPLY_DELAY));

    // A primary given as a replica: refused, nothing started.
    let (status, stderr) = refused_start(&["--database", &primary.url(), "--database-replica", &primary.url()]);
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("is not a replica"), "{stderr}");
    assert!(
        stderr.contains(&format!("127.0.0.1:{}/postgres", primary.port)),
        "{stderr}"
    );

    // A replica nobody answers at: refused, named without its password.
    let nowhere = free_port();
    let unreachable = format!("postgres://postgres:s3cret-pw@127.0.0.1:{nowhere}/postgres");
    let (status, stderr) = refused_start(&["--database", &primary.url(), "--database-replica", &unreachable]);
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("cannot be reached"), "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{nowhere}/postgres")), "{stderr}");
    assert!(!stderr.contains("s3cret-pw"), "the password leaked: {stderr}");

    // Replicas without a primary make no sense.
    let (status, stderr) = refused_start(&["--database-replica", &replica.url()]);
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("--database-replica needs --database"), "{stderr}");

    let server = ServeProcess::start(
        &[
            "--database",
            &primary.url(),
            "--database-replica",
            &replica.url(),
            "--tile-cache-mb",
            "0",
            "--rate-per-address",
            "0",
        ],
        &[],
    );
    wait_for_healthy_replica(&server);

    // Reads go to the replica: its own scans of the crop table grow, and
    // agrimap counts them as replica reads.
    let paths = load_paths(&server);
    let (scans_before, reads_before) = (crop_scans_on(&replica), replica_reads(&server));
    let mut expected = BTreeMap::new();
    for path in &paths {
        let reply = server.get(path, &[]);
        assert!(
            matches!(reply.status, 200 | 204),
            "{path}: {} {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
        expected.insert(path.clone(), essence(&reply));
    }
    let replica_reads_now = replica_reads(&server);
    assert!(replica_reads_now > reads_before, "no read went to the replica");
    let deadline = Instant::now() + Duration::from_secs(30);
    // The replica's statistics are flushed by its backends about once a second.
    while crop_scans_on(&replica) <= scans_before {
        assert!(Instant::now() < deadline, "the replica ran no scan of crop");
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!(
        "replica reads: {} for {} requests; crop scans on the replica: {} -> {}",
        replica_reads_now - reads_before,
        paths.len(),
        scans_before,
        crop_scans_on(&replica)
    );

    // An export streams the layer from the replica too, whole.
    let reads_before = replica_reads(&server);
    let export = server.get("/api/export/ocop.geojson", &[]);
    assert_eq!(export.status, 200, "{}", String::from_utf8_lossy(&export.body));
    let exported = serde_json::from_slice::<serde_json::Value>(&export.decoded_body()).expect("GeoJSON")["features"]
        .as_array()
        .expect("features")
        .len();
    let matched = server.get("/ogc/collections/ocop/items?limit=1&f=json", &[]).json()["numberMatched"].clone();
    assert_eq!(json!(exported), matched);
    assert!(
        replica_reads(&server) > reads_before,
        "the export was not read on the replica"
    );

    // Read-your-writes: each reading changes the station's latest time in
    // the monitoring layer, and the very next request sees it.
    let readings_url = format!("{}/api/stations/WQ-01/readings", server.base);
    let station = "/ogc/collections/monitoring/items?filter=station_id%3D%27WQ-01%27&f=json";
    let auth = format!("Bearer {TOKEN}");
    for k in 0..40 {
        let time = format!("2026-12-01T{:02}:{:02}:00Z", k / 60, k % 60);
        let batch = json!([{"parameter": "ph", "value": 7.0, "unit": "pH", "time": time}]);
        let posted = request_with_body(
            "POST",
            &readings_url,
            &[("authorization", &auth), ("content-type", "application/json")],
            batch.to_string().into_bytes(),
        );
        assert_eq!(posted.status, 200, "{}", String::from_utf8_lossy(&posted.body));
        let read = server.get(station, &[]);
        assert_eq!(read.status, 200);
        let seen = read.json()["features"][0]["properties"]["last_reading_at"].clone();
        assert_eq!(seen, json!(time), "write {k} not seen by the next read");
    }

    // Only the layer written waits for the replica: the others are still read there.
    let reads_before = replica_reads(&server);
    let crop_page = "/ogc/collections/crop/items?limit=10&offset=7&f=json";
    assert_eq!(server.get(crop_page, &[]).status, 200);
    assert!(
        replica_reads(&server) > reads_before,
        "crop was not read on the replica after writes to monitoring"
    );

    // The replica killed under load: every request still answers as before.
    let expected = Arc::new(expected);
    let stop = Arc::new(AtomicBool::new(false));
    let base = server.base.clone();
    let workers: Vec<_> = (0..6)
        .map(|w| {
            let (expected, stop, base) = (expected.clone(), stop.clone(), base.clone());
            std::thread::spawn(move || {
                let mut answered = 0usize;
                let mut wrong = Vec::new();
                let paths: Vec<&String> = expected.keys().collect();
                let mut k = w;
                while !stop.load(Ordering::Relaxed) {
                    let path = paths[k % paths.len()];
                    k += 1;
                    let reply = agrimap_suite::request("GET", &format!("{base}{path}"), &[]);
                    if essence(&reply) != expected[path] {
                        wrong.push(format!(
                            "{path}: {} {}",
                            reply.status,
                            String::from_utf8_lossy(&reply.body)
                                .chars()
                                .take(300)
                                .collect::<String>()
                        ));
                    }
                    answered += 1;
                }
                (answered, wrong)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let before_kill = replica_reads(&server);
    let primary_at_kill = primary_reads(&server);
    replica.kill();
    std::thread::sleep(Duration::from_secs(4));
    stop.store(true, Ordering::Relaxed);
    let mut answered = 0;
    let mut wrong = Vec::new();
    for worker in workers {
        let (n, w) = worker.join().expect("worker");
        answered += n;
        wrong.extend(w);
    }
    eprintln!(
        "under load: {answered} requests, {} wrong; replica reads before the kill: {before_kill}",
        wrong.len()
    );
    assert!(
        wrong.is_empty(),
        "{} of {answered} answers differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(
        before_kill > replica_reads_now,
        "the load did not reach the replica before the kill"
    );
    assert_eq!(replicas_healthy(&server), Some(0));
    // From the kill on, the load's reads went to the primary. (Whether one of
    // them met the dead replica first, and was retried, or the health check
    // left the replica out before any did, depends on timing: either way no
    // client saw it, which is what the answers above show.)
    assert!(
        primary_reads(&server) > primary_at_kill,
        "no read went to the primary after the replica died:\n{}",
        server.log()
    );
    eprintln!(
        "reads that met the dead replica and were retried on the primary: {}",
        server.log().matches("a read failed on a replica").count()
    );

    // Back, it takes reads again.
    replica.start();
    wait_for_healthy_replica(&server);
    let reads_before = replica_reads(&server);
    for path in expected.keys() {
        let reply = server.get(path, &[]);
        assert_eq!(essence(&reply), expected[path], "{path} after the replica came back");
    }
    assert!(
        replica_reads(&server) > reads_before,
        "reads did not return to the replica"
    );
    drop(server);

    // A bound tighter than the replica's delay: while writes go on it is
    // too far behind and takes no reads; once they stop and it has caught
    // up, it takes them again.
    let strict = ServeProcess::start(
        &[
            "--database",
            &primary.url(),
            "--database-replica",
            &replica.url(),
            "--replica-max-lag",
            "0.5",
            "--rate-per-address",
            "0",
        ],
        &[],
    );
    wait_for_healthy_replica(&strict);
    let readings_url = format!("{}/api/stations/WQ-01/readings", strict.base);
    let lag_series = format!(
        "agrimap_db_replica_lag_seconds{{replica=\"127.0.0.1:{}/postgres\"}}",
        replica.port
    );
    let mut left_out_at_lag = None;
    for k in 0..300 {
        let time = format!("2026-12-02T{:02}:{:02}:{:02}Z", k / 3600, k / 60 % 60, k % 60);
        let batch = json!([{"parameter": "ph", "value": 7.2, "unit": "pH", "time": time}]);
        let posted = request_with_body(
            "POST",
            &readings_url,
            &[("authorization", &auth), ("content-type", "application/json")],
            batch.to_string().into_bytes(),
        );
        assert_eq!(posted.status, 200, "{}", String::from_utf8_lossy(&posted.body));
        if replicas_healthy(&strict) == Some(0) {
            left_out_at_lag = metric::<f64>(&strict, &lag_series);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let lag = left_out_at_lag.expect("the replica was never left out while it lagged more than the bound");
    assert!(lag > 0.5, "left out at a lag of {lag} s, within the bound");
    let reads_before = replica_reads(&strict);
    assert_eq!(
        strict.get("/ogc/collections/crop/items?limit=5&f=json", &[]).status,
        200
    );
    assert_eq!(replica_reads(&strict), reads_before, "a replica left out took a read");
    wait_for_healthy_replica(&strict);
    eprintln!("with --replica-max-lag 0.5 the replica was left out at a lag of {lag} s, and came back");
}
