//! The `abc` channel over real HTTP on loopback: wire format, validation, the
//! barcode scenarios, QR/page orders, refunds and the truth.

mod common;

use std::time::{Duration, Instant};

use common::*;
use paydesk_sandbox::SandboxOptions;

// ---------------------------------------------------------------- create and amounts

#[tokio::test]
async fn qrcode_create_echoes_exact_amounts() {
    let sb = start_default().await;
    let r = qrcode(&sb, "ORD20260115001", "100.00", r#","expiredDate":"30""#).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains(r#""amount":100.00"#), "{}", r.text);
    assert_eq!(r.field("isSuccess"), true);
    assert_eq!(r.str("orderNo"), "ORD20260115001");
    assert_eq!(r.str("status"), "PENDING");
    assert_eq!(r.str("message"), "支付订单创建成功");
    assert!(r.str("transactionId").starts_with("ABC"));
    assert_eq!(r.str("qrCodeUrl"), format!("{}/pay/ORD20260115001", sb.base_url()));
    let expire = r.str("expireTime");
    assert_eq!(expire.len(), 19, "{expire}");
    assert_eq!(&expire[10..11], "T");

    for (no, sent, echoed) in
        [("A2", "88.88", "88.88"), ("A3", "88.8", "88.80"), ("A4", "5", "5.00"), ("A5", "0.01", "0.01")]
    {
        let r = qrcode(&sb, no, sent, "").await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.text.contains(&format!(r#""amount":{echoed},"#)), "{sent}: {}", r.text);
    }
    assert!(sb.truth().charges.is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn amounts_are_strict() {
    let sb = start_default().await;
    for (i, bad) in [r#""100.00""#, "1.005", "1e2", "1.00E2", "-1.00", "0", "0.00", "null"].iter().enumerate() {
        let no = format!("BAD{i}");
        let r = qrcode(&sb, &no, bad, "").await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        assert_eq!(r.field("isSuccess"), false);
        assert_eq!(r.str("status"), "FAILED");
        assert_eq!(r.str("errorCode"), "PARAM_ERROR");
        assert_eq!(r.str("message"), "金额格式错误");
        // no order was created
        assert_eq!(query(&sb, &no).await.status, 404);
    }
    // not even JSON
    let r = qrcode(&sb, "BADJ", "01.00", "").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.str("errorCode"), "PARAM_ERROR");
    // missing amount
    let r = post_raw(
        &sb,
        "/api/payment/alipay/qrcode",
        &format!(r#"{{"orderNo":"NOAMT","merchantId":"{MERCHANT}","goodsName":"x"}}"#),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.str("message"), "金额格式错误");
    // barcode is just as strict
    let r = barcode(&sb, "BADB", "12.345", &code("00")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.str("errorCode"), "PARAM_ERROR");
    assert!(sb.truth().charges.is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn create_validation() {
    let sb = start_default().await;
    let qr = "/api/payment/alipay/qrcode";

    // goodsName missing or empty
    let r = post_raw(&sb, qr, &format!(r#"{{"orderNo":"G1","amount":1.00,"merchantId":"{MERCHANT}"}}"#)).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.str("errorCode"), "AP7346");
    assert_eq!(r.str("message"), "缺少订单详情");
    let r = post_raw(&sb, qr, &format!(r#"{{"orderNo":"G2","amount":1.00,"merchantId":"{MERCHANT}","goodsName":""}}"#))
        .await;
    assert_eq!(r.str("errorCode"), "AP7346");

    // a repeated orderNo
    assert_eq!(qrcode(&sb, "DUP1", "1.00", "").await.status, 200);
    let r = qrcode(&sb, "DUP1", "1.00", "").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.str("errorCode"), "PARAM_ERROR");
    assert_eq!(r.str("message"), "订单号重复");
    let r = barcode(&sb, "DUP1", "1.00", &code("00")).await;
    assert_eq!(r.str("message"), "订单号重复");

    // malformed JSON, wrong types, bad order numbers, missing merchant
    for body in [
        "{".to_owned(),
        "not json".to_owned(),
        "[]".to_owned(),
        String::new(),
        r#"{"orderNo":"T1","amount":1.00,"merchantId":103881636900016,"goodsName":"x"}"#.to_owned(),
        format!(r#"{{"orderNo":12345,"amount":1.00,"merchantId":"{MERCHANT}","goodsName":"x"}}"#),
        pay_body("T2", "1.00", r#","expiredDate":30"#),
        pay_body("T3", "1.00", r#","expiredDate":"abc""#),
        pay_body(&"L".repeat(33), "1.00", ""),
        pay_body("ORD-1", "1.00", ""),
        r#"{"orderNo":"T4","amount":1.00,"goodsName":"x"}"#.to_owned(),
        r#"{"amount":1.00,"merchantId":"M","goodsName":"x"}"#.to_owned(),
    ] {
        let r = post_raw(&sb, qr, &body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(r.field("isSuccess"), false, "{body}");
        assert_eq!(r.str("errorCode"), "PARAM_ERROR", "{body}");
    }

    // unknown extra fields are ignored
    let r = qrcode(&sb, "EXTRA1", "1.00", r#","somethingNew":{"a":[1,2]},"n":1.5e3"#).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // returnUrl is required for wap and pc
    for path in ["/api/payment/alipay/wap", "/api/payment/alipay/pc"] {
        let r = post_raw(&sb, path, &pay_body("NORET", "1.00", "")).await;
        assert_eq!(r.status, 400, "{path}");
        assert_eq!(r.str("errorCode"), "PARAM_ERROR");
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn wap_pc_app_shapes() {
    let sb = start_default().await;
    let r = post_raw(
        &sb,
        "/api/payment/alipay/wap",
        &pay_body("WAP1", "88.88", r#","returnUrl":"https://example.com/r","quitUrl":"https://example.com""#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.str("status"), "SUCCESS"); // the seed's contradiction, kept
    assert_eq!(r.str("paymentUrl"), format!("{}/pay/WAP1", sb.base_url()));
    assert!(r.text.contains(r#""amount":88.88"#));

    let r =
        post_raw(&sb, "/api/payment/alipay/pc", &pay_body("PC1", "288.00", r#","returnUrl":"https://example.com/r""#))
            .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.str("status"), "SUCCESS");
    assert_eq!(r.str("paymentUrl"), format!("{}/pay/PC1", sb.base_url()));

    let r = post_raw(&sb, "/api/payment/alipay/app", &pay_body("APP1", "199.97", "")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.str("status"), "PENDING");
    assert!(r.str("orderString").starts_with("app_id="), "{}", r.text);
    assert!(r.str("orderString").contains("biz_content="));

    // created is not paid
    for no in ["WAP1", "PC1", "APP1"] {
        assert_eq!(query_status(&sb, no).await, "PENDING");
    }
    assert!(sb.truth().charges.is_empty());
    // all of them can be paid on the customer page
    for no in ["WAP1", "PC1", "APP1"] {
        sb.customer_pay(no).expect("pays");
        assert_eq!(query_status(&sb, no).await, "SUCCESS");
    }
    assert_eq!(sb.truth().charges.len(), 3);
    sb.shutdown().await;
}

// ---------------------------------------------------------------- barcode scenarios

#[tokio::test]
async fn barcode_paid_at_once() {
    let sb = start_default().await;
    for (no, ending) in [("B00", "00"), ("B42", "42"), ("B79", "79"), ("B98", "98")] {
        let r = barcode(&sb, no, "68.00", &code(ending)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.field("isSuccess"), true);
        assert_eq!(r.str("status"), "SUCCESS");
        assert_eq!(r.str("message"), "支付成功");
        assert!(r.text.contains(r#""amount":68.00"#));
        assert!(!r.str("thirdOrderNo").is_empty());
        assert_eq!(r.str("payTime").len(), 19);

        let q = query(&sb, no).await;
        assert_eq!(q.str("status"), "SUCCESS");
        assert_eq!(q.str("message"), "查询成功");
        assert_eq!(q.str("thirdOrderNo"), r.str("thirdOrderNo"));
        assert_eq!(q.str("transactionId"), r.str("transactionId"));
        assert!(q.text.contains(r#""amount":68.00"#));
        assert_eq!(charged(&sb, no), vec![6800]);
    }
    let truth = sb.truth();
    assert_eq!(truth.charges.len(), 4);
    assert!(truth.charges.iter().all(|c| c.channel == "abc"));
    sb.shutdown().await;
}

#[tokio::test]
async fn barcode_user_paying_then_paid() {
    let sb = start_default().await;
    let r = barcode(&sb, "P82", "10.00", &code("82")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.field("isSuccess"), false);
    assert_eq!(r.str("status"), "USERPAYING");
    assert_eq!(r.str("errorCode"), "1002");
    assert_eq!(r.str("message"), "用户支付中，请轮询查询");
    for _ in 0..3 {
        let q = query(&sb, "P82").await;
        assert_eq!(q.str("status"), "PENDING");
        assert!(q.field("thirdOrderNo").is_null());
        assert!(charged(&sb, "P82").is_empty());
    }
    let q = query(&sb, "P82").await;
    assert_eq!(q.str("status"), "SUCCESS");
    assert!(!q.str("thirdOrderNo").is_empty());
    assert_eq!(q.str("payTime").len(), 19);
    assert_eq!(query_status(&sb, "P82").await, "SUCCESS");
    assert_eq!(charged(&sb, "P82"), vec![1000]);

    // 80: one pending query, then paid
    barcode(&sb, "P80", "1.00", &code("80")).await;
    assert_eq!(query_status(&sb, "P80").await, "PENDING");
    assert_eq!(query_status(&sb, "P80").await, "SUCCESS");
    assert_eq!(charged(&sb, "P80"), vec![100]);
    sb.shutdown().await;
}

#[tokio::test]
async fn barcode_user_paying_forever_is_closed() {
    let sb =
        start(SandboxOptions { barcode_close_after: Duration::from_millis(300), ..SandboxOptions::default() }).await;
    let r = barcode(&sb, "P90", "10.00", &code("90")).await;
    assert_eq!(r.str("status"), "USERPAYING");
    assert_eq!(query_status(&sb, "P90").await, "PENDING");
    assert_eq!(query_status(&sb, "P90").await, "PENDING");
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(query_status(&sb, "P90").await, "CLOSED");
    assert!(sb.truth().charges.is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn barcode_definitive_failures() {
    let sb = start_default().await;
    let r = barcode(&sb, "F91", "10.00", &code("91")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.field("isSuccess"), false);
    assert_eq!(r.str("status"), "FAILED");
    assert_eq!(r.str("errorCode"), "BALANCE_NOT_ENOUGH");
    assert_eq!(r.str("message"), "余额不足");
    let q = query(&sb, "F91").await;
    assert_eq!(q.str("status"), "FAILED");
    assert_eq!(q.str("errorCode"), "BALANCE_NOT_ENOUGH");
    assert_eq!(q.str("message"), "余额不足");

    let r = barcode(&sb, "F92", "10.00", &code("92")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.str("status"), "FAILED");
    assert_eq!(r.str("errorCode"), "AUTHCODE_INVALID");
    assert_eq!(r.str("message"), "付款码无效");
    assert_eq!(query(&sb, "F92").await.str("errorCode"), "AUTHCODE_INVALID");

    // codes that are not Alipay payment codes
    for (no, bad) in [
        ("C1", "134567890123456789"),   // WeChat
        ("C2", "28012345678"),          // too short
        ("C3", "2801234567890123456a"), // not digits
        ("C4", "310123456789012345"),   // prefix 31
    ] {
        let r = barcode(&sb, no, "10.00", bad).await;
        assert_eq!(r.status, 200, "{bad}: {}", r.text);
        assert_eq!(r.str("status"), "FAILED");
        assert_eq!(r.str("errorCode"), "AUTHCODE_INVALID", "{bad}");
        assert_eq!(r.str("message"), "付款码无效");
    }
    // a missing code is a parameter error
    let r = post_raw(&sb, "/api/payment/alipay/barcode", &pay_body("C5", "1.00", "")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.str("errorCode"), "PARAM_ERROR");

    // user cancels in the wallet
    let r = barcode(&sb, "F97", "10.00", &code("97")).await;
    assert_eq!(r.str("status"), "USERPAYING");
    assert_eq!(query_status(&sb, "F97").await, "PENDING");
    let q = query(&sb, "F97").await;
    assert_eq!(q.str("status"), "FAILED");
    assert_eq!(q.str("errorCode"), "USER_CANCELLED");
    assert_eq!(q.str("message"), "用户取消支付");
    assert_eq!(query_status(&sb, "F97").await, "FAILED");

    assert!(sb.truth().charges.is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn barcode_connection_drops_after_charge() {
    let sb = start_default().await;
    let err =
        barcode_with(&client(), &sb, "X93", "20.00", &code("93")).await.expect_err("the client sees a transport error");
    assert!(!err.is_timeout(), "{err:?}");
    assert!(err.is_request() || err.is_body() || err.is_connect(), "{err:?}");
    assert_eq!(query_status(&sb, "X93").await, "SUCCESS");
    assert_eq!(charged(&sb, "X93"), vec![2000]);
    // the server is fine afterwards
    assert_eq!(get(&sb, "/healthz").await.text, "ok");
    sb.shutdown().await;
}

#[tokio::test]
async fn barcode_hangs_past_the_client_timeout() {
    let sb = start(SandboxOptions { hang: Duration::from_millis(400), ..SandboxOptions::default() }).await;
    let quick = client_with_timeout(Duration::from_millis(100));
    let err = barcode_with(&quick, &sb, "H94", "20.00", &code("94")).await.expect_err("times out");
    assert!(err.is_timeout(), "{err:?}");
    let q = query(&sb, "H94").await;
    assert_eq!(q.status, 404);
    assert_eq!(q.str("errorCode"), "ORDER_NOT_FOUND");

    // a patient client gets no answer at all once the hang is over
    let started = Instant::now();
    let err = barcode_with(&client(), &sb, "H94B", "20.00", &code("94")).await.expect_err("no useful answer");
    assert!(started.elapsed() >= Duration::from_millis(350), "{err:?}");
    assert!(!err.is_timeout(), "{err:?}");
    assert_eq!(query(&sb, "H94B").await.status, 404);
    assert!(sb.truth().charges.is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn barcode_server_error_after_charge() {
    let sb = start_default().await;
    let r = barcode(&sb, "E95", "30.00", &code("95")).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.str("message"), "Internal Server Error");
    assert_eq!(query_status(&sb, "E95").await, "SUCCESS");
    assert_eq!(charged(&sb, "E95"), vec![3000]);
    sb.shutdown().await;
}

#[tokio::test]
async fn barcode_garbled_reply_after_charge() {
    let sb = start_default().await;
    let r = barcode(&sb, "G96", "30.00", &code("96")).await;
    assert_eq!(r.status, 200);
    assert!(r.text.starts_with('{'), "{}", r.text);
    assert!(serde_json::from_str::<serde_json::Value>(&r.text).is_err(), "{}", r.text);
    assert_eq!(query_status(&sb, "G96").await, "SUCCESS");
    assert_eq!(charged(&sb, "G96"), vec![3000]);
    sb.shutdown().await;
}

// ---------------------------------------------------------------- query

#[tokio::test]
async fn query_needs_the_right_merchant() {
    let sb = start_default().await;
    barcode(&sb, "Q1", "1.00", &code("00")).await;
    for merchant in [Some("999"), None, Some("")] {
        let q = query_as(&sb, "Q1", merchant).await;
        assert_eq!(q.status, 404, "{merchant:?}");
        assert_eq!(q.field("isSuccess"), false);
        assert_eq!(q.str("orderNo"), "Q1");
        assert_eq!(q.str("status"), "FAILED");
        assert_eq!(q.str("errorCode"), "ORDER_NOT_FOUND");
        assert_eq!(q.str("message"), "订单不存在");
    }
    let q = query(&sb, "NOSUCH").await;
    assert_eq!(q.status, 404);
    assert_eq!(q.str("errorCode"), "ORDER_NOT_FOUND");
    assert_eq!(query_status(&sb, "Q1").await, "SUCCESS");
    sb.shutdown().await;
}

// ---------------------------------------------------------------- QR and the customer page

#[tokio::test]
async fn qr_paid_by_customer_pay() {
    let sb = start_default().await;
    qrcode(&sb, "QR1", "12.34", "").await;
    assert_eq!(query_status(&sb, "QR1").await, "PENDING");
    sb.customer_pay("QR1").expect("pays");
    let q = query(&sb, "QR1").await;
    assert_eq!(q.str("status"), "SUCCESS");
    assert!(!q.str("thirdOrderNo").is_empty());
    assert!(q.text.contains(r#""amount":12.34"#));
    // a paid order cannot be paid again
    let again = sb.customer_pay("QR1").expect_err("already paid");
    assert!(again.contains("已支付"), "{again}");
    assert!(sb.customer_pay("NOSUCH").is_err());
    // nor can a barcode order
    barcode(&sb, "QRB", "1.00", &code("90")).await;
    assert!(sb.customer_pay("QRB").is_err());
    assert_eq!(charged(&sb, "QR1"), vec![1234]);
    assert_eq!(sb.truth().charges.len(), 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn qr_paid_on_the_customer_page() {
    let sb = start_default().await;
    let r = qrcode(&sb, "QR2", "100.00", "").await;
    let url = r.str("qrCodeUrl");
    let page = client().get(&url).send().await.expect("page");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains(r#"id="pay""#), "{html}");
    assert!(html.contains("¥100.00"));
    assert!(html.contains("测试商品"));
    assert!(html.contains(MERCHANT));
    assert!(html.contains("确认付款 Pay"));
    assert!(html.contains(r#"action="/pay/QR2""#));

    let done = client().post(&url).send().await.expect("pay");
    assert_eq!(done.status().as_u16(), 200);
    let html = done.text().await.expect("html");
    assert!(html.contains(r#"id="result">支付成功<"#), "{html}");
    assert_eq!(query_status(&sb, "QR2").await, "SUCCESS");
    assert_eq!(charged(&sb, "QR2"), vec![10000]);

    // the page now shows the state, without a button; paying again is refused
    let html = get(&sb, "/pay/QR2").await.text;
    assert!(!html.contains(r#"id="pay""#));
    assert!(html.contains("订单已支付"));
    let again = client().post(&url).send().await.expect("pay");
    assert_eq!(again.status().as_u16(), 409);
    assert!(again.text().await.expect("html").contains(r#"id="result">订单已支付<"#));
    assert_eq!(charged(&sb, "QR2"), vec![10000]);

    // unknown order
    let r = get(&sb, "/pay/NOSUCH").await;
    assert_eq!(r.status, 404);
    assert!(r.text.contains("订单不存在"));
    // the return page
    let r = get(&sb, "/return").await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("返回商户"));
    sb.shutdown().await;
}

#[tokio::test]
async fn customer_page_escapes_what_it_shows() {
    let sb = start_default().await;
    let r = post_raw(
        &sb,
        "/api/payment/alipay/qrcode",
        &format!(
            r#"{{"orderNo":"ESC1","amount":1.00,"merchantId":"{MERCHANT}","goodsName":"<script>alert(1)</script>"}}"#
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    let html = get(&sb, "/pay/ESC1").await.text;
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;"));
    sb.shutdown().await;
}

#[tokio::test]
async fn qr_expires_after_its_minutes() {
    let sb = start(SandboxOptions { minute: Duration::from_millis(100), ..SandboxOptions::default() }).await;
    qrcode(&sb, "EXP1", "5.00", r#","expiredDate":"2""#).await;
    qrcode(&sb, "EXP2", "5.00", r#","expiredDate":"2""#).await;
    assert_eq!(query_status(&sb, "EXP1").await, "PENDING");
    tokio::time::sleep(Duration::from_millis(450)).await;
    // the background tick closed it: no query needed for the page to know
    let html = get(&sb, "/pay/EXP2").await.text;
    assert!(html.contains("订单已关闭"), "{html}");
    assert_eq!(query_status(&sb, "EXP1").await, "CLOSED");
    assert!(sb.customer_pay("EXP1").is_err());
    let r = client().post(format!("{}/pay/EXP2", sb.base_url())).send().await.expect("pay");
    assert_eq!(r.status().as_u16(), 409);
    assert!(r.text().await.expect("html").contains("订单已关闭"));
    assert!(sb.truth().charges.is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn amount_ending_99_is_never_paid() {
    let sb =
        start(SandboxOptions { auto_pay_after: Some(Duration::from_millis(50)), ..SandboxOptions::default() }).await;
    qrcode(&sb, "N99", "12.99", "").await;
    let html = get(&sb, "/pay/N99").await.text;
    assert!(!html.contains(r#"id="pay""#), "{html}");
    assert!(html.contains("99"));
    assert!(sb.customer_pay("N99").is_err());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(query_status(&sb, "N99").await, "PENDING");
    assert!(sb.truth().charges.is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn auto_pay_in_demo_mode() {
    let sb =
        start(SandboxOptions { auto_pay_after: Some(Duration::from_millis(100)), ..SandboxOptions::default() }).await;
    qrcode(&sb, "AUTO1", "3.00", "").await;
    assert_eq!(query_status(&sb, "AUTO1").await, "PENDING");
    tokio::time::sleep(Duration::from_millis(500)).await;
    // the truth moved without anyone asking
    assert_eq!(charged(&sb, "AUTO1"), vec![300]);
    assert_eq!(query_status(&sb, "AUTO1").await, "SUCCESS");
    // barcode orders are not auto-paid
    barcode(&sb, "AUTO2", "1.00", &code("90")).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(query_status(&sb, "AUTO2").await, "PENDING");
    sb.shutdown().await;
}

// ---------------------------------------------------------------- refunds and truth

#[tokio::test]
async fn refunds_full_partial_and_refused() {
    let sb = start_default().await;
    barcode(&sb, "R1", "100.00", &code("00")).await;

    let r = refund(&sb, "R1", "30.00").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.field("isSuccess"), true);
    assert_eq!(r.str("status"), "SUCCESS");
    assert_eq!(r.str("message"), "退款成功");
    assert!(r.str("refundNo").starts_with("RF"));
    assert!(r.text.contains(r#""refundAmount":30.00"#), "{}", r.text);
    assert_eq!(r.str("refundTime").len(), 19);

    // more than what is left
    let r = refund(&sb, "R1", "70.01").await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.field("isSuccess"), false);
    assert_eq!(r.str("status"), "FAILED");
    assert_eq!(r.str("errorCode"), "PARAM_ERROR");

    let r = refund(&sb, "R1", "70").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains(r#""refundAmount":70.00"#));
    let r = refund(&sb, "R1", "0.01").await;
    assert_eq!(r.status, 400);

    // malformed amounts
    for bad in [r#""1.00""#, "1.001", "1e1", "-1.00", "0"] {
        let r = refund(&sb, "R1", bad).await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.str("message"), "金额格式错误");
    }

    // an unpaid order
    qrcode(&sb, "R2", "10.00", "").await;
    let r = refund(&sb, "R2", "1.00").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.str("errorCode"), "PARAM_ERROR");
    // an unknown order
    let r = refund(&sb, "NOSUCH", "1.00").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.str("errorCode"), "ORDER_NOT_FOUND");

    // a full refund at once
    barcode(&sb, "R3", "8.88", &code("01")).await;
    assert_eq!(refund(&sb, "R3", "8.88").await.status, 200);

    let truth = sb.truth();
    let r1: Vec<i64> = truth.refunds.iter().filter(|r| r.order_no == "R1").map(|r| r.amount_fen).collect();
    assert_eq!(r1, vec![3000, 7000]);
    assert_eq!(truth.refunds.len(), 3);
    assert!(truth.refunds.iter().all(|r| r.channel == "abc"));
    let nos: std::collections::HashSet<&str> = truth.refunds.iter().map(|r| r.refund_no.as_str()).collect();
    assert_eq!(nos.len(), 3);
    // the order is still a paid order for the query
    assert_eq!(query_status(&sb, "R1").await, "SUCCESS");
    sb.shutdown().await;
}

#[tokio::test]
async fn truth_over_http_matches_the_library() {
    let sb = start_default().await;
    barcode(&sb, "T1", "1.00", &code("00")).await;
    qrcode(&sb, "T2", "2.00", "").await;
    sb.customer_pay("T2").expect("pays");
    refund(&sb, "T1", "0.50").await;
    let r = get(&sb, "/admin/truth").await;
    assert_eq!(r.status, 200);
    let over_http: paydesk_sandbox::Truth = serde_json::from_str(&r.text).expect("truth");
    assert_eq!(over_http.charges.len(), 2);
    assert_eq!(over_http.charges, sb.truth().charges);
    assert_eq!(over_http.refunds, sb.truth().refunds);
    let v = r.json();
    let c0 = &v["charges"][0];
    assert_eq!(c0["channel"], "abc");
    assert_eq!(c0["orderNo"], "T1");
    assert_eq!(c0["amountFen"], 100);
    assert!(c0["tradeNo"].is_string());
    assert!(c0["atMs"].is_i64());
    let r0 = &v["refunds"][0];
    assert_eq!(r0["orderNo"], "T1");
    assert_eq!(r0["amountFen"], 50);
    assert!(r0["refundNo"].is_string());
    assert_eq!(v["charges"][1]["orderNo"], "T2");
    assert_eq!(get(&sb, "/healthz").await.text, "ok");
    sb.shutdown().await;
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("sub").join("sandbox.json");
    let opts = SandboxOptions { state_file: Some(file.clone()), ..SandboxOptions::default() };
    let sb = start(opts.clone()).await;
    barcode(&sb, "S1", "9.00", &code("00")).await;
    qrcode(&sb, "S2", "4.00", "").await;
    barcode(&sb, "S3", "1.00", &code("81")).await;
    query(&sb, "S3").await; // one of two pending queries
    refund(&sb, "S1", "1.00").await;
    let before = sb.truth();
    sb.shutdown().await;
    assert!(file.exists());

    let sb = start(opts).await;
    assert_eq!(sb.truth(), before);
    assert_eq!(query_status(&sb, "S1").await, "SUCCESS");
    assert_eq!(query_status(&sb, "S2").await, "PENDING");
    sb.customer_pay("S2").expect("still payable");
    assert_eq!(query_status(&sb, "S3").await, "PENDING");
    assert_eq!(query_status(&sb, "S3").await, "SUCCESS");
    // numbers keep counting: no duplicate order, refund or trade numbers
    let r = refund(&sb, "S1", "1.00").await;
    assert_eq!(r.status, 200);
    let truth = sb.truth();
    assert_eq!(truth.charges.len(), 3);
    assert_ne!(truth.refunds[0].refund_no, truth.refunds[1].refund_no);
    let r = barcode(&sb, "S1", "9.00", &code("00")).await;
    assert_eq!(r.str("message"), "订单号重复");
    sb.shutdown().await;

    // a corrupt state file is an error, not a silent fresh start
    std::fs::write(&file, b"{ not json").expect("write");
    let err = paydesk_sandbox::Sandbox::start(SandboxOptions { state_file: Some(file), ..SandboxOptions::default() })
        .await
        .expect_err("refuses a corrupt file");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
}
