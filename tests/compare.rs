//! Communes side by side (`/api/compare`) on both stores: each commune's
//! areas by class against `/api/stats`, its totals, products, stations and
//! NTM standing against its summary, a pre-2025 commune beside a 2025 one,
//! and bad requests answered with JSON errors.

use agrimap_model::{Audience, Feature, FeatureQuery, Value, layer};
use agrimap_store::{LayerWrite, WriteBatch};
use agrimap_suite::{StoreKind, TestServer};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// An Lộc (five crops, ponds, growing areas, a product, a station; NTM standard 2016).
const AN_LOC: &str = "33100";
/// Mỹ Quới (six crops and many ponds; NTM advanced 2018).
const MY_QUOI: &str = "33011";
/// Mỹ Quới in the 2025 set the test adds.
const NEW_MY_QUOI: &str = "99011";

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

fn ok(server: &TestServer, path: &str) -> Json {
    let reply = server.get(path, &[]);
    assert_eq!(reply.status, 200, "{path}: {}", String::from_utf8_lossy(&reply.body));
    reply.json()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(1.0)
}

/// `/api/stats` rows of one commune: class → (value, features).
fn stats_of(server: &TestServer, query: &str, code: &str) -> BTreeMap<String, (f64, u64)> {
    ok(server, &format!("/api/stats?{query}"))["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["code"] == code)
        .map(|r| {
            (
                r["class"].as_str().unwrap_or_default().to_owned(),
                (
                    r["value"].as_f64().expect("value"),
                    r["features"].as_u64().expect("features"),
                ),
            )
        })
        .collect()
}

/// A compared layer's rows: class → (value, features).
fn rows_of(figures: &Json) -> BTreeMap<String, (f64, u64)> {
    figures["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["class"].as_str().expect("class").to_owned(),
                (
                    r["value"].as_f64().expect("value"),
                    r["features"].as_u64().expect("features"),
                ),
            )
        })
        .collect()
}

fn same_figures(a: &BTreeMap<String, (f64, u64)>, b: &BTreeMap<String, (f64, u64)>) {
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (class, (value, features)) in a {
        let (v, f) = b[class];
        assert!(close(*value, v), "{class}: {value} against {v}");
        assert_eq!(*features, f, "{class}");
    }
}

fn two_communes_agree_with_stats_and_their_summaries(kind: StoreKind) {
    let server = kind.demo_server("compare_two");
    let answer = ok(
        &server,
        &format!("/api/compare?communes={AN_LOC},{MY_QUOI}&layers=crop,aquaculture,ocop"),
    );
    assert_eq!(answer["layers"], serde_json::json!(["crop", "aquaculture", "ocop"]));
    assert_eq!(answer["since"], Json::Null);
    let communes = answer["communes"].as_array().expect("communes");
    assert_eq!(communes.len(), 2);
    assert_eq!(communes[0]["name"], "An Lộc");
    assert_eq!(communes[1]["name"], "Mỹ Quới");
    assert_eq!(
        (
            communes[0]["ntm"]["status"].as_str(),
            communes[0]["ntm"]["year"].as_i64()
        ),
        (Some("standard"), Some(2016))
    );
    assert_eq!(communes[0]["ntm"]["status_vi"], "Đạt chuẩn NTM");
    assert_eq!(
        (
            communes[1]["ntm"]["status"].as_str(),
            communes[1]["ntm"]["year"].as_i64()
        ),
        (Some("advanced"), Some(2018))
    );
    assert!(close(communes[0]["area_ha"].as_f64().expect("area"), 3991.5985));
    assert_eq!(communes[0]["province"]["code"], "99");

    for c in communes {
        let code = c["code"].as_str().expect("code");
        let crop = &c["layers"]["crop"];
        assert_eq!(
            (crop["class"].as_str(), crop["unit"].as_str()),
            (Some("crop_type"), Some("ha"))
        );
        same_figures(
            &rows_of(crop),
            &stats_of(&server, "layer=crop&class=crop_type&metric=area", code),
        );
        same_figures(
            &rows_of(&c["layers"]["aquaculture"]),
            &stats_of(&server, "layer=aquaculture&class=species&metric=area", code),
        );
        same_figures(
            &rows_of(&c["layers"]["ocop"]),
            &stats_of(&server, "layer=ocop&class=stars&metric=count", code),
        );
        assert!(c["layers"]["monitoring"].is_null(), "only the asked layers");

        let summary = ok(&server, &format!("/api/communes/{code}/summary"));
        assert!(close(
            crop["total"].as_f64().expect("total"),
            summary["crop"]["total_ha"].as_f64().expect("total")
        ));
        assert_eq!(c["summary"]["crop_ha"], summary["crop"]["total_ha"]);
        assert_eq!(
            c["summary"]["aquaculture_ha"],
            summary["aquaculture"]["water_surface_ha"]
        );
        assert_eq!(c["ocop"]["products"], summary["ocop"]["products"]);
        assert_eq!(c["ocop"]["list"], summary["ocop"]["list"]);
        assert_eq!(c["growing_areas"]["codes"], summary["growing_areas"]["codes"]);
        assert_eq!(c["growing_areas"]["area_ha"], summary["growing_areas"]["total_ha"]);
        let stations = summary["stations"].as_array().expect("stations");
        assert_eq!(c["stations"]["count"].as_u64(), Some(stations.len() as u64));
        let by_state = &c["stations"]["by_alert_state"];
        let counted: u64 = ["ok", "watch", "alarm", "silent"]
            .iter()
            .map(|s| by_state[*s].as_u64().expect("count"))
            .sum();
        assert_eq!(counted, stations.len() as u64);
        for s in stations {
            assert!(s["alert_state"].is_string(), "{s}");
        }
    }
    // An Lộc: five crops, one product, one station.
    assert_eq!(communes[0]["layers"]["crop"]["rows"].as_array().map(Vec::len), Some(5));
    assert_eq!(communes[0]["ocop"]["products"], 1);
    assert_eq!(communes[0]["stations"]["count"], 1);
    // Nothing restricted in a public answer.
    let text = answer.to_string();
    for field in ["owner_name", "owner_phone", "contact_phone", "household_id"] {
        assert!(!text.contains(field), "{field}");
    }
    // Without layers=, every thematic layer.
    let all = ok(&server, &format!("/api/compare?communes={AN_LOC},{MY_QUOI}"));
    assert_eq!(all["layers"].as_array().map(Vec::len), Some(9));
    assert_eq!(all["communes"][0]["layers"]["monitoring"]["unit"], "features");
}

/// Adds a 2025 set drawn exactly as the pre-2025 one (33xxx becomes
/// 99xxx), so that every feature is split between the same shapes in both
/// and a commune's figures are the same in both sets; Mỹ Quới's copy is
/// recognised as a model commune.
fn add_a_2025_copy(server: &TestServer) {
    let admin = layer("admin_commune").expect("admin_commune");
    let all = block_on(server.store.features(
        admin,
        &FeatureQuery {
            audience: Audience::Full,
            ..FeatureQuery::default()
        },
    ))
    .expect("communes");
    let set = |properties: &mut Vec<Value>, name: &str, v: Value| {
        properties[admin.field_index(name).expect(name)] = v;
    };
    let copies = all
        .into_iter()
        .map(|old| {
            let code = admin.text_of(&old, "code").expect("code").replacen("33", "99", 1);
            let mut properties = old.properties.clone();
            if code == NEW_MY_QUOI {
                set(&mut properties, "name", Value::from("Mỹ Quới Mới"));
                set(&mut properties, "ntm_status", Value::from("model"));
                set(&mut properties, "ntm_year", Value::Int(2025));
            }
            set(&mut properties, "code", Value::from(code));
            set(&mut properties, "boundary_set", Value::from("2025"));
            set(&mut properties, "district_code", Value::Null);
            Feature {
                id: 0,
                geometry: old.geometry,
                properties,
            }
        })
        .collect();
    block_on(server.store.write(WriteBatch {
        layers: vec![LayerWrite {
            layer: admin,
            replace: false,
            features: copies,
        }],
        readings: vec![],
        ..Default::default()
    }))
    .expect("write");
}

fn a_pre_2025_commune_beside_a_2025_one(kind: StoreKind) {
    let server = kind.demo_server("compare_mixed");
    add_a_2025_copy(&server);
    // A code alone is looked up in the newest set that has it; `@set` names the set.
    let answer = ok(
        &server,
        &format!("/api/compare?communes={MY_QUOI}@pre-2025,{NEW_MY_QUOI}&layers=crop,aquaculture"),
    );
    let communes = answer["communes"].as_array().expect("communes");
    assert_eq!(communes[0]["boundary_set"], "pre-2025");
    assert_eq!(communes[1]["boundary_set"], "2025");
    assert_eq!(communes[1]["name"], "Mỹ Quới Mới");
    assert_eq!(communes[1]["ntm"]["status"], "model");
    // Drawn the same, they hold the same parcels and ponds (placed by
    // location, whatever commune code the features carry).
    for l in ["crop", "aquaculture"] {
        let (old, new) = (rows_of(&communes[0]["layers"][l]), rows_of(&communes[1]["layers"][l]));
        assert!(!old.is_empty(), "{l}");
        same_figures(&old, &new);
    }
    same_figures(
        &rows_of(&communes[1]["layers"]["crop"]),
        &stats_of(
            &server,
            "layer=crop&class=crop_type&metric=area&boundary_set=2025",
            NEW_MY_QUOI,
        ),
    );
    assert_eq!(communes[0]["ocop"]["list"], communes[1]["ocop"]["list"]);
    // boundary_set= applies to the codes that name none.
    let answer = ok(
        &server,
        &format!("/api/compare?communes={AN_LOC},{NEW_MY_QUOI}@2025&boundary_set=pre-2025&layers=crop"),
    );
    assert_eq!(answer["communes"][0]["boundary_set"], "pre-2025");
    assert_eq!(answer["communes"][1]["boundary_set"], "2025");
}

fn bad_compare_requests_are_json_errors(kind: StoreKind) {
    let server = kind.demo_server("compare_errors");
    let cases = [
        ("/api/compare", 400, "bad_communes"),
        ("/api/compare?communes=33100", 400, "bad_communes"),
        (
            "/api/compare?communes=33100,33011,33042,33015,33010",
            400,
            "bad_communes",
        ),
        ("/api/compare?communes=33100,33100", 400, "bad_communes"),
        ("/api/compare?communes=33100,99999", 404, "unknown_commune"),
        ("/api/compare?communes=33100,33011@2025", 404, "unknown_commune"),
        ("/api/compare?communes=33100,33011@1990", 400, "bad_boundary_set"),
        (
            "/api/compare?communes=33100,33011&boundary_set=1990",
            400,
            "bad_boundary_set",
        ),
        (
            "/api/compare?communes=33100,33011&layers=crop,nope",
            400,
            "unknown_layer",
        ),
        ("/api/compare?communes=33100,33011&layers=roads", 400, "unknown_layer"),
        ("/api/compare?communes=33100,33011&since=2025-13-01", 400, "bad_since"),
        ("/api/compare?communes=33100,33011&since=yesterday", 400, "bad_since"),
        // The past is kept, the future is not known.
        ("/api/compare?communes=33100,33011&since=2099-01-01", 400, "bad_since"),
    ];
    for (path, status, code) in cases {
        let reply = server.get(path, &[]);
        assert_eq!(reply.status, status, "{path}: {}", String::from_utf8_lossy(&reply.body));
        assert_eq!(reply.error_code(), code, "{path}");
        let message = reply.json()["error"]["message"].as_str().expect("message").to_owned();
        assert!(!message.is_empty(), "{path}");
    }
    let reply = server.get("/api/compare?communes=33100,99999", &[]);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .expect("message")
            .contains("99999")
    );
    let reply = server.get("/api/compare?communes=33100,33011&layers=nope", &[]);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .expect("message")
            .contains("crop, aquaculture"),
        "names the layers"
    );
    let long = format!("/api/compare?communes=33100,{}", "9".repeat(5_000));
    let reply = server.get(&long, &[]);
    assert_eq!(reply.status, 404);
    assert!(reply.body.len() < 1_000, "the echoed code is cut short");
}

/// The change since a day is today's figures less those of the layers as
/// they stood then (`/api/stats?as_of=`): in the commune of parcel
/// PS-0015193, turned from rice to pomelo on 2025-01-02, rice lost and
/// pomelo gained at least that parcel.
fn the_change_since_a_day_is_today_less_that_day(kind: StoreKind) {
    let server = kind.demo_server("compare_since");
    let parcel = ok(
        &server,
        "/ogc/collections/crop/items?filter=parcel_id%3D%27PS-0015193%27&f=json",
    );
    let feature = &parcel["features"][0];
    let commune = feature["properties"]["commune_code"]
        .as_str()
        .expect("commune")
        .to_owned();
    let area = feature["properties"]["area_ha"].as_f64().expect("area");
    let other = if commune == "33011" { "33100" } else { "33011" };
    let answer = ok(
        &server,
        &format!("/api/compare?communes={commune},{other}&layers=crop&since=2025-01-01"),
    );
    assert_eq!(answer["since"], "2025-01-01");
    let ours = answer["communes"]
        .as_array()
        .expect("communes")
        .iter()
        .find(|c| c["code"] == commune.as_str())
        .expect("the parcel's commune");
    let change = &ours["change"]["crop"];
    let now = stats_of(&server, "layer=crop&class=crop_type&metric=area", &commune);
    let then = stats_of(
        &server,
        "layer=crop&class=crop_type&metric=area&as_of=2025-01-01",
        &commune,
    );
    for row in change["rows"].as_array().expect("rows") {
        let class = row["class"].as_str().expect("class");
        let want = now.get(class).map_or(0.0, |v| v.0) - then.get(class).map_or(0.0, |v| v.0);
        assert!(
            close(row["change"].as_f64().expect("change"), want),
            "{class}: {row} vs {want}"
        );
    }
    let total_now: f64 = now.values().map(|v| v.0).sum();
    let total_then: f64 = then.values().map(|v| v.0).sum();
    assert!(close(change["total"].as_f64().expect("total"), total_now - total_then));
    let of = |class: &str| {
        change["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["class"] == class)
            .and_then(|r| r["change"].as_f64())
            .unwrap_or(0.0)
    };
    assert!(
        of("pomelo") >= area * 0.99,
        "pomelo gained {} ha, the parcel is {area} ha",
        of("pomelo")
    );
    assert!(of("rice") < 0.0, "rice lost {} ha", of("rice"));
    // Without since, no change is counted.
    let plain = ok(&server, &format!("/api/compare?communes={commune},{other}&layers=crop"));
    assert!(plain["communes"][0]["change"].is_null());
}

agrimap_suite::store_suite!(
    the_change_since_a_day_is_today_less_that_day,
    two_communes_agree_with_stats_and_their_summaries,
    a_pre_2025_commune_beside_a_2025_one,
    bad_compare_requests_are_json_errors,
);
