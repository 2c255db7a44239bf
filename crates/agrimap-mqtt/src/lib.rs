//! Station readings from an MQTT broker (optional: `agrimap serve --mqtt-url`):
//! an entry point of its own beside the HTTP service, over the same core.
//!
//! The listener subscribes with QoS 1 to `agrimap/stations/+/readings` and
//! ingests each message as one batch through the core's ingestion, the path
//! the HTTP endpoint takes too ([`message`] explains the payload and the
//! answer published back).
//!
//! Durability comes from the broker, not from agrimap: the session is
//! persistent (clean session off, a fixed client id) and acknowledgements
//! are manual, so a message is acknowledged only once its batch is committed
//! to the store, or refused for good. A message that arrives while agrimap is
//! down, or while a batch is being written when it dies, is kept by the
//! broker and delivered again at the next connection; the store skips
//! readings it has (same station, parameter and time), so a delivery twice is
//! harmless. When the store fails, the batch is tried again with backoff and
//! never acknowledged meanwhile.
//!
//! Messages are spread over a few workers by station, so one station's
//! batches are ingested one after another in the order they came (its alert
//! state is judged from everything before) while other stations' go on in
//! parallel. The work held is what the broker has sent and agrimap not yet
//! acknowledged. The workers' queues have no bound of their own: the
//! connection must never wait on a worker, since the worker may be waiting on
//! the connection to send its acknowledgement (a bounded queue stalled the
//! connection that way under a backlog). Mosquitto's `max_inflight_messages`
//! (20) is meant to bound it, but Mosquitto 2.0.11 sends a resumed session's
//! backlog past it (450 unacknowledged in `benches/mqtt_ingest.sh`), so after
//! an outage the queues may hold the backlog. MQTT 5's receive maximum would
//! bound it at the broker. A broker that goes away is reconnected to
//! with backoff, forever; the HTTP service does not depend on it.

pub mod broker;
pub mod message;

use agrimap_core::Core;
use broker::BrokerUrl;
use message::{Outcome, READINGS_TOPICS, result_topic, station_of};
use rumqttc::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, Packet, Publish, QoS};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What the listener needs to know.
#[derive(Debug, Clone)]
pub struct MqttConfig {
    pub broker: BrokerUrl,
    /// The session's name at the broker: the same id finds the same
    /// subscription and the messages kept for it. Two instances need two ids.
    pub client_id: String,
}

impl MqttConfig {
    /// # Errors
    /// A client id that is empty or starts with a space (the MQTT client
    /// refuses those).
    pub fn new(broker: BrokerUrl, client_id: String) -> Result<Self, String> {
        if client_id.is_empty() || client_id.starts_with(' ') {
            return Err(format!(
                "the MQTT client id must not be empty or start with a space: '{client_id}'"
            ));
        }
        Ok(Self { broker, client_id })
    }
}

/// Batches ingested at once, each by a worker of its own.
const WORKERS: usize = 4;
/// Requests (acknowledgements and answers) waiting for the connection.
const REQUESTS: usize = 1024;
/// The largest message read: a batch the HTTP endpoint takes (its body limit,
/// 2 MiB), its token and topic, with room to spare. A larger one would break
/// the connection each time it is delivered, so the broker should refuse it
/// first (`message_size_limit` in Mosquitto).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
const FIRST_RETRY: Duration = Duration::from_millis(250);
const LAST_RETRY: Duration = Duration::from_secs(30);

/// Runs the listener until `shutdown` resolves: connects, subscribes,
/// ingests, reconnects. It never returns an error: a broker that cannot be
/// reached is logged and tried again.
pub async fn listen(core: Core, config: MqttConfig, shutdown: impl Future<Output = ()> + Send) {
    let mut options = MqttOptions::new(config.client_id.clone(), config.broker.host.clone(), config.broker.port);
    options
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_keep_alive(Duration::from_secs(30))
        .set_max_packet_size(MAX_MESSAGE_BYTES, 64 * 1024)
        .set_request_channel_capacity(REQUESTS);
    if let Some((user, password)) = &config.broker.login {
        options.set_credentials(user.clone(), password.clone());
    }
    let (client, mut events) = AsyncClient::new(options, REQUESTS);
    let stop = CancellationToken::new();
    let mut queues = Vec::with_capacity(WORKERS);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..WORKERS {
        let (tx, rx) = mpsc::unbounded_channel();
        queues.push(tx);
        workers.spawn(work(core.clone(), client.clone(), rx, stop.clone()));
    }
    tracing::info!(broker = %config.broker, client_id = %config.client_id, topics = READINGS_TOPICS, "MQTT listener starting");
    tokio::pin!(shutdown);
    let mut retry = FIRST_RETRY;
    loop {
        let event = tokio::select! {
            () = &mut shutdown => break,
            event = events.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                retry = FIRST_RETRY;
                tracing::info!(broker = %config.broker, session_present = ack.session_present, "MQTT connected");
                // Also on a resumed session: subscribing again is harmless,
                // and a session the broker lost is made whole again.
                if let Err(e) = client.try_subscribe(READINGS_TOPICS, QoS::AtLeastOnce) {
                    tracing::error!(cause = %e, "MQTT subscribe could not be queued");
                }
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                if ack
                    .return_codes
                    .iter()
                    .any(|c| matches!(c, rumqttc::SubscribeReasonCode::Failure))
                {
                    tracing::error!(topics = READINGS_TOPICS, "the MQTT broker refused the subscription");
                }
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                // Never waits: the connection must go on being polled, or the
                // workers' acknowledgements and answers would wait on it while
                // it waits on them.
                if queues[worker_of(&publish.topic)].send(publish).is_err() {
                    break;
                }
                core.metrics.mqtt_backlog.inc();
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(broker = %config.broker, cause = %describe(&e), retry_in_ms = retry.as_millis(), "MQTT broker unreachable; reconnecting");
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(retry) => {}
                }
                retry = (retry * 2).min(LAST_RETRY);
            }
        }
    }
    tracing::info!("MQTT listener stopping: finishing the batches at hand");
    stop.cancel();
    drop(queues);
    let finished = async { while workers.join_next().await.is_some() {} };
    // The workers' last acknowledgements go out while the connection is polled.
    let flushed = async {
        let _ = client.try_disconnect();
        drain(&mut events).await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        finished.await;
        flushed.await;
    })
    .await;
}

/// Polls the connection until it closes, so queued requests are sent.
async fn drain(events: &mut EventLoop) {
    loop {
        match events.poll().await {
            Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// The same station always goes to the same worker, so its batches are
/// ingested in order.
fn worker_of(topic: &str) -> usize {
    let mut hasher = DefaultHasher::new();
    topic.hash(&mut hasher);
    usize::try_from(hasher.finish() % WORKERS as u64).unwrap_or(0)
}

fn describe(e: &ConnectionError) -> String {
    match e {
        ConnectionError::ConnectionRefused(code) => format!("connection refused: {code:?}"),
        other => other.to_string(),
    }
}

/// One worker: ingests the messages of its stations one after another,
/// publishes each answer and acknowledges the message once it is settled.
async fn work(core: Core, client: AsyncClient, mut inbox: mpsc::UnboundedReceiver<Publish>, stop: CancellationToken) {
    loop {
        let publish = tokio::select! {
            biased;
            () = stop.cancelled() => return,
            next = inbox.recv() => match next {
                Some(publish) => {
                    core.metrics.mqtt_backlog.dec();
                    publish
                }
                None => return,
            },
        };
        let Some(station) = station_of(&publish.topic) else {
            // Not ours to judge (the subscription names only readings topics).
            let _ = client.ack(&publish).await;
            continue;
        };
        let mut retry = FIRST_RETRY;
        let answer = loop {
            match message::handle(&core, station, &publish.payload).await {
                Outcome::Answered(answer) => break answer,
                Outcome::StoreFailed(e) => {
                    tracing::warn!(
                        station,
                        code = e.code,
                        retry_in_ms = retry.as_millis(),
                        "MQTT batch not stored: the store failed; trying again"
                    );
                    tokio::select! {
                        // Unacknowledged: the broker delivers it again next time.
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(retry) => {}
                    }
                    retry = (retry * 2).min(LAST_RETRY);
                }
            }
        };
        if let Some(code) = answer.pointer("/error/code").and_then(|c| c.as_str()) {
            tracing::info!(station, code, "MQTT batch refused");
        } else {
            tracing::debug!(station, stored = %answer["stored"], "MQTT batch ingested");
        }
        let body = serde_json::to_vec(&answer).unwrap_or_default();
        if let Err(e) = client
            .publish(result_topic(station), QoS::AtLeastOnce, false, body)
            .await
        {
            tracing::warn!(station, cause = %e, "MQTT answer not published");
        }
        if let Err(e) = client.ack(&publish).await {
            tracing::warn!(station, cause = %e, "MQTT acknowledgement not sent");
        }
    }
}
