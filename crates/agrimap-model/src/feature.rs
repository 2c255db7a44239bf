//! Features: a geometry in WGS 84 longitude/latitude and attribute values in
//! the order of the layer's fields.

use serde::Serialize;

/// One attribute value. Dates and times are ISO 8601 text (`2026-03-01`,
/// `2026-03-01T07:00:00Z`), as GeoPackage and GeoJSON keep them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Text(String),
}

impl Value {
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Text(s) => Some(s),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            #[expect(clippy::cast_precision_loss, reason = "attribute integers are far below 2^53")]
            Self::Int(i) => Some(*i as f64),
            Self::Real(r) => Some(*r),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            _ => None,
        }
    }

    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Self::Int(i)
    }
}

impl From<f64> for Value {
    fn from(r: f64) -> Self {
        Self::Real(r)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Self {
        o.map_or(Self::Null, Into::into)
    }
}

/// A feature of one layer. `properties[i]` is the value of `layer.fields[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// Store-assigned identifier, stable for the life of the feature (GeoPackage `fid`).
    pub id: i64,
    /// Geometry in longitude/latitude (EPSG:4326, x = longitude).
    pub geometry: geo::Geometry<f64>,
    pub properties: Vec<Value>,
}

/// One measurement of one parameter by one monitoring station.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reading {
    pub station_id: String,
    /// `salinity`, `ph`, `dissolved_oxygen`, `temperature` or `pest_count`.
    pub parameter: String,
    pub value: f64,
    /// `ppt`, `pH`, `mg/L`, `°C` or `insects`.
    pub unit: String,
    /// When it was measured, in UTC to the second.
    pub time: crate::UtcTime,
}
