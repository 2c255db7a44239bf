//! `agrimap serve`

use crate::store_args::{ReplicaArgs, StoreArgs};
use agrimap_mqtt::MqttConfig;
use agrimap_mqtt::broker::BrokerUrl;
use agrimap_server::{AppState, ServerConfig};
use anyhow::Context;
use std::net::SocketAddr;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "AGRIMAP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub replicas: ReplicaArgs,
    /// Public origin written into styles and TileJSON (default: the host the client asked).
    #[arg(long, env = "AGRIMAP_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Memory budget of the tile cache, in MiB.
    #[arg(long, env = "AGRIMAP_TILE_CACHE_MB", default_value_t = 64)]
    pub tile_cache_mb: u64,
    /// JSON list of station alert thresholds added to (or replacing) the defaults, or
    /// `{"rules": [...], "crop_calendar": [...]}` when rules hold at a crop stage.
    #[arg(long, env = "AGRIMAP_THRESHOLDS")]
    pub thresholds: Option<std::path::PathBuf>,
    /// Longest a request may take to produce its response, in milliseconds.
    #[arg(long, env = "AGRIMAP_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,
    /// Requests a second from one address without an API token (0: no limit).
    #[arg(long, env = "AGRIMAP_RATE_PER_ADDRESS", default_value_t = 200)]
    pub rate_per_address: u32,
    /// Requests a second with one API token (0: no limit).
    #[arg(long, env = "AGRIMAP_RATE_PER_TOKEN", default_value_t = 400)]
    pub rate_per_token: u32,
    /// Longest a client may take to send a request's head, in milliseconds; also how long
    /// a kept-alive connection may stay idle. A connection over it is closed.
    #[arg(long, env = "AGRIMAP_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_timeout_ms: u64,
    /// Connections one client address may hold open at once (0: no limit); more are refused.
    #[arg(long, env = "AGRIMAP_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 128)]
    pub max_connections_per_address: usize,
    /// Origins browsers may call the API from, comma-separated (`*` for any).
    #[arg(long, env = "AGRIMAP_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// How often stations are checked for silence, in seconds (0: never).
    #[arg(long, env = "AGRIMAP_SILENCE_CHECK_SECONDS", default_value_t = 60)]
    pub silence_check_seconds: u64,
    /// First wait after a failed webhook delivery, in milliseconds; doubled after each failure.
    #[arg(long, env = "AGRIMAP_WEBHOOK_RETRY_BASE_MS", default_value_t = 10_000)]
    pub webhook_retry_base_ms: u64,
    /// How long a failed webhook delivery is retried before it goes to the dead letters, in seconds.
    #[arg(long, env = "AGRIMAP_WEBHOOK_RETRY_FOR_SECONDS", default_value_t = 86_400)]
    pub webhook_retry_for_seconds: u64,
    /// Let webhooks point at loopback, private and link-local addresses (a gateway on the same network).
    #[arg(long, env = "AGRIMAP_ALLOW_PRIVATE_WEBHOOKS")]
    pub allow_private_webhooks: bool,
    /// Also take station readings from this MQTT broker,
    /// `mqtt://[user[:password]@]host[:port]`: each message on
    /// `agrimap/stations/{id}/readings` (QoS 1), `{"token": "<the station's token>",
    /// "readings": [...]}`, is ingested like a POST of the readings, and the answer
    /// is published to `agrimap/stations/{id}/readings/result`.
    #[arg(long, env = "AGRIMAP_MQTT_URL")]
    pub mqtt_url: Option<String>,
    /// agrimap's session at the MQTT broker: messages that arrive while agrimap is
    /// down are kept for this id. Each instance needs an id of its own.
    #[arg(long, env = "AGRIMAP_MQTT_CLIENT_ID", default_value = "agrimap")]
    pub mqtt_client_id: String,
    /// At start, draw and keep in the background the tile layers the store keeps
    /// (the dense layers up to z13) over every province it holds, where it keeps
    /// none yet; `false`: only as they are asked for.
    #[arg(long, env = "AGRIMAP_KEEP_TILES_AHEAD", default_value_t = true, action = clap::ArgAction::Set)]
    pub keep_tiles_ahead: bool,
}

pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let thresholds = match &args.thresholds {
        Some(path) => {
            let json = std::fs::read_to_string(path)
                .with_context(|| format!("reading the thresholds file {}", path.display()))?;
            agrimap_model::readings::thresholds_with(&json)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("in {}", path.display()))?
        }
        None => agrimap_model::readings::default_thresholds(),
    };
    let mqtt = args
        .mqtt_url
        .as_deref()
        .map(|url| {
            let broker = BrokerUrl::parse(url).map_err(|e| anyhow::anyhow!("--mqtt-url: {e}"))?;
            MqttConfig::new(broker, args.mqtt_client_id.clone()).map_err(|e| anyhow::anyhow!("--mqtt-client-id: {e}"))
        })
        .transpose()?;
    let config = ServerConfig {
        public_url: args.public_url,
        tile_cache_bytes: args.tile_cache_mb * 1024 * 1024,
        thresholds,
        request_timeout: std::time::Duration::from_millis(args.request_timeout_ms.max(1)),
        rate_per_address: args.rate_per_address,
        rate_per_token: args.rate_per_token,
        cors_origins: args.cors_origins,
        header_timeout: std::time::Duration::from_millis(args.header_timeout_ms.max(1)),
        max_connections_per_address: args.max_connections_per_address,
        alerts: agrimap_core::alerts::AlertConfig {
            silence_check: (args.silence_check_seconds > 0)
                .then(|| std::time::Duration::from_secs(args.silence_check_seconds)),
            retry_base: std::time::Duration::from_millis(args.webhook_retry_base_ms.max(1)),
            retry_for: std::time::Duration::from_secs(args.webhook_retry_for_seconds),
            allow_private_webhooks: args.allow_private_webhooks,
            ..agrimap_core::alerts::AlertConfig::default()
        },
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let served: anyhow::Result<()> = runtime.block_on(async move {
        // Before anything answers: a SIGTERM that comes once /health says
        // ok must stop the service cleanly, not kill it.
        let stop_signal = shutdown_signal();
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let local = listener.local_addr().context("reading the listening address")?;
        let (store, which) = args.store.open_with_replicas(&args.replicas).await?;
        tracing::info!(store = %which, "agrimap serving on http://{local}/");
        let state = AppState::new(store, config);
        agrimap_core::alerts::worker::spawn(&state.core);
        agrimap_core::tiles::spawn_redrawing(state.core.tiles.clone());
        if args.keep_tiles_ahead {
            agrimap_core::tiles::spawn_keeping_ahead(state.core.tiles.clone());
        }
        let (signalled, grace_starts) = tokio::sync::oneshot::channel::<()>();
        let (stop_mqtt, mqtt_stops) = tokio::sync::oneshot::channel::<()>();
        let mqtt = mqtt.map(|mqtt| {
            tokio::spawn(agrimap_mqtt::listen(state.core.clone(), mqtt, async move {
                let _ = mqtt_stops.await;
            }))
        });
        let shutdown = async move {
            stop_signal.await;
            let _ = stop_mqtt.send(());
            let _ = signalled.send(());
        };
        let grace_over = async move {
            if grace_starts.await.is_ok() {
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        let served = tokio::select! {
            served = agrimap_server::run(listener, state, shutdown) => served.context("serving HTTP"),
            () = grace_over => {
                tracing::warn!(grace_s = SHUTDOWN_GRACE.as_secs(), "requests still in flight after the grace period; stopping anyway");
                Ok(())
            }
        };
        // The listener finishes the batches it holds (it stops itself within
        // seconds); what it has not acknowledged, the broker delivers again.
        if let Some(mqtt) = mqtt {
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, mqtt).await;
        }
        served
    });
    // Blocking work still running (a tile being encoded) is not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    served
}

/// How long in-flight requests may take to finish after SIGTERM: an
/// orchestrator's usual kill deadline is 10 s, and stopping by ourselves
/// beats being killed.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(8);

/// Resolves on SIGINT or SIGTERM. The SIGTERM handler is installed when
/// this is called, not when the future is first polled, so a signal in
/// between is not lost to the default action (which kills the process).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
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
}
