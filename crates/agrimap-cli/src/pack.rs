//! `agrimap pack`: one commune's offline pack (a PMTiles archive), as
//! `/api/packs/{code}.pmtiles` serves it, written to a file.

use crate::store_args::StoreArgs;
use agrimap_core::pack::{DEFAULT_MAXZOOM, DEFAULT_MINZOOM, commune_pack};
use agrimap_core::{Core, CoreConfig};
use anyhow::Context;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct PackArgs {
    /// Official code of the commune (e.g. 33030).
    #[arg(long)]
    pub commune: String,
    /// The commune's boundary set, pre-2025 or 2025 (default: the newest that has the code).
    #[arg(long)]
    pub boundary_set: Option<String>,
    /// Lowest zoom in the pack.
    #[arg(long, default_value_t = DEFAULT_MINZOOM)]
    pub minzoom: u8,
    /// Highest zoom in the pack (at most 16; the map over-zooms beyond).
    #[arg(long, default_value_t = DEFAULT_MAXZOOM)]
    pub maxzoom: u8,
    /// The PMTiles file to write.
    pub out: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn pack(args: &PackArgs) -> anyhow::Result<()> {
    let boundary_set = agrimap_core::communes::boundary_set_param(args.boundary_set.as_deref())?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let pack = runtime.block_on(async {
        let (store, _) = args.store.open().await?;
        let core = Core::new(store, CoreConfig::default());
        anyhow::Ok(commune_pack(&core, &args.commune, boundary_set, args.minzoom, args.maxzoom).await?)
    })?;
    // Written whole or not at all: a half-written pack would not open.
    let mut partial = args.out.clone().into_os_string();
    partial.push(".part");
    std::fs::write(&partial, &pack.bytes).with_context(|| format!("writing {}", args.out.display()))?;
    std::fs::rename(&partial, &args.out).with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "{}: {} ({}), z{}-z{}, {} tiles, {} bytes",
        args.out.display(),
        pack.commune_name,
        pack.commune_code,
        args.minzoom,
        args.maxzoom,
        pack.tiles,
        pack.bytes.len()
    );
    Ok(())
}
