//! Adding or updating features by their natural key, in one SQLite
//! transaction: each feature first updates the stored feature with the same
//! key (which keeps its `fid`, so links to it stay valid) and is inserted
//! only when none matched.

use super::{SRS_WGS84, SqlValue, db, on_layer, record_extent, union};
use crate::layer_geometry::fit_to_layer;
use crate::{Change, StoreError, Upsert, UpsertSummary, gpkg_geom};
use geo::{BoundingRect, Rect};
use rusqlite::{Connection, ToSql, Transaction, params_from_iter};

/// Upserts each write in turn, all in one transaction.
pub(super) fn upsert_all(
    conn: &mut Connection,
    writes: &[Upsert],
    zones: &crate::splits::ZonesCache,
) -> Result<Vec<UpsertSummary>, StoreError> {
    let tx = conn.transaction().map_err(|e| db("starting a transaction", e))?;
    super::history::set_clock(&tx, agrimap_model::UtcTime::now())?;
    let summaries = writes
        .iter()
        .map(|write| upsert(&tx, write))
        .collect::<Result<Vec<_>, _>>()?;
    super::history::stop_clock(&tx)?;
    super::splits::settle(&tx, zones)?;
    tx.commit().map_err(|e| db("committing", e))?;
    Ok(summaries)
}

/// Applies one dated change (the write clock already set to its instant):
/// its features put with every value, then its removals. Returns how many
/// features it put or removed.
pub(super) fn apply_change(tx: &Transaction<'_>, change: &Change) -> Result<usize, StoreError> {
    let key = crate::check_removals(change)?;
    let layer = change.layer;
    let put = upsert(
        tx,
        &Upsert {
            layer,
            features: change.put.clone(),
            update: layer.fields.iter().map(|f| f.name).collect(),
            insert_new: true,
        },
    )?;
    let matches: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("\"{k}\" = ?{}", i + 1))
        .collect();
    let mut delete = tx
        .prepare(&format!("DELETE FROM \"{}\" WHERE {}", layer.id, matches.join(" AND ")))
        .map_err(on_layer("preparing the removal", layer))?;
    let mut removed = 0;
    for values in &change.remove {
        removed += delete
            .execute(params_from_iter(values.iter().map(SqlValue)))
            .map_err(on_layer("removing a feature", layer))?;
    }
    Ok(put.inserted + put.updated + removed)
}

fn upsert(tx: &Transaction<'_>, write: &Upsert) -> Result<UpsertSummary, StoreError> {
    let (layer, features) = (write.layer, &write.features);
    let key = crate::natural_key(layer)?;
    let t = layer.id;
    // Created on first use, so that stores made before upserts existed get it
    // too; without it every update would scan the whole table.
    let key_columns: Vec<String> = key.iter().map(|k| format!("\"{k}\"")).collect();
    tx.execute(
        &format!(
            "CREATE INDEX IF NOT EXISTS \"{t}_natural_key\" ON \"{t}\" ({})",
            key_columns.join(", ")
        ),
        [],
    )
    .map_err(on_layer("indexing the natural key", layer))?;

    // Parameter 1 is the geometry, parameter i + 2 the value of field i,
    // in both statements; the update's WHERE reuses the key fields' slots,
    // and it binds only the slots it uses (SQLite counts up to the last one).
    let columns: Vec<String> = layer.fields.iter().map(|f| format!("\"{}\"", f.name)).collect();
    let placeholders: Vec<String> = (1..=layer.fields.len() + 1).map(|i| format!("?{i}")).collect();
    let assignments: Vec<String> = std::iter::once("geom = ?1".to_owned())
        .chain(
            layer
                .fields
                .iter()
                .enumerate()
                .filter(|(_, f)| write.update.contains(&f.name))
                .map(|(i, f)| format!("\"{}\" = ?{}", f.name, i + 2)),
        )
        .collect();
    let matches: Vec<String> = key
        .iter()
        .map(|k| {
            let i = layer.field_index(k).unwrap_or_default();
            format!("\"{k}\" = ?{}", i + 2)
        })
        .collect();
    let mut used: Vec<usize> = std::iter::once(1)
        .chain(
            layer
                .fields
                .iter()
                .enumerate()
                .filter(|(_, f)| write.update.contains(&f.name) || key.contains(&f.name))
                .map(|(i, _)| i + 2),
        )
        .collect();
    used.sort_unstable();
    let update_sql = format!(
        "UPDATE \"{t}\" SET {} WHERE {}",
        assignments.join(", "),
        matches.join(" AND ")
    );
    let (valid_column, valid_value) = super::history::insert_column(layer);
    let insert_sql = format!(
        "INSERT INTO \"{t}\" (geom, {}{valid_column}) VALUES ({}{valid_value})",
        columns.join(", "),
        placeholders.join(", ")
    );
    let invalid = |index: usize, message: String| StoreError::InvalidFeature {
        layer: t.to_owned(),
        index,
        message,
    };
    let mut summary = UpsertSummary::default();
    let mut extent: Option<Rect<f64>> = None;
    {
        let mut update = tx
            .prepare(&update_sql)
            .map_err(on_layer("preparing the update", layer))?;
        let mut insert = tx
            .prepare(&insert_sql)
            .map_err(on_layer("preparing the insert", layer))?;
        for (index, feature) in features.iter().enumerate() {
            layer.check_feature(feature).map_err(|m| invalid(index, m))?;
            let geometry = fit_to_layer(layer, &feature.geometry).map_err(|m| invalid(index, m))?;
            if let Some(r) = geometry.bounding_rect() {
                extent = Some(extent.map_or(r, |e| union(e, r)));
            }
            let blob = gpkg_geom::encode(&geometry, SRS_WGS84);
            let values: Vec<SqlValue<'_>> = feature.properties.iter().map(SqlValue).collect();
            let mut params: Vec<&dyn ToSql> = Vec::with_capacity(values.len() + 1);
            params.push(&blob);
            params.extend(values.iter().map(|v| v as &dyn ToSql));
            let refused = |e: rusqlite::Error| match e {
                rusqlite::Error::SqliteFailure(_, Some(msg)) => invalid(index, msg),
                e => on_layer("writing a feature", layer)(e),
            };
            for &slot in &used {
                update
                    .raw_bind_parameter(slot, params[slot - 1])
                    .map_err(on_layer("binding a value", layer))?;
            }
            if update.raw_execute().map_err(refused)? > 0 {
                summary.updated += 1;
            } else if write.insert_new {
                insert.execute(params.as_slice()).map_err(refused)?;
                summary.inserted += 1;
            }
        }
    }
    record_extent(tx, layer, extent, false)?;
    Ok(summary)
}
