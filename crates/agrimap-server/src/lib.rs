//! The agrimap HTTP service.
//!
//! One module per route family: [`tiles`] (vector tiles and TileJSON),
//! [`meta`] (health and catalog), [`styles`] (MapLibre styles), [`web`] (the
//! map page and its static files). [`app`] builds the router over an
//! [`AppState`]; [`run`] serves it until a shutdown signal.

pub mod assets;
pub mod auth;
pub mod communes;
pub mod error;
pub mod fonts;
pub mod import;
pub mod limits;
pub mod meta;
pub mod mqtt;
pub mod ogc;
pub mod origin;
pub mod pack;
pub mod readings_csv;
pub mod stations;
pub mod stats;
pub mod styles;
pub mod summary;
pub mod tile_cache;
pub mod tiles;
pub mod tokens;
pub mod web;

use agrimap_store::Store;
use agrimap_tiles::TileOptions;
use auth::{Need, Role};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::MatchedPath;
use axum::http::{Method, Request};
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodRouter, delete, get, post};
use std::future::Future;
use std::sync::Arc;
use tile_cache::TileCache;
use tokio::net::TcpListener;
use tower::util::option_layer;
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
    /// Longest a request may take to produce its response.
    pub request_timeout: std::time::Duration,
    /// Requests a second from one address without a valid API token (0: no limit).
    pub rate_per_address: u32,
    /// Requests a second with one API token (0: no limit).
    pub rate_per_token: u32,
    /// Origins that browsers may call the API from (`*` for any); none by default.
    pub cors_origins: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            tile_cache_bytes: 64 * 1024 * 1024,
            thresholds: agrimap_model::readings::default_thresholds(),
            request_timeout: std::time::Duration::from_secs(30),
            // Generous: mobile carriers put many phones behind one address.
            rate_per_address: 200,
            rate_per_token: 400,
            cors_origins: Vec::new(),
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
    /// Layer extents for `/ogc` collections, kept until a layer changes.
    pub ogc_extents: Arc<ogc::Extents>,
    /// Request quotas by address and by token.
    pub quotas: Arc<limits::Quotas>,
    /// Exports running now, bounded per address and in all.
    pub exports: Arc<ogc::export_slots::ExportSlots>,
}

impl AppState {
    #[must_use]
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> Self {
        let communes = Arc::new(communes::CommuneCache::default());
        Self {
            stats: Arc::new(stats::StatsCache::new(communes.clone())),
            thresholds: Arc::new(config.thresholds.clone()),
            communes,
            ogc_extents: Arc::default(),
            quotas: Arc::new(limits::Quotas::new(config.rate_per_address, config.rate_per_token)),
            exports: Arc::default(),
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

/// One endpoint: a method on a path pattern, what it needs of its caller,
/// and its handler.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub need: Need,
    handler: MethodRouter<AppState>,
}

impl Route {
    pub(crate) fn new(method: Method, path: &'static str, need: Need, handler: MethodRouter<AppState>) -> Self {
        Self {
            method,
            path,
            need,
            handler,
        }
    }
}

/// Every endpoint of the service. The router is built from this list alone,
/// so the access each endpoint declares here is the access enforced.
pub fn routes() -> Vec<Route> {
    use Method as M;
    use Need::{Anyone, AtLeast, StationOrEditor};
    let mut routes = vec![
        Route::new(M::GET, "/health", Anyone, get(meta::health)),
        Route::new(M::GET, "/catalog", Anyone, get(meta::catalog)),
        Route::new(M::GET, "/tiles/{layers}/{z}/{x}/{y}", Anyone, get(tiles::tile)),
        Route::new(M::GET, "/tiles/{file}", Anyone, get(tiles::tilejson)),
        Route::new(M::GET, "/styles/{file}", Anyone, get(styles::style)),
        Route::new(M::GET, "/fonts/{fontstack}/{range}", Anyone, get(fonts::glyphs)),
        Route::new(M::GET, "/", Anyone, get(web::index)),
        Route::new(M::GET, "/sw.js", Anyone, get(web::service_worker)),
        Route::new(M::GET, "/static/{file}", Anyone, get(web::static_file)),
        // Offline packs hold the public tiles only.
        Route::new(M::GET, "/api/packs/{file}", Anyone, get(pack::pack)),
        Route::new(M::GET, "/api/stats", Anyone, get(stats::stats)),
        Route::new(M::GET, "/api/communes/{code}/summary", Anyone, get(summary::summary)),
        Route::new(
            M::GET,
            "/api/stations/{id}/readings",
            Anyone,
            get(stations::get_readings),
        ),
        Route::new(
            M::POST,
            "/api/stations/{id}/readings",
            StationOrEditor,
            post(stations::post_readings),
        ),
        Route::new(
            M::POST,
            "/api/readings",
            AtLeast(Role::Editor),
            post(readings_csv::post).layer(DefaultBodyLimit::max(readings_csv::MAX_BYTES)),
        ),
        Route::new(
            M::POST,
            "/api/import/{layer}",
            AtLeast(Role::Editor),
            post(import::post).layer(DefaultBodyLimit::max(import::MAX_BYTES)),
        ),
        Route::new(M::GET, "/api/alerts", Anyone, get(stations::alerts)),
        Route::new(M::GET, "/api/me", Anyone, get(tokens::me)),
        Route::new(M::GET, "/api/tokens", AtLeast(Role::Admin), get(tokens::list)),
        Route::new(M::POST, "/api/tokens", AtLeast(Role::Admin), post(tokens::create)),
        Route::new(
            M::DELETE,
            "/api/tokens/{id}",
            AtLeast(Role::Admin),
            delete(tokens::revoke),
        ),
    ];
    routes.extend(communes::endpoints());
    routes.extend(ogc::endpoints());
    routes
}

/// The router of the whole service.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new();
    for route in routes() {
        let guard = from_fn_with_state((state.clone(), route.need), auth::authorize);
        router = router.route(route.path, route.handler.route_layer(guard));
    }
    let deadline = from_fn_with_state(state.config.request_timeout, limits::deadline);
    let cors = limits::cors(&state.config.cors_origins);
    router
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(error::catch_panics())
        .layer(deadline)
        .layer(axum::middleware::from_fn(limits::require_utf8))
        .layer(DefaultBodyLimit::max(limits::MAX_BODY_BYTES))
        .layer(option_layer(cors))
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
    // With each connection's address, for the per-address quotas.
    let service = app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown).await
}
