//! How many features a query matches (`numberMatched` of an `/ogc` page),
//! remembered until the layer changes: a client paging through a province
//! asks the same count with every page, and on a partition of two million
//! parcels each count reads the whole partition.

use crate::error::CoreError;
use agrimap_model::{FeatureQuery, LayerDef};
use agrimap_store::Store;
use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

/// Counts remembered at most; the oldest goes first.
const REMEMBERED: usize = 64;

/// One count, and the layer's change counter it was read at.
struct Remembered {
    layer: &'static str,
    /// The query without its page (offset and limit) or hints.
    query: FeatureQuery,
    version: u64,
    count: u64,
}

/// The last counts asked for.
#[derive(Default)]
pub struct MatchCounts {
    remembered: Mutex<VecDeque<Remembered>>,
}

impl MatchCounts {
    /// How many features of `layer` match `query`, whatever its page: read
    /// from the store only when this query was not counted at the layer's
    /// current change counter.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn count(
        &self,
        store: &dyn Store,
        layer: &'static LayerDef,
        query: &FeatureQuery,
    ) -> Result<u64, CoreError> {
        let query = FeatureQuery {
            offset: 0,
            limit: None,
            any_order: false,
            matches: None,
            ..query.clone()
        };
        // Read before the count, so that a write in between leaves the count
        // under an old counter, never a stale count under the new one.
        let version = store.versions().await?.get(layer.id).copied().unwrap_or(0);
        if let Some(count) = self.lookup(layer.id, &query, version) {
            return Ok(count);
        }
        let count = store.count(layer, &query).await?;
        let mut remembered = self.remembered.lock().unwrap_or_else(PoisonError::into_inner);
        remembered.retain(|r| !(r.layer == layer.id && r.query == query));
        if remembered.len() == REMEMBERED {
            remembered.pop_front();
        }
        remembered.push_back(Remembered {
            layer: layer.id,
            query,
            version,
            count,
        });
        Ok(count)
    }

    fn lookup(&self, layer: &str, query: &FeatureQuery, version: u64) -> Option<u64> {
        self.remembered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|r| r.layer == layer && r.version == version && &r.query == query)
            .map(|r| r.count)
    }
}
