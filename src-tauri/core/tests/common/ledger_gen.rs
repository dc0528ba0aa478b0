//! A generated ledger with known contents, written straight into a real ledger file (after
//! `Ledger::open` made the schema) as the ledger itself would have written it: for report tests
//! and the report benchmark. Seeded, so the same seed gives the same ledger.

#![allow(dead_code)]

use rusqlite::{params, Connection};

pub const CHANNELS: [&str; 2] = ["abc", "lakala"];
pub const WALLETS: [&str; 4] = ["alipay", "wechat", "unionpay", "WECHAT"];
pub const CLERKS: [&str; 3] = ["王店长", "李收银", "赵收银"];
pub const TERMINALS: [&str; 2] = ["T01", "T02"];

#[derive(Debug, Clone)]
pub struct GenPayment {
    pub id: String,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    pub settled_at: Option<i64>,
    pub state: &'static str,
    pub amount: i64,
    pub channel: &'static str,
    pub wallet: &'static str,
    pub clerk: &'static str,
    pub terminal: &'static str,
}

#[derive(Debug, Clone)]
pub struct GenRefund {
    pub id: String,
    pub payment_id: String,
    pub amount: i64,
    pub state: &'static str,
    pub created_at: i64,
    pub settled_at: Option<i64>,
}

/// Payments every `step_ms` from `start_ms` for `count` payments, in every state (about 84 %
/// paid), paid up to 3 minutes after they start; about 6 % of paid ones get a refund settled up
/// to 2 days later (so refunds cross midnights and cut-offs), 90 % of them succeeded.
pub fn generate(
    seed: u64,
    start_ms: i64,
    step_ms: i64,
    count: usize,
    mut payment: impl FnMut(&GenPayment),
    mut refund: impl FnMut(&GenRefund),
) {
    let mut rng = fastrand::Rng::with_seed(seed);
    for i in 0..count {
        let created_at = start_ms + i as i64 * step_ms + rng.i64(0..step_ms.max(1));
        let state = match rng.u32(0..100) {
            0..=83 => "paid",
            84..=89 => "failed",
            90..=93 => "closed",
            94..=95 => "reversed",
            96..=97 => "unknown",
            _ => "pending",
        };
        let paid_at = (state == "paid").then(|| created_at + rng.i64(1_000..180_000));
        let settled_at = match state {
            "unknown" | "pending" => None,
            _ => Some(paid_at.unwrap_or(created_at) + rng.i64(0..2_000)),
        };
        let p = GenPayment {
            id: format!("G{seed:02}{i:09}"),
            created_at,
            paid_at,
            settled_at,
            state,
            amount: rng.i64(1..=200_000),
            channel: CHANNELS[rng.usize(0..CHANNELS.len())],
            wallet: WALLETS[rng.usize(0..WALLETS.len())],
            clerk: CLERKS[rng.usize(0..CLERKS.len())],
            terminal: TERMINALS[rng.usize(0..TERMINALS.len())],
        };
        payment(&p);
        if let (Some(paid_at), true) = (paid_at, rng.u32(0..100) < 6) {
            let created = paid_at + rng.i64(60_000..2 * 86_400_000);
            let succeeded = rng.u32(0..10) < 9;
            refund(&GenRefund {
                id: format!("R{}", p.id),
                payment_id: p.id.clone(),
                amount: rng.i64(1..=p.amount),
                state: if succeeded { "succeeded" } else { "failed" },
                created_at: created,
                settled_at: Some(created + rng.i64(100..5_000)),
            });
        }
    }
}

/// A busy counter's history, made in a new ledger file at `path`: `n` payments a day's
/// 1/1000th apart, ending a day ago, every state, ~5 % of sales refunded in part; unresolved ones
/// only in the last day (recovery resolves older ones). For the benchmarks.
pub fn build_history(path: &std::path::Path, n: usize) {
    const DAY_MS: i64 = 86_400_000;
    let now = paydesk_core::ledger::now_ms();
    drop(paydesk_core::ledger::Ledger::open(path).expect("schema"));
    let step = 86_400;
    let start = now - DAY_MS - n as i64 * step;
    let w = Writer::open(path);
    let cut = now - 2 * DAY_MS;
    generate(
        1,
        start,
        step,
        n,
        |p| {
            let mut p = p.clone();
            if p.settled_at.is_none() && p.created_at < cut {
                (p.state, p.settled_at) = ("failed", Some(p.created_at + 1));
            }
            w.payment(&p)
        },
        |r| w.refund(r),
    );
    w.commit();
}

/// Writes rows into an opened (schema made) ledger file in one transaction.
pub struct Writer {
    conn: Connection,
}

impl Writer {
    pub fn open(path: &std::path::Path) -> Writer {
        let conn = Connection::open(path).expect("ledger file");
        conn.pragma_update(None, "synchronous", "OFF").unwrap();
        conn.execute_batch("BEGIN").unwrap();
        Writer { conn }
    }

    pub fn payment(&self, p: &GenPayment) {
        self.conn
            .prepare_cached(
                "INSERT INTO payments (id, terminal, channel, flow, amount_fen, subject, merchant, wallet, state, \
                 created_at, updated_at, paid_at, settled_at, deadline_at, horizon_at, clerk) \
                 VALUES (?1, ?2, ?3, 'barcode', ?4, '', 'M', ?5, ?6, ?7, ?8, ?9, ?10, ?7, ?7, ?11)",
            )
            .unwrap()
            .execute(params![
                p.id,
                p.terminal,
                p.channel,
                p.amount,
                p.wallet,
                p.state,
                p.created_at,
                p.settled_at.unwrap_or(p.created_at),
                p.paid_at,
                p.settled_at,
                p.clerk
            ])
            .unwrap();
    }

    /// The payment's events as the ledger writes them: `created`, then its move to its state.
    pub fn events(&self, p: &GenPayment) {
        let mut insert = self
            .conn
            .prepare_cached(
                "INSERT INTO payment_events (payment_id, at, kind, from_state, to_state, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .unwrap();
        insert.execute(params![p.id, p.created_at, "created", None::<String>, "created", "{}"]).unwrap();
        if p.state != "created" {
            let at = p.settled_at.unwrap_or(p.created_at);
            insert.execute(params![p.id, at, "transition", "created", p.state, r#"{"note":"gen"}"#]).unwrap();
        }
    }

    pub fn refund(&self, r: &GenRefund) {
        self.conn
            .prepare_cached(
                "INSERT INTO refunds (id, payment_id, amount_fen, reason, state, created_at, updated_at, settled_at) \
                 VALUES (?1, ?2, ?3, 'gen', ?4, ?5, ?6, ?6)",
            )
            .unwrap()
            .execute(params![r.id, r.payment_id, r.amount, r.state, r.created_at, r.settled_at])
            .unwrap();
    }

    pub fn commit(self) {
        self.conn.execute_batch("COMMIT").unwrap();
    }
}
