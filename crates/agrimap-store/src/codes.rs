//! The store's value lists ([`agrimap_model::codes`]): read, added to and
//! retired without a migration. Both backends keep them in one table
//! seeded with the national defaults when it is made (and, for a store made
//! before the lists were data, when it is first opened); a seeded code is
//! never seeded again, so a retired default stays retired.

use crate::StoreError;
use agrimap_model::Code;

/// The code lists of a store.
#[async_trait::async_trait]
pub trait CodeStore: Send + Sync + 'static {
    /// Every code of every list, retired ones included, by list and code.
    async fn codes(&self) -> Result<Vec<Code>, StoreError>;

    /// Adds a code to its list ([`Code::check`] first).
    ///
    /// # Errors
    /// [`StoreError::Code`] for an invalid code or one the list has.
    async fn add_code(&self, code: &Code) -> Result<(), StoreError>;

    /// Retires a code: it stays readable, but no new feature may take it.
    /// Refused, in the same transaction that counts them, while features
    /// use it ([`agrimap_model::codes::fields_using`]).
    ///
    /// # Errors
    /// [`StoreError::Code`]: an unknown list or code, or a code in use
    /// (with the number of features).
    async fn retire_code(&self, list: &str, code: &str) -> Result<(), StoreError>;
}

/// The refusal when features use a code: how many, and in which fields.
pub(crate) fn in_use(list: &str, code: &str, uses: &[(&str, &str, u64)]) -> Option<StoreError> {
    let features: u64 = uses.iter().map(|(_, _, n)| n).sum();
    (features > 0).then(|| {
        let fields = uses
            .iter()
            .filter(|(_, _, n)| *n > 0)
            .map(|(layer, field, n)| format!("{layer}.{field}: {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        agrimap_model::codes::CodeError::InUse {
            list: list.to_owned(),
            code: code.to_owned(),
            features,
            fields,
        }
        .into()
    })
}

/// Checks that `list` is a list before a retirement touches anything.
pub(crate) fn known_list(list: &str) -> Result<(), StoreError> {
    if agrimap_model::codes::is_code_list(list) {
        Ok(())
    } else {
        Err(agrimap_model::codes::CodeError::UnknownList(agrimap_model::echo(list, 60)).into())
    }
}
