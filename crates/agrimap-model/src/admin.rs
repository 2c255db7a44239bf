//! Administrative identity.
//!
//! Vietnam reorganised its administrative units on 1 July 2025: districts were
//! abolished and many communes merged. A commune code alone is therefore
//! ambiguous across time; a commune is identified by its code *and* the boundary
//! set it belongs to. Every thematic feature stores both, so a crosswalk between
//! sets can be added later without changing any layer schema.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The set of administrative boundaries a code refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BoundarySet {
    /// Province / district / commune, valid until 30 June 2025.
    #[serde(rename = "pre-2025")]
    Pre2025,
    /// Province / commune, valid from 1 July 2025.
    #[serde(rename = "2025")]
    Y2025,
}

impl BoundarySet {
    /// The value stored in the `boundary_set` field of every layer.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pre2025 => "pre-2025",
            Self::Y2025 => "2025",
        }
    }

    /// Parses the stored value.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pre-2025" => Some(Self::Pre2025),
            "2025" => Some(Self::Y2025),
            _ => None,
        }
    }
}

impl fmt::Display for BoundarySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The full identity of a commune: official code plus boundary set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CommuneKey {
    pub code: String,
    pub boundary_set: BoundarySet,
}
