//! Administrative boundaries: what agrimap works out itself when communes
//! arrive, whichever way they come (`agrimap boundaries import`, `agrimap
//! import --layer admin_commune`, `POST /api/import/admin_commune`).
//!
//! - Areas are measured here on the ellipsoid, never taken from the file:
//!   an official area and a drawn boundary disagree, and statistics must
//!   agree with the boundary they split by.
//! - The kind of a unit (xã, phường, thị trấn; huyện, thị xã, thành phố)
//!   follows from its official name when the file does not give it.
//! - Districts (pre-2025 only; the 2025 set has none) and provinces that the
//!   store does not hold yet are made by dissolving their communes, named
//!   from the file's `district_name` / `province_name` when it has them, and
//!   written in the same transaction as the communes. A unit the store
//!   already holds is kept, unless it was made from its communes and one of
//!   them changes ([`super::outlines`]).

use super::ImportError;
use super::fields::file_field;
use super::source::SourceValue;
use agrimap_analysis::area::multipolygon_ha;
use agrimap_model::{BoundarySet, Feature, FeatureQuery, LayerDef, Value, layer};
use agrimap_store::{LayerWrite, Store, StoreError, Upsert};
use geo::orient::{Direction, Orient};
use geo::{Area, Geometry, MultiPolygon, Polygon, unary_union};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Holes smaller than this (in square degrees, about 1.2 km² at 10° N) left
/// inside a dissolved unit are gaps between neighbouring communes' drawn
/// boundaries, not enclaves: real files leave hundreds of them.
const SLIVER_DEG2: f64 = 1e-4;

/// The names of a commune's district and province, as its file gives them.
#[derive(Debug, Clone, Default)]
pub(super) struct UnitNames {
    pub district: Option<String>,
    pub province: Option<String>,
}

/// Where a file keeps the names of districts and provinces, if it does.
pub(super) struct NameColumns {
    district: Option<usize>,
    province: Option<usize>,
}

impl NameColumns {
    pub(super) fn find(fields: &[String]) -> Self {
        Self {
            district: file_field(fields, "district_name"),
            province: file_field(fields, "province_name"),
        }
    }

    pub(super) fn read(&self, values: &[SourceValue]) -> UnitNames {
        let text = |at: Option<usize>| match at.and_then(|i| values.get(i)) {
            Some(SourceValue::Text(s)) if !s.trim().is_empty() => {
                Some(unicode_normalization::UnicodeNormalization::nfc(s.trim()).collect())
            }
            _ => None,
        };
        UnitNames {
            district: text(self.district),
            province: text(self.province),
        }
    }
}

fn is_admin(layer: &LayerDef) -> bool {
    matches!(layer.id, "admin_commune" | "admin_district" | "admin_province")
}

/// The kind of a unit from its official name (`Xã Mỹ Xương` → `xa`).
fn kind_from_name(layer: &LayerDef, name: &str) -> Option<&'static str> {
    let kinds: &[(&str, &str)] = match layer.id {
        "admin_commune" => &[
            ("Xã ", "xa"),
            ("Phường ", "phuong"),
            ("Thị trấn ", "thi_tran"),
            ("Đặc khu ", "dac_khu"),
        ],
        "admin_district" => &[("Huyện ", "huyen"), ("Thị xã ", "thi_xa"), ("Thành phố ", "thanh_pho")],
        _ => &[],
    };
    kinds
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, kind)| *kind)
}

fn set_text(layer: &LayerDef, feature: &mut Feature, name: &str, value: &str) {
    if let Some(i) = layer.field_index(name) {
        feature.properties[i] = Value::Text(value.to_owned());
    }
}

pub(super) fn shape(g: &Geometry<f64>) -> Option<MultiPolygon<f64>> {
    match g {
        Geometry::Polygon(p) => Some(MultiPolygon(vec![p.clone()])),
        Geometry::MultiPolygon(m) => Some(m.clone()),
        _ => None,
    }
}

/// Fills in what agrimap works out itself: the area on the ellipsoid and,
/// when the file does not give it, the kind. Other layers are left alone.
pub(super) fn complete(layer: &LayerDef, feature: &mut Feature) {
    if !is_admin(layer) {
        return;
    }
    if let (Some(i), Some(m)) = (layer.field_index("area_ha"), shape(&feature.geometry)) {
        feature.properties[i] = Value::Real(round_ha(multipolygon_ha(&m)));
    }
    if layer.text_of(feature, "kind").is_none()
        && let Some(kind) = layer.text_of(feature, "name").and_then(|n| kind_from_name(layer, n))
    {
        set_text(layer, feature, "kind", kind);
    }
}

/// Whether `field` of `layer` is worked out by [`complete`] from what the
/// file gives (`given`: whether the file gives a field), and so is rewritten
/// with it: a unit's area with its boundary, always; its kind with its name,
/// when the file gives names but no kinds (Xã X renamed Phường X is a ward).
pub(super) fn worked_out(layer: &LayerDef, field: &str, given: &dyn Fn(&str) -> bool) -> bool {
    is_admin(layer) && (field == "area_ha" || (field == "kind" && given("name") && !given("kind")))
}

/// The stored kind for each unit of `features` whose kind its name does not
/// tell (`Cái Khế` without `Phường`): an import that gives names but no
/// kinds rewrites the kind from the name ([`worked_out`]), and a name
/// without a known prefix would otherwise clear a kind the store knew.
///
/// # Errors
/// The store's.
pub(super) async fn keep_stored_kinds(
    store: &dyn Store,
    layer: &'static LayerDef,
    features: &mut [Feature],
) -> Result<(), StoreError> {
    let Some(kind_at) = layer.field_index("kind").filter(|_| is_admin(layer)) else {
        return Ok(());
    };
    let unit = |f: &Feature| {
        Some((
            layer.text_of(f, "code")?.to_owned(),
            layer.text_of(f, "boundary_set")?.to_owned(),
        ))
    };
    let untold: HashSet<(String, String)> = features
        .iter()
        .filter(|f| f.properties[kind_at].is_null())
        .filter_map(unit)
        .collect();
    if untold.is_empty() {
        return Ok(());
    }
    let query = FeatureQuery {
        fields: Some(&["code", "boundary_set", "kind"]),
        ..FeatureQuery::default()
    };
    let stored: HashMap<(String, String), Value> = store
        .features(layer, &query)
        .await?
        .into_iter()
        .filter_map(|f| Some((unit(&f).filter(|u| untold.contains(u))?, f.properties[kind_at].clone())))
        .collect();
    for f in features.iter_mut().filter(|f| f.properties[kind_at].is_null()) {
        if let Some(kind) = unit(f).and_then(|u| stored.get(&u)) {
            f.properties[kind_at] = kind.clone();
        }
    }
    Ok(())
}

/// Hectares to the square metre: what a boundary drawn to a few metres can say.
fn round_ha(ha: f64) -> f64 {
    (ha * 1e4).round() / 1e4
}

/// Why a feature is outside what the import was asked for (`--set`,
/// `--province`), filling in the set where the file gives none.
pub(super) fn check_scope(
    layer: &LayerDef,
    feature: &mut Feature,
    boundary_set: Option<BoundarySet>,
    province: Option<&str>,
) -> Result<(), String> {
    if let Some(set) = boundary_set
        && let Some(i) = layer.field_index("boundary_set")
    {
        match layer.text_of(feature, "boundary_set") {
            None => feature.properties[i] = Value::Text(set.as_str().to_owned()),
            Some(s) if s == set.as_str() => {}
            Some(s) => {
                return Err(format!(
                    "the feature is of boundary set '{s}', but the import is of set '{set}'"
                ));
            }
        }
    }
    let own_province = if layer.id == "admin_province" {
        "code"
    } else {
        "province_code"
    };
    if let Some(want) = province
        && layer.field_index(own_province).is_some()
    {
        match layer.text_of(feature, own_province) {
            Some(p) if p == want => {}
            Some(p) => return Err(format!("the feature is in province {p}, not in province {want}")),
            None => set_text(layer, feature, own_province, want),
        }
    }
    Ok(())
}

/// A commune of the file with the unit names its record gave.
pub(super) struct Arrived<'a> {
    pub feature: &'a Feature,
    pub names: &'a UnitNames,
}

/// One unit to make: its code, set, province (for districts) and members.
struct Unit {
    name: Option<String>,
    province_code: String,
    members: Vec<MultiPolygon<f64>>,
    codes: HashSet<String>,
}

/// The units to make, gathered commune by commune.
struct Units {
    /// (layer, code, set) → unit; ordered, for a stable order of the writes.
    wanted: BTreeMap<(&'static str, String, String), Unit>,
    held_provinces: HashSet<(String, String)>,
    held_districts: HashSet<(String, String)>,
    communes: &'static LayerDef,
}

impl Units {
    /// Counts commune `f` into its province and (pre-2025) district, unless
    /// the store holds that unit; a stored commune (`from_file` false) only
    /// fills out a unit that communes of the file started.
    fn add(&mut self, f: &Feature, names: Option<&UnitNames>, from_file: bool) {
        let communes = self.communes;
        let (Some(code), Some(set), Some(province), Some(m)) = (
            communes.text_of(f, "code"),
            communes.text_of(f, "boundary_set"),
            communes.text_of(f, "province_code"),
            shape(&f.geometry),
        ) else {
            return;
        };
        let district = communes.text_of(f, "district_code");
        let targets = [
            ("admin_province", Some(province), names.and_then(|n| n.province.clone())),
            (
                "admin_district",
                district.filter(|_| set == BoundarySet::Pre2025.as_str()),
                names.and_then(|n| n.district.clone()),
            ),
        ];
        for (unit_layer, unit_code, name) in targets {
            let Some(unit_code) = unit_code else { continue };
            let held = if unit_layer == "admin_province" {
                &self.held_provinces
            } else {
                &self.held_districts
            };
            let key = (unit_layer, unit_code.to_owned(), set.to_owned());
            if held.contains(&(key.1.clone(), key.2.clone())) || (!from_file && !self.wanted.contains_key(&key)) {
                continue;
            }
            let unit = self.wanted.entry(key).or_insert_with(|| Unit {
                name: None,
                province_code: province.to_owned(),
                members: Vec::new(),
                codes: HashSet::new(),
            });
            if unit.codes.insert(code.to_owned()) {
                unit.members.push(m.clone());
            }
            if unit.name.is_none() {
                unit.name = name;
            }
        }
    }
}

/// The districts and provinces of the arriving communes that the store does
/// not hold yet, dissolved from their communes (those of the file and those
/// already stored), as upserts to write with the communes; and a line for
/// the report for each.
///
/// # Errors
/// When the store cannot be read.
pub(super) async fn derived_units(
    store: &dyn Store,
    stored: &[Feature],
    arrived: &[Arrived<'_>],
) -> Result<(Vec<Upsert>, Vec<String>), ImportError> {
    let (Some(communes), Some(districts), Some(provinces)) =
        (layer("admin_commune"), layer("admin_district"), layer("admin_province"))
    else {
        return Ok((Vec::new(), Vec::new()));
    };
    let all = FeatureQuery::default();
    let held_units = |features: Vec<Feature>, l: &LayerDef| -> HashSet<(String, String)> {
        features
            .iter()
            .filter_map(|f| {
                Some((
                    l.text_of(f, "code")?.to_owned(),
                    l.text_of(f, "boundary_set")?.to_owned(),
                ))
            })
            .collect()
    };
    let held_districts = held_units(store.features(districts, &all).await?, districts);
    let held_provinces = held_units(store.features(provinces, &all).await?, provinces);
    let units = Units {
        wanted: BTreeMap::new(),
        held_provinces,
        held_districts,
        communes,
    };
    made_units(units, stored, arrived).await
}

/// Every district and province of `arrived`, the whole layer of communes
/// that replaces the stored one, dissolved from them: the writes that
/// replace both layers of units in the same transaction (a unit none of the
/// communes belongs to any more is gone), and a line for the report for each.
///
/// # Errors
/// When dissolving fails.
pub(super) async fn units_made_anew(arrived: &[Arrived<'_>]) -> Result<(Vec<LayerWrite>, Vec<String>), ImportError> {
    let (Some(communes), Some(districts), Some(provinces)) =
        (layer("admin_commune"), layer("admin_district"), layer("admin_province"))
    else {
        return Ok((Vec::new(), Vec::new()));
    };
    let units = Units {
        wanted: BTreeMap::new(),
        held_provinces: HashSet::new(),
        held_districts: HashSet::new(),
        communes,
    };
    let (upserts, notes) = made_units(units, &[], arrived).await?;
    let writes = [districts, provinces]
        .into_iter()
        .map(|l| LayerWrite {
            layer: l,
            replace: true,
            features: upserts
                .iter()
                .filter(|u| u.layer.id == l.id)
                .flat_map(|u| u.features.iter().cloned())
                .collect(),
        })
        .collect();
    Ok((writes, notes))
}

/// The units `units` wants for the communes of the file (`arrived`),
/// filled out by the stored communes of the same units, dissolved.
async fn made_units(
    mut units: Units,
    stored: &[Feature],
    arrived: &[Arrived<'_>],
) -> Result<(Vec<Upsert>, Vec<String>), ImportError> {
    let (Some(districts), Some(provinces)) = (layer("admin_district"), layer("admin_province")) else {
        return Ok((Vec::new(), Vec::new()));
    };
    for a in arrived {
        units.add(a.feature, Some(a.names), true);
    }
    if units.wanted.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    for f in stored {
        units.add(f, None, false);
    }
    let wanted = units.wanted;

    let made = tokio::task::spawn_blocking(move || {
        let mut by_layer: BTreeMap<&'static str, Vec<Feature>> = BTreeMap::new();
        let mut notes = Vec::new();
        for ((unit_layer, code, set), unit) in wanted {
            let l = if unit_layer == "admin_province" {
                provinces
            } else {
                districts
            };
            let dissolved = dissolve(&unit.members);
            let name = unit.name.clone().unwrap_or_else(|| code.clone());
            notes.push(format!(
                "{unit_layer} {code} ({name}, set {set}) made from its {} communes",
                unit.codes.len()
            ));
            let mut feature = Feature {
                id: 0,
                geometry: Geometry::MultiPolygon(dissolved),
                properties: vec![Value::Null; l.fields.len()],
            };
            set_text(l, &mut feature, "code", &code);
            set_text(l, &mut feature, "name", &name);
            set_text(l, &mut feature, "boundary_set", &set);
            if unit_layer == "admin_district" {
                set_text(l, &mut feature, "province_code", &unit.province_code);
            }
            complete(l, &mut feature);
            by_layer.entry(unit_layer).or_default().push(feature);
        }
        let upserts = by_layer
            .into_iter()
            .map(|(unit_layer, features)| {
                let l = if unit_layer == "admin_province" {
                    provinces
                } else {
                    districts
                };
                Upsert {
                    layer: l,
                    features,
                    update: l.fields.iter().map(|f| f.name).collect(),
                    insert_new: true,
                }
            })
            .collect();
        (upserts, notes)
    })
    .await
    .map_err(|e| ImportError::Task(e.to_string()))?;
    Ok(made)
}

/// The outline of a unit: its communes dissolved (geo's `unary_union`),
/// without the gaps neighbouring communes leave between them.
///
/// The communes are oriented alike first: `unary_union` takes the winding
/// of the first ring for all, so a commune drawn clockwise (as shapefiles
/// and some editors draw them) among counter-clockwise ones would be left
/// out of the outline.
pub(super) fn dissolve(members: &[MultiPolygon<f64>]) -> MultiPolygon<f64> {
    let oriented: Vec<MultiPolygon<f64>> = members.iter().map(|m| m.orient(Direction::Default)).collect();
    without_slivers(unary_union(oriented.iter()))
}

/// The dissolved shape without the gaps neighbouring communes leave between them.
fn without_slivers(m: MultiPolygon<f64>) -> MultiPolygon<f64> {
    MultiPolygon(
        m.0.into_iter()
            .filter(|p| p.unsigned_area() >= SLIVER_DEG2)
            .map(|p| {
                let (exterior, holes) = p.into_inner();
                let holes = holes
                    .into_iter()
                    .filter(|h| Polygon::new(h.clone(), vec![]).unsigned_area() >= SLIVER_DEG2)
                    .collect();
                Polygon::new(exterior, holes)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_official_names() {
        let communes = layer("admin_commune").expect("layer");
        let districts = layer("admin_district").expect("layer");
        assert_eq!(kind_from_name(communes, "Xã Mỹ Xương"), Some("xa"));
        assert_eq!(kind_from_name(communes, "Phường 1"), Some("phuong"));
        assert_eq!(kind_from_name(communes, "Thị trấn Mỹ Xuyên"), Some("thi_tran"));
        assert_eq!(kind_from_name(communes, "Đặc khu Phú Quốc"), Some("dac_khu"));
        assert_eq!(kind_from_name(communes, "Mỹ Xương"), None);
        assert_eq!(kind_from_name(districts, "Thị xã Ngã Năm"), Some("thi_xa"));
        assert_eq!(kind_from_name(districts, "Thành phố Sóc Trăng"), Some("thanh_pho"));
    }

    #[test]
    fn communes_drawn_either_way_round_are_all_in_the_outline() {
        let square = |x: f64| {
            Polygon::new(
                geo::LineString::from(vec![(x, 0.0), (x + 1.0, 0.0), (x + 1.0, 1.0), (x, 1.0), (x, 0.0)]),
                vec![],
            )
        };
        let counter_clockwise = square(0.0);
        let mut clockwise = square(1.0);
        clockwise.exterior_mut(|ring| ring.0.reverse());
        let outline = dissolve(&[MultiPolygon(vec![clockwise]), MultiPolygon(vec![counter_clockwise])]);
        assert!((outline.unsigned_area() - 2.0).abs() < 1e-9, "{outline:?}");
    }
}
