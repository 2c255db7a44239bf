//! Contract cases of copying histories between stores (`agrimap load`):
//! NTM dossiers ([`agrimap_store::NtmStore::restore_ntm_history`]), alert
//! events ([`agrimap_store::AlertStore::restore_alert_events`]), the
//! registries ([`agrimap_store::RegistryStore::restore_registry_history`])
//! and the versions of a layer ([`agrimap_store::WriteBatch::timelines`]). A copy
//! keeps its ids and times, and the store goes on from where it left off.

use super::cases::{add_stations, judge, ocop, salinity};
use agrimap_model::alerts::{AlertEvent, Delivery, DeliveryStatus, NewSubscription, SubscriptionScope};
use agrimap_model::ntm::{DossierState, EntryValue};
use agrimap_model::readings::{AlertCause, AlertState, Direction};
use agrimap_model::registry::RegistryKind;
use agrimap_model::{Audience, FeatureQuery, Role, UtcTime, Value};
use agrimap_store::ntm::{DossierKey, Entry, EvidenceFile, Move, NewEntry, NewMove, NtmError, NtmHistory};
use agrimap_store::{
    EventQuery, LayerTimeline, LayerWrite, PastVersion, RegistryAction, RegistryChange, RegistryHistory,
    RegistryRecord, Store, StoreError, WriteBatch,
};
use std::sync::{Arc, Mutex};

fn key(code: &str) -> DossierKey {
    DossierKey {
        commune_code: code.into(),
        boundary_set: "2025".into(),
        year: 2025,
    }
}

fn at(s: &str) -> UtcTime {
    UtcTime::parse(s).expect("a time")
}

fn entry(seq: i64, code: &str, indicator: &str, value: EntryValue, evidence: Vec<String>, when: &str) -> Entry {
    Entry {
        seq,
        entry: NewEntry {
            dossier: key(code),
            set_id: "ntm-commune-2021-2025".into(),
            indicator_id: indicator.into(),
            value: Some(value),
            comment: format!("{indicator} của xã"),
            evidence,
            author: "editor-1".into(),
        },
        at: at(when),
    }
}

fn moved(seq: i64, code: &str, from: DossierState, to: DossierState, role: Role, when: &str) -> Move {
    Move {
        seq,
        dossier: key(code),
        from,
        to,
        author: "someone".into(),
        role,
        details: r#"{"decision":"123/QĐ-UBND"}"#.into(),
        at: at(when),
    }
}

/// Two dossiers of a year's work, kept elsewhere in 2025: one submitted,
/// one recognised; the sequence has gaps, as a copy of a busy store has.
fn kept_elsewhere(evidence: &str) -> NtmHistory {
    NtmHistory {
        entries: vec![
            entry(
                3,
                "70001",
                "1.1",
                EntryValue::Pass(true),
                vec![evidence.into()],
                "2025-03-01T02:00:00Z",
            ),
            entry(
                4,
                "70001",
                "2.2",
                EntryValue::Number(72.5),
                vec![],
                "2025-03-01T02:05:00Z",
            ),
            entry(
                7,
                "70002",
                "1.1",
                EntryValue::Pass(false),
                vec![],
                "2025-04-10T08:00:00Z",
            ),
        ],
        moves: vec![
            moved(
                5,
                "70001",
                DossierState::Draft,
                DossierState::Submitted,
                Role::Editor,
                "2025-03-02T01:00:00Z",
            ),
            moved(
                8,
                "70002",
                DossierState::Draft,
                DossierState::Submitted,
                Role::Editor,
                "2025-04-11T01:00:00Z",
            ),
            moved(
                9,
                "70002",
                DossierState::Submitted,
                DossierState::Appraised,
                Role::Planner,
                "2025-05-02T01:00:00Z",
            ),
            moved(
                11,
                "70002",
                DossierState::Appraised,
                DossierState::Recognised,
                Role::Admin,
                "2025-06-30T09:30:00Z",
            ),
        ],
        evidence: vec![evidence.into()],
    }
}

pub async fn an_ntm_history_is_copied_with_its_order_and_times(store: &dyn Store) {
    let file = EvidenceFile {
        sha256: "ef".repeat(32),
        name: "bien-ban-tham-dinh.pdf".into(),
        media_type: "application/pdf".into(),
        size: 9,
        bytes: b"%PDF-1.7\n".to_vec(),
        author: "editor-1".into(),
    };
    let history = kept_elsewhere(&file.sha256);

    // Evidence the history cites must be kept first: refused, nothing written.
    assert!(matches!(
        store.restore_ntm_history(&history).await,
        Err(StoreError::Ntm(NtmError::UnknownEvidence(_)))
    ));
    assert_eq!(store.ntm_history().await.expect("history"), NtmHistory::default());

    assert!(store.add_evidence(&file).await.expect("evidence"));
    assert!(store.restore_ntm_history(&history).await.expect("copied"));
    assert_eq!(store.ntm_history().await.expect("history"), history, "kept as given");
    assert_eq!(
        store.entries(&key("70001")).await.expect("entries"),
        history.entries[..2],
        "read back with their sequence numbers and times"
    );
    let recognised = store.moves("70002", "2025", Some(2025)).await.expect("moves");
    assert_eq!(recognised, history.moves[1..]);

    // Run again, the copy changes nothing; another history is refused whole.
    assert!(!store.restore_ntm_history(&history).await.expect("again"));
    let mut other = history.clone();
    other.entries.truncate(1);
    assert!(matches!(
        store.restore_ntm_history(&other).await,
        Err(StoreError::HistoryHeld {
            history: "an NTM history",
            rows: 7
        })
    ));
    assert!(!store.restore_ntm_history(&NtmHistory::default()).await.expect("empty"));

    // The dossiers go on from where the copy left them, after its last number.
    assert!(matches!(
        store
            .add_entry(&NewEntry {
                value: Some(EntryValue::Pass(true)),
                ..history.entries[0].entry.clone()
            })
            .await,
        Err(StoreError::Ntm(NtmError::NotEditable("submitted")))
    ));
    let next = store
        .add_move(&NewMove {
            dossier: key("70001"),
            from: DossierState::Submitted,
            to: DossierState::Returned,
            author: "appraiser-1".into(),
            role: Role::Planner,
            details: "{}".into(),
            commune_status: None,
        })
        .await
        .expect("returned");
    assert!(next.seq > 11, "after the copy's last number: {}", next.seq);
    let added = store
        .add_entry(&history.entries[0].entry)
        .await
        .expect("editable again");
    assert!(added.seq > next.seq);
}

fn event(id: i64, station: &str, from: AlertState, to: AlertState, when: &str) -> AlertEvent {
    AlertEvent {
        id,
        station_id: station.into(),
        station_kind: "water_quality".into(),
        commune_code: "94001".into(),
        from,
        to,
        cause: (to == AlertState::Alarm).then(|| AlertCause {
            parameter: "salinity".into(),
            value: 6.5,
            unit: "ppt".into(),
            time: at(when),
            threshold: 4.0,
            direction: Direction::Above,
        }),
        at: at(when),
    }
}

/// A delivery of `event` to `subscription`, as a store kept it.
fn delivery(id: i64, event: &AlertEvent, subscription: i64, status: DeliveryStatus, attempts: i64) -> Delivery {
    let later = |seconds| UtcTime::from_unix(event.at.unix() + seconds).expect("time");
    Delivery {
        id,
        event_id: event.id,
        subscription_id: subscription,
        status,
        attempts,
        last_error: (status != DeliveryStatus::Delivered).then(|| "connection refused".to_owned()),
        created_at: later(1),
        retry_from: later(1),
        next_attempt_at: later(60),
        delivered_at: (status == DeliveryStatus::Delivered).then(|| later(2)),
    }
}

pub async fn an_alert_history_is_copied_with_its_ids_and_not_sent_again(store: &dyn Store) {
    // A dry season kept elsewhere; ids have gaps, as a busy store's do. Its
    // subscriber was told of the alarm, gave up on the recovery, and has the
    // silence still to be told.
    let history = vec![
        event(2, "WQ-01", AlertState::Ok, AlertState::Alarm, "2026-03-02T06:00:00Z"),
        event(5, "WQ-01", AlertState::Alarm, AlertState::Ok, "2026-03-04T06:00:00Z"),
        event(9, "WQ-02", AlertState::Ok, AlertState::Silent, "2026-03-05T00:00:00Z"),
    ];
    let hook = store
        .add_subscription(&NewSubscription {
            name: "Chi cục Trồng trọt".into(),
            scope: SubscriptionScope::default(),
            url: "http://127.0.0.1:9/hook".into(),
            secret: "a shared secret".into(),
            owner_provinces: vec![],
            created_by: "contract".into(),
        })
        .await
        .expect("subscription")
        .id;
    let deliveries = vec![
        delivery(3, &history[0], hook, DeliveryStatus::Delivered, 1),
        delivery(4, &history[1], hook, DeliveryStatus::Dead, 12),
        delivery(8, &history[2], hook, DeliveryStatus::Pending, 2),
    ];
    let all = EventQuery {
        limit: 100,
        ..EventQuery::default()
    };
    assert!(
        store
            .restore_alert_history(&history, &deliveries)
            .await
            .expect("copied")
    );
    assert_eq!(store.alert_events(&all).await.expect("events"), history);
    assert_eq!(store.deliveries(None, None, 100).await.expect("deliveries"), deliveries);
    assert_eq!(
        store.dispatch_cursor().await.expect("cursor"),
        9,
        "the copy is history: the dispatcher does not send it again"
    );
    let now = at("2026-12-07T08:00:00Z");
    let claimed = store
        .claim_deliveries(now, UtcTime::from_unix(now.unix() + 60).expect("time"), 10)
        .await
        .expect("claim");
    assert_eq!(
        claimed.iter().map(|d| d.id).collect::<Vec<_>>(),
        [8],
        "what was still to be told is told from here"
    );

    assert!(!store.restore_alert_history(&history, &[]).await.expect("again"));
    assert!(!store.restore_alert_history(&[], &[]).await.expect("empty"));
    assert!(matches!(
        store.restore_alert_history(&history[..1], &[]).await,
        Err(StoreError::HistoryHeld {
            history: "an alert history",
            rows: 3
        })
    ));

    // The next change of a station's state comes after the copy, and is news.
    add_stations(store, &["WQ-07"]).await;
    store
        .ingest(
            vec![salinity("WQ-07", 6.5, "2026-11-20T08:00:00Z")],
            judge(Arc::new(Mutex::new(Vec::new()))),
        )
        .await
        .expect("ingest");
    let events = store.alert_events(&all).await.expect("events");
    assert_eq!(events.len(), 4);
    assert_eq!(events[..3], history);
    assert!(events[3].id > 9, "after the copy's last id: {}", events[3].id);
    let news = store
        .alert_events(&EventQuery {
            after_id: Some(store.dispatch_cursor().await.expect("cursor")),
            ..all
        })
        .await
        .expect("news");
    assert_eq!(news, events[3..]);
    store
        .enqueue_deliveries(events[3].id, &[(events[3].id, hook)], now)
        .await
        .expect("queued");
    let queued = store
        .deliveries(Some(&[events[3].id]), None, 10)
        .await
        .expect("deliveries");
    assert!(queued[0].id > 8, "after the copy's last delivery: {}", queued[0].id);
}

/// OCOP products' stars as read: (product id, stars, id), by id.
fn stars(features: &[agrimap_model::Feature]) -> Vec<(String, i64, i64)> {
    let l = agrimap_model::layer("ocop").expect("ocop");
    let mut v: Vec<(String, i64, i64)> = features
        .iter()
        .map(|f| match (l.value_of(f, "product_id"), l.value_of(f, "stars")) {
            (Value::Text(id), Value::Int(s)) => (id.clone(), *s, f.id),
            other => panic!("an OCOP product without id or stars: {other:?}"),
        })
        .collect();
    v.sort_by_key(|p| p.2);
    v
}

pub async fn a_layer_is_copied_with_its_ids_and_timeline(store: &dyn Store) {
    let l = agrimap_model::layer("ocop").expect("ocop");
    let with_id = |mut f: agrimap_model::Feature, id: i64| {
        f.id = id;
        f
    };
    // Kept elsewhere: A (id 5) has had 4 stars since March 2025 and 3 since
    // ever before; B (id 9) has been as it is since ever; C (id 12, the last
    // added) was recognised in 2023 and withdrawn in June 2024.
    let timeline = LayerTimeline {
        layer: l,
        since: [(5, at("2025-03-01T00:00:00Z"))].into(),
        versions: vec![
            PastVersion {
                feature: with_id(ocop("70001", "A", 3, 105.0, 10.0), 5),
                valid_from: None,
                valid_to: at("2025-03-01T00:00:00Z"),
            },
            PastVersion {
                feature: with_id(ocop("70003", "C", 2, 105.5, 10.5), 12),
                valid_from: Some(at("2023-01-01T00:00:00Z")),
                valid_to: at("2024-06-01T00:00:00Z"),
            },
        ],
    };
    let current = vec![
        with_id(ocop("70001", "A", 4, 105.0, 10.0), 5),
        with_id(ocop("70002", "B", 3, 106.0, 11.0), 9),
    ];

    // A timeline goes only with a write of its whole layer.
    let alone = WriteBatch {
        timelines: vec![timeline.clone()],
        ..WriteBatch::default()
    };
    assert!(matches!(
        store.write(alone).await,
        Err(StoreError::TimelineWithoutLayer(id)) if id == "ocop"
    ));
    store
        .write(WriteBatch {
            layers: vec![LayerWrite {
                layer: l,
                replace: true,
                features: current,
            }],
            timelines: vec![timeline.clone()],
            ..WriteBatch::default()
        })
        .await
        .expect("copied");
    assert_eq!(store.timeline(l).await.expect("timeline"), timeline, "kept as given");

    let read = |as_of: Option<&str>| {
        let query = FeatureQuery {
            audience: Audience::Full,
            as_of: as_of.map(at),
            ..FeatureQuery::default()
        };
        async move { stars(&store.features(l, &query).await.expect("features")) }
    };
    let p = |id: &str, stars: i64, fid: i64| (format!("OCOP-{id}"), stars, fid);
    assert_eq!(read(None).await, [p("A", 4, 5), p("B", 3, 9)]);
    assert_eq!(read(Some("2024-12-01T00:00:00Z")).await, [p("A", 3, 5), p("B", 3, 9)]);
    assert_eq!(
        read(Some("2023-06-01T00:00:00Z")).await,
        [p("A", 3, 5), p("B", 3, 9), p("C", 2, 12)]
    );
    let then = store
        .feature_as_of(l, 5, Audience::Full, Some(at("2024-12-01T00:00:00Z")))
        .await
        .expect("by id");
    assert_eq!(stars(&then.into_iter().collect::<Vec<_>>()), [p("A", 3, 5)]);

    // What is written next takes ids after every id the copy brought, the
    // withdrawn product's too: an id names one feature through time.
    store
        .write(WriteBatch {
            layers: vec![LayerWrite {
                layer: l,
                replace: false,
                features: vec![ocop("70004", "D", 5, 105.2, 10.2)],
            }],
            ..WriteBatch::default()
        })
        .await
        .expect("a new product");
    let now = read(None).await;
    assert_eq!(now.len(), 3);
    assert!(now[2].2 > 12, "{now:?}");
}

/// Registries as compared across stores, one JSON document: each record's
/// and change's JSON parsed (PostGIS rewrites its spacing and key order).
fn parsed(history: &RegistryHistory) -> serde_json::Value {
    let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).expect("JSON");
    let records: Vec<_> = history
        .records
        .iter()
        .map(|(k, r)| serde_json::json!([k.as_str(), r.key, r.province_code, json(&r.body)]))
        .collect();
    let changes: Vec<_> = history
        .changes
        .iter()
        .map(|c| {
            serde_json::json!([
                c.kind.as_str(),
                c.key,
                c.action.as_str(),
                c.actor,
                c.at.to_string(),
                json(&c.body)
            ])
        })
        .collect();
    serde_json::json!({ "records": records, "changes": changes, "scans": history.scans })
}

pub async fn registries_are_copied_with_their_history_and_scans(store: &dyn Store) {
    let producer = |name: &str| serde_json::json!({"code": "1801234567", "name": name, "kind": "cooperative"});
    let product = serde_json::json!({"id": "CT-0001", "producer": "1801234567", "name": "Bưởi Năm Roi"});
    let record = |key: &str, body: &serde_json::Value| RegistryRecord {
        key: key.into(),
        province_code: "92".into(),
        body: body.to_string(),
    };
    let change = |kind, key: &str, action, actor: &str, when: &str, body: &serde_json::Value| RegistryChange {
        kind,
        key: key.into(),
        action,
        body: body.to_string(),
        actor: actor.into(),
        at: at(when),
    };
    // Kept elsewhere: a producer renamed in 2025, its product, and a
    // product page scanned on two days.
    let history = RegistryHistory {
        records: vec![
            (RegistryKind::Producers, record("1801234567", &producer("HTX Cái Răng"))),
            (RegistryKind::Products, record("CT-0001", &product)),
        ],
        changes: vec![
            change(
                RegistryKind::Producers,
                "1801234567",
                RegistryAction::Insert,
                "import-2024",
                "2024-05-02T03:00:00Z",
                &producer("HTX Cái Răng cũ"),
            ),
            change(
                RegistryKind::Products,
                "CT-0001",
                RegistryAction::Insert,
                "import-2024",
                "2024-05-02T03:00:01Z",
                &product,
            ),
            change(
                RegistryKind::Producers,
                "1801234567",
                RegistryAction::Update,
                "planner-7",
                "2025-07-01T08:00:00Z",
                &producer("HTX Cái Răng"),
            ),
        ],
        scans: vec![
            ("CT-0001".into(), "2026-11-01".into(), 12),
            ("CT-0001".into(), "2026-11-02".into(), 3),
        ],
    };
    assert!(store.restore_registry_history(&history).await.expect("copied"));
    let kept = store.registry_history().await.expect("registries");
    assert_eq!(parsed(&kept), parsed(&history), "kept as given");
    let renamed = store
        .record_history(RegistryKind::Producers, "1801234567")
        .await
        .expect("history");
    assert_eq!(
        renamed.iter().map(|c| (c.actor.as_str(), c.at)).collect::<Vec<_>>(),
        [
            ("import-2024", at("2024-05-02T03:00:00Z")),
            ("planner-7", at("2025-07-01T08:00:00Z"))
        ]
    );
    assert_eq!(
        store.scans("CT-0001").await.expect("scans"),
        [("2026-11-01".to_owned(), 12), ("2026-11-02".to_owned(), 3)]
    );

    // Run again, nothing changes (whatever the store did to the JSON's
    // spacing); other registries are refused whole.
    assert!(!store.restore_registry_history(&kept).await.expect("again"));
    assert!(!store.restore_registry_history(&history).await.expect("again"));
    let mut other = history.clone();
    other.scans.pop();
    assert!(matches!(
        store.restore_registry_history(&other).await,
        Err(StoreError::HistoryHeld {
            history: "registries",
            rows: 7
        })
    ));
    // The records go on from the copy: the next change is the third.
    store
        .put_records(
            RegistryKind::Producers,
            vec![record("1801234567", &producer("HTX Cái Răng mới"))],
            "planner-8",
        )
        .await
        .expect("update");
    let changes = store
        .record_history(RegistryKind::Producers, "1801234567")
        .await
        .expect("history");
    assert_eq!(changes.len(), 3);
    assert_eq!(changes[2].actor, "planner-8");
}
