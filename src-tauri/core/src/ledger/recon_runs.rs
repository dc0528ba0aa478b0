//! Reconciliation runs as the books keep them: a run (one channel, one business day, one
//! statement) with the differences it found, written once in one transaction, and a manager's
//! resolution of a difference, written once. Triggers refuse any update or delete (migration 8).
//!
//! Kinds, sources and actions are stored as the engine names them (`recon::compare::Kind`): the
//! ledger only keeps them and never decides one.

use super::audit::{append_audit, AuditNote};
use super::payments::{payment_from_row, COLUMNS as PAYMENT_COLUMNS};
use super::refunds::{refund_from_row, COLUMNS as REFUND_COLUMNS};
use super::{now_ms, Ledger, LedgerError, Payment, Refund};
use crate::money::Fen;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, TransactionBehavior};
use serde::Serialize;

/// A run to record.
#[derive(Debug, Clone)]
pub struct NewReconRun {
    pub channel: String,
    /// The channel's business day, `YYYY-MM-DD`.
    pub day: String,
    pub source: &'static str,
    pub format: Option<&'static str>,
    pub file_name: Option<String>,
    pub file_sha256: Option<String>,
    pub rows: usize,
    /// Rows of orders another till of the same merchant account made: not this ledger's to match.
    pub other_tills_rows: usize,
    pub matched: usize,
    pub matched_fen: Fen,
    pub refunds_matched: usize,
    pub refunds_matched_fen: Fen,
    pub fee_fen: Fen,
    pub differences: Vec<NewReconDifference>,
    pub run_by: String,
}

#[derive(Debug, Clone)]
pub struct NewReconDifference {
    pub kind: &'static str,
    pub waiting: bool,
    pub order_no: String,
    pub refund_no: Option<String>,
    pub trade_no: Option<String>,
    pub ledger: Option<Fen>,
    pub channel: Option<Fen>,
    pub channel_at: Option<i64>,
}

/// A recorded run, with how many of its differences still wait for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReconRun {
    pub id: i64,
    pub channel: String,
    pub day: String,
    pub source: String,
    pub format: Option<String>,
    pub file_name: Option<String>,
    pub file_sha256: Option<String>,
    pub rows: i64,
    pub other_tills_rows: i64,
    pub matched: i64,
    pub matched_fen: Fen,
    pub refunds_matched: i64,
    pub refunds_matched_fen: Fen,
    pub fee_fen: Fen,
    pub differences: i64,
    /// Differences (not awaiting the next statement) no one has resolved yet.
    pub unresolved: i64,
    /// Differences that await the next day's statement.
    pub waiting: i64,
    pub run_by: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReconDifference {
    pub id: i64,
    pub run_id: i64,
    pub kind: String,
    pub waiting: bool,
    pub order_no: String,
    pub refund_no: Option<String>,
    pub trade_no: Option<String>,
    #[serde(rename = "ledger_fen")]
    pub ledger: Option<Fen>,
    #[serde(rename = "channel_fen")]
    pub channel: Option<Fen>,
    pub channel_at: Option<i64>,
    pub resolution: Option<ReconResolution>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReconResolution {
    pub action: String,
    pub reason: String,
    pub by: String,
    pub at: i64,
}

const RUN_COLUMNS: &str = "r.id, r.channel, r.day, r.source, r.format, r.file_name, r.file_sha256, r.rows, \
     r.other_tills_rows, r.matched, r.matched_fen, r.refunds_matched, r.refunds_matched_fen, r.fee_fen, r.differences, \
     (SELECT COUNT(*) FROM recon_differences d LEFT JOIN recon_resolutions s ON s.difference_id = d.id \
       WHERE d.run_id = r.id AND d.waiting = 0 AND s.difference_id IS NULL), \
     (SELECT COUNT(*) FROM recon_differences d WHERE d.run_id = r.id AND d.waiting = 1), r.run_by, r.at";

fn run_from_row(r: &Row<'_>) -> rusqlite::Result<ReconRun> {
    Ok(ReconRun {
        id: r.get(0)?,
        channel: r.get(1)?,
        day: r.get(2)?,
        source: r.get(3)?,
        format: r.get(4)?,
        file_name: r.get(5)?,
        file_sha256: r.get(6)?,
        rows: r.get(7)?,
        other_tills_rows: r.get(8)?,
        matched: r.get(9)?,
        matched_fen: Fen(r.get(10)?),
        refunds_matched: r.get(11)?,
        refunds_matched_fen: Fen(r.get(12)?),
        fee_fen: Fen(r.get(13)?),
        differences: r.get(14)?,
        unresolved: r.get(15)?,
        waiting: r.get(16)?,
        run_by: r.get(17)?,
        at: r.get(18)?,
    })
}

const DIFFERENCE_COLUMNS: &str = "d.id, d.run_id, d.kind, d.waiting, d.order_no, d.refund_no, d.trade_no, \
     d.ledger_fen, d.channel_fen, d.channel_at, s.action, s.reason, s.user_name, s.at";

fn difference_from_row(r: &Row<'_>) -> rusqlite::Result<ReconDifference> {
    let action: Option<String> = r.get(10)?;
    Ok(ReconDifference {
        id: r.get(0)?,
        run_id: r.get(1)?,
        kind: r.get(2)?,
        waiting: r.get(3)?,
        order_no: r.get(4)?,
        refund_no: r.get(5)?,
        trade_no: r.get(6)?,
        ledger: r.get::<_, Option<i64>>(7)?.map(Fen),
        channel: r.get::<_, Option<i64>>(8)?.map(Fen),
        channel_at: r.get(9)?,
        resolution: match action {
            Some(action) => Some(ReconResolution { action, reason: r.get(11)?, by: r.get(12)?, at: r.get(13)? }),
            None => None,
        },
    })
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// How many ids one `IN (…)` list holds (SQLite's default limit is 32 766 variables).
const IDS_PER_QUERY: usize = 500;

fn by_ids<T>(
    conn: &Connection,
    sql_before_list: &str,
    ids: &[&str],
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, LedgerError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let mut stmt = conn.prepare(&format!("{sql_before_list} ({marks})"))?;
        let rows = stmt.query_map(params_from_iter(chunk.iter()), map)?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

impl Ledger {
    /// Records a run and its differences in one transaction, with its audit row. Returns it.
    pub fn record_recon_run(&self, run: &NewReconRun, audit: &AuditNote) -> Result<ReconRun, LedgerError> {
        let now = now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO recon_runs (channel, day, source, format, file_name, file_sha256, rows, other_tills_rows, \
             matched, matched_fen, refunds_matched, refunds_matched_fen, fee_fen, differences, run_by, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            params![
                run.channel,
                run.day,
                run.source,
                run.format,
                run.file_name,
                run.file_sha256,
                count(run.rows),
                count(run.other_tills_rows),
                count(run.matched),
                run.matched_fen.0,
                count(run.refunds_matched),
                run.refunds_matched_fen.0,
                run.fee_fen.0,
                count(run.differences.len()),
                run.run_by,
                now,
            ],
        )?;
        let id = tx.last_insert_rowid();
        {
            let mut insert = tx.prepare(
                "INSERT INTO recon_differences (run_id, kind, waiting, order_no, refund_no, trade_no, ledger_fen, \
                 channel_fen, channel_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for d in &run.differences {
                insert.execute(params![
                    id,
                    d.kind,
                    d.waiting,
                    d.order_no,
                    d.refund_no,
                    d.trade_no,
                    d.ledger.map(|f| f.0),
                    d.channel.map(|f| f.0),
                    d.channel_at,
                ])?;
            }
        }
        let mut note = audit.clone();
        if let Some(fields) = note.detail.as_object_mut() {
            fields.insert("run".into(), id.into());
        }
        append_audit(&tx, now, &note)?;
        let stored =
            tx.query_row(&format!("SELECT {RUN_COLUMNS} FROM recon_runs r WHERE r.id = ?1"), [id], run_from_row)?;
        tx.commit()?;
        Ok(stored)
    }

    /// Runs of business days `from..=to` (`YYYY-MM-DD`), newest first.
    pub fn recon_runs(&self, from: &str, to: &str) -> Result<Vec<ReconRun>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {RUN_COLUMNS} FROM recon_runs r WHERE r.day >= ?1 AND r.day <= ?2 ORDER BY r.day DESC, r.id DESC"
        ))?;
        let rows = stmt.query_map(params![from, to], run_from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn recon_run(&self, id: i64) -> Result<ReconRun, LedgerError> {
        self.conn()
            .query_row(&format!("SELECT {RUN_COLUMNS} FROM recon_runs r WHERE r.id = ?1"), [id], run_from_row)
            .optional()?
            .ok_or_else(|| LedgerError::ReconNotFound(format!("run {id}")))
    }

    /// The newest run of `channel` for `day`, if any.
    pub fn latest_recon_run(&self, channel: &str, day: &str) -> Result<Option<ReconRun>, LedgerError> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM recon_runs r WHERE r.channel = ?1 AND r.day = ?2 ORDER BY r.id DESC LIMIT 1"
                ),
                params![channel, day],
                run_from_row,
            )
            .optional()?)
    }

    /// A run's differences, in the order found, each with its resolution if any.
    pub fn recon_differences(&self, run_id: i64) -> Result<Vec<ReconDifference>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {DIFFERENCE_COLUMNS} FROM recon_differences d \
             LEFT JOIN recon_resolutions s ON s.difference_id = d.id WHERE d.run_id = ?1 ORDER BY d.id"
        ))?;
        let rows = stmt.query_map([run_id], difference_from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn recon_difference(&self, id: i64) -> Result<ReconDifference, LedgerError> {
        self.conn()
            .query_row(
                &format!(
                    "SELECT {DIFFERENCE_COLUMNS} FROM recon_differences d \
                     LEFT JOIN recon_resolutions s ON s.difference_id = d.id WHERE d.id = ?1"
                ),
                [id],
                difference_from_row,
            )
            .optional()?
            .ok_or_else(|| LedgerError::ReconNotFound(format!("difference {id}")))
    }

    /// Writes a difference's resolution once, with its audit row. A second resolution of the
    /// same difference is refused ([`LedgerError::AlreadyResolved`]).
    pub fn resolve_recon_difference(
        &self,
        id: i64,
        action: &'static str,
        reason: &str,
        by: &str,
        audit: &AuditNote,
    ) -> Result<ReconDifference, LedgerError> {
        let now = now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let exists: Option<i64> =
            tx.query_row("SELECT id FROM recon_differences WHERE id = ?1", [id], |r| r.get(0)).optional()?;
        if exists.is_none() {
            return Err(LedgerError::ReconNotFound(format!("difference {id}")));
        }
        let done: Option<i64> = tx
            .query_row("SELECT difference_id FROM recon_resolutions WHERE difference_id = ?1", [id], |r| r.get(0))
            .optional()?;
        if done.is_some() {
            return Err(LedgerError::AlreadyResolved);
        }
        tx.execute(
            "INSERT INTO recon_resolutions (difference_id, action, reason, user_name, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, action, reason, by, now],
        )?;
        append_audit(&tx, now, audit)?;
        let stored = tx.query_row(
            &format!(
                "SELECT {DIFFERENCE_COLUMNS} FROM recon_differences d \
                 LEFT JOIN recon_resolutions s ON s.difference_id = d.id WHERE d.id = ?1"
            ),
            [id],
            difference_from_row,
        )?;
        tx.commit()?;
        Ok(stored)
    }

    /// Payments of `channel` the ledger has paid with the channel's time of payment in
    /// `[from, to)` (ms): each must be in that day's statement.
    pub fn paid_between(&self, channel: &str, from: i64, to: i64) -> Result<Vec<Payment>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE state = 'paid' AND paid_at >= ?1 AND paid_at < ?2 \
             AND channel = ?3"
        ))?;
        let rows = stmt.query_map(params![from, to, channel], payment_from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Payments of `channel` created in `[from, to)` (ms), any state: what a query sweep asks about.
    pub fn created_between_on(&self, channel: &str, from: i64, to: i64) -> Result<Vec<Payment>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE created_at >= ?1 AND created_at < ?2 AND channel = ?3 \
             ORDER BY created_at"
        ))?;
        let rows = stmt.query_map(params![from, to, channel], payment_from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The payments with these ids (those the ledger has; any order).
    pub fn payments_by_ids(&self, ids: &[&str]) -> Result<Vec<Payment>, LedgerError> {
        by_ids(&self.conn(), &format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE id IN"), ids, payment_from_row)
    }

    /// Every refund of these payments.
    pub fn refunds_of_payments(&self, payment_ids: &[&str]) -> Result<Vec<Refund>, LedgerError> {
        by_ids(
            &self.conn(),
            &format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE payment_id IN"),
            payment_ids,
            refund_from_row,
        )
    }

    /// Refunds of `channel`'s payments that succeeded (by the ledger's settle clock) in `[from, to)`.
    pub fn refunds_succeeded_between(&self, channel: &str, from: i64, to: i64) -> Result<Vec<Refund>, LedgerError> {
        let conn = self.conn();
        let columns = REFUND_COLUMNS.split(", ").map(|c| format!("r.{}", c.trim())).collect::<Vec<_>>().join(", ");
        let mut stmt = conn.prepare(&format!(
            "SELECT {columns} FROM refunds r JOIN payments p ON p.id = r.payment_id \
             WHERE r.state = 'succeeded' AND r.settled_at >= ?1 AND r.settled_at < ?2 AND p.channel = ?3"
        ))?;
        let rows = stmt.query_map(params![from, to, channel], refund_from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}
