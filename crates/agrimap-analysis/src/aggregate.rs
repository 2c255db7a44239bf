//! Sums of one layer by zone and class, in parallel.
//!
//! Each feature is placed with the zones' R-tree and interior grids: wholly
//! inside one commune it counts whole; near a boundary it is split by exact
//! polygon intersection and each commune gets its part. Threads fold into
//! maps of their own, reduced at the end.

use crate::area::{multipolygon_ha, polygon_ha};
use crate::zones::{Placement, Zones};
use agrimap_model::{Feature, Value};
use geo::{BooleanOps, BoundingRect, Geometry, MultiPolygon};
use rayon::prelude::*;
use std::collections::HashMap;

/// What is summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Hectares on the ellipsoid of the part of each feature inside the zone.
    Area,
    /// Features, each counted once: in the zone holding its largest part.
    Count,
    /// A numeric field; a polygon straddling zones is shared out by area.
    Sum(usize),
}

/// One aggregation: a metric, optionally split by the values of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// Index of the class field in the layer's schema.
    pub class: Option<usize>,
    pub metric: Metric,
}

/// One cell of the result.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cell {
    pub value: f64,
    /// Features assigned to the zone: each feature to the one zone holding
    /// its largest part, so counts add up across zones.
    pub features: u64,
}

/// Result by (zone index, class value); the class is empty without a class field.
pub type Table = HashMap<(usize, String), Cell>;

/// The class value of a feature as text (`""` when null).
fn class_of(feature: &Feature, class: Option<usize>) -> String {
    match class.map(|i| &feature.properties[i]) {
        None | Some(Value::Null) => String::new(),
        Some(Value::Text(s)) => s.clone(),
        Some(Value::Int(i)) => i.to_string(),
        Some(Value::Real(r)) => r.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
    }
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Real(r) => *r,
        _ => 0.0,
    }
}

/// The parts of one feature: (zone, hectares inside it) for polygons; a
/// point yields its zone with zero area.
pub fn parts(zones: &Zones, geometry: &Geometry<f64>, out: &mut Vec<(usize, f64)>) {
    out.clear();
    let polygons = match geometry {
        Geometry::Point(p) => {
            out.extend(zones.containing(*p).map(|z| (z, 0.0)));
            return;
        }
        Geometry::MultiPoint(mp) => {
            out.extend(mp.0.first().and_then(|p| zones.containing(*p)).map(|z| (z, 0.0)));
            return;
        }
        Geometry::Polygon(p) => MultiPolygon::new(vec![p.clone()]),
        Geometry::MultiPolygon(mp) => mp.clone(),
        _ => return,
    };
    let Some(rect) = polygons.bounding_rect() else {
        return;
    };
    let mut near = Vec::new();
    for z in zones.candidates(rect) {
        match zones.get(z).place(rect) {
            Placement::Inside => {
                out.push((z, multipolygon_ha(&polygons)));
                return;
            }
            Placement::Outside => {}
            Placement::Boundary => near.push(z),
        }
    }
    for z in near {
        let inside = zones.get(z).shape.intersection(&polygons);
        let ha: f64 = inside.0.iter().map(polygon_ha).sum();
        if ha > 0.0 {
            out.push((z, ha));
        }
    }
}

/// Adds one feature's parts to a table.
fn add(table: &mut Table, feature: &Feature, spec: &Spec, parts: &[(usize, f64)]) {
    let class = class_of(feature, spec.class);
    let total: f64 = parts.iter().map(|p| p.1).sum();
    let largest = parts.iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|p| p.0);
    for &(zone, ha) in parts {
        let value = match spec.metric {
            Metric::Area => ha,
            Metric::Count => f64::from(u8::from(Some(zone) == largest)),
            Metric::Sum(field) => {
                let share = if total > 0.0 { ha / total } else { 1.0 };
                number(&feature.properties[field]) * share
            }
        };
        let cell = table.entry((zone, class.clone())).or_default();
        cell.value += value;
        cell.features += u64::from(Some(zone) == largest);
    }
}

/// Aggregates `features` over `zones` on rayon's pool.
#[must_use]
pub fn aggregate(zones: &Zones, features: &[Feature], spec: &Spec) -> Table {
    features
        .par_iter()
        .fold(
            || (Table::new(), Vec::new()),
            |(mut table, mut scratch), feature| {
                parts(zones, &feature.geometry, &mut scratch);
                add(&mut table, feature, spec, &scratch);
                (table, scratch)
            },
        )
        .map(|(table, _)| table)
        .reduce(Table::new, merge)
}

fn merge(mut a: Table, b: Table) -> Table {
    if a.len() < b.len() {
        return merge(b, a);
    }
    for (key, cell) in b {
        let into = a.entry(key).or_default();
        into.value += cell.value;
        into.features += cell.features;
    }
    a
}
