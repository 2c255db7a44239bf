//! Getting agrimap's layers in and out of the GIS world: coordinate reference
//! systems (VN-2000 and its provincial zones) and importing the files
//! departments keep. Only this crate links GDAL, behind the `gdal` feature.
//!
//! - [`crs`]: the coordinate reference systems agrimap offers (CRS84, EPSG:4326,
//!   VN-2000 UTM and TM-3 zones) and transformations between them in pure Rust,
//!   with VN-2000's official shift.
//! - [`import`]: a vector file (Shapefile, GeoPackage, GeoJSON, KML, CSV,
//!   MapInfo TAB, DGN, ... through GDAL; GeoJSON and CSV in WGS 84 without it)
//!   into one layer of a store, in one transaction, with a report of every
//!   record that could not be used.
//! - [`export`]: a selection of a layer out to GeoJSON, CSV (pure Rust) or,
//!   through GDAL's `ogr2ogr`, GeoPackage, zipped Shapefile, KML, FlatGeobuf.

pub mod crs;
pub mod export;
pub mod import;
