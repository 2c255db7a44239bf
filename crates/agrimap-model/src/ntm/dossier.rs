//! The recognition workflow of a commune's yearly dossier:
//!
//! ```text
//! draft ──► submitted ──► appraised ──► recognised ──► revoked
//!   ▲           │  ▲          │                          │
//!   │           ▼  │          ▼                          │
//!   │        returned ◄───────┘                          │
//!   └────────────────── (submitted again) ◄──────────────┘
//! ```
//!
//! A dossier with no history is a draft. Who may make each move is the
//! core's business (`agrimap_core::ntm::workflow`); which moves exist is here.

use serde::{Deserialize, Serialize};

/// Where a dossier stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DossierState {
    Draft,
    Submitted,
    Appraised,
    Recognised,
    Returned,
    Revoked,
}

impl DossierState {
    pub const ALL: [Self; 6] = [
        Self::Draft,
        Self::Submitted,
        Self::Appraised,
        Self::Recognised,
        Self::Returned,
        Self::Revoked,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Appraised => "appraised",
            Self::Recognised => "recognised",
            Self::Returned => "returned",
            Self::Revoked => "revoked",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether a dossier in this state may move to `to`.
    #[must_use]
    pub fn may_move_to(self, to: Self) -> bool {
        use DossierState::{Appraised, Draft, Recognised, Returned, Revoked, Submitted};
        matches!(
            (self, to),
            (Draft | Returned | Revoked, Submitted)
                | (Submitted, Appraised | Returned)
                | (Appraised, Recognised | Returned)
                | (Recognised, Revoked)
        )
    }

    /// The states this one may move to.
    #[must_use]
    pub fn next(self) -> Vec<Self> {
        Self::ALL.into_iter().filter(|to| self.may_move_to(*to)).collect()
    }

    /// Whether an editor may still change the dossier's values: only before
    /// it is submitted, or once it came back.
    #[must_use]
    pub fn editable(self) -> bool {
        matches!(self, Self::Draft | Self::Returned | Self::Revoked)
    }
}

/// The level a commune is recognised at; also the level a criteria set is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Xã đạt chuẩn nông thôn mới.
    Standard,
    /// Xã nông thôn mới nâng cao.
    Advanced,
    /// Xã nông thôn mới kiểu mẫu.
    Model,
}

impl Level {
    pub const ALL: [Self; 3] = [Self::Standard, Self::Advanced, Self::Model];

    /// The value `ntm_status` takes on the commune layer.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Advanced => "advanced",
            Self::Model => "model",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_workflow_moves_exist() {
        use DossierState::{Appraised, Draft, Recognised, Returned, Revoked, Submitted};
        assert_eq!(Draft.next(), vec![Submitted]);
        assert_eq!(Submitted.next(), vec![Appraised, Returned]);
        assert_eq!(Appraised.next(), vec![Recognised, Returned]);
        assert_eq!(Recognised.next(), vec![Revoked]);
        assert_eq!(Returned.next(), vec![Submitted]);
        assert_eq!(Revoked.next(), vec![Submitted]);
        assert!(!Draft.may_move_to(Recognised));
        assert!(!Submitted.may_move_to(Recognised));
        for s in DossierState::ALL {
            assert_eq!(DossierState::parse(s.as_str()), Some(s));
        }
    }
}
