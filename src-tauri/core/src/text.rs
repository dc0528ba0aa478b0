//! Text that comes from outside (an ordering system, a config, a person) and is shown on a screen
//! or a receipt: it may hold nothing that is not seen.

/// An instant as local wall-clock text in a chrono `format`.
pub fn local_time(ms: i64, format: &str) -> String {
    use chrono::{Local, TimeZone};
    Local.timestamp_millis_opt(ms).earliest().map(|t| t.format(format).to_string()).unwrap_or_default()
}

/// No control characters and no invisible format characters (Unicode category Cf: bidirectional
/// overrides and isolates, zero-width characters, the byte-order mark, tags…). A right-to-left
/// override would show `¥21` for `¥12`, or another order number than the one stored.
pub fn visible(text: &str) -> bool {
    !text.chars().any(|c| c.is_control() || is_format(c))
}

/// Unicode's format characters (general category Cf, Unicode 15).
fn is_format(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn control_and_format_characters_are_not_visible() {
        for ok in ["午餐 2 份", "ERP-1001", "Café ☕", "👍", ""] {
            assert!(visible(ok), "{ok:?}");
        }
        for bad in [
            "ERP\u{202E}1001",
            "a\u{2066}b\u{2069}",
            "zero\u{200B}width",
            "\u{FEFF}bom",
            "soft\u{00AD}hyphen",
            "tag\u{E0041}",
            "tab\t",
            "nul\0",
            "del\u{7F}",
        ] {
            assert!(!visible(bad), "{bad:?}");
        }
    }
}
