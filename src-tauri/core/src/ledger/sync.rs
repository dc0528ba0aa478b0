//! What a till sends to its chain's server, read from the ledger without touching the payment
//! path: its own SQLite connection (WAL readers never wait for the writer), rows found through
//! the outbox (migration 9) and the append-only tables' own sequence numbers.
//!
//! This module reads rows and their cursors, and writes only the outbox (`prune`,
//! `requeue_all`); it never talks to the server (`hq` does).

use super::{now_ms, LedgerError};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::Path;
use std::time::Duration;

/// How a column travels: SQLite's INTEGER or TEXT, the server's `bigint` or `text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Text,
}

/// A table the chain's server mirrors: the same name and columns on both sides.
#[derive(Debug)]
pub struct MirroredTable {
    pub name: &'static str,
    /// The local key: `id` (a row that changes, found through the outbox) or `seq` (an
    /// append-only row, found by its own sequence number).
    pub key: &'static str,
    pub columns: &'static [(&'static str, Kind)],
}

impl MirroredTable {
    /// Rows change after they are written: found through the outbox, versioned on the server.
    pub fn changes(&self) -> bool {
        self.key == "id"
    }

    pub fn column_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns.iter().map(|(c, _)| *c)
    }
}

use Kind::{Int, Text};

pub const PAYMENTS: MirroredTable = MirroredTable {
    name: "payments",
    key: "id",
    columns: &[
        ("id", Text),
        ("terminal", Text),
        ("channel", Text),
        ("flow", Text),
        ("amount_fen", Int),
        ("subject", Text),
        ("merchant", Text),
        ("wallet", Text),
        ("code_masked", Text),
        ("state", Text),
        ("late", Int),
        ("alert_ack_at", Int),
        ("abandoned_at", Int),
        ("channel_trade_no", Text),
        ("failure_code", Text),
        ("failure_message", Text),
        ("clerk", Text),
        ("charge_id", Text),
        ("created_at", Int),
        ("updated_at", Int),
        ("paid_at", Int),
        ("settled_at", Int),
    ],
};

pub const REFUNDS: MirroredTable = MirroredTable {
    name: "refunds",
    key: "id",
    columns: &[
        ("id", Text),
        ("payment_id", Text),
        ("amount_fen", Int),
        ("reason", Text),
        ("state", Text),
        ("channel_refund_no", Text),
        ("failure_code", Text),
        ("failure_message", Text),
        ("approved_by", Text),
        ("created_at", Int),
        ("updated_at", Int),
        ("settled_at", Int),
    ],
};

pub const CHARGES: MirroredTable = MirroredTable {
    name: "charges",
    key: "id",
    columns: &[
        ("id", Text),
        ("external_id", Text),
        ("origin", Text),
        ("terminal", Text),
        ("amount_fen", Int),
        ("subject", Text),
        ("tender", Text),
        ("channel", Text),
        ("state", Text),
        ("cancel_requested", Int),
        ("created_at", Int),
        ("updated_at", Int),
    ],
};

pub const SHIFTS: MirroredTable = MirroredTable {
    name: "shifts",
    key: "id",
    columns: &[
        ("id", Int),
        ("terminal", Text),
        ("opened_by", Text),
        ("opened_at", Int),
        ("opening_cash_fen", Int),
        ("closed_by", Text),
        ("closed_at", Int),
        ("z_no", Int),
        ("z_report", Text),
    ],
};

pub const PAYMENT_EVENTS: MirroredTable = MirroredTable {
    name: "payment_events",
    key: "seq",
    columns: &[
        ("seq", Int),
        ("payment_id", Text),
        ("at", Int),
        ("kind", Text),
        ("from_state", Text),
        ("to_state", Text),
        ("detail", Text),
    ],
};

pub const AUDIT_LOG: MirroredTable = MirroredTable {
    name: "audit_log",
    key: "seq",
    columns: &[
        ("seq", Int),
        ("at", Int),
        ("user_name", Text),
        ("role", Text),
        ("action", Text),
        ("target", Text),
        ("reason", Text),
        ("detail", Text),
    ],
};

/// Every mirrored table, in the order a batch is applied. Users are not mirrored: their PIN
/// hashes stay on the till.
pub const MIRRORED: [&MirroredTable; 6] = [&SHIFTS, &CHARGES, &PAYMENTS, &REFUNDS, &PAYMENT_EVENTS, &AUDIT_LOG];

/// One column's value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

/// One row, its values in the table's column order.
pub type Row = Vec<Value>;

/// Where the server's copy of a till ends: the last outbox entry, payment event and audit entry
/// it holds. The server keeps these in the same transaction as the rows, so a batch is applied
/// whole or not at all, and a restarted till asks the server where to go on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCursor {
    pub outbox: i64,
    pub events: i64,
    pub audit: i64,
}

/// Rows of one table in a batch; a changing row carries its version (the outbox entry of its
/// newest change read): the server keeps the highest.
#[derive(Debug, Default)]
pub struct TableRows {
    pub rows: Vec<Row>,
    pub versions: Vec<i64>,
}

#[derive(Debug)]
pub struct SyncBatch {
    /// In [`MIRRORED`] order.
    pub tables: Vec<TableRows>,
    /// The cursor once this batch is on the server.
    pub next: SyncCursor,
    /// When the batch was read: with nothing left after it, the server then holds everything the
    /// ledger had recorded by this moment.
    pub read_at: i64,
    /// More is waiting after this batch.
    pub more: bool,
}

impl SyncBatch {
    pub fn is_empty(&self) -> bool {
        self.tables.iter().all(|t| t.rows.is_empty())
    }

    pub fn row_count(&self) -> usize {
        self.tables.iter().map(|t| t.rows.len()).sum()
    }
}

/// What a till has waiting for the server after a cursor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    pub outbox: i64,
    pub events: i64,
    pub audit: i64,
}

impl Backlog {
    pub fn total(&self) -> i64 {
        self.outbox + self.events + self.audit
    }
}

/// The uploader's own connection to the ledger file.
pub struct OutboxReader {
    conn: Connection,
}

impl OutboxReader {
    pub fn open(path: &Path) -> Result<OutboxReader, LedgerError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version < 9 {
            return Err(LedgerError::Sqlite(format!("the ledger's schema is {version}; open it with paydesk first")));
        }
        Ok(OutboxReader { conn })
    }

    /// This till's install id (migration 9): made with the ledger, copied only with it.
    pub fn install_id(&self) -> Result<String, LedgerError> {
        Ok(self.conn.query_row("SELECT install_id FROM till_identity WHERE id = 1", [], |r| r.get(0))?)
    }

    /// The ledger's profile (`demo` or `store`), if settled.
    pub fn profile(&self) -> Result<Option<String>, LedgerError> {
        Ok(self.conn.query_row("SELECT profile FROM ledger_profile WHERE id = 1", [], |r| r.get(0)).optional()?)
    }

    /// The next batch after `from`: up to `limit` outbox entries (each key once, with its row as
    /// it is now), `limit` payment events and `limit` audit entries, read in one transaction.
    pub fn read_batch(&mut self, from: SyncCursor, limit: usize) -> Result<SyncBatch, LedgerError> {
        let limit = limit.max(1) as i64;
        let tx = self.conn.transaction()?;
        let read_at = now_ms();
        let mut next = from;
        let mut more = false;
        let mut tables = Vec::with_capacity(MIRRORED.len());

        // The outbox window: its keys, each with the newest entry in the window as its version.
        let mut keys: Vec<(String, String, i64)> = Vec::new();
        {
            let mut stmt =
                tx.prepare_cached("SELECT seq, tbl, key FROM sync_outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
            let rows = stmt.query_map(rusqlite::params![from.outbox, limit + 1], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })?;
            let mut seen = std::collections::HashMap::<(String, String), usize>::new();
            for (i, row) in rows.enumerate() {
                let (seq, tbl, key) = row?;
                if i as i64 == limit {
                    more = true;
                    break;
                }
                next.outbox = seq;
                match seen.get(&(tbl.clone(), key.clone())) {
                    Some(&at) => keys[at].2 = seq,
                    None => {
                        seen.insert((tbl.clone(), key.clone()), keys.len());
                        keys.push((tbl, key, seq));
                    }
                }
            }
        }

        for table in MIRRORED {
            let mut out = TableRows::default();
            if table.changes() {
                let select = format!(
                    "SELECT {} FROM {} WHERE {} = ?1",
                    table.column_names().collect::<Vec<_>>().join(", "),
                    table.name,
                    table.key
                );
                let mut stmt = tx.prepare_cached(&select)?;
                for (_, key, version) in keys.iter().filter(|(t, _, _)| t == table.name) {
                    let found = match table.columns[0].1 {
                        Int => match key.parse::<i64>() {
                            Ok(id) => stmt.query_row([id], |r| read_row(table, r)).optional()?,
                            Err(_) => None,
                        },
                        Text => stmt.query_row([key], |r| read_row(table, r)).optional()?,
                    };
                    // Rows are never deleted (triggers refuse it): an outbox key always has its row.
                    let row = found.ok_or_else(|| {
                        LedgerError::Corrupt(format!("the outbox names {} {key}, which is not there", table.name))
                    })?;
                    out.rows.push(row);
                    out.versions.push(*version);
                }
            } else {
                let after = if table.name == PAYMENT_EVENTS.name { from.events } else { from.audit };
                let select = format!(
                    "SELECT {} FROM {} WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                    table.column_names().collect::<Vec<_>>().join(", "),
                    table.name
                );
                let mut stmt = tx.prepare_cached(&select)?;
                let rows = stmt.query_map(rusqlite::params![after, limit + 1], |r| read_row(table, r))?;
                for row in rows {
                    let row = row?;
                    if out.rows.len() as i64 == limit {
                        more = true;
                        break;
                    }
                    let Value::Int(seq) = row[0] else {
                        return Err(LedgerError::Corrupt(format!("{}: a seq that is not a number", table.name)));
                    };
                    if table.name == PAYMENT_EVENTS.name {
                        next.events = seq;
                    } else {
                        next.audit = seq;
                    }
                    out.rows.push(row);
                }
            }
            tables.push(out);
        }
        tx.commit()?;
        Ok(SyncBatch { tables, next, read_at, more })
    }

    /// How much is waiting after `from`.
    pub fn backlog(&self, from: SyncCursor) -> Result<Backlog, LedgerError> {
        let count = |sql: &str, after: i64| -> Result<i64, LedgerError> {
            Ok(self.conn.query_row(sql, [after], |r| r.get(0))?)
        };
        Ok(Backlog {
            outbox: count("SELECT count(*) FROM sync_outbox WHERE seq > ?1", from.outbox)?,
            events: count("SELECT count(*) FROM payment_events WHERE seq > ?1", from.events)?,
            audit: count("SELECT count(*) FROM audit_log WHERE seq > ?1", from.audit)?,
        })
    }

    /// Where the ledger ends: its newest outbox entry (pruned or not), event and audit entry.
    pub fn end(&self) -> Result<SyncCursor, LedgerError> {
        let max = |sql: &str| -> Result<i64, LedgerError> {
            Ok(self.conn.query_row(sql, [], |r| r.get::<_, Option<i64>>(0)).optional()?.flatten().unwrap_or(0))
        };
        Ok(SyncCursor {
            outbox: max("SELECT seq FROM sqlite_sequence WHERE name = 'sync_outbox'")?,
            events: max("SELECT max(seq) FROM payment_events")?,
            audit: max("SELECT max(seq) FROM audit_log")?,
        })
    }

    /// The outbox entries up to this one were pruned (the server held them then).
    pub fn pruned_to(&self) -> Result<i64, LedgerError> {
        let first: Option<i64> = self.conn.query_row("SELECT min(seq) FROM sync_outbox", [], |r| r.get(0))?;
        match first {
            Some(seq) => Ok(seq - 1),
            None => Ok(self.end()?.outbox),
        }
    }

    /// Queues every mirrored row again: for a server that lacks rows this till already pruned
    /// (a new server, or one restored from a backup). The new entries carry higher versions, so
    /// the server takes them over what it may hold.
    pub fn requeue_all(&mut self) -> Result<usize, LedgerError> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        for (table, key) in [("shifts", "CAST(id AS TEXT)"), ("charges", "id"), ("payments", "id"), ("refunds", "id")] {
            n += tx.execute(
                &format!("INSERT INTO sync_outbox (tbl, key) SELECT '{table}', {key} FROM {table} ORDER BY rowid"),
                [],
            )?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// Forgets outbox entries the server holds (its cursor), a short write off the payment path.
    pub fn prune(&self, upto: i64) -> Result<usize, LedgerError> {
        Ok(self.conn.execute("DELETE FROM sync_outbox WHERE seq <= ?1", [upto])?)
    }

    /// The append-only row numbered `seq` (an event or an audit entry), if the ledger has it.
    pub fn row_at(&self, table: &MirroredTable, seq: i64) -> Result<Option<Row>, LedgerError> {
        let select = format!(
            "SELECT {} FROM {} WHERE seq = ?1",
            table.column_names().collect::<Vec<_>>().join(", "),
            table.name
        );
        Ok(self.conn.query_row(&select, [seq], |r| read_row(table, r)).optional()?)
    }

    /// Every row of `table`, keyed by its first column: what the server's copy is compared with.
    pub fn all_rows(&self, table: &MirroredTable) -> Result<Vec<Row>, LedgerError> {
        let select = format!(
            "SELECT {} FROM {} ORDER BY {}",
            table.column_names().collect::<Vec<_>>().join(", "),
            table.name,
            table.key
        );
        let mut stmt = self.conn.prepare(&select)?;
        let rows = stmt.query_map([], |r| read_row(table, r))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

fn read_row(table: &MirroredTable, r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| {
            Ok(match kind {
                Int => r.get::<_, Option<i64>>(i)?.map_or(Value::Null, Value::Int),
                Text => r.get::<_, Option<String>>(i)?.map_or(Value::Null, Value::Text),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::test_support::{new_payment, temp_ledger};
    use crate::ledger::{Change, State};

    fn reader(l: &crate::ledger::Ledger) -> OutboxReader {
        OutboxReader::open(l.path()).unwrap()
    }

    #[test]
    fn a_payment_and_its_changes_reach_the_outbox_once_per_batch() {
        let (_d, l) = temp_ledger();
        l.insert_payment(&new_payment("T01A")).unwrap();
        l.transition("T01A", State::Pending, &Change::default()).unwrap();
        let mut r = reader(&l);
        let b = r.read_batch(SyncCursor::default(), 100).unwrap();
        let payments = &b.tables[2];
        assert_eq!(payments.rows.len(), 1, "two outbox entries, one row");
        assert_eq!(payments.rows[0][9], Value::Text("pending".into()), "the row as it is now");
        assert_eq!(b.tables[4].rows.len(), 2, "both events");
        assert!(!b.more);
        let after = r.read_batch(b.next, 100).unwrap();
        assert!(after.is_empty(), "nothing after the cursor");

        // A lease renewal is not a change the server mirrors; a transition is.
        l.renew_lease("T01A", now_ms() + 60_000).unwrap();
        assert!(r.read_batch(b.next, 100).unwrap().is_empty(), "a lease is not mirrored");
        l.transition("T01A", State::Paid, &Change::default()).unwrap();
        let b2 = r.read_batch(b.next, 100).unwrap();
        assert_eq!(b2.tables[2].rows.len(), 1);
        assert!(b2.tables[2].versions[0] > payments.versions[0], "a newer version");
        assert_eq!(r.backlog(b.next).unwrap().total(), 2, "one outbox entry, one event");
    }

    #[test]
    fn a_batch_stops_at_its_limit_and_says_more_is_waiting() {
        let (_d, l) = temp_ledger();
        for i in 0..5 {
            l.insert_payment(&new_payment(&format!("T01B{i}"))).unwrap();
        }
        let mut r = reader(&l);
        let mut cursor = SyncCursor::default();
        let mut seen = Vec::new();
        loop {
            let b = r.read_batch(cursor, 2).unwrap();
            seen.extend(b.tables[2].rows.iter().map(|row| row[0].clone()));
            cursor = b.next;
            if !b.more {
                break;
            }
        }
        assert_eq!(seen.len(), 5, "{seen:?}");
        r.prune(cursor.outbox).unwrap();
        assert_eq!(r.backlog(cursor).unwrap().total(), 0);
    }

    #[test]
    fn the_install_id_is_made_once_and_never_changes() {
        let (_d, l) = temp_ledger();
        let r = reader(&l);
        let id = r.install_id().unwrap();
        assert_eq!(id.len(), 32);
        assert!(r.conn.execute("UPDATE till_identity SET install_id = 'x'", []).is_err());
        assert!(r.conn.execute("DELETE FROM till_identity", []).is_err());
        let (_d2, other) = temp_ledger();
        assert_ne!(reader(&other).install_id().unwrap(), id, "another ledger, another till");
    }
}
