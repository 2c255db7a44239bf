//! Windows-1258 (Vietnamese) decoded here rather than by GDAL: GDAL 3.6
//! recodes through iconv, whose CP1258 decoder holds back the last letter of
//! each string waiting for a tone mark that may follow, and GDAL never
//! flushes it (`Xương` comes back as `Xươn`). So such a Shapefile is opened
//! as ISO-8859-1, which maps each byte to the code point of the same value,
//! and the bytes are decoded with the table below, then composed (NFC): the
//! code page writes tones as combining marks after the letter.

use unicode_normalization::UnicodeNormalization;

/// Whether an encoding name means Windows-1258.
#[must_use]
pub fn is_cp1258(name: &str) -> bool {
    let n = name.trim().to_uppercase().replace(['-', '_', ' '], "");
    matches!(n.as_str(), "CP1258" | "WINDOWS1258" | "1258" | "LDID/163" | "ANSI1258")
}

/// The characters of bytes 0x80–0x9F (Windows punctuation; U+FFFD where undefined).
const HIGH_CONTROLS: [char; 32] = [
    '€', '\u{fffd}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', '\u{fffd}', '‹', 'Œ', '\u{fffd}', '\u{fffd}', '\u{fffd}',
    '\u{fffd}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', '\u{fffd}', '›', 'œ', '\u{fffd}', '\u{fffd}', 'Ÿ',
];

fn byte_char(b: u8) -> char {
    match b {
        0x80..=0x9f => HIGH_CONTROLS[usize::from(b - 0x80)],
        0xc3 => 'Ă',
        0xcc => '\u{300}',
        0xd0 => 'Đ',
        0xd2 => '\u{309}',
        0xd5 => 'Ơ',
        0xdd => 'Ư',
        0xde => '\u{303}',
        0xe3 => 'ă',
        0xec => '\u{301}',
        0xf0 => 'đ',
        0xf2 => '\u{323}',
        0xf5 => 'ơ',
        0xfd => 'ư',
        0xfe => '₫',
        // The rest, ASCII included, is ISO-8859-1.
        _ => char::from(b),
    }
}

/// Text that GDAL read as ISO-8859-1 from Windows-1258 bytes, decoded.
#[must_use]
pub fn from_latin1(s: &str) -> String {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).map_or(c, byte_char))
        .nfc()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_in_windows_1258_decodes() {
        // "Đồng Tháp Mỹ Xương" as GDAL's ogr2ogr writes it with ENCODING=CP1258.
        let bytes = b"\xd0\xf4\xccng Th\xe1p My\xde X\xfd\xf5ng";
        let latin1: String = bytes.iter().map(|&b| char::from(b)).collect();
        assert_eq!(from_latin1(&latin1), "Đồng Tháp Mỹ Xương");
        assert!(is_cp1258("cp1258") && is_cp1258("Windows-1258") && !is_cp1258("UTF-8"));
    }
}
