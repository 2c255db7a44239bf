//! The features of a 2025 commune that a department's files still code by
//! the communes of before the reform (`commune=` of a 2025 commune).
//!
//! The official list says where each old commune went. One that went wholly
//! into the commune is the commune's by its code alone; one split among
//! several 2025 communes is the commune's where its features lie in it. So
//! the commune holds the features coded by it, by the old communes merged
//! wholly into it, and by those split into it and lying inside it: what its
//! NTM evidence counts and what `/ogc`, exports and their links select.

use crate::communes::Commune;
use crate::communes::former::FormerNames;
use agrimap_model::{BoundarySet, Filter, Value};
use agrimap_store::filter_shape::MAX_FILTER_VERTICES;
use geo::{BoundingRect, CoordsIter, Geometry, Simplify};

/// About a metre: an outline too detailed for a filter is simplified this
/// much, far below the width of any field or pond.
const SIMPLIFY_DEGREES: f64 = 0.000_01;

/// The filter selecting the features of the 2025 commune `commune` with
/// those of its predecessors in the list `former`; `None` for a commune of
/// before the reform or one the list names no predecessor of (the commune's
/// own code and set then select its features).
#[must_use]
pub fn commune_filter(former: &FormerNames, commune: &Commune) -> Option<Filter> {
    filter_for(former, &commune.code, &commune.boundary_set, &commune.boundary)
}

/// [`commune_filter`] of the commune `code` of `set`, drawn as `outline`.
fn filter_for(former: &FormerNames, code: &str, set: &str, outline: &Geometry<f64>) -> Option<Filter> {
    if set != BoundarySet::Y2025.as_str() {
        return None;
    }
    let (whole, split) = former.predecessors(code);
    if whole.is_empty() && split.is_empty() {
        return None;
    }
    let codes = |codes: &[&str]| Filter::In {
        field: "commune_code".to_owned(),
        values: codes.iter().map(|c| Value::Text((*c).to_owned())).collect(),
    };
    let old_set = || Filter::eq("boundary_set", BoundarySet::Pre2025.as_str());
    let mut either = vec![Filter::And(vec![
        Filter::eq("boundary_set", BoundarySet::Y2025.as_str()),
        Filter::eq("commune_code", code),
    ])];
    if !whole.is_empty() {
        either.push(Filter::And(vec![old_set(), codes(&whole)]));
    }
    if !split.is_empty() {
        either.push(Filter::And(vec![old_set(), codes(&split), lying_in(outline)]));
    }
    Some(Filter::Or(either))
}

/// Features lying in `outline`: exactly, or within its outline simplified
/// by about a metre when it has more vertices than a filter may carry, or,
/// still too detailed, within its box (which holds more than the commune).
fn lying_in(outline: &Geometry<f64>) -> Filter {
    if outline.coords_count() <= MAX_FILTER_VERTICES {
        return Filter::IntersectsGeometry(outline.clone());
    }
    let simplified = match outline {
        Geometry::Polygon(p) => Geometry::Polygon(p.simplify(SIMPLIFY_DEGREES)),
        Geometry::MultiPolygon(m) => Geometry::MultiPolygon(m.simplify(SIMPLIFY_DEGREES)),
        other => other.clone(),
    };
    if simplified.coords_count() <= MAX_FILTER_VERTICES {
        return Filter::IntersectsGeometry(simplified);
    }
    // An empty outline has no box: nothing lies in it.
    outline
        .bounding_rect()
        .map_or(Filter::Or(Vec::new()), Filter::Intersects)
}

#[cfg(test)]
mod tests {
    use super::*;
    use agrimap_store::{CrosswalkPair, PairKind};

    fn pair(old: &str, new: &str, kind: PairKind) -> CrosswalkPair {
        CrosswalkPair {
            old_code: old.to_owned(),
            old_name: format!("Xã {old}"),
            new_province_code: "92".to_owned(),
            new_province_name: "Thành phố Cần Thơ".to_owned(),
            new_code: new.to_owned(),
            new_name: format!("Phường {new}"),
            kind,
        }
    }

    fn filter(former: &FormerNames, code: &str, set: BoundarySet) -> Option<Filter> {
        let square = geo::Rect::new((0.0, 0.0), (1.0, 1.0)).to_polygon();
        filter_for(former, code, set.as_str(), &Geometry::Polygon(square))
    }

    #[test]
    fn predecessors_wholly_merged_by_code_and_split_ones_by_location() {
        let former = FormerNames::new(vec![
            pair("31498", "31507", PairKind::Full),
            pair("31501", "31507", PairKind::Full),
            pair("31504", "31507", PairKind::Partial),
            pair("31504", "31510", PairKind::Partial),
        ]);
        let Some(Filter::Or(either)) = filter(&former, "31507", BoundarySet::Y2025) else {
            panic!("a filter");
        };
        assert_eq!(either.len(), 3);
        let Filter::And(whole) = &either[1] else {
            panic!("{either:?}")
        };
        assert_eq!(
            whole[1],
            Filter::In {
                field: "commune_code".to_owned(),
                values: vec![Value::from("31498"), Value::from("31501")],
            }
        );
        let Filter::And(split) = &either[2] else {
            panic!("{either:?}")
        };
        assert!(matches!(split[2], Filter::IntersectsGeometry(_)), "{split:?}");
        // Neither a commune without predecessors nor one of the old set.
        assert_eq!(filter(&former, "31120", BoundarySet::Y2025), None);
        assert_eq!(filter(&former, "31507", BoundarySet::Pre2025), None);
    }

    #[test]
    fn an_outline_too_detailed_for_a_filter_is_simplified_or_boxed() {
        use geo::{LineString, Polygon};
        let ring = |n: usize, radius: &dyn Fn(usize) -> f64| {
            let points: Vec<(f64, f64)> = (0..n)
                .map(|i| {
                    let a = std::f64::consts::TAU * i as f64 / n as f64;
                    (105.0 + radius(i) * a.cos(), 10.0 + radius(i) * a.sin())
                })
                .collect();
            Geometry::Polygon(Polygon::new(LineString::from(points), Vec::new()))
        };
        // A smooth outline of 8,000 vertices loses the ones a metre does not need.
        let smooth = ring(8_000, &|_| 0.05);
        let Filter::IntersectsGeometry(kept) = lying_in(&smooth) else {
            panic!("an exact filter");
        };
        assert!(kept.coords_count() <= MAX_FILTER_VERTICES, "{}", kept.coords_count());
        // A jagged one keeps them all: its box stands in for it.
        let jagged = ring(8_000, &|i| if i % 2 == 0 { 0.05 } else { 0.04 });
        assert!(matches!(lying_in(&jagged), Filter::Intersects(_)));
    }
}
