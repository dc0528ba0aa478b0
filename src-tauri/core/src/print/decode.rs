//! ESC/POS bytes read back as a printer would print them: lines of text with their style, QR
//! codes, cuts and drawer pulses. The window's preview is drawn from it, so what a clerk sees is
//! what the same bytes print; the tests read a virtual printer's capture with it.
//!
//! It reads the commands the receipt printers of Chinese stores take (Epson's ESC/POS with the
//! GB character mode). Text beyond ASCII outside Chinese mode, or a GB sequence GBK does not
//! hold, reads as `�`, as a printer prints garbage (乱码): the preview shows it instead of
//! hiding it. Unknown commands are listed, never guessed.

use encoding_rs::GBK;
use serde::Serialize;

/// One printed line or block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Printed {
    Text {
        text: String,
        /// `left`, `center` or `right`.
        align: &'static str,
        bold: bool,
        /// Character size, 1 to 8 each way.
        width: u8,
        height: u8,
    },
    Qr {
        data: String,
    },
    Cut,
    Drawer {
        pin: u8,
        on_ms: u32,
        off_ms: u32,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decoded {
    pub printed: Vec<Printed>,
    /// Commands it does not know, as hex, where they stood.
    pub unknown: Vec<String>,
}

impl Decoded {
    /// Every text line, in order.
    pub fn texts(&self) -> Vec<&str> {
        self.printed
            .iter()
            .filter_map(|p| match p {
                Printed::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    pub fn qr_codes(&self) -> Vec<&str> {
        self.printed
            .iter()
            .filter_map(|p| match p {
                Printed::Qr { data } => Some(data.as_str()),
                _ => None,
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy)]
struct Style {
    align: &'static str,
    bold: bool,
    width: u8,
    height: u8,
    chinese: bool,
}

impl Default for Style {
    fn default() -> Self {
        Style { align: "left", bold: false, width: 1, height: 1, chinese: false }
    }
}

/// Reads `bytes` as a printer would. Never fails: what it cannot read is in `unknown` or `�`.
pub fn decode(bytes: &[u8]) -> Decoded {
    let mut out = Decoded::default();
    let mut style = Style::default();
    let mut line: Vec<u8> = Vec::new();
    let mut qr_store: Option<String> = None;
    let mut i = 0;
    // A command's argument at `i + k`, when the bytes hold it.
    let arg = |i: usize, k: usize| bytes.get(i + k).copied();
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            0x0A => {
                out.printed.push(text_line(&line, style));
                line.clear();
                i += 1;
            }
            0x0D => i += 1,
            0x1B => {
                let Some(cmd) = arg(i, 1) else {
                    out.unknown.push("1b".into());
                    break;
                };
                let one = arg(i, 2);
                match (cmd, one) {
                    (b'@', _) => {
                        style = Style::default();
                        i += 2;
                    }
                    (b'E', Some(n)) => {
                        style.bold = n & 1 == 1;
                        i += 3;
                    }
                    (b'!', Some(n)) => {
                        style.bold = n & 0x08 != 0;
                        style.height = if n & 0x10 != 0 { 2 } else { 1 };
                        style.width = if n & 0x20 != 0 { 2 } else { 1 };
                        i += 3;
                    }
                    (b'a', Some(n)) => {
                        style.align = match n {
                            1 | b'1' => "center",
                            2 | b'2' => "right",
                            _ => "left",
                        };
                        i += 3;
                    }
                    (b'd', Some(n)) => {
                        // Prints the line (its first feed), then feeds the rest.
                        let extra = if line.is_empty() { n } else { n - 1 };
                        flush_partial(&mut out, &mut line, style);
                        for _ in 0..extra {
                            out.printed.push(text_line(&[], style));
                        }
                        i += 3;
                    }
                    (b'p', Some(m)) => {
                        let (Some(t1), Some(t2)) = (arg(i, 3), arg(i, 4)) else {
                            out.unknown.push(hex(&bytes[i..]));
                            break;
                        };
                        let pin = if m & 1 == 1 { 5 } else { 2 };
                        out.printed.push(Printed::Drawer { pin, on_ms: u32::from(t1) * 2, off_ms: u32::from(t2) * 2 });
                        i += 5;
                    }
                    // Single-argument settings a receipt may carry and a preview need not show:
                    // line spacing, font, underline, double strike, code table, character set,
                    // upside down, feed by dots, smoothing.
                    (b'3' | b'M' | b'-' | b'G' | b't' | b'R' | b'{' | b'J' | b'U', Some(_)) => i += 3,
                    (b'2', _) => i += 2,
                    _ => {
                        out.unknown.push(hex(&bytes[i..(i + 2).min(bytes.len())]));
                        i += 2;
                    }
                }
            }
            0x1D => {
                let Some(cmd) = arg(i, 1) else {
                    out.unknown.push("1d".into());
                    break;
                };
                match cmd {
                    b'!' => {
                        let n = arg(i, 2).unwrap_or(0);
                        style.width = (n >> 4) + 1;
                        style.height = (n & 0x0F) + 1;
                        i += 3;
                    }
                    b'V' => {
                        flush_partial(&mut out, &mut line, style);
                        out.printed.push(Printed::Cut);
                        // GS V m (m 0, 1, 48, 49) or GS V m n (m 65, 66, 97, 98, 103, 104).
                        i += match arg(i, 2) {
                            Some(65 | 66 | 97 | 98 | 103 | 104) => 4,
                            _ => 3,
                        };
                    }
                    b'(' if arg(i, 2) == Some(b'k') => {
                        let (Some(pl), Some(ph)) = (arg(i, 3), arg(i, 4)) else {
                            out.unknown.push(hex(&bytes[i..]));
                            break;
                        };
                        let len = usize::from(pl) + 256 * usize::from(ph);
                        let start = i + 5;
                        let Some(body) = bytes.get(start..start + len) else {
                            out.unknown.push(format!("{} (cut short)", hex(&bytes[i..(i + 5).min(bytes.len())])));
                            break;
                        };
                        // cn 49 is QR: fn 80 stores the data, fn 81 prints what is stored.
                        match body {
                            [49, 80, _, data @ ..] => qr_store = Some(String::from_utf8_lossy(data).into_owned()),
                            [49, 81, ..] => {
                                flush_partial(&mut out, &mut line, style);
                                if let Some(data) = qr_store.take() {
                                    out.printed.push(Printed::Qr { data });
                                }
                            }
                            [49, ..] => {}
                            _ => out.unknown.push(hex(&bytes[i..(i + 5).min(bytes.len())])),
                        }
                        i = start + len;
                    }
                    // Reverse, smoothing, HRI position, barcode height and width.
                    b'B' | b'b' | b'H' | b'h' | b'w' => i += 3,
                    _ => {
                        out.unknown.push(hex(&bytes[i..(i + 2).min(bytes.len())]));
                        i += 2;
                    }
                }
            }
            0x1C => match arg(i, 1) {
                Some(b'&') => {
                    style.chinese = true;
                    i += 2;
                }
                Some(b'.') => {
                    style.chinese = false;
                    i += 2;
                }
                // Chinese character print mode and quadruple size: the size is the ESC ! one.
                Some(b'!' | b'W' | b'-') => i += 3,
                _ => {
                    out.unknown.push(hex(&bytes[i..(i + 2).min(bytes.len())]));
                    i += 2;
                }
            },
            // DLE EOT n: a status request, answered, never printed.
            0x10 if arg(i, 1) == Some(0x04) => i += 3,
            b if b < 0x20 => {
                out.unknown.push(hex(&[b]));
                i += 1;
            }
            _ => {
                line.push(b);
                i += 1;
            }
        }
    }
    flush_partial(&mut out, &mut line, style);
    out
}

fn flush_partial(out: &mut Decoded, line: &mut Vec<u8>, style: Style) {
    if !line.is_empty() {
        out.printed.push(text_line(line, style));
        line.clear();
    }
}

fn text_line(bytes: &[u8], style: Style) -> Printed {
    let text = if style.chinese {
        gb_pairs(bytes)
    } else {
        bytes.iter().map(|&b| if b.is_ascii() { char::from(b) } else { '\u{FFFD}' }).collect()
    };
    Printed::Text { text, align: style.align, bold: style.bold, width: style.width, height: style.height }
}

/// ASCII, and GB characters as a printer's GB font holds them: two bytes, a lead 81–FE and a
/// trail 40–FE but 7F. encoding_rs's GBK decoder is WHATWG's GB18030 one, which would also read
/// four-byte sequences (`81 30 84 36` as `¥`) that a printer prints as ASCII garbage, so each
/// pair is checked here and read alone.
fn gb_pairs(bytes: &[u8]) -> String {
    let mut text = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii() {
            text.push(char::from(b));
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(&t) if (0x81..=0xFE).contains(&b) && (0x40..=0xFE).contains(&t) && t != 0x7F => {
                let (c, bad) = GBK.decode_without_bom_handling(&bytes[i..i + 2]);
                text.push_str(if bad { "\u{FFFD}" } else { &c });
                i += 2;
            }
            _ => {
                text.push('\u{FFFD}');
                i += 1;
            }
        }
    }
    text
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb_text_styles_qr_cut_and_drawer_read_back() {
        let mut b =
            vec![0x1B, b'@', 0x1C, b'&', 0x1B, b'p', 0, 50, 250, 0x1B, b'a', 1, 0x1D, b'!', 0x11, 0x1B, b'E', 1];
        b.extend(GBK.encode("￥12.34").0.iter());
        b.push(0x0A);
        b.extend([0x1D, b'!', 0, 0x1B, b'E', 0, 0x1B, b'a', 0]);
        b.extend([0x1D, b'(', b'k', 6, 0, 49, 80, 48, b'P', b'1', b'2']);
        b.extend([0x1D, b'(', b'k', 3, 0, 49, 81, 48]);
        b.extend([0x1B, b'd', 1, 0x1D, b'V', b'A', 0]);
        let d = decode(&b);
        assert!(d.unknown.is_empty(), "{:?}", d.unknown);
        assert_eq!(
            d.printed,
            vec![
                Printed::Drawer { pin: 2, on_ms: 100, off_ms: 500 },
                Printed::Text { text: "￥12.34".into(), align: "center", bold: true, width: 2, height: 2 },
                Printed::Qr { data: "P12".into() },
                Printed::Text { text: String::new(), align: "left", bold: false, width: 1, height: 1 },
                Printed::Cut,
            ]
        );
    }

    #[test]
    fn garbage_shows_as_garbage() {
        // GB18030's four bytes for ¥ are no GBK pair: the printer prints "0 6", the preview �.
        let mut b = vec![0x1C, b'&', 0x81, 0x30, 0x84, 0x36, 0x0A];
        // Chinese text without Chinese mode.
        b.extend([0x1C, b'.', 0xC4, 0xE3, 0x0A]);
        let d = decode(&b);
        let texts = d.texts();
        assert!(texts[0].contains('\u{FFFD}'), "{texts:?}");
        assert_eq!(texts[1], "\u{FFFD}\u{FFFD}");
        // Truncated or unknown commands are listed, and decoding never panics.
        assert_eq!(decode(&[0x1B, b'Z', 0x1D]).unknown, vec!["1b 5a".to_string(), "1d".to_string()]);
        for len in 0..40 {
            let noise: Vec<u8> = (0..len).map(|k| (k * 37 % 256) as u8).collect();
            let _ = decode(&noise);
        }
    }
}
