//! Which features of a layer a request selects, whoever asks: the `/ogc`
//! items of the HTTP service, `GET /api/export` and `agrimap export` read the
//! same parameters into the same store query.
//!
//! - [`params`]: the parameters, each checked and refused with a message naming it.
//! - [`time`]: `datetime`, and the time field of each layer.
//! - [`queryables`]: what a `filter` on a layer may name, as a JSON Schema.
//! - [`scope`]: `province`, and what a caller limited to provinces may read.
//! - [`merged`]: `commune` of a 2025 commune, with the old communes merged into it.
//!
//! [`query`] builds the store's [`FeatureQuery`] from them; [`in_crs`] gives
//! the features read in the CRS asked for; [`Extents`] keeps the layers'
//! extents until they change, [`counts::MatchCounts`] the counts of queries.

pub mod as_of;
pub mod counts;
pub mod merged;
pub mod params;
pub mod queryables;
pub mod scope;
pub mod time;

pub use params::Params;

use crate::Core;
use crate::error::{CoreError, echo};
use agrimap_io::crs::{Crs, Transform};
use agrimap_model::{Audience, Feature, FeatureQuery, Filter, LayerDef, catalog};
use agrimap_store::{LayerVersions, Store};
use geo::Rect;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// The layer a collection id names.
///
/// # Errors
/// `unknown_collection` (not found), listing the collections there are.
pub fn collection(id: &str) -> Result<&'static LayerDef, CoreError> {
    agrimap_model::layer(id).ok_or_else(|| {
        let known: Vec<&str> = catalog().iter().map(|l| l.id).collect();
        CoreError::not_found(
            "unknown_collection",
            format!(
                "no collection '{}'; the collections are: {}",
                echo(id, 64),
                known.join(", ")
            ),
        )
    })
}

/// The fields to return: those chosen with `properties`, else every one the
/// caller may read.
///
/// # Errors
/// As [`params::properties`].
pub fn chosen_fields(params: &Params, layer: &'static LayerDef, audience: Audience) -> Result<Vec<usize>, CoreError> {
    Ok(params::properties(params, layer, audience)?
        .unwrap_or_else(|| layer.readable_fields(audience).map(|(i, _)| i).collect()))
}

/// The parameters that select features (and how they are written), as
/// `/ogc` items take them besides paging and as exports take them whole;
/// the links of a page carry them on.
pub const SELECTION_PARAMS: &[&str] = &[
    "bbox",
    "bbox-crs",
    "crs",
    "datetime",
    "as_of",
    "commune",
    "boundary_set",
    "province",
    "filter",
    "filter-lang",
    "filter-crs",
    "properties",
];

/// The store query selecting what `params` ask of `layer` (`bbox`,
/// `bbox-crs`, `datetime`, `as_of`, `commune` with `boundary_set`, `province`, `filter`, `filter-lang`, `filter-crs`),
/// for `audience`; paging is the caller's.
///
/// # Errors
/// The parameter that is wrong, named; `unknown_commune` for a commune code
/// the store does not hold.
pub async fn query(
    core: &Core,
    layer: &'static LayerDef,
    params: &Params,
    audience: Audience,
) -> Result<FeatureQuery, CoreError> {
    let mut filters = Vec::new();
    let mut query = FeatureQuery::default();
    if let Some(rects) = params::bbox(params)? {
        match rects.as_slice() {
            [one] => query.bbox = Some(*one),
            more => filters.push(Filter::Or(more.iter().copied().map(Filter::Intersects).collect())),
        }
    }
    filters.extend(time_filter(layer, params)?);
    if let Some(s) = params.get("as_of") {
        as_of::check_versioned(layer)?;
        query.as_of = Some(as_of::parse_as_of(s, agrimap_model::UtcTime::now())?);
    }
    if let Some(code) = params.get("commune") {
        if !layer.has_commune() {
            return Err(CoreError::invalid(
                "bad_commune",
                format!(
                    "collection '{}' has no commune_code, so it cannot be selected by commune",
                    layer.id
                ),
            ));
        }
        // A code names a commune only with its set: the one asked for, or
        // the newest set that has the code.
        let asked = crate::communes::boundary_set_param(params.get("boundary_set"))?;
        let index = core.commune_index().await?;
        let Some(commune) = index.get(code, asked) else {
            let within = asked.map_or_else(String::new, |set| format!(" in the {set} boundary set"));
            return Err(CoreError::invalid(
                "unknown_commune",
                format!(
                    "no commune has the code '{}'{within}; find communes by name or code with /api/communes?q=…",
                    echo(code, 64)
                ),
            ));
        };
        let former = core.communes.former.get(core.store.as_ref()).await?;
        if let Some(with_merged) = merged::commune_filter(&former, commune) {
            filters.push(with_merged);
        } else {
            query.commune = Some(code.to_owned());
            query.boundary_set = agrimap_model::BoundarySet::parse(&commune.boundary_set);
        }
    } else if params.get("boundary_set").is_some() {
        return Err(CoreError::invalid(
            "bad_boundary_set",
            "boundary_set says which commune a commune code means: give it with commune",
        ));
    }
    if let Some(province) = params.get("province") {
        let index = core.commune_index().await?;
        let scope = scope::ProvinceScope::of(core, province).await?;
        filters.push(scope::province_filter(&index, layer, &scope)?);
        // Lets a store partitioned by province read those provinces only.
        query.provinces = scope.codes();
    }
    filters.extend(attribute_filter(params, layer, audience).await?);
    query.filter = match filters.len() {
        0 => None,
        1 => filters.pop(),
        _ => Some(Filter::And(filters)),
    };
    query.audience = audience;
    Ok(query)
}

/// The features of `layer` in the time `datetime` asks for, `None` without it.
///
/// # Errors
/// `bad_datetime` for a layer without time or a `datetime` that does not parse.
pub fn time_filter(layer: &'static LayerDef, params: &Params) -> Result<Option<Filter>, CoreError> {
    let Some(s) = params.get("datetime") else {
        return Ok(None);
    };
    let temporal = time::temporal(layer).ok_or_else(|| {
        CoreError::invalid(
            "bad_datetime",
            format!(
                "collection '{}' has no time; datetime applies to {}",
                layer.id,
                time::layers_with_time()
            ),
        )
    })?;
    let range =
        time::parse_datetime(s).map_err(|why| CoreError::invalid("bad_datetime", format!("datetime: {why}")))?;
    Ok(time::filter(layer, temporal, range))
}

/// [`params::filter`] off the async runtime.
///
/// Reading a filter checks its geometries (geo's validation, which compares
/// every edge of a ring with the others), so a polygon of a thousand or more
/// vertices takes a core for a noticeable time. On one of the runtime's few
/// worker threads that stalled every other request: six such filters at once
/// made `/health` time out. The parse runs on the blocking pool instead.
///
/// # Errors
/// The errors of [`params::filter`].
pub async fn attribute_filter(
    params: &Params,
    layer: &'static LayerDef,
    audience: Audience,
) -> Result<Option<Filter>, CoreError> {
    const FILTER_PARAMS: [&str; 3] = ["filter", "filter-lang", "filter-crs"];
    if params.raw("filter").is_none() {
        // Nothing costly: answer (or refuse `filter-lang`) right here.
        return params::filter(params, layer, audience);
    }
    let pairs = FILTER_PARAMS
        .iter()
        .filter_map(|&name| params.raw(name).map(|v| (name.to_owned(), v.to_owned())))
        .collect();
    let own = Params::new(pairs)?;
    tokio::task::spawn_blocking(move || params::filter(&own, layer, audience))
        .await
        .map_err(|e| CoreError::task_failed("internal", "reading the filter", &e))?
}

/// The features with their geometries in `crs`. Off the async runtime: a
/// page may hold thousands of polygons.
///
/// # Errors
/// `transform_failed` (ours) when a stored position lies outside what the
/// projection reaches.
pub async fn in_crs(features: Vec<Feature>, crs: Crs) -> Result<Vec<Feature>, CoreError> {
    if crs == Crs::CRS84 {
        return Ok(features);
    }
    tokio::task::spawn_blocking(move || {
        let transform = Transform::new(crs);
        features
            .into_iter()
            .map(|mut f| {
                f.geometry = transform.geometry_from_wgs84(&f.geometry).map_err(|e| {
                    CoreError::internal(
                        "transform_failed",
                        format!("a stored feature cannot be given in this CRS: {e}"),
                    )
                })?;
                Ok(f)
            })
            .collect()
    })
    .await
    .map_err(|e| CoreError::task_failed("transform_failed", "transforming the features", &e))?
}

/// A layer's extent and the change counter it was read at.
type VersionedExtent = (u64, Option<Rect<f64>>);

/// Layer extents by layer, kept until the layer's change counter moves.
#[derive(Debug, Default)]
pub struct Extents {
    by_layer: Mutex<HashMap<&'static str, VersionedExtent>>,
}

impl Extents {
    /// The extent of `layer` (`None` when it has no features), read from the
    /// store only when `versions` says the layer changed.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn get(
        &self,
        store: &dyn Store,
        layer: &'static LayerDef,
        versions: &LayerVersions,
    ) -> Result<Option<Rect<f64>>, CoreError> {
        let version = versions.get(layer.id).copied().unwrap_or(0);
        let cached = self
            .by_layer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(layer.id)
            .filter(|(v, _)| *v == version)
            .map(|(_, e)| *e);
        if let Some(extent) = cached {
            return Ok(extent);
        }
        let extent = store.extent(layer).await?;
        self.by_layer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(layer.id, (version, extent));
        Ok(extent)
    }
}
