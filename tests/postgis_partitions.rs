//! Many provinces in one PostGIS database (issue 19): the thematic tables
//! are partitioned by province. Two real provinces (the 2025 Cần Thơ and
//! Đồng Tháp boundaries of `../shared/data`) with parcels in each, loaded
//! together into one database and each alone into another: reads, tiles,
//! statistics and exports of one province are the same in both; a read of
//! one province touches its partition only; a feature whose province has no
//! partition is refused with its whole write; a recode moves a parcel to the
//! other province's partition with one history row; a populated database of
//! schema 12 is migrated.

use agrimap_model::{BoundarySet, CompareOp, Feature, FeatureQuery, Filter, Value, layer};
use agrimap_store::{LayerStore as _, LayerWrite, PgStore, StoreError, WriteBatch};
use agrimap_suite::{PgDatabase, TestServer, agrimap_bin, demo_dir, on_database, shared_data};
use geo::{InteriorPoint, MultiPolygon, Point, polygon};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

const CAN_THO: &str = "92";
const DONG_THAP: &str = "82";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

fn agrimap(url: &str, args: &[&str]) -> Output {
    Command::new(agrimap_bin())
        .args(args)
        .args(["--database", url])
        .env("AGRIMAP_SEED_DIR", demo_dir())
        .output()
        .expect("run agrimap")
}

fn ok(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "agrimap failed: {err}");
    String::from_utf8_lossy(&out.stdout).into_owned() + &err
}

/// The two real 2025 files, or `None` without `../shared/data`.
fn real_files() -> Option<[(PathBuf, &'static str); 2]> {
    Some([
        (shared_data("can-tho-communes-2025.geojson")?, CAN_THO),
        (shared_data("dong-thap-communes-2025.geojson")?, DONG_THAP),
    ])
}

/// Each commune of a boundary file: its code and a point inside it.
fn communes_of(file: &Path) -> Vec<(String, Point<f64>)> {
    let doc: Json = serde_json::from_slice(&std::fs::read(file).expect("read")).expect("json");
    doc["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter_map(|f| {
            let code = f["properties"]["code"].as_str()?.to_owned();
            let g: geojson::Geometry = serde_json::from_value(f["geometry"].clone()).expect("geometry");
            let shape = geo::Geometry::<f64>::try_from(g).expect("geo");
            Some((code, shape.interior_point()?))
        })
        .collect()
}

/// The demo's parcels, whose attributes the parcels of the real provinces borrow.
fn templates() -> Vec<Feature> {
    let batch = agrimap::seed::demo_batch(&demo_dir()).expect("demo batch");
    batch
        .layers
        .into_iter()
        .find(|w| w.layer.id == "crop")
        .expect("demo crop")
        .features
}

/// Three small parcels near the inside point of every commune of a province.
fn parcels(file: &Path, province: &str) -> Vec<Feature> {
    let crop = layer("crop").expect("crop");
    let templates = templates();
    let mut out = Vec::new();
    for (n, (code, p)) in communes_of(file).into_iter().enumerate() {
        for k in 0..3 {
            let (x, y) = (p.x() + f64::from(k) * 0.0005, p.y());
            let square =
                polygon![(x: x, y: y), (x: x + 0.0004, y: y), (x: x + 0.0004, y: y + 0.0004), (x: x, y: y + 0.0004)];
            let mut properties = templates[(n * 3 + usize::try_from(k).expect("k")) % templates.len()]
                .properties
                .clone();
            let mut set = |name: &str, v: Value| properties[crop.field_index(name).expect("field")] = v;
            set("parcel_id", Value::from(format!("P{province}-{code}-{k}").as_str()));
            set("commune_code", Value::from(code.as_str()));
            set("boundary_set", Value::from("2025"));
            set("former_commune_code", Value::Null);
            out.push(Feature {
                id: 0,
                geometry: geo::Geometry::MultiPolygon(MultiPolygon::new(vec![square])),
                properties,
            });
        }
    }
    out
}

fn write_crop(store: &PgStore, features: Vec<Feature>) -> Result<(), StoreError> {
    let batch = WriteBatch {
        layers: vec![LayerWrite {
            layer: layer("crop").expect("crop"),
            replace: false,
            features,
        }],
        ..Default::default()
    };
    rt().block_on(store.write(batch)).map(drop)
}

/// A database with the boundaries of `files` and three parcels in each of their communes.
fn provinces_db(test: &str, files: &[&(PathBuf, &'static str)]) -> PgDatabase {
    let db = PgDatabase::empty(test);
    ok(&agrimap(&db.url, &["init"]));
    for (file, province) in files {
        let said = ok(&agrimap(
            &db.url,
            &[
                "boundaries",
                "import",
                &file.display().to_string(),
                "--set",
                "2025",
                "--province",
                province,
            ],
        ));
        assert!(said.contains("added"), "{said}");
    }
    let store = db.store();
    for (file, province) in files {
        write_crop(&store, parcels(file, province)).expect("parcels");
    }
    db
}

fn query(url: &str, sql: &str) -> Vec<tokio_postgres::Row> {
    on_database(url, async |client| {
        client.query(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
    })
}

fn count(url: &str, sql: &str) -> i64 {
    query(url, sql)[0].get(0)
}

/// A JSON answer without what differs between databases by construction:
/// feature ids (sequence numbers) and links that carry them; features sorted.
fn comparable(mut doc: Json) -> Json {
    if let Some(features) = doc.get_mut("features").and_then(Json::as_array_mut) {
        for f in features.iter_mut() {
            if let Some(o) = f.as_object_mut() {
                o.remove("id");
                o.remove("links");
            }
        }
        features.sort_by_key(|f| f["properties"]["parcel_id"].as_str().unwrap_or_default().to_owned());
    }
    if let Some(o) = doc.as_object_mut() {
        o.remove("links");
        o.remove("timeStamp");
    }
    doc
}

fn get_json(server: &TestServer, path: &str) -> Json {
    let r = server.get(path, &[]);
    assert_eq!(r.status, 200, "{path}: {}", String::from_utf8_lossy(&r.body));
    r.json()
}

/// The decoded features of a tile, ids left out, in a stable order.
fn tile(server: &TestServer, z: u32, x: u32, y: u32) -> Vec<String> {
    let r = server.get(&format!("/tiles/crop/{z}/{x}/{y}.mvt"), &[]);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let mut out: Vec<String> = agrimap_tiles::mvt::decode(&r.decoded_body())
        .expect("tile decodes")
        .into_iter()
        .flat_map(|l| {
            l.features
                .into_iter()
                .map(move |f| format!("{} {:?} {:?}", l.name, f.properties, f.geometry))
        })
        .collect();
    out.sort();
    out
}

/// The z/x/y of the tile holding a point.
fn tile_of(point: Point<f64>, zoom: u32) -> (u32, u32) {
    let tiles = f64::from(1u32 << zoom);
    let column = (point.x() + 180.0) / 360.0 * tiles;
    let lat = point.y().to_radians();
    let row = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * tiles;
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "tile numbers are small and positive"
    )]
    (column.floor() as u32, row.floor() as u32)
}

/// What a client sees of province `code`: `/ogc` items, a tile, a statistics table and an export.
fn province_view(server: &TestServer, file: &Path, code: &str) -> Vec<Json> {
    let items = comparable(get_json(
        server,
        &format!("/ogc/collections/crop/items?province={code}&limit=1000"),
    ));
    assert!(items["features"].as_array().expect("features").len() > 250, "{code}");
    // The tile of the province's southernmost commune, at a zoom where
    // parcels are drawn one by one.
    let south = communes_of(file)
        .into_iter()
        .map(|(_, p)| p)
        .min_by(|a, b| a.y().total_cmp(&b.y()))
        .expect("communes");
    let (x, y) = tile_of(south, 14);
    let drawn = tile(server, 14, x, y);
    assert!(!drawn.is_empty(), "{code}: the tile draws the parcels");
    let stats = get_json(
        server,
        &format!("/api/stats?layer=crop&by=commune&class=crop_type&metric=area&province={code}"),
    );
    let export = comparable(get_json(server, &format!("/api/export/crop.geojson?province={code}")));
    vec![items, Json::from(drawn), stats, export]
}

#[test]
fn each_province_reads_the_same_alone_and_together() {
    let Some([can_tho, dong_thap]) = real_files() else {
        return;
    };
    let both = provinces_db("parts_both", &[&can_tho, &dong_thap]);
    let can_tho_alone = provinces_db("parts_can_tho", &[&can_tho]);
    let dong_thap_alone = provinces_db("parts_dong_thap", &[&dong_thap]);
    // Each province's parcels sit in its own partition.
    let placed = query(
        &both.url,
        "SELECT tableoid::regclass::text, count(*) FROM crop GROUP BY 1 ORDER BY 1",
    );
    let placed: Vec<(String, i64)> = placed.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        placed,
        vec![("crop_p82".to_owned(), 102 * 3), ("crop_p92".to_owned(), 103 * 3)]
    );

    let server = |db: &PgDatabase| TestServer::start(Arc::new(db.store()));
    let (both_server, can_tho_server, dong_thap_server) =
        (server(&both), server(&can_tho_alone), server(&dong_thap_alone));
    for (alone, (file, code)) in [(&can_tho_server, &can_tho), (&dong_thap_server, &dong_thap)] {
        let together = province_view(&both_server, file, code);
        let by_itself = province_view(alone, file, code);
        for (what, (a, b)) in ["items", "tile", "stats", "export"]
            .iter()
            .zip(together.iter().zip(&by_itself))
        {
            assert!(a == b, "{code} {what}: together {a}\nalone {b}");
        }
    }

    // A read of one province plans a scan of its partition (and of the one
    // of features of no known province), never of the other province's.
    let store = both.store();
    let communes = |file: &Path| -> Vec<Value> {
        communes_of(file)
            .into_iter()
            .map(|(c, _)| Value::from(c.as_str()))
            .collect()
    };
    let of_can_tho = FeatureQuery {
        provinces: vec![CAN_THO.to_owned()],
        filter: Some(Filter::And(vec![
            Filter::Compare {
                field: "boundary_set".to_owned(),
                op: CompareOp::Eq,
                value: Value::from("2025"),
            },
            Filter::In {
                field: "commune_code".to_owned(),
                values: communes(&can_tho.0),
            },
        ])),
        limit: Some(100),
        ..FeatureQuery::default()
    };
    let crop = layer("crop").expect("crop");
    let plan = rt().block_on(store.plan(crop, &of_can_tho)).expect("plan");
    assert!(plan.contains("crop_p92"), "{plan}");
    assert!(!plan.contains("crop_p82"), "{plan}");
    // Without the province, both are read.
    let plan = rt()
        .block_on(store.plan(
            crop,
            &FeatureQuery {
                provinces: Vec::new(),
                ..of_can_tho
            },
        ))
        .expect("plan");
    assert!(plan.contains("crop_p92") && plan.contains("crop_p82"), "{plan}");
}

#[test]
fn a_feature_without_its_partition_is_refused_with_its_whole_write() {
    let Some([can_tho, dong_thap]) = real_files() else {
        return;
    };
    let db = provinces_db("parts_missing", &[&can_tho, &dong_thap]);
    let before = count(&db.url, "SELECT count(*) FROM crop");
    // An operator detaches Đồng Tháp's parcels (to archive them, say).
    query(&db.url, "ALTER TABLE crop DETACH PARTITION crop_p82");
    let mut batch = parcels(&can_tho.0, CAN_THO);
    batch.truncate(5);
    for f in &mut batch {
        let crop = layer("crop").expect("crop");
        let id = crop.field_index("parcel_id").expect("field");
        f.properties[id] = Value::from(format!("NEW-{:?}", f.properties[id]).as_str());
    }
    batch.extend(parcels(&dong_thap.0, DONG_THAP).into_iter().take(1));
    let err = write_crop(&db.store(), batch).expect_err("a province without its partition");
    assert!(
        matches!(&err, StoreError::NoPartition { layer, province } if layer == "crop" && province == DONG_THAP),
        "{err:?}"
    );
    assert!(err.to_string().contains("province '82'"), "{err}");
    // Nothing of the batch landed, not even the parcels of Cần Thơ.
    assert_eq!(count(&db.url, "SELECT count(*) FROM crop"), before - 102 * 3);

    // Through the command line: a clear message and a failure.
    let file = agrimap_suite::scratch_dir("parts-missing").join("parcels.geojson");
    let crop = layer("crop").expect("crop");
    let features: Vec<Json> = parcels(&dong_thap.0, DONG_THAP)
        .into_iter()
        .take(2)
        .map(|f| {
            let props: serde_json::Map<String, Json> = crop
                .fields
                .iter()
                .zip(&f.properties)
                .map(|(d, v)| {
                    let v = match v {
                        Value::Text(s) => Json::from(s.as_str()),
                        Value::Int(i) => Json::from(*i),
                        Value::Real(r) => Json::from(*r),
                        Value::Bool(b) => Json::from(*b),
                        Value::Null => Json::Null,
                    };
                    (d.name.to_owned(), v)
                })
                .collect();
            let g = geojson::Geometry::from(&f.geometry);
            serde_json::json!({"type": "Feature", "properties": props, "geometry": g})
        })
        .collect();
    std::fs::write(
        &file,
        serde_json::to_vec(&serde_json::json!({"type": "FeatureCollection", "features": features})).expect("json"),
    )
    .expect("write");
    let out = agrimap(&db.url, &["import", &file.display().to_string(), "--layer", "crop"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("no partition for province '82'"), "{err}");
    assert_eq!(count(&db.url, "SELECT count(*) FROM crop"), before - 102 * 3);
    // Attached again, its parcels come back and the write goes through.
    query(
        &db.url,
        "ALTER TABLE crop ATTACH PARTITION crop_p82 FOR VALUES IN ('82')",
    );
    assert_eq!(count(&db.url, "SELECT count(*) FROM crop"), before);
    ok(&agrimap(
        &db.url,
        &["import", &file.display().to_string(), "--layer", "crop"],
    ));
}

#[test]
fn a_recode_moves_a_parcel_to_the_other_province() {
    let Some([can_tho, dong_thap]) = real_files() else {
        return;
    };
    let db = provinces_db("parts_recode", &[&can_tho, &dong_thap]);
    let store = db.store();
    let crop = layer("crop").expect("crop");
    let row = &query(
        &db.url,
        "SELECT fid, commune_code FROM crop WHERE province_code = '92' ORDER BY fid LIMIT 1",
    )[0];
    let (fid, read): (i64, Option<String>) = (row.get(0), row.get(1));
    // A recode restamps parcels coded by the communes of before.
    query(
        &db.url,
        &format!("UPDATE crop SET boundary_set = 'pre-2025' WHERE fid = {fid}"),
    );
    let kept_before = count(&db.url, &format!("SELECT count(*) FROM crop_history WHERE fid = {fid}"));
    let target = communes_of(&dong_thap.0)[0].0.clone();
    let restamp = agrimap_store::Restamp {
        id: fid,
        read,
        code: target.clone(),
    };
    let n = rt()
        .block_on(store.restamp_communes(crop, BoundarySet::Y2025, vec![restamp]))
        .expect("recode");
    assert_eq!(n, 1);
    let row = &query(
        &db.url,
        &format!("SELECT tableoid::regclass::text, province_code, commune_code FROM crop WHERE fid = {fid}"),
    )[0];
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, String>(1),
            row.get::<_, String>(2)
        ),
        ("crop_p82".to_owned(), DONG_THAP.to_owned(), target)
    );
    // The version it replaced is kept once, not once for the update and
    // again for the delete PostgreSQL moves it with.
    assert_eq!(
        count(&db.url, &format!("SELECT count(*) FROM crop_history WHERE fid = {fid}")),
        kept_before + 1
    );
    // And the store reads it where it now is.
    let back = rt()
        .block_on(store.feature(crop, fid, agrimap_model::Audience::Full))
        .expect("read")
        .expect("found");
    assert_eq!(back.id, fid);
}

/// Schema 12 exactly as releases before 0014 made it, with two communes of
/// two provinces, a parcel in each, one of a commune the store has no
/// boundaries of, and one version in the history.
fn schema_12_with_parcels(db: &PgDatabase) {
    let dir = agrimap_suite::repo_root().join("crates/agrimap-store/src/postgis/migrations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("migrations")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.as_bytes()[..4].iter().all(u8::is_ascii_digit) && &name[..4] <= "0012" && !name.contains("header")
        })
        .collect();
    files.sort();
    assert_eq!(files.len(), 12);
    on_database(&db.url, async |client| {
        client
            .batch_execute(
                "SET client_min_messages = warning;
                 CREATE TABLE agrimap_migrations (version integer PRIMARY KEY, name text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now());",
            )
            .await
            .expect("migrations table");
        for (k, f) in files.iter().enumerate() {
            client
                .batch_execute(&std::fs::read_to_string(f).expect("sql"))
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let version = i32::try_from(k + 1).expect("version");
            client
                .execute(
                    "INSERT INTO agrimap_migrations (version, name) VALUES ($1, 'old')",
                    &[&version],
                )
                .await
                .expect("record");
        }
        client
            .batch_execute(
                "INSERT INTO admin_commune (geom, code, name, province_code, boundary_set) VALUES
                   (ST_GeomFromText('MULTIPOLYGON(((105.7 10,105.8 10,105.8 10.1,105.7 10)))', 4326), '31120', 'A', '92', '2025'),
                   (ST_GeomFromText('MULTIPOLYGON(((105.9 10.3,106 10.3,106 10.4,105.9 10.3)))', 4326), '28249', 'B', '82', '2025');
                 INSERT INTO crop (geom, parcel_id, commune_code, boundary_set, crop_type, season) VALUES
                   (ST_GeomFromText('MULTIPOLYGON(((105.75 10.01,105.76 10.01,105.76 10.02,105.75 10.01)))', 4326), 'A1', '31120', '2025', 'rice', 'he_thu'),
                   (ST_GeomFromText('MULTIPOLYGON(((105.95 10.31,105.96 10.31,105.96 10.32,105.95 10.31)))', 4326), 'B1', '28249', '2025', 'mango', 'perennial'),
                   (ST_GeomFromText('MULTIPOLYGON(((106.5 10.5,106.51 10.5,106.51 10.51,106.5 10.5)))', 4326), 'X1', '99999', '2025', 'rice', 'he_thu');
                 UPDATE crop SET season = 'dong_xuan' WHERE parcel_id = 'A1';",
            )
            .await
            .expect("schema-12 data");
    });
}

#[test]
fn a_populated_database_of_schema_12_is_partitioned_by_migration() {
    let db = PgDatabase::empty("parts_migrate");
    schema_12_with_parcels(&db);
    assert_eq!(count(&db.url, "SELECT count(*) FROM crop_history"), 1);
    let version_before = count(
        &db.url,
        "SELECT version FROM agrimap_layer_version WHERE layer = 'crop'",
    );

    let out = Command::new(agrimap_bin())
        .arg("migrate")
        .env("DATABASE_URL", &db.url)
        .output()
        .expect("migrate");
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("applied migrations [14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]"),
        "{out:?}"
    );
    let rows = query(
        &db.url,
        "SELECT fid, parcel_id, province_code, tableoid::regclass::text, season FROM crop ORDER BY fid",
    );
    let rows: Vec<(i64, String, String, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    let row =
        |fid: i64, id: &str, p: &str, t: &str, s: &str| (fid, id.to_owned(), p.to_owned(), t.to_owned(), s.to_owned());
    assert_eq!(
        rows,
        vec![
            row(1, "A1", "92", "crop_p92", "dong_xuan"),
            row(2, "B1", "82", "crop_p82", "perennial"),
            row(3, "X1", "", "crop_p_none", "he_thu"),
        ]
    );
    assert_eq!(
        count(&db.url, "SELECT count(*) FROM crop_history"),
        1,
        "the history is kept"
    );
    let partitioned = count(
        &db.url,
        "SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid
         WHERE c.relname IN ('crop', 'aquaculture', 'monitoring', 'growing_area', 'ocop',
           'irrigation_works', 'irrigated_areas', 'forest_plots', 'livestock_farms')",
    );
    assert_eq!(partitioned, 9);

    // The store writes on: ids go on from the old sequence, and the
    // triggers (change counter, history) work on the partitioned table.
    let store = db.store();
    let crop = layer("crop").expect("crop");
    let mut parcel = rt()
        .block_on(store.feature(crop, 2, agrimap_model::Audience::Full))
        .expect("read")
        .expect("B1");
    parcel.properties[crop.field_index("parcel_id").expect("field")] = Value::from("B2");
    write_crop(&store, vec![parcel]).expect("write");
    let new = &query(
        &db.url,
        "SELECT fid, tableoid::regclass::text FROM crop WHERE parcel_id = 'B2'",
    )[0];
    assert_eq!(
        (new.get::<_, i64>(0), new.get::<_, String>(1)),
        (4, "crop_p82".to_owned())
    );
    query(&db.url, "UPDATE crop SET season = 'thu_dong' WHERE parcel_id = 'B1'");
    assert_eq!(count(&db.url, "SELECT count(*) FROM crop_history"), 2);
    assert!(
        count(
            &db.url,
            "SELECT version FROM agrimap_layer_version WHERE layer = 'crop'"
        ) > version_before
    );
}

/// A page of a box the caller counted few features in is read through the
/// box's index (a subquery the planner cannot fold into a walk of the id
/// order), and holds the same features in the same order as the page read
/// the usual way.
#[test]
fn a_page_of_a_box_holding_few_features_is_read_by_the_box_with_the_same_answer() {
    let Some([can_tho, dong_thap]) = real_files() else {
        return;
    };
    let db = provinces_db("parts_small_box", &[&can_tho, &dong_thap]);
    let store = db.store();
    let crop = layer("crop").expect("crop");
    // Around the first commune's three parcels, and a little more.
    let (_, p) = communes_of(&can_tho.0).remove(0);
    let bbox = geo::Rect::new(
        geo::coord! { x: p.x() - 0.001, y: p.y() - 0.001 },
        geo::coord! { x: p.x() + 0.003, y: p.y() + 0.001 },
    );
    let page = |matches: Option<u64>, offset: usize| FeatureQuery {
        bbox: Some(bbox),
        limit: Some(2),
        offset,
        matches,
        ..FeatureQuery::default()
    };
    let matched = rt().block_on(store.count(crop, &page(None, 0))).expect("count");
    assert!(matched >= 3, "the commune's three parcels: {matched}");
    for offset in [0, 2] {
        let ids = |q: &FeatureQuery| -> Vec<i64> {
            rt().block_on(store.features(crop, q))
                .expect("page")
                .iter()
                .map(|f| f.id)
                .collect()
        };
        let usual = ids(&page(None, offset));
        assert!(!usual.is_empty(), "offset {offset}");
        assert_eq!(ids(&page(Some(matched), offset)), usual, "offset {offset}");
    }
    // Each partition's spatial index, then one sort: never a walk of a primary key.
    let by_box = rt().block_on(store.plan(crop, &page(Some(matched), 0))).expect("plan");
    assert!(
        by_box.contains("Sort") && by_box.contains("crop_p92_geom_idx") && !by_box.contains("pkey"),
        "{by_box}"
    );
}
