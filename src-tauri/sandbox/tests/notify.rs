//! Notifies over real HTTP on loopback, to a tiny merchant receiver in the test: each
//! channel's format and signature, retries on the (scaled) schedule until the exact
//! acknowledgement, the record, and notifies sent on demand (genuine and forged).

mod common;

use std::time::Duration;

use common::lakala::{self as lk, platform_verifier, verify_b64};
use common::receiver::{wait_for, Got, Receiver};
use common::{code, get, post_raw, start};
use md5::Digest as _;
use paydesk_sandbox::{
    Forge, NotifyCause, NotifyFormat, NotifyRecord, NotifyRequest, Sandbox, SandboxOptions, SignScheme,
    CASHDESK_APP_ID, CASHDESK_APP_KEY, LAKALA_MERCHANT_NO, LAKALA_TOKEN,
};
use serde_json::{json, Value};

const LABS_ACK: &str = r#"{"code":"SUCCESS","message":"执行成功"}"#;
const BACKEND_ACK: &str =
    r#"{"code":"000000","msg":"Notification received successfully","resp_time":"20260101120000"}"#;
const DESK_ACK: &str = r#"{"code":1000,"msg":"操作成功"}"#;

// ---------------------------------------------------------------- helpers

/// A sandbox whose minute lasts `minute_ms` (the notify schedule scales with it).
async fn sandbox(minute_ms: u64, desk_url: Option<&str>) -> Sandbox {
    start(SandboxOptions {
        minute: Duration::from_millis(minute_ms),
        cashdesk_notify_url: desk_url.map(str::to_owned),
        ..SandboxOptions::default()
    })
    .await
}

fn records_of(sb: &Sandbox, no: &str) -> Vec<NotifyRecord> {
    sb.notifies().into_iter().filter(|r| r.order_no == no).collect()
}

async fn finished(sb: &Sandbox, no: &str) -> NotifyRecord {
    wait_for(&format!("the notify of {no} to finish"), || records_of(sb, no).iter().any(|r| r.finished)).await;
    records_of(sb, no).into_iter().find(|r| r.finished).expect("finished")
}

/// The pairs of a `LKLAPI-SHA256withRSA k="v",…` notify header, read here independently.
fn notify_pairs(header: &str) -> Option<(String, String, String)> {
    let rest = header.strip_prefix("LKLAPI-SHA256withRSA ")?;
    let mut ts = None;
    let mut nonce = None;
    let mut sig = None;
    for pair in rest.split(',') {
        let (k, v) = pair.trim().split_once('=')?;
        let v = v.strip_prefix('"')?.strip_suffix('"')?.to_owned();
        match k {
            "timestamp" => ts = Some(v),
            "nonce_str" => nonce = Some(v),
            "signature" => sig = Some(v),
            _ => return None,
        }
    }
    Some((ts?, nonce?, sig?))
}

/// Whether a direct notify's header signs `timestamp\nnonce_str\nbody\n` with the platform key.
fn platform_signed(got: &Got) -> bool {
    let Some((ts, nonce, sig)) = got.authorization.as_deref().and_then(notify_pairs) else { return false };
    verify_b64(&platform_verifier(), format!("{ts}\n{nonce}\n{}\n", got.body).as_bytes(), &sig)
}

/// Whether a cashdesk notify's `signature` is the digest of its other fields' canonical string.
fn desk_signed(body: &str, scheme: SignScheme) -> bool {
    let v: serde_json::Map<String, Value> = serde_json::from_str(body).unwrap_or_default();
    let mut pairs: Vec<(String, String)> = v
        .iter()
        .filter(|(k, _)| k.as_str() != "signature")
        .filter_map(|(k, x)| match x {
            Value::String(s) if !s.is_empty() => Some((k.clone(), s.clone())),
            Value::Number(n) => Some((k.clone(), n.to_string())),
            _ => None,
        })
        .collect();
    pairs.sort();
    let mut text: String = pairs.iter().map(|(k, x)| format!("{k}={x}&")).collect();
    text.push_str(&format!("key={CASHDESK_APP_KEY}"));
    let digest = match scheme {
        SignScheme::Md5 => hex::encode(md5::Md5::digest(text.as_bytes())),
        SignScheme::Sm3 => hex::encode(sm3::Sm3::digest(text.as_bytes())),
    };
    v.get("signature").and_then(Value::as_str) == Some(digest.as_str())
}

fn json_of(got: &Got) -> Value {
    serde_json::from_str(&got.body).unwrap_or_else(|e| panic!("{e}: {}", got.body))
}

async fn micropay_notified(sb: &Sandbox, no: &str, fen: i64, ending: &str, url: &str) -> lk::Signed {
    let mut data = lk::micropay_data(no, fen, &code(ending));
    data["notify_url"] = json!(url);
    lk::call(sb, lk::MICROPAY, data).await.checked()
}

// ---------------------------------------------------------------- lakala direct

#[tokio::test]
async fn labs_notify_is_signed_and_retried_until_exactly_acknowledged() {
    let rx = Receiver::start(
        LABS_ACK,
        vec![
            (500, LABS_ACK),                // not HTTP 200
            (200, r#"{"code":"success"}"#), // not the exact code
            (200, "SUCCESS"),               // not JSON
            (201, LABS_ACK),                // 2xx is not 200
        ],
    )
    .await;
    let sb = sandbox(60, None).await; // 1 s of the schedule is 1 ms
    let r = micropay_notified(&sb, "N1", 1000, "00", &rx.url).await;
    assert_eq!(r.code(), "BBS00000");

    let rec = finished(&sb, "N1").await;
    assert!(rec.acknowledged);
    assert_eq!(rec.attempts.len(), 5, "{rec:?}");
    assert_eq!(rec.attempts.iter().map(|a| a.acknowledged).collect::<Vec<_>>(), [false, false, false, false, true]);
    assert_eq!(rec.attempts[0].http_status, Some(500));
    assert_eq!(rec.attempts[4].reply.as_deref(), Some(LABS_ACK));
    assert_eq!((rec.format, rec.cause, rec.forge), (NotifyFormat::LakalaLabs, NotifyCause::Paid, Forge::None));
    assert_eq!(rec.url, rx.url);

    let got = rx.got();
    assert_eq!(got.len(), 5);
    for g in &got {
        assert!(platform_signed(g), "{g:?}");
        let v = json_of(g);
        assert_eq!(v["merchant_no"], LAKALA_MERCHANT_NO);
        assert_eq!(v["out_trade_no"], "N1");
        assert_eq!(v["trade_no"], r.data()["trade_no"]);
        assert_eq!(v["trade_status"], "SUCCESS");
        assert_eq!(v["total_amount"], "1000");
        assert_eq!(v["trade_time"], r.data()["trade_time"]);
        assert_eq!(v["account_type"], "ALIPAY");
    }
    // each attempt is signed afresh
    let nonces: std::collections::HashSet<String> =
        got.iter().filter_map(|g| g.authorization.as_deref().and_then(notify_pairs)).map(|p| p.1).collect();
    assert_eq!(nonces.len(), 5);
    // the record holds what was sent
    assert_eq!(rec.attempts[0].body, got[0].body);
    assert_eq!(rec.attempts[0].authorization, got[0].authorization);
    // nothing more once acknowledged
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.got().len(), 5);

    // the record over HTTP
    let r = get(&sb, "/admin/notifies?orderNo=N1").await;
    assert_eq!(r.status, 200);
    let over_http: Vec<NotifyRecord> = serde_json::from_str(&r.text).expect("records");
    assert_eq!(over_http, vec![rec]);
    assert_eq!(r.json()[0]["attempts"][0]["httpStatus"], 500);
    sb.shutdown().await;
}

#[tokio::test]
async fn the_schedule_is_the_channels_scaled() {
    let rx = Receiver::start(LABS_ACK, vec![(500, ""), (500, ""), (500, "")]).await;
    let sb = sandbox(1200, None).await; // 1 s of the schedule is 20 ms
    micropay_notified(&sb, "T1", 100, "00", &rx.url).await;
    let rec = finished(&sb, "T1").await;
    assert_eq!(rec.attempts.len(), 4);
    // 1 s, 5 s, 5 s → 20, 100, 100 ms
    let got = rx.got();
    for (i, expected_ms) in [(1, 20), (2, 100), (3, 100)] {
        let gap = got[i].at.duration_since(got[i - 1].at);
        assert!(gap >= Duration::from_millis(expected_ms - 2), "gap {i}: {gap:?}");
        assert!(gap < Duration::from_millis(expected_ms + 250), "gap {i}: {gap:?}");
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn an_unacknowledged_notify_gives_up_after_the_schedule() {
    let rx = Receiver::start(r#"{"code":"FAIL"}"#, vec![]).await;
    let sb = sandbox(1, None).await; // the whole 3 h 37 min schedule takes ~220 ms
    micropay_notified(&sb, "G1", 100, "00", &rx.url).await;
    let rec = finished(&sb, "G1").await;
    assert!(!rec.acknowledged);
    assert_eq!(rec.attempts.len(), 11, "the first attempt and ten retries");
    assert_eq!(rx.got().len(), 11);

    // an address nobody listens on: attempts with errors
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}/notify", l.local_addr().expect("addr"))
    };
    micropay_notified(&sb, "G2", 100, "00", &closed).await;
    let rec = finished(&sb, "G2").await;
    assert_eq!(rec.attempts.len(), 11);
    assert!(rec.attempts.iter().all(|a| a.error.is_some() && a.http_status.is_none()), "{rec:?}");
    sb.shutdown().await;
}

#[tokio::test]
async fn counter_notify_and_paid_by_query_or_page() {
    let rx = Receiver::start(LABS_ACK, vec![]).await;
    let sb = sandbox(60, None).await;
    // a counter order paid on the customer page
    let mut data = lk::counter_data("K1", 2500, 30);
    data["notify_url"] = json!(rx.url);
    lk::call(&sb, lk::COUNTER_CREATE, data).await.checked();
    assert!(records_of(&sb, "K1").is_empty(), "nothing before payment");
    sb.customer_pay("K1").expect("pays");
    let rec = finished(&sb, "K1").await;
    assert!(rec.acknowledged && rec.attempts.len() == 1);
    assert_eq!(rec.format, NotifyFormat::LakalaCounter);
    let got = rx.got();
    assert!(platform_signed(&got[0]));
    let v = json_of(&got[0]);
    assert_eq!(v["out_order_no"], "K1");
    assert_eq!(v["merchant_no"], LAKALA_MERCHANT_NO);
    assert_eq!(v["order_status"], 2);
    assert_eq!(v["total_amount"], 2500);
    assert_eq!(v["pay_order_no"].as_str().map(str::len), Some(29));

    // a barcode order paid on its second query (81)
    micropay_notified(&sb, "Q81", 300, "81", &rx.url).await;
    assert_eq!(lk::trade_state(&sb, "Q81").await, "DEAL");
    assert_eq!(lk::trade_state(&sb, "Q81").await, "DEAL");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(records_of(&sb, "Q81").is_empty(), "not paid yet");
    assert_eq!(lk::trade_state(&sb, "Q81").await, "SUCCESS");
    assert!(finished(&sb, "Q81").await.acknowledged);

    // failed and closed orders are not notified
    micropay_notified(&sb, "F91", 300, "91", &rx.url).await;
    micropay_notified(&sb, "F90", 300, "90", &rx.url).await;
    lk::revoke(&sb, "F90").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(records_of(&sb, "F91").is_empty() && records_of(&sb, "F90").is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn auto_paid_orders_are_notified_too() {
    let rx = Receiver::start(LABS_ACK, vec![]).await;
    let sb =
        start(SandboxOptions { auto_pay_after: Some(Duration::from_millis(100)), ..SandboxOptions::default() }).await;
    let data = json!({
        "merchant_no": LAKALA_MERCHANT_NO, "term_no": paydesk_sandbox::LAKALA_TERM_NO, "out_trade_no": "A1",
        "account_type": "ALIPAY", "trans_type": "41", "total_amount": "700", "location_info": lk::location(),
        "subject": "x", "notify_url": rx.url,
    });
    lk::call(&sb, lk::PREORDER, data).await.checked();
    let rec = finished(&sb, "A1").await;
    assert!(rec.acknowledged);
    assert_eq!(json_of(&rx.got()[0])["total_amount"], "700");
    sb.shutdown().await;
}

// ---------------------------------------------------------------- lakala backend

#[tokio::test]
async fn backend_notify_is_unsigned_and_wants_000000() {
    let rx = Receiver::start(BACKEND_ACK, vec![(200, LABS_ACK)]).await;
    let sb = sandbox(60, None).await;
    let until = paydesk_sandbox::channel_stamp(chrono::Utc::now().timestamp_millis() + 30 * 60_000, "%Y%m%d%H%M%S");
    let body = json!({
        "out_order_no": "B1", "total_amount": 1500, "order_info": "x", "payment_method": "WECHAT",
        "order_efficient_time": until, "support_cancel": 0, "support_refund": 1, "support_repeat_pay": 0,
        "notify_url": rx.url,
    });
    let r = common::client()
        .post(format!("{}/api/v1/payment/lakala/counter/create", sb.base_url()))
        .header("authorization", format!("Bearer {LAKALA_TOKEN}"))
        .body(body.to_string())
        .send()
        .await
        .expect("create");
    assert_eq!(r.status().as_u16(), 200);
    let created: Value = r.json().await.expect("json");
    sb.customer_pay("B1").expect("pays");
    let rec = finished(&sb, "B1").await;
    assert_eq!(rec.format, NotifyFormat::LakalaBackend);
    assert_eq!(rec.attempts.len(), 2, "the direct platform's answer is not the backend's");
    assert!(rec.acknowledged);
    let got = rx.got();
    assert!(got.iter().all(|g| g.authorization.is_none()));
    let v = json_of(&got[0]);
    assert_eq!(v["out_order_no"], "B1");
    assert_eq!(v["pay_order_no"], created["resp_data"]["pay_order_no"]);
    assert_eq!(v["order_status"], "SUCCESS");
    assert_eq!(v["total_amount"], "1500");
    assert_eq!(v["resp_time"].as_str().map(str::len), Some(14));
    sb.shutdown().await;
}

// ---------------------------------------------------------------- cashdesk

async fn desk_order(sb: &Sandbox, no: &str, fen: i64, scheme: SignScheme) {
    let nonce = format!("{}123", chrono::Utc::now().timestamp_millis());
    let ts = chrono::Utc::now().timestamp_millis();
    let text = format!(
        "amount={fen}&appId={CASHDESK_APP_ID}&nonce={nonce}&orderTitle=t&outTradeNo={no}&timestamp={ts}&key={CASHDESK_APP_KEY}"
    );
    let sig = match scheme {
        SignScheme::Md5 => hex::encode(md5::Md5::digest(text.as_bytes())),
        SignScheme::Sm3 => hex::encode(sm3::Sm3::digest(text.as_bytes())),
    };
    let body = format!(
        r#"{{"amount":{fen},"orderTitle":"t","outTradeNo":"{no}","appId":"{CASHDESK_APP_ID}","nonce":"{nonce}","timestamp":{ts},"signature":"{sig}"}}"#
    );
    let r = post_raw(sb, "/api/cashier-desk/unified/orders", &body).await;
    assert_eq!(r.field("code"), 1000, "{}", r.text);
}

#[tokio::test]
async fn cashdesk_notify_signed_md5_and_retried_on_its_schedule() {
    let rx =
        Receiver::start(DESK_ACK, vec![(200, r#"{"code":"1000","msg":"操作成功"}"#), (200, r#"{"code":1001}"#)]).await;
    let sb = sandbox(60, Some(&rx.url)).await; // 15 s → 15 ms
    desk_order(&sb, "D1", 1234, SignScheme::Md5).await;
    sb.customer_pay("D1").expect("pays");
    let rec = finished(&sb, "D1").await;
    assert_eq!(rec.format, NotifyFormat::Cashdesk);
    assert!(rec.acknowledged);
    assert_eq!(rec.attempts.len(), 3);
    let got = rx.got();
    assert!(got[1].at.duration_since(got[0].at) >= Duration::from_millis(14));
    for g in &got {
        assert!(g.authorization.is_none());
        assert!(desk_signed(&g.body, SignScheme::Md5), "{}", g.body);
        let v = json_of(g);
        assert_eq!(v["outTradeNo"], "D1");
        assert_eq!(v["resultCode"], "SUCCESS");
        assert_eq!(v["amount"], 1234);
        assert_eq!(v["appId"], CASHDESK_APP_ID);
        assert_eq!(v["channelType"], "ali-pay");
        assert!(v["mchId"].is_string());
        assert!(v["nonce"].as_str().is_some_and(|n| n.len() >= 13));
        assert!(v["timestamp"].is_i64());
        let pay_time = v["payTime"].as_str().unwrap_or_default();
        assert!(chrono::NaiveDateTime::parse_from_str(pay_time, "%Y-%m-%d %H:%M:%S").is_ok(), "{pay_time}");
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn cashdesk_notify_sm3_in_yuan() {
    let rx = Receiver::start(DESK_ACK, vec![]).await;
    let sb = start(SandboxOptions {
        minute: Duration::from_millis(60),
        cashdesk_sign: SignScheme::Sm3,
        cashdesk_amount_unit: paydesk_sandbox::AmountUnit::Yuan,
        cashdesk_amount_reading: paydesk_sandbox::AmountReading::AsWritten,
        cashdesk_notify_url: Some(rx.url.clone()),
        ..SandboxOptions::default()
    })
    .await;
    // a yuan desk that keeps amounts as written takes 12.30, written with two decimals
    let nonce = format!("{}123", chrono::Utc::now().timestamp_millis());
    let ts = chrono::Utc::now().timestamp_millis();
    let text = format!(
        "amount=12.30&appId={CASHDESK_APP_ID}&nonce={nonce}&orderTitle=t&outTradeNo=D2&timestamp={ts}&key={CASHDESK_APP_KEY}"
    );
    let sig = hex::encode(sm3::Sm3::digest(text.as_bytes()));
    let body = format!(
        r#"{{"amount":12.30,"orderTitle":"t","outTradeNo":"D2","appId":"{CASHDESK_APP_ID}","nonce":"{nonce}","timestamp":{ts},"signature":"{sig}"}}"#
    );
    assert_eq!(post_raw(&sb, "/api/cashier-desk/unified/orders", &body).await.field("code"), 1000);
    sb.customer_pay("D2").expect("pays");
    let rec = finished(&sb, "D2").await;
    assert!(rec.acknowledged);
    let got = rx.got();
    assert!(got[0].body.contains(r#""amount":12.30"#), "{}", got[0].body);
    // the canonical string has the amount as written: 12.30
    let v: serde_json::Map<String, Value> = serde_json::from_str(&got[0].body).expect("json");
    let mut pairs: Vec<(String, String)> = v
        .iter()
        .filter(|(k, _)| k.as_str() != "signature")
        .map(|(k, x)| {
            (
                k.clone(),
                if k == "amount" { "12.30".to_owned() } else { x.as_str().map_or(x.to_string(), str::to_owned) },
            )
        })
        .collect();
    pairs.sort();
    let text: String = pairs.iter().map(|(k, x)| format!("{k}={x}&")).collect::<String>() + "key=" + CASHDESK_APP_KEY;
    assert_eq!(v["signature"].as_str(), Some(hex::encode(sm3::Sm3::digest(text.as_bytes())).as_str()));
    sb.shutdown().await;
}

// ---------------------------------------------------------------- on demand

#[tokio::test]
async fn notifies_on_demand_genuine_and_forged() {
    let rx = Receiver::start(LABS_ACK, vec![]).await;
    let sb = sandbox(60, Some(&rx.url)).await;
    // a paid labs order without a notify address of its own
    lk::micropay(&sb, "O1", 1000, &code("00")).await.checked();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(records_of(&sb, "O1").is_empty(), "no address, no notify");

    // genuine, to a given address (over HTTP)
    let r = post_raw(&sb, "/admin/notify", &json!({"orderNo": "O1", "url": rx.url}).to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let rec: NotifyRecord = serde_json::from_str(&r.text).expect("record");
    assert_eq!((rec.cause, rec.forge, rec.acknowledged, rec.finished), (NotifyCause::Admin, Forge::None, true, true));
    assert_eq!(rec.attempts.len(), 1);
    assert!(platform_signed(&rx.got()[0]));

    // a bad signature: the same body, a header that does not verify
    let rec = sb
        .send_notify(NotifyRequest {
            order_no: "O1".into(),
            forge: Forge::BadSignature,
            url: Some(rx.url.clone()),
            ..NotifyRequest::default()
        })
        .await
        .expect("sent");
    assert_eq!(rec.forge, Forge::BadSignature);
    let got = rx.got();
    assert_eq!(got.len(), 2);
    assert!(!platform_signed(&got[1]));
    assert!(notify_pairs(got[1].authorization.as_deref().unwrap_or_default()).is_some(), "well formed");
    assert_eq!(json_of(&got[1])["total_amount"], "1000");

    // a wrong amount, correctly signed
    let req = json!({"orderNo": "O1", "channel": "lakala", "forge": "wrongAmount", "url": rx.url});
    assert_eq!(post_raw(&sb, "/admin/notify", &req.to_string()).await.status, 200);
    let got = rx.got();
    assert!(platform_signed(&got[2]));
    assert_eq!(json_of(&got[2])["total_amount"], "1001");

    // cashdesk: a forged signature and a wrong amount (to the desk's configured address)
    desk_order(&sb, "O2", 500, SignScheme::Md5).await;
    for forge in ["badSignature", "wrongAmount"] {
        let r = post_raw(&sb, "/admin/notify", &json!({"orderNo": "O2", "forge": forge}).to_string()).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let got = rx.got();
    assert_eq!(got.len(), 5);
    assert!(!desk_signed(&got[3].body, SignScheme::Md5));
    assert_eq!(json_of(&got[3])["amount"], 500);
    assert!(desk_signed(&got[4].body, SignScheme::Md5));
    assert_eq!(json_of(&got[4])["amount"], 501);

    // with retries: keeps going until acknowledged
    let slow = Receiver::start(LABS_ACK, vec![(503, ""), (503, "")]).await;
    let req = json!({"orderNo": "O1", "url": slow.url, "retry": true});
    let r = post_raw(&sb, "/admin/notify", &req.to_string()).await;
    assert_eq!(r.field("finished"), false);
    assert_eq!(r.field("attempts").as_array().map(Vec::len), Some(1));
    let id = r.field("id").as_u64().unwrap_or_default();
    wait_for("the retried notify", || sb.notifies().iter().any(|n| n.id == id && n.acknowledged)).await;
    assert_eq!(slow.got().len(), 3);

    // refusals
    let refused = |body: Value, status: u16| {
        let sb = &sb;
        async move {
            let r = post_raw(sb, "/admin/notify", &body.to_string()).await;
            assert_eq!(r.status, status, "{body}: {}", r.text);
            assert!(r.field("error").is_string(), "{}", r.text);
        }
    };
    refused(json!({"orderNo": "NOSUCH", "url": rx.url}), 404).await;
    refused(json!({"orderNo": "O1", "channel": "cashdesk", "url": rx.url}), 404).await;
    refused(json!({"orderNo": "O1"}), 409).await; // no address
    refused(json!({"orderNo": "O1", "url": "ftp://x"}), 400).await;
    refused(json!({"orderNo": "O1", "forge": "everything"}), 400).await;
    refused(json!({"order": "O1"}), 400).await;
    common::qrcode(&sb, "ABC1", "1.00", "").await;
    refused(json!({"orderNo": "ABC1", "url": rx.url}), 409).await; // abc sends no notify
                                                                   // an unsigned channel has no signature to spoil
    let until = paydesk_sandbox::channel_stamp(chrono::Utc::now().timestamp_millis() + 30 * 60_000, "%Y%m%d%H%M%S");
    common::client()
        .post(format!("{}/api/v1/payment/lakala/counter/create", sb.base_url()))
        .header("authorization", format!("Bearer {LAKALA_TOKEN}"))
        .body(
            json!({"out_order_no": "B9", "total_amount": 100, "order_info": "x", "order_efficient_time": until})
                .to_string(),
        )
        .send()
        .await
        .expect("create");
    refused(json!({"orderNo": "B9", "forge": "badSignature", "url": rx.url}), 400).await;
    // the admin endpoints answer only on loopback (checked in admin.rs); the record lists them all
    assert_eq!(sb.notifies().iter().filter(|n| n.cause == NotifyCause::Admin).count(), 6);
    sb.shutdown().await;
}
