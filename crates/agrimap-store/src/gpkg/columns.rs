//! Columns the catalog gained after a GeoPackage was made: added on open
//! (SQLite's `ALTER TABLE … ADD COLUMN`, no constraint, so existing rows
//! read as NULL), so that a store made by an older agrimap keeps working.

use super::db;
use crate::StoreError;
use agrimap_model::catalog;
use rusqlite::Connection;

/// Adds every catalog field a layer table lacks, in one transaction.
pub(super) fn add_missing(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(|e| db("starting a transaction", e))?;
    for layer in catalog() {
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
