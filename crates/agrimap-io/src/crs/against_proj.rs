//! The transformations held to PROJ itself: figures `cs2cs` printed, and
//! `cs2cs` (Debian's proj-bin) run as a client over a grid of places in the
//! demo province and across Vietnam, for every offered CRS.
//!
//! PROJ is given each CRS as `projinfo EPSG:N -o PROJ` defines it, with the
//! official shift as `towgs84`. Asked for `EPSG:4326` → `EPSG:N` instead,
//! PROJ picks by area of use, and in the Mekong delta that is EPSG:6959
//! ("VN-2000 to WGS 84 (1)", for the delta's survey blocks), which differs
//! from the official EPSG:6960 by about 0.8 m there.

// Test code: x, y, e, n, h name coordinates as PROJ's documentation does.
#![allow(clippy::many_single_char_names, clippy::format_collect)]

use super::{Crs, Transform};
use geo::{Coord, Geometry, Point, Rect, coord};
use std::io::Write;
use std::process::{Command, Stdio};

/// Agreement with PROJ asked of projected coordinates, in metres.
const METRES: f64 = 0.01;
/// Agreement asked of positions transformed back to WGS 84, in degrees.
const DEGREES: f64 = 1e-7;

/// (longitude, latitude): a commune centre and the corners of the demo
/// province, Hà Nội and Đà Nẵng.
const PLACES: [(f64, f64); 5] = [
    (105.7880, 10.0310),
    (105.4548, 9.6157),
    (106.1673, 10.2575),
    (105.8542, 21.0285),
    (108.2022, 16.0544),
];

/// `cs2cs -f %.4f +proj=longlat +datum=WGS84 +to $(projinfo EPSG:N -o PROJ -q)`
/// of [`PLACES`] (PROJ 9.1.1).
const PRINTED: [(u32, [(f64, f64); 5]); 4] = [
    (
        3405,
        [
            (586159.8255, 1109055.0448),
            (549706.2316, 1063068.1823),
            (627641.2965, 1134226.3605),
            (588565.3638, 2325647.3383),
            (842470.8801, 1777713.3220),
        ],
    ),
    (
        3406,
        [
            (-72098.3654, 1113495.7789),
            (-109528.9532, 1067975.9287),
            (-30006.9138, 1137984.3473),
            (-35425.8860, 2334058.2749),
            (200445.1651, 1777091.2708),
        ],
    ),
    (
        9210,
        [
            (503969.8870, 1109285.1007),
            (467404.6925, 1063368.5050),
            (545516.1979, 1134364.8603),
            (510634.8256, 2326112.2492),
            (762244.3125, 1777150.3745),
        ],
    ),
    (
        5899,
        [
            (284694.7154, 1109927.8169),
            (247831.7477, 1064199.1508),
            (326413.6798, 1134763.0030),
            (302728.7117, 2327281.4585),
            (548188.2987, 1775651.1606),
        ],
    ),
];

fn epsg(code: u32) -> Transform {
    Transform::new(Crs::epsg(code).expect("offered"))
}

fn distance(a: Coord, b: Coord) -> f64 {
    (a.x - b.x).hypot(a.y - b.y)
}

#[test]
fn figures_printed_by_cs2cs() {
    for (code, expected) in PRINTED {
        let t = epsg(code);
        for ((lon, lat), (e, n)) in PLACES.into_iter().zip(expected) {
            let got = t.from_wgs84(coord! { x: lon, y: lat }).expect("projects");
            // The figures are printed to 0.1 mm.
            assert!(
                distance(got, coord! { x: e, y: n }) < 0.001,
                "EPSG:{code} ({lon}, {lat}): {got:?}"
            );
            let back = t.to_wgs84(coord! { x: e, y: n }).expect("back");
            assert!(
                (back.x - lon).abs() < DEGREES && (back.y - lat).abs() < DEGREES,
                "{back:?}"
            );
        }
    }
}

#[test]
fn wgs84_axis_orders() {
    let c = coord! { x: 105.788, y: 10.031 };
    assert_eq!(Transform::new(Crs::CRS84).from_wgs84(c), Ok(c));
    let lat_lon = Transform::new(Crs::EPSG_4326);
    assert_eq!(lat_lon.from_wgs84(c), Ok(coord! { x: 10.031, y: 105.788 }));
    assert_eq!(lat_lon.to_wgs84(coord! { x: 10.031, y: 105.788 }), Ok(c));
    let r = lat_lon
        .rect_to_wgs84(Rect::new(coord! { x: 9.9, y: 105.6 }, coord! { x: 10.1, y: 105.9 }))
        .expect("rect");
    assert_eq!(r, Rect::new(coord! { x: 105.6, y: 9.9 }, coord! { x: 105.9, y: 10.1 }));
}

#[test]
fn geometries_and_boxes() {
    let t = epsg(3405);
    let g = Geometry::Point(Point::new(105.788, 10.031));
    let Geometry::Point(p) = t.geometry_from_wgs84(&g).expect("projects") else {
        panic!("a point stays a point");
    };
    assert!(distance(p.0, coord! { x: 586159.8255, y: 1109055.0448 }) < 0.001);
    // A box of 40 km in UTM: its WGS 84 envelope holds every point of its edges.
    let bbox = Rect::new(
        coord! { x: 560000.0, y: 1080000.0 },
        coord! { x: 600000.0, y: 1120000.0 },
    );
    let env = t.rect_to_wgs84(bbox).expect("rect");
    for i in 0..=400 {
        let f = f64::from(i) / 400.0;
        for c in [
            coord! { x: 560000.0 + 40000.0 * f, y: 1080000.0 },
            coord! { x: 560000.0 + 40000.0 * f, y: 1120000.0 },
            coord! { x: 560000.0, y: 1080000.0 + 40000.0 * f },
            coord! { x: 600000.0, y: 1080000.0 + 40000.0 * f },
        ] {
            let d = t.to_wgs84(c).expect("back");
            let slack = 1e-9;
            assert!(
                d.x >= env.min().x - slack
                    && d.x <= env.max().x + slack
                    && d.y >= env.min().y - slack
                    && d.y <= env.max().y + slack,
                "{d:?} outside {env:?}"
            );
        }
    }
    // Far outside any projection's reach: an error, not a wrong number.
    assert!(t.to_wgs84(coord! { x: 1e12, y: 1e12 }).is_err());
    assert!(t.from_wgs84(coord! { x: f64::NAN, y: 10.0 }).is_err());
}

/// The PROJ string of a CRS as PROJ's own `projinfo` defines it.
fn projinfo(code: u32) -> String {
    let out = Command::new("projinfo")
        .args([&format!("EPSG:{code}"), "-o", "PROJ", "-q"])
        .output()
        .unwrap_or_else(|e| panic!("projinfo (Debian's proj-bin) must be installed: {e}"));
    assert!(out.status.success(), "projinfo EPSG:{code} failed");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let line = text.lines().last().expect("a PROJ string").to_owned();
    assert!(line.contains("+towgs84="), "EPSG:{code}: {line}");
    line
}

/// Runs `cs2cs` from the CRS `from` to `to` (each a PROJ string) over
/// `input` (one position a line) and reads the first two numbers of each
/// output line.
fn cs2cs(from: &str, to: &str, input: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut child = Command::new("cs2cs")
        .args(["-f", "%.10f"])
        .args(from.split_whitespace())
        .arg("+to")
        .args(to.split_whitespace())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cs2cs (Debian's proj-bin) must be installed: {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    let text: String = input.iter().map(|(a, b)| format!("{a} {b}\n")).collect();
    stdin.write_all(text.as_bytes()).expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("cs2cs ran");
    assert!(out.status.success(), "cs2cs {from} +to {to} failed");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|line| {
            let mut n = line.split_whitespace().map(|v| v.parse::<f64>().expect("a number"));
            (n.next().expect("x"), n.next().expect("y"))
        })
        .collect()
}

const WGS84: &str = "+proj=longlat +datum=WGS84 +no_defs";

#[test]
fn every_offered_crs_agrees_with_cs2cs() {
    // A 21 × 21 grid over the demo province and beyond it, plus the places.
    let mut positions: Vec<(f64, f64)> = (0..=20)
        .flat_map(|i| (0..=20).map(move |j| (105.2 + 0.05 * f64::from(i), 9.4 + 0.05 * f64::from(j))))
        .collect();
    positions.extend(PLACES);
    let mut worst_metres = 0.0_f64;
    let mut worst_degrees = 0.0_f64;
    for crs in Crs::offered().filter(|c| !c.is_wgs84()) {
        let code = crs.epsg_code().expect("EPSG");
        let t = Transform::new(crs);
        let definition = projinfo(code);
        let proj = cs2cs(WGS84, &definition, &positions);
        assert_eq!(proj.len(), positions.len());
        for (&(lon, lat), &(e, n)) in positions.iter().zip(&proj) {
            let ours = t.from_wgs84(coord! { x: lon, y: lat }).expect("projects");
            let off = distance(ours, coord! { x: e, y: n });
            worst_metres = worst_metres.max(off);
            assert!(
                off <= METRES,
                "EPSG:{code} ({lon}, {lat}): ours {ours:?}, PROJ ({e}, {n})"
            );
            let back = t.to_wgs84(coord! { x: e, y: n }).expect("back");
            let off = (back.x - lon).abs().max((back.y - lat).abs());
            worst_degrees = worst_degrees.max(off);
            assert!(
                off <= DEGREES,
                "EPSG:{code} back from ({e}, {n}): {back:?}, not ({lon}, {lat})"
            );
        }
        // And PROJ's own inverse agrees with ours.
        let back = cs2cs(&definition, WGS84, &proj);
        for (&(e, n), &(lon, lat)) in proj.iter().zip(&back) {
            let ours = t.to_wgs84(coord! { x: e, y: n }).expect("back");
            assert!(
                (ours.x - lon).abs() <= DEGREES && (ours.y - lat).abs() <= DEGREES,
                "EPSG:{code} ({e}, {n}): ours {ours:?}, PROJ ({lon}, {lat})"
            );
        }
    }
    println!("worst disagreement with cs2cs: {worst_metres:.2e} m projected, {worst_degrees:.2e}° back");
}

#[test]
fn pipelines_for_gdal_give_the_same_positions() {
    // The pipeline GDAL's ogr2ogr is given, run by PROJ's `cct`.
    let positions: Vec<(f64, f64)> = PLACES.to_vec();
    for crs in Crs::offered().filter(|c| !c.is_wgs84()) {
        let pipeline = crs.pipeline_from_epsg4326().expect("VN-2000");
        let mut child = Command::new("cct")
            .args(["-d", "6"])
            .args(pipeline.split_whitespace())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cct (Debian's proj-bin) must be installed: {e}"));
        let text: String = positions
            .iter()
            .map(|(lon, lat)| format!("{lat} {lon} 0 0\n"))
            .collect();
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write");
        let out = child.wait_with_output().expect("cct ran");
        assert!(out.status.success(), "cct {pipeline}");
        let t = Transform::new(crs);
        let lines = String::from_utf8(out.stdout).expect("utf-8");
        let rows: Vec<&str> = lines.lines().collect();
        assert_eq!(rows.len(), positions.len(), "{lines}");
        for (&(lon, lat), line) in positions.iter().zip(rows) {
            let mut n = line.split_whitespace().map(|v| v.parse::<f64>().expect("a number"));
            let theirs = coord! { x: n.next().expect("x"), y: n.next().expect("y") };
            let ours = t.from_wgs84(coord! { x: lon, y: lat }).expect("projects");
            assert!(distance(ours, theirs) <= METRES, "{crs}: {ours:?} vs cct {theirs:?}");
        }
    }
}
