//! Station readings over MQTT on both stores, through a real Mosquitto and
//! its real clients: `agrimap serve --mqtt-url` ingests what a station
//! publishes exactly as if it were posted (whole or nothing, idempotent, the
//! alert state and latest values updated), publishes the answer to the
//! result topic, and loses nothing while it or the broker is down.

use agrimap_core::tokens::hash_token;
use agrimap_model::Value;
use agrimap_store::{GpkgStore, PgStore, ReadingQuery, Store};
use agrimap_suite::mosquitto::Mosquitto;
use agrimap_suite::{
    PgDatabase, ServeProcess, StoreKind, agrimap_bin, alert_of, scratch_dir, shared_store_path, station_in_tile,
    store_suite,
};
use agrimap_tiles::tile_containing;
use serde_json::{Value as Json, json};
use std::time::{Duration, Instant};

const TOKEN: &str = "5be1d0c4-mqtt-test-token-for-wq01";
const TOPIC: &str = "agrimap/stations/WQ-01/readings";
const RESULT: &str = "agrimap/stations/WQ-01/readings/result";
/// Batches published at once while agrimap is down.
const BACKLOG: usize = 300;
/// The readings of these tests fall on this day, after the demo province's.
const DAY: &str = "from=2026-11-24T00:00:00Z&to=2026-11-24T23:59:59Z";

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

/// A store for `agrimap serve` in which station WQ-01 has a token.
struct Target {
    db: Option<PgDatabase>,
    data: std::path::PathBuf,
    client_id: String,
}

impl Target {
    fn new(kind: StoreKind, test: &str) -> Self {
        let data = scratch_dir(&format!("mqtt-{test}-{}", kind.name()));
        let client_id = format!("agrimap-test-{}-{test}-{}", std::process::id(), kind.name());
        let target = match kind {
            StoreKind::GeoPackage => {
                std::fs::copy(shared_store_path(), data.join("agrimap.gpkg")).expect("copying the demo store");
                Self {
                    db: None,
                    data,
                    client_id,
                }
            }
            StoreKind::PostGis => Self {
                db: Some(PgDatabase::demo(&format!("mqtt_{test}"))),
                data,
                client_id,
            },
        };
        let token = hash_token(TOKEN);
        assert!(block_on(target.store().set_station_token_hash("WQ-01", &token)).expect("token"));
        target
    }

    /// The store, as another process opens it.
    fn store(&self) -> Box<dyn Store> {
        match &self.db {
            Some(db) => Box::new(PgStore::connect(&db.url).expect("connect")),
            None => Box::new(GpkgStore::open(&self.data.join("agrimap.gpkg")).expect("open")),
        }
    }

    /// `agrimap serve` on this store, listening to `broker`.
    fn serve(&self, broker: &Mosquitto) -> ServeProcess {
        let url = broker.url();
        let mut args = vec!["--mqtt-url", &url, "--mqtt-client-id", &self.client_id];
        if let Some(db) = &self.db {
            args.extend(["--database", &db.url]);
        }
        ServeProcess::start(&args, &[("AGRIMAP_DATA_DIR", self.data.as_os_str())])
    }
}

fn payload(token: &str, readings: &Json) -> String {
    json!({"token": token, "readings": readings}).to_string()
}

/// WQ-01's readings of [`DAY`], as the HTTP API gives them.
fn readings(server: &ServeProcess) -> Vec<Json> {
    let reply = server.get(&format!("/api/stations/WQ-01/readings?{DAY}"), &[]);
    assert_eq!(reply.status, 200);
    reply.json()["readings"].as_array().expect("readings").clone()
}

/// WQ-01's readings of [`DAY`], asked of the store.
fn wq01_day() -> ReadingQuery {
    ReadingQuery {
        station_id: "WQ-01".into(),
        from: "2026-11-24T00:00:00Z".parse().ok(),
        to: "2026-11-24T23:59:59Z".parse().ok(),
        ..ReadingQuery::default()
    }
}

/// Polls `check` until it holds; there is no timing in the test, only a
/// generous deadline.
fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_mins(2);
    while !check() {
        assert!(Instant::now() < deadline, "waited two minutes for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A light trap's species must be on the pest list, its count not negative:
/// each bad reading named, as over HTTP.
fn refuses_unknown_species_and_negative_counts(broker: &Mosquitto) {
    let results = broker.subscribe(RESULT);
    let pests = json!([
        {"parameter": "pest_count", "species": "locust", "value": 12.0, "unit": "insects", "time": "2026-11-24T06:00:00Z"},
        {"parameter": "pest_count", "species": "rice_bug", "value": -1.0, "unit": "insects", "time": "2026-11-24T06:00:00Z"},
    ]);
    broker.publish(TOPIC, &payload(TOKEN, &pests));
    let answer = results.next();
    let named = answer["error"]["readings"].as_array().expect("named");
    assert!(
        named[0]["error"]
            .as_str()
            .expect("why")
            .contains("unknown species 'locust'"),
        "{answer}"
    );
    assert!(
        named[1]["error"].as_str().expect("why").contains("negative"),
        "{answer}"
    );
}

fn a_published_batch_lands_once_and_bad_ones_are_answered(kind: StoreKind) {
    let broker = Mosquitto::start(&format!("batch-{}", kind.name()));
    let target = Target::new(kind, "batch");
    let server = target.serve(&broker);
    let before = readings(&server).len();
    let batch = json!([
        {"parameter": "salinity", "value": 4.6, "unit": "ppt", "time": "2026-11-24T05:00:00Z"},
        {"parameter": "ph", "value": 7.1, "unit": "pH", "time": "2026-11-24T05:00:00Z"},
        {"parameter": "temperature", "value": 29.5, "unit": "°C", "time": "2026-11-24T05:00:00Z"},
    ]);

    let results = broker.subscribe(RESULT);
    broker.publish(TOPIC, &payload(TOKEN, &batch));
    let answer = results.next();
    assert_eq!(answer["stored"], 3, "{answer}");
    assert_eq!(answer["duplicates"], 0);
    assert_eq!(answer["alert_state"], "alarm");
    assert_eq!(answer["alert_cause"]["parameter"], "salinity");
    assert!(
        !answer.to_string().contains(TOKEN),
        "the answer never carries the token"
    );
    assert_eq!(readings(&server).len(), before + 3);

    // The alert and the latest values are those of the batch, on the API and the map.
    let alerts = server.get("/api/alerts", &[]).json();
    let wq01 = alert_of(&alerts, "WQ-01");
    assert_eq!(wq01["alert_state"], "alarm");
    assert_eq!(wq01["cause"]["value"], 4.6);
    assert_eq!(wq01["cause"]["time"], "2026-11-24T05:00:00Z");
    let (lon, lat) = (
        wq01["location"][0].as_f64().expect("lon"),
        wq01["location"][1].as_f64().expect("lat"),
    );
    let t = tile_containing(lon, lat, 14);
    let tile = server.get(&format!("/tiles/monitoring/{}/{}/{}.mvt", t.z, t.x, t.y), &[]);
    let station = station_in_tile(&tile, "WQ-01");
    assert_eq!(station.get("alert_state"), Some(&Value::from("alarm")));
    assert_eq!(station.get("latest_salinity"), Some(&Value::Real(4.6)));
    assert_eq!(station.get("latest_ph"), Some(&Value::Real(7.1)));

    // The same batch again stores nothing.
    let results = broker.subscribe(RESULT);
    broker.publish(TOPIC, &payload(TOKEN, &batch));
    let answer = results.next();
    assert_eq!(answer["stored"], 0, "{answer}");
    assert_eq!(answer["duplicates"], 3);
    assert_eq!(readings(&server).len(), before + 3);

    let good = json!({"parameter": "salinity", "value": 0.4, "unit": "ppt", "time": "2026-11-24T06:00:00Z"});
    // A wrong token, and none at all.
    let results = broker.subscribe(RESULT);
    broker.publish(TOPIC, &payload("not-the-token", &json!([good])));
    let answer = results.next();
    assert_eq!(answer["error"]["code"], "unauthorized", "{answer}");
    assert!(!answer.to_string().contains("not-the-token"));
    let results = broker.subscribe(RESULT);
    broker.publish(TOPIC, &json!({"readings": [good]}).to_string());
    assert_eq!(results.next()["error"]["code"], "unauthorized");

    // An unknown station is answered on its own result topic.
    let unknown = broker.subscribe("agrimap/stations/NOPE-9/readings/result");
    broker.publish("agrimap/stations/NOPE-9/readings", &payload(TOKEN, &json!([good])));
    assert_eq!(unknown.next()["error"]["code"], "unknown_station");

    // One bad reading refuses the whole batch, and is named.
    let results = broker.subscribe(RESULT);
    let bad = json!([good, {"parameter": "ph", "value": 15.0, "unit": "pH", "time": "2026-11-24T06:00:00Z"}]);
    broker.publish(TOPIC, &payload(TOKEN, &bad));
    let answer = results.next();
    assert_eq!(answer["error"]["code"], "bad_readings", "{answer}");
    let named: Vec<&Json> = answer["error"]["readings"].as_array().expect("named").iter().collect();
    assert_eq!(named.len(), 1, "{answer}");
    assert_eq!(named[0]["index"], 1);
    assert!(named[0]["error"].as_str().expect("why").contains("ph"), "{answer}");

    refuses_unknown_species_and_negative_counts(&broker);

    // A payload that is no JSON object.
    let results = broker.subscribe(RESULT);
    broker.publish(TOPIC, "salinity=4.6");
    assert_eq!(results.next()["error"]["code"], "bad_body");

    // A time without a zone cannot be placed: refused, saying so.
    let results = broker.subscribe(RESULT);
    let local = json!([{"parameter": "ph", "value": 7.0, "unit": "pH", "time": "2026-11-24T13:00:00"}]);
    broker.publish(TOPIC, &payload(TOKEN, &local));
    let answer = results.next();
    assert!(answer.to_string().contains("needs a time zone"), "{answer}");

    assert_eq!(
        readings(&server).len(),
        before + 3,
        "nothing of a refused batch is stored"
    );

    // Times in any RFC 3339 form, as stations' clock libraries write them,
    // are kept in UTC to the second.
    let results = broker.subscribe(RESULT);
    let offsets = json!([
        {"parameter": "ph", "value": 7.2, "unit": "pH", "time": "2026-11-24T14:00:00+07:00"},
        {"parameter": "ph", "value": 7.3, "unit": "pH", "time": "2026-11-24T08:00:00.750+00:00"},
    ]);
    broker.publish(TOPIC, &payload(TOKEN, &offsets));
    assert_eq!(results.next()["stored"], 2);
    let times: Vec<String> = readings(&server)
        .iter()
        .filter(|r| r["parameter"] == "ph")
        .map(|r| r["time"].as_str().expect("time").to_owned())
        .collect();
    assert!(times.contains(&"2026-11-24T07:00:00Z".to_owned()), "{times:?}");
    assert!(times.contains(&"2026-11-24T08:00:00Z".to_owned()), "{times:?}");
}

fn nothing_is_lost_while_agrimap_or_the_broker_is_down(kind: StoreKind) {
    let mut broker = Mosquitto::start(&format!("down-{}", kind.name()));
    let target = Target::new(kind, "down");
    let server = target.serve(&broker);
    let before = readings(&server).len();
    let reading = |hour: u32| json!([{"parameter": "salinity", "value": 0.5, "unit": "ppt", "time": format!("2026-11-24T{hour:02}:00:00Z")}]);
    // Once a first batch is answered, agrimap's session is at the broker.
    let results = broker.subscribe(RESULT);
    broker.publish(TOPIC, &payload(TOKEN, &reading(1)));
    assert_eq!(results.next()["stored"], 1);

    // Killed (no goodbye to the broker), and batches published meanwhile: three,
    // then a backlog of 300 that the broker sends at once when agrimap is back.
    drop(server);
    for hour in 2..=4 {
        broker.publish(TOPIC, &payload(TOKEN, &reading(hour)));
    }
    let backlog: Vec<String> = (0..BACKLOG)
        .map(|i| {
            let time = format!("2026-11-24T10:{:02}:{:02}Z", i / 60, i % 60);
            payload(
                TOKEN,
                &json!([{"parameter": "ph", "value": 7.2, "unit": "pH", "time": time}]),
            )
        })
        .collect();
    broker.publish_lines(TOPIC, &backlog);
    // agrimap starts while the broker is down too (it keeps the batches on disk):
    // it serves HTTP all the same, and takes the batches once the broker is back.
    broker.stop();
    let server = target.serve(&broker);
    assert_eq!(server.get("/health", &[]).status, 200);
    broker.restart();
    wait_until("the batches published while agrimap was down", || {
        readings(&server).len() == before + 4 + BACKLOG
    });

    // The broker restarts under a connected agrimap, which reconnects and goes on.
    broker.restart();
    broker.publish(TOPIC, &payload(TOKEN, &reading(5)));
    wait_until("a batch published after the broker restarted", || {
        readings(&server).len() == before + 5 + BACKLOG
    });
    assert!(
        server.log().contains("MQTT broker unreachable; reconnecting"),
        "{}",
        server.log()
    );
    let mut times: Vec<String> = readings(&server)
        .iter()
        .filter(|r| r["value"] == 0.5)
        .map(|r| r["time"].as_str().expect("time").to_owned())
        .collect();
    times.sort();
    let expected: Vec<String> = (1..=5).map(|h| format!("2026-11-24T{h:02}:00:00Z")).collect();
    assert_eq!(times, expected, "each reading once");
    let status = server.terminate(Duration::from_mins(1));
    assert!(
        status.success(),
        "agrimap stops cleanly on SIGTERM with its MQTT listener: {status:?}"
    );
}

/// The readings table held locked by another writer, so that agrimap's write
/// waits (and fails) until the lock goes.
enum WriteLock {
    Sqlite(rusqlite::Connection),
    Postgres {
        release: std::sync::mpsc::Sender<()>,
        thread: std::thread::JoinHandle<()>,
    },
}

impl WriteLock {
    fn take(target: &Target) -> Self {
        match &target.db {
            None => {
                let conn = rusqlite::Connection::open(target.data.join("agrimap.gpkg")).expect("open");
                conn.execute_batch("BEGIN IMMEDIATE").expect("write lock");
                Self::Sqlite(conn)
            }
            Some(db) => {
                let url = db.url.clone();
                let (locked_tx, locked) = std::sync::mpsc::channel();
                let (release, released) = std::sync::mpsc::channel::<()>();
                let thread = std::thread::spawn(move || {
                    agrimap_suite::on_database(&url, async |client| {
                        client
                            .batch_execute("BEGIN; LOCK TABLE readings IN EXCLUSIVE MODE")
                            .await
                            .expect("lock");
                        locked_tx.send(()).expect("locked");
                        let _ = released.recv();
                        client.batch_execute("ROLLBACK").await.expect("unlock");
                    });
                });
                locked.recv().expect("the lock is taken");
                Self::Postgres { release, thread }
            }
        }
    }

    /// Whether agrimap is held up by the lock in the middle of writing a
    /// batch: its INSERT waits on PostgreSQL's lock; SQLite has it give up
    /// after its busy timeout, which it logs.
    fn holds_up(&self, target: &Target, server: &ServeProcess) -> bool {
        match (self, &target.db) {
            (Self::Postgres { .. }, Some(db)) => agrimap_suite::on_database(&db.url, async |client| {
                let waiting: i64 = client
                    .query_one(
                        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
                         WHERE c.relname = 'readings' AND NOT l.granted",
                        &[],
                    )
                    .await
                    .expect("pg_locks")
                    .get(0);
                waiting > 0
            }),
            _ => server.log().contains("MQTT batch not stored"),
        }
    }

    fn release(self) {
        match self {
            Self::Sqlite(conn) => conn.execute_batch("ROLLBACK").expect("unlock"),
            Self::Postgres { release, thread } => {
                release.send(()).expect("release");
                thread.join().expect("lock thread");
            }
        }
    }
}

fn a_batch_being_written_when_agrimap_dies_is_delivered_again(kind: StoreKind) {
    let broker = Mosquitto::start(&format!("crash-{}", kind.name()));
    let target = Target::new(kind, "crash");
    let server = target.serve(&broker);
    let before = readings(&server).len();
    let results = broker.subscribe(RESULT);
    let first = json!([{"parameter": "salinity", "value": 0.7, "unit": "ppt", "time": "2026-11-24T07:00:00Z"}]);
    broker.publish(TOPIC, &payload(TOKEN, &first));
    assert_eq!(results.next()["stored"], 1);

    // agrimap receives the batch, cannot write it, and is killed meanwhile.
    let lock = WriteLock::take(&target);
    let batch = json!([{"parameter": "salinity", "value": 0.8, "unit": "ppt", "time": "2026-11-24T08:00:00Z"}]);
    broker.publish(TOPIC, &payload(TOKEN, &batch));
    wait_until("agrimap to be writing the batch", || lock.holds_up(&target, &server));
    drop(server);
    lock.release();
    assert!(
        !broker
            .log()
            .contains(&format!("Received PUBACK from {} (Mid: 2", target.client_id)),
        "a batch not stored is not acknowledged: {}",
        broker.log()
    );
    let stored = block_on(target.store().readings_between(&wq01_day())).expect("readings");
    assert_eq!(stored.len(), before + 1, "nothing of the batch was stored");

    // Started again, agrimap is given the batch again and stores it.
    let server = target.serve(&broker);
    wait_until("the batch delivered again", || readings(&server).len() == before + 2);
    assert!(readings(&server).iter().any(|r| r["value"] == 0.8));
}

#[test]
fn a_bad_broker_url_stops_serve_with_a_message_that_keeps_the_password() {
    for (args, expected) in [
        (
            ["--mqtt-url", "mqtts://agrimap:s3cret@broker:8883"],
            "--mqtt-url: the MQTT URL must start with mqtt://",
        ),
        (
            ["--mqtt-url", "mqtt://agrimap:s3cret@broker:port"],
            "--mqtt-url: the MQTT URL's port must be a number",
        ),
        (
            ["--mqtt-client-id", ""],
            "--mqtt-client-id: the MQTT client id must not be empty",
        ),
    ] {
        let out = std::process::Command::new(agrimap_bin())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env("AGRIMAP_MQTT_URL", "mqtt://127.0.0.1:1")
            .env("AGRIMAP_DATA_DIR", scratch_dir("mqtt-bad-url"))
            .output()
            .expect("run agrimap");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
}

store_suite!(
    a_published_batch_lands_once_and_bad_ones_are_answered,
    nothing_is_lost_while_agrimap_or_the_broker_is_down,
    a_batch_being_written_when_agrimap_dies_is_delivered_again,
);
