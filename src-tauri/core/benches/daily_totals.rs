//! Daily totals over a ledger of 1,000,000 payments (three years of a busy counter, ~900 a day,
//! a tenth refunded in part), on a real SQLite file. Times the day's totals and the day's
//! payment list for random days.
//!
//! `cargo bench -p paydesk-core --bench daily_totals [-- PAYMENTS]` (default 1000000).

#[path = "support.rs"]
mod support;

use chrono::{Duration as Days, NaiveDate};
use paydesk_core::ledger::{DayRange, Ledger};
use rusqlite::params;
use std::time::Instant;

fn main() {
    let n: i64 = std::env::args().filter_map(|a| a.parse().ok()).next().unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.db");
    drop(Ledger::open(&path).expect("schema"));

    let started = Instant::now();
    let days = 1100i64;
    let first = NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
    let day0 = DayRange::of(first, 4).from_ms;
    {
        let mut conn = rusqlite::Connection::open(&path).expect("open");
        let tx = conn.transaction().expect("tx");
        {
            let mut pay = tx
                .prepare(
                    "INSERT INTO payments (id, terminal, channel, flow, amount_fen, subject, merchant, wallet, code_masked, \
                     state, created_at, updated_at, paid_at, deadline_at, horizon_at) \
                     VALUES (?1, 'T01', ?2, 'barcode', ?3, '', 'M1', 'alipay', '2800**********0010', ?4, ?5, ?5, ?6, ?5, ?5)",
                )
                .expect("prepare");
            let mut refund = tx
                .prepare(
                    "INSERT INTO refunds (id, payment_id, amount_fen, reason, state, created_at, updated_at) \
                     VALUES (?1, ?2, ?3, 'bench', 'succeeded', ?4, ?4)",
                )
                .expect("prepare");
            let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
            let mut next = move || {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed
            };
            for i in 0..n {
                let at = day0 + (i * days * 86_400_000 / n) + (next() % 1000) as i64;
                let amount = 100 + (next() % 50_000) as i64;
                let state = match next() % 100 {
                    0..=89 => "paid",
                    90..=95 => "failed",
                    96..=98 => "closed",
                    _ => "reversed",
                };
                let channel = if i % 3 == 0 { "lakala" } else { "abc" };
                let paid_at = (state == "paid").then_some(at + 2_000);
                let id = format!("T01{i:012}");
                pay.execute(params![id, channel, amount, state, at, paid_at]).expect("insert");
                if state == "paid" && next() % 10 == 0 {
                    refund.execute(params![format!("R{i:012}"), id, amount / 2, at + 60_000]).expect("refund");
                }
            }
        }
        tx.commit().expect("commit");
    }
    println!("built a ledger of {n} payments over {days} days in {:.1} s", started.elapsed().as_secs_f64());

    let ledger = Ledger::open(&path).expect("ledger");
    // What the app does once at start-up on a ledger this size.
    let t = Instant::now();
    ledger.check_integrity().expect("intact");
    println!("start-up integrity check (quick_check) on this ledger: {:.0} ms", t.elapsed().as_secs_f64() * 1000.0);
    let (mut totals, mut lists) = (Vec::new(), Vec::new());
    let mut check = 0i64;
    for k in 0..300 {
        let day = first + Days::days((k * 37) % days);
        let range = DayRange::of(day, 4);
        let t = Instant::now();
        let sums = ledger.totals(&range).expect("totals");
        totals.push(t.elapsed());
        let t = Instant::now();
        let listed = ledger.payments_created_between(range.from_ms, range.to_ms, 1000).expect("list");
        lists.push(t.elapsed());
        check += sums.paid.0 + listed.len() as i64;
    }
    println!("(checksum {check})");
    support::report("daily totals", totals);
    support::report("day's payment list (≤1000 rows)", lists);
}
