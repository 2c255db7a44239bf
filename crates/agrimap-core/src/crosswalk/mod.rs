//! The official commune crosswalk of the 1 July 2025 reorganisation, and
//! what agrimap does with it where both boundary sets are loaded:
//!
//! - [`pairs`]: the official file read and checked, then stored as one list
//!   ([`import`]), read back by old or new code with the boundaries'
//!   shares ([`Core::crosswalk_pairs`]).
//! - [`overlay`]: each old commune's area split over the new communes, by
//!   exact overlay on the ellipsoid, in parallel.
//! - [`report`]: the list checked against that overlay ([`report::check`]).
//! - [`apportion`]: values by old commune turned into values by new commune.
//! - [`recode`]: a layer's features re-stamped with the 2025 communes they lie in.
//! - [`decimal`]: exact decimal units, so that splits add up.

pub mod apportion;
mod columns;
pub mod decimal;
pub mod overlay;
pub mod pairs;
pub mod recode;
pub mod report;

use crate::Core;
use crate::communes::CommuneIndex;
use crate::error::CoreError;
use agrimap_model::BoundarySet;
use agrimap_store::{CrosswalkPair, CrosswalkQuery, Store};
use apportion::Apportioned;
use overlay::{Boundary, Overlay};
use report::{Loaded, Report};
use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

/// Reads the official file and puts its pairs in place of the stored list,
/// in one transaction; returns how many pairs were stored.
///
/// # Errors
/// `bad_crosswalk` naming the bad lines (nothing stored then), or a store failure.
pub async fn import(store: &dyn Store, bytes: &[u8]) -> Result<usize, CoreError> {
    let pairs = pairs::parse_pairs(bytes)?;
    Ok(store.replace_crosswalk(pairs).await?)
}

/// A pair of the list with the share of the old commune's area that lies
/// in the new one, when both are loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedPair {
    pub pair: CrosswalkPair,
    pub share: Option<f64>,
}

/// The pairs as CSV: the official file's columns, then `share` (empty where unknown).
#[must_use]
pub fn pairs_csv(list: &[SharedPair]) -> String {
    let shares: Vec<String> = list
        .iter()
        .map(|p| p.share.map(|s| format!("{s:.6}")).unwrap_or_default())
        .collect();
    let header: Vec<&str> = pairs::COLUMNS.iter().copied().chain(["share"]).collect();
    csv_text(
        &header,
        list.iter().zip(&shares).map(|(SharedPair { pair: p, .. }, share)| {
            [
                p.old_code.as_str(),
                &p.old_name,
                &p.new_province_code,
                &p.new_province_name,
                &p.new_code,
                &p.new_name,
                p.kind.as_str(),
                share,
            ]
        }),
    )
}

/// Rows of text cells as CSV, each cell made safe for a spreadsheet.
fn csv_text<'a, const N: usize>(header: &[&str], rows: impl Iterator<Item = [&'a str; N]>) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = out.write_record(header);
    for row in rows {
        let _ = out.write_record(row.map(crate::csv_cell::neutralised).iter().map(|c| c.as_bytes()));
    }
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The loaded communes of one boundary set, as the overlay takes them.
fn boundaries(index: &CommuneIndex, set: BoundarySet) -> Vec<Boundary> {
    index
        .communes()
        .iter()
        .filter(|c| c.boundary_set == set.as_str())
        .filter_map(|c| Boundary::new(&c.code, &c.province_code, &c.boundary))
        .collect()
}

/// The overlay of the loaded pre-2025 communes on the loaded 2025 communes,
/// kept for the commune index it was computed from: the report, the pairs'
/// shares and apportioning all read it, and anyone may ask for the first
/// two, so it is computed once per change of the communes, not per request.
#[derive(Debug, Default)]
pub struct OverlayCache {
    current: tokio::sync::Mutex<Option<(Weak<CommuneIndex>, Arc<Overlay>)>>,
}

impl OverlayCache {
    /// The overlay for `index`, computed off the async runtime when it is not held.
    ///
    /// # Errors
    /// When the computation's task fails.
    pub async fn overlay(&self, index: &Arc<CommuneIndex>) -> Result<Arc<Overlay>, CoreError> {
        // Held while computing, so that concurrent requests compute once.
        let mut current = self.current.lock().await;
        if let Some((of, overlay)) = current.as_ref()
            && std::ptr::eq(of.as_ptr(), Arc::as_ptr(index))
        {
            return Ok(overlay.clone());
        }
        let for_index = index.clone();
        let overlay = Arc::new(
            tokio::task::spawn_blocking(move || {
                let old = boundaries(&for_index, BoundarySet::Pre2025);
                let new = overlay::index_new(&boundaries(&for_index, BoundarySet::Y2025));
                overlay::overlay(&old, &new)
            })
            .await
            .map_err(|e| CoreError::task_failed("overlay_failed", "the overlay of the boundary sets", &e))?,
        );
        // The weak reference keeps the index's address from being reused while held.
        *current = Some((Arc::downgrade(index), overlay.clone()));
        Ok(overlay)
    }
}

fn loaded(index: &CommuneIndex, set: BoundarySet) -> Vec<Loaded<'_>> {
    index
        .communes()
        .iter()
        .filter(|c| c.boundary_set == set.as_str())
        .map(|c| Loaded {
            code: &c.code,
            name: &c.name,
            province_code: &c.province_code,
        })
        .collect()
}

impl Core {
    /// The stored pairs of one old or one new commune (or all), each with
    /// its share of the old commune's area where both communes are loaded.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn crosswalk_pairs(&self, query: &CrosswalkQuery) -> Result<Vec<SharedPair>, CoreError> {
        let pairs = self.store.crosswalk(query).await?;
        let index = self.communes.index(self.store.as_ref()).await?;
        let is_loaded = |code: &str, set: BoundarySet| index.get(code, Some(set)).is_some();
        let overlay = self.crosswalk.overlay(&index).await?;
        Ok(pairs
            .into_iter()
            .map(|pair| SharedPair {
                share: (is_loaded(&pair.old_code, BoundarySet::Pre2025)
                    && is_loaded(&pair.new_code, BoundarySet::Y2025))
                .then(|| overlay.share(&pair.old_code, &pair.new_code)),
                pair,
            })
            .collect())
    }

    /// The stored list checked against the loaded boundaries.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn crosswalk_report(&self) -> Result<Report, CoreError> {
        let index = self.communes.index(self.store.as_ref()).await?;
        let pairs = self.store.crosswalk(&CrosswalkQuery::default()).await?;
        let overlay = self.crosswalk.overlay(&index).await?;
        Ok(report::check(
            &pairs,
            &loaded(&index, BoundarySet::Pre2025),
            &loaded(&index, BoundarySet::Y2025),
            &overlay,
        ))
    }

    /// Values by old commune (an `old_code,value` CSV table) as values by new commune.
    ///
    /// # Errors
    /// `bad_table` or `unknown_commune` naming the bad lines, `cannot_split`
    /// where boundaries are missing, or a store failure.
    pub async fn apportion(&self, csv: &[u8]) -> Result<Apportioned, CoreError> {
        let rows = apportion::parse_values(csv)?;
        let mut by_old: BTreeMap<String, Vec<CrosswalkPair>> = BTreeMap::new();
        for p in self.store.crosswalk(&CrosswalkQuery::default()).await? {
            by_old.entry(p.old_code.clone()).or_default().push(p);
        }
        let index = self.communes.index(self.store.as_ref()).await?;
        let overlay = self.crosswalk.overlay(&index).await?;
        apportion::apportion(&rows, &by_old, &overlay)
    }
}
