//! Vector tiles for agrimap: tile arithmetic, clipping, simplification and a
//! hand-written Mapbox Vector Tile 2.1 codec, put together by [`encode_tile`].
//!
//! - [`tile_math`]: `z/x/y` addresses, tile bounds and the Web Mercator
//!   projection into tile units.
//! - [`clip`]: cutting rings, lines and points to the buffered tile.
//! - [`simplify`]: Douglas–Peucker in tile units, rounding to the grid.
//! - [`mvt`]: the MVT wire format, encoder and (hostile-input-safe) decoder.
//! - [`coalesce`]: the union of polygons that share edges on the tile grid.
//! - [`coalesced_layer`]: a dense layer drawn as merged shapes per class
//!   below its legible zoom, within a byte budget.
//! - [`render`]: the per-tile pipeline the server runs.
//!
//! ```
//! use agrimap_model::{Audience, Feature, Value, layer};
//! use agrimap_tiles::{TileOptions, TileProjector, decode, encode_tile, tile_containing};
//! use geo::{Geometry, point};
//!
//! let stations = layer("monitoring").expect("in the catalog");
//! let station = Feature {
//!     id: 31,
//!     geometry: Geometry::Point(point!(x: 105.78, y: 10.03)),
//!     properties: vec![Value::Null; stations.fields.len()],
//! };
//! let tile = tile_containing(105.78, 10.03, 14);
//! let bytes = encode_tile(tile, &[(stations, &[station])], Audience::Public, &TileOptions::default());
//!
//! let feature = &decode(&bytes).expect("valid")[0].features[0];
//! let Geometry::Point(p) = feature.geometry else { panic!("a point") };
//! let (lon, lat) = TileProjector::new(tile, 4096).unproject(p.x(), p.y());
//! assert!((lon - 105.78).abs() < 1e-5 && (lat - 10.03).abs() < 1e-5);
//! assert_eq!(feature.id, Some(31));
//! ```

pub mod clip;
pub mod coalesce;
pub mod coalesced_layer;
pub mod mvt;
pub mod render;
pub mod simplify;
pub mod tile_math;

pub use coalesced_layer::CoalescedLayer;
pub use mvt::{DecodedFeature, DecodedLayer, MvtError, decode};
pub use render::{DEFAULT_COALESCED_LAYER_BYTES, TileOptions, coalescing_at, encode_tile};
pub use tile_math::{
    MAX_ZOOM, TileCoord, TileError, TileProjector, lonlat_to_mercator, mercator_to_lonlat, tile_bounds,
    tile_bounds_buffered, tile_containing,
};
