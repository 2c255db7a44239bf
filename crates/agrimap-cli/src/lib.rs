//! The `agrimap` command line: `serve`, `init`, `boundaries`, `demo-data`, `migrate`, `load`, `import`, `export`, `stats`, `station`, ...
//!
//! Every flag has an environment twin (`--listen` / `AGRIMAP_LISTEN`, ...).
//! Errors are printed as one message with its causes, with a non-zero exit.

mod boundaries;
mod codes;
mod crosswalk;
mod export;
mod import;
mod init;
mod load;
mod ntm;
mod pack;
pub mod postgres;
mod recode;
mod registry;
pub mod seed;
mod serve;
mod splits;
mod station;
mod stats;
pub mod store_args;
mod token;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "agrimap",
    version,
    about = "Agricultural base map of a province: vector tiles and queries"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve tiles, styles and the map page (a data directory with no store yet gets the demo province).
    Serve(serve::ServeArgs),
    /// Make an empty store for a province's own data (never seeded with the demo).
    Init(init::InitArgs),
    /// Generate the synthetic demo province (deterministic for a given seed).
    DemoData(DemoDataArgs),
    /// Apply the PostGIS schema migrations that are not applied yet.
    Migrate(postgres::MigrateArgs),
    /// Copy a demo province, or an embedded store with every history it keeps, into PostGIS (its layers replaced, in one transaction).
    Load(load::LoadArgs),
    /// Print a statistic of a layer by commune, district or province (as `/api/stats`).
    Stats(stats::StatsArgs),
    /// Manage monitoring stations and their ingestion tokens.
    Station(station::StationArgs),
    /// Manage API tokens of planners, editors and admins.
    Token(token::TokenArgs),
    /// Write a layer, or a selection of it, as GeoJSON, CSV, GeoPackage, Shapefile, KML or FlatGeobuf.
    Export(export::ExportArgs),
    /// Import a GIS file (Shapefile, GeoPackage, GeoJSON, KML, CSV, TAB, DGN, ...) into a layer, in one transaction.
    Import(import::ImportArgs),
    /// Write a commune's offline pack, or a whole province to publish, as a PMTiles archive.
    Pack(pack::PackArgs),
    /// Import commune boundaries of a boundary set (districts and provinces are made from them).
    Boundaries(boundaries::BoundariesArgs),
    /// List, add and retire the codes of the value lists (crop types, seasons, species, ...).
    Codes(codes::CodesArgs),
    /// The official 2025 commune crosswalk: import it, check it against the boundaries.
    Crosswalk(crosswalk::CrosswalkArgs),
    /// The traceability registries (producers, products, growing areas): import and export spreadsheets.
    Registry(registry::RegistryArgs),
    /// Re-stamp a layer's features with the communes of another boundary set, by location.
    Recode(recode::RecodeArgs),
    /// New rural development: criteria sets, commune scorecards.
    Ntm(ntm::NtmArgs),
    /// The statistics kept at write time: recompute every feature's split across the communes.
    Splits(splits::SplitsArgs),
}

#[derive(Debug, clap::Args)]
pub struct DemoDataArgs {
    /// Seed of the generator: the same seed gives the same bytes.
    #[arg(long, env = "AGRIMAP_DEMO_SEED", default_value_t = 2025)]
    pub seed: u64,
    /// Number of crop parcels (scale up for benchmarks, e.g. 2000000).
    #[arg(long, env = "AGRIMAP_DEMO_PARCELS", default_value_t = 60_000)]
    pub parcels: usize,
    /// Directory to write the layer files and manifest into.
    #[arg(long, env = "AGRIMAP_DEMO_OUT", default_value = "data/demo")]
    pub out: PathBuf,
}

/// Entry point of the binary.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Serve(args) => serve::serve(args),
        Command::Init(args) => init::init(&args),
        Command::DemoData(args) => demo_data(&args),
        Command::Migrate(args) => postgres::migrate(&args),
        Command::Load(args) => load::load(&args),
        Command::Stats(args) => stats::stats(&args),
        Command::Station(args) => station::station(&args),
        Command::Token(args) => token::token(&args),
        Command::Export(args) => export::export(&args),
        Command::Pack(args) => pack::pack(&args),
        Command::Import(args) => import::run(&args),
        Command::Boundaries(args) => boundaries::boundaries(&args),
        Command::Codes(args) => codes::codes(&args),
        Command::Crosswalk(args) => crosswalk::crosswalk(&args),
        Command::Recode(args) => recode::recode(&args),
        Command::Registry(args) => registry::registry(&args),
        Command::Ntm(args) => ntm::ntm(&args),
        Command::Splits(args) => splits::splits(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("agrimap: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .compact()
        .try_init();
}

fn demo_data(args: &DemoDataArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    let opts = agrimap_demo::DemoOptions {
        seed: args.seed,
        parcels: args.parcels,
    };
    let started = std::time::Instant::now();
    let province = agrimap_demo::generate(&opts);
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let manifest = agrimap_demo::write_dir(&province, &opts, &args.out)
        .with_context(|| format!("writing the demo province to {}", args.out.display()))?;
    // Written, not println!-ed: a closed pipe (`| head`) is an error, not a panic.
    let mut out = std::io::stdout().lock();
    let elapsed = started.elapsed();
    writeln!(
        out,
        "{} (seed {}) written to {} in {elapsed:.1?}",
        manifest.name,
        args.seed,
        args.out.display()
    )?;
    for (layer, n) in &manifest.counts {
        writeln!(out, "  {layer:<14} {n:>9}")?;
    }
    Ok(())
}
