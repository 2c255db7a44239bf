//! The commune summary (`/api/communes/{code}/summary`) on both stores,
//! checked against the features and readings the store holds.

use agrimap_model::{Audience, FeatureQuery, Value, layer};
use agrimap_suite::{StoreKind, TestServer};
use serde_json::Value as Json;

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

fn summary(server: &TestServer, code: &str) -> Json {
    let reply = server.get(&format!("/api/communes/{code}/summary"), &[]);
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    reply.json()
}

fn sum_ha(rows: &Json) -> f64 {
    rows.as_array()
        .expect("rows")
        .iter()
        .map(|r| r["ha"].as_f64().expect("ha"))
        .sum()
}

fn features_in(server: &TestServer, layer_id: &str, code: &str) -> Vec<agrimap_model::Feature> {
    let query = FeatureQuery {
        commune: Some(code.to_owned()),
        audience: Audience::Public,
        ..FeatureQuery::default()
    };
    block_on(server.store.features(layer(layer_id).expect("layer"), &query)).expect("features")
}

fn crop_and_aquaculture_areas_add_up(kind: StoreKind) {
    let server = kind.demo_server("summary_areas");
    let found = server.get("/api/communes?q=my%20xuong", &[]).json();
    let code = found["communes"][0]["code"].as_str().expect("code").to_owned();
    let s = summary(&server, &code);
    assert_eq!(s["commune"]["name"], "Mỹ Xương");
    assert!(s["commune"]["district"]["name"].as_str().is_some_and(|n| !n.is_empty()));

    let crop_total = s["crop"]["total_ha"].as_f64().expect("total");
    assert!(crop_total > 10.0, "Mỹ Xương grows crops: {crop_total} ha");
    // Two splits of the same parcels give the same total.
    assert!((sum_ha(&s["crop"]["by_season"]) - crop_total).abs() < 1e-6 * crop_total);
    // And it agrees with the parcels' own recorded areas (those straddling
    // the boundary count only their inside part, hence the margin).
    let crop = layer("crop").expect("crop");
    let area = crop.field_index("area_ha").expect("area_ha");
    let recorded: f64 = features_in(&server, "crop", &code)
        .iter()
        .filter_map(|f| match f.properties[area] {
            Value::Real(v) => Some(v),
            _ => None,
        })
        .sum();
    assert!(
        (recorded - crop_total).abs() < 0.02 * recorded,
        "summary {crop_total} ha, parcels record {recorded} ha"
    );
    let types: Vec<&str> = s["crop"]["by_crop_type"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["class"].as_str().expect("class"))
        .collect();
    assert!(
        types.iter().all(|t| agrimap_model::codes::NATIONAL_DEFAULTS
            .iter()
            .any(|(l, c, ..)| *l == "crop_type" && c == t)),
        "{types:?}"
    );

    let water = s["aquaculture"]["water_surface_ha"].as_f64().expect("water");
    assert!((sum_ha(&s["aquaculture"]["by_mode"]) - water).abs() < 1e-6 * water.max(1.0));
    assert!(
        (sum_ha(&s["growing_areas"]["by_status"]) - s["growing_areas"]["total_ha"].as_f64().expect("total")).abs()
            < 1e-6
    );
}

fn ocop_stations_and_ntm_evidence_match_the_store(kind: StoreKind) {
    let server = kind.demo_server("summary_points");
    // The commune of the first station, so that there is something to show.
    let monitoring = layer("monitoring").expect("monitoring");
    let all = block_on(server.store.features(monitoring, &FeatureQuery::default())).expect("stations");
    let code_field = monitoring.field_index("commune_code").expect("field");
    let code = all[0].properties[code_field].as_str().expect("code").to_owned();
    let s = summary(&server, &code);

    let products = features_in(&server, "ocop", &code);
    assert_eq!(s["ocop"]["products"].as_u64(), Some(products.len() as u64));
    assert_eq!(s["ocop"]["list"].as_array().expect("list").len(), products.len());
    let rows = s["ocop"]["by_stars"].as_array().expect("rows");
    // Products by stars, counted: no area where there is none.
    assert!(rows.iter().all(|r| r.get("ha").is_none()), "{rows:?}");
    let by_stars: u64 = rows.iter().map(|r| r["products"].as_u64().expect("count")).sum();
    assert_eq!(by_stars, products.len() as u64);

    let stations = features_in(&server, "monitoring", &code);
    let answered = s["stations"].as_array().expect("stations");
    assert_eq!(answered.len(), stations.len());
    for station in answered {
        let id = station["station_id"].as_str().expect("id");
        let readings = block_on(server.store.readings(id)).expect("readings");
        let newest = readings.iter().map(|r| r.time).max().expect("the demo has readings");
        let latest = station["latest"].as_array().expect("latest");
        assert!(!latest.is_empty());
        for r in latest {
            assert_eq!(r["time"].as_str(), Some(newest.to_string().as_str()), "{id}: {r}");
            let stored = readings
                .iter()
                .find(|x| x.time == newest && Some(x.parameter.as_str()) == r["parameter"].as_str())
                .expect("stored reading");
            assert_eq!(r["value"].as_f64(), Some(stored.value));
            assert_eq!(r["unit"].as_str(), Some(stored.unit.as_str()));
        }
        assert!(["ok", "watch", "alarm"].contains(&station["alert_state"].as_str().expect("alert")));
    }

    let ntm = s["ntm"].as_array().expect("ntm");
    let traceability = ntm.iter().find(|i| i["criterion"] == "13.4").expect("13.4");
    assert_eq!(
        traceability["evidence"]["ocop_products"].as_u64(),
        Some(products.len() as u64)
    );
    let ocop = layer("ocop").expect("ocop");
    let qr = ocop.field_index("qr_url").expect("qr");
    let traced = products
        .iter()
        .filter(|p| matches!(&p.properties[qr], Value::Text(u) if !u.is_empty()))
        .count();
    assert_eq!(
        traceability["evidence"]["ocop_products_with_qr_traceability"].as_u64(),
        Some(traced as u64)
    );
    let monitoring_row = ntm.iter().find(|i| i["criterion"] == "17").expect("17");
    assert_eq!(
        monitoring_row["evidence"]["stations"].as_u64(),
        Some(stations.len() as u64)
    );
    // Nothing restricted in a public answer.
    let text = s.to_string();
    for field in ["owner_name", "owner_phone", "contact_phone", "household_id"] {
        assert!(!text.contains(field), "{field}");
    }
}

fn unknown_communes_and_bad_input_answer_json_errors(kind: StoreKind) {
    let server = kind.demo_server("summary_errors");
    let reply = server.get("/api/communes/99999/summary", &[]);
    assert_eq!(reply.status, 404);
    assert_eq!(reply.error_code(), "unknown_commune");
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .expect("message")
            .contains("99999")
    );
    let reply = server.get("/api/communes/33001/summary?boundary_set=1990", &[]);
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_code(), "bad_boundary_set");
    let long = format!("/api/communes/{}/summary", "9".repeat(20_000));
    let reply = server.get(&long, &[]);
    assert_eq!(reply.status, 404);
    assert!(reply.body.len() < 1_000, "the echoed code is cut short");
}

agrimap_suite::store_suite!(
    crop_and_aquaculture_areas_add_up,
    ocop_stations_and_ntm_evidence_match_the_store,
    unknown_communes_and_bad_input_answer_json_errors,
);
