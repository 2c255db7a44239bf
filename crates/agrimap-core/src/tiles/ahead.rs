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
use agrimap_model::{FeatureQuery, LayerDef, UtcTime, catalog, layer};
use agrimap_store::{OverviewKey, Store};
use agrimap_tiles::{TileCoord, tile_containing};
use geo::BoundingRect;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// them; under the store's lease [`KEEPING_AHEAD`], renewed as it goes,
    /// so that of several servers over one store one draws the province.
    /// `None` when another server holds the lease.
    ///
    /// # Errors
    /// When the store fails, or encoding does.
    pub async fn keep_ahead(&self, holder: &str) -> Result<Option<Redrawn>, CoreError> {
        let options = self.options.fingerprint();
        // Servers drawing with other options keep other tiles.
        let name = format!("{KEEPING_AHEAD} {options}");
        let Some(mut lease) = Lease::take(self.store.as_ref(), &name, holder).await? else {
            return Ok(None);
        };
        let mut done = Redrawn::default();
        for (layer, coord) in self.layers_to_keep().await? {
            if !lease.renew_if_due(self.store.as_ref()).await? {
                tracing::warn!("the lease of keeping the tiles ahead ran out; another server goes on");
                return Ok(Some(done));
            }
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
        self.store.end_lease(&name, holder).await?;
        Ok(Some(done))
    }
}

/// The store's lease of keeping the tiles ahead (with the tile options' fingerprint).
pub const KEEPING_AHEAD: &str = "keep_tiles_ahead";

/// How long a lease lasts unless renewed: a server that stops (or hangs)
/// leaves the work to another after this long. A tile layer draws in well
/// under a second, and the lease is renewed between them at half its time.
const LEASE: Duration = Duration::from_mins(1);

/// A lease this server holds, with when it was last renewed.
struct Lease<'a> {
    name: &'a str,
    holder: &'a str,
    renewed: Instant,
}

impl<'a> Lease<'a> {
    async fn take(store: &dyn Store, name: &'a str, holder: &'a str) -> Result<Option<Self>, CoreError> {
        let now = UtcTime::now();
        let taken = store.take_lease(name, holder, now, until(now)).await?;
        Ok(taken.then(|| Self {
            name,
            holder,
            renewed: Instant::now(),
        }))
    }

    /// Renews the lease once half of it has gone; false when it was lost.
    async fn renew_if_due(&mut self, store: &dyn Store) -> Result<bool, CoreError> {
        if self.renewed.elapsed() < LEASE / 2 {
            return Ok(true);
        }
        let now = UtcTime::now();
        let held = store.take_lease(self.name, self.holder, now, until(now)).await?;
        self.renewed = Instant::now();
        Ok(held)
    }
}

fn until(now: UtcTime) -> UtcTime {
    UtcTime::from_unix(now.unix() + LEASE.as_secs().cast_signed()).unwrap_or(now)
}

/// Starts keeping ahead on the current runtime, once; it logs what it drew.
/// While another server over the store holds the lease, it waits, and takes
/// the work up if that server stops before it is done (what was kept
/// meanwhile is then looked up, not drawn).
pub fn spawn_keeping_ahead(tiles: Arc<TileService>) {
    tokio::spawn(async move {
        let holder = format!("{}-{}", std::process::id(), UtcTime::now().unix());
        let started = Instant::now();
        let mut told = false;
        loop {
            match tiles.keep_ahead(&holder).await {
                Ok(Some(done)) => {
                    tracing::info!(
                        drawn = done.drawn,
                        kept = done.kept,
                        seconds = started.elapsed().as_secs(),
                        "tile layers kept ahead"
                    );
                    return;
                }
                Ok(None) => {
                    if !told {
                        tracing::info!("another server keeps the tile layers ahead; waiting for it");
                        told = true;
                    }
                    tokio::time::sleep(LEASE / 4).await;
                }
                Err(e) => {
                    tracing::warn!(cause = %e, "keeping tile layers ahead failed");
                    return;
                }
            }
        }
    });
}
