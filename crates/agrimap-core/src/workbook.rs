//! The look the project's Excel workbooks share (statistics, bulletins, NTM
//! self-assessments): one header style, so that a planner's documents read
//! as one set.

use rust_xlsxwriter::{Format, FormatAlign, FormatBorder};

/// A header cell: bold, boxed, wrapped, centred, on light blue.
#[must_use]
pub fn header() -> Format {
    Format::new()
        .set_bold()
        .set_border(FormatBorder::Thin)
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_background_color(0x00D9_E1F2)
}

/// The English line under a Vietnamese header: italic and grey.
#[must_use]
pub fn english_header() -> Format {
    Format::new()
        .set_italic()
        .set_border(FormatBorder::Thin)
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_font_color(0x0055_5555)
}
