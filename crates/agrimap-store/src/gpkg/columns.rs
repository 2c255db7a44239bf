//! Layers and columns the catalog gained after a GeoPackage was made: added
//! on open (a new layer's table as a new store makes it; a new column with
//! SQLite's `ALTER TABLE … ADD COLUMN`, no constraint, so existing rows read
//! as NULL), so that a store made by an older agrimap keeps working.

use super::db;
use crate::StoreError;
use agrimap_model::catalog;
use rusqlite::{Connection, OptionalExtension};

/// Adds every catalog layer the store lacks and every catalog field a
/// layer table lacks, in one transaction.
pub(super) fn add_missing(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(|e| db("starting a transaction", e))?;
    for layer in catalog() {
        let exists = tx
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [layer.id],
                |_| Ok(()),
            )
            .optional()
            .map_err(|e| db("looking for a layer table", e))?
            .is_some();
        if !exists {
            tx.execute_batch(&super::schema::layer_sql(layer))
                .map_err(|e| db("adding a layer the catalog gained", e))?;
        }
        let present: Vec<String> = tx
            .prepare(&format!("SELECT name FROM pragma_table_info('{}')", layer.id))
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(|e| db("reading a layer's columns", e))?;
        for f in layer.fields.iter().filter(|f| !present.iter().any(|p| p == f.name)) {
            tx.execute_batch(&format!(
                "ALTER TABLE \"{}\" ADD COLUMN \"{}\" {}",
                layer.id,
                f.name,
                super::schema::column_type(f.ty)
            ))
            .map_err(|e| db("adding a column the catalog gained", e))?;
        }
    }
    tx.commit().map_err(|e| db("committing new columns", e))
}
