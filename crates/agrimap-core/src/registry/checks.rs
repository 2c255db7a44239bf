//! The registry checked against the layers (`/api/registry/checks`): a
//! growing area whose registered hectares differ from its parcels' (the
//! `crop` features carrying its code) by more than 5 %, or that has no
//! parcel; one registered in a commune that holds less than half of its
//! parcels' hectares (a boundary correction moved them, or the registration
//! was wrong); parcels carrying a code that is not registered; and codes
//! that are not active today (so their parcels no longer count as coded).

use crate::Core;
use crate::error::CoreError;
use agrimap_model::registry::{GrowingArea, RegistryKind};
use agrimap_model::{FeatureQuery, layer};
use futures::TryStreamExt;
use serde::Serialize;
use std::collections::BTreeMap;

/// Largest relative difference between registered and parcel hectares.
pub const AREA_TOLERANCE: f64 = 0.05;

#[derive(Debug, Clone, Serialize)]
pub struct AreaCheck {
    pub code: String,
    pub registered_ha: f64,
    pub parcels: usize,
    pub parcels_ha: f64,
    /// (parcels − registered) / registered.
    pub difference: f64,
    pub status_today: &'static str,
    /// What is wrong, empty when nothing.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChecksReport {
    pub today: String,
    pub tolerance: f64,
    pub growing_areas: usize,
    /// The areas with a problem.
    pub flagged: Vec<AreaCheck>,
    /// Codes carried by parcels but not registered, with their parcel counts.
    pub unregistered_codes: BTreeMap<String, usize>,
}

impl Core {
    /// The registry checked against the crop parcels.
    ///
    /// # Errors
    /// The store's.
    pub async fn registry_checks(&self) -> Result<ChecksReport, CoreError> {
        let today = super::today();
        let areas: Vec<GrowingArea> = super::all(self.store.as_ref(), RegistryKind::GrowingAreas).await?;
        let crop = layer("crop").ok_or_else(|| CoreError::internal("no_layer", "the crop layer is missing"))?;
        let mut parcels: BTreeMap<String, Parcels> = BTreeMap::new();
        let query = FeatureQuery {
            any_order: true,
            ..FeatureQuery::default()
        };
        let mut stream = self.store.stream(crop, query);
        while let Some(f) = stream.try_next().await? {
            if let Some(code) = crop.text_of(&f, "growing_area_code") {
                let ha = crop.value_of(&f, "area_ha").as_f64().unwrap_or(0.0);
                let e = parcels.entry(code.to_owned()).or_default();
                e.count += 1;
                e.ha += ha;
                if let (Some(commune), Some(set)) = (crop.text_of(&f, "commune_code"), crop.text_of(&f, "boundary_set"))
                {
                    *e.by_commune.entry((set.to_owned(), commune.to_owned())).or_default() += ha;
                }
            }
        }
        let mut flagged = Vec::new();
        for a in &areas {
            let held = parcels.remove(&a.code).unwrap_or_default();
            let (n, ha) = (held.count, held.ha);
            let difference = (ha - a.area_ha) / a.area_ha;
            let status = a.status_on(&today);
            let mut problems = Vec::new();
            if n == 0 {
                problems.push("no parcel of the crop layer carries this code".to_owned());
            } else if difference.abs() > AREA_TOLERANCE {
                problems.push(format!(
                    "registered {:.2} ha, its {n} parcels {ha:.2} ha ({:+.1} %)",
                    a.area_ha,
                    difference * 100.0
                ));
            }
            problems.extend(held.elsewhere(a));
            if status != agrimap_model::registry::EffectiveStatus::Active {
                problems.push(format!("{} today; its parcels do not count as coded", status.as_str()));
            }
            if !problems.is_empty() {
                flagged.push(AreaCheck {
                    code: a.code.clone(),
                    registered_ha: a.area_ha,
                    parcels: n,
                    parcels_ha: ha,
                    difference,
                    status_today: status.as_str(),
                    problems,
                });
            }
        }
        Ok(ChecksReport {
            today,
            tolerance: AREA_TOLERANCE,
            growing_areas: areas.len(),
            flagged,
            unregistered_codes: parcels.into_iter().map(|(code, p)| (code, p.count)).collect(),
        })
    }
}

/// The parcels carrying one growing-area code.
#[derive(Default)]
struct Parcels {
    count: usize,
    ha: f64,
    /// Hectares by (boundary set, commune code).
    by_commune: BTreeMap<(String, String), f64>,
}

impl Parcels {
    /// What is wrong with where `area` is registered: its commune holds less
    /// than half of its parcels' hectares in that boundary set. Parcels of
    /// the other set are not compared (a code means a commune only with its
    /// set).
    fn elsewhere(&self, area: &GrowingArea) -> Option<String> {
        let in_set: Vec<(&str, f64)> = self
            .by_commune
            .iter()
            .filter(|((set, _), _)| *set == area.boundary_set)
            .map(|((_, commune), ha)| (commune.as_str(), *ha))
            .collect();
        let total: f64 = in_set.iter().map(|(_, ha)| ha).sum();
        let registered = in_set
            .iter()
            .find(|(c, _)| *c == area.commune_code)
            .map_or(0.0, |(_, ha)| *ha);
        if total <= 0.0 || registered * 2.0 >= total {
            return None;
        }
        let (most, most_ha) = in_set.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1))?;
        Some(format!(
            "registered in commune {}, but {:.0} % of its parcels' hectares lie in commune {most}",
            area.commune_code,
            most_ha / total * 100.0
        ))
    }
}
