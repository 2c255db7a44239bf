//! Files compiled into the binary: the map page (`web/`) and MapLibre GL JS,
//! which `build.rs` takes from the pinned npm tarball
//! (`web/maplibre.lock.json`) into `OUT_DIR`. The styles are the core's
//! ([`agrimap_core::styles`]).

use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::sync::OnceLock;

/// A static file of the map page.
#[derive(Debug)]
pub struct Asset {
    pub content_type: &'static str,
    pub bytes: &'static [u8],
    /// Its entity tag, worked out from the bytes at the first request.
    tag: OnceLock<String>,
}

impl Asset {
    /// The entity tag of the file, from its bytes: the same binary always
    /// gives the same tag, so a phone that holds the file revalidates it
    /// with a 304 of a few bytes. Weak, since the response may be
    /// compressed on the way.
    pub fn etag(&self) -> &str {
        self.tag.get_or_init(|| {
            let digest = Sha256::digest(self.bytes);
            let hex = digest[..12].iter().fold(String::new(), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            });
            format!("W/\"{hex}\"")
        })
    }
}

/// The version of MapLibre GL JS bundled into the binary.
pub const MAPLIBRE_VERSION: &str = env!("AGRIMAP_MAPLIBRE_VERSION");

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

static ASSETS: [(&str, Asset); 10] = [
    (
        "/",
        Asset {
            content_type: HTML,
            bytes: include_bytes!("../../../web/index.html"),
            tag: OnceLock::new(),
        },
    ),
    (
        "/static/app.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!("../../../web/app.js"),
            tag: OnceLock::new(),
        },
    ),
    (
        "/static/stats.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!("../../../web/stats.js"),
            tag: OnceLock::new(),
        },
    ),
    (
        "/static/app.css",
        Asset {
            content_type: CSS,
            bytes: include_bytes!("../../../web/app.css"),
            tag: OnceLock::new(),
        },
    ),
    (
        "/static/maplibre-gl.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!(concat!(env!("OUT_DIR"), "/maplibre-gl.js")),
            tag: OnceLock::new(),
        },
    ),
    (
        "/static/maplibre-gl.css",
        Asset {
            content_type: CSS,
            bytes: include_bytes!(concat!(env!("OUT_DIR"), "/maplibre-gl.css")),
            tag: OnceLock::new(),
        },
    ),
    (
        "/sw.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!("../../../web/sw.js"),
            tag: OnceLock::new(),
        },
    ),
    (
        "/static/pmtiles.js",
        Asset {
            content_type: JS,
            bytes: include_bytes!(concat!(env!("OUT_DIR"), "/pmtiles.js")),
            tag: OnceLock::new(),
        },
    ),
    (
        "/static/fonts-LICENSE.txt",
        Asset {
            content_type: TEXT,
            bytes: crate::fonts::FONT_LICENCE,
            tag: OnceLock::new(),
        },
    ),
    (
        "/static/maplibre-LICENSE.txt",
        Asset {
            content_type: TEXT,
            bytes: include_bytes!(concat!(env!("OUT_DIR"), "/maplibre-LICENSE.txt")),
            tag: OnceLock::new(),
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
