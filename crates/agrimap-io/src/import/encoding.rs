//! Noticing text decoded with the wrong code page. Vietnamese text written in
//! Windows-1258 (or TCVN3, or UTF-8) and read as Latin-1, as GDAL reads a
//! `.dbf` that says nothing of its code page, turns into characters that
//! never occur in Vietnamese: `Đồng` becomes `ÐôÌng`. Such a file is refused
//! as a whole, with how to say the right encoding, rather than stored garbled.

/// Characters that Vietnamese text never holds but mis-decoded text does:
/// Latin-1 letters of other languages that a Windows-1258 byte for `Đ`, `đ`
/// or a combining tone mark turns into, and replacement characters.
fn foreign(c: char) -> bool {
    matches!(
        c,
        'Ð' | 'ð' | 'Þ' | 'þ' | 'Ñ' | 'ñ' | 'Ë' | 'ë' | 'Ï' | 'Ø' | 'ø' | 'Å' | 'å' | 'Æ' | 'æ' | '\u{fffd}'
    ) || ('\u{80}'..='\u{9f}').contains(&c)
}

/// UTF-8 read as Latin-1: a lead byte (`Ã`, `Ä`, `Æ`, `á»`...) followed by a
/// continuation byte shown as a C1 control or a symbol of U+00A0–U+00BF.
fn utf8_as_latin1(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    chars
        .windows(2)
        .any(|w| matches!(w[0], 'Ã' | 'Ä' | 'Å' | 'Æ' | 'á' | 'Â') && ('\u{80}'..='\u{bf}').contains(&w[1]))
}

/// Whether `s` looks like text decoded with the wrong code page.
#[must_use]
pub fn looks_misdecoded(s: &str) -> bool {
    s.chars().any(foreign) || utf8_as_latin1(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_passes_and_mojibake_does_not() {
        for good in [
            "Đồng Tháp",
            "Mỹ Xương",
            "Bưởi Năm Roi",
            "Ấp Tân Hòa",
            "ST25",
            "Cát Hòa Lộc",
            "Ông Ã",
        ] {
            assert!(!looks_misdecoded(good), "{good}");
        }
        // "Đồng Tháp" in Windows-1258 read as Latin-1.
        assert!(looks_misdecoded("ÐôÌng Tha\u{301}p"));
        // "Mỹ Xương" in UTF-8 read as Latin-1.
        let utf8_as_latin1: String = "Mỹ Xương".bytes().map(char::from).collect();
        assert!(looks_misdecoded(&utf8_as_latin1), "{utf8_as_latin1}");
        assert!(looks_misdecoded("M\u{fffd} X\u{fffd}"));
    }
}
