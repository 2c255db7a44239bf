//! A planner's question on a large province: crop area and parcel count by
//! commune, crop type and practice, of the winter–spring season only
//! (`/api/stats?layer=crop&class=crop_type,practice&metric=area,count&filter=season='dong_xuan'`),
//! and a narrower one (VietGAP rice of that season), against PostGIS's own
//! SQL for the same cells, on the same data and machine.
//!
//! For each question:
//!
//! 1. **engine**: `aggregate` over the features the filter selects, held in
//!    memory (rayon on every core; median of the timed runs);
//! 2. **PostGIS**: the equivalent single query (`WHERE` the filter, `GROUP BY`
//!    commune, crop type and practice, exact intersections on the
//!    geography), median at the client up to the last row;
//! 3. **from the store, cold**: what a planner waits for on the first request
//!    after a write: a new core (no commune index, no table) asks the PostGIS
//!    store, which reads the selected parcels and aggregates them; then
//!    **cold after a write** (one parcel upserted, the same core); then
//!    **warm** (the cached table, after the store is asked whether anything
//!    changed; median of 50).
//!
//! Every cell of the engine's table must agree with PostGIS within 0.1 %
//! (cells of at least 1 m²); a larger difference fails the bench.
//!
//! Environment: `AGRIMAP_BENCH_PARCELS` (1000000), `AGRIMAP_BENCH_RUNS` (5),
//! `AGRIMAP_BENCH_DATABASE_URL` (required: a PostGIS database the bench may
//! empty and fill). Run: `benches/stats_questions.sh`.

use agrimap_analysis::{CLASS_SEPARATOR, Level, Metric, Spec, Zones, aggregate, rollup};
use agrimap_core::stats::StatsRequest;
use agrimap_core::{Core, CoreConfig};
use agrimap_demo::DemoOptions;
use agrimap_model::{Feature, Value, layer};
use agrimap_store::{Store, Upsert};
use geo::{Geometry, MultiPolygon};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "support/demo_pg.rs"]
mod demo_pg;

use demo_pg::BoxError;

/// `(code, district code, province code, boundary)`, as `Zones::new` takes a commune.
type Commune = (String, String, String, MultiPolygon<f64>);

/// Cells by (commune, "crop_type|practice"): hectares and parcels.
type Cells = BTreeMap<(String, String), (f64, f64)>;

/// One question: its CQL2 filter, the same in SQL, and a test on a feature.
struct Question {
    name: &'static str,
    cql2: &'static str,
    sql: &'static str,
    keep: fn(&Feature, &Fields) -> bool,
}

/// Indexes of the crop fields the questions read.
struct Fields {
    crop_type: usize,
    practice: usize,
    season: usize,
}

fn text(f: &Feature, i: usize) -> &str {
    match &f.properties[i] {
        Value::Text(s) => s,
        _ => "",
    }
}

const QUESTIONS: [Question; 2] = [
    Question {
        name: "winter–spring crops by crop type and practice",
        cql2: "season='dong_xuan'",
        sql: "p.season = 'dong_xuan'",
        keep: |f, x| text(f, x.season) == "dong_xuan",
    },
    Question {
        name: "winter–spring VietGAP rice by crop type and practice",
        cql2: "season='dong_xuan' AND crop_type='rice' AND practice='vietgap'",
        sql: "p.season = 'dong_xuan' AND p.crop_type = 'rice' AND p.practice = 'vietgap'",
        keep: |f, x| {
            text(f, x.season) == "dong_xuan" && text(f, x.crop_type) == "rice" && text(f, x.practice) == "vietgap"
        },
    },
];

fn sql(question: &Question) -> String {
    // Each parcel's parts by commune, and the commune of its largest part
    // for the count: what the engine counts.
    format!(
        "WITH parts AS (
           SELECT p.fid, c.code, p.crop_type, coalesce(p.practice, '') AS practice,
                  CASE WHEN ST_Within(p.geom, c.geom) THEN ST_Area(p.geom::geography)
                       ELSE ST_Area(ST_Intersection(p.geom, c.geom)::geography) END / 10000 AS ha
           FROM crop p JOIN admin_commune c ON ST_Intersects(p.geom, c.geom)
           WHERE {}),
         largest AS (SELECT DISTINCT ON (fid) fid, code FROM parts ORDER BY fid, ha DESC)
         SELECT p.code, p.crop_type || '|' || p.practice, sum(p.ha),
                (count(l.fid))::float8
         FROM parts p LEFT JOIN largest l ON l.fid = p.fid AND l.code = p.code
         GROUP BY 1, 2",
        question.sql
    )
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() -> Result<(), BoxError> {
    let parcels: usize = env_or("AGRIMAP_BENCH_PARCELS", "1000000").replace('_', "").parse()?;
    let runs: usize = env_or("AGRIMAP_BENCH_RUNS", "5").parse::<usize>()?.max(1);
    let url = std::env::var("AGRIMAP_BENCH_DATABASE_URL")
        .map_err(|_| "AGRIMAP_BENCH_DATABASE_URL is not set (benches/stats_questions.sh sets it)")?;
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    println!("stats_questions: {parcels} parcels, {cpus} CPUs");
    let province = agrimap_demo::generate(&DemoOptions { seed: 2025, parcels });
    let crop_def = layer("crop").ok_or("no crop layer")?;
    let index = |n: &str| crop_def.field_index(n).ok_or(format!("no crop field {n}"));
    let fields = Fields {
        crop_type: index("crop_type")?,
        practice: index("practice")?,
        season: index("season")?,
    };
    let zones = Zones::new(communes(province.layer("admin_commune"))?);
    let crop: Vec<Feature> = province.layer("crop").to_vec();
    let rt = tokio::runtime::Runtime::new()?;
    let store = rt.block_on(load(&url, province))?;
    let (client, connection) = rt.block_on(tokio_postgres::connect(&url, tokio_postgres::NoTls))?;
    rt.spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("stats_questions: PostgreSQL connection: {e}");
        }
    });

    let mut rows = Vec::new();
    for q in &QUESTIONS {
        println!("\n== {} ({}) ==", q.name, q.cql2);
        let selected: Vec<Feature> = crop.iter().filter(|f| (q.keep)(f, &fields)).cloned().collect();
        println!("{} parcels selected", selected.len());
        let spec = Spec {
            classes: vec![fields.crop_type, fields.practice],
            metrics: vec![Metric::Area, Metric::Count],
        };
        let engine_run = || {
            let started = Instant::now();
            let table = aggregate(&zones, &selected, &spec);
            let rows = rollup(&zones, &table, Level::Commune);
            (started.elapsed(), rows)
        };
        let (_, engine_rows) = engine_run();
        let mut times: Vec<Duration> = (0..runs).map(|_| engine_run().0).collect();
        let engine = median(&mut times);
        println!("engine: median {} of {runs}", ms(engine));
        let ours: Cells = engine_rows
            .into_iter()
            .map(|r| {
                let class = r.class.replace(CLASS_SEPARATOR, "|");
                ((r.code, class), (r.values[0], r.values[1]))
            })
            .collect();

        let query = sql(q);
        let pg_run = || async {
            let started = Instant::now();
            let rows = client.query(query.as_str(), &[]).await?;
            let cells: Cells = rows
                .iter()
                .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
                .collect();
            Ok::<_, BoxError>((started.elapsed(), cells))
        };
        let (_, theirs) = rt.block_on(pg_run())?;
        let mut times = Vec::new();
        for _ in 0..runs.min(3) {
            times.push(rt.block_on(pg_run())?.0);
        }
        let postgis = median(&mut times);
        println!("PostGIS: median {}", ms(postgis));
        agree(&ours, &theirs)?;

        let (cold, after_write, warm) = rt.block_on(from_the_store(&store, q.cql2))?;
        println!(
            "from the store: cold {}, cold after a write {}, warm (median of 50) {}",
            ms(cold),
            ms(after_write),
            ms(warm)
        );
        rows.push(format!(
            "| {} | {} | {} | {} | {:.1}x | {} | {} | {} |",
            q.name,
            selected.len(),
            ms(engine),
            ms(postgis),
            postgis.as_secs_f64() / engine.as_secs_f64(),
            ms(cold),
            ms(after_write),
            ms(warm)
        ));
    }
    println!(
        "\n| question | parcels selected | engine | PostGIS SQL | PostGIS / engine | from the store, cold | cold after a write | warm |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
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
            Ok((
                text(f, code).to_owned(),
                text(f, district).to_owned(),
                text(f, province).to_owned(),
                shape,
            ))
        })
        .collect()
}

/// An empty database filled with the province, as the PostGIS store writes it.
async fn load(url: &str, province: agrimap_demo::DemoProvince) -> Result<Arc<dyn Store>, BoxError> {
    let (store, features, took) = demo_pg::load_demo(url, province, &["crop", "admin_commune"]).await?;
    println!("PostGIS: loaded {features} features in {took:.1?}");
    Ok(store)
}

/// The question asked of the store through the core: cold (a new core),
/// cold again after one parcel is written, then warm.
async fn from_the_store(store: &Arc<dyn Store>, cql2: &str) -> Result<(Duration, Duration, Duration), BoxError> {
    let crop_def = layer("crop").ok_or("no crop layer")?;
    let params = agrimap_core::features::Params::new(vec![("filter".into(), cql2.into())])?;
    let selection = agrimap_core::stats::Selection::read(crop_def, &params, agrimap_model::Audience::Public).await?;
    let asked = StatsRequest::parse("crop", Some("commune"), Some("crop_type,practice"), Some("area,count"))?
        .selecting(selection);
    let request = || -> Result<StatsRequest, BoxError> { Ok(asked.clone()) };
    let core = Core::new(store.clone(), CoreConfig::default());
    let started = Instant::now();
    core.stats.table(store.as_ref(), request()?).await?;
    let cold = started.elapsed();

    // One parcel changes its practice: the layer's version moves on.
    let mut parcel = store
        .features(
            crop_def,
            &agrimap_model::FeatureQuery {
                limit: Some(1),
                ..Default::default()
            },
        )
        .await?
        .pop()
        .ok_or("no parcel")?;
    let practice = crop_def.field_index("practice").ok_or("no practice")?;
    let changed = if parcel.properties[practice] == Value::Text("organic".into()) {
        "vietgap"
    } else {
        "organic"
    };
    parcel.properties[practice] = Value::Text(changed.into());
    let before = store.versions().await?.get("crop").copied().unwrap_or(0);
    store
        .upsert(Upsert {
            layer: crop_def,
            features: vec![parcel],
            update: vec!["practice"],
            insert_new: true,
        })
        .await?;
    // The store tells of its writes by notification: wait until it has, so
    // that the next request is the first after the write, not a stale one.
    let waited = Instant::now();
    while store.versions().await?.get("crop").copied().unwrap_or(0) == before {
        if waited.elapsed() > Duration::from_secs(10) {
            return Err("the layer's version did not move after the write".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    core.stats.table(store.as_ref(), request()?).await?;
    let after_write = started.elapsed();

    let mut times = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        core.stats.table(store.as_ref(), request()?).await?;
        times.push(started.elapsed());
    }
    Ok((cold, after_write, median(&mut times)))
}

/// Every cell of at least 1 m² within 0.1 %, and every count equal.
fn agree(ours: &Cells, theirs: &Cells) -> Result<(), BoxError> {
    let mut worst = 0.0_f64;
    let mut counts = 0;
    for key in ours.keys().chain(theirs.keys()) {
        let (a, ac) = ours.get(key).copied().unwrap_or_default();
        let (b, bc) = theirs.get(key).copied().unwrap_or_default();
        if a.max(b) >= 1e-4 {
            worst = worst.max((a - b).abs() / a.max(b));
        }
        if (ac - bc).abs() > 0.5 {
            counts += 1;
        }
    }
    println!(
        "agreement: {} cells; worst relative area difference {worst:.2e}; {counts} cells whose counts differ",
        ours.len()
    );
    if worst > 1e-3 || counts > 0 {
        return Err(format!("the engine and PostGIS disagree: worst {worst:.2e}, {counts} counts").into());
    }
    Ok(())
}
