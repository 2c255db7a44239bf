//! The GeoPackage store on small hand-made layers.

use agrimap_model::{Audience, Feature, FeatureQuery, Filter, Reading, Value, layer};
use agrimap_store::{GpkgStore, LayerWrite, Store, StoreError, WriteBatch};
use futures::StreamExt;
use geo::{Geometry, Rect, coord, point, polygon};
use std::path::PathBuf;

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("agrimap-store-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("store.gpkg")
}

fn ocop(code: &str, name: &str, stars: i64, lon: f64, lat: f64) -> Feature {
    let l = layer("ocop").expect("ocop");
    let mut properties = vec![Value::Null; l.fields.len()];
    let mut set = |f: &str, v: Value| properties[l.field_index(f).expect("field")] = v;
    set("product_id", format!("OCOP-{name}").into());
    set("commune_code", code.into());
    set("boundary_set", "pre-2025".into());
    set("name", name.into());
    set("stars", Value::Int(stars));
    Feature {
        id: 0,
        geometry: point!(x: lon, y: lat).into(),
        properties,
    }
}

fn write(features: Vec<Feature>) -> WriteBatch {
    WriteBatch {
        layers: vec![LayerWrite {
            layer: layer("ocop").expect("ocop"),
            replace: false,
            features,
        }],
        readings: vec![],
    }
}

fn rect(x1: f64, y1: f64, x2: f64, y2: f64) -> Rect<f64> {
    Rect::new(coord! {x: x1, y: y1}, coord! {x: x2, y: y2})
}

#[tokio::test]
async fn queries_by_bbox_commune_and_filter() {
    let store = GpkgStore::create(&temp_path("query")).expect("create");
    let ocop_layer = layer("ocop").expect("ocop");
    store
        .write(write(vec![
            ocop("33001", "Gạo ST25", 5, 105.5, 9.8),
            ocop("33001", "Mắm cá linh", 3, 105.6, 9.9),
            ocop("33002", "Bánh pía", 4, 106.0, 10.1),
        ]))
        .await
        .expect("write");

    let in_box = store
        .features(ocop_layer, &FeatureQuery::in_bbox(rect(105.4, 9.7, 105.7, 9.95)))
        .await
        .expect("bbox");
    let names: Vec<_> = in_box.iter().map(|f| f.properties[3].clone()).collect();
    assert_eq!(names, vec![Value::from("Gạo ST25"), Value::from("Mắm cá linh")]);
    assert_eq!(in_box[0].geometry, Geometry::Point(point!(x: 105.5, y: 9.8)));

    let commune = FeatureQuery {
        commune: Some("33002".into()),
        ..FeatureQuery::default()
    };
    assert_eq!(store.count(ocop_layer, &commune).await.expect("count"), 1);

    let four_plus = FeatureQuery {
        filter: Some(Filter::Compare {
            field: "stars".into(),
            op: agrimap_model::CompareOp::Ge,
            value: Value::Int(4),
        }),
        ..FeatureQuery::default()
    };
    let found = store.features(ocop_layer, &four_plus).await.expect("filter");
    assert_eq!(found.iter().map(|f| f.id).collect::<Vec<_>>(), vec![1, 3]);

    let bad = FeatureQuery {
        filter: Some(Filter::eq("colour", "red")),
        ..FeatureQuery::default()
    };
    assert!(matches!(
        store.features(ocop_layer, &bad).await,
        Err(StoreError::Filter(_))
    ));

    let streamed: Vec<_> = store.stream(ocop_layer, FeatureQuery::default()).collect().await;
    assert_eq!(streamed.len(), 3);
    assert_eq!(
        store
            .feature(ocop_layer, 2, Audience::Public)
            .await
            .expect("one")
            .map(|f| f.id),
        Some(2)
    );
    let extent = store.extent(ocop_layer).await.expect("extent").expect("some");
    assert_eq!((extent.min().x, extent.max().y), (105.5, 10.1));
}

#[tokio::test]
async fn a_failed_write_leaves_nothing_and_versions_move_on_success() {
    let store = GpkgStore::create(&temp_path("tx")).expect("create");
    let ocop_layer = layer("ocop").expect("ocop");
    let before = store.versions().await.expect("versions")["ocop"];

    let mut bad = ocop("33001", "Sen sấy", 6, 105.5, 9.8); // six stars is fine by type...
    bad.properties[ocop_layer.field_index("boundary_set").expect("field")] = Value::from("1999"); // ...but not this
    let err = store
        .write(write(vec![ocop("33001", "Gạo", 3, 105.5, 9.8), bad]))
        .await
        .expect_err("invalid feature must be refused");
    assert!(err.to_string().contains("feature 1 of layer 'ocop'"), "{err}");
    assert!(err.to_string().contains("boundary_set"), "{err}");
    assert_eq!(
        store.count(ocop_layer, &FeatureQuery::default()).await.expect("count"),
        0
    );
    assert_eq!(store.versions().await.expect("versions")["ocop"], before);

    store
        .write(write(vec![ocop("33001", "Gạo", 3, 105.5, 9.8)]))
        .await
        .expect("write");
    assert!(store.versions().await.expect("versions")["ocop"] > before);
    assert_eq!(store.versions().await.expect("versions")["crop"], 0);
}

#[tokio::test]
async fn polygons_are_stored_as_multipolygons_and_wrong_kinds_refused() {
    let store = GpkgStore::create(&temp_path("kinds")).expect("create");
    let ga = layer("growing_area").expect("layer");
    let mut properties = vec![Value::Null; ga.fields.len()];
    for (f, v) in [
        ("code", "VN-PSMA-0001"),
        ("commune_code", "33001"),
        ("boundary_set", "pre-2025"),
        ("crop_type", "mango"),
        ("status", "active"),
        ("contact_phone", "0912345678"),
    ] {
        properties[ga.field_index(f).expect("field")] = v.into();
    }
    let square =
        polygon![(x: 105.0, y: 9.0), (x: 105.1, y: 9.0), (x: 105.1, y: 9.1), (x: 105.0, y: 9.1), (x: 105.0, y: 9.0)];
    let feature = Feature {
        id: 0,
        geometry: square.clone().into(),
        properties,
    };
    let batch = |f: Feature| WriteBatch {
        layers: vec![LayerWrite {
            layer: ga,
            replace: true,
            features: vec![f],
        }],
        readings: vec![],
    };
    store.write(batch(feature.clone())).await.expect("write");
    let got = store.features(ga, &FeatureQuery::default()).await.expect("read");
    assert_eq!(got[0].geometry, Geometry::MultiPolygon(geo::MultiPolygon(vec![square])));

    // Restricted fields stay in the database unless the reader may see them.
    let phone = ga.field_index("contact_phone").expect("field");
    assert_eq!(
        got[0].properties[phone],
        Value::Null,
        "the default audience is the public"
    );
    let full = FeatureQuery {
        audience: Audience::Full,
        ..FeatureQuery::default()
    };
    let got = store.features(ga, &full).await.expect("read");
    assert_eq!(got[0].properties[phone], Value::from("0912345678"));
    assert_eq!(
        store
            .feature(ga, 1, Audience::Public)
            .await
            .expect("one")
            .expect("some")
            .properties[phone],
        Value::Null
    );
    let oracle = FeatureQuery {
        filter: Some(Filter::eq("contact_phone", "0912345678")),
        ..FeatureQuery::default()
    };
    assert!(
        matches!(store.count(ga, &oracle).await, Err(StoreError::Filter(_))),
        "no filtering on what one may not read"
    );
    assert_eq!(
        store
            .count(
                ga,
                &FeatureQuery {
                    audience: Audience::Full,
                    ..oracle
                }
            )
            .await
            .expect("count"),
        1
    );

    let point = Feature {
        geometry: point!(x: 105.0, y: 9.0).into(),
        ..feature
    };
    let err = store.write(batch(point)).await.expect_err("a point is not a polygon");
    assert!(err.to_string().contains("does not fit"), "{err}");
}

#[tokio::test]
async fn readings_are_idempotent_on_station_parameter_and_time() {
    let store = GpkgStore::create(&temp_path("readings")).expect("create");
    let r = |v: f64| Reading {
        station_id: "ST-01".into(),
        parameter: "salinity".into(),
        value: v,
        unit: "ppt".into(),
        time: "2026-11-20T07:00:00Z".into(),
    };
    let batch = WriteBatch {
        layers: vec![],
        readings: vec![r(2.5)],
    };
    assert_eq!(store.write(batch.clone()).await.expect("write").readings, 1);
    assert_eq!(store.write(batch).await.expect("write").readings, 0);
    assert_eq!(store.readings("ST-01").await.expect("read"), vec![r(2.5)]);
}

#[test]
fn opening_something_else_is_a_clear_error() {
    let path = temp_path("other");
    std::fs::write(&path, b"not a database at all, just text").expect("write");
    let err = GpkgStore::open(&path).err().expect("must fail");
    assert!(err.to_string().contains("is not an agrimap GeoPackage"), "{err}");
    assert!(GpkgStore::open(&path.with_file_name("missing.gpkg")).is_err());
}
