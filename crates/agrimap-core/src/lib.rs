//! agrimap's domain services, the same whatever the entry point (the HTTP
//! service, the command line, the MQTT listener): nothing here knows HTTP.
//!
//! - [`features`]: which features of a layer a request selects (the `/ogc`
//!   items parameters: bbox, datetime, commune, CQL2 filter, properties, CRS).
//! - [`export`]: a selection of a layer as one file (GeoJSON, CSV, or GDAL's formats).
//! - [`communes`]: the communes of a store in memory, found by name or code.
//! - [`codes`]: the value lists (crop types, seasons, …) as documents.
//! - [`crosswalk`]: the official 2025 commune crosswalk, checked against the boundaries; values apportioned.
//! - [`stats`]: statistics tables by commune, district or province, cached.
//! - [`summary`]: everything the layers say about one commune.
//! - [`tiles`]: vector tiles, cached; [`tilejson`]: their TileJSON.
//! - [`styles`]: the bundled MapLibre styles, the planner's coloured by a statistic.
//! - [`pack`]: a commune's offline pack (PMTiles).
//! - [`registry`]: producers, products and growing areas; spreadsheets in and out, QR codes, product pages.
//! - [`ingest`]: station readings in, from a batch or a CSV file.
//! - [`stations`]: readings summed up by step, and the stations on watch or alarm.
//! - [`series`]: a station's readings between two times, as JSON or CSV.
//! - [`tokens`]: API and station tokens (secrets, hashes, issuing).
//! - [`upload`]: a GIS file uploaded for import, with its format and options.
//! - [`error`]: what goes wrong, said so that any entry point can answer it.
//!
//! [`Core`] holds them over one store.

pub mod actor;
pub mod alerts;
pub mod bulletin;
pub mod codes;
pub mod communes;
pub mod compare;
pub mod crosswalk;
pub mod csv_cell;
mod csv_lines;
pub mod error;
pub mod export;
pub mod features;
pub mod ingest;
pub mod metrics;
pub mod new_station;
pub mod ntm;
pub mod pack;
pub mod registry;
pub mod reports;
pub mod series;
pub mod stations;
pub mod stats;
pub mod styles;
pub mod summary;
pub mod tilejson;
pub mod tiles;
pub mod tokens;
pub mod upload;
pub mod workbook;

pub use error::{CoreError, ErrorKind, echo};

use agrimap_model::readings::{Threshold, default_thresholds};
use agrimap_store::Store;
use communes::CommuneCache;
use stats::StatsCache;
use std::sync::Arc;
use tiles::TileService;

/// Settings of the core services.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// Byte budget of the in-memory tile cache.
    pub tile_cache_bytes: u64,
    /// Byte budget of the cached statistics tables.
    pub stats_cache_bytes: u64,
    /// Levels at which stations go on watch or alarm.
    pub thresholds: Vec<Threshold>,
    /// Silence checks and webhook deliveries.
    pub alerts: alerts::AlertConfig,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            tile_cache_bytes: 64 * 1024 * 1024,
            stats_cache_bytes: StatsCache::DEFAULT_BYTES,
            thresholds: default_thresholds(),
            alerts: alerts::AlertConfig::default(),
        }
    }
}

/// The core services over one store; cheap to clone (all shared).
#[derive(Clone)]
pub struct Core {
    pub store: Arc<dyn Store>,
    /// Communes in memory, for search, statistics and summaries.
    pub communes: Arc<CommuneCache>,
    pub stats: Arc<StatsCache>,
    pub tiles: Arc<TileService>,
    /// Levels at which stations go on watch or alarm.
    pub thresholds: Arc<Vec<Threshold>>,
    /// Layer extents, kept until a layer changes.
    pub extents: Arc<features::Extents>,
    /// How many features the last queries matched, kept until their layer changes.
    pub match_counts: Arc<features::counts::MatchCounts>,
    /// The overlay of the two boundary sets, for the crosswalk.
    pub crosswalk: Arc<crosswalk::OverlayCache>,
    /// Product views and scans in memory.
    pub registry: Arc<registry::state::RegistryState>,
    /// NTM dashboards, kept until what they read changes.
    pub ntm_dashboards: Arc<ntm::dashboard::DashboardCache>,
    /// The live alert feed and the settings of alert delivery.
    pub alerts: Arc<alerts::Alerts>,
    /// What operators watch (`/metrics`).
    pub metrics: metrics::CoreMetrics,
}

impl Core {
    #[must_use]
    pub fn new(store: Arc<dyn Store>, config: CoreConfig) -> Self {
        let communes = Arc::new(CommuneCache::default());
        let metrics = metrics::CoreMetrics::default();
        Self {
            stats: Arc::new(
                StatsCache::new(communes.clone(), config.stats_cache_bytes)
                    .counting(metrics.stats_recomputations.clone()),
            ),
            tiles: Arc::new(TileService::new(
                store.clone(),
                config.tile_cache_bytes,
                metrics.clone(),
            )),
            metrics,
            thresholds: Arc::new(config.thresholds),
            extents: Arc::default(),
            match_counts: Arc::default(),
            crosswalk: Arc::default(),
            registry: Arc::default(),
            ntm_dashboards: Arc::default(),
            alerts: Arc::new(alerts::Alerts::new(config.alerts)),
            communes,
            store,
        }
    }

    /// The communes of the store, in memory, rebuilt when they changed.
    ///
    /// # Errors
    /// The store's.
    pub async fn commune_index(&self) -> Result<Arc<communes::CommuneIndex>, CoreError> {
        self.communes.index(self.store.as_ref()).await
    }

    /// Which pre-2025 provinces the reform merged into which, as the
    /// store's list and old communes say.
    ///
    /// # Errors
    /// The store's.
    pub async fn province_merges(&self) -> Result<Arc<communes::merges::ProvinceMerges>, CoreError> {
        self.communes.merges(self.store.as_ref()).await
    }
}
