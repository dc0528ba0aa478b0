//! Reconciliation against the sandbox's statements, over real HTTP on loopback, with a real
//! SQLite ledger: each kind of difference is found from a file the sandbox wrote from its own
//! record (Alipay's GBK zip, WeChat Pay's backtick bill) or from a sweep of queries, and resolved
//! through a manager's action.

mod common;

use chrono::{Duration as Days, NaiveDate};
use common::{fast_sandbox, rig_with, Rig};
use paydesk_core::engine::recon::{day_of, ReconReport, StatementSource};
use paydesk_core::ledger::{LedgerError, Payment, RefundState, State};
use paydesk_core::money::Fen;
use paydesk_core::people::Action;
use paydesk_sandbox::{AmountOverride, BillFaults, ExtraCharge, Faults, RefundAmountOverride, SandboxOptions};

async fn recon_rig() -> Rig {
    clear_of_midnight().await;
    rig_with(SandboxOptions { bills_ready_same_day: true, ..fast_sandbox() }, |_| {}).await
}

/// These tests pay and reconcile "today" within seconds; near the channel's midnight the day
/// would change under them (and a refund's first five minutes belong to the day before, by
/// design). Within a minute before Beijing midnight or six after it, wait until the day is clear.
async fn clear_of_midnight() {
    let now = paydesk_core::ledger::now_ms();
    let (start, end) = paydesk_core::engine::recon::day_bounds(day_of(now));
    let wait = if now < start + 6 * 60_000 {
        start + 6 * 60_000 - now
    } else if now > end - 60_000 {
        end + 6 * 60_000 - now
    } else {
        0
    };
    tokio::time::sleep(std::time::Duration::from_millis(wait.max(0) as u64)).await;
}

fn code_of(channel: &str, ending: &str) -> String {
    match channel {
        "wechat" => common::wechat_code(ending),
        _ => common::alipay_code(ending),
    }
}

async fn pay(rig: &Rig, channel: &str, amount: &str, ending: &str) -> Payment {
    rig.pay_code(channel, amount, &code_of(channel, ending)).await.payment
}

fn today() -> NaiveDate {
    day_of(paydesk_core::ledger::now_ms())
}

async fn run(rig: &Rig, channel: &str, day: NaiveDate) -> ReconReport {
    rig.cashier.reconcile(channel, day, StatementSource::Channel, "test").await.expect("reconciled")
}

/// (kind, order) of every difference, sorted.
fn kinds(r: &ReconReport) -> Vec<(String, String)> {
    let mut k: Vec<_> = r.differences.iter().map(|d| (d.kind.clone(), d.order_no.clone())).collect();
    k.sort();
    k
}

fn diff<'a>(r: &'a ReconReport, kind: &str) -> &'a paydesk_core::ledger::ReconDifference {
    r.differences.iter().find(|d| d.kind == kind).unwrap_or_else(|| panic!("no {kind} in {:?}", kinds(r)))
}

/// The sandbox's fee (60 bp, half up).
fn fee(fen: i64) -> i64 {
    (fen * 60 + 5_000) / 10_000
}

#[tokio::test]
async fn a_day_that_agrees_matches_every_row_and_keeps_the_file() {
    for channel in ["alipay", "wechat"] {
        let rig = recon_rig().await;
        let a = pay(&rig, channel, "88.88", "00").await;
        let b = pay(&rig, channel, "12.34", "00").await;
        assert_eq!((a.state, b.state), (State::Paid, State::Paid));
        let r = rig.cashier.refund(&rig.approve(Action::Refund), &a.id, "30.00", "退一件").await.unwrap();
        assert_eq!(r.state, RefundState::Succeeded);

        let report = run(&rig, channel, today()).await;
        let run = &report.run;
        assert_eq!(kinds(&report), [], "{channel}");
        assert_eq!((run.matched, run.matched_fen), (2, Fen(10_122)), "{channel}");
        assert_eq!((run.refunds_matched, run.refunds_matched_fen), (1, Fen(3_000)), "{channel}");
        // Fees charged on both payments, less the part given back with the refund (pro rata).
        let back = (fee(8_888) * 3_000 * 2 + 8_888) / (2 * 8_888);
        assert_eq!(run.fee_fen, Fen(fee(8_888) + fee(1_234) - back), "{channel}");
        assert_eq!((run.source.as_str(), run.unresolved), ("download", 0));

        // The file is kept, under its hash.
        let name = run.file_name.clone().expect("file kept");
        let bytes = std::fs::read(rig.cashier.statements_dir().join(&name)).expect("statement file");
        use sha2::Digest;
        assert_eq!(run.file_sha256.as_deref(), Some(hex::encode(sha2::Sha256::digest(&bytes)).as_str()));
        assert!(name.ends_with(if channel == "alipay" { ".zip" } else { ".txt" }), "{name}");

        // A run is written once, like a Z: the ledger refuses to change or delete it.
        let db = rusqlite::Connection::open(rig.dir.path().join("ledger.db")).unwrap();
        assert!(db.execute("UPDATE recon_runs SET matched = 0", []).is_err());
        assert!(db.execute("DELETE FROM recon_runs", []).is_err());
        // The same file imported by a manager gives the same figures.
        let again = rig.cashier.reconcile(channel, today(), StatementSource::Import(bytes), "test").await.unwrap();
        assert_eq!((again.run.matched, again.run.differences, again.run.source.as_str()), (2, 0, "import"));
        assert_ne!(again.run.id, report.run.id);
    }
}

#[tokio::test]
async fn a_charge_the_ledger_holds_failed_is_found_and_becomes_paid_late() {
    for channel in ["alipay", "wechat"] {
        let rig = recon_rig().await;
        let mut updates = rig.cashier.subscribe();
        // Refused for insufficient funds: the ledger holds it failed. The bill says it was
        // charged after all (a late payment, as a real bill can show).
        let lost = pay(&rig, channel, "66.00", "91").await;
        assert_eq!(lost.state, State::Failed);
        rig.sandbox.set_bill_faults(BillFaults {
            extra_charges: vec![ExtraCharge {
                channel: channel.into(),
                order_no: lost.id.clone(),
                amount_fen: 6_600,
                day: today().to_string(),
            }],
            ..BillFaults::default()
        });
        let report = run(&rig, channel, today()).await;
        assert_eq!(kinds(&report), [("charged_not_paid".to_string(), lost.id.clone())], "{channel}");
        let d = diff(&report, "charged_not_paid");
        assert_eq!((d.ledger, d.channel), (Some(Fen(6_600)), Some(Fen(6_600))));
        assert_eq!(report.run.unresolved, 1);

        let done =
            rig.cashier.resolve_difference(&rig.approve(Action::ResolveDifference), d.id, "账单显示已扣款").unwrap();
        assert_eq!(done.resolution.as_ref().map(|r| r.action.as_str()), Some("marked_paid"));
        let p = rig.cashier.ledger().payment(&lost.id).unwrap();
        assert_eq!(p.state, State::Paid, "{channel}");
        assert!(p.late, "{channel}: a payment found by reconciliation is late");
        assert!(rig.cashier.alerts().unwrap().iter().any(|a| a.id == lost.id), "{channel}: alerted");
        let alerted = std::iter::from_fn(|| updates.try_recv().ok())
            .any(|u| matches!(u, paydesk_core::engine::Update::LateAlert { payment } if payment.id == lost.id));
        assert!(alerted, "{channel}: the screen is told");
        // Written once; the run now shows nothing left to act on.
        let again = rig.cashier.resolve_difference(&rig.approve(Action::ResolveDifference), d.id, "再次");
        assert!(matches!(again, Err(paydesk_core::engine::ManageError::Ledger(LedgerError::AlreadyResolved))));
        assert_eq!(rig.cashier.recon_report(report.run.id).unwrap().run.unresolved, 0);
        let db = rusqlite::Connection::open(rig.dir.path().join("ledger.db")).unwrap();
        for sql in [
            "UPDATE recon_differences SET kind = 'x'",
            "DELETE FROM recon_differences",
            "DELETE FROM recon_resolutions",
        ] {
            assert!(db.execute(sql, []).is_err(), "{sql}: a run and its resolutions are written once");
        }
        // Tomorrow's run agrees with the channel.
        assert_eq!(kinds(&run(&rig, channel, today()).await), []);
    }
}

#[tokio::test]
async fn fees_off_the_contracted_rate_are_differences() {
    // The contract says 0.6 %; the bill charges 1 % on WeChat Pay.
    clear_of_midnight().await;
    let rig = rig_with(SandboxOptions { bills_ready_same_day: true, ..fast_sandbox() }, |c| {
        c.reconciliation.fee_rate_bp = [("wechat".to_string(), 60), ("alipay".to_string(), 60)].into();
    })
    .await;
    let a = pay(&rig, "alipay", "50.00", "00").await;
    let w = pay(&rig, "wechat", "50.00", "00").await;
    rig.sandbox.set_bill_faults(BillFaults {
        fee_rate_bp: paydesk_sandbox::FeeRates { alipay: 60, wechat: 100 },
        ..BillFaults::default()
    });
    let fair = run(&rig, "alipay", today()).await;
    assert_eq!((kinds(&fair), fair.run.fee_fen), (vec![], Fen(30)), "{}", a.id);
    let dear = run(&rig, "wechat", today()).await;
    assert_eq!(kinds(&dear), [("fee_differs".to_string(), w.id.clone())]);
    let d = diff(&dear, "fee_differs");
    assert_eq!((d.ledger, d.channel, dear.run.fee_fen), (Some(Fen(30)), Some(Fen(50)), Fen(50)));
    assert_eq!(dear.run.matched, 1, "the payment itself matches");
    let done = rig
        .cashier
        .resolve_difference(&rig.approve(Action::ResolveDifference), d.id, "已联系微信支付核实费率")
        .unwrap();
    assert_eq!(done.resolution.unwrap().action, "follow_up");
}

#[tokio::test]
async fn a_charge_no_till_made_and_a_charge_listed_twice_are_followed_up() {
    let rig = recon_rig().await;
    let p = pay(&rig, "alipay", "10.00", "00").await;
    let extra = |order: &str, fen| ExtraCharge {
        channel: "alipay".into(),
        order_no: order.into(),
        amount_fen: fen,
        day: today().to_string(),
    };
    rig.sandbox.set_bill_faults(BillFaults {
        extra_charges: vec![extra("NOT-OURS-1", 4_200), extra(&p.id, 1_000)],
        ..BillFaults::default()
    });
    let report = run(&rig, "alipay", today()).await;
    assert_eq!(
        kinds(&report),
        [("charged_not_paid".to_string(), "NOT-OURS-1".to_string()), ("charged_twice".to_string(), p.id.clone())]
    );
    assert_eq!(report.run.matched, 1);
    for d in &report.differences {
        let done =
            rig.cashier.resolve_difference(&rig.approve(Action::ResolveDifference), d.id, "联系渠道核实").unwrap();
        assert_eq!(done.resolution.unwrap().action, "follow_up");
    }
    assert!(matches!(rig.cashier.ledger().payment("NOT-OURS-1"), Err(LedgerError::NotFound(_))), "nothing invented");
    assert_eq!(rig.cashier.ledger().payment(&p.id).unwrap().state, State::Paid);
}

#[tokio::test]
async fn a_payment_missing_from_its_days_bill_waits_for_the_next_days() {
    let rig = recon_rig().await;
    let late_row = pay(&rig, "wechat", "20.00", "00").await;
    let gone = pay(&rig, "wechat", "30.00", "00").await;
    let odd = pay(&rig, "wechat", "40.00", "00").await;
    rig.sandbox.set_bill_faults(BillFaults {
        next_day_orders: vec![late_row.id.clone()],
        drop_orders: vec![gone.id.clone()],
        amount_overrides: vec![AmountOverride { order_no: odd.id.clone(), amount_fen: 4_001 }],
        ..BillFaults::default()
    });
    let first = run(&rig, "wechat", today()).await;
    assert_eq!(
        kinds(&first),
        [
            ("amount_differs".to_string(), odd.id.clone()),
            ("awaiting_next_bill".to_string(), late_row.id.clone()),
            ("awaiting_next_bill".to_string(), gone.id.clone()),
        ]
    );
    assert_eq!((first.run.unresolved, first.run.waiting), (1, 2));
    let odd_diff = diff(&first, "amount_differs");
    assert_eq!((odd_diff.ledger, odd_diff.channel), (Some(Fen(4_000)), Some(Fen(4_001))));
    // A payment awaiting the next bill is not a difference yet: nothing to resolve.
    assert!(late_row.id < gone.id, "the sort above");
    let waiting = diff(&first, "awaiting_next_bill");
    assert!(rig.cashier.resolve_difference(&rig.approve(Action::ResolveDifference), waiting.id, "x").is_err());

    let next = run(&rig, "wechat", today() + Days::days(1)).await;
    assert_eq!(kinds(&next), [("paid_absent".to_string(), gone.id.clone())], "the moved row is found");
    assert_eq!(next.run.matched, 1);
    let absent = diff(&next, "paid_absent");
    let done = rig
        .cashier
        .resolve_difference(&rig.approve(Action::ResolveDifference), absent.id, "已向微信支付提交查询")
        .unwrap();
    assert_eq!(done.resolution.unwrap().action, "follow_up");
    assert_eq!(rig.cashier.ledger().payment(&gone.id).unwrap().state, State::Paid, "never dropped");
}

#[tokio::test]
async fn refunds_the_ledger_does_not_have_and_refunds_the_bill_lacks() {
    let rig = recon_rig().await;
    let p = pay(&rig, "wechat", "100.00", "00").await;
    let listed = rig.cashier.refund(&rig.approve(Action::Refund), &p.id, "10.00", "退一件").await.unwrap();
    assert_eq!(listed.state, RefundState::Succeeded);
    // A refund made at the channel whose answers were all lost: the ledger holds it unknown.
    rig.sandbox.set_faults(Faults { fail_after_percent: 100, ..Faults::default() });
    let lost = rig.cashier.refund(&rig.approve(Action::Refund), &p.id, "20.00", "退两件").await.unwrap();
    rig.sandbox.set_faults(Faults::default());
    assert!(!lost.state.is_final(), "{lost:?}");
    // A payment whose row is in tomorrow's bill (so tomorrow has one: a day without trade has none).
    let tomorrows = pay(&rig, "wechat", "1.00", "00").await;
    // And one the bill lists with another amount.
    let odd = rig.cashier.refund(&rig.approve(Action::Refund), &p.id, "5.00", "退五元").await.unwrap();
    rig.sandbox.set_bill_faults(BillFaults {
        drop_refunds: vec![listed.id.clone()],
        next_day_orders: vec![tomorrows.id.clone()],
        refund_amount_overrides: vec![RefundAmountOverride { refund_no: odd.id.clone(), amount_fen: 501 }],
        ..BillFaults::default()
    });

    let report = run(&rig, "wechat", today()).await;
    let mut got: Vec<_> = report.differences.iter().map(|d| (d.kind.clone(), d.refund_no.clone())).collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("awaiting_next_bill".to_string(), None),
            ("refund_amount_differs".to_string(), Some(odd.id.clone())),
            ("refund_awaiting_next_bill".to_string(), Some(listed.id.clone())),
            ("refund_not_in_ledger".to_string(), Some(lost.id.clone())),
        ]
    );
    let amounts = diff(&report, "refund_amount_differs");
    assert_eq!((amounts.ledger, amounts.channel), (Some(Fen(500)), Some(Fen(501))));
    let done = rig.cashier.resolve_difference(&rig.approve(Action::ResolveDifference), amounts.id, "联系核实").unwrap();
    assert_eq!(done.resolution.unwrap().action, "follow_up");
    let d = diff(&report, "refund_not_in_ledger");
    let done = rig.cashier.resolve_difference(&rig.approve(Action::ResolveDifference), d.id, "账单显示已退款").unwrap();
    assert_eq!(done.resolution.unwrap().action, "refund_recorded");
    assert_eq!(rig.cashier.ledger().refund(&lost.id).unwrap().state, RefundState::Succeeded);

    let next = run(&rig, "wechat", today() + Days::days(1)).await;
    let got: Vec<_> = next.differences.iter().map(|d| (d.kind.clone(), d.refund_no.clone())).collect();
    assert_eq!(got, [("refund_absent".to_string(), Some(listed.id.clone()))]);
    assert_eq!(next.run.matched, 1, "tomorrow's row is today's payment");
}

#[tokio::test]
async fn a_channel_without_a_statement_is_swept_by_queries() {
    let rig = recon_rig().await;
    let paid = pay(&rig, "abc", "8.00", "00").await;
    assert_eq!(paid.state, State::Paid);
    // A page nobody paid in time: lapsed. The customer pays it later, and no watch ran since.
    let p = rig.cashier.start_qr("cashdesk", "33.30", None, None).await.unwrap();
    let lapsed = rig.cashier.wait_settled(&p.id).await.unwrap().payment;
    assert_eq!(lapsed.state, State::Lapsed);
    rig.sandbox.customer_pay(&lapsed.id).expect("the channel takes it");

    let abc = run(&rig, "abc", today()).await;
    assert_eq!((abc.run.source.as_str(), abc.run.matched, abc.run.differences), ("query_sweep", 1, 0));
    let desk = run(&rig, "cashdesk", today()).await;
    assert_eq!(kinds(&desk), [("charged_not_paid".to_string(), lapsed.id.clone())]);
    let d = diff(&desk, "charged_not_paid");
    rig.cashier.resolve_difference(&rig.approve(Action::ResolveDifference), d.id, "渠道查询为已支付").unwrap();
    let now = rig.cashier.ledger().payment(&lapsed.id).unwrap();
    assert_eq!((now.state, now.late), (State::Paid, true));
    rig.assert_matches_truth();

    // A channel that does not answer: every order is "not asked", the run says so.
    rig.sandbox.set_faults(Faults { fail_before_percent: 100, ..Faults::default() });
    let blind = run(&rig, "abc", today()).await;
    assert_eq!(kinds(&blind), [("not_asked".to_string(), paid.id.clone())]);
    assert_eq!(blind.run.unresolved, 1);
}

#[tokio::test]
async fn no_bill_yet_and_a_broken_bill_record_nothing() {
    // T+1, as the wallets: today's bill does not exist yet.
    clear_of_midnight().await;
    let rig = rig_with(fast_sandbox(), |_| {}).await;
    pay(&rig, "wechat", "5.00", "00").await;
    for channel in ["alipay", "wechat"] {
        let e = rig.cashier.reconcile(channel, today(), StatementSource::Channel, "test").await.unwrap_err();
        assert_eq!(e.code(), "not_ready", "{channel}: {e}");
    }
    // A file that is not a statement, or a WeChat bill one byte off its summary.
    let e = rig.cashier.reconcile("wechat", today(), StatementSource::Import(b"hello".to_vec()), "test").await;
    assert_eq!(e.unwrap_err().code(), "statement");
    let e = rig.cashier.reconcile("nope", today(), StatementSource::Channel, "test").await.unwrap_err();
    assert_eq!(e.code(), "unknown_channel");
    assert_eq!(rig.cashier.recon_runs(today() - Days::days(1), today()).unwrap(), []);
}
