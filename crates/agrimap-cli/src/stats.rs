//! `agrimap stats`: the table `/api/stats` answers, on the command line.

use crate::store_args::StoreArgs;
use agrimap_core::communes::CommuneCache;
use agrimap_core::features::Params;
use agrimap_core::stats::{Selection, StatsCache, StatsRequest, StatsTable, to_csv};
use agrimap_model::Audience;
use anyhow::{Context, anyhow};
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
    /// Field to split each unit by (e.g. crop_type), or two separated by a comma (crop_type,practice).
    #[arg(long)]
    pub class: Option<String>,
    /// area, count or sum:<field>; several separated by commas (area,count).
    #[arg(long, default_value = "count")]
    pub metric: String,
    /// Only the features this CQL2 text filter selects (public fields, as for anonymous requests).
    #[arg(long)]
    pub filter: Option<String>,
    /// Only the features of this time: an RFC 3339 date, instant or interval (start/end).
    #[arg(long)]
    pub datetime: Option<String>,
    /// Divide each value by the unit's commune_area, farmland or population.
    #[arg(long)]
    pub per: Option<String>,
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
        .within(args.boundary_set.as_deref(), args.province.as_deref())?
        .per(args.per.as_deref())?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let table = runtime.block_on(async {
        let layer = request.layer;
        let request = request.selecting(selection(args, layer).await?);
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

/// The features `--filter` and `--datetime` select, read as `/api/stats`
/// reads them for an anonymous caller.
async fn selection(args: &StatsArgs, layer: &'static agrimap_model::LayerDef) -> anyhow::Result<Option<Selection>> {
    let pairs = [("filter", &args.filter), ("datetime", &args.datetime)]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_owned(), v.clone())))
        .collect();
    let params = Params::new(pairs).map_err(|e| anyhow!(e.message))?;
    Selection::read(layer, &params, Audience::Public)
        .await
        .map_err(|e| anyhow!(e.message))
}

/// A table for the terminal: the unit, its name, each class field, each metric, the features.
fn aligned(table: &StatsTable) -> String {
    let mut out = String::new();
    let _ = write!(out, "{:<10} {:<24}", table.by, "name");
    for class in &table.classes {
        let _ = write!(out, " {class:<16}");
    }
    for m in &table.metrics {
        let _ = write!(out, " {:>16}", format!("{} ({})", m.name, m.unit));
    }
    let _ = writeln!(out, " {:>9}", "features");
    for r in &table.rows {
        let _ = write!(out, "{:<10} {:<24}", r.code, r.name);
        for class in &r.classes {
            let _ = write!(out, " {class:<16}");
        }
        for v in &r.values {
            let _ = write!(out, " {v:>16.2}");
        }
        let _ = writeln!(out, " {:>9}", r.features);
    }
    let _ = write!(out, "{:<10} {:<24}", "total", "");
    for _ in &table.classes {
        let _ = write!(out, " {:<16}", "");
    }
    for t in &table.totals {
        let _ = write!(out, " {t:>16.2}");
    }
    out.push('\n');
    out
}
