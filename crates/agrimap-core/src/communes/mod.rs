//! The communes of a store, in memory: the `admin_commune`, `admin_district`
//! and `admin_province` layers are few (hundreds to a few thousand features
//! per province), so they are read once into a [`CommuneIndex`]; the index
//! carries the change counters of those three layers and is rebuilt on the
//! first request after any of them changes ([`CommuneCache`]).
//!
//! Communes are found by name or code as people type them ([`search`]):
//! `my xuong`, `MY XUONG`, `Mỹ Xương` and `xã Mỹ Xương` all find Mỹ Xương.

pub mod former;
pub mod list;
pub mod merges;
mod search;

use crate::error::{CoreError, echo};
use agrimap_model::search::{fold, normalize};
use agrimap_model::{BoundarySet, Feature, FeatureQuery, LayerDef, layer};
use agrimap_store::{LayerVersions, Store};
use geo::{BoundingRect, InteriorPoint};
use search::{Rank, Search};
use std::fmt::Write as _;
use std::sync::{Arc, PoisonError, RwLock};

/// Longest query (in characters) the search accepts: no name is near this long.
pub const MAX_QUERY_CHARS: usize = 200;

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
pub struct AdminUnit {
    pub code: String,
    pub name: String,
    pub boundary_set: String,
}

/// Every commune of the store, with district and province names resolved.
#[derive(Debug)]
pub struct CommuneIndex {
    /// Versions of `admin_province`, `admin_district`, `admin_commune` it was built from.
    versions: [u64; 3],
    /// In code order.
    communes: Vec<Commune>,
    districts: Vec<AdminUnit>,
    provinces: Vec<AdminUnit>,
}

const LAYERS: [&str; 3] = ["admin_province", "admin_district", "admin_commune"];

fn admin_layer(id: &str) -> &'static LayerDef {
    layer(id).unwrap_or_else(|| panic!("the catalog has no layer '{id}'"))
}

fn versions_key(versions: &LayerVersions) -> [u64; 3] {
    LAYERS.map(|id| versions.get(id).copied().unwrap_or(0))
}

fn units(layer: &'static LayerDef, features: &[Feature]) -> Vec<AdminUnit> {
    let mut units: Vec<AdminUnit> = features
        .iter()
        .filter_map(|feature| {
            let text = |name| layer.text_of(feature, name).map(str::to_owned);
            Some(AdminUnit {
                code: text("code")?,
                name: text("name").unwrap_or_default(),
                boundary_set: text("boundary_set").unwrap_or_default(),
            })
        })
        .collect();
    units.sort_by(|a, b| (&a.code, &a.boundary_set).cmp(&(&b.code, &b.boundary_set)));
    units
}

/// The unit with this code, in this boundary set if there is one, else in any.
fn unit_name(units: &[AdminUnit], code: &str, boundary_set: &str) -> Option<String> {
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
    pub async fn load(store: &dyn Store, versions: [u64; 3]) -> Result<Self, CoreError> {
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
            .map_err(|e| CoreError::task_failed("index_failed", "building the commune index", &e))
    }

    fn build(versions: [u64; 3], provinces: &[Feature], districts: &[Feature], communes: Vec<Feature>) -> Self {
        let provinces = units(admin_layer("admin_province"), provinces);
        let districts = units(admin_layer("admin_district"), districts);
        let layer = admin_layer("admin_commune");
        let mut list: Vec<Commune> = communes
            .into_iter()
            .filter_map(|feature| {
                let text = |name| layer.text_of(&feature, name).map(str::to_owned);
                let value = |name| layer.value_of(&feature, name);
                let code = text("code")?;
                let name = text("name").unwrap_or_default();
                let boundary_set = text("boundary_set").unwrap_or_default();
                let district_code = text("district_code");
                let province_code = text("province_code").unwrap_or_default();
                let folded = fold(&name);
                let commune = Commune {
                    normalized: normalize(&name),
                    kind: text("kind"),
                    district_name: district_code
                        .as_deref()
                        .and_then(|d| unit_name(&districts, d, &boundary_set)),
                    province_name: unit_name(&provinces, &province_code, &boundary_set),
                    area_ha: value("area_ha").as_f64(),
                    ntm_status: text("ntm_status"),
                    ntm_year: value("ntm_year").as_i64(),
                    population: value("population").as_i64(),
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

    /// Every district held, in code order (pre-2025 only: the 2025 set has none).
    #[must_use]
    pub fn districts(&self) -> &[AdminUnit] {
        &self.districts
    }

    /// Every commune, in code order.
    #[must_use]
    pub fn communes(&self) -> &[Commune] {
        &self.communes
    }

    /// The commune of `set` and province `province` that `at` lies in.
    #[must_use]
    pub fn containing(&self, at: geo::Point<f64>, set: BoundarySet, province: &str) -> Option<&Commune> {
        self.communes
            .iter()
            .find(|c| c.boundary_set == set.as_str() && c.province_code == province && c.contains(at))
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

/// `boundary_set=` as a client writes it.
///
/// # Errors
/// `bad_boundary_set`, naming the sets.
pub fn parse_boundary_set(text: &str) -> Result<BoundarySet, CoreError> {
    BoundarySet::parse(text).ok_or_else(|| {
        CoreError::invalid(
            "bad_boundary_set",
            format!(
                "unknown boundary set '{}'; sets: pre-2025 (until 30 June 2025), 2025 (from 1 July 2025)",
                echo(text, 64)
            ),
        )
    })
}

/// `boundary_set=` when given; an empty value counts as not given.
///
/// # Errors
/// `bad_boundary_set`, naming the sets.
pub fn boundary_set_param(text: Option<&str>) -> Result<Option<BoundarySet>, CoreError> {
    text.filter(|s| !s.is_empty()).map(parse_boundary_set).transpose()
}

impl CommuneIndex {
    /// The boundary sets the store holds communes of, oldest first.
    #[must_use]
    pub fn sets_held(&self) -> Vec<BoundarySet> {
        [BoundarySet::Pre2025, BoundarySet::Y2025]
            .into_iter()
            .filter(|set| self.communes.iter().any(|c| c.boundary_set == set.as_str()))
            .collect()
    }

    /// The set asked for, which the store must hold; without one, the newest
    /// set held (2025 in an empty store).
    ///
    /// # Errors
    /// `unknown_boundary_set` for a set of which the store holds no commune.
    pub fn resolve_set(&self, asked: Option<BoundarySet>) -> Result<BoundarySet, CoreError> {
        let held = self.sets_held();
        match asked {
            None => Ok(held.last().copied().unwrap_or(BoundarySet::Y2025)),
            Some(set) if held.contains(&set) || held.is_empty() => Ok(set),
            Some(set) => Err(CoreError::invalid(
                "unknown_boundary_set",
                format!(
                    "the store holds no communes of boundary set {set}; sets held: {}",
                    held.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }

    /// Provinces held, in code order (of every set).
    #[must_use]
    pub fn provinces(&self) -> &[AdminUnit] {
        &self.provinces
    }

    /// `code` when the index has a province with that code (in `boundary_set` when given).
    ///
    /// # Errors
    /// `unknown_province`, naming the known provinces.
    pub fn known_province<'a>(&self, code: &'a str, boundary_set: Option<BoundarySet>) -> Result<&'a str, CoreError> {
        known_unit(code, &self.provinces, boundary_set, "province", "unknown_province")
    }
}

/// A province the store holds communes of, for the page's title and switch.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProvinceHeld {
    pub code: String,
    pub name: Option<String>,
    pub boundary_set: String,
    pub communes: usize,
    /// `[west, south, east, north]` of its communes.
    pub bbox: [f64; 4],
}

impl CommuneIndex {
    /// Each (province, set) the store holds communes of, newest set first,
    /// then by code.
    #[must_use]
    pub fn provinces_held(&self) -> Vec<ProvinceHeld> {
        let mut held: Vec<ProvinceHeld> = Vec::new();
        for c in &self.communes {
            let Some(b) = c.bbox else { continue };
            match held
                .iter_mut()
                .find(|p| p.code == c.province_code && p.boundary_set == c.boundary_set)
            {
                Some(p) => {
                    p.communes += 1;
                    p.bbox = [
                        p.bbox[0].min(b[0]),
                        p.bbox[1].min(b[1]),
                        p.bbox[2].max(b[2]),
                        p.bbox[3].max(b[3]),
                    ];
                }
                None => held.push(ProvinceHeld {
                    code: c.province_code.clone(),
                    name: c.province_name.clone(),
                    boundary_set: c.boundary_set.clone(),
                    communes: 1,
                    bbox: b,
                }),
            }
        }
        held.sort_by(|a, b| (b.boundary_set == "2025", &a.code).cmp(&(a.boundary_set == "2025", &b.code)));
        held
    }

    /// The box around every commune of the store, if it holds any.
    #[must_use]
    pub fn extent(&self) -> Option<[f64; 4]> {
        self.communes
            .iter()
            .filter_map(|c| c.bbox)
            .reduce(|a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])])
    }
}

impl Commune {
    /// Whether `at` lies in the commune, its boundary included.
    #[must_use]
    pub fn contains(&self, at: geo::Point<f64>) -> bool {
        use geo::Intersects;
        self.bbox
            .is_some_and(|[w, s, e, n]| (w..=e).contains(&at.x()) && (s..=n).contains(&at.y()))
            && self.boundary.intersects(&at)
    }
}

/// The commune index of one store, rebuilt when the administrative layers change.
#[derive(Debug, Default)]
pub struct CommuneCache {
    current: RwLock<Option<Arc<CommuneIndex>>>,
    /// Held while building, so that concurrent requests build once.
    building: tokio::sync::Mutex<()>,
    /// The names communes had before the reform, for search.
    pub former: former::FormerCache,
    merges: merges::MergesCache,
}

impl CommuneCache {
    /// The index for the store's current layer versions.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn index(&self, store: &dyn Store) -> Result<Arc<CommuneIndex>, CoreError> {
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

/// What to find: a search text and the units to look in.
#[derive(Debug, Clone, Default)]
pub struct CommuneQuery<'a> {
    /// Name or code as typed; empty for every commune.
    pub text: &'a str,
    /// Only communes of this province (a code of the index).
    pub province: Option<&'a str>,
    /// Only communes of this district (a code of the index).
    pub district: Option<&'a str>,
    pub boundary_set: Option<BoundarySet>,
}

impl CommuneIndex {
    /// The communes matching `query`, best match first (ties by name); without
    /// a search text, every commune in code order.
    ///
    /// # Errors
    /// `bad_query` for a text over [`MAX_QUERY_CHARS`]; `unknown_province` or
    /// `unknown_district` for a code the index does not have, naming the known ones.
    pub fn find(&self, query: &CommuneQuery<'_>) -> Result<Vec<&Commune>, CoreError> {
        let CommuneQuery {
            text,
            province,
            district,
            boundary_set,
        } = *query;
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(CoreError::invalid(
                "bad_query",
                format!("q is longer than {MAX_QUERY_CHARS} characters: '{}'", echo(text, 64)),
            ));
        }
        let province = province
            .map(|code| known_unit(code, &self.provinces, boundary_set, "province", "unknown_province"))
            .transpose()?;
        let district = district
            .map(|code| known_unit(code, &self.districts, boundary_set, "district", "unknown_district"))
            .transpose()?;
        let candidates = self.communes.iter().filter(|c| {
            boundary_set.is_none_or(|set| c.boundary_set == set.as_str())
                && province.is_none_or(|code| c.province_code == code)
                && district.is_none_or(|code| c.district_code.as_deref() == Some(code))
        });
        if text.trim().is_empty() {
            return Ok(candidates.collect());
        }
        let search = Search::new(text);
        let mut ranked: Vec<(Rank, &Commune)> = candidates.filter_map(|c| search.rank(c).map(|r| (r, c))).collect();
        ranked.sort_by(|(ra, a), (rb, b)| {
            (ra, &a.folded, &a.name, &a.code, &a.boundary_set).cmp(&(rb, &b.folded, &b.name, &b.code, &b.boundary_set))
        });
        Ok(ranked.into_iter().map(|(_, c)| c).collect())
    }
}

/// `code` when it is one of `units`' codes (in `boundary_set` when given).
fn known_unit<'a>(
    code: &'a str,
    units: &[AdminUnit],
    boundary_set: Option<BoundarySet>,
    what: &str,
    error_code: &'static str,
) -> Result<&'a str, CoreError> {
    const SHOWN: usize = 50;
    let known: Vec<&AdminUnit> = units
        .iter()
        .filter(|u| boundary_set.is_none_or(|set| u.boundary_set == set.as_str()))
        .collect();
    if known.iter().any(|u| u.code == code) {
        return Ok(code);
    }
    // Held, but in the other set: a pre-2025 province asked of the 2025 set (or back).
    if let Some(other) = units.iter().find(|u| u.code == code) {
        return Err(CoreError::invalid(
            error_code,
            format!(
                "{what} {} ({}) is of the boundary set '{}', not '{}': ask with boundary_set={}",
                other.code,
                other.name,
                other.boundary_set,
                boundary_set.map_or("", BoundarySet::as_str),
                other.boundary_set
            ),
        ));
    }
    let mut codes: Vec<String> = known.iter().map(|u| format!("{} ({})", u.code, u.name)).collect();
    codes.dedup();
    let more = codes.len().saturating_sub(SHOWN);
    codes.truncate(SHOWN);
    let mut valid = codes.join(", ");
    if more > 0 {
        let _ = write!(valid, " and {more} more");
    }
    Err(CoreError::invalid(
        error_code,
        format!("unknown {what} code '{}'; known {what} codes: {valid}", echo(code, 64)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_province_of_the_other_set_is_named_with_the_set_to_ask() {
        let units = [
            AdminUnit {
                code: "94".into(),
                name: "Tỉnh Sóc Trăng".into(),
                boundary_set: "pre-2025".into(),
            },
            AdminUnit {
                code: "92".into(),
                name: "Thành phố Cần Thơ".into(),
                boundary_set: "2025".into(),
            },
        ];
        let known = |code, set| known_unit(code, &units, set, "province", "unknown_province");
        assert_eq!(known("92", Some(BoundarySet::Y2025)).ok(), Some("92"));
        let other = known("94", Some(BoundarySet::Y2025)).expect_err("of the other set");
        assert_eq!(other.code, "unknown_province");
        assert!(
            other.message.contains("ask with boundary_set=pre-2025"),
            "{}",
            other.message
        );
        let none = known("87", Some(BoundarySet::Y2025)).expect_err("held nowhere");
        assert!(
            none.message.contains("known province codes: 92 (Thành phố Cần Thơ)"),
            "{}",
            none.message
        );
    }
}
