//! QR codes as SVG and PNG, for enrolment links and login tokens.

use qrcode::render::svg;
use qrcode::{Color, QrCode};

use crate::problem::ApiError;

fn code(data: &str) -> Result<QrCode, ApiError> {
    QrCode::new(data.as_bytes()).map_err(|e| {
        ApiError::new(sekimori_core::ErrorCode::InvalidRequest, format!("cannot encode as a QR code: {e}"))
    })
}

/// An SVG image of `data`.
pub fn svg(data: &str) -> Result<String, ApiError> {
    Ok(code(data)?.render::<svg::Color<'_>>().min_dimensions(240, 240).quiet_zone(true).build())
}

/// A PNG image of `data`: 8 pixels a module, 4 modules of quiet zone.
pub fn png(data: &str) -> Result<Vec<u8>, ApiError> {
    const SCALE: usize = 8;
    const QUIET: usize = 4;
    let code = code(data)?;
    let width = code.width();
    let colors = code.to_colors();
    let side = (width + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c == Color::Dark {
            let (mx, my) = (i % width + QUIET, i / width + QUIET);
            for y in my * SCALE..(my + 1) * SCALE {
                pixels[y * side + mx * SCALE..y * side + (mx + 1) * SCALE].fill(0);
            }
        }
    }
    let mut out = Vec::new();
    let side32 =
        u32::try_from(side).map_err(|_| ApiError::new(sekimori_core::ErrorCode::InvalidRequest, "too large"))?;
    let mut enc = png::Encoder::new(&mut out, side32, side32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let internal = |e: png::EncodingError| ApiError::new(sekimori_core::ErrorCode::Internal, format!("png: {e}"));
    let mut w = enc.write_header().map_err(internal)?;
    w.write_image_data(&pixels).map_err(internal)?;
    w.finish().map_err(internal)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_both_formats() {
        let s = super::svg("sekimori://login?s=abc").expect("svg");
        assert!(s.contains("<svg"));
        let p = super::png("sekimori://login?s=abc").expect("png");
        assert_eq!(&p[1..4], b"PNG");
    }
}
