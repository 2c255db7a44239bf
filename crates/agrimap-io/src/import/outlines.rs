//! Districts and provinces that agrimap made from their communes follow
//! them: when a commune's boundary changes, the unit it belongs to is made
//! again from its communes as they now are, in the same transaction.
//!
//! A unit that came from a file of its own (an official province outline)
//! is kept as stored and the report says so. Which is which is not
//! recorded; it is seen: a unit is taken as made from its communes when it
//! is, within a millionth of its area, what dissolving its stored communes
//! gives. Only units of a commune whose boundary changed are looked at.

use super::ImportError;
use super::admin::{complete, dissolve, shape};
use super::changes::{Changes, key};
use agrimap_model::{BoundarySet, Feature, FeatureQuery, LayerDef, layer};
use agrimap_store::{Store, Upsert};
use geo::{Area, BooleanOps, Geometry, MultiPolygon};
use std::collections::{BTreeMap, BTreeSet};

/// A unit: (layer, code, boundary set).
type UnitKey = (&'static str, String, String);

/// A held unit to look at: its key, its stored feature, and its communes'
/// boundaries before and after the import.
struct Job {
    key: UnitKey,
    unit: Feature,
    before: Vec<MultiPolygon<f64>>,
    after: Vec<MultiPolygon<f64>>,
}

/// How far (a share of its area) a stored unit may be from the dissolve of
/// its communes and still be taken as made from them.
const MADE_FROM_COMMUNES: f64 = 1e-6;

/// What following the communes did to the units held.
#[derive(Default)]
pub(super) struct Outlines {
    /// The units made again, as upserts of their geometry and area.
    pub upserts: Vec<Upsert>,
    /// A line for the report for each unit made again...
    pub remade: Vec<String>,
    /// ...and for each kept as stored.
    pub kept: Vec<String>,
}

/// The held districts and provinces made from their communes whose
/// communes' boundaries `changes` change, made again.
pub(super) async fn outlines_following(store: &dyn Store, changes: &Changes<'_>) -> Result<Outlines, ImportError> {
    let (Some(communes), Some(districts), Some(provinces)) =
        (layer("admin_commune"), layer("admin_district"), layer("admin_province"))
    else {
        return Ok(Outlines::default());
    };
    let before = &changes.before;
    let mut after = before.clone();
    let mut touched = BTreeSet::new();
    for &f in &changes.changed {
        for commune in changes.replaced(communes, f).into_iter().chain(std::iter::once(f)) {
            touched.extend(units_of(communes, commune));
        }
        if let Some(key) = key(communes, f) {
            after.insert(key, f);
        }
    }
    if touched.is_empty() {
        return Ok(Outlines::default());
    }
    let all = FeatureQuery::default();
    let mut held: BTreeMap<UnitKey, Feature> = BTreeMap::new();
    for l in [provinces, districts] {
        for f in store.features(l, &all).await? {
            if let (Some(code), Some(set)) = (l.text_of(&f, "code"), l.text_of(&f, "boundary_set")) {
                held.insert((l.id, code.to_owned(), set.to_owned()), f);
            }
        }
    }
    let mut jobs = Vec::new();
    for key in touched {
        let Some(unit) = held.remove(&key) else { continue };
        let members = |communes_now: &BTreeMap<(String, String), &Feature>| -> Vec<MultiPolygon<f64>> {
            communes_now
                .values()
                .filter(|f| units_of(communes, f).contains(&key))
                .filter_map(|f| shape(&f.geometry))
                .collect()
        };
        jobs.push(Job {
            before: members(before),
            after: members(&after),
            key,
            unit,
        });
    }
    let made = tokio::task::spawn_blocking(move || remake(jobs, provinces, districts))
        .await
        .map_err(|e| ImportError::Task(e.to_string()))?;
    Ok(made)
}

/// The province and (before 2025) district a commune belongs to.
fn units_of(communes: &LayerDef, f: &Feature) -> Vec<UnitKey> {
    let Some(set) = communes.text_of(f, "boundary_set") else {
        return Vec::new();
    };
    let mut units = Vec::new();
    if let Some(p) = communes.text_of(f, "province_code") {
        units.push(("admin_province", p.to_owned(), set.to_owned()));
    }
    if set == BoundarySet::Pre2025.as_str()
        && let Some(d) = communes.text_of(f, "district_code")
    {
        units.push(("admin_district", d.to_owned(), set.to_owned()));
    }
    units
}

/// Each unit made again from its communes' new boundaries when its stored
/// outline is the dissolve of their old ones.
fn remake(jobs: Vec<Job>, provinces: &'static LayerDef, districts: &'static LayerDef) -> Outlines {
    let mut by_layer: BTreeMap<&'static str, Vec<Feature>> = BTreeMap::new();
    let mut outlines = Outlines::default();
    for Job {
        key: (unit_layer, code, set),
        mut unit,
        before: old,
        after: new,
    } in jobs
    {
        let l = if unit_layer == "admin_province" {
            provinces
        } else {
            districts
        };
        let name = l.text_of(&unit, "name").unwrap_or(&code).to_owned();
        let Some(stored) = shape(&unit.geometry) else { continue };
        if !same_outline(&stored, &dissolve(&old)) {
            outlines.kept.push(format!(
                "{unit_layer} {code} ({name}, set {set}) kept as stored: it was not made from its communes"
            ));
            continue;
        }
        unit.geometry = Geometry::MultiPolygon(dissolve(&new));
        complete(l, &mut unit);
        outlines.remade.push(format!(
            "{unit_layer} {code} ({name}, set {set}) made again from its {} communes",
            new.len()
        ));
        by_layer.entry(unit_layer).or_default().push(unit);
    }
    outlines.upserts = by_layer
        .into_iter()
        .map(|(unit_layer, features)| Upsert {
            layer: if unit_layer == "admin_province" {
                provinces
            } else {
                districts
            },
            features,
            update: vec!["area_ha"],
            insert_new: false,
        })
        .collect();
    outlines
}

/// Whether two outlines cover the same ground, within [`MADE_FROM_COMMUNES`].
fn same_outline(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> bool {
    a.xor(b).unsigned_area() <= MADE_FROM_COMMUNES * a.unsigned_area()
}
