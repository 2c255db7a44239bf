//! Kept tile layers in the GeoPackage ([`crate::overviews`]): one table, and
//! on each coalesced layer three triggers that forget the kept layers of
//! every tile whose bounds the old or the new geometry reaches (and list
//! them to be drawn again, in a second table), and add the old and the new
//! version of the feature to the changes of every tile whose kept edges it
//! reaches (a third and a fourth table). The triggers
//! work for any program writing the file (QGIS, GDAL), which provide the
//! same `ST_MinX`… functions the GeoPackage R-tree triggers use.

use super::db;
use crate::StoreError;
use crate::gpkg_geom;
use crate::overviews::{KeptEdges, OverviewKey, catalog_layer, edge_change};
use agrimap_model::{LEGIBLE_ZOOM, LayerDef, UtcTime, catalog};
use geo::Rect;
use rusqlite::{Connection, OptionalExtension, params};
use std::fmt::Write as _;

const TABLE_SQL: &str = "CREATE TABLE IF NOT EXISTS agrimap_tile_overviews (
  layer TEXT NOT NULL,
  options TEXT NOT NULL,
  z INTEGER NOT NULL,
  x INTEGER NOT NULL,
  y INTEGER NOT NULL,
  minx REAL NOT NULL,
  miny REAL NOT NULL,
  maxx REAL NOT NULL,
  maxy REAL NOT NULL,
  mvt BLOB NOT NULL,
  PRIMARY KEY (layer, options, z, x, y)
);
CREATE TABLE IF NOT EXISTS agrimap_tile_overview_edges (
  layer TEXT NOT NULL,
  options TEXT NOT NULL,
  z INTEGER NOT NULL,
  x INTEGER NOT NULL,
  y INTEGER NOT NULL,
  minx REAL NOT NULL,
  miny REAL NOT NULL,
  maxx REAL NOT NULL,
  maxy REAL NOT NULL,
  generation INTEGER NOT NULL DEFAULT 0,
  pending INTEGER NOT NULL DEFAULT 0,
  edges BLOB NOT NULL,
  PRIMARY KEY (layer, options, z, x, y)
);
CREATE TABLE IF NOT EXISTS agrimap_tile_overview_changes (
  id INTEGER PRIMARY KEY,
  layer TEXT NOT NULL,
  options TEXT NOT NULL,
  z INTEGER NOT NULL,
  x INTEGER NOT NULL,
  y INTEGER NOT NULL,
  removed INTEGER NOT NULL,
  geom BLOB NOT NULL,
  class TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS agrimap_tile_overview_changes_tile
  ON agrimap_tile_overview_changes (layer, options, z, x, y);
CREATE TABLE IF NOT EXISTS agrimap_tile_overviews_redraw (
  layer TEXT NOT NULL,
  options TEXT NOT NULL,
  z INTEGER NOT NULL,
  x INTEGER NOT NULL,
  y INTEGER NOT NULL,
  PRIMARY KEY (layer, options, z, x, y)
);";

/// Leases ([`crate::overviews::OverviewStore::take_lease`]), kept apart
/// from the kept tiles: a store made before them gains the table alone.
const LEASES_SQL: &str = "CREATE TABLE IF NOT EXISTS agrimap_leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  until TEXT NOT NULL
)";

/// The statements forgetting the kept tiles of `layer` that `row`'s
/// geometry reaches, listing them to be drawn again, and adding the row
/// (`OLD`: removed) to the changes of the kept edges it reaches.
fn forget(layer: &str, class_fields: &[&str], row: &str) -> String {
    let reached = reached(layer, row);
    let removed = i32::from(row == "OLD");
    let class = class_fields
        .iter()
        .map(|f| format!("'{f}', {row}.\"{f}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT OR IGNORE INTO agrimap_tile_overviews_redraw (layer, options, z, x, y)
           SELECT layer, options, z, x, y FROM agrimap_tile_overviews WHERE {reached};
         DELETE FROM agrimap_tile_overviews WHERE {reached};
         INSERT INTO agrimap_tile_overview_changes (layer, options, z, x, y, removed, geom, class)
           SELECT layer, options, z, x, y, {removed}, {row}.geom, json_object({class})
             FROM agrimap_tile_overview_edges WHERE {reached} AND pending < {MAX_PENDING};
         UPDATE agrimap_tile_overview_edges SET pending = pending + 1 WHERE {reached};
         DELETE FROM agrimap_tile_overview_changes WHERE (layer, options, z, x, y) IN (
           SELECT layer, options, z, x, y FROM agrimap_tile_overview_edges
            WHERE {reached} AND pending > {MAX_PENDING});
         DELETE FROM agrimap_tile_overview_edges WHERE {reached} AND pending > {MAX_PENDING};"
    )
}

/// Changes a tile's kept edges list at most: a write that would list more
/// (a bulk import, a layer replaced) forgets the edges instead, and the tile
/// is drawn from its features once (as migration 0019 does in PostGIS).
const MAX_PENDING: u32 = 2000;

/// The condition on a kept layer's row that `row`'s geometry reaches its tile.
fn reached(layer: &str, row: &str) -> String {
    format!(
        "layer = '{layer}'
           AND minx <= ST_MaxX({row}.geom) AND maxx >= ST_MinX({row}.geom)
           AND miny <= ST_MaxY({row}.geom) AND maxy >= ST_MinY({row}.geom)"
    )
}

/// The statements forgetting the kept tiles of `layer` from its first
/// legible zoom on (kept whole, with every public field) that the updated
/// row reaches, listing them to be drawn again: an update of a field the
/// merged shapes do not draw.
fn forget_legible(layer: &str) -> String {
    let reached = format!("{} AND z >= {LEGIBLE_ZOOM}", reached(layer, "NEW"));
    format!(
        "INSERT OR IGNORE INTO agrimap_tile_overviews_redraw (layer, options, z, x, y)
           SELECT layer, options, z, x, y FROM agrimap_tile_overviews WHERE {reached};
         DELETE FROM agrimap_tile_overviews WHERE {reached};"
    )
}

/// The triggers of one coalesced layer, by name. An update that changes
/// neither the geometry nor a class field (a phone number, a commune code)
/// draws the same coalesced tile: it forgets only the layers kept whole,
/// from the first legible zoom on.
fn triggers(layer: &LayerDef, class_fields: &[&str]) -> Vec<(String, String)> {
    let t = layer.id;
    let mut changed = String::from("OLD.geom IS NOT NEW.geom");
    for f in class_fields {
        let _ = write!(changed, " OR OLD.\"{f}\" IS NOT NEW.\"{f}\"");
    }
    let name = |event: &str| format!("agrimap_overviews_{t}_{event}");
    vec![
        (
            name("insert"),
            format!(
                "CREATE TRIGGER \"{}\" AFTER INSERT ON \"{t}\" BEGIN {} END",
                name("insert"),
                forget(t, class_fields, "NEW")
            ),
        ),
        (
            name("update"),
            format!(
                "CREATE TRIGGER \"{}\" AFTER UPDATE ON \"{t}\" WHEN {changed} BEGIN {} {} END",
                name("update"),
                forget(t, class_fields, "OLD"),
                forget(t, class_fields, "NEW")
            ),
        ),
        (
            name("fields"),
            format!(
                "CREATE TRIGGER \"{}\" AFTER UPDATE ON \"{t}\" WHEN NOT ({changed}) BEGIN {} END",
                name("fields"),
                forget_legible(t)
            ),
        ),
        (
            name("delete"),
            format!(
                "CREATE TRIGGER \"{}\" AFTER DELETE ON \"{t}\" BEGIN {} END",
                name("delete"),
                forget(t, class_fields, "OLD")
            ),
        ),
    ]
}

/// Every trigger the catalog's coalesced layers need.
fn all_triggers() -> Vec<(String, String)> {
    catalog()
        .iter()
        .filter_map(|l| l.coalescing().map(|c| triggers(l, c.class_fields)))
        .flatten()
        .collect()
}

/// Makes the table and the triggers when missing or out of date. Reads
/// first: most opens find them in place and take no write lock.
pub(super) fn ensure(conn: &mut Connection) -> Result<(), StoreError> {
    if super::schema::stored_sql(conn, "table", "agrimap_leases")?.is_none() {
        conn.execute_batch(LEASES_SQL)
            .map_err(|e| db("creating the leases", e))?;
    }
    let wanted = all_triggers();
    let stored = |kind: &str, name: &str| super::schema::stored_sql(conn, kind, name);
    let mut in_place = stored("table", "agrimap_tile_overviews")?.is_some()
        && stored("table", "agrimap_tile_overviews_redraw")?.is_some()
        // (Edges made before they counted their changes are made afresh.)
        && stored("table", "agrimap_tile_overview_edges")?.is_some_and(|sql| sql.contains("pending"))
        && stored("table", "agrimap_tile_overview_changes")?.is_some();
    for (name, sql) in &wanted {
        in_place &= stored("trigger", name)?.as_deref() == Some(sql.as_str());
    }
    if in_place {
        return Ok(());
    }
    let tx = conn.transaction().map_err(|e| db("starting a transaction", e))?;
    // The edges and their changes are made afresh, in their present shape:
    // under triggers that may have missed writes, they are of no use.
    tx.execute_batch(
        "DROP TABLE IF EXISTS agrimap_tile_overview_changes; DROP TABLE IF EXISTS agrimap_tile_overview_edges;",
    )
    .map_err(|e| db("dropping the kept tile edges", e))?;
    tx.execute_batch(TABLE_SQL)
        .map_err(|e| db("creating the kept tile layers", e))?;
    for (name, sql) in &wanted {
        tx.execute_batch(&format!("DROP TRIGGER IF EXISTS \"{name}\"; {sql};"))
            .map_err(|e| db("creating the kept tile layers' triggers", e))?;
    }
    // Kept under triggers that may have missed writes: start afresh.
    tx.execute("DELETE FROM agrimap_tile_overviews", [])
        .map_err(|e| db("clearing the kept tile layers", e))?;
    tx.commit().map_err(|e| db("committing the kept tile layers", e))
}

pub(super) fn get(conn: &Connection, key: &OverviewKey) -> Result<Option<Vec<u8>>, StoreError> {
    conn.prepare_cached(
        "SELECT mvt FROM agrimap_tile_overviews WHERE layer = ?1 AND options = ?2 AND z = ?3 AND x = ?4 AND y = ?5",
    )
    .and_then(|mut stmt| {
        stmt.query_row(params![key.layer, key.options, key.z, key.x, key.y], |r| r.get(0))
            .optional()
    })
    .map_err(|e| db("reading a kept tile layer", e))
}

/// Whether `layer`'s change counter is still `version`.
fn current(conn: &Connection, layer: &str, version: u64) -> Result<bool, StoreError> {
    let current: Option<i64> = conn
        .query_row(
            "SELECT version FROM agrimap_layer_version WHERE layer = ?1",
            [layer],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| db("reading the layer's version", e))?;
    Ok(current.and_then(|v| u64::try_from(v).ok()) == Some(version))
}

pub(super) fn keep(
    conn: &mut Connection,
    key: &OverviewKey,
    bounds: Rect<f64>,
    version: u64,
    mvt: &[u8],
) -> Result<bool, StoreError> {
    // The store's transactions take the write lock when they begin, so no
    // write can come between the check of the counter and the insert.
    let tx = conn.transaction().map_err(|e| db("starting a transaction", e))?;
    if !current(&tx, key.layer, version)? {
        return Ok(false);
    }
    tx.execute(
        "DELETE FROM agrimap_tile_overviews_redraw WHERE layer = ?1 AND options = ?2 AND z = ?3 AND x = ?4 AND y = ?5",
        params![key.layer, key.options, key.z, key.x, key.y],
    )
    .map_err(|e| db("taking a tile layer off the redraw list", e))?;
    tx.execute(
        "INSERT OR REPLACE INTO agrimap_tile_overviews (layer, options, z, x, y, minx, miny, maxx, maxy, mvt)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            key.layer,
            key.options,
            key.z,
            key.x,
            key.y,
            bounds.min().x,
            bounds.min().y,
            bounds.max().x,
            bounds.max().y,
            mvt
        ],
    )
    .map_err(|e| db("keeping a tile layer", e))?;
    tx.commit().map_err(|e| db("committing a kept tile layer", e))?;
    Ok(true)
}

fn edges_of(conn: &mut Connection, key: &OverviewKey) -> Result<Option<KeptEdges>, StoreError> {
    let Some(layer) = agrimap_model::layer(key.layer) else {
        return Ok(None);
    };
    let read = |e| db("reading a tile layer's kept edges", e);
    // One read transaction: the edges and exactly the changes not yet folded into them.
    let tx = conn.transaction().map_err(read)?;
    let tile = params![key.layer, key.options, key.z, key.x, key.y];
    let kept: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT generation, edges FROM agrimap_tile_overview_edges
              WHERE layer = ?1 AND options = ?2 AND z = ?3 AND x = ?4 AND y = ?5",
            tile,
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(read)?;
    let Some((generation, edges)) = kept else {
        return Ok(None);
    };
    let rows: Vec<(i64, bool, Vec<u8>, String)> = tx
        .prepare_cached(
            "SELECT id, removed, geom, class FROM agrimap_tile_overview_changes
              WHERE layer = ?1 AND options = ?2 AND z = ?3 AND x = ?4 AND y = ?5 ORDER BY id",
        )
        .and_then(|mut stmt| {
            stmt.query_map(tile, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect()
        })
        .map_err(read)?;
    let changes = rows
        .into_iter()
        .map(|(id, removed, blob, class)| edge_change(layer, id, removed, gpkg_geom::decode(&blob), &class))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(KeptEdges {
        edges,
        generation,
        changes,
    }))
}

fn keep_edges(
    conn: &mut Connection,
    key: &OverviewKey,
    bounds: Rect<f64>,
    version: u64,
    edges: &[u8],
) -> Result<bool, StoreError> {
    let tx = conn.transaction().map_err(|e| db("starting a transaction", e))?;
    if !current(&tx, key.layer, version)? {
        return Ok(false);
    }
    let tile = params![key.layer, key.options, key.z, key.x, key.y];
    tx.execute(
        "DELETE FROM agrimap_tile_overview_changes
          WHERE layer = ?1 AND options = ?2 AND z = ?3 AND x = ?4 AND y = ?5",
        tile,
    )
    .map_err(|e| db("dropping a tile layer's changes", e))?;
    tx.execute(
        "INSERT INTO agrimap_tile_overview_edges (layer, options, z, x, y, minx, miny, maxx, maxy, edges)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (layer, options, z, x, y) DO UPDATE
           SET minx = excluded.minx, miny = excluded.miny, maxx = excluded.maxx, maxy = excluded.maxy,
               edges = excluded.edges, pending = 0, generation = generation + 1",
        params![
            key.layer,
            key.options,
            key.z,
            key.x,
            key.y,
            bounds.min().x,
            bounds.min().y,
            bounds.max().x,
            bounds.max().y,
            edges
        ],
    )
    .map_err(|e| db("keeping a tile layer's edges", e))?;
    tx.commit().map_err(|e| db("committing a tile layer's edges", e))?;
    Ok(true)
}

fn fold_edges(
    conn: &mut Connection,
    key: &OverviewKey,
    generation: i64,
    edges: &[u8],
    folded: &[i64],
) -> Result<bool, StoreError> {
    let tx = conn.transaction().map_err(|e| db("starting a transaction", e))?;
    let updated = tx
        .execute(
            "UPDATE agrimap_tile_overview_edges
                SET edges = ?6, generation = generation + 1, pending = max(pending - ?8, 0)
              WHERE layer = ?1 AND options = ?2 AND z = ?3 AND x = ?4 AND y = ?5 AND generation = ?7",
            params![
                key.layer,
                key.options,
                key.z,
                key.x,
                key.y,
                edges,
                generation,
                i64::try_from(folded.len()).unwrap_or(i64::MAX)
            ],
        )
        .map_err(|e| db("folding changes into a tile layer's edges", e))?;
    if updated == 0 {
        return Ok(false);
    }
    {
        let mut drop = tx
            .prepare_cached("DELETE FROM agrimap_tile_overview_changes WHERE id = ?1")
            .map_err(|e| db("dropping folded changes", e))?;
        for id in folded {
            drop.execute([id]).map_err(|e| db("dropping folded changes", e))?;
        }
    }
    tx.commit().map_err(|e| db("committing folded edges", e))?;
    Ok(true)
}

pub(super) fn to_redraw(conn: &Connection, options: &str, limit: usize) -> Result<Vec<OverviewKey>, StoreError> {
    // Looked for first: a delete, even of nothing, takes the file's write lock.
    let others: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM agrimap_tile_overviews_redraw WHERE options <> ?1)
                 OR EXISTS (SELECT 1 FROM agrimap_tile_overview_edges WHERE options <> ?1)",
            [options],
            |r| r.get(0),
        )
        .map_err(|e| db("reading the tile layers to redraw", e))?;
    if others {
        // Edges of other drawings would only gather changes nothing folds.
        conn.execute_batch(&format!(
            "DELETE FROM agrimap_tile_overviews_redraw WHERE options <> {o};
             DELETE FROM agrimap_tile_overview_changes WHERE options <> {o};
             DELETE FROM agrimap_tile_overview_edges WHERE options <> {o};",
            o = sql_text(options)
        ))
        .map_err(|e| db("dropping other drawings' redraws", e))?;
    }
    let mut stmt = conn
        .prepare_cached(
            "SELECT layer, z, x, y FROM agrimap_tile_overviews_redraw WHERE options = ?1
             ORDER BY z, x, y, layer LIMIT ?2",
        )
        .map_err(|e| db("reading the tile layers to redraw", e))?;
    let rows = stmt
        .query_map(params![options, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, u8>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, u32>(3)?,
            ))
        })
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| db("reading the tile layers to redraw", e))?;
    Ok(rows
        .into_iter()
        .filter_map(|(layer, z, x, y)| {
            Some(OverviewKey {
                layer: catalog_layer(&layer)?,
                options: options.to_owned(),
                z,
                x,
                y,
            })
        })
        .collect())
}

pub(super) fn count(conn: &Connection) -> Result<u64, StoreError> {
    conn.query_row("SELECT count(*) FROM agrimap_tile_overviews", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| u64::try_from(n).unwrap_or(0))
    .map_err(|e| db("counting kept tile layers", e))
}

#[async_trait::async_trait]
impl crate::overviews::OverviewStore for super::GpkgStore {
    async fn overview(&self, key: &OverviewKey) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.clone();
        self.with_conn(move |c| get(c, &key)).await
    }

    async fn keep_overview(
        &self,
        key: &OverviewKey,
        bounds: Rect<f64>,
        version: u64,
        mvt: &[u8],
    ) -> Result<bool, StoreError> {
        let (key, mvt) = (key.clone(), mvt.to_vec());
        self.with_conn(move |c| keep(c, &key, bounds, version, &mvt)).await
    }

    async fn overview_edges(&self, key: &OverviewKey) -> Result<Option<KeptEdges>, StoreError> {
        let key = key.clone();
        self.with_conn(move |c| edges_of(c, &key)).await
    }

    async fn keep_overview_edges(
        &self,
        key: &OverviewKey,
        bounds: Rect<f64>,
        version: u64,
        edges: &[u8],
    ) -> Result<bool, StoreError> {
        let (key, edges) = (key.clone(), edges.to_vec());
        self.with_conn(move |c| keep_edges(c, &key, bounds, version, &edges))
            .await
    }

    async fn fold_overview_edges(
        &self,
        key: &OverviewKey,
        generation: i64,
        edges: &[u8],
        folded: &[i64],
    ) -> Result<bool, StoreError> {
        let (key, edges, folded) = (key.clone(), edges.to_vec(), folded.to_vec());
        self.with_conn(move |c| fold_edges(c, &key, generation, &edges, &folded))
            .await
    }

    async fn overviews_to_redraw(&self, options: &str, limit: usize) -> Result<Vec<OverviewKey>, StoreError> {
        let options = options.to_owned();
        self.with_conn(move |c| to_redraw(c, &options, limit)).await
    }

    async fn overview_count(&self) -> Result<u64, StoreError> {
        self.with_conn(|c| count(c)).await
    }

    async fn forget_overviews(&self) -> Result<u64, StoreError> {
        self.with_conn(|c| {
            c.execute_batch("DELETE FROM agrimap_tile_overview_changes; DELETE FROM agrimap_tile_overview_edges;")
                .map_err(|e| db("forgetting the kept tile layers' edges", e))?;
            c.execute("DELETE FROM agrimap_tile_overviews", [])
                .map(|n| n as u64)
                .map_err(|e| db("forgetting the kept tile layers", e))
        })
        .await
    }

    async fn take_lease(&self, name: &str, holder: &str, now: UtcTime, until: UtcTime) -> Result<bool, StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.with_conn(move |c| {
            // Times are stored as `YYYY-MM-DDTHH:MM:SSZ`: as text they compare as times.
            c.query_row(
                "INSERT INTO agrimap_leases AS l (name, holder, until) VALUES (?1, ?2, ?4)
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
                 WHERE l.holder = excluded.holder OR l.until <= ?3
                 RETURNING 1",
                params![name, holder, now.to_string(), until.to_string()],
                |_| Ok(()),
            )
            .optional()
            .map(|taken| taken.is_some())
            .map_err(|e| db("taking a lease", e))
        })
        .await
    }

    async fn end_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.with_conn(move |c| {
            c.execute(
                "DELETE FROM agrimap_leases WHERE name = ?1 AND holder = ?2",
                params![name, holder],
            )
            .map(|_| ())
            .map_err(|e| db("ending a lease", e))
        })
        .await
    }
}

/// `text` as an SQL string literal.
fn sql_text(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
