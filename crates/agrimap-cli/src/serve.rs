//! `agrimap serve`

use agrimap_server::{AppState, ServerConfig};
use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "AGRIMAP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// PostgreSQL/PostGIS URL (`postgres://user@host/db`); without it the embedded store is used.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database: Option<String>,
    /// Directory holding the embedded store (agrimap.gpkg); created on first start.
    #[arg(long, env = "AGRIMAP_DATA_DIR", default_value = "agrimap-data")]
    pub data_dir: PathBuf,
    /// Demo province to seed a new store from.
    #[arg(long, env = "AGRIMAP_SEED_DIR", default_value = "data/demo")]
    pub seed_dir: PathBuf,
    /// Public origin written into styles and TileJSON (default: the host the client asked).
    #[arg(long, env = "AGRIMAP_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Memory budget of the tile cache, in MiB.
    #[arg(long, env = "AGRIMAP_TILE_CACHE_MB", default_value_t = 64)]
    pub tile_cache_mb: u64,
}

pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let path = args.data_dir.join("agrimap.gpkg");
    let config = ServerConfig {
        public_url: args.public_url,
        tile_cache_bytes: args.tile_cache_mb * 1024 * 1024,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let local = listener.local_addr().context("reading the listening address")?;
        let store: Arc<dyn agrimap_store::Store> = match &args.database {
            Some(url) => {
                let store = crate::postgres::connect_and_migrate(url).await?;
                tracing::info!(store = "postgis", "agrimap serving on http://{local}/");
                Arc::new(store)
            }
            None => {
                let store = crate::seed::open_or_seed(&path, &args.seed_dir)?;
                tracing::info!(store = %path.display(), "agrimap serving on http://{local}/");
                Arc::new(store)
            }
        };
        let state = AppState::new(store, config);
        agrimap_server::run(listener, state, shutdown_signal())
            .await
            .context("serving HTTP")
    })
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
