//! Simplification in tile space and rounding to the integer grid.
//!
//! Detail finer than the tolerance (in tile units; 1 unit is 1/16 px on a
//! 256 px display of a 4096-unit tile) cannot be seen and only makes tiles
//! bigger. The Ramer–Douglas–Peucker algorithm here gives the same result as
//! `geo::Simplify` for lines, but works on slices with caller-owned buffers
//! and an explicit stack: `geo`'s version allocates on every recursion step
//! and recurses as deep as the line is long, which a tile server running
//! thousands of features per tile on small blocking-pool stacks cannot afford.

use geo::{Coord, LineString, Polygon, coord};

/// Largest magnitude a rounded coordinate may have: keeps the difference of
/// any two within `i32`, as MVT command parameters require.
pub const COORD_LIMIT: i32 = (1 << 30) - 1;

/// Squared distances from points to one segment, with the per-segment work
/// (direction, inverse squared length) done once rather than per point.
struct Segment {
    a: Coord<f64>,
    d: Coord<f64>,
    /// `1 / |d|²`, or 0 when the segment is a point (as for the first and last
    /// point of a closed ring), which makes every distance the distance to `a`.
    inv_len_sq: f64,
}

impl Segment {
    fn new(a: Coord<f64>, b: Coord<f64>) -> Self {
        let d = b - a;
        let len_sq = d.x * d.x + d.y * d.y;
        Self {
            a,
            d,
            inv_len_sq: if len_sq > 0.0 { 1.0 / len_sq } else { 0.0 },
        }
    }

    fn distance_sq(&self, p: Coord<f64>) -> f64 {
        let ap = p - self.a;
        let t = ((ap.x * self.d.x + ap.y * self.d.y) * self.inv_len_sq).clamp(0.0, 1.0);
        let (ex, ey) = (t * self.d.x - ap.x, t * self.d.y - ap.y);
        ex * ex + ey * ey
    }
}

/// Ramer–Douglas–Peucker: writes to `out` the points of `coords` that keep
/// the line within `tolerance` of the original, first and last always kept.
/// A tolerance of zero or less (or NaN) copies the input. `stack` is scratch.
///
/// ```
/// use agrimap_tiles::simplify::simplify_into;
/// use geo::coord;
/// let wiggly = [coord! { x: 0.0, y: 0.0 }, coord! { x: 5.0, y: 0.4 }, coord! { x: 10.0, y: 0.0 }];
/// let (mut out, mut stack) = (Vec::new(), Vec::new());
/// simplify_into(&wiggly, 1.0, &mut out, &mut stack);
/// assert_eq!(out, [wiggly[0], wiggly[2]]);
/// ```
pub fn simplify_into(
    coords: &[Coord<f64>],
    tolerance: f64,
    out: &mut Vec<Coord<f64>>,
    stack: &mut Vec<(usize, usize)>,
) {
    out.clear();
    // NaN also means "no simplification".
    if coords.len() < 3 || tolerance.is_nan() || tolerance <= 0.0 {
        out.extend_from_slice(coords);
        return;
    }
    let tol_sq = tolerance * tolerance;
    out.push(coords[0]);
    stack.clear();
    stack.push((0, coords.len() - 1));
    // Depth-first, left half first, so points are emitted in order.
    while let Some((lo, hi)) = stack.pop() {
        let segment = Segment::new(coords[lo], coords[hi]);
        let mut farthest = (lo, -1.0_f64);
        for (i, &p) in coords.iter().enumerate().take(hi).skip(lo + 1) {
            let d = segment.distance_sq(p);
            // `>=` picks the last of equally far points, as `geo` does.
            if d >= farthest.1 {
                farthest = (i, d);
            }
        }
        if farthest.1 > tol_sq {
            stack.push((farthest.0, hi));
            stack.push((lo, farthest.0));
        } else {
            out.push(coords[hi]);
        }
    }
}

/// Simplifies a line (tolerance in the line's units).
#[must_use]
pub fn simplify_line_string(line: &LineString<f64>, tolerance: f64) -> LineString<f64> {
    let mut out = Vec::new();
    simplify_into(&line.0, tolerance, &mut out, &mut Vec::new());
    LineString(out)
}

/// Simplifies every ring of a polygon. A ring left with fewer than four
/// points (three corners and the closing point) is narrower than the
/// tolerance everywhere: a hole like that is dropped, and an exterior like
/// that drops the polygon (`None`).
#[must_use]
pub fn simplify_polygon(polygon: &Polygon<f64>, tolerance: f64) -> Option<Polygon<f64>> {
    let mut stack = Vec::new();
    let mut ring = |r: &LineString<f64>| {
        let mut out = Vec::new();
        simplify_into(&r.0, tolerance, &mut out, &mut stack);
        (out.len() >= 4).then_some(LineString(out))
    };
    let exterior = ring(polygon.exterior())?;
    let interiors = polygon.interiors().iter().filter_map(&mut ring).collect();
    Some(Polygon::new(exterior, interiors))
}

/// Rounds to the nearest integer grid point, clamped to ±[`COORD_LIMIT`]
/// (NaN becomes 0).
#[must_use]
pub fn round_coord(c: Coord<f64>) -> Coord<i32> {
    let limit = f64::from(COORD_LIMIT);
    let r = |v: f64| v.round().clamp(-limit, limit) as i32;
    coord! { x: r(c.x), y: r(c.y) }
}

/// Rounds every point to the integer grid and drops points equal to the one
/// before: several vertices within one tile unit become one.
///
/// ```
/// use agrimap_tiles::simplify::round_dedup_into;
/// use geo::coord;
/// let mut out = Vec::new();
/// round_dedup_into(&[coord! { x: 0.2, y: 0.0 }, coord! { x: 0.4, y: 0.1 }, coord! { x: 3.0, y: 1.6 }], &mut out);
/// assert_eq!(out, [coord! { x: 0, y: 0 }, coord! { x: 3, y: 2 }]);
/// ```
pub fn round_dedup_into(coords: &[Coord<f64>], out: &mut Vec<Coord<i32>>) {
    out.clear();
    for &c in coords {
        let r = round_coord(c);
        if out.last() != Some(&r) {
            out.push(r);
        }
    }
}

/// [`round_dedup_into`] for a `geo` line.
#[must_use]
pub fn round_line_string(line: &LineString<f64>) -> LineString<i32> {
    let mut out = Vec::with_capacity(line.0.len());
    round_dedup_into(&line.0, &mut out);
    LineString(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Simplify, line_string, polygon};

    #[test]
    fn matches_geo_simplify_on_a_wiggly_line() {
        let line: LineString<f64> = (0..200)
            .map(|i| {
                let x = f64::from(i) * 3.7;
                coord! { x: x, y: (x * 0.05).sin() * 40.0 + (x * 1.3).cos() * 1.2 }
            })
            .collect();
        for tol in [0.5, 1.0, 2.0, 8.0] {
            let ours = simplify_line_string(&line, tol);
            let theirs = line.simplify(tol);
            assert_eq!(ours, theirs, "tolerance {tol}");
            assert!(ours.0.len() < line.0.len());
        }
    }

    #[test]
    fn keeps_endpoints_and_points_beyond_tolerance() {
        let l =
            line_string![(x: 0.0, y: 0.0), (x: 5.0, y: 0.5), (x: 10.0, y: 0.0), (x: 15.0, y: 5.0), (x: 20.0, y: 0.0)];
        assert_eq!(
            simplify_line_string(&l, 1.0),
            line_string![(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 15.0, y: 5.0), (x: 20.0, y: 0.0)]
        );
        assert_eq!(simplify_line_string(&l, 0.0), l);
        assert_eq!(simplify_line_string(&l, f64::NAN), l);
    }

    #[test]
    fn closed_rings_keep_their_shape() {
        let square = polygon![
            (x: 0.0, y: 0.0), (x: 5.0, y: 0.2), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)
        ];
        let s = simplify_polygon(&square, 1.0).expect("large enough");
        assert_eq!(s.exterior().0.len(), 5, "{s:?}");
        assert!(!s.exterior().0.contains(&coord! { x: 5.0, y: 0.2 }));
    }

    #[test]
    fn slivers_narrower_than_the_tolerance_disappear() {
        let sliver = polygon![(x: 0.0, y: 0.0), (x: 100.0, y: 0.0), (x: 100.0, y: 0.4), (x: 0.0, y: 0.4)];
        assert_eq!(simplify_polygon(&sliver, 1.0), None);
        let with_sliver_hole = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 100.0, y: 0.0), (x: 100.0, y: 100.0), (x: 0.0, y: 100.0)],
            interiors: [[(x: 10.0, y: 10.0), (x: 90.0, y: 10.0), (x: 90.0, y: 10.3), (x: 10.0, y: 10.3)]],
        );
        let s = simplify_polygon(&with_sliver_hole, 1.0).expect("exterior survives");
        assert!(s.interiors().is_empty());
    }

    #[test]
    fn rounding_dedups_and_clamps() {
        let l = line_string![(x: 0.4, y: 0.4), (x: -0.4, y: 0.2), (x: 1.5, y: -1.5), (x: 1e12, y: f64::NAN)];
        assert_eq!(
            round_line_string(&l),
            line_string![(x: 0, y: 0), (x: 2, y: -2), (x: COORD_LIMIT, y: 0)]
        );
    }
}
