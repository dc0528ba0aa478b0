//! A slip as ESC/POS bytes, written by the `escpos` crate, in the printer's Chinese (GB) mode.
//!
//! - Chinese mode is switched on (`FS &`) and text goes as GBK, which is GB18030's two-byte part:
//!   what every Chinese receipt printer's GB font holds. A character GBK has no code for is
//!   printed as `?`, and `¥` as `￥` (see [`super::slip::yuan`]): never four-byte GB18030.
//! - Widths are counted in the printer's own cells: an ASCII byte takes one, a GB character two.
//! - Nothing from outside reaches the printer as a command: control characters in names and
//!   reasons are dropped before encoding.
//! - The drawer kick is the full five bytes `ESC p m t1 t2`: the crate's own `cash_drawer` sends
//!   three, which some drawers ignore.

use super::slip::{Line, Slip};
use crate::config::DrawerConfig;
use encoding_rs::GBK;
use escpos::driver::Driver;
use escpos::printer::Printer;
use escpos::utils::{JustifyMode, Protocol, QRCodeCorrectionLevel, QRCodeModel, QRCodeOption};
use std::cell::RefCell;
use std::rc::Rc;

/// `FS &`: Chinese character mode on.
pub const CHINESE_ON: [u8; 2] = [0x1C, 0x26];

/// The bytes of `slip` for a paper of `columns` characters, with a drawer kick first when asked.
pub fn encode(slip: &Slip, columns: usize, drawer: Option<&DrawerConfig>) -> Result<Vec<u8>, String> {
    let capture = Capture::default();
    let protocol = Protocol::new(escpos::utils::Encoder::new(GBK));
    let mut p = Printer::new(capture.clone(), protocol, None);
    let e = |e: escpos::errors::PrinterError| e.to_string();
    p.init().map_err(e)?.custom(&CHINESE_ON).map_err(e)?;
    if let Some(d) = drawer {
        p.custom(&drawer_kick(d)).map_err(e)?;
    }
    for line in &slip.lines {
        match line {
            Line::Big(text) => {
                p.justify(JustifyMode::CENTER).map_err(e)?.bold(true).map_err(e)?.size(2, 2).map_err(e)?;
                for part in wrap(&printable(text), columns / 2) {
                    p.writeln(&part).map_err(e)?;
                }
                p.reset_size().map_err(e)?.bold(false).map_err(e)?.justify(JustifyMode::LEFT).map_err(e)?;
            }
            Line::Center(text) => {
                p.justify(JustifyMode::CENTER).map_err(e)?;
                for part in wrap(&printable(text), columns) {
                    p.writeln(&part).map_err(e)?;
                }
                p.justify(JustifyMode::LEFT).map_err(e)?;
            }
            Line::Text(text) => {
                let parts = wrap(&printable(text), columns);
                if parts.is_empty() {
                    p.feed().map_err(e)?;
                }
                for part in parts {
                    p.writeln(&part).map_err(e)?;
                }
            }
            Line::Pair(label, value) => {
                for part in pair(&printable(label), &printable(value), columns) {
                    p.writeln(&part).map_err(e)?;
                }
            }
            Line::Rule => {
                p.writeln(&"-".repeat(columns)).map_err(e)?;
            }
            Line::Qr(data) => {
                p.justify(JustifyMode::CENTER).map_err(e)?;
                p.qrcode_option(&printable(data), QRCodeOption::new(QRCodeModel::Model2, 6, QRCodeCorrectionLevel::M))
                    .map_err(e)?;
                p.justify(JustifyMode::LEFT).map_err(e)?;
            }
        }
    }
    // Past the cutter before cutting: the last lines sit some 4 lines below the print head.
    p.feeds(4).map_err(e)?.cut().map_err(e)?.print().map_err(e)?;
    Ok(capture.take())
}

/// Only the drawer kick (a manager's "open the drawer").
pub fn drawer_only(d: &DrawerConfig) -> Vec<u8> {
    let mut bytes = vec![0x1B, b'@'];
    bytes.extend_from_slice(&drawer_kick(d));
    bytes
}

/// `ESC p m t1 t2`: pin 2 (m 0) or 5 (m 1), on for t1 × 2 ms, off for t2 × 2 ms.
pub fn drawer_kick(d: &DrawerConfig) -> [u8; 5] {
    let m = if d.pin == 5 { 1 } else { 0 };
    let steps = |ms: u32| u8::try_from(ms.div_ceil(2).clamp(1, 255)).unwrap_or(255);
    [0x1B, b'p', m, steps(d.on_ms), steps(d.off_ms)]
}

/// The text as the printer's GB font can print it: `¥` as `￥`, what GBK lacks as `?`, no
/// control or invisible format characters.
pub fn printable(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '¥' => Some('￥'),
            c if c.is_control() || !crate::text::visible(c.encode_utf8(&mut [0; 4])) => None,
            c if c.is_ascii() => Some(c),
            c => {
                let mut buf = [0u8; 4];
                let (bytes, _, unmappable) = GBK.encode(c.encode_utf8(&mut buf));
                // GBK's one single byte beyond ASCII (0x80, €) is no GB character in Chinese mode.
                Some(if unmappable || bytes.len() != 2 { '?' } else { c })
            }
        })
        .collect()
}

/// Printer cells the (printable) text takes: its GBK length.
pub fn cells(text: &str) -> usize {
    GBK.encode(text).0.len()
}

/// The text in lines of at most `columns` cells, never splitting a character.
pub fn wrap(text: &str, columns: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = cells(c.encode_utf8(&mut [0; 4]));
        if used + w > columns.max(2) && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            used = 0;
        }
        line.push(c);
        used += w;
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A label and its value on one line, the value flush right; on two (or more) when they do not
/// fit together.
pub fn pair(label: &str, value: &str, columns: usize) -> Vec<String> {
    let (l, v) = (cells(label), cells(value));
    if l + 1 + v <= columns {
        return vec![format!("{label}{}{value}", " ".repeat(columns - l - v))];
    }
    let mut lines = wrap(label, columns);
    for part in wrap(value, columns) {
        let pad = columns.saturating_sub(cells(&part));
        lines.push(format!("{}{part}", " ".repeat(pad)));
    }
    lines
}

/// The escpos crate writes to a driver; this one keeps the bytes.
#[derive(Clone, Default)]
struct Capture(Rc<RefCell<Vec<u8>>>);

impl Capture {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

impl Driver for Capture {
    fn name(&self) -> String {
        "capture".into()
    }
    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(())
    }
    fn read(&self, _buf: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }
    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_made_printable_in_gb() {
        assert_eq!(printable("¥12.34"), "￥12.34");
        assert_eq!(printable("店\u{1B}@名\u{202E}"), "店@名");
        assert_eq!(printable("咖啡 ☕ € Café"), "咖啡 ? ? Café");
        assert_eq!(cells("收款 12"), 7);
        assert_eq!(cells("￥"), 2);
    }

    #[test]
    fn lines_wrap_at_the_paper_and_pairs_put_the_value_right() {
        assert_eq!(wrap("一二三四五", 4), vec!["一二", "三四", "五"]);
        assert_eq!(wrap("ab一", 3), vec!["ab", "一"]);
        assert_eq!(pair("时间", "10:42", 12), vec!["时间   10:42"]);
        assert_eq!(pair("订单号", "ABCDEFGHIJ", 12), vec!["订单号", "  ABCDEFGHIJ"]);
        for line in pair("收款通道", "农行收银台 · 支付宝条码支付", 32) {
            assert!(cells(&line) <= 32, "{line}");
        }
    }

    #[test]
    fn the_drawer_kick_is_five_bytes_with_the_timing() {
        let d = DrawerConfig { pin: 5, on_ms: 100, off_ms: 500, on_refund: false };
        assert_eq!(drawer_kick(&d), [0x1B, 0x70, 1, 50, 250]);
        let d = DrawerConfig { pin: 2, on_ms: 510, off_ms: 510, on_refund: false };
        assert_eq!(drawer_kick(&d), [0x1B, 0x70, 0, 255, 255]);
    }
}
