//! The ledger's day against a channel's statement, as pure logic: each row is matched to the
//! payment or refund it is about, and what does not match becomes a difference of one kind.
//!
//! Statements are T+1 and cut at the channel's midnight, so a payment the ledger has but today's
//! statement lacks is not yet a miss: it waits for the next day's statement ([`Kind::AwaitingNextBill`])
//! and only a second absence makes it [`Kind::PaidAbsent`].

use super::statement::{Movement, StatementRow};
use crate::ledger::{RefundState, State};
use crate::money::Fen;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A payment as the comparison needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerPayment {
    pub id: String,
    pub state: State,
    pub amount: Fen,
}

/// A refund as the comparison needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRefund {
    pub id: String,
    pub payment_id: String,
    pub state: RefundState,
    pub amount: Fen,
}

/// What the ledger holds that the statement must account for.
#[derive(Debug, Clone, Default)]
pub struct LedgerSide {
    /// Every payment the statement names, and every payment of the channel the ledger settled
    /// paid on the statement's day, by id.
    pub payments: BTreeMap<String, LedgerPayment>,
    /// The payments settled paid on the statement's day (ids): each must be in the statement.
    pub paid_that_day: BTreeSet<String>,
    /// Every refund of the payments above.
    pub refunds: Vec<LedgerRefund>,
    /// The refunds that succeeded on the statement's day (ids).
    pub refunded_that_day: BTreeSet<String>,
    /// What the previous day's run found missing and left for this statement: payment ids and
    /// refund ids.
    pub awaiting_payments: BTreeSet<String>,
    pub awaiting_refunds: BTreeSet<String>,
    /// No later statement adds to this one (a query sweep asks about every order itself): what
    /// it lacks is absent now, not awaiting the next day's.
    pub complete: bool,
    /// The merchant's contracted fee rate with this channel, in basis points, where configured:
    /// each payment row's fee is checked against it.
    pub fee_rate_bp: Option<u32>,
}

/// The fee at `bp` basis points of `amount`, rounded half up to the fen.
pub fn fee_at(amount: Fen, bp: u32) -> Fen {
    let raw = i128::from(amount.0) * i128::from(bp);
    Fen(i64::try_from((raw + 5_000).div_euclid(10_000)).unwrap_or(i64::MAX))
}

/// The kinds of difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The channel charged the customer; the ledger does not have the payment paid (or has no
    /// such payment at all). The lost late payment.
    ChargedNotPaid,
    /// The channel lists the same order charged more than once.
    ChargedTwice,
    /// Paid in the ledger, in neither this statement nor the next day's.
    PaidAbsent,
    /// Paid in the ledger, not in this statement: waits for the next day's (T+1, midnight).
    AwaitingNextBill,
    /// The statement's amount is not the ledger's.
    AmountDiffers,
    /// A refund the channel made that the ledger does not have succeeded.
    RefundNotInLedger,
    /// A refund the ledger has succeeded, in neither this statement nor the next day's.
    RefundAbsent,
    /// A succeeded refund not in this statement: waits for the next day's.
    RefundAwaitingNextBill,
    /// The statement's refund amount is not the ledger's.
    RefundAmountDiffers,
    /// A query sweep could not learn this order's state: the run is incomplete for it.
    NotAsked,
    /// The statement's fee on a payment is not the merchant's contracted rate of it (more than a
    /// fen of rounding apart).
    FeeDiffers,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ChargedNotPaid => "charged_not_paid",
            Kind::ChargedTwice => "charged_twice",
            Kind::PaidAbsent => "paid_absent",
            Kind::AwaitingNextBill => "awaiting_next_bill",
            Kind::AmountDiffers => "amount_differs",
            Kind::RefundNotInLedger => "refund_not_in_ledger",
            Kind::RefundAbsent => "refund_absent",
            Kind::RefundAwaitingNextBill => "refund_awaiting_next_bill",
            Kind::RefundAmountDiffers => "refund_amount_differs",
            Kind::NotAsked => "not_asked",
            Kind::FeeDiffers => "fee_differs",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        ALL_KINDS.iter().copied().find(|k| k.as_str() == text)
    }

    /// Waiting for the next statement: not (yet) a difference a person must act on.
    pub fn is_waiting(self) -> bool {
        matches!(self, Kind::AwaitingNextBill | Kind::RefundAwaitingNextBill)
    }
}

pub const ALL_KINDS: &[Kind] = &[
    Kind::ChargedNotPaid,
    Kind::ChargedTwice,
    Kind::PaidAbsent,
    Kind::AwaitingNextBill,
    Kind::AmountDiffers,
    Kind::RefundNotInLedger,
    Kind::RefundAbsent,
    Kind::RefundAwaitingNextBill,
    Kind::RefundAmountDiffers,
    Kind::NotAsked,
    Kind::FeeDiffers,
];

/// One difference between the ledger and the statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    pub kind: Kind,
    pub order_no: String,
    pub refund_no: Option<String>,
    pub trade_no: Option<String>,
    /// The ledger's amount, where it has one.
    pub ledger: Option<Fen>,
    /// The channel's amount, where it says one.
    pub channel: Option<Fen>,
    /// The statement's time of the row (ms since the epoch), where it says one.
    pub channel_at: Option<i64>,
}

/// What a comparison found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub rows: usize,
    /// Payments the statement and the ledger agree on (count, fen).
    pub matched: usize,
    pub matched_fen: Fen,
    pub refunds_matched: usize,
    pub refunds_matched_fen: Fen,
    /// The statement's fees, net of the fees given back on refunds.
    pub fee_fen: Fen,
    pub differences: Vec<Difference>,
}

fn add(a: Fen, b: Fen) -> Fen {
    Fen(a.0.saturating_add(b.0))
}

/// Compares a statement's rows with what the ledger holds.
pub fn compare(rows: &[StatementRow], ledger: &LedgerSide) -> Outcome {
    let mut out = Outcome { rows: rows.len(), ..Outcome::default() };
    let mut paid_seen: BTreeSet<&str> = BTreeSet::new();
    let mut refunds_seen: BTreeSet<&str> = BTreeSet::new();
    let diff = |kind, order: &str, refund: Option<&str>, trade: Option<&str>, ledger, channel| Difference {
        kind,
        order_no: order.to_string(),
        refund_no: refund.map(str::to_string),
        trade_no: trade.map(str::to_string),
        ledger,
        channel,
        channel_at: None,
    };
    // A difference found from a row carries the row's time.
    let stamp = |out: &mut Outcome, from: usize, row: &StatementRow| {
        for d in &mut out.differences[from..] {
            d.channel_at = row.at_ms;
        }
    };
    // Pay rows first: a reversal's refund row is read against the payment it reverses.
    for row in rows.iter().filter(|r| r.movement == Movement::Pay) {
        let from = out.differences.len();
        out.fee_fen = add(out.fee_fen, row.fee);
        let trade = Some(row.trade_no.as_str()).filter(|t| !t.is_empty());
        if let Some(bp) = ledger.fee_rate_bp {
            let expected = fee_at(row.amount, bp);
            if (row.fee.0 - expected.0).abs() > 1 {
                out.differences.push(diff(Kind::FeeDiffers, &row.order_no, None, trade, Some(expected), Some(row.fee)));
            }
        }
        if !paid_seen.insert(row.order_no.as_str()) {
            out.differences.push(diff(Kind::ChargedTwice, &row.order_no, None, trade, None, Some(row.amount)));
            stamp(&mut out, from, row);
            continue;
        }
        match ledger.payments.get(&row.order_no) {
            Some(p) if p.amount != row.amount => out.differences.push(diff(
                Kind::AmountDiffers,
                &row.order_no,
                None,
                trade,
                Some(p.amount),
                Some(row.amount),
            )),
            // Paid, or paid and reversed (the reversal's refund row follows): the money agrees.
            Some(p) if matches!(p.state, State::Paid | State::Reversed) => {
                out.matched += 1;
                out.matched_fen = add(out.matched_fen, row.amount);
            }
            Some(p) => out.differences.push(diff(
                Kind::ChargedNotPaid,
                &row.order_no,
                None,
                trade,
                Some(p.amount),
                Some(row.amount),
            )),
            None => {
                out.differences.push(diff(Kind::ChargedNotPaid, &row.order_no, None, trade, None, Some(row.amount)))
            }
        }
        stamp(&mut out, from, row);
    }
    // Refund rows: by our refund number when the statement gives it, else as the reversal of a
    // reversed payment.
    for row in rows.iter().filter(|r| r.movement == Movement::Refund) {
        let from = out.differences.len();
        out.fee_fen = add(out.fee_fen, row.fee);
        let trade = Some(row.trade_no.as_str()).filter(|t| !t.is_empty());
        let refund_no = row.refund_no.as_deref().filter(|n| !n.is_empty());
        let ours = match refund_no {
            Some(no) => ledger.refunds.iter().find(|r| r.id == no),
            None => None,
        };
        if let (Some(_), Some(no)) = (ours, refund_no) {
            // In the statement, whatever it says of it: not also "missing from it".
            refunds_seen.insert(no);
        }
        match (ours, refund_no) {
            (Some(r), _) if r.payment_id != row.order_no || r.amount != row.amount => out.differences.push(diff(
                Kind::RefundAmountDiffers,
                &row.order_no,
                refund_no,
                trade,
                Some(r.amount),
                Some(row.amount),
            )),
            (Some(r), Some(_)) if r.state == RefundState::Succeeded => {
                out.refunds_matched += 1;
                out.refunds_matched_fen = add(out.refunds_matched_fen, row.amount);
            }
            (Some(r), _) => out.differences.push(diff(
                Kind::RefundNotInLedger,
                &row.order_no,
                refund_no,
                trade,
                Some(r.amount),
                Some(row.amount),
            )),
            // A reversal: the whole payment given back by a cancel (no refund number of ours).
            (None, None)
                if ledger
                    .payments
                    .get(&row.order_no)
                    .is_some_and(|p| p.state == State::Reversed && p.amount == row.amount) =>
            {
                out.refunds_matched += 1;
                out.refunds_matched_fen = add(out.refunds_matched_fen, row.amount);
            }
            (None, _) => out.differences.push(diff(
                Kind::RefundNotInLedger,
                &row.order_no,
                refund_no,
                trade,
                None,
                Some(row.amount),
            )),
        }
        stamp(&mut out, from, row);
    }
    // What the ledger has and the statement lacks.
    for id in &ledger.paid_that_day {
        if paid_seen.contains(id.as_str()) {
            continue;
        }
        let Some(p) = ledger.payments.get(id) else { continue };
        let kind = if ledger.complete { Kind::PaidAbsent } else { Kind::AwaitingNextBill };
        out.differences.push(diff(kind, id, None, None, Some(p.amount), None));
    }
    for id in &ledger.awaiting_payments {
        if paid_seen.contains(id.as_str()) || ledger.paid_that_day.contains(id) {
            continue;
        }
        let amount = ledger.payments.get(id).map(|p| p.amount);
        out.differences.push(diff(Kind::PaidAbsent, id, None, None, amount, None));
    }
    let refund_of = |id: &str| ledger.refunds.iter().find(|r| r.id == id);
    for id in &ledger.refunded_that_day {
        if refunds_seen.contains(id.as_str()) {
            continue;
        }
        if let Some(r) = refund_of(id) {
            out.differences.push(diff(
                if ledger.complete { Kind::RefundAbsent } else { Kind::RefundAwaitingNextBill },
                &r.payment_id,
                Some(id),
                None,
                Some(r.amount),
                None,
            ));
        }
    }
    for id in &ledger.awaiting_refunds {
        if refunds_seen.contains(id.as_str()) || ledger.refunded_that_day.contains(id) {
            continue;
        }
        let (order, amount) = refund_of(id).map(|r| (r.payment_id.as_str(), Some(r.amount))).unwrap_or(("", None));
        out.differences.push(diff(Kind::RefundAbsent, order, Some(id), None, amount, None));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pay(order: &str, fen: i64) -> StatementRow {
        StatementRow {
            trade_no: format!("W{order}"),
            order_no: order.into(),
            movement: Movement::Pay,
            amount: Fen(fen),
            fee: Fen(fen * 6 / 1000),
            at_ms: None,
            refund_no: None,
        }
    }

    fn refund(order: &str, fen: i64, no: Option<&str>) -> StatementRow {
        StatementRow { movement: Movement::Refund, refund_no: no.map(str::to_string), fee: Fen(0), ..pay(order, fen) }
    }

    fn side(payments: &[(&str, State, i64)], paid_today: &[&str]) -> LedgerSide {
        LedgerSide {
            payments: payments
                .iter()
                .map(|(id, state, fen)| {
                    (id.to_string(), LedgerPayment { id: id.to_string(), state: *state, amount: Fen(*fen) })
                })
                .collect(),
            paid_that_day: paid_today.iter().map(|s| s.to_string()).collect(),
            ..LedgerSide::default()
        }
    }

    fn kinds(o: &Outcome) -> Vec<(Kind, String)> {
        o.differences.iter().map(|d| (d.kind, d.order_no.clone())).collect()
    }

    #[test]
    fn a_statement_that_agrees_has_no_differences_and_counts_what_matched() {
        let ledger = side(&[("A", State::Paid, 1000), ("B", State::Paid, 250)], &["A", "B"]);
        let o = compare(&[pay("A", 1000), pay("B", 250)], &ledger);
        assert_eq!(o.differences, []);
        assert_eq!((o.matched, o.matched_fen, o.fee_fen), (2, Fen(1250), Fen(7)));
    }

    #[test]
    fn each_kind_of_difference() {
        let mut ledger = side(
            &[
                ("LATE", State::Lapsed, 500),
                ("ODD", State::Paid, 700),
                ("GONE", State::Paid, 300),
                ("TWICE", State::Paid, 100),
            ],
            &["ODD", "GONE", "TWICE"],
        );
        ledger.awaiting_payments.insert("YESTERDAY".into());
        ledger
            .payments
            .insert("YESTERDAY".into(), LedgerPayment { id: "YESTERDAY".into(), state: State::Paid, amount: Fen(900) });
        let rows = [pay("LATE", 500), pay("ODD", 701), pay("TWICE", 100), pay("TWICE", 100), pay("STRANGER", 42)];
        let o = compare(&rows, &ledger);
        let mut got = kinds(&o);
        got.sort();
        assert_eq!(
            got,
            [
                (Kind::ChargedNotPaid, "LATE".to_string()),
                (Kind::ChargedNotPaid, "STRANGER".to_string()),
                (Kind::ChargedTwice, "TWICE".to_string()),
                (Kind::PaidAbsent, "YESTERDAY".to_string()),
                (Kind::AwaitingNextBill, "GONE".to_string()),
                (Kind::AmountDiffers, "ODD".to_string()),
            ]
        );
        let odd = o.differences.iter().find(|d| d.kind == Kind::AmountDiffers).unwrap();
        assert_eq!((odd.ledger, odd.channel), (Some(Fen(700)), Some(Fen(701))));
    }

    #[test]
    fn a_payment_missing_today_is_found_in_the_next_days_statement() {
        let mut ledger = side(&[("MIDNIGHT", State::Paid, 1000)], &[]);
        ledger.awaiting_payments.insert("MIDNIGHT".into());
        let o = compare(&[pay("MIDNIGHT", 1000)], &ledger);
        assert_eq!(o.differences, []);
        assert_eq!(o.matched, 1);
    }

    #[test]
    fn a_complete_statement_calls_a_missing_payment_absent_at_once() {
        let mut ledger = side(&[("GONE", State::Paid, 300), ("HERE", State::Paid, 200)], &["GONE", "HERE"]);
        ledger.complete = true;
        let o = compare(&[pay("HERE", 200)], &ledger);
        assert_eq!(kinds(&o), [(Kind::PaidAbsent, "GONE".to_string())]);
        assert_eq!(o.matched, 1);
    }

    #[test]
    fn refunds_by_our_number_and_reversals_without_one() {
        let mut ledger = side(&[("P", State::Paid, 1000), ("R", State::Reversed, 400), ("Q", State::Paid, 800)], &[]);
        let ours = |id: &str, of: &str, state, fen| LedgerRefund {
            id: id.into(),
            payment_id: of.into(),
            state,
            amount: Fen(fen),
        };
        ledger.refunds = vec![
            ours("P-R1", "P", RefundState::Succeeded, 300),
            ours("P-R2", "P", RefundState::Unknown, 200),
            ours("Q-R1", "Q", RefundState::Succeeded, 100),
        ];
        ledger.refunded_that_day = ["P-R1".to_string(), "Q-R1".to_string()].into();
        ledger.awaiting_refunds = ["OLD-R".to_string()].into();
        let rows = [
            refund("P", 300, Some("P-R1")),
            refund("P", 200, Some("P-R2")),
            refund("R", 400, None),
            refund("P", 50, Some("NOT-OURS")),
        ];
        let o = compare(&rows, &ledger);
        let mut got: Vec<_> = o.differences.iter().map(|d| (d.kind, d.refund_no.clone())).collect();
        got.sort();
        assert_eq!(
            got,
            [
                (Kind::RefundNotInLedger, Some("NOT-OURS".into())),
                (Kind::RefundNotInLedger, Some("P-R2".into())),
                (Kind::RefundAbsent, Some("OLD-R".into())),
                (Kind::RefundAwaitingNextBill, Some("Q-R1".into())),
            ]
        );
        assert_eq!((o.refunds_matched, o.refunds_matched_fen), (2, Fen(700)));
    }

    #[test]
    fn fees_off_the_contracted_rate_by_more_than_a_fen() {
        let mut ledger = side(&[("A", State::Paid, 8888), ("B", State::Paid, 10_000)], &["A", "B"]);
        ledger.fee_rate_bp = Some(60);
        assert_eq!(fee_at(Fen(8888), 60), Fen(53));
        let fair = StatementRow { fee: Fen(54), ..pay("A", 8888) }; // a fen of rounding
        let dear = StatementRow { fee: Fen(100), ..pay("B", 10_000) };
        let o = compare(&[fair, dear], &ledger);
        assert_eq!(kinds(&o), [(Kind::FeeDiffers, "B".to_string())]);
        assert_eq!((o.differences[0].ledger, o.differences[0].channel), (Some(Fen(60)), Some(Fen(100))));
        assert_eq!(o.matched, 2, "the payment itself matches");
    }

    #[test]
    fn kinds_have_stable_names() {
        for k in ALL_KINDS {
            assert_eq!(Kind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(Kind::parse("nope"), None);
    }
}
