//! Limits: request bodies, page sizes, a deadline on every request and on
//! every database statement, request quotas per address and per token (429
//! with Retry-After), and CORS only for the origins configured.

use agrimap_core::tokens::issue_token;
use agrimap_server::ServerConfig;
use agrimap_store::Store;
use agrimap_suite::{PgDatabase, StoreKind, TestServer, curl_post, request_with_body};
use std::sync::Arc;
use std::time::Duration;

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

fn server_with(kind: StoreKind, test: &str, config: ServerConfig) -> TestServer {
    kind.demo_server_with(test, config)
}

fn token(store: &dyn Store, role: &str) -> String {
    let (_, secret) = block_on(issue_token(store, "limits test", role)).expect("token");
    format!("Bearer {secret}")
}

fn oversized_bodies_are_refused_with_413(kind: StoreKind) {
    let server = kind.demo_server("limits_body");
    let auth = token(server.store.as_ref(), "admin");
    let file = agrimap_suite::scratch_dir(&format!("limits-body-{kind:?}")).join("huge.json");
    std::fs::write(&file, vec![b' '; agrimap_server::limits::MAX_BODY_BYTES + 1]).expect("write");
    for path in ["/api/stations/WQ-01/readings", "/api/tokens"] {
        let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
        let (status, body) = curl_post(&format!("{}{path}", server.base), &headers, &file);
        assert_eq!(status, 413, "{path}: {body}");
        assert_eq!(body["error"]["code"], "body_too_large", "{path}");
    }
    assert_eq!(server.get("/health", &[]).status, 200, "still healthy");
}

fn pages_are_capped(kind: StoreKind) {
    let server = kind.demo_server("limits_pages");
    let page = server.get("/ogc/collections/crop/items?limit=100000000", &[]).json();
    let returned = page["numberReturned"].as_u64().expect("returned");
    assert!(returned > 0 && returned <= 10_000, "{returned}");
    let communes = server.get("/api/communes?q=a&limit=100000", &[]).json();
    let n = communes["communes"].as_array().map_or(0, Vec::len);
    assert!(n > 0 && n <= agrimap_server::communes::MAX_LIMIT, "{n}");
}

fn slow_requests_meet_the_deadline(kind: StoreKind) {
    let config = ServerConfig {
        request_timeout: Duration::from_millis(1),
        ..ServerConfig::default()
    };
    let server = server_with(kind, "limits_deadline", config);
    // The first statistics of a layer aggregate all 60,000 parcels: far more than a millisecond.
    let reply = server.get("/api/stats?layer=crop&by=commune&class=crop_type", &[]);
    assert_eq!(reply.status, 503, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.error_code(), "timeout");
}

#[test]
fn database_statements_time_out_with_a_clear_503() {
    let db = PgDatabase::demo("limits_statement");
    let url = if db.url.contains('?') {
        format!("{}&options=-c%20statement_timeout%3D1", db.url)
    } else {
        format!("{}?options=-c%20statement_timeout%3D1", db.url)
    };
    let store = agrimap_store::PgStore::connect(&url).expect("connect");
    let server = TestServer::start(Arc::new(store));
    // Reading every parcel takes far longer than the 1 ms statement timeout.
    let reply = server.get("/api/stats?layer=crop&by=commune&class=crop_type", &[]);
    assert_eq!(reply.status, 503, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.error_code(), "timeout");
    drop(server);
    drop(db);
}

fn quotas_answer_429_with_retry_after(kind: StoreKind) {
    let config = ServerConfig {
        rate_per_address: 2,
        rate_per_token: 3,
        ..ServerConfig::default()
    };
    let server = server_with(kind, "limits_quota", config);
    // Anonymous: a burst of 8, then refused with the time to wait.
    let statuses: Vec<u16> = (0..30).map(|_| server.get("/catalog", &[]).status).collect();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert!(statuses[..8].iter().all(|&s| s == 200), "{statuses:?}");
    assert!(refused >= 20, "{statuses:?}");
    let reply = server.get("/catalog", &[]);
    assert_eq!(reply.status, 429);
    assert_eq!(reply.error_code(), "rate_limited");
    let wait: u64 = reply
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=2).contains(&wait), "{wait}");

    // A token has a quota of its own, not the address's.
    let auth = token(server.store.as_ref(), "editor");
    let statuses: Vec<u16> = (0..30)
        .map(|_| server.get("/catalog", &[("authorization", &auth)]).status)
        .collect();
    assert!(statuses[..12].iter().all(|&s| s == 200), "{statuses:?}");
    assert!(statuses.iter().filter(|&&s| s == 429).count() >= 10, "{statuses:?}");
}

fn cors_only_for_configured_origins(kind: StoreKind) {
    let allowed = "https://map.example.gov.vn";
    let config = ServerConfig {
        cors_origins: vec![allowed.to_owned()],
        ..ServerConfig::default()
    };
    let server = server_with(kind, "limits_cors", config);
    let preflight = request_with_body(
        "OPTIONS",
        &format!("{}/api/stats", server.base),
        &[
            ("origin", allowed),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "authorization"),
        ],
        Vec::new(),
    );
    assert!((200..300).contains(&preflight.status), "{}", preflight.status);
    assert_eq!(preflight.header("access-control-allow-origin"), Some(allowed));
    let methods = preflight
        .header("access-control-allow-methods")
        .unwrap_or("")
        .to_lowercase();
    assert!(methods.contains("get"), "{methods}");

    let other = server.get("/catalog", &[("origin", "https://elsewhere.example")]);
    assert_eq!(other.status, 200);
    assert_eq!(other.header("access-control-allow-origin"), None);
    let ours = server.get("/catalog", &[("origin", allowed)]);
    assert_eq!(ours.header("access-control-allow-origin"), Some(allowed));

    // Without configured origins, no CORS headers at all.
    let plain = kind.demo_server("limits_no_cors");
    let reply = plain.get("/catalog", &[("origin", allowed)]);
    assert_eq!(reply.header("access-control-allow-origin"), None);
}

agrimap_suite::store_suite!(
    oversized_bodies_are_refused_with_413,
    pages_are_capped,
    slow_requests_meet_the_deadline,
    quotas_answer_429_with_retry_after,
    cors_only_for_configured_origins,
);
