//! Numbered migrations. `PRAGMA user_version` holds how many have run; each runs in its own
//! transaction. Never edit a released migration: add the next one.

use rusqlite::Connection;

/// One migration: an optional step in code (what SQL alone cannot say), then SQL.
pub struct Migration {
    pub before: Option<fn(&Connection) -> rusqlite::Result<()>>,
    pub sql: &'static str,
}

const fn sql(sql: &'static str) -> Migration {
    Migration { before: None, sql }
}

pub const MIGRATIONS: &[Migration] = &[
    // 1: payments, their append-only event log, and refunds.
    sql(r#"
CREATE TABLE payments (
    id               TEXT PRIMARY KEY,              -- merchant order number (out_trade_no)
    terminal         TEXT NOT NULL,
    channel          TEXT NOT NULL,
    flow             TEXT NOT NULL CHECK (flow IN ('barcode', 'qr')),
    amount_fen       INTEGER NOT NULL CHECK (amount_fen > 0),
    subject          TEXT NOT NULL,
    merchant         TEXT NOT NULL,                 -- the channel account the order was placed under
    wallet           TEXT,
    code_masked      TEXT,                          -- payment code, first 4 and last 4 digits only
    state            TEXT NOT NULL CHECK (state IN
                       ('created', 'pending', 'unknown', 'paid', 'failed', 'closed', 'reversed')),
    late             INTEGER NOT NULL DEFAULT 0,    -- paid after the clerk stopped waiting
    alert_ack_at     INTEGER,                       -- when a person acknowledged the late alert
    abandoned_at     INTEGER,                       -- when the clerk-facing wait ended unresolved
    acknowledged     INTEGER NOT NULL DEFAULT 0,    -- the channel has shown it knows the order
    lease_until      INTEGER NOT NULL DEFAULT 0,    -- a process drives it until then: recovery waits
    channel_trade_no TEXT,
    qr_payload       TEXT,
    failure_code     TEXT,
    failure_message  TEXT,
    created_at       INTEGER NOT NULL,              -- ms since the epoch, UTC
    updated_at       INTEGER NOT NULL,
    paid_at          INTEGER,
    deadline_at      INTEGER NOT NULL,              -- end of the clerk-facing wait
    horizon_at       INTEGER NOT NULL               -- after this, "not found" means "never there"
) STRICT;

CREATE INDEX payments_created ON payments (created_at);
CREATE INDEX payments_paid ON payments (paid_at, channel, amount_fen) WHERE state = 'paid';
CREATE INDEX payments_open ON payments (state) WHERE state IN ('created', 'pending', 'unknown');

CREATE TABLE payment_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id TEXT NOT NULL REFERENCES payments (id),
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,                       -- created, transition, note, refund
    from_state TEXT,
    to_state   TEXT,
    detail     TEXT NOT NULL                        -- JSON; secrets and payment codes masked
) STRICT;

CREATE INDEX payment_events_payment ON payment_events (payment_id, seq);

CREATE TRIGGER payment_events_no_update BEFORE UPDATE ON payment_events
BEGIN SELECT RAISE(ABORT, 'payment_events is append-only'); END;
CREATE TRIGGER payment_events_no_delete BEFORE DELETE ON payment_events
BEGIN SELECT RAISE(ABORT, 'payment_events is append-only'); END;
CREATE TRIGGER payments_no_delete BEFORE DELETE ON payments
BEGIN SELECT RAISE(ABORT, 'payments are never deleted'); END;

CREATE TABLE refunds (
    id                TEXT PRIMARY KEY,             -- our refund request number
    payment_id        TEXT NOT NULL REFERENCES payments (id),
    amount_fen        INTEGER NOT NULL CHECK (amount_fen > 0),
    reason            TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN
                        ('created', 'pending', 'unknown', 'succeeded', 'failed')),
    channel_refund_no TEXT,
    failure_code      TEXT,
    failure_message   TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;

CREATE INDEX refunds_payment ON refunds (payment_id);
CREATE INDEX refunds_done ON refunds (updated_at, amount_fen) WHERE state = 'succeeded';
"#),
    // 2: people, shifts and the audit log; who took each payment and approved each refund;
    // report indexes that cover every column the reports group by.
    sql(r#"
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('clerk', 'manager')),
    pin_hash      TEXT NOT NULL,                    -- argon2id PHC string, never the PIN
    failed_pins   INTEGER NOT NULL DEFAULT 0,       -- wrong PINs in a row
    locked_until  INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
) STRICT;
CREATE TRIGGER users_no_delete BEFORE DELETE ON users
BEGIN SELECT RAISE(ABORT, 'users are never deleted'); END;

-- A shift's money is what was paid between the previous Z and its own (see reports).
CREATE TABLE shifts (
    id               INTEGER PRIMARY KEY,
    terminal         TEXT NOT NULL,
    opened_by        TEXT NOT NULL,
    opened_at        INTEGER NOT NULL,
    opening_cash_fen INTEGER CHECK (opening_cash_fen >= 0),
    closed_by        TEXT,
    closed_at        INTEGER,
    z_no             INTEGER UNIQUE,
    z_report         TEXT,                          -- the Z as printed (JSON), never recomputed
    CHECK ((closed_at IS NULL) = (z_no IS NULL) AND (closed_at IS NULL) = (z_report IS NULL))
) STRICT;
CREATE UNIQUE INDEX shifts_one_open ON shifts (terminal) WHERE closed_at IS NULL;
CREATE INDEX shifts_closed ON shifts (terminal, closed_at);
CREATE TRIGGER shifts_closed_never_change BEFORE UPDATE ON shifts WHEN OLD.closed_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a closed shift never changes'); END;
CREATE TRIGGER shifts_no_delete BEFORE DELETE ON shifts
BEGIN SELECT RAISE(ABORT, 'shifts are never deleted'); END;

CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    user_name TEXT,
    role      TEXT,
    action    TEXT NOT NULL,
    target    TEXT,
    reason    TEXT,
    detail    TEXT NOT NULL                         -- JSON, no secrets
) STRICT;
CREATE INDEX audit_log_at ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

ALTER TABLE payments ADD COLUMN clerk TEXT;
ALTER TABLE refunds ADD COLUMN approved_by TEXT;
-- When the ledger recorded the final state, by its own clock and never inside a closed shift:
-- what a shift's Z counts (paid_at is the channel's time of payment, which can be earlier).
ALTER TABLE payments ADD COLUMN settled_at INTEGER;
ALTER TABLE refunds ADD COLUMN settled_at INTEGER;
UPDATE payments SET settled_at = updated_at WHERE state IN ('paid', 'failed', 'closed', 'reversed');
UPDATE refunds SET settled_at = updated_at WHERE state IN ('succeeded', 'failed');

DROP INDEX payments_paid;
CREATE INDEX payments_paid ON payments (paid_at, amount_fen, channel, wallet, clerk, terminal) WHERE state = 'paid';
CREATE INDEX payments_settled ON payments (settled_at, amount_fen, channel, wallet, clerk, terminal) WHERE state = 'paid';
DROP INDEX refunds_done;
CREATE INDEX refunds_done ON refunds (settled_at, amount_fen, payment_id) WHERE state = 'succeeded';
CREATE INDEX refunds_created ON refunds (created_at);
CREATE INDEX refunds_open ON refunds (created_at) WHERE state IN ('created', 'pending', 'unknown');
"#),
    // 3: charges (amounts pushed by the terminal API or made at a kiosk) and their attempts.
    sql(r#"
CREATE TABLE charges (
    id                TEXT PRIMARY KEY,
    external_id       TEXT UNIQUE,                  -- the ordering system's order id (NULL: kiosk)
    origin            TEXT NOT NULL CHECK (origin IN ('api', 'kiosk')),
    terminal          TEXT NOT NULL,
    amount_fen        INTEGER NOT NULL CHECK (amount_fen > 0),
    subject           TEXT NOT NULL,
    tender            TEXT CHECK (tender IN ('qr', 'code')),
    channel           TEXT,
    -- Kept by the triggers below from the attempts and the cancel flag, in the same transaction.
    state             TEXT NOT NULL DEFAULT 'open'
                        CHECK (state IN ('open', 'paying', 'paid', 'cancelling', 'cancelled')),
    cancel_requested  INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX charges_created ON charges (created_at);
CREATE INDEX charges_unfinished ON charges (created_at) WHERE state NOT IN ('paid', 'cancelled');

ALTER TABLE payments ADD COLUMN charge_id TEXT REFERENCES charges (id);
CREATE INDEX payments_charge ON payments (charge_id) WHERE charge_id IS NOT NULL;

-- A charge's state follows from its attempts: any paid is paid; an unfinished one is paying (or
-- cancelling); none unfinished is cancelled once a cancel was asked, else open for another try.
CREATE TRIGGER charges_follow_new_attempt AFTER INSERT ON payments WHEN NEW.charge_id IS NOT NULL
BEGIN
    UPDATE charges SET updated_at = NEW.created_at,
        state = CASE WHEN cancel_requested THEN 'cancelling' ELSE 'paying' END
    WHERE id = NEW.charge_id AND state <> 'paid';
END;
CREATE TRIGGER charges_follow_attempt AFTER UPDATE OF state ON payments
WHEN NEW.charge_id IS NOT NULL AND NEW.state <> OLD.state
BEGIN
    UPDATE charges SET updated_at = NEW.updated_at, state = CASE
        WHEN EXISTS (SELECT 1 FROM payments WHERE charge_id = NEW.charge_id AND state = 'paid') THEN 'paid'
        WHEN EXISTS (SELECT 1 FROM payments WHERE charge_id = NEW.charge_id
                     AND state IN ('created', 'pending', 'unknown'))
            THEN CASE WHEN cancel_requested THEN 'cancelling' ELSE 'paying' END
        WHEN cancel_requested THEN 'cancelled'
        ELSE 'open' END
    WHERE id = NEW.charge_id;
END;
CREATE TRIGGER charges_follow_cancel AFTER UPDATE OF cancel_requested ON charges
WHEN NEW.cancel_requested AND NOT OLD.cancel_requested
BEGIN
    UPDATE charges SET state = CASE
        WHEN NEW.state = 'paid' THEN 'paid'
        WHEN EXISTS (SELECT 1 FROM payments WHERE charge_id = NEW.id
                     AND state IN ('created', 'pending', 'unknown')) THEN 'cancelling'
        ELSE 'cancelled' END
    WHERE id = NEW.id;
END;
-- A finished charge stays finished: nothing reopens a paid or cancelled one, nothing deletes one.
CREATE TRIGGER charges_final BEFORE UPDATE OF state ON charges
WHEN OLD.state IN ('paid', 'cancelled') AND NEW.state <> OLD.state
BEGIN SELECT RAISE(ABORT, 'a finished charge cannot change'); END;
CREATE TRIGGER charges_no_delete BEFORE DELETE ON charges
BEGIN SELECT RAISE(ABORT, 'charges are never deleted'); END;
"#),
    // 4: a refund carries a lease like a payment (a process may be sending it right now: a
    // manager's decision waits), and the settle clock's MAX(closed_at) gets an index.
    sql(r#"
ALTER TABLE refunds ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
CREATE INDEX shifts_closed_at ON shifts (closed_at);
"#),
    // 5: the `lapsed` state (unpaid when its page lapsed by our clock, on a channel that cannot close:
    // watched with back-off until `watch_until`), and a cancelled charge whose attempt turns out paid
    // becomes paid (evidence that money moved wins).
    Migration {
        before: Some(allow_lapsed_state),
        sql: r#"
ALTER TABLE payments ADD COLUMN recheck_at INTEGER;         -- next query of a lapsed payment
ALTER TABLE payments ADD COLUMN recheck_every_ms INTEGER;   -- the back-off's current step
ALTER TABLE payments ADD COLUMN watch_until INTEGER;        -- no automatic query after this
CREATE INDEX payments_recheck ON payments (recheck_at) WHERE state = 'lapsed';

-- Payments an earlier version closed on its own clock (its note says the page lapsed) were never
-- closed by their channel: they are lapsed, queried again from now on for 25 h (the longest notify
-- window of the channels that lapse), so a customer who paid late is still found.
INSERT INTO payment_events (payment_id, at, kind, from_state, to_state, detail)
SELECT id, strftime('%s', 'now') * 1000, 'transition', 'closed', 'lapsed',
       '{"note":"closed on our own clock by an earlier version: lapsed, watched again"}'
  FROM payments
 WHERE state = 'closed' AND id IN (SELECT payment_id FROM payment_events
                                    WHERE kind = 'transition' AND to_state = 'closed'
                                      AND detail LIKE '%the page has lapsed%');
UPDATE payments SET state = 'lapsed', recheck_at = strftime('%s', 'now') * 1000, recheck_every_ms = 60000,
                    watch_until = strftime('%s', 'now') * 1000 + 90000000
 WHERE state = 'closed' AND id IN (SELECT payment_id FROM payment_events
                                    WHERE kind = 'transition' AND to_state = 'lapsed'
                                      AND detail LIKE '%closed on our own clock by an earlier version%');

DROP TRIGGER charges_final;
CREATE TRIGGER charges_final BEFORE UPDATE OF state ON charges
WHEN OLD.state IN ('paid', 'cancelled') AND NEW.state <> OLD.state
     AND NOT (OLD.state = 'cancelled' AND NEW.state = 'paid')
BEGIN SELECT RAISE(ABORT, 'a finished charge cannot change'); END;
"#,
    },
    // 6: whose ledger this is, a demo's or a store's, written once and never changed: the demo's
    // users (public PINs) and sandbox payments never enter a store's books, and a demo profile never
    // polls a store's open payments on the sandbox. An older ledger is read from what it holds:
    // the demo's users were added with the reason "demo"; anything else recorded is a store's.
    sql(r#"
CREATE TABLE ledger_profile (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    profile TEXT NOT NULL CHECK (profile IN ('demo', 'store')),
    at      INTEGER NOT NULL
) STRICT;
CREATE TRIGGER ledger_profile_no_update BEFORE UPDATE ON ledger_profile
BEGIN SELECT RAISE(ABORT, 'a ledger''s profile never changes'); END;
CREATE TRIGGER ledger_profile_no_delete BEFORE DELETE ON ledger_profile
BEGIN SELECT RAISE(ABORT, 'a ledger''s profile never changes'); END;

INSERT INTO ledger_profile (id, profile, at)
SELECT 1, CASE WHEN EXISTS (SELECT 1 FROM audit_log WHERE action = 'user_added' AND reason = 'demo')
               THEN 'demo' ELSE 'store' END,
       strftime('%s', 'now') * 1000
 WHERE EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM payments) OR EXISTS (SELECT 1 FROM charges)
    OR EXISTS (SELECT 1 FROM audit_log);
"#),
    // 7: a user can be disabled (never deleted: payments and the audit log name them).
    sql(r#"
ALTER TABLE users ADD COLUMN disabled_at INTEGER;
"#),
    // 8: reconciliation. A run (one channel, one business day, one statement) and what it found
    // are written once, like a Z report; a manager's resolution of a difference is written once
    // beside it. The statement file itself is kept under `statements/` beside the ledger; the run
    // holds its name and SHA-256.
    sql(r#"
CREATE TABLE recon_runs (
    id                  INTEGER PRIMARY KEY,
    channel             TEXT NOT NULL,
    day                 TEXT NOT NULL,                  -- the channel's business day, YYYY-MM-DD
    source              TEXT NOT NULL CHECK (source IN ('download', 'import', 'query_sweep')),
    format              TEXT,                           -- alipay, wechat, csv (none: a query sweep)
    file_name           TEXT,                           -- under statements/ beside the ledger
    file_sha256         TEXT,
    rows                INTEGER NOT NULL CHECK (rows >= 0),
    other_tills_rows    INTEGER NOT NULL,               -- rows of orders other tills made (same account)
    matched             INTEGER NOT NULL,
    matched_fen         INTEGER NOT NULL,
    refunds_matched     INTEGER NOT NULL,
    refunds_matched_fen INTEGER NOT NULL,
    fee_fen             INTEGER NOT NULL,
    differences         INTEGER NOT NULL,               -- all kinds, awaiting ones included
    run_by              TEXT NOT NULL,                  -- a user, or `schedule`, `cli`, `chaos`
    at                  INTEGER NOT NULL
) STRICT;
CREATE INDEX recon_runs_day ON recon_runs (day, channel);
CREATE TABLE recon_differences (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES recon_runs (id),
    kind        TEXT NOT NULL,
    order_no    TEXT NOT NULL,
    refund_no   TEXT,
    trade_no    TEXT,
    ledger_fen  INTEGER,
    channel_fen INTEGER,
    channel_at  INTEGER,                                -- the statement's time of the row, if any
    waiting     INTEGER NOT NULL CHECK (waiting IN (0, 1))  -- awaits the next statement: not yet a difference
) STRICT;
CREATE INDEX recon_differences_run ON recon_differences (run_id);
CREATE INDEX recon_differences_order ON recon_differences (order_no);
CREATE TABLE recon_resolutions (
    difference_id INTEGER PRIMARY KEY REFERENCES recon_differences (id),
    action        TEXT NOT NULL CHECK (action IN ('marked_paid', 'refund_recorded', 'follow_up')),
    reason        TEXT NOT NULL,
    user_name     TEXT NOT NULL,
    at            INTEGER NOT NULL
) STRICT;
CREATE TRIGGER recon_runs_no_update BEFORE UPDATE ON recon_runs
BEGIN SELECT RAISE(ABORT, 'a reconciliation run never changes'); END;
CREATE TRIGGER recon_runs_no_delete BEFORE DELETE ON recon_runs
BEGIN SELECT RAISE(ABORT, 'a reconciliation run never changes'); END;
CREATE TRIGGER recon_differences_no_update BEFORE UPDATE ON recon_differences
BEGIN SELECT RAISE(ABORT, 'a reconciliation run never changes'); END;
CREATE TRIGGER recon_differences_no_delete BEFORE DELETE ON recon_differences
BEGIN SELECT RAISE(ABORT, 'a reconciliation run never changes'); END;
CREATE TRIGGER recon_resolutions_no_update BEFORE UPDATE ON recon_resolutions
BEGIN SELECT RAISE(ABORT, 'a resolution never changes'); END;
CREATE TRIGGER recon_resolutions_no_delete BEFORE DELETE ON recon_resolutions
BEGIN SELECT RAISE(ABORT, 'a resolution never changes'); END;
"#),
    // 9: chains. Which till these books are (a random install id, made once with the ledger and
    // never changed: a copied config with a fresh ledger is told apart from the till it came
    // from), and the outbox: every write of a row the chain's server mirrors appends its key here
    // in the same transaction, so the uploader finds what changed without touching the payment
    // path. Append-only tables (payment_events, audit_log) need no outbox: their seq is the cursor.
    // Rows a till held before this migration are queued once, so its whole history is sent.
    sql(r#"
CREATE TABLE till_identity (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    install_id TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
INSERT INTO till_identity (id, install_id, created_at)
VALUES (1, lower(hex(randomblob(16))), strftime('%s', 'now') * 1000);
CREATE TRIGGER till_identity_no_update BEFORE UPDATE ON till_identity
BEGIN SELECT RAISE(ABORT, 'a till''s identity never changes'); END;
CREATE TRIGGER till_identity_no_delete BEFORE DELETE ON till_identity
BEGIN SELECT RAISE(ABORT, 'a till''s identity never changes'); END;

CREATE TABLE sync_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tbl TEXT NOT NULL CHECK (tbl IN ('payments', 'refunds', 'charges', 'shifts')),
    key TEXT NOT NULL
) STRICT;
INSERT INTO sync_outbox (tbl, key) SELECT 'shifts', CAST(id AS TEXT) FROM shifts ORDER BY id;
INSERT INTO sync_outbox (tbl, key) SELECT 'charges', id FROM charges ORDER BY created_at, id;
INSERT INTO sync_outbox (tbl, key) SELECT 'payments', id FROM payments ORDER BY created_at, id;
INSERT INTO sync_outbox (tbl, key) SELECT 'refunds', id FROM refunds ORDER BY created_at, id;
-- Only the columns the server holds: leases and re-check times change often and stay local.
CREATE TRIGGER payments_to_outbox AFTER INSERT ON payments
BEGIN INSERT INTO sync_outbox (tbl, key) VALUES ('payments', NEW.id); END;
CREATE TRIGGER payments_change_to_outbox AFTER UPDATE OF state, abandoned_at, alert_ack_at ON payments
BEGIN INSERT INTO sync_outbox (tbl, key) VALUES ('payments', NEW.id); END;
CREATE TRIGGER refunds_to_outbox AFTER INSERT ON refunds
BEGIN INSERT INTO sync_outbox (tbl, key) VALUES ('refunds', NEW.id); END;
CREATE TRIGGER refunds_change_to_outbox AFTER UPDATE OF state ON refunds
BEGIN INSERT INTO sync_outbox (tbl, key) VALUES ('refunds', NEW.id); END;
CREATE TRIGGER charges_to_outbox AFTER INSERT ON charges
BEGIN INSERT INTO sync_outbox (tbl, key) VALUES ('charges', NEW.id); END;
CREATE TRIGGER charges_change_to_outbox AFTER UPDATE ON charges
BEGIN INSERT INTO sync_outbox (tbl, key) VALUES ('charges', NEW.id); END;
CREATE TRIGGER shifts_to_outbox AFTER INSERT ON shifts
BEGIN INSERT INTO sync_outbox (tbl, key) VALUES ('shifts', CAST(NEW.id AS TEXT)); END;
CREATE TRIGGER shifts_change_to_outbox AFTER UPDATE ON shifts
BEGIN INSERT INTO sync_outbox (tbl, key) VALUES ('shifts', CAST(NEW.id AS TEXT)); END;
"#),
    // 10: print jobs. A slip waiting for the printer, being printed, printed, failed (with the
    // failure's code, shown in the reader's language) or dismissed by a person. The slip itself is
    // made from the books when it prints: a job holds only what to print. Not mirrored to the
    // chain: a till's printer is its own business.
    sql(r#"
CREATE TABLE print_jobs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('receipt', 'reprint', 'refund', 'x', 'z', 'test', 'drawer')),
    target      TEXT,                           -- the payment, refund or shift it prints
    state       TEXT NOT NULL CHECK (state IN ('pending', 'printing', 'printed', 'failed', 'dismissed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT,                           -- the last failure's code (print::PrintError::code)
    detail      TEXT,                           -- what the transport said, for support
    by_user     TEXT,                           -- who asked for it (none for an automatic receipt)
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX print_jobs_open ON print_jobs (state, id) WHERE state IN ('pending', 'printing', 'failed');
CREATE UNIQUE INDEX print_jobs_one_receipt ON print_jobs (target) WHERE kind = 'receipt';
"#),
];

/// The states CHECK of `payments` gains `lapsed`. SQLite cannot alter a CHECK; widening one (no
/// row can break it) is the documented case for editing the schema text in place
/// (sqlite.org/lang_altertable.html, "making other kinds of table schema changes"), inside this
/// migration's transaction, with the schema version bumped so every connection re-reads it.
fn allow_lapsed_state(conn: &Connection) -> rusqlite::Result<()> {
    const OLD: &str = "('created', 'pending', 'unknown', 'paid', 'failed', 'closed', 'reversed')";
    const NEW: &str = "('created', 'pending', 'unknown', 'lapsed', 'paid', 'failed', 'closed', 'reversed')";
    let table: String =
        conn.query_row("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'payments'", [], |r| r.get(0))?;
    if table.matches(OLD).count() != 1 {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some("payments: the states CHECK is not the one migration 5 expects".into()),
        ));
    }
    let version: i64 = conn.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
    conn.pragma_update(None, "writable_schema", true)?;
    let edited = conn.execute(
        "UPDATE sqlite_master SET sql = ?1 WHERE type = 'table' AND name = 'payments'",
        [table.replace(OLD, NEW)],
    );
    let bumped = conn.pragma_update(None, "schema_version", version + 1);
    conn.pragma_update(None, "writable_schema", false)?;
    edited?;
    bumped
}
