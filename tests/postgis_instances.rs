//! Several agrimap instances on one PostGIS database. Each keeps the layer
//! change counters in memory, fed by LISTEN/NOTIFY; a write through any of
//! them, or straight into the database, must reach every instance's tile
//! cache within a second.

use agrimap_model::{Feature, Value, layer};
use agrimap_store::{LayerWrite, WriteBatch};
use agrimap_suite::{PgDatabase, ServeProcess, TestServer, on_database};
use agrimap_tiles::mvt::decode;
use agrimap_tiles::{TileCoord, tile_containing};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The z15 tile over the demo province's centre, and its centre.
fn centre_tile() -> (TileCoord, f64, f64) {
    let manifest = agrimap_demo::read_manifest(&agrimap_suite::demo_dir()).expect("manifest");
    let [lon, lat] = manifest.center;
    (tile_containing(lon, lat, 15), lon, lat)
}

fn ocop_names(body: &[u8]) -> Vec<Value> {
    decode(body).map_or_else(
        |_| Vec::new(),
        |layers| {
            layers
                .iter()
                .flat_map(|l| &l.features)
                .filter_map(|f| f.properties.get("name").cloned())
                .collect()
        },
    )
}

/// Polls `get` until the tile names `name`, for at most a second; returns
/// how long it took.
fn within_a_second(name: &str, get: impl Fn() -> agrimap_suite::Reply) -> Duration {
    let start = Instant::now();
    loop {
        let reply = get();
        assert!(reply.status == 200 || reply.status == 204, "status {}", reply.status);
        let body = if reply.header("content-encoding") == Some("gzip") {
            agrimap_suite::gunzip(&reply.body)
        } else {
            reply.body.clone()
        };
        if ocop_names(&body).contains(&Value::from(name)) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "the new product did not appear within a second"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_write_through_one_instance_reaches_the_others_tiles_within_a_second() {
    let db = PgDatabase::demo("two_instances");
    let a = TestServer::start(Arc::new(db.store()));
    let b = TestServer::start(Arc::new(db.store()));
    let (t, lon, lat) = centre_tile();
    let path = format!("/tiles/ocop/{}/{}/{}.mvt", t.z, t.x, t.y);
    // Warm both caches, and let their listeners connect.
    let before = b.get(&path, &[]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(b.get(&path, &[]).header("etag"), before.header("etag"));
    let _ = a.get(&path, &[]);

    let ocop = layer("ocop").expect("ocop");
    let mut properties = vec![Value::Null; ocop.fields.len()];
    for (f, v) in [
        ("product_id", "OCOP-TWO-1"),
        ("commune_code", "33001"),
        ("boundary_set", "pre-2025"),
        ("name", "Kẹo dừa"),
    ] {
        properties[ocop.field_index(f).expect("field")] = Value::from(v);
    }
    properties[ocop.field_index("stars").expect("stars")] = Value::Int(5);
    let batch = WriteBatch {
        layers: vec![LayerWrite {
            layer: ocop,
            replace: false,
            features: vec![Feature {
                id: 0,
                geometry: geo::Point::new(lon, lat).into(),
                properties,
            }],
        }],
        readings: vec![],
        ..Default::default()
    };
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(a.store.write(batch))
        .expect("write through a");

    // The writer sees its own write at once, the other within a second.
    let own = a.get(&path, &[]);
    assert!(ocop_names(&own.decoded_body()).contains(&Value::from("Kẹo dừa")));
    within_a_second("Kẹo dừa", || b.get(&path, &[]));
    assert_ne!(b.get(&path, &[]).header("etag"), before.header("etag"));
    drop((a, b));
}

#[test]
fn two_serve_processes_see_a_write_made_straight_into_the_database() {
    let db = PgDatabase::demo("two_processes");
    let env = [("DATABASE_URL", std::ffi::OsStr::new(&db.url))];
    let one = ServeProcess::start(&[], &env);
    let two = ServeProcess::start(&[], &env);
    for server in [&one, &two] {
        assert_eq!(server.get("/health", &[]).json()["store"], "postgis");
    }
    let (t, lon, lat) = centre_tile();
    let path = format!("/tiles/ocop/{}/{}/{}.mvt", t.z, t.x, t.y);
    let gzip = [("accept-encoding", "gzip")];
    let warm: Vec<_> = [&one, &two].iter().map(|s| s.get(&path, &gzip)).collect();
    for reply in &warm {
        assert!(!ocop_names(&reply.decoded_body()).contains(&Value::from("Mắm cá linh")));
    }
    std::thread::sleep(Duration::from_millis(300));
    // A GIS officer adds a product with psql or QGIS, not through agrimap.
    on_database(&db.url, async |client| {
        client
            .execute(
                "INSERT INTO ocop (geom, product_id, commune_code, boundary_set, name, stars)
                 VALUES (ST_SetSRID(ST_MakePoint($1, $2), 4326), 'OCOP-SQL-1', '33001', 'pre-2025', 'Mắm cá linh', 4)",
                &[&lon, &lat],
            )
            .await
            .expect("insert");
    });
    for server in [&one, &two] {
        within_a_second("Mắm cá linh", || server.get(&path, &gzip));
    }
    for server in [one, two] {
        assert!(server.terminate(Duration::from_mins(1)).success());
    }
}

/// The crop layer PostGIS keeps for the z11 tile `(x, y)`, if it keeps one.
fn kept_crop(url: &str, t: TileCoord) -> Option<Vec<u8>> {
    on_database(url, async |client| {
        client
            .query_opt(
                "SELECT mvt FROM tile_overviews WHERE layer = 'crop' AND z = $1 AND x = $2 AND y = $3",
                &[&i32::from(t.z), &i64::from(t.x), &i64::from(t.y)],
            )
            .await
            .expect("kept layers")
            .map(|r| r.get(0))
    })
}

/// Polls `check` every 50 ms for at most `limit`.
fn eventually(limit: Duration, what: &str, check: impl Fn() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A parcel recoded straight into the database (as an editor in QGIS
/// would) makes PostGIS forget the kept crop layer of the z11 tile it lies
/// in, in the write's own transaction; the serving process draws it again in
/// the background, with no request for the tile, and then serves exactly
/// that new drawing.
#[test]
fn a_serving_process_draws_again_what_a_write_in_the_database_made_it_forget() {
    let db = PgDatabase::demo("redraw");
    let env = [("DATABASE_URL", std::ffi::OsStr::new(&db.url))];
    let server = ServeProcess::start(&[], &env);
    let (_, lon, lat) = centre_tile();
    let t = tile_containing(lon, lat, 11);
    let path = format!("/tiles/crop/{}/{}/{}.mvt", t.z, t.x, t.y);
    assert_eq!(server.get(&path, &[]).status, 200);
    eventually(Duration::from_secs(10), "the first drawing kept", || {
        kept_crop(&db.url, t).is_some()
    });
    let before = kept_crop(&db.url, t).expect("kept");

    let recoded = on_database(&db.url, async |client| {
        client
            .execute(
                "UPDATE crop SET crop_type = 'lotus' WHERE fid = (
                   SELECT fid FROM crop WHERE crop_type <> 'lotus'
                   ORDER BY geom <-> ST_SetSRID(ST_MakePoint($1, $2), 4326) LIMIT 1)",
                &[&lon, &lat],
            )
            .await
            .expect("recode")
    });
    assert_eq!(recoded, 1);
    assert_eq!(kept_crop(&db.url, t), None, "forgotten by the write itself");

    eventually(Duration::from_secs(30), "drawn again in the background", || {
        kept_crop(&db.url, t).is_some()
    });
    let again = kept_crop(&db.url, t).expect("kept again");
    assert_ne!(again, before, "the new drawing shows the recode");
    let listed = on_database(&db.url, async |client| {
        client
            .query_one("SELECT count(*) FROM tile_overviews_redraw", &[])
            .await
            .expect("list")
            .get::<_, i64>(0)
    });
    assert_eq!(listed, 0, "kept again, so off the list");
    assert_eq!(server.get(&path, &[]).decoded_body(), again);
    let metrics = String::from_utf8(server.get("/metrics", &[]).body).expect("text");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("agrimap_tile_layers_redrawn_total ") && !l.ends_with(" 0")),
        "{metrics}"
    );
}
