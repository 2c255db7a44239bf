//! The GeoPackage and PostGIS stores, loaded with the same demo province,
//! answer the same: same tiles, same counts by commune, same features.

use agrimap_model::{Audience, FeatureQuery, Filter, catalog, layer};
use agrimap_suite::StoreKind;
use agrimap_tiles::mvt::decode;
use agrimap_tiles::tile_containing;

const ALL: &str =
    "admin_province,admin_district,admin_commune,water,roads,places,crop,aquaculture,monitoring,growing_area,ocop";

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

#[test]
fn same_tiles_counts_and_features() {
    let gpkg = StoreKind::GeoPackage.demo_server("agree_gpkg");
    let pg = StoreKind::PostGis.demo_server("agree_pg");
    let manifest = agrimap_demo::read_manifest(&agrimap_suite::demo_dir()).expect("manifest");
    let [cx, cy] = manifest.center;

    // Tiles: decoded layer by layer, feature by feature.
    let mut compared = 0;
    for (dx, dy) in [(0.0, 0.0), (0.05, 0.03), (-0.1, 0.08), (0.12, -0.1)] {
        for z in [8, 10, 12, 14, 16] {
            let t = tile_containing(cx + dx, cy + dy, z);
            let path = format!("/tiles/{ALL}/{}/{}/{}.mvt", t.z, t.x, t.y);
            let (a, b) = (gpkg.get(&path, &[]), pg.get(&path, &[]));
            assert_eq!(a.status, b.status, "{path}");
            if a.status != 200 {
                continue;
            }
            // Below the legible zoom parcels and ponds are merged: whatever
            // order the rows came in, the very bytes agree.
            if z < agrimap_model::LEGIBLE_ZOOM {
                assert!(a.body == b.body, "{path}: the same bytes from both stores");
            }
            let (la, lb) = (decode(&a.body).expect("gpkg tile"), decode(&b.body).expect("pg tile"));
            assert_eq!(la.len(), lb.len(), "{path}: layers");
            for (x, y) in la.iter().zip(&lb) {
                assert_eq!(x.name, y.name, "{path}");
                let ids = |l: &agrimap_tiles::DecodedLayer| l.features.iter().map(|f| f.id).collect::<Vec<_>>();
                assert_eq!(ids(x), ids(y), "{path} {}: features", x.name);
                for (f, g) in x.features.iter().zip(&y.features) {
                    assert_eq!((f.id, &f.properties), (g.id, &g.properties), "{path} {}", x.name);
                    assert_eq!(f.geometry, g.geometry, "{path} {} feature {:?}", x.name, f.id);
                }
                compared += x.features.len();
            }
        }
    }
    assert!(compared > 1_000, "compared only {compared} tile features");

    // Counts by commune and filters, and whole features with restricted fields.
    let communes = block_on(
        gpkg.store
            .features(layer("admin_commune").expect("layer"), &FeatureQuery::default()),
    )
    .expect("communes");
    for c in communes.iter().step_by(7) {
        let code = c.properties[0].as_str().expect("code").to_owned();
        for l in catalog().iter().filter(|l| l.has_commune()) {
            let q = FeatureQuery {
                commune: Some(code.clone()),
                ..FeatureQuery::default()
            };
            let (x, y) = (
                block_on(gpkg.store.count(l, &q)).expect("count"),
                block_on(pg.store.count(l, &q)).expect("count"),
            );
            assert_eq!(x, y, "{} in {code}", l.id);
        }
    }
    let crop = layer("crop").expect("crop");
    let rice_vietgap = FeatureQuery {
        filter: Some(Filter::And(vec![
            Filter::eq("crop_type", "rice"),
            Filter::eq("practice", "vietgap"),
        ])),
        audience: Audience::Full,
        limit: Some(500),
        offset: 100,
        ..FeatureQuery::default()
    };
    let (x, y) = (
        block_on(gpkg.store.features(crop, &rice_vietgap)).expect("gpkg"),
        block_on(pg.store.features(crop, &rice_vietgap)).expect("pg"),
    );
    assert_eq!(x.len(), 500);
    assert_eq!(x, y, "the same parcels with every field, restricted ones included");

    let stations = block_on(gpkg.store.readings("WQ-01")).expect("readings");
    assert_eq!(stations, block_on(pg.store.readings("WQ-01")).expect("readings"));
    assert_eq!(stations.len(), 4 * 30 * 24);
}

/// The past: the same versions, whole, at days across the history, and the
/// same tiles of it.
#[test]
fn the_same_past() {
    let gpkg = StoreKind::GeoPackage.demo_server("agree_past_gpkg");
    let pg = StoreKind::PostGis.demo_server("agree_past_pg");
    let manifest = agrimap_demo::read_manifest(&agrimap_suite::demo_dir()).expect("manifest");
    let [cx, cy] = manifest.center;
    for as_of in [
        "2024-01-01T00:00:00Z",
        "2024-09-30T12:00:00Z",
        "2025-06-15T00:00:00Z",
        "2026-10-31T23:59:59Z",
    ] {
        let at = agrimap_model::UtcTime::parse(as_of).expect("time");
        for l in catalog().iter().filter(|l| l.versioned()) {
            let q = FeatureQuery {
                as_of: Some(at),
                audience: Audience::Full,
                ..FeatureQuery::default()
            };
            let (in_gpkg, in_pg) = (
                block_on(gpkg.store.features(l, &q)).expect("gpkg"),
                block_on(pg.store.features(l, &q)).expect("pg"),
            );
            assert_eq!(in_gpkg.len(), in_pg.len(), "{} as of {as_of}", l.id);
            assert!(in_gpkg == in_pg, "{} as of {as_of}: the same versions", l.id);
        }
        for (dx, dy) in [(0.0, 0.0), (0.12, -0.1)] {
            let t = tile_containing(cx + dx, cy + dy, 14);
            let path = format!("/tiles/crop,aquaculture/{}/{}/{}.mvt?as_of={as_of}", t.z, t.x, t.y);
            let (tile_gpkg, tile_pg) = (gpkg.get(&path, &[]), pg.get(&path, &[]));
            assert_eq!(tile_gpkg.status, tile_pg.status, "{path}");
            if tile_gpkg.status == 200 {
                assert_eq!(
                    decode(&tile_gpkg.body).expect("gpkg"),
                    decode(&tile_pg.body).expect("pg"),
                    "{path}"
                );
            }
        }
    }
}
