//! Contract case of copying an NTM history between stores
//! ([`agrimap_store::NtmStore::restore_ntm_history`]): the copy keeps its
//! sequence numbers and times, goes only into a store without a history of
//! its own, and the dossiers go on from where the copy left them.

use agrimap_model::ntm::{DossierState, EntryValue};
use agrimap_model::{Role, UtcTime};
use agrimap_store::ntm::{DossierKey, Entry, EvidenceFile, Move, NewEntry, NewMove, NtmError, NtmHistory};
use agrimap_store::{Store, StoreError};

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
        Err(StoreError::Ntm(NtmError::HistoryHeld { entries: 3, moves: 4 }))
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
