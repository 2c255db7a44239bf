//! Real commune boundaries (`../shared/data`, see its SOURCES.md) into an
//! empty store of each kind with `agrimap init` and `agrimap boundaries
//! import`, and back out through the API: codes, names and areas unchanged,
//! districts and provinces made from the communes, search without
//! diacritics, statistics by boundary set, bad files refused whole.

use agrimap_analysis::area::multipolygon_ha;
use agrimap_store::{GpkgStore, PgStore, Store};
use agrimap_suite::{PgDatabase, StoreKind, TestServer, agrimap_bin, scratch_dir, shared_data};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

/// An empty store of one kind, and the flags that name it to the CLI.
struct EmptyStore {
    dir: PathBuf,
    database: Option<PgDatabase>,
}

impl EmptyStore {
    fn new(kind: StoreKind, test: &str) -> Self {
        Self {
            dir: scratch_dir(test),
            database: (kind == StoreKind::PostGis).then(|| PgDatabase::empty(test)),
        }
    }

    fn args(&self) -> Vec<String> {
        match &self.database {
            Some(db) => vec!["--database".into(), db.url.clone()],
            None => vec!["--data-dir".into(), self.dir.display().to_string()],
        }
    }

    fn agrimap(&self, args: &[&str]) -> Output {
        Command::new(agrimap_bin())
            .args(args)
            .args(self.args())
            // A store that was never initialised would get the demo from here.
            .env("AGRIMAP_SEED_DIR", agrimap_suite::demo_dir())
            .output()
            .expect("run agrimap")
    }

    fn store(&self) -> Arc<dyn Store> {
        match &self.database {
            Some(db) => Arc::new(PgStore::connect(&db.url).expect("connect")),
            None => Arc::new(GpkgStore::open(&self.dir.join("agrimap.gpkg")).expect("open")),
        }
    }
}

fn ok(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "agrimap failed: {err}");
    err
}

fn failed(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "agrimap should have failed: {err}");
    err
}

fn import(store: &EmptyStore, file: &Path, set: &str, province: &str) -> String {
    let file = file.display().to_string();
    ok(&store.agrimap(&["boundaries", "import", &file, "--set", set, "--province", province]))
}

/// The four real files, or `None` (noted on stderr) without `../shared/data`.
fn real_files() -> Option<[PathBuf; 4]> {
    Some([
        shared_data("soc-trang-communes-pre2025.geojson")?,
        shared_data("dong-thap-communes-pre2025.geojson")?,
        shared_data("can-tho-communes-2025.geojson")?,
        shared_data("dong-thap-communes-2025.geojson")?,
    ])
}

fn communes(server: &TestServer, query: &str) -> Json {
    let reply = server.get(&format!("/api/communes?{query}"), &[]);
    assert_eq!(reply.status, 200, "{query}: {}", String::from_utf8_lossy(&reply.body));
    reply.json()
}

fn features_of(file: &Path) -> Vec<Json> {
    let doc: Json = serde_json::from_slice(&std::fs::read(file).expect("read")).expect("json");
    doc["features"].as_array().expect("features").clone()
}

/// Hectares of a GeoJSON (multi)polygon on the ellipsoid.
fn hectares(geometry: &Json) -> f64 {
    let g: geojson::Geometry = serde_json::from_value(geometry.clone()).expect("geometry");
    match geo::Geometry::<f64>::try_from(g).expect("geo") {
        geo::Geometry::MultiPolygon(m) => multipolygon_ha(&m),
        geo::Geometry::Polygon(p) => multipolygon_ha(&geo::MultiPolygon(vec![p])),
        other => panic!("not a polygon: {other:?}"),
    }
}

fn every_real_file_lands_and_comes_back(kind: StoreKind) {
    let Some([soc_trang, dong_thap, can_tho, dong_thap_2025]) = real_files() else {
        return;
    };
    let store = EmptyStore::new(kind, &format!("real-boundaries-{}", kind.name()));
    ok(&store.agrimap(&["init"]));
    let said = import(&store, &soc_trang, "pre-2025", "94");
    assert!(said.contains("108 added"), "{said}");
    assert!(
        said.contains("admin_province 94 (Tỉnh Sóc Trăng, set pre-2025) made from its 108 communes"),
        "{said}"
    );
    let said = import(&store, &dong_thap, "pre-2025", "87");
    // Xã Thường Thới Hậu B has no code: left out and named, the rest imported.
    assert!(said.contains("141 added"), "{said}");
    assert!(said.contains("commune 'Xã Thường Thới Hậu B' has no code"), "{said}");
    let said = import(&store, &can_tho, "2025", "92");
    assert!(said.contains("103 added"), "{said}");
    assert!(
        !said.contains("admin_district"),
        "the 2025 set has no districts: {said}"
    );
    import(&store, &dong_thap_2025, "2025", "82");

    let server = TestServer::start(store.store());
    assert_eq!(server.get("/health", &[]).json()["store"], kind.name());

    // Provinces held, newest set first, named from the files.
    let provinces = server.get("/api/provinces", &[]).json();
    let held: Vec<(String, String, u64)> = provinces["provinces"]
        .as_array()
        .expect("provinces")
        .iter()
        .map(|p| {
            (
                p["code"].as_str().expect("code").to_owned(),
                p["name"].as_str().expect("name").to_owned(),
                p["communes"].as_u64().expect("communes"),
            )
        })
        .collect();
    assert_eq!(
        held,
        [
            ("82".into(), "Tỉnh Đồng Tháp".into(), 102),
            ("92".into(), "Thành phố Cần Thơ".into(), 103),
            ("87".into(), "Tỉnh Đồng Tháp".into(), 141),
            ("94".into(), "Tỉnh Sóc Trăng".into(), 108),
        ]
    );

    // Every commune of every file: code, name and area as agrimap measured them.
    for file in [&soc_trang, &dong_thap, &can_tho, &dong_thap_2025] {
        for f in features_of(file) {
            let p = &f["properties"];
            let Some(code) = p["code"].as_str() else { continue };
            let set = p["boundary_set"].as_str().expect("set");
            let c = server
                .get(&format!("/api/communes/{code}?boundary_set={set}"), &[])
                .json();
            assert_eq!(c["name"], p["name"], "{code}");
            assert_eq!(c["province"]["name"], p["province_name"], "{code}");
            assert_eq!(c["district"]["name"], p["district_name"], "{code}");
            let want = hectares(&f["geometry"]);
            let got = c["area_ha"].as_f64().expect("area");
            assert!((got - want).abs() < 1e-3, "{code}: {got} ha, measured {want} ha");
        }
    }
    // SOURCES.md: 3,280.9 km² for Sóc Trăng, summed geodesically on WGS 84.
    let soc_trang_ha: f64 = features_of(&soc_trang).iter().map(|f| hectares(&f["geometry"])).sum();
    assert!((soc_trang_ha / 100.0 - 3280.9).abs() < 0.1, "{soc_trang_ha} ha");
    let kinds = communes(&server, "q=31338&boundary_set=2025");
    assert_eq!(kinds["communes"][0]["name"], "Xã Hỏa Lựu");
    assert_eq!(kinds["communes"][0]["kind"], "xa");

    // Without diacritics, with the unit names that tell the many "Phường 1" apart.
    let found = communes(&server, "q=my%20xuong");
    assert_eq!(found["communes"][0]["name"], "Xã Mỹ Xương");
    assert_eq!(found["communes"][0]["district_name"], "Huyện Cao Lãnh");
    let wards = communes(&server, "q=phuong%201&limit=50");
    let ones: Vec<(&str, &str)> = wards["communes"]
        .as_array()
        .expect("communes")
        .iter()
        .filter(|c| c["name"] == "Phường 1")
        .map(|c| {
            (
                c["district_name"].as_str().unwrap_or_default(),
                c["province_name"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert!(ones.contains(&("Thành phố Sóc Trăng", "Tỉnh Sóc Trăng")), "{ones:?}");
    assert!(ones.contains(&("Thành phố Cao Lãnh", "Tỉnh Đồng Tháp")), "{ones:?}");

    codes_names_and_areas_come_back_unchanged(&server, "31338", "2025");
    codes_names_and_areas_come_back_unchanged(&server, "31498", "pre-2025");
    statistics_count_by_one_set_and_never_twice(&server, &store, &soc_trang);
    points_are_summarised_where_they_stand(&server, &store);
    real_provinces_pack_as_one_archive(&server, &store, &can_tho, kind);
}

/// `[west, south, east, north]` of every feature of a GeoJSON file.
fn extent_of(file: &Path) -> [f64; 4] {
    let mut extent = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for f in features_of(file) {
        let g: geojson::Geometry = serde_json::from_value(f["geometry"].clone()).expect("geometry");
        let g = geo::Geometry::<f64>::try_from(g).expect("geo");
        let r = geo::BoundingRect::bounding_rect(&g).expect("a box");
        extent = [
            extent[0].min(r.min().x),
            extent[1].min(r.min().y),
            extent[2].max(r.max().x),
            extent[3].max(r.max().y),
        ];
    }
    extent
}

/// `agrimap pack --province` of real provinces: the merged Cần Thơ of 2025
/// over the whole box of its 103 communes, and Sóc Trăng, which the store
/// holds only before the reform (the newest set that has the province).
fn real_provinces_pack_as_one_archive(server: &TestServer, store: &EmptyStore, can_tho: &Path, kind: StoreKind) {
    use pmtiles::{AsyncPmTilesReader, MmapBackend, TileCoord};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let out = scratch_dir(&format!("real-pack-{}", kind.name()));
    let archive = out.join("can-tho.pmtiles");
    let packed = |args: &[&str]| {
        let run = store.agrimap(args);
        ok(&run);
        String::from_utf8_lossy(&run.stdout).into_owned()
    };
    let said = packed(&[
        "pack",
        "--province",
        "92",
        "--maxzoom",
        "11",
        &archive.display().to_string(),
    ]);
    assert!(said.contains("Thành phố Cần Thơ (92, 2025), z6-z11"), "{said}");
    let reader = runtime.block_on(async {
        AsyncPmTilesReader::try_from_source(MmapBackend::try_from(archive.as_path()).await.expect("mmap"))
            .await
            .expect("a PMTiles archive")
    });
    let metadata: Json =
        serde_json::from_str(&runtime.block_on(reader.get_metadata()).expect("metadata")).expect("JSON");
    assert_eq!(metadata["agrimap:province"]["name"], "Thành phố Cần Thơ");
    assert_eq!(metadata["agrimap:province"]["boundary_set"], "2025");
    // The archive's box is the file's.
    let extent = extent_of(can_tho);
    let h = reader.get_header();
    let bounds = [h.min_longitude, h.min_latitude, h.max_longitude, h.max_latitude];
    for (have, want) in bounds.iter().zip(extent) {
        assert!((have - want).abs() < 1e-6, "bounds {bounds:?}, file {extent:?}");
    }
    // Phường Ninh Kiều (31135) is drawn in the z11 tile over its centre.
    let ninh_kieu = server.get("/api/communes/31135?boundary_set=2025", &[]).json();
    let centre = &ninh_kieu["center"];
    let (lon, lat) = (centre[0].as_f64().expect("lon"), centre[1].as_f64().expect("lat"));
    let t = agrimap_tiles::tile_containing(lon, lat, 11);
    let tile = runtime
        .block_on(reader.get_tile(TileCoord::new(11, t.x, t.y).expect("coord")))
        .expect("read")
        .expect("the tile over Ninh Kiều");
    let layers = agrimap_tiles::decode(&agrimap_suite::gunzip(&tile)).expect("MVT");
    let communes = layers
        .iter()
        .find(|l| l.name == "admin_commune")
        .expect("communes in the tile");
    assert!(
        communes
            .features
            .iter()
            .any(|f| f.properties.get("name").and_then(agrimap_model::Value::as_str) == Some("Phường Ninh Kiều")),
        "Ninh Kiều is not in its tile"
    );

    // The same tile through OGC API – Tiles, read by GDAL's MVT driver.
    let ogc = server.get(
        &format!(
            "/ogc/collections/admin_commune/tiles/WebMercatorQuad/11/{}/{}",
            t.y, t.x
        ),
        &[],
    );
    assert_eq!(ogc.status, 200);
    let file = out.join("ninh-kieu.mvt");
    std::fs::write(&file, &ogc.body).expect("tile file");
    let info = Command::new("ogrinfo")
        .args([
            "-ro",
            "-al",
            "-oo",
            "Z=11",
            "-oo",
            &format!("X={}", t.x),
            "-oo",
            &format!("Y={}", t.y),
        ])
        .arg(&file)
        .output()
        .expect("ogrinfo (tests/run.sh installs gdal-bin)");
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("name (String) = Phường Ninh Kiều"), "{info}");

    let said = packed(&[
        "pack",
        "--province",
        "94",
        "--maxzoom",
        "8",
        &out.join("soc-trang.pmtiles").display().to_string(),
    ]);
    assert!(said.contains("Tỉnh Sóc Trăng (94, pre-2025), z6-z8"), "{said}");
}

/// A commune's summary lists the OCOP products (and stations) standing in
/// it, whatever commune code they carry: a product still coded by the
/// pre-2025 Phường 6 of Sóc Trăng appears in the 2025 commune it stands in,
/// and in no other.
fn points_are_summarised_where_they_stand(server: &TestServer, store: &EmptyStore) {
    let here = server.get("/api/communes/31507?boundary_set=2025", &[]).json();
    let [x, y] = [0, 1].map(|i| here["center"][i].as_f64().expect("centre"));
    let ocop = agrimap_model::layer("ocop").expect("ocop");
    let mut product = agrimap_model::Feature {
        id: 0,
        geometry: geo::Geometry::Point(geo::point!(x: x, y: y)),
        properties: vec![agrimap_model::Value::Null; ocop.fields.len()],
    };
    for (field, value) in [
        ("product_id", agrimap_model::Value::Text("OCOP-94-WHERE".into())),
        ("name", agrimap_model::Value::Text("Bánh pía Sóc Trăng".into())),
        ("commune_code", agrimap_model::Value::Text("31507".into())),
        ("boundary_set", agrimap_model::Value::Text("pre-2025".into())),
        ("stars", agrimap_model::Value::Int(4)),
    ] {
        product.properties[ocop.field_index(field).expect("field")] = value;
    }
    let batch = agrimap_store::WriteBatch {
        layers: vec![agrimap_store::LayerWrite {
            layer: ocop,
            replace: true,
            features: vec![product],
        }],
        readings: Vec::new(),
        ..Default::default()
    };
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(store.store().write(batch))
        .expect("write the product");
    let listed = |path: &str| -> Vec<String> {
        let summary = server.get(path, &[]).json();
        summary["ocop"]["list"]
            .as_array()
            .unwrap_or_else(|| panic!("{path}: {summary}"))
            .iter()
            .map(|p| p["product_id"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(
        listed("/api/communes/31507/summary?boundary_set=2025"),
        ["OCOP-94-WHERE"]
    );
    // Xã Hỏa Lựu, another commune of Cần Thơ.
    assert!(listed("/api/communes/31338/summary?boundary_set=2025").is_empty());
}

/// One commune through `/api/communes/{code}`, a vector tile, `/ogc` and
/// a GeoJSON export: the same code, name (NFC) and area everywhere.
fn codes_names_and_areas_come_back_unchanged(server: &TestServer, code: &str, set: &str) {
    let c = server
        .get(&format!("/api/communes/{code}?boundary_set={set}"), &[])
        .json();
    let (name, area) = (c["name"].clone(), c["area_ha"].clone());
    let center = c["center"].as_array().expect("center");
    let at = agrimap_tiles::tile_math::tile_containing(
        center[0].as_f64().expect("lon"),
        center[1].as_f64().expect("lat"),
        12,
    );
    let tile = server.get(&format!("/tiles/admin_commune/12/{}/{}.mvt", at.x, at.y), &[]);
    assert_eq!(tile.status, 200);
    let layers = agrimap_tiles::mvt::decode(&tile.decoded_body()).expect("a vector tile");
    let in_tile = layers[0]
        .features
        .iter()
        .find(|f| {
            f.properties.get("code").and_then(agrimap_model::Value::as_str) == Some(code)
                && f.properties.get("boundary_set").and_then(agrimap_model::Value::as_str) == Some(set)
        })
        .expect("the commune in its tile");
    assert_eq!(in_tile.properties["name"].as_str(), name.as_str(), "{code} in a tile");
    assert_eq!(
        in_tile.properties["area_ha"].as_f64(),
        area.as_f64(),
        "{code} in a tile"
    );

    let filter = format!("code='{code}' AND boundary_set='{set}'")
        .replace(' ', "%20")
        .replace('\'', "%27");
    let ogc = server
        .get(&format!("/ogc/collections/admin_commune/items?filter={filter}"), &[])
        .json();
    assert_eq!(ogc["features"][0]["properties"]["name"], name, "{code} from /ogc");
    assert_eq!(ogc["features"][0]["properties"]["area_ha"], area, "{code} from /ogc");
    let export = server.get(&format!("/api/export/admin_commune.geojson?filter={filter}"), &[]);
    assert_eq!(export.status, 200, "{}", String::from_utf8_lossy(&export.body));
    let exported: Json = serde_json::from_slice(&export.decoded_body()).expect("geojson");
    assert_eq!(exported["features"][0]["properties"]["name"], name, "{code} exported");
    assert_eq!(
        exported["features"][0]["properties"]["area_ha"], area,
        "{code} exported"
    );
}

/// Statistics over the four real files: by one set (2025, the newest, unless
/// asked), and every hectare once.
fn statistics_count_by_one_set_and_never_twice(server: &TestServer, store: &EmptyStore, soc_trang: &Path) {
    let stats = server.get("/api/stats?layer=crop&by=province&metric=area", &[]).json();
    assert_eq!(stats["boundary_set"], "2025");
    let no_districts = server.get("/api/stats?layer=crop&by=district&boundary_set=2025", &[]);
    assert_eq!(no_districts.status, 400);
    assert_eq!(no_districts.error_code(), "no_districts");
    let districts = server
        .get(
            "/api/stats?layer=crop&by=district&boundary_set=pre-2025&province=94",
            &[],
        )
        .json();
    assert_eq!(districts["boundary_set"], "pre-2025");
    assert_eq!(districts["rows"], serde_json::json!([]));

    // Real communes overlap and leave gaps: parcels laid over them in a grid
    // are neither counted twice nor lost, so the province's total is the
    // total of the parcels that meet its communes.
    let expected = lay_parcels_over(store.store().as_ref(), soc_trang);
    let by_commune = server
        .get(
            "/api/stats?layer=crop&metric=area&boundary_set=pre-2025&province=94",
            &[],
        )
        .json();
    let total = by_commune["total"].as_f64().expect("total");
    assert!(
        (total - expected).abs() < 1e-6 * expected,
        "{total} ha counted of {expected} ha"
    );
    assert_eq!(by_commune["rows"].as_array().expect("rows").len(), 108);
    // The same parcels by 2025 communes: by location, whatever their code says.
    let by_2025 = server
        .get("/api/stats?layer=crop&metric=area&by=province&boundary_set=2025", &[])
        .json();
    let can_tho = by_2025["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["code"] == "92")
        .expect("Cần Thơ");
    assert_eq!(can_tho["name"], "Thành phố Cần Thơ");
    assert!(can_tho["value"].as_f64().expect("value") > 0.9 * expected, "{can_tho}");

    // Per commune area on real 2025 communes: each denominator is the
    // commune's own area on the ellipsoid, as the commune answers it.
    let per_area = server
        .get(
            "/api/stats?layer=crop&metric=area&boundary_set=2025&province=92&per=commune_area",
            &[],
        )
        .json();
    let rows = per_area["rows"].as_array().expect("rows");
    assert!(rows.len() > 20, "{} communes of Cần Thơ hold parcels", rows.len());
    for row in rows.iter().take(12) {
        let code = row["code"].as_str().expect("code");
        let commune = server
            .get(&format!("/api/communes/{code}?boundary_set=2025"), &[])
            .json();
        let (denominator, area) = (
            row["denominator"].as_f64().expect("denominator"),
            commune["area_ha"].as_f64().expect("area_ha"),
        );
        assert!(
            (denominator - area).abs() < 1e-3 * area,
            "{code}: {denominator} ha, commune {area} ha"
        );
        // A commune wholly under parcels can count a little more than its own
        // area: the parts of its parcels lying in the gaps between real
        // boundaries are shared out to the communes they meet (31340: 1.0017).
        let ratio = row["ratios"][0].as_f64().expect("ratio");
        assert!(ratio > 0.0 && ratio <= 1.01, "{code}: parcels cover {ratio} of it");
    }
    // The real files give no population: no ratio rather than a division by zero.
    let per_person = server
        .get(
            "/api/stats?layer=crop&metric=area&boundary_set=2025&province=92&per=population",
            &[],
        )
        .json();
    for row in per_person["rows"].as_array().expect("rows") {
        assert_eq!(row["denominator"].as_f64(), Some(0.0), "{row}");
        assert!(row["ratios"][0].is_null(), "{row}");
    }

    // A commune code selects features only with its set: the one asked, or
    // the newest set that has the code.
    let parcels = |path: &str| -> Vec<String> {
        let reply = server.get(path, &[]);
        assert_eq!(reply.status, 200, "{path}: {}", String::from_utf8_lossy(&reply.body));
        let doc: Json = serde_json::from_slice(&reply.decoded_body()).expect("geojson");
        doc["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|f| f["properties"]["parcel_id"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(
        parcels("/ogc/collections/crop/items?commune=31507&boundary_set=pre-2025"),
        ["OLD-31507"]
    );
    assert_eq!(
        parcels("/ogc/collections/crop/items?commune=31507&boundary_set=2025"),
        ["NEW-31507"]
    );
    assert_eq!(parcels("/ogc/collections/crop/items?commune=31507"), ["NEW-31507"]);
    assert_eq!(
        parcels("/api/export/crop.geojson?commune=31507&boundary_set=pre-2025"),
        ["OLD-31507"]
    );
    let unknown = server.get("/ogc/collections/crop/items?commune=31120&boundary_set=pre-2025", &[]);
    assert_eq!(unknown.error_code(), "unknown_commune");
}

/// Writes a grid of 0.02° crop parcels over the communes of `file` and
/// returns the hectares of those that meet at least one of its communes.
fn lay_parcels_over(store: &dyn Store, file: &Path) -> f64 {
    use geo::{BoundingRect, Intersects};
    let communes: Vec<geo::MultiPolygon<f64>> = features_of(file)
        .iter()
        .map(|f| {
            let g: geojson::Geometry = serde_json::from_value(f["geometry"].clone()).expect("geometry");
            geo::MultiPolygon::<f64>::try_from(g).expect("multipolygon")
        })
        .collect();
    let bbox = communes
        .iter()
        .filter_map(BoundingRect::bounding_rect)
        .reduce(|a, b| {
            geo::Rect::new(
                geo::coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
                geo::coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
            )
        })
        .expect("box");
    let crop = agrimap_model::layer("crop").expect("crop");
    let (step, mut features, mut expected) = (0.02, Vec::new(), 0.0);
    // Off the communes' 4-decimal vertices, so no parcel merely touches one.
    let mut y = bbox.min().y - 0.000_37;
    while y < bbox.max().y {
        let mut x = bbox.min().x - 0.000_41;
        while x < bbox.max().x {
            let cell =
                geo::Rect::new(geo::coord! { x: x, y: y }, geo::coord! { x: x + step, y: y + step }).to_polygon();
            let shape = geo::MultiPolygon(vec![cell]);
            if communes.iter().any(|c| c.intersects(&shape)) {
                expected += multipolygon_ha(&shape);
            }
            let mut parcel = agrimap_model::Feature {
                id: 0,
                geometry: geo::Geometry::MultiPolygon(shape),
                properties: vec![agrimap_model::Value::Null; crop.fields.len()],
            };
            for (field, value) in [
                ("parcel_id", format!("G-{}", features.len())),
                // A code of no loaded commune: statistics place parcels by location.
                ("commune_code", "00000".into()),
                ("boundary_set", "pre-2025".into()),
                ("crop_type", "rice".into()),
                ("season", "dong_xuan".into()),
            ] {
                parcel.properties[crop.field_index(field).expect("field")] = agrimap_model::Value::Text(value);
            }
            features.push(parcel);
            x += step;
        }
        y += step;
    }
    // Two parcels coded 31507, once as the pre-2025 Phường 6 and once as the
    // 2025 Phường Sóc Trăng (the code was kept), far from every commune so
    // that the totals above do not see them.
    for (id, set) in [("OLD-31507", "pre-2025"), ("NEW-31507", "2025")] {
        let square = geo::Rect::new(geo::coord! { x: 100.0, y: 0.0 }, geo::coord! { x: 100.001, y: 0.001 });
        let mut parcel = agrimap_model::Feature {
            id: 0,
            geometry: geo::Geometry::MultiPolygon(geo::MultiPolygon(vec![square.to_polygon()])),
            properties: vec![agrimap_model::Value::Null; crop.fields.len()],
        };
        for (field, value) in [
            ("parcel_id", id),
            ("commune_code", "31507"),
            ("boundary_set", set),
            ("crop_type", "rice"),
            ("season", "dong_xuan"),
        ] {
            parcel.properties[crop.field_index(field).expect("field")] = agrimap_model::Value::Text(value.into());
        }
        features.push(parcel);
    }
    let batch = agrimap_store::WriteBatch {
        layers: vec![agrimap_store::LayerWrite {
            layer: crop,
            replace: true,
            features,
        }],
        readings: Vec::new(),
        ..Default::default()
    };
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(store.write(batch))
        .expect("write the parcels");
    expected
}

#[test]
fn every_real_file_lands_and_comes_back_from_geopackage() {
    every_real_file_lands_and_comes_back(StoreKind::GeoPackage);
}

#[test]
fn every_real_file_lands_and_comes_back_from_postgis() {
    every_real_file_lands_and_comes_back(StoreKind::PostGis);
}

/// A file whose every feature is a copy of the first real commune, with
/// the properties changed by `edit` (feature index, properties).
fn variant(dir: &Path, name: &str, edit: impl Fn(usize, &mut Json)) -> Option<PathBuf> {
    let file = shared_data("soc-trang-communes-pre2025.geojson")?;
    let mut doc: Json = serde_json::from_slice(&std::fs::read(file).expect("read")).expect("json");
    let features = doc["features"].as_array_mut().expect("features");
    features.truncate(3);
    for (i, f) in features.iter_mut().enumerate() {
        edit(i, &mut f["properties"]);
    }
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(&doc).expect("json")).expect("write");
    Some(path)
}

fn bad_files_are_refused_whole(kind: StoreKind) {
    let store = EmptyStore::new(kind, &format!("bad-boundaries-{}", kind.name()));
    ok(&store.agrimap(&["init"]));
    let dir = scratch_dir(&format!("bad-boundary-files-{}", kind.name()));
    let Some(duplicate) = variant(&dir, "duplicate.geojson", |i, p| {
        if i == 2 {
            p["code"] = Json::from("31498");
        }
    }) else {
        return;
    };
    let err = failed(&store.agrimap(&[
        "boundaries",
        "import",
        &duplicate.display().to_string(),
        "--set",
        "pre-2025",
    ]));
    assert!(
        err.contains("same code and boundary_set as feature 0 of the file"),
        "{err}"
    );

    let elsewhere = variant(&dir, "elsewhere.geojson", |i, p| {
        if i == 1 {
            p["province_code"] = Json::from("87");
        }
    })
    .expect("file");
    let err = failed(&store.agrimap(&[
        "boundaries",
        "import",
        &elsewhere.display().to_string(),
        "--set",
        "pre-2025",
        "--province",
        "94",
    ]));
    assert!(
        err.contains("refused feature 1: the feature is in province 87, not in province 94"),
        "{err}"
    );

    let err = failed(&store.agrimap(&[
        "boundaries",
        "import",
        &elsewhere.display().to_string(),
        "--set",
        "2030",
    ]));
    assert!(err.contains("unknown boundary set '2030'"), "{err}");
    let err = failed(&store.agrimap(&[
        "boundaries",
        "import",
        &elsewhere.display().to_string(),
        "--set",
        "2025",
    ]));
    assert!(
        err.contains("the feature is of boundary set 'pre-2025', but the import is of set '2025'"),
        "{err}"
    );

    // NFD names are stored composed.
    let decomposed = variant(&dir, "nfd.geojson", |_, p| {
        let name = p["name"].as_str().expect("name").to_owned();
        p["name"] = Json::from(unicode_normalization::UnicodeNormalization::nfd(name.as_str()).collect::<String>());
    })
    .expect("file");
    ok(&store.agrimap(&[
        "boundaries",
        "import",
        &decomposed.display().to_string(),
        "--set",
        "pre-2025",
    ]));

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let names = rt.block_on(async {
        let s = store.store();
        let layer = agrimap_model::layer("admin_commune").expect("layer");
        let features = s
            .features(layer, &agrimap_model::FeatureQuery::default())
            .await
            .expect("read");
        features
            .iter()
            .map(|f| layer.text_of(f, "name").expect("name").to_owned())
            .collect::<Vec<_>>()
    });
    // Only the third file went in, whole; none of the refused ones left anything.
    assert_eq!(names, ["Phường 5", "Phường 7", "Phường 8"]);
}

/// A real commune whose outer ring crosses itself (two of its vertices
/// swapped, as a slip in a desktop GIS leaves it) is repaired with GEOS
/// MakeValid and the repair is reported; what is stored is valid, as GDAL
/// (SpatiaLite's `ST_IsValid` through `ogrinfo`) reads it back from an export.
fn a_self_intersecting_commune_is_repaired_and_reported(kind: StoreKind) {
    let Some(file) = shared_data("soc-trang-communes-pre2025.geojson") else {
        return;
    };
    let store = EmptyStore::new(kind, &format!("repaired-boundaries-{}", kind.name()));
    ok(&store.agrimap(&["init"]));
    let dir = scratch_dir(&format!("repaired-boundary-files-{}", kind.name()));
    let mut doc: Json = serde_json::from_slice(&std::fs::read(file).expect("read")).expect("json");
    let features = doc["features"].as_array_mut().expect("features");
    features.truncate(2);
    let ring = if features[0]["geometry"]["type"] == "MultiPolygon" {
        &mut features[0]["geometry"]["coordinates"][0][0]
    } else {
        &mut features[0]["geometry"]["coordinates"][0]
    };
    let ring = ring.as_array_mut().expect("ring");
    let middle = ring.len() / 2;
    ring.swap(1, middle);
    let code = features[0]["properties"]["code"].as_str().expect("code").to_owned();
    let path = dir.join("bowtie.geojson");
    std::fs::write(&path, serde_json::to_vec(&doc).expect("json")).expect("write");

    let said = ok(&store.agrimap(&["boundaries", "import", &path.display().to_string(), "--set", "pre-2025"]));
    assert!(said.contains("2 added"), "{said}");
    assert!(
        said.contains("repaired feature 0: invalid") && said.contains("repaired with GEOS MakeValid"),
        "{said}"
    );
    let server = TestServer::start(store.store());
    let commune = server
        .get(&format!("/api/communes/{code}?boundary_set=pre-2025"), &[])
        .json();
    assert!(commune["area_ha"].as_f64().expect("area") > 0.0, "{commune}");
    let export = server.get(
        &format!("/api/export/admin_commune.geojson?filter=code%3D%27{code}%27"),
        &[],
    );
    assert_eq!(export.status, 200);
    let exported = dir.join("exported.geojson");
    std::fs::write(&exported, &export.body).expect("write");
    let out = std::process::Command::new("ogrinfo")
        .args([
            "-q",
            "-dialect",
            "sqlite",
            "-sql",
            "SELECT ST_IsValid(geometry) AS valid FROM exported",
        ])
        .arg(&exported)
        .output()
        .expect("ogrinfo");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("valid (Integer) = 1"), "{said}");
}

#[test]
fn a_self_intersecting_commune_is_repaired_and_reported_by_geopackage() {
    a_self_intersecting_commune_is_repaired_and_reported(StoreKind::GeoPackage);
}

#[test]
fn a_self_intersecting_commune_is_repaired_and_reported_by_postgis() {
    a_self_intersecting_commune_is_repaired_and_reported(StoreKind::PostGis);
}

#[test]
fn bad_files_are_refused_whole_by_geopackage() {
    bad_files_are_refused_whole(StoreKind::GeoPackage);
}

#[test]
fn bad_files_are_refused_whole_by_postgis() {
    bad_files_are_refused_whole(StoreKind::PostGis);
}

#[test]
fn init_makes_a_store_that_serve_never_seeds() {
    let store = EmptyStore::new(StoreKind::GeoPackage, "init-empty");
    ok(&store.agrimap(&["init"]));
    let again = ok(&store.agrimap(&["init"]));
    assert!(again.contains("already holds a store"), "{again}");
    let server = TestServer::start(store.store());
    let all = communes(&server, "");
    assert_eq!(all["total"], 0, "an initialised store holds no demo");
    // No centre is hard-coded: an empty store's map opens on the country.
    let style = server.get("/styles/farmer.json", &[]).json();
    assert_eq!(
        style["metadata"]["agrimap:bounds"],
        serde_json::json!([102.1, 8.4, 109.5, 23.4])
    );
}

/// A commune of `first` and one of `second` that are neighbours, by index:
/// the first pair whose boundaries meet (never a commune with itself).
fn neighbours(first: &[geo::MultiPolygon<f64>], second: &[geo::MultiPolygon<f64>]) -> (usize, usize) {
    use geo::{BoundingRect, Intersects};
    for (a, one) in first.iter().enumerate() {
        for (b, other) in second.iter().enumerate() {
            let near = one
                .bounding_rect()
                .zip(other.bounding_rect())
                .is_some_and(|(x, y)| x.intersects(&y));
            if !std::ptr::eq(one, other) && near && one.intersects(other) {
                return (a, b);
            }
        }
    }
    panic!("no two communes meet");
}

/// The communes of a real file as geo shapes, in the file's order.
fn shapes_of(file: &Path) -> Vec<geo::MultiPolygon<f64>> {
    features_of(file)
        .iter()
        .map(|f| {
            let g: geojson::Geometry = serde_json::from_value(f["geometry"].clone()).expect("geometry");
            match geo::Geometry::<f64>::try_from(g).expect("geo") {
                geo::Geometry::MultiPolygon(m) => m,
                geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
                other => panic!("not a polygon: {other:?}"),
            }
        })
        .collect()
}

/// `file` with the boundaries of some of its communes (by index) replaced,
/// written to `path`.
fn with_boundaries(file: &Path, path: &Path, replaced: Vec<(usize, geo::MultiPolygon<f64>)>) {
    let mut doc: Json = serde_json::from_slice(&std::fs::read(file).expect("read")).expect("json");
    for (i, shape) in replaced {
        doc["features"][i]["geometry"] =
            serde_json::to_value(geojson::Geometry::from(&geo::Geometry::MultiPolygon(shape))).expect("json");
    }
    std::fs::write(path, serde_json::to_vec(&doc).expect("json")).expect("write");
}

/// The official code of the commune at `index` of a real file.
fn code_at(file: &Path, index: usize) -> String {
    features_of(file)[index]["properties"]["code"]
        .as_str()
        .expect("code")
        .to_owned()
}

/// A crop parcel of about 2 m a side around `at`, as a GeoJSON feature.
fn parcel_at(id: &str, at: geo::Point<f64>, commune: Option<&str>) -> Json {
    let d = 0.000_01;
    let ring = [(-d, -d), (d, -d), (d, d), (-d, d), (-d, -d)].map(|(dx, dy)| [at.x() + dx, at.y() + dy]);
    let mut properties = serde_json::json!({"parcel_id": id, "crop_type": "rice", "season": "dong_xuan"});
    if let Some(code) = commune {
        properties["commune_code"] = code.into();
        properties["boundary_set"] = "2025".into();
    }
    serde_json::json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": properties})
}

/// The communes of each crop parcel, by parcel id, now or on `as_of`.
fn parcel_communes(
    store: &dyn Store,
    as_of: Option<agrimap_model::UtcTime>,
) -> std::collections::BTreeMap<String, String> {
    let crop = agrimap_model::layer("crop").expect("crop");
    let query = agrimap_model::FeatureQuery {
        as_of,
        ..Default::default()
    };
    let features = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(store.features(crop, &query))
        .expect("read the parcels");
    features
        .iter()
        .map(|f| {
            let text = |name| crop.text_of(f, name).unwrap_or_default().to_owned();
            (text("parcel_id"), text("commune_code"))
        })
        .collect()
}

/// The hectares the store holds for the 2025 unit `code` of `layer`.
fn unit_area(store: &dyn Store, layer: &str, code: &str) -> f64 {
    unit_area_in(store, layer, code, "2025")
}

/// The hectares the store holds for the unit `code` of `layer` in `set`.
fn unit_area_in(store: &dyn Store, layer: &str, code: &str, set: &str) -> f64 {
    let units = agrimap_model::layer(layer).expect("layer");
    let features = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(store.features(units, &agrimap_model::FeatureQuery::default()))
        .expect("read the units");
    let unit = features
        .iter()
        .find(|f| units.text_of(f, "code") == Some(code) && units.text_of(f, "boundary_set") == Some(set))
        .expect("the unit");
    units.value_of(unit, "area_ha").as_f64().expect("area")
}

/// The hectares the store holds for the 2025 commune `code`.
fn commune_area(store: &dyn Store, code: &str) -> f64 {
    unit_area(store, "admin_commune", code)
}

/// A correction of the line between two neighbouring communes `a` and
/// `b`: the half of `b` on `a`'s side passes to `a`.
struct Correction {
    a: usize,
    b: usize,
    passing: geo::MultiPolygon<f64>,
    new_a: geo::MultiPolygon<f64>,
    new_b: geo::MultiPolygon<f64>,
}

impl Correction {
    /// `a` of `gaining`, `b` of `losing` (which may be the same list).
    fn of(gaining: &[geo::MultiPolygon<f64>], losing: &[geo::MultiPolygon<f64>]) -> Self {
        let (a, b) = neighbours(gaining, losing);
        Self::between(gaining, losing, a, b)
    }

    /// Between `a` of `gaining` and its neighbour `b` of `losing`.
    fn between(gaining: &[geo::MultiPolygon<f64>], losing: &[geo::MultiPolygon<f64>], a: usize, b: usize) -> Self {
        use geo::{BooleanOps, BoundingRect};
        let (box_a, box_b) = (
            gaining[a].bounding_rect().expect("box"),
            losing[b].bounding_rect().expect("box"),
        );
        let middle = box_b.center().x;
        let half = if box_a.center().x < middle {
            geo::Rect::new(box_b.min(), geo::coord! { x: middle, y: box_b.max().y })
        } else {
            geo::Rect::new(geo::coord! { x: middle, y: box_b.min().y }, box_b.max())
        };
        let passing = losing[b].intersection(&geo::MultiPolygon(vec![half.to_polygon()]));
        Self {
            a,
            b,
            new_a: gaining[a].union(&passing),
            new_b: losing[b].difference(&passing),
            passing,
        }
    }
}

/// A department corrects the line between two real communes of Cần Thơ:
/// part of one passes to its neighbour. The parcels there take the
/// neighbour's code with the boundaries, in the same import; parcels
/// elsewhere, and one whose code never matched its place, keep theirs; the
/// parcel's past keeps its old commune; a second import moves nothing.
fn a_corrected_boundary_moves_the_features_it_now_holds(kind: StoreKind) {
    use geo::InteriorPoint;
    let Some(can_tho) = shared_data("can-tho-communes-2025.geojson") else {
        return;
    };
    let store = EmptyStore::new(kind, &format!("corrected-boundary-{}", kind.name()));
    let dir = scratch_dir(&format!("corrected-boundary-files-{}", kind.name()));
    ok(&store.agrimap(&["init"]));
    import(&store, &can_tho, "2025", "92");

    let shapes = shapes_of(&can_tho);
    let Correction {
        a,
        b,
        passing,
        new_a,
        new_b,
    } = Correction::of(&shapes, &shapes);
    let (code_a, code_b) = (code_at(&can_tho, a), code_at(&can_tho, b));
    let inside = |m: &geo::MultiPolygon<f64>| m.interior_point().expect("a point inside");

    let parcels = dir.join("parcels.geojson");
    let doc_parcels = serde_json::json!({"type": "FeatureCollection", "features": [
        parcel_at("PASSING", inside(&passing), None),
        parcel_at("STAYING", inside(&new_b), None),
        parcel_at("IN-A", inside(&shapes[a]), None),
        // Coded A by its owner although it lies in B: a reload does not judge that.
        parcel_at("CODED-A", inside(&new_b), Some(&code_a)),
    ]});
    std::fs::write(&parcels, serde_json::to_vec(&doc_parcels).expect("json")).expect("write");
    let said = ok(&store.agrimap(&["import", &parcels.display().to_string(), "--layer", "crop"]));
    assert!(said.contains("3 communes found by location"), "{said}");
    let before = parcel_communes(store.store().as_ref(), None);
    let expected_before = [
        ("CODED-A", &code_a),
        ("IN-A", &code_a),
        ("PASSING", &code_b),
        ("STAYING", &code_b),
    ];
    assert_eq!(
        before,
        expected_before.map(|(p, c)| (p.to_owned(), c.clone())).into(),
        "A {code_a}, B {code_b}"
    );
    // Versions are kept to the second: a moment a second from either write.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let moment = agrimap_model::UtcTime::now();
    std::thread::sleep(std::time::Duration::from_millis(1100));

    let corrected = dir.join("can-tho-corrected.geojson");
    with_boundaries(&can_tho, &corrected, vec![(a, new_a), (b, new_b.clone())]);
    let areas = |store: &dyn Store| (commune_area(store, &code_a), commune_area(store, &code_b));
    let areas_before = areas(store.store().as_ref());
    let report_path = dir.join("report.json");
    let file = corrected.display().to_string();
    let args = ["boundaries", "import", &file, "--set", "2025", "--province", "92"];
    let said = ok(&store.agrimap(&[&args[..], &["--report", &report_path.display().to_string()]].concat()));
    assert!(said.contains("103 updated"), "{said}");
    assert!(said.contains("1 features of other layers moved"), "{said}");
    assert!(
        said.contains(&format!("moved crop PASSING: commune {code_b} -> {code_a}")),
        "{said}"
    );
    let report: Json = serde_json::from_slice(&std::fs::read(&report_path).expect("report")).expect("json");
    assert_eq!(
        report["moved"],
        serde_json::json!([{"layer": "crop", "feature": "PASSING", "from": code_b, "to": code_a}])
    );

    let after = parcel_communes(store.store().as_ref(), None);
    let expected_after = [
        ("CODED-A", &code_a),
        ("IN-A", &code_a),
        ("PASSING", &code_a),
        ("STAYING", &code_b),
    ];
    assert_eq!(after, expected_after.map(|(p, c)| (p.to_owned(), c.clone())).into());
    assert_eq!(
        parcel_communes(store.store().as_ref(), Some(moment)),
        before,
        "the past keeps the old commune"
    );
    // The areas follow the boundaries: what B lost, A gained, less the
    // sliver where the real files already drew the two over each other.
    let areas_after = areas(store.store().as_ref());
    let (lost, gained) = (areas_before.1 - areas_after.1, areas_after.0 - areas_before.0);
    assert!(
        lost > 1.0 && gained <= lost && gained > 0.99 * lost,
        "{areas_before:?} -> {areas_after:?}"
    );

    let said = ok(&store.agrimap(&args));
    assert!(
        said.contains("103 updated") && !said.contains("moved") && !said.contains("made again"),
        "{said}"
    );
    assert_eq!(parcel_communes(store.store().as_ref(), None), after);
}

/// The first two neighbouring communes of a real pre-2025 file that lie in
/// different districts, by index.
fn neighbours_across_districts(file: &Path, shapes: &[geo::MultiPolygon<f64>]) -> (usize, usize) {
    use geo::Intersects;
    let districts: Vec<Json> = features_of(file)
        .iter()
        .map(|f| f["properties"]["district_code"].clone())
        .collect();
    (0..shapes.len())
        .flat_map(|a| (a + 1..shapes.len()).map(move |b| (a, b)))
        .find(|&(a, b)| districts[a] != districts[b] && shapes[a].intersects(&shapes[b]))
        .expect("two communes of different districts meet")
}

/// The same correction in the communes of before the reform, on the real
/// Sóc Trăng file: the line between two communes of different districts
/// moves. The parcel in the strip takes the other commune's pre-2025 code,
/// both districts (made from their communes) are made again and move by
/// the strip, and the province keeps its outline.
fn a_corrected_boundary_before_the_reform_remakes_its_districts(kind: StoreKind) {
    use geo::InteriorPoint;
    let Some(soc_trang) = shared_data("soc-trang-communes-pre2025.geojson") else {
        return;
    };
    let store = EmptyStore::new(kind, &format!("corrected-districts-{}", kind.name()));
    let dir = scratch_dir(&format!("corrected-districts-files-{}", kind.name()));
    ok(&store.agrimap(&["init"]));
    import(&store, &soc_trang, "pre-2025", "94");

    let shapes = shapes_of(&soc_trang);
    let (a, b) = neighbours_across_districts(&soc_trang, &shapes);
    let line = Correction::between(&shapes, &shapes, a, b);
    let (code_a, code_b) = (code_at(&soc_trang, a), code_at(&soc_trang, b));
    let district_of = |i: usize| {
        features_of(&soc_trang)[i]["properties"]["district_code"]
            .as_str()
            .expect("district")
            .to_owned()
    };
    let (district_a, district_b) = (district_of(a), district_of(b));
    let inside = |m: &geo::MultiPolygon<f64>| m.interior_point().expect("a point inside");
    let parcels = dir.join("parcels.geojson");
    let doc = serde_json::json!({"type": "FeatureCollection", "features": [
        parcel_at("PASSING", inside(&line.passing), None),
        parcel_at("STAYING", inside(&line.new_b), None),
    ]});
    std::fs::write(&parcels, serde_json::to_vec(&doc).expect("json")).expect("write");
    ok(&store.agrimap(&["import", &parcels.display().to_string(), "--layer", "crop"]));
    let placed = |passing: &str| {
        std::collections::BTreeMap::from([
            ("PASSING".to_owned(), passing.to_owned()),
            ("STAYING".to_owned(), code_b.clone()),
        ])
    };
    assert_eq!(parcel_communes(store.store().as_ref(), None), placed(&code_b));

    let area = |layer: &str, code: &str| unit_area_in(store.store().as_ref(), layer, code, "pre-2025");
    let before = [
        area("admin_commune", &code_b),
        area("admin_district", &district_a),
        area("admin_district", &district_b),
        area("admin_province", "94"),
    ];
    let corrected = dir.join("soc-trang-corrected.geojson");
    with_boundaries(&soc_trang, &corrected, vec![(a, line.new_a), (b, line.new_b)]);
    let said = import(&store, &corrected, "pre-2025", "94");
    assert!(
        said.contains(&format!("moved crop PASSING: commune {code_b} -> {code_a}")),
        "{said}"
    );
    assert_eq!(parcel_communes(store.store().as_ref(), None), placed(&code_a));
    for district in [&district_a, &district_b] {
        assert!(
            said.contains(&format!("admin_district {district} (")) && said.contains("set pre-2025) made again"),
            "{said}"
        );
    }
    let crop = agrimap_model::layer("crop").expect("crop");
    let stored = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(store.store().features(crop, &agrimap_model::FeatureQuery::default()))
        .expect("parcels");
    assert!(
        stored
            .iter()
            .all(|f| crop.text_of(f, "boundary_set") == Some("pre-2025")),
        "the parcels stay in the set they were coded by"
    );
    // What the commune lost, its district lost and the other district
    // gained (less the sliver the real file already drew twice); the
    // province, the union of both, hardly moves.
    let lost = before[0] - area("admin_commune", &code_b);
    let district_lost = before[2] - area("admin_district", &district_b);
    let district_gained = area("admin_district", &district_a) - before[1];
    assert!(
        lost > 1.0 && (district_lost / lost - 1.0).abs() < 0.01 && district_gained > 0.99 * lost,
        "commune -{lost} ha, district {district_b} -{district_lost} ha, district {district_a} +{district_gained} ha"
    );
    assert!(
        (area("admin_province", "94") - before[3]).abs() < 0.01 * lost,
        "{before:?}"
    );
}

#[test]
fn a_corrected_boundary_before_the_reform_remakes_its_districts_in_geopackage() {
    a_corrected_boundary_before_the_reform_remakes_its_districts(StoreKind::GeoPackage);
}

#[test]
fn a_corrected_boundary_before_the_reform_remakes_its_districts_in_postgis() {
    a_corrected_boundary_before_the_reform_remakes_its_districts(StoreKind::PostGis);
}

#[test]
fn a_corrected_boundary_moves_the_features_it_now_holds_in_geopackage() {
    a_corrected_boundary_moves_the_features_it_now_holds(StoreKind::GeoPackage);
}

#[test]
fn a_corrected_boundary_moves_the_features_it_now_holds_in_postgis() {
    a_corrected_boundary_moves_the_features_it_now_holds(StoreKind::PostGis);
}

/// A square parcel across the line between neighbours `a` and `b`, about
/// two thirds in `b` (which holds its centre) and a quarter or more in
/// `a`, its part in `b` inside `within`; `None` if no vertex of `b` on
/// the line gives one.
fn parcel_across(
    a: &geo::MultiPolygon<f64>,
    b: &geo::MultiPolygon<f64>,
    within: &geo::MultiPolygon<f64>,
) -> Option<geo::Polygon<f64>> {
    use geo::{Area, BooleanOps, Centroid, Contains, Intersects};
    let side = 0.000_4;
    let share = |p: &geo::Polygon<f64>, of: &geo::MultiPolygon<f64>| {
        geo::MultiPolygon(vec![p.clone()]).intersection(of).unsigned_area() / p.unsigned_area()
    };
    let on_line =
        b.0.iter()
            .flat_map(|p| p.exterior().0.iter())
            .filter(|v| a.intersects(&geo::Point::from(**v)));
    for v in on_line {
        for (dx, dy) in [
            (1.0, 0.0),
            (-1.0, 0.0),
            (0.0, 1.0),
            (0.0, -1.0),
            (1.0, 1.0),
            (-1.0, -1.0),
            (1.0, -1.0),
            (-1.0, 1.0),
        ] {
            let (x, y) = (v.x + dx * side / 4.0, v.y + dy * side / 4.0);
            let parcel = geo::Rect::new(
                geo::coord! { x: x - side / 2.0, y: y - side / 2.0 },
                geo::coord! { x: x + side / 2.0, y: y + side / 2.0 },
            )
            .to_polygon();
            let (in_a, in_b, in_within) = (share(&parcel, a), share(&parcel, b), share(&parcel, within));
            let centre = parcel.centroid()?;
            if (0.55..0.8).contains(&in_b) && in_a >= 0.2 && (in_within - in_b).abs() < 1e-9 && b.contains(&centre) {
                return Some(parcel);
            }
        }
    }
    None
}

/// An editor of Cần Thơ (92) sends Cần Thơ's boundaries with one commune
/// shrunk away from its real neighbour in Đồng Tháp (82): a parcel across
/// the provinces' line, mostly in Cần Thơ's commune until then, would
/// now lie mostly in Đồng Tháp's and change province. The upload is
/// refused (403, nothing written). The same file from the command line,
/// with the rights of the whole store, moves the parcel to Đồng Tháp's
/// commune: across provinces, and in PostGIS across partitions.
fn an_editor_of_one_province_cannot_move_features_of_another(kind: StoreKind) {
    let (Some(can_tho), Some(dong_thap)) = (
        shared_data("can-tho-communes-2025.geojson"),
        shared_data("dong-thap-communes-2025.geojson"),
    ) else {
        return;
    };
    let store = EmptyStore::new(kind, &format!("boundary-across-provinces-{}", kind.name()));
    let dir = scratch_dir(&format!("boundary-across-provinces-files-{}", kind.name()));
    ok(&store.agrimap(&["init"]));
    import(&store, &can_tho, "2025", "92");
    import(&store, &dong_thap, "2025", "82");
    let (dong_thap_shapes, can_tho_shapes) = (shapes_of(&dong_thap), shapes_of(&can_tho));
    let line = Correction::of(&dong_thap_shapes, &can_tho_shapes);
    let (code_a, code_b) = (code_at(&dong_thap, line.a), code_at(&can_tho, line.b));
    let parcel = parcel_across(&dong_thap_shapes[line.a], &can_tho_shapes[line.b], &line.passing)
        .expect("a parcel across the line");

    let parcels = dir.join("parcels.geojson");
    let parcel = geojson::Geometry::from(&geo::Geometry::Polygon(parcel));
    let doc = serde_json::json!({"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": parcel,
        "properties": {"parcel_id": "BORDER", "crop_type": "rice", "season": "dong_xuan"}}]});
    std::fs::write(&parcels, serde_json::to_vec(&doc).expect("json")).expect("write");
    ok(&store.agrimap(&["import", &parcels.display().to_string(), "--layer", "crop"]));
    let placed = std::collections::BTreeMap::from([("BORDER".to_owned(), code_b.clone())]);
    assert_eq!(parcel_communes(store.store().as_ref(), None), placed);

    let corrected = dir.join("can-tho-shrunk.geojson");
    with_boundaries(&can_tho, &corrected, vec![(line.b, line.new_b)]);
    let area_before = commune_area(store.store().as_ref(), &code_b);
    let provinces_before = (
        unit_area(store.store().as_ref(), "admin_province", "92"),
        unit_area(store.store().as_ref(), "admin_province", "82"),
    );
    let server = TestServer::start(store.store());
    let token = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(agrimap_core::tokens::issue_scoped_token(
            server.store.as_ref(),
            "editor of Cần Thơ",
            "editor",
            &["92".to_owned()],
        ))
        .expect("token")
        .1;
    let refused = agrimap_suite::request_with_body(
        "POST",
        &format!(
            "{}/api/import/admin_commune?format=geojson&boundary_set=2025&province=92",
            server.base
        ),
        &[("authorization", &format!("Bearer {token}"))],
        std::fs::read(&corrected).expect("read"),
    );
    assert_eq!(refused.status, 403, "{}", String::from_utf8_lossy(&refused.body));
    assert_eq!(refused.error_code(), "outside_provinces");
    let message = refused.json()["error"]["message"].as_str().expect("message").to_owned();
    assert!(
        message.contains("the new boundaries would move 1 features to or from communes of province 82"),
        "{message}"
    );
    assert_eq!(parcel_communes(server.store.as_ref(), None), placed, "nothing moved");
    assert!(
        (commune_area(server.store.as_ref(), &code_b) - area_before).abs() < 1e-9,
        "the boundary is as it was"
    );
    drop(server);

    let file = corrected.display().to_string();
    let said = ok(&store.agrimap(&["boundaries", "import", &file, "--set", "2025", "--province", "92"]));
    assert!(
        said.contains(&format!("moved crop BORDER: commune {code_b} -> {code_a}")),
        "{said}"
    );
    let moved = std::collections::BTreeMap::from([("BORDER".to_owned(), code_a)]);
    assert_eq!(parcel_communes(store.store().as_ref(), None), moved);
    // The strip left Cần Thơ's commune, and with it the province made from its communes.
    let lost = area_before - commune_area(store.store().as_ref(), &code_b);
    let province_lost = provinces_before.0 - unit_area(store.store().as_ref(), "admin_province", "92");
    assert!(
        lost > 1.0 && (province_lost / lost - 1.0).abs() < 0.05,
        "{lost} ha, province {province_lost} ha"
    );
    assert!(
        said.contains("admin_province 92 (") && said.contains("made again from its 103 communes"),
        "{said}"
    );
    let dong_thap_after = unit_area(store.store().as_ref(), "admin_province", "82");
    assert!(
        (dong_thap_after - provinces_before.1).abs() < 1e-9,
        "Đồng Tháp's outline is its communes'"
    );
}

#[test]
fn an_editor_of_one_province_cannot_move_features_of_another_in_geopackage() {
    an_editor_of_one_province_cannot_move_features_of_another(StoreKind::GeoPackage);
}

#[test]
fn an_editor_of_one_province_cannot_move_features_of_another_in_postgis() {
    an_editor_of_one_province_cannot_move_features_of_another(StoreKind::PostGis);
}

/// A province outline imported from a file of its own is the department's,
/// not agrimap's: a corrected commune leaves it as it is, and the report
/// says so.
fn a_province_of_its_own_file_is_kept(kind: StoreKind) {
    let Some(can_tho) = shared_data("can-tho-communes-2025.geojson") else {
        return;
    };
    let store = EmptyStore::new(kind, &format!("province-kept-{}", kind.name()));
    let dir = scratch_dir(&format!("province-kept-files-{}", kind.name()));
    ok(&store.agrimap(&["init"]));
    import(&store, &can_tho, "2025", "92");
    let [x0, y0, x1, y1] = extent_of(&can_tho);
    let outline = dir.join("province.geojson");
    let doc = serde_json::json!({"type": "FeatureCollection", "features": [{"type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]},
        "properties": {"code": "92", "name": "Thành phố Cần Thơ", "boundary_set": "2025"}}]});
    std::fs::write(&outline, serde_json::to_vec(&doc).expect("json")).expect("write");
    ok(&store.agrimap(&["import", &outline.display().to_string(), "--layer", "admin_province"]));
    let official = unit_area(store.store().as_ref(), "admin_province", "92");

    let shapes = shapes_of(&can_tho);
    let line = Correction::of(&shapes, &shapes);
    let corrected = dir.join("can-tho-corrected.geojson");
    with_boundaries(&can_tho, &corrected, vec![(line.b, line.new_b)]);
    let said = import(&store, &corrected, "2025", "92");
    assert!(
        said.contains(
            "admin_province 92 (Thành phố Cần Thơ, set 2025) kept as stored: it was not made from its communes"
        ),
        "{said}"
    );
    assert!((unit_area(store.store().as_ref(), "admin_province", "92") - official).abs() < 1e-9);
}

/// The real Cần Thơ file has no populations: exported by GDAL, the empty
/// column is still a column of integers (GDAL guesses a type from the
/// values, and would make it text), and so are the other typed fields.
fn exports_keep_the_types_of_empty_columns(kind: StoreKind) {
    let Some(can_tho) = shared_data("can-tho-communes-2025.geojson") else {
        return;
    };
    let store = EmptyStore::new(kind, &format!("typed-export-{}", kind.name()));
    ok(&store.agrimap(&["init"]));
    import(&store, &can_tho, "2025", "92");
    for (format, file) in [
        ("gpkg", "communes.gpkg"),
        ("shp.zip", "communes.shp.zip"),
        ("fgb", "communes.fgb"),
    ] {
        let path = store.dir.join(file);
        let path_text = path.display().to_string();
        ok(&store.agrimap(&["export", "--layer", "admin_commune", "--format", format, &path_text]));
        let opened = if format == "shp.zip" {
            format!("/vsizip/{path_text}")
        } else {
            path_text
        };
        let out = Command::new("ogrinfo")
            .args(["-ro", "-so", &opened, "admin_commune"])
            .output()
            .expect("ogrinfo");
        let info = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(info.contains("Feature Count: 103"), "{format}: {info}");
        for column in [
            "population: Integer64",
            "ntm_year: Integer64",
            "area_ha: Real",
            "name: String",
        ] {
            assert!(info.contains(column), "{format} has no {column}: {info}");
        }
    }
}

#[test]
fn exports_keep_the_types_of_empty_columns_in_geopackage() {
    exports_keep_the_types_of_empty_columns(StoreKind::GeoPackage);
}

#[test]
fn exports_keep_the_types_of_empty_columns_in_postgis() {
    exports_keep_the_types_of_empty_columns(StoreKind::PostGis);
}

#[test]
fn a_province_of_its_own_file_is_kept_in_geopackage() {
    a_province_of_its_own_file_is_kept(StoreKind::GeoPackage);
}

#[test]
fn a_province_of_its_own_file_is_kept_in_postgis() {
    a_province_of_its_own_file_is_kept(StoreKind::PostGis);
}

/// The special zone (đặc khu) that the 2025 reorganisation made is a
/// commune of its own kind: a 2025 file naming one lands with its kind
/// (PostGIS's CHECK took it with migration 0022), and it is found by its
/// name with or without the word "đặc khu". The real files of Cần Thơ and
/// Đồng Tháp have none (the thirteen are on islands elsewhere), so one of
/// Cần Thơ's communes is renamed as one.
fn a_special_zone_is_a_commune_of_its_own_kind(kind: StoreKind) {
    let Some(can_tho) = shared_data("can-tho-communes-2025.geojson") else {
        return;
    };
    let store = EmptyStore::new(kind, &format!("special-zone-{}", kind.name()));
    let dir = scratch_dir(&format!("special-zone-files-{}", kind.name()));
    ok(&store.agrimap(&["init"]));
    let mut doc: Json = serde_json::from_slice(&std::fs::read(&can_tho).expect("read")).expect("json");
    doc["features"][0]["properties"]["name"] = "Đặc khu Thạnh Thới".into();
    let code = doc["features"][0]["properties"]["code"]
        .as_str()
        .expect("code")
        .to_owned();
    let renamed = dir.join("can-tho-special-zone.geojson");
    std::fs::write(&renamed, serde_json::to_vec(&doc).expect("json")).expect("write");
    let said = import(&store, &renamed, "2025", "92");
    assert!(said.contains("103 added"), "{said}");

    let server = TestServer::start(store.store());
    for q in [
        "thanh%20thoi",
        "dac%20khu%20thanh%20thoi",
        "%C4%90%E1%BA%B7c%20khu%20Th%E1%BA%A1nh%20Th%E1%BB%9Bi",
    ] {
        let found = communes(&server, &format!("q={q}&boundary_set=2025"));
        assert_eq!(found["communes"][0]["code"], code.as_str(), "{q}: {found}");
        assert_eq!(found["communes"][0]["kind"], "dac_khu", "{q}: {found}");
    }
    // Renamed back by the real file (Phường Cái Khế): the kind follows the name.
    import(&store, &can_tho, "2025", "92");
    let found = communes(&server, &format!("q={code}&boundary_set=2025"));
    assert_eq!(found["communes"][0]["name"], "Phường Cái Khế", "{found}");
    assert_eq!(found["communes"][0]["kind"], "phuong", "{found}");
}

#[test]
fn a_special_zone_is_a_commune_of_its_own_kind_in_geopackage() {
    a_special_zone_is_a_commune_of_its_own_kind(StoreKind::GeoPackage);
}

#[test]
fn a_special_zone_is_a_commune_of_its_own_kind_in_postgis() {
    a_special_zone_is_a_commune_of_its_own_kind(StoreKind::PostGis);
}

/// A province whose thematic layers are still empty (the usual first day
/// after its boundaries land) totals 0 everywhere: never "-0", which an
/// empty floating-point sum would print in JSON, CSV and reports.
fn empty_layers_total_zero_not_minus_zero(kind: StoreKind) {
    let Some(can_tho) = shared_data("can-tho-communes-2025.geojson") else {
        return;
    };
    let store = EmptyStore::new(kind, &format!("empty-totals-{}", kind.name()));
    ok(&store.agrimap(&["init"]));
    import(&store, &can_tho, "2025", "92");
    let server = TestServer::start(store.store());
    for path in [
        "/api/communes/31120/summary",
        "/api/stats?layer=crop&by=commune&province=92",
        "/api/stats?layer=livestock_farms&by=province&metric=sum:head_count",
        "/api/compare?communes=31120,31135",
    ] {
        let reply = server.get(path, &[]);
        assert_eq!(reply.status, 200, "{path}: {}", String::from_utf8_lossy(&reply.body));
        let text = String::from_utf8_lossy(&reply.body).into_owned();
        assert!(!text.contains("-0.0") && !text.contains(":-0,"), "{path}: {text}");
    }
    let summary = server.get("/api/communes/31120/summary", &[]).json();
    assert_eq!(summary["crop"]["total_ha"], serde_json::json!(0.0), "{summary}");
}

#[test]
fn empty_layers_total_zero_not_minus_zero_in_geopackage() {
    empty_layers_total_zero_not_minus_zero(StoreKind::GeoPackage);
}

#[test]
fn empty_layers_total_zero_not_minus_zero_in_postgis() {
    empty_layers_total_zero_not_minus_zero(StoreKind::PostGis);
}
