//! The background work of alerts, one task each:
//!
//! - the **watcher** marks silent stations every [`AlertConfig::silence_check`],
//!   feeds new events to live listeners, and dispatches them: each event
//!   past the stored cursor becomes one queued delivery per matching
//!   subscription, and the cursor moves in the same transaction;
//! - the **deliverer** claims due deliveries and posts them, one receiver's
//!   deliveries in order and at most one request to a receiver at a time,
//!   so a slow receiver holds up only itself and never ingestion.
//!
//! Both wake on a notification (right after an ingestion stored events)
//! and otherwise every second, which also picks up events stored by other
//! instances sharing the database.
//!
//! [`AlertConfig::silence_check`]: super::AlertConfig::silence_check

use super::webhook;
use crate::Core;
use crate::communes::CommuneIndex;
use crate::communes::merges::ProvinceMerges;
use crate::error::CoreError;
use agrimap_model::UtcTime;
use agrimap_model::alerts::{AlertEvent, Delivery, Subscription};
use agrimap_store::{DeliveryOutcome, EventQuery};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a claimed delivery is kept from other deliverers.
const LEASE: Duration = Duration::from_mins(2);
/// Events read per round.
const BATCH: usize = 500;
/// The longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_hours(1);

/// Starts the watcher and the deliverer on the current runtime; they run
/// until the runtime ends.
pub fn spawn(core: &Core) {
    tokio::spawn(watch(core.clone()));
    tokio::spawn(deliver(core.clone()));
}

async fn watch(core: Core) {
    let alerts = core.alerts.clone();
    // Live listeners hear events stored from now on.
    let mut fed = match latest_event_id(&core).await {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(cause = %e, "reading the alert history failed; the live feed starts from its beginning");
            0
        }
    };
    let mut next_silence_check = alerts.config.silence_check.map(|_| Instant::now());
    loop {
        if let (Some(period), Some(due)) = (alerts.config.silence_check, next_silence_check)
            && Instant::now() >= due
        {
            match core.store.silence(UtcTime::now()).await {
                Ok(events) if !events.is_empty() => tracing::info!(stations = events.len(), "stations fell silent"),
                Ok(_) => {}
                Err(e) => tracing::warn!(cause = %e, "the silence check failed"),
            }
            next_silence_check = Some(Instant::now() + period);
        }
        match feed(&core, fed).await {
            Ok(id) => fed = id,
            Err(e) => tracing::warn!(cause = %e, "feeding alert events failed"),
        }
        if let Err(e) = dispatch(&core).await {
            tracing::warn!(cause = %e, "dispatching alert events failed");
        }
        let wait = next_silence_check
            .map_or(Duration::from_secs(1), |due| {
                due.saturating_duration_since(Instant::now())
            })
            .min(Duration::from_secs(1));
        let _ = tokio::time::timeout(wait.max(Duration::from_millis(10)), alerts.events_stored.notified()).await;
    }
}

async fn latest_event_id(core: &Core) -> Result<i64, CoreError> {
    let newest = core
        .store
        .alert_events(&EventQuery {
            newest_first: true,
            limit: 1,
            ..EventQuery::default()
        })
        .await?;
    Ok(newest.first().map_or(0, |e| e.id))
}

/// Sends events after `after` to live listeners; the last id sent.
async fn feed(core: &Core, mut after: i64) -> Result<i64, CoreError> {
    loop {
        let events = core
            .store
            .alert_events(&EventQuery {
                after_id: Some(after),
                limit: BATCH,
                ..EventQuery::default()
            })
            .await?;
        let Some(last) = events.last().map(|e| e.id) else {
            return Ok(after);
        };
        let more = events.len() == BATCH;
        for event in events {
            core.alerts.publish(event);
        }
        after = last;
        if !more {
            return Ok(after);
        }
    }
}

/// Queues a delivery for each matching (event, subscription) past the cursor.
async fn dispatch(core: &Core) -> Result<(), CoreError> {
    loop {
        let cursor = core.store.dispatch_cursor().await?;
        let events = core
            .store
            .alert_events(&EventQuery {
                after_id: Some(cursor),
                limit: BATCH,
                ..EventQuery::default()
            })
            .await?;
        let Some(last) = events.last().map(|e| e.id) else {
            return Ok(());
        };
        let subscriptions = core.store.subscriptions().await?;
        let index = core.commune_index().await?;
        let merges = core.province_merges().await?;
        let mut pairs = Vec::new();
        for event in &events {
            let provinces = provinces_of(&index, &merges, &event.commune_code);
            pairs.extend(
                subscriptions
                    .iter()
                    .filter(|s| hears(s, event, &provinces))
                    .map(|s| (event.id, s.id)),
            );
        }
        core.store.enqueue_deliveries(last, &pairs, UtcTime::now()).await?;
        if !pairs.is_empty() {
            core.alerts.deliveries_queued.notify_one();
        }
        if events.len() < BATCH {
            return Ok(());
        }
    }
}

/// The provinces an event of commune `code` is in: its commune's, and the
/// 2025 province the reform sent that province into (a station still coded
/// by an old commune of Sóc Trăng is heard in Cần Thơ).
fn provinces_of<'a>(index: &'a CommuneIndex, merges: &'a ProvinceMerges, code: &str) -> Vec<&'a str> {
    let own = index.get(code, None).map(|c| c.province_code.as_str());
    let after = own.map(|p| merges.after(p)).filter(|p| Some(*p) != own);
    own.into_iter().chain(after).collect()
}

/// Whether a subscription hears an event: its scope asks for it, and the
/// event is within the provinces of the token that made it.
fn hears(s: &Subscription, event: &AlertEvent, provinces: &[&str]) -> bool {
    s.scope.matches(event, provinces)
        && (s.owner_provinces.is_empty() || provinces.iter().any(|p| s.owner_provinces.iter().any(|o| o == p)))
}

async fn deliver(core: Core) {
    let alerts = core.alerts.clone();
    // Receivers with a request in flight: never two at once to one receiver.
    let busy: Arc<Mutex<HashSet<i64>>> = Arc::default();
    let senders = Arc::new(tokio::sync::Semaphore::new(alerts.config.senders.max(1)));
    loop {
        match claim(&core, &busy).await {
            Ok(groups) => {
                for (subscription, deliveries) in groups {
                    let Ok(permit) = senders.clone().acquire_owned().await else {
                        return;
                    };
                    let (core, busy) = (core.clone(), busy.clone());
                    tokio::spawn(async move {
                        send_in_order(&core, subscription, deliveries).await;
                        lock(&busy).remove(&subscription);
                        core.alerts.deliveries_queued.notify_one();
                        drop(permit);
                    });
                }
            }
            Err(e) => tracing::warn!(cause = %e, "claiming deliveries failed"),
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), alerts.deliveries_queued.notified()).await;
    }
}

fn lock(busy: &Mutex<HashSet<i64>>) -> std::sync::MutexGuard<'_, HashSet<i64>> {
    busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Due deliveries of receivers not busy, grouped by subscription (which
/// are then marked busy); deliveries of busy receivers are let go again.
async fn claim(core: &Core, busy: &Mutex<HashSet<i64>>) -> Result<BTreeMap<i64, Vec<Delivery>>, CoreError> {
    let now = UtcTime::now();
    let lease_until = UtcTime::from_unix(now.unix() + secs(LEASE)).unwrap_or(now);
    let claimed = core.store.claim_deliveries(now, lease_until, 256).await?;
    let mut groups: BTreeMap<i64, Vec<Delivery>> = BTreeMap::new();
    let mut let_go = Vec::new();
    {
        let mut busy = lock(busy);
        for d in claimed {
            if busy.contains(&d.subscription_id) && !groups.contains_key(&d.subscription_id) {
                let_go.push(d);
            } else {
                groups.entry(d.subscription_id).or_default().push(d);
            }
        }
        busy.extend(groups.keys().copied());
    }
    for d in let_go {
        // Due again at once, leased to nobody: the next round after the receiver is free takes it.
        core.store
            .finish_delivery(
                d.id,
                DeliveryOutcome::Postponed {
                    until: d.next_attempt_at,
                },
            )
            .await?;
    }
    Ok(groups)
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Sends one receiver's deliveries in order, stopping at the first failure
/// (the rest keep their turn and go once it succeeds).
async fn send_in_order(core: &Core, subscription_id: i64, deliveries: Vec<Delivery>) {
    let subscription = match core.store.subscriptions().await {
        Ok(all) => all.into_iter().find(|s| s.id == subscription_id),
        Err(e) => {
            tracing::warn!(cause = %e, "reading subscriptions failed");
            return;
        }
    };
    let mut failed: Option<UtcTime> = None;
    for d in deliveries {
        let outcome = match (&subscription, failed) {
            // Ended since: nobody to tell any more.
            (None, _) => DeliveryOutcome::Dead {
                error: "the subscription was ended".into(),
            },
            // An earlier one failed: this one keeps its turn behind it, not tried.
            (Some(_), Some(retry_at)) => DeliveryOutcome::Postponed { until: retry_at },
            (Some(s), None) => attempt(core, s, &d).await,
        };
        if let DeliveryOutcome::Retry { next_attempt_at, .. } = &outcome {
            failed = Some(*next_attempt_at);
        }
        if let DeliveryOutcome::Postponed { until } = &outcome {
            failed = Some(*until);
        }
        if let Err(e) = core.store.finish_delivery(d.id, outcome).await {
            tracing::warn!(cause = %e, delivery = d.id, "recording a delivery failed");
            return;
        }
    }
}

/// One attempt of one delivery: its outcome.
async fn attempt(core: &Core, s: &Subscription, d: &Delivery) -> DeliveryOutcome {
    let config = &core.alerts.config;
    let body = match body_of(core, d, s).await {
        Ok(body) => body,
        Err(e) => {
            return DeliveryOutcome::Retry {
                error: e.to_string(),
                next_attempt_at: later(UtcTime::now(), config.retry_base),
            };
        }
    };
    let (agent, url, secret, id, allow) = (
        core.alerts.agent.clone(),
        s.url.clone(),
        s.secret.clone(),
        d.id,
        config.allow_private_webhooks,
    );
    let sent = tokio::task::spawn_blocking(move || webhook::post(&agent, &url, &secret, id, &body, allow))
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    let now = UtcTime::now();
    match sent {
        Ok(()) => DeliveryOutcome::Delivered { at: now },
        Err(error) if now.unix() - d.retry_from.unix() >= secs(config.retry_for) => DeliveryOutcome::Dead { error },
        Err(error) => {
            let wait = config
                .retry_base
                .saturating_mul(1u32 << d.attempts.clamp(0, 16))
                .min(MAX_BACKOFF);
            DeliveryOutcome::Retry {
                error,
                next_attempt_at: later(now, wait),
            }
        }
    }
}

fn later(now: UtcTime, wait: Duration) -> UtcTime {
    // Times are kept to the second: a wait under one still waits one.
    let seconds = i64::try_from(wait.as_millis().div_ceil(1000))
        .unwrap_or(i64::MAX)
        .max(1);
    UtcTime::from_unix(now.unix().saturating_add(seconds)).unwrap_or(now)
}

/// What a receiver gets: the delivery, the subscription it answers, and the
/// event with the station's province.
async fn body_of(core: &Core, d: &Delivery, s: &Subscription) -> Result<Vec<u8>, CoreError> {
    let event = core
        .store
        .alert_events(&EventQuery {
            after_id: Some(d.event_id - 1),
            limit: 1,
            ..EventQuery::default()
        })
        .await?
        .into_iter()
        .find(|e| e.id == d.event_id)
        .ok_or_else(|| {
            CoreError::internal(
                "missing_event",
                format!("event {} of delivery {} is gone", d.event_id, d.id),
            )
        })?;
    let index = core.commune_index().await?;
    let merges = core.province_merges().await?;
    let commune = index.get(&event.commune_code, None);
    let body = serde_json::json!({
        "delivery": d.id,
        "subscription": {"id": s.id, "name": s.name},
        "event": event,
        "province_code": commune.map(|c| c.province_code.clone()),
        // A station still coded by an old commune is in a pre-2025 province:
        // the receiver also gets the province it is in today.
        "province_code_2025": commune.map(|c| merges.after(&c.province_code).to_owned()),
        "commune_name": commune.map(|c| c.name.clone()),
    });
    Ok(body.to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::later;
    use agrimap_model::UtcTime;
    use std::time::Duration;

    #[test]
    fn a_wait_is_at_least_a_second_and_rounds_up() {
        let now = UtcTime::parse("2026-12-06T00:00:00Z").expect("time");
        assert_eq!(later(now, Duration::from_millis(200)).unix() - now.unix(), 1);
        assert_eq!(later(now, Duration::from_millis(2100)).unix() - now.unix(), 3);
    }
}
