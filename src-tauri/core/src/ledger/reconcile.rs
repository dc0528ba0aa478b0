//! The ledger compared with what a channel says it charged and refunded (its statement, or the
//! sandbox's record): the check behind the crash tests and the chaos harness.
//!
//! The rule, per merchant order number:
//! - charged once at most, at the ledger's amount;
//! - charged ⇔ `paid` in the ledger, or `reversed` with the whole charge given back;
//! - what the channel gave back equals the ledger's succeeded refunds (plus the reversal);
//! - no payment and no refund left unfinished (a `lapsed` payment is settled as unpaid: it is
//!   charged ⇔ a mismatch, like `closed`).

use super::{Ledger, LedgerError, State};
use crate::money::Fen;
use std::collections::BTreeMap;

/// One charge on the channel's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelCharge {
    pub order_no: String,
    pub amount: Fen,
}

/// Money the channel gave back for an order: a refund, or a reversal (撤销) of a paid order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRefund {
    pub order_no: String,
    pub amount: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    ChargedTwice {
        order_no: String,
    },
    ChargeNotInLedger {
        order_no: String,
    },
    AmountDiffers {
        order_no: String,
        ledger: Fen,
        channel: Fen,
    },
    /// Charged, but the ledger says neither paid nor reversed.
    ChargedButNot {
        order_no: String,
        state: State,
    },
    /// Paid in the ledger, never charged.
    PaidWithoutCharge {
        order_no: String,
    },
    /// What the channel gave back differs from the ledger's refunds (and reversal).
    ReturnedDiffers {
        order_no: String,
        ledger: Fen,
        channel: Fen,
    },
    RefundNotInLedger {
        order_no: String,
    },
    Unfinished {
        order_no: String,
        state: State,
    },
    RefundUnfinished {
        refund_no: String,
    },
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::ChargedTwice { order_no } => write!(f, "{order_no}: charged twice"),
            Mismatch::ChargeNotInLedger { order_no } => write!(f, "{order_no}: charged, missing from the ledger"),
            Mismatch::AmountDiffers { order_no, ledger, channel } => {
                write!(f, "{order_no}: the ledger says {} fen, the channel charged {} fen", ledger.0, channel.0)
            }
            Mismatch::ChargedButNot { order_no, state } => {
                write!(f, "{order_no}: charged, but {} in the ledger", state.as_str())
            }
            Mismatch::PaidWithoutCharge { order_no } => write!(f, "{order_no}: paid in the ledger, never charged"),
            Mismatch::ReturnedDiffers { order_no, ledger, channel } => {
                write!(f, "{order_no}: the ledger gave back {} fen, the channel {} fen", ledger.0, channel.0)
            }
            Mismatch::RefundNotInLedger { order_no } => write!(f, "{order_no}: refunded, missing from the ledger"),
            Mismatch::Unfinished { order_no, state } => write!(f, "{order_no}: left {}", state.as_str()),
            Mismatch::RefundUnfinished { refund_no } => write!(f, "refund {refund_no}: left unfinished"),
        }
    }
}

impl Ledger {
    /// Every difference between the ledger and the channel's `charges` and `refunds` (empty when
    /// they agree).
    pub fn reconcile(
        &self,
        charges: &[ChannelCharge],
        refunds: &[ChannelRefund],
    ) -> Result<Vec<Mismatch>, LedgerError> {
        let mut out = Vec::new();
        let mut charged: BTreeMap<&str, Fen> = BTreeMap::new();
        for c in charges {
            if charged.insert(&c.order_no, c.amount).is_some() {
                out.push(Mismatch::ChargedTwice { order_no: c.order_no.clone() });
            }
        }
        let mut returned: BTreeMap<&str, i64> = BTreeMap::new();
        for r in refunds {
            let sum = returned.entry(&r.order_no).or_default();
            *sum = sum.saturating_add(r.amount.0);
        }
        // (id, state, amount, succeeded refunds) of every payment.
        let rows: Vec<(String, String, i64, i64)> = {
            let conn = self.conn();
            let mut stmt = conn.prepare(
                "SELECT p.id, p.state, p.amount_fen,
                        (SELECT COALESCE(SUM(r.amount_fen), 0) FROM refunds r
                          WHERE r.payment_id = p.id AND r.state = 'succeeded')
                   FROM payments p ORDER BY p.created_at",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        // Each order is taken out of the channel's lists as the ledger accounts for it: what is
        // left at the end is money the ledger knows nothing of.
        for (id, state, amount, refunded) in rows {
            let state = State::parse(&state).ok_or_else(|| LedgerError::Corrupt(format!("payment {id}: {state}")))?;
            let channel_charge = charged.remove(id.as_str());
            if state.is_open() {
                out.push(Mismatch::Unfinished { order_no: id.clone(), state });
            }
            let mut gave_back = refunded;
            match (channel_charge, state) {
                (Some(c), _) if c.0 != amount => {
                    out.push(Mismatch::AmountDiffers { order_no: id.clone(), ledger: Fen(amount), channel: c })
                }
                (Some(_), State::Paid) => {}
                (Some(c), State::Reversed) => gave_back = gave_back.saturating_add(c.0),
                (Some(_), state) if !state.is_open() => {
                    out.push(Mismatch::ChargedButNot { order_no: id.clone(), state })
                }
                (None, State::Paid) => out.push(Mismatch::PaidWithoutCharge { order_no: id.clone() }),
                _ => {}
            }
            let channel_gave_back = returned.remove(id.as_str()).unwrap_or(0);
            if gave_back != channel_gave_back {
                out.push(Mismatch::ReturnedDiffers {
                    order_no: id.clone(),
                    ledger: Fen(gave_back),
                    channel: Fen(channel_gave_back),
                });
            }
        }
        for order in charged.keys() {
            out.push(Mismatch::ChargeNotInLedger { order_no: (*order).into() });
        }
        for order in returned.keys() {
            out.push(Mismatch::RefundNotInLedger { order_no: (*order).into() });
        }
        for r in self.open_refunds()? {
            out.push(Mismatch::RefundUnfinished { refund_no: r.id });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge(order: &str, fen: i64) -> ChannelCharge {
        ChannelCharge { order_no: order.into(), amount: Fen(fen) }
    }

    #[test]
    fn an_empty_ledger_and_an_empty_statement_agree_and_a_stray_charge_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.db")).unwrap();
        assert_eq!(ledger.reconcile(&[], &[]).unwrap(), vec![]);
        let found = ledger
            .reconcile(&[charge("A", 100), charge("A", 100)], &[ChannelRefund { order_no: "B".into(), amount: Fen(5) }])
            .unwrap();
        assert_eq!(
            found,
            vec![
                Mismatch::ChargedTwice { order_no: "A".into() },
                Mismatch::ChargeNotInLedger { order_no: "A".into() },
                Mismatch::RefundNotInLedger { order_no: "B".into() },
            ]
        );
        assert_eq!(found[0].to_string(), "A: charged twice");
    }
}
