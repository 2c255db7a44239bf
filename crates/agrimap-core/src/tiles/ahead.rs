//! Keeping ahead: the layers the store keeps (the dense layers coalesced
//! below their legible zoom, and whole at it) drawn once, in the background,
//! for every tile over the provinces the store holds, when the server
//! starts. Without it the first farmer to look at a tile nobody has asked
//! for since the province was loaded waits for every parcel it reaches to be
//! read: up to a few seconds at z10–z11 on a province of two million parcels.
//! What is kept already is looked up, not drawn, so a restart costs one
//! lookup per tile layer.

use super::{Redrawn, TileService, draw};
use crate::error::CoreError;
use crate::metrics::InFlight;
use agrimap_model::{FeatureQuery, LayerDef, catalog, layer};
use agrimap_store::OverviewKey;
use agrimap_tiles::{TileCoord, tile_containing};
use geo::BoundingRect;
use std::collections::BTreeSet;
use std::sync::Arc;

impl TileService {
    /// The tile layers the store keeps over the provinces it holds: for each
    /// dense layer, every tile from its first zoom to its legible one that
    /// meets a province's bounding box; lowest zoom first.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn layers_to_keep(&self) -> Result<Vec<(&'static LayerDef, TileCoord)>, CoreError> {
        let Some(provinces) = layer("admin_province") else {
            return Ok(Vec::new());
        };
        let query = FeatureQuery {
            fields: Some(&[]),
            ..FeatureQuery::default()
        };
        let extents: Vec<_> = self
            .store
            .features(provinces, &query)
            .await?
            .iter()
            .filter_map(|p| p.geometry.bounding_rect())
            .collect();
        let mut wanted = BTreeSet::new();
        for (i, dense) in catalog().iter().enumerate() {
            let Some(coalescing) = dense.coalescing() else { continue };
            for z in dense.minzoom..=coalescing.below_zoom {
                for extent in &extents {
                    // Tile rows grow southwards: the north-west corner has the lowest.
                    let north_west = tile_containing(extent.min().x, extent.max().y, z);
                    let south_east = tile_containing(extent.max().x, extent.min().y, z);
                    for x in north_west.x..=south_east.x {
                        for y in north_west.y..=south_east.y {
                            wanted.insert((z, x, y, i));
                        }
                    }
                }
            }
        }
        Ok(wanted
            .into_iter()
            .filter_map(|(z, x, y, i)| Some((&catalog()[i], TileCoord::new(z, x, y).ok()?)))
            .collect())
    }

    /// Draws, one at a time and lowest zoom first, the layers of
    /// [`Self::layers_to_keep`] that the store does not hold, and so keeps
    /// them.
    ///
    /// # Errors
    /// When the store fails, or encoding does.
    pub async fn keep_ahead(&self) -> Result<Redrawn, CoreError> {
        let options = self.options.fingerprint();
        let mut done = Redrawn::default();
        for (layer, coord) in self.layers_to_keep().await? {
            let key = OverviewKey {
                layer: layer.id,
                options: options.clone(),
                z: coord.z,
                x: coord.x,
                y: coord.y,
            };
            if self.store.overview(&key).await?.is_some() {
                continue;
            }
            let drawn = {
                let _in_flight = InFlight::new(&self.metrics.renders_in_flight);
                draw(&self.store, &self.metrics, &[layer], coord, &self.options, None).await?
            };
            done.drawn += 1;
            done.kept += drawn.kept;
        }
        Ok(done)
    }
}

/// Starts keeping ahead on the current runtime, once; it logs what it drew.
pub fn spawn_keeping_ahead(tiles: Arc<TileService>) {
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        match tiles.keep_ahead().await {
            Ok(done) => tracing::info!(
                drawn = done.drawn,
                kept = done.kept,
                seconds = started.elapsed().as_secs(),
                "tile layers kept ahead"
            ),
            Err(e) => tracing::warn!(cause = %e, "keeping tile layers ahead failed"),
        }
    });
}
