//! No filter can hold a core for seconds (hardening issue): the probe
//! `S_INTERSECTS(geometry, POLYGON(<1,200-vertex ring of radius 0.6° with a
//! hole>))` (a 54 kB URL) on `/ogc` crop items, alone and six at once, on
//! both stores. Each answer is 200 with exactly the parcels geo says meet
//! the polygon (or a 400 naming the limit), `/health` answers 200 meanwhile,
//! and a filter over the vertex limit is refused with a 400 that names it.
//! Timings are in BENCHMARKS.md, not here.

use agrimap_core::features::params::encode;
use agrimap_model::{FeatureQuery, layer};
use agrimap_suite::{StoreKind, TestServer};
use geo::{Coord, Geometry, LineString, Polygon, PreparedGeometry, Relate};

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

/// A ring of `n` vertices of radius `r` degrees around `c`.
fn ring(c: Coord<f64>, r: f64, n: usize) -> LineString<f64> {
    (0..=n)
        .map(|i| {
            let a = std::f64::consts::TAU * (i % n) as f64 / n as f64;
            Coord {
                x: c.x + r * a.cos(),
                y: c.y + r * a.sin(),
            }
        })
        .collect::<Vec<_>>()
        .into()
}

fn wkt_ring(ring: &LineString<f64>) -> String {
    let points: Vec<String> = ring.coords().map(|c| format!("{} {}", c.x, c.y)).collect();
    format!("({})", points.join(","))
}

/// The centre of the crop layer's extent.
fn crop_centre(server: &TestServer) -> Coord<f64> {
    let collection = server.get("/ogc/collections/crop", &[]).json();
    let b = &collection["extent"]["spatial"]["bbox"][0];
    let v = |i: usize| b[i].as_f64().expect("bbox");
    Coord {
        x: f64::midpoint(v(0), v(2)),
        y: f64::midpoint(v(1), v(3)),
    }
}

/// The probe's polygon: a 1,200-vertex ring of radius 0.6° with a hole.
fn probe(centre: Coord<f64>) -> Polygon<f64> {
    let hole_centre = Coord {
        x: centre.x + 0.1,
        y: centre.y,
    };
    Polygon::new(ring(centre, 0.6, 1200), vec![ring(hole_centre, 0.2, 300)])
}

fn items_path(polygon: &Polygon<f64>) -> String {
    let mut wkt = format!("POLYGON({}", wkt_ring(polygon.exterior()));
    for hole in polygon.interiors() {
        wkt.push(',');
        wkt.push_str(&wkt_ring(hole));
    }
    wkt.push(')');
    let filter = format!("S_INTERSECTS(geometry,{wkt})");
    format!("/ogc/collections/crop/items?limit=1&filter={}", encode(&filter))
}

fn a_polygon_of_many_vertices_is_answered_exactly_or_refused(kind: StoreKind) {
    let server = kind.demo_server("costly_filters");
    let polygon = probe(crop_centre(&server));
    let path = items_path(&polygon);
    assert!(path.len() > 50_000, "the probe's URL is {} bytes", path.len());
    // What the store holds, intersected here with geo: the expected answer
    // (coordinates go through the URL in full, as Rust prints them back exactly).
    let sent = Geometry::Polygon(polygon.clone());
    let crop = layer("crop").expect("crop");
    let all = block_on(server.store.features(crop, &FeatureQuery::default())).expect("crop");
    // geo's prepared geometry (an edge index and the full DE-9IM): another
    // way to the exact answer than the stores' own.
    let prepared = PreparedGeometry::from(&sent);
    let expected: Vec<i64> = all
        .iter()
        .filter(|f| prepared.relate(&f.geometry).is_intersects())
        .map(|f| f.id)
        .collect();
    assert!(
        expected.len() > 100 && expected.len() < all.len(),
        "{} of {}",
        expected.len(),
        all.len()
    );

    let check = |reply: &agrimap_suite::Reply| match reply.status {
        200 => {
            let json = reply.json();
            assert_eq!(json["numberMatched"].as_u64(), Some(expected.len() as u64));
            assert_eq!(json["features"][0]["id"].as_i64(), expected.first().copied());
        }
        400 => assert!(reply.error_code() == "bad_filter" && String::from_utf8_lossy(&reply.body).contains("at most")),
        other => panic!("{other}: {}", String::from_utf8_lossy(&reply.body)),
    };
    check(&server.get(&path, &[]));

    // Six at once, while /health is asked.
    std::thread::scope(|s| {
        let probes: Vec<_> = (0..6).map(|_| s.spawn(|| server.get(&path, &[]))).collect();
        while !probes.iter().all(std::thread::ScopedJoinHandle::is_finished) {
            assert_eq!(server.get("/health", &[]).status, 200);
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        for p in probes {
            check(&p.join().expect("probe"));
        }
    });

    // Past the vertex limit: refused, naming it. A line back and forth
    // between two whole-degree points keeps the URL within what HTTP
    // libraries take (64 kB).
    let limit = agrimap_store::filter_shape::MAX_FILTER_VERTICES;
    let centre = crop_centre(&server);
    let (x, y) = (centre.x.round(), centre.y.round());
    let vertices: Vec<String> = (0..=limit).map(|i| format!("{} {y}", x + (i % 2) as f64)).collect();
    let filter = encode(&format!("S_INTERSECTS(geometry,LINESTRING({}))", vertices.join(",")));
    for path in [
        format!("/ogc/collections/crop/items?limit=1&filter={filter}"),
        format!("/api/export/crop.geojson?filter={filter}"),
    ] {
        let refused = server.get(&path, &[]);
        let body = String::from_utf8_lossy(&refused.body).into_owned();
        assert_eq!(refused.status, 400, "{body}");
        assert_eq!(refused.error_code(), "bad_filter");
        assert!(body.contains(&format!("at most {limit}")), "{body}");
    }
}

/// Spatial conditions ORed together are a pass over the layer each: past
/// the limit a filter is refused, naming it; within it, however many such
/// filters arrive at once, they take turns and leave the store's other
/// connections to everyone else, so a token's check and `/health` answer.
fn many_spatial_conditions_take_turns_and_leave_the_store_to_others(kind: StoreKind) {
    let server = kind.demo_server("costly_conditions");
    let centre = crop_centre(&server);
    let conditions = |n: usize| {
        let one = format!(
            "S_INTERSECTS(geometry,BBOX({},{},{},{}))",
            centre.x - 0.5,
            centre.y - 0.5,
            centre.x + 0.5,
            centre.y + 0.5
        );
        let filter = vec![one; n].join(" OR ");
        format!("/ogc/collections/crop/items?limit=1&filter={}", encode(&filter))
    };
    let limit = agrimap_store::filter_shape::MAX_SPATIAL_CONDITIONS;
    let refused = server.get(&conditions(limit + 1), &[]);
    assert_eq!((refused.status, refused.error_code().as_str()), (400, "bad_filter"));
    assert!(
        String::from_utf8_lossy(&refused.body).contains(&format!("at most {limit} are allowed")),
        "{}",
        String::from_utf8_lossy(&refused.body)
    );
    let (_, secret) = block_on(agrimap_core::tokens::issue_token(
        server.store.as_ref(),
        "costly",
        "planner",
    ))
    .expect("token");
    let auth = format!("Bearer {secret}");
    let path = conditions(limit);
    std::thread::scope(|s| {
        let heavy: Vec<_> = (0..8).map(|_| s.spawn(|| server.get(&path, &[]))).collect();
        while !heavy.iter().all(std::thread::ScopedJoinHandle::is_finished) {
            assert_eq!(server.get("/health", &[]).status, 200);
            assert_eq!(server.get("/api/me", &[("authorization", &auth)]).status, 200);
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        for h in heavy {
            let reply = h.join().expect("heavy");
            match reply.status {
                200 => assert!(reply.json()["numberMatched"].as_u64().is_some_and(|n| n > 0)),
                503 => assert_eq!(reply.error_code(), "filters_busy"),
                other => panic!("{other}: {}", String::from_utf8_lossy(&reply.body)),
            }
        }
    });
}

agrimap_suite::store_suite!(
    a_polygon_of_many_vertices_is_answered_exactly_or_refused,
    many_spatial_conditions_take_turns_and_leave_the_store_to_others,
);
