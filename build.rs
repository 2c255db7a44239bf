//! The test executables run the server, and with it GDAL, in process: as for
//! the `agrimap` binary (crates/agrimap-cli/build.rs), the bundled SQLite of
//! the embedded store must stay out of GDAL's way, so static archives'
//! symbols are kept local.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux") {
        println!("cargo::rustc-link-arg=-Wl,--exclude-libs,ALL");
    }
}
