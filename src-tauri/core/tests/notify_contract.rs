//! Notifies: the local receiver over real HTTP, fed by the sandbox's own deliveries, and notifies
//! signed here with the sandbox's platform key (so forged variants can be made precisely).

mod common;

use common::{fast_sandbox, rig, rig_with, Rig};
use paydesk_core::engine::NoticeTaken;
use paydesk_core::ledger::State;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use sha2::Sha256;

const LAKALA_KEY: &str = include_str!("../../sandbox/keys/lakala_private.pem");
const MERCHANT_KEY: &str = include_str!("../../sandbox/keys/merchant_private.pem");

/// `Authorization` for a notify body, signed with `key_pem` as Lakala signs notifies: now, with a
/// fresh nonce (as Lakala signs every delivery).
fn signed(key_pem: &str, body: &str) -> String {
    signed_at(key_pem, body, chrono::Utc::now().timestamp(), &format!("n{:016x}", fastrand::u64(..)))
}

fn signed_at(key_pem: &str, body: &str, ts: i64, nonce: &str) -> String {
    use base64::Engine;
    let key = SigningKey::<Sha256>::new(rsa::RsaPrivateKey::from_pkcs8_pem(key_pem).unwrap());
    let sig = key.sign(format!("{ts}\n{nonce}\n{body}\n").as_bytes()).to_bytes();
    let sig = base64::engine::general_purpose::STANDARD.encode(sig);
    format!("LKLAPI-SHA256withRSA timestamp=\"{ts}\",nonce_str=\"{nonce}\",signature=\"{sig}\"")
}

fn labs_notify(order: &str, fen: i64, merchant: &str) -> String {
    serde_json::json!({
        "merchant_no": merchant, "out_trade_no": order, "trade_no": "2026112200001",
        "trade_status": "SUCCESS", "total_amount": fen.to_string(), "trade_time": "20261122103005",
        "account_type": "WECHAT",
    })
    .to_string()
}

/// A lakala QR payment shown and waiting, with polling slowed so only a notify moves it.
async fn waiting_qr(rig: &Rig, amount: &str) -> paydesk_core::ledger::Payment {
    let p = rig.cashier.start_qr("lakala", amount, None, None).await.unwrap();
    assert_eq!(p.state, State::Pending);
    p
}

fn slow_polls(c: &mut paydesk_core::config::Config) {
    c.timing.qr_poll_interval_ms = 60_000;
    c.timing.qr_timeout_ms = 60_000;
    c.timing.late_horizon_ms = 120_000;
}

/// Lakala through the merchant backend (unsigned notifies), polling slowed.
async fn backend_rig() -> Rig {
    rig_with(fast_sandbox(), |c| {
        slow_polls(c);
        common::lakala_backend(c);
    })
    .await
}

fn transitions(rig: &Rig, id: &str) -> Vec<String> {
    rig.cashier.ledger().events(id).unwrap().into_iter().filter_map(|e| e.to_state).collect()
}

#[tokio::test]
async fn a_verified_paid_notify_is_applied_once_and_repeats_change_nothing() {
    let rig = rig_with(fast_sandbox(), slow_polls).await;
    let p = waiting_qr(&rig, "12.00").await;
    let body = labs_notify(&p.id, 1200, &p.merchant);
    let auth = signed(LAKALA_KEY, &body);
    assert_eq!(rig.cashier.take_notify("lakala", Some(&auth), body.as_bytes()).await, NoticeTaken::Applied);
    assert_eq!(rig.cashier.ledger().payment(&p.id).unwrap().state, State::Paid);
    // Lakala's retries (signed afresh) change nothing; the same delivery again is a replay.
    for _ in 0..3 {
        let again = signed(LAKALA_KEY, &body);
        assert_eq!(rig.cashier.take_notify("lakala", Some(&again), body.as_bytes()).await, NoticeTaken::Unchanged);
    }
    let replay = rig.cashier.take_notify("lakala", Some(&auth), body.as_bytes()).await;
    assert!(matches!(&replay, NoticeTaken::Refused(why) if why.contains("replayed")), "{replay:?}");
    assert_eq!(transitions(&rig, &p.id), ["created", "pending", "paid"]);
}

#[tokio::test]
async fn forged_notifies_change_nothing() {
    let rig = rig_with(fast_sandbox(), slow_polls).await;
    let p = waiting_qr(&rig, "12.00").await;
    let good = labs_notify(&p.id, 1200, &p.merchant);
    let cases = [
        // Signed with the store's key, not Lakala's.
        (good.clone(), signed(MERCHANT_KEY, &good)),
        // Lakala's signature over another body.
        (good.replace("1200", "1"), signed(LAKALA_KEY, &good)),
        // Properly signed, but the amount is not the order's.
        (labs_notify(&p.id, 1, &p.merchant), signed(LAKALA_KEY, &labs_notify(&p.id, 1, &p.merchant))),
        // Properly signed, another merchant.
        (labs_notify(&p.id, 1200, "OTHER"), signed(LAKALA_KEY, &labs_notify(&p.id, 1200, "OTHER"))),
        // Properly signed, an order the ledger does not have.
        (
            labs_notify("NOSUCHORDER", 1200, &p.merchant),
            signed(LAKALA_KEY, &labs_notify("NOSUCHORDER", 1200, &p.merchant)),
        ),
        // Not JSON, and unsigned.
        ("<xml/>".to_string(), signed(LAKALA_KEY, "<xml/>")),
    ];
    for (body, auth) in &cases {
        let taken = rig.cashier.take_notify("lakala", Some(auth), body.as_bytes()).await;
        assert!(matches!(taken, NoticeTaken::Refused(_)), "{body}: {taken:?}");
    }
    let taken = rig.cashier.take_notify("lakala", None, good.as_bytes()).await;
    assert!(matches!(taken, NoticeTaken::Refused(_)), "an unsigned direct notify");
    let taken = rig.cashier.take_notify("nosuch", None, good.as_bytes()).await;
    assert!(matches!(taken, NoticeTaken::Refused(_)));
    assert_eq!(rig.cashier.ledger().payment(&p.id).unwrap().state, State::Pending);
    assert_eq!(transitions(&rig, &p.id), ["created", "pending"]);
}

#[tokio::test]
async fn a_notify_racing_a_poll_makes_exactly_one_transition() {
    let rig = rig_with(fast_sandbox(), slow_polls).await;
    for round in 0..5 {
        let p = waiting_qr(&rig, &format!("{}.00", 20 + round)).await;
        rig.sandbox.customer_pay(&p.id).expect("paid at the sandbox");
        let body = labs_notify(&p.id, p.amount.0, &p.merchant);
        let auth = signed(LAKALA_KEY, &body);
        let (notified, polled) =
            tokio::join!(rig.cashier.take_notify("lakala", Some(&auth), body.as_bytes()), rig.cashier.query_now(&p.id));
        assert_eq!(polled.unwrap().state, State::Paid);
        assert!(matches!(notified, NoticeTaken::Applied | NoticeTaken::Unchanged), "{notified:?}");
        assert_eq!(transitions(&rig, &p.id), ["created", "pending", "paid"], "round {round}");
        rig.cashier.cancel(&p.id).ok();
        rig.cashier.wait_settled(&p.id).await.unwrap();
    }
    rig.assert_matches_truth();
}

#[tokio::test]
async fn the_receiver_answers_each_channel_in_its_own_format() {
    let rig = rig_with(fast_sandbox(), slow_polls).await;
    let (addr, _task) = paydesk_core::notify::serve(rig.cashier.clone(), "127.0.0.1:0").await.unwrap();
    let p = waiting_qr(&rig, "12.00").await;
    let body = labs_notify(&p.id, 1200, &p.merchant);
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/notify/lakala");
    let post = |auth: String, body: String| http.post(&url).header("Authorization", auth).body(body).send();
    let forged = post(signed(MERCHANT_KEY, &body), body.clone()).await.unwrap();
    assert_eq!(forged.status(), 400);
    let ok = post(signed(LAKALA_KEY, &body), body.clone()).await.unwrap();
    assert_eq!(ok.status(), 200);
    let ack: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(ack, serde_json::json!({ "code": "SUCCESS", "message": "执行成功" }));
    assert_eq!(rig.cashier.ledger().payment(&p.id).unwrap().state, State::Paid);
    // A body far over the limit is refused before it is read.
    let huge = http.post(&url).body(vec![b'x'; 1 << 20]).send().await.unwrap();
    assert_eq!(huge.status(), 413);
}

#[tokio::test]
async fn an_unsigned_backend_notify_only_triggers_a_query() {
    let rig = backend_rig().await;
    let p = waiting_qr(&rig, "12.00").await;
    // Claims paid, but the order is not paid at the sandbox: the query says so, nothing changes.
    let claim =
        serde_json::json!({ "out_order_no": p.id, "order_status": "SUCCESS", "total_amount": "1200" }).to_string();
    assert_eq!(rig.cashier.take_notify("lakala", None, claim.as_bytes()).await, NoticeTaken::Queried);
    assert_eq!(rig.cashier.ledger().payment(&p.id).unwrap().state, State::Pending);
    rig.sandbox.customer_pay(&p.id).unwrap();
    // A second hint about the same order so soon asks nothing now; the next sweep asks for it.
    assert_eq!(rig.cashier.take_notify("lakala", None, claim.as_bytes()).await, NoticeTaken::Unchanged);
    assert_eq!(rig.cashier.ledger().payment(&p.id).unwrap().state, State::Pending);
    rig.cashier.recover().await;
    assert_eq!(rig.cashier.ledger().payment(&p.id).unwrap().state, State::Paid, "by the sweep's query");
}

#[tokio::test]
async fn abc_takes_no_notifies() {
    let rig = rig().await;
    let taken = rig.cashier.take_notify("abc", None, b"{}").await;
    assert!(matches!(taken, NoticeTaken::Refused(_)));
}

#[tokio::test]
async fn the_sandbox_delivers_a_signed_notify_that_settles_the_payment_before_any_poll() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let rig = rig_with(fast_sandbox(), |c| {
        slow_polls(c);
        c.channels.lakala.as_mut().unwrap().notify_url = Some(format!("http://127.0.0.1:{port}/notify/lakala"));
    })
    .await;
    let (_addr, _task) = paydesk_core::notify::serve(rig.cashier.clone(), &format!("127.0.0.1:{port}")).await.unwrap();
    let p = waiting_qr(&rig, "12.00").await;
    rig.sandbox.customer_pay(&p.id).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while rig.cashier.ledger().payment(&p.id).unwrap().state != State::Paid {
        assert!(std::time::Instant::now() < deadline, "the notify never settled the payment");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let record = rig.sandbox.notifies().into_iter().find(|n| n.order_no == p.id).expect("a notify was sent");
    assert!(record.acknowledged, "{record:?}");
    let events = rig.cashier.ledger().events(&p.id).unwrap();
    assert!(
        events.iter().any(|e| e.detail.to_string().contains("\"notify\"")),
        "the paid transition came from the notify"
    );
}

#[tokio::test]
async fn cash_desk_notifies_are_verified_then_queried_and_forgeries_are_refused() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/notify/cashdesk");
    let opts = paydesk_sandbox::SandboxOptions { cashdesk_notify_url: Some(url.clone()), ..fast_sandbox() };
    let rig = rig_with(opts, slow_polls).await;
    let (_addr, _task) = paydesk_core::notify::serve(rig.cashier.clone(), &format!("127.0.0.1:{port}")).await.unwrap();
    let p = rig.cashier.start_qr("cashdesk", "8.00", None, None).await.unwrap();
    let forged = rig
        .sandbox
        .send_notify(paydesk_sandbox::NotifyRequest {
            order_no: p.id.clone(),
            forge: paydesk_sandbox::Forge::BadSignature,
            url: Some(url),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!forged.acknowledged, "a forged desk notify is refused");
    assert_eq!(rig.cashier.ledger().payment(&p.id).unwrap().state, State::Pending);
    rig.sandbox.customer_pay(&p.id).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while rig.cashier.ledger().payment(&p.id).unwrap().state != State::Paid {
        assert!(std::time::Instant::now() < deadline, "the desk's notify never led to the query");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let genuine =
        rig.sandbox.notifies().into_iter().find(|n| n.order_no == p.id && n.forge == paydesk_sandbox::Forge::None);
    assert!(genuine.expect("the desk notified").acknowledged);
}

/// The desk's verified notify for a payment the ledger holds as lapsed (the customer paid after
/// the page lapsed): the payment becomes paid, late, and the notify is acknowledged only then.
#[tokio::test]
async fn a_desk_notify_for_a_lapsed_payment_makes_it_paid_late() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/notify/cashdesk");
    let opts = paydesk_sandbox::SandboxOptions { cashdesk_notify_url: Some(url), ..fast_sandbox() };
    let rig = rig_with(opts, |_| {}).await;
    let (_addr, _task) = paydesk_core::notify::serve(rig.cashier.clone(), &format!("127.0.0.1:{port}")).await.unwrap();
    let p = rig.cashier.start_qr("cashdesk", "8.00", None, None).await.unwrap();
    let p = rig.cashier.wait_settled(&p.id).await.unwrap().payment;
    assert_eq!(p.state, State::Lapsed);
    // No recovery runs here: only the desk's notify can bring the news.
    rig.sandbox.customer_pay(&p.id).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while rig.cashier.ledger().payment(&p.id).unwrap().state != State::Paid {
        assert!(std::time::Instant::now() < deadline, "the desk's notify was only noted");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let paid = rig.cashier.ledger().payment(&p.id).unwrap();
    assert!(paid.late);
    assert!(transitions(&rig, &p.id).ends_with(&["lapsed".to_string(), "paid".to_string()]));
    let record = rig.sandbox.notifies().into_iter().find(|n| n.order_no == p.id).expect("notified");
    assert!(record.acknowledged);
    rig.assert_matches_truth();
}

/// A verified "paid" for a payment the channel had closed: evidence that money moved wins over
/// the ledger's `closed`; the payment turns paid, late, with the close kept in its events.
#[tokio::test]
async fn a_verified_paid_notify_wins_over_closed() {
    let rig = rig().await;
    let p = rig.cashier.start_qr("lakala", "8.99", None, None).await.unwrap();
    let p = rig.cashier.wait_settled(&p.id).await.unwrap().payment;
    assert_eq!(p.state, State::Closed);
    let body = labs_notify(&p.id, p.amount.0, &p.merchant);
    assert_eq!(
        rig.cashier.take_notify("lakala", Some(&signed(LAKALA_KEY, &body)), body.as_bytes()).await,
        NoticeTaken::Applied
    );
    let paid = rig.cashier.ledger().payment(&p.id).unwrap();
    assert_eq!((paid.state, paid.late), (State::Paid, true));
    assert!(transitions(&rig, &p.id).ends_with(&["closed".to_string(), "paid".to_string()]));
    assert_eq!(rig.cashier.ledger().unacknowledged_alerts().unwrap().len(), 1);
}

/// A trusted notify whose query gets no answer is not acknowledged: the channel sends it again,
/// and the news is not lost.
#[tokio::test]
async fn a_notify_whose_query_fails_is_not_acknowledged() {
    let rig = backend_rig().await;
    let (addr, _task) = paydesk_core::notify::serve(rig.cashier.clone(), "127.0.0.1:0").await.unwrap();
    let p = waiting_qr(&rig, "12.00").await;
    rig.sandbox.customer_pay(&p.id).unwrap();
    rig.sandbox.set_faults(paydesk_sandbox::Faults { fail_before_percent: 100, ..Default::default() });
    let body = serde_json::json!({ "out_order_no": p.id, "order_status": "SUCCESS" }).to_string();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let first = http.post(format!("http://{addr}/notify/lakala")).body(body.clone()).send().await.unwrap();
    assert_eq!(first.status(), 503, "not acknowledged while the order cannot be queried");
    rig.sandbox.set_faults(paydesk_sandbox::Faults::default());
    let again = http.post(format!("http://{addr}/notify/lakala")).body(body).send().await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(rig.cashier.ledger().payment(&p.id).unwrap().state, State::Paid);
}

/// A notify signed long ago (a year-old capture replayed), or one that names no merchant: the
/// first is refused, the second is only a reason to query (the query decides), never applied as is.
#[tokio::test]
async fn an_old_notify_is_refused_and_one_without_the_merchant_only_triggers_a_query() {
    let rig = rig_with(fast_sandbox(), slow_polls).await;
    let p = waiting_qr(&rig, "12.00").await;
    let body = labs_notify(&p.id, 1200, &p.merchant);
    let year_ago = chrono::Utc::now().timestamp() - 365 * 24 * 3600;
    let old =
        rig.cashier.take_notify("lakala", Some(&signed_at(LAKALA_KEY, &body, year_ago, "n0ld")), body.as_bytes()).await;
    assert!(matches!(&old, NoticeTaken::Refused(why) if why.contains("signed")), "{old:?}");
    let unnamed = serde_json::json!({
        "out_trade_no": p.id, "trade_no": "2026112200001", "trade_status": "SUCCESS", "total_amount": "1200",
        "trade_time": "20261122103005",
    })
    .to_string();
    // Not paid at the sandbox: the query it triggers says so, and nothing changes.
    let taken = rig.cashier.take_notify("lakala", Some(&signed(LAKALA_KEY, &unnamed)), unnamed.as_bytes()).await;
    assert_eq!(taken, NoticeTaken::Queried);
    assert_eq!(rig.cashier.ledger().payment(&p.id).unwrap().state, State::Pending);
    assert_eq!(transitions(&rig, &p.id), ["created", "pending"]);
}

/// 2,000 unsigned notifies over HTTP, half naming a real order and half guessed numbers: nothing is
/// written to the ledger, the answer is the same whether the order exists or not, and they make a
/// handful of queries, not 2,000 (the one drowned hint is asked about by the next sweep).
#[tokio::test]
async fn a_flood_of_unsigned_notifies_writes_nothing_and_asks_a_few_times() {
    let rig = backend_rig().await;
    let (addr, _task) = paydesk_core::notify::serve(rig.cashier.clone(), "127.0.0.1:0").await.unwrap();
    let p = waiting_qr(&rig, "12.00").await;
    let files = |dir: &std::path::Path| -> u64 {
        ["ledger.db", "ledger.db-wal"].iter().filter_map(|f| std::fs::metadata(dir.join(f)).ok()).map(|m| m.len()).sum()
    };
    let (events, size, queries) =
        (rig.cashier.ledger().events(&p.id).unwrap().len(), files(rig.dir.path()), rig.sandbox.calls("/counter/query"));
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://{addr}/notify/lakala");
    let mut answers = std::collections::BTreeSet::new();
    let started = std::time::Instant::now();
    for n in 0..2_000 {
        let order = if n % 2 == 0 { p.id.clone() } else { format!("T01{:016}", 2612030000000000u64 + n) };
        let body = serde_json::json!({ "out_order_no": order, "order_status": "SUCCESS", "total_amount": "1200" });
        let r = http.post(&url).body(body.to_string()).send().await.unwrap();
        answers.insert((r.status().as_u16(), r.text().await.unwrap().replace(|c: char| c.is_ascii_digit(), "")));
    }
    let took = started.elapsed();
    assert_eq!(answers.len(), 1, "one answer for real and guessed orders alike: {answers:?}");
    assert_eq!(rig.cashier.ledger().events(&p.id).unwrap().len(), events, "nothing written");
    let grown = files(rig.dir.path()).saturating_sub(size);
    let asked = rig.sandbox.calls("/counter/query") - queries;
    eprintln!("2000 unsigned notifies in {took:?}: ledger grew {grown} bytes, {asked} queries");
    assert!(grown < 16 * 1024, "the ledger grew {grown} bytes");
    assert!(asked <= 1 + took.as_secs() / 5, "{asked} queries in {took:?}");
    // The hints that could not ask are asked about once by the next sweep.
    rig.cashier.recover().await;
    assert!(rig.sandbox.calls("/counter/query") - queries <= asked + 2);
}
