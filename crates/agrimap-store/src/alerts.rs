//! The alert history, the subscriptions to it and the queue of webhook
//! deliveries: what both stores keep so that no change of a station's state
//! is lost between its reading's commit and the people told about it.
//!
//! Events are written in the transaction that changes a station's state
//! (ingestion, or the silence check). A dispatcher then turns each event
//! into one delivery per matching subscription, moving a cursor over the
//! events in the same transaction, so that a crash between the two neither
//! loses nor doubles a delivery. Deliveries are claimed with a lease, so an
//! attempt cut short by a crash is tried again once the lease runs out.

use crate::StoreError;
use agrimap_model::UtcTime;
use agrimap_model::alerts::{AlertEvent, Delivery, NewSubscription, Subscription};

/// Which events to read, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Only events after this id (the dispatcher's cursor, SSE's `Last-Event-ID`).
    pub after_id: Option<i64>,
    pub station_id: Option<String>,
    /// Only events of stations in these communes (a province's, for example).
    pub communes: Option<Vec<String>>,
    /// Inclusive bounds on when the change was stored.
    pub from: Option<UtcTime>,
    pub to: Option<UtcTime>,
    /// Newest first instead of oldest first (the history page reads backwards).
    pub newest_first: bool,
    pub limit: usize,
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Delivered { at: UtcTime },
    /// Failed; try again then.
    Retry { error: String, next_attempt_at: UtcTime },
    /// Failed for the last time: into the dead-letter list.
    Dead { error: String },
    /// Not tried (an earlier delivery to the receiver is waiting): let go,
    /// due then, its attempts unchanged.
    Postponed { until: UtcTime },
}

/// The alert history, subscriptions and deliveries.
#[async_trait::async_trait]
pub trait AlertStore: Send + Sync + 'static {
    /// Marks every station past its expected reporting interval at `now`
    /// as silent, storing one event each, in one transaction.
    async fn silence(&self, now: UtcTime) -> Result<Vec<AlertEvent>, StoreError>;

    /// Stored changes of station states.
    async fn alert_events(&self, query: &EventQuery) -> Result<Vec<AlertEvent>, StoreError>;

    /// Stores a subscription.
    async fn add_subscription(&self, new: &NewSubscription) -> Result<Subscription, StoreError>;

    /// The subscriptions in force, oldest first.
    async fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError>;

    /// Ends a subscription (it stays in the store, for the history that
    /// names it); false when there was none in force with that id.
    async fn end_subscription(&self, id: i64, at: UtcTime) -> Result<bool, StoreError>;

    /// The id of the last event the dispatcher has turned into deliveries.
    async fn dispatch_cursor(&self) -> Result<i64, StoreError>;

    /// Queues deliveries (event id, subscription id), due at `now`, and
    /// moves the cursor to `through_event`, in one transaction; a pair
    /// already queued is not queued twice.
    async fn enqueue_deliveries(
        &self,
        through_event: i64,
        pairs: &[(i64, i64)],
        now: UtcTime,
    ) -> Result<(), StoreError>;

    /// Takes up to `limit` pending deliveries due at `now` whose lease has
    /// run out, leasing them until `lease_until`.
    async fn claim_deliveries(
        &self,
        now: UtcTime,
        lease_until: UtcTime,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// Records how an attempt ended.
    async fn finish_delivery(&self, id: i64, outcome: DeliveryOutcome) -> Result<(), StoreError>;

    /// Deliveries of these events (every event when `None`) in this status
    /// (any when `None`), oldest first.
    async fn deliveries(
        &self,
        event_ids: Option<&[i64]>,
        status: Option<agrimap_model::alerts::DeliveryStatus>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// Puts dead deliveries (these, or all when `None`) back in the queue,
    /// due at `now`, with a fresh day of attempts; how many.
    async fn replay_dead(&self, ids: Option<&[i64]>, now: UtcTime) -> Result<u64, StoreError>;

    /// Writes events kept elsewhere, with their ids and times, and their
    /// deliveries (with ids, states and times; their subscriptions' ids
    /// this store's), in one transaction, and moves the dispatch cursor
    /// past the events: they are history here, not news to send again,
    /// while the deliveries still pending are sent from here. `Ok(false)`
    /// when the store keeps these very events already (a copy run again) or
    /// `events` is empty.
    ///
    /// # Errors
    /// [`StoreError::HistoryHeld`] when the store keeps other events.
    async fn restore_alert_history(&self, events: &[AlertEvent], deliveries: &[Delivery]) -> Result<bool, StoreError>;
}

/// Whether a store holding the events `held` may take `given`: `Ok(true)`
/// to write them, `Ok(false)` when there is nothing to write.
pub(crate) fn may_restore_events(held: &[AlertEvent], given: &[AlertEvent]) -> Result<bool, StoreError> {
    if given.is_empty() || held == given {
        return Ok(false);
    }
    if held.is_empty() {
        return Ok(true);
    }
    Err(StoreError::HistoryHeld {
        history: "an alert history",
        rows: held.len(),
    })
}

/// The largest of `ids`, 0 when none.
pub(crate) fn last_id(ids: impl Iterator<Item = i64>) -> i64 {
    ids.max().unwrap_or(0)
}

/// A cause as both stores keep it: JSON, so that what a reading carries can grow.
pub(crate) fn cause_text(cause: &agrimap_model::readings::AlertCause) -> String {
    serde_json::to_string(cause).unwrap_or_default()
}

/// A scope as both stores keep it.
pub(crate) fn scope_text(scope: &agrimap_model::alerts::SubscriptionScope) -> String {
    serde_json::to_string(scope).unwrap_or_default()
}

fn state(text: &str) -> Result<agrimap_model::readings::AlertState, String> {
    agrimap_model::readings::AlertState::parse(text).ok_or_else(|| format!("a stored alert state '{text}' is unknown"))
}

fn time(text: &str) -> Result<UtcTime, String> {
    UtcTime::parse(text).map_err(|e| format!("a stored alert time: {e}"))
}

/// An event from its stored columns.
#[allow(clippy::too_many_arguments)]
pub(crate) fn event_from_parts(
    id: i64,
    station_id: String,
    station_kind: String,
    commune_code: String,
    from: &str,
    to: &str,
    cause: Option<&str>,
    at: &str,
) -> Result<AlertEvent, String> {
    Ok(AlertEvent {
        id,
        station_id,
        station_kind,
        commune_code,
        from: state(from)?,
        to: state(to)?,
        cause: cause
            .map(|c| serde_json::from_str(c).map_err(|e| format!("a stored alert cause: {e}")))
            .transpose()?,
        at: time(at)?,
    })
}

/// A delivery from its stored columns; `times` are created, retry from,
/// next attempt and delivered.
pub(crate) fn delivery_from_parts(
    id: i64,
    event_id: i64,
    subscription_id: i64,
    status: &str,
    attempts: i64,
    last_error: Option<String>,
    times: [Option<&str>; 4],
) -> Result<Delivery, String> {
    let required = |t: Option<&str>| time(t.unwrap_or_default());
    Ok(Delivery {
        id,
        event_id,
        subscription_id,
        status: agrimap_model::alerts::DeliveryStatus::parse(status)
            .ok_or_else(|| format!("a stored delivery status '{status}' is unknown"))?,
        attempts,
        last_error,
        created_at: required(times[0])?,
        retry_from: required(times[1])?,
        next_attempt_at: required(times[2])?,
        delivered_at: times[3].map(time).transpose()?,
    })
}

/// A subscription from its stored columns.
#[allow(clippy::too_many_arguments)]
pub(crate) fn subscription_from_parts(
    id: i64,
    name: String,
    scope: &str,
    url: String,
    secret: String,
    owner_provinces: &str,
    created_by: String,
    created_at: &str,
) -> Result<Subscription, String> {
    Ok(Subscription {
        id,
        name,
        scope: serde_json::from_str(scope).map_err(|e| format!("a stored subscription scope: {e}"))?,
        url,
        owner_provinces: crate::provinces_of(owner_provinces),
        created_by,
        created_at: time(created_at)?,
        secret,
    })
}

/// The event of a station falling silent.
pub(crate) fn silence_event(
    clock: agrimap_model::alerts::StationClock,
    commune_code: String,
    now: UtcTime,
) -> agrimap_model::alerts::NewAlertEvent {
    agrimap_model::alerts::NewAlertEvent {
        station_id: clock.station_id,
        station_kind: clock.kind,
        commune_code,
        from: clock.alert_state.unwrap_or(agrimap_model::readings::AlertState::Ok),
        to: agrimap_model::readings::AlertState::Silent,
        cause: None,
        at: now,
    }
}

/// The state a batch leaves a station in, and the event when it changed.
pub(crate) fn after_batch(
    before: Option<&agrimap_model::alerts::StationClock>,
    commune_code: String,
    newest: UtcTime,
    judged: crate::Judgement,
    now: UtcTime,
) -> (crate::Judgement, Option<agrimap_model::alerts::NewAlertEvent>) {
    use agrimap_model::readings::AlertState;
    let previous = before.and_then(|b| b.alert_state);
    let judgement =
        agrimap_model::alerts::state_after_readings(previous, before.and_then(|b| b.last_reading_at), newest, judged);
    let from = previous.unwrap_or(AlertState::Ok);
    let event = (judgement.0 != from).then(|| agrimap_model::alerts::NewAlertEvent {
        station_id: before.map(|b| b.station_id.clone()).unwrap_or_default(),
        station_kind: before.map(|b| b.kind.clone()).unwrap_or_default(),
        commune_code,
        from,
        to: judgement.0,
        cause: judgement.1.clone(),
        at: now,
    });
    (judgement, event)
}
