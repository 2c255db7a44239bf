//! GeoPackage geometry blobs: a small header (magic, flags, SRS id, envelope)
//! followed by WKB, the `ST_*` SQL functions the GeoPackage R-tree triggers
//! call, which every connection that writes must provide, and `ST_Intersects`
//! for exact spatial filters.

use crate::filter_shape::FilterShape;
use crate::wkb::{WkbError, read_wkb, write_wkb};
use geo::{BoundingRect, Geometry};
use rusqlite::Connection;
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::ValueRef;

/// Envelope in GeoPackage order: min x, max x, min y, max y.
pub type Envelope = [f64; 4];

/// Encodes a geometry as a GeoPackage blob with an XY envelope.
#[must_use]
pub fn encode(geom: &Geometry<f64>, srs_id: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(b"GP");
    out.push(0); // version 1
    if let Some(r) = geom.bounding_rect() {
        out.push(0b0000_0011); // little endian, envelope [minx, maxx, miny, maxy]
        out.extend_from_slice(&srs_id.to_le_bytes());
        for v in [r.min().x, r.max().x, r.min().y, r.max().y] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    } else {
        out.push(0b0001_0001); // little endian, empty, no envelope
        out.extend_from_slice(&srs_id.to_le_bytes());
    }
    write_wkb(geom, &mut out);
    out
}

/// The parts of a blob's header that readers need.
struct Header {
    envelope: Option<Envelope>,
    empty: bool,
    wkb_start: usize,
}

fn header(blob: &[u8]) -> Result<Header, WkbError> {
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return Err(WkbError::Truncated(0));
    }
    let flags = blob[3];
    let little = flags & 1 == 1;
    let doubles = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 4,
        2 | 3 => 6,
        4 => 8,
        _ => return Err(WkbError::Truncated(3)),
    };
    let wkb_start = 8 + 8 * doubles;
    if blob.len() < wkb_start {
        return Err(WkbError::Truncated(blob.len()));
    }
    let read = |i: usize| {
        let b: [u8; 8] = blob[8 + 8 * i..16 + 8 * i].try_into().expect("eight bytes");
        if little {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        }
    };
    let envelope = (doubles >= 4).then(|| [read(0), read(1), read(2), read(3)]);
    Ok(Header {
        envelope,
        empty: flags & 0b1_0000 != 0,
        wkb_start,
    })
}

/// Decodes a GeoPackage blob.
///
/// # Errors
/// When the header or the WKB inside is malformed.
pub fn decode(blob: &[u8]) -> Result<Geometry<f64>, WkbError> {
    let h = header(blob)?;
    read_wkb(&blob[h.wkb_start..])
}

/// The blob's envelope, from its header or, when the header has none, from the geometry.
fn envelope(blob: &[u8]) -> Option<Envelope> {
    let h = header(blob).ok()?;
    if h.empty {
        return None;
    }
    h.envelope.or_else(|| {
        let r = read_wkb(&blob[h.wkb_start..]).ok()?.bounding_rect()?;
        Some([r.min().x, r.max().x, r.min().y, r.max().y])
    })
}

/// A GeoPackage blob, or plain WKB.
fn decode_any(blob: &[u8]) -> Result<Geometry<f64>, WkbError> {
    if blob.starts_with(b"GP") {
        decode(blob)
    } else {
        read_wkb(blob)
    }
}

/// Registers `ST_MinX`, `ST_MaxX`, `ST_MinY`, `ST_MaxY` and `ST_IsEmpty`, as
/// the GeoPackage R-tree extension requires of a writer, and
/// `ST_Intersects(a, b)`: whether two geometries (GeoPackage blobs or WKB)
/// share a point, exactly (geo's robust predicates), `NULL` when either is
/// `NULL`. The second argument is decoded once per statement when it is a
/// constant (a bound parameter), as in a filter, and put on a grid that
/// answers most candidates without polygon arithmetic ([`FilterShape`]).
///
/// # Errors
/// When SQLite refuses the registration.
pub fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    for (name, index) in [("ST_MinX", 0), ("ST_MaxX", 1), ("ST_MinY", 2), ("ST_MaxY", 3)] {
        conn.create_scalar_function(name, 1, flags, move |ctx: &Context<'_>| {
            Ok(blob_arg(ctx).and_then(envelope).map(|e| e[index]))
        })?;
    }
    conn.create_scalar_function("ST_IsEmpty", 1, flags, |ctx: &Context<'_>| {
        Ok(blob_arg(ctx).map(|b| envelope(b).is_none()))
    })?;
    conn.create_scalar_function("ST_Intersects", 2, flags, |ctx: &Context<'_>| {
        let blob = match ctx.get_raw(0) {
            ValueRef::Null => return Ok(None),
            ValueRef::Blob(b) => b,
            _ => {
                return Err(rusqlite::Error::UserFunctionError(
                    "ST_Intersects takes geometry blobs".into(),
                ));
            }
        };
        // The filter's shape, decoded and gridded once per statement.
        let shape = ctx.get_or_create_aux(1, |v: ValueRef<'_>| -> Result<Option<FilterShape>, String> {
            match v {
                ValueRef::Null => Ok(None),
                ValueRef::Blob(b) => decode_any(b)
                    .map(|g| Some(FilterShape::new(g)))
                    .map_err(|e| e.to_string()),
                _ => Err("ST_Intersects takes geometry blobs".to_owned()),
            }
        })?;
        let Some(shape) = shape.as_ref() else { return Ok(None) };
        // Most candidates are answered from the envelope in the blob's
        // header, without decoding their geometry.
        if let Some([min_x, max_x, min_y, max_y]) = envelope(blob) {
            let rect = geo::Rect::new(geo::coord! { x: min_x, y: min_y }, geo::coord! { x: max_x, y: max_y });
            if let Some(answer) = shape.intersects_by_box(rect) {
                return Ok(Some(answer));
            }
        }
        let a = decode_any(blob).map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))?;
        Ok(Some(shape.intersects(&a)))
    })?;
    Ok(())
}

fn blob_arg<'a>(ctx: &'a Context<'_>) -> Option<&'a [u8]> {
    ctx.get_raw(0).as_blob().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{point, polygon};

    #[test]
    fn blob_round_trip_and_envelope() {
        let p: Geometry<f64> =
            polygon![(x: 105.0, y: 9.0), (x: 106.0, y: 9.0), (x: 106.0, y: 10.5), (x: 105.0, y: 9.0)].into();
        let blob = encode(&p, 4326);
        assert_eq!(&blob[..2], b"GP");
        assert_eq!(i32::from_le_bytes(blob[4..8].try_into().expect("4 bytes")), 4326);
        assert_eq!(decode(&blob), Ok(p));
        assert_eq!(envelope(&blob), Some([105.0, 106.0, 9.0, 10.5]));
    }

    #[test]
    fn envelope_from_wkb_when_header_has_none() {
        let mut blob = b"GP\0\x01".to_vec();
        blob.extend_from_slice(&4326i32.to_le_bytes());
        write_wkb(&point!(x: 1.5, y: 2.5).into(), &mut blob);
        assert_eq!(envelope(&blob), Some([1.5, 1.5, 2.5, 2.5]));
    }

    #[test]
    fn sql_functions_answer_from_blobs() {
        let conn = Connection::open_in_memory().expect("sqlite");
        register_functions(&conn).expect("register");
        let blob = encode(&point!(x: 105.5, y: 9.75).into(), 4326);
        let (minx, maxy, empty): (f64, f64, bool) = conn
            .query_row("SELECT ST_MinX(?1), ST_MaxY(?1), ST_IsEmpty(?1)", [&blob], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .expect("query");
        assert_eq!((minx, maxy, empty), (105.5, 9.75, false));
    }

    #[test]
    fn intersects_is_exact_not_by_envelope() {
        let conn = Connection::open_in_memory().expect("sqlite");
        register_functions(&conn).expect("register");
        // A triangle whose envelope holds both points, and a point just outside its hypotenuse.
        let triangle: Geometry<f64> =
            polygon![(x: 105.0, y: 9.0), (x: 106.0, y: 9.0), (x: 106.0, y: 10.0), (x: 105.0, y: 9.0)].into();
        let inside = encode(&point!(x: 105.9, y: 9.5).into(), 4326);
        let outside = encode(&point!(x: 105.1, y: 9.5).into(), 4326);
        let corner = encode(&point!(x: 106.0, y: 10.0).into(), 4326);
        let mut wkb = Vec::new();
        write_wkb(&triangle, &mut wkb);
        let answers: Vec<Option<bool>> = [inside, outside, corner]
            .iter()
            .map(|p| {
                conn.query_row("SELECT ST_Intersects(?1, ?2)", (p, &wkb), |r| r.get(0))
                    .expect("query")
            })
            .collect();
        assert_eq!(answers, vec![Some(true), Some(false), Some(true)]);
        let null: Option<bool> = conn
            .query_row("SELECT ST_Intersects(NULL, ?1)", [&wkb], |r| r.get(0))
            .expect("query");
        assert_eq!(null, None);
        assert!(
            conn.query_row("SELECT ST_Intersects(x'00', ?1)", [&wkb], |r| r
                .get::<_, Option<bool>>(0))
                .is_err()
        );
    }
}
