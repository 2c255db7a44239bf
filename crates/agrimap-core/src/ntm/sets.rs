//! The criteria sets as data: the store keeps every version of every set
//! (the shipped ones are added by the store itself); readers get the
//! newest version of each unless they ask for another.

use crate::Core;
use crate::error::{CoreError, ErrorKind, echo};
use agrimap_model::ntm::{CriteriaSet, Level, SetError};
use agrimap_store::Store;
use agrimap_store::ntm::StoredSet;

impl From<SetError> for CoreError {
    fn from(e: SetError) -> Self {
        let code = match &e {
            SetError::Json(_) | SetError::Invalid(_) => "bad_criteria_set",
            SetError::WrongUnit { .. } => "wrong_unit",
            SetError::OutOfRange { .. } => "value_out_of_range",
        };
        Self::new(ErrorKind::Unprocessable, code, e.to_string())
    }
}

/// Reads, checks and keeps a set file; `true` when it was new, `false`
/// when that very version was kept already.
///
/// # Errors
/// `bad_criteria_set` naming the fault (nothing kept), `set_version_taken`
/// when the version holds another document, or a store failure.
pub async fn load(store: &dyn Store, bytes: &[u8]) -> Result<(CriteriaSet, bool), CoreError> {
    let set = CriteriaSet::parse(bytes)?;
    let text = std::str::from_utf8(bytes)
        .map_err(|_| CoreError::new(ErrorKind::Unprocessable, "bad_criteria_set", "the file is not UTF-8"))?;
    let added = store
        .add_criteria_set(&StoredSet {
            id: set.id.clone(),
            version: set.version,
            document: text.to_owned(),
        })
        .await?;
    Ok((set, added))
}

/// Every stored version of every set, parsed, by id then version. A stored
/// document that no longer parses (a newer agrimap's format) is left out.
///
/// # Errors
/// The store's.
pub async fn all_versions(store: &dyn Store) -> Result<Vec<CriteriaSet>, CoreError> {
    Ok(store
        .criteria_sets()
        .await?
        .iter()
        .filter_map(|s| match CriteriaSet::parse(s.document.as_bytes()) {
            Ok(set) => Some(set),
            Err(e) => {
                tracing::warn!(set = %s.id, version = s.version, cause = %e, "stored criteria set does not parse");
                None
            }
        })
        .collect())
}

/// The newest version of each set.
#[must_use]
pub fn newest(all: Vec<CriteriaSet>) -> Vec<CriteriaSet> {
    let mut out: Vec<CriteriaSet> = Vec::new();
    for set in all {
        match out.iter_mut().find(|s| s.id == set.id) {
            Some(held) if held.version < set.version => *held = set,
            Some(_) => {}
            None => out.push(set),
        }
    }
    out
}

impl Core {
    /// The newest version of every criteria set, with the versions kept of each.
    ///
    /// # Errors
    /// The store's.
    pub async fn ntm_sets(&self) -> Result<Vec<(CriteriaSet, Vec<u32>)>, CoreError> {
        let all = all_versions(self.store.as_ref()).await?;
        let versions = |id: &str| all.iter().filter(|s| s.id == id).map(|s| s.version).collect::<Vec<_>>();
        Ok(newest(all.clone())
            .into_iter()
            .map(|s| {
                let v = versions(&s.id);
                (s, v)
            })
            .collect())
    }

    /// One set: its newest version, or `version`.
    ///
    /// # Errors
    /// `unknown_criteria_set`, or the store's.
    pub async fn ntm_set(&self, id: &str, version: Option<u32>) -> Result<CriteriaSet, CoreError> {
        let all = all_versions(self.store.as_ref()).await?;
        let found = match version {
            Some(v) => all.into_iter().find(|s| s.id == id && s.version == v),
            None => newest(all).into_iter().find(|s| s.id == id),
        };
        found.ok_or_else(|| {
            CoreError::not_found(
                "unknown_criteria_set",
                format!(
                    "no criteria set '{}'{}",
                    echo(id, 64),
                    version.map(|v| format!(" version {v}")).unwrap_or_default()
                ),
            )
        })
    }

    /// The set a commune's scorecard for `year` is held to: `id` when
    /// given, else the newest complete standard set whose period covers the year.
    ///
    /// # Errors
    /// `unknown_criteria_set`, `incomplete_criteria_set`, `no_criteria_set`
    /// (no set covers the year), or the store's.
    pub async fn ntm_set_for(&self, id: Option<&str>, year: i32) -> Result<CriteriaSet, CoreError> {
        let set = match id {
            Some(id) => self.ntm_set(id, None).await?,
            None => newest(all_versions(self.store.as_ref()).await?)
                .into_iter()
                .filter(|s| s.level == Level::Standard && s.complete && s.covers(year))
                .max_by_key(|s| s.period.from)
                .ok_or_else(|| {
                    CoreError::not_found(
                        "no_criteria_set",
                        format!("no complete standard criteria set covers {year}; load one with `agrimap ntm load`"),
                    )
                })?,
        };
        if !set.complete {
            return Err(CoreError::new(
                ErrorKind::Unprocessable,
                "incomplete_criteria_set",
                format!(
                    "criteria set '{}' is not fully transcribed yet (see its notes); no scorecard is computed against it",
                    set.id
                ),
            ));
        }
        if !set.covers(year) {
            return Err(CoreError::invalid(
                "year_outside_set",
                format!(
                    "criteria set '{}' covers {}–{}, not {year}",
                    set.id, set.period.from, set.period.to
                ),
            ));
        }
        Ok(set)
    }
}
