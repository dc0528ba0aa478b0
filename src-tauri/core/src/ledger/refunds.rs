//! Refunds hang off paid payments. The refundable amount is checked in the same transaction that
//! records the refund, so two refunds racing can never exceed what was paid.

use super::audit::{append_audit, AuditNote};
use super::payments::append_event;
use super::shifts::settle_clock;
use super::{now_ms, Ledger, LedgerError, State};
use crate::money::Fen;
use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};
use serde::Serialize;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RefundState {
    Created,
    Pending,
    Unknown,
    Succeeded,
    Failed,
}

impl RefundState {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundState::Created => "created",
            RefundState::Pending => "pending",
            RefundState::Unknown => "unknown",
            RefundState::Succeeded => "succeeded",
            RefundState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<RefundState> {
        Some(match s {
            "created" => RefundState::Created,
            "pending" => RefundState::Pending,
            "unknown" => RefundState::Unknown,
            "succeeded" => RefundState::Succeeded,
            "failed" => RefundState::Failed,
            _ => return None,
        })
    }

    pub fn is_final(self) -> bool {
        matches!(self, RefundState::Succeeded | RefundState::Failed)
    }

    fn allowed_from(self) -> &'static [RefundState] {
        use RefundState::*;
        match self {
            Created => &[],
            Pending => &[Created, Unknown],
            Unknown => &[Created, Pending],
            Succeeded | Failed => &[Created, Pending, Unknown],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refund {
    pub id: String,
    pub payment_id: String,
    #[serde(rename = "amount_fen")]
    pub amount: Fen,
    pub reason: String,
    pub state: RefundState,
    pub channel_refund_no: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The manager whose PIN approved it.
    pub approved_by: Option<String>,
    /// When it became succeeded or failed (the ledger's settle clock).
    pub settled_at: Option<i64>,
    /// Until when a process may be sending it (ms); nobody else sends or decides it before.
    #[serde(skip)]
    pub lease_until: i64,
}

#[derive(Debug, Clone)]
pub struct NewRefund {
    pub id: String,
    pub payment_id: String,
    pub amount: Fen,
    pub reason: String,
    pub approved_by: Option<String>,
    /// Logged in the same transaction that records the refund.
    pub audit: Option<AuditNote>,
    /// The sender's lease: until the send has surely ended (ms).
    pub lease_until: i64,
}

#[derive(Debug, Clone, Default)]
pub struct RefundChange {
    pub channel_refund_no: Option<String>,
    pub failure: Option<(String, String)>,
    pub detail: Value,
    /// A person's decision behind the change (an unknown refund resolved by hand).
    pub audit: Option<AuditNote>,
    /// Refused while a process holds the refund's lease (a person deciding must not race a
    /// send whose answer may still come).
    pub unless_leased: bool,
}

pub(super) const COLUMNS: &str = "id, payment_id, amount_fen, reason, state, channel_refund_no, failure_code, \
     failure_message, created_at, updated_at, approved_by, settled_at, lease_until";

pub(super) fn refund_from_row(r: &Row<'_>) -> rusqlite::Result<Refund> {
    let state: String = r.get(4)?;
    Ok(Refund {
        id: r.get(0)?,
        payment_id: r.get(1)?,
        amount: Fen(r.get(2)?),
        reason: r.get(3)?,
        state: RefundState::parse(&state).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, "refund state".into())
        })?,
        channel_refund_no: r.get(5)?,
        failure_code: r.get(6)?,
        failure_message: r.get(7)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
        approved_by: r.get(10)?,
        settled_at: r.get(11)?,
        lease_until: r.get(12)?,
    })
}

/// Paid amount minus every refund that is not failed (an unknown refund still holds its amount).
fn refundable_in(conn: &rusqlite::Connection, payment_id: &str) -> Result<(State, Fen), LedgerError> {
    let row: Option<(String, i64)> = conn
        .query_row("SELECT state, amount_fen FROM payments WHERE id = ?1", [payment_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((state, amount)) = row else {
        return Err(LedgerError::NotFound(payment_id.into()));
    };
    let state = State::parse(&state).ok_or_else(|| LedgerError::Sqlite(format!("bad state {state}")))?;
    let held: i64 = conn.query_row(
        "SELECT COALESCE(SUM(amount_fen), 0) FROM refunds WHERE payment_id = ?1 AND state != 'failed'",
        [payment_id],
        |r| r.get(0),
    )?;
    Ok((state, Fen(amount - held)))
}

impl Ledger {
    /// Records a refund in `created` if the payment is paid and the amount fits; nothing may be
    /// sent to the channel before this returns Ok.
    pub fn reserve_refund(&self, r: &NewRefund) -> Result<Refund, LedgerError> {
        let now = now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (state, refundable) = refundable_in(&tx, &r.payment_id)?;
        if state != State::Paid {
            return Err(LedgerError::NotRefundable(state.as_str()));
        }
        if r.amount.0 <= 0 || r.amount > refundable {
            return Err(LedgerError::RefundExceeds { refundable });
        }
        tx.execute(
            "INSERT INTO refunds (id, payment_id, amount_fen, reason, state, created_at, updated_at, approved_by, \
             lease_until) VALUES (?1, ?2, ?3, ?4, 'created', ?5, ?5, ?6, ?7)",
            params![r.id, r.payment_id, r.amount.0, r.reason, now, r.approved_by, r.lease_until],
        )?;
        let detail = json!({
            "refund": r.id, "amount_fen": r.amount.0, "reason": r.reason, "state": "created", "approved_by": r.approved_by,
        });
        append_event(&tx, &r.payment_id, now, "refund", None, None, &detail)?;
        if let Some(note) = &r.audit {
            append_audit(&tx, now, note)?;
        }
        let row = tx.query_row(&format!("SELECT {COLUMNS} FROM refunds WHERE id = ?1"), [&r.id], refund_from_row)?;
        tx.commit()?;
        Ok(row)
    }

    /// Guarded like payment transitions; logs one event on the payment.
    pub fn refund_transition(
        &self,
        id: &str,
        to: RefundState,
        change: &RefundChange,
    ) -> Result<Option<Refund>, LedgerError> {
        let now = now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = tx
            .query_row(&format!("SELECT {COLUMNS} FROM refunds WHERE id = ?1"), [id], refund_from_row)
            .optional()?
            .ok_or_else(|| LedgerError::NotFound(id.into()))?;
        if !to.allowed_from().contains(&current.state) {
            return Ok(None);
        }
        let (code, message) = match &change.failure {
            Some((c, m)) => (Some(c.as_str()), Some(m.as_str())),
            None => (None, None),
        };
        let settled_at = if to.is_final() { Some(settle_clock(&tx)?) } else { None };
        let updated = tx.execute(
            "UPDATE refunds SET state = ?2, updated_at = ?3, channel_refund_no = COALESCE(?4, channel_refund_no), \
             failure_code = COALESCE(?5, failure_code), failure_message = COALESCE(?6, failure_message), \
             settled_at = COALESCE(?8, settled_at) \
             WHERE id = ?1 AND state = ?7 AND (?9 = 0 OR lease_until <= ?3)",
            params![
                id,
                to.as_str(),
                now,
                change.channel_refund_no,
                code,
                message,
                current.state.as_str(),
                settled_at,
                change.unless_leased
            ],
        )?;
        if updated != 1 {
            return Ok(None);
        }
        let detail = json!({ "refund": id, "from": current.state.as_str(), "to": to.as_str(), "reply": change.detail });
        append_event(&tx, &current.payment_id, now, "refund", None, None, &detail)?;
        if let Some(note) = &change.audit {
            append_audit(&tx, now, note)?;
        }
        let row = tx.query_row(&format!("SELECT {COLUMNS} FROM refunds WHERE id = ?1"), [id], refund_from_row)?;
        tx.commit()?;
        Ok(Some(row))
    }

    /// Takes the lease of an unfinished refund nobody holds, until `until`: true when taken.
    pub fn take_refund_lease(&self, id: &str, until: i64) -> Result<bool, LedgerError> {
        let conn = self.conn();
        let n = conn.execute(
            "UPDATE refunds SET lease_until = ?2 \
             WHERE id = ?1 AND state IN ('created', 'pending', 'unknown') AND lease_until <= ?3",
            params![id, until, now_ms()],
        )?;
        Ok(n == 1)
    }

    /// The send has ended: others may send or decide the refund now.
    pub fn release_refund_lease(&self, id: &str) -> Result<(), LedgerError> {
        self.conn().execute("UPDATE refunds SET lease_until = 0 WHERE id = ?1", [id])?;
        Ok(())
    }

    pub fn refundable(&self, payment_id: &str) -> Result<Fen, LedgerError> {
        let conn = self.conn();
        let (state, refundable) = refundable_in(&conn, payment_id)?;
        Ok(if state == State::Paid { refundable } else { Fen::ZERO })
    }

    /// What succeeded refunds of the payment gave back.
    pub fn refunded(&self, payment_id: &str) -> Result<Fen, LedgerError> {
        let conn = self.conn();
        let mut sum = conn.prepare_cached(
            "SELECT COALESCE(SUM(amount_fen), 0) FROM refunds WHERE payment_id = ?1 AND state = 'succeeded'",
        )?;
        let given: i64 = sum.query_row([payment_id], |r| r.get(0))?;
        Ok(Fen(given))
    }

    pub fn refunds_of(&self, payment_id: &str) -> Result<Vec<Refund>, LedgerError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare(&format!("SELECT {COLUMNS} FROM refunds WHERE payment_id = ?1 ORDER BY created_at, id"))?;
        let rows = stmt.query_map([payment_id], refund_from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn refund(&self, id: &str) -> Result<Refund, LedgerError> {
        let conn = self.conn();
        conn.query_row(&format!("SELECT {COLUMNS} FROM refunds WHERE id = ?1"), [id], refund_from_row)
            .optional()?
            .ok_or_else(|| LedgerError::NotFound(id.into()))
    }

    /// Refunds asked for in `[from, to)`, oldest first, a page at a time (see `payments_page`).
    pub fn refunds_page(
        &self,
        from: i64,
        to: i64,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<Refund>, LedgerError> {
        self.created_page("refunds", COLUMNS, refund_from_row, from, to, after, limit)
    }

    /// Refunds whose outcome is not known yet.
    pub fn open_refunds(&self) -> Result<Vec<Refund>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM refunds WHERE state IN ('created', 'pending', 'unknown') ORDER BY created_at"
        ))?;
        let rows = stmt.query_map([], refund_from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{new_payment, temp_ledger};
    use super::super::Change;
    use super::*;
    use std::sync::Arc;

    fn paid(l: &Ledger, id: &str) {
        l.insert_payment(&new_payment(id)).unwrap();
        l.transition(id, State::Paid, &Change::default()).unwrap().unwrap();
    }

    fn refund(id: &str, payment: &str, fen: i64) -> NewRefund {
        NewRefund {
            id: id.into(),
            payment_id: payment.into(),
            amount: Fen(fen),
            reason: "test".into(),
            approved_by: None,
            audit: None,
            lease_until: 0,
        }
    }

    #[test]
    fn a_leased_refund_is_not_decided_by_a_person_nor_sent_twice() {
        let (_d, l) = temp_ledger();
        paid(&l, "P1");
        let far = now_ms() + 60_000;
        l.reserve_refund(&NewRefund { lease_until: far, ..refund("R1", "P1", 100) }).unwrap();
        l.refund_transition("R1", RefundState::Unknown, &RefundChange::default()).unwrap().unwrap();
        assert!(!l.take_refund_lease("R1", far).unwrap(), "the first sender still holds it");
        let decision = RefundChange { unless_leased: true, ..RefundChange::default() };
        assert_eq!(l.refund_transition("R1", RefundState::Failed, &decision).unwrap(), None);
        assert_eq!(l.refund("R1").unwrap().state, RefundState::Unknown);
        l.release_refund_lease("R1").unwrap();
        assert!(l.take_refund_lease("R1", far).unwrap(), "a re-send takes it once released");
        assert_eq!(l.refund_transition("R1", RefundState::Failed, &decision).unwrap(), None);
        l.release_refund_lease("R1").unwrap();
        assert_eq!(
            l.refund_transition("R1", RefundState::Failed, &decision).unwrap().unwrap().state,
            RefundState::Failed
        );
        assert!(!l.take_refund_lease("R1", far).unwrap(), "a final refund is never leased");
    }

    #[test]
    fn partial_refunds_never_exceed_the_paid_amount() {
        let (_d, l) = temp_ledger();
        paid(&l, "P1"); // 12.34
        l.reserve_refund(&refund("R1", "P1", 1000)).unwrap();
        assert_eq!(l.refundable("P1").unwrap(), Fen(234));
        assert_eq!(
            l.reserve_refund(&refund("R2", "P1", 235)),
            Err(LedgerError::RefundExceeds { refundable: Fen(234) })
        );
        // A failed refund gives its amount back.
        l.refund_transition("R1", RefundState::Failed, &RefundChange::default()).unwrap().unwrap();
        assert_eq!(l.refundable("P1").unwrap(), Fen(1234));
        l.reserve_refund(&refund("R3", "P1", 1234)).unwrap();
        assert_eq!(l.refundable("P1").unwrap(), Fen(0));
    }

    #[test]
    fn only_paid_payments_refund() {
        let (_d, l) = temp_ledger();
        l.insert_payment(&new_payment("P2")).unwrap();
        assert_eq!(l.reserve_refund(&refund("R1", "P2", 1)), Err(LedgerError::NotRefundable("created")));
        assert_eq!(l.reserve_refund(&refund("R1", "NOPE", 1)), Err(LedgerError::NotFound("NOPE".into())));
    }

    #[test]
    fn concurrent_reservations_from_two_threads_sum_exactly() {
        let (_d, l) = temp_ledger();
        paid(&l, "P3"); // 1234 fen
        let l = Arc::new(l);
        let handles: Vec<_> = (0..2)
            .map(|t| {
                let l = l.clone();
                std::thread::spawn(move || {
                    (0..20).filter(|i| l.reserve_refund(&refund(&format!("R{t}-{i}"), "P3", 50)).is_ok()).count()
                })
            })
            .collect();
        let ok: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(ok, 24, "1234 fen holds exactly 24 refunds of 50");
        assert_eq!(l.refundable("P3").unwrap(), Fen(34));
    }

    #[test]
    fn refund_transitions_are_guarded() {
        let (_d, l) = temp_ledger();
        paid(&l, "P4");
        l.reserve_refund(&refund("R1", "P4", 100)).unwrap();
        let ch = RefundChange { channel_refund_no: Some("RF1".into()), ..Default::default() };
        let r = l.refund_transition("R1", RefundState::Succeeded, &ch).unwrap().unwrap();
        assert_eq!(r.channel_refund_no.as_deref(), Some("RF1"));
        assert_eq!(l.refund_transition("R1", RefundState::Failed, &ch).unwrap(), None);
        assert!(l.open_refunds().unwrap().is_empty());
    }
}
