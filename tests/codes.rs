//! Value lists as data, on both stores: the national defaults are there, an
//! import with a value no list has is refused naming the list and the
//! nearest codes, an admin adds the value (no migration) and the import goes
//! in, and a code in use cannot be retired.

use agrimap_core::tokens::issue_token;
use agrimap_model::{FeatureQuery, layer};
use agrimap_suite::{Reply, StoreKind, TestServer, request_with_body};
use serde_json::{Value as Json, json};

/// A crop parcel in the demo province's commune 33030 (Mỹ Xương).
fn parcel(id: &str, crop_type: &str) -> Json {
    json!({"type": "FeatureCollection", "features": [{
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[
            [105.8001, 9.9001], [105.8011, 9.9001], [105.8011, 9.9011], [105.8001, 9.9011], [105.8001, 9.9001]
        ]]},
        "properties": {"parcel_id": id, "commune_code": "33030", "boundary_set": "pre-2025",
                       "crop_type": crop_type, "season": "vu_mua"}
    }]})
}

fn send(server: &TestServer, method: &str, path: &str, auth: &str, body: &Json) -> Reply {
    request_with_body(
        method,
        &format!("{}{path}", server.base),
        &[("authorization", auth), ("content-type", "application/json")],
        serde_json::to_vec(body).expect("json"),
    )
}

// One scenario from start to end: its steps read best in order.
#[allow(clippy::too_many_lines)]
fn lists_take_new_values_without_a_migration(kind: StoreKind) {
    let server = kind.demo_server("code_lists");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let token = |role: &str| {
        let (_, secret) = runtime
            .block_on(issue_token(server.store.as_ref(), "codes test", role))
            .expect("token");
        format!("Bearer {secret}")
    };
    let (admin, editor) = (token("admin"), token("editor"));

    // The national defaults, with both labels.
    let species = server.get("/api/codes/species", &[]).json();
    let knifefish = species["codes"]
        .as_array()
        .expect("codes")
        .iter()
        .find(|c| c["code"] == "clown_knifefish")
        .expect("cá thát lát is a default");
    assert_eq!(knifefish["label_vi"], "Cá thát lát");
    let all = server.get("/api/codes", &[]).json();
    let crops = all["lists"]
        .as_array()
        .expect("lists")
        .iter()
        .find(|l| l["list"] == "crop_type")
        .expect("crop_type");
    assert!(crops["codes"].as_array().expect("codes").len() >= 40);
    assert_eq!(server.get("/api/codes/fruit", &[]).status, 404);

    // A season of the north and sugarcane: defaults, so the parcel goes in.
    let reply = send(
        &server,
        "POST",
        "/api/import/crop?format=geojson",
        &editor,
        &parcel("CODES-1", "sugarcane"),
    );
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));

    // A misspelt value: refused, naming the list and the nearest code; nothing written.
    let reply = send(
        &server,
        "POST",
        "/api/import/crop?format=geojson",
        &editor,
        &parcel("CODES-2", "sugar cane"),
    );
    assert_eq!(reply.status, 422);
    let reason = reply.json()["error"]["report"]["rejected"][0]["reason"].clone();
    assert_eq!(
        reason,
        "field 'crop_type' takes a code of the list crop_type, and 'sugar cane' is not one; nearest: sugarcane"
    );

    // An admin adds a local variety's code; the same kind of parcel then goes in.
    let new = json!({"code": "purple_sugarcane", "label_vi": "Mía tím", "label_en": "Purple sugarcane"});
    assert_eq!(send(&server, "POST", "/api/codes/crop_type", &editor, &new).status, 403);
    let reply = send(&server, "POST", "/api/codes/crop_type", &admin, &new);
    assert_eq!(reply.status, 201, "{}", String::from_utf8_lossy(&reply.body));
    let again = send(&server, "POST", "/api/codes/crop_type", &admin, &new);
    assert_eq!(again.status, 422);
    assert_eq!(again.error_code(), "code_exists");
    let bad = send(
        &server,
        "POST",
        "/api/codes/crop_type",
        &admin,
        &json!({"code": "Mía", "label_vi": "Mía", "label_en": "x"}),
    );
    assert_eq!(bad.error_code(), "bad_code");
    let reply = send(
        &server,
        "POST",
        "/api/import/crop?format=geojson",
        &editor,
        &parcel("CODES-3", "purple_sugarcane"),
    );
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));

    // Retiring a code in use is refused with the count; an unused one retires.
    let crop = layer("crop").expect("crop");
    let rice = runtime
        .block_on(server.store.features(crop, &FeatureQuery::default()))
        .expect("crop")
        .iter()
        .filter(|f| crop.text_of(f, "crop_type") == Some("rice"))
        .count();
    let reply = send(&server, "DELETE", "/api/codes/crop_type/rice", &admin, &Json::Null);
    assert_eq!(reply.status, 422);
    assert_eq!(reply.error_code(), "code_in_use");
    let message = reply.json()["error"]["message"].as_str().expect("message").to_owned();
    assert!(
        message.contains(&format!("(crop.crop_type: {rice}, growing_area.crop_type: ")),
        "{message}"
    );
    assert_eq!(
        send(&server, "DELETE", "/api/codes/crop_type/cashew", &admin, &Json::Null).status,
        204
    );
    let reply = send(
        &server,
        "POST",
        "/api/import/crop?format=geojson",
        &editor,
        &parcel("CODES-4", "cashew"),
    );
    assert_eq!(reply.status, 422, "a retired code takes no new feature");
    let listed = server.get("/api/codes/crop_type", &[]).json();
    let cashew = listed["codes"]
        .as_array()
        .expect("codes")
        .iter()
        .find(|c| c["code"] == "cashew")
        .cloned();
    assert_eq!(cashew.expect("still listed")["retired"], true);
}

#[test]
fn lists_take_new_values_without_a_migration_on_geopackage() {
    lists_take_new_values_without_a_migration(StoreKind::GeoPackage);
}

#[test]
fn lists_take_new_values_without_a_migration_on_postgis() {
    lists_take_new_values_without_a_migration(StoreKind::PostGis);
}
