//! Tiles of the PostGIS store made in the database (`ST_AsMVT`) against tiles
//! made in Rust from fetched geometries (what agrimap does), on one tile list.
//!
//! - **Rust**: exactly the server's cache-miss path minus gzip: one
//!   `PgStore::features` query per layer visible at the zoom, run concurrently,
//!   then `encode_tile` (clip, simplify, drop sub-pixel polygons, encode) with
//!   the server's tile options.
//! - **SQL**: one `ST_AsMVT(… ST_AsMVTGeom(ST_Transform(geom, 3857),
//!   ST_TileEnvelope(z, x, y), 4096, 64, true) …)` statement per visible layer,
//!   each on its own connection, run concurrently, the layers' tiles
//!   concatenated, as Martin does for a composite tile.
//!
//! Both read the same candidate rows (the buffered tile's envelope in
//! longitude/latitude, polygons and lines at least one tile unit wide or
//! high, with the store's own condition), keep the same public attributes
//! (dates as ISO text, the feature id from `fid`) and use extent 4096 and
//! buffer 64. Neither is gzipped: the server compresses either kind the same way.
//!
//! Reported: mean time per tile one tile at a time (after one untimed round
//! that warms PostgreSQL's caches; the two paths alternate who goes first),
//! by zoom and overall; tiles per second with several tiles in flight; tile
//! sizes (raw and gzip) and feature counts of both.
//!
//! Environment:
//! - `AGRIMAP_BENCH_DATABASE_URL`: a database filled by `agrimap load`; without
//!   it the bench prints how to run it and exits.
//! - `AGRIMAP_BENCH_TILES`: a file with one `z/x/y` per line (`benches/martin.sh` writes one).
//! - `AGRIMAP_BENCH_LAYERS` (`crop,aquaculture`), `AGRIMAP_BENCH_ROUNDS` (2),
//!   `AGRIMAP_BENCH_CONCURRENCY` (8 tiles in flight).
//!
//! Run: `benches/martin.sh` runs it on the database it loads; alone,
//! `AGRIMAP_BENCH_DATABASE_URL=postgres://… AGRIMAP_BENCH_TILES=tiles.txt cargo bench --bench pg_tiles`.

use agrimap_core::{Core, CoreConfig};
use agrimap_model::{Audience, FeatureQuery, FieldType, GeometryKind, LayerDef, catalog};
use agrimap_store::LayerStore as _;
use agrimap_store::PgStore;
use agrimap_tiles::{TileCoord, TileOptions, decode, encode_tile, tile_bounds, tile_bounds_buffered};
use flate2::Compression;
use flate2::write::GzEncoder;
use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio_postgres::types::Type;

type BoxError = Box<dyn Error + Send + Sync>;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn main() -> Result<(), BoxError> {
    let Ok(url) = std::env::var("AGRIMAP_BENCH_DATABASE_URL") else {
        println!(
            "pg_tiles: set AGRIMAP_BENCH_DATABASE_URL (a database filled by `agrimap load`) and \
             AGRIMAP_BENCH_TILES (one z/x/y per line), or run benches/martin.sh; skipped"
        );
        return Ok(());
    };
    let tiles_file = std::env::var("AGRIMAP_BENCH_TILES").map_err(|_| "AGRIMAP_BENCH_TILES is not set")?;
    let layers = parse_layers(&env_or("AGRIMAP_BENCH_LAYERS", "crop,aquaculture"))?;
    let rounds: usize = env_or("AGRIMAP_BENCH_ROUNDS", "2").parse()?;
    let concurrency: usize = env_or("AGRIMAP_BENCH_CONCURRENCY", "8").parse()?;
    let tiles = read_tiles(&tiles_file)?;

    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(run(&url, &layers, &tiles, rounds.max(1), concurrency.max(1)))
}

fn parse_layers(spec: &str) -> Result<Vec<&'static LayerDef>, BoxError> {
    let mut layers = Vec::new();
    for id in spec.split(',') {
        layers.push(agrimap_model::layer(id).ok_or_else(|| format!("unknown layer '{id}'"))?);
    }
    layers.sort_by_key(|l| catalog().iter().position(|c| c.id == l.id));
    layers.dedup_by_key(|l| l.id);
    Ok(layers)
}

fn read_tiles(path: &str) -> Result<Vec<TileCoord>, BoxError> {
    let mut tiles = Vec::new();
    for line in std::fs::read_to_string(path)?.lines().filter(|l| !l.trim().is_empty()) {
        let parts: Vec<&str> = line.trim().split('/').collect();
        let [z, x, y] = parts[..] else {
            return Err(format!("bad tile line '{line}' in {path}").into());
        };
        tiles.push(TileCoord::new(z.parse()?, x.parse()?, y.parse()?)?);
    }
    if tiles.is_empty() {
        return Err(format!("no tiles in {path}").into());
    }
    Ok(tiles)
}

fn visible(layers: &[&'static LayerDef], z: u8) -> Vec<&'static LayerDef> {
    layers.iter().copied().filter(|l| z >= l.minzoom).collect()
}

/// The candidate rows of a tile, as the server asks the store for them.
fn tile_query(coord: TileCoord, opts: &TileOptions) -> FeatureQuery {
    FeatureQuery {
        bbox: Some(tile_bounds_buffered(coord, opts.buffer, opts.extent)),
        min_extent: Some(tile_bounds(coord).width() / f64::from(opts.extent)),
        ..FeatureQuery::default()
    }
}

/// The Rust path: store queries run concurrently, then the encoder.
async fn rust_tile(
    store: &PgStore,
    layers: &[&'static LayerDef],
    coord: TileCoord,
    opts: &TileOptions,
    blocking: bool,
) -> Result<Vec<u8>, BoxError> {
    let shown = visible(layers, coord.z);
    let query = tile_query(coord, opts);
    let fetched = futures::future::try_join_all(shown.iter().map(|l| store.features(l, &query))).await?;
    let encode = move |opts: &TileOptions| {
        let pairs: Vec<(&LayerDef, &[agrimap_model::Feature])> =
            shown.iter().copied().zip(fetched.iter().map(Vec::as_slice)).collect();
        encode_tile(coord, &pairs, Audience::Public, opts)
    };
    if blocking {
        // As the server does: encoding on the blocking pool.
        let opts = opts.clone();
        Ok(tokio::task::spawn_blocking(move || encode(&opts)).await?)
    } else {
        Ok(encode(opts))
    }
}

/// The select list of one layer for `ST_AsMVT`: the public fields, dates as
/// ISO text as the store returns them.
fn mvt_columns(layer: &LayerDef) -> String {
    let mut cols = String::new();
    for (_, f) in layer.readable_fields(Audience::Public) {
        let c = f.name;
        cols.push_str(", ");
        let _ = match f.ty {
            FieldType::Date => write!(cols, "to_char({c}, 'YYYY-MM-DD') AS {c}"),
            FieldType::DateTime => write!(
                cols,
                "to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS {c}"
            ),
            _ => cols.write_str(c),
        };
    }
    cols
}

/// The statement of one layer's part of a tile. Parameters: `$1..$3` z, x, y;
/// `$4..$7` the buffered tile in longitude/latitude; `$8` the minimum extent.
/// Names come from the catalog only.
fn mvt_sql(layer: &LayerDef, opts: &TileOptions) -> String {
    let (id, extent, buffer) = (layer.id, opts.extent, opts.buffer);
    let size = if layer.geometry == GeometryKind::Point {
        ""
    } else {
        " AND (ST_XMax(geom) - ST_XMin(geom) >= $8 OR ST_YMax(geom) - ST_YMin(geom) >= $8)"
    };
    format!(
        "SELECT COALESCE((SELECT ST_AsMVT(t, '{id}', {extent}, 'geom', 'fid') FROM (\
         SELECT fid, ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope($1, $2, $3), {extent}, {buffer}, true) AS geom{cols} \
         FROM {id} WHERE geom && ST_MakeEnvelope($4, $5, $6, $7, 4326){size}) t WHERE geom IS NOT NULL), ''::bytea)",
        cols = mvt_columns(layer),
    )
}

/// One connection of the SQL path, with each layer's statement prepared.
struct SqlConn {
    client: tokio_postgres::Client,
    statements: BTreeMap<&'static str, tokio_postgres::Statement>,
}

/// The SQL path: one statement per layer visible at the zoom, each on its own
/// connection, run concurrently, their tiles concatenated in catalog order
/// (MVT layers concatenate). That is how agrimap runs its store queries and
/// how Martin fetches the parts of a composite tile.
struct SqlTiles {
    conns: Vec<SqlConn>,
}

impl SqlTiles {
    async fn connect(url: &str, layers: &[&'static LayerDef], opts: &TileOptions) -> Result<Self, BoxError> {
        let mut conns = Vec::new();
        for _ in layers {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    eprintln!("pg_tiles: connection ended: {e}");
                }
            });
            let types = [
                Type::INT4,
                Type::INT4,
                Type::INT4,
                Type::FLOAT8,
                Type::FLOAT8,
                Type::FLOAT8,
                Type::FLOAT8,
                Type::FLOAT8,
            ];
            let mut statements = BTreeMap::new();
            for l in layers {
                statements.insert(l.id, client.prepare_typed(&mvt_sql(l, opts), &types).await?);
            }
            conns.push(SqlConn { client, statements });
        }
        Ok(Self { conns })
    }

    async fn tile(
        &self,
        layers: &[&'static LayerDef],
        coord: TileCoord,
        opts: &TileOptions,
    ) -> Result<Vec<u8>, BoxError> {
        let q = tile_query(coord, opts);
        let (bbox, min_extent) = (q.bbox.ok_or("no bbox")?, q.min_extent.ok_or("no extent")?);
        let (z, x, y) = (i32::from(coord.z), i32::try_from(coord.x)?, i32::try_from(coord.y)?);
        let (x1, y1, x2, y2) = (bbox.min().x, bbox.min().y, bbox.max().x, bbox.max().y);
        let parts = visible(layers, coord.z)
            .into_iter()
            .zip(&self.conns)
            .map(|(l, conn)| async move {
                let row = conn
                    .client
                    .query_one(&conn.statements[l.id], &[&z, &x, &y, &x1, &y1, &x2, &y2, &min_extent])
                    .await?;
                Ok::<Vec<u8>, BoxError>(row.get(0))
            });
        Ok(futures::future::try_join_all(parts).await?.concat())
    }
}

fn gzip_len(data: &[u8]) -> Result<usize, BoxError> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(data)?;
    Ok(enc.finish()?.len())
}

fn feature_count(mvt: &[u8]) -> Result<usize, BoxError> {
    Ok(decode(mvt)?.iter().map(|l| l.features.len()).sum())
}

/// Sums for one zoom (or all zooms) and one path.
#[derive(Default, Clone, Copy)]
struct Sums {
    tiles: usize,
    time: Duration,
    timed: u32,
    raw: usize,
    gzip: usize,
    features: usize,
    empty: usize,
}

impl Sums {
    fn mean_ms(&self) -> f64 {
        if self.timed == 0 {
            return 0.0;
        }
        self.time.as_secs_f64() * 1000.0 / f64::from(self.timed)
    }

    fn add_output(&mut self, mvt: &[u8]) -> Result<(), BoxError> {
        self.tiles += 1;
        self.raw += mvt.len();
        if mvt.is_empty() {
            self.empty += 1;
        } else {
            self.gzip += gzip_len(mvt)?;
            self.features += feature_count(mvt)?;
        }
        Ok(())
    }
}

fn kb(bytes: usize, n: usize) -> f64 {
    if n == 0 { 0.0 } else { bytes as f64 / n as f64 / 1000.0 }
}

// One run of the benchmark from start to end: its steps read best in order.
#[allow(clippy::too_many_lines)]
async fn run(
    url: &str,
    layers: &[&'static LayerDef],
    tiles: &[TileCoord],
    rounds: usize,
    concurrency: usize,
) -> Result<(), BoxError> {
    let store = PgStore::connect(url)?;
    let opts = Core::new(Arc::new(store.clone()), CoreConfig::default())
        .tiles
        .options()
        .clone();
    let sql = SqlTiles::connect(url, layers, &opts).await?;
    let spec: Vec<&str> = layers.iter().map(|l| l.id).collect();
    println!(
        "pg_tiles: {} tiles of {}, {rounds} timed rounds one tile at a time after one warm-up round, \
         then {concurrency} tiles in flight",
        tiles.len(),
        spec.join(",")
    );
    println!(
        "tile options: extent {}, buffer {}, simplify tolerance {}, min polygon area {}",
        opts.extent, opts.buffer, opts.simplify_tolerance, opts.min_polygon_area
    );

    // Warm-up round: outputs for sizes and feature counts, untimed.
    let mut rust_sums: BTreeMap<u8, Sums> = BTreeMap::new();
    let mut sql_sums: BTreeMap<u8, Sums> = BTreeMap::new();
    for &t in tiles {
        let r = rust_tile(&store, layers, t, &opts, false).await?;
        let s = sql.tile(layers, t, &opts).await?;
        rust_sums.entry(t.z).or_default().add_output(&r)?;
        sql_sums.entry(t.z).or_default().add_output(&s)?;
    }

    for round in 0..rounds {
        for (i, &t) in tiles.iter().enumerate() {
            let rust_first = (i + round) % 2 == 0;
            for rust_turn in [rust_first, !rust_first] {
                let start = Instant::now();
                if rust_turn {
                    let out = rust_tile(&store, layers, t, &opts, false).await?;
                    let e = rust_sums.entry(t.z).or_default();
                    e.time += start.elapsed();
                    e.timed += 1;
                    drop(out);
                } else {
                    let out = sql.tile(layers, t, &opts).await?;
                    let e = sql_sums.entry(t.z).or_default();
                    e.time += start.elapsed();
                    e.timed += 1;
                    drop(out);
                }
            }
        }
    }

    println!();
    println!("one tile at a time, mean per tile (raw MVT, no gzip)");
    println!(
        "{:<5} {:>6} | {:>10} {:>10} {:>9} | {:>9} {:>9} | {:>10} {:>10} | {:>9} {:>9} | {:>7} {:>7}",
        "zoom",
        "tiles",
        "Rust ms",
        "SQL ms",
        "SQL/Rust",
        "Rust feat",
        "SQL feat",
        "Rust kB",
        "SQL kB",
        "Rust gzkB",
        "SQL gzkB",
        "R empty",
        "S empty"
    );
    let mut total_r = Sums::default();
    let mut total_s = Sums::default();
    let row = |label: &str, r: &Sums, s: &Sums| {
        let n = r.tiles;
        println!(
            "{label:<5} {n:>6} | {:>10.2} {:>10.2} {:>8.2}x | {:>9.0} {:>9.0} | {:>10.1} {:>10.1} | {:>9.1} {:>9.1} | {:>7} {:>7}",
            r.mean_ms(),
            s.mean_ms(),
            s.mean_ms() / r.mean_ms(),
            r.features as f64 / n as f64,
            s.features as f64 / n as f64,
            kb(r.raw, n),
            kb(s.raw, n),
            kb(r.gzip, n),
            kb(s.gzip, n),
            r.empty,
            s.empty
        );
    };
    for (z, r) in &rust_sums {
        let s = &sql_sums[z];
        row(&format!("z{z}"), r, s);
        for (total, part) in [(&mut total_r, r), (&mut total_s, s)] {
            total.tiles += part.tiles;
            total.time += part.time;
            total.timed += part.timed;
            total.raw += part.raw;
            total.gzip += part.gzip;
            total.features += part.features;
            total.empty += part.empty;
        }
    }
    row("all", &total_r, &total_s);
    println!(
        "RESULT sequential rust_ms={:.3} sql_ms={:.3} sql_over_rust={:.3} rust_raw_kb={:.1} sql_raw_kb={:.1} \
         rust_gzip_kb={:.1} sql_gzip_kb={:.1} rust_features={} sql_features={} rust_empty={} sql_empty={}",
        total_r.mean_ms(),
        total_s.mean_ms(),
        total_s.mean_ms() / total_r.mean_ms(),
        kb(total_r.raw, total_r.tiles),
        kb(total_s.raw, total_s.tiles),
        kb(total_r.gzip, total_r.tiles),
        kb(total_s.gzip, total_s.tiles),
        total_r.features,
        total_s.features,
        total_r.empty,
        total_s.empty
    );

    // Several tiles in flight: both cores busy, as under load. Each path runs
    // the list twice and the second run is timed, so that pools are full and
    // statements prepared.
    let tiles: Arc<Vec<TileCoord>> = Arc::new(tiles.to_vec());
    let layers: Arc<Vec<&'static LayerDef>> = Arc::new(layers.to_vec());
    let mut rust_rate = 0.0;
    for _ in 0..2 {
        let next = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                let (store, tiles, layers, next, opts) =
                    (store.clone(), tiles.clone(), layers.clone(), next.clone(), opts.clone());
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&t) = tiles.get(i) else { break };
                        rust_tile(&store, &layers, t, &opts, true).await?;
                    }
                    Ok::<(), BoxError>(())
                })
            })
            .collect();
        for w in workers {
            w.await??;
        }
        rust_rate = tiles.len() as f64 / start.elapsed().as_secs_f64();
    }
    let mut conns = Vec::new();
    for _ in 0..concurrency {
        conns.push(SqlTiles::connect(url, &layers, &opts).await?);
    }
    let mut sql_rate = 0.0;
    for _ in 0..2 {
        let next = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let workers: Vec<_> = std::mem::take(&mut conns)
            .into_iter()
            .map(|conn| {
                let (tiles, layers, next, opts) = (tiles.clone(), layers.clone(), next.clone(), opts.clone());
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&t) = tiles.get(i) else { break };
                        conn.tile(&layers, t, &opts).await?;
                    }
                    Ok::<SqlTiles, BoxError>(conn)
                })
            })
            .collect();
        for w in workers {
            conns.push(w.await??);
        }
        sql_rate = tiles.len() as f64 / start.elapsed().as_secs_f64();
    }
    println!();
    println!(
        "{concurrency} tiles in flight, whole list once: Rust {rust_rate:.1} tiles/s, SQL {sql_rate:.1} tiles/s (SQL/Rust {:.2}x)",
        sql_rate / rust_rate
    );
    println!(
        "RESULT concurrent rust_tps={rust_rate:.1} sql_tps={sql_rate:.1} sql_over_rust={:.3}",
        sql_rate / rust_rate
    );
    Ok(())
}
