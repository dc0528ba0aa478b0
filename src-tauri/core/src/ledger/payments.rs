//! Payment rows and their guarded transitions.

use super::audit::{append_audit, AuditNote};
use super::shifts::settle_clock;
use super::{now_ms, Flow, Ledger, LedgerError, State};
use crate::money::Fen;
use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Payment {
    pub id: String,
    pub terminal: String,
    pub channel: String,
    pub flow: Flow,
    #[serde(rename = "amount_fen")]
    pub amount: Fen,
    pub subject: String,
    pub merchant: String,
    pub wallet: Option<String>,
    pub code_masked: Option<String>,
    pub state: State,
    pub late: bool,
    pub alert_ack_at: Option<i64>,
    pub abandoned_at: Option<i64>,
    /// The channel has shown it knows this order (user paying, a QR link, paid): from then on
    /// "order not found" is a contradiction for a person, never a quiet failure.
    pub acknowledged: bool,
    pub lease_until: i64,
    pub channel_trade_no: Option<String>,
    pub qr_payload: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub paid_at: Option<i64>,
    pub deadline_at: i64,
    pub horizon_at: i64,
    /// Who was signed in when it started (none when signing in is not required).
    pub clerk: Option<String>,
    /// The charge this payment is an attempt to collect, if any.
    pub charge_id: Option<String>,
    /// A lapsed payment's next query (none once its watch is over).
    pub recheck_at: Option<i64>,
    /// The back-off's current step between queries of a lapsed payment.
    pub recheck_every_ms: Option<i64>,
    /// A lapsed payment is queried until then (the channel's notify window after the lapse).
    pub watch_until: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewPayment {
    pub id: String,
    pub terminal: String,
    pub channel: String,
    pub flow: Flow,
    pub amount: Fen,
    pub subject: String,
    pub merchant: String,
    pub wallet: Option<String>,
    pub code_masked: Option<String>,
    pub created_at: i64,
    pub deadline_at: i64,
    pub horizon_at: i64,
    /// Until when the creating process drives it (recovery elsewhere leaves it alone).
    pub lease_until: i64,
    /// Where the request came from (`wedge`, `camera`, `cli`, `qr`…), kept in the first event.
    pub source: String,
    pub clerk: Option<String>,
    /// The charge it collects: the insert is refused unless that charge is open.
    pub charge: Option<String>,
}

/// One guarded state change: applied only if the row is still in one of `to.allowed_from()`.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub trade_no: Option<String>,
    /// The channel's own time of payment; the ledger's clock when absent.
    pub paid_at: Option<i64>,
    pub failure: Option<(String, String)>,
    pub qr_payload: Option<String>,
    /// What led to the change (a reply summary, masked): kept in the event row.
    pub detail: Value,
    /// A person's decision behind the change (a forced outcome): logged with it.
    pub audit: Option<AuditNote>,
    /// Refused while a process holds the payment's lease (it may be driving it right now).
    pub unless_leased: bool,
    /// Moving to `lapsed`: how it is watched from now on.
    pub watch: Option<Watch>,
}

/// How a lapsed payment is watched: first queried `every_ms` from the lapse, then at doubling
/// intervals, until `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watch {
    pub every_ms: i64,
    pub until: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub seq: i64,
    pub payment_id: String,
    pub at: i64,
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub detail: Value,
}

pub(super) const COLUMNS: &str = "id, terminal, channel, flow, amount_fen, subject, wallet, code_masked, state, \
     late, abandoned_at, channel_trade_no, qr_payload, failure_code, failure_message, created_at, updated_at, \
     paid_at, deadline_at, horizon_at, merchant, alert_ack_at, acknowledged, lease_until, clerk, charge_id, \
     recheck_at, recheck_every_ms, watch_until";

fn bad_column(i: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, what.to_string().into())
}

pub(super) fn payment_from_row(r: &Row<'_>) -> rusqlite::Result<Payment> {
    let flow: String = r.get(3)?;
    let state: String = r.get(8)?;
    Ok(Payment {
        id: r.get(0)?,
        terminal: r.get(1)?,
        channel: r.get(2)?,
        flow: Flow::parse(&flow).ok_or_else(|| bad_column(3, "flow"))?,
        amount: Fen(r.get(4)?),
        subject: r.get(5)?,
        wallet: r.get(6)?,
        code_masked: r.get(7)?,
        state: State::parse(&state).ok_or_else(|| bad_column(8, "state"))?,
        late: r.get::<_, i64>(9)? != 0,
        abandoned_at: r.get(10)?,
        channel_trade_no: r.get(11)?,
        qr_payload: r.get(12)?,
        failure_code: r.get(13)?,
        failure_message: r.get(14)?,
        created_at: r.get(15)?,
        updated_at: r.get(16)?,
        paid_at: r.get(17)?,
        deadline_at: r.get(18)?,
        horizon_at: r.get(19)?,
        merchant: r.get(20)?,
        alert_ack_at: r.get(21)?,
        acknowledged: r.get::<_, i64>(22)? != 0,
        lease_until: r.get(23)?,
        clerk: r.get(24)?,
        charge_id: r.get(25)?,
        recheck_at: r.get(26)?,
        recheck_every_ms: r.get(27)?,
        watch_until: r.get(28)?,
    })
}

pub(super) fn append_event(
    conn: &rusqlite::Connection,
    payment_id: &str,
    at: i64,
    kind: &str,
    from: Option<State>,
    to: Option<State>,
    detail: &Value,
) -> rusqlite::Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO payment_events (payment_id, at, kind, from_state, to_state, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    insert.execute(params![
        payment_id,
        at,
        kind,
        from.map(State::as_str),
        to.map(State::as_str),
        detail.to_string()
    ])?;
    Ok(())
}

/// Inserts a `created` row and its first event inside the caller's transaction
/// ([`Ledger::insert_payment`], which checks a charge's attempt first).
pub(super) fn insert_in(tx: &rusqlite::Connection, p: &NewPayment) -> Result<Payment, LedgerError> {
    tx.prepare_cached(
        "INSERT INTO payments (id, terminal, channel, flow, amount_fen, subject, wallet, code_masked, state, \
             created_at, updated_at, deadline_at, horizon_at, merchant, lease_until, clerk, charge_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'created', ?9, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        p.id,
        p.terminal,
        p.channel,
        p.flow.as_str(),
        p.amount.0,
        p.subject,
        p.wallet,
        p.code_masked,
        p.created_at,
        p.deadline_at,
        p.horizon_at,
        p.merchant,
        p.lease_until,
        p.clerk,
        p.charge
    ])?;
    let detail = serde_json::json!({
        "amount_fen": p.amount.0, "channel": p.channel, "flow": p.flow.as_str(), "code": p.code_masked,
        "source": p.source, "clerk": p.clerk, "charge": p.charge,
    });
    append_event(tx, &p.id, p.created_at, "created", None, Some(State::Created), &detail)?;
    let row = tx
        .prepare_cached(&format!("SELECT {COLUMNS} FROM payments WHERE id = ?1"))?
        .query_row([&p.id], payment_from_row)?;
    Ok(row)
}

impl Ledger {
    /// Moves a payment to `to` if it is still in a state `to` may come from; otherwise changes
    /// nothing and returns `None` (another path — a poll, a notify, a second process — won).
    /// A payment that turns `paid` after the clerk stopped waiting, or after the ledger had it
    /// unpaid (`lapsed`, `failed`, `closed`), is flagged `late`; its settle time is the ledger's
    /// clock now, so the money counts in the open shift, never a closed one.
    pub fn transition(&self, id: &str, to: State, change: &Change) -> Result<Option<Payment>, LedgerError> {
        let from_states = to.allowed_from();
        if from_states.is_empty() {
            return Ok(None);
        }
        let now = now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let before: Option<String> =
            tx.prepare_cached("SELECT state FROM payments WHERE id = ?1")?.query_row([id], |r| r.get(0)).optional()?;
        let Some(before) = before.as_deref().and_then(State::parse) else {
            return Err(LedgerError::NotFound(id.into()));
        };
        if !from_states.contains(&before) {
            return Ok(None);
        }
        let (failure_code, failure_message) = match &change.failure {
            Some((c, m)) => (Some(c.as_str()), Some(m.as_str())),
            None => (None, None),
        };
        let paid_at = if to == State::Paid { Some(change.paid_at.unwrap_or(now)) } else { None };
        let settled_at = if to.is_final() { Some(settle_clock(&tx)?) } else { None };
        let watch = change.watch.filter(|_| to == State::Lapsed);
        let updated = tx
            .prepare_cached(
                "UPDATE payments SET state = ?2, updated_at = ?3, \
                 channel_trade_no = COALESCE(?4, channel_trade_no), \
                 paid_at = COALESCE(?5, paid_at), \
                 failure_code = COALESCE(?6, failure_code), \
                 failure_message = COALESCE(?7, failure_message), \
                 qr_payload = COALESCE(?8, qr_payload), \
                 settled_at = COALESCE(?10, settled_at), \
                 late = CASE WHEN ?2 = 'paid' AND (abandoned_at IS NOT NULL OR ?9 IN ('lapsed', 'failed', 'closed')) \
                        THEN 1 ELSE late END, \
                 acknowledged = CASE WHEN ?2 IN ('pending', 'paid') OR ?8 IS NOT NULL OR ?4 IS NOT NULL \
                                THEN 1 ELSE acknowledged END, \
                 recheck_at = ?12, recheck_every_ms = ?13, watch_until = COALESCE(?14, watch_until) \
             WHERE id = ?1 AND state = ?9 AND (?11 = 0 OR lease_until <= ?3)",
            )?
            .execute(params![
                id,
                to.as_str(),
                now,
                change.trade_no,
                paid_at,
                failure_code,
                failure_message,
                change.qr_payload,
                before.as_str(),
                settled_at,
                change.unless_leased,
                watch.map(|w| now.saturating_add(w.every_ms)),
                watch.map(|w| w.every_ms),
                watch.map(|w| w.until)
            ])?;
        if updated != 1 {
            return Ok(None);
        }
        append_event(&tx, id, now, "transition", Some(before), Some(to), &change.detail)?;
        if let Some(note) = &change.audit {
            append_audit(&tx, now, note)?;
        }
        let row = tx
            .prepare_cached(&format!("SELECT {COLUMNS} FROM payments WHERE id = ?1"))?
            .query_row([id], payment_from_row)?;
        tx.commit()?;
        Ok(Some(row))
    }

    /// Records that the clerk-facing wait ended without a final answer. Returns whether it was
    /// newly marked. A later `paid` is then flagged late.
    pub fn mark_abandoned(&self, id: &str, why: &str) -> Result<bool, LedgerError> {
        let now = now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE payments SET abandoned_at = ?2, updated_at = ?2 \
             WHERE id = ?1 AND abandoned_at IS NULL AND state IN ('created', 'pending', 'unknown')",
            params![id, now],
        )?;
        if n == 1 {
            append_event(&tx, id, now, "note", None, None, &serde_json::json!({ "abandoned": why }))?;
        }
        tx.commit()?;
        Ok(n == 1)
    }

    /// Extends the lease of a payment this process drives.
    pub fn renew_lease(&self, id: &str, until: i64) -> Result<(), LedgerError> {
        let conn = self.conn();
        conn.prepare_cached(
            "UPDATE payments SET lease_until = ?2 WHERE id = ?1 AND lease_until < ?2 \
             AND state IN ('created', 'pending', 'unknown')",
        )?
        .execute(params![id, until])?;
        Ok(())
    }

    /// This process stops driving an unfinished payment: recovery may take it at once.
    pub fn release_lease(&self, id: &str) -> Result<(), LedgerError> {
        let conn = self.conn();
        conn.prepare_cached(
            "UPDATE payments SET lease_until = 0 WHERE id = ?1 AND lease_until > 0 \
             AND state IN ('created', 'pending', 'unknown')",
        )?
        .execute([id])?;
        Ok(())
    }

    /// Late payments (paid after the clerk gave up) nobody has acknowledged yet, oldest first.
    pub fn unacknowledged_alerts(&self) -> Result<Vec<Payment>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM payments WHERE late = 1 AND alert_ack_at IS NULL ORDER BY created_at"
        ))?;
        let rows = stmt.query_map([], payment_from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// A person saw the late-payment alert. Logged; returns whether it was newly acknowledged.
    pub fn acknowledge_alert(&self, id: &str) -> Result<bool, LedgerError> {
        let now = now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE payments SET alert_ack_at = ?2 WHERE id = ?1 AND late = 1 AND alert_ack_at IS NULL",
            params![id, now],
        )?;
        if n == 1 {
            append_event(&tx, id, now, "note", None, None, &serde_json::json!({ "alert": "acknowledged" }))?;
        }
        tx.commit()?;
        Ok(n == 1)
    }

    /// An event without a state change (a reply worth keeping for audit).
    pub fn note(&self, id: &str, detail: &Value) -> Result<(), LedgerError> {
        let conn = self.conn();
        append_event(&conn, id, now_ms(), "note", None, None, detail)?;
        Ok(())
    }

    pub fn payment(&self, id: &str) -> Result<Payment, LedgerError> {
        let conn = self.conn();
        let mut by_id = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM payments WHERE id = ?1"))?;
        by_id.query_row([id], payment_from_row).optional()?.ok_or_else(|| LedgerError::NotFound(id.into()))
    }

    /// Every payment not yet final, oldest first: what recovery must resolve.
    pub fn open_payments(&self) -> Result<Vec<Payment>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM payments WHERE state IN ('created', 'pending', 'unknown') ORDER BY created_at"
        ))?;
        let rows = stmt.query_map([], payment_from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Lapsed payments whose next query is due at `now`, oldest first.
    pub fn due_rechecks(&self, now: i64) -> Result<Vec<Payment>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM payments WHERE state = 'lapsed' AND recheck_at <= ?1 ORDER BY recheck_at"
        ))?;
        let rows = stmt.query_map([now], payment_from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// A lapsed payment was queried at `now` and is still unpaid: the next query comes after twice
    /// the last pause (at most `longest_ms`), and none after its watch is over. A query that got
    /// no answer (`answered` false) says nothing: the same pause again, and the watch goes on.
    pub fn reschedule_recheck(&self, id: &str, now: i64, longest_ms: i64, answered: bool) -> Result<(), LedgerError> {
        let p = self.payment(id)?;
        let (Some(until), State::Lapsed) = (p.watch_until, p.state) else { return Ok(()) };
        let last = p.recheck_every_ms.unwrap_or(longest_ms).clamp(1, longest_ms.max(1));
        let (every, next) = if answered {
            let every = last.saturating_mul(2).min(longest_ms.max(1));
            (every, (now < until).then(|| now.saturating_add(every).min(until)))
        } else {
            (last, Some(now.saturating_add(last)))
        };
        self.conn().execute(
            "UPDATE payments SET recheck_at = ?2, recheck_every_ms = ?3 WHERE id = ?1 AND state = 'lapsed'",
            params![id, next, every],
        )?;
        Ok(())
    }

    /// Payments created in `[from, to)` (ms), newest first.
    pub fn payments_created_between(&self, from: i64, to: i64, limit: usize) -> Result<Vec<Payment>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM payments WHERE created_at >= ?1 AND created_at < ?2 ORDER BY created_at DESC LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![from, to, limit as i64], payment_from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Payments a person looks for, newest first: of exactly `amount`, or whose payment code ends
    /// in `code_end` (the masked code keeps its last four), or whose order number contains
    /// `order_part`. Any of the three may be absent; none matches nothing.
    pub fn search_payments(
        &self,
        amount: Option<Fen>,
        code_end: Option<&str>,
        order_part: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Payment>, LedgerError> {
        // LIKE patterns with the person's text escaped: a % or _ they typed matches itself.
        let like = |t: &str| t.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM payments WHERE amount_fen = ?1 \
             OR (?2 IS NOT NULL AND code_masked LIKE '%' || ?2 ESCAPE '\\') \
             OR (?3 IS NOT NULL AND id LIKE '%' || ?3 || '%' ESCAPE '\\') \
             ORDER BY created_at DESC LIMIT ?4"
        ))?;
        let rows = stmt
            .query_map(
                params![amount.map(|a| a.0), code_end.map(like), order_part.map(like), limit as i64],
                payment_from_row,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Payments started in `[from, to)`, oldest first, `limit` at a time after the row `after`
    /// (its `created_at` and id): an export walks the range without holding the ledger.
    pub fn payments_page(
        &self,
        from: i64,
        to: i64,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<Payment>, LedgerError> {
        self.created_page("payments", COLUMNS, payment_from_row, from, to, after, limit)
    }

    pub fn events(&self, id: &str) -> Result<Vec<Event>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT seq, payment_id, at, kind, from_state, to_state, detail FROM payment_events \
             WHERE payment_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt
            .query_map([id], |r| {
                let detail: String = r.get(6)?;
                Ok(Event {
                    seq: r.get(0)?,
                    payment_id: r.get(1)?,
                    at: r.get(2)?,
                    kind: r.get(3)?,
                    from_state: r.get(4)?,
                    to_state: r.get(5)?,
                    detail: serde_json::from_str(&detail).unwrap_or(Value::String(detail)),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{new_payment, temp_ledger};
    use super::*;

    #[test]
    fn insert_then_read_back() {
        let (_d, l) = temp_ledger();
        let p = l.insert_payment(&new_payment("T010001")).unwrap();
        assert_eq!(p.state, State::Created);
        assert_eq!(l.payment("T010001").unwrap(), p);
        assert_eq!(l.insert_payment(&new_payment("T010001")), Err(LedgerError::Duplicate));
        let ev = l.events("T010001").unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, "created");
    }

    #[test]
    fn transitions_are_guarded_and_logged_once() {
        let (_d, l) = temp_ledger();
        l.insert_payment(&new_payment("A1")).unwrap();
        let paid = Change { trade_no: Some("2026X".into()), ..Change::default() };
        let p = l.transition("A1", State::Pending, &Change::default()).unwrap().unwrap();
        assert_eq!(p.state, State::Pending);
        let p = l.transition("A1", State::Paid, &paid).unwrap().unwrap();
        assert_eq!(p.state, State::Paid);
        assert_eq!(p.channel_trade_no.as_deref(), Some("2026X"));
        assert!(p.paid_at.is_some());
        // A second winner is a no-op: no change, no event.
        assert_eq!(l.transition("A1", State::Failed, &Change::default()).unwrap(), None);
        assert_eq!(l.transition("A1", State::Paid, &paid).unwrap(), None);
        let kinds: Vec<_> = l.events("A1").unwrap().into_iter().map(|e| (e.kind, e.to_state)).collect();
        assert_eq!(
            kinds,
            vec![
                ("created".into(), Some("created".into())),
                ("transition".into(), Some("pending".into())),
                ("transition".into(), Some("paid".into())),
            ]
        );
        assert_eq!(l.payment("A1").unwrap().state, State::Paid);
    }

    #[test]
    fn unknown_payments_cannot_go_back_to_created() {
        let (_d, l) = temp_ledger();
        l.insert_payment(&new_payment("A2")).unwrap();
        l.transition("A2", State::Unknown, &Change::default()).unwrap().unwrap();
        assert_eq!(l.transition("A2", State::Created, &Change::default()).unwrap(), None);
        assert!(l.transition("A2", State::Pending, &Change::default()).unwrap().is_some());
    }

    #[test]
    fn paid_after_abandon_is_late() {
        let (_d, l) = temp_ledger();
        l.insert_payment(&new_payment("A3")).unwrap();
        assert!(l.mark_abandoned("A3", "deadline").unwrap());
        assert!(!l.mark_abandoned("A3", "deadline").unwrap());
        let p = l.transition("A3", State::Paid, &Change::default()).unwrap().unwrap();
        assert!(p.late);
        // Not flagged when paid in time.
        l.insert_payment(&new_payment("A4")).unwrap();
        assert!(!l.transition("A4", State::Paid, &Change::default()).unwrap().unwrap().late);
    }

    #[test]
    fn late_alerts_stay_until_acknowledged_once() {
        let (_d, l) = temp_ledger();
        l.insert_payment(&new_payment("L1")).unwrap();
        l.mark_abandoned("L1", "deadline").unwrap();
        l.transition("L1", State::Paid, &Change::default()).unwrap().unwrap();
        assert_eq!(l.unacknowledged_alerts().unwrap().len(), 1);
        assert!(l.acknowledge_alert("L1").unwrap());
        assert!(!l.acknowledge_alert("L1").unwrap());
        assert!(l.unacknowledged_alerts().unwrap().is_empty());
        assert!(l.events("L1").unwrap().iter().any(|e| e.detail["alert"] == "acknowledged"));
    }

    #[test]
    fn the_channel_acknowledges_an_order_by_waiting_or_a_link() {
        let (_d, l) = temp_ledger();
        for id in ["K1", "K2", "K3"] {
            l.insert_payment(&new_payment(id)).unwrap();
        }
        assert!(!l.transition("K1", State::Unknown, &Change::default()).unwrap().unwrap().acknowledged);
        assert!(l.transition("K2", State::Pending, &Change::default()).unwrap().unwrap().acknowledged);
        let link = Change { qr_payload: Some("http://x/pay/K3".into()), ..Change::default() };
        assert!(l.transition("K3", State::Unknown, &link).unwrap().unwrap().acknowledged);
    }

    #[test]
    fn leases_only_grow_and_release_only_open_payments() {
        let (_d, l) = temp_ledger();
        l.insert_payment(&new_payment("E1")).unwrap();
        l.renew_lease("E1", 5_000).unwrap();
        l.renew_lease("E1", 1_000).unwrap();
        assert_eq!(l.payment("E1").unwrap().lease_until, 5_000);
        l.release_lease("E1").unwrap();
        assert_eq!(l.payment("E1").unwrap().lease_until, 0);
    }

    #[test]
    fn events_are_append_only_and_payments_never_deleted() {
        let (_d, l) = temp_ledger();
        l.insert_payment(&new_payment("A5")).unwrap();
        let conn = l.conn();
        assert!(conn.execute("UPDATE payment_events SET kind = 'x'", []).is_err());
        assert!(conn.execute("DELETE FROM payment_events", []).is_err());
        assert!(conn.execute("DELETE FROM payments", []).is_err());
    }

    #[test]
    fn open_payments_lists_only_non_final() {
        let (_d, l) = temp_ledger();
        for id in ["B1", "B2", "B3"] {
            l.insert_payment(&new_payment(id)).unwrap();
        }
        l.transition("B2", State::Failed, &Change::default()).unwrap();
        l.transition("B3", State::Unknown, &Change::default()).unwrap();
        let ids: Vec<_> = l.open_payments().unwrap().into_iter().map(|p| p.id).collect();
        assert_eq!(ids, vec!["B1", "B3"]);
    }

    #[test]
    fn a_lapsed_payment_is_rechecked_at_doubling_intervals_until_its_watch_ends() {
        let (_d, l) = temp_ledger();
        l.insert_payment(&new_payment("W1")).unwrap();
        let start = now_ms();
        let watch = Watch { every_ms: 1_000, until: start + 10_000 };
        let p =
            l.transition("W1", State::Lapsed, &Change { watch: Some(watch), ..Change::default() }).unwrap().unwrap();
        let first = p.recheck_at.unwrap();
        assert!((start + 1_000..start + 2_000).contains(&first));
        assert!(l.due_rechecks(first - 1).unwrap().is_empty());
        assert_eq!(l.due_rechecks(first).unwrap().len(), 1);
        // 2 s, then 4 s (the cap), then what is left to the watch's end, then none.
        let mut at = first;
        let mut seen = Vec::new();
        while let Some(next) = {
            l.reschedule_recheck("W1", at, 4_000, true).unwrap();
            l.payment("W1").unwrap().recheck_at
        } {
            seen.push(next - at);
            at = next;
        }
        assert_eq!(seen, vec![2_000, 4_000, watch.until - (first + 6_000)]);
        assert_eq!(at, watch.until);
        assert!(l.due_rechecks(i64::MAX).unwrap().is_empty(), "the watch is over");
        assert_eq!(l.payment("W1").unwrap().state, State::Lapsed, "still unpaid, never closed by our clock");
        // Had that last query got no answer, the watch would not be over for it: the same pause again.
        l.reschedule_recheck("W1", at, 4_000, false).unwrap();
        assert_eq!(l.payment("W1").unwrap().recheck_at, Some(at + 4_000));
    }
}
