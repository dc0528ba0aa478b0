//! The camera test images: wallet payment codes as a phone shows them, photographed badly in
//! known ways (small, rotated, tilted, blurred, noisy, low contrast, partly covered), the 1D
//! barcode wallets print under the QR, and frames with no code at all. Generated here from a
//! fixed seed and kept in `assets/scan-images/` (so `zbarimg` and people can look at the same
//! files); `scan_images_are_current` checks the kept files are what this code makes.

#![allow(dead_code)]

use image::{GrayImage, Luma};
use imageproc::geometric_transformations::{rotate_about_center, warp, Interpolation, Projection};
use std::path::PathBuf;

pub struct Sample {
    pub category: &'static str,
    pub name: String,
    /// The code the picture holds; None for frames with no code.
    pub code: Option<String>,
    pub image: GrayImage,
}

pub const CATEGORIES: [&str; 9] =
    ["size", "rotated", "perspective", "blurred", "noisy", "low_contrast", "covered", "barcode_1d", "no_code"];

pub fn assets_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/scan-images")
}

pub fn path_of(s: &Sample) -> PathBuf {
    assets_dir().join(s.category).join(format!("{}.png", s.name))
}

const COUNTER: u8 = 70;
pub const SCREEN: u8 = 235;

/// Payment codes of each wallet's shape, different for every picture.
struct Codes(fastrand::Rng);

impl Codes {
    fn next(&mut self) -> String {
        let digits =
            |rng: &mut fastrand::Rng, n: usize| (0..n).map(|_| char::from(b'0' + rng.u8(0..10))).collect::<String>();
        match self.0.u8(0..3) {
            0 => format!("1{}{}", self.0.u8(0..6), digits(&mut self.0, 16)), // WeChat, 18
            1 => format!("28{}", digits(&mut self.0, 16)),                   // Alipay, 18
            _ => format!("62{}", digits(&mut self.0, 17)),                   // UnionPay, 19
        }
    }
}

/// The QR a wallet shows: level M, `module` pixels per module, with a 4-module white margin.
pub fn qr(code: &str, module: u32, dark: u8, light: u8) -> GrayImage {
    let q = qrcode::QrCode::with_error_correction_level(code.as_bytes(), qrcode::EcLevel::M).expect("a QR fits");
    q.render::<Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(module, module)
        .dark_color(Luma([dark]))
        .light_color(Luma([light]))
        .build()
}

/// The Code 128 barcode a wallet prints above its QR: `bar` pixels per module, `height` tall,
/// with a 10-module white margin.
fn code128(code: &str, bar: u32, height: u32) -> GrayImage {
    use rxing::Writer;
    let m = rxing::oned::Code128Writer
        .encode(code, &rxing::BarcodeFormat::CODE_128, 0, 1)
        .expect("digits encode as Code 128");
    let margin = 10 * bar;
    GrayImage::from_fn(m.width() * bar + 2 * margin, height + 2 * margin, |x, y| {
        let inside = x >= margin && x < margin + m.width() * bar && y >= margin && y < margin + height;
        Luma([if inside && m.get((x - margin) / bar, 0) { 0 } else { 255 }])
    })
}

/// `symbol` on a phone screen in the middle of a `w`×`h` camera frame.
pub fn on_counter(symbol: &GrayImage, w: u32, h: u32, screen: u8) -> GrayImage {
    let mut frame = GrayImage::from_pixel(w, h, Luma([COUNTER]));
    let pad = 16;
    let (sw, sh) = ((symbol.width() + 2 * pad).min(w), (symbol.height() + 2 * pad).min(h));
    let (sx, sy) = ((w - sw) / 2, (h - sh) / 2);
    for y in sy..sy + sh {
        for x in sx..sx + sw {
            frame.put_pixel(x, y, Luma([screen]));
        }
    }
    let (x, y) = ((w.saturating_sub(symbol.width())) / 2, (h.saturating_sub(symbol.height())) / 2);
    image::imageops::overlay(&mut frame, symbol, x.into(), y.into());
    frame
}

fn gaussian_noise(img: &GrayImage, stddev: f64, seed: u64) -> GrayImage {
    imageproc::noise::gaussian_noise(img, 0.0, stddev, seed)
}

pub fn samples() -> Vec<Sample> {
    let mut codes = Codes(fastrand::Rng::with_seed(20261122));
    let mut out = Vec::new();
    let mut add = |category: &'static str, name: String, code: Option<String>, image: GrayImage| {
        out.push(Sample { category, name, code, image });
    };

    // Sizes: from 2 px modules (a phone far away) to 8, in 640×480 and 1280×720 frames.
    for (i, (module, w, h)) in [
        (2, 640, 480),
        (3, 640, 480),
        (4, 640, 480),
        (6, 640, 480),
        (8, 640, 480),
        (2, 1280, 720),
        (5, 1280, 720),
        (10, 1280, 720),
    ]
    .into_iter()
    .enumerate()
    {
        let code = codes.next();
        let img = on_counter(&qr(&code, module, 0, 255), w, h, SCREEN);
        add("size", format!("{i:02}-m{module}-{w}x{h}"), Some(code), img);
    }

    // Rotated on the counter.
    for (i, degrees) in [8.0f32, 22.0, 45.0, 67.0, 90.0, 135.0, 200.0, 315.0].into_iter().enumerate() {
        let code = codes.next();
        let frame = on_counter(&qr(&code, 4, 0, 255), 640, 480, SCREEN);
        let img = rotate_about_center(&frame, degrees.to_radians(), Interpolation::Bilinear, Luma([COUNTER]));
        add("rotated", format!("{i:02}-{degrees}deg"), Some(code), img);
    }

    // Tilted phone: the screen's corners pulled in by `k` on one side or two.
    for (i, (kx, ky)) in
        [(0.10f32, 0.0f32), (0.20, 0.0), (0.0, 0.15), (0.15, 0.15), (0.25, 0.10), (0.30, 0.25)].into_iter().enumerate()
    {
        let code = codes.next();
        let frame = on_counter(&qr(&code, 5, 0, 255), 640, 480, SCREEN);
        let (w, h) = (640.0, 480.0);
        let from = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)];
        let to = [(w * kx, h * ky), (w * (1.0 - kx * 0.3), 0.0), (w, h), (w * kx * 0.6, h * (1.0 - ky))];
        let p = Projection::from_control_points(from, to).expect("a projection");
        let img = warp(&frame, &p, Interpolation::Bilinear, Luma([COUNTER]));
        add("perspective", format!("{i:02}-k{kx}-{ky}"), Some(code), img);
    }

    // Out of focus or moving.
    for (i, sigma) in [0.8f32, 1.2, 1.6, 2.0, 2.5, 3.2].into_iter().enumerate() {
        let code = codes.next();
        let frame = on_counter(&qr(&code, 5, 0, 255), 640, 480, SCREEN);
        add("blurred", format!("{i:02}-sigma{sigma}"), Some(code), imageproc::filter::gaussian_blur_f32(&frame, sigma));
    }

    // Sensor noise in a dim shop.
    for (i, stddev) in [10.0f64, 20.0, 30.0, 40.0, 55.0, 70.0].into_iter().enumerate() {
        let code = codes.next();
        let frame = on_counter(&qr(&code, 4, 0, 255), 640, 480, SCREEN);
        add("noisy", format!("{i:02}-sd{stddev}"), Some(code), gaussian_noise(&frame, stddev, 7 + i as u64));
    }

    // A dimmed screen, glare, a grey-on-grey print.
    for (i, (dark, light)) in
        [(60u8, 160u8), (90, 170), (110, 160), (120, 150), (150, 190), (40, 80)].into_iter().enumerate()
    {
        let code = codes.next();
        let frame = on_counter(&qr(&code, 5, dark, light), 640, 480, light);
        add("low_contrast", format!("{i:02}-{dark}-{light}"), Some(code), frame);
    }

    // A thumb over part of the code: growing, then over a finder pattern.
    for (i, (fx, fy, r)) in [
        (0.62f32, 0.66f32, 0.04f32),
        (0.60, 0.55, 0.06),
        (0.66, 0.62, 0.08),
        (0.50, 0.72, 0.10),
        (0.24, 0.24, 0.08),
        (0.5, 0.5, 0.16),
    ]
    .into_iter()
    .enumerate()
    {
        let code = codes.next();
        let symbol = qr(&code, 5, 0, 255);
        let side = symbol.width() as f32;
        let mut frame = on_counter(&symbol, 640, 480, SCREEN);
        let (x0, y0) = ((640.0 - side) / 2.0, (480.0 - side) / 2.0);
        let centre = ((x0 + side * fx) as i32, (y0 + side * fy) as i32);
        let radius = (side * r) as i32;
        imageproc::drawing::draw_filled_ellipse_mut(
            &mut frame,
            centre,
            radius,
            (radius as f32 * 1.4) as i32,
            Luma([150]),
        );
        add("covered", format!("{i:02}-r{r}"), Some(code), frame);
    }

    // The 1D barcode alone (the QR off screen or covered).
    for (i, (bar, degrees)) in [(2u32, 0.0f32), (3, 0.0), (2, 4.0), (3, 180.0), (4, 0.0)].into_iter().enumerate() {
        let code = codes.next();
        let frame = on_counter(&code128(&code, bar, 90), 640, 480, SCREEN);
        let img = rotate_about_center(&frame, degrees.to_radians(), Interpolation::Bilinear, Luma([COUNTER]));
        add("barcode_1d", format!("{i:02}-bar{bar}-{degrees}deg"), Some(code), img);
    }

    // Frames with nothing to read: an empty counter, a gradient, noise, stripes, a chequerboard,
    // a blank phone screen, text-like blocks, a QR's finder patterns alone.
    let mut rng = fastrand::Rng::with_seed(5);
    let blank = GrayImage::from_pixel(640, 480, Luma([COUNTER]));
    add("no_code", "00-empty".into(), None, blank.clone());
    add("no_code", "01-gradient".into(), None, GrayImage::from_fn(640, 480, |x, y| Luma([((x + y) / 5 % 256) as u8])));
    add("no_code", "02-noise".into(), None, GrayImage::from_fn(640, 480, |_, _| Luma([rng.u8(..)])));
    add(
        "no_code",
        "03-stripes".into(),
        None,
        GrayImage::from_fn(640, 480, |x, _| Luma([if x / 7 % 2 == 0 { 20 } else { 230 }])),
    );
    add(
        "no_code",
        "04-chequer".into(),
        None,
        GrayImage::from_fn(640, 480, |x, y| Luma([if (x / 16 + y / 16) % 2 == 0 { 10 } else { 245 }])),
    );
    add(
        "no_code",
        "05-blank-screen".into(),
        None,
        on_counter(&GrayImage::from_pixel(260, 260, Luma([SCREEN])), 640, 480, SCREEN),
    );
    let mut text = GrayImage::from_pixel(640, 480, Luma([SCREEN]));
    for line in 0..20u32 {
        let mut x = 20;
        while x < 600 {
            let word = rng.u32(10..60);
            for yy in 20 + line * 22..32 + line * 22 {
                for xx in x..(x + word).min(620) {
                    text.put_pixel(xx, yy, Luma([30]));
                }
            }
            x += word + rng.u32(6..14);
        }
    }
    add("no_code", "06-text".into(), None, text);
    let finders = {
        let full = qr("280000000000000000", 6, 0, 255);
        let mut f = on_counter(&full, 640, 480, SCREEN);
        // Blank everything but the three finder patterns: no data left to read.
        let (x0, y0) = ((640 - full.width()) / 2 + 24, (480 - full.height()) / 2 + 24);
        let n = full.width() - 48;
        for y in y0..y0 + n {
            for x in x0..x0 + n {
                let (mx, my) = ((x - x0) / 6, (y - y0) / 6);
                let modules = n / 6;
                let in_finder = (mx < 8 && (my < 8 || my >= modules - 8)) || (mx >= modules - 8 && my < 8);
                if !in_finder {
                    f.put_pixel(x, y, Luma([255]));
                }
            }
        }
        f
    };
    add("no_code", "07-finders-only".into(), None, finders);
    out
}
