//! Feature queries and attribute filters.
//!
//! A [`Filter`] is a small expression tree over a layer's fields. Stores turn
//! it into their own query language with values as bind parameters; field
//! names are checked against the catalog first ([`Filter::validate`]), so a
//! name from a request never reaches SQL unchecked, and so are the values'
//! types, so that both stores answer a filter the same way. Filters from
//! requests are usually read from CQL2 text ([`crate::cql2`]).

use crate::feature::Value;
use crate::schema::{Audience, FieldType, LayerDef};
use geo::{CoordsIter, Geometry, Rect};

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
    /// A CQL2 `LIKE` pattern on a text field: `%` matches any run of
    /// characters, `_` exactly one, `\` makes the next character literal.
    /// Matching is case-sensitive in both stores.
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
    /// The feature's bounding box meets the rectangle (longitude/latitude),
    /// as the stores index it: what `bbox` selects.
    Intersects(Rect<f64>),
    /// The feature's geometry intersects this geometry (longitude/latitude)
    /// exactly, boundaries included: CQL2 `S_INTERSECTS`.
    IntersectsGeometry(Geometry<f64>),
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
    /// Worded exactly like `UnknownField` so that a refused restricted field
    /// cannot be told apart from a missing one by the message.
    #[error("layer '{layer}' has no field '{field}'")]
    NotPermitted { layer: String, field: String },
    /// A value or pattern that does not fit its field.
    #[error("layer '{layer}', field '{field}': {reason}")]
    BadValue {
        layer: String,
        field: String,
        reason: String,
    },
    /// A geometry with coordinates that are not finite numbers.
    #[error("a geometry in the filter has coordinates that are not finite numbers")]
    BadGeometry,
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
            Self::Intersects(_) | Self::IntersectsGeometry(_) => {}
            Self::And(parts) | Self::Or(parts) => parts.iter().for_each(|p| p.visit_fields(f)),
            Self::Not(inner) => inner.visit_fields(f),
        }
    }

    /// Checks that every field exists in the layer, that the audience may
    /// read it, and that every value fits its field: text for text, a whole
    /// number for integers, a number for reals, a boolean for booleans,
    /// `YYYY-MM-DD` for dates and `YYYY-MM-DDTHH:MM:SSZ` for timestamps (the
    /// forms both stores compare alike), `LIKE` on text fields only.
    ///
    /// # Errors
    /// The first unknown or non-readable field, or the first misfit value.
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
        result?;
        self.check_values(layer)
    }

    /// The type checks of [`Filter::validate`], once every field is known.
    fn check_values(&self, layer: &LayerDef) -> Result<(), FilterError> {
        let bad = |field: &str, reason: String| FilterError::BadValue {
            layer: layer.id.to_owned(),
            field: field.to_owned(),
            reason,
        };
        let ty = |field: &str| layer.field(field).map_or(FieldType::Text, |f| f.ty);
        let fits = |field: &str, value: &Value| -> Result<(), FilterError> {
            let ok = match (ty(field), value) {
                (FieldType::Text, Value::Text(_))
                | (FieldType::Integer | FieldType::Real, Value::Int(_))
                | (FieldType::Boolean, Value::Bool(_)) => true,
                (FieldType::Real, Value::Real(r)) => r.is_finite(),
                (FieldType::Date, Value::Text(s)) => crate::calendar::is_date(s),
                (FieldType::DateTime, Value::Text(s)) => crate::calendar::is_timestamp(s),
                _ => false,
            };
            if ok {
                Ok(())
            } else {
                Err(bad(
                    field,
                    format!("{value:?} is not a value of a {:?} field", ty(field)),
                ))
            }
        };
        match self {
            Self::Compare { field, value, .. } => fits(field, value),
            Self::In { field, values } => values.iter().try_for_each(|v| fits(field, v)),
            Self::Between { field, low, high } => fits(field, low).and_then(|()| fits(field, high)),
            Self::Like { field, pattern } => {
                if ty(field) != FieldType::Text {
                    return Err(bad(field, "LIKE applies to text fields only".into()));
                }
                let mut escaped = false;
                for c in pattern.chars() {
                    escaped = !escaped && c == '\\';
                }
                if escaped {
                    return Err(bad(field, "the LIKE pattern ends with its escape character".into()));
                }
                Ok(())
            }
            Self::IsNull { .. } => Ok(()),
            Self::Intersects(rect) => {
                let (a, b) = (rect.min(), rect.max());
                if [a.x, a.y, b.x, b.y].iter().all(|v| v.is_finite()) {
                    Ok(())
                } else {
                    Err(FilterError::BadGeometry)
                }
            }
            Self::IntersectsGeometry(g) => {
                if g.coords_iter().all(|c| c.x.is_finite() && c.y.is_finite()) {
                    Ok(())
                } else {
                    Err(FilterError::BadGeometry)
                }
            }
            Self::And(parts) | Self::Or(parts) => parts.iter().try_for_each(|p| p.check_values(layer)),
            Self::Not(inner) => inner.check_values(layer),
        }
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
    /// Features whose `boundary_set` is this set: a commune code means a
    /// commune only together with its set.
    pub boundary_set: Option<crate::BoundarySet>,
    /// The provinces whose features `filter` selects, when it does
    /// (`province=`, with the provinces merged into it): a hint, never a
    /// condition of its own, that lets a store partitioned by province read
    /// their partitions only. The filter decides which features match.
    /// Empty: no hint.
    pub provinces: Vec<String>,
    pub filter: Option<Filter>,
    /// Skip this many features (in feature-id order).
    pub offset: usize,
    /// At most this many features; `None` for all.
    pub limit: Option<usize>,
    /// The caller needs no feature-id order (tiles): the store may return rows
    /// as it finds them and skip a sort. Paging always needs the order.
    pub any_order: bool,
    /// Who reads the answer: restricted fields come back as `Null` for the
    /// public (the store does not even read them), and a filter on them is refused.
    pub audience: Audience,
    /// Read only these fields; the others come back as `Null`, unread
    /// (tiles that draw a layer by its class need nothing else). `None`:
    /// every field the audience may read.
    pub fields: Option<&'static [&'static str]>,
    /// Read the layer as it stood at this instant (inclusive: a change made
    /// at the instant is seen): the versions valid then, with the same
    /// bbox, commune, filter and audience rules as the current features.
    /// Only versioned layers ([`LayerDef::versioned`]) keep their past;
    /// the others are read as they are now. `None`: the current features.
    pub as_of: Option<crate::UtcTime>,
    /// How many features the query matches, when the caller has counted
    /// them (an `/ogc` page): a hint for the store's plan, never a
    /// condition. A page of a box holding few features is better read
    /// through the spatial index and sorted than found by walking the id
    /// order past every feature outside the box.
    pub matches: Option<u64>,
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
        // The same words for a field that does not exist and one that may not be read.
        let (Err(r), Err(u)) = (
            Filter::eq("owner_phone", "0900").validate(crop, Audience::Public),
            Filter::eq("owner_phoni", "0900").validate(crop, Audience::Public),
        ) else {
            panic!("both refused");
        };
        assert_eq!(
            r.to_string().replace("owner_phone", "X"),
            u.to_string().replace("owner_phoni", "X")
        );
    }

    #[test]
    fn validate_checks_values_against_field_types() {
        let crop = layer("crop").expect("crop layer");
        let ok = |f: Filter| assert_eq!(f.validate(crop, Audience::Public), Ok(()), "{f:?}");
        let bad = |f: Filter| {
            assert!(
                matches!(f.validate(crop, Audience::Public), Err(FilterError::BadValue { .. })),
                "{f:?}"
            );
        };
        let cmp = |field: &str, value: Value| Filter::Compare {
            field: field.into(),
            op: CompareOp::Ge,
            value,
        };
        ok(cmp("area_ha", Value::Int(1)));
        ok(cmp("area_ha", Value::Real(0.5)));
        ok(cmp("planting_date", "2026-10-01".into()));
        bad(cmp("planting_date", "2026-10-01T00:00:00Z".into()));
        bad(cmp("planting_date", "2026-02-30".into()));
        bad(cmp("area_ha", "1".into()));
        bad(cmp("area_ha", Value::Real(f64::NAN)));
        bad(cmp("crop_type", Value::Int(1)));
        bad(cmp("crop_type", Value::Null));
        bad(Filter::Like {
            field: "area_ha".into(),
            pattern: "1%".into(),
        });
        bad(Filter::Like {
            field: "variety".into(),
            pattern: "ST\\".into(),
        });
        ok(Filter::Like {
            field: "variety".into(),
            pattern: "ST\\\\".into(),
        });
        let monitoring = layer("monitoring").expect("monitoring layer");
        let at = |s: &str| cmp("last_reading_at", s.into()).validate(monitoring, Audience::Public);
        assert_eq!(at("2026-11-01T07:00:00Z"), Ok(()));
        assert!(at("2026-11-01T07:00:00.5Z").is_err());
        assert!(at("2026-11-01 07:00:00Z").is_err());
        assert!(at("2026-11-01").is_err());
    }
}
