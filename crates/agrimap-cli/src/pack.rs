//! `agrimap pack`: a PMTiles archive of one commune (the offline pack that
//! `/api/packs/{code}.pmtiles` serves) or of a whole province (the file a
//! province publishes on a static server or CDN), written to a file.

use crate::store_args::StoreArgs;
use agrimap_core::pack::{
    DEFAULT_MAXZOOM, DEFAULT_MINZOOM, PROVINCE_MAXZOOM, PROVINCE_MINZOOM, PackProgress, commune_pack, province_pack,
};
use agrimap_core::{Core, CoreConfig};
use anyhow::Context;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("place").required(true).args(["commune", "province"])))]
pub struct PackArgs {
    /// Official code of the commune (e.g. 33030): its offline pack.
    #[arg(long)]
    pub commune: Option<String>,
    /// Official code of the province (e.g. 92): the whole province, to publish.
    #[arg(long)]
    pub province: Option<String>,
    /// The boundary set, pre-2025 or 2025 (default: the newest that has the code).
    #[arg(long)]
    pub boundary_set: Option<String>,
    /// Lowest zoom in the pack [default: 10 for a commune, 6 for a province].
    #[arg(long)]
    pub minzoom: Option<u8>,
    /// Highest zoom in the pack, at most 16; the map over-zooms beyond
    /// [default: 16 for a commune, 14 for a province].
    #[arg(long)]
    pub maxzoom: Option<u8>,
    /// The PMTiles file to write.
    pub out: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn pack(args: &PackArgs) -> anyhow::Result<()> {
    let boundary_set = agrimap_core::communes::boundary_set_param(args.boundary_set.as_deref())?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    // Written whole or not at all: a half-written archive would not open, so
    // it is written beside its name and renamed when complete.
    let mut partial = args.out.clone().into_os_string();
    partial.push(".part");
    let partial = PathBuf::from(partial);
    let written = runtime.block_on(async {
        let (store, _) = args.store.open().await?;
        let core = Core::new(store, CoreConfig::default());
        match (&args.commune, &args.province) {
            (Some(commune), _) => {
                let (minzoom, maxzoom) = zooms(args, DEFAULT_MINZOOM, DEFAULT_MAXZOOM);
                let pack = commune_pack(&core, commune, boundary_set, minzoom, maxzoom).await?;
                std::fs::write(&partial, &pack.bytes).with_context(|| format!("writing {}", partial.display()))?;
                anyhow::Ok(format!(
                    "{} ({}), z{minzoom}-z{maxzoom}, {} tiles",
                    pack.commune_name, pack.commune_code, pack.tiles
                ))
            }
            (None, Some(province)) => {
                let (minzoom, maxzoom) = zooms(args, PROVINCE_MINZOOM, PROVINCE_MAXZOOM);
                let file =
                    std::fs::File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
                let mut out = BufWriter::new(file);
                // On an error the file is closed as this block returns, and removed below.
                let pack =
                    province_pack(&core, province, boundary_set, minzoom, maxzoom, &mut out, &mut report).await?;
                out.flush().with_context(|| format!("writing {}", partial.display()))?;
                out.get_ref()
                    .sync_all()
                    .with_context(|| format!("writing {}", partial.display()))?;
                eprintln!();
                anyhow::Ok(format!(
                    "{} ({}, {}), z{minzoom}-z{maxzoom}, {} tiles of {} looked at",
                    pack.province_name.as_deref().unwrap_or("province"),
                    pack.province_code,
                    pack.boundary_set,
                    pack.tiles,
                    pack.tiles_considered
                ))
            }
            (None, None) => unreachable!("clap requires --commune or --province"),
        }
    });
    let summary = match written {
        Ok(summary) => summary,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, &args.out).with_context(|| format!("writing {}", args.out.display()))?;
    println!("{}: {summary}, {} bytes", args.out.display(), file_size(&args.out));
    Ok(())
}

fn zooms(args: &PackArgs, minzoom: u8, maxzoom: u8) -> (u8, u8) {
    (args.minzoom.unwrap_or(minzoom), args.maxzoom.unwrap_or(maxzoom))
}

/// One progress line on standard error, rewritten in place.
fn report(p: PackProgress) {
    eprint!("\rz{}: {} of {} tiles", p.zoom, p.done, p.total);
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}
