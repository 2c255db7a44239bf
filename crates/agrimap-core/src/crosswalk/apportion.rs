//! Values by pre-2025 commune turned into values by 2025 commune (a table
//! such as 2024 rice output by commune, as `old_code,value` CSV).
//!
//! An old commune that went whole into one new commune gives it its whole
//! value; one split between several gives each the part of its area that
//! lies there (the overlay's shares of the new communes the list names,
//! normalised to sum to 1). Values are split in whole units of their
//! decimal places ([`decimal::split`]), so each old commune's parts, and
//! the table's total, add up exactly to what was given.

use super::columns::{RowErrors, positions};
use super::decimal::{self, Decimal};
use super::overlay::Overlay;
use crate::csv_lines::Lines;
use crate::error::{CoreError, ErrorKind, echo};
use agrimap_store::CrosswalkPair;
use serde::Serialize;
use std::collections::BTreeMap;

/// Error code of a table that cannot be read.
pub const BAD_TABLE: &str = "bad_table";
/// Error code of a table naming codes the crosswalk does not have.
pub const UNKNOWN_CODE: &str = "unknown_commune";

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldValue {
    pub line: u64,
    pub old_code: String,
    pub value: Decimal,
}

/// Reads an `old_code,value` table (other columns ignored).
///
/// # Errors
/// `bad_table` naming the lines with an empty code, a value that is not a
/// decimal number, or a code given twice.
pub fn parse_values(bytes: &[u8]) -> Result<Vec<OldValue>, CoreError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|e| CoreError::invalid(BAD_TABLE, format!("the header cannot be read: {e}")))?
        .clone();
    let [code_at, value_at] = positions(&header, ["old_code", "value"], BAD_TABLE)?;
    let mut errors = RowErrors::default();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut rows = Vec::new();
    let mut lines = Lines::new(bytes);
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(lines.of(e.position()), format!("cannot be read: {e}"));
                continue;
            }
        };
        let line = lines.of(record.position());
        let code = record.get(code_at).unwrap_or("").trim().to_owned();
        let value = Decimal::parse(record.get(value_at).unwrap_or(""));
        match (code.is_empty(), value, seen.get(&code)) {
            (true, _, _) => errors.push(line, "old_code is empty"),
            (false, Err(e), _) => errors.push(line, format!("value {e}")),
            (false, Ok(_), Some(first)) => errors.push(
                line,
                format!("old_code '{}' is given already on line {first}", echo(&code, 20)),
            ),
            (false, Ok(value), None) => {
                seen.insert(code.clone(), line);
                rows.push(OldValue {
                    line,
                    old_code: code,
                    value,
                });
            }
        }
    }
    errors.into_result(BAD_TABLE, "the table")?;
    Ok(rows)
}

/// The value of one new commune.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewValue {
    pub new_code: String,
    pub new_name: String,
    pub new_province_code: String,
    /// The exact decimal sum, written with the table's decimal places.
    pub value: String,
    /// The old communes it got a part of.
    pub from: Vec<String>,
}

/// A table by new commune.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Apportioned {
    /// Digits after the point of every value (the most any input value had).
    pub decimals: u32,
    /// By new code.
    pub rows: Vec<NewValue>,
    /// Sum of the input, and of `rows`: always equal.
    pub total: String,
    pub old_communes: usize,
}

/// Splits each old commune's value over its new communes.
///
/// # Errors
/// `unknown_commune` (invalid) naming the lines of codes the list does not
/// have; `cannot_split` (unprocessable) naming those split between several
/// new communes none of whose boundaries meet the old one's (boundaries not loaded).
pub fn apportion(
    rows: &[OldValue],
    pairs: &BTreeMap<String, Vec<CrosswalkPair>>,
    overlay: &Overlay,
) -> Result<Apportioned, CoreError> {
    let mut unknown = RowErrors::default();
    let mut unsplittable = RowErrors::default();
    let scale = rows.iter().map(|r| r.value.scale).max().unwrap_or(0);
    // new code -> (pair naming it, units, old codes)
    let mut by_new: BTreeMap<&str, (&CrosswalkPair, i128, Vec<String>)> = BTreeMap::new();
    let mut total: i128 = 0;
    for row in rows {
        let Some(targets) = pairs.get(&row.old_code).filter(|t| !t.is_empty()) else {
            unknown.push(
                row.line,
                format!("'{}' is no pre-2025 commune of the crosswalk", echo(&row.old_code, 20)),
            );
            continue;
        };
        let weights: Vec<f64> = if targets.len() == 1 {
            vec![1.0]
        } else {
            targets
                .iter()
                .map(|p| overlay.share(&row.old_code, &p.new_code))
                .collect()
        };
        if weights.iter().sum::<f64>() <= 0.0 {
            let names: Vec<&str> = targets.iter().map(|p| p.new_code.as_str()).collect();
            unsplittable.push(
                row.line,
                format!(
                    "'{}' was split between {} but its boundary meets none of theirs (are both boundary sets loaded?)",
                    row.old_code,
                    names.join(", ")
                ),
            );
            continue;
        }
        let units = row.value.at_scale(scale);
        total += units;
        for (pair, part) in targets.iter().zip(decimal::split(units, &weights)) {
            let entry = by_new.entry(pair.new_code.as_str()).or_insert((pair, 0, Vec::new()));
            entry.1 += part;
            entry.2.push(row.old_code.clone());
        }
    }
    unknown.into_result(UNKNOWN_CODE, "the table")?;
    unsplittable
        .into_result("cannot_split", "the table")
        .map_err(|e| CoreError {
            kind: ErrorKind::Unprocessable,
            ..e
        })?;
    let rows_out: Vec<NewValue> = by_new
        .into_values()
        .map(|(pair, units, from)| NewValue {
            new_code: pair.new_code.clone(),
            new_name: pair.new_name.clone(),
            new_province_code: pair.new_province_code.clone(),
            value: decimal::format_units(units, scale),
            from,
        })
        .collect();
    Ok(Apportioned {
        decimals: scale,
        rows: rows_out,
        total: decimal::format_units(total, scale),
        old_communes: rows.len(),
    })
}

/// The table as CSV: `new_code,new_name,new_province_code,value`.
#[must_use]
pub fn to_csv(table: &Apportioned) -> String {
    super::csv_text(
        &["new_code", "new_name", "new_province_code", "value"][..],
        table
            .rows
            .iter()
            .map(|r| [r.new_code.as_str(), &r.new_name, &r.new_province_code, &r.value]),
    )
}
