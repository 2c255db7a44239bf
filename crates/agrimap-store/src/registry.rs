//! The traceability registries (producers, products, growing areas) as
//! documents under their natural key, every change kept in a history, and
//! the product pages' scans counted by day.
//!
//! The store keeps each record as the JSON of its `agrimap_model::registry`
//! type: the records are read and checked whole by the core (links between
//! registries, the code format, provinces), and a new field of the
//! departments' sheets needs no migration. The province is a column of its
//! own so that a province's records are read without opening documents.

use crate::StoreError;
use agrimap_model::registry::RegistryKind;

/// One record of a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRecord {
    /// The natural key (producer code, product id, growing-area code).
    pub key: String,
    pub province_code: String,
    /// The record as JSON text.
    pub body: String,
}

/// What [`RegistryStore::put_records`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RegistryWrite {
    pub inserted: usize,
    pub updated: usize,
    /// Records given exactly as stored: no change, no history.
    pub unchanged: usize,
}

/// What a change did to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryAction {
    Insert,
    Update,
}

impl RegistryAction {
    /// The name both stores keep, and the history answers with.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Insert => "insert",
            Self::Update => "update",
        }
    }

    /// A stored name read back; a name neither store writes is a damaged store.
    pub(crate) fn stored(text: &str) -> Result<Self, String> {
        [Self::Insert, Self::Update]
            .into_iter()
            .find(|a| a.as_str() == text)
            .ok_or_else(|| format!("a stored registry change is '{text}', neither insert nor update"))
    }
}

/// One change of a record, as the history keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryChange {
    pub kind: RegistryKind,
    pub key: String,
    pub action: RegistryAction,
    /// The record as it became.
    pub body: String,
    /// Who made it (an API token's id, `cli`, `demo`).
    pub actor: String,
    pub at: agrimap_model::UtcTime,
}

/// The registries as kept, whole: to copy to another store with their
/// history (`agrimap load`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryHistory {
    /// Every record, by kind then key.
    pub records: Vec<(RegistryKind, RegistryRecord)>,
    /// Every change, oldest first.
    pub changes: Vec<RegistryChange>,
    /// Every product page's scans: product, day (`YYYY-MM-DD`), scans.
    pub scans: Vec<(String, String, u64)>,
}

impl RegistryHistory {
    /// When each record was last changed, by kind and key, as its history
    /// says (oldest first, so the last write of a key wins): one pass, not
    /// one per record.
    pub(crate) fn last_changed(&self) -> std::collections::HashMap<(&'static str, &str), String> {
        self.changes
            .iter()
            .map(|c| ((c.kind.as_str(), c.key.as_str()), c.at.to_string()))
            .collect()
    }

    fn is_empty(&self) -> bool {
        self.records.is_empty() && self.changes.is_empty() && self.scans.is_empty()
    }

    /// The same registries, whatever the spacing and order of keys of
    /// their JSON (PostGIS keeps it as `jsonb`, which rewrites both).
    fn same_as(&self, other: &Self) -> bool {
        let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
        let same_records = self.records.len() == other.records.len()
            && self.records.iter().zip(&other.records).all(|((k1, a), (k2, b))| {
                k1 == k2 && a.key == b.key && a.province_code == b.province_code && json(&a.body) == json(&b.body)
            });
        let same_changes = self.changes.len() == other.changes.len()
            && self.changes.iter().zip(&other.changes).all(|(a, b)| {
                (a.kind, &a.key, a.action, &a.actor, a.at) == (b.kind, &b.key, b.action, &b.actor, b.at)
                    && json(&a.body) == json(&b.body)
            });
        same_records && same_changes && self.scans == other.scans
    }
}

/// Whether a store holding `held` may take `given`: `Ok(true)` to write it,
/// `Ok(false)` when there is nothing to write.
pub(crate) fn may_restore(held: &RegistryHistory, given: &RegistryHistory) -> Result<bool, StoreError> {
    if given.is_empty() || held.same_as(given) {
        return Ok(false);
    }
    if held.is_empty() {
        return Ok(true);
    }
    Err(StoreError::HistoryHeld {
        history: "registries",
        rows: held.records.len() + held.changes.len() + held.scans.len(),
    })
}

/// The registries.
#[async_trait::async_trait]
pub trait RegistryStore: Send + Sync + 'static {
    /// Inserts the records that are new and updates those whose key is
    /// stored, in one transaction with a history row for each record that
    /// changed. Keys must be distinct: a repeated key is refused, and then
    /// nothing is written.
    async fn put_records(
        &self,
        kind: RegistryKind,
        records: Vec<RegistryRecord>,
        actor: &str,
    ) -> Result<RegistryWrite, StoreError>;

    /// One record by key.
    async fn record(&self, kind: RegistryKind, key: &str) -> Result<Option<RegistryRecord>, StoreError>;

    /// The records of a registry (of one province, if given), by key.
    async fn records(&self, kind: RegistryKind, province_code: Option<&str>)
    -> Result<Vec<RegistryRecord>, StoreError>;

    /// The changes of one record, oldest first.
    async fn record_history(&self, kind: RegistryKind, key: &str) -> Result<Vec<RegistryChange>, StoreError>;

    /// Adds `scans` views of a product's page on `day` (`YYYY-MM-DD`) to its
    /// count. Nothing about the scanners is kept.
    async fn add_scans(&self, product: &str, day: &str, scans: u64) -> Result<(), StoreError>;

    /// A product's scans by day, oldest first.
    async fn scans(&self, product: &str) -> Result<Vec<(String, u64)>, StoreError>;

    /// Every record, change and scan, for a copy.
    async fn registry_history(&self) -> Result<RegistryHistory, StoreError>;

    /// Writes registries kept elsewhere, with their history's times and
    /// actors and their scans, in one transaction. `Ok(false)` when the
    /// store keeps these very registries already (a copy run again) or
    /// `history` is empty.
    ///
    /// # Errors
    /// [`StoreError::HistoryHeld`] when the store keeps registries of its own.
    async fn restore_registry_history(&self, history: &RegistryHistory) -> Result<bool, StoreError>;
}

/// The repeated key of `records`, if any.
pub(crate) fn repeated_key(records: &[RegistryRecord]) -> Option<&str> {
    let mut seen = std::collections::HashSet::with_capacity(records.len());
    records.iter().map(|r| r.key.as_str()).find(|k| !seen.insert(*k))
}
