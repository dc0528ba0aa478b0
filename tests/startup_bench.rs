//! App start to an interactive clerk window, and the memory of all the app's processes
//! (the app and the WebKit processes it starts), under Xvfb.
//!
//! `xvfb-run -a cargo run --release -p paydesk-e2e --bin startup-bench [-- RUNS]`
//! Times the release app (`target/release/paydesk`, or `PAYDESK_APP`) from spawn until it logs
//! "clerk window ready" (the UI's first call to the core, made once the page is drawn), each run
//! in a fresh data folder (so the first-run demo profile and its sandbox are part of it). Then,
//! two seconds later, sums PSS and RSS over the process tree.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn children_of(root: u32) -> Vec<u32> {
    let mut parent: HashMap<u32, u32> = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
            // The command name is in parentheses and may hold spaces: read after the last ')'.
            let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
            if let Some(ppid) = after.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
                parent.insert(pid, ppid);
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        tree.extend(parent.iter().filter(|(_, pp)| **pp == p).map(|(c, _)| *c));
        i += 1;
    }
    tree
}

/// (PSS kB, RSS kB, name) of one process.
fn memory(pid: u32) -> Option<(u64, u64, String)> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let field = |name: &str| {
        rollup
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_string();
    Some((field("Pss:"), field("Rss:"), name))
}

fn main() {
    let runs: usize = std::env::args().filter_map(|a| a.parse().ok()).next().unwrap_or(5);
    assert!(std::env::var_os("DISPLAY").is_some(), "run under xvfb-run");
    let app = std::env::var_os("PAYDESK_APP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/paydesk"));
    assert!(app.exists(), "build the app first: cargo build --release -p paydesk-app");
    let mut starts = Vec::new();
    let mut pss_totals = Vec::new();
    for run in 1..=runs {
        let home = tempfile::tempdir().expect("temp home");
        let started = Instant::now();
        let mut child = Command::new(&app)
            .env("PAYDESK_HOME", home.path())
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
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(60)).expect("the window became ready");
        let ready = started.elapsed();
        std::thread::sleep(Duration::from_secs(2));
        let mut by_name: Vec<(u64, u64, String)> = children_of(child.id()).into_iter().filter_map(memory).collect();
        by_name.sort_by_key(|m| std::cmp::Reverse(m.0));
        let pss: u64 = by_name.iter().map(|m| m.0).sum();
        let rss: u64 = by_name.iter().map(|m| m.1).sum();
        let parts: Vec<String> = by_name.iter().map(|(p, _, n)| format!("{n} {:.1}", *p as f64 / 1024.0)).collect();
        println!(
            "run {run}: ready in {:>6.0} ms; memory PSS {:>6.1} MiB, RSS {:>6.1} MiB over {} processes ({})",
            ready.as_secs_f64() * 1000.0,
            pss as f64 / 1024.0,
            rss as f64 / 1024.0,
            by_name.len(),
            parts.join(", ")
        );
        starts.push(ready);
        pss_totals.push(pss);
        let _ = child.kill();
        let _ = child.wait();
        std::thread::sleep(Duration::from_millis(500));
    }
    starts.sort();
    pss_totals.sort();
    println!(
        "start to interactive window: median {:.0} ms, max {:.0} ms; total PSS median {:.1} MiB ({runs} runs)",
        starts[starts.len() / 2].as_secs_f64() * 1000.0,
        starts[starts.len() - 1].as_secs_f64() * 1000.0,
        pss_totals[pss_totals.len() / 2] as f64 / 1024.0
    );
}
