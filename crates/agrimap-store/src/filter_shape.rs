//! A filter's geometry made cheap to test many features against.
//!
//! A CQL2 `S_INTERSECTS` with a polygon of a thousand vertices meets tens of
//! thousands of candidate parcels; testing each exactly (geo's `Intersects`
//! walks every edge of both) took seconds of CPU per request. The polygon is
//! instead put on the aggregation engine's interior grid once: a candidate
//! whose bounding box covers only cells wholly inside the polygon intersects
//! it, one over cells wholly outside does not, and only candidates over cells
//! the boundary crosses are tested exactly. The answer is the exact one in
//! every case, so both stores still agree.
//!
//! The number of vertices a filter may hold is bounded too
//! ([`MAX_FILTER_VERTICES`]): building the grid and the exact tests near the
//! boundary grow with it.

use agrimap_analysis::zones::{Placement, Zone, Zones};
use agrimap_model::{Filter, FilterError, LayerDef};
use geo::{BoundingRect, CoordsIter, Geometry, Intersects, MultiPolygon, Rect};

/// The most vertices the geometries of one filter may have altogether.
pub const MAX_FILTER_VERTICES: usize = 5_000;

/// The most spatial conditions (`S_INTERSECTS`, `bbox`) one filter may
/// hold: each is a pass over the candidates, so three hundred of them
/// ORed together held a store connection for the whole deadline. Shapes
/// that belong together go in one `MULTIPOLYGON`, which is one pass.
pub const MAX_SPATIAL_CONDITIONS: usize = 8;

/// Refuses a filter whose geometries have more than [`MAX_FILTER_VERTICES`],
/// or that holds more than [`MAX_SPATIAL_CONDITIONS`].
///
/// # Errors
/// [`FilterError::BadValue`] on the layer's geometry, naming the limit.
pub fn check_filter_cost(layer: &LayerDef, filter: &Filter) -> Result<(), FilterError> {
    let conditions = spatial_conditions(filter);
    if conditions > MAX_SPATIAL_CONDITIONS {
        return Err(FilterError::BadValue {
            layer: layer.id.to_owned(),
            field: "geometry".to_owned(),
            reason: format!(
                "the filter has {conditions} spatial conditions; at most {MAX_SPATIAL_CONDITIONS} are allowed \
                 (give shapes that belong together as one MULTIPOLYGON)"
            ),
        });
    }
    let vertices = filter_vertices(filter);
    if vertices > MAX_FILTER_VERTICES {
        return Err(FilterError::BadValue {
            layer: layer.id.to_owned(),
            field: "geometry".to_owned(),
            reason: format!(
                "the filter's geometries have {vertices} vertices; at most {MAX_FILTER_VERTICES} are allowed \
                 (simplify the shape, or split the request)"
            ),
        });
    }
    Ok(())
}

fn spatial_conditions(filter: &Filter) -> usize {
    match filter {
        Filter::IntersectsGeometry(_) | Filter::Intersects(_) => 1,
        Filter::And(parts) | Filter::Or(parts) => parts.iter().map(spatial_conditions).sum(),
        Filter::Not(inner) => spatial_conditions(inner),
        _ => 0,
    }
}

fn filter_vertices(filter: &Filter) -> usize {
    match filter {
        Filter::IntersectsGeometry(g) => g.coords_count(),
        Filter::And(parts) | Filter::Or(parts) => parts.iter().map(filter_vertices).sum(),
        Filter::Not(inner) => filter_vertices(inner),
        _ => 0,
    }
}

/// A filter geometry with, for polygons, an interior grid.
#[derive(Debug)]
pub struct FilterShape {
    geometry: Geometry<f64>,
    grid: Option<Zone>,
}

impl FilterShape {
    #[must_use]
    pub fn new(geometry: Geometry<f64>) -> Self {
        let area: Option<MultiPolygon<f64>> = match &geometry {
            Geometry::Polygon(p) => Some(MultiPolygon::new(vec![p.clone()])),
            Geometry::MultiPolygon(m) => Some(m.clone()),
            Geometry::Rect(r) => Some(MultiPolygon::new(vec![r.to_polygon()])),
            _ => None,
        };
        // Small shapes are quicker to test directly than to grid.
        let grid = area.filter(|a| a.coords_count() > 64).and_then(|a| {
            Zones::new(vec![(String::new(), String::new(), String::new(), a)])
                .zones()
                .first()
                .cloned()
        });
        Self { geometry, grid }
    }

    /// Whether a non-empty geometry with bounding box `rect` shares a point
    /// with the shape, when the grid can tell from the box alone (the box over
    /// cells wholly inside or wholly outside); `None` near the boundary.
    #[must_use]
    pub fn intersects_by_box(&self, rect: Rect<f64>) -> Option<bool> {
        match self.grid.as_ref()?.place(rect) {
            Placement::Inside => Some(true),
            Placement::Outside => Some(false),
            Placement::Boundary => None,
        }
    }

    /// Whether `other` shares a point with the shape (boundaries included).
    #[must_use]
    pub fn intersects(&self, other: &Geometry<f64>) -> bool {
        other
            .bounding_rect()
            .and_then(|rect| self.intersects_by_box(rect))
            .unwrap_or_else(|| self.geometry.intersects(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Coord, LineString, Polygon, coord};

    /// A ring of `n` vertices around (`cx`, `cy`).
    fn ring(cx: f64, cy: f64, r: f64, n: usize) -> LineString<f64> {
        (0..=n)
            .map(|i| {
                let a = std::f64::consts::TAU * (i % n) as f64 / n as f64;
                coord! { x: cx + r * a.cos(), y: cy + r * a.sin() }
            })
            .collect::<Vec<Coord<f64>>>()
            .into()
    }

    #[test]
    fn many_spatial_conditions_are_refused_one_multipolygon_is_not() {
        let layer = agrimap_model::layer("crop").expect("crop");
        let square = |x: f64| {
            Filter::IntersectsGeometry(Geometry::Rect(Rect::new(
                coord! { x: x, y: 10.0 },
                coord! { x: x + 0.01, y: 10.01 },
            )))
        };
        let ored = |n: usize| Filter::Or((0..n).map(|i| square(105.0 + i as f64 * 0.02)).collect());
        assert!(check_filter_cost(layer, &ored(MAX_SPATIAL_CONDITIONS)).is_ok());
        let refused = check_filter_cost(layer, &ored(300)).expect_err("300 conditions");
        assert!(refused.to_string().contains("300 spatial conditions"), "{refused}");
        let one = Filter::IntersectsGeometry(Geometry::MultiPolygon(MultiPolygon::new(
            (0..300)
                .map(|i| {
                    Rect::new(
                        coord! { x: 105.0 + f64::from(i) * 0.02, y: 10.0 },
                        coord! { x: 105.01 + f64::from(i) * 0.02, y: 10.01 },
                    )
                    .to_polygon()
                })
                .collect(),
        )));
        assert!(check_filter_cost(layer, &one).is_ok());
    }

    #[test]
    fn grid_answers_as_the_exact_test_does() {
        let donut = Geometry::Polygon(Polygon::new(ring(0.0, 0.0, 1.0, 1200), vec![ring(0.1, 0.0, 0.4, 300)]));
        let shape = FilterShape::new(donut.clone());
        assert!(shape.grid.is_some());
        let mut disagreements = 0;
        for i in 0..80 {
            for j in 0..80 {
                let (x, y) = (-1.2 + f64::from(i) * 0.03, -1.2 + f64::from(j) * 0.03);
                let parcel = Geometry::Rect(Rect::new(coord! { x: x, y: y }, coord! { x: x + 0.004, y: y + 0.003 }));
                if shape.intersects(&parcel) != donut.intersects(&parcel) {
                    disagreements += 1;
                }
            }
        }
        assert_eq!(disagreements, 0);
    }

    #[test]
    fn too_many_vertices_are_refused_naming_the_limit() {
        let crop = agrimap_model::layer("crop").expect("crop");
        let big = Filter::IntersectsGeometry(Geometry::Polygon(Polygon::new(ring(0.0, 0.0, 1.0, 5_001), vec![])));
        let e = check_filter_cost(crop, &Filter::Not(Box::new(big))).expect_err("too many");
        assert!(e.to_string().contains("at most 5000"), "{e}");
        let fine = Filter::IntersectsGeometry(Geometry::Polygon(Polygon::new(ring(0.0, 0.0, 1.0, 1200), vec![])));
        assert!(check_filter_cost(crop, &fine).is_ok());
    }
}
