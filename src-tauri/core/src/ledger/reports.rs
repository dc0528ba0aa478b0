//! Totals over the ledger. Only `paid` counts as sales, at the time it was paid; refunds count
//! when they succeeded. A business day runs from the cut-off hour to the next day's cut-off.

use super::{Ledger, LedgerError};
use crate::money::Fen;
use chrono::{Duration, Local, NaiveDate, TimeZone};
use rusqlite::params;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DayRange {
    pub day: NaiveDate,
    pub from_ms: i64,
    pub to_ms: i64,
}

fn local_ms(day: NaiveDate, hour: u32) -> i64 {
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelTotals {
    pub channel: String,
    pub paid_count: i64,
    #[serde(rename = "paid_fen")]
    pub paid: Fen,
}

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
    pub by_channel: Vec<ChannelTotals>,
}

impl Ledger {
    pub fn totals(&self, range: &DayRange) -> Result<Totals, LedgerError> {
        let conn = self.conn();
        let count: i64 = conn.query_row(
            "SELECT COUNT(*) FROM payments WHERE created_at >= ?1 AND created_at < ?2",
            params![range.from_ms, range.to_ms],
            |r| r.get(0),
        )?;
        let mut stmt = conn.prepare_cached(
            "SELECT channel, COUNT(*), SUM(amount_fen) FROM payments \
             WHERE state = 'paid' AND paid_at >= ?1 AND paid_at < ?2 GROUP BY channel ORDER BY channel",
        )?;
        let by_channel = stmt
            .query_map(params![range.from_ms, range.to_ms], |r| {
                Ok(ChannelTotals { channel: r.get(0)?, paid_count: r.get(1)?, paid: Fen(r.get(2)?) })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let refunded: i64 = conn.query_row(
            "SELECT COALESCE(SUM(amount_fen), 0) FROM refunds \
             WHERE state = 'succeeded' AND updated_at >= ?1 AND updated_at < ?2",
            params![range.from_ms, range.to_ms],
            |r| r.get(0),
        )?;
        let paid = Fen(by_channel.iter().map(|c| c.paid.0).sum());
        let paid_count = by_channel.iter().map(|c| c.paid_count).sum();
        Ok(Totals { count, paid_count, paid, refunded: Fen(refunded), net: Fen(paid.0 - refunded), by_channel })
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
        let refund = NewRefund { id: "R1".into(), payment_id: "P1".into(), amount: Fen(234), reason: "x".into() };
        l.reserve_refund(&refund).unwrap();
        l.refund_transition("R1", RefundState::Succeeded, &RefundChange::default()).unwrap();
        let range = DayRange::containing(super::super::now_ms(), 4);
        let t = l.totals(&range).unwrap();
        assert_eq!(t.count, 4);
        assert_eq!(t.paid_count, 2);
        assert_eq!(t.paid, Fen(2468));
        assert_eq!(t.refunded, Fen(234));
        assert_eq!(t.net, Fen(2234));
        assert_eq!(t.by_channel, vec![ChannelTotals { channel: "abc".into(), paid_count: 2, paid: Fen(2468) }]);
    }
}
