//! Clipping in tile space to an axis-aligned rectangle (the tile grown by its
//! buffer).
//!
//! A tile only needs what can be drawn inside it plus a margin for strokes
//! and labels; a province boundary at z14 would otherwise ship every vertex
//! of the province in every tile. Rings are clipped with Sutherland–Hodgman,
//! which keeps each ring a single closed ring: where a concave ring leaves
//! and re-enters, the result runs along the rectangle edge. Those edges lie on
//! the buffer boundary, outside the visible tile, so renderers never show them.
//! Lines are clipped segment by segment (Liang–Barsky) and split into parts
//! where they leave and re-enter.
//!
//! The `*_into` functions write into caller-owned buffers so that the tile
//! pipeline can clip thousands of features without allocating per feature;
//! the other functions wrap them for `geo` types.

use geo::{Coord, LineString, MultiLineString, MultiPoint, MultiPolygon, Polygon, Rect, coord};

/// Whether `c` lies inside `rect` or on its edge.
#[must_use]
pub fn contains(rect: &Rect<f64>, c: Coord<f64>) -> bool {
    let (min, max) = (rect.min(), rect.max());
    c.x >= min.x && c.x <= max.x && c.y >= min.y && c.y <= max.y
}

/// One side of the clip rectangle and which half-plane is inside.
#[derive(Clone, Copy)]
enum Edge {
    Left(f64),
    Right(f64),
    Top(f64),
    Bottom(f64),
}

impl Edge {
    fn inside(self, c: Coord<f64>) -> bool {
        match self {
            Self::Left(v) => c.x >= v,
            Self::Right(v) => c.x <= v,
            Self::Top(v) => c.y >= v,
            Self::Bottom(v) => c.y <= v,
        }
    }

    /// Where segment `a`–`b` crosses this edge; only called when exactly one
    /// end is inside, so the divisor is never zero.
    fn intersect(self, a: Coord<f64>, b: Coord<f64>) -> Coord<f64> {
        match self {
            Self::Left(v) | Self::Right(v) => {
                let t = (v - a.x) / (b.x - a.x);
                coord! { x: v, y: a.y + t * (b.y - a.y) }
            }
            Self::Top(v) | Self::Bottom(v) => {
                let t = (v - a.y) / (b.y - a.y);
                coord! { x: a.x + t * (b.x - a.x), y: v }
            }
        }
    }

    /// One Sutherland–Hodgman pass over an open ring.
    fn clip(self, input: &[Coord<f64>], out: &mut Vec<Coord<f64>>) {
        out.clear();
        let Some(&last) = input.last() else { return };
        let (mut prev, mut prev_in) = (last, self.inside(last));
        for &cur in input {
            let cur_in = self.inside(cur);
            if cur_in != prev_in {
                out.push(self.intersect(prev, cur));
            }
            if cur_in {
                out.push(cur);
            }
            (prev, prev_in) = (cur, cur_in);
        }
    }
}

/// The ring without its closing point, if it has one.
fn open_ring(ring: &[Coord<f64>]) -> &[Coord<f64>] {
    match ring {
        [first, .., last] if first == last => &ring[..ring.len() - 1],
        _ => ring,
    }
}

/// Clips one ring (closed or not) to `rect`, writing a closed ring into `out`,
/// or leaving `out` empty when fewer than three points remain. `tmp` is
/// scratch space. The result may have zero area when the ring only touches
/// the rectangle; [`clip_polygon`] drops such rings, the tile pipeline drops
/// them after rounding.
pub fn clip_ring_into(ring: &[Coord<f64>], rect: &Rect<f64>, out: &mut Vec<Coord<f64>>, tmp: &mut Vec<Coord<f64>>) {
    let (min, max) = (rect.min(), rect.max());
    Edge::Left(min.x).clip(open_ring(ring), out);
    Edge::Right(max.x).clip(out, tmp);
    Edge::Top(min.y).clip(tmp, out);
    Edge::Bottom(max.y).clip(out, tmp);
    std::mem::swap(out, tmp);
    out.dedup();
    let open_len = open_ring(out).len();
    out.truncate(open_len);
    if out.len() < 3 {
        out.clear();
    } else {
        out.push(out[0]);
    }
}

/// The parts of clipped lines, kept flat (one coordinate buffer plus the end
/// index of every part) so that clipping allocates nothing once warm.
#[derive(Debug, Clone, Default)]
pub struct LineParts {
    coords: Vec<Coord<f64>>,
    ends: Vec<usize>,
}

impl LineParts {
    /// Forgets all parts, keeping the buffers.
    pub fn clear(&mut self) {
        self.coords.clear();
        self.ends.clear();
    }

    /// Number of parts.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The parts in order, each with at least two points.
    pub fn iter(&self) -> impl Iterator<Item = &[Coord<f64>]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(start, &end)| &self.coords[start..end])
    }

    fn start(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// Adds a point to the part being built unless it repeats the last one
    /// (a segment that only touches the rectangle gives the same point twice).
    fn push(&mut self, c: Coord<f64>) {
        if self.coords.len() == self.start() || self.coords.last() != Some(&c) {
            self.coords.push(c);
        }
    }

    /// Closes the part being built, discarding it if it has fewer than two points.
    fn end_part(&mut self) {
        if self.coords.len() - self.start() >= 2 {
            self.ends.push(self.coords.len());
        } else {
            let start = self.start();
            self.coords.truncate(start);
        }
    }
}

/// The parameter range `t0..=t1` of segment `a + t(b - a)` inside `rect`
/// (Liang–Barsky), or `None` when the segment misses it.
fn clip_segment(a: Coord<f64>, b: Coord<f64>, rect: &Rect<f64>) -> Option<(f64, f64)> {
    let (min, max) = (rect.min(), rect.max());
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
    for (p, q) in [
        (-dx, a.x - min.x),
        (dx, max.x - a.x),
        (-dy, a.y - min.y),
        (dy, max.y - a.y),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                if t > t1 {
                    return None;
                }
                t0 = t0.max(t);
            } else {
                if t < t0 {
                    return None;
                }
                t1 = t1.min(t);
            }
        }
    }
    Some((t0, t1))
}

fn lerp(a: Coord<f64>, b: Coord<f64>, t: f64) -> Coord<f64> {
    coord! { x: a.x + t * (b.x - a.x), y: a.y + t * (b.y - a.y) }
}

/// Clips a line to `rect`, appending one part to `parts` for every stretch
/// inside it (a line that leaves and re-enters gives two parts).
pub fn clip_line_into(line: &[Coord<f64>], rect: &Rect<f64>, parts: &mut LineParts) {
    let mut open = false;
    for w in line.windows(2) {
        let (a, b) = (w[0], w[1]);
        let Some((t0, t1)) = clip_segment(a, b, rect) else {
            if open {
                parts.end_part();
                open = false;
            }
            continue;
        };
        if !open || t0 > 0.0 {
            if open {
                parts.end_part();
            }
            parts.push(if t0 > 0.0 { lerp(a, b, t0) } else { a });
            open = true;
        }
        parts.push(if t1 < 1.0 { lerp(a, b, t1) } else { b });
        if t1 < 1.0 {
            parts.end_part();
            open = false;
        }
    }
    if open {
        parts.end_part();
    }
}

/// Twice the signed area of a ring (surveyor's formula); 0 for a collapsed ring.
fn twice_area(ring: &[Coord<f64>]) -> f64 {
    ring.windows(2).map(|w| w[0].x * w[1].y - w[1].x * w[0].y).sum()
}

fn clip_ring(ring: &LineString<f64>, rect: &Rect<f64>, tmp: &mut Vec<Coord<f64>>) -> Option<LineString<f64>> {
    let mut out = Vec::with_capacity(ring.0.len() + 4);
    clip_ring_into(&ring.0, rect, &mut out, tmp);
    (twice_area(&out) != 0.0).then_some(LineString(out))
}

/// Clips a polygon to `rect`: `None` when the exterior ring falls outside or
/// collapses to zero area; interior rings that do so are dropped.
///
/// ```
/// use agrimap_tiles::clip::clip_polygon;
/// use geo::{Area, Rect, coord, polygon};
/// let square = polygon![(x: -10.0, y: -10.0), (x: 10.0, y: -10.0), (x: 10.0, y: 10.0), (x: -10.0, y: 10.0)];
/// let rect = Rect::new(coord! { x: 0.0, y: 0.0 }, coord! { x: 100.0, y: 100.0 });
/// let clipped = clip_polygon(&square, &rect).expect("overlaps");
/// assert_eq!(clipped.unsigned_area(), 100.0);
/// ```
#[must_use]
pub fn clip_polygon(polygon: &Polygon<f64>, rect: &Rect<f64>) -> Option<Polygon<f64>> {
    let mut tmp = Vec::new();
    let exterior = clip_ring(polygon.exterior(), rect, &mut tmp)?;
    let interiors = polygon
        .interiors()
        .iter()
        .filter_map(|r| clip_ring(r, rect, &mut tmp))
        .collect();
    Some(Polygon::new(exterior, interiors))
}

/// Clips every polygon of a multipolygon, keeping those that survive.
#[must_use]
pub fn clip_multi_polygon(polygons: &MultiPolygon<f64>, rect: &Rect<f64>) -> MultiPolygon<f64> {
    polygons.iter().filter_map(|p| clip_polygon(p, rect)).collect()
}

/// Clips a line to `rect`; a line that leaves and re-enters gives several parts.
///
/// ```
/// use agrimap_tiles::clip::clip_line_string;
/// use geo::{Rect, coord, line_string};
/// let rect = Rect::new(coord! { x: 0.0, y: 0.0 }, coord! { x: 10.0, y: 10.0 });
/// let out_and_back = line_string![(x: 2.0, y: 5.0), (x: 20.0, y: 5.0), (x: 20.0, y: 8.0), (x: 2.0, y: 8.0)];
/// let parts = clip_line_string(&out_and_back, &rect);
/// assert_eq!(parts.0.len(), 2);
/// assert_eq!(parts.0[0], line_string![(x: 2.0, y: 5.0), (x: 10.0, y: 5.0)]);
/// ```
#[must_use]
pub fn clip_line_string(line: &LineString<f64>, rect: &Rect<f64>) -> MultiLineString<f64> {
    let mut parts = LineParts::default();
    clip_line_into(&line.0, rect, &mut parts);
    parts_to_lines(&parts)
}

/// Clips every line of a multi-line, keeping the parts in order.
#[must_use]
pub fn clip_multi_line_string(lines: &MultiLineString<f64>, rect: &Rect<f64>) -> MultiLineString<f64> {
    let mut parts = LineParts::default();
    for line in lines {
        clip_line_into(&line.0, rect, &mut parts);
    }
    parts_to_lines(&parts)
}

fn parts_to_lines(parts: &LineParts) -> MultiLineString<f64> {
    MultiLineString(parts.iter().map(|p| LineString(p.to_vec())).collect())
}

/// The points inside `rect` (edges included).
#[must_use]
pub fn clip_points(points: &MultiPoint<f64>, rect: &Rect<f64>) -> MultiPoint<f64> {
    points.iter().filter(|p| contains(rect, p.0)).copied().collect()
}

#[cfg(test)]
// Shapes on the integer grid: their areas and coordinates are exact in f64,
// and exact equality is what these tests check.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;
    use geo::{Area, BoundingRect, line_string, point, polygon};

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Rect<f64> {
        Rect::new(coord! { x: x0, y: y0 }, coord! { x: x1, y: y1 })
    }

    #[test]
    fn polygon_crossing_an_edge_is_cut_at_the_edge() {
        let r = rect(-64.0, -64.0, 4160.0, 4160.0);
        let p = polygon![(x: 4000.0, y: 100.0), (x: 5000.0, y: 100.0), (x: 5000.0, y: 300.0), (x: 4000.0, y: 300.0)];
        let c = clip_polygon(&p, &r).expect("overlaps");
        let b = c.bounding_rect().expect("non-empty");
        assert_eq!(
            (b.min().x, b.max().x, b.min().y, b.max().y),
            (4000.0, 4160.0, 100.0, 300.0)
        );
        assert_eq!(c.unsigned_area(), 160.0 * 200.0);
        assert!(c.exterior().is_closed());
    }

    #[test]
    fn holes_are_clipped_or_dropped() {
        let r = rect(0.0, 0.0, 10.0, 10.0);
        let p = polygon!(
            exterior: [(x: -5.0, y: -5.0), (x: 15.0, y: -5.0), (x: 15.0, y: 15.0), (x: -5.0, y: 15.0)],
            interiors: [
                [(x: 2.0, y: 2.0), (x: 4.0, y: 2.0), (x: 4.0, y: 4.0), (x: 2.0, y: 4.0)],
                [(x: 12.0, y: 12.0), (x: 14.0, y: 12.0), (x: 14.0, y: 14.0), (x: 12.0, y: 14.0)],
                [(x: 8.0, y: 8.0), (x: 12.0, y: 8.0), (x: 12.0, y: 12.0), (x: 8.0, y: 12.0)],
            ],
        );
        let c = clip_polygon(&p, &r).expect("overlaps");
        assert_eq!(c.interiors().len(), 2);
        assert_eq!(c.unsigned_area(), 100.0 - 4.0 - 4.0);
    }

    #[test]
    fn concave_polygon_stays_one_ring_and_keeps_its_area() {
        // A U shape whose arms stick out of the top of the rectangle.
        let r = rect(0.0, 0.0, 10.0, 10.0);
        let u = polygon![
            (x: 1.0, y: 1.0), (x: 9.0, y: 1.0), (x: 9.0, y: 20.0), (x: 7.0, y: 20.0),
            (x: 7.0, y: 3.0), (x: 3.0, y: 3.0), (x: 3.0, y: 20.0), (x: 1.0, y: 20.0),
        ];
        let c = clip_polygon(&u, &r).expect("overlaps");
        assert_eq!(c.unsigned_area(), 8.0 * 2.0 + 2.0 * 7.0 * 2.0);
        assert!(c.exterior().coords().all(|p| contains(&r, *p)));
    }

    #[test]
    fn rings_outside_or_touching_collapse() {
        let r = rect(0.0, 0.0, 10.0, 10.0);
        let outside = polygon![(x: 20.0, y: 20.0), (x: 30.0, y: 20.0), (x: 30.0, y: 30.0)];
        assert_eq!(clip_polygon(&outside, &r), None);
        let touching = polygon![(x: 10.0, y: 0.0), (x: 20.0, y: 0.0), (x: 20.0, y: 10.0), (x: 10.0, y: 10.0)];
        assert_eq!(clip_polygon(&touching, &r), None);
        let mp = MultiPolygon(vec![
            outside,
            polygon![(x: 1.0, y: 1.0), (x: 2.0, y: 1.0), (x: 2.0, y: 2.0)],
        ]);
        assert_eq!(clip_multi_polygon(&mp, &r).0.len(), 1);
    }

    #[test]
    fn polygon_enclosing_the_rectangle_becomes_the_rectangle() {
        let r = rect(0.0, 0.0, 10.0, 10.0);
        let big = polygon![(x: -100.0, y: -100.0), (x: 100.0, y: -100.0), (x: 0.0, y: 100.0)];
        let c = clip_polygon(&big, &r).expect("covers");
        assert_eq!(c.unsigned_area(), 100.0);
    }

    #[test]
    fn line_leaving_and_reentering_is_split() {
        let r = rect(0.0, 0.0, 10.0, 10.0);
        let l = line_string![(x: 1.0, y: 1.0), (x: 5.0, y: 1.0), (x: 15.0, y: 5.0), (x: 5.0, y: 9.0), (x: 1.0, y: 9.0)];
        let parts = clip_line_string(&l, &r);
        assert_eq!(parts.0.len(), 2, "{parts:?}");
        assert_eq!(
            parts.0[0],
            line_string![(x: 1.0, y: 1.0), (x: 5.0, y: 1.0), (x: 10.0, y: 3.0)]
        );
        assert_eq!(
            parts.0[1],
            line_string![(x: 10.0, y: 7.0), (x: 5.0, y: 9.0), (x: 1.0, y: 9.0)]
        );
    }

    #[test]
    fn line_crossing_the_whole_rectangle_and_outside_lines() {
        let r = rect(0.0, 0.0, 10.0, 10.0);
        let across = line_string![(x: -5.0, y: 5.0), (x: 15.0, y: 5.0)];
        assert_eq!(
            clip_line_string(&across, &r).0,
            vec![line_string![(x: 0.0, y: 5.0), (x: 10.0, y: 5.0)]]
        );
        let outside = line_string![(x: -5.0, y: -5.0), (x: 15.0, y: -5.0), (x: 15.0, y: 15.0)];
        assert!(clip_line_string(&outside, &r).0.is_empty());
        let corner = line_string![(x: -5.0, y: 5.0), (x: 5.0, y: -5.0)];
        assert!(clip_line_string(&corner, &r).0.is_empty(), "touches the corner only");
        let ml = MultiLineString(vec![across, outside, line_string![(x: 1.0, y: 1.0), (x: 2.0, y: 2.0)]]);
        assert_eq!(clip_multi_line_string(&ml, &r).0.len(), 2);
    }

    #[test]
    fn points_are_filtered() {
        let r = rect(0.0, 0.0, 10.0, 10.0);
        let mp = MultiPoint(vec![
            point!(x: 0.0, y: 0.0),
            point!(x: 11.0, y: 5.0),
            point!(x: 5.0, y: 10.0),
        ]);
        assert_eq!(
            clip_points(&mp, &r).0,
            vec![point!(x: 0.0, y: 0.0), point!(x: 5.0, y: 10.0)]
        );
    }

    #[test]
    fn buffers_are_reused_without_stale_parts() {
        let r = rect(0.0, 0.0, 10.0, 10.0);
        let mut parts = LineParts::default();
        clip_line_into(&[coord! { x: 1.0, y: 1.0 }, coord! { x: 2.0, y: 1.0 }], &r, &mut parts);
        clip_line_into(&[coord! { x: 3.0, y: 3.0 }], &r, &mut parts);
        assert_eq!(parts.len(), 1);
        parts.clear();
        assert!(parts.is_empty() && parts.iter().next().is_none());
    }
}
