//! The `alipay` and `wechat` channels through the engine against the sandbox, over real HTTP on
//! loopback, with a real SQLite ledger. One scripted exchange per scenario ending of CHANNELS.md
//! and per call: each row says what the ledger and the sandbox's record must show afterwards.

mod common;

use common::{alipay_code, fast_sandbox, rig, rig_with, wechat_code, Rig};
use paydesk_core::engine::BarcodeRequest;
use paydesk_core::ledger::{Payment, RefundState, State};
use paydesk_core::money::Fen;
use paydesk_core::people::Action;
use paydesk_sandbox::SandboxOptions;
use std::time::Duration;

/// The two wallets' channels and how their payment codes look.
#[derive(Clone, Copy, Debug)]
enum Wallet {
    Alipay,
    Wechat,
}

use Wallet::*;

impl Wallet {
    fn channel(self) -> &'static str {
        match self {
            Alipay => "alipay",
            Wechat => "wechat",
        }
    }

    fn code(self, ending: &str) -> String {
        match self {
            Alipay => alipay_code(ending),
            Wechat => wechat_code(ending),
        }
    }

    /// The sandbox's path of a call, for counting.
    fn path(self, call: &str) -> &'static str {
        match (self, call) {
            (Alipay, _) => "/gateway.do",
            (Wechat, "query") => "/pay/orderquery",
            (Wechat, "cancel") => "/secapi/pay/reverse",
            (Wechat, _) => "/pay/micropay",
        }
    }
}

/// What one scenario must end in.
struct Expect {
    state: State,
    charges: usize,
    refunds: usize,
    failure: Option<&'static str>,
}

const fn paid() -> Expect {
    Expect { state: State::Paid, charges: 1, refunds: 0, failure: None }
}

/// Runs one payment-code payment to its end and checks the ledger against the sandbox.
async fn barcode(wallet: Wallet, amount: &str, ending: &str) -> (Rig, Payment) {
    let rig = rig().await;
    let p = pay_code(&rig, wallet.channel(), &wallet.code(ending), amount).await;
    (rig, p)
}

async fn pay_code(rig: &Rig, channel: &str, code: &str, amount: &str) -> Payment {
    rig.pay_code(channel, amount, code).await.payment
}

async fn scenario(wallet: Wallet, ending: &str, expect: Expect) -> (Rig, Payment) {
    let (rig, p) = barcode(wallet, "88.88", ending).await;
    let truth = rig.sandbox.truth();
    assert_eq!(p.state, expect.state, "{wallet:?} {ending}: {p:?}");
    assert_eq!(p.channel, wallet.channel());
    assert_eq!(truth.charges.len(), expect.charges, "{wallet:?} {ending}: charges");
    assert_eq!(truth.refunds.len(), expect.refunds, "{wallet:?} {ending}: refunds");
    assert_eq!(p.failure_code.as_deref(), expect.failure, "{wallet:?} {ending}");
    if p.state == State::Paid {
        assert!(p.channel_trade_no.is_some(), "{wallet:?} {ending}: the wallet's trade number is kept");
    }
    rig.assert_matches_truth();
    (rig, p)
}

#[tokio::test]
async fn paid_at_once() {
    for wallet in [Alipay, Wechat] {
        let (rig, p) = scenario(wallet, "00", paid()).await;
        assert_eq!(p.wallet.as_deref(), Some(wallet.channel()));
        assert!(p.paid_at.is_some());
        assert_eq!(rig.sandbox.calls(wallet.path("query")), if matches!(wallet, Alipay) { 1 } else { 0 });
    }
}

#[tokio::test]
async fn confirming_then_paid_is_polled() {
    for wallet in [Alipay, Wechat] {
        let (rig, p) = scenario(wallet, "83", paid()).await;
        assert!(!p.late);
        let states: Vec<_> =
            rig.cashier.ledger().events(&p.id).unwrap().into_iter().filter_map(|e| e.to_state).collect();
        assert_eq!(states, ["created", "pending", "paid"], "{wallet:?}");
    }
}

#[tokio::test]
async fn never_confirmed_is_cancelled_at_the_deadline_nothing_charged() {
    for wallet in [Alipay, Wechat] {
        let (rig, p) =
            scenario(wallet, "90", Expect { state: State::Reversed, charges: 0, refunds: 0, failure: None }).await;
        assert!(rig.sandbox.calls(wallet.path("cancel")) >= 1, "{wallet:?}: cancelled at the channel");
        assert!(p.abandoned_at.is_some() || p.state == State::Reversed);
    }
}

#[tokio::test]
async fn insufficient_funds_and_invalid_codes_fail_with_the_wallets_words() {
    for (wallet, ending, code) in [
        (Alipay, "91", "ACQ.BUYER_BALANCE_NOT_ENOUGH"),
        (Alipay, "92", "ACQ.PAYMENT_AUTH_CODE_INVALID"),
        (Wechat, "91", "NOTENOUGH"),
        (Wechat, "92", "AUTH_CODE_INVALID"),
    ] {
        let (rig, p) =
            scenario(wallet, ending, Expect { state: State::Failed, charges: 0, refunds: 0, failure: Some(code) })
                .await;
        let message = rig.cashier.view(&p).message;
        assert!(message.contains("未扣款"), "{wallet:?} {ending}: {message}");
    }
}

#[tokio::test]
async fn a_reply_lost_after_charging_is_found_paid_by_query() {
    // 93: the connection drops; 95: the wallet's own "unknown" (20000 / SYSTEMERROR) after
    // charging; 96: a garbled body.
    for wallet in [Alipay, Wechat] {
        for ending in ["93", "95", "96"] {
            let (rig, _) = scenario(wallet, ending, paid()).await;
            assert!(rig.sandbox.calls(wallet.path("query")) >= 1, "{wallet:?} {ending}: queried");
        }
    }
}

#[tokio::test]
async fn a_hung_pay_call_is_cancelled_and_nothing_is_charged() {
    for wallet in [Alipay, Wechat] {
        let (rig, _) =
            scenario(wallet, "94", Expect { state: State::Reversed, charges: 0, refunds: 0, failure: None }).await;
        assert!(rig.sandbox.calls(wallet.path("cancel")) >= 1, "{wallet:?}");
    }
}

#[tokio::test]
async fn confirming_then_cancelled_by_the_customer() {
    // Alipay's query reads TRADE_CLOSED; WeChat's PAYERROR asks for a reversal, made at the deadline.
    scenario(Alipay, "97", Expect { state: State::Closed, charges: 0, refunds: 0, failure: None }).await;
    let (rig, _) =
        scenario(Wechat, "97", Expect { state: State::Reversed, charges: 0, refunds: 0, failure: None }).await;
    assert!(rig.sandbox.calls("/secapi/pay/reverse") >= 1);
}

#[tokio::test]
async fn the_clerks_cancel_reverses_even_a_paid_payment_and_retries_when_told() {
    for wallet in [Alipay, Wechat] {
        let rig = rig().await;
        // 89: confirming for ten queries; the first cancel answers "try again".
        let code = wallet.code("89");
        let p = rig
            .cashier
            .start_barcode(&BarcodeRequest {
                channel: wallet.channel(),
                amount_text: "12.00",
                code: &code,
                source: "test",
                subject: None,
                charge: None,
            })
            .unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        rig.cashier.cancel(&p.id).unwrap();
        let p = rig.cashier.wait_settled(&p.id).await.unwrap().payment;
        assert_eq!(p.state, State::Reversed, "{wallet:?}");
        assert!(rig.sandbox.calls(wallet.path("cancel")) >= 2, "{wallet:?}: the retry was honoured");
        rig.assert_matches_truth();
    }
}

#[tokio::test]
async fn qr_payments_paid_on_the_customers_phone() {
    for wallet in [Alipay, Wechat] {
        let rig = rig().await;
        let p = rig.cashier.start_qr(wallet.channel(), "23.45", Some("测试商品"), None).await.unwrap();
        assert_eq!(p.state, State::Pending, "{wallet:?}: {p:?}");
        assert!(p.qr_payload.as_deref().is_some_and(|q| !q.is_empty()));
        rig.sandbox.customer_pay(&p.id).expect("customer pays");
        let p = rig.cashier.wait_settled(&p.id).await.unwrap().payment;
        assert_eq!(p.state, State::Paid, "{wallet:?}");
        assert_eq!(rig.sandbox.truth().charges.len(), 1);
        rig.assert_matches_truth();
    }
}

#[tokio::test]
async fn a_qr_cancelled_by_the_clerk_is_closed_or_watched_never_failed() {
    // WeChat: the order exists from the start, and closeorder closes it.
    let rig = rig().await;
    let p = rig.cashier.start_qr("wechat", "5.00", None, None).await.unwrap();
    rig.cashier.cancel(&p.id).unwrap();
    let p = rig.cashier.wait_settled(&p.id).await.unwrap().payment;
    assert_eq!(p.state, State::Closed);
    assert!(rig.sandbox.customer_pay(&p.id).is_err(), "a closed order cannot be paid");

    // Alipay: nobody scanned it, so no trade exists to close: it lapses, watched; a late payment
    // (the customer had photographed the code) is still taken.
    let rig = rig_with(fast_sandbox(), |_| {}).await;
    let p = rig.cashier.start_qr("alipay", "5.00", None, None).await.unwrap();
    rig.cashier.cancel(&p.id).unwrap();
    let p = rig.cashier.wait_settled(&p.id).await.unwrap().payment;
    assert_eq!(p.state, State::Lapsed, "{p:?}");
    rig.sandbox.customer_pay(&p.id).expect("still payable until timeout_express");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        rig.cashier.recover().await;
        let now = rig.cashier.ledger().payment(&p.id).unwrap();
        if now.state == State::Paid {
            assert!(now.late, "a late payment is flagged");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the late payment was not found: {now:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    rig.assert_matches_truth();
}

#[tokio::test]
async fn refunds_partial_and_full_and_a_resend_refunds_once() {
    for wallet in [Alipay, Wechat] {
        let (rig, p) = barcode(wallet, "100.00", "00").await;
        let r1 = rig.cashier.refund(&rig.approve(Action::Refund), &p.id, "30.00", "退一件").await.unwrap();
        assert_eq!(r1.state, RefundState::Succeeded, "{wallet:?}: {r1:?}");
        let r2 = rig.cashier.refund(&rig.approve(Action::Refund), &p.id, "70.00", "退款").await.unwrap();
        assert_eq!(r2.state, RefundState::Succeeded, "{wallet:?}");
        assert_eq!(rig.cashier.ledger().refundable(&p.id).unwrap(), Fen(0));
        // Recovery re-sends nothing that is done; the sandbox refunded each number once.
        rig.cashier.recover().await;
        let truth = rig.sandbox.truth();
        assert_eq!(truth.refunds.iter().map(|r| r.amount_fen).collect::<Vec<_>>(), [3000, 7000], "{wallet:?}");
        rig.assert_matches_truth();
    }
}

#[tokio::test]
async fn wechat_refunds_that_are_slow_closed_or_abnormal() {
    let (rig, p) = barcode(Wechat, "100.00", "00").await;
    // x.97: PROCESSING at first, then SUCCESS: pending, finished by recovery's re-send.
    let slow = rig.cashier.refund(&rig.approve(Action::Refund), &p.id, "10.97", "慢").await.unwrap();
    assert_eq!(slow.state, RefundState::Pending, "{slow:?}");
    rig.cashier.recover().await;
    assert_eq!(rig.cashier.ledger().refund(&slow.id).unwrap().state, RefundState::Succeeded);
    // x.95: REFUNDCLOSE: failed, nothing returned.
    let closed = rig.cashier.refund(&rig.approve(Action::Refund), &p.id, "1.95", "关").await.unwrap();
    assert_eq!(closed.state, RefundState::Failed);
    assert_eq!(closed.failure_code.as_deref(), Some("REFUNDCLOSE"));
    // x.96: CHANGE: the money left but did not arrive; unknown, for a person.
    let odd = rig.cashier.refund(&rig.approve(Action::Refund), &p.id, "1.96", "异常").await.unwrap();
    assert_eq!(odd.state, RefundState::Unknown);
    assert!(odd.failure_message.as_deref().unwrap_or("").contains("CHANGE"), "{odd:?}");
}

#[tokio::test]
async fn alipay_in_certificate_mode() {
    let rig = rig_with(SandboxOptions { alipay_cert_mode: true, ..fast_sandbox() }, common::alipay_cert_mode).await;
    let p = pay_code(&rig, "alipay", &alipay_code("00"), "8.00").await;
    assert_eq!(p.state, State::Paid);
    rig.assert_matches_truth();
    // The same sandbox refuses a cashier in public-key mode: it sends no certificate SNs.
    let rig = rig_with(SandboxOptions { alipay_cert_mode: true, ..fast_sandbox() }, |_| {}).await;
    let p = pay_code(&rig, "alipay", &alipay_code("00"), "8.00").await;
    assert_ne!(p.state, State::Paid, "{p:?}");
    assert!(rig.sandbox.truth().charges.is_empty());
}

#[tokio::test]
async fn a_scan_goes_to_the_channel_of_its_wallet_whatever_is_selected() {
    let rig = rig().await;
    // WeChat selected, an Alipay code scanned: Alipay takes it, and the other way round.
    let a = pay_code(&rig, "wechat", &alipay_code("00"), "1.00").await;
    assert_eq!((a.channel.as_str(), a.state), ("alipay", State::Paid));
    let w = pay_code(&rig, "alipay", &wechat_code("00"), "2.00").await;
    assert_eq!((w.channel.as_str(), w.state), ("wechat", State::Paid));
    // A channel that takes the code keeps it when it is the one selected.
    let abc = pay_code(&rig, "abc", &alipay_code("00"), "3.00").await;
    assert_eq!(abc.channel, "abc");
    rig.assert_matches_truth();
}

/// Polling slowed so only a notify can move a QR payment.
fn slow_polls(c: &mut paydesk_core::config::Config) {
    c.timing.qr_poll_interval_ms = 60_000;
    c.timing.qr_timeout_ms = 60_000;
    c.timing.late_horizon_ms = 120_000;
}

#[tokio::test]
async fn the_wallets_notifies_settle_a_qr_payment_before_any_poll() {
    for wallet in [Alipay, Wechat] {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}/notify/{}", wallet.channel());
        let rig = rig_with(fast_sandbox(), |c| {
            slow_polls(c);
            match wallet {
                Alipay => c.channels.alipay.as_mut().unwrap().notify_url = Some(url.clone()),
                Wechat => c.channels.wechat.as_mut().unwrap().notify_url = Some(url.clone()),
            }
        })
        .await;
        let (_addr, _task) =
            paydesk_core::notify::serve(rig.cashier.clone(), &format!("127.0.0.1:{port}")).await.unwrap();
        let p = rig.cashier.start_qr(wallet.channel(), "12.00", None, None).await.unwrap();
        rig.sandbox.customer_pay(&p.id).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while rig.cashier.ledger().payment(&p.id).unwrap().state != State::Paid {
            assert!(std::time::Instant::now() < deadline, "{wallet:?}: the notify never settled the payment");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let record = rig.sandbox.notifies().into_iter().find(|n| n.order_no == p.id).expect("a notify was sent");
        assert!(record.acknowledged, "{wallet:?}: our answer is the one the wallet expects: {record:?}");
        let events = rig.cashier.ledger().events(&p.id).unwrap();
        assert!(
            events.iter().any(|e| e.detail.to_string().contains("\"notify\"")),
            "{wallet:?}: settled by the notify"
        );
        rig.assert_matches_truth();
    }
}

#[tokio::test]
async fn forged_wallet_notifies_change_nothing() {
    use paydesk_core::channel::alipay::sign::{sign_content, AppSigner};
    use paydesk_core::channel::wechat::xml;
    use paydesk_core::engine::NoticeTaken;
    let rig = rig_with(fast_sandbox(), slow_polls).await;
    // Alipay: signed with the app's own key instead of Alipay's.
    let p = rig.cashier.start_qr("alipay", "12.00", None, None).await.unwrap();
    let fields = [
        ("app_id", paydesk_sandbox::ALIPAY_APP_ID),
        ("out_trade_no", p.id.as_str()),
        ("trade_status", "TRADE_SUCCESS"),
        ("total_amount", "12.00"),
    ];
    let forger = AppSigner::from_pem(paydesk_sandbox::demo_keys::ALIPAY_APP_PRIVATE_PEM).unwrap();
    let sign = forger.sign(&sign_content(fields, &["sign", "sign_type"]));
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.extend_pairs(fields).append_pair("sign_type", "RSA2").append_pair("sign", &sign);
    let taken = rig.cashier.take_notify("alipay", None, form.finish().as_bytes()).await;
    assert!(!matches!(taken, NoticeTaken::Applied), "{taken:?}");
    assert_eq!(rig.cashier.ledger().payment(&p.id).unwrap().state, State::Pending);
    // WeChat: signed with another key.
    let rig = rig_with(fast_sandbox(), slow_polls).await;
    let q = rig.cashier.start_qr("wechat", "13.00", None, None).await.unwrap();
    let mut f: xml::Fields = [
        ("return_code", "SUCCESS"),
        ("result_code", "SUCCESS"),
        ("appid", paydesk_sandbox::WECHAT_APPID),
        ("mch_id", paydesk_sandbox::WECHAT_MCH_ID),
        ("out_trade_no", q.id.as_str()),
        ("total_fee", "1300"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let forged_sign = xml::sign(&f, &"0".repeat(32), paydesk_core::config::WechatSignType::HmacSha256);
    f.insert("sign".into(), forged_sign);
    let taken = rig.cashier.take_notify("wechat", None, xml::write(&f).as_bytes()).await;
    assert!(!matches!(taken, NoticeTaken::Applied), "{taken:?}");
    assert_eq!(rig.cashier.ledger().payment(&q.id).unwrap().state, State::Pending);
    assert!(rig.sandbox.truth().charges.is_empty());
}

/// A cashier whose WeChat channel talks to the sandbox's mutual-TLS listener, presenting the
/// client certificate in `cert`/`key` (file names in the demo key folder).
async fn over_tls(cert: &str, key: &str) -> Rig {
    let sandbox = paydesk_sandbox::Sandbox::start(SandboxOptions {
        tls_listen: Some("127.0.0.1:0".parse().unwrap()),
        ..fast_sandbox()
    })
    .await
    .unwrap();
    let mut config = common::config_for(&sandbox.base_url());
    let keys = common::key_dir();
    let w = config.channels.wechat.as_mut().unwrap();
    w.base_url = sandbox.tls_base_url().expect("a TLS listener");
    w.extra_ca_cert = Some(keys.join("wechat_ca_cert.pem"));
    (w.client_cert, w.client_key) = (keys.join(cert), keys.join(key));
    let dir = tempfile::tempdir().unwrap();
    let ledger = std::sync::Arc::new(paydesk_core::ledger::Ledger::open(&dir.path().join("ledger.db")).unwrap());
    let channels = paydesk_core::channel::from_config(&config).unwrap();
    Rig { sandbox, cashier: paydesk_core::engine::Cashier::new(config, ledger, channels), dir }
}

#[tokio::test]
async fn wechat_reverse_and_refund_present_the_client_certificate() {
    let rig = over_tls("wechat_apiclient_cert.pem", "wechat_apiclient_key.pem").await;
    // Reverse at the deadline (90: never confirmed), over mutual TLS.
    let p = pay_code(&rig, "wechat", &wechat_code("90"), "5.00").await;
    assert_eq!(p.state, State::Reversed, "{p:?}");
    let paid = pay_code(&rig, "wechat", &wechat_code("00"), "20.00").await;
    assert_eq!(paid.state, State::Paid);
    let r = rig.cashier.refund(&rig.approve(Action::Refund), &paid.id, "20.00", "退款").await.unwrap();
    assert_eq!(r.state, RefundState::Succeeded, "{r:?}");
    rig.assert_matches_truth();

    // A certificate not issued for this merchant: the gateway refuses the connection, nothing
    // is charged, and the payment is never called paid.
    let rig = over_tls("merchant_cert.pem", "merchant_private.pem").await;
    let p = pay_code(&rig, "wechat", &wechat_code("00"), "20.00").await;
    assert_ne!(p.state, State::Paid, "{p:?}");
    assert!(rig.sandbox.truth().charges.is_empty());
    assert_eq!(rig.sandbox.calls("/pay/micropay"), 0, "refused before any call was answered");
}
