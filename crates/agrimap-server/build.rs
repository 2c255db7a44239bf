//! Fetches MapLibre GL JS for the map page at build time, so that a newcomer
//! needs only the Rust toolchain (no npm) and the page needs no CDN at run time.
//!
//! `web/maplibre.lock.json` pins the npm package: version, tarball URL and the
//! registry's sha512 `integrity`. The tarball comes from the npm registry, or
//! from the file named by `AGRIMAP_MAPLIBRE_TGZ` for offline builds (absolute,
//! or relative to the workspace root); either way its sha512 must match the
//! pin. `package/dist/maplibre-gl.js`, `package/dist/maplibre-gl.css` and
//! `package/LICENSE.txt` are extracted into `OUT_DIR`, where `src/assets.rs`
//! embeds them. A stamp file records the pin and the digests of the extracted
//! files, so later builds reuse them without touching the network. The
//! download trusts the system's root certificates where it has a PEM bundle.
//!
//! The same way, `web/fonts.lock.json` pins the npm package of the Noto Sans
//! font (`AGRIMAP_FONTS_TGZ` for a local copy), from which `build/glyphs.rs`
//! renders the map labels' SDF glyph ranges, and `web/pmtiles.lock.json` the PMTiles
//! reader (`package/dist/pmtiles.js`, `AGRIMAP_PMTILES_TGZ`) that opens offline packs.

#[path = "build/glyphs.rs"]
mod glyphs;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use flate2::read::GzDecoder;
use sha2::{Digest, Sha512};
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;
use std::{env, fs};
use ureq::tls::{PemItem, RootCerts, TlsConfig, parse_pem};

/// The environment variable naming a local copy of the pinned tarball.
const TGZ_ENV: &str = "AGRIMAP_MAPLIBRE_TGZ";
/// The pin, relative to the workspace root.
const LOCK_FILE: &str = "web/maplibre.lock.json";
/// The pin of the font package and the variable naming a local copy of it.
const FONTS_LOCK_FILE: &str = "web/fonts.lock.json";
const FONTS_TGZ_ENV: &str = "AGRIMAP_FONTS_TGZ";
/// Files of the map page and the styles that `src/assets.rs` embeds.
const EMBEDDED: &[&str] = &[
    "web/index.html",
    "web/app.js",
    "web/app.css",
    "web/sw.js",
    "styles/farmer.json",
    "styles/planner.json",
];
/// (path inside the tarball, file name in `OUT_DIR`).
const MAPLIBRE_FILES: &[(&str, &str)] = &[
    ("package/dist/maplibre-gl.js", "maplibre-gl.js"),
    ("package/dist/maplibre-gl.css", "maplibre-gl.css"),
    ("package/LICENSE.txt", "maplibre-LICENSE.txt"),
];
/// The PMTiles reader the page opens offline packs with (`AGRIMAP_PMTILES_TGZ` for a local copy).
const PMTILES_LOCK_FILE: &str = "web/pmtiles.lock.json";
const PMTILES_TGZ_ENV: &str = "AGRIMAP_PMTILES_TGZ";
const PMTILES_FILES: &[(&str, &str)] = &[("package/dist/pmtiles.js", "pmtiles.js")];
/// The tarball is about 9 MB; anything far larger is not the package.
const MAX_TARBALL_BYTES: u64 = 64 * 1024 * 1024;

struct Lock {
    /// The lock file, relative to the workspace root, and the variable naming a local copy.
    file: &'static str,
    tgz_env: &'static str,
    package: String,
    version: String,
    tarball: String,
    /// The raw sha512 digest from the `sha512-<base64>` integrity string.
    sha512: Vec<u8>,
    integrity: String,
}

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.join("../..");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build/glyphs.rs");
    for file in EMBEDDED {
        println!("cargo:rerun-if-changed=../../{file}");
    }

    let lock = read_lock(&root, LOCK_FILE, TGZ_ENV);
    println!("cargo:rustc-env=AGRIMAP_MAPLIBRE_VERSION={}", lock.version);
    bundle(&root, &out_dir, &lock, MAPLIBRE_FILES);

    let pmtiles = read_lock(&root, PMTILES_LOCK_FILE, PMTILES_TGZ_ENV);
    bundle(&root, &out_dir, &pmtiles, PMTILES_FILES);

    let fonts = read_lock(&root, FONTS_LOCK_FILE, FONTS_TGZ_ENV);
    glyphs::render(&out_dir, &fonts, || fetch(&root, &fonts));
}

/// Extracts `files` of a pinned npm package into `OUT_DIR`, unless an earlier run did for the same pin.
fn bundle(root: &Path, out_dir: &Path, lock: &Lock, files: &[(&str, &str)]) {
    // Files extracted by an earlier run for the same pin, unchanged since: nothing to fetch.
    let stamp = out_dir.join(format!("{}.stamp", files[0].1));
    let previous = fs::read_to_string(&stamp).ok();
    if previous.is_some() && previous == cached_stamp(lock, out_dir, files) {
        return;
    }
    let tarball = fetch(root, lock);
    extract(lock, &tarball, out_dir, files);
    let stamp_text = cached_stamp(lock, out_dir, files).expect("the files were just extracted");
    write_atomically(&stamp, stamp_text.as_bytes());
}

/// The pinned tarball, from the local copy its environment variable names or
/// from the registry, checked against the pin's sha512.
fn fetch(root: &Path, lock: &Lock) -> Vec<u8> {
    let tgz_env = lock.tgz_env;
    // A relative path is taken from the workspace root (a build script runs in its package's directory).
    let local = env::var_os(tgz_env).filter(|v| !v.is_empty()).map(|v| root.join(v));
    let tarball = match &local {
        Some(path) => fs::read(path).unwrap_or_else(|e| {
            panic!(
                "{tgz_env}={} cannot be read ({e}); point it at {} {} as downloaded from {}, or unset it to download",
                path.display(),
                lock.package,
                lock.version,
                lock.tarball
            )
        }),
        None => download(lock),
    };
    let source = local
        .as_ref()
        .map_or_else(|| lock.tarball.clone(), |p| format!("{tgz_env}={}", p.display()));
    verify(lock, &tarball, &source);
    tarball
}

/// Reads the flat `{"package", "version", "tarball", "integrity"}` object of a lock file
/// (relative to the workspace root), and asks cargo to rerun when it or the local copy changes.
fn read_lock(root: &Path, file: &'static str, tgz_env: &'static str) -> Lock {
    println!("cargo:rerun-if-changed=../../{file}");
    println!("cargo:rerun-if-env-changed={tgz_env}");
    if let Some(local) = env::var_os(tgz_env).filter(|v| !v.is_empty()) {
        println!("cargo:rerun-if-changed={}", root.join(local).display());
    }
    let path = &root.join(file);
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let field = |key: &str| -> String {
        json_string_field(&text, key).unwrap_or_else(|| {
            panic!(
                "{}: expected a string field \"{key}\" (without escapes)",
                path.display()
            )
        })
    };
    let integrity = field("integrity");
    let digest = integrity
        .split_whitespace()
        .find_map(|h| h.strip_prefix("sha512-"))
        .unwrap_or_else(|| {
            panic!(
                "{}: \"integrity\" must be an npm sha512 integrity (\"sha512-<base64>\"), got {integrity:?}",
                path.display()
            )
        });
    let sha512 = BASE64.decode(digest).ok().filter(|d| d.len() == 64).unwrap_or_else(|| {
        panic!(
            "{}: \"integrity\" is not a base64 sha512 digest: {integrity:?}",
            path.display()
        )
    });
    let lock = Lock {
        file,
        tgz_env,
        package: field("package"),
        version: field("version"),
        tarball: field("tarball"),
        sha512,
        integrity,
    };
    assert!(
        lock.tarball.starts_with("https://"),
        "{}: \"tarball\" must be an https URL, got {:?}",
        path.display(),
        lock.tarball
    );
    lock
}

/// The value of `"key": "value"` in a flat JSON object of plain strings.
fn json_string_field(text: &str, key: &str) -> Option<String> {
    let after_key = &text[text.find(&format!("\"{key}\""))? + key.len() + 2..];
    let value = after_key
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    let value = &value[..value.find('"')?];
    (!value.contains('\\')).then(|| value.to_owned())
}

fn download(lock: &Lock) -> Vec<u8> {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_mins(5)))
        .timeout_connect(Some(Duration::from_secs(30)))
        .user_agent(concat!("agrimap-server-build/", env!("CARGO_PKG_VERSION")))
        .tls_config(TlsConfig::builder().root_certs(root_certs()).build())
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let mut last_error = String::new();
    for attempt in 1..=3u64 {
        if attempt > 1 {
            std::thread::sleep(Duration::from_secs(2 * attempt));
        }
        let result = agent
            .get(&lock.tarball)
            .call()
            .and_then(|mut response| response.body_mut().with_config().limit(MAX_TARBALL_BYTES).read_to_vec());
        match result {
            Ok(bytes) => return bytes,
            Err(e) => last_error = e.to_string(),
        }
    }
    panic!(
        "could not download {} {} from {}: {last_error}\n\
         To build without network, download that tarball elsewhere and set {}=/path/to/{}-{}.tgz \
         (its sha512 must match {}).",
        lock.package, lock.version, lock.tarball, lock.tgz_env, lock.package, lock.version, lock.file
    );
}

/// The system's trusted roots, as curl and cargo use them (which matters behind
/// a TLS-inspecting proxy whose root only the system trusts); Mozilla's roots
/// where the system has no PEM bundle (Windows, some macOS setups).
fn root_certs() -> RootCerts {
    let candidates = env::var_os("SSL_CERT_FILE").map(PathBuf::from).into_iter().chain(
        [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
            "/etc/ssl/ca-bundle.pem",
            "/etc/ssl/cert.pem",
        ]
        .map(PathBuf::from),
    );
    for path in candidates {
        let Ok(pem) = fs::read(&path) else { continue };
        let certs: Vec<_> = parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(PemItem::Certificate(cert)) => Some(cert),
                _ => None,
            })
            .collect();
        if !certs.is_empty() {
            return RootCerts::new_with_certs(&certs);
        }
    }
    RootCerts::WebPki
}

fn verify(lock: &Lock, tarball: &[u8], source: &str) {
    let actual = Sha512::digest(tarball);
    assert!(
        actual[..] == lock.sha512[..],
        "integrity mismatch for {} {} from {source}:\n  expected {}\n  actual   sha512-{}\n\
         The tarball is not the one pinned in {}. Use {} (or set {} to a copy of it).",
        lock.package,
        lock.version,
        lock.integrity,
        BASE64.encode(actual),
        lock.file,
        lock.tarball,
        lock.tgz_env
    );
}

fn extract(lock: &Lock, tarball: &[u8], out_dir: &Path, files: &[(&str, &str)]) {
    let mut found = vec![None; files.len()];
    let mut archive = tar::Archive::new(GzDecoder::new(tarball));
    let entries = archive
        .entries()
        .unwrap_or_else(|e| panic!("{} {}: not a tar.gz: {e}", lock.package, lock.version));
    for entry in entries {
        let mut entry = entry.unwrap_or_else(|e| panic!("{} {}: corrupt tarball: {e}", lock.package, lock.version));
        let path = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(i) = files.iter().position(|(inner, _)| *inner == path) {
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .unwrap_or_else(|e| panic!("{} {}: cannot read {path}: {e}", lock.package, lock.version));
            found[i] = Some(bytes);
        }
    }
    for ((inner, name), bytes) in files.iter().zip(found) {
        let bytes = bytes.unwrap_or_else(|| panic!("{} {}: the tarball has no {inner}", lock.package, lock.version));
        write_atomically(&out_dir.join(name), &bytes);
    }
}

/// What the stamp file must say when the extracted files in `out_dir` are
/// those of the pinned tarball; `None` when one of them is missing.
fn cached_stamp(lock: &Lock, out_dir: &Path, files: &[(&str, &str)]) -> Option<String> {
    let mut stamp = format!("{}@{} {}\n", lock.package, lock.version, lock.integrity);
    for (_, name) in files {
        let bytes = fs::read(out_dir.join(name)).ok()?;
        let _ = writeln!(stamp, "{name} sha512-{}", BASE64.encode(Sha512::digest(&bytes)));
    }
    Some(stamp)
}

fn write_atomically(path: &Path, bytes: &[u8]) {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".part");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", tmp.display()));
    fs::rename(&tmp, path).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}
