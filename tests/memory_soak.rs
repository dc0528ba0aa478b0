//! Memory over a day at the counter: payments taken through the real window of the release build
//! (keypad, a wedge scan of the sandbox's paying code, Done), and every `--every` payments the
//! reports with both charts, the shift tab and a language switch there and back (and a check
//! that the counter still lists only the day's newest payments). After each round
//! it prints the PSS of all the app's processes (the app and its WebKit processes). It fails when
//! the memory after the warm-up grows by more than `--limit` percent.
//!
//! `xvfb-run -a -s "-screen 0 1280x800x24" cargo run --release -p paydesk-e2e --bin memory-soak -- [PAYMENTS] [--every N] [--warmup N] [--limit PCT]`
//! (defaults 2000, 100, 200, 10). Needs `cargo build --release -p paydesk-app` and
//! `tauri-driver`; with `cargo build --release -p paydesk-floor` it first measures the floor: a
//! minimal Tauri window (one static page) on the same screen.

use paydesk_core::engine::COUNTER_ROWS;
use paydesk_e2e::{config_for, procmem, workspace, write_config, Error, Session};
use paydesk_sandbox::{Sandbox, SandboxOptions};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SETTLE: Duration = Duration::from_secs(30);

struct Args {
    payments: usize,
    every: usize,
    warmup: usize,
    limit_pct: f64,
}

fn args() -> Args {
    let mut a = Args { payments: 2000, every: 100, warmup: 200, limit_pct: 10.0 };
    let mut raw = std::env::args().skip(1);
    while let Some(arg) = raw.next() {
        let mut value = || raw.next().and_then(|v| v.parse::<f64>().ok());
        match arg.as_str() {
            "--every" => a.every = value().map_or(a.every, |v| (v as usize).max(1)),
            "--warmup" => a.warmup = value().map_or(a.warmup, |v| v as usize),
            "--limit" => a.limit_pct = value().unwrap_or(a.limit_pct),
            n => a.payments = n.parse().unwrap_or(a.payments),
        }
    }
    a
}

fn describe(total: f64, parts: &[(String, f64)]) -> String {
    let each: Vec<String> = parts.iter().map(|(n, m)| format!("{n} {m:.1}")).collect();
    format!("{total:>6.1} MiB ({})", each.join(", "))
}

/// The least a Tauri window costs here: tauri-floor's tree, 4 s after it starts, drawn by WebKit's
/// own choice and in software as the cashier is (render.rs).
fn floor(software: bool) -> Option<String> {
    let exe = workspace().join("target/release/tauri-floor");
    if !exe.exists() {
        return None;
    }
    let home = tempfile::tempdir().ok()?;
    let mut command = Command::new(&exe);
    if software {
        command.env("WEBKIT_DISABLE_COMPOSITING_MODE", "1").env("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    }
    let mut child = command.env("HOME", home.path()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().ok()?;
    std::thread::sleep(Duration::from_secs(4));
    let (total, parts) = procmem::tree_pss(child.id());
    let _ = child.kill();
    let _ = child.wait();
    Some(describe(total, &parts))
}

/// A sale as a clerk makes it, with the `n`th customer's code (each its own: the scanner counts a
/// code seen again within seconds once).
async fn sale(s: &Session, amount: &str, n: usize) -> Result<(), Error> {
    s.keypad(amount).await?;
    s.click("[data-testid=action-scan]").await?;
    s.wait_for("[data-testid=scan-overlay]", Duration::from_secs(10)).await?;
    // The sandbox pays a code ending 00–79 at once. WebDriver on a loaded machine now and then
    // leaves a gap between keys longer than a scanner's, and the window rightly takes the halves
    // for typing: scanned again, as a clerk would.
    for attempt in 0.. {
        s.wedge(&format!("28{n:014}10\u{E007}")).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let deadline = Instant::now() + SETTLE;
        while Instant::now() < deadline {
            if s.present("[data-testid=result-success]").await {
                break;
            }
            if s.present("[data-testid=scan-overlay] [data-testid=error-message]").await && attempt < 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if s.present("[data-testid=result-success]").await {
            break;
        }
        if attempt == 3 {
            return Err(format!("payment {n}: no success after 4 scans").into());
        }
    }
    s.click("[data-testid=result-done]").await?;
    s.wait_for("[data-testid=action-scan]", Duration::from_secs(10)).await?;
    Ok(())
}

/// The counter lists the day's newest payments only, however busy the day.
async fn counter_list_is_capped(s: &Session, done: usize) -> Result<(), Error> {
    let rows =
        s.client.find_all(fantoccini::Locator::Css("[data-testid=today-list] [data-testid=payment-row]")).await?;
    if rows.len() > COUNTER_ROWS || (done > COUNTER_ROWS && !s.present("[data-testid=today-more]").await) {
        return Err(
            format!("after {done} payments the counter lists {} rows (at most {COUNTER_ROWS})", rows.len()).into()
        );
    }
    Ok(())
}

/// The manager's look at the day: both charts, the shift, then back to the counter, and the
/// language switched to English and back.
async fn look_around(s: &Session) -> Result<(), Error> {
    s.click("[data-testid=open-manager]").await?;
    s.click("[data-testid=tab-reports]").await?;
    s.wait_for("[data-testid=hourly-chart] canvas", Duration::from_secs(15)).await?;
    s.click("[data-testid=report-view-range]").await?;
    s.wait_for("[data-testid=range-chart] canvas", Duration::from_secs(15)).await?;
    s.click("[data-testid=report-view-day]").await?;
    s.wait_for("[data-testid=hourly-chart] canvas", Duration::from_secs(15)).await?;
    s.click("[data-testid=tab-shift]").await?;
    s.wait_for("[data-testid=x-report]", Duration::from_secs(15)).await?;
    s.click("[data-testid=manager-close]").await?;
    s.wait_for("[data-testid=action-scan]", Duration::from_secs(10)).await?;
    s.click("[data-testid=lang-toggle]").await?;
    s.wait_text("[data-testid=action-scan]", "Scan customer code", Duration::from_secs(10)).await?;
    s.click("[data-testid=lang-toggle]").await?;
    s.wait_text("[data-testid=action-scan]", "扫顾客付款码", Duration::from_secs(10)).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let a = args();
    let app = std::env::var_os("PAYDESK_APP")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/release/paydesk"));
    let app = app
        .canonicalize()
        .map_err(|e| format!("no app at {}: {e}; cargo build --release -p paydesk-app", app.display()))?;
    for (software, how) in [(false, "as WebKit chooses"), (true, "painted in software, as paydesk is")] {
        match floor(software) {
            Some(f) => println!("floor, a minimal Tauri window {how}: {f}"),
            None => println!("floor not measured: cargo build --release -p paydesk-floor"),
        }
    }

    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    let home = tempfile::tempdir()?;
    write_config(home.path(), &config_for(&sandbox.base_url()))?;
    let s = Session::launch_app(&app, home.path(), "soak", None).await?;
    s.sign_in_as_asked().await?;
    let pid = *procmem::running(&app).first().ok_or("the app is not running")?;
    let sample = |done: usize| {
        let (total, parts) = procmem::tree_pss(pid);
        println!("payments {done:>5}: {}", describe(total, &parts));
        total
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut curve = vec![(0, sample(0))];
    let started = Instant::now();
    let run = async {
        for i in 1..=a.payments {
            // Amounts vary as a day's do: 1.00 to 99.99.
            let fen = 100 + (i * 7919) % 9900;
            sale(&s, &format!("{}.{:02}", fen / 100, fen % 100), i).await?;
            if i % a.every == 0 || i == a.payments {
                counter_list_is_capped(&s, i).await?;
                look_around(&s).await?;
                tokio::time::sleep(Duration::from_secs(1)).await;
                curve.push((i, sample(i)));
            }
        }
        Ok::<(), Error>(())
    }
    .await;
    let took = started.elapsed().as_secs_f64();
    // The window goes whatever happened: a soak that stops must not leave its app running.
    s.close().await;
    run?;

    let base = curve.iter().find(|(n, _)| *n >= a.warmup).map(|c| c.1).ok_or("fewer payments than the warm-up")?;
    let (at, most) =
        curve.iter().filter(|(n, _)| *n >= a.warmup).fold((0, 0.0f64), |m, c| if c.1 > m.1 { *c } else { m });
    let last = curve.last().map(|c| c.1).unwrap_or(base);
    let growth = (most / base - 1.0) * 100.0;
    println!(
        "{} payments in {took:.0} s: {:.1} MiB at the start, {base:.1} after {} (warm-up), most {most:.1} after {at}, {last:.1} at the end: {growth:+.1} % (limit {:.0} %)",
        a.payments, curve[0].1, a.warmup, a.limit_pct
    );
    if growth > a.limit_pct {
        eprintln!("memory grew {growth:.1} % after the warm-up (limit {:.0} %)", a.limit_pct);
        std::process::exit(1);
    }
    Ok(())
}
