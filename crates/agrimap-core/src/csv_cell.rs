//! Text cells of the CSV files agrimap writes, made safe to open in a
//! spreadsheet: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage
//! return is read by Excel and LibreOffice as a formula (`=HYPERLINK(…)`
//! planted in a parcel's variety would reach every download), so such a cell
//! gets a leading `'`, as OWASP advises. Only text cells: numbers are written
//! as numbers.

use std::borrow::Cow;

/// `text`, with a `'` in front when a spreadsheet would take it for a formula.
#[must_use]
pub fn neutralised(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_neutralised_and_other_text_kept() {
        for cell in ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralised(cell), format!("'{cell}"));
        }
        for cell in ["Lúa", "OM 5451", "", "a=b"] {
            assert!(matches!(neutralised(cell), Cow::Borrowed(_)), "{cell}");
        }
    }
}
