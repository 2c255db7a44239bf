//! The agrimap data model: what layers exist, what their fields are, and the
//! plain values the rest of the workspace passes around. Nothing here does I/O.
//!
//! - [`catalog`]: the layer catalog (base map and themes) with typed schemas.
//! - [`schema`]: field and layer definitions, including which fields are restricted.
//! - [`feature`]: a feature (geometry plus typed attribute values).
//! - [`filter`]: an attribute/spatial filter that stores translate into queries.
//! - [`cql2`]: CQL2 text filters (OGC API – Features – Part 3) read into a [`Filter`].
//! - [`admin`]: boundary sets and commune identity across the 2025 reorganisation.
//! - [`search`]: folding Vietnamese text for searching names.
//! - [`role`]: the roles an API token carries.
//! - [`utc_time`]: the instant of a reading, to the second, in UTC.
//! - [`registry`]: producers, products and growing areas for traceability.
//! - [`alerts`]: changes of station states, silence, and subscriptions to them.

pub mod admin;
pub mod alerts;
pub mod calendar;
pub mod catalog;
pub mod codes;
pub mod cql2;
pub mod crop_stage;
pub mod feature;
pub mod filter;
pub mod ntm;
pub mod pests;
pub mod readings;
pub mod registry;
pub mod rfc3339;
pub mod role;
pub mod schema;
pub mod search;
pub mod utc_time;

pub use admin::{BoundarySet, CommuneKey};
pub use catalog::{catalog, layer};
pub use codes::{Code, CodeLists};
pub use feature::{Feature, Reading, Value};
pub use filter::{CompareOp, FeatureQuery, Filter, FilterError};
pub use role::Role;
pub use schema::{Access, Audience, Coalescing, FieldDef, FieldType, GeometryKind, LEGIBLE_ZOOM, LayerDef, LayerGroup};
pub use utc_time::UtcTime;

/// Shortens a client's text for an error message, so that an error never
/// echoes a whole (possibly huge) input back: at most `max` characters,
/// with `…` when cut. The one way every crate of the workspace does it.
#[must_use]
pub fn echo(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::echo;

    #[test]
    fn echo_keeps_short_text_and_cuts_long_text_on_a_character() {
        assert_eq!(echo("Mỹ Xương", 64), "Mỹ Xương");
        assert_eq!(echo("Mỹ Xương", 2), "Mỹ…");
        assert_eq!(echo("", 3), "");
    }
}
