//! `/fonts/{fontstack}/{range}.pbf`: the glyphs behind the map's labels, served
//! by agrimap itself, for every letter of the demo province's place, commune and
//! river names; anything that is not a bundled font and range is refused in JSON.

use agrimap_suite::TestServer;
use pbf_font_tools::Glyphs;
use pbf_font_tools::prost::Message as _;
use std::collections::{BTreeMap, BTreeSet};
use unicode_normalization::UnicodeNormalization as _;

/// Every character of the names the styles label: places (towns, commune centres,
/// hamlets), rivers and canals, and the communes themselves.
fn label_characters(server: &TestServer) -> BTreeSet<char> {
    let mut chars = BTreeSet::new();
    for layer in ["places", "water", "admin_commune"] {
        let r = server.get(&format!("/ogc/collections/{layer}/items?limit=10000&f=json"), &[]);
        assert_eq!(r.status, 200, "{layer}");
        for f in r.json()["features"].as_array().expect("features") {
            if let Some(name) = f["properties"]["name"].as_str() {
                chars.extend(name.chars().filter(|c| !c.is_whitespace()));
            }
        }
    }
    chars
}

#[test]
fn every_letter_of_the_demo_names_has_a_glyph_in_the_style_fonts() {
    let server = TestServer::demo();
    let chars = label_characters(&server);
    for expected in "Mỹ Xương Tân Thuận Tây ơ ư ạ ả ộ Đ".chars().filter(|c| *c != ' ') {
        assert!(chars.contains(&expected), "the demo names no longer use {expected:?}");
    }
    let style = server.get("/styles/farmer.json", &[]).json();
    let glyphs_url = style["glyphs"].as_str().expect("the style names its glyphs");
    let mut fonts = BTreeSet::new();
    for layer in style["layers"].as_array().expect("layers") {
        if let Some(list) = layer["layout"]["text-font"].as_array() {
            fonts.insert(
                list.iter()
                    .map(|f| f.as_str().expect("font name"))
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
    }
    assert!(!fonts.is_empty(), "the style labels nothing");

    let mut by_range: BTreeMap<u32, Vec<char>> = BTreeMap::new();
    for c in &chars {
        by_range.entry(u32::from(*c) & !0xFF).or_default().push(*c);
    }
    for font in &fonts {
        for (start, wanted) in &by_range {
            let url = glyphs_url
                .replace("{fontstack}", &font.replace(' ', "%20"))
                .replace("{range}", &format!("{start}-{}", start + 255));
            let path = url.strip_prefix(&server.base).expect("glyphs on this server");
            let r = server.get(path, &[("accept-encoding", "gzip")]);
            assert_eq!(r.status, 200, "{path}");
            assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
            assert_eq!(
                r.header("content-encoding"),
                Some("gzip"),
                "glyphs are compressed on the wire"
            );
            let glyphs = Glyphs::decode(r.decoded_body().as_slice()).expect("a glyphs PBF");
            let have: BTreeSet<u32> = glyphs
                .stacks
                .iter()
                .flat_map(|s| s.glyphs.iter().filter(|g| g.bitmap.is_some()).map(|g| g.id))
                .collect();
            for c in wanted {
                assert!(have.contains(&u32::from(*c)), "{font}: no glyph for {c:?} in {path}");
            }
        }
    }
}

/// Every Vietnamese letter, lower and upper case, with each tone mark.
fn vietnamese_letters() -> BTreeSet<char> {
    let vowels = "aăâeêioôơuưy";
    let tones = ["", "\u{300}", "\u{301}", "\u{303}", "\u{309}", "\u{323}"];
    let mut letters: BTreeSet<char> = "bcdđghklmnpqrstvx".chars().collect();
    for vowel in vowels.chars() {
        for tone in tones {
            // Composed: every toned vowel has a precomposed code point.
            let composed: String = format!("{vowel}{tone}").nfc().collect();
            letters.extend(composed.chars());
        }
    }
    let upper: Vec<char> = letters.iter().flat_map(|c| c.to_uppercase()).collect();
    letters.extend(upper);
    letters
}

/// The code points that have a drawn glyph in one range of Noto Sans Regular.
fn glyphs_in(server: &TestServer, start: u32) -> BTreeSet<u32> {
    let r = server.get(
        &format!("/fonts/Noto%20Sans%20Regular/{start}-{}.pbf", start + 255),
        &[],
    );
    assert_eq!(r.status, 200);
    Glyphs::decode(r.body.as_slice())
        .expect("PBF")
        .stacks
        .iter()
        .flat_map(|s| s.glyphs.iter().filter(|g| g.bitmap.is_some()).map(|g| g.id))
        .collect()
}

#[test]
fn the_latin_extended_ranges_carry_exactly_the_vietnamese_letters() {
    let server = TestServer::demo();
    let letters = vietnamese_letters();
    assert_eq!(
        letters.len(),
        2 * (17 + 12 * 6),
        "17 consonants and 12 vowels with 6 tones"
    );
    for start in [0x100, 0x1E00] {
        let wanted: BTreeSet<u32> = letters
            .iter()
            .map(|c| u32::from(*c))
            .filter(|cp| (start..start + 256).contains(cp))
            .collect();
        assert!(!wanted.is_empty());
        // Nothing more: the other letters there would only weigh on a phone's first view.
        assert_eq!(glyphs_in(&server, start), wanted, "range {start}");
    }
    // Basic Latin and Latin-1 stay whole (digits, punctuation, À…ý).
    let latin = glyphs_in(&server, 0);
    for c in "09AZaz.,-()°ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúý".chars() {
        assert!(latin.contains(&u32::from(c)), "{c:?}");
    }
}

#[test]
fn a_range_without_glyphs_is_empty_not_an_error() {
    let server = TestServer::demo();
    // Hangul syllables: not in Noto Sans.
    let r = server.get("/fonts/Noto%20Sans%20Regular/44032-44287.pbf", &[]);
    assert_eq!(r.status, 200);
    assert!(
        Glyphs::decode(r.body.as_slice())
            .expect("PBF")
            .stacks
            .iter()
            .all(|s| s.glyphs.is_empty())
    );
}

#[test]
fn fonts_and_ranges_that_are_not_bundled_are_refused_in_json() {
    let server = TestServer::demo();
    for (path, status, code) in [
        ("/fonts/Arial%20Regular/0-255.pbf", 404, "unknown_font"),
        ("/fonts/..%2F..%2F..%2Fetc%2Fpasswd/0-255.pbf", 404, "unknown_font"),
        (
            "/fonts/Noto%20Sans%20Regular/..%2F..%2Fetc%2Fpasswd",
            400,
            "bad_glyph_range",
        ),
        ("/fonts/Noto%20Sans%20Regular/0-256.pbf", 400, "bad_glyph_range"),
        ("/fonts/Noto%20Sans%20Regular/65536-65791.pbf", 400, "bad_glyph_range"),
        ("/fonts/Noto%20Sans%20Regular/0-255", 400, "bad_glyph_range"),
        ("/fonts/../../etc/passwd", 404, "not_found"),
        ("/fonts/Noto%20Sans%20Regular/../../../Cargo.toml", 404, "not_found"),
    ] {
        let r = server.get(path, &[]);
        assert_eq!(r.status, status, "{path}");
        assert_eq!(r.error_code(), code, "{path}");
    }
}
