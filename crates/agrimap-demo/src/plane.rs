//! The province is laid out in a local metric plane (metres east and north of
//! its south-west corner) and converted to longitude/latitude at the end; this
//! module holds that frame and the little plane geometry the generator needs.

use geo::{Coord, LineString, Polygon, coord};

/// Equirectangular frame around the province: accurate to well under a
/// metre over 100 km at this latitude, which is all a demo needs.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub lon0: f64,
    pub lat0: f64,
    metres_per_lon: f64,
    metres_per_lat: f64,
}

impl Frame {
    #[must_use]
    pub fn new(lon0: f64, lat0: f64, mid_lat: f64) -> Self {
        Self {
            lon0,
            lat0,
            metres_per_lon: 111_320.0 * mid_lat.to_radians().cos(),
            metres_per_lat: 110_574.0,
        }
    }

    /// Longitude/latitude of a point, rounded to 1e-7° (about 1 cm) so that
    /// shared vertices stay identical in every output file.
    #[must_use]
    pub fn lonlat(&self, p: Coord<f64>) -> Coord<f64> {
        coord! { x: round7(self.lon0 + p.x / self.metres_per_lon), y: round7(self.lat0 + p.y / self.metres_per_lat) }
    }

    #[must_use]
    pub fn ring(&self, ring: &[Coord<f64>]) -> LineString<f64> {
        let mut pts: Vec<Coord<f64>> = ring.iter().map(|p| self.lonlat(*p)).collect();
        pts.dedup();
        if pts.first() != pts.last()
            && let Some(first) = pts.first().copied()
        {
            pts.push(first);
        }
        LineString(pts)
    }

    /// A polygon from a ring in the plane, counter-clockwise as RFC 7946 asks.
    #[must_use]
    pub fn polygon(&self, ring: &[Coord<f64>]) -> Polygon<f64> {
        use geo::orient::{Direction, Orient};
        let mut p = Polygon::new(self.ring(ring), vec![]);
        p = p.orient(Direction::Default);
        p
    }

    #[must_use]
    pub fn line(&self, pts: &[Coord<f64>]) -> LineString<f64> {
        LineString(pts.iter().map(|p| self.lonlat(*p)).collect())
    }
}

#[must_use]
pub fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// Clips a convex polygon (counter-clockwise, open ring) to the half-plane of
/// points no farther from `a` than from `b` (the `a` side of their bisector).
#[must_use]
pub fn clip_to_nearer(poly: &[Coord<f64>], a: Coord<f64>, b: Coord<f64>) -> Vec<Coord<f64>> {
    let normal = coord! { x: b.x - a.x, y: b.y - a.y };
    let mid = coord! { x: f64::midpoint(a.x, b.x), y: f64::midpoint(a.y, b.y) };
    let side = |p: Coord<f64>| (p.x - mid.x) * normal.x + (p.y - mid.y) * normal.y;
    let mut out = Vec::with_capacity(poly.len() + 1);
    for i in 0..poly.len() {
        let (p, q) = (poly[i], poly[(i + 1) % poly.len()]);
        let (sp, sq) = (side(p), side(q));
        if sp <= 0.0 {
            out.push(p);
        }
        if (sp < 0.0 && sq > 0.0) || (sp > 0.0 && sq < 0.0) {
            let along = sp / (sp - sq);
            out.push(coord! { x: p.x + along * (q.x - p.x), y: p.y + along * (q.y - p.y) });
        }
    }
    out
}

/// Distance from `p` to the segment `a`–`b`.
#[must_use]
pub fn segment_distance(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (cx, cy) = (a.x + t * dx - p.x, a.y + t * dy - p.y);
    (cx * cx + cy * cy).sqrt()
}

/// Distance from `p` to a polyline.
#[must_use]
pub fn polyline_distance(p: Coord<f64>, line: &[Coord<f64>]) -> f64 {
    line.windows(2)
        .map(|w| segment_distance(p, w[0], w[1]))
        .fold(f64::INFINITY, f64::min)
}

#[must_use]
pub fn distance(a: Coord<f64>, b: Coord<f64>) -> f64 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_keeps_the_nearer_half() {
        let square = [
            coord! {x: 0.0, y: 0.0},
            coord! {x: 10.0, y: 0.0},
            coord! {x: 10.0, y: 10.0},
            coord! {x: 0.0, y: 10.0},
        ];
        let half = clip_to_nearer(&square, coord! {x: 2.0, y: 5.0}, coord! {x: 8.0, y: 5.0});
        assert!(half.iter().all(|p| p.x <= 5.0 + 1e-9));
        assert_eq!(half.len(), 4);
        assert!((segment_distance(coord! {x: 5.0, y: 3.0}, square[0], square[1]) - 3.0).abs() < 1e-12);
    }
}
