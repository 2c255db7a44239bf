//! The official list checked against the boundaries: where the overlay of
//! the loaded pre-2025 and 2025 communes disagrees with the pairs the list
//! gives, and which codes are in one and not in the other.
//!
//! Real boundaries overlap their neighbours and leave slivers, so a part
//! smaller than [`MIN_SHARE`] of the old commune is not counted as a place
//! it went to; the report states the threshold it used.

use super::overlay::Overlay;
use agrimap_store::{CrosswalkPair, PairKind};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Parts of an old commune smaller than this share of its area are slivers.
pub const MIN_SHARE: f64 = 0.01;
/// A `full` pair whose new commune holds less than this share of the old one is reported.
pub const FULL_MIN_SHARE: f64 = 0.9;

/// A loaded commune, as the check needs it.
#[derive(Debug, Clone, Copy)]
pub struct Loaded<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub province_code: &'a str,
}

/// An old commune whose largest part lies in a new commune the list does not name for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LargestElsewhere {
    pub old_code: String,
    pub old_name: String,
    /// The new commune holding the largest part.
    pub new_code: String,
    pub new_name: String,
    pub share: f64,
    /// The new communes the list names for it.
    pub listed: Vec<String>,
}

/// A `full` pair whose new commune holds less than [`FULL_MIN_SHARE`] of the old one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FullBelow {
    pub old_code: String,
    pub old_name: String,
    pub new_code: String,
    pub new_name: String,
    pub share: f64,
}

/// A code with its name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Coded {
    pub code: String,
    pub name: String,
}

/// What the check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Parts below this share of an old commune were not counted ([`MIN_SHARE`]).
    pub min_share: f64,
    /// `full` pairs below this share are listed ([`FULL_MIN_SHARE`]).
    pub full_min_share: f64,
    /// Pre-2025 and 2025 communes loaded, and pairs of the list with both loaded.
    pub old_loaded: usize,
    pub new_loaded: usize,
    pub pairs_checked: usize,
    /// Old communes (with a listed new commune loaded) whose largest part lies in a new commune the list does not name.
    pub largest_share_unlisted: Vec<LargestElsewhere>,
    /// Old communes (with a listed new commune loaded) no part of which reaches `min_share` in any loaded new commune.
    pub old_not_covered: Vec<Coded>,
    pub full_pairs_below: Vec<FullBelow>,
    /// Old codes the list gives for a loaded new province, not loaded as pre-2025 communes.
    pub listed_old_not_loaded: Vec<Coded>,
    /// New codes the list gives for a loaded new province, not loaded as 2025 communes.
    pub listed_new_not_loaded: Vec<Coded>,
    /// Loaded pre-2025 communes the list does not have as old communes.
    pub loaded_old_not_listed: Vec<Coded>,
    /// Loaded 2025 communes the list does not have as new communes.
    pub loaded_new_not_listed: Vec<Coded>,
}

fn by_code<'a>(loaded: &[Loaded<'a>]) -> BTreeMap<&'a str, Loaded<'a>> {
    loaded.iter().map(|l| (l.code, *l)).collect()
}

fn coded(code: &str, name: &str) -> Coded {
    Coded {
        code: code.to_owned(),
        name: name.to_owned(),
    }
}

/// Checks the list against the overlay of the loaded communes.
#[must_use]
pub fn check(pairs: &[CrosswalkPair], old: &[Loaded<'_>], new: &[Loaded<'_>], overlay: &Overlay) -> Report {
    let (old_by_code, new_by_code) = (by_code(old), by_code(new));
    let new_provinces: BTreeSet<&str> = new.iter().map(|l| l.province_code).collect();
    let mut listed: BTreeMap<&str, Vec<&CrosswalkPair>> = BTreeMap::new();
    for p in pairs {
        listed.entry(p.old_code.as_str()).or_default().push(p);
    }
    let mut report = Report {
        min_share: MIN_SHARE,
        full_min_share: FULL_MIN_SHARE,
        old_loaded: old_by_code.len(),
        new_loaded: new_by_code.len(),
        pairs_checked: pairs
            .iter()
            .filter(|p| old_by_code.contains_key(p.old_code.as_str()) && new_by_code.contains_key(p.new_code.as_str()))
            .count(),
        largest_share_unlisted: Vec::new(),
        old_not_covered: Vec::new(),
        full_pairs_below: Vec::new(),
        listed_old_not_loaded: Vec::new(),
        listed_new_not_loaded: Vec::new(),
        loaded_old_not_listed: Vec::new(),
        loaded_new_not_listed: Vec::new(),
    };
    for (code, o) in &old_by_code {
        let Some(targets) = listed.get(code) else {
            report.loaded_old_not_listed.push(coded(code, o.name));
            continue;
        };
        if !targets.iter().any(|p| new_by_code.contains_key(p.new_code.as_str())) {
            // It went to new communes that are not loaded: nothing to compare.
            continue;
        }
        let names: Vec<String> = targets.iter().map(|p| p.new_code.clone()).collect();
        match overlay.of_old(code).first().filter(|s| s.share >= MIN_SHARE) {
            None => report.old_not_covered.push(coded(code, o.name)),
            Some(largest) if !names.contains(&largest.new_code) => {
                report.largest_share_unlisted.push(LargestElsewhere {
                    old_code: (*code).to_owned(),
                    old_name: o.name.to_owned(),
                    new_code: largest.new_code.clone(),
                    new_name: new_by_code
                        .get(largest.new_code.as_str())
                        .map_or_else(String::new, |n| n.name.to_owned()),
                    share: largest.share,
                    listed: names,
                });
            }
            Some(_) => {}
        }
        for p in targets.iter().filter(|p| p.kind == PairKind::Full) {
            let share = overlay.share(code, &p.new_code);
            if new_by_code.contains_key(p.new_code.as_str()) && share < FULL_MIN_SHARE {
                report.full_pairs_below.push(FullBelow {
                    old_code: (*code).to_owned(),
                    old_name: o.name.to_owned(),
                    new_code: p.new_code.clone(),
                    new_name: p.new_name.clone(),
                    share,
                });
            }
        }
    }
    let listed_new: BTreeSet<&str> = pairs.iter().map(|p| p.new_code.as_str()).collect();
    for (code, n) in &new_by_code {
        if !listed_new.contains(code) {
            report.loaded_new_not_listed.push(coded(code, n.name));
        }
    }
    let mut old_missing = BTreeSet::new();
    let mut new_missing = BTreeSet::new();
    for p in pairs
        .iter()
        .filter(|p| new_provinces.contains(p.new_province_code.as_str()))
    {
        if !old_by_code.contains_key(p.old_code.as_str()) {
            old_missing.insert(coded(&p.old_code, &p.old_name));
        }
        if !new_by_code.contains_key(p.new_code.as_str()) {
            new_missing.insert(coded(&p.new_code, &p.new_name));
        }
    }
    report.listed_old_not_loaded = old_missing.into_iter().collect();
    report.listed_new_not_loaded = new_missing.into_iter().collect();
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crosswalk::overlay::Share;

    fn pair(old: &str, new: &str, kind: PairKind) -> CrosswalkPair {
        CrosswalkPair {
            old_code: old.into(),
            old_name: format!("Xã {old}"),
            new_province_code: "92".into(),
            new_province_name: "Cần Thơ".into(),
            new_code: new.into(),
            new_name: format!("Xã {new}"),
            kind,
        }
    }

    fn share(old: &str, new: &str, share: f64) -> Share {
        Share {
            old_code: old.into(),
            new_code: new.into(),
            area_ha: share * 100.0,
            share,
        }
    }

    #[test]
    fn finds_each_kind_of_disagreement_and_ignores_slivers() {
        let pairs = [
            pair("1", "A", PairKind::Full),    // agrees
            pair("2", "B", PairKind::Full),    // lies mostly in A
            pair("3", "A", PairKind::Partial), // split as listed
            pair("3", "B", PairKind::Partial),
            pair("4", "C", PairKind::Full), // not loaded
            pair("5", "D", PairKind::Full), // neither loaded
        ];
        let overlay = Overlay {
            shares: vec![
                share("1", "A", 0.995),
                share("1", "B", 0.005),
                share("2", "A", 0.6),
                share("2", "B", 0.4),
                share("3", "A", 0.3),
                share("3", "B", 0.7),
                share("6", "B", 0.005),
            ],
        };
        let loaded = |codes: &'static [&'static str]| -> Vec<Loaded<'static>> {
            codes
                .iter()
                .map(|c| Loaded {
                    code: c,
                    name: c,
                    province_code: "92",
                })
                .collect()
        };
        let r = check(
            &pairs,
            &loaded(&["1", "2", "3", "6"]),
            &loaded(&["A", "B", "E"]),
            &overlay,
        );
        assert_eq!(r.pairs_checked, 4);
        assert_eq!(r.largest_share_unlisted.len(), 1);
        assert_eq!(
            (
                r.largest_share_unlisted[0].old_code.as_str(),
                r.largest_share_unlisted[0].new_code.as_str()
            ),
            ("2", "A")
        );
        assert_eq!(
            r.full_pairs_below
                .iter()
                .map(|f| f.old_code.as_str())
                .collect::<Vec<_>>(),
            ["2"]
        );
        assert_eq!(r.loaded_old_not_listed, [coded("6", "6")]);
        assert_eq!(r.loaded_new_not_listed, [coded("E", "E")]);
        assert_eq!(r.listed_old_not_loaded, [coded("4", "Xã 4"), coded("5", "Xã 5")]);
        assert_eq!(r.listed_new_not_loaded, [coded("C", "Xã C"), coded("D", "Xã D")]);
        assert!(r.old_not_covered.is_empty());
    }
}
