//! Features follow their communes when a boundary set is reloaded: a
//! department corrects a line between two communes, and the parcels, ponds
//! and stations now inside the other commune take its code, in the same
//! transaction as the boundaries. Statistics split features by location,
//! so without this a commune's list of features and its totals would
//! disagree after a correction.
//!
//! A feature follows when the old boundaries placed it where its code says
//! (the commune holding its largest part, as statistics count it) and the
//! new ones place it in another commune of the same set. A feature whose
//! code already disagreed with its location was coded so on purpose, or by
//! someone who knew better; a reload does not second-guess it. Only
//! features near a commune whose boundary changed are read. A token limited
//! to provinces may not move features to or from a commune of another.

use super::ImportError;
use super::admin::shape;
use super::changes::Changes;
use super::commune::extent;
use super::report::Moved;
use agrimap_analysis::aggregate::largest_part;
use agrimap_analysis::zones::Zones;
use agrimap_model::{Audience, Feature, FeatureQuery, LayerDef, Value, catalog, layer};
use agrimap_store::{Store, Upsert};
use futures::TryStreamExt;
use geo::{MultiPolygon, Rect};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Features placed at a time.
const CHUNK: usize = 16_384;

/// The communes of one boundary set: code → (province code, boundary).
type Shapes = BTreeMap<String, (String, MultiPolygon<f64>)>;

/// The features that move to another commune because the communes that
/// `changes` holds replace the stored ones, as upserts of their `commune_code` (one per
/// layer), and the moves for the report.
///
/// # Errors
/// [`ImportError::OutsideProvinces`] when `writable` names provinces and a
/// move leaves or enters a commune of another; the store's errors.
pub(super) async fn features_following(
    store: &dyn Store,
    changes: &Changes<'_>,
    writable: &[String],
) -> Result<(Vec<Upsert>, Vec<Moved>), ImportError> {
    let Some(communes) = layer("admin_commune") else {
        return Ok((Vec::new(), Vec::new()));
    };
    let sets: BTreeSet<&str> = changes
        .changed
        .iter()
        .filter_map(|f| communes.text_of(f, "boundary_set"))
        .collect();
    let (mut upserts, mut moved) = (Vec::new(), Vec::new());
    // Moves that leave or enter a province the caller may not write in.
    let (mut foreign, mut foreign_moves) = (BTreeSet::new(), 0);
    let elsewhere = |p: &String| !writable.is_empty() && !writable.contains(p);
    for set in sets {
        let old = shapes_of(communes, changes.before.values().copied(), set);
        if old.is_empty() {
            // The set's first communes: no feature was placed on them yet.
            continue;
        }
        // The set's changed communes, and the stored ones they replace:
        // only features near them can move.
        let arriving: Vec<&Feature> = changes
            .changed
            .iter()
            .copied()
            .filter(|f| communes.text_of(f, "boundary_set") == Some(set))
            .collect();
        let replaced = arriving.iter().filter_map(|f| changes.replaced(communes, f));
        let Some(area) = extent(arriving.iter().copied().chain(replaced).map(|f| &f.geometry)) else {
            continue;
        };
        let mut new = old.clone();
        new.extend(shapes_of(communes, arriving.into_iter(), set));
        let zones = Arc::new((zones_of(old), zones_of(new)));
        for layer in catalog().iter().filter(|l| follows(l)) {
            let (following, moves_here) = moves_in(store, layer, set, area, &zones).await?;
            if !following.is_empty() {
                upserts.push(Upsert {
                    layer,
                    features: following,
                    update: vec!["commune_code"],
                    insert_new: false,
                });
            }
            for (m, between) in moves_here {
                if between.iter().any(elsewhere) {
                    foreign_moves += 1;
                    foreign.extend(between.into_iter().filter(|p| elsewhere(p)));
                }
                moved.push(m);
            }
        }
    }
    if foreign_moves > 0 {
        return Err(ImportError::OutsideProvinces(format!(
            "the token may write in provinces {} only; the new boundaries would move {foreign_moves} features to or from communes of province {}; nothing was written",
            writable.join(", "),
            foreign.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    Ok((upserts, moved))
}

/// The features of `layer` in `set` within `area` that move, read in
/// chunks so that a province's million parcels are never held at once
/// (only those that move are kept), each chunk placed on rayon.
async fn moves_in(
    store: &dyn Store,
    layer: &'static LayerDef,
    set: &str,
    area: Rect<f64>,
    zones: &Arc<(Zones, Zones)>,
) -> Result<(Vec<Feature>, Vec<(Moved, [String; 2])>), ImportError> {
    let query = FeatureQuery {
        bbox: Some(area),
        audience: Audience::Full,
        any_order: true,
        ..FeatureQuery::default()
    };
    let mut features = store.stream(layer, query).try_chunks(CHUNK);
    let (mut following, mut moves) = (Vec::new(), Vec::new());
    while let Some(chunk) = features.try_next().await.map_err(|e| e.1)? {
        let (zones, set) = (zones.clone(), set.to_owned());
        let (f, m): (Vec<Feature>, Vec<_>) = tokio::task::spawn_blocking(move || moves_of(layer, &set, &zones, chunk))
            .await
            .map_err(|e| ImportError::Task(format!("placing features on the new boundaries: {e}")))?;
        following.extend(f);
        moves.extend(m);
    }
    Ok((following, moves))
}

/// Layers whose features carry a commune of a boundary set and can be
/// updated by their key: the thematic layers, not the units themselves.
fn follows(layer: &LayerDef) -> bool {
    layer.has_commune() && layer.field_index("boundary_set").is_some() && !layer.natural_key().is_empty()
}

/// The features of `layer` in `set` that the old zones placed where their
/// code says and the new zones place in another commune, with their new
/// code; each move with the provinces it leaves and enters.
fn moves_of(
    layer: &'static LayerDef,
    set: &str,
    zones: &(Zones, Zones),
    features: Vec<Feature>,
) -> (Vec<Feature>, Vec<(Moved, [String; 2])>) {
    let (old, new) = zones;
    let Some(code_at) = layer.field_index("commune_code") else {
        return (Vec::new(), Vec::new());
    };
    features
        .into_par_iter()
        .filter(|f| layer.text_of(f, "boundary_set") == Some(set))
        .map_init(Vec::new, |scratch, mut f| {
            let code = layer.text_of(&f, "commune_code")?.to_owned();
            let was = old.get(largest_part(old, &f.geometry, scratch)?);
            if was.code != code {
                return None;
            }
            let now = new.get(largest_part(new, &f.geometry, scratch)?);
            if now.code == code {
                return None;
            }
            let between = [was.province_code.clone(), now.province_code.clone()];
            let now = now.code.clone();
            let moved = Moved {
                layer: layer.id.to_owned(),
                feature: layer.key_text(&f).unwrap_or_else(|| f.id.to_string()),
                from: code,
                to: now.clone(),
            };
            f.properties[code_at] = Value::Text(now);
            Some((f, (moved, between)))
        })
        .flatten()
        .unzip()
}

/// The communes of `set` among `features` of the commune layer.
fn shapes_of<'a>(communes: &LayerDef, features: impl Iterator<Item = &'a Feature>, set: &str) -> Shapes {
    features
        .filter(|f| communes.text_of(f, "boundary_set") == Some(set))
        .filter_map(|f| {
            let code = communes.text_of(f, "code")?.to_owned();
            let province = communes.text_of(f, "province_code").unwrap_or_default().to_owned();
            Some((code, (province, shape(&f.geometry)?)))
        })
        .collect()
}

fn zones_of(shapes: Shapes) -> Zones {
    Zones::new(
        shapes
            .into_iter()
            .map(|(code, (province, shape))| (code, String::new(), province, shape))
            .collect(),
    )
}
