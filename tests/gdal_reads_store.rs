//! GDAL (the real `ogrinfo`) opens the embedded store as a GeoPackage and
//! finds every layer with the demo province's feature counts.

use agrimap_model::catalog;
use std::process::Command;

#[test]
fn ogrinfo_lists_every_layer_with_its_feature_count() {
    let path = agrimap_suite::shared_store_path();
    let out = Command::new("ogrinfo")
        .args(["-ro", "-so", "-al"])
        .arg(&path)
        .output()
        .expect("ogrinfo must be installed (gdal-bin); the README test command installs it");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ogrinfo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("using driver `GPKG'"), "{text}");
    let manifest = agrimap_demo::read_manifest(&agrimap_suite::demo_dir()).expect("manifest");
    for layer in catalog() {
        let section = text
            .split("Layer name: ")
            .find(|s| s.starts_with(&format!("{}\n", layer.id)))
            .unwrap_or_else(|| panic!("ogrinfo does not list {}", layer.id));
        let want = manifest.counts[layer.id];
        assert!(
            section.contains(&format!("Feature Count: {want}\n")),
            "{}: want {want}\n{section}",
            layer.id
        );
        assert!(
            section.contains("EPSG\",4326") || section.contains("WGS 84"),
            "{} lacks its CRS",
            layer.id
        );
    }
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("ERROR"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ogrinfo_uses_the_rtree_for_a_spatial_filter() {
    let path = agrimap_suite::shared_store_path();
    let manifest = agrimap_demo::read_manifest(&agrimap_suite::demo_dir()).expect("manifest");
    let [x1, y1, x2, y2] = manifest.bounds;
    let (cx, cy) = (f64::midpoint(x1, x2), f64::midpoint(y1, y2));
    let spat = [cx - 0.02, cy - 0.02, cx + 0.02, cy + 0.02].map(|v| v.to_string());
    let out = Command::new("ogrinfo")
        .args(["-ro", "-so", "--debug", "on", "-spat"])
        .args(&spat)
        .arg(&path)
        .arg("crop")
        .output()
        .expect("ogrinfo");
    assert!(out.status.success());
    let count: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Feature Count: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("a feature count");
    assert!(
        count < manifest.counts["crop"] as u64,
        "a 4 km box cannot hold every parcel"
    );
    let debug = String::from_utf8_lossy(&out.stderr);
    assert!(
        debug.contains("rtree_crop_geom"),
        "GDAL did not use the R-tree:\n{debug}"
    );
}

#[test]
fn ogr_validates_geometry_blobs_as_valid_polygons() {
    // OGR's SQLite dialect reads our GeoPackage blobs back; a sample of parcels must be valid.
    let path = agrimap_suite::shared_store_path();
    let out = Command::new("ogrinfo")
        .args(["-ro", "-q", "-dialect", "SQLite", "-sql"])
        .arg("SELECT count(*) AS invalid FROM (SELECT geom FROM crop LIMIT 2000) WHERE NOT ST_IsValid(geom)")
        .arg(&path)
        .output()
        .expect("ogrinfo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("invalid (Integer) = 0"), "{text}");
}
