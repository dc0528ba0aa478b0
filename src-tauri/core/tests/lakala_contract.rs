//! The `lakala` channel through the engine against the sandbox, over real HTTP on loopback, with a
//! real SQLite ledger. Direct mode (signed v3): every barcode scenario row of CHANNELS.md, wallet
//! QR paid and expired, refunds, and what a reply that does not verify does. Backend mode: the
//! counter page paid and expired, a refused token, refusals the seeds do not list, the counter
//! page's expiry in Beijing time whatever the till's zone, the support flags, and seed 000's
//! legacy calls (barcode by micropay with polling, the legacy QR).

mod common;

use common::{fast_sandbox, key_files, rig, rig_with, Rig};
use paydesk_core::config::{LakalaQr, Secret};
use paydesk_core::ledger::{Payment, RefundState, State};
use paydesk_core::people::Action;

async fn scenario(ending: &str) -> (Rig, Payment) {
    let rig = rig().await;
    let settled = rig.barcode_on("lakala", "68.00", ending).await;
    (rig, settled.payment)
}

fn charges(rig: &Rig) -> usize {
    rig.sandbox.truth().charges.len()
}

/// The audit trail of a payment, as text (masked replies included).
fn events_text(rig: &Rig, id: &str) -> String {
    rig.cashier.ledger().events(id).unwrap().iter().map(|e| e.detail.to_string()).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn direct_barcode_paid_at_once_with_verified_replies() {
    for ending in ["00", "55", "79"] {
        let (rig, p) = scenario(ending).await;
        assert_eq!(p.state, State::Paid, "{ending}");
        assert!(p.channel_trade_no.is_some());
        assert_eq!(p.merchant, "8222900701106PZ");
        assert_eq!(charges(&rig), 1);
        let audit = events_text(&rig, &p.id);
        assert!(audit.contains("micropay"), "{audit}");
        assert!(!audit.contains(&common::alipay_code(ending)), "the payment code is stored masked only");
        rig.assert_matches_truth();
    }
}

#[tokio::test]
async fn direct_barcode_8n_user_paying_then_paid() {
    let (rig, p) = scenario("82").await;
    assert_eq!(p.state, State::Paid);
    assert!(!p.late);
    let states: Vec<_> = rig.cashier.ledger().events(&p.id).unwrap().into_iter().filter_map(|e| e.to_state).collect();
    assert_eq!(states, ["created", "pending", "paid"]);
    rig.assert_matches_truth();
}

#[tokio::test]
async fn direct_barcode_90_never_confirmed_is_revoked_at_the_deadline() {
    let (rig, p) = scenario("90").await;
    assert_eq!(p.state, State::Reversed, "revoked (撤销) at the channel");
    assert_eq!(charges(&rig), 0);
    assert!(events_text(&rig, &p.id).contains("revoked"));
    rig.assert_matches_truth();
}

/// Found by the chaos run: the customer was charged, every reply (the pay call's, the queries',
/// the revoke's) was lost, and the revoke went through. The next query says `REFUND`: the money
/// went back, so the payment is `reversed`, never `paid`.
#[tokio::test]
async fn a_revoke_whose_reply_was_lost_is_read_back_as_reversed() {
    use paydesk_sandbox::Faults;
    let rig = rig_with(fast_sandbox(), |c| c.timing.late_horizon_ms = 1_600).await;
    rig.sandbox.set_faults(Faults { garble_percent: 100, ..Faults::default() });
    let p = rig.barcode_on("lakala", "68.00", "00").await.payment;
    assert_eq!(p.state, State::Unknown, "no reply could be read");
    let truth = rig.sandbox.truth();
    assert_eq!((truth.charges.len(), truth.refunds.len()), (1, 1), "charged, then revoked in full");
    rig.sandbox.set_faults(Faults::default());
    rig.cashier.recover().await;
    let p = rig.cashier.ledger().payment(&p.id).unwrap();
    assert_eq!(p.state, State::Reversed);
    assert!(events_text(&rig, &p.id).contains("a reversal whose reply was lost"));
    rig.assert_matches_truth();
}

#[tokio::test]
async fn direct_barcode_91_and_92_fail_with_plain_words() {
    let (rig, p) = scenario("91").await;
    assert_eq!((p.state, p.failure_code.as_deref()), (State::Failed, Some("BBS11112")));
    assert!(rig.cashier.view(&p).message.contains("余额不足"), "{}", rig.cashier.view(&p).message);
    let (rig, p) = scenario("92").await;
    assert_eq!((p.state, p.failure_code.as_deref()), (State::Failed, Some("BBS11105")));
    assert!(rig.cashier.view(&p).message.contains("付款码无效"));
    assert_eq!(charges(&rig), 0);
}

#[tokio::test]
async fn direct_barcode_93_95_96_charged_without_a_usable_reply_are_found_by_query() {
    for ending in ["93", "95", "96"] {
        let (rig, p) = scenario(ending).await;
        assert_eq!(p.state, State::Paid, "{ending}");
        let states: Vec<_> =
            rig.cashier.ledger().events(&p.id).unwrap().into_iter().filter_map(|e| e.to_state).collect();
        assert_eq!(states[1], State::Unknown.as_str(), "{ending}: the pay reply was not believed");
        rig.assert_matches_truth();
    }
    let (rig, p) = scenario("96").await;
    assert!(events_text(&rig, &p.id).contains("not trusted"), "the bad signature is on record");
}

#[tokio::test]
async fn direct_barcode_94_hang_charges_nothing_and_ends_final() {
    let (rig, p) = scenario("94").await;
    assert!(matches!(p.state, State::Failed | State::Reversed), "{:?}", p.state);
    assert_eq!(charges(&rig), 0);
    rig.assert_matches_truth();
}

#[tokio::test]
async fn direct_barcode_97_customer_cancels() {
    let (rig, p) = scenario("97").await;
    assert_eq!(p.state, State::Failed);
    assert_eq!(charges(&rig), 0);
}

#[tokio::test]
async fn direct_qr_preorder_paid_on_the_customer_page_with_the_chosen_wallet() {
    let rig = rig().await;
    let p = rig.cashier.start_qr("lakala", "23.45", None, Some("WECHAT")).await.unwrap();
    assert_eq!(p.state, State::Pending);
    assert_eq!(p.wallet.as_deref(), Some("WECHAT"));
    assert!(rig.cashier.view(&p).message.contains("微信"));
    let payload = p.qr_payload.clone().expect("a QR to show");
    assert!(payload.contains(&p.id), "{payload}");
    rig.sandbox.customer_pay(&p.id).expect("customer pays");
    let p = rig.cashier.wait_settled(&p.id).await.unwrap().payment;
    assert_eq!(p.state, State::Paid);
    rig.assert_matches_truth();
    // A tender the channel does not offer is refused before anything is recorded.
    let err = rig.cashier.start_qr("lakala", "1.00", None, Some("JDBT")).await.unwrap_err();
    assert_eq!(err.code(), "not_offered");
}

#[tokio::test]
async fn direct_qr_never_paid_is_closed_at_the_channel() {
    let rig = rig().await;
    let p = rig.cashier.start_qr("lakala", "8.99", None, None).await.unwrap();
    let p = rig.cashier.wait_settled(&p.id).await.unwrap().payment;
    assert_eq!(p.state, State::Closed);
    assert!(events_text(&rig, &p.id).contains("\"close\""));
    assert_eq!(charges(&rig), 0);
}

#[tokio::test]
async fn direct_counter_page_paid_reads_numeric_statuses() {
    let rig = rig_with(fast_sandbox(), |c| {
        let l = c.channels.lakala.as_mut().unwrap();
        (l.qr_api, l.methods) = (Some(LakalaQr::Counter), vec!["ALIPAY".into(), "UNION".into()]);
        c.validate().expect("a valid counter config");
    })
    .await;
    let p = rig.cashier.start_qr("lakala", "30.00", None, Some("UNION")).await.unwrap();
    assert_eq!(p.state, State::Pending);
    rig.sandbox.customer_pay(&p.id).expect("customer pays");
    let p = rig.cashier.wait_settled(&p.id).await.unwrap().payment;
    assert_eq!(p.state, State::Paid);
    assert!(events_text(&rig, &p.id).contains("counter_query"));
    rig.assert_matches_truth();
}

#[tokio::test]
async fn direct_refunds_full_and_partial_match_the_sandbox() {
    let rig = rig().await;
    let p = rig.barcode_on("lakala", "100.00", "10").await.payment;
    let r1 = rig.cashier.refund(&rig.approve(Action::Refund), &p.id, "30.00", "退一件").await.unwrap();
    assert_eq!(r1.state, RefundState::Succeeded);
    let r2 = rig.cashier.refund(&rig.approve(Action::Refund), &p.id, "70.00", "退款").await.unwrap();
    assert_eq!(r2.state, RefundState::Succeeded);
    assert!(
        rig.cashier.refund(&rig.approve(Action::Refund), &p.id, "0.01", "退款").await.is_err(),
        "nothing left to refund"
    );
    rig.assert_matches_truth();
}

#[tokio::test]
async fn a_wrong_certificate_serial_is_refused_and_nothing_is_charged() {
    let rig = rig_with(fast_sandbox(), |c| c.channels.lakala.as_mut().unwrap().serial_no = "DEADBEEF".into()).await;
    let p = rig.barcode_on("lakala", "12.00", "10").await.payment;
    assert_eq!((p.state, p.failure_code.as_deref()), (State::Failed, Some("BBS00004")));
    assert!(rig.cashier.view(&p).message.contains("密钥"));
    assert_eq!(charges(&rig), 0);
}

#[tokio::test]
async fn replies_that_do_not_verify_are_never_paid_or_failed() {
    // Lakala's replies checked against the wrong certificate: nothing the channel says is trusted.
    let (wrong_cert, _) = key_files();
    let merchant_cert = wrong_cert.with_file_name("merchant_cert_as_platform.pem");
    std::fs::write(&merchant_cert, paydesk_sandbox::demo_keys::MERCHANT_CERT_PEM).unwrap();
    let rig = rig_with(fast_sandbox(), |c| c.channels.lakala.as_mut().unwrap().lakala_cert = Some(merchant_cert)).await;
    let p = rig.barcode_on("lakala", "12.00", "10").await.payment;
    assert_eq!(p.state, State::Unknown, "charged at the sandbox, but no reply could be trusted");
    assert!(p.abandoned_at.is_some(), "the clerk was told it is not confirmed");
    assert!(events_text(&rig, &p.id).contains("not trusted"));
    assert_eq!(charges(&rig), 1, "the sandbox did charge: a person must reconcile it");
}

use common::lakala_backend as backend;

#[tokio::test]
async fn backend_counter_page_paid_and_expired() {
    let rig = rig_with(fast_sandbox(), backend).await;
    let caps = rig.cashier.channel("lakala").unwrap().capabilities().clone();
    assert!(caps.barcode && caps.close, "counter calls, and seed 000's legacy micropay for payment codes");
    assert!(!caps.cancel && !caps.refund, "the seeds give the backend no cancel and no refund call");
    let p = rig.cashier.start_qr("lakala", "15.00", None, Some("ALIPAY")).await.unwrap();
    let page = p.qr_payload.clone().expect("counter_url");
    assert!(page.starts_with("http://127.0.0.1"), "{page}");
    rig.sandbox.customer_pay(&p.id).expect("customer pays");
    let p = rig.cashier.wait_settled(&p.id).await.unwrap().payment;
    assert_eq!(p.state, State::Paid);
    let q = rig.cashier.start_qr("lakala", "15.99", None, None).await.unwrap();
    let q = rig.cashier.wait_settled(&q.id).await.unwrap().payment;
    assert_eq!(q.state, State::Closed);
    rig.assert_matches_truth();
}

#[tokio::test]
async fn backend_with_a_wrong_token_fails_the_create_and_charges_nothing() {
    let rig = rig_with(fast_sandbox(), |c| {
        backend(c);
        c.channels.lakala.as_mut().unwrap().token = Some(Secret::new("wrong"));
    })
    .await;
    let p = rig.cashier.start_qr("lakala", "15.00", None, None).await.unwrap();
    assert_eq!((p.state, p.failure_code.as_deref()), (State::Failed, Some("UNAUTHORIZED")));
    assert!(!events_text(&rig, &p.id).contains("wrong"), "the token is never stored");
}

/// A create refused with a code no list of ours names (here the backend's PARAM_ERROR for a page
/// that would already be expired): no page was shown, so nobody can pay. Failed, with the
/// backend's words, and a message true of what the customer saw.
#[tokio::test]
async fn backend_create_refused_with_an_unlisted_code_fails_with_its_message() {
    let rig = rig_with(fast_sandbox(), |c| {
        backend(c);
        // Wall times written in UTC: the backend (Beijing time) reads the page as expired hours ago.
        c.channels.lakala.as_mut().unwrap().time_zone = paydesk_core::config::ChannelZone::parse("+00:00").unwrap();
    })
    .await;
    let p = rig.cashier.start_qr("lakala", "15.00", None, None).await.unwrap();
    assert_eq!(
        (p.state, p.failure_code.as_deref()),
        (State::Failed, Some("PARAM_ERROR")),
        "{}",
        events_text(&rig, &p.id)
    );
    let message = rig.cashier.view(&p).message;
    assert!(message.contains("order_efficient_time") && message.contains("未扣款"), "{message}");
    assert!(!message.contains("二维码已停止显示"), "no code was ever shown: {message}");
    assert_eq!(charges(&rig), 0);
}

/// The counter page's `order_efficient_time` is Beijing time, the screen's deadline rounded up
/// to the second, whatever zone the till runs in: `paydesk-cli` under TZ=UTC, +05:30 and a
/// zone with daylight saving.
#[tokio::test]
async fn backend_counter_expiry_is_beijing_time_whatever_the_tills_zone() {
    use chrono::TimeZone;
    let sandbox = paydesk_sandbox::Sandbox::start(fast_sandbox()).await.unwrap();
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    for tz in ["UTC0", "IST-5:30", "PST8PDT,M3.2.0,M11.1.0"] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = common::config_for(&sandbox.base_url());
        backend(&mut config);
        let path = common::write_config(dir.path(), &config);
        let out = common::cli_env(
            &path,
            &["--json", "charge", "--channel", "lakala", "--amount", "3.00", "--qr"],
            &[("TZ", tz)],
        )
        .await;
        let text = String::from_utf8_lossy(&out.stdout);
        let json: serde_json::Value = serde_json::from_str(text.trim())
            .unwrap_or_else(|e| panic!("{tz}: {e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
        let id = json["id"].as_str().unwrap();
        let ledger = paydesk_core::ledger::Ledger::open(&dir.path().join("ledger.db")).unwrap();
        let p = ledger.payment(id).unwrap();
        let events = ledger.events(id).unwrap();
        assert!(
            events.iter().any(|e| e.to_state.as_deref() == Some("pending")),
            "{tz}: the page was refused: {events:?}"
        );
        let sent = events
            .iter()
            .find_map(|e| e.detail["reply"]["request"].as_str().filter(|r| r.contains("order_efficient_time")));
        let sent: serde_json::Value = serde_json::from_str(sent.expect("the create request is on record")).unwrap();
        let wall =
            chrono::NaiveDateTime::parse_from_str(sent["order_efficient_time"].as_str().unwrap(), "%Y%m%d%H%M%S")
                .unwrap();
        let expires = beijing.from_local_datetime(&wall).single().unwrap().timestamp_millis();
        assert!(expires >= p.deadline_at, "{tz}: the channel's expiry is before the screen's");
        assert!(expires < p.deadline_at + 1_000, "{tz}: whole seconds, rounded up");
        assert_ne!(p.state, State::Paid);
    }
}

/// `support_cancel`, `support_refund`, `support_repeat_pay` are settings: 0, 1, 0 by default, or
/// what the config says.
#[tokio::test]
async fn backend_counter_support_flags_come_from_the_config() {
    for (cancel, refund, repeat) in [(false, true, false), (true, false, true)] {
        let rig = rig_with(fast_sandbox(), |c| {
            backend(c);
            let l = c.channels.lakala.as_mut().unwrap();
            (l.support_cancel, l.support_refund, l.support_repeat_pay) = (cancel, refund, repeat);
        })
        .await;
        let p = rig.cashier.start_qr("lakala", "15.00", None, None).await.unwrap();
        assert_eq!(p.state, State::Pending);
        let sent = events_text(&rig, &p.id);
        for (flag, on) in [("support_cancel", cancel), ("support_refund", refund), ("support_repeat_pay", repeat)] {
            assert!(sent.contains(&format!("\\\"{flag}\\\":{}", u8::from(on))), "{flag}: {sent}");
        }
    }
}

/// Seed 000's legacy micropay in backend mode: the payment code is charged, "user paying" is
/// polled through the backend's query, a customer who never confirms cannot be cancelled (no
/// such call) and ends as the backend says, and lost replies are found by query.
#[tokio::test]
async fn backend_barcode_by_legacy_micropay_follows_every_scenario() {
    let rig = rig_with(fast_sandbox(), backend).await;
    for (ending, expected) in [
        ("00", State::Paid),
        ("82", State::Paid),
        ("93", State::Paid),
        ("95", State::Paid),
        ("96", State::Paid),
        ("91", State::Failed),
        ("92", State::Failed),
        ("97", State::Failed),
    ] {
        let p = rig.barcode_on("lakala", "25.00", ending).await.payment;
        assert_eq!(p.state, expected, "{ending}: {}", events_text(&rig, &p.id));
        assert!(events_text(&rig, &p.id).contains("legacy_micropay"), "{ending}");
        assert!(!events_text(&rig, &p.id).contains(&common::alipay_code(ending)), "{ending}: masked");
    }
    // Never confirmed: no cancel call exists; the wallet closes it and the query says so.
    let p = rig.barcode_on("lakala", "25.00", "90").await.payment;
    assert!(p.abandoned_at.is_some(), "the clerk was told it is not confirmed");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut p = p;
    while !p.state.is_final() {
        assert!(std::time::Instant::now() < deadline, "90 never settled: {:?}", p.state);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        rig.cashier.recover().await;
        p = rig.cashier.ledger().payment(&p.id).unwrap();
    }
    assert_eq!(p.state, State::Closed);
    rig.assert_matches_truth();
}

/// Backend mode with `qr_api = "preorder"`: seed 000's legacy aggregated QR (no tender to pick,
/// no close call): paid on the page, or lapsed and watched when never paid.
#[tokio::test]
async fn backend_legacy_qr_is_paid_or_lapses_without_a_close_call() {
    let rig = rig_with(fast_sandbox(), |c| {
        backend(c);
        c.channels.lakala.as_mut().unwrap().qr_api = Some(LakalaQr::Preorder);
    })
    .await;
    let caps = rig.cashier.channel("lakala").unwrap().capabilities().clone();
    assert!(!caps.close && caps.methods.is_empty());
    let p = rig.cashier.start_qr("lakala", "9.00", None, None).await.unwrap();
    assert_eq!(p.state, State::Pending);
    rig.sandbox.customer_pay(&p.id).unwrap();
    assert_eq!(rig.cashier.wait_settled(&p.id).await.unwrap().payment.state, State::Paid);
    let q = rig.cashier.start_qr("lakala", "9.99", None, None).await.unwrap();
    let q = rig.cashier.wait_settled(&q.id).await.unwrap().payment;
    assert_eq!(q.state, State::Lapsed, "{}", events_text(&rig, &q.id));
    assert!(!events_text(&rig, &q.id).contains("counter_close"));
    rig.assert_matches_truth();
}

/// Every close reply garbled (the close itself goes through): the close is not re-sent blindly
/// until the horizon; a query between attempts finds the order closed.
#[tokio::test]
async fn a_close_whose_replies_are_all_garbled_is_settled_by_a_query() {
    for (mode, path) in [("backend", "/counter/close"), ("direct", "/relation/close")] {
        let rig = rig_with(fast_sandbox(), |c| {
            if mode == "backend" {
                backend(c);
            }
        })
        .await;
        let only = Some(path.to_string());
        rig.sandbox.set_faults(paydesk_sandbox::Faults { garble_percent: 100, only_path: only, ..Default::default() });
        let p = rig.cashier.start_qr("lakala", "8.99", None, None).await.unwrap();
        let p = rig.cashier.wait_settled(&p.id).await.unwrap().payment;
        assert_eq!(p.state, State::Closed, "{mode}: {}", events_text(&rig, &p.id));
        assert!(rig.sandbox.faults_injected().garble >= 1, "{mode}: the close replies were garbled");
        assert_eq!(charges(&rig), 0);
    }
}
