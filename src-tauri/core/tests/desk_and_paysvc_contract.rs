//! `cashdesk` and `paysvc` through the engine against the sandbox over real HTTP on loopback:
//! the page paid by the customer, the page never paid (lapsed: neither channel can close, and our
//! clock alone never makes it final), a customer who pays after the lapse (found, paid, late),
//! both signing schemes, refused signatures, and the payment form read into our own page.

mod common;

use common::{fast_sandbox, rig, rig_with, Rig};
use paydesk_core::channel::paysvc::HostedForm;
use paydesk_core::channel::Display;
use paydesk_core::config::SignScheme;
use paydesk_core::ledger::State;
use paydesk_core::people::Action;
use paydesk_sandbox::SandboxOptions;

fn events_text(rig: &Rig, id: &str) -> String {
    rig.cashier.ledger().events(id).unwrap().iter().map(|e| e.detail.to_string()).collect::<Vec<_>>().join("\n")
}

/// Follows the page link the way a phone would, to the sandbox's customer page.
async fn open_page(url: &str) -> reqwest::Response {
    reqwest::Client::builder().no_proxy().build().unwrap().get(url).send().await.unwrap()
}

#[tokio::test]
async fn cashdesk_page_paid_by_the_customer() {
    let rig = rig().await;
    assert_eq!(rig.cashier.display_of("cashdesk"), Display::Qr);
    let caps = rig.cashier.channel("cashdesk").unwrap().capabilities().clone();
    assert!(!caps.barcode && !caps.close && !caps.refund && !caps.cancel);
    let p = rig.cashier.start_qr("cashdesk", "45.60", Some("会员充值"), None).await.unwrap();
    assert_eq!(p.state, State::Pending);
    let page = p.qr_payload.clone().unwrap();
    assert!(page.contains("/cashier-desk-web/payment?token="), "{page}");
    // One channel per type was kept of the desk's list, recorded, and sent to payment/list: the
    // customer's page offers only those (the second Alipay entry, sorted after, is gone).
    let audit = events_text(&rig, &p.id);
    assert!(audit.contains("channels_kept") && audit.contains("payment_list"), "{audit}");
    let html = open_page(&page).await.text().await.unwrap();
    assert!(html.contains("沙箱支付宝H5") && html.contains("沙箱微信H5"), "{html}");
    assert!(!html.contains("沙箱支付宝H5备用"), "a channel the cashier did not keep is offered: {html}");
    assert!(html.contains(&format!("/pay/{}", p.id)), "{html}");
    rig.sandbox.customer_pay(&p.id).unwrap();
    let p = rig.cashier.wait_settled(&p.id).await.unwrap().payment;
    assert_eq!(p.state, State::Paid);
    assert!(p.paid_at.is_some());
    rig.assert_matches_truth();
    assert!(
        rig.cashier.refund(&rig.approve(Action::Refund), &p.id, "1.00", "退款").await.is_err(),
        "no refund call exists"
    );
}

#[tokio::test]
async fn cashdesk_page_never_paid_lapses_is_watched_and_never_closed_on_our_clock() {
    let rig = rig().await;
    let p = rig.cashier.start_qr("cashdesk", "45.99", None, None).await.unwrap();
    let p = rig.cashier.wait_settled(&p.id).await.unwrap().payment;
    assert_eq!(p.state, State::Lapsed, "page lifetime + horizon passed with NULL: unpaid, not closed");
    assert!(!p.state.is_final() && !p.state.is_open());
    assert!(events_text(&rig, &p.id).contains("lapsed"));
    assert!(!events_text(&rig, &p.id).contains("\"close\""), "no close call was made");
    let watch = p.watch_until.expect("watched");
    assert!(watch - p.updated_at >= 86_640_000 - 1_000, "at least the desk's 24 h 4 min notify window");
    assert!(p.recheck_at.is_some());
    // Shown as unpaid; not unresolved (a Z needs no reason for it); out of the totals.
    let view = rig.cashier.view(&p);
    assert!(view.is_final && view.phase == paydesk_core::engine::Phase::Done, "over for the clerk");
    assert!(view.message.contains("未付款"), "{}", view.message);
    assert!(rig.cashier.unresolved().unwrap().is_empty());
    // Each recheck finds it still unpaid and waits longer for the next.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(rig.cashier.recover().await.rechecked, 1);
    let again = rig.cashier.ledger().payment(&p.id).unwrap();
    assert_eq!(again.state, State::Lapsed);
    assert!(again.recheck_every_ms > p.recheck_every_ms, "backing off");
    rig.assert_matches_truth();
}

/// The customer pays after the page lapsed (the seeds name no expiry, so the channel takes it):
/// the watch finds it, and it is paid, late, alerted, with the lapse kept in its events.
#[tokio::test]
async fn a_customer_who_pays_after_the_lapse_is_found_paid_late_on_both_page_channels() {
    for channel in ["cashdesk", "paysvc"] {
        let rig = rig().await;
        let mut updates = rig.cashier.subscribe();
        let p = rig.cashier.start_qr(channel, "33.30", None, None).await.unwrap();
        let p = rig.cashier.wait_settled(&p.id).await.unwrap().payment;
        assert_eq!(p.state, State::Lapsed, "{channel}");
        rig.sandbox.customer_pay(&p.id).expect("the channel still takes the payment");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let paid = loop {
            rig.cashier.recover().await;
            let now = rig.cashier.ledger().payment(&p.id).unwrap();
            if now.state == State::Paid {
                break now;
            }
            assert!(std::time::Instant::now() < deadline, "{channel}: the late payment was never found");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        assert!(paid.late, "{channel}");
        assert!(rig.cashier.ledger().unacknowledged_alerts().unwrap().iter().any(|a| a.id == p.id));
        let mut alerted = false;
        while let Ok(u) = updates.try_recv() {
            alerted |= matches!(u, paydesk_core::engine::Update::LateAlert { payment } if payment.id == p.id);
        }
        assert!(alerted, "{channel}: the clerk is alerted");
        let steps: Vec<_> = rig
            .cashier
            .ledger()
            .events(&p.id)
            .unwrap()
            .into_iter()
            .filter_map(|e| Some((e.from_state?, e.to_state?)))
            .collect();
        assert!(steps.contains(&("lapsed".into(), "paid".into())), "{channel}: {steps:?}");
        rig.assert_matches_truth();
    }
}

#[tokio::test]
async fn cashdesk_sm3_on_both_sides_works_and_a_scheme_mismatch_is_refused() {
    let sm3 = SandboxOptions { cashdesk_sign: paydesk_sandbox::SignScheme::Sm3, ..fast_sandbox() };
    let rig = rig_with(sm3.clone(), |c| c.channels.cashdesk.as_mut().unwrap().sign_scheme = SignScheme::Sm3).await;
    let p = rig.cashier.start_qr("cashdesk", "9.00", None, None).await.unwrap();
    assert_eq!(p.state, State::Pending);
    rig.sandbox.customer_pay(&p.id).unwrap();
    assert_eq!(rig.cashier.wait_settled(&p.id).await.unwrap().payment.state, State::Paid);

    let rig = rig_with(sm3, |_| {}).await; // the cashier signs MD5, the desk expects SM3
    let p = rig.cashier.start_qr("cashdesk", "9.00", None, None).await.unwrap();
    assert_eq!((p.state, p.failure_code.as_deref()), (State::Failed, Some("4001")));
    assert!(rig.cashier.view(&p).message.contains("签名"));
    assert!(rig.sandbox.truth().charges.is_empty());
}

#[tokio::test]
async fn cashdesk_wrong_app_key_is_refused_and_never_logged() {
    let rig = rig_with(fast_sandbox(), |c| {
        c.channels.cashdesk.as_mut().unwrap().app_key = paydesk_core::config::Secret::new("s3cr3t-key")
    })
    .await;
    let p = rig.cashier.start_qr("cashdesk", "9.00", None, None).await.unwrap();
    assert_eq!(p.state, State::Failed);
    assert!(!events_text(&rig, &p.id).contains("s3cr3t-key"));
    assert!(!format!("{:?}", rig.cashier.config()).contains("s3cr3t-key"), "Debug output redacts the key");
}

#[tokio::test]
async fn paysvc_form_opens_our_page_that_reaches_the_customer_page() {
    let rig = rig().await;
    assert_eq!(rig.cashier.display_of("paysvc"), Display::CustomerWindow);
    let p = rig.cashier.start_qr("paysvc", "66.60", Some("测试商品"), None).await.unwrap();
    assert_eq!(p.state, State::Pending);
    let view = rig.cashier.view(&p);
    assert!(view.qr_svg.is_none(), "no QR for a page only a browser can open");
    assert!(view.message.contains("顾客屏"), "{}", view.message);
    let form: HostedForm = serde_json::from_str(p.qr_payload.as_deref().unwrap()).unwrap();
    assert!(form.action.ends_with("/alipay/gateway.do"), "{}", form.action);
    // Submit the form as the customer window would: it lands on the customer page.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let landed = http.post(&form.action).form(&form.fields).send().await.unwrap();
    assert!(landed.url().path().ends_with(&format!("/pay/{}", p.id)), "{}", landed.url());
    rig.sandbox.customer_pay(&p.id).unwrap();
    let p = rig.cashier.wait_settled(&p.id).await.unwrap().payment;
    assert_eq!(p.state, State::Paid);
    assert!(p.channel_trade_no.is_some());
    rig.assert_matches_truth();
}

#[tokio::test]
async fn paysvc_page_never_paid_lapses_and_a_gateway_outside_the_list_is_refused() {
    let rig = rig().await;
    let p = rig.cashier.start_qr("paysvc", "6.99", None, None).await.unwrap();
    let p = rig.cashier.wait_settled(&p.id).await.unwrap().payment;
    assert_eq!(p.state, State::Lapsed);
    assert!(p.watch_until.unwrap() - p.updated_at >= 90_000_000 - 1_000, "about Alipay's 25 h of notifies");
    assert!(events_text(&rig, &p.id).contains("lapsed"));

    let rig = rig_with(fast_sandbox(), |c| {
        c.channels.paysvc.as_mut().unwrap().gateway_hosts = vec!["openapi.alipay.com".into()]
    })
    .await;
    let p = rig.cashier.start_qr("paysvc", "6.00", None, None).await.unwrap();
    assert_eq!(p.state, State::Failed, "a form to an unlisted host is never shown, so nobody can pay");
    assert_eq!(p.failure_code.as_deref(), Some("BAD_PAGE"));
    assert!(p.failure_message.as_deref().unwrap_or("").contains("not an allowed gateway"));
    assert!(rig.cashier.view(&p).message.contains("未扣款"));
}

/// Garbled bodies and HTML error pages instead of JSON, on every new channel: the payment is
/// unknown (never failed), the raw reply is kept in its events, and a clear answer later settles it.
#[tokio::test]
async fn garbled_and_html_replies_are_unknown_with_the_raw_reply_kept() {
    use paydesk_sandbox::Faults;
    let rig = rig_with(fast_sandbox(), |c| c.timing.qr_timeout_ms = 4_000).await;
    for (channel, faults) in [
        ("lakala", Faults { garble_percent: 100, ..Faults::default() }),
        ("cashdesk", Faults { fail_after_percent: 100, ..Faults::default() }),
        ("paysvc", Faults { garble_percent: 100, ..Faults::default() }),
    ] {
        rig.sandbox.set_faults(faults);
        let p = rig.cashier.start_qr(channel, "5.00", None, None).await.unwrap();
        assert_eq!(p.state, State::Unknown, "{channel}: no usable reply, no QR, never failed");
        let audit = events_text(&rig, &p.id);
        assert!(audit.contains("\"status\":"), "{channel}: the raw reply is on record: {audit}");
        rig.sandbox.set_faults(Faults::default());
        let p = rig.cashier.wait_settled(&p.id).await.unwrap().payment;
        assert_ne!(p.state, State::Failed, "{channel}: an order the channel acknowledged is never failed by silence");
    }
    // A barcode payment whose reply is garbled: charged, unknown, then found paid by query.
    rig.sandbox.set_faults(Faults { garble_percent: 100, ..Faults::default() });
    let code = common::alipay_code("10");
    let req = paydesk_core::engine::BarcodeRequest {
        channel: "lakala",
        amount_text: "7.00",
        code: &code,
        source: "test",
        subject: None,
        charge: None,
    };
    let p = rig.cashier.start_barcode(&req).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    rig.sandbox.set_faults(Faults::default());
    let p = rig.cashier.wait_settled(&p.id).await.unwrap().payment;
    assert_eq!(p.state, State::Paid);
    let states: Vec<_> = rig.cashier.ledger().events(&p.id).unwrap().into_iter().filter_map(|e| e.to_state).collect();
    assert_eq!(states[1], "unknown");
    assert!(!events_text(&rig, &p.id).contains(&code), "the payment code is masked in the raw replies");
}

/// Yuan amounts: written plain by default (`12.3`), which verifies whether the desk signs the
/// number as it reads it or as it was written; with `two_decimals` (`12.30`) only a desk that
/// keeps the text accepts it, and one that reads the number refuses the signature.
#[tokio::test]
async fn cashdesk_in_yuan_writes_and_signs_the_amount_as_configured() {
    use paydesk_core::config::{AmountText, AmountUnit};
    use paydesk_sandbox::AmountReading;
    for (reading, text, sent, accepted) in [
        (AmountReading::AsNumber, AmountText::Plain, ["1", "12.3", "45.67"], true),
        (AmountReading::AsWritten, AmountText::Plain, ["1", "12.3", "45.67"], true),
        (AmountReading::AsWritten, AmountText::TwoDecimals, ["1.00", "12.30", "45.67"], true),
        (AmountReading::AsNumber, AmountText::TwoDecimals, ["1.00", "12.30", "45.67"], false),
    ] {
        let desk = SandboxOptions {
            cashdesk_amount_unit: paydesk_sandbox::AmountUnit::Yuan,
            cashdesk_amount_reading: reading,
            ..fast_sandbox()
        };
        let rig = rig_with(desk, |c| {
            let d = c.channels.cashdesk.as_mut().unwrap();
            (d.amount_unit, d.amount_text) = (AmountUnit::Yuan, text);
        })
        .await;
        for (typed, wire) in ["1.00", "12.30", "45.67"].into_iter().zip(sent) {
            let p = rig.cashier.start_qr("cashdesk", typed, None, None).await.unwrap();
            assert!(events_text(&rig, &p.id).contains(&format!("\\\"amount\\\":{wire},")), "sent as {wire}");
            if !accepted {
                // `12.30` is signed as `12.3` by such a desk; `45.67` has nothing to lose.
                let refused = typed != "45.67";
                assert_eq!(p.state == State::Failed, refused, "{reading:?} {text:?} {typed}: {:?}", p.failure_code);
                if refused {
                    assert_eq!(p.failure_code.as_deref(), Some("4001"));
                    continue;
                }
            }
            assert_eq!(p.state, State::Pending, "{reading:?} {text:?} {typed}: {:?}", p.failure_code);
            rig.sandbox.customer_pay(&p.id).unwrap();
            assert_eq!(rig.cashier.wait_settled(&p.id).await.unwrap().payment.state, State::Paid);
        }
        rig.assert_matches_truth();
    }
}

/// Seed 002's `NULL` as a desk may write it: the text, JSON `null`, or no `resultCode` at all, in
/// the flat reply or the envelope. Each is "no result yet": paid when the customer pays, lapsed
/// (never unknown for ever) when they do not.
#[tokio::test]
async fn cashdesk_no_result_written_any_way_is_unpaid_not_unknown() {
    use paydesk_sandbox::{NoResult, QueryForm};
    for (style, form) in [
        (NoResult::JsonNull, QueryForm::Flat),
        (NoResult::Absent, QueryForm::Flat),
        (NoResult::JsonNull, QueryForm::Envelope),
        (NoResult::Text, QueryForm::Flat),
    ] {
        let opts = SandboxOptions { cashdesk_no_result: style, cashdesk_query_form: form, ..fast_sandbox() };
        let rig = rig_with(opts, |_| {}).await;
        let paid = rig.cashier.start_qr("cashdesk", "7.00", None, None).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let waiting = rig.cashier.ledger().payment(&paid.id).unwrap();
        assert_eq!(waiting.state, State::Pending, "{style:?} {form:?}: {}", events_text(&rig, &paid.id));
        rig.sandbox.customer_pay(&paid.id).unwrap();
        assert_eq!(rig.cashier.wait_settled(&paid.id).await.unwrap().payment.state, State::Paid, "{style:?}");
        let never = rig.cashier.start_qr("cashdesk", "7.99", None, None).await.unwrap();
        let never = rig.cashier.wait_settled(&never.id).await.unwrap().payment;
        assert_eq!(never.state, State::Lapsed, "{style:?} {form:?}");
        rig.assert_matches_truth();
    }
}
