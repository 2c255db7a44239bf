//! The first look at an edited area at a low zoom, with and without the
//! background redrawing of `agrimap serve` (issue 19, item 1): for parcels
//! at several places of the province, the composite tile (crop and
//! aquaculture) over each at z10, z11 and z12 is drawn and its coalesced
//! layers kept; then one parcel there changes crop, and
//!
//! - **first draw**: the tile is asked for at once, as a request racing
//!   the write would be: every parcel it reaches read and merged again;
//! - after a second change of the same parcel, **redraw**: what the server's
//!   background task does right after the write
//!   ([`TileService::redraw_forgotten`]), timed; that is how long after a
//!   write the tiles it reached are kept again;
//! - **after redraw**: the tile asked for then, from what was kept.
//!
//! The store is changed (each parcel ends with its crop of the start), so
//! give it a copy: `AGRIMAP_REDRAW_STORE=/tmp/copy.gpkg` (a GeoPackage, e.g.
//! seeded from `agrimap demo-data --parcels 2000000`) or
//! `AGRIMAP_REDRAW_DATABASE=postgres://…`. `AGRIMAP_REDRAW_PLACES` (8)
//! parcels, spread over the province's extent. Does nothing without a store.
//!
//! Run: `AGRIMAP_REDRAW_STORE=/tmp/copy.gpkg cargo bench --bench redraw`.

use agrimap_core::metrics::CoreMetrics;
use agrimap_core::tiles::TileService;
use agrimap_model::{Feature, FeatureQuery, Value, layer};
use agrimap_store::{GpkgStore, PgStore, Store, Upsert};
use agrimap_tiles::tile_containing;
use geo::{BoundingRect, Rect, coord};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn open_store(rt: &tokio::runtime::Runtime) -> Option<Arc<dyn Store>> {
    if let Ok(url) = std::env::var("AGRIMAP_REDRAW_DATABASE") {
        let store = PgStore::connect(&url).expect("database");
        rt.block_on(store.migrate()).expect("migrate");
        return Some(Arc::new(store));
    }
    let path = std::env::var_os("AGRIMAP_REDRAW_STORE")?;
    Some(Arc::new(GpkgStore::open(std::path::Path::new(&path)).expect("store")))
}

/// One parcel near each of `n` points spread over the province's extent
/// (a grid across its middle band, where the parcels are).
async fn parcels(store: &dyn Store, n: usize) -> Vec<Feature> {
    let province = store
        .features(layer("admin_province").expect("layer"), &FeatureQuery::default())
        .await
        .expect("province");
    let extent = province[0].geometry.bounding_rect().expect("extent");
    let crop = layer("crop").expect("crop");
    let mut found = Vec::new();
    for i in 0..n {
        let t = (i as f64 + 0.5) / n as f64;
        let x = extent.min().x + extent.width() * (0.2 + 0.6 * t);
        let y = extent.min().y + extent.height() * (0.35 + 0.3 * ((i * 7 % n) as f64 / n as f64));
        let around = Rect::new(coord! { x: x - 0.01, y: y - 0.01 }, coord! { x: x + 0.01, y: y + 0.01 });
        let query = FeatureQuery {
            bbox: Some(around),
            limit: Some(1),
            ..FeatureQuery::default()
        };
        if let Some(parcel) = store.features(crop, &query).await.expect("parcels").into_iter().next() {
            found.push(parcel);
        }
    }
    found
}

/// The parcel with `crop_type` set to `to`, written by its natural key.
async fn recode(store: &dyn Store, parcel: &Feature, to: &str) {
    let crop = layer("crop").expect("crop");
    let mut changed = parcel.clone();
    changed.properties[crop.field_index("crop_type").expect("field")] = Value::from(to);
    store
        .upsert(Upsert {
            layer: crop,
            features: vec![changed],
            update: vec!["crop_type"],
        })
        .await
        .expect("recode");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summary(mut v: Vec<f64>) -> String {
    v.sort_by(f64::total_cmp);
    let p = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    format!("{:.0} / {:.0} ms", p(0.5), p(1.0))
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(store) = open_store(&rt) else {
        eprintln!("neither AGRIMAP_REDRAW_STORE nor AGRIMAP_REDRAW_DATABASE is set: nothing to measure");
        return;
    };
    let places: usize = std::env::var("AGRIMAP_REDRAW_PLACES").map_or(8, |v| v.parse().expect("a number"));
    let tiles = TileService::new(store.clone(), 0, CoreMetrics::default());
    let layers = [layer("crop").expect("crop"), layer("aquaculture").expect("aquaculture")];
    let crop_type = layer("crop").expect("crop").field_index("crop_type").expect("field");
    rt.block_on(async {
        let parcels = parcels(store.as_ref(), places).await;
        println!("{} parcels, zooms 10-12, composite crop+aquaculture", parcels.len());
        let (mut first, mut redraw, mut after, mut kept_per_write) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for parcel in &parcels {
            let point = parcel.geometry.bounding_rect().expect("box").center();
            let coords: Vec<_> = (10..=12).map(|z| tile_containing(point.x, point.y, z)).collect();
            let Value::Text(start) = parcel.properties[crop_type].clone() else {
                continue;
            };
            let other = if start == "lotus" { "rice" } else { "lotus" };
            for &c in &coords {
                tiles.render(&layers, c).await.expect("tile");
            }
            // Nothing listed from earlier places.
            tiles.redraw_forgotten(usize::MAX).await.expect("redraw");

            recode(store.as_ref(), parcel, other).await;
            for &c in &coords {
                let t0 = Instant::now();
                tiles.render(&layers, c).await.expect("tile");
                first.push(ms(t0.elapsed()));
            }
            recode(store.as_ref(), parcel, &start).await;
            let t0 = Instant::now();
            let done = tiles.redraw_forgotten(usize::MAX).await.expect("redraw");
            redraw.push(ms(t0.elapsed()));
            kept_per_write.push((done.drawn, done.kept));
            for &c in &coords {
                let t0 = Instant::now();
                tiles.render(&layers, c).await.expect("tile");
                after.push(ms(t0.elapsed()));
            }
        }
        println!("| what | median / max |");
        println!("|---|---|");
        println!(
            "| a tile asked for right after the write (first draw) | {} |",
            summary(first)
        );
        let (drawn, kept): (usize, usize) = kept_per_write.iter().fold((0, 0), |(d, k), (a, b)| (d + a, k + b));
        println!(
            "| the background redraw after one write ({drawn} tile layers drawn over {} writes, {kept} kept) | {} |",
            kept_per_write.len(),
            summary(redraw)
        );
        println!(
            "| a tile asked for after the redraw (kept layers) | {} |",
            summary(after)
        );
    });
}
