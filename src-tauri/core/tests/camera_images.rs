//! The camera's decode path on the kept test images (`assets/scan-images/`): every picture is
//! loaded the way the camera's file source loads a frame and decoded by the function the decode
//! thread calls. The rate is asserted per category; a frame with no code must never read as one.

#[path = "support/scan_images.rs"]
mod scan_images;

use paydesk_core::scan::camera::load_frame;
use paydesk_core::scan::decode::decode;
use scan_images::{assets_dir, path_of, samples, Sample, CATEGORIES};
use std::collections::BTreeMap;

const MANIFEST: &str = "manifest.tsv";

/// Made once per test binary (it takes a few seconds).
fn all() -> &'static [Sample] {
    static SAMPLES: std::sync::OnceLock<Vec<Sample>> = std::sync::OnceLock::new();
    SAMPLES.get_or_init(samples)
}

fn manifest_text() -> String {
    let mut text =
        String::from("# category\tfile\tcode (- for none); made by src-tauri/core/tests/support/scan_images.rs\n");
    for s in all() {
        text += &format!("{}\t{}/{}.png\t{}\n", s.category, s.category, s.name, s.code.as_deref().unwrap_or("-"));
    }
    text
}

/// `PAYDESK_WRITE_SCAN_IMAGES=1 cargo test -p paydesk-core --test camera_images` rewrites them.
#[test]
fn scan_images_are_current() {
    if std::env::var_os("PAYDESK_WRITE_SCAN_IMAGES").is_some() {
        let _ = std::fs::remove_dir_all(assets_dir());
        for s in all() {
            let path = path_of(s);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            s.image.save(&path).unwrap();
        }
        std::fs::write(assets_dir().join(MANIFEST), manifest_text()).unwrap();
    }
    let kept = std::fs::read_to_string(assets_dir().join(MANIFEST))
        .expect("assets/scan-images/manifest.tsv: run with PAYDESK_WRITE_SCAN_IMAGES=1 to make the images");
    assert_eq!(kept, manifest_text(), "the manifest is out of date");
    for s in all() {
        let stored = image::open(path_of(s)).unwrap_or_else(|e| panic!("{}: {e}", path_of(s).display())).to_luma8();
        assert!(stored == s.image, "{} differs from what the generator makes", path_of(s).display());
    }
}

#[test]
fn decode_rate_per_category() {
    // Pictures read (of 8, 8, 6, 6, 6, 6, 6, 5), measured on these images with rxing then rqrr;
    // fewer is a regression. What is missed, and what zbarimg reads: benches/scan_decode.rs.
    let floor: BTreeMap<&str, usize> = BTreeMap::from([
        ("size", 8),
        ("rotated", 8),
        ("perspective", 6),
        ("blurred", 5),
        ("noisy", 5),
        ("low_contrast", 4),
        ("covered", 4),
        ("barcode_1d", 5),
    ]);
    let mut table = String::new();
    let mut failures = Vec::new();
    for category in CATEGORIES {
        let mut read = 0;
        let mut total = 0;
        for s in all().iter().filter(|s| s.category == category) {
            total += 1;
            let frame = load_frame(&path_of(s)).expect("a kept image loads");
            let got = decode(&frame).map(|d| d.text);
            match (&s.code, got) {
                (Some(want), Some(got)) if *want == got => read += 1,
                (Some(_), Some(wrong)) => failures.push(format!("{}/{}: misread as {wrong}", s.category, s.name)),
                (Some(_), None) => table += &format!("  missed {}/{}\n", s.category, s.name),
                (None, Some(phantom)) => {
                    failures.push(format!("{}/{}: read {phantom} from a frame with no code", s.category, s.name))
                }
                (None, None) => {}
            }
        }
        table += &format!("{category:>13}: {read}/{total} read\n");
        if let Some(min) = floor.get(category) {
            if read < *min {
                failures.push(format!("{category}: {read}/{total} read, fewer than {min}"));
            }
        }
    }
    println!("{table}");
    assert!(failures.is_empty(), "{failures:#?}\n{table}");
}
