//! Engine overhead per barcode payment: the whole payment (classify, record `created` with
//! synchronous=FULL, send, record `paid`, notify) minus the time on the wire, with the sandbox
//! answering at once. Real SQLite file in the system temp folder, real HTTP on loopback.
//!
//! `cargo bench -p paydesk-core --bench engine_overhead [-- PAYMENTS] [--sync]` (default 2000).
//! `--sync`: the till also uploads to a chain's PostgreSQL (Debian's, on loopback) while it takes
//! the payments, with the default interval_ms (1 s): what the uploader costs the payment path. The server's own
//! disk flushes are off (a chain's server is another machine; here it shares the till's disk).
//! `--no-outbox`: the chain's outbox triggers dropped from the bench's ledger, to see what they cost.
//!
//! It also times this disk's flush alone (no SQLite, no engine) in the ledger's folder: each
//! payment waits for two (`created` before sending, the answer after), so on a machine whose
//! flush is slow that figure, not the engine's work, sets the floor of the overhead.

#[path = "support.rs"]
mod support;

use paydesk_core::engine::{BarcodeRequest, Cashier};
use paydesk_core::ledger::{Ledger, State};
use paydesk_sandbox::{Sandbox, SandboxOptions};
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let n: usize = std::env::args().filter_map(|a| a.parse().ok()).next().unwrap_or(2000);
    let sync = std::env::args().any(|a| a == "--sync");
    let no_outbox = std::env::args().any(|a| a == "--no-outbox");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(run(n, sync, no_outbox));
}

async fn run(n: usize, sync: bool, no_outbox: bool) {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.expect("sandbox");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = support::demo_config(sandbox.addr().port(), dir.path());
    let ledger = Arc::new(Ledger::open(&dir.path().join("ledger.db")).expect("ledger"));
    if no_outbox {
        let conn = rusqlite::Connection::open(ledger.path()).expect("ledger file");
        for t in ["payments", "refunds", "charges", "shifts"] {
            conn.execute_batch(&format!("DROP TRIGGER {t}_to_outbox; DROP TRIGGER {t}_change_to_outbox;"))
                .expect("drop trigger");
        }
    }
    let chain = sync.then(|| chain_server(dir.path(), &mut config));
    let upload = chain
        .as_ref()
        .map(|_| paydesk_core::hq::upload::Uploader::from_config(&config, ledger.path()).expect("[sync]").spawn());
    let channels = paydesk_core::channel::from_config(&config).expect("channels");
    let cashier = Cashier::new(config, ledger, channels);

    let (mut total, mut wire, mut overhead) = (Vec::new(), Vec::new(), Vec::new());
    let mut cpu_from = None;
    for i in 0..n + 50 {
        if i == 50 {
            cpu_from = process_cpu_ms();
        }
        let code = format!("2800000000{:06}{:02}", i, i % 80);
        let started = Instant::now();
        let p = cashier
            .start_barcode(&BarcodeRequest {
                channel: "abc",
                amount_text: "12.34",
                code: &code,
                source: "bench",
                subject: None,
                charge: None,
            })
            .expect("starts");
        let settled = cashier.wait_settled(&p.id).await.expect("settles");
        let elapsed = started.elapsed();
        assert_eq!(settled.payment.state, State::Paid);
        if i >= 50 {
            // The first 50 warm up connections and caches.
            total.push(elapsed);
            wire.push(settled.http_time);
            overhead.push(elapsed.saturating_sub(settled.http_time));
        }
    }
    if let Some(task) = upload {
        task.abort();
    }
    let with = match (sync, no_outbox) {
        (true, _) => " while uploading to the chain's PostgreSQL",
        (false, true) => " without the outbox triggers",
        _ => "",
    };
    println!("engine overhead per barcode payment{with}, {n} payments, ledger in {}", dir.path().display());
    support::report("whole payment", total);
    support::report("HTTP round trip", wire);
    support::report("engine overhead (whole - HTTP)", overhead);
    // Wall time here moves with how soon the VM wakes a thread; CPU time does not, so a change in
    // the code shows in it even on a noisy machine. It counts the in-process sandbox too.
    if let (Some(from), Some(to)) = (cpu_from, process_cpu_ms()) {
        println!("process CPU time per payment (engine, SQLite and the sandbox): {:.3} ms", (to - from) / n as f64);
    }
    support::report("this disk's flush alone (fsync)", disk_flushes(dir.path(), 300));
}

/// `count` flushes of a few pages rewritten in place (as a reused WAL is), each after a short
/// pause, as a payment's flushes come between HTTP round trips. On a VM the pause lets the
/// virtual CPU idle, and waking it for the disk's answer is much of what a flush costs.
fn disk_flushes(dir: &std::path::Path, count: usize) -> Vec<std::time::Duration> {
    use std::io::{Seek, SeekFrom, Write};
    let path = dir.join("flush-probe");
    let mut file = std::fs::File::create(&path).expect("probe file");
    let pages = vec![0x5a_u8; 8 * 4096];
    file.write_all(&pages).and_then(|_| file.sync_all()).expect("probe file");
    let mut took = Vec::with_capacity(count);
    for _ in 0..count {
        std::thread::sleep(std::time::Duration::from_millis(2));
        file.seek(SeekFrom::Start(0)).and_then(|_| file.write_all(&pages)).expect("probe write");
        let started = Instant::now();
        file.sync_all().expect("fsync");
        took.push(started.elapsed());
    }
    let _ = std::fs::remove_file(path);
    took
}

/// User + system CPU time of this process so far, in milliseconds (Linux: /proc/self/stat, in
/// clock ticks of 10 ms; over thousands of payments that is fine enough).
fn process_cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which may hold spaces) close with ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks * 10.0)
}

/// A chain's PostgreSQL on loopback, migrated, and `[sync]` pointing at it.
fn chain_server(
    dir: &std::path::Path,
    config: &mut paydesk_core::config::Config,
) -> paydesk_sandbox::postgres::Postgres {
    use paydesk_core::config::{SyncConfig, SyncTls};
    use paydesk_sandbox::postgres::{Postgres, OWNER};
    let pg = Postgres::start().expect("PostgreSQL (apt-get install postgresql)");
    pg.create_database("chain").expect("database");
    // The chain's server runs on its own machine: its disk flushes are not the till's.
    pg.psql("postgres", "ALTER SYSTEM SET fsync = off").expect("fsync off");
    pg.psql("postgres", "SELECT pg_reload_conf()").expect("reload");
    let pass = dir.join("owner.pass");
    pg.write_password_file(&pass, pg.owner_password()).expect("password file");
    let sync = SyncConfig {
        url: pg.url(OWNER, "chain"),
        store: "BENCH".into(),
        password_file: Some(pass),
        tls: SyncTls::Verify,
        ca_file: Some(pg.ca_file()),
        interval_ms: 1000,
        batch: 2000,
        chain_reports: false,
    };
    let server = paydesk_core::hq::Server::from_config(&sync, |p| p.to_path_buf());
    let rt = tokio::runtime::Handle::current();
    std::thread::scope(|s| {
        s.spawn(|| {
            rt.block_on(async {
                let mut client = server.connect().await.expect("connect");
                paydesk_core::hq::schema::migrate(&mut client).await.expect("migrate");
            })
        });
    });
    config.sync = Some(sync);
    pg
}
