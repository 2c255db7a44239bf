//! `agrimap registry import FILE --kind producers|products|growing-areas`:
//! a department's spreadsheet (xlsx, ods, xls or CSV) into a registry, all
//! rows or none, updating records by their natural key; and
//! `agrimap registry export --kind K --out FILE.xlsx|.csv`: the registry as a
//! spreadsheet that imports back; `agrimap registry checks`: the registry
//! against the crop parcels (as `/api/registry/checks`).

use crate::store_args::StoreArgs;
use agrimap_core::Core;
use agrimap_core::registry::export::ExportFormat;
use agrimap_core::registry::sheet::SheetFormat;
use agrimap_model::Audience;
use agrimap_model::registry::RegistryKind;
use anyhow::{Context, bail};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct RegistryArgs {
    #[command(subcommand)]
    pub command: RegistryCommand,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Kind {
    Producers,
    Products,
    GrowingAreas,
}

impl From<Kind> for RegistryKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Producers => Self::Producers,
            Kind::Products => Self::Products,
            Kind::GrowingAreas => Self::GrowingAreas,
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum RegistryCommand {
    /// Import a spreadsheet (xlsx, ods, xls, csv) into a registry, in one transaction.
    Import {
        file: PathBuf,
        #[arg(long, value_enum)]
        kind: Kind,
    },
    /// Write a registry as a spreadsheet (.xlsx or .csv, by the file's extension).
    Export {
        #[arg(long, value_enum)]
        kind: Kind,
        #[arg(long)]
        out: PathBuf,
        /// Include restricted columns (producers' contact details).
        #[arg(long)]
        restricted: bool,
    },
    /// Check the registry against the crop layer's parcels (JSON).
    Checks,
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default()
}

pub fn registry(args: &RegistryArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let mut out = std::io::stdout().lock();
        match &args.command {
            RegistryCommand::Import { file, kind } => {
                let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("file").to_owned();
                let Some(format) = SheetFormat::of_name(&name) else {
                    bail!("{}: give an .xlsx, .ods, .xls or .csv file", file.display());
                };
                let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
                let (store, store_name) = args.store.open().await?;
                let core = Core::new(store, agrimap_core::CoreConfig::default());
                let report = core
                    .registry_import(
                        (*kind).into(),
                        &bytes,
                        format,
                        &name,
                        &agrimap_core::actor::Actor::cli(),
                    )
                    .await
                    .with_context(|| format!("importing {}", file.display()))?;
                for c in &report.unknown_columns {
                    writeln!(out, "column ignored: {c}")?;
                }
                for s in &report.skipped_sheets {
                    writeln!(out, "sheet skipped (no {} columns): {s}", report.kind)?;
                }
                if !report.written {
                    for r in &report.refused {
                        eprintln!("{}, row {}: {}", r.sheet, r.row, r.reason);
                    }
                    if report.refused.is_empty() {
                        bail!(
                            "{} holds no {} record; nothing was written",
                            file.display(),
                            report.kind
                        );
                    }
                    bail!(
                        "{} of {} rows refused; nothing was written",
                        report.refused.len(),
                        report.read
                    );
                }
                writeln!(
                    out,
                    "{} {}: {} new, {} updated, {} unchanged, in {store_name}",
                    report.read, report.kind, report.inserted, report.updated, report.unchanged
                )?;
            }
            RegistryCommand::Export {
                kind,
                out: path,
                restricted,
            } => {
                let Some(format) = ExportFormat::parse(&extension(path)) else {
                    bail!("{}: the file must end in .xlsx or .csv", path.display());
                };
                let (store, _) = args.store.open().await?;
                let core = Core::new(store, agrimap_core::CoreConfig::default());
                let audience = if *restricted { Audience::Full } else { Audience::Public };
                let reader = agrimap_core::registry::Reader::everywhere(audience);
                let bytes = core.registry_export((*kind).into(), format, reader).await?;
                std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
                writeln!(out, "{} bytes written to {}", bytes.len(), path.display())?;
            }
            RegistryCommand::Checks => {
                let (store, _) = args.store.open().await?;
                let core = Core::new(store, agrimap_core::CoreConfig::default());
                let report = core.registry_checks().await?;
                writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
            }
        }
        anyhow::Ok(())
    })
}
