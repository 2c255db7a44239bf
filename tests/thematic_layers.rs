//! The irrigation, forestry and livestock layers (`irrigation_works`,
//! `irrigated_areas`, `forest_plots`, `livestock_farms`) end to end on both
//! stores: in tiles at known places of the demo province, in `/ogc` with
//! their owners restricted, exported as GeoJSON and through GDAL, in the
//! statistics by commune and in the commune summary.

use agrimap_core::tokens::issue_token;
use agrimap_model::{Audience, Feature, FeatureQuery, Value, layer};
use agrimap_suite::{DemoCopy, Reply, StoreKind, TestServer, scratch_dir, store_suite};
use geo::{CoordsIter, Geometry};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::process::Command;

const NEW_LAYERS: [&str; 4] = ["irrigation_works", "irrigated_areas", "forest_plots", "livestock_farms"];

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

/// Every feature of a layer, restricted fields included.
fn all(server: &TestServer, id: &str) -> Vec<Feature> {
    let query = FeatureQuery {
        audience: Audience::Full,
        ..FeatureQuery::default()
    };
    block_on(server.store.features(layer(id).expect("layer"), &query)).expect("features")
}

fn text_of<'f>(id: &str, f: &'f Feature, field: &str) -> &'f str {
    layer(id).expect("layer").text_of(f, field).unwrap_or_default()
}

fn by_key<'f>(features: &'f [Feature], id: &str, key: &str) -> &'f Feature {
    let field = layer(id).expect("layer").natural_key()[0];
    features
        .iter()
        .find(|f| text_of(id, f, field) == key)
        .unwrap_or_else(|| panic!("{id}: no {key} in the demo province"))
}

/// The zoom-14 tile holding a longitude/latitude.
fn tile_of(lon: f64, lat: f64) -> (u32, u32) {
    let n = f64::from(1u32 << 14);
    let x = (lon + 180.0) / 360.0 * n;
    let y = (1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n;
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a tile index")]
    (x.floor() as u32, y.floor() as u32)
}

fn decoded(reply: &Reply) -> Vec<agrimap_tiles::mvt::DecodedLayer> {
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    agrimap_tiles::mvt::decode(&reply.decoded_body()).expect("a vector tile")
}

// Known features and figures of the demo province (seed 2025), as
// `agrimap demo-data` writes them into data/demo.
const WORK_POINT: &str = "CTTL-99-0002";
const WORK_POINT_AT: [f64; 2] = [105.513_405_3, 9.812_527_4];
const WORK_LINE: &str = "CTTL-99-0325";
const WORK_LINE_AT: [f64; 2] = [105.547_525_5, 10.075_725_8];
const AREA: &str = "KT-33024-2";
const AREA_AT: [f64; 2] = [105.775_011_5, 10.223_156_1];
const PLOT: &str = "LR-33032-01";
const PLOT_AT: [f64; 2] = [105.632_840_6, 10.147_326_9];
const FARM: &str = "CN-99-0001";
const FARM_AT: [f64; 2] = [105.771_845_7, 10.226_569_3];
/// A coastal commune with mangrove protection forest (and nothing else of forest).
const PLOT_COMMUNE: &str = "33113";
const PLOT_COMMUNE_PROTECTION_HA: f64 = 118.8079;
const PLOT_COMMUNE_FOREST_HA: f64 = 118.8079;
/// The commune of farm CN-99-0001, and its farms' head.
const FARM_COMMUNE: &str = "33024";
const FARM_COMMUNE_HEAD: f64 = 668.0;
/// A commune with irrigated areas irrigated and drained actively (two) and
/// not (two), and its share of crop area actively irrigated and drained.
const AREA_COMMUNE: &str = "33055";
const AREA_COMMUNE_SHARE: f64 = 63.1;

/// Known features of the demo province: (layer, key, a vertex).
const KNOWN: [(&str, &str, [f64; 2]); 5] = [
    ("irrigation_works", WORK_POINT, WORK_POINT_AT),
    ("irrigation_works", WORK_LINE, WORK_LINE_AT),
    ("irrigated_areas", AREA, AREA_AT),
    ("forest_plots", PLOT, PLOT_AT),
    ("livestock_farms", FARM, FARM_AT),
];

fn the_new_layers_are_in_tiles_at_known_places(kind: StoreKind) {
    let server = kind.demo_server("thematic_tiles");
    for (id, key, at) in KNOWN {
        let features = all(&server, id);
        let f = by_key(&features, id, key);
        assert!(
            f.geometry
                .coords_iter()
                .any(|c| (c.x - at[0]).abs() < 1e-7 && (c.y - at[1]).abs() < 1e-7),
            "{id} {key} is not at {at:?}"
        );
        let (x, y) = tile_of(at[0], at[1]);
        let tile = decoded(&server.get(&format!("/tiles/{id}/14/{x}/{y}.mvt"), &[]));
        let field = layer(id).expect("layer").natural_key()[0];
        let drawn = tile
            .iter()
            .filter(|l| l.name == id)
            .flat_map(|l| &l.features)
            .find(|t| t.properties.get(field) == Some(&Value::from(key)))
            .unwrap_or_else(|| panic!("{id} {key} is not in tile 14/{x}/{y}"));
        // Owners never reach a tile.
        assert!(!drawn.properties.contains_key("owner_name"), "{id}");
        let kind_of = match (&f.geometry, &drawn.geometry) {
            (Geometry::Point(_), Geometry::Point(_) | Geometry::MultiPoint(_)) => "point",
            (Geometry::MultiLineString(_), Geometry::LineString(_) | Geometry::MultiLineString(_)) => "line",
            (Geometry::MultiPolygon(_), Geometry::Polygon(_) | Geometry::MultiPolygon(_)) => "polygon",
            (stored, tiled) => panic!("{id} {key}: stored {stored:?}, tiled {tiled:?}"),
        };
        if key == WORK_POINT || key == WORK_LINE {
            assert_eq!(kind_of, if key == WORK_POINT { "point" } else { "line" });
        }
    }
    // One layer of points and lines: the catalog says so, and so does /ogc.
    let catalog = server.get("/catalog", &[]).json();
    let works = catalog["layers"]
        .as_array()
        .or_else(|| catalog.as_array())
        .expect("layers")
        .iter()
        .find(|l| l["id"] == "irrigation_works")
        .expect("irrigation_works in /catalog")
        .clone();
    assert_eq!(works["geometry"], "PointOrLine", "{works}");
    let queryables = server.get("/ogc/collections/irrigation_works/queryables", &[]).json();
    assert_eq!(
        queryables["properties"]["geometry"]["format"], "geometry-any",
        "{queryables}"
    );
}

fn planner(server: &TestServer) -> String {
    let (_, secret) = block_on(issue_token(server.store.as_ref(), "thematic test", "planner")).expect("token");
    format!("Bearer {secret}")
}

fn ogc_items_keep_owners_for_signed_in_planners(kind: StoreKind) {
    let server = kind.demo_server("thematic_ogc");
    let auth = planner(&server);
    for id in NEW_LAYERS {
        let l = layer(id).expect("layer");
        let path = format!("/ogc/collections/{id}/items?limit=50");
        let public = server.get(&path, &[]);
        assert_eq!(public.status, 200, "{id}");
        let body = String::from_utf8_lossy(&public.body).into_owned();
        let signed = server.get(&path, &[("authorization", &auth)]).json();
        let first = &signed["features"][0]["properties"];
        let restricted: Vec<&str> = l
            .fields
            .iter()
            .filter(|f| f.access == agrimap_model::Access::Restricted)
            .map(|f| f.name)
            .collect();
        for f in &restricted {
            assert!(!body.contains(f), "{id}: {f} shown to an anonymous caller");
            assert!(
                first[f].as_str().is_some_and(|v| !v.is_empty()),
                "{id}: {f} hidden from a planner: {first}"
            );
        }
        let matched = public.json()["numberMatched"].as_u64().expect("numberMatched");
        assert_eq!(matched, all(&server, id).len() as u64, "{id}");
        assert!(matched > 0, "{id} is empty in the demo province");
    }
    // The owners of forest plots and livestock farms are restricted; irrigation is public.
    for id in ["forest_plots", "livestock_farms"] {
        assert_eq!(
            layer(id).and_then(|l| l.field("owner_name")).map(|f| f.access),
            Some(agrimap_model::Access::Restricted)
        );
    }
    // Points and lines side by side, selected by kind.
    for (filter, want) in [
        ("kind%3D%27sluice_gate%27", "Point"),
        ("kind%3D%27dyke%27", "MultiLineString"),
    ] {
        let page = server
            .get(
                &format!("/ogc/collections/irrigation_works/items?limit=20&filter={filter}"),
                &[],
            )
            .json();
        let types: Vec<&str> = page["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|f| f["geometry"]["type"].as_str().expect("type"))
            .collect();
        assert!(
            !types.is_empty() && types.iter().all(|t| *t == want),
            "{filter}: {types:?}"
        );
    }
}

/// `ogrinfo`'s feature count and geometry line of a file.
fn ogrinfo(path: &std::path::Path) -> (u64, String) {
    let out = Command::new("ogrinfo")
        .args(["-ro", "-so", "-al"])
        .arg(path)
        .output()
        .expect("ogrinfo (tests/run.sh installs gdal-bin)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let count = text
        .lines()
        .find_map(|l| l.strip_prefix("Feature Count: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no feature count in {text}"));
    let geometry = text
        .lines()
        .find_map(|l| l.strip_prefix("Geometry: "))
        .unwrap_or_default()
        .to_owned();
    (count, geometry)
}

fn exports_read_back_through_gdal(kind: StoreKind) {
    let server = kind.demo_server("thematic_export");
    let dir = scratch_dir(&format!("thematic-export-{kind:?}"));
    for (id, geometry) in [
        ("irrigation_works", "Unknown (any)"),
        ("irrigated_areas", "Multi Polygon"),
        ("forest_plots", "Multi Polygon"),
        ("livestock_farms", "Point"),
    ] {
        let want = all(&server, id).len() as u64;
        let reply = server.get(&format!("/api/export/{id}.geojson"), &[]);
        assert_eq!(reply.status, 200, "{id}");
        let doc: Json = serde_json::from_slice(&reply.body).expect("GeoJSON");
        assert_eq!(
            doc["features"].as_array().map(Vec::len),
            Some(usize::try_from(want).expect("count"))
        );
        assert!(!String::from_utf8_lossy(&reply.body).contains("owner_name"), "{id}");
        for ext in ["gpkg", "fgb"] {
            let reply = server.get(&format!("/api/export/{id}.{ext}"), &[]);
            assert_eq!(
                reply.status,
                200,
                "{id}.{ext}: {}",
                String::from_utf8_lossy(&reply.body)
            );
            let path = dir.join(format!("{id}.{ext}"));
            std::fs::write(&path, &reply.body).expect("write");
            let (count, read) = ogrinfo(&path);
            assert_eq!(count, want, "{id}.{ext}");
            if ext == "gpkg" {
                assert_eq!(read, geometry, "{id}.{ext}");
            }
        }
    }
    // A Shapefile holds one kind of geometry: refused, saying why.
    let refused = server.get("/api/export/irrigation_works.shp.zip", &[]);
    assert_eq!(
        (refused.status, refused.error_code()),
        (400, "mixed_geometry".to_owned())
    );
    let reply = server.get("/api/export/livestock_farms.shp.zip", &[]);
    let path = dir.join("livestock_farms.shp.zip");
    std::fs::write(&path, &reply.body).expect("write");
    assert_eq!(ogrinfo(&path).0, all(&server, "livestock_farms").len() as u64);
}

fn stats(server: &TestServer, query: &str) -> BTreeMap<String, f64> {
    let reply = server.get(&format!("/api/stats?{query}"), &[]);
    assert_eq!(reply.status, 200, "{query}: {}", String::from_utf8_lossy(&reply.body));
    let table = reply.json();
    table["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let key = match r["class"].as_str() {
                Some(class) => format!("{}/{class}", r["code"].as_str().expect("code")),
                None => r["code"].as_str().expect("code").to_owned(),
            };
            (key, r["value"].as_f64().expect("value"))
        })
        .collect()
}

/// Sums of a numeric field per commune code.
fn sums_by_commune(features: &[Feature], id: &str, field: &str) -> BTreeMap<String, f64> {
    let l = layer(id).expect("layer");
    let mut out = BTreeMap::new();
    for f in features {
        let v = l.value_of(f, field).as_f64().unwrap_or(1.0);
        *out.entry(text_of(id, f, "commune_code").to_owned()).or_insert(0.0) += v;
    }
    out
}

fn statistics_by_commune_agree_with_the_features(kind: StoreKind) {
    let server = kind.demo_server("thematic_stats");
    // Irrigated areas and forest plots lie inside their commune: the area
    // counted there is each one's own area on the ellipsoid.
    for id in ["irrigated_areas", "forest_plots"] {
        let (counted, slivers): (BTreeMap<String, f64>, BTreeMap<String, f64>) =
            stats(&server, &format!("layer={id}&by=commune&metric=area"))
                .into_iter()
                .partition(|(_, ha)| *ha > 0.01);
        // Edges shared with a neighbour (vertices rounded to 1e-7°) leave it a few tens of square metres at most.
        assert!(slivers.values().all(|ha| *ha < 0.01), "{id}: {slivers:?}");
        let recorded = sums_by_commune(&all(&server, id), id, "area_ha");
        assert_eq!(
            counted.keys().collect::<Vec<_>>(),
            recorded.keys().collect::<Vec<_>>(),
            "{id}"
        );
        for (code, ha) in &recorded {
            assert!(
                (counted[code] - ha).abs() < 1e-3 * ha.max(1.0),
                "{id} {code}: {} vs {ha}",
                counted[code]
            );
        }
    }
    // Known values of the demo province.
    let forest = stats(&server, "layer=forest_plots&by=commune&class=forest_type&metric=area");
    assert!(
        (forest[&format!("{PLOT_COMMUNE}/protection")] - PLOT_COMMUNE_PROTECTION_HA).abs() < 1e-3,
        "{forest:?}"
    );
    let head = stats(&server, "layer=livestock_farms&by=commune&metric=sum:head_count");
    assert!((head[FARM_COMMUNE] - FARM_COMMUNE_HEAD).abs() < 1e-9, "{head:?}");
    // Works, points and lines alike, count in the commune they are coded to.
    let works = stats(&server, "layer=irrigation_works&by=commune&metric=count");
    let coded = sums_by_commune(&all(&server, "irrigation_works"), "irrigation_works", "no_such_field");
    assert_eq!(works, coded);
}

fn the_commune_summary_mentions_them(kind: StoreKind) {
    let server = kind.demo_server("thematic_summary");
    let reply = server.get(&format!("/api/communes/{PLOT_COMMUNE}/summary"), &[]);
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let s = reply.json();
    let in_commune = |id: &str| -> Vec<Feature> {
        all(&server, id)
            .into_iter()
            .filter(|f| text_of(id, f, "commune_code") == PLOT_COMMUNE)
            .collect()
    };
    let works = in_commune("irrigation_works");
    assert_eq!(
        s["irrigation"]["works"].as_u64(),
        Some(works.len() as u64),
        "{}",
        s["irrigation"]
    );
    let areas: f64 = sums_by_commune(&in_commune("irrigated_areas"), "irrigated_areas", "area_ha")
        .values()
        .sum();
    assert!((s["irrigation"]["irrigated_ha"].as_f64().expect("ha") - areas).abs() < 1e-3 * areas.max(1.0));
    assert!(
        (s["forestry"]["total_ha"].as_f64().expect("forest") - PLOT_COMMUNE_FOREST_HA).abs() < 1e-3,
        "{}",
        s["forestry"]
    );
    assert_eq!(s["forestry"]["by_forest_type"][0]["class"], "protection");
    let farms = in_commune("livestock_farms");
    assert_eq!(
        s["livestock"]["farms"].as_u64(),
        Some(farms.len() as u64),
        "{}",
        s["livestock"]
    );
    let head: f64 = sums_by_commune(&farms, "livestock_farms", "head_count").values().sum();
    assert!((s["livestock"]["head"].as_f64().expect("head") - head).abs() < 1e-9);
    // Owners are not in a summary anyone may read.
    assert!(!String::from_utf8_lossy(&reply.body).contains("owner"));
}

fn the_ntm_irrigation_indicator_reads_the_irrigated_areas(kind: StoreKind) {
    let server = kind.demo_server("thematic_ntm");
    let auth = planner(&server);
    let reply = server.get(
        &format!("/api/ntm/scorecards/{AREA_COMMUNE}?year=2025&boundary_set=pre-2025"),
        &[("authorization", &auth)],
    );
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let card = reply.json();
    let irrigation = card["criteria"]
        .as_array()
        .expect("criteria")
        .iter()
        .flat_map(|c| c["indicators"].as_array().expect("indicators"))
        .find(|i| i["id"] == "3.1")
        .expect("3.1")
        .clone();
    let share = irrigation["value"].as_f64().unwrap_or_else(|| panic!("{irrigation}"));
    assert!((share - AREA_COMMUNE_SHARE).abs() < 1e-9, "{irrigation}");
    let evidence = irrigation["computed"]["evidence"].as_array().expect("evidence");
    assert_eq!(evidence[0]["layer"], "irrigated_areas");
    let active: Vec<i64> = evidence[0]["features"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|i| i.as_i64().expect("id"))
        .collect();
    let areas = all(&server, "irrigated_areas");
    let want: Vec<i64> = areas
        .iter()
        .filter(|f| {
            text_of("irrigated_areas", f, "commune_code") == AREA_COMMUNE
                && text_of("irrigated_areas", f, "irrigation") == "active"
                && text_of("irrigated_areas", f, "drainage") == "active"
        })
        .map(|f| f.id)
        .collect();
    assert_eq!(active, want);
    assert!(evidence[0]["bbox"].is_array());
}

fn count_of(t: &DemoCopy, id: &str) -> u64 {
    t.runtime
        .block_on(t.store.count(layer(id).expect("layer"), &FeatureQuery::default()))
        .expect("count")
}

/// The command line: an import of points and lines into the irrigation
/// works (a polygon refused, and nothing written until it is left out), the
/// export GDAL reads, and the statistics.
fn the_command_line_imports_exports_and_counts_them(kind: StoreKind) {
    let t = DemoCopy::new(kind, "thematic_cli");
    let before = count_of(&t, "irrigation_works");
    let work = |id: &str, kind: &str, geometry: &str| {
        format!(
            r#"{{"type":"Feature","geometry":{geometry},"properties":{{"work_id":"{id}","commune_code":"{AREA_COMMUNE}","boundary_set":"pre-2025","kind":"{kind}","condition":"good","managing_body":"UBND xã"}}}}"#
        )
    };
    let features = [
        work(
            "T-GATE",
            "sluice_gate",
            r#"{"type":"Point","coordinates":[106.09,9.97]}"#,
        ),
        work(
            "T-DYKE",
            "dyke",
            r#"{"type":"LineString","coordinates":[[106.08,9.96],[106.09,9.965],[106.1,9.97]]}"#,
        ),
        work(
            "T-POND",
            "embankment",
            r#"{"type":"Polygon","coordinates":[[[106.08,9.96],[106.09,9.96],[106.09,9.97],[106.08,9.96]]]}"#,
        ),
    ];
    let file = t.dir.join("works.geojson");
    std::fs::write(
        &file,
        format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, features.join(",")),
    )
    .expect("write");
    let path = file.display().to_string();
    let refused = t.agrimap(&["import", &path, "--layer", "irrigation_works"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("points or lines"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(count_of(&t, "irrigation_works"), before, "nothing is written");
    let done = t.agrimap(&["import", &path, "--layer", "irrigation_works", "--skip-invalid"]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(count_of(&t, "irrigation_works"), before + 2);

    let out = t.dir.join("works.gpkg");
    let export = t.agrimap(&[
        "export",
        "--layer",
        "irrigation_works",
        "--format",
        "gpkg",
        &out.display().to_string(),
    ]);
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    assert_eq!(ogrinfo(&out), (before + 2, "Unknown (any)".to_owned()));
    let shp = t.agrimap(&[
        "export",
        "--layer",
        "irrigation_works",
        "--format",
        "shp.zip",
        &t.dir.join("works.shp.zip").display().to_string(),
    ]);
    assert!(!shp.status.success());
    assert!(String::from_utf8_lossy(&shp.stderr).contains("points and lines"));

    let stats = t.agrimap(&[
        "stats",
        "--layer",
        "livestock_farms",
        "--by",
        "commune",
        "--metric",
        "sum:head_count",
        "--format",
        "json",
    ]);
    assert!(stats.status.success(), "{}", String::from_utf8_lossy(&stats.stderr));
    let table: Json = serde_json::from_slice(&stats.stdout).expect("json");
    let row = table["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["code"] == FARM_COMMUNE)
        .expect("the farm's commune");
    assert!(
        (row["value"].as_f64().expect("value") - FARM_COMMUNE_HEAD).abs() < 1e-9,
        "{row}"
    );
}

store_suite!(
    the_new_layers_are_in_tiles_at_known_places,
    ogc_items_keep_owners_for_signed_in_planners,
    exports_read_back_through_gdal,
    statistics_by_commune_agree_with_the_features,
    the_commune_summary_mentions_them,
    the_ntm_irrigation_indicator_reads_the_irrigated_areas,
    the_command_line_imports_exports_and_counts_them,
);
