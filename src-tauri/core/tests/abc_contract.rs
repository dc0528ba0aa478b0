//! The `abc` channel through the engine against the sandbox, over real HTTP on loopback, with a
//! real SQLite ledger: one test per scenario row of CHANNELS.md, the QR flow, and refunds.

mod common;

use common::{alipay_code, fast_sandbox, rig, rig_with, Rig};
use paydesk_core::channel::abc::{AbcChannel, PageKind};
use paydesk_core::channel::{Channel, CreateOutcome, Order, PayOutcome};
use paydesk_core::engine::{ManageError, Update};
use paydesk_core::ledger::{Flow, LedgerError, RefundState, State};
use paydesk_core::money::Fen;
use paydesk_core::people::Action;
use std::time::Duration;

async fn scenario(ending: &str) -> (Rig, paydesk_core::ledger::Payment) {
    let rig = rig().await;
    let settled = rig.barcode("68.00", ending).await;
    rig.assert_matches_truth();
    (rig, settled.payment)
}

fn charges(rig: &Rig) -> usize {
    rig.sandbox.truth().charges.len()
}

#[tokio::test]
async fn ending_00_to_79_is_paid_at_once() {
    for ending in ["00", "42", "79"] {
        let (rig, p) = scenario(ending).await;
        assert_eq!(p.state, State::Paid, "{ending}");
        assert!(!p.late);
        assert!(p.channel_trade_no.is_some());
        assert_eq!(charges(&rig), 1);
        assert_eq!(p.code_masked.as_deref(), Some(&*format!("2800**********00{ending}")));
    }
}

#[tokio::test]
async fn ending_8n_is_user_paying_then_paid() {
    let (rig, p) = scenario("83").await;
    assert_eq!(p.state, State::Paid);
    assert!(!p.late, "paid before the deadline");
    assert_eq!(charges(&rig), 1);
    let kinds: Vec<_> = rig.cashier.ledger().events(&p.id).unwrap().into_iter().filter_map(|e| e.to_state).collect();
    assert_eq!(kinds, ["created", "pending", "paid"]);
}

#[tokio::test]
async fn ending_90_never_confirmed_is_not_dropped_and_ends_closed() {
    let rig = rig().await;
    let mut updates = rig.cashier.subscribe();
    let settled = rig.barcode("68.00", "90").await;
    let p = settled.payment;
    assert_eq!(p.state, State::Closed, "the channel closed the unpaid trade");
    assert!(p.abandoned_at.is_some(), "the clerk was told it is not confirmed");
    let mut phases = vec![];
    while let Ok(Update::Payment { phase, .. }) = updates.try_recv() {
        phases.push(format!("{phase:?}"));
    }
    assert!(phases.contains(&"NotConfirmed".to_string()), "{phases:?}");
    assert_eq!(charges(&rig), 0);
    rig.assert_matches_truth();
}

#[tokio::test]
async fn ending_91_insufficient_funds_fails() {
    let (rig, p) = scenario("91").await;
    assert_eq!(p.state, State::Failed);
    assert_eq!(p.failure_code.as_deref(), Some("BALANCE_NOT_ENOUGH"));
    assert!(rig.cashier.view(&p).message.contains("余额不足"));
}

#[tokio::test]
async fn ending_92_invalid_code_fails() {
    let (_rig, p) = scenario("92").await;
    assert_eq!(p.state, State::Failed);
    assert_eq!(p.failure_code.as_deref(), Some("AUTHCODE_INVALID"));
}

#[tokio::test]
async fn ending_93_dropped_connection_after_charge_is_found_by_query() {
    let (rig, p) = scenario("93").await;
    assert_eq!(p.state, State::Paid);
    assert_eq!(charges(&rig), 1);
    let states: Vec<_> = rig.cashier.ledger().events(&p.id).unwrap().into_iter().filter_map(|e| e.to_state).collect();
    assert_eq!(states, ["created", "unknown", "paid"]);
}

#[tokio::test]
async fn ending_94_hang_past_timeout_with_nothing_charged_fails_after_the_horizon() {
    let (rig, p) = scenario("94").await;
    assert_eq!(p.state, State::Failed);
    assert_eq!(p.failure_code.as_deref(), Some("ORDER_NOT_FOUND"));
    assert_eq!(charges(&rig), 0);
    let states: Vec<_> = rig.cashier.ledger().events(&p.id).unwrap().into_iter().filter_map(|e| e.to_state).collect();
    assert_eq!(states, ["created", "unknown", "failed"], "unknown first: never failed on a timeout");
}

#[tokio::test]
async fn ending_95_http_500_after_charge_is_found_by_query() {
    let (rig, p) = scenario("95").await;
    assert_eq!(p.state, State::Paid);
    assert_eq!(charges(&rig), 1);
}

#[tokio::test]
async fn ending_96_garbled_reply_after_charge_is_found_by_query() {
    let (rig, p) = scenario("96").await;
    assert_eq!(p.state, State::Paid);
    assert_eq!(charges(&rig), 1);
    let events = rig.cashier.ledger().events(&p.id).unwrap();
    let unknown = events.iter().find(|e| e.to_state.as_deref() == Some("unknown")).expect("went unknown");
    assert!(unknown.detail.to_string().contains("unreadable"), "{}", unknown.detail);
}

#[tokio::test]
async fn ending_97_customer_cancels_in_wallet_fails() {
    let (rig, p) = scenario("97").await;
    assert_eq!(p.state, State::Failed);
    assert_eq!(p.failure_code.as_deref(), Some("USER_CANCELLED"));
    assert_eq!(charges(&rig), 0);
}

#[tokio::test]
async fn payment_codes_are_stored_masked_everywhere() {
    let rig = rig().await;
    let code = alipay_code("93");
    let p = rig.barcode("1.00", "93").await.payment;
    let conn = rusqlite::Connection::open(rig.dir.path().join("ledger.db")).unwrap();
    let mut stmt = conn.prepare("SELECT detail FROM payment_events").unwrap();
    let details: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
    let row: String = conn
        .query_row(
            "SELECT COALESCE(code_masked, '') || subject || COALESCE(failure_message, '') FROM payments WHERE id = ?1",
            [&p.id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!row.contains(&code));
    assert!(details.iter().all(|d| !d.contains(&code)), "a payment code reached the events");
    assert!(details.iter().any(|d| d.contains("2800**********0093")));
}

#[tokio::test]
async fn a_late_payment_after_the_clerk_gave_up_is_kept_and_alerted() {
    // The customer confirms only after the clerk's 1.5 s wait: "8N" with N=9 and slow polls.
    let rig = rig_with(fast_sandbox(), |c| {
        c.timing.barcode_deadline_ms = 300;
        c.timing.barcode_first_poll_ms = 100;
        c.timing.barcode_poll_interval_ms = 150;
    })
    .await;
    let mut updates = rig.cashier.subscribe();
    let p = rig.barcode("20.00", "89").await.payment;
    assert_eq!(p.state, State::Paid);
    assert!(p.late, "paid after abandon is flagged late");
    let mut alerted = false;
    while let Ok(u) = updates.try_recv() {
        alerted |= matches!(u, Update::LateAlert { ref payment } if payment.id == p.id);
    }
    assert!(alerted, "the clerk is alerted");
    assert!(rig.cashier.view(&p).message.contains("迟到付款"));
    rig.assert_matches_truth();
}

#[tokio::test]
async fn qr_paid_on_the_customer_page() {
    let rig = rig().await;
    let p = rig.cashier.start_qr("abc", "88.88", Some("测试商品"), None).await.unwrap();
    assert_eq!(p.state, State::Pending);
    let url = p.qr_payload.clone().expect("a QR payload");
    assert!(url.starts_with(&rig.sandbox.base_url()), "{url}");
    assert!(rig.cashier.view(&p).qr_svg.as_deref().is_some_and(|s| s.contains("<svg")));
    // The customer opens the link and presses Pay: a real HTTP form post.
    let resp = reqwest::Client::new().post(&url).send().await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let settled = rig.cashier.wait_settled(&p.id).await.unwrap();
    assert_eq!(settled.payment.state, State::Paid);
    assert_eq!(rig.sandbox.truth().charges[0].amount_fen, 8888);
    rig.assert_matches_truth();
}

#[tokio::test]
async fn qr_expired_is_closed_by_the_channel_never_locally() {
    let rig = rig().await;
    let p = rig.cashier.start_qr("abc", "12.99", None, None).await.unwrap();
    assert_eq!(p.state, State::Pending);
    assert!(rig.sandbox.customer_pay(&p.id).is_err(), "x.99 is never paid");
    let settled = rig.cashier.wait_settled(&p.id).await.unwrap();
    assert_eq!(settled.payment.state, State::Closed);
    assert!(settled.payment.abandoned_at.is_some());
    // It was still pending after the QR stopped showing: the close came from the channel.
    let states: Vec<_> = rig.cashier.ledger().events(&p.id).unwrap().into_iter().filter_map(|e| e.to_state).collect();
    assert_eq!(states, ["created", "pending", "closed"]);
    rig.assert_matches_truth();
}

#[tokio::test]
async fn qr_paid_after_the_clerk_cancelled_is_late_not_lost() {
    let rig = rig().await;
    let p = rig.cashier.start_qr("abc", "5.00", None, None).await.unwrap();
    rig.cashier.cancel(&p.id).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    rig.sandbox.customer_pay(&p.id).unwrap();
    let settled = rig.cashier.wait_settled(&p.id).await.unwrap();
    assert_eq!(settled.payment.state, State::Paid);
    assert!(settled.payment.late);
    rig.assert_matches_truth();
}

#[tokio::test]
async fn refund_partial_then_full_and_over_the_paid_amount_is_refused_before_any_request() {
    let rig = rig().await;
    let p = rig.barcode("100.00", "10").await.payment;
    let r1 = rig.cashier.refund(&rig.approve(Action::Refund), &p.id, "30.50", "顾客退货").await.unwrap();
    assert_eq!(r1.state, RefundState::Succeeded);
    assert!(r1.channel_refund_no.is_some());
    assert_eq!(rig.cashier.ledger().refundable(&p.id).unwrap(), Fen(6950));
    let before = rig.sandbox.truth().refunds.len();
    // Over what is left: refused by the ledger, with the channel never asked.
    rig.sandbox.set_faults(paydesk_sandbox::Faults { fail_before_percent: 100, ..Default::default() });
    let err = rig.cashier.refund(&rig.approve(Action::Refund), &p.id, "69.51", "退款").await.unwrap_err();
    assert_eq!(err, ManageError::Ledger(LedgerError::RefundExceeds { refundable: Fen(6950) }));
    assert_eq!(rig.cashier.ledger().refunds_of(&p.id).unwrap().len(), 1, "nothing recorded");
    rig.sandbox.set_faults(paydesk_sandbox::Faults::default());
    assert_eq!(rig.sandbox.truth().refunds.len(), before);
    let r2 = rig.cashier.refund(&rig.approve(Action::Refund), &p.id, "69.50", "退款").await.unwrap();
    assert_eq!(r2.state, RefundState::Succeeded);
    assert_eq!(rig.cashier.ledger().refundable(&p.id).unwrap(), Fen(0));
    let truth = rig.sandbox.truth();
    assert_eq!(truth.refunds.iter().map(|r| r.amount_fen).collect::<Vec<_>>(), [3050, 6950]);
    rig.assert_matches_truth();
}

#[tokio::test]
async fn refund_of_an_unpaid_payment_is_refused() {
    let rig = rig().await;
    let p = rig.barcode("10.00", "91").await.payment;
    let err = rig.cashier.refund(&rig.approve(Action::Refund), &p.id, "1.00", "退款").await.unwrap_err();
    assert_eq!(err, ManageError::Ledger(LedgerError::NotRefundable("failed")));
    assert!(rig.sandbox.truth().refunds.is_empty());
}

#[tokio::test]
async fn page_and_app_calls_create_orders_that_only_query_can_mark_paid() {
    let rig = rig().await;
    let config = rig.cashier.config().channels.abc.clone().unwrap();
    let abc = AbcChannel::new(&config).unwrap();
    for (i, kind) in [PageKind::Wap, PageKind::Pc].into_iter().enumerate() {
        let id = format!("PAGE{i}");
        let order = Order {
            id: &id,
            amount: Fen(28_800),
            subject: "电脑商品",
            merchant: &config.merchant_id,
            method: None,
            flow: Flow::Qr,
        };
        let created = abc.create_page(&order, kind).await;
        let CreateOutcome::Created { payload } = created.outcome else { panic!("{:?}", created.outcome) };
        assert!(payload.contains(&id), "{payload}");
        // The create reply said SUCCESS; the order is still unpaid.
        assert_eq!(abc.query(&order).await.outcome, PayOutcome::Waiting);
        rig.sandbox.customer_pay(&id).unwrap();
        assert!(matches!(abc.query(&order).await.outcome, PayOutcome::Paid { .. }));
    }
    let order = Order {
        id: "APP1",
        amount: Fen(19_999),
        subject: "APP商品购买",
        merchant: &config.merchant_id,
        method: None,
        flow: Flow::Qr,
    };
    let created = abc.create_app(&order).await;
    assert!(
        matches!(created.outcome, CreateOutcome::Created { ref payload } if payload.contains("app_id=")),
        "{:?}",
        created.outcome
    );
    // A query for an order the service never saw.
    let ghost = Order {
        id: "NOSUCH1",
        amount: Fen(1),
        subject: "",
        merchant: &config.merchant_id,
        method: None,
        flow: Flow::Qr,
    };
    assert_eq!(abc.query(&ghost).await.outcome, PayOutcome::NotFound);
}

#[tokio::test]
async fn a_reply_for_another_amount_changes_nothing() {
    let rig = rig().await;
    let config = rig.cashier.config().channels.abc.clone().unwrap();
    let abc = AbcChannel::new(&config).unwrap();
    let real = Order {
        id: "AMT1",
        amount: Fen(1_000),
        subject: "x",
        merchant: &config.merchant_id,
        method: None,
        flow: Flow::Qr,
    };
    assert!(matches!(abc.barcode_pay(&real, &alipay_code("10")).await.outcome, PayOutcome::Paid { .. }));
    let claimed = Order {
        id: "AMT1",
        amount: Fen(100),
        subject: "x",
        merchant: &config.merchant_id,
        method: None,
        flow: Flow::Qr,
    };
    assert!(matches!(abc.query(&claimed).await.outcome, PayOutcome::Unknown(ref why) if why.contains("amount")));
}
