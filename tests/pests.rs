//! Light traps by pest species on both stores: species counts judged by
//! their own thresholds (an older client's plain `pest_count` still taken),
//! bad species and counts named and refused, the weekly pest bulletin of the
//! demo province in JSON, HTML, CSV and Excel against figures computed here
//! from the demo's own readings, and the pest-pressure choropleth of the
//! planner style.

use agrimap_core::tokens::issue_token;
use agrimap_model::calendar::format_timestamp;
use agrimap_model::{FeatureQuery, Reading, layer};
use agrimap_suite::{Reply, StoreKind, TestServer, alert_of, request_with_body};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

fn bearer(server: &TestServer, role: &str) -> String {
    let (_, secret) = block_on(issue_token(server.store.as_ref(), "pests test", role)).expect("token");
    format!("Bearer {secret}")
}

/// A time `hours` before now, as stations write it.
fn hours_ago(hours: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    format_timestamp(i64::try_from(now).expect("time") / 3600 * 3600 - hours * 3600)
}

fn trap(species: Option<&str>, value: f64, time: &str) -> Value {
    let mut r = json!({"parameter": "pest_count", "value": value, "unit": "insects", "time": time});
    if let Some(s) = species {
        r["species"] = json!(s);
    }
    r
}

const SPECIES: [&str; 6] = [
    "brown_planthopper",
    "white_backed_planthopper",
    "green_leafhopper",
    "rice_leaf_folder",
    "yellow_stem_borer",
    "rice_bug",
];

fn species_counts_are_judged_by_their_own_thresholds(kind: StoreKind) {
    let server = kind.demo_server("pests_thresholds");
    let editor = bearer(&server, "editor");
    let path = "/api/stations/IT-01/readings";
    let headers = [("authorization", editor.as_str())];
    // A quiet night: every species low, and the whole catch as an older
    // client sends it (no species), 600 insects: under the 1,000 of the default.
    let (night1, night2) = (hours_ago(30), hours_ago(6));
    let mut quiet: Vec<Value> = SPECIES.iter().map(|s| trap(Some(s), 10.0, &night1)).collect();
    quiet.push(trap(None, 600.0, &night1));
    let reply = server.post_json(path, &headers, &json!(quiet));
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.json()["stored"], 7);
    assert_eq!(reply.json()["alert_state"], "ok");

    // 600 leaf-folder moths the next night: an alarm (500) for that species,
    // where the default for the whole catch (1,000) would say ok.
    let mut flight: Vec<Value> = SPECIES.iter().map(|s| trap(Some(s), 10.0, &night2)).collect();
    flight[3] = trap(Some("rice_leaf_folder"), 600.0, &night2);
    flight.push(trap(None, 600.0, &night2));
    let reply = server.post_json(path, &headers, &json!(flight));
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let answer = reply.json();
    assert_eq!(answer["alert_state"], "alarm");
    assert_eq!(answer["alert_cause"]["parameter"], "pest_count:rice_leaf_folder");
    assert_eq!(answer["alert_cause"]["threshold"], 500.0);
    let alerts = server.get("/api/alerts", &[]).json();
    assert_eq!(
        alert_of(&alerts, "IT-01")["cause"]["parameter"],
        "pest_count:rice_leaf_folder"
    );

    // Each species is a series of its own, and the plain count is kept as it came.
    let series = server
        .get(
            &format!("/api/stations/IT-01/readings?parameter=pest_count:rice_leaf_folder&from={night1}"),
            &[],
        )
        .json();
    let values: Vec<f64> = series["readings"]
        .as_array()
        .expect("readings")
        .iter()
        .map(|r| r["value"].as_f64().expect("value"))
        .collect();
    assert_eq!(values, vec![10.0, 600.0]);
    let plain = server
        .get(
            &format!("/api/stations/IT-01/readings?parameter=pest_count&from={night1}"),
            &[],
        )
        .json();
    assert_eq!(plain["readings"].as_array().expect("readings").len(), 2);
}

fn unknown_species_and_negative_counts_are_named(kind: StoreKind) {
    let server = kind.demo_server("pests_bad");
    let editor = bearer(&server, "editor");
    let t = hours_ago(3);
    let batch = json!([
        trap(Some("brown_planthopper"), 120.0, &t),
        trap(Some("locust"), 5.0, &t),
        trap(Some("rice_bug"), -4.0, &t),
        {"parameter": "salinity", "species": "rice_bug", "value": 1.0, "unit": "ppt", "time": t},
        {"parameter": "pest_count:grasshopper", "value": 1.0, "unit": "insects", "time": t},
    ]);
    let reply = server.post_json("/api/stations/IT-02/readings", &[("authorization", &editor)], &batch);
    assert_eq!(reply.status, 422);
    assert_eq!(reply.error_code(), "bad_readings");
    let named: Vec<(u64, String)> = reply.json()["error"]["readings"]
        .as_array()
        .expect("readings")
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().expect("index"),
                r["error"].as_str().expect("message").to_owned(),
            )
        })
        .collect();
    assert_eq!(named.iter().map(|n| n.0).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    assert!(named[0].1.contains("unknown species 'locust'") && named[0].1.contains("brown_planthopper (Rầy nâu)"));
    assert!(named[1].1.contains("negative"), "{}", named[1].1);
    assert!(named[2].1.contains("pest_count only"), "{}", named[2].1);
    assert!(named[3].1.contains("unknown species 'grasshopper'"), "{}", named[3].1);

    // The same over CSV, each bad row named by its line.
    let csv = format!(
        "station_id,parameter,species,value,unit,time\n\
         IT-02,pest_count,brown_planthopper,120,insects,{t}\n\
         IT-02,pest_count,locust,5,insects,{t}\n\
         IT-02,pest_count,rice_bug,-4,insects,{t}\n\
         IT-02,pest_count,,300,insects,{t}\n"
    );
    let reply: Reply = request_with_body(
        "POST",
        &format!("{}/api/readings", server.base),
        &[("authorization", &editor), ("content-type", "text/csv")],
        csv.into_bytes(),
    );
    assert_eq!(reply.status, 422, "{}", String::from_utf8_lossy(&reply.body));
    let lines: Vec<u64> = reply.json()["error"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["line"].as_u64().expect("line"))
        .collect();
    assert_eq!(lines, vec![3, 4]);
}

/// The demo's sorted catch of one species in W47 (2026-11-16 to 22 in
/// Vietnam) and W46, by trap, read from the demo's own files.
struct DemoWeek {
    /// Trap id → commune code.
    traps: BTreeMap<String, String>,
    readings: Vec<Reading>,
}

impl DemoWeek {
    fn load(server: &TestServer) -> Self {
        let monitoring = layer("monitoring").expect("monitoring");
        let features = block_on(server.store.features(monitoring, &FeatureQuery::default())).expect("stations");
        let traps = features
            .iter()
            .filter(|f| monitoring.text_of(f, "kind") == Some("insect_trap"))
            .map(|f| {
                (
                    monitoring.text_of(f, "station_id").expect("id").to_owned(),
                    monitoring.text_of(f, "commune_code").expect("commune").to_owned(),
                )
            })
            .collect();
        let readings = agrimap_demo::read_readings(&agrimap_suite::demo_dir()).expect("demo readings");
        Self { traps, readings }
    }

    /// Values of a species in a commune (or everywhere) between two UTC times.
    fn values(&self, species: &str, commune: Option<&str>, from: &str, to: &str) -> Vec<f64> {
        let parameter = format!("pest_count:{species}");
        let (from, to) = (
            agrimap_model::UtcTime::parse(from).expect("from"),
            agrimap_model::UtcTime::parse(to).expect("to"),
        );
        self.readings
            .iter()
            .filter(|r| r.parameter == parameter && r.time >= from && r.time <= to)
            .filter(|r| {
                self.traps
                    .get(&r.station_id)
                    .is_some_and(|c| commune.is_none_or(|want| want == c))
            })
            .map(|r| r.value)
            .collect()
    }

    fn w47(&self, species: &str, commune: Option<&str>) -> Vec<f64> {
        self.values(species, commune, "2026-11-15T17:00:00Z", "2026-11-22T16:59:59Z")
    }

    fn w46(&self, species: &str, commune: Option<&str>) -> Vec<f64> {
        self.values(species, commune, "2026-11-08T17:00:00Z", "2026-11-15T16:59:59Z")
    }
}

fn mean1(values: &[f64]) -> f64 {
    (values.iter().sum::<f64>() / values.len() as f64 * 10.0).round() / 10.0
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::MIN, f64::max)
}

/// Every sheet of a workbook as rows of cells.
fn read_xlsx(bytes: &[u8]) -> Vec<Vec<calamine::Data>> {
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    let range = book.worksheet_range("Ban tin").expect("the bulletin's sheet");
    range.rows().map(<[calamine::Data]>::to_vec).collect()
}

// One bulletin read four ways: the checks read best side by side.
#[allow(clippy::too_many_lines)]
fn the_weekly_bulletin_gives_the_demo_week(kind: StoreKind) {
    let server = kind.demo_server("pests_bulletin");
    let demo = DemoWeek::load(&server);
    let path = "/api/bulletins/pests?province=99&week=2026-W47";
    let reply = server.get(path, &[]);
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let b = reply.json();
    assert_eq!(
        (b["week"].as_str(), b["from"].as_str(), b["to"].as_str()),
        (Some("2026-W47"), Some("2026-11-16"), Some("2026-11-22"))
    );
    assert_eq!(b["previous_week"], "2026-W46");
    assert_eq!(b["traps"], demo.traps.len());
    let bph = &b["species"][0];
    assert_eq!(
        (bph["code"].as_str(), bph["name_vi"].as_str()),
        (Some("brown_planthopper"), Some("Rầy nâu"))
    );

    // The whole province: every trap-night of the week, and the change on W46.
    let (all, before) = (demo.w47("brown_planthopper", None), demo.w46("brown_planthopper", None));
    // The demo's readings end at dawn on Saturday 21 November: six nights of eight traps.
    assert_eq!(all.len(), 6 * demo.traps.len());
    assert_eq!(bph["total"]["trap_nights"], all.len());
    assert_eq!(bph["total"]["mean"], mean1(&all));
    assert_eq!(bph["total"]["max"], max(&all));
    assert_eq!(bph["total"]["last_week_mean"], mean1(&before));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let change = ((mean(&all) - mean(&before)) / mean(&before) * 1000.0).round() / 10.0;
    assert_eq!(bph["total"]["change_percent"], change);
    assert!(change > 100.0, "the flight more than doubles the catch: {change}");
    // The figures of the demo as generated (seed 2025), to notice a changed generator.
    assert_eq!(
        (mean1(&all), max(&all), mean1(&before), change),
        (1_585.9, 6_022.0, 387.0, 309.8)
    );

    // The commune whose traps caught the most in the flight.
    let commune = bph["communes"]
        .as_array()
        .expect("communes")
        .iter()
        .max_by(|a, b| a["max"].as_f64().partial_cmp(&b["max"].as_f64()).expect("numbers"))
        .expect("a commune")
        .clone();
    let code = commune["code"].as_str().expect("code").to_owned();
    assert_eq!(
        (code.as_str(), commune["name"].as_str()),
        ("33015", Some("Thạnh Phước"))
    );
    let values = demo.w47("brown_planthopper", Some(&code));
    assert_eq!(commune["trap_nights"], values.len());
    assert_eq!(commune["mean"], mean1(&values));
    assert_eq!(commune["max"], max(&values));
    assert!(
        max(&values) >= 3_000.0,
        "the flight reaches the alarm somewhere: {}",
        max(&values)
    );
    assert_eq!(commune["state"], "alarm");
    let alarmed: Vec<&str> = bph["communes_on_alarm"]
        .as_array()
        .expect("alarm")
        .iter()
        .map(|c| c.as_str().expect("code"))
        .collect();
    assert!(alarmed.contains(&code.as_str()));
    // Each commune's state is its week's largest catch against the thresholds.
    for c in bph["communes"].as_array().expect("communes") {
        let m = max(&demo.w47("brown_planthopper", c["code"].as_str()));
        let state = if m >= 3_000.0 {
            "alarm"
        } else if m >= 1_000.0 {
            "watch"
        } else {
            "ok"
        };
        assert_eq!(c["state"], state, "{c}");
    }

    // CSV: the same figures, the commune's line under the species.
    let csv = server.get(&format!("{path}&f=csv"), &[]);
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").is_some_and(|t| t.starts_with("text/csv")));
    let text = String::from_utf8(csv.decoded_body()).expect("utf-8");
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rows.headers().expect("header").iter().map(str::to_owned).collect();
    let at = |name: &str| header.iter().position(|h| h == name).expect(name);
    let line = rows
        .records()
        .map(|r| r.expect("row"))
        .find(|r| r[at("species")] == *"brown_planthopper" && r[at("commune_code")] == *code)
        .expect("the commune's line");
    assert_eq!(
        line[at("mean_per_trap_night")].parse::<f64>().ok(),
        Some(mean1(&values))
    );
    assert_eq!(line[at("max_per_trap_night")].parse::<f64>().ok(), Some(max(&values)));
    assert_eq!(&line[at("state")], "alarm");
    assert_eq!(&line[at("name_vi")], "Rầy nâu");

    // HTML: Vietnamese first, the commune's row with its figures.
    let html = server.get(&format!("{path}&f=html"), &[]);
    assert_eq!(html.status, 200);
    let page = String::from_utf8(html.decoded_body()).expect("utf-8");
    assert!(page.contains("<html lang=\"vi\">"));
    assert!(page.contains("THÔNG BÁO TÌNH HÌNH SINH VẬT GÂY HẠI 7 NGÀY — Tuần 47/2026 (từ 16/11/2026 đến 22/11/2026)"));
    let section = &page[page.find("<section id=\"brown_planthopper\">").expect("section")..];
    let row = &section[section.find(&format!("data-commune=\"{code}\"")).expect("row")..];
    let row = &row[..row.find("</tr>").expect("row end")];
    assert!(
        row.contains(&format!("<td class=\"n mean\">{}</td>", mean1(&values))),
        "{row}"
    );
    assert!(
        row.contains(&format!("<td class=\"n max\">{}</td>", max(&values))),
        "{row}"
    );
    assert!(row.contains("Báo động"), "{row}");

    // Excel: read back, numbers as numbers.
    let xlsx = server.get(&format!("{path}&f=xlsx"), &[]);
    assert_eq!(xlsx.status, 200);
    let sheet = read_xlsx(&xlsx.decoded_body());
    let title = sheet[0][0].to_string();
    assert!(
        title.starts_with("THÔNG BÁO TÌNH HÌNH SINH VẬT GÂY HẠI 7 NGÀY"),
        "{title}"
    );
    // The first species block is the brown planthopper's: its commune row.
    let first_block_end = sheet
        .iter()
        .position(|r| r[0].to_string().starts_with("Rầy lưng trắng"))
        .expect("second species");
    let xrow = sheet[..first_block_end]
        .iter()
        .find(|r| r[1].to_string() == code)
        .expect("the commune's row");
    assert_eq!(xrow[3], calamine::Data::Float(values.len() as f64));
    assert_eq!(xrow[4], calamine::Data::Float(mean1(&values)));
    assert_eq!(xrow[5], calamine::Data::Float(max(&values)));
    assert_eq!(xrow[8].to_string(), "Báo động");

    // One commune's bulletin holds that commune's lines only.
    let one = server.get(&format!("{path}&commune={code}"), &[]).json();
    assert_eq!(one["species"][0]["communes"].as_array().expect("communes").len(), 1);
    assert_eq!(one["species"][0]["total"]["mean"], mean1(&values));
}

fn the_planner_map_colours_communes_by_pest_pressure(kind: StoreKind) {
    let server = kind.demo_server("pests_choropleth");
    let bulletin = server.get("/api/bulletins/pests?province=99&week=2026-W47", &[]).json();
    let style = server
        .get("/styles/planner.json?layer=pests&province=99&week=2026-W47", &[])
        .json();
    let layer = style["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .find(|l| l["id"] == "commune-choropleth")
        .expect("choropleth layer")
        .clone();
    let meta = &layer["metadata"]["agrimap:choropleth"];
    assert_eq!(meta["layer"], "pests");
    assert_eq!(meta["week"], "2026-W47");
    assert_eq!(meta["provinces"], json!(["99"]));
    // code → colour, from the style's match expression.
    let m = layer["paint"]["fill-color"].as_array().expect("a match").clone();
    assert_eq!(m[0], "match");
    let colours: BTreeMap<String, String> = m[2..m.len() - 1]
        .chunks(2)
        .map(|p| {
            (
                p[0].as_str().expect("code").to_owned(),
                p[1].as_str().expect("colour").to_owned(),
            )
        })
        .collect();
    // The worst state over species of each commune with traps, as the bulletin says.
    let mut worst: BTreeMap<String, u8> = BTreeMap::new();
    for s in bulletin["species"].as_array().expect("species") {
        for c in s["communes"].as_array().expect("communes") {
            let rank = match c["state"].as_str() {
                Some("alarm") => 2,
                Some("watch") => 1,
                _ => 0,
            };
            let w = worst.entry(c["code"].as_str().expect("code").to_owned()).or_default();
            *w = (*w).max(rank);
        }
    }
    assert_eq!(colours.len(), worst.len());
    for (code, rank) in &worst {
        let want = ["#a1d99b", "#fdae6b", "#de2d26"][usize::from(*rank)];
        assert_eq!(colours[code], want, "{code}");
    }
    assert!(worst.values().any(|r| *r == 2), "the flight puts a commune on alarm");
    assert_eq!(
        m[m.len() - 1],
        "rgba(0,0,0,0)",
        "communes without traps stay uncoloured"
    );

    // Without a week or a province: the newest week any trap reported, every province.
    let newest = server.get("/styles/planner.json?layer=pests", &[]).json();
    let newest_layer = newest["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .find(|l| l["id"] == "commune-choropleth")
        .expect("layer")
        .clone();
    assert_eq!(newest_layer["paint"]["fill-color"], layer["paint"]["fill-color"]);
    assert_eq!(newest_layer["metadata"]["agrimap:choropleth"]["week"], "2026-W47");

    // One species: the rice bug's quiet week colours every trap's commune green.
    let bug = server
        .get(
            "/styles/planner.json?layer=pests&province=99&week=2026-W47&species=rice_bug",
            &[],
        )
        .json();
    let bug_layer = bug["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .find(|l| l["id"] == "commune-choropleth")
        .expect("layer")
        .clone();
    let bug_states = bug_layer["metadata"]["agrimap:choropleth"]["states"]
        .as_object()
        .expect("states")
        .clone();
    assert_eq!(bug_states.len(), worst.len());
    assert!(bug_states.values().all(|s| s == "ok"), "{bug_states:?}");
    let unknown = server.get("/styles/planner.json?layer=pests&province=99&species=locust", &[]);
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.error_code(), "unknown_species");
}

/// A province's rule for the brown planthopper while the rice flowers (when
/// a flight does most harm), with its sowing calendar: the commune sown on
/// 10 September flowers through week 47.
fn a_stage_rule_holds_while_the_rice_is_at_that_stage(kind: StoreKind) {
    let rules = r#"{"rules": [{"parameter": "pest_count", "species": "brown_planthopper", "crop_stage": "flowering",
                              "direction": "above", "watch": 500, "alarm": 1000, "commune_code": "33042"}],
                   "crop_calendar": [{"commune_code": "33042", "sown_on": "2026-09-10", "season": "thu_dong"}]}"#;
    let config = agrimap_server::ServerConfig {
        thresholds: agrimap_model::readings::thresholds_with(rules).expect("rules"),
        ..agrimap_server::ServerConfig::default()
    };
    let server = kind.demo_server_with("pests_stage", config);
    let bulletin = server.get("/api/bulletins/pests?province=99&week=2026-W47", &[]).json();
    let bph = &bulletin["species"][0];
    let binh_thuan = bph["communes"]
        .as_array()
        .expect("communes")
        .iter()
        .find(|c| c["code"] == "33042")
        .expect("33042")
        .clone();
    // 2,247 at most: watch by the species' default (1,000 / 3,000), alarm at flowering.
    assert_eq!(binh_thuan["max"], 2_247.0);
    assert_eq!(binh_thuan["state"], "alarm");
    assert!(bph["communes_on_watch"].as_array().expect("watch").is_empty());

    // A trap of the commune reports 800 on a night of day 77 after sowing.
    let traps = DemoWeek::load(&server).traps;
    let trap_id = traps
        .iter()
        .find(|(_, c)| *c == "33042")
        .expect("a trap in 33042")
        .0
        .clone();
    let editor = bearer(&server, "editor");
    let night = "2026-11-25T23:00:00Z";
    let batch: Vec<Value> = SPECIES
        .iter()
        .map(|s| trap(Some(s), if *s == "brown_planthopper" { 800.0 } else { 5.0 }, night))
        .collect();
    let reply = server.post_json(
        &format!("/api/stations/{trap_id}/readings"),
        &[("authorization", &editor)],
        &json!(batch),
    );
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.json()["alert_state"], "watch");
    assert_eq!(reply.json()["alert_cause"]["threshold"], 500.0);
}

fn bad_bulletin_requests_are_named(kind: StoreKind) {
    let server = kind.demo_server("pests_bulletin_bad");
    for (query, code) in [
        ("province=99&week=2026-47", "bad_week"),
        ("province=99&week=2026-W54", "bad_week"),
        ("province=99&week=yesterday", "bad_week"),
        ("province=98&week=2026-W47", "unknown_province"),
        ("province=nine&week=2026-W47", "bad_province"),
        ("week=2026-W47", "bad_province"),
        ("province=99&week=2026-W47&commune=00001", "unknown_commune"),
        ("province=99&week=2026-W47&f=pdf", "bad_format"),
        ("province=99&week=2026-W47&colour=red", "bad_query"),
    ] {
        let reply = server.get(&format!("/api/bulletins/pests?{query}"), &[]);
        assert_eq!(reply.status, 400, "{query}: {}", String::from_utf8_lossy(&reply.body));
        assert_eq!(reply.error_code(), code, "{query}");
    }
}

agrimap_suite::store_suite!(
    species_counts_are_judged_by_their_own_thresholds,
    unknown_species_and_negative_counts_are_named,
    the_weekly_bulletin_gives_the_demo_week,
    the_planner_map_colours_communes_by_pest_pressure,
    bad_bulletin_requests_are_named,
    a_stage_rule_holds_while_the_rice_is_at_that_stage,
);
