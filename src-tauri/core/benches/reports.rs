//! Reports on ten years of a busy counter: a ledger of 3,650,000 payments (1,000 a day, every
//! state, ~5 % of sales refunded in part), on a real SQLite file. Times the day report (with its
//! hourly curve and the same weekday a week before), a 31-day range report, the X report of a
//! shift of 5,000 payments and closing that shift (the Z), and the start-up integrity check.
//!
//! `cargo bench -p paydesk-core --bench reports [-- PAYMENTS]` (default 3650000). The generated
//! ledger is kept under target/bench-ledgers/ and reused by later runs.

#[path = "../tests/common/ledger_gen.rs"]
mod ledger_gen;
#[path = "support.rs"]
mod support;

use chrono::{Duration as Days, NaiveDate};
use paydesk_core::engine::Cashier;
use paydesk_core::ledger::{now_ms, DayRange, Ledger};
use paydesk_core::people::Action;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

const DAY_MS: i64 = 86_400_000;
/// Paid payments in the shift a Z is made of.
const SHIFT: usize = 5_000;

fn build(path: &Path, n: usize) {
    let started = Instant::now();
    ledger_gen::build_history(path, n);
    println!("built a ledger of {n} payments in {:.0} s", started.elapsed().as_secs_f64());
}

fn ledger_file(n: usize) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-ledgers");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let path = dir.join(format!("reports-{n}-schema2b.db"));
    if !path.exists() {
        let partial = path.with_extension("partial");
        let _ = std::fs::remove_file(&partial);
        build(&partial, n);
        std::fs::rename(&partial, &path).expect("ledger in place");
    }
    path
}

fn main() {
    let n: usize = std::env::args().filter_map(|a| a.parse().ok()).next().unwrap_or(3_650_000);
    let kept = ledger_file(n);
    // Closing a shift writes: work on a copy.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.db");
    std::fs::copy(&kept, &path).expect("copy");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("ledger: {n} payments, {:.0} MiB", size as f64 / 1048576.0);

    // No call is made, but the channels that sign need their key files to be built.
    let mut config = support::demo_config(9, dir.path());
    config.terminal.code = "T01".into();
    let channels = paydesk_core::channel::from_config(&config).expect("channels");
    let ledger = Arc::new(Ledger::open(&path).expect("ledger"));
    let t = Instant::now();
    ledger.check_integrity().expect("intact");
    println!("start-up integrity check (quick_check): {:.0} ms", t.elapsed().as_secs_f64() * 1000.0);
    let cashier = Cashier::new(config, ledger.clone(), channels);

    let last = DayRange::containing(now_ms() - DAY_MS, 4).day;
    let first = last - Days::days((n / 1000) as i64 - 40);
    let days = (last - first).num_days();
    let (mut day, mut range) = (Vec::new(), Vec::new());
    let mut check = 0i64;
    for k in 0..200 {
        let d: NaiveDate = first + Days::days((k * 37) % days);
        let t = Instant::now();
        let r = cashier.day_report(Some(&d.to_string())).expect("day");
        day.push(t.elapsed());
        check += r.totals.net.fen;
        let from = d - Days::days(30);
        let t = Instant::now();
        let r = cashier.range_report(&from.to_string(), &d.to_string()).expect("range");
        range.push(t.elapsed());
        check += r.totals.count;
    }
    println!("(checksum {check})");
    support::report("day report (totals, 4 breakdowns, 24 hours, same day last week)", day);
    support::report("31-day range report (totals, breakdowns, 31 days)", range);

    // A shift of the last 5,000 payments: the previous Z closed just before them.
    let conn = rusqlite::Connection::open(&path).expect("open");
    let from: i64 = conn
        .query_row(
            "SELECT settled_at FROM payments WHERE state = 'paid' AND terminal = 'T01' \
             ORDER BY settled_at DESC LIMIT 1 OFFSET ?1",
            [SHIFT as i64],
            |r| r.get(0),
        )
        .expect("period start");
    conn.execute(
        "INSERT INTO shifts (terminal, opened_by, opened_at, closed_by, closed_at, z_no, z_report) \
         VALUES ('T01', 'bench', ?1, 'bench', ?1, 1, '{}')",
        [from],
    )
    .expect("previous Z");
    let people = cashier.people();
    let manager = people.create_first_manager("店长", "246813").expect("manager");
    cashier.open_shift(None).expect("shift");
    let mut x = Vec::new();
    let mut sales = 0;
    for _ in 0..50 {
        let t = Instant::now();
        let (_, f) = cashier.x_report().expect("x");
        x.push(t.elapsed());
        sales = f.totals.all.count + f.unresolved.len() as i64;
    }
    support::report(&format!("X report of the open shift ({sales} sales and open payments)"), x);
    let approval = people.approve(manager.user_id, "246813", Action::CloseShift).expect("approval");
    let t = Instant::now();
    let z = cashier.close_shift(&approval, Some("bench")).expect("z");
    let close = t.elapsed();
    let t = Instant::now();
    let again = cashier.shift_report(z.shift.as_ref().map_or(0, |s| s.id)).expect("reprint");
    let reprint = t.elapsed();
    assert_eq!(again, z);
    println!(
        "Z report (close the shift: {} sales, {} refunds): {:.1} ms; reprint {:.2} ms",
        z.totals.all.count,
        z.totals.all.refund_count,
        close.as_secs_f64() * 1000.0,
        reprint.as_secs_f64() * 1000.0
    );
}
