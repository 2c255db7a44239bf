//! Every composite tile of the province at z8–z13 (the farmer and planner
//! styles ask for the same source: all fifteen layers), made cold as the
//! server makes a cache miss, twice: first with no coalesced layer kept by
//! the store (as right after a write reaching the tile, or a load: every
//! feature read and drawn, then kept), then again from what the store kept
//! (every tile no write has reached since it was drawn). For each: the
//! gzipped size, the times to make it both ways, and for
//! the coalesced layers (crops by crop type, ponds by species and mode) the
//! area drawn per class against the exact area per class of the features
//! clipped to the buffered tile, both in square tile units.
//!
//! Needs `AGRIMAP_TILE_SIZES_STORE`, a GeoPackage store (for instance one
//! seeded from `agrimap demo-data --parcels 2000000`); does nothing without.
//! `AGRIMAP_TILE_SIZES_COALESCE=0` draws every feature (as before coalescing),
//! `AGRIMAP_TILE_SIZES_ZOOMS=11-12` limits the zooms, and
//! `AGRIMAP_TILE_SIZES_TILES=11/1626/968,…` makes only those tiles, and
//! `AGRIMAP_TILE_SIZES_BUDGET` (bytes) and `AGRIMAP_TILE_SIZES_MIN_AREA`
//! (square tile units) replace the server's budget and smallest polygon.
//!
//! `AGRIMAP_TILE_SIZES_DATABASE=postgres://…` reads a PostGIS store instead.
//! `AGRIMAP_TILE_SIZES_MARTIN=http://127.0.0.1:3000/crop,aquaculture` also
//! fetches each tile from Martin serving the same tables (`benches/martin.sh`
//! starts one) and measures its area per class the same way.
//!
//! Run: `AGRIMAP_TILE_SIZES_STORE=/tmp/t2m/agrimap.gpkg cargo bench --bench tile_sizes`.

use agrimap_core::metrics::CoreMetrics;
use agrimap_core::tiles::TileService;
use agrimap_model::{FeatureQuery, LayerDef, catalog, layer};
use agrimap_store::{GpkgStore, PgStore, Store};
use agrimap_tiles::{TileCoord, TileOptions, TileProjector, decode, tile_bounds_buffered, tile_containing};
use geo::{Area, BoundingRect, Geometry, MapCoords, Rect, coord};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Classes smaller than this share of the buffered tile (about 180 px² of a
/// 512 px tile) are reported apart: a sliver of a parcel at the buffer's
/// edge may be dropped as sub-pixel, which is no error a reader can see.
const SMALL_CLASS_SHARE: f64 = 0.001;

struct Made {
    tile: TileCoord,
    gzip: usize,
    plain: usize,
    /// Made with no kept layer (the first draw).
    time: Duration,
    /// Made again, with the coalesced layers the first draw kept.
    kept: Duration,
    /// The store queries of the tile alone, as the service makes them.
    read: Duration,
    /// Worst relative error of a class of at least `SMALL_CLASS_SHARE`, and that class.
    worst: (f64, String),
    /// Worst relative error of any class, and that class with its exact area.
    worst_any: (f64, String),
    classes_over_5: usize,
    classes: usize,
}

/// The same tile from Martin: its gzipped size and its area per class.
struct Peer {
    tile: TileCoord,
    gzip: usize,
    worst: (f64, String),
    classes_over_5: usize,
    classes: usize,
}

fn open_store(rt: &tokio::runtime::Runtime) -> Option<Arc<dyn Store>> {
    if let Ok(url) = std::env::var("AGRIMAP_TILE_SIZES_DATABASE") {
        let store = PgStore::connect(&url).expect("database");
        rt.block_on(store.migrate()).expect("migrate");
        return Some(Arc::new(store));
    }
    let path = std::env::var_os("AGRIMAP_TILE_SIZES_STORE")?;
    Some(Arc::new(GpkgStore::open(std::path::Path::new(&path)).expect("store")))
}

/// Martin's tile (plain MVT, empty for a 204) and its size on the wire with gzip.
fn martin_tile(base: &str, tile: TileCoord) -> (Vec<u8>, usize) {
    let out = std::process::Command::new("curl")
        .args(["-sS", "--fail", "-H", "Accept-Encoding: gzip"])
        .arg(format!("{base}/{}/{}/{}", tile.z, tile.x, tile.y))
        .output()
        .expect("curl runs");
    assert!(out.status.success(), "Martin: {}", String::from_utf8_lossy(&out.stderr));
    let wire = out.stdout;
    if wire.starts_with(&[0x1f, 0x8b]) {
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(wire.as_slice()), &mut plain).expect("gunzip");
        (plain, wire.len())
    } else {
        let n = wire.len();
        (wire, n)
    }
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(store) = open_store(&rt) else {
        eprintln!("neither AGRIMAP_TILE_SIZES_STORE nor AGRIMAP_TILE_SIZES_DATABASE is set: nothing to measure");
        return;
    };
    let martin = std::env::var("AGRIMAP_TILE_SIZES_MARTIN").ok();
    let coalesce = std::env::var("AGRIMAP_TILE_SIZES_COALESCE").map_or(true, |v| v != "0");
    let (z_lo, z_hi) = std::env::var("AGRIMAP_TILE_SIZES_ZOOMS").map_or((8, 13), |v| {
        let (a, b) = v.split_once('-').unwrap_or((&v, &v));
        (a.parse().expect("zoom"), b.parse().expect("zoom"))
    });
    let plain = TileService::new(store.clone(), 0, CoreMetrics::default());
    let mut options = TileOptions {
        coalesce,
        ..plain.options().clone()
    };
    // Knobs for trying other budgets and thresholds than the server's.
    if let Ok(bytes) = std::env::var("AGRIMAP_TILE_SIZES_BUDGET") {
        options.coalesced_layer_bytes = bytes.parse().expect("bytes");
    }
    if let Ok(area) = std::env::var("AGRIMAP_TILE_SIZES_MIN_AREA") {
        options.min_polygon_area = area.parse().expect("square tile units");
    }
    let service = plain.with_options(options);
    let all: Vec<&'static LayerDef> = catalog().iter().collect();

    let tiles: Vec<TileCoord> = match std::env::var("AGRIMAP_TILE_SIZES_TILES") {
        Ok(list) => list
            .split(',')
            .map(|t| {
                let n: Vec<u32> = t.split('/').map(|n| n.parse().expect("z/x/y")).collect();
                TileCoord::new(n[0] as u8, n[1], n[2]).expect("tile")
            })
            .collect(),
        Err(_) => province_tiles(&rt, store.as_ref(), z_lo, z_hi),
    };
    println!(
        "{} tiles, coalescing {}",
        tiles.len(),
        if coalesce { "on" } else { "off" }
    );

    let forgotten = rt.block_on(store.forget_overviews()).expect("forget kept layers");
    println!("{forgotten} kept tile layers forgotten before the first draws");
    let mut made = Vec::new();
    let mut peer = Vec::new();
    for &tile in &tiles {
        let start = Instant::now();
        let body = rt.block_on(service.render(&all, tile)).expect("tile");
        let time = start.elapsed();
        let start = Instant::now();
        let again = rt.block_on(service.render(&all, tile)).expect("tile");
        let kept = start.elapsed();
        assert_eq!(again.plain, body.plain, "the kept layers draw the same tile");
        if body.is_empty() {
            continue;
        }
        let read = read_time(&rt, &store, &all, tile, service.options());
        let (worst, worst_any, classes_over_5, classes) = area_errors(&rt, store.as_ref(), tile, &body.plain);
        if let Some(base) = &martin {
            let (plain, gzip) = martin_tile(base, tile);
            let (worst, _, classes_over_5, classes) = area_errors(&rt, store.as_ref(), tile, &plain);
            peer.push(Peer {
                tile,
                gzip,
                worst,
                classes_over_5,
                classes,
            });
        }
        made.push(Made {
            tile,
            gzip: body.gzip.len(),
            plain: body.plain.len(),
            time,
            kept,
            read,
            worst,
            worst_any,
            classes_over_5,
            classes,
        });
    }

    println!(
        "| zoom | tiles | gzip max | gzip p99 | raw max | first draw max | first draw p99 | kept max | kept p99 | worst class error (≥ 0.1 % of tile) | classes over 5 % / all | worst of any class |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for z in z_lo..=z_hi {
        let at: Vec<&Made> = made.iter().filter(|m| m.tile.z == z).collect();
        if !at.is_empty() {
            row(&format!("z{z}"), &at);
        }
    }
    row("all", &made.iter().collect::<Vec<_>>());
    print_extremes(&made);
    if !peer.is_empty() {
        print_peer(&made, &peer, z_lo..=z_hi);
    }
}

/// Area per class of the coalesced layers' classes, agrimap against Martin,
/// over the tiles both made.
fn print_peer(made: &[Made], peer: &[Peer], zooms: std::ops::RangeInclusive<u8>) {
    println!("\nagrimap and Martin, the same tiles (Martin: its composite of the coalesced layers):");
    println!(
        "| zoom | tiles | agrimap worst class error (≥ 0.1 % of tile) | agrimap classes over 5 % / all | Martin worst class error (≥ 0.1 % of tile) | Martin classes over 5 % / all | Martin gzip max |"
    );
    println!("|---|---|---|---|---|---|---|");
    for z in zooms {
        let ours: Vec<&Made> = made.iter().filter(|m| m.tile.z == z).collect();
        let theirs: Vec<&Peer> = peer.iter().filter(|p| p.tile.z == z && p.classes > 0).collect();
        if theirs.is_empty() {
            continue;
        }
        let a = ours
            .iter()
            .max_by(|a, b| a.worst.0.total_cmp(&b.worst.0))
            .expect("tiles");
        let m = theirs
            .iter()
            .max_by(|a, b| a.worst.0.total_cmp(&b.worst.0))
            .expect("tiles");
        println!(
            "| z{z} | {} | {:.2} % ({}) | {} / {} | {:.2} % ({}/{}/{} {}) | {} / {} | {:.0} kB |",
            theirs.len(),
            a.worst.0 * 100.0,
            a.worst.1,
            ours.iter().map(|m| m.classes_over_5).sum::<usize>(),
            ours.iter().map(|m| m.classes).sum::<usize>(),
            m.worst.0 * 100.0,
            m.tile.z,
            m.tile.x,
            m.tile.y,
            m.worst.1,
            theirs.iter().map(|p| p.classes_over_5).sum::<usize>(),
            theirs.iter().map(|p| p.classes).sum::<usize>(),
            theirs.iter().map(|p| p.gzip).max().unwrap_or(0) as f64 / 1e3,
        );
    }
}

/// The five largest and slowest tiles, and the worst class errors of any size.
fn print_extremes(made: &[Made]) {
    let mut by_size: Vec<&Made> = made.iter().collect();
    by_size.sort_by_key(|m| std::cmp::Reverse(m.gzip));
    println!("\nLargest tiles:");
    for m in by_size.iter().take(5) {
        println!(
            "  {}/{}/{}: {:.0} kB gzip, {:.0} kB raw, {:.0} ms; worst class {}",
            m.tile.z,
            m.tile.x,
            m.tile.y,
            m.gzip as f64 / 1e3,
            m.plain as f64 / 1e3,
            m.time.as_secs_f64() * 1e3,
            m.worst.1
        );
    }
    by_size.sort_by_key(|m| std::cmp::Reverse(m.time));
    println!("Slowest tiles:");
    for m in by_size.iter().take(5) {
        println!(
            "  {}/{}/{}: {:.0} ms first ({:.1} ms from the kept layers), of which {:.0} ms reading the store; {:.0} kB gzip",
            m.tile.z,
            m.tile.x,
            m.tile.y,
            m.time.as_secs_f64() * 1e3,
            m.kept.as_secs_f64() * 1e3,
            m.read.as_secs_f64() * 1e3,
            m.gzip as f64 / 1e3
        );
    }
    by_size.sort_by(|a, b| b.worst_any.0.total_cmp(&a.worst_any.0));
    println!("Worst class errors of any size:");
    for m in by_size.iter().take(5) {
        println!("  {}/{}/{}: {}", m.tile.z, m.tile.x, m.tile.y, m.worst_any.1);
    }
}

fn row(label: &str, at: &[&Made]) {
    let mut gzip: Vec<usize> = at.iter().map(|m| m.gzip).collect();
    let mut time: Vec<Duration> = at.iter().map(|m| m.time).collect();
    let mut kept: Vec<Duration> = at.iter().map(|m| m.kept).collect();
    gzip.sort_unstable();
    time.sort_unstable();
    kept.sort_unstable();
    let p99 = |n: usize| (n * 99).div_ceil(100).saturating_sub(1);
    let worst = at.iter().max_by(|a, b| a.worst.0.total_cmp(&b.worst.0)).expect("tiles");
    let worst_any = at
        .iter()
        .max_by(|a, b| a.worst_any.0.total_cmp(&b.worst_any.0))
        .expect("tiles");
    println!(
        "| {label} | {} | {:.0} kB | {:.0} kB | {:.0} kB | {:.0} ms | {:.0} ms | {:.1} ms | {:.1} ms | {:.2} % ({}/{}/{} {}) | {} / {} | {:.1} % |",
        at.len(),
        gzip[gzip.len() - 1] as f64 / 1e3,
        gzip[p99(gzip.len())] as f64 / 1e3,
        at.iter().map(|m| m.plain).max().unwrap_or(0) as f64 / 1e3,
        time[time.len() - 1].as_secs_f64() * 1e3,
        time[p99(time.len())].as_secs_f64() * 1e3,
        kept[kept.len() - 1].as_secs_f64() * 1e3,
        kept[p99(kept.len())].as_secs_f64() * 1e3,
        worst.worst.0 * 100.0,
        worst.tile.z,
        worst.tile.x,
        worst.tile.y,
        worst.worst.1,
        at.iter().map(|m| m.classes_over_5).sum::<usize>(),
        at.iter().map(|m| m.classes).sum::<usize>(),
        worst_any.worst_any.0 * 100.0,
    );
}

/// How long the store queries of a tile take alone: one per visible layer,
/// run concurrently, with the bounding box and smallest extent the tile
/// service asks for.
fn read_time(
    rt: &tokio::runtime::Runtime,
    store: &Arc<dyn Store>,
    layers: &[&'static LayerDef],
    tile: TileCoord,
    opts: &TileOptions,
) -> Duration {
    let query = FeatureQuery {
        bbox: Some(tile_bounds_buffered(tile, opts.buffer, opts.extent)),
        min_extent: Some(agrimap_tiles::tile_bounds(tile).width() / f64::from(opts.extent)),
        any_order: true,
        ..FeatureQuery::default()
    };
    let start = Instant::now();
    let reads = layers
        .iter()
        .filter(|l| tile.z >= l.minzoom)
        .map(|l| store.features(l, &query));
    let fetched = rt.block_on(futures::future::try_join_all(reads)).expect("features");
    let elapsed = start.elapsed();
    assert!(!fetched.is_empty());
    elapsed
}

/// Every tile at `z_lo..=z_hi` over the province's bounding box.
fn province_tiles(rt: &tokio::runtime::Runtime, store: &dyn Store, z_lo: u8, z_hi: u8) -> Vec<TileCoord> {
    let province = rt
        .block_on(store.features(layer("admin_province").expect("layer"), &FeatureQuery::default()))
        .expect("province");
    let bbox = province
        .iter()
        .filter_map(|p| p.geometry.bounding_rect())
        .reduce(|a, b| {
            Rect::new(
                coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
                coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
            )
        })
        .expect("a province");
    let mut tiles = Vec::new();
    for z in z_lo..=z_hi {
        let (lo, hi) = (
            tile_containing(bbox.min().x, bbox.max().y, z),
            tile_containing(bbox.max().x, bbox.min().y, z),
        );
        for x in lo.x..=hi.x {
            for y in lo.y..=hi.y {
                tiles.push(TileCoord::new(z, x, y).expect("tile"));
            }
        }
    }
    tiles
}

/// The class of a feature: its values of the layer's class fields.
fn class_of(def: &LayerDef, values: impl Fn(&str) -> String) -> String {
    def.coalescing()
        .expect("coalesced layer")
        .class_fields
        .iter()
        .map(|f| values(f))
        .collect::<Vec<_>>()
        .join("/")
}

/// Area drawn per class against the exact area per class, for every
/// coalesced layer in the tile: the worst relative error among classes of
/// at least `SMALL_CLASS_SHARE` of the tile, the worst of any class, how
/// many classes are over 5 %, and how many classes were compared.
fn area_errors(
    rt: &tokio::runtime::Runtime,
    store: &dyn Store,
    tile: TileCoord,
    mvt: &[u8],
) -> ((f64, String), (f64, String), usize, usize) {
    let decoded = decode(mvt).expect("tile decodes");
    let projector = TileProjector::new(tile, 4096);
    let clip = Rect::new(coord! { x: -64.0, y: -64.0 }, coord! { x: 4160.0, y: 4160.0 });
    let tile_area = 4224.0 * 4224.0;
    let mut worst = (0.0, String::from("-"));
    let mut worst_any = (0.0, String::from("-"));
    let (mut over, mut classes) = (0, 0);
    for def in catalog()
        .iter()
        .filter(|l| l.coalescing().is_some() && tile.z >= l.minzoom)
    {
        let mut drawn: BTreeMap<String, f64> = BTreeMap::new();
        if let Some(l) = decoded.iter().find(|l| l.name == def.id) {
            for f in &l.features {
                let class = class_of(def, |name| {
                    f.properties.get(name).and_then(|v| v.as_str()).unwrap_or("").to_owned()
                });
                let area = match &f.geometry {
                    Geometry::Polygon(p) => p.unsigned_area(),
                    Geometry::MultiPolygon(mp) => mp.unsigned_area(),
                    _ => 0.0,
                };
                *drawn.entry(class).or_default() += area;
            }
        }
        let bbox = tile_bounds_buffered(tile, 64, 4096);
        let features = rt
            .block_on(store.features(def, &FeatureQuery::in_bbox(bbox)))
            .expect("features");
        let mut exact: BTreeMap<String, f64> = BTreeMap::new();
        for f in &features {
            let Geometry::MultiPolygon(mp) = &f.geometry else {
                continue;
            };
            let area = agrimap_tiles::clip::clip_multi_polygon(&mp.map_coords(|c| projector.project_coord(c)), &clip)
                .unsigned_area();
            if area > 0.0 {
                let class = class_of(def, |name| def.text_of(f, name).unwrap_or("").to_owned());
                *exact.entry(class).or_default() += area;
            }
        }
        for (class, want) in &exact {
            let got = drawn.get(class).copied().unwrap_or(0.0);
            let error = (got - want).abs() / want;
            classes += 1;
            if error > 0.05 {
                over += 1;
            }
            let label = format!("{} {class}: {got:.0} of {want:.0}", def.id);
            if error > worst_any.0 {
                worst_any = (error, label.clone());
            }
            if *want >= SMALL_CLASS_SHARE * tile_area && error > worst.0 {
                worst = (error, label);
            }
        }
    }
    (worst, worst_any, over, classes)
}
