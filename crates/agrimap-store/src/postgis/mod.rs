//! The production store: PostgreSQL with PostGIS, through tokio-postgres and
//! a deadpool connection pool.
//!
//! Geometry crosses the boundary as WKB (`ST_AsBinary` / `ST_GeomFromWKB`)
//! through the same codec as the GeoPackage store. Every value is a bind
//! parameter with an explicit type; table and column names come from the
//! catalog. Connecting times out after two seconds, so a stopped database
//! answers "unavailable" quickly instead of hanging requests; waiting for a
//! free connection of a busy pool may take longer (see [`BUSY_WAIT`]).
//!
//! With [`PgStore::with_replicas`], reads of layers go to streaming replicas
//! that have caught up with the layer (`replicas.rs`); everything else, and
//! every write, stays on the primary.

mod alerts;
mod cancel;
mod codes;
mod crosswalk;
mod ntm;
mod overviews;
mod partitions;
mod registry;
mod replicas;
mod schema;
mod splits;
mod upsert;
mod versions;

use cancel::Guarded;

use crate::layer_geometry::fit_to_layer;
use crate::sql::{Dialect, WhereClause, hex, order_by};
use crate::station_sql;
use crate::wkb::{read_wkb, write_wkb};
use crate::{
    ApiToken, CredentialStore, FeatureStream, Ingested, Judge, LayerStore, LayerTimeline, LayerVersions, LayerWrite,
    NewApiToken, PastVersion, ReadingQuery, ReadingStore, StoreError, Upsert, UpsertSummary, WriteBatch, WriteSummary,
};
use crate::{Rows, rows_sql};
use agrimap_model::{Audience, Feature, FeatureQuery, FieldType, LayerDef, Reading, Role, UtcTime, Value, catalog};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use geo::{Geometry, Rect, coord};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};
use tokio_stream::wrappers::ReceiverStream;
use versions::VersionWatch;

const TIMEOUT: Duration = Duration::from_secs(2);
/// The longest any statement may run (a bulk load is many statements).
const STATEMENT_TIMEOUT: Duration = Duration::from_mins(1);
/// How long a request waits for a connection when all are in use. A stopped
/// database does not make requests wait this long: its connections fail at
/// once and new ones are refused (or time out after [`TIMEOUT`]); only a pool
/// busy with real work does, and such a wait is a queue, not a fault.
const BUSY_WAIT: Duration = Duration::from_secs(15);

/// The PostGIS store.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    config: tokio_postgres::Config,
    /// Started by the first `versions()` call, which runs inside the runtime.
    watch: Arc<OnceLock<VersionWatch>>,
    /// Streaming replicas that take reads of layers (see `replicas.rs`).
    replicas: Option<Arc<replicas::Replicas>>,
    /// The commune zones the splits of written features are computed over.
    zones: Arc<crate::splits::ZonesCache>,
}

fn pg(action: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |source| {
        if source.code() == Some(&tokio_postgres::error::SqlState::QUERY_CANCELED) {
            StoreError::Timeout(action)
        } else if is_unavailable(&source) {
            StoreError::Unavailable(format!("while {action}: the database connection failed"))
        } else {
            StoreError::Postgres { action, source }
        }
    }
}

/// Whether an error means the database is gone (stopped, restarting,
/// unreachable) rather than that the request was wrong.
fn is_unavailable(e: &tokio_postgres::Error) -> bool {
    // SQLSTATE class 08: connection exception; 57P: shutdown, crash, cannot connect now.
    let state = e.code().map(tokio_postgres::error::SqlState::code);
    e.is_closed()
        || state.is_some_and(|c| c.starts_with("08") || c.starts_with("57P"))
        || std::error::Error::source(e).is_some_and(<dyn std::error::Error + 'static>::is::<std::io::Error>)
}

/// The pool of a connection configuration (the primary's or a replica's),
/// with agrimap's timeouts and session settings, and the configuration as
/// completed.
fn pool_of(config: tokio_postgres::Config) -> Result<(Pool, tokio_postgres::Config), StoreError> {
    let mut config = config;
    config.connect_timeout(TIMEOUT);
    // No statement runs for ever, unless the URL says otherwise
    // (`?options=-c%20statement_timeout%3D…`).
    let mut options = config.get_options().unwrap_or("").to_owned();
    if !options.contains("statement_timeout") {
        options = format!("{options} -c statement_timeout={}", STATEMENT_TIMEOUT.as_millis());
    }
    // PostgreSQL compiles a query whose estimated cost is high, and a
    // filter with a large polygon (ST_Intersects is costed high) paid
    // 50–110 ms of compiling for a 60 ms query; agrimap's queries are
    // short, so JIT is off unless the URL says otherwise.
    if !options.contains("jit") {
        options = format!("{options} -c jit=off");
    }
    config.options(options.trim());
    // Notice a silently dropped connection (the listener's in particular).
    config.keepalives_idle(Duration::from_secs(10));
    let manager = Manager::from_config(
        config.clone(),
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(manager)
        .max_size(16)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(BUSY_WAIT))
        .create_timeout(Some(TIMEOUT))
        .recycle_timeout(Some(TIMEOUT))
        .build()
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    Ok((pool, config))
}

impl PgStore {
    /// Connects a pool to `url` (`postgres://user@host:port/db`). The URL never
    /// appears in errors: it may hold a password.
    ///
    /// # Errors
    /// When the URL cannot be parsed.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|_| StoreError::Unavailable("the database URL cannot be parsed".into()))?;
        let (pool, config) = pool_of(config)?;
        Ok(Self {
            pool,
            config,
            watch: Arc::new(OnceLock::new()),
            replicas: None,
            zones: Arc::default(),
        })
    }

    /// Sends reads of layers to these streaming replicas of the primary
    /// (see `replicas.rs`): each must answer now and be a replica of this
    /// primary, else nothing starts. A replica further behind than `max_lag`
    /// is left out until it catches up. Replica URLs never appear in errors,
    /// only their `host:port/database`.
    ///
    /// # Errors
    /// When a URL cannot be parsed, a replica cannot be reached, is a
    /// primary or is a replica of another cluster, or the primary cannot be
    /// reached.
    pub async fn with_replicas(mut self, urls: &[String], max_lag: Duration) -> Result<Self, StoreError> {
        if urls.is_empty() {
            return Ok(self);
        }
        let primary_id = replicas::system_identifier(&self.pool).await?;
        let mut members = Vec::with_capacity(urls.len());
        for (k, url) in urls.iter().enumerate() {
            let config: tokio_postgres::Config = url
                .parse()
                .map_err(|_| StoreError::Replica(format!("replica URL number {} cannot be parsed", k + 1)))?;
            let name = replicas::name_of(&config);
            let (pool, _) = pool_of(config)?;
            replicas::check_at_start(&name, &pool, &primary_id).await?;
            members.push((name, pool));
        }
        let replicas = Arc::new(replicas::Replicas::new(members, max_lag));
        replicas::start(self.pool.clone(), &replicas);
        // Routing needs the primary's counters from the first read on.
        self.watch.get_or_init(|| VersionWatch::start(self.config.clone()));
        self.replicas = Some(replicas);
        Ok(self)
    }

    /// Where a read of `layer` goes: a replica that has caught up with it,
    /// or the primary; `None` without replicas.
    fn route(&self, layer: &'static LayerDef) -> Option<(&replicas::Replicas, replicas::Target<'_>)> {
        let replicas = self.replicas.as_deref()?;
        // The counters the primary has reached, as far as this instance
        // knows (its own writes included); unknown while the listener is
        // down, and then every read goes to the primary.
        let needed = self
            .watch
            .get()
            .and_then(VersionWatch::get)
            .map(|v| v.get(layer.id).copied().unwrap_or(0));
        Some((replicas, replicas.pick(layer.id, needed)))
    }

    /// Streams the rows of a query. Dropping the stream cancels the query
    /// (and retires its connection), so the database stops at once. On a
    /// replica, the ids sent are kept (8 bytes a feature), so that when the
    /// replica fails half-way the query runs again on the primary and sends
    /// only the features not sent yet.
    fn stream_sql(&self, layer: &'static LayerDef, sql: Result<(String, Vec<Value>), StoreError>) -> FeatureStream {
        let (tx, rx) = tokio::sync::mpsc::channel(512);
        let store = self.clone();
        tokio::spawn(async move {
            let run = async {
                let (sql, params) = sql?;
                let params: Vec<_> = params.iter().map(param).collect();
                let mut skip = None;
                let routed = store.route(layer);
                if let Some((replicas, target @ replicas::Target::Replica(replica))) = routed {
                    let mut sent = Vec::new();
                    let on_replica = async {
                        let client = replica
                            .pool
                            .get()
                            .await
                            .map_err(|e| StoreError::Unavailable(format!("no replica connection: {e}")))?;
                        send_rows(Guarded::new(client), layer, &sql, &params, &tx, Sent::Record(&mut sent)).await
                    };
                    match on_replica.await {
                        Ok(()) => {
                            replicas.answered(target);
                            return Ok(());
                        }
                        Err(e) if replicas::worth_retrying(&e) => replica.failed(&e),
                        Err(e) => return Err(e),
                    }
                    skip = Some(sent.into_iter().collect::<std::collections::HashSet<i64>>());
                }
                let guarded = Guarded::new(store.client().await?);
                let sent = skip.as_ref().map_or(Sent::Ignore, Sent::Skip);
                send_rows(guarded, layer, &sql, &params, &tx, sent).await?;
                if let Some((replicas, _)) = routed {
                    replicas.answered(replicas::Target::Primary);
                }
                Ok::<(), StoreError>(())
            };
            if let Err(e) = run.await {
                let _ = tx.send(Err(e)).await;
            }
        });
        Box::pin(ReceiverStream::new(rx))
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(format!("no database connection: {e}")))
    }

    /// The plan PostgreSQL makes for the read `features(layer, query)` runs
    /// (`EXPLAIN`, without costs): which partitions and indexes it touches.
    ///
    /// # Errors
    /// When the query is invalid or the database fails.
    pub async fn plan(&self, layer: &'static LayerDef, query: &FeatureQuery) -> Result<String, StoreError> {
        let (sql, params) = select_sql(layer, query)?;
        let params: Vec<_> = params.iter().map(param).collect();
        let client = self.client().await?;
        let rows = client
            .query(&format!("EXPLAIN (COSTS OFF) {sql}"), &refs(&params))
            .await
            .map_err(pg("explaining a query"))?;
        Ok(rows
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
            .join("\n"))
    }

    /// How many past versions of `layer`'s features the database keeps (0
    /// for a layer without history): a count, so that a caller comparing
    /// histories reads a whole one only when the counts agree.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn past_versions(&self, layer: &'static LayerDef) -> Result<u64, StoreError> {
        if !layer.versioned() {
            return Ok(0);
        }
        let client = self.client().await?;
        let row = client
            .query_one(
                &format!("SELECT count(*) FROM {}", crate::history::history_table(layer)),
                &[],
            )
            .await
            .map_err(pg("counting past versions"))?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    /// Applies the migrations not yet applied ([`Self::migrate_schema`]),
    /// then splits the features stored without their splits: those of a
    /// store made before splits were kept, and those another program wrote
    /// in bulk, once now rather than in the first statistic's request.
    ///
    /// # Errors
    /// When the database refuses a migration, or splitting fails.
    pub async fn migrate(&self) -> Result<Vec<i32>, StoreError> {
        let applied = self.migrate_schema().await?;
        self.settle_pending().await?;
        Ok(applied)
    }

    /// Applies the migrations not yet applied, each in its own transaction,
    /// under an advisory lock so that instances starting together agree,
    /// and leaves pending splits pending (`agrimap splits recompute`, which
    /// splits everything anyway). Returns the versions applied now.
    ///
    /// # Errors
    /// When the database refuses a migration.
    pub async fn migrate_schema(&self) -> Result<Vec<i32>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg("starting the migration"))?;
        tx.batch_execute(
            "SET LOCAL client_min_messages = warning;
             SELECT pg_advisory_xact_lock(7304719);
             CREATE TABLE IF NOT EXISTS agrimap_migrations (version integer PRIMARY KEY, name text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now());",
        )
        .await
        .map_err(pg("preparing the migrations table"))?;
        let mut applied = Vec::new();
        for (version, name, sql) in schema::MIGRATIONS {
            let done = tx
                .query_opt("SELECT 1 FROM agrimap_migrations WHERE version = $1", &[version])
                .await
                .map_err(pg("reading applied migrations"))?;
            if done.is_none() {
                tx.batch_execute(sql).await.map_err(pg("applying a migration"))?;
                tx.execute(
                    "INSERT INTO agrimap_migrations (version, name) VALUES ($1, $2)",
                    &[version, name],
                )
                .await
                .map_err(pg("recording a migration"))?;
                if *version == schema::CODES_MIGRATION || schema::NEW_LISTS_MIGRATIONS.contains(version) {
                    codes::seed(&tx).await?;
                }
                applied.push(*version);
            }
        }
        // Every time, not only with the migration: a release may ship new sets.
        ntm::add_shipped_sets(&tx).await?;
        tx.commit().await.map_err(pg("committing the migrations"))?;
        Ok(applied)
    }
}

/// Runs a read of a layer on a replica that has caught up with it, or on
/// the primary; a read a replica fails for want of a connection (or that
/// recovery cancelled) is run again on the primary. `$body` is an
/// expression of type `Result<T, StoreError>` over the guarded client `$g`,
/// and finishes it. (A macro rather than a function taking an async
/// closure: the futures of such closures cannot be shown `Send` to
/// `async_trait`.)
macro_rules! routed_read {
    ($store:expr, $layer:expr, |$g:ident| $body:expr) => {{
        let store: &PgStore = $store;
        match store.route($layer) {
            None => {
                let $g = Guarded::new(store.client().await?);
                $body
            }
            Some((replicas, target)) => {
                let mut answer = None;
                if let replicas::Target::Replica(replica) = target {
                    let attempt: Result<_, StoreError> = async {
                        let client = replica
                            .pool
                            .get()
                            .await
                            .map_err(|e| StoreError::Unavailable(format!("no replica connection: {e}")))?;
                        let $g = Guarded::new(client);
                        $body
                    }
                    .await;
                    match attempt {
                        Ok(found) => {
                            replicas.answered(target);
                            answer = Some(Ok(found));
                        }
                        Err(e) if replicas::worth_retrying(&e) => replica.failed(&e),
                        Err(e) => answer = Some(Err(e)),
                    }
                }
                match answer {
                    Some(answer) => answer,
                    None => {
                        let attempt: Result<_, StoreError> = async {
                            let $g = Guarded::new(store.client().await?);
                            $body
                        }
                        .await;
                        if attempt.is_ok() {
                            replicas.answered(replicas::Target::Primary);
                        }
                        attempt
                    }
                }
            }
        }
    }};
}

struct Postgres;

/// The PostgreSQL type a value is sent as.
fn wire_type(value: &Value) -> &'static str {
    match value {
        Value::Null | Value::Text(_) => "text",
        Value::Int(_) => "int8",
        Value::Real(_) => "float8",
        Value::Bool(_) => "bool",
    }
}

impl Dialect for Postgres {
    fn placeholder(n: usize, value: &Value, column: Option<FieldType>) -> String {
        let sent = wire_type(value);
        match column.map(schema::column_type) {
            Some(col)
                if !matches!(
                    (sent, col),
                    ("text", "text") | ("int8", "bigint") | ("float8", "double precision") | ("bool", "boolean")
                ) =>
            {
                format!("${n}::{sent}::{col}")
            }
            _ => format!("${n}::{sent}"),
        }
    }

    fn bbox_condition(
        _layer: &LayerDef,
        _rows: Rows,
        rect: Rect<f64>,
        min_extent: Option<f64>,
        w: &mut WhereClause,
    ) -> String {
        let (min, max) = (rect.min(), rect.max());
        let [x1, y1, x2, y2] = [min.x, min.y, max.x, max.y].map(|v| w.bind::<Self>(Value::Real(v)));
        let mut sql = format!("geom && ST_MakeEnvelope({x1}, {y1}, {x2}, {y2}, 4326)");
        if let Some(e) = min_extent {
            let p = w.bind::<Self>(Value::Real(e));
            let _ = write!(
                sql,
                " AND (ST_XMax(geom) - ST_XMin(geom) >= {p} OR ST_YMax(geom) - ST_YMin(geom) >= {p})"
            );
        }
        sql
    }

    fn intersects_condition(_layer: &LayerDef, _rows: Rows, geometry: &Geometry<f64>, w: &mut WhereClause) -> String {
        let mut wkb = Vec::new();
        write_wkb(geometry, &mut wkb);
        let p = w.bind::<Self>(Value::Text(hex(&wkb)));
        format!("ST_Intersects(geom, ST_GeomFromWKB(decode({p}, 'hex'), 4326))")
    }

    fn like_condition(column: &str, pattern: &str, w: &mut WhereClause) -> String {
        // Backslash is PostgreSQL's default LIKE escape, as it is CQL2's; LIKE is case-sensitive.
        let p = w.bind::<Self>(Value::Text(pattern.to_owned()));
        format!("{column} LIKE {p}")
    }

    fn text_order(column: &str) -> String {
        format!("{column} COLLATE \"C\"")
    }

    fn table(name: &str) -> String {
        name.to_owned()
    }

    /// The provinces' partitions and that of features of no known province
    /// (whose commune may still be one of theirs, if its boundaries came
    /// after them): PostgreSQL then scans those partitions only. The history
    /// tables are not partitioned.
    fn province_condition(layer: &LayerDef, rows: Rows, codes: &[String], w: &mut WhereClause) -> Option<String> {
        if rows != Rows::Current || !schema::partitioned(layer) {
            return None;
        }
        let mut listed: Vec<String> = codes.iter().map(|c| w.bind::<Self>(Value::Text(c.clone()))).collect();
        listed.push("''".to_owned());
        Some(format!("province_code IN ({})", listed.join(", ")))
    }
}

/// A value as a typed parameter.
fn param(value: &Value) -> Box<dyn ToSql + Sync + Send> {
    match value {
        Value::Null => Box::new(None::<String>),
        Value::Text(s) => Box::new(s.clone()),
        Value::Int(i) => Box::new(*i),
        Value::Real(r) => Box::new(*r),
        Value::Bool(b) => Box::new(*b),
    }
}

fn refs(params: &[Box<dyn ToSql + Sync + Send>]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
}

/// What a stream does with the ids of the features it sends.
enum Sent<'a> {
    Ignore,
    /// Keeps them, in case the rest must come from elsewhere.
    Record(&'a mut Vec<i64>),
    /// Leaves out those already sent from elsewhere.
    Skip(&'a std::collections::HashSet<i64>),
}

/// Sends the features a query finds into `tx`. A failed row ends it with
/// the error (the caller decides whether to go on elsewhere); a consumer
/// gone ends it at once, and the guard cancels the rest.
async fn send_rows(
    guarded: Guarded,
    layer: &'static LayerDef,
    sql: &str,
    params: &[Box<dyn ToSql + Sync + Send>],
    tx: &tokio::sync::mpsc::Sender<Result<Feature, StoreError>>,
    mut sent: Sent<'_>,
) -> Result<(), StoreError> {
    use futures::StreamExt;
    let mut rows = Box::pin(
        guarded
            .client()
            .query_raw(sql, refs(params))
            .await
            .map_err(pg("streaming features"))?,
    );
    while let Some(row) = rows.next().await {
        let item = row_to_feature(layer, &row.map_err(pg("streaming features"))?);
        if let Ok(f) = &item {
            match &mut sent {
                Sent::Record(ids) => ids.push(f.id),
                Sent::Skip(ids) if ids.contains(&f.id) => continue,
                Sent::Ignore | Sent::Skip(_) => {}
            }
        }
        if tx.send(item).await.is_err() {
            // The consumer went away: `guarded` cancels the rest.
            return Ok(());
        }
    }
    drop(rows);
    guarded.finish();
    Ok(())
}

/// The select list of a layer: WKB geometry, dates as ISO text, restricted
/// fields as NULL for readers who may not see them.
fn select_columns(layer: &LayerDef, audience: Audience, only: Option<&[&str]>) -> String {
    let mut cols = String::from("fid, ST_AsBinary(geom)");
    for f in layer.fields {
        let c = f.name;
        let read = audience.may_read(f.access) && only.is_none_or(|o| o.contains(&f.name));
        let column = match (read, f.ty) {
            // Typed: a row's values are read by the field's type.
            (false, FieldType::Date | FieldType::DateTime) => "NULL::text".to_owned(),
            (false, ty) => format!("NULL::{}", schema::column_type(ty)),
            (true, FieldType::Date) => format!("to_char({c}, 'YYYY-MM-DD')"),
            (true, FieldType::DateTime) => format!("to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"),
            (true, _) => c.to_owned(),
        };
        cols.push_str(", ");
        cols.push_str(&column);
    }
    cols
}

/// A page of a box that matches at most this many features is read through
/// the spatial index and sorted (see [`select_sql`]).
const READ_BY_BOX: u64 = 100_000;

fn select_sql(layer: &LayerDef, query: &FeatureQuery) -> Result<(String, Vec<Value>), StoreError> {
    let (rows, params) =
        rows_sql::<Postgres>(layer, query, &select_columns(layer, query.audience, query.fields), None)?;
    let order = order_by(query);
    let limit = query.limit.map_or_else(|| "ALL".to_owned(), |l| l.to_string());
    let offset = query.offset;
    // For a page in id order PostgreSQL walks each partition's primary key
    // and filters by the box, expecting the box's features spread over the
    // whole order; a partition with none of them is walked to its end (2.7 s
    // for a small box among five provinces of 2,000,000 parcels). When the
    // caller counted few matches, the box's index finds them and they are
    // sorted; `OFFSET 0` keeps the planner from folding the two back together.
    if query.bbox.is_some() && query.limit.is_some() && query.matches.is_some_and(|m| m <= READ_BY_BOX) {
        return Ok((
            format!("SELECT * FROM ({rows} OFFSET 0) AS in_box{order} LIMIT {limit} OFFSET {offset}"),
            params,
        ));
    }
    Ok((format!("{rows}{order} LIMIT {limit} OFFSET {offset}"), params))
}

/// A read-only transaction that sees one snapshot of the whole database,
/// for reads of several tables that must agree.
async fn snapshot(client: &mut deadpool_postgres::Client) -> Result<deadpool_postgres::Transaction<'_>, StoreError> {
    client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(pg("starting a transaction"))
}

/// Sets the instant the transaction's writes take effect (see [`crate::history`]).
async fn set_valid_time(tx: &deadpool_postgres::Transaction<'_>, at: agrimap_model::UtcTime) -> Result<(), StoreError> {
    tx.execute("SELECT set_config('agrimap.valid_time', $1, true)", &[&at.to_string()])
        .await
        .map_err(pg("setting the write clock"))?;
    Ok(())
}

fn row_to_feature(layer: &LayerDef, row: &Row) -> Result<Feature, StoreError> {
    let id: i64 = row.get(0);
    let wkb: &[u8] = row.get(1);
    let geometry = read_wkb(wkb).map_err(|source| StoreError::Geometry {
        layer: layer.id.to_owned(),
        id,
        source,
    })?;
    let properties = layer
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let i = i + 2;
            match f.ty {
                FieldType::Integer => row.get::<_, Option<i64>>(i).map_or(Value::Null, Value::Int),
                FieldType::Real => row.get::<_, Option<f64>>(i).map_or(Value::Null, Value::Real),
                FieldType::Boolean => row.get::<_, Option<bool>>(i).map_or(Value::Null, Value::Bool),
                _ => row.get::<_, Option<String>>(i).map_or(Value::Null, Value::Text),
            }
        })
        .collect();
    Ok(Feature {
        id,
        geometry,
        properties,
    })
}

/// The change counter of every catalog layer.
async fn read_versions(client: &tokio_postgres::Client) -> Result<LayerVersions, tokio_postgres::Error> {
    let rows = client
        .query("SELECT layer, version FROM agrimap_layer_version", &[])
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let name: String = r.get(0);
            let v: i64 = r.get(1);
            catalog()
                .iter()
                .find(|l| l.id == name)
                .map(|l| (l.id, u64::try_from(v).unwrap_or(0)))
        })
        .collect())
}

/// A write of at least this many rows to a table refreshes its statistics.
const ANALYZE_AFTER: usize = 10_000;
/// Readings are pipelined this many at a time on one connection.
const PIPELINE: usize = 256;
/// COPY data is sent in chunks of about this many bytes.
const COPY_CHUNK: usize = 1 << 20;

/// Extended WKB with the SRID, as COPY's text input for a geometry column wants it.
fn ewkb_hex(g: &Geometry<f64>, out: &mut String) {
    let mut wkb = Vec::with_capacity(128);
    write_wkb(g, &mut wkb);
    // Little-endian ISO WKB: byte order, type; EWKB adds the SRID flag and value.
    let ty = u32::from_le_bytes([wkb[1], wkb[2], wkb[3], wkb[4]]) | 0x2000_0000;
    let mut ewkb = Vec::with_capacity(wkb.len() + 4);
    ewkb.push(1);
    ewkb.extend_from_slice(&ty.to_le_bytes());
    ewkb.extend_from_slice(&4326u32.to_le_bytes());
    ewkb.extend_from_slice(&wkb[5..]);
    for b in ewkb {
        let _ = write!(out, "{b:02x}");
    }
}

/// One value in COPY text format.
fn copy_value(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("\\N"),
        Value::Bool(b) => out.push_str(if *b { "t" } else { "f" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Real(r) => {
            let _ = write!(out, "{r}");
        }
        Value::Text(s) => copy_str(s, out),
    }
}

/// Text in COPY's text format: backslashes and line and field separators escaped.
fn copy_str(s: &str, out: &mut String) {
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// Adds a layer's features with one COPY: one statement, so the change
/// counter moves once and other instances hear one notification.
async fn write_layer(
    tx: &deadpool_postgres::Transaction<'_>,
    w: &LayerWrite,
    timeline: bool,
    kept: Option<&LayerTimeline>,
) -> Result<usize, StoreError> {
    let layer = w.layer;
    if w.replace {
        tx.execute(&format!("DELETE FROM {}", layer.id), &[])
            .await
            .map_err(pg("clearing a layer"))?;
        if timeline && layer.versioned() {
            tx.execute(&format!("DELETE FROM {}_history", layer.id), &[])
                .await
                .map_err(pg("clearing a layer's history"))?;
        }
    }
    let invalid = |index: usize, message: String| StoreError::InvalidFeature {
        layer: layer.id.to_owned(),
        index,
        message,
    };
    // Validate everything before sending anything.
    let mut geometries = Vec::with_capacity(w.features.len());
    for (index, feature) in w.features.iter().enumerate() {
        layer.check_feature(feature).map_err(|m| invalid(index, m))?;
        geometries.push(fit_to_layer(layer, &feature.geometry).map_err(|m| invalid(index, m))?);
    }
    let provinces = partitions::provinces_of(tx, layer, &w.features).await?;
    let extra = kept.map(|k| kept_columns(&w.features, k)).unwrap_or_default();
    copy_features(
        tx,
        layer.id,
        layer,
        &w.features,
        &geometries,
        provinces.as_deref(),
        &extra,
    )
    .await?;
    if let Some(kept) = kept {
        write_past(tx, kept).await?;
    }
    if layer.id == "admin_commune" {
        partitions::add_provinces(tx).await?;
    }
    Ok(w.features.len())
}

/// A `timestamptz` as COPY takes it: "since ever" is `-infinity`.
fn copy_time(at: Option<UtcTime>) -> Value {
    Value::Text(at.map_or_else(|| "-infinity".to_owned(), |t| t.to_string()))
}

/// The columns a layer copied with its timeline adds to its features:
/// their own ids, and when each took its present form.
fn kept_columns(features: &[Feature], kept: &LayerTimeline) -> Vec<(&'static str, Vec<Value>)> {
    vec![
        ("fid", features.iter().map(|f| Value::Int(f.id)).collect()),
        (
            "valid_from",
            features
                .iter()
                .map(|f| copy_time(kept.since.get(&f.id).copied()))
                .collect(),
        ),
    ]
}

/// Writes a copied layer's past versions, and moves its id sequence past
/// every id the copy brought, current or past.
async fn write_past(tx: &deadpool_postgres::Transaction<'_>, kept: &LayerTimeline) -> Result<(), StoreError> {
    let layer = kept.layer;
    let features: Vec<Feature> = kept.versions.iter().map(|v| v.feature.clone()).collect();
    let mut geometries = Vec::with_capacity(features.len());
    for (index, feature) in features.iter().enumerate() {
        let invalid = |message: String| StoreError::InvalidFeature {
            layer: format!("{} (past versions)", layer.id),
            index,
            message,
        };
        layer.check_past_feature(feature).map_err(invalid)?;
        geometries.push(fit_to_layer(layer, &feature.geometry).map_err(invalid)?);
    }
    let extra = [
        ("fid", features.iter().map(|f| Value::Int(f.id)).collect()),
        (
            "valid_from",
            kept.versions.iter().map(|v| copy_time(v.valid_from)).collect(),
        ),
        (
            "valid_to",
            kept.versions.iter().map(|v| copy_time(Some(v.valid_to))).collect(),
        ),
    ];
    let table = crate::history::history_table(layer);
    copy_features(tx, &table, layer, &features, &geometries, None, &extra).await?;
    tx.execute(
        &format!(
            "SELECT setval('{t}_fid_seq', greatest(
               (SELECT max(fid) FROM {t}), (SELECT max(fid) FROM {table}), (SELECT last_value FROM {t}_fid_seq)))",
            t = layer.id
        ),
        &[],
    )
    .await
    .map_err(pg("moving a layer's ids past the copy"))?;
    Ok(())
}

/// Sends features, already checked and fitted to the layer, into `table`
/// (the layer's own table or one shaped like it) with one COPY, with the
/// province of each when the table is partitioned by province, and the
/// `extra` columns' values, one for each feature.
async fn copy_features(
    tx: &deadpool_postgres::Transaction<'_>,
    table: &str,
    layer: &LayerDef,
    features: &[Feature],
    geometries: &[Geometry<f64>],
    provinces: Option<&[String]>,
    extra: &[(&str, Vec<Value>)],
) -> Result<(), StoreError> {
    use futures::SinkExt;
    // A COPY error names its line; that is the feature's index.
    let invalid = |index: usize, message: String| StoreError::InvalidFeature {
        layer: layer.id.to_owned(),
        index,
        message,
    };
    let mut columns: Vec<&str> = layer.fields.iter().map(|f| f.name).collect();
    if provinces.is_some() {
        columns.push("province_code");
    }
    columns.extend(extra.iter().map(|(name, _)| *name));
    let sink = tx
        .copy_in(&format!("COPY {table} (geom, {}) FROM STDIN", columns.join(", ")))
        .await
        .map_err(pg("starting a COPY"))?;
    futures::pin_mut!(sink);
    let mut buf = String::with_capacity(COPY_CHUNK + 4096);
    for (index, (feature, geometry)) in features.iter().zip(geometries).enumerate() {
        ewkb_hex(geometry, &mut buf);
        for v in &feature.properties {
            buf.push('\t');
            copy_value(v, &mut buf);
        }
        if let Some(provinces) = provinces {
            buf.push('\t');
            copy_value(&Value::Text(provinces[index].clone()), &mut buf);
        }
        for (_, values) in extra {
            buf.push('\t');
            copy_value(&values[index], &mut buf);
        }
        buf.push('\n');
        if buf.len() >= COPY_CHUNK {
            sink.send(bytes::Bytes::from(std::mem::take(&mut buf)))
                .await
                .map_err(pg("copying features"))?;
        }
    }
    if !buf.is_empty() {
        sink.send(bytes::Bytes::from(buf))
            .await
            .map_err(pg("copying features"))?;
    }
    sink.finish().await.map_err(|e| match e.as_db_error() {
        Some(db) => {
            let line = copy_line(db.where_()).unwrap_or(0);
            let province = provinces.and_then(|p| p.get(line)).map(String::as_str);
            partitions::no_partition(layer, db, province).unwrap_or_else(|| invalid(line, db.message().to_owned()))
        }
        None => pg("copying features")(e),
    })?;
    Ok(())
}

/// Inserts readings, pipelined, skipping those already stored; returns how many were new.
async fn insert_readings(tx: &deadpool_postgres::Transaction<'_>, readings: &[Reading]) -> Result<usize, StoreError> {
    if readings.is_empty() {
        return Ok(0);
    }
    let stmt = tx
        .prepare(
            "INSERT INTO readings (station_id, parameter, value, unit, time)
             VALUES ($1::text, $2::text, $3::float8, $4::text, $5::text::timestamptz)
             ON CONFLICT (station_id, parameter, time) DO NOTHING",
        )
        .await
        .map_err(pg("preparing the readings insert"))?;
    for (index, r) in readings.iter().enumerate() {
        if r.station_id.is_empty() || r.parameter.is_empty() || r.unit.is_empty() || !r.value.is_finite() {
            return Err(StoreError::InvalidReading {
                index,
                message: "station_id, parameter, unit and a finite value are required".into(),
            });
        }
    }
    let mut added = 0;
    for (chunk_no, chunk) in readings.chunks(PIPELINE).enumerate() {
        let inserts = chunk.iter().map(|r| {
            let stmt = &stmt;
            async move {
                let time = r.time.to_string();
                tx.execute(stmt, &[&r.station_id, &r.parameter, &r.value, &r.unit, &time])
                    .await
            }
        });
        for (k, result) in futures::future::join_all(inserts).await.into_iter().enumerate() {
            let n = result.map_err(|e| match e.as_db_error() {
                Some(db) => StoreError::InvalidReading {
                    index: chunk_no * PIPELINE + k,
                    message: db.message().to_owned(),
                },
                None => pg("inserting a reading")(e),
            })?;
            added += usize::try_from(n).unwrap_or(0);
        }
    }
    Ok(added)
}

fn reading_of(r: &Row) -> Result<Reading, StoreError> {
    Ok(Reading {
        station_id: r.get(0),
        parameter: r.get(1),
        value: r.get(2),
        unit: r.get(3),
        time: station_sql::stored_time(r.get(4)).map_err(StoreError::Corrupt)?,
    })
}

/// Readings' `time` as ISO 8601 UTC text, as the GeoPackage store keeps it.
const READING_TIME: &str = "to_char(r.time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

/// The 0-based row of a COPY error, from its context (`COPY crop, line 12, ...`).
fn copy_line(context: Option<&str>) -> Option<usize> {
    let after = context?.split("line ").nth(1)?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse::<usize>().ok()?.checked_sub(1)
}

#[async_trait::async_trait]
impl LayerStore for PgStore {
    fn kind(&self) -> &'static str {
        "postgis"
    }

    fn pool_status(&self) -> Option<crate::PoolStatus> {
        let status = self.pool.status();
        Some(crate::PoolStatus {
            max_size: status.max_size,
            size: status.size,
            available: status.available,
            waiting: status.waiting,
        })
    }

    fn replica_status(&self) -> Option<crate::ReplicaStatus> {
        self.replicas.as_ref().map(|r| r.status())
    }

    async fn health(&self) -> Result<(), StoreError> {
        let check = async {
            let client = self.client().await?;
            client
                .query_one("SELECT 1", &[])
                .await
                .map(drop)
                .map_err(pg("checking health"))
        };
        tokio::time::timeout(TIMEOUT, check)
            .await
            .map_err(|_| StoreError::Unavailable("the database did not answer in time".into()))?
    }

    async fn features(&self, layer: &'static LayerDef, query: &FeatureQuery) -> Result<Vec<Feature>, StoreError> {
        let (sql, params) = select_sql(layer, query)?;
        let params: Vec<_> = params.iter().map(param).collect();
        let rows = routed_read!(self, layer, |guarded| async {
            let client = guarded.client();
            let stmt = client.prepare_cached(&sql).await.map_err(pg("preparing a query"))?;
            let rows = client
                .query(&stmt, &refs(&params))
                .await
                .map_err(pg("querying features"))?;
            guarded.finish();
            Ok(rows)
        }
        .await)?;
        rows.iter().map(|r| row_to_feature(layer, r)).collect()
    }

    async fn timeline(&self, layer: &'static LayerDef) -> Result<LayerTimeline, StoreError> {
        // "Since ever" is -infinity here: read as no time.
        let time = |c: &str| {
            format!(
                "CASE WHEN {c} = '-infinity' THEN NULL ELSE to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') END"
            )
        };
        let mut timeline = LayerTimeline {
            layer,
            since: BTreeMap::new(),
            versions: Vec::new(),
        };
        if !layer.versioned() {
            return Ok(timeline);
        }
        let mut client = self.client().await?;
        let tx = snapshot(&mut client).await?;
        let since = tx
            .query(
                &format!(
                    "SELECT fid, {} FROM {} WHERE valid_from > '-infinity'",
                    time("valid_from"),
                    layer.id
                ),
                &[],
            )
            .await
            .map_err(pg("reading when features took their form"))?;
        for r in &since {
            timeline.since.insert(r.get(0), crate::stored_time(r.get(1))?);
        }
        let n = layer.fields.len();
        let versions = tx
            .query(
                &format!(
                    "SELECT {}, {}, {} FROM {} ORDER BY hid",
                    select_columns(layer, Audience::Full, None),
                    time("valid_from"),
                    time("valid_to"),
                    crate::history::history_table(layer)
                ),
                &[],
            )
            .await
            .map_err(pg("reading a layer's past versions"))?;
        for r in &versions {
            timeline.versions.push(PastVersion {
                feature: row_to_feature(layer, r)?,
                valid_from: r.get::<_, Option<&str>>(n + 2).map(crate::stored_time).transpose()?,
                valid_to: crate::stored_time(r.get(n + 3))?,
            });
        }
        Ok(timeline)
    }

    async fn count(&self, layer: &'static LayerDef, query: &FeatureQuery) -> Result<u64, StoreError> {
        let (rows, params) = rows_sql::<Postgres>(layer, query, "fid", None)?;
        let params: Vec<_> = params.iter().map(param).collect();
        let sql = format!("SELECT count(*) FROM ({rows}) AS r");
        let row = routed_read!(self, layer, |guarded| async {
            let row = guarded
                .client()
                .query_one(&sql, &refs(&params))
                .await
                .map_err(pg("counting features"))?;
            guarded.finish();
            Ok(row)
        }
        .await)?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    async fn feature(
        &self,
        layer: &'static LayerDef,
        id: i64,
        audience: Audience,
    ) -> Result<Option<Feature>, StoreError> {
        let sql = format!(
            "SELECT {} FROM {} WHERE fid = $1",
            select_columns(layer, audience, None),
            layer.id
        );
        let row = routed_read!(self, layer, |guarded| async {
            let row = guarded
                .client()
                .query_opt(&sql, &[&id])
                .await
                .map_err(pg("reading a feature"))?;
            guarded.finish();
            Ok(row)
        }
        .await)?;
        row.map(|r| row_to_feature(layer, &r)).transpose()
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
        let cols = select_columns(layer, audience, None);
        let sql = format!(
            "SELECT {cols} FROM {t} WHERE fid = $1 AND (valid_from IS NULL OR valid_from <= $2::text::timestamptz)
             UNION ALL SELECT {cols} FROM {t}_history WHERE fid = $1
               AND (valid_from IS NULL OR valid_from <= $2::text::timestamptz) AND valid_to > $2::text::timestamptz",
            t = layer.id
        );
        let at = at.to_string();
        let row = routed_read!(self, layer, |guarded| async {
            let row = guarded
                .client()
                .query_opt(&sql, &[&id, &at])
                .await
                .map_err(pg("reading a feature"))?;
            guarded.finish();
            Ok(row)
        }
        .await)?;
        row.map(|r| row_to_feature(layer, &r)).transpose()
    }

    fn stream(&self, layer: &'static LayerDef, query: FeatureQuery) -> FeatureStream {
        self.stream_sql(layer, select_sql(layer, &query))
    }

    fn stream_after(&self, layer: &'static LayerDef, query: FeatureQuery, after: Option<i64>) -> FeatureStream {
        let sql = rows_sql::<Postgres>(
            layer,
            &query,
            &select_columns(layer, query.audience, query.fields),
            after,
        )
        .map(|(rows, params)| (format!("{rows} ORDER BY fid"), params));
        self.stream_sql(layer, sql)
    }

    async fn extent(&self, layer: &'static LayerDef) -> Result<Option<Rect<f64>>, StoreError> {
        let sql = format!(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e FROM {}) s",
            layer.id
        );
        let row = routed_read!(self, layer, |guarded| async {
            let row = guarded
                .client()
                .query_one(&sql, &[])
                .await
                .map_err(pg("reading the extent"))?;
            guarded.finish();
            Ok(row)
        }
        .await)?;
        let v: [Option<f64>; 4] = [row.get(0), row.get(1), row.get(2), row.get(3)];
        Ok(match v {
            [Some(x1), Some(y1), Some(x2), Some(y2)] => {
                Some(Rect::new(coord! { x: x1, y: y1 }, coord! { x: x2, y: y2 }))
            }
            _ => None,
        })
    }

    async fn upsert_all(&self, writes: Vec<Upsert>) -> Result<Vec<UpsertSummary>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg("starting a transaction"))?;
        if writes.iter().map(|w| w.features.len()).sum::<usize>() >= ANALYZE_AFTER {
            tx.batch_execute("SET LOCAL statement_timeout = 0")
                .await
                .map_err(pg("lifting the statement timeout"))?;
        }
        let mut summaries = Vec::with_capacity(writes.len());
        for write in &writes {
            summaries.push(upsert::upsert(&tx, write).await?);
        }
        splits::settle(&tx, &self.zones).await?;
        tx.commit().await.map_err(pg("committing"))?;
        if let Some(watch) = self.watch.get() {
            // This instance's next request must see its own write at once
            // (and a read replica is used for the layer only once it has it).
            let read = read_versions(&client).await.map_err(pg("reading layer versions"))?;
            watch.observe(&read);
        }
        Ok(summaries)
    }

    async fn restamp_communes(
        &self,
        layer: &'static LayerDef,
        set: agrimap_model::BoundarySet,
        changes: Vec<crate::Restamp>,
    ) -> Result<usize, StoreError> {
        use futures::SinkExt;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg("starting a transaction"))?;
        // The ids and codes go in with one COPY, the features change with one
        // UPDATE joined to them: a recode of a million parcels runs for longer
        // than any query should.
        tx.batch_execute(
            "SET LOCAL statement_timeout = 0;
             CREATE TEMP TABLE agrimap_restamp (fid bigint PRIMARY KEY, read text, code text NOT NULL) ON COMMIT DROP",
        )
        .await
        .map_err(pg("preparing the recode"))?;
        let sink = tx
            .copy_in("COPY agrimap_restamp (fid, read, code) FROM STDIN")
            .await
            .map_err(pg("starting a COPY"))?;
        futures::pin_mut!(sink);
        let mut buf = String::with_capacity(COPY_CHUNK + 4096);
        for r in &changes {
            let _ = write!(buf, "{}\t", r.id);
            match &r.read {
                Some(read) => copy_str(read, &mut buf),
                None => buf.push_str("\\N"),
            }
            buf.push('\t');
            copy_str(&r.code, &mut buf);
            buf.push('\n');
            if buf.len() >= COPY_CHUNK {
                sink.send(bytes::Bytes::from(std::mem::take(&mut buf)))
                    .await
                    .map_err(pg("copying the new codes"))?;
            }
        }
        if !buf.is_empty() {
            sink.send(bytes::Bytes::from(buf))
                .await
                .map_err(pg("copying the new codes"))?;
        }
        sink.finish().await.map_err(pg("copying the new codes"))?;
        let restamped = tx
            .execute(
                &format!(
                    "UPDATE {t} SET former_commune_code = {t}.commune_code, commune_code = r.code, boundary_set = $1{province} \
                     FROM agrimap_restamp r WHERE {t}.fid = r.fid \
                     AND {t}.commune_code IS NOT DISTINCT FROM r.read AND {t}.boundary_set IS DISTINCT FROM $1",
                    t = layer.id,
                    // A recode may move a feature to another province, and
                    // so to another partition.
                    province = if schema::partitioned(layer) {
                        ", province_code = agrimap_province_of(r.code, $1)"
                    } else {
                        ""
                    }
                ),
                &[&set.as_str()],
            )
            .await
            .map_err(partitions::write_error(layer, "recoding the features"))?;
        tx.commit().await.map_err(pg("committing"))?;
        if let Some(watch) = self.watch.get() {
            // This instance's next request must see its own write at once.
            let read = read_versions(&client).await.map_err(pg("reading layer versions"))?;
            watch.observe(&read);
        }
        Ok(usize::try_from(restamped).unwrap_or(usize::MAX))
    }

    async fn write(&self, batch: WriteBatch) -> Result<WriteSummary, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg("starting a transaction"))?;
        let rows: usize = batch.layers.iter().map(|w| w.features.len()).sum::<usize>() + batch.readings.len();
        if rows >= ANALYZE_AFTER {
            // A bulk load may run longer than any query should.
            tx.batch_execute("SET LOCAL statement_timeout = 0")
                .await
                .map_err(pg("lifting the statement timeout"))?;
        }
        let mut summary = WriteSummary::default();
        let mut bulk = Vec::new();
        if let Some(at) = batch.valid_from {
            set_valid_time(&tx, at).await?;
        }
        crate::history::check_timelines(&batch)?;
        for w in &batch.layers {
            let kept = crate::history::timeline_of(&batch, w.layer);
            let written = write_layer(&tx, w, batch.valid_from.is_some() || kept.is_some(), kept).await?;
            summary.features += written;
            if written >= ANALYZE_AFTER {
                bulk.push(w.layer.id);
            }
        }
        if !batch.changes.is_empty() {
            for &table in &bulk {
                // A partition filled in this transaction has no statistics
                // yet (and autovacuum never analyses a partitioned table's
                // parent), so the changes that follow, each an update by
                // key, were planned as if a key matched hundreds of rows:
                // the whole layer hashed for each one (a third of a second a
                // change at two million parcels).
                tx.batch_execute(&format!("ANALYZE {table}"))
                    .await
                    .map_err(pg("analysing a layer"))?;
            }
        }
        for change in &batch.changes {
            set_valid_time(&tx, change.at).await?;
            summary.features += upsert::apply_change(&tx, change).await?;
        }
        summary.readings += insert_readings(&tx, &batch.readings).await?;
        if batch.readings.len() >= ANALYZE_AFTER {
            bulk.push("readings");
        }
        if splits::settle(&tx, &self.zones).await? >= ANALYZE_AFTER {
            bulk.push("agrimap_feature_splits");
        }
        tx.commit().await.map_err(pg("committing"))?;
        for table in bulk {
            // Fresh statistics now rather than at autovacuum's next round: on
            // a just-loaded table the planner otherwise guesses row counts
            // hundreds of times too small and picks sorts that spill to disk.
            if let Err(e) = client.batch_execute(&format!("ANALYZE {table}")).await {
                tracing::warn!(table, cause = %e, "ANALYZE after a bulk write failed");
            }
        }
        if !(batch.layers.is_empty() && batch.changes.is_empty())
            && let Some(watch) = self.watch.get()
        {
            // This instance's next request must see its own write at once.
            let read = read_versions(&client).await.map_err(pg("reading layer versions"))?;
            watch.observe(&read);
        }
        Ok(summary)
    }

    async fn versions(&self) -> Result<LayerVersions, StoreError> {
        let watch = self.watch.get_or_init(|| VersionWatch::start(self.config.clone()));
        if let Some(versions) = watch.get() {
            return Ok(versions);
        }
        let read = async {
            let client = self.client().await?;
            read_versions(&client).await.map_err(pg("reading layer versions"))
        };
        match read.await {
            Ok(versions) => {
                watch.remember(&versions);
                Ok(versions)
            }
            // Unreachable: what is cached under the last counters is still
            // current (see `versions.rs`); what is not cached fails anyway.
            Err(StoreError::Unavailable(why)) => watch.last_known().ok_or(StoreError::Unavailable(why)),
            Err(e) => Err(e),
        }
    }
}

#[async_trait::async_trait]
impl ReadingStore for PgStore {
    async fn readings(&self, station_id: &str) -> Result<Vec<Reading>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT r.station_id, r.parameter, r.value, r.unit, {READING_TIME}
                     FROM readings r WHERE r.station_id = $1 ORDER BY r.time, r.parameter"
                ),
                &[&station_id],
            )
            .await
            .map_err(pg("reading readings"))?;
        rows.iter().map(reading_of).collect()
    }
    async fn ingest(&self, readings: Vec<Reading>, judge: Judge) -> Result<Ingested, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg("starting a transaction"))?;
        let added = insert_readings(&tx, &readings).await?;
        let latest_of = tx
            .prepare(&station_sql::latest_of_station("$1::text", READING_TIME))
            .await
            .map_err(pg("preparing the latest readings"))?;
        let update = tx
            .prepare(&station_sql::update_latest(
                "$1::text",
                "$2::text::timestamptz",
                "$3::text",
            ))
            .await
            .map_err(pg("preparing the latest-values update"))?;
        let mut judged = BTreeMap::new();
        let mut events = Vec::new();
        let now = agrimap_model::UtcTime::now();
        // Stations in id order (a BTreeMap), so concurrent batches lock rows in one order.
        for (station, time) in station_sql::newest_by_station(&readings) {
            let (clock, commune) = alerts::station_before(&tx, station).await?.unzip();
            let latest: Vec<Reading> = tx
                .query(&latest_of, &[&station])
                .await
                .map_err(pg("reading latest readings"))?
                .iter()
                .map(reading_of)
                .collect::<Result<_, _>>()?;
            let (judgement, change) = crate::alerts::after_batch(
                clock.as_ref(),
                commune.unwrap_or_default(),
                time,
                judge(station, &latest),
                now,
            );
            tx.execute(&update, &[&station, &time.to_string(), &judgement.0.as_str()])
                .await
                .map_err(pg("updating latest values"))?;
            if let Some(change) = change {
                events.push(alerts::insert_event(&tx, change).await?);
            }
            judged.insert(station.to_owned(), judgement);
        }
        tx.commit().await.map_err(pg("committing"))?;
        if let Some(watch) = self.watch.get() {
            let read = read_versions(&client).await.map_err(pg("reading layer versions"))?;
            watch.observe(&read);
        }
        Ok(Ingested {
            stored: added,
            judged,
            events,
        })
    }

    async fn readings_between(&self, query: &ReadingQuery) -> Result<Vec<Reading>, StoreError> {
        let mut sql = format!(
            "SELECT r.station_id, r.parameter, r.value, r.unit, {READING_TIME} FROM readings r WHERE r.station_id = $1::text"
        );
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&query.station_id];
        if let Some(p) = &query.parameter {
            params.push(p);
            let _ = write!(sql, " AND r.parameter = ${}::text", params.len());
        }
        let (from, to) = (query.from.map(|t| t.to_string()), query.to.map(|t| t.to_string()));
        for (condition, bound) in [(">=", &from), ("<=", &to)] {
            if let Some(t) = bound {
                params.push(t);
                let _ = write!(sql, " AND r.time {condition} ${}::text::timestamptz", params.len());
            }
        }
        sql.push_str(" ORDER BY r.time, r.parameter");
        let client = self.client().await?;
        let rows = client.query(&sql, &params).await.map_err(pg("reading readings"))?;
        rows.iter().map(reading_of).collect()
    }

    async fn latest_readings(&self, station_id: Option<&str>) -> Result<Vec<Reading>, StoreError> {
        let client = self.client().await?;
        let rows = match station_id {
            Some(id) => {
                client
                    .query(&station_sql::latest_of_station("$1::text", READING_TIME), &[&id])
                    .await
            }
            None => client.query(&station_sql::latest_readings(READING_TIME), &[]).await,
        }
        .map_err(pg("reading latest readings"))?;
        rows.iter().map(reading_of).collect()
    }
}

#[async_trait::async_trait]
impl CredentialStore for PgStore {
    async fn api_token_hash(&self, id: &str) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT token_hash FROM agrimap_api_tokens WHERE id = $1::text", &[&id])
            .await
            .map_err(pg("reading an API token"))?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn station_token_hash(&self, station_id: &str) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT token_hash FROM agrimap_station_tokens WHERE station_id = $1::text",
                &[&station_id],
            )
            .await
            .map_err(pg("reading a station token"))?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn set_station_token_hash(&self, station_id: &str, hash: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "INSERT INTO agrimap_station_tokens (station_id, token_hash)
                 SELECT $1::text, $2::text WHERE EXISTS (SELECT 1 FROM monitoring WHERE station_id = $1::text)
                 ON CONFLICT (station_id) DO UPDATE SET token_hash = excluded.token_hash, created_at = now()",
                &[&station_id, &hash],
            )
            .await
            .map_err(pg("storing a station token"))?;
        Ok(n > 0)
    }

    async fn add_api_token(&self, token: &NewApiToken) -> Result<ApiToken, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                &format!(
                    "INSERT INTO agrimap_api_tokens (id, name, role, token_hash, provinces)
                     VALUES ($1::text, $2::text, $3::text, $4::text, $5::text) RETURNING {API_TOKEN_COLUMNS}"
                ),
                &[
                    &token.id,
                    &token.name,
                    &token.role.name(),
                    &token.hash,
                    &crate::provinces_text(&token.provinces),
                ],
            )
            .await
            .map_err(pg("storing an API token"))?;
        api_token_of(&row)
    }

    async fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT {API_TOKEN_COLUMNS} FROM agrimap_api_tokens ORDER BY created_at, id"),
                &[],
            )
            .await
            .map_err(pg("listing API tokens"))?;
        rows.iter().map(api_token_of).collect()
    }

    async fn revoke_api_token(&self, id: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE agrimap_api_tokens SET revoked_at = now() WHERE id = $1::text AND revoked_at IS NULL",
                &[&id],
            )
            .await
            .map_err(pg("revoking an API token"))?;
        Ok(n > 0)
    }

    async fn api_token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {API_TOKEN_COLUMNS} FROM agrimap_api_tokens WHERE token_hash = $1::text AND revoked_at IS NULL"
                ),
                &[&hash],
            )
            .await
            .map_err(pg("checking an API token"))?;
        row.as_ref().map(api_token_of).transpose()
    }
}

/// Token columns with times as ISO 8601 UTC text, as the GeoPackage store keeps them.
const API_TOKEN_COLUMNS: &str = "id, name, role, \
    to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), \
    to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), provinces";

fn api_token_of(r: &Row) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        id: r.get(0),
        name: r.get(1),
        role: role_at(r, 2),
        created_at: crate::stored_time(r.get(3))?,
        revoked_at: r.get::<_, Option<&str>>(4).map(crate::stored_time).transpose()?,
        provinces: crate::provinces_of(r.get(5)),
    })
}

/// A role column the store wrote, read back: `Anonymous` for a name agrimap does not know.
fn role_at(r: &Row, i: usize) -> Role {
    Role::from_name(r.get(i)).unwrap_or(Role::Anonymous)
}
