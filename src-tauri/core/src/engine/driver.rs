//! The async flows. Each carries out the decisions of `decide.rs` and writes every outcome
//! through a guarded ledger transition before telling anyone.

use super::decide::{self, CloseStep, Step, WaitEnd};
use super::failpoint::failpoint;
use super::view::Phase;
use super::{Inner, RecoverySummary, Update};
use crate::channel::{Channel, Order, Reply};
use crate::config::Timing;
use crate::ledger::{now_ms, Change, Flow, LedgerError, Payment, State, Watch};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Sleeps `d`, or less if the clerk cancels. Returns whether cancel was requested.
async fn pause(d: Duration, cancel: &mut watch::Receiver<bool>) -> bool {
    if *cancel.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        changed = cancel.changed() => match changed {
            Ok(()) => *cancel.borrow(),
            // The sender is gone (shutdown): just finish the pause.
            Err(_) => { tokio::time::sleep(d).await; false }
        },
    }
}

fn until(ms_epoch: i64) -> Duration {
    Duration::from_millis((ms_epoch - now_ms()).max(0) as u64)
}

/// The order as channels see it. A QR payment's tender is kept in the `wallet` column.
pub(super) fn order_of(p: &Payment) -> Order<'_> {
    let method = if p.flow == Flow::Qr { p.wallet.as_deref() } else { None };
    Order { id: &p.id, amount: p.amount, subject: &p.subject, merchant: &p.merchant, method, flow: p.flow }
}

/// How many orders hinted at by throttled notifies one recovery sweep asks about.
const HINTS_PER_SWEEP: usize = 20;

/// How often a failed ledger write is tried again before the step is left to recovery.
const LEDGER_RETRIES: [u64; 3] = [50, 250, 1_000];

impl Inner {
    pub(super) fn phase(&self, p: &Payment) -> Phase {
        let cancelling = {
            let live = self.live.lock().unwrap_or_else(|e| e.into_inner());
            live.get(&p.id).is_some_and(|l| l.cancelling)
        };
        Phase::of(p, cancelling)
    }

    pub(super) fn emit(&self, p: &Payment) {
        let phase = self.phase(p);
        if matches!(phase, Phase::Done | Phase::NotConfirmed) {
            let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(l) = live.get_mut(&p.id) {
                l.on_counter = false;
            }
        }
        let _ = self.updates.send(Update::Payment { payment: p.clone(), phase });
        if let Some(charge) = &p.charge_id {
            self.emit_charge(charge);
        }
        if p.state == State::Paid && p.late {
            tracing::warn!(payment = %p.id, "late payment: paid after the clerk stopped waiting");
            let _ = self.updates.send(Update::LateAlert { payment: p.clone() });
        }
    }

    /// Tells the screen and the terminal API's waiters about a charge as the ledger has it now.
    pub(super) fn emit_charge(&self, id: &str) {
        match self.ledger.charge_record(id) {
            Ok(record) => self.send_charge(record),
            Err(e) => tracing::warn!(charge = id, error = %e, "cannot read the charge to report it"),
        }
    }

    pub(super) fn send_charge(&self, record: crate::ledger::ChargeRecord) {
        let _ = self.updates.send(Update::Charge { charge: Box::new(record) });
    }

    pub(super) fn finish(&self, id: &str, ended: watch::Sender<bool>) {
        if let Err(e) = self.ledger.release_lease(id) {
            tracing::warn!(payment = id, error = %e, "cannot release the lease; recovery waits for it to lapse");
        }
        let _ = ended.send(true);
        self.live.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }

    fn current(&self, id: &str) -> Option<Payment> {
        match self.ledger.payment(id) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::error!(payment = id, error = %e, "cannot read the payment");
                None
            }
        }
    }

    /// Applies a step: a guarded transition plus its event, then tells the screen. A step the
    /// guard refuses changes nothing; a ledger error is retried, then left to recovery (which
    /// will query again).
    pub(super) async fn apply(&self, id: &str, step: &Step, audit: Value) -> Option<Payment> {
        self.record(id, step, audit).await.unwrap_or(None)
    }

    /// As [`Inner::apply`], telling a write that failed (after its retries) from a step the guard
    /// refused (`Ok(None)`): a notify must not be acknowledged when its news was not recorded.
    pub(super) async fn record(&self, id: &str, step: &Step, audit: Value) -> Result<Option<Payment>, LedgerError> {
        let Step::To(to, detail) = step else {
            return Ok(None);
        };
        // A lapse starts the payment's watch: the channel's window, the configured back-off.
        let watch = match to {
            State::Lapsed => {
                self.current(id).and_then(|p| self.channels.get(p.channel.as_str()).cloned()).map(|ch| Watch {
                    every_ms: self.config.timing.lapsed_recheck_ms as i64,
                    until: now_ms().saturating_add(ch.lapse_watch().as_millis() as i64),
                })
            }
            _ => None,
        };
        let change = Change {
            watch,
            trade_no: detail.trade_no.clone(),
            paid_at: detail.paid_at,
            failure: detail.failure.as_ref().map(|f| (f.code.clone(), f.message.clone())),
            qr_payload: detail.qr_payload.clone(),
            detail: json!({ "reply": audit, "note": detail.note }),
            audit: None,
            unless_leased: false,
        };
        let mut retries = LEDGER_RETRIES.iter();
        loop {
            match self.ledger.transition(id, *to, &change) {
                Ok(Some(p)) => {
                    self.emit(&p);
                    return Ok(Some(p));
                }
                Ok(None) => return Ok(None),
                Err(e) => match retries.next() {
                    Some(ms) => {
                        tracing::warn!(payment = id, error = %e, "cannot record the outcome; trying again");
                        tokio::time::sleep(Duration::from_millis(*ms)).await;
                    }
                    None => {
                        tracing::error!(payment = id, error = %e, "cannot record the outcome; recovery will query again");
                        return Err(e);
                    }
                },
            }
        }
    }

    /// Keeps other processes' recovery away from a payment this process is about to wait on.
    fn lease(&self, p: &Payment, pause: Duration) {
        let until = now_ms() + pause.as_millis() as i64 + self.lease_margin_ms;
        if let Err(e) = self.ledger.renew_lease(&p.id, until) {
            tracing::warn!(payment = %p.id, error = %e, "cannot renew the lease");
        }
    }

    fn channel_of(&self, p: &Payment) -> Option<Arc<dyn Channel>> {
        let ch = self.channels.get(p.channel.as_str()).cloned();
        if ch.is_none() {
            tracing::error!(payment = %p.id, channel = %p.channel, "the payment's channel is not configured");
        }
        ch
    }

    fn count<T>(http: &AtomicU64, reply: &Reply<T>) {
        http.fetch_add(reply.elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    /// One query; applies what it says. Returns the payment as it stands after.
    pub(super) async fn query_once(&self, ch: &Arc<dyn Channel>, p: &Payment, http: &AtomicU64) -> Payment {
        self.query_reply(ch, p, http).await.0
    }

    /// One query; applies what it says. Returns the payment as it stands after, and the answer.
    pub(super) async fn query_reply(
        &self,
        ch: &Arc<dyn Channel>,
        p: &Payment,
        http: &AtomicU64,
    ) -> (Payment, crate::channel::PayOutcome) {
        let reply = ch.query(&order_of(p)).await;
        Self::count(http, &reply);
        let step = decide::after_query(&reply.outcome, now_ms(), p.horizon_at, p.acknowledged);
        // A reply that changed nothing but says something (unknown, mismatch) is kept for audit.
        if step == Step::Stay && reply.outcome != crate::channel::PayOutcome::Waiting {
            let _ = self.ledger.note(&p.id, &json!({ "reply": reply.audit.clone() }));
        }
        self.apply(&p.id, &step, reply.audit).await;
        (self.current(&p.id).unwrap_or_else(|| p.clone()), reply.outcome)
    }

    pub(super) async fn create_qr(&self, ch: &Arc<dyn Channel>, p: &Payment, http: &AtomicU64) -> Option<Payment> {
        failpoint("before_send");
        let reply = ch.create_qr(&order_of(p), p.deadline_at).await;
        Self::count(http, &reply);
        failpoint("after_send");
        let step = decide::after_create(&reply.outcome);
        self.apply(&p.id, &step, reply.audit).await;
        let p = self.current(&p.id)?;
        if p.state == State::Unknown {
            // No QR to show: the clerk must start over; this order is followed in the background.
            let _ = self.ledger.mark_abandoned(&p.id, "no QR payload");
            let p = self.current(&p.id)?;
            self.emit(&p);
            return Some(p);
        }
        Some(p)
    }

    pub(super) async fn run_barcode(
        &self,
        id: &str,
        code: String,
        mut cancel: watch::Receiver<bool>,
        http: &AtomicU64,
    ) {
        let Some(p) = self.current(id) else { return };
        let Some(ch) = self.channel_of(&p) else { return };
        failpoint("before_send");
        let reply = ch.barcode_pay(&order_of(&p), &code).await;
        drop(code);
        Self::count(http, &reply);
        failpoint("after_send");
        self.apply(id, &decide::after_pay(&reply.outcome), reply.audit).await;
        let Some(mut p) = self.current(id) else { return };
        let timing = &self.config.timing;
        let mut wait = Timing::ms(timing.barcode_first_poll_ms);
        while p.state.is_open() {
            let left = until(p.deadline_at);
            self.lease(&p, wait.min(left));
            if left.is_zero() || pause(wait.min(left), &mut cancel).await {
                break;
            }
            if now_ms() >= p.deadline_at {
                break;
            }
            failpoint("while_polling");
            p = self.query_once(&ch, &p, http).await;
            wait = Timing::ms(timing.barcode_poll_interval_ms);
        }
        if p.state.is_open() {
            self.end_wait(&ch, p, http).await;
        }
    }

    pub(super) async fn run_qr(&self, id: &str, mut cancel: watch::Receiver<bool>, http: &AtomicU64) {
        let Some(mut p) = self.current(id) else { return };
        let Some(ch) = self.channel_of(&p) else { return };
        if !p.state.is_open() {
            return;
        }
        if p.abandoned_at.is_some() {
            // No QR was obtained: follow the order in the background only.
            self.keep_querying(&ch, p, http).await;
            return;
        }
        let interval = Timing::ms(self.config.timing.qr_poll_interval_ms);
        while p.state.is_open() {
            let left = until(p.deadline_at);
            self.lease(&p, interval.min(left));
            if left.is_zero() || pause(interval.min(left), &mut cancel).await {
                break;
            }
            p = self.query_once(&ch, &p, http).await;
        }
        if p.state.is_open() {
            self.end_wait(&ch, p, http).await;
        }
    }

    /// The clerk's wait is over (deadline or Cancel): one last query, then cancel, close, or
    /// — where the channel can do neither — hand over to background querying.
    async fn end_wait(&self, ch: &Arc<dyn Channel>, p: Payment, http: &AtomicU64) {
        let p = self.query_once(ch, &p, http).await;
        if !p.state.is_open() {
            return;
        }
        match decide::when_wait_ends(p.flow, ch.capabilities()) {
            WaitEnd::Cancel | WaitEnd::Close => {
                self.set_cancelling(&p);
                if !self.settle_at_channel(ch, &p, http, true).await {
                    // Not confirmed: unknown, and recovery keeps trying.
                    let step = Step::To(State::Unknown, decide::Detail::default());
                    self.apply(&p.id, &step, json!({ "note": "cancel/close not confirmed" })).await;
                    let _ = self.ledger.mark_abandoned(&p.id, "cancel not confirmed");
                    if let Some(p) = self.current(&p.id) {
                        self.emit(&p);
                    }
                }
            }
            WaitEnd::KeepQuerying => {
                let why = if p.flow == Flow::Qr { "QR no longer shown" } else { "barcode deadline or cancel" };
                let _ = self.ledger.mark_abandoned(&p.id, why);
                let Some(p) = self.current(&p.id) else { return };
                self.emit(&p);
                self.keep_querying(ch, p, http).await;
            }
        }
    }

    fn set_cancelling(&self, p: &Payment) {
        {
            let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(l) = live.get_mut(&p.id) {
                l.cancelling = true;
            }
        }
        self.emit(p);
    }

    /// Cancel (barcode) or close (QR) at the channel, retrying while it says retry, until the
    /// payment's horizon (or once, when `retry` is false). Returns whether it reached a final state.
    async fn settle_at_channel(&self, ch: &Arc<dyn Channel>, p: &Payment, http: &AtomicU64, retry: bool) -> bool {
        let pause_between = Timing::ms(self.config.timing.cancel_retry_ms);
        loop {
            // Taken before this attempt's calls, so the attempt that gives up has queried at or
            // after the horizon, where "not found" is concluded rather than left unknown.
            let past_horizon = now_ms() >= p.horizon_at;
            let (step, audit) = if p.flow == Flow::Barcode {
                let reply = ch.cancel(&order_of(p)).await;
                Self::count(http, &reply);
                failpoint("after_cancel");
                (decide::after_cancel(&reply.outcome), reply.audit)
            } else {
                let reply = ch.close(&order_of(p)).await;
                Self::count(http, &reply);
                failpoint("after_cancel");
                (decide::after_close(&reply.outcome, now_ms(), p.horizon_at, p.acknowledged), reply.audit)
            };
            match &step {
                CloseStep::Done(s) => {
                    self.apply(&p.id, s, audit).await;
                }
                CloseStep::Retry | CloseStep::QueryAgain => {
                    let _ = self.ledger.note(&p.id, &json!({ "reply": audit }));
                }
            }
            if step == CloseStep::QueryAgain && !self.query_once(ch, p, http).await.state.is_open() {
                return true;
            }
            if self.current(&p.id).is_some_and(|now| !now.state.is_open()) {
                return true;
            }
            if !retry || past_horizon {
                return false;
            }
            let wait = pause_between.min(until(p.horizon_at)).max(Duration::from_millis(1));
            self.lease(p, wait);
            tokio::time::sleep(wait).await;
        }
    }

    /// After the clerk gave up on a channel that cannot cancel or close: query until settled or
    /// the horizon, from the poll interval backing off (nobody waits at the counter) to the
    /// lapsed payments' first pause; recovery takes over after that.
    async fn keep_querying(&self, ch: &Arc<dyn Channel>, mut p: Payment, http: &AtomicU64) {
        let timing = &self.config.timing;
        let mut interval = Timing::ms(match p.flow {
            Flow::Barcode => timing.barcode_poll_interval_ms,
            Flow::Qr => timing.qr_poll_interval_ms,
        });
        let longest = interval.max(Timing::ms(timing.lapsed_recheck_ms));
        // The last query falls at or after the horizon, so "not found" can be concluded there.
        while p.state.is_open() {
            let wait = interval.min(until(p.horizon_at));
            interval = (interval * 2).min(longest);
            self.lease(&p, wait);
            tokio::time::sleep(wait).await;
            let past_horizon = now_ms() >= p.horizon_at;
            p = self.query_once(ch, &p, http).await;
            if past_horizon {
                break;
            }
        }
    }

    pub(super) async fn query_payment(&self, p: &Payment) -> Option<Payment> {
        let ch = self.channel_of(p)?;
        Some(self.query_once(&ch, p, &AtomicU64::new(0)).await)
    }

    pub(super) async fn recover(&self) -> RecoverySummary {
        let open = match self.ledger.open_payments() {
            Ok(open) => open,
            Err(e) => {
                tracing::error!(error = %e, "recovery cannot read the ledger");
                return RecoverySummary::default();
            }
        };
        if let Err(e) = self.ledger.checkpoint() {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
        let mut summary = RecoverySummary::default();
        let now = now_ms();
        for p in open {
            let driven_here = self.live.lock().unwrap_or_else(|e| e.into_inner()).contains_key(&p.id);
            // Leased: another process (the app, a `paydesk-cli charge`) is driving it right now.
            if driven_here {
                continue;
            }
            if p.lease_until > now {
                summary.still_open += 1;
                continue;
            }
            summary.examined += 1;
            if self.recover_one(p).await.is_some_and(|p| !p.state.is_open()) {
                summary.resolved += 1;
            } else {
                summary.still_open += 1;
            }
        }
        summary.rechecked = self.recheck_lapsed().await;
        self.ask_hinted().await;
        summary.refunds_resolved = self.recover_refunds().await;
        summary
    }

    /// Queries the orders whose notify hints were coalesced or rate-limited, a few a sweep: a
    /// payment the ledger holds as settled is queried by nothing else.
    async fn ask_hinted(&self) {
        let later = self.hints.lock().unwrap_or_else(|e| e.into_inner()).take_later(HINTS_PER_SWEEP);
        let http = AtomicU64::new(0);
        for id in later {
            let Some(p) = self.current(&id) else { continue };
            if matches!(p.state, State::Paid | State::Reversed) {
                continue;
            }
            if let Some(ch) = self.channel_of(&p) {
                self.query_once(&ch, &p, &http).await;
            }
        }
    }

    /// Queries the lapsed payments whose next query is due (a customer may have paid after the
    /// page lapsed); each still unpaid waits twice as long for its next, until its watch ends.
    async fn recheck_lapsed(&self) -> usize {
        let due = match self.ledger.due_rechecks(now_ms()) {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "recovery cannot read the lapsed payments");
                return 0;
            }
        };
        let longest = self.config.timing.lapsed_recheck_max_ms as i64;
        let http = AtomicU64::new(0);
        for p in &due {
            let Some(ch) = self.channel_of(p) else { continue };
            let (p, said) = self.query_reply(&ch, p, &http).await;
            if p.state == State::Lapsed {
                let answered =
                    !matches!(said, crate::channel::PayOutcome::Unknown(_) | crate::channel::PayOutcome::NotSent(_));
                if let Err(e) = self.ledger.reschedule_recheck(&p.id, now_ms(), longest, answered) {
                    tracing::warn!(payment = %p.id, error = %e, "cannot schedule the next query");
                }
            }
        }
        due.len()
    }

    /// No clerk waits on a payment found here: mark it given up (so a later `paid` is flagged
    /// late), query it, and close or reverse it once its wait is over.
    async fn recover_one(&self, p: Payment) -> Option<Payment> {
        let ch = self.channel_of(&p)?;
        if self.ledger.mark_abandoned(&p.id, "found unfinished by recovery").unwrap_or(false) {
            if let Some(p) = self.current(&p.id) {
                self.emit(&p);
            }
        }
        let http = AtomicU64::new(0);
        let p = self.query_once(&ch, &p, &http).await;
        if !p.state.is_open() || now_ms() < p.deadline_at {
            return Some(p);
        }
        match decide::when_wait_ends(p.flow, ch.capabilities()) {
            WaitEnd::Cancel | WaitEnd::Close => {
                self.settle_at_channel(&ch, &p, &http, false).await;
            }
            WaitEnd::KeepQuerying => {}
        }
        self.current(&p.id)
    }
}
