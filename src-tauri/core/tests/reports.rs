//! Reports over a generated ledger with known totals: payments in every state (only `paid` is a
//! sale, at its time of payment), refunds settling across midnight and the cut-off hour, two
//! cut-off hours over the same file, day, hour and range figures.

mod common;

use chrono::{Duration, NaiveDate};
use common::config_for;
use common::ledger_gen::{generate, GenPayment, GenRefund, Writer};
use paydesk_core::engine::reports::BreakdownView;
use paydesk_core::engine::{Cashier, COUNTER_ROWS};
use paydesk_core::ledger::{local_ms, DayRange, Ledger};
use std::collections::BTreeMap;
use std::path::Path;

const DAYS: i64 = 10;
/// Only the edge-case rows carry this clerk: their group in a report is exactly them.
const EDGE_CLERK: &str = "边界测试";

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
}

/// 3,000 generated payments over ten days, plus the edge cases named below.
fn ledger(dir: &Path) -> (Vec<GenPayment>, Vec<GenRefund>) {
    let path = dir.join("ledger.db");
    drop(Ledger::open(&path).unwrap());
    let (mut payments, mut refunds) = (Vec::new(), Vec::new());
    let start = local_ms(first_day(), 0);
    generate(7, start, DAYS * 86_400_000 / 3_000, 3_000, |p| payments.push(p.clone()), |r| refunds.push(r.clone()));
    // Paid at 03:59:59.999 and at 04:00 on the 3rd; refunds settling at 23:59:59 on the 2nd
    // and 00:00:01 on the 3rd.
    let d3 = first_day() + Duration::days(2);
    let edge = |id: &str, paid_at: i64, amount: i64| GenPayment {
        id: id.into(),
        created_at: paid_at - 5_000,
        paid_at: Some(paid_at),
        settled_at: Some(paid_at),
        state: "paid",
        amount,
        channel: "abc",
        wallet: "alipay",
        clerk: EDGE_CLERK,
        terminal: "T01",
    };
    payments.push(edge("EDGE-0359", local_ms(d3, 4) - 1, 10_001));
    payments.push(edge("EDGE-0400", local_ms(d3, 4), 20_002));
    for (id, settled) in [("REDGE-2359", local_ms(d3, 0) - 1_000), ("REDGE-0000", local_ms(d3, 0) + 1_000)] {
        refunds.push(GenRefund {
            id: id.into(),
            payment_id: "EDGE-0400".into(),
            amount: 303,
            state: "succeeded",
            created_at: settled - 500,
            settled_at: Some(settled),
        });
    }
    let w = Writer::open(&path);
    payments.iter().for_each(|p| w.payment(p));
    refunds.iter().for_each(|r| w.refund(r));
    w.commit();
    (payments, refunds)
}

fn cashier(dir: &Path, cutoff: u32) -> Cashier {
    let mut config = config_for("http://127.0.0.1:9");
    config.business_day.cutoff_hour = cutoff;
    let channels = paydesk_core::channel::from_config(&config).unwrap();
    let ledger = std::sync::Arc::new(Ledger::open(&dir.join("ledger.db")).unwrap());
    Cashier::new(config, ledger, channels)
}

/// What a report must say, summed here from the generated rows.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    count: i64,
    gross: i64,
    refund_count: i64,
    refunds: i64,
    by_channel: BTreeMap<String, (i64, i64, i64)>,
    by_clerk: BTreeMap<String, (i64, i64, i64)>,
}

fn expected(payments: &[GenPayment], refunds: &[GenRefund], from: i64, to: i64) -> Expected {
    let mut e = Expected::default();
    let by_id: BTreeMap<&str, &GenPayment> = payments.iter().map(|p| (p.id.as_str(), p)).collect();
    for p in payments.iter().filter(|p| p.state == "paid" && p.paid_at.is_some_and(|t| t >= from && t < to)) {
        e.count += 1;
        e.gross += p.amount;
        for (map, key) in [(&mut e.by_channel, p.channel), (&mut e.by_clerk, p.clerk)] {
            let g = map.entry(key.to_string()).or_default();
            g.0 += 1;
            g.1 += p.amount;
        }
    }
    for r in refunds.iter().filter(|r| r.state == "succeeded" && r.settled_at.is_some_and(|t| t >= from && t < to)) {
        e.refund_count += 1;
        e.refunds += r.amount;
        let p = by_id[r.payment_id.as_str()];
        for (map, key) in [(&mut e.by_channel, p.channel), (&mut e.by_clerk, p.clerk)] {
            map.entry(key.to_string()).or_default().2 += r.amount;
        }
    }
    e
}

fn seen(b: &BreakdownView) -> Expected {
    let groups = |gs: &[paydesk_core::engine::reports::GroupView]| {
        gs.iter().map(|g| (g.key.clone(), (g.count, g.gross.fen, g.refunds.fen))).collect()
    };
    assert_eq!(b.net.fen, b.gross.fen - b.refunds.fen);
    assert_eq!(b.average_ticket.fen, if b.count == 0 { 0 } else { b.gross.fen / b.count });
    for g in b.by_channel.iter().chain(&b.by_wallet).chain(&b.by_clerk).chain(&b.by_terminal) {
        assert_eq!(g.net.fen, g.gross.fen - g.refunds.fen, "{}", g.key);
    }
    for groups in [&b.by_wallet, &b.by_terminal] {
        assert_eq!(groups.iter().map(|g| g.gross.fen).sum::<i64>(), b.gross.fen);
        assert_eq!(groups.iter().map(|g| g.refunds.fen).sum::<i64>(), b.refunds.fen);
    }
    Expected {
        count: b.count,
        gross: b.gross.fen,
        refund_count: b.refund_count,
        refunds: b.refunds.fen,
        by_channel: groups(&b.by_channel),
        by_clerk: groups(&b.by_clerk),
    }
}

#[test]
fn day_hour_and_range_totals_match_the_generated_ledger_for_two_cutoffs() {
    let dir = tempfile::tempdir().unwrap();
    let (payments, refunds) = ledger(dir.path());
    for cutoff in [4, 0] {
        let cashier = cashier(dir.path(), cutoff);
        let mut range_gross = 0;
        for d in 0..DAYS {
            let day = first_day() + Duration::days(d);
            let r = cashier.day_report(Some(&day.to_string())).unwrap();
            let span = DayRange::of(day, cutoff);
            assert_eq!((r.from_ms, r.to_ms), (span.from_ms, span.to_ms));
            assert_eq!(
                seen(&r.totals),
                expected(&payments, &refunds, span.from_ms, span.to_ms),
                "{day} cutoff {cutoff}"
            );
            let started = payments.iter().filter(|p| p.created_at >= span.from_ms && p.created_at < span.to_ms);
            let mut newest: Vec<i64> = started.clone().map(|p| p.created_at).collect();
            assert_eq!(r.started, newest.len() as i64);
            // The counter's list: the newest COUNTER_ROWS of the day, newest first; its count, all.
            newest.sort_unstable_by(|a, b| b.cmp(a));
            newest.truncate(COUNTER_ROWS);
            let (listed, totals) = cashier.day(span, COUNTER_ROWS).unwrap();
            assert!(newest.len() == COUNTER_ROWS, "a day of the test ledger has more than the counter lists");
            assert_eq!(listed.iter().map(|p| p.created_at).collect::<Vec<_>>(), newest);
            assert_eq!(totals.count, r.started);
            // 24 hours from the cut-off, each its own sum.
            assert_eq!(r.hourly.len(), 24);
            assert_eq!(r.hourly[0].hour, cutoff);
            for (h, point) in r.hourly.iter().enumerate() {
                let from = span.from_ms + h as i64 * 3_600_000;
                assert_eq!(point.gross.fen, expected(&payments, &[], from, from + 3_600_000).gross, "hour {h}");
            }
            let week_before = DayRange::of(day - Duration::days(7), cutoff);
            assert_eq!(r.last_week.date, (day - Duration::days(7)).to_string());
            assert_eq!(
                r.last_week.totals.gross.fen,
                expected(&payments, &refunds, week_before.from_ms, week_before.to_ms).gross
            );
            assert_eq!(r.last_week.net_change.fen, r.totals.net.fen - r.last_week.totals.net.fen);
            range_gross += r.totals.gross.fen;
        }
        let last = first_day() + Duration::days(DAYS - 1);
        let range = cashier.range_report(&first_day().to_string(), &last.to_string()).unwrap();
        assert_eq!(range.daily.len(), DAYS as usize);
        assert_eq!(range.totals.gross.fen, range_gross);
        assert_eq!(range.daily.iter().map(|d| d.gross.fen).sum::<i64>(), range_gross);
        let span = (DayRange::of(first_day(), cutoff).from_ms, DayRange::of(last, cutoff).to_ms);
        assert_eq!(seen(&range.totals), expected(&payments, &refunds, span.0, span.1));
    }
}

#[test]
fn the_cutoff_hour_and_midnight_split_sales_and_refunds_where_they_should() {
    let dir = tempfile::tempdir().unwrap();
    ledger(dir.path());
    let d2 = (first_day() + Duration::days(1)).to_string();
    let d3 = (first_day() + Duration::days(2)).to_string();
    // (sales, gross, refunded) of the edge rows in a business day's report.
    let edges = |cashier: &Cashier, day: &str| {
        let r = cashier.day_report(Some(day)).unwrap();
        r.totals
            .by_clerk
            .iter()
            .find(|g| g.key == EDGE_CLERK)
            .map_or((0, 0, 0), |g| (g.count, g.gross.fen, g.refunds.fen))
    };
    // Cut-off 04:00: 03:59:59.999 on the 3rd is still the 2nd; both refunds (23:59, 00:00) too.
    let c4 = cashier(dir.path(), 4);
    assert_eq!(edges(&c4, &d2), (1, 10_001, 606));
    assert_eq!(edges(&c4, &d3), (1, 20_002, 0));
    // Cut-off midnight: both sales on the 3rd, the refunds split at midnight.
    let c0 = cashier(dir.path(), 0);
    assert_eq!(edges(&c0, &d2), (0, 0, 303));
    assert_eq!(edges(&c0, &d3), (2, 30_003, 303));
    // Bad input changes nothing and says why.
    assert_eq!(c4.day_report(Some("2026-02-30")).unwrap_err().code(), "date");
    assert_eq!(c4.range_report(&d3, &d2).unwrap_err().code(), "date");
    assert_eq!(c4.range_report("2025-01-01", "2026-03-01").unwrap_err().code(), "date");
}
