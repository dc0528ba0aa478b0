//! Print jobs (migration 10): what waits for the printer, what failed and why, until it is
//! printed or a person dismisses it. A job's slip is made from the books when it prints; the
//! ledger only keeps the queue and never talks to a printer.

use super::{now_ms, Ledger, LedgerError};
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrintJob {
    pub id: i64,
    /// `receipt`, `reprint`, `refund`, `x`, `z`, `test` or `drawer`.
    pub kind: String,
    /// The payment, refund or shift it prints.
    pub target: Option<String>,
    /// `pending`, `printing`, `printed`, `failed` or `dismissed`.
    pub state: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub detail: Option<String>,
    pub by_user: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, kind, target, state, attempts, error, detail, by_user, created_at, updated_at";

fn job_from_row(r: &Row) -> rusqlite::Result<PrintJob> {
    Ok(PrintJob {
        id: r.get(0)?,
        kind: r.get(1)?,
        target: r.get(2)?,
        state: r.get(3)?,
        attempts: r.get(4)?,
        error: r.get(5)?,
        detail: r.get(6)?,
        by_user: r.get(7)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
    })
}

impl Ledger {
    /// Queues a slip. An automatic receipt is queued once per payment whatever asks twice
    /// (`None` then); every other kind is a new job each time.
    pub fn add_print_job(
        &self,
        kind: &str,
        target: Option<&str>,
        by_user: Option<&str>,
    ) -> Result<Option<i64>, LedgerError> {
        let now = now_ms();
        let conn = self.conn();
        let added = conn.execute(
            "INSERT OR IGNORE INTO print_jobs (kind, target, state, by_user, created_at, updated_at)
             VALUES (?1, ?2, 'pending', ?3, ?4, ?4)",
            params![kind, target, by_user, now],
        )?;
        Ok((added == 1).then(|| conn.last_insert_rowid()))
    }

    /// Whether the payment's receipt was queued already (printed, failed or dismissed): what it
    /// prints next is a copy.
    pub fn has_receipt_job(&self, payment_id: &str) -> Result<bool, LedgerError> {
        let found = self
            .conn()
            .query_row("SELECT 1 FROM print_jobs WHERE kind = 'receipt' AND target = ?1", [payment_id], |_| Ok(()))
            .optional()?;
        Ok(found.is_some())
    }

    /// Takes the oldest pending job for printing.
    pub fn claim_print_job(&self) -> Result<Option<PrintJob>, LedgerError> {
        let conn = self.conn();
        let job = conn
            .query_row(
                &format!(
                    "UPDATE print_jobs SET state = 'printing', attempts = attempts + 1, updated_at = ?1
                     WHERE id = (SELECT id FROM print_jobs WHERE state = 'pending' ORDER BY id LIMIT 1)
                     RETURNING {COLUMNS}"
                ),
                params![now_ms()],
                job_from_row,
            )
            .optional()?;
        Ok(job)
    }

    /// How a job being printed ended: printed (`error` none) or failed.
    pub fn finish_print_job(&self, id: i64, error: Option<(&str, &str)>) -> Result<(), LedgerError> {
        let (state, code, detail) = match error {
            None => ("printed", None, None),
            Some((code, detail)) => ("failed", Some(code), Some(detail)),
        };
        self.conn().execute(
            "UPDATE print_jobs SET state = ?2, error = ?3, detail = ?4, updated_at = ?5
             WHERE id = ?1 AND state = 'printing'",
            params![id, state, code, detail, now_ms()],
        )?;
        Ok(())
    }

    /// A failed job goes back in the queue; false when it is not (or no longer) failed.
    pub fn retry_print_job(&self, id: i64) -> Result<bool, LedgerError> {
        let changed = self.conn().execute(
            "UPDATE print_jobs SET state = 'pending', updated_at = ?2 WHERE id = ?1 AND state = 'failed'",
            params![id, now_ms()],
        )?;
        Ok(changed == 1)
    }

    /// A person gives up on a failed or waiting job; false when it is printing or already over.
    pub fn dismiss_print_job(&self, id: i64) -> Result<bool, LedgerError> {
        let changed = self.conn().execute(
            "UPDATE print_jobs SET state = 'dismissed', updated_at = ?2
             WHERE id = ?1 AND state IN ('pending', 'failed')",
            params![id, now_ms()],
        )?;
        Ok(changed == 1)
    }

    /// Jobs a process was printing when it stopped: nobody knows whether they came out, so they
    /// are failed with `error` and listed for a person to print again or dismiss.
    pub fn interrupt_print_jobs(&self, error: &str) -> Result<usize, LedgerError> {
        Ok(self.conn().execute(
            "UPDATE print_jobs SET state = 'failed', error = ?1, detail = NULL, updated_at = ?2 WHERE state = 'printing'",
            params![error, now_ms()],
        )?)
    }

    /// Jobs not over yet (waiting, printing, failed), oldest first.
    pub fn open_print_jobs(&self) -> Result<Vec<PrintJob>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM print_jobs WHERE state IN ('pending', 'printing', 'failed') ORDER BY id"
        ))?;
        let rows = stmt.query_map([], job_from_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn print_job(&self, id: i64) -> Result<Option<PrintJob>, LedgerError> {
        Ok(self
            .conn()
            .query_row(&format!("SELECT {COLUMNS} FROM print_jobs WHERE id = ?1"), params![id], job_from_row)
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_moves_through_its_states_and_an_automatic_receipt_is_queued_once() {
        let dir = tempfile::tempdir().expect("dir");
        let ledger = Ledger::open(&dir.path().join("l.db")).expect("ledger");
        let first = ledger.add_print_job("receipt", Some("P1"), None).expect("add");
        assert!(first.is_some());
        assert_eq!(ledger.add_print_job("receipt", Some("P1"), None).expect("again"), None);
        let reprint = ledger.add_print_job("reprint", Some("P1"), Some("boss")).expect("reprint");
        assert!(reprint.is_some());

        let job = ledger.claim_print_job().expect("claim").expect("a job");
        assert_eq!((job.id, job.state.as_str(), job.attempts), (first.unwrap_or_default(), "printing", 1));
        // A slip on its way to the printer cannot be dismissed.
        assert!(!ledger.dismiss_print_job(job.id).expect("dismiss while printing"));
        ledger.finish_print_job(job.id, Some(("paper_out", "DLE EOT 4 = 0x72"))).expect("fail");
        let failed = ledger.print_job(job.id).expect("read").expect("there");
        assert_eq!((failed.state.as_str(), failed.error.as_deref()), ("failed", Some("paper_out")));
        assert!(ledger.retry_print_job(job.id).expect("retry"));
        assert!(!ledger.retry_print_job(job.id).expect("retry twice"));

        // The oldest pending first: the receipt again, then the reprint.
        let again = ledger.claim_print_job().expect("claim").expect("job");
        assert_eq!((again.id, again.attempts), (job.id, 2));
        ledger.finish_print_job(again.id, None).expect("printed");
        let next = ledger.claim_print_job().expect("claim").expect("job");
        assert_eq!(next.kind, "reprint");
        // A crash while printing: failed as interrupted at the next start.
        assert_eq!(ledger.interrupt_print_jobs("interrupted").expect("interrupt"), 1);
        let open = ledger.open_print_jobs().expect("open");
        assert_eq!(open.len(), 1);
        assert_eq!((open[0].state.as_str(), open[0].error.as_deref()), ("failed", Some("interrupted")));
        assert!(ledger.dismiss_print_job(open[0].id).expect("dismiss"));
        assert!(ledger.open_print_jobs().expect("open").is_empty());
        assert!(ledger.claim_print_job().expect("claim").is_none());
    }
}
