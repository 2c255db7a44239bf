//! The names communes had before the 1 July 2025 reorganisation, from the
//! official crosswalk: people still call the commune they live in by its
//! old name (`Phường 5` of Sóc Trăng), so a search for it also finds the
//! 2025 commune it went into.
//!
//! The list has no change counter, so what is read of it is kept for a
//! minute: a list imported anew is searched within a minute.

use super::search::{Name, Rank, Search};
use super::{Commune, CommuneIndex};
use crate::error::CoreError;
use agrimap_model::BoundarySet;
use agrimap_model::search::{fold, normalize};
use agrimap_store::{CrosswalkPair, CrosswalkQuery, PairKind, Store};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long the list read is kept.
const KEPT_FOR: Duration = Duration::from_mins(1);

/// An old commune and the 2025 commune it went into (wholly or in part).
#[derive(Debug)]
pub struct Former {
    pub old_code: String,
    pub old_name: String,
    pub new_code: String,
    /// The 2025 province of `new_code`.
    pub new_province: String,
    /// The old commune went wholly into `new_code` (else it was split
    /// among several 2025 communes).
    pub whole: bool,
    normalized: String,
    folded: String,
    words: Vec<String>,
}

/// Every (old name, new commune) pair of the list.
#[derive(Debug, Default)]
pub struct FormerNames {
    names: Vec<Former>,
}

impl FormerNames {
    #[must_use]
    pub fn new(pairs: Vec<CrosswalkPair>) -> Self {
        let names = pairs
            .into_iter()
            .map(|p| {
                let folded = fold(&p.old_name);
                Former {
                    normalized: normalize(&p.old_name),
                    words: folded.split(' ').map(str::to_owned).collect(),
                    folded,
                    old_code: p.old_code,
                    old_name: p.old_name,
                    new_code: p.new_code,
                    new_province: p.new_province_code,
                    whole: p.kind == PairKind::Full,
                }
            })
            .collect();
        Self { names }
    }

    /// Every pair of the list.
    pub fn iter(&self) -> impl Iterator<Item = &Former> {
        self.names.iter()
    }

    /// The old communes the list sends into the 2025 commune `code`: those
    /// that went wholly into it, and those split among it and others.
    #[must_use]
    pub fn predecessors(&self, code: &str) -> (Vec<&str>, Vec<&str>) {
        let mut whole = Vec::new();
        let mut split = Vec::new();
        for f in self.names.iter().filter(|f| f.new_code == code) {
            if f.whole {
                whole.push(f.old_code.as_str());
            } else {
                split.push(f.old_code.as_str());
            }
        }
        (whole, split)
    }

    /// The 2025 communes the old commune `old_code` went into, in list order.
    #[must_use]
    pub fn successors(&self, old_code: &str) -> Vec<&str> {
        self.names
            .iter()
            .filter(|f| f.old_code == old_code)
            .map(|f| f.new_code.as_str())
            .collect()
    }

    /// The old communes whose name matches `text`, best match first, each
    /// with the 2025 commune of `index` it went into (of `province` when
    /// given); old communes that went into no commune the store holds are
    /// left out. At most `limit`.
    #[must_use]
    pub fn find<'a>(
        &'a self,
        index: &'a CommuneIndex,
        text: &str,
        province: Option<&str>,
        limit: usize,
    ) -> Vec<(&'a Former, &'a Commune)> {
        if text.trim().is_empty() {
            return Vec::new();
        }
        let search = Search::new(text);
        let mut found: Vec<(Rank, &Former, &Commune)> = self
            .names
            .iter()
            .filter_map(|f| {
                let rank = search.rank_name(&Name {
                    normalized: &f.normalized,
                    folded: &f.folded,
                    words: &f.words,
                })?;
                let commune = index
                    .get(&f.new_code, Some(BoundarySet::Y2025))
                    .filter(|c| province.is_none_or(|p| c.province_code == p))?;
                Some((rank, f, commune))
            })
            .collect();
        found.sort_by(|(ra, a, _), (rb, b, _)| (ra, &a.folded, &a.old_code).cmp(&(rb, &b.folded, &b.old_code)));
        found.into_iter().take(limit).map(|(_, f, c)| (f, c)).collect()
    }
}

/// The former names, read from the store at most once a minute.
#[derive(Debug, Default)]
pub struct FormerCache {
    current: Mutex<Option<(Instant, Arc<FormerNames>)>>,
}

impl FormerCache {
    /// The former names as the store's list held them within the last minute.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn get(&self, store: &dyn Store) -> Result<Arc<FormerNames>, CoreError> {
        let kept = self.current.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some((_, names)) = kept.filter(|(read_at, _)| read_at.elapsed() < KEPT_FOR) {
            return Ok(names);
        }
        let names = Arc::new(FormerNames::new(store.crosswalk(&CrosswalkQuery::default()).await?));
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), names.clone()));
        Ok(names)
    }
}
