//! Files compiled into the binary: the map page (`web/`) and MapLibre GL JS,
//! which `build.rs` takes from the pinned npm tarball
//! (`web/maplibre.lock.json`) into `OUT_DIR`. The styles are the core's
//! ([`agrimap_core::styles`]).

/// A static file of the map page.
#[derive(Debug)]
pub struct Asset {
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

/// The version of MapLibre GL JS bundled into the binary.
pub const MAPLIBRE_VERSION: &str = env!("AGRIMAP_MAPLIBRE_VERSION");

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

static ASSETS: &[(&str, Asset)] = &[
    (
        "/",
        Asset {
            content_type: HTML,
            bytes: include_bytes!("../../../web/index.html"),
        },
    ),
    (
        "/static/app.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!("../../../web/app.js"),
        },
    ),
    (
        "/static/stats.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!("../../../web/stats.js"),
        },
    ),
    (
        "/static/app.css",
        Asset {
            content_type: CSS,
            bytes: include_bytes!("../../../web/app.css"),
        },
    ),
    (
        "/static/maplibre-gl.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!(concat!(env!("OUT_DIR"), "/maplibre-gl.js")),
        },
    ),
    (
        "/static/maplibre-gl.css",
        Asset {
            content_type: CSS,
            bytes: include_bytes!(concat!(env!("OUT_DIR"), "/maplibre-gl.css")),
        },
    ),
    (
        "/sw.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!("../../../web/sw.js"),
        },
    ),
    (
        "/static/pmtiles.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!(concat!(env!("OUT_DIR"), "/pmtiles.js")),
        },
    ),
    (
        "/static/fonts-LICENSE.txt",
        Asset {
            content_type: TEXT,
            bytes: crate::fonts::FONT_LICENCE,
        },
    ),
    (
        "/static/maplibre-LICENSE.txt",
        Asset {
            content_type: TEXT,
            bytes: include_bytes!(concat!(env!("OUT_DIR"), "/maplibre-LICENSE.txt")),
        },
    ),
];

/// Static files of the map page by request path: "/" (index.html), "/static/app.js", "/static/app.css",
/// "/static/maplibre-gl.js", "/static/maplibre-gl.css", "/static/maplibre-LICENSE.txt",
/// "/static/fonts-LICENSE.txt" (the licence of the label font), "/static/pmtiles.js" (the PMTiles
/// reader for offline packs) and "/sw.js" (the service worker that keeps the page for offline use).
#[must_use]
pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|(p, _)| *p == path).map(|(_, a)| a)
}
