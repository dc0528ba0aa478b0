//! Reading a code from one greyscale frame. The camera reads every frame it can with the cheap
//! pass that reads most ([`CAMERA_EVERY_FRAME`]) and, on its own thread at most every
//! [`SECOND_PASS_EVERY`], with the others in turn ([`CAMERA_IN_TURN`]); a still image gets every
//! [`Pass`] ([`decode`]). Each pass runs behind `catch_unwind`: a frame that makes a decoder panic is a
//! frame without a code, never a dead scanner, and that frame is not given to that pass again.
//!
//! What each pass earns, on ZXing's 228 blackbox photos of QR codes and Code 128 labels
//! (`benches/scan_decode.rs` section 4; zbarimg reads 193): Local 210; then Global adds 2,
//! Margin 1, Harder 2, Enlarged 2 (217, 1.12× zbarimg); rqrr adds none there and panicked on one
//! photo. It is kept only as the last pass of a still image and of the camera's turns (about once
//! a second, ~5 ms on 720p): the one decoder not derived from ZXing, at little cost there. Only QR and Code 128 are looked for: with retail formats (EAN, UPC) and
//! "try harder" on, rxing read a phantom product code from a frame of stripes.

use rxing::{BarcodeFormat, DecodeHints};
use std::cell::OnceCell;
use std::collections::{HashSet, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;
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

/// One way of reading a frame. Each is a separate read of the same pixels; which of them earn
/// their place, and what each costs, is measured on real photos by `benches/scan_decode.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pass {
    /// rxing with local thresholds (uneven light): most codes, a few milliseconds.
    Local,
    /// rxing with one global threshold: a grey-on-grey code on a screen darker than its
    /// surroundings, where local thresholds fail.
    Global,
    /// rxing, local thresholds, on the frame with a white margin added: a code that reaches the
    /// edge of the frame has no quiet zone to be found by.
    Margin,
    /// rxing "try harder" (every row, rotated 1D codes), local thresholds.
    Harder,
    /// rxing on the frame at twice its size: small codes whose modules are a pixel or two.
    Enlarged,
    /// rqrr, on a copy at most 640 pixels wide: QR codes only.
    Rqrr,
    /// A decoder that always panics (the memory of panicked frames is tested with it).
    #[cfg(test)]
    Panicking,
}

#[cfg(test)]
static PANICKING_CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub const ALL_PASSES: [Pass; 6] = [Pass::Local, Pass::Global, Pass::Margin, Pass::Harder, Pass::Enlarged, Pass::Rqrr];

/// The first code found in the frame by any pass, cheapest first: the thorough read of a still
/// image.
pub fn decode(frame: &GrayFrame) -> Option<Decoded> {
    let print = OnceCell::new();
    ALL_PASSES.iter().find_map(|p| read_known(frame, &print, *p))
}

/// Frames (by [`fingerprint`]) that made a pass panic, newest last: a frame seen again (image
/// files replayed as a camera, a camera that froze) is not given to that pass again.
static PANICKED: Mutex<VecDeque<(u64, Pass)>> = Mutex::new(VecDeque::new());
const PANICKED_KEPT: usize = 64;

/// A cheap fingerprint of a frame: its size and every 61st pixel (about 15,000 of a 720p frame;
/// a few microseconds). Two live frames are never this alike; a replayed one is.
fn fingerprint(frame: &GrayFrame) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (frame.width, frame.height).hash(&mut h);
    frame.pixels.iter().step_by(61).for_each(|p| p.hash(&mut h));
    h.finish()
}

/// One pass over the frame. A pass that panics is a frame without a code, never a dead scanner,
/// and that frame is not given to that pass again.
pub fn read(frame: &GrayFrame, pass: Pass) -> Option<Decoded> {
    read_known(frame, &OnceCell::new(), pass)
}

/// [`read`] with the frame's fingerprint worked out at most once however many passes read it, and
/// only once some frame has panicked a pass (never, on the camera's every-frame path, until then).
fn read_known(frame: &GrayFrame, print: &OnceCell<u64>, pass: Pass) -> Option<Decoded> {
    let any_panicked = !PANICKED.lock().unwrap_or_else(|p| p.into_inner()).is_empty();
    if any_panicked {
        let print = *print.get_or_init(|| fingerprint(frame));
        if PANICKED.lock().unwrap_or_else(|p| p.into_inner()).contains(&(print, pass)) {
            return None;
        }
    }
    let found = catch_unwind(AssertUnwindSafe(|| match pass {
        Pass::Local => rxing_read(frame, Binarizer::Local, false),
        Pass::Global => rxing_read(frame, Binarizer::Global, false),
        Pass::Margin => rxing_read(&with_margin(frame), Binarizer::Local, false),
        Pass::Harder => rxing_read(frame, Binarizer::Local, true),
        Pass::Enlarged => rxing_read(&enlarged(frame), Binarizer::Local, false),
        Pass::Rqrr => rqrr_read(frame),
        #[cfg(test)]
        Pass::Panicking => {
            PANICKING_CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            panic!("a decoder's bug")
        }
    }));
    match found {
        Ok(Some(d)) if !d.text.is_empty() => Some(d),
        Ok(_) => None,
        Err(_) => {
            tracing::warn!(?frame, ?pass, "a decoder panicked on a frame; frame skipped, and not given to it again");
            let print = *print.get_or_init(|| fingerprint(frame));
            let mut kept = PANICKED.lock().unwrap_or_else(|p| p.into_inner());
            if kept.len() >= PANICKED_KEPT {
                kept.pop_front();
            }
            kept.push_back((print, pass));
            None
        }
    }
}

/// The camera's first thread reads every frame it can take with this pass: it alone reads 210 of
/// the 217 photos all passes read, at a few milliseconds a 720p frame.
pub const CAMERA_EVERY_FRAME: Pass = Pass::Local;

/// The camera's second thread, at most every [`SECOND_PASS_EVERY`], reads its frame with the next
/// of these in turn: each costs more than the first pass, and each reads a few codes the first
/// misses (a dark screen, a code at the frame's edge, a small one).
pub const CAMERA_IN_TURN: [Pass; 5] = [Pass::Global, Pass::Margin, Pass::Harder, Pass::Enlarged, Pass::Rqrr];

#[derive(Clone, Copy)]
enum Binarizer {
    Local,
    Global,
}

fn rxing_read(frame: &GrayFrame, binarizer: Binarizer, try_harder: bool) -> Option<Decoded> {
    use rxing::common::{GlobalHistogramBinarizer, HybridBinarizer};
    use rxing::{BinaryBitmap, Luma8Source, MultiFormatReader, Reader};
    let hints =
        DecodeHints { PossibleFormats: Some(wanted_formats()), TryHarder: Some(try_harder), ..Default::default() };
    let source = Luma8Source::new_with_slice(&frame.pixels, frame.width, frame.height).ok()?;
    let mut reader = MultiFormatReader::default();
    let result = match binarizer {
        Binarizer::Local => reader.decode_with_hints(&mut BinaryBitmap::new(HybridBinarizer::new(source)), &hints),
        Binarizer::Global => {
            reader.decode_with_hints(&mut BinaryBitmap::new(GlobalHistogramBinarizer::new(source)), &hints)
        }
    };
    let r = result.ok()?;
    Some(Decoded { text: r.getText().to_owned(), format: format_name(r.getBarcodeFormat()), decoder: Decoder::Rxing })
}

/// The frame inside a white margin a tenth of its shorter side wide (at least 8 pixels).
fn with_margin(frame: &GrayFrame) -> GrayFrame {
    let m = (frame.width.min(frame.height) / 10).max(8);
    let (w, h) = (frame.width + 2 * m, frame.height + 2 * m);
    let mut pixels = vec![255u8; (w as usize) * (h as usize)];
    for y in 0..frame.height as usize {
        let from = y * frame.width as usize;
        let to = (y + m as usize) * w as usize + m as usize;
        pixels[to..to + frame.width as usize].copy_from_slice(&frame.pixels[from..from + frame.width as usize]);
    }
    GrayFrame { width: w, height: h, pixels }
}

/// The frame at twice its size (bilinear), or itself when already large.
fn enlarged(frame: &GrayFrame) -> std::borrow::Cow<'_, GrayFrame> {
    if frame.width.max(frame.height) > 1000 {
        return std::borrow::Cow::Borrowed(frame);
    }
    match image::GrayImage::from_raw(frame.width, frame.height, frame.pixels.clone()) {
        Some(img) => {
            let big =
                image::imageops::resize(&img, frame.width * 2, frame.height * 2, image::imageops::FilterType::Triangle);
            std::borrow::Cow::Owned(GrayFrame { width: big.width(), height: big.height(), pixels: big.into_raw() })
        }
        None => std::borrow::Cow::Borrowed(frame),
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

fn rqrr_read(frame: &GrayFrame) -> Option<Decoded> {
    let frame = at_most(frame, SECOND_PASS_WIDTH);
    let w = frame.width as usize;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, frame.height as usize, |x, y| frame.pixels[y * w + x]);
    let text = img.detect_grids().into_iter().find_map(|g| g.decode().ok().map(|(_, text)| text))?;
    Some(Decoded { text, format: "qr", decoder: Decoder::Rqrr })
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
    fn every_pass_reads_a_clean_qr() {
        let f = qr_frame("280000000000000010", 4);
        for pass in ALL_PASSES {
            assert_eq!(read(&f, pass).map(|d| d.text), Some("280000000000000010".into()), "{pass:?}");
        }
        assert_eq!(decode(&f).map(|d| (d.format, d.decoder)), Some(("qr", Decoder::Rxing)));
    }

    #[test]
    fn a_frame_that_panicked_a_pass_is_not_given_to_it_again() {
        let calls = || PANICKING_CALLS.load(std::sync::atomic::Ordering::SeqCst);
        let before = calls();
        let f = qr_frame("280000000000000011", 3);
        assert_eq!(read(&f, Pass::Panicking), None, "a panic is a frame without a code");
        assert_eq!(calls(), before + 1);
        assert_eq!(read(&f, Pass::Panicking), None);
        assert_eq!(calls(), before + 1, "the same frame again: the pass is not run");
        // Other passes still read it, and another frame still goes to the pass.
        assert_eq!(read(&f, Pass::Local).map(|d| d.text), Some("280000000000000011".into()));
        assert_eq!(read(&qr_frame("280000000000000012", 3), Pass::Panicking), None);
        assert_eq!(calls(), before + 2);
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
