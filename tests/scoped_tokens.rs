//! API tokens limited to provinces, on both stores: an editor of another
//! province may neither import features nor send a station's readings (as a
//! batch or in a CSV file) in the demo province (403, nothing written); an
//! editor of the demo province may.

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

    // An editor's CSV file of readings is checked station by station.
    let wq02 = |token: &str| {
        let csv = format!("time,station_id,parameter,value,unit\n{time},WQ-02,ph,7.2,pH\n");
        request_with_body(
            "POST",
            &format!("{}/api/readings", server.base),
            &[
                ("authorization", &format!("Bearer {token}")),
                ("content-type", "text/csv"),
            ],
            csv.into_bytes(),
        )
    };
    let stored = || {
        runtime
            .block_on(server.store.readings("WQ-02"))
            .expect("readings")
            .len()
    };
    let before = stored();
    let refused = wq02(&elsewhere);
    assert_eq!(refused.status, 403, "{}", String::from_utf8_lossy(&refused.body));
    let message = refused.json()["error"]["message"].as_str().expect("message").to_owned();
    assert!(
        message.contains("station WQ-02 is in province 99; the token may send readings of provinces 87 only"),
        "{message}"
    );
    assert_eq!(stored(), before, "nothing written");
    let taken = wq02(&here);
    assert_eq!(taken.status, 200, "{}", String::from_utf8_lossy(&taken.body));
    assert_eq!(stored(), before + 1);
}

#[test]
fn editors_write_only_in_their_provinces_on_geopackage() {
    editors_write_only_in_their_provinces(StoreKind::GeoPackage);
}

#[test]
fn editors_write_only_in_their_provinces_on_postgis() {
    editors_write_only_in_their_provinces(StoreKind::PostGis);
}

/// A planner limited to provinces reads restricted fields of its provinces
/// only: of a selection by `province=` or `commune=` within them, or of one
/// feature of theirs; anything else reads as the public reads it. An
/// unlimited planner reads them everywhere; `province=` selects exactly the
/// features whose commune lies in the province.
fn planners_read_restricted_fields_of_their_provinces_only(kind: StoreKind) {
    let server = kind.demo_server("scoped_planners");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let planner_of = |provinces: &[&str]| {
        let provinces: Vec<String> = provinces.iter().map(|p| (*p).to_owned()).collect();
        runtime
            .block_on(issue_scoped_token(
                server.store.as_ref(),
                "scoped planner",
                "planner",
                &provinces,
            ))
            .expect("token")
            .1
    };
    let (elsewhere, here, everywhere) = (planner_of(&["87"]), planner_of(&["99"]), planner_of(&[]));
    let get = |path: &str, token: &str| {
        let reply = server.get(path, &[("authorization", &format!("Bearer {token}"))]);
        assert_eq!(reply.status, 200, "{path}: {}", String::from_utf8_lossy(&reply.body));
        reply.json()
    };
    let owner = |page: &Json| page["features"][0]["properties"].get("owner_name").cloned();
    let first = |q: &str, token: &str| owner(&get(&format!("/ogc/collections/crop/items?limit=1{q}"), token));

    // Without a province: the unlimited planner sees the owner, the limited ones do not.
    assert!(first("", &everywhere).is_some_and(|o| o.is_string()));
    assert_eq!(first("", &here), None);
    assert_eq!(first("", &elsewhere), None);
    // Within the planner's province, by province or by one of its communes.
    assert!(first("&province=99", &here).is_some_and(|o| o.is_string()));
    assert_eq!(first("&province=99", &elsewhere), None);
    let commune = get("/ogc/collections/crop/items?limit=1", &here)["features"][0]["properties"]["commune_code"]
        .as_str()
        .expect("commune")
        .to_owned();
    assert!(first(&format!("&commune={commune}"), &here).is_some_and(|o| o.is_string()));
    assert_eq!(first(&format!("&commune={commune}"), &elsewhere), None);
    // One feature: its own province decides.
    let one = |token: &str| {
        get("/ogc/collections/crop/items/1", token)["properties"]
            .get("owner_name")
            .cloned()
    };
    assert!(one(&here).is_some_and(|o| o.is_string()));
    assert_eq!(one(&elsewhere), None);
    // Exports too.
    let csv = |token: &str| {
        let reply = server.get(
            &format!("/api/export/crop.csv?province=99&commune={commune}"),
            &[("authorization", &format!("Bearer {token}"))],
        );
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
        String::from_utf8(reply.body).expect("utf-8")
    };
    assert!(csv(&here).lines().next().is_some_and(|h| h.contains("owner_name")));
    assert!(!csv(&elsewhere).lines().next().is_some_and(|h| h.contains("owner_name")));

    // province= selects the province's features, and names what it cannot.
    let matched =
        |q: &str| get(&format!("/ogc/collections/crop/items?limit=1{q}"), &everywhere)["numberMatched"].clone();
    assert_eq!(matched("&province=99"), matched(""));
    let unknown = server.get("/ogc/collections/crop/items?province=87", &[]);
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.error_code(), "unknown_province");
    let roads = server.get("/ogc/collections/roads/items?province=99", &[]);
    assert_eq!(roads.status, 400);
    assert_eq!(roads.error_code(), "bad_province");
}

#[test]
fn planners_read_restricted_fields_of_their_provinces_only_on_geopackage() {
    planners_read_restricted_fields_of_their_provinces_only(StoreKind::GeoPackage);
}

#[test]
fn planners_read_restricted_fields_of_their_provinces_only_on_postgis() {
    planners_read_restricted_fields_of_their_provinces_only(StoreKind::PostGis);
}
