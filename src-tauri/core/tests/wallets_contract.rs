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
    let p = rig
        .cashier
        .start_barcode(&BarcodeRequest {
            channel,
            amount_text: amount,
            code,
            source: "test",
            subject: None,
            charge: None,
        })
        .expect("payment starts");
    rig.cashier.wait_settled(&p.id).await.expect("settles").payment
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
