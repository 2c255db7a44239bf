//! What a reader hands over: the file's field names and its records, each
//! with its own identifier in the file, its geometry already in WGS 84
//! longitude/latitude, and its values as the file typed them.

use geo::Geometry;

/// One attribute value as read from the file.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceValue {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    /// `YYYY-MM-DD`.
    Date(String),
    /// ISO 8601 with its offset.
    DateTime(String),
}

/// One record of the file.
#[derive(Debug, Clone)]
pub struct SourceRecord {
    /// The record's identifier in the file (GDAL's FID, a GeoJSON `id` or
    /// position, a CSV line), for the report.
    pub fid: String,
    /// The geometry in EPSG:4326 (x = longitude), or why there is none.
    pub geometry: Result<Geometry<f64>, String>,
    /// What was repaired in the geometry, if anything.
    pub repaired: Option<String>,
    /// Values in the order of [`SourceData::fields`].
    pub values: Vec<SourceValue>,
}

/// A whole file, read.
#[derive(Debug, Clone, Default)]
pub struct SourceData {
    /// Field names as the file spells them.
    pub fields: Vec<String>,
    pub records: Vec<SourceRecord>,
    /// The CRS the file was read in (`EPSG:3405`, `EPSG:4326`, ...).
    pub crs: String,
    /// The reader that read it (`GeoJSON`, `ESRI Shapefile`, `CSV`, ...).
    pub format: String,
}
