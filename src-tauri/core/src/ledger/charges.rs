//! Charges: an amount this till was asked to collect (by the terminal API or a kiosk order), and
//! the payment attempts that collect it. The charge's state is kept by triggers (migration 3) in
//! the same transaction as each attempt's change, so it can never disagree with its payments.

use super::payments::{payment_from_row, NewPayment, Payment};
use super::{now_ms, Ledger, LedgerError, State};
use crate::money::Fen;
use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChargeState {
    /// Waiting to be collected: no attempt yet, or the last one failed.
    Open,
    /// An attempt is under way.
    Paying,
    /// One attempt was paid.
    Paid,
    /// Cancel asked; an attempt is still being closed at the channel.
    Cancelling,
    Cancelled,
}

impl ChargeState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeState::Open => "open",
            ChargeState::Paying => "paying",
            ChargeState::Paid => "paid",
            ChargeState::Cancelling => "cancelling",
            ChargeState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<ChargeState> {
        [ChargeState::Open, ChargeState::Paying, ChargeState::Paid, ChargeState::Cancelling, ChargeState::Cancelled]
            .into_iter()
            .find(|c| c.as_str() == s)
    }

    pub fn is_final(self) -> bool {
        matches!(self, ChargeState::Paid | ChargeState::Cancelled)
    }

    pub fn label(self, lang: crate::i18n::Lang) -> &'static str {
        match self {
            ChargeState::Open => lang.pick("待收款", "waiting to be paid"),
            ChargeState::Paying => lang.pick("收款中", "being paid"),
            ChargeState::Paid => lang.pick("已支付", "paid"),
            ChargeState::Cancelling => lang.pick("正在取消", "cancelling"),
            ChargeState::Cancelled => lang.pick("已取消", "cancelled"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Api,
    Kiosk,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Api => "api",
            Origin::Kiosk => "kiosk",
        }
    }
}

/// How the customer pays a charge: scans our QR, or shows a wallet payment code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tender {
    Qr,
    Code,
}

impl Tender {
    pub fn as_str(self) -> &'static str {
        match self {
            Tender::Qr => "qr",
            Tender::Code => "code",
        }
    }

    fn parse(s: &str) -> Option<Tender> {
        [Tender::Qr, Tender::Code].into_iter().find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Charge {
    pub id: String,
    pub external_id: Option<String>,
    pub origin: Origin,
    pub terminal: String,
    pub amount: Fen,
    pub subject: String,
    pub tender: Option<Tender>,
    pub channel: Option<String>,
    pub state: ChargeState,
    pub cancel_requested: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewCharge {
    pub id: String,
    pub external_id: Option<String>,
    pub origin: Origin,
    pub terminal: String,
    pub amount: Fen,
    pub subject: String,
    pub tender: Option<Tender>,
    pub channel: Option<String>,
}

impl NewCharge {
    /// Whether an existing charge is this same request again (an idempotent repeat).
    fn same_request(&self, c: &Charge) -> bool {
        self.amount == c.amount && self.subject == c.subject && self.tender == c.tender && self.channel == c.channel
    }
}

/// What `insert_charge` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Admitted {
    Created(Charge),
    /// The same external order id with the same request: the charge made the first time.
    Repeated(Charge),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChargeRefused {
    #[error("order {external_id} exists with a different amount or details")]
    Conflict { external_id: String, existing: String },
    #[error("{open} charges are unfinished already")]
    Busy { open: String },
    #[error("charge {id} is {state}")]
    NotOpen { id: String, state: &'static str },
}

/// A charge and what its attempts say.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChargeRecord {
    pub charge: Charge,
    /// The attempts, oldest first.
    pub attempts: Vec<super::Payment>,
}

impl ChargeRecord {
    /// The attempt a person should look at: the paid one, else the unfinished one, else the last.
    pub fn current(&self) -> Option<&super::Payment> {
        self.attempts
            .iter()
            .find(|p| p.state == State::Paid)
            .or_else(|| self.attempts.iter().rev().find(|p| p.state.is_open()))
            .or_else(|| self.attempts.last())
    }
}

const COLUMNS: &str = "id, external_id, origin, terminal, amount_fen, subject, tender, channel, state, \
     cancel_requested, created_at, updated_at";

fn charge_from_row(r: &Row<'_>) -> rusqlite::Result<Charge> {
    let bad = |i: usize, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, what.to_string().into())
    };
    let origin: String = r.get(2)?;
    let tender: Option<String> = r.get(6)?;
    let state: String = r.get(8)?;
    Ok(Charge {
        id: r.get(0)?,
        external_id: r.get(1)?,
        origin: match origin.as_str() {
            "api" => Origin::Api,
            "kiosk" => Origin::Kiosk,
            _ => return Err(bad(2, "origin")),
        },
        terminal: r.get(3)?,
        amount: Fen(r.get(4)?),
        subject: r.get(5)?,
        tender: match tender {
            Some(t) => Some(Tender::parse(&t).ok_or_else(|| bad(6, "tender"))?),
            None => None,
        },
        channel: r.get(7)?,
        state: ChargeState::parse(&state).ok_or_else(|| bad(8, "state"))?,
        cancel_requested: r.get::<_, i64>(9)? != 0,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
    })
}

fn charge_in(conn: &rusqlite::Connection, id: &str) -> Result<Charge, LedgerError> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM charges WHERE id = ?1"), [id], charge_from_row)
        .optional()?
        .ok_or_else(|| LedgerError::NotFound(id.into()))
}

/// The charge, if a new attempt may start for it: open (no attempt under way, not paid, not
/// cancelled). Runs inside the transaction that inserts the attempt.
fn open_charge_in(conn: &rusqlite::Connection, charge_id: &str) -> Result<Charge, LedgerError> {
    let c = charge_in(conn, charge_id)?;
    if c.state != ChargeState::Open {
        return Err(LedgerError::Charge(ChargeRefused::NotOpen { id: c.id, state: c.state.as_str() }));
    }
    Ok(c)
}

fn one_record(conn: &rusqlite::Connection, charge: Charge) -> Result<ChargeRecord, LedgerError> {
    let mut records = records_in(conn, vec![charge])?;
    records.pop().ok_or_else(|| LedgerError::Sqlite("a charge read back empty".into()))
}

/// The charges with their attempts, in the order given: one query for all the attempts.
fn records_in(conn: &rusqlite::Connection, charges: Vec<Charge>) -> Result<Vec<ChargeRecord>, LedgerError> {
    let ids = serde_json::to_string(&charges.iter().map(|c| c.id.as_str()).collect::<Vec<_>>())
        .map_err(|e| LedgerError::Sqlite(e.to_string()))?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {} FROM payments WHERE charge_id IN (SELECT value FROM json_each(?1)) ORDER BY created_at, id",
        super::payments::COLUMNS
    ))?;
    let mut attempts: Vec<super::Payment> = stmt.query_map([ids], payment_from_row)?.collect::<Result<_, _>>()?;
    Ok(charges
        .into_iter()
        .map(|charge| {
            let (mine, rest) = attempts.drain(..).partition(|p| p.charge_id.as_deref() == Some(charge.id.as_str()));
            attempts = rest;
            ChargeRecord { charge, attempts: mine }
        })
        .collect())
}

impl Ledger {
    /// Commits a `created` row and its first event. Nothing may be sent before this returns Ok.
    /// A charge's attempt is admitted only while the charge is open, in the same transaction:
    /// that is why the insert lives here, above `payments` (charges are made of payments).
    pub fn insert_payment(&self, p: &NewPayment) -> Result<Payment, LedgerError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(charge) = &p.charge {
            open_charge_in(&tx, charge)?;
        }
        let row = super::payments::insert_in(&tx, p)?;
        tx.commit()?;
        Ok(row)
    }

    /// Records a new charge, or returns the one made for the same external order id. Refused when
    /// that id was used for a different request, or when `max_open` charges are unfinished.
    pub fn insert_charge(&self, new: &NewCharge, max_open: u32) -> Result<Admitted, LedgerError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(ext) = &new.external_id {
            let found = tx
                .query_row(&format!("SELECT {COLUMNS} FROM charges WHERE external_id = ?1"), [ext], charge_from_row)
                .optional()?;
            if let Some(c) = found {
                return if new.same_request(&c) {
                    Ok(Admitted::Repeated(c))
                } else {
                    Err(LedgerError::Charge(ChargeRefused::Conflict { external_id: ext.clone(), existing: c.id }))
                };
            }
        }
        let open: Vec<String> = {
            let mut stmt = tx.prepare_cached(
                "SELECT id FROM charges WHERE state NOT IN ('paid', 'cancelled') ORDER BY created_at LIMIT ?1",
            )?;
            let rows = stmt.query_map([i64::from(max_open)], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        if open.len() >= max_open as usize {
            return Err(LedgerError::Charge(ChargeRefused::Busy { open: open.join(", ") }));
        }
        let now = now_ms();
        tx.execute(
            "INSERT INTO charges (id, external_id, origin, terminal, amount_fen, subject, tender, channel, \
             created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
            params![
                new.id,
                new.external_id,
                new.origin.as_str(),
                new.terminal,
                new.amount.0,
                new.subject,
                new.tender.map(Tender::as_str),
                new.channel,
                now
            ],
        )?;
        let c = charge_in(&tx, &new.id)?;
        tx.commit()?;
        Ok(Admitted::Created(c))
    }

    pub fn charge(&self, id: &str) -> Result<Charge, LedgerError> {
        charge_in(&self.conn(), id)
    }

    pub fn charge_by_external(&self, external_id: &str) -> Result<Option<Charge>, LedgerError> {
        let conn = self.conn();
        let found = conn
            .query_row(&format!("SELECT {COLUMNS} FROM charges WHERE external_id = ?1"), [external_id], charge_from_row)
            .optional()?;
        Ok(found)
    }

    /// The charge with its attempts, read together.
    pub fn charge_record(&self, id: &str) -> Result<ChargeRecord, LedgerError> {
        let conn = self.conn();
        let charge = charge_in(&conn, id)?;
        one_record(&conn, charge)
    }

    /// The charge if a new attempt may start for it now (the insert checks again).
    pub fn open_charge(&self, id: &str) -> Result<Charge, LedgerError> {
        open_charge_in(&self.conn(), id)
    }

    /// Unfinished charges, oldest first.
    pub fn unfinished_charges(&self) -> Result<Vec<Charge>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM charges WHERE state NOT IN ('paid', 'cancelled') ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map([], charge_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Charges made in `[from, to)` with their attempts, newest first, `limit` at a time before
    /// the charge `before` (its `created_at` and id).
    pub fn charges_page(
        &self,
        from: i64,
        to: i64,
        before: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<ChargeRecord>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM charges WHERE created_at >= ?1 AND created_at < ?2 \
             AND (?3 IS NULL OR created_at < ?3 OR (created_at = ?3 AND id < ?4)) \
             ORDER BY created_at DESC, id DESC LIMIT ?5"
        ))?;
        let (at, id) = before.map_or((None, None), |(t, i)| (Some(t), Some(i)));
        let rows = stmt.query_map(params![from, to, at, id, limit as i64], charge_from_row)?;
        let charges = rows.collect::<Result<_, _>>()?;
        drop(stmt);
        records_in(&conn, charges)
    }

    /// Asks to cancel: the charge is `cancelled` at once when no attempt is under way, else
    /// `cancelling` until that attempt ends (the triggers decide). A paid charge stays paid.
    pub fn request_charge_cancel(&self, id: &str) -> Result<ChargeRecord, LedgerError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let c = charge_in(&tx, id)?;
        if !c.state.is_final() && !c.cancel_requested {
            tx.execute(
                "UPDATE charges SET cancel_requested = 1, updated_at = ?2 WHERE id = ?1",
                params![id, now_ms()],
            )?;
        }
        let record = one_record(&tx, charge_in(&tx, id)?)?;
        tx.commit()?;
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::test_support::{new_payment, temp_ledger};
    use crate::ledger::{Change, NewPayment};

    fn charge(id: &str, ext: Option<&str>, fen: i64) -> NewCharge {
        NewCharge {
            id: id.into(),
            external_id: ext.map(Into::into),
            origin: Origin::Api,
            terminal: "T01".into(),
            amount: Fen(fen),
            subject: "午餐".into(),
            tender: Some(Tender::Qr),
            channel: None,
        }
    }

    fn attempt(id: &str, charge: &str) -> NewPayment {
        NewPayment { charge: Some(charge.into()), ..new_payment(id) }
    }

    #[test]
    fn the_same_order_id_returns_the_first_charge_and_a_different_request_is_refused() {
        let (_d, l) = temp_ledger();
        let Admitted::Created(first) = l.insert_charge(&charge("C1", Some("ERP-1"), 1200), 5).unwrap() else {
            panic!("not created")
        };
        assert_eq!(l.insert_charge(&charge("C2", Some("ERP-1"), 1200), 5).unwrap(), Admitted::Repeated(first));
        let err = l.insert_charge(&charge("C3", Some("ERP-1"), 1300), 5).unwrap_err();
        assert!(matches!(err, LedgerError::Charge(ChargeRefused::Conflict { .. })), "{err:?}");
        assert!(matches!(l.charge("C2"), Err(LedgerError::NotFound(_))));
        assert!(matches!(l.charge("C3"), Err(LedgerError::NotFound(_))));
    }

    #[test]
    fn only_max_open_charges_may_be_unfinished() {
        let (_d, l) = temp_ledger();
        l.insert_charge(&charge("C1", Some("A"), 100), 1).unwrap();
        let err = l.insert_charge(&charge("C2", Some("B"), 100), 1).unwrap_err();
        assert_eq!(err, LedgerError::Charge(ChargeRefused::Busy { open: "C1".into() }));
        l.request_charge_cancel("C1").unwrap();
        assert!(matches!(l.insert_charge(&charge("C2", Some("B"), 100), 1), Ok(Admitted::Created(_))));
    }

    #[test]
    fn the_state_follows_the_attempts() {
        let (_d, l) = temp_ledger();
        l.insert_charge(&charge("C1", Some("A"), 1234), 5).unwrap();
        l.insert_payment(&attempt("P1", "C1")).unwrap();
        assert_eq!(l.charge("C1").unwrap().state, ChargeState::Paying);
        let err = l.insert_payment(&attempt("P2", "C1")).unwrap_err();
        assert!(matches!(err, LedgerError::Charge(ChargeRefused::NotOpen { state: "paying", .. })), "{err:?}");
        l.transition("P1", State::Pending, &Change::default()).unwrap();
        l.transition("P1", State::Failed, &Change::default()).unwrap();
        assert_eq!(l.charge("C1").unwrap().state, ChargeState::Open, "a failed attempt leaves it open");
        l.insert_payment(&attempt("P2", "C1")).unwrap();
        l.transition("P2", State::Paid, &Change::default()).unwrap();
        let rec = l.charge_record("C1").unwrap();
        assert_eq!(rec.charge.state, ChargeState::Paid);
        assert_eq!(rec.current().map(|p| p.id.as_str()), Some("P2"));
        assert_eq!(rec.attempts.len(), 2);
        assert!(matches!(l.insert_payment(&attempt("P3", "C1")), Err(LedgerError::Charge(_))));
        assert_eq!(l.request_charge_cancel("C1").unwrap().charge.state, ChargeState::Paid, "paid stays paid");
    }

    #[test]
    fn a_cancel_waits_for_the_attempt_under_way() {
        let (_d, l) = temp_ledger();
        l.insert_charge(&charge("C1", None, 500), 5).unwrap();
        l.insert_payment(&attempt("P1", "C1")).unwrap();
        l.transition("P1", State::Pending, &Change::default()).unwrap();
        assert_eq!(l.request_charge_cancel("C1").unwrap().charge.state, ChargeState::Cancelling);
        assert!(matches!(l.insert_payment(&attempt("P2", "C1")), Err(LedgerError::Charge(_))));
        l.transition("P1", State::Closed, &Change::default()).unwrap();
        assert_eq!(l.charge("C1").unwrap().state, ChargeState::Cancelled);
        let conn = l.conn();
        assert!(conn.execute("UPDATE charges SET state = 'open' WHERE id = 'C1'", []).is_err());
        assert!(conn.execute("DELETE FROM charges", []).is_err());
    }

    #[test]
    fn a_cancel_lost_to_a_payment_is_paid() {
        let (_d, l) = temp_ledger();
        l.insert_charge(&charge("C1", None, 500), 5).unwrap();
        l.insert_payment(&attempt("P1", "C1")).unwrap();
        l.request_charge_cancel("C1").unwrap();
        l.transition("P1", State::Paid, &Change::default()).unwrap();
        assert_eq!(l.charge("C1").unwrap().state, ChargeState::Paid);
    }

    #[test]
    fn a_cancelled_charge_whose_attempt_turns_out_paid_is_paid_and_a_lapsed_attempt_leaves_it_open() {
        let (_d, l) = temp_ledger();
        l.insert_charge(&charge("C1", None, 500), 5).unwrap();
        l.insert_payment(&attempt("P1", "C1")).unwrap();
        l.request_charge_cancel("C1").unwrap();
        l.transition("P1", State::Closed, &Change::default()).unwrap();
        assert_eq!(l.charge("C1").unwrap().state, ChargeState::Cancelled);
        // Evidence that money moved: the closed attempt was paid after all.
        let p = l.transition("P1", State::Paid, &Change::default()).unwrap().unwrap();
        assert!(p.late);
        assert_eq!(l.charge("C1").unwrap().state, ChargeState::Paid);
        // Nothing else reopens a cancelled charge.
        l.insert_charge(&charge("C2", None, 500), 5).unwrap();
        l.request_charge_cancel("C2").unwrap();
        assert!(l.conn().execute("UPDATE charges SET state = 'open' WHERE id = 'C2'", []).is_err());

        l.insert_charge(&charge("C3", None, 700), 5).unwrap();
        l.insert_payment(&attempt("P3", "C3")).unwrap();
        l.transition("P3", State::Lapsed, &Change::default()).unwrap().unwrap();
        let rec = l.charge_record("C3").unwrap();
        assert_eq!(rec.charge.state, ChargeState::Open, "a lapsed attempt is not under way");
        assert_eq!(rec.current().map(|p| p.state), Some(State::Lapsed));
    }
}
