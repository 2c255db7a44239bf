//! Contract cases of the commune splits kept at write time
//! ([`agrimap_store::SplitStore`]): written, moved, deleted and rolled back
//! with their features, recomputed when the communes change, and grouped.

use agrimap_analysis::Metric;
use agrimap_analysis::area::multipolygon_ha;
use agrimap_model::{Feature, FeatureQuery, Value, layer};
use agrimap_store::{Change, LayerWrite, SplitQuery, Store, StoredSplit, Upsert, WriteBatch};
use geo::{Geometry, MultiPolygon, Rect, coord};

/// A square of degrees.
fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    MultiPolygon::new(vec![
        Rect::new(coord! { x: x0, y: y0 }, coord! { x: x1, y: y1 }).to_polygon(),
    ])
}

fn commune(code: &str, shape: MultiPolygon<f64>) -> Feature {
    let l = layer("admin_commune").expect("admin_commune");
    let mut properties = vec![Value::Null; l.fields.len()];
    let mut set = |f: &str, v: Value| properties[l.field_index(f).expect("field")] = v;
    set("code", code.into());
    set("name", format!("Xã {code}").into());
    set("province_code", "99".into());
    set("boundary_set", "2025".into());
    set("ntm_status", "not_yet".into());
    Feature {
        id: 0,
        geometry: Geometry::MultiPolygon(shape),
        properties,
    }
}

fn parcel(id: &str, crop: &str, area_ha: f64, shape: MultiPolygon<f64>) -> Feature {
    let l = layer("crop").expect("crop");
    let mut properties = vec![Value::Null; l.fields.len()];
    let mut set = |f: &str, v: Value| properties[l.field_index(f).expect("field")] = v;
    set("parcel_id", id.into());
    set("commune_code", "99001".into());
    set("boundary_set", "2025".into());
    set("crop_type", crop.into());
    set("season", "he_thu".into());
    set("area_ha", Value::Real(area_ha));
    Feature {
        id: 0,
        geometry: Geometry::MultiPolygon(shape),
        properties,
    }
}

/// Communes 99001 (105.0–105.1 °E) and 99002 (105.1–105.2 °E), 10.0–10.1 °N.
async fn two_communes(store: &dyn Store) {
    write_communes(
        store,
        false,
        vec![
            commune("99001", square(105.0, 10.0, 105.1, 10.1)),
            commune("99002", square(105.1, 10.0, 105.2, 10.1)),
        ],
    )
    .await;
}

async fn write_communes(store: &dyn Store, replace: bool, communes: Vec<Feature>) {
    store
        .write(WriteBatch {
            layers: vec![LayerWrite {
                layer: layer("admin_commune").expect("layer"),
                replace,
                features: communes,
            }],
            ..Default::default()
        })
        .await
        .expect("communes");
}

async fn write_parcels(store: &dyn Store, parcels: Vec<Feature>) -> Result<(), agrimap_store::StoreError> {
    store
        .write(WriteBatch {
            layers: vec![LayerWrite {
                layer: layer("crop").expect("layer"),
                replace: false,
                features: parcels,
            }],
            ..Default::default()
        })
        .await
        .map(|_| ())
}

/// The id of the parcel with `parcel_id`.
async fn fid(store: &dyn Store, parcel_id: &str) -> i64 {
    let crop = layer("crop").expect("layer");
    let i = crop.field_index("parcel_id").expect("field");
    store
        .features(crop, &FeatureQuery::default())
        .await
        .expect("features")
        .into_iter()
        .find(|f| f.properties[i] == Value::from(parcel_id))
        .map(|f| f.id)
        .expect("parcel stored")
}

async fn splits_of(store: &dyn Store, fid: i64) -> Vec<StoredSplit> {
    store
        .feature_splits(layer("crop").expect("layer"), fid)
        .await
        .expect("splits")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-9)
}

/// A parcel inside one commune has one split there holding all of it; one
/// straddling two communes is split by area (30:70 here), its count in
/// the commune of its larger part, and the grouped table sums the splits.
pub async fn a_written_feature_is_stored_with_its_commune_splits(store: &dyn Store) {
    two_communes(store).await;
    let inside = square(105.02, 10.02, 105.04, 10.04);
    let straddling = square(105.094, 10.05, 105.114, 10.06);
    write_parcels(
        store,
        vec![
            parcel("P-1", "rice", 4.0, inside.clone()),
            parcel("P-2", "mango", 10.0, straddling.clone()),
        ],
    )
    .await
    .expect("parcels");

    let one = splits_of(store, fid(store, "P-1").await).await;
    assert_eq!(one.len(), 1, "{one:?}");
    assert_eq!(
        (
            one[0].boundary_set.as_str(),
            one[0].commune_code.as_str(),
            one[0].largest
        ),
        ("2025", "99001", true)
    );
    assert!(close(one[0].area_ha, multipolygon_ha(&inside)), "{one:?}");
    assert!(close(one[0].share, 1.0), "{one:?}");

    let two = splits_of(store, fid(store, "P-2").await).await;
    let codes: Vec<&str> = two.iter().map(|s| s.commune_code.as_str()).collect();
    assert_eq!(codes, ["99001", "99002"], "{two:?}");
    let whole = multipolygon_ha(&straddling);
    assert!(close(two[0].area_ha + two[1].area_ha, whole), "{two:?} of {whole} ha");
    assert!(
        (two[0].share - 0.3).abs() < 1e-3 && (two[1].share - 0.7).abs() < 1e-3,
        "{two:?}"
    );
    assert_eq!((two[0].largest, two[1].largest), (false, true));

    let crop = layer("crop").expect("layer");
    let rows = store
        .split_table(&SplitQuery {
            layer: crop,
            boundary_set: "2025".into(),
            province: None,
            classes: vec![crop.field_index("crop_type").expect("field")],
            metrics: vec![
                Metric::Area,
                Metric::Count,
                Metric::Sum(crop.field_index("area_ha").expect("field")),
            ],
        })
        .await
        .expect("table");
    let mut rows: Vec<(String, Value, Vec<f64>, u64)> = rows
        .into_iter()
        .map(|r| (r.commune_code, r.classes[0].clone(), r.values, r.features))
        .collect();
    rows.sort_by(|a, b| (&a.0, format!("{:?}", a.1)).cmp(&(&b.0, format!("{:?}", b.1))));
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!((rows[0].0.as_str(), &rows[0].1), ("99001", &Value::from("mango")));
    assert_eq!((rows[1].0.as_str(), &rows[1].1), ("99001", &Value::from("rice")));
    assert_eq!((rows[2].0.as_str(), &rows[2].1), ("99002", &Value::from("mango")));
    assert!(close(rows[0].2[0], two[0].area_ha) && close(rows[2].2[0], two[1].area_ha));
    // Counts are whole numbers, summed exactly.
    #[expect(clippy::float_cmp, reason = "sums of ones and zeros are exact")]
    let counts = [rows[0].2[1], rows[1].2[1], rows[2].2[1]] == [0.0, 1.0, 1.0];
    assert!(counts, "{rows:?}");
    assert_eq!([rows[0].3, rows[1].3, rows[2].3], [0, 1, 1]);
    assert!(
        close(rows[1].2[2], 4.0) && close(rows[0].2[2] + rows[2].2[2], 10.0),
        "{rows:?}"
    );
    assert!(close(rows[0].2[2], 10.0 * two[0].share), "{rows:?}");

    // Another province's communes are not in a table of province 98.
    let none = store
        .split_table(&SplitQuery {
            layer: crop,
            boundary_set: "2025".into(),
            province: Some("98".into()),
            classes: vec![],
            metrics: vec![Metric::Count],
        })
        .await
        .expect("table");
    assert!(none.is_empty(), "{none:?}");
    // A base layer keeps none.
    let refused = store
        .split_table(&SplitQuery {
            layer: layer("roads").expect("layer"),
            boundary_set: "2025".into(),
            province: None,
            classes: vec![],
            metrics: vec![Metric::Count],
        })
        .await
        .expect_err("roads keep no splits");
    assert!(refused.to_string().contains("keeps no commune splits"), "{refused}");
}

/// An update of a parcel's geometry moves its splits, an update of its
/// values alone keeps them, and a deleted or replaced parcel loses them.
pub async fn rewriting_or_deleting_a_feature_moves_its_splits(store: &dyn Store) {
    two_communes(store).await;
    let crop = layer("crop").expect("layer");
    write_parcels(
        store,
        vec![parcel("P-1", "rice", 4.0, square(105.02, 10.02, 105.04, 10.04))],
    )
    .await
    .expect("parcel");
    let id = fid(store, "P-1").await;
    assert_eq!(splits_of(store, id).await[0].commune_code, "99001");

    store
        .upsert(Upsert {
            layer: crop,
            features: vec![parcel("P-1", "rice", 4.0, square(105.12, 10.02, 105.14, 10.04))],
            update: vec!["crop_type"],
            insert_new: true,
        })
        .await
        .expect("moved");
    assert_eq!(fid(store, "P-1").await, id, "an update keeps the id");
    let moved = splits_of(store, id).await;
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(moved[0].commune_code, "99002");

    // A recode changes values, not places. (The parcel is coded in the
    // 2025 set, so it is stamped into the other one.)
    let restamped = store
        .restamp_communes(
            crop,
            agrimap_model::BoundarySet::Pre2025,
            vec![agrimap_store::Restamp {
                id,
                read: Some("99001".into()),
                code: "99002".into(),
            }],
        )
        .await
        .expect("recode");
    assert_eq!(restamped, 1);
    assert_eq!(splits_of(store, id).await, moved);

    store
        .write(WriteBatch {
            changes: vec![Change {
                at: agrimap_model::UtcTime::now(),
                layer: crop,
                put: vec![],
                remove: vec![vec![Value::from("P-1")]],
            }],
            ..Default::default()
        })
        .await
        .expect("removed");
    assert!(splits_of(store, id).await.is_empty());

    write_parcels(
        store,
        vec![parcel("P-2", "rice", 4.0, square(105.02, 10.02, 105.04, 10.04))],
    )
    .await
    .expect("parcel");
    let old = fid(store, "P-2").await;
    store
        .write(WriteBatch {
            layers: vec![LayerWrite {
                layer: crop,
                replace: true,
                features: vec![parcel("P-3", "rice", 4.0, square(105.12, 10.02, 105.14, 10.04))],
            }],
            ..Default::default()
        })
        .await
        .expect("replaced");
    assert!(splits_of(store, old).await.is_empty());
    assert_eq!(splits_of(store, fid(store, "P-3").await).await[0].commune_code, "99002");
}

/// A write refused half-way leaves no splits behind, and the table stays
/// as it was.
pub async fn a_failed_write_leaves_no_splits(store: &dyn Store) {
    two_communes(store).await;
    let crop = layer("crop").expect("layer");
    let mut bad = parcel("P-2", "rice", 1.0, square(105.05, 10.05, 105.06, 10.06));
    bad.properties[crop.field_index("season").expect("field")] = Value::Null;
    write_parcels(
        store,
        vec![parcel("P-1", "rice", 4.0, square(105.02, 10.02, 105.04, 10.04)), bad],
    )
    .await
    .expect_err("a parcel without its season is refused");
    let query = SplitQuery {
        layer: crop,
        boundary_set: "2025".into(),
        province: None,
        classes: vec![],
        metrics: vec![Metric::Count],
    };
    assert!(store.split_table(&query).await.expect("table").is_empty());
    // Ids are never reused by either store: the refused first parcel had 1.
    for id in 0..4 {
        assert!(splits_of(store, id).await.is_empty(), "feature {id}");
    }
}

/// Moving the boundary between the communes re-splits every parcel, in
/// the same write as the boundary.
pub async fn a_boundary_change_recomputes_every_split(store: &dyn Store) {
    two_communes(store).await;
    write_parcels(
        store,
        vec![parcel("P-1", "rice", 4.0, square(105.08, 10.02, 105.09, 10.04))],
    )
    .await
    .expect("parcel");
    let id = fid(store, "P-1").await;
    assert_eq!(splits_of(store, id).await[0].commune_code, "99001");

    // 99002 now starts at 105.05 °E: the parcel lies in it.
    store
        .upsert_all(vec![Upsert {
            layer: layer("admin_commune").expect("layer"),
            features: vec![
                commune("99001", square(105.0, 10.0, 105.05, 10.1)),
                commune("99002", square(105.05, 10.0, 105.2, 10.1)),
            ],
            update: vec!["name"],
            insert_new: true,
        }])
        .await
        .expect("boundaries");
    let after = splits_of(store, id).await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].commune_code, "99002");

    // A second boundary set gives every parcel a split in it too.
    let mut old = commune("88001", square(105.0, 10.0, 105.2, 10.1));
    let communes = layer("admin_commune").expect("layer");
    old.properties[communes.field_index("boundary_set").expect("field")] = Value::from("pre-2025");
    store
        .write(WriteBatch {
            layers: vec![LayerWrite {
                layer: communes,
                replace: false,
                features: vec![old],
            }],
            ..Default::default()
        })
        .await
        .expect("old communes");
    let both: Vec<(String, String)> = splits_of(store, id)
        .await
        .into_iter()
        .map(|s| (s.boundary_set, s.commune_code))
        .collect();
    assert_eq!(
        both,
        [
            ("2025".to_owned(), "99002".to_owned()),
            ("pre-2025".to_owned(), "88001".to_owned())
        ]
    );
    assert_eq!(store.recompute_splits().await.expect("recompute"), 1);
}

/// A table's rows: commune, class values, area and count, features.
type Table = Vec<(String, Vec<Value>, Vec<f64>, u64)>;

/// One table two ways: by commune and at most one coded field, summing
/// areas and counts (which a store may answer from totals it keeps beside
/// the splits), and the same with a sum of another field added (which it
/// groups from the splits and the features). Rows sorted by commune and class.
async fn both_ways(store: &dyn Store, class: Option<&str>) -> (Table, Table) {
    let crop = layer("crop").expect("layer");
    let classes: Vec<usize> = class.iter().map(|c| crop.field_index(c).expect("field")).collect();
    let table = |metrics: Vec<Metric>| SplitQuery {
        layer: crop,
        boundary_set: "2025".into(),
        province: Some("99".into()),
        classes: classes.clone(),
        metrics,
    };
    let sorted = |rows: Vec<agrimap_store::SplitRow>, keep: usize| {
        let mut rows: Vec<_> = rows
            .into_iter()
            .map(|r| (r.commune_code, r.classes, r.values[..keep].to_vec(), r.features))
            .collect();
        rows.sort_by_key(|r| format!("{} {:?}", r.0, r.1));
        rows
    };
    let kept = store
        .split_table(&table(vec![Metric::Area, Metric::Count]))
        .await
        .expect("kept");
    let sum = Metric::Sum(crop.field_index("area_ha").expect("field"));
    let grouped = store
        .split_table(&table(vec![Metric::Area, Metric::Count, sum]))
        .await
        .expect("grouped");
    (sorted(kept, 2), sorted(grouped, 2))
}

async fn assert_both_ways_agree(store: &dyn Store, when: &str) {
    for class in [None, Some("crop_type"), Some("season")] {
        let (kept, grouped) = both_ways(store, class).await;
        assert_eq!(
            kept.len(),
            grouped.len(),
            "{when}, by {class:?}: {kept:?} against {grouped:?}"
        );
        for (k, g) in kept.iter().zip(&grouped) {
            let same = k.0 == g.0 && k.1 == g.1 && k.3 == g.3 && close(k.2[0], g.2[0]) && close(k.2[1], g.2[1]);
            assert!(same, "{when}, by {class:?}: {k:?} against {g:?}");
        }
    }
}

/// The table by commune and crop (or season) stays equal to the table
/// grouped from the splits and the features through inserts, a move, a
/// recode of the crop in place, a delete and a change of the communes:
/// whatever totals a store keeps follow every kind of write.
pub async fn tables_by_a_coded_field_follow_every_write(store: &dyn Store) {
    two_communes(store).await;
    let crop = layer("crop").expect("layer");
    let crops = ["rice", "mango", "durian"];
    // Twelve parcels in a row, P-6 across the boundary at 105.1 °E.
    let shape = |n: u32| {
        let x = 105.005 + 0.015 * f64::from(n);
        square(x, 10.02, x + 0.012, 10.03)
    };
    let parcels: Vec<Feature> = (0..12_u32)
        .map(|n| {
            let mut p = parcel(&format!("P-{n}"), crops[n as usize % 3], 2.0, shape(n));
            if n % 4 == 0 {
                p.properties[crop.field_index("season").expect("field")] = "dong_xuan".into();
            }
            p
        })
        .collect();
    write_parcels(store, parcels.clone()).await.expect("parcels");
    let (kept, _) = both_ways(store, Some("crop_type")).await;
    assert!(kept.len() >= 5, "both communes hold several crops: {kept:?}");
    assert_both_ways_agree(store, "after the first write").await;

    // P-1 moves across the boundary; P-2 becomes rice where it lies.
    let mut moved = parcels[1].clone();
    moved.geometry = Geometry::MultiPolygon(square(105.15, 10.05, 105.16, 10.06));
    store
        .upsert(Upsert {
            layer: crop,
            features: vec![moved],
            update: vec![],
            insert_new: true,
        })
        .await
        .expect("moved");
    let mut recoded = parcels[2].clone();
    recoded.properties[crop.field_index("crop_type").expect("field")] = "rice".into();
    store
        .upsert(Upsert {
            layer: crop,
            features: vec![recoded],
            update: vec!["crop_type"],
            insert_new: true,
        })
        .await
        .expect("recoded");
    assert_both_ways_agree(store, "after a move and a recode").await;
    let (kept, _) = both_ways(store, Some("crop_type")).await;
    let durian: f64 = kept
        .iter()
        .filter(|r| r.1 == [Value::from("durian")])
        .map(|r| r.2[0])
        .sum();
    let p2 = multipolygon_ha(&shape(2));
    let others: f64 = [5, 8, 11].into_iter().map(|n| multipolygon_ha(&shape(n))).sum();
    assert!(
        close(durian, others) && !close(durian, others + p2),
        "durian {durian} ha, P-2 recoded to rice"
    );

    store
        .write(WriteBatch {
            changes: vec![Change {
                at: agrimap_model::UtcTime::now(),
                layer: crop,
                put: vec![],
                remove: vec![vec![Value::from("P-4")], vec![Value::from("P-6")]],
            }],
            ..Default::default()
        })
        .await
        .expect("removed");
    assert_both_ways_agree(store, "after a delete").await;

    // The communes change: every split is made again, and more writes follow.
    write_communes(
        store,
        true,
        vec![
            commune("99001", square(105.0, 10.0, 105.07, 10.1)),
            commune("99002", square(105.07, 10.0, 105.2, 10.1)),
        ],
    )
    .await;
    assert_both_ways_agree(store, "after the communes changed").await;
    write_parcels(
        store,
        vec![parcel("P-20", "mango", 1.0, square(105.065, 10.07, 105.075, 10.08))],
    )
    .await
    .expect("straddling parcel");
    assert_both_ways_agree(store, "after a write following the change").await;
}
