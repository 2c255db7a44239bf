//! `GET /metrics`: the service's counters in the OpenMetrics text format
//! Prometheus scrapes: requests by route, method and status with their
//! latency, the core's counters ([`agrimap_core::metrics`]: tile cache,
//! renders, readings, MQTT backlog, statistics recomputations) and the
//! database pool's use and, with read replicas, where reads of layers went
//! and how far behind each replica is, read from the store at each scrape.
//!
//! Latency is measured to the response head: a long export or the live
//! alert feed counts the time to its first byte, not its length.

use crate::AppState;
use crate::Route;
use crate::auth::Need;
use agrimap_store::Store;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![Route::get("/metrics", Need::Anyone, scrape)]
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The route's pattern (`/tiles/{layers}/{z}/{x}/{y}`), never the raw
    /// path: one series per endpoint, whatever clients ask.
    route: &'static str,
    method: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
    method: String,
}

/// Latency buckets from 1 ms to about 33 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// The registry behind `/metrics` and the server's own families.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
}

impl Metrics {
    /// The server's metrics, the core's, and the store's pool.
    #[must_use]
    pub fn new(core: &agrimap_core::Core) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register(
            "agrimap_http_requests",
            "HTTP requests answered, by route, method and status",
            requests.clone(),
        );
        registry.register(
            "agrimap_http_request_duration_seconds",
            "Time from a request to its response head, by route and method",
            latency.clone(),
        );
        core.metrics.register(&mut registry);
        registry.register_collector(Box::new(PoolCollector(core.store.clone())));
        registry.register_collector(Box::new(ReplicaCollector(core.store.clone())));
        Self {
            registry,
            requests,
            latency,
        }
    }

    fn record(&self, route: &'static str, method: &Method, status: u16, started: Instant) {
        let method = method.as_str().to_owned();
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method: method.clone(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route, method })
            .observe(started.elapsed().as_secs_f64());
    }
}

/// Counts one request of the route `route` (the pattern the router matched).
pub(crate) async fn track(
    State((state, route)): State<(AppState, &'static str)>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let response = next.run(request).await;
    state
        .metrics
        .record(route, &method, response.status().as_u16(), started);
    response
}

/// Counts a request no route matched, under the route `unmatched`.
pub(crate) fn unmatched(state: &AppState, method: &Method, status: u16, started: Instant) {
    state.metrics.record("unmatched", method, status, started);
}

/// `GET /metrics`
async fn scrape(State(state): State<AppState>) -> Response {
    let mut body = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut body, &state.metrics.registry) {
        tracing::error!(cause = %e, "encoding the metrics");
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// The database pool's state, asked of the store at each scrape.
struct PoolCollector(Arc<dyn Store>);

impl std::fmt::Debug for PoolCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PoolCollector({})", self.0.kind())
    }
}

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(pool) = self.0.pool_status() else {
            return Ok(());
        };
        for (name, help, value) in [
            (
                "agrimap_db_pool_max_connections",
                "Connections the database pool may open",
                pool.max_size,
            ),
            (
                "agrimap_db_pool_connections",
                "Connections the database pool holds open",
                pool.size,
            ),
            (
                "agrimap_db_pool_idle_connections",
                "Open connections no request is using",
                pool.available,
            ),
            (
                "agrimap_db_pool_waiting",
                "Requests waiting for a database connection now",
                pool.waiting,
            ),
        ] {
            let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
            let metric = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
            gauge.encode(metric)?;
        }
        Ok(())
    }
}

/// Where reads of layers went and the read replicas' health, asked of the
/// store at each scrape; nothing for a store without replicas.
struct ReplicaCollector(Arc<dyn Store>);

impl std::fmt::Debug for ReplicaCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReplicaCollector({})", self.0.kind())
    }
}

impl Collector for ReplicaCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use prometheus_client::metrics::counter::ConstCounter;
        let Some(status) = self.0.replica_status() else {
            return Ok(());
        };
        let reads = ConstCounter::new(0_u64);
        let mut family = encoder.encode_descriptor(
            "agrimap_db_layer_reads",
            "Reads of layers, by the database that answered them (primary or replica)",
            None,
            reads.metric_type(),
        )?;
        for (target, n) in [("primary", status.reads_primary), ("replica", status.reads_replica)] {
            ConstCounter::new(n).encode(family.encode_family(&[("target", target)])?)?;
        }
        let healthy = status.replicas.iter().filter(|r| r.healthy).count();
        let gauge = ConstGauge::new(i64::try_from(healthy).unwrap_or(i64::MAX));
        let metric = encoder.encode_descriptor(
            "agrimap_db_replicas_healthy",
            "Read replicas reachable, in recovery and within the lag bound",
            None,
            gauge.metric_type(),
        )?;
        gauge.encode(metric)?;
        let lag = ConstGauge::new(0.0_f64);
        let mut family = encoder.encode_descriptor(
            "agrimap_db_replica_lag_seconds",
            "How far behind the primary each read replica is at most, at its last check",
            None,
            lag.metric_type(),
        )?;
        for replica in &status.replicas {
            if let Some(lag) = replica.lag {
                let labels = [("replica", replica.name.as_str())];
                ConstGauge::new(lag.as_secs_f64()).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}
