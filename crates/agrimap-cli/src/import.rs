//! `agrimap import`: a GIS file into one layer of the store, in one
//! transaction (see `agrimap_io::import`). The report goes to standard
//! error as a summary and, with `--report`, to a JSON file; a refused
//! record without `--skip-invalid`, or any error, exits non-zero with the
//! store unchanged.

use crate::store_args::StoreArgs;
use agrimap_io::import::{ImportOptions, import, parse_mapping, parse_setting};
use anyhow::{Context, bail};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The file: Shapefile (.shp, or a .zip holding one), GeoPackage, GeoJSON, KML,
    /// CSV (WKT or lon/lat columns), MapInfo TAB, DGN, ... (all but GeoJSON and CSV
    /// need a build with `--features gdal`).
    pub file: PathBuf,
    /// Layer to import into (crop, aquaculture, monitoring, growing_area, ocop, admin_commune, ...).
    #[arg(long)]
    pub layer: String,
    /// CRS of the file when it does not say (or says wrongly), e.g. EPSG:3405, EPSG:9210.
    #[arg(long)]
    pub srs: Option<String>,
    /// source_field=layer_field, for fields whose names differ (repeatable).
    #[arg(long = "map", value_parser = parse_mapping)]
    pub mappings: Vec<(String, String)>,
    /// The file's field holding the commune code (otherwise found from the location).
    #[arg(long)]
    pub commune_field: Option<String>,
    /// Code page of a Shapefile without a .cpg file (CP1258, UTF-8, ...).
    #[arg(long)]
    pub encoding: Option<String>,
    /// The layer of the file to read, when it holds several with features
    /// (a GeoPackage's tables, a KML's folders).
    #[arg(long)]
    pub source_layer: Option<String>,
    /// Import the usable records even when others are refused.
    #[arg(long)]
    pub skip_invalid: bool,
    /// A value for a layer field the file does not have, for every record
    /// (`--set class=commune` for the roads of a DGN drawing).
    #[arg(long = "set", value_parser = parse_setting)]
    pub set: Vec<(String, String)>,
    /// Replace every stored feature of the layer with the file's (in one
    /// transaction); the way into layers without a natural key (water, roads, places).
    #[arg(long)]
    pub replace: bool,
    /// Write the full report (every refused record with its reason) as JSON to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn run(args: &ImportArgs) -> anyhow::Result<()> {
    let Some(layer) = agrimap_model::layer(&args.layer) else {
        let known: Vec<&str> = agrimap_model::catalog().iter().map(|l| l.id).collect();
        bail!("unknown layer '{}'; known layers: {}", args.layer, known.join(", "));
    };
    let opts = ImportOptions {
        srs: args.srs.clone(),
        mappings: args.mappings.clone(),
        commune_field: args.commune_field.clone(),
        skip_invalid: args.skip_invalid,
        encoding: args.encoding.clone(),
        source_layer: args.source_layer.clone(),
        replace: args.replace,
        set: args.set.clone(),
        ..ImportOptions::default()
    };
    import_file(layer, &args.file, &opts, &args.store, args.report.as_deref())
}

/// Imports `file` with `opts`, prints the report (and writes it to
/// `report_path`), and fails when nothing could be written.
pub(crate) fn import_file(
    layer: &'static agrimap_model::LayerDef,
    file: &std::path::Path,
    opts: &ImportOptions,
    store: &StoreArgs,
    report_path: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let (store, _) = store.open().await?;
        import(store.as_ref(), layer, file, opts)
            .await
            .with_context(|| format!("importing {}", file.display()))
    })?;
    if let Some(path) = report_path {
        let json = serde_json::to_vec_pretty(&report).context("writing the report")?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    eprintln!("{}", report.summary());
    let listed = |what: &str, records: &[agrimap_io::import::Rejected]| {
        for r in records.iter().take(20) {
            eprintln!("  {what} feature {}: {}", r.feature, r.reason);
        }
        if records.len() > 20 {
            eprintln!("  ... and {} more (--report FILE lists them all)", records.len() - 20);
        }
    };
    listed("refused", &report.rejected);
    listed("left out", &report.skipped);
    for u in report.unknown_codes.iter().take(20) {
        let lies_in = u
            .lies_in
            .as_ref()
            .map(|c| format!(", lying in commune {c}"))
            .unwrap_or_default();
        eprintln!(
            "  commune code {} names no commune of set {} in the store or the official list: {} records, \
             the first is feature {}{lies_in}",
            u.commune_code, u.boundary_set, u.records, u.first
        );
    }
    for r in report.repaired.iter().take(20) {
        eprintln!("  repaired feature {}: {}", r.feature, r.repair);
    }
    for line in report.derived.iter().chain(&report.kept_units) {
        eprintln!("  {line}");
    }
    for m in report.moved.iter().take(20) {
        eprintln!("  moved {} {}: commune {} -> {}", m.layer, m.feature, m.from, m.to);
    }
    if report.moved.len() > 20 {
        eprintln!(
            "  ... and {} more moved (--report FILE lists them all)",
            report.moved.len() - 20
        );
    }
    if !report.written {
        if report.rejected.is_empty() {
            bail!("nothing to import");
        }
        bail!(
            "{} records cannot be imported; nothing was written (--skip-invalid imports the rest)",
            report.rejected.len()
        );
    }
    Ok(())
}
