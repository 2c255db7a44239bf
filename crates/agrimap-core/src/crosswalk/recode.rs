//! A thematic layer's features re-stamped with the 2025 communes they lie
//! in (`agrimap recode --layer L --to 2025`): each feature still coded by
//! a pre-2025 commune gets the 2025 commune holding its largest part (the
//! aggregation engine's exact split, as statistics count a feature), its
//! `boundary_set` set to `2025` and its old code kept in
//! `former_commune_code`. Features outside every 2025 commune are left as
//! they are and reported. The layer is read in chunks and the new codes are
//! written in one transaction ([`agrimap_store::LayerStore::restamp_communes`]).

use super::overlay::{Boundary, index_new};
use crate::Core;
use crate::error::CoreError;
use agrimap_analysis::aggregate::largest_part;
use agrimap_analysis::zones::Zones;
use agrimap_model::{Audience, BoundarySet, Feature, FeatureQuery, LayerDef};
use agrimap_store::Restamp;
use agrimap_store::resumable::{HOLD, resumable};
use futures::TryStreamExt;
use rayon::prelude::*;
use serde::Serialize;
use std::sync::Arc;

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
    /// Features whose commune was edited between the recode's read and its
    /// write: left as the edit made them.
    pub edited_meanwhile: usize,
}

/// Why the layer cannot be recoded, if it cannot: it must have the fields a recode writes.
fn check_recodable(layer: &LayerDef) -> Result<(), CoreError> {
    let at = |name: &str| layer.field_index(name);
    match (at("commune_code"), at("boundary_set"), at(HISTORY_FIELD)) {
        (Some(_), Some(_), Some(_)) => Ok(()),
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
        check_recodable(layer)?;
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
        let zones = Arc::new(
            tokio::task::spawn_blocking(move || index_new(&new))
                .await
                .map_err(|e| CoreError::task_failed("recode_failed", "indexing the communes", &e))?,
        );
        let mut report = RecodeReport {
            layer: layer.id.to_owned(),
            to: to.as_str().to_owned(),
            recoded: 0,
            unchanged: 0,
            outside: 0,
            outside_keys: Vec::new(),
            edited_meanwhile: 0,
        };
        // The layer is read chunk by chunk and only (id, code read, new
        // code) is kept, so a province's million parcels are never held at
        // once; the chunk stream fails if the layer changes meanwhile, and
        // the write skips a feature edited after the last chunk.
        let mut changes: Vec<Restamp> = Vec::new();
        let query = FeatureQuery {
            audience: Audience::Full,
            ..FeatureQuery::default()
        };
        let mut chunks = resumable(self.store.clone(), layer, query, HOLD);
        while let Some(chunk) = chunks.try_next().await? {
            let zones = zones.clone();
            let placed = tokio::task::spawn_blocking(move || place(layer, to, &zones, &chunk))
                .await
                .map_err(|e| CoreError::task_failed("recode_failed", "recoding a layer", &e))?;
            for (id, read, place) in placed {
                match place {
                    Place::Unchanged => report.unchanged += 1,
                    Place::Outside(key) => {
                        report.outside += 1;
                        if report.outside_keys.len() < NAMED {
                            report.outside_keys.push(key);
                        }
                    }
                    Place::In(code) => changes.push(Restamp { id, read, code }),
                }
            }
        }
        if !changes.is_empty() {
            let asked = changes.len();
            report.recoded = self.store.restamp_communes(layer, to, changes).await?;
            report.edited_meanwhile = asked - report.recoded;
        }
        Ok(report)
    }
}

/// Where a feature goes.
enum Place {
    /// Already in the target set.
    Unchanged,
    /// In no commune of the target set: its natural key, for the report.
    Outside(String),
    /// The commune holding its largest part.
    In(String),
}

/// Places a chunk of features on the target set's communes, in parallel:
/// each feature's id, the commune code it was read with, and its place.
fn place(layer: &LayerDef, to: BoundarySet, zones: &Zones, chunk: &[Feature]) -> Vec<(i64, Option<String>, Place)> {
    chunk
        .par_iter()
        .map_init(Vec::new, |scratch, f| {
            let read = layer.text_of(f, "commune_code").map(str::to_owned);
            if layer.text_of(f, "boundary_set") == Some(to.as_str()) {
                return (f.id, read, Place::Unchanged);
            }
            let place = match largest_part(zones, &f.geometry, scratch) {
                Some(z) => Place::In(zones.get(z).code.clone()),
                None => Place::Outside(layer.key_text(f).unwrap_or_else(|| f.id.to_string())),
            };
            (f.id, read, place)
        })
        .collect()
}
