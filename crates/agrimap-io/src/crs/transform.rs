//! Positions and geometries between WGS 84 (longitude, latitude, as stored)
//! and an offered CRS, in the CRS's own axis order.
//!
//! VN-2000 goes through proj4rs, a pure-Rust port of PROJ's projections: WGS 84
//! to geocentric, the inverse of the official 7-parameter shift, back to
//! geodetic on the VN-2000 ellipsoid (WGS 84's own), then transverse Mercator
//! (Poder/Engsager, PROJ's default). `crs.rs`'s tests hold it to PROJ's
//! `cs2cs` within a millimetre.

use super::Crs;
use geo::{Coord, Geometry, MapCoords, Rect, coord};
use proj4rs::Proj;

/// Points taken along each edge of a box before its envelope is computed
/// in the other CRS, so that curved images of straight edges stay inside.
const EDGE_POINTS: u32 = 32;

/// A position that cannot be transformed (outside what the projection covers).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the position ({x}, {y}) cannot be transformed {direction} {crs}")]
pub struct TransformError {
    pub x: f64,
    pub y: f64,
    pub direction: &'static str,
    pub crs: String,
}

/// Transforms between WGS 84 and one offered CRS.
pub struct Transform {
    crs: Crs,
    /// WGS 84 and the VN-2000 CRS, for a VN-2000 CRS.
    projected: Option<(Proj, Proj)>,
}

impl std::fmt::Debug for Transform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transform")
            .field("crs", &self.crs)
            .finish_non_exhaustive()
    }
}

impl Transform {
    /// The transformation to and from `crs`.
    ///
    /// # Panics
    /// Never for an offered CRS: their PROJ strings are fixed and tested.
    #[must_use]
    pub fn new(crs: Crs) -> Self {
        let projected = crs.vn2000_proj_string().map(|target| {
            let parse = |s: &str| Proj::from_proj_string(s).expect("an offered CRS's PROJ string");
            (parse("+proj=longlat +datum=WGS84 +no_defs"), parse(&target))
        });
        Self { crs, projected }
    }

    /// The CRS transformed to and from.
    #[must_use]
    pub fn crs(&self) -> Crs {
        self.crs
    }

    fn error(&self, c: Coord, direction: &'static str) -> TransformError {
        TransformError {
            x: c.x,
            y: c.y,
            direction,
            crs: self.crs.uri(),
        }
    }

    /// A WGS 84 position (longitude, latitude) in the CRS.
    ///
    /// # Errors
    /// When the projection does not reach the position.
    pub fn from_wgs84(&self, c: Coord) -> Result<Coord, TransformError> {
        let Some((wgs84, target)) = &self.projected else {
            return Ok(if self.crs == Crs::CRS84 {
                c
            } else {
                coord! { x: c.y, y: c.x }
            });
        };
        let mut p = (c.x.to_radians(), c.y.to_radians(), 0.0);
        proj4rs::transform::transform(wgs84, target, &mut p)
            .ok()
            .filter(|()| p.0.is_finite() && p.1.is_finite())
            .map(|()| coord! { x: p.0, y: p.1 })
            .ok_or_else(|| self.error(c, "into"))
    }

    /// A position in the CRS as WGS 84 (longitude, latitude).
    ///
    /// # Errors
    /// When the position is outside what the projection covers.
    pub fn to_wgs84(&self, c: Coord) -> Result<Coord, TransformError> {
        let Some((wgs84, source)) = &self.projected else {
            return Ok(if self.crs == Crs::CRS84 {
                c
            } else {
                coord! { x: c.y, y: c.x }
            });
        };
        let mut p = (c.x, c.y, 0.0);
        proj4rs::transform::transform(source, wgs84, &mut p)
            .ok()
            .map(|()| coord! { x: p.0.to_degrees(), y: p.1.to_degrees() })
            .filter(|d| (-180.0..=180.0).contains(&d.x) && (-90.0..=90.0).contains(&d.y))
            .ok_or_else(|| self.error(c, "from"))
    }

    /// A stored geometry in the CRS.
    ///
    /// # Errors
    /// When a position cannot be transformed.
    pub fn geometry_from_wgs84(&self, g: &Geometry) -> Result<Geometry, TransformError> {
        g.try_map_coords(|c| self.from_wgs84(c))
    }

    /// A geometry in the CRS as WGS 84.
    ///
    /// # Errors
    /// When a position cannot be transformed.
    pub fn geometry_to_wgs84(&self, g: &Geometry) -> Result<Geometry, TransformError> {
        g.try_map_coords(|c| self.to_wgs84(c))
    }

    /// The WGS 84 envelope of a box given in the CRS (its corners in the
    /// CRS's axis order). Straight edges in a projected CRS are curves in
    /// longitude and latitude, so points along every edge are transformed,
    /// not only the corners.
    ///
    /// # Errors
    /// When a point of the box cannot be transformed.
    pub fn rect_to_wgs84(&self, rect: Rect) -> Result<Rect, TransformError> {
        if self.projected.is_none() {
            let (a, b) = (self.to_wgs84(rect.min())?, self.to_wgs84(rect.max())?);
            return Ok(Rect::new(a, b));
        }
        let (min, max) = (rect.min(), rect.max());
        let along = |t: u32| f64::from(t) / f64::from(EDGE_POINTS);
        let mut west = f64::INFINITY;
        let mut south = f64::INFINITY;
        let mut east = f64::NEG_INFINITY;
        let mut north = f64::NEG_INFINITY;
        for i in 0..=EDGE_POINTS {
            let x = min.x + (max.x - min.x) * along(i);
            let y = min.y + (max.y - min.y) * along(i);
            for c in [
                coord! { x: x, y: min.y },
                coord! { x: x, y: max.y },
                coord! { x: min.x, y: y },
                coord! { x: max.x, y: y },
            ] {
                let d = self.to_wgs84(c)?;
                west = west.min(d.x);
                east = east.max(d.x);
                south = south.min(d.y);
                north = north.max(d.y);
            }
        }
        Ok(Rect::new(coord! { x: west, y: south }, coord! { x: east, y: north }))
    }
}
