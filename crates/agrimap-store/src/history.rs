//! The past of the versioned layers ([`LayerDef::versioned`]), as both
//! stores keep it.
//!
//! A layer's table holds its current features, each with the instant it
//! took its present form (`valid_from`; `NULL` for a feature stored before
//! the store kept versions: "since ever, as far as the store knows"). When a
//! feature is updated or deleted, the database itself (a trigger, so every
//! write path, an editor in QGIS included, is covered, in the write's own
//! transaction) copies the version it replaces into `{layer}_history` with
//! the same columns plus `valid_to`, the instant it stopped being true.
//! Current-state reads (tiles, statistics) never look at the history.
//!
//! The instant a write takes effect is the store's write clock: the time a
//! write gives ([`crate::WriteBatch::valid_from`], [`crate::Change::at`]),
//! else now, to the second. The GeoPackage keeps it in a one-row table
//! (`agrimap_valid_time`) for the transaction's length; PostGIS in the
//! transaction's `agrimap.valid_time` setting; without either (another
//! program's edit) the triggers take the current time.
//!
//! A query with `as_of = T` reads the current features with
//! `valid_from <= T` and the past versions with `valid_from <= T < valid_to`,
//! as one `UNION ALL`, with the same conditions on both halves.

use crate::sql::{Dialect, where_clause_on};
use crate::{StoreError, WriteBatch};
use agrimap_model::{Feature, FeatureQuery, FieldType, LayerDef, UtcTime, Value};
use std::collections::BTreeMap;

/// A version of a feature that an update or delete replaced: the feature
/// as it was (its `id` the fid it had) and when it was true.
#[derive(Debug, Clone, PartialEq)]
pub struct PastVersion {
    pub feature: Feature,
    /// `None`: since ever, as far as the store knew.
    pub valid_from: Option<UtcTime>,
    pub valid_to: UtcTime,
}

/// A versioned layer's timeline as a store keeps it: when each current
/// feature took its present form, and the versions that were replaced.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerTimeline {
    pub layer: &'static LayerDef,
    /// By feature id; a feature not listed has been as it is since ever.
    pub since: BTreeMap<i64, UtcTime>,
    /// Oldest kept first.
    pub versions: Vec<PastVersion>,
}

/// The timeline `batch` gives `layer`, if any.
pub(crate) fn timeline_of<'b>(batch: &'b WriteBatch, layer: &LayerDef) -> Option<&'b LayerTimeline> {
    batch.timelines.iter().find(|t| t.layer.id == layer.id)
}

/// Checks that every timeline of `batch` goes with a `replace` of its
/// versioned layer.
pub(crate) fn check_timelines(batch: &WriteBatch) -> Result<(), StoreError> {
    for t in &batch.timelines {
        let whole = batch.layers.iter().any(|w| w.layer.id == t.layer.id && w.replace);
        if !t.layer.versioned() || !whole {
            return Err(StoreError::TimelineWithoutLayer(t.layer.id.to_owned()));
        }
    }
    Ok(())
}

/// Which rows of a layer a condition is written for: they differ only in
/// how the GeoPackage's R-trees are keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rows {
    /// The layer's table: its current features.
    Current,
    /// `{layer}_history`: its past versions.
    History,
}

/// The table of a layer's past versions.
pub(crate) fn history_table(layer: &LayerDef) -> String {
    format!("{}_history", layer.id)
}

/// One `SELECT` of `columns` over the rows matching `query` (with ids above
/// `after`, when given), without order or limit: the current features, or,
/// with `as_of` on a versioned layer, the versions valid then.
pub(crate) fn rows_sql<D: Dialect>(
    layer: &LayerDef,
    query: &FeatureQuery,
    columns: &str,
    after: Option<i64>,
) -> Result<(String, Vec<Value>), StoreError> {
    let mut w = where_clause_on::<D>(layer, query, Rows::Current, Vec::new())?;
    if let Some(after) = after {
        let p = w.bind::<D>(Value::Int(after));
        w.conditions.push(format!("fid > {p}"));
    }
    let Some(at) = query.as_of.filter(|_| layer.versioned()) else {
        return Ok((
            format!("SELECT {columns} FROM {}{}", D::table(layer.id), w.sql()),
            w.params,
        ));
    };
    let t = w.bind_for::<D>(Value::Text(at.to_string()), Some(FieldType::DateTime));
    let began = format!("(valid_from IS NULL OR valid_from <= {t})");
    w.conditions.push(began.clone());
    let current = format!("SELECT {columns} FROM {}{}", D::table(layer.id), w.sql());
    let mut h = where_clause_on::<D>(layer, query, Rows::History, w.params)?;
    if let Some(after) = after {
        let p = h.bind::<D>(Value::Int(after));
        h.conditions.push(format!("fid > {p}"));
    }
    h.conditions.push(began);
    h.conditions.push(format!("valid_to > {t}"));
    let past = format!("SELECT {columns} FROM {}{}", D::table(&history_table(layer)), h.sql());
    Ok((format!("{current} UNION ALL {past}"), h.params))
}
