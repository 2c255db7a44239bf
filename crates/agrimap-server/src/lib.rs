//! The agrimap HTTP service.
//!
//! One module per route family: [`tiles`] (vector tiles and TileJSON),
//! [`meta`] (health and catalog), [`styles`] (MapLibre styles), [`web`] (the
//! map page and its static files). [`app`] builds the router over an
//! [`AppState`]; [`run`] serves it until a shutdown signal.

pub mod assets;
pub mod communes;
pub mod error;
pub mod fonts;
pub mod meta;
pub mod ogc;
pub mod origin;
pub mod pack;
pub mod stations;
pub mod stats;
pub mod styles;
pub mod summary;
pub mod tile_cache;
pub mod tiles;
pub mod web;

use agrimap_store::Store;
use agrimap_tiles::TileOptions;
use axum::Router;
use axum::extract::MatchedPath;
use axum::http::Request;
use axum::routing::get;
use std::future::Future;
use std::sync::Arc;
use tile_cache::TileCache;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

/// Settings of the service that are not the store.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Origin to write into styles and TileJSON (`https://map.example.gov.vn`);
    /// by default the host the client asked for.
    pub public_url: Option<String>,
    /// Byte budget of the in-memory tile cache.
    pub tile_cache_bytes: u64,
    /// Levels at which stations go on watch or alarm.
    pub thresholds: Vec<agrimap_model::readings::Threshold>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            tile_cache_bytes: 64 * 1024 * 1024,
            thresholds: agrimap_model::readings::default_thresholds(),
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub tile_cache: Arc<TileCache>,
    pub tile_options: TileOptions,
    pub config: Arc<ServerConfig>,
    /// Communes in memory, for search, statistics and summaries.
    pub communes: Arc<communes::CommuneCache>,
    pub stats: Arc<stats::StatsCache>,
    /// Levels at which stations go on watch or alarm.
    pub thresholds: Arc<Vec<agrimap_model::readings::Threshold>>,
}

impl AppState {
    #[must_use]
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> Self {
        let communes = Arc::new(communes::CommuneCache::default());
        Self {
            stats: Arc::new(stats::StatsCache::new(communes.clone())),
            thresholds: Arc::new(config.thresholds.clone()),
            communes,
            store,
            tile_cache: Arc::new(TileCache::new(config.tile_cache_bytes)),
            tile_options: TileOptions {
                // A quarter of a pixel of a 512 px display tile: anything smaller
                // cannot be seen, and dropping it keeps low-zoom tiles light.
                min_polygon_area: 16.0,
                ..TileOptions::default()
            },
            config: Arc::new(config),
        }
    }
}

/// The router of the whole service.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/health", get(meta::health))
        .route("/catalog", get(meta::catalog))
        .route("/tiles/{layers}/{z}/{x}/{y}", get(tiles::tile))
        .route("/tiles/{file}", get(tiles::tilejson))
        .route("/styles/{file}", get(styles::style))
        .route("/fonts/{fontstack}/{range}", get(fonts::glyphs))
        .route("/", get(web::index))
        .route("/static/{file}", get(web::static_file))
        .merge(communes::router(&state))
        .merge(ogc::router(&state))
        .route("/api/stats", get(stats::stats))
        .route("/api/communes/{code}/summary", get(summary::summary))
        .route(
            "/api/stations/{id}/readings",
            get(stations::get_readings).post(stations::post_readings),
        )
        .route("/api/alerts", get(stations::alerts))
        .route("/api/packs/{file}", get(pack::pack))
        .route("/sw.js", get(web::service_worker))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            // The matched route, not the raw path, so spans group by endpoint.
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str);
            tracing::info_span!("http", method = %req.method(), route)
        }))
}

/// Serves the app on `listener` until `shutdown` completes, then lets
/// in-flight requests finish.
///
/// # Errors
/// When the listener fails.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await
}
