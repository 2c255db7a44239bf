//! New rural development (nông thôn mới, NTM): the national criteria as
//! data, a commune's verdict on each indicator, and the states of its
//! yearly dossier.
//!
//! - [`set`]: a criteria set (criteria, indicators, units, targets by
//!   region, the source document), read from a versioned JSON file and
//!   checked ([`CriteriaSet::parse`]); the sets agrimap ships
//!   ([`shipped_sets`]).
//! - [`verdict`]: an indicator's value judged against its target.
//! - [`dossier`]: the recognition workflow's states and the moves between them.

pub mod dossier;
pub mod set;
pub mod verdict;

pub use dossier::{DossierState, Level};
pub use set::{CriteriaSet, Criterion, Indicator, Judged, Region, SetError, Target, Unit};
pub use verdict::{EntryValue, Verdict};

/// The criteria set files shipped in `data/ntm/`, one per set and version.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "ntm-commune-2021-2025.v1.json",
        include_str!("../../../../data/ntm/ntm-commune-2021-2025.v1.json"),
    ),
    (
        "ntm-advanced-commune-2021-2025.v1.json",
        include_str!("../../../../data/ntm/ntm-advanced-commune-2021-2025.v1.json"),
    ),
    (
        "ntm-model-commune-2021-2025.v1.json",
        include_str!("../../../../data/ntm/ntm-model-commune-2021-2025.v1.json"),
    ),
];

/// The shipped sets, parsed and checked.
///
/// # Panics
/// Never for the files as shipped: a unit test parses each one.
#[must_use]
pub fn shipped_sets() -> Vec<CriteriaSet> {
    SHIPPED
        .iter()
        .map(|(name, text)| {
            CriteriaSet::parse(text.as_bytes()).unwrap_or_else(|e| panic!("shipped criteria set {name}: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_set_parses_and_the_national_one_has_19_criteria() {
        let sets = shipped_sets();
        assert_eq!(sets.len(), SHIPPED.len());
        let national = sets
            .iter()
            .find(|s| s.id == "ntm-commune-2021-2025")
            .expect("national set");
        assert_eq!(national.criteria.len(), 19);
        let ids: Vec<&str> = national.criteria.iter().map(|c| c.id.as_str()).collect();
        let want: Vec<String> = (1..=19).map(|n| n.to_string()).collect();
        assert_eq!(ids, want.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(national.indicator("13.4").is_some());
        assert!(national.indicator("3.1").is_some());
        assert!(national.complete);
        for set in &sets {
            assert!(set.source.document.contains("318/QĐ-TTg"), "{}", set.id);
        }
    }
}
