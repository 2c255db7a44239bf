//! Alerts pushed to people, on both stores: stations fall silent and come
//! back, every change is in the alert history, and subscriptions' webhooks
//! receive each change signed, retried after failures, in the dead-letter
//! list once given up, and again after a replay; never twice once a
//! receiver said 2xx. The receiver is a real HTTP server that fails on purpose.

use agrimap_core::alerts::AlertConfig;
use agrimap_core::tokens::{hash_token, issue_scoped_token, issue_token};
use agrimap_server::ServerConfig;
use agrimap_suite::{StoreKind, TestServer, alert_of, request_with_body};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const STATION_TOKEN: &str = "alerts-test-token-for-wq01";

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    signature: String,
    delivery: String,
    body: Vec<u8>,
    /// The status it answered.
    status: u16,
}

/// A webhook receiver on loopback that answers 500 to its first `failures`
/// requests (and to every one while `down` is set), then 204.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    failures: Arc<AtomicUsize>,
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl Receiver {
    fn start(failures: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let failures = Arc::new(AtomicUsize::new(failures));
        let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (log, to_fail, is_down) = (got.clone(), failures.clone(), down.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut headers = Vec::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    headers.push(line.trim_end().to_owned());
                }
                let header = |name: &str| {
                    headers
                        .iter()
                        .find_map(|h| {
                            let (key, value) = h.split_once(':')?;
                            key.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
                        })
                        .unwrap_or_default()
                };
                let length: usize = header("content-length").parse().unwrap_or(0);
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let failing = is_down.load(Ordering::SeqCst)
                    || to_fail
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                let status = if failing { 500 } else { 204 };
                log.lock().expect("lock").push(Received {
                    signature: header("x-agrimap-signature"),
                    delivery: header("x-agrimap-delivery"),
                    body,
                    status,
                });
                let reason = if failing { "Internal Server Error" } else { "No Content" };
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        Self {
            url,
            got,
            failures,
            down,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }

    /// Requests it answered 2xx.
    fn delivered(&self) -> Vec<Received> {
        self.received().into_iter().filter(|r| r.status == 204).collect()
    }
}

/// Waits up to 30 s for `done`.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(30), "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn server(kind: StoreKind, test: &str, alerts: AlertConfig) -> TestServer {
    let server = kind.demo_server_with(
        test,
        ServerConfig {
            alerts,
            ..ServerConfig::default()
        },
    );
    assert!(block_on(server.store.set_station_token_hash("WQ-01", &hash_token(STATION_TOKEN))).expect("token"));
    server
}

fn quick_retries() -> AlertConfig {
    AlertConfig {
        retry_base: Duration::from_millis(200),
        allow_private_webhooks: true,
        ..AlertConfig::default()
    }
}

fn token(server: &TestServer, role: &str) -> String {
    format!(
        "Bearer {}",
        block_on(issue_token(server.store.as_ref(), role, role))
            .expect("token")
            .1
    )
}

fn post_reading(server: &TestServer, value: f64, time: &str) -> Value {
    let auth = format!("Bearer {STATION_TOKEN}");
    let reply = server.post_json(
        "/api/stations/WQ-01/readings",
        &[("authorization", &auth)],
        &json!([{"parameter": "salinity", "value": value, "unit": "ppt", "time": time}]),
    );
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    reply.json()
}

fn now_text(offset_seconds: i64) -> String {
    agrimap_model::UtcTime::from_unix(agrimap_model::UtcTime::now().unix() + offset_seconds)
        .expect("time")
        .to_string()
}

fn history(server: &TestServer, query: &str, headers: &[(&str, &str)]) -> Vec<Value> {
    let reply = server.get(&format!("/api/alerts/history?{query}"), headers);
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    reply.json()["events"].as_array().expect("events").clone()
}

/// HMAC-SHA256 of `body` under `secret` by OpenSSL, as a receiver would check it.
fn openssl_signature(secret: &str, body: &[u8]) -> String {
    let mut child = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", secret, "-r"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl");
    child.stdin.take().expect("stdin").write_all(body).expect("write");
    let out = child.wait_with_output().expect("openssl");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    format!("sha256={}", text.split_whitespace().next().expect("digest"))
}

/// A water-quality station of commune 33001, active, in state ok, last
/// heard at `last`, with its own reporting interval if given.
fn add_station(server: &TestServer, id: &str, last: &str, interval_min: Option<i64>) {
    use agrimap_model::{Feature, Value, layer};
    let monitoring = layer("monitoring").expect("monitoring");
    let mut properties = vec![Value::Null; monitoring.fields.len()];
    for (name, value) in [
        ("station_id", Value::from(id)),
        ("name", Value::from(id)),
        ("kind", Value::from("water_quality")),
        ("commune_code", Value::from("33001")),
        ("boundary_set", Value::from("pre-2025")),
        ("status", Value::from("active")),
        ("alert_state", Value::from("ok")),
        ("last_reading_at", Value::from(last)),
        ("report_interval_min", interval_min.map_or(Value::Null, Value::Int)),
    ] {
        properties[monitoring.field_index(name).expect(name)] = value;
    }
    let feature = Feature {
        id: 0,
        geometry: geo::Point::new(105.81, 9.93).into(),
        properties,
    };
    let batch = agrimap_store::WriteBatch {
        layers: vec![agrimap_store::LayerWrite {
            layer: monitoring,
            replace: false,
            features: vec![feature],
        }],
        readings: vec![],
        ..Default::default()
    };
    block_on(server.store.write(batch)).expect("station");
}

fn stations_fall_silent_and_come_back(kind: StoreKind) {
    let server = server(
        kind,
        "alerts_silent",
        AlertConfig {
            silence_check: Some(Duration::from_secs(1)),
            ..AlertConfig::default()
        },
    );
    // Two stations last heard three hours ago: past the 2 hours of a water
    // station, within the 4 hours one of them is allowed.
    let three_hours_ago = now_text(-3 * 3600);
    add_station(&server, "WQ-91", &three_hours_ago, None);
    add_station(&server, "WQ-92", &three_hours_ago, Some(240));
    let state_of = |id: &str| {
        let alerts = server.get("/api/alerts", &[]).json();
        alerts["alerts"].as_array().and_then(|a| {
            a.iter()
                .find(|s| s["station_id"] == id)
                .map(|s| s["alert_state"].clone())
        })
    };
    // The demo's stations last reported on 20 November 2026: long past their interval.
    wait_for("WQ-01 and WQ-91 to fall silent", || {
        state_of("WQ-01") == Some(json!("silent")) && state_of("WQ-91") == Some(json!("silent"))
    });
    assert_eq!(
        state_of("WQ-92"),
        None,
        "a station within its own interval is not on alert"
    );
    let silent = history(&server, "station=WQ-01", &[]);
    assert_eq!(silent[0]["to"], "silent", "{silent:?}");
    assert!(silent[0]["cause"].is_null());
    // The map's station carries the fourth state.
    let items = server
        .get(
            "/ogc/collections/monitoring/items?filter=station_id%3D%27WQ-01%27&f=json",
            &[],
        )
        .json();
    assert_eq!(items["features"][0]["properties"]["alert_state"], "silent", "{items}");

    // A reading from before its last one is stored, but proves nothing about today.
    let late = post_reading(&server, 0.4, "2026-11-19T06:17:00Z");
    assert_eq!(late["stored"], 1);
    assert_eq!(late["alert_state"], "silent");
    // A new one wakes it, judged as usual: 5 ppt is an alarm.
    let back = post_reading(&server, 5.0, &now_text(-60));
    assert_eq!(back["alert_state"], "alarm");
    let events = history(&server, "station=WQ-01", &[]);
    assert_eq!(
        (events[0]["from"].as_str(), events[0]["to"].as_str()),
        (Some("silent"), Some("alarm"))
    );
    assert_eq!(events[0]["cause"]["parameter"], "salinity");
    assert_eq!(events[0]["cause"]["value"], 5.0);
    assert_eq!(events.len(), silent.len() + 1, "the late reading changed nothing");
    assert_eq!(
        alert_of(&server.get("/api/alerts", &[]).json(), "WQ-01")["alert_state"],
        "alarm"
    );

    // The history by province and commune: WQ-01 is in the demo province 99.
    assert!(
        history(&server, "province=99", &[])
            .iter()
            .any(|e| e["station_id"] == "WQ-01")
    );
    let commune = events[0]["commune_code"].as_str().expect("commune").to_owned();
    assert!(
        history(&server, &format!("commune={commune}"), &[])
            .iter()
            .all(|e| e["commune_code"] == commune.as_str())
    );
    for (query, code) in [
        ("province=00", "unknown_province"),
        ("from=yesterday", "bad_time"),
        ("from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", "bad_interval"),
    ] {
        let reply = server.get(&format!("/api/alerts/history?{query}"), &[]);
        assert_eq!(reply.error_code(), code, "{query}");
    }
}

fn webhooks_are_signed_retried_and_never_sent_twice(kind: StoreKind) {
    let server = server(kind, "alerts_webhook", quick_retries());
    let receiver = Receiver::start(2);
    let editor = token(&server, "editor");
    let made = server.post_json(
        "/api/subscriptions",
        &[("authorization", &editor)],
        &json!({"name": "Zalo gateway, salinity", "url": receiver.url, "parameters": ["salinity"], "states": ["alarm", "ok"]}),
    );
    assert_eq!(made.status, 201, "{}", String::from_utf8_lossy(&made.body));
    let made = made.json();
    let secret = made["secret"].as_str().expect("secret").to_owned();
    let id = made["id"].as_i64().expect("id");
    // Listed without its secret.
    let listed = server.get("/api/subscriptions", &[("authorization", &editor)]).json();
    let mine = listed["subscriptions"]
        .as_array()
        .expect("list")
        .iter()
        .find(|s| s["id"] == id)
        .expect("listed")
        .clone();
    assert!(mine.get("secret").is_none(), "{mine}");
    assert_eq!(mine["states"], json!(["ok", "alarm"]));

    // An alarm, then back to ok: two changes, two deliveries.
    assert_eq!(post_reading(&server, 6.0, &now_text(-120))["alert_state"], "alarm");
    assert_eq!(post_reading(&server, 0.3, &now_text(-60))["alert_state"], "ok");
    wait_for("both changes delivered", || receiver.delivered().len() >= 2);
    std::thread::sleep(Duration::from_secs(2));
    let all = receiver.received();
    let delivered = receiver.delivered();
    assert_eq!(all.iter().filter(|r| r.status == 500).count(), 2, "{all:?}");
    assert_eq!(delivered.len(), 2, "each change once: {all:?}");
    let bodies: Vec<Value> = delivered
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("json"))
        .collect();
    // In the order they happened, each signed with the subscription's secret.
    assert_eq!(bodies[0]["event"]["to"], "alarm");
    assert_eq!(bodies[1]["event"]["to"], "ok");
    assert_eq!(bodies[0]["event"]["cause"]["value"], 6.0);
    assert_eq!(bodies[0]["province_code"], "99");
    // The demo province was not merged: the same province today.
    assert_eq!(bodies[0]["province_code_2025"], "99");
    assert_eq!(bodies[0]["subscription"]["id"], id);
    for r in &delivered {
        assert_eq!(r.signature, openssl_signature(&secret, &r.body));
    }
    assert_ne!(delivered[0].delivery, delivered[1].delivery);
    // The failed attempts carried the same delivery id as the one that got through.
    assert!(
        all.iter()
            .filter(|r| r.status == 500)
            .all(|r| r.delivery == delivered[0].delivery)
    );

    // The history says who was told, to editors; not to anonymous callers.
    let seen = history(&server, "station=WQ-01&limit=2", &[("authorization", &editor)]);
    let notified = seen[1]["notified"].as_array().expect("notified");
    assert_eq!(notified.len(), 1);
    assert_eq!(notified[0]["subscription_id"], id);
    assert_eq!(notified[0]["status"], "delivered");
    assert_eq!(notified[0]["attempts"], 3);
    assert!(
        history(&server, "station=WQ-01&limit=2", &[])[0]
            .get("notified")
            .is_none()
    );

    // Ended, it hears nothing more.
    let ended = request_with_body(
        "DELETE",
        &format!("{}/api/subscriptions/{id}", server.base),
        &[("authorization", &editor)],
        Vec::new(),
    );
    assert_eq!(ended.status, 204);
    assert_eq!(post_reading(&server, 7.0, &now_text(-30))["alert_state"], "alarm");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(receiver.delivered().len(), 2);
}

fn dead_letters_wait_for_a_replay(kind: StoreKind) {
    let server = server(
        kind,
        "alerts_dead",
        AlertConfig {
            retry_for: Duration::from_secs(2),
            ..quick_retries()
        },
    );
    let receiver = Receiver::start(0);
    receiver.down.store(true, Ordering::SeqCst);
    let editor = token(&server, "editor");
    let admin = token(&server, "admin");
    let made = server.post_json(
        "/api/subscriptions",
        &[("authorization", &editor)],
        &json!({"name": "SMS gateway", "url": receiver.url, "station_kinds": ["water_quality"]}),
    );
    assert_eq!(made.status, 201, "{}", String::from_utf8_lossy(&made.body));
    assert_eq!(post_reading(&server, 6.0, &now_text(-60))["alert_state"], "alarm");
    let dead = || {
        server
            .get("/api/alerts/dead-letters", &[("authorization", &admin)])
            .json()["dead_letters"]
            .as_array()
            .expect("list")
            .clone()
    };
    wait_for("the delivery to be given up", || !dead().is_empty());
    let letters = dead();
    assert_eq!(letters.len(), 1);
    assert!(
        letters[0]["last_error"].as_str().expect("error").contains("500"),
        "{letters:?}"
    );
    assert_eq!(receiver.delivered().len(), 0);
    // Editors may not see the dead letters.
    assert_eq!(
        server
            .get("/api/alerts/dead-letters", &[("authorization", &editor)])
            .status,
        403
    );

    // The gateway is back; the admin replays; it gets the alarm once.
    receiver.down.store(false, Ordering::SeqCst);
    receiver.failures.store(0, Ordering::SeqCst);
    let replayed = server.post_json(
        "/api/alerts/dead-letters/replay",
        &[("authorization", &admin)],
        &json!({}),
    );
    assert_eq!(replayed.status, 200, "{}", String::from_utf8_lossy(&replayed.body));
    assert_eq!(replayed.json()["replayed"], 1);
    wait_for("the replayed delivery", || receiver.delivered().len() == 1);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(receiver.delivered().len(), 1);
    assert!(dead().is_empty());
    let body: Value = serde_json::from_slice(&receiver.delivered()[0].body).expect("json");
    assert_eq!(body["event"]["to"], "alarm");
}

fn bad_subscriptions_are_refused_with_the_reason(kind: StoreKind) {
    // Loopback targets are refused unless the server allows private webhooks.
    let server = server(kind, "alerts_bad", AlertConfig::default());
    let editor = token(&server, "editor");
    let scoped = format!(
        "Bearer {}",
        block_on(issue_scoped_token(
            server.store.as_ref(),
            "editor-87",
            "editor",
            &["87".into()]
        ))
        .expect("token")
        .1
    );
    let ask = |auth: &str, body: Value| server.post_json("/api/subscriptions", &[("authorization", auth)], &body);
    let hook = "http://127.0.0.1:9/hook";
    for (body, code, says) in [
        (
            json!({"name": "x", "url": hook}),
            "bad_webhook",
            "--allow-private-webhooks",
        ),
        (
            json!({"name": "x", "url": "http://169.254.169.254/latest"}),
            "bad_webhook",
            "link-local",
        ),
        (
            json!({"name": "x", "url": "ftp://example.org/x"}),
            "bad_webhook",
            "http or https",
        ),
        (
            json!({"name": "x", "url": "https://gateway.invalid/x"}),
            "bad_webhook",
            "does not resolve",
        ),
        (json!({"name": "", "url": hook}), "bad_subscription", "name"),
        (
            json!({"name": "x", "url": hook, "station_kinds": ["radar"]}),
            "bad_subscription",
            "radar",
        ),
        (
            json!({"name": "x", "url": hook, "parameters": ["turbidity"]}),
            "bad_subscription",
            "turbidity",
        ),
        (
            json!({"name": "x", "url": hook, "states": []}),
            "bad_subscription",
            "states",
        ),
        (
            json!({"name": "x", "url": hook, "states": ["loud"]}),
            "bad_subscription",
            "loud",
        ),
        (
            json!({"name": "x", "url": hook, "provinces": ["00"]}),
            "unknown_province",
            "00",
        ),
        (
            json!({"name": "x", "url": hook, "colour": "red"}),
            "bad_subscription",
            "colour",
        ),
    ] {
        let reply = ask(&editor, body.clone());
        assert_eq!(
            reply.error_code(),
            code,
            "{body}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        let message = reply.json()["error"]["message"].as_str().expect("message").to_owned();
        assert!(message.contains(says), "{body}: {message}");
    }
    // An editor of another province may not listen to province 99.
    let reply = ask(
        &scoped,
        json!({"name": "x", "url": "https://example.org/x", "provinces": ["99"]}),
    );
    assert_eq!((reply.status, reply.error_code().as_str()), (403, "outside_provinces"));
    // Nobody signed in may subscribe.
    assert_eq!(ask("Bearer nobody", json!({"name": "x", "url": hook})).status, 401);
    let reply = request_with_body(
        "DELETE",
        &format!("{}/api/subscriptions/999", server.base),
        &[("authorization", &editor)],
        Vec::new(),
    );
    assert_eq!(reply.error_code(), "unknown_subscription");
}

agrimap_suite::store_suite!(
    stations_fall_silent_and_come_back,
    webhooks_are_signed_retried_and_never_sent_twice,
    dead_letters_wait_for_a_replay,
    bad_subscriptions_are_refused_with_the_reason,
);
