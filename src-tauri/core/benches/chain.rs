//! The chain's server, measured against a real PostgreSQL (Debian's, started on loopback with
//! TLS like a chain's: `paydesk_sandbox::postgres`).
//!
//! `cargo bench -p paydesk-core --bench chain [-- catchup|lag|report] [N]`
//! - `catchup [100000]`: a till catching up on N payments (with their events, refunds, audit
//!   entries): upload throughput, three runs into fresh databases.
//! - `lag [200]`: steady state, the default `interval_ms`: a payment every 0.1–1.1 s (random), the
//!   time from its commit in the ledger to its row on the server.
//! - `report [10000000]`: a chain of 200 tills, N payments over a year (made on the server by
//!   SQL); the chain's day report by store, till, channel, wallet; a 31-day range by day.

#[path = "../tests/common/ledger_gen.rs"]
mod ledger_gen;
#[path = "support.rs"]
mod support;

use chrono::NaiveDate;
use paydesk_core::config::{SyncConfig, SyncTls};
use paydesk_core::hq::report::{self, By};
use paydesk_core::hq::upload::Uploader;
use paydesk_core::hq::{schema, Server};
use paydesk_core::ledger::{Change, Flow, Ledger, NewPayment, State};
use paydesk_core::money::Fen;
use paydesk_sandbox::postgres::{Postgres, OWNER};
use std::path::Path;
use std::time::{Duration, Instant};

const DAY0: i64 = 1_767_196_800_000; // 2026-01-01 00:00 +08:00

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let which = args.first().map(String::as_str).unwrap_or("all");
    let n: Option<usize> = args.get(1).and_then(|a| a.parse().ok());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let pg = Postgres::start().expect("PostgreSQL (apt-get install postgresql)");
    let dir = tempfile::tempdir().expect("temp dir");
    pg.write_password_file(&dir.path().join("owner.pass"), pg.owner_password()).expect("password file");
    rt.block_on(async {
        if matches!(which, "all" | "catchup") {
            catchup(&pg, dir.path(), n.unwrap_or(100_000)).await;
        }
        if matches!(which, "all" | "lag") {
            lag(&pg, dir.path(), n.unwrap_or(200)).await;
        }
        if matches!(which, "all" | "report") {
            chain_report(&pg, dir.path(), n.unwrap_or(10_000_000)).await;
        }
    });
}

fn owner(pg: &Postgres, dir: &Path, db: &str) -> Server {
    Server {
        url: pg.url(OWNER, db),
        password_file: Some(dir.join("owner.pass")),
        tls: SyncTls::Verify,
        ca_file: Some(pg.ca_file()),
    }
}

async fn fresh_db(pg: &Postgres, dir: &Path, db: &str) -> Server {
    pg.create_database(db).expect("database");
    let server = owner(pg, dir, db);
    schema::migrate(&mut server.connect().await.expect("connect")).await.expect("migrate");
    server
}

fn till_config(pg: &Postgres, dir: &Path, db: &str, ledger_dir: &Path) -> paydesk_core::config::Config {
    let mut config = support::demo_config(1, ledger_dir);
    config.sync = Some(SyncConfig {
        url: pg.url(OWNER, db),
        store: "SH001".into(),
        password_file: Some(dir.join("owner.pass")),
        tls: SyncTls::Verify,
        ca_file: Some(pg.ca_file()),
        interval_ms: 1000,
        batch: 2000,
        chain_reports: false,
    });
    config
}

async fn catchup(pg: &Postgres, dir: &Path, n: usize) {
    let till = tempfile::tempdir().expect("till dir");
    let ledger = till.path().join("ledger.db");
    drop(Ledger::open(&ledger).expect("schema"));
    let w = ledger_gen::Writer::open(&ledger);
    ledger_gen::generate(
        11,
        DAY0,
        300_000,
        n,
        |p| {
            w.payment(p);
            w.events(p);
        },
        |r| w.refund(r),
    );
    w.commit();
    let mut times = Vec::new();
    let mut rows = 0;
    for run in 0..3 {
        let db = format!("catchup{run}");
        fresh_db(pg, dir, &db).await;
        let config = till_config(pg, dir, &db, till.path());
        let up = Uploader::from_config(&config, &ledger).expect("sync configured");
        let t = Instant::now();
        up.push_until_caught_up().await.expect("pushed");
        times.push(t.elapsed());
        rows = up.status().lock().expect("status").sent_rows;
        let client = owner(pg, dir, &db).connect().await.expect("connect");
        let on_server: i64 = client
            .query_one(
                "SELECT (SELECT count(*) FROM paydesk.payments) + (SELECT count(*) FROM paydesk.payment_events) \
                 + (SELECT count(*) FROM paydesk.refunds) + (SELECT count(*) FROM paydesk.audit_log)",
                &[],
            )
            .await
            .expect("count")
            .get(0);
        assert_eq!(on_server as u64, rows, "every row sent once");
        let reader = paydesk_core::ledger::sync::OutboxReader::open(&ledger).expect("reader");
        for t in paydesk_core::hq::upload::compare(
            &client,
            &config.sync.as_ref().expect("sync").till_id(&config.terminal.code),
            &reader,
        )
        .await
        .expect("compare")
        {
            assert!(t.equal(), "{} differs: {} local, {} on the server", t.table, t.local, t.server);
        }
    }
    times.sort();
    let median = times[1];
    println!(
        "catch-up of {n} payments ({rows} rows: payments, events, refunds): median {:.2} s of {:?} → {:.0} payments/s, {:.0} rows/s",
        median.as_secs_f64(),
        times.iter().map(|t| format!("{:.2}", t.as_secs_f64())).collect::<Vec<_>>(),
        n as f64 / median.as_secs_f64(),
        rows as f64 / median.as_secs_f64()
    );
}

async fn lag(pg: &Postgres, dir: &Path, n: usize) {
    let db = "lag";
    let server = fresh_db(pg, dir, db).await;
    let till = tempfile::tempdir().expect("till dir");
    let path = till.path().join("ledger.db");
    let ledger = Ledger::open(&path).expect("ledger");
    let mut config = till_config(pg, dir, db, till.path());
    config.terminal.code = "T01".into();
    let task = Uploader::from_config(&config, &path).expect("sync").spawn();
    let client = server.connect().await.expect("connect");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut lags = Vec::new();
    for i in 0..n {
        let id = format!("T01LAG{i:06}");
        let now = paydesk_core::ledger::now_ms();
        ledger
            .insert_payment(&NewPayment {
                id: id.clone(),
                terminal: "T01".into(),
                channel: "abc".into(),
                flow: Flow::Barcode,
                amount: Fen(1234),
                subject: "商品".into(),
                merchant: "M".into(),
                wallet: Some("alipay".into()),
                code_masked: None,
                created_at: now,
                deadline_at: now + 60_000,
                horizon_at: now + 180_000,
                lease_until: 0,
                source: "bench".into(),
                clerk: None,
                charge: None,
            })
            .expect("insert");
        ledger.transition(&id, State::Paid, &Change::default()).expect("paid");
        let committed = Instant::now();
        loop {
            let row = client
                .query_opt(
                    "SELECT 1 FROM paydesk.payments WHERE till_id = 'SH001/T01' AND id = $1 AND state = 'paid'",
                    &[&id],
                )
                .await
                .expect("query");
            if row.is_some() {
                lags.push(committed.elapsed());
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // A random pause: payments fall anywhere in the uploader's polling interval.
        tokio::time::sleep(Duration::from_millis(fastrand::u64(100..1100))).await;
    }
    task.abort();
    println!(
        "steady-state lag, interval_ms = 1000, a payment every 0.1–1.1 s (commit in the ledger → paid row on the server):"
    );
    support::report("lag", lags);
}

async fn chain_report(pg: &Postgres, dir: &Path, n: usize) {
    let db = "chain";
    let server = fresh_db(pg, dir, db).await;
    let client = server.connect().await.expect("connect");
    let t = Instant::now();
    let year_ms: i64 = 365 * 86_400_000;
    client
        .batch_execute(&format!(
            "SET synchronous_commit = off; SET statement_timeout = 0;
             INSERT INTO paydesk.tills (till_id, store, terminal, install_id)
             SELECT 'S' || lpad((i / 10)::text, 3, '0') || '/T' || lpad((i % 10)::text, 2, '0'),
                    'S' || lpad((i / 10)::text, 3, '0'), 'T' || lpad((i % 10)::text, 2, '0'), md5(i::text)
             FROM generate_series(0, 199) i;
             INSERT INTO paydesk.payments (till_id, id, version, terminal, channel, flow, amount_fen, subject,
                    merchant, wallet, state, late, created_at, updated_at, paid_at, settled_at)
             SELECT 'S' || lpad(((g % 200) / 10)::text, 3, '0') || '/T' || lpad((g % 10)::text, 2, '0'),
                    'P' || g, 1, 'T' || lpad((g % 10)::text, 2, '0'),
                    (ARRAY['abc', 'lakala', 'alipay', 'wechat'])[1 + g % 4], 'barcode',
                    100 + (g * 7919) % 50000, '', 'M', (ARRAY['alipay', 'wechat', 'unionpay'])[1 + g % 3],
                    CASE WHEN g % 20 = 0 THEN 'failed' WHEN g % 97 = 0 THEN 'unknown' ELSE 'paid' END, 0,
                    t, t, t, t
             FROM generate_series(1::bigint, {n}::bigint) g, LATERAL (SELECT {DAY0}::bigint + (g::bigint * {year_ms}) / {n} AS t) x;
             INSERT INTO paydesk.refunds (till_id, id, version, payment_id, amount_fen, reason, state, created_at,
                    updated_at, settled_at)
             SELECT till_id, 'R' || id, 1, id, 1 + amount_fen / 2, 'bench', 'succeeded', paid_at + 3600000,
                    paid_at + 3600000, paid_at + 3600000
             FROM paydesk.payments WHERE state = 'paid' AND (hashtext(id) % 33) = 0;"
        ))
        .await
        .expect("chain data");
    // As autovacuum would have by then: the day report reads the index alone.
    for table in ["payments", "refunds"] {
        client.batch_execute(&format!("VACUUM ANALYZE paydesk.{table}")).await.expect("vacuum");
    }
    let count: i64 = client.query_one("SELECT count(*) FROM paydesk.payments", &[]).await.expect("count").get(0);
    println!("chain of 200 tills, {count} payments over a year, loaded in {:.0} s", t.elapsed().as_secs_f64());
    let day = NaiveDate::from_ymd_opt(2026, 6, 15).expect("day");
    for by in [By::Store, By::Till, By::Channel, By::Wallet, By::Day] {
        let mut times = Vec::new();
        let mut rows = 0;
        for _ in 0..21 {
            let t = Instant::now();
            let r = report::totals(&client, day, day, 0, by).await.expect("report");
            times.push(t.elapsed());
            rows = r.total.paid_count;
        }
        support::report(&format!("day report by {by:?} ({rows} sales)"), times);
    }
    let last = NaiveDate::from_ymd_opt(2026, 7, 15).expect("day");
    let mut times = Vec::new();
    for _ in 0..11 {
        let t = Instant::now();
        report::totals(&client, day, last, 0, By::Day).await.expect("report");
        times.push(t.elapsed());
    }
    support::report("31-day range by day", times);
    let mut times = Vec::new();
    for _ in 0..11 {
        let t = Instant::now();
        report::unresolved(&client, 200).await.expect("unresolved");
        times.push(t.elapsed());
    }
    support::report("unresolved of every till (200)", times);
}
