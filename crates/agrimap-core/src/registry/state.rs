//! What the registries keep in memory: the product views the public page
//! renders (a scan is a hot path: a printed label may be scanned by a whole
//! market), and the scans counted since they were last written.
//!
//! A view is used while the registry has not been written through this
//! instance, for at most [`VIEW_TTL`] (writes through another instance, and
//! the day a code lapses, show within that time) and only on the day it was
//! made. Scans are added up in memory and written every [`SCAN_FLUSH`] (and
//! before they are read), one row per product and day, so that a view costs
//! no write.

use super::page::ProductView;
use crate::error::CoreError;
use agrimap_store::Store;
use quick_cache::sync::Cache;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

/// Longest a product view is used without reading the store again.
pub const VIEW_TTL: Duration = Duration::from_secs(30);
/// How often the scans counted in memory are written.
pub const SCAN_FLUSH: Duration = Duration::from_secs(5);
/// Product views kept (a province registers a few thousand products).
const VIEWS: usize = 20_000;
/// QR images kept: a symbol depends on its URL alone, so it never goes stale.
const IMAGES: usize = 4_000;

#[derive(Clone)]
struct CachedView {
    made: Instant,
    generation: u64,
    view: Arc<ProductView>,
}

/// The registries' state in memory.
pub struct RegistryState {
    views: Cache<String, CachedView>,
    /// QR images by (URL, format).
    images: Cache<(String, &'static str), bytes::Bytes>,
    /// Bumped by every registry write through this instance.
    generation: AtomicU64,
    pending: Mutex<HashMap<(String, String), u64>>,
    flusher: AtomicBool,
}

impl Default for RegistryState {
    fn default() -> Self {
        Self {
            views: Cache::new(VIEWS),
            images: Cache::new(IMAGES),
            generation: AtomicU64::new(0),
            pending: Mutex::default(),
            flusher: AtomicBool::new(false),
        }
    }
}

impl std::fmt::Debug for RegistryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryState")
            .field("views", &self.views.len())
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RegistryState {
    /// Every view made before is stale.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// A view of `id` still good on `today`.
    #[must_use]
    pub fn view(&self, id: &str, today: &str) -> Option<Arc<ProductView>> {
        let cached = self.views.get(id)?;
        (cached.generation == self.generation.load(Ordering::Acquire)
            && cached.made.elapsed() < VIEW_TTL
            && cached.view.today == today)
            .then_some(cached.view)
    }

    /// Keeps a view made while the registry was at `generation`.
    pub fn keep(&self, view: Arc<ProductView>, generation: u64) {
        self.views.insert(
            view.product.id.clone(),
            CachedView {
                made: Instant::now(),
                generation,
                view,
            },
        );
    }

    /// The image of `url` in `format`, made by `make` when not kept.
    ///
    /// # Errors
    /// `make`'s.
    pub fn image(
        &self,
        url: &str,
        format: &'static str,
        make: impl FnOnce(&str) -> Result<Vec<u8>, CoreError>,
    ) -> Result<bytes::Bytes, CoreError> {
        let key = (url.to_owned(), format);
        if let Some(image) = self.images.get(&key) {
            return Ok(image);
        }
        let image = bytes::Bytes::from(make(url)?);
        self.images.insert(key, image.clone());
        Ok(image)
    }

    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), u64>> {
        // A panic while adding one cannot leave the map inconsistent.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one scan.
    pub fn count(&self, product: &str, day: &str) {
        *self.pending().entry((product.to_owned(), day.to_owned())).or_default() += 1;
    }

    /// Writes the scans counted so far; what cannot be written is kept for the next time.
    ///
    /// # Errors
    /// The store's.
    pub async fn flush(&self, store: &dyn Store) -> Result<(), CoreError> {
        let taken = std::mem::take(&mut *self.pending());
        let mut failed = None;
        for ((product, day), n) in taken {
            if failed.is_none()
                && let Err(e) = store.add_scans(&product, &day, n).await
            {
                failed = Some(e);
            }
            if failed.is_some() {
                *self.pending().entry((product, day)).or_default() += n;
            }
        }
        failed.map_or(Ok(()), |e| Err(e.into()))
    }

    /// Starts the task that writes the scans every [`SCAN_FLUSH`], once; it
    /// ends when the state is dropped.
    pub fn start_flusher(self: &Arc<Self>, store: &Arc<dyn Store>) {
        if self.flusher.swap(true, Ordering::AcqRel) || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let state: Weak<Self> = Arc::downgrade(self);
        let store = Arc::downgrade(store);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(SCAN_FLUSH).await;
                let (Some(state), Some(store)) = (state.upgrade(), store.upgrade()) else {
                    break;
                };
                if let Err(e) = state.flush(store.as_ref()).await {
                    tracing::warn!(cause = %e, "scans not written yet");
                }
            }
        });
    }
}
