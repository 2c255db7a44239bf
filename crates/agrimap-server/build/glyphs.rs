//! Renders the glyphs of the map labels at build time.
//!
//! MapLibre draws text from signed-distance-field glyphs, fetched in ranges of
//! 256 code points as protobuf (`/fonts/{fontstack}/{start}-{end}.pbf`). The
//! Noto Sans TrueType files come from the npm package pinned in
//! `web/fonts.lock.json` (every Vietnamese letter, with its stacked tone marks,
//! is a precomposed glyph of that font); `pbf_font_tools` renders each range
//! through FreeType the way node-fontnik does (24 px, radius 8, cutoff 0.25).
//! The two Latin Extended ranges keep only the letters Vietnamese writes with
//! (`in_vietnamese_subset`): they are a third of the glyph bytes of the first
//! view on a phone, and the other letters there serve no name of a province.
//! Only ranges holding at least one glyph are written, to
//! `OUT_DIR/glyphs/<n>/<start>.pbf`, with `OUT_DIR/glyphs.rs` listing them for
//! `include!` in `src/fonts.rs`. A stamp of the pin and the rendering settings
//! lets later builds skip all of it.

use super::{Lock, write_atomically};
use flate2::read::GzDecoder;
use pbf_font_tools::prost::Message as _;
use pbf_font_tools::{Glyphs, freetype, glyph_range_for_face};
use std::fmt::Write as _;
use std::fs;
use std::io::Read as _;
use std::path::Path;

/// (TrueType file inside the package, the font-stack name styles use for it).
const FACES: &[(&str, &str)] = &[
    ("package/400Regular/NotoSans_400Regular.ttf", "Noto Sans Regular"),
    ("package/700Bold/NotoSans_700Bold.ttf", "Noto Sans Bold"),
];
/// The font's licence, served beside the glyphs.
const LICENCE: &str = "package/LICENSE_FONT";
/// node-fontnik's settings, which MapLibre's text shaping assumes.
const SIZE_PX: usize = 24;
const RADIUS: usize = 8;
const CUTOFF: f64 = 0.25;
const STAMP: &str = "glyphs.stamp";
/// Bumped when the generated listing changes shape, so that a cached one is rewritten.
const LISTING_FORMAT: u32 = 2;

/// The letters of Latin Extended-A and -B that Vietnamese uses:
/// Ă ă Đ đ Ĩ ĩ Ũ ũ Ơ ơ Ư ư.
const VIETNAMESE_EXTENDED_AB: &[u32] = &[
    0x102, 0x103, 0x110, 0x111, 0x128, 0x129, 0x168, 0x169, 0x1A0, 0x1A1, 0x1AF, 0x1B0,
];

/// Whether a code point's glyph is bundled: everything outside the Latin
/// Extended ranges, and inside them only Vietnamese letters (in Latin Extended
/// Additional, Ạ U+1EA0 to ỹ U+1EF9, the letters with stacked or dotted tone marks).
fn in_vietnamese_subset(code_point: u32) -> bool {
    match code_point {
        0x100..=0x24F => VIETNAMESE_EXTENDED_AB.contains(&code_point),
        0x1E00..=0x1EFF => (0x1EA0..=0x1EF9).contains(&code_point),
        _ => true,
    }
}

/// Renders every non-empty range of every face into `out_dir`, fetching the
/// pinned package with `fetch` only when an earlier build has not already.
pub fn render(out_dir: &Path, lock: &Lock, fetch: impl FnOnce() -> Vec<u8>) {
    let stamp_path = out_dir.join(STAMP);
    let stamp = format!(
        "{}@{} {} size={SIZE_PX} radius={RADIUS} cutoff={CUTOFF} faces={FACES:?} listing={LISTING_FORMAT} subset={VIETNAMESE_EXTENDED_AB:?}\n",
        lock.package, lock.version, lock.integrity
    );
    let index = out_dir.join("glyphs.rs");
    if index.exists() && fs::read_to_string(&stamp_path).ok().as_deref() == Some(stamp.as_str()) {
        return;
    }

    let files = extract_fonts(lock, &fetch());
    let library = freetype::Library::init().expect("FreeType initialises");
    let mut listing = String::from("/// Every bundled font and its glyph ranges.\n");
    listing.push_str("pub static FONT_STACKS: &[FontStack] = &[\n");
    for (n, ((_, stack), ttf)) in FACES.iter().zip(&files).enumerate() {
        let dir = out_dir.join("glyphs").join(n.to_string());
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let face = library
            .new_memory_face(ttf.clone(), 0)
            .unwrap_or_else(|e| panic!("{stack}: FreeType cannot open the font: {e}"));
        let _ = writeln!(listing, "    ({stack:?}, &[");
        for start in (0..=0xFF00_u32).step_by(256) {
            let mut range = glyph_range_for_face(&face, start, start + 255, SIZE_PX, RADIUS, CUTOFF)
                .unwrap_or_else(|e| panic!("{stack}: cannot render {start}-{}: {e}", start + 255));
            range.glyphs.retain(|glyph| in_vietnamese_subset(glyph.id));
            if range.glyphs.is_empty() {
                continue;
            }
            // The name MapLibre asked for, not FreeType's family and style.
            (*stack).clone_into(&mut range.name);
            let bytes = Glyphs { stacks: vec![range] }.encode_to_vec();
            let file = dir.join(format!("{start}.pbf"));
            write_atomically(&file, &bytes);
            let _ = writeln!(
                listing,
                "        ({start}, include_bytes!({:?})),",
                file.display().to_string()
            );
        }
        listing.push_str("    ]),\n");
    }
    listing.push_str("];\n");
    write_atomically(&out_dir.join("fonts-LICENSE.txt"), &files[FACES.len()]);
    write_atomically(&index, listing.as_bytes());
    write_atomically(&stamp_path, stamp.as_bytes());
}

/// The TrueType files of `FACES`, in that order, then the licence.
fn extract_fonts(lock: &Lock, tarball: &[u8]) -> Vec<Vec<u8>> {
    let wanted: Vec<&str> = FACES.iter().map(|(path, _)| *path).chain([LICENCE]).collect();
    let mut found = vec![None; wanted.len()];
    let mut archive = tar::Archive::new(GzDecoder::new(tarball));
    let entries = archive
        .entries()
        .unwrap_or_else(|e| panic!("{} {}: not a tar.gz: {e}", lock.package, lock.version));
    for entry in entries {
        let mut entry = entry.unwrap_or_else(|e| panic!("{} {}: corrupt tarball: {e}", lock.package, lock.version));
        let path = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(i) = wanted.iter().position(|w| *w == path) {
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .unwrap_or_else(|e| panic!("{} {}: cannot read {path}: {e}", lock.package, lock.version));
            found[i] = Some(bytes);
        }
    }
    wanted
        .iter()
        .zip(found)
        .map(|(path, bytes)| {
            bytes.unwrap_or_else(|| panic!("{} {}: the tarball has no {path}", lock.package, lock.version))
        })
        .collect()
}
