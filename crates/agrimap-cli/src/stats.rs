//! `agrimap stats`: the table `/api/stats` answers, on the command line.

use crate::store_args::StoreArgs;
use agrimap_core::communes::CommuneCache;
use agrimap_core::stats::{StatsCache, StatsRequest, StatsTable, to_csv};
use anyhow::Context;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// Thematic layer (crop, aquaculture, growing_area, ocop, monitoring).
    #[arg(long)]
    pub layer: String,
    /// Group by commune, district or province.
    #[arg(long, default_value = "commune")]
    pub by: String,
    /// Field to split each unit by (e.g. crop_type).
    #[arg(long)]
    pub class: Option<String>,
    /// area, count or sum:<field>.
    #[arg(long, default_value = "count")]
    pub metric: String,
    /// The communes to count by: pre-2025 or 2025 (default: the newest set the store holds).
    #[arg(long)]
    pub boundary_set: Option<String>,
    /// Only the communes of this province (its official code).
    #[arg(long)]
    pub province: Option<String>,
    /// Output: table, csv or json.
    #[arg(long, default_value = "table", value_parser = ["table", "csv", "json"])]
    pub format: String,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn stats(args: &StatsArgs) -> anyhow::Result<()> {
    let request = StatsRequest::parse(&args.layer, Some(&args.by), args.class.as_deref(), Some(&args.metric))?
        .within(args.boundary_set.as_deref(), args.province.as_deref())?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let table = runtime.block_on(async {
        let (store, _) = args.store.open().await?;
        let cache = StatsCache::new(Arc::new(CommuneCache::default()), StatsCache::DEFAULT_BYTES);
        anyhow::Ok(cache.table(store.as_ref(), request).await?)
    })?;
    let text = match args.format.as_str() {
        "csv" => to_csv(&table),
        "json" => serde_json::to_string_pretty(table.as_ref())? + "\n",
        _ => aligned(&table),
    };
    // Written, not println!-ed: a closed pipe (`| head`) is an error, not a panic.
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

/// A table for the terminal.
fn aligned(table: &StatsTable) -> String {
    let mut out = String::new();
    let class = table.class.unwrap_or("");
    let header = format!("{} ({})", table.metric, table.unit);
    let _ = writeln!(
        out,
        "{:<10} {:<24} {:<16} {:>16} {:>9}",
        table.by, "name", class, header, "features"
    );
    for r in &table.rows {
        let _ = writeln!(
            out,
            "{:<10} {:<24} {:<16} {:>16.2} {:>9}",
            r.code,
            r.name,
            r.class.as_deref().unwrap_or(""),
            r.value,
            r.features
        );
    }
    let _ = writeln!(out, "{:<10} {:<24} {:<16} {:>16.2}", "total", "", "", table.total);
    out
}
