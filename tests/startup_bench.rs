//! App start to an interactive clerk window, and the memory of all the app's processes
//! (the app and the WebKit processes it starts), under Xvfb.
//!
//! `xvfb-run -a cargo run --release -p paydesk-e2e --bin startup-bench [-- RUNS] [--payments N]`
//! Times the release app (`target/release/paydesk`, or `PAYDESK_APP`) from spawn until it logs
//! "clerk window ready" (the UI's first call to the core, made once the page is drawn), each run
//! in a fresh data folder (so the first-run demo profile and its sandbox are part of it). Then,
//! two seconds later, sums PSS and RSS over the process tree.
//!
//! With `--payments N` each data folder starts with a copy of a ledger of N payments (ten
//! years of a busy counter at a million; made once under target/bench-ledgers/), and the bench
//! also reports when the integrity check beside the window said the ledger is intact.

#[path = "../src-tauri/core/tests/common/ledger_gen.rs"]
mod ledger_gen;

use paydesk_e2e::procmem;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A started app and what it logged: when the window became ready and the ledger checked.
struct Launch {
    child: std::process::Child,
    ready: Duration,
    checked: Duration,
}

fn launch(app: &Path, home: &Path) -> Launch {
    let started = Instant::now();
    let mut child = Command::new(app)
        .env("PAYDESK_HOME", home)
        .env("PAYDESK_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("app starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("clerk window ready") {
                let _ = tx.send(("ready", started.elapsed()));
            }
            if line.contains("ledger checked") {
                let _ = tx.send(("checked", started.elapsed()));
            }
        }
    });
    let (mut ready, mut checked) = (None, None);
    while ready.is_none() || checked.is_none() {
        match rx.recv_timeout(Duration::from_secs(120)).expect("the window became ready and the ledger checked") {
            ("ready", at) => ready = Some(at),
            (_, at) => checked = Some(at),
        }
    }
    Launch { child, ready: ready.unwrap_or_default(), checked: checked.unwrap_or_default() }
}

fn stop(mut launch: Launch) {
    let _ = launch.child.kill();
    let _ = launch.child.wait();
}

/// A kept data folder whose ledger holds `n` payments, made the first time: the app's own first
/// run writes the demo profile (config, keys, users), then the history goes into its ledger.
fn history_home(app: &Path, n: usize) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-ledgers");
    let home = dir.join(format!("startup-{n}"));
    if !home.join("ledger.db").exists() || home.join("partial").exists() {
        let started = Instant::now();
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).expect("bench dir");
        std::fs::write(home.join("partial"), b"").expect("marker");
        stop(launch(app, &home));
        ledger_gen::build_history(&home.join("ledger.db"), n);
        std::fs::remove_file(home.join("partial")).expect("marker removed");
        println!("built a ledger of {n} payments in {:.0} s", started.elapsed().as_secs_f64());
    }
    home
}

/// Files and folders, not the sockets a running app left.
fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("template home").flatten() {
        let Ok(kind) = entry.file_type() else { continue };
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            std::fs::create_dir_all(&target).expect("folder copied");
            copy_dir(&entry.path(), &target);
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).expect("file copied");
        }
    }
}

fn median_ms(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let payments: Option<usize> =
        args.iter().position(|a| a == "--payments").and_then(|i| args.get(i + 1)).and_then(|n| n.parse().ok());
    let runs: usize = args
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || args[i - 1] != "--payments")
        .find_map(|(_, a)| a.parse().ok())
        .unwrap_or(5);
    assert!(std::env::var_os("DISPLAY").is_some(), "run under xvfb-run");
    let app = std::env::var_os("PAYDESK_APP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/paydesk"));
    assert!(app.exists(), "build the app first: cargo build --release -p paydesk-app");
    let template = payments.map(|n| history_home(&app, n));
    if let (Some(n), Some(home)) = (payments, &template) {
        let size = std::fs::metadata(home.join("ledger.db")).map(|m| m.len()).unwrap_or(0);
        println!("each run starts on a ledger of {n} payments ({:.0} MiB)", size as f64 / 1048576.0);
    }
    let mut starts = Vec::new();
    let mut checks = Vec::new();
    let mut pss_totals = Vec::new();
    for run in 1..=runs {
        let home = tempfile::tempdir().expect("temp home");
        if let Some(template) = &template {
            copy_dir(template, home.path());
        }
        let launched = launch(&app, home.path());
        let (ready, checked) = (launched.ready, launched.checked);
        std::thread::sleep(Duration::from_secs(2));
        let mut by_name: Vec<(u64, u64, String)> =
            procmem::children_of(launched.child.id()).into_iter().filter_map(procmem::memory).collect();
        by_name.sort_by_key(|m| std::cmp::Reverse(m.0));
        let pss: u64 = by_name.iter().map(|m| m.0).sum();
        let rss: u64 = by_name.iter().map(|m| m.1).sum();
        let parts: Vec<String> = by_name.iter().map(|(p, _, n)| format!("{n} {:.1}", *p as f64 / 1024.0)).collect();
        println!(
            "run {run}: ready in {:>6.0} ms, ledger checked at {:>6.0} ms; memory PSS {:>6.1} MiB, RSS {:>6.1} MiB over {} processes ({})",
            ready.as_secs_f64() * 1000.0,
            checked.as_secs_f64() * 1000.0,
            pss as f64 / 1024.0,
            rss as f64 / 1024.0,
            by_name.len(),
            parts.join(", ")
        );
        starts.push(ready);
        checks.push(checked);
        pss_totals.push(pss);
        stop(launched);
        std::thread::sleep(Duration::from_millis(500));
    }
    let max = starts.iter().max().copied().unwrap_or_default();
    pss_totals.sort();
    println!(
        "start to interactive window: median {:.0} ms, max {:.0} ms; ledger checked: median {:.0} ms; total PSS median {:.1} MiB ({runs} runs)",
        median_ms(starts),
        max.as_secs_f64() * 1000.0,
        median_ms(checks),
        pss_totals[pss_totals.len() / 2] as f64 / 1024.0
    );
}
