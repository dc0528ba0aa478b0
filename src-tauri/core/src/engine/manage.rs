//! What managers do: refunds, deciding unresolved payments and refunds, and shifts. Each takes
//! an [`Approval`] (a manager's PIN checked for that action) and writes its audit row in the same
//! transaction as the change.

use super::errors::ManageError;
use super::reports::{ShiftFigures, Unresolved};
use super::{driver, Cashier, Inner};
use crate::channel::{Channel, RefundOutcome};
use crate::ledger::{
    now_ms, AuditNote, Change, LedgerError, NewRefund, Payment, Refund, RefundChange, RefundState, SaleTime, Shift,
    State,
};
use crate::money::{AmountError, Fen};
use crate::people::{Action, Approval};
use serde_json::json;
use std::sync::Arc;

/// The code a payment or refund decided by a manager carries as its failure code.
pub const MANAGER_DECISION: &str = "MANAGER_DECISION";

pub(super) fn reason_of(reason: &str) -> Result<&str, ManageError> {
    let r = reason.trim();
    if r.is_empty() || r.chars().count() > 200 {
        Err(ManageError::Reason)
    } else {
        Ok(r)
    }
}

impl Cashier {
    /// Refunds `amount_text` of a paid payment. The refundable amount is checked in the same
    /// transaction that records the refund (with its own request number and the approver),
    /// before any request is sent.
    pub async fn refund(
        &self,
        approval: &Approval,
        payment_id: &str,
        amount_text: &str,
        reason: &str,
    ) -> Result<Refund, ManageError> {
        approval.check(Action::Refund)?;
        self.inner.writable()?;
        let reason = reason_of(reason)?;
        // Bounded by what is left to refund (checked by the ledger), not by today's ceiling: a
        // payment taken under a higher ceiling must still refund in full.
        let amount = Fen::parse_input(amount_text, Fen(i64::MAX)).map_err(ManageError::Amount)?;
        let payment = self.inner.ledger.payment(payment_id)?;
        let ch = self.inner.refunding_channel(&payment)?;
        let mut attempt = 0;
        let refund = loop {
            let id = self.inner.numbers.next("R");
            let new = NewRefund {
                id: id.clone(),
                payment_id: payment_id.into(),
                amount,
                reason: reason.into(),
                approved_by: Some(approval.by().into()),
                lease_until: now_ms() + self.inner.lease_margin_ms,
                audit: Some(approval.note(
                    "refund",
                    Some(payment_id.into()),
                    Some(reason),
                    json!({ "refund": id, "amount_fen": amount.0 }),
                )),
            };
            match self.inner.ledger.reserve_refund(&new) {
                Err(LedgerError::Duplicate) if attempt < 20 => attempt += 1,
                other => break other?,
            }
        };
        self.inner.send_refund(&ch, &payment, &refund, true).await
    }

    /// A manager records what the channel's own records say about a payment nobody can resolve
    /// by asking: `paid` or not. Only for an unfinished payment no process is driving.
    pub fn force_outcome(
        &self,
        approval: &Approval,
        payment_id: &str,
        paid: bool,
        reason: &str,
    ) -> Result<Payment, ManageError> {
        approval.check(Action::ForceOutcome)?;
        self.inner.writable()?;
        let reason = reason_of(reason)?;
        let p = self.inner.ledger.payment(payment_id)?;
        if !self.can_force(&p) {
            return Err(ManageError::NotForceable(p.state.as_str()));
        }
        let outcome = if paid { "paid" } else { "not_paid" };
        let note = approval.note("force_outcome", Some(payment_id.into()), Some(reason), json!({ "outcome": outcome }));
        let detail = json!({ "decided_by": approval.by(), "outcome": outcome, "reason": reason });
        let (to, change) = if paid {
            let paid_at = Some(now_ms());
            (State::Paid, Change { paid_at, detail, audit: Some(note), unless_leased: true, ..Default::default() })
        } else {
            let failure = Some((MANAGER_DECISION.into(), reason.to_string()));
            (State::Failed, Change { failure, detail, audit: Some(note), unless_leased: true, ..Default::default() })
        };
        let done = self.inner.ledger.transition(payment_id, to, &change)?;
        let p = done.ok_or(ManageError::NotForceable(p.state.as_str()))?;
        self.inner.emit(&p);
        Ok(p)
    }

    /// Unfinished (not a lapsed one: it is watched, and only the channel's word settles it), and
    /// neither this process nor another (by its lease) is driving it.
    pub fn can_force(&self, p: &Payment) -> bool {
        let driven = self.inner.live.lock().unwrap_or_else(|e| e.into_inner()).contains_key(&p.id);
        p.state.is_open() && !driven && p.lease_until <= now_ms()
    }

    /// An unfinished refund not being sent right now. The engine re-sends those it safely can;
    /// a manager may still decide one (a channel that keeps not answering, or cannot be asked).
    pub fn can_resolve_refund(&self, r: &Refund) -> bool {
        !r.state.is_final() && !self.inner.maybe_sending(r)
    }

    /// A manager records a refund's outcome from the channel's own records.
    pub fn resolve_refund(
        &self,
        approval: &Approval,
        refund_id: &str,
        succeeded: bool,
        reason: &str,
    ) -> Result<Refund, ManageError> {
        approval.check(Action::ResolveRefund)?;
        self.inner.writable()?;
        let reason = reason_of(reason)?;
        let r = self.inner.ledger.refund(refund_id)?;
        if !self.can_resolve_refund(&r) {
            return Err(ManageError::NotForceable(r.state.as_str()));
        }
        let outcome = if succeeded { "succeeded" } else { "failed" };
        let change = RefundChange {
            failure: (!succeeded).then(|| (MANAGER_DECISION.to_string(), reason.to_string())),
            detail: json!({ "decided_by": approval.by(), "outcome": outcome, "reason": reason }),
            audit: Some(approval.note(
                "refund_resolved",
                Some(r.payment_id.clone()),
                Some(reason),
                json!({ "refund": refund_id, "outcome": outcome }),
            )),
            unless_leased: true,
            ..Default::default()
        };
        let to = if succeeded { RefundState::Succeeded } else { RefundState::Failed };
        self.inner.ledger.refund_transition(refund_id, to, &change)?.ok_or(ManageError::NotForceable(r.state.as_str()))
    }

    /// Opens a shift on this terminal, by whoever is signed in.
    pub fn open_shift(&self, opening_cash_text: Option<&str>) -> Result<Shift, ManageError> {
        self.inner.writable()?;
        let by = self.inner.people.clerk()?.unwrap_or_else(|| "-".into());
        let cash = match opening_cash_text.map(str::trim).filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => match Fen::parse_input(t, Fen(i64::MAX)) {
                Ok(f) => Some(f),
                Err(AmountError::Zero) => Some(Fen::ZERO),
                Err(e) => return Err(ManageError::Amount(e)),
            },
        };
        let role = self.inner.people.session().map(|s| s.role);
        let note = AuditNote::by(&by, role, "shift_open", json!({ "opening_cash_fen": cash.map(|c| c.0) }));
        Ok(self.inner.ledger.open_shift(&self.inner.config.terminal.code, &by, cash, &note)?)
    }

    /// Payments and refunds not final yet, of any day: what a Z lists as unresolved.
    pub fn unresolved(&self) -> Result<Vec<Unresolved>, ManageError> {
        let mut items: Vec<Unresolved> = self.inner.ledger.open_payments()?.iter().map(Unresolved::payment).collect();
        items.extend(self.inner.ledger.open_refunds()?.iter().map(Unresolved::refund));
        Ok(items)
    }

    /// Closes the open shift with its Z report. Unresolved payments or refunds need the
    /// manager's `reason`, which the Z and the audit log keep.
    pub fn close_shift(&self, approval: &Approval, reason: Option<&str>) -> Result<ShiftFigures, ManageError> {
        approval.check(Action::CloseShift)?;
        self.inner.writable()?;
        let unresolved = self.unresolved()?;
        let reason = match reason.map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => Some(reason_of(r)?.to_string()),
            None if !unresolved.is_empty() => return Err(ManageError::Unresolved(unresolved.len())),
            None => None,
        };
        let terminal = self.inner.config.terminal.code.clone();
        let note = approval.note(
            "shift_close",
            None,
            reason.as_deref(),
            json!({ "unresolved": unresolved.iter().map(|u| &u.id).collect::<Vec<_>>() }),
        );
        let closed = self.inner.ledger.close_shift(&terminal, approval.by(), &note, |conn, closed, from| {
            let to = closed.closed_at.unwrap_or(from);
            let totals = crate::ledger::breakdown_on(conn, SaleTime::Settled, from, to, Some(&terminal), &[])?;
            let f = ShiftFigures::new(Some(closed), from, to, totals, unresolved, reason, to);
            serde_json::to_string(&f).map_err(|e| LedgerError::Sqlite(e.to_string()))
        })?;
        // What was stored, read back as any reprint would be.
        self.shift_report(closed.id)
    }

    /// The X report: the open shift (if any) from the last Z until now.
    pub fn x_report(&self) -> Result<(Option<Shift>, ShiftFigures), ManageError> {
        let terminal = &self.inner.config.terminal.code;
        let open = self.inner.ledger.open_shift_of(terminal)?;
        let (from, to) = self.inner.ledger.shift_period(terminal, None)?;
        let totals = self.inner.ledger.breakdown(SaleTime::Settled, from, to, Some(terminal), &[])?;
        let figures = ShiftFigures::new(open.as_ref(), from, to, totals, self.unresolved()?, None, now_ms());
        Ok((open, figures))
    }

    /// A shift's report: a closed shift's Z exactly as it was written, or the X of an open one.
    pub fn shift_report(&self, shift_id: i64) -> Result<ShiftFigures, ManageError> {
        let shift = self.inner.ledger.shift(shift_id)?;
        match &shift.z_report {
            Some(z) => serde_json::from_str(z).map_err(|e| ManageError::Ledger(LedgerError::Corrupt(e.to_string()))),
            None => Ok(self.x_report()?.1),
        }
    }
}

impl Inner {
    fn refunding_channel(&self, payment: &Payment) -> Result<Arc<dyn Channel>, ManageError> {
        let ch = self
            .channels
            .get(payment.channel.as_str())
            .ok_or_else(|| ManageError::UnknownChannel(payment.channel.clone()))?;
        if !ch.capabilities().refund {
            return Err(ManageError::NotOffered(payment.channel.clone()));
        }
        Ok(ch.clone())
    }

    /// A process (this one or another) holds the refund's lease: it may be sending it now.
    fn maybe_sending(&self, r: &Refund) -> bool {
        r.lease_until > now_ms()
    }

    /// Sends a recorded refund (again, on `first == false`) and records the answer. A re-send
    /// that does not reach the channel, or is refused, leaves the refund as it was: the first
    /// try may have refunded.
    async fn send_refund(
        &self,
        ch: &Arc<dyn Channel>,
        payment: &Payment,
        refund: &Refund,
        first: bool,
    ) -> Result<Refund, ManageError> {
        let reply = ch.refund(&driver::order_of(payment), &refund.id, refund.amount, &refund.reason).await;
        super::failpoint::failpoint("refund_after_send");
        let (to, change) = match reply.outcome {
            RefundOutcome::Succeeded { refund_no } => {
                (RefundState::Succeeded, RefundChange { channel_refund_no: refund_no, ..Default::default() })
            }
            RefundOutcome::Processing { refund_no } => {
                (RefundState::Pending, RefundChange { channel_refund_no: refund_no, ..Default::default() })
            }
            RefundOutcome::Failed(f) if first => {
                (RefundState::Failed, RefundChange { failure: Some((f.code, f.message)), ..Default::default() })
            }
            // A re-send refused (a signature, a rate limit…) says nothing about the first try,
            // which may have refunded: the refund stays unknown, never failed.
            RefundOutcome::Failed(f) => {
                (RefundState::Unknown, RefundChange { failure: Some((f.code, f.message)), ..Default::default() })
            }
            RefundOutcome::NotSent(why) if first => (
                RefundState::Failed,
                RefundChange { failure: Some((super::decide::NOT_SENT.into(), why)), ..Default::default() },
            ),
            RefundOutcome::NotSent(why) | RefundOutcome::Unknown(why) => {
                (RefundState::Unknown, RefundChange { failure: Some(("UNKNOWN".into(), why)), ..Default::default() })
            }
        };
        let change = RefundChange { detail: reply.audit, ..change };
        if self.ledger.refund_transition(&refund.id, to, &change)?.is_none() && !first {
            // Unknown stays unknown: keep the exchange for the record anyway.
            self.ledger.note(&payment.id, &json!({ "refund_resent": refund.id, "reply": change.detail }))?;
        }
        // Recorded: the send is over, a manager may decide it now if it is still open.
        self.ledger.release_refund_lease(&refund.id)?;
        Ok(self.ledger.refund(&refund.id)?)
    }

    /// Resolves refunds left unfinished: re-sends them (same number, same amount) where the
    /// channel makes that safe; elsewhere marks an old `created` one `unknown` (it may have
    /// been sent when the process stopped) and leaves it to a manager.
    pub(super) async fn recover_refunds(&self) -> usize {
        let open = match self.ledger.open_refunds() {
            Ok(open) => open,
            Err(e) => {
                tracing::error!(error = %e, "recovery cannot read the refunds");
                return 0;
            }
        };
        let mut resolved = 0;
        for r in open {
            if self.maybe_sending(&r) {
                continue;
            }
            let Ok(payment) = self.ledger.payment(&r.payment_id) else { continue };
            let Some(ch) = self.channels.get(payment.channel.as_str()).cloned() else { continue };
            if ch.capabilities().refund_resend {
                // Taken in the ledger, so two sweeps (or two processes) never send it at once.
                match self.ledger.take_refund_lease(&r.id, now_ms() + self.lease_margin_ms) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        tracing::warn!(refund = %r.id, error = %e, "cannot take a refund's lease");
                        continue;
                    }
                }
                match self.send_refund(&ch, &payment, &r, false).await {
                    Ok(done) if done.state.is_final() => resolved += 1,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(refund = %r.id, error = %e, "re-sending a refund failed"),
                }
            } else if r.state == RefundState::Created {
                let change = RefundChange {
                    failure: Some(("UNKNOWN".into(), "the process stopped while sending it".into())),
                    detail: json!({ "recovery": "sent or not is unknown; a manager decides" }),
                    ..Default::default()
                };
                if let Err(e) = self.ledger.refund_transition(&r.id, RefundState::Unknown, &change) {
                    tracing::warn!(refund = %r.id, error = %e, "cannot mark a refund unknown");
                }
            }
        }
        resolved
    }
}

impl Cashier {
    /// A payment with its history and refunds, for the detail screen.
    pub fn payment_detail(&self, id: &str) -> Result<super::view::PaymentDetail, ManageError> {
        use super::view::{event_text, local_time, EventView, PaymentDetail, RefundView};
        let lang = self.lang();
        let p = self.inner.ledger.payment(id)?;
        let refunds = self.inner.ledger.refunds_of(id)?;
        let events = self.inner.ledger.events(id)?;
        let refundable = self.inner.ledger.refundable(id)?;
        let ch = self.inner.channels.get(p.channel.as_str());
        let wallet_name = p.wallet.as_deref().map(|w| {
            ch.and_then(|c| c.capabilities().methods.iter().find(|m| m.code == w))
                .map(|m| lang.pick(&m.name_zh, &m.name_en).to_string())
                .unwrap_or_else(|| crate::paycode::wallet_name(w, lang).to_string())
        });
        Ok(PaymentDetail {
            payment: self.view(&p),
            clerk: p.clerk.clone(),
            terminal: p.terminal.clone(),
            channel_name: ch.map_or(p.channel.clone(), |c| c.name(lang).to_string()),
            wallet_name,
            paid_at_ms: p.paid_at.filter(|_| p.state == State::Paid),
            date_time_text: local_time(p.created_at, "%Y-%m-%d %H:%M:%S"),
            events: events
                .iter()
                .map(|e| EventView {
                    seq: e.seq,
                    at_ms: e.at,
                    time_text: local_time(e.at, "%H:%M:%S"),
                    kind: e.kind.clone(),
                    text: event_text(e, lang),
                })
                .collect(),
            refunds: refunds
                .iter()
                .map(|r| RefundView {
                    id: r.id.clone(),
                    payment_id: r.payment_id.clone(),
                    amount_fen: r.amount.0,
                    amount_text: r.amount.yuan_text(),
                    reason: r.reason.clone(),
                    state: r.state,
                    state_text: r.state.label(lang).into(),
                    approved_by: r.approved_by.clone(),
                    failure_message: r.failure_message.clone(),
                    created_at_ms: r.created_at,
                    time_text: local_time(r.created_at, "%m-%d %H:%M:%S"),
                    can_resolve: self.can_resolve_refund(r),
                })
                .collect(),
            refundable_fen: refundable.0,
            refundable_text: refundable.yuan_text(),
            can_refund: refundable.0 > 0 && ch.is_some_and(|c| c.capabilities().refund),
            can_force: self.can_force(&p),
        })
    }
}
