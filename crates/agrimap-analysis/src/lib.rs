//! Zonal statistics of agrimap layers: sums of area, count or a field by
//! commune (rolled up to district and province), several at once, split by
//! one or more class fields, in parallel with rayon.
//!
//! - [`zones`]: the communes in an R-tree, each with a grid of its interior.
//! - [`aggregate`]: one pass over a layer's features into a table by commune and class.
//! - [`area`]: hectares on the WGS 84 ellipsoid.
//! - [`rollup`]: a commune table grouped by district or province.

pub mod aggregate;
pub mod area;
pub mod rollup;
pub mod zones;

pub use aggregate::{CLASS_SEPARATOR, Cell, Metric, Spec, Split, Table, aggregate, class_key, splits, splits_of_all};
pub use rollup::{Level, Row, rollup};
pub use zones::{Zone, Zones};

/// The sum of `values`, 0 for none. Rust's own `Sum` for `f64` starts from
/// −0 (the IEEE neutral element), so an empty sum is −0, which JSON, CSV and
/// spreadsheets print as "-0": a planner's total of nothing is 0.
///
/// ```
/// assert_eq!(agrimap_analysis::total([]).to_string(), "0");
/// assert_eq!(agrimap_analysis::total([1.5, 2.0]), 3.5);
/// ```
pub fn total(values: impl IntoIterator<Item = f64>) -> f64 {
    values.into_iter().fold(0.0, |sum, v| sum + v)
}
