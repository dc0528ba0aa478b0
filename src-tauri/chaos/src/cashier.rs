//! The cashier process the harness kills: the real engine on the run's config and ledger, as
//! the app runs it (recovery sweeping in the background from the start), taking the payments
//! it reads from standard input one JSON line at a time and saying what happened on standard
//! output. It knows nothing of the faults or the kills.

use crate::plan::{Job, Pay};
use paydesk_core::config::Config;
use paydesk_core::engine::{BarcodeRequest, Cashier};
use paydesk_core::ledger::State;
use paydesk_core::money::Fen;
use paydesk_core::people::Action;
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The manager who signs in and approves refunds (made by the harness before the first start).
pub const MANAGER: &str = "混沌店长";
pub const MANAGER_PIN: &str = "246813";

fn say(event: serde_json::Value) {
    println!("{event}");
}

/// Opens the cashier and signs the manager in.
pub fn open(config_path: &Path) -> Result<(Cashier, i64), String> {
    let config = Config::load(config_path).map_err(|e| format!("config: {e}"))?;
    let cashier = Cashier::open(config, config_path, None).map_err(|e| format!("cashier: {e}"))?;
    let people = cashier.people();
    let users = people.users().map_err(|e| format!("users: {e}"))?;
    let manager = users.iter().find(|u| u.name == MANAGER).ok_or("the run's manager is missing")?.id;
    people.sign_in(manager, MANAGER_PIN).map_err(|e| format!("sign-in: {e}"))?;
    Ok((cashier, manager))
}

/// Takes jobs until standard input ends.
pub async fn serve(config_path: &Path) -> Result<(), String> {
    let (cashier, manager) = open(config_path)?;
    let _recovery = cashier.spawn_recovery();
    // With `--sync` the till uploads as the app does, and is SIGKILLed mid-batch with the rest.
    let _upload =
        paydesk_core::hq::upload::Uploader::from_config(cashier.config(), cashier.ledger().path()).map(|u| u.spawn());
    say(json!({ "event": "ready" }));
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
        let job: Job = serde_json::from_str(&line).map_err(|e| format!("job {line}: {e}"))?;
        take(&cashier, manager, &job).await;
        say(json!({ "n": job.n, "event": "done" }));
    }
    Ok(())
}

async fn take(cashier: &Cashier, manager: i64, job: &Job) {
    let amount = Fen(job.amount_fen).yuan_text();
    let started = match &job.pay {
        Pay::Code(code) => cashier.start_barcode(&BarcodeRequest {
            channel: &job.channel,
            amount_text: &amount,
            code,
            source: "chaos",
            subject: None,
            charge: None,
        }),
        Pay::Qr { method, .. } => cashier.start_qr(&job.channel, &amount, None, method.as_deref()).await,
    };
    let payment = match started {
        Ok(p) => p,
        Err(e) => {
            say(json!({ "n": job.n, "event": "refused", "why": e.to_string() }));
            return;
        }
    };
    say(json!({ "n": job.n, "event": "started", "order": payment.id, "state": payment.state.as_str() }));
    if let Some(after) = job.cancel_after_ms {
        let (cashier, id) = (cashier.clone(), payment.id.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(after)).await;
            let _ = cashier.cancel(&id);
        });
    }
    let settled = match clerk_done(cashier, &payment.id).await {
        Ok(p) => p,
        Err(e) => {
            say(json!({ "n": job.n, "event": "error", "why": e.to_string() }));
            return;
        }
    };
    say(json!({ "n": job.n, "event": "settled", "order": settled.id, "state": settled.state.as_str() }));
    if settled.state != State::Paid {
        return;
    }
    for fen in &job.refunds {
        let approval = match cashier.people().approve(manager, MANAGER_PIN, Action::Refund) {
            Ok(a) => a,
            Err(e) => {
                say(json!({ "n": job.n, "event": "error", "why": e.to_string() }));
                return;
            }
        };
        let outcome = cashier.refund(&approval, &settled.id, &Fen(*fen).yuan_text(), "chaos").await;
        let state = match &outcome {
            Ok(r) => r.state.as_str().to_owned(),
            Err(e) => format!("refused: {e}"),
        };
        say(json!({ "n": job.n, "event": "refund", "state": state }));
    }
}

/// The payment once the clerk is done with it: final, or not confirmed and followed in the
/// background (the counter is free for the next customer then, as in the app).
async fn clerk_done(cashier: &Cashier, id: &str) -> Result<paydesk_core::ledger::Payment, String> {
    let settled = cashier.wait_settled(id);
    tokio::pin!(settled);
    loop {
        tokio::select! {
            s = &mut settled => return s.map(|s| s.payment).map_err(|e| e.to_string()),
            _ = tokio::time::sleep(Duration::from_millis(50)) => {
                if cashier.on_counter().is_none_or(|p| p.id != id) {
                    return cashier.ledger().payment(id).map_err(|e| e.to_string());
                }
            }
        }
    }
}

/// Takes one refund of exactly `fen` off a statement's list; whether there was one.
fn strike(listed: &mut Vec<i64>, fen: i64) -> bool {
    match listed.iter().position(|r| *r == fen) {
        Some(i) => {
            listed.swap_remove(i);
            true
        }
        None => false,
    }
}

/// What the last restart did: recovery sweeps, and refunds a manager decided.
pub struct Settled {
    pub sweeps: usize,
    pub refunds_decided: usize,
}

/// A restarted cashier's recovery until nothing is left unfinished (and for at least `watch`, so
/// the lapsed payments' rechecks come round), or `limit` passes. Payments must be resolved by the
/// machine. Refunds on a channel that cannot safely be asked again stay
/// `unknown` for a manager, who decides each from the channel's own records, as the refund
/// screen asks them to. `records` gives the refunds the channel made per order (fen each); abc,
/// for one, keeps no refund number of ours, so the manager matches them by amount.
pub async fn settle(
    config_path: &Path,
    limit: Duration,
    watch: Duration,
    records: impl Fn() -> std::collections::BTreeMap<String, Vec<i64>>,
) -> Result<Settled, String> {
    let (cashier, manager) = open(config_path)?;
    let started = Instant::now();
    let mut sweeps = 0;
    loop {
        cashier.recover().await;
        sweeps += 1;
        let ledger = cashier.ledger();
        let open = ledger.open_payments().map_err(|e| e.to_string())?;
        let refunds = ledger.open_refunds().map_err(|e| e.to_string())?;
        let for_a_manager = |r: &paydesk_core::ledger::Refund| {
            r.state == paydesk_core::ledger::RefundState::Unknown
                && ledger
                    .payment(&r.payment_id)
                    .ok()
                    .and_then(|p| cashier.channel(&p.channel).cloned())
                    .is_some_and(|ch| !ch.capabilities().refund_resend)
        };
        if open.is_empty() && refunds.iter().all(for_a_manager) && started.elapsed() >= watch {
            // The channel's refunds of each order that the ledger's succeeded ones do not account
            // for, one by one with their amounts, as the bank's statement lists them.
            let mut unexplained = records();
            for (order, given) in unexplained.iter_mut() {
                for done in ledger.refunds_of(order).map_err(|e| e.to_string())? {
                    if done.state == paydesk_core::ledger::RefundState::Succeeded {
                        strike(given, done.amount.0);
                    }
                }
            }
            let mut refunds_decided = 0;
            for r in &refunds {
                let approval =
                    cashier.people().approve(manager, MANAGER_PIN, Action::ResolveRefund).map_err(|e| e.to_string())?;
                let succeeded = strike(unexplained.entry(r.payment_id.clone()).or_default(), r.amount.0);
                cashier
                    .resolve_refund(&approval, &r.id, succeeded, "checked against the channel's records")
                    .map_err(|e| format!("deciding refund {}: {e}", r.id))?;
                refunds_decided += 1;
            }
            return Ok(Settled { sweeps, refunds_decided });
        }
        if started.elapsed() > limit {
            let open: Vec<String> = open.iter().map(|p| format!("{} {}", p.id, p.state.as_str())).collect();
            let refunds: Vec<String> = refunds.iter().map(|r| format!("{} {}", r.id, r.state.as_str())).collect();
            return Err(format!("still open after {limit:?}: payments {open:?}, refunds {refunds:?}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
