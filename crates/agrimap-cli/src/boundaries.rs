//! `agrimap boundaries import FILE --set pre-2025|2025 [--province CODE]`:
//! a department's (or the GSO's) commune boundaries into `admin_commune`,
//! with the districts and provinces dissolved from them when the store has
//! none, and the features a corrected boundary now holds moved to its
//! commune, in one transaction (see `agrimap_io::import`, whose administrative
//! step measures areas on the ellipsoid and names the kinds of unit, and
//! whose `follow` step moves the features).

use crate::import::import_file;
use crate::store_args::StoreArgs;
use agrimap_io::import::ImportOptions;
use agrimap_model::BoundarySet;
use anyhow::{Context, bail};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct BoundariesArgs {
    #[command(subcommand)]
    pub command: BoundariesCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum BoundariesCommand {
    /// Import a file of commune boundaries (any format `agrimap import` reads).
    Import(BoundariesImportArgs),
}

#[derive(Debug, clap::Args)]
pub struct BoundariesImportArgs {
    /// The commune file: one feature per commune with `code`, `name`,
    /// `province_code` (and `district_code` before 2025); `province_name`
    /// and `district_name` name the units made from the communes.
    pub file: PathBuf,
    /// The boundary set the file belongs to: `pre-2025` or `2025`.
    #[arg(long = "set")]
    pub boundary_set: String,
    /// The province every commune must lie in (its official code, e.g. 94).
    #[arg(long)]
    pub province: Option<String>,
    /// CRS of the file when it does not say, e.g. EPSG:3405.
    #[arg(long)]
    pub srs: Option<String>,
    /// Write the full report as JSON to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn boundaries(args: &BoundariesArgs) -> anyhow::Result<()> {
    match &args.command {
        BoundariesCommand::Import(args) => import(args),
    }
}

fn import(args: &BoundariesImportArgs) -> anyhow::Result<()> {
    let Some(set) = BoundarySet::parse(&args.boundary_set) else {
        bail!(
            "unknown boundary set '{}'; sets: pre-2025 (until 30 June 2025), 2025 (from 1 July 2025)",
            args.boundary_set
        );
    };
    if let Some(p) = &args.province
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        bail!("--province takes the official province code (digits, e.g. 94), not '{p}'");
    }
    let layer = agrimap_model::layer("admin_commune").context("the catalog has no admin_commune layer")?;
    let opts = ImportOptions {
        srs: args.srs.clone(),
        boundary_set: Some(set),
        province: args.province.clone(),
        ..ImportOptions::default()
    };
    import_file(layer, &args.file, &opts, &args.store, args.report.as_deref())
}
