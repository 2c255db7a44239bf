//! Hostile input on both stores: SQL injection through every parameter, path
//! traversal, invalid UTF-8, huge tile coordinates, deeply nested JSON and
//! geometry bombs each get a clear answer (a JSON 4xx, or an honest empty
//! result for free-text search), never a 5xx, and leave the service healthy
//! with its data intact.

use agrimap_core::tokens::hash_token;
use agrimap_model::{FeatureQuery, layer};
use agrimap_suite::{Reply, StoreKind, TestServer, request_with_body};

const STATION_TOKEN: &str = "hostile-input-station-token";

const INJECTIONS: &[&str] = &[
    "' OR '1'='1",
    "1; DROP TABLE crop; --",
    "crop\"; DELETE FROM crop; --",
    "'); TRUNCATE readings; --",
    "33001' UNION SELECT owner_phone FROM crop --",
    "$1",
    "\\x00",
];

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A clear refusal or an answer: never a server error, and errors are JSON.
fn assert_handled(path: &str, reply: &Reply) {
    assert!(
        reply.status < 500,
        "{path}: {} {}",
        reply.status,
        String::from_utf8_lossy(&reply.body)
    );
    if reply.status >= 400 {
        assert!(!reply.error_code().is_empty(), "{path}: a JSON error");
        let text = String::from_utf8_lossy(&reply.body);
        assert!(!text.contains("owner_phone\":\"0"), "{path}: {text}");
    }
}

fn crop_count(server: &TestServer) -> u64 {
    block_on(
        server
            .store
            .count(layer("crop").expect("crop"), &FeatureQuery::default()),
    )
    .expect("count")
}

fn sql_injection_through_every_parameter_changes_nothing(kind: StoreKind) {
    let server = kind.demo_server("hostile_sql");
    let before = crop_count(&server);
    let templates = [
        "/tiles/{}/14/13000/7600.mvt",
        "/tiles/crop/{}/1/1.mvt",
        "/tiles/{}.json",
        "/styles/planner.json?layer={}",
        "/styles/planner.json?layer=crop&metric={}",
        "/styles/planner.json?layer=crop&class={}&value={}",
        "/api/communes?q={}",
        "/api/communes/{}",
        "/api/communes/{}/summary",
        "/api/communes?q=a&province={}&district={}",
        "/api/stats?layer={}",
        "/api/stats?layer=crop&by={}",
        "/api/stats?layer=crop&class={}",
        "/api/stats?layer=crop&metric=sum:{}",
        "/api/stations/{}/readings",
        "/api/stations/WQ-01/readings?parameter={}",
        "/api/stations/WQ-01/readings?from={}&to={}",
        "/api/stations/WQ-01/readings?step={}",
        "/ogc/collections/{}",
        "/ogc/collections/crop/items?commune={}",
        "/ogc/collections/crop/items?filter={}",
        "/ogc/collections/crop/items?filter=crop_type%20%3D%20'{}'",
        "/ogc/collections/crop/items?properties={}",
        "/ogc/collections/crop/items?bbox={}",
        "/ogc/collections/crop/items?datetime={}",
        "/ogc/collections/crop/items?limit={}&offset={}",
        "/ogc/collections/crop/items/{}",
    ];
    let mut asked = 0;
    for template in templates {
        for payload in INJECTIONS {
            let path = template.replace("{}", &encode(payload));
            assert_handled(&path, &server.get(&path, &[]));
            asked += 1;
        }
    }
    assert_eq!(asked, templates.len() * INJECTIONS.len());
    assert_eq!(crop_count(&server), before, "no parcel was touched");
    assert_eq!(server.get("/health", &[]).status, 200);
}

fn path_traversal_finds_nothing(kind: StoreKind) {
    let server = kind.demo_server("hostile_paths");
    for path in [
        "/styles/..%2F..%2FCargo.toml",
        "/styles/..%2F..%2F..%2Fetc%2Fpasswd",
        "/styles/%2e%2e%2f%2e%2e%2fetc%2fpasswd.json",
        "/static/..%2F..%2FCargo.toml",
        "/static/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/....//....//etc/passwd",
        "/tiles/..%2F..%2Fetc%2Fpasswd.json",
        "/fonts/..%2F..%2F..%2Fetc%2Fpasswd/0-255.pbf",
        "/fonts/Noto%20Sans%20Regular/..%2F..%2F..%2Fetc%2Fpasswd",
        "/fonts/%2e%2e/%2e%2e/etc/passwd",
        "/api/packs/..%2F..%2Fetc%2Fpasswd.pmtiles",
        "/ogc/collections/..%2F..%2Fetc%2Fpasswd/items",
    ] {
        let reply = server.get(path, &[]);
        assert!((400..500).contains(&reply.status), "{path}: {}", reply.status);
        assert!(!reply.error_code().is_empty(), "{path}: a JSON error");
        let text = String::from_utf8_lossy(&reply.body);
        assert!(
            !text.contains("root:") && !text.contains("[workspace]"),
            "{path}: {text}"
        );
    }
}

fn invalid_utf8_and_huge_coordinates_are_refused(kind: StoreKind) {
    let server = kind.demo_server("hostile_bytes");
    for path in [
        "/api/communes?q=%FF%FE%FD",
        "/api/communes/%C3%28",
        "/ogc/collections/crop/items?filter=%FF",
        "/api/stats?layer=%80",
        "/tiles/crop/14/13000/%FF.mvt",
        "/tiles/crop/99999999999/1/1.mvt",
        "/tiles/crop/14/99999999999999999999999/1.mvt",
        "/tiles/crop/14/1/18446744073709551616.mvt",
        "/tiles/crop/30/1073741824/0.mvt",
        "/tiles/crop/-1/0/0.mvt",
    ] {
        let reply = server.get(path, &[]);
        assert!((400..500).contains(&reply.status), "{path}: {}", reply.status);
        assert!(!reply.error_code().is_empty(), "{path}: a JSON error");
    }
    assert_eq!(server.get("/health", &[]).status, 200);
}

fn deeply_nested_json_is_refused(kind: StoreKind) {
    let server = kind.demo_server("hostile_json");
    assert!(block_on(server.store.set_station_token_hash("WQ-01", &hash_token(STATION_TOKEN))).expect("token"));
    let auth = format!("Bearer {STATION_TOKEN}");
    for body in [
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!("{}1{}", "{\"a\":".repeat(50_000), "}".repeat(50_000)),
        "[{\"parameter\": \"salinity\", \"value\": 1e999999, \"unit\": \"ppt\", \"time\": \"2026-11-24T01:00:00Z\"}]"
            .to_owned(),
        "\u{feff}[]".to_owned(),
        String::from_utf8_lossy(&[b'[', 0xFF, 0xFE, b']']).into_owned(),
    ] {
        let reply = request_with_body(
            "POST",
            &format!("{}/api/stations/WQ-01/readings", server.base),
            &[("authorization", &auth), ("content-type", "application/json")],
            body.into_bytes(),
        );
        assert!((400..500).contains(&reply.status), "{}", reply.status);
        assert!(!reply.error_code().is_empty());
    }
    assert_eq!(server.get("/health", &[]).status, 200);
}

fn geometry_bombs_in_filters_are_refused_or_answered(kind: StoreKind) {
    let server = kind.demo_server("hostile_geometry");
    let filter = |wkt: &str| {
        format!(
            "/ogc/collections/crop/items?limit=5&filter=S_INTERSECTS(geom,{})",
            encode(wkt)
        )
    };
    // Self-intersecting (a bow tie) and unclosed rings: an answer or a clear 400.
    for wkt in [
        "POLYGON((105.7 9.9,105.9 10.1,105.9 9.9,105.7 10.1,105.7 9.9))",
        "POLYGON((105.7 9.9,105.9 10.1,105.9 9.9))",
        "POLYGON((105.7 9.9,105.7 9.9,105.7 9.9,105.7 9.9))",
        "MULTIPOLYGON(((0 0,1 1,1 0,0 1,0 0)),((0 0,1 1,1 0,0 1,0 0)))",
    ] {
        let path = filter(wkt);
        assert_handled(&path, &server.get(&path, &[]));
    }
    // The largest polygon a client can put in a URL (64 KiB) is answered...
    let ring = |n: u32| -> String {
        let points: Vec<String> = (0..=n)
            .map(|i| {
                let a = f64::from(i % n) / f64::from(n) * std::f64::consts::TAU;
                format!("{:.4} {:.4}", 105.8 + 0.1 * a.cos(), 10.0 + 0.1 * a.sin())
            })
            .collect();
        format!("POLYGON(({}))", points.join(","))
    };
    let path = filter(&ring(2_000));
    assert!(path.len() < 65_000, "{}", path.len());
    assert_handled("a 2,000-vertex polygon", &server.get(&path, &[]));
    // ...and a million vertices (24 MB in the request line) are refused by
    // size before anything is parsed.
    let status = raw_get_status(&server.base, &filter(&ring(1_000_000)));
    if let Some(status) = status {
        assert!((400..500).contains(&status), "{status}");
    }
    assert_eq!(server.get("/health", &[]).status, 200);
}

/// Sends a GET with a request line too long for any client library, and
/// returns the status the server answered, if it answered before closing.
fn raw_get_status(base: &str, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    // The server may stop reading and close early: that is a refusal too.
    let _ = stream.write_all(request.as_bytes());
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

agrimap_suite::store_suite!(
    sql_injection_through_every_parameter_changes_nothing,
    path_traversal_finds_nothing,
    invalid_utf8_and_huge_coordinates_are_refused,
    deeply_nested_json_is_refused,
    geometry_bombs_in_filters_are_refused_or_answered,
);
