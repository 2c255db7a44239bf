//! The first look at an edited area at a low zoom, with and without the
//! background redrawing of `agrimap serve` (issue 19, item 1): for parcels
//! at several places of the province, the composite tile (crop and
//! aquaculture) over each at z10 to z13 is drawn and its layers kept (the
//! coalesced ones below z13 with their edges, z13's whole); then one parcel
//! there changes crop, and the nearest pond its species, and
//!
//! - **first draw**: the tile is asked for at once, as a request racing
//!   the background redraw would be: each coalesced layer taken up from its
//!   kept edges and the write's changes, z13's layers read again;
//! - after a second change of the same features, **redraw**: what the
//!   server's background task does right after the write
//!   ([`TileService::redraw_forgotten`]), timed; that is how long after a
//!   write the tiles it reached are kept again;
//! - **after redraw**: the tile asked for then, from what was kept.
//!
//! The store is changed (each feature ends with its class of the start), so
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
/// (a grid across its middle band, where the parcels are), and the pond
/// nearest to it when there is one within about a kilometre.
async fn places(store: &dyn Store, n: usize) -> Vec<(Feature, Option<Feature>)> {
    let province = store
        .features(layer("admin_province").expect("layer"), &FeatureQuery::default())
        .await
        .expect("province");
    let extent = province[0].geometry.bounding_rect().expect("extent");
    let (crop, ponds) = (layer("crop").expect("crop"), layer("aquaculture").expect("aquaculture"));
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
            let pond = store.features(ponds, &query).await.expect("ponds").into_iter().next();
            found.push((parcel, pond));
        }
    }
    found
}

/// The feature with `field` set to `to`, written by its natural key.
async fn recode(store: &dyn Store, layer_id: &str, feature: &Feature, field: &str, to: &str) {
    let def = layer(layer_id).expect("layer");
    let mut changed = feature.clone();
    changed.properties[def.field_index(field).expect("field")] = Value::from(to);
    store
        .upsert(Upsert {
            layer: def,
            features: vec![changed],
            update: vec![def.fields[def.field_index(field).expect("field")].name],
            insert_new: true,
        })
        .await
        .expect("recode");
}

/// Changes the parcel's crop (and the pond's species) to the other of two
/// values, or back to where they started (`back`).
async fn change(store: &dyn Store, (parcel, pond): &(Feature, Option<Feature>), back: bool) {
    let value = |f: &Feature, layer_id: &str, field: &str| {
        let def = layer(layer_id).expect("layer");
        f.properties[def.field_index(field).expect("field")]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let start = value(parcel, "crop", "crop_type");
    let other = if start == "lotus" { "rice" } else { "lotus" };
    recode(store, "crop", parcel, "crop_type", if back { &start } else { other }).await;
    if let Some(pond) = pond {
        let start = value(pond, "aquaculture", "species");
        let other = if start == "whiteleg_shrimp" {
            "black_tiger_shrimp"
        } else {
            "whiteleg_shrimp"
        };
        recode(store, "aquaculture", pond, "species", if back { &start } else { other }).await;
    }
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
    let n: usize = std::env::var("AGRIMAP_REDRAW_PLACES").map_or(8, |v| v.parse().expect("a number"));
    let tiles = TileService::new(store.clone(), 0, CoreMetrics::default());
    let layers = [layer("crop").expect("crop"), layer("aquaculture").expect("aquaculture")];
    rt.block_on(async {
        let places = places(store.as_ref(), n).await;
        let ponds = places.iter().filter(|(_, pond)| pond.is_some()).count();
        println!(
            "{} parcels and {ponds} ponds beside them, zooms 10-13, composite crop+aquaculture",
            places.len()
        );
        let (mut first, mut redraw, mut after, mut kept_per_write) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for place in &places {
            let point = place.0.geometry.bounding_rect().expect("box").center();
            let coords: Vec<_> = (10..=13).map(|z| tile_containing(point.x, point.y, z)).collect();
            for &c in &coords {
                tiles.render(&layers, c).await.expect("tile");
            }
            // Nothing listed from earlier places.
            tiles.redraw_forgotten(usize::MAX).await.expect("redraw");

            change(store.as_ref(), place, false).await;
            for &c in &coords {
                let t0 = Instant::now();
                tiles.render(&layers, c).await.expect("tile");
                first.push((c.z, ms(t0.elapsed())));
            }
            change(store.as_ref(), place, true).await;
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
        for (zooms, what) in [
            (10..=12, "z10-z12, taken up from kept edges"),
            (13..=13, "z13, read again"),
        ] {
            let of_zooms = first
                .iter()
                .filter(|(z, _)| zooms.contains(z))
                .map(|&(_, t)| t)
                .collect();
            println!(
                "| a tile asked for right after the write (first draw; {what}) | {} |",
                summary(of_zooms)
            );
        }
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
