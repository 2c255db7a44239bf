//! The edge of the HTTP service, replayed against `agrimap serve` (the
//! binary, as deployed) over both stores with real sockets and curl:
//!
//! - connections that stall (nothing sent, half a request line, a header
//!   line now and then) are closed after the header timeout, and one address
//!   cannot hold hundreds of connections;
//! - a body over a route's limit is refused from its `Content-Length`, before
//!   any of it is read, and the 413 names that route's limit; overlong URLs
//!   and heads get the JSON error, not hyper's empty answer;
//! - `Accept-Encoding` weights of zero in any spelling get plain bodies; the
//!   `Bearer` scheme is read in any case; readings and `/ogc` `datetime` read
//!   times with one reader.
//!
//! Durations are printed (`--no-capture`) as figures; the only bounds
//! asserted on them are the generous ones of the hardening issue.

use agrimap_core::tokens::hash_token;
use agrimap_core::tokens::issue_token;
use agrimap_store::{GpkgStore, Store};
use agrimap_suite::{PgDatabase, ServeProcess, StoreKind, curl_post, demo_dir, scratch_dir, shared_store_path};
use serde_json::{Value as Json, json};
use std::fmt::Write as _;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

const MIB: usize = 1024 * 1024;
const STATION_TOKEN: &str = "edge-test-station-token-wq01";

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

/// `agrimap serve` over a fresh copy of the demo province in one store.
struct Edge {
    server: ServeProcess,
    store: Box<dyn Store>,
    _database: Option<PgDatabase>,
}

impl Edge {
    fn start(kind: StoreKind, test: &str) -> Self {
        Self::start_with(kind, test, &[])
    }

    /// With extra `agrimap serve` arguments.
    fn start_with(kind: StoreKind, test: &str, args: &[&str]) -> Self {
        let dir = scratch_dir(test);
        let seed = demo_dir();
        let env = [
            ("AGRIMAP_DATA_DIR", dir.as_os_str()),
            ("AGRIMAP_SEED_DIR", seed.as_os_str()),
        ];
        match kind {
            StoreKind::GeoPackage => {
                let path = dir.join("agrimap.gpkg");
                std::fs::copy(shared_store_path(), &path).expect("copying the demo store");
                let server = ServeProcess::start(args, &env);
                let store = Box::new(GpkgStore::open(&path).expect("open"));
                Self {
                    server,
                    store,
                    _database: None,
                }
            }
            StoreKind::PostGis => {
                let db = PgDatabase::demo(test);
                let args: Vec<&str> = args.iter().copied().chain(["--database", db.url.as_str()]).collect();
                let server = ServeProcess::start(&args, &env);
                Self {
                    server,
                    store: Box::new(db.store()),
                    _database: Some(db),
                }
            }
        }
    }

    /// `host:port`.
    fn address(&self) -> &str {
        self.server.base.trim_start_matches("http://")
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base)
    }

    fn token(&self, role: &str) -> String {
        block_on(issue_token(self.store.as_ref(), "edge test", role))
            .expect("token")
            .1
    }
}

/// An answer read off a raw socket.
#[derive(Debug)]
struct RawReply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl RawReply {
    fn error_code(&self) -> String {
        let json: Json = serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.head, String::from_utf8_lossy(&self.body)));
        assert!(
            json["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{json}"
        );
        json["error"]["code"].as_str().expect("code").to_owned()
    }

    fn message(&self) -> String {
        let json: Json = serde_json::from_slice(&self.body).expect("JSON");
        json["error"]["message"].as_str().unwrap_or_default().to_owned()
    }
}

/// Sends `bytes` on a new connection, sends nothing more, and reads the
/// answer that comes within `wait`.
fn exchange(address: &str, bytes: &[u8], wait: Duration) -> RawReply {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(wait)).expect("timeout");
    // A server that answers before reading everything may close while we write.
    let _ = stream.write_all(bytes);
    let mut got = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&chunk[..n]);
                if complete(&got) {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset) && !got.is_empty() => break,
            Err(e) => panic!(
                "no answer within {wait:?} ({e}); got {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
    let split = got.windows(4).position(|w| w == b"\r\n\r\n").expect("a whole head");
    let head = String::from_utf8_lossy(&got[..split]).into_owned();
    let status = head.get(9..12).and_then(|s| s.parse().ok()).expect("status");
    RawReply {
        status,
        head,
        body: got[split + 4..].to_vec(),
    }
}

/// Whether `got` holds a head and the whole body its `content-length` announces.
fn complete(got: &[u8]) -> bool {
    let Some(split) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&got[..split]).to_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    length.is_some_and(|n| got.len() >= split + 4 + n)
}

/// What a stalling client sends in its `round` (0 first, then one every 5 s).
type Stall = fn(&mut TcpStream, u32) -> std::io::Result<()>;

/// How long the server keeps a connection that `stall` holds up, up to `limit`.
fn open_for(address: &str, limit: Duration, stall: Stall) -> Duration {
    let mut stream = TcpStream::connect(address).expect("connect");
    let started = Instant::now();
    stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut round = 0;
    loop {
        if stall(&mut stream, round).is_err() {
            return started.elapsed();
        }
        round += 1;
        let mut byte = [0u8; 1024];
        match stream.read(&mut byte) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            // Closed, or closed after an answer (a 408 would do as well), or reset.
            Ok(_) | Err(_) => return started.elapsed(),
        }
        assert!(
            started.elapsed() < limit,
            "a stalled connection is still open after {limit:?}"
        );
    }
}

fn stalled_connections_are_closed(kind: StoreKind) {
    let edge = Edge::start(kind, "edge_stall");
    // The hardening issue saw each of these stay open past 75 s.
    let limit = Duration::from_mins(1);
    let stalls: [(&str, Stall); 3] = [
        ("sends nothing", |_, _| Ok(())),
        ("sends half a request line", |s, round| {
            if round == 0 { s.write_all(b"GET /heal") } else { Ok(()) }
        }),
        ("sends a header line every 5 s", |s, round| {
            if round == 0 {
                s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            } else {
                s.write_all(format!("X-Trickle-{round}: {round}\r\n").as_bytes())
            }
        }),
    ];
    let address = edge.address().to_owned();
    let threads: Vec<_> = stalls
        .into_iter()
        .map(|(what, stall)| {
            let address = address.clone();
            std::thread::spawn(move || (what, open_for(&address, limit, stall)))
        })
        .collect();
    for thread in threads {
        let (what, open) = thread.join().expect("stall");
        eprintln!(
            "{kind:?}: a connection that {what} was closed after {:.1} s",
            open.as_secs_f64()
        );
    }
    assert_eq!(edge.server.get("/health", &[]).status, 200);
}

fn one_address_cannot_hold_hundreds_of_connections(kind: StoreKind) {
    let edge = Edge::start(kind, "edge_connections");
    let sockets: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(edge.address()).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let (mut open, mut refused) = (0, Vec::new());
    for mut socket in &sockets {
        socket.set_nonblocking(true).expect("nonblocking");
        let mut answer = vec![0u8; 4096];
        match socket.read(&mut answer) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => open += 1,
            Ok(n) => refused.push(String::from_utf8_lossy(&answer[..n]).into_owned()),
            Err(_) => refused.push(String::new()),
        }
    }
    eprintln!("{kind:?}: of 300 silent connections from one address, {open} were kept open");
    assert!(open <= 128, "{open} connections held open by one address");
    assert!(refused.len() >= 172, "{} refused", refused.len());
    assert!(
        refused
            .iter()
            .any(|a| a.starts_with("HTTP/1.1 429") && a.contains("too_many_connections")),
        "the refused are told why: {:?}",
        refused.first()
    );
    // Another address still gets in (the whole of 127/8 is loopback).
    let other = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--interface",
            "127.0.0.2",
        ])
        .arg(edge.url("/health"))
        .output()
        .expect("curl (installed with the test tools)");
    assert_eq!(String::from_utf8_lossy(&other.stdout), "200", "{other:?}");
    // Closed connections give their places back.
    drop(sockets);
    let deadline = Instant::now() + Duration::from_secs(10);
    while edge.server.get("/health", &[]).status != 200 {
        assert!(Instant::now() < deadline, "the address never got its connections back");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn bodies_over_a_routes_limit_are_refused_before_they_are_read(kind: StoreKind) {
    let edge = Edge::start(kind, "edge_bodies");
    let editor = edge.token("editor");
    let admin = edge.token("admin");
    let cases = [
        ("/api/readings", &editor, 17 * MIB, agrimap_core::ingest::csv::MAX_BYTES),
        (
            "/api/import/crop?format=geojson",
            &editor,
            300 * MIB,
            agrimap_server::import::MAX_BYTES,
        ),
        ("/api/tokens", &admin, 3 * MIB, agrimap_server::limits::MAX_BODY_BYTES),
        (
            "/api/stations/WQ-01/readings",
            &editor,
            3 * MIB,
            agrimap_server::limits::MAX_BODY_BYTES,
        ),
    ];
    for (path, token, declared, limit) in cases {
        // The head alone: whatever answers, answers before reading any body.
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: agrimap\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/octet-stream\r\nContent-Length: {declared}\r\n\r\n"
        );
        let started = Instant::now();
        let reply = exchange(edge.address(), head.as_bytes(), Duration::from_secs(15));
        eprintln!(
            "{kind:?}: 413 for a {} MiB Content-Length on {path} after {:.1} ms",
            declared / MIB,
            started.elapsed().as_secs_f64() * 1000.0
        );
        assert_eq!(reply.status, 413, "{path}: {}", reply.head);
        assert_eq!(reply.error_code(), "body_too_large", "{path}");
        assert!(
            reply.message().contains(&limit.to_string()),
            "{path}: {}",
            reply.message()
        );
    }

    // A body sent without a length is cut where it crosses the limit, and told the same.
    let dir = scratch_dir(&format!("edge-bodies-{kind:?}"));
    let big = dir.join("big.json");
    std::fs::write(&big, vec![b' '; 3 * MIB]).expect("write");
    let auth = format!("Bearer {admin}");
    let chunked = [("authorization", auth.as_str()), ("transfer-encoding", "chunked")];
    let (status, body) = curl_post(&edge.url("/api/tokens"), &chunked, &big);
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "body_too_large");
    let limit = agrimap_server::limits::MAX_BODY_BYTES.to_string();
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| m.contains(&limit)),
        "{body}"
    );

    // The hardening issue's 260 MiB import raised the peak memory to 518 MB;
    // now it is refused from its length, so the peak does not move.
    let sparse = dir.join("import.geojson");
    std::fs::File::create(&sparse)
        .and_then(|f| f.set_len(260 * MIB as u64))
        .expect("sparse file");
    let before = peak_memory_kib(edge.server.pid());
    let auth = format!("Bearer {editor}");
    let (status, body) = curl_post(
        &edge.url("/api/import/crop?format=geojson"),
        &[("authorization", &auth)],
        &sparse,
    );
    let after = peak_memory_kib(edge.server.pid());
    eprintln!("{kind:?}: peak memory {before} KiB before a 260 MiB import, {after} KiB after");
    assert_eq!(status, 413, "{body}");
    assert!(after - before < 64 * 1024, "the peak grew by {} KiB", after - before);
    assert_eq!(edge.server.get("/health", &[]).status, 200);
}

/// The process's peak resident memory (`VmHWM`), in KiB.
fn peak_memory_kib(pid: u32) -> i64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

fn overlong_urls_and_heads_answer_json(kind: StoreKind) {
    let edge = Edge::start(kind, "edge_urls");
    let get = |target: &str| {
        let request = format!("GET {target} HTTP/1.1\r\nHost: agrimap\r\n\r\n");
        exchange(edge.address(), request.as_bytes(), Duration::from_secs(15))
    };
    for length in [70_000, 300_000] {
        let reply = get(&format!("/catalog?q={}", "a".repeat(length)));
        assert_eq!(reply.status, 414, "{length}: {}", reply.head);
        assert_eq!(reply.error_code(), "uri_too_long");
        assert!(reply.head.to_lowercase().contains("content-type: application/json"));
    }
    let headers = (0..150).fold(String::new(), |mut headers, i| {
        let _ = write!(headers, "X-Header-{i}: {i}\r\n");
        headers
    });
    let request = format!("GET /catalog HTTP/1.1\r\nHost: agrimap\r\n{headers}\r\n");
    let reply = exchange(edge.address(), request.as_bytes(), Duration::from_secs(15));
    assert_eq!(reply.status, 431, "{}", reply.head);
    assert_eq!(reply.error_code(), "headers_too_large");
    let reply = exchange(
        edge.address(),
        b"GET /catalog HTTP/1.1\r\nHo st: x\r\n\r\n",
        Duration::from_secs(15),
    );
    assert_eq!(reply.status, 400, "{}", reply.head);
    assert_eq!(reply.error_code(), "bad_request");
    // Up to the limit, the URL reaches the service as ever.
    assert_eq!(get(&format!("/catalog?q={}", "a".repeat(60_000))).status, 200);
}

/// The `content-encoding` of an answer to GET `url` with `accept`, by curl
/// (which decodes nothing unless asked).
fn encoding_of(url: &str, accept: &str) -> Option<String> {
    let out = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-D", "-", "-H"])
        .arg(format!("accept-encoding: {accept}"))
        .arg(url)
        .output()
        .expect("curl");
    let head = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{url}: {head}");
    head.lines()
        .find_map(|l| l.strip_prefix("content-encoding:"))
        .map(|v| v.trim().to_owned())
}

fn zero_weights_refuse_gzip_in_any_spelling(kind: StoreKind) {
    let edge = Edge::start(kind, "edge_gzip");
    // The tile of a parcel, so that it is not empty.
    let parcel = edge.server.get("/ogc/collections/crop/items?limit=1", &[]).json();
    let mut ring = parcel["features"][0]["geometry"]["coordinates"].clone();
    while ring[0].is_array() {
        ring = ring[0].clone();
    }
    let (lon, lat) = (ring[0].as_f64().expect("lon"), ring[1].as_f64().expect("lat"));
    let t = agrimap_tiles::tile_containing(lon, lat, 14);
    // A tile (gzipped by its handler) and documents (compressed by the compression layer).
    let paths = [
        format!("/tiles/crop/{}/{}/{}.mvt", t.z, t.x, t.y),
        "/catalog".to_owned(),
        "/ogc/collections/crop/items?limit=20".to_owned(),
    ];
    for path in &paths {
        let url = edge.url(path);
        assert_eq!(encoding_of(&url, "gzip").as_deref(), Some("gzip"), "{path}");
        for refused in ["gzip;q=0.0", "*;q=0.0", "gzip;q=0.000", "gzip;q=0, *", "GZIP; Q=0.00"] {
            assert_eq!(encoding_of(&url, refused), None, "{path} with {refused}");
        }
    }
}

fn the_bearer_scheme_is_read_in_any_case(kind: StoreKind) {
    let edge = Edge::start(kind, "edge_bearer");
    let editor = edge.token("editor");
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let auth = format!("{scheme} {editor}");
        let me = edge.server.get("/api/me", &[("authorization", &auth)]);
        assert_eq!(me.json()["role"], "editor", "{scheme}");
        // An editor-only route takes it too.
        let readings = agrimap_suite::request_with_body(
            "POST",
            &edge.url("/api/readings"),
            &[("authorization", &auth), ("content-type", "text/csv")],
            b"station_id,parameter,value,unit,time\nWQ-01,ph,7.1,pH,2026-01-02T03:04:05Z\n".to_vec(),
        );
        assert_eq!(
            readings.status,
            200,
            "{scheme}: {}",
            String::from_utf8_lossy(&readings.body)
        );
    }
    // And a station's own token on its readings route.
    assert!(block_on(edge.store.set_station_token_hash("WQ-01", &hash_token(STATION_TOKEN))).expect("token"));
    for (scheme, minute) in [("bearer", 10), ("BEARER", 11)] {
        let reply = agrimap_suite::request_with_body(
            "POST",
            &edge.url("/api/stations/WQ-01/readings"),
            &[
                ("authorization", &format!("{scheme} {STATION_TOKEN}")),
                ("content-type", "application/json"),
            ],
            json!([{"parameter": "ph", "value": 7.2, "unit": "pH", "time": format!("2026-01-02T03:{minute}:00Z")}])
                .to_string()
                .into_bytes(),
        );
        assert_eq!(reply.status, 200, "{scheme}: {}", String::from_utf8_lossy(&reply.body));
    }
    let wrong = edge
        .server
        .get("/api/me", &[("authorization", &format!("Basic {editor}"))]);
    assert_eq!(wrong.status, 401);
}

fn readings_and_ogc_read_times_alike(kind: StoreKind) {
    let edge = Edge::start(kind, "edge_times");
    let editor = edge.token("editor");
    let post = |time: &str| {
        agrimap_suite::request_with_body(
            "POST",
            &edge.url("/api/stations/WQ-01/readings"),
            &[
                ("authorization", &format!("Bearer {editor}")),
                ("content-type", "application/json"),
            ],
            json!([{"parameter": "ph", "value": 7.0, "unit": "pH", "time": time}])
                .to_string()
                .into_bytes(),
        )
    };
    let ogc = |time: &str| {
        let query = time.replace('+', "%2B");
        edge.server
            .get(&format!("/ogc/collections/monitoring/items?datetime={query}"), &[])
            .status
    };
    // Refused by both.
    for bad in [
        "2026-01-02T05:00:02.Z",
        "0000-06-01T00:00:00Z",
        "2026-01-02T05:00:60Z",
        "2026-01-02T05:00:02",
        "2026-02-30T05:00:02Z",
    ] {
        let reading = post(bad);
        assert_eq!(reading.status, 422, "{bad}: {}", String::from_utf8_lossy(&reading.body));
        assert_eq!(ogc(bad), 400, "{bad}");
    }
    // Taken by both.
    for good in [
        "2026-01-02T05:00:02Z",
        "2026-01-02T05:00:03.250Z",
        "2026-01-02T05:00:04+00:00",
        "0001-01-01T00:00:00Z",
    ] {
        let reading = post(good);
        assert_eq!(
            reading.status,
            200,
            "{good}: {}",
            String::from_utf8_lossy(&reading.body)
        );
        assert_eq!(ogc(good), 200, "{good}");
    }
    // Another offset: the same instant to both; the reading is kept in UTC.
    assert_eq!(ogc("2026-01-02T12:00:05+07:00"), 200);
    let reading = post("2026-01-02T12:00:05+07:00");
    assert_eq!(reading.status, 200, "{}", String::from_utf8_lossy(&reading.body));
    // What was stored is in the kept form.
    let stored = edge.server.get(
        "/api/stations/WQ-01/readings?from=2026-01-02T05:00:00Z&to=2026-01-02T05:01:00Z",
        &[],
    );
    let times: Vec<String> = stored.json()["readings"]
        .as_array()
        .expect("readings")
        .iter()
        .filter_map(|r| r["time"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        times,
        [
            "2026-01-02T05:00:02Z",
            "2026-01-02T05:00:03Z",
            "2026-01-02T05:00:04Z",
            "2026-01-02T05:00:05Z"
        ]
    );
}

#[test]
fn the_connection_limits_are_set_from_the_command_line() {
    let args = ["--header-timeout-ms", "2000", "--max-connections-per-address", "3"];
    let edge = Edge::start_with(StoreKind::GeoPackage, "edge_flags", &args);
    let mut sockets: Vec<TcpStream> = (0..5)
        .map(|_| TcpStream::connect(edge.address()).expect("connect"))
        .collect();
    let started = Instant::now();
    let mut answers = Vec::new();
    for socket in &mut sockets {
        socket.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        let mut answer = Vec::new();
        // Refused ones answer at once; the others close after the header timeout.
        let _ = socket.read_to_end(&mut answer);
        answers.push((String::from_utf8_lossy(&answer).into_owned(), started.elapsed()));
    }
    let refused = answers
        .iter()
        .filter(|(a, _)| a.contains("too_many_connections"))
        .count();
    assert_eq!(refused, 2, "{answers:?}");
    let (_, last) = answers.last().expect("answers");
    eprintln!(
        "with --header-timeout-ms 2000, silent connections were closed after {:.1} s",
        last.as_secs_f64()
    );
    assert!(*last < Duration::from_secs(20), "{answers:?}");
}

agrimap_suite::store_suite!(
    stalled_connections_are_closed,
    one_address_cannot_hold_hundreds_of_connections,
    bodies_over_a_routes_limit_are_refused_before_they_are_read,
    overlong_urls_and_heads_answer_json,
    zero_weights_refuse_gzip_in_any_spelling,
    the_bearer_scheme_is_read_in_any_case,
    readings_and_ogc_read_times_alike,
);
