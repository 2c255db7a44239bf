//! The map page in a real browser: `tests/browser/page.test.mjs` (node's test
//! runner, playwright-core driving Debian's Chromium headless) against the real
//! server over the demo store. Screenshots, the exported GeoJSON and the
//! network figures (`wire.json`) land in `<target>/browser/`.
//!
//! The server runs over a private copy of the demo store, so that the NTM
//! dossier the page moves starts as a draft; the tokens the page is given
//! (an editor and a planner of the province) travel as `AGRIMAP_TOKENS`.
//!
//! Needs `node`, Chromium (`/usr/bin/chromium`, or `CHROMIUM`) and the npm
//! packages of `tests/browser` (`npm ci`); `tests/run.sh` installs all three.

use agrimap_core::tokens::issue_scoped_token;
use agrimap_suite::nginx::Nginx;
use agrimap_suite::{StoreKind, TestServer, agrimap_bin, repo_root, scratch_dir, shared_data};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

/// `<target>/browser`, beside the test executables' profile directory.
fn artifacts_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // <target>/<profile>/deps/<test executable>
    let target = exe.ancestors().nth(3).expect("target directory");
    target.join("browser")
}

/// Runs one of `tests/browser`'s node test files with `env`, and fails
/// with its report when any of its cases fails.
fn run_node_tests(file: &str, env: &[(&str, String)]) {
    let dir = repo_root().join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "the browser tests' packages are not installed: run `npm ci` in {} (tests/run.sh does)",
        dir.display()
    );
    let chromium = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        chromium.exists(),
        "no Chromium at {} (apt-get install chromium, or set CHROMIUM; tests/run.sh installs it)",
        chromium.display()
    );
    let output = Command::new("node")
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec", file])
        .current_dir(&dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("AGRIMAP_ARTIFACTS", artifacts_dir())
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs (tests/run.sh installs it)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{report}");
    assert!(output.status.success(), "the browser tests of {file} failed:\n{report}");
}

#[test]
fn the_map_page_in_chromium() {
    let server = StoreKind::GeoPackage.demo_server("browser");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut tokens = serde_json::Map::new();
    for role in ["editor", "planner"] {
        let (_, secret) = runtime
            .block_on(issue_scoped_token(
                server.store.as_ref(),
                "browser test",
                role,
                &["99".to_owned()],
            ))
            .expect("token");
        tokens.insert(role.to_owned(), serde_json::Value::String(secret));
    }
    let provinces = several_provinces();
    run_node_tests(
        "page.test.mjs",
        &[
            ("AGRIMAP_URL", server.base.clone()),
            (
                "AGRIMAP_PROVINCES_URL",
                provinces.as_ref().map_or_else(String::new, |p| p.base.clone()),
            ),
            ("AGRIMAP_TOKENS", serde_json::Value::Object(tokens).to_string()),
        ],
    );
}

/// A server over a store of real provinces only (`../shared/data`): Sóc
/// Trăng before the reform, Cần Thơ and Đồng Tháp after it, as a department
/// holding both sets has them, with the official crosswalk; `None` (and its
/// browser cases skipped) when the files are not beside the repository.
fn several_provinces() -> Option<TestServer> {
    let files = [
        ("soc-trang-communes-pre2025.geojson", "pre-2025", "94"),
        ("can-tho-communes-2025.geojson", "2025", "92"),
        ("dong-thap-communes-2025.geojson", "2025", "82"),
    ];
    let dir = scratch_dir("browser-provinces");
    let run = |args: &[&str]| {
        let out = Command::new(agrimap_bin())
            .args(args)
            .arg("--data-dir")
            .arg(&dir)
            .output()
            .expect("run agrimap");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["init"]);
    for (file, set, province) in files {
        let path = shared_data(file)?;
        run(&[
            "boundaries",
            "import",
            &path.display().to_string(),
            "--set",
            set,
            "--province",
            province,
        ]);
    }
    let merges = shared_data("communes-2025-merges.csv")?;
    run(&["crosswalk", "import", &merges.display().to_string()]);
    let store = agrimap_store::GpkgStore::open(&dir.join("agrimap.gpkg")).expect("open");
    Some(TestServer::start(Arc::new(store)))
}

/// The public product page (`tests/browser/product.test.mjs`): a phone over
/// Fast 3G, one request under 60 kB, Vietnamese then English.
#[test]
fn the_product_page_in_chromium() {
    let server = TestServer::demo();
    run_node_tests("product.test.mjs", &[("AGRIMAP_URL", server.base.clone())]);
}

/// Communes side by side and the printable report
/// (`tests/browser/compare.test.mjs`): `#compare=A,B` draws both maps and
/// moving one moves the other; the compare button, the report links of the
/// commune sheet, and the report's map and print rules.
#[test]
fn communes_side_by_side_in_chromium() {
    let server = StoreKind::GeoPackage.demo_server("browser_compare");
    run_node_tests("compare.test.mjs", &[("AGRIMAP_URL", server.base.clone())]);
}

/// The sizes of the pages of a PDF Chromium printed, in points (from each
/// page's `/MediaBox`; Chromium writes page objects uncompressed).
fn pdf_page_sizes(pdf: &[u8]) -> Vec<(f64, f64)> {
    let text = String::from_utf8_lossy(pdf);
    text.split("/MediaBox")
        .skip(1)
        .map(|rest| {
            let inside = rest.split('[').nth(1).and_then(|r| r.split(']').next()).expect("a box");
            let n: Vec<f64> = inside
                .split_whitespace()
                .map(|v| v.parse().expect("a number"))
                .collect();
            (n[2] - n[0], n[3] - n[1])
        })
        .collect()
}

/// The printable report of a commune and of the province, printed by
/// Chromium itself (`--print-to-pdf`): A4 pages (595 × 842 points), the
/// title and map on the first, then each of the six themes on its own.
#[test]
fn reports_print_on_a4_pages() {
    let server = StoreKind::GeoPackage.demo_server("browser_print");
    let chromium = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(chromium.exists(), "no Chromium at {}", chromium.display());
    let dir = scratch_dir("browser-print");
    for (path, name) in [
        ("/api/reports/commune/33100.html", "commune"),
        ("/api/reports/province/99.html", "province"),
    ] {
        let pdf = dir.join(format!("{name}.pdf"));
        let profile = dir.join(format!("profile-{name}"));
        let out = Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-pdf-header-footer",
                // Lets the map's tiles arrive before the page is printed.
                "--virtual-time-budget=20000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--print-to-pdf={}", pdf.display()))
            .arg(format!("{}{path}", server.base))
            .output()
            .expect("chromium runs");
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let bytes = std::fs::read(&pdf).expect("the PDF");
        assert!(bytes.starts_with(b"%PDF-"), "{name}: not a PDF");
        let pages = pdf_page_sizes(&bytes);
        assert!(
            pages.len() >= 7,
            "{name}: {} pages, want the map page and six themes",
            pages.len()
        );
        for (w, h) in &pages {
            assert!(
                (w - 595.3).abs() < 1.5 && (h - 841.9).abs() < 1.5,
                "{name}: a page of {w} × {h} points is not A4"
            );
        }
        let _ = std::fs::copy(&pdf, artifacts_dir().join(format!("report-{name}.pdf")));
    }
}

#[test]
fn a_province_published_on_a_static_server_in_chromium() {
    // The province's archive, as a province would publish it...
    let store = scratch_dir("browser-archive-store");
    std::fs::copy(agrimap_suite::shared_store_path(), store.join("agrimap.gpkg")).expect("copy store");
    let published = scratch_dir("browser-archive-site");
    let archive = published.join("province-99.pmtiles");
    let run = Command::new(agrimap_bin())
        .args(["pack", "--province", "99"])
        .arg(&archive)
        .env("AGRIMAP_DATA_DIR", &store)
        .output()
        .expect("run agrimap pack --province");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let size = std::fs::metadata(&archive).expect("archive").len();

    // ...on nginx, another origin than the page's.
    let nginx = Nginx::serve("archive", &published);
    let url = format!("{}/province-99.pmtiles", nginx.url());
    let head = agrimap_suite::request(
        "GET",
        &url,
        &[("range", "bytes=0-126"), ("origin", "http://example.org")],
    );
    assert_eq!(head.status, 206, "nginx answers ranges");
    assert_eq!(head.body.len(), 127);
    assert_eq!(&head.body[..7], b"PMTiles", "the archive's header");
    assert_eq!(
        head.header("content-range"),
        Some(format!("bytes 0-126/{size}").as_str())
    );
    assert_eq!(head.header("access-control-allow-origin"), Some("*"));
    let preflight = agrimap_suite::request(
        "OPTIONS",
        &url,
        &[
            ("origin", "http://example.org"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "range"),
        ],
    );
    assert_eq!(preflight.status, 204);
    assert!(
        preflight
            .header("access-control-allow-headers")
            .is_some_and(|h| h.contains("Range")),
        "Range may be sent"
    );

    let server = TestServer::demo();
    run_node_tests(
        "archive.test.mjs",
        &[("AGRIMAP_URL", server.base.clone()), ("AGRIMAP_ARCHIVE_URL", url)],
    );
    // The browser read the archive in pieces.
    let log = nginx.access_log();
    let ranges = log
        .lines()
        .filter(|l| l.contains("GET /province-99.pmtiles") && l.contains("\" 206 "))
        .count();
    assert!(ranges >= 2, "range requests in nginx's log: {ranges}\n{log}");
}
