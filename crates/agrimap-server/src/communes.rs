//! `/api/communes` (find or list communes) and `/api/communes/{code}` (one
//! commune with its district, province and boundary).
//!
//! Communes are few (hundreds to a few thousand per province), so the
//! `admin_commune`, `admin_district` and `admin_province` layers are read once
//! into a [`CommuneIndex`] held in memory; the index carries the change
//! counters of those three layers and is rebuilt on the first request after
//! any of them changes ([`CommuneCache`]).
//!
//! Search folds names the way people type them ([`agrimap_model::search`]):
//! `my xuong`, `MY XUONG`, `Mỹ Xương` and `xã Mỹ Xương` all find Mỹ Xương.
//! Matches are ranked: exact code; exact folded name (a name spelled exactly as
//! typed, marks included, before one that only folds alike: `Phước Thạnh` finds
//! Phước Thạnh before Phước Thành); folded name starting with the query (or
//! code starting with a query of digits); every query word starting a word of
//! the name, in order; the query inside the name. Ties go by name.

use crate::AppState;
use crate::error::ApiError;
use agrimap_model::search::{fold, normalize, strip_kind_prefix};
use agrimap_model::{BoundarySet, Feature, FeatureQuery, LayerDef, Value, layer};
use agrimap_store::{LayerVersions, Store};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::Route;
use crate::auth::Need;
use axum::Json;
use axum::extract::FromRef;
use axum::http::Method;
use axum::routing::get;
use geo::{BoundingRect, InteriorPoint};
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};
use std::sync::{Arc, PoisonError, RwLock};

/// Page size when the request gives none.
pub const DEFAULT_LIMIT: usize = 10;
/// Largest page; larger limits are capped to it.
pub const MAX_LIMIT: usize = 50;
/// Longest query (in characters) the search accepts: no name is near this long.
pub const MAX_QUERY_CHARS: usize = 200;

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![
        Route::new(Method::GET, "/api/communes", Need::Anyone, get(list)),
        Route::new(Method::GET, "/api/communes/{code}", Need::Anyone, get(detail)),
    ]
}

/// What the commune handlers share: the store and the index cache.
#[derive(Clone)]
pub(crate) struct Communes {
    store: Arc<dyn Store>,
    cache: Arc<CommuneCache>,
}

impl FromRef<AppState> for Communes {
    fn from_ref(state: &AppState) -> Self {
        Self {
            store: state.store.clone(),
            cache: state.communes.clone(),
        }
    }
}

/// One commune as the index keeps it.
#[derive(Debug, Clone)]
pub struct Commune {
    pub code: String,
    pub name: String,
    /// `xa`, `phuong` or `thi_tran`.
    pub kind: Option<String>,
    /// `pre-2025` or `2025`, as stored.
    pub boundary_set: String,
    /// `None` in the 2025 set, which has no districts.
    pub district_code: Option<String>,
    pub district_name: Option<String>,
    pub province_code: String,
    pub province_name: Option<String>,
    pub area_ha: Option<f64>,
    pub ntm_status: Option<String>,
    pub ntm_year: Option<i64>,
    pub population: Option<i64>,
    /// `[west, south, east, north]` in degrees.
    pub bbox: Option<[f64; 4]>,
    /// A point inside the boundary, `[longitude, latitude]`.
    pub center: Option<[f64; 2]>,
    pub boundary: geo::Geometry<f64>,
    /// The name normalized ([`normalize`]), and folded ([`fold`]) with its words.
    normalized: String,
    folded: String,
    words: Vec<String>,
}

/// A district or province: code, name and boundary set.
#[derive(Debug, Clone)]
struct Unit {
    code: String,
    name: String,
    boundary_set: String,
}

/// Every commune of the store, with district and province names resolved.
#[derive(Debug)]
pub struct CommuneIndex {
    /// Versions of `admin_province`, `admin_district`, `admin_commune` it was built from.
    versions: [u64; 3],
    /// In code order.
    communes: Vec<Commune>,
    districts: Vec<Unit>,
    provinces: Vec<Unit>,
}

const LAYERS: [&str; 3] = ["admin_province", "admin_district", "admin_commune"];

fn admin_layer(id: &str) -> &'static LayerDef {
    layer(id).unwrap_or_else(|| panic!("the catalog has no layer '{id}'"))
}

fn versions_key(versions: &LayerVersions) -> [u64; 3] {
    LAYERS.map(|id| versions.get(id).copied().unwrap_or(0))
}

/// Reads fields of one feature by name.
struct Fields<'a> {
    layer: &'static LayerDef,
    feature: &'a Feature,
}

impl Fields<'_> {
    fn value(&self, name: &str) -> &Value {
        self.layer
            .field_index(name)
            .and_then(|i| self.feature.properties.get(i))
            .unwrap_or(&Value::Null)
    }

    fn text(&self, name: &str) -> Option<String> {
        self.value(name).as_str().filter(|s| !s.is_empty()).map(str::to_owned)
    }

    fn int(&self, name: &str) -> Option<i64> {
        self.value(name).as_i64()
    }

    fn real(&self, name: &str) -> Option<f64> {
        self.value(name).as_f64()
    }
}

fn units(layer: &'static LayerDef, features: &[Feature]) -> Vec<Unit> {
    let mut units: Vec<Unit> = features
        .iter()
        .filter_map(|feature| {
            let f = Fields { layer, feature };
            Some(Unit {
                code: f.text("code")?,
                name: f.text("name").unwrap_or_default(),
                boundary_set: f.text("boundary_set").unwrap_or_default(),
            })
        })
        .collect();
    units.sort_by(|a, b| (&a.code, &a.boundary_set).cmp(&(&b.code, &b.boundary_set)));
    units
}

/// The unit with this code, in this boundary set if there is one, else in any.
fn unit_name(units: &[Unit], code: &str, boundary_set: &str) -> Option<String> {
    let mut same_code = units.iter().filter(|u| u.code == code);
    let first = same_code.clone().next()?;
    Some(
        same_code
            .find(|u| u.boundary_set == boundary_set)
            .unwrap_or(first)
            .name
            .clone(),
    )
}

impl CommuneIndex {
    /// Reads the three administrative layers and builds the index.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn load(store: &dyn Store, versions: [u64; 3]) -> Result<Self, ApiError> {
        let [province, district, commune] = LAYERS.map(admin_layer);
        let all = FeatureQuery::default();
        let (provinces, districts, communes) = tokio::try_join!(
            store.features(province, &all),
            store.features(district, &all),
            store.features(commune, &all),
        )?;
        // Boundaries can be detailed: measure them off the async workers.
        tokio::task::spawn_blocking(move || Self::build(versions, &provinces, &districts, communes))
            .await
            .map_err(|e| {
                tracing::error!(cause = %e, "building the commune index failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "index_failed",
                    "the commune index could not be built",
                )
            })
    }

    fn build(versions: [u64; 3], provinces: &[Feature], districts: &[Feature], communes: Vec<Feature>) -> Self {
        let provinces = units(admin_layer("admin_province"), provinces);
        let districts = units(admin_layer("admin_district"), districts);
        let layer = admin_layer("admin_commune");
        let mut list: Vec<Commune> = communes
            .into_iter()
            .filter_map(|feature| {
                let f = Fields {
                    layer,
                    feature: &feature,
                };
                let code = f.text("code")?;
                let name = f.text("name").unwrap_or_default();
                let boundary_set = f.text("boundary_set").unwrap_or_default();
                let district_code = f.text("district_code");
                let province_code = f.text("province_code").unwrap_or_default();
                let folded = fold(&name);
                let commune = Commune {
                    normalized: normalize(&name),
                    kind: f.text("kind"),
                    district_name: district_code
                        .as_deref()
                        .and_then(|d| unit_name(&districts, d, &boundary_set)),
                    province_name: unit_name(&provinces, &province_code, &boundary_set),
                    area_ha: f.real("area_ha"),
                    ntm_status: f.text("ntm_status"),
                    ntm_year: f.int("ntm_year"),
                    population: f.int("population"),
                    bbox: feature
                        .geometry
                        .bounding_rect()
                        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]),
                    center: feature.geometry.interior_point().map(|p| [p.x(), p.y()]),
                    words: folded.split(' ').map(str::to_owned).collect(),
                    folded,
                    code,
                    name,
                    boundary_set,
                    district_code,
                    province_code,
                    boundary: feature.geometry,
                };
                Some(commune)
            })
            .collect();
        list.sort_by(|a, b| (&a.code, &a.boundary_set).cmp(&(&b.code, &b.boundary_set)));
        Self {
            versions,
            communes: list,
            districts,
            provinces,
        }
    }

    /// Every commune, in code order.
    #[must_use]
    pub fn communes(&self) -> &[Commune] {
        &self.communes
    }

    /// The commune with this code: in `boundary_set` when given, otherwise the
    /// one of the newest set that has the code.
    #[must_use]
    pub fn get(&self, code: &str, boundary_set: Option<BoundarySet>) -> Option<&Commune> {
        let mut found = self.communes.iter().filter(|c| c.code == code);
        match boundary_set {
            Some(set) => found.find(|c| c.boundary_set == set.as_str()),
            None => found.max_by_key(|c| c.boundary_set == BoundarySet::Y2025.as_str()),
        }
    }
}

/// The commune index of one store, rebuilt when the administrative layers change.
#[derive(Debug, Default)]
pub struct CommuneCache {
    current: RwLock<Option<Arc<CommuneIndex>>>,
    /// Held while building, so that concurrent requests build once.
    building: tokio::sync::Mutex<()>,
}

impl CommuneCache {
    /// The index for the store's current layer versions.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn index(&self, store: &dyn Store) -> Result<Arc<CommuneIndex>, ApiError> {
        // Read before the layers: a write in between makes the next request rebuild.
        let versions = versions_key(&store.versions().await?);
        if let Some(index) = self.cached(versions) {
            return Ok(index);
        }
        let _building = self.building.lock().await;
        if let Some(index) = self.cached(versions) {
            return Ok(index);
        }
        let index = Arc::new(CommuneIndex::load(store, versions).await?);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(index.clone());
        Ok(index)
    }

    fn cached(&self, versions: [u64; 3]) -> Option<Arc<CommuneIndex>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|index| index.versions == versions)
            .cloned()
    }
}

/// How well a commune matches a query; lower is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    Code,
    /// Same name, marks included.
    ExactName,
    /// Same folded name.
    Name,
    Prefix,
    WordPrefix,
    Substring,
}

/// A search query, folded.
struct Search {
    /// Digits only, trimmed: compared with codes.
    code: Option<String>,
    /// The folded query and, when it starts with a kind of unit, the rest.
    forms: Vec<(String, Vec<String>)>,
    /// The query normalized, with marks, and without a leading kind of unit.
    exact: Vec<String>,
}

impl Search {
    fn new(q: &str) -> Self {
        let trimmed = q.trim();
        let code = (!trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit())).then(|| trimmed.to_owned());
        let folded = fold(q);
        let normalized = normalize(q);
        let mut exact: Vec<String> = strip_kind_prefix(&normalized).map(str::to_owned).into_iter().collect();
        exact.push(normalized);
        let mut forms = Vec::new();
        if let Some(bare) = strip_kind_prefix(&folded) {
            forms.push(bare.to_owned());
        }
        if !folded.is_empty() {
            forms.push(folded);
        }
        Self {
            code,
            exact,
            forms: forms
                .into_iter()
                .map(|f| {
                    let words = f.split(' ').map(str::to_owned).collect();
                    (f, words)
                })
                .collect(),
        }
    }

    fn rank(&self, c: &Commune) -> Option<Rank> {
        let by_code = self.code.as_deref().and_then(|q| {
            if c.code == q {
                Some(Rank::Code)
            } else {
                c.code.starts_with(q).then_some(Rank::Prefix)
            }
        });
        let by_name = self
            .forms
            .iter()
            .filter_map(|(q, words)| name_rank(c, q, words))
            .min()
            .map(|rank| {
                // Among names that fold alike, the one spelled as typed goes first.
                if rank == Rank::Name && self.exact.contains(&c.normalized) {
                    Rank::ExactName
                } else {
                    rank
                }
            });
        by_code.into_iter().chain(by_name).min()
    }
}

fn name_rank(c: &Commune, q: &str, q_words: &[String]) -> Option<Rank> {
    if c.folded == q {
        Some(Rank::Name)
    } else if c.folded.starts_with(q) {
        Some(Rank::Prefix)
    } else if words_start_in_order(&c.words, q_words) {
        Some(Rank::WordPrefix)
    } else if c.folded.contains(q) {
        Some(Rank::Substring)
    } else {
        None
    }
}

/// Each query word starts a word of the name, later than the previous one's.
fn words_start_in_order(name: &[String], query: &[String]) -> bool {
    let mut name = name.iter();
    query.iter().all(|q| name.any(|w| w.starts_with(q.as_str())))
}

/// Query parameters of `/api/communes`; all text, checked by hand so that
/// every mistake answers a JSON error.
#[derive(Debug, Deserialize)]
struct ListParams {
    q: Option<String>,
    province: Option<String>,
    district: Option<String>,
    boundary_set: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

/// Query parameters of `/api/communes/{code}`.
#[derive(Debug, Deserialize)]
struct DetailParams {
    boundary_set: Option<String>,
}

/// Echoing a client string back: keep it short.
fn echo(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() > MAX {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    } else {
        s.to_owned()
    }
}

fn bad_query(e: &QueryRejection) -> ApiError {
    ApiError::bad_request(
        "bad_query",
        format!("the query string cannot be read: {}", e.body_text()),
    )
}

/// A parameter given with a value (an empty one counts as not given).
fn given(p: Option<&String>) -> Option<&str> {
    p.map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn parse_boundary_set(p: Option<&String>) -> Result<Option<BoundarySet>, ApiError> {
    given(p)
        .map(|s| {
            BoundarySet::parse(s).ok_or_else(|| {
                ApiError::bad_request(
                    "bad_boundary_set",
                    format!(
                        "boundary_set must be '{}' or '{}', got '{}'",
                        BoundarySet::Pre2025,
                        BoundarySet::Y2025,
                        echo(s)
                    ),
                )
            })
        })
        .transpose()
}

fn parse_limit(p: Option<&String>) -> Result<usize, ApiError> {
    let Some(s) = given(p) else {
        return Ok(DEFAULT_LIMIT);
    };
    match s.parse::<u64>() {
        Ok(0) | Err(_) => Err(ApiError::bad_request(
            "bad_limit",
            format!("limit must be a whole number from 1 to {MAX_LIMIT}, got '{}'", echo(s)),
        )),
        // Larger pages are capped rather than refused.
        Ok(n) => Ok(usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT)),
    }
}

fn parse_offset(p: Option<&String>) -> Result<usize, ApiError> {
    given(p).map_or(Ok(0), |s| {
        s.parse::<usize>().map_err(|_| {
            ApiError::bad_request(
                "bad_offset",
                format!("offset must be a whole number from 0, got '{}'", echo(s)),
            )
        })
    })
}

/// A code that must be one of `units`' codes (in `boundary_set` when given).
fn parse_unit(
    p: Option<&String>,
    units: &[Unit],
    boundary_set: Option<BoundarySet>,
    what: &str,
    code: &'static str,
) -> Result<Option<String>, ApiError> {
    let Some(s) = given(p) else {
        return Ok(None);
    };
    let known: Vec<&Unit> = units
        .iter()
        .filter(|u| boundary_set.is_none_or(|set| u.boundary_set == set.as_str()))
        .collect();
    if known.iter().any(|u| u.code == s) {
        return Ok(Some(s.to_owned()));
    }
    let mut codes: Vec<String> = known.iter().map(|u| format!("{} ({})", u.code, u.name)).collect();
    codes.dedup();
    const SHOWN: usize = 50;
    let more = codes.len().saturating_sub(SHOWN);
    codes.truncate(SHOWN);
    let mut valid = codes.join(", ");
    if more > 0 {
        valid.push_str(&format!(" and {more} more"));
    }
    Err(ApiError::bad_request(
        code,
        format!("unknown {what} code '{}'; known {what} codes: {valid}", echo(s)),
    ))
}

fn summary(c: &Commune) -> JsonValue {
    json!({
        "code": c.code,
        "name": c.name,
        "kind": c.kind,
        "district_code": c.district_code,
        "district_name": c.district_name,
        "province_code": c.province_code,
        "province_name": c.province_name,
        "boundary_set": c.boundary_set,
        "area_ha": c.area_ha,
        "bbox": c.bbox,
        "center": c.center,
    })
}

/// `GET /api/communes?q=…&province=…&district=…&boundary_set=…&limit=…&offset=…`:
/// communes matching `q` (by name or code), best match first; without `q`,
/// every commune in code order. Paged by `limit` (default 10, at most 50) and `offset`.
async fn list(
    State(api): State<Communes>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params.map_err(|e| bad_query(&e))?;
    let q = p.q.as_deref().unwrap_or("");
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::bad_request(
            "bad_query",
            format!("q is longer than {MAX_QUERY_CHARS} characters: '{}'", echo(q)),
        ));
    }
    let boundary_set = parse_boundary_set(p.boundary_set.as_ref())?;
    let limit = parse_limit(p.limit.as_ref())?;
    let offset = parse_offset(p.offset.as_ref())?;

    let index = api.cache.index(api.store.as_ref()).await?;
    let province = parse_unit(
        p.province.as_ref(),
        &index.provinces,
        boundary_set,
        "province",
        "unknown_province",
    )?;
    let district = parse_unit(
        p.district.as_ref(),
        &index.districts,
        boundary_set,
        "district",
        "unknown_district",
    )?;

    let candidates = index.communes.iter().filter(|c| {
        boundary_set.is_none_or(|set| c.boundary_set == set.as_str())
            && province.as_ref().is_none_or(|code| &c.province_code == code)
            && district
                .as_ref()
                .is_none_or(|code| c.district_code.as_ref() == Some(code))
    });
    let found: Vec<&Commune> = if q.trim().is_empty() {
        candidates.collect()
    } else {
        let search = Search::new(q);
        let mut ranked: Vec<(Rank, &Commune)> = candidates.filter_map(|c| search.rank(c).map(|r| (r, c))).collect();
        ranked.sort_by(|(ra, a), (rb, b)| {
            (ra, &a.folded, &a.name, &a.code, &a.boundary_set).cmp(&(rb, &b.folded, &b.name, &b.code, &b.boundary_set))
        });
        ranked.into_iter().map(|(_, c)| c).collect()
    };
    let page: Vec<JsonValue> = found.iter().skip(offset).take(limit).map(|c| summary(c)).collect();
    Ok(Json(json!({
        "communes": page,
        "total": found.len(),
        "offset": offset,
        "limit": limit,
    }))
    .into_response())
}

/// `GET /api/communes/{code}[?boundary_set=…]`: the commune with its district,
/// province, area, NTM status, population, bounding box and boundary (GeoJSON).
async fn detail(
    State(api): State<Communes>,
    path: Result<Path<String>, PathRejection>,
    params: Result<Query<DetailParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(code) = path?;
    let Query(p) = params.map_err(|e| bad_query(&e))?;
    let boundary_set = parse_boundary_set(p.boundary_set.as_ref())?;
    let index = api.cache.index(api.store.as_ref()).await?;
    let c = index.get(code.trim(), boundary_set).ok_or_else(|| {
        let within = boundary_set.map_or_else(String::new, |set| format!(" in the {set} boundary set"));
        ApiError::not_found(
            "unknown_commune",
            format!(
                "no commune has the code '{}'{within}; find communes by name or code with /api/communes?q=…",
                echo(&code)
            ),
        )
    })?;
    let district = c
        .district_code
        .as_ref()
        .map(|code| json!({ "code": code, "name": c.district_name }));
    Ok(Json(json!({
        "code": c.code,
        "name": c.name,
        "kind": c.kind,
        "boundary_set": c.boundary_set,
        "district": district,
        "province": { "code": c.province_code, "name": c.province_name },
        "area_ha": c.area_ha,
        "ntm_status": c.ntm_status,
        "ntm_year": c.ntm_year,
        "population": c.population,
        "bbox": c.bbox,
        "center": c.center,
        "boundary": geojson(&c.boundary),
    }))
    .into_response())
}

/// A geometry as a GeoJSON geometry object (RFC 7946), longitude first.
#[must_use]
pub fn geojson(g: &geo::Geometry<f64>) -> JsonValue {
    serde_json::to_value(GeoJsonGeometry(g)).unwrap_or(JsonValue::Null)
}

/// Serialises a geometry as a GeoJSON geometry object straight into the
/// output, without building a JSON tree first (exports write millions).
pub struct GeoJsonGeometry<'a>(pub &'a geo::Geometry<f64>);

struct Position(geo::Coord<f64>);
struct Line<'a>(&'a geo::LineString<f64>);
struct Rings<'a>(&'a geo::Polygon<f64>);

impl serde::Serialize for Position {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&self.0.x)?;
        t.serialize_element(&self.0.y)?;
        t.end()
    }
}

impl serde::Serialize for Line<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.coords().map(|c| Position(*c)))
    }
}

impl serde::Serialize for Rings<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(std::iter::once(self.0.exterior()).chain(self.0.interiors()).map(Line))
    }
}

impl serde::Serialize for GeoJsonGeometry<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use geo::Geometry as G;
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(2))?;
        match self.0 {
            G::Point(p) => {
                map.serialize_entry("type", "Point")?;
                map.serialize_entry("coordinates", &Position(p.0))?;
            }
            G::Line(l) => {
                map.serialize_entry("type", "LineString")?;
                map.serialize_entry("coordinates", &[Position(l.start), Position(l.end)])?;
            }
            G::LineString(l) => {
                map.serialize_entry("type", "LineString")?;
                map.serialize_entry("coordinates", &Line(l))?;
            }
            G::Polygon(p) => {
                map.serialize_entry("type", "Polygon")?;
                map.serialize_entry("coordinates", &Rings(p))?;
            }
            G::MultiPoint(m) => {
                map.serialize_entry("type", "MultiPoint")?;
                map.serialize_entry("coordinates", &m.iter().map(|p| Position(p.0)).collect::<Vec<_>>())?;
            }
            G::MultiLineString(m) => {
                map.serialize_entry("type", "MultiLineString")?;
                map.serialize_entry("coordinates", &m.iter().map(Line).collect::<Vec<_>>())?;
            }
            G::MultiPolygon(m) => {
                map.serialize_entry("type", "MultiPolygon")?;
                map.serialize_entry("coordinates", &m.iter().map(Rings).collect::<Vec<_>>())?;
            }
            G::GeometryCollection(c) => {
                map.serialize_entry("type", "GeometryCollection")?;
                map.serialize_entry("geometries", &c.iter().map(GeoJsonGeometry).collect::<Vec<_>>())?;
            }
            G::Rect(r) => {
                map.serialize_entry("type", "Polygon")?;
                map.serialize_entry("coordinates", &Rings(&r.to_polygon()))?;
            }
            G::Triangle(t) => {
                map.serialize_entry("type", "Polygon")?;
                map.serialize_entry("coordinates", &Rings(&t.to_polygon()))?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commune(code: &str, name: &str) -> Commune {
        let folded = fold(name);
        Commune {
            normalized: normalize(name),
            code: code.into(),
            name: name.into(),
            kind: Some("xa".into()),
            boundary_set: "pre-2025".into(),
            district_code: None,
            district_name: None,
            province_code: "99".into(),
            province_name: None,
            area_ha: None,
            ntm_status: None,
            ntm_year: None,
            population: None,
            bbox: None,
            center: None,
            boundary: geo::Geometry::Point(geo::Point::new(0.0, 0.0)),
            words: folded.split(' ').map(str::to_owned).collect(),
            folded,
        }
    }

    #[test]
    fn ranks_code_name_prefix_words_substring() {
        let my_xuong = commune("33030", "Mỹ Xương");
        let my_xuong_tay = commune("33031", "Mỹ Xương Tây");
        let tan_thuan_tay = commune("33071", "Tân Thuận Tây");
        let xa_phien = commune("33090", "Xà Phiên");
        let s = Search::new("my xuong");
        assert_eq!(s.rank(&my_xuong), Some(Rank::Name));
        assert_eq!(s.rank(&my_xuong_tay), Some(Rank::Prefix));
        assert_eq!(s.rank(&tan_thuan_tay), None);
        assert_eq!(Search::new("XÃ MỸ XƯƠNG").rank(&my_xuong), Some(Rank::ExactName));
        assert_eq!(Search::new("xa my xuong").rank(&my_xuong), Some(Rank::Name));
        assert_eq!(Search::new("33030").rank(&my_xuong), Some(Rank::Code));
        assert_eq!(Search::new("3303").rank(&my_xuong), Some(Rank::Prefix));
        assert_eq!(Search::new("t t t").rank(&tan_thuan_tay), Some(Rank::WordPrefix));
        assert_eq!(Search::new("thuan tay").rank(&tan_thuan_tay), Some(Rank::WordPrefix));
        assert_eq!(Search::new("tay thuan").rank(&tan_thuan_tay), None);
        assert_eq!(Search::new("uan ta").rank(&tan_thuan_tay), Some(Rank::Substring));
        // A name that starts like a kind of unit is still found whole.
        assert_eq!(Search::new("xa phien").rank(&xa_phien), Some(Rank::Name));
        assert_eq!(Search::new("!!!").rank(&my_xuong), None);
        // Marks typed pick the name spelled so among those that fold alike.
        let thanh_dot = commune("33001", "Phước Thạnh");
        let thanh_grave = commune("33053", "Phước Thành");
        let s = Search::new("phước thạnh");
        assert_eq!(s.rank(&thanh_dot), Some(Rank::ExactName));
        assert_eq!(s.rank(&thanh_grave), Some(Rank::Name));
        assert_eq!(Search::new("Xã Phước Thành").rank(&thanh_grave), Some(Rank::ExactName));
        assert_eq!(
            Search::new("thị trấn Phước Thành").rank(&thanh_grave),
            Some(Rank::ExactName)
        );
        assert_eq!(Search::new("phuoc thanh").rank(&thanh_dot), Some(Rank::Name));
    }

    #[test]
    fn geojson_of_a_polygon_with_a_hole() {
        let outer = geo::LineString::from(vec![(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 0.0)]);
        let hole = geo::LineString::from(vec![(1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (1.0, 1.0)]);
        let g = geo::Geometry::Polygon(geo::Polygon::new(outer, vec![hole]));
        let j = geojson(&g);
        assert_eq!(j["type"], "Polygon");
        assert_eq!(j["coordinates"][1][2], json!([2.0, 2.0]));
    }
}
