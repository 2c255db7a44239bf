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
