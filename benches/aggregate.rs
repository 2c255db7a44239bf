//! Crop area by commune and crop type: agrimap-analysis on 1 and 2 threads,
//! against the equivalent single PostGIS query on the same data and machine.
//!
//! For each number of parcels:
//!
//! 1. generates the demo province in memory (seed 2025, not timed), indexes
//!    its communes (`Zones`, timed apart) and times `aggregate` of
//!    `Metric::Area` by `crop_type` on a rayon pool of 1 thread and one of 2
//!    threads: one untimed run on each, then the pools alternate run by run;
//!    the median is reported, and the speed-up of 2 threads over 1;
//! 2. with `AGRIMAP_BENCH_DATABASE_URL`, empties every layer table of that
//!    database (migrating it first), loads the same province from memory with
//!    the PostGIS store's writer (COPY, one transaction), runs
//!    `VACUUM ANALYZE`, then times the single query
//!
//!    ```sql
//!    SELECT c.code, p.crop_type,
//!           sum(CASE WHEN ST_Within(p.geom, c.geom) THEN ST_Area(p.geom::geography)
//!                    ELSE ST_Area(ST_Intersection(p.geom, c.geom)::geography) END) / 10000
//!    FROM crop p JOIN admin_commune c ON ST_Intersects(p.geom, c.geom)
//!    GROUP BY 1, 2
//!    ```
//!
//!    with the server's own settings (parallel workers included; they are
//!    printed, with the plan): one untimed run, then the median of the timed
//!    runs, measured at the client up to the last row. Every (commune, crop
//!    type) total of both must agree within 0.1 %, or within 1 m² for
//!    slivers (cells under 1 m², from parcels crossing a commune boundary by
//!    a hair); the worst relative difference is printed, and a larger one
//!    fails the bench.
//!
//! Environment:
//! - `AGRIMAP_BENCH_PARCELS`: parcel counts, comma-separated (`1000000,2000000`);
//! - `AGRIMAP_BENCH_RUNS`: timed engine runs per pool (7);
//! - `AGRIMAP_BENCH_SQL_RUNS`: timed PostGIS runs (3);
//! - `AGRIMAP_BENCH_DATABASE_URL`: a PostGIS database the bench may empty and
//!   fill; without it only the engine is measured.
//!
//! Run: `benches/aggregate.sh` (a throwaway PostgreSQL cluster, then this
//! bench); engine only: `cargo bench --bench aggregate`; a quick run:
//! `AGRIMAP_BENCH_PARCELS=60000 cargo bench --bench aggregate`.

use agrimap_analysis::{Level, Metric, Spec, Table, Zones, aggregate, rollup};
use agrimap_demo::{DemoOptions, DemoProvince};
use agrimap_model::{Feature, Value, catalog, layer};
use agrimap_store::{LayerStore as _, LayerWrite, WriteBatch};
use geo::{Geometry, MultiPolygon};
use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::time::{Duration, Instant};

type BoxError = Box<dyn Error + Send + Sync>;

/// Relative difference the two answers may have, per (commune, crop type).
const TOLERANCE: f64 = 1e-3;

/// Cells smaller than this (1 m²) are slivers: a parcel crossing a commune
/// boundary by a hair, where the two intersection algorithms differ in the
/// last digits of a tiny area. They must agree within 1 m² instead.
const SLIVER_HA: f64 = 1e-4;

const QUERY: &str = "SELECT c.code, p.crop_type, \
    sum(CASE WHEN ST_Within(p.geom, c.geom) THEN ST_Area(p.geom::geography) \
             ELSE ST_Area(ST_Intersection(p.geom, c.geom)::geography) END) / 10000 AS ha \
    FROM crop p JOIN admin_commune c ON ST_Intersects(p.geom, c.geom) \
    GROUP BY 1, 2";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// `(code, district code, province code, boundary)` of a commune, as `Zones::new` takes it.
type Commune = (String, String, String, MultiPolygon<f64>);

/// Hectares by (commune code, crop type).
type Totals = BTreeMap<(String, String), f64>;

struct Figures {
    parcels: usize,
    one: Duration,
    two: Duration,
    postgis: Option<PgFigures>,
}

struct PgFigures {
    median: Duration,
    workers_per_gather: String,
    worst: Difference,
}

/// How far the engine and PostGIS disagree, cell by cell.
struct Difference {
    /// The worst cell of at least [`SLIVER_HA`]: relative difference, cell, both values.
    relative: f64,
    key: (String, String),
    engine: f64,
    postgis: f64,
    /// The worst relative difference over every cell, slivers included.
    relative_all: f64,
    /// Cells under [`SLIVER_HA`] in both answers, and their largest absolute difference (ha).
    slivers: usize,
    sliver_abs: f64,
    cells: usize,
    only_one_side: usize,
}

fn main() -> Result<(), BoxError> {
    let sizes: Vec<usize> = env_or("AGRIMAP_BENCH_PARCELS", "1000000,2000000")
        .split(',')
        .map(|s| s.trim().replace('_', "").parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("AGRIMAP_BENCH_PARCELS: {e}"))?;
    let runs: usize = env_or("AGRIMAP_BENCH_RUNS", "7").parse()?;
    let sql_runs: usize = env_or("AGRIMAP_BENCH_SQL_RUNS", "3").parse()?;
    let url = std::env::var("AGRIMAP_BENCH_DATABASE_URL").ok();
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    println!("aggregate: crop area by commune and crop_type; {cpus} CPUs available");
    if url.is_none() {
        println!("aggregate: AGRIMAP_BENCH_DATABASE_URL is not set: engine only (benches/aggregate.sh runs both)");
    }
    let mut figures = Vec::new();
    for parcels in sizes {
        figures.push(bench_size(parcels, runs.max(1), sql_runs.max(1), url.as_deref())?);
    }
    summary(&figures);
    for f in &figures {
        if let Some(pg) = &f.postgis
            && (pg.worst.relative > TOLERANCE || pg.worst.sliver_abs > SLIVER_HA)
        {
            return Err(format!(
                "{} parcels: engine and PostGIS differ by {:.3} % on a cell, or {:.2e} m² on a sliver \
                 (allowed: {} %, 1 m²)",
                f.parcels,
                pg.worst.relative * 100.0,
                pg.worst.sliver_abs * 10_000.0,
                TOLERANCE * 100.0
            )
            .into());
        }
    }
    Ok(())
}

fn bench_size(parcels: usize, runs: usize, sql_runs: usize, url: Option<&str>) -> Result<Figures, BoxError> {
    println!("\n== {parcels} parcels ==");
    let started = Instant::now();
    let province = agrimap_demo::generate(&DemoOptions { seed: 2025, parcels });
    println!("generated the province in {:.1?} (not timed)", started.elapsed());

    let communes = commune_shapes(&province)?;
    let started = Instant::now();
    let zones = Zones::new(communes);
    println!(
        "{} communes indexed in {:.1?} (not part of the timings below)",
        zones.zones().len(),
        started.elapsed()
    );
    let crop_layer = layer("crop").ok_or("no crop layer")?;
    let spec = Spec::one(
        Some(crop_layer.field_index("crop_type").ok_or("no crop_type field")?),
        Metric::Area,
    );
    let crop = province.layer("crop");
    println!("{} crop parcels", crop.len());

    let pool1 = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let pool2 = rayon::ThreadPoolBuilder::new().num_threads(2).build()?;
    let run = |pool: &rayon::ThreadPool| -> (Duration, Table) {
        let started = Instant::now();
        let table = pool.install(|| aggregate(&zones, crop, &spec));
        (started.elapsed(), table)
    };
    // Warm-up, and the answer of each pool.
    let (_, table1) = run(&pool1);
    let (_, table2) = run(&pool2);
    same_tables(&table1, &table2)?;
    let (mut t1, mut t2) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        t1.push(run(&pool1).0);
        t2.push(run(&pool2).0);
    }
    let (one, two) = (median(&mut t1), median(&mut t2));
    println!("engine, 1 thread:  {}; median {one:.3?}", list(&t1));
    println!("engine, 2 threads: {}; median {two:.3?}", list(&t2));
    println!("speed-up, 2 threads over 1: {:.2}x", ratio(one, two));

    let engine: Totals = rollup(&zones, &table2, Level::Commune)
        .into_iter()
        .map(|r| ((r.code, r.class), r.values[0]))
        .collect();
    let total: f64 = engine.values().sum();
    println!(
        "{} (commune, crop type) cells, {total:.1} ha of crops in all",
        engine.len()
    );
    drop(table1);
    drop(table2);
    drop(zones);

    let postgis = match url {
        Some(url) => {
            let rt = tokio::runtime::Runtime::new()?;
            let pg = rt.block_on(postgis(url, province, &engine, sql_runs))?;
            println!(
                "PostGIS / engine on 2 threads: {:.1}x (on 1 thread: {:.1}x)",
                ratio(pg.median, two),
                ratio(pg.median, one)
            );
            Some(pg)
        }
        None => None,
    };
    Ok(Figures {
        parcels,
        one,
        two,
        postgis,
    })
}

/// Every commune of the province.
fn commune_shapes(province: &DemoProvince) -> Result<Vec<Commune>, BoxError> {
    let def = layer("admin_commune").ok_or("no admin_commune layer")?;
    let field = |name: &str| {
        def.field_index(name)
            .ok_or(format!("admin_commune has no field {name}"))
    };
    let (code, district, province_code) = (field("code")?, field("district_code")?, field("province_code")?);
    let text = |f: &Feature, i: usize| match &f.properties[i] {
        Value::Text(s) => s.clone(),
        _ => String::new(),
    };
    province
        .layer("admin_commune")
        .iter()
        .map(|f| {
            let shape = match &f.geometry {
                Geometry::Polygon(p) => MultiPolygon::new(vec![p.clone()]),
                Geometry::MultiPolygon(mp) => mp.clone(),
                other => return Err(format!("commune {} is not a polygon: {other:?}", text(f, code)).into()),
            };
            Ok((text(f, code), text(f, district), text(f, province_code), shape))
        })
        .collect()
}

/// The tables of the two pools: same cells, sums equal but for the order of additions.
fn same_tables(a: &Table, b: &Table) -> Result<(), BoxError> {
    if a.len() != b.len() {
        return Err(format!("1 thread gave {} cells, 2 threads {}", a.len(), b.len()).into());
    }
    for (key, cell) in a {
        let other = b.get(key).ok_or_else(|| format!("cell {key:?} only on 1 thread"))?;
        if cell.features != other.features
            || (cell.values[0] - other.values[0]).abs() > 1e-9 * cell.values[0].abs().max(1.0)
        {
            return Err(format!("cell {key:?}: {cell:?} on 1 thread, {other:?} on 2").into());
        }
    }
    Ok(())
}

// One run of the benchmark from start to end: its steps read best in order.
#[allow(clippy::too_many_lines)]
async fn postgis(url: &str, province: DemoProvince, engine: &Totals, runs: usize) -> Result<PgFigures, BoxError> {
    let store = agrimap::postgres::connect_and_migrate(url).await?;
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("aggregate: PostgreSQL connection: {e}");
        }
    });

    // An empty database, then the province exactly as generated.
    let tables: Vec<&str> = catalog().iter().map(|l| l.id).chain(["readings"]).collect();
    client.batch_execute(&format!("TRUNCATE {}", tables.join(", "))).await?;
    let DemoProvince { layers, readings, .. } = province;
    let batch = WriteBatch {
        layers: layers
            .into_iter()
            .map(|(layer, features)| LayerWrite {
                layer,
                replace: true,
                features,
            })
            .collect(),
        readings,
        ..Default::default()
    };
    let started = Instant::now();
    let written = store.write(batch).await?;
    println!(
        "PostGIS: loaded {} features and {} readings in {:.1?}",
        written.features,
        written.readings,
        started.elapsed()
    );
    let started = Instant::now();
    client.batch_execute("VACUUM ANALYZE crop").await?;
    client.batch_execute("VACUUM ANALYZE admin_commune").await?;
    println!("PostGIS: VACUUM ANALYZE in {:.1?}", started.elapsed());

    let row = client
        .query_one(
            "SELECT split_part(version(), ' ', 2), postgis_lib_version(), \
             current_setting('max_parallel_workers_per_gather'), current_setting('max_parallel_workers'), \
             current_setting('max_worker_processes'), current_setting('shared_buffers'), \
             current_setting('work_mem'), current_setting('jit')",
            &[],
        )
        .await?;
    let setting = |i: usize| row.get::<_, String>(i);
    let workers_per_gather = setting(2);
    println!(
        "PostGIS: PostgreSQL {}, PostGIS {}; max_parallel_workers_per_gather={workers_per_gather}, \
         max_parallel_workers={}, max_worker_processes={}, shared_buffers={}, work_mem={}, jit={}",
        setting(0),
        setting(1),
        setting(3),
        setting(4),
        setting(5),
        setting(6),
        setting(7)
    );
    println!("PostGIS: plan of the query:");
    for line in client.query(&format!("EXPLAIN {QUERY}"), &[]).await? {
        println!("    {}", line.get::<_, String>(0));
    }

    let query = || async {
        let started = Instant::now();
        let rows = client.query(QUERY, &[]).await?;
        let elapsed = started.elapsed();
        let totals: Totals = rows
            .iter()
            .map(|r| ((r.get::<_, String>(0), r.get::<_, String>(1)), r.get::<_, f64>(2)))
            .collect();
        Ok::<_, BoxError>((elapsed, totals))
    };
    let (warm, totals) = query().await?;
    println!("PostGIS: untimed first run {warm:.2?}");
    let mut times = Vec::new();
    for _ in 0..runs {
        times.push(query().await?.0);
    }
    let median = median(&mut times);
    println!("PostGIS: {}; median {median:.3?}", list(&times));

    let worst = compare(engine, &totals);
    println!(
        "agreement: {} (commune, crop type) cells, {} in only one answer; totals {:.3} ha (engine) and {:.3} ha (PostGIS)",
        worst.cells,
        worst.only_one_side,
        engine.values().sum::<f64>(),
        totals.values().sum::<f64>()
    );
    println!(
        "agreement: worst relative difference {:.2e} (commune {}, {}: engine {:.6} ha, PostGIS {:.6} ha)",
        worst.relative, worst.key.0, worst.key.1, worst.engine, worst.postgis
    );
    println!(
        "agreement: {} sliver cells under 1 m², largest difference {:.2e} m²; worst relative difference of all cells {:.2e}",
        worst.slivers,
        worst.sliver_abs * 10_000.0,
        worst.relative_all
    );
    Ok(PgFigures {
        median,
        workers_per_gather,
        worst,
    })
}

/// Every cell of either answer, a missing cell counting as 0 ha.
fn compare(engine: &Totals, postgis: &Totals) -> Difference {
    let keys: BTreeSet<&(String, String)> = engine.keys().chain(postgis.keys()).collect();
    let mut worst = Difference {
        relative: 0.0,
        key: (String::new(), String::new()),
        engine: 0.0,
        postgis: 0.0,
        relative_all: 0.0,
        slivers: 0,
        sliver_abs: 0.0,
        cells: keys.len(),
        only_one_side: 0,
    };
    for key in keys {
        let (a, b) = (engine.get(key), postgis.get(key));
        if a.is_none() || b.is_none() {
            worst.only_one_side += 1;
        }
        let (a, b) = (a.copied().unwrap_or(0.0), b.copied().unwrap_or(0.0));
        let scale = a.abs().max(b.abs());
        let relative = if scale > 0.0 { (a - b).abs() / scale } else { 0.0 };
        worst.relative_all = worst.relative_all.max(relative);
        if scale < SLIVER_HA {
            worst.slivers += 1;
            worst.sliver_abs = worst.sliver_abs.max((a - b).abs());
        } else if relative >= worst.relative {
            worst.relative = relative;
            worst.key = key.clone();
            worst.engine = a;
            worst.postgis = b;
        }
    }
    worst
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ratio(slow: Duration, fast: Duration) -> f64 {
    slow.as_secs_f64() / fast.as_secs_f64()
}

fn list(times: &[Duration]) -> String {
    let runs: Vec<String> = times.iter().map(|t| format!("{:.3}", t.as_secs_f64())).collect();
    format!("runs {} s", runs.join(" "))
}

fn summary(figures: &[Figures]) {
    println!(
        "\n| parcels | engine, 1 thread | engine, 2 threads | speed-up | PostGIS | PostGIS / engine (2 threads) | worst difference (cells ≥ 1 m²) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for f in figures {
        let (pg, r, worst) = match &f.postgis {
            Some(pg) => (
                format!(
                    "{:.2} s (max_parallel_workers_per_gather={})",
                    pg.median.as_secs_f64(),
                    pg.workers_per_gather
                ),
                format!("{:.1}x", ratio(pg.median, f.two)),
                format!("{:.1e}", pg.worst.relative),
            ),
            None => ("—".into(), "—".into(), "—".into()),
        };
        println!(
            "| {} | {:.3} s | {:.3} s | {:.2}x | {pg} | {r} | {worst} |",
            f.parcels,
            f.one.as_secs_f64(),
            f.two.as_secs_f64(),
            ratio(f.one, f.two)
        );
    }
}
