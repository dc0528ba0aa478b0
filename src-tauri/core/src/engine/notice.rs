//! Notifies from channels that can reach the store. A notify never bypasses the rules: a signed
//! "paid" is cross-checked against the ledger (order, channel, amount, merchant) and applied as
//! the same guarded transition a poll would make; anything else only triggers a query now.
//! Repeats and races with polling are harmless: the guard lets exactly one transition through.

use super::decide;
use super::driver::order_of;
use super::Inner;
use crate::channel::{Notice, PayOutcome};
use crate::ledger::{now_ms, LedgerError, Payment, State};
use serde_json::json;

/// What became of a notify. Everything but `Refused` is acknowledged to the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeTaken {
    /// It moved the payment (to paid).
    Applied,
    /// It said what the ledger already knew.
    Unchanged,
    /// The order was queried because of it.
    Queried,
    /// Not trusted or not matching the ledger: nothing changed. The channel is told to retry,
    /// which a forger cannot turn into anything but more refusals.
    Refused(String),
}

const BODY_KEPT: usize = 2048;

impl Inner {
    pub(super) async fn take_notify(&self, channel: &str, authorization: Option<&str>, body: &[u8]) -> NoticeTaken {
        let Some(ch) = self.channels.get(channel).cloned() else {
            return NoticeTaken::Refused(format!("no channel {channel} is configured"));
        };
        let refused = |why: String| {
            tracing::warn!(channel, why = %why, "notify refused");
            NoticeTaken::Refused(why)
        };
        // The claim of a verified "paid" (amount, merchant, trade number, time); `None` for a hint.
        let (order_id, claim) = match ch.read_notify(authorization, body) {
            Notice::Refused(why) => return refused(why),
            Notice::QueryNow { order_id } => (order_id, None),
            Notice::Paid { order_id, amount, merchant, trade_no, paid_at } => {
                (order_id, Some((amount, merchant, trade_no, paid_at)))
            }
        };
        let p = match self.ledger.payment(&order_id) {
            Ok(p) if p.channel == channel => p,
            Ok(_) => return refused(format!("order {order_id} belongs to another channel")),
            Err(LedgerError::NotFound(_)) => return refused(format!("no order {order_id} in the ledger")),
            Err(e) => return refused(format!("cannot read the ledger: {e}")),
        };
        let text: String = String::from_utf8_lossy(body).chars().take(BODY_KEPT).collect();
        let audit = json!({ "call": "notify", "body": text });
        match claim {
            None if p.state.is_final() => {
                // Final here; ask anyway, so a payment the channel took after we closed it is seen.
                let reply = ch.query(&order_of(&p)).await;
                if matches!(reply.outcome, PayOutcome::Paid { .. }) && p.state != State::Paid {
                    self.conflict(&p, json!({ "notify": audit, "reply": reply.audit }));
                }
                NoticeTaken::Unchanged
            }
            None => {
                let _ = self.ledger.note(&p.id, &json!({ "notify": audit }));
                self.query_once(&ch, &p, &Default::default()).await;
                NoticeTaken::Queried
            }
            Some((amount, merchant, trade_no, paid_at)) => {
                if amount != p.amount {
                    return refused(format!("notify amount {} fen is not the order's {} fen", amount.0, p.amount.0));
                }
                if merchant.as_deref().is_some_and(|m| m != p.merchant) {
                    return refused("notify is for another merchant".into());
                }
                if p.state == State::Paid {
                    return NoticeTaken::Unchanged;
                }
                if p.state.is_final() {
                    self.conflict(&p, audit);
                    return NoticeTaken::Unchanged;
                }
                let step = decide::after_query(&PayOutcome::Paid { trade_no, paid_at }, now_ms(), p.horizon_at, true);
                match self.apply(&p.id, &step, audit).await {
                    Some(_) => NoticeTaken::Applied,
                    None => NoticeTaken::Unchanged,
                }
            }
        }
    }

    /// The channel says paid; the ledger has the payment closed or failed. Kept for a person.
    fn conflict(&self, p: &Payment, detail: serde_json::Value) {
        let _ = self.ledger.note(&p.id, &json!({ "conflict": "the channel reports paid", "detail": detail }));
        tracing::error!(payment = %p.id, state = %p.state.as_str(), "the channel reports paid; the ledger disagrees");
    }
}
