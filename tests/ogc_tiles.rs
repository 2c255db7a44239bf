//! OGC API – Tiles on both stores: the tile matrix set, the tilesets of the
//! whole map and of a collection, tiles through the tileset's own template
//! (the very bytes and entity tag `/tiles` serves), and GDAL's MVT reader
//! opening them at the right place.

use agrimap_suite::{StoreKind, TestServer};
use serde_json::Value as Json;
use std::process::Command;

/// A tile of Mỹ Xương's parcels: zoom 12, column 3252, row 1937.
const Z: u32 = 12;
const COL: u32 = 3252;
const ROW: u32 = 1937;

fn json(server: &TestServer, path: &str) -> Json {
    let reply = server.get(path, &[("accept", "application/json")]);
    assert_eq!(reply.status, 200, "{path}: {}", String::from_utf8_lossy(&reply.body));
    reply.json()
}

/// The `href` of the first link of `rel` (and `ty`, when given).
fn href(doc: &Json, rel: &str, ty: Option<&str>) -> String {
    doc["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["rel"] == rel && ty.is_none_or(|t| l["type"] == t))
        .and_then(|l| l["href"].as_str())
        .unwrap_or_else(|| panic!("no {rel} link in {doc}"))
        .to_owned()
}

/// `path` of an absolute URL of the server.
fn local(server: &TestServer, url: &str) -> String {
    url.strip_prefix(&server.base).unwrap_or(url).to_owned()
}

fn a_client_finds_the_tiles_by_the_standard(kind: StoreKind) {
    let server = kind.demo_server("ogc_tiles");
    let landing = json(&server, "/ogc");
    let conformance = json(&server, "/ogc/conformance");
    for class in [
        "core",
        "tileset",
        "tilesets-list",
        "geodata-tilesets",
        "dataset-tilesets",
        "mvt",
    ] {
        let uri = format!("http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/{class}");
        assert!(
            conformance["conformsTo"]
                .as_array()
                .expect("classes")
                .contains(&Json::from(uri.clone())),
            "{uri}"
        );
    }
    // The tiling scheme: WebMercatorQuad, each zoom halving the scale.
    let schemes = json(
        &server,
        &local(
            &server,
            &href(&landing, "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes", None),
        ),
    );
    let definition = json(
        &server,
        &local(&server, &href(&schemes["tileMatrixSets"][0], "self", None)),
    );
    assert_eq!(definition["id"], "WebMercatorQuad");
    assert_eq!(definition["crs"], "http://www.opengis.net/def/crs/EPSG/0/3857");
    let matrices = definition["tileMatrices"].as_array().expect("matrices");
    assert_eq!(matrices.len(), 25);
    assert_eq!(matrices[12]["matrixWidth"], 4096);
    let scale = |z: usize| matrices[z]["scaleDenominator"].as_f64().expect("scale");
    assert!((scale(11) / scale(12) - 2.0).abs() < 1e-12);
    assert!((scale(0) - 559_082_264.028_717_8).abs() < 1e-3);
}

fn a_collection_tile_is_the_tile_of_tiles_and_gdal_reads_it(kind: StoreKind) {
    let server = kind.demo_server("ogc_tiles_collection");
    // A collection's tileset, found from the collection, and its tile template.
    let crop = json(&server, "/ogc/collections/crop");
    let tilesets = json(
        &server,
        &local(
            &server,
            &href(&crop, "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", None),
        ),
    );
    let tileset_url = href(&tilesets["tilesets"][0], "self", Some("application/json"));
    let tileset = json(&server, &local(&server, &tileset_url));
    assert_eq!(tileset["dataType"], "vector");
    assert_eq!(tileset["layers"][0]["id"], "crop");
    assert!(
        tileset["layers"][0]["propertiesSchema"]["properties"]["crop_type"].is_object(),
        "public fields are described"
    );
    assert!(
        tileset["layers"][0]["propertiesSchema"]["properties"]["owner_name"].is_null(),
        "restricted fields are not"
    );
    let limits = tileset["tileMatrixSetLimits"]
        .as_array()
        .expect("limits")
        .iter()
        .find(|l| l["tileMatrix"].as_str() == Some(&Z.to_string()))
        .expect("zoom 12 limits");
    let within = |lo: &str, hi: &str, v: u32| {
        limits[lo].as_u64().expect(lo) <= u64::from(v) && u64::from(v) <= limits[hi].as_u64().expect(hi)
    };
    assert!(
        within("minTileRow", "maxTileRow", ROW) && within("minTileCol", "maxTileCol", COL),
        "{limits}"
    );
    let template = href(&tileset, "item", Some("application/vnd.mapbox-vector-tile"));
    let tile_url = template
        .replace("{tileMatrix}", &Z.to_string())
        .replace("{tileRow}", &ROW.to_string())
        .replace("{tileCol}", &COL.to_string());
    let ours = server.get(&local(&server, &tile_url), &[]);
    let theirs = server.get(&format!("/tiles/crop/{Z}/{COL}/{ROW}.mvt"), &[]);
    assert_eq!(ours.status, 200);
    assert_eq!(ours.header("content-type"), Some("application/vnd.mapbox-vector-tile"));
    assert_eq!(ours.body, theirs.body, "the same tile as /tiles");
    assert_eq!(ours.header("etag"), theirs.header("etag"));

    // GDAL's MVT reader opens the tile and places it where it belongs.
    let dir = tempdir("ogc_tiles", kind);
    let file = dir.join("crop.mvt");
    std::fs::write(&file, &ours.body).expect("tile file");
    let info = ogrinfo(&file);
    assert!(info.contains("Layer name: crop"), "{info}");
    let count: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("Feature Count: "))
        .and_then(|c| c.trim().parse().ok())
        .unwrap_or_else(|| panic!("{info}"));
    // Below zoom 13 a crop tile holds one merged feature per crop type: as
    // many as the crop types of the parcels the tile and its buffer reach.
    let crop = agrimap_model::layer("crop").expect("crop");
    let tile = agrimap_tiles::TileCoord::new(Z as u8, COL, ROW).expect("tile");
    let bbox = agrimap_tiles::tile_bounds_buffered(tile, 64, 4096);
    let parcels = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(server.store.features(crop, &agrimap_model::FeatureQuery::in_bbox(bbox)))
        .expect("parcels");
    assert!(parcels.len() > 100, "{} parcels", parcels.len());
    let crop_types: std::collections::BTreeSet<&str> =
        parcels.iter().filter_map(|p| crop.text_of(p, "crop_type")).collect();
    assert_eq!(count, crop_types.len() as u64, "{crop_types:?}");
    // The tile's bounds in Web Mercator metres: x from column 3252, y from row 1937.
    let world = 20_037_508.342_789_244_f64;
    let size = 2.0 * world / f64::from(1_u32 << Z);
    let (west, north) = (-world + f64::from(COL) * size, world - f64::from(ROW) * size);
    let extent = info.lines().find(|l| l.starts_with("Extent: ")).expect("extent");
    let numbers: Vec<f64> = extent
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .filter_map(|s| s.parse().ok())
        .collect();
    let [x0, y0, x1, y1] = numbers[..] else {
        panic!("{extent}")
    };
    let slack = size * 0.1;
    assert!(
        x0 >= west - slack && x1 <= west + size + slack,
        "{extent} vs x {west}.."
    );
    assert!(
        y1 <= north + slack && y0 >= north - size - slack,
        "{extent} vs y ..{north}"
    );
}

fn the_whole_map_is_one_tileset(kind: StoreKind) {
    let server = kind.demo_server("ogc_tiles_dataset");
    let dir = tempdir("ogc_tiles_dataset", kind);
    // The whole map's tile holds every layer drawn at that zoom.
    let dataset = json(&server, "/ogc/tiles");
    let dataset_tileset = json(&server, &local(&server, &href(&dataset["tilesets"][0], "self", None)));
    let composite_template = href(&dataset_tileset, "item", Some("application/vnd.mapbox-vector-tile"));
    let composite = server.get(
        &local(
            &server,
            &composite_template
                .replace("{tileMatrix}", &Z.to_string())
                .replace("{tileRow}", &ROW.to_string())
                .replace("{tileCol}", &COL.to_string()),
        ),
        &[],
    );
    assert_eq!(composite.status, 200);
    let file = dir.join("all.mvt");
    std::fs::write(&file, &composite.body).expect("tile file");
    let info = ogrinfo(&file);
    for layer in ["admin_commune", "crop", "roads"] {
        assert!(info.contains(&format!("Layer name: {layer}")), "{layer}: {info}");
    }

    // Bad input.
    for (path, status, code) in [
        (
            "/ogc/collections/crop/tiles/WorldCRS84Quad",
            404,
            "unknown_tile_matrix_set",
        ),
        ("/ogc/tileMatrixSets/WorldCRS84Quad", 404, "unknown_tile_matrix_set"),
        ("/ogc/collections/crop/tiles/WebMercatorQuad/12/1937/x", 400, "bad_tile"),
        ("/ogc/collections/crop/tiles/WebMercatorQuad/3/9/9", 400, "bad_tile"),
        (
            "/ogc/collections/nope/tiles/WebMercatorQuad/12/1937/3252",
            404,
            "unknown_collection",
        ),
    ] {
        let reply = server.get(path, &[]);
        assert_eq!(reply.status, status, "{path}");
        assert_eq!(reply.error_code(), code, "{path}");
    }
}

fn tempdir(name: &str, kind: StoreKind) -> std::path::PathBuf {
    let dir = agrimap_suite::scratch_dir(&format!("{name}_{}", kind.name()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// `ogrinfo -al -so` of a tile file at zoom 12, column 3252, row 1937.
fn ogrinfo(file: &std::path::Path) -> String {
    let out = Command::new("ogrinfo")
        .args([
            "-ro",
            "-al",
            "-so",
            "-oo",
            &format!("X={COL}"),
            "-oo",
            &format!("Y={ROW}"),
        ])
        .args(["-oo", &format!("Z={Z}")])
        .arg(file)
        .output()
        .expect("ogrinfo");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

agrimap_suite::store_suite!(
    a_client_finds_the_tiles_by_the_standard,
    a_collection_tile_is_the_tile_of_tiles_and_gdal_reads_it,
    the_whole_map_is_one_tileset,
);
