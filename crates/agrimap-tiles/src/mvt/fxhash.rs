//! A fast non-cryptographic hasher for the per-layer key and value tables.
//!
//! The standard SipHash resists hash flooding by untrusted keys; these keys
//! are field names and attribute values from agrimap's own store, looked up
//! once per attribute of every feature, and SipHash was a visible share of
//! tile encoding time. This is the multiply-rotate hash rustc uses (FxHash).

use std::hash::{BuildHasherDefault, Hasher};

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

pub(crate) type FxBuildHasher = BuildHasherDefault<FxHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn different_strings_hash_differently() {
        let h = FxBuildHasher::default();
        let hashes: std::collections::HashSet<u64> =
            ["", "a", "b", "rice", "mango", "rice ", "durian", "0123456789abcdef"]
                .iter()
                .map(|s| h.hash_one(s))
                .collect();
        assert_eq!(hashes.len(), 8);
        assert_eq!(h.hash_one("rice"), h.hash_one("rice"));
    }
}
