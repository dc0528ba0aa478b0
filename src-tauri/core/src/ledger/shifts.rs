//! Shifts. A shift's money is what settled between the previous Z and its own: the ledger's
//! settle clock never stamps a time inside a closed shift, so a Z, once written, stays true.

use super::audit::{append_audit, AuditNote};
use super::{now_ms, Ledger, LedgerError};
use crate::money::Fen;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde::{Deserialize, Serialize};

/// Also the shift part of a stored Z (`engine::reports::ShiftFigures`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    pub id: i64,
    pub terminal: String,
    pub opened_by: String,
    pub opened_at: i64,
    pub opening_cash: Option<Fen>,
    pub closed_by: Option<String>,
    pub closed_at: Option<i64>,
    pub z_no: Option<i64>,
    /// The Z as written at close (JSON); never recomputed.
    #[serde(skip)]
    pub z_report: Option<String>,
}

const COLUMNS: &str = "id, terminal, opened_by, opened_at, opening_cash_fen, closed_by, closed_at, z_no, z_report";

fn shift_from_row(r: &Row<'_>) -> rusqlite::Result<Shift> {
    Ok(Shift {
        id: r.get(0)?,
        terminal: r.get(1)?,
        opened_by: r.get(2)?,
        opened_at: r.get(3)?,
        opening_cash: r.get::<_, Option<i64>>(4)?.map(Fen),
        closed_by: r.get(5)?,
        closed_at: r.get(6)?,
        z_no: r.get(7)?,
        z_report: r.get(8)?,
    })
}

/// The end of the last closed shift on any terminal (0 before the first Z).
fn last_close(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT COALESCE(MAX(closed_at), 0) FROM shifts")?.query_row([], |r| r.get(0))
}

/// The time to stamp a settlement with: now, but never at or before the last Z (a clock that
/// went back must not reopen a closed shift). Call inside the writing transaction.
pub(super) fn settle_clock(conn: &Connection) -> rusqlite::Result<i64> {
    Ok(now_ms().max(last_close(conn)? + 1))
}

fn open_on(conn: &Connection, terminal: &str) -> rusqlite::Result<Option<Shift>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM shifts WHERE terminal = ?1 AND closed_at IS NULL"),
        [terminal],
        shift_from_row,
    )
    .optional()
}

/// Where the period of a shift closing at `closed_at` (or the open period) begins.
fn period_start(conn: &Connection, terminal: &str, closed_at: Option<i64>) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COALESCE(MAX(closed_at), 0) FROM shifts WHERE terminal = ?1 AND closed_at IS NOT NULL \
         AND (?2 IS NULL OR closed_at < ?2)",
        params![terminal, closed_at],
        |r| r.get(0),
    )
}

impl Ledger {
    pub fn open_shift(
        &self,
        terminal: &str,
        by: &str,
        opening_cash: Option<Fen>,
        audit: &AuditNote,
    ) -> Result<Shift, LedgerError> {
        let now = now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if open_on(&tx, terminal)?.is_some() {
            return Err(LedgerError::ShiftOpen);
        }
        tx.execute(
            "INSERT INTO shifts (terminal, opened_by, opened_at, opening_cash_fen) VALUES (?1, ?2, ?3, ?4)",
            params![terminal, by, now, opening_cash.map(|f| f.0)],
        )?;
        let id = tx.last_insert_rowid();
        append_audit(&tx, now, &AuditNote { target: Some(format!("shift {id}")), ..audit.clone() })?;
        let shift = tx.query_row(&format!("SELECT {COLUMNS} FROM shifts WHERE id = ?1"), [id], shift_from_row)?;
        tx.commit()?;
        Ok(shift)
    }

    /// When `terminal` first did anything the books show (its first payment, or its first shift
    /// opened): where a period with no Z before it really starts.
    pub fn first_activity(&self, terminal: &str) -> Result<Option<i64>, LedgerError> {
        Ok(self.conn().query_row(
            "SELECT MIN(t) FROM (SELECT MIN(created_at) AS t FROM payments WHERE terminal = ?1 \
             UNION ALL SELECT MIN(opened_at) FROM shifts WHERE terminal = ?1)",
            [terminal],
            |r| r.get(0),
        )?)
    }

    pub fn open_shift_of(&self, terminal: &str) -> Result<Option<Shift>, LedgerError> {
        Ok(open_on(&self.conn(), terminal)?)
    }

    /// The period of `shift` (or, for `None`, the open period of `terminal`): from the previous
    /// Z to its own Z, or to `now` while open.
    pub fn shift_period(&self, terminal: &str, shift: Option<&Shift>) -> Result<(i64, i64), LedgerError> {
        let conn = self.conn();
        let closed_at = shift.and_then(|s| s.closed_at);
        let from = period_start(&conn, terminal, closed_at)?;
        Ok((from, closed_at.unwrap_or_else(|| settle_clock(&conn).unwrap_or_else(|_| now_ms()))))
    }

    /// Closes the open shift of `terminal`: in one transaction, takes the next Z number, lets
    /// `write_z(conn, closed, from)` build the report of the period `from` to `closed.closed_at`
    /// (`closed` is the shift as it will be stored), and stores it. Nothing can settle in
    /// between: the transaction holds the write lock.
    pub fn close_shift(
        &self,
        terminal: &str,
        by: &str,
        audit: &AuditNote,
        write_z: impl FnOnce(&Connection, &Shift, i64) -> Result<String, LedgerError>,
    ) -> Result<Shift, LedgerError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let shift = open_on(&tx, terminal)?.ok_or(LedgerError::NoOpenShift)?;
        let closed_at = settle_clock(&tx)?;
        let from = period_start(&tx, terminal, None)?;
        let z_no: i64 = tx.query_row("SELECT COALESCE(MAX(z_no), 0) + 1 FROM shifts", [], |r| r.get(0))?;
        let closed =
            Shift { closed_by: Some(by.into()), closed_at: Some(closed_at), z_no: Some(z_no), ..shift.clone() };
        let z = write_z(&tx, &closed, from)?;
        tx.execute(
            "UPDATE shifts SET closed_by = ?2, closed_at = ?3, z_no = ?4, z_report = ?5 WHERE id = ?1",
            params![shift.id, by, closed_at, z_no, z],
        )?;
        append_audit(
            &tx,
            closed_at,
            &AuditNote { target: Some(format!("shift {} / Z {z_no}", shift.id)), ..audit.clone() },
        )?;
        let shift = tx.query_row(&format!("SELECT {COLUMNS} FROM shifts WHERE id = ?1"), [shift.id], shift_from_row)?;
        tx.commit()?;
        Ok(shift)
    }

    pub fn shift(&self, id: i64) -> Result<Shift, LedgerError> {
        self.conn()
            .query_row(&format!("SELECT {COLUMNS} FROM shifts WHERE id = ?1"), [id], shift_from_row)
            .optional()?
            .ok_or_else(|| LedgerError::NotFound(format!("shift {id}")))
    }

    /// Closed shifts, newest Z first.
    pub fn closed_shifts(&self, limit: usize) -> Result<Vec<Shift>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM shifts WHERE closed_at IS NOT NULL ORDER BY z_no DESC LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit.clamp(1, 1000) as i64], shift_from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}
