//! The in-memory cache of rendered tiles.
//!
//! Keys carry the change counter of every layer in the tile, so a write to a
//! layer makes its old tiles unreachable at once (they age out of the cache
//! under its byte budget); nothing has to be purged explicitly.
//!
//! Each tile is kept twice, gzip-compressed and plain, so that a cache hit is
//! a copy of bytes whatever the client accepts. Concurrent misses for one key
//! render the tile once: the others wait for the first and share its answer.

use bytes::Bytes;
use quick_cache::{Weighter, sync::Cache};

/// Identity of one rendered tile at given layer versions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TileKey {
    /// Canonical comma-joined layer list.
    pub layers: String,
    pub z: u8,
    pub x: u32,
    pub y: u32,
    pub versions: Vec<u64>,
    /// The instant the tile shows its layers at; `None`: now.
    pub as_of: Option<agrimap_model::UtcTime>,
}

/// A rendered tile; both bodies are empty when nothing is in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TileBody {
    /// The MVT, gzip-compressed.
    pub gzip: Bytes,
    /// The MVT as encoded, for clients that refuse gzip.
    pub plain: Bytes,
}

impl TileBody {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.plain.is_empty()
    }
}

#[derive(Clone)]
struct ByteWeight;

impl Weighter<TileKey, TileBody> for ByteWeight {
    fn weight(&self, key: &TileKey, body: &TileBody) -> u64 {
        // Count the key too, so empty tiles are not free.
        (body.gzip.len() + body.plain.len() + key.layers.len() + 64) as u64
    }
}

/// A cache of rendered tiles bounded by total size.
pub struct TileCache {
    cache: Cache<TileKey, TileBody, ByteWeight>,
}

impl TileCache {
    /// A cache holding at most about `max_bytes` of tiles.
    #[must_use]
    pub fn new(max_bytes: u64) -> Self {
        // quick_cache wants an estimate of the item count to size its tables.
        let estimated_items = usize::try_from((max_bytes / 8_192).max(64)).unwrap_or(usize::MAX);
        Self {
            cache: Cache::with_weighter(estimated_items, max_bytes, ByteWeight),
        }
    }

    #[must_use]
    pub fn get(&self, key: &TileKey) -> Option<TileBody> {
        self.cache.get(key)
    }

    pub fn insert(&self, key: TileKey, body: TileBody) {
        self.cache.insert(key, body);
    }

    /// The cached tile, or the one `render` makes, rendered once however many
    /// requests miss at the same time. Errors are not cached.
    ///
    /// # Errors
    /// Those of `render`.
    pub async fn get_or_render<E>(
        &self,
        key: &TileKey,
        render: impl Future<Output = Result<TileBody, E>>,
    ) -> Result<TileBody, E> {
        self.cache.get_or_insert_async(key, render).await
    }

    /// Bytes held now.
    #[must_use]
    pub fn weight(&self) -> u64 {
        self.cache.weight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(bytes: &'static [u8]) -> TileBody {
        TileBody {
            gzip: Bytes::from_static(bytes),
            plain: Bytes::from_static(bytes),
        }
    }

    fn key(x: u32, version: u64) -> TileKey {
        TileKey {
            layers: "crop".into(),
            z: 14,
            x,
            y: 7,
            versions: vec![version],
            as_of: None,
        }
    }

    #[test]
    fn stays_within_its_byte_budget_and_keys_on_versions() {
        let cache = TileCache::new(100_000);
        for x in 0..1_000 {
            let kb = Bytes::from(vec![0u8; 500]);
            cache.insert(
                key(x, 1),
                TileBody {
                    gzip: kb.clone(),
                    plain: kb,
                },
            );
        }
        assert!(cache.weight() <= 100_000, "{}", cache.weight());
        cache.insert(key(5_000, 1), body(b"tile"));
        assert_eq!(cache.get(&key(5_000, 1)), Some(body(b"tile")));
        assert_eq!(cache.get(&key(5_000, 2)), None, "a newer layer version must miss");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_render_once() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let cache = Arc::new(TileCache::new(100_000));
        let renders = Arc::new(AtomicUsize::new(0));
        let requests = (0..8).map(|_| {
            let (cache, renders) = (cache.clone(), renders.clone());
            tokio::spawn(async move {
                cache
                    .get_or_render(&key(1, 1), async {
                        renders.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        Ok::<_, ()>(body(b"tile"))
                    })
                    .await
            })
        });
        for answer in futures::future::join_all(requests).await {
            assert_eq!(answer.expect("task").expect("render"), body(b"tile"));
        }
        assert_eq!(renders.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_render_is_not_cached() {
        let cache = TileCache::new(100_000);
        let k = key(2, 1);
        let failed = cache.get_or_render(&k, async { Err::<TileBody, _>("database down") });
        assert_eq!(failed.await, Err("database down"));
        let again = cache.get_or_render(&k, async { Ok::<_, &str>(body(b"tile")) });
        assert_eq!(again.await, Ok(body(b"tile")));
    }
}
