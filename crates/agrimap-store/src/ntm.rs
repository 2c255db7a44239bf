//! New rural development (NTM) records: the criteria sets as loaded, the
//! values editors enter for a commune's indicators, the evidence files
//! behind them, and the moves of each commune's yearly dossier.
//!
//! Entries and moves are an append-only history: both backends refuse an
//! UPDATE or DELETE of their rows (triggers), so nothing is ever changed
//! or lost; the current value of an indicator is its latest entry, the
//! current state of a dossier its latest move. A move is checked against
//! the dossier's state inside the transaction that records it (the
//! dossier is locked meanwhile), so two appraisers acting at once cannot
//! both move it from the same state.

use crate::StoreError;
use agrimap_model::ntm::{DossierState, EntryValue};
use agrimap_model::{Role, UtcTime};

/// A criteria set as stored: its id, version and the JSON document
/// ([`agrimap_model::ntm::CriteriaSet`]), which the core checks before storing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSet {
    pub id: String,
    pub version: u32,
    pub document: String,
}

/// Which dossier: a commune (its code and boundary set) and a year.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DossierKey {
    pub commune_code: String,
    pub boundary_set: String,
    pub year: i32,
}

/// A value an editor enters for one indicator.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub dossier: DossierKey,
    pub set_id: String,
    pub indicator_id: String,
    /// `None` withdraws a value entered before.
    pub value: Option<EntryValue>,
    pub comment: String,
    /// SHA-256 (hex) of evidence files stored before ([`NtmStore::add_evidence`]).
    pub evidence: Vec<String>,
    /// Who entered it: an API token's id, or `cli`.
    pub author: String,
}

/// An entry as kept, with its place in the history and its time.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its place in the history: entries and moves share one sequence.
    pub seq: i64,
    pub entry: NewEntry,
    pub at: UtcTime,
}

/// An evidence file: kept once per content (its SHA-256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceFile {
    /// Lower-case hex.
    pub sha256: String,
    pub name: String,
    pub media_type: String,
    pub size: u64,
    /// Empty when read without its bytes.
    pub bytes: Vec<u8>,
    pub author: String,
}

/// What the commune layer says of a commune's NTM standing: set with a
/// recognition or a revocation, in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommuneStatus {
    /// `not_yet`, `standard`, `advanced` or `model`.
    pub status: String,
    pub year: Option<i64>,
}

/// A move of a dossier, to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMove {
    pub dossier: DossierKey,
    /// The state the mover saw; the move is refused if the dossier is no longer in it.
    pub from: DossierState,
    pub to: DossierState,
    pub author: String,
    /// The role the author acted in.
    pub role: Role,
    /// What came with the move, as JSON text: decision number, date and
    /// level of a recognition; reasons of a return; the appraisers'
    /// verdicts and comments.
    pub details: String,
    /// Written to the commune layer in the same transaction, when given.
    pub commune_status: Option<CommuneStatus>,
}

/// A move as kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    pub seq: i64,
    pub dossier: DossierKey,
    pub from: DossierState,
    pub to: DossierState,
    pub author: String,
    pub role: Role,
    pub details: String,
    pub at: UtcTime,
}

/// A store's whole NTM history as kept, to copy to another store with its
/// order and times (`agrimap load`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NtmHistory {
    /// Every entry, by sequence number.
    pub entries: Vec<Entry>,
    /// Every move, by sequence number.
    pub moves: Vec<Move>,
    /// The SHA-256 of every evidence file kept, cited or not.
    pub evidence: Vec<String>,
}

impl NtmHistory {
    /// The sequence numbers of entries and moves, merged: they share one sequence.
    fn seqs(&self) -> impl Iterator<Item = i64> + '_ {
        self.entries
            .iter()
            .map(|e| e.seq)
            .chain(self.moves.iter().map(|m| m.seq))
    }

    /// The largest sequence number, 0 when empty.
    #[must_use]
    pub fn last_seq(&self) -> i64 {
        self.seqs().max().unwrap_or(0)
    }

    /// The cited evidence the store lacks: what a restore must refuse.
    pub(crate) fn uncited<'a>(&'a self, kept: &'a [String]) -> Option<&'a String> {
        self.entries
            .iter()
            .flat_map(|e| &e.entry.evidence)
            .find(|sha| !kept.contains(sha))
    }
}

/// Why the store refused an NTM write; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NtmError {
    #[error(
        "criteria set '{id}' version {version} is stored with other content; give the corrected file the next version"
    )]
    VersionTaken { id: String, version: u32 },
    #[error("the dossier is '{found}' now, not '{expected}' (someone moved it meanwhile); reload it")]
    StateChanged {
        expected: &'static str,
        found: &'static str,
    },
    #[error("the dossier is '{0}': its values can change only while it is a draft, returned or revoked")]
    NotEditable(&'static str),
    #[error("no evidence file with SHA-256 {0} is stored")]
    UnknownEvidence(String),
    #[error("no commune {code} in boundary set {boundary_set} to record the status on")]
    UnknownCommune { code: String, boundary_set: String },
}

/// The NTM records of a store.
#[async_trait::async_trait]
pub trait NtmStore: Send + Sync + 'static {
    /// Keeps a criteria set version. `Ok(true)` when added, `Ok(false)` when
    /// that very document is already kept.
    ///
    /// # Errors
    /// [`NtmError::VersionTaken`] when the id and version hold another document.
    async fn add_criteria_set(&self, set: &StoredSet) -> Result<bool, StoreError>;

    /// Every version of every set, by id then version.
    async fn criteria_sets(&self) -> Result<Vec<StoredSet>, StoreError>;

    /// Appends an entry, if the dossier's state lets its values change and
    /// its evidence files are stored (both checked in the transaction).
    ///
    /// # Errors
    /// [`NtmError::NotEditable`], [`NtmError::UnknownEvidence`].
    async fn add_entry(&self, entry: &NewEntry) -> Result<Entry, StoreError>;

    /// The entries of a dossier, oldest first.
    async fn entries(&self, dossier: &DossierKey) -> Result<Vec<Entry>, StoreError>;

    /// Keeps an evidence file; `Ok(false)` when the same content is kept already.
    async fn add_evidence(&self, file: &EvidenceFile) -> Result<bool, StoreError>;

    /// An evidence file by its SHA-256, with its bytes when `bytes`.
    async fn evidence(&self, sha256: &str, bytes: bool) -> Result<Option<EvidenceFile>, StoreError>;

    /// The dossiers with an entry that cites an evidence file, each once:
    /// whose offices may read it.
    async fn evidence_citations(&self, sha256: &str) -> Result<Vec<DossierKey>, StoreError>;

    /// Records a move of a dossier, if it is still in `from`, and writes
    /// `commune_status` to the commune layer in the same transaction.
    ///
    /// # Errors
    /// [`NtmError::StateChanged`], [`NtmError::UnknownCommune`].
    async fn add_move(&self, new: &NewMove) -> Result<Move, StoreError>;

    /// The moves of a commune's dossiers (of one year, or all), oldest first.
    async fn moves(&self, commune_code: &str, boundary_set: &str, year: Option<i32>) -> Result<Vec<Move>, StoreError>;

    /// Every entry and move, and the evidence files' SHA-256, for a copy.
    async fn ntm_history(&self) -> Result<NtmHistory, StoreError>;

    /// Writes `history` as it was kept elsewhere, with its sequence numbers
    /// and times, in one transaction; the evidence it cites must be stored
    /// first ([`NtmStore::add_evidence`]). Commune statuses are not written:
    /// they travel with the commune layer. `Ok(false)` when the store keeps
    /// this very history already (a copy run again) or `history` is empty.
    ///
    /// # Errors
    /// [`StoreError::HistoryHeld`] when the store keeps another history;
    /// [`NtmError::UnknownEvidence`].
    async fn restore_ntm_history(&self, history: &NtmHistory) -> Result<bool, StoreError>;

    /// A number that grows with every NTM record kept (entries, moves,
    /// sets), for cache keys: what was computed from the records is
    /// current while it has not changed.
    async fn ntm_changes(&self) -> Result<i64, StoreError>;
}

/// The query behind [`NtmStore::ntm_changes`], the same in both stores:
/// entries and moves share one sequence and are only ever added, so the
/// largest sequence number only grows with them, and so does the count of sets.
pub(crate) const CHANGES_SQL: &str = "SELECT (SELECT coalesce(max(s), 0) FROM (
    SELECT max(seq) AS s FROM agrimap_ntm_entries UNION ALL SELECT max(seq) FROM agrimap_ntm_moves) AS last)
  + (SELECT count(*) FROM agrimap_ntm_sets) * 1000000000000";

/// Whether a store holding `held` may take `given`: `Ok(true)` to write it,
/// `Ok(false)` when it is held already, the same in both stores.
pub(crate) fn may_restore(held: &NtmHistory, given: &NtmHistory) -> Result<bool, StoreError> {
    if given.entries.is_empty() && given.moves.is_empty() {
        return Ok(false);
    }
    if held.entries.is_empty() && held.moves.is_empty() {
        if let Some(missing) = given.uncited(&held.evidence) {
            return Err(NtmError::UnknownEvidence(agrimap_model::echo(missing, 64)).into());
        }
        return Ok(true);
    }
    if held.entries == given.entries && held.moves == given.moves {
        return Ok(false);
    }
    Err(StoreError::HistoryHeld {
        history: "an NTM history",
        rows: held.entries.len() + held.moves.len(),
    })
}

/// The state a dossier is in after `moves` (a draft when it has none).
#[must_use]
pub fn state_after(moves: &[Move]) -> DossierState {
    moves.last().map_or(DossierState::Draft, |m| m.to)
}

/// Evidence references as both stores keep them: joined by commas.
pub(crate) fn evidence_text(evidence: &[String]) -> String {
    evidence.join(",")
}

pub(crate) fn evidence_of(text: &str) -> Vec<String> {
    text.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// A stored value from its two columns.
pub(crate) fn value_of(number: Option<f64>, pass: Option<bool>) -> Option<EntryValue> {
    match (number, pass) {
        (_, Some(p)) => Some(EntryValue::Pass(p)),
        (Some(n), None) => Some(EntryValue::Number(n)),
        (None, None) => None,
    }
}

/// A value as its two columns.
pub(crate) fn columns_of(value: Option<EntryValue>) -> (Option<f64>, Option<bool>) {
    match value {
        Some(EntryValue::Number(n)) => (Some(n), None),
        Some(EntryValue::Pass(p)) => (None, Some(p)),
        None => (None, None),
    }
}

/// A stored state; the tables' CHECK constraints keep them to the known ones.
pub(crate) fn state_of(text: &str) -> DossierState {
    DossierState::parse(text).unwrap_or(DossierState::Draft)
}
