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
use agrimap_suite::{StoreKind, repo_root};
use std::path::PathBuf;
use std::process::Command;

/// `<target>/browser`, beside the test executables' profile directory.
fn artifacts_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // <target>/<profile>/deps/<test executable>
    let target = exe.ancestors().nth(3).expect("target directory");
    target.join("browser")
}

#[test]
fn the_map_page_in_chromium() {
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
    let output = Command::new("node")
        .args([
            "--test",
            "--test-concurrency=1",
            "--test-reporter=spec",
            "page.test.mjs",
        ])
        .current_dir(&dir)
        .env("AGRIMAP_URL", &server.base)
        .env("AGRIMAP_ARTIFACTS", artifacts_dir())
        .env("CHROMIUM", &chromium)
        .env("AGRIMAP_TOKENS", serde_json::Value::Object(tokens).to_string())
        .output()
        .expect("node runs (tests/run.sh installs it)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{report}");
    assert!(output.status.success(), "the browser tests failed:\n{report}");
}
