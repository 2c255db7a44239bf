//! Sustained ingestion through `POST /api/stations/{id}/readings` (issue 7,
//! item 5): one client per station, all at once, each posting batches of
//! readings for its own station as fast as the server answers, for a fixed
//! time; then the store is counted to show that every acknowledged reading
//! is there once, and nothing else is.
//!
//! Each client is a thread with its own keep-alive HTTP connection (ureq) and
//! waits for each answer before sending its next batch (a closed loop, as a
//! station does). Reading `i` of a station (`i` = 0, 1, 2, ...) is at
//! `start + i` seconds, its parameter cycles through salinity (ppt), pH
//! (pH), dissolved oxygen (mg/L) and temperature (°C), and its value varies
//! within the range where a station stays `ok`; so every reading of the run
//! is new, and batch `k` of a station is always the same 100 readings. The
//! default start, 2026-11-21T00:00:00Z, is just after the demo province's own
//! readings end: the run's readings are each station's newest, as in live
//! ingestion, so the latest values change with every batch. A client stops
//! early when its next reading would be in the future.
//!
//! A batch answered with an error is sent again (after 50 ms) until it is
//! answered 200, for at most 10 s after the end of the run; errors are
//! counted and the first few printed.
//!
//! Reported: readings acknowledged (the sum of `accepted` of the answers, and
//! of `stored`, which must be equal: every reading is new) per second over the
//! run and per 5-second window, batches per second, batch latency (p50, p90,
//! p99, max), errors. Then the checks, through the store itself
//! (`AGRIMAP_INGEST_DATABASE` or `AGRIMAP_INGEST_GPKG`):
//!
//! 1. the readings of each station, counted before and after: after − before
//!    equals the readings acknowledged for it;
//! 2. the readings of each station from `start` on are exactly the ones of
//!    the batches answered 200 (each time and parameter once, none missing,
//!    none extra);
//! 3. a sample of batches (`AGRIMAP_INGEST_RESEND` per station, spread over
//!    the run) posted again is answered 200 with `stored: 0`, and the counts
//!    do not move.
//!
//! On PostGIS also the whole `readings` table is counted (and its distinct
//! station, parameter, time), what the database's sessions were doing is
//! sampled every 50 ms during the run (`pg_stat_activity`: state and wait
//! event), and with the `pg_stat_statements` extension in the database its
//! statements are reset before the run and the costliest printed after.
//!
//! With `AGRIMAP_INGEST_PIDS=agrimap=PID,postgres=PID` (the `serve` process
//! and the postmaster) the CPU time each used during the run is printed, with
//! the bench's own and the whole machine's (other work on a shared machine
//! shows there).
//!
//! Environment (or arguments: the base URL and `ID:TOKEN` pairs):
//! - `AGRIMAP_INGEST_URL`: the server, `http://127.0.0.1:PORT`;
//! - `AGRIMAP_INGEST_STATIONS`: `ID:TOKEN` pairs, comma-separated, one client each;
//! - `AGRIMAP_INGEST_SECONDS`: how long the clients post (30);
//! - `AGRIMAP_INGEST_BATCH`: readings per batch (100);
//! - `AGRIMAP_INGEST_START`: time of each station's first reading (2026-11-21T00:00:00Z);
//! - `AGRIMAP_INGEST_RESEND`: batches per station posted again (4);
//! - `AGRIMAP_INGEST_DATABASE` / `AGRIMAP_INGEST_GPKG`: the store the server
//!   writes to (PostgreSQL URL / GeoPackage file), for the counts;
//! - `AGRIMAP_INGEST_LABEL`: a name for the printout;
//! - `AGRIMAP_INGEST_ALARM_EVERY`: every this many batches of a station, its
//!   last salinity reading is an alarm (9 ppt), which the next batch clears,
//!   so that each such batch makes two alert events for the subscriptions to
//!   hear (0, the default: none).
//!
//! Without a URL it prints how to run it and does nothing. Run:
//! `benches/ingest.sh` (a throwaway PostgreSQL cluster and a fresh
//! GeoPackage, the release `agrimap serve` on each, then this bench).

use agrimap_model::Reading;
use agrimap_model::UtcTime;
use agrimap_store::{GpkgStore, PgStore, ReadingQuery, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

type BoxError = Box<dyn Error + Send + Sync>;

/// Parameter, unit, and the range values stay in (an `ok` station).
const PARAMETERS: [(&str, &str, f64, f64); 4] = [
    ("salinity", "ppt", 0.4, 1.6),
    ("ph", "pH", 6.6, 7.6),
    ("dissolved_oxygen", "mg/L", 5.0, 7.5),
    ("temperature", "°C", 27.0, 31.0),
];

/// How long a failing batch is retried after the end of the run.
const RETRY_GRACE: Duration = Duration::from_secs(10);
/// Width of the throughput windows.
const WINDOW: Duration = Duration::from_secs(5);
/// Period of the `pg_stat_activity` samples.
const SAMPLE_EVERY: Duration = Duration::from_millis(50);

struct Config {
    base: String,
    stations: Vec<(String, String)>,
    seconds: f64,
    batch: usize,
    start: i64,
    resend: usize,
    alarm_every: usize,
    database: Option<String>,
    gpkg: Option<PathBuf>,
    label: String,
    pids: Vec<(String, u32)>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_parse<T: std::str::FromStr>(name: &str, default: T) -> Result<T, BoxError> {
    env(name).map_or(Ok(default), |v| {
        v.trim()
            .parse()
            .map_err(|_| format!("{name}: cannot read '{v}'").into())
    })
}

fn station_pair(pair: &str) -> Result<(String, String), BoxError> {
    let (id, token) = pair
        .trim()
        .split_once(':')
        .ok_or_else(|| format!("a station is ID:TOKEN, not '{pair}'"))?;
    Ok((id.to_owned(), token.to_owned()))
}

impl Config {
    /// `None` when no server is named.
    fn read() -> Result<Option<Self>, BoxError> {
        let mut base = env("AGRIMAP_INGEST_URL");
        let mut stations = Vec::new();
        if let Some(list) = env("AGRIMAP_INGEST_STATIONS") {
            for pair in list.split(',').filter(|p| !p.trim().is_empty()) {
                stations.push(station_pair(pair)?);
            }
        }
        // `cargo bench` passes `--bench`; anything else is the URL or a station.
        for arg in std::env::args().skip(1).filter(|a| !a.starts_with("--")) {
            if arg.starts_with("http://") {
                base = Some(arg);
            } else {
                stations.push(station_pair(&arg)?);
            }
        }
        let Some(base) = base else { return Ok(None) };
        if stations.is_empty() {
            return Err("no stations: set AGRIMAP_INGEST_STATIONS=ID:TOKEN,ID:TOKEN,...".into());
        }
        let start = env("AGRIMAP_INGEST_START").unwrap_or_else(|| "2026-11-21T00:00:00Z".into());
        let start = UtcTime::parse(&start)
            .map(UtcTime::unix)
            .map_err(|e| format!("AGRIMAP_INGEST_START: {e}"))?;
        let mut pids = Vec::new();
        for pair in env("AGRIMAP_INGEST_PIDS").unwrap_or_default().split(',') {
            if let Some((name, pid)) = pair.split_once('=') {
                pids.push((name.to_owned(), pid.trim().parse()?));
            }
        }
        Ok(Some(Self {
            base: base.trim_end_matches('/').to_owned(),
            stations,
            seconds: env_parse("AGRIMAP_INGEST_SECONDS", 30.0)?,
            batch: env_parse("AGRIMAP_INGEST_BATCH", 100)?,
            start,
            resend: env_parse("AGRIMAP_INGEST_RESEND", 4)?,
            alarm_every: env_parse("AGRIMAP_INGEST_ALARM_EVERY", 0)?,
            database: env("AGRIMAP_INGEST_DATABASE"),
            gpkg: env("AGRIMAP_INGEST_GPKG").map(PathBuf::from),
            label: env("AGRIMAP_INGEST_LABEL").unwrap_or_else(|| "ingest".into()),
            pids,
        }))
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Reading `i` of a station: its time offset is `i` seconds.
fn reading(i: usize) -> (&'static str, &'static str, f64) {
    let (name, unit, low, high) = PARAMETERS[i % PARAMETERS.len()];
    // A slow wave with some jitter, rounded as a sensor reports it.
    let x = i as f64;
    let wave = 0.5 + 0.4 * (x / 3_600.0).sin() + 0.1 * ((x * 0.618_034).fract() - 0.5);
    let value = ((low + (high - low) * wave.clamp(0.0, 1.0)) * 1000.0).round() / 1000.0;
    (name, unit, value)
}

/// The body of batch `k`; with `alarm_every`, see `AGRIMAP_INGEST_ALARM_EVERY`.
fn batch_body(k: usize, batch: usize, start: i64, alarm_every: usize) -> Vec<u8> {
    let alarm = alarm_every > 0 && k.is_multiple_of(alarm_every);
    let end = (k + 1) * batch;
    let readings: Vec<serde_json::Value> = (k * batch..end)
        .map(|i| {
            let (parameter, unit, mut value) = reading(i);
            // The batch's last salinity is the station's latest one.
            if alarm && parameter == "salinity" && end - i <= PARAMETERS.len() {
                value = 9.0;
            }
            serde_json::json!({
                "parameter": parameter,
                "value": value,
                "unit": unit,
                "time": agrimap_model::calendar::format_timestamp(start + i as i64),
            })
        })
        .collect();
    serde_json::to_vec(&readings).unwrap_or_default()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// What the server said to one post.
enum Answer {
    Ok { accepted: u64, stored: u64 },
    Failed(String),
}

fn post(agent: &ureq::Agent, url: &str, token: &str, body: &[u8]) -> Answer {
    let sent = agent
        .post(url)
        .header("authorization", &format!("Bearer {token}"))
        .header("content-type", "application/json")
        .send(body);
    let mut response = match sent {
        Ok(r) => r,
        Err(e) => return Answer::Failed(format!("transport: {e}")),
    };
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    if status != 200 {
        return Answer::Failed(format!("{status}: {}", text.chars().take(200).collect::<String>()));
    }
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Answer::Failed(format!("200 with a body that is not JSON: {text}"));
    };
    match (json["accepted"].as_u64(), json["stored"].as_u64()) {
        (Some(accepted), Some(stored)) => Answer::Ok { accepted, stored },
        _ => Answer::Failed(format!("200 without accepted/stored: {text}")),
    }
}

/// What one client did.
#[derive(Default)]
struct ClientRun {
    /// Batches answered 200, in order.
    acked: Vec<usize>,
    accepted: u64,
    stored: u64,
    /// (completion since the start of the run, latency, readings accepted).
    batches: Vec<(Duration, Duration, u64)>,
    errors: Vec<String>,
    /// A batch never answered 200 (its fate is unknown).
    abandoned: Option<usize>,
    /// Stopped because its next reading would be in the future.
    out_of_time: bool,
}

fn client(config: &Config, station: usize, t0: Instant, deadline: Instant) -> ClientRun {
    let (id, token) = &config.stations[station];
    let url = format!("{}/api/stations/{id}/readings", config.base);
    let agent = agent();
    let mut run = ClientRun::default();
    let mut k = 0;
    while Instant::now() < deadline {
        let last = config.start + ((k + 1) * config.batch) as i64 - 1;
        if last > unix_now() {
            run.out_of_time = true;
            break;
        }
        let body = batch_body(k, config.batch, config.start, config.alarm_every);
        loop {
            let sent = Instant::now();
            match post(&agent, &url, token, &body) {
                Answer::Ok { accepted, stored } => {
                    let done = Instant::now();
                    run.batches.push((done - t0, done - sent, accepted));
                    run.accepted += accepted;
                    run.stored += stored;
                    run.acked.push(k);
                    break;
                }
                Answer::Failed(why) => {
                    run.errors.push(why);
                    if Instant::now() > deadline + RETRY_GRACE {
                        run.abandoned = Some(k);
                        return run;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
        k += 1;
    }
    run
}

/// The store the server writes to, for the counts.
enum Counter {
    Pg { store: Box<PgStore>, url: String },
    Gpkg(GpkgStore),
}

impl Counter {
    fn open(config: &Config) -> Result<Option<Self>, BoxError> {
        Ok(match (&config.database, &config.gpkg) {
            (Some(url), _) => Some(Self::Pg {
                store: Box::new(PgStore::connect(url)?),
                url: url.clone(),
            }),
            (None, Some(path)) => Some(Self::Gpkg(GpkgStore::open(path)?)),
            (None, None) => None,
        })
    }

    fn store(&self) -> &dyn Store {
        match self {
            Self::Pg { store, .. } => store.as_ref(),
            Self::Gpkg(store) => store,
        }
    }

    /// Every reading of each station.
    async fn per_station(&self, config: &Config) -> Result<BTreeMap<String, usize>, BoxError> {
        let mut out = BTreeMap::new();
        for (id, _) in &config.stations {
            out.insert(id.clone(), self.store().readings(id).await?.len());
        }
        Ok(out)
    }

    /// The station's readings from the start of the run on.
    async fn since_start(&self, config: &Config, id: &str) -> Result<Vec<Reading>, BoxError> {
        let query = ReadingQuery {
            station_id: id.to_owned(),
            from: UtcTime::from_unix(config.start),
            ..ReadingQuery::default()
        };
        Ok(self.store().readings_between(&query).await?)
    }

    /// Rows of the `readings` table of the bench's stations (other stations
    /// may be written meanwhile, as `benches/alerts.sh` does), and distinct
    /// (station, parameter, time).
    async fn table(&self, config: &Config) -> Result<Option<(i64, i64)>, BoxError> {
        let Self::Pg { url, .. } = self else { return Ok(None) };
        let client = pg_client(url).await?;
        let stations: Vec<&str> = config.stations.iter().map(|(id, _)| id.as_str()).collect();
        let row = client
            .query_one(
                "SELECT count(*), count(DISTINCT (station_id, parameter, time)) FROM readings
                 WHERE station_id = ANY($1)",
                &[&stations],
            )
            .await?;
        Ok(Some((row.get(0), row.get(1))))
    }
}

async fn pg_client(url: &str) -> Result<tokio_postgres::Client, BoxError> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// What the database's other sessions were doing: mean number of sessions
/// in each (state, wait event, statement) over the samples.
fn sample_activity(url: String, stop: Arc<AtomicBool>) -> Result<(usize, BTreeMap<String, usize>), BoxError> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let client = pg_client(&url).await?;
        let statement = client
            .prepare(
                "SELECT state, coalesce(wait_event_type || ':' || wait_event, 'CPU'),
                        regexp_replace(left(query, 60), '\\s+', ' ', 'g')
                 FROM pg_stat_activity
                 WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
                   AND datname = current_database() AND state <> 'idle'",
            )
            .await?;
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut samples = 0;
        while !stop.load(Ordering::Relaxed) {
            for row in client.query(&statement, &[]).await? {
                let state: String = row.get(0);
                let wait: String = row.get(1);
                let query: String = row.get(2);
                let key = if state == "active" {
                    format!("active, {wait}: {query}")
                } else {
                    format!("{state} (waiting for agrimap), last: {query}")
                };
                *counts.entry(key).or_default() += 1;
            }
            samples += 1;
            tokio::time::sleep(SAMPLE_EVERY).await;
        }
        Ok((samples, counts))
    })
}

/// Resets `pg_stat_statements` when the database has it; whether it does.
async fn reset_statements(url: &str) -> Result<bool, BoxError> {
    let client = pg_client(url).await?;
    let has = client
        .query_opt("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'", &[])
        .await?
        .is_some();
    if has {
        client.execute("SELECT pg_stat_statements_reset()", &[]).await?;
    }
    Ok(has)
}

async fn print_statements(url: &str, elapsed: Duration) -> Result<(), BoxError> {
    let client = pg_client(url).await?;
    let rows = client
        .query(
            "SELECT calls, total_exec_time, mean_exec_time, regexp_replace(left(query, 110), '\\s+', ' ', 'g')
             FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
             ORDER BY total_exec_time DESC LIMIT 12",
            &[],
        )
        .await?;
    println!("  statements by total execution time (pg_stat_statements; triggers counted in their statement):");
    println!(
        "  {:>9} {:>10} {:>9} {:>7}  statement",
        "calls", "total ms", "mean ms", "% wall"
    );
    for row in rows {
        let (calls, total, mean, query): (i64, f64, f64, String) = (row.get(0), row.get(1), row.get(2), row.get(3));
        println!(
            "  {calls:>9} {total:>10.0} {mean:>9.3} {:>6.0}%  {query}",
            100.0 * total / 1000.0 / elapsed.as_secs_f64()
        );
    }
    Ok(())
}

/// CPU seconds (user + system) of a process, and of its children when `tree`.
fn cpu_seconds(pid: u32, tree: bool) -> f64 {
    // Linux reports these in clock ticks, 100 per second on every platform agrimap runs on.
    const TICKS: f64 = 100.0;
    let stat = |path: PathBuf| -> Option<(u32, f64)> {
        let text = std::fs::read_to_string(path).ok()?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let rest: Vec<&str> = text.get(text.rfind(')')? + 2..)?.split(' ').collect();
        let parent = rest.get(1)?.parse().ok()?;
        let ticks: f64 = rest.get(11)?.parse::<f64>().ok()? + rest.get(12)?.parse::<f64>().ok()?;
        Some((parent, ticks / TICKS))
    };
    let mut total = stat(PathBuf::from(format!("/proc/{pid}/stat"))).map_or(0.0, |(_, s)| s);
    if tree && let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            if let Some((parent, s)) = stat(entry.path().join("stat"))
                && parent == pid
            {
                total += s;
            }
        }
    }
    total
}

/// Busy and total CPU seconds of the whole machine.
fn machine_cpu() -> (f64, f64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<f64> = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: f64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied().unwrap_or(0.0) + fields.get(4).copied().unwrap_or(0.0);
    ((total - idle) / 100.0, total / 100.0)
}

struct CpuSnapshot {
    processes: Vec<(String, f64)>,
    bench: f64,
    machine: (f64, f64),
}

fn cpu_snapshot(config: &Config) -> CpuSnapshot {
    CpuSnapshot {
        processes: config
            .pids
            .iter()
            .map(|(name, pid)| (name.clone(), cpu_seconds(*pid, name == "postgres")))
            .collect(),
        bench: cpu_seconds(std::process::id(), false),
        machine: machine_cpu(),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

// One run of the benchmark from start to end: its steps read best in order.
#[allow(clippy::too_many_lines)]
fn main() -> Result<(), BoxError> {
    let Some(config) = Config::read()? else {
        eprintln!(
            "ingest: no server (AGRIMAP_INGEST_URL); benches/ingest.sh starts PostgreSQL and agrimap and runs this bench"
        );
        return Ok(());
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let counter = Counter::open(&config)?;
    let before = match &counter {
        Some(c) => Some(runtime.block_on(c.per_station(&config))?),
        None => None,
    };
    let table_before = match &counter {
        Some(c) => runtime.block_on(c.table(&config))?,
        None => None,
    };
    let statements = match &config.database {
        Some(url) => runtime.block_on(reset_statements(url))?,
        None => false,
    };
    println!(
        "ingest [{}]: {} clients (one per station), batches of {}, {} s, readings from {}",
        config.label,
        config.stations.len(),
        config.batch,
        config.seconds,
        agrimap_model::calendar::format_timestamp(config.start)
    );

    // The run.
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = config.database.clone().map(|url| {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || sample_activity(url, stop))
    });
    let cpu_before = cpu_snapshot(&config);
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(config.seconds);
    let runs: Vec<ClientRun> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..config.stations.len())
            .map(|s| {
                let config = &config;
                scope.spawn(move || client(config, s, t0, deadline))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    let elapsed = t0.elapsed();
    let cpu_after = cpu_snapshot(&config);
    stop.store(true, Ordering::Relaxed);
    let activity = match sampler {
        Some(handle) => Some(handle.join().map_err(|_| "the activity sampler panicked")??),
        None => None,
    };

    // What the clients saw.
    let accepted: u64 = runs.iter().map(|r| r.accepted).sum();
    let stored: u64 = runs.iter().map(|r| r.stored).sum();
    let batches: usize = runs.iter().map(|r| r.batches.len()).sum();
    let errors: usize = runs.iter().map(|r| r.errors.len()).sum();
    let mut latencies: Vec<Duration> = runs.iter().flat_map(|r| r.batches.iter().map(|b| b.1)).collect();
    latencies.sort();
    let secs = elapsed.as_secs_f64();
    println!(
        "  acknowledged: {accepted} readings ({stored} stored, {} duplicates) in {batches} batches over {secs:.1} s",
        accepted - stored
    );
    println!(
        "  throughput:   {:.0} readings/s, {:.1} batches/s",
        accepted as f64 / secs,
        batches as f64 / secs
    );
    println!(
        "  batch latency: p50 {}, p90 {}, p99 {}, max {}",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 90.0)),
        ms(percentile(&latencies, 99.0)),
        ms(latencies.last().copied().unwrap_or_default())
    );
    let mut windows: BTreeMap<u64, u64> = BTreeMap::new();
    for (done, _, n) in runs.iter().flat_map(|r| r.batches.iter()) {
        *windows.entry(done.as_secs() / WINDOW.as_secs()).or_default() += n;
    }
    // The last window is as long as what was left of the run.
    let per_window: Vec<String> = windows
        .iter()
        .map(|(w, n)| {
            let from = (w * WINDOW.as_secs()) as f64;
            let width = (secs - from).clamp(0.001, WINDOW.as_secs_f64());
            format!("{:.0}", *n as f64 / width)
        })
        .collect();
    println!(
        "  readings/s per {} s window: {}",
        WINDOW.as_secs(),
        per_window.join(", ")
    );
    let per_client: Vec<u64> = runs.iter().map(|r| r.accepted).collect();
    println!(
        "  per client: min {} max {} readings",
        per_client.iter().min().unwrap_or(&0),
        per_client.iter().max().unwrap_or(&0)
    );
    println!("  errors: {errors}");
    for e in runs.iter().flat_map(|r| r.errors.iter()).take(5) {
        println!("    {e}");
    }
    let abandoned: Vec<String> = runs
        .iter()
        .zip(&config.stations)
        .filter_map(|(r, (id, _))| r.abandoned.map(|k| format!("{id} batch {k}")))
        .collect();
    if !abandoned.is_empty() {
        println!("  never answered 200 (fate unknown): {}", abandoned.join(", "));
    }
    if runs.iter().any(|r| r.out_of_time) {
        println!("  some clients stopped early: their next readings would have been in the future");
    }

    // Where the CPU went.
    if !config.pids.is_empty() {
        let mut parts: Vec<String> = cpu_after
            .processes
            .iter()
            .zip(&cpu_before.processes)
            .map(|((name, after), (_, before))| format!("{name} {:.1} s", after - before))
            .collect();
        parts.push(format!("bench clients {:.1} s", cpu_after.bench - cpu_before.bench));
        let busy = cpu_after.machine.0 - cpu_before.machine.0;
        let total = cpu_after.machine.1 - cpu_before.machine.1;
        println!(
            "  CPU during the run: {}; whole machine {busy:.1} of {total:.1} CPU-s busy ({:.0} %)",
            parts.join(", "),
            100.0 * busy / total.max(f64::EPSILON)
        );
    }
    if let Some((samples, counts)) = &activity {
        println!("  database sessions, mean number in each state over {samples} samples every 50 ms:");
        let mut rows: Vec<(&String, &usize)> = counts.iter().collect();
        rows.sort_by(|a, b| b.1.cmp(a.1));
        for (key, n) in rows.into_iter().take(14) {
            println!("    {:>5.2}  {key}", *n as f64 / (*samples).max(1) as f64);
        }
    }
    if statements && let Some(url) = &config.database {
        runtime.block_on(print_statements(url, elapsed))?;
    }

    // The counts.
    let (Some(counter), Some(before)) = (&counter, &before) else {
        println!("  no store to count (AGRIMAP_INGEST_DATABASE or AGRIMAP_INGEST_GPKG)");
        return Ok(());
    };
    let mut failures = Vec::new();
    if stored != accepted {
        failures.push(format!(
            "{} readings of the run were answered as duplicates, though all were new",
            accepted - stored
        ));
    }
    let after = runtime.block_on(counter.per_station(&config))?;
    let mut exact = 0;
    for ((id, _), run) in config.stations.iter().zip(&runs) {
        let added = after[id] - before[id];
        if added as u64 != run.accepted {
            failures.push(format!("{id}: {added} readings added, {} acknowledged", run.accepted));
        }
        let expected: BTreeSet<(i64, &str)> = run
            .acked
            .iter()
            .flat_map(|k| k * config.batch..(k + 1) * config.batch)
            .map(|i| (config.start + i as i64, reading(i).0))
            .collect();
        let found = runtime.block_on(counter.since_start(&config, id))?;
        let mut seen: BTreeSet<(i64, &str)> = BTreeSet::new();
        let mut repeated = 0;
        let mut extra = 0;
        for r in &found {
            let key = (r.time.unix(), r.parameter.as_str());
            if !expected.contains(&key) {
                extra += 1;
            } else if !seen.insert(key) {
                repeated += 1;
            }
        }
        let missing = expected.len() - seen.len();
        if missing + repeated + extra > 0 {
            failures.push(format!(
                "{id}: {missing} acknowledged readings missing, {repeated} repeated, {extra} not acknowledged"
            ));
        } else {
            exact += 1;
        }
    }
    let added: usize = after.values().sum::<usize>() - before.values().sum::<usize>();
    println!(
        "  counted after the run: {added} readings added to the {} stations ({} before, {} after); acknowledged {accepted}",
        config.stations.len(),
        before.values().sum::<usize>(),
        after.values().sum::<usize>()
    );
    println!(
        "  {exact} of {} stations hold exactly the acknowledged readings from the start time on (each once, none missing, none extra)",
        config.stations.len()
    );
    let table_after = runtime.block_on(counter.table(&config))?;
    if let (Some((rows_before, _)), Some((rows_after, distinct))) = (table_before, table_after) {
        println!(
            "  readings table: {rows_before} rows before, {rows_after} after (+{}), {distinct} distinct (station, parameter, time)",
            rows_after - rows_before
        );
        if rows_after - rows_before != accepted as i64 || distinct != rows_after {
            failures.push("the readings table does not match the acknowledged readings".into());
        }
    }

    // The same batches again change nothing.
    let agent = agent();
    let (mut resent, mut resent_stored) = (0u64, 0u64);
    for ((id, token), run) in config.stations.iter().zip(&runs) {
        let url = format!("{}/api/stations/{id}/readings", config.base);
        // The first, the last, and evenly between.
        let (n, r) = (run.acked.len(), config.resend.min(run.acked.len()));
        let picks: BTreeSet<usize> = (0..r).map(|j| run.acked[j * (n - 1) / (r.max(2) - 1)]).collect();
        for k in picks {
            match post(
                &agent,
                &url,
                token,
                &batch_body(k, config.batch, config.start, config.alarm_every),
            ) {
                Answer::Ok { accepted, stored } => {
                    resent += accepted;
                    resent_stored += stored;
                }
                Answer::Failed(why) => failures.push(format!("{id}: re-posting batch {k}: {why}")),
            }
        }
    }
    let again = runtime.block_on(counter.per_station(&config))?;
    println!(
        "  re-posted {} batches ({resent} readings): {resent_stored} stored; counts {}",
        resent / config.batch as u64,
        if again == after { "unchanged" } else { "CHANGED" }
    );
    if resent_stored != 0 || again != after {
        failures.push("re-posted batches were stored again".into());
    }
    if failures.is_empty() {
        println!("  check: no reading lost, none duplicated");
        Ok(())
    } else {
        for f in &failures {
            println!("  FAILED: {f}");
        }
        Err(format!("{} check(s) failed", failures.len()).into())
    }
}
