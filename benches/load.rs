//! Load and faults against a running `agrimap serve` on PostGIS (issue 8,
//! items 5 and 6).
//!
//! `AGRIMAP_LOAD_CONNECTIONS` clients (64), each a thread with its own
//! keep-alive HTTP connection (ureq), send requests one after the other for
//! the whole run, each waiting for its answer (a closed loop). Every client
//! draws its requests from its own seeded generator, so a run is the same
//! sequence of requests whatever the machine. The kinds and their share:
//!
//! | kind | share | request |
//! |---|---|---|
//! | `tile` | 34 % | `/tiles/crop,aquaculture/{z}/{x}/{y}.mvt`, gzip, zoom drawn from 10..=16, then a tile of that zoom from a fixed list (the tiles holding the centres of a sample of parcels and ponds) |
//! | `ogc_bbox` | 12 % | `/ogc/collections/{crop,aquaculture,ocop}/items?bbox=…&limit=10\|50\|100` around a sampled feature |
//! | `ogc_item` | 10 % | `/ogc/collections/{crop,aquaculture,ocop}/items/{id}` |
//! | `ogc_planner` | 5 % | one of the two above with the planner's token (restricted fields) |
//! | `summary` | 8 % | `/api/communes/{code}/summary?boundary_set=…`, every commune |
//! | `stats` | 8 % | `/api/stats?layer=…&by=commune\|district\|province&class=…&metric=area\|count` |
//! | `readings_get` | 10 % | `/api/stations/{id}/readings?from&to&step=hour`, 1 to 7 days of the demo series |
//! | `readings_post` | 10 % | `POST /api/stations/{id}/readings` with the station's token: salinity, pH, dissolved oxygen and temperature at one new time (each station's times increase by one second from `AGRIMAP_LOAD_READINGS_START`), so every reading is stored |
//! | `static` | 3 % | `/catalog`, `/styles/farmer.json`, `/` |
//!
//! A tile answers 200 or 204 (empty); everything else 200. Any other answer
//! is counted against its kind by status, and must carry agrimap's JSON error
//! body; an answer that never comes (connection refused or reset, timeout
//! after 30 s) is a transport error.
//!
//! Every 10 s the resident memory of the server (`VmRSS` of
//! `/proc/AGRIMAP_LOAD_PID/status`) is sampled.
//!
//! The run has two phases, one after the other, with the same clients:
//!
//! 1. **load**, `AGRIMAP_LOAD_DURATION` (600 s): per kind the requests,
//!    throughput, p50/p99/max latency and the answers that were not
//!    successes; the memory series; and a verdict: no 5xx, no transport
//!    error, and resident memory after `AGRIMAP_LOAD_WARMUP` (120 s) within
//!    ±`AGRIMAP_LOAD_RSS_TOLERANCE` % (10) of its first sample after the
//!    warm-up.
//! 2. **fault** (with `AGRIMAP_LOAD_PG_STOP` and `AGRIMAP_LOAD_PG_START`,
//!    shell commands that stop and start PostgreSQL; skipped without them):
//!    15 s more of load, then the stop command (the script kills PostgreSQL
//!    with `pg_ctl stop -m immediate`), `AGRIMAP_LOAD_FAULT_DOWN` (20 s) with
//!    the database gone, the start command, and `AGRIMAP_LOAD_FAULT_AFTER`
//!    (60 s) more. `/health` is polled every 250 ms meanwhile. Reported per
//!    kind: what the requests sent while the database was down were answered
//!    (statuses; whether each error carried the JSON body; the longest
//!    answer), what the requests in flight when it was killed got, and how
//!    long after it was back each kind answered only successes again. The
//!    fault verdict: every request that needed the database was answered,
//!    with a 503 and a JSON error, within `AGRIMAP_LOAD_FAULT_MAX_MS` (2000),
//!    none with a transport error, and every kind answered only successes
//!    within `AGRIMAP_LOAD_RECOVER_S` (10) of the database's return, with
//!    the same server process.
//!
//! Environment:
//! - `AGRIMAP_LOAD_URL`: the server, `http://127.0.0.1:PORT` (or the first argument);
//! - `AGRIMAP_LOAD_STATIONS`: `ID:TOKEN` pairs of water-quality stations, comma-separated;
//! - `AGRIMAP_LOAD_PLANNER_TOKEN`: a planner's API token;
//! - `AGRIMAP_LOAD_PID`: the `agrimap serve` process, for its memory and CPU time;
//! - `AGRIMAP_LOAD_PG_PID`: the postmaster, for PostgreSQL's CPU time (all its processes);
//! - `AGRIMAP_LOAD_CONNECTIONS` (64), `AGRIMAP_LOAD_DURATION` (seconds, 600),
//!   `AGRIMAP_LOAD_WARMUP` (120), `AGRIMAP_LOAD_SEED` (2025),
//!   `AGRIMAP_LOAD_READINGS_START` (2026-11-21T00:00:00Z, just after the demo series);
//! - `AGRIMAP_LOAD_PG_STOP`, `AGRIMAP_LOAD_PG_START`, `AGRIMAP_LOAD_FAULT_DOWN`,
//!   `AGRIMAP_LOAD_FAULT_AFTER`: the fault phase.
//!
//! Without a URL it prints how to run it and does nothing. Run:
//! `benches/load.sh` (a throwaway PostgreSQL cluster, the demo province
//! loaded, the release `agrimap serve`, then this bench).

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type BoxError = Box<dyn Error + Send + Sync>;

/// The request kinds, in report order, with their share of the mix (of 100).
const KINDS: [(&str, u32); 9] = [
    ("tile", 34),
    ("ogc_bbox", 12),
    ("ogc_item", 10),
    ("ogc_planner", 5),
    ("summary", 8),
    ("stats", 8),
    ("readings_get", 10),
    ("readings_post", 10),
    ("static", 3),
];
const TILE: usize = 0;
const OGC_BBOX: usize = 1;
const OGC_ITEM: usize = 2;
const OGC_PLANNER: usize = 3;
const SUMMARY: usize = 4;
const STATS: usize = 5;
const READINGS_GET: usize = 6;
const READINGS_POST: usize = 7;

/// The layers of the tiles asked for.
const TILE_LAYERS: &str = "crop,aquaculture";
/// Period of the memory samples.
const RSS_EVERY: Duration = Duration::from_secs(10);
/// Load before the database is stopped, in the fault phase.
const FAULT_BEFORE: Duration = Duration::from_secs(15);
/// Period of the `/health` polls in the fault phase.
const HEALTH_EVERY: Duration = Duration::from_millis(250);
/// Readings posted at once by a station, one per parameter.
const PARAMETERS: [(&str, &str, f64, f64); 4] = [
    ("salinity", "ppt", 0.4, 1.6),
    ("ph", "pH", 6.6, 7.6),
    ("dissolved_oxygen", "mg/L", 5.0, 7.5),
    ("temperature", "°C", 27.0, 31.0),
];

struct Config {
    base: String,
    stations: Vec<(String, String)>,
    planner: Option<String>,
    pid: Option<u32>,
    pg_pid: Option<u32>,
    connections: usize,
    duration: Duration,
    warmup: Duration,
    seed: u64,
    readings_start: i64,
    rss_tolerance: f64,
    pg_stop: Option<String>,
    pg_start: Option<String>,
    fault_down: Duration,
    fault_after: Duration,
    fault_max: Duration,
    recover_max: Duration,
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

fn env_seconds(name: &str, default: f64) -> Result<Duration, BoxError> {
    let s: f64 = env_parse(name, default)?;
    Duration::try_from_secs_f64(s).map_err(|_| format!("{name}: not a duration in seconds: {s}").into())
}

impl Config {
    /// `None` when no server is named.
    fn read() -> Result<Option<Self>, BoxError> {
        // `cargo bench` passes `--bench`; anything else is the URL.
        let arg = std::env::args().skip(1).find(|a| a.starts_with("http://"));
        let Some(base) = arg.or_else(|| env("AGRIMAP_LOAD_URL")) else {
            return Ok(None);
        };
        let mut stations = Vec::new();
        for pair in env("AGRIMAP_LOAD_STATIONS").unwrap_or_default().split(',') {
            if pair.trim().is_empty() {
                continue;
            }
            let (id, token) = pair
                .trim()
                .split_once(':')
                .ok_or_else(|| format!("a station is ID:TOKEN, not '{pair}'"))?;
            stations.push((id.to_owned(), token.to_owned()));
        }
        let start = env("AGRIMAP_LOAD_READINGS_START").unwrap_or_else(|| "2026-11-21T00:00:00Z".into());
        let readings_start = agrimap_model::UtcTime::parse(&start)
            .map(agrimap_model::UtcTime::unix)
            .map_err(|e| format!("AGRIMAP_LOAD_READINGS_START: {e}"))?;
        Ok(Some(Self {
            base: base.trim_end_matches('/').to_owned(),
            stations,
            planner: env("AGRIMAP_LOAD_PLANNER_TOKEN"),
            pid: env("AGRIMAP_LOAD_PID").map(|p| p.trim().parse()).transpose()?,
            pg_pid: env("AGRIMAP_LOAD_PG_PID").map(|p| p.trim().parse()).transpose()?,
            connections: env_parse("AGRIMAP_LOAD_CONNECTIONS", 64)?,
            duration: env_seconds("AGRIMAP_LOAD_DURATION", 600.0)?,
            warmup: env_seconds("AGRIMAP_LOAD_WARMUP", 120.0)?,
            seed: env_parse("AGRIMAP_LOAD_SEED", 2025)?,
            readings_start,
            rss_tolerance: env_parse("AGRIMAP_LOAD_RSS_TOLERANCE", 10.0)?,
            pg_stop: env("AGRIMAP_LOAD_PG_STOP"),
            pg_start: env("AGRIMAP_LOAD_PG_START"),
            fault_down: env_seconds("AGRIMAP_LOAD_FAULT_DOWN", 20.0)?,
            fault_after: env_seconds("AGRIMAP_LOAD_FAULT_AFTER", 60.0)?,
            fault_max: Duration::from_millis(env_parse("AGRIMAP_LOAD_FAULT_MAX_MS", 2000)?),
            recover_max: env_seconds("AGRIMAP_LOAD_RECOVER_S", 10.0)?,
        }))
    }
}

/// splitmix64: small, seeded, the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn get_json(agent: &ureq::Agent, url: &str) -> Result<serde_json::Value, BoxError> {
    let mut response = agent.get(url).call()?;
    let status = response.status().as_u16();
    let body = response.body_mut().with_config().limit(1 << 30).read_to_vec()?;
    if status != 200 {
        return Err(format!("{url}: {status}: {}", String::from_utf8_lossy(&body)).into());
    }
    Ok(serde_json::from_slice(&body)?)
}

/// A sampled feature: its id and the centre of its bounding box.
struct Sample {
    id: String,
    lon: f64,
    lat: f64,
}

fn bbox_of(value: &serde_json::Value, b: &mut [f64; 4]) {
    let serde_json::Value::Array(items) = value else {
        return;
    };
    if let [serde_json::Value::Number(x), serde_json::Value::Number(y), ..] = items.as_slice() {
        let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
        *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
    } else {
        for item in items {
            bbox_of(item, b);
        }
    }
}

/// `n` features of a collection, spread over its first page of 10,000;
/// `id` is the feature's id, or the property `id_property` when given.
fn sample_features(
    agent: &ureq::Agent,
    base: &str,
    collection: &str,
    n: usize,
    id_property: Option<&str>,
) -> Result<Vec<Sample>, BoxError> {
    let page = get_json(agent, &format!("{base}/ogc/collections/{collection}/items?limit=10000"))?;
    let features = page["features"].as_array().cloned().unwrap_or_default();
    if features.is_empty() {
        return Err(format!("{collection}: no features").into());
    }
    let step = features.len().div_ceil(n).max(1);
    Ok(features
        .iter()
        .step_by(step)
        .filter_map(|f| {
            let id = match id_property.map_or(&f["id"], |p| &f["properties"][p]) {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => return None,
            };
            let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
            bbox_of(&f["geometry"]["coordinates"], &mut b);
            b[0].is_finite().then(|| Sample {
                id,
                lon: f64::midpoint(b[0], b[2]),
                lat: f64::midpoint(b[1], b[3]),
            })
        })
        .collect())
}

fn tile_of(lon: f64, lat: f64, z: u32) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let lat = lat.to_radians();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    (x as u32, y as u32)
}

/// What the clients ask for, fixed before the run.
struct Targets {
    /// Tile paths by zoom, z10 first.
    tiles: Vec<Vec<String>>,
    ogc_bbox: Vec<String>,
    ogc_items: Vec<String>,
    summaries: Vec<String>,
    stats: Vec<String>,
    readings_get: Vec<String>,
    statics: Vec<String>,
    /// Posting stations, each with the index of its next reading time.
    posters: Vec<(String, String, AtomicU64)>,
}

impl Targets {
    fn build(config: &Config) -> Result<Self, BoxError> {
        let agent = agent();
        let base = &config.base;
        let mut rng = Rng(config.seed ^ 0x5EED);
        let crop = sample_features(&agent, base, "crop", 600, None)?;
        let ponds = sample_features(&agent, base, "aquaculture", 200, None)?;
        let ocop = sample_features(&agent, base, "ocop", 150, None)?;
        let stations = sample_features(&agent, base, "monitoring", 100, Some("station_id"))?;

        let mut tiles = Vec::new();
        for z in 10..=16 {
            let set: BTreeSet<(u32, u32)> = crop.iter().chain(&ponds).map(|s| tile_of(s.lon, s.lat, z)).collect();
            tiles.push(
                set.into_iter()
                    .map(|(x, y)| format!("/tiles/{TILE_LAYERS}/{z}/{x}/{y}.mvt"))
                    .collect(),
            );
        }

        let mut ogc_bbox = Vec::new();
        let mut ogc_items = Vec::new();
        for _ in 0..600 {
            let (collection, samples, size) = match rng.below(10) {
                0..=5 => ("crop", &crop, 0.002 + 0.008 * rng.unit()),
                6..=8 => ("aquaculture", &ponds, 0.005 + 0.015 * rng.unit()),
                _ => ("ocop", &ocop, 0.02 + 0.05 * rng.unit()),
            };
            let s = rng.pick(samples);
            let limit = [10, 50, 100][rng.below(3)];
            ogc_bbox.push(format!(
                "/ogc/collections/{collection}/items?bbox={:.5},{:.5},{:.5},{:.5}&limit={limit}",
                s.lon - size,
                s.lat - size,
                s.lon + size,
                s.lat + size
            ));
            let s = rng.pick(samples);
            ogc_items.push(format!("/ogc/collections/{collection}/items/{}", s.id));
        }

        // Every commune, 50 to a page.
        let mut summaries = Vec::new();
        loop {
            let page = get_json(
                &agent,
                &format!("{base}/api/communes?limit=50&offset={}", summaries.len()),
            )?;
            let communes = page["communes"].as_array().map(Vec::as_slice).unwrap_or_default();
            summaries.extend(communes.iter().filter_map(|c| {
                Some(format!(
                    "/api/communes/{}/summary?boundary_set={}",
                    c["code"].as_str()?,
                    c["boundary_set"].as_str()?
                ))
            }));
            if communes.len() < 50 {
                break;
            }
        }
        if summaries.is_empty() {
            return Err("no communes in /api/communes".into());
        }

        let mut stats = Vec::new();
        for (layer, classes) in [
            ("crop", &["crop_type", "season", "practice"][..]),
            ("aquaculture", &["species", "mode"][..]),
            ("growing_area", &["status", "crop_type"][..]),
            ("ocop", &["stars", "category"][..]),
        ] {
            for class in classes {
                for by in ["commune", "district", "province"] {
                    let metric = if layer == "ocop" { "count" } else { "area" };
                    stats.push(format!(
                        "/api/stats?layer={layer}&by={by}&class={class}&metric={metric}"
                    ));
                }
            }
        }

        // The demo series runs from 2026-10-22 to 2026-11-20, hourly.
        let series_start = 1_792_627_200; // 2026-10-22T00:00:00Z
        let mut readings_get = Vec::new();
        for _ in 0..400 {
            let station = rng.pick(&stations);
            let from = series_start + 86_400 * rng.below(22) as i64;
            let to = from + 86_400 * (1 + rng.below(7)) as i64;
            readings_get.push(format!(
                "/api/stations/{}/readings?from={}&to={}&step=hour",
                station.id,
                agrimap_model::calendar::format_timestamp(from),
                agrimap_model::calendar::format_timestamp(to)
            ));
        }

        Ok(Self {
            tiles,
            ogc_bbox,
            ogc_items,
            summaries,
            stats,
            readings_get,
            statics: vec!["/catalog".into(), "/styles/farmer.json".into(), "/".into()],
            posters: config
                .stations
                .iter()
                .map(|(id, token)| (id.clone(), token.clone(), AtomicU64::new(0)))
                .collect(),
        })
    }

    fn tile_count(&self) -> usize {
        self.tiles.iter().map(Vec::len).sum()
    }
}

/// One request and its answer.
#[derive(Clone, Copy)]
struct Record {
    kind: u8,
    /// 0: no answer (transport error).
    status: u16,
    /// A non-success answered with agrimap's JSON error body.
    json_error: bool,
    /// A readings post answered 200 with fewer readings stored than sent.
    not_stored: bool,
    /// Since the start of the run.
    start: Duration,
    latency: Duration,
}

impl Record {
    fn end(&self) -> Duration {
        self.start + self.latency
    }

    fn success(&self) -> bool {
        self.status == 200 || (usize::from(self.kind) == TILE && self.status == 204)
    }
}

struct Shared {
    t0: Instant,
    stop: AtomicBool,
    done: AtomicU64,
    failed: AtomicU64,
    transport_errors: Mutex<Vec<String>>,
    /// The first answers of the load phase that were not successes.
    failed_answers: Mutex<Vec<String>>,
}

fn decoded(body: Vec<u8>, gzip: bool) -> Vec<u8> {
    if gzip && body.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        if flate2::read::GzDecoder::new(body.as_slice())
            .read_to_end(&mut out)
            .is_ok()
        {
            return out;
        }
    }
    body
}

fn is_json_error(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v["error"]["code"].is_string())
}

/// The body of a station's post: the four parameters at second `i` after the start.
fn readings_body(i: u64, start: i64) -> Vec<u8> {
    let time = agrimap_model::calendar::format_timestamp(start + i64::try_from(i).unwrap_or(0));
    let x = i as f64;
    let readings: Vec<serde_json::Value> = PARAMETERS
        .iter()
        .map(|(parameter, unit, low, high)| {
            let wave = 0.5 + 0.4 * (x / 3_600.0).sin() + 0.1 * ((x * 0.618_034).fract() - 0.5);
            let value = ((low + (high - low) * wave.clamp(0.0, 1.0)) * 1000.0).round() / 1000.0;
            serde_json::json!({ "parameter": parameter, "value": value, "unit": unit, "time": time })
        })
        .collect();
    serde_json::to_vec(&readings).unwrap_or_default()
}

fn pick_kind(rng: &mut Rng, has_posters: bool, has_planner: bool) -> usize {
    loop {
        let mut r = rng.below(100) as u32;
        for (k, (_, share)) in KINDS.iter().enumerate() {
            if r < *share {
                if (k == READINGS_POST && !has_posters) || (k == OGC_PLANNER && !has_planner) {
                    break;
                }
                return k;
            }
            r -= share;
        }
    }
}

/// One client: requests until told to stop.
// One client's loop over the request mix, each kind of request in its arm.
#[allow(clippy::too_many_lines)]
fn client(config: &Config, targets: &Targets, shared: &Shared, n: usize) -> Vec<Record> {
    let agent = agent();
    let mut rng = Rng(config.seed.wrapping_mul(1_000_003).wrapping_add(n as u64));
    let mut records = Vec::with_capacity(1 << 16);
    while !shared.stop.load(Ordering::Relaxed) {
        let kind = pick_kind(&mut rng, !targets.posters.is_empty(), config.planner.is_some());
        let mut bearer = None;
        let mut body = None;
        let path = match kind {
            TILE => {
                let zoom = rng.pick(&targets.tiles);
                rng.pick(zoom).clone()
            }
            OGC_BBOX => rng.pick(&targets.ogc_bbox).clone(),
            OGC_ITEM => rng.pick(&targets.ogc_items).clone(),
            OGC_PLANNER => {
                bearer = config.planner.as_deref();
                if rng.below(2) == 0 {
                    rng.pick(&targets.ogc_bbox).clone()
                } else {
                    rng.pick(&targets.ogc_items).clone()
                }
            }
            SUMMARY => rng.pick(&targets.summaries).clone(),
            STATS => rng.pick(&targets.stats).clone(),
            READINGS_GET => rng.pick(&targets.readings_get).clone(),
            READINGS_POST => {
                let (id, token, next) = rng.pick(&targets.posters);
                bearer = Some(token);
                body = Some(readings_body(
                    next.fetch_add(1, Ordering::Relaxed),
                    config.readings_start,
                ));
                format!("/api/stations/{id}/readings")
            }
            // The last kind: static.
            _ => rng.pick(&targets.statics).clone(),
        };
        let url = format!("{}{path}", config.base);
        let gzip = kind == TILE;
        let start = shared.t0.elapsed();
        let sent = if let Some(b) = &body {
            let mut request = agent.post(&url).header("content-type", "application/json");
            if let Some(t) = bearer {
                request = request.header("authorization", &format!("Bearer {t}"));
            }
            request.send(b.as_slice())
        } else {
            let mut request = agent.get(&url);
            if gzip {
                request = request.header("accept-encoding", "gzip");
            }
            if let Some(t) = bearer {
                request = request.header("authorization", &format!("Bearer {t}"));
            }
            request.call()
        };
        let mut record = Record {
            kind: kind as u8,
            status: 0,
            json_error: false,
            not_stored: false,
            start,
            latency: Duration::ZERO,
        };
        let outcome = sent.and_then(|mut response| {
            let status = response.status().as_u16();
            let body = response.body_mut().with_config().limit(1 << 30).read_to_vec()?;
            Ok((status, body))
        });
        record.latency = shared.t0.elapsed().saturating_sub(start);
        match outcome {
            Ok((status, answer)) => {
                record.status = status;
                if !record.success() {
                    let answer = decoded(answer, gzip);
                    record.json_error = is_json_error(&answer);
                    let mut failed = shared
                        .failed_answers
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    if start < config.duration && failed.len() < 10 {
                        failed.push(format!(
                            "{:.1} s {path}: {status} after {} ms: {}",
                            start.as_secs_f64(),
                            ms(record.latency),
                            String::from_utf8_lossy(&answer).chars().take(200).collect::<String>()
                        ));
                    }
                } else if kind == READINGS_POST {
                    let json: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
                    record.not_stored = json["stored"].as_u64() != Some(PARAMETERS.len() as u64);
                }
            }
            Err(e) => {
                let mut errors = shared
                    .transport_errors
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if errors.len() < 10 {
                    errors.push(format!("{:.1} s {path}: {e}", start.as_secs_f64()));
                }
            }
        }
        shared.done.fetch_add(1, Ordering::Relaxed);
        if !record.success() {
            shared.failed.fetch_add(1, Ordering::Relaxed);
            if record.status == 0 {
                // Do not spin on a refused connection.
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        records.push(record);
    }
    records
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU seconds of a process; with `children`, also of its live children and
/// of the children it has reaped (PostgreSQL's backends).
fn cpu_seconds(pid: u32, children: bool) -> f64 {
    // Linux reports these in clock ticks, 100 per second on every platform agrimap runs on.
    const TICKS: f64 = 100.0;
    let fields = |path: std::path::PathBuf| -> Option<Vec<f64>> {
        let text = std::fs::read_to_string(path).ok()?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let rest = text.get(text.rfind(')')? + 2..)?;
        Some(rest.split(' ').map(|f| f.parse().unwrap_or(0.0)).collect())
    };
    let Some(own) = fields(std::path::PathBuf::from(format!("/proc/{pid}/stat"))) else {
        return 0.0;
    };
    // utime, stime, cutime, cstime are fields 14 to 17, 11 to 14 after the name.
    let mut ticks = own.get(11).copied().unwrap_or(0.0) + own.get(12).copied().unwrap_or(0.0);
    if children {
        ticks += own.get(13).copied().unwrap_or(0.0) + own.get(14).copied().unwrap_or(0.0);
        if let Ok(dir) = std::fs::read_dir("/proc") {
            for entry in dir.flatten() {
                if let Some(f) = fields(entry.path().join("stat"))
                    && f.get(1).copied() == Some(f64::from(pid))
                {
                    ticks += f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0);
                }
            }
        }
    }
    ticks / TICKS
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

/// CPU seconds so far: the server, PostgreSQL, the bench, and the machine (busy, total).
#[derive(Clone, Copy, Default)]
struct Cpu {
    server: f64,
    postgres: f64,
    bench: f64,
    busy: f64,
    total: f64,
}

impl Cpu {
    fn now(config: &Config) -> Self {
        let (busy, total) = machine_cpu();
        Self {
            server: config.pid.map_or(0.0, |p| cpu_seconds(p, false)),
            postgres: config.pg_pid.map_or(0.0, |p| cpu_seconds(p, true)),
            bench: cpu_seconds(std::process::id(), false),
            busy,
            total,
        }
    }
}

fn sleep_until(shared: &Shared, at: Duration) {
    while !shared.stop.load(Ordering::Relaxed) {
        let now = shared.t0.elapsed();
        if now >= at {
            return;
        }
        std::thread::sleep(at.saturating_sub(now).min(Duration::from_millis(200)));
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
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.1}")
    }
}

/// `503:12 0:3` (status 0: no answer).
fn failures(records: &[&Record]) -> String {
    let mut by: BTreeMap<u16, usize> = BTreeMap::new();
    for r in records.iter().filter(|r| !r.success()) {
        *by.entry(r.status).or_default() += 1;
    }
    if by.is_empty() {
        return "-".into();
    }
    by.iter()
        .map(|(s, n)| {
            if *s == 0 {
                format!("none:{n}")
            } else {
                format!("{s}:{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn statuses(records: &[&Record]) -> String {
    let mut by: BTreeMap<u16, usize> = BTreeMap::new();
    for r in records {
        *by.entry(r.status).or_default() += 1;
    }
    by.iter()
        .map(|(s, n)| {
            if *s == 0 {
                format!("none:{n}")
            } else {
                format!("{s}:{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs a shell command; how long it took.
fn run_command(what: &str, command: &str) -> Result<Duration, BoxError> {
    let t = Instant::now();
    let out = std::process::Command::new("sh").arg("-c").arg(command).output()?;
    if !out.status.success() {
        return Err(format!(
            "{what} ({command}) failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(t.elapsed())
}

/// What the run gives: every request, the fault's times, CPU at the start and end of the load phase.
type RunOutcome = (Vec<Record>, Option<Fault>, [Cpu; 2]);

/// Times of the fault, since the start of the run.
struct Fault {
    stop_sent: Duration,
    down: Duration,
    start_sent: Duration,
    up: Duration,
    end: Duration,
    health: Vec<(Duration, u16)>,
}

// One run of the benchmark from start to end: its steps read best in order.
#[allow(clippy::too_many_lines)]
fn main() -> Result<(), BoxError> {
    let Some(config) = Config::read()? else {
        eprintln!(
            "load: no server (AGRIMAP_LOAD_URL); benches/load.sh starts PostgreSQL and agrimap and runs this bench"
        );
        return Ok(());
    };
    let targets = Targets::build(&config)?;
    let fault_on = config.pg_stop.is_some() && config.pg_start.is_some();
    println!(
        "load: {} connections, {} s of load{}, seed {}, against {}",
        config.connections,
        config.duration.as_secs_f64(),
        if fault_on {
            format!(
                ", then the fault phase ({} s, PostgreSQL down {} s, {} s after)",
                FAULT_BEFORE.as_secs(),
                config.fault_down.as_secs_f64(),
                config.fault_after.as_secs_f64()
            )
        } else {
            String::new()
        },
        config.seed,
        config.base
    );
    let per_zoom: Vec<String> = targets
        .tiles
        .iter()
        .enumerate()
        .map(|(i, t)| format!("z{}: {}", i + 10, t.len()))
        .collect();
    println!(
        "  targets: {} tiles of {TILE_LAYERS} ({}), {} bbox and {} item queries, {} communes, {} stats tables, {} series, {} posting stations{}",
        targets.tile_count(),
        per_zoom.join(", "),
        targets.ogc_bbox.len(),
        targets.ogc_items.len(),
        targets.summaries.len(),
        targets.stats.len(),
        targets.readings_get.len(),
        targets.posters.len(),
        if config.planner.is_some() {
            ", a planner token"
        } else {
            ""
        }
    );
    let mix: Vec<String> = KINDS.iter().map(|(k, s)| format!("{k} {s} %")).collect();
    println!("  mix: {}", mix.join(", "));

    let shared = Shared {
        t0: Instant::now(),
        stop: AtomicBool::new(false),
        done: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        transport_errors: Mutex::new(Vec::new()),
        failed_answers: Mutex::new(Vec::new()),
    };
    let rss: Arc<Mutex<Vec<(Duration, u64)>>> = Arc::new(Mutex::new(Vec::new()));
    let lock =
        |m: &Arc<Mutex<Vec<(Duration, u64)>>>| m.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();

    let (records, fault, cpu) = std::thread::scope(|scope| -> Result<RunOutcome, BoxError> {
        let shared = &shared;
        let config = &config;
        let targets = &targets;
        if let Some(pid) = config.pid {
            let rss = Arc::clone(&rss);
            scope.spawn(move || {
                let mut next = Duration::ZERO;
                while !shared.stop.load(Ordering::Relaxed) {
                    if let Some(kb) = rss_kb(pid) {
                        rss.lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push((shared.t0.elapsed(), kb));
                    }
                    next += RSS_EVERY;
                    sleep_until(shared, next);
                }
            });
        }
        let cpu_start = Cpu::now(config);
        let clients: Vec<_> = (0..config.connections)
            .map(|n| scope.spawn(move || client(config, targets, shared, n)))
            .collect();

        // Progress, once a minute, on standard error.
        let mut at = Duration::ZERO;
        while at < config.duration {
            at = (at + Duration::from_mins(1)).min(config.duration);
            sleep_until(shared, at);
            let rss_now = config
                .pid
                .and_then(rss_kb)
                .map_or(String::new(), |kb| format!(", RSS {} MB", kb / 1024));
            eprintln!(
                "load: {:>4.0} s: {} requests, {} not successes{rss_now}",
                shared.t0.elapsed().as_secs_f64(),
                shared.done.load(Ordering::Relaxed),
                shared.failed.load(Ordering::Relaxed)
            );
        }

        let cpu_end = Cpu::now(config);
        let mut fault = None;
        let mut failure = None;
        if let (Some(stop), Some(start)) = (&config.pg_stop, &config.pg_start) {
            sleep_until(shared, config.duration + FAULT_BEFORE);
            let health_stop = AtomicBool::new(false);
            let (outcome, health) = std::thread::scope(|inner| {
                let poller = inner.spawn(|| {
                    let agent = agent();
                    let mut polls = Vec::new();
                    while !health_stop.load(Ordering::Relaxed) {
                        let at = shared.t0.elapsed();
                        let status = agent
                            .get(&format!("{}/health", config.base))
                            .call()
                            .map_or(0, |r| r.status().as_u16());
                        polls.push((at, status));
                        std::thread::sleep(HEALTH_EVERY);
                    }
                    polls
                });
                let outcome = (|| -> Result<Fault, BoxError> {
                    let stop_sent = shared.t0.elapsed();
                    eprintln!("load: {:.1} s: stopping PostgreSQL", stop_sent.as_secs_f64());
                    run_command("stopping PostgreSQL", stop)?;
                    let down = shared.t0.elapsed();
                    sleep_until(shared, down + config.fault_down);
                    let start_sent = shared.t0.elapsed();
                    eprintln!("load: {:.1} s: starting PostgreSQL", start_sent.as_secs_f64());
                    run_command("starting PostgreSQL", start)?;
                    let up = shared.t0.elapsed();
                    sleep_until(shared, up + config.fault_after);
                    Ok(Fault {
                        stop_sent,
                        down,
                        start_sent,
                        up,
                        end: shared.t0.elapsed(),
                        health: Vec::new(),
                    })
                })();
                health_stop.store(true, Ordering::Relaxed);
                (outcome, poller.join().unwrap_or_default())
            });
            match outcome {
                Ok(mut f) => {
                    f.health = health;
                    fault = Some(f);
                }
                Err(e) => failure = Some(e),
            }
        }
        shared.stop.store(true, Ordering::Relaxed);
        let mut records = Vec::new();
        for c in clients {
            records.extend(c.join().map_err(|_| "a client panicked")?);
        }
        match failure {
            Some(e) => Err(e),
            None => Ok((records, fault, [cpu_start, cpu_end])),
        }
    })?;

    let mut ok = report_load(&config, &records, &lock(&rss), &shared, cpu);
    if let Some(fault) = &fault {
        ok &= report_fault(&config, &records, fault, config.pid);
    }
    if ok { Ok(()) } else { Err("the verdict is FAIL".into()) }
}

/// Requests, throughput, latency and failures per kind, over `secs` seconds.
fn kind_table(phase: &[&Record], secs: f64) {
    println!(
        "{:<14} {:>9} {:>9} {:>9} {:>9} {:>9}  not successes (status:count)",
        "kind", "requests", "req/s", "p50 ms", "p99 ms", "max ms"
    );
    let row = |name: &str, rs: &[&Record]| {
        let mut lat: Vec<Duration> = rs.iter().map(|r| r.latency).collect();
        lat.sort();
        println!(
            "{name:<14} {:>9} {:>9.1} {:>9} {:>9} {:>9}  {}",
            rs.len(),
            rs.len() as f64 / secs,
            ms(percentile(&lat, 50.0)),
            ms(percentile(&lat, 99.0)),
            ms(lat.last().copied().unwrap_or_default()),
            failures(rs)
        );
    };
    for (k, (name, _)) in KINDS.iter().enumerate() {
        let rs: Vec<&Record> = phase.iter().copied().filter(|r| usize::from(r.kind) == k).collect();
        row(name, &rs);
    }
    row("all", phase);
}

/// The load phase; whether its verdict holds.
// One report, printed line by line in the order it reads.
#[allow(clippy::too_many_lines)]
fn report_load(config: &Config, records: &[Record], rss: &[(Duration, u64)], shared: &Shared, cpu: [Cpu; 2]) -> bool {
    let phase: Vec<&Record> = records.iter().filter(|r| r.start < config.duration).collect();
    println!();
    println!(
        "== load: {} s, {} connections ==",
        config.duration.as_secs_f64(),
        config.connections
    );
    kind_table(&phase, config.duration.as_secs_f64());
    let warm: Vec<&Record> = phase.iter().copied().filter(|r| r.start >= config.warmup).collect();
    if !warm.is_empty() {
        println!(
            "-- the same after the {} s warm-up ({} s) --",
            config.warmup.as_secs(),
            (config.duration.saturating_sub(config.warmup)).as_secs()
        );
        kind_table(&warm, (config.duration.saturating_sub(config.warmup)).as_secs_f64());
    }
    let tiles: Vec<&Record> = phase.iter().copied().filter(|r| usize::from(r.kind) == TILE).collect();
    println!(
        "  tiles: {} answered 200, {} answered 204 (empty)",
        tiles.iter().filter(|r| r.status == 200).count(),
        tiles.iter().filter(|r| r.status == 204).count()
    );
    let not_stored = phase.iter().filter(|r| r.not_stored).count();
    let posted = phase
        .iter()
        .filter(|r| usize::from(r.kind) == READINGS_POST && r.success())
        .count();
    println!(
        "  readings posted: {posted} batches of {} answered 200, {not_stored} of them with fewer readings stored than sent",
        PARAMETERS.len()
    );
    let five = phase.iter().filter(|r| r.status >= 500).count();
    let transport = phase.iter().filter(|r| r.status == 0).count();
    let other = phase
        .iter()
        .filter(|r| !r.success() && r.status != 0 && r.status < 500)
        .count();
    let errors = shared
        .transport_errors
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    for e in errors.iter().take(5) {
        println!("  transport error: {e}");
    }
    for e in shared
        .failed_answers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
    {
        println!("  not a success: {e}");
    }

    // CPU.
    let [a, b] = cpu;
    println!(
        "  CPU during the load phase: agrimap {:.0} s, PostgreSQL {:.0} s, the load clients {:.0} s; whole machine {:.0} of {:.0} CPU-s busy ({:.0} %); agrimap + PostgreSQL {:.2} ms per request",
        b.server - a.server,
        b.postgres - a.postgres,
        b.bench - a.bench,
        b.busy - a.busy,
        b.total - a.total,
        100.0 * (b.busy - a.busy) / (b.total - a.total).max(f64::EPSILON),
        1000.0 * (b.server - a.server + b.postgres - a.postgres) / (phase.len().max(1) as f64)
    );

    // Memory.
    let mut rss_ok = true;
    let mut rss_note = "no memory samples (AGRIMAP_LOAD_PID)".to_owned();
    let in_phase: Vec<(Duration, u64)> = rss.iter().copied().filter(|(t, _)| *t <= config.duration).collect();
    if !in_phase.is_empty() {
        let mb = |kb: u64| kb as f64 / 1024.0;
        let series: Vec<String> = in_phase.iter().map(|(_, kb)| format!("{:.0}", mb(*kb))).collect();
        println!(
            "  server RSS, MB, every {} s from the start: {}",
            RSS_EVERY.as_secs(),
            series.join(" ")
        );
        let after: Vec<(Duration, u64)> = in_phase.iter().copied().filter(|(t, _)| *t >= config.warmup).collect();
        if let (Some(first), Some(last)) = (after.first(), after.last()) {
            let min = after.iter().map(|s| s.1).min().unwrap_or(0);
            let max = after.iter().map(|s| s.1).max().unwrap_or(0);
            let dev = |kb: u64| 100.0 * (kb as f64 - first.1 as f64) / first.1 as f64;
            // Least-squares slope over the samples after the warm-up, MB per minute.
            let n = after.len() as f64;
            let mx = after.iter().map(|s| s.0.as_secs_f64()).sum::<f64>() / n;
            let my = after.iter().map(|s| mb(s.1)).sum::<f64>() / n;
            let sxy: f64 = after.iter().map(|s| (s.0.as_secs_f64() - mx) * (mb(s.1) - my)).sum();
            let sxx: f64 = after.iter().map(|s| (s.0.as_secs_f64() - mx).powi(2)).sum();
            let slope = if sxx > 0.0 { sxy / sxx * 60.0 } else { 0.0 };
            rss_ok = dev(min).abs() <= config.rss_tolerance && dev(max).abs() <= config.rss_tolerance;
            rss_note = format!(
                "RSS after the {} s warm-up: first {:.0} MB, min {:.0} ({:+.1} %), max {:.0} ({:+.1} %), last {:.0} ({:+.1} %), trend {:+.2} MB/min over {} samples",
                config.warmup.as_secs(),
                mb(first.1),
                mb(min),
                dev(min),
                mb(max),
                dev(max),
                mb(last.1),
                dev(last.1),
                slope,
                after.len()
            );
        } else {
            rss_note = "no memory sample after the warm-up".into();
            rss_ok = false;
        }
    }
    println!("  {rss_note}");
    let ok = five == 0 && transport == 0 && rss_ok && not_stored == 0;
    println!(
        "verdict (load): {}: {five} answers 5xx, {transport} transport errors, {other} other non-successes, {not_stored} posts not stored whole; RSS {} (±{} % of the first sample after the warm-up)",
        if ok { "PASS" } else { "FAIL" },
        if rss_ok { "flat" } else { "NOT flat" },
        config.rss_tolerance
    );
    ok
}

/// The fault phase; whether its verdict holds.
// One report, printed line by line in the order it reads.
#[allow(clippy::too_many_lines)]
fn report_fault(config: &Config, records: &[Record], fault: &Fault, pid: Option<u32>) -> bool {
    let s = |d: Duration| d.as_secs_f64();
    let rel_down = |d: Duration| s(d) - s(fault.stop_sent);
    println!();
    println!(
        "== fault: PostgreSQL killed (stop -m immediate) at {:.1} s (gone {:.2} s later), started again at {:.1} s (accepting {:.2} s later), run ended at {:.1} s ==",
        s(fault.stop_sent),
        s(fault.down) - s(fault.stop_sent),
        s(fault.start_sent),
        s(fault.up) - s(fault.start_sent),
        s(fault.end)
    );
    let before: Vec<&Record> = records
        .iter()
        .filter(|r| r.start >= config.duration && r.end() <= fault.stop_sent)
        .collect();
    println!(
        "  answered before the kill ({:.0} s): {} requests, not successes: {}",
        s(fault.stop_sent) - s(config.duration),
        before.len(),
        failures(&before)
    );
    println!(
        "  while down = sent after PostgreSQL was gone and before it was started again ({:.1} s)",
        s(fault.start_sent) - s(fault.down)
    );
    println!(
        "{:<14} | {:>6} {:<22} {:>9} {:>8} {:>8} | {:<18} | {:>11} {:>11}",
        "kind",
        "down",
        "answers while down",
        "JSON err",
        "p50 ms",
        "max ms",
        "in flight at kill",
        "1st ok +s",
        "last bad +s"
    );
    let mut ok = true;
    let mut worst_recovery = 0.0f64;
    let mut needs_db_slow = 0;
    for (k, (name, _)) in KINDS.iter().enumerate() {
        let of_kind = |r: &&Record| usize::from(r.kind) == k;
        let down: Vec<&Record> = records
            .iter()
            .filter(of_kind)
            .filter(|r| r.start >= fault.down && r.start < fault.start_sent)
            .collect();
        let in_flight: Vec<&Record> = records
            .iter()
            .filter(of_kind)
            .filter(|r| r.start < fault.stop_sent && r.end() > fault.stop_sent)
            .collect();
        let after: Vec<&Record> = records.iter().filter(of_kind).filter(|r| r.start >= fault.up).collect();
        let mut lat: Vec<Duration> = down.iter().map(|r| r.latency).collect();
        lat.sort();
        let bad: Vec<&&Record> = down.iter().filter(|r| !r.success()).collect();
        let json = bad.iter().filter(|r| r.json_error).count();
        // Every non-success while down must be a quick 503 with the JSON error.
        let bad_ok = bad
            .iter()
            .all(|r| r.status == 503 && r.json_error && r.latency <= config.fault_max);
        let first_ok = after.iter().filter(|r| r.success()).map(|r| r.end()).min();
        let last_bad = records
            .iter()
            .filter(of_kind)
            .filter(|r| r.start >= fault.up && !r.success())
            .map(Record::end)
            .max();
        let recovery = last_bad.map_or(0.0, |t| s(t) - s(fault.up));
        worst_recovery = worst_recovery.max(recovery);
        if !bad_ok {
            ok = false;
        }
        if bad.iter().any(|r| r.latency > config.fault_max) {
            needs_db_slow += 1;
        }
        println!(
            "{name:<14} | {:>6} {:<22} {:>9} {:>8} {:>8} | {:<18} | {:>11} {:>11}",
            down.len(),
            statuses(&down),
            format!("{json}/{}", bad.len()),
            ms(percentile(&lat, 50.0)),
            ms(lat.last().copied().unwrap_or_default()),
            statuses(&in_flight),
            first_ok.map_or("-".into(), |t| format!("{:.2}", s(t) - s(fault.up))),
            last_bad.map_or("-".into(), |t| format!("{:.2}", s(t) - s(fault.up)))
        );
    }
    let down_all: Vec<&Record> = records
        .iter()
        .filter(|r| r.start >= fault.down && r.start < fault.start_sent)
        .collect();
    let longest = down_all.iter().map(|r| r.latency).max().unwrap_or_default();
    let transport = records
        .iter()
        .filter(|r| r.start >= config.duration && r.status == 0)
        .count();
    let after_all: Vec<&Record> = records.iter().filter(|r| r.start >= fault.up).collect();
    let after_bad = after_all.iter().filter(|r| !r.success()).count();
    println!(
        "  (+s: seconds after PostgreSQL accepted connections again; 'last bad': the last answer to a request sent after that which was not a success)"
    );
    println!(
        "  while down: {} requests, {} successes, {} answered 503 with the JSON error; longest answer {} ms",
        down_all.len(),
        down_all.iter().filter(|r| r.success()).count(),
        down_all.iter().filter(|r| r.status == 503 && r.json_error).count(),
        ms(longest)
    );
    println!(
        "  after the return: {} requests, {after_bad} not successes; every kind answered only successes from +{worst_recovery:.2} s",
        after_all.len()
    );
    // /health.
    let first_503 = fault
        .health
        .iter()
        .find(|(t, st)| *t >= fault.stop_sent && *st != 200)
        .map(|(t, _)| *t);
    let back = fault
        .health
        .iter()
        .filter(|(t, _)| *t >= fault.start_sent)
        .find(|(_, st)| *st == 200)
        .map(|(t, _)| *t);
    let health_statuses: BTreeSet<u16> = fault
        .health
        .iter()
        .filter(|(t, _)| *t >= fault.down && *t < fault.start_sent)
        .map(|(_, st)| *st)
        .collect();
    println!(
        "  /health (every {} ms): not ok {} after the kill (answers while down: {:?}); 200 again {} after PostgreSQL was started",
        HEALTH_EVERY.as_millis(),
        first_503.map_or("never".into(), |t| format!("{:.2} s", rel_down(t))),
        health_statuses,
        back.map_or("never".into(), |t| format!("{:.2} s", s(t) - s(fault.start_sent)))
    );
    let alive = pid.is_none_or(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
    println!(
        "  the server process {}",
        if alive {
            "ran throughout (no restart)"
        } else {
            "is GONE"
        }
    );
    let recovered = worst_recovery <= config.recover_max.as_secs_f64() && back.is_some();
    let ok = ok && transport == 0 && recovered && alive && needs_db_slow == 0;
    println!(
        "verdict (fault): {}: non-successes while down all 503 with a JSON error within {} ms: {}; transport errors: {transport}; recovered by itself within {} s: {} (+{worst_recovery:.2} s)",
        if ok { "PASS" } else { "FAIL" },
        config.fault_max.as_millis(),
        if needs_db_slow == 0
            && down_all
                .iter()
                .all(|r| r.success() || (r.status == 503 && r.json_error))
        {
            "yes"
        } else {
            "NO"
        },
        config.recover_max.as_secs(),
        if recovered { "yes" } else { "NO" }
    );
    ok
}
