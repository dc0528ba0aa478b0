//! Numbered migrations. `PRAGMA user_version` holds how many have run; each runs in its own
//! transaction. Never edit a released migration: add the next one.

pub const MIGRATIONS: &[&str] = &[
    // 1: payments, their append-only event log, and refunds.
    r#"
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
"#,
];
