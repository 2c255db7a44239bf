//! What both stores check of a geometry before writing it.

use agrimap_model::{GeometryKind, LayerDef};
use geo::{CoordsIter, Geometry, MultiLineString, MultiPolygon};

/// The geometry as the layer's column holds it: points stay points, lines
/// and polygons become their multi- variants (the column types GDAL and QGIS
/// expect). Refuses other kinds and non-finite coordinates, saying why.
pub(crate) fn fit_to_layer(layer: &LayerDef, geometry: &Geometry<f64>) -> Result<Geometry<f64>, String> {
    if !geometry.coords_iter().all(|c| c.x.is_finite() && c.y.is_finite()) {
        return Err("geometry has non-finite coordinates".into());
    }
    Ok(match (layer.geometry, geometry) {
        (GeometryKind::Point | GeometryKind::PointOrLine, Geometry::Point(_))
        | (GeometryKind::LineString | GeometryKind::PointOrLine, Geometry::MultiLineString(_))
        | (GeometryKind::Polygon, Geometry::MultiPolygon(_)) => geometry.clone(),
        (GeometryKind::LineString | GeometryKind::PointOrLine, Geometry::LineString(l)) => {
            MultiLineString(vec![l.clone()]).into()
        }
        (GeometryKind::Polygon, Geometry::Polygon(p)) => MultiPolygon(vec![p.clone()]).into(),
        (kind, other) => {
            return Err(format!(
                "geometry {} does not fit layer geometry {}",
                geometry_name(other),
                kind.ogc_name()
            ));
        }
    })
}

fn geometry_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::Line(_) | Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => "Polygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
    }
}
