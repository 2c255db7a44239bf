//! OGC API – Features (Part 1) under `/ogc`, on both stores: the landing page,
//! conformance and API definition link up; collections are the catalog with
//! the demo province's counts and extents; `commune`, `bbox`, `datetime`,
//! `properties`, `limit` and the `next` links select what the store holds;
//! restricted fields never appear; odd requests answer JSON errors. GDAL's
//! own OGC API driver (`ogrinfo`, `ogr2ogr`) is the client of one case.
//! Part 2: `crs` answers EPSG:4326 latitude first and VN-2000 in metres,
//! `bbox-crs` selects what the box's CRS84 envelope (by PROJ's `cs2cs`) does.

use agrimap_model::{Access, Audience, Feature, FeatureQuery, LayerDef, catalog, layer};
use agrimap_suite::{Reply, StoreKind, TestServer, request};
use geo::{Rect, coord};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

fn manifest() -> agrimap_demo::Manifest {
    agrimap_demo::read_manifest(&agrimap_suite::demo_dir()).expect("manifest")
}

fn text(r: &Reply) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// GET a JSON (or GeoJSON) document, checking status 200 and the media type.
fn doc(server: &TestServer, path: &str, media: &str) -> Json {
    let r = server.get(path, &[]);
    assert_eq!(r.status, 200, "{path}: {}", text(&r));
    assert_eq!(r.header("content-type"), Some(media), "{path}");
    r.json()
}

/// GET an absolute URL as JSON.
fn fetch(url: &str) -> Json {
    let r = request("GET", url, &[]);
    assert_eq!(r.status, 200, "{url}: {}", text(&r));
    r.json()
}

/// The error code of a JSON error answer with this status.
fn error(server: &TestServer, path: &str, status: u16) -> String {
    let r = server.get(path, &[]);
    assert_eq!(r.status, status, "{path}: {}", text(&r));
    assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
    r.error_code()
}

/// The link with this relation (and type, when given).
fn link<'a>(doc: &'a Json, rel: &str, ty: Option<&str>) -> Option<&'a str> {
    doc["links"]
        .as_array()?
        .iter()
        .find(|l| l["rel"] == rel && ty.is_none_or(|t| l["type"] == t))
        .and_then(|l| l["href"].as_str())
}

fn ids(page: &Json) -> Vec<i64> {
    page["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["id"].as_i64().expect("integer id"))
        .collect()
}

fn public_fields(l: &LayerDef) -> Vec<&'static str> {
    l.readable_fields(Audience::Public).map(|(_, f)| f.name).collect()
}

fn restricted_fields(l: &LayerDef) -> Vec<&'static str> {
    l.fields
        .iter()
        .filter(|f| f.access == Access::Restricted)
        .map(|f| f.name)
        .collect()
}

/// Features of a layer as the store holds them, public fields only.
fn stored(server: &TestServer, id: &str, query: &FeatureQuery) -> Vec<Feature> {
    block_on(server.store.features(layer(id).expect("layer"), query)).expect("read the store")
}

fn value<'a>(l: &LayerDef, f: &'a Feature, field: &str) -> &'a agrimap_model::Value {
    &f.properties[l.field_index(field).expect("field")]
}

/// Every feature of a selection, following `next` links from `path`.
fn all_pages(server: &TestServer, path: &str) -> (Vec<i64>, usize) {
    let mut page = doc(server, path, "application/geo+json");
    let matched = page["numberMatched"].as_u64().expect("numberMatched");
    let mut seen = ids(&page);
    let mut pages = 1;
    while let Some(next) = link(&page, "next", Some("application/geo+json")).map(str::to_owned) {
        assert!(next.starts_with(&server.base), "{next}");
        page = fetch(&next);
        assert_eq!(page["numberMatched"].as_u64(), Some(matched), "{next}");
        assert_eq!(page["numberReturned"].as_u64(), Some(ids(&page).len() as u64), "{next}");
        assert!(link(&page, "prev", None).is_some(), "{next} has no prev link");
        seen.extend(ids(&page));
        pages += 1;
        assert!(pages < 10_000, "paging does not end");
    }
    assert_eq!(seen.len() as u64, matched, "{path}: the pages add up to numberMatched");
    (seen, pages)
}

fn landing_conformance_and_api_link_up(kind: StoreKind) {
    let server = kind.demo_server("ogc_landing");
    let base = format!("{}/ogc", server.base);
    let landing = doc(&server, "/ogc", "application/json");
    assert!(landing["title"].as_str().is_some_and(|t| !t.is_empty()));
    for (rel, ty) in [
        ("self", "application/json"),
        ("alternate", "text/html"),
        ("service-desc", "application/vnd.oai.openapi+json;version=3.0"),
        ("service-doc", "text/html"),
        ("conformance", "application/json"),
        ("data", "application/json"),
    ] {
        let href = link(&landing, rel, Some(ty)).unwrap_or_else(|| panic!("no {rel} link: {landing}"));
        assert!(href.starts_with(&base), "{rel}: {href} is not absolute under {base}");
        let r = request("GET", href, &[]);
        assert_eq!(r.status, 200, "{href}");
        assert_eq!(
            r.header("content-type").map(|c| c.split(';').next()),
            Some(ty.split(';').next()),
            "{href}"
        );
    }

    let conformance = doc(&server, "/ogc/conformance", "application/json");
    let classes: Vec<&str> = conformance["conformsTo"]
        .as_array()
        .expect("conformsTo")
        .iter()
        .filter_map(Json::as_str)
        .collect();
    for class in ["core", "geojson", "html", "oas30"] {
        let uri = format!("http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{class}");
        assert!(classes.contains(&uri.as_str()), "{uri} missing: {classes:?}");
    }

    let api = doc(&server, "/ogc/api", "application/vnd.oai.openapi+json;version=3.0");
    assert!(
        api["openapi"].as_str().is_some_and(|v| v.starts_with("3.0.")),
        "{}",
        api["openapi"]
    );
    assert_eq!(api["servers"][0]["url"], base.as_str());
    assert!(api["info"]["title"].is_string() && api["info"]["version"].is_string());
    let mut refs = Vec::new();
    collect_refs(&api, &mut refs);
    for r in &refs {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("non-local $ref {r}"));
        assert!(api.pointer(pointer).is_some(), "{r} does not resolve");
    }
    for path in ["/", "/conformance", "/api", "/collections"] {
        assert!(api["paths"][path]["get"]["responses"]["200"].is_object(), "{path}");
    }
    for l in catalog() {
        let items = &api["paths"][format!("/collections/{}/items", l.id)]["get"];
        let params = items["parameters"].to_string();
        for p in ["limit", "bbox", "properties", "offset"] {
            assert!(params.contains(p), "{}: {p} undocumented", l.id);
        }
        assert_eq!(params.contains("commune"), l.has_commune(), "{}", l.id);
        assert!(api["paths"][format!("/collections/{}/items/{{featureId}}", l.id)].is_object());
    }

    // HTML by f=html and by Accept; JSON stays the default for clients that accept anything.
    for (path, headers) in [
        ("/ogc?f=html", vec![]),
        ("/ogc", vec![("accept", "text/html,application/xhtml+xml,*/*;q=0.8")]),
        ("/ogc/conformance?f=html", vec![]),
        ("/ogc/api?f=html", vec![]),
        ("/ogc/collections?f=html", vec![]),
        ("/ogc/collections/crop?f=html", vec![]),
        ("/ogc/collections/crop/items?f=html", vec![]),
        ("/ogc/collections/ocop/items/1?f=html", vec![]),
    ] {
        let r = server.get(path, &headers);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"), "{path}");
        assert!(text(&r).starts_with("<!DOCTYPE html>"), "{path}");
    }
    let r = server.get("/ogc/collections", &[("accept", "*/*")]);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let r = server.get(
        "/ogc/collections/ocop/items",
        &[("accept", "application/geo+json, application/json")],
    );
    assert_eq!(r.header("content-type"), Some("application/geo+json"));
    assert_eq!(error(&server, "/ogc?f=xml", 400), "bad_format");
}

fn collect_refs<'a>(v: &'a Json, out: &mut Vec<&'a str>) {
    match v {
        Json::Object(m) => {
            if let Some(Json::String(s)) = m.get("$ref") {
                out.push(s);
            }
            m.values().for_each(|x| collect_refs(x, out));
        }
        Json::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

fn collections_are_the_catalog_with_counts_and_extents(kind: StoreKind) {
    let server = kind.demo_server("ogc_collections");
    let manifest = manifest();
    let [w, s, e, n] = manifest.bounds;
    let list = doc(&server, "/ogc/collections", "application/json");
    let listed: Vec<&str> = list["collections"]
        .as_array()
        .expect("collections")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    let ids: Vec<&str> = catalog().iter().map(|l| l.id).collect();
    assert_eq!(listed, ids);
    assert!(link(&list, "self", Some("application/json")).is_some());
    for (c, l) in list["collections"]
        .as_array()
        .expect("collections")
        .iter()
        .zip(catalog())
    {
        assert_eq!(c["crs"][0], CRS84, "{}: CRS84 first", l.id);
        assert_eq!(c["storageCrs"], CRS84, "{}", l.id);
        assert_eq!(c["extent"]["spatial"]["crs"], CRS84, "{}", l.id);
        let bbox: Vec<f64> = c["extent"]["spatial"]["bbox"][0]
            .as_array()
            .unwrap_or_else(|| panic!("{} has no bbox", l.id))
            .iter()
            .map(|v| v.as_f64().expect("number"))
            .collect();
        let extent = block_on(server.store.extent(l))
            .expect("extent")
            .expect("a demo layer has features");
        let want = [extent.min().x, extent.min().y, extent.max().x, extent.max().y];
        for (got, want) in bbox.iter().zip(want) {
            assert!((got - want).abs() < 1e-9, "{}: {bbox:?} vs {want:?}", l.id);
        }
        assert!(
            bbox[0] >= w - 0.05 && bbox[1] >= s - 0.05 && bbox[2] <= e + 0.05 && bbox[3] <= n + 0.05,
            "{} lies outside the province: {bbox:?}",
            l.id
        );
        let items = link(c, "items", Some("application/geo+json")).expect("items link");
        assert!(
            items.starts_with(&format!("{}/ogc/collections/{}/items", server.base, l.id)),
            "{items}"
        );

        let one = doc(&server, &format!("/ogc/collections/{}", l.id), "application/json");
        assert_eq!(one["id"], l.id);
        assert_eq!(one["extent"], c["extent"]);
        assert!(link(&one, "self", Some("application/json")).is_some());
        assert!(link(&one, "alternate", Some("text/html")).is_some());

        let page = doc(
            &server,
            &format!("/ogc/collections/{}/items?limit=1", l.id),
            "application/geo+json",
        );
        assert_eq!(page["type"], "FeatureCollection");
        assert_eq!(
            page["numberMatched"].as_u64(),
            Some(manifest.counts[l.id] as u64),
            "{} count",
            l.id
        );
        assert_eq!(page["numberReturned"], 1);
        assert!(
            page["timeStamp"]
                .as_str()
                .is_some_and(|t| t.len() == 20 && t.ends_with('Z'))
        );
        assert_eq!(
            link(&page, "collection", None),
            Some(format!("{}/ogc/collections/{}?f=json", server.base, l.id).as_str())
        );
    }
    let html = text(&server.get("/ogc/collections?f=html", &[]));
    for id in ids {
        assert!(html.contains(&format!(">{id}</a>")), "{id} not in the HTML list");
    }
}

fn commune_selects_the_features_the_store_holds_there(kind: StoreKind) {
    let server = kind.demo_server("ogc_commune");
    let ocop = layer("ocop").expect("ocop");
    let all = stored(&server, "ocop", &FeatureQuery::default());
    let mut by_commune: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for f in &all {
        let code = value(ocop, f, "commune_code")
            .as_str()
            .expect("commune_code")
            .to_owned();
        by_commune.entry(code).or_default().push(f.id);
    }
    let (code, want) = by_commune
        .iter()
        .max_by_key(|(_, v)| v.len())
        .expect("producers somewhere");
    assert!(want.len() > 1, "the busiest commune has several producers");
    let page = doc(
        &server,
        &format!("/ogc/collections/ocop/items?commune={code}&limit=10000"),
        "application/geo+json",
    );
    assert_eq!(&ids(&page), want, "ocop in {code}");
    assert_eq!(page["numberMatched"].as_u64(), Some(want.len() as u64));
    for f in page["features"].as_array().expect("features") {
        assert_eq!(f["properties"]["commune_code"], code.as_str());
    }

    // Crop parcels of a commune with producers, counted by the store and paged by the service.
    let crop = layer("crop").expect("crop");
    let (code, count) = by_commune
        .keys()
        .find_map(|code| {
            let query = FeatureQuery {
                commune: Some(code.clone()),
                ..FeatureQuery::default()
            };
            let count = block_on(server.store.count(crop, &query)).expect("count");
            (count > 50).then_some((code, count))
        })
        .expect("a commune with producers grows crops");
    let page = doc(
        &server,
        &format!("/ogc/collections/crop/items?commune={code}&limit=50"),
        "application/geo+json",
    );
    assert_eq!(page["numberMatched"].as_u64(), Some(count));
    assert!(
        page["features"]
            .as_array()
            .expect("features")
            .iter()
            .all(|f| f["properties"]["commune_code"] == code.as_str())
    );
    if count > 50 {
        let next = link(&page, "next", None).expect("next");
        assert!(next.contains(&format!("commune={code}")), "{next} keeps the commune");
    }

    assert_eq!(
        error(&server, "/ogc/collections/ocop/items?commune=00000", 400),
        "unknown_commune"
    );
    assert_eq!(
        error(&server, "/ogc/collections/roads/items?commune=33001", 400),
        "bad_commune"
    );
}

fn paging_visits_every_feature_once(kind: StoreKind) {
    let server = kind.demo_server("ogc_paging");
    let stations: Vec<i64> = stored(&server, "monitoring", &FeatureQuery::default())
        .iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(stations.len(), manifest().counts["monitoring"]);
    let (seen, pages) = all_pages(&server, "/ogc/collections/monitoring/items?limit=4");
    assert_eq!(seen, stations, "every station once, in id order");
    assert_eq!(pages, stations.len().div_ceil(4));

    // The next links keep the selection: OCOP producers in the western half, 7 at a time.
    let [w, s, e, n] = manifest().bounds;
    let mid = f64::midpoint(w, e);
    let west = Rect::new(coord! { x: w - 0.01, y: s - 0.01 }, coord! { x: mid, y: n + 0.01 });
    let want: Vec<i64> = stored(&server, "ocop", &FeatureQuery::in_bbox(west))
        .iter()
        .map(|f| f.id)
        .collect();
    assert!(!want.is_empty() && want.len() < manifest().counts["ocop"]);
    let (seen, _) = all_pages(
        &server,
        &format!(
            "/ogc/collections/ocop/items?bbox={},{},{},{}&limit=7",
            w - 0.01,
            s - 0.01,
            mid,
            n + 0.01
        ),
    );
    assert_eq!(seen, want);

    // Past the end: nothing, and a way back.
    let page = doc(
        &server,
        "/ogc/collections/monitoring/items?offset=1000",
        "application/geo+json",
    );
    assert_eq!(page["numberReturned"], 0);
    assert!(link(&page, "next", None).is_none());
    assert!(link(&page, "prev", None).is_some_and(|p| p.contains("offset=20")));
}

/// `numberMatched` is the same on every page, and moves with a write
/// between two pages (the service keeps counts until the layer changes).
fn number_matched_follows_a_write_between_pages(kind: StoreKind) {
    use geo::Centroid;
    let server = kind.demo_server("ogc_counts");
    let crop = layer("crop").expect("crop");
    let [w, s, e, n] = manifest().bounds;
    let west = Rect::new(
        coord! { x: w - 0.01, y: s - 0.01 },
        coord! { x: f64::midpoint(w, e), y: n + 0.01 },
    );
    let count = |server: &TestServer| block_on(server.store.count(crop, &FeatureQuery::in_bbox(west))).expect("count");
    let before = count(&server);
    assert!(before > 10, "parcels in the western half: {before}");
    let path = |offset: usize| {
        format!(
            "/ogc/collections/crop/items?bbox={},{},{},{}&limit=5&offset={offset}",
            west.min().x,
            west.min().y,
            west.max().x,
            west.max().y
        )
    };
    let matched = |offset| doc(&server, &path(offset), "application/geo+json")["numberMatched"].as_u64();
    assert_eq!(matched(0), Some(before));
    assert_eq!(matched(5), Some(before));

    // One more parcel in the western half, beside one there.
    let there = stored(&server, "crop", &FeatureQuery::in_bbox(west)).remove(0);
    let mut parcel = there.clone();
    parcel.id = 0;
    let at = there.geometry.centroid().expect("centroid");
    parcel.geometry = Rect::new(
        coord! { x: at.x() - 0.0005, y: at.y() - 0.0005 },
        coord! { x: at.x() + 0.0005, y: at.y() + 0.0005 },
    )
    .to_polygon()
    .into();
    parcel.properties[crop.field_index("parcel_id").expect("field")] = agrimap_model::Value::from("OGC-COUNT-1");
    let batch = agrimap_store::WriteBatch {
        layers: vec![agrimap_store::LayerWrite {
            layer: crop,
            replace: false,
            features: vec![parcel],
        }],
        ..Default::default()
    };
    block_on(server.store.write(batch)).expect("write");
    assert_eq!(count(&server), before + 1);
    assert_eq!(matched(10), Some(before + 1), "the next page counts the new parcel");
    assert_eq!(matched(0), Some(before + 1));
}

fn restricted_fields_never_appear(kind: StoreKind) {
    let server = kind.demo_server("ogc_restricted");
    for id in ["crop", "aquaculture", "growing_area"] {
        let l = layer(id).expect("layer");
        let hidden = restricted_fields(l);
        assert!(!hidden.is_empty(), "{id} has restricted fields");
        let r = server.get(&format!("/ogc/collections/{id}/items?limit=200"), &[]);
        assert_eq!(r.status, 200);
        let body = text(&r);
        for h in &hidden {
            assert!(!body.contains(h), "{id}: '{h}' appears in the items");
        }
        let page = r.json();
        for f in page["features"].as_array().expect("features") {
            let mut keys: Vec<&str> = f["properties"]
                .as_object()
                .expect("properties")
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            let mut want = public_fields(l);
            want.sort_unstable();
            assert_eq!(keys, want, "{id}: exactly the public fields");
        }
        let first = ids(&page)[0];
        for path in [
            format!("/ogc/collections/{id}/items/{first}"),
            format!("/ogc/collections/{id}/items/{first}?f=html"),
            format!("/ogc/collections/{id}/items?limit=20&f=html"),
            format!("/ogc/collections/{id}?f=html"),
            "/ogc/api".to_owned(),
        ] {
            let body = text(&server.get(&path, &[]));
            for h in &hidden {
                assert!(!body.contains(h), "'{h}' appears in {path}");
            }
        }
        let one = doc(
            &server,
            &format!("/ogc/collections/{id}/items/{first}"),
            "application/geo+json",
        );
        assert_eq!(one["type"], "Feature");
        assert_eq!(one["id"], first);
        assert_eq!(
            one["properties"].as_object().expect("properties").len(),
            public_fields(l).len()
        );
        assert!(link(&one, "collection", None).is_some() && link(&one, "self", Some("application/geo+json")).is_some());

        // Asking for a restricted field is answered like asking for one that does not exist.
        let refused = server.get(&format!("/ogc/collections/{id}/items?properties={}", hidden[0]), &[]);
        let missing = server.get(&format!("/ogc/collections/{id}/items?properties=no_such_field"), &[]);
        assert_eq!((refused.status, missing.status), (400, 400));
        assert_eq!(
            refused.json()["error"]["message"]
                .as_str()
                .map(|m| m.replace(hidden[0], "X")),
            missing.json()["error"]["message"]
                .as_str()
                .map(|m| m.replace("no_such_field", "X"))
        );
        let message = missing.json()["error"]["message"].as_str().expect("message").to_owned();
        for f in public_fields(l) {
            assert!(message.contains(f), "the error names the valid field {f}: {message}");
        }
    }

    // properties chooses among the public fields, for pages and single features.
    let page = doc(
        &server,
        "/ogc/collections/crop/items?properties=area_ha,crop_type&limit=3",
        "application/geo+json",
    );
    for f in page["features"].as_array().expect("features") {
        let keys: BTreeSet<&str> = f["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, BTreeSet::from(["area_ha", "crop_type"]));
    }
    assert!(link(&page, "next", None).is_some_and(|n| n.contains("properties=area_ha,crop_type")));
    let one = doc(
        &server,
        "/ogc/collections/crop/items/1?properties=season",
        "application/geo+json",
    );
    assert_eq!(one["properties"].as_object().map(serde_json::Map::len), Some(1));
    assert!(one["properties"]["season"].is_string());
}

// One scenario from start to end: its steps read best in order.
#[allow(clippy::too_many_lines)]
fn bbox_limit_and_datetime_select_what_the_store_holds(kind: StoreKind) {
    let server = kind.demo_server("ogc_selection");
    let [w, s, e, n] = manifest().bounds;
    let (cx, cy) = (f64::midpoint(w, e), f64::midpoint(s, n));
    let (dx, dy) = ((e - w) / 4.0, (n - s) / 4.0);
    let rect = Rect::new(coord! { x: cx - dx, y: cy - dy }, coord! { x: cx + dx, y: cy + dy });
    for id in ["ocop", "growing_area", "roads"] {
        let want: Vec<i64> = stored(&server, id, &FeatureQuery::in_bbox(rect))
            .iter()
            .map(|f| f.id)
            .collect();
        assert!(!want.is_empty(), "{id} in the middle of the province");
        let page = doc(
            &server,
            &format!(
                "/ogc/collections/{id}/items?bbox={},{},{},{}&limit=10000",
                cx - dx,
                cy - dy,
                cx + dx,
                cy + dy
            ),
            "application/geo+json",
        );
        assert_eq!(ids(&page), want, "{id} in the box");
    }
    // Six numbers: heights are ignored.
    let page = doc(
        &server,
        &format!(
            "/ogc/collections/ocop/items?bbox={},{},0,{},{},100&limit=1",
            cx - dx,
            cy - dy,
            cx + dx,
            cy + dy
        ),
        "application/geo+json",
    );
    assert_eq!(
        page["numberMatched"].as_u64(),
        Some(stored(&server, "ocop", &FeatureQuery::in_bbox(rect)).len() as u64)
    );
    // Across the antimeridian, far from Vietnam: nothing.
    let page = doc(
        &server,
        "/ogc/collections/ocop/items?bbox=170,-10,-170,10",
        "application/geo+json",
    );
    assert_eq!(page["numberMatched"], 0);
    for bad in [
        "1,2,3",
        "1,2,3,4,5",
        "a,b,c,d",
        "0,0,200,1",
        "0,10,1,5",
        "NaN,0,1,1",
        "",
    ] {
        assert_eq!(
            error(&server, &format!("/ogc/collections/ocop/items?bbox={bad}"), 400),
            "bad_bbox",
            "bbox={bad}"
        );
    }

    // limit: 10 by default, capped at 10,000, refused when not a positive whole number.
    let page = doc(&server, "/ogc/collections/crop/items", "application/geo+json");
    assert_eq!(page["numberReturned"], 10);
    let page = doc(
        &server,
        "/ogc/collections/crop/items?limit=20000",
        "application/geo+json",
    );
    assert_eq!(page["numberReturned"], 10_000);
    assert!(link(&page, "next", None).is_some_and(|n| n.contains("limit=10000") && n.contains("offset=10000")));
    for bad in ["0", "-1", "ten", "1.5", ""] {
        assert_eq!(
            error(&server, &format!("/ogc/collections/crop/items?limit={bad}"), 400),
            "bad_limit"
        );
    }
    assert_eq!(
        error(&server, "/ogc/collections/crop/items?offset=-3", 400),
        "bad_offset"
    );

    // datetime on stocking dates: an interval, an open start, and an instant.
    let aqua = layer("aquaculture").expect("aquaculture");
    let ponds = stored(&server, "aquaculture", &FeatureQuery::default());
    let stocked = |f: &Feature| value(aqua, f, "stocking_date").as_str().map(str::to_owned);
    let mut dates: Vec<String> = ponds.iter().filter_map(stocked).collect();
    dates.sort();
    let (lo, hi) = (dates[dates.len() / 4].clone(), dates[dates.len() / 2].clone());
    for (param, keep) in [
        (
            format!("{lo}/{hi}"),
            Box::new(|d: &str| d >= lo.as_str() && d <= hi.as_str()) as Box<dyn Fn(&str) -> bool>,
        ),
        (format!("../{hi}"), Box::new(|d: &str| d <= hi.as_str())),
        (format!("{lo}T10:00:00Z"), Box::new(|d: &str| d == lo.as_str())),
        (format!("{lo}T23:30:00-07:00/.."), Box::new(|d: &str| d > lo.as_str())),
    ] {
        let want = ponds.iter().filter(|f| stocked(f).is_some_and(|d| keep(&d))).count();
        assert!(want > 0, "{param}");
        let page = doc(
            &server,
            &format!("/ogc/collections/aquaculture/items?datetime={param}&limit=1"),
            "application/geo+json",
        );
        assert_eq!(page["numberMatched"].as_u64(), Some(want as u64), "datetime={param}");
    }
    // Station timestamps, to the second.
    let monitoring = layer("monitoring").expect("monitoring");
    let stations = stored(&server, "monitoring", &FeatureQuery::default());
    let at = value(monitoring, &stations[0], "last_reading_at")
        .as_str()
        .expect("a reading time")
        .to_owned();
    let want: Vec<i64> = stations
        .iter()
        .filter(|f| value(monitoring, f, "last_reading_at").as_str() == Some(at.as_str()))
        .map(|f| f.id)
        .collect();
    let page = doc(
        &server,
        &format!("/ogc/collections/monitoring/items?datetime={at}&limit=100"),
        "application/geo+json",
    );
    assert_eq!(ids(&page), want, "stations read at {at}");
    // Growing areas are valid from issue to expiry.
    let areas_layer = layer("growing_area").expect("growing_area");
    let areas = stored(&server, "growing_area", &FeatureQuery::default());
    let mut expiries: Vec<&str> = areas
        .iter()
        .filter_map(|f| value(areas_layer, f, "expires_on").as_str())
        .collect();
    expiries.sort_unstable();
    let day = expiries[expiries.len() / 2];
    let want = areas
        .iter()
        .filter(|f| {
            value(areas_layer, f, "issued_on").as_str().is_some_and(|i| i <= day)
                && value(areas_layer, f, "expires_on").as_str().is_none_or(|x| x >= day)
        })
        .count();
    let page = doc(
        &server,
        &format!("/ogc/collections/growing_area/items?datetime={day}&limit=1"),
        "application/geo+json",
    );
    assert_eq!(
        page["numberMatched"].as_u64(),
        Some(want as u64),
        "areas valid on {day}"
    );
    assert!(want > 0 && want < areas.len());
    assert_eq!(
        error(&server, "/ogc/collections/roads/items?datetime=2025-01-01", 400),
        "bad_datetime"
    );
    for bad in [
        "2025-02-30",
        "yesterday",
        "2025-03-02/2025-03-01",
        "..",
        "2025-03-01T07:00:00",
    ] {
        assert_eq!(
            error(&server, &format!("/ogc/collections/crop/items?datetime={bad}"), 400),
            "bad_datetime",
            "{bad}"
        );
    }
}

fn odd_requests_answer_json_errors(kind: StoreKind) {
    let server = kind.demo_server("ogc_odd");
    assert_eq!(error(&server, "/ogc/collections/parcels", 404), "unknown_collection");
    assert_eq!(
        error(&server, "/ogc/collections/parcels/items", 404),
        "unknown_collection"
    );
    assert_eq!(
        error(&server, "/ogc/collections/parcels/items/1", 404),
        "unknown_collection"
    );
    for id in ["0", "-1", "999999999", "99999999999999999999999", "abc", "1.0", "%20"] {
        assert_eq!(
            error(&server, &format!("/ogc/collections/ocop/items/{id}"), 404),
            "unknown_feature",
            "{id}"
        );
    }
    assert_eq!(
        error(&server, "/ogc/collections/crop/items?sortby=crop_type", 400),
        "unknown_parameter"
    );
    assert_eq!(
        error(&server, "/ogc/collections/crop/items?crs=EPSG:3857", 400),
        "bad_crs"
    );
    assert_eq!(
        error(&server, "/ogc/collections/crop?crs=EPSG:4326", 400),
        "unknown_parameter"
    );
    assert_eq!(error(&server, "/ogc/collections?limit=5", 400), "unknown_parameter");
    assert_eq!(
        error(&server, "/ogc/collections/crop/items?limit=5&limit=6", 400),
        "bad_parameter"
    );
    assert_eq!(
        error(&server, "/ogc/collections/crop/items/1?bbox=1,2,3,4", 400),
        "unknown_parameter"
    );
    for query in [
        "%",
        "%zz=1",
        "limit=%ff",
        "bbox=%ff,%fe,1,2",
        "bbox=1e400,0,1,1",
        "bbox=,,,",
        "datetime=%00",
        "datetime=9999-12-31T23:59:60Z",
        "datetime=0000-01-01/..",
        "datetime=////",
        "properties=,,,",
        "properties=%C3%A1",
        "commune=%27%3B%20DROP%20TABLE%20crop%3B--",
        "offset=18446744073709551616",
        "limit=1&offset=9223372036854775807",
        "f=",
        "f=HTML",
        "=&&=",
        "a[b]=c",
        "bbox=-180,-90,180,90&datetime=../..&limit=10000&offset=59990",
    ] {
        for path in ["/ogc/collections/crop/items", "/ogc/collections/roads/items", "/ogc"] {
            let r = server.get(&format!("{path}?{query}"), &[]);
            assert!(
                [200, 400, 404].contains(&r.status),
                "{path}?{query} answered {}: {}",
                r.status,
                text(&r)
            );
            if r.status != 200 {
                let _ = r.error_code();
            }
        }
    }
    let r = server.get(
        "/ogc/collections/crop/items",
        &[("accept", "text/html;q=abc, */*;q=-1")],
    );
    assert_eq!(r.status, 200);
}

fn ogr(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{} must be installed (gdal-bin): {e}", args[0]));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed:\n{stdout}\n{stderr}");
    assert!(!stderr.contains("ERROR"), "{args:?}:\n{stderr}");
    stdout
}

fn gdal_lists_and_copies_the_collections(kind: StoreKind) {
    let server = kind.demo_server("ogc_gdal");
    let source = format!("OAPIF:{}/ogc", server.base);
    let listing = ogr(&["ogrinfo", "-ro", "-so", &source]);
    for (i, l) in catalog().iter().enumerate() {
        assert!(
            listing
                .lines()
                .any(|line| line.starts_with(&format!("{}: {} ", i + 1, l.id))),
            "ogrinfo does not list {}:\n{listing}",
            l.id
        );
    }
    let manifest = manifest();
    let summary = ogr(&["ogrinfo", "-ro", "-so", &source, "ocop"]);
    assert!(
        summary.contains(&format!("Feature Count: {}\n", manifest.counts["ocop"])),
        "{summary}"
    );

    let dir = agrimap_suite::scratch_dir(&format!("ogc-gdal-{}", kind.name()));
    for id in ["ocop", "growing_area"] {
        let out = dir.join(format!("{id}.geojson"));
        let out_path = out.to_str().expect("utf-8 path");
        ogr(&["ogr2ogr", "-f", "GeoJSON", out_path, &source, id]);
        let copy: Json = serde_json::from_slice(&std::fs::read(&out).expect("ogr2ogr output")).expect("GeoJSON");
        let features = copy["features"].as_array().expect("features");
        assert_eq!(
            features.len(),
            manifest.counts[id],
            "{id}: ogr2ogr copied every feature"
        );
        let l = layer(id).expect("layer");
        let want = public_fields(l);
        for f in features {
            let mut names: Vec<&str> = f["properties"]
                .as_object()
                .expect("properties")
                .keys()
                .map(String::as_str)
                .collect();
            names.sort_unstable();
            let mut sorted = want.clone();
            sorted.sort_unstable();
            assert_eq!(names, sorted, "{id}: the attributes are the catalog's public fields");
        }
        // ogr2ogr keeps GDAL's field order: the schema order of the catalog.
        let raw = std::fs::read_to_string(&out).expect("output");
        let first = raw.find("\"features\"").expect("features");
        let positions: Vec<usize> = want
            .iter()
            .map(|name| raw[first..].find(&format!("\"{name}\":")).expect("field") + first)
            .collect();
        assert!(positions.windows(2).all(|p| p[0] < p[1]), "{id}: fields out of order");
    }
    // With -preserve_fid the copy keeps the store's feature ids.
    let out = dir.join("growing_area_fid.geojson");
    ogr(&[
        "ogr2ogr",
        "-preserve_fid",
        "-f",
        "GeoJSON",
        out.to_str().expect("utf-8 path"),
        &source,
        "growing_area",
    ]);
    let copy: Json = serde_json::from_slice(&std::fs::read(&out).expect("ogr2ogr output")).expect("GeoJSON");
    let ids: Vec<i64> = copy["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["id"].as_i64().expect("id"))
        .collect();
    let want: Vec<i64> = stored(&server, "growing_area", &FeatureQuery::default())
        .iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(ids, want);
}

/// Every position of a GeoJSON geometry, as (x, y).
fn positions(geometry: &Json) -> Vec<(f64, f64)> {
    fn walk(v: &Json, out: &mut Vec<(f64, f64)>) {
        match v.as_array() {
            Some(a) if a.len() >= 2 && a.iter().all(Json::is_number) => {
                out.push((a[0].as_f64().expect("x"), a[1].as_f64().expect("y")));
            }
            Some(a) => a.iter().for_each(|c| walk(c, out)),
            None => {}
        }
    }
    let mut out = Vec::new();
    walk(&geometry["coordinates"], &mut out);
    out
}

const UTM48: &str = "http://www.opengis.net/def/crs/EPSG/0/3405";
const EPSG4326: &str = "http://www.opengis.net/def/crs/EPSG/0/4326";

/// The CRS84 envelope of a box in `crs` (a PROJ string), from PROJ's own
/// `cs2cs` over 33 points along each edge.
fn envelope_by_cs2cs(crs: &str, [x0, y0, x1, y1]: [f64; 4]) -> [f64; 4] {
    use std::fmt::Write as _;
    use std::io::Write;
    let mut input = String::new();
    for i in 0..=32 {
        let f = f64::from(i) / 32.0;
        let (x, y) = (x0 + (x1 - x0) * f, y0 + (y1 - y0) * f);
        let _ = write!(input, "{x} {y0}\n{x} {y1}\n{x0} {y}\n{x1} {y}\n");
    }
    let mut child = Command::new("cs2cs")
        .args(["-f", "%.12f"])
        .args(crs.split_whitespace())
        .args(["+to", "+proj=longlat", "+datum=WGS84", "+no_defs"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cs2cs (Debian's proj-bin) must be installed: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("cs2cs");
    let mut env = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let n: Vec<f64> = line.split_whitespace().filter_map(|v| v.parse().ok()).collect();
        env = [env[0].min(n[0]), env[1].min(n[1]), env[2].max(n[0]), env[3].max(n[1])];
    }
    env
}

// One scenario from start to end: its steps read best in order. Its short
// names are those of coordinates (x, y, e, n) and of the three pages compared.
#[allow(clippy::too_many_lines, clippy::many_single_char_names)]
fn crs_and_bbox_crs_transform_what_is_answered(kind: StoreKind) {
    let server = kind.demo_server("ogc_crs");
    let conformance = doc(&server, "/ogc/conformance", "application/json");
    assert!(
        conformance["conformsTo"]
            .as_array()
            .expect("classes")
            .iter()
            .any(|c| c == "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs")
    );
    let collections = doc(&server, "/ogc/collections", "application/json");
    for c in collections["collections"].as_array().expect("collections") {
        assert_eq!(c["storageCrs"], CRS84, "{}", c["id"]);
        let list: Vec<&str> = c["crs"]
            .as_array()
            .expect("crs")
            .iter()
            .filter_map(Json::as_str)
            .collect();
        assert_eq!(list[0], CRS84);
        for uri in [EPSG4326, UTM48, "http://www.opengis.net/def/crs/EPSG/0/9210"] {
            assert!(list.contains(&uri), "{}: {list:?}", c["id"]);
        }
    }

    // The same page in CRS84, EPSG:4326 and VN-2000 / UTM 48N.
    let page_in = |crs: Option<&str>| {
        let path = match crs {
            None => "/ogc/collections/growing_area/items?limit=20".to_owned(),
            Some(c) => format!("/ogc/collections/growing_area/items?limit=20&crs={c}"),
        };
        let r = server.get(&path, &[]);
        assert_eq!(r.status, 200, "{path}: {}", text(&r));
        let named = r.header("content-crs").map(str::to_owned);
        (r.json(), named)
    };
    let (lon_lat, named) = page_in(None);
    assert_eq!(named.as_deref(), Some(format!("<{CRS84}>").as_str()));
    let (lat_lon, named) = page_in(Some("EPSG:4326"));
    assert_eq!(named, Some(format!("<{EPSG4326}>")));
    let (utm, named) = page_in(Some(UTM48));
    assert_eq!(named, Some(format!("<{UTM48}>")));
    assert_eq!(ids(&lon_lat), ids(&utm));
    assert_eq!(ids(&lon_lat), ids(&lat_lon));
    let features = |p: &Json| p["features"].as_array().expect("features").clone();
    for ((a, b), c) in features(&lon_lat).iter().zip(features(&lat_lon)).zip(features(&utm)) {
        let (a, b, c) = (
            positions(&a["geometry"]),
            positions(&b["geometry"]),
            positions(&c["geometry"]),
        );
        assert!(!a.is_empty());
        assert_eq!(a.len(), b.len());
        assert_eq!(a.len(), c.len());
        for ((lon, lat), (y, x)) in a.iter().zip(&b) {
            assert_eq!((lon, lat), (x, y), "EPSG:4326 is latitude first");
        }
        for &(e, n) in &c {
            // Metres of UTM zone 48N, at 105.5–106.2° E, 9.6–10.3° N.
            assert!(
                (540_000.0..640_000.0).contains(&e) && (1_060_000.0..1_140_000.0).contains(&n),
                "{e} {n}"
            );
        }
    }
    // The next link keeps the CRS.
    let next = link(&utm, "next", Some("application/geo+json")).expect("next");
    assert!(next.contains("crs=http"), "{next}");
    let r = request("GET", next, &[]);
    assert_eq!(r.header("content-crs"), Some(format!("<{UTM48}>").as_str()));

    // One feature: the same positions as in the page, in HTML too.
    let id = ids(&utm)[0];
    let r = server.get(&format!("/ogc/collections/growing_area/items/{id}?crs={UTM48}"), &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-crs"), Some(format!("<{UTM48}>").as_str()));
    assert_eq!(r.json()["geometry"], features(&utm)[0]["geometry"]);
    for path in [
        format!("/ogc/collections/growing_area/items/{id}?crs={UTM48}&f=html"),
        format!("/ogc/collections/crop/items?crs={UTM48}&f=html"),
    ] {
        let r = server.get(&path, &[]);
        assert_eq!(r.status, 200, "{path}");
        assert!(text(&r).contains("</table>"), "{path}");
    }

    // bbox-crs: a box of VN-2000 / UTM 48N selects what its CRS84 envelope
    // (by PROJ) selects; a box latitude first what the same box in CRS84 does.
    let utm_box = [570_000.0, 1_090_000.0, 600_000.0, 1_115_000.0];
    let definition = "+proj=utm +zone=48 +ellps=WGS84 +towgs84=-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278 +units=m +no_defs";
    let [w, s, e, n] = envelope_by_cs2cs(definition, utm_box);
    for id in ["ocop", "growing_area", "crop"] {
        let (want, _) = all_pages(
            &server,
            &format!("/ogc/collections/{id}/items?bbox={w},{s},{e},{n}&limit=10000"),
        );
        assert!(!want.is_empty(), "{id} in the box");
        let [x0, y0, x1, y1] = utm_box;
        let (got, _) = all_pages(
            &server,
            &format!("/ogc/collections/{id}/items?bbox={x0},{y0},{x1},{y1}&bbox-crs={UTM48}&limit=10000"),
        );
        assert_eq!(got, want, "{id}: bbox-crs EPSG:3405");
        let (got, _) = all_pages(
            &server,
            &format!("/ogc/collections/{id}/items?bbox={s},{w},{n},{e}&bbox-crs=EPSG:4326&limit=10000"),
        );
        assert_eq!(got, want, "{id}: bbox-crs EPSG:4326");
    }

    // filter-crs: S_INTERSECTS with a 20 m box around a corner of each of the
    // first growing areas, in UTM metres or latitude first, finds that area.
    let (points, _) = page_in(Some(UTM48));
    let (points84, _) = page_in(None);
    for (utm_f, f) in features(&points).iter().zip(features(&points84)).take(5) {
        let (e, n) = positions(&utm_f["geometry"])[0];
        let (lon, lat) = positions(&f["geometry"])[0];
        let id = f["id"].as_i64().expect("id");
        for (filter, crs) in [
            (
                format!(
                    "S_INTERSECTS(geometry,BBOX({},{},{},{}))",
                    e - 10.0,
                    n - 10.0,
                    e + 10.0,
                    n + 10.0
                ),
                UTM48,
            ),
            (
                format!(
                    "S_INTERSECTS(geometry,BBOX({},{},{},{}))",
                    lat - 1e-4,
                    lon - 1e-4,
                    lat + 1e-4,
                    lon + 1e-4
                ),
                EPSG4326,
            ),
        ] {
            let page = doc(
                &server,
                &format!(
                    "/ogc/collections/growing_area/items?filter={}&filter-crs={crs}",
                    filter.replace(' ', "%20")
                ),
                "application/geo+json",
            );
            assert!(ids(&page).contains(&id), "{filter} in {crs}: {:?}", ids(&page));
        }
    }

    // CRSs not offered, named back with the list of those that are.
    for (path, code) in [
        ("/ogc/collections/ocop/items?crs=EPSG:3857", "bad_crs"),
        ("/ogc/collections/ocop/items?crs=VN-2000", "bad_crs"),
        ("/ogc/collections/ocop/items/1?crs=EPSG:32648", "bad_crs"),
        ("/ogc/collections/ocop/items?bbox=0,0,1,1&bbox-crs=EPSG:3857", "bad_crs"),
        (
            "/ogc/collections/ocop/items?bbox=600000,0,500000,1&bbox-crs=EPSG:3405",
            "bad_bbox",
        ),
        (
            "/ogc/collections/ocop/items?filter=stars=5&filter-crs=EPSG:3857",
            "bad_filter_crs",
        ),
    ] {
        let r = server.get(path, &[]);
        assert_eq!(r.status, 400, "{path}: {}", text(&r));
        assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
        assert_eq!(r.error_code(), code, "{path}");
        if code == "bad_crs" {
            let message = r.json()["error"]["message"].as_str().expect("message").to_owned();
            assert!(message.contains(UTM48) && message.contains(CRS84), "{message}");
        }
    }
}

agrimap_suite::store_suite!(
    number_matched_follows_a_write_between_pages,
    landing_conformance_and_api_link_up,
    collections_are_the_catalog_with_counts_and_extents,
    commune_selects_the_features_the_store_holds_there,
    paging_visits_every_feature_once,
    restricted_fields_never_appear,
    bbox_limit_and_datetime_select_what_the_store_holds,
    odd_requests_answer_json_errors,
    gdal_lists_and_copies_the_collections,
    crs_and_bbox_crs_transform_what_is_answered,
);
