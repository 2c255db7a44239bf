//! Each old commune's area split over the new communes: the exact overlay of
//! the two boundary sets on the ellipsoid, by the aggregation engine
//! ([`agrimap_analysis::aggregate::exact_parts`]: the new communes in an R-tree
//! with interior grids, exact intersections with geo's `BooleanOps` near
//! their boundaries, hectares on the WGS 84 ellipsoid), old communes in
//! parallel on the current rayon pool.

use agrimap_analysis::Zones;
use agrimap_analysis::aggregate::exact_parts;
use agrimap_analysis::area::multipolygon_ha;
use geo::{Geometry, MultiPolygon};
use rayon::prelude::*;

/// One commune's boundary, as the overlay takes it.
#[derive(Debug, Clone)]
pub struct Boundary {
    pub code: String,
    pub province_code: String,
    pub shape: MultiPolygon<f64>,
}

impl Boundary {
    /// The boundary of a polygonal geometry; `None` for any other kind.
    #[must_use]
    pub fn new(code: &str, province_code: &str, geometry: &Geometry<f64>) -> Option<Self> {
        let shape = match geometry {
            Geometry::Polygon(p) => MultiPolygon::new(vec![p.clone()]),
            Geometry::MultiPolygon(mp) => mp.clone(),
            _ => return None,
        };
        Some(Self {
            code: code.to_owned(),
            province_code: province_code.to_owned(),
            shape,
        })
    }
}

/// The part of an old commune that lies in a new one.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Share {
    pub old_code: String,
    pub new_code: String,
    /// Hectares on the ellipsoid.
    pub area_ha: f64,
    /// `area_ha` over the old commune's whole area.
    pub share: f64,
}

/// The overlay of the old communes on the new ones.
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    /// Every non-empty part, by old code then new code.
    pub shares: Vec<Share>,
}

impl Overlay {
    /// The parts of one old commune, largest first.
    #[must_use]
    pub fn of_old(&self, old_code: &str) -> Vec<&Share> {
        let start = self.shares.partition_point(|s| s.old_code.as_str() < old_code);
        let mut parts: Vec<&Share> = self.shares[start..]
            .iter()
            .take_while(|s| s.old_code == old_code)
            .collect();
        parts.sort_by(|a, b| b.share.total_cmp(&a.share).then_with(|| a.new_code.cmp(&b.new_code)));
        parts
    }

    /// The share of the old commune in the new one (0 when they do not meet).
    #[must_use]
    pub fn share(&self, old_code: &str, new_code: &str) -> f64 {
        self.shares
            .binary_search_by(|s| (s.old_code.as_str(), s.new_code.as_str()).cmp(&(old_code, new_code)))
            .map_or(0.0, |i| self.shares[i].share)
    }
}

/// The new communes indexed for [`overlay`].
#[must_use]
pub fn index_new(new: &[Boundary]) -> Zones {
    Zones::new(
        new.iter()
            .map(|b| (b.code.clone(), String::new(), b.province_code.clone(), b.shape.clone()))
            .collect(),
    )
}

/// Splits each old commune over the new communes (indexed by [`index_new`]),
/// on the current rayon pool.
#[must_use]
pub fn overlay(old: &[Boundary], new: &Zones) -> Overlay {
    let mut shares: Vec<Share> = old
        .par_iter()
        .flat_map_iter(|o| {
            let whole = multipolygon_ha(&o.shape);
            let mut found = Vec::new();
            exact_parts(new, &Geometry::MultiPolygon(o.shape.clone()), &mut found);
            found
                .into_iter()
                .filter(move |&(_, ha)| ha > 0.0 && whole > 0.0)
                .map(move |(z, ha)| Share {
                    old_code: o.code.clone(),
                    new_code: new.get(z).code.clone(),
                    area_ha: ha,
                    share: ha / whole,
                })
        })
        .collect();
    shares.sort_by(|a, b| (&a.old_code, &a.new_code).cmp(&(&b.old_code, &b.new_code)));
    // Two new features of one code (a commune in two pieces) count as one.
    shares.dedup_by(|later, kept| {
        let same = later.old_code == kept.old_code && later.new_code == kept.new_code;
        if same {
            kept.area_ha += later.area_ha;
            kept.share += later.share;
        }
        same
    });
    Overlay { shares }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn square(code: &str, x0: f64, y0: f64, x1: f64, y1: f64) -> Boundary {
        let p = polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)];
        Boundary::new(code, "92", &Geometry::Polygon(p)).expect("polygon")
    }

    #[test]
    fn an_old_commune_across_two_new_ones_is_split_by_area() {
        let old = [
            square("1", 105.9, 9.6, 106.0, 9.7),
            square("2", 106.0, 9.6, 106.02, 9.62),
        ];
        let new = index_new(&[
            square("A", 105.9, 9.6, 105.925, 9.7),
            square("B", 105.925, 9.6, 106.1, 9.7),
        ]);
        let o = overlay(&old, &new);
        assert!((o.share("1", "A") - 0.25).abs() < 1e-6, "{o:?}");
        assert!((o.share("1", "B") - 0.75).abs() < 1e-6, "{o:?}");
        assert!((o.share("2", "B") - 1.0).abs() < 1e-6, "{o:?}");
        assert!(o.share("2", "A").abs() < f64::EPSILON, "{o:?}");
        assert_eq!(o.of_old("1")[0].new_code, "B");
    }
}
