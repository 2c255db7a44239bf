//! Clients that start exports and never read them cannot starve the service
//! (hardening issue): three times the store's pool of anonymous
//! `GET /api/export/crop.geojson` connections read the headers and then
//! nothing. Throughout, `/health`, a tile and an `/ogc` item answer 200
//! within a second; the exports over the per-address limit are refused
//! with a JSON 429, and those that started hold no connection while stalled
//! and, once read again, resume where they stopped and give the whole layer.

use agrimap_suite::{StoreKind, TestServer};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Pooled connections of each store (`GpkgStore::open`, `PgStore::connect`).
fn pool_size(kind: StoreKind) -> usize {
    match kind {
        StoreKind::GeoPackage => 8,
        StoreKind::PostGis => 16,
    }
}

/// A client that asked for an export and read only the status and headers.
struct Reader {
    status: u16,
    body: BufReader<TcpStream>,
}

fn start_export(addr: &str) -> Reader {
    let mut stream = TcpStream::connect(addr).expect("connect");
    // The socket's receive buffer small, so the server soon has to wait on us.
    write!(
        stream,
        "GET /api/export/crop.geojson HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    stream.set_read_timeout(Some(Duration::from_mins(1))).expect("timeout");
    let mut body = BufReader::with_capacity(1024, stream);
    let mut line = String::new();
    body.read_line(&mut line).expect("status line");
    let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status");
    loop {
        line.clear();
        body.read_line(&mut line).expect("header");
        if line == "\r\n" {
            break;
        }
    }
    Reader { status, body }
}

/// The rest of a chunked body.
fn read_chunked(body: &mut BufReader<TcpStream>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        body.read_line(&mut line).expect("chunk size");
        let size = usize::from_str_radix(line.trim(), 16).expect("hexadecimal chunk size");
        let mut chunk = vec![0; size + 2];
        body.read_exact(&mut chunk).expect("chunk");
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&chunk[..size]);
    }
}

/// The zoom-14 tile around a point.
fn tile_at(lon: f64, lat: f64) -> String {
    let n = f64::from(1u32 << 14);
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let y = ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n).floor();
    format!("/tiles/crop/14/{x}/{y}.mvt")
}

/// The first position of GeoJSON coordinates.
fn first_position(coordinates: &serde_json::Value) -> (f64, f64) {
    match coordinates[0].as_f64() {
        Some(lon) => (lon, coordinates[1].as_f64().expect("latitude")),
        None => first_position(&coordinates[0]),
    }
}

/// `/health`, a tile and an item, each 200 within a second.
fn service_answers(server: &TestServer, tile: &str, item: &str) {
    for path in ["/health", tile, item] {
        let asked = Instant::now();
        let reply = server.get(path, &[]);
        let took = asked.elapsed();
        assert_eq!(reply.status, 200, "{path}: {}", String::from_utf8_lossy(&reply.body));
        assert!(took < Duration::from_secs(1), "{path} took {took:?}");
    }
}

fn stalled_exports_starve_nothing(kind: StoreKind) {
    let server = kind.demo_server("slow_readers");
    let addr = server.base.trim_start_matches("http://").to_owned();
    let crop = server.get("/ogc/collections/crop/items?limit=1", &[]).json();
    let total = crop["numberMatched"].as_u64().expect("numberMatched");
    let first = &crop["features"][0];
    let item = format!("/ogc/collections/crop/items/{}", first["id"]);
    let (lon, lat) = first_position(&first["geometry"]["coordinates"]);
    let tile = tile_at(lon, lat);
    service_answers(&server, &tile, &item);

    let mut readers: Vec<Reader> = (0..3 * pool_size(kind)).map(|_| start_export(&addr)).collect();
    let started = readers.iter().filter(|r| r.status == 200).count();
    assert!(
        (1..=agrimap_server::ogc::export_slots::MAX_EXPORTS_PER_ADDRESS).contains(&started),
        "{started} exports started from one address"
    );
    for refused in readers.iter_mut().filter(|r| r.status != 200) {
        assert_eq!(refused.status, 429);
        let mut text = String::new();
        refused.body.read_to_string(&mut text).expect("the refusal");
        assert!(text.contains("\"too_many_exports\""), "{text}");
    }
    // Past the moment the stalled exports give their connections back.
    let until = Instant::now() + agrimap_store::resumable::HOLD * 3;
    while Instant::now() < until {
        service_answers(&server, &tile, &item);
        std::thread::sleep(Duration::from_millis(100));
    }

    // Read again, the started exports resume where they stopped: every
    // parcel once, in id order.
    for reader in readers.iter_mut().filter(|r| r.status == 200) {
        let body = read_chunked(&mut reader.body);
        let json: serde_json::Value = serde_json::from_slice(&body).expect("a complete GeoJSON file");
        let ids: Vec<i64> = json["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|f| f["id"].as_i64().expect("id"))
            .collect();
        assert_eq!(ids.len() as u64, total);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids in order, none twice");
    }
}

/// The selection read before the answer starts may be empty: a file with no
/// features, in each streamed format.
fn an_empty_selection_is_an_empty_file(kind: StoreKind) {
    let server = kind.demo_server("empty_export");
    let none = "filter=crop_type%3D%27no%20such%20crop%27";
    let geojson = server.get(&format!("/api/export/crop.geojson?{none}"), &[]);
    assert_eq!(geojson.status, 200, "{}", String::from_utf8_lossy(&geojson.body));
    assert_eq!(geojson.json()["features"], serde_json::json!([]));
    let csv = server.get(&format!("/api/export/crop.csv?{none}"), &[]);
    assert_eq!(csv.status, 200);
    assert_eq!(String::from_utf8_lossy(&csv.body).lines().count(), 1, "the header only");
}

agrimap_suite::store_suite!(stalled_exports_starve_nothing, an_empty_selection_is_an_empty_file);
