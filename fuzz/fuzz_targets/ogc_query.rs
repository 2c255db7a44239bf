//! The query string of `/ogc/collections/{id}/items`, decoded as axum does,
//! then every parameter read as the items handler reads it (all but
//! `commune`, which asks the store), for every catalog layer and both
//! audiences.

#![no_main]

use agrimap_core::features::params::{self, MAX_LIMIT, Params};
use agrimap_core::features::time;
use agrimap_model::{Audience, Filter, catalog};
use agrimap_server::ogc::request::format;
use axum::extract::Query;
use axum::http::{HeaderMap, Uri};
use libfuzzer_sys::fuzz_target;

/// The parameters the items resource takes.
const ITEMS_PARAMS: &[&str] = &[
    "bbox",
    "datetime",
    "commune",
    "filter",
    "filter-lang",
    "filter-crs",
    "properties",
    "limit",
    "offset",
    "f",
];

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(uri) = format!("/ogc/collections/crop/items?{query}").parse::<Uri>() else {
        return;
    };
    let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(&uri) else {
        return;
    };
    let Ok(params) = Params::new(pairs) else {
        return;
    };
    let _ = params.only(ITEMS_PARAMS);
    let _ = format(&params, &HeaderMap::new());
    if let Ok(limit) = params::limit(&params) {
        assert!((1..=MAX_LIMIT).contains(&limit), "{query:?}: limit {limit}");
    }
    let _ = params::offset(&params);
    if let Ok(Some(rects)) = params::bbox(&params) {
        assert!(matches!(rects.len(), 1 | 2), "{query:?}: {rects:?}");
        for r in rects {
            assert!(r.min().x <= r.max().x && r.min().y <= r.max().y, "{query:?}: {r:?}");
        }
    }
    let range = params.get("datetime").map(time::parse_datetime);
    if let Some(Ok(range)) = &range
        && let (Some(start), Some(end)) = (range.start, range.end)
    {
        // An interval never ends before it starts; an instant with a fraction
        // of a second lies between two whole seconds (and selects nothing).
        let instant = params.get("datetime").is_some_and(|d| !d.contains('/'));
        assert!(
            start <= end || (instant && start == end + 1),
            "{query:?}: datetime from {start} to {end}"
        );
    }
    for layer in catalog() {
        for audience in [Audience::Public, Audience::Full] {
            if let Ok(Some(fields)) = params::properties(&params, layer, audience) {
                assert!(
                    fields
                        .iter()
                        .all(|&i| i < layer.fields.len() && audience.may_read(layer.fields[i].access)),
                    "{query:?}: properties {fields:?} of {}",
                    layer.id
                );
            }
            if let (Some(Ok(range)), Some(temporal)) = (&range, time::temporal(layer)) {
                let filter: Option<Filter> = time::filter(layer, temporal, *range);
                if let Some(f) = filter {
                    f.validate(layer, audience)
                        .unwrap_or_else(|e| panic!("{query:?}: datetime filter on {} fails: {e}", layer.id));
                }
            }
            if let Ok(Some(f)) = params::filter(&params, layer, audience) {
                f.validate(layer, audience)
                    .unwrap_or_else(|e| panic!("{query:?}: filter on {} fails: {e}", layer.id));
            }
        }
    }
});
