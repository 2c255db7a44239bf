//! Web Mercator tile arithmetic in the XYZ scheme (y = 0 at the north edge).
//!
//! Features are stored in longitude/latitude; tiles are addressed by
//! `z/x/y` and drawn in integer tile units. Everything that converts between
//! the two lives here so that the store query, the clipper and the tests agree
//! on where a tile's edges are.

use geo::{Coord, Rect, coord};
use std::f64::consts::PI;
use std::fmt;

/// The deepest zoom a tile may be requested at. At z22 a 4096-unit tile is
/// about 1 cm per unit at the equator: finer than any parcel survey.
pub const MAX_ZOOM: u8 = 22;

/// The latitude at which Web Mercator makes the world square
/// (`atan(sinh(π))`); tiles end here and latitudes beyond it are clamped.
pub const MAX_LATITUDE: f64 = 85.051_128_779_806_59;

/// WGS 84 semi-major axis, the sphere radius of EPSG:3857.
const EARTH_RADIUS: f64 = 6_378_137.0;

/// Why a tile address is not a tile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TileError {
    #[error("zoom {z} is out of range (0..={MAX_ZOOM})")]
    ZoomOutOfRange { z: u8 },
    #[error("x {x} is out of range at zoom {z} (0..={max})")]
    XOutOfRange { z: u8, x: u32, max: u32 },
    #[error("y {y} is out of range at zoom {z} (0..={max})")]
    YOutOfRange { z: u8, y: u32, max: u32 },
}

/// A tile address in the XYZ scheme. Construct it with [`TileCoord::new`] so
/// that `x` and `y` are known to lie within the zoom level's grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileCoord {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

impl TileCoord {
    /// Checks the address against the grid of its zoom level.
    ///
    /// ```
    /// use agrimap_tiles::TileCoord;
    /// assert!(TileCoord::new(8, 203, 120).is_ok());
    /// let err = TileCoord::new(8, 300, 120).expect_err("x too large");
    /// assert_eq!(err.to_string(), "x 300 is out of range at zoom 8 (0..=255)");
    /// ```
    ///
    /// # Errors
    /// [`TileError`] when `z > MAX_ZOOM` or `x` or `y` is `>= 2^z`.
    pub fn new(z: u8, x: u32, y: u32) -> Result<Self, TileError> {
        if z > MAX_ZOOM {
            return Err(TileError::ZoomOutOfRange { z });
        }
        let max = tiles_per_side(z) - 1;
        if x > max {
            return Err(TileError::XOutOfRange { z, x, max });
        }
        if y > max {
            return Err(TileError::YOutOfRange { z, y, max });
        }
        Ok(Self { z, x, y })
    }
}

impl fmt::Display for TileCoord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.z, self.x, self.y)
    }
}

/// `2^z`, the number of tiles along each side of the world at zoom `z`
/// (`z` is clamped to [`MAX_ZOOM`]).
fn tiles_per_side(z: u8) -> u32 {
    1u32 << z.min(MAX_ZOOM)
}

/// Longitude/latitude to the unit square of the world (x east, y south),
/// latitude clamped to ±[`MAX_LATITUDE`].
fn to_unit(lon: f64, lat: f64) -> (f64, f64) {
    let u = (lon + 180.0) / 360.0;
    let sin = lat.clamp(-MAX_LATITUDE, MAX_LATITUDE).to_radians().sin();
    // ln(tan(π/4 + φ/2)) written with one sine and one logarithm: this runs
    // once per vertex of every feature of every tile.
    let v = 0.5 - ((1.0 + sin) / (1.0 - sin)).ln() / (4.0 * PI);
    (u, v)
}

/// The unit square back to longitude/latitude.
fn from_unit(u: f64, v: f64) -> (f64, f64) {
    let lon = u * 360.0 - 180.0;
    let lat = (PI * (1.0 - 2.0 * v)).sinh().atan().to_degrees();
    (lon, lat)
}

/// The tile's edges in longitude/latitude: `min` is the south-west corner.
///
/// ```
/// use agrimap_tiles::{TileCoord, tile_bounds};
/// let world = tile_bounds(TileCoord::new(0, 0, 0).expect("valid"));
/// assert_eq!((world.min().x, world.max().x), (-180.0, 180.0));
/// assert!((world.max().y - 85.0511).abs() < 1e-4);
/// ```
#[must_use]
pub fn tile_bounds(t: TileCoord) -> Rect<f64> {
    tile_bounds_buffered(t, 0, 1)
}

/// The tile's edges grown by `buffer` tile units (out of `extent` per side)
/// on every side: the box to fetch features for, since the encoder keeps
/// geometry that far beyond the edge so that strokes join across tiles.
///
/// An `extent` of 0 is treated as 1.
#[must_use]
pub fn tile_bounds_buffered(t: TileCoord, buffer: u32, extent: u32) -> Rect<f64> {
    let p = TileProjector::new(t, extent);
    let b = f64::from(buffer);
    let far = f64::from(extent.max(1)) + b;
    let (west, north) = p.unproject(-b, -b);
    let (east, south) = p.unproject(far, far);
    Rect::new(coord! { x: west, y: south }, coord! { x: east, y: north })
}

/// The tile at zoom `z` that contains a point. Points on a shared edge belong
/// to the tile east or south of it; points beyond the grid (latitudes past
/// ±85.0511, longitudes past ±180) go to the nearest edge tile. `z` is
/// clamped to [`MAX_ZOOM`].
///
/// ```
/// use agrimap_tiles::tile_containing;
/// let t = tile_containing(105.78, 10.03, 14); // Cần Thơ
/// assert_eq!((t.z, t.x, t.y), (14, 13006, 7733));
/// ```
#[must_use]
pub fn tile_containing(lon: f64, lat: f64, z: u8) -> TileCoord {
    let z = z.min(MAX_ZOOM);
    let n = tiles_per_side(z);
    let (u, v) = to_unit(lon, lat);
    let max = f64::from(n - 1);
    // `as` maps NaN to 0; the clamp keeps the rest on the grid.
    let index = |w: f64| (w * f64::from(n)).floor().clamp(0.0, max) as u32;
    TileCoord {
        z,
        x: index(u),
        y: index(v),
    }
}

/// Longitude/latitude to EPSG:3857 metres (latitude clamped to ±85.0511).
#[must_use]
pub fn lonlat_to_mercator(lon: f64, lat: f64) -> (f64, f64) {
    let (u, v) = to_unit(lon, lat);
    let half = PI * EARTH_RADIUS;
    (u * 2.0 * half - half, half - v * 2.0 * half)
}

/// EPSG:3857 metres to longitude/latitude.
#[must_use]
pub fn mercator_to_lonlat(x: f64, y: f64) -> (f64, f64) {
    let half = PI * EARTH_RADIUS;
    from_unit((x + half) / (2.0 * half), (half - y) / (2.0 * half))
}

/// Projects longitude/latitude into one tile's coordinate space: `0..extent`
/// across the tile, y pointing down. Built once per tile so that the
/// per-vertex work is one multiply-add per axis after the Mercator formula.
///
/// ```
/// use agrimap_tiles::{TileCoord, TileProjector, tile_bounds};
/// let t = TileCoord::new(14, 13006, 7733).expect("valid");
/// let p = TileProjector::new(t, 4096);
/// let nw = tile_bounds(t);
/// let (x, y) = p.project(nw.min().x, nw.max().y);
/// assert!(x.abs() < 1e-6 && y.abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TileProjector {
    /// Tile units across the whole world: `extent * 2^z`.
    scale: f64,
    /// The tile's north-west corner in world tile units.
    origin_x: f64,
    origin_y: f64,
}

impl TileProjector {
    /// A projector for tile `t` with `extent` units per side (0 is treated as 1).
    #[must_use]
    pub fn new(t: TileCoord, extent: u32) -> Self {
        let extent = f64::from(extent.max(1));
        Self {
            scale: extent * f64::from(tiles_per_side(t.z)),
            origin_x: f64::from(t.x) * extent,
            origin_y: f64::from(t.y) * extent,
        }
    }

    /// Longitude/latitude to tile units.
    #[must_use]
    pub fn project(&self, lon: f64, lat: f64) -> (f64, f64) {
        let (u, v) = to_unit(lon, lat);
        (u * self.scale - self.origin_x, v * self.scale - self.origin_y)
    }

    /// [`Self::project`] for a `geo` coordinate (x = longitude).
    #[must_use]
    pub fn project_coord(&self, c: Coord<f64>) -> Coord<f64> {
        let (x, y) = self.project(c.x, c.y);
        coord! { x: x, y: y }
    }

    /// Tile units back to longitude/latitude.
    #[must_use]
    pub fn unproject(&self, x: f64, y: f64) -> (f64, f64) {
        from_unit((x + self.origin_x) / self.scale, (y + self.origin_y) / self.scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, eps: f64) -> bool {
        (a - b).abs() <= eps
    }

    #[test]
    fn world_tile_covers_the_mercator_world() {
        let b = tile_bounds(TileCoord::new(0, 0, 0).expect("valid"));
        assert!(close(b.min().x, -180.0, 1e-12), "{b:?}");
        assert!(close(b.max().x, 180.0, 1e-12), "{b:?}");
        assert!(close(b.min().y, -85.0511, 1e-4), "{b:?}");
        assert!(close(b.max().y, 85.0511, 1e-4), "{b:?}");
        assert!(close(b.max().y, MAX_LATITUDE, 1e-9), "{b:?}");
    }

    #[test]
    fn quadrants_at_zoom_one_meet_at_the_origin() {
        let nw = tile_bounds(TileCoord::new(1, 0, 0).expect("valid"));
        let se = tile_bounds(TileCoord::new(1, 1, 1).expect("valid"));
        assert!(close(nw.max().x, 0.0, 1e-12) && close(nw.min().y, 0.0, 1e-12), "{nw:?}");
        assert!(close(se.min().x, 0.0, 1e-12) && close(se.max().y, 0.0, 1e-12), "{se:?}");
        assert!(close(se.min().y, -MAX_LATITUDE, 1e-9), "{se:?}");
    }

    #[test]
    fn can_tho_tile_at_zoom_14() {
        let (lon, lat) = (105.78, 10.03);
        let t = tile_containing(lon, lat, 14);
        // Independent check with the textbook OpenStreetMap formula.
        let n = 16384.0_f64;
        let x = ((lon + 180.0) / 360.0 * n).floor();
        let phi = lat.to_radians();
        let y = ((1.0 - (phi.tan() + 1.0 / phi.cos()).ln() / PI) / 2.0 * n).floor();
        assert_eq!((t.z, f64::from(t.x), f64::from(t.y)), (14, x, y));
        assert_eq!((t.x, t.y), (13006, 7733));

        let bounds = tile_bounds(t);
        assert!(bounds.min().x <= lon && lon < bounds.max().x, "{bounds:?}");
        assert!(bounds.min().y < lat && lat <= bounds.max().y, "{bounds:?}");
        // About 2.4 km across at this zoom.
        assert!(close(bounds.width(), 360.0 / n, 1e-12));

        // The point projects inside the tile and comes back where it started.
        let projector = TileProjector::new(t, 4096);
        let (px, py) = projector.project(lon, lat);
        assert!((0.0..4096.0).contains(&px) && (0.0..4096.0).contains(&py), "{px} {py}");
        let (lon2, lat2) = projector.unproject(px, py);
        assert!(close(lon, lon2, 1e-9) && close(lat, lat2, 1e-9), "{lon2} {lat2}");
    }

    #[test]
    fn project_unproject_round_trip_and_corners() {
        let t = TileCoord::new(16, 52_026, 30_933).expect("valid");
        let p = TileProjector::new(t, 4096);
        let b = tile_bounds(t);
        let (x0, y0) = p.project(b.min().x, b.max().y);
        let (x1, y1) = p.project(b.max().x, b.min().y);
        assert!(close(x0, 0.0, 1e-6) && close(y0, 0.0, 1e-6), "{x0} {y0}");
        assert!(close(x1, 4096.0, 1e-6) && close(y1, 4096.0, 1e-6), "{x1} {y1}");
        for (x, y) in [(0.0, 0.0), (17.25, 4000.5), (-64.0, 4160.0), (2048.0, 2048.0)] {
            let (lon, lat) = p.unproject(x, y);
            let (x2, y2) = p.project(lon, lat);
            assert!(close(x, x2, 1e-6) && close(y, y2, 1e-6), "{x},{y} -> {x2},{y2}");
        }
    }

    #[test]
    fn latitude_is_clamped() {
        let p = TileProjector::new(TileCoord::new(0, 0, 0).expect("valid"), 4096);
        let (_, top) = p.project(0.0, 90.0);
        let (_, bottom) = p.project(0.0, -90.0);
        assert!(close(top, 0.0, 1e-6) && close(bottom, 4096.0, 1e-6), "{top} {bottom}");
        assert_eq!(tile_containing(0.0, 89.0, 3).y, 0);
        assert_eq!(tile_containing(0.0, -89.0, 3).y, 7);
        assert_eq!(tile_containing(180.0, 0.0, 3).x, 7);
    }

    #[test]
    fn buffered_bounds_grow_by_the_buffer() {
        let t = TileCoord::new(12, 3251, 1933).expect("valid");
        let plain = tile_bounds(t);
        let grown = tile_bounds_buffered(t, 64, 4096);
        let margin = plain.width() * 64.0 / 4096.0;
        assert!(close(grown.min().x, plain.min().x - margin, 1e-12));
        assert!(close(grown.max().x, plain.max().x + margin, 1e-12));
        assert!(grown.min().y < plain.min().y && grown.max().y > plain.max().y);
        let p = TileProjector::new(t, 4096);
        let (x, y) = p.project(grown.min().x, grown.min().y);
        assert!(close(x, -64.0, 1e-6) && close(y, 4160.0, 1e-6), "{x} {y}");
    }

    #[test]
    fn mercator_metres() {
        let (x, y) = lonlat_to_mercator(180.0, MAX_LATITUDE);
        assert!(close(x, 20_037_508.342_789_244, 1e-6), "{x}");
        assert!(close(y, 20_037_508.342_789_244, 1e-3), "{y}");
        let (x, y) = lonlat_to_mercator(105.78, 10.03);
        assert!(close(x, EARTH_RADIUS * 105.78_f64.to_radians(), 1e-6), "{x}");
        assert!(close(x, 11_775_375.74, 0.01), "{x}");
        let (lon, lat) = mercator_to_lonlat(x, y);
        assert!(close(lon, 105.78, 1e-9) && close(lat, 10.03, 1e-9), "{lon} {lat}");
        assert_eq!(lonlat_to_mercator(0.0, 0.0), (0.0, 0.0));
    }

    #[test]
    fn invalid_coordinates_are_rejected_with_reasons() {
        let msg = |z, x, y| TileCoord::new(z, x, y).expect_err("invalid").to_string();
        assert_eq!(msg(8, 300, 0), "x 300 is out of range at zoom 8 (0..=255)");
        assert_eq!(msg(3, 0, 8), "y 8 is out of range at zoom 3 (0..=7)");
        assert_eq!(msg(23, 0, 0), "zoom 23 is out of range (0..=22)");
        assert_eq!(msg(0, 1, 0), "x 1 is out of range at zoom 0 (0..=0)");
        assert_eq!(
            TileCoord::new(22, 4_194_303, 4_194_303).map(|t| t.to_string()),
            Ok("22/4194303/4194303".to_owned())
        );
    }
}
