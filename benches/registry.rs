//! The registries' performance targets, on a copy of the demo store (and on
//! PostGIS when `AGRIMAP_TEST_DATABASE_URL` names a server):
//!
//! 1. a 10,000-product workbook (with 200 producers) imported into an
//!    empty products registry, then imported again unchanged (target: under 10 s);
//! 2. `/t/{id}` and `/api/products/{id}/qr.png` on a warm server under 64
//!    connections, each doing a fixed number of requests over products in a
//!    fixed order (targets: p99 under 20 ms and under 5 ms).
//!
//! Run: `cargo bench --bench registry` (release build; prints a table).

use agrimap_core::registry::sheet::SheetFormat;
use agrimap_core::{Core, CoreConfig};
use agrimap_model::registry::RegistryKind;
use agrimap_store::{GpkgStore, Store};
use agrimap_suite::{PgDatabase, TestServer, scratch_dir};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PRODUCTS: usize = 10_000;
const PRODUCERS: usize = 200;
const CONNECTIONS: usize = 64;
const REQUESTS_EACH: usize = 200;

fn producers_csv() -> Vec<u8> {
    use std::fmt::Write as _;
    let mut s = String::from("code,name,kind,commune_code,boundary_set,contact_phone\n");
    for i in 0..PRODUCERS {
        let _ = writeln!(
            s,
            "39{i:08},Cơ sở {i},household,330{:02},pre-2025,0913{i:06}",
            1 + i % 60
        );
    }
    s.into_bytes()
}

fn products_xlsx() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let header = [
        "Mã sản phẩm",
        "Tên sản phẩm",
        "Nhóm sản phẩm",
        "Mã chủ thể",
        "Mã xã",
        "Hạng sao",
        "Số chứng nhận OCOP",
        "Hạn chứng nhận OCOP",
        "Mã số vùng trồng",
    ];
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).expect("header");
    }
    for i in 0..PRODUCTS {
        let r = i as u32 + 1;
        let p = i % PRODUCERS;
        sheet.write_string(r, 0, format!("SP-B-{i:05}")).expect("cell");
        sheet.write_string(r, 1, format!("Sản phẩm thử {i}")).expect("cell");
        sheet.write_string(r, 2, "food").expect("cell");
        sheet.write_string(r, 3, format!("39{p:08}")).expect("cell");
        sheet.write_string(r, 4, format!("330{:02}", 1 + p % 60)).expect("cell");
        if i % 4 == 0 {
            sheet.write_string(r, 5, "4").expect("cell");
            sheet.write_string(r, 6, format!("{i}/QĐ-UBND")).expect("cell");
            sheet.write_string(r, 7, "2028-12-31").expect("cell");
        }
    }
    book.save_to_buffer().expect("workbook")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// 64 threads, each with its own keep-alive connection, each asking for
/// `REQUESTS_EACH` paths; the latencies sorted.
fn load(base: &str, paths: &[String]) -> Vec<Duration> {
    let threads: Vec<_> = (0..CONNECTIONS)
        .map(|t| {
            let base = base.to_owned();
            let paths = paths.to_vec();
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
                (0..REQUESTS_EACH)
                    .map(|k| {
                        let path = &paths[(t * 7_919 + k * 104_729) % paths.len()];
                        let started = Instant::now();
                        let mut resp = agent.get(format!("{base}{path}")).call().expect("request");
                        assert_eq!(resp.status().as_u16(), 200, "{path}");
                        let _ = resp.body_mut().read_to_vec().expect("body");
                        started.elapsed()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<Duration> = threads.into_iter().flat_map(|t| t.join().expect("thread")).collect();
    all.sort();
    all
}

fn run(name: &str, store: Arc<dyn Store>, rt: &tokio::runtime::Runtime) {
    let core = Core::new(store.clone(), CoreConfig::default());
    let bench = agrimap_core::actor::Actor {
        id: "bench".into(),
        ..agrimap_core::actor::Actor::cli()
    };
    let producers = rt
        .block_on(core.registry_import(
            RegistryKind::Producers,
            &producers_csv(),
            SheetFormat::Csv,
            "producers.csv",
            &bench,
        ))
        .expect("producers");
    assert!(producers.written, "{producers:?}");
    let xlsx = products_xlsx();
    for pass in ["import", "re-import"] {
        let started = Instant::now();
        let report = rt
            .block_on(core.registry_import(
                RegistryKind::Products,
                &xlsx,
                SheetFormat::Workbook,
                "products.xlsx",
                &bench,
            ))
            .expect("products");
        assert!(report.written && report.read == PRODUCTS, "{report:?}");
        println!(
            "{name:<11} {pass:<10} {PRODUCTS} products ({} kB xlsx): {:.2} s",
            xlsx.len() / 1024,
            started.elapsed().as_secs_f64()
        );
    }
    // Many phones behind one carrier address: no per-address quota here.
    let config = agrimap_server::ServerConfig {
        rate_per_address: 0,
        ..agrimap_server::ServerConfig::default()
    };
    let server = TestServer::start_with(store, config);
    let pages: Vec<String> = (0..100).map(|i| format!("/t/SP-99-{:04}", i + 1)).collect();
    let qr: Vec<String> = (0..100)
        .map(|i| format!("/api/products/SP-99-{:04}/qr.png", i + 1))
        .collect();
    for (what, paths) in [("/t/{id}", &pages), ("qr.png", &qr)] {
        // Warm: every path once.
        let _ = load(&server.base, &paths[..CONNECTIONS.min(paths.len())]);
        let started = Instant::now();
        let lat = load(&server.base, paths);
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{name:<11} {what:<10} {} requests, {CONNECTIONS} connections: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            lat.len(),
            lat.len() as f64 / secs,
            percentile(&lat, 0.5).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3,
            lat.last().expect("some").as_secs_f64() * 1e3,
        );
    }
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = scratch_dir("bench_registry");
    let path = dir.join("agrimap.gpkg");
    std::fs::copy(agrimap_suite::shared_store_path(), &path).expect("copy the demo store");
    run("geopackage", Arc::new(GpkgStore::open(&path).expect("open")), &rt);
    if std::env::var_os("AGRIMAP_TEST_DATABASE_URL").is_some() {
        let db = PgDatabase::demo("bench_registry");
        let store = rt.block_on(async { db.store() });
        run("postgis", Arc::new(store), &rt);
    }
}
