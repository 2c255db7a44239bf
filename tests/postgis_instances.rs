//! Two agrimap instances on one PostGIS database: a write through one is seen
//! by the other's next tile request (tile cache keys carry the layer change
//! counters, which live in the database).

use agrimap_model::{Feature, Value, layer};
use agrimap_store::{LayerWrite, WriteBatch};
use agrimap_suite::{PgDatabase, TestServer};
use agrimap_tiles::mvt::decode;
use agrimap_tiles::tile_containing;
use std::sync::Arc;

#[test]
fn a_write_through_one_instance_invalidates_the_others_tiles() {
    let db = PgDatabase::demo("two_instances");
    let a = TestServer::start(Arc::new(db.store()));
    let b = TestServer::start(Arc::new(db.store()));
    let manifest = agrimap_demo::read_manifest(&agrimap_suite::demo_dir()).expect("manifest");
    let [lon, lat] = manifest.center;
    let t = tile_containing(lon, lat, 15);
    let path = format!("/tiles/ocop/{}/{}/{}.mvt", t.z, t.x, t.y);
    // Warm b's cache.
    let before = b.get(&path, &[]);
    assert_eq!(b.get(&path, &[]).header("etag"), before.header("etag"));

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
    let feature = Feature {
        id: 0,
        geometry: geo::Point::new(lon, lat).into(),
        properties,
    };
    let batch = WriteBatch {
        layers: vec![LayerWrite {
            layer: ocop,
            replace: false,
            features: vec![feature],
        }],
        readings: vec![],
    };
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(a.store.write(batch))
        .expect("write through a");

    let after = b.get(&path, &[]);
    assert_eq!(after.status, 200);
    assert_ne!(
        after.header("etag"),
        before.header("etag"),
        "b must not serve its cached tile"
    );
    let names: Vec<Value> = decode(&after.body).expect("tile")[0]
        .features
        .iter()
        .filter_map(|f| f.properties.get("name").cloned())
        .collect();
    assert!(names.contains(&Value::from("Kẹo dừa")), "{names:?}");
    drop((a, b));
}
