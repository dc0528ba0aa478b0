//! Scanner figures: `cargo bench -p paydesk-core --bench scan_decode`.
//! 1. Decode time per greyscale frame, 640×480 and 1280×720 (median, p95), per decoder pass.
//! 2. Decode rate on the kept test images (assets/scan-images), next to `zbarimg` (Debian
//!    zbar-tools) run on the same files in the same run, with the time ratio.
//! 3. Serial scanner latency: terminator byte written to a real pty → scan delivered (median, p99).

#[path = "../tests/support/scan_images.rs"]
mod scan_images;

use paydesk_core::config::{SerialSettings, Terminator};
use paydesk_core::scan::camera::load_frame;
use paydesk_core::scan::decode::{decode, with_rqrr, with_rxing, GrayFrame};
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
    pass: fn(&GrayFrame) -> Option<paydesk_core::scan::decode::Decoded>,
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
        for (pass, f) in [
            ("rxing (every frame)", with_rxing as fn(&GrayFrame) -> _),
            ("rqrr (second pass)", with_rqrr),
            ("both (thorough)", decode),
        ] {
            let (p50, p95, max) = time_pass(frames, f);
            println!("| {label} ({}) | {pass} | {} | {} | {} |", frames.len(), ms(p50), ms(p95), ms(max));
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
    decode_times(&samples);
    rates(&samples);
    serial_latency();
}
