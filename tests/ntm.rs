//! New rural development (NTM) over HTTP, on both stores: the criteria
//! sets as data (a new period's set loaded without code), a scorecard
//! computed from features whose figures are known, and a commune's dossier
//! through the whole workflow with each role and province scope, every
//! forbidden move and bad input refused with nothing changed, and the
//! history kept.

use agrimap_core::tokens::issue_scoped_token;
use agrimap_model::{Feature, Reading, Value, layer};
use agrimap_store::{GpkgStore, LayerWrite, PgStore, Store, WriteBatch};
use agrimap_suite::{PgDatabase, Reply, StoreKind, TestServer, request_with_body, scratch_dir};
use geo::{Geometry, Haversine, Length, LineString, line_string, polygon};
use serde_json::{Value as Json, json};
use std::sync::Arc;

/// A server over a store holding only what a test writes; the database
/// (PostGIS) is dropped after the server.
struct Fresh {
    server: TestServer,
    runtime: tokio::runtime::Runtime,
    /// The GeoPackage file, or the PostGIS database's URL.
    place: String,
    _db: Option<PgDatabase>,
}

impl Fresh {
    fn new(kind: StoreKind, name: &str) -> Self {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let (store, place, db): (Arc<dyn Store>, String, _) = match kind {
            StoreKind::GeoPackage => {
                let path = scratch_dir(&format!("ntm_{name}")).join("agrimap.gpkg");
                let store = GpkgStore::create(&path).expect("create");
                (Arc::new(store), path.display().to_string(), None)
            }
            StoreKind::PostGis => {
                let db = PgDatabase::empty(&format!("ntm_{name}"));
                let store: PgStore = runtime.block_on(async {
                    let s = db.store();
                    s.migrate().await.expect("migrate");
                    s
                });
                (Arc::new(store), db.url.clone(), Some(db))
            }
        };
        runtime.block_on(store.write(village())).expect("features");
        Self {
            server: TestServer::start(store),
            runtime,
            place,
            _db: db,
        }
    }

    fn token(&self, role: &str, provinces: &[&str]) -> String {
        let provinces: Vec<String> = provinces.iter().map(|p| (*p).to_owned()).collect();
        let (_, secret) = self
            .runtime
            .block_on(issue_scoped_token(
                self.server.store.as_ref(),
                "ntm test",
                role,
                &provinces,
            ))
            .expect("token");
        format!("Bearer {secret}")
    }

    fn send(&self, method: &str, path: &str, auth: &str, body: Vec<u8>) -> Reply {
        request_with_body(
            method,
            &format!("{}{path}", self.server.base),
            &[("authorization", auth), ("content-type", "application/json")],
            body,
        )
    }

    fn post(&self, path: &str, auth: &str, body: &Json) -> Reply {
        self.send("POST", path, auth, serde_json::to_vec(body).expect("json"))
    }

    fn get(&self, path: &str, auth: &str) -> Reply {
        self.server.get(path, &[("authorization", auth)])
    }
}

const COMMUNE: &str = "70001";

fn feature(layer_id: &str, geometry: Geometry<f64>, values: &[(&str, Value)]) -> Feature {
    let l = layer(layer_id).expect("layer");
    let mut properties = vec![Value::Null; l.fields.len()];
    for (name, v) in values {
        properties[l.field_index(name).expect(name)] = v.clone();
    }
    Feature {
        id: 0,
        geometry,
        properties,
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// The asphalt road that leaves the commune: inside from 105.09 to its edge at 105.10.
fn crossing_road() -> LineString<f64> {
    line_string![(x: 105.09, y: 10.05), (x: 105.11, y: 10.05)]
}

/// One commune (a 0.1° square of province 99, 2025 set) and what lies in it:
/// two 0.05° north–south roads (asphalt, gravel), an asphalt road crossing
/// its east edge, two equal crop parcels (VietGAP, conventional), a growing
/// area run by a cooperative, two OCOP products (one with a QR link), and a
/// water-quality station whose 2025 salinity once reached the alarm level.
// One feature after another, each with its known figures: they read best as one list.
#[allow(clippy::too_many_lines)]
fn village() -> WriteBatch {
    let here = |extra: &[(&'static str, Value)]| {
        let mut v: Vec<(&str, Value)> = vec![("commune_code", text(COMMUNE)), ("boundary_set", text("2025"))];
        v.extend(extra.iter().cloned());
        v
    };
    let square = |x: f64, y: f64, d: f64| -> Geometry<f64> {
        polygon![(x: x, y: y), (x: x + d, y: y), (x: x + d, y: y + d), (x: x, y: y + d), (x: x, y: y)].into()
    };
    let write = |id: &str, features: Vec<Feature>| LayerWrite {
        layer: layer(id).expect("layer"),
        replace: false,
        features,
    };
    WriteBatch {
        layers: vec![
            write(
                "admin_province",
                vec![feature(
                    "admin_province",
                    square(105.0, 10.0, 0.1),
                    &[
                        ("code", text("99")),
                        ("name", text("Tỉnh Thử")),
                        ("boundary_set", text("2025")),
                    ],
                )],
            ),
            write(
                "admin_commune",
                vec![feature(
                    "admin_commune",
                    square(105.0, 10.0, 0.1),
                    &[
                        ("code", text(COMMUNE)),
                        ("name", text("Xã Thử Nghiệm")),
                        ("province_code", text("99")),
                        ("boundary_set", text("2025")),
                        ("ntm_status", text("not_yet")),
                    ],
                )],
            ),
            write(
                "roads",
                vec![
                    feature(
                        "roads",
                        line_string![(x: 105.05, y: 10.02), (x: 105.05, y: 10.07)].into(),
                        &[("class", text("commune")), ("surface", text("asphalt"))],
                    ),
                    feature(
                        "roads",
                        line_string![(x: 105.02, y: 10.02), (x: 105.02, y: 10.07)].into(),
                        &[("class", text("commune")), ("surface", text("gravel"))],
                    ),
                    feature(
                        "roads",
                        crossing_road().into(),
                        &[("class", text("district")), ("surface", text("concrete"))],
                    ),
                ],
            ),
            write(
                "crop",
                vec![
                    feature(
                        "crop",
                        square(105.01, 10.08, 0.01),
                        &here(&[
                            ("parcel_id", text("P-1")),
                            ("crop_type", text("rice")),
                            ("season", text("he_thu")),
                            ("practice", text("vietgap")),
                        ]),
                    ),
                    feature(
                        "crop",
                        square(105.03, 10.08, 0.01),
                        &here(&[
                            ("parcel_id", text("P-2")),
                            ("crop_type", text("rice")),
                            ("season", text("he_thu")),
                            ("practice", text("conventional")),
                        ]),
                    ),
                ],
            ),
            write(
                "irrigated_areas",
                vec![
                    feature(
                        "irrigated_areas",
                        square(105.005, 10.075, 0.015),
                        &here(&[
                            ("area_id", text("KT-1")),
                            ("irrigation", text("active")),
                            ("drainage", text("active")),
                            ("source", text("pumping")),
                            ("area_ha", Value::Real(270.5)),
                        ]),
                    ),
                    feature(
                        "irrigated_areas",
                        square(105.025, 10.075, 0.015),
                        &here(&[
                            ("area_id", text("KT-2")),
                            ("irrigation", text("not_active")),
                            ("drainage", text("active")),
                            ("source", text("gravity")),
                            ("area_ha", Value::Real(180.25)),
                        ]),
                    ),
                ],
            ),
            write(
                "growing_area",
                vec![feature(
                    "growing_area",
                    square(105.06, 10.08, 0.01),
                    &here(&[
                        ("code", text("VN-TEST-0001")),
                        ("crop_type", text("rice")),
                        ("status", text("active")),
                        ("cooperative", text("HTX Tân Phú")),
                    ]),
                )],
            ),
            write(
                "ocop",
                vec![
                    feature(
                        "ocop",
                        geo::point!(x: 105.03, y: 10.03).into(),
                        &here(&[
                            ("product_id", text("OCOP-T1")),
                            ("name", text("Gạo Tân Phú")),
                            ("stars", Value::Int(3)),
                            ("qr_url", text("https://truyxuat.example/ocop-t1")),
                        ]),
                    ),
                    feature(
                        "ocop",
                        geo::point!(x: 105.04, y: 10.04).into(),
                        &here(&[
                            ("product_id", text("OCOP-T2")),
                            ("name", text("Mắm cá linh")),
                            ("stars", Value::Int(4)),
                        ]),
                    ),
                ],
            ),
            write(
                "monitoring",
                vec![feature(
                    "monitoring",
                    geo::point!(x: 105.07, y: 10.03).into(),
                    &here(&[
                        ("station_id", text("WQ-T1")),
                        ("name", text("Trạm kênh Tân Phú")),
                        ("kind", text("water_quality")),
                    ]),
                )],
            ),
        ],
        readings: [
            ("2025-03-01T00:00:00Z", 5.0),
            ("2025-04-01T00:00:00Z", 1.0),
            ("2024-03-01T00:00:00Z", 1.0),
        ]
        .into_iter()
        .map(|(time, value)| Reading {
            station_id: "WQ-T1".into(),
            parameter: "salinity".into(),
            value,
            unit: "ppt".into(),
            time: time.parse().expect("time"),
        })
        .collect(),
        ..Default::default()
    }
}

fn indicator<'a>(card: &'a Json, id: &str) -> &'a Json {
    card["criteria"]
        .as_array()
        .expect("criteria")
        .iter()
        .flat_map(|c| c["indicators"].as_array().expect("indicators"))
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("indicator {id}"))
}

fn evidence_figure(i: &Json, n: usize) -> f64 {
    i["computed"]["evidence"][n]["figure"].as_f64().expect("figure")
}

fn sets_are_data_and_a_new_period_loads_without_code(kind: StoreKind) {
    let t = Fresh::new(kind, "sets");
    let (admin, editor) = (t.token("admin", &[]), t.token("editor", &[]));
    let sets = t.server.get("/api/ntm/sets", &[]).json();
    let listed: Vec<(&str, i64, bool)> = sets["sets"]
        .as_array()
        .expect("sets")
        .iter()
        .map(|s| {
            (
                s["id"].as_str().expect("id"),
                s["criteria"].as_i64().expect("n"),
                s["complete"] == true,
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("ntm-advanced-commune-2021-2025", 0, false),
            ("ntm-commune-2021-2025", 19, true),
            ("ntm-model-commune-2021-2025", 0, false)
        ]
    );
    let national = t.server.get("/api/ntm/sets/ntm-commune-2021-2025", &[]).json();
    assert!(
        national["source"]["document"]
            .as_str()
            .expect("source")
            .contains("318/QĐ-TTg")
    );
    assert_eq!(
        national["criteria"][12]["name_vi"],
        "Tổ chức sản xuất và phát triển kinh tế nông thôn"
    );
    assert_eq!(t.server.get("/api/ntm/sets/ntm-nowhere", &[]).status, 404);

    // The next period's set: a file, loaded by an admin, no code.
    let mut next = national.clone();
    next["id"] = json!("ntm-commune-2026-2030");
    next["period"] = json!({"from": 2026, "to": 2030});
    next["criteria"][2]["indicators"][0]["target"] = json!(85);
    assert_eq!(t.post("/api/ntm/sets", &editor, &next).status, 403);
    let loaded = t.post("/api/ntm/sets", &admin, &next);
    assert_eq!(loaded.status, 201, "{}", String::from_utf8_lossy(&loaded.body));
    assert_eq!(t.post("/api/ntm/sets", &admin, &next).status, 200);
    // A version is never rewritten: a change takes the next version.
    next["criteria"][2]["indicators"][0]["target"] = json!(90);
    let taken = t.post("/api/ntm/sets", &admin, &next);
    assert_eq!((taken.status, taken.error_code().as_str()), (409, "set_version_taken"));
    next["version"] = json!(2);
    assert_eq!(t.post("/api/ntm/sets", &admin, &next).status, 201);
    let newest = t.server.get("/api/ntm/sets/ntm-commune-2026-2030", &[]).json();
    assert_eq!(
        (
            newest["version"].clone(),
            newest["criteria"][2]["indicators"][0]["target"].clone()
        ),
        (json!(2), json!(90.0))
    );
    let first = t
        .server
        .get("/api/ntm/sets/ntm-commune-2026-2030?version=1", &[])
        .json();
    assert_eq!(first["criteria"][2]["indicators"][0]["target"], json!(85.0));
    // A scorecard of 2027 is held to the new set.
    let planner = t.token("planner", &[]);
    let card = t
        .get(&format!("/api/ntm/scorecards/{COMMUNE}?year=2027"), &planner)
        .json();
    assert_eq!(card["set"]["id"], "ntm-commune-2026-2030");
    assert_eq!(card["set"]["version"], 2);

    // A bad file is refused naming the fault, and nothing is kept.
    next["id"] = json!("ntm-broken");
    next["criteria"][0]["indicators"][0]["id"] = json!("7.1");
    let bad = t.post("/api/ntm/sets", &admin, &next);
    assert_eq!((bad.status, bad.error_code().as_str()), (422, "bad_criteria_set"));
    assert!(String::from_utf8_lossy(&bad.body).contains("7.1"));
    assert_eq!(t.server.get("/api/ntm/sets/ntm-broken", &[]).status, 404);
    // No complete set covers 2031; the incomplete advanced set gives no scorecard.
    assert_eq!(
        t.get(&format!("/api/ntm/scorecards/{COMMUNE}?year=2031"), &planner)
            .error_code(),
        "no_criteria_set"
    );
    assert_eq!(
        t.get(
            &format!("/api/ntm/scorecards/{COMMUNE}?year=2025&set=ntm-advanced-commune-2021-2025"),
            &planner
        )
        .error_code(),
        "incomplete_criteria_set"
    );
}

// One indicator after another, each against its known figures.
#[allow(clippy::too_many_lines)]
fn scorecards_are_computed_from_known_features(kind: StoreKind) {
    let t = Fresh::new(kind, "scorecard");
    let planner = t.token("planner", &[]);
    assert_eq!(
        t.server
            .get(&format!("/api/ntm/scorecards/{COMMUNE}?year=2025"), &[])
            .status,
        401
    );
    let reply = t.get(&format!("/api/ntm/scorecards/{COMMUNE}?year=2025"), &planner);
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let card = reply.json();
    assert_eq!(card["commune"]["code"], COMMUNE);
    assert_eq!(card["region"], "mekong_delta");
    assert_eq!(card["set"]["id"], "ntm-commune-2021-2025");
    assert_eq!(card["dossier"]["state"], "draft");
    assert_eq!(card["dossier"]["next"], json!(["submitted"]));
    assert_eq!(card["criteria_total"], 19);
    assert_eq!(card["indicators_total"], 56);

    // 2.1: asphalt and concrete length over all road length in the commune.
    let meridian = Haversine.length(&line_string![(x: 105.05, y: 10.02), (x: 105.05, y: 10.07)]) / 1000.0;
    let crossing_inside = Haversine.length(&line_string![(x: 105.09, y: 10.05), (x: 105.10, y: 10.05)]) / 1000.0;
    assert!(Haversine.length(&crossing_road()) / 1000.0 > crossing_inside * 1.9);
    let hard = meridian + crossing_inside;
    let roads = indicator(&card, "2.1");
    assert_eq!(roads["source"], "layers");
    let want = (hard / (hard + meridian) * 1000.0).round() / 10.0;
    assert_eq!(roads["value"].as_f64(), Some(want));
    assert!((evidence_figure(roads, 0) - hard).abs() < 1e-3, "{roads}");
    assert!((evidence_figure(roads, 1) - meridian).abs() < 1e-3, "{roads}");
    assert_eq!(
        roads["computed"]["evidence"][0]["features"]
            .as_array()
            .expect("ids")
            .len(),
        2
    );
    assert_eq!(
        (roads["target"].clone(), roads["verdict"].clone()),
        (json!(100.0), json!("not_met"))
    );

    // 3.1: the crop area in areas irrigated and drained actively: P-1 lies
    // in KT-1 (active), P-2 in KT-2 (irrigation not active), and the two
    // parcels are equal, so half.
    let irrigation = indicator(&card, "3.1");
    assert_eq!(irrigation["source"], "layers");
    assert_eq!(irrigation["value"].as_f64(), Some(50.0), "{irrigation}");
    let evidence = &irrigation["computed"]["evidence"];
    assert_eq!(evidence[0]["layer"], "irrigated_areas");
    assert!((evidence_figure(irrigation, 0) - 270.5).abs() < 1e-9, "{irrigation}");
    assert!((evidence_figure(irrigation, 1) - 180.25).abs() < 1e-9, "{irrigation}");
    assert_eq!(evidence[0]["features"].as_array().map(Vec::len), Some(1));
    assert!((evidence_figure(irrigation, 2) - 50.0).abs() < 1e-9, "{irrigation}");
    assert!(
        evidence[0]["ogc"]
            .as_str()
            .is_some_and(|u| u.starts_with("/ogc/collections/irrigated_areas/items?commune=")),
        "{irrigation}"
    );

    // 13.1 to 13.4: the cooperative, the OCOP products, certified farmland, traceability.
    let coop = indicator(&card, "13.1");
    assert_eq!(
        (coop["value"].clone(), coop["verdict"].clone()),
        (json!(true), json!("met"))
    );
    assert!((evidence_figure(coop, 0) - 1.0).abs() < f64::EPSILON);
    let ocop = indicator(&card, "13.2");
    assert_eq!((ocop["verdict"].clone(), evidence_figure(ocop, 0)), (json!("met"), 2.0));
    assert!(
        ocop["computed"]["evidence"][0]["ogc"]
            .as_str()
            .expect("ogc")
            .starts_with(&format!(
                "/ogc/collections/ocop/items?commune={COMMUNE}&boundary_set=2025"
            ))
    );
    let certified = indicator(&card, "13.3");
    assert_eq!(
        (certified["verdict"].clone(), evidence_figure(certified, 0)),
        (json!("met"), 50.0)
    );
    let traced = indicator(&card, "13.4");
    assert_eq!(traced["verdict"], "not_met");
    assert_eq!(
        (
            evidence_figure(traced, 0),
            evidence_figure(traced, 1),
            evidence_figure(traced, 2)
        ),
        (1.0, 1.0, 1.0)
    );
    // Each item's box is where its features are.
    assert_eq!(
        traced["computed"]["evidence"][1]["bbox"],
        json!([105.04, 10.04, 105.04, 10.04])
    );

    // 17.2: the station reached the alarm level in 2025 (not in 2024): evidence, not the value.
    let water = indicator(&card, "17.2");
    assert_eq!(
        (water["value"].clone(), water["verdict"].clone()),
        (Json::Null, json!("no_data"))
    );
    assert_eq!((evidence_figure(water, 0), evidence_figure(water, 1)), (0.0, 1.0));
    let last_year = t
        .get(&format!("/api/ntm/scorecards/{COMMUNE}?year=2024"), &planner)
        .json();
    let water = indicator(&last_year, "17.2");
    assert_eq!((evidence_figure(water, 0), evidence_figure(water, 1)), (1.0, 0.0));

    // A commune the store lacks, a year that is none, a set that is none.
    assert_eq!(
        t.get("/api/ntm/scorecards/99999?year=2025", &planner).error_code(),
        "unknown_commune"
    );
    assert_eq!(
        t.get(&format!("/api/ntm/scorecards/{COMMUNE}?year=20x5"), &planner)
            .error_code(),
        "bad_year"
    );
    assert_eq!(
        t.get(&format!("/api/ntm/scorecards/{COMMUNE}"), &planner).error_code(),
        "missing_year"
    );
    assert_eq!(
        t.get(&format!("/api/ntm/scorecards/{COMMUNE}?year=2025&set=nope"), &planner)
            .error_code(),
        "unknown_criteria_set"
    );
}

fn history_len(t: &Fresh, auth: &str) -> usize {
    t.get(&format!("/api/ntm/dossiers/{COMMUNE}/2025/history"), auth).json()["changes"]
        .as_array()
        .expect("changes")
        .len()
}

fn all_met(t: &Fresh) -> Json {
    let set = t.server.get("/api/ntm/sets/ntm-commune-2021-2025", &[]).json();
    let mut verdicts = serde_json::Map::new();
    for c in set["criteria"].as_array().expect("criteria") {
        for i in c["indicators"].as_array().expect("indicators") {
            verdicts.insert(
                i["id"].as_str().expect("id").into(),
                json!({"verdict": "met", "comment": "hồ sơ đầy đủ"}),
            );
        }
    }
    Json::Object(verdicts)
}

// One dossier from draft to revoked: its steps read best in order.
#[allow(clippy::too_many_lines)]
fn the_workflow_holds_each_role_to_its_moves(kind: StoreKind) {
    let t = Fresh::new(kind, "workflow");
    let editor = t.token("editor", &["99"]);
    let other_editor = t.token("editor", &["87"]);
    let planner = t.token("planner", &["99"]);
    let admin = t.token("admin", &[]);
    let entry = |indicator: &str| format!("/api/ntm/scorecards/{COMMUNE}/indicators/{indicator}?year=2025");
    let moves = format!("/api/ntm/dossiers/{COMMUNE}/2025/transitions");
    let status = || {
        let c = t.server.get(&format!("/api/communes/{COMMUNE}"), &[]).json();
        (c["ntm_status"].clone(), c["ntm_year"].clone())
    };

    // Evidence: a PDF is kept under its SHA-256; other kinds and oversize files are refused.
    let pdf = b"%PDF-1.4\n% bien ban tham dinh\n".to_vec();
    let up =
        |name: &str, auth: &str, body: Vec<u8>| t.send("POST", &format!("/api/ntm/evidence?name={name}"), auth, body);
    assert_eq!(up("a.pdf", &planner, pdf.clone()).status, 403);
    let kept = up("bien-ban.pdf", &editor, pdf.clone());
    assert_eq!(kept.status, 201, "{}", String::from_utf8_lossy(&kept.body));
    let sha = kept.json()["sha256"].as_str().expect("sha").to_owned();
    assert_eq!(sha.len(), 64);
    let exe = up("not-really.pdf", &editor, b"MZ\x90\x00\x03 an executable".to_vec());
    assert_eq!((exe.status, exe.error_code().as_str()), (415, "evidence_type"));
    let mut huge = b"%PDF-1.4\n".to_vec();
    huge.resize(10 * 1024 * 1024 + 1, b' ');
    let big = up("big.pdf", &editor, huge);
    assert_eq!((big.status, big.error_code().as_str()), (422, "evidence_too_large"));
    // Until a dossier cites it, the file is its uploader's (and every province's admin's).
    let evidence = format!("/api/ntm/evidence/{sha}");
    assert_eq!(t.get(&evidence, &editor).body, pdf);
    assert_eq!(t.get(&evidence, &admin).body, pdf);
    assert_eq!(t.get(&evidence, &planner).error_code(), "outside_provinces");
    // Citing a file would open it to the citing province: only a file one may read is cited.
    let theirs = up(
        "bien-ban-87.pdf",
        &other_editor,
        b"%PDF-1.4\n% of province 87\n".to_vec(),
    );
    let theirs = theirs.json()["sha256"].as_str().expect("sha").to_owned();
    let cited = t.post(&entry("1.2"), &editor, &json!({"value": true, "evidence": [theirs]}));
    assert_eq!((cited.status, cited.error_code().as_str()), (403, "outside_provinces"));
    assert_eq!(
        t.get(&format!("/api/ntm/evidence/{theirs}"), &planner).error_code(),
        "outside_provinces"
    );

    // Values: an editor of the province enters them, with evidence.
    let ok = t.post(
        &entry("1.1"),
        &editor,
        &json!({"value": true, "comment": "QĐ phê duyệt quy hoạch", "evidence": [sha]}),
    );
    assert_eq!(ok.status, 201, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(ok.json()["entry"]["evidence"][0]["name"], "bien-ban.pdf");
    assert_eq!(ok.json()["verdict"], "met");
    // Cited, it is the province's office's to read; another province's is refused.
    let back = t.get(&evidence, &planner);
    assert_eq!((back.status, back.body.clone()), (200, pdf));
    assert_eq!(back.header("content-type"), Some("application/pdf"));
    let elsewhere = t.get(&evidence, &t.token("planner", &["87"]));
    assert_eq!(
        (elsewhere.status, elsewhere.error_code().as_str()),
        (403, "outside_provinces")
    );
    assert!(!String::from_utf8_lossy(&elsewhere.body).contains("%PDF"));
    let ok = t.post(&entry("9.1"), &editor, &json!({"value": 0}));
    assert_eq!(ok.json()["verdict"], "met");
    let changes = history_len(&t, &planner);
    assert_eq!(changes, 2);
    // Bad input: a clear error, and nothing changed.
    for (path, auth, body, status, code) in [
        (entry("1.1"), &planner, json!({"value": true}), 403, "forbidden"),
        (
            entry("1.1"),
            &other_editor,
            json!({"value": true}),
            403,
            "outside_provinces",
        ),
        (entry("99.9"), &editor, json!({"value": true}), 404, "unknown_indicator"),
        (entry("2.2"), &editor, json!({"value": 150}), 422, "value_out_of_range"),
        (entry("9.1"), &editor, json!({"value": 1.5}), 422, "value_out_of_range"),
        (entry("1.1"), &editor, json!({"value": 5}), 422, "wrong_unit"),
        (entry("2.2"), &editor, json!({"value": true}), 422, "wrong_unit"),
        (
            entry("1.1"),
            &editor,
            json!({"value": true, "evidence": ["ab".repeat(32)]}),
            422,
            "unknown_evidence",
        ),
        (
            entry("1.1"),
            &editor,
            json!({"value": true, "evidence": ["../etc/passwd"]}),
            400,
            "bad_evidence",
        ),
        (entry("1.1"), &editor, json!({"valeur": true}), 400, "bad_entry"),
    ] {
        let r = t.post(&path, auth, &body);
        assert_eq!((r.status, r.error_code().as_str()), (status, code), "{path} {body}");
    }
    assert_eq!(history_len(&t, &planner), changes);

    // Another province's office reads none of this commune's dossier.
    let other_planner = t.token("planner", &["87"]);
    for path in [
        format!("/api/ntm/scorecards/{COMMUNE}?year=2025"),
        format!("/api/ntm/dossiers/{COMMUNE}/2025/history"),
        "/api/ntm/dashboard?year=2025&province=99".to_owned(),
        "/api/ntm/dashboard?year=2025".to_owned(),
    ] {
        assert_eq!(t.get(&path, &other_planner).error_code(), "outside_provinces", "{path}");
    }

    // Moves out of order or by the wrong hands: refused, nothing kept.
    for (auth, body, status, code) in [
        (&admin, json!({"to": "recognised"}), 409, "transition_out_of_order"),
        (&editor, json!({"to": "appraised"}), 409, "transition_out_of_order"),
        (&editor, json!({"to": "draft"}), 409, "transition_out_of_order"),
        (&editor, json!({"to": "approved"}), 400, "bad_state"),
        (&planner, json!({"to": "submitted"}), 403, "forbidden"),
        (&other_editor, json!({"to": "submitted"}), 403, "outside_provinces"),
    ] {
        let r = t.post(&moves, auth, &body);
        assert_eq!((r.status, r.error_code().as_str()), (status, code), "{body}");
    }
    assert_eq!(history_len(&t, &planner), changes);

    // Submitted by the commune: its values are frozen.
    let r = t.post(
        &moves,
        &editor,
        &json!({"to": "submitted", "comment": "Đề nghị thẩm định"}),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["next"], json!(["appraised", "returned"]));
    let frozen = t.post(&entry("1.2"), &editor, &json!({"value": true}));
    assert_eq!(
        (frozen.status, frozen.error_code().as_str()),
        (409, "dossier_not_editable")
    );

    // Returned with reasons; the commune corrects and submits again.
    assert_eq!(
        t.post(&moves, &planner, &json!({"to": "returned"})).error_code(),
        "missing_field"
    );
    let r = t.post(
        &moves,
        &planner,
        &json!({"to": "returned", "reasons": "Thiếu biên bản 3.2"}),
    );
    assert_eq!(r.status, 201);
    assert_eq!(t.post(&entry("3.2"), &editor, &json!({"value": true})).status, 201);
    assert_eq!(t.post(&moves, &editor, &json!({"to": "submitted"})).status, 201);

    // Appraised by the province's planner, with a verdict on every indicator.
    assert_eq!(
        t.post(&moves, &editor, &json!({"to": "appraised"})).error_code(),
        "forbidden"
    );
    let partial = t.post(
        &moves,
        &planner,
        &json!({"to": "appraised", "verdicts": {"1.1": {"verdict": "met"}}}),
    );
    assert_eq!(
        (partial.status, partial.error_code().as_str()),
        (422, "missing_verdicts")
    );
    let mut verdicts = all_met(&t);
    verdicts["2.1"] = json!({"verdict": "maybe"});
    assert_eq!(
        t.post(&moves, &planner, &json!({"to": "appraised", "verdicts": verdicts}))
            .error_code(),
        "bad_verdict"
    );
    let mut verdicts = all_met(&t);
    verdicts["99.1"] = json!({"verdict": "met"});
    assert_eq!(
        t.post(&moves, &planner, &json!({"to": "appraised", "verdicts": verdicts}))
            .error_code(),
        "unknown_indicator"
    );
    let r = t.post(
        &moves,
        &planner,
        &json!({"to": "appraised", "verdicts": all_met(&t), "comment": "Đạt 19/19"}),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let card = t
        .get(&format!("/api/ntm/scorecards/{COMMUNE}?year=2025"), &planner)
        .json();
    assert_eq!(card["dossier"]["state"], "appraised");
    assert_eq!(indicator(&card, "1.1")["appraisal"]["comment"], "hồ sơ đầy đủ");
    // Once appraised, the appraisal decides what is met; the values keep their own word.
    assert_eq!(
        (card["counted_from"].clone(), card["criteria_met"].clone()),
        (json!("appraisal"), json!(19))
    );
    let roads = indicator(&card, "2.1");
    assert_eq!(
        (roads["verdict"].clone(), roads["value_verdict"].clone()),
        (json!("met"), json!("not_met"))
    );

    // Recognised by an admin, with the decision; the commune layer follows.
    assert_eq!(status(), (json!("not_yet"), Json::Null));
    assert_eq!(
        t.post(&moves, &planner, &json!({"to": "recognised"})).error_code(),
        "forbidden"
    );
    let decision = json!({"to": "recognised", "decision_number": "1234/QĐ-UBND", "decision_date": "2025-12-20", "level": "standard"});
    for (field, value, code) in [
        ("decision_number", json!(""), "missing_field"),
        ("decision_date", json!("20/12/2025"), "bad_decision_date"),
        ("decision_date", json!("2099-12-20"), "bad_decision_date"),
        ("decision_date", json!("2024-12-20"), "bad_decision_date"),
        ("level", json!("gold"), "bad_level"),
        ("level", json!("advanced"), "level_not_appraised"),
    ] {
        let mut body = decision.clone();
        body[field] = value;
        assert_eq!(t.post(&moves, &admin, &body).error_code(), code, "{field}");
    }
    let r = t.post(&moves, &admin, &decision);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(status(), (json!("standard"), json!(2025)));
    let recognised = t
        .get(&format!("/api/ntm/scorecards/{COMMUNE}?year=2025"), &planner)
        .json();
    assert_eq!(
        (recognised["counted_from"].clone(), recognised["criteria_met"].clone()),
        (json!("appraisal"), json!(19))
    );
    // Recognised is final but for a revocation.
    assert_eq!(
        t.post(&moves, &editor, &json!({"to": "submitted"})).error_code(),
        "transition_out_of_order"
    );
    assert_eq!(
        t.post(&moves, &admin, &json!({"to": "revoked", "reasons": "Sai số liệu"}))
            .error_code(),
        "missing_field"
    );
    let r = t.post(
        &moves,
        &admin,
        &json!({"to": "revoked", "reasons": "Sai số liệu tiêu chí 10", "decision_number": "99/QĐ-UBND"}),
    );
    assert_eq!(r.status, 201);
    assert_eq!(status(), (json!("not_yet"), Json::Null));
    // Revoked, the appraisal no longer stands: the values count again.
    let revoked = t
        .get(&format!("/api/ntm/scorecards/{COMMUNE}?year=2025"), &planner)
        .json();
    assert_eq!(revoked["counted_from"], "values");
    assert!(
        revoked["criteria_met"].as_u64().is_some_and(|n| n < 19),
        "{}",
        revoked["criteria_met"]
    );

    // Every change is kept, in order, with who made it.
    let history = t
        .get(&format!("/api/ntm/dossiers/{COMMUNE}/2025/history"), &planner)
        .json();
    let kinds: Vec<String> = history["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| match c["kind"].as_str() {
            Some("move") => c["what"]["to"].as_str().expect("to").to_owned(),
            _ => format!("entry {}", c["what"]["indicator"].as_str().expect("indicator")),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "entry 1.1",
            "entry 9.1",
            "submitted",
            "returned",
            "entry 3.2",
            "submitted",
            "appraised",
            "recognised",
            "revoked"
        ]
    );
    let recognised = &history["changes"][7];
    assert_eq!(recognised["what"]["details"]["decision_number"], "1234/QĐ-UBND");
    assert_eq!(recognised["what"]["role"], "admin");
    assert!(recognised["author"].as_str().is_some_and(|a| !a.is_empty()));
    assert_eq!(
        t.server
            .get(&format!("/api/ntm/dossiers/{COMMUNE}/2025/history"), &[])
            .status,
        401
    );

    // The self-assessment workbook, read back.
    let xlsx = t.get(&format!("/api/ntm/scorecards/{COMMUNE}?year=2025&f=xlsx"), &planner);
    assert_eq!(xlsx.status, 200, "{}", String::from_utf8_lossy(&xlsx.body));
    assert_eq!(
        xlsx.header("content-type"),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    let sheets = read_xlsx(&xlsx.body);
    let report = &sheets["Tự đánh giá"];
    assert_eq!(
        report[0][0],
        "BÁO CÁO TỰ ĐÁNH GIÁ KẾT QUẢ THỰC HIỆN BỘ TIÊU CHÍ XÃ NÔNG THÔN MỚI"
    );
    assert!(report[1][0].contains("Xã Thử Nghiệm (mã 70001"), "{:?}", report[1]);
    let row = |id: &str| {
        report
            .iter()
            .find(|r| r[0] == id)
            .unwrap_or_else(|| panic!("row {id}"))
            .clone()
    };
    assert!(
        report[5][0].starts_with("Kết quả (tự đánh giá): ") && report[5][0].ends_with("hồ sơ: Đã thu hồi công nhận"),
        "{:?}",
        report[5]
    );
    let r11 = row("1.1");
    assert_eq!(&r11[3..8], ["Đạt", "Đạt", "Đạt", "Đạt", "Xã nhập"]);
    assert!(
        r11[8].contains("QĐ phê duyệt quy hoạch") && r11[8].contains("bien-ban.pdf"),
        "{r11:?}"
    );
    // The self-assessment and the appraisal side by side.
    let r21 = row("2.1");
    assert_eq!(
        (r21[3].as_str(), r21[5].as_str(), r21[6].as_str(), r21[7].as_str()),
        ("≥ 100%", "Chưa đạt", "Đạt", "Bản đồ agrimap")
    );
    assert_eq!(row("13")[1], "Tổ chức sản xuất và phát triển kinh tế nông thôn");
    assert_eq!(report[7][0], "TT");
    let table = &report[8..];
    let indicators = table.iter().filter(|r| r[1].is_empty()).count();
    assert_eq!((table.len() - indicators, indicators), (19, 56));
    let log = &sheets["Lịch sử hồ sơ"];
    assert_eq!(log.len(), 10);
    assert!(
        log[8][3].starts_with("Chuyển hồ sơ: Đã công nhận; quyết định số 1234/QĐ-UBND ngày 2025-12-20; mức Đạt chuẩn"),
        "{:?}",
        log[8]
    );
    // The printable page.
    let html = t.get(&format!("/api/ntm/scorecards/{COMMUNE}?year=2025&f=html"), &planner);
    assert_eq!(html.header("content-type"), Some("text/html; charset=utf-8"));
    let page = String::from_utf8_lossy(&html.body);
    assert!(
        page.contains("<b>Xã Thử Nghiệm</b>") && page.contains("<td>13.4</td>"),
        "{page}"
    );
    assert_eq!(
        t.get(&format!("/api/ntm/scorecards/{COMMUNE}?year=2025&f=pdf"), &planner)
            .error_code(),
        "bad_format"
    );
}

/// Every sheet of a workbook as rows of text.
fn read_xlsx(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<Vec<String>>> {
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    book.sheet_names()
        .into_iter()
        .map(|name| {
            let range = book.worksheet_range(&name).expect("sheet");
            let rows = range
                .rows()
                .map(|r| r.iter().map(ToString::to_string).collect())
                .collect();
            (name, rows)
        })
        .collect()
}

// One scenario from start to end: its steps read best in order.
#[allow(clippy::too_many_lines)]
fn the_dashboard_rolls_up_and_follows_changes(kind: StoreKind) {
    let t = Fresh::new(kind, "dashboard");
    let (editor, planner) = (t.token("editor", &[]), t.token("planner", &[]));
    let enter = |year: i32, indicator: &str| {
        let r = t.post(
            &format!("/api/ntm/scorecards/{COMMUNE}/indicators/{indicator}?year={year}"),
            &editor,
            &json!({"value": true}),
        );
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    };
    for (year, indicator) in [(2024, "1.1"), (2024, "1.2"), (2025, "1.1"), (2025, "1.2"), (2025, "7")] {
        enter(year, indicator);
    }
    // The pre-2025 commune it was made from, recognised in 2020, and the crosswalk between them.
    let old = feature(
        "admin_commune",
        polygon![(x: 105.0, y: 10.0), (x: 105.1, y: 10.0), (x: 105.1, y: 10.1), (x: 105.0, y: 10.0)].into(),
        &[
            ("code", text("60001")),
            ("name", text("Xã Cũ")),
            ("province_code", text("99")),
            ("boundary_set", text("pre-2025")),
            ("ntm_status", text("standard")),
            ("ntm_year", Value::Int(2020)),
        ],
    );
    let communes = LayerWrite {
        layer: layer("admin_commune").expect("layer"),
        replace: false,
        features: vec![old],
    };
    let store = t.server.store.clone();
    t.runtime
        .block_on(store.write(WriteBatch {
            layers: vec![communes],
            readings: vec![],
            ..Default::default()
        }))
        .expect("old commune");
    let pair = agrimap_store::CrosswalkPair {
        old_code: "60001".into(),
        old_name: "Xã Cũ".into(),
        new_province_code: "99".into(),
        new_province_name: "Tỉnh Thử".into(),
        new_code: COMMUNE.into(),
        new_name: "Xã Thử Nghiệm".into(),
        kind: agrimap_store::PairKind::Full,
    };
    t.runtime
        .block_on(store.replace_crosswalk(vec![pair]))
        .expect("crosswalk");
    let path = "/api/ntm/dashboard?province=99&year=2025";
    let reply = t.get(path, &planner);
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let d = reply.json();
    assert_eq!(
        (d["communes"].clone(), d["boundary_set"].clone()),
        (json!(1), json!("2025"))
    );
    assert_eq!(d["by_level"], json!({"not_yet": 1}));
    assert_eq!(d["by_state"], json!({"draft": 1}));
    // Criteria 1 and 7 are met by the values entered; in 2024 only criterion 1 was.
    assert_eq!(
        (d["criteria_met"].clone(), d["criteria_met_before"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(d["by_criteria_met"], json!({"2": 1}));
    let row = &d["rows"][0];
    assert_eq!(row["missing"].as_array().expect("missing").len(), 17);
    // A 2025 commune's history: the communes it was made from, with their recognition.
    assert_eq!(
        row["predecessors"],
        json!([{"code": "60001", "name": "Xã Cũ", "kind": "full", "ntm_status": "standard", "ntm_year": 2020}])
    );
    // 2 (roads) and 13 (traceability) are not met by the layers; the rest lack data.
    let most: Vec<(&str, i64, i64)> = d["most_missing"]
        .as_array()
        .expect("most missing")
        .iter()
        .take(3)
        .map(|m| {
            (
                m["criterion"].as_str().expect("id"),
                m["not_met"].as_i64().expect("n"),
                m["no_data"].as_i64().expect("n"),
            )
        })
        .collect();
    assert_eq!(most, [("13", 1, 0), ("2", 1, 0), ("10", 0, 1)]);
    assert_eq!(d["districts"], json!([]));
    let csv = t.get(&format!("{path}&f=csv"), &planner);
    let text = String::from_utf8_lossy(&csv.body).into_owned();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "code,name,district_code,ntm_status,ntm_year,dossier,criteria_met,criteria_total,criteria_met_before,missing"
        )
    );
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("70001,Xã Thử Nghiệm,,not_yet,,draft,2,19,1,2 3 4 5 6 8 9 10")),
        "{text}"
    );
    assert_eq!(lines.next(), None);
    let xlsx = t.get(&format!("{path}&f=xlsx"), &planner);
    let table = &read_xlsx(&xlsx.body)["Tổng hợp"];
    // A 2025 commune has no district: no such column; levels and states in words.
    assert!(table[0][0].contains("— Tỉnh Thử (mã 99)"), "{:?}", table[0]);
    assert_eq!(
        table[2][..6],
        [
            "Mã xã",
            "Tên xã",
            "Mức công nhận",
            "Năm công nhận",
            "Hồ sơ",
            "Số tiêu chí đạt"
        ]
    );
    assert_eq!(
        (
            table[3][0].as_str(),
            table[3][1].as_str(),
            table[3][2].as_str(),
            table[3][4].as_str(),
            table[3][5].as_str(),
            table[3][7].as_str()
        ),
        ("70001", "Xã Thử Nghiệm", "Chưa đạt chuẩn", "Đang lập", "2", "1")
    );

    // The planner map's choropleth of criteria met (planners only).
    assert_eq!(
        t.server.get("/styles/planner.json?layer=ntm&year=2025", &[]).status,
        401
    );
    let style = t.get("/styles/planner.json?layer=ntm&year=2025&province=99", &planner);
    assert_eq!(style.status, 200, "{}", String::from_utf8_lossy(&style.body));
    let style = style.json();
    let layer = style["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .find(|l| l["id"] == "commune-choropleth")
        .expect("choropleth");
    assert_eq!(
        layer["paint"]["fill-color"][2],
        json!(["match", ["get", "code"], COMMUNE, 2, 0])
    );
    assert_eq!(layer["metadata"]["agrimap:choropleth"]["max"], json!(19.0));
    assert_eq!(
        t.get("/styles/planner.json?layer=ntm", &planner).error_code(),
        "missing_year"
    );

    // Kept until a record it reads changes; then computed again.
    assert_eq!(t.get(path, &planner).json(), d);
    enter(2025, "6.1");
    enter(2025, "6.2");
    let r = t.post(
        &format!("/api/ntm/scorecards/{COMMUNE}/indicators/6.3?year=2025"),
        &editor,
        &json!({"value": 100}),
    );
    assert_eq!(r.json()["verdict"], "met");
    let changed = t.get(path, &planner).json();
    assert_eq!(changed["criteria_met"], json!(3));
    // A value against an indicator whose target the set lacks: no verdict.
    let r = t.post(
        &format!("/api/ntm/scorecards/{COMMUNE}/indicators/3.1?year=2025"),
        &editor,
        &json!({"value": 92.5, "comment": "Báo cáo thủy lợi 2025"}),
    );
    assert_eq!(
        (r.json()["value"].clone(), r.json()["verdict"].clone()),
        (json!(92.5), json!("no_target"))
    );
    // Bad input.
    assert_eq!(
        t.get("/api/ntm/dashboard?province=9x&year=2025", &planner).error_code(),
        "bad_province"
    );
    assert_eq!(
        t.get("/api/ntm/dashboard?province=87&year=2025", &planner).error_code(),
        "unknown_province"
    );
    assert_eq!(
        t.get("/api/ntm/dashboard?year=2025&f=pdf", &planner).error_code(),
        "bad_format"
    );
    assert_eq!(t.server.get(path, &[]).status, 401);
}

/// Runs `sql` straight on the store's database, as QGIS or psql would: the error's text, if any.
fn raw_sql(kind: StoreKind, place: &str, sql: &str) -> Option<String> {
    match kind {
        StoreKind::GeoPackage => rusqlite::Connection::open(place)
            .expect("open")
            .execute_batch(sql)
            .err()
            .map(|e| e.to_string()),
        StoreKind::PostGis => {
            agrimap_suite::on_database(place, async |c| c.batch_execute(sql).await.err()).map(|e| format!("{e:?}"))
        }
    }
}

fn the_history_cannot_be_rewritten_in_the_database(kind: StoreKind) {
    let t = Fresh::new(kind, "append_only");
    let (editor, planner) = (t.token("editor", &[]), t.token("planner", &[]));
    let r = t.post(
        &format!("/api/ntm/scorecards/{COMMUNE}/indicators/1.1?year=2025"),
        &editor,
        &json!({"value": true}),
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        t.post(
            &format!("/api/ntm/dossiers/{COMMUNE}/2025/transitions"),
            &editor,
            &json!({"to": "submitted"})
        )
        .status,
        201
    );
    for sql in [
        "UPDATE agrimap_ntm_entries SET value_pass = false",
        "DELETE FROM agrimap_ntm_entries",
        "UPDATE agrimap_ntm_moves SET to_state = 'recognised'",
        "DELETE FROM agrimap_ntm_moves",
    ] {
        let refused = raw_sql(kind, &t.place, sql).unwrap_or_else(|| panic!("{sql} was allowed"));
        assert!(refused.contains("append-only"), "{sql}: {refused}");
    }
    let history = t
        .get(&format!("/api/ntm/dossiers/{COMMUNE}/2025/history"), &planner)
        .json();
    assert_eq!(history["changes"].as_array().expect("changes").len(), 2);
    assert_eq!(history["changes"][0]["what"]["value"], true);
}

#[test]
fn the_history_cannot_be_rewritten_in_the_database_geopackage() {
    the_history_cannot_be_rewritten_in_the_database(StoreKind::GeoPackage);
}

#[test]
fn the_history_cannot_be_rewritten_in_the_database_postgis() {
    the_history_cannot_be_rewritten_in_the_database(StoreKind::PostGis);
}

#[test]
fn the_dashboard_rolls_up_and_follows_changes_geopackage() {
    the_dashboard_rolls_up_and_follows_changes(StoreKind::GeoPackage);
}

#[test]
fn the_dashboard_rolls_up_and_follows_changes_postgis() {
    the_dashboard_rolls_up_and_follows_changes(StoreKind::PostGis);
}

#[test]
fn sets_are_data_and_a_new_period_loads_without_code_geopackage() {
    sets_are_data_and_a_new_period_loads_without_code(StoreKind::GeoPackage);
}

#[test]
fn sets_are_data_and_a_new_period_loads_without_code_postgis() {
    sets_are_data_and_a_new_period_loads_without_code(StoreKind::PostGis);
}

#[test]
fn scorecards_are_computed_from_known_features_geopackage() {
    scorecards_are_computed_from_known_features(StoreKind::GeoPackage);
}

#[test]
fn scorecards_are_computed_from_known_features_postgis() {
    scorecards_are_computed_from_known_features(StoreKind::PostGis);
}

/// An admin holds every role's rights, but no token judges its own work:
/// one admin token cannot carry a dossier from draft to recognition alone.
fn no_token_appraises_or_recognises_its_own_dossier(kind: StoreKind) {
    let t = Fresh::new(kind, "four_eyes");
    let (admin, other_admin, planner) = (
        t.token("admin", &["99"]),
        t.token("admin", &[]),
        t.token("planner", &["99"]),
    );
    let moves = format!("/api/ntm/dossiers/{COMMUNE}/2025/transitions");
    assert_eq!(t.post(&moves, &admin, &json!({"to": "submitted"})).status, 201);
    let appraisal = json!({"to": "appraised", "verdicts": all_met(&t)});
    let own = t.post(&moves, &admin, &appraisal);
    assert_eq!((own.status, own.error_code().as_str()), (403, "forbidden"));
    assert_eq!(t.post(&moves, &planner, &appraisal).status, 201);
    let decision =
        json!({"to": "recognised", "decision_number": "7/QĐ-UBND", "decision_date": "2025-12-20", "level": "standard"});
    let own = t.post(&moves, &admin, &decision);
    assert_eq!((own.status, own.error_code().as_str()), (403, "forbidden"));
    assert_eq!(t.post(&moves, &other_admin, &decision).status, 201);
    let d = t.get("/api/ntm/dashboard?province=99&year=2025", &planner).json();
    // Recognised on an appraisal that found every criterion met, and counted so.
    assert_eq!(
        (
            d["by_state"].clone(),
            d["criteria_met"].clone(),
            d["rows"][0]["missing"].clone()
        ),
        (json!({"recognised": 1}), json!(19), json!([]))
    );
}

#[test]
fn no_token_appraises_or_recognises_its_own_dossier_geopackage() {
    no_token_appraises_or_recognises_its_own_dossier(StoreKind::GeoPackage);
}

#[test]
fn no_token_appraises_or_recognises_its_own_dossier_postgis() {
    no_token_appraises_or_recognises_its_own_dossier(StoreKind::PostGis);
}

#[test]
fn the_workflow_holds_each_role_to_its_moves_geopackage() {
    the_workflow_holds_each_role_to_its_moves(StoreKind::GeoPackage);
}

#[test]
fn the_workflow_holds_each_role_to_its_moves_postgis() {
    the_workflow_holds_each_role_to_its_moves(StoreKind::PostGis);
}

#[test]
fn the_cli_lists_sets_loads_a_file_and_prints_a_scorecard() {
    let dir = scratch_dir("ntm_cli");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::copy(agrimap_suite::shared_store_path(), data.join("agrimap.gpkg")).expect("copy");
    let agrimap = |args: &[&str]| {
        std::process::Command::new(agrimap_suite::agrimap_bin())
            .args(args)
            .args(["--data-dir", data.to_str().expect("utf-8")])
            .output()
            .expect("agrimap")
    };
    let out = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).into_owned();
    let sets = agrimap(&["ntm", "sets"]);
    assert!(sets.status.success(), "{}", String::from_utf8_lossy(&sets.stderr));
    assert!(
        out(&sets).contains("ntm-commune-2021-2025\tv1\tstandard\t2021–2025\t19 criteria, 56 indicators"),
        "{}",
        out(&sets)
    );
    assert!(
        out(&sets)
            .contains("ntm-advanced-commune-2021-2025\tv1\tadvanced\t2021–2025\t0 criteria, 0 indicators (incomplete)")
    );

    let card = agrimap(&["ntm", "scorecard", "33001", "--year", "2025"]);
    assert!(card.status.success(), "{}", String::from_utf8_lossy(&card.stderr));
    let text = out(&card);
    assert!(text.starts_with("33001 "), "{text}");
    assert!(text.contains("of 19 criteria met"), "{text}");
    assert!(text.contains("\n  13.4\t"), "{text}");
    let json = agrimap(&["ntm", "scorecard", "33001", "--year", "2025", "--json"]);
    let json: Json = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(json["criteria_total"], 19);

    // Bad input: a message and a non-zero exit.
    let bad_year = agrimap(&["ntm", "scorecard", "33001", "--year", "1890"]);
    assert!(!bad_year.status.success());
    assert!(String::from_utf8_lossy(&bad_year.stderr).contains("1890"));
    let broken = dir.join("broken.json");
    std::fs::write(&broken, br#"{"id": "x", "version": 0}"#).expect("write");
    let load = agrimap(&["ntm", "load", broken.to_str().expect("utf-8")]);
    assert!(!load.status.success());
    assert!(
        String::from_utf8_lossy(&load.stderr).contains("criteria set"),
        "{}",
        String::from_utf8_lossy(&load.stderr)
    );

    // A corrected version of the national set loads, and the scorecard uses it.
    let mut set: Json = serde_json::from_str(agrimap_model::ntm::SHIPPED[0].1).expect("shipped");
    set["version"] = json!(2);
    let file = dir.join("ntm-commune-2021-2025.v2.json");
    std::fs::write(&file, serde_json::to_vec(&set).expect("json")).expect("write");
    let load = agrimap(&["ntm", "load", file.to_str().expect("utf-8")]);
    assert!(load.status.success(), "{}", String::from_utf8_lossy(&load.stderr));
    assert!(out(&load).contains("criteria set ntm-commune-2021-2025 version 2 stored"));
    let sets = agrimap(&["ntm", "sets"]);
    assert!(out(&sets).contains("versions held: [1, 2]"), "{}", out(&sets));
}
