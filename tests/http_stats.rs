//! Province-wide statistics over HTTP (`/api/stats`) on both stores, and the
//! engine's areas against PostGIS's own `ST_Area(ST_Intersection(…)::geography)`.

use agrimap_analysis::area::polygon_ha;
use agrimap_core::tokens::issue_token;
use agrimap_model::{Feature, Value, layer};
use agrimap_store::{LayerWrite, WriteBatch};
use agrimap_suite::{PgDatabase, StoreKind, TestServer, on_database};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// `(code, class) → value` of a stats answer.
fn by_code_and_class(answer: &Json) -> BTreeMap<(String, String), f64> {
    answer["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                (
                    r["code"].as_str().expect("code").to_owned(),
                    r["class"].as_str().unwrap_or("").to_owned(),
                ),
                r["value"].as_f64().expect("value"),
            )
        })
        .collect()
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

fn stats(server: &TestServer, query: &str) -> Json {
    let reply = server.get(&format!("/api/stats?{query}"), &[]);
    assert_eq!(reply.status, 200, "{query}: {}", String::from_utf8_lossy(&reply.body));
    reply.json()
}

/// Area by commune and class (an SQL expression over the layer `f`) as
/// PostGIS computes it on the ellipsoid.
fn postgis_areas(url: &str, layer: &str, class: &str) -> BTreeMap<(String, String), f64> {
    on_database(url, async |client| {
        let sql = format!(
            "SELECT c.code, ({class})::text, sum(ST_Area(ST_Intersection(f.geom, c.geom)::geography)) / 10000
             FROM {layer} f JOIN admin_commune c ON ST_Intersects(f.geom, c.geom) GROUP BY 1, 2"
        );
        client
            .query(&sql, &[])
            .await
            .expect("query")
            .iter()
            .map(|r| ((r.get(0), r.get(1)), r.get(2)))
            .collect()
    })
}

#[test]
fn areas_by_commune_and_class_agree_with_postgis_within_a_thousandth() {
    let db = PgDatabase::demo("stats_match_postgis");
    let pg = TestServer::start(Arc::new(db.store()));
    let gpkg = TestServer::demo();
    // A growing-area code past its expiry counts as expired from the day it lapses.
    let today = agrimap_core::registry::today();
    let status_today =
        format!("CASE WHEN f.status = 'active' AND f.expires_on < DATE '{today}' THEN 'expired' ELSE f.status END");
    for (layer, class, class_sql) in [
        ("crop", "crop_type", "f.crop_type".to_owned()),
        ("aquaculture", "species", "f.species".to_owned()),
        ("growing_area", "status", status_today),
    ] {
        let query = format!("layer={layer}&by=commune&class={class}&metric=area");
        let ours = by_code_and_class(&stats(&pg, &query));
        let theirs = postgis_areas(&db.url, layer, &class_sql);
        let keys: std::collections::BTreeSet<_> = ours.keys().chain(theirs.keys()).collect();
        let mut worst = 0.0_f64;
        for key in &keys {
            let (a, b) = (
                ours.get(*key).copied().unwrap_or(0.0),
                theirs.get(*key).copied().unwrap_or(0.0),
            );
            // Under ten square metres both engines see only rounding slivers at shared edges.
            if a.max(b) < 1e-3 {
                continue;
            }
            let relative = (a - b).abs() / a.max(b);
            worst = worst.max(relative);
            assert!(relative < 1e-3, "{layer} {key:?}: ours {a} ha, PostGIS {b} ha");
        }
        eprintln!(
            "{layer} by commune and {class}: {} cells, worst difference {worst:.2e}",
            keys.len()
        );
        // The embedded store holds the same province and must give the same table.
        let embedded = by_code_and_class(&stats(&gpkg, &query));
        assert_eq!(embedded.keys().collect::<Vec<_>>(), ours.keys().collect::<Vec<_>>());
        for (key, v) in &ours {
            assert!((embedded[key] - v).abs() <= 1e-9 * v.max(1.0), "{layer} {key:?}");
        }
    }
}

/// `(code, class values joined by '|') → values` of a stats answer.
fn cells(answer: &Json) -> BTreeMap<(String, String), Vec<f64>> {
    answer["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let classes: Vec<&str> = r["classes"]
                .as_array()
                .map(|c| c.iter().map(|v| v.as_str().expect("class")).collect())
                .unwrap_or_default();
            let values = r["values"]
                .as_array()
                .expect("values")
                .iter()
                .map(|v| v.as_f64().expect("value"))
                .collect();
            (
                (r["code"].as_str().expect("code").to_owned(), classes.join("|")),
                values,
            )
        })
        .collect()
}

/// Rice and other crops of the winter–spring season sown in 2026, by commune,
/// crop type and practice, in area and count: the question planners ask.
const WINTER_SPRING: &str = "layer=crop&by=commune&class=crop_type,practice&metric=area,count\
    &filter=season%3D%27dong_xuan%27&datetime=2026-01-01/2026-12-31";

/// The same cells from PostGIS: the area of each parcel's part in each
/// commune, and each parcel counted once, in the commune holding its largest part.
fn postgis_winter_spring(url: &str) -> BTreeMap<(String, String), Vec<f64>> {
    on_database(url, async |client| {
        let sql = "WITH parts AS (
               SELECT f.fid, c.code, f.crop_type, f.practice,
                      ST_Area(ST_Intersection(f.geom, c.geom)::geography) / 10000 AS ha
               FROM crop f JOIN admin_commune c ON ST_Intersects(f.geom, c.geom)
               WHERE f.season = 'dong_xuan' AND f.planting_date BETWEEN DATE '2026-01-01' AND DATE '2026-12-31'),
             largest AS (SELECT DISTINCT ON (fid) fid, code FROM parts ORDER BY fid, ha DESC)
             SELECT p.code, p.crop_type || '|' || coalesce(p.practice, ''), sum(p.ha),
                    count(*) FILTER (WHERE l.code IS NOT NULL)::float8
             FROM parts p LEFT JOIN largest l ON l.fid = p.fid AND l.code = p.code
             GROUP BY 1, 2";
        client
            .query(sql, &[])
            .await
            .expect("query")
            .iter()
            .map(|r| ((r.get(0), r.get(1)), vec![r.get(2), r.get(3)]))
            .collect()
    })
}

#[test]
fn a_filtered_cross_tabulation_agrees_with_postgis_cell_by_cell() {
    let db = PgDatabase::demo("stats_crosstab_match_postgis");
    let pg = TestServer::start(Arc::new(db.store()));
    let gpkg = TestServer::demo();
    let answer = stats(&pg, WINTER_SPRING);
    assert_eq!(answer["classes"], serde_json::json!(["crop_type", "practice"]));
    assert_eq!(answer["metrics"][1]["name"], "count");
    assert_eq!(answer["filter"], "season='dong_xuan'");
    let ours = cells(&answer);
    let theirs = postgis_winter_spring(&db.url);
    assert!(ours.len() > 100, "{} cells", ours.len());
    let keys: std::collections::BTreeSet<_> = ours.keys().chain(theirs.keys()).collect();
    for key in &keys {
        let none = vec![0.0, 0.0];
        let (a, b) = (ours.get(*key).unwrap_or(&none), theirs.get(*key).unwrap_or(&none));
        if a[0].max(b[0]) >= 1e-3 {
            let relative = (a[0] - b[0]).abs() / a[0].max(b[0]);
            assert!(relative < 1e-3, "{key:?}: ours {} ha, PostGIS {} ha", a[0], b[0]);
        }
        assert!(
            (a[1] - b[1]).abs() < 0.5,
            "{key:?}: ours {} parcels, PostGIS {}",
            a[1],
            b[1]
        );
    }
    // The filter selected: no cell of another season's crops, and fewer
    // parcels than the whole layer.
    let selected: f64 = ours.values().map(|v| v[1]).sum();
    let all = stats(&pg, "layer=crop&metric=count")["total"].as_f64().expect("total");
    assert!(selected > 1_000.0 && selected < all / 2.0, "{selected} of {all}");
    assert_eq!(
        ours.keys().filter(|(_, c)| c.starts_with("mango|")).count(),
        0,
        "mango is perennial"
    );
    // `agrimap stats` asks the same question of the store directly.
    let cli = std::process::Command::new(agrimap_suite::agrimap_bin())
        .args([
            "stats",
            "--database",
            &db.url,
            "--layer",
            "crop",
            "--class",
            "crop_type,practice",
        ])
        .args(["--metric", "area,count", "--filter", "season='dong_xuan'"])
        .args(["--datetime", "2026-01-01/2026-12-31", "--format", "json"])
        .output()
        .expect("agrimap stats");
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    let from_cli = cells(&serde_json::from_slice(&cli.stdout).expect("json"));
    // The same cells; sums equal but for the order of additions across threads.
    assert_eq!(from_cli.keys().collect::<Vec<_>>(), ours.keys().collect::<Vec<_>>());
    for (key, v) in &ours {
        assert!((from_cli[key][0] - v[0]).abs() <= 1e-9 * v[0].max(1.0), "{key:?}");
        assert!((from_cli[key][1] - v[1]).abs() < 0.5, "{key:?}");
    }
    // The embedded store gives the same table.
    let embedded = cells(&stats(&gpkg, WINTER_SPRING));
    assert_eq!(embedded.keys().collect::<Vec<_>>(), ours.keys().collect::<Vec<_>>());
    for (key, v) in &ours {
        assert!((embedded[key][0] - v[0]).abs() <= 1e-9 * v[0].max(1.0), "{key:?}");
        assert!((embedded[key][1] - v[1]).abs() < 0.5, "{key:?}");
    }
}

/// `per=`: each value over its unit's area, farmland or population.
fn ratios_per_unit(kind: StoreKind) {
    let server = kind.demo_server("stats_per_unit");
    let commune = |code: &str| server.get(&format!("/api/communes/{code}"), &[]).json();
    let area = stats(&server, "layer=aquaculture&metric=area&per=commune_area");
    assert_eq!(area["per"], serde_json::json!({"by": "commune_area", "unit": "ha"}));
    let crop = by_code_and_class(&stats(&server, "layer=crop&metric=area"));
    let ponds = by_code_and_class(&stats(&server, "layer=aquaculture&metric=area"));
    let farmland = stats(&server, "layer=crop&class=practice&metric=area&per=farmland");
    let people = stats(&server, "layer=ocop&metric=count&per=population");
    let mut checked = 0;
    for row in area["rows"].as_array().expect("rows") {
        let code = row["code"].as_str().expect("code");
        let commune = commune(code);
        // The denominator is the commune's own area on the ellipsoid.
        let ha = commune["area_ha"].as_f64().expect("area_ha");
        let denominator = row["denominator"].as_f64().expect("denominator");
        assert!(
            (denominator - ha).abs() < 1e-3 * ha,
            "{code}: {denominator} ha, commune {ha} ha"
        );
        let ratio = row["ratios"][0].as_f64().expect("ratio");
        assert!((ratio - row["value"].as_f64().expect("value") / denominator).abs() < 1e-12);
        assert!(
            ratio > 0.0 && ratio <= 1.0,
            "{code}: ponds cover {ratio} of the commune"
        );
        checked += 1;
    }
    assert!(checked > 10, "{checked} communes");
    // Farmland is the commune's crop parcels and ponds.
    for row in farmland["rows"].as_array().expect("rows") {
        let code = row["code"].as_str().expect("code").to_owned();
        let key = (code.clone(), String::new());
        let expected = crop.get(&key).copied().unwrap_or(0.0) + ponds.get(&key).copied().unwrap_or(0.0);
        let denominator = row["denominator"].as_f64().expect("denominator");
        assert!(
            (denominator - expected).abs() < 1e-6 * expected.max(1.0),
            "{code}: {denominator} vs {expected}"
        );
    }
    // Population: the communes' residents.
    for row in people["rows"].as_array().expect("rows") {
        let code = row["code"].as_str().expect("code");
        let commune = commune(code);
        assert_eq!(row["denominator"].as_f64(), commune["population"].as_f64(), "{code}");
    }
}

/// A planner may filter on a restricted field; the public is told the field does not exist.
fn restricted_filters_are_for_planners(kind: StoreKind) {
    let server = kind.demo_server("stats_restricted_filter");
    let query = "/api/stats?layer=crop&metric=count&filter=owner_name%20LIKE%20%27Phan%25%27";
    let public = server.get(query, &[]);
    assert_eq!(public.status, 400);
    assert_eq!(public.error_code(), "bad_filter");
    let (_, secret) = block_on(issue_token(server.store.as_ref(), "stats test", "planner")).expect("token");
    let planner = server.get(query, &[("authorization", &format!("Bearer {secret}"))]);
    assert_eq!(planner.status, 200, "{}", String::from_utf8_lossy(&planner.body));
    let total = planner.json()["total"].as_f64().expect("total");
    let all = stats(&server, "layer=crop&metric=count")["total"]
        .as_f64()
        .expect("total");
    assert!(
        total > 0.0 && total < all / 5.0,
        "{total} of {all} parcels held by a Phan"
    );
}

/// The table as a workbook: the question above, Vietnamese headers, numbers as numbers.
fn the_table_downloads_as_excel(kind: StoreKind) {
    use calamine::{Data, Reader, Xlsx};
    let server = kind.demo_server("stats_xlsx");
    let json = stats(
        &server,
        "layer=crop&class=crop_type,practice&metric=area,count&per=commune_area",
    );
    let reply = server.get(
        "/api/stats?layer=crop&class=crop_type,practice&metric=area,count&per=commune_area&f=xlsx",
        &[],
    );
    assert_eq!(reply.status, 200);
    assert!(reply.header("content-disposition").is_some_and(|d| d.contains(".xlsx")));
    let mut book = Xlsx::new(std::io::Cursor::new(reply.body)).expect("xlsx");
    let sheet = book.worksheet_range_at(0).expect("sheet").expect("range");
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert!(
        rows[0][0]
            .to_string()
            .starts_with("Cây trồng — Diện tích, Số lượng theo xã"),
        "{}",
        rows[0][0]
    );
    let head = rows.iter().position(|r| r[0] == "Mã xã").expect("header row");
    assert_eq!(rows[head][2].to_string(), "Loại cây trồng");
    assert_eq!(rows[head + 1][2].to_string(), "crop_type");
    let first = &json["rows"][0];
    let line = rows[head + 2];
    assert_eq!(line[0].to_string(), first["code"].as_str().expect("code"));
    assert_eq!(line[3].to_string(), first["classes"][1].as_str().expect("practice"));
    let Data::Float(area) = line[4] else {
        panic!("area is a number: {:?}", line[4])
    };
    assert!((area - first["values"][0].as_f64().expect("area")).abs() < 1e-9);
    let Data::Float(ratio) = line[8] else {
        panic!("ratio is a number: {:?}", line[8])
    };
    assert!((ratio - first["ratios"][0].as_f64().expect("ratio")).abs() < 1e-9);
    let total_row = rows.iter().find(|r| r[0] == "Tổng cộng / Total").expect("total row");
    let Data::Float(total) = total_row[4] else {
        panic!("total is a number")
    };
    assert!((total - json["total"].as_f64().expect("total")).abs() < 1e-6);
}

/// Parcel PS-0015193 was rice until 2025-01-01 and is pomelo from 2025-01-02
/// in the demo's history (see tests/history.rs).
const CHANGED: &str = "filter=parcel_id%3D%27PS-0015193%27&class=crop_type&metric=count";

fn crop_types(answer: &Json) -> Vec<(String, String)> {
    answer["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["period"].as_str().unwrap_or("").to_owned(),
                r["class"].as_str().expect("class").to_owned(),
            )
        })
        .collect()
}

/// `as_of` and `group`: the layer as it stood, and a table per year or season.
fn statistics_read_the_past(kind: StoreKind) {
    let server = kind.demo_server("stats_as_of");
    let total = |q: &str| stats(&server, &format!("layer=crop&by=province&metric=count{q}"))["total"].as_f64();
    assert_eq!(total(""), Some(60_000.0));
    assert_eq!(total("&as_of=2024-01-01"), Some(60_325.0));
    let before = stats(&server, &format!("layer=crop&{CHANGED}&as_of=2025-01-01"));
    assert_eq!(before["as_of"], "2025-01-01T23:59:59Z");
    assert_eq!(crop_types(&before), [(String::new(), "rice".to_owned())]);
    let after = stats(&server, &format!("layer=crop&{CHANGED}&as_of=2025-01-02"));
    assert_eq!(crop_types(&after), [(String::new(), "pomelo".to_owned())]);

    let years = stats(&server, &format!("layer=crop&{CHANGED}&group=year&from=2024"));
    assert_eq!(years["group"], "year");
    // No total across years (a stock summed over years means nothing): each period has its own.
    assert!(years.get("total").is_none(), "{years}");
    assert!(
        years["periods"][0]["totals"].as_array().is_some_and(|t| !t.is_empty()),
        "{years}"
    );
    let periods: Vec<&str> = years["periods"]
        .as_array()
        .expect("periods")
        .iter()
        .map(|p| p["period"].as_str().expect("period"))
        .collect();
    assert_eq!(periods, ["2024", "2025", "2026"]);
    let by_year: Vec<(String, String)> = ["2024", "2025", "2026"]
        .iter()
        .zip(["rice", "pomelo", "pomelo"])
        .map(|(y, c)| ((*y).to_owned(), c.to_owned()))
        .collect();
    assert_eq!(crop_types(&years), by_year);
    // Seasons: the winter–spring of 2025 ended after the change.
    let seasons = stats(&server, &format!("layer=crop&{CHANGED}&group=season&from=2025"));
    let rows = crop_types(&seasons);
    assert_eq!(rows[0], ("2025-dong_xuan".to_owned(), "pomelo".to_owned()));
    assert_eq!(seasons["periods"].as_array().map(Vec::len), Some(6));
    // A period column in CSV.
    let csv = server.get(
        &format!("/api/stats?layer=crop&{CHANGED}&group=year&from=2024&f=csv"),
        &[],
    );
    let text = String::from_utf8(csv.body).expect("utf-8");
    assert!(text.starts_with("period,code,name,crop_type,"), "{text}");
    assert!(
        text.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("2024,") && l.contains(",rice,")),
        "{text}"
    );

    for (query, code) in [
        ("layer=crop&as_of=2099-01-01", "bad_as_of"),
        ("layer=crop&as_of=yesterday", "bad_as_of"),
        ("layer=monitoring&as_of=2025-01-01", "bad_as_of"),
        ("layer=crop&group=month", "bad_group"),
        ("layer=crop&group=year&as_of=2025-01-01", "bad_group"),
        ("layer=crop&group=year&from=2030", "bad_from"),
    ] {
        let reply = server.get(&format!("/api/stats?{query}"), &[]);
        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(reply.error_code(), code, "{query}");
    }
}

fn tables_add_up_across_levels(kind: StoreKind) {
    let server = kind.demo_server("stats_tables_add_up");
    let manifest = agrimap_demo::read_manifest(&agrimap_suite::demo_dir()).expect("manifest");
    let count = stats(&server, "layer=crop&by=commune&metric=count");
    let parcels = manifest.counts["crop"] as f64;
    // Every parcel lies in the province, and counts once.
    assert!(
        (count["total"].as_f64().expect("total") - parcels).abs() < 0.5,
        "{}",
        count["total"]
    );
    assert_eq!(count["unit"], "features");

    let communes = stats(&server, "layer=crop&by=commune&class=crop_type&metric=area");
    let districts = stats(&server, "layer=crop&by=district&class=crop_type&metric=area");
    let province = stats(&server, "layer=crop&by=province&metric=area");
    let total = communes["total"].as_f64().expect("total");
    assert!(
        total > 1_000.0,
        "the demo province grows crops on thousands of hectares: {total}"
    );
    for other in [&districts, &province] {
        assert!((other["total"].as_f64().expect("total") - total).abs() < 1e-6 * total);
    }
    assert_eq!(province["rows"].as_array().expect("rows").len(), 1);
    assert_eq!(communes["unit"], "ha");
    // Each district is the sum of its communes.
    let list = server.get("/api/communes?limit=50&offset=0", &[]).json();
    let mut district_of = BTreeMap::new();
    let mut offset = 0;
    let total_communes = list["total"].as_u64().expect("total");
    while offset < total_communes {
        let page = server
            .get(&format!("/api/communes?limit=50&offset={offset}"), &[])
            .json();
        for c in page["communes"].as_array().expect("communes") {
            district_of.insert(
                c["code"].as_str().expect("code").to_owned(),
                c["district_code"].as_str().expect("district").to_owned(),
            );
        }
        offset += 50;
    }
    let mut summed: BTreeMap<(String, String), f64> = BTreeMap::new();
    for ((code, class), v) in by_code_and_class(&communes) {
        *summed.entry((district_of[&code].clone(), class)).or_default() += v;
    }
    let district_rows = by_code_and_class(&districts);
    assert_eq!(
        summed.keys().collect::<Vec<_>>(),
        district_rows.keys().collect::<Vec<_>>()
    );
    for (key, v) in &summed {
        assert!((district_rows[key] - v).abs() < 1e-6 * v.max(1.0), "{key:?}");
    }
    // Rows carry names.
    assert!(
        communes["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .all(|r| !r["name"].as_str().unwrap_or("").is_empty())
    );
}

fn csv_answer_matches_json(kind: StoreKind) {
    let server = kind.demo_server("stats_csv");
    let json = stats(&server, "layer=ocop&by=district&class=stars&metric=count");
    let csv = server.get("/api/stats?layer=ocop&by=district&class=stars&metric=count&f=csv", &[]);
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap_or("").starts_with("text/csv"));
    let text = String::from_utf8(csv.decoded_body()).expect("utf-8");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("code,name,stars,count (features),features"));
    let rows: Vec<&str> = lines.collect();
    let json_rows = json["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), json_rows.len());
    for (line, row) in rows.iter().zip(json_rows) {
        assert!(
            line.starts_with(&format!("{},", row["code"].as_str().expect("code"))),
            "{line}"
        );
        assert!(line.ends_with(&format!(",{}", row["features"])), "{line}");
    }
    let manifest = agrimap_demo::read_manifest(&agrimap_suite::demo_dir()).expect("manifest");
    assert!((json["total"].as_f64().expect("total") - manifest.counts["ocop"] as f64).abs() < 0.5);
}

fn bad_input_names_the_valid_values(kind: StoreKind) {
    let server = kind.demo_server("stats_bad_input");
    for (query, status, code, names) in [
        ("layer=roads&metric=count", 404, "unknown_layer", "crop"),
        ("layer=nope", 404, "unknown_layer", "aquaculture"),
        ("metric=area", 400, "bad_layer", "crop"),
        ("layer=crop&by=hamlet", 400, "bad_by", "district"),
        ("layer=crop&class=owner_name", 400, "bad_class", "crop_type"),
        ("layer=crop&class=colour", 400, "bad_class", "season"),
        ("layer=crop&metric=volume", 400, "bad_metric", "sum:area_ha"),
        ("layer=ocop&metric=area", 400, "bad_metric", "count"),
        ("layer=crop&metric=sum:owner_name", 400, "bad_metric", "area"),
        ("layer=crop&f=xml", 400, "bad_format", "csv"),
        ("layer=crop&class=crop_type,colour", 400, "bad_class", "practice"),
        (
            "layer=crop&class=crop_type,practice,season",
            400,
            "bad_class",
            "at most 2",
        ),
        ("layer=crop&class=crop_type,crop_type", 400, "bad_class", "twice"),
        ("layer=crop&metric=area,area", 400, "bad_metric", "twice"),
        ("layer=crop&metric=area,volume", 400, "bad_metric", "sum:area_ha"),
        ("layer=crop&per=hectare", 400, "bad_per", "farmland"),
        (
            "layer=crop&filter=owner_name%3D%27x%27",
            400,
            "bad_filter",
            "owner_name",
        ),
        ("layer=crop&filter=crop_type%3D", 400, "bad_filter", "filter"),
        (
            "layer=crop&datetime=2026-12-31/2026-01-01",
            400,
            "bad_datetime",
            "ends before it starts",
        ),
        ("layer=ocop&datetime=2026-01-01/2026-12-31", 400, "bad_datetime", "crop"),
    ] {
        let reply = server.get(&format!("/api/stats?{query}"), &[]);
        assert_eq!(reply.status, status, "{query}");
        assert_eq!(reply.error_code(), code, "{query}");
        let message = reply.json()["error"]["message"].as_str().expect("message").to_owned();
        assert!(message.contains(names), "{query}: {message}");
        assert!(!message.contains("Nguyễn"), "no restricted values in errors");
    }
    let long = format!("/api/stats?layer={}", "x".repeat(60_000));
    let reply = server.get(&long, &[]);
    assert_eq!(reply.status, 404);
    assert_eq!(reply.error_code(), "unknown_layer");
}

fn a_write_changes_the_next_answer(kind: StoreKind) {
    let server = kind.demo_server("stats_after_write");
    let query = "layer=crop&by=commune&class=crop_type&metric=area";
    let before = by_code_and_class(&stats(&server, query));
    // A new lotus parcel well inside Mỹ Xương.
    let found = server.get("/api/communes?q=my%20xuong", &[]).json();
    let commune = &found["communes"][0];
    let code = commune["code"].as_str().expect("code").to_owned();
    let [x, y] = [0, 1].map(|i| commune["center"][i].as_f64().expect("center"));
    let d = 0.0005;
    let square = geo::Polygon::new(
        geo::LineString::from(vec![
            (x - d, y - d),
            (x + d, y - d),
            (x + d, y + d),
            (x - d, y + d),
            (x - d, y - d),
        ]),
        vec![],
    );
    let crop = layer("crop").expect("crop");
    let mut properties = vec![Value::Null; crop.fields.len()];
    for (f, v) in [
        ("parcel_id", "NEW-LOTUS-1"),
        ("commune_code", code.as_str()),
        ("boundary_set", "pre-2025"),
        ("crop_type", "lotus"),
        ("season", "perennial"),
    ] {
        properties[crop.field_index(f).expect("field")] = Value::from(v);
    }
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(server.store.write(WriteBatch {
            layers: vec![LayerWrite {
                layer: crop,
                replace: false,
                features: vec![Feature {
                    id: 0,
                    geometry: square.clone().into(),
                    properties,
                }],
            }],
            readings: vec![],
            ..Default::default()
        }))
        .expect("write");
    let after = by_code_and_class(&stats(&server, query));
    let key = (code, "lotus".to_owned());
    let grown = after[&key] - before.get(&key).copied().unwrap_or(0.0);
    let expected = polygon_ha(&square);
    assert!(
        (grown - expected).abs() < 1e-6 * expected,
        "grew {grown} ha, parcel is {expected} ha"
    );
}

/// `code → figure` of the planner style's choropleth expression.
fn choropleth(server: &TestServer, query: &str) -> BTreeMap<String, f64> {
    let reply = server.get(&format!("/styles/planner.json{query}"), &[]);
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let style = reply.json();
    let layer = style["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .find(|l| l["id"] == "commune-choropleth")
        .expect("the planner style has a choropleth")
        .clone();
    assert_eq!(layer["source-layer"], "admin_commune");
    let colour = &layer["paint"]["fill-color"];
    assert_eq!(colour[0], "interpolate", "{colour}");
    let figure = colour[2].as_array().expect("match");
    assert_eq!(figure[0], "match");
    assert_eq!(figure[1], serde_json::json!(["get", "code"]));
    let pairs = &figure[2..figure.len() - 1];
    pairs
        .chunks(2)
        .map(|p| (p[0].as_str().expect("code").to_owned(), p[1].as_f64().expect("figure")))
        .collect()
}

fn the_planner_style_colours_communes_by_crop_area(kind: StoreKind) {
    let server = kind.demo_server("stats_choropleth");
    let mut per_commune: BTreeMap<String, f64> = BTreeMap::new();
    for ((code, _), v) in by_code_and_class(&stats(&server, "layer=crop&by=commune&class=crop_type&metric=area")) {
        *per_commune.entry(code).or_default() += v;
    }
    let coloured = choropleth(&server, "");
    assert_eq!(
        coloured.keys().collect::<Vec<_>>(),
        per_commune.keys().collect::<Vec<_>>()
    );
    for (code, v) in &per_commune {
        assert!((coloured[code] - v).abs() < 1e-9 * v.max(1.0), "{code}");
    }
    // One class only: rice.
    let rice: BTreeMap<String, f64> = by_code_and_class(&stats(&server, "layer=crop&class=crop_type&metric=area"))
        .into_iter()
        .filter(|((_, class), _)| class == "rice")
        .map(|((code, _), v)| (code, v))
        .collect();
    assert_eq!(
        choropleth(&server, "?layer=crop&metric=area&class=crop_type&value=rice"),
        rice
    );
    // Any statistic: OCOP products per commune.
    let ocop = choropleth(&server, "?layer=ocop&metric=count");
    let manifest = agrimap_demo::read_manifest(&agrimap_suite::demo_dir()).expect("manifest");
    assert!((ocop.values().sum::<f64>() - manifest.counts["ocop"] as f64).abs() < 0.5);

    for (query, code) in [
        ("?layer=ocop&metric=area", "bad_metric"),
        ("?layer=roads", "unknown_layer"),
        ("?layer=crop&metric=area&value=rice", "bad_value"),
    ] {
        let reply = server.get(&format!("/styles/planner.json{query}"), &[]);
        assert!(reply.status == 400 || reply.status == 404, "{query}");
        assert_eq!(reply.error_code(), code, "{query}");
    }
}

/// A growing-area code counts as `expired` from the day after its
/// `expires_on` (in Vietnam), whatever its stored status says: the count by
/// status agrees with `/ogc` asked for active codes past their expiry today.
fn lapsed_growing_areas_count_as_expired(kind: StoreKind) {
    let server = kind.demo_server("stats_lapsed");
    let today = agrimap_core::registry::today();
    let matched = |filter: &str| {
        let path = format!(
            "/ogc/collections/growing_area/items?limit=1&filter={}",
            filter
                .replace(' ', "%20")
                .replace('\'', "%27")
                .replace('<', "%3C")
                .replace('>', "%3E")
        );
        let reply = server.get(&path, &[]);
        assert_eq!(reply.status, 200, "{path}: {}", String::from_utf8_lossy(&reply.body));
        reply.json()["numberMatched"].as_f64().expect("matched")
    };
    let lapsed = matched(&format!("status = 'active' AND expires_on < DATE('{today}')"));
    let active = matched(&format!("status = 'active' AND expires_on >= DATE('{today}')"));
    assert!(lapsed > 0.0, "the demo has codes past their expiry");
    let table = by_code_and_class(&stats(
        &server,
        "layer=growing_area&by=province&class=status&metric=count",
    ));
    assert_eq!(
        table.get(&("99".to_owned(), "expired".to_owned())),
        Some(&lapsed),
        "{table:?}"
    );
    assert_eq!(
        table.get(&("99".to_owned(), "active".to_owned())),
        Some(&active),
        "{table:?}"
    );
}

agrimap_suite::store_suite!(
    lapsed_growing_areas_count_as_expired,
    tables_add_up_across_levels,
    csv_answer_matches_json,
    bad_input_names_the_valid_values,
    a_write_changes_the_next_answer,
    the_planner_style_colours_communes_by_crop_area,
    ratios_per_unit,
    statistics_read_the_past,
    restricted_filters_are_for_planners,
    the_table_downloads_as_excel,
);
