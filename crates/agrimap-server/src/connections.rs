//! How many connections one address may hold open at once.
//!
//! Each connection takes a file descriptor for as long as it lives; without
//! a bound, a few hundred idle sockets from one address use up the process's
//! descriptors and nobody else can connect. A connection takes a [`Slot`] of
//! its address when accepted and gives it back when the slot is dropped,
//! however the connection ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Open connections by address, up to a bound each.
#[derive(Debug)]
pub struct PerAddress {
    limit: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One open connection of an address; dropping it closes the account.
#[derive(Debug)]
pub struct Slot {
    owner: Arc<PerAddress>,
    address: IpAddr,
}

impl PerAddress {
    /// At most `limit` connections per address (0: no bound).
    #[must_use]
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            open: Mutex::default(),
        })
    }

    /// A slot for one more connection from `address`, or `None` when it
    /// already holds its share.
    #[must_use]
    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(address).or_default();
        if self.limit != 0 && *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(Slot {
            owner: self.clone(),
            address,
        })
    }

    /// Connections `address` holds now.
    #[must_use]
    pub fn open(&self, address: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&address).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.owner.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            // Forgotten at zero, so the map holds only addresses connected now.
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}
