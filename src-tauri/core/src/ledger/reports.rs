//! Totals over the ledger. Only `paid` payments are sales; refunds count when they succeeded.
//! Day and range reports count a sale at the channel's time of payment (`paid_at`); a shift
//! counts what the ledger settled within it (`settled_at`), so a closed Z never changes.
//! A business day runs from the cut-off hour to the next day's cut-off, in local time.
//!
//! Each report is one pass over the rows in its period, read through covering indexes in time
//! order, grouped in memory: a day or a month of a busy counter stays well under 100 ms on a
//! ledger of millions of payments (benches/reports.rs).

use super::{Ledger, LedgerError};
use crate::money::Fen;
use chrono::{Duration, Local, NaiveDate, TimeZone};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DayRange {
    pub day: NaiveDate,
    pub from_ms: i64,
    pub to_ms: i64,
}

/// `hour` o'clock local time on `day`; a skipped hour (DST) maps to the next valid instant.
pub fn local_ms(day: NaiveDate, hour: u32) -> i64 {
    let naive = day.and_hms_opt(hour.min(23), 0, 0).unwrap_or_default();
    // `earliest` picks the first of an ambiguous hour and skips a missing one.
    match Local.from_local_datetime(&naive).earliest() {
        Some(t) => t.timestamp_millis(),
        None => Local.from_utc_datetime(&naive).timestamp_millis(),
    }
}

impl DayRange {
    /// The business day `day`, in local time, starting at `cutoff_hour`.
    pub fn of(day: NaiveDate, cutoff_hour: u32) -> DayRange {
        let next = day.succ_opt().unwrap_or(day);
        DayRange { day, from_ms: local_ms(day, cutoff_hour), to_ms: local_ms(next, cutoff_hour) }
    }

    /// The business day that contains the instant `ms`.
    pub fn containing(ms: i64, cutoff_hour: u32) -> DayRange {
        let local = Local.timestamp_millis_opt(ms).earliest().unwrap_or_else(Local::now);
        let shifted = local - Duration::hours(i64::from(cutoff_hour));
        DayRange::of(shifted.date_naive(), cutoff_hour)
    }

    /// The hour boundaries of the business day: 25 instants from the cut-off to the next
    /// (fewer or more hours on a DST change day are folded into the neighbouring hour).
    pub fn hours(&self, cutoff_hour: u32) -> Vec<i64> {
        let mut bounds: Vec<i64> = (0..24)
            .map(|h| {
                let (day, hour) = if cutoff_hour + h < 24 {
                    (self.day, cutoff_hour + h)
                } else {
                    (self.day.succ_opt().unwrap_or(self.day), cutoff_hour + h - 24)
                };
                local_ms(day, hour)
            })
            .collect();
        bounds.push(self.to_ms);
        bounds
    }
}

/// Sales and refunds of one key (a channel, a wallet, a clerk, a terminal) or of one bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub count: i64,
    pub gross: Fen,
    pub refund_count: i64,
    pub refunds: Fen,
}

impl Tally {
    pub fn net(&self) -> Fen {
        Fen(self.gross.0 - self.refunds.0)
    }

    /// Gross per sale, rounded down to the fen.
    pub fn average_ticket(&self) -> Fen {
        if self.count == 0 {
            Fen::ZERO
        } else {
            Fen(self.gross.0 / self.count)
        }
    }

    fn sale(&mut self, amount: i64) {
        self.count += 1;
        self.gross.0 += amount;
    }

    fn refund(&mut self, amount: i64) {
        self.refund_count += 1;
        self.refunds.0 += amount;
    }
}

/// Totals of a period with the four breakdowns; groups in key order. A refund is grouped with
/// its payment's channel, wallet, clerk and terminal, so each group's net is its own money.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakdown {
    pub all: Tally,
    pub by_channel: Vec<(String, Tally)>,
    pub by_wallet: Vec<(String, Tally)>,
    pub by_clerk: Vec<(String, Tally)>,
    pub by_terminal: Vec<(String, Tally)>,
    /// One tally per bucket between consecutive `bounds` given to [`Ledger::breakdown`].
    pub buckets: Vec<Tally>,
}

/// Which time puts a sale into a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleTime {
    /// The channel's time of payment: days and ranges.
    Paid,
    /// When the ledger recorded it: shifts.
    Settled,
}

#[derive(Default)]
struct Grouper {
    all: Tally,
    channel: BTreeMap<String, Tally>,
    wallet: BTreeMap<String, Tally>,
    clerk: BTreeMap<String, Tally>,
    terminal: BTreeMap<String, Tally>,
    buckets: Vec<Tally>,
}

struct Row {
    at: i64,
    amount: i64,
    channel: String,
    wallet: Option<String>,
    clerk: Option<String>,
    terminal: String,
}

impl Grouper {
    fn add(&mut self, bounds: &[i64], row: &Row, apply: impl Fn(&mut Tally, i64)) {
        apply(&mut self.all, row.amount);
        for (map, key) in [
            (&mut self.channel, row.channel.as_str()),
            (&mut self.wallet, row.wallet.as_deref().unwrap_or("")),
            (&mut self.clerk, row.clerk.as_deref().unwrap_or("")),
            (&mut self.terminal, row.terminal.as_str()),
        ] {
            match map.get_mut(key) {
                Some(t) => apply(t, row.amount),
                None => apply(map.entry(key.to_string()).or_default(), row.amount),
            }
        }
        // Rows come in time order, but refunds and sales are separate passes: search.
        let i = bounds.partition_point(|b| *b <= row.at);
        if i > 0 && i < bounds.len() {
            apply(&mut self.buckets[i - 1], row.amount);
        }
    }

    fn finish(self) -> Breakdown {
        Breakdown {
            all: self.all,
            by_channel: self.channel.into_iter().collect(),
            by_wallet: self.wallet.into_iter().collect(),
            by_clerk: self.clerk.into_iter().collect(),
            by_terminal: self.terminal.into_iter().collect(),
            buckets: self.buckets,
        }
    }
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        at: r.get(0)?,
        amount: r.get(1)?,
        channel: r.get(2)?,
        wallet: r.get(3)?,
        clerk: r.get(4)?,
        terminal: r.get(5)?,
    })
}

/// Sales (by `time`) and succeeded refunds (by when they succeeded) in `[from, to)`, optionally
/// on one terminal, with per-bucket tallies for `bounds` (ascending instants; may be empty).
pub fn breakdown_on(
    conn: &Connection,
    time: SaleTime,
    from: i64,
    to: i64,
    terminal: Option<&str>,
    bounds: &[i64],
) -> rusqlite::Result<Breakdown> {
    let mut g = Grouper { buckets: vec![Tally::default(); bounds.len().saturating_sub(1)], ..Default::default() };
    let sales = match time {
        SaleTime::Paid => {
            "SELECT paid_at, amount_fen, channel, wallet, clerk, terminal FROM payments INDEXED BY payments_paid \
             WHERE state = 'paid' AND paid_at >= ?1 AND paid_at < ?2 AND (?3 IS NULL OR terminal = ?3)"
        }
        SaleTime::Settled => {
            "SELECT settled_at, amount_fen, channel, wallet, clerk, terminal FROM payments INDEXED BY payments_settled \
             WHERE state = 'paid' AND settled_at >= ?1 AND settled_at < ?2 AND (?3 IS NULL OR terminal = ?3)"
        }
    };
    let mut stmt = conn.prepare_cached(sales)?;
    let mut rows = stmt.query(params![from, to, terminal])?;
    while let Some(r) = rows.next()? {
        g.add(bounds, &read_row(r)?, Tally::sale);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT r.settled_at, r.amount_fen, p.channel, p.wallet, p.clerk, p.terminal \
         FROM refunds r INDEXED BY refunds_done JOIN payments p ON p.id = r.payment_id \
         WHERE r.state = 'succeeded' AND r.settled_at >= ?1 AND r.settled_at < ?2 AND (?3 IS NULL OR p.terminal = ?3)",
    )?;
    let mut rows = stmt.query(params![from, to, terminal])?;
    while let Some(r) = rows.next()? {
        g.add(bounds, &read_row(r)?, Tally::refund);
    }
    Ok(g.finish())
}

/// Totals of a business day, for the clerk's list (the full day report is in the engine).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Payments started in the range, in any state.
    pub count: i64,
    pub paid_count: i64,
    #[serde(rename = "paid_fen")]
    pub paid: Fen,
    #[serde(rename = "refunded_fen")]
    pub refunded: Fen,
    #[serde(rename = "net_fen")]
    pub net: Fen,
}

impl Ledger {
    pub fn breakdown(
        &self,
        time: SaleTime,
        from: i64,
        to: i64,
        terminal: Option<&str>,
        bounds: &[i64],
    ) -> Result<Breakdown, LedgerError> {
        Ok(breakdown_on(&self.conn(), time, from, to, terminal, bounds)?)
    }

    /// Payments started in `[from, to)`, in any state.
    pub fn started_between(&self, from: i64, to: i64) -> Result<i64, LedgerError> {
        Ok(self.conn().query_row(
            "SELECT COUNT(*) FROM payments WHERE created_at >= ?1 AND created_at < ?2",
            params![from, to],
            |r| r.get(0),
        )?)
    }

    pub fn totals(&self, range: &DayRange) -> Result<Totals, LedgerError> {
        let b = self.breakdown(SaleTime::Paid, range.from_ms, range.to_ms, None, &[])?;
        Ok(Totals {
            count: self.started_between(range.from_ms, range.to_ms)?,
            paid_count: b.all.count,
            paid: b.all.gross,
            refunded: b.all.refunds,
            net: b.all.net(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{new_payment, temp_ledger};
    use super::super::{Change, NewRefund, RefundChange, RefundState, State};
    use super::*;

    #[test]
    fn a_business_day_runs_cutoff_to_cutoff() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let r = DayRange::of(day, 4);
        assert_eq!(r.to_ms - r.from_ms, 24 * 3600 * 1000);
        // 03:59 local on the 23rd still belongs to the 22nd; 04:00 does not.
        let t0359 = local_ms(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(), 4) - 60_000;
        assert_eq!(DayRange::containing(t0359, 4).day, day);
        assert_eq!(DayRange::containing(t0359 + 60_000, 4).day, day + Duration::days(1));
        let hours = r.hours(4);
        assert_eq!(hours.len(), 25);
        assert_eq!((hours[0], hours[24]), (r.from_ms, r.to_ms));
        assert!(hours.windows(2).all(|w| w[1] - w[0] == 3_600_000));
    }

    #[test]
    fn only_paid_counts_and_refunds_subtract() {
        let (_d, l) = temp_ledger();
        for (id, to) in
            [("P1", Some(State::Paid)), ("P2", Some(State::Paid)), ("P3", Some(State::Failed)), ("P4", None)]
        {
            l.insert_payment(&new_payment(id)).unwrap();
            if let Some(s) = to {
                l.transition(id, s, &Change::default()).unwrap().unwrap();
            }
        }
        let refund = NewRefund {
            id: "R1".into(),
            payment_id: "P1".into(),
            amount: Fen(234),
            reason: "x".into(),
            approved_by: None,
            audit: None,
            lease_until: 0,
        };
        l.reserve_refund(&refund).unwrap();
        l.refund_transition("R1", RefundState::Succeeded, &RefundChange::default()).unwrap();
        let range = DayRange::containing(super::super::now_ms(), 4);
        let t = l.totals(&range).unwrap();
        assert_eq!(t.count, 4);
        assert_eq!(t.paid_count, 2);
        assert_eq!(t.paid, Fen(2468));
        assert_eq!(t.refunded, Fen(234));
        assert_eq!(t.net, Fen(2234));
        let b = l.breakdown(SaleTime::Paid, range.from_ms, range.to_ms, None, &range.hours(4)).unwrap();
        let abc = Tally { count: 2, gross: Fen(2468), refund_count: 1, refunds: Fen(234) };
        assert_eq!(b.by_channel, vec![("abc".to_string(), abc.clone())]);
        assert_eq!(b.by_wallet, vec![("alipay".to_string(), abc.clone())]);
        assert_eq!(b.by_clerk, vec![("".to_string(), abc)]);
        assert_eq!(b.buckets.iter().map(|t| t.count).sum::<i64>(), 2);
    }
}
