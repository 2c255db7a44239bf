//! `agrimap export`: the export of `GET /api/export/{layer}.{format}`, from
//! the command line. Both are the core's export ([`agrimap_core::export`]):
//! the same parameters checked the same way, the same file written from the
//! store; like an anonymous request, it holds public fields only. No request
//! deadline applies: a province's parcels may take minutes.

use crate::store_args::StoreArgs;
use agrimap_core::export::{plan, write};
use agrimap_core::features::Params;
use agrimap_core::{Core, CoreConfig};
use agrimap_model::Audience;
use anyhow::{Context, anyhow};
use std::path::PathBuf;
use tokio::io::AsyncWriteExt;

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Layer id (crop, aquaculture, monitoring, growing_area, ocop, admin_commune, ...).
    #[arg(long)]
    pub layer: String,
    /// geojson, csv, gpkg, shp.zip, kml or fgb (the last four need GDAL's ogr2ogr).
    #[arg(long, default_value = "geojson")]
    pub format: String,
    /// Only features of this commune (its official code).
    #[arg(long)]
    pub commune: Option<String>,
    /// The boundary set of `--commune` (pre-2025 or 2025; by default the newest that has the code).
    #[arg(long)]
    pub boundary_set: Option<String>,
    /// Only features of this province (its official code), in any boundary
    /// set, with those of the pre-2025 provinces the official list merges into it.
    #[arg(long)]
    pub province: Option<String>,
    /// Only features meeting this bounding box: minlon,minlat,maxlon,maxlat.
    #[arg(long, allow_hyphen_values = true)]
    pub bbox: Option<String>,
    /// A CQL2 text filter, as `/ogc` takes it.
    #[arg(long)]
    pub filter: Option<String>,
    /// The layer as it stood then: a date (its end, UTC) or an RFC 3339
    /// time; not in the future. Only layers that keep their history take it.
    #[arg(long)]
    pub as_of: Option<String>,
    /// EPSG code of the output CRS (VN-2000: 3405, 3406, 5896-5899, 9205-9218).
    #[arg(long)]
    pub crs: Option<String>,
    /// Output file; `-` for standard output.
    pub out: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// The file name and query parameters the export would have over HTTP.
fn request(args: &ExportArgs) -> (String, Vec<(String, String)>) {
    let file = format!("{}.{}", args.layer, args.format);
    let pairs = [
        ("commune", &args.commune),
        ("boundary_set", &args.boundary_set),
        ("province", &args.province),
        ("bbox", &args.bbox),
        ("filter", &args.filter),
        ("crs", &args.crs),
        ("as_of", &args.as_of),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_owned(), v.clone())))
    .collect();
    (file, pairs)
}

pub fn export(args: &ExportArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let (store, _) = args.store.open().await?;
        let core = Core::new(store, CoreConfig::default());
        let (file, pairs) = request(args);
        let params = Params::new(pairs).map_err(|e| anyhow!(e.message))?;
        // Like an anonymous request: public fields only.
        let plan = plan(&core, &file, &params, Audience::Public)
            .await
            .map_err(|e| anyhow!(e.message))?;
        if args.out.as_os_str() == "-" {
            let mut out = Stdout(std::io::stdout().lock());
            return write(&core, plan, &mut out).await.map_err(|e| anyhow!(e.message));
        }
        // Written to a side file first and renamed at the end, so that a
        // failed export never leaves a truncated file under the asked name.
        let partial = args.out.with_extension("partial");
        let mut out = tokio::io::BufWriter::new(
            tokio::fs::File::create(&partial)
                .await
                .with_context(|| format!("creating {}", partial.display()))?,
        );
        let written = write(&core, plan, &mut out).await;
        let flushed = match written {
            Ok(()) => out.flush().await.context("writing the export"),
            Err(e) => Err(anyhow!("the export stopped before its end: {}", e.message)),
        };
        drop(out);
        if let Err(e) = flushed {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        let bytes = std::fs::metadata(&partial).map_or(0, |m| m.len());
        std::fs::rename(&partial, &args.out).with_context(|| format!("writing {}", args.out.display()))?;
        eprintln!("wrote {} ({bytes} bytes)", args.out.display());
        Ok(())
    })
}

/// Standard output for the async writers. Writing blocks the thread, which
/// is all this command's runtime does meanwhile.
struct Stdout(std::io::StdoutLock<'static>);

impl tokio::io::AsyncWrite for Stdout {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(std::io::Write::write(&mut self.0, buf))
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(std::io::Write::flush(&mut self.0))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.poll_flush(cx)
    }
}
