//! Bad input ends in a clear message in the user's language and leaves the ledger consistent:
//! malformed amounts, codes that are not payment codes, an unreachable channel, garbled and
//! truncated replies.

mod common;

use common::{alipay_code, config_for, fast_sandbox, rig, rig_with};
use paydesk_core::engine::{BarcodeRequest, Cashier, CheckoutError};
use paydesk_core::i18n::{Lang, Localized};
use paydesk_core::ledger::{Ledger, State};
use paydesk_sandbox::Faults;
use std::sync::Arc;

fn barcode<'a>(amount: &'a str, code: &'a str) -> BarcodeRequest<'a> {
    BarcodeRequest { channel: "abc", amount_text: amount, code, source: "test", subject: None, charge: None }
}

fn no_payments(cashier: &Cashier) -> bool {
    cashier.ledger().payments_created_between(0, i64::MAX, 10).unwrap().is_empty()
}

#[tokio::test]
async fn malformed_amounts_are_refused_with_a_message_and_record_nothing() {
    let rig = rig().await;
    let code = alipay_code("10");
    for amount in ["12.345", "-1", "1e3", "", " 1", "１２", "50000.01", "12.", "abc", "0"] {
        let err = rig.cashier.start_barcode(&barcode(amount, &code)).unwrap_err();
        assert!(matches!(err, CheckoutError::Amount(_)), "{amount:?}: {err:?}");
        assert_eq!(err.code(), "amount");
        let zh = err.message(Lang::Zh);
        assert!(!zh.is_ascii(), "{amount:?}: {zh}");
        let qr = rig.cashier.start_qr("abc", amount, None, None).await.unwrap_err();
        assert!(matches!(qr, CheckoutError::Amount(_)));
    }
    assert!(no_payments(&rig.cashier));
    assert!(rig.sandbox.truth().charges.is_empty());
}

#[tokio::test]
async fn codes_that_are_not_payment_codes_never_reach_the_channel() {
    // abc alone: a WeChat code has no channel to go to (with a WeChat channel it is routed there).
    let rig = rig_with(fast_sandbox(), |c| {
        let abc = c.channels.abc.take();
        c.channels = paydesk_core::config::Channels { abc, ..Default::default() };
    })
    .await;
    for (code, expect) in [
        ("6901234567892", "扫到的是商品条码"),
        ("134567890123456789", "不支持微信付款码"),
        ("https://qr.alipay.com/x", "这不是付款码"),
        ("280123456789012", "这不是付款码"),
        ("", "没有读到付款码"),
        ("28000000000000001０", "这不是付款码"),
    ] {
        let err = rig.cashier.start_barcode(&barcode("1.00", code)).unwrap_err();
        assert!(matches!(err, CheckoutError::Code(_)), "{code:?}: {err:?}");
        assert!(err.message(Lang::Zh).contains(expect), "{code:?}: {}", err.message(Lang::Zh));
        assert!(!err.message(Lang::En).is_empty());
    }
    assert!(no_payments(&rig.cashier));
}

#[tokio::test]
async fn an_unknown_channel_is_refused() {
    let rig = rig().await;
    let err = rig
        .cashier
        .start_barcode(&BarcodeRequest { channel: "nope", ..barcode("1.00", &alipay_code("10")) })
        .unwrap_err();
    assert_eq!(err.code(), "unknown_channel");
    assert!(no_payments(&rig.cashier));
}

#[tokio::test]
async fn an_unreachable_channel_fails_with_nothing_charged_and_says_so() {
    // A port nothing listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = config_for(&format!("http://127.0.0.1:{port}"));
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(Ledger::open(&dir.path().join("l.db")).unwrap());
    let cashier = Cashier::new(config.clone(), ledger, paydesk_core::channel::from_config(&config).unwrap());
    let p = cashier.start_barcode(&barcode("9.99", &alipay_code("10"))).unwrap();
    let p = cashier.wait_settled(&p.id).await.unwrap().payment;
    assert_eq!(p.state, State::Failed);
    assert_eq!(p.failure_code.as_deref(), Some("NOT_SENT"));
    assert!(cashier.view(&p).message.contains("无法连接收款渠道，未扣款"));
    cashier.set_lang(Lang::En);
    assert!(cashier.view(&p).message.contains("Cannot reach the payment channel"));
    let q = cashier.start_qr("abc", "9.99", None, None).await.unwrap();
    assert_eq!(q.state, State::Failed);
    assert!(cashier.ledger().open_payments().unwrap().is_empty(), "nothing left hanging");
}

#[tokio::test]
async fn garbled_and_truncated_replies_stay_unknown_until_a_clear_answer() {
    let rig = rig_with(fast_sandbox(), |c| c.timing.late_horizon_ms = 1_600).await;
    // Every reply garbled: the pay call is processed (charged), then the body is cut.
    rig.sandbox.set_faults(Faults { garble_percent: 100, ..Faults::default() });
    let p = rig.barcode("33.00", "10").await.payment;
    assert_eq!(p.state, State::Unknown, "a garbled reply is never a failure");
    assert!(
        rig.cashier.view(&p).message.contains("不要重复收款") || rig.cashier.view(&p).message.contains("请勿重复收款")
    );
    let events = rig.cashier.ledger().events(&p.id).unwrap();
    assert!(events.iter().any(|e| e.detail.to_string().contains("unreadable reply")));
    // Recovery with the channel still garbling changes nothing.
    rig.cashier.recover().await;
    assert_eq!(rig.cashier.ledger().payment(&p.id).unwrap().state, State::Unknown);
    // A clear answer resolves it.
    rig.sandbox.set_faults(Faults::default());
    let summary = rig.cashier.recover().await;
    assert_eq!((summary.examined, summary.resolved), (1, 1));
    assert_eq!(rig.cashier.ledger().payment(&p.id).unwrap().state, State::Paid);
    rig.assert_matches_truth();
}

#[tokio::test]
async fn server_errors_before_processing_leave_unknown_then_recovery_settles_them() {
    let rig = rig_with(fast_sandbox(), |c| c.timing.late_horizon_ms = 1_600).await;
    rig.sandbox.set_faults(Faults { fail_before_percent: 100, ..Faults::default() });
    let p = rig.barcode("12.00", "10").await.payment;
    assert_eq!(p.state, State::Unknown, "a 503 is not a definitive no");
    rig.sandbox.set_faults(Faults::default());
    rig.cashier.recover().await;
    // The service never saw the order; past the horizon "not found" means nothing was charged.
    let p = rig.cashier.ledger().payment(&p.id).unwrap();
    assert_eq!(p.state, State::Failed);
    assert_eq!(p.failure_code.as_deref(), Some("ORDER_NOT_FOUND"));
    rig.assert_matches_truth();
}

#[tokio::test]
async fn a_second_payment_while_one_waits_is_refused() {
    let rig = rig().await;
    let first = rig.cashier.start_barcode(&barcode("5.00", &alipay_code("85"))).unwrap();
    // The same code scanned again at once, and another code: both refused, nothing recorded.
    for code in [alipay_code("85"), alipay_code("10")] {
        let err = rig.cashier.start_barcode(&barcode("5.00", &code)).unwrap_err();
        assert_eq!(err, CheckoutError::CounterBusy(first.id.clone()));
        assert!(err.message(Lang::Zh).contains("还在等待顾客"));
    }
    assert_eq!(rig.cashier.ledger().payments_created_between(0, i64::MAX, 10).unwrap().len(), 1);
    let done = rig.cashier.wait_settled(&first.id).await.unwrap().payment;
    assert_eq!(done.state, State::Paid);
    // Free again.
    let next = rig.cashier.start_barcode(&barcode("5.00", &alipay_code("11"))).unwrap();
    assert_eq!(rig.cashier.wait_settled(&next.id).await.unwrap().payment.state, State::Paid);
    rig.assert_matches_truth();
}

#[tokio::test]
async fn an_order_the_channel_acknowledged_then_forgot_is_unknown_never_failed() {
    let rig = rig_with(fast_sandbox(), |c| c.timing.late_horizon_ms = 500).await;
    let p = rig.cashier.start_qr("abc", "7.00", None, None).await.unwrap();
    assert_eq!(p.state, State::Pending, "the channel gave a QR link: it knows the order");
    rig.cashier.cancel(&p.id).unwrap();
    // The channel loses its books (a restart without its state): the order is "not found".
    let addr = rig.sandbox.addr();
    rig.sandbox.shutdown().await;
    let amnesiac = paydesk_sandbox::Sandbox::start(paydesk_sandbox::SandboxOptions { listen: addr, ..fast_sandbox() })
        .await
        .unwrap();
    let now = rig.cashier.query_now(&p.id).await.unwrap();
    assert_eq!(now.state, State::Unknown, "a contradiction for a person, not a quiet failure");
    let events = rig.cashier.ledger().events(&p.id).unwrap();
    assert!(events.iter().any(|e| e.detail.to_string().contains("acknowledged this order")));
    assert!(rig.cashier.open_payments().unwrap().iter().any(|o| o.id == p.id), "listed for a person");
    drop(amnesiac);
}

/// A create refused with a code no list of ours names, on every channel and transport: the
/// channel showed no page, so nobody can pay. The payment fails at once with the channel's own
/// words, and the clerk's message is true of what the customer saw (no QR was ever shown).
#[tokio::test]
async fn a_create_refused_with_an_unlisted_code_fails_on_every_channel() {
    use paydesk_core::config::{Config, LakalaQr};
    let backend = |qr: LakalaQr| {
        move |c: &mut Config| {
            common::lakala_backend(c);
            c.channels.lakala.as_mut().unwrap().qr_api = Some(qr);
        }
    };
    let direct_counter = |c: &mut Config| {
        let l = c.channels.lakala.as_mut().unwrap();
        (l.qr_api, l.methods) = (Some(LakalaQr::Counter), vec!["ALIPAY".into()]);
    };
    type Tweak = Box<dyn Fn(&mut Config)>;
    let cases: Vec<(&str, &str, Tweak)> = vec![
        ("abc", "TRADE_NOT_ALLOWED", Box::new(|_| {})),
        ("lakala", "BBS19999", Box::new(|_| {})),
        ("lakala", "CCSS1999", Box::new(direct_counter)),
        ("lakala", "TRADE_NOT_ALLOWED", Box::new(backend(LakalaQr::Counter))),
        ("lakala", "TRADE_NOT_ALLOWED", Box::new(backend(LakalaQr::Preorder))),
        ("cashdesk", "4999", Box::new(|_| {})),
        ("paysvc", "CREATE_REFUSED", Box::new(|_| {})),
    ];
    for (channel, code, tweak) in cases {
        let rig = rig_with(fast_sandbox(), |c| tweak(c)).await;
        let p = rig.cashier.start_qr(channel, "12.98", None, None).await.unwrap();
        assert_eq!((p.state, p.failure_code.as_deref()), (State::Failed, Some(code)), "{channel} {code}");
        let message = rig.cashier.view(&p).message;
        assert!(message.contains("商户交易权限未开通") && message.contains("未扣款"), "{channel}: {message}");
        assert!(!message.contains("二维码已停止显示"), "{channel}: {message}");
        assert!(rig.sandbox.truth().charges.is_empty());
    }
}
