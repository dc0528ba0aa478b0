//! Scanner figures: `cargo bench -p paydesk-core --bench scan_decode`.
//! 1. Decode time per greyscale frame, 640×480 and 1280×720 (median, p95), per decoder pass.
//! 2. Decode rate on the kept test images (assets/scan-images), next to `zbarimg` (Debian
//!    zbar-tools) run on the same files in the same run, with the time ratio.
//! 3. Serial scanner latency: terminator byte written to a real pty → scan delivered (median, p99).
//! 4. Decode rate on ZXing's blackbox photos of QR codes and Code 128 labels (228 images, made
//!    by `scripts/blackbox.sh` into target/blackbox), per pass, next to `zbarimg` on the same files.

#[path = "../tests/support/scan_images.rs"]
mod scan_images;

use paydesk_core::config::{SerialSettings, Terminator};
use paydesk_core::scan::camera::load_frame;
use paydesk_core::scan::decode::{decode, read, GrayFrame, ALL_PASSES};
use paydesk_core::scan::serial::{SerialScanner, SerialState};
use serialport::SerialPort;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// `frame` in the middle of a `w`×`h` frame of counter grey (the code keeps its pixel size).
fn placed(frame: &GrayFrame, w: u32, h: u32) -> GrayFrame {
    let mut out = vec![70u8; (w * h) as usize];
    let (ox, oy) = ((w.saturating_sub(frame.width)) / 2, (h.saturating_sub(frame.height)) / 2);
    for y in 0..frame.height.min(h) {
        for x in 0..frame.width.min(w) {
            out[((y + oy) * w + x + ox) as usize] = frame.pixels[(y * frame.width + x) as usize];
        }
    }
    GrayFrame::new(w, h, out).expect("sizes match")
}

fn time_pass(
    frames: &[GrayFrame],
    pass: impl Fn(&GrayFrame) -> Option<paydesk_core::scan::decode::Decoded>,
) -> (Duration, Duration, Duration) {
    let mut times = Vec::new();
    for _ in 0..3 {
        for f in frames {
            let t = Instant::now();
            std::hint::black_box(pass(f));
            times.push(t.elapsed());
        }
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.95), *times.last().unwrap_or(&Duration::ZERO))
}

fn decode_times(samples: &[(scan_images::Sample, GrayFrame)]) {
    println!("\n## 1. Decode time per frame (one core, release build; 3 rounds over the kept images)");
    let vga: Vec<GrayFrame> = samples.iter().map(|(_, f)| placed(f, 640, 480)).collect();
    let hd: Vec<GrayFrame> = samples.iter().map(|(_, f)| placed(f, 1280, 720)).collect();
    let empty_vga: Vec<GrayFrame> =
        samples.iter().filter(|(s, _)| s.code.is_none()).map(|(_, f)| placed(f, 640, 480)).collect();
    let empty_hd: Vec<GrayFrame> =
        samples.iter().filter(|(s, _)| s.code.is_none()).map(|(_, f)| placed(f, 1280, 720)).collect();
    println!("| frames | pass | median | p95 | max |");
    println!("|---|---|---|---|---|");
    for (label, frames) in
        [("640×480 all", &vga), ("640×480 no code", &empty_vga), ("1280×720 all", &hd), ("1280×720 no code", &empty_hd)]
    {
        let (p50, p95, max) = time_pass(frames, decode);
        println!(
            "| {label} ({}) | all passes (a still image) | {} | {} | {} |",
            frames.len(),
            ms(p50),
            ms(p95),
            ms(max)
        );
        for pass in ALL_PASSES {
            let (p50, p95, max) = time_pass(frames, |f| read(f, pass));
            println!("| {label} ({}) | {pass:?} | {} | {} | {} |", frames.len(), ms(p50), ms(p95), ms(max));
        }
    }
}

fn zbarimg(path: &std::path::Path) -> Option<String> {
    let out = Command::new("zbarimg").args(["-q", "--raw"]).arg(path).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().next().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty())
}

fn rates(samples: &[(scan_images::Sample, GrayFrame)]) {
    println!("\n## 2. Decode rate on assets/scan-images: paydesk (rxing, then rqrr) and zbarimg");
    if Command::new("zbarimg").arg("--version").output().is_err() {
        println!("zbarimg is not installed (apt-get install zbar-tools): skipped");
        return;
    }
    let mut per: BTreeMap<&str, [usize; 4]> = BTreeMap::new(); // ours, zbar, total, wrong
    let (mut ours_time, mut ours_load_time, mut zbar_time) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for (s, _) in samples {
        let path = scan_images::path_of(s);
        let t = Instant::now();
        let frame = load_frame(&path).expect("kept image");
        let t_decode = Instant::now();
        let ours = decode(&frame).map(|d| d.text);
        ours_time += t_decode.elapsed();
        ours_load_time += t.elapsed();
        let t = Instant::now();
        let zbar = zbarimg(&path);
        zbar_time += t.elapsed();
        let e = per.entry(s.category).or_default();
        e[2] += 1;
        match &s.code {
            Some(want) => {
                e[0] += usize::from(ours.as_deref() == Some(want));
                e[1] += usize::from(zbar.as_deref() == Some(want));
            }
            None => {
                // On frames with no code, a read is wrong.
                e[0] += usize::from(ours.is_none());
                e[1] += usize::from(zbar.is_none());
            }
        }
    }
    println!("| category | paydesk | zbarimg |");
    println!("|---|---|---|");
    let (mut ours_all, mut zbar_all, mut all) = (0, 0, 0);
    for (c, [o, z, n, _]) in &per {
        println!("| {c} | {o}/{n} | {z}/{n} |");
        (ours_all, zbar_all, all) = (ours_all + o, zbar_all + z, all + n);
    }
    println!("| all (no_code: correctly nothing) | {ours_all}/{all} | {zbar_all}/{all} |");
    // One zbarimg process for all files: its per-image time without process start-up.
    let paths: Vec<_> = samples.iter().map(|(s, _)| scan_images::path_of(s)).collect();
    let t = Instant::now();
    let _ = Command::new("zbarimg").arg("-q").args(&paths).output();
    let zbar_batch = t.elapsed();
    let n = samples.len() as u32;
    println!(
        "\ntime per image: paydesk decode {} (with PNG load {}); zbarimg one process per file {}, one process for all {}",
        ms(ours_time / n),
        ms(ours_load_time / n),
        ms(zbar_time / n),
        ms(zbar_batch / n)
    );
    println!(
        "ratio zbarimg / paydesk (both loading the PNG, zbarimg in one process): {:.2}",
        zbar_batch.as_secs_f64() / ours_load_time.as_secs_f64()
    );
}

fn serial_latency() {
    println!("\n## 3. Serial scanner: terminator written to the pty → scan delivered");
    let (mut master, slave) = match serialport::TTYPort::pair() {
        Ok(p) => p,
        Err(e) => return println!("no pty: {e}"),
    };
    let port = slave.name().unwrap_or_default();
    let (tx, rx) = std::sync::mpsc::channel();
    let scanner = SerialScanner::start(
        SerialSettings { enabled: true, port, baud: 115_200, terminator: Terminator::Cr, ..SerialSettings::default() },
        move |_scan| {
            let _ = tx.send(Instant::now());
        },
    );
    let state = scanner.state();
    let until = Instant::now() + Duration::from_secs(5);
    while !matches!(*state.borrow(), SerialState::Connected { .. }) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut times = Vec::new();
    for i in 0..500u32 {
        let code = format!("28{:016}", i);
        // The code first, the terminator alone: the clock starts when the terminator is written.
        master.write_all(code.as_bytes()).expect("write");
        std::thread::sleep(Duration::from_millis(2));
        let t = Instant::now();
        master.write_all(b"\r").expect("write");
        let Ok(got) = rx.recv_timeout(Duration::from_secs(2)) else {
            println!("scan {i} never arrived");
            return;
        };
        times.push(got.saturating_duration_since(t));
    }
    times.sort();
    println!(
        "500 scans: median {}, p99 {}, max {}",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        ms(*times.last().unwrap_or(&Duration::ZERO))
    );
    scanner.stop();
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would too: run only for bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let samples: Vec<_> = scan_images::samples()
        .into_iter()
        .map(|s| {
            let f = load_frame(&scan_images::path_of(&s)).expect("kept image; run the camera_images test first");
            (s, f)
        })
        .collect();
    let only_blackbox = std::env::args().any(|a| a == "blackbox");
    if !only_blackbox {
        decode_times(&samples);
        rates(&samples);
        serial_latency();
    }
    blackbox();
}

/// Whether a decoder's text is the expected one: exactly, or without the expected file's last
/// line break (ZXing's files end in one or not).
fn same_text(got: &str, want: &str) -> bool {
    got == want || want.strip_suffix('\n').is_some_and(|w| got == w || w.strip_suffix('\r') == Some(got))
}

/// zbarimg's reading of a file, all symbols (each printed with a line break after it).
fn zbar_reads(path: &std::path::Path, want: &str) -> bool {
    let Ok(out) = Command::new("zbarimg").args(["-q", "--raw"]).arg(path).output() else { return false };
    let out = String::from_utf8_lossy(&out.stdout);
    let want_line = format!("{}\n", want.strip_suffix('\n').unwrap_or(want));
    out == want || out.starts_with(&want_line) || out.contains(&format!("\n{want_line}"))
}

fn blackbox() {
    let dir = std::env::var_os("PAYDESK_BLACKBOX")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/blackbox"));
    println!("\n## 4. ZXing's blackbox photos ({}): each pass, all passes, zbarimg", dir.display());
    let Ok(folders) = std::fs::read_dir(&dir) else {
        return println!("not there: make it with scripts/blackbox.sh (ZXING_GIT=<a zxing git dir> offline)");
    };
    let mut folders: Vec<_> = folders.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    folders.sort();
    let zbar = Command::new("zbarimg").arg("--version").output().is_ok();
    // per folder: images, zbar, all passes, per pass
    let mut table: Vec<(String, usize, usize, usize, Vec<usize>)> = Vec::new();
    let mut reads_by: Vec<(String, Vec<bool>)> = Vec::new();
    let mut wrong = Vec::new();
    let mut zbar_only = Vec::new();
    let mut missed = Vec::new();
    for folder in folders {
        let name = folder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut images: Vec<_> =
            std::fs::read_dir(&folder).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_else(|_| Vec::new());
        images
            .retain(|p| p.extension().is_some_and(|e| ["png", "jpg", "jpeg", "gif"].contains(&&*e.to_string_lossy())));
        images.sort();
        let mut row = (name.clone(), 0, 0, 0, vec![0; ALL_PASSES.len()]);
        for image in images {
            let want = ["txt", "bin"].iter().find_map(|e| std::fs::read(image.with_extension(e)).ok());
            let Some(want) = want.map(|b| String::from_utf8_lossy(&b).into_owned()) else { continue };
            let Ok(frame) = load_frame(&image) else { continue };
            row.1 += 1;
            let z = zbar && zbar_reads(&image, &want);
            row.2 += usize::from(z);
            let mut by_pass = Vec::new();
            for (i, pass) in ALL_PASSES.iter().enumerate() {
                let got = read(&frame, *pass);
                let ok = got.as_ref().is_some_and(|d| same_text(&d.text, &want));
                if let Some(d) = got.as_ref().filter(|_| !ok) {
                    let file = image.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    wrong.push(format!("{name}/{file} by {pass:?}: {:?}", d.text.chars().take(40).collect::<String>()));
                }
                row.4[i] += usize::from(ok);
                by_pass.push(ok);
            }
            let any = by_pass.iter().any(|b| *b);
            row.3 += usize::from(any);
            let label = format!("{name}/{}", image.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
            if z && !any {
                zbar_only.push(label.clone());
            }
            if !any {
                missed.push(label.clone());
            }
            reads_by.push((label, by_pass));
        }
        table.push(row);
    }
    let passes: Vec<String> = ALL_PASSES.iter().map(|p| format!("{p:?}")).collect();
    println!("| folder | images | zbarimg | paydesk, all passes | {} |", passes.join(" | "));
    println!("|---|---|---|---|{}", "---|".repeat(passes.len()));
    let mut total = (0, 0, 0, vec![0; ALL_PASSES.len()]);
    for (name, n, z, any, per) in &table {
        let cells: Vec<String> = per.iter().map(|c| c.to_string()).collect();
        println!("| {name} | {n} | {z} | {any} | {} |", cells.join(" | "));
        total.0 += n;
        total.1 += z;
        total.2 += any;
        for (t, c) in total.3.iter_mut().zip(per) {
            *t += c;
        }
    }
    let cells: Vec<String> = total.3.iter().map(|c| c.to_string()).collect();
    println!("| all | {} | {} | {} | {} |", total.0, total.1, total.2, cells.join(" | "));
    if total.1 > 0 {
        println!("paydesk / zbarimg: {:.3} ({} / {})", total.2 as f64 / total.1 as f64, total.2, total.1);
    }
    // What each pass adds to the ones before it, in the order `decode` tries them.
    let mut seen = vec![false; reads_by.len()];
    for (i, pass) in passes.iter().enumerate() {
        let mut added = Vec::new();
        for (k, (label, by)) in reads_by.iter().enumerate() {
            if by[i] && !seen[k] {
                seen[k] = true;
                added.push(label.as_str());
            }
        }
        println!("{pass} adds {}: {}", added.len(), added.join(" "));
    }
    // qrcode-2/16.png holds two codes, one inside the other: the read is the inner one.
    println!("wrong texts (a read that is not the expected text): {}", wrong.len());
    for w in &wrong {
        println!("  {w}");
    }
    println!("zbarimg reads, paydesk does not ({}): {}", zbar_only.len(), zbar_only.join(" "));
    println!("paydesk misses ({}): {}", missed.len(), missed.join(" "));
}
