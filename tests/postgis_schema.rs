//! The PostGIS schema: migrations apply once, typed tables with GiST indexes,
//! constraints that refuse invalid values (a polygon among irrigation
//! works), migration 0011 on an older schema, and `agrimap load` that either
//! loads everything or leaves the database as it was.

use agrimap_store::LayerStore as _;
use agrimap_suite::{PgDatabase, agrimap_bin, on_database, pg_admin, pg_url};
use std::process::Command;

fn query(url: &str, sql: &str) -> Vec<tokio_postgres::Row> {
    on_database(url, async |client| {
        client.query(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
    })
}

#[test]
fn migrations_apply_once_with_typed_indexed_constrained_tables() {
    let name = format!("agrimap_migrate_{}", std::process::id());
    pg_admin(&[
        &format!("DROP DATABASE IF EXISTS {name}"),
        &format!("CREATE DATABASE {name}"),
    ]);
    let url = pg_url(&name);
    let run = |args: &[&str]| {
        Command::new(agrimap_bin())
            .args(args)
            .env("DATABASE_URL", &url)
            .output()
            .expect("run agrimap")
    };
    let first = run(&["migrate"]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(String::from_utf8_lossy(&first.stdout).contains(
        "applied migrations [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]"
    ));
    let second = run(&["migrate"]);
    assert_eq!(String::from_utf8_lossy(&second.stdout).trim(), "schema is up to date");

    let types = query(
        &url,
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'crop' ORDER BY ordinal_position",
    );
    let types: Vec<(String, String)> = types.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert!(
        types.contains(&("area_ha".into(), "double precision".into())),
        "{types:?}"
    );
    assert!(types.contains(&("planting_date".into(), "date".into())), "{types:?}");
    assert!(types.contains(&("geom".into(), "USER-DEFINED".into())), "{types:?}");
    let srid = query(
        &url,
        "SELECT srid, type FROM geometry_columns WHERE f_table_name = 'crop'",
    );
    assert_eq!(
        (srid[0].get::<_, i32>(0), srid[0].get::<_, String>(1)),
        (4326, "MULTIPOLYGON".to_owned())
    );
    let indexes = query(&url, "SELECT indexdef FROM pg_indexes WHERE tablename = 'crop'");
    let defs: Vec<String> = indexes.iter().map(|r| r.get(0)).collect();
    assert!(defs.iter().any(|d| d.contains("USING gist (geom)")), "{defs:?}");
    assert!(defs.iter().any(|d| d.contains("(commune_code)")), "{defs:?}");
    // The natural key, for imports that update by it.
    assert!(
        defs.iter()
            .any(|d| d.contains("crop_natural_key") && d.contains("(parcel_id)")),
        "{defs:?}"
    );

    // The database itself refuses what the catalog does not allow.
    let err = on_database(&url, async |client| {
        client
            .execute(
                "INSERT INTO ocop (geom, product_id, commune_code, boundary_set, name, stars)
                 VALUES (ST_SetSRID(ST_MakePoint(105.8, 9.9), 4326), 'X', '33001', '1999', 'Bánh', 4)",
                &[],
            )
            .await
            .expect_err("boundary_set 1999 must be refused")
    });
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::CHECK_VIOLATION),
        "{err:?}"
    );
    pg_admin(&[&format!("DROP DATABASE {name} WITH (FORCE)")]);
}

#[test]
fn migration_0011_adds_mixed_geometry_layers_and_their_lists() {
    let db = PgDatabase::empty("migrate_0011");
    let url = db.url.clone();
    let run = |args: &[&str]| {
        Command::new(agrimap_bin())
            .args(args)
            .env("DATABASE_URL", &url)
            .output()
            .expect("run agrimap")
    };
    assert!(run(&["migrate"]).status.success());
    // Irrigation works hold points and lines, nothing else.
    let polygon = on_database(&url, async |client| {
        client
            .execute(
                "INSERT INTO irrigation_works (geom, work_id, commune_code, boundary_set, kind, condition)
                 VALUES (ST_GeomFromText('MULTIPOLYGON(((105.8 9.9, 105.81 9.9, 105.81 9.91, 105.8 9.9)))', 4326),
                         'W', '33001', '2025', 'dyke', 'good')",
                &[],
            )
            .await
            .expect_err("a polygon must be refused")
    });
    assert_eq!(
        polygon.code(),
        Some(&tokio_postgres::error::SqlState::CHECK_VIOLATION),
        "{polygon:?}"
    );
    // The lists of the layers migration 0011 made are seeded with it.
    let seeded = query(
        &url,
        "SELECT count(*) FROM agrimap_codes WHERE list IN ('irrigation_work_kind', 'livestock_species', 'tree_species')",
    );
    assert!(seeded[0].get::<_, i64>(0) >= 20);
    // A database migrated before 0011 (its tables and lists gone, as they
    // were) gets both from the next `agrimap migrate`, its other codes kept.
    on_database(&url, async |client| {
        client
            .batch_execute(
                "DROP TABLE irrigation_works, irrigated_areas, forest_plots, livestock_farms;
                 DELETE FROM agrimap_layer_version
                   WHERE layer IN ('irrigation_works', 'irrigated_areas', 'forest_plots', 'livestock_farms');
                 DELETE FROM agrimap_codes WHERE list IN
                   ('irrigation_work_kind', 'irrigation_source', 'forest_type', 'tree_species', 'livestock_species');
                 UPDATE agrimap_codes SET label_en = 'Paddy' WHERE list = 'crop_type' AND code = 'rice';
                 DELETE FROM agrimap_migrations WHERE version = 11;",
            )
            .await
            .expect("back to schema 9");
    });
    let upgrade = run(&["migrate"]);
    assert!(
        String::from_utf8_lossy(&upgrade.stdout).contains("applied migrations [11]"),
        "{upgrade:?}"
    );
    let back = query(
        &url,
        "SELECT (SELECT count(*) FROM irrigation_works), (SELECT count(*) FROM agrimap_codes WHERE list = 'livestock_species'),
                (SELECT label_en FROM agrimap_codes WHERE list = 'crop_type' AND code = 'rice')",
    );
    assert_eq!(back[0].get::<_, i64>(0), 0);
    assert!(back[0].get::<_, i64>(1) >= 5);
    assert_eq!(back[0].get::<_, String>(2), "Paddy", "an admin's label is kept");
}

#[test]
fn load_is_all_or_nothing() {
    let db = PgDatabase::demo("load_all_or_nothing");
    let before = query(&db.url, "SELECT count(*) FROM crop")[0].get::<_, i64>(0);
    // A demo directory whose last layer is broken: nothing of it may land.
    let broken = agrimap_suite::scratch_dir("broken-demo");
    for entry in std::fs::read_dir(agrimap_suite::demo_dir()).expect("demo") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), broken.join(entry.file_name())).expect("copy");
    }
    std::fs::write(broken.join("ocop.geojsonl.gz"), b"not gzip").expect("write");
    let out = Command::new(agrimap_bin())
        .args(["load", "--from"])
        .arg(&broken)
        .env("DATABASE_URL", &db.url)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ocop"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(query(&db.url, "SELECT count(*) FROM crop")[0].get::<_, i64>(0), before);

    let out = Command::new(agrimap_bin())
        .arg("load")
        .arg("--from")
        .arg(agrimap_suite::demo_dir())
        .env("DATABASE_URL", &db.url)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let manifest = agrimap_demo::read_manifest(&agrimap_suite::demo_dir()).expect("manifest");
    let crop = query(&db.url, "SELECT count(*) FROM crop")[0].get::<_, i64>(0);
    assert_eq!(
        usize::try_from(crop).expect("count"),
        manifest.counts["crop"],
        "a reload replaces, it does not add"
    );
}

/// Gives an embedded store records of its own: a species and a default it
/// retired; a planner's token, a revoked editor's, and a station's (whose id
/// it returns); a version 99 of an NTM criteria set; an alert subscription;
/// an NTM dossier submitted with an evidence file; an alert history (the
/// stations that fell silent since the demo's readings).
fn give_records_of_its_own(rt: &tokio::runtime::Runtime, gpkg: &agrimap_store::GpkgStore) -> String {
    use agrimap_model::{Audience, FeatureQuery, layer};
    use agrimap_store::{AlertStore as _, CredentialStore as _, LayerStore as _, NtmStore as _};
    let full = FeatureQuery {
        audience: Audience::Full,
        limit: Some(1),
        ..FeatureQuery::default()
    };
    let spotted_scat = agrimap_model::Code {
        list: "species".into(),
        code: "spotted_scat".into(),
        label_vi: "Cá nâu".into(),
        label_en: "Spotted scat".into(),
        retired: false,
    };
    rt.block_on(agrimap_store::CodeStore::add_code(gpkg, &spotted_scat))
        .expect("a species of its own");
    rt.block_on(agrimap_store::CodeStore::retire_code(gpkg, "species", "blood_cockle"))
        .expect("retired");
    // Its tokens: a planner's, a revoked editor's, and a station's.
    let token = |id: &str, role, secret: &str| agrimap_store::NewApiToken {
        id: id.into(),
        name: format!("{id} of the office"),
        role,
        hash: agrimap_core::tokens::hash_token(secret),
        provinces: vec!["94".into()],
    };
    rt.block_on(gpkg.add_api_token(&token("office-planner", agrimap_model::Role::Planner, "planner-secret")))
        .expect("token");
    rt.block_on(gpkg.add_api_token(&token("office-editor", agrimap_model::Role::Editor, "editor-secret")))
        .expect("token");
    rt.block_on(gpkg.revoke_api_token("office-editor")).expect("revoke");
    let monitoring = layer("monitoring").expect("monitoring");
    let station = rt
        .block_on(gpkg.features(monitoring, &full))
        .expect("a station")
        .remove(0);
    let station = monitoring
        .text_of(&station, "station_id")
        .expect("station id")
        .to_owned();
    let station_hash = agrimap_core::tokens::hash_token("station-secret");
    assert!(
        rt.block_on(gpkg.set_station_token_hash(&station, &station_hash))
            .expect("station token")
    );
    let mut set = rt.block_on(gpkg.criteria_sets()).expect("sets").remove(0);
    let mut document: serde_json::Value = serde_json::from_str(&set.document).expect("a set document");
    document["version"] = 99.into();
    (set.version, set.document) = (99, document.to_string());
    assert!(rt.block_on(gpkg.add_criteria_set(&set)).expect("a set of its own"));
    rt.block_on(gpkg.add_subscription(&agrimap_model::alerts::NewSubscription {
        name: "Chi cục Thủy sản".into(),
        scope: agrimap_model::alerts::SubscriptionScope::default(),
        url: "https://thuysan.example.vn/hook".into(),
        secret: "shared-secret".into(),
        owner_provinces: vec!["94".into()],
        created_by: "office-planner".into(),
    }))
    .expect("a subscription");
    give_a_dossier(rt, gpkg);
    let now = agrimap_model::UtcTime::now();
    let silent = rt.block_on(gpkg.silence(now)).expect("silence");
    assert!(!silent.is_empty(), "the demo's stations reported long ago");
    // Queued for the subscriber, not sent yet when the office moves.
    let subscription = rt.block_on(gpkg.subscriptions()).expect("subscriptions")[0].id;
    let pairs: Vec<(i64, i64)> = silent.iter().map(|e| (e.id, subscription)).collect();
    rt.block_on(gpkg.enqueue_deliveries(silent[silent.len() - 1].id, &pairs, now))
        .expect("queued");
    station
}

/// A commune's NTM dossier of 2025: two values, one with its evidence, then submitted.
fn give_a_dossier(rt: &tokio::runtime::Runtime, gpkg: &agrimap_store::GpkgStore) {
    use agrimap_model::ntm::{DossierState, EntryValue};
    use agrimap_store::NtmStore as _;
    use agrimap_store::ntm::{DossierKey, EvidenceFile, NewEntry, NewMove};
    let text = "%PDF-1.7\nbiên bản họp dân\n";
    let bytes = text.as_bytes().to_vec();
    let file = EvidenceFile {
        // A token's hash is the SHA-256 of its text: here, of the file's bytes.
        sha256: agrimap_core::tokens::hash_token(text),
        name: "biên bản họp dân.pdf".into(),
        media_type: "application/pdf".into(),
        size: bytes.len() as u64,
        bytes,
        author: "office-editor".into(),
    };
    assert!(rt.block_on(gpkg.add_evidence(&file)).expect("evidence"));
    let dossier = DossierKey {
        commune_code: "94001".into(),
        boundary_set: "pre-2025".into(),
        year: 2025,
    };
    let entry = |indicator: &str, value, evidence: Vec<String>| NewEntry {
        dossier: dossier.clone(),
        set_id: "ntm-commune-2021-2025".into(),
        indicator_id: indicator.into(),
        value: Some(value),
        comment: "tự đánh giá".into(),
        evidence,
        author: "office-editor".into(),
    };
    rt.block_on(gpkg.add_entry(&entry("1.1", EntryValue::Pass(true), vec![file.sha256.clone()])))
        .expect("entry");
    rt.block_on(gpkg.add_entry(&entry("2.2", EntryValue::Number(81.0), vec![])))
        .expect("entry");
    rt.block_on(gpkg.add_move(&NewMove {
        dossier,
        from: DossierState::Draft,
        to: DossierState::Submitted,
        author: "office-editor".into(),
        role: agrimap_model::Role::Editor,
        details: "{}".into(),
        commune_status: None,
    }))
    .expect("submitted");
}

/// The NTM dossiers, the alert history and the registries read as they did
/// in the embedded store.
fn histories_were_copied(
    rt: &tokio::runtime::Runtime,
    (gpkg, pg): (&agrimap_store::GpkgStore, &agrimap_store::PgStore),
    stdout: &str,
) {
    use agrimap_store::{AlertStore as _, NtmStore as _, RegistryStore as _};
    // The dossier reads as it did: the same entries and moves, numbers and times.
    let history = rt.block_on(gpkg.ntm_history()).expect("history");
    assert_eq!(rt.block_on(pg.ntm_history()).expect("history"), history);
    let sha = &history.evidence[0];
    assert_eq!(
        rt.block_on(pg.evidence(sha, true)).expect("evidence"),
        rt.block_on(gpkg.evidence(sha, true)).expect("evidence")
    );
    assert!(
        stdout.contains("NTM dossiers: 2 entries, 1 moves and 1 evidence files copied"),
        "{stdout}"
    );
    // The alert history reads as it did, and its subscribers are not sent it again.
    let all = agrimap_store::EventQuery {
        limit: 10_000,
        ..Default::default()
    };
    let events = rt.block_on(gpkg.alert_events(&all)).expect("events");
    assert_eq!(rt.block_on(pg.alert_events(&all)).expect("events"), events);
    assert_eq!(
        rt.block_on(pg.dispatch_cursor()).expect("cursor"),
        events.last().expect("events").id
    );
    // Still to be sent, now from PostGIS, to the same subscriber there.
    let queued = rt.block_on(gpkg.deliveries(None, None, 10_000)).expect("deliveries");
    let subscriber = rt.block_on(pg.subscriptions()).expect("subscriptions")[0].id;
    let moved: Vec<_> = queued
        .iter()
        .map(|d| agrimap_model::alerts::Delivery {
            subscription_id: subscriber,
            ..d.clone()
        })
        .collect();
    assert_eq!(
        rt.block_on(pg.deliveries(None, None, 10_000)).expect("deliveries"),
        moved
    );
    assert!(
        stdout.contains(&format!(
            "alert history: {} changes of stations' states copied (not sent again), with {} deliveries",
            events.len(),
            queued.len()
        )),
        "{stdout}"
    );
    // The registries with their history (who changed what, when) and scans.
    let registries = rt.block_on(gpkg.registry_history()).expect("registries");
    assert!(!registries.changes.is_empty(), "the demo's registries have a history");
    let copied = rt.block_on(pg.registry_history()).expect("registries");
    assert_eq!(
        copied
            .changes
            .iter()
            .map(|c| (&c.key, &c.actor, c.at))
            .collect::<Vec<_>>(),
        registries
            .changes
            .iter()
            .map(|c| (&c.key, &c.actor, c.at))
            .collect::<Vec<_>>()
    );
    assert_eq!(copied.scans, registries.scans);
    assert!(
        stdout.contains(&format!(
            "registries: {} records copied with {} changes",
            registries.records.len(),
            registries.changes.len()
        )),
        "{stdout}"
    );
}

/// Runs `agrimap load --from` the file into the database.
fn load_from(file: &std::path::Path, db: &PgDatabase) -> std::process::Output {
    Command::new(agrimap_bin())
        .args(["load", "--from"])
        .arg(file)
        .env("DATABASE_URL", &db.url)
        .output()
        .expect("run")
}

/// What `agrimap load` said and did with the records of [`give_records_of_its_own`].
fn records_of_its_own_were_copied(
    rt: &tokio::runtime::Runtime,
    (gpkg, db): (&agrimap_store::GpkgStore, &PgDatabase),
    stdout: &str,
    station: &str,
) {
    use agrimap_store::{AlertStore as _, CredentialStore as _, NtmStore as _};
    let codes = query(
        &db.url,
        "SELECT code, label_vi, retired FROM agrimap_codes WHERE list = 'species' AND code IN ('spotted_scat', 'blood_cockle') ORDER BY code",
    );
    let codes: Vec<(String, String, bool)> = codes.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(
        codes,
        [
            ("blood_cockle".to_owned(), "Sò huyết".to_owned(), true),
            ("spotted_scat".to_owned(), "Cá nâu".to_owned(), false)
        ]
    );
    assert!(stdout.contains("value lists: 1 codes added, 1 retired"));
    let pg = db.store();
    let planner = rt
        .block_on(pg.api_token_by_hash(&agrimap_core::tokens::hash_token("planner-secret")))
        .expect("by hash")
        .expect("the planner's token goes on working");
    assert_eq!(
        (planner.id.as_str(), planner.role, planner.provinces.as_slice()),
        (
            "office-planner",
            agrimap_model::Role::Planner,
            ["94".to_owned()].as_slice()
        )
    );
    assert_eq!(
        rt.block_on(pg.api_token_by_hash(&agrimap_core::tokens::hash_token("editor-secret")))
            .expect("by hash"),
        None,
        "a revoked token stays revoked"
    );
    assert_eq!(
        rt.block_on(pg.station_token_hash(station)).expect("station token"),
        Some(agrimap_core::tokens::hash_token("station-secret"))
    );
    assert!(
        rt.block_on(pg.criteria_sets())
            .expect("sets")
            .iter()
            .any(|s| s.version == 99)
    );
    let subscriptions = rt.block_on(pg.subscriptions()).expect("subscriptions");
    let copied: Vec<(&str, &str, &[String])> = subscriptions
        .iter()
        .map(|s| (s.name.as_str(), s.secret.as_str(), s.owner_provinces.as_slice()))
        .collect();
    assert_eq!(
        copied,
        [("Chi cục Thủy sản", "shared-secret", ["94".to_owned()].as_slice())]
    );
    assert!(
        stdout.contains("1 NTM criteria set versions and 1 alert subscriptions copied"),
        "{stdout}"
    );
    histories_were_copied(rt, (gpkg, &pg), stdout);
}

/// The versioned layers keep their ids and timelines: what was true on a
/// day before the load reads the same from both stores.
fn timelines_were_copied(
    rt: &tokio::runtime::Runtime,
    (gpkg, pg): (&agrimap_store::GpkgStore, &agrimap_store::PgStore),
    stdout: &str,
) {
    use agrimap_model::{Audience, FeatureQuery, catalog, layer};
    let mut past_versions = 0;
    for layer in catalog().iter().filter(|l| l.versioned()) {
        let kept = rt.block_on(gpkg.timeline(layer)).expect("timeline");
        past_versions += kept.versions.len();
        assert_eq!(rt.block_on(pg.timeline(layer)).expect("timeline"), kept, "{}", layer.id);
    }
    assert!(past_versions > 0, "the demo province has a history");
    assert!(
        stdout.contains(&format!("({past_versions} past versions with them)")),
        "{stdout}"
    );
    let crop = layer("crop").expect("crop");
    for day in ["2024-06-30T00:00:00Z", "2025-06-30T00:00:00Z"] {
        let then = FeatureQuery {
            audience: Audience::Full,
            as_of: Some(agrimap_model::UtcTime::parse(day).expect("day")),
            ..FeatureQuery::default()
        };
        let in_gpkg = rt.block_on(gpkg.features(crop, &then)).expect("as of");
        assert!(!in_gpkg.is_empty(), "{day}");
        assert_eq!(rt.block_on(pg.features(crop, &then)).expect("as of"), in_gpkg, "{day}");
    }
}

/// Run again, `load` replaces the layers with their timelines and adds
/// nothing twice; an NTM history PostGIS went on with meanwhile is its own,
/// and is not merged.
fn loading_again_adds_nothing_and_merges_no_history(
    rt: &tokio::runtime::Runtime,
    (gpkg, path): (&agrimap_store::GpkgStore, &std::path::Path),
    db: &PgDatabase,
) {
    use agrimap_model::registry::RegistryKind;
    use agrimap_store::{NtmStore as _, RegistryStore as _};
    let pg = db.store();
    let crop = agrimap_model::layer("crop").expect("crop");
    let copied = rt.block_on(pg.ntm_history()).expect("history");
    let mut entry = copied.entries[0].entry.clone();
    entry.dossier.year = 2026;
    let added = rt.block_on(pg.add_entry(&entry)).expect("entry");
    let mut producer = rt
        .block_on(pg.records(RegistryKind::Producers, None))
        .expect("producers")
        .remove(0);
    producer.key = "1899999999".into();
    rt.block_on(pg.put_records(RegistryKind::Producers, vec![producer], "planner-1"))
        .expect("a producer of PostGIS's own");
    // A parcel edited in PostGIS: the crop layer has a past of its own there.
    let crop_past = rt.block_on(pg.timeline(crop)).expect("timeline").versions.len();
    let office = agrimap_model::FeatureQuery {
        audience: agrimap_model::Audience::Full,
        filter: Some(agrimap_model::Filter::eq("parcel_id", "OFFICE-1")),
        ..agrimap_model::FeatureQuery::default()
    };
    let mut parcel = rt
        .block_on(pg.features(crop, &office))
        .expect("the office's parcel")
        .remove(0);
    parcel.properties[crop.field_index("owner_name").expect("field")] = "Trần Thị Mới".into();
    rt.block_on(pg.write(agrimap_store::WriteBatch {
        changes: vec![agrimap_store::Change {
            at: agrimap_model::UtcTime::now(),
            layer: crop,
            put: vec![parcel],
            remove: vec![],
        }],
        ..Default::default()
    }))
    .expect("an edit in PostGIS");
    let again = load_from(path, db);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&again.stdout),
        String::from_utf8_lossy(&again.stderr),
    );
    assert!(again.status.success(), "{stderr}");
    assert!(
        stdout.contains("NTM dossiers: 0 entries, 0 moves and 0 evidence files copied")
            && stdout.contains("alert history: 0 changes"),
        "{stdout}"
    );
    assert!(
        stderr.contains("NTM dossiers not copied, it stays with the embedded store")
            && stderr.contains("an NTM history of its own (4 records)")
            && stderr.contains("the registries' history and scans not copied"),
        "{stderr}"
    );
    assert!(
        stdout.contains("registries: 0 records added and 0 updated by key"),
        "{stdout}"
    );
    let aquaculture = agrimap_model::layer("aquaculture").expect("aquaculture");
    assert_eq!(
        rt.block_on(pg.timeline(aquaculture)).expect("timeline"),
        rt.block_on(gpkg.timeline(aquaculture)).expect("timeline"),
        "the layer replaced with its timeline, not one more version of each feature"
    );
    // The crop layer's past in PostGIS is kept: the edit, and every parcel
    // the load replaced, closed at now.
    assert!(
        stderr.contains(&format!(
            "layer crop: PostGIS keeps {} past versions of its own",
            crop_past + 1
        )),
        "{stderr}"
    );
    let parcels = rt
        .block_on(pg.count(crop, &agrimap_model::FeatureQuery::default()))
        .expect("count");
    assert_eq!(
        rt.block_on(pg.timeline(crop)).expect("timeline").versions.len() as u64,
        crop_past as u64 + 1 + parcels
    );
    let mut expected = copied;
    expected.entries.push(added);
    assert_eq!(rt.block_on(pg.ntm_history()).expect("history"), expected);
}

#[test]
fn load_copies_an_embedded_store_with_restricted_fields_and_readings() {
    use agrimap_model::{Audience, FeatureQuery, Value, catalog, layer};
    use agrimap_store::{GpkgStore, LayerWrite, WriteBatch};

    // A commune office's store with one parcel of its own.
    let path = agrimap_suite::scratch_dir("load-from-gpkg").join("office.gpkg");
    std::fs::copy(agrimap_suite::shared_store_path(), &path).expect("copy the demo store");
    let gpkg = GpkgStore::open(&path).expect("open");
    let crop = layer("crop").expect("crop");
    let full = FeatureQuery {
        audience: Audience::Full,
        limit: Some(1),
        ..FeatureQuery::default()
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut parcel = rt.block_on(gpkg.features(crop, &full)).expect("a parcel").remove(0);
    parcel.properties[crop.field_index("parcel_id").expect("field")] = Value::from("OFFICE-1");
    parcel.properties[crop.field_index("owner_name").expect("field")] = Value::from("Nguyễn Văn Thử");
    gpkg.write_blocking(&WriteBatch {
        layers: vec![LayerWrite {
            layer: crop,
            replace: false,
            features: vec![parcel],
        }],
        readings: vec![],
        ..Default::default()
    })
    .expect("write");
    let station = give_records_of_its_own(&rt, &gpkg);

    // A database of its own, as a province moving to PostGIS has.
    let db = PgDatabase::empty("load_from_gpkg");
    let out = load_from(&path, &db);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    for layer in catalog() {
        let in_gpkg = rt.block_on(gpkg.count(layer, &FeatureQuery::default())).expect("count");
        let in_pg = query(&db.url, &format!("SELECT count(*) FROM {}", layer.id))[0].get::<_, i64>(0);
        assert_eq!(u64::try_from(in_pg).expect("count"), in_gpkg, "{}", layer.id);
    }
    let pg = db.store();
    timelines_were_copied(&rt, (&gpkg, &pg), &String::from_utf8_lossy(&out.stdout));
    let owner: String = query(&db.url, "SELECT owner_name FROM crop WHERE parcel_id = 'OFFICE-1'")[0].get(0);
    assert_eq!(owner, "Nguyễn Văn Thử");
    records_of_its_own_were_copied(&rt, (&gpkg, &db), &String::from_utf8_lossy(&out.stdout), &station);
    let manifest = agrimap_demo::read_manifest(&agrimap_suite::demo_dir()).expect("manifest");
    let readings = query(&db.url, "SELECT count(*) FROM readings")[0].get::<_, i64>(0);
    assert_eq!(usize::try_from(readings).expect("count"), manifest.counts["readings"]);

    loading_again_adds_nothing_and_merges_no_history(&rt, (&gpkg, &path), &db);

    // A file that is not a GeoPackage: a clear error, nothing changed.
    let bogus = agrimap_suite::scratch_dir("load-from-gpkg").join("notes.gpkg");
    std::fs::write(&bogus, "not a database").expect("write");
    let out = load_from(&bogus, &db);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("notes.gpkg"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let crop_rows = query(&db.url, "SELECT count(*) FROM crop")[0].get::<_, i64>(0);
    assert_eq!(
        u64::try_from(crop_rows).expect("count"),
        manifest.counts["crop"] as u64 + 1
    );
}

/// Every field of the features matching `filter`.
fn full(filter: Option<agrimap_model::Filter>) -> agrimap_model::FeatureQuery {
    agrimap_model::FeatureQuery {
        audience: agrimap_model::Audience::Full,
        filter,
        ..agrimap_model::FeatureQuery::default()
    }
}

/// An office's embedded store with the real 2025 communes of Cần Thơ (92)
/// and Đồng Tháp (82), and one parcel inside a Cần Thơ commune, planted
/// with rice in September 2025 and turned to fruit in March 2026.
fn office_on_real_2025_communes(can_tho: &std::path::Path, dong_thap: &std::path::Path) -> std::path::PathBuf {
    use agrimap_model::{FeatureQuery, Filter, UtcTime, Value, layer};
    use agrimap_store::{Change, GpkgStore, LayerWrite, WriteBatch};
    use geo::{InteriorPoint as _, polygon};
    let dir = agrimap_suite::scratch_dir("load-real-communes");
    let cli = |args: &[&str]| {
        let out = Command::new(agrimap_bin())
            .args(args)
            .args(["--data-dir", &dir.display().to_string()])
            .output()
            .expect("run");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    cli(&["init"]);
    for (file, province) in [(&can_tho, "92"), (&dong_thap, "82")] {
        let file = file.display().to_string();
        cli(&["boundaries", "import", &file, "--set", "2025", "--province", province]);
    }

    // One parcel inside a Cần Thơ commune, planted with rice, turned to fruit in 2026.
    let path = dir.join("agrimap.gpkg");
    let gpkg = GpkgStore::open(&path).expect("open");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (communes, crop) = (layer("admin_commune").expect("communes"), layer("crop").expect("crop"));
    let in_can_tho = rt
        .block_on(gpkg.features(communes, &full(Some(Filter::eq("province_code", "92")))))
        .expect("communes");
    let commune = &in_can_tho[0];
    let code = communes.text_of(commune, "code").expect("code").to_owned();
    let at = commune.geometry.interior_point().expect("a point inside");
    let (x, y) = (at.x(), at.y());
    let mut parcel = rt
        .block_on(agrimap_suite::shared_store().features(
            crop,
            &FeatureQuery {
                limit: Some(1),
                ..full(None)
            },
        ))
        .expect("a demo parcel")
        .remove(0);
    parcel.geometry =
        polygon![(x: x, y: y), (x: x + 0.0004, y: y), (x: x + 0.0004, y: y + 0.0003), (x: x, y: y)].into();
    let mut set = |name: &str, value: Value| parcel.properties[crop.field_index(name).expect("field")] = value;
    set("parcel_id", "CT-REAL-1".into());
    set("commune_code", code.clone().into());
    set("boundary_set", "2025".into());
    set("crop_type", "rice".into());
    let planted = UtcTime::parse("2025-09-01T00:00:00Z").expect("time");
    gpkg.write_blocking(&WriteBatch {
        layers: vec![LayerWrite {
            layer: crop,
            replace: false,
            features: vec![parcel.clone()],
        }],
        valid_from: Some(planted),
        ..Default::default()
    })
    .expect("the office's parcel");
    parcel.properties[crop.field_index("crop_type").expect("field")] = "fruit".into();
    gpkg.write_blocking(&WriteBatch {
        changes: vec![Change {
            at: UtcTime::parse("2026-03-01T00:00:00Z").expect("time"),
            layer: crop,
            put: vec![parcel],
            remove: vec![],
        }],
        ..Default::default()
    })
    .expect("turned to fruit");

    path
}

/// A province office on the embedded store with the real 2025 communes of
/// Cần Thơ and Đồng Tháp, one parcel of its own and a change to it, moves
/// to PostGIS: the communes arrive as they are, each province gets its
/// partitions, and the parcel lands in its province with its past.
#[test]
fn load_moves_real_2025_communes_into_their_provinces_partitions() {
    use agrimap_model::{FeatureQuery, Filter, UtcTime, layer};
    use agrimap_store::GpkgStore;
    let (Some(can_tho), Some(dong_thap)) = (
        agrimap_suite::shared_data("can-tho-communes-2025.geojson"),
        agrimap_suite::shared_data("dong-thap-communes-2025.geojson"),
    ) else {
        return;
    };
    let path = office_on_real_2025_communes(&can_tho, &dong_thap);
    let gpkg = GpkgStore::open(&path).expect("open");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (communes, crop) = (layer("admin_commune").expect("communes"), layer("crop").expect("crop"));
    let db = PgDatabase::empty("load_real_communes");
    let out = load_from(&path, &db);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // The communes as the files have them: 103 in Cần Thơ, 102 in Đồng Tháp.
    let by_province: Vec<(String, i64)> = query(
        &db.url,
        "SELECT province_code, count(*) FROM admin_commune GROUP BY 1 ORDER BY 1",
    )
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    assert_eq!(by_province, [("82".to_owned(), 102), ("92".to_owned(), 103)]);
    let pg = db.store();
    let names = |features: Vec<agrimap_model::Feature>| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = features
            .iter()
            .map(|f| {
                let text = |n: &str| communes.text_of(f, n).unwrap_or_default().to_owned();
                (text("code"), text("name"))
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(rt.block_on(pg.features(communes, &full(None))).expect("communes")),
        names(rt.block_on(gpkg.features(communes, &full(None))).expect("communes")),
        "codes and names, byte for byte"
    );
    // Each province has its partitions, and the parcel sits in Cần Thơ's.
    let in_partition = |table: &str| query(&db.url, &format!("SELECT count(*) FROM {table}"))[0].get::<_, i64>(0);
    assert_eq!(in_partition("crop_p92"), 1);
    assert_eq!(in_partition("crop_p82"), 0);
    // With its past: rice in 2025, fruit since March 2026.
    let crop_type_on = |day: &str| {
        let query = FeatureQuery {
            as_of: Some(UtcTime::parse(day).expect("day")),
            ..full(Some(Filter::eq("parcel_id", "CT-REAL-1")))
        };
        let found = rt.block_on(pg.features(crop, &query)).expect("as of");
        found
            .first()
            .and_then(|f| crop.text_of(f, "crop_type"))
            .map(str::to_owned)
    };
    assert_eq!(crop_type_on("2025-08-31T00:00:00Z"), None);
    assert_eq!(crop_type_on("2025-12-31T00:00:00Z").as_deref(), Some("rice"));
    assert_eq!(crop_type_on("2026-06-30T00:00:00Z").as_deref(), Some("fruit"));
}
