//! Geometry command streams (MVT 2.1 §4.3): `MoveTo`, `LineTo` and
//! `ClosePath` with zigzag-encoded deltas from a cursor that carries over
//! from one command to the next.
//!
//! Polygon rings are written with the winding the spec requires: exterior
//! rings clockwise and interior rings counter-clockwise as seen on screen
//! (y down), i.e. exterior rings have positive area by the surveyor's formula
//! in tile coordinates. Renderers use the winding to tell holes from new
//! polygons, so the writer reorients rings rather than trusting the input.

use super::MvtError;
use super::wire::{unzigzag32, zigzag32};
use crate::simplify::round_dedup_into;
use geo::{Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon, coord};

pub(crate) const MOVE_TO: u32 = 1;
pub(crate) const LINE_TO: u32 = 2;
pub(crate) const CLOSE_PATH: u32 = 7;
/// Command counts are 29-bit.
const MAX_COUNT: usize = (1 << 29) - 1;

/// The geometry type of a feature (`Tile.GeomType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GeomType {
    Unknown = 0,
    Point = 1,
    LineString = 2,
    Polygon = 3,
}

impl GeomType {
    /// The protobuf enum value; unknown numbers become [`GeomType::Unknown`].
    #[must_use]
    pub fn from_u32(v: u32) -> Self {
        match v {
            1 => Self::Point,
            2 => Self::LineString,
            3 => Self::Polygon,
            _ => Self::Unknown,
        }
    }
}

/// A command integer: id in the low 3 bits, count above.
pub(crate) fn command(id: u32, count: usize) -> u32 {
    ((count.min(MAX_COUNT) as u32) << 3) | id
}

/// Twice the signed area of a ring by the surveyor's formula, closing point
/// optional. Positive means clockwise on screen (y down): an exterior ring.
/// Exact: `i128` cannot overflow for coordinates within `i32`.
#[must_use]
pub fn ring_area2(ring: &[Coord<i32>]) -> i128 {
    let Some(&first) = ring.first() else { return 0 };
    let term = |a: Coord<i32>, b: Coord<i32>| i128::from(a.x) * i128::from(b.y) - i128::from(b.x) * i128::from(a.y);
    let mut sum = 0i128;
    let mut prev = first;
    for &c in &ring[1..] {
        sum += term(prev, c);
        prev = c;
    }
    sum + term(prev, first)
}

/// Appends commands for one feature's geometry, tracking the cursor. Input
/// points are on the integer grid and free of consecutive duplicates
/// (see [`round_dedup_into`]); degenerate parts are refused, not written.
#[derive(Debug, Default)]
pub(crate) struct CommandWriter {
    pub(crate) commands: Vec<u32>,
    cursor: Coord<i32>,
}

impl CommandWriter {
    pub(crate) fn clear(&mut self) {
        self.commands.clear();
        self.cursor = Coord::zero();
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// Removes everything written after `mark` (a length of `commands`)
    /// and restores the cursor that went with it.
    pub(crate) fn rollback(&mut self, mark: (usize, Coord<i32>)) {
        self.commands.truncate(mark.0);
        self.cursor = mark.1;
    }

    pub(crate) fn mark(&self) -> (usize, Coord<i32>) {
        (self.commands.len(), self.cursor)
    }

    fn delta(&mut self, c: Coord<i32>) {
        // Coordinates are clamped to ±(2^30 - 1), so the difference fits.
        self.commands.push(zigzag32(c.x.wrapping_sub(self.cursor.x)));
        self.commands.push(zigzag32(c.y.wrapping_sub(self.cursor.y)));
        self.cursor = c;
    }

    /// Points of a (multi)point feature: one `MoveTo` for all of them.
    pub(crate) fn points(&mut self, points: &[Coord<i32>]) {
        let points = &points[..points.len().min(MAX_COUNT)];
        if points.is_empty() {
            return;
        }
        if self.commands.is_empty() {
            self.commands.push(command(MOVE_TO, points.len()));
        } else {
            // A second batch for the same feature: grow the one MoveTo.
            let count = (self.commands[0] >> 3) as usize + points.len();
            self.commands[0] = command(MOVE_TO, count);
        }
        for &p in points {
            self.delta(p);
        }
    }

    /// One line part; `false` (nothing written) when it has fewer than two points.
    pub(crate) fn line(&mut self, line: &[Coord<i32>]) -> bool {
        let line = &line[..line.len().min(MAX_COUNT)];
        let [first, rest @ ..] = line else { return false };
        if rest.is_empty() {
            return false;
        }
        self.commands.push(command(MOVE_TO, 1));
        self.delta(*first);
        self.commands.push(command(LINE_TO, rest.len()));
        for &p in rest {
            self.delta(p);
        }
        true
    }

    /// One ring, closing point optional, reoriented to the winding its role
    /// requires. Returns twice its unsigned area, or `None` (nothing written)
    /// when it has fewer than three distinct points or zero area.
    pub(crate) fn ring(&mut self, ring: &[Coord<i32>], exterior: bool) -> Option<u128> {
        let ring = match ring {
            [first, .., last] if first == last => &ring[..ring.len() - 1],
            _ => ring,
        };
        let ring = &ring[..ring.len().min(MAX_COUNT)];
        if ring.len() < 3 {
            return None;
        }
        let area = ring_area2(ring);
        if area == 0 {
            return None;
        }
        self.commands.push(command(MOVE_TO, 1));
        self.delta(ring[0]);
        self.commands.push(command(LINE_TO, ring.len() - 1));
        if (area > 0) == exterior {
            for &p in &ring[1..] {
                self.delta(p);
            }
        } else {
            // Same start, the other way round.
            for &p in ring[1..].iter().rev() {
                self.delta(p);
            }
        }
        self.commands.push(command(CLOSE_PATH, 1));
        Some(area.unsigned_abs())
    }
}

/// A geometry as MVT commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedGeometry {
    pub geom_type: GeomType,
    pub commands: Vec<u32>,
}

/// Encodes a geometry already in tile units: rounds to the integer grid,
/// drops repeated points, reorients rings and leaves out parts that
/// degenerate (lines of one point, rings without area; an exterior ring that
/// degenerates takes its holes with it). `None` when nothing is left, or for
/// an empty or mixed `GeometryCollection`, which one MVT feature cannot hold.
///
/// ```
/// use agrimap_tiles::mvt::{GeomType, encode_geometry};
/// use geo::{Geometry, point};
/// let g = encode_geometry(&Geometry::Point(point!(x: 25.0, y: 17.0))).expect("a point");
/// assert_eq!(g.geom_type, GeomType::Point);
/// assert_eq!(g.commands, [9, 50, 34]);
/// ```
#[must_use]
pub fn encode_geometry(geometry: &Geometry<f64>) -> Option<EncodedGeometry> {
    let mut writer = CommandWriter::default();
    let mut buf = Vec::new();
    let geom_type = write_geometry(geometry, &mut writer, &mut buf)?;
    (!writer.is_empty()).then_some(EncodedGeometry {
        geom_type,
        commands: writer.commands,
    })
}

fn write_geometry(g: &Geometry<f64>, w: &mut CommandWriter, buf: &mut Vec<Coord<i32>>) -> Option<GeomType> {
    let rounded = |coords: &[Coord<f64>], buf: &mut Vec<Coord<i32>>| round_dedup_into(coords, buf);
    let polygon = |p: &Polygon<f64>, w: &mut CommandWriter, buf: &mut Vec<Coord<i32>>| {
        rounded(&p.exterior().0, buf);
        if w.ring(buf, true).is_some() {
            for hole in p.interiors() {
                rounded(&hole.0, buf);
                w.ring(buf, false);
            }
        }
    };
    Some(match g {
        Geometry::Point(p) => {
            w.points(&[crate::simplify::round_coord(p.0)]);
            GeomType::Point
        }
        Geometry::MultiPoint(mp) => {
            buf.clear();
            buf.extend(mp.iter().map(|p| crate::simplify::round_coord(p.0)));
            w.points(buf);
            GeomType::Point
        }
        Geometry::Line(l) => {
            rounded(&[l.start, l.end], buf);
            w.line(buf);
            GeomType::LineString
        }
        Geometry::LineString(l) => {
            rounded(&l.0, buf);
            w.line(buf);
            GeomType::LineString
        }
        Geometry::MultiLineString(ml) => {
            for l in ml {
                rounded(&l.0, buf);
                w.line(buf);
            }
            GeomType::LineString
        }
        Geometry::Polygon(p) => {
            polygon(p, w, buf);
            GeomType::Polygon
        }
        Geometry::MultiPolygon(mp) => {
            for p in mp {
                polygon(p, w, buf);
            }
            GeomType::Polygon
        }
        Geometry::Rect(r) => {
            polygon(&r.to_polygon(), w, buf);
            GeomType::Polygon
        }
        Geometry::Triangle(t) => {
            polygon(&t.to_polygon(), w, buf);
            GeomType::Polygon
        }
        Geometry::GeometryCollection(gc) => {
            let mut kind = None;
            for member in gc {
                let k = write_geometry(member, w, buf)?;
                if kind.is_some_and(|seen| seen != k) {
                    return None;
                }
                kind = Some(k);
            }
            kind?
        }
    })
}

/// The commands parsed into paths: every `MoveTo` starts a path; whether a
/// path was closed is recorded for polygon checks.
struct Path {
    coords: Vec<Coord<f64>>,
    line_to_count: usize,
    closed: bool,
}

fn bad(reason: impl Into<String>) -> MvtError {
    MvtError::Geometry(reason.into())
}

/// Parses a command stream into paths. Every claimed count is checked against
/// the parameters actually present before anything is allocated for it.
fn parse_paths(geom_type: GeomType, commands: &[u32]) -> Result<Vec<Path>, MvtError> {
    let mut paths: Vec<Path> = Vec::new();
    let mut cursor = (0i64, 0i64);
    let mut i = 0;
    while let Some(&cmd) = commands.get(i) {
        i += 1;
        let (id, count) = (cmd & 7, (cmd >> 3) as usize);
        match id {
            MOVE_TO | LINE_TO => {
                if count == 0 {
                    return Err(bad(format!("command {id} with a count of 0")));
                }
                let params = commands
                    .get(i..)
                    .and_then(|rest| rest.get(..count.saturating_mul(2)))
                    .ok_or_else(|| bad(format!("command {id} claims {count} points but the stream ends")))?;
                i += params.len();
                if id == MOVE_TO {
                    if geom_type != GeomType::Point && count != 1 {
                        return Err(bad(format!("MoveTo with a count of {count} in a line or polygon")));
                    }
                    if geom_type == GeomType::Point && !paths.is_empty() {
                        return Err(bad("a point geometry has more than one MoveTo"));
                    }
                    paths.push(Path {
                        coords: Vec::with_capacity(count),
                        line_to_count: 0,
                        closed: false,
                    });
                } else if geom_type == GeomType::Point {
                    return Err(bad("LineTo in a point geometry"));
                }
                let path = paths.last_mut().ok_or_else(|| bad("LineTo before any MoveTo"))?;
                if path.closed {
                    return Err(bad("LineTo after ClosePath"));
                }
                if id == LINE_TO {
                    path.line_to_count += count;
                }
                for pair in params.chunks_exact(2) {
                    cursor.0 += i64::from(unzigzag32(pair[0]));
                    cursor.1 += i64::from(unzigzag32(pair[1]));
                    path.coords.push(coord! { x: cursor.0 as f64, y: cursor.1 as f64 });
                }
            }
            CLOSE_PATH => {
                if geom_type != GeomType::Polygon {
                    return Err(bad("ClosePath outside a polygon"));
                }
                if count != 1 {
                    return Err(bad(format!("ClosePath with a count of {count}")));
                }
                let path = paths.last_mut().ok_or_else(|| bad("ClosePath before any MoveTo"))?;
                if path.closed {
                    return Err(bad("ClosePath twice"));
                }
                path.closed = true;
            }
            _ => return Err(bad(format!("unknown command id {id}"))),
        }
    }
    if paths.is_empty() {
        return Err(bad("empty geometry"));
    }
    Ok(paths)
}

/// Twice the signed area of a closed or open ring in floating point.
fn area2_f64(ring: &[Coord<f64>]) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            a.x * b.y - b.x * a.y
        })
        .sum()
}

/// Decodes a command stream into tile-unit geometry: one part gives a
/// `Point`, `LineString` or `Polygon`, several the multi- variant. Polygon
/// rings are grouped by winding: a positive-area ring starts a polygon,
/// negative-area rings are its holes.
///
/// # Errors
/// [`MvtError::Geometry`] for commands the spec forbids for the type (unknown
/// command ids, zero counts, streams that end early, a line of one point, a
/// ring that is not closed, has fewer than three points or no area, or an
/// interior ring before any exterior ring) and for [`GeomType::Unknown`].
pub fn decode_geometry(geom_type: GeomType, commands: &[u32]) -> Result<Geometry<f64>, MvtError> {
    if geom_type == GeomType::Unknown {
        return Err(bad("geometry type UNKNOWN"));
    }
    let paths = parse_paths(geom_type, commands)?;
    match geom_type {
        GeomType::Point => {
            let mut points: Vec<Point<f64>> = paths.into_iter().flat_map(|p| p.coords).map(Point).collect();
            Ok(if points.len() == 1 {
                Geometry::Point(points.remove(0))
            } else {
                Geometry::MultiPoint(MultiPoint(points))
            })
        }
        GeomType::LineString => {
            let mut lines = Vec::with_capacity(paths.len());
            for p in paths {
                if p.line_to_count == 0 {
                    return Err(bad("a line part without LineTo"));
                }
                lines.push(LineString(p.coords));
            }
            Ok(if lines.len() == 1 {
                Geometry::LineString(lines.remove(0))
            } else {
                Geometry::MultiLineString(MultiLineString(lines))
            })
        }
        _ => {
            let mut polygons: Vec<Polygon<f64>> = Vec::new();
            for p in paths {
                if !p.closed || p.line_to_count < 2 {
                    return Err(bad(
                        "a polygon ring must be MoveTo, LineTo (2 or more points), ClosePath",
                    ));
                }
                let area = area2_f64(&p.coords);
                if area > 0.0 {
                    polygons.push(Polygon::new(LineString(p.coords), Vec::new()));
                } else if area < 0.0 {
                    let last = polygons
                        .last_mut()
                        .ok_or_else(|| bad("interior ring before any exterior ring"))?;
                    last.interiors_push(LineString(p.coords));
                } else {
                    return Err(bad("a polygon ring with zero area"));
                }
            }
            Ok(if polygons.len() == 1 {
                Geometry::Polygon(polygons.remove(0))
            } else {
                Geometry::MultiPolygon(MultiPolygon(polygons))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{line_string, point, polygon};

    /// Reads the rings of a polygon command stream back as integer rings, by
    /// walking the raw commands rather than through the decoder.
    fn raw_rings(commands: &[u32]) -> Vec<Vec<Coord<i32>>> {
        let (mut rings, mut cursor, mut i) = (Vec::new(), Coord::zero(), 0);
        while i < commands.len() {
            let (id, count) = (commands[i] & 7, (commands[i] >> 3) as usize);
            i += 1;
            if id == MOVE_TO {
                rings.push(Vec::new());
            }
            if id == MOVE_TO || id == LINE_TO {
                for _ in 0..count {
                    cursor = cursor + coord! { x: unzigzag32(commands[i]), y: unzigzag32(commands[i + 1]) };
                    rings.last_mut().expect("started by MoveTo").push(cursor);
                    i += 2;
                }
            }
        }
        rings
    }

    #[test]
    fn spec_examples_encode_exactly() {
        // MVT 2.1 §4.3.5: a point, a line and a polygon.
        let p = encode_geometry(&Geometry::Point(point!(x: 25.0, y: 17.0))).expect("point");
        assert_eq!(p.commands, [9, 50, 34]);
        let mp = encode_geometry(&Geometry::MultiPoint(MultiPoint(vec![
            point!(x: 5.0, y: 7.0),
            point!(x: 3.0, y: 2.0),
        ])))
        .expect("points");
        assert_eq!(mp.commands, [17, 10, 14, 3, 9]);
        let l = encode_geometry(&Geometry::LineString(
            line_string![(x: 2.0, y: 2.0), (x: 2.0, y: 10.0), (x: 10.0, y: 10.0)],
        ))
        .expect("line");
        assert_eq!(
            (l.geom_type, l.commands),
            (GeomType::LineString, vec![9, 4, 4, 18, 0, 16, 16, 0])
        );
        let poly = encode_geometry(&Geometry::Polygon(
            polygon![(x: 3.0, y: 6.0), (x: 8.0, y: 12.0), (x: 20.0, y: 34.0)],
        ))
        .expect("polygon");
        assert_eq!(
            (poly.geom_type, poly.commands),
            (GeomType::Polygon, vec![9, 6, 12, 18, 10, 12, 24, 44, 15])
        );
    }

    #[test]
    fn rings_are_reoriented_exterior_positive_interior_negative() {
        // Counter-clockwise on screen (y down): negative area as given.
        let ccw_exterior = [(0.0, 0.0), (0.0, 10.0), (10.0, 10.0), (10.0, 0.0)];
        let cw_hole = [(2.0, 2.0), (4.0, 2.0), (4.0, 4.0), (2.0, 4.0)];
        let to_ls = |r: &[(f64, f64)]| LineString::from(r.to_vec());
        let poly = Polygon::new(to_ls(&ccw_exterior), vec![to_ls(&cw_hole)]);
        let raw =
            |r: &LineString<f64>| ring_area2(&r.0.iter().map(|c| crate::simplify::round_coord(*c)).collect::<Vec<_>>());
        assert!(
            raw(poly.exterior()) < 0 && raw(&poly.interiors()[0]) > 0,
            "input has the wrong winding"
        );

        let g = encode_geometry(&Geometry::Polygon(poly)).expect("polygon");
        let rings = raw_rings(&g.commands);
        assert_eq!(rings.len(), 2);
        assert_eq!(ring_area2(&rings[0]), 200, "exterior clockwise on screen");
        assert_eq!(ring_area2(&rings[1]), -8, "hole counter-clockwise on screen");
        assert_eq!(rings[0][0], coord! { x: 0, y: 0 }, "reversal keeps the start point");

        let Geometry::Polygon(decoded) = decode_geometry(g.geom_type, &g.commands).expect("decodes") else {
            panic!("one polygon expected");
        };
        assert!(area2_f64(&decoded.exterior().0) > 0.0);
        assert_eq!(decoded.interiors().len(), 1);
        assert!(area2_f64(&decoded.interiors()[0].0) < 0.0);
    }

    #[test]
    fn degenerate_parts_are_dropped_after_rounding() {
        let tiny = Geometry::Polygon(polygon![(x: 0.1, y: 0.1), (x: 0.3, y: 0.1), (x: 0.3, y: 0.4)]);
        assert_eq!(encode_geometry(&tiny), None);
        let flat = Geometry::Polygon(polygon![(x: 0.0, y: 0.0), (x: 5.0, y: 0.0), (x: 10.0, y: 0.2)]);
        assert_eq!(encode_geometry(&flat), None, "collinear after rounding");
        let short = Geometry::LineString(line_string![(x: 1.0, y: 1.0), (x: 1.2, y: 1.4)]);
        assert_eq!(encode_geometry(&short), None);
        let mixed = Geometry::MultiLineString(MultiLineString(vec![
            line_string![(x: 1.0, y: 1.0), (x: 1.2, y: 1.4)],
            line_string![(x: 1.0, y: 1.0), (x: 5.0, y: 1.0)],
        ]));
        let g = encode_geometry(&mixed).expect("one part survives");
        assert_eq!(g.commands, [9, 2, 2, 10, 8, 0]);
    }

    #[test]
    fn hostile_command_streams_are_errors() {
        let cases: &[(GeomType, &[u32])] = &[
            (GeomType::Point, &[]),
            (GeomType::Point, &[9, 50]),
            (GeomType::Point, &[command(MOVE_TO, 1 << 28), 1, 1]),
            (GeomType::Point, &[(u32::MAX << 3) | MOVE_TO]),
            (GeomType::LineString, &[9, 0, 0]),
            (GeomType::LineString, &[10, 0, 0]),
            (GeomType::LineString, &[9, 0, 0, 2]),
            (GeomType::LineString, &[9, 0, 0, 18, 2, 2, 15]),
            (GeomType::Polygon, &[9, 0, 0, 26, 2, 0, 0, 2, 1, 1]),
            (GeomType::Polygon, &[17, 0, 0, 2, 0, 18, 2, 0, 0, 2, 15]),
            (GeomType::Polygon, &[9, 0, 0, 10, 2, 0, 15]),
            (GeomType::Polygon, &[9, 0, 0, 18, 2, 0, 4, 0, 15]),
            (GeomType::Polygon, &[9, 0, 0, 18, 0, 2, 2, 0, 15]),
            (GeomType::Polygon, &[3, 0, 0]),
            (GeomType::Polygon, &[9, 0, 0, 18, 2, 0, 0, 2, 15, 15]),
            (GeomType::Polygon, &[9, 0, 0, 18, 2, 0, 0, 2, 23]),
            (GeomType::Unknown, &[9, 2, 2]),
        ];
        for (t, c) in cases {
            assert!(
                matches!(decode_geometry(*t, c), Err(MvtError::Geometry(_))),
                "{t:?} {c:?} should fail"
            );
        }
        // Extreme deltas accumulate in i64 without overflow.
        let far = [
            command(MOVE_TO, 3),
            u32::MAX - 1,
            u32::MAX - 1,
            u32::MAX - 1,
            0,
            u32::MAX - 1,
            0,
        ];
        let Ok(Geometry::MultiPoint(mp)) = decode_geometry(GeomType::Point, &far) else {
            panic!("three points expected");
        };
        assert_eq!(mp.0[2], point!(x: 3.0 * 2_147_483_647.0, y: 2_147_483_647.0));
    }
}
