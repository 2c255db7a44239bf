//! The header of an uploaded CSV table: where each expected column is, in
//! any order, other columns ignored.

use crate::error::{CoreError, echo};

/// The position of each of `wanted` in `header` (names trimmed, lower case,
/// a byte-order mark dropped).
///
/// # Errors
/// `code` naming the missing columns and the header as read.
pub(super) fn positions<const N: usize>(
    header: &csv::StringRecord,
    wanted: [&str; N],
    code: &'static str,
) -> Result<[usize; N], CoreError> {
    let names: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_lowercase())
        .collect();
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|w| !names.iter().any(|n| n == w))
        .collect();
    if !missing.is_empty() {
        return Err(CoreError::invalid(
            code,
            format!(
                "the header has no column {}; it must name {} (it reads '{}')",
                missing.join(", "),
                wanted.join(", "),
                echo(&names.join(","), 200)
            ),
        ));
    }
    Ok(wanted.map(|w| names.iter().position(|n| n == w).unwrap_or_default()))
}

/// Problems found row by row, said in one message naming the lines.
#[derive(Debug, Default)]
pub(super) struct RowErrors(Vec<(u64, String)>);

/// How many bad rows one message names.
const SHOWN: usize = 20;

impl RowErrors {
    pub(super) fn push(&mut self, line: u64, message: impl Into<String>) {
        self.0.push((line, message.into()));
    }

    /// `Ok` when no row was bad, else one error naming the first bad rows and how many more.
    pub(super) fn into_result(self, code: &'static str, what: &str) -> Result<(), CoreError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let mut rows: Vec<String> = self
            .0
            .iter()
            .take(SHOWN)
            .map(|(line, message)| format!("line {line}: {message}"))
            .collect();
        if self.0.len() > SHOWN {
            rows.push(format!("and {} more", self.0.len() - SHOWN));
        }
        Err(CoreError::invalid(
            code,
            format!(
                "{} bad row(s) in {what}, nothing was used: {}",
                self.0.len(),
                rows.join("; ")
            ),
        ))
    }
}
