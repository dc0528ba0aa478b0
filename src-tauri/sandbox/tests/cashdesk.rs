//! The `cashdesk` channel over real HTTP on loopback: unified order signed with MD5 or SM3,
//! the reply's signature, the channel list, the payment list and the page it makes, the signed
//! query (flat, as seed §4.3 shows it, or enveloped), "no result" written three ways, and yuan
//! amounts read as numbers or as written.

mod common;

use std::time::Duration;

use common::{charged, client, get, post_raw, start, start_default, Reply};
use md5::Digest as _;
use paydesk_sandbox::{
    AmountReading, AmountUnit, Faults, NoResult, QueryForm, Sandbox, SandboxOptions, SignScheme, CASHDESK_APP_ID,
    CASHDESK_APP_KEY,
};
use serde_json::Value;

const ORDERS: &str = "/api/cashier-desk/unified/orders";

fn digest(scheme: SignScheme, text: &str) -> String {
    match scheme {
        SignScheme::Md5 => hex::encode(md5::Md5::digest(text.as_bytes())),
        SignScheme::Sm3 => hex::encode(sm3::Sm3::digest(text.as_bytes())),
    }
}

/// Sorted `name=value` pairs (empty values left out) joined by `&`, then `&key=…`.
fn canonical(pairs: &[(&str, String)], key: &str) -> String {
    let mut v: Vec<(&str, &str)> = pairs.iter().filter(|(_, x)| !x.is_empty()).map(|(n, x)| (*n, x.as_str())).collect();
    v.sort();
    let mut s: String = v.iter().map(|(n, x)| format!("{n}={x}&")).collect();
    s.push_str("key=");
    s.push_str(key);
    s
}

fn nonce() -> String {
    format!("{}{:03}", chrono::Utc::now().timestamp_millis(), fastrand::u16(..1000))
}

/// A unified order: `amount` is written verbatim; `extra` fields are added (and signed
/// when `sign_extra`).
struct Unified<'a> {
    no: &'a str,
    amount: &'a str,
    scheme: SignScheme,
    key: &'a str,
    app_id: &'a str,
    extra: Vec<(&'a str, &'a str)>,
    sign_extra: bool,
}

impl<'a> Unified<'a> {
    fn new(no: &'a str, amount: &'a str) -> Self {
        Unified {
            no,
            amount,
            scheme: SignScheme::Md5,
            key: CASHDESK_APP_KEY,
            app_id: CASHDESK_APP_ID,
            extra: vec![],
            sign_extra: true,
        }
    }

    fn body(&self) -> (String, String) {
        let nonce = nonce();
        let ts = chrono::Utc::now().timestamp_millis().to_string();
        let mut pairs = vec![
            // a string's canonical value is its content
            ("amount", self.amount.trim_matches('"').to_owned()),
            ("goodsDesc", "两件商品".to_owned()),
            ("orderTitle", "收银台测试".to_owned()),
            ("outTradeNo", self.no.to_owned()),
            ("thirdPartyUser", String::new()),
            ("appId", self.app_id.to_owned()),
            ("nonce", nonce.clone()),
            ("timestamp", ts.clone()),
        ];
        if self.sign_extra {
            pairs.extend(self.extra.iter().map(|(n, v)| (*n, v.to_string())));
        }
        let signature = digest(self.scheme, &canonical(&pairs, self.key));
        let extra: String = self.extra.iter().map(|(n, v)| format!(r#","{n}":"{v}""#)).collect();
        let body = format!(
            r#"{{"amount":{},"goodsDesc":"两件商品","orderTitle":"收银台测试","outTradeNo":"{}","thirdPartyUser":"",
               "appId":"{}","nonce":"{nonce}","timestamp":{ts},"signature":"{signature}"{extra}}}"#,
            self.amount, self.no, self.app_id
        );
        (body, signature)
    }

    async fn send(&self, sb: &Sandbox) -> Reply {
        post_raw(sb, ORDERS, &self.body().0).await
    }
}

async fn query_with(sb: &Sandbox, no: &str, scheme: SignScheme, key: &str, tweak: impl FnOnce(&mut String)) -> Reply {
    let nonce = nonce();
    let ts = chrono::Utc::now().timestamp_millis().to_string();
    let pairs = [
        ("appId", CASHDESK_APP_ID.to_owned()),
        ("nonce", nonce.clone()),
        ("outTradeNo", no.to_owned()),
        ("timestamp", ts.clone()),
    ];
    let signature = digest(scheme, &canonical(&pairs, key));
    let mut query = format!("appId={CASHDESK_APP_ID}&nonce={nonce}&timestamp={ts}&signature={signature}");
    tweak(&mut query);
    get(sb, &format!("/api/cashier-desk/out-trade-no/query-pay-result/{no}?{query}")).await
}

/// The pay-result, flat as seed §4.3 shows it (no envelope).
async fn query(sb: &Sandbox, no: &str) -> Value {
    let r = query_with(sb, no, SignScheme::Md5, CASHDESK_APP_KEY, |_| {}).await;
    assert_eq!(r.status, 200);
    assert!(r.field("code").is_null(), "flat: {}", r.text);
    r.json()
}

/// The seed's `NULL`, written as text, JSON null, or left out.
fn nothing_yet(d: &Value) -> bool {
    matches!(d.get("resultCode"), None | Some(Value::Null)) || d["resultCode"] == "NULL"
}

/// `payment/list` for a token, signed like every request; `lists` goes in unsigned.
async fn payment_list(sb: &Sandbox, token: &str, lists: &str) -> Reply {
    let (nonce, ts) = (nonce(), chrono::Utc::now().timestamp_millis().to_string());
    let pairs = [
        ("appId", CASHDESK_APP_ID.to_owned()),
        ("nonce", nonce.clone()),
        ("timestamp", ts.clone()),
        ("token", token.to_owned()),
    ];
    let signature = digest(SignScheme::Md5, &canonical(&pairs, CASHDESK_APP_KEY));
    let body = format!(
        r#"{{"appId":"{CASHDESK_APP_ID}","nonce":"{nonce}","timestamp":{ts},"token":"{token}","signature":"{signature}"{lists}}}"#
    );
    post_raw(sb, "/api/cashier-desk/payment/list", &body).await
}

/// The reply's `data.signature` verifies over appId, nonce, outTradeNo, timestamp.
fn reply_signature_verifies(r: &Reply, scheme: SignScheme) -> bool {
    let s = &r.json()["data"]["signature"];
    let text = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
    let pairs = [
        ("appId", text(&s["appId"])),
        ("nonce", text(&s["nonce"])),
        ("outTradeNo", text(&s["outTradeNo"])),
        ("timestamp", text(&s["timestamp"])),
    ];
    s["signature"].as_str() == Some(digest(scheme, &canonical(&pairs, CASHDESK_APP_KEY)).as_str())
}

#[tokio::test]
async fn unified_order_md5_then_paid() {
    let sb = start_default().await;
    let r = Unified::new("CD1", "1234").send(&sb).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.field("code"), 1000, "{}", r.text);
    assert_eq!(r.str("msg"), "操作成功");
    assert!(r.field("responseTime").is_i64());
    let data = r.field("data");
    let token = data["token"].as_str().unwrap_or_default().to_owned();
    assert_eq!(token.len(), 32);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(data["signature"]["appId"], CASHDESK_APP_ID);
    assert_eq!(data["signature"]["outTradeNo"], "CD1");
    assert!(data["signature"]["timestamp"].is_i64());
    assert!(data["signature"]["nonce"].as_str().is_some_and(|n| n.len() >= 13));
    assert_eq!(data["signature"]["signature"].as_str().map(str::len), Some(32));
    assert!(reply_signature_verifies(&r, SignScheme::Md5), "{}", r.text);
    assert!(data["order"]["orderId"].is_i64());
    assert_eq!(data["order"]["outTradeNo"], "CD1");
    assert!(r.text.contains(r#""amount":1234"#), "{}", r.text);

    // the channel list: one type twice, with a sort that disagrees with the list order
    let channels = data["channels"].as_array().cloned().unwrap_or_default();
    let ali: Vec<&Value> = channels.iter().filter(|c| c["channelType"] == "ali-pay").collect();
    let wx: Vec<&Value> = channels.iter().filter(|c| c["channelType"] == "wx-pay").collect();
    assert_eq!((ali.len(), wx.len()), (2, 1));
    assert_ne!(ali[0]["sort"], ali[1]["sort"]);
    for c in &channels {
        for field in ["id", "channelId", "channelType", "channelName", "sceneCode", "mchId", "sort"] {
            assert!(!c[field].is_null(), "{field}: {c}");
        }
    }

    // the payment page offers every channel until the merchant picks some
    let page_url = format!("{}/cashier-desk-web/payment?token={token}", sb.base_url());
    let html = client().get(&page_url).send().await.expect("page").text().await.expect("html");
    assert!(html.contains("¥12.34"), "{html}");
    assert!(html.contains("沙箱支付宝H5备用") && html.contains("沙箱微信H5"), "{html}");
    assert!(html.contains(&format!("{}/pay/CD1", sb.base_url())), "{html}");
    assert_eq!(get(&sb, "/cashier-desk-web/payment?token=NOPE").await.status, 404);
    assert_eq!(get(&sb, "/cashier-desk-web/payment").await.status, 404);
    // two of one type are refused (seed §3.2), an unknown token too; then one per type is taken
    let r = payment_list(&sb, &token, r#","channelIds":[1,3]"#).await;
    assert_eq!((r.field("code"), r.str("msg")), (Value::from(4000), "一类渠道最多留下一个渠道".to_owned()));
    assert_eq!(payment_list(&sb, "NOPE", r#","channelIds":[1]"#).await.field("code"), 4000);
    let r = payment_list(&sb, &token, r#","channelIds":[1,2]"#).await;
    assert_eq!(r.field("code"), 1000, "{}", r.text);
    assert_eq!(r.field("data")["url"], Value::from(page_url.clone()));
    let html = client().get(&page_url).send().await.expect("page").text().await.expect("html");
    assert!(html.contains("沙箱支付宝H5") && html.contains("沙箱微信H5"), "{html}");
    assert!(!html.contains("沙箱支付宝H5备用"), "the channel not picked is not offered: {html}");

    // query: nothing yet, then paid
    let d = query(&sb, "CD1").await;
    assert!(nothing_yet(&d), "{d}");
    assert!(d["payTime"].is_null());
    sb.customer_pay("CD1").expect("pays");
    let d = query(&sb, "CD1").await;
    assert_eq!(d["resultCode"], "SUCCESS", "{d}");
    assert_eq!(d["channelType"], "ali-pay");
    assert!(d["channelId"].is_i64());
    assert!(d["mchId"].is_string());
    let pay_time = d["payTime"].as_str().unwrap_or_default();
    assert!(chrono::NaiveDateTime::parse_from_str(pay_time, "%Y-%m-%d %H:%M:%S").is_ok(), "{pay_time}");
    assert_eq!(charged(&sb, "CD1"), vec![1234]);
    assert_eq!(sb.truth().charges[0].channel, "cashdesk");

    // unknown order: nothing to report
    let d = query(&sb, "NOSUCH").await;
    assert!(nothing_yet(&d), "{d}");
    sb.shutdown().await;
}

#[tokio::test]
async fn sm3_when_configured() {
    let sb = start(SandboxOptions { cashdesk_sign: SignScheme::Sm3, ..SandboxOptions::default() }).await;
    // an MD5 signature is refused
    let r = Unified::new("SM1", "100").send(&sb).await;
    assert_eq!(r.field("code"), 4001, "{}", r.text);
    assert_eq!(r.str("msg"), "签名错误");
    let r = Unified { scheme: SignScheme::Sm3, ..Unified::new("SM2", "100") }.send(&sb).await;
    assert_eq!(r.field("code"), 1000, "{}", r.text);
    assert_eq!(r.json()["data"]["signature"]["signature"].as_str().map(str::len), Some(64));
    assert!(reply_signature_verifies(&r, SignScheme::Sm3));
    assert!(!reply_signature_verifies(&r, SignScheme::Md5));
    let q = query_with(&sb, "SM2", SignScheme::Sm3, CASHDESK_APP_KEY, |_| {}).await;
    assert!(q.field("code").is_null() && nothing_yet(&q.json()), "{}", q.text);
    let q = query_with(&sb, "SM2", SignScheme::Md5, CASHDESK_APP_KEY, |_| {}).await;
    assert_eq!(q.field("code"), 4001);
    // nothing was made of the refused order
    let q = query_with(&sb, "SM1", SignScheme::Sm3, CASHDESK_APP_KEY, |_| {}).await;
    assert!(nothing_yet(&q.json()), "{}", q.text);
    assert!(sb.customer_pay("SM1").is_err());
    sb.shutdown().await;
}

#[tokio::test]
async fn signatures_and_fields_are_checked() {
    let sb = start_default().await;
    let refused = |r: &Reply, code: i64, why: &str| {
        assert_eq!(r.status, 200, "{why}");
        assert_eq!(r.field("code"), code, "{why}: {}", r.text);
        assert!(r.field("data").is_null(), "{why}");
    };
    // tampered after signing
    let (body, _) = Unified::new("X1", "1000").body();
    refused(&post_raw(&sb, ORDERS, &body.replace(r#""amount":1000"#, r#""amount":1"#)).await, 4001, "amount");
    // another key, an unknown app, uppercase hex
    refused(&Unified { key: "999999", ..Unified::new("X2", "100") }.send(&sb).await, 4001, "key");
    refused(&Unified { app_id: "654321", ..Unified::new("X3", "100") }.send(&sb).await, 4001, "appId");
    let (body, sig) = Unified::new("X4", "100").body();
    refused(&post_raw(&sb, ORDERS, &body.replace(&sig, &sig.to_uppercase())).await, 4001, "uppercase");
    // an extra field that was not signed; one that was; a nested one (never signed)
    let unsigned = Unified { extra: vec![("foo", "bar")], sign_extra: false, ..Unified::new("X5", "100") };
    refused(&unsigned.send(&sb).await, 4001, "unsigned extra");
    let signed = Unified { extra: vec![("foo", "bar")], ..Unified::new("X6", "100") };
    assert_eq!(signed.send(&sb).await.field("code"), 1000);
    let (body, _) = Unified::new("X7", "100").body();
    let nested = body.replacen('{', r#"{"ext":{"a":1},"list":[1,2],"#, 1);
    assert_eq!(post_raw(&sb, ORDERS, &nested).await.field("code"), 1000, "{nested}");
    // missing or malformed fields
    let (body, _) = Unified::new("X8", "100").body();
    let no_nonce = body.replacen(r#""nonce":""#, r#""nonceX":""#, 1);
    refused(&post_raw(&sb, ORDERS, &no_nonce).await, 4000, "no nonce");
    let no_sig = body.replacen(r#""signature":""#, r#""sig":""#, 1);
    refused(&post_raw(&sb, ORDERS, &no_sig).await, 4000, "no signature");
    let no_amount = body.replacen(r#""amount":100,"#, "", 1);
    refused(&post_raw(&sb, ORDERS, &no_amount).await, 4000, "no amount");
    for bad in ["{", "[]", "", "null"] {
        refused(&post_raw(&sb, ORDERS, bad).await, 4000, bad);
    }
    // amounts in fen: integers only (checked after the signature, which is right here)
    for (no, amount) in [("X9", "12.34"), ("X10", "0"), ("X11", "-5"), ("X12", r#""100""#)] {
        refused(&Unified::new(no, amount).send(&sb).await, 4000, amount);
    }
    // a repeat
    refused(&Unified::new("X6", "100").send(&sb).await, 4002, "repeat");

    // the query's signature
    let q = query_with(&sb, "X6", SignScheme::Md5, "999999", |_| {}).await;
    assert_eq!(q.field("code"), 4001);
    let q =
        query_with(&sb, "X6", SignScheme::Md5, CASHDESK_APP_KEY, |q| *q = q.replace("appId=123456", "appId=1")).await;
    assert_eq!(q.field("code"), 4001);
    let q = query_with(&sb, "X6", SignScheme::Md5, CASHDESK_APP_KEY, |q| {
        *q = q.split("&signature").next().unwrap_or("").to_owned()
    })
    .await;
    assert_eq!(q.field("code"), 4000);
    // a signature made for one order does not query another
    let q = get(&sb, &{
        let r = query_with(&sb, "X6", SignScheme::Md5, CASHDESK_APP_KEY, |_| {}).await;
        assert_eq!(r.status, 200);
        assert!(r.field("code").is_null(), "{}", r.text);
        let nonce = nonce();
        let ts = chrono::Utc::now().timestamp_millis().to_string();
        let pairs = [("appId", CASHDESK_APP_ID.to_owned()), ("nonce", nonce.clone()), ("outTradeNo", "X6".to_owned()), ("timestamp", ts.clone())];
        let sig = digest(SignScheme::Md5, &canonical(&pairs, CASHDESK_APP_KEY));
        format!("/api/cashier-desk/out-trade-no/query-pay-result/X5?appId={CASHDESK_APP_ID}&nonce={nonce}&timestamp={ts}&signature={sig}")
    })
    .await;
    assert_eq!(q.field("code"), 4001);
    assert!(sb.truth().charges.is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn yuan_amounts_when_configured() {
    let yuan = |reading| SandboxOptions {
        cashdesk_amount_unit: AmountUnit::Yuan,
        cashdesk_amount_reading: reading,
        ..SandboxOptions::default()
    };
    let sb = start(yuan(AmountReading::AsNumber)).await;
    let r = Unified::new("Y1", "12.34").send(&sb).await;
    assert_eq!(r.field("code"), 1000, "{}", r.text);
    assert!(r.text.contains(r#""amount":12.34"#), "{}", r.text);
    // A desk that reads the number signs `12.30` as `12.3`: written so, it verifies.
    assert_eq!(Unified::new("Y2", "12.3").send(&sb).await.field("code"), 1000);
    assert_eq!(Unified::new("Y6", "12").send(&sb).await.field("code"), 1000);
    // The same amounts written with two decimals and signed as written do not verify there.
    assert_eq!(Unified::new("Y7", "12.30").send(&sb).await.field("code"), 4001);
    assert_eq!(Unified::new("Y8", "12.00").send(&sb).await.field("code"), 4001);
    let r = Unified::new("Y9", "12").send(&sb).await;
    assert!(r.text.contains(r#""amount":12,"#), "written back as read: {}", r.text);
    for (no, amount) in [("Y3", r#""12.34""#), ("Y4", "0"), ("Y5", "1.005")] {
        assert_eq!(Unified::new(no, amount).send(&sb).await.field("code"), 4000, "{amount}");
    }
    sb.customer_pay("Y1").expect("pays");
    assert_eq!(charged(&sb, "Y1"), vec![1234]);
    sb.shutdown().await;
    // One that keeps the text: `12.30` verifies as written.
    let sb = start(yuan(AmountReading::AsWritten)).await;
    let r = Unified::new("W1", "12.30").send(&sb).await;
    assert_eq!(r.field("code"), 1000, "{}", r.text);
    assert!(r.text.contains(r#""amount":12.30"#), "{}", r.text);
    sb.shutdown().await;
}

#[tokio::test]
async fn no_result_is_written_as_configured_and_the_query_can_be_enveloped() {
    for (style, form) in [
        (NoResult::Text, QueryForm::Flat),
        (NoResult::JsonNull, QueryForm::Flat),
        (NoResult::Absent, QueryForm::Flat),
        (NoResult::JsonNull, QueryForm::Envelope),
    ] {
        let sb =
            start(SandboxOptions { cashdesk_no_result: style, cashdesk_query_form: form, ..SandboxOptions::default() })
                .await;
        assert_eq!(Unified::new("N1", "100").send(&sb).await.field("code"), 1000);
        let r = query_with(&sb, "N1", SignScheme::Md5, CASHDESK_APP_KEY, |_| {}).await;
        let d = match form {
            QueryForm::Flat => r.json(),
            QueryForm::Envelope => {
                assert_eq!(r.field("code"), 1000, "{}", r.text);
                r.field("data")
            }
        };
        let written = d.get("resultCode").cloned();
        match style {
            NoResult::Text => assert_eq!(written, Some(Value::from("NULL"))),
            NoResult::JsonNull => assert_eq!(written, Some(Value::Null)),
            NoResult::Absent | NoResult::Mixed => assert_eq!(written, None, "{d}"),
        }
        sb.shutdown().await;
    }
}

#[tokio::test]
async fn an_unpaid_order_never_closes_by_itself_and_can_be_paid_late() {
    // Seed 002 names no expiry: hours of sandbox minutes later the order reads NULL and takes payment.
    let sb = start(SandboxOptions { minute: Duration::from_millis(5), ..SandboxOptions::default() }).await;
    assert_eq!(Unified::new("E1", "100").send(&sb).await.field("code"), 1000);
    assert!(nothing_yet(&query(&sb, "E1").await));
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(nothing_yet(&query(&sb, "E1").await));
    sb.customer_pay("E1").expect("a late customer still pays");
    assert_eq!(query(&sb, "E1").await["resultCode"], "SUCCESS");
    assert_eq!(charged(&sb, "E1"), vec![100]);
    // an amount ending in .99 is never paid
    assert_eq!(Unified::new("E2", "199").send(&sb).await.field("code"), 1000);
    assert!(sb.customer_pay("E2").is_err());
    assert_eq!(sb.truth().charges.len(), 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn faults_apply_to_desk_calls_not_to_its_page() {
    let sb = start_default().await;
    let r = Unified::new("FD1", "100").send(&sb).await;
    let token = r.json()["data"]["token"].as_str().unwrap_or_default().to_owned();
    sb.set_faults(Faults { fail_before_percent: 100, ..Faults::default() });
    assert_eq!(Unified::new("FD2", "100").send(&sb).await.status, 503);
    assert_eq!(query_with(&sb, "FD1", SignScheme::Md5, CASHDESK_APP_KEY, |_| {}).await.status, 503);
    assert_eq!(get(&sb, &format!("/cashier-desk-web/payment?token={token}")).await.status, 200);
    sb.shutdown().await;
}
