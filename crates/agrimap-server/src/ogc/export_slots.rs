//! How many exports run at once: a few in all, fewer per client address.
//!
//! An export is long (a whole layer) and its pace is the client's. Pages are
//! read with a pooled connection that is given back before the page is sent
//! (`agrimap_store::paged`), so a stalled export holds no connection; still,
//! each running export reads a page now and then, and many clients starting
//! exports together would take turns at the store with everyone else. The
//! total is kept well below the smallest pool (the GeoPackage store's 8
//! connections), and one address cannot take more than a couple, so a client
//! that opens exports and never reads them blocks neither the map nor other
//! clients' exports for long. Exports over the limits are refused at once
//! (429 for one address, 503 in all, with `Retry-After`) rather than queued:
//! a queue of stalled exports would hold its clients' sockets just the same.

use crate::error::ApiError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Exports running at once, from all clients.
pub const MAX_EXPORTS: usize = 4;
/// Exports running at once from one address.
pub const MAX_EXPORTS_PER_ADDRESS: usize = 2;

/// The exports running now.
#[derive(Debug, Default)]
pub struct ExportSlots {
    running: Mutex<Running>,
}

#[derive(Debug, Default)]
struct Running {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// A running export's place; dropping it (with the response body) frees it.
#[derive(Debug)]
pub struct ExportSlot {
    slots: Arc<ExportSlots>,
    address: Option<IpAddr>,
}

/// An export refused for now.
#[derive(Debug)]
pub struct Busy(ApiError);

impl IntoResponse for Busy {
    fn into_response(self) -> Response {
        let mut r = self.0.into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
        r
    }
}

impl ExportSlots {
    /// A slot for an export from `address` (none for in-process callers).
    ///
    /// # Errors
    /// [`Busy`] when the address or the service runs as many exports as allowed.
    pub fn acquire(self: &Arc<Self>, address: Option<IpAddr>) -> Result<ExportSlot, Busy> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(ip) = address
            && running.by_address.get(&ip).copied().unwrap_or(0) >= MAX_EXPORTS_PER_ADDRESS
        {
            return Err(Busy(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_exports",
                format!(
                    "at most {MAX_EXPORTS_PER_ADDRESS} exports run at once from one address; \
                     finish one (or read it) before starting another"
                ),
            )));
        }
        if running.total >= MAX_EXPORTS {
            return Err(Busy(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "exports_busy",
                format!("{MAX_EXPORTS} exports are running already; try again shortly"),
            )));
        }
        running.total += 1;
        if let Some(ip) = address {
            *running.by_address.entry(ip).or_default() += 1;
        }
        Ok(ExportSlot {
            slots: self.clone(),
            address,
        })
    }
}

impl Drop for ExportSlot {
    fn drop(&mut self) {
        let mut running = self.slots.running.lock().unwrap_or_else(PoisonError::into_inner);
        running.total = running.total.saturating_sub(1);
        if let Some(ip) = self.address
            && let Some(n) = running.by_address.get_mut(&ip)
        {
            *n -= 1;
            if *n == 0 {
                running.by_address.remove(&ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_address_then_in_all_and_freed_on_drop() {
        let slots = Arc::new(ExportSlots::default());
        let ip = |o: [u8; 4]| Some(IpAddr::from(o));
        let a1 = slots.acquire(ip([10, 0, 0, 1])).expect("first");
        let _a2 = slots.acquire(ip([10, 0, 0, 1])).expect("second");
        let e = slots.acquire(ip([10, 0, 0, 1])).expect_err("third from one address");
        assert_eq!(e.0.status, StatusCode::TOO_MANY_REQUESTS);
        let _b1 = slots.acquire(ip([10, 0, 0, 2])).expect("another address");
        let _none = slots.acquire(None).expect("in-process");
        let e = slots.acquire(ip([10, 0, 0, 3])).expect_err("all in use");
        assert_eq!(e.0.status, StatusCode::SERVICE_UNAVAILABLE);
        drop(a1);
        assert!(slots.acquire(ip([10, 0, 0, 3])).is_ok());
    }
}
