//! Finding communes over HTTP: `/api/communes` (search by name or code, list,
//! filters, paging) and `/api/communes/{code}` (one commune with its boundary),
//! checked against the demo province as the store holds it. Every case runs
//! against both stores (GeoPackage and PostGIS) from this one definition.

use agrimap_model::search::fold;
use agrimap_model::{Audience, Feature, FeatureQuery, LayerDef, Value, layer};
use agrimap_suite::{StoreKind, TestServer};
use geo::{Contains, Coord, Geometry, LineString, MultiPolygon, Point, Polygon};
use serde_json::Value as Json;

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// One administrative unit as the store holds it.
#[derive(Debug, Clone)]
struct Unit {
    id: i64,
    layer: &'static LayerDef,
    properties: Vec<Value>,
    geometry: Geometry<f64>,
}

impl Unit {
    fn get(&self, field: &str) -> &Value {
        &self.properties[self.layer.field_index(field).expect("field")]
    }

    fn text(&self, field: &str) -> &str {
        self.get(field).as_str().unwrap_or("")
    }
}

fn units(server: &TestServer, id: &str) -> Vec<Unit> {
    let l = layer(id).expect("layer");
    let query = FeatureQuery {
        audience: Audience::Full,
        ..FeatureQuery::default()
    };
    block_on(server.store.features(l, &query))
        .expect("read the layer")
        .into_iter()
        .map(
            |Feature {
                 id,
                 geometry,
                 properties,
             }| Unit {
                id,
                layer: l,
                properties,
                geometry,
            },
        )
        .collect()
}

fn commune_named(communes: &[Unit], name: &str) -> Unit {
    let found: Vec<&Unit> = communes.iter().filter(|c| c.text("name") == name).collect();
    assert_eq!(found.len(), 1, "exactly one commune named {name}");
    found[0].clone()
}

fn search(server: &TestServer, params: &str) -> Json {
    let r = server.get(&format!("/api/communes?{params}"), &[]);
    assert_eq!(r.status, 200, "{params}: {}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/json"), "{params}");
    let v = r.json();
    assert!(v["communes"].is_array(), "{params}: {v}");
    v
}

fn codes(v: &Json) -> Vec<String> {
    v["communes"]
        .as_array()
        .expect("communes")
        .iter()
        .map(|c| c["code"].as_str().expect("code").to_owned())
        .collect()
}

fn first_code(server: &TestServer, q: &str) -> String {
    let v = search(server, &format!("q={}", enc(q)));
    codes(&v)
        .first()
        .unwrap_or_else(|| panic!("nothing found for {q:?}"))
        .clone()
}

fn finds_my_xuong_and_tan_thuan_tay_however_they_are_typed(kind: StoreKind) {
    let server = kind.demo_server("finds_my_xuong_and_tan_thuan_tay_however_they_are_typed");
    let communes = units(&server, "admin_commune");
    let districts = units(&server, "admin_district");
    let provinces = units(&server, "admin_province");

    let my_xuong = commune_named(&communes, "Mỹ Xương");
    for q in [
        "my xuong",
        "MY XUONG",
        "Mỹ Xương",
        "mỹ xương",
        "xa my xuong",
        "Xã Mỹ Xương",
        "  my   xuong  ",
        "my-xuong",
        // Decomposed marks, as some keyboards send them.
        "My\u{0303} Xu\u{031b}o\u{031b}ng",
    ] {
        assert_eq!(first_code(&server, q), my_xuong.text("code"), "q = {q:?}");
    }
    let tan_thuan_tay = commune_named(&communes, "Tân Thuận Tây");
    for q in [
        "tan thuan tay",
        "TÂN THUẬN TÂY",
        "xã tân thuận tây",
        "tan thuan t",
        "thuan tay",
    ] {
        assert_eq!(first_code(&server, q), tan_thuan_tay.text("code"), "q = {q:?}");
    }

    // The first answer carries what the list promises, and no boundary.
    let v = search(&server, "q=my+xuong");
    let c = &v["communes"][0];
    let district = districts
        .iter()
        .find(|d| d.text("code") == my_xuong.text("district_code"))
        .expect("the district of Mỹ Xương");
    let province = provinces
        .iter()
        .find(|p| p.text("code") == my_xuong.text("province_code"))
        .expect("the province of Mỹ Xương");
    assert_eq!(c["name"], "Mỹ Xương");
    assert_eq!(c["kind"], my_xuong.text("kind"));
    assert_eq!(c["district_code"], district.text("code"));
    assert_eq!(c["district_name"], district.text("name"));
    assert_eq!(c["province_code"], province.text("code"));
    assert_eq!(c["province_name"], province.text("name"));
    assert_eq!(c["boundary_set"], my_xuong.text("boundary_set"));
    assert_eq!(c["area_ha"].as_f64(), my_xuong.get("area_ha").as_f64());
    for absent in ["boundary", "geometry", "coordinates"] {
        assert!(c.get(absent).is_none(), "the list carries {absent}: {c}");
    }
    let bbox: Vec<f64> = c["bbox"]
        .as_array()
        .expect("bbox")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect();
    let centre = point(&c["center"]);
    assert!(bbox[0] <= centre.x() && centre.x() <= bbox[2] && bbox[1] <= centre.y() && centre.y() <= bbox[3]);
    assert!(my_xuong.geometry.contains(&centre), "the centre lies in the commune");
}

fn point(v: &Json) -> Point<f64> {
    Point::new(v[0].as_f64().expect("longitude"), v[1].as_f64().expect("latitude"))
}

/// Which of the ranks a one-word query gives a name: prefix, word prefix, inside.
fn tier(folded_name: &str, q: &str) -> Option<u8> {
    if folded_name == q {
        Some(0)
    } else if folded_name.starts_with(q) {
        Some(1)
    } else if folded_name.split(' ').any(|w| w.starts_with(q)) {
        Some(2)
    } else if folded_name.contains(q) {
        Some(3)
    } else {
        None
    }
}

/// Every page of a search.
fn all_pages(server: &TestServer, params: &str) -> (Vec<Json>, u64) {
    let mut found = Vec::new();
    let mut total = None;
    loop {
        let v = search(server, &format!("{params}&limit=50&offset={}", found.len()));
        let page = v["communes"].as_array().expect("communes").clone();
        let t = v["total"].as_u64().expect("total");
        assert_eq!(*total.get_or_insert(t), t, "the total changed between pages");
        if page.is_empty() {
            break;
        }
        found.extend(page);
    }
    let total = total.expect("at least one page");
    assert_eq!(found.len() as u64, total, "{params}");
    (found, total)
}

fn results_are_ranked_then_ordered_by_name(kind: StoreKind) {
    let server = kind.demo_server("results_are_ranked_then_ordered_by_name");
    let communes = units(&server, "admin_commune");

    for q in ["an", "xuong", "thanh", "hoa"] {
        let (found, _) = all_pages(&server, &format!("q={q}"));
        let expected = communes.iter().filter(|c| fold(c.text("name")).contains(q)).count();
        assert_eq!(found.len(), expected, "every commune whose name holds {q:?}");
        let keys: Vec<(u8, String)> = found
            .iter()
            .map(|c| {
                let folded = fold(c["name"].as_str().expect("name"));
                (tier(&folded, q).expect("a match"), folded)
            })
            .collect();
        assert!(
            keys.windows(2).all(|w| w[0] <= w[1]),
            "{q:?}: not ranked, then ordered by name: {keys:?}"
        );
    }

    // Names that fold alike: the one spelled as typed comes first.
    for (name, other) in [("Phước Thạnh", "Phước Thành"), ("Phước Thành", "Phước Thạnh")] {
        let v = search(&server, &format!("q={}", enc(name)));
        let got: Vec<&str> = v["communes"]
            .as_array()
            .expect("communes")
            .iter()
            .map(|c| c["name"].as_str().expect("name"))
            .collect();
        assert_eq!(got[..2], [name, other], "q = {name:?}");
    }

    // By code: the exact code alone, or every code a prefix starts.
    let my_xuong = commune_named(&communes, "Mỹ Xương");
    let code = my_xuong.text("code");
    let v = search(&server, &format!("q={code}"));
    assert_eq!(codes(&v)[0], code);
    assert_eq!(v["total"], 1);
    let prefix = &code[..code.len() - 1];
    let (found, _) = all_pages(&server, &format!("q={prefix}"));
    let mut want: Vec<&str> = communes
        .iter()
        .map(|c| c.text("code"))
        .filter(|c| c.starts_with(prefix))
        .collect();
    want.sort_unstable();
    let mut got: Vec<&str> = found.iter().map(|c| c["code"].as_str().expect("code")).collect();
    got.sort_unstable();
    assert_eq!(got, want);

    // Filters narrow a search to a district or province.
    let district = my_xuong.text("district_code");
    let (found, _) = all_pages(&server, &format!("q=xuong&district={district}"));
    assert!(found.iter().any(|c| c["code"] == code));
    assert!(found.iter().all(|c| c["district_code"] == district));
    let elsewhere = communes
        .iter()
        .find(|c| c.text("district_code") != district && fold(c.text("name")).contains("xuong"))
        .expect("a Xương in another district");
    let v = search(
        &server,
        &format!("q={}&district={district}", enc(elsewhere.text("name"))),
    );
    assert!(!codes(&v).contains(&elsewhere.text("code").to_owned()));
    let province = my_xuong.text("province_code");
    let v = search(&server, &format!("q=my+xuong&province={province}"));
    assert_eq!(codes(&v)[0], code, "with the province");
    let v = search(
        &server,
        &format!("q=my+xuong&province={province}&boundary_set=pre-2025"),
    );
    assert_eq!(codes(&v)[0], code);
    let v = search(&server, "q=my+xuong&boundary_set=2025");
    assert_eq!(v["total"], 0, "the demo province has only the pre-2025 set");
}

fn without_a_query_every_commune_is_listed_in_pages(kind: StoreKind) {
    let server = kind.demo_server("without_a_query_every_commune_is_listed_in_pages");
    let communes = units(&server, "admin_commune");
    let mut want: Vec<&str> = communes.iter().map(|c| c.text("code")).collect();
    want.sort_unstable();

    let v = search(&server, "");
    assert_eq!(v["total"], want.len());
    assert_eq!(v["limit"], 10);
    assert_eq!(v["offset"], 0);
    assert_eq!(codes(&v), want[..10]);

    let (found, _) = all_pages(&server, "q=");
    let got: Vec<&str> = found.iter().map(|c| c["code"].as_str().expect("code")).collect();
    assert_eq!(got, want, "every commune once, in code order");

    let v = search(&server, "limit=500");
    assert_eq!(v["limit"], 50, "the page size is capped");
    assert_eq!(codes(&v).len(), 50);
    let v = search(&server, "offset=100000");
    assert!(codes(&v).is_empty());
    assert_eq!(v["total"], want.len());

    let district = communes[0].text("district_code");
    let (found, _) = all_pages(&server, &format!("district={district}"));
    let in_district = communes.iter().filter(|c| c.text("district_code") == district).count();
    assert_eq!(found.len(), in_district);
}

/// A GeoJSON polygon or multipolygon, read back.
fn read_geojson(v: &Json) -> Geometry<f64> {
    fn ring(v: &Json) -> LineString<f64> {
        v.as_array()
            .expect("ring")
            .iter()
            .map(|p| Coord {
                x: p[0].as_f64().expect("x"),
                y: p[1].as_f64().expect("y"),
            })
            .collect()
    }
    fn polygon(v: &Json) -> Polygon<f64> {
        let rings = v.as_array().expect("rings");
        Polygon::new(ring(&rings[0]), rings[1..].iter().map(ring).collect())
    }
    match v["type"].as_str() {
        Some("Polygon") => polygon(&v["coordinates"]).into(),
        Some("MultiPolygon") => MultiPolygon(
            v["coordinates"]
                .as_array()
                .expect("polygons")
                .iter()
                .map(polygon)
                .collect(),
        )
        .into(),
        other => panic!("a commune boundary is a polygon, got {other:?}"),
    }
}

fn coords(g: &Geometry<f64>) -> Vec<Coord<f64>> {
    use geo::CoordsIter;
    g.coords_iter().collect()
}

fn one_commune_with_district_province_and_boundary(kind: StoreKind) {
    let server = kind.demo_server("one_commune_with_district_province_and_boundary");
    let communes = units(&server, "admin_commune");
    let districts = units(&server, "admin_district");
    let provinces = units(&server, "admin_province");

    for name in ["Mỹ Xương", "Tân Thuận Tây"] {
        let c = commune_named(&communes, name);
        let code = c.text("code");
        let r = server.get(&format!("/api/communes/{code}"), &[]);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.header("content-type"), Some("application/json"));
        let v = r.json();
        assert_eq!(v["code"], code);
        assert_eq!(v["name"], name);
        assert_eq!(v["kind"], c.text("kind"));
        assert_eq!(v["boundary_set"], c.text("boundary_set"));
        let district = districts
            .iter()
            .find(|d| d.text("code") == c.text("district_code"))
            .expect("district");
        assert_eq!(v["district"]["code"], district.text("code"));
        assert_eq!(v["district"]["name"], district.text("name"));
        let province = provinces
            .iter()
            .find(|p| p.text("code") == c.text("province_code"))
            .expect("province");
        assert_eq!(v["province"]["code"], province.text("code"));
        assert_eq!(v["province"]["name"], province.text("name"));
        assert_eq!(v["area_ha"].as_f64(), c.get("area_ha").as_f64());
        assert!(v["area_ha"].as_f64().is_some_and(|a| a > 0.0));
        assert_eq!(v["ntm_status"].as_str(), c.get("ntm_status").as_str());
        assert_eq!(v["ntm_year"].as_i64(), c.get("ntm_year").as_i64());
        assert_eq!(v["population"].as_i64(), c.get("population").as_i64());
        assert!(v["population"].as_i64().is_some());

        let boundary = read_geojson(&v["boundary"]);
        let (got, want) = (coords(&boundary), coords(&c.geometry));
        assert_eq!(got.len(), want.len(), "{name}: vertex count");
        for (a, b) in got.iter().zip(&want) {
            assert!(
                (a.x - b.x).abs() < 1e-12 && (a.y - b.y).abs() < 1e-12,
                "{name}: {a:?} vs {b:?}"
            );
        }
        let centre = point(&v["center"]);
        assert!(boundary.contains(&centre), "{name}: the centre lies inside");
        let bbox = &v["bbox"];
        assert!(bbox[0].as_f64() <= Some(centre.x()) && bbox[2].as_f64() >= Some(centre.x()));
        assert_eq!(
            server
                .get(&format!("/api/communes/{code}?boundary_set=pre-2025"), &[])
                .status,
            200
        );
    }
}

fn unknown_codes_and_bad_input_answer_json_errors(kind: StoreKind) {
    let server = kind.demo_server("unknown_codes_and_bad_input_answer_json_errors");
    let communes = units(&server, "admin_commune");
    let code = commune_named(&communes, "Mỹ Xương").text("code").to_owned();
    let long_code = "7".repeat(5000);
    let long_q = "my xuong ".repeat(2000);
    let cases = [
        ("/api/communes/99999".to_owned(), 404, "unknown_commune"),
        (format!("/api/communes/{long_code}"), 404, "unknown_commune"),
        (
            format!("/api/communes/{code}?boundary_set=2025"),
            404,
            "unknown_commune",
        ),
        (
            format!("/api/communes/{code}?boundary_set=1999"),
            400,
            "bad_boundary_set",
        ),
        ("/api/communes/%FF".to_owned(), 400, "bad_encoding"),
        ("/api/communes?limit=abc".to_owned(), 400, "bad_limit"),
        ("/api/communes?limit=0".to_owned(), 400, "bad_limit"),
        ("/api/communes?limit=-3".to_owned(), 400, "bad_limit"),
        ("/api/communes?limit=2.5".to_owned(), 400, "bad_limit"),
        (
            "/api/communes?limit=99999999999999999999999".to_owned(),
            400,
            "bad_limit",
        ),
        ("/api/communes?offset=-1".to_owned(), 400, "bad_offset"),
        ("/api/communes?boundary_set=1999".to_owned(), 400, "bad_boundary_set"),
        ("/api/communes?district=nope".to_owned(), 400, "unknown_district"),
        ("/api/communes?province=00".to_owned(), 400, "unknown_province"),
        (format!("/api/communes?q={}", enc(&long_q)), 400, "bad_query"),
        ("/api/communes?q=a&q=b".to_owned(), 400, "bad_query"),
        ("/api/communes/".to_owned(), 404, "not_found"),
    ];
    for (path, status, error) in &cases {
        let r = server.get(path, &[]);
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (*status, *error),
            "{}",
            &path[..path.len().min(80)]
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
        let message = r.json()["error"]["message"].as_str().expect("message").to_owned();
        assert!(
            message.len() < 1000,
            "the message echoes too much: {} bytes",
            message.len()
        );
    }

    let r = server.get("/api/communes/99999", &[]);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .expect("message")
            .contains("'99999'")
    );
    let r = server.get("/api/communes?district=nope", &[]);
    let message = r.json()["error"]["message"].as_str().expect("message").to_owned();
    let district = commune_named(&communes, "Mỹ Xương").text("district_code").to_owned();
    assert!(message.contains(&district), "the valid districts are named: {message}");

    // Odd queries find little or nothing, and never fail.
    for q in [
        "%",
        "_",
        "%%__",
        "'; DROP TABLE admin_commune; --",
        "\0",
        "🌾🌾",
        "\u{0301}\u{0303}",
        "\u{202E}gnouX yM",
        "\u{FFFD}",
        "..\\..",
        "xã",
        "thị trấn",
        "x",
        "ﷺ",
        "İ",
        &"ữ".repeat(200),
    ] {
        search(&server, &format!("q={}", enc(q)));
    }
    for raw in ["q=%", "q=+", "q=%2B%2B", "limit=", "offset=&q="] {
        search(&server, raw);
    }
    // Bytes that are not UTF-8 once decoded are refused, not searched for lossily.
    for raw in ["q=%FF%FE", "q=%E1%BB"] {
        let r = server.get(&format!("/api/communes?{raw}"), &[]);
        assert_eq!((r.status, r.error_code().as_str()), (400, "bad_encoding"), "{raw}");
    }
    let r = agrimap_suite::request("POST", &format!("{}/api/communes", server.base), &[]);
    assert_eq!((r.status, r.error_code().as_str()), (405, "method_not_allowed"));
    assert_eq!(server.get("/health", &[]).status, 200);
}

fn a_changed_commune_is_found_at_once(kind: StoreKind) {
    let server = kind.demo_server("a_changed_commune_is_found_at_once");
    let communes = units(&server, "admin_commune");
    let my_xuong = commune_named(&communes, "Mỹ Xương");
    let code = my_xuong.text("code").to_owned();
    // Warm the index first.
    assert_eq!(first_code(&server, "my xuong"), code);
    assert_eq!(search(&server, "q=my+xuong+dong")["total"], 0);

    let layer = my_xuong.layer;
    let name = layer.field_index("name").expect("name");
    let features = communes
        .into_iter()
        .map(|mut c| {
            if c.id == my_xuong.id {
                c.properties[name] = Value::from("Mỹ Xương Đông");
            }
            Feature {
                id: 0,
                geometry: c.geometry,
                properties: c.properties,
            }
        })
        .collect();
    let batch = agrimap_store::WriteBatch {
        layers: vec![agrimap_store::LayerWrite {
            layer,
            replace: true,
            features,
        }],
        readings: vec![],
        ..Default::default()
    };
    block_on(server.store.write(batch)).expect("write");

    assert_eq!(first_code(&server, "my xuong dong"), code);
    let r = server.get(&format!("/api/communes/{code}"), &[]);
    assert_eq!(r.json()["name"], "Mỹ Xương Đông");
}

agrimap_suite::store_suite!(
    finds_my_xuong_and_tan_thuan_tay_however_they_are_typed,
    results_are_ranked_then_ordered_by_name,
    without_a_query_every_commune_is_listed_in_pages,
    one_commune_with_district_province_and_boundary,
    unknown_codes_and_bad_input_answer_json_errors,
    a_changed_commune_is_found_at_once,
);
