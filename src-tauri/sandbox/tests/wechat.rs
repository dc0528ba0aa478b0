//! The `wechat` channel (WeChat Pay v2, XML) over real HTTP on loopback, through a small
//! merchant client written here independently of the sandbox's code: its own signing (MD5 and
//! HMAC-SHA256, checked against the published vector) and its own XML reading. Every call,
//! every micropay scenario, refused requests, refunds, NATIVE orders, the notify, and the
//! mutual-TLS listener.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::receiver::{wait_for, Receiver};
use common::{charged, client, client_with_timeout, refunded, start, start_default};
use paydesk_sandbox::{
    demo_keys, Forge, NotifyCause, NotifyFormat, NotifyRequest, Sandbox, SandboxOptions, WECHAT_API_KEY, WECHAT_APPID,
    WECHAT_MCH_ID, WECHAT_NOTIFY_ACK,
};
use quick_xml::events::Event;

const MICROPAY: &str = "/pay/micropay";
const ORDERQUERY: &str = "/pay/orderquery";
const REVERSE: &str = "/secapi/pay/reverse";
const UNIFIEDORDER: &str = "/pay/unifiedorder";
const CLOSEORDER: &str = "/pay/closeorder";
const REFUND: &str = "/secapi/pay/refund";
const REFUNDQUERY: &str = "/pay/refundquery";

// ---------------------------------------------------------------- the merchant's client

fn sign(fields: &BTreeMap<String, String>, sign_type: &str, key: &str) -> String {
    common::wechat_sign(fields, sign_type, key)
}

fn to_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// As the official SDKs write it: every value in CDATA.
fn xml(fields: &BTreeMap<String, String>) -> String {
    let inner: String = fields.iter().map(|(k, v)| format!("<{k}><![CDATA[{v}]]></{k}>")).collect();
    format!("<xml>{inner}</xml>")
}

/// The children of `<xml>` with their text (CDATA or plain).
fn parse(text: &str) -> Option<BTreeMap<String, String>> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                let name = String::from_utf8(e.name().as_ref().as_bytes().to_vec()).ok()?;
                if name != "xml" {
                    out.insert(name.clone(), String::new());
                    current = Some(name);
                }
            }
            Event::CData(c) => out.get_mut(current.as_ref()?)?.push_str(&c),
            Event::Text(t) if current.is_some() => out.get_mut(current.as_ref()?)?.push_str(&t),
            Event::End(_) => current = None,
            Event::Eof => return Some(out),
            _ => {}
        }
    }
}

/// A WeChat-style payment code (18 digits, starting 13) ending in `ending`.
fn wx_code(ending: &str) -> String {
    format!("1345678901234567{ending}")
}

fn nonce() -> String {
    (0..24).map(|_| fastrand::alphanumeric()).collect()
}

/// The merchant: signs with the API key, MD5 or HMAC-SHA256.
struct Merchant {
    http: reqwest::Client,
    base: String,
    key: String,
    sign_type: &'static str,
}

impl Merchant {
    fn new(sb: &Sandbox) -> Merchant {
        Merchant { http: client(), base: sb.base_url(), key: WECHAT_API_KEY.to_owned(), sign_type: "MD5" }
    }

    fn hmac(sb: &Sandbox) -> Merchant {
        Merchant { sign_type: "HMAC-SHA256", ..Merchant::new(sb) }
    }

    /// The call's fields with `appid`, `mch_id`, `nonce_str` (and `sign_type` for HMAC), signed.
    fn request(&self, fields: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut f = to_map(&[("appid", WECHAT_APPID), ("mch_id", WECHAT_MCH_ID)]);
        f.insert("nonce_str".into(), nonce());
        if self.sign_type != "MD5" {
            f.insert("sign_type".into(), self.sign_type.into());
        }
        f.extend(to_map(fields));
        let s = sign(&f, self.sign_type, &self.key);
        f.insert("sign".into(), s);
        f
    }

    async fn post(&self, path: &str, body: String) -> Result<Reply, reqwest::Error> {
        let resp = self.http.post(format!("{}{path}", self.base)).body(body).send().await?;
        Ok(Reply { status: resp.status().as_u16(), text: resp.text().await?, sign_type: self.sign_type })
    }

    async fn call(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.post(path, xml(&self.request(fields))).await.unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn micropay_fields(no: &str, fen: &str, code: &str) -> Vec<(String, String)> {
        [
            ("body", "测试商品"),
            ("out_trade_no", no),
            ("total_fee", fen),
            ("spbill_create_ip", "127.0.0.1"),
            ("auth_code", code),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    async fn micropay(&self, no: &str, fen: &str, code: &str) -> Reply {
        let f = Merchant::micropay_fields(no, fen, code);
        let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.call(MICROPAY, &pairs).await
    }

    async fn native(&self, no: &str, fen: &str, notify_url: &str) -> Reply {
        self.call(
            UNIFIEDORDER,
            &[
                ("body", "扫码商品"),
                ("out_trade_no", no),
                ("total_fee", fen),
                ("spbill_create_ip", "127.0.0.1"),
                ("notify_url", notify_url),
                ("trade_type", "NATIVE"),
                ("product_id", "P1"),
            ],
        )
        .await
        .checked()
    }

    /// `trade_state`, or the `err_code` when the query fails.
    async fn state(&self, no: &str) -> String {
        let r = self.call(ORDERQUERY, &[("out_trade_no", no)]).await.checked();
        match r.get("result_code").as_str() {
            "SUCCESS" => r.get("trade_state"),
            _ => r.get("err_code"),
        }
    }

    async fn refund(&self, no: &str, refund_no: &str, total: &str, fee: &str) -> Reply {
        self.call(
            REFUND,
            &[("out_trade_no", no), ("out_refund_no", refund_no), ("total_fee", total), ("refund_fee", fee)],
        )
        .await
        .checked()
    }

    async fn refund_status(&self, refund_no: &str) -> String {
        let r = self.call(REFUNDQUERY, &[("out_refund_no", refund_no)]).await.checked();
        match r.get("result_code").as_str() {
            "SUCCESS" => r.get("refund_status_0"),
            _ => r.get("err_code"),
        }
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    text: String,
    sign_type: &'static str,
}

impl Reply {
    fn fields(&self) -> BTreeMap<String, String> {
        parse(&self.text).unwrap_or_else(|| panic!("not XML: {}", self.text))
    }

    fn get(&self, name: &str) -> String {
        self.fields().get(name).cloned().unwrap_or_default()
    }

    /// Taken, and signed with the request's algorithm over every other field.
    fn verifies(&self) -> bool {
        let f = self.fields();
        f.get("sign").is_some_and(|s| *s == sign(&f, self.sign_type, WECHAT_API_KEY))
    }

    fn checked(self) -> Reply {
        assert_eq!(self.status, 200, "{}", self.text);
        assert_eq!(self.get("return_code"), "SUCCESS", "{}", self.text);
        assert!(self.verifies(), "the reply's sign does not verify: {}", self.text);
        self
    }

    /// `(result_code, err_code)`.
    fn result(&self) -> (String, String) {
        (self.get("result_code"), self.get("err_code"))
    }

    /// A request not taken: `return_code FAIL`, unsigned; its `return_msg`.
    fn not_taken(&self) -> String {
        assert_eq!(self.status, 200, "{}", self.text);
        let f = self.fields();
        assert_eq!(f.get("return_code").map(String::as_str), Some("FAIL"), "{}", self.text);
        assert!(!f.contains_key("sign") && !f.contains_key("result_code"), "{}", self.text);
        f.get("return_msg").cloned().unwrap_or_default()
    }
}

/// The research file's published vector (§2.2), through this file's own signer.
#[test]
fn the_signer_matches_the_published_vector() {
    let fields = to_map(&[
        ("appid", "wxd930ea5d5a258f4f"),
        ("mch_id", "10000100"),
        ("device_info", "1000"),
        ("body", "test"),
        ("nonce_str", "ibuaiVcKdpRxkhJA"),
    ]);
    let key = "192006250b4c09247ec02edce69f6a2d";
    assert_eq!(sign(&fields, "MD5", key), "9A0A8659F005D6984697E2CA0A9CF3B7");
    assert_eq!(sign(&fields, "HMAC-SHA256", key), "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6");
}

// ---------------------------------------------------------------- micropay scenarios

#[tokio::test]
async fn micropay_paid_at_once_with_either_signature() {
    let sb = start_default().await;
    for (m, no) in [(Merchant::new(&sb), "W00"), (Merchant::hmac(&sb), "W00H")] {
        let r = m.micropay(no, "6800", &wx_code("00")).await.checked();
        assert_eq!(r.result(), ("SUCCESS".into(), String::new()), "{}", r.text);
        let f = r.fields();
        let field = |k: &str| f.get(k).map_or("", String::as_str);
        assert_eq!((field("appid"), field("mch_id")), (WECHAT_APPID, WECHAT_MCH_ID));
        assert_eq!((field("trade_type"), field("fee_type")), ("MICROPAY", "CNY"));
        assert_eq!((field("total_fee"), field("cash_fee")), ("6800", "6800"));
        assert_eq!(field("out_trade_no"), no);
        assert_eq!(field("transaction_id").len(), 28);
        assert!(!field("openid").is_empty());
        assert!(chrono::NaiveDateTime::parse_from_str(field("time_end"), "%Y%m%d%H%M%S").is_ok());
        // the reply names HMAC-SHA256 when it is signed so
        assert_eq!(field("sign_type"), if m.sign_type == "MD5" { "" } else { "HMAC-SHA256" });
        assert_eq!(m.state(no).await, "SUCCESS");
        assert_eq!(charged(&sb, no), vec![6800]);
    }
    for (no, ending) in [("W42", "42"), ("W79", "79"), ("W98", "98")] {
        assert_eq!(
            Merchant::new(&sb).micropay(no, "100", &wx_code(ending)).await.checked().get("result_code"),
            "SUCCESS"
        );
    }
    assert!(sb.truth().charges.iter().all(|c| c.channel == "wechat"));
    assert_eq!(sb.calls("/pay/micropay"), 5);
    sb.shutdown().await;
}

#[tokio::test]
async fn micropay_user_paying_then_paid() {
    let sb = start_default().await;
    let m = Merchant::new(&sb);
    let r = m.micropay("P82", "1000", &wx_code("82")).await.checked();
    assert_eq!(r.result(), ("FAIL".into(), "USERPAYING".into()));
    assert_eq!(r.get("err_code_des"), "需要用户输入支付密码");
    for _ in 0..3 {
        assert_eq!(m.state("P82").await, "USERPAYING");
        assert!(charged(&sb, "P82").is_empty());
    }
    let q = m.call(ORDERQUERY, &[("out_trade_no", "P82")]).await.checked();
    assert_eq!((q.get("trade_state").as_str(), q.get("total_fee").as_str()), ("SUCCESS", "1000"));
    assert_eq!((q.get("trade_type").as_str(), q.get("cash_fee").as_str()), ("MICROPAY", "1000"));
    assert!(!q.get("transaction_id").is_empty() && !q.get("time_end").is_empty());
    assert_eq!(charged(&sb, "P82"), vec![1000]);
    // a repeat of a paid order
    assert_eq!(m.micropay("P82", "1000", &wx_code("82")).await.checked().result().1, "ORDERPAID");
    sb.shutdown().await;
}

#[tokio::test]
async fn micropay_never_confirmed_is_revoked() {
    let sb =
        start(SandboxOptions { barcode_close_after: Duration::from_millis(800), ..SandboxOptions::default() }).await;
    let m = Merchant::new(&sb);
    for no in ["N90A", "N90B"] {
        assert_eq!(m.micropay(no, "1000", &wx_code("90")).await.checked().result().1, "USERPAYING");
    }
    assert_eq!(m.state("N90A").await, "USERPAYING");
    let r = m.call(REVERSE, &[("out_trade_no", "N90A")]).await.checked();
    assert_eq!((r.get("result_code").as_str(), r.get("recall").as_str()), ("SUCCESS", "N"));
    assert_eq!(m.state("N90A").await, "REVOKED");
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(m.state("N90B").await, "REVOKED", "auto-revoked");
    let truth = sb.truth();
    assert!(truth.charges.is_empty() && truth.refunds.is_empty(), "{truth:?}");
    sb.shutdown().await;
}

#[tokio::test]
async fn micropay_definitive_failures_make_no_order() {
    let sb = start_default().await;
    let m = Merchant::new(&sb);
    let r = m.micropay("F91", "1000", &wx_code("91")).await.checked();
    assert_eq!((r.result().1.as_str(), r.get("err_code_des").as_str()), ("NOTENOUGH", "余额不足"));
    assert_eq!(m.state("F91").await, "ORDERNOTEXIST");
    for (no, bad) in [
        ("F92", wx_code("92")),
        ("FX1", "280123456789012300".to_owned()), // Alipay's
        ("FX2", "1345678901234567".to_owned()),   // 16 digits
        ("FX3", "164567890123456700".to_owned()), // prefix 16
    ] {
        let r = m.micropay(no, "1000", &bad).await.checked();
        assert_eq!(r.result(), ("FAIL".into(), "AUTH_CODE_INVALID".into()), "{bad}");
        assert_eq!(m.state(no).await, "ORDERNOTEXIST", "{bad}");
    }
    // 97: paying, one pending query, then PAYERROR
    assert_eq!(m.micropay("F97", "1000", &wx_code("97")).await.checked().result().1, "USERPAYING");
    assert_eq!(m.state("F97").await, "USERPAYING");
    assert_eq!(m.state("F97").await, "PAYERROR");
    assert!(sb.truth().charges.is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn micropay_delivery_faults_after_charge() {
    let sb = start(SandboxOptions { hang: Duration::from_millis(400), ..SandboxOptions::default() }).await;
    let m = Merchant::new(&sb);
    // 93: charged, the connection drops
    let body = xml(&m.request(&pairs(&Merchant::micropay_fields("X93", "2000", &wx_code("93")))));
    let err = m.post(MICROPAY, body).await.expect_err("the connection drops");
    assert!(!err.is_timeout(), "{err:?}");
    assert_eq!(m.state("X93").await, "SUCCESS");
    assert_eq!(charged(&sb, "X93"), vec![2000]);

    // 94: hangs, nothing charged, no order
    let quick = Merchant { http: client_with_timeout(Duration::from_millis(100)), ..Merchant::new(&sb) };
    let body = xml(&quick.request(&pairs(&Merchant::micropay_fields("H94", "2000", &wx_code("94")))));
    assert!(quick.post(MICROPAY, body).await.expect_err("times out").is_timeout());
    let started = Instant::now();
    let body = xml(&m.request(&pairs(&Merchant::micropay_fields("H94B", "2000", &wx_code("94")))));
    m.post(MICROPAY, body).await.expect_err("no answer");
    assert!(started.elapsed() >= Duration::from_millis(350));
    assert_eq!(m.state("H94").await, "ORDERNOTEXIST");

    // 95: charged, a signed SYSTEMERROR over HTTP 200
    let r = m.micropay("E95", "3000", &wx_code("95")).await.checked();
    assert_eq!((r.result().1.as_str(), r.get("err_code_des").as_str()), ("SYSTEMERROR", "系统超时"));
    assert_eq!(m.state("E95").await, "SUCCESS");

    // 96: charged, the body garbled
    let r = m.micropay("G96", "3000", &wx_code("96")).await;
    assert_eq!(r.status, 200);
    assert!(r.text.starts_with("<xml>") && !r.text.ends_with("</xml>"), "{}", r.text);
    assert_eq!(m.state("G96").await, "SUCCESS");
    assert_eq!(sb.truth().charges.iter().map(|c| c.amount_fen).sum::<i64>(), 2000 + 3000 + 3000);
    sb.shutdown().await;
}

fn pairs(owned: &[(String, String)]) -> Vec<(&str, &str)> {
    owned.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

// ---------------------------------------------------------------- refused requests

#[tokio::test]
async fn requests_not_taken_are_refused_unsigned() {
    let sb = start_default().await;
    let m = Merchant::new(&sb);
    let fields = Merchant::micropay_fields("S1", "100", &wx_code("00"));
    let good = m.request(&pairs(&fields));

    let wrong_key = Merchant { key: "0123456789abcdef0123456789abcdef".into(), ..Merchant::new(&sb) };
    assert_eq!(wrong_key.micropay("S1", "100", &wx_code("00")).await.not_taken(), "签名错误");

    let mut tampered = good.clone();
    tampered.insert("total_fee".into(), "1".into());
    assert_eq!(m.post(MICROPAY, xml(&tampered)).await.expect("reply").not_taken(), "签名错误");

    // signed with HMAC-SHA256 but not saying so: read as MD5
    let mut unlabelled = good.clone();
    let s = sign(&unlabelled, "HMAC-SHA256", WECHAT_API_KEY);
    unlabelled.insert("sign".into(), s);
    assert_eq!(m.post(MICROPAY, xml(&unlabelled)).await.expect("reply").not_taken(), "签名错误");

    let mut lowercase = good.clone();
    let s = good.get("sign").map(|s| s.to_lowercase()).unwrap_or_default();
    lowercase.insert("sign".into(), s);
    assert_eq!(m.post(MICROPAY, xml(&lowercase)).await.expect("reply").not_taken(), "签名错误");

    let mut unsigned = good.clone();
    unsigned.remove("sign");
    assert!(m.post(MICROPAY, xml(&unsigned)).await.expect("reply").not_taken().contains("sign"));

    let mut unknown_type = good.clone();
    unknown_type.insert("sign_type".into(), "SHA1".into());
    assert!(m.post(MICROPAY, xml(&unknown_type)).await.expect("reply").not_taken().contains("sign_type"));

    let good_xml = xml(&good);
    for bad in [
        good_xml.replace("</xml>", ""),
        format!(r#"<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>{good_xml}"#),
        good_xml.replace("<body><![CDATA[测试商品]]></body>", "<body>&x;</body>"),
        r#"{"appid":"wxd930ea5d5a258f4f"}"#.to_owned(),
        String::new(),
        "<xml><a><b>1</b></a></xml>".to_owned(),
    ] {
        let r = m.post(MICROPAY, bad.clone()).await.expect("reply");
        assert!(!r.not_taken().is_empty(), "{bad}");
    }
    // invalid UTF-8
    let resp =
        client().post(format!("{}{MICROPAY}", sb.base_url())).body(vec![0xff, 0xfe, 0x3c]).send().await.expect("r");
    let text = resp.text().await.expect("text");
    assert!(text.contains("<return_code><![CDATA[FAIL]]></return_code>"), "{text}");

    // taken, but another merchant's appid: a signed refusal
    let other = m.request(&[("appid", "wx0000000000000000"), ("out_trade_no", "S1")]);
    let r = m.post(ORDERQUERY, xml(&other)).await.expect("reply").checked();
    assert_eq!(r.result(), ("FAIL".into(), "APPID_MCHID_NOT_MATCH".into()));
    // a business field missing
    let r = m.call(MICROPAY, &[("out_trade_no", "S1"), ("total_fee", "100")]).await.checked();
    assert_eq!(r.result(), ("FAIL".into(), "PARAM_ERROR".into()));
    let r = m.micropay("S1", "1.00", &wx_code("00")).await.checked();
    assert_eq!(r.result().1, "PARAM_ERROR", "amounts are integer fen");
    assert!(sb.truth().charges.is_empty());
    sb.shutdown().await;
}

// ---------------------------------------------------------------- reverse and close

#[tokio::test]
async fn reverse_refunds_a_paid_order_and_asks_for_a_retry_when_told() {
    let sb = start_default().await;
    let m = Merchant::hmac(&sb);
    m.micropay("V1", "1200", &wx_code("00")).await.checked();
    let r = m.call(REVERSE, &[("out_trade_no", "V1")]).await.checked();
    assert_eq!((r.get("result_code").as_str(), r.get("recall").as_str()), ("SUCCESS", "N"));
    assert_eq!(m.state("V1").await, "REVOKED");
    assert_eq!(refunded(&sb, "V1"), vec![1200]);
    m.call(REVERSE, &[("out_trade_no", "V1")]).await.checked();
    assert_eq!(refunded(&sb, "V1"), vec![1200], "once");

    assert_eq!(m.micropay("V89", "300", &wx_code("89")).await.checked().result().1, "USERPAYING");
    let first = m.call(REVERSE, &[("out_trade_no", "V89")]).await.checked();
    assert_eq!((first.result().1.as_str(), first.get("recall").as_str()), ("SYSTEMERROR", "Y"));
    assert_eq!(m.state("V89").await, "USERPAYING");
    let second = m.call(REVERSE, &[("out_trade_no", "V89")]).await.checked();
    assert_eq!((second.get("result_code").as_str(), second.get("recall").as_str()), ("SUCCESS", "N"));
    assert_eq!(m.state("V89").await, "REVOKED");

    let none = m.call(REVERSE, &[("out_trade_no", "NOPE")]).await.checked();
    assert_eq!((none.get("result_code").as_str(), none.get("recall").as_str()), ("SUCCESS", "N"));
    assert!(charged(&sb, "V89").is_empty());
    sb.shutdown().await;
}

// ---------------------------------------------------------------- NATIVE

#[tokio::test]
async fn native_orders_are_paid_on_the_page_closed_or_expire() {
    let sb = start_default().await;
    let m = Merchant::new(&sb);
    let r = m.native("Q1", "1234", "http://127.0.0.1:9/notify").await;
    assert_eq!(r.get("result_code"), "SUCCESS", "{}", r.text);
    assert_eq!(r.get("trade_type"), "NATIVE");
    assert_eq!(r.get("code_url"), format!("{}/pay/Q1", sb.base_url()));
    assert!(r.get("prepay_id").starts_with("wx"));
    assert_eq!(m.state("Q1").await, "NOTPAY");
    let again = m.native("Q1", "1234", "http://127.0.0.1:9/notify").await;
    assert_eq!((again.get("code_url"), again.get("prepay_id")), (r.get("code_url"), r.get("prepay_id")));

    sb.customer_pay("Q1").expect("paid");
    let q = m.call(ORDERQUERY, &[("out_trade_no", "Q1")]).await.checked();
    assert_eq!((q.get("trade_state").as_str(), q.get("trade_type").as_str()), ("SUCCESS", "NATIVE"));
    assert_eq!(m.call(CLOSEORDER, &[("out_trade_no", "Q1")]).await.checked().result().1, "ORDERPAID");
    assert_eq!(m.native("Q1", "1234", "http://127.0.0.1:9/notify").await.result().1, "ORDERPAID");

    m.native("Q2", "100", "http://127.0.0.1:9/notify").await;
    for _ in 0..2 {
        let c = m.call(CLOSEORDER, &[("out_trade_no", "Q2")]).await.checked();
        assert_eq!(c.get("result_code"), "SUCCESS", "{}", c.text);
        assert_eq!(m.state("Q2").await, "CLOSED");
    }
    assert!(sb.customer_pay("Q2").is_err());
    assert_eq!(m.call(CLOSEORDER, &[("out_trade_no", "NOPE")]).await.checked().result().1, "ORDERNOTEXIST");

    // refused at creation (fen part 98)
    let refused = m.native("Q98", "198", "http://127.0.0.1:9/notify").await;
    assert_eq!((refused.result().1.as_str(), refused.get("err_code_des").as_str()), ("NOAUTH", "商户无此接口权限"));
    assert_eq!(m.state("Q98").await, "ORDERNOTEXIST");

    // time_expire: closed once past; a past one or another trade_type is refused
    let soon = paydesk_sandbox::channel_stamp(chrono::Utc::now().timestamp_millis() + 1_500, "%Y%m%d%H%M%S");
    let r = m
        .call(
            UNIFIEDORDER,
            &[
                ("body", "b"),
                ("out_trade_no", "Q3"),
                ("total_fee", "100"),
                ("spbill_create_ip", "127.0.0.1"),
                ("notify_url", "http://127.0.0.1:9/n"),
                ("trade_type", "NATIVE"),
                ("product_id", "P"),
                ("time_expire", &soon),
            ],
        )
        .await
        .checked();
    assert_eq!(r.get("result_code"), "SUCCESS", "{}", r.text);
    let past = paydesk_sandbox::channel_stamp(chrono::Utc::now().timestamp_millis() - 60_000, "%Y%m%d%H%M%S");
    for (no, trade_type, expire) in [("Q4", "NATIVE", past.as_str()), ("Q5", "JSAPI", "")] {
        let r = m
            .call(
                UNIFIEDORDER,
                &[
                    ("body", "b"),
                    ("out_trade_no", no),
                    ("total_fee", "100"),
                    ("spbill_create_ip", "1.2.3.4"),
                    ("notify_url", "http://127.0.0.1:9/n"),
                    ("trade_type", trade_type),
                    ("product_id", "P"),
                    ("time_expire", expire),
                ],
            )
            .await
            .checked();
        assert_eq!(r.result(), ("FAIL".into(), "PARAM_ERROR".into()), "{no}");
    }
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    assert_eq!(m.state("Q3").await, "CLOSED");
    assert_eq!(sb.truth().charges.len(), 1);
    sb.shutdown().await;
}

// ---------------------------------------------------------------- refunds

#[tokio::test]
async fn refunds_are_idempotent_and_follow_the_refund_scenarios() {
    let sb = start_default().await;
    let m = Merchant::new(&sb);
    m.micropay("R1", "10000", &wx_code("00")).await.checked();
    let r = m.refund("R1", "RF1", "10000", "3000").await;
    assert_eq!(r.get("result_code"), "SUCCESS", "{}", r.text);
    let f = r.fields();
    let field = |k: &str| f.get(k).map_or("", String::as_str);
    assert_eq!((field("out_trade_no"), field("out_refund_no")), ("R1", "RF1"));
    assert_eq!((field("refund_fee"), field("total_fee"), field("cash_fee")), ("3000", "10000", "10000"));
    assert!(!field("refund_id").is_empty() && !field("transaction_id").is_empty());
    let again = m.refund("R1", "RF1", "10000", "3000").await;
    assert_eq!((again.get("result_code"), again.get("refund_id")), ("SUCCESS".into(), field("refund_id").to_owned()));
    assert_eq!(refunded(&sb, "R1"), vec![3000]);

    assert_eq!(m.refund("R1", "RF1", "10000", "2000").await.result().1, "PARAM_ERROR", "number reused");
    assert_eq!(m.refund("R1", "RF2", "9999", "100").await.result().1, "PARAM_ERROR", "total_fee is not the order's");
    let over = m.refund("R1", "RF2", "10000", "7001").await;
    assert_eq!(
        (over.result().1.as_str(), over.get("err_code_des").as_str()),
        ("ERROR", "申请退款金额超过订单可退金额")
    );
    assert_eq!(m.state("R1").await, "REFUND");

    let q = m.call(REFUNDQUERY, &[("out_refund_no", "RF1")]).await.checked();
    let f = q.fields();
    let field = |k: &str| f.get(k).map_or("", String::as_str);
    assert_eq!((field("refund_status_0"), field("refund_fee_0"), field("refund_count")), ("SUCCESS", "3000", "1"));
    assert_eq!((field("out_trade_no"), field("out_refund_no_0"), field("total_fee")), ("R1", "RF1", "10000"));
    assert_eq!(field("refund_id_0"), r.get("refund_id"));
    assert!(chrono::NaiveDateTime::parse_from_str(field("refund_success_time_0"), "%Y-%m-%d %H:%M:%S").is_ok());
    assert_eq!(m.refund_status("NOPE").await, "REFUNDNOTEXIST");

    // fen part 97: processing for one query, then done
    m.refund("R1", "RF97", "10000", "97").await;
    assert_eq!(m.refund_status("RF97").await, "PROCESSING");
    assert_eq!(m.refund_status("RF97").await, "SUCCESS");
    // 96 and 95: given up by the wallet, nothing goes back, the order is refundable again
    for (no, fee, status) in [("RF96", "96", "CHANGE"), ("RF95", "95", "REFUNDCLOSE")] {
        assert_eq!(m.refund("R1", no, "10000", fee).await.get("result_code"), "SUCCESS");
        assert_eq!(m.refund_status(no).await, status);
        assert_eq!(m.refund("R1", no, "10000", fee).await.get("result_code"), "SUCCESS", "a repeat, the same");
        assert_eq!(m.refund_status(no).await, status);
    }
    assert_eq!(refunded(&sb, "R1"), vec![3000, 97]);
    assert_eq!(m.refund("R1", "RF3", "10000", "6903").await.get("result_code"), "SUCCESS", "all that is left");

    // unpaid, unknown
    m.micropay("R2", "100", &wx_code("85")).await.checked();
    assert_eq!(m.refund("R2", "RF4", "100", "100").await.result().1, "TRADE_STATE_ERROR");
    assert_eq!(m.refund("NOPE", "RF5", "100", "100").await.result().1, "ORDERNOTEXIST");
    sb.shutdown().await;
}

// ---------------------------------------------------------------- notify

fn notify_verifies(body: &str, sign_type: &str) -> bool {
    let f = parse(body).unwrap_or_default();
    f.get("sign").is_some_and(|s| *s == sign(&f, sign_type, WECHAT_API_KEY))
}

#[tokio::test]
async fn a_paid_native_order_is_notified_until_acknowledged() {
    let nack = "<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[签名失败]]></return_msg></xml>";
    let rx = Receiver::start(WECHAT_NOTIFY_ACK, vec![(500, WECHAT_NOTIFY_ACK), (200, nack), (200, "success")]).await;
    let sb = start(SandboxOptions { minute: Duration::from_millis(60), ..SandboxOptions::default() }).await;
    let m = Merchant::new(&sb);
    m.native("NQ1", "1234", &rx.url).await;
    assert!(rx.got().is_empty());
    sb.customer_pay("NQ1").expect("paid");
    wait_for("the notify to finish", || sb.notifies().iter().any(|n| n.order_no == "NQ1" && n.finished)).await;
    let rec = sb.notifies().into_iter().find(|n| n.order_no == "NQ1").expect("record");
    assert!(rec.acknowledged);
    assert_eq!((rec.format, rec.cause), (NotifyFormat::Wechat, NotifyCause::Paid));
    assert_eq!(rec.attempts.iter().map(|a| a.acknowledged).collect::<Vec<_>>(), [false, false, false, true]);
    let got = rx.got();
    // 15 s, 15 s, 30 s, scaled: 15 ms, 15 ms, 30 ms
    assert!(got[3].at.duration_since(got[2].at) >= Duration::from_millis(29));
    let transaction_id = m.call(ORDERQUERY, &[("out_trade_no", "NQ1")]).await.checked().get("transaction_id");
    for g in &got {
        assert_eq!(g.content_type.as_deref(), Some("text/xml; charset=utf-8"));
        assert!(notify_verifies(&g.body, "MD5"), "{}", g.body);
        let f = parse(&g.body).unwrap_or_default();
        let field = |k: &str| f.get(k).map_or("", String::as_str);
        assert_eq!((field("return_code"), field("result_code")), ("SUCCESS", "SUCCESS"));
        assert_eq!((field("appid"), field("mch_id")), (WECHAT_APPID, WECHAT_MCH_ID));
        assert_eq!((field("trade_type"), field("fee_type")), ("NATIVE", "CNY"));
        assert_eq!((field("total_fee"), field("cash_fee")), ("1234", "1234"));
        assert_eq!((field("out_trade_no"), field("transaction_id")), ("NQ1", transaction_id.as_str()));
        assert!(!field("openid").is_empty() && !field("bank_type").is_empty() && field("time_end").len() == 14);
    }

    // an order made with HMAC-SHA256 is notified so
    let h = Merchant::hmac(&sb);
    h.native("NQ2", "500", &rx.url).await;
    sb.customer_pay("NQ2").expect("paid");
    wait_for("the HMAC notify", || sb.notifies().iter().any(|n| n.order_no == "NQ2" && n.finished)).await;
    let body = rx.got().last().map(|g| g.body.clone()).unwrap_or_default();
    assert!(notify_verifies(&body, "HMAC-SHA256"), "{body}");

    // forged on demand
    let forged = sb
        .send_notify(NotifyRequest { order_no: "NQ1".into(), forge: Forge::BadSignature, ..Default::default() })
        .await
        .expect("sent");
    assert!(!notify_verifies(&forged.attempts[0].body, "MD5"));
    let wrong = sb
        .send_notify(NotifyRequest { order_no: "NQ1".into(), forge: Forge::WrongAmount, ..Default::default() })
        .await
        .expect("sent");
    assert!(notify_verifies(&wrong.attempts[0].body, "MD5"));
    assert_eq!(parse(&wrong.attempts[0].body).unwrap_or_default().get("total_fee").map(String::as_str), Some("1235"));

    // micropay sends none
    m.micropay("NB1", "100", &wx_code("00")).await.checked();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(sb.notifies().iter().all(|n| n.order_no != "NB1"));
    sb.shutdown().await;
}

// ---------------------------------------------------------------- mutual TLS

fn tls_client(with_identity: bool) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(demo_keys::WECHAT_CA_CERT_PEM.as_bytes()).expect("CA");
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .no_proxy()
        .timeout(Duration::from_secs(10));
    if with_identity {
        let pem = format!("{}{}", demo_keys::WECHAT_APICLIENT_CERT_PEM, demo_keys::WECHAT_APICLIENT_KEY_PEM);
        builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).expect("identity"));
    }
    builder.build().expect("client")
}

#[tokio::test]
async fn the_tls_listener_requires_a_client_certificate() {
    let sb =
        start(SandboxOptions { tls_listen: Some("127.0.0.1:0".parse().expect("addr")), ..SandboxOptions::default() })
            .await;
    let tls = sb.tls_base_url().expect("a TLS listener");
    assert!(tls.starts_with("https://127.0.0.1:") && tls != sb.base_url().replace("http", "https"), "{tls}");
    let plain = Merchant::new(&sb);
    plain.micropay("TLS1", "100", &wx_code("00")).await.checked();

    // with the client certificate: the same routes, over TLS
    let mtls = Merchant { http: tls_client(true), base: tls.clone(), ..Merchant::new(&sb) };
    let r = mtls.call(REVERSE, &[("out_trade_no", "TLS1")]).await.checked();
    assert_eq!((r.get("result_code").as_str(), r.get("recall").as_str()), ("SUCCESS", "N"));
    assert_eq!(mtls.state("TLS1").await, "REVOKED");

    // without one: the handshake is refused, nothing answers
    let anonymous = Merchant { http: tls_client(false), base: tls.clone(), ..Merchant::new(&sb) };
    let body = xml(&anonymous.request(&[("out_trade_no", "TLS1")]));
    let err = anonymous.post(REVERSE, body).await.expect_err("refused");
    assert!(!err.is_timeout(), "{err:?}");
    // plain HTTP to the TLS port is no way round it
    assert!(client().get(format!("{}/healthz", tls.replace("https", "http"))).send().await.is_err());
    // the plain listener keeps answering /secapi (the demo profile)
    plain.micropay("TLS2", "100", &wx_code("00")).await.checked();
    assert_eq!(plain.call(REVERSE, &[("out_trade_no", "TLS2")]).await.checked().get("recall"), "N");
    assert_eq!(refunded(&sb, "TLS1"), vec![100]);
    sb.shutdown().await;

    // no listener unless asked
    let sb = start_default().await;
    assert_eq!(sb.tls_base_url(), None);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_tls_listener_with_bad_settings_does_not_start() {
    let tls_listen = Some("127.0.0.1:0".parse().expect("addr"));
    for opts in [
        SandboxOptions { tls_listen, wechat_ca_cert_pem: "nope".into(), ..SandboxOptions::default() },
        SandboxOptions {
            tls_listen,
            tls_server_key_pem: demo_keys::WECHAT_SERVER_CERT_PEM.into(),
            ..SandboxOptions::default()
        },
        SandboxOptions {
            tls_listen,
            tls_server_key_pem: demo_keys::WECHAT_APICLIENT_KEY_PEM.into(),
            ..SandboxOptions::default()
        },
    ] {
        let err = Sandbox::start(opts).await.expect_err("refused");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
    }
}
