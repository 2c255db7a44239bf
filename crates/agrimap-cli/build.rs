//! With GDAL linked, the `agrimap` binary holds two SQLite libraries: the one
//! bundled into the embedded store (rusqlite) and the system one GDAL's
//! GeoPackage driver is built against. Symbols of static archives are
//! exported from an executable when a shared library refers to them, so GDAL
//! would call the bundled SQLite instead of its own, and crash. Keeping the
//! archives' symbols local gives each its own.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if linux && std::env::var_os("CARGO_FEATURE_GDAL").is_some() {
        println!("cargo::rustc-link-arg=-Wl,--exclude-libs,ALL");
    }
}
