//! What the thematic layers' history costs, on the demo province with its
//! three years of changes (BENCHMARKS.md):
//!
//! - **Tiles**: the uncached `crop,aquaculture` tiles of zooms 12 to 16
//!   around the densest parcels (the z14 tile with the most, and its eight
//!   neighbours at each zoom) (the server's cache-miss path: store
//!   queries, clip, simplify, encode, gzip), rendered at their current state
//!   and `as_of` a day in the middle of the history, alternately, after one
//!   untimed round; mean time per tile of each. Both stores (PostGIS when
//!   `AGRIMAP_TEST_DATABASE_URL` names a server).
//! - **Size**: the store loaded with the history against the same province
//!   loaded without it (its layers as they are today): the GeoPackage's
//!   file size, and PostGIS's `pg_total_relation_size` of every layer table
//!   and history table after `VACUUM FULL` (a load replays three years of
//!   updates, whose dead rows a vacuum reclaims).
//!
//! Run: `cargo bench --bench history` (`AGRIMAP_BENCH_ROUNDS`, default 5).

use agrimap_core::tiles::TileService;
use agrimap_model::{FeatureQuery, LayerDef, UtcTime, catalog, layer};
use agrimap_store::{GpkgStore, LayerStore as _, Store};
use agrimap_tiles::{TileCoord, tile_containing};
use geo::BoundingRect;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A day in the middle of the demo's history.
const AS_OF: &str = "2025-06-15T23:59:59Z";

fn main() {
    let rounds: usize = std::env::var("AGRIMAP_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let demo = agrimap_suite::demo_dir();
    let dir = agrimap_suite::scratch_dir("bench_history");

    // Sizes: the GeoPackage with and without the history.
    let with = dir.join("with.gpkg");
    let without_dir = dir.join("demo-today");
    std::fs::create_dir_all(&without_dir).expect("dir");
    for entry in std::fs::read_dir(&demo).expect("data/demo") {
        let path = entry.expect("entry").path();
        if path.file_name().is_some_and(|n| n != "history.jsonl.gz") {
            std::fs::copy(&path, without_dir.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    let without = dir.join("without.gpkg");
    agrimap::seed::seed(&with, &demo).expect("seed with history");
    agrimap::seed::seed(&without, &without_dir).expect("seed without history");
    let size = |p: &std::path::Path| std::fs::metadata(p).expect("size").len();
    let (a, b) = (size(&with), size(&without));
    println!(
        "geopackage size: {b} bytes today only, {a} bytes with history: +{:.1} %",
        pct(a, b)
    );

    let gpkg: Arc<dyn Store> = Arc::new(GpkgStore::open(&with).expect("open"));
    let tiles = tile_list(&rt, gpkg.as_ref());
    println!("{} tiles of crop,aquaculture at zooms 12-16", tiles.len());
    report(&rt, "geopackage", gpkg, &tiles, rounds);

    if std::env::var_os("AGRIMAP_TEST_DATABASE_URL").is_some() {
        let with = agrimap_suite::PgDatabase::empty("bench_history_with");
        let without = agrimap_suite::PgDatabase::empty("bench_history_without");
        let sizes: Vec<i64> = [(&with, &demo), (&without, &without_dir)]
            .iter()
            .map(|(db, from)| {
                rt.block_on(async {
                    let store = agrimap::postgres::connect_and_migrate(&db.url).await.expect("migrate");
                    store
                        .write(agrimap::seed::demo_batch(from).expect("demo"))
                        .await
                        .expect("load");
                });
                agrimap_suite::on_database(&db.url, async |c| {
                    c.batch_execute("VACUUM FULL").await.expect("vacuum");
                    let tables: Vec<String> = catalog()
                        .iter()
                        .flat_map(|l| {
                            let mut t = vec![l.id.to_owned()];
                            if l.versioned() {
                                t.push(format!("{}_history", l.id));
                            }
                            t
                        })
                        .collect();
                    c.query_one(
                        "SELECT sum(pg_total_relation_size(t::regclass))::bigint FROM unnest($1::text[]) AS t",
                        &[&tables],
                    )
                    .await
                    .expect("sizes")
                    .get(0)
                })
            })
            .collect();
        let (a, b) = (
            u64::try_from(sizes[0]).unwrap_or(0),
            u64::try_from(sizes[1]).unwrap_or(0),
        );
        println!(
            "postgis size (layer and history tables, after VACUUM FULL): {b} bytes today only, {a} bytes with history: +{:.1} %",
            pct(a, b)
        );
        let store: Arc<dyn Store> = Arc::new(with.store());
        report(&rt, "postgis", store, &tiles, rounds);
    }
}

#[expect(clippy::cast_precision_loss, reason = "sizes for a report")]
fn pct(a: u64, b: u64) -> f64 {
    (a as f64 / b as f64 - 1.0) * 100.0
}

/// Tiles of zooms 12 to 16 around the z14 tile with the most parcels.
fn tile_list(rt: &tokio::runtime::Runtime, store: &dyn Store) -> Vec<TileCoord> {
    let crop = layer("crop").expect("crop");
    let parcels = rt
        .block_on(store.features(crop, &FeatureQuery::default()))
        .expect("parcels");
    let mut per_tile: std::collections::BTreeMap<(u32, u32), usize> = std::collections::BTreeMap::new();
    for p in &parcels {
        let c = p.geometry.bounding_rect().expect("bbox").center();
        let t = tile_containing(c.x, c.y, 14);
        *per_tile.entry((t.x, t.y)).or_default() += 1;
    }
    let (&(x, y), _) = per_tile.iter().max_by_key(|(_, n)| **n).expect("parcels");
    let centre = agrimap_tiles::tile_bounds(TileCoord::new(14, x, y).expect("tile")).center();
    let mut out = Vec::new();
    for z in 12..=16 {
        let t = tile_containing(centre.x, centre.y, z);
        // The tile and its neighbours.
        for dx in [-1_i64, 0, 1] {
            for dy in [-1_i64, 0, 1] {
                let (x, y) = (i64::from(t.x) + dx, i64::from(t.y) + dy);
                out.push(TileCoord::new(z, u32::try_from(x).expect("x"), u32::try_from(y).expect("y")).expect("tile"));
            }
        }
    }
    out
}

fn report(rt: &tokio::runtime::Runtime, name: &str, store: Arc<dyn Store>, tiles: &[TileCoord], rounds: usize) {
    let service = TileService::new(store, 0, agrimap_core::metrics::CoreMetrics::default());
    let layers: Vec<&'static LayerDef> = ["crop", "aquaculture"]
        .iter()
        .map(|id| layer(id).expect("layer"))
        .collect();
    let at = UtcTime::parse(AS_OF).expect("time");
    let (mut now, mut then) = (Duration::ZERO, Duration::ZERO);
    let (mut bytes_now, mut bytes_then) = (0, 0);
    for round in 0..=rounds {
        for (i, &t) in tiles.iter().enumerate() {
            // Alternate who goes first, so neither always finds warmer caches.
            let order = if (round + i) % 2 == 0 {
                [None, Some(at)]
            } else {
                [Some(at), None]
            };
            for as_of in order {
                let started = Instant::now();
                let tile = rt.block_on(service.render_as_of(&layers, t, as_of)).expect("tile");
                let took = started.elapsed();
                if round > 0 {
                    if as_of.is_some() {
                        then += took;
                        bytes_then += tile.gzip.len();
                    } else {
                        now += took;
                        bytes_now += tile.gzip.len();
                    }
                }
            }
        }
    }
    assert!(bytes_now > 0 && bytes_then > 0, "the tiles are empty");
    let n = u32::try_from(tiles.len() * rounds).unwrap_or(1);
    println!(
        "{name}: current tiles {:.2} ms, as_of {AS_OF} tiles {:.2} ms per tile: {:.2}x ({} vs {} gzip bytes per round)",
        (now / n).as_secs_f64() * 1e3,
        (then / n).as_secs_f64() * 1e3,
        then.as_secs_f64() / now.as_secs_f64(),
        bytes_now / rounds,
        bytes_then / rounds,
    );
}
