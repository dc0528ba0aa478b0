//! The one name of everything a person sees the state of: a payment (with what was refunded of
//! it), a refund, and the live phase of a payment at the counter. Every screen, report, CSV file
//! and the command line take their words from here, so a payment is called the same everywhere.

use super::{Fen, RefundState, State};
use crate::i18n::Lang;
use serde::Serialize;

/// What a payment is, in one word: its ledger state, and for a paid one how much of it went back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Created,
    Pending,
    Unknown,
    Lapsed,
    Paid,
    /// Paid, and part of it refunded.
    PartlyRefunded,
    /// Paid, and all of it refunded.
    Refunded,
    Failed,
    Closed,
    Reversed,
}

impl Status {
    /// `refunded`: what succeeded refunds gave back (a refund still under way gives nothing back yet).
    pub fn of(state: State, amount: Fen, refunded: Fen) -> Status {
        match state {
            State::Paid if refunded.0 > 0 && refunded.0 >= amount.0 => Status::Refunded,
            State::Paid if refunded.0 > 0 => Status::PartlyRefunded,
            State::Paid => Status::Paid,
            State::Created => Status::Created,
            State::Pending => Status::Pending,
            State::Unknown => Status::Unknown,
            State::Lapsed => Status::Lapsed,
            State::Failed => Status::Failed,
            State::Closed => Status::Closed,
            State::Reversed => Status::Reversed,
        }
    }

    /// A payment's status: a payment still open that the clerk stopped waiting for is named as
    /// an unknown one ("付款未确认"), the words the clerk saw when they stopped: in the list,
    /// the reports and on the result screen alike.
    pub fn of_payment(p: &super::Payment, refunded: Fen) -> Status {
        match Status::of(p.state, p.amount, refunded) {
            Status::Created | Status::Pending if p.abandoned_at.is_some() => Status::Unknown,
            s => s,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Pending => "pending",
            Status::Unknown => "unknown",
            Status::Lapsed => "lapsed",
            Status::Paid => "paid",
            Status::PartlyRefunded => "partly_refunded",
            Status::Refunded => "refunded",
            Status::Failed => "failed",
            Status::Closed => "closed",
            Status::Reversed => "reversed",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            // Recorded and being sent; after a crash it may have reached the channel: never "not sent".
            Status::Created => lang.pick("处理中", "Processing"),
            Status::Pending => lang.pick("等待付款", "Awaiting payment"),
            // The same words the clerk saw when they stopped waiting.
            Status::Unknown => lang.pick("付款未确认", "Not confirmed"),
            Status::Lapsed => lang.pick("未付款（已过期）", "Unpaid (expired)"),
            Status::Paid => lang.pick("已支付", "Paid"),
            Status::PartlyRefunded => lang.pick("部分退款", "Partly refunded"),
            Status::Refunded => lang.pick("已退款", "Refunded"),
            Status::Failed => lang.pick("支付失败", "Failed"),
            Status::Closed => lang.pick("已关闭", "Closed"),
            Status::Reversed => lang.pick("已撤销", "Reversed"),
        }
    }
}

impl State {
    /// The state's name for a person (a paid one with refunds is named by [`Status`]).
    pub fn label(self, lang: Lang) -> &'static str {
        Status::of(self, Fen::ZERO, Fen::ZERO).label(lang)
    }
}

impl RefundState {
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            RefundState::Created => lang.pick("退款处理中", "Refund processing"),
            RefundState::Pending => lang.pick("退款处理中", "Refund processing"),
            RefundState::Unknown => lang.pick("退款未确认", "Refund not confirmed"),
            RefundState::Succeeded => lang.pick("退款成功", "Refunded"),
            RefundState::Failed => lang.pick("退款失败", "Refund failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paid_payment_is_named_by_what_went_back() {
        let s = |refunded| Status::of(State::Paid, Fen(1234), Fen(refunded));
        assert_eq!(s(0), Status::Paid);
        assert_eq!(s(234), Status::PartlyRefunded);
        assert_eq!(s(1234), Status::Refunded);
        assert_eq!(s(1234).label(Lang::Zh), "已退款");
        assert_eq!(s(1).label(Lang::Zh), "部分退款");
        // Refunds never make an unpaid payment look refunded.
        assert_eq!(Status::of(State::Failed, Fen(100), Fen(100)), Status::Failed);
    }

    #[test]
    fn every_state_has_one_name_in_each_language() {
        let all = [
            State::Created,
            State::Pending,
            State::Unknown,
            State::Lapsed,
            State::Paid,
            State::Failed,
            State::Closed,
            State::Reversed,
        ];
        for lang in [Lang::Zh, Lang::En] {
            let mut names: Vec<_> = all.iter().map(|s| s.label(lang)).collect();
            names.push(Status::PartlyRefunded.label(lang));
            names.push(Status::Refunded.label(lang));
            let n = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), n, "two states share a name: {names:?}");
        }
    }
}
