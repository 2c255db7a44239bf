//! The commune splits kept at write time over real boundaries: the 2025
//! communes of Cần Thơ (`../shared/data`, see its SOURCES.md) imported with
//! `agrimap boundaries import` into a store of each kind, a grid of
//! parcels written over them (many across commune boundaries, some off the
//! coast, in no commune), and the table grouped from the stored splits held
//! to the aggregation engine's over the same features, cell by cell; then
//! the same through `/api/stats`.

use agrimap_analysis::{Metric, Spec, Zones, aggregate, class_key, splits};
use agrimap_model::{Feature, FeatureQuery, Value, layer};
use agrimap_store::{GpkgStore, LayerStore, LayerWrite, PgStore, SplitQuery, Store, WriteBatch};
use agrimap_suite::{PgDatabase, StoreKind, TestServer, agrimap_bin, on_database, scratch_dir, shared_data};
use geo::{BoundingRect, Geometry, MultiPolygon, Rect, coord};
use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;

const CROPS: [&str; 3] = ["rice", "mango", "durian"];

/// Parcels of 0.004° to 0.008° a side every 0.012° over `extent`: the
/// grid does not follow the communes, so hundreds straddle a boundary.
fn parcels(extent: Rect<f64>) -> Vec<Feature> {
    let crop = layer("crop").expect("crop");
    let mut out = Vec::new();
    let (mut x, mut n) = (extent.min().x, 0_u32);
    while x < extent.max().x {
        let mut y = extent.min().y;
        while y < extent.max().y {
            let side = 0.004 + 0.001 * f64::from(n % 5);
            let shape = MultiPolygon::new(vec![
                Rect::new(coord! { x: x, y: y }, coord! { x: x + side, y: y + side }).to_polygon(),
            ]);
            let mut properties = vec![Value::Null; crop.fields.len()];
            let mut set = |f: &str, v: Value| properties[crop.field_index(f).expect("field")] = v;
            set("parcel_id", format!("CT-{n}").into());
            set("commune_code", "00000".into());
            set("boundary_set", "2025".into());
            set("crop_type", CROPS[n as usize % 3].into());
            set("season", "he_thu".into());
            set("area_ha", Value::Real(f64::from(n % 7) + 0.5));
            out.push(Feature {
                id: 0,
                geometry: Geometry::MultiPolygon(shape),
                properties,
            });
            n += 1;
            y += 0.012;
        }
        x += 0.012;
    }
    out
}

/// The box around every commune.
fn extent_of(communes: &[Feature]) -> Rect<f64> {
    communes
        .iter()
        .filter_map(|c| c.geometry.bounding_rect())
        .reduce(|a, b| {
            Rect::new(
                coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
                coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
            )
        })
        .expect("extent")
}

/// A table keyed by (commune, class key): values and features counted.
type Cells = HashMap<(String, String), (Vec<f64>, u64)>;

/// The engine's table over the features, and how many features it splits
/// across more than one commune.
fn engine_table(communes: &[Feature], features: &[Feature], spec: &Spec) -> (Cells, usize) {
    let l = layer("admin_commune").expect("layer");
    let text = |f: &Feature, name: &str| match &f.properties[l.field_index(name).expect("field")] {
        Value::Text(t) => t.clone(),
        _ => String::new(),
    };
    let zones = Zones::new(
        communes
            .iter()
            .filter_map(|c| match &c.geometry {
                Geometry::MultiPolygon(mp) => Some((
                    text(c, "code"),
                    text(c, "district_code"),
                    text(c, "province_code"),
                    mp.clone(),
                )),
                _ => None,
            })
            .collect(),
    );
    let (mut scratch, mut parts) = (Vec::new(), Vec::new());
    let straddling = features
        .iter()
        .filter(|f| {
            splits(&zones, &f.geometry, &mut scratch, &mut parts);
            parts.len() > 1
        })
        .count();
    let cells = aggregate(&zones, features, spec)
        .into_iter()
        .map(|((zone, class), cell)| ((zones.get(zone).code.clone(), class), (cell.values, cell.features)))
        .collect();
    (cells, straddling)
}

fn same_tables(kind: StoreKind) {
    let Some(tables) = real_tables(kind) else {
        return;
    };
    if let Some(db) = &tables.database {
        // The set a feature is coded by is not among the classes a split
        // carries (migration 0023): a recode must not rewrite every split.
        let carrying: i64 = agrimap_suite::on_database(&db.url, async |client| {
            client
                .query_one(
                    "SELECT count(*) FROM agrimap_feature_splits WHERE classes ? 'boundary_set'",
                    &[],
                )
                .await
                .expect("count")
                .get(0)
        });
        assert_eq!(carrying, 0);
    }
    // And through the API: the table the server answers is the engine's,
    // by a coded field and by the set the parcels are coded by.
    by_boundary_set_agrees(tables.store.clone(), &tables.engine);
    api_agrees(tables.store, &tables.engine);
}

/// `/api/stats` by `boundary_set` (every parcel is coded 2025) counts in
/// each commune what the engine counts there over all crop types.
fn by_boundary_set_agrees(store: Arc<dyn Store>, engine: &Cells) {
    let mut by_commune: std::collections::BTreeMap<&str, (f64, u64)> = std::collections::BTreeMap::new();
    for ((code, _), (values, features)) in engine {
        let cell = by_commune.entry(code.as_str()).or_default();
        cell.0 += values[0];
        cell.1 += features;
    }
    let server = TestServer::start(store);
    let reply = server.get(
        "/api/stats?layer=crop&by=commune&class=boundary_set&metric=area,count",
        &[],
    );
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let table = reply.json();
    let rows = table["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), by_commune.len());
    for row in rows {
        let code = row["code"].as_str().expect("code");
        assert_eq!(row["class"], "2025", "{row}");
        let (area, features) = by_commune[code];
        let answered = row["values"][0].as_f64().expect("area");
        assert!(
            (answered - area).abs() <= 1e-9 * area.max(1.0),
            "{code}: {answered} against {area}"
        );
        assert_eq!(row["features"].as_u64(), Some(features), "{code}");
    }
}

/// A store holding the 2025 communes of Cần Thơ and a grid of parcels over
/// them, with the engine's table of those parcels (area, count and sum of
/// `area_ha` by commune and crop type), checked against the store's.
struct RealTables {
    store: Arc<dyn Store>,
    engine: Cells,
    /// The PostGIS database, if the store is one (dropped with the tables).
    database: Option<PgDatabase>,
    parcels: usize,
}

fn real_tables(kind: StoreKind) -> Option<RealTables> {
    let can_tho = shared_data("can-tho-communes-2025.geojson")?;
    let dir = scratch_dir(&format!("splits-{}", kind.name()));
    let database = (kind == StoreKind::PostGis).then(|| PgDatabase::empty("splits_real"));
    let args: Vec<String> = match &database {
        Some(db) => vec!["--database".into(), db.url.clone()],
        None => vec!["--data-dir".into(), dir.display().to_string()],
    };
    let agrimap = |extra: &[&str]| {
        let out = Command::new(agrimap_bin())
            .args(extra)
            .args(&args)
            .env("AGRIMAP_SEED_DIR", agrimap_suite::demo_dir())
            .output()
            .expect("run agrimap");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    agrimap(&["init"]);
    let file = can_tho.display().to_string();
    agrimap(&["boundaries", "import", &file, "--set", "2025", "--province", "92"]);
    let store: Arc<dyn Store> = match &database {
        Some(db) => Arc::new(PgStore::connect(&db.url).expect("connect")),
        None => Arc::new(GpkgStore::open(&dir.join("agrimap.gpkg")).expect("open")),
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (crop, communes_layer) = (layer("crop").expect("crop"), layer("admin_commune").expect("communes"));
    let communes = rt
        .block_on(store.features(communes_layer, &FeatureQuery::default()))
        .expect("communes");
    assert_eq!(communes.len(), 103);
    let extent = extent_of(&communes);
    let written = parcels(extent);
    rt.block_on(store.write(WriteBatch {
        layers: vec![LayerWrite {
            layer: crop,
            replace: false,
            features: written.clone(),
        }],
        ..Default::default()
    }))
    .expect("parcels");
    let features = rt
        .block_on(store.features(crop, &FeatureQuery::default()))
        .expect("parcels back");
    assert_eq!(features.len(), written.len());

    let classes = vec![crop.field_index("crop_type").expect("field")];
    let metrics = vec![
        Metric::Area,
        Metric::Count,
        Metric::Sum(crop.field_index("area_ha").expect("field")),
    ];
    let (engine, straddling) = engine_table(
        &communes,
        &features,
        &Spec {
            classes: classes.clone(),
            metrics: metrics.clone(),
        },
    );
    let kept = rt
        .block_on(store.split_table(&SplitQuery {
            layer: crop,
            boundary_set: "2025".into(),
            province: None,
            classes,
            metrics,
        }))
        .expect("split table");
    let kept: Cells = kept
        .into_iter()
        .map(|r| ((r.commune_code, class_key(&r.classes)), (r.values, r.features)))
        .collect();
    let mut keys: Vec<_> = engine.keys().collect();
    keys.sort();
    assert_eq!(kept.len(), engine.len(), "cells");
    let mut counted = 0;
    for key in keys {
        let (values, features) = &engine[key];
        let (kept_values, kept_features) = kept.get(key).unwrap_or_else(|| panic!("no cell {key:?}"));
        assert_eq!(kept_features, features, "{key:?}");
        for (a, b) in values.iter().zip(kept_values) {
            assert!(
                (a - b).abs() <= 1e-9 * a.abs().max(1.0),
                "{key:?}: engine {a}, kept {b}"
            );
        }
        counted += features;
    }
    // The check means something: thousands of parcels lie in a commune,
    // and hundreds across a boundary.
    assert!(
        counted > 3_000 && straddling > 100,
        "{counted} parcels counted, {straddling} straddling"
    );
    assert!((counted as usize) < written.len(), "some parcels lie off the coast");
    Some(RealTables {
        store,
        engine,
        database,
        parcels: written.len(),
    })
}

/// `/api/stats` over the store answers the engine's table.
fn api_agrees(store: Arc<dyn Store>, engine: &Cells) {
    let server = TestServer::start(store);
    let reply = server.get(
        "/api/stats?layer=crop&by=commune&class=crop_type&metric=area,count",
        &[],
    );
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let table = reply.json();
    let rows = table["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), engine.len());
    for row in rows {
        let key = (
            row["code"].as_str().expect("code").to_owned(),
            row["class"].as_str().expect("class").to_owned(),
        );
        let (values, features) = &engine[&key];
        let area = row["values"][0].as_f64().expect("area");
        assert!((area - values[0]).abs() <= 1e-9 * values[0].max(1.0), "{key:?}");
        assert_eq!(row["features"].as_u64(), Some(*features), "{key:?}");
    }
}

#[test]
fn kept_splits_give_the_engines_table_over_real_communes_geopackage() {
    same_tables(StoreKind::GeoPackage);
}

#[test]
fn kept_splits_give_the_engines_table_over_real_communes_postgis() {
    same_tables(StoreKind::PostGis);
}

/// Parcels copied in by SQL, as a bulk load in psql would (every parcel
/// again under another id), wait for their splits; `agrimap splits
/// recompute` splits every feature and the table doubles, cell by cell.
#[test]
fn parcels_copied_in_by_sql_are_split_by_agrimap_splits_recompute() {
    let Some(tables) = real_tables(StoreKind::PostGis) else {
        return;
    };
    let url = tables.database.as_ref().expect("a PostGIS store").url.clone();
    on_database(&url, async |client| {
        client
            .batch_execute(
                "INSERT INTO crop (parcel_id, commune_code, boundary_set, crop_type, season, area_ha, province_code, geom)
                 SELECT 'SQL-' || parcel_id, commune_code, boundary_set, crop_type, season, area_ha, province_code, geom
                 FROM crop",
            )
            .await
            .expect("copy by SQL");
    });
    let pending = |url: &str| {
        on_database(url, async |client| {
            client
                .query_one("SELECT count(*) FROM agrimap_split_pending", &[])
                .await
                .expect("pending")
                .get::<_, i64>(0)
        })
    };
    assert_eq!(
        pending(&url) as usize,
        tables.parcels,
        "the copies wait for their splits"
    );

    let out = Command::new(agrimap_bin())
        .args(["splits", "recompute", "--database", &url])
        .output()
        .expect("run agrimap");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.starts_with(&format!("split {} features across the communes", 2 * tables.parcels)),
        "{stdout}"
    );
    assert_eq!(pending(&url), 0);

    let doubled: Cells = tables
        .engine
        .iter()
        .map(|(k, (values, features))| (k.clone(), (values.iter().map(|v| 2.0 * v).collect(), 2 * features)))
        .collect();
    api_agrees(tables.store, &doubled);
}

/// One commune of the 2025 set over a square of degrees.
fn commune(code: &str, extent: Rect<f64>) -> Feature {
    let communes = layer("admin_commune").expect("admin_commune");
    let mut properties = vec![Value::Null; communes.fields.len()];
    let mut set = |f: &str, v: Value| properties[communes.field_index(f).expect("field")] = v;
    set("code", code.into());
    set("name", format!("Xã {code}").into());
    set("province_code", "92".into());
    set("boundary_set", "2025".into());
    set("ntm_status", "not_yet".into());
    Feature {
        id: 0,
        geometry: Geometry::MultiPolygon(MultiPolygon::new(vec![extent.to_polygon()])),
        properties,
    }
}

/// Whether a session waits for a lock on one of the split tables.
async fn waits_on_splits(client: &tokio_postgres::Client) -> bool {
    client
        .query_one(
            "SELECT count(*) > 0 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
             WHERE NOT l.granted AND c.relname IN ('agrimap_split_pending', 'agrimap_feature_splits')",
            &[],
        )
        .await
        .expect("pg_locks")
        .get(0)
}

/// A change of the communes splits every feature again while a write of a
/// layer is under way (its features noted as pending, its splits still to
/// come). The two take the split tables in the same order, so the layer
/// write waits for the recomputation or the other way round; neither is
/// cancelled as a deadlock.
#[test]
fn a_commune_change_beside_a_layer_write_is_not_a_deadlock_postgis() {
    let db = PgDatabase::empty("splits_lock_order");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = Arc::new(agrimap::postgres::connect_and_migrate(&db.url).await.expect("migrate"));
        let connect = || async {
            let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            client
        };
        let (writer, watcher) = (connect().await, connect().await);
        // The layer write, as far as its triggers take it: its features are pending.
        writer
            .batch_execute("BEGIN; LOCK TABLE agrimap_split_pending IN ROW EXCLUSIVE MODE")
            .await
            .expect("a write under way");
        let change = {
            let store = store.clone();
            tokio::spawn(async move {
                let square = Rect::new(coord! { x: 105.7, y: 10.0 }, coord! { x: 105.8, y: 10.1 });
                store
                    .write(WriteBatch {
                        layers: vec![LayerWrite {
                            layer: layer("admin_commune").expect("admin_commune"),
                            replace: false,
                            features: vec![commune("31001", square)],
                        }],
                        ..Default::default()
                    })
                    .await
            })
        };
        // Until the recomputation has finished, or waits for the layer write.
        let deadline = std::time::Instant::now() + std::time::Duration::from_mins(1);
        while !change.is_finished() && !waits_on_splits(&watcher).await {
            assert!(
                std::time::Instant::now() < deadline,
                "the commune change neither ended nor waited"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // The layer write goes on to store its splits, and commits.
        writer
            .batch_execute("LOCK TABLE agrimap_feature_splits IN ROW EXCLUSIVE MODE; COMMIT")
            .await
            .expect("the layer write is not cancelled");
        change
            .await
            .expect("task")
            .expect("the commune change is not cancelled");
    });
}
