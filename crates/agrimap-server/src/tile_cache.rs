//! The in-memory cache of rendered tiles.
//!
//! Keys carry the change counter of every layer in the tile, so a write to a
//! layer makes its old tiles unreachable at once (they age out of the cache
//! under its byte budget); nothing has to be purged explicitly.

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
}

/// A rendered tile: gzip-compressed MVT, or empty when nothing is in it.
pub type TileBody = Bytes;

#[derive(Clone)]
struct ByteWeight;

impl Weighter<TileKey, TileBody> for ByteWeight {
    fn weight(&self, key: &TileKey, body: &TileBody) -> u64 {
        // Count the key too, so empty tiles are not free.
        (body.len() + key.layers.len() + 64) as u64
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

    pub fn get(&self, key: &TileKey) -> Option<TileBody> {
        self.cache.get(key)
    }

    pub fn insert(&self, key: TileKey, body: TileBody) {
        self.cache.insert(key, body);
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

    fn key(x: u32, version: u64) -> TileKey {
        TileKey {
            layers: "crop".into(),
            z: 14,
            x,
            y: 7,
            versions: vec![version],
        }
    }

    #[test]
    fn stays_within_its_byte_budget_and_keys_on_versions() {
        let cache = TileCache::new(100_000);
        for x in 0..1_000 {
            cache.insert(key(x, 1), Bytes::from(vec![0u8; 1_000]));
        }
        assert!(cache.weight() <= 100_000, "{}", cache.weight());
        cache.insert(key(5_000, 1), Bytes::from_static(b"tile"));
        assert_eq!(cache.get(&key(5_000, 1)).as_deref(), Some(&b"tile"[..]));
        assert_eq!(cache.get(&key(5_000, 2)), None, "a newer layer version must miss");
    }
}
