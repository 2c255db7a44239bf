//! API tokens limited to provinces, on both stores: an editor of another
//! province may neither import features nor send a station's readings in
//! the demo province (403, nothing written); an editor of the demo province may.

use agrimap_core::tokens::issue_scoped_token;
use agrimap_model::{FeatureQuery, layer};
use agrimap_suite::{Reply, StoreKind, TestServer, request_with_body};
use serde_json::{Value as Json, json};

fn post(server: &TestServer, path: &str, token: &str, body: &Json) -> Reply {
    request_with_body(
        "POST",
        &format!("{}{path}", server.base),
        &[
            ("authorization", &format!("Bearer {token}")),
            ("content-type", "application/json"),
        ],
        serde_json::to_vec(body).expect("json"),
    )
}

fn editors_write_only_in_their_provinces(kind: StoreKind) {
    let server = kind.demo_server("scoped_tokens");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let editor_of = |provinces: &[&str]| {
        let provinces: Vec<String> = provinces.iter().map(|p| (*p).to_owned()).collect();
        runtime
            .block_on(issue_scoped_token(
                server.store.as_ref(),
                "scoped editor",
                "editor",
                &provinces,
            ))
            .expect("token")
            .1
    };
    let (elsewhere, here) = (editor_of(&["87"]), editor_of(&["87", "99"]));
    let manifest = agrimap_demo::read_manifest(&agrimap_suite::demo_dir()).expect("manifest");
    let [cx, cy] = manifest.center;
    // One OCOP product at the demo province's centre; its commune is found there.
    let product = json!({"type": "FeatureCollection", "features": [{
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [cx, cy]},
        "properties": {"product_id": "OCOP-SCOPED", "name": "Mật ong U Minh", "stars": 4},
    }]});
    let ocop = layer("ocop").expect("ocop");
    let count = || {
        runtime
            .block_on(server.store.count(ocop, &FeatureQuery::default()))
            .expect("count")
    };
    let before = count();

    let refused = post(&server, "/api/import/ocop?format=geojson", &elsewhere, &product);
    assert_eq!(refused.status, 403, "{}", String::from_utf8_lossy(&refused.body));
    assert_eq!(refused.error_code(), "outside_provinces");
    let message = refused.json()["error"]["message"].as_str().expect("message").to_owned();
    assert!(
        message.contains(
            "the token may write in provinces 87 only; 1 of the file's features are elsewhere: feature 0 (province 99)"
        ),
        "{message}"
    );
    assert_eq!(count(), before, "nothing written");
    let taken = post(&server, "/api/import/ocop?format=geojson", &here, &product);
    assert_eq!(taken.status, 200, "{}", String::from_utf8_lossy(&taken.body));
    assert_eq!(count(), before + 1);

    // Roads have no commune: an editor limited to provinces cannot replace them.
    let road = json!({"type": "FeatureCollection", "features": [{
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[cx, cy], [cx + 0.01, cy]]},
        "properties": {"class": "commune"},
    }]});
    let roads = post(&server, "/api/import/roads?format=geojson&replace=true", &here, &road);
    assert_eq!(roads.status, 403);

    let time = agrimap_model::calendar::format_timestamp(
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_secs(),
        )
        .expect("time")
            - 60,
    );
    let batch = json!([{"parameter": "salinity", "value": 1.2, "unit": "ppt", "time": time}]);
    let refused = post(&server, "/api/stations/WQ-01/readings", &elsewhere, &batch);
    assert_eq!(refused.status, 403, "{}", String::from_utf8_lossy(&refused.body));
    assert_eq!(refused.error_code(), "forbidden");
    let taken = post(&server, "/api/stations/WQ-01/readings", &here, &batch);
    assert_eq!(taken.status, 200, "{}", String::from_utf8_lossy(&taken.body));
}

#[test]
fn editors_write_only_in_their_provinces_on_geopackage() {
    editors_write_only_in_their_provinces(StoreKind::GeoPackage);
}

#[test]
fn editors_write_only_in_their_provinces_on_postgis() {
    editors_write_only_in_their_provinces(StoreKind::PostGis);
}
