//! Sums of one layer by zone and class, in parallel.
//!
//! Each feature is placed with the zones' R-tree and interior grids: wholly
//! inside one commune it counts whole; near a boundary it is split by exact
//! polygon intersection and each commune gets its part. Threads fold into
//! maps of their own, reduced at the end.
//!
//! Real commune boundaries overlap by a few km² and leave slivers between
//! them, so the parts of a feature near a boundary need not add up to the
//! feature: its parts' areas are scaled to its own area, so that no hectare
//! is counted twice where communes overlap nor lost in a gap between them,
//! and a layer's total over the province is the total of its features.

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

/// One aggregation: one or more metrics, in one pass, optionally split by
/// the values of one or more fields (a cross-tabulation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Indexes of the class fields in the layer's schema; empty for no split.
    pub classes: Vec<usize>,
    /// What is summed; each cell holds one value per metric, in this order.
    pub metrics: Vec<Metric>,
}

impl Spec {
    /// One metric, optionally split by one field.
    #[must_use]
    pub fn one(class: Option<usize>, metric: Metric) -> Self {
        Self {
            classes: class.into_iter().collect(),
            metrics: vec![metric],
        }
    }
}

/// One cell of the result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    /// One value per metric of the [`Spec`].
    pub values: Vec<f64>,
    /// Features assigned to the zone: each feature to the one zone holding
    /// its largest part, so counts add up across zones.
    pub features: u64,
}

impl Cell {
    fn add(&mut self, values: &[f64], features: u64) {
        if self.values.len() < values.len() {
            self.values.resize(values.len(), 0.0);
        }
        for (into, v) in self.values.iter_mut().zip(values) {
            *into += v;
        }
        self.features += features;
    }
}

/// Separates the class values of a cell's key: a control character no
/// code list or field value holds.
pub const CLASS_SEPARATOR: char = '\u{1f}';

/// Result by (zone index, class key): the class values joined by
/// [`CLASS_SEPARATOR`], empty without class fields. One string per key
/// keeps the per-feature work to one allocation however many fields split.
pub type Table = HashMap<(usize, String), Cell>;

/// One class value of a feature as text (`""` when null).
pub fn push_class(out: &mut String, value: &Value) {
    use std::fmt::Write as _;
    match value {
        Value::Null => {}
        Value::Text(s) => out.push_str(s),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Real(r) => {
            let _ = write!(out, "{r}");
        }
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
    }
}

/// The class key of a feature: its class values joined by [`CLASS_SEPARATOR`].
fn class_of(feature: &Feature, classes: &[usize]) -> String {
    let mut key = String::new();
    for (n, &i) in classes.iter().enumerate() {
        if n > 0 {
            key.push(CLASS_SEPARATOR);
        }
        push_class(&mut key, &feature.properties[i]);
    }
    key
}

/// The class key of stored class values, as [`aggregate`] makes it from a
/// feature: what a table read from stored splits is keyed by.
#[must_use]
pub fn class_key(values: &[Value]) -> String {
    let mut key = String::new();
    for (n, v) in values.iter().enumerate() {
        if n > 0 {
            key.push(CLASS_SEPARATOR);
        }
        push_class(&mut key, v);
    }
    key
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Real(r) => *r,
        _ => 0.0,
    }
}

/// The parts of one feature as the statistics count them: (zone, hectares
/// of it counted there), adding up to the feature's area whenever it meets
/// a zone ([`exact_parts`] shared out in proportion); a point yields its
/// zone with zero area.
fn parts(zones: &Zones, geometry: &Geometry<f64>, out: &mut Vec<(usize, f64)>) {
    exact_parts(zones, geometry, out);
    // Where zones overlap the parts add up to more than the feature, where
    // they leave a gap to less: share the feature's own area out instead.
    let counted: f64 = out.iter().map(|p| p.1).sum();
    if counted > 0.0 {
        let whole = match geometry {
            Geometry::Polygon(p) => polygon_ha(p),
            Geometry::MultiPolygon(mp) => multipolygon_ha(mp),
            _ => return,
        };
        let scale = whole / counted;
        if (scale - 1.0).abs() > 1e-12 {
            for part in out.iter_mut() {
                part.1 *= scale;
            }
        }
    }
}

/// The zone holding the largest part of a feature, as statistics count it
/// ([`exact_parts`]); a tie goes to the zone indexed first. `None` for a
/// feature in no zone. `scratch` is reused between calls.
pub fn largest_part(zones: &Zones, geometry: &Geometry<f64>, scratch: &mut Vec<(usize, f64)>) -> Option<usize> {
    exact_parts(zones, geometry, scratch);
    scratch
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|&(zone, _)| zone)
}

/// The parts of one feature as they lie: (zone, hectares of it inside the
/// zone) for polygons, where overlapping zones each count their part and a
/// gap between zones counts for none; a point yields its zone with zero
/// area, and so does a line, by its middle vertex.
pub fn exact_parts(zones: &Zones, geometry: &Geometry<f64>, out: &mut Vec<(usize, f64)>) {
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
        // A line (a dyke, an embankment) is placed like a point, by its
        // middle vertex: it counts, it has no area, and a work that crosses a
        // boundary belongs to the commune its middle lies in.
        Geometry::LineString(l) => {
            out.extend(
                l.0.get(l.0.len() / 2)
                    .and_then(|c| zones.containing((*c).into()))
                    .map(|z| (z, 0.0)),
            );
            return;
        }
        Geometry::MultiLineString(ml) => {
            let middle = ml.0.first().and_then(|l| l.0.get(l.0.len() / 2));
            out.extend(middle.and_then(|c| zones.containing((*c).into())).map(|z| (z, 0.0)));
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

/// One part of a feature as statistics count it, as the stores keep it
/// beside the feature ([`splits`]): the commune (zone), the hectares counted
/// there, the feature's share of itself there (what a summed field is
/// multiplied by), and whether the feature's count goes there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    pub zone: usize,
    /// Hectares on the ellipsoid, scaled so that a feature's parts add up
    /// to its own area (zero for points and lines).
    pub area_ha: f64,
    /// The part's fraction of the feature (1 for points and lines).
    pub share: f64,
    /// The commune holding the feature's largest part: its count goes there.
    pub largest: bool,
}

/// The splits of one feature across `zones`: empty when it meets none;
/// `scratch` is reused between calls.
pub fn splits(zones: &Zones, geometry: &Geometry<f64>, scratch: &mut Vec<(usize, f64)>, out: &mut Vec<Split>) {
    parts(zones, geometry, scratch);
    out.clear();
    let total: f64 = scratch.iter().map(|p| p.1).sum();
    // The last of equal largest parts, as `Iterator::max_by` picks it.
    let largest = scratch.iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|p| p.0);
    out.extend(scratch.iter().map(|&(zone, ha)| Split {
        zone,
        area_ha: ha,
        share: if total > 0.0 { ha / total } else { 1.0 },
        largest: Some(zone) == largest,
    }));
}

/// The splits of many features (an id and a geometry each) on rayon's
/// pool, in the order given: the bulk (re)computation of a load, a recode
/// or a boundary change.
#[must_use]
pub fn splits_of_all(zones: &Zones, features: &[(i64, Geometry<f64>)]) -> Vec<(i64, Vec<Split>)> {
    features
        .par_iter()
        .map_init(Vec::new, |scratch, (id, geometry)| {
            let mut out = Vec::new();
            splits(zones, geometry, scratch, &mut out);
            (*id, out)
        })
        .collect()
}

/// Adds one feature's splits to a table; `values` is scratch space.
fn add(table: &mut Table, feature: &Feature, spec: &Spec, splits: &[Split], values: &mut Vec<f64>) {
    let class = class_of(feature, &spec.classes);
    for split in splits {
        values.clear();
        values.extend(spec.metrics.iter().map(|metric| match *metric {
            Metric::Area => split.area_ha,
            Metric::Count => f64::from(u8::from(split.largest)),
            Metric::Sum(field) => number(&feature.properties[field]) * split.share,
        }));
        table
            .entry((split.zone, class.clone()))
            .or_default()
            .add(values, u64::from(split.largest));
    }
}

/// Aggregates `features` over `zones` on rayon's pool.
#[must_use]
pub fn aggregate(zones: &Zones, features: &[Feature], spec: &Spec) -> Table {
    features
        .par_iter()
        .fold(
            || (Table::new(), Vec::new(), Vec::new(), Vec::new()),
            |(mut table, mut scratch, mut split, mut values), feature| {
                splits(zones, &feature.geometry, &mut scratch, &mut split);
                add(&mut table, feature, spec, &split, &mut values);
                (table, scratch, split, values)
            },
        )
        .map(|(table, ..)| table)
        .reduce(Table::new, merge)
}

fn merge(mut a: Table, b: Table) -> Table {
    if a.len() < b.len() {
        return merge(b, a);
    }
    for (key, cell) in b {
        a.entry(key).or_default().add(&cell.values, cell.features);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Rect, coord};

    fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
        MultiPolygon::new(vec![
            Rect::new(coord! { x: x0, y: y0 }, coord! { x: x1, y: y1 }).to_polygon(),
        ])
    }

    fn zone(code: &str, shape: MultiPolygon<f64>) -> (String, String, String, MultiPolygon<f64>) {
        (code.into(), String::new(), "94".into(), shape)
    }

    /// Two communes drawn overlapping by 0.001°, and a gap of 0.001° to a
    /// third: a parcel across the overlap and one across the gap each count
    /// once, whole, and each commune gets its share.
    #[test]
    fn overlaps_and_gaps_neither_double_nor_lose_area() {
        let zones = Zones::new(vec![
            zone("a", square(105.0, 9.0, 105.011, 9.01)),
            zone("b", square(105.01, 9.0, 105.02, 9.01)),
            zone("c", square(105.021, 9.0, 105.03, 9.01)),
        ]);
        let over = square(105.008, 9.004, 105.012, 9.006);
        let gap = square(105.019, 9.004, 105.023, 9.006);
        let features: Vec<Feature> = [&over, &gap]
            .iter()
            .map(|g| Feature {
                id: 0,
                geometry: Geometry::MultiPolygon((*g).clone()),
                properties: vec![],
            })
            .collect();
        let spec = Spec::one(None, Metric::Area);
        let table = aggregate(&zones, &features, &spec);
        let total: f64 = table.values().map(|c| c.values[0]).sum();
        let whole = multipolygon_ha(&over) + multipolygon_ha(&gap);
        assert!((total - whole).abs() < 1e-9 * whole, "{total} ha counted of {whole} ha");
        let of = |z: usize| table.get(&(z, String::new())).map_or(0.0, |c| c.values[0]);
        // The overlap parcel is 0.003° wide in a and 0.002° in b: shared 3:2.
        let over_ha = multipolygon_ha(&over);
        assert!((of(0) - over_ha * 3.0 / 5.0).abs() < 1e-6 * over_ha, "a: {}", of(0));
        // The gap parcel is 0.001° in b, 0.001° in the gap, 0.002° in c: shared 1:2.
        let gap_ha = multipolygon_ha(&gap);
        assert!((of(2) - gap_ha * 2.0 / 3.0).abs() < 1e-6 * gap_ha, "c: {}", of(2));
        assert_eq!(table.values().map(|c| c.features).sum::<u64>(), 2);
    }
}
