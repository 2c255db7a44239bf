//! `/fonts/{fontstack}/{start}-{end}.pbf`: the SDF glyphs of map labels.
//!
//! The glyph ranges are rendered at build time from Noto Sans (`build/glyphs.rs`)
//! and compiled into the binary, so labels need nothing from the internet and
//! no file is ever opened on behalf of a request: the font stack and the range
//! are looked up in a static table, and anything else is refused with a JSON
//! error. MapLibre joins a layer's `text-font` list with commas; the first font
//! of that list that agrimap has answers the whole range. A range the font has
//! no glyph in is answered with an empty glyph set (a zero-length protobuf
//! message), which MapLibre takes as "nothing to draw" rather than an error.

use crate::Route;
use crate::auth::Need;
use crate::error::ApiError;
use crate::extract::ApiPath;
use agrimap_core::echo;
use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The first code point of a 256-code-point range, and the range's glyphs PBF.
pub type GlyphRange = (u32, &'static [u8]);
/// A font-stack name and the ranges it has glyphs in.
pub type FontStack = (&'static str, &'static [GlyphRange]);

include!(concat!(env!("OUT_DIR"), "/glyphs.rs"));

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![Route::get("/fonts/{fontstack}/{range}", Need::Anyone, glyphs)]
}

/// The licence of the bundled font (SIL Open Font License).
pub const FONT_LICENCE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/fonts-LICENSE.txt"));

/// Font-stack names that styles may use in `text-font`.
#[must_use]
pub fn font_names() -> Vec<&'static str> {
    FONT_STACKS.iter().map(|(name, _)| *name).collect()
}

/// The glyphs PBF of one 256-code-point range of a font, `None` when the font
/// has no glyph in it; `Err` when there is no such font.
///
/// # Errors
/// When no font of `fontstack` (a comma-separated list) is bundled.
pub fn glyph_range(fontstack: &str, start: u32) -> Result<Option<&'static [u8]>, ApiError> {
    let ranges = fontstack
        .split(',')
        .find_map(|name| {
            FONT_STACKS
                .iter()
                .find(|(known, _)| *known == name.trim())
                .map(|(_, ranges)| *ranges)
        })
        .ok_or_else(|| {
            ApiError::not_found(
                "unknown_font",
                format!("no font '{}'; fonts: {}", echo(fontstack, 64), font_names().join(", ")),
            )
        })?;
    Ok(ranges.iter().find(|(first, _)| *first == start).map(|(_, pbf)| *pbf))
}

/// The first code point of `{start}-{end}.pbf`, where `start` is a multiple
/// of 256 below 65536 and `end` is `start + 255`.
fn parse_range(file: &str) -> Option<u32> {
    let (start, end) = file.strip_suffix(".pbf")?.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(start) || !digits(end) {
        return None;
    }
    let (start, end): (u32, u32) = (start.parse().ok()?, end.parse().ok()?);
    (start % 256 == 0 && start <= 0xFF00 && end == start + 255).then_some(start)
}

/// `GET /fonts/{fontstack}/{range}.pbf`
pub(crate) async fn glyphs(ApiPath((fontstack, file)): ApiPath<(String, String)>) -> Result<Response, ApiError> {
    let start = parse_range(&file).ok_or_else(|| {
        ApiError::bad_request(
            "bad_glyph_range",
            format!(
                "'{}' is not a glyph range: expected {{start}}-{{end}}.pbf with start a multiple of 256 below 65536 and end = start + 255, e.g. 0-255.pbf",
                echo(&file, 64)
            ),
        )
    })?;
    let pbf = glyph_range(&fontstack, start)?.unwrap_or_default();
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-protobuf"),
            // The glyphs change only with a new binary.
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        pbf,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_whole_blocks_of_256() {
        assert_eq!(parse_range("0-255.pbf"), Some(0));
        assert_eq!(parse_range("7680-7935.pbf"), Some(7680));
        assert_eq!(parse_range("65280-65535.pbf"), Some(65280));
        for bad in [
            "0-256.pbf",
            "1-256.pbf",
            "65536-65791.pbf",
            "0-255",
            "-0-255.pbf",
            "+0-255.pbf",
            "0-255.pbf.pbf",
            "../0-255.pbf",
            "00000000000-255.pbf",
        ] {
            assert_eq!(parse_range(bad), None, "{bad}");
        }
    }
}
