//! QR codes for the screen (SVG) and the terminal (Unicode half blocks).

use qrcode::render::{svg, unicode};
use qrcode::{EcLevel, QrCode};

/// SVG markup of `text` as a QR code, or `None` if the text is too long for a QR.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build(),
    )
}

/// The QR code drawn with half-block characters, two modules per character, for `paydesk-cli`.
pub fn terminal(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    Some(
        code.render::<unicode::Dense1x2>()
            .dark_color(unicode::Dense1x2::Light)
            .light_color(unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_svg_and_text() {
        let s = super::svg("http://127.0.0.1:1/pay/T01").unwrap();
        assert!(s.starts_with("<?xml") || s.starts_with("<svg"), "{}", &s[..40]);
        assert!(s.contains("<svg"));
        let t = super::terminal("http://127.0.0.1:1/pay/T01").unwrap();
        assert!(t.lines().count() > 10);
        assert!(super::svg(&"x".repeat(5000)).is_none());
    }
}
