//! The past versions of the versioned layers in the GeoPackage (see
//! [`crate::history`]): `{layer}_history` with an R-tree of its own
//! (`{layer}_history_rtree`, keyed by the version's `hid`, since a feature's
//! `fid` repeats there), the triggers that fill it, and the write clock.
//!
//! The history tables are plain tables, not GeoPackage layers: QGIS and GDAL
//! list the current layers only. Made on open when missing (a store made
//! before versions gets them, its features read as valid since ever); the
//! triggers are made afresh on every open, so that they copy every column
//! of the catalog as it is now.

use super::{SqlValue, db, gpkg_geom, on_layer, row_to_feature, schema};
use crate::history::history_table;
use crate::layer_geometry::fit_to_layer;
use crate::{LayerTimeline, PastVersion, StoreError};
use agrimap_model::{Audience, LayerDef, UtcTime, catalog};
use rusqlite::{Connection, OptionalExtension, ToSql, Transaction};
use std::fmt::Write as _;

/// The instant of the running write, or now for another program's edit.
const CLOCK: &str = "coalesce((SELECT at FROM agrimap_valid_time), strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))";

/// The write clock: one row while a write of the store runs, none otherwise.
const CLOCK_SQL: &str = "CREATE TABLE IF NOT EXISTS agrimap_valid_time (
  one INTEGER PRIMARY KEY NOT NULL CHECK (one = 1),
  at TEXT NOT NULL
);";

/// The R-tree of a layer's past versions.
pub(crate) fn history_rtree(layer: &LayerDef) -> String {
    format!("{}_history_rtree", layer.id)
}

/// The column a new versioned layer's table gets (the default serves
/// another program's inserts; the store's own give the write clock).
pub(super) fn valid_from_column() -> String {
    ",\n  valid_from TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))".to_owned()
}

/// Makes what the versioned layers need, in one transaction.
pub(super) fn ensure(conn: &mut Connection) -> Result<(), StoreError> {
    // Most opens find everything in place: say so from reads alone. Writing
    // the schema again on every open would take the write lock and change
    // the schema under every other connection to the file (several agrimap
    // processes, QGIS), whose statements would then fail or wait.
    if in_place(conn)? {
        return Ok(());
    }
    let tx = conn.transaction().map_err(|e| db("starting a transaction", e))?;
    tx.execute_batch(CLOCK_SQL)
        .map_err(|e| db("creating the write clock", e))?;
    // A write that died half-way leaves no clock behind (its transaction
    // rolled back), but a crash of another program might: clear it.
    tx.execute("DELETE FROM agrimap_valid_time", [])
        .map_err(|e| db("clearing the write clock", e))?;
    for layer in catalog().iter().filter(|l| l.versioned()) {
        ensure_layer(&tx, layer)?;
    }
    tx.commit().map_err(|e| db("committing the history tables", e))
}

/// Whether the clock is empty and every versioned layer has its column,
/// its history table with every field, and its triggers as [`triggers`] makes them.
fn in_place(conn: &Connection) -> Result<bool, StoreError> {
    let sql_of = |kind: &str, name: &str| schema::stored_sql(conn, kind, name);
    let columns = |table: &str| columns_of(conn, table);
    if sql_of("table", "agrimap_valid_time")?.is_none() {
        return Ok(false);
    }
    let clock_set: bool = conn
        .query_row("SELECT 1 FROM agrimap_valid_time LIMIT 1", [], |_| Ok(true))
        .optional()
        .map_err(|e| db("reading the write clock", e))?
        .unwrap_or(false);
    if clock_set {
        return Ok(false);
    }
    for layer in catalog().iter().filter(|l| l.versioned()) {
        if !columns(layer.id)?.iter().any(|c| c == "valid_from") {
            return Ok(false);
        }
        let present = columns(&history_table(layer))?;
        if present.is_empty() || layer.fields.iter().any(|f| !present.iter().any(|p| p == f.name)) {
            return Ok(false);
        }
        let wanted = triggers(layer);
        for name in ["update", "delete"] {
            let trigger = format!("agrimap_history_{}_{name}", layer.id);
            match sql_of("trigger", &trigger)? {
                Some(sql) if wanted.contains(sql.trim()) => {}
                _ => return Ok(false),
            }
        }
    }
    Ok(true)
}

fn columns_of(conn: &Connection, table: &str) -> Result<Vec<String>, StoreError> {
    conn.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| db("reading a table's columns", e))
}

fn ensure_layer(tx: &Transaction<'_>, layer: &LayerDef) -> Result<(), StoreError> {
    let t = layer.id;
    let h = history_table(layer);
    let r = history_rtree(layer);
    if !columns_of(tx, t)?.iter().any(|c| c == "valid_from") {
        tx.execute_batch(&format!("ALTER TABLE \"{t}\" ADD COLUMN valid_from TEXT"))
            .map_err(|e| db("adding valid_from to a layer", e))?;
    }
    let exists = tx
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [&h],
            |_| Ok(()),
        )
        .optional()
        .map_err(|e| db("looking for a history table", e))?
        .is_some();
    if exists {
        let present = columns_of(tx, &h)?;
        for f in layer.fields.iter().filter(|f| !present.iter().any(|p| p == f.name)) {
            tx.execute_batch(&format!(
                "ALTER TABLE \"{h}\" ADD COLUMN \"{}\" {}",
                f.name,
                schema::column_type(f.ty)
            ))
            .map_err(|e| db("adding a column to a history table", e))?;
        }
    } else {
        let mut sql = format!(
            "CREATE TABLE \"{h}\" (\n  hid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,\n  fid INTEGER NOT NULL,\n  geom {}",
            layer.geometry.ogc_name()
        );
        for f in layer.fields {
            let _ = write!(sql, ",\n  \"{}\" {}", f.name, schema::column_type(f.ty));
        }
        let _ = write!(
            sql,
            ",\n  valid_from TEXT,\n  valid_to TEXT NOT NULL\n);
             CREATE INDEX \"{h}_fid\" ON \"{h}\" (fid);
             CREATE VIRTUAL TABLE \"{r}\" USING rtree(id, minx, maxx, miny, maxy);
             CREATE TRIGGER \"{r}_insert\" AFTER INSERT ON \"{h}\"
               WHEN (NEW.geom NOT NULL AND NOT ST_IsEmpty(NEW.geom))
               BEGIN INSERT OR REPLACE INTO \"{r}\" VALUES
                 (NEW.hid, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom)); END;
             CREATE TRIGGER \"{r}_delete\" AFTER DELETE ON \"{h}\"
               BEGIN DELETE FROM \"{r}\" WHERE id = OLD.hid; END;\n"
        );
        tx.execute_batch(&sql).map_err(|e| db("creating a history table", e))?;
    }
    tx.execute_batch(&triggers(layer))
        .map_err(|e| db("creating the history triggers", e))
}

/// The triggers that keep the versions of one layer: an update that
/// changes anything but `valid_from` keeps the old version and stamps the
/// new one; a delete keeps the deleted version.
fn triggers(layer: &LayerDef) -> String {
    let t = layer.id;
    let h = history_table(layer);
    let mut columns = String::from("fid, geom");
    let mut old = String::from("OLD.fid, OLD.geom");
    let mut same = String::from("OLD.geom IS NEW.geom");
    for f in layer.fields {
        let _ = write!(columns, ", \"{}\"", f.name);
        let _ = write!(old, ", OLD.\"{}\"", f.name);
        let _ = write!(same, " AND OLD.\"{0}\" IS NEW.\"{0}\"", f.name);
    }
    let keep =
        format!("INSERT INTO \"{h}\" ({columns}, valid_from, valid_to) VALUES ({old}, OLD.valid_from, {CLOCK});");
    format!(
        "DROP TRIGGER IF EXISTS \"agrimap_history_{t}_update\";
         DROP TRIGGER IF EXISTS \"agrimap_history_{t}_delete\";
         CREATE TRIGGER \"agrimap_history_{t}_update\" AFTER UPDATE ON \"{t}\"
           WHEN NOT ({same})
           BEGIN {keep}
             UPDATE \"{t}\" SET valid_from = {CLOCK} WHERE fid = NEW.fid; END;
         CREATE TRIGGER \"agrimap_history_{t}_delete\" AFTER DELETE ON \"{t}\"
           BEGIN {keep} END;\n"
    )
}

/// Sets the write clock of the transaction (cleared by [`stop_clock`]
/// before it commits).
pub(super) fn set_clock(tx: &Transaction<'_>, at: UtcTime) -> Result<(), StoreError> {
    tx.execute(
        "INSERT OR REPLACE INTO agrimap_valid_time (one, at) VALUES (1, ?1)",
        [at.to_string()],
    )
    .map_err(|e| db("setting the write clock", e))?;
    Ok(())
}

/// Clears the write clock before the transaction commits.
pub(super) fn stop_clock(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute("DELETE FROM agrimap_valid_time", [])
        .map_err(|e| db("clearing the write clock", e))?;
    Ok(())
}

/// Clears a layer's past versions (a replace that loads its timeline afresh).
pub(super) fn clear(tx: &Transaction<'_>, layer: &LayerDef) -> Result<(), StoreError> {
    tx.execute(&format!("DELETE FROM \"{}\"", history_table(layer)), [])
        .map_err(|e| db("clearing a layer's history", e))?;
    Ok(())
}

/// The extra column and value of an insert into a versioned layer.
pub(super) fn insert_column(layer: &LayerDef) -> (&'static str, &'static str) {
    if layer.versioned() {
        (", valid_from", ", (SELECT at FROM agrimap_valid_time)")
    } else {
        ("", "")
    }
}

/// Writes a copied layer's past versions (its features are written by then).
pub(super) fn write_past(tx: &Transaction<'_>, kept: &LayerTimeline) -> Result<(), StoreError> {
    let layer = kept.layer;
    let n = layer.fields.len();
    let columns: Vec<String> = layer.fields.iter().map(|f| format!("\"{}\"", f.name)).collect();
    let placeholders: Vec<String> = (1..=n + 4).map(|i| format!("?{i}")).collect();
    let mut stmt = tx
        .prepare_cached(&format!(
            "INSERT INTO \"{}\" (geom, {}, fid, valid_from, valid_to) VALUES ({})",
            history_table(layer),
            columns.join(", "),
            placeholders.join(", ")
        ))
        .map_err(on_layer("preparing the insert of past versions", layer))?;
    for (index, version) in kept.versions.iter().enumerate() {
        let invalid = |message: String| StoreError::InvalidFeature {
            layer: format!("{} (past versions)", layer.id),
            index,
            message,
        };
        let feature = &version.feature;
        layer.check_past_feature(feature).map_err(invalid)?;
        let geometry = fit_to_layer(layer, &feature.geometry).map_err(invalid)?;
        let blob = gpkg_geom::encode(&geometry, super::SRS_WGS84);
        let values: Vec<SqlValue<'_>> = feature.properties.iter().map(SqlValue).collect();
        let (from, to) = (version.valid_from.map(|t| t.to_string()), version.valid_to.to_string());
        let mut params: Vec<&dyn ToSql> = Vec::with_capacity(n + 4);
        params.push(&blob);
        params.extend(values.iter().map(|v| v as &dyn ToSql));
        params.extend([&feature.id as &dyn ToSql, &from, &to]);
        stmt.execute(params.as_slice())
            .map_err(on_layer("inserting a past version", layer))?;
    }
    // The layer's AUTOINCREMENT counts the current features inserted (none,
    // when every one was deleted there); a deleted feature may have had a
    // higher id, and an id names one feature through time.
    tx.execute(
        "INSERT INTO sqlite_sequence (name, seq) SELECT ?1, 0
         WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?1)",
        [layer.id],
    )
    .map_err(on_layer("moving the layer's ids past the copy", layer))?;
    tx.execute(
        &format!(
            "UPDATE sqlite_sequence SET seq = max(seq, (SELECT coalesce(max(fid), 0) FROM \"{}\")) WHERE name = ?1",
            history_table(layer)
        ),
        [layer.id],
    )
    .map_err(on_layer("moving the layer's ids past the copy", layer))?;
    Ok(())
}

/// A versioned layer's timeline as kept ([`crate::LayerStore::timeline`]).
pub(super) fn timeline(conn: &mut Connection, layer: &'static LayerDef) -> Result<LayerTimeline, StoreError> {
    let mut timeline = LayerTimeline {
        layer,
        since: std::collections::BTreeMap::new(),
        versions: Vec::new(),
    };
    if !layer.versioned() {
        return Ok(timeline);
    }
    let tx = conn.transaction().map_err(|e| db("starting a transaction", e))?;
    let since: Vec<(i64, String)> = tx
        .prepare(&format!(
            "SELECT fid, valid_from FROM \"{}\" WHERE valid_from IS NOT NULL",
            layer.id
        ))
        .and_then(|mut stmt| stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .map_err(on_layer("reading when features took their form", layer))?;
    for (fid, at) in since {
        timeline.since.insert(fid, crate::stored_time(&at)?);
    }
    let n = layer.fields.len();
    let mut stmt = tx
        .prepare(&format!(
            "SELECT {}, valid_from, valid_to FROM \"{}\" ORDER BY hid",
            super::select_columns(layer, Audience::Full, None),
            history_table(layer)
        ))
        .map_err(on_layer("reading past versions", layer))?;
    let mut rows = stmt.query([]).map_err(on_layer("reading past versions", layer))?;
    while let Some(row) = rows.next().map_err(on_layer("reading past versions", layer))? {
        let from: Option<String> = row.get(n + 2).map_err(on_layer("reading past versions", layer))?;
        let to: String = row.get(n + 3).map_err(on_layer("reading past versions", layer))?;
        timeline.versions.push(PastVersion {
            feature: row_to_feature(layer, row)?,
            valid_from: from.as_deref().map(crate::stored_time).transpose()?,
            valid_to: crate::stored_time(&to)?,
        });
    }
    Ok(timeline)
}
