//! The embedded store: one GeoPackage file.
//!
//! SQLite is synchronous, so every call runs on tokio's blocking pool with a
//! pooled connection. The file is in WAL mode: readers never wait for the
//! writer, and a write is one SQLite transaction (all or nothing, durable once
//! committed).

mod alerts;
mod codes;
mod columns;
mod crosswalk;
mod history;
mod interrupt;
mod ntm;
mod overviews;
mod registry;
mod schema;
mod splits;
mod upsert;

use interrupt::InterruptOnDrop;
use std::fmt::Write as _;

use crate::gpkg_geom;
use crate::layer_geometry::fit_to_layer;
use crate::splits::ZonesCache;
use crate::sql::{Dialect, WhereClause, hex, like_to_glob, order_by};
use crate::station_sql;
use crate::{
    ApiToken, CredentialStore, FeatureStream, Ingested, Judge, LayerStore, LayerTimeline, LayerVersions, LayerWrite,
    NewApiToken, ReadingQuery, ReadingStore, StoreError, Upsert, UpsertSummary, WriteBatch, WriteSummary,
};
use crate::{Rows, rows_sql};
use agrimap_model::{Audience, Feature, FeatureQuery, FieldType, LayerDef, Reading, Role, Value, catalog};
use futures::StreamExt;
use geo::{BoundingRect, Geometry, Rect, coord};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, ToSql, params_from_iter};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_stream::wrappers::ReceiverStream;

type Pool = r2d2::Pool<SqliteConnectionManager>;

/// The GeoPackage store.
#[derive(Clone)]
pub struct GpkgStore {
    pool: Pool,
    path: PathBuf,
    /// The commune zones the splits of written features are computed over.
    zones: Arc<crate::splits::ZonesCache>,
}

const SRS_WGS84: i32 = 4326;

/// Hashes of the stations' ingestion tokens (never the tokens themselves).
const STATION_TOKENS_SQL: &str = "CREATE TABLE IF NOT EXISTS agrimap_station_tokens (
  station_id TEXT PRIMARY KEY NOT NULL,
  token_hash TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);";

/// API tokens of planners, editors and admins: hashes only.
const API_TOKENS_SQL: &str = "CREATE TABLE IF NOT EXISTS agrimap_api_tokens (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('planner', 'editor', 'admin')),
  token_hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  revoked_at TEXT,
  provinces TEXT NOT NULL DEFAULT ''
);";

impl GpkgStore {
    /// Creates a new, empty agrimap GeoPackage at `path` with every catalog layer.
    ///
    /// # Errors
    /// When the file exists already or cannot be written.
    pub fn create(path: &Path) -> Result<Self, StoreError> {
        if path.exists() {
            return Err(StoreError::NotAStore {
                path: path.display().to_string(),
                reason: "the file exists already".into(),
            });
        }
        let conn = Connection::open(path).map_err(|e| db("creating the GeoPackage", e))?;
        gpkg_geom::register_functions(&conn).map_err(|e| db("registering ST functions", e))?;
        let mut ddl = String::from(schema::CORE_SQL);
        for layer in catalog() {
            ddl.push_str(&schema::layer_sql(layer));
        }
        conn.execute_batch(&format!("PRAGMA journal_mode = WAL; BEGIN; {ddl} COMMIT;"))
            .map_err(|e| db("creating the schema", e))?;
        drop(conn);
        Self::open(path)
    }

    /// Opens an existing agrimap GeoPackage.
    ///
    /// # Errors
    /// When the file is missing, not a GeoPackage, or lacks agrimap's tables.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let not_a_store = |reason: String| StoreError::NotAStore {
            path: path.display().to_string(),
            reason,
        };
        let mut magic = [0u8; 16];
        std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
            .map_err(|e| not_a_store(e.to_string()))?;
        if &magic != b"SQLite format 3\0" {
            return Err(not_a_store("it is not an SQLite database".into()));
        }
        let manager = SqliteConnectionManager::file(path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(|c| {
                gpkg_geom::register_functions(c)?;
                // Every transaction here writes: it takes the write lock when
                // it begins, waiting its turn, rather than on its first write,
                // where a writer that came in between (the silence check, the
                // deliverer) would make it fail at once with "database is locked".
                c.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
                // Pages are read through a shared memory map rather than
                // copied into each connection's small page cache: a filter
                // over a whole layer read it afresh on every connection.
                c.execute_batch(
                    "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; PRAGMA mmap_size = 1073741824;",
                )
            });
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .connection_timeout(std::time::Duration::from_secs(5))
            .build(manager)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let mut conn = pool.get().map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let app_id: i64 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|e| not_a_store(e.to_string()))?;
        if app_id != 1_196_444_487 {
            return Err(not_a_store("its application_id is not 'GPKG'".into()));
        }
        let version: Option<String> = conn
            .query_row("SELECT value FROM agrimap_meta WHERE key = 'schema_version'", [], |r| {
                r.get(0)
            })
            .ok();
        if version.as_deref() != Some("1") {
            return Err(not_a_store("it has no agrimap schema (version 1)".into()));
        }
        // Added after the first stores were made: created on open when missing.
        conn.execute_batch(STATION_TOKENS_SQL)
            .map_err(|e| db("creating the station token table", e))?;
        conn.execute_batch(API_TOKENS_SQL)
            .map_err(|e| db("creating the API token table", e))?;
        // Tokens limited to provinces came later: the column is added to older stores.
        let scoped: bool = conn
            .query_row(
                "SELECT 1 FROM pragma_table_info('agrimap_api_tokens') WHERE name = 'provinces'",
                [],
                |_| Ok(true),
            )
            .optional()
            .map_err(|e| db("reading the API token table", e))?
            .unwrap_or(false);
        if !scoped {
            conn.execute_batch("ALTER TABLE agrimap_api_tokens ADD COLUMN provinces TEXT NOT NULL DEFAULT ''")
                .map_err(|e| db("adding provinces to API tokens", e))?;
        }
        codes::ensure_table(&mut conn)?;
        codes::checks_follow_catalog(&mut conn)?;
        conn.execute_batch(crosswalk::CROSSWALK_SQL)
            .map_err(|e| db("creating the crosswalk table", e))?;
        conn.execute_batch(registry::REGISTRY_SQL)
            .map_err(|e| db("creating the registry tables", e))?;
        ntm::ensure_tables(&mut conn)?;
        conn.execute_batch(alerts::ALERTS_SQL)
            .map_err(|e| db("creating the alert tables", e))?;
        columns::add_missing(&mut conn)?;
        history::ensure(&mut conn)?;
        overviews::ensure(&mut conn)?;
        splits::ensure(&mut conn)?;
        drop(conn);
        Ok(Self {
            pool,
            path: path.to_owned(),
            zones: Arc::default(),
        })
    }

    /// The file behind the store.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with a pooled connection on the blocking pool.
    async fn with_conn<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        // Dropping this future (a deadline, a client gone) stops the query.
        let waiter = InterruptOnDrop::new();
        let handle = waiter.handle();
        let result = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| StoreError::Unavailable(e.to_string()))?;
            // Declared after `conn`, so dropped before it goes back to the pool.
            let Some(_running) = handle.start(&conn) else {
                return Err(StoreError::Task(
                    "the request went away before its query started".into(),
                ));
            };
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()));
        waiter.disarm();
        result?
    }

    /// Streams the rows of a query from a pooled connection on the blocking
    /// pool. Dropping the stream stops the query, even between matches
    /// (SQLite is interrupted), not only at the next row sent.
    fn stream_sql(&self, layer: &'static LayerDef, sql: Result<(String, Vec<Value>), StoreError>) -> FeatureStream {
        let (tx, rx) = tokio::sync::mpsc::channel(512);
        let pool = self.pool.clone();
        let waiter = InterruptOnDrop::new();
        let handle = waiter.handle();
        tokio::task::spawn_blocking(move || {
            let run = || -> Result<(), StoreError> {
                let (sql, params) = sql?;
                let conn = pool.get().map_err(|e| StoreError::Unavailable(e.to_string()))?;
                let Some(_running) = handle.start(&conn) else {
                    return Ok(());
                };
                let mut stmt = conn.prepare(&sql).map_err(on_layer("preparing a query", layer))?;
                let mut rows = stmt
                    .query(params_from_iter(params.iter().map(SqlValue)))
                    .map_err(on_layer("streaming features", layer))?;
                while let Some(row) = rows.next().map_err(on_layer("streaming features", layer))? {
                    if tx.blocking_send(row_to_feature(layer, row)).is_err() {
                        // The consumer went away (client disconnected): stop reading.
                        return Ok(());
                    }
                }
                Ok(())
            };
            if let Err(e) = run() {
                let _ = tx.blocking_send(Err(e));
            }
        });
        // The stream owns the waiter: dropping it interrupts the query.
        Box::pin(ReceiverStream::new(rx).map(move |row| {
            let _owned = &waiter;
            row
        }))
    }

    /// Applies a batch synchronously (also used by seeding before the runtime serves).
    ///
    /// # Errors
    /// On the first invalid feature or reading, or a database error; nothing is written then.
    pub fn write_blocking(&self, batch: &WriteBatch) -> Result<WriteSummary, StoreError> {
        let mut conn = self.pool.get().map_err(|e| StoreError::Unavailable(e.to_string()))?;
        write_batch(&mut conn, batch, &self.zones)
    }
}

fn db(action: &'static str, source: rusqlite::Error) -> StoreError {
    StoreError::Database { action, source }
}

fn on_layer(action: &'static str, layer: &LayerDef) -> impl FnOnce(rusqlite::Error) -> StoreError {
    let layer = layer.id.to_owned();
    move |source| StoreError::Sqlite { action, layer, source }
}

struct Sqlite;

impl Dialect for Sqlite {
    fn placeholder(n: usize, _value: &Value, _column: Option<FieldType>) -> String {
        format!("?{n}")
    }

    fn bbox_condition(
        layer: &LayerDef,
        rows: Rows,
        rect: Rect<f64>,
        min_extent: Option<f64>,
        w: &mut WhereClause,
    ) -> String {
        let (min, max) = (rect.min(), rect.max());
        let [x2, x1, y2, y1] = [max.x, min.x, max.y, min.y].map(|v| w.bind::<Self>(Value::Real(v)));
        // The R-tree holds 32-bit boxes rounded outwards: it finds the candidates,
        // and the exact envelope in each blob's header decides, so that both
        // stores answer exactly the same set.
        let mut sql = format!(
            "{} AND ST_MinX(geom) <= {x2} AND ST_MaxX(geom) >= {x1} AND ST_MinY(geom) <= {y2} AND ST_MaxY(geom) >= {y1}",
            rtree_candidates(layer, rows, [&x1, &y1, &x2, &y2])
        );
        if let Some(e) = min_extent {
            let p = w.bind::<Self>(Value::Real(e));
            let _ = write!(
                sql,
                " AND (ST_MaxX(geom) - ST_MinX(geom) >= {p} OR ST_MaxY(geom) - ST_MinY(geom) >= {p})"
            );
        }
        sql
    }

    fn intersects_condition(layer: &LayerDef, rows: Rows, geometry: &Geometry<f64>, w: &mut WhereClause) -> String {
        let Some(rect) = geometry.bounding_rect() else {
            return "1 = 0".to_owned();
        };
        // The R-tree finds the candidates; `ST_Intersects` (gpkg_geom, in
        // Rust) decides exactly, most of them from the envelope in the blob's
        // header, so the exact envelope test of a bbox query would only
        // repeat its work.
        let (min, max) = (rect.min(), rect.max());
        let [x2, x1, y2, y1] = [max.x, min.x, max.y, min.y].map(|v| w.bind::<Self>(Value::Real(v)));
        let p = w.bind::<Self>(Value::Text(hex(&gpkg_geom::encode(geometry, SRS_WGS84))));
        format!(
            "{} AND ST_Intersects(geom, unhex({p}))",
            rtree_candidates(layer, rows, [&x1, &y1, &x2, &y2])
        )
    }

    fn like_condition(column: &str, pattern: &str, w: &mut WhereClause) -> String {
        // SQLite's LIKE ignores ASCII case; GLOB does not.
        let p = w.bind::<Self>(Value::Text(like_to_glob(pattern)));
        format!("{column} GLOB {p}")
    }
}

/// The rows whose R-tree box meets the box of the four placeholders
/// (west, south, east, north): the current features by their `fid`, the
/// past versions by their `hid`.
fn rtree_candidates(layer: &LayerDef, rows: Rows, [x1, y1, x2, y2]: [&str; 4]) -> String {
    let (id, rtree) = match rows {
        Rows::Current => ("fid", schema::rtree(layer)),
        Rows::History => ("hid", history::history_rtree(layer)),
    };
    format!(
        "{id} IN (SELECT id FROM \"{rtree}\" WHERE minx <= {x2} AND maxx >= {x1} AND miny <= {y2} AND maxy >= {y1})"
    )
}

struct SqlValue<'a>(&'a Value);

impl ToSql for SqlValue<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Bool(b) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(i64::from(*b))),
            Value::Int(i) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*i)),
            Value::Real(r) => ToSqlOutput::Owned(rusqlite::types::Value::Real(*r)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

/// The columns of a layer in schema order; fields the audience may not read
/// are selected as `NULL`, so their values never leave the database.
fn select_columns(layer: &LayerDef, audience: Audience, only: Option<&[&str]>) -> String {
    let mut cols = String::from("fid, geom");
    for f in layer.fields {
        if audience.may_read(f.access) && only.is_none_or(|o| o.contains(&f.name)) {
            cols.push_str(", \"");
            cols.push_str(f.name);
            cols.push('"');
        } else {
            cols.push_str(", NULL");
        }
    }
    cols
}

/// The `SELECT` of a query, with its parameters.
fn select_sql(layer: &LayerDef, query: &FeatureQuery) -> Result<(String, Vec<Value>), StoreError> {
    let (rows, params) = rows_sql::<Sqlite>(layer, query, &select_columns(layer, query.audience, query.fields), None)?;
    let order = order_by(query);
    let limit = query.limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    Ok((format!("{rows}{order} LIMIT {limit} OFFSET {}", query.offset), params))
}

/// A query's features with ids above `after`, in id order.
fn after_sql(layer: &LayerDef, query: &FeatureQuery, after: Option<i64>) -> Result<(String, Vec<Value>), StoreError> {
    let (rows, params) = rows_sql::<Sqlite>(
        layer,
        query,
        &select_columns(layer, query.audience, query.fields),
        after,
    )?;
    Ok((format!("{rows} ORDER BY fid"), params))
}

fn row_to_feature(layer: &LayerDef, row: &Row<'_>) -> Result<Feature, StoreError> {
    let id: i64 = row.get(0).map_err(on_layer("reading a row", layer))?;
    let geometry = match row.get_ref(1).map_err(on_layer("reading a geometry", layer))? {
        ValueRef::Blob(b) => gpkg_geom::decode(b).map_err(|source| StoreError::Geometry {
            layer: layer.id.to_owned(),
            id,
            source,
        })?,
        _ => Geometry::GeometryCollection(geo::GeometryCollection(vec![])),
    };
    let mut properties = Vec::with_capacity(layer.fields.len());
    for (i, f) in layer.fields.iter().enumerate() {
        let v = row.get_ref(i + 2).map_err(on_layer("reading an attribute", layer))?;
        properties.push(stored_value(v, f.ty));
    }
    Ok(Feature {
        id,
        geometry,
        properties,
    })
}

/// A stored value as the catalog types it.
fn stored_value(v: ValueRef<'_>, ty: FieldType) -> Value {
    match (v, ty) {
        (ValueRef::Null, _) => Value::Null,
        (ValueRef::Integer(i), FieldType::Boolean) => Value::Bool(i != 0),
        (ValueRef::Integer(i), FieldType::Real) => {
            #[expect(clippy::cast_precision_loss, reason = "SQLite stores whole reals as integers")]
            let r = i as f64;
            Value::Real(r)
        }
        (ValueRef::Integer(i), _) => Value::Int(i),
        (ValueRef::Real(r), _) => Value::Real(r),
        (ValueRef::Text(t) | ValueRef::Blob(t), _) => Value::Text(String::from_utf8_lossy(t).into_owned()),
    }
}

fn query_features(conn: &Connection, layer: &LayerDef, query: &FeatureQuery) -> Result<Vec<Feature>, StoreError> {
    let (sql, params) = select_sql(layer, query)?;
    let mut stmt = conn
        .prepare_cached(&sql)
        .map_err(on_layer("preparing a query", layer))?;
    let mut rows = stmt
        .query(params_from_iter(params.iter().map(SqlValue)))
        .map_err(on_layer("querying features", layer))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(on_layer("querying features", layer))? {
        out.push(row_to_feature(layer, row)?);
    }
    Ok(out)
}

fn write_layer(
    tx: &rusqlite::Transaction<'_>,
    w: &LayerWrite,
    timeline: bool,
    kept: Option<&LayerTimeline>,
) -> Result<usize, StoreError> {
    let layer = w.layer;
    if w.replace {
        tx.execute(&format!("DELETE FROM \"{}\"", layer.id), [])
            .map_err(on_layer("clearing the layer", layer))?;
        if timeline && layer.versioned() {
            history::clear(tx, layer)?;
        }
    }
    let columns: Vec<String> = layer.fields.iter().map(|f| format!("\"{}\"", f.name)).collect();
    let placeholders: Vec<String> = (1..=layer.fields.len() + 1).map(|i| format!("?{i}")).collect();
    let (valid_column, valid_value) = match kept {
        // A copied layer's features keep their ids and times.
        Some(_) => (
            ", fid, valid_from",
            &*format!(", ?{}, ?{}", layer.fields.len() + 2, layer.fields.len() + 3),
        ),
        None => history::insert_column(layer),
    };
    let sql = format!(
        "INSERT INTO \"{}\" (geom, {}{valid_column}) VALUES ({}{valid_value})",
        layer.id,
        columns.join(", "),
        placeholders.join(", ")
    );
    let mut stmt = tx
        .prepare_cached(&sql)
        .map_err(on_layer("preparing the insert", layer))?;
    let invalid = |index: usize, message: String| StoreError::InvalidFeature {
        layer: layer.id.to_owned(),
        index,
        message,
    };
    let mut extent: Option<Rect<f64>> = None;
    for (index, feature) in w.features.iter().enumerate() {
        layer.check_feature(feature).map_err(|m| invalid(index, m))?;
        let geometry = fit_to_layer(layer, &feature.geometry).map_err(|m| invalid(index, m))?;
        if let Some(r) = geometry.bounding_rect() {
            extent = Some(extent.map_or(r, |e| union(e, r)));
        }
        let blob = gpkg_geom::encode(&geometry, SRS_WGS84);
        let mut params: Vec<&dyn ToSql> = Vec::with_capacity(layer.fields.len() + 1);
        params.push(&blob);
        let values: Vec<SqlValue<'_>> = feature.properties.iter().map(SqlValue).collect();
        params.extend(values.iter().map(|v| v as &dyn ToSql));
        let since = kept.and_then(|k| k.since.get(&feature.id)).map(ToString::to_string);
        if kept.is_some() {
            params.push(&feature.id);
            params.push(&since);
        }
        stmt.execute(params.as_slice()).map_err(|e| match e {
            rusqlite::Error::SqliteFailure(_, Some(msg)) => invalid(index, msg),
            e => on_layer("inserting a feature", layer)(e),
        })?;
    }
    if let Some(kept) = kept {
        history::write_past(tx, kept)?;
    }
    record_extent(tx, layer, extent, w.replace)?;
    Ok(w.features.len())
}

/// Grows the extent recorded in `gpkg_contents` by `extent` (a replace
/// starts afresh); deletions never shrink it, which keeps it a correct, if
/// loose, bound without scanning the table.
fn record_extent(
    tx: &rusqlite::Transaction<'_>,
    layer: &LayerDef,
    extent: Option<Rect<f64>>,
    replace: bool,
) -> Result<(), StoreError> {
    let keep_old = if replace { "0" } else { "1" };
    let (x1, y1, x2, y2) = extent.map_or((None, None, None, None), |e| {
        (Some(e.min().x), Some(e.min().y), Some(e.max().x), Some(e.max().y))
    });
    tx.execute(
        &format!(
            "UPDATE gpkg_contents SET
               min_x = CASE WHEN {keep_old} AND min_x IS NOT NULL THEN min(min_x, coalesce(?2, min_x)) ELSE ?2 END,
               min_y = CASE WHEN {keep_old} AND min_y IS NOT NULL THEN min(min_y, coalesce(?3, min_y)) ELSE ?3 END,
               max_x = CASE WHEN {keep_old} AND max_x IS NOT NULL THEN max(max_x, coalesce(?4, max_x)) ELSE ?4 END,
               max_y = CASE WHEN {keep_old} AND max_y IS NOT NULL THEN max(max_y, coalesce(?5, max_y)) ELSE ?5 END,
               last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE table_name = ?1"
        ),
        (layer.id, x1, y1, x2, y2),
    )
    .map_err(on_layer("updating the layer extent", layer))?;
    Ok(())
}

fn union(a: Rect<f64>, b: Rect<f64>) -> Rect<f64> {
    Rect::new(
        coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
        coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
    )
}

fn check_reading(r: &Reading) -> Result<(), String> {
    if r.station_id.is_empty() || r.parameter.is_empty() || r.unit.is_empty() {
        return Err("station_id, parameter and unit are required".into());
    }
    if !r.value.is_finite() {
        return Err(format!("value {} is not a finite number", r.value));
    }
    Ok(())
}

fn ingest(conn: &mut Connection, readings: &[Reading], judge: &Judge) -> Result<Ingested, StoreError> {
    let tx = conn.transaction().map_err(|e| db("starting a transaction", e))?;
    let mut added = 0;
    let mut judged = BTreeMap::new();
    let mut events = Vec::new();
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO readings (station_id, parameter, value, unit, time) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (station_id, parameter, time) DO NOTHING",
            )
            .map_err(|e| db("preparing the readings insert", e))?;
        for (index, r) in readings.iter().enumerate() {
            check_reading(r).map_err(|message| StoreError::InvalidReading { index, message })?;
            added += insert
                .execute((&r.station_id, &r.parameter, r.value, &r.unit, r.time.to_string()))
                .map_err(|e| db("inserting a reading", e))?;
        }
        let mut latest_of = tx
            .prepare_cached(&station_sql::latest_of_station("?1", "r.time"))
            .map_err(|e| db("preparing the latest readings", e))?;
        let mut update = tx
            .prepare_cached(&station_sql::update_latest("?1", "?2", "?3"))
            .map_err(|e| db("preparing the latest-values update", e))?;
        let now = agrimap_model::UtcTime::now();
        for (station, time) in station_sql::newest_by_station(readings) {
            let before = alerts::station_before(&tx, station)?;
            let latest = latest_of
                .query_map([station], reading_row)
                .and_then(Iterator::collect::<rusqlite::Result<Vec<Reading>>>)
                .map_err(|e| db("reading latest readings", e))?;
            let (clock, commune) = before.unzip();
            let (judgement, change) = crate::alerts::after_batch(
                clock.as_ref(),
                commune.unwrap_or_default(),
                time,
                judge(station, &latest),
                now,
            );
            update
                .execute((station, time.to_string(), judgement.0.as_str()))
                .map_err(|e| db("updating latest values", e))?;
            if let Some(change) = change {
                events.push(alerts::insert_event(&tx, change)?);
            }
            judged.insert(station.to_owned(), judgement);
        }
    }
    tx.commit().map_err(|e| db("committing", e))?;
    Ok(Ingested {
        stored: added,
        judged,
        events,
    })
}

fn reading_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Reading> {
    Ok(Reading {
        station_id: r.get(0)?,
        parameter: r.get(1)?,
        value: r.get(2)?,
        unit: r.get(3)?,
        time: station_sql::stored_time(&r.get::<_, String>(4)?)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, e.into()))?,
    })
}

fn write_batch(conn: &mut Connection, batch: &WriteBatch, zones: &ZonesCache) -> Result<WriteSummary, StoreError> {
    let tx = conn.transaction().map_err(|e| db("starting a transaction", e))?;
    let mut summary = WriteSummary::default();
    history::set_clock(&tx, batch.valid_from.unwrap_or_else(agrimap_model::UtcTime::now))?;
    crate::history::check_timelines(batch)?;
    for w in &batch.layers {
        let kept = crate::history::timeline_of(batch, w.layer);
        summary.features += write_layer(&tx, w, batch.valid_from.is_some() || kept.is_some(), kept)?;
    }
    for change in &batch.changes {
        history::set_clock(&tx, change.at)?;
        summary.features += upsert::apply_change(&tx, change)?;
    }
    history::stop_clock(&tx)?;
    if !batch.readings.is_empty() {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO readings (station_id, parameter, value, unit, time) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (station_id, parameter, time) DO NOTHING",
            )
            .map_err(|e| db("preparing the readings insert", e))?;
        for (index, r) in batch.readings.iter().enumerate() {
            check_reading(r).map_err(|message| StoreError::InvalidReading { index, message })?;
            summary.readings += stmt
                .execute((&r.station_id, &r.parameter, r.value, &r.unit, r.time.to_string()))
                .map_err(|e| db("inserting a reading", e))?;
        }
    }
    splits::settle(&tx, zones)?;
    tx.commit().map_err(|e| db("committing", e))?;
    Ok(summary)
}

#[async_trait::async_trait]
impl LayerStore for GpkgStore {
    fn kind(&self) -> &'static str {
        "geopackage"
    }

    fn pool_status(&self) -> Option<crate::PoolStatus> {
        // r2d2 does not count waiters: a caller waits inside `get()`.
        let state = self.pool.state();
        Some(crate::PoolStatus {
            max_size: self.pool.max_size() as usize,
            size: state.connections as usize,
            available: state.idle_connections as usize,
            waiting: 0,
        })
    }

    async fn health(&self) -> Result<(), StoreError> {
        self.with_conn(|c| {
            c.query_row("SELECT count(*) FROM agrimap_layer_version", [], |r| r.get::<_, i64>(0))
                .map(drop)
                .map_err(|e| db("checking health", e))
        })
        .await
    }

    async fn features(&self, layer: &'static LayerDef, query: &FeatureQuery) -> Result<Vec<Feature>, StoreError> {
        let query = query.clone();
        self.with_conn(move |c| query_features(c, layer, &query)).await
    }

    async fn timeline(&self, layer: &'static LayerDef) -> Result<LayerTimeline, StoreError> {
        self.with_conn(move |c| history::timeline(c, layer)).await
    }

    async fn count(&self, layer: &'static LayerDef, query: &FeatureQuery) -> Result<u64, StoreError> {
        let (rows, params) = rows_sql::<Sqlite>(layer, query, "fid", None)?;
        self.with_conn(move |c| {
            let sql = format!("SELECT count(*) FROM ({rows})");
            c.query_row(&sql, params_from_iter(params.iter().map(SqlValue)), |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(on_layer("counting features", layer))
        })
        .await
    }

    async fn feature(
        &self,
        layer: &'static LayerDef,
        id: i64,
        audience: Audience,
    ) -> Result<Option<Feature>, StoreError> {
        self.with_conn(move |c| {
            let sql = format!(
                "SELECT {} FROM \"{}\" WHERE fid = ?1",
                select_columns(layer, audience, None),
                layer.id
            );
            let mut stmt = c.prepare_cached(&sql).map_err(on_layer("preparing a query", layer))?;
            let mut rows = stmt.query([id]).map_err(on_layer("reading a feature", layer))?;
            match rows.next().map_err(on_layer("reading a feature", layer))? {
                Some(row) => row_to_feature(layer, row).map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    async fn feature_as_of(
        &self,
        layer: &'static LayerDef,
        id: i64,
        audience: Audience,
        as_of: Option<agrimap_model::UtcTime>,
    ) -> Result<Option<Feature>, StoreError> {
        let Some(at) = as_of.filter(|_| layer.versioned()) else {
            return self.feature(layer, id, audience).await;
        };
        self.with_conn(move |c| {
            let cols = select_columns(layer, audience, None);
            let sql = format!(
                "SELECT {cols} FROM \"{t}\" WHERE fid = ?1 AND (valid_from IS NULL OR valid_from <= ?2)
                 UNION ALL SELECT {cols} FROM \"{t}_history\"
                   WHERE fid = ?1 AND (valid_from IS NULL OR valid_from <= ?2) AND valid_to > ?2",
                t = layer.id
            );
            let mut stmt = c.prepare_cached(&sql).map_err(on_layer("preparing a query", layer))?;
            let mut rows = stmt
                .query((id, at.to_string()))
                .map_err(on_layer("reading a feature", layer))?;
            match rows.next().map_err(on_layer("reading a feature", layer))? {
                Some(row) => row_to_feature(layer, row).map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    fn stream(&self, layer: &'static LayerDef, query: FeatureQuery) -> FeatureStream {
        self.stream_sql(layer, select_sql(layer, &query))
    }

    fn stream_after(&self, layer: &'static LayerDef, query: FeatureQuery, after: Option<i64>) -> FeatureStream {
        self.stream_sql(layer, after_sql(layer, &query, after))
    }

    async fn extent(&self, layer: &'static LayerDef) -> Result<Option<Rect<f64>>, StoreError> {
        self.with_conn(move |c| {
            c.query_row(
                "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?1",
                [layer.id],
                |r| {
                    let v: [Option<f64>; 4] = [r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?];
                    Ok(match v {
                        [Some(x1), Some(y1), Some(x2), Some(y2)] => {
                            Some(Rect::new(coord! { x: x1, y: y1 }, coord! { x: x2, y: y2 }))
                        }
                        _ => None,
                    })
                },
            )
            .map_err(on_layer("reading the extent", layer))
        })
        .await
    }

    async fn write(&self, batch: WriteBatch) -> Result<WriteSummary, StoreError> {
        let zones = self.zones.clone();
        self.with_conn(move |c| write_batch(c, &batch, &zones)).await
    }

    async fn upsert_all(&self, writes: Vec<Upsert>) -> Result<Vec<UpsertSummary>, StoreError> {
        let zones = self.zones.clone();
        self.with_conn(move |c| upsert::upsert_all(c, &writes, &zones)).await
    }

    async fn restamp_communes(
        &self,
        layer: &'static LayerDef,
        set: agrimap_model::BoundarySet,
        changes: Vec<crate::Restamp>,
    ) -> Result<usize, StoreError> {
        self.with_conn(move |c| {
            let tx = c.transaction().map_err(|e| db("starting a transaction", e))?;
            history::set_clock(&tx, agrimap_model::UtcTime::now())?;
            let mut restamped = 0;
            {
                let mut update = tx
                    .prepare(&format!(
                        "UPDATE \"{}\" SET former_commune_code = commune_code, commune_code = ?2, boundary_set = ?3 \
                         WHERE fid = ?1 AND commune_code IS ?4 AND boundary_set IS NOT ?3",
                        layer.id
                    ))
                    .map_err(on_layer("preparing the recode", layer))?;
                for r in &changes {
                    restamped += update
                        .execute((r.id, &r.code, set.as_str(), &r.read))
                        .map_err(on_layer("recoding a feature", layer))?;
                }
            }
            history::stop_clock(&tx)?;
            tx.commit().map_err(|e| db("committing", e))?;
            Ok(restamped)
        })
        .await
    }

    async fn versions(&self) -> Result<LayerVersions, StoreError> {
        self.with_conn(|c| {
            let mut stmt = c
                .prepare_cached("SELECT layer, version FROM agrimap_layer_version")
                .map_err(|e| db("reading layer versions", e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .map_err(|e| db("reading layer versions", e))?;
            let mut out = LayerVersions::new();
            for row in rows {
                let (name, v) = row.map_err(|e| db("reading layer versions", e))?;
                if let Some(l) = agrimap_model::layer(&name) {
                    out.insert(l.id, u64::try_from(v).unwrap_or(0));
                }
            }
            Ok(out)
        })
        .await
    }
}

#[async_trait::async_trait]
impl ReadingStore for GpkgStore {
    async fn readings(&self, station_id: &str) -> Result<Vec<Reading>, StoreError> {
        let station = station_id.to_owned();
        self.with_conn(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT station_id, parameter, value, unit, time FROM readings WHERE station_id = ?1 ORDER BY time, parameter",
                )
                .map_err(|e| db("reading readings", e))?;
            let rows = stmt
                .query_map([&station], reading_row)
                .map_err(|e| db("reading readings", e))?;
            rows.collect::<Result<Vec<_>, _>>().map_err(|e| db("reading readings", e))
        })
        .await
    }

    async fn ingest(&self, readings: Vec<Reading>, judge: Judge) -> Result<Ingested, StoreError> {
        self.with_conn(move |c| ingest(c, &readings, &judge)).await
    }

    async fn readings_between(&self, query: &ReadingQuery) -> Result<Vec<Reading>, StoreError> {
        let q = query.clone();
        self.with_conn(move |c| {
            let mut sql =
                String::from("SELECT station_id, parameter, value, unit, time FROM readings WHERE station_id = ?1");
            let mut params: Vec<String> = vec![q.station_id];
            let (from, to) = (q.from.map(|t| t.to_string()), q.to.map(|t| t.to_string()));
            for (condition, value) in [("parameter =", q.parameter), ("time >=", from), ("time <=", to)] {
                if let Some(v) = value {
                    params.push(v);
                    let _ = write!(sql, " AND {condition} ?{}", params.len());
                }
            }
            sql.push_str(" ORDER BY time, parameter");
            let mut stmt = c.prepare_cached(&sql).map_err(|e| db("reading readings", e))?;
            let rows = stmt
                .query_map(params_from_iter(&params), reading_row)
                .map_err(|e| db("reading readings", e))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(|e| db("reading readings", e))
        })
        .await
    }

    async fn latest_readings(&self, station_id: Option<&str>) -> Result<Vec<Reading>, StoreError> {
        let station = station_id.map(str::to_owned);
        self.with_conn(move |c| {
            let sql = if station.is_some() {
                station_sql::latest_of_station("?1", "r.time")
            } else {
                station_sql::latest_readings("r.time")
            };
            let mut stmt = c.prepare_cached(&sql).map_err(|e| db("reading latest readings", e))?;
            let rows = stmt
                .query_map(params_from_iter(station.iter()), reading_row)
                .map_err(|e| db("reading latest readings", e))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(|e| db("reading latest readings", e))
        })
        .await
    }
}

#[async_trait::async_trait]
impl CredentialStore for GpkgStore {
    async fn api_token_hash(&self, id: &str) -> Result<Option<String>, StoreError> {
        let id = id.to_owned();
        self.with_conn(move |c| {
            c.query_row("SELECT token_hash FROM agrimap_api_tokens WHERE id = ?1", [&id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| db("reading an API token", e))
        })
        .await
    }

    async fn station_token_hash(&self, station_id: &str) -> Result<Option<String>, StoreError> {
        let station = station_id.to_owned();
        self.with_conn(move |c| {
            c.query_row(
                "SELECT token_hash FROM agrimap_station_tokens WHERE station_id = ?1",
                [&station],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| db("reading a station token", e))
        })
        .await
    }

    async fn set_station_token_hash(&self, station_id: &str, hash: &str) -> Result<bool, StoreError> {
        let (station, hash) = (station_id.to_owned(), hash.to_owned());
        self.with_conn(move |c| {
            // Immediate: a read that then writes must hold the write lock from
            // the start, or a writer in between makes its upgrade fail at once.
            let tx = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(|e| db("starting a transaction", e))?;
            let exists = tx
                .query_row("SELECT 1 FROM monitoring WHERE station_id = ?1", [&station], |_| Ok(()))
                .optional()
                .map_err(|e| db("finding the station", e))?
                .is_some();
            if exists {
                tx.execute(
                    "INSERT INTO agrimap_station_tokens (station_id, token_hash) VALUES (?1, ?2)
                     ON CONFLICT (station_id) DO UPDATE SET token_hash = excluded.token_hash,
                       created_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
                    [&station, &hash],
                )
                .map_err(|e| db("storing a station token", e))?;
            }
            tx.commit().map_err(|e| db("committing", e))?;
            Ok(exists)
        })
        .await
    }

    async fn add_api_token(&self, token: &NewApiToken) -> Result<ApiToken, StoreError> {
        let t = token.clone();
        self.with_conn(move |c| {
            c.query_row(
                &format!(
                    "INSERT INTO agrimap_api_tokens (id, name, role, token_hash, provinces)
                     VALUES (?1, ?2, ?3, ?4, ?5) RETURNING {API_TOKEN_COLUMNS}"
                ),
                [
                    &t.id,
                    &t.name,
                    t.role.name(),
                    &t.hash,
                    &crate::provinces_text(&t.provinces),
                ],
                api_token_row,
            )
            .map_err(|e| db("storing an API token", e))
        })
        .await
    }

    async fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        self.with_conn(|c| {
            let mut stmt = c
                .prepare(&format!(
                    "SELECT {API_TOKEN_COLUMNS} FROM agrimap_api_tokens ORDER BY created_at, id"
                ))
                .map_err(|e| db("listing API tokens", e))?;
            let rows = stmt
                .query_map([], api_token_row)
                .map_err(|e| db("listing API tokens", e))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(|e| db("listing API tokens", e))
        })
        .await
    }

    async fn revoke_api_token(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.with_conn(move |c| {
            c.execute(
                "UPDATE agrimap_api_tokens SET revoked_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
                 WHERE id = ?1 AND revoked_at IS NULL",
                [&id],
            )
            .map(|n| n > 0)
            .map_err(|e| db("revoking an API token", e))
        })
        .await
    }

    async fn api_token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        let hash = hash.to_owned();
        self.with_conn(move |c| {
            c.query_row(
                &format!(
                    "SELECT {API_TOKEN_COLUMNS} FROM agrimap_api_tokens WHERE token_hash = ?1 AND revoked_at IS NULL"
                ),
                [&hash],
                api_token_row,
            )
            .optional()
            .map_err(|e| db("checking an API token", e))
        })
        .await
    }
}

const API_TOKEN_COLUMNS: &str = "id, name, role, created_at, revoked_at, provinces";

/// A time column the store wrote, read back (see [`crate::stored_time`]).
pub(super) fn time_at(r: &Row<'_>, i: usize) -> rusqlite::Result<agrimap_model::UtcTime> {
    let text: String = r.get(i)?;
    agrimap_model::UtcTime::parse(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into()))
}

/// A role column the store wrote, read back: `Anonymous` for a name agrimap does not know.
pub(super) fn role_at(r: &Row<'_>, i: usize) -> rusqlite::Result<Role> {
    Ok(Role::from_name(&r.get::<_, String>(i)?).unwrap_or(Role::Anonymous))
}

fn api_token_row(r: &Row<'_>) -> rusqlite::Result<ApiToken> {
    let revoked: Option<String> = r.get(4)?;
    Ok(ApiToken {
        id: r.get(0)?,
        name: r.get(1)?,
        role: role_at(r, 2)?,
        created_at: time_at(r, 3)?,
        revoked_at: revoked.is_some().then(|| time_at(r, 4)).transpose()?,
        provinces: crate::provinces_of(&r.get::<_, String>(5)?),
    })
}
