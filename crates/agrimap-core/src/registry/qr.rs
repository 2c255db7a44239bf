//! QR codes of products' public pages: encoded by the `qrcode` crate at
//! error correction M (15 % of the symbol may be lost: a scratched or
//! creased label still scans), drawn here as SVG paths or an 8-bit
//! greyscale PNG (the `png` crate), each module a whole number of pixels.

use crate::error::CoreError;
use qrcode::{Color, EcLevel, QrCode};

/// Modules of white around the symbol, as the standard asks.
pub const QUIET_ZONE: usize = 4;

/// The public page of a product, under `base` (`https://truyxuat.example.gov.vn`).
#[must_use]
pub fn product_url(base: &str, id: &str) -> String {
    format!("{}/t/{id}", base.trim_end_matches('/'))
}

/// The symbol's modules (true for dark), row by row, and its width.
///
/// # Errors
/// `qr_failed` when the text does not fit a QR code.
pub fn modules(text: &str) -> Result<(Vec<bool>, usize), CoreError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| CoreError::invalid("qr_failed", format!("no QR code holds this text: {e}")))?;
    let width = code.width();
    Ok((code.to_colors().into_iter().map(|c| c == Color::Dark).collect(), width))
}

/// The dark modules as one SVG path in module units, the quiet zone included
/// (`viewBox="0 0 n n"` with `n` = width + 8).
#[must_use]
pub fn svg_path(dark: &[bool], width: usize) -> String {
    use std::fmt::Write as _;
    let mut d = String::with_capacity(dark.len() * 3);
    for (i, _) in dark.iter().enumerate().filter(|(_, on)| **on) {
        let (x, y) = (i % width + QUIET_ZONE, i / width + QUIET_ZONE);
        let _ = write!(d, "M{x} {y}h1v1h-1z");
    }
    d
}

/// The QR code of `text` as a standalone SVG image `size` pixels wide.
///
/// # Errors
/// `qr_failed`.
pub fn svg(text: &str, size: u32) -> Result<String, CoreError> {
    let (dark, width) = modules(text)?;
    let n = width + 2 * QUIET_ZONE;
    Ok(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {n} {n}" shape-rendering="crispEdges"><rect width="{n}" height="{n}" fill="#fff"/><path fill="#000" d="{}"/></svg>"##,
        svg_path(&dark, width)
    ))
}

/// The QR code of `text` as a PNG, `scale` pixels a module.
///
/// # Errors
/// `qr_failed`.
pub fn png(text: &str, scale: usize) -> Result<Vec<u8>, CoreError> {
    let (dark, width) = modules(text)?;
    let side = (width + 2 * QUIET_ZONE) * scale;
    let mut pixels = vec![255u8; side * side];
    for (i, _) in dark.iter().enumerate().filter(|(_, on)| **on) {
        let (x0, y0) = ((i % width + QUIET_ZONE) * scale, (i / width + QUIET_ZONE) * scale);
        for y in y0..y0 + scale {
            pixels[y * side + x0..y * side + x0 + scale].fill(0);
        }
    }
    let failed = |e: png::EncodingError| CoreError::internal("qr_failed", format!("writing the PNG: {e}"));
    let mut out = Vec::new();
    {
        let side = u32::try_from(side).unwrap_or(u32::MAX);
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(failed)?;
        writer.write_image_data(&pixels).map_err(failed)?;
        writer.finish().map_err(failed)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_product_url_makes_a_symbol_with_its_quiet_zone() {
        let url = product_url("https://truyxuat.example.gov.vn/", "SP-99-0001");
        assert_eq!(url, "https://truyxuat.example.gov.vn/t/SP-99-0001");
        let (dark, width) = modules(&url).expect("fits");
        assert_eq!(dark.len(), width * width);
        // 44 bytes: version 4 (33 modules; version 3 holds 42 bytes at level M).
        assert_eq!(width, 33);
        let png = png(&url, 4).expect("png");
        assert!(png.starts_with(b"\x89PNG"));
        assert!(svg(&url, 200).expect("svg").contains("viewBox=\"0 0 41 41\""));
    }
}
