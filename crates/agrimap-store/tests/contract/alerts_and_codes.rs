//! Contract cases of the alert queue ([`agrimap_store::AlertStore`]) and of
//! the value lists ([`agrimap_store::CodeStore`]): what a third backend must
//! do so that no change of a station's state is lost or told twice, and so
//! that a code in use is never retired.

use super::cases::{add_stations, judge, salinity};
use agrimap_model::alerts::{AlertEvent, DeliveryStatus, NewSubscription, SubscriptionScope};
use agrimap_model::codes::CodeError;
use agrimap_model::readings::AlertState;
use agrimap_model::{Code, UtcTime};
use agrimap_store::{DeliveryOutcome, EventQuery, Store, StoreError};
use std::sync::{Arc, Mutex};

fn at(text: &str) -> UtcTime {
    text.parse().expect("time")
}

fn later(t: UtcTime, seconds: i64) -> UtcTime {
    UtcTime::from_unix(t.unix() + seconds).expect("time")
}

fn hook(name: &str) -> NewSubscription {
    NewSubscription {
        name: name.into(),
        scope: SubscriptionScope::default(),
        url: "http://127.0.0.1:9/hook".into(),
        secret: "a shared secret".into(),
        owner_provinces: vec![],
        created_by: "contract".into(),
    }
}

/// A station that goes to alarm: the one event its ingestion stores.
async fn alarm_event(store: &dyn Store) -> AlertEvent {
    add_stations(store, &["WQ-07"]).await;
    let judged = store
        .ingest(
            vec![salinity("WQ-07", 6.5, "2026-11-20T08:00:00Z")],
            judge(Arc::new(Mutex::new(Vec::new()))),
        )
        .await
        .expect("ingest");
    assert_eq!(judged.judged["WQ-07"].0, AlertState::Alarm);
    let events = store
        .alert_events(&EventQuery {
            limit: 10,
            ..EventQuery::default()
        })
        .await
        .expect("events");
    assert_eq!(events.len(), 1, "{events:?}");
    let e = events.into_iter().next().expect("event");
    assert_eq!((e.station_id.as_str(), e.to), ("WQ-07", AlertState::Alarm));
    e
}

/// An alarm queued for one subscriber, as the dispatcher leaves it: the
/// event, the delivery and when it was queued.
async fn queued(store: &dyn Store) -> (AlertEvent, i64, UtcTime) {
    let event = alarm_event(store).await;
    let sub = store
        .add_subscription(&hook("Chi cục Thủy sản"))
        .await
        .expect("subscribe");
    assert_eq!(store.dispatch_cursor().await.expect("cursor"), 0);
    let now = at("2026-11-20T09:00:00Z");
    let pair = [(event.id, sub.id)];
    store.enqueue_deliveries(event.id, &pair, now).await.expect("queue");
    // A dispatcher that crashed before it saw its cursor move queues again.
    store
        .enqueue_deliveries(event.id, &pair, now)
        .await
        .expect("queue again");
    assert_eq!(store.dispatch_cursor().await.expect("cursor"), event.id);
    let queued = store.deliveries(None, None, 10).await.expect("deliveries");
    assert_eq!(queued.len(), 1, "a pair is queued once: {queued:?}");
    assert_eq!(
        (queued[0].event_id, queued[0].subscription_id, queued[0].status),
        (event.id, sub.id, DeliveryStatus::Pending)
    );
    (event, queued[0].id, now)
}

/// A delivery is queued once however often the dispatcher repeats itself,
/// and claimed under a lease: a second deliverer does not see it until the
/// lease runs out.
pub async fn alert_deliveries_are_queued_once_and_leased(store: &dyn Store) {
    let (_, id, now) = queued(store).await;
    let claimed = store.claim_deliveries(now, later(now, 60), 10).await.expect("claim");
    assert_eq!(claimed.iter().map(|d| d.id).collect::<Vec<_>>(), [id]);
    assert!(
        store
            .claim_deliveries(later(now, 30), later(now, 90), 10)
            .await
            .expect("claim")
            .is_empty(),
        "leased to the first deliverer"
    );
    let again = store
        .claim_deliveries(later(now, 61), later(now, 120), 10)
        .await
        .expect("claim");
    assert_eq!(
        again.iter().map(|d| d.id).collect::<Vec<_>>(),
        [id],
        "the lease ran out"
    );
}

/// A failed delivery is tried again when due, is dead after its last
/// failure, and a replay queues it again with a fresh day of attempts.
pub async fn failed_deliveries_are_retried_then_dead_until_replayed(store: &dyn Store) {
    let (event, id, now) = queued(store).await;
    let retry_at = later(now, 300);
    let fail = |error: &str| DeliveryOutcome::Retry {
        error: error.into(),
        next_attempt_at: retry_at,
    };
    store.claim_deliveries(now, later(now, 60), 10).await.expect("claim");
    store.finish_delivery(id, fail("HTTP 502")).await.expect("retry");
    let claim = |t: UtcTime| store.claim_deliveries(t, later(t, 60), 10);
    assert!(claim(later(now, 299)).await.expect("claim").is_empty(), "not due yet");
    let retried = claim(retry_at).await.expect("claim");
    assert_eq!((retried.len(), retried[0].attempts), (1, 1));
    assert_eq!(retried[0].last_error.as_deref(), Some("HTTP 502"));

    store
        .finish_delivery(
            id,
            DeliveryOutcome::Dead {
                error: "HTTP 410".into(),
            },
        )
        .await
        .expect("dead");
    let dead = store
        .deliveries(None, Some(DeliveryStatus::Dead), 10)
        .await
        .expect("dead letters");
    assert_eq!((dead.len(), dead[0].attempts), (1, 2));
    assert!(
        claim(later(now, 3_600)).await.expect("claim").is_empty(),
        "dead is not due"
    );

    let replayed_at = later(now, 7_200);
    assert_eq!(store.replay_dead(None, replayed_at).await.expect("replay"), 1);
    assert_eq!(
        store.replay_dead(None, replayed_at).await.expect("replay"),
        0,
        "nothing is dead now"
    );
    let back = claim(replayed_at).await.expect("claim");
    assert_eq!(
        back.iter().map(|d| (d.id, d.retry_from)).collect::<Vec<_>>(),
        [(id, replayed_at)]
    );

    let delivered_at = later(replayed_at, 1);
    store
        .finish_delivery(id, DeliveryOutcome::Delivered { at: delivered_at })
        .await
        .expect("delivered");
    let done = store.deliveries(Some(&[event.id]), None, 10).await.expect("deliveries");
    assert_eq!(
        (done[0].status, done[0].delivered_at, done[0].attempts),
        (DeliveryStatus::Delivered, Some(delivered_at), 3)
    );
    assert!(
        claim(later(now, 99_999)).await.expect("claim").is_empty(),
        "delivered is done"
    );
}

/// Subscriptions end without being deleted: the deliveries that name them stay readable.
pub async fn subscriptions_end_but_stay_for_the_history(store: &dyn Store) {
    let first = store
        .add_subscription(&hook("Trạm khuyến nông"))
        .await
        .expect("subscribe");
    let second = store.add_subscription(&hook("HTX Mỹ Xuyên")).await.expect("subscribe");
    let names = |subs: Vec<agrimap_model::alerts::Subscription>| subs.into_iter().map(|s| s.name).collect::<Vec<_>>();
    assert_eq!(
        names(store.subscriptions().await.expect("list")),
        ["Trạm khuyến nông", "HTX Mỹ Xuyên"],
        "oldest first"
    );
    let now = at("2026-11-21T00:00:00Z");
    assert!(store.end_subscription(first.id, now).await.expect("end"));
    assert!(
        !store.end_subscription(first.id, now).await.expect("end again"),
        "ended already"
    );
    assert!(
        !store.end_subscription(second.id + 100, now).await.expect("end"),
        "no such subscription"
    );
    assert_eq!(names(store.subscriptions().await.expect("list")), ["HTX Mỹ Xuyên"]);
}

fn code(list: &str, code: &str) -> Code {
    Code {
        list: list.into(),
        code: code.into(),
        label_vi: "Cá nâu".into(),
        label_en: "Spotted scat".into(),
        retired: false,
    }
}

/// A code joins its list once; it is retired only while no feature uses it,
/// and stays readable once retired.
pub async fn codes_are_added_once_and_retired_only_when_unused(store: &dyn Store) {
    let fish = code("species", "spotted_scat");
    store.add_code(&fish).await.expect("a province's species");
    assert!(matches!(
        store.add_code(&fish).await,
        Err(StoreError::Code(CodeError::Exists { .. }))
    ));
    assert!(matches!(
        store.add_code(&code("no_such_list", "x")).await,
        Err(StoreError::Code(CodeError::UnknownList(_)))
    ));

    store
        .retire_code("species", "spotted_scat")
        .await
        .expect("unused: retired");
    let kept = store.codes().await.expect("codes");
    let fish = kept
        .iter()
        .find(|c| c.list == "species" && c.code == "spotted_scat")
        .expect("a retired code stays readable");
    assert!(fish.retired);
    assert!(matches!(
        store.retire_code("species", "no_such_fish").await,
        Err(StoreError::Code(CodeError::NotFound { .. }))
    ));

    // The stations of the contract are water-quality stations.
    add_stations(store, &["WQ-11", "WQ-12"]).await;
    match store.retire_code("station_kind", "water_quality").await {
        Err(StoreError::Code(CodeError::InUse { features, fields, .. })) => {
            assert_eq!((features, fields.as_str()), (2, "monitoring.kind: 2"));
        }
        other => panic!("a code in use is not retired: {other:?}"),
    }
    let water = store.codes().await.expect("codes");
    assert!(
        water
            .iter()
            .any(|c| c.list == "station_kind" && c.code == "water_quality" && !c.retired)
    );
}
