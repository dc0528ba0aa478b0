//! The engine's decisions as pure functions of a channel outcome and the clock: what state a
//! reply moves a payment to, and what to do when the clerk's wait ends. The async flows in
//! `driver.rs` only carry these out.

use crate::channel::{CancelOutcome, Capabilities, CreateOutcome, Failure, PayOutcome};
use crate::ledger::{Flow, State};

/// Failure codes the engine itself assigns (the channel's own codes pass through unchanged).
pub const NOT_SENT: &str = "NOT_SENT";
pub const NOT_FOUND_AT_CHANNEL: &str = "ORDER_NOT_FOUND";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Move to this state (a guarded transition; a no-op if another path got there first).
    To(State, Detail),
    /// No new knowledge: keep waiting / polling.
    Stay,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Detail {
    pub trade_no: Option<String>,
    pub paid_at: Option<i64>,
    pub failure: Option<Failure>,
    pub qr_payload: Option<String>,
    pub note: Option<String>,
}

impl Detail {
    fn failure(code: &str, message: &str) -> Detail {
        Detail { failure: Some(Failure { code: code.into(), message: message.into() }), ..Detail::default() }
    }

    fn note(why: &str) -> Detail {
        Detail { note: Some(why.into()), ..Detail::default() }
    }
}

/// Paid and given back in full before the ledger recorded it: the money is home, `reversed`.
fn refunded(trade_no: &Option<String>) -> Step {
    Step::To(
        State::Reversed,
        Detail {
            trade_no: trade_no.clone(),
            ..Detail::note("paid, then refunded in full at the channel (a reversal whose reply was lost)")
        },
    )
}

/// Reversed at the channel (撤销) before the ledger recorded the reversal: the money is home.
fn reversed(trade_no: &Option<String>) -> Step {
    Step::To(
        State::Reversed,
        Detail {
            trade_no: trade_no.clone(),
            ..Detail::note("reversed at the channel (refunded if it had been paid): a cancel whose reply was lost")
        },
    )
}

/// The reply to the barcode pay call itself.
pub fn after_pay(outcome: &PayOutcome) -> Step {
    match outcome {
        PayOutcome::Paid { trade_no, paid_at } => paid(trade_no, paid_at),
        PayOutcome::Refunded { trade_no } => refunded(trade_no),
        PayOutcome::Reversed { trade_no } => reversed(trade_no),
        PayOutcome::Failed(f) => Step::To(State::Failed, Detail { failure: Some(f.clone()), ..Detail::default() }),
        // No connection was made, so the request never reached the channel: nothing charged.
        PayOutcome::NotSent(why) => Step::To(State::Failed, Detail::failure(NOT_SENT, why)),
        PayOutcome::Waiting | PayOutcome::Unpaid => Step::To(State::Pending, Detail::default()),
        PayOutcome::Closed => Step::To(State::Closed, Detail::default()),
        // "Not found" in reply to a pay call makes no sense: treat as unknown and query.
        PayOutcome::NotFound => Step::To(State::Unknown, Detail::note("pay reply said order not found")),
        PayOutcome::Unknown(why) => Step::To(State::Unknown, Detail::note(why)),
    }
}

/// The reply to the create-QR call.
pub fn after_create(outcome: &CreateOutcome) -> Step {
    match outcome {
        CreateOutcome::Created { payload } => {
            Step::To(State::Pending, Detail { qr_payload: Some(payload.clone()), ..Detail::default() })
        }
        CreateOutcome::Failed(f) => Step::To(State::Failed, Detail { failure: Some(f.clone()), ..Detail::default() }),
        CreateOutcome::NotSent(why) => Step::To(State::Failed, Detail::failure(NOT_SENT, why)),
        CreateOutcome::Unknown(why) => Step::To(State::Unknown, Detail::note(why)),
    }
}

fn paid(trade_no: &Option<String>, paid_at: &Option<i64>) -> Step {
    Step::To(State::Paid, Detail { trade_no: trade_no.clone(), paid_at: *paid_at, ..Detail::default() })
}

/// A query reply at time `now`. "Not found" means "never there" only for an order the channel
/// never acknowledged, and only after the horizon (before it, the order may not have reached the
/// channel's books yet). For an order the channel did acknowledge it is a contradiction that a
/// person must look at: the payment becomes `unknown`, never `failed`.
pub fn after_query(outcome: &PayOutcome, now: i64, horizon_at: i64, acknowledged: bool) -> Step {
    match outcome {
        PayOutcome::Paid { trade_no, paid_at } => paid(trade_no, paid_at),
        PayOutcome::Refunded { trade_no } => refunded(trade_no),
        PayOutcome::Reversed { trade_no } => reversed(trade_no),
        PayOutcome::Failed(f) => Step::To(State::Failed, Detail { failure: Some(f.clone()), ..Detail::default() }),
        PayOutcome::Closed => Step::To(State::Closed, Detail::default()),
        PayOutcome::Waiting => Step::To(State::Pending, Detail::default()),
        // Our clock never makes "not charged" final: lapsed is watched, and paid still wins.
        PayOutcome::Unpaid if now >= horizon_at => Step::To(
            State::Lapsed,
            Detail::note(
                "still unpaid after the payment page's lifetime; the channel cannot close it: lapsed, watched",
            ),
        ),
        PayOutcome::Unpaid => Step::To(State::Pending, Detail::default()),
        PayOutcome::NotFound if acknowledged => {
            Step::To(State::Unknown, Detail::note("the channel acknowledged this order but now says it has none"))
        }
        PayOutcome::NotFound if now >= horizon_at => Step::To(
            State::Failed,
            Detail::failure(NOT_FOUND_AT_CHANNEL, "the channel has no such order: nothing was charged"),
        ),
        PayOutcome::NotFound | PayOutcome::NotSent(_) | PayOutcome::Unknown(_) => Step::Stay,
    }
}

/// The reply to a close call on an unpaid QR order.
pub fn after_close(outcome: &PayOutcome, now: i64, horizon_at: i64, acknowledged: bool) -> CloseStep {
    match outcome {
        PayOutcome::Closed => CloseStep::Done(Step::To(State::Closed, Detail::default())),
        PayOutcome::Paid { .. } | PayOutcome::Refunded { .. } | PayOutcome::Reversed { .. } => {
            CloseStep::Done(after_query(outcome, now, horizon_at, acknowledged))
        }
        PayOutcome::Waiting => CloseStep::Retry,
        // Not paid, and the channel cannot close it (Alipay's precreated code nobody has scanned:
        // no trade exists to close, and the code stays payable until its own expiry). Retrying
        // cannot change that: it lapses and is watched, and a late payment is still taken.
        PayOutcome::Unpaid => CloseStep::Done(Step::To(
            State::Lapsed,
            Detail::note("unpaid, and the channel cannot close it (not opened by the customer yet): lapsed, watched"),
        )),
        // A refused close may mean "already paid", and a close whose answer was lost may have
        // closed: only a query can tell (asked between the attempts).
        PayOutcome::Failed(_) | PayOutcome::Unknown(_) => CloseStep::QueryAgain,
        PayOutcome::NotFound => CloseStep::Done(after_query(outcome, now, horizon_at, acknowledged)),
        PayOutcome::NotSent(_) => CloseStep::Retry,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseStep {
    Done(Step),
    Retry,
    QueryAgain,
}

/// The reply to a cancel (撤销/冲正) of a barcode payment.
pub fn after_cancel(outcome: &CancelOutcome) -> CloseStep {
    match outcome {
        CancelOutcome::Reversed { was_paid } => CloseStep::Done(Step::To(
            State::Reversed,
            Detail::note(match was_paid {
                Some(true) => "paid, then refunded by the cancel",
                Some(false) => "cancelled before payment",
                None => "reversed at the channel (refunded if it had been paid)",
            }),
        )),
        // A cancel whose answer was lost is sent again (same request number), never read back
        // through a query: "paid" there may only mean the reversal has not landed yet.
        CancelOutcome::Retry | CancelOutcome::NotSent(_) | CancelOutcome::Unknown(_) => CloseStep::Retry,
        CancelOutcome::Failed(_) => CloseStep::QueryAgain,
    }
}

/// What ends the clerk's wait when the deadline passes or Cancel is pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitEnd {
    /// Reverse the barcode payment at the channel.
    Cancel,
    /// Close the QR order at the channel.
    Close,
    /// The channel can do neither: tell the clerk it is not confirmed and keep querying in the
    /// background; a later payment is kept and flagged late, never dropped.
    KeepQuerying,
}

pub fn when_wait_ends(flow: Flow, caps: &Capabilities) -> WaitEnd {
    match flow {
        Flow::Barcode if caps.cancel => WaitEnd::Cancel,
        Flow::Qr if caps.close => WaitEnd::Close,
        _ => WaitEnd::KeepQuerying,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure() -> Failure {
        Failure { code: "AUTHCODE_INVALID".into(), message: "付款码无效".into() }
    }

    fn state(step: &Step) -> Option<State> {
        match step {
            Step::To(s, _) => Some(*s),
            Step::Stay => None,
        }
    }

    #[test]
    fn unknown_is_never_failed() {
        assert_eq!(state(&after_pay(&PayOutcome::Unknown("timeout".into()))), Some(State::Unknown));
        assert_eq!(state(&after_pay(&PayOutcome::NotFound)), Some(State::Unknown));
        assert_eq!(state(&after_create(&CreateOutcome::Unknown("500".into()))), Some(State::Unknown));
        assert_eq!(after_query(&PayOutcome::Unknown("garbled".into()), 0, 100, false), Step::Stay);
        assert_eq!(after_query(&PayOutcome::NotSent("refused".into()), 200, 100, false), Step::Stay);
    }

    #[test]
    fn definitive_answers_are_final() {
        assert_eq!(state(&after_pay(&PayOutcome::Paid { trade_no: None, paid_at: None })), Some(State::Paid));
        assert_eq!(state(&after_pay(&PayOutcome::Failed(failure()))), Some(State::Failed));
        assert_eq!(state(&after_pay(&PayOutcome::Waiting)), Some(State::Pending));
        assert_eq!(state(&after_query(&PayOutcome::Closed, 0, 0, true)), Some(State::Closed));
        assert_eq!(state(&after_query(&PayOutcome::Failed(failure()), 0, 0, true)), Some(State::Failed));
    }

    #[test]
    fn a_reversal_the_channel_reports_is_reversed_never_closed() {
        // Found by chaos (seed 18): a WeChat reverse whose answer was lost, then REVOKED on query.
        // The charge had gone back: `reversed`, not `closed` ("never charged").
        let r = PayOutcome::Reversed { trade_no: Some("4200".into()) };
        assert_eq!(state(&after_query(&r, 0, 0, true)), Some(State::Reversed));
        assert_eq!(state(&after_pay(&r)), Some(State::Reversed));
        assert!(matches!(after_close(&r, 0, 0, true), CloseStep::Done(Step::To(State::Reversed, _))));
    }

    #[test]
    fn a_request_that_never_left_failed_with_nothing_charged() {
        match after_pay(&PayOutcome::NotSent("connection refused".into())) {
            Step::To(State::Failed, d) => assert_eq!(d.failure.unwrap().code, NOT_SENT),
            other => panic!("{other:?}"),
        }
        assert_eq!(state(&after_create(&CreateOutcome::NotSent("x".into()))), Some(State::Failed));
    }

    #[test]
    fn not_found_is_final_only_after_the_horizon() {
        assert_eq!(after_query(&PayOutcome::NotFound, 99, 100, false), Step::Stay);
        match after_query(&PayOutcome::NotFound, 100, 100, false) {
            Step::To(State::Failed, d) => assert_eq!(d.failure.unwrap().code, NOT_FOUND_AT_CHANNEL),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn not_found_for_an_acknowledged_order_is_for_a_person_never_failed() {
        for now in [0, 100, 1_000_000] {
            assert_eq!(state(&after_query(&PayOutcome::NotFound, now, 100, true)), Some(State::Unknown), "{now}");
        }
        assert!(matches!(
            after_close(&PayOutcome::NotFound, 500, 100, true),
            CloseStep::Done(Step::To(State::Unknown, _))
        ));
    }

    #[test]
    fn an_unpaid_page_lapses_only_after_the_horizon_and_never_closes_on_our_clock() {
        assert_eq!(state(&after_query(&PayOutcome::Unpaid, 99, 100, true)), Some(State::Pending));
        for now in [100, 1_000_000_000] {
            match after_query(&PayOutcome::Unpaid, now, 100, true) {
                Step::To(State::Lapsed, d) => assert!(d.note.unwrap().contains("lapsed")),
                other => panic!("{other:?}"),
            }
        }
        // A plain "waiting" never lapses by the clock: that channel closes its own orders.
        assert_eq!(state(&after_query(&PayOutcome::Waiting, 1_000, 100, true)), Some(State::Pending));
        // A close the channel cannot make (nothing to close yet) lapses at once, whatever the clock.
        assert!(matches!(after_close(&PayOutcome::Unpaid, 0, 100, true), CloseStep::Done(Step::To(State::Lapsed, _))));
        assert_eq!(after_close(&PayOutcome::Waiting, 0, 100, true), CloseStep::Retry);
    }

    #[test]
    fn close_and_cancel_never_assume() {
        assert_eq!(
            after_close(&PayOutcome::Closed, 0, 0, true),
            CloseStep::Done(Step::To(State::Closed, Detail::default()))
        );
        // Paid in the meantime: paid, not closed (rule 4).
        assert!(matches!(
            after_close(&PayOutcome::Paid { trade_no: None, paid_at: None }, 0, 0, true),
            CloseStep::Done(Step::To(State::Paid, _))
        ));
        assert_eq!(after_close(&PayOutcome::Failed(failure()), 0, 0, true), CloseStep::QueryAgain);
        assert_eq!(after_close(&PayOutcome::Unknown("x".into()), 0, 0, true), CloseStep::QueryAgain);
        assert_eq!(after_close(&PayOutcome::NotSent("x".into()), 0, 0, true), CloseStep::Retry);
        assert_eq!(after_cancel(&CancelOutcome::Unknown("x".into())), CloseStep::Retry);
        assert!(matches!(
            after_cancel(&CancelOutcome::Reversed { was_paid: Some(true) }),
            CloseStep::Done(Step::To(State::Reversed, _))
        ));
        assert_eq!(after_cancel(&CancelOutcome::Retry), CloseStep::Retry);
        assert_eq!(after_cancel(&CancelOutcome::Failed(failure())), CloseStep::QueryAgain);
    }

    #[test]
    fn the_wait_ends_by_what_the_channel_can_do() {
        let mut caps = Capabilities {
            barcode: true,
            qr: true,
            cancel: false,
            close: false,
            refund: true,
            refund_resend: false,
            barcode_wallets: vec![],
            methods: vec![],
            display: crate::channel::Display::Qr,
        };
        assert_eq!(when_wait_ends(Flow::Barcode, &caps), WaitEnd::KeepQuerying);
        assert_eq!(when_wait_ends(Flow::Qr, &caps), WaitEnd::KeepQuerying);
        caps.cancel = true;
        caps.close = true;
        assert_eq!(when_wait_ends(Flow::Barcode, &caps), WaitEnd::Cancel);
        assert_eq!(when_wait_ends(Flow::Qr, &caps), WaitEnd::Close);
    }
}
