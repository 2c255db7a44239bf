//! The thematic layers' past, over HTTP and from the command line, against
//! both stores loaded with the demo province's three years of history:
//! `as_of` on `/ogc` items and items, tiles (decoded) and exports, before
//! and after changes the demo's history holds at known places and days, and
//! bad `as_of` refused with a clear error.

use agrimap_suite::{DemoCopy, StoreKind, TestServer, store_suite};
use agrimap_tiles::mvt::decode;
use agrimap_tiles::tile_containing;

/// A parcel that was rice until an orchard was planted on it on
/// 2025-01-02 (pomelo since), in commune 33004.
const PARCEL: &str = "PS-0015193";
const PARCEL_COMMUNE: &str = "33004";
/// A corner of that parcel.
const PARCEL_AT: (f64, f64) = (105.820_611_3, 9.891_728_6);
/// A rice parcel turned into a rice–shrimp pond (`AQ-002331`) on 2024-01-16.
const CONVERTED: &str = "PS-R002331";
/// A pond abandoned on 2024-01-27.
const ABANDONED: &str = "AQ-002316";

/// `parcel_id = '…'` as a query value.
fn by_parcel(id: &str) -> String {
    format!("parcel_id%20%3D%20%27{id}%27")
}

fn items(server: &TestServer, collection: &str, query: &str) -> serde_json::Value {
    let r = server.get(&format!("/ogc/collections/{collection}/items?{query}"), &[]);
    assert_eq!(r.status, 200, "{query}: {}", String::from_utf8_lossy(&r.body));
    r.json()
}

fn crop_type_of_parcel(server: &TestServer, as_of: Option<&str>) -> Option<String> {
    let at = as_of.map_or_else(String::new, |d| format!("&as_of={d}"));
    let doc = items(server, "crop", &format!("filter={}{at}", by_parcel(PARCEL)));
    let features = doc["features"].as_array().expect("features");
    assert!(features.len() <= 1);
    features
        .first()
        .map(|f| f["properties"]["crop_type"].as_str().expect("crop_type").to_owned())
}

fn matched(server: &TestServer, collection: &str, as_of: Option<&str>) -> u64 {
    let at = as_of.map_or_else(String::new, |d| format!("&as_of={d}"));
    items(server, collection, &format!("limit=1{at}"))["numberMatched"]
        .as_u64()
        .expect("numberMatched")
}

fn ogc_items_read_the_layers_as_they_stood(kind: StoreKind) {
    let server = kind.demo_server("history_ogc_items");
    // The orchard planted on 2025-01-02: rice until the day before.
    assert_eq!(crop_type_of_parcel(&server, None).as_deref(), Some("pomelo"));
    assert_eq!(
        crop_type_of_parcel(&server, Some("2024-06-01")).as_deref(),
        Some("rice")
    );
    assert_eq!(
        crop_type_of_parcel(&server, Some("2025-01-01")).as_deref(),
        Some("rice")
    );
    assert_eq!(
        crop_type_of_parcel(&server, Some("2025-01-02")).as_deref(),
        Some("pomelo")
    );
    assert_eq!(
        crop_type_of_parcel(&server, Some("2025-01-01T23:59:59Z")).as_deref(),
        Some("rice")
    );
    assert_eq!(
        crop_type_of_parcel(&server, Some("2025-01-02T07:00:00%2B07:00")).as_deref(),
        Some("pomelo")
    );
    // Before the history starts the layers held nothing the store knows of.
    assert_eq!(crop_type_of_parcel(&server, Some("2023-12-31")), None);
    assert_eq!(matched(&server, "crop", Some("2023-12-31")), 0);
    // Today: 60,000 parcels; on the first day, 325 rice parcels more that
    // became rice–shrimp ponds later. Ponds: 4,908 today; on the first day,
    // without the 325 converted ones and with the 92 abandoned since.
    assert_eq!(matched(&server, "crop", None), 60_000);
    assert_eq!(matched(&server, "crop", Some("2024-01-01")), 60_325);
    assert_eq!(matched(&server, "aquaculture", None), 4_908);
    assert_eq!(matched(&server, "aquaculture", Some("2024-01-01")), 4_908 - 325 + 92);
    // The converted parcel: there until the day before its conversion.
    let converted = |as_of: &str| {
        items(
            &server,
            "crop",
            &format!("filter={}&as_of={as_of}", by_parcel(CONVERTED)),
        )["numberMatched"]
            .as_u64()
            .expect("matched")
    };
    assert_eq!(converted("2024-01-15"), 1);
    assert_eq!(converted("2024-01-16"), 0);
    assert_eq!(
        items(&server, "crop", &format!("filter={}", by_parcel(CONVERTED)))["numberMatched"],
        0
    );
    let pond = |as_of: &str| {
        items(
            &server,
            "aquaculture",
            &format!("filter=pond_id%20%3D%20%27{ABANDONED}%27&as_of={as_of}"),
        )["numberMatched"]
            .as_u64()
            .expect("matched")
    };
    assert_eq!(pond("2024-01-26"), 1);
    assert_eq!(pond("2024-01-27"), 0);

    // One feature by id, as it stood; the id is the same through its versions.
    let now = items(&server, "crop", &format!("filter={}", by_parcel(PARCEL)));
    let id = now["features"][0]["id"].as_i64().expect("id");
    let one = server.get(&format!("/ogc/collections/crop/items/{id}?as_of=2024-06-01"), &[]);
    assert_eq!(one.status, 200, "{}", String::from_utf8_lossy(&one.body));
    assert_eq!(one.json()["properties"]["crop_type"], "rice");
    assert_eq!(one.json()["properties"]["parcel_id"], PARCEL);
    let before = server.get(&format!("/ogc/collections/crop/items/{id}?as_of=2023-06-01"), &[]);
    assert_eq!(before.status, 404);
    // Restricted fields stay restricted in the past.
    assert!(one.json()["properties"].get("owner_phone").is_none());
    // The page links carry as_of on.
    let page = items(&server, "crop", "as_of=2024-06-01&limit=10");
    let next = page["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["rel"] == "next")
        .expect("a next page");
    assert!(
        next["href"].as_str().expect("href").contains("as_of=2024-06-01"),
        "{next}"
    );
}

fn tiles_draw_the_crop_before_and_after_the_change(kind: StoreKind) {
    let server = kind.demo_server("history_tiles");
    let t = tile_containing(PARCEL_AT.0 + 0.000_1, PARCEL_AT.1 + 0.000_3, 14);
    let crop_of_parcel = |as_of: Option<&str>| -> (Option<String>, String) {
        let at = as_of.map_or_else(String::new, |d| format!("?as_of={d}"));
        let r = server.get(&format!("/tiles/crop/{}/{}/{}.mvt{at}", t.z, t.x, t.y), &[]);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let etag = r.header("etag").expect("etag").to_owned();
        let layers = decode(&r.decoded_body()).expect("tile decodes");
        let crop = layers.iter().find(|l| l.name == "crop").expect("crop layer");
        let kind = crop
            .features
            .iter()
            .find(|f| f.properties.get("parcel_id").and_then(|v| v.as_str()) == Some(PARCEL))
            .and_then(|f| {
                f.properties
                    .get("crop_type")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            });
        (kind, etag)
    };
    let (now, now_tag) = crop_of_parcel(None);
    let (then, then_tag) = crop_of_parcel(Some("2025-01-01"));
    let (after, after_tag) = crop_of_parcel(Some("2025-01-02"));
    assert_eq!(now.as_deref(), Some("pomelo"));
    assert_eq!(then.as_deref(), Some("rice"));
    assert_eq!(after.as_deref(), Some("pomelo"));
    // The cache and the entity tag tell the times apart.
    assert_ne!(now_tag, then_tag);
    assert_ne!(then_tag, after_tag);
    assert_eq!(crop_of_parcel(Some("2025-01-01")), (then, then_tag));
    // Before the history: nothing to draw.
    let r = server.get(
        &format!("/tiles/crop/{}/{}/{}.mvt?as_of=2023-01-01", t.z, t.x, t.y),
        &[],
    );
    assert_eq!(r.status, 204);
}

fn exports_carry_the_past(kind: StoreKind) {
    let server = kind.demo_server("history_exports");
    let export = |as_of: &str| -> Option<String> {
        let r = server.get(
            &format!("/api/export/crop.geojson?commune={PARCEL_COMMUNE}&as_of={as_of}"),
            &[],
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let doc: serde_json::Value = serde_json::from_slice(&r.body).expect("GeoJSON");
        doc["features"]
            .as_array()
            .expect("features")
            .iter()
            .find(|f| f["properties"]["parcel_id"] == PARCEL)
            .map(|f| f["properties"]["crop_type"].as_str().expect("crop_type").to_owned())
    };
    assert_eq!(export("2025-01-01").as_deref(), Some("rice"));
    assert_eq!(export("2025-01-02").as_deref(), Some("pomelo"));
    drop(server);

    // The command line reads the same past.
    let copy = DemoCopy::new(kind, "history_cli_export");
    let out = copy.dir.join("crop-then.geojson");
    let run = copy.agrimap(&[
        "export",
        "--layer",
        "crop",
        "--commune",
        PARCEL_COMMUNE,
        "--as-of",
        "2024-06-01",
        out.to_str().expect("path"),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).expect("file")).expect("GeoJSON");
    let parcel = doc["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["properties"]["parcel_id"] == PARCEL)
        .expect("the parcel");
    assert_eq!(parcel["properties"]["crop_type"], "rice");
    let future = copy.agrimap(&[
        "export",
        "--layer",
        "crop",
        "--as-of",
        "2999-01-01",
        copy.dir.join("never.geojson").to_str().expect("path"),
    ]);
    assert!(!future.status.success());
    assert!(
        String::from_utf8_lossy(&future.stderr).contains("in the future"),
        "{}",
        String::from_utf8_lossy(&future.stderr)
    );
    assert!(!copy.dir.join("never.geojson").exists());
}

fn bad_as_of_is_refused_clearly(kind: StoreKind) {
    let server = kind.demo_server("history_bad_as_of");
    for path in [
        "/ogc/collections/crop/items?as_of=yesterday",
        "/ogc/collections/crop/items?as_of=2025-02-30",
        "/ogc/collections/crop/items?as_of=2999-01-01",
        "/ogc/collections/crop/items/1?as_of=2999-01-01",
        "/ogc/collections/roads/items?as_of=2025-01-01",
        "/api/export/crop.geojson?as_of=1700000000",
        "/api/export/crop.csv?as_of=2999-01-01",
        "/tiles/crop/14/13000/7600.mvt?as_of=2025-13-01",
        "/tiles/crop/14/13000/7600.mvt?as_of=2999-01-01",
    ] {
        let r = server.get(path, &[]);
        assert_eq!(r.status, 400, "{path}: {}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.error_code(), "bad_as_of", "{path}");
        let message = r.json()["error"]["message"].as_str().expect("message").to_owned();
        assert!(message.contains("as_of"), "{path}: {message}");
    }
    let future = server.get("/ogc/collections/crop/items?as_of=2999-01-01", &[]);
    assert!(
        future.json()["error"]["message"]
            .as_str()
            .expect("message")
            .contains("in the future")
    );
}

store_suite!(
    ogc_items_read_the_layers_as_they_stood,
    tiles_draw_the_crop_before_and_after_the_change,
    exports_carry_the_past,
    bad_as_of_is_refused_clearly,
);
