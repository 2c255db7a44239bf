//! Tile generation on the demo province (GeoPackage store), and MVT encoding alone.
//!
//! - `tile/zN`: one uncached composite tile of every layer at zoom N, centred
//!   on the z14 tile with the most parcels in the province: store queries,
//!   clip, simplify, encode and gzip, exactly as the server renders a cache miss.
//! - `tiles_per_second/z14`: every z14 tile over the commune Mỹ Xương,
//!   rendered concurrently on the multi-threaded runtime (both cores).
//! - `store_query/zN`: the store queries of that tile alone (GeoPackage R-tree
//!   lookup, row reads, WKB decoding).
//! - `encode/zN`: `encode_tile` alone on features fetched beforehand.
//!
//! Run: `cargo bench --bench tiles`. Every iteration checks it produced a tile.

use agrimap_core::{Core, CoreConfig};
use agrimap_model::{Audience, FeatureQuery, Filter, LayerDef, catalog, layer};
use agrimap_store::LayerStore as _;
use agrimap_tiles::{TileCoord, TileOptions, encode_tile, tile_bounds_buffered, tile_containing};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use geo::BoundingRect;
use std::sync::Arc;

fn setup() -> (tokio::runtime::Runtime, Core, geo::Geometry<f64>) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store = agrimap_suite::shared_store();
    let communes = layer("admin_commune").expect("layer");
    let query = FeatureQuery {
        filter: Some(Filter::eq("name", "Mỹ Xương")),
        ..FeatureQuery::default()
    };
    let commune = rt
        .block_on(store.features(communes, &query))
        .expect("query")
        .remove(0)
        .geometry;
    let core = Core::new(Arc::new(store), CoreConfig::default());
    (rt, core, commune)
}

/// Centre of the z14 tile holding the most parcels.
fn densest_z14(rt: &tokio::runtime::Runtime, core: &Core) -> geo::Point<f64> {
    let crop = layer("crop").expect("crop");
    let parcels = rt
        .block_on(core.store.features(crop, &FeatureQuery::default()))
        .expect("parcels");
    let mut per_tile: std::collections::BTreeMap<(u32, u32), usize> = std::collections::BTreeMap::new();
    for p in &parcels {
        let c = p.geometry.bounding_rect().expect("bbox").center();
        let t = tile_containing(c.x, c.y, 14);
        *per_tile.entry((t.x, t.y)).or_default() += 1;
    }
    let (&(x, y), _) = per_tile.iter().max_by_key(|(_, n)| **n).expect("parcels");
    let b = agrimap_tiles::tile_bounds(TileCoord::new(14, x, y).expect("tile"));
    geo::Point::from(b.center())
}

fn bench_tiles(c: &mut Criterion) {
    let (rt, core, commune) = setup();
    let centre = densest_z14(&rt, &core);
    let all: Vec<&'static LayerDef> = catalog().iter().collect();

    let mut group = c.benchmark_group("tile");
    for z in [8u8, 12, 14, 16] {
        let t = tile_containing(centre.x(), centre.y(), z);
        group.bench_with_input(BenchmarkId::from_parameter(format!("z{z}")), &t, |b, t| {
            b.iter(|| {
                let body = rt.block_on(core.tiles.render(&all, *t)).expect("tile");
                assert!(!body.is_empty());
                body
            });
        });
    }
    group.finish();

    let bbox = commune.bounding_rect().expect("bbox");
    let (lo, hi) = (
        tile_containing(bbox.min().x, bbox.max().y, 14),
        tile_containing(bbox.max().x, bbox.min().y, 14),
    );
    let tiles: Vec<TileCoord> = (lo.x..=hi.x)
        .flat_map(|x| (lo.y..=hi.y).map(move |y| TileCoord::new(14, x, y).expect("tile")))
        .collect();
    let mut group = c.benchmark_group("tiles_per_second");
    group.throughput(Throughput::Elements(tiles.len() as u64));
    group.sample_size(10);
    group.bench_function(format!("z14 x{}", tiles.len()), |b| {
        b.iter(|| {
            rt.block_on(async {
                let jobs = tiles.iter().map(|t| {
                    let core = core.clone();
                    let all = all.clone();
                    let t = *t;
                    tokio::spawn(async move { core.tiles.render(&all, t).await })
                });
                let bodies = futures::future::join_all(jobs).await;
                let bytes: usize = bodies
                    .into_iter()
                    .map(|b| b.expect("join").expect("tile").gzip.len())
                    .sum();
                assert!(bytes > 0);
                bytes
            })
        });
    });
    group.finish();

    let mut group = c.benchmark_group("store_query");
    for z in [8u8, 12, 14, 16] {
        let t = tile_containing(centre.x(), centre.y(), z);
        let bbox = tile_bounds_buffered(t, 64, 4096);
        let visible: Vec<&'static LayerDef> = all.iter().copied().filter(|l| z >= l.minzoom).collect();
        let query = FeatureQuery {
            min_extent: Some(agrimap_tiles::tile_bounds(t).width() / 4096.0),
            ..FeatureQuery::in_bbox(bbox)
        };
        group.bench_function(BenchmarkId::from_parameter(format!("z{z}")), |b| {
            b.iter(|| {
                let n: usize = visible
                    .iter()
                    .map(|l| rt.block_on(core.store.features(l, &query)).expect("features").len())
                    .sum();
                assert!(n > 0);
                n
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("encode");
    let opts = TileOptions::default();
    for z in [12u8, 14, 16] {
        let t = tile_containing(centre.x(), centre.y(), z);
        let bbox = tile_bounds_buffered(t, opts.buffer, opts.extent);
        let visible: Vec<&'static LayerDef> = all.iter().copied().filter(|l| z >= l.minzoom).collect();
        let fetched: Vec<Vec<agrimap_model::Feature>> = visible
            .iter()
            .map(|l| {
                rt.block_on(core.store.features(l, &FeatureQuery::in_bbox(bbox)))
                    .expect("features")
            })
            .collect();
        let n: usize = fetched.iter().map(Vec::len).sum();
        let pairs: Vec<(&LayerDef, &[agrimap_model::Feature])> =
            visible.iter().copied().zip(fetched.iter().map(Vec::as_slice)).collect();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::from_parameter(format!("z{z} ({n} features)")), |b| {
            b.iter(|| {
                let mvt = encode_tile(t, &pairs, Audience::Public, &opts);
                assert!(!mvt.is_empty());
                mvt
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_tiles);
criterion_main!(benches);
