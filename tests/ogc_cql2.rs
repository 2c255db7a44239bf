//! OGC API – Features – Part 3 under `/ogc`, on both stores: CQL2 text
//! filters select exactly the features of the store that the same condition,
//! evaluated here in Rust, selects (comparisons, AND/OR/NOT with precedence,
//! LIKE, IN, BETWEEN, IS NULL, dates and timestamps); LIKE is case-sensitive
//! and text orders by code point in both stores; S_INTERSECTS is exact
//! intersection, checked with geo; bad filters answer 400 naming the position;
//! a restricted property is refused exactly like a missing one; queryables and
//! conformance advertise it all; and GDAL's OGC API driver turns `-where` into
//! a CQL2 filter that the server evaluates.

use agrimap_model::{Feature, FeatureQuery, LayerDef, Value, layer};
use agrimap_suite::{Reply, StoreKind, TestServer, request};
use geo::{
    BoundingRect, Geometry, GeometryCollection, Intersects, LineString, MultiPoint, MultiPolygon, Point, Polygon, Rect,
    coord,
};
use serde_json::Value as Json;
use std::process::Command;

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

fn text(r: &Reply) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// Percent-encodes a query value completely.
fn encode(s: &str) -> String {
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

/// Decodes a percent-encoded query value.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (other, _) => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every feature of the layer as the store holds it (public fields).
fn stored(server: &TestServer, id: &str) -> Vec<Feature> {
    block_on(
        server
            .store
            .features(layer(id).expect("layer"), &FeatureQuery::default()),
    )
    .expect("read the store")
}

/// The ids a filter selects through `/ogc`, every page followed.
fn selected(server: &TestServer, id: &str, filter: &str) -> Vec<i64> {
    selected_within(server, id, "", filter)
}

/// [`selected`] among the features the other parameters `within` select
/// (`&commune=…`, `&bbox=…`).
fn selected_within(server: &TestServer, id: &str, within: &str, filter: &str) -> Vec<i64> {
    let mut url = format!(
        "{}/ogc/collections/{id}/items?filter={}&limit=10000{within}",
        server.base,
        encode(filter)
    );
    let mut ids = Vec::new();
    let mut matched = None;
    loop {
        let r = request("GET", &url, &[]);
        assert_eq!(r.status, 200, "{id}: {filter}: {}", text(&r));
        let page = r.json();
        matched.get_or_insert(page["numberMatched"].as_u64().expect("numberMatched"));
        ids.extend(
            page["features"]
                .as_array()
                .expect("features")
                .iter()
                .map(|f| f["id"].as_i64().expect("id")),
        );
        let next = page["links"]
            .as_array()
            .expect("links")
            .iter()
            .find(|l| l["rel"] == "next" && l["type"] == "application/geo+json")
            .and_then(|l| l["href"].as_str());
        match next {
            Some(next) => {
                assert!(next.contains("filter="), "{next} keeps the filter");
                next.clone_into(&mut url);
            }
            None => break,
        }
    }
    assert_eq!(
        Some(ids.len() as u64),
        matched,
        "{id}: {filter}: the pages add up to numberMatched"
    );
    ids
}

/// A feature's public values by name.
struct Props<'a> {
    layer: &'static LayerDef,
    feature: &'a Feature,
}

impl Props<'_> {
    fn value(&self, name: &str) -> &Value {
        &self.feature.properties[self.layer.field_index(name).expect("field")]
    }
    fn s(&self, name: &str) -> Option<&str> {
        self.value(name).as_str()
    }
    fn i(&self, name: &str) -> Option<i64> {
        self.value(name).as_i64()
    }
    fn r(&self, name: &str) -> Option<f64> {
        self.value(name).as_f64()
    }
}

type Expect = fn(&Props<'_>) -> bool;

/// Filters and the same condition in Rust, in three-valued logic: a
/// comparison with a missing value is neither true nor false, and `NOT` of it
/// is not true either.
const CASES: &[(&str, &str, Expect)] = &[
    ("ocop", "stars = 5", |p| p.i("stars") == Some(5)),
    ("ocop", "stars <> 5", |p| p.i("stars").is_some_and(|v| v != 5)),
    ("ocop", "stars < 4", |p| p.i("stars").is_some_and(|v| v < 4)),
    ("ocop", "stars <= 4", |p| p.i("stars").is_some_and(|v| v <= 4)),
    ("ocop", "stars > 3", |p| p.i("stars").is_some_and(|v| v > 3)),
    ("ocop", "4 <= stars", |p| p.i("stars").is_some_and(|v| v >= 4)),
    ("ocop", "stars >= 4", |p| p.i("stars").is_some_and(|v| v >= 4)),
    ("ocop", "stars > 3.5", |p| p.i("stars").is_some_and(|v| v as f64 > 3.5)),
    ("ocop", "stars = 4.5", |_| false),
    ("ocop", "NOT stars = 4.5", |p| p.i("stars").is_some()),
    ("ocop", "\"stars\" = 3", |p| p.i("stars") == Some(3)),
    ("ocop", "category = 'food' AND stars >= 4", |p| {
        p.s("category") == Some("food") && p.i("stars").is_some_and(|v| v >= 4)
    }),
    // AND binds tighter than OR.
    (
        "ocop",
        "category = 'food' OR stars = 5 AND certified_year < 2024",
        |p| {
            p.s("category") == Some("food")
                || (p.i("stars") == Some(5) && p.i("certified_year").is_some_and(|y| y < 2024))
        },
    ),
    (
        "ocop",
        "(category = 'food' OR stars = 5) AND certified_year < 2024",
        |p| {
            (p.s("category") == Some("food") || p.i("stars") == Some(5))
                && p.i("certified_year").is_some_and(|y| y < 2024)
        },
    ),
    ("ocop", "NOT category = 'food' AND NOT (stars = 3)", |p| {
        p.s("category").is_some_and(|c| c != "food") && p.i("stars").is_some_and(|v| v != 3)
    }),
    ("ocop", "stars = 3 and category in ('food')", |p| {
        p.i("stars") == Some(3) && p.s("category") == Some("food")
    }),
    ("ocop", "category IN ('food', 'beverage')", |p| {
        matches!(p.s("category"), Some("food" | "beverage"))
    }),
    ("ocop", "category NOT IN ('food', 'beverage')", |p| {
        p.s("category").is_some_and(|c| c != "food" && c != "beverage")
    }),
    ("ocop", "stars IN (3, 4.5, 5)", |p| matches!(p.i("stars"), Some(3 | 5))),
    ("ocop", "stars BETWEEN 4 AND 5", |p| {
        p.i("stars").is_some_and(|v| (4..=5).contains(&v))
    }),
    ("ocop", "certified_year NOT BETWEEN 2021 AND 2024", |p| {
        p.i("certified_year").is_some_and(|y| !(2021..=2024).contains(&y))
    }),
    ("ocop", "producer IS NOT NULL", |p| p.s("producer").is_some()),
    ("ocop", "producer IS NULL", |p| p.s("producer").is_none()),
    ("ocop", "name LIKE 'Nước%'", |p| {
        p.s("name").is_some_and(|n| n.starts_with("Nước"))
    }),
    ("ocop", "producer LIKE '%Phù Sa'", |p| {
        p.s("producer").is_some_and(|n| n.ends_with("Phù Sa"))
    }),
    ("ocop", "product_id LIKE 'OCOP-99-00_1'", |p| {
        p.s("product_id")
            .is_some_and(|n| n.chars().count() == 12 && n.starts_with("OCOP-99-00") && n.ends_with('1'))
    }),
    ("ocop", "name NOT LIKE '%a%'", |p| {
        p.s("name").is_some_and(|n| !n.contains('a'))
    }),
    // Text orders by code point: 'ư' comes after 'z'.
    ("ocop", "name > 'Nz'", |p| p.s("name").is_some_and(|n| n > "Nz")),
    ("ocop", "name < 'B' OR name >= 'X'", |p| {
        p.s("name").is_some_and(|n| !("B".."X").contains(&n))
    }),
    ("ocop", "TRUE", |_| true),
    ("ocop", "NOT FALSE AND stars = 3", |p| p.i("stars") == Some(3)),
    ("monitoring", "latest_pest_count IS NULL", |p| {
        p.i("latest_pest_count").is_none()
    }),
    ("monitoring", "latest_salinity > 1", |p| {
        p.r("latest_salinity").is_some_and(|v| v > 1.0)
    }),
    ("monitoring", "NOT (latest_salinity > 1)", |p| {
        p.r("latest_salinity").is_some_and(|v| v <= 1.0)
    }),
    ("monitoring", "latest_salinity BETWEEN 0.3 AND 1.5", |p| {
        p.r("latest_salinity").is_some_and(|v| (0.3..=1.5).contains(&v))
    }),
    ("monitoring", "kind = 'insect_trap' AND latest_pest_count >= 200", |p| {
        p.s("kind") == Some("insect_trap") && p.i("latest_pest_count").is_some_and(|c| c >= 200)
    }),
    (
        "monitoring",
        "last_reading_at >= TIMESTAMP('2026-11-20T23:00:00Z')",
        |p| p.s("last_reading_at").is_some_and(|t| t >= "2026-11-20T23:00:00Z"),
    ),
    // Stored times are whole seconds: before 23:00:00.5 is at or before 23:00:00.
    (
        "monitoring",
        "last_reading_at < TIMESTAMP('2026-11-20T23:00:00.5Z')",
        |p| p.s("last_reading_at").is_some_and(|t| t <= "2026-11-20T23:00:00Z"),
    ),
    ("monitoring", "last_reading_at > '2026-11-20T22:00:00Z'", |p| {
        p.s("last_reading_at").is_some_and(|t| t > "2026-11-20T22:00:00Z")
    }),
    ("growing_area", "expires_on < DATE('2027-01-01')", |p| {
        p.s("expires_on").is_some_and(|d| d < "2027-01-01")
    }),
    (
        "growing_area",
        "issued_on >= DATE('2024-01-01') AND status <> 'active'",
        |p| p.s("issued_on").is_some_and(|d| d >= "2024-01-01") && p.s("status").is_some_and(|s| s != "active"),
    ),
    ("growing_area", "markets LIKE '%EU%'", |p| {
        p.s("markets").is_some_and(|m| m.contains("EU"))
    }),
    ("growing_area", "households > 10 OR cooperative LIKE 'HTX%'", |p| {
        p.i("households").is_some_and(|h| h > 10) || p.s("cooperative").is_some_and(|c| c.starts_with("HTX"))
    }),
    ("crop", "crop_type = 'durian' AND area_ha > 0.5", |p| {
        p.s("crop_type") == Some("durian") && p.r("area_ha").is_some_and(|a| a > 0.5)
    }),
    (
        "crop",
        "planting_date >= DATE('2026-11-15') AND crop_type IN ('mango', 'pomelo')",
        |p| {
            p.s("planting_date").is_some_and(|d| d >= "2026-11-15")
                && matches!(p.s("crop_type"), Some("mango" | "pomelo"))
        },
    ),
    ("crop", "practice = 'organic' AND area_ha < 0.3", |p| {
        p.s("practice") == Some("organic") && p.r("area_ha").is_some_and(|a| a < 0.3)
    }),
];

fn operators_select_exactly_what_the_store_holds(kind: StoreKind) {
    let server = kind.demo_server("cql2_operators");
    let mut layers: Vec<(&str, Vec<Feature>)> = Vec::new();
    let mut trivial = Vec::new();
    for (id, filter, expect) in CASES {
        if !layers.iter().any(|(l, _)| l == id) {
            layers.push((id, stored(&server, id)));
        }
        let (_, features) = layers.iter().find(|(l, _)| l == id).expect("loaded");
        let l = layer(id).expect("layer");
        let want: Vec<i64> = features
            .iter()
            .filter(|f| expect(&Props { layer: l, feature: f }))
            .map(|f| f.id)
            .collect();
        if want.is_empty() || want.len() == features.len() {
            trivial.push(*filter);
        }
        assert_eq!(selected(&server, id, filter), want, "{}: {id}: {filter}", kind.name());
    }
    // The cases are worth something: most select some features and leave others.
    assert!(
        trivial.len() <= CASES.len() / 4,
        "too many cases select all or nothing: {trivial:?}"
    );
}

fn like_is_case_sensitive(kind: StoreKind) {
    let server = kind.demo_server("cql2_like");
    let ocop = stored(&server, "ocop");
    let count = |filter: &str| selected(&server, "ocop", filter).len();
    let nuoc = ocop
        .iter()
        .filter(|f| {
            Props {
                layer: layer("ocop").expect("ocop"),
                feature: f,
            }
            .s("name")
            .is_some_and(|n| n.starts_with("Nước"))
        })
        .count();
    assert!(nuoc > 0, "the demo has Nước mắm producers");
    // The first letter differs in ASCII case only: SQLite's LIKE would match it.
    assert_eq!(count("name LIKE 'Nước%'"), nuoc);
    assert_eq!(count("name LIKE 'nước%'"), 0);
    assert_eq!(count("name LIKE 'NƯỚC%'"), 0);
    assert_eq!(count("product_id LIKE 'OCOP-%'"), ocop.len());
    assert_eq!(count("product_id LIKE 'ocop-%'"), 0);
    assert_eq!(count("NOT product_id LIKE 'ocop-%'"), ocop.len());
    // Escapes: a literal % and _ match only themselves.
    assert_eq!(count("product_id LIKE 'OCOP-99-\\%'"), 0);
    assert_eq!(count("product_id LIKE 'OCOP\\_%'"), 0);
    assert_eq!(count("product_id LIKE 'OCOP\\-99-%'"), ocop.len());
    assert_eq!(count("product_id LIKE '%'"), ocop.len());
    // GLOB's own wildcards are plain characters in a LIKE pattern.
    assert_eq!(count("product_id LIKE 'OCOP*'"), 0);
    assert_eq!(count("product_id LIKE 'OCOP-99-000?'"), 0);
    assert_eq!(count("product_id LIKE '[O]COP%'"), 0);
}

/// Both stores side by side: the same filters give the same features.
#[test]
fn stores_agree_on_like_case_and_text_order() {
    let gpkg = StoreKind::GeoPackage.demo_server("cql2_agree");
    let pg = StoreKind::PostGis.demo_server("cql2_agree");
    for filter in [
        "name LIKE 'Nước%'",
        "name LIKE 'nước%'",
        "name LIKE '%m_m%'",
        "product_id LIKE 'ocop%'",
        "name > 'Nz'",
        "name <= 'Mật ong'",
        "producer >= 'a' OR name < 'C'",
    ] {
        let (a, b) = (selected(&gpkg, "ocop", filter), selected(&pg, "ocop", filter));
        assert_eq!(a, b, "{filter}: GeoPackage and PostGIS disagree");
    }
    assert!(selected(&gpkg, "ocop", "name LIKE 'nước%'").is_empty());
}

fn wkt_polygon(p: &Polygon<f64>) -> String {
    let ring = |l: &LineString<f64>| {
        let pts: Vec<String> = l.0.iter().map(|c| format!("{} {}", c.x, c.y)).collect();
        format!("({})", pts.join(", "))
    };
    let rings: Vec<String> = std::iter::once(p.exterior()).chain(p.interiors()).map(ring).collect();
    format!("({})", rings.join(", "))
}

// One scenario from start to end: its steps read best in order.
#[allow(clippy::too_many_lines)]
fn s_intersects_is_exact(kind: StoreKind) {
    let server = kind.demo_server("cql2_spatial");
    let crop = layer("crop").expect("crop");
    let c = |x: f64, y: f64| coord! { x: x, y: y };
    // A triangle over a block of parcels: its hypotenuse cuts through them.
    let triangle = Polygon::new(
        LineString(vec![
            c(105.80501, 9.87003),
            c(105.80897, 9.87011),
            c(105.80523, 9.87389),
            c(105.80501, 9.87003),
        ]),
        vec![],
    );
    let bbox = triangle.bounding_rect().expect("rect");
    let candidates = block_on(server.store.features(crop, &FeatureQuery::in_bbox(bbox))).expect("candidates");
    let exact = |g: &Geometry<f64>| -> Vec<i64> {
        candidates
            .iter()
            .filter(|f| f.geometry.intersects(g))
            .map(|f| f.id)
            .collect()
    };
    let want = exact(&Geometry::Polygon(triangle.clone()));
    assert!(want.len() >= 3, "the triangle cuts a few parcels: {want:?}");
    assert!(
        want.len() < candidates.len(),
        "some parcels meet the triangle's box but not the triangle ({} of {})",
        want.len(),
        candidates.len()
    );
    let filter = format!("S_INTERSECTS(geometry, POLYGON{})", wkt_polygon(&triangle));
    assert_eq!(selected(&server, "crop", &filter), want, "{filter}");

    // The other ways to write geometries, each checked with geo.
    let second = Polygon::new(
        LineString(vec![
            c(105.8120, 9.8690),
            c(105.8150, 9.8691),
            c(105.8121, 9.8720),
            c(105.8120, 9.8690),
        ]),
        vec![],
    );
    let multi = MultiPolygon(vec![triangle.clone(), second.clone()]);
    let line = LineString(vec![
        c(105.80401, 9.87102),
        c(105.80907, 9.87333),
        c(105.81012, 9.87001),
    ]);
    let inside = candidates[candidates.len() / 2]
        .geometry
        .bounding_rect()
        .expect("parcel")
        .center();
    let points = MultiPoint(vec![Point(inside), Point(c(105.80555, 9.87277))]);
    let collection = GeometryCollection(vec![Geometry::Point(Point(inside)), Geometry::LineString(line.clone())]);
    let line_wkt = |l: &LineString<f64>| {
        let pts: Vec<String> = l.0.iter().map(|c| format!("{} {}", c.x, c.y)).collect();
        format!("({})", pts.join(", "))
    };
    let everything = [
        (
            format!(
                "S_INTERSECTS(geometry, MULTIPOLYGON({}, {}))",
                wkt_polygon(&triangle),
                wkt_polygon(&second)
            ),
            Geometry::MultiPolygon(multi),
        ),
        (
            format!("S_INTERSECTS(LINESTRING{}, geometry)", line_wkt(&line)),
            Geometry::LineString(line.clone()),
        ),
        (
            format!("S_INTERSECTS(geometry, POINT({} {}))", inside.x, inside.y),
            Geometry::Point(Point(inside)),
        ),
        (
            format!(
                "S_INTERSECTS(geometry, MULTIPOINT(({} {}), (105.80555 9.87277)))",
                inside.x, inside.y
            ),
            Geometry::MultiPoint(points),
        ),
        (
            format!(
                "S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT({} {}), LINESTRING{}))",
                inside.x,
                inside.y,
                line_wkt(&line)
            ),
            Geometry::GeometryCollection(collection),
        ),
    ];
    for (filter, geometry) in everything {
        let r = geometry.bounding_rect().expect("rect");
        let candidates = block_on(server.store.features(crop, &FeatureQuery::in_bbox(r))).expect("candidates");
        let want: Vec<i64> = candidates
            .iter()
            .filter(|f| f.geometry.intersects(&geometry))
            .map(|f| f.id)
            .collect();
        assert!(!want.is_empty(), "{filter} meets some parcel");
        assert_eq!(selected(&server, "crop", &filter), want, "{filter}");
    }

    // BBOX, combined with attributes and negated, on points.
    let ocop = stored(&server, "ocop");
    let rect = Rect::new(c(105.8, 9.8), c(106.0, 10.0));
    let in_box = |f: &Feature| f.geometry.intersects(&rect);
    let want: Vec<i64> = ocop.iter().filter(|f| in_box(f)).map(|f| f.id).collect();
    assert!(!want.is_empty() && want.len() < ocop.len());
    assert_eq!(
        selected(&server, "ocop", "S_INTERSECTS(geometry, BBOX(105.8, 9.8, 106.0, 10.0))"),
        want
    );
    let ocop_layer = layer("ocop").expect("ocop");
    let want: Vec<i64> = ocop
        .iter()
        .filter(|f| {
            !in_box(f)
                && Props {
                    layer: ocop_layer,
                    feature: f,
                }
                .i("stars")
                    == Some(5)
        })
        .map(|f| f.id)
        .collect();
    assert_eq!(
        selected(
            &server,
            "ocop",
            "NOT S_INTERSECTS(geometry, BBOX(105.8, 9.8, 0, 106.0, 10.0, 0)) AND stars = 5"
        ),
        want
    );
    // Across the antimeridian: nowhere near the province.
    assert!(selected(&server, "ocop", "S_INTERSECTS(geometry, BBOX(170, -10, -170, 10))").is_empty());
}

/// `(filter, position)`: the 400 answer names that character.
const BAD: &[(&str, usize)] = &[
    ("", 1),
    ("stars = ", 9),
    ("stars == 5", 8),
    ("(stars = 5", 11),
    ("stars = 5)", 10),
    ("name = 'Nước mắm", 8),
    ("stars = 'five'", 9),
    ("stars > DATE('2026-01-01')", 9),
    ("name LIKE 5", 11),
    ("stars LIKE '5%'", 12),
    ("name LIKE 'a\\'", 11),
    ("stars BETWEEN 3", 16),
    ("stars IN ()", 11),
    ("stars IS 5", 10),
    ("stars != 5", 7),
    ("stars + 1 > 3", 7),
    ("stars = 5 AND", 14),
    ("stars = 5 XOR stars = 4", 11),
    ("colour = 'red'", 1),
    ("stars = 5 AND \"colour\" = 'red'", 15),
    ("S_CONTAINS(geometry, POINT(105 9))", 1),
    ("S_INTERSECTS(geometry, POINT(200 9))", 30),
    (
        "S_INTERSECTS(geometry, POLYGON((105 9, 106 10, 106 9, 105 10, 105 9)))",
        24,
    ),
    ("S_INTERSECTS(geometry, POLYGON((105 9, 106 10, 106 9)))", 32),
    ("S_INTERSECTS(stars, POINT(105 9))", 14),
    ("S_INTERSECTS(geometry, BBOX(106, 10, 105))", 24),
    ("T_AFTER(certified_year, DATE('2020-01-01'))", 1),
    ("CASEI(name) = 'x'", 1),
];

fn bad_filters_answer_400_with_the_position(kind: StoreKind) {
    let server = kind.demo_server("cql2_bad");
    for (filter, position) in BAD {
        let r = server.get(&format!("/ogc/collections/ocop/items?filter={}", encode(filter)), &[]);
        assert_eq!(r.status, 400, "{filter}: {}", text(&r));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.error_code(), "bad_filter", "{filter}");
        let message = r.json()["error"]["message"].as_str().expect("message").to_owned();
        assert!(
            message.starts_with(&format!("filter: at character {position}: ")),
            "{filter}: {message}"
        );
        assert!(message.len() > 40, "{filter}: says what was expected: {message}");
    }
    let code = |query: &str| {
        let r = server.get(&format!("/ogc/collections/ocop/items?{query}"), &[]);
        assert_eq!(r.status, 400, "{query}: {}", text(&r));
        r.error_code()
    };
    assert_eq!(code("filter=stars%3D5&filter-lang=cql2-json"), "bad_filter_lang");
    assert_eq!(code("filter=stars%3D5&filter-lang=sql"), "bad_filter_lang");
    assert_eq!(code("filter=stars%3D5&filter-crs=EPSG:3857"), "bad_filter_crs");
    assert_eq!(code("filter=stars%3D5&filter=stars%3D4"), "bad_parameter");
    for ok in [
        "filter=stars%3D5&filter-lang=cql2-text",
        "filter=stars%3D5&filter-lang=cql-text",
        "filter=stars%3D5&filter-crs=http%3A%2F%2Fwww.opengis.net%2Fdef%2Fcrs%2FOGC%2F1.3%2FCRS84",
        "filter=stars%3D5&f=html",
    ] {
        assert_eq!(
            server.get(&format!("/ogc/collections/ocop/items?{ok}"), &[]).status,
            200,
            "{ok}"
        );
    }
}

fn restricted_properties_are_refused_like_missing_ones(kind: StoreKind) {
    let server = kind.demo_server("cql2_restricted");
    let answer = |id: &str, filter: &str| -> (u16, String, String) {
        let r = server.get(&format!("/ogc/collections/{id}/items?filter={}", encode(filter)), &[]);
        let code = r.error_code();
        let message = r.json()["error"]["message"].as_str().expect("message").to_owned();
        (r.status, code, message)
    };
    for (id, restricted, missing, template) in [
        ("crop", "owner_phone", "owner_phonf", "X = '0900000000'"),
        (
            "crop",
            "household_id",
            "household_ie",
            "crop_type = 'rice' AND (X IS NOT NULL OR area_ha > 1)",
        ),
        ("aquaculture", "owner_name", "owner_nama", "X LIKE 'Nguyễn%'"),
        (
            "growing_area",
            "contact_phone",
            "contact_phond",
            "status = 'active' AND NOT X IN ('1', '2')",
        ),
    ] {
        let (s1, c1, m1) = answer(id, &template.replace('X', restricted));
        let (s2, c2, m2) = answer(id, &template.replace('X', missing));
        assert_eq!((s1, c1.as_str()), (400, "bad_filter"), "{id}: {m1}");
        assert_eq!((s2, c2.as_str()), (400, "bad_filter"), "{id}: {m2}");
        assert_eq!(
            m1.replace(restricted, "?"),
            m2.replace(missing, "?"),
            "{id}: the answers tell them apart"
        );
        for hidden in layer(id)
            .expect("layer")
            .fields
            .iter()
            .filter(|f| f.access == agrimap_model::Access::Restricted)
        {
            assert_eq!(
                m1.matches(hidden.name).count(),
                usize::from(hidden.name == restricted),
                "{id}: {m1}"
            );
        }
    }
}

fn queryables_and_conformance_advertise_filtering(kind: StoreKind) {
    let server = kind.demo_server("cql2_queryables");
    let conformance = server.get("/ogc/conformance", &[]).json();
    let classes: Vec<&str> = conformance["conformsTo"]
        .as_array()
        .expect("conformsTo")
        .iter()
        .filter_map(Json::as_str)
        .collect();
    for class in [
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
        "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
        "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
        "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
        "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    ] {
        assert!(classes.contains(&class), "{class} missing");
    }
    assert!(
        !classes.iter().any(|c| c.ends_with("/cql2-json")),
        "CQL2 JSON is not offered"
    );

    for l in agrimap_model::catalog() {
        let collection = server.get(&format!("/ogc/collections/{}", l.id), &[]).json();
        let href = collection["links"]
            .as_array()
            .expect("links")
            .iter()
            .find(|k| k["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/queryables")
            .and_then(|k| k["href"].as_str())
            .unwrap_or_else(|| panic!("{}: no queryables link", l.id))
            .to_owned();
        let r = request("GET", &href, &[("accept", "application/schema+json")]);
        assert_eq!(r.status, 200, "{href}");
        assert_eq!(r.header("content-type"), Some("application/schema+json"));
        let schema = r.json();
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["$id"], href.split('?').next().expect("url"));
        let mut names: Vec<&str> = schema["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        let mut want: Vec<&str> = l
            .readable_fields(agrimap_model::Audience::Public)
            .map(|(_, f)| f.name)
            .chain(["geometry"])
            .collect();
        want.sort_unstable();
        assert_eq!(names, want, "{}: the public fields and the geometry", l.id);
        assert!(
            schema["properties"]["geometry"]["format"]
                .as_str()
                .is_some_and(|f| f.starts_with("geometry-"))
        );
        // Every queryable can be filtered on.
        for name in names.iter().filter(|n| **n != "geometry") {
            let r = server.get(
                &format!(
                    "/ogc/collections/{}/items?limit=1&filter={}",
                    l.id,
                    encode(&format!("{name} IS NULL"))
                ),
                &[],
            );
            assert_eq!(r.status, 200, "{}: {name}: {}", l.id, text(&r));
        }
        let html = server.get(&format!("/ogc/collections/{}/queryables?f=html", l.id), &[]);
        assert_eq!(html.status, 200);
        assert!(text(&html).starts_with("<!DOCTYPE html>"));
    }
    let crop = server.get("/ogc/collections/crop/queryables", &[]).json();
    assert_eq!(crop["properties"]["planting_date"]["format"], "date");
    assert_eq!(crop["properties"]["area_ha"]["type"], "number");
    assert!(!text(&server.get("/ogc/collections/crop/queryables", &[])).contains("owner"));
    // Plain JSON for clients that ask for JSON only (GDAL).
    let r = server.get("/ogc/collections/crop/queryables", &[("accept", "application/json")]);
    assert_eq!(r.header("content-type"), Some("application/json"));

    let api = server.get("/ogc/api", &[]).json();
    let params = api["paths"]["/collections/ocop/items"]["get"]["parameters"].to_string();
    for p in ["filter", "filter-lang", "filter-crs"] {
        assert!(
            params.contains(&format!("#/components/parameters/{p}\"")),
            "{p} undocumented"
        );
    }
    assert_eq!(
        api["components"]["parameters"]["filter-lang"]["schema"]["default"],
        "cql2-text"
    );
    assert!(api["paths"]["/collections/ocop/queryables"]["get"].is_object());
}

/// Runs a GDAL command with its HTTP requests logged; the log is returned.
fn gdal(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .env("CPL_DEBUG", "ON")
        .output()
        .unwrap_or_else(|e| panic!("{} must be installed (gdal-bin): {e}", args[0]));
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?} failed:\n{log}");
    assert!(!log.contains("ERROR"), "{args:?}:\n{log}");
    log
}

fn gdal_sends_its_where_clause_as_cql2(kind: StoreKind) {
    let server = kind.demo_server("cql2_gdal");
    let ocop = layer("ocop").expect("ocop");
    let features = stored(&server, "ocop");
    let source = format!("OAPIF:{}/ogc", server.base);
    let dir = agrimap_suite::scratch_dir(&format!("cql2-gdal-{}", kind.name()));
    for (clause, expect) in [
        ("stars = 5", (|p: &Props<'_>| p.i("stars") == Some(5)) as Expect),
        ("category = 'food' AND stars >= 4", |p| {
            p.s("category") == Some("food") && p.i("stars").is_some_and(|v| v >= 4)
        }),
    ] {
        let out = dir.join("ocop.geojson");
        let _ = std::fs::remove_file(&out);
        let log = gdal(&[
            "ogr2ogr",
            "-f",
            "GeoJSON",
            out.to_str().expect("utf-8 path"),
            &source,
            "ocop",
            "-where",
            clause,
        ]);
        // GDAL read the filter language from the API definition and the
        // queryables, and sent the whole clause to the server as CQL2 text.
        let sent: Vec<String> = log
            .lines()
            .filter(|l| l.contains("/ogc/collections/ocop/items?") && l.contains("filter-lang=cql-text"))
            .filter_map(|l| {
                let query = l.split_once('?')?.1.trim_end_matches(')');
                query.split('&').find_map(|kv| kv.strip_prefix("filter=")).map(decode)
            })
            .collect();
        assert!(!sent.is_empty(), "GDAL sent no filter:\n{log}");
        for part in clause.split(" AND ") {
            assert!(sent.iter().all(|f| f.contains(part)), "{clause}: GDAL sent {sent:?}");
        }
        assert!(
            !log.contains("client side") && !log.contains("Only part of the filter"),
            "GDAL filtered on its side:\n{log}"
        );
        let copy: Json = serde_json::from_slice(&std::fs::read(&out).expect("ogr2ogr output")).expect("GeoJSON");
        let mut got: Vec<String> = copy["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|f| f["properties"]["product_id"].as_str().expect("product_id").to_owned())
            .collect();
        let mut want: Vec<String> = features
            .iter()
            .filter(|f| {
                expect(&Props {
                    layer: ocop,
                    feature: f,
                })
            })
            .filter_map(|f| {
                Props {
                    layer: ocop,
                    feature: f,
                }
                .s("product_id")
                .map(str::to_owned)
            })
            .collect();
        got.sort();
        want.sort();
        assert!(!want.is_empty() && want.len() < features.len(), "{clause}");
        assert_eq!(got, want, "{clause}: ogr2ogr copied the right subset");
    }
}

/// A filter whose top is OR still selects only among what the other
/// parameters select: `commune=…` or `bbox=…` with `a OR b` is the union of
/// the same selection with `a` and with `b`, not every `b` of the province.
fn an_or_filter_stays_within_the_rest_of_the_selection(kind: StoreKind) {
    let server = kind.demo_server("cql2_or_within");
    let crops = stored(&server, "crop");
    let l = layer("crop").expect("layer");
    let first = &crops[0];
    let commune = l.text_of(first, "commune_code").expect("commune");
    let b = first.geometry.bounding_rect().expect("extent");
    let bbox = format!(
        "{},{},{},{}",
        b.min().x - 0.01,
        b.min().y - 0.01,
        b.max().x + 0.01,
        b.max().y + 0.01
    );
    let (rice, durian) = ("crop_type = 'rice'", "crop_type = 'durian'");
    let everywhere = selected(&server, "crop", &format!("{rice} OR {durian}")).len();
    for within in [format!("&commune={commune}"), format!("&bbox={bbox}")] {
        let mut union = selected_within(&server, "crop", &within, rice);
        union.extend(selected_within(&server, "crop", &within, durian));
        union.sort_unstable();
        assert!(
            !union.is_empty() && union.len() < everywhere,
            "{within}: {} of {everywhere}",
            union.len()
        );
        let either = selected_within(&server, "crop", &within, &format!("{rice} OR {durian}"));
        assert_eq!(either, union, "{}: {within}", kind.name());
    }
}

agrimap_suite::store_suite!(
    an_or_filter_stays_within_the_rest_of_the_selection,
    operators_select_exactly_what_the_store_holds,
    like_is_case_sensitive,
    s_intersects_is_exact,
    bad_filters_answer_400_with_the_position,
    restricted_properties_are_refused_like_missing_ones,
    queryables_and_conformance_advertise_filtering,
    gdal_sends_its_where_clause_as_cql2,
);
