//! Engine overhead per barcode payment: the whole payment (classify, record `created` with
//! synchronous=FULL, send, record `paid`, notify) minus the time on the wire, with the sandbox
//! answering at once. Real SQLite file in the system temp folder, real HTTP on loopback.
//!
//! `cargo bench -p paydesk-core --bench engine_overhead [-- PAYMENTS]` (default 2000).

#[path = "support.rs"]
mod support;

use paydesk_core::engine::{BarcodeRequest, Cashier};
use paydesk_core::ledger::{Ledger, State};
use paydesk_sandbox::{Sandbox, SandboxOptions};
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let n: usize = std::env::args().filter_map(|a| a.parse().ok()).next().unwrap_or(2000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(run(n));
}

async fn run(n: usize) {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.expect("sandbox");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = support::demo_config(sandbox.addr().port(), dir.path());
    let ledger = Arc::new(Ledger::open(&dir.path().join("ledger.db")).expect("ledger"));
    let channels = paydesk_core::channel::from_config(&config).expect("channels");
    let cashier = Cashier::new(config, ledger, channels);

    let (mut total, mut wire, mut overhead) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n + 50 {
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
    println!("engine overhead per barcode payment, {n} payments, ledger in {}", dir.path().display());
    support::report("whole payment", total);
    support::report("HTTP round trip", wire);
    support::report("engine overhead (whole - HTTP)", overhead);
}
