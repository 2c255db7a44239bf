//! `agrimap crosswalk import FILE`: the official commune crosswalk of the
//! 2025 reorganisation into the store, in place of the list held; and
//! `agrimap crosswalk report`: that list checked against the boundaries
//! (as `/api/crosswalk/report`).

use crate::store_args::StoreArgs;
use agrimap_core::Core;
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct CrosswalkArgs {
    #[command(subcommand)]
    pub command: CrosswalkCommand,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum CrosswalkCommand {
    /// Store the pairs of a crosswalk CSV file (old_code, old_name,
    /// new_province_code, new_province_name, new_code, new_name, type),
    /// replacing the list held, in one transaction.
    Import {
        /// The CSV file, e.g. communes-2025-merges.csv.
        file: PathBuf,
    },
    /// Check the stored list against the loaded pre-2025 and 2025 communes (JSON).
    Report,
}

pub fn crosswalk(args: &CrosswalkArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let mut out = std::io::stdout().lock();
        match &args.command {
            CrosswalkCommand::Import { file } => {
                let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
                let (store, name) = args.store.open().await?;
                let n = agrimap_core::crosswalk::import(store.as_ref(), &bytes)
                    .await
                    .with_context(|| format!("importing {}", file.display()))?;
                writeln!(out, "{n} crosswalk pairs from {} stored in {name}", file.display())?;
            }
            CrosswalkCommand::Report => {
                let (store, _) = args.store.open().await?;
                let core = Core::new(store, agrimap_core::CoreConfig::default());
                let report = core.crosswalk_report().await?;
                writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
            }
        }
        anyhow::Ok(())
    })
}
