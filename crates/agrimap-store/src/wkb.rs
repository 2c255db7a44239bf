//! Well-Known Binary: the geometry encoding both stores speak (GeoPackage
//! wraps it in a small header, PostGIS extends it to EWKB).
//!
//! Written by hand: it is on the hot path of every tile and export, the format
//! is small, and reading untrusted blobs must cap every count by the bytes that
//! are actually there before allocating.

use geo::{Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};

/// Why a blob is not valid WKB.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WkbError {
    #[error("WKB ends early at byte {0}")]
    Truncated(usize),
    #[error("unsupported WKB geometry type {0}")]
    UnsupportedType(u32),
    #[error("invalid WKB byte order marker {0}")]
    ByteOrder(u8),
    #[error("WKB nests geometry collections too deeply")]
    TooDeep,
}

const POINT: u32 = 1;
const LINESTRING: u32 = 2;
const POLYGON: u32 = 3;
const MULTIPOINT: u32 = 4;
const MULTILINESTRING: u32 = 5;
const MULTIPOLYGON: u32 = 6;
const COLLECTION: u32 = 7;

/// Appends the 2D little-endian ISO WKB of `geom` to `out`.
pub fn write_wkb(geom: &Geometry<f64>, out: &mut Vec<u8>) {
    match geom {
        Geometry::Point(p) => {
            header(out, POINT);
            coord(out, p.0);
        }
        Geometry::Line(l) => write_line(out, &LineString::from(vec![l.start, l.end])),
        Geometry::LineString(l) => write_line(out, l),
        Geometry::Polygon(p) => write_polygon(out, p),
        Geometry::MultiPoint(mp) => {
            header(out, MULTIPOINT);
            count(out, mp.0.len());
            for p in &mp.0 {
                header(out, POINT);
                coord(out, p.0);
            }
        }
        Geometry::MultiLineString(ml) => {
            header(out, MULTILINESTRING);
            count(out, ml.0.len());
            ml.0.iter().for_each(|l| write_line(out, l));
        }
        Geometry::MultiPolygon(mp) => {
            header(out, MULTIPOLYGON);
            count(out, mp.0.len());
            mp.0.iter().for_each(|p| write_polygon(out, p));
        }
        Geometry::GeometryCollection(gc) => {
            header(out, COLLECTION);
            count(out, gc.0.len());
            gc.0.iter().for_each(|g| write_wkb(g, out));
        }
        Geometry::Rect(r) => write_polygon(out, &r.to_polygon()),
        Geometry::Triangle(t) => write_polygon(out, &t.to_polygon()),
    }
}

fn header(out: &mut Vec<u8>, ty: u32) {
    out.push(1);
    out.extend_from_slice(&ty.to_le_bytes());
}

fn count(out: &mut Vec<u8>, n: usize) {
    let n = u32::try_from(n).expect("geometry part counts fit in u32");
    out.extend_from_slice(&n.to_le_bytes());
}

fn coord(out: &mut Vec<u8>, c: Coord<f64>) {
    out.extend_from_slice(&c.x.to_le_bytes());
    out.extend_from_slice(&c.y.to_le_bytes());
}

fn write_points(out: &mut Vec<u8>, l: &LineString<f64>) {
    count(out, l.0.len());
    l.0.iter().for_each(|c| coord(out, *c));
}

/// A polygon's ring, wound as Simple Features and RFC 7946 have it: an
/// exterior counter-clockwise, a hole clockwise. Files come either way
/// round (a Shapefile's exteriors are clockwise); stored alike, every
/// GeoJSON written from the store is wound as RFC 7946 asks.
fn write_ring(out: &mut Vec<u8>, l: &LineString<f64>, exterior: bool) {
    count(out, l.0.len());
    if wound_against(l, exterior) {
        l.0.iter().rev().for_each(|c| coord(out, *c));
    } else {
        l.0.iter().for_each(|c| coord(out, *c));
    }
}

/// Whether a ring runs against the winding RFC 7946 asks of it (see
/// [`write_ring`]); a ring without an area has none to be against.
fn wound_against(l: &LineString<f64>, exterior: bool) -> bool {
    let area = twice_signed_area(&l.0);
    if exterior { area < 0.0 } else { area > 0.0 }
}

/// Twice the signed area of a closed ring (the shoelace formula, taken
/// about its first point so that degrees near 105° lose no precision):
/// positive when it runs counter-clockwise. One pass of multiply-adds,
/// since every polygon read from a store goes through it.
fn twice_signed_area(ring: &[Coord<f64>]) -> f64 {
    let Some(&origin) = ring.first() else { return 0.0 };
    ring.windows(2)
        .map(|w| {
            let (a, b) = (w[0] - origin, w[1] - origin);
            a.x * b.y - b.x * a.y
        })
        .sum()
}

fn write_line(out: &mut Vec<u8>, l: &LineString<f64>) {
    header(out, LINESTRING);
    write_points(out, l);
}

fn write_polygon(out: &mut Vec<u8>, p: &Polygon<f64>) {
    header(out, POLYGON);
    count(out, 1 + p.interiors().len());
    write_ring(out, p.exterior(), true);
    p.interiors().iter().for_each(|r| write_ring(out, r, false));
}

/// Reads one geometry from WKB (ISO or EWKB; Z and M values are dropped).
///
/// # Errors
/// When the blob is truncated, has an unknown type or a bad byte order.
pub fn read_wkb(bytes: &[u8]) -> Result<Geometry<f64>, WkbError> {
    Reader { bytes, pos: 0 }.geometry(0)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

/// Dimensions of one geometry: how many doubles per coordinate.
#[derive(Clone, Copy)]
struct Layout {
    little: bool,
    ordinates: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], WkbError> {
        let end = self.pos + N;
        let slice = self.bytes.get(self.pos..end).ok_or(WkbError::Truncated(self.pos))?;
        self.pos = end;
        Ok(slice.try_into().expect("slice has length N"))
    }

    fn u32(&mut self, layout: Layout) -> Result<u32, WkbError> {
        let b = self.take::<4>()?;
        Ok(if layout.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn f64(&mut self, layout: Layout) -> Result<f64, WkbError> {
        let b = self.take::<8>()?;
        Ok(if layout.little {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    }

    /// A count that cannot exceed what the remaining bytes could hold.
    fn count(&mut self, layout: Layout, min_item_bytes: usize) -> Result<usize, WkbError> {
        let n = self.u32(layout)? as usize;
        if n.saturating_mul(min_item_bytes) > self.bytes.len() - self.pos {
            return Err(WkbError::Truncated(self.pos));
        }
        Ok(n)
    }

    fn coord(&mut self, layout: Layout) -> Result<Coord<f64>, WkbError> {
        let x = self.f64(layout)?;
        let y = self.f64(layout)?;
        for _ in 2..layout.ordinates {
            self.f64(layout)?;
        }
        Ok(Coord { x, y })
    }

    fn ring(&mut self, layout: Layout) -> Result<LineString<f64>, WkbError> {
        let n = self.count(layout, 8 * layout.ordinates)?;
        (0..n)
            .map(|_| self.coord(layout))
            .collect::<Result<Vec<_>, _>>()
            .map(LineString)
    }

    fn polygon_body(&mut self, layout: Layout) -> Result<Polygon<f64>, WkbError> {
        let n = self.count(layout, 4)?;
        let mut rings = (0..n).map(|_| self.ring(layout)).collect::<Result<Vec<_>, _>>()?;
        if rings.is_empty() {
            return Ok(Polygon::new(LineString(vec![]), vec![]));
        }
        // Wound on read as on write: rows stored before rings were wound on
        // write, and rows another client wrote (QGIS, SQL), read alike.
        for (i, ring) in rings.iter_mut().enumerate() {
            if wound_against(ring, i == 0) {
                ring.0.reverse();
            }
        }
        let exterior = rings.remove(0);
        Ok(Polygon::new(exterior, rings))
    }

    fn layout(&mut self) -> Result<(Layout, u32), WkbError> {
        let [order] = self.take::<1>()?;
        let little = match order {
            0 => false,
            1 => true,
            other => return Err(WkbError::ByteOrder(other)),
        };
        let mut layout = Layout { little, ordinates: 2 };
        let raw = self.u32(layout)?;
        // EWKB flags: Z 0x8000_0000, M 0x4000_0000, SRID 0x2000_0000.
        let ewkb_dims = usize::from(raw & 0x8000_0000 != 0) + usize::from(raw & 0x4000_0000 != 0);
        if raw & 0x2000_0000 != 0 {
            self.u32(layout)?;
        }
        let iso = raw & 0x0fff_ffff;
        // ISO: 1000 Z, 2000 M, 3000 ZM.
        let iso_dims = match iso / 1000 {
            1 | 2 => 1,
            3 => 2,
            _ => 0,
        };
        layout.ordinates = 2 + ewkb_dims + iso_dims;
        Ok((layout, iso % 1000))
    }

    fn geometry(&mut self, depth: u8) -> Result<Geometry<f64>, WkbError> {
        if depth > 8 {
            return Err(WkbError::TooDeep);
        }
        let (layout, ty) = self.layout()?;
        Ok(match ty {
            POINT => Geometry::Point(Point(self.coord(layout)?)),
            LINESTRING => Geometry::LineString(self.ring(layout)?),
            POLYGON => Geometry::Polygon(self.polygon_body(layout)?),
            MULTIPOINT | MULTILINESTRING | MULTIPOLYGON | COLLECTION => {
                let n = self.count(layout, 5)?;
                let parts = (0..n)
                    .map(|_| self.geometry(depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                collect_parts(ty, parts)
            }
            other => return Err(WkbError::UnsupportedType(other)),
        })
    }
}

fn collect_parts(ty: u32, parts: Vec<Geometry<f64>>) -> Geometry<f64> {
    match ty {
        MULTIPOINT => Geometry::MultiPoint(MultiPoint(
            parts.into_iter().filter_map(|g| Point::try_from(g).ok()).collect(),
        )),
        MULTILINESTRING => Geometry::MultiLineString(MultiLineString(
            parts.into_iter().filter_map(|g| LineString::try_from(g).ok()).collect(),
        )),
        MULTIPOLYGON => Geometry::MultiPolygon(MultiPolygon(
            parts.into_iter().filter_map(|g| Polygon::try_from(g).ok()).collect(),
        )),
        _ => Geometry::GeometryCollection(GeometryCollection(parts)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{line_string, point, polygon};

    fn round_trip(g: Geometry<f64>) {
        let mut buf = Vec::new();
        write_wkb(&g, &mut buf);
        assert_eq!(read_wkb(&buf), Ok(g));
    }

    #[test]
    fn round_trips_every_type() {
        round_trip(point!(x: 105.78, y: 10.03).into());
        round_trip(line_string![(x: 0.0, y: 0.0), (x: 1.0, y: 2.0)].into());
        let square = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0), (x: 0.0, y: 0.0)],
            interiors: [[(x: 1.0, y: 1.0), (x: 1.0, y: 2.0), (x: 2.0, y: 2.0), (x: 1.0, y: 1.0)]],
        );
        round_trip(square.clone().into());
        round_trip(MultiPolygon(vec![square.clone(), square]).into());
        round_trip(MultiPoint(vec![point!(x: 1.0, y: 2.0)]).into());
    }

    #[test]
    fn rings_are_written_exterior_counter_clockwise_holes_clockwise() {
        // As a Shapefile holds them: exterior clockwise, hole counter-clockwise.
        let drawn = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 0.0, y: 4.0), (x: 4.0, y: 4.0), (x: 4.0, y: 0.0), (x: 0.0, y: 0.0)],
            interiors: [[(x: 1.0, y: 1.0), (x: 2.0, y: 1.0), (x: 2.0, y: 2.0), (x: 1.0, y: 2.0), (x: 1.0, y: 1.0)]],
        );
        let mut buf = Vec::new();
        write_wkb(&MultiPolygon(vec![drawn]).into(), &mut buf);
        let stored = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0), (x: 0.0, y: 0.0)],
            interiors: [[(x: 1.0, y: 1.0), (x: 1.0, y: 2.0), (x: 2.0, y: 2.0), (x: 2.0, y: 1.0), (x: 1.0, y: 1.0)]],
        );
        assert_eq!(read_wkb(&buf), Ok(MultiPolygon(vec![stored]).into()));
    }

    #[test]
    fn rings_are_read_exterior_counter_clockwise_holes_clockwise() {
        // Written by another client as a Shapefile draws them.
        let mut b = vec![1u8];
        b.extend_from_slice(&POLYGON.to_le_bytes());
        b.extend_from_slice(&2u32.to_le_bytes());
        for ring in [
            [(0.0, 0.0), (0.0, 4.0), (4.0, 4.0), (4.0, 0.0), (0.0, 0.0)],
            [(1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (1.0, 2.0), (1.0, 1.0)],
        ] {
            b.extend_from_slice(&5u32.to_le_bytes());
            for (x, y) in ring {
                b.extend_from_slice(&f64::to_le_bytes(x));
                b.extend_from_slice(&f64::to_le_bytes(y));
            }
        }
        let read = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0), (x: 0.0, y: 0.0)],
            interiors: [[(x: 1.0, y: 1.0), (x: 1.0, y: 2.0), (x: 2.0, y: 2.0), (x: 2.0, y: 1.0), (x: 1.0, y: 1.0)]],
        );
        assert_eq!(read_wkb(&b), Ok(read.into()));
    }

    #[test]
    fn reads_big_endian_ewkb_with_srid_and_z() {
        // SRID=4326;POINT Z (1 2 3), big endian.
        let mut b = vec![0u8];
        b.extend_from_slice(&(0xA000_0001u32).to_be_bytes());
        b.extend_from_slice(&4326u32.to_be_bytes());
        for v in [1.0f64, 2.0, 3.0] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        assert_eq!(read_wkb(&b), Ok(point!(x: 1.0, y: 2.0).into()));
    }

    #[test]
    fn rejects_hostile_counts_without_allocating() {
        // A linestring claiming 2^32-1 points in nine bytes.
        let mut b = vec![1u8];
        b.extend_from_slice(&2u32.to_le_bytes());
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(read_wkb(&b), Err(WkbError::Truncated(_))));
        assert!(matches!(read_wkb(&[7, 1, 0, 0, 0]), Err(WkbError::ByteOrder(7))));
        assert!(matches!(
            read_wkb(&[1, 99, 0, 0, 0]),
            Err(WkbError::UnsupportedType(99))
        ));
    }
}
