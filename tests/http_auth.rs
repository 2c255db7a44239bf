//! Roles and tokens on both stores: every route of the router, asked with no
//! token, an unknown token, a revoked token, a station's token and a token of
//! each role, answers as the route declares (2xx, 401 or 403); and the token
//! endpoints create, list and revoke tokens that take effect at once.

use agrimap_core::tokens::hash_token;
use agrimap_core::tokens::{issue_scoped_token, issue_token};
use agrimap_model::calendar::format_timestamp;
use agrimap_server::auth::{Need, Role};
use agrimap_suite::{Reply, StoreKind, TestServer, request_with_body};
use agrimap_tiles::tile_containing;
use serde_json::json;

const STATION_TOKEN: &str = "station-wq01-secret-for-the-route-walk";

/// The route that moves an NTM dossier: which move a role may make is the
/// core's rule (planners appraise and return, they do not submit).
const TRANSITIONS: &str = "/api/ntm/dossiers/{commune}/{year}/transitions";

/// The next year whose dossier the walk submits.
static NEXT_YEAR: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(2030);

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

/// A token of `role`, issued straight into the server's store.
fn token(server: &TestServer, role: &str) -> (String, String) {
    let (t, secret) = block_on(issue_token(server.store.as_ref(), &format!("test {role}"), role)).expect("issue");
    (t.id, secret)
}

/// Who asks, and what the answer must be for a route that needs `need`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Asker {
    Nobody,
    UnknownToken,
    RevokedToken,
    Station,
    Holder(Role),
}

// One arm per kind of asker, so that the match reads as the access rules.
#[allow(clippy::match_same_arms)]
fn expected(asker: Asker, need: Need) -> u16 {
    match (asker, need) {
        // A token that is not valid is refused everywhere, even where anyone may ask.
        (Asker::UnknownToken | Asker::RevokedToken, _) => 401,
        // A station's token is only good for its readings.
        (Asker::Station, Need::StationOrEditor) => 200,
        (Asker::Station, _) => 401,
        (Asker::Nobody, Need::Anyone) => 200,
        (Asker::Nobody, _) => 401,
        (Asker::Holder(_), Need::Anyone) => 200,
        (Asker::Holder(role), Need::AtLeast(needed)) => {
            if role >= needed {
                200
            } else {
                403
            }
        }
        (Asker::Holder(role), Need::StationOrEditor) => {
            if role >= Role::Editor {
                200
            } else {
                403
            }
        }
    }
}

/// A concrete path for a route pattern, with values that exist in the demo
/// province, and a body for the routes that take one.
#[expect(
    clippy::too_many_lines,
    reason = "one arm per route family: a table, read best whole"
)]
fn concrete(server: &TestServer, method: &str, pattern: &str) -> (String, Vec<u8>) {
    let manifest = agrimap_demo::read_manifest(&agrimap_suite::demo_dir()).expect("manifest");
    let [cx, cy] = manifest.center;
    let t = tile_containing(cx, cy, 12);
    let path = match pattern {
        "/tiles/{layers}/{z}/{x}/{y}" => format!("/tiles/crop/{}/{}/{}.mvt", t.z, t.x, t.y),
        "/tiles/{file}" => "/tiles/crop.json".into(),
        "/styles/{file}" => "/styles/farmer.json".into(),
        "/static/{file}" => "/static/app.js".into(),
        "/fonts/{fontstack}/{range}" => "/fonts/Noto%20Sans%20Regular/0-255.pbf".into(),
        "/api/packs/{file}" => "/api/packs/33001.pmtiles?minzoom=12&maxzoom=12".into(),
        "/api/export/{file}" => "/api/export/ocop.geojson?commune=33001".into(),
        "/api/stats" => "/api/stats?layer=crop".into(),
        "/api/compare" => "/api/compare?communes=33001,33002&layers=ocop".into(),
        "/api/reports/commune/{file}" => "/api/reports/commune/33001.xlsx".into(),
        "/api/reports/province/{file}" => "/api/reports/province/99.html".into(),
        "/api/import/{layer}" => "/api/import/ocop?format=geojson".into(),
        // A code no feature uses: retiring it again is allowed too.
        "/api/codes/{list}/{code}" => "/api/codes/crop_type/cashew".into(),
        "/api/codes/{list}" => "/api/codes/species".into(),
        "/api/crosswalk" => "/api/crosswalk?old=33001".into(),
        "/api/registry/import" => "/api/registry/import?kind=producers&format=csv".into(),
        "/api/registry/export/{file}" => "/api/registry/export/products.csv".into(),
        "/t/{id}" => "/t/SP-99-0001".into(),
        "/api/ntm/sets/{id}" => "/api/ntm/sets/ntm-commune-2021-2025".into(),
        "/api/ntm/dashboard" => "/api/ntm/dashboard?year=2025&province=99".into(),
        "/api/bulletins/pests" => "/api/bulletins/pests?province=99&week=2026-W47".into(),
        "/api/ntm/scorecards/{commune}" => "/api/ntm/scorecards/33001?year=2025".into(),
        "/api/ntm/scorecards/{commune}/indicators/{indicator}" => {
            "/api/ntm/scorecards/33001/indicators/1.1?year=2024".into()
        }
        "/api/ntm/evidence" => "/api/ntm/evidence?name=walk.pdf".into(),
        "/api/ntm/evidence/{sha256}" => {
            let file = agrimap_store::ntm::EvidenceFile {
                sha256: "0".repeat(64),
                name: "walk.pdf".into(),
                media_type: "application/pdf".into(),
                size: 9,
                bytes: b"%PDF-1.4\n".to_vec(),
                author: "route walk".into(),
            };
            block_on(server.store.add_evidence(&file)).expect("evidence");
            format!("/api/ntm/evidence/{}", file.sha256)
        }
        // A dossier of a year of its own each time, so that every allowed submission finds a draft.
        TRANSITIONS => format!(
            "/api/ntm/dossiers/33001/{}/transitions",
            NEXT_YEAR.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ),
        "/api/ntm/dossiers/{commune}/{year}/history" => "/api/ntm/dossiers/33001/2025/history".into(),
        // A fresh token each time, so that every allowed DELETE finds one.
        "/api/tokens/{id}" => format!("/api/tokens/{}", token(server, "planner").0),
        // Likewise a fresh subscription.
        "/api/subscriptions/{id}" => format!("/api/subscriptions/{}", subscription(server)),
        other => other
            .replace("/api/communes/{code}", "/api/communes/33001")
            .replace("/api/stations/{id}", "/api/stations/WQ-01")
            .replace("/api/producers/{id}", "/api/producers/1800010001")
            .replace("/api/products/{id}", "/api/products/SP-99-0001")
            .replace("/t/{id}", "/t/SP-99-0001")
            .replace("/api/growing-areas/{id}", "/api/growing-areas/VN-PSRI-0001")
            .replace("{id}", "crop")
            .replace("{feature}", "1")
            .replace("{tms}", "WebMercatorQuad")
            .replace("{z}/{row}/{col}", &format!("{}/{}/{}", t.z, t.y, t.x)),
    };
    let body = match (method, pattern) {
        ("POST", "/api/stations/{id}/readings") => {
            json!([{"parameter": "salinity", "value": 1.2, "unit": "ppt", "time": reading_time()}])
        }
        // One OCOP product at the province's centre, its commune found there;
        // each allowed caller imports it again, updating it.
        ("POST", "/api/import/{layer}") => json!({"type": "FeatureCollection", "features": [{
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [cx, cy]},
            "properties": {"product_id": "OCOP-ROUTE-WALK", "name": "Mật ong U Minh", "stars": 4},
        }]}),
        ("POST", "/api/registry/import") => {
            return (
                path,
                b"code,name,kind,commune_code\n3800009999,HTX Route Walk,cooperative,33001\n".to_vec(),
            );
        }
        ("POST", "/api/producers") => {
            json!({"code": "3800009998", "name": "HTX Đi Qua", "kind": "cooperative", "commune_code": "33001", "boundary_set": "pre-2025"})
        }
        ("POST", "/api/growing-areas") => {
            json!({"code": "VN-PSRI-0999", "commune_code": "33001", "boundary_set": "pre-2025",
            "crop_type": "rice", "area_ha": 4.5, "households": 3, "status": "granted",
            "issued_on": "2024-01-01", "expires_on": "2029-01-01"})
        }
        ("POST", "/api/products") => json!({"id": "SP-99-0999", "name": "Gạo ST25", "category": "food",
            "producer": "1800010001", "commune_code": "33001", "boundary_set": "pre-2025"}),
        ("POST", "/api/tokens") => json!({"name": "made by the route walk", "role": "planner"}),
        // A public address literal (no name to resolve), for changes nothing in the walk makes.
        ("POST", "/api/subscriptions") => json!({"name": "route walk", "url": "https://8.8.8.8/hook",
            "station_kinds": ["weather"], "states": ["silent"]}),
        ("POST", "/api/codes/{list}") => json!({"code": "route_walk", "label_vi": "Đi qua", "label_en": "Walked"}),
        ("POST", "/api/crosswalk/apportion") => return (path, b"old_code,value\n".to_vec()),
        ("POST", "/api/ntm/evidence") => return (path, b"%PDF-1.4\n% route walk\n".to_vec()),
        ("POST", "/api/ntm/scorecards/{commune}/indicators/{indicator}") => json!({"value": true}),
        ("POST", TRANSITIONS) => json!({"to": "submitted"}),
        // The shipped file as it is: the store holds that very document, so each admin's post is a 200.
        ("POST", "/api/ntm/sets") => return (path, agrimap_model::ntm::SHIPPED[0].1.as_bytes().to_vec()),
        ("POST", "/api/readings") => {
            let csv = format!(
                "station_id,parameter,value,unit,time\nWQ-01,salinity,1.2,ppt,{}\n",
                reading_time()
            );
            return (path, csv.into_bytes());
        }
        _ => serde_json::Value::Null,
    };
    let body = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&body).expect("json")
    };
    (path, body)
}

/// A minute ago, as stations write times.
fn reading_time() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    format_timestamp(i64::try_from(now).expect("time") - 60)
}

/// A subscription in force, made through the store; its id.
fn subscription(server: &TestServer) -> i64 {
    let new = agrimap_model::alerts::NewSubscription {
        name: "to end".into(),
        scope: agrimap_model::alerts::SubscriptionScope::default(),
        url: "https://8.8.8.8/hook".into(),
        secret: "s".into(),
        owner_provinces: Vec::new(),
        created_by: "walk".into(),
    };
    block_on(server.store.add_subscription(&new)).expect("subscription").id
}

/// The live feed never ends: its status and head only.
fn ask_stream(server: &TestServer, path: &str, bearer: Option<&str>) -> Reply {
    use std::io::{BufRead, Write};
    let address = server.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    let auth = bearer
        .map(|b| format!("authorization: Bearer {b}\r\n"))
        .unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nhost: {address}\r\n{auth}\r\n").expect("send");
    let mut reader = std::io::BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).expect("status");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.trim_end().split_once(':') {
            headers.push((k.to_owned(), v.trim().to_owned()));
        }
    }
    // A refusal is an ordinary answer with a length; the feed itself is read no further.
    let mut body = Vec::new();
    if status != 200 {
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        body.resize(length, 0);
        std::io::Read::read_exact(&mut reader, &mut body).expect("body");
    }
    Reply { status, headers, body }
}

fn ask(server: &TestServer, method: &str, path: &str, body: Vec<u8>, bearer: Option<&str>) -> Reply {
    if path.starts_with("/api/alerts/stream") {
        return ask_stream(server, path, bearer);
    }
    let auth = bearer.map(|b| format!("Bearer {b}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("authorization", a));
    }
    request_with_body(method, &format!("{}{path}", server.base), &headers, body)
}

fn every_route_answers_each_caller_as_declared(kind: StoreKind) {
    let server = kind.demo_server("auth_walk");
    assert!(block_on(server.store.set_station_token_hash("WQ-01", &hash_token(STATION_TOKEN))).expect("station"));
    let holders: Vec<(Role, String)> = [Role::Planner, Role::Editor, Role::Admin]
        .into_iter()
        .map(|r| (r, token(&server, r.name()).1))
        .collect();
    let (revoked_id, revoked) = token(&server, "admin");
    assert!(block_on(server.store.revoke_api_token(&revoked_id)).expect("revoke"));

    let mut askers = vec![
        (Asker::Nobody, None),
        (Asker::UnknownToken, Some("not-a-token-anyone-was-given".to_owned())),
        (Asker::RevokedToken, Some(revoked)),
        (Asker::Station, Some(STATION_TOKEN.to_owned())),
    ];
    askers.extend(holders.into_iter().map(|(r, t)| (Asker::Holder(r), Some(t))));

    let routes = agrimap_server::routes();
    assert!(routes.len() >= 25, "only {} routes", routes.len());
    let mut checked = 0;
    for route in &routes {
        let method = route.method.as_str();
        for (asker, bearer) in &askers {
            let (path, body) = concrete(&server, method, route.path);
            let reply = ask(&server, method, &path, body, bearer.as_deref());
            // The walk submits a dossier, which is an editor's or an admin's move.
            let want = if route.path == TRANSITIONS && *asker == Asker::Holder(Role::Planner) {
                403
            } else {
                expected(*asker, route.need)
            };
            let got = reply.status;
            let ok = if want == 200 {
                (200..300).contains(&got)
            } else {
                got == want
            };
            assert!(
                ok,
                "{method} {path} ({:?}) by {asker:?}: want {want}, got {got}: {}",
                route.need,
                String::from_utf8_lossy(&reply.body)
            );
            if !(200..300).contains(&got) {
                // Refusals are JSON errors that say what is needed.
                assert!(!reply.error_code().is_empty(), "{method} {path}: no JSON error");
            }
            if got == 401 {
                assert!(
                    reply.header("www-authenticate").is_some(),
                    "{method} {path}: 401 without WWW-Authenticate"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, routes.len() * askers.len());
}

fn tokens_are_created_listed_and_revoked_over_http(kind: StoreKind) {
    let server = kind.demo_server("auth_tokens");
    let (_, admin) = token(&server, "admin");
    let created = ask(
        &server,
        "POST",
        "/api/tokens",
        serde_json::to_vec(&json!({"name": "Phòng Kế hoạch", "role": "planner"})).expect("json"),
        Some(&admin),
    );
    assert_eq!(created.status, 201, "{}", String::from_utf8_lossy(&created.body));
    let created = created.json();
    let (id, secret) = (
        created["id"].as_str().expect("id").to_owned(),
        created["token"].as_str().expect("secret").to_owned(),
    );
    assert_eq!(created["role"], "planner");

    let me = ask(&server, "GET", "/api/me", Vec::new(), Some(&secret)).json();
    assert_eq!(me["role"], "planner");
    assert_eq!(me["token"], id.as_str());

    // The list names the token but never a secret or a hash.
    let list = ask(&server, "GET", "/api/tokens", Vec::new(), Some(&admin));
    assert_eq!(list.status, 200);
    let text = String::from_utf8_lossy(&list.body).into_owned();
    assert!(text.contains(&id) && text.contains("Phòng Kế hoạch"), "{text}");
    assert!(
        !text.contains(&secret) && !text.contains(&hash_token(&secret)),
        "{text}"
    );

    // Bad requests say what is wrong.
    let bad = ask(
        &server,
        "POST",
        "/api/tokens",
        serde_json::to_vec(&json!({"name": "x", "role": "root"})).expect("json"),
        Some(&admin),
    );
    assert_eq!(bad.status, 400);
    assert!(String::from_utf8_lossy(&bad.body).contains("unknown role 'root'"));

    // Revoked: refused at once, and a second revoke finds nothing.
    let revoke = ask(
        &server,
        "DELETE",
        &format!("/api/tokens/{id}"),
        Vec::new(),
        Some(&admin),
    );
    assert_eq!(revoke.status, 204);
    assert_eq!(ask(&server, "GET", "/api/me", Vec::new(), Some(&secret)).status, 401);
    let again = ask(
        &server,
        "DELETE",
        &format!("/api/tokens/{id}"),
        Vec::new(),
        Some(&admin),
    );
    assert_eq!(again.status, 404);
    assert_eq!(again.error_code(), "unknown_token");
}

/// An admin limited to a province hands out no more than it holds: tokens
/// of its provinces only, and it lists and revokes only those.
fn an_admin_of_one_province_manages_only_its_tokens(kind: StoreKind) {
    let server = kind.demo_server("auth_limited_admin");
    let (everywhere_id, everywhere) = token(&server, "admin");
    let (_, limited) = block_on(issue_scoped_token(
        server.store.as_ref(),
        "Sở NN tỉnh 99",
        "admin",
        &["99".to_owned()],
    ))
    .expect("issue");
    let create = |provinces: serde_json::Value| {
        let body = json!({"name": "Cán bộ xã", "role": "admin", "provinces": provinces});
        ask(
            &server,
            "POST",
            "/api/tokens",
            serde_json::to_vec(&body).expect("json"),
            Some(&limited),
        )
    };
    for provinces in [json!([]), json!(["87"]), json!(["99", "87"])] {
        let refused = create(provinces.clone());
        assert_eq!(
            (refused.status, refused.error_code().as_str()),
            (403, "outside_provinces"),
            "{provinces}"
        );
    }
    let made = create(json!(["99"]));
    assert_eq!(made.status, 201, "{}", String::from_utf8_lossy(&made.body));
    let made_id = made.json()["id"].as_str().expect("id").to_owned();

    // Its list holds the tokens of its province, not the admin of every province.
    let list = ask(&server, "GET", "/api/tokens", Vec::new(), Some(&limited)).json();
    let ids: Vec<&str> = list["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .map(|t| t["id"].as_str().expect("id"))
        .collect();
    assert!(
        ids.contains(&made_id.as_str()) && !ids.contains(&everywhere_id.as_str()),
        "{ids:?}"
    );
    let revoke = |id: &str, by: &str| ask(&server, "DELETE", &format!("/api/tokens/{id}"), Vec::new(), Some(by));
    let refused = revoke(&everywhere_id, &limited);
    assert_eq!(
        (refused.status, refused.error_code().as_str()),
        (403, "outside_provinces")
    );
    assert_eq!(
        ask(&server, "GET", "/api/me", Vec::new(), Some(&everywhere)).status,
        200
    );
    assert_eq!(revoke(&made_id, &limited).status, 204);
    // The admin of every province sees and manages them all.
    let all = ask(&server, "GET", "/api/tokens", Vec::new(), Some(&everywhere)).json();
    assert!(all["tokens"].as_array().expect("tokens").len() >= 3);
}

fn a_malformed_authorization_header_is_refused(kind: StoreKind) {
    let server = kind.demo_server("auth_malformed");
    for value in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "token abc"] {
        let reply = server.get("/catalog", &[("authorization", value)]);
        assert_eq!(reply.status, 401, "{value}");
        assert_eq!(reply.error_code(), "unauthorized");
    }
}

fn planners_read_restricted_fields_anonymous_readers_never_do(kind: StoreKind) {
    let server = kind.demo_server("auth_restricted");
    let (_, planner) = token(&server, "planner");
    let planner_auth = format!("Bearer {planner}");
    let items = "/ogc/collections/crop/items?limit=50";

    let open = server.get(items, &[]);
    assert_eq!(open.status, 200);
    assert!(!String::from_utf8_lossy(&open.body).contains("owner_phone"));
    let signed = server.get(items, &[("authorization", &planner_auth)]);
    assert_eq!(signed.status, 200);
    let page = signed.json();
    let features = page["features"].as_array().expect("features");
    assert!(!features.is_empty());
    let with_phone = features
        .iter()
        .filter(|f| f["properties"]["owner_phone"].as_str().is_some_and(|p| !p.is_empty()))
        .count();
    assert!(with_phone > 0, "a planner sees owners' phone numbers");

    // A filter on a restricted field: used for planners, refused for the
    // public exactly like a field that does not exist (no oracle).
    let filtered = |field: &str, auth: Option<&str>| {
        let path = format!("/ogc/collections/crop/items?limit=5&filter={field}%20IS%20NOT%20NULL");
        let headers: Vec<(&str, &str)> = auth.map(|a| vec![("authorization", a)]).unwrap_or_default();
        server.get(&path, &headers)
    };
    let planner_filter = filtered("owner_phone", Some(&planner_auth));
    assert_eq!(planner_filter.status, 200);
    assert!(planner_filter.json()["numberMatched"].as_u64().expect("matched") > 0);
    let (hidden, missing) = (filtered("owner_phone", None), filtered("owner_phonf", None));
    assert_eq!((hidden.status, missing.status), (400, 400));
    assert_eq!(
        hidden.json()["error"]["message"]
            .as_str()
            .map(|m| m.replace("owner_phone", "?")),
        missing.json()["error"]["message"]
            .as_str()
            .map(|m| m.replace("owner_phonf", "?")),
    );

    // Tiles are the same public tiles for everyone: they are cached and shared.
    let mut ring = &features[0]["geometry"]["coordinates"];
    while ring[0].is_array() {
        ring = &ring[0];
    }
    let (lon, lat) = (ring[0].as_f64().expect("lon"), ring[1].as_f64().expect("lat"));
    let t = tile_containing(lon, lat, 14);
    let tile = server.get(
        &format!("/tiles/crop/{}/{}/{}.mvt", t.z, t.x, t.y),
        &[("authorization", &planner_auth)],
    );
    assert_eq!(tile.status, 200);
    let layers = agrimap_tiles::mvt::decode(&tile.body).expect("tile");
    let keys: Vec<&String> = layers
        .iter()
        .flat_map(|l| l.features.iter().flat_map(|f| f.properties.keys()))
        .collect();
    assert!(!keys.is_empty());
    assert!(keys.iter().all(|k| !k.starts_with("owner")), "{keys:?}");
}

agrimap_suite::store_suite!(
    planners_read_restricted_fields_anonymous_readers_never_do,
    every_route_answers_each_caller_as_declared,
    tokens_are_created_listed_and_revoked_over_http,
    an_admin_of_one_province_manages_only_its_tokens,
    a_malformed_authorization_header_is_refused,
);
