//! Checking a geometry read from a file against the layer it goes to: only
//! the layer's kind of geometry is kept (a repair may leave stray lines or
//! points next to the polygons), and coordinates must be longitude/latitude.

use agrimap_model::GeometryKind;
use geo::{CoordsIter, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};

/// The parts of `g` of the layer's kind, and how many other parts were left out.
fn parts(g: Geometry<f64>, kind: GeometryKind, out: &mut Vec<Geometry<f64>>, dropped: &mut usize) {
    match (g, kind) {
        (Geometry::GeometryCollection(c), _) => {
            for g in c {
                parts(g, kind, out, dropped);
            }
        }
        (g @ (Geometry::Point(_) | Geometry::MultiPoint(_)), GeometryKind::Point)
        | (g @ (Geometry::LineString(_) | Geometry::MultiLineString(_)), GeometryKind::LineString)
        | (g @ (Geometry::Polygon(_) | Geometry::MultiPolygon(_)), GeometryKind::Polygon) => out.push(g),
        (Geometry::Rect(r), GeometryKind::Polygon) => out.push(Geometry::Polygon(r.to_polygon())),
        (Geometry::Triangle(t), GeometryKind::Polygon) => out.push(Geometry::Polygon(t.to_polygon())),
        (Geometry::Line(l), GeometryKind::LineString) => out.push(Geometry::LineString(LineString::from(l))),
        _ => *dropped += 1,
    }
}

fn kind_name(kind: GeometryKind) -> &'static str {
    match kind {
        GeometryKind::Point => "points",
        GeometryKind::LineString => "lines",
        GeometryKind::Polygon => "polygons",
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
    parts(g, kind, &mut kept, &mut dropped);
    if kept.is_empty() {
        return Err(format!("no {} in the geometry, which the layer holds", kind_name(kind)));
    }
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
            let polygons: Vec<Polygon<f64>> = kept
                .into_iter()
                .flat_map(|g| match g {
                    Geometry::Polygon(p) => vec![p],
                    Geometry::MultiPolygon(m) => m.0,
                    _ => Vec::new(),
                })
                .filter(|p| p.exterior().0.len() >= 4)
                .collect();
            if polygons.is_empty() {
                return Err("the polygons have no area (fewer than three corners)".into());
            }
            Geometry::MultiPolygon(MultiPolygon(polygons))
        }
    };
    let note = (dropped > 0).then(|| format!("left out {dropped} part(s) that are not {}", kind_name(kind)));
    Ok((geometry, note))
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
    fn projected_coordinates_are_not_taken_for_degrees() {
        let e = fit(Geometry::Point(Point::new(588_000.0, 1_130_000.0)), GeometryKind::Point).expect_err("metres");
        assert!(e.contains("--srs"), "{e}");
    }

    #[test]
    fn a_bow_tie_is_invalid_without_gdal() {
        let bow = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 1.0), (x: 1.0, y: 0.0), (x: 0.0, y: 1.0), (x: 0.0, y: 0.0)];
        assert!(check_valid(&Geometry::Polygon(bow)).is_err());
    }
}
