//! Translation of a [`FeatureQuery`] into a SQL `WHERE` clause with bind
//! parameters. Column names come from the catalog (never from the request);
//! values only ever travel as parameters.

use agrimap_model::{FeatureQuery, FieldType, Filter, LayerDef, Value};
use geo::Rect;

use crate::StoreError;

/// How a backend spells what differs between SQL dialects.
pub(crate) trait Dialect {
    /// The placeholder of the `n`th parameter (counting from 1) holding
    /// `value`, compared with a column of type `column` when there is one.
    fn placeholder(n: usize, value: &Value, column: Option<FieldType>) -> String;
    /// A condition selecting features whose bounding box intersects `rect`
    /// (and, with `min_extent`, is at least that large in one direction).
    fn bbox_condition(layer: &LayerDef, rect: Rect<f64>, min_extent: Option<f64>, w: &mut WhereClause) -> String;
    /// A column expression as text, for `LIKE` on any column type.
    fn as_text(column: &str) -> String {
        column.to_owned()
    }
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

    /// ` WHERE a AND b`, or nothing.
    pub fn sql(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }
}

/// Builds the `WHERE` clause of a query on a layer.
pub(crate) fn where_clause<D: Dialect>(layer: &LayerDef, query: &FeatureQuery) -> Result<WhereClause, StoreError> {
    let mut w = WhereClause::default();
    if let Some(rect) = query.bbox {
        let min_extent = query
            .min_extent
            .filter(|_| layer.geometry != agrimap_model::GeometryKind::Point);
        let c = D::bbox_condition(layer, rect, min_extent, &mut w);
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
    if let Some(filter) = &query.filter {
        filter.validate(layer, query.audience)?;
        let c = filter_sql::<D>(layer, filter, &mut w);
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

fn filter_sql<D: Dialect>(layer: &LayerDef, filter: &Filter, w: &mut WhereClause) -> String {
    match filter {
        Filter::Compare { field, op, value } => {
            let p = w.bind_for::<D>(value.clone(), field_type(layer, field));
            format!("{} {} {p}", column(layer, field), op.sql())
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
        Filter::Like { field, pattern } => {
            let p = w.bind::<D>(Value::Text(pattern.clone()));
            format!("{} LIKE {p}", D::as_text(&column(layer, field)))
        }
        Filter::Between { field, low, high } => {
            let lo = w.bind_for::<D>(low.clone(), field_type(layer, field));
            let hi = w.bind_for::<D>(high.clone(), field_type(layer, field));
            format!("{} BETWEEN {lo} AND {hi}", column(layer, field))
        }
        Filter::IsNull { field } => format!("{} IS NULL", column(layer, field)),
        Filter::Intersects(rect) => D::bbox_condition(layer, *rect, None, w),
        Filter::And(parts) => join::<D>(layer, parts, " AND ", "1 = 1", w),
        Filter::Or(parts) => join::<D>(layer, parts, " OR ", "1 = 0", w),
        Filter::Not(inner) => format!("NOT ({})", filter_sql::<D>(layer, inner, w)),
    }
}

fn join<D: Dialect>(layer: &LayerDef, parts: &[Filter], sep: &str, empty: &str, w: &mut WhereClause) -> String {
    if parts.is_empty() {
        return empty.to_owned();
    }
    let sql: Vec<String> = parts
        .iter()
        .map(|p| format!("({})", filter_sql::<D>(layer, p, w)))
        .collect();
    sql.join(sep)
}
