//! Alerts pushed to people: the alert history, subscriptions with their
//! webhooks, the live feed behind server-sent events, and the background
//! work that keeps them moving (the silence check, the dispatcher, the
//! deliverer; see [`worker`]).
//!
//! Every change of a station's state is stored by the store in the
//! transaction that makes it. From there, nothing depends on memory: the
//! dispatcher reads events past its stored cursor and queues deliveries,
//! and the deliverer sends what is due, so a restart resumes where the last
//! run stopped.

pub mod subscriptions;
pub mod webhook;
pub mod worker;

use crate::communes::CommuneIndex;
use crate::communes::merges::ProvinceMerges;
use crate::error::CoreError;
use agrimap_model::alerts::{AlertEvent, Delivery};
use agrimap_model::{BoundarySet, UtcTime};
use agrimap_store::{EventQuery, Store};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, broadcast};

/// Settings of alert delivery.
#[derive(Debug, Clone)]
pub struct AlertConfig {
    /// How often stations are checked for silence; never when `None`.
    pub silence_check: Option<Duration>,
    /// First wait after a failed delivery; doubled after each further failure, up to an hour.
    pub retry_base: Duration,
    /// How long a delivery is retried before it goes to the dead-letter list.
    pub retry_for: Duration,
    /// Longest a receiver may take to answer.
    pub send_timeout: Duration,
    /// Whether webhooks may point at loopback, private or link-local addresses.
    pub allow_private_webhooks: bool,
    /// Receivers posted to at once.
    pub senders: usize,
}

impl Default for AlertConfig {
    fn default() -> Self {
        Self {
            // Off unless asked for (`agrimap serve` checks every minute).
            silence_check: None,
            retry_base: Duration::from_secs(10),
            retry_for: Duration::from_hours(24),
            send_timeout: Duration::from_secs(10),
            allow_private_webhooks: false,
            senders: 16,
        }
    }
}

/// Alert history, subscriptions and the live feed over one store.
pub struct Alerts {
    pub config: AlertConfig,
    /// New events for the live feed (SSE), in id order.
    feed: broadcast::Sender<Arc<AlertEvent>>,
    /// Woken when events may have been stored (after an ingestion).
    pub(crate) events_stored: Notify,
    /// Woken when deliveries may have been queued.
    pub(crate) deliveries_queued: Notify,
    /// The client every delivery is posted with.
    pub(crate) agent: ureq::Agent,
}

impl Alerts {
    #[must_use]
    pub fn new(config: AlertConfig) -> Self {
        Self {
            agent: webhook::agent(config.send_timeout),
            config,
            // A listener that falls this far behind is told so and resumes from the store.
            feed: broadcast::channel(1024).0,
            events_stored: Notify::new(),
            deliveries_queued: Notify::new(),
        }
    }

    /// Tells the background work that events were stored, so they go out now.
    pub fn wake(&self) {
        self.events_stored.notify_one();
    }

    /// Tells the deliverer that deliveries are due (after a replay).
    pub fn wake_deliverer(&self) {
        self.deliveries_queued.notify_one();
    }

    /// New events as they are stored (while the background work runs).
    #[must_use]
    pub fn listen(&self) -> broadcast::Receiver<Arc<AlertEvent>> {
        self.feed.subscribe()
    }

    pub(crate) fn publish(&self, event: AlertEvent) {
        // No listener is not an error: nobody has the map open.
        let _ = self.feed.send(Arc::new(event));
    }
}

impl std::fmt::Debug for Alerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerts")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Default for Alerts {
    fn default() -> Self {
        Self::new(AlertConfig::default())
    }
}

/// Which part of the history to read.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    pub province: Option<String>,
    pub commune: Option<String>,
    pub station: Option<String>,
    pub from: Option<UtcTime>,
    pub to: Option<UtcTime>,
    pub limit: usize,
}

/// An event with the deliveries it caused (who was told, and how it went).
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    #[serde(flatten)]
    pub event: AlertEvent,
    /// Left out for callers who may not see subscriptions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notified: Option<Vec<Delivery>>,
}

/// The communes `province` holds in the index (codes of both sets), with
/// the pre-2025 communes of the provinces merged into it, for
/// filtering events by province.
///
/// # Errors
/// `unknown_province` when the index has no such province.
pub fn communes_of_province(
    index: &CommuneIndex,
    merges: &ProvinceMerges,
    province: &str,
) -> Result<Vec<String>, CoreError> {
    index.known_province(province, None)?;
    let old_provinces = merges.merged_into(province);
    Ok(index
        .communes()
        .iter()
        .filter(|c| {
            c.province_code == province
                || (c.boundary_set == BoundarySet::Pre2025.as_str() && old_provinces.contains(&c.province_code))
        })
        .map(|c| c.code.clone())
        .collect())
}

/// The history, newest first, with who was notified when `with_deliveries`.
///
/// # Errors
/// An unknown province, or the store's.
pub async fn history(
    store: &dyn Store,
    index: &CommuneIndex,
    merges: &ProvinceMerges,
    query: &HistoryQuery,
    with_deliveries: bool,
) -> Result<Vec<HistoryEntry>, CoreError> {
    let mut communes = query
        .province
        .as_deref()
        .map(|p| communes_of_province(index, merges, p))
        .transpose()?;
    if let Some(commune) = &query.commune {
        communes = Some(match communes {
            Some(list) => list.into_iter().filter(|c| c == commune).collect(),
            None => vec![commune.clone()],
        });
    }
    let events = store
        .alert_events(&EventQuery {
            station_id: query.station.clone(),
            communes,
            from: query.from,
            to: query.to,
            newest_first: true,
            limit: query.limit.clamp(1, 1000),
            ..EventQuery::default()
        })
        .await?;
    let mut deliveries = if with_deliveries && !events.is_empty() {
        let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
        store.deliveries(Some(&ids), None, 100_000).await?
    } else {
        Vec::new()
    };
    Ok(events
        .into_iter()
        .map(|event| {
            let notified = with_deliveries.then(|| {
                let (mine, rest): (Vec<Delivery>, Vec<Delivery>) = std::mem::take(&mut deliveries)
                    .into_iter()
                    .partition(|d| d.event_id == event.id);
                deliveries = rest;
                mine
            });
            HistoryEntry { event, notified }
        })
        .collect())
}
