//! Readings uploaded as CSV by an editor, on both stores: several stations in
//! one file, landed whole with their alert states or refused whole with every
//! bad row named by its line; uploading twice changes nothing.

use agrimap_core::tokens::issue_token;
use agrimap_model::calendar::format_timestamp;
use agrimap_store::ReadingQuery;
use agrimap_suite::{Reply, StoreKind, TestServer, request_with_body};

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

fn bearer(server: &TestServer, role: &str) -> String {
    let (_, secret) = block_on(issue_token(server.store.as_ref(), "csv test", role)).expect("token");
    format!("Bearer {secret}")
}

/// A time `hours` before now, as stations write it.
fn hours_ago(hours: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    format_timestamp(i64::try_from(now).expect("time") / 3600 * 3600 - hours * 3600)
}

fn upload(server: &TestServer, auth: &str, csv: &str) -> Reply {
    request_with_body(
        "POST",
        &format!("{}/api/readings", server.base),
        &[("authorization", auth), ("content-type", "text/csv")],
        csv.as_bytes().to_vec(),
    )
}

fn stored(server: &TestServer, station: &str) -> usize {
    let query = ReadingQuery {
        station_id: station.into(),
        ..ReadingQuery::default()
    };
    block_on(server.store.readings_between(&query)).expect("readings").len()
}

fn an_editor_uploads_several_stations_at_once(kind: StoreKind) {
    let server = kind.demo_server("csv_upload");
    let editor = bearer(&server, "editor");
    let (t1, t2) = (hours_ago(2), hours_ago(1));
    // Columns in another order than the documented one, a byte-order mark
    // (as spreadsheets write it) and spaces around values.
    let csv = format!(
        "\u{feff}time,station_id,parameter,value,unit\n\
         {t1},WQ-01,salinity,4.6,ppt\n\
         {t2},WQ-01,salinity, 4.8 ,ppt\n\
         {t1},WQ-02,salinity,0.1,ppt\n\
         {t2},WQ-02,ph,7.2,pH\n"
    );
    let before = (stored(&server, "WQ-01"), stored(&server, "WQ-02"));
    let reply = upload(&server, &editor, &csv);
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let answer = reply.json();
    assert_eq!(answer["stored"], 4);
    assert_eq!(answer["duplicates"], 0);
    let states: Vec<(String, String)> = answer["stations"]
        .as_array()
        .expect("stations")
        .iter()
        .map(|s| {
            (
                s["station_id"].as_str().expect("id").to_owned(),
                s["alert_state"].as_str().expect("state").to_owned(),
            )
        })
        .collect();
    assert_eq!(states[0], ("WQ-01".into(), "alarm".into()), "{states:?}");
    assert_eq!(states[1].0, "WQ-02");
    assert_eq!(
        (stored(&server, "WQ-01"), stored(&server, "WQ-02")),
        (before.0 + 2, before.1 + 2)
    );
    let alerts = server.get("/api/alerts", &[]).json();
    assert!(
        alerts["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .any(|a| a["station_id"] == "WQ-01" && a["alert_state"] == "alarm"),
        "{alerts}"
    );

    // The same file again: nothing new.
    let again = upload(&server, &editor, &csv).json();
    assert_eq!(
        (again["stored"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(4))
    );
}

fn a_bad_file_is_refused_whole_with_lines_named(kind: StoreKind) {
    let server = kind.demo_server("csv_bad");
    let editor = bearer(&server, "editor");
    let t = hours_ago(1);
    let csv = format!(
        "station_id,parameter,value,unit,time\n\
         WQ-01,salinity,1.0,ppt,{t}\n\
         NOPE-9,salinity,1.0,ppt,{t}\n\
         WQ-01,salinity,lots,ppt,{t}\n\
         WQ-01,salinity,1.0,mg/l,{t}\n\
         WQ-01,salinity,1.0,ppt,2999-01-01T00:00:00Z\n"
    );
    let before = stored(&server, "WQ-01");
    let reply = upload(&server, &editor, &csv);
    assert_eq!(reply.status, 422, "{}", String::from_utf8_lossy(&reply.body));
    let rows = reply.json()["error"]["rows"].as_array().expect("rows").clone();
    let lines: Vec<u64> = rows.iter().map(|r| r["line"].as_u64().expect("line")).collect();
    assert_eq!(lines, vec![3, 4, 5, 6], "{rows:?}");
    assert!(rows[0]["error"].as_str().expect("message").contains("NOPE-9"));
    assert!(rows[1]["error"].as_str().expect("message").contains("not a number"));
    assert_eq!(stored(&server, "WQ-01"), before, "nothing was stored");

    for (csv, says) in [
        (
            "station_id,parameter,value,unit\nWQ-01,salinity,1,ppt\n",
            "no 'time' column",
        ),
        (
            "station_id,parameter,value,unit,time,colour\n",
            "unknown column 'colour'",
        ),
        ("station_id,parameter,value,unit,time\n", "no rows"),
    ] {
        let reply = upload(&server, &editor, csv);
        assert_eq!(reply.status, 400, "{csv}");
        assert_eq!(reply.error_code(), "bad_csv");
        assert!(String::from_utf8_lossy(&reply.body).contains(says), "{csv}");
    }
}

fn only_editors_upload(kind: StoreKind) {
    let server = kind.demo_server("csv_roles");
    let csv = format!(
        "station_id,parameter,value,unit,time\nWQ-01,salinity,1.0,ppt,{}\n",
        hours_ago(1)
    );
    let planner = bearer(&server, "planner");
    assert_eq!(upload(&server, &planner, &csv).status, 403);
    assert_eq!(upload(&server, "Bearer nobody-gave-this-out", &csv).status, 401);
    assert_eq!(upload(&server, &bearer(&server, "admin"), &csv).status, 200);
}

/// Times in any RFC 3339 form, as loggers write them, are kept in UTC to the
/// second; a time without a zone cannot be placed and its line says so.
fn times_in_any_offset_are_kept_in_utc(kind: StoreKind) {
    let server = kind.demo_server("csv_offsets");
    let editor = bearer(&server, "editor");
    let csv = "station_id,parameter,value,unit,time\n\
               WQ-02,ph,7.2,pH,2026-11-24T14:00:00+07:00\n\
               WQ-02,ph,7.3,pH,2026-11-24T08:00:00.750+00:00\n";
    let reply = upload(&server, &editor, csv);
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let series = server
        .get(
            "/api/stations/WQ-02/readings?parameter=ph&from=2026-11-24T07:00:00Z&to=2026-11-24T08:00:00Z",
            &[],
        )
        .json();
    let times: Vec<&str> = series["readings"]
        .as_array()
        .expect("readings")
        .iter()
        .map(|r| r["time"].as_str().expect("time"))
        .collect();
    assert_eq!(times, ["2026-11-24T07:00:00Z", "2026-11-24T08:00:00Z"]);

    let local = upload(
        &server,
        &editor,
        "station_id,parameter,value,unit,time\nWQ-02,ph,7.0,pH,2026-11-24T13:00:00\n",
    );
    assert_eq!(local.status, 422);
    let rows = local.json()["error"]["rows"].clone();
    assert_eq!(rows[0]["line"], 2);
    assert!(
        rows[0]["error"].as_str().expect("why").contains("needs a time zone"),
        "{rows}"
    );
}

agrimap_suite::store_suite!(
    an_editor_uploads_several_stations_at_once,
    a_bad_file_is_refused_whole_with_lines_named,
    only_editors_upload,
    times_in_any_offset_are_kept_in_utc,
);
