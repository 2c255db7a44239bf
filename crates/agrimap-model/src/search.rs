//! Text folding for searching Vietnamese names.
//!
//! People type names without tone and vowel marks, in any case, with or
//! without the kind of unit in front: `my xuong`, `MY XUONG`, `xã Mỹ Xương`
//! all mean Mỹ Xương. [`fold`] maps each of these to the same key, and
//! [`strip_kind_prefix`] takes the optional `xã` / `phường` / `thị trấn` off a
//! folded query. Folding merges names that differ only in their marks (Phước
//! Thạnh and Phước Thành); [`normalize`] keeps the marks, so that a query typed
//! with them can prefer the name spelled exactly so.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Folds text for matching: lower case; tone and vowel marks dropped (the
/// text is decomposed, NFKD, and combining marks removed, so `ữ` becomes `u`);
/// `đ`/`Đ` becomes `d`; every run of characters that are not letters or digits
/// becomes one space, with none at either end.
///
/// ```
/// use agrimap_model::search::fold;
/// assert_eq!(fold("Mỹ Xương"), "my xuong");
/// assert_eq!(fold("  ĐỊNH-An, (xã) "), "dinh an xa");
/// ```
#[must_use]
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.chars().flat_map(char::to_lowercase).nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        // đ and Đ are letters of their own, not d with a mark: NFD keeps them.
        // Ð (U+00D0, eth) is often typed for Đ.
        let c = match c {
            'đ' | 'ð' => 'd',
            c => c,
        };
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    out
}

/// Normalizes text without dropping marks: lower case, composed (NFC), every
/// run of characters that are not letters, digits or marks one space.
///
/// ```
/// use agrimap_model::search::normalize;
/// assert_eq!(normalize(" PHƯỚC  Thạnh "), "phước thạnh");
/// assert_ne!(normalize("Phước Thạnh"), normalize("Phước Thành"));
/// ```
#[must_use]
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.chars().flat_map(char::to_lowercase).nfc() {
        if c.is_alphanumeric() || is_combining_mark(c) {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    out
}

/// The kinds of commune-level unit as they lead a name, folded: `xã`,
/// `phường`, `thị trấn`, the abbreviation `TT`, and `đặc khu` (the special
/// zones of 2025).
const KIND_PREFIXES: &[&str] = &["xa", "phuong", "thi tran", "tt", "dac khu"];

/// Text without a leading kind of unit (`xa my xuong` → `my xuong`), or
/// `None` when it does not start with one or nothing would be left. The text
/// is folded ([`fold`]) or normalized ([`normalize`]): words apart by one space.
///
/// ```
/// use agrimap_model::search::{fold, normalize, strip_kind_prefix};
/// assert_eq!(strip_kind_prefix(&fold("Xã Mỹ Xương")), Some("my xuong"));
/// assert_eq!(strip_kind_prefix(&normalize("Xã Mỹ Xương")), Some("mỹ xương"));
/// assert_eq!(strip_kind_prefix("thi tran hoa hung"), Some("hoa hung"));
/// assert_eq!(strip_kind_prefix(&fold("Đặc khu Phú Quốc")), Some("phu quoc"));
/// assert_eq!(strip_kind_prefix("xa"), None);
/// assert_eq!(strip_kind_prefix("xang"), None);
/// ```
#[must_use]
pub fn strip_kind_prefix(text: &str) -> Option<&str> {
    KIND_PREFIXES.iter().find_map(|prefix| {
        let words = prefix.split(' ').count();
        let mut parts = text.splitn(words + 1, ' ');
        let head: Vec<&str> = parts.by_ref().take(words).collect();
        let rest = parts.next().filter(|rest| !rest.is_empty())?;
        (fold(&head.join(" ")) == *prefix).then_some(rest)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_every_vietnamese_vowel_and_d() {
        let marked = "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ";
        let plain = "aaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyyd";
        assert_eq!(fold(marked), plain);
        assert_eq!(fold(&marked.to_uppercase()), plain);
    }

    #[test]
    fn folds_names_the_way_people_type_them() {
        assert_eq!(fold("Tân Thuận Tây"), "tan thuan tay");
        assert_eq!(fold("TÂN THUẬN TÂY"), "tan thuan tay");
        assert_eq!(fold("tan   thuan\ttay"), "tan thuan tay");
        assert_eq!(fold("Đồng Tháp"), "dong thap");
        // Precomposed and decomposed input fold alike.
        assert_eq!(fold("My\u{0303} Xu\u{031b}o\u{031b}ng"), "my xuong");
        // Fullwidth letters (from some input methods) fold to plain ones.
        assert_eq!(fold("ＭＹ"), "my");
    }

    #[test]
    fn odd_input_folds_to_little_or_nothing() {
        assert_eq!(fold(""), "");
        assert_eq!(fold("%_'\";--\0"), "");
        assert_eq!(fold("\u{0301}\u{0303}"), "");
        assert_eq!(fold("a\u{FFFD}b"), "a b");
        assert_eq!(fold("İ"), "i");
        assert_eq!(fold("🌾 lúa 🌾"), "lua");
    }

    #[test]
    fn normalize_keeps_marks_but_not_case_or_spacing() {
        assert_eq!(normalize("Mỹ Xương"), normalize("MỸ   XƯƠNG"));
        // Decomposed input composes.
        assert_eq!(normalize("My\u{0303} Xu\u{031b}o\u{031b}ng"), normalize("mỹ xương"));
        assert_ne!(normalize("Long Thành"), normalize("Long Thạnh"));
        assert_eq!(normalize("%_'"), "");
    }

    #[test]
    fn kind_prefixes_come_off_only_as_whole_words() {
        assert_eq!(strip_kind_prefix("phuong 3"), Some("3"));
        assert_eq!(strip_kind_prefix("tt hoa hung"), Some("hoa hung"));
        assert_eq!(strip_kind_prefix("my xuong"), None);
        assert_eq!(strip_kind_prefix("phuong"), None);
        assert_eq!(strip_kind_prefix("thi"), None);
        assert_eq!(strip_kind_prefix("thị trấn hòa hưng"), Some("hòa hưng"));
        assert_eq!(strip_kind_prefix("phường"), None);
    }
}
