//! The `agrimap` binary itself: first start seeds the store, SIGTERM stops it
//! cleanly, bad input exits non-zero with a message.

use agrimap_suite::{ServeProcess, agrimap_bin, scratch_dir};
use std::process::Command;
use std::time::Duration;

#[test]
fn serve_seeds_a_new_data_dir_serves_and_stops_on_sigterm() {
    let data = scratch_dir("cli-serve");
    let server = ServeProcess::start(
        &[],
        &[
            ("AGRIMAP_DATA_DIR", data.as_os_str()),
            ("AGRIMAP_SEED_DIR", agrimap_suite::demo_dir().as_os_str()),
        ],
    );
    let health = server.get("/health", &[]);
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["store"], "geopackage");
    assert!(
        data.join("agrimap.gpkg").is_file(),
        "the store is created under the data dir"
    );
    assert!(
        !std::fs::read_dir(&data).expect("dir").any(|e| e
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .contains("partial"))
    );
    let status = server.terminate(Duration::from_mins(1));
    assert!(status.success(), "agrimap exits cleanly on SIGTERM: {status:?}");
}

#[test]
fn bad_input_exits_non_zero_with_a_message() {
    let out = Command::new(agrimap_bin())
        .args(["demo-data", "--parcels", "lots"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'lots'"));

    let out = Command::new(agrimap_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--seed-dir", "/nonexistent/demo"])
        .env("AGRIMAP_DATA_DIR", scratch_dir("cli-bad-seed"))
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("agrimap: error: no demo province in '/nonexistent/demo'"),
        "{err}"
    );

    let out = Command::new(agrimap_bin())
        .args(["serve", "--listen", "not-an-address"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));
}

#[test]
// One scenario from start to end: its steps read best in order.
#[allow(clippy::too_many_lines)]
fn station_add_token_list_then_the_station_posts_readings() {
    let data = scratch_dir("cli-station");
    let seed = agrimap_suite::demo_dir();
    let env = [
        ("AGRIMAP_DATA_DIR", data.as_os_str()),
        ("AGRIMAP_SEED_DIR", seed.as_os_str()),
    ];
    let run = |args: &[&str]| {
        let mut command = Command::new(agrimap_bin());
        command.args(args);
        for (k, v) in env {
            command.env(k, v);
        }
        command.output().expect("run agrimap")
    };
    let added = run(&[
        "station",
        "add",
        "--id",
        "WQ-99",
        "--name",
        "Trạm thử",
        "--kind",
        "water_quality",
        "--commune",
        "33001",
        "--lon",
        "105.81",
        "--lat",
        "9.93",
        "--parameters",
        "salinity,ph",
    ]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let again = run(&[
        "station",
        "add",
        "--id",
        "WQ-99",
        "--name",
        "x",
        "--kind",
        "water_quality",
        "--commune",
        "33001",
        "--lon",
        "105.8",
        "--lat",
        "9.9",
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    // A station that could not stand where it says is refused, and nothing is added.
    let add = |id: &str, commune: &str, lon: &str, lat: &str| {
        let out = run(&[
            "station",
            "add",
            "--id",
            id,
            "--name",
            "Trạm",
            "--kind",
            "water_quality",
            "--commune",
            commune,
            "--lon",
            lon,
            "--lat",
            lat,
        ]);
        assert!(!out.status.success(), "{id} {commune} {lon} {lat}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    for (said, expected) in [
        (add("WQ-X", "33001", "200", "95"), "longitude is -180 to 180"),
        (
            add("", "33001", "105.81", "9.93"),
            "station id '' must be 1 to 64 letters",
        ),
        (
            add("WQ-X", "99999", "105.81", "9.93"),
            "commune '99999' is not among the communes",
        ),
        // The centre of Nhơn Bình (33004), given as Phước Thạnh (33001).
        (
            add("WQ-X", "33001", "105.82686", "9.89989"),
            "is not in commune 33001 Phước Thạnh (pre-2025); it lies in commune 33004 Nhơn Bình instead",
        ),
    ] {
        assert!(said.contains(expected), "{said}");
    }
    let token = run(&["station", "token", "WQ-99"]);
    assert!(token.status.success(), "{}", String::from_utf8_lossy(&token.stderr));
    let token = String::from_utf8(token.stdout).expect("utf-8").trim().to_owned();
    assert_eq!(token.len(), 64, "{token}");
    let missing = run(&["station", "token", "NOPE-1"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no station 'NOPE-1'"));
    let list = String::from_utf8(run(&["station", "list"]).stdout).expect("utf-8");
    assert!(!list.contains("WQ-X"), "{list}");
    let line = list.lines().find(|l| l.starts_with("WQ-99")).expect("listed");
    assert!(line.contains("yes") && line.contains("Trạm thử"), "{line}");
    assert!(
        list.lines().any(|l| l.starts_with("WQ-01") && l.contains(" no ")),
        "{list}"
    );

    // This province watches salinity from 0.5 ‰ in commune 33001.
    let rules = data.join("thresholds.json");
    std::fs::write(
        &rules,
        r#"[{"parameter": "salinity", "direction": "above", "watch": 0.5, "alarm": 1.5, "commune_code": "33001"}]"#,
    )
    .expect("write");
    let bad_rules = data.join("bad-thresholds.json");
    std::fs::write(
        &bad_rules,
        r#"[{"parameter": "salt", "direction": "above", "watch": 1, "alarm": 2}]"#,
    )
    .expect("write");
    let refused = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--thresholds",
        bad_rules.to_str().expect("path"),
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("unknown parameter 'salt'"));
    let server = ServeProcess::start(&["--thresholds", rules.to_str().expect("path")], &env);
    let body = r#"[{"parameter":"salinity","value":0.8,"unit":"ppt","time":"2026-11-24T05:00:00Z"}]"#;
    let post = |token: &str| {
        agrimap_suite::request_with_body(
            "POST",
            &format!("{}/api/stations/WQ-99/readings", server.base),
            &[
                ("authorization", &format!("Bearer {token}")),
                ("content-type", "application/json"),
            ],
            body.as_bytes().to_vec(),
        )
    };
    let reply = post(&token);
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.json()["stored"], 1);
    assert_eq!(reply.json()["alert_state"], "watch", "the province's own rule applies");
    assert_eq!(post("a-guess").status, 401);
    let series = server.get("/api/stations/WQ-99/readings", &[]).json();
    assert_eq!(series["readings"][0]["value"], 0.8);
    // An acknowledged reading survives the server being killed outright.
    drop(server);
    let restarted = ServeProcess::start(&[], &env);
    let series = restarted.get("/api/stations/WQ-99/readings", &[]).json();
    assert_eq!(series["readings"][0]["value"], 0.8);
    assert_eq!(series["readings"][0]["time"], "2026-11-24T05:00:00Z");
    assert!(restarted.terminate(Duration::from_mins(1)).success());
}

#[test]
fn token_create_list_revoke_then_the_server_honours_them() {
    let data = scratch_dir("cli-token");
    let seed = agrimap_suite::demo_dir();
    let run = |args: &[&str]| {
        let out = Command::new(agrimap_bin())
            .args(args)
            .env("AGRIMAP_SEED_DIR", &seed)
            .output()
            .expect("run agrimap");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let dir = data.to_str().expect("path");
    // Store flags after the subcommand, as anyone would type them.
    let (ok, secret, err) = run(&[
        "token",
        "create",
        "--role",
        "planner",
        "--name",
        "Phòng Kế hoạch",
        "--data-dir",
        dir,
    ]);
    assert!(ok, "{err}");
    assert_eq!(secret.len(), 64, "{secret}");
    let (ok, _, err) = run(&["token", "create", "--role", "root", "--name", "x", "--data-dir", dir]);
    assert!(!ok);
    assert!(err.contains("unknown role 'root'"), "{err}");

    let (ok, list, _) = run(&["token", "--data-dir", dir, "list"]);
    assert!(ok);
    let line = list.lines().find(|l| l.contains("Phòng Kế hoạch")).expect("listed");
    assert!(line.contains("planner") && !list.contains(&secret), "{list}");
    let id = line.split_whitespace().next().expect("id").to_owned();

    let env = [
        ("AGRIMAP_DATA_DIR", data.as_os_str()),
        ("AGRIMAP_SEED_DIR", seed.as_os_str()),
    ];
    let server = ServeProcess::start(&[], &env);
    let auth = format!("Bearer {secret}");
    assert_eq!(
        server.get("/api/me", &[("authorization", &auth)]).json()["role"],
        "planner"
    );

    let (ok, out, err) = run(&["token", "revoke", &id, "--data-dir", dir]);
    assert!(ok, "{err}");
    assert_eq!(out, format!("revoked {id}"));
    assert_eq!(server.get("/api/me", &[("authorization", &auth)]).status, 401);
    let (ok, _, err) = run(&["token", "revoke", &id, "--data-dir", dir]);
    assert!(!ok && err.contains("no valid token"), "{err}");
}

/// Sends a POST of `len` bytes whose body is only partly written, and returns
/// the open connection.
fn partial_post(base: &str, path: &str, auth: &str, head_of_body: &[u8], len: usize) -> std::net::TcpStream {
    use std::io::Write;
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    )
    .expect("headers");
    stream.write_all(head_of_body).expect("body");
    stream.flush().expect("flush");
    stream
}

#[test]
fn sigterm_lets_requests_in_flight_finish_and_stops_within_ten_seconds() {
    use std::io::{Read, Write};
    let data = scratch_dir("cli-drain");
    let seed = agrimap_suite::demo_dir();
    let created = Command::new(agrimap_bin())
        .args(["token", "create", "--role", "admin", "--name", "drain test"])
        .env("AGRIMAP_DATA_DIR", &data)
        .env("AGRIMAP_SEED_DIR", &seed)
        .output()
        .expect("run agrimap");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let auth = format!("Bearer {}", String::from_utf8_lossy(&created.stdout).trim());
    let env = [
        ("AGRIMAP_DATA_DIR", data.as_os_str()),
        ("AGRIMAP_SEED_DIR", seed.as_os_str()),
    ];
    let server = ServeProcess::start(&[], &env);

    // Two requests in flight, their bodies half sent: one will be finished
    // after SIGTERM and must be answered; the other never is.
    let body = br#"{"name": "made while stopping", "role": "planner"}"#;
    let (head, tail) = body.split_at(10);
    let mut finishing = partial_post(&server.base, "/api/tokens", &auth, head, body.len());
    let _stuck = partial_post(&server.base, "/api/tokens", &auth, head, body.len());
    std::thread::sleep(Duration::from_millis(300));

    let signalled = std::time::Instant::now();
    server.signal_term();
    std::thread::sleep(Duration::from_millis(500));
    finishing.write_all(tail).expect("rest of the body");
    let mut answer = String::new();
    finishing.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(answer.contains("made while stopping"), "{answer}");

    let status = server.wait_exit(Duration::from_secs(10));
    let took = signalled.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(10), "stopped after {took:?}");
}
