//! Managers through the core API, against the sandbox over loopback HTTP and a real ledger file:
//! refunds (concurrent partial refunds never exceed the payment; an unknown refund is resolved
//! without refunding twice), manager approvals on every protected action, decided outcomes, and
//! Z reports that never change once closed.

mod common;

use common::{rig, Rig, MANAGER};
use paydesk_core::engine::ManageError;
use paydesk_core::ledger::{AuditFilter, Change, LedgerError, NewPayment, RefundState, Role, State};
use paydesk_core::money::Fen;
use paydesk_core::people::{Action, PeopleError};
use paydesk_sandbox::Faults;
use proptest::prelude::*;

fn audit_actions(rig: &Rig, action: &str) -> usize {
    let f = AuditFilter { action: Some(action.into()), limit: 1000, ..Default::default() };
    rig.cashier.ledger().audit_log(&f).unwrap().len()
}

/// The sandbox refunded exactly what the ledger holds as succeeded, per order.
fn refunds_match(rig: &Rig, order: &str) -> i64 {
    let truth: i64 = rig.sandbox.truth().refunds.iter().filter(|r| r.order_no == order).map(|r| r.amount_fen).sum();
    let ledger = rig.cashier.ledger().refunds_of(order).unwrap();
    let succeeded: i64 = ledger.iter().filter(|r| r.state == RefundState::Succeeded).map(|r| r.amount.0).sum();
    assert_eq!(truth, succeeded, "sandbox and ledger agree on {order}");
    succeeded
}

fn yuan(fen: i64) -> String {
    Fen(fen).yuan_text()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    /// Two tasks refund random partial amounts of one payment at once: every refund either
    /// succeeds or is refused for exceeding what is left, and the refunds sum to at most the
    /// payment, exactly as the sandbox refunded.
    #[test]
    fn concurrent_partial_refunds_never_exceed_the_payment(
        paid in 100i64..20_000,
        a in prop::collection::vec(1i64..8_000, 1..6),
        b in prop::collection::vec(1i64..8_000, 1..6),
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let rig = rig().await;
            let p = rig.barcode_on("lakala", &yuan(paid), "10").await.payment;
            assert_eq!(p.state, State::Paid);
            let run = |amounts: Vec<i64>| {
                let cashier = rig.cashier.clone();
                let approval = rig.approve(Action::Refund);
                let id = p.id.clone();
                tokio::spawn(async move {
                    let mut done = 0;
                    for fen in amounts {
                        match cashier.refund(&approval, &id, &yuan(fen), "顾客退货").await {
                            Ok(r) => {
                                assert_eq!(r.state, RefundState::Succeeded);
                                done += fen;
                            }
                            Err(ManageError::Ledger(LedgerError::RefundExceeds { refundable })) => {
                                assert!(refundable.0 < fen);
                            }
                            Err(e) => panic!("unexpected {e:?}"),
                        }
                    }
                    done
                })
            };
            let (ta, tb) = (run(a), run(b));
            let refunded = ta.await.unwrap() + tb.await.unwrap();
            assert!(refunded <= paid);
            assert_eq!(refunds_match(&rig, &p.id), refunded);
            assert_eq!(rig.cashier.ledger().refundable(&p.id).unwrap(), Fen(paid - refunded));
        });
    }
}

#[tokio::test]
async fn an_unknown_refund_is_resent_with_its_own_number_and_refunds_once() {
    let rig = rig().await;
    let p = rig.barcode_on("lakala", "50.00", "10").await.payment;
    let approval = rig.approve(Action::Refund);
    // The sandbox refunds, then the connection drops: we cannot know.
    rig.sandbox.set_faults(Faults { drop_after_percent: 100, ..Default::default() });
    let r = rig.cashier.refund(&approval, &p.id, "20.00", "金额错误").await.unwrap();
    assert_eq!(r.state, RefundState::Unknown);
    assert_eq!(rig.sandbox.truth().refunds.len(), 1, "the sandbox did refund");
    // Unknown still holds its amount: no second refund can exceed the payment meanwhile.
    assert_eq!(rig.cashier.ledger().refundable(&p.id).unwrap(), Fen(3000));
    // While the channel stays unreachable a re-send changes nothing.
    rig.sandbox.set_faults(Faults { fail_before_percent: 100, ..Default::default() });
    rig.cashier.recover().await;
    assert_eq!(rig.cashier.ledger().refund(&r.id).unwrap().state, RefundState::Unknown);
    rig.sandbox.set_faults(Faults::default());
    let summary = rig.cashier.recover().await;
    assert_eq!(summary.refunds_resolved, 1);
    let r = rig.cashier.ledger().refund(&r.id).unwrap();
    assert_eq!(r.state, RefundState::Succeeded);
    let truth = rig.sandbox.truth();
    assert_eq!(truth.refunds.len(), 1, "re-sending the same number did not refund twice");
    assert_eq!(truth.refunds[0].refund_no, r.id);
    assert_eq!(refunds_match(&rig, &p.id), 2000);
    rig.assert_matches_truth();
}

#[tokio::test]
async fn an_unknown_refund_on_a_channel_without_refund_numbers_waits_for_a_manager() {
    let rig = rig().await;
    let p = rig.barcode("30.00", "10").await.payment;
    rig.sandbox.set_faults(Faults { drop_after_percent: 100, ..Default::default() });
    let r = rig.cashier.refund(&rig.approve(Action::Refund), &p.id, "30.00", "顾客退货").await.unwrap();
    assert_eq!(r.state, RefundState::Unknown);
    rig.sandbox.set_faults(Faults::default());
    rig.cashier.recover().await;
    // abc takes no refund number of ours: a re-send could refund twice, so none is made.
    assert_eq!(rig.sandbox.truth().refunds.len(), 1);
    assert_eq!(rig.cashier.ledger().refund(&r.id).unwrap().state, RefundState::Unknown);
    let detail = rig.cashier.payment_detail(&p.id).unwrap();
    assert!(detail.refunds[0].can_resolve);
    assert!(!detail.can_refund, "the unknown refund holds the whole amount");
    // A reason is required; then the manager's decision is recorded and audited.
    let approval = rig.approve(Action::ResolveRefund);
    let err = rig.cashier.resolve_refund(&approval, &r.id, true, "  ").unwrap_err();
    assert_eq!(err, ManageError::Reason);
    let done = rig.cashier.resolve_refund(&approval, &r.id, true, "农行对账单显示已退").unwrap();
    assert_eq!(done.state, RefundState::Succeeded);
    assert_eq!(audit_actions(&rig, "refund_resolved"), 1);
    let err = rig.cashier.resolve_refund(&approval, &r.id, false, "再改").unwrap_err();
    assert_eq!(err.code(), "not_forceable", "a final refund is never decided again");
    rig.assert_matches_truth();
}

#[tokio::test]
async fn every_protected_action_needs_a_manager_approval_for_that_action() {
    let rig = rig().await;
    let p = rig.barcode("10.00", "10").await.payment;
    let people = rig.cashier.people();
    let add = rig.approve(Action::AddUser);
    let clerk = people.add_user(&add, "李收银", Role::Clerk, "1357").unwrap();
    for action in [
        Action::Refund,
        Action::ForceOutcome,
        Action::ResolveRefund,
        Action::CloseShift,
        Action::ChangeSettings,
        Action::AddUser,
        Action::LeaveKiosk,
    ] {
        assert_eq!(people.approve(clerk.id, "1357", action), Err(PeopleError::Forbidden), "{action:?}");
    }
    // A manager's approval for another action does not do.
    let wrong = rig.approve(Action::CloseShift);
    let refused = rig.cashier.refund(&wrong, &p.id, "1.00", "x").await.unwrap_err();
    assert_eq!(refused, ManageError::People(PeopleError::Forbidden));
    assert!(rig.cashier.ledger().refunds_of(&p.id).unwrap().is_empty());
    let unknown = stuck_payment(&rig, "T01UNKNOWN1");
    let refused = rig.cashier.force_outcome(&wrong, &unknown, true, "x").unwrap_err();
    assert_eq!(refused, ManageError::People(PeopleError::Forbidden));
    assert_eq!(rig.cashier.ledger().payment(&unknown).unwrap().state, State::Unknown);
    let refused = rig.cashier.close_shift(&rig.approve(Action::Refund), Some("x")).unwrap_err();
    assert_eq!(refused, ManageError::People(PeopleError::Forbidden));
    assert!(people.add_user(&wrong, "赵", Role::Clerk, "2468").is_err());
    assert_eq!(people.users().unwrap().len(), 2);
    assert!(rig.sandbox.truth().refunds.is_empty());
}

/// Settings saved and kiosk mode left are audited under the manager who approved them, and only
/// with an approval for that action.
#[tokio::test]
async fn a_settings_change_and_leaving_the_kiosk_are_audited_with_their_approval() {
    let rig = rig().await;
    let people = rig.cashier.people();
    let settings = rig.approve(Action::ChangeSettings);
    people.audit_settings_saved(&settings, "printer", serde_json::json!({ "enabled": true })).unwrap();
    people.audit_settings_saved(&settings, "scanners", serde_json::Value::Null).unwrap();
    let f = AuditFilter { action: Some("settings_change".into()), limit: 10, ..Default::default() };
    let mut rows = rig.cashier.ledger().audit_log(&f).unwrap();
    rows.sort_by_key(|r| r.target.clone());
    let shown: Vec<_> = rows.iter().map(|r| (r.target.as_deref(), r.detail.clone())).collect();
    assert_eq!(
        shown,
        [
            (Some("printer"), serde_json::json!({ "enabled": true, "section": "printer" })),
            (Some("scanners"), serde_json::json!({ "removed": true, "section": "scanners" })),
        ]
    );
    assert!(rows.iter().all(|r| r.user.as_deref() == Some(MANAGER)), "{rows:?}");
    people.audit_kiosk_left(&rig.approve(Action::LeaveKiosk)).unwrap();
    assert_eq!(audit_actions(&rig, "leave_kiosk"), 1);
    // An approval given for something else writes nothing.
    assert_eq!(people.audit_kiosk_left(&settings), Err(PeopleError::Forbidden));
    assert_eq!(
        people.audit_settings_saved(&rig.approve(Action::LeaveKiosk), "printer", serde_json::json!({})),
        Err(PeopleError::Forbidden)
    );
    assert_eq!((audit_actions(&rig, "leave_kiosk"), audit_actions(&rig, "settings_change")), (1, 2));
}

/// A payment left `unknown` by a process that stopped (no lease), which the channel never saw.
fn stuck_payment(rig: &Rig, id: &str) -> String {
    let now = paydesk_core::ledger::now_ms();
    let ledger = rig.cashier.ledger();
    ledger
        .insert_payment(&NewPayment {
            id: id.into(),
            terminal: "T01".into(),
            channel: "abc".into(),
            flow: paydesk_core::ledger::Flow::Barcode,
            amount: Fen(4200),
            subject: String::new(),
            merchant: "103881636900016".into(),
            wallet: Some("alipay".into()),
            code_masked: None,
            created_at: now,
            deadline_at: now,
            horizon_at: now,
            lease_until: 0,
            source: "test".into(),
            clerk: Some(MANAGER.into()),
            charge: None,
        })
        .unwrap();
    ledger.transition(id, State::Unknown, &Change::default()).unwrap().unwrap();
    id.into()
}

#[tokio::test]
async fn a_manager_decides_a_stuck_payment_with_a_reason() {
    let rig = rig().await;
    let id = stuck_payment(&rig, "T01UNKNOWN2");
    let approval = rig.approve(Action::ForceOutcome);
    assert_eq!(rig.cashier.force_outcome(&approval, &id, true, "").unwrap_err(), ManageError::Reason);
    assert!(rig.cashier.payment_detail(&id).unwrap().can_force);
    let p = rig.cashier.force_outcome(&approval, &id, true, "顾客出示了支付宝账单").unwrap();
    assert_eq!((p.state, p.amount), (State::Paid, Fen(4200)));
    assert!(!rig.cashier.payment_detail(&id).unwrap().can_force);
    let events = rig.cashier.payment_detail(&id).unwrap().events;
    assert!(events.last().unwrap().text.contains("顾客出示了支付宝账单"), "{events:?}");
    assert_eq!(audit_actions(&rig, "force_outcome"), 1);
    // A payment the engine is driving cannot be decided by hand.
    let p = rig.cashier.start_qr("abc", "3.00", None, None).await.unwrap();
    assert_eq!(rig.cashier.force_outcome(&approval, &p.id, false, "x").unwrap_err().code(), "not_forceable");
    rig.cashier.cancel(&p.id).unwrap();
    rig.cashier.wait_settled(&p.id).await.unwrap();
}

#[tokio::test]
async fn a_closed_z_never_changes_and_later_money_goes_to_the_next_shift() {
    let rig = rig().await;
    rig.approve(Action::CloseShift); // the manager signs in
    let shift = rig.cashier.open_shift(Some("200.00")).unwrap();
    assert_eq!(shift.opening_cash, Some(Fen(20_000)));
    assert_eq!(rig.cashier.open_shift(None).unwrap_err().code(), "shift_open");
    let a = rig.barcode("12.34", "10").await.payment;
    let b = rig.barcode("7.66", "10").await.payment;
    rig.barcode("1.00", "91").await; // failed: not a sale
    rig.cashier.refund(&rig.approve(Action::Refund), &b.id, "0.66", "退一件").await.unwrap();
    let (_, x) = rig.cashier.x_report().unwrap();
    assert_eq!((x.totals.all.count, x.totals.all.gross, x.totals.all.refunds), (2, Fen(2000), Fen(66)));
    // No Z before it: the period starts at the terminal's first shift or payment, not "—".
    let period = rig.cashier.shift_view(&x).period_text;
    let opened = paydesk_core::engine::view::local_time(shift.opened_at, "%Y-%m-%d %H:%M");
    assert!(period.starts_with(&opened), "{period} starts at the shift's opening {opened}");
    // An unresolved payment blocks the close until the manager gives a reason.
    let stuck = stuck_payment(&rig, "T01UNKNOWN3");
    let err = rig.cashier.close_shift(&rig.approve(Action::CloseShift), None).unwrap_err();
    assert_eq!(err, ManageError::Unresolved(1));
    assert!(rig.cashier.ledger().open_shift_of("T01").unwrap().is_some(), "still open");
    let z = rig.cashier.close_shift(&rig.approve(Action::CloseShift), Some("待农行对账确认")).unwrap();
    let head = z.shift.clone().unwrap();
    assert_eq!(head.z_no, Some(1));
    assert_eq!((z.totals.all.count, z.totals.all.net()), (2, Fen(1934)));
    assert_eq!(z.unresolved.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(), [stuck.as_str()]);
    assert_eq!(z.close_reason.as_deref(), Some("待农行对账确认"));
    // After the close: a new sale, the stuck payment found paid (by its channel time, before
    // the close), and a refund of a payment from the closed shift.
    rig.barcode("5.00", "10").await;
    rig.cashier
        .ledger()
        .transition(&stuck, State::Paid, &Change { paid_at: Some(a.created_at), ..Default::default() })
        .unwrap()
        .unwrap();
    rig.cashier.refund(&rig.approve(Action::Refund), &a.id, "2.34", "退一件").await.unwrap();
    let again = rig.cashier.shift_report(head.id).unwrap();
    assert_eq!(again, z, "the Z reads back exactly as it was closed");
    let (open, x) = rig.cashier.x_report().unwrap();
    assert!(open.is_none());
    assert_eq!((x.totals.all.count, x.totals.all.gross, x.totals.all.refunds), (2, Fen(4700), Fen(234)));
    assert_eq!(x.from_ms, head.closed_at.unwrap());
    // The stored Z cannot be edited, even with SQL.
    let conn = rusqlite::Connection::open(rig.cashier.ledger().path()).unwrap();
    assert!(conn.execute("UPDATE shifts SET z_report = '{}' WHERE id = ?1", [head.id]).is_err());
    assert!(conn.execute("DELETE FROM shifts", []).is_err());
    // The next Z takes the next number and only the new period.
    rig.cashier.open_shift(None).unwrap();
    let z2 = rig.cashier.close_shift(&rig.approve(Action::CloseShift), None).unwrap();
    assert_eq!(z2.shift.as_ref().unwrap().z_no, Some(2));
    assert_eq!(z2.totals.all.gross, Fen(4700));
    assert_eq!(audit_actions(&rig, "shift_close"), 2);
    // (The stuck payment was never at the sandbox: only the refunds are compared.)
    assert_eq!((refunds_match(&rig, &a.id), refunds_match(&rig, &b.id)), (234, 66));
}

/// A manager finds a payment by what the customer knows: the amount, the last four digits of
/// their payment code, or part of the order number.
#[tokio::test]
async fn payments_are_found_by_amount_code_end_or_order_number() {
    let rig = rig().await;
    let a = rig.barcode("12.34", "10").await.payment;
    let b = rig.barcode("56.00", "77").await.payment;
    let ids = |found: Vec<paydesk_core::ledger::Payment>| found.into_iter().map(|p| p.id).collect::<Vec<String>>();
    let (just_a, just_b) = (vec![a.id.clone()], vec![b.id.clone()]);
    assert_eq!(ids(rig.cashier.search_payments("12.34").unwrap()), just_a);
    assert_eq!(ids(rig.cashier.search_payments("56").unwrap()), just_b, "56 is ¥56.00");
    let code_end = &b.code_masked.clone().unwrap()[b.code_masked.as_ref().unwrap().len() - 4..];
    let found = ids(rig.cashier.search_payments(code_end).unwrap());
    assert!(found.contains(&b.id), "{found:?}");
    // (four digits are also an order number's tail, so another payment may match by its number)
    assert!(!found.contains(&a.id) || a.id.contains(code_end), "{found:?}");
    let tail = &a.id[a.id.len() - 6..];
    assert_eq!(ids(rig.cashier.search_payments(tail).unwrap()), just_a);
    assert_eq!(ids(rig.cashier.search_payments(&a.id.to_lowercase()).unwrap()), just_a);
    // Nothing for an empty query, wildcards typed as text, or anything that matches nothing.
    assert!(rig.cashier.search_payments("").unwrap().is_empty());
    assert!(rig.cashier.search_payments("%%%").unwrap().is_empty());
    assert!(rig.cashier.search_payments("99.99").unwrap().is_empty());
}
