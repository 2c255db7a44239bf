//! Drawing again, in the background, the coalesced tile layers a write made
//! the store forget (see [`agrimap_store::OverviewStore::overviews_to_redraw`]):
//! a parcel edited at noon would otherwise make the first farmer to look at
//! its area at z10–z12 wait for every parcel of the tile to be read and
//! merged again.

use super::{TileService, draw};
use crate::error::CoreError;
use crate::metrics::InFlight;
use agrimap_tiles::TileCoord;
use std::sync::Arc;
use std::time::Duration;

/// Layers drawn per round: a round's list is read in one query.
const ROUND: usize = 32;

/// How often the list is looked at: about how long after a write its tiles
/// are kept again (a round takes what the drawing takes on top).
const EVERY: Duration = Duration::from_secs(1);

/// The longest wait between rounds that kept nothing.
const LONGEST_WAIT: Duration = Duration::from_secs(64);

impl TileService {
    /// Draws again, and so keeps again, up to `limit` of the coalesced
    /// layers writes made the store forget, lowest zoom first. A layer a
    /// newer write reaches while it is drawn is not kept and stays listed,
    /// for the next call.
    ///
    /// # Errors
    /// When the store fails, or encoding does.
    pub async fn redraw_forgotten(&self, limit: usize) -> Result<Redrawn, CoreError> {
        let keys = self
            .store
            .overviews_to_redraw(&self.options.fingerprint(), limit)
            .await?;
        let mut done = Redrawn::default();
        for key in keys {
            let (Some(layer), Ok(coord)) = (agrimap_model::layer(key.layer), TileCoord::new(key.z, key.x, key.y))
            else {
                continue;
            };
            let drawn = {
                let _in_flight = InFlight::new(&self.metrics.renders_in_flight);
                draw(&self.store, &self.metrics, &[layer], coord, &self.options, None).await?
            };
            self.metrics.tile_layers_redrawn.inc();
            done.drawn += 1;
            done.kept += drawn.kept;
        }
        Ok(done)
    }
}

/// What one call of [`TileService::redraw_forgotten`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Redrawn {
    /// Layers drawn.
    pub drawn: usize,
    /// Of those, layers the store kept (no newer write reached them meanwhile).
    pub kept: usize,
}

/// Starts the background redrawing on the current runtime; it runs until
/// the runtime ends. One layer at a time, so that it takes at most one core
/// from the requests.
///
/// While writes keep reaching the layers faster than they can be drawn (a
/// bulk import), nothing drawn can be kept: the wait then doubles, up to
/// [`LONGEST_WAIT`], rather than draw the same tiles again every second.
pub fn spawn_redrawing(tiles: Arc<TileService>) {
    tokio::spawn(async move {
        let mut wait = EVERY;
        loop {
            tokio::time::sleep(wait).await;
            let backed_off = wait;
            wait = EVERY;
            loop {
                match tiles.redraw_forgotten(ROUND).await {
                    Ok(done) if done.drawn > 0 && done.kept == 0 => {
                        wait = (backed_off * 2).min(LONGEST_WAIT);
                        break;
                    }
                    Ok(done) if done.drawn == ROUND => {}
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(cause = %e, "drawing forgotten tile layers again failed");
                        break;
                    }
                }
            }
        }
    });
}
