//! Statistics kept at write time: each feature of a thematic layer is
//! stored with its split across the communes of every boundary set the
//! store holds (`agrimap_feature_splits`: commune, hectares on the
//! ellipsoid, share of the feature, whether its count goes there), so that
//! a table by commune is a GROUP BY over a small table instead of a pass of
//! the aggregation engine over the whole layer.
//!
//! Both stores keep the splits the same way. Triggers on each thematic
//! layer drop the splits of a feature deleted or whose geometry changes and
//! note it in `agrimap_split_pending`; a trigger on `admin_commune` notes
//! the boundaries themselves. Before a write transaction commits, the store
//! settles what is pending ([`settle`] of each backend): the features noted
//! get their splits from the engine ([`agrimap_analysis::splits_of_all`],
//! on rayon), and a boundary change recomputes every layer's. A failed
//! write rolls its splits back with it; an edit made by another program (an
//! editor in QGIS) stays pending until the next write or statistic settles it.

use crate::StoreError;
use agrimap_analysis::{Metric, Split, Zones};
use agrimap_model::{LayerDef, LayerGroup, Value};
use geo::{Geometry, MultiPolygon};
use std::sync::{Arc, Mutex, PoisonError};

/// One table asked of the stored splits.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitQuery {
    pub layer: &'static LayerDef,
    /// The boundary set of the communes (`2025`, `pre-2025`).
    pub boundary_set: String,
    /// Only the communes of this province.
    pub province: Option<String>,
    /// Indexes of the class fields in the layer's schema.
    pub classes: Vec<usize>,
    /// What is summed, in this order.
    pub metrics: Vec<Metric>,
}

/// One row of a table read from the stored splits.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitRow {
    pub commune_code: String,
    /// The value of each class field, in the order of [`SplitQuery::classes`].
    pub classes: Vec<Value>,
    /// One value per metric.
    pub values: Vec<f64>,
    /// Features whose largest part is in the commune.
    pub features: u64,
}

/// One stored split of a feature.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSplit {
    pub fid: i64,
    pub boundary_set: String,
    pub commune_code: String,
    pub area_ha: f64,
    pub share: f64,
    pub largest: bool,
}

/// Tables by commune from the splits kept at write time.
#[async_trait::async_trait]
pub trait SplitStore: Send + Sync + 'static {
    /// Sums of a layer's features by commune and class values, grouped in
    /// the database (settling what is pending first).
    ///
    /// # Errors
    /// A layer without splits ([`has_splits`]), or a failing store.
    async fn split_table(&self, query: &SplitQuery) -> Result<Vec<SplitRow>, StoreError>;

    /// The stored splits of one feature (by its id), for checks and tests,
    /// ordered by boundary set and commune code.
    async fn feature_splits(&self, layer: &'static LayerDef, fid: i64) -> Result<Vec<StoredSplit>, StoreError>;

    /// Recomputes every layer's splits in one transaction (a store made
    /// before splits, or boundaries changed by another program); returns
    /// how many features were split.
    async fn recompute_splits(&self) -> Result<usize, StoreError>;
}

/// Whether a layer keeps splits: the thematic layers, which statistics are
/// made of.
#[must_use]
pub fn has_splits(layer: &LayerDef) -> bool {
    layer.group == LayerGroup::Theme
}

/// The fields whose totals by commune a store may keep beside the splits:
/// the coded fields (a value list), whose few values make a small table.
/// A free field (a parcel's id, an owner's phone) would make a row per
/// feature. Not `boundary_set`: which communes a feature's code refers to
/// is bookkeeping of the reform, not a class of what grows there, and
/// keeping it made a recode rewrite every split and move every total
/// (migration 0023). A table by it is grouped from the splits.
pub(crate) fn totals_fields(layer: &LayerDef) -> impl Iterator<Item = (usize, &'static agrimap_model::FieldDef)> {
    layer.fields.iter().enumerate().filter(|(_, f)| {
        f.ty == agrimap_model::FieldType::Text
            && (f.code_list.is_some() || !f.values.is_empty())
            && f.name != "boundary_set"
    })
}

/// Whether kept totals answer a query: by commune alone or by one coded
/// field, summing areas and counts (a sum of another field is grouped from
/// the splits and the features).
#[must_use]
pub(crate) fn totals_answer(query: &SplitQuery) -> bool {
    let coded = |i: usize| totals_fields(query.layer).any(|(f, _)| f == i);
    query.classes.len() <= 1
        && query.classes.iter().all(|&i| coded(i))
        && query.metrics.iter().all(|m| matches!(m, Metric::Area | Metric::Count))
}

/// The layers that keep splits.
pub fn split_layers() -> impl Iterator<Item = &'static LayerDef> {
    agrimap_model::catalog().iter().filter(|l| has_splits(l))
}

/// Refuses a layer without splits.
pub(crate) fn check_layer(layer: &LayerDef) -> Result<(), StoreError> {
    if has_splits(layer) {
        Ok(())
    } else {
        Err(StoreError::NoSplits(layer.id.to_owned()))
    }
}

/// Features read in one go when splitting a whole layer: bounds the memory
/// of a bulk recomputation.
pub(crate) const CHUNK: usize = 50_000;

/// One commune as read from `admin_commune`: boundary set, code, district
/// code, province code, boundary.
pub(crate) type CommuneRow = (String, String, String, String, Geometry<f64>);

/// A commune as [`Zones::new`] takes it: code, district code, province code, boundary.
type Zone = (String, String, String, MultiPolygon<f64>);

/// The commune zones of each boundary set.
#[derive(Debug, Default)]
pub(crate) struct SetZones {
    sets: Vec<(String, Zones)>,
}

impl SetZones {
    pub(crate) fn new(rows: Vec<CommuneRow>) -> Self {
        let mut by_set: std::collections::BTreeMap<String, Vec<Zone>> = std::collections::BTreeMap::new();
        for (set, code, district, province, geometry) in rows {
            let shape = match geometry {
                Geometry::MultiPolygon(mp) => mp,
                Geometry::Polygon(p) => MultiPolygon::new(vec![p]),
                _ => continue,
            };
            by_set.entry(set).or_default().push((code, district, province, shape));
        }
        Self {
            sets: by_set.into_iter().map(|(set, c)| (set, Zones::new(c))).collect(),
        }
    }

    /// The splits of `features` in every set, on rayon's pool.
    pub(crate) fn split(&self, features: &[(i64, Geometry<f64>)]) -> Vec<StoredSplit> {
        let mut out = Vec::new();
        for (set, zones) in &self.sets {
            for (fid, splits) in agrimap_analysis::splits_of_all(zones, features) {
                out.extend(splits.into_iter().map(|s: Split| {
                    let zone = zones.get(s.zone);
                    StoredSplit {
                        fid,
                        boundary_set: set.clone(),
                        commune_code: zone.code.clone(),
                        area_ha: s.area_ha,
                        share: s.share,
                        largest: s.largest,
                    }
                }));
            }
        }
        out
    }

    /// A map of (set, commune code) to province code.
    pub(crate) fn provinces(&self) -> std::collections::HashMap<(String, String), String> {
        self.sets
            .iter()
            .flat_map(|(set, z)| {
                z.zones()
                    .iter()
                    .map(move |zone| ((set.clone(), zone.code.clone()), zone.province_code.clone()))
            })
            .collect()
    }
}

/// The zones of the store's communes, kept between writes under the change
/// counter of `admin_commune` they were built at.
#[derive(Debug, Default)]
pub(crate) struct ZonesCache {
    held: Mutex<Option<(u64, Arc<SetZones>)>>,
}

impl ZonesCache {
    /// The zones at `version`, if held.
    pub(crate) fn get(&self, version: u64) -> Option<Arc<SetZones>> {
        match &*self.held.lock().unwrap_or_else(PoisonError::into_inner) {
            Some((v, z)) if *v == version => Some(z.clone()),
            _ => None,
        }
    }

    /// Keeps zones built at `version`. Only zones of committed boundaries
    /// are kept: a transaction that changes them builds its own.
    pub(crate) fn keep(&self, version: u64, zones: Arc<SetZones>) {
        *self.held.lock().unwrap_or_else(PoisonError::into_inner) = Some((version, zones));
    }
}
