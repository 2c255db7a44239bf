//! Checking a geometry read from a file against the layer it goes to: only
//! the layer's kind of geometry is kept (a repair may leave stray lines or
//! points next to the polygons), and coordinates must be longitude/latitude.

use agrimap_model::GeometryKind;
use geo::orient::{Direction, Orient};
use geo::{
    Area, BoundingRect, CoordsIter, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon,
};

/// The parts of `g` of the layer's kind, and how many other parts were left out.
fn parts(g: Geometry<f64>, kind: GeometryKind, out: &mut Vec<Geometry<f64>>, dropped: &mut usize) {
    match (g, kind) {
        (Geometry::GeometryCollection(c), _) => {
            for g in c {
                parts(g, kind, out, dropped);
            }
        }
        (g @ (Geometry::Point(_) | Geometry::MultiPoint(_)), GeometryKind::Point | GeometryKind::PointOrLine)
        | (
            g @ (Geometry::LineString(_) | Geometry::MultiLineString(_)),
            GeometryKind::LineString | GeometryKind::PointOrLine,
        )
        | (g @ (Geometry::Polygon(_) | Geometry::MultiPolygon(_)), GeometryKind::Polygon) => out.push(g),
        (Geometry::Rect(r), GeometryKind::Polygon) => out.push(Geometry::Polygon(r.to_polygon())),
        (Geometry::Triangle(t), GeometryKind::Polygon) => out.push(Geometry::Polygon(t.to_polygon())),
        (Geometry::Line(l), GeometryKind::LineString | GeometryKind::PointOrLine) => {
            out.push(Geometry::LineString(LineString::from(l)));
        }
        _ => *dropped += 1,
    }
}

fn kind_name(kind: GeometryKind) -> &'static str {
    match kind {
        GeometryKind::Point => "points",
        GeometryKind::LineString => "lines",
        GeometryKind::Polygon => "polygons",
        GeometryKind::PointOrLine => "points or lines",
    }
}

/// `g` as the layer holds it, with a note when parts of another kind were
/// left out.
///
/// # Errors
/// When nothing of the layer's kind is left, a layer of points gets several
/// points, or a coordinate is not a longitude/latitude.
pub fn fit(g: Geometry<f64>, kind: GeometryKind) -> Result<(Geometry<f64>, Option<String>), String> {
    check_lon_lat(&g)?;
    let mut kept = Vec::new();
    let mut dropped = 0;
    let mut notes = Vec::new();
    parts(g, kind, &mut kept, &mut dropped);
    if kept.is_empty() {
        return Err(format!("no {} in the geometry, which the layer holds", kind_name(kind)));
    }
    // A layer of points or lines holds one of them a feature: lines when
    // there are any (the points beside them are left out), else one point.
    let kind = match kind {
        GeometryKind::PointOrLine
            if kept
                .iter()
                .any(|g| matches!(g, Geometry::LineString(_) | Geometry::MultiLineString(_))) =>
        {
            let points = kept.len();
            kept.retain(|g| matches!(g, Geometry::LineString(_) | Geometry::MultiLineString(_)));
            dropped += points - kept.len();
            GeometryKind::LineString
        }
        GeometryKind::PointOrLine => GeometryKind::Point,
        k => k,
    };
    let geometry = match kind {
        GeometryKind::Point => {
            let points: Vec<Point<f64>> = kept
                .into_iter()
                .flat_map(|g| match g {
                    Geometry::Point(p) => vec![p],
                    Geometry::MultiPoint(m) => m.0,
                    _ => Vec::new(),
                })
                .collect();
            match points.as_slice() {
                [p] => Geometry::Point(*p),
                _ => {
                    return Err(format!(
                        "{} points where the layer holds one point a feature",
                        MultiPoint(points).0.len()
                    ));
                }
            }
        }
        GeometryKind::LineString => {
            let lines: Vec<LineString<f64>> = kept
                .into_iter()
                .flat_map(|g| match g {
                    Geometry::LineString(l) => vec![l],
                    Geometry::MultiLineString(m) => m.0,
                    _ => Vec::new(),
                })
                .filter(|l| l.0.len() >= 2)
                .collect();
            if lines.is_empty() {
                return Err("the lines have fewer than two points".into());
            }
            Geometry::MultiLineString(MultiLineString(lines))
        }
        GeometryKind::Polygon => {
            let mut flat = 0;
            let polygons: Vec<Polygon<f64>> = kept
                .into_iter()
                .flat_map(|g| match g {
                    Geometry::Polygon(p) => vec![p],
                    Geometry::MultiPolygon(m) => m.0,
                    _ => Vec::new(),
                })
                .filter_map(|p| without_flat_rings(p, &mut flat))
                .collect();
            if polygons.is_empty() {
                return Err("the polygons have no area (fewer than three corners, or all on one line)".into());
            }
            if flat > 0 {
                notes.push(format!(
                    "left out {flat} ring(s) with no area (fewer than three corners, or all on one line)"
                ));
            }
            // Wound as the stores hold them (exteriors counter-clockwise),
            // so that a file read again equals what it stored: a Shapefile's
            // rings run the other way, and a commune taken for redrawn would
            // remake its district and look at every feature near it.
            Geometry::MultiPolygon(MultiPolygon(polygons).orient(Direction::Default))
        }
        GeometryKind::PointOrLine => unreachable!("decided above"),
    };
    if dropped > 0 {
        notes.push(format!("left out {dropped} part(s) that are not {}", kind_name(kind)));
    }
    Ok((geometry, (!notes.is_empty()).then(|| notes.join("; "))))
}

/// A ring that encloses nothing: too few corners, or every corner on one
/// line (a zero area, which no map can draw and no statistic can count).
/// Corners on one line give an area of rounding error only, so "zero" is
/// a billionth of the ring's bounding box: the thinnest real sliver is far
/// above that.
fn is_flat(ring: &LineString<f64>) -> bool {
    if ring.0.len() < 4 {
        return true;
    }
    let area = Polygon::new(ring.clone(), Vec::new()).unsigned_area();
    let bbox = ring.bounding_rect().map_or(0.0, |r| r.width() * r.height());
    area <= bbox * 1e-9
}

/// `p` without its flat holes, or `None` when its outer ring is flat;
/// `flat` counts the rings left out.
fn without_flat_rings(p: Polygon<f64>, flat: &mut usize) -> Option<Polygon<f64>> {
    if is_flat(p.exterior()) {
        *flat += 1 + p.interiors().len();
        return None;
    }
    let (exterior, interiors) = p.into_inner();
    let holes: Vec<LineString<f64>> = interiors
        .into_iter()
        .filter(|hole| {
            let keep = !is_flat(hole);
            *flat += usize::from(!keep);
            keep
        })
        .collect();
    Some(Polygon::new(exterior, holes))
}

/// Refuses coordinates that cannot be longitude/latitude: what a file in a
/// projected system read as if it were WGS 84 gives (metres, in the
/// hundreds of thousands).
fn check_lon_lat(g: &Geometry<f64>) -> Result<(), String> {
    for c in g.coords_iter() {
        if !c.x.is_finite() || !c.y.is_finite() || c.x.abs() > 180.0 || c.y.abs() > 90.0 {
            return Err(format!(
                "coordinate ({}, {}) is not a longitude/latitude: the file is in another \
                 coordinate reference system than the one it was read in (say which with --srs)",
                c.x, c.y
            ));
        }
    }
    Ok(())
}

/// Without GDAL nothing repairs geometries: an invalid one is refused with
/// what is wrong with it.
///
/// # Errors
/// The first problem geo finds.
pub fn check_valid(g: &Geometry<f64>) -> Result<(), String> {
    use geo::Validation;
    match g.validation_errors().first() {
        None => Ok(()),
        Some(e) => Err(format!(
            "invalid geometry ({e}); a build with `--features gdal` repairs such geometries"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Coord, GeometryCollection, polygon};

    #[test]
    fn polygons_are_wound_as_the_stores_hold_them() {
        use geo::winding_order::{Winding, WindingOrder};
        // As a Shapefile holds them: exterior clockwise, hole counter-clockwise.
        let drawn = polygon!(
            exterior: [(x: 105.0, y: 9.0), (x: 105.0, y: 9.4), (x: 105.4, y: 9.4), (x: 105.4, y: 9.0), (x: 105.0, y: 9.0)],
            interiors: [[(x: 105.1, y: 9.1), (x: 105.2, y: 9.1), (x: 105.2, y: 9.2), (x: 105.1, y: 9.2), (x: 105.1, y: 9.1)]],
        );
        let (Geometry::MultiPolygon(m), None) = fit(drawn.into(), GeometryKind::Polygon).expect("fits") else {
            panic!("one multipolygon, no note");
        };
        assert_eq!(m.0[0].exterior().winding_order(), Some(WindingOrder::CounterClockwise));
        assert_eq!(m.0[0].interiors()[0].winding_order(), Some(WindingOrder::Clockwise));
    }

    #[test]
    fn only_the_layers_kind_is_kept() {
        let square = polygon![(x: 105.0, y: 10.0), (x: 105.1, y: 10.0), (x: 105.1, y: 10.1), (x: 105.0, y: 10.0)];
        let line = LineString::from(vec![Coord { x: 105.0, y: 10.0 }, Coord { x: 105.2, y: 10.2 }]);
        let g = Geometry::GeometryCollection(GeometryCollection(vec![
            Geometry::Polygon(square.clone()),
            Geometry::LineString(line),
        ]));
        let (fitted, note) = fit(g, GeometryKind::Polygon).expect("a polygon is left");
        assert_eq!(fitted, Geometry::MultiPolygon(MultiPolygon(vec![square])));
        assert!(note.expect("noted").contains("left out 1"));
        let e = fit(Geometry::Point(Point::new(105.0, 10.0)), GeometryKind::Polygon).expect_err("no polygon");
        assert!(e.contains("no polygons"), "{e}");
    }

    #[test]
    fn flat_rings_are_refused_or_left_out_and_reported() {
        // All three corners on one line: no area, nothing to keep.
        let collinear = polygon![(x: 105.0, y: 10.0), (x: 105.1, y: 10.1), (x: 105.2, y: 10.2), (x: 105.0, y: 10.0)];
        let e = fit(Geometry::Polygon(collinear), GeometryKind::Polygon).expect_err("flat");
        assert!(e.contains("no area"), "{e}");
        // A square with a flat hole: the square is kept, the hole left out and said.
        let square = LineString::from(vec![
            (105.0, 10.0),
            (105.1, 10.0),
            (105.1, 10.1),
            (105.0, 10.1),
            (105.0, 10.0),
        ]);
        let flat_hole = LineString::from(vec![(105.02, 10.02), (105.04, 10.04), (105.06, 10.06), (105.02, 10.02)]);
        let (fitted, note) = fit(
            Geometry::Polygon(Polygon::new(square.clone(), vec![flat_hole])),
            GeometryKind::Polygon,
        )
        .expect("kept");
        assert_eq!(
            fitted,
            Geometry::MultiPolygon(MultiPolygon(vec![Polygon::new(square, Vec::new())]))
        );
        assert!(note.expect("noted").contains("left out 1 ring(s) with no area"));
    }

    #[test]
    fn projected_coordinates_are_not_taken_for_degrees() {
        let e = fit(Geometry::Point(Point::new(588_000.0, 1_130_000.0)), GeometryKind::Point).expect_err("metres");
        assert!(e.contains("--srs"), "{e}");
    }

    #[test]
    fn a_bow_tie_is_invalid_without_gdal() {
        let bow = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 1.0), (x: 1.0, y: 0.0), (x: 0.0, y: 1.0), (x: 0.0, y: 0.0)];
        assert!(check_valid(&Geometry::Polygon(bow)).is_err());
    }

    #[test]
    fn a_layer_of_points_or_lines_keeps_one_point_or_the_lines() {
        let point = Geometry::Point(Point::new(105.8, 9.9));
        assert_eq!(fit(point.clone(), GeometryKind::PointOrLine).expect("a point").0, point);
        let line = LineString::from(vec![(105.8, 9.9), (105.81, 9.91)]);
        let both =
            Geometry::GeometryCollection(geo::GeometryCollection(vec![point, Geometry::LineString(line.clone())]));
        let (kept, note) = fit(both, GeometryKind::PointOrLine).expect("the line");
        assert_eq!(kept, Geometry::MultiLineString(MultiLineString(vec![line])));
        assert!(
            note.is_some_and(|n| n.contains("left out 1 part")),
            "the point is reported"
        );
        let square = Geometry::Rect(geo::Rect::new((105.8, 9.9), (105.81, 9.91)));
        let e = fit(square, GeometryKind::PointOrLine).expect_err("no point or line");
        assert!(e.contains("points or lines"), "{e}");
    }
}
