//! Statistics: one or more statistics of a thematic layer for the whole
//! province, by commune, district or province, optionally split by one or
//! two class fields, over the features a filter selects, and divided by the
//! area, farmland or population of each unit.
//!
//! A table is always of one boundary set (the newest set the store holds,
//! unless asked): features are placed by their location, so features still
//! coded by pre-2025 communes are counted in the 2025 communes they lie in,
//! and a table never mixes communes of two sets.
//!
//! The figures of a table of the layer as it stands, over all its features,
//! come from the splits the store keeps at write time
//! ([`agrimap_store::SplitStore`]): a GROUP BY by commune and class values in
//! the database, rolled up to districts and provinces here, so that no layer
//! is ever held in memory for them. A selection (CQL2 `filter`, `datetime`),
//! a past instant (`as_of`, and so `group` by year or season) and growing
//! areas by status (whose codes lapse with the date, not with a write) read
//! the features and run [`agrimap_analysis`] over them and the commune
//! boundaries of the [`CommuneIndex`], as the engine the splits are made by.
//! With `province`, the splits are those of the feature across every commune
//! of the set: a parcel straddling a provincial border counts in each
//! province for its part there (the engine path shares it out among the
//! province's communes only).
//!
//! Tables are cached under the change counters of the layer and of the
//! administrative layers, so a write to either makes the next request
//! recompute.

mod documents;
mod periods;
mod request;

pub use documents::{to_csv, to_xlsx};
pub use periods::{DEFAULT_YEARS, Group, Period, periods};
pub use request::{
    LayerOptions, LevelName, MAX_CLASSES, MAX_METRICS, Per, Selection, StatsRequest, layer_options, thematic_layers,
};

use crate::communes::{CommuneCache, CommuneIndex};
use crate::error::CoreError;
use agrimap_analysis::area::multipolygon_ha;
use agrimap_analysis::{CLASS_SEPARATOR, Metric, Spec, Zones, aggregate, class_key, rollup};
use agrimap_model::{BoundarySet, Feature, FeatureQuery, LayerDef, Value};
use agrimap_store::{SplitQuery, SplitRow, Store};
use quick_cache::{Weighter, sync::Cache};
use serde::Serialize;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};

/// One row of the answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsRow {
    pub code: String,
    pub name: String,
    /// The value of the first class field; absent without a class field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// The value of each class field, in the order of the table's `classes`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// The first metric's value.
    pub value: f64,
    /// Each metric's value, in the order of the table's `metrics`.
    pub values: Vec<f64>,
    /// Features assigned to the unit (each to the commune holding its largest part).
    pub features: u64,
    /// With `per`: the unit's area, farmland or population.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denominator: Option<f64>,
    /// With `per`: each value divided by the denominator (`null` where it is zero).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratios: Option<Vec<Option<f64>>>,
    /// With `group`: the year (`2025`) or season (`2025-he_thu`) of the row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
}

/// One period of a table across history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodColumn {
    pub period: String,
    /// The instant the layer was read at: the period's end, or now.
    pub as_of: String,
    /// Sum of each metric over the period's rows.
    pub totals: Vec<f64>,
}

/// One metric of a table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricColumn {
    /// `area`, `count` or `sum:{field}`.
    pub name: String,
    pub unit: &'static str,
}

/// What the values of a table are divided by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PerColumn {
    /// `commune_area`, `farmland` or `population`.
    pub by: &'static str,
    /// The unit of the denominator.
    pub unit: &'static str,
}

/// A whole statistics table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsTable {
    pub layer: &'static str,
    /// The boundary set of the communes (and districts, provinces) counted by.
    pub boundary_set: &'static str,
    /// The province the table is limited to, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    pub by: &'static str,
    /// The first class field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<&'static str>,
    /// Every class field, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<&'static str>,
    /// The first metric.
    pub metric: String,
    /// Unit of `value` (`ha`, `features`, or the summed field's unit).
    pub unit: &'static str,
    /// Every metric, in the order of each row's `values`.
    pub metrics: Vec<MetricColumn>,
    /// The CQL2 filter the features were selected by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The time the features were selected by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datetime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per: Option<PerColumn>,
    /// The instant the layer was read at, when not now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    /// With `group`: `year` or `season`, and the periods in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub periods: Vec<PeriodColumn>,
    pub rows: Vec<StatsRow>,
    /// Sum of `value` over all rows; none for a table across periods
    /// (`group`), whose totals are each period's, in `periods`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<f64>,
    /// Sum of each metric over all rows.
    pub totals: Vec<f64>,
}

/// Key of a cached table: the request and the versions it was computed at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TableKey {
    layer: &'static str,
    level: LevelName,
    classes: Vec<usize>,
    metrics: Vec<Metric>,
    boundary_set: BoundarySet,
    province: Option<String>,
    /// The words of the selection: the same words select the same features
    /// (with the province whose features alone it counts, if any).
    selection: Option<(Option<String>, Option<String>, Option<String>)>,
    per: Option<Per>,
    as_of: Option<agrimap_model::UtcTime>,
    layer_version: u64,
    admin_versions: [u64; 3],
    /// The versions of the layers farmland is made of, with `per=farmland`.
    farmland_versions: Option<[u64; 2]>,
    /// The day a table of growing areas by status was made for: codes lapse
    /// with the date, not with a write.
    lapse_day: Option<String>,
}

/// A quantity of each unit (commune, district or province) by its code.
type ByUnit = HashMap<String, f64>;

/// The layers whose area is a unit's farmland.
const FARMLAND_LAYERS: [&str; 2] = ["crop", "aquaculture"];

impl StatsTable {
    /// About how much memory the table holds, in bytes.
    #[must_use]
    pub fn approximate_bytes(&self) -> u64 {
        let text: usize = self
            .rows
            .iter()
            .map(|r| r.code.len() + r.name.len() + r.classes.iter().map(String::len).sum::<usize>())
            .sum();
        let numbers = self.rows.len() * self.metrics.len() * 2 * size_of::<f64>();
        (size_of::<Self>() + self.metric.len() + self.rows.len() * size_of::<StatsRow>() + text + numbers) as u64
    }
}

/// Weighs cached tables by their size: a table split by a high-cardinality
/// class field (`class=parcel_id`) holds a row per feature, so a count of
/// tables says nothing of the memory they take.
#[derive(Clone)]
struct TableBytes;

impl Weighter<TableKey, Arc<StatsTable>> for TableBytes {
    fn weight(&self, _: &TableKey, table: &Arc<StatsTable>) -> u64 {
        table.approximate_bytes()
    }
}

/// The communes a table counts by: one boundary set, one province or all.
type ZoneKey = (BoundarySet, Option<String>);

/// The zones of each key asked for, and the commune index they were built from.
type ZonesOfIndex = (Arc<CommuneIndex>, HashMap<ZoneKey, Arc<Zones>>);

/// The commune zones and computed tables of one store.
pub struct StatsCache {
    communes: Arc<CommuneCache>,
    /// Zones of each (set, province) asked for, of the index they were built from.
    zones: RwLock<Option<ZonesOfIndex>>,
    tables: Cache<TableKey, Arc<StatsTable>, TableBytes>,
    /// Tables computed (for operators).
    recomputations: prometheus_client::metrics::counter::Counter,
}

impl StatsCache {
    /// Budget of the cached tables when none is given: room for hundreds of
    /// commune-by-class tables, a handful of per-feature ones.
    pub const DEFAULT_BYTES: u64 = 64 * 1024 * 1024;

    /// A cache whose tables hold at most about `max_bytes`.
    #[must_use]
    pub fn new(communes: Arc<CommuneCache>, max_bytes: u64) -> Self {
        Self {
            communes,
            zones: RwLock::new(None),
            // quick_cache wants an estimate of the item count to size its tables.
            tables: Cache::with_weighter(256, max_bytes, TableBytes),
            recomputations: prometheus_client::metrics::counter::Counter::default(),
        }
    }

    /// The same cache, counting the tables it computes on `counter`.
    #[must_use]
    pub fn counting(self, counter: prometheus_client::metrics::counter::Counter) -> Self {
        Self {
            recomputations: counter,
            ..self
        }
    }

    /// The zones of the communes of `key`, rebuilt when the index changes.
    async fn zones(&self, index: &Arc<CommuneIndex>, key: &ZoneKey) -> Result<Arc<Zones>, CoreError> {
        if let Some((i, by_key)) = self.zones.read().unwrap_or_else(PoisonError::into_inner).as_ref()
            && Arc::ptr_eq(i, index)
            && let Some(z) = by_key.get(key)
        {
            return Ok(z.clone());
        }
        let (set, province) = key;
        let communes = index
            .communes()
            .iter()
            .filter(|c| c.boundary_set == set.as_str() && province.as_ref().is_none_or(|p| &c.province_code == p))
            .filter_map(|c| {
                let shape = match &c.boundary {
                    geo::Geometry::MultiPolygon(mp) => mp.clone(),
                    geo::Geometry::Polygon(p) => geo::MultiPolygon::new(vec![p.clone()]),
                    _ => return None,
                };
                Some((
                    c.code.clone(),
                    c.district_code.clone().unwrap_or_default(),
                    c.province_code.clone(),
                    shape,
                ))
            })
            .collect();
        let zones = Arc::new(
            tokio::task::spawn_blocking(move || Zones::new(communes))
                .await
                .map_err(|e| CoreError::task_failed("internal", "building the commune zones", &e))?,
        );
        let mut cached = self.zones.write().unwrap_or_else(PoisonError::into_inner);
        match cached.as_mut() {
            Some((i, by_key)) if Arc::ptr_eq(i, index) => {
                by_key.insert(key.clone(), zones.clone());
            }
            _ => *cached = Some((index.clone(), HashMap::from([(key.clone(), zones.clone())]))),
        }
        Ok(zones)
    }

    /// The table for a request, from the cache or computed now.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn table(&self, store: &dyn Store, request: StatsRequest) -> Result<Arc<StatsTable>, CoreError> {
        let versions = store.versions().await?;
        let index = self.communes.index(store).await?;
        let boundary_set = index.resolve_set(request.boundary_set)?;
        let holds_communes = !index.communes().is_empty();
        if request.level == LevelName::District && boundary_set == BoundarySet::Y2025 && holds_communes {
            return Err(CoreError::invalid(
                "no_districts",
                "the 2025 boundary set has no districts (they were abolished on 1 July 2025); \
                 ask by=commune or by=province, or boundary_set=pre-2025",
            ));
        }
        if let Some(p) = &request.province {
            index.known_province(p, Some(boundary_set))?;
        }
        let version = |id: &str| versions.get(id).copied().unwrap_or(0);
        let key = TableKey {
            layer: request.layer.id,
            level: request.level,
            classes: request.classes.clone(),
            metrics: request.metrics.clone(),
            boundary_set,
            province: request.province.clone(),
            selection: request
                .selection
                .as_ref()
                .map(|s| (s.cql2.clone(), s.datetime.clone(), s.coded_in.clone())),
            per: request.per,
            as_of: request.as_of,
            layer_version: version(request.layer.id),
            admin_versions: ["admin_province", "admin_district", "admin_commune"].map(version),
            farmland_versions: (request.per == Some(Per::Farmland)).then(|| FARMLAND_LAYERS.map(version)),
            lapse_day: lapse_day(&request),
        };
        // Farmland is itself two tables of this cache, taken before this one.
        let farmland = match request.per {
            Some(Per::Farmland) => Some(self.farmland(store, &request, boundary_set).await?),
            _ => None,
        };
        // One computation per table: requests that ask for a table being
        // computed wait for it rather than each reading the whole layer (a
        // cold start under load, or the first requests after a write); if the
        // computation fails, the next waiter tries.
        // Boxed: the computation's state is large, and would otherwise sit
        // in the future of every caller, cached answer or not.
        self.tables
            .get_or_insert_async(
                &key,
                Box::pin(async {
                    self.recomputations.inc();
                    let zones = self.zones(&index, &(boundary_set, request.province.clone())).await?;
                    let spec = Spec {
                        classes: request.classes.clone(),
                        metrics: request.metrics.clone(),
                    };
                    let source = read_source(
                        store,
                        &request,
                        boundary_set,
                        key.lapse_day.as_deref(),
                        zones_extent(&zones),
                    )
                    .await?;
                    let index = index.clone();
                    let table = tokio::task::spawn_blocking(move || {
                        let table = match source {
                            Source::Features(features) => aggregate(&zones, &features, &spec),
                            Source::Splits(rows) => table_of_splits(&zones, rows),
                        };
                        let rows = rollup(&zones, &table, request.level.level());
                        let denominators = request.per.map(|per| match per {
                            Per::CommuneArea => by_unit(&zones, request.level, |z| multipolygon_ha(&z.shape)),
                            Per::Population => {
                                let population: HashMap<&str, f64> = index
                                    .communes()
                                    .iter()
                                    .filter(|c| c.boundary_set == boundary_set.as_str())
                                    .map(|c| (c.code.as_str(), c.population.unwrap_or(0) as f64))
                                    .collect();
                                by_unit(&zones, request.level, |z| {
                                    population.get(z.code.as_str()).copied().unwrap_or(0.0)
                                })
                            }
                            Per::Farmland => farmland.unwrap_or_default(),
                        });
                        named_rows(&index, &rows, &request, boundary_set, denominators.as_ref())
                    })
                    .await
                    .map_err(|e| CoreError::task_failed("internal", "aggregation", &e))?;
                    Ok(Arc::new(table))
                }),
            )
            .await
    }

    /// The farmland of each unit of `request`: the area of crop parcels and
    /// aquaculture ponds, from this cache's own tables (boxed: a table
    /// asking for tables).
    fn farmland<'a>(
        &'a self,
        store: &'a dyn Store,
        request: &StatsRequest,
        boundary_set: BoundarySet,
    ) -> Pin<Box<dyn Future<Output = Result<ByUnit, CoreError>> + Send + 'a>> {
        let requests: Vec<_> = FARMLAND_LAYERS
            .iter()
            .map(|layer| {
                StatsRequest::parse(layer, Some(request.level.as_str()), None, Some("area")).map(|r| StatsRequest {
                    boundary_set: Some(boundary_set),
                    province: request.province.clone(),
                    as_of: request.as_of,
                    ..r
                })
            })
            .collect();
        Box::pin(async move {
            let mut farmland = HashMap::new();
            for request in requests {
                for row in &self.table(store, request?).await?.rows {
                    *farmland.entry(row.code.clone()).or_default() += row.value;
                }
            }
            Ok(farmland)
        })
    }
}

/// What a table is computed from.
enum Source {
    /// The features, for the engine.
    Features(Vec<Feature>),
    /// The store's sums by commune and class values.
    Splits(Vec<SplitRow>),
}

/// What a table is computed from: the splits kept at write time when they
/// answer the request (the layer as it stands now, every feature, values
/// as stored), else the features the request selects.
async fn read_source(
    store: &dyn Store,
    request: &StatsRequest,
    boundary_set: BoundarySet,
    lapse_day: Option<&str>,
    zones_extent: Option<geo::Rect<f64>>,
) -> Result<Source, CoreError> {
    if request.selection.is_none() && request.as_of.is_none() && lapse_day.is_none() {
        let query = SplitQuery {
            layer: request.layer,
            boundary_set: boundary_set.as_str().to_owned(),
            province: request.province.clone(),
            classes: request.classes.clone(),
            metrics: request.metrics.clone(),
        };
        return Ok(Source::Splits(store.split_table(&query).await?));
    }
    let query = request
        .selection
        .as_ref()
        .map_or_else(FeatureQuery::default, |s| FeatureQuery {
            filter: Some(s.filter.clone()),
            audience: s.audience,
            ..FeatureQuery::default()
        });
    let query = FeatureQuery {
        as_of: request.as_of,
        // Features outside the province's communes add nothing: read only
        // those near them (in PostGIS, through each partition's spatial index).
        bbox: request.province.as_ref().and(zones_extent),
        ..query
    };
    let mut features = store.features(request.layer, &query).await?;
    if let Some(today) = lapse_day {
        mark_lapsed(request.layer, &mut features, today);
    }
    Ok(Source::Features(features))
}

/// The store's sums by commune as the engine's table by zone, so that the
/// roll-up and everything after it are the same for both.
fn table_of_splits(zones: &Zones, rows: Vec<SplitRow>) -> agrimap_analysis::Table {
    let index: HashMap<&str, usize> = zones
        .zones()
        .iter()
        .enumerate()
        .map(|(i, z)| (z.code.as_str(), i))
        .collect();
    let mut table = agrimap_analysis::Table::new();
    for row in rows {
        // Communes outside the zones asked for (another province) are not counted.
        let Some(&zone) = index.get(row.commune_code.as_str()) else {
            continue;
        };
        let cell = table.entry((zone, class_key(&row.classes))).or_default();
        if cell.values.is_empty() {
            cell.values = row.values;
        } else {
            for (a, b) in cell.values.iter_mut().zip(&row.values) {
                *a += b;
            }
        }
        cell.features += row.features;
    }
    table
}

/// The rectangle around every zone, `None` without zones.
fn zones_extent(zones: &Zones) -> Option<geo::Rect<f64>> {
    zones.zones().iter().map(|z| z.bbox).reduce(|a, b| {
        geo::Rect::new(
            geo::coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
            geo::coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
        )
    })
}

/// A quantity of each commune zone, summed by the unit of `level`.
fn by_unit(zones: &Zones, level: LevelName, of: impl Fn(&agrimap_analysis::Zone) -> f64) -> HashMap<String, f64> {
    let mut sums = HashMap::new();
    for zone in zones.zones() {
        *sums.entry(zone.code_at(level.level()).to_owned()).or_default() += of(zone);
    }
    sums
}

/// The day (in Vietnam) a statistic of growing areas by their status is
/// for, when it is one: a code whose `expires_on` has passed counts as
/// `expired` from the day it lapses, whatever its stored status says.
fn lapse_day(request: &StatsRequest) -> Option<String> {
    let by_status = request
        .classes
        .iter()
        .any(|&i| request.layer.fields[i].name == "status");
    (request.layer.id == "growing_area" && by_status).then(crate::registry::today)
}

/// Marks the active growing areas whose `expires_on` is before `today` as
/// `expired` (suspended and revoked codes stay as they are).
fn mark_lapsed(layer: &LayerDef, features: &mut [Feature], today: &str) {
    let (Some(status), Some(expires)) = (layer.field_index("status"), layer.field_index("expires_on")) else {
        return;
    };
    for f in features {
        let lapsed = matches!(&f.properties[expires], Value::Text(d) if d.as_str() < today);
        if lapsed && matches!(&f.properties[status], Value::Text(s) if s == "active") {
            f.properties[status] = Value::Text("expired".to_owned());
        }
    }
}

fn named_rows(
    index: &CommuneIndex,
    rows: &[agrimap_analysis::Row],
    request: &StatsRequest,
    boundary_set: BoundarySet,
    denominators: Option<&HashMap<String, f64>>,
) -> StatsTable {
    let mut names: HashMap<&str, &str> = HashMap::new();
    for c in index
        .communes()
        .iter()
        .filter(|c| c.boundary_set == boundary_set.as_str())
    {
        match request.level {
            LevelName::Commune => names.insert(&c.code, &c.name),
            LevelName::District => c
                .district_code
                .as_deref()
                .zip(c.district_name.as_deref())
                .and_then(|(code, name)| names.insert(code, name)),
            LevelName::Province => c
                .province_name
                .as_deref()
                .and_then(|name| names.insert(&c.province_code, name)),
        };
    }
    let rows: Vec<StatsRow> = rows
        .iter()
        .map(|r| {
            let classes: Vec<String> = if request.classes.is_empty() {
                Vec::new()
            } else {
                r.class.split(CLASS_SEPARATOR).map(str::to_owned).collect()
            };
            let denominator = denominators.map(|d| d.get(&r.code).copied().unwrap_or(0.0));
            StatsRow {
                name: names.get(r.code.as_str()).map_or_else(String::new, |n| (*n).to_owned()),
                code: r.code.clone(),
                class: classes.first().cloned(),
                classes,
                value: r.values.first().copied().unwrap_or(0.0),
                values: r.values.clone(),
                features: r.features,
                denominator,
                ratios: denominator.map(|d| r.values.iter().map(|v| (d > 0.0).then(|| v / d)).collect()),
                period: None,
            }
        })
        .collect();
    let totals: Vec<f64> = (0..request.metrics.len())
        .map(|i| agrimap_analysis::total(rows.iter().map(|r| r.values.get(i).copied().unwrap_or(0.0))))
        .collect();
    let selection = request.selection.as_ref();
    StatsTable {
        layer: request.layer.id,
        boundary_set: boundary_set.as_str(),
        province: request.province.clone(),
        by: request.level.as_str(),
        class: request.class().map(|i| request.layer.fields[i].name),
        classes: request.classes.iter().map(|&i| request.layer.fields[i].name).collect(),
        metric: request.metric_name(request.metrics[0]),
        unit: request.unit(request.metrics[0]),
        metrics: request
            .metrics
            .iter()
            .map(|&m| MetricColumn {
                name: request.metric_name(m),
                unit: request.unit(m),
            })
            .collect(),
        filter: selection.and_then(|s| s.cql2.clone()),
        datetime: selection.and_then(|s| s.datetime.clone()),
        per: request.per.map(|p| PerColumn {
            by: p.as_str(),
            unit: p.unit(),
        }),
        as_of: request.as_of.map(|t| t.to_string()),
        group: None,
        periods: Vec::new(),
        total: Some(totals.first().copied().unwrap_or(0.0)),
        totals,
        rows,
    }
}

#[cfg(test)]
mod tests;
