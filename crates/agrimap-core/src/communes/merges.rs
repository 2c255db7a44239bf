//! Which pre-2025 provinces the 1 July 2025 reform merged into which 2025
//! province. The official list names communes, not provinces, so a merge is
//! known from the old communes the store holds: Sóc Trăng (94) went into
//! the merged Cần Thơ (92) once the list and Sóc Trăng's old communes are
//! loaded. Every place that follows the merge (a province's selection, a
//! token's provinces, alerts, the registry rules) asks this one map.

use super::CommuneIndex;
use super::former::FormerNames;
use crate::error::CoreError;
use agrimap_model::BoundarySet;
use agrimap_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Pre-2025 province → the 2025 province the list sends its old communes into.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ProvinceMerges {
    into: HashMap<String, String>,
}

impl ProvinceMerges {
    /// The merges `former` (the list) makes of the old communes `index` holds.
    #[must_use]
    pub fn new(former: &FormerNames, index: &CommuneIndex) -> Self {
        let into = former
            .iter()
            .filter_map(|f| {
                let old = index.get(&f.old_code, Some(BoundarySet::Pre2025))?;
                Some((old.province_code.clone(), f.new_province.clone()))
            })
            .collect();
        Self { into }
    }

    /// The 2025 province `province` went into; itself when the list does
    /// not say (a 2025 province, or an old one whose communes are not held).
    #[must_use]
    pub fn after<'a>(&'a self, province: &'a str) -> &'a str {
        self.into.get(province).map_or(province, String::as_str)
    }

    /// The pre-2025 provinces merged into the 2025 province `code`, in code
    /// order, without `code` itself.
    #[must_use]
    pub fn merged_into(&self, code: &str) -> Vec<String> {
        let mut merged: Vec<String> = self
            .into
            .iter()
            .filter(|(old, new)| *new == code && *old != code)
            .map(|(old, _)| old.clone())
            .collect();
        merged.sort_unstable();
        merged
    }

    /// What a token limited to `provinces` covers: those provinces, then the
    /// pre-2025 provinces merged into any of them (whose data is still
    /// coded by their old communes). Empty stays empty: every province.
    #[must_use]
    pub fn coverage(&self, provinces: &[String]) -> Vec<String> {
        let mut covered = provinces.to_vec();
        for p in provinces {
            for old in self.merged_into(p) {
                if !covered.contains(&old) {
                    covered.push(old);
                }
            }
        }
        covered
    }
}

/// The merges of the list and index last read, made again when either is.
#[derive(Debug, Default)]
pub struct MergesCache {
    current: Mutex<Option<Kept>>,
}

type Kept = (Arc<FormerNames>, Arc<CommuneIndex>, Arc<ProvinceMerges>);

impl MergesCache {
    /// The merges of `former` and `index`.
    #[must_use]
    pub fn get(&self, former: &Arc<FormerNames>, index: &Arc<CommuneIndex>) -> Arc<ProvinceMerges> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((f, i, merges)) = current.as_ref()
            && Arc::ptr_eq(f, former)
            && Arc::ptr_eq(i, index)
        {
            return merges.clone();
        }
        let merges = Arc::new(ProvinceMerges::new(former, index));
        *current = Some((former.clone(), index.clone(), merges.clone()));
        merges
    }
}

impl super::CommuneCache {
    /// The province merges of the store's list and communes.
    ///
    /// # Errors
    /// The store's.
    pub async fn merges(&self, store: &dyn Store) -> Result<Arc<ProvinceMerges>, CoreError> {
        let index = self.index(store).await?;
        let former = self.former.get(store).await?;
        Ok(self.merges.get(&former, &index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merges(pairs: &[(&str, &str)]) -> ProvinceMerges {
        ProvinceMerges {
            into: pairs.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect(),
        }
    }

    #[test]
    fn a_2025_province_covers_the_provinces_merged_into_it() {
        let m = merges(&[("94", "92"), ("93", "92"), ("92", "92"), ("87", "82"), ("82", "82")]);
        assert_eq!(m.after("94"), "92");
        assert_eq!(m.after("92"), "92");
        assert_eq!(m.after("99"), "99", "a province the list does not name");
        assert_eq!(m.merged_into("92"), ["93", "94"]);
        assert!(m.merged_into("94").is_empty(), "an old province covers no other");
        let owned = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            m.coverage(&owned(&["82", "92"])),
            owned(&["82", "92", "87", "93", "94"])
        );
        assert_eq!(m.coverage(&owned(&["82", "87"])), owned(&["82", "87"]));
        assert!(m.coverage(&[]).is_empty(), "every province stays every province");
    }
}
