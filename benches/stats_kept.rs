//! Statistics kept at write time (issue 19, item 2) on a large province in
//! PostGIS, against PostGIS's own SQL on the same tables and machine, in
//! one run:
//!
//! 1. **load**: the demo province written by the store's writer, which
//!    splits every feature across the communes in the same transaction;
//! 2. **bulk recomputation** (what a boundary change costs): the engine
//!    alone over the parcels in memory (`splits_of_all`, rayon, median of
//!    the runs); the store's `recompute_splits` end to end (every thematic
//!    layer read, split, deleted and written back, one transaction); and
//!    PostGIS computing the same parts of every parcel in SQL (exact
//!    intersections on the geography, into a table);
//! 3. **the first table after a write**: crop area by commune and crop
//!    type (`/api/stats?layer=crop&by=commune&class=crop_type&metric=area`)
//!    through the core, right after one parcel is moved (the write, with
//!    its splits, timed apart), median of the runs; a new core's cold table;
//!    and PostGIS's own SQL for the same table, median of 3. Every cell of
//!    the core's table must agree with PostGIS's within 0.1 % (cells of at
//!    least 1 m²), or the bench fails.
//!
//! Environment: `AGRIMAP_BENCH_PARCELS` (1000000), `AGRIMAP_BENCH_RUNS` (5),
//! `AGRIMAP_BENCH_DATABASE_URL` (required: a PostGIS database the bench may
//! empty and fill). Run: `benches/stats_kept.sh`.

use agrimap_analysis::{Zones, splits_of_all};
use agrimap_core::stats::StatsRequest;
use agrimap_core::{Core, CoreConfig};
use agrimap_demo::DemoOptions;
use agrimap_model::{Feature, FeatureQuery, Value, layer};
use agrimap_store::{Store, Upsert};
use geo::{Geometry, MultiPolygon, Translate};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "support/demo_pg.rs"]
mod demo_pg;

use demo_pg::BoxError;

/// Hectares by (commune, crop type).
type Cells = BTreeMap<(String, String), f64>;

/// `(code, district code, province code, boundary)`, as `Zones::new` takes a commune.
type Commune = (String, String, String, MultiPolygon<f64>);

/// The table in PostGIS's own SQL: each parcel's parts by commune, exact
/// on the geography, summed by commune and crop type.
const TABLE_SQL: &str = "SELECT c.code, p.crop_type,
        sum(CASE WHEN ST_Within(p.geom, c.geom) THEN ST_Area(p.geom::geography)
                 ELSE ST_Area(ST_Intersection(p.geom, c.geom)::geography) END) / 10000
   FROM crop p JOIN admin_commune c ON ST_Intersects(p.geom, c.geom)
   GROUP BY 1, 2";

/// The same parts, every parcel's, kept in a table: the bulk work in SQL.
const SPLITS_SQL: &str = "CREATE TEMP TABLE sql_splits AS
   SELECT p.fid, c.code,
          CASE WHEN ST_Within(p.geom, c.geom) THEN ST_Area(p.geom::geography)
               ELSE ST_Area(ST_Intersection(p.geom, c.geom)::geography) END / 10000 AS ha
   FROM crop p JOIN admin_commune c ON ST_Intersects(p.geom, c.geom)";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn text(f: &Feature, i: usize) -> String {
    match &f.properties[i] {
        Value::Text(s) => s.clone(),
        _ => String::new(),
    }
}

#[expect(clippy::too_many_lines, reason = "the bench reads best as one sequence of steps")]
fn main() -> Result<(), BoxError> {
    let parcels: usize = env_or("AGRIMAP_BENCH_PARCELS", "1000000").replace('_', "").parse()?;
    let runs: usize = env_or("AGRIMAP_BENCH_RUNS", "5").parse::<usize>()?.max(1);
    let url = std::env::var("AGRIMAP_BENCH_DATABASE_URL")
        .map_err(|_| "AGRIMAP_BENCH_DATABASE_URL is not set (benches/stats_kept.sh sets it)")?;
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    println!("stats_kept: {parcels} parcels, {cpus} CPUs");
    let province = agrimap_demo::generate(&DemoOptions { seed: 2025, parcels });
    let zones = Zones::new(communes(province.layer("admin_commune"))?);
    let crop: Vec<(i64, Geometry<f64>)> = province
        .layer("crop")
        .iter()
        .enumerate()
        .map(|(i, f)| (i64::try_from(i).unwrap_or(i64::MAX), f.geometry.clone()))
        .collect();
    let rt = tokio::runtime::Runtime::new()?;
    let store = rt.block_on(load(&url, province))?;
    let (client, connection) = rt.block_on(tokio_postgres::connect(&url, tokio_postgres::NoTls))?;
    rt.spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("stats_kept: PostgreSQL connection: {e}");
        }
    });

    // Bulk: the engine alone, the store end to end, PostGIS's SQL.
    let mut times = Vec::new();
    let mut parts = 0;
    for _ in 0..runs.min(3) {
        let started = Instant::now();
        let splits = splits_of_all(&zones, &crop);
        times.push(started.elapsed());
        parts = splits.iter().map(|(_, s)| s.len()).sum::<usize>();
    }
    let engine = median(&mut times);
    println!(
        "bulk, engine alone: {} ({parts} parts of {} parcels)",
        ms(engine),
        crop.len()
    );
    drop(crop);
    let started = Instant::now();
    let split = rt.block_on(store.recompute_splits())?;
    let recompute = started.elapsed();
    println!(
        "bulk, the store's recompute_splits: {} ({split} features)",
        ms(recompute)
    );
    let started = Instant::now();
    rt.block_on(client.batch_execute(SPLITS_SQL))?;
    let sql_bulk = started.elapsed();
    let sql_parts: i64 = rt
        .block_on(client.query_one("SELECT count(*) FROM sql_splits", &[]))?
        .get(0);
    rt.block_on(client.batch_execute("DROP TABLE sql_splits"))?;
    println!("bulk, PostGIS SQL: {} ({sql_parts} parts)", ms(sql_bulk));

    // The first table after a write.
    let request = || StatsRequest::parse("crop", Some("commune"), Some("crop_type"), Some("area"));
    let core = Core::new(store.clone(), CoreConfig::default());
    let started = Instant::now();
    let first = rt.block_on(core.stats.table(store.as_ref(), request()?))?;
    let cold = started.elapsed();
    let crop_def = layer("crop").ok_or("no crop layer")?;
    let (mut writes, mut tables) = (Vec::new(), Vec::new());
    let mut table = first;
    for run in 0..runs {
        let mut parcel = rt
            .block_on(store.features(
                crop_def,
                &FeatureQuery {
                    limit: Some(1),
                    offset: run * 1000,
                    ..Default::default()
                },
            ))?
            .pop()
            .ok_or("no parcel")?;
        // Moved by about a metre: its splits are computed afresh.
        parcel.geometry = parcel.geometry.translate(1e-5, 0.0);
        let before = rt.block_on(store.versions())?.get("crop").copied().unwrap_or(0);
        let started = Instant::now();
        rt.block_on(store.upsert(Upsert {
            layer: crop_def,
            features: vec![parcel],
            update: vec![],
            insert_new: true,
        }))?;
        writes.push(started.elapsed());
        // The store tells of its writes by notification: wait until it has.
        let waited = Instant::now();
        while rt.block_on(store.versions())?.get("crop").copied().unwrap_or(0) == before {
            if waited.elapsed() > Duration::from_secs(10) {
                return Err("the layer's version did not move after the write".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let started = Instant::now();
        table = rt.block_on(core.stats.table(store.as_ref(), request()?))?;
        tables.push(started.elapsed());
    }
    let write = median(&mut writes);
    let after_write = median(&mut tables);
    println!(
        "first table after a write: median {} of {runs} (the write itself {}); a new core, cold: {}",
        ms(after_write),
        ms(write),
        ms(cold)
    );
    let ours: Cells = table
        .rows
        .iter()
        .map(|r| ((r.code.clone(), r.class.clone().unwrap_or_default()), r.value))
        .collect();

    let mut times = Vec::new();
    let mut theirs = Cells::new();
    for _ in 0..3 {
        let started = Instant::now();
        let rows = rt.block_on(client.query(TABLE_SQL, &[]))?;
        times.push(started.elapsed());
        theirs = rows.iter().map(|r| ((r.get(0), r.get(1)), r.get(2))).collect();
    }
    let postgis = median(&mut times);
    println!("PostGIS SQL, the same table: median {} of 3", ms(postgis));
    agree(&ours, &theirs)?;

    println!("\n| work | agrimap | PostGIS SQL | PostGIS / agrimap |");
    println!("|---|---|---|---|");
    let row = |what: &str, ours: Duration, theirs: Duration| {
        println!(
            "| {what} | {} | {} | **{:.1}×** |",
            ms(ours),
            ms(theirs),
            theirs.as_secs_f64() / ours.as_secs_f64()
        );
    };
    row(
        "first table after a write (crop area by commune and crop type)",
        after_write,
        postgis,
    );
    row("the same, a new core (cold)", cold, postgis);
    row("bulk splits of every parcel, engine alone", engine, sql_bulk);
    row("bulk, the store's recompute_splits end to end", recompute, sql_bulk);
    Ok(())
}

/// The communes as `Zones::new` takes them.
fn communes(features: &[Feature]) -> Result<Vec<Commune>, BoxError> {
    let def = layer("admin_commune").ok_or("no admin_commune layer")?;
    let field = |n: &str| def.field_index(n).ok_or(format!("no commune field {n}"));
    let (code, district, province) = (field("code")?, field("district_code")?, field("province_code")?);
    features
        .iter()
        .map(|f| {
            let shape = match &f.geometry {
                Geometry::Polygon(p) => MultiPolygon::new(vec![p.clone()]),
                Geometry::MultiPolygon(mp) => mp.clone(),
                _ => return Err("a commune that is not a polygon".into()),
            };
            Ok((text(f, code), text(f, district), text(f, province), shape))
        })
        .collect()
}

/// Every cell of at least 1 m² within 0.1 %.
fn agree(ours: &Cells, theirs: &Cells) -> Result<(), BoxError> {
    let mut worst = 0.0_f64;
    for key in ours.keys().chain(theirs.keys()) {
        let a = ours.get(key).copied().unwrap_or_default();
        let b = theirs.get(key).copied().unwrap_or_default();
        if a.max(b) >= 1e-4 {
            worst = worst.max((a - b).abs() / a.max(b));
        }
    }
    println!("agreement: {} cells; worst relative difference {worst:.2e}", ours.len());
    if worst > 1e-3 {
        return Err(format!("agrimap and PostGIS disagree: worst {worst:.2e}").into());
    }
    Ok(())
}

/// An empty database filled with the province by the store's writer.
async fn load(url: &str, province: agrimap_demo::DemoProvince) -> Result<Arc<dyn Store>, BoxError> {
    let (store, features, took) =
        demo_pg::load_demo(url, province, &["crop", "admin_commune", "agrimap_feature_splits"]).await?;
    println!("load: {features} features written with their splits in {took:.1?}");
    Ok(store)
}
