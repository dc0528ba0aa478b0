//! Reading a code from one greyscale frame: rxing first (QR, and the Code 128 barcode a wallet
//! prints above its QR), then rqrr as a second pass for QR codes rxing missed. Each decoder runs
//! behind `catch_unwind`: a frame that makes a decoder panic is a frame without a code, never a
//! dead scanner (BUILD.md: rqrr panics on some photos).
//!
//! Measured on the kept test images (benches/scan_decode.rs): rxing takes a few milliseconds a
//! frame; rqrr takes 20–130 ms and, on some noisy frames, seconds. So rqrr reads a copy at most
//! 640 pixels wide, and the camera runs it on its own thread at most every
//! [`SECOND_PASS_EVERY`], so it never holds up rxing, which reads every frame it can. Only QR and Code 128 are looked for: with retail formats (EAN, UPC) and
//! "try harder" on, rxing read a phantom product code from a frame of stripes.

use rxing::{BarcodeFormat, DecodeHints};
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

/// The camera's rqrr pass starts at most this often (rxing runs on every frame).
pub const SECOND_PASS_EVERY: Duration = Duration::from_millis(200);
/// rqrr reads a copy of the frame at most this wide.
const SECOND_PASS_WIDTH: u32 = 640;

/// A greyscale (luma 8) image, row by row.
#[derive(Clone)]
pub struct GrayFrame {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

impl GrayFrame {
    /// None when the buffer does not hold `width × height` pixels.
    pub fn new(width: u32, height: u32, pixels: Vec<u8>) -> Option<GrayFrame> {
        (width > 0 && height > 0 && pixels.len() as u64 == u64::from(width) * u64::from(height)).then_some(GrayFrame {
            width,
            height,
            pixels,
        })
    }

    pub fn from_image(img: &image::DynamicImage) -> GrayFrame {
        let luma = img.to_luma8();
        GrayFrame { width: luma.width(), height: luma.height(), pixels: luma.into_raw() }
    }
}

impl std::fmt::Debug for GrayFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GrayFrame({}×{})", self.width, self.height)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoder {
    Rxing,
    Rqrr,
}

#[derive(Clone, PartialEq, Eq)]
pub struct Decoded {
    pub text: String,
    /// `qr`, `code128`, `ean13`…
    pub format: &'static str,
    pub decoder: Decoder,
}

impl std::fmt::Debug for Decoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Decoded({}, {}, {:?})", crate::paycode::mask(&self.text), self.format, self.decoder)
    }
}

/// The formats of wallet payment codes.
fn wanted_formats() -> HashSet<BarcodeFormat> {
    HashSet::from([BarcodeFormat::QR_CODE, BarcodeFormat::CODE_128])
}

fn format_name(f: &BarcodeFormat) -> &'static str {
    match f {
        BarcodeFormat::QR_CODE => "qr",
        BarcodeFormat::CODE_128 => "code128",
        BarcodeFormat::EAN_13 => "ean13",
        BarcodeFormat::EAN_8 => "ean8",
        BarcodeFormat::UPC_A => "upca",
        _ => "other",
    }
}

/// The first code found in the frame by either decoder (both always run: the thorough read).
pub fn decode(frame: &GrayFrame) -> Option<Decoded> {
    with_rxing(frame).or_else(|| with_rqrr(frame))
}

pub fn with_rxing(frame: &GrayFrame) -> Option<Decoded> {
    use rxing::common::{GlobalHistogramBinarizer, HybridBinarizer};
    use rxing::{BinaryBitmap, Luma8Source, MultiFormatReader, Reader};
    let found = catch_unwind(AssertUnwindSafe(|| {
        let hints =
            DecodeHints { PossibleFormats: Some(wanted_formats()), TryHarder: Some(false), ..Default::default() };
        let source = || Luma8Source::new_with_slice(&frame.pixels, frame.width, frame.height).ok();
        let mut reader = MultiFormatReader::default();
        // Local thresholds first (uneven light); one global threshold second: it reads a
        // grey-on-grey code on a screen darker than its surroundings, where local ones do not.
        let local = source()
            .and_then(|s| reader.decode_with_hints(&mut BinaryBitmap::new(HybridBinarizer::new(s)), &hints).ok());
        let result = local.or_else(|| {
            source().and_then(|s| {
                reader.decode_with_hints(&mut BinaryBitmap::new(GlobalHistogramBinarizer::new(s)), &hints).ok()
            })
        });
        result.map(|r| (r.getText().to_owned(), format_name(r.getBarcodeFormat())))
    }));
    match found {
        Ok(Some((text, format))) if !text.is_empty() => Some(Decoded { text, format, decoder: Decoder::Rxing }),
        Ok(_) => None,
        Err(_) => {
            tracing::warn!(?frame, "rxing panicked on a frame; frame skipped");
            None
        }
    }
}

/// A copy at most `width` wide (area average), or the frame itself when it is narrower.
fn at_most(frame: &GrayFrame, width: u32) -> std::borrow::Cow<'_, GrayFrame> {
    if frame.width <= width {
        return std::borrow::Cow::Borrowed(frame);
    }
    let height = (u64::from(frame.height) * u64::from(width) / u64::from(frame.width)).max(1) as u32;
    match image::GrayImage::from_raw(frame.width, frame.height, frame.pixels.clone()) {
        Some(img) => {
            let small = image::imageops::thumbnail(&img, width, height);
            std::borrow::Cow::Owned(GrayFrame { width, height, pixels: small.into_raw() })
        }
        None => std::borrow::Cow::Borrowed(frame),
    }
}

pub fn with_rqrr(frame: &GrayFrame) -> Option<Decoded> {
    let frame = at_most(frame, SECOND_PASS_WIDTH);
    let found = catch_unwind(AssertUnwindSafe(|| {
        let w = frame.width as usize;
        let mut img =
            rqrr::PreparedImage::prepare_from_greyscale(w, frame.height as usize, |x, y| frame.pixels[y * w + x]);
        img.detect_grids().into_iter().find_map(|g| g.decode().ok().map(|(_, text)| text))
    }));
    match found {
        Ok(Some(text)) if !text.is_empty() => Some(Decoded { text, format: "qr", decoder: Decoder::Rqrr }),
        Ok(_) => None,
        Err(_) => {
            tracing::warn!(frame = ?*frame, "rqrr panicked on a frame; frame skipped");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qr_frame(text: &str, module_px: u32) -> GrayFrame {
        let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
        let img = code.render::<image::Luma<u8>>().module_dimensions(module_px, module_px).build();
        GrayFrame::from_image(&image::DynamicImage::ImageLuma8(img))
    }

    #[test]
    fn both_decoders_read_a_clean_qr() {
        let f = qr_frame("280000000000000010", 4);
        assert_eq!(with_rxing(&f).map(|d| d.text), Some("280000000000000010".into()));
        assert_eq!(with_rqrr(&f).map(|d| d.text), Some("280000000000000010".into()));
        assert_eq!(decode(&f).map(|d| (d.format, d.decoder)), Some(("qr", Decoder::Rxing)));
    }

    #[test]
    fn a_blank_frame_has_no_code() {
        let f = GrayFrame::new(64, 48, vec![128; 64 * 48]).unwrap();
        assert_eq!(decode(&f), None);
    }

    #[test]
    fn a_frame_whose_buffer_does_not_match_its_size_is_refused() {
        assert!(GrayFrame::new(10, 10, vec![0; 99]).is_none());
        assert!(GrayFrame::new(0, 10, vec![]).is_none());
    }
}
