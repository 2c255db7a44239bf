//! PostgreSQL stopped under a running agrimap: requests that need it answer
//! 503 with a JSON error instead of hanging, tiles cached before the outage
//! are still served, and agrimap recovers by itself
//! when the database is back. The test runs a cluster of its own, so that
//! stopping it disturbs no other test.

use agrimap_suite::TestServer;
use agrimap_suite::pg_cluster::Cluster;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn stopped_database_gives_quick_503s_and_agrimap_recovers() {
    let cluster = Cluster::create("faults");
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
