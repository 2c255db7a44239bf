//! CQL2 filters parsed off the async runtime.
//!
//! Reading a filter checks its geometries (geo's validation, which compares
//! every edge of a ring with the others), so a polygon of a thousand or more
//! vertices takes a core for a noticeable time. On one of the runtime's few
//! worker threads that stalled every other request: six such filters at once
//! made `/health` time out. The parse runs on the blocking pool instead.

use super::params::{self, Params};
use crate::error::ApiError;
use agrimap_model::{Audience, Filter, LayerDef};
use axum::http::StatusCode;

/// The parameters [`params::filter`] reads.
const FILTER_PARAMS: [&str; 3] = ["filter", "filter-lang", "filter-crs"];

/// [`params::filter`], on the blocking pool.
pub(super) async fn filter(
    params: &Params,
    layer: &'static LayerDef,
    audience: Audience,
) -> Result<Option<Filter>, ApiError> {
    if params.raw("filter").is_none() {
        // Nothing costly: answer (or refuse `filter-lang`) right here.
        return params::filter(params, layer, audience);
    }
    let pairs = FILTER_PARAMS
        .iter()
        .filter_map(|&name| params.raw(name).map(|v| (name.to_owned(), v.to_owned())))
        .collect();
    let own = Params::new(pairs)?;
    tokio::task::spawn_blocking(move || params::filter(&own, layer, audience))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
}
