//! The `lakala` channel in backend mode (seeds 000, 001) over real HTTP on loopback: the
//! Bearer token, counter create/query/close, the legacy micropay and preorder calls.

mod common;

use common::{charged, client, code, start_default, Reply};
use paydesk_sandbox::{Faults, Sandbox, LAKALA_MERCHANT_NO, LAKALA_TERM_NO, LAKALA_TOKEN};
use serde_json::{json, Value};

const CREATE: &str = "/api/v1/payment/lakala/counter/create";
const QUERY: &str = "/api/v1/payment/lakala/counter/query";
const CLOSE: &str = "/api/v1/payment/lakala/counter/close";
const MICROPAY: &str = "/api/v1/payment/lakala/micropay";
const PREORDER: &str = "/api/v1/payment/lakala/preorder";

async fn post_auth(sb: &Sandbox, path: &str, body: &str, auth: Option<&str>) -> Result<Reply, reqwest::Error> {
    let mut req = client().post(format!("{}{path}", sb.base_url())).header("content-type", "application/json");
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = req.body(body.to_owned()).send().await?;
    let status = resp.status().as_u16();
    let text = resp.text().await?;
    Ok(Reply { status, text })
}

async fn call(sb: &Sandbox, path: &str, body: &Value) -> Reply {
    post_auth(sb, path, &body.to_string(), Some(&format!("Bearer {LAKALA_TOKEN}")))
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

fn create_body(no: &str, fen: i64) -> Value {
    let until = paydesk_sandbox::channel_stamp(chrono::Utc::now().timestamp_millis() + 30 * 60_000, "%Y%m%d%H%M%S");
    json!({
        "out_order_no": no, "total_amount": fen, "order_info": "测试商品购买", "payment_method": "ALIPAY",
        "order_efficient_time": until, "support_cancel": 0, "support_refund": 1, "support_repeat_pay": 0,
    })
}

async fn status_of(sb: &Sandbox, no: &str) -> String {
    let r = call(sb, QUERY, &json!({"out_order_no": no})).await;
    assert_eq!(r.str("code"), "000000", "{}", r.text);
    r.json()["resp_data"]["order_status"].as_str().unwrap_or_default().to_owned()
}

fn legacy(no: &str, fee: &str, auth_code: Option<&str>) -> Value {
    let mut req = json!({
        "merchant_no": LAKALA_MERCHANT_NO, "term_no": LAKALA_TERM_NO, "total_fee": fee, "out_trade_no": no,
    });
    if let Some(c) = auth_code {
        req["auth_code"] = json!(c);
    }
    json!({ "req_data": req })
}

#[tokio::test]
async fn the_token_is_required() {
    let sb = start_default().await;
    let body = create_body("T1", 100).to_string();
    for auth in [None, Some("Bearer wrong"), Some("Basic c2FuZGJveC10b2tlbg=="), Some("Bearer"), Some("sandbox-token")]
    {
        for path in [CREATE, QUERY, CLOSE, MICROPAY, PREORDER] {
            let r = post_auth(&sb, path, &body, auth).await.expect("answer");
            assert_eq!(r.status, 401, "{auth:?} {path}");
            assert_eq!(r.str("code"), "UNAUTHORIZED");
            assert!(!r.str("msg").is_empty());
        }
    }
    // the scheme is case-insensitive, the token is not
    let r = post_auth(&sb, CREATE, &body, Some(&format!("bearer {LAKALA_TOKEN}"))).await.expect("answer");
    assert_eq!(r.str("code"), "000000", "{}", r.text);
    let r = post_auth(&sb, QUERY, r#"{"out_order_no":"T1"}"#, Some("Bearer SANDBOX-TOKEN")).await.expect("answer");
    assert_eq!(r.status, 401);
    sb.shutdown().await;
}

#[tokio::test]
async fn counter_create_query_pay_close() {
    let sb = start_default().await;
    let mut body = create_body("C1", 100);
    body["notify_url"] = json!("http://127.0.0.1:9/notify");
    body["channel_id"] = json!("25");
    let r = call(&sb, CREATE, &body).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.str("code"), "000000", "{}", r.text);
    assert_eq!(r.str("msg"), "操作成功");
    assert_eq!(r.str("resp_time").len(), 14);
    let d = r.json()["resp_data"].clone();
    assert_eq!(d["out_order_no"], "C1");
    assert_eq!(d["total_amount"], "100", "the seed's reply has a string amount");
    assert_eq!(d["counter_url"], format!("{}/pay/C1", sb.base_url()));
    assert_eq!(d["merchant_no"], LAKALA_MERCHANT_NO);
    assert_eq!(d["channel_id"], "25");
    assert_eq!(d["pay_order_no"].as_str().map(str::len), Some(29));
    assert_eq!(d["order_create_time"].as_str().map(str::len), Some(14));
    assert_eq!(d["order_efficient_time"], body["order_efficient_time"]);

    assert_eq!(status_of(&sb, "C1").await, "PENDING");
    let q = call(&sb, QUERY, &json!({"out_order_no": "C1"})).await;
    assert!(q.json()["resp_data"].get("pay_time").is_none());
    sb.customer_pay("C1").expect("pays");
    let q = call(&sb, QUERY, &json!({"out_order_no": "C1"})).await;
    let qd = q.json()["resp_data"].clone();
    assert_eq!(qd["order_status"], "SUCCESS");
    assert_eq!(qd["total_amount"], "100");
    assert_eq!(qd["pay_order_no"], d["pay_order_no"]);
    assert_eq!(qd["pay_time"].as_str().map(str::len), Some(14));
    assert_eq!(charged(&sb, "C1"), vec![100]);

    // close: paid refused, pending closed, unknown not found
    let r = call(&sb, CLOSE, &json!({"out_order_no": "C1"})).await;
    assert_eq!(r.str("code"), "ORDER_PAID");
    call(&sb, CREATE, &create_body("C2", 200)).await;
    let r = call(&sb, CLOSE, &json!({"out_order_no": "C2"})).await;
    assert_eq!(r.str("code"), "000000", "{}", r.text);
    assert!(r.json().get("resp_data").is_none());
    assert_eq!(status_of(&sb, "C2").await, "CLOSED");
    assert!(sb.customer_pay("C2").is_err());
    assert_eq!(call(&sb, CLOSE, &json!({"out_order_no": "NOSUCH"})).await.str("code"), "ORDER_NOT_EXIST");
    assert_eq!(call(&sb, QUERY, &json!({"out_order_no": "NOSUCH"})).await.str("code"), "ORDER_NOT_EXIST");
    sb.shutdown().await;
}

#[tokio::test]
async fn counter_validation() {
    let sb = start_default().await;
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut b = create_body("V1", 100);
    b["total_amount"] = json!("100");
    cases.push(("amount as a string", b));
    let mut b = create_body("V2", 100);
    b["total_amount"] = json!(1.5);
    cases.push(("amount with decimals", b));
    let mut b = create_body("V3", 100);
    b["total_amount"] = json!(0);
    cases.push(("zero", b));
    let mut b = create_body("V4", 100);
    b["order_info"] = json!("长".repeat(65));
    cases.push(("order_info over 64", b));
    let mut b = create_body("V5", 100);
    b["payment_method"] = json!("CASH");
    cases.push(("unknown method", b));
    let mut b = create_body("V6", 100);
    b["order_efficient_time"] = json!("2026-01-01 00:00:00");
    cases.push(("bad time", b));
    let mut b = create_body("V7", 100);
    b["support_refund"] = json!(2);
    cases.push(("flag not 0/1", b));
    let mut b = create_body("V8", 100);
    b["out_order_no"] = json!("A".repeat(33));
    cases.push(("order number over 32", b));
    let mut b = create_body("V9", 100);
    b["order_efficient_time"] = json!("20200101000000");
    cases.push(("efficient time past", b));
    for (why, body) in cases {
        let r = call(&sb, CREATE, &body).await;
        assert_eq!(r.status, 200, "{why}");
        assert_eq!(r.str("code"), "PARAM_ERROR", "{why}: {}", r.text);
        let no = body["out_order_no"].as_str().unwrap_or_default().to_owned();
        assert_eq!(call(&sb, QUERY, &json!({"out_order_no": no})).await.str("code"), "ORDER_NOT_EXIST", "{why}");
    }
    for bad in ["not json", "[]", ""] {
        let r = post_auth(&sb, CREATE, bad, Some(&format!("Bearer {LAKALA_TOKEN}"))).await.expect("answer");
        assert_eq!(r.str("code"), "PARAM_ERROR", "{bad}");
    }
    // payment_method may be left out (default ALIPAY), and all 14 codes are taken
    let mut b = create_body("M0", 100);
    b.as_object_mut().map(|m| m.remove("payment_method"));
    assert_eq!(call(&sb, CREATE, &b).await.str("code"), "000000");
    for (i, m) in ["WECHAT", "UNION", "CARD", "LKLAT", "QUICK_PAY", "EBANK", "UNION_CC", "BESTPAY", "HB_FQ"]
        .iter()
        .chain(["UNION_FQ", "ONLINE_CARDLESS", "JDBT", "ALIPAY_HK"].iter())
        .enumerate()
    {
        let mut b = create_body(&format!("M{}", i + 1), 100);
        b["payment_method"] = json!(m);
        assert_eq!(call(&sb, CREATE, &b).await.str("code"), "000000", "{m}");
    }
    // a repeat
    let r = call(&sb, CREATE, &create_body("M0", 100)).await;
    assert_eq!(r.str("code"), "ORDER_EXISTS");
    assert!(sb.truth().charges.is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn counter_orders_are_not_seen_by_direct_calls_and_back() {
    let sb = start_default().await;
    call(&sb, CREATE, &create_body("X1", 100)).await;
    // the direct counter query does not find a backend order
    let r = common::lakala::counter_query(&sb, "X1").await;
    assert_eq!(r.code(), "ORDER_NOT_EXIST");
    // and the backend query does not find a direct one
    common::lakala::micropay(&sb, "X2", 100, &code("00")).await.checked();
    assert_eq!(call(&sb, QUERY, &json!({"out_order_no": "X2"})).await.str("code"), "ORDER_NOT_EXIST");
    // one number space: a number taken in one mode is taken in the other
    assert_eq!(call(&sb, CREATE, &create_body("X2", 100)).await.str("code"), "ORDER_EXISTS");
    sb.shutdown().await;
}

#[tokio::test]
async fn legacy_micropay_scenarios() {
    let sb = start_default().await;
    // paid at once: 00–79
    for (no, ending) in [("L00", "00"), ("L79", "79")] {
        let r = call(&sb, MICROPAY, &legacy(no, "150", Some(&code(ending)))).await;
        assert_eq!(r.str("code"), "000000", "{ending}: {}", r.text);
        assert_eq!(r.str("msg"), "成功");
        let d = r.json()["resp_data"].clone();
        assert_eq!(d["out_trade_no"], no);
        assert_eq!(d["transaction_id"].as_str().map(str::len), Some(18));
        assert_eq!(charged(&sb, no), vec![150]);
    }
    for (no, ending, expected) in [("L91", "91", "BBS11112"), ("L92", "92", "BBS11105")] {
        let r = call(&sb, MICROPAY, &legacy(no, "150", Some(&code(ending)))).await;
        assert_eq!(r.str("code"), expected, "{}", r.text);
        assert!(r.json().get("resp_data").is_none());
        assert!(charged(&sb, no).is_empty());
    }
    // "user paying", followed up by the backend's one query (counter/query, our reading of seed 000)
    let status = |no: &'static str| {
        let sb = &sb;
        async move { call(sb, QUERY, &json!({"out_order_no": no})).await.json()["resp_data"]["order_status"].clone() }
    };
    for (no, ending) in [("L90", "90"), ("L82", "82"), ("L97", "97")] {
        let r = call(&sb, MICROPAY, &legacy(no, "150", Some(&code(ending)))).await;
        assert_eq!(r.str("code"), "BBS10000", "{ending}: {}", r.text);
    }
    for _ in 0..3 {
        assert_eq!(status("L82").await, "PENDING");
    }
    assert_eq!(status("L82").await, "SUCCESS");
    assert_eq!(charged(&sb, "L82"), vec![150]);
    assert_eq!(status("L97").await, "PENDING");
    assert_eq!(status("L97").await, "FAILED");
    assert_eq!(status("L90").await, "PENDING");
    // 93: charged, connection dropped; 95: charged, HTTP 500; 96: charged, garbled (unsigned channel)
    let body = legacy("L93", "150", Some(&code("93"))).to_string();
    let err = post_auth(&sb, MICROPAY, &body, Some(&format!("Bearer {LAKALA_TOKEN}"))).await.expect_err("dropped");
    assert!(!err.is_timeout());
    assert_eq!(charged(&sb, "L93"), vec![150]);
    let r = call(&sb, MICROPAY, &legacy("L95", "150", Some(&code("95")))).await;
    assert_eq!(r.status, 500);
    assert_eq!(charged(&sb, "L95"), vec![150]);
    let r = call(&sb, MICROPAY, &legacy("L96", "150", Some(&code("96")))).await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_str::<Value>(&r.text).is_err(), "{}", r.text);
    assert_eq!(charged(&sb, "L96"), vec![150]);

    // parameters: the sandbox's merchant and terminal, total_fee a string of fen
    let mut bad = legacy("LB1", "150", Some(&code("00")));
    bad["req_data"]["merchant_no"] = json!("82229007392000A");
    assert_eq!(call(&sb, MICROPAY, &bad).await.str("code"), "PARAM_ERROR");
    let mut bad = legacy("LB2", "150", Some(&code("00")));
    bad["req_data"]["term_no"] = json!("X");
    assert_eq!(call(&sb, MICROPAY, &bad).await.str("code"), "PARAM_ERROR");
    let mut bad = legacy("LB3", "150", Some(&code("00")));
    bad["req_data"]["total_fee"] = json!(150);
    assert_eq!(call(&sb, MICROPAY, &bad).await.str("code"), "PARAM_ERROR");
    assert_eq!(call(&sb, MICROPAY, &legacy("LB4", "150", None)).await.str("code"), "PARAM_ERROR");
    assert_eq!(call(&sb, MICROPAY, &json!({"merchant_no": LAKALA_MERCHANT_NO})).await.str("code"), "PARAM_ERROR");
    assert_eq!(call(&sb, MICROPAY, &legacy("L00", "150", Some(&code("00")))).await.str("code"), "ORDER_EXISTS");
    assert_eq!(sb.truth().charges.len(), 6);
    assert_eq!(call(&sb, QUERY, &json!({"out_order_no": "L93"})).await.json()["resp_data"]["order_status"], "SUCCESS");
    sb.shutdown().await;
}

#[tokio::test]
async fn legacy_preorder_gives_the_customer_page() {
    let sb = start_default().await;
    let r = call(&sb, PREORDER, &legacy("LP1", "990", None)).await;
    assert_eq!(r.str("code"), "000000", "{}", r.text);
    let d = r.json()["resp_data"].clone();
    assert_eq!(d["out_trade_no"], "LP1");
    let qr = d["qr_code"].as_str().unwrap_or_default().to_owned();
    assert_eq!(qr, format!("{}/pay/LP1", sb.base_url()));
    let page = client().get(&qr).send().await.expect("page").text().await.expect("html");
    assert!(page.contains("¥9.90"), "{page}");
    assert!(page.contains(r#"id="pay""#));
    assert!(client().post(&qr).send().await.expect("pay").status().is_success());
    assert_eq!(charged(&sb, "LP1"), vec![990]);
    assert_eq!(call(&sb, PREORDER, &legacy("LP1", "990", None)).await.str("code"), "ORDER_EXISTS");
    sb.shutdown().await;
}

#[tokio::test]
async fn faults_apply_to_backend_calls() {
    let sb = start_default().await;
    sb.set_faults(Faults { fail_before_percent: 100, ..Faults::default() });
    assert_eq!(call(&sb, CREATE, &create_body("FB1", 100)).await.status, 503);
    sb.set_faults(Faults::default());
    assert_eq!(call(&sb, QUERY, &json!({"out_order_no": "FB1"})).await.str("code"), "ORDER_NOT_EXIST");
    sb.shutdown().await;
}
