//! A thematic layer's features re-stamped with the 2025 communes they lie
//! in (`agrimap recode --layer L --to 2025`): each feature still coded by
//! a pre-2025 commune gets the 2025 commune holding its largest part (the
//! aggregation engine's exact split, as statistics count a feature), its
//! `boundary_set` set to `2025` and its old code kept in
//! `former_commune_code`. Features outside every 2025 commune are left as
//! they are and reported. All of it is one upsert: one transaction.

use super::overlay::{Boundary, index_new};
use crate::Core;
use crate::error::CoreError;
use agrimap_analysis::aggregate::exact_parts;
use agrimap_model::{Audience, BoundarySet, Feature, FeatureQuery, LayerDef, Value};
use agrimap_store::Upsert;
use rayon::prelude::*;
use serde::Serialize;

/// The field keeping the code a feature had before it was recoded.
pub const HISTORY_FIELD: &str = "former_commune_code";
/// How many features outside every commune the report names.
const NAMED: usize = 50;

/// What a recode did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecodeReport {
    pub layer: String,
    pub to: String,
    /// Features given a 2025 commune.
    pub recoded: usize,
    /// Features already in the 2025 set.
    pub unchanged: usize,
    /// Features of the old set that lie in no 2025 commune (left as they were).
    pub outside: usize,
    /// The natural keys of the first of those.
    pub outside_keys: Vec<String>,
}

/// The field positions a recode writes, or why the layer cannot be recoded.
fn positions(layer: &LayerDef) -> Result<[usize; 3], CoreError> {
    let at = |name: &str| layer.field_index(name);
    match (at("commune_code"), at("boundary_set"), at(HISTORY_FIELD)) {
        (Some(c), Some(b), Some(h)) => Ok([c, b, h]),
        _ => Err(CoreError::invalid(
            "bad_layer",
            format!(
                "layer '{}' has no commune_code, boundary_set and {HISTORY_FIELD}: only thematic layers can be recoded",
                layer.id
            ),
        )),
    }
}

impl Core {
    /// Recodes the features of `layer` to the 2025 communes loaded, in one transaction.
    ///
    /// # Errors
    /// `bad_layer` for a layer without commune codes, `bad_boundary_set` for
    /// any target but 2025, `no_communes` when no 2025 commune is loaded, or
    /// a store failure (nothing written then).
    pub async fn recode(&self, layer: &'static LayerDef, to: BoundarySet) -> Result<RecodeReport, CoreError> {
        let [code_at, set_at, history_at] = positions(layer)?;
        if to != BoundarySet::Y2025 {
            return Err(CoreError::invalid(
                "bad_boundary_set",
                format!(
                    "features can be recoded to the {} communes only (the crosswalk runs one way)",
                    BoundarySet::Y2025
                ),
            ));
        }
        let index = self.communes.index(self.store.as_ref()).await?;
        let query = FeatureQuery {
            audience: Audience::Full,
            ..FeatureQuery::default()
        };
        let features = self.store.features(layer, &query).await?;
        let (changed, report) = tokio::task::spawn_blocking(move || {
            let new: Vec<Boundary> = index
                .communes()
                .iter()
                .filter(|c| c.boundary_set == to.as_str())
                .filter_map(|c| Boundary::new(&c.code, &c.province_code, &c.boundary))
                .collect();
            if new.is_empty() {
                return Err(CoreError::invalid(
                    "no_communes",
                    format!("no {to} communes are loaded: import them into admin_commune first"),
                ));
            }
            let zones = index_new(&new);
            let placed: Vec<Option<Option<String>>> = features
                .par_iter()
                .map_init(Vec::new, |scratch, f| {
                    if layer.text_of(f, "boundary_set") == Some(to.as_str()) {
                        return None;
                    }
                    exact_parts(&zones, &f.geometry, scratch);
                    let largest = scratch.iter().max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
                    Some(largest.map(|&(z, _)| zones.get(z).code.clone()))
                })
                .collect();
            let mut report = RecodeReport {
                layer: layer.id.to_owned(),
                to: to.as_str().to_owned(),
                recoded: 0,
                unchanged: 0,
                outside: 0,
                outside_keys: Vec::new(),
            };
            let mut changed: Vec<Feature> = Vec::new();
            for (mut f, place) in features.into_iter().zip(placed) {
                match place {
                    None => report.unchanged += 1,
                    Some(None) => {
                        report.outside += 1;
                        if report.outside_keys.len() < NAMED {
                            report.outside_keys.push(key_of(layer, &f));
                        }
                    }
                    Some(Some(code)) => {
                        report.recoded += 1;
                        let old = std::mem::replace(&mut f.properties[code_at], Value::Text(code));
                        f.properties[history_at] = old;
                        f.properties[set_at] = Value::Text(to.as_str().to_owned());
                        changed.push(f);
                    }
                }
            }
            Ok((changed, report))
        })
        .await
        .map_err(|e| CoreError::task_failed("recode_failed", "recoding a layer", &e))??;
        if !changed.is_empty() {
            self.store
                .upsert(Upsert {
                    layer,
                    features: changed,
                    update: vec!["commune_code", "boundary_set", HISTORY_FIELD],
                })
                .await?;
        }
        Ok(report)
    }
}

/// A feature's natural key as text (`parcel_id` of a parcel, …), or its id.
fn key_of(layer: &LayerDef, f: &Feature) -> String {
    let key: Vec<&str> = layer.natural_key().iter().filter_map(|k| layer.text_of(f, k)).collect();
    if key.is_empty() {
        f.id.to_string()
    } else {
        key.join("/")
    }
}
