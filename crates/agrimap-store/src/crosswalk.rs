//! The official commune crosswalk of the 1 July 2025 reorganisation: which
//! pre-2025 commune went (wholly or in part) into which 2025 commune, as
//! the resolutions list them. A store keeps one list, replaced as a whole.

use crate::StoreError;

/// Whether the whole old commune went into the new one, or only part of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PairKind {
    Full,
    Partial,
}

impl PairKind {
    /// The value stored and written in files: `full` or `partial`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Partial => "partial",
        }
    }

    /// Reads `full` or `partial`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "full" => Some(Self::Full),
            "partial" => Some(Self::Partial),
            _ => None,
        }
    }
}

/// One (old commune, new commune) pair of the list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CrosswalkPair {
    pub old_code: String,
    pub old_name: String,
    pub new_province_code: String,
    pub new_province_name: String,
    pub new_code: String,
    pub new_name: String,
    pub kind: PairKind,
}

/// Which pairs to read: those of one old commune, of one new commune, or
/// (neither given) every pair.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrosswalkQuery {
    pub old_code: Option<String>,
    pub new_code: Option<String>,
}

/// The crosswalk list.
#[async_trait::async_trait]
pub trait CrosswalkStore: Send + Sync + 'static {
    /// Puts `pairs` in place of the stored list, in one transaction; returns
    /// how many were stored. Two pairs of the same (old, new) codes are
    /// refused, and then the stored list is unchanged.
    async fn replace_crosswalk(&self, pairs: Vec<CrosswalkPair>) -> Result<usize, StoreError>;

    /// The pairs matching `query`, by old code then new code.
    async fn crosswalk(&self, query: &CrosswalkQuery) -> Result<Vec<CrosswalkPair>, StoreError>;
}
