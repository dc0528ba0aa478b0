//! The terminal API under load, over real HTTP on loopback, with a real SQLite ledger
//! (synchronous=FULL) and the sandbox answering at once. A bounded load generator: `workers`
//! clients, each sending create then query back to back for its share of the charges; every
//! request's latency is kept. Then the whole life of a charge, one at a time: create, the
//! screen's QR (sent to the sandbox), the customer pays, the caller's long poll returns paid.
//!
//! `cargo bench -p paydesk-core --bench terminal_api [-- CHARGES]` (default 3000 per level).

#[path = "support.rs"]
mod support;

use paydesk_core::config::TerminalApi;
use paydesk_core::engine::Cashier;
use paydesk_core::ledger::Ledger;
use paydesk_sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-token-0123456789abcdef0123456789";
/// Charges per round; the open ones are cancelled (untimed) between rounds.
const ROUND: usize = 1000;

fn main() {
    let n: usize = std::env::args().filter_map(|a| a.parse().ok()).next().unwrap_or(3000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(run(n));
}

async fn run(n: usize) {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.expect("sandbox");
    let dir = tempfile::tempdir().expect("temp dir");
    let token_file = dir.path().join("api.token");
    std::fs::write(&token_file, TOKEN).expect("token");
    let settings = TerminalApi {
        listen: "127.0.0.1:0".into(),
        token_file: token_file.display().to_string(),
        max_open_charges: ROUND as u32,
        ..TerminalApi::default()
    };
    let mut config = support::demo_config(sandbox.addr().port(), dir.path());
    config.terminal_api = Some(settings.clone());
    // The engine finds a QR paid at its next poll: poll often, so the charge's life measures
    // the API and the engine rather than the default 2 s poll interval.
    config.timing.qr_poll_interval_ms = 50;
    let ledger = Arc::new(Ledger::open(&dir.path().join("ledger.db")).expect("ledger"));
    let channels = paydesk_core::channel::from_config(&config).expect("channels");
    let cashier = Cashier::new(config, ledger.clone(), channels);
    let (addr, _task) = paydesk_core::terminal_api::serve(cashier.clone(), &settings).await.expect("API");
    let base = format!("http://{addr}");
    println!("terminal API at {base}; {n} charges per level, create + query each, ledger in {}", dir.path().display());

    let serial = Arc::new(AtomicUsize::new(0));
    for workers in [1, 4, 16] {
        let (mut creates, mut queries, mut wall) = (Vec::new(), Vec::new(), Duration::ZERO);
        let mut left = n;
        while left > 0 {
            let round = left.min(ROUND);
            let (c, q, w) = load(&base, workers, round, serial.clone()).await;
            creates.extend(c);
            queries.extend(q);
            wall += w;
            for c in ledger.unfinished_charges().expect("open charges") {
                ledger.request_charge_cancel(&c.id).expect("cancel");
            }
            left -= round;
        }
        let requests = creates.len() + queries.len();
        println!(
            "{workers:>2} clients: {requests} requests in {:.2} s = {:.0} requests/s ({:.0} create+query pairs/s)",
            wall.as_secs_f64(),
            requests as f64 / wall.as_secs_f64(),
            creates.len() as f64 / wall.as_secs_f64()
        );
        support::report(&format!("  create ({workers} clients)"), creates);
        support::report(&format!("  query ({workers} clients)"), queries);
    }

    // A charge's whole life, one at a time (one counter serves one customer).
    let http = reqwest::Client::new();
    let cycles = (n / 10).clamp(20, 300);
    let mut lives = Vec::with_capacity(cycles);
    for i in 0..cycles {
        let started = Instant::now();
        let created = post(
            &http,
            &base,
            &json!({ "amount_fen": 1000 + (i as i64 % 50) * 100, "external_order_id": format!("LIFE-{i}") }),
        )
        .await;
        let id = created["id"].as_str().expect("id").to_string();
        let p = cashier.start_qr_for_charge(&id, "abc", None).await.expect("QR");
        sandbox.customer_pay(&p.id).expect("paid");
        let done: Value = http
            .get(format!("{base}/v1/charges/{id}?wait=10"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("status")
            .json()
            .await
            .expect("json");
        assert_eq!(done["state"], "paid", "{done}");
        lives.push(started.elapsed());
    }
    support::report("charge life (create, QR, paid, poll)", lives);
    sandbox.shutdown().await;
}

async fn post(http: &reqwest::Client, base: &str, body: &Value) -> Value {
    let r = http.post(format!("{base}/v1/charges")).bearer_auth(TOKEN).json(body).send().await.expect("create");
    assert_eq!(r.status().as_u16(), 201);
    r.json().await.expect("json")
}

/// `workers` clients share `total` charges; returns create and query latencies and wall time.
async fn load(
    base: &str,
    workers: usize,
    total: usize,
    serial: Arc<AtomicUsize>,
) -> (Vec<Duration>, Vec<Duration>, Duration) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (base, next, serial) = (base.to_string(), next.clone(), serial.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let (mut creates, mut queries) = (Vec::new(), Vec::new());
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let order = format!("LOAD-{}", serial.fetch_add(1, Ordering::Relaxed));
                let t = Instant::now();
                let created = post(&http, &base, &json!({ "amount_fen": 1234, "external_order_id": order })).await;
                creates.push(t.elapsed());
                let id = created["id"].as_str().expect("id");
                let t = Instant::now();
                let r = http.get(format!("{base}/v1/charges/{id}")).bearer_auth(TOKEN).send().await.expect("query");
                assert_eq!(r.status().as_u16(), 200);
                let _: Value = r.json().await.expect("json");
                queries.push(t.elapsed());
            }
            (creates, queries)
        }));
    }
    let (mut creates, mut queries) = (Vec::new(), Vec::new());
    for t in tasks {
        let (c, q) = t.await.expect("worker");
        creates.extend(c);
        queries.extend(q);
    }
    (creates, queries, started.elapsed())
}
