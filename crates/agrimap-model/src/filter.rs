//! Feature queries and attribute filters.
//!
//! A [`Filter`] is a small expression tree over a layer's fields. Stores turn
//! it into their own query language with values as bind parameters; field
//! names are checked against the catalog first ([`Filter::validate`]), so a
//! name from a request never reaches SQL unchecked.

use crate::feature::Value;
use crate::schema::{Audience, LayerDef};
use geo::Rect;

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    /// The SQL spelling, shared by SQLite and PostgreSQL.
    #[must_use]
    pub fn sql(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "<>",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }
}

/// A filter expression over one layer's fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        field: String,
        op: CompareOp,
        value: Value,
    },
    In {
        field: String,
        values: Vec<Value>,
    },
    /// SQL `LIKE` pattern (`%` any run, `_` one character).
    Like {
        field: String,
        pattern: String,
    },
    Between {
        field: String,
        low: Value,
        high: Value,
    },
    IsNull {
        field: String,
    },
    /// The feature's geometry intersects the rectangle (longitude/latitude).
    Intersects(Rect<f64>),
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
}

/// Why a filter cannot be used on a layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    #[error("layer '{layer}' has no field '{field}'")]
    UnknownField { layer: String, field: String },
    /// Deliberately worded like `UnknownField`'s cause so that a refused
    /// restricted field cannot be told apart from a missing one by content.
    #[error("field '{field}' cannot be used in a filter on layer '{layer}'")]
    NotPermitted { layer: String, field: String },
}

impl Filter {
    /// Convenience constructor for `field = value`.
    #[must_use]
    pub fn eq(field: &str, value: impl Into<Value>) -> Self {
        Self::Compare {
            field: field.to_owned(),
            op: CompareOp::Eq,
            value: value.into(),
        }
    }

    /// Calls `f` with every field name the filter mentions.
    pub fn visit_fields<'a>(&'a self, f: &mut impl FnMut(&'a str)) {
        match self {
            Self::Compare { field, .. }
            | Self::In { field, .. }
            | Self::Like { field, .. }
            | Self::Between { field, .. }
            | Self::IsNull { field } => f(field),
            Self::Intersects(_) => {}
            Self::And(parts) | Self::Or(parts) => parts.iter().for_each(|p| p.visit_fields(f)),
            Self::Not(inner) => inner.visit_fields(f),
        }
    }

    /// Checks that every field exists in the layer and that the audience may read it.
    ///
    /// # Errors
    /// The first unknown or non-readable field.
    pub fn validate(&self, layer: &LayerDef, audience: Audience) -> Result<(), FilterError> {
        let mut result = Ok(());
        self.visit_fields(&mut |name| {
            if result.is_err() {
                return;
            }
            result = match layer.field(name) {
                None => Err(FilterError::UnknownField {
                    layer: layer.id.to_owned(),
                    field: name.to_owned(),
                }),
                Some(f) if !audience.may_read(f.access) => Err(FilterError::NotPermitted {
                    layer: layer.id.to_owned(),
                    field: name.to_owned(),
                }),
                Some(_) => Ok(()),
            };
        });
        result
    }
}

/// A query for features of one layer: every condition given must hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeatureQuery {
    /// Features whose geometry's bounding box intersects this rectangle.
    pub bbox: Option<Rect<f64>>,
    /// Skip polygons and lines whose bounding box is smaller than this (in
    /// degrees) in both directions: tiles use it to leave out what would be
    /// smaller than a pixel before reading any geometry. Points are never skipped.
    pub min_extent: Option<f64>,
    /// Features whose `commune_code` is this code.
    pub commune: Option<String>,
    pub filter: Option<Filter>,
    /// Skip this many features (in feature-id order).
    pub offset: usize,
    /// At most this many features; `None` for all.
    pub limit: Option<usize>,
    /// Who reads the answer: restricted fields come back as `Null` for the
    /// public (the store does not even read them), and a filter on them is refused.
    pub audience: Audience,
}

impl FeatureQuery {
    /// All features whose bounding box intersects `bbox`.
    #[must_use]
    pub fn in_bbox(bbox: Rect<f64>) -> Self {
        Self {
            bbox: Some(bbox),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::layer;

    #[test]
    fn validate_rejects_unknown_and_restricted_fields() {
        let crop = layer("crop").expect("crop layer");
        let ok = Filter::And(vec![
            Filter::eq("crop_type", "rice"),
            Filter::IsNull {
                field: "variety".into(),
            },
        ]);
        assert_eq!(ok.validate(crop, Audience::Public), Ok(()));

        let unknown = Filter::Not(Box::new(Filter::eq("colour", "red")));
        assert!(matches!(
            unknown.validate(crop, Audience::Public),
            Err(FilterError::UnknownField { .. })
        ));

        let restricted = Filter::Or(vec![Filter::eq("crop_type", "rice"), Filter::eq("owner_phone", "0900")]);
        assert!(matches!(
            restricted.validate(crop, Audience::Public),
            Err(FilterError::NotPermitted { .. })
        ));
        assert_eq!(restricted.validate(crop, Audience::Full), Ok(()));
    }
}
