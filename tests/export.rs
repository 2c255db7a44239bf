//! Exports on both stores: GeoJSON and CSV written as rows arrive, the GDAL
//! formats read back by `ogrinfo` with the same features, VN-2000 output,
//! restricted fields only for planners, `agrimap export` giving the same
//! file, polygons another client drew clockwise exported wound as RFC 7946
//! asks, and a client that goes away stopping the database's work.

use agrimap_core::tokens::issue_token;
use agrimap_suite::{
    DemoCopy, PgDatabase, Reply, StoreKind, TestServer, agrimap_bin, assert_wound_as_rfc_7946, on_database, scratch_dir,
};
use std::process::Command;
use std::time::{Duration, Instant};

const COMMUNE: &str = "33053";

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

/// How many crop parcels `/ogc` says the commune has.
fn matched(server: &TestServer, layer: &str) -> u64 {
    server
        .get(
            &format!("/ogc/collections/{layer}/items?commune={COMMUNE}&limit=1"),
            &[],
        )
        .json()["numberMatched"]
        .as_u64()
        .expect("numberMatched")
}

/// `ogrinfo`'s feature count and spatial reference of a file.
fn ogrinfo(path: &std::path::Path) -> (u64, String) {
    let out = Command::new("ogrinfo")
        .args(["-ro", "-so", "-al"])
        .arg(path)
        .output()
        .expect("ogrinfo (tests/run.sh installs gdal-bin)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let count = text
        .lines()
        .find_map(|l| l.strip_prefix("Feature Count: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no feature count in {text}"));
    (count, text)
}

fn save(reply: &Reply, dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    assert_eq!(reply.status, 200, "{name}: {}", String::from_utf8_lossy(&reply.body));
    let path = dir.join(name);
    std::fs::write(&path, &reply.body).expect("write");
    path
}

fn geojson_and_csv_hold_the_selection(kind: StoreKind) {
    let server = kind.demo_server("export_text");
    let want = matched(&server, "crop");
    assert!(want > 100, "{want}");

    let reply = server.get(&format!("/api/export/crop.geojson?commune={COMMUNE}"), &[]);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/geo+json"));
    assert_eq!(
        reply.header("content-disposition"),
        Some(format!("attachment; filename=\"crop-{COMMUNE}.geojson\"").as_str())
    );
    let doc: serde_json::Value = serde_json::from_slice(&reply.body).expect("GeoJSON");
    let features = doc["features"].as_array().expect("features");
    assert_eq!(features.len() as u64, want);
    assert!(features.iter().all(|f| f["properties"]["commune_code"] == COMMUNE));
    assert!(!String::from_utf8_lossy(&reply.body).contains("owner_phone"));

    let csv = server.get(&format!("/api/export/crop.csv?commune={COMMUNE}"), &[]);
    assert_eq!(csv.status, 200);
    let text = String::from_utf8(csv.body.clone()).expect("utf-8");
    let header = text.lines().next().expect("header");
    assert!(header.starts_with("fid,") && header.ends_with(",WKT"), "{header}");
    assert!(!header.contains("owner"), "{header}");
    // Codes of a value list are followed by their label, from the store's lists.
    assert!(header.contains(",crop_type,crop_type_label,"), "{header}");
    let rice = features
        .iter()
        .find(|f| f["properties"]["crop_type"] == "rice")
        .expect("rice in the commune");
    assert_eq!(rice["properties"]["crop_type_label"], "Lúa");
    let dir = scratch_dir(&format!("export-text-{kind:?}"));
    let path = save(&csv, &dir, "crop.csv");
    // GDAL reads the geometry from the WKT column.
    let (count, info) = ogrinfo(&path);
    assert_eq!(count, want);
    assert!(info.contains("Extent: (105."), "{info}");

    // A filter and a bounding box narrow it the same way as /ogc.
    let filtered = server.get("/api/export/ocop.geojson?filter=stars%20%3E%3D%204", &[]);
    let ocop: serde_json::Value = serde_json::from_slice(&filtered.body).expect("GeoJSON");
    let stars: Vec<i64> = ocop["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["properties"]["stars"].as_i64().expect("stars"))
        .collect();
    assert!(!stars.is_empty() && stars.iter().all(|&s| s >= 4), "{stars:?}");
}

fn gdal_formats_read_back_with_the_same_features(kind: StoreKind) {
    let server = kind.demo_server("export_gdal");
    let want = matched(&server, "crop");
    let dir = scratch_dir(&format!("export-gdal-{kind:?}"));
    for ext in ["gpkg", "shp.zip", "kml", "fgb"] {
        let reply = server.get(&format!("/api/export/crop.{ext}?commune={COMMUNE}"), &[]);
        let path = save(&reply, &dir, &format!("crop.{ext}"));
        let (count, _) = ogrinfo(&path);
        assert_eq!(count, want, "{ext}");
    }
    // VN-2000 / UTM zone 48N: metres, eastings near 590 km at 105.8° E.
    let reply = server.get(&format!("/api/export/crop.gpkg?commune={COMMUNE}&crs=EPSG:3405"), &[]);
    let path = save(&reply, &dir, "crop-vn2000.gpkg");
    let (count, info) = ogrinfo(&path);
    assert_eq!(count, want);
    assert!(info.contains("VN-2000") && info.contains("48N"), "{info}");
    let extent = info
        .lines()
        .find_map(|l| l.strip_prefix("Extent: "))
        .expect("extent")
        .to_owned();
    let numbers: Vec<f64> = extent
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .filter_map(|t| t.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 4, "{extent}");
    assert!((500_000.0..700_000.0).contains(&numbers[0]), "{extent}");
    assert!((1_000_000.0..1_200_000.0).contains(&numbers[1]), "{extent}");
    // CSV in the same CRS is written by agrimap, not GDAL: the same positions
    // to the millimetre, through the same official VN-2000 shift.
    let reply = server.get(&format!("/api/export/crop.csv?commune={COMMUNE}&crs=EPSG:3405"), &[]);
    assert_eq!(reply.status, 200);
    let csv_path = save(&reply, &dir, "crop-vn2000.csv");
    let from_gpkg = dir.join("crop-vn2000-gpkg.csv");
    let _ = std::fs::remove_file(&from_gpkg);
    let status = std::process::Command::new("ogr2ogr")
        .args(["-f", "CSV", "-lco", "GEOMETRY=AS_WKT"])
        .arg(&from_gpkg)
        .arg(&path)
        .status()
        .expect("ogr2ogr");
    assert!(status.success());
    let numbers_of = |p: &std::path::Path| -> Vec<f64> {
        let text = std::fs::read_to_string(p).expect("csv");
        text.lines()
            .skip(1)
            .filter_map(|l| {
                // The WKT, quoted: the first column in GDAL's CSV, the last in ours.
                let wkt = &l[l.find("POLYGON")?..];
                Some(&wkt[..wkt.find('"')?])
            })
            .flat_map(|wkt| {
                wkt.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
                    .filter_map(|t| t.parse::<f64>().ok())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let (ours, gdal) = (numbers_of(&csv_path), numbers_of(&from_gpkg));
    assert!(!ours.is_empty());
    assert_eq!(ours.len(), gdal.len());
    assert!(ours[0] > 500_000.0, "{}", ours[0]);
    for (a, b) in ours.iter().zip(&gdal) {
        assert!((a - b).abs() < 0.001, "{a} vs {b}");
    }

    // GeoJSON stays WGS 84; unknown CRSs and formats are named.
    for (path, code) in [
        ("/api/export/crop.geojson?crs=EPSG:3405", "bad_crs"),
        ("/api/export/crop.gpkg?crs=EPSG:3857", "bad_crs"),
        ("/api/export/crop.xlsx", "unknown_format"),
        ("/api/export/crop.csv?colour=red", "unknown_parameter"),
    ] {
        let reply = server.get(path, &[]);
        assert!((400..500).contains(&reply.status), "{path}: {}", reply.status);
        assert_eq!(reply.error_code(), code, "{path}");
    }
}

/// A selection with nothing in it is a file with the layer's columns and no
/// feature, in GDAL's formats as in GeoJSON and CSV: a commune with no
/// parcels yet is an answer, not a server error.
fn an_empty_selection_is_an_empty_file_in_every_format(kind: StoreKind) {
    let server = kind.demo_server("export_empty");
    let dir = scratch_dir(&format!("export-empty-{kind:?}"));
    for ext in ["gpkg", "shp.zip", "kml", "fgb"] {
        let reply = server.get(&format!("/api/export/crop.{ext}?filter=parcel_id%3D%27nope%27"), &[]);
        let path = save(&reply, &dir, &format!("empty.{ext}"));
        let (count, info) = ogrinfo(&path);
        assert_eq!(count, 0, "{ext}: {info}");
        if ext != "kml" {
            // KML keeps no field types; the others keep the layer's.
            assert!(info.contains("area_ha: Real"), "{ext}: {info}");
            assert!(info.contains("Polygon"), "{ext}: {info}");
        }
    }
}

fn planners_export_restricted_fields(kind: StoreKind) {
    let server = kind.demo_server("export_roles");
    let (_, secret) = block_on(issue_token(server.store.as_ref(), "export test", "planner")).expect("token");
    let auth = format!("Bearer {secret}");
    let path = format!("/api/export/crop.csv?commune={COMMUNE}");
    let planner = String::from_utf8(server.get(&path, &[("authorization", &auth)]).body).expect("utf-8");
    assert!(planner.lines().next().expect("header").contains("owner_phone"));
    let public = server.get(&path, &[]);
    assert_eq!(public.header("cache-control"), Some("private, no-store"));
    assert!(!String::from_utf8_lossy(&public.body).contains("owner_phone"));
}

fn the_command_line_writes_the_same_file(kind: StoreKind) {
    let server = kind.demo_server("export_cli");
    let dir = scratch_dir(&format!("export-cli-{kind:?}"));
    let over_http = server
        .get(&format!("/api/export/ocop.geojson?commune={COMMUNE}"), &[])
        .body;
    let out = dir.join("ocop.geojson");
    let mut command = Command::new(agrimap_bin());
    command.args(["export", "--layer", "ocop", "--format", "geojson", "--commune", COMMUNE]);
    command.arg(&out);
    match kind {
        StoreKind::GeoPackage => {
            // The same demo province, seeded into its own data directory.
            command.env("AGRIMAP_DATA_DIR", dir.join("data"));
            command.env("AGRIMAP_SEED_DIR", agrimap_suite::demo_dir());
        }
        StoreKind::PostGis => {
            let db = PgDatabase::demo("export_cli_db");
            command.args(["--database", &db.url]);
            let done = command.output().expect("agrimap export");
            assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
            assert_eq!(std::fs::read(&out).expect("file"), over_http);
            return;
        }
    }
    let done = command.output().expect("agrimap export");
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(std::fs::read(&out).expect("file"), over_http);

    let bad = Command::new(agrimap_bin())
        .args(["export", "--layer", "crop", "--format", "xlsx"])
        .arg(dir.join("x.xlsx"))
        .env("AGRIMAP_DATA_DIR", dir.join("data"))
        .output()
        .expect("agrimap export");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown export format 'xlsx'"));
    assert!(!dir.join("x.xlsx").exists() && !dir.join("x.partial").exists());
}

/// A parcel that another client (QGIS, SQL, or an agrimap older than the
/// winding of rings on write) stored with its exterior clockwise leaves the
/// store wound as RFC 7946 asks.
fn polygons_another_client_drew_clockwise_leave_wound_as_rfc_7946(kind: StoreKind) {
    let t = DemoCopy::new(kind, "export_winding");
    let fid = match &t.db {
        Some(db) => on_database(&db.url, async |c| {
            let row = c
                .query_one(
                    "UPDATE crop SET geom = ST_ForcePolygonCW(geom)
                     WHERE fid = (SELECT min(fid) FROM crop WHERE commune_code = $1)
                     RETURNING fid, ST_IsPolygonCW(geom)",
                    &[&COMMUNE],
                )
                .await
                .expect("turn a parcel clockwise");
            assert!(row.get::<_, bool>(1), "the parcel is stored clockwise");
            row.get::<_, i64>(0)
        }),
        None => turn_clockwise_in_geopackage(&t.dir.join("data/agrimap.gpkg")),
    };
    let out = t.agrimap(&["export", "--layer", "crop", "--commune", COMMUNE, "-"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("GeoJSON");
    let features = doc["features"].as_array().expect("features");
    assert!(features.iter().any(|f| f["id"] == fid), "parcel {fid} exported");
    assert_wound_as_rfc_7946(features);
}

/// Turns the first parcel of `COMMUNE` clockwise in the GeoPackage file, as
/// another SQLite client would write it, and returns its fid.
fn turn_clockwise_in_geopackage(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).expect("open the GeoPackage");
    agrimap_store::gpkg_geom::register_functions(&conn).expect("GeoPackage functions");
    let (fid, mut blob): (i64, Vec<u8>) = conn
        .query_row(
            "SELECT fid, geom FROM crop WHERE fid = (SELECT min(fid) FROM crop WHERE commune_code = ?1)",
            [COMMUNE],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("a parcel");
    // The GeoPackage header (8 bytes and an envelope its flags size), then
    // a little-endian WKB multipolygon of one polygon of one ring.
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"));
    let multi = 8 + [0, 32, 48, 48, 64][usize::from((blob[3] >> 1) & 7)];
    assert_eq!(
        (blob[multi], u32_at(&blob, multi + 1), u32_at(&blob, multi + 5)),
        (1, 6, 1)
    );
    let wkb = multi + 9;
    assert_eq!((blob[wkb], u32_at(&blob, wkb + 1), u32_at(&blob, wkb + 5)), (1, 3, 1));
    let n = u32_at(&blob, wkb + 9) as usize;
    let ring = &mut blob[wkb + 13..wkb + 13 + 16 * n];
    let mut points: Vec<[u8; 16]> = ring.chunks(16).map(|c| c.try_into().expect("16 bytes")).collect();
    points.reverse();
    ring.copy_from_slice(&points.concat());
    conn.execute("UPDATE crop SET geom = ?1 WHERE fid = ?2", (blob, fid))
        .expect("write the parcel back");
    fid
}

/// A client that reads a little of a large export and hangs up: the
/// database stops working on it.
#[test]
fn a_client_that_goes_away_stops_the_query() {
    use std::io::{Read, Write};
    let db = PgDatabase::demo("export_abandoned");
    let server = TestServer::start(std::sync::Arc::new(db.store()));
    let addr = server.base.trim_start_matches("http://").to_owned();
    let active = || -> i64 {
        agrimap_suite::on_database(&db.url, async |c| {
            c.query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%FROM crop%'",
                &[],
            )
            .await
            .expect("pg_stat_activity")
            .get(0)
        })
    };
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    write!(stream, "GET /api/export/crop.geojson HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("request");
    let mut first = vec![0u8; 64 * 1024];
    stream.read_exact(&mut first).expect("the start of the export");
    assert!(String::from_utf8_lossy(&first).contains("FeatureCollection"));
    // The client reads no more: the export waits on it, its query still open.
    std::thread::sleep(Duration::from_millis(500));
    assert!(active() >= 1, "the export's query runs while the client is there");
    drop(stream);
    let gone = Instant::now();
    while active() > 0 {
        assert!(
            gone.elapsed() < Duration::from_secs(5),
            "the query still runs after the client left"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

agrimap_suite::store_suite!(
    geojson_and_csv_hold_the_selection,
    gdal_formats_read_back_with_the_same_features,
    an_empty_selection_is_an_empty_file_in_every_format,
    planners_export_restricted_fields,
    the_command_line_writes_the_same_file,
    polygons_another_client_drew_clockwise_leave_wound_as_rfc_7946,
);
