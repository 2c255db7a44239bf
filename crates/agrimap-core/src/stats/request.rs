//! What a statistics request asks for, read from its parameters and checked
//! against the catalog: every error names the valid values.

use crate::communes::boundary_set_param;
use crate::error::{CoreError, echo};
use agrimap_analysis::{Level, Metric};
use agrimap_model::{
    Access, Audience, BoundarySet, FieldDef, FieldType, Filter, GeometryKind, LayerDef, LayerGroup, UtcTime, catalog,
};
use serde::Serialize;

/// At most this many class fields: a cross-tabulation of two fields is what
/// a planner reads as a table; three make a cube nobody reads.
pub const MAX_CLASSES: usize = 2;

/// At most this many metrics in one request.
pub const MAX_METRICS: usize = 8;

/// What a statistics request asks for, validated against the catalog.
#[derive(Debug, Clone)]
pub struct StatsRequest {
    pub layer: &'static LayerDef,
    pub level: LevelName,
    /// Indexes of the class fields, at most [`MAX_CLASSES`].
    pub classes: Vec<usize>,
    /// The metrics, in the order asked; at least one.
    pub metrics: Vec<Metric>,
    /// The communes to count by; `None` for the newest set the store holds.
    pub boundary_set: Option<BoundarySet>,
    /// Only the communes of this province (its code in the set).
    pub province: Option<String>,
    /// Only the features this selects (`filter` and `datetime`), with the
    /// text it was read from, which names it in the answer and the cache.
    pub selection: Option<Selection>,
    /// Each value divided by this quantity of its commune, district or province.
    pub per: Option<Per>,
    /// The layer as it stood at this instant (`as_of`); `None` for now.
    pub as_of: Option<UtcTime>,
}

/// A selection of features: the filter the store applies, the words it was
/// asked in, and who asked (a filter on a restricted field is a planner's).
#[derive(Debug, Clone)]
pub struct Selection {
    pub filter: Filter,
    /// The CQL2 `filter` text, when there was one.
    pub cql2: Option<String>,
    /// The `datetime` asked, when there was one.
    pub datetime: Option<String>,
    pub audience: Audience,
    /// For a token limited to provinces: only the features coded in this
    /// province are counted ([`Selection::coded_in`]).
    pub coded_in: Option<String>,
}

impl Selection {
    /// The selection `params` make of `layer` for `audience`: `filter` (with
    /// `filter-lang`, `filter-crs`) and `datetime`, read exactly as `/ogc`
    /// reads them; `None` when there is neither.
    ///
    /// # Errors
    /// `bad_filter`, `bad_datetime` and the other errors of the `/ogc` parameters.
    pub async fn read(
        layer: &'static LayerDef,
        params: &crate::features::Params,
        audience: Audience,
    ) -> Result<Option<Self>, CoreError> {
        let mut filters: Vec<Filter> = Vec::new();
        filters.extend(crate::features::time_filter(layer, params)?);
        filters.extend(crate::features::attribute_filter(params, layer, audience).await?);
        let filter = match filters.len() {
            0 => return Ok(None),
            1 => filters.remove(0),
            _ => Filter::And(filters),
        };
        Ok(Some(Self {
            filter,
            cql2: params.raw("filter").map(str::to_owned),
            datetime: params.get("datetime").map(str::to_owned),
            audience,
            coded_in: None,
        }))
    }

    /// Only the features `coded` selects (those coded by the communes of
    /// `province`, as `/ogc` selects a province) are counted. A table of a
    /// province counts whatever lies in its communes, whoever's it is; a
    /// token limited to the province that filters on restricted fields
    /// must not learn them of features another province owns.
    #[must_use]
    pub fn coded_in(mut self, coded: Filter, province: &str) -> Self {
        self.filter = Filter::And(vec![self.filter, coded]);
        self.coded_in = Some(province.to_owned());
        self
    }
}

/// `by=`: the unit rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LevelName {
    Commune,
    District,
    Province,
}

impl LevelName {
    pub(super) fn level(self) -> Level {
        match self {
            Self::Commune => Level::Commune,
            Self::District => Level::District,
            Self::Province => Level::Province,
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Commune => "commune",
            Self::District => "district",
            Self::Province => "province",
        }
    }
}

/// `per=`: what each value is divided by, for each row's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Per {
    /// The unit's own area on the ellipsoid, in hectares.
    CommuneArea,
    /// The unit's farmland: the area of its crop parcels and aquaculture ponds, in hectares.
    Farmland,
    /// The unit's resident population (`population` of the communes).
    Population,
}

impl Per {
    fn parse(s: &str) -> Result<Self, CoreError> {
        match s {
            "commune_area" => Ok(Self::CommuneArea),
            "farmland" => Ok(Self::Farmland),
            "population" => Ok(Self::Population),
            other => Err(CoreError::invalid(
                "bad_per",
                format!(
                    "per must be commune_area, farmland or population, not '{}'",
                    echo(other, 64)
                ),
            )),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CommuneArea => "commune_area",
            Self::Farmland => "farmland",
            Self::Population => "population",
        }
    }

    /// The unit of the denominator.
    #[must_use]
    pub fn unit(self) -> &'static str {
        match self {
            Self::CommuneArea | Self::Farmland => "ha",
            Self::Population => "persons",
        }
    }
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
    /// Validates the parameters of a request: `class` is one field or two
    /// separated by a comma, `metric` one metric or several.
    ///
    /// # Errors
    /// An unknown layer (404), or a bad `by`, `class` or `metric` (400).
    pub fn parse(layer: &str, by: Option<&str>, class: Option<&str>, metric: Option<&str>) -> Result<Self, CoreError> {
        let layer = agrimap_model::layer(layer)
            .filter(|l| l.group == LayerGroup::Theme)
            .ok_or_else(|| {
                CoreError::not_found(
                    "unknown_layer",
                    format!(
                        "no statistics for layer '{}'; layers: {}",
                        echo(layer, 64),
                        thematic_layers().join(", ")
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
        let classes = parse_classes(layer, class.unwrap_or(""))?;
        let metrics = parse_metrics(layer, metric.unwrap_or("count"))?;
        Ok(Self {
            layer,
            level,
            classes,
            metrics,
            boundary_set: None,
            province: None,
            selection: None,
            per: None,
            as_of: None,
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

    /// The same request over the features `selection` selects only.
    #[must_use]
    pub fn selecting(mut self, selection: Option<Selection>) -> Self {
        self.selection = selection;
        self
    }

    /// The same request with each value divided by `per` (absent or empty: none).
    ///
    /// # Errors
    /// `bad_per` for anything but `commune_area`, `farmland` or `population`.
    pub fn per(mut self, per: Option<&str>) -> Result<Self, CoreError> {
        self.per = per.filter(|p| !p.is_empty()).map(Per::parse).transpose()?;
        Ok(self)
    }

    /// The same request of the layer as it stood at `as_of` (a date or an
    /// RFC 3339 instant; absent or empty for now).
    ///
    /// # Errors
    /// `bad_as_of` for a time that is not one, in the future, or a layer
    /// that keeps no history.
    pub fn at(mut self, as_of: Option<&str>) -> Result<Self, CoreError> {
        if let Some(s) = as_of.filter(|s| !s.is_empty()) {
            crate::features::as_of::check_versioned(self.layer)?;
            self.as_of = Some(crate::features::as_of::parse_as_of(s, UtcTime::now())?);
        }
        Ok(self)
    }

    /// The first class field's index (the one a single-class table is split by).
    #[must_use]
    pub fn class(&self) -> Option<usize> {
        self.classes.first().copied()
    }

    /// The name of a metric as asked: `area`, `count` or `sum:{field}`.
    #[must_use]
    pub fn metric_name(&self, metric: Metric) -> String {
        match metric {
            Metric::Area => "area".into(),
            Metric::Count => "count".into(),
            Metric::Sum(i) => format!("sum:{}", self.layer.fields[i].name),
        }
    }

    /// The unit of a metric: `ha`, `features`, or the summed field's unit.
    #[must_use]
    pub fn unit(&self, metric: Metric) -> &'static str {
        match metric {
            Metric::Area => "ha",
            Metric::Count => "features",
            Metric::Sum(i) => self.layer.fields[i].unit.unwrap_or(""),
        }
    }
}

/// What can be asked of one layer: the page's statistics panel builds its
/// question from these, and a client need not guess.
#[derive(Debug, Clone, Serialize)]
pub struct LayerOptions {
    pub layer: &'static str,
    /// The fields a table may be split by (at most [`MAX_CLASSES`] at once),
    /// with their code list or fixed values where they have them: the pick-lists
    /// of a filter, too.
    pub classes: Vec<&'static FieldDef>,
    /// `area` (polygon layers), `count` and `sum:{field}`.
    pub metrics: Vec<String>,
    /// The `per=` values.
    pub per: [&'static str; 3],
    /// What `datetime` selects by, for layers with time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// What can be asked of each thematic layer.
#[must_use]
pub fn layer_options() -> Vec<LayerOptions> {
    catalog()
        .iter()
        .filter(|l| l.group == LayerGroup::Theme)
        .map(|layer| LayerOptions {
            layer: layer.id,
            classes: class_fields(layer)
                .iter()
                .filter_map(|name| layer.fields.iter().find(|f| f.name == *name))
                .collect(),
            metrics: metric_names(layer),
            per: [Per::CommuneArea, Per::Farmland, Per::Population].map(Per::as_str),
            time: crate::features::time::temporal(layer).map(crate::features::time::Temporal::describe),
        })
        .collect()
}

/// The metrics a layer offers, as they are asked.
fn metric_names(layer: &LayerDef) -> Vec<String> {
    let mut names = Vec::new();
    if layer.geometry == GeometryKind::Polygon {
        names.push("area".to_owned());
    }
    names.push("count".to_owned());
    names.extend(sum_fields(layer).iter().map(|f| format!("sum:{f}")));
    names
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

/// `class=`: no field, one, or two separated by a comma.
fn parse_classes(layer: &'static LayerDef, class: &str) -> Result<Vec<usize>, CoreError> {
    let names: Vec<&str> = class.split(',').map(str::trim).filter(|c| !c.is_empty()).collect();
    if names.len() > MAX_CLASSES {
        return Err(CoreError::invalid(
            "bad_class",
            format!("at most {MAX_CLASSES} class fields (class=a,b), not {}", names.len()),
        ));
    }
    let mut classes = Vec::with_capacity(names.len());
    for name in names {
        let fields = class_fields(layer);
        let index = fields
            .contains(&name)
            .then(|| layer.field_index(name))
            .flatten()
            .ok_or_else(|| {
                CoreError::invalid(
                    "bad_class",
                    format!(
                        "layer '{}' has no class field '{}'; class fields: {}",
                        layer.id,
                        echo(name, 64),
                        fields.join(", ")
                    ),
                )
            })?;
        if classes.contains(&index) {
            return Err(CoreError::invalid(
                "bad_class",
                format!("class field '{name}' is given twice"),
            ));
        }
        classes.push(index);
    }
    Ok(classes)
}

/// `metric=`: one metric or several separated by commas.
fn parse_metrics(layer: &'static LayerDef, metric: &str) -> Result<Vec<Metric>, CoreError> {
    let names: Vec<&str> = metric.split(',').map(str::trim).filter(|m| !m.is_empty()).collect();
    if names.is_empty() {
        return Ok(vec![Metric::Count]);
    }
    if names.len() > MAX_METRICS {
        return Err(CoreError::invalid(
            "bad_metric",
            format!("at most {MAX_METRICS} metrics at once, not {}", names.len()),
        ));
    }
    let mut metrics = Vec::with_capacity(names.len());
    for name in names {
        let metric = parse_metric(layer, name)?;
        if metrics.contains(&metric) {
            return Err(CoreError::invalid(
                "bad_metric",
                format!("metric '{}' is given twice", echo(name, 64)),
            ));
        }
        metrics.push(metric);
    }
    Ok(metrics)
}

fn parse_metric(layer: &'static LayerDef, metric: &str) -> Result<Metric, CoreError> {
    let valid = || metric_names(layer).join(", ");
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
