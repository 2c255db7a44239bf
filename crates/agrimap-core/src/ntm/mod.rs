//! New rural development (nông thôn mới, NTM): where a commune's standing
//! against the national criteria is assessed, evidenced, appraised and
//! recognised.
//!
//! - [`sets`]: the criteria sets as data (listed, read, loaded: a new
//!   period's set is a file, not code).
//! - [`layers`]: the figures agrimap computes from its layers for the
//!   indicators they can evidence, each with links to its features.
//! - [`scorecard`]: a commune's indicators for a year: value, target,
//!   verdict, where the value came from, and what an editor entered.
//! - [`files`]: evidence files (type-checked, size-limited, by SHA-256).
//! - [`workflow`]: the dossier's moves, who may make them, and its history.
//! - [`dashboard`]: the province's roll-up, kept until what it reads changes.
//!
//! Who may do what ([`Actor`]): editors enter values and submit (a commune
//! office holds an editor token of its province), planners appraise and
//! return, admins recognise and revoke; a token limited to provinces acts
//! only on their communes.

pub mod dashboard;
pub mod documents;
pub mod files;
pub mod layers;
pub mod scorecard;
pub mod sets;
pub mod workflow;

use crate::communes::Commune;
use crate::error::{CoreError, ErrorKind};
use agrimap_model::Role;

/// Who acts on a dossier: the role and provinces of their token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub role: Role,
    /// The token's id (kept in the history), or `cli` from the command line.
    pub id: String,
    /// The provinces the token is limited to; empty for every province.
    pub provinces: Vec<String>,
}

impl Actor {
    /// The command line: an admin of every province.
    #[must_use]
    pub fn cli() -> Self {
        Self {
            role: Role::Admin,
            id: "cli".into(),
            provinces: Vec::new(),
        }
    }

    /// Refuses an actor whose token is limited to provinces other than the commune's.
    ///
    /// # Errors
    /// `outside_provinces` (forbidden).
    pub fn may_act_in(&self, commune: &Commune) -> Result<(), CoreError> {
        if self.provinces.is_empty() || self.provinces.contains(&commune.province_code) {
            Ok(())
        } else {
            Err(CoreError::new(
                ErrorKind::Forbidden,
                "outside_provinces",
                format!(
                    "commune {} is in province {}, and this token is limited to {}",
                    commune.code,
                    commune.province_code,
                    self.provinces.join(", ")
                ),
            ))
        }
    }
}
