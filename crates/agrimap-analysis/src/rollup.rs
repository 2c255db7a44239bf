//! A table by commune, grouped by commune, district or province into rows.

use crate::aggregate::{Cell, Table};
use crate::zones::Zones;
use std::collections::BTreeMap;

/// The level rows are grouped at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Commune,
    District,
    Province,
}

/// One row of a statistics table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Code of the commune, district or province.
    pub code: String,
    /// The class key: the class values joined by
    /// [`CLASS_SEPARATOR`](crate::aggregate::CLASS_SEPARATOR), empty without class fields.
    pub class: String,
    /// One value per metric of the spec.
    pub values: Vec<f64>,
    /// Features assigned to the unit (each to the commune holding its largest part).
    pub features: u64,
}

/// Rows ordered by code, then class values.
#[must_use]
pub fn rollup(zones: &Zones, table: &Table, level: Level) -> Vec<Row> {
    let mut grouped: BTreeMap<(String, String), Cell> = BTreeMap::new();
    for ((zone, class), cell) in table {
        let z = zones.get(*zone);
        let into = grouped.entry((z.code_at(level).to_owned(), class.clone())).or_default();
        if into.values.is_empty() {
            into.values.clone_from(&cell.values);
        } else {
            for (a, b) in into.values.iter_mut().zip(&cell.values) {
                *a += b;
            }
        }
        into.features += cell.features;
    }
    grouped
        .into_iter()
        .map(|((code, class), cell)| Row {
            code,
            class,
            values: cell.values,
            features: cell.features,
        })
        .collect()
}
