//! What the core counts for operators: tile cache hits and bytes, renders in
//! flight, readings taken and refused, the MQTT backlog, statistics tables
//! computed. The counters are the Prometheus project's own types, shared by
//! every clone of the core; the server registers them and serves `/metrics`.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The core's counters (cheap to clone: each is a shared atomic).
#[derive(Debug, Clone, Default)]
pub struct CoreMetrics {
    /// Tiles answered from the cache.
    pub tile_cache_hits: Counter,
    /// Tiles that had to be rendered.
    pub tile_cache_misses: Counter,
    /// Bytes of the tiles rendered (as stored in the cache, compressed).
    pub tile_bytes_rendered: Counter,
    /// Tiles being rendered now.
    pub renders_in_flight: Gauge,
    /// Coalesced tile layers drawn again in the background after a write forgot them.
    pub tile_layers_redrawn: Counter,
    /// Coalesced tile layers drawn from their kept edges and the writes
    /// since, rather than from every feature they reach.
    pub tile_layers_taken_up: Counter,
    /// Readings stored, from every entry point (HTTP, CSV, MQTT).
    pub readings_ingested: Counter,
    /// Readings refused: bad values, unknown stations, bad credentials.
    pub readings_refused: Counter,
    /// MQTT messages received and not yet ingested.
    pub mqtt_backlog: Gauge,
    /// Statistics tables computed (each a read of a layer and an aggregation).
    pub stats_recomputations: Counter,
}

impl CoreMetrics {
    /// Registers every counter under `agrimap_`.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry;
        r.register(
            "agrimap_tile_cache_hits",
            "Tiles answered from the tile cache",
            self.tile_cache_hits.clone(),
        );
        r.register(
            "agrimap_tile_cache_misses",
            "Tiles rendered because the cache did not hold them",
            self.tile_cache_misses.clone(),
        );
        r.register(
            "agrimap_tile_rendered_bytes",
            "Bytes of the tiles rendered, compressed as cached",
            self.tile_bytes_rendered.clone(),
        );
        r.register(
            "agrimap_tile_layers_redrawn",
            "Coalesced tile layers drawn again in the background after a write forgot them",
            self.tile_layers_redrawn.clone(),
        );
        r.register(
            "agrimap_tile_layers_taken_up",
            "Coalesced tile layers drawn from their kept edges and the writes since, not from every feature",
            self.tile_layers_taken_up.clone(),
        );
        r.register(
            "agrimap_tile_renders_in_flight",
            "Tiles being rendered now",
            self.renders_in_flight.clone(),
        );
        r.register(
            "agrimap_readings_ingested",
            "Station readings stored (HTTP, CSV and MQTT)",
            self.readings_ingested.clone(),
        );
        r.register(
            "agrimap_readings_refused",
            "Station readings refused (bad values, unknown stations, bad credentials)",
            self.readings_refused.clone(),
        );
        r.register(
            "agrimap_mqtt_backlog",
            "MQTT messages received and not yet ingested",
            self.mqtt_backlog.clone(),
        );
        r.register(
            "agrimap_stats_recomputations",
            "Statistics tables computed from the layers",
            self.stats_recomputations.clone(),
        );
    }
}

/// Keeps a gauge one higher while it lives: a render in flight, a message queued.
#[derive(Debug)]
pub struct InFlight(Gauge);

impl InFlight {
    #[must_use]
    pub fn new(gauge: &Gauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}
