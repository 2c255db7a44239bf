//! `agrimap recode --layer L --to 2025`: a thematic layer's features
//! re-stamped with the 2025 communes they lie in, in one transaction, the
//! old code kept in `former_commune_code`; prints what it did.

use crate::store_args::StoreArgs;
use agrimap_core::Core;
use agrimap_model::BoundarySet;
use anyhow::{Context, anyhow};
use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct RecodeArgs {
    /// Thematic layer (crop, aquaculture, monitoring, growing_area, ocop).
    #[arg(long)]
    pub layer: String,
    /// Boundary set to recode to (2025).
    #[arg(long)]
    pub to: String,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn recode(args: &RecodeArgs) -> anyhow::Result<()> {
    let layer = agrimap_model::layer(&args.layer).ok_or_else(|| anyhow!("unknown layer '{}'", args.layer))?;
    let to = BoundarySet::parse(&args.to)
        .ok_or_else(|| anyhow!("--to must be '{}', got '{}'", BoundarySet::Y2025, args.to))?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let (store, _) = args.store.open().await?;
        let core = Core::new(store, agrimap_core::CoreConfig::default());
        anyhow::Ok(core.recode(layer, to).await?)
    })?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "layer {} recoded to the {} communes", report.layer, report.to)?;
    writeln!(out, "  recoded   {:>9}", report.recoded)?;
    writeln!(out, "  unchanged {:>9}  (already {})", report.unchanged, report.to)?;
    writeln!(
        out,
        "  outside   {:>9}  (in no {} commune; left as they were)",
        report.outside, report.to
    )?;
    if report.edited_meanwhile > 0 {
        writeln!(
            out,
            "  edited    {:>9}  (their commune was edited while the layer was read; left as edited)",
            report.edited_meanwhile
        )?;
    }
    if !report.outside_keys.is_empty() {
        writeln!(out, "  first outside: {}", report.outside_keys.join(", "))?;
    }
    Ok(())
}
