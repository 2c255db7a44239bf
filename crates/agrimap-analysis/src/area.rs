//! Areas on the WGS 84 ellipsoid, in hectares.
//!
//! Coordinates are mapped to Lambert's cylindrical equal-area projection of
//! the ellipsoid (authalic latitude), where a planar area *is* the area on
//! the ellipsoid; the shoelace formula then costs one `sin` and one `ln` per
//! vertex instead of a geodesic problem per edge. Edges become straight lines
//! in that projection rather than geodesics: the difference is below 10⁻⁶ of
//! the area for parcel-sized polygons and about 10⁻⁵ for a 9 km square, far
//! inside the 0.1% that statistics must agree with PostGIS
//! `ST_Area(geography)` to (tests/http_stats.rs checks that).

use geo::{Coord, LineString, MultiPolygon, Polygon};

/// WGS 84 semi-major axis, metres.
const A: f64 = 6_378_137.0;
/// WGS 84 flattening.
const F: f64 = 1.0 / 298.257_223_563;

/// Square metres per hectare.
const M2_PER_HA: f64 = 10_000.0;

fn eccentricity_squared() -> f64 {
    F * (2.0 - F)
}

/// The authalic function q(φ) of the ellipsoid.
fn q(phi: f64) -> f64 {
    let e2 = eccentricity_squared();
    let e = e2.sqrt();
    let s = phi.sin();
    let es = e * s;
    (1.0 - e2) * (s / (1.0 - es * es) - (1.0 / (2.0 * e)) * ((1.0 - es) / (1.0 + es)).ln())
}

/// A coordinate in the equal-area projection, metres.
fn project(c: Coord<f64>) -> (f64, f64) {
    (A * c.x.to_radians(), A * q(c.y.to_radians()) / 2.0)
}

/// Unsigned area enclosed by a ring, m².
fn ring_m2(ring: &LineString<f64>) -> f64 {
    let mut points = ring.0.iter().map(|c| project(*c));
    let Some(origin) = points.next() else {
        return 0.0;
    };
    // Relative to the first vertex: absolute projected values are ~10⁷ m and
    // would cost the small polygons their precision.
    let mut twice = 0.0;
    let mut prev = (0.0, 0.0);
    for (x, y) in points {
        let cur = (x - origin.0, y - origin.1);
        twice += prev.0 * cur.1 - cur.0 * prev.1;
        prev = cur;
    }
    (twice / 2.0).abs()
}

/// Area of a polygon on the ellipsoid, hectares.
#[must_use]
pub fn polygon_ha(p: &Polygon<f64>) -> f64 {
    let holes: f64 = p.interiors().iter().map(ring_m2).sum();
    ((ring_m2(p.exterior()) - holes) / M2_PER_HA).max(0.0)
}

/// Area of a multipolygon on the ellipsoid, hectares.
#[must_use]
pub fn multipolygon_ha(mp: &MultiPolygon<f64>) -> f64 {
    crate::total(mp.0.iter().map(polygon_ha))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{GeodesicArea, polygon};

    #[test]
    fn agrees_with_geodesic_area_for_a_parcel_and_a_commune_sized_square() {
        // Geographiclib's geodesic polygon area is the reference.
        for (lon, lat, size, tolerance) in [
            (105.8, 9.9, 0.001, 1e-6),
            (105.5, 10.2, 0.08, 2e-5),
            (0.0, 0.0, 0.05, 2e-5),
            // Far north, where geodesics bow most from parallels.
            (10.0, 60.0, 0.05, 1e-4),
        ] {
            let p = polygon![
                (x: lon, y: lat),
                (x: lon + size, y: lat),
                (x: lon + size, y: lat + size * 0.7),
                (x: lon, y: lat + size),
            ];
            let ours = polygon_ha(&p);
            let reference = p.geodesic_area_unsigned() / M2_PER_HA;
            assert!(
                ((ours - reference) / reference).abs() < tolerance,
                "at {lon},{lat} size {size}: {ours} ha vs {reference} ha"
            );
        }
    }

    #[test]
    fn holes_are_subtracted() {
        let outer = polygon![
            exterior: [(x: 105.0, y: 10.0), (x: 105.01, y: 10.0), (x: 105.01, y: 10.01), (x: 105.0, y: 10.01)],
            interiors: [[(x: 105.002, y: 10.002), (x: 105.004, y: 10.002), (x: 105.004, y: 10.004), (x: 105.002, y: 10.004)]],
        ];
        let full = polygon_ha(&Polygon::new(outer.exterior().clone(), vec![]));
        let hole = polygon_ha(&Polygon::new(outer.interiors()[0].clone(), vec![]));
        assert!((polygon_ha(&outer) - (full - hole)).abs() < 1e-9);
        assert!(hole > 0.0 && hole < full);
    }
}
