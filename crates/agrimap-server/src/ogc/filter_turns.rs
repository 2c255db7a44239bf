//! How many reads with a client's `filter` run at once.
//!
//! A filter is the one part of a request whose cost the client chooses:
//! a polygon's vertices, several spatial conditions, a `LIKE` over a whole
//! layer. Each such read holds a store connection while it runs, so a
//! handful at once, all slow, could take every connection of the pool, and
//! then everything that needs one (a token's check, `/health`, the map's
//! tiles) waited out the pool and failed. Filtered reads take turns: at
//! most half the pool's connections at once, the rest left for everyone
//! else. A read that finds no turn within a few seconds is refused (503
//! `filters_busy`, with `Retry-After`) rather than queued for longer.

use crate::error::ApiError;
use axum::http::StatusCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a filtered read waits for its turn before it is refused.
const WAIT: Duration = Duration::from_secs(10);

/// The turns of filtered reads.
#[derive(Debug)]
pub struct FilterTurns {
    turns: Arc<Semaphore>,
    size: usize,
    wait: Duration,
}

impl FilterTurns {
    /// Turns for a store whose pool holds `pool_size` connections: half of them.
    #[must_use]
    pub fn for_pool(pool_size: usize) -> Self {
        let size = (pool_size / 2).max(1);
        Self {
            turns: Arc::new(Semaphore::new(size)),
            size,
            wait: WAIT,
        }
    }

    /// How many filtered reads may run at once.
    #[must_use]
    pub fn size(&self) -> usize {
        self.size
    }

    /// A turn for one filtered read, held until it is dropped.
    ///
    /// # Errors
    /// `filters_busy` (503) when no turn comes free within a few seconds.
    pub async fn take(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        match tokio::time::timeout(self.wait, self.turns.clone().acquire_owned()).await {
            Ok(Ok(turn)) => Ok(turn),
            _ => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "filters_busy",
                format!(
                    "{} reads with a filter are running already; try again shortly",
                    self.size
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn half_the_pool_reads_with_filters_and_the_next_waits_then_is_refused() {
        let turns = FilterTurns {
            wait: Duration::from_millis(50),
            ..FilterTurns::for_pool(8)
        };
        assert_eq!((turns.size(), FilterTurns::for_pool(1).size()), (4, 1));
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(turns.take().await.expect("a turn"));
        }
        let refused = turns.take().await.expect_err("no turn left");
        assert_eq!(refused.code, "filters_busy");
        held.pop();
        assert!(turns.take().await.is_ok());
    }
}
