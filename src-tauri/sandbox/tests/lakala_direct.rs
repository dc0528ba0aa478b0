//! The `lakala` channel in direct mode (Lakala open platform v3) over real HTTP on loopback:
//! request signatures and their refusals, signed replies, every barcode scenario on
//! micropay, preorder QR, counter orders, close, revoke, refunds and the truth.

mod common;

use std::time::{Duration, Instant};

use common::lakala::*;
use common::{charged, client, client_with_timeout, code, start, start_default};
use paydesk_sandbox::{demo_keys, Faults, SandboxOptions, LAKALA_MERCHANT_NO, LAKALA_TERM_NO};
use serde_json::json;

const REFUSAL: &str = r#"{"code":"BBS00004","msg":"签名验证失败"}"#;

fn refunds_of(sb: &paydesk_sandbox::Sandbox, no: &str) -> Vec<(String, i64)> {
    sb.truth().refunds.iter().filter(|r| r.order_no == no).map(|r| (r.refund_no.clone(), r.amount_fen)).collect()
}

// ---------------------------------------------------------------- barcode scenarios

#[tokio::test]
async fn micropay_paid_at_once() {
    let sb = start_default().await;
    for (no, ending) in [("D00", "00"), ("D42", "42"), ("D79", "79"), ("D98", "98")] {
        let r = micropay(&sb, no, 6800, &code(ending)).await.checked();
        assert_eq!(r.status, 200);
        assert_eq!(r.code(), "BBS00000", "{}", r.text);
        let d = r.data();
        assert_eq!(d["merchant_no"], LAKALA_MERCHANT_NO);
        assert_eq!(d["out_trade_no"], no);
        assert_eq!(d["total_amount"], "6800", "amounts are strings of fen");
        assert_eq!(d["account_type"], "ALIPAY");
        assert_eq!(d["trade_time"].as_str().map(str::len), Some(14));
        assert_eq!(d["log_no"].as_str().map(str::len), Some(14));
        for field in ["trade_no", "acc_trade_no"] {
            assert!(!d[field].as_str().unwrap_or_default().is_empty(), "{field}: {}", r.text);
        }
        assert!(r.json()["resp_time"].as_str().is_some_and(|t| t.len() == 14));

        let q = tradequery(&sb, no).await;
        assert_eq!(q.code(), "BBS00000");
        assert_eq!(q.data()["trade_state"], "SUCCESS");
        assert_eq!(q.data()["acc_trade_no"], d["acc_trade_no"]);
        assert_eq!(q.data()["trade_no"], d["trade_no"]);
        assert_eq!(q.data()["total_amount"], "6800");
        assert_eq!(charged(&sb, no), vec![6800]);
    }
    // a WeChat payment code
    let r = micropay(&sb, "DWX", 100, "134567890123456700").await.checked();
    assert_eq!(r.code(), "BBS00000");
    assert_eq!(r.data()["account_type"], "WECHAT");
    let truth = sb.truth();
    assert_eq!(truth.charges.len(), 5);
    assert!(truth.charges.iter().all(|c| c.channel == "lakala"));
    sb.shutdown().await;
}

#[tokio::test]
async fn micropay_user_paying_then_paid() {
    let sb = start_default().await;
    let r = micropay(&sb, "P82", 1000, &code("82")).await.checked();
    assert_eq!(r.code(), "BBS10000", "{}", r.text);
    assert_eq!(r.data()["out_trade_no"], "P82");
    assert!(r.data()["acc_trade_no"].is_null());
    for _ in 0..3 {
        assert_eq!(trade_state(&sb, "P82").await, "DEAL");
        assert!(charged(&sb, "P82").is_empty());
    }
    let q = tradequery(&sb, "P82").await;
    assert_eq!(q.data()["trade_state"], "SUCCESS");
    assert!(q.data()["acc_trade_no"].is_string());
    assert_eq!(q.data()["trade_time"].as_str().map(str::len), Some(14));
    assert_eq!(charged(&sb, "P82"), vec![1000]);

    micropay(&sb, "P80", 100, &code("80")).await;
    assert_eq!(trade_state(&sb, "P80").await, "DEAL");
    assert_eq!(trade_state(&sb, "P80").await, "SUCCESS");
    assert_eq!(charged(&sb, "P80"), vec![100]);
    sb.shutdown().await;
}

#[tokio::test]
async fn micropay_paying_forever_is_closed_and_can_be_revoked() {
    let sb =
        start(SandboxOptions { barcode_close_after: Duration::from_millis(400), ..SandboxOptions::default() }).await;
    assert_eq!(micropay(&sb, "F90A", 1000, &code("90")).await.checked().code(), "BBS10000");
    assert_eq!(micropay(&sb, "F90B", 1000, &code("90")).await.checked().code(), "BBS10000");
    assert_eq!(trade_state(&sb, "F90A").await, "DEAL");

    // revoked while the customer still "pays": closed, nothing charged or refunded
    let r = revoke(&sb, "F90A").await;
    assert_eq!(r.code(), "BBS00000", "{}", r.text);
    assert_eq!(r.data()["trade_state"], "CLOSE");
    assert_eq!(r.data()["out_trade_no"], "F90AC");
    assert_eq!(r.data()["origin_out_trade_no"], "F90A");
    assert_eq!(trade_state(&sb, "F90A").await, "CLOSE");

    // the other is closed by the wallet after barcode_close_after
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(trade_state(&sb, "F90B").await, "CLOSE");
    assert_eq!(revoke(&sb, "F90B").await.data()["trade_state"], "CLOSE");
    let truth = sb.truth();
    assert!(truth.charges.is_empty() && truth.refunds.is_empty(), "{truth:?}");
    sb.shutdown().await;
}

#[tokio::test]
async fn micropay_definitive_failures() {
    let sb = start_default().await;
    let r = micropay(&sb, "F91", 1000, &code("91")).await.checked();
    assert_eq!((r.code().as_str(), r.json()["msg"].as_str()), ("BBS11112", Some("余额不足")));
    assert_eq!(trade_state(&sb, "F91").await, "FAIL");

    let r = micropay(&sb, "F92", 1000, &code("92")).await.checked();
    assert_eq!((r.code().as_str(), r.json()["msg"].as_str()), ("BBS11105", Some("付款码无效或已过期")));
    assert_eq!(trade_state(&sb, "F92").await, "FAIL");

    // not a payment code of any wallet: like 92
    for (no, bad) in [("FX1", "12345"), ("FX2", "310123456789012345"), ("FX3", "28012345678901234a")] {
        assert_eq!(micropay(&sb, no, 1000, bad).await.checked().code(), "BBS11105", "{bad}");
    }

    // 97: paying, then the customer cancels in the wallet
    assert_eq!(micropay(&sb, "F97", 1000, &code("97")).await.checked().code(), "BBS10000");
    assert_eq!(trade_state(&sb, "F97").await, "DEAL");
    assert_eq!(trade_state(&sb, "F97").await, "FAIL");
    assert_eq!(trade_state(&sb, "F97").await, "FAIL");
    assert!(sb.truth().charges.is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn micropay_connection_drops_after_charge() {
    let sb = start_default().await;
    let body = envelope(&micropay_data("X93", 2000, &code("93")));
    let auth = Auth::fresh().header(&merchant_key(), &body);
    let err = post_signed(&sb, MICROPAY, &body, Some(&auth)).await.expect_err("the connection drops");
    assert!(!err.is_timeout(), "{err:?}");
    assert_eq!(trade_state(&sb, "X93").await, "SUCCESS");
    assert_eq!(charged(&sb, "X93"), vec![2000]);
    sb.shutdown().await;
}

#[tokio::test]
async fn micropay_hangs_and_charges_nothing() {
    let sb = start(SandboxOptions { hang: Duration::from_millis(400), ..SandboxOptions::default() }).await;
    let body = envelope(&micropay_data("H94", 2000, &code("94")));
    let auth = Auth::fresh().header(&merchant_key(), &body);
    let quick = client_with_timeout(Duration::from_millis(100));
    let err = post_signed_with(&quick, &sb, MICROPAY, &body, Some(&auth)).await.expect_err("times out");
    assert!(err.is_timeout(), "{err:?}");
    let q = tradequery(&sb, "H94").await;
    assert_eq!(q.code(), "BBS11001", "{}", q.text);
    assert_eq!(q.json()["msg"], "交易不存在");

    // a patient client gets no answer either, once the hang is over
    let body = envelope(&micropay_data("H94B", 2000, &code("94")));
    let auth = Auth::fresh().header(&merchant_key(), &body);
    let started = Instant::now();
    let err = post_signed(&sb, MICROPAY, &body, Some(&auth)).await.expect_err("no answer");
    assert!(started.elapsed() >= Duration::from_millis(350), "{err:?}");
    assert!(sb.truth().charges.is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn micropay_server_error_after_charge() {
    let sb = start_default().await;
    let r = micropay(&sb, "E95", 3000, &code("95")).await;
    assert_eq!(r.status, 500, "{}", r.text);
    assert!(!r.text.contains("BBS00000"), "{}", r.text);
    assert_eq!(trade_state(&sb, "E95").await, "SUCCESS");
    assert_eq!(charged(&sb, "E95"), vec![3000]);
    sb.shutdown().await;
}

#[tokio::test]
async fn micropay_reply_with_a_bad_signature_after_charge() {
    let sb = start_default().await;
    let r = micropay(&sb, "G96", 3000, &code("96")).await;
    assert_eq!(r.status, 200);
    // whole, valid JSON saying paid…
    assert_eq!(r.code(), "BBS00000", "{}", r.text);
    assert_eq!(r.data()["total_amount"], "3000");
    // …whose signature is well formed but does not verify
    let sig = r.header("Lklapi-Signature");
    let raw = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.decode(&sig).expect("base64")
    };
    assert_eq!(raw.len(), 256);
    assert!(!r.verifies());
    assert_eq!(trade_state(&sb, "G96").await, "SUCCESS");
    assert_eq!(charged(&sb, "G96"), vec![3000]);
    sb.shutdown().await;
}

// ---------------------------------------------------------------- request signatures

/// Sends a micropay for `no` (paid at once if accepted) with a header made by `auth`.
async fn micropay_as(sb: &paydesk_sandbox::Sandbox, no: &str, make: impl FnOnce(&str) -> Option<String>) -> Signed {
    let body = envelope(&micropay_data(no, 1000, &code("00")));
    let header = make(&body);
    post_signed(sb, MICROPAY, &body, header.as_deref()).await.expect("an answer")
}

async fn assert_refused(sb: &paydesk_sandbox::Sandbox, r: Signed, no: &str, why: &str) {
    assert_eq!(r.status, 401, "{why}: {}", r.text);
    assert_eq!(r.text, REFUSAL, "{why}");
    assert!(r.verifies(), "{why}: refusals are signed too");
    assert_eq!(tradequery(sb, no).await.code(), "BBS11001", "{why}: no order");
    assert!(charged(sb, no).is_empty(), "{why}: nothing charged");
}

#[tokio::test]
async fn requests_that_do_not_verify_are_refused_and_charge_nothing() {
    let sb = start_default().await;
    let key = merchant_key();

    // a tampered body: signed one amount, sent another
    let signed_body = envelope(&micropay_data("S1", 1000, &code("00")));
    let header = Auth::fresh().header(&key, &signed_body);
    let tampered = signed_body.replace("\"1000\"", "\"1\"");
    assert_ne!(tampered, signed_body);
    let r = post_signed(&sb, MICROPAY, &tampered, Some(&header)).await.expect("answer");
    assert_refused(&sb, r, "S1", "tampered body").await;

    // one byte more (a trailing newline) is tampering too
    let r = micropay_as(&sb, "S1B", |b| Some(Auth::fresh().header(&key, b))).await;
    assert_eq!(r.status, 200, "control: {}", r.text);
    let body = envelope(&micropay_data("S1C", 1000, &code("00")));
    let header = Auth::fresh().header(&key, &body);
    let r = post_signed(&sb, MICROPAY, &format!("{body}\n"), Some(&header)).await.expect("answer");
    assert_refused(&sb, r, "S1C", "trailing newline").await;

    // wrong serial (signed over that serial, so only the serial is wrong)
    let r =
        micropay_as(&sb, "S2", |b| Some(Auth { serial: "A1B2C3D4E5F60719".into(), ..Auth::fresh() }.header(&key, b)))
            .await;
    assert_refused(&sb, r, "S2", "wrong serial").await;

    // unknown appid
    let r =
        micropay_as(&sb, "S3", |b| Some(Auth { appid: "OP99999999".into(), ..Auth::fresh() }.header(&key, b))).await;
    assert_refused(&sb, r, "S3", "unknown appid").await;

    // stale and future timestamps
    for (no, skew) in [("S4", -301), ("S5", 301), ("S6", -100_000)] {
        let r =
            micropay_as(&sb, no, |b| Some(Auth { timestamp: now_s() + skew, ..Auth::fresh() }.header(&key, b))).await;
        assert_refused(&sb, r, no, "timestamp out of the window").await;
    }

    // signed with another key
    let r = micropay_as(&sb, "S7", |b| Some(Auth::fresh().header(&wrong_key(), b))).await;
    assert_refused(&sb, r, "S7", "another key").await;

    // missing and malformed headers
    let r = micropay_as(&sb, "S8", |_| None).await;
    assert_refused(&sb, r, "S8", "no header").await;
    let good = |b: &str| Auth::fresh().header(&key, b);
    type MakeHeader<'a> = Box<dyn Fn(&str) -> String + 'a>;
    let malformed: Vec<(&str, MakeHeader)> = vec![
        ("bearer", Box::new(|_: &str| "Bearer sandbox-token".to_owned())),
        ("other scheme", Box::new(move |b: &str| good(b).replace("LKLAPI-SHA256withRSA", "LKLAPI-SHA1withRSA"))),
        ("no signature pair", Box::new(move |b: &str| good(b).split(",signature=").next().unwrap_or("").to_owned())),
        ("unquoted", Box::new(move |b: &str| good(b).replace("appid=\"OP00000003\"", "appid=OP00000003"))),
        (
            "short nonce",
            Box::new(move |b: &str| Auth { nonce: "abc".into(), ..Auth::fresh() }.header(&merchant_key(), b)),
        ),
        (
            "timestamp in ms",
            Box::new(move |b: &str| Auth { timestamp: now_s() * 1000, ..Auth::fresh() }.header(&merchant_key(), b)),
        ),
        (
            "signature not base64",
            Box::new(move |b: &str| {
                let h = good(b);
                let at = h.find("signature=\"").unwrap_or(0) + "signature=\"".len();
                format!("{}!!notbase64!!\"", &h[..at])
            }),
        ),
    ];
    for (i, (why, make)) in malformed.into_iter().enumerate() {
        let no = format!("SM{i}");
        let r = micropay_as(&sb, &no, |b| Some(make(b))).await;
        assert_refused(&sb, r, &no, why).await;
    }

    // the only charge is the control's
    assert_eq!(sb.truth().charges.len(), 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_nonce_is_used_once() {
    let sb = start_default().await;
    let key = merchant_key();
    let auth = Auth::fresh();
    let body = envelope(&micropay_data("N1", 1000, &code("00")));
    let header = auth.header(&key, &body);
    let first = post_signed(&sb, MICROPAY, &body, Some(&header)).await.expect("answer").checked();
    assert_eq!(first.code(), "BBS00000");
    // the same request again: a replay
    let again = post_signed(&sb, MICROPAY, &body, Some(&header)).await.expect("answer");
    assert_eq!((again.status, again.text.as_str()), (401, REFUSAL));
    // a new, properly signed request that reuses the nonce
    let body2 = envelope(&micropay_data("N2", 1000, &code("00")));
    let r = post_signed(&sb, MICROPAY, &body2, Some(&auth.header(&key, &body2))).await.expect("answer");
    assert_refused(&sb, r, "N2", "nonce reused").await;
    assert_eq!(charged(&sb, "N1"), vec![1000]);
    // a refused request does not use up its nonce
    let fresh = Auth::fresh();
    let body3 = envelope(&micropay_data("N3", 1000, &code("00")));
    let bad = post_signed(&sb, MICROPAY, &body3, Some(&fresh.header(&wrong_key(), &body3))).await.expect("answer");
    assert_eq!(bad.status, 401);
    let good = post_signed(&sb, MICROPAY, &body3, Some(&fresh.header(&key, &body3))).await.expect("answer");
    assert_eq!(good.checked().code(), "BBS00000");
    sb.shutdown().await;
}

#[tokio::test]
async fn lenient_where_the_page_is() {
    let sb = start_default().await;
    let key = merchant_key();
    // serial compared case-insensitively; pairs in any order, with spaces after commas
    let body = envelope(&micropay_data("L1", 1000, &code("00")));
    let auth = Auth { serial: demo_keys::MERCHANT_SERIAL.to_lowercase(), ..Auth::fresh() };
    let sig = sign_b64(&key, &auth.message(&body));
    let header = format!(
        r#"LKLAPI-SHA256withRSA signature="{sig}", nonce_str="{}", timestamp="{}", serial_no="{}", appid="{}""#,
        auth.nonce, auth.timestamp, auth.serial, auth.appid
    );
    let r = post_signed(&sb, MICROPAY, &body, Some(&header)).await.expect("answer").checked();
    assert_eq!(r.code(), "BBS00000", "{}", r.text);
    // a timestamp 290 s old is still inside the window
    let body = envelope(&micropay_data("L2", 1000, &code("00")));
    let header = Auth { timestamp: now_s() - 290, ..Auth::fresh() }.header(&key, &body);
    let r = post_signed(&sb, MICROPAY, &body, Some(&header)).await.expect("answer").checked();
    assert_eq!(r.code(), "BBS00000", "{}", r.text);
    sb.shutdown().await;
}

#[tokio::test]
async fn bad_parameters_are_refused_signed_and_charge_nothing() {
    let sb = start_default().await;
    let mut cases = Vec::new();
    let mut d = micropay_data("B1", 1000, &code("00"));
    d["merchant_no"] = json!("822290070119999");
    cases.push(("B1", d, "商户号不存在"));
    let mut d = micropay_data("B2", 1000, &code("00"));
    d["term_no"] = json!("X");
    cases.push(("B2", d, "终端号不存在"));
    let mut d = micropay_data("B3", 1000, &code("00"));
    d["total_amount"] = json!(1000);
    cases.push(("B3", d, "total_amount"));
    let mut d = micropay_data("B4", 1000, &code("00"));
    d["total_amount"] = json!("10.00");
    cases.push(("B4", d, "total_amount"));
    let mut d = micropay_data("B5", 1000, &code("00"));
    d.as_object_mut().map(|m| m.remove("location_info"));
    cases.push(("B5", d, "location_info"));
    let mut d = micropay_data("B6", 1000, &code("00"));
    d.as_object_mut().map(|m| m.remove("auth_code"));
    cases.push(("B6", d, "auth_code"));
    let mut d = micropay_data("B7", 0, &code("00"));
    d["total_amount"] = json!("0");
    cases.push(("B7", d, "total_amount"));
    for (no, data, words) in cases {
        let r = call(&sb, MICROPAY, data).await.checked();
        assert_eq!(r.status, 200);
        assert_eq!(r.code(), "BBS11000", "{no}: {}", r.text);
        assert!(r.json()["msg"].as_str().unwrap_or_default().contains(words), "{no}: {}", r.text);
        assert!(charged(&sb, no).is_empty());
    }

    // a bad envelope (signed correctly)
    for body in [
        json!({"req_time": "20260101120000", "version": "2.0", "req_data": {}}).to_string(),
        json!({"version": "3.0", "req_data": {}}).to_string(),
        "not json".to_owned(),
    ] {
        let header = Auth::fresh().header(&merchant_key(), &body);
        let r = post_signed(&sb, MICROPAY, &body, Some(&header)).await.expect("answer").checked();
        assert_eq!(r.code(), "BBS11000", "{body}: {}", r.text);
    }

    // a repeated out_trade_no
    assert_eq!(micropay(&sb, "DUP", 1000, &code("00")).await.checked().code(), "BBS00000");
    let r = micropay(&sb, "DUP", 1000, &code("00")).await.checked();
    assert_eq!(r.code(), "BBS11002", "{}", r.text);
    assert_eq!(charged(&sb, "DUP"), vec![1000]);
    sb.shutdown().await;
}

// ---------------------------------------------------------------- preorder (QR)

#[tokio::test]
async fn preorder_paid_on_the_customer_page() {
    let sb = start_default().await;
    let r = preorder(&sb, "Q1", 1234, "WECHAT").await.checked();
    assert_eq!(r.code(), "BBS00000", "{}", r.text);
    let qr = r.data()["acc_resp_fields"]["code"].as_str().unwrap_or_default().to_owned();
    assert_eq!(qr, format!("{}/pay/Q1", sb.base_url()));
    assert_eq!(r.data()["out_trade_no"], "Q1");
    assert!(r.data()["trade_no"].is_string() && r.data()["log_no"].is_string());
    assert_eq!(trade_state(&sb, "Q1").await, "CREATE");
    assert!(sb.truth().charges.is_empty());

    let page = client().post(&qr).send().await.expect("pay");
    assert_eq!(page.status().as_u16(), 200);
    let q = tradequery(&sb, "Q1").await;
    assert_eq!(q.data()["trade_state"], "SUCCESS");
    assert_eq!(q.data()["account_type"], "WECHAT");
    assert_eq!(q.data()["total_amount"], "1234");
    assert!(q.data()["acc_trade_no"].as_str().is_some_and(|t| t.starts_with("4200")));
    assert_eq!(charged(&sb, "Q1"), vec![1234]);

    for (no, account_type, trans_type) in [("Q2", "BITCOIN", "41"), ("Q3", "ALIPAY", "51")] {
        let data = json!({
            "merchant_no": LAKALA_MERCHANT_NO, "term_no": LAKALA_TERM_NO, "out_trade_no": no,
            "account_type": account_type, "trans_type": trans_type, "total_amount": "100",
            "location_info": location(), "subject": "x",
        });
        assert_eq!(call(&sb, PREORDER, data).await.checked().code(), "BBS11000", "{no}");
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn close_of_unpaid_paid_and_unknown() {
    let sb = start_default().await;
    preorder(&sb, "C1", 500, "ALIPAY").await.checked();
    let r = close(&sb, "C1").await;
    assert_eq!(r.code(), "BBS00000", "{}", r.text);
    assert_eq!(trade_state(&sb, "C1").await, "CLOSE");
    assert!(sb.customer_pay("C1").is_err());
    // closing again is fine
    assert_eq!(close(&sb, "C1").await.code(), "BBS00000");

    micropay(&sb, "C2", 500, &code("00")).await.checked();
    let r = close(&sb, "C2").await;
    assert_eq!((r.code().as_str(), r.json()["msg"].as_str()), ("BBS11003", Some("交易已支付")));
    assert_eq!(trade_state(&sb, "C2").await, "SUCCESS");
    assert_eq!(close(&sb, "NOSUCH").await.code(), "BBS11001");
    assert_eq!(sb.truth().charges.len(), 1);
    sb.shutdown().await;
}

// ---------------------------------------------------------------- revoke and refund

#[tokio::test]
async fn revoke_refunds_a_paid_order_once() {
    let sb = start_default().await;
    micropay(&sb, "R1", 8800, &code("00")).await.checked();
    let r = revoke(&sb, "R1").await;
    assert_eq!(r.code(), "BBS00000", "{}", r.text);
    assert_eq!(r.data()["trade_state"], "REFUND");
    assert_eq!(r.data()["out_trade_no"], "R1C");
    assert_eq!(refunds_of(&sb, "R1"), vec![("R1C".to_owned(), 8800)]);
    assert_eq!(trade_state(&sb, "R1").await, "REFUND");
    // again: same answer, no second refund
    assert_eq!(revoke(&sb, "R1").await.data()["trade_state"], "REFUND");
    assert_eq!(refunds_of(&sb, "R1").len(), 1);

    // after a partial refund, revoke returns the rest
    micropay(&sb, "R2", 1000, &code("00")).await.checked();
    refund(&sb, "R2", "R2F1", 300).await;
    assert_eq!(revoke(&sb, "R2").await.data()["trade_state"], "REFUND");
    assert_eq!(refunds_of(&sb, "R2"), vec![("R2F1".to_owned(), 300), ("R2C".to_owned(), 700)]);

    // an unpaid QR: closed; unknown: not found
    preorder(&sb, "R3", 100, "ALIPAY").await.checked();
    assert_eq!(revoke(&sb, "R3").await.data()["trade_state"], "CLOSE");
    assert_eq!(trade_state(&sb, "R3").await, "CLOSE");
    assert_eq!(revoke(&sb, "NOSUCH").await.code(), "BBS11001");

    // a charge that the client never saw confirmed (93) can be revoked
    let body = envelope(&micropay_data("R4", 2000, &code("93")));
    let auth = Auth::fresh().header(&merchant_key(), &body);
    assert!(post_signed(&sb, MICROPAY, &body, Some(&auth)).await.is_err());
    assert_eq!(revoke(&sb, "R4").await.data()["trade_state"], "REFUND");
    assert_eq!(refunds_of(&sb, "R4"), vec![("R4C".to_owned(), 2000)]);
    sb.shutdown().await;
}

#[tokio::test]
async fn refunds_full_partial_repeated_and_refused() {
    let sb = start_default().await;
    micropay(&sb, "F1", 10000, &code("00")).await.checked();
    let r = refund(&sb, "F1", "F1R1", 3000).await;
    assert_eq!(r.code(), "BBS00000", "{}", r.text);
    assert_eq!(r.data()["trade_state"], "SUCCESS");
    assert_eq!(r.data()["refund_amount"], "3000");
    assert_eq!(r.data()["out_trade_no"], "F1R1");
    let refund_trade = r.data()["trade_no"].clone();
    assert!(refund_trade.is_string());
    assert_eq!(trade_state(&sb, "F1").await, "PART_REFUND");

    // the same refund number again: the same refund, not a second one
    let again = refund(&sb, "F1", "F1R1", 3000).await;
    assert_eq!(again.code(), "BBS00000");
    assert_eq!(again.data()["trade_no"], refund_trade);
    assert_eq!(refunds_of(&sb, "F1").len(), 1);
    // …but not for another amount
    assert_eq!(refund(&sb, "F1", "F1R1", 100).await.code(), "BBS11002");

    assert_eq!(refund(&sb, "F1", "F1R2", 7001).await.code(), "BBS11006");
    assert_eq!(refund(&sb, "F1", "F1R2", 7000).await.code(), "BBS00000");
    assert_eq!(trade_state(&sb, "F1").await, "REFUND");
    assert_eq!(refund(&sb, "F1", "F1R3", 1).await.code(), "BBS11006");

    preorder(&sb, "F2", 100, "ALIPAY").await.checked();
    assert_eq!(refund(&sb, "F2", "F2R1", 100).await.code(), "BBS11006");
    assert_eq!(refund(&sb, "NOSUCH", "NR1", 100).await.code(), "BBS11001");

    assert_eq!(refunds_of(&sb, "F1"), vec![("F1R1".to_owned(), 3000), ("F1R2".to_owned(), 7000)]);
    assert_eq!(sb.truth().refunds.len(), 2);
    assert!(sb.truth().refunds.iter().all(|r| r.channel == "lakala"));
    sb.shutdown().await;
}

// ---------------------------------------------------------------- counter (ccss)

#[tokio::test]
async fn counter_create_query_pay_close() {
    let sb = start_default().await;
    let r = call(&sb, COUNTER_CREATE, counter_data("K1", 2500, 30)).await.checked();
    assert_eq!(r.code(), "000000", "{}", r.text);
    let d = r.data();
    assert_eq!(d["counter_url"], format!("{}/pay/K1", sb.base_url()));
    assert_eq!(d["total_amount"], 2500, "counter amounts are numbers");
    assert_eq!(d["pay_order_no"].as_str().map(str::len), Some(29));
    assert_eq!(d["merchant_no"], LAKALA_MERCHANT_NO);
    assert_eq!(d["order_efficient_time"], counter_data("x", 1, 30)["order_efficient_time"]);

    let q = counter_query(&sb, "K1").await;
    assert_eq!(q.code(), "000000");
    assert_eq!(q.data()["order_status"], 0);
    assert_eq!(q.data()["total_amount"], 2500);
    sb.customer_pay("K1").expect("pays");
    let q = counter_query(&sb, "K1").await;
    assert_eq!(q.data()["order_status"], 2);
    assert_eq!(q.data()["pay_order_no"], d["pay_order_no"]);
    assert_eq!(q.data()["order_trade_info_list"][0]["trade_amount"], 2500);
    assert_eq!(charged(&sb, "K1"), vec![2500]);

    let closing = |no: &str| call(&sb, COUNTER_CLOSE, json!({"out_order_no": no, "merchant_no": LAKALA_MERCHANT_NO}));
    assert_eq!(closing("K1").await.checked().code(), "ORDER_PAID");
    call(&sb, COUNTER_CREATE, counter_data("K2", 100, 30)).await.checked();
    let r = closing("K2").await.checked();
    assert_eq!(r.code(), "000000", "{}", r.text);
    assert!(r.json().get("resp_data").is_none());
    assert_eq!(counter_query(&sb, "K2").await.data()["order_status"], 7);
    assert!(sb.customer_pay("K2").is_err());
    assert_eq!(closing("NOSUCH").await.checked().code(), "ORDER_NOT_EXIST");
    assert_eq!(counter_query(&sb, "NOSUCH").await.code(), "ORDER_NOT_EXIST");

    // a counter order is refunded through the labs refund; fully refunded reads 6
    assert_eq!(refund(&sb, "K1", "K1R1", 2500).await.code(), "BBS00000");
    assert_eq!(counter_query(&sb, "K1").await.data()["order_status"], 6);
    // the labs query does not see counter orders, nor the counter query labs orders
    assert_eq!(tradequery(&sb, "K1").await.code(), "BBS11001");
    micropay(&sb, "K3", 100, &code("00")).await.checked();
    assert_eq!(counter_query(&sb, "K3").await.code(), "ORDER_NOT_EXIST");

    // validation: amount as a string, unknown pay_mode, a past efficient time, a repeat
    let mut bad = counter_data("K4", 100, 30);
    bad["total_amount"] = json!("100");
    assert_eq!(call(&sb, COUNTER_CREATE, bad).await.checked().code(), "PARAM_ERROR");
    let mut bad = counter_data("K5", 100, 30);
    bad["counter_param"]["pay_mode"] = json!("CASH");
    assert_eq!(call(&sb, COUNTER_CREATE, bad).await.checked().code(), "PARAM_ERROR");
    assert_eq!(call(&sb, COUNTER_CREATE, counter_data("K6", 100, -5)).await.checked().code(), "PARAM_ERROR");
    assert_eq!(call(&sb, COUNTER_CREATE, counter_data("K1", 100, 30)).await.checked().code(), "ORDER_EXISTS");
    sb.shutdown().await;
}

#[tokio::test]
async fn counter_order_expires_at_its_efficient_time() {
    let sb = start_default().await;
    let until = paydesk_sandbox::channel_stamp(chrono::Utc::now().timestamp_millis() + 2 * 1_000, "%Y%m%d%H%M%S");
    let mut data = counter_data("KE1", 100, 30);
    data["order_efficient_time"] = json!(until);
    assert_eq!(call(&sb, COUNTER_CREATE, data).await.checked().code(), "000000");
    assert_eq!(counter_query(&sb, "KE1").await.data()["order_status"], 0);
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert_eq!(counter_query(&sb, "KE1").await.data()["order_status"], 4);
    assert!(sb.customer_pay("KE1").is_err());
    assert!(sb.truth().charges.is_empty());
    sb.shutdown().await;
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn faults_apply_to_direct_calls() {
    let sb = start_default().await;
    sb.set_faults(Faults { fail_before_percent: 100, ..Faults::default() });
    let r = micropay(&sb, "FF1", 100, &code("00")).await;
    assert_eq!(r.status, 503);
    sb.set_faults(Faults { fail_after_percent: 100, ..Faults::default() });
    let r = micropay(&sb, "FF2", 100, &code("00")).await;
    assert_eq!(r.status, 500);
    sb.set_faults(Faults::default());
    assert_eq!(tradequery(&sb, "FF1").await.code(), "BBS11001");
    assert_eq!(trade_state(&sb, "FF2").await, "SUCCESS");
    assert_eq!(sb.truth().charges.len(), 1);
    sb.shutdown().await;
}
