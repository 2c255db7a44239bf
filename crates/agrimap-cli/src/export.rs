//! `agrimap export`: the export of `GET /api/export/{layer}.{format}`, from
//! the command line. The request goes through the service's own router in
//! this process, so both give the same file; like an anonymous request, it
//! holds public fields only.

use crate::store_args::StoreArgs;
use agrimap_server::ogc::params::encode;
use agrimap_server::{AppState, ServerConfig};
use anyhow::{Context, bail};
use axum::body::Body;
use axum::http::Request;
use futures::StreamExt;
use std::io::Write;
use std::path::PathBuf;
use tower::ServiceExt;

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
    /// Only features meeting this bounding box: minlon,minlat,maxlon,maxlat.
    #[arg(long, allow_hyphen_values = true)]
    pub bbox: Option<String>,
    /// A CQL2 text filter, as `/ogc` takes it.
    #[arg(long)]
    pub filter: Option<String>,
    /// EPSG code of the output CRS (VN-2000: 3405, 3406, 5896-5899, 9205-9218).
    #[arg(long)]
    pub crs: Option<String>,
    /// Output file; `-` for standard output.
    pub out: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
}

fn request_uri(args: &ExportArgs) -> String {
    let mut uri = format!("/api/export/{}.{}", encode(&args.layer), encode(&args.format));
    let query: Vec<String> = [
        ("commune", &args.commune),
        ("bbox", &args.bbox),
        ("filter", &args.filter),
        ("crs", &args.crs),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v))))
    .collect();
    if !query.is_empty() {
        uri.push('?');
        uri.push_str(&query.join("&"));
    }
    uri
}

pub fn export(args: &ExportArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let (store, _) = args.store.open().await?;
        let config = ServerConfig {
            // A command line export of a whole province may take minutes.
            request_timeout: std::time::Duration::from_hours(24),
            rate_per_address: 0,
            rate_per_token: 0,
            ..ServerConfig::default()
        };
        let app = agrimap_server::app(AppState::new(store, config));
        let request = Request::get(request_uri(args))
            .body(Body::empty())
            .context("building the export request")?;
        let response = app.oneshot(request).await.context("running the export")?;
        let status = response.status();
        let mut body = response.into_body().into_data_stream();
        if !status.is_success() {
            let mut text = Vec::new();
            while let Some(chunk) = body.next().await {
                text.extend_from_slice(&chunk.context("reading the error")?);
            }
            let message = serde_json::from_slice::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&text).into_owned());
            bail!("{message}");
        }
        // Written to a side file first and renamed at the end, so that a
        // failed export never leaves a truncated file under the asked name.
        let to_stdout = args.out.as_os_str() == "-";
        let partial = args.out.with_extension("partial");
        let mut out: Box<dyn Write> = if to_stdout {
            Box::new(std::io::stdout().lock())
        } else {
            Box::new(std::io::BufWriter::new(
                std::fs::File::create(&partial).with_context(|| format!("creating {}", partial.display()))?,
            ))
        };
        let mut bytes = 0usize;
        let mut failed = None;
        while let Some(chunk) = body.next().await {
            let written = chunk.context("the export stopped before its end").and_then(|c| {
                bytes += c.len();
                out.write_all(&c).context("writing the export")
            });
            if let Err(e) = written {
                failed = Some(e);
                break;
            }
        }
        if let Some(e) = failed {
            drop(out);
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        out.flush().context("writing the export")?;
        drop(out);
        if !to_stdout {
            std::fs::rename(&partial, &args.out).with_context(|| format!("writing {}", args.out.display()))?;
            eprintln!("wrote {} ({bytes} bytes)", args.out.display());
        }
        Ok(())
    })
}
