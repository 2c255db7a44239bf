//! `/metrics` on both stores, read by the Prometheus project's own
//! OpenMetrics parser (Debian's `python3-prometheus-client`): requests by
//! route and status with latency histograms, the tile cache, readings taken
//! and refused, statistics recomputations and the database pool, each
//! counted from requests this test makes.

use agrimap_core::tokens::hash_token;
use agrimap_suite::{StoreKind, TestServer};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

const TOKEN: &str = "metrics-test-token-for-wq01";

/// The parser: every sample as `[name, labels, value]`, or an error.
const PARSE: &str = r"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append([s.name, s.labels, s.value])
print(json.dumps(out))
";

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

/// The samples of `/metrics`, by name and sorted labels.
fn scrape(server: &TestServer) -> BTreeMap<(String, String), f64> {
    let reply = server.get("/metrics", &[]);
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{:?}",
        reply.header("content-type")
    );
    let mut parser = Command::new("/usr/bin/python3")
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 with prometheus_client (python3-prometheus-client)");
    parser
        .stdin
        .take()
        .expect("stdin")
        .write_all(&reply.body)
        .expect("writing");
    let out = parser.wait_with_output().expect("parser");
    assert!(
        out.status.success(),
        "the OpenMetrics parser refused /metrics: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&reply.body)
    );
    let samples: Vec<(String, BTreeMap<String, String>, f64)> = serde_json::from_slice(&out.stdout).expect("json");
    samples
        .into_iter()
        .map(|(name, labels, value)| {
            let labels: Vec<String> = labels.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
            ((name, labels.join(",")), value)
        })
        .collect()
}

fn sample(samples: &BTreeMap<(String, String), f64>, name: &str, labels: &str) -> f64 {
    samples
        .get(&(name.to_owned(), labels.to_owned()))
        .copied()
        .unwrap_or_else(|| {
            let near: Vec<_> = samples.keys().filter(|(n, _)| n.starts_with(name)).collect();
            panic!("no sample {name}{{{labels}}}; of that name: {near:?}")
        })
}

fn counts_what_the_service_does(kind: StoreKind) {
    let server = kind.demo_server("metrics");
    assert!(block_on(server.store.set_station_token_hash("WQ-01", &hash_token(TOKEN))).expect("token"));
    let before = scrape(&server);
    let tile_route = "method=GET,route=/tiles/{layers}/{z}/{x}/{y},status=200";

    // A tile twice: made once, then from the cache.
    let tile = "/tiles/crop/12/3252/1937.mvt";
    assert_eq!(server.get(tile, &[]).status, 200);
    assert_eq!(server.get(tile, &[]).status, 200);
    // A statistic, and a path no route has.
    assert_eq!(server.get("/api/stats?layer=ocop&metric=count", &[]).status, 200);
    assert_eq!(server.get("/api/nothing-here", &[]).status, 404);
    // Two readings taken, then a batch of three refused whole.
    let path = "/api/stations/WQ-01/readings";
    let auth = format!("Bearer {TOKEN}");
    let good = json!([
        {"parameter": "salinity", "value": 1.5, "unit": "ppt", "time": "2026-11-24T01:00:00Z"},
        {"parameter": "ph", "value": 7.2, "unit": "pH", "time": "2026-11-24T01:00:00Z"},
    ]);
    assert_eq!(server.post_json(path, &[("authorization", &auth)], &good).status, 200);
    let bad = json!([
        {"parameter": "salinity", "value": 1.5, "unit": "ppt", "time": "2026-11-24T02:00:00Z"},
        {"parameter": "salinity", "value": -3.0, "unit": "ppt", "time": "2026-11-24T03:00:00Z"},
        {"parameter": "ph", "value": 15.0, "unit": "pH", "time": "2026-11-24T02:00:00Z"},
    ]);
    assert_eq!(server.post_json(path, &[("authorization", &auth)], &bad).status, 422);

    let after = scrape(&server);
    let grew = |name: &str, labels: &str| {
        sample(&after, name, labels)
            - before
                .get(&(name.to_owned(), labels.to_owned()))
                .copied()
                .unwrap_or(0.0)
    };
    assert!((grew("agrimap_http_requests_total", tile_route) - 2.0).abs() < f64::EPSILON);
    assert!((grew("agrimap_http_requests_total", "method=GET,route=unmatched,status=404") - 1.0).abs() < f64::EPSILON);
    let route = "method=POST,route=/api/stations/{id}/readings";
    assert!((grew("agrimap_http_requests_total", &format!("{route},status=422")) - 1.0).abs() < f64::EPSILON);
    // The latency histogram of the tile route: two observations, in cumulative buckets.
    let tiles = "method=GET,route=/tiles/{layers}/{z}/{x}/{y}";
    assert!((grew("agrimap_http_request_duration_seconds_count", tiles) - 2.0).abs() < f64::EPSILON);
    assert!(
        (sample(
            &after,
            "agrimap_http_request_duration_seconds_bucket",
            &format!("le=+Inf,{tiles}")
        ) - sample(&after, "agrimap_http_request_duration_seconds_count", tiles))
        .abs()
            < f64::EPSILON
    );
    assert!((grew("agrimap_tile_cache_misses_total", "") - 1.0).abs() < f64::EPSILON);
    assert!((grew("agrimap_tile_cache_hits_total", "") - 1.0).abs() < f64::EPSILON);
    assert!(grew("agrimap_tile_rendered_bytes_total", "") > 100.0);
    assert!(sample(&after, "agrimap_tile_renders_in_flight", "").abs() < f64::EPSILON);
    assert!((grew("agrimap_readings_ingested_total", "") - 2.0).abs() < f64::EPSILON);
    assert!((grew("agrimap_readings_refused_total", "") - 3.0).abs() < f64::EPSILON);
    assert!(grew("agrimap_stats_recomputations_total", "") >= 1.0);
    assert!(sample(&after, "agrimap_mqtt_backlog", "").abs() < f64::EPSILON);
    // The store's pool: open connections within its bound.
    let max = sample(&after, "agrimap_db_pool_max_connections", "");
    let open = sample(&after, "agrimap_db_pool_connections", "");
    assert!(max >= 1.0 && open <= max, "{open} of {max}");
    assert!(sample(&after, "agrimap_db_pool_idle_connections", "") <= open);
    // The same statistic again is cached: no recomputation.
    let cached = sample(&after, "agrimap_stats_recomputations_total", "");
    assert_eq!(server.get("/api/stats?layer=ocop&metric=count", &[]).status, 200);
    assert!((sample(&scrape(&server), "agrimap_stats_recomputations_total", "") - cached).abs() < f64::EPSILON);
}

agrimap_suite::store_suite!(counts_what_the_service_does);
