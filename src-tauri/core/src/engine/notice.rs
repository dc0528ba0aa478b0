//! Notifies from channels that can reach the store. A notify never bypasses the rules: a signed
//! "paid" is cross-checked against the ledger (order, channel, amount, merchant) and applied as
//! the same guarded transition a poll would make; anything else only triggers a query now.
//! Repeats and races with polling are harmless: the guard lets exactly one transition through.
//! A payment the ledger holds as lapsed, failed or closed still turns paid (late, alerted): the
//! notify is often the only news of a customer who paid after we stopped waiting.

use super::decide;
use super::Inner;
use crate::channel::{Notice, PayOutcome};
use crate::ledger::{now_ms, LedgerError, Payment, State};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// What became of a notify. `Applied`, `Unchanged` and `Queried` are acknowledged to the
/// channel; `Retry` and `Refused` are not, so it sends the notify again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeTaken {
    /// It moved the payment (to paid).
    Applied,
    /// It said what the ledger already knew.
    Unchanged,
    /// The order was queried because of it, and the answer recorded.
    Queried,
    /// Trusted, but the query it called for got no answer: acknowledging it now could lose the
    /// only news of a payment, so the channel is asked to send it again later.
    Retry(String),
    /// Not trusted or not matching the ledger: nothing changed. The channel is told to retry,
    /// which a forger cannot turn into anything but more refusals.
    Refused(String),
}

const BODY_KEPT: usize = 2048;

/// A hint asks the channel about an order at most once in this long…
const HINT_PER_ORDER: Duration = Duration::from_secs(5);
/// …and hints ask at most this many times a second in all.
const HINTS_PER_SECOND: u32 = 10;

/// Which hints may ask the channel now (see [`HINT_PER_ORDER`], [`HINTS_PER_SECOND`]); the
/// orders of those that could not are asked about by the next recovery sweep, once each, so a
/// genuine notify drowned in a flood is not lost (a payment the ledger holds as failed or closed
/// is queried by nothing else).
#[derive(Debug)]
pub(super) struct HintLimiter {
    asked: HashMap<String, Instant>,
    second: Instant,
    in_second: u32,
    later: BTreeSet<String>,
}

impl HintLimiter {
    pub(super) fn new() -> HintLimiter {
        HintLimiter { asked: HashMap::new(), second: Instant::now(), in_second: 0, later: BTreeSet::new() }
    }

    /// Whether a hint about `order` (one of ours) may ask now; if so, it is counted, else the
    /// order waits for the next sweep.
    pub(super) fn admit(&mut self, order: &str, now: Instant) -> bool {
        self.asked.retain(|_, at| now.duration_since(*at) < HINT_PER_ORDER);
        if now.duration_since(self.second) >= Duration::from_secs(1) {
            (self.second, self.in_second) = (now, 0);
        }
        if self.asked.contains_key(order) || self.in_second >= HINTS_PER_SECOND {
            self.later.insert(order.to_string());
            return false;
        }
        self.in_second += 1;
        self.asked.insert(order.to_string(), now);
        true
    }

    /// A hint's query got no answer: the next hint about the order may ask at once.
    pub(super) fn forget(&mut self, order: &str) {
        self.asked.remove(order);
    }

    /// Up to `most` orders whose hints could not ask, taken off the list.
    pub(super) fn take_later(&mut self, most: usize) -> Vec<String> {
        let taken: Vec<String> = self.later.iter().take(most).cloned().collect();
        for id in &taken {
            self.later.remove(id);
        }
        taken
    }
}

impl Inner {
    pub(super) async fn take_notify(&self, channel: &str, authorization: Option<&str>, body: &[u8]) -> NoticeTaken {
        // Not yet (the start-up check) or never (a damaged ledger): the channel sends it again.
        if let Err(e) = self.writable() {
            return NoticeTaken::Retry(e.to_string());
        }
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
            // Not ours: the same answer whether the number exists or not, and nothing written.
            Ok(_) | Err(LedgerError::NotFound(_)) => {
                return match claim {
                    None => NoticeTaken::Unchanged,
                    Some(_) => refused("not an order of this channel's in this ledger".into()),
                }
            }
            Err(e) => return NoticeTaken::Retry(format!("cannot read the ledger: {e}")),
        };
        let text: String = String::from_utf8_lossy(body).chars().take(BODY_KEPT).collect();
        let audit = json!({ "call": "notify", "body": text });
        // Evidence that money moved wins whatever the ledger holds (lapsed, failed, closed: the
        // transition flags it late); only paid and reversed are past changing.
        let outcome = match claim {
            None if p.state == State::Paid => return NoticeTaken::Unchanged,
            // A hint (unsigned, or saying no more than "ask") writes nothing, and asks the channel
            // at most once per order in a while and a few times a second in all: a flood of them
            // neither grows the ledger nor turns into a flood of queries. Polling and recovery
            // find the truth of whatever a hint was not asked about.
            None if !self.hints.lock().unwrap_or_else(|e| e.into_inner()).admit(&p.id, Instant::now()) => {
                return NoticeTaken::Unchanged
            }
            None => {
                let (after, said) = self.query_reply(&ch, &p, &Default::default()).await;
                match said {
                    PayOutcome::Unknown(why) | PayOutcome::NotSent(why) => {
                        tracing::warn!(payment = %p.id, why = %why, "notify: the query got no answer; asking for it again");
                        // Unanswered, it does not count: the channel's next delivery may ask again.
                        self.hints.lock().unwrap_or_else(|e| e.into_inner()).forget(&p.id);
                        return NoticeTaken::Retry(format!("the order could not be queried: {why}"));
                    }
                    // Paid moves every state but reversed: anything else here is a write that failed.
                    PayOutcome::Paid { .. } if after.state == State::Reversed => {
                        self.conflict(&after, json!({ "notify": "query said paid" }));
                        return NoticeTaken::Unchanged;
                    }
                    PayOutcome::Paid { .. } if after.state != State::Paid => {
                        return NoticeTaken::Retry("the payment could not be recorded".into());
                    }
                    _ if after.state != p.state => return NoticeTaken::Applied,
                    _ => return NoticeTaken::Queried,
                }
            }
            Some((amount, merchant, trade_no, paid_at)) => {
                if amount != p.amount {
                    return refused(format!("notify amount {} fen is not the order's {} fen", amount.0, p.amount.0));
                }
                if merchant.as_deref().is_some_and(|m| m != p.merchant) {
                    return refused("notify is for another merchant".into());
                }
                PayOutcome::Paid { trade_no, paid_at }
            }
        };
        if p.state == State::Paid {
            return NoticeTaken::Unchanged;
        }
        let step = decide::after_query(&outcome, now_ms(), p.horizon_at, true);
        match self.record(&p.id, &step, audit.clone()).await {
            Ok(Some(_)) => NoticeTaken::Applied,
            Err(e) => NoticeTaken::Retry(format!("the payment could not be recorded: {e}")),
            Ok(None) => {
                // Paid and reversed never change: a person must look at a paid claim on a reversal.
                if let Ok(now) = self.ledger.payment(&p.id) {
                    if now.state != State::Paid {
                        self.conflict(&now, audit);
                    }
                }
                NoticeTaken::Unchanged
            }
        }
    }

    /// The channel says paid; the ledger cannot take it (the payment was reversed). Kept for a
    /// person.
    fn conflict(&self, p: &Payment, detail: serde_json::Value) {
        let _ = self.ledger.note(&p.id, &json!({ "conflict": "the channel reports paid", "detail": detail }));
        tracing::error!(payment = %p.id, state = %p.state.as_str(), "the channel reports paid; the ledger disagrees");
    }
}
