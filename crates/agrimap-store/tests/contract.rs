//! The store contract: one set of cases that every [`Store`] must pass, run
//! against the GeoPackage store and the PostGIS store (a fresh database on
//! the server `AGRIMAP_TEST_DATABASE_URL` names, which `tests/run.sh` starts).
//! A third backend gets its suite by adding one line to `stores!`.

use agrimap_model::readings::{AlertCause, AlertState};
use agrimap_model::registry::RegistryKind;
use agrimap_model::{Audience, Feature, FeatureQuery, Filter, Reading, Role, Value, layer};
use agrimap_store::{
    CrosswalkPair, CrosswalkQuery, GpkgStore, Judge, LayerWrite, NewApiToken, OverviewKey, PairKind, PgStore,
    ReadingQuery, RegistryRecord, Store, StoreError, Upsert, WriteBatch,
};
use futures::StreamExt;
use geo::{Geometry, Rect, coord, point, polygon};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

/// A new, empty GeoPackage store.
fn gpkg(name: &str) -> GpkgStore {
    let dir = std::env::temp_dir().join(format!("agrimap-contract-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    GpkgStore::create(&PathBuf::from(&dir).join("store.gpkg")).expect("create")
}

/// A new, empty, migrated PostGIS store on a database of its own, dropped
/// with the guard.
struct PgDatabase {
    admin: String,
    name: String,
}

impl PgDatabase {
    async fn new(case: &str) -> (Self, PgStore) {
        let admin = std::env::var("AGRIMAP_TEST_DATABASE_URL").expect(
            "AGRIMAP_TEST_DATABASE_URL is not set: run the tests with `bash tests/run.sh`, which starts PostgreSQL",
        );
        let name = format!("agrimap_contract_{}_{case}", std::process::id());
        admin_sql(
            &admin,
            &[
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                &format!("CREATE DATABASE {name}"),
            ],
        )
        .await;
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let store = PgStore::connect(&format!("{base}/{name}")).expect("connect");
        store.migrate().await.expect("migrate");
        (Self { admin, name }, store)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Dropped from inside a test's runtime: a thread of its own may block.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(admin_sql(
                &admin,
                &[&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")],
            ));
        })
        .join()
        .expect("dropping the database");
    }
}

async fn admin_sql(url: &str, statements: &[&str]) {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to PostgreSQL");
    let task = tokio::spawn(conn);
    for s in statements {
        client.batch_execute(s).await.expect(s);
    }
    drop(client);
    let _ = task.await;
}

/// Runs each case against each store.
macro_rules! stores {
    ($($case:ident),* $(,)?) => {
        mod geopackage {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::cases::$case(&super::gpkg(stringify!($case))).await;
                }
            )*
        }
        mod postgis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let (_db, store) = super::PgDatabase::new(stringify!($case)).await;
                    super::cases::$case(&store).await;
                }
            )*
        }
    };
}

stores!(
    queries_by_bbox_commune_and_filter,
    a_failed_write_leaves_nothing_and_versions_move_on_success,
    polygons_are_stored_as_multipolygons_and_wrong_kinds_refused,
    readings_are_idempotent_on_station_parameter_and_time,
    upserts_update_by_natural_key_and_keep_fields_not_given,
    ingestion_judges_stations_from_the_readings_it_holds,
    each_pest_species_count_is_a_series_with_its_own_latest,
    a_bad_reading_stores_nothing,
    station_and_api_tokens_are_kept_as_hashes,
    the_crosswalk_is_replaced_whole_and_a_duplicate_pair_changes_nothing,
    restamping_communes_keeps_the_old_code_and_moves_the_version,
    registry_records_update_by_key_keep_a_history_and_a_repeated_key_changes_nothing,
    product_page_scans_are_counted_by_day,
    ntm_sets_are_shipped_and_a_stored_version_is_never_rewritten,
    ntm_history_is_append_only_and_each_move_checks_the_state,
    versions_close_on_update_and_delete_and_as_of_reads_them,
    kept_tile_layers_are_forgotten_only_where_a_write_reaches,
    forgotten_tile_layers_are_listed_until_kept_again,
    kept_tile_edges_gather_the_writes_that_reach_them_until_folded,
    layers_kept_whole_are_forgotten_by_any_field,
    kept_tile_edges_are_forgotten_by_a_bulk_write,
    a_query_reads_only_the_fields_it_names,
    a_written_feature_is_stored_with_its_commune_splits,
    rewriting_or_deleting_a_feature_moves_its_splits,
    a_failed_write_leaves_no_splits,
    a_boundary_change_recomputes_every_split,
    tables_by_a_coded_field_follow_every_write,
    alert_deliveries_are_queued_once_and_leased,
    failed_deliveries_are_retried_then_dead_until_replayed,
    subscriptions_end_but_stay_for_the_history,
    codes_are_added_once_and_retired_only_when_unused,
    a_lease_is_held_by_one_holder_until_it_runs_out_or_ends,
    an_ntm_history_is_copied_with_its_order_and_times,
    an_alert_history_is_copied_with_its_ids_and_not_sent_again,
    a_layer_is_copied_with_its_ids_and_timeline,
    registries_are_copied_with_their_history_and_scans,
);

#[path = "contract/alerts_and_codes.rs"]
mod alert_and_code_cases;
#[path = "contract/history_copies.rs"]
mod history_copy_cases;
#[path = "contract/leases.rs"]
mod lease_cases;
#[path = "contract/splits.rs"]
mod split_cases;

mod cases {
    pub use super::alert_and_code_cases::*;
    pub use super::history_copy_cases::*;
    pub use super::lease_cases::*;
    pub use super::split_cases::*;
    use super::*;

    pub(crate) fn ocop(code: &str, name: &str, stars: i64, lon: f64, lat: f64) -> Feature {
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
            ..Default::default()
        }
    }

    fn rect(x1: f64, y1: f64, x2: f64, y2: f64) -> Rect<f64> {
        Rect::new(coord! {x: x1, y: y1}, coord! {x: x2, y: y2})
    }

    pub async fn restamping_communes_keeps_the_old_code_and_moves_the_version(store: &dyn Store) {
        let ocop_layer = layer("ocop").expect("ocop");
        store
            .write(write(vec![
                ocop("31507", "Bánh pía", 5, 105.97, 9.6),
                ocop("31510", "Mắm cá linh", 3, 105.98, 9.61),
            ]))
            .await
            .expect("write");
        let before = store.versions().await.expect("versions")["ocop"];
        let changed = store
            .restamp_communes(
                ocop_layer,
                agrimap_model::BoundarySet::Y2025,
                vec![
                    restamp(1, "31507", "31510"),
                    restamp(2, "31507", "31999"),
                    restamp(99, "31507", "31999"),
                ],
            )
            .await
            .expect("restamp");
        assert_eq!(
            changed, 1,
            "an id not stored is skipped, and so is a feature whose code is not the one read"
        );
        assert!(store.versions().await.expect("versions")["ocop"] > before);
        let all = store
            .features(ocop_layer, &FeatureQuery::default())
            .await
            .expect("read");
        let text = |f: &Feature, name: &str| ocop_layer.text_of(f, name).map(str::to_owned);
        assert_eq!(text(&all[0], "commune_code").as_deref(), Some("31510"));
        assert_eq!(text(&all[0], "boundary_set").as_deref(), Some("2025"));
        assert_eq!(text(&all[0], "former_commune_code").as_deref(), Some("31507"));
        assert_eq!(text(&all[1], "commune_code").as_deref(), Some("31510"));
        assert_eq!(text(&all[1], "boundary_set").as_deref(), Some("pre-2025"));
        assert_eq!(text(&all[1], "former_commune_code"), None);

        let again = store
            .restamp_communes(
                ocop_layer,
                agrimap_model::BoundarySet::Y2025,
                vec![restamp(1, "31510", "31999")],
            )
            .await
            .expect("restamp");
        assert_eq!(again, 0, "a feature already in the set is not restamped twice");
    }

    fn restamp(id: i64, read: &str, code: &str) -> agrimap_store::Restamp {
        agrimap_store::Restamp {
            id,
            read: Some(read.to_owned()),
            code: code.to_owned(),
        }
    }

    pub async fn queries_by_bbox_commune_and_filter(store: &dyn Store) {
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

    pub async fn a_failed_write_leaves_nothing_and_versions_move_on_success(store: &dyn Store) {
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

    pub async fn polygons_are_stored_as_multipolygons_and_wrong_kinds_refused(store: &dyn Store) {
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
        let square = polygon![(x: 105.0, y: 9.0), (x: 105.1, y: 9.0), (x: 105.1, y: 9.1), (x: 105.0, y: 9.1), (x: 105.0, y: 9.0)];
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
            ..Default::default()
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

    pub async fn readings_are_idempotent_on_station_parameter_and_time(store: &dyn Store) {
        let r = |v: f64| Reading {
            station_id: "ST-01".into(),
            parameter: "salinity".into(),
            value: v,
            unit: "ppt".into(),
            time: "2026-11-20T07:00:00Z".parse().expect("time"),
        };
        let batch = WriteBatch {
            layers: vec![],
            readings: vec![r(2.5)],
            ..Default::default()
        };
        assert_eq!(store.write(batch.clone()).await.expect("write").readings, 1);
        assert_eq!(store.write(batch).await.expect("write").readings, 0);
        assert_eq!(store.readings("ST-01").await.expect("read"), vec![r(2.5)]);
    }

    pub async fn upserts_update_by_natural_key_and_keep_fields_not_given(store: &dyn Store) {
        let ocop_layer = layer("ocop").expect("ocop");
        let stars = ocop_layer.field_index("stars").expect("field");
        let producer = ocop_layer.field_index("producer").expect("field");
        let mut first = ocop("33001", "Gạo ST25", 4, 105.5, 9.8);
        first.properties[producer] = Value::from("HTX Hòa Tú");
        let upsert = |features: Vec<Feature>, update: Vec<&'static str>| Upsert {
            layer: ocop_layer,
            features,
            update,
            insert_new: true,
        };
        let done = store.upsert(upsert(vec![first], vec![])).await.expect("insert");
        assert_eq!((done.inserted, done.updated), (1, 0));
        // The same product again, with a new rating and no producer: one feature,
        // its stars updated, its producer kept.
        let again = ocop("33001", "Gạo ST25", 5, 105.6, 9.9);
        let done = store.upsert(upsert(vec![again], vec!["stars"])).await.expect("update");
        assert_eq!((done.inserted, done.updated), (0, 1));
        let all = store
            .features(ocop_layer, &FeatureQuery::default())
            .await
            .expect("read");
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].properties[stars], Value::Int(5));
        assert_eq!(all[0].properties[producer], Value::from("HTX Hòa Tú"));
        assert_eq!(all[0].geometry, Geometry::Point(point!(x: 105.6, y: 9.9)));
        // A write of features it read earlier brings none back: a key no
        // longer stored (deleted meanwhile) is left out, a stored one updated.
        let existing_only = Upsert {
            layer: ocop_layer,
            features: vec![
                ocop("33001", "Bánh pía", 3, 105.7, 9.7),
                ocop("33001", "Gạo ST25", 3, 105.6, 9.9),
            ],
            update: vec!["stars"],
            insert_new: false,
        };
        let done = store.upsert(existing_only).await.expect("update only");
        assert_eq!((done.inserted, done.updated), (0, 1));
        let all = store
            .features(ocop_layer, &FeatureQuery::default())
            .await
            .expect("read");
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].properties[stars], Value::Int(3));
    }

    /// A water-quality station of the `monitoring` layer.
    fn station(id: &str) -> Feature {
        let l = layer("monitoring").expect("monitoring");
        let mut properties = vec![Value::Null; l.fields.len()];
        let mut set = |f: &str, v: Value| properties[l.field_index(f).expect("field")] = v;
        set("station_id", id.into());
        set("commune_code", "33001".into());
        set("boundary_set", "pre-2025".into());
        set("name", format!("Trạm {id}").into());
        set("kind", "water_quality".into());
        set("alert_state", "ok".into());
        Feature {
            id: 0,
            geometry: point!(x: 105.5, y: 9.8).into(),
            properties,
        }
    }

    /// Water-quality stations `ids` in the `monitoring` layer.
    pub(crate) async fn add_stations(store: &dyn Store, ids: &[&str]) {
        let batch = WriteBatch {
            layers: vec![LayerWrite {
                layer: layer("monitoring").expect("monitoring"),
                replace: false,
                features: ids.iter().map(|id| station(id)).collect(),
            }],
            readings: vec![],
            ..Default::default()
        };
        store.write(batch).await.expect("stations");
    }

    pub(crate) fn salinity(station: &str, value: f64, time: &str) -> Reading {
        Reading {
            station_id: station.into(),
            parameter: "salinity".into(),
            value,
            unit: "ppt".into(),
            time: time.parse().expect("time"),
        }
    }

    /// What a judge was shown: each station with its latest readings.
    pub(crate) type Seen = Arc<Mutex<Vec<(String, Vec<Reading>)>>>;

    /// Alarm at 4 ppt and above; records what it was shown.
    pub(crate) fn judge(seen: Seen) -> Judge {
        Arc::new(move |id: &str, latest: &[Reading]| {
            seen.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((id.to_owned(), latest.to_vec()));
            let worst = latest.iter().map(|r| r.value).fold(f64::MIN, f64::max);
            if worst >= 4.0 {
                let r = &latest[0];
                let cause = AlertCause {
                    parameter: r.parameter.clone(),
                    value: r.value,
                    unit: r.unit.clone(),
                    time: r.time,
                    threshold: 4.0,
                    direction: agrimap_model::readings::Direction::Above,
                };
                (AlertState::Alarm, Some(cause))
            } else {
                (AlertState::Ok, None)
            }
        })
    }

    pub async fn ingestion_judges_stations_from_the_readings_it_holds(store: &dyn Store) {
        let monitoring = layer("monitoring").expect("monitoring");
        add_stations(store, &["WQ-01", "WQ-02"]).await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let first = store
            .ingest(
                vec![salinity("WQ-01", 5.0, "2026-11-20T08:00:00Z")],
                judge(seen.clone()),
            )
            .await
            .expect("ingest");
        assert_eq!(first.stored, 1);
        assert_eq!(first.judged["WQ-01"].0, AlertState::Alarm);
        // An older reading arrives later: the judge is shown the latest one the
        // store holds (08:00), not the batch's.
        let late = store
            .ingest(
                vec![
                    salinity("WQ-01", 1.0, "2026-11-20T07:00:00Z"),
                    salinity("WQ-01", 5.0, "2026-11-20T08:00:00Z"),
                ],
                judge(seen.clone()),
            )
            .await
            .expect("ingest");
        assert_eq!(late.stored, 1, "the 08:00 reading is stored already");
        assert_eq!(late.judged["WQ-01"].0, AlertState::Alarm);
        let shown = seen.lock().unwrap_or_else(PoisonError::into_inner).clone();
        assert_eq!(shown.len(), 2);
        assert_eq!(shown[1].1, vec![salinity("WQ-01", 5.0, "2026-11-20T08:00:00Z")]);
        // The state and the latest value are in the layer, for tiles and summaries.
        let query = FeatureQuery {
            filter: Some(Filter::eq("station_id", "WQ-01")),
            ..FeatureQuery::default()
        };
        let stored = store.features(monitoring, &query).await.expect("read");
        assert_eq!(monitoring.text_of(&stored[0], "alert_state"), Some("alarm"));
        assert_eq!(monitoring.value_of(&stored[0], "latest_salinity").as_f64(), Some(5.0));
        assert_eq!(
            store.latest_readings(Some("WQ-01")).await.expect("latest"),
            vec![salinity("WQ-01", 5.0, "2026-11-20T08:00:00Z")]
        );
        let between = store
            .readings_between(&ReadingQuery {
                station_id: "WQ-01".into(),
                from: "2026-11-20T07:30:00Z".parse().ok(),
                ..ReadingQuery::default()
            })
            .await
            .expect("series");
        assert_eq!(between, vec![salinity("WQ-01", 5.0, "2026-11-20T08:00:00Z")]);
        // A station without readings in the batch is left as it was.
        let other = store
            .features(
                monitoring,
                &FeatureQuery {
                    filter: Some(Filter::eq("station_id", "WQ-02")),
                    ..FeatureQuery::default()
                },
            )
            .await
            .expect("read");
        assert_eq!(monitoring.text_of(&other[0], "alert_state"), Some("ok"));
    }

    fn catch(station: &str, species: Option<&str>, value: f64, time: &str) -> Reading {
        Reading {
            station_id: station.into(),
            parameter: species.map_or_else(|| "pest_count".to_owned(), agrimap_model::pests::species_parameter),
            value,
            unit: "insects".into(),
            time: time.parse().expect("time"),
        }
    }

    /// A light trap's catch by species: each species' count is kept under its
    /// own parameter, and the judge is shown the latest of each, a species
    /// the province added to the `pest_species` list included.
    pub async fn each_pest_species_count_is_a_series_with_its_own_latest(store: &dyn Store) {
        add_stations(store, &["IT-09"]).await;
        store
            .add_code(&agrimap_model::Code {
                list: "pest_species".into(),
                code: "rice_thrips".into(),
                label_vi: "Bọ trĩ".into(),
                label_en: "Rice thrips".into(),
                retired: false,
            })
            .await
            .expect("a province's species");
        let (t1, t2) = ("2026-11-16T23:00:00Z", "2026-11-17T23:00:00Z");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let batch = vec![
            catch("IT-09", Some("brown_planthopper"), 100.0, t1),
            catch("IT-09", Some("brown_planthopper"), 4_600.0, t2),
            catch("IT-09", Some("rice_bug"), 20.0, t1),
            catch("IT-09", Some("rice_thrips"), 7.0, t1),
            catch("IT-09", None, 500.0, t2),
        ];
        let done = store.ingest(batch.clone(), judge(seen.clone())).await.expect("ingest");
        assert_eq!(done.stored, 5, "two species of one night are two readings");
        let latest = vec![
            catch("IT-09", None, 500.0, t2),
            catch("IT-09", Some("brown_planthopper"), 4_600.0, t2),
            catch("IT-09", Some("rice_bug"), 20.0, t1),
            catch("IT-09", Some("rice_thrips"), 7.0, t1),
        ];
        let shown = seen.lock().unwrap_or_else(PoisonError::into_inner).clone();
        assert_eq!(shown, vec![("IT-09".to_owned(), latest.clone())]);
        assert_eq!(done.judged["IT-09"].0, AlertState::Alarm);
        assert_eq!(store.latest_readings(Some("IT-09")).await.expect("latest"), latest);
        let all = store.latest_readings(None).await.expect("latest of all");
        assert_eq!(
            all.into_iter().filter(|r| r.station_id == "IT-09").collect::<Vec<_>>(),
            latest
        );
        let series = store
            .readings_between(&ReadingQuery {
                station_id: "IT-09".into(),
                parameter: Some("pest_count:brown_planthopper".into()),
                ..ReadingQuery::default()
            })
            .await
            .expect("series");
        assert_eq!(series, batch[..2].to_vec());
        assert_eq!(store.ingest(batch, judge(seen)).await.expect("again").stored, 0);
    }

    pub async fn a_bad_reading_stores_nothing(store: &dyn Store) {
        let before = store.versions().await.expect("versions");
        let nothing = Arc::new(Mutex::new(Vec::new()));
        let err = store
            .ingest(
                vec![
                    salinity("WQ-09", 2.0, "2026-11-20T08:00:00Z"),
                    salinity("WQ-09", f64::NAN, "2026-11-20T09:00:00Z"),
                ],
                judge(nothing),
            )
            .await
            .expect_err("a reading that is not a number");
        assert!(matches!(err, StoreError::InvalidReading { index: 1, .. }), "{err}");
        assert!(store.readings("WQ-09").await.expect("read").is_empty());
        assert_eq!(store.versions().await.expect("versions"), before);
    }

    pub async fn station_and_api_tokens_are_kept_as_hashes(store: &dyn Store) {
        add_stations(store, &["WQ-01"]).await;
        assert!(store.set_station_token_hash("WQ-01", "aa").await.expect("set"));
        assert!(!store.set_station_token_hash("NO-SUCH", "bb").await.expect("set"));
        assert_eq!(
            store.station_token_hash("WQ-01").await.expect("get").as_deref(),
            Some("aa")
        );
        assert!(store.set_station_token_hash("WQ-01", "cc").await.expect("replace"));
        assert_eq!(
            store.station_token_hash("WQ-01").await.expect("get").as_deref(),
            Some("cc")
        );

        let token = store
            .add_api_token(&NewApiToken {
                id: "t1".into(),
                name: "planner of the province".into(),
                role: Role::Planner,
                hash: "h1".into(),
                provinces: Vec::new(),
            })
            .await
            .expect("add");
        assert_eq!((token.id.as_str(), token.role), ("t1", Role::Planner));
        assert_eq!(token.provinces, Vec::<String>::new(), "every province");
        let scoped = store
            .add_api_token(&NewApiToken {
                id: "t2".into(),
                name: "editor of two provinces".into(),
                role: Role::Editor,
                hash: "h2".into(),
                provinces: vec!["87".into(), "94".into()],
            })
            .await
            .expect("add");
        assert_eq!(scoped.provinces, ["87", "94"]);
        assert_eq!(
            store
                .api_token_by_hash("h2")
                .await
                .expect("by hash")
                .map(|t| t.provinces),
            Some(vec!["87".into(), "94".into()])
        );
        assert_eq!(
            store.api_token_by_hash("h1").await.expect("by hash").map(|t| t.id),
            Some("t1".into())
        );
        assert!(store.revoke_api_token("t1").await.expect("revoke"));
        assert!(!store.revoke_api_token("t1").await.expect("revoke twice"));
        // For a copy of the store, revoked or not; only the hash is kept.
        assert_eq!(store.api_token_hash("t1").await.expect("hash").as_deref(), Some("h1"));
        assert_eq!(store.api_token_hash("t9").await.expect("hash"), None);
        assert_eq!(store.api_token_by_hash("h1").await.expect("by hash"), None);
        let listed = store.api_tokens().await.expect("list");
        assert_eq!(listed.len(), 2);
        assert!(listed[0].revoked_at.is_some());
    }

    fn pair(old: &str, new: &str, kind: PairKind) -> CrosswalkPair {
        CrosswalkPair {
            old_code: old.into(),
            old_name: format!("Xã {old}"),
            new_province_code: "92".into(),
            new_province_name: "Thành phố Cần Thơ".into(),
            new_code: new.into(),
            new_name: format!("Phường {new}"),
            kind,
        }
    }

    pub async fn the_crosswalk_is_replaced_whole_and_a_duplicate_pair_changes_nothing(store: &dyn Store) {
        let all = CrosswalkQuery::default();
        assert!(store.crosswalk(&all).await.expect("empty list").is_empty());
        let first = vec![
            pair("31507", "31510", PairKind::Partial),
            pair("31507", "31471", PairKind::Partial),
            pair("31510", "31510", PairKind::Full),
        ];
        assert_eq!(store.replace_crosswalk(first.clone()).await.expect("first list"), 3);
        let mut sorted = first.clone();
        sorted.sort_by(|a, b| (&a.old_code, &a.new_code).cmp(&(&b.old_code, &b.new_code)));
        assert_eq!(store.crosswalk(&all).await.expect("all"), sorted);
        let by_old = CrosswalkQuery {
            old_code: Some("31507".into()),
            new_code: None,
        };
        let codes: Vec<String> = store
            .crosswalk(&by_old)
            .await
            .expect("by old")
            .into_iter()
            .map(|p| p.new_code)
            .collect();
        assert_eq!(codes, ["31471", "31510"]);
        let by_new = CrosswalkQuery {
            old_code: None,
            new_code: Some("31510".into()),
        };
        let olds: Vec<String> = store
            .crosswalk(&by_new)
            .await
            .expect("by new")
            .into_iter()
            .map(|p| p.old_code)
            .collect();
        assert_eq!(olds, ["31507", "31510"]);

        // A duplicate pair is refused and the stored list stays as it was.
        let twice = vec![pair("1", "2", PairKind::Full), pair("1", "2", PairKind::Partial)];
        assert!(store.replace_crosswalk(twice).await.is_err());
        assert_eq!(store.crosswalk(&all).await.expect("unchanged"), sorted);

        // A new list takes the place of the old one.
        let second = vec![pair("00001", "00004", PairKind::Full)];
        assert_eq!(store.replace_crosswalk(second.clone()).await.expect("second"), 1);
        assert_eq!(store.crosswalk(&all).await.expect("replaced"), second);
    }

    fn record(key: &str, province: &str, body: &serde_json::Value) -> RegistryRecord {
        RegistryRecord {
            key: key.into(),
            province_code: province.into(),
            body: body.to_string(),
        }
    }

    fn json_of(text: &str) -> serde_json::Value {
        serde_json::from_str(text).expect("a stored record is JSON")
    }

    pub async fn registry_records_update_by_key_keep_a_history_and_a_repeated_key_changes_nothing(store: &dyn Store) {
        let kind = RegistryKind::Producers;
        let a = serde_json::json!({"code": "1801234567", "name": "HTX Xoài Mỹ Xương", "kind": "cooperative"});
        let b = serde_json::json!({"code": "1809999999", "name": "Công ty TNHH Phù Sa", "kind": "enterprise"});
        let first = store
            .put_records(
                kind,
                vec![record("1801234567", "99", &a), record("1809999999", "92", &b)],
                "t1",
            )
            .await
            .expect("first write");
        assert_eq!((first.inserted, first.updated, first.unchanged), (2, 0, 0));

        // The same records again change nothing and add no history.
        let again = store
            .put_records(kind, vec![record("1801234567", "99", &a)], "t1")
            .await
            .expect("same again");
        assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 1));

        let a2 = serde_json::json!({"code": "1801234567", "name": "HTX Xoài Cát Mỹ Xương", "kind": "cooperative"});
        let second = store
            .put_records(kind, vec![record("1801234567", "99", &a2)], "t2")
            .await
            .expect("update");
        assert_eq!((second.inserted, second.updated, second.unchanged), (0, 1, 0));
        let stored = store.record(kind, "1801234567").await.expect("read").expect("stored");
        assert_eq!(json_of(&stored.body), a2);
        assert!(
            store
                .record(RegistryKind::Products, "1801234567")
                .await
                .expect("other kind")
                .is_none()
        );

        let history = store.record_history(kind, "1801234567").await.expect("history");
        let seen: Vec<(&str, &str, serde_json::Value)> = history
            .iter()
            .map(|c| (c.action.as_str(), c.actor.as_str(), json_of(&c.body)))
            .collect();
        assert_eq!(seen, [("insert", "t1", a.clone()), ("update", "t2", a2.clone())]);
        let now = agrimap_model::UtcTime::now().unix();
        assert!(
            history.iter().all(|c| (now - c.at.unix()).abs() < 600),
            "each change is stamped with the time of its write: {history:?}"
        );

        let of_99: Vec<String> = store
            .records(kind, Some("99"))
            .await
            .expect("by province")
            .into_iter()
            .map(|r| r.key)
            .collect();
        assert_eq!(of_99, ["1801234567"]);
        assert_eq!(store.records(kind, None).await.expect("all").len(), 2);

        // A repeated key is refused and nothing of the write lands.
        let c = serde_json::json!({"code": "1800000001", "name": "Hộ Nguyễn Văn A", "kind": "household"});
        let err = store
            .put_records(
                kind,
                vec![
                    record("1800000001", "99", &c),
                    record("1801234567", "99", &c),
                    record("1800000001", "99", &c),
                ],
                "t3",
            )
            .await
            .expect_err("repeated key");
        assert!(matches!(err, StoreError::RepeatedKey { .. }), "{err}");
        assert!(store.record(kind, "1800000001").await.expect("read").is_none());
        assert_eq!(
            json_of(
                &store
                    .record(kind, "1801234567")
                    .await
                    .expect("read")
                    .expect("kept")
                    .body
            ),
            a2
        );
        assert_eq!(
            store.record_history(kind, "1801234567").await.expect("history").len(),
            2
        );
    }

    pub async fn product_page_scans_are_counted_by_day(store: &dyn Store) {
        for (day, n) in [("2026-12-05", 1), ("2026-12-06", 1), ("2026-12-05", 2)] {
            store.add_scans("SP-99-0001", day, n).await.expect("scan");
        }
        store.add_scans("SP-99-0002", "2026-12-05", 1).await.expect("scan");
        assert_eq!(
            store.scans("SP-99-0001").await.expect("scans"),
            [("2026-12-05".to_owned(), 3), ("2026-12-06".to_owned(), 1)]
        );
        assert!(store.scans("SP-99-0003").await.expect("none").is_empty());
    }

    pub async fn ntm_sets_are_shipped_and_a_stored_version_is_never_rewritten(store: &dyn Store) {
        use agrimap_store::ntm::{NtmError, StoredSet};
        let sets = store.criteria_sets().await.expect("sets");
        let shipped: Vec<(&str, u32)> = sets.iter().map(|s| (s.id.as_str(), s.version)).collect();
        assert_eq!(
            shipped,
            [
                ("ntm-advanced-commune-2021-2025", 1),
                ("ntm-commune-2021-2025", 1),
                ("ntm-model-commune-2021-2025", 1)
            ]
        );
        let national = sets.iter().find(|s| s.id == "ntm-commune-2021-2025").expect("national");
        let parsed = agrimap_model::ntm::CriteriaSet::parse(national.document.as_bytes()).expect("parses");
        assert_eq!(parsed.criteria.len(), 19);

        let v1 = StoredSet {
            id: "ntm-commune-2026-2030".into(),
            version: 1,
            document: "{\"first\": true}".into(),
        };
        assert!(store.add_criteria_set(&v1).await.expect("added"));
        // The same document again: nothing to do.
        assert!(!store.add_criteria_set(&v1).await.expect("same again"));
        // Other content under the same version: refused, the stored one kept.
        let rewritten = StoredSet {
            document: "{\"first\": false}".into(),
            ..v1.clone()
        };
        assert!(matches!(
            store.add_criteria_set(&rewritten).await,
            Err(StoreError::Ntm(NtmError::VersionTaken { version: 1, .. }))
        ));
        let v2 = StoredSet {
            version: 2,
            ..rewritten
        };
        assert!(store.add_criteria_set(&v2).await.expect("v2"));
        let kept: Vec<StoredSet> = store
            .criteria_sets()
            .await
            .expect("sets")
            .into_iter()
            .filter(|s| s.id == "ntm-commune-2026-2030")
            .collect();
        assert_eq!(kept, vec![v1, v2]);
    }

    fn commune(code: &str) -> Feature {
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
            geometry: polygon![(x: 105.0, y: 10.0), (x: 105.1, y: 10.0), (x: 105.1, y: 10.1), (x: 105.0, y: 10.0)]
                .into(),
            properties,
        }
    }

    // One dossier from draft to revoked: its steps read best in order.
    #[allow(clippy::too_many_lines)]
    pub async fn ntm_history_is_append_only_and_each_move_checks_the_state(store: &dyn Store) {
        use agrimap_model::ntm::{DossierState, EntryValue};
        use agrimap_store::ntm::{CommuneStatus, DossierKey, EvidenceFile, NewEntry, NewMove, NtmError, state_after};
        let communes = layer("admin_commune").expect("admin_commune");
        store
            .write(WriteBatch {
                layers: vec![LayerWrite {
                    layer: communes,
                    replace: false,
                    features: vec![commune("70001")],
                }],
                readings: vec![],
                ..Default::default()
            })
            .await
            .expect("commune");
        let key = DossierKey {
            commune_code: "70001".into(),
            boundary_set: "2025".into(),
            year: 2025,
        };
        let entry = |indicator: &str, value: Option<EntryValue>, evidence: Vec<String>| NewEntry {
            dossier: key.clone(),
            set_id: "ntm-commune-2021-2025".into(),
            indicator_id: indicator.into(),
            value,
            comment: format!("{indicator} by the commune"),
            evidence,
            author: "editor-1".into(),
        };

        // Evidence is kept once per content, and an entry may cite only kept files.
        let file = EvidenceFile {
            sha256: "ab".repeat(32),
            name: "bien-ban.pdf".into(),
            media_type: "application/pdf".into(),
            size: 9,
            bytes: b"%PDF-1.7\n".to_vec(),
            author: "editor-1".into(),
        };
        assert!(store.add_evidence(&file).await.expect("evidence"));
        assert!(!store.add_evidence(&file).await.expect("same evidence"));
        let without_bytes = store.evidence(&file.sha256, false).await.expect("read").expect("kept");
        assert_eq!((without_bytes.size, without_bytes.bytes.len()), (9, 0));
        assert_eq!(
            store.evidence(&file.sha256, true).await.expect("read"),
            Some(file.clone())
        );
        assert!(matches!(
            store
                .add_entry(&entry("1.1", Some(EntryValue::Pass(true)), vec!["cd".repeat(32)]))
                .await,
            Err(StoreError::Ntm(NtmError::UnknownEvidence(_)))
        ));
        let first = store
            .add_entry(&entry("1.1", Some(EntryValue::Pass(true)), vec![file.sha256.clone()]))
            .await
            .expect("entry");
        let second = store
            .add_entry(&entry("2.2", Some(EntryValue::Number(72.5)), vec![]))
            .await
            .expect("entry");
        let third = store.add_entry(&entry("2.2", None, vec![])).await.expect("withdrawn");
        assert!(first.seq < second.seq && second.seq < third.seq);
        assert_eq!(third.entry.value, None);
        let now = agrimap_model::UtcTime::now().unix();
        assert!(
            (now - first.at.unix()).abs() < 600,
            "stamped at its write: {}",
            first.at
        );
        let entries = store.entries(&key).await.expect("entries");
        assert_eq!(entries, vec![first, second, third]);
        // Where a file is cited: once per dossier, whichever entries cite it.
        store
            .add_entry(&entry("1.2", Some(EntryValue::Pass(true)), vec![file.sha256.clone()]))
            .await
            .expect("cited again");
        assert_eq!(
            store.evidence_citations(&file.sha256).await.expect("citations"),
            vec![key.clone()]
        );
        assert!(
            store
                .evidence_citations(&"cd".repeat(32))
                .await
                .expect("no citations")
                .is_empty()
        );
        assert!(
            store
                .entries(&DossierKey {
                    year: 2024,
                    ..key.clone()
                })
                .await
                .expect("other year")
                .is_empty()
        );

        let mv = |from: DossierState, to: DossierState, status: Option<CommuneStatus>| NewMove {
            dossier: key.clone(),
            from,
            to,
            author: "someone".into(),
            role: Role::Editor,
            details: "{}".into(),
            commune_status: status,
        };
        // A move from a state the dossier is not in: refused, nothing kept.
        assert!(matches!(
            store
                .add_move(&mv(DossierState::Submitted, DossierState::Appraised, None))
                .await,
            Err(StoreError::Ntm(NtmError::StateChanged {
                expected: "submitted",
                found: "draft"
            }))
        ));
        let submitted = store
            .add_move(&mv(DossierState::Draft, DossierState::Submitted, None))
            .await
            .expect("submitted");
        // Entries and moves share one sequence: the history has one order.
        assert!(submitted.seq > entries[2].seq, "{} {}", submitted.seq, entries[2].seq);
        // Submitted: the values are frozen.
        assert!(matches!(
            store
                .add_entry(&entry("1.2", Some(EntryValue::Pass(true)), vec![]))
                .await,
            Err(StoreError::Ntm(NtmError::NotEditable("submitted")))
        ));
        store
            .add_move(&mv(DossierState::Submitted, DossierState::Appraised, None))
            .await
            .expect("appraised");
        // A recognition of a commune the layer lacks: refused whole.
        let missing = NewMove {
            dossier: DossierKey {
                commune_code: "70002".into(),
                ..key.clone()
            },
            ..mv(
                DossierState::Draft,
                DossierState::Submitted,
                Some(CommuneStatus {
                    status: "standard".into(),
                    year: Some(2025),
                }),
            )
        };
        assert!(matches!(
            store.add_move(&missing).await,
            Err(StoreError::Ntm(NtmError::UnknownCommune { .. }))
        ));
        assert!(store.moves("70002", "2025", None).await.expect("moves").is_empty());
        let before = store.versions().await.expect("versions")["admin_commune"];
        store
            .add_move(&mv(
                DossierState::Appraised,
                DossierState::Recognised,
                Some(CommuneStatus {
                    status: "standard".into(),
                    year: Some(2025),
                }),
            ))
            .await
            .expect("recognised");
        assert!(store.versions().await.expect("versions")["admin_commune"] > before);
        // The store holds this one commune.
        let held = store
            .features(communes, &FeatureQuery::default())
            .await
            .expect("communes");
        let field = |name: &str| held[0].properties[communes.field_index(name).expect("field")].clone();
        assert_eq!(
            (field("ntm_status"), field("ntm_year")),
            (Value::Text("standard".into()), Value::Int(2025))
        );
        let moves = store.moves("70001", "2025", Some(2025)).await.expect("moves");
        assert_eq!(
            moves.iter().map(|m| (m.from, m.to)).collect::<Vec<_>>(),
            [
                (DossierState::Draft, DossierState::Submitted),
                (DossierState::Submitted, DossierState::Appraised),
                (DossierState::Appraised, DossierState::Recognised)
            ]
        );
        assert_eq!(state_after(&moves), DossierState::Recognised);
        assert!(
            store
                .moves("70001", "2025", Some(2024))
                .await
                .expect("moves")
                .is_empty()
        );
        assert_eq!(store.moves("70001", "2025", None).await.expect("moves").len(), 3);
    }

    fn at(s: &str) -> agrimap_model::UtcTime {
        agrimap_model::UtcTime::parse(s).expect("a time")
    }

    async fn read_at(store: &dyn Store, l: &'static agrimap_model::LayerDef, q: FeatureQuery) -> Vec<Feature> {
        store.features(l, &q).await.expect("features")
    }

    async fn one_at(
        store: &dyn Store,
        l: &'static agrimap_model::LayerDef,
        id: i64,
        t: Option<&str>,
    ) -> Option<Feature> {
        store
            .feature_as_of(l, id, Audience::Public, t.map(at))
            .await
            .expect("feature")
    }

    /// Every update and delete of a versioned layer closes the version it
    /// replaces; `as_of` reads the layer as it stood, with the same bbox,
    /// commune and filter rules; a failed change leaves the past untouched.
    /// A square crop parcel of `side` degrees with its south-west corner at (`lon`, `lat`).
    fn parcel(id: &str, crop: &str, lon: f64, lat: f64, side: f64) -> Feature {
        let l = layer("crop").expect("crop");
        let mut properties = vec![Value::Null; l.fields.len()];
        let mut set = |f: &str, v: Value| properties[l.field_index(f).expect("field")] = v;
        set("parcel_id", id.into());
        set("commune_code", "33001".into());
        set("boundary_set", "pre-2025".into());
        set("crop_type", crop.into());
        set("season", "he_thu".into());
        set("owner_phone", "0900000000".into());
        Feature {
            id: 0,
            geometry: polygon![
                (x: lon, y: lat),
                (x: lon + side, y: lat),
                (x: lon + side, y: lat + side),
                (x: lon, y: lat + side),
                (x: lon, y: lat),
            ]
            .into(),
            properties,
        }
    }

    pub async fn a_query_reads_only_the_fields_it_names(store: &dyn Store) {
        let crop = layer("crop").expect("crop");
        let mut p = parcel("P-1", "rice", 105.1, 9.1, 0.01);
        p.properties[crop.field_index("area_ha").expect("field")] = Value::Real(1.5);
        p.properties[crop.field_index("planting_date").expect("field")] = "2025-05-01".into();
        let upsert = Upsert {
            layer: crop,
            features: vec![p],
            update: vec![],
            insert_new: true,
        };
        store.upsert(upsert).await.expect("parcel");
        let query = FeatureQuery {
            fields: Some(&["crop_type", "variety"]),
            ..FeatureQuery::default()
        };
        let read = store.features(crop, &query).await.expect("read");
        let value = |name: &str| read[0].properties[crop.field_index(name).expect("field")].clone();
        assert_eq!(value("crop_type"), Value::from("rice"));
        assert_eq!(value("variety"), Value::Null, "named, and empty");
        // Unread, whatever their type.
        assert_eq!(value("area_ha"), Value::Null);
        assert_eq!(value("parcel_id"), Value::Null);
        assert_eq!(value("planting_date"), Value::Null);
        assert!(matches!(read[0].geometry, Geometry::MultiPolygon(_)));
        let all = store.features(crop, &FeatureQuery::default()).await.expect("read");
        assert_eq!(
            all[0].properties[crop.field_index("planting_date").expect("field")],
            Value::from("2025-05-01")
        );
        assert_eq!(
            all[0].properties[crop.field_index("area_ha").expect("field")],
            Value::Real(1.5)
        );
    }

    /// The kept crop layer of the z11 tile `(x, 968)` drawn with `options`.
    fn crop_tile(x: u32, options: &str) -> OverviewKey {
        OverviewKey {
            layer: "crop",
            options: options.into(),
            z: 11,
            x,
            y: 968,
        }
    }

    /// Two tiles' bounds, far apart: west and east.
    fn west_and_east() -> (Rect<f64>, Rect<f64>) {
        (
            Rect::new(coord! { x: 105.0, y: 9.0 }, coord! { x: 105.2, y: 9.2 }),
            Rect::new(coord! { x: 106.0, y: 9.0 }, coord! { x: 106.2, y: 9.2 }),
        )
    }

    fn crop_upsert(features: Vec<Feature>, update: Vec<&'static str>) -> Upsert {
        Upsert {
            layer: layer("crop").expect("crop"),
            features,
            update,
            insert_new: true,
        }
    }

    // One store's story told in order, like the versions case below.
    #[allow(clippy::too_many_lines)]
    pub async fn kept_tile_layers_are_forgotten_only_where_a_write_reaches(store: &dyn Store) {
        let crop = layer("crop").expect("crop");
        let key = |x: u32| crop_tile(x, "d1 test");
        let ((west, east), upsert) = (west_and_east(), crop_upsert);
        store
            .upsert(upsert(vec![parcel("P-1", "rice", 105.1, 9.1, 0.01)], vec![]))
            .await
            .expect("first parcel");

        // Kept at the current version; refused at a version a write has passed.
        let v = store.versions().await.expect("versions")["crop"];
        assert!(store.keep_overview(&key(1), west, v, b"west").await.expect("keep"));
        assert!(store.keep_overview(&key(2), east, v, b"east").await.expect("keep"));
        assert!(!store.keep_overview(&key(3), east, v + 1, b"stale").await.expect("keep"));
        assert_eq!(store.overview(&key(1)).await.expect("read"), Some(b"west".to_vec()));
        assert_eq!(store.overview(&key(3)).await.expect("read"), None);
        assert_eq!(store.overview_count().await.expect("count"), 2);
        // Another drawing of the same tile is another kept layer.
        let other = OverviewKey {
            options: "d1 other".into(),
            ..key(1)
        };
        assert_eq!(store.overview(&other).await.expect("read"), None);

        // A new parcel in the west forgets the west tile only.
        store
            .upsert(upsert(vec![parcel("P-2", "rice", 105.15, 9.15, 0.01)], vec![]))
            .await
            .expect("second parcel");
        assert_eq!(store.overview(&key(1)).await.expect("read"), None);
        assert_eq!(store.overview(&key(2)).await.expect("read"), Some(b"east".to_vec()));

        // A change of a field the coalesced tile does not draw forgets nothing.
        let v = store.versions().await.expect("versions")["crop"];
        assert!(
            store
                .keep_overview(&key(1), west, v, b"west again")
                .await
                .expect("keep")
        );
        let mut phone = parcel("P-2", "rice", 105.15, 9.15, 0.01);
        let owner_phone = crop.field_index("owner_phone").expect("field");
        phone.properties[owner_phone] = "0911111111".into();
        store
            .upsert(upsert(vec![phone], vec!["owner_phone"]))
            .await
            .expect("phone");
        assert_eq!(
            store.overview(&key(1)).await.expect("read"),
            Some(b"west again".to_vec())
        );

        // A change of class forgets it; so does moving a parcel out of the
        // tile (its old place is forgotten too).
        store
            .upsert(upsert(
                vec![parcel("P-2", "durian", 105.15, 9.15, 0.01)],
                vec!["crop_type"],
            ))
            .await
            .expect("class");
        assert_eq!(store.overview(&key(1)).await.expect("read"), None);
        let v = store.versions().await.expect("versions")["crop"];
        assert!(
            store
                .keep_overview(&key(1), west, v, b"west third")
                .await
                .expect("keep")
        );
        store
            .upsert(upsert(
                vec![parcel("P-2", "durian", 107.0, 9.15, 0.01)],
                vec!["crop_type"],
            ))
            .await
            .expect("moved away");
        assert_eq!(store.overview(&key(1)).await.expect("read"), None);

        // Replacing the whole layer forgets the tiles its old and new
        // features reach, and keeps a tile none of them did.
        let v = store.versions().await.expect("versions")["crop"];
        assert!(
            store
                .keep_overview(&key(1), west, v, b"west fourth")
                .await
                .expect("keep")
        );
        let batch = WriteBatch {
            layers: vec![LayerWrite {
                layer: crop,
                replace: true,
                features: vec![parcel("P-9", "rice", 103.0, 8.0, 0.01)],
            }],
            ..WriteBatch::default()
        };
        store.write(batch).await.expect("replace");
        assert_eq!(store.overview(&key(1)).await.expect("read"), None);
        assert_eq!(store.overview(&key(2)).await.expect("read"), Some(b"east".to_vec()));
        assert_eq!(store.overview_count().await.expect("count"), 1);
        assert_eq!(store.forget_overviews().await.expect("forget"), 1);
        assert_eq!(store.overview(&key(2)).await.expect("read"), None);
    }

    /// What a write forgets is listed to be drawn again, for the drawing it
    /// was kept with, until it is kept again; a phone change lists nothing;
    /// another drawing's entries are dropped when the list is read.
    pub async fn forgotten_tile_layers_are_listed_until_kept_again(store: &dyn Store) {
        let crop = layer("crop").expect("crop");
        let key = crop_tile;
        let ((west, east), upsert) = (west_and_east(), crop_upsert);
        store
            .upsert(upsert(vec![parcel("P-1", "rice", 105.1, 9.1, 0.01)], vec![]))
            .await
            .expect("first parcel");
        let v = store.versions().await.expect("versions")["crop"];
        for (k, bounds) in [
            (key(1, "d1 now"), west),
            (key(2, "d1 now"), east),
            (key(1, "d0 old"), west),
        ] {
            assert!(store.keep_overview(&k, bounds, v, b"mvt").await.expect("keep"));
        }
        assert!(store.overviews_to_redraw("d1 now", 10).await.expect("list").is_empty());

        // A phone number changes nothing drawn: nothing to draw again.
        let mut phone = parcel("P-1", "rice", 105.1, 9.1, 0.01);
        phone.properties[crop.field_index("owner_phone").expect("field")] = "0911111111".into();
        store
            .upsert(upsert(vec![phone], vec!["owner_phone"]))
            .await
            .expect("phone");
        assert!(store.overviews_to_redraw("d1 now", 10).await.expect("list").is_empty());

        // A new parcel in the west: both drawings of the west tile forgotten,
        // the one served listed (the other is dropped as the list is read).
        store
            .upsert(upsert(vec![parcel("P-2", "mango", 105.15, 9.15, 0.01)], vec![]))
            .await
            .expect("second parcel");
        assert_eq!(
            store.overviews_to_redraw("d1 now", 10).await.expect("list"),
            vec![key(1, "d1 now")]
        );
        assert_eq!(
            store.overview(&key(2, "d1 now")).await.expect("read"),
            Some(b"mvt".to_vec())
        );

        // Listed until kept: a keep refused for a passed version leaves it listed.
        let v = store.versions().await.expect("versions")["crop"];
        assert!(
            !store
                .keep_overview(&key(1, "d1 now"), west, v - 1, b"late")
                .await
                .expect("keep")
        );
        assert_eq!(store.overviews_to_redraw("d1 now", 10).await.expect("list").len(), 1);
        assert!(
            store
                .keep_overview(&key(1, "d1 now"), west, v, b"again")
                .await
                .expect("keep")
        );
        assert!(store.overviews_to_redraw("d1 now", 10).await.expect("list").is_empty());
    }

    /// A layer kept whole at the first legible zoom carries every public
    /// field: an update of any field forgets it (and lists it), where the
    /// coalesced layers below that zoom are forgotten only by the geometry
    /// and the class.
    pub async fn layers_kept_whole_are_forgotten_by_any_field(store: &dyn Store) {
        let crop = layer("crop").expect("crop");
        let (west, _) = west_and_east();
        let at = |z: u8| OverviewKey {
            z,
            ..crop_tile(1, "d1 now")
        };
        let season = crop.field_index("season").expect("field");
        store
            .upsert(crop_upsert(vec![parcel("P-1", "rice", 105.1, 9.1, 0.01)], vec![]))
            .await
            .expect("first parcel");
        let v = store.versions().await.expect("versions")["crop"];
        for z in [11, 13, 14] {
            assert!(store.keep_overview(&at(z), west, v, b"mvt").await.expect("keep"));
        }
        let mut winter = parcel("P-1", "rice", 105.1, 9.1, 0.01);
        winter.properties[season] = "dong_xuan".into();
        store
            .upsert(crop_upsert(vec![winter], vec!["season"]))
            .await
            .expect("season");
        assert_eq!(store.overview(&at(11)).await.expect("read"), Some(b"mvt".to_vec()));
        for z in [13, 14] {
            assert_eq!(store.overview(&at(z)).await.expect("read"), None, "z{z}");
        }
        assert_eq!(
            store.overviews_to_redraw("d1 now", 10).await.expect("list"),
            vec![at(13), at(14)]
        );
    }

    /// A tile layer's kept edges survive a write that reaches them, with the
    /// write's old and new versions listed beside them (geometry and class);
    /// a write elsewhere or of an undrawn field lists nothing; a fold
    /// replaces only the edges it read and drops the changes it folded.
    // One store's story told in order.
    #[allow(clippy::too_many_lines)]
    pub async fn kept_tile_edges_gather_the_writes_that_reach_them_until_folded(store: &dyn Store) {
        let crop = layer("crop").expect("crop");
        let crop_type = crop.field_index("crop_type").expect("field");
        let key = |x: u32| crop_tile(x, "d1 now");
        let ((west, east), upsert) = (west_and_east(), crop_upsert);
        store
            .upsert(upsert(vec![parcel("P-1", "rice", 105.1, 9.1, 0.01)], vec![]))
            .await
            .expect("first parcel");
        let v = store.versions().await.expect("versions")["crop"];
        assert!(
            !store
                .keep_overview_edges(&key(1), west, v + 1, b"stale")
                .await
                .expect("keep")
        );
        assert!(store.overview_edges(&key(1)).await.expect("read").is_none());
        assert!(
            store
                .keep_overview_edges(&key(1), west, v, b"west")
                .await
                .expect("keep")
        );
        assert!(
            store
                .keep_overview_edges(&key(2), east, v, b"east")
                .await
                .expect("keep")
        );
        let kept = store.overview_edges(&key(1)).await.expect("read").expect("kept");
        assert_eq!((kept.edges.as_slice(), kept.changes.len()), (&b"west"[..], 0));

        // A phone number is not drawn: nothing listed.
        let mut phone = parcel("P-1", "rice", 105.1, 9.1, 0.01);
        phone.properties[crop.field_index("owner_phone").expect("field")] = "0911111111".into();
        store
            .upsert(upsert(vec![phone], vec!["owner_phone"]))
            .await
            .expect("phone");
        assert!(
            store
                .overview_edges(&key(1))
                .await
                .expect("read")
                .expect("kept")
                .changes
                .is_empty()
        );

        // A recode in the west lists the old version (removed) and the new,
        // with their classes and geometry; the east tile lists nothing.
        store
            .upsert(upsert(
                vec![parcel("P-1", "durian", 105.1, 9.1, 0.01)],
                vec!["crop_type"],
            ))
            .await
            .expect("recode");
        let kept = store.overview_edges(&key(1)).await.expect("read").expect("kept");
        let listed: Vec<(bool, Value)> = kept
            .changes
            .iter()
            .map(|c| (c.removed, c.feature.properties[crop_type].clone()))
            .collect();
        assert_eq!(listed, [(true, "rice".into()), (false, "durian".into())]);
        let area = |c: &agrimap_store::EdgeChange| geo::Area::unsigned_area(&c.feature.geometry);
        assert!(kept.changes.iter().all(|c| (area(c) - 1e-4).abs() < 1e-12));
        assert!(
            kept.changes
                .iter()
                .all(|c| c.feature.properties[crop.field_index("owner_phone").expect("field")] == Value::Null)
        );
        assert!(
            store
                .overview_edges(&key(2))
                .await
                .expect("read")
                .expect("kept")
                .changes
                .is_empty()
        );

        // A fold of edges replaced since is refused and changes nothing; the
        // fold of the edges read replaces them and drops what it folded.
        let ids: Vec<i64> = kept.changes.iter().map(|c| c.id).collect();
        assert!(
            !store
                .fold_overview_edges(&key(1), kept.generation + 1, b"wrong", &ids)
                .await
                .expect("fold")
        );
        assert!(
            store
                .fold_overview_edges(&key(1), kept.generation, b"west folded", &ids[..1])
                .await
                .expect("fold")
        );
        let folded = store.overview_edges(&key(1)).await.expect("read").expect("kept");
        assert_eq!(folded.edges, b"west folded");
        assert_ne!(folded.generation, kept.generation);
        assert_eq!(folded.changes.iter().map(|c| c.id).collect::<Vec<_>>(), ids[1..]);

        // A deletion lists the deleted version; keeping edges afresh drops
        // every change listed before.
        store
            .write(WriteBatch {
                changes: vec![agrimap_store::Change {
                    at: agrimap_model::UtcTime::now(),
                    layer: crop,
                    put: vec![],
                    remove: vec![vec![Value::Text("P-1".into())]],
                }],
                ..WriteBatch::default()
            })
            .await
            .expect("delete");
        let listed = store
            .overview_edges(&key(1))
            .await
            .expect("read")
            .expect("kept")
            .changes;
        assert_eq!(listed.len(), 2);
        assert!(listed[1].removed && listed[1].feature.properties[crop_type] == Value::from("durian"));
        let v = store.versions().await.expect("versions")["crop"];
        assert!(
            store
                .keep_overview_edges(&key(1), west, v, b"west afresh")
                .await
                .expect("keep")
        );
        let afresh = store.overview_edges(&key(1)).await.expect("read").expect("kept");
        assert_eq!(
            (afresh.edges.as_slice(), afresh.changes.len()),
            (&b"west afresh"[..], 0)
        );

        // Forgetting the kept layers forgets their edges too.
        store.forget_overviews().await.expect("forget");
        assert!(store.overview_edges(&key(1)).await.expect("read").is_none());
        assert!(store.overview_edges(&key(2)).await.expect("read").is_none());
    }

    /// A write of more than 2,000 feature versions over one tile's kept
    /// edges (a bulk import) forgets the edges instead of listing them: the
    /// tile is drawn from its features once. One of 2,000 lists them all.
    pub async fn kept_tile_edges_are_forgotten_by_a_bulk_write(store: &dyn Store) {
        let key = |x: u32| crop_tile(x, "d1 now");
        let (west, east) = west_and_east();
        let v = store.versions().await.expect("versions")["crop"];
        assert!(
            store
                .keep_overview_edges(&key(1), west, v, b"west")
                .await
                .expect("keep")
        );
        assert!(
            store
                .keep_overview_edges(&key(2), east, v, b"east")
                .await
                .expect("keep")
        );
        let bulk = |first: i32, n: i32, lon: f64| -> Vec<Feature> {
            (first..first + n)
                .map(|i| {
                    let (row, column) = (f64::from(i / 50 % 50), f64::from(i % 50));
                    parcel(
                        &format!("P-BULK-{i}"),
                        "rice",
                        lon + column * 0.003,
                        9.0 + row * 0.003,
                        0.002,
                    )
                })
                .collect()
        };
        store
            .upsert(crop_upsert(bulk(0, 2_000, 106.0), vec![]))
            .await
            .expect("2,000 in the east");
        let listed = store
            .overview_edges(&key(2))
            .await
            .expect("read")
            .expect("still kept")
            .changes;
        assert_eq!(listed.len(), 2_000);
        store
            .upsert(crop_upsert(bulk(10_000, 2_001, 105.0), vec![]))
            .await
            .expect("2,001 in the west");
        assert!(
            store.overview_edges(&key(1)).await.expect("read").is_none(),
            "forgotten"
        );
    }

    // One layer's story told in order: each step reads what the one before wrote.
    #[allow(clippy::too_many_lines)]
    pub async fn versions_close_on_update_and_delete_and_as_of_reads_them(store: &dyn Store) {
        let l = layer("ocop").expect("ocop");
        let a = ocop("70001", "A", 3, 105.0, 10.0);
        let b = ocop("70002", "B", 3, 106.0, 11.0);
        let mut batch = write(vec![a.clone(), b.clone()]);
        batch.valid_from = Some(at("2024-01-01T00:00:00Z"));
        store.write(batch).await.expect("first versions");
        let a4 = ocop("70001", "A", 4, 105.0, 10.0);
        let change = agrimap_store::Change {
            at: at("2025-03-01T00:00:00Z"),
            layer: l,
            put: vec![a4],
            remove: vec![vec![Value::Text("OCOP-B".into())]],
        };
        let done = store
            .write(WriteBatch {
                changes: vec![change],
                ..WriteBatch::default()
            })
            .await
            .expect("a dated change");
        assert_eq!(done.features, 2);

        let as_of = |t: &str, q: FeatureQuery| FeatureQuery {
            as_of: Some(at(t)),
            ..q
        };
        let stars = |fs: &[Feature]| -> Vec<(String, i64)> {
            let mut v: Vec<(String, i64)> = fs
                .iter()
                .map(|f| {
                    let Value::Text(id) = &f.properties[l.field_index("product_id").expect("id")] else {
                        panic!("product id");
                    };
                    let Value::Int(s) = f.properties[l.field_index("stars").expect("stars")] else {
                        panic!("stars");
                    };
                    (id.clone(), s)
                })
                .collect();
            v.sort();
            v
        };
        let now = read_at(store, l, FeatureQuery::default()).await;
        assert_eq!(stars(&now), [("OCOP-A".to_owned(), 4)]);
        assert!(
            read_at(store, l, as_of("2023-12-31T23:59:59Z", FeatureQuery::default()))
                .await
                .is_empty()
        );
        assert_eq!(
            store
                .count(l, &as_of("2023-12-31T23:59:59Z", FeatureQuery::default()))
                .await
                .expect("count"),
            0
        );
        let then = read_at(store, l, as_of("2024-06-01T00:00:00Z", FeatureQuery::default())).await;
        assert_eq!(stars(&then), [("OCOP-A".to_owned(), 3), ("OCOP-B".to_owned(), 3)]);
        // A keeps its id through its versions, and the answer is in id order.
        assert!(then.iter().any(|f| f.id == now[0].id));
        assert!(then.windows(2).all(|w| w[0].id < w[1].id));
        assert_eq!(
            store
                .count(l, &as_of("2024-06-01T00:00:00Z", FeatureQuery::default()))
                .await
                .expect("count"),
            2
        );
        // The change's instant is included.
        assert_eq!(
            stars(&read_at(store, l, as_of("2025-03-01T00:00:00Z", FeatureQuery::default())).await),
            [("OCOP-A".to_owned(), 4)]
        );
        assert_eq!(
            stars(&read_at(store, l, as_of("2025-02-28T23:59:59Z", FeatureQuery::default())).await).len(),
            2
        );
        // A box, a commune and a filter select among the past versions too.
        let near_b = FeatureQuery::in_bbox(rect(105.9, 10.9, 106.1, 11.1));
        assert!(read_at(store, l, near_b.clone()).await.is_empty());
        assert_eq!(
            stars(&read_at(store, l, as_of("2024-06-01T00:00:00Z", near_b)).await),
            [("OCOP-B".to_owned(), 3)]
        );
        let in_70001 = FeatureQuery {
            commune: Some("70001".into()),
            filter: Some(Filter::eq("stars", Value::Int(3))),
            ..FeatureQuery::default()
        };
        assert!(read_at(store, l, in_70001.clone()).await.is_empty());
        assert_eq!(
            stars(&read_at(store, l, as_of("2024-06-01T00:00:00Z", in_70001)).await),
            [("OCOP-A".to_owned(), 3)]
        );
        // One feature by id as it stood; a removed feature is found in its past only.
        let b_id = then.iter().find(|f| f.id != now[0].id).expect("B").id;
        assert!(one_at(store, l, b_id, None).await.is_none());
        assert!(one_at(store, l, b_id, Some("2025-06-01T00:00:00Z")).await.is_none());
        assert!(one_at(store, l, b_id, Some("2024-06-01T00:00:00Z")).await.is_some());
        let a_then = one_at(store, l, now[0].id, Some("2024-06-01T00:00:00Z"))
            .await
            .expect("A then");
        assert_eq!(stars(&[a_then]), [("OCOP-A".to_owned(), 3)]);
        assert!(
            one_at(store, l, now[0].id, Some("2023-06-01T00:00:00Z"))
                .await
                .is_none()
        );
        // Streams read the past the same way.
        let streamed: Vec<Feature> = store
            .stream(l, as_of("2024-06-01T00:00:00Z", FeatureQuery::default()))
            .map(|f| f.expect("feature"))
            .collect()
            .await;
        assert_eq!(stars(&streamed), stars(&then));
        let resumed: Vec<Feature> = store
            .stream_after(
                l,
                as_of("2024-06-01T00:00:00Z", FeatureQuery::default()),
                Some(then[0].id),
            )
            .map(|f| f.expect("feature"))
            .collect()
            .await;
        assert_eq!(resumed.len(), 1);

        // An upsert that changes nothing keeps no version; one that changes
        // a value closes the version at the time of the write (now).
        let same = Upsert {
            layer: l,
            features: vec![ocop("70001", "A", 4, 105.0, 10.0)],
            update: vec!["stars"],
            insert_new: true,
        };
        store.upsert(same).await.expect("same values");
        let renamed = Upsert {
            layer: l,
            features: vec![ocop("70001", "A", 5, 105.0, 10.0)],
            update: vec!["stars"],
            insert_new: true,
        };
        store.upsert(renamed).await.expect("five stars");
        assert_eq!(
            stars(&read_at(store, l, FeatureQuery::default()).await),
            [("OCOP-A".to_owned(), 5)]
        );
        assert_eq!(
            stars(&read_at(store, l, as_of("2025-06-01T00:00:00Z", FeatureQuery::default())).await),
            [("OCOP-A".to_owned(), 4)]
        );

        // A change that fails half-way (its removal is fine, its feature is
        // not) leaves the layer and its past as they were.
        let mut broken = ocop("70003", "C", 3, 105.5, 10.5);
        broken.properties[l.field_index("product_id").expect("id")] = Value::Null;
        let failed = store
            .write(WriteBatch {
                changes: vec![agrimap_store::Change {
                    at: at("2025-09-01T00:00:00Z"),
                    layer: l,
                    put: vec![broken],
                    remove: vec![vec![Value::Text("OCOP-A".into())]],
                }],
                ..WriteBatch::default()
            })
            .await;
        assert!(failed.is_err(), "{failed:?}");
        assert_eq!(
            stars(&read_at(store, l, FeatureQuery::default()).await),
            [("OCOP-A".to_owned(), 5)]
        );
        assert_eq!(
            stars(&read_at(store, l, as_of("2025-06-01T00:00:00Z", FeatureQuery::default())).await),
            [("OCOP-A".to_owned(), 4)]
        );
        // A removal that does not name the whole key is refused.
        assert!(
            store
                .write(WriteBatch {
                    changes: vec![agrimap_store::Change {
                        at: at("2025-09-01T00:00:00Z"),
                        layer: l,
                        put: vec![],
                        remove: vec![vec![]],
                    }],
                    ..WriteBatch::default()
                })
                .await
                .is_err()
        );
        // A layer that keeps no versions is read as it is now.
        let communes = layer("admin_commune").expect("communes");
        assert!(!communes.versioned());
        let before_anything = as_of("2000-01-01T00:00:00Z", FeatureQuery::default());
        assert_eq!(
            store.count(communes, &before_anything).await.expect("count"),
            store.count(communes, &FeatureQuery::default()).await.expect("count")
        );
        // Replacing the layer with a time given loads its timeline afresh.
        let mut reload = write(vec![ocop("70001", "A", 3, 105.0, 10.0)]);
        reload.layers[0].replace = true;
        reload.valid_from = Some(at("2024-01-01T00:00:00Z"));
        store.write(reload).await.expect("reload");
        assert_eq!(
            stars(&read_at(store, l, as_of("2024-06-01T00:00:00Z", FeatureQuery::default())).await),
            [("OCOP-A".to_owned(), 3)]
        );
    }
}
