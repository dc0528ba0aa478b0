//! A cashier process killed with SIGKILL in the middle of a payment: before the request left,
//! after the channel charged but before the reply was recorded, and while polling. A restarted
//! process's recovery must leave every payment final and equal to the sandbox's truth.

mod common;

use common::{alipay_code, assert_ledger_matches, cli, config_for, fast_sandbox, write_config, CLI};
use paydesk_core::ledger::{Ledger, State};
use paydesk_sandbox::Sandbox;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Starts `paydesk-cli charge …` with a failpoint armed, waits until it stops there, kills it.
async fn kill_at(config: &Path, failpoint: &str, args: &[&str]) {
    let mut child = tokio::process::Command::new(CLI)
        .env("PAYDESK_FAILPOINT", failpoint)
        .arg("--config")
        .arg(config)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cli starts");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let reached = format!("failpoint {failpoint} reached");
    tokio::time::timeout(Duration::from_secs(15), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains(&reached) {
                return;
            }
        }
        panic!("the cli ended before {failpoint}");
    })
    .await
    .unwrap_or_else(|_| panic!("{failpoint} not reached in time"));
    child.start_kill().expect("SIGKILL"); // tokio's kill is SIGKILL on unix
    let status = child.wait().await.expect("reaped");
    assert!(!status.success());
}

/// Runs `paydesk-cli recover` (a fresh process each time, as after a restart) until nothing
/// is left open, or fails after `limit`.
async fn recover_until_settled(config: &Path, limit: Duration) {
    let started = Instant::now();
    loop {
        let out = cli(config, &["recover"]).await;
        if out.status.code() == Some(0) {
            return;
        }
        assert_eq!(out.status.code(), Some(3), "recover: {}", String::from_utf8_lossy(&out.stderr));
        assert!(started.elapsed() < limit, "still open after {limit:?}: {}", String::from_utf8_lossy(&out.stdout));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn every_payment_killed_mid_flight_is_resolved_by_the_restart() {
    let sandbox = Sandbox::start(fast_sandbox()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &config_for(&sandbox.base_url()));

    // Nothing sent yet: the order never reached the channel.
    kill_at(&config, "before_send", &["charge", "--channel", "abc", "--amount", "10.00", "--code", &alipay_code("10")])
        .await;
    // The channel charged; the process died before recording the reply.
    kill_at(&config, "after_send", &["charge", "--channel", "abc", "--amount", "20.00", "--code", &alipay_code("11")])
        .await;
    // The customer is still confirming ("user paying" for 4 queries, then paid).
    kill_at(
        &config,
        "while_polling",
        &["charge", "--channel", "abc", "--amount", "30.00", "--code", &alipay_code("83")],
    )
    .await;
    // A QR order created at the channel; the process died before recording its payload.
    kill_at(&config, "after_send", &["charge", "--channel", "abc", "--amount", "40.00", "--qr"]).await;

    let ledger = Ledger::open(&dir.path().join("ledger.db")).unwrap();
    let open = ledger.open_payments().unwrap();
    assert_eq!(open.len(), 4, "all four were cut off mid-flight");
    assert!(open.iter().all(|p| p.state == State::Created || p.state == State::Pending), "{open:?}");
    drop(ledger);

    recover_until_settled(&config, Duration::from_secs(20)).await;

    let ledger = Ledger::open(&dir.path().join("ledger.db")).unwrap();
    let truth = sandbox.truth();
    assert_ledger_matches(&ledger, &truth);
    let mut by_amount: Vec<(i64, State, bool)> = ledger
        .payments_created_between(0, i64::MAX, 100)
        .unwrap()
        .into_iter()
        .map(|p| (p.amount.0, p.state, p.late))
        .collect();
    by_amount.sort_by_key(|p| p.0);
    assert_eq!(
        by_amount,
        vec![
            (1000, State::Failed, false), // never sent: "not found" after the horizon
            (2000, State::Paid, true),    // charged before the crash: found, flagged for a look
            (3000, State::Paid, true),    // confirmed while the cashier was down
            (4000, State::Closed, false), // QR never paid: closed by the channel
        ]
    );
    assert_eq!(truth.charges.len(), 2);
}

#[tokio::test]
async fn recovery_in_another_process_leaves_a_payment_being_driven_alone() {
    let sandbox = Sandbox::start(fast_sandbox()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &config_for(&sandbox.base_url()));
    // A clerk's payment in one process: "user paying" for 10 queries (about a second).
    let charge = tokio::process::Command::new(CLI)
        .arg("--config")
        .arg(&config)
        .args(["--json", "charge", "--channel", "abc", "--amount", "9.00", "--code", &alipay_code("89")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Meanwhile another process sweeps the same ledger, over and over.
    let ledger_path = dir.path().join("ledger.db");
    let mut swept_busy = 0;
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if !ledger_path.exists() {
            continue;
        }
        let out = cli(&config, &["--json", "recover"]).await;
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(summary["resolved"], 0, "recovery must not resolve a payment another process drives");
        if summary["still_open"] == 1 {
            assert_eq!(summary["examined"], 0);
            swept_busy += 1;
        }
    }
    assert!(swept_busy > 0, "the sweeps overlapped the payment");
    let out = charge.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(0));
    let paid: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(paid["state"], "paid");
    assert_eq!(paid["late"], false, "not marked given-up by the other process");
    assert!(paid["abandoned_at"].is_null());
}

/// Charges pushed through the terminal API and collected by a process that was killed: the
/// charge follows its attempt through recovery (paid once, or open again for another try), and
/// nothing is ever charged twice.
#[tokio::test]
async fn a_charge_whose_collector_was_killed_is_resolved_with_its_attempt() {
    use paydesk_core::engine::{Cashier, ChargeRequest};
    use paydesk_core::ledger::{ChargeState, Origin};
    let sandbox = Sandbox::start(fast_sandbox()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config_for(&sandbox.base_url());
    cfg.terminal_api = Some(paydesk_core::config::TerminalApi { max_open_charges: 2, ..Default::default() });
    let config = write_config(dir.path(), &cfg);
    let make = |order: &'static str, fen: i64| {
        let config = config.clone();
        async move {
            let loaded = paydesk_core::config::Config::load(&config).unwrap();
            let cashier = Cashier::open(loaded, &config, None).unwrap();
            let req = ChargeRequest {
                external_id: Some(order),
                amount: paydesk_core::money::Fen(fen),
                subject: "套餐",
                tender: None,
                channel: None,
                origin: Origin::Api,
            };
            match cashier.create_charge(&req).unwrap() {
                paydesk_core::ledger::Admitted::Created(c) => c.id,
                other => panic!("{other:?}"),
            }
        }
    };
    let charged = make("ERP-A", 2500).await;
    let never_sent = make("ERP-B", 1500).await;
    kill_at(
        &config,
        "after_send",
        &["charge", "--channel", "abc", "--for-charge", &charged, "--code", &alipay_code("11")],
    )
    .await;
    kill_at(
        &config,
        "before_send",
        &["charge", "--channel", "abc", "--for-charge", &never_sent, "--code", &alipay_code("10")],
    )
    .await;
    let ledger = Ledger::open(&dir.path().join("ledger.db")).unwrap();
    for id in [&charged, &never_sent] {
        assert_eq!(ledger.charge(id).unwrap().state, ChargeState::Paying, "cut off mid-flight");
    }
    drop(ledger);

    recover_until_settled(&config, Duration::from_secs(20)).await;

    let ledger = Ledger::open(&dir.path().join("ledger.db")).unwrap();
    let a = ledger.charge_record(&charged).unwrap();
    assert_eq!((a.charge.state, a.attempts.len(), a.attempts[0].state), (ChargeState::Paid, 1, State::Paid));
    assert_eq!(a.attempts[0].amount.0, 2500);
    let b = ledger.charge_record(&never_sent).unwrap();
    assert_eq!((b.charge.state, b.attempts[0].state), (ChargeState::Open, State::Failed), "open for another try");
    drop(ledger);

    // The retry pays it; the sandbox charged each order once.
    let out =
        cli(&config, &["charge", "--channel", "abc", "--for-charge", &never_sent, "--code", &alipay_code("10")]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ledger = Ledger::open(&dir.path().join("ledger.db")).unwrap();
    assert_eq!(ledger.charge(&never_sent).unwrap().state, ChargeState::Paid);
    assert_ledger_matches(&ledger, &sandbox.truth());
    assert_eq!(sandbox.truth().charges.len(), 2);
}
