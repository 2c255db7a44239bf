//! The official 2025 commune crosswalk against the real boundaries of
//! `../shared/data` (SOURCES.md: test fixtures only), on both stores:
//! `agrimap crosswalk import`, the report of the list against the overlay
//! of the boundary sets, `/api/crosswalk`, `/api/crosswalk/apportion` and
//! `agrimap recode`. Each case is skipped, with a note on stderr, when the
//! folder is not beside the repository.

use agrimap_core::tokens::{hash_token, issue_scoped_token, issue_token};
use agrimap_model::{Audience, BoundarySet, FeatureQuery, layer};
use agrimap_store::CrosswalkQuery;
use agrimap_suite::{DemoCopy, StoreKind, TestServer, request_with_body, shared_data};
use serde_json::Value as Json;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;

const SOC_TRANG: &str = "soc-trang-communes-pre2025.geojson";
const CAN_THO: &str = "can-tho-communes-2025.geojson";
const DONG_THAP_OLD: &str = "dong-thap-communes-pre2025.geojson";
const DONG_THAP_NEW: &str = "dong-thap-communes-2025.geojson";
const MERGES: &str = "communes-2025-merges.csv";

/// A copy of the demo store, reached both directly and by the `agrimap` binary.
struct Target(DemoCopy);

impl std::ops::Deref for Target {
    type Target = DemoCopy;
    fn deref(&self) -> &DemoCopy {
        &self.0
    }
}

impl Target {
    fn new(kind: StoreKind, name: &str) -> Self {
        Self(DemoCopy::new(kind, &format!("crosswalk_{name}")))
    }

    /// The real communes of `files` in place of the demo's (the first file
    /// replaces the layer; a feature without a code is refused and skipped).
    fn load_communes(&self, files: &[&Path]) {
        for (i, file) in files.iter().enumerate() {
            let report = self.dir.join(format!("communes-{i}.json"));
            let mut args = vec![
                "import",
                file.to_str().expect("path"),
                "--layer",
                "admin_commune",
                "--skip-invalid",
                "--report",
                report.to_str().expect("path"),
            ];
            if i == 0 {
                args.push("--replace");
            }
            let out = self.agrimap(&args);
            assert!(out.status.success(), "{}", text(&out));
        }
    }

    /// A store of `communes` (as [`Self::load_communes`]) and the official list.
    fn with_list(kind: StoreKind, name: &str, communes: &[&Path], list: &Path) -> Self {
        let t = Self::new(kind, name);
        t.load_communes(communes);
        let out = t.import_crosswalk(list);
        assert!(out.status.success(), "{}", text(&out));
        t
    }

    /// The demo store with the real 2025 communes of Thành phố Cần Thơ
    /// (province 92) beside its own, through `agrimap boundaries import`;
    /// `None` without the shared data.
    fn with_can_tho_2025(kind: StoreKind, name: &str) -> Option<Self> {
        let f = files(&[CAN_THO])?;
        let t = Self::new(kind, name);
        let file = f[0].to_str().expect("path");
        let out = t.agrimap(&["boundaries", "import", file, "--set", "2025", "--province", "92"]);
        assert!(out.status.success(), "{}", text(&out));
        Some(t)
    }

    /// `agrimap registry import` of a CSV file holding `csv`.
    fn registry_import(&self, kind: &str, csv: &str) -> Output {
        let file = self.dir.join(format!("{kind}.csv"));
        std::fs::write(&file, csv).expect("write");
        self.agrimap(&["registry", "import", file.to_str().expect("path"), "--kind", kind])
    }

    fn import_crosswalk(&self, file: &Path) -> Output {
        self.agrimap(&["crosswalk", "import", file.to_str().expect("path")])
    }

    fn pairs(&self) -> usize {
        self.runtime
            .block_on(self.store.crosswalk(&CrosswalkQuery::default()))
            .expect("pairs")
            .len()
    }

    fn server(&self) -> TestServer {
        TestServer::start(self.store.clone())
    }

    fn token(&self, role: &str) -> String {
        let (_, secret) = self
            .runtime
            .block_on(issue_token(self.store.as_ref(), "crosswalk test", role))
            .expect("token");
        format!("Bearer {secret}")
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The real files, or `None` (noted on stderr) when they are not there.
fn files(names: &[&str]) -> Option<Vec<PathBuf>> {
    names.iter().map(|n| shared_data(n)).collect()
}

fn codes(list: &Json, field: &str) -> BTreeSet<String> {
    list.as_array()
        .expect("list")
        .iter()
        .map(|e| e[field].as_str().expect("code").to_owned())
        .collect()
}

/// The whole official list lands; a bad file is refused naming its rows and
/// leaves the list held as it was.
fn the_official_list_is_imported_and_bad_files_change_nothing(kind: StoreKind) {
    let Some(f) = files(&[MERGES]) else { return };
    let t = Target::new(kind, "import");
    let out = t.import_crosswalk(&f[0]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("10604 crosswalk pairs"), "{}", text(&out));
    assert_eq!(t.pairs(), 10_604);

    let header = "old_code,old_name,new_province_code,new_province_name,new_code,new_name,type\n";
    let bad = [
        (
            "duplicate.csv",
            format!("{header}31507,Xã A,92,Cần Thơ,31510,Xã B,full\n31507,Xã A,92,Cần Thơ,31510,Xã B,partial\n"),
            "line 3: the pair 31507 → 31510 is given already on line 2",
        ),
        (
            "type.csv",
            format!("{header}31507,Xã A,92,Cần Thơ,31510,Xã B,merged\n"),
            "line 2: type must be 'full' or 'partial', got 'merged'",
        ),
        (
            "empty-code.csv",
            format!("{header}31507,Xã A,92,Cần Thơ,31510,Xã B,full\n,Xã C,92,Cần Thơ,31510,Xã B,full\n"),
            "line 3: old_code is empty",
        ),
        (
            "province.csv",
            format!("{header}31507,Xã A,94,Tỉnh Sóc Trăng,31510,Xã B,full\n"),
            "line 2: new_province_code '94' is none of the 34 provinces of 2025",
        ),
        (
            "column.csv",
            "old_code,old_name,new_code,new_name,type\n31507,Xã A,31510,Xã B,full\n".to_owned(),
            "no column new_province_code, new_province_name",
        ),
    ];
    for (name, content, said) in bad {
        let path = t.dir.join(name);
        std::fs::write(&path, content).expect("write");
        let out = t.import_crosswalk(&path);
        assert!(!out.status.success(), "{name}: {}", text(&out));
        assert!(text(&out).contains(said), "{name}: {}", text(&out));
        assert_eq!(t.pairs(), 10_604, "{name} changed the list");
    }
}

/// Sóc Trăng (pre-2025) against the merged Cần Thơ (2025): the report finds
/// the pairs the boundaries disagree with, and `/api/crosswalk` gives the
/// pairs of a commune with their shares.
fn soc_trang_against_can_tho(kind: StoreKind) {
    let Some(f) = files(&[SOC_TRANG, CAN_THO, MERGES]) else {
        return;
    };
    let t = Target::with_list(kind, "soc_trang", &[&f[0], &f[1]], &f[2]);
    let server = t.server();

    let report = server.get("/api/crosswalk/report", &[]);
    assert_eq!(report.status, 200, "{}", String::from_utf8_lossy(&report.body));
    let report = report.json();
    assert_eq!(report["min_share"], 0.01);
    assert_eq!(report["full_min_share"], 0.9);
    assert_eq!(report["old_loaded"], 108);
    assert_eq!(report["new_loaded"], 103);
    // Every Sóc Trăng code is in the list and every Cần Thơ code too.
    assert_eq!(report["loaded_old_not_listed"], Json::Array(vec![]));
    assert_eq!(report["loaded_new_not_listed"], Json::Array(vec![]));
    assert_eq!(report["listed_new_not_loaded"], Json::Array(vec![]));
    // Xã Vĩnh Thành (31771, Sóc Trăng) lies almost whole in Xã Vĩnh Lợi
    // (31777), but the list sends it whole to Xã Vĩnh Thạnh (31232), a
    // commune of old Cần Thơ across the river it does not touch.
    let elsewhere = report["largest_share_unlisted"].as_array().expect("list");
    assert_eq!(
        codes(&report["largest_share_unlisted"], "old_code"),
        BTreeSet::from(["31771".to_owned()])
    );
    assert_eq!(elsewhere[0]["new_code"], "31777");
    assert_eq!(elsewhere[0]["listed"], serde_json::json!(["31232"]));
    assert!(
        elsewhere[0]["share"].as_f64().expect("share") > 0.99,
        "{}",
        elsewhere[0]
    );
    let below = report["full_pairs_below"].as_array().expect("list");
    assert_eq!(below.len(), 1, "{below:?}");
    assert_eq!(
        (below[0]["old_code"].as_str(), below[0]["new_code"].as_str()),
        (Some("31771"), Some("31232"))
    );
    assert_eq!(below[0]["share"], 0.0);
    assert_eq!(report["old_not_covered"], Json::Array(vec![]));
    // Old Cần Thơ and Hậu Giang went into the new city but are not loaded:
    // 155 old codes of the 269 pairs of province 92; the other 109 pairs are checked.
    assert_eq!(report["listed_old_not_loaded"].as_array().expect("list").len(), 155);
    assert_eq!(report["pairs_checked"], 109);

    // Xã Hưng Phú (31588) was split, the list says, between Xã Long Hưng and
    // Phường Hưng Phú; the boundaries put nearly all of it in the first.
    let pairs = server.get("/api/crosswalk?old=31588", &[]);
    assert_eq!(pairs.status, 200, "{}", String::from_utf8_lossy(&pairs.body));
    let pairs = pairs.json()["pairs"].clone();
    let share = |new: &str| {
        pairs
            .as_array()
            .expect("pairs")
            .iter()
            .find(|p| p["new_code"] == new)
            .and_then(|p| p["share"].as_f64())
            .expect("a share")
    };
    assert!(pairs.as_array().expect("pairs").iter().all(|p| p["type"] == "partial"));
    assert!(share("31579") > 0.95, "{pairs}");
    assert!(share("31201") < 0.01, "{pairs}");
    if let Some(db) = &t.db {
        // PostGIS on the geography type, for the same pair.
        let want = agrimap_suite::on_database(&db.url, async |c| {
            c.query_one(
                "SELECT ST_Area(ST_Intersection(o.geom, n.geom)::geography) / ST_Area(o.geom::geography)
                 FROM admin_commune o, admin_commune n
                 WHERE o.code = '31588' AND o.boundary_set = 'pre-2025' AND n.code = '31579' AND n.boundary_set = '2025'",
                &[],
            )
            .await
            .expect("share in PostGIS")
            .get::<_, f64>(0)
        });
        assert!(
            (share("31579") - want).abs() < 1e-4,
            "{} against PostGIS {want}",
            share("31579")
        );
    }
    let by_new = server.get("/api/crosswalk?new=31777&f=csv", &[]);
    assert_eq!(by_new.status, 200);
    assert_eq!(by_new.header("content-type"), Some("text/csv; charset=utf-8"));
    let csv = String::from_utf8(by_new.body).expect("utf-8");
    assert!(
        csv.starts_with("old_code,old_name,new_province_code,new_province_name,new_code,new_name,type,share\n"),
        "{csv}"
    );
    assert!(csv.lines().skip(1).all(|l| l.contains(",31777,Xã Vĩnh Lợi,")), "{csv}");
    assert_eq!(server.get("/api/crosswalk", &[]).error_code(), "missing_code");
    assert_eq!(server.get("/api/crosswalk?old=x1", &[]).error_code(), "bad_code");
}

/// Units of a decimal written with at most `scale` places.
fn units(text: &str, scale: u32) -> i128 {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let negative = whole.starts_with('-');
    let digits = format!(
        "{}{fraction:0<width$}",
        whole.trim_start_matches('-'),
        width = scale as usize
    );
    let n: i128 = digits.parse().expect("decimal");
    if negative { -n } else { n }
}

/// Values by Sóc Trăng commune become values by Cần Thơ commune, split by
/// area where a commune was divided, every unit kept; unknown codes are
/// named; only planners and above may ask.
fn apportion_keeps_every_unit(kind: StoreKind) {
    let Some(f) = files(&[SOC_TRANG, CAN_THO, MERGES]) else {
        return;
    };
    let t = Target::with_list(kind, "apportion", &[&f[0], &f[1]], &f[2]);
    let server = t.server();
    let planner = t.token("planner");
    let post = |body: &str, auth: &str, query: &str| {
        request_with_body(
            "POST",
            &format!("{}/api/crosswalk/apportion{query}", server.base),
            &[("authorization", auth), ("content-type", "text/csv")],
            body.as_bytes().to_vec(),
        )
    };
    let communes: Json = serde_json::from_str(&std::fs::read_to_string(&f[0]).expect("file")).expect("GeoJSON");
    let mut table = String::from("old_code,value\n");
    let mut given = 0_i128;
    for (i, feature) in communes["features"].as_array().expect("features").iter().enumerate() {
        // Rice output in tonnes, with three decimals that do not divide evenly.
        let value = format!("{}.{:03}", 1000 + i * 37, (i * 7919) % 1000);
        given += units(&value, 3);
        let code = feature["properties"]["code"].as_str().expect("code");
        let _ = writeln!(table, "{code},{value}");
    }
    let reply = post(&table, &planner, "");
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let answer = reply.json();
    assert_eq!(answer["decimals"], 3);
    assert_eq!(answer["old_communes"], 108);
    assert_eq!(units(answer["total"].as_str().expect("total"), 3), given);
    let rows = answer["rows"].as_array().expect("rows");
    let summed: i128 = rows.iter().map(|r| units(r["value"].as_str().expect("value"), 3)).sum();
    assert_eq!(summed, given, "the parts do not add up to the table");
    assert!(rows.iter().all(|r| r["new_province_code"] == "92"));

    // The same as CSV.
    let csv = post(&table, &planner, "?f=csv");
    assert_eq!(csv.status, 200);
    let csv = String::from_utf8(csv.body).expect("utf-8");
    assert!(csv.starts_with("new_code,new_name,new_province_code,value\n"), "{csv}");
    assert_eq!(csv.lines().count(), rows.len() + 1);

    // Unknown codes: 400 naming the lines, whatever else the table holds.
    let bad = post("old_code,value\n31507,1\n99999,2\n,3\n00004,x\n", &planner, "");
    assert_eq!(bad.status, 400, "{}", String::from_utf8_lossy(&bad.body));
    let message = bad.json()["error"]["message"].as_str().expect("message").to_owned();
    assert!(message.contains("line 4: old_code is empty"), "{message}");
    assert!(message.contains("line 5: value 'x' is not a number"), "{message}");
    let unknown = post("old_code,value\n31507,1\n99999,2\n", &planner, "");
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.error_code(), "unknown_commune");
    let message = unknown.json()["error"]["message"].as_str().expect("message").to_owned();
    assert!(message.contains("line 3: '99999' is no pre-2025 commune"), "{message}");
    assert_eq!(post("old_code,value\n31507,1\n", "", "").status, 401);
}

/// Đồng Tháp before and after: every coded old commune has its largest part
/// in a new commune the list names for it; the feature without a code is
/// refused by the import and so is not among the loaded communes.
fn dong_thap_agrees_with_the_list(kind: StoreKind) {
    let Some(f) = files(&[DONG_THAP_OLD, DONG_THAP_NEW, MERGES]) else {
        return;
    };
    let t = Target::new(kind, "dong_thap");
    t.load_communes(&[&f[0], &f[1]]);
    let refused: Json =
        serde_json::from_str(&std::fs::read_to_string(t.dir.join("communes-0.json")).expect("import report"))
            .expect("JSON");
    assert_eq!(refused["skipped"].as_array().expect("skipped").len(), 1, "{refused}");
    assert!(t.import_crosswalk(&f[2]).status.success());
    let out = t.agrimap(&["crosswalk", "report"]);
    assert!(out.status.success(), "{}", text(&out));
    let report: Json = serde_json::from_slice(&out.stdout).expect("report JSON");
    assert_eq!(report["old_loaded"], 141);
    assert_eq!(report["new_loaded"], 102);
    assert_eq!(report["largest_share_unlisted"], Json::Array(vec![]));
    assert_eq!(report["old_not_covered"], Json::Array(vec![]));
    assert_eq!(report["loaded_old_not_listed"], Json::Array(vec![]));
    // The 2025 file is simplified (about 50 m): six small old communes keep
    // between 73 % and 89 % of their area in the new commune they went to whole.
    assert_eq!(
        codes(&report["full_pairs_below"], "old_code"),
        ["29908", "29956", "30040", "30052", "30112", "30115"]
            .map(str::to_owned)
            .into(),
    );
}

/// `agrimap recode`: the demo's growing areas and OCOP producers (in the
/// south-west of the new Cần Thơ) take the 2025 commune they lie in, keep
/// their old code, and a second run changes nothing.
fn recode_restamps_features_by_location(kind: StoreKind) {
    let Some(f) = files(&[CAN_THO]) else { return };
    let t = Target::new(kind, "recode");
    t.load_communes(&[&f[0]]);
    let index = t
        .runtime
        .block_on(agrimap_core::communes::CommuneIndex::load(t.store.as_ref(), [0; 3]))
        .expect("index");
    for layer_id in ["ocop", "growing_area"] {
        let l = layer(layer_id).expect("layer");
        let all = FeatureQuery {
            audience: Audience::Full,
            ..FeatureQuery::default()
        };
        let before = t.runtime.block_on(t.store.features(l, &all)).expect("features");
        let out = t.agrimap(&["recode", "--layer", layer_id, "--to", "2025"]);
        assert!(out.status.success(), "{}", text(&out));
        let said = text(&out);
        let after = t.runtime.block_on(t.store.features(l, &all)).expect("features");
        assert_eq!(before.len(), after.len());
        let (mut recoded, mut outside) = (0, 0);
        for (old, new) in before.iter().zip(&after) {
            assert_eq!(old.id, new.id);
            if l.text_of(new, "boundary_set") == Some("2025") {
                recoded += 1;
                assert_eq!(l.text_of(new, "former_commune_code"), l.text_of(old, "commune_code"));
                let code = l.text_of(new, "commune_code").expect("code");
                let commune = index
                    .get(code, Some(BoundarySet::Y2025))
                    .expect("a loaded 2025 commune");
                // A point lies in its commune; an area meets it.
                assert!(
                    geo::Intersects::intersects(&commune.boundary, &new.geometry),
                    "{layer_id} {} is not in {code}",
                    new.id
                );
            } else {
                outside += 1;
                assert_eq!(old.properties, new.properties);
            }
        }
        assert!(recoded > 0, "{layer_id}: nothing recoded: {said}");
        assert!(said.contains(&format!("recoded   {recoded:>9}")), "{said}");
        assert!(said.contains(&format!("outside   {outside:>9}")), "{said}");
        let again = t.agrimap(&["recode", "--layer", layer_id, "--to", "2025"]);
        assert!(text(&again).contains("recoded           0"), "{}", text(&again));
    }
    // Only thematic layers, only to 2025.
    let out = t.agrimap(&["recode", "--layer", "roads", "--to", "2025"]);
    assert!(
        !out.status.success() && text(&out).contains("only thematic layers"),
        "{}",
        text(&out)
    );
    let out = t.agrimap(&["recode", "--layer", "crop", "--to", "pre-2025"]);
    assert!(
        !out.status.success() && text(&out).contains("recoded to the 2025 communes only"),
        "{}",
        text(&out)
    );
}

/// The outline of the commune with code `code` in a real file.
fn outline(file: &Path, code: &str) -> geo::MultiPolygon<f64> {
    let doc: Json = serde_json::from_slice(&std::fs::read(file).expect("read")).expect("json");
    let feature = doc["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["properties"]["code"] == code)
        .expect("the commune");
    let g: geojson::Geometry = serde_json::from_value(feature["geometry"].clone()).expect("geometry");
    match geo::Geometry::<f64>::try_from(g).expect("geo") {
        geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
        geo::Geometry::MultiPolygon(m) => m,
        other => panic!("{code}: {other:?}"),
    }
}

/// The interior point of the feature with code `code` in a real file.
fn point_in(file: &Path, code: &str) -> [f64; 2] {
    use geo::InteriorPoint;
    let p = outline(file, code).interior_point().expect("a point inside");
    [p.x(), p.y()]
}

/// A point inside both communes (an old one and a new one).
fn point_in_both(a: (&Path, &str), b: (&Path, &str)) -> [f64; 2] {
    use geo::{BooleanOps, InteriorPoint};
    let both = outline(a.0, a.1).intersection(&outline(b.0, b.1));
    // The largest piece: slivers where real boundaries disagree are thin.
    let piece = both
        .0
        .iter()
        .max_by(|p, q| geo::Area::unsigned_area(*p).total_cmp(&geo::Area::unsigned_area(*q)))
        .expect("the communes meet");
    let p = piece.interior_point().expect("a point inside");
    [p.x(), p.y()]
}

/// A department's file still coded by the communes of before the reform,
/// without boundary sets, imported into a store holding only the new
/// Cần Thơ and the official list: a code the list knows only as an old
/// commune is a pre-2025 code, a code of the commune the feature stands
/// in is of that commune's set; the recode then takes the old code to
/// the commune the official list names for it.
fn codes_given_without_a_set_get_the_set_they_belong_to(kind: StoreKind) {
    let Some(f) = files(&[CAN_THO, SOC_TRANG, MERGES]) else {
        return;
    };
    let t = Target::with_list(kind, "coded_without_set", &[&f[0]], &f[2]);
    let ocop = |id: &str, code: &str, at: [f64; 2]| {
        serde_json::json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": at},
            "properties": {"product_id": id, "producer_id": id, "name": "Bánh pía", "stars": 4, "commune_code": code}})
    };
    let (old, new) = ("31498", "31120");
    let doc = serde_json::json!({"type": "FeatureCollection", "features": [
        ocop("OLD", old, point_in(&f[1], old)),
        ocop("NEW", new, point_in(&f[0], new)),
    ]});
    let file = t.dir.join("ocop.geojson");
    std::fs::write(&file, serde_json::to_vec(&doc).expect("json")).expect("write");
    let out = t.agrimap(&["import", file.to_str().expect("path"), "--layer", "ocop"]);
    assert!(out.status.success(), "{}", text(&out));

    let l = layer("ocop").expect("ocop");
    let stamps = || {
        let all = FeatureQuery {
            audience: Audience::Full,
            ..FeatureQuery::default()
        };
        let features = t.runtime.block_on(t.store.features(l, &all)).expect("features");
        let value = |f, name| l.text_of(f, name).unwrap_or_default().to_owned();
        features
            .iter()
            .filter(|f| ["OLD", "NEW"].contains(&l.text_of(f, "product_id").unwrap_or_default()))
            .map(|f| {
                (
                    value(f, "product_id"),
                    value(f, "commune_code"),
                    value(f, "boundary_set"),
                )
            })
            .collect::<BTreeSet<_>>()
    };
    let stamp = |id: &str, code: &str, set: &str| (id.to_owned(), code.to_owned(), set.to_owned());
    assert_eq!(
        stamps(),
        [stamp("NEW", new, "2025"), stamp("OLD", old, "pre-2025")].into()
    );

    let out = t.agrimap(&["recode", "--layer", "ocop", "--to", "2025"]);
    assert!(out.status.success(), "{}", text(&out));
    let listed = t
        .runtime
        .block_on(t.store.crosswalk(&CrosswalkQuery {
            old_code: Some(old.to_owned()),
            new_code: None,
        }))
        .expect("pairs");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        stamps(),
        [stamp("NEW", new, "2025"), stamp("OLD", &listed[0].new_code, "2025")].into()
    );
}

/// A code that names no commune of its set, in the store or in the official
/// list, is imported but reported, with where its first record lies; codes
/// the list knows (a commune of another province) and codes of a set the
/// store holds no commune of are not.
fn codes_that_name_no_commune_are_reported(kind: StoreKind) {
    let Some(f) = files(&[CAN_THO, DONG_THAP_NEW, MERGES]) else {
        return;
    };
    let t = Target::with_list(kind, "unknown_codes", &[&f[0]], &f[2]);
    let ocop = |id: &str, code: &str, set: Option<&str>, at: [f64; 2]| {
        let mut properties = serde_json::json!({"product_id": id, "producer_id": id, "name": "Bánh pía",
            "stars": 4, "commune_code": code});
        if let Some(set) = set {
            properties["boundary_set"] = set.into();
        }
        serde_json::json!({"type": "Feature", "id": id, "geometry": {"type": "Point", "coordinates": at},
            "properties": properties})
    };
    let (known, typo, elsewhere) = ("31120", "311200", "28249");
    let here = point_in(&f[0], known);
    let doc = serde_json::json!({"type": "FeatureCollection", "features": [
        ocop("KNOWN", known, Some("2025"), here),
        ocop("TYPO-1", typo, Some("2025"), here),
        ocop("ELSEWHERE", elsewhere, Some("2025"), here),
        ocop("TYPO-2", typo, Some("2025"), here),
        ocop("OLD", "31498", None, here),
    ]});
    let file = t.dir.join("ocop.geojson");
    std::fs::write(&file, serde_json::to_vec(&doc).expect("json")).expect("write");
    let report_file = t.dir.join("report.json");
    let out = t.agrimap(&[
        "import",
        file.to_str().expect("path"),
        "--layer",
        "ocop",
        "--report",
        report_file.to_str().expect("path"),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "commune code {typo} names no commune of set 2025 in the store or the official list: 2 records, \
             the first is feature 1, lying in commune {known}"
        )),
        "{}",
        text(&out)
    );
    let report: Json = serde_json::from_slice(&std::fs::read(&report_file).expect("report")).expect("json");
    assert_eq!(report["inserted"], 5, "{report}");
    assert_eq!(
        report["unknown_codes"],
        serde_json::json!([{"commune_code": typo, "boundary_set": "2025", "records": 2, "first": "1",
            "lies_in": known}])
    );
}

/// A token limited to a 2025 province covers the provinces the reform
/// merged into it: the new Đồng Tháp (82) department imports a file still
/// coded by a commune of the old Đồng Tháp (87); a token of another
/// province may not.
fn a_token_of_a_merged_province_covers_the_provinces_merged_into_it(kind: StoreKind) {
    let Some(f) = files(&[DONG_THAP_OLD, DONG_THAP_NEW, MERGES]) else {
        return;
    };
    let t = Target::with_list(kind, "merged_token", &[&f[0], &f[1]], &f[2]);
    let token = |province: &str| {
        let out = t.agrimap(&[
            "token",
            "create",
            "--role",
            "editor",
            "--name",
            "Sở NN&PTNT",
            "--province",
            province,
        ]);
        assert!(out.status.success(), "{}", text(&out));
        (
            String::from_utf8(out.stdout.clone()).expect("utf-8").trim().to_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (dong_thap, said) = token("82");
    assert!(said.contains("limited to provinces 82, 87"), "{said}");
    assert!(said.contains("merges pre-2025 province 87 into 82"), "{said}");
    let (can_tho, said) = token("92");
    assert!(said.contains("limited to provinces 92\n"), "{said}");
    let listed = t.agrimap(&["token", "list"]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("82,87"),
        "{}",
        text(&listed)
    );

    // Phường 1 of the old Thành phố Cao Lãnh, as the old department coded it.
    let old = "29869";
    let product = serde_json::json!({"type": "FeatureCollection", "features": [{"type": "Feature",
        "geometry": {"type": "Point", "coordinates": point_in(&f[0], old)},
        "properties": {"product_id": "OCOP-CAO-LANH", "producer_id": "P1", "name": "Xoài Cát Chu", "stars": 4,
            "commune_code": old, "boundary_set": "pre-2025"}}]});
    let server = TestServer::start(t.store.clone());
    let import = |secret: &str| {
        request_with_body(
            "POST",
            &format!("{}/api/import/ocop?format=geojson", server.base),
            &[("authorization", &format!("Bearer {secret}"))],
            serde_json::to_vec(&product).expect("json"),
        )
    };
    let refused = import(&can_tho);
    assert_eq!(refused.status, 403, "{}", String::from_utf8_lossy(&refused.body));
    assert_eq!(refused.error_code(), "outside_provinces");
    let landed = import(&dong_thap);
    assert_eq!(landed.status, 200, "{}", String::from_utf8_lossy(&landed.body));
    assert_eq!(landed.json()["inserted"], 1);

    // The token keeps the province given; what it covers is the list's word now.
    let admin = t.token("admin");
    let tokens = server.get("/api/tokens", &[("authorization", &admin)]).json();
    let of_82 = tokens["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .find(|t| t["provinces"] == serde_json::json!(["82"]))
        .unwrap_or_else(|| panic!("the token of 82 among {tokens}"));
    assert_eq!(of_82["covers"], serde_json::json!(["82", "87"]));
}

/// A table of a province counts whatever lies in its communes, whoever
/// owns it; a planner limited to the province filtering on a restricted
/// field counts only the features coded in it, so the filter cannot tell
/// the owner of another province's parcel that lies there.
fn a_limited_planner_learns_no_restricted_field_of_another_province_by_counting(kind: StoreKind) {
    // Cần Thơ's 2025 communes beside the demo province, whose parcels lie in them.
    let Some(t) = Target::with_can_tho_2025(kind, "stats_oracle") else {
        return;
    };
    let server = t.server();
    let (_, limited) = t
        .runtime
        .block_on(agrimap_core::tokens::issue_scoped_token(
            t.store.as_ref(),
            "Sở NN Cần Thơ",
            "planner",
            &["92".to_owned()],
        ))
        .expect("token");
    let count = |auth: &str| {
        let reply = server.get(
            "/api/stats?layer=crop&by=province&province=92&boundary_set=2025&metric=count&filter=owner_name%20IS%20NOT%20NULL",
            &[("authorization", auth)],
        );
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
        reply.json()["totals"][0].as_f64().expect("a count")
    };
    // The demo's parcels (province 99) lie in Cần Thơ's communes: an unlimited planner counts them.
    assert!(count(&t.token("planner")) >= 1.0);
    // Cần Thơ's own planner counts Cần Thơ's parcels only, and it has none.
    let limited = count(&format!("Bearer {limited}"));
    assert!(limited.abs() < f64::EPSILON, "{limited}");
}

/// Reports of a 2025 province and ward read as the official lists name
/// them: no unit word twice, no towns (thị trấn) and no district column
/// after the reform.
fn reports_of_the_2025_units_name_them_as_the_lists_do(kind: StoreKind) {
    let Some(t) = Target::with_can_tho_2025(kind, "reports_2025") else {
        return;
    };
    let server = t.server();
    let html = |path: &str| {
        let reply = server.get(path, &[]);
        assert_eq!(reply.status, 200, "{path}: {}", String::from_utf8_lossy(&reply.body));
        String::from_utf8(reply.body).expect("utf-8")
    };
    let province = html("/api/reports/province/92.html?boundary_set=2025");
    assert!(
        province.contains("<h1>Báo cáo nông nghiệp Thành phố Cần Thơ</h1>"),
        "{province}"
    );
    assert!(province.contains("Số xã, phường, đặc khu: 103"), "{province}");
    assert!(
        !province.contains("thị trấn") && !province.contains("<th>Huyện</th>"),
        "{province}"
    );
    let ward = html("/api/reports/commune/31507.html?boundary_set=2025");
    assert!(ward.contains("<h1>Báo cáo nông nghiệp Phường Sóc Trăng</h1>"), "{ward}");
}

/// A 403 `outside_provinces` whose message says `says`.
fn refused_outside_provinces(reply: &agrimap_suite::Reply, says: &str) {
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (403, "outside_provinces"),
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let message = reply.json()["error"]["message"].as_str().expect("message").to_owned();
    assert!(message.contains(says), "{message}");
}

/// The ponds held (`pond_id commune_code`) and how many communes.
fn ponds_and_communes(t: &Target) -> (BTreeSet<String>, u64) {
    let (ponds, communes) = (
        layer("aquaculture").expect("ponds"),
        layer("admin_commune").expect("communes"),
    );
    let query = FeatureQuery {
        audience: Audience::Full,
        ..FeatureQuery::default()
    };
    let held = t.runtime.block_on(t.store.features(ponds, &query)).expect("ponds");
    let named = held
        .iter()
        .filter_map(|p| {
            Some(format!(
                "{} {}",
                ponds.text_of(p, "pond_id")?,
                ponds.text_of(p, "commune_code")?
            ))
        })
        .collect();
    let count = t.runtime.block_on(t.store.count(communes, &query)).expect("communes");
    (named, count)
}

/// An editor of one province changes nothing of another: not by replacing
/// a layer (which would delete the other's features), nor by the key of a
/// feature stored there (which would update it), nor by replacing the
/// communes with its own; within its province it imports as before.
fn an_editor_of_one_province_changes_nothing_of_another(kind: StoreKind) {
    let Some(f) = files(&[CAN_THO, DONG_THAP_NEW]) else {
        return;
    };
    let t = Target::new(kind, "editor_elsewhere");
    t.load_communes(&[&f[0], &f[1]]);
    let pond = |id: &str, code: &str, at: [f64; 2]| {
        serde_json::json!({"type": "Feature", "geometry": pond_around(at),
            "properties": {"pond_id": id, "species": "black_tiger_shrimp", "mode": "intensive",
                "commune_code": code, "boundary_set": "2025"}})
    };
    let collection = |features: Vec<Json>| serde_json::json!({"type": "FeatureCollection", "features": features});
    // Xã Phong Mỹ of the new Đồng Tháp (82) and Phường Cái Khế of Cần Thơ (92).
    let (dong_thap, can_tho) = ("30088", "31120");
    let (in_dong_thap, in_can_tho) = (point_in(&f[1], dong_thap), point_in(&f[0], can_tho));
    let file = t.dir.join("ponds.geojson");
    let doc = collection(vec![
        pond("DT-1", dong_thap, in_dong_thap),
        pond("CT-1", can_tho, in_can_tho),
    ]);
    std::fs::write(&file, serde_json::to_vec(&doc).expect("json")).expect("write");
    let out = t.agrimap(&["import", file.to_str().expect("path"), "--layer", "aquaculture"]);
    assert!(out.status.success(), "{}", text(&out));

    let editor = t
        .runtime
        .block_on(issue_scoped_token(
            t.store.as_ref(),
            "Sở NN&PTNT Cần Thơ",
            "editor",
            &["92".to_owned()],
        ))
        .expect("token")
        .1;
    let server = t.server();
    let import = |path: &str, body: Vec<u8>| {
        request_with_body(
            "POST",
            &format!("{}/api/import/{path}", server.base),
            &[("authorization", &format!("Bearer {editor}"))],
            body,
        )
    };
    let held = || ponds_and_communes(&t);
    let before = held();
    assert!(before.0.contains("DT-1 30088") && before.0.contains("CT-1 31120"));
    assert_eq!(before.1, 103 + 102);

    let own_only = serde_json::to_vec(&collection(vec![pond("CT-2", can_tho, in_can_tho)])).expect("json");
    refused_outside_provinces(
        &import("aquaculture?format=geojson&replace=true", own_only.clone()),
        "replacing layer 'aquaculture' would delete its",
    );
    let taken_over = collection(vec![pond("DT-1", can_tho, in_can_tho)]);
    refused_outside_provinces(
        &import(
            "aquaculture?format=geojson",
            serde_json::to_vec(&taken_over).expect("json"),
        ),
        "the file would update features stored elsewhere: pond_id DT-1 (province 82)",
    );
    let own_communes = server.get("/api/export/admin_commune.geojson?province=92", &[]).body;
    refused_outside_provinces(
        &import("admin_commune?format=geojson&replace=true", own_communes),
        "replacing layer 'admin_commune' would delete its 102 features outside provinces 92",
    );
    assert_eq!(held(), before, "nothing changed");

    let taken = import("aquaculture?format=geojson", own_only);
    assert_eq!(taken.status, 200, "{}", String::from_utf8_lossy(&taken.body));
    assert_eq!(taken.json()["inserted"], 1);
}

/// An editor of one province writes no registry record of another: not a
/// producer of a commune elsewhere, nor one registered elsewhere moved into
/// its own (whose history would then show it the contacts it had there).
/// A producer an admin moves keeps the contacts of its old province from
/// the planners of the new one.
fn an_editor_of_one_province_writes_no_registry_record_of_another(kind: StoreKind) {
    let Some(f) = files(&[CAN_THO, DONG_THAP_NEW]) else {
        return;
    };
    let t = Target::new(kind, "registry_elsewhere");
    t.load_communes(&[&f[0], &f[1]]);
    let header = "code,name,kind,commune_code,boundary_set,contact_person,contact_phone\n";
    let out = t.registry_import(
        "producers",
        &format!("{header}1400000077,HTX Phong Mỹ,cooperative,30088,2025,Nguyễn Văn A,0977777777\n"),
    );
    assert!(out.status.success(), "{}", text(&out));
    let scoped = |role: &str| {
        let secret = t
            .runtime
            .block_on(issue_scoped_token(
                t.store.as_ref(),
                "Cần Thơ",
                role,
                &["92".to_owned()],
            ))
            .expect("token")
            .1;
        format!("Bearer {secret}")
    };
    let (editor, planner, admin) = (scoped("editor"), scoped("planner"), t.token("admin"));
    let server = t.server();
    let send = |path: &str, auth: &str, content_type: &str, body: String| {
        request_with_body(
            "POST",
            &format!("{}{path}", server.base),
            &[("authorization", auth), ("content-type", content_type)],
            body.into_bytes(),
        )
    };
    let producer = |code: &str, commune: &str| {
        serde_json::json!({"code": code, "name": "HTX", "kind": "cooperative",
            "commune_code": commune, "boundary_set": "2025"})
        .to_string()
    };
    let json = "application/json";
    refused_outside_provinces(
        &send("/api/producers", &editor, json, producer("1400000078", "30088")),
        "1 of the records are elsewhere: 1400000078 (province 82)",
    );
    refused_outside_provinces(
        &send(
            "/api/registry/import?kind=producers&format=csv",
            &editor,
            "text/csv",
            "code,name,kind,commune_code,boundary_set\n1400000077,HTX,cooperative,31120,2025\n".to_owned(),
        ),
        "1400000077 (registered in province 82)",
    );
    let held = server
        .get("/api/producers/1400000077", &[("authorization", &admin)])
        .json();
    assert_eq!(
        (held["commune_code"].as_str(), held["name"].as_str()),
        (Some("30088"), Some("HTX Phong Mỹ"))
    );
    assert!(server.get("/api/producers/1400000078", &[]).status == 404);
    let own = send("/api/producers", &editor, json, producer("1800000001", "31120"));
    assert_eq!(own.status, 200, "{}", String::from_utf8_lossy(&own.body));
    // A spreadsheet's column in the JSON form is named, not dropped.
    let flat = send(
        "/api/producers",
        &editor,
        json,
        serde_json::json!({"code": "1800000002", "name": "HTX", "kind": "cooperative", "commune_code": "31120",
            "boundary_set": "2025", "contact_phone": "0912000001"})
        .to_string(),
    );
    assert_eq!((flat.status, flat.error_code().as_str()), (400, "bad_json"));
    assert!(String::from_utf8_lossy(&flat.body).contains("no field contact_phone"));

    // An admin moves the producer into Cần Thơ: its planner reads the contact it has there, not the one it had.
    let moved = send(
        "/api/producers",
        &admin,
        json,
        serde_json::json!({"code": "1400000077", "name": "HTX Phong Mỹ", "kind": "cooperative",
            "commune_code": "31120", "boundary_set": "2025", "contact": {"person": "Trần Thị B"}})
        .to_string(),
    );
    assert_eq!(moved.status, 200, "{}", String::from_utf8_lossy(&moved.body));
    let history = server
        .get("/api/producers/1400000077/history", &[("authorization", &planner)])
        .json();
    let contacts: Vec<Json> = history["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("{history}"))
        .iter()
        .map(|c| c["record"]["contact"]["person"].clone())
        .collect();
    assert_eq!(contacts, [Json::Null, "Trần Thị B".into()], "{history}");
}

/// A station is added in the commune of its code that it stands in: a code
/// both sets have (31507: Phường 6 of the old Sóc Trăng, Phường Sóc Trăng of
/// Cần Thơ) is the 2025 commune's unless the old set is asked for.
fn a_station_is_added_in_the_commune_it_stands_in(kind: StoreKind) {
    let Some(f) = files(&[CAN_THO, SOC_TRANG]) else {
        return;
    };
    let t = Target::new(kind, "station_set");
    t.load_communes(&[&f[0], &f[1]]);
    let add = |id: &str, at: [f64; 2], set: &[&str]| {
        let (lon, lat) = (at[0].to_string(), at[1].to_string());
        let mut args = vec![
            "station",
            "add",
            "--id",
            id,
            "--name",
            "Trạm",
            "--kind",
            "water_quality",
            "--commune",
            "31507",
            "--lon",
            &lon,
            "--lat",
            &lat,
        ];
        args.extend(set);
        let out = t.agrimap(&args);
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let new = add("WQ-NEW", point_in(&f[0], "31507"), &[]);
    assert!(new.contains("in commune 31507 Phường Sóc Trăng (2025)"), "{new}");
    let old = add("WQ-OLD", point_in(&f[1], "31507"), &["--boundary-set", "pre-2025"]);
    assert!(old.contains("in commune 31507 Phường 6 (pre-2025)"), "{old}");
}

/// A commune searched by the name it had before the reform (`phuong 5`,
/// without marks) is found with the 2025 commune it went into, once the
/// official list is loaded.
fn communes_are_found_by_their_former_names(kind: StoreKind) {
    let Some(f) = files(&[CAN_THO, MERGES]) else {
        return;
    };
    let t = Target::new(kind, "former_names");
    t.load_communes(&[&f[0]]);
    let server = TestServer::start(t.store.clone());
    let search = |q: &str| server.get(&format!("/api/communes?q={q}&limit=8"), &[]).json();
    assert_eq!(
        search("phuong%205")["former"],
        serde_json::json!([]),
        "no list, no former names"
    );

    assert!(t.import_crosswalk(&f[1]).status.success());
    // A server that is already running reads a new list within a minute.
    let server = TestServer::start(t.store.clone());
    let search = |q: &str| server.get(&format!("/api/communes?q={q}&limit=8"), &[]).json();
    let found = search("phuong%205");
    let former = found["former"].as_array().expect("former");
    let soc_trang = former
        .iter()
        .find(|f| f["old_code"] == "31498")
        .unwrap_or_else(|| panic!("Phường 5 of Sóc Trăng among {former:?}"));
    assert_eq!(soc_trang["old_name"], "Phường 5");
    assert_eq!(soc_trang["commune"]["code"], "31507");
    assert_eq!(soc_trang["commune"]["boundary_set"], "2025");
    assert!(soc_trang["commune"]["bbox"].is_array(), "{soc_trang}");
    // Every old commune found went into a commune of the merged Cần Thơ.
    assert!(
        former.iter().all(|f| f["commune"]["province_code"] == "92"),
        "{former:?}"
    );
    assert!(former.len() <= 8);
    // Asked for the pre-2025 set, the search is of that set's communes only.
    let old_set = server
        .get("/api/communes?q=phuong%205&boundary_set=pre-2025", &[])
        .json();
    assert_eq!(old_set["former"], serde_json::json!([]));
}

/// A pond of about 100 m by 100 m around `at`.
fn pond_around([x, y]: [f64; 2]) -> Json {
    let d = 0.0005;
    serde_json::json!({"type": "Polygon", "coordinates": [[[x - d, y - d], [x + d, y - d], [x + d, y + d], [x - d, y + d], [x - d, y - d]]]})
}

/// A 2025 province holds the features still coded by the communes of the
/// provinces merged into it: once the official list is loaded, `province=92`
/// (the merged Cần Thơ) selects a pond coded by Phường 5 of the old Sóc
/// Trăng (94) beside one coded by a 2025 commune, and the old communes
/// themselves. A planner token of 92 issued before the list covers 94 once
/// the list is loaded, and reads the restricted fields of it all.
fn a_province_holds_the_features_coded_by_the_provinces_merged_into_it(kind: StoreKind) {
    let Some(f) = files(&[CAN_THO, SOC_TRANG, MERGES]) else {
        return;
    };
    let t = Target::new(kind, "merged_province");
    t.load_communes(&[&f[0], &f[1]]);
    let pond = |id: &str, code: &str, set: &str, at: [f64; 2]| {
        serde_json::json!({"type": "Feature", "geometry": pond_around(at),
            "properties": {"pond_id": id, "species": "black_tiger_shrimp", "mode": "intensive",
                "owner_phone": "0900000000", "commune_code": code, "boundary_set": set}})
    };
    let (old, new) = ("31498", "31120");
    let doc = serde_json::json!({"type": "FeatureCollection", "features": [
        pond("OLD", old, "pre-2025", point_in(&f[1], old)),
        pond("NEW", new, "2025", point_in(&f[0], new)),
    ]});
    let file = t.dir.join("ponds.geojson");
    std::fs::write(&file, serde_json::to_vec(&doc).expect("json")).expect("write");
    let out = t.agrimap(&["import", file.to_str().expect("path"), "--layer", "aquaculture"]);
    assert!(out.status.success(), "{}", text(&out));
    let planner = |provinces: &[&str]| {
        let provinces: Vec<String> = provinces.iter().map(|p| (*p).to_owned()).collect();
        let secret = t
            .runtime
            .block_on(issue_scoped_token(
                t.store.as_ref(),
                "Sở NN&PTNT Cần Thơ",
                "planner",
                &provinces,
            ))
            .expect("token")
            .1;
        format!("Bearer {secret}")
    };
    // Issued before the list: it covers what the list merges into 92 once loaded.
    let of_92 = planner(&["92"]);
    let ponds = |server: &TestServer, province: &str, auth: &[(&str, &str)]| -> BTreeSet<(String, Option<String>)> {
        let page = server
            .get(
                &format!("/ogc/collections/aquaculture/items?province={province}&limit=100"),
                auth,
            )
            .json();
        page["features"]
            .as_array()
            .unwrap_or_else(|| panic!("{page}"))
            .iter()
            .filter(|p| ["OLD", "NEW"].contains(&p["properties"]["pond_id"].as_str().unwrap_or_default()))
            .map(|p| {
                (
                    p["properties"]["pond_id"].as_str().expect("id").to_owned(),
                    p["properties"]["owner_phone"].as_str().map(str::to_owned),
                )
            })
            .collect()
    };
    let id = |pond: &str, phone: Option<&str>| (pond.to_owned(), phone.map(str::to_owned));
    let server = t.server();
    assert_eq!(ponds(&server, "92", &[]), [id("NEW", None)].into(), "no list, no merge");

    assert!(t.import_crosswalk(&f[2]).status.success());
    let server = t.server();
    assert_eq!(ponds(&server, "92", &[]), [id("NEW", None), id("OLD", None)].into());
    assert_eq!(ponds(&server, "94", &[]), [id("OLD", None)].into());
    let phone = Some("0900000000");
    assert_eq!(
        ponds(&server, "92", &[("authorization", &of_92)]),
        [id("NEW", phone), id("OLD", phone)].into(),
        "the token of 92 covers 94, merged into it"
    );
    assert_eq!(
        ponds(&server, "94", &[("authorization", &of_92)]),
        [id("OLD", phone)].into()
    );
    let of_94 = planner(&["94"]);
    assert_eq!(
        ponds(&server, "92", &[("authorization", &of_94)]),
        [id("NEW", None), id("OLD", None)].into(),
        "a token of the old Sóc Trăng does not cover the merged Cần Thơ"
    );
    let communes = server
        .get("/ogc/collections/admin_commune/items?province=92&limit=1", &[])
        .json();
    assert_eq!(communes["numberMatched"], 103 + 108, "{communes}");

    let exported = t.dir.join("ponds-92.geojson");
    let out = t.agrimap(&[
        "export",
        "--layer",
        "aquaculture",
        "--province",
        "92",
        exported.to_str().expect("path"),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let doc: Json = serde_json::from_slice(&std::fs::read(&exported).expect("export")).expect("json");
    let codes: BTreeSet<&str> = doc["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter_map(|p| p["properties"]["commune_code"].as_str())
        .collect();
    assert!(codes.contains(old) && codes.contains(new), "{codes:?}");
}

/// The registry follows the merge as the layers do: a cooperative
/// registered by its commune before the reform (Phường 5 of Sóc Trăng, 94)
/// is listed among the producers of the merged Cần Thơ (92).
fn producers_of_a_merged_province_are_listed_with_it(kind: StoreKind) {
    let Some(f) = files(&[CAN_THO, SOC_TRANG, MERGES]) else {
        return;
    };
    let t = Target::with_list(kind, "merged_registry", &[&f[0], &f[1]], &f[2]);
    let old = "31498";
    let server = t.server();

    let out = t.registry_import(
        "producers",
        &format!("code,name,kind,commune_code,boundary_set\nHTX-PHUONG-5,HTX Phường 5,cooperative,{old},pre-2025\n"),
    );
    assert!(out.status.success(), "{}", text(&out));
    for province in ["92", "94"] {
        let listed = server.get(&format!("/api/producers?province={province}"), &[]).json();
        assert_eq!(
            codes(&listed["records"], "code"),
            ["HTX-PHUONG-5".to_owned()].into(),
            "{province}"
        );
    }
}

/// A 2025 commune holds what its old communes still code: Xã Phong Mỹ
/// (30088) of the new Đồng Tháp holds the products coded by the old Phong
/// Mỹ, which went wholly into it, and those coded by Gáo Giồng (30079),
/// split between it and Phú Cường, that lie in it; not those of Gáo
/// Giồng that lie in Phú Cường. Its NTM evidence counts the same products
/// its link lists.
fn a_2025_commune_holds_what_its_old_communes_coded(kind: StoreKind) {
    let Some(f) = files(&[DONG_THAP_OLD, DONG_THAP_NEW, MERGES]) else {
        return;
    };
    let t = Target::with_list(kind, "merged_commune", &[&f[0], &f[1]], &f[2]);
    let (old_file, new_file) = (f[0].as_path(), f[1].as_path());
    let product = |id: &str, code: &str, set: &str, at: [f64; 2]| {
        serde_json::json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": at},
            "properties": {"product_id": id, "producer_id": id, "name": "Xoài", "stars": 4,
                "commune_code": code, "boundary_set": set}})
    };
    let doc = serde_json::json!({"type": "FeatureCollection", "features": [
        product("NEW", "30088", "2025", point_in(new_file, "30088")),
        product("WHOLE", "30088", "pre-2025", point_in(old_file, "30088")),
        product("SPLIT-IN", "30079", "pre-2025", point_in_both((old_file, "30079"), (new_file, "30088"))),
        product("SPLIT-OUT", "30079", "pre-2025", point_in_both((old_file, "30079"), (new_file, "30025"))),
    ]});
    let file = t.dir.join("ocop.geojson");
    std::fs::write(&file, serde_json::to_vec(&doc).expect("json")).expect("write");
    let out = t.agrimap(&["import", file.to_str().expect("path"), "--layer", "ocop"]);
    assert!(out.status.success(), "{}", text(&out));

    let server = t.server();
    let listed = |path: &str| -> BTreeSet<String> {
        let page = server.get(path, &[]).json();
        page["features"]
            .as_array()
            .unwrap_or_else(|| panic!("{path}: {page}"))
            .iter()
            .map(|p| p["properties"]["product_id"].as_str().expect("id").to_owned())
            .collect()
    };
    let ids = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
    assert_eq!(
        listed("/ogc/collections/ocop/items?commune=30088&boundary_set=2025"),
        ids(&["NEW", "SPLIT-IN", "WHOLE"])
    );
    assert_eq!(
        listed("/ogc/collections/ocop/items?commune=30079&boundary_set=pre-2025"),
        ids(&["SPLIT-IN", "SPLIT-OUT"])
    );

    let planner = t.token("planner");
    let card = server.get("/api/ntm/scorecards/30088?year=2025", &[("authorization", &planner)]);
    assert_eq!(card.status, 200, "{}", String::from_utf8_lossy(&card.body));
    let card = card.json();
    let ocop = card["criteria"]
        .as_array()
        .expect("criteria")
        .iter()
        .flat_map(|c| c["indicators"].as_array().expect("indicators"))
        .find(|i| i["id"] == "13.2")
        .expect("13.2");
    let evidence = &ocop["computed"]["evidence"][0];
    assert_eq!(evidence["figure"], 3.0, "{ocop}");
    let link = evidence["ogc"].as_str().expect("link");
    assert_eq!(listed(link), ids(&["NEW", "SPLIT-IN", "WHOLE"]), "{link}");
}

/// A product registered by its commune before the reform shows a buyer
/// both names: the old one with its district and province, and the 2025
/// commune it went into (`nay là …`).
fn a_product_page_names_the_commune_by_todays_name_too(kind: StoreKind) {
    let Some(f) = files(&[CAN_THO, SOC_TRANG, MERGES]) else {
        return;
    };
    let t = Target::with_list(kind, "product_place", &[&f[0], &f[1]], &f[2]);
    let import = |kind: &str, csv: &str| {
        let out = t.registry_import(kind, csv);
        assert!(out.status.success(), "{}", text(&out));
    };
    import(
        "producers",
        "code,name,kind,commune_code,boundary_set\nHTX-P5,HTX Phường 5,cooperative,31498,pre-2025\n",
    );
    import(
        "products",
        "id,name,category,producer,commune_code,boundary_set\n\
         SP-P5,Bánh pía,food,HTX-P5,31498,pre-2025\n\
         SP-CK,Bánh pía,food,HTX-P5,31120,2025\n",
    );
    let server = t.server();
    let page =
        |id: &str, lang: &str| String::from_utf8(server.get(&format!("/t/{id}?lang={lang}"), &[]).body).expect("utf-8");
    let old = page("SP-P5", "vi");
    assert!(
        old.contains(
            "Nơi sản xuất: Phường 5, Thành phố Sóc Trăng, Tỉnh Sóc Trăng (nay là Phường Sóc Trăng, Thành phố Cần Thơ)</p>"
        ),
        "{old}"
    );
    assert!(page("SP-P5", "en").contains("(now Phường Sóc Trăng, Thành phố Cần Thơ)</p>"));
    let new = page("SP-CK", "vi");
    assert!(
        new.contains("Nơi sản xuất: Phường Cái Khế, Thành phố Cần Thơ</p>"),
        "{new}"
    );
    // The product group in the reader's language, not its code.
    assert!(new.contains("<p>Nhóm sản phẩm: Thực phẩm</p>"), "{new}");
    assert!(page("SP-CK", "en").contains("<p>Category: Food</p>"));
}

/// An active station of `kind` in state ok, coded by the pre-2025 commune
/// `code`, standing at `at`.
fn station(t: &Target, id: &str, kind: &str, code: &str, at: [f64; 2]) {
    use agrimap_model::{Feature, Value};
    let monitoring = layer("monitoring").expect("monitoring");
    let mut properties = vec![Value::Null; monitoring.fields.len()];
    let last = agrimap_model::UtcTime::from_unix(agrimap_model::UtcTime::now().unix() - 600).expect("time");
    for (name, value) in [
        ("station_id", Value::from(id)),
        ("name", Value::from(format!("Trạm {id}").as_str())),
        ("kind", Value::from(kind)),
        ("commune_code", Value::from(code)),
        ("boundary_set", Value::from("pre-2025")),
        ("status", Value::from("active")),
        ("alert_state", Value::from("ok")),
        ("last_reading_at", Value::from(last.to_string().as_str())),
    ] {
        properties[monitoring.field_index(name).expect(name)] = value;
    }
    let [x, y] = at;
    let station = agrimap_store::WriteBatch {
        layers: vec![agrimap_store::LayerWrite {
            layer: monitoring,
            replace: false,
            features: vec![Feature {
                id: 0,
                geometry: geo::Point::new(x, y).into(),
                properties,
            }],
        }],
        ..Default::default()
    };
    t.runtime.block_on(t.store.write(station)).expect("station");
}

/// The new Đồng Tháp department (province 82) hears the water stations
/// still coded by communes of the old Đồng Tháp (87): a subscription to
/// province 82 gets a delivery for the station's alarm, and the alert
/// history of province 82 lists it.
fn alerts_of_a_merged_province_reach_its_subscribers(kind: StoreKind) {
    let Some(f) = files(&[DONG_THAP_OLD, DONG_THAP_NEW, MERGES]) else {
        return;
    };
    let t = Target::with_list(kind, "merged_alerts", &[&f[0], &f[1]], &f[2]);
    station(&t, "GAO-GIONG-01", "water_quality", "30079", point_in(&f[0], "30079"));
    let station_token = "merged-alerts-station-token";
    assert!(
        t.runtime
            .block_on(
                t.store
                    .set_station_token_hash("GAO-GIONG-01", &hash_token(station_token))
            )
            .expect("token")
    );
    let editor = format!(
        "Bearer {}",
        t.runtime
            .block_on(issue_scoped_token(
                t.store.as_ref(),
                "Sở NN&PTNT Đồng Tháp",
                "editor",
                &["82".to_owned()]
            ))
            .expect("token")
            .1
    );
    let server = TestServer::start_with(
        t.store.clone(),
        agrimap_server::ServerConfig {
            alerts: agrimap_core::alerts::AlertConfig {
                allow_private_webhooks: true,
                ..agrimap_core::alerts::AlertConfig::default()
            },
            ..agrimap_server::ServerConfig::default()
        },
    );
    // Nothing listens there: the delivery is queued and stays unanswered.
    let made = server.post_json(
        "/api/subscriptions",
        &[("authorization", &editor)],
        &serde_json::json!({"name": "Chi cục Thủy sản", "url": "http://127.0.0.1:9/hook",
            "provinces": ["82"], "states": ["alarm"]}),
    );
    assert_eq!(made.status, 201, "{}", String::from_utf8_lossy(&made.body));
    let subscription = made.json()["id"].clone();
    let now = agrimap_model::UtcTime::now().to_string();
    let reading = server.post_json(
        "/api/stations/GAO-GIONG-01/readings",
        &[("authorization", &format!("Bearer {station_token}"))],
        &serde_json::json!([{"parameter": "salinity", "value": 6.0, "unit": "ppt", "time": now}]),
    );
    assert_eq!(reading.status, 200, "{}", String::from_utf8_lossy(&reading.body));
    assert_eq!(reading.json()["alert_state"], "alarm");

    let started = std::time::Instant::now();
    loop {
        let events = server
            .get("/api/alerts/history?province=82", &[("authorization", &editor)])
            .json();
        let events = events["events"].as_array().expect("events").clone();
        let told = events
            .first()
            .and_then(|e| e["notified"].as_array().cloned())
            .unwrap_or_default();
        if told.iter().any(|d| d["subscription_id"] == subscription) {
            assert_eq!(events[0]["station_id"], "GAO-GIONG-01");
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "no delivery queued for the subscription to province 82: {events:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The new Đồng Tháp's weekly pest bulletin counts the light traps still
/// coded by communes of the old Đồng Tháp, each under the 2025 commune it
/// stands in: a trap of Gáo Giồng standing in today's Phong Mỹ is Phong
/// Mỹ's.
fn the_pest_bulletin_of_a_merged_province_counts_its_old_traps(kind: StoreKind) {
    let Some(f) = files(&[DONG_THAP_OLD, DONG_THAP_NEW, MERGES]) else {
        return;
    };
    let t = Target::with_list(kind, "merged_bulletin", &[&f[0], &f[1]], &f[2]);
    let at = point_in_both((&f[0], "30079"), (&f[1], "30088"));
    station(&t, "DEN-GAO-GIONG", "insect_trap", "30079", at);
    let server = t.server();
    let editor = t.token("editor");
    let night = agrimap_model::UtcTime::from_unix(agrimap_model::UtcTime::now().unix() - 3600).expect("time");
    let caught = server.post_json(
        "/api/stations/DEN-GAO-GIONG/readings",
        &[("authorization", &editor)],
        &serde_json::json!([{"parameter": "pest_count", "species": "brown_planthopper", "value": 120.0,
            "unit": "insects", "time": night.to_string()}]),
    );
    assert_eq!(caught.status, 200, "{}", String::from_utf8_lossy(&caught.body));
    let bulletin = server.get("/api/bulletins/pests?province=82", &[]);
    assert_eq!(bulletin.status, 200, "{}", String::from_utf8_lossy(&bulletin.body));
    let bulletin = bulletin.json();
    assert_eq!(bulletin["traps"], 1, "{bulletin}");
    let planthopper = bulletin["species"]
        .as_array()
        .expect("species")
        .iter()
        .find(|s| s["code"] == "brown_planthopper")
        .expect("brown planthopper");
    let communes: Vec<(&str, &str)> = planthopper["communes"]
        .as_array()
        .expect("communes")
        .iter()
        .map(|c| (c["code"].as_str().expect("code"), c["name"].as_str().expect("name")))
        .collect();
    assert_eq!(communes, [("30088", "Xã Phong Mỹ")], "{planthopper}");
    // Asked for the commune, the trap is there too.
    let phong_my = server.get("/api/bulletins/pests?province=82&commune=30088", &[]).json();
    assert_eq!(phong_my["traps"], 1, "{phong_my}");
}

/// Growing-area codes issued before the reform stay valid in the merged
/// province: a Sóc Trăng code (`VN-ST…`, province 94) for an area of a
/// commune of the merged Cần Thơ (92) is registered, and a product of a
/// commune still coded by old Sóc Trăng may name it; a Đồng Tháp code
/// there is still refused.
fn growing_area_codes_of_a_merged_province_stay_valid(kind: StoreKind) {
    let Some(f) = files(&[CAN_THO, SOC_TRANG, MERGES]) else {
        return;
    };
    let t = Target::with_list(kind, "merged_codes", &[&f[0], &f[1]], &f[2]);
    let import = |kind: &str, csv: &str| t.registry_import(kind, csv);
    let header = "code,commune_code,boundary_set,crop_type,area_ha,status,issued_on,expires_on\n";
    let wrong = import(
        "growing-areas",
        &format!("{header}VN-DTRI-0001,31507,2025,rice,12.5,granted,2024-03-01,2027-02-28\n"),
    );
    assert!(!wrong.status.success());
    assert!(
        text(&wrong).contains("code VN-DTRI-0001 is of province 87, but commune 31507 is in province 92"),
        "{}",
        text(&wrong)
    );
    let right = import(
        "growing-areas",
        &format!("{header}VN-STRI-0001,31507,2025,rice,12.5,granted,2024-03-01,2027-02-28\n"),
    );
    assert!(right.status.success(), "{}", text(&right));
    let producers = import(
        "producers",
        "code,name,kind,commune_code,boundary_set\nHTX-P5,HTX Phường 5,cooperative,31498,pre-2025\n",
    );
    assert!(producers.status.success(), "{}", text(&producers));
    let products = import(
        "products",
        "id,name,category,producer,commune_code,boundary_set,growing_areas\n\
         SP-GAO-ST25,Gạo ST25,rice,HTX-P5,31498,pre-2025,VN-STRI-0001\n",
    );
    assert!(products.status.success(), "{}", text(&products));
}

agrimap_suite::store_suite!(
    reports_of_the_2025_units_name_them_as_the_lists_do,
    a_limited_planner_learns_no_restricted_field_of_another_province_by_counting,
    growing_area_codes_of_a_merged_province_stay_valid,
    the_pest_bulletin_of_a_merged_province_counts_its_old_traps,
    alerts_of_a_merged_province_reach_its_subscribers,
    a_product_page_names_the_commune_by_todays_name_too,
    a_2025_commune_holds_what_its_old_communes_coded,
    producers_of_a_merged_province_are_listed_with_it,
    a_province_holds_the_features_coded_by_the_provinces_merged_into_it,
    codes_given_without_a_set_get_the_set_they_belong_to,
    codes_that_name_no_commune_are_reported,
    communes_are_found_by_their_former_names,
    a_token_of_a_merged_province_covers_the_provinces_merged_into_it,
    an_editor_of_one_province_changes_nothing_of_another,
    an_editor_of_one_province_writes_no_registry_record_of_another,
    a_station_is_added_in_the_commune_it_stands_in,
    the_official_list_is_imported_and_bad_files_change_nothing,
    soc_trang_against_can_tho,
    apportion_keeps_every_unit,
    dong_thap_agrees_with_the_list,
    recode_restamps_features_by_location,
);
