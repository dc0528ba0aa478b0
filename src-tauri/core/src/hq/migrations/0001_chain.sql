-- The chain's copy of every till's ledger. Money is integer fen (bigint), times are ms since the
-- epoch (bigint, UTC) exactly as the tills record them. Every row carries its till; keys are the
-- till's own, so an upload repeated after a crash changes nothing.

CREATE TABLE paydesk.tills (
    till_id        text PRIMARY KEY,               -- store code / terminal code
    store          text NOT NULL,
    terminal       text NOT NULL,
    install_id     text NOT NULL UNIQUE,           -- made once with the till's ledger
    profile        text,                           -- demo or store, as the ledger says
    app_version    text,
    registered_at  timestamptz NOT NULL DEFAULT now(),
    -- Where this till's copy ends (moved in the same transaction as the rows).
    outbox_seq     bigint NOT NULL DEFAULT 0,
    event_seq      bigint NOT NULL DEFAULT 0,
    audit_seq      bigint NOT NULL DEFAULT 0,
    last_upload_at timestamptz,
    synced_to      bigint                          -- the till's clock: everything recorded by then is here
);

CREATE TABLE paydesk.payments (
    till_id          text NOT NULL REFERENCES paydesk.tills,
    id               text NOT NULL,
    version          bigint NOT NULL,               -- the till's outbox entry of this copy
    terminal         text NOT NULL,
    channel          text NOT NULL,
    flow             text NOT NULL,
    amount_fen       bigint NOT NULL CHECK (amount_fen > 0),
    subject          text NOT NULL,
    merchant         text NOT NULL,
    wallet           text,
    code_masked      text,
    state            text NOT NULL,
    late             bigint NOT NULL,
    alert_ack_at     bigint,
    abandoned_at     bigint,
    channel_trade_no text,
    failure_code     text,
    failure_message  text,
    clerk            text,
    charge_id        text,
    created_at       bigint NOT NULL,
    updated_at       bigint NOT NULL,
    paid_at          bigint,
    settled_at       bigint,
    PRIMARY KEY (till_id, id)
);
-- The day report reads only this index: sales at the channel's time of payment, as the tills'
-- own day reports count them.
CREATE INDEX payments_paid ON paydesk.payments (paid_at)
    INCLUDE (till_id, channel, wallet, amount_fen) WHERE state = 'paid';
CREATE INDEX payments_unresolved ON paydesk.payments (created_at)
    WHERE state IN ('created', 'pending', 'unknown', 'lapsed');
CREATE INDEX payments_created ON paydesk.payments (till_id, created_at);

CREATE TABLE paydesk.payment_events (
    till_id    text NOT NULL REFERENCES paydesk.tills,
    seq        bigint NOT NULL,
    payment_id text NOT NULL,
    at         bigint NOT NULL,
    kind       text NOT NULL,
    from_state text,
    to_state   text,
    detail     text NOT NULL,
    PRIMARY KEY (till_id, seq)
);
CREATE INDEX payment_events_payment ON paydesk.payment_events (till_id, payment_id);

CREATE TABLE paydesk.refunds (
    till_id           text NOT NULL REFERENCES paydesk.tills,
    id                text NOT NULL,
    version           bigint NOT NULL,
    payment_id        text NOT NULL,
    amount_fen        bigint NOT NULL CHECK (amount_fen > 0),
    reason            text NOT NULL,
    state             text NOT NULL,
    channel_refund_no text,
    failure_code      text,
    failure_message   text,
    approved_by       text,
    created_at        bigint NOT NULL,
    updated_at        bigint NOT NULL,
    settled_at        bigint,
    PRIMARY KEY (till_id, id)
);
CREATE INDEX refunds_settled ON paydesk.refunds (settled_at)
    INCLUDE (till_id, payment_id, amount_fen) WHERE state = 'succeeded';
CREATE INDEX refunds_unresolved ON paydesk.refunds (created_at) WHERE state IN ('created', 'pending', 'unknown');

CREATE TABLE paydesk.charges (
    till_id          text NOT NULL REFERENCES paydesk.tills,
    id               text NOT NULL,
    version          bigint NOT NULL,
    external_id      text,
    origin           text NOT NULL,
    terminal         text NOT NULL,
    amount_fen       bigint NOT NULL,
    subject          text NOT NULL,
    tender           text,
    channel          text,
    state            text NOT NULL,
    cancel_requested bigint NOT NULL,
    created_at       bigint NOT NULL,
    updated_at       bigint NOT NULL,
    PRIMARY KEY (till_id, id)
);

CREATE TABLE paydesk.shifts (
    till_id          text NOT NULL REFERENCES paydesk.tills,
    id               bigint NOT NULL,
    version          bigint NOT NULL,
    terminal         text NOT NULL,
    opened_by        text NOT NULL,
    opened_at        bigint NOT NULL,
    opening_cash_fen bigint,
    closed_by        text,
    closed_at        bigint,
    z_no             bigint,
    z_report         text,                          -- the Z as the till printed it (JSON)
    PRIMARY KEY (till_id, id)
);
CREATE INDEX shifts_closed ON paydesk.shifts (closed_at) WHERE closed_at IS NOT NULL;

CREATE TABLE paydesk.audit_log (
    till_id   text NOT NULL REFERENCES paydesk.tills,
    seq       bigint NOT NULL,
    at        bigint NOT NULL,
    user_name text,
    role      text,
    action    text NOT NULL,
    target    text,
    reason    text,
    detail    text NOT NULL,
    PRIMARY KEY (till_id, seq)
);
CREATE INDEX audit_log_at ON paydesk.audit_log (at);

-- What a till sent is its record: nothing deletes it, and an append-only row never changes.
CREATE FUNCTION paydesk.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'paydesk.%: % is refused (a till''s record is append-only)', TG_TABLE_NAME, TG_OP;
END $$;
CREATE TRIGGER payment_events_append_only BEFORE UPDATE OR DELETE ON paydesk.payment_events
    FOR EACH ROW EXECUTE FUNCTION paydesk.refuse_change();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON paydesk.audit_log
    FOR EACH ROW EXECUTE FUNCTION paydesk.refuse_change();
CREATE TRIGGER payments_kept BEFORE DELETE ON paydesk.payments
    FOR EACH ROW EXECUTE FUNCTION paydesk.refuse_change();
CREATE TRIGGER refunds_kept BEFORE DELETE ON paydesk.refunds
    FOR EACH ROW EXECUTE FUNCTION paydesk.refuse_change();
CREATE TRIGGER charges_kept BEFORE DELETE ON paydesk.charges
    FOR EACH ROW EXECUTE FUNCTION paydesk.refuse_change();
CREATE TRIGGER shifts_kept BEFORE DELETE ON paydesk.shifts
    FOR EACH ROW EXECUTE FUNCTION paydesk.refuse_change();

-- Roles a chain gives its logins (`CREATE ROLE till_sh001_t01 LOGIN PASSWORD '…' IN ROLE
-- paydesk_till`): tills add and move forward their own rows; report readers only read.
DO $$
BEGIN
    CREATE ROLE paydesk_till NOLOGIN;
EXCEPTION WHEN duplicate_object THEN NULL;
          WHEN insufficient_privilege THEN RAISE NOTICE 'no CREATEROLE: create paydesk_till yourself';
END $$;
DO $$
BEGIN
    CREATE ROLE paydesk_report NOLOGIN;
EXCEPTION WHEN duplicate_object THEN NULL;
          WHEN insufficient_privilege THEN RAISE NOTICE 'no CREATEROLE: create paydesk_report yourself';
END $$;
DO $$
BEGIN
    GRANT USAGE ON SCHEMA paydesk TO paydesk_till, paydesk_report;
    GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA paydesk TO paydesk_till;
    GRANT SELECT ON ALL TABLES IN SCHEMA paydesk TO paydesk_report;
EXCEPTION WHEN undefined_object THEN NULL;
END $$;
