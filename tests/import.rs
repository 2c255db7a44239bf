//! `agrimap import` and `POST /api/import/{layer}` on both stores, with input
//! files made by GDAL's own `ogr2ogr` from hand-written GeoJSON: Shapefiles in
//! VN-2000 (UTM 48N and a provincial TM-3 zone), GeoPackage, KML, CSV with WKT
//! and with lon/lat columns, MapInfo TAB. Every feature comes back with its
//! Vietnamese text intact and its coordinates within 1e-6° of the originals,
//! its commune found from its location; importing again updates; one bad
//! record stops the whole import unless --skip-invalid; and every kind of bad
//! input (truncated, corrupt, empty, unknown CRS, wrong mapping, wrong code
//! page) names the problem and leaves the store as it was.
//!
//! The VN-2000 files are written with the official datum shift (as `.prj`
//! TOWGS84); PROJ's default choice in the Mekong delta is another
//! transformation a metre away, so an import that did not force the official
//! shift would miss the originals by far more than 1e-6°.

use agrimap_core::tokens::issue_token;
use agrimap_model::{Audience, Feature, FeatureQuery, LayerDef, layer};
use agrimap_suite::{DemoCopy, StoreKind, agrimap_bin, assert_wound_as_rfc_7946, request_with_body, scratch_dir};
use geo::{CoordsIter, InteriorPoint};
use serde_json::{Value as Json, json};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A store of its own for one test, with the flags that point the CLI at it.
struct Target(DemoCopy);

impl std::ops::Deref for Target {
    type Target = DemoCopy;
    fn deref(&self) -> &DemoCopy {
        &self.0
    }
}

impl Target {
    fn new(kind: StoreKind, name: &str) -> Self {
        Self(DemoCopy::new(kind, &format!("import_{name}")))
    }

    /// `agrimap import FILE --layer L ARGS...` on this store.
    fn import(&self, file: &Path, layer: &str, args: &[&str]) -> Output {
        Command::new(agrimap_bin())
            .arg("import")
            .arg(file)
            .args(["--layer", layer])
            .args(args)
            .args(&self.flags)
            .output()
            .expect("agrimap import")
    }

    /// The layer's feature count and change counter: what "unchanged" means.
    fn state(&self, layer_id: &str) -> (u64, u64) {
        let l = layer(layer_id).expect("layer");
        self.runtime.block_on(async {
            let count = self.store.count(l, &FeatureQuery::default()).await.expect("count");
            let version = self.store.versions().await.expect("versions")[l.id];
            (count, version)
        })
    }

    fn features_of(&self, l: &'static LayerDef, commune: &str) -> Vec<Feature> {
        self.runtime.block_on(async {
            let q = FeatureQuery {
                commune: Some(commune.to_owned()),
                audience: Audience::Full,
                ..FeatureQuery::default()
            };
            self.store.features(l, &q).await.expect("features")
        })
    }

    /// Three communes of the demo province: code, boundary set and a point inside.
    fn communes(&self) -> Vec<(String, String, [f64; 2])> {
        let l = layer("admin_commune").expect("communes");
        let all = self
            .runtime
            .block_on(self.store.features(l, &FeatureQuery::default()))
            .expect("communes");
        let text = |f: &Feature, name: &str| {
            f.properties[l.field_index(name).expect("field")]
                .as_str()
                .expect("text")
                .to_owned()
        };
        all.iter()
            .step_by(all.len() / 3)
            .take(3)
            .map(|f| {
                let p = f.geometry.interior_point().expect("point");
                (text(f, "code"), text(f, "boundary_set"), [p.x(), p.y()])
            })
            .collect()
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ogr2ogr(args: &[&str]) {
    let out = Command::new("ogr2ogr")
        .args(args)
        .output()
        .expect("ogr2ogr (tests/run.sh installs gdal-bin)");
    assert!(out.status.success(), "ogr2ogr {args:?}: {}", text(&out));
}

/// The PROJ definition of a VN-2000 CRS with the official shift, as GDAL gives it.
fn proj4_of(epsg: &str) -> String {
    let out = Command::new("gdalsrsinfo")
        .args(["-o", "proj4", epsg])
        .output()
        .expect("gdalsrsinfo");
    let def = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        def.contains("+towgs84=-191.90441429,-39.30318279,-111.45032835"),
        "{def}"
    );
    def
}

/// `src` written by ogr2ogr as a zipped Shapefile whose `.dbf` is in `encoding`.
fn zipped_shapefile(src: &Path, zip: &Path, encoding: &str) {
    let lco = format!("ENCODING={encoding}");
    ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        "-lco",
        &lco,
        zip.to_str().expect("p"),
        src.to_str().expect("p"),
    ]);
}

/// `src` (WGS 84) reprojected by ogr2ogr with the official VN-2000 shift into
/// `dst`, whose CRS is then declared as `epsg`.
fn to_vn2000(src: &Path, dst: &Path, driver: &str, epsg: &str, extra: &[&str]) {
    let tmp = dst.with_file_name(format!("tmp-{}", dst.file_name().expect("name").to_string_lossy()));
    let def = proj4_of(epsg);
    let (s, t, d) = (
        src.to_str().expect("p"),
        tmp.to_str().expect("p"),
        dst.to_str().expect("p"),
    );
    let mut first = vec!["-f", driver, "-t_srs", &def, t, s];
    first.extend_from_slice(extra);
    ogr2ogr(&first);
    let mut second = vec!["-f", driver, "-a_srs", epsg, d, t];
    second.extend_from_slice(extra);
    ogr2ogr(&second);
}

/// Three crop parcels, one in each commune, 40 m squares around a point inside it.
fn parcels(communes: &[(String, String, [f64; 2])], variety: &str) -> Json {
    let features: Vec<Json> = communes
        .iter()
        .enumerate()
        .map(|(i, (_, set, [x, y]))| {
            let d = 0.0002;
            json!({
                "type": "Feature",
                "properties": {
                    "parcel_id": format!("IMP-{i}"),
                    "boundary_set": set,
                    "crop_type": "pomelo",
                    "season": "perennial",
                    "variety": variety,
                    "area_ha": 0.19,
                    "planting_date": "2026-03-05",
                    "practice": "vietgap",
                    "owner_name": "Nguyễn Thị Ánh",
                },
                "geometry": {"type": "Polygon", "coordinates": [[
                    [x - d, y - d], [x + d, y - d], [x + d, y + d], [x - d, y + d], [x - d, y - d]
                ]]},
            })
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}

/// Three OCOP producers, one in each commune, ids starting with `prefix`.
fn producers(communes: &[(String, String, [f64; 2])], prefix: &str) -> Json {
    let features: Vec<Json> = communes
        .iter()
        .enumerate()
        .map(|(i, (_, set, [x, y]))| {
            json!({
                "type": "Feature",
                "properties": {
                    "product_id": format!("{prefix}-{i}"),
                    "boundary_set": set,
                    "name": "Bưởi Năm Roi Mỹ Xương",
                    "category": "food",
                    "stars": 4,
                    "producer": "HTX Nông nghiệp Tân Hòa",
                },
                "geometry": {"type": "Point", "coordinates": [x + 0.0001, y - 0.0001]},
            })
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}

fn write_json(path: &Path, doc: &Json) -> PathBuf {
    std::fs::write(path, serde_json::to_vec(doc).expect("json")).expect("write");
    path.to_owned()
}

fn value<'a>(l: &LayerDef, f: &'a Feature, name: &str) -> &'a agrimap_model::Value {
    &f.properties[l.field_index(name).expect("field")]
}

/// Every original vertex has a stored vertex within 1e-6° (ring order and
/// orientation may differ: Shapefiles turn outer rings clockwise); the first
/// vertex without one otherwise.
fn same_place(original: &Json, stored: &geo::Geometry<f64>) -> Result<(), String> {
    let g: geo::Geometry<f64> = geo::Geometry::try_from(
        &serde_json::from_value::<geojson::Geometry>(original.clone())
            .expect("geometry")
            .value,
    )
    .expect("geo");
    match g.coords_iter().find(|c| {
        !stored
            .coords_iter()
            .any(|s| (s.x - c.x).abs() < 1e-6 && (s.y - c.y).abs() < 1e-6)
    }) {
        Some(c) => Err(format!(
            "no stored vertex within 1e-6° of ({}, {}): {stored:?}",
            c.x, c.y
        )),
        None => Ok(()),
    }
}

fn assert_same_place(original: &Json, stored: &geo::Geometry<f64>) {
    if let Err(e) = same_place(original, stored) {
        panic!("{e}");
    }
}

/// The parcels of `doc` are in the store, each in the commune it was placed in.
fn assert_parcels_landed(t: &Target, doc: &Json, communes: &[(String, String, [f64; 2])], variety: &str) {
    let crop = layer("crop").expect("crop");
    for (i, (code, _, _)) in communes.iter().enumerate() {
        let id = format!("IMP-{i}");
        let found: Vec<Feature> = t
            .features_of(crop, code)
            .into_iter()
            .filter(|f| value(crop, f, "parcel_id").as_str() == Some(id.as_str()))
            .collect();
        assert_eq!(found.len(), 1, "parcel {id} in commune {code}");
        let f = &found[0];
        assert_eq!(value(crop, f, "variety").as_str(), Some(variety));
        assert_eq!(value(crop, f, "owner_name").as_str(), Some("Nguyễn Thị Ánh"));
        assert_eq!(value(crop, f, "planting_date").as_str(), Some("2026-03-05"));
        assert_eq!(value(crop, f, "practice").as_str(), Some("vietgap"));
        assert_same_place(&doc["features"][i]["geometry"], &f.geometry);
    }
}

fn report(path: &Path) -> Json {
    serde_json::from_slice(&std::fs::read(path).expect("report")).expect("report json")
}

fn vn2000_shapefile_lands_and_reimport_updates(kind: StoreKind) {
    let t = Target::new(kind, "shp");
    let communes = t.communes();
    let doc = parcels(&communes, "Da xanh Bến Tre");
    let src = write_json(&t.dir.join("parcels.geojson"), &doc);
    let shp = t.dir.join("parcels.shp");
    to_vn2000(&src, &shp, "ESRI Shapefile", "EPSG:3405", &["-lco", "ENCODING=UTF-8"]);
    let (before, _) = t.state("crop");

    let out = t.import(&shp, "crop", &["--report", t.dir.join("r.json").to_str().expect("p")]);
    assert!(out.status.success(), "{}", text(&out));
    let r = report(&t.dir.join("r.json"));
    assert_eq!(r["inserted"], 3, "{r}");
    assert_eq!(r["communes_assigned"], 3, "{r}");
    assert_eq!(r["crs"], "EPSG:3405", "{r}");
    assert_eq!(t.state("crop").0, before + 3);
    assert_parcels_landed(&t, &doc, &communes, "Da xanh Bến Tre");

    // The same file again: updated in place, nothing added.
    let out = t.import(&shp, "crop", &["--report", t.dir.join("r2.json").to_str().expect("p")]);
    assert!(out.status.success(), "{}", text(&out));
    let r = report(&t.dir.join("r2.json"));
    assert_eq!(
        (r["inserted"].as_u64(), r["updated"].as_u64()),
        (Some(0), Some(3)),
        "{r}"
    );
    assert_eq!(t.state("crop").0, before + 3);

    // A TM-3 zone GeoPackage of the same parcels with a new variety and no
    // owners updates them: the variety changes, the owners stay.
    let mut doc = parcels(&communes, "Năm Roi");
    for f in doc["features"].as_array_mut().expect("features") {
        f["properties"].as_object_mut().expect("props").remove("owner_name");
    }
    let src = write_json(&t.dir.join("parcels2.geojson"), &doc);
    let gpkg = t.dir.join("parcels.gpkg");
    to_vn2000(&src, &gpkg, "GPKG", "EPSG:9210", &[]);
    let out = t.import(&gpkg, "crop", &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(t.state("crop").0, before + 3);
    assert_parcels_landed(&t, &doc, &communes, "Năm Roi");
}

/// A GeoJSON feature without a property the others carry has no value for
/// it: the number is stored as null, as a text or a date is, never as 0.
fn a_number_a_feature_leaves_out_is_null_not_zero(kind: StoreKind) {
    let t = Target::new(kind, "unset");
    let communes = t.communes();
    let mut doc = parcels(&communes, "Da xanh");
    for f in &mut doc["features"].as_array_mut().expect("features")[1..] {
        f["properties"].as_object_mut().expect("props").remove("area_ha");
    }
    let file = write_json(&t.dir.join("unset.geojson"), &doc);
    let out = t.import(&file, "crop", &[]);
    assert!(out.status.success(), "{}", text(&out));
    let crop = layer("crop").expect("crop");
    let area = |i: usize| {
        let id = format!("IMP-{i}");
        t.features_of(crop, &communes[i].0)
            .into_iter()
            .find(|f| value(crop, f, "parcel_id").as_str() == Some(id.as_str()))
            .map(|f| value(crop, &f, "area_ha").clone())
            .expect("parcel")
    };
    assert_eq!(area(0).as_f64(), Some(0.19));
    assert!(area(1).is_null() && area(2).is_null(), "{:?} {:?}", area(1), area(2));
}

/// A GeoPackage of two tables (two communes' parcels, as a district office
/// sends them) is not read from its first table alone: the import names
/// the tables, and `--source-layer` picks one.
fn a_file_of_several_layers_is_read_from_the_one_chosen(kind: StoreKind) {
    let t = Target::new(kind, "layers");
    let communes = t.communes();
    let first = write_json(&t.dir.join("xa_a.geojson"), &parcels(&communes[..1], "Da xanh"));
    let second = write_json(&t.dir.join("xa_b.geojson"), &parcels(&communes, "Năm Roi"));
    let gpkg = t.dir.join("two-tables.gpkg");
    let (gpkg_s, first_s, second_s) = (
        gpkg.to_str().expect("path"),
        first.to_str().expect("path"),
        second.to_str().expect("path"),
    );
    ogr2ogr(&["-f", "GPKG", gpkg_s, first_s, "-nln", "thua_a"]);
    ogr2ogr(&["-f", "GPKG", "-update", gpkg_s, second_s, "-nln", "thua_b"]);
    let (before, version) = t.state("crop");
    let refused = t.import(&gpkg, "crop", &[]);
    assert!(!refused.status.success());
    let said = text(&refused);
    assert!(
        said.contains("holds 2 layers with features") && said.contains("'thua_a' (1)") && said.contains("'thua_b' (3)"),
        "{said}"
    );
    assert_eq!(t.state("crop"), (before, version));
    let wrong = t.import(&gpkg, "crop", &["--source-layer", "thua_c"]);
    assert!(text(&wrong).contains("has no layer 'thua_c'"), "{}", text(&wrong));
    let out = t.import(&gpkg, "crop", &["--source-layer", "thua_b"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(t.state("crop").0, before + 3);
    assert_parcels_landed(&t, &parcels(&communes, "Năm Roi"), &communes, "Năm Roi");
}

/// Numbers outside what they can be (seven OCOP stars, a negative area, a
/// certificate of the year 3025) are refused by name, and nothing is written.
fn numbers_out_of_their_bounds_are_refused(kind: StoreKind) {
    let t = Target::new(kind, "bounds");
    let communes = t.communes();
    for (field, value, says) in [
        ("stars", json!(7), "field 'stars' is from 1 to 5, not 7"),
        (
            "certified_year",
            json!(3025),
            "field 'certified_year' is from 2000 to 2100, not 3025",
        ),
    ] {
        let mut doc = producers(&communes, "BOUND");
        doc["features"][0]["properties"][field] = value;
        let file = write_json(&t.dir.join(format!("{field}.geojson")), &doc);
        let before = t.state("ocop");
        let out = t.import(&file, "ocop", &[]);
        assert!(!out.status.success());
        assert!(text(&out).contains(says), "{}", text(&out));
        assert_eq!(t.state("ocop"), before);
    }
    let mut doc = parcels(&communes, "Da xanh");
    doc["features"][1]["properties"]["area_ha"] = json!(-5);
    let file = write_json(&t.dir.join("negative.geojson"), &doc);
    let out = t.import(&file, "crop", &[]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("field 'area_ha' is at least 0, not -5"),
        "{}",
        text(&out)
    );
}

/// `agrimap boundaries import FILE --set pre-2025 --province 94` on `t`,
/// which must succeed; what it said.
fn soc_trang_boundaries(t: &Target, file: &Path) -> String {
    let out = t.agrimap(&[
        "boundaries",
        "import",
        file.to_str().expect("p"),
        "--set",
        "pre-2025",
        "--province",
        "94",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
}

/// A department's communes as a Shapefile in VN-2000 (the real Sóc Trăng
/// file through ogr2ogr): the `.dbf` cuts `district_name` to `district_n`,
/// and the districts made from the communes still get their names and
/// kinds; their outlines hold all their communes although a Shapefile
/// draws every ring clockwise, and the same file again changes nothing.
fn a_vn2000_shapefile_of_communes_names_its_districts(kind: StoreKind) {
    let Some(soc_trang) = agrimap_suite::shared_data("soc-trang-communes-pre2025.geojson") else {
        return;
    };
    let t = Target::new(kind, "communes_shp");
    let shp = t.dir.join("communes.shp");
    to_vn2000(
        &soc_trang,
        &shp,
        "ESRI Shapefile",
        "EPSG:9210",
        &["-lco", "ENCODING=UTF-8"],
    );
    let said = soc_trang_boundaries(&t, &shp);
    assert!(
        said.contains("admin_district 942 (Huyện Châu Thành, set pre-2025) made from its 8 communes"),
        "{said}"
    );

    let doc: Json = serde_json::from_slice(&std::fs::read(&soc_trang).expect("read")).expect("json");
    let mut named = std::collections::BTreeMap::new();
    for f in doc["features"].as_array().expect("features") {
        let p = &f["properties"];
        named.insert(
            p["district_code"].as_str().expect("code").to_owned(),
            p["district_name"].as_str().expect("name").to_owned(),
        );
    }
    let all = FeatureQuery::default();
    let (districts, communes) = (layer("admin_district").expect("l"), layer("admin_commune").expect("l"));
    let stored = t
        .runtime
        .block_on(t.store.features(districts, &all))
        .expect("districts");
    let stored_communes = t.runtime.block_on(t.store.features(communes, &all)).expect("communes");
    let text_of = |l: &LayerDef, f: &Feature, name: &str| l.text_of(f, name).unwrap_or_default().to_owned();
    let mut seen = 0;
    for d in stored
        .iter()
        .filter(|d| named.contains_key(&text_of(districts, d, "code")))
    {
        let code = text_of(districts, d, "code");
        let name = text_of(districts, d, "name");
        assert_eq!(Some(&name), named.get(&code), "{code}");
        let kind = ["Huyện ", "Thị xã ", "Thành phố "]
            .iter()
            .zip(["huyen", "thi_xa", "thanh_pho"])
            .find(|(prefix, _)| name.starts_with(**prefix))
            .map(|(_, k)| k);
        assert_eq!(districts.text_of(d, "kind"), kind, "{name}");
        let of_communes: f64 = stored_communes
            .iter()
            .filter(|c| text_of(communes, c, "district_code") == code)
            .filter_map(|c| communes.value_of(c, "area_ha").as_f64())
            .sum();
        let area = districts.value_of(d, "area_ha").as_f64().expect("area");
        assert!(
            (area / of_communes - 1.0).abs() < 0.005,
            "{name}: {area} ha, its communes {of_communes} ha"
        );
        seen += 1;
    }
    assert_eq!(seen, named.len());

    // Exported as GeoJSON, the rings are wound as RFC 7946 asks, not as
    // the Shapefile drew them.
    let out = Command::new(agrimap_bin())
        .args(["export", "--layer", "admin_commune", "-"])
        .args(&t.flags)
        .output()
        .expect("agrimap export");
    assert!(out.status.success(), "{}", text(&out));
    let exported: Json = serde_json::from_slice(&out.stdout).expect("GeoJSON");
    let features = exported["features"].as_array().expect("features");
    let of_soc_trang = features.iter().filter(|f| f["properties"]["province_code"] == "94");
    assert_eq!(of_soc_trang.count(), 108);
    assert_wound_as_rfc_7946(features);

    // The same file again changes no boundary, however its rings run: no
    // district is made again, no feature looked at.
    let said = soc_trang_boundaries(&t, &shp);
    assert!(said.contains("0 added and 108 updated"), "{said}");
    assert!(!said.contains("made again"), "{said}");
}

fn point_formats_land_with_their_text_and_places(kind: StoreKind) {
    let t = Target::new(kind, "points");
    let communes = t.communes();
    let ocop = layer("ocop").expect("ocop");
    let check = |prefix: &str, doc: &Json| {
        for (i, (code, _, _)) in communes.iter().enumerate() {
            let id = format!("{prefix}-{i}");
            let f = t
                .features_of(ocop, code)
                .into_iter()
                .find(|f| value(ocop, f, "product_id").as_str() == Some(id.as_str()))
                .unwrap_or_else(|| panic!("{id} not in commune {code}"));
            assert_eq!(value(ocop, &f, "name").as_str(), Some("Bưởi Năm Roi Mỹ Xương"), "{id}");
            assert_eq!(
                value(ocop, &f, "producer").as_str(),
                Some("HTX Nông nghiệp Tân Hòa"),
                "{id}"
            );
            assert_eq!(value(ocop, &f, "stars").as_i64(), Some(4), "{id}");
            assert_same_place(&doc["features"][i]["geometry"], &f.geometry);
        }
    };
    let (start, _) = t.state("ocop");
    let mut added = 0;
    let mut run = |path: &Path, args: &[&str], prefix: &str, doc: &Json| {
        let out = t.import(path, "ocop", args);
        assert!(out.status.success(), "{}: {}", path.display(), text(&out));
        added += 3;
        assert_eq!(t.state("ocop").0, start + added, "{}", path.display());
        check(prefix, doc);
    };

    let doc = producers(&communes, "GJ");
    run(&write_json(&t.dir.join("p.geojson"), &doc), &[], "GJ", &doc);

    for (driver, file, prefix) in [("KML", "p.kml", "KML"), ("MapInfo File", "p.tab", "TAB")] {
        let doc = producers(&communes, prefix);
        let src = write_json(&t.dir.join(format!("{prefix}.geojson")), &doc);
        let dst = t.dir.join(file);
        ogr2ogr(&["-f", driver, dst.to_str().expect("p"), src.to_str().expect("p")]);
        run(&dst, &[], prefix, &doc);
    }

    // CSV with a WKT column and Vietnamese column names, mapped.
    let doc = producers(&communes, "WKT");
    let mut csv = String::from("ma_sp,ten_san_pham,so_sao,boundary_set,category,producer,WKT\n");
    for f in doc["features"].as_array().expect("features") {
        let p = &f["properties"];
        let c = &f["geometry"]["coordinates"];
        let _ = writeln!(
            csv,
            "{},\"{}\",{},{},{},\"{}\",POINT ({} {})",
            p["product_id"].as_str().expect("id"),
            p["name"].as_str().expect("name"),
            p["stars"],
            p["boundary_set"].as_str().expect("set"),
            p["category"].as_str().expect("cat"),
            p["producer"].as_str().expect("producer"),
            c[0],
            c[1]
        );
    }
    let path = t.dir.join("p-wkt.csv");
    std::fs::write(&path, csv).expect("csv");
    let maps = [
        "--map",
        "ma_sp=product_id",
        "--map",
        "ten_san_pham=name",
        "--map",
        "so_sao=stars",
    ];
    run(&path, &maps, "WKT", &doc);

    // CSV with lon/lat columns.
    let doc = producers(&communes, "LL");
    let mut csv = String::from("product_id,name,stars,boundary_set,producer,lon,lat\n");
    for f in doc["features"].as_array().expect("features") {
        let p = &f["properties"];
        let c = &f["geometry"]["coordinates"];
        let _ = writeln!(
            csv,
            "{},{},4,{},{},{},{}",
            p["product_id"].as_str().expect("id"),
            p["name"].as_str().expect("name"),
            p["boundary_set"].as_str().expect("set"),
            p["producer"].as_str().expect("producer"),
            c[0],
            c[1]
        );
    }
    let path = t.dir.join("p-lonlat.csv");
    std::fs::write(&path, csv).expect("csv");
    run(&path, &[], "LL", &doc);
}

fn one_bad_record_stops_everything_unless_skipped(kind: StoreKind) {
    let t = Target::new(kind, "all_or_nothing");
    let communes = t.communes();
    let mut doc = producers(&communes, "BAD");
    doc["features"][1]["properties"]["stars"] = json!("nhiều");
    doc["features"][1]["id"] = json!("sp-2");
    let path = write_json(&t.dir.join("bad.geojson"), &doc);
    let before = t.state("ocop");

    let out = t.import(&path, "ocop", &[]);
    assert!(!out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("stars") && said.contains("nothing was written"), "{said}");
    assert_eq!(t.state("ocop"), before, "the store is unchanged");

    let r = t.dir.join("r.json");
    let out = t.import(&path, "ocop", &["--skip-invalid", "--report", r.to_str().expect("p")]);
    assert!(out.status.success(), "{}", text(&out));
    let r = report(&r);
    assert_eq!(r["inserted"], 2, "{r}");
    assert_eq!(r["rejected"].as_array().expect("rejected").len(), 1, "{r}");
    assert!(
        r["rejected"][0]["reason"].as_str().expect("reason").contains("stars"),
        "{r}"
    );
    assert_eq!(t.state("ocop").0, before.0 + 2);
}

fn bad_input_is_named_and_changes_nothing(kind: StoreKind) {
    let t = Target::new(kind, "bad_input");
    let communes = t.communes();
    let doc = parcels(&communes, "Da xanh");
    let src = write_json(&t.dir.join("parcels.geojson"), &doc);
    let before = (t.state("crop"), t.state("ocop"));
    let unchanged = |what: &str| assert_eq!((t.state("crop"), t.state("ocop")), before, "{what} changed the store");
    let refused = |file: &Path, layer: &str, args: &[&str], want: &str| {
        let out = t.import(file, layer, args);
        assert!(!out.status.success(), "{want}: {}", text(&out));
        assert!(text(&out).contains(want), "want '{want}' in: {}", text(&out));
        unchanged(want);
    };

    // A Shapefile whose .shp was cut short.
    let shp = t.dir.join("cut.shp");
    to_vn2000(&src, &shp, "ESRI Shapefile", "EPSG:3405", &["-lco", "ENCODING=UTF-8"]);
    let bytes = std::fs::read(&shp).expect("shp");
    std::fs::write(&shp, &bytes[..bytes.len() / 2]).expect("cut");
    refused(&shp, "crop", &[], "the file is cut short or corrupt");

    // Not a GeoPackage at all.
    let junk = t.dir.join("junk.gpkg");
    std::fs::write(&junk, b"SQLite format 3\0 but then nothing a database holds").expect("junk");
    refused(&junk, "crop", &[], "'junk.gpkg' cannot be read");

    // An empty FeatureCollection.
    let empty = write_json(
        &t.dir.join("empty.geojson"),
        &json!({"type": "FeatureCollection", "features": []}),
    );
    refused(&empty, "ocop", &[], "holds no features");

    // An unknown CRS, and a Shapefile that says none.
    let good = t.dir.join("good.shp");
    to_vn2000(&src, &good, "ESRI Shapefile", "EPSG:3405", &["-lco", "ENCODING=UTF-8"]);
    refused(
        &good,
        "crop",
        &["--srs", "EPSG:999999"],
        "unknown coordinate reference system 'EPSG:999999'",
    );
    std::fs::remove_file(good.with_extension("prj")).expect("prj");
    refused(&good, "crop", &[], "does not say which coordinate reference system");

    // Field mappings naming what is not there.
    refused(
        &src,
        "crop",
        &["--map", "ma_thua=parcel_id"],
        "the file has no field 'ma_thua'",
    );
    refused(
        &src,
        "crop",
        &["--map", "variety=giong"],
        "layer 'crop' has no field 'giong'",
    );

    // A Windows-1258 Shapefile without its .cpg: refused, not stored garbled;
    // with --encoding it lands whole (the last letters too).
    let cp = t.dir.join("cp1258.shp");
    ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        "-lco",
        "ENCODING=CP1258",
        cp.to_str().expect("p"),
        src.to_str().expect("p"),
    ]);
    std::fs::remove_file(cp.with_extension("cpg")).expect("cpg");
    refused(&cp, "crop", &[], "wrong character encoding");
    let out = t.import(&cp, "crop", &["--encoding", "CP1258"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_parcels_landed(&t, &doc, &communes, "Da xanh");
}

fn invalid_geometries_are_repaired_and_reported(kind: StoreKind) {
    let t = Target::new(kind, "repair");
    let communes = t.communes();
    let mut doc = parcels(&communes, "Da xanh");
    let [x, y] = communes[0].2;
    let half = 0.0002;
    // A bow tie: its ring crosses itself. MakeValid makes two triangles of it.
    doc["features"][0]["geometry"]["coordinates"] = json!([[
        [x - half, y - half],
        [x + half, y + half],
        [x + half, y - half],
        [x - half, y + half],
        [x - half, y - half]
    ]]);
    // A point where the layer holds parcels: refused, not stored.
    doc["features"][2]["geometry"] = json!({"type": "Point", "coordinates": [x, y]});
    let path = write_json(&t.dir.join("repair.geojson"), &doc);
    let (before, _) = t.state("crop");
    let r = t.dir.join("r.json");
    let out = t.import(&path, "crop", &["--skip-invalid", "--report", r.to_str().expect("p")]);
    assert!(out.status.success(), "{}", text(&out));
    let r = report(&r);
    assert_eq!(r["inserted"], 2, "{r}");
    assert_eq!(r["repaired"][0]["feature"], "0", "{r}");
    assert!(
        r["repaired"][0]["repair"]
            .as_str()
            .expect("repair")
            .contains("MakeValid"),
        "{r}"
    );
    assert_eq!(r["rejected"][0]["feature"], "2", "{r}");
    assert!(
        r["rejected"][0]["reason"]
            .as_str()
            .expect("reason")
            .contains("no polygons"),
        "{r}"
    );
    assert_eq!(t.state("crop").0, before + 2);

    let crop = layer("crop").expect("crop");
    let stored = t
        .features_of(crop, &communes[0].0)
        .into_iter()
        .find(|f| value(crop, f, "parcel_id").as_str() == Some("IMP-0"))
        .expect("the repaired parcel");
    let geo::Geometry::MultiPolygon(parts) = &stored.geometry else {
        panic!("{:?}", stored.geometry)
    };
    assert_eq!(parts.0.len(), 2, "two triangles: {parts:?}");
    assert!(geo::Validation::is_valid(&stored.geometry), "{:?}", stored.geometry);
}

// One scenario from start to end: its steps read best in order.
#[allow(clippy::too_many_lines)]
fn editors_import_over_http(kind: StoreKind) {
    let server = kind.demo_server("import_http");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let token = |role: &str| {
        let (_, secret) = runtime
            .block_on(issue_token(server.store.as_ref(), "import test", role))
            .expect("token");
        format!("Bearer {secret}")
    };
    let (editor, planner) = (token("editor"), token("planner"));
    let ocop = layer("ocop").expect("ocop");
    let count = || {
        runtime
            .block_on(server.store.count(ocop, &FeatureQuery::default()))
            .expect("count")
    };
    let communes = {
        let l = layer("admin_commune").expect("communes");
        let all = runtime
            .block_on(server.store.features(l, &FeatureQuery::default()))
            .expect("communes");
        all.iter()
            .step_by(all.len() / 3)
            .take(3)
            .map(|f| {
                let p = f.geometry.interior_point().expect("point");
                let set = f.properties[l.field_index("boundary_set").expect("f")]
                    .as_str()
                    .expect("set")
                    .to_owned();
                (String::new(), set, [p.x(), p.y()])
            })
            .collect::<Vec<_>>()
    };
    let doc = serde_json::to_vec(&producers(&communes, "HTTP")).expect("json");
    let post = |path: &str, auth: &str, content_type: &str, body: Vec<u8>| {
        request_with_body(
            "POST",
            &format!("{}{path}", server.base),
            &[("authorization", auth), ("content-type", content_type)],
            body,
        )
    };
    let before = count();
    let reply = post("/api/import/ocop", &planner, "application/geo+json", doc.clone());
    assert_eq!(reply.status, 403, "planners may not write");
    assert_eq!(count(), before);

    let reply = post("/api/import/ocop", &editor, "application/geo+json", doc.clone());
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.json()["inserted"], 3);
    assert_eq!(count(), before + 3);
    let reply = post("/api/import/ocop?format=geojson", &editor, "text/plain", doc);
    assert_eq!(reply.json()["updated"], 3);
    assert_eq!(count(), before + 3);

    // A layer without a natural key only whole, with replace=true.
    let places = layer("places").expect("places");
    let place_count = || {
        runtime
            .block_on(server.store.count(places, &FeatureQuery::default()))
            .expect("count")
    };
    let [x, y] = communes[0].2;
    let place = serde_json::to_vec(&json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Chợ nổi Phụng Hiệp", "kind": "hamlet"},
         "geometry": {"type": "Point", "coordinates": [x, y]}}]}))
    .expect("json");
    let places_before = place_count();
    let reply = post(
        "/api/import/places?format=geojson",
        &editor,
        "application/geo+json",
        place.clone(),
    );
    assert_eq!(reply.status, 400, "{}", String::from_utf8_lossy(&reply.body));
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .expect("message")
            .contains("replace=true")
    );
    assert_eq!(place_count(), places_before);
    let reply = post(
        "/api/import/places?format=geojson&replace=true&set=population=1200",
        &editor,
        "application/geo+json",
        place,
    );
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.json()["replaced_layer"], true);
    assert_eq!(place_count(), 1);
    let stored = runtime
        .block_on(server.store.features(places, &FeatureQuery::default()))
        .expect("places");
    assert_eq!(value(places, &stored[0], "name").as_str(), Some("Chợ nổi Phụng Hiệp"));
    assert_eq!(
        value(places, &stored[0], "population"),
        &agrimap_model::Value::Int(1200)
    );

    // A zipped Shapefile, and a file with a bad record (422 with the report).
    let dir = scratch_dir(&format!("import_http_{}", kind.name()));
    let src = write_json(&dir.join("p.geojson"), &producers(&communes, "ZIP"));
    let zip = dir.join("p.shp.zip");
    zipped_shapefile(&src, &zip, "UTF-8");
    let reply = post(
        "/api/import/ocop?format=shp.zip",
        &editor,
        "application/octet-stream",
        std::fs::read(&zip).expect("zip"),
    );
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(count(), before + 6);

    // A zipped Windows-1258 Shapefile with its .cpg: the text comes back whole
    // (GDAL's own CP1258 decoding would drop each value's last letter).
    let src = write_json(&dir.join("cp.geojson"), &producers(&communes, "CP"));
    let zip = dir.join("cp.shp.zip");
    zipped_shapefile(&src, &zip, "CP1258");
    let reply = post(
        "/api/import/ocop?format=zip",
        &editor,
        "application/zip",
        std::fs::read(&zip).expect("zip"),
    );
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let names: Vec<String> = runtime
        .block_on(server.store.features(ocop, &FeatureQuery::default()))
        .expect("features")
        .iter()
        .filter(|f| {
            value(ocop, f, "product_id")
                .as_str()
                .is_some_and(|p| p.starts_with("CP-"))
        })
        .map(|f| value(ocop, f, "name").as_str().expect("name").to_owned())
        .collect();
    assert_eq!(names, vec!["Bưởi Năm Roi Mỹ Xương"; 3]);
    assert_eq!(count(), before + 9);

    let mut bad = producers(&communes, "BAD");
    bad["features"][0]["properties"]["category"] = json!("bánh kẹo");
    let reply = post(
        "/api/import/ocop",
        &editor,
        "application/geo+json",
        serde_json::to_vec(&bad).expect("json"),
    );
    assert_eq!(reply.status, 422);
    let body = reply.json();
    assert_eq!(body["error"]["code"], "invalid_records");
    assert!(
        body["error"]["report"]["rejected"][0]["reason"]
            .as_str()
            .expect("reason")
            .contains("category"),
        "{body}"
    );
    assert_eq!(count(), before + 9);

    let reply = post(
        "/api/import/ocop?format=xlsx",
        &editor,
        "application/geo+json",
        b"{}".to_vec(),
    );
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_code(), "unknown_format");

    // Imports are not cut by the request deadline (a timed-out answer would
    // not say whether the transaction committed).
    let config = agrimap_server::ServerConfig {
        request_timeout: std::time::Duration::from_millis(1),
        ..agrimap_server::ServerConfig::default()
    };
    let hasty = kind.demo_server_with("import_http_deadline", config);
    let (_, secret) = runtime
        .block_on(issue_token(hasty.store.as_ref(), "import test", "editor"))
        .expect("token");
    let body = serde_json::to_vec(&producers(&communes, "SLOW")).expect("json");
    let reply = request_with_body(
        "POST",
        &format!("{}/api/import/ocop?format=geojson", hasty.base),
        &[("authorization", &format!("Bearer {secret}"))],
        body,
    );
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.json()["inserted"], 3);
}

/// Roads have no natural key: a department's road file is the whole network,
/// imported with --replace in place of the stored roads, once however often.
fn a_layer_without_a_natural_key_is_replaced_whole(kind: StoreKind) {
    let t = Target::new(kind, "replace_roads");
    let communes = t.communes();
    let line = |[x, y]: [f64; 2]| json!([[x - 0.01, y], [x, y + 0.005], [x + 0.01, y]]);
    let doc = json!({
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": "Đường tỉnh 999", "ref": "ĐT.999", "class": "provincial", "surface": "asphalt"},
             "geometry": {"type": "LineString", "coordinates": line(communes[0].2)}},
            {"type": "Feature", "properties": {"name": "Đường huyện Mỹ Xương", "ref": "ĐH.12", "class": "district", "surface": "concrete"},
             "geometry": {"type": "LineString", "coordinates": line(communes[1].2)}},
        ]
    });
    let src = write_json(&t.dir.join("duong.geojson"), &doc);
    let shp = t.dir.join("duong.shp");
    to_vn2000(&src, &shp, "ESRI Shapefile", "EPSG:3405", &["-lco", "ENCODING=UTF-8"]);
    let before = t.state("roads");
    assert!(before.0 > 100, "the demo province has its roads: {before:?}");

    let out = t.import(&shp, "roads", &[]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("--replace"), "{}", text(&out));
    assert_eq!(t.state("roads"), before, "the store is unchanged");

    for round in 1..=2 {
        let out = t.import(&shp, "roads", &["--replace"]);
        assert!(out.status.success(), "round {round}: {}", text(&out));
        assert!(text(&out).contains("were replaced"), "{}", text(&out));
        // The import ran in another process: on PostGIS this store hears of
        // the new layer version by NOTIFY, a moment after the commit.
        let waited = std::time::Instant::now();
        let (count, version) = loop {
            let state = t.state("roads");
            if state.1 > before.1 || waited.elapsed() > std::time::Duration::from_secs(10) {
                break state;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        assert_eq!(count, 2, "round {round}: the file's two roads and nothing else");
        assert!(version > before.1, "round {round}");
    }
    let roads = layer("roads").expect("roads");
    let stored = t.runtime.block_on(async {
        let q = FeatureQuery {
            audience: Audience::Full,
            ..FeatureQuery::default()
        };
        t.store.features(roads, &q).await.expect("roads")
    });
    let mut names: Vec<&str> = stored.iter().filter_map(|f| value(roads, f, "name").as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Đường huyện Mỹ Xương", "Đường tỉnh 999"]);
    for original in doc["features"].as_array().expect("features") {
        let name = original["properties"]["name"].as_str();
        let f = stored
            .iter()
            .find(|f| value(roads, f, "name").as_str() == name)
            .expect("stored by name");
        assert_same_place(&original["geometry"], &f.geometry);
        assert_eq!(value(roads, f, "ref").as_str(), original["properties"]["ref"].as_str());
    }
}

/// A MicroStation DGN drawing carries lines and no attributes and no CRS: the
/// CRS comes from --srs and the required road class from --set.
fn a_dgn_drawing_lands_with_its_crs_and_set_fields(kind: StoreKind) {
    let t = Target::new(kind, "dgn");
    let communes = t.communes();
    let line = |[x, y]: [f64; 2]| json!([[x - 0.01, y], [x, y + 0.005], [x + 0.01, y]]);
    let doc = json!({
        "type": "FeatureCollection",
        "features": communes.iter().take(2).map(|c| json!({
            "type": "Feature", "properties": {},
            "geometry": {"type": "LineString", "coordinates": line(c.2)}
        })).collect::<Vec<_>>()
    });
    let src = write_json(&t.dir.join("ban-ve.geojson"), &doc);
    let dgn = t.dir.join("ban-ve.dgn");
    let def = proj4_of("EPSG:3405");
    ogr2ogr(&[
        "-f",
        "DGN",
        "-t_srs",
        &def,
        dgn.to_str().expect("p"),
        src.to_str().expect("p"),
    ]);
    let before = t.state("roads");

    // Without a class every record is refused, and nothing is written.
    let out = t.import(&dgn, "roads", &["--srs", "EPSG:3405", "--replace"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("nothing was written"), "{}", text(&out));
    assert_eq!(t.state("roads"), before);
    // A setting for a field the layer does not have is refused.
    let out = t.import(&dgn, "roads", &["--srs", "EPSG:3405", "--replace", "--set", "lanes=2"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("no field 'lanes'"), "{}", text(&out));
    assert_eq!(t.state("roads"), before);

    let args = [
        "--srs",
        "EPSG:3405",
        "--replace",
        "--set",
        "class=commune",
        "--set",
        "surface=concrete",
    ];
    let out = t.import(&dgn, "roads", &args);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(t.state("roads").0, 2);
    let roads = layer("roads").expect("roads");
    let stored = t
        .runtime
        .block_on(async { t.store.features(roads, &FeatureQuery::default()).await.expect("roads") });
    for f in &stored {
        assert_eq!(value(roads, f, "class").as_str(), Some("commune"));
        assert_eq!(value(roads, f, "surface").as_str(), Some("concrete"));
    }
    // DGN keeps hundredths of a metre: back in WGS 84 within 1e-6° of the drawing.
    for original in doc["features"].as_array().expect("features") {
        let near = stored
            .iter()
            .any(|f| same_place(&original["geometry"], &f.geometry).is_ok());
        assert!(near, "no stored road at {}", original["geometry"]);
    }
}

/// Communes exported (as GeoJSON, or as a Shapefile for another store)
/// carry the names of their district and province beside the codes, so the
/// store they are imported into names the units it makes from them.
fn exported_communes_carry_their_unit_names(kind: StoreKind) {
    let Some(soc_trang) = agrimap_suite::shared_data("soc-trang-communes-pre2025.geojson") else {
        return;
    };
    let from = Target::new(kind, "names_out");
    soc_trang_boundaries(&from, &soc_trang);

    let out = from.agrimap(&["export", "--layer", "admin_commune", "--province", "94", "-"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc: Json = serde_json::from_slice(&out.stdout).expect("GeoJSON");
    let features = doc["features"].as_array().expect("features");
    assert_eq!(features.len(), 108);
    for f in features {
        let p = &f["properties"];
        assert_eq!(p["province_name"], "Tỉnh Sóc Trăng", "{p}");
        if p["district_code"] == "942" {
            assert_eq!(p["district_name"], "Huyện Châu Thành", "{p}");
        }
    }

    let server = agrimap_suite::TestServer::start(from.store.clone());
    let page = server.get("/ogc/collections/admin_commune/items?province=94&limit=1", &[]);
    assert_eq!(page.status, 200, "{}", String::from_utf8_lossy(&page.body));
    assert_eq!(page.json()["numberMatched"], 108);

    let zip = from.dir.join("communes.shp.zip");
    let out = from.agrimap(&[
        "export",
        "--layer",
        "admin_commune",
        "--province",
        "94",
        "--format",
        "shp.zip",
        zip.to_str().expect("p"),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let to = Target::new(kind, "names_in");
    let said = soc_trang_boundaries(&to, &zip);
    assert!(
        said.contains("admin_district 942 (Huyện Châu Thành, set pre-2025) made from its 8 communes"),
        "{said}"
    );
    assert!(
        said.contains("admin_province 94 (Tỉnh Sóc Trăng, set pre-2025) made from its 108 communes"),
        "{said}"
    );
}

/// Communes imported again with names but no kinds take their kind from
/// the name; a name without its prefix (`Phú Tân` for `Xã Phú Tân`) keeps
/// the kind stored instead of clearing it.
fn a_name_without_its_prefix_keeps_the_stored_kind(kind: StoreKind) {
    let Some(soc_trang) = agrimap_suite::shared_data("soc-trang-communes-pre2025.geojson") else {
        return;
    };
    let t = Target::new(kind, "kinds");
    soc_trang_boundaries(&t, &soc_trang);
    let mut doc: Json = serde_json::from_slice(&std::fs::read(&soc_trang).expect("read")).expect("json");
    let features = doc["features"].as_array_mut().expect("features");
    let at = features
        .iter()
        .position(|f| f["properties"]["name"].as_str().is_some_and(|n| n.starts_with("Xã ")))
        .expect("a xã");
    let mut commune = features.swap_remove(at);
    let code = commune["properties"]["code"].as_str().expect("code").to_owned();
    let short = commune["properties"]["name"].as_str().expect("name")["Xã ".len()..].to_owned();
    commune["properties"]["name"] = short.clone().into();
    let file = t.dir.join("renamed.geojson");
    let one = json!({"type": "FeatureCollection", "features": [commune]});
    std::fs::write(&file, serde_json::to_vec(&one).expect("json")).expect("write");
    soc_trang_boundaries(&t, &file);

    let communes = layer("admin_commune").expect("layer");
    let query = FeatureQuery {
        filter: Some(agrimap_model::Filter::eq("code", code.as_str())),
        ..FeatureQuery::default()
    };
    let stored = t.runtime.block_on(t.store.features(communes, &query)).expect("read");
    assert_eq!(stored.len(), 1);
    assert_eq!(communes.text_of(&stored[0], "name"), Some(short.as_str()));
    assert_eq!(communes.text_of(&stored[0], "kind"), Some("xa"));
}

/// Communes imported with `--replace` in place of the demo's take their
/// districts and provinces with them: the demo province and its districts
/// are gone, and the merged Cần Thơ is made from its 103 communes, so it
/// can be asked for by `province=`.
fn communes_replaced_wholesale_take_their_units_with_them(kind: StoreKind) {
    let Some(can_tho) = agrimap_suite::shared_data("can-tho-communes-2025.geojson") else {
        return;
    };
    let t = Target::new(kind, "replace_communes");
    let out = t.import(&can_tho, "admin_commune", &["--replace"]);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("103 features now make up layer 'admin_commune'")
            && said.contains("admin_province 92 (Thành phố Cần Thơ, set 2025) made from its 103 communes"),
        "{said}"
    );
    let codes = |id: &str| -> Vec<String> {
        let l = layer(id).expect("layer");
        let stored = t
            .runtime
            .block_on(t.store.features(l, &FeatureQuery::default()))
            .expect("read");
        stored
            .iter()
            .filter_map(|f| l.text_of(f, "code"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(codes("admin_province"), ["92"]);
    assert_eq!(codes("admin_district"), Vec::<String>::new());
    let server = agrimap_suite::TestServer::start(t.store.clone());
    let page = server.get("/ogc/collections/admin_commune/items?province=92&limit=1", &[]);
    assert_eq!(page.status, 200, "{}", String::from_utf8_lossy(&page.body));
    assert_eq!(page.json()["numberMatched"], 103);
}

agrimap_suite::store_suite!(
    numbers_out_of_their_bounds_are_refused,
    a_file_of_several_layers_is_read_from_the_one_chosen,
    a_number_a_feature_leaves_out_is_null_not_zero,
    communes_replaced_wholesale_take_their_units_with_them,
    a_dgn_drawing_lands_with_its_crs_and_set_fields,
    a_vn2000_shapefile_of_communes_names_its_districts,
    exported_communes_carry_their_unit_names,
    a_name_without_its_prefix_keeps_the_stored_kind,
    a_layer_without_a_natural_key_is_replaced_whole,
    vn2000_shapefile_lands_and_reimport_updates,
    point_formats_land_with_their_text_and_places,
    one_bad_record_stops_everything_unless_skipped,
    bad_input_is_named_and_changes_nothing,
    invalid_geometries_are_repaired_and_reported,
    editors_import_over_http,
);
