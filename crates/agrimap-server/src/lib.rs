//! The agrimap HTTP service.
//!
//! One module per route family: [`tiles`] (vector tiles and TileJSON),
//! [`meta`] (health and catalog), [`styles`] (MapLibre styles), [`web`] (the
//! map page and its static files). [`app`] builds the router over an
//! [`AppState`]; [`run`] serves it until a shutdown signal ([`serve`]).

mod alerts;
pub mod assets;
pub mod auth;
mod bulletins;
mod codes;
pub mod communes;
pub mod compare;
pub mod connections;
pub mod crosswalk;
pub mod encoding;
pub mod error;
pub mod extract;
pub mod fonts;
pub mod import;
pub mod limits;
pub mod meta;
pub mod metrics;
pub mod ntm;
pub mod ogc;
pub mod origin;
pub mod pack;
pub mod parse_errors;
pub mod registry;
pub mod reports;
mod respond;
pub mod serve;
pub mod stations;
pub mod stats;
pub mod styles;
pub mod summary;
pub mod tiles;
pub mod tokens;
pub mod web;

pub use serve::run;

use agrimap_core::{Core, CoreConfig};
use agrimap_store::Store;
use auth::Need;
use axum::Router;
use axum::extract::MatchedPath;
use axum::extract::{DefaultBodyLimit, State};
use axum::handler::Handler;
use axum::http::{Method, Request};
use axum::middleware::from_fn_with_state;
use axum::routing::MethodRouter;
use std::sync::Arc;
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
    /// Longest a client may take to send a request head (also how long a
    /// kept-alive connection may stay idle) before the connection is closed.
    pub header_timeout: std::time::Duration,
    /// Connections one address may hold open at once (0: no bound).
    pub max_connections_per_address: usize,
    /// Silence checks and webhook deliveries.
    pub alerts: agrimap_core::alerts::AlertConfig,
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
            // A request head is a few hundred bytes: seconds even over 2G.
            header_timeout: std::time::Duration::from_secs(10),
            // Browsers open six connections to a server; carriers put many phones behind one address.
            max_connections_per_address: 128,
            alerts: agrimap_core::alerts::AlertConfig::default(),
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The domain services over the store.
    pub core: Core,
    pub config: Arc<ServerConfig>,
    /// Request quotas by address and by token.
    pub quotas: Arc<limits::Quotas>,
    /// Exports running now, bounded per address and in all.
    pub exports: Arc<ogc::export_slots::ExportSlots>,
    /// Turns of the reads with a client's filter, so that they never hold
    /// every connection of the store's pool.
    pub filter_turns: Arc<ogc::filter_turns::FilterTurns>,
    /// What `/metrics` serves.
    pub metrics: Arc<metrics::Metrics>,
    /// Turns true when the server stops, so endless responses (the live
    /// alert feed) end and connections can close.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    stop: Arc<tokio::sync::watch::Sender<bool>>,
}

impl AppState {
    #[must_use]
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> Self {
        // A store without a pool (none today) is taken as the smallest one's 8.
        let pool_size = store.pool_status().map_or(8, |p| p.max_size);
        let core = Core::new(
            store,
            CoreConfig {
                tile_cache_bytes: config.tile_cache_bytes,
                thresholds: config.thresholds.clone(),
                alerts: config.alerts.clone(),
                ..CoreConfig::default()
            },
        );
        let (stop, stopping) = tokio::sync::watch::channel(false);
        Self {
            metrics: Arc::new(metrics::Metrics::new(&core)),
            core,
            quotas: Arc::new(limits::Quotas::new(config.rate_per_address, config.rate_per_token)),
            exports: Arc::default(),
            filter_turns: Arc::new(ogc::filter_turns::FilterTurns::for_pool(pool_size)),
            config: Arc::new(config),
            stopping,
            stop: Arc::new(stop),
        }
    }

    /// Ends the endless responses (the live alert feed).
    pub fn stop_streams(&self) {
        self.stop.send_replace(true);
    }
}

/// One endpoint: a method on a path pattern, what it needs of its caller,
/// the largest body it takes, and its handler.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub need: Need,
    /// Bytes of request body taken at most ([`limits::MAX_BODY_BYTES`] unless set).
    pub body_limit: usize,
    handler: MethodRouter<AppState>,
}

impl Route {
    /// The method is the handler's own: the constructors below take it once.
    fn new(method: Method, path: &'static str, need: Need, handler: MethodRouter<AppState>) -> Self {
        Self {
            method,
            path,
            need,
            body_limit: limits::MAX_BODY_BYTES,
            handler,
        }
    }

    /// `GET path`.
    pub(crate) fn get<H: Handler<T, AppState>, T: 'static>(path: &'static str, need: Need, handler: H) -> Self {
        Self::new(Method::GET, path, need, axum::routing::get(handler))
    }

    /// `POST path`.
    pub(crate) fn post<H: Handler<T, AppState>, T: 'static>(path: &'static str, need: Need, handler: H) -> Self {
        Self::new(Method::POST, path, need, axum::routing::post(handler))
    }

    /// `DELETE path`.
    pub(crate) fn delete<H: Handler<T, AppState>, T: 'static>(path: &'static str, need: Need, handler: H) -> Self {
        Self::new(Method::DELETE, path, need, axum::routing::delete(handler))
    }

    /// The same endpoint taking bodies of up to `bytes`.
    #[must_use]
    pub(crate) fn with_body_limit(self, bytes: usize) -> Self {
        Self {
            body_limit: bytes,
            ..self
        }
    }
}

/// Every endpoint of the service, gathered from each route family's
/// `endpoints()`. The router is built from this list alone, so the access
/// each endpoint declares is the access enforced.
#[must_use]
pub fn routes() -> Vec<Route> {
    [
        meta::endpoints(),
        metrics::endpoints(),
        alerts::endpoints(),
        tiles::endpoints(),
        styles::endpoints(),
        fonts::endpoints(),
        web::endpoints(),
        pack::endpoints(),
        stats::endpoints(),
        communes::endpoints(),
        codes::endpoints(),
        crosswalk::endpoints(),
        registry::endpoints(),
        ntm::endpoints(),
        bulletins::endpoints(),
        summary::endpoints(),
        compare::endpoints(),
        reports::endpoints(),
        stations::endpoints(),
        import::endpoints(),
        tokens::endpoints(),
        ogc::endpoints(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// What no route matches: 404, counted under the route `unmatched`.
async fn unmatched(State(state): State<AppState>, method: Method, uri: axum::http::Uri) -> error::ApiError {
    let started = std::time::Instant::now();
    let error = error::not_found(&uri);
    metrics::unmatched(&state, &method, error.status.as_u16(), started);
    error
}

/// The router of the whole service.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new();
    for route in routes() {
        let guard = from_fn_with_state((state.clone(), route.need), auth::authorize);
        // The size check runs first: a body too large is refused from its
        // Content-Length, before the caller is looked up or a byte is read.
        let size = from_fn_with_state(route.body_limit, limits::body_limit);
        // Outermost: a request refused for its size or its caller counts too.
        let track = from_fn_with_state((state.clone(), route.path), metrics::track);
        let handler = route
            .handler
            .layer(DefaultBodyLimit::max(route.body_limit))
            .route_layer(guard)
            .route_layer(size)
            .route_layer(track);
        router = router.route(route.path, handler);
    }
    let deadline = from_fn_with_state(state.config.request_timeout, limits::deadline);
    let cors = limits::cors(&state.config.cors_origins);
    router
        .fallback(unmatched)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(error::catch_panics())
        .layer(deadline)
        .layer(axum::middleware::from_fn(limits::require_utf8))
        .layer(DefaultBodyLimit::max(limits::MAX_BODY_BYTES))
        .layer(option_layer(cors))
        .layer(CompressionLayer::new())
        // Outside the compression, so that it and the tile handler read one settled header.
        .layer(axum::middleware::from_fn(encoding::settle_accept_encoding))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            // The matched route, not the raw path, so spans group by endpoint.
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str);
            tracing::info_span!("http", method = %req.method(), route)
        }))
}
