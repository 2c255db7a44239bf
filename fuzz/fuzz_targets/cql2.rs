//! CQL2 text filters (`/ogc/collections/{id}/items?filter=`), read for every
//! catalog layer and both audiences.
//!
//! Beyond not panicking: a filter the parser accepts passes the stores' own
//! validation, and whatever the public may filter on, signed-in readers may
//! too, with the same result.

#![no_main]

use agrimap_model::{Audience, catalog, cql2};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for layer in catalog() {
        let public = cql2::parse(text, layer, Audience::Public);
        let full = cql2::parse(text, layer, Audience::Full);
        for (audience, parsed) in [(Audience::Public, &public), (Audience::Full, &full)] {
            match parsed {
                Ok(filter) => {
                    if let Err(e) = filter.validate(layer, audience) {
                        panic!(
                            "{text:?} on {} ({audience:?}) parses but fails validation: {e}",
                            layer.id
                        );
                    }
                }
                Err(e) => assert!(e.position >= 1, "{text:?}: error at position 0: {e}"),
            }
        }
        if let Ok(filter) = &public {
            assert_eq!(
                full.as_ref().ok(),
                Some(filter),
                "{text:?} on {}: public reads it, full does not",
                layer.id
            );
        }
    }
});
