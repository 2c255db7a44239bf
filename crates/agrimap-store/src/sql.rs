//! Translation of a [`FeatureQuery`] into a SQL `WHERE` clause with bind
//! parameters. Column names come from the catalog (never from the request);
//! values only ever travel as parameters, geometries as hexadecimal WKB text.
//!
//! Where SQLite and PostgreSQL would answer differently, the dialects make
//! them agree: `LIKE` is case-sensitive in both (SQLite matches with `GLOB`,
//! which is), text orders by code point in both (PostgreSQL compares with the
//! `"C"` collation), and spatial intersection is exact in both (PostGIS
//! `ST_Intersects`, and the GeoPackage store's own `ST_Intersects` in Rust).

use agrimap_model::{CompareOp, FeatureQuery, FieldType, Filter, LayerDef, Value};
use geo::{Geometry, Rect};

use crate::{Rows, StoreError};

/// How a backend spells what differs between SQL dialects.
pub(crate) trait Dialect {
    /// The placeholder of the `n`th parameter (counting from 1) holding
    /// `value`, compared with a column of type `column` when there is one.
    fn placeholder(n: usize, value: &Value, column: Option<FieldType>) -> String;
    /// A condition selecting features whose bounding box intersects `rect`
    /// (and, with `min_extent`, is at least that large in one direction).
    fn bbox_condition(
        layer: &LayerDef,
        rows: Rows,
        rect: Rect<f64>,
        min_extent: Option<f64>,
        w: &mut WhereClause,
    ) -> String;
    /// A condition selecting features whose geometry intersects `geometry`
    /// exactly (boundaries included).
    fn intersects_condition(layer: &LayerDef, rows: Rows, geometry: &Geometry<f64>, w: &mut WhereClause) -> String;
    /// A condition: the text `column` matches the CQL2 `LIKE` pattern
    /// (`%`, `_`, `\` escapes), case-sensitively.
    fn like_condition(column: &str, pattern: &str, w: &mut WhereClause) -> String;
    /// A table of the catalog's naming (a plain lower-case identifier) as
    /// the backend writes it.
    fn table(name: &str) -> String {
        format!("\"{name}\"")
    }
    /// A text column as compared by `<`, `<=`, `>`, `>=`: by code point.
    fn text_order(column: &str) -> String {
        column.to_owned()
    }
    /// A condition that confines a read to the rows stored under the
    /// province `codes` (see [`FeatureQuery::provinces`]), for a backend
    /// that stores rows by province; `None` (the default) where nothing is.
    fn province_condition(_layer: &LayerDef, _rows: Rows, _codes: &[String], _w: &mut WhereClause) -> Option<String> {
        None
    }
}

/// Lower-case hexadecimal of some bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A CQL2 `LIKE` pattern as an SQLite `GLOB` pattern, which matches the same
/// strings case-sensitively: `%` becomes `*`, `_` becomes `?`, and a literal
/// `*`, `?` or `[` is bracketed.
pub(crate) fn like_to_glob(pattern: &str) -> String {
    let mut glob = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        let literal = match c {
            '%' => {
                glob.push('*');
                continue;
            }
            '_' => {
                glob.push('?');
                continue;
            }
            // Validation refuses a trailing escape; keep one as a literal backslash anyway.
            '\\' => chars.next().unwrap_or('\\'),
            other => other,
        };
        match literal {
            '*' | '?' | '[' => {
                glob.push('[');
                glob.push(literal);
                glob.push(']');
            }
            other => glob.push(other),
        }
    }
    glob
}

/// A `WHERE` clause under construction.
#[derive(Debug, Default)]
pub(crate) struct WhereClause {
    pub conditions: Vec<String>,
    pub params: Vec<Value>,
}

impl WhereClause {
    /// Adds a parameter and returns its placeholder.
    pub fn bind<D: Dialect>(&mut self, value: Value) -> String {
        self.bind_for::<D>(value, None)
    }

    /// Adds a parameter compared with a column of the given type.
    pub fn bind_for<D: Dialect>(&mut self, value: Value, column: Option<FieldType>) -> String {
        let p = D::placeholder(self.params.len() + 1, &value, column);
        self.params.push(value);
        p
    }

    /// ` WHERE (a) AND (b)`, or nothing. Each condition is parenthesised:
    /// a filter whose top is `OR` must not escape the others.
    pub fn sql(&self) -> String {
        if self.conditions.is_empty() {
            return String::new();
        }
        let each: Vec<String> = self.conditions.iter().map(|c| format!("({c})")).collect();
        format!(" WHERE {}", each.join(" AND "))
    }
}

/// ` ORDER BY fid` unless the caller takes rows in any order (tiles):
/// on a large tile the sort alone can spill to disk.
pub(crate) fn order_by(query: &FeatureQuery) -> &'static str {
    if query.any_order && query.limit.is_none() && query.offset == 0 {
        ""
    } else {
        " ORDER BY fid"
    }
}

/// Builds the `WHERE` clause of a query on a layer's current features or
/// on its past versions, numbering its parameters after `params`.
pub(crate) fn where_clause_on<D: Dialect>(
    layer: &LayerDef,
    query: &FeatureQuery,
    rows: Rows,
    params: Vec<Value>,
) -> Result<WhereClause, StoreError> {
    let mut w = WhereClause {
        conditions: Vec::new(),
        params,
    };
    if let Some(rect) = query.bbox {
        let min_extent = query.min_extent.filter(|_| layer.geometry.has_extent());
        let c = D::bbox_condition(layer, rows, rect, min_extent, &mut w);
        w.conditions.push(c);
    }
    if let Some(code) = &query.commune {
        if !layer.has_commune() {
            return Err(agrimap_model::FilterError::UnknownField {
                layer: layer.id.to_owned(),
                field: "commune_code".to_owned(),
            }
            .into());
        }
        let p = w.bind::<D>(Value::Text(code.clone()));
        w.conditions.push(format!("commune_code = {p}"));
    }
    if let Some(set) = query.boundary_set {
        if layer.field_index("boundary_set").is_none() {
            return Err(agrimap_model::FilterError::UnknownField {
                layer: layer.id.to_owned(),
                field: "boundary_set".to_owned(),
            }
            .into());
        }
        let p = w.bind::<D>(Value::Text(set.as_str().to_owned()));
        w.conditions.push(format!("boundary_set = {p}"));
    }
    if !query.provinces.is_empty()
        && let Some(c) = D::province_condition(layer, rows, &query.provinces, &mut w)
    {
        w.conditions.push(c);
    }
    if let Some(filter) = &query.filter {
        filter.validate(layer, query.audience)?;
        crate::filter_shape::check_filter_cost(layer, filter)?;
        let c = filter_sql::<D>(layer, rows, filter, &mut w);
        w.conditions.push(c);
    }
    Ok(w)
}

fn field_type(layer: &LayerDef, name: &str) -> Option<FieldType> {
    layer.field(name).map(|f| f.ty)
}

/// The catalog's spelling of a field name, quoted. `validate` has already
/// checked that the field exists.
fn column(layer: &LayerDef, name: &str) -> String {
    let field = layer.field(name).map_or("\u{0}invalid", |f| f.name);
    format!("\"{field}\"")
}

/// A column as ordered by `<`, `>` and `BETWEEN`: text by code point.
fn ordered_column<D: Dialect>(layer: &LayerDef, name: &str) -> String {
    let col = column(layer, name);
    if field_type(layer, name) == Some(FieldType::Text) {
        D::text_order(&col)
    } else {
        col
    }
}

fn filter_sql<D: Dialect>(layer: &LayerDef, rows: Rows, filter: &Filter, w: &mut WhereClause) -> String {
    match filter {
        Filter::Compare { field, op, value } => {
            let p = w.bind_for::<D>(value.clone(), field_type(layer, field));
            let ordered = matches!(op, CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge);
            let col = if ordered {
                ordered_column::<D>(layer, field)
            } else {
                column(layer, field)
            };
            format!("{col} {} {p}", op.sql())
        }
        Filter::In { field, values } if values.is_empty() => {
            let _ = field;
            "1 = 0".to_owned()
        }
        Filter::In { field, values } => {
            let list: Vec<String> = values
                .iter()
                .map(|v| w.bind_for::<D>(v.clone(), field_type(layer, field)))
                .collect();
            format!("{} IN ({})", column(layer, field), list.join(", "))
        }
        Filter::Like { field, pattern } => D::like_condition(&column(layer, field), pattern, w),
        Filter::Between { field, low, high } => {
            let lo = w.bind_for::<D>(low.clone(), field_type(layer, field));
            let hi = w.bind_for::<D>(high.clone(), field_type(layer, field));
            format!("{} BETWEEN {lo} AND {hi}", ordered_column::<D>(layer, field))
        }
        Filter::IsNull { field } => format!("{} IS NULL", column(layer, field)),
        Filter::Intersects(rect) => D::bbox_condition(layer, rows, *rect, None, w),
        Filter::IntersectsGeometry(geometry) => D::intersects_condition(layer, rows, geometry, w),
        Filter::And(parts) => join::<D>(layer, rows, parts, " AND ", "1 = 1", w),
        Filter::Or(parts) => join::<D>(layer, rows, parts, " OR ", "1 = 0", w),
        Filter::Not(inner) => format!("NOT ({})", filter_sql::<D>(layer, rows, inner, w)),
    }
}

fn join<D: Dialect>(
    layer: &LayerDef,
    rows: Rows,
    parts: &[Filter],
    sep: &str,
    empty: &str,
    w: &mut WhereClause,
) -> String {
    if parts.is_empty() {
        return empty.to_owned();
    }
    let sql: Vec<String> = parts
        .iter()
        .map(|p| format!("({})", filter_sql::<D>(layer, rows, p, w)))
        .collect();
    sql.join(sep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_become_globs_matching_the_same_strings() {
        assert_eq!(like_to_glob("Nước%"), "Nước*");
        assert_eq!(like_to_glob("OCOP-99-00__"), "OCOP-99-00??");
        assert_eq!(like_to_glob("100\\% *ok?* [x]"), "100% [*]ok[?][*] [[]x]");
        assert_eq!(like_to_glob("a\\_b\\\\c\\"), "a_b\\c\\");
        assert_eq!(like_to_glob(""), "");
        assert_eq!(hex(&[0, 1, 0xab, 0xff]), "0001abff");
    }
}
