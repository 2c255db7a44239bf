//! Station readings over HTTP on both stores: a station posts batches with
//! its own token (whole or nothing, idempotent), bad readings are named and
//! refused, series come back raw or by hour/day, and alerts reach
//! `/api/alerts` and the `monitoring` tiles.

use agrimap_core::tokens::hash_token;
use agrimap_model::{FeatureQuery, Value, layer};
use agrimap_store::ReadingQuery;
use agrimap_suite::{StoreKind, TestServer, alert_of, station_in_tile};
use agrimap_tiles::tile_containing;
use serde_json::json;

const TOKEN: &str = "9f2c6a1e-test-token-for-wq01";

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

/// A server whose station WQ-01 has a token.
fn server_with_token(kind: StoreKind, test: &str) -> TestServer {
    let server = kind.demo_server(test);
    assert!(block_on(server.store.set_station_token_hash("WQ-01", &hash_token(TOKEN))).expect("token"));
    server
}

fn stored(server: &TestServer) -> usize {
    let query = ReadingQuery {
        station_id: "WQ-01".into(),
        ..ReadingQuery::default()
    };
    block_on(server.store.readings_between(&query)).expect("readings").len()
}

fn auth() -> String {
    format!("Bearer {TOKEN}")
}

fn a_station_posts_readings_and_raises_an_alarm(kind: StoreKind) {
    let server = server_with_token(kind, "stations_post");
    let before = stored(&server);
    let batch = json!([
        {"parameter": "salinity", "value": 4.6, "unit": "ppt", "time": "2026-11-24T01:00:00Z"},
        {"parameter": "ph", "value": 7.1, "unit": "pH", "time": "2026-11-24T01:00:00Z"},
        {"parameter": "temperature", "value": 29.5, "unit": "°C", "time": "2026-11-24T01:00:00Z"},
    ]);
    let path = "/api/stations/WQ-01/readings";
    let auth = auth();
    let reply = server.post_json(path, &[("authorization", &auth)], &batch);
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let answer = reply.json();
    assert_eq!(answer["stored"], 3);
    assert_eq!(answer["alert_state"], "alarm");
    assert_eq!(answer["alert_cause"]["parameter"], "salinity");
    assert_eq!(stored(&server), before + 3);

    // The same batch again changes nothing.
    let again = server.post_json(path, &[("authorization", &auth)], &json!({"readings": batch}));
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["stored"], 0);
    assert_eq!(again.json()["duplicates"], 3);
    assert_eq!(stored(&server), before + 3);

    // The alert is listed with its cause...
    let alerts = server.get("/api/alerts", &[]).json();
    let wq01 = alert_of(&alerts, "WQ-01");
    assert_eq!(wq01["alert_state"], "alarm");
    assert_eq!(wq01["cause"]["value"], 4.6);
    assert_eq!(wq01["cause"]["time"], "2026-11-24T01:00:00Z");
    // ...and the station's tile carries the state and the latest value.
    let monitoring = layer("monitoring").expect("monitoring");
    let stations = block_on(server.store.features(monitoring, &FeatureQuery::default())).expect("stations");
    let id_field = monitoring.field_index("station_id").expect("field");
    let station = stations
        .iter()
        .find(|s| s.properties[id_field] == Value::from("WQ-01"))
        .expect("WQ-01");
    let geo::Geometry::Point(p) = station.geometry else {
        panic!("a station is a point")
    };
    let t = tile_containing(p.x(), p.y(), 14);
    let tile = server.get(&format!("/tiles/monitoring/{}/{}/{}.mvt", t.z, t.x, t.y), &[]);
    let f = station_in_tile(&tile, "WQ-01");
    assert_eq!(f.get("alert_state"), Some(&Value::from("alarm")));
    assert_eq!(f.get("latest_salinity"), Some(&Value::Real(4.6)));
}

fn bad_batches_are_refused_whole_with_each_reading_named(kind: StoreKind) {
    let server = server_with_token(kind, "stations_bad");
    let before = stored(&server);
    let path = "/api/stations/WQ-01/readings";
    let auth = auth();
    let good = json!({"parameter": "salinity", "value": 1.2, "unit": "ppt", "time": "2026-11-24T02:00:00Z"});
    let batch = json!([
        good,
        {"parameter": "turbidity", "value": 3.0, "unit": "NTU", "time": "2026-11-24T02:00:00Z"},
        {"parameter": "salinity", "value": 1.0, "unit": "g/L", "time": "2026-11-24T03:00:00Z"},
        {"parameter": "salinity", "value": -0.4, "unit": "ppt", "time": "2026-11-24T04:00:00Z"},
        {"parameter": "ph", "value": 15.0, "unit": "pH", "time": "2026-11-24T02:00:00Z"},
        {"parameter": "ph", "value": 7.0, "unit": "pH", "time": "2099-01-01T00:00:00Z"},
    ]);
    let reply = server.post_json(path, &[("authorization", &auth)], &batch);
    assert_eq!(reply.status, 422);
    assert_eq!(reply.error_code(), "bad_readings");
    let named: Vec<u64> = reply.json()["error"]["readings"]
        .as_array()
        .expect("readings")
        .iter()
        .map(|r| r["index"].as_u64().expect("index"))
        .collect();
    assert_eq!(named, vec![1, 2, 3, 4, 5]);
    assert_eq!(stored(&server), before, "nothing of a bad batch is stored");

    for (headers, status, code) in [
        (vec![], 401, "unauthorized"),
        (vec![("authorization", "Bearer not-the-token")], 401, "unauthorized"),
        (vec![("authorization", "Basic d3E6MDE=")], 401, "unauthorized"),
    ] {
        let reply = server.post_json(path, &headers, &json!([good]));
        assert_eq!(reply.status, status);
        assert_eq!(reply.error_code(), code);
    }
    // A token of another station does not open this one.
    let other = block_on(
        server
            .store
            .features(layer("monitoring").expect("layer"), &FeatureQuery::default()),
    )
    .expect("stations")
    .iter()
    .filter_map(|s| s.properties[0].as_str().map(str::to_owned))
    .find(|id| id != "WQ-01")
    .expect("another station");
    assert!(block_on(server.store.set_station_token_hash(&other, &hash_token("other"))).expect("token"));
    let reply = server.post_json(path, &[("authorization", "Bearer other")], &json!([good]));
    assert_eq!(reply.status, 401);

    let reply = server.post_json(
        "/api/stations/NOPE-9/readings",
        &[("authorization", &auth)],
        &json!([good]),
    );
    assert_eq!(reply.status, 404);
    assert_eq!(reply.error_code(), "unknown_station");
    for body in [
        json!({"value": 1}),
        json!([]),
        json!("salinity"),
        json!([{"parameter": "ph", "value": "seven", "unit": "pH", "time": "2026-11-24T02:00:00Z"}]),
    ] {
        let reply = server.post_json(path, &[("authorization", &auth)], &body);
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.error_code(), "bad_body");
    }
    assert_eq!(stored(&server), before);
}

fn series_come_raw_or_by_day(kind: StoreKind) {
    let server = kind.demo_server("stations_series");
    let from = "2026-11-10T00:00:00Z";
    let to = "2026-11-12T23:59:59Z";
    let raw = server
        .get(
            &format!("/api/stations/WQ-01/readings?parameter=salinity&from={from}&to={to}"),
            &[],
        )
        .json();
    let raw: Vec<(String, f64)> = raw["readings"]
        .as_array()
        .expect("readings")
        .iter()
        .map(|r| {
            (
                r["time"].as_str().expect("time").to_owned(),
                r["value"].as_f64().expect("value"),
            )
        })
        .collect();
    assert!(!raw.is_empty(), "the demo has salinity readings on those days");
    assert!(raw.iter().all(|(t, _)| t.as_str() >= from && t.as_str() <= to));
    let daily = server
        .get(
            &format!("/api/stations/WQ-01/readings?parameter=salinity&from={from}&to={to}&step=day"),
            &[],
        )
        .json();
    let series = daily["series"].as_array().expect("series");
    assert_eq!(series.len(), 3);
    for day in series {
        let date = &day["time"].as_str().expect("time")[..10];
        let values: Vec<f64> = raw
            .iter()
            .filter(|(t, _)| t.starts_with(date))
            .map(|(_, v)| *v)
            .collect();
        assert_eq!(day["count"].as_u64(), Some(values.len() as u64));
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        assert!((day["mean"].as_f64().expect("mean") - mean).abs() < 1e-9);
        let max = values.iter().copied().fold(f64::MIN, f64::max);
        assert_eq!(day["max"].as_f64(), Some(max));
        assert_eq!(day["unit"], "ppt");
    }
    let csv = server.get(
        &format!("/api/stations/WQ-01/readings?from={from}&to={to}&step=hour&f=csv"),
        &[],
    );
    let text = String::from_utf8(csv.decoded_body()).expect("utf-8");
    assert!(text.starts_with("time,parameter,min,max,mean,count,unit\n"));
    for (query, code) in [
        ("?parameter=turbidity", "bad_parameter"),
        ("?step=week", "bad_step"),
        ("?from=yesterday", "bad_time"),
        ("?f=xml", "bad_format"),
    ] {
        let reply = server.get(&format!("/api/stations/WQ-01/readings{query}"), &[]);
        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(reply.error_code(), code);
    }
}

agrimap_suite::store_suite!(
    a_station_posts_readings_and_raises_an_alarm,
    bad_batches_are_refused_whole_with_each_reading_named,
    series_come_raw_or_by_day,
);
