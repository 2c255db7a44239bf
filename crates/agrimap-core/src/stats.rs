//! Statistics: one statistic of a thematic layer for the whole province, by
//! commune, district or province, optionally split by a class field.
//!
//! A table is always of one boundary set (the newest set the store holds,
//! unless asked): features are placed by their location, so features still
//! coded by pre-2025 communes are counted in the 2025 communes they lie in,
//! and a table never mixes communes of two sets.
//!
//! The figures come from [`agrimap_analysis`] over the layer's features and
//! the commune boundaries of the [`CommuneIndex`]. Tables are cached under the
//! change counters of the layer and of the administrative layers, so a write
//! to either makes the next request recompute.

use crate::communes::{CommuneCache, CommuneIndex, boundary_set_param};
use crate::csv_cell::neutralised;
use crate::error::{CoreError, echo};
use agrimap_analysis::{Level, Metric, Spec, Zones, aggregate, rollup};
use agrimap_model::{
    Access, BoundarySet, Feature, FeatureQuery, FieldType, GeometryKind, LayerDef, LayerGroup, Value, catalog,
};
use agrimap_store::Store;
use quick_cache::{Weighter, sync::Cache};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, PoisonError, RwLock};

/// What a statistics request asks for, validated against the catalog.
#[derive(Debug, Clone)]
pub struct StatsRequest {
    pub layer: &'static LayerDef,
    pub level: LevelName,
    /// Index of the class field.
    pub class: Option<usize>,
    pub metric: Metric,
    /// The communes to count by; `None` for the newest set the store holds.
    pub boundary_set: Option<BoundarySet>,
    /// Only the communes of this province (its code in the set).
    pub province: Option<String>,
}

/// `by=`: the unit rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LevelName {
    Commune,
    District,
    Province,
}

impl LevelName {
    fn level(self) -> Level {
        match self {
            Self::Commune => Level::Commune,
            Self::District => Level::District,
            Self::Province => Level::Province,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Commune => "commune",
            Self::District => "district",
            Self::Province => "province",
        }
    }
}

/// One row of the answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsRow {
    pub code: String,
    pub name: String,
    /// The class value; absent without a class field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    pub value: f64,
    /// Features assigned to the unit (each to the commune holding its largest part).
    pub features: u64,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<&'static str>,
    pub metric: String,
    /// Unit of `value` (`ha`, `features`, or the summed field's unit).
    pub unit: &'static str,
    pub rows: Vec<StatsRow>,
    /// Sum of `value` over all rows.
    pub total: f64,
}

/// The layers statistics can be asked of.
#[must_use]
pub fn thematic_layers() -> Vec<&'static str> {
    catalog()
        .iter()
        .filter(|l| l.group == LayerGroup::Theme)
        .map(|l| l.id)
        .collect()
}

impl StatsRequest {
    /// Validates the parameters of a request; every error names the valid values.
    ///
    /// # Errors
    /// An unknown layer (404), or a bad `by`, `class` or `metric` (400).
    pub fn parse(layer: &str, by: Option<&str>, class: Option<&str>, metric: Option<&str>) -> Result<Self, CoreError> {
        let themes = thematic_layers();
        let layer = agrimap_model::layer(layer)
            .filter(|l| l.group == LayerGroup::Theme)
            .ok_or_else(|| {
                CoreError::not_found(
                    "unknown_layer",
                    format!(
                        "no statistics for layer '{}'; layers: {}",
                        echo(layer, 64),
                        themes.join(", ")
                    ),
                )
            })?;
        let level = match by.unwrap_or("commune") {
            "commune" => LevelName::Commune,
            "district" => LevelName::District,
            "province" => LevelName::Province,
            other => {
                return Err(CoreError::invalid(
                    "bad_by",
                    format!("by must be commune, district or province, not '{}'", echo(other, 64)),
                ));
            }
        };
        let class = class
            .filter(|c| !c.is_empty())
            .map(|name| {
                let classes = class_fields(layer);
                classes
                    .iter()
                    .position(|f| *f == name)
                    .and_then(|_| layer.field_index(name))
                    .ok_or_else(|| {
                        CoreError::invalid(
                            "bad_class",
                            format!(
                                "layer '{}' has no class field '{}'; class fields: {}",
                                layer.id,
                                echo(name, 64),
                                classes.join(", ")
                            ),
                        )
                    })
            })
            .transpose()?;
        let metric = parse_metric(layer, metric.unwrap_or("count"))?;
        Ok(Self {
            layer,
            level,
            class,
            metric,
            boundary_set: None,
            province: None,
        })
    }

    /// The same request over the communes of `boundary_set` (`pre-2025` or
    /// `2025`; absent or empty for the newest set held), of `province` only
    /// when given.
    ///
    /// # Errors
    /// `bad_boundary_set` for another set.
    pub fn within(mut self, boundary_set: Option<&str>, province: Option<&str>) -> Result<Self, CoreError> {
        self.boundary_set = boundary_set_param(boundary_set)?;
        self.province = province.filter(|p| !p.is_empty()).map(str::to_owned);
        Ok(self)
    }

    fn metric_name(&self) -> String {
        match self.metric {
            Metric::Area => "area".into(),
            Metric::Count => "count".into(),
            Metric::Sum(i) => format!("sum:{}", self.layer.fields[i].name),
        }
    }

    fn unit(&self) -> &'static str {
        match self.metric {
            Metric::Area => "ha",
            Metric::Count => "features",
            Metric::Sum(i) => self.layer.fields[i].unit.unwrap_or(""),
        }
    }
}

/// Public fields a layer can be split by: text, integer and boolean ones.
fn class_fields(layer: &LayerDef) -> Vec<&'static str> {
    layer
        .fields
        .iter()
        .filter(|f| f.access == Access::Public)
        .filter(|f| matches!(f.ty, FieldType::Text | FieldType::Integer | FieldType::Boolean))
        .map(|f| f.name)
        .collect()
}

/// Public numeric fields a layer can sum.
fn sum_fields(layer: &LayerDef) -> Vec<&'static str> {
    layer
        .fields
        .iter()
        .filter(|f| f.access == Access::Public && matches!(f.ty, FieldType::Integer | FieldType::Real))
        .map(|f| f.name)
        .collect()
}

fn parse_metric(layer: &'static LayerDef, metric: &str) -> Result<Metric, CoreError> {
    let valid = || {
        let mut v = vec!["count".to_owned()];
        if layer.geometry == GeometryKind::Polygon {
            v.insert(0, "area".to_owned());
        }
        v.extend(sum_fields(layer).iter().map(|f| format!("sum:{f}")));
        v.join(", ")
    };
    match metric {
        "count" => Ok(Metric::Count),
        "area" if layer.geometry == GeometryKind::Polygon => Ok(Metric::Area),
        m => m
            .strip_prefix("sum:")
            .filter(|f| sum_fields(layer).contains(f))
            .and_then(|f| layer.field_index(f))
            .map(Metric::Sum)
            .ok_or_else(|| {
                CoreError::invalid(
                    "bad_metric",
                    format!(
                        "metric '{}' is not available for layer '{}'; metrics: {}",
                        echo(m, 64),
                        layer.id,
                        valid()
                    ),
                )
            }),
    }
}

/// Key of a cached table: the request and the versions it was computed at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TableKey {
    layer: &'static str,
    level: LevelName,
    class: Option<usize>,
    metric: Metric,
    boundary_set: BoundarySet,
    province: Option<String>,
    layer_version: u64,
    admin_versions: [u64; 3],
    /// The day a table of growing areas by status was made for: codes lapse
    /// with the date, not with a write.
    lapse_day: Option<String>,
}

impl StatsTable {
    /// About how much memory the table holds, in bytes.
    #[must_use]
    pub fn approximate_bytes(&self) -> u64 {
        let text: usize = self
            .rows
            .iter()
            .map(|r| r.code.len() + r.name.len() + r.class.as_ref().map_or(0, String::len))
            .sum();
        (size_of::<Self>() + self.metric.len() + self.rows.len() * size_of::<StatsRow>() + text) as u64
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
        let key = TableKey {
            layer: request.layer.id,
            level: request.level,
            class: request.class,
            metric: request.metric,
            boundary_set,
            province: request.province.clone(),
            layer_version: versions.get(request.layer.id).copied().unwrap_or(0),
            admin_versions: ["admin_province", "admin_district", "admin_commune"]
                .map(|id| versions.get(id).copied().unwrap_or(0)),
            lapse_day: lapse_day(&request),
        };
        // One computation per table: requests that ask for a table being
        // computed wait for it rather than each reading the whole layer (a
        // cold start under load, or the first requests after a write); if the
        // computation fails, the next waiter tries.
        self.tables
            .get_or_insert_async(&key, async {
                let zones = self.zones(&index, &(boundary_set, request.province.clone())).await?;
                let mut features = store.features(request.layer, &FeatureQuery::default()).await?;
                if let Some(today) = &key.lapse_day {
                    mark_lapsed(request.layer, &mut features, today);
                }
                let spec = Spec {
                    class: request.class,
                    metric: request.metric,
                };
                let index = index.clone();
                let table = tokio::task::spawn_blocking(move || {
                    let table = aggregate(&zones, &features, &spec);
                    named_rows(
                        &index,
                        &rollup(&zones, &table, request.level.level()),
                        &request,
                        boundary_set,
                    )
                })
                .await
                .map_err(|e| CoreError::task_failed("internal", "aggregation", &e))?;
                Ok(Arc::new(table))
            })
            .await
    }
}

/// The day (in Vietnam) a statistic of growing areas by their status is
/// for, when it is one: a code whose `expires_on` has passed counts as
/// `expired` from the day it lapses, whatever its stored status says.
fn lapse_day(request: &StatsRequest) -> Option<String> {
    let by_status = request.class.is_some_and(|i| request.layer.fields[i].name == "status");
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
        .map(|r| StatsRow {
            name: names.get(r.code.as_str()).map_or_else(String::new, |n| (*n).to_owned()),
            code: r.code.clone(),
            class: request.class.map(|_| r.class.clone()),
            value: r.value,
            features: r.features,
        })
        .collect();
    StatsTable {
        layer: request.layer.id,
        boundary_set: boundary_set.as_str(),
        province: request.province.clone(),
        by: request.level.as_str(),
        class: request.class.map(|i| request.layer.fields[i].name),
        metric: request.metric_name(),
        unit: request.unit(),
        total: rows.iter().map(|r| r.value).sum(),
        rows,
    }
}

/// The table as CSV: `code,name[,class],value,features`.
#[must_use]
pub fn to_csv(table: &StatsTable) -> String {
    let mut out = String::from("code,name,");
    if let Some(class) = table.class {
        let _ = write!(out, "{class},");
    }
    let _ = writeln!(
        out,
        "{},features",
        csv_field(&format!("{} ({})", table.metric, table.unit))
    );
    for r in &table.rows {
        let _ = write!(out, "{},{},", csv_field(&r.code), csv_field(&r.name));
        if let Some(class) = &r.class {
            let _ = write!(out, "{},", csv_field(class));
        }
        let _ = writeln!(out, "{},{}", r.value, r.features);
    }
    out
}

/// A text cell: neutralised for spreadsheets, then quoted where CSV needs it.
fn csv_field(s: &str) -> String {
    let s = neutralised(s);
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agrimap_model::{Audience, Feature, LayerDef, Reading};
    use agrimap_store::{
        ApiToken, CredentialStore, FeatureStream, Ingested, Judge, LayerStore, LayerVersions, NewApiToken,
        ReadingQuery, ReadingStore, StoreError, WriteBatch, WriteSummary,
    };

    /// A store with empty layers that counts how often each is read, and
    /// reads slowly, so that concurrent requests overlap.
    #[derive(Default)]
    struct CountingStore {
        reads: std::sync::Mutex<HashMap<&'static str, usize>>,
    }

    const NOT_USED: &str = "not used by the statistics";

    #[async_trait::async_trait]
    impl LayerStore for CountingStore {
        fn kind(&self) -> &'static str {
            "counting"
        }
        async fn health(&self) -> Result<(), StoreError> {
            Ok(())
        }
        async fn features(&self, layer: &'static LayerDef, _: &FeatureQuery) -> Result<Vec<Feature>, StoreError> {
            *self
                .reads
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(layer.id)
                .or_default() += 1;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            Ok(Vec::new())
        }
        async fn count(&self, _: &'static LayerDef, _: &FeatureQuery) -> Result<u64, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn feature(&self, _: &'static LayerDef, _: i64, _: Audience) -> Result<Option<Feature>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        fn stream(&self, _: &'static LayerDef, _: FeatureQuery) -> FeatureStream {
            unimplemented!("{NOT_USED}")
        }
        async fn extent(&self, _: &'static LayerDef) -> Result<Option<geo::Rect<f64>>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn write(&self, _: WriteBatch) -> Result<WriteSummary, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn upsert_all(
            &self,
            _: Vec<agrimap_store::Upsert>,
        ) -> Result<Vec<agrimap_store::UpsertSummary>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn restamp_communes(
            &self,
            _: &'static LayerDef,
            _: agrimap_model::BoundarySet,
            _: Vec<(i64, String)>,
        ) -> Result<usize, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn versions(&self) -> Result<LayerVersions, StoreError> {
            Ok(LayerVersions::new())
        }
    }

    #[async_trait::async_trait]
    impl ReadingStore for CountingStore {
        async fn readings(&self, _: &str) -> Result<Vec<Reading>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn ingest(&self, _: Vec<Reading>, _: Judge) -> Result<Ingested, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn readings_between(&self, _: &ReadingQuery) -> Result<Vec<Reading>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn latest_readings(&self, _: Option<&str>) -> Result<Vec<Reading>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
    }

    #[async_trait::async_trait]
    impl agrimap_store::CodeStore for CountingStore {
        async fn codes(&self) -> Result<Vec<agrimap_model::Code>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn add_code(&self, _: &agrimap_model::Code) -> Result<(), StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn retire_code(&self, _: &str, _: &str) -> Result<(), StoreError> {
            unimplemented!("{NOT_USED}")
        }
    }

    #[async_trait::async_trait]
    impl CredentialStore for CountingStore {
        async fn station_token_hash(&self, _: &str) -> Result<Option<String>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn set_station_token_hash(&self, _: &str, _: &str) -> Result<bool, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn add_api_token(&self, _: &NewApiToken) -> Result<ApiToken, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn revoke_api_token(&self, _: &str) -> Result<bool, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn api_token_by_hash(&self, _: &str) -> Result<Option<ApiToken>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
    }

    #[async_trait::async_trait]
    impl agrimap_store::CrosswalkStore for CountingStore {
        async fn replace_crosswalk(&self, _: Vec<agrimap_store::CrosswalkPair>) -> Result<usize, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn crosswalk(
            &self,
            _: &agrimap_store::CrosswalkQuery,
        ) -> Result<Vec<agrimap_store::CrosswalkPair>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
    }

    #[async_trait::async_trait]
    impl agrimap_store::RegistryStore for CountingStore {
        async fn put_records(
            &self,
            _: agrimap_model::registry::RegistryKind,
            _: Vec<agrimap_store::RegistryRecord>,
            _: &str,
        ) -> Result<agrimap_store::RegistryWrite, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn record(
            &self,
            _: agrimap_model::registry::RegistryKind,
            _: &str,
        ) -> Result<Option<agrimap_store::RegistryRecord>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn records(
            &self,
            _: agrimap_model::registry::RegistryKind,
            _: Option<&str>,
        ) -> Result<Vec<agrimap_store::RegistryRecord>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn record_history(
            &self,
            _: agrimap_model::registry::RegistryKind,
            _: &str,
        ) -> Result<Vec<agrimap_store::RegistryChange>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn add_scans(&self, _: &str, _: &str, _: u64) -> Result<(), StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn scans(&self, _: &str) -> Result<Vec<(String, u64)>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
    }

    #[async_trait::async_trait]
    impl agrimap_store::AlertStore for CountingStore {
        async fn silence(
            &self,
            _: agrimap_model::UtcTime,
        ) -> Result<Vec<agrimap_model::alerts::AlertEvent>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn alert_events(
            &self,
            _: &agrimap_store::EventQuery,
        ) -> Result<Vec<agrimap_model::alerts::AlertEvent>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn add_subscription(
            &self,
            _: &agrimap_model::alerts::NewSubscription,
        ) -> Result<agrimap_model::alerts::Subscription, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn subscriptions(&self) -> Result<Vec<agrimap_model::alerts::Subscription>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn end_subscription(&self, _: i64, _: agrimap_model::UtcTime) -> Result<bool, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn dispatch_cursor(&self) -> Result<i64, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn enqueue_deliveries(
            &self,
            _: i64,
            _: &[(i64, i64)],
            _: agrimap_model::UtcTime,
        ) -> Result<(), StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn claim_deliveries(
            &self,
            _: agrimap_model::UtcTime,
            _: agrimap_model::UtcTime,
            _: usize,
        ) -> Result<Vec<agrimap_model::alerts::Delivery>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn finish_delivery(&self, _: i64, _: agrimap_store::DeliveryOutcome) -> Result<(), StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn deliveries(
            &self,
            _: Option<&[i64]>,
            _: Option<agrimap_model::alerts::DeliveryStatus>,
            _: usize,
        ) -> Result<Vec<agrimap_model::alerts::Delivery>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn replay_dead(&self, _: Option<&[i64]>, _: agrimap_model::UtcTime) -> Result<u64, StoreError> {
            unimplemented!("{NOT_USED}")
        }
    }

    #[async_trait::async_trait]
    impl agrimap_store::NtmStore for CountingStore {
        async fn add_criteria_set(&self, _: &agrimap_store::ntm::StoredSet) -> Result<bool, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn criteria_sets(&self) -> Result<Vec<agrimap_store::ntm::StoredSet>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn add_entry(&self, _: &agrimap_store::ntm::NewEntry) -> Result<agrimap_store::ntm::Entry, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn entries(
            &self,
            _: &agrimap_store::ntm::DossierKey,
        ) -> Result<Vec<agrimap_store::ntm::Entry>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn add_evidence(&self, _: &agrimap_store::ntm::EvidenceFile) -> Result<bool, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn evidence(&self, _: &str, _: bool) -> Result<Option<agrimap_store::ntm::EvidenceFile>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn add_move(&self, _: &agrimap_store::ntm::NewMove) -> Result<agrimap_store::ntm::Move, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn moves(&self, _: &str, _: &str, _: Option<i32>) -> Result<Vec<agrimap_store::ntm::Move>, StoreError> {
            unimplemented!("{NOT_USED}")
        }
        async fn ntm_changes(&self) -> Result<i64, StoreError> {
            unimplemented!("{NOT_USED}")
        }
    }

    /// Many requests at once for a table not computed yet (a cold start
    /// under load, or the first requests after a write) read the layer once,
    /// not once each: each read holds a whole layer in memory and a pooled
    /// database connection.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_compute_a_table_once() {
        let store = Arc::new(CountingStore::default());
        let cache = Arc::new(StatsCache::new(
            Arc::new(CommuneCache::default()),
            StatsCache::DEFAULT_BYTES,
        ));
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let (store, cache) = (store.clone(), cache.clone());
                tokio::spawn(async move {
                    let request = StatsRequest::parse("crop", Some("commune"), Some("crop_type"), Some("area"))
                        .map_err(|e| e.message)?;
                    cache
                        .table(store.as_ref(), request)
                        .await
                        .map(drop)
                        .map_err(|e| e.message)
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task").expect("table");
        }
        let reads = store.reads.lock().unwrap_or_else(PoisonError::into_inner).clone();
        assert_eq!(reads.get("crop"), Some(&1), "reads per layer: {reads:?}");
        // The commune index was built once too.
        assert_eq!(reads.get("admin_commune"), Some(&1), "reads per layer: {reads:?}");

        // Another table of the same layer is computed on its own; a cached one is not read again.
        let request = StatsRequest::parse("crop", Some("district"), Some("crop_type"), Some("area")).expect("request");
        cache.table(store.as_ref(), request).await.expect("table");
        let request = StatsRequest::parse("crop", Some("commune"), Some("crop_type"), Some("area")).expect("request");
        cache.table(store.as_ref(), request).await.expect("table");
        let reads = store.reads.lock().unwrap_or_else(PoisonError::into_inner).clone();
        assert_eq!(reads.get("crop"), Some(&2), "reads per layer: {reads:?}");
    }

    /// The cache holds tables by their size: with a budget smaller than one
    /// table, nothing is kept and every request computes again.
    #[tokio::test]
    async fn tables_are_kept_within_a_byte_budget() {
        let table = StatsTable {
            layer: "crop",
            boundary_set: "pre-2025",
            province: None,
            by: "commune",
            class: Some("parcel_id"),
            metric: "area".into(),
            unit: "ha",
            rows: (0..1_000)
                .map(|i| StatsRow {
                    code: format!("{i:05}"),
                    name: "Mỹ Xương".into(),
                    class: Some(format!("P-{i:07}")),
                    value: 1.0,
                    features: 1,
                })
                .collect(),
            total: 1_000.0,
        };
        // A row per feature costs its text and its fixed part, not one entry.
        assert!(
            table.approximate_bytes() > 1_000 * (5 + 9 + 9),
            "{}",
            table.approximate_bytes()
        );

        let request =
            || StatsRequest::parse("crop", Some("commune"), Some("crop_type"), Some("area")).expect("request");
        let store = Arc::new(CountingStore::default());
        let tiny = StatsCache::new(Arc::new(CommuneCache::default()), 16);
        tiny.table(store.as_ref(), request()).await.expect("table");
        tiny.table(store.as_ref(), request()).await.expect("table");
        let reads = store.reads.lock().unwrap_or_else(PoisonError::into_inner).clone();
        assert_eq!(reads.get("crop"), Some(&2), "nothing fits in 16 bytes: {reads:?}");
    }
}
