//! The crosswalk list in the GeoPackage: one plain table (no geometry), so
//! QGIS shows it as an attribute table beside the communes.

use super::{GpkgStore, db};
use crate::{CrosswalkPair, CrosswalkQuery, CrosswalkStore, PairKind, StoreError};
use rusqlite::{Row, params};

/// Created on open when missing (stores made before the crosswalk have none).
pub(super) const CROSSWALK_SQL: &str = "CREATE TABLE IF NOT EXISTS agrimap_crosswalk (
  old_code TEXT NOT NULL,
  old_name TEXT NOT NULL,
  new_province_code TEXT NOT NULL,
  new_province_name TEXT NOT NULL,
  new_code TEXT NOT NULL,
  new_name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('full', 'partial')),
  PRIMARY KEY (old_code, new_code)
);
CREATE INDEX IF NOT EXISTS agrimap_crosswalk_new ON agrimap_crosswalk (new_code);";

const COLUMNS: &str = "old_code, old_name, new_province_code, new_province_name, new_code, new_name, kind";

fn pair_row(r: &Row<'_>) -> rusqlite::Result<CrosswalkPair> {
    let kind: String = r.get(6)?;
    Ok(CrosswalkPair {
        old_code: r.get(0)?,
        old_name: r.get(1)?,
        new_province_code: r.get(2)?,
        new_province_name: r.get(3)?,
        new_code: r.get(4)?,
        new_name: r.get(5)?,
        // The CHECK constraint holds the column to these two.
        kind: PairKind::parse(&kind).unwrap_or(PairKind::Partial),
    })
}

#[async_trait::async_trait]
impl CrosswalkStore for GpkgStore {
    async fn replace_crosswalk(&self, pairs: Vec<CrosswalkPair>) -> Result<usize, StoreError> {
        self.with_conn(move |c| {
            let tx = c.transaction().map_err(|e| db("starting a transaction", e))?;
            tx.execute("DELETE FROM agrimap_crosswalk", [])
                .map_err(|e| db("emptying the crosswalk", e))?;
            {
                let mut insert = tx
                    .prepare(&format!(
                        "INSERT INTO agrimap_crosswalk ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                    ))
                    .map_err(|e| db("preparing the crosswalk insert", e))?;
                for p in &pairs {
                    insert
                        .execute(params![
                            p.old_code,
                            p.old_name,
                            p.new_province_code,
                            p.new_province_name,
                            p.new_code,
                            p.new_name,
                            p.kind.as_str()
                        ])
                        .map_err(|e| db("storing a crosswalk pair", e))?;
                }
            }
            tx.commit().map_err(|e| db("committing the crosswalk", e))?;
            Ok(pairs.len())
        })
        .await
    }

    async fn crosswalk(&self, query: &CrosswalkQuery) -> Result<Vec<CrosswalkPair>, StoreError> {
        let query = query.clone();
        self.with_conn(move |c| {
            let mut stmt = c
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM agrimap_crosswalk
                     WHERE (?1 IS NULL OR old_code = ?1) AND (?2 IS NULL OR new_code = ?2)
                     ORDER BY old_code, new_code"
                ))
                .map_err(|e| db("preparing the crosswalk query", e))?;
            stmt.query_map(params![query.old_code, query.new_code], pair_row)
                .and_then(Iterator::collect)
                .map_err(|e| db("reading the crosswalk", e))
        })
        .await
    }
}
