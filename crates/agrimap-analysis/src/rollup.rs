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
    /// Class value, empty without a class field.
    pub class: String,
    pub value: f64,
    /// Features assigned to the unit (each to the commune holding its largest part).
    pub features: u64,
}

/// Rows ordered by code, then class.
#[must_use]
pub fn rollup(zones: &Zones, table: &Table, level: Level) -> Vec<Row> {
    let mut grouped: BTreeMap<(String, String), Cell> = BTreeMap::new();
    for ((zone, class), cell) in table {
        let z = zones.get(*zone);
        let code = match level {
            Level::Commune => &z.code,
            Level::District => &z.district_code,
            Level::Province => &z.province_code,
        };
        let into = grouped.entry((code.clone(), class.clone())).or_default();
        into.value += cell.value;
        into.features += cell.features;
    }
    grouped
        .into_iter()
        .map(|((code, class), cell)| Row {
            code,
            class,
            value: cell.value,
            features: cell.features,
        })
        .collect()
}
