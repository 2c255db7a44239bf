//! Who acts through a core service: the role and provinces of their API
//! token (or the command line), shared by the NTM workflow and alert
//! subscriptions.

use crate::communes::Commune;
use crate::error::{CoreError, ErrorKind};
use agrimap_model::Role;

/// Who acts: the role and provinces of their token.
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
