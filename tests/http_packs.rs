//! Offline packs: `/api/packs/{code}.pmtiles` and `agrimap pack` write one
//! commune's tiles as a PMTiles v3 archive that a PMTiles reader (the `pmtiles`
//! crate here, the page's reader in tests/browser) opens, holding the same
//! tiles `/tiles` serves, with public fields only.

use agrimap_model::{Access, catalog};
use agrimap_suite::{PgDatabase, TestServer, agrimap_bin, gunzip, scratch_dir, shared_store_path};
use agrimap_tiles::{decode, tile_containing};
use pmtiles::{AsyncPmTilesReader, MmapBackend, TileCoord};
use std::path::Path;
use std::process::Command;

/// Mỹ Xương, and a point inside one of its rice parcels.
const MY_XUONG: &str = "33030";
const PARCEL: (f64, f64) = (105.88688, 10.17029);

fn read_pack(path: &Path) -> AsyncPmTilesReader<MmapBackend> {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    runtime.block_on(async {
        let backend = MmapBackend::try_from(path).await.expect("mmap");
        AsyncPmTilesReader::try_from_source(backend)
            .await
            .expect("a PMTiles archive")
    })
}

fn pack_tile(pack: &AsyncPmTilesReader<MmapBackend>, z: u8, x: u32, y: u32) -> Option<Vec<u8>> {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    runtime
        .block_on(pack.get_tile(TileCoord::new(z, x, y).expect("coord")))
        .expect("reading a tile")
        .map(|b| b.to_vec())
}

/// Checks that an archive's bounds are `bbox` (JSON `[west, south, east, north]`), and returns it.
fn assert_bounds(header: &pmtiles::Header, bbox: &serde_json::Value) -> Vec<f64> {
    let bbox: Vec<f64> = bbox
        .as_array()
        .expect("bbox")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect();
    let bounds = [
        header.min_longitude,
        header.min_latitude,
        header.max_longitude,
        header.max_latitude,
    ];
    for (have, want) in bounds.iter().zip(&bbox) {
        assert!((have - want).abs() < 1e-6, "bounds {bounds:?}, place {bbox:?}");
    }
    bbox
}

#[test]
// The pack and a tile packed in it, the server and a tile it served.
#[allow(clippy::similar_names)]
fn a_commune_pack_holds_the_tiles_the_server_serves() {
    let server = TestServer::demo();
    let r = server.get(&format!("/api/packs/{MY_XUONG}.pmtiles"), &[]);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/vnd.pmtiles"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"agrimap-33030.pmtiles\"")
    );
    let path = scratch_dir("http-pack").join("my-xuong.pmtiles");
    std::fs::write(&path, r.decoded_body()).expect("writing the pack");
    let pack = read_pack(&path);

    let header = pack.get_header();
    assert_eq!((header.min_zoom, header.max_zoom), (10, 16));
    let commune = server.get(&format!("/api/communes/{MY_XUONG}"), &[]).json();
    assert_bounds(header, &commune["bbox"]);

    let layers: Vec<&str> = catalog().iter().map(|l| l.id).collect();
    let all = layers.join(",");
    let restricted: Vec<&str> = catalog()
        .iter()
        .flat_map(|l| l.fields.iter().filter(|f| f.access != Access::Public).map(|f| f.name))
        .collect();
    // At every zoom, the tile over the parcel is the tile /tiles serves, decoded.
    for z in 10..=16 {
        let t = tile_containing(PARCEL.0, PARCEL.1, z);
        let packed = pack_tile(&pack, z, t.x, t.y).unwrap_or_else(|| panic!("no z{z} tile in the pack"));
        let served = server.get(
            &format!("/tiles/{all}/{z}/{}/{}.mvt", t.x, t.y),
            &[("accept-encoding", "gzip")],
        );
        assert_eq!(served.status, 200);
        let (packed, served) = (
            decode(&gunzip(&packed)).expect("pack tile"),
            decode(&served.decoded_body()).expect("served tile"),
        );
        assert_eq!(packed, served, "z{z}");
        for layer in &packed {
            for f in &layer.features {
                for field in &restricted {
                    assert!(
                        !f.properties.contains_key(*field),
                        "{field} in layer {} of the pack",
                        layer.name
                    );
                }
            }
        }
        if z >= 11 {
            let parcel = packed.iter().find(|l| l.name == "crop").map_or(0, |l| l.features.len());
            assert!(parcel > 0, "z{z}: no parcels in the pack");
        }
    }
    // Far from the commune there is nothing.
    let far = tile_containing(106.15, 9.65, 14);
    assert_eq!(pack_tile(&pack, 14, far.x, far.y), None);
}

#[test]
fn bad_pack_requests_get_json_errors() {
    let server = TestServer::demo();
    for (path, status, code) in [
        ("/api/packs/99999.pmtiles", 404, "unknown_commune"),
        ("/api/packs/33030.mbtiles", 404, "not_found"),
        ("/api/packs/33030.pmtiles?minzoom=14&maxzoom=12", 400, "bad_zoom"),
        ("/api/packs/33030.pmtiles?maxzoom=17", 400, "bad_zoom"),
        ("/api/packs/33030.pmtiles?maxzoom=lots", 400, "bad_query"),
        ("/api/packs/33030.pmtiles?minzoom=0&maxzoom=16", 200, ""),
    ] {
        let r = server.get(path, &[]);
        assert_eq!(r.status, status, "{path}");
        if status != 200 {
            assert_eq!(r.error_code(), code, "{path}");
        }
    }
}

#[test]
// The server and what it served.
#[allow(clippy::similar_names)]
fn agrimap_pack_writes_the_same_archive() {
    // The CLI opens `<data dir>/agrimap.gpkg`: a copy of the shared demo store under that name.
    let dir = scratch_dir("cli-pack-store");
    std::fs::copy(shared_store_path(), dir.join("agrimap.gpkg")).expect("copy store");
    let out = scratch_dir("cli-pack").join("my-xuong.pmtiles");
    let run = Command::new(agrimap_bin())
        .args(["pack", "--commune", MY_XUONG, "--minzoom", "12", "--maxzoom", "15"])
        .arg(&out)
        .env("AGRIMAP_DATA_DIR", &dir)
        .output()
        .expect("run agrimap pack");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let said = String::from_utf8_lossy(&run.stdout);
    assert!(said.contains("Mỹ Xương (33030), z12-z15"), "{said}");
    let pack = read_pack(&out);
    assert_eq!((pack.get_header().min_zoom, pack.get_header().max_zoom), (12, 15));

    let server = TestServer::demo();
    let served = server.get(&format!("/api/packs/{MY_XUONG}.pmtiles?minzoom=12&maxzoom=15"), &[]);
    assert_eq!(served.status, 200);
    assert_eq!(
        std::fs::read(&out).expect("pack"),
        served.decoded_body(),
        "the CLI and the server write the same bytes"
    );

    let bad = Command::new(agrimap_bin())
        .args(["pack", "--commune", "nope"])
        .arg(scratch_dir("cli-pack-bad").join("x.pmtiles"))
        .env("AGRIMAP_DATA_DIR", scratch_dir("cli-pack-store"))
        .output()
        .expect("run");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no commune with code 'nope'"));
}

/// `agrimap pack --province` into `out`, from the store `store_args` names.
fn pack_province(store_args: &[&str], env: &[(&str, &Path)], out: &Path) -> String {
    let run = Command::new(agrimap_bin())
        .args(["pack", "--province", "99"])
        .args(store_args)
        .arg(out)
        .envs(env.iter().copied())
        .output()
        .expect("run agrimap pack --province");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    String::from_utf8_lossy(&run.stdout).into_owned()
}

#[test]
// The server and what it served.
#[allow(clippy::similar_names)]
fn agrimap_pack_writes_a_whole_province_from_either_store() {
    let dir = scratch_dir("cli-province-store");
    std::fs::copy(shared_store_path(), dir.join("agrimap.gpkg")).expect("copy store");
    let out = scratch_dir("cli-province").join("province-99.pmtiles");
    let said = pack_province(&[], &[("AGRIMAP_DATA_DIR", &dir)], &out);
    assert!(said.contains("(99, pre-2025), z6-z14"), "{said}");
    assert!(
        !out.with_extension("pmtiles.part").exists(),
        "the partial file is renamed"
    );
    let pack = read_pack(&out);
    let header = pack.get_header();
    assert_eq!((header.min_zoom, header.max_zoom), (6, 14));

    // The archive's box is the province's, as /api/provinces gives it.
    let server = TestServer::demo();
    let provinces = server.get("/api/provinces", &[]).json();
    let province = provinces["provinces"]
        .as_array()
        .expect("provinces")
        .iter()
        .find(|p| p["code"] == "99")
        .expect("province 99")
        .clone();
    let bbox = assert_bounds(header, &province["bbox"]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let metadata: serde_json::Value =
        serde_json::from_str(&runtime.block_on(pack.get_metadata()).expect("metadata")).expect("JSON metadata");
    assert_eq!(metadata["agrimap:province"]["code"], "99");
    assert_eq!(metadata["agrimap:province"]["boundary_set"], "pre-2025");

    // At every zoom, the tile over the parcel is the tile /tiles serves; and
    // the province's far corners are in it too (a commune's pack stops at the commune).
    let all: Vec<&str> = catalog().iter().map(|l| l.id).collect();
    let all = all.join(",");
    let corners = [(bbox[0] + 0.01, bbox[1] + 0.01), (bbox[2] - 0.01, bbox[3] - 0.01)];
    for z in 6..=14 {
        for (lon, lat) in std::iter::once(PARCEL).chain(corners) {
            let t = tile_containing(lon, lat, z);
            let served = server.get(
                &format!("/tiles/{all}/{z}/{}/{}.mvt", t.x, t.y),
                &[("accept-encoding", "gzip")],
            );
            let packed = pack_tile(&pack, z, t.x, t.y);
            match (served.status, packed) {
                (200, Some(packed)) => assert_eq!(
                    decode(&gunzip(&packed)).expect("pack tile"),
                    decode(&served.decoded_body()).expect("served tile"),
                    "z{z} at {lon}, {lat}"
                ),
                (204, None) => {}
                (status, packed) => panic!(
                    "z{z} at {lon}, {lat}: served {status}, packed {:?}",
                    packed.map(|p| p.len())
                ),
            }
        }
    }
    let parcel = tile_containing(PARCEL.0, PARCEL.1, 14);
    let tile = decode(&gunzip(&pack_tile(&pack, 14, parcel.x, parcel.y).expect("z14 tile"))).expect("tile");
    assert!(
        tile.iter().any(|l| l.name == "crop" && !l.features.is_empty()),
        "no parcels at z14"
    );

    // The same province from PostGIS is the same archive, byte for byte.
    let db = PgDatabase::demo("cli_province_pack");
    let from_postgis = scratch_dir("cli-province-pg").join("province-99.pmtiles");
    pack_province(&["--database", &db.url], &[], &from_postgis);
    assert!(
        std::fs::read(&out).expect("archive") == std::fs::read(&from_postgis).expect("archive"),
        "the GeoPackage and PostGIS stores gave different archives"
    );
}

#[test]
fn a_province_pack_of_an_unknown_province_writes_nothing() {
    let dir = scratch_dir("cli-province-bad-store");
    std::fs::copy(shared_store_path(), dir.join("agrimap.gpkg")).expect("copy store");
    let out = scratch_dir("cli-province-bad").join("nope.pmtiles");
    for (args, said) in [
        (
            vec!["--province", "98"],
            "unknown province code '98'; known province codes: 99",
        ),
        (vec!["--province", "99", "--maxzoom", "17"], "zooms must satisfy"),
        (
            vec!["--province", "99", "--boundary-set", "2025"],
            "no communes of boundary set 2025",
        ),
        (vec!["--province", "99", "--commune", "33030"], "cannot be used with"),
        (vec![], "required arguments were not provided"),
    ] {
        let run = Command::new(agrimap_bin())
            .arg("pack")
            .args(&args)
            .arg(&out)
            .env("AGRIMAP_DATA_DIR", &dir)
            .output()
            .expect("run");
        assert!(!run.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains(said), "{args:?}: {stderr}");
        assert!(!out.exists(), "{args:?}: an archive was written");
        assert!(
            !out.with_extension("pmtiles.part").exists(),
            "{args:?}: a partial archive was left"
        );
    }
}
