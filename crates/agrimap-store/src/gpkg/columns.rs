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

#[cfg(test)]
mod tests {
    use crate::gpkg::GpkgStore;
    use rusqlite::Connection;

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).expect("count")
    }

    /// A GeoPackage made before the irrigation, forestry and livestock
    /// layers gets them, and their code lists, when it is opened; the codes
    /// it had are left as they were.
    #[test]
    fn a_store_made_before_a_layer_gets_it_on_open() {
        let dir = std::env::temp_dir().join(format!("agrimap-upgrade-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("old.gpkg");
        drop(GpkgStore::create(&path).expect("create"));
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch(
            "DROP TABLE livestock_farms; DROP TABLE rtree_livestock_farms_geom;
             DELETE FROM gpkg_extensions WHERE table_name = 'livestock_farms';
             DELETE FROM gpkg_geometry_columns WHERE table_name = 'livestock_farms';
             DELETE FROM gpkg_contents WHERE table_name = 'livestock_farms';
             DELETE FROM agrimap_layer_version WHERE layer = 'livestock_farms';
             DELETE FROM agrimap_codes WHERE list = 'livestock_species';
             UPDATE agrimap_codes SET label_en = 'Paddy' WHERE list = 'crop_type' AND code = 'rice';",
        )
        .expect("back to an older store");
        drop(conn);
        drop(GpkgStore::open(&path).expect("open the older store"));
        let conn = Connection::open(&path).expect("open");
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM gpkg_contents WHERE table_name = 'livestock_farms'"
            ),
            1
        );
        assert_eq!(count(&conn, "SELECT count(*) FROM livestock_farms"), 0);
        assert!(
            count(
                &conn,
                "SELECT count(*) FROM agrimap_codes WHERE list = 'livestock_species'"
            ) >= 5
        );
        let rice: String = conn
            .query_row(
                "SELECT label_en FROM agrimap_codes WHERE list = 'crop_type' AND code = 'rice'",
                [],
                |r| r.get(0),
            )
            .expect("rice");
        assert_eq!(rice, "Paddy");
        drop(conn);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
