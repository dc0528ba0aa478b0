//! The `alipay` channel (OpenAPI gateway) over real HTTP on loopback, through a small client
//! written here independently of the sandbox's code: its own request signing and its own
//! reading of the signed replies. Every call, every barcode scenario, refused requests, cert
//! mode, refunds, precreated QR codes and the notify.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::receiver::{wait_for, Receiver};
use common::{charged, client, client_with_timeout, code, get, refunded, start, start_default};
use paydesk_sandbox::{
    demo_keys, Forge, NotifyCause, NotifyFormat, NotifyRequest, Sandbox, SandboxOptions, ALIPAY_APP_ID,
    ALIPAY_SELLER_ID,
};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use sha2::Sha256;
use x509_cert::der::{DecodePem, Encode};

const PAY: &str = "alipay.trade.pay";
const PRECREATE: &str = "alipay.trade.precreate";
const QUERY: &str = "alipay.trade.query";
const CANCEL: &str = "alipay.trade.cancel";
const CLOSE: &str = "alipay.trade.close";
const REFUND: &str = "alipay.trade.refund";
const REFUND_QUERY: &str = "alipay.trade.fastpay.refund.query";

// ---------------------------------------------------------------- the store's client

fn app_key() -> SigningKey<Sha256> {
    SigningKey::new(RsaPrivateKey::from_pkcs8_pem(demo_keys::ALIPAY_APP_PRIVATE_PEM).expect("app key"))
}

/// Alipay's public key, which verifies replies and notifies.
fn alipay_verifier() -> VerifyingKey<Sha256> {
    VerifyingKey::new(RsaPublicKey::from_public_key_pem(demo_keys::ALIPAY_PUBLIC_PEM).expect("alipay public key"))
}

fn verify(message: &[u8], sign_b64: &str) -> bool {
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(sign_b64) else { return false };
    let Ok(sig) = Signature::try_from(bytes.as_slice()) else { return false };
    alipay_verifier().verify(message, &sig).is_ok()
}

/// `k=v&…` over every parameter but `sign` (and those in `skip`), empty ones dropped, sorted.
fn sign_content(params: &BTreeMap<String, String>, skip: &[&str]) -> String {
    let pairs: Vec<String> = params
        .iter()
        .filter(|(k, v)| k.as_str() != "sign" && !skip.contains(&k.as_str()) && !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    pairs.join("&")
}

fn beijing_now() -> String {
    paydesk_sandbox::channel_stamp(chrono::Utc::now().timestamp_millis(), "%Y-%m-%d %H:%M:%S")
}

/// The store: signs with the app key; cert mode adds the SNs.
struct Store<'a> {
    sb: &'a Sandbox,
    http: reqwest::Client,
    key: SigningKey<Sha256>,
    cert_mode: bool,
}

impl<'a> Store<'a> {
    fn new(sb: &'a Sandbox) -> Store<'a> {
        Store { sb, http: client(), key: app_key(), cert_mode: false }
    }

    /// The common parameters and `biz_content` of a call, unsigned.
    fn params(&self, method: &str, biz: &Value) -> BTreeMap<String, String> {
        let mut p: BTreeMap<String, String> = [
            ("app_id", ALIPAY_APP_ID),
            ("method", method),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("version", "1.0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        p.insert("timestamp".into(), beijing_now());
        p.insert("biz_content".into(), biz.to_string());
        if self.cert_mode {
            p.insert("app_cert_sn".into(), demo_keys::ALIPAY_APP_CERT_SN.into());
            p.insert("alipay_root_cert_sn".into(), demo_keys::ALIPAY_ROOT_CERT_SN.into());
        }
        p
    }

    fn sign(&self, params: &mut BTreeMap<String, String>) {
        let sig: Signature = self.key.sign(sign_content(params, &[]).as_bytes());
        params.insert("sign".into(), base64::engine::general_purpose::STANDARD.encode(sig.to_bytes()));
    }

    /// As the official SDKs send: everything but `biz_content` in the query string.
    async fn send(&self, params: &BTreeMap<String, String>) -> Result<Reply, reqwest::Error> {
        let (body, query): (Vec<_>, Vec<_>) = params.iter().partition(|(k, _)| k.as_str() == "biz_content");
        let resp =
            self.http.post(format!("{}/gateway.do", self.sb.base_url())).query(&query).form(&body).send().await?;
        let key = format!("{}_response", params.get("method").map_or("", String::as_str).replace('.', "_"));
        Ok(Reply { key, status: resp.status().as_u16(), text: resp.text().await? })
    }

    async fn call(&self, method: &str, biz: Value) -> Reply {
        let mut p = self.params(method, &biz);
        self.sign(&mut p);
        self.send(&p).await.unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    async fn pay(&self, no: &str, yuan: &str, auth_code: &str) -> Reply {
        let biz = json!({"out_trade_no": no, "scene": "bar_code", "auth_code": auth_code, "subject": "测试商品",
            "total_amount": yuan, "product_code": "FACE_TO_FACE_PAYMENT"});
        self.call(PAY, biz).await
    }

    async fn precreate(&self, no: &str, yuan: &str) -> Reply {
        self.call(PRECREATE, json!({"out_trade_no": no, "total_amount": yuan, "subject": "扫码商品"})).await.checked()
    }

    async fn query(&self, no: &str) -> Reply {
        self.call(QUERY, json!({"out_trade_no": no})).await.checked()
    }

    /// The trade's status, or the sub-code when the query fails.
    async fn status(&self, no: &str) -> String {
        let r = self.query(no).await;
        match r.code().as_str() {
            "10000" => r.inner()["trade_status"].as_str().unwrap_or_default().to_owned(),
            _ => r.sub_code(),
        }
    }

    async fn refund(&self, no: &str, yuan: &str, request_no: Option<&str>) -> Reply {
        let mut biz = json!({"out_trade_no": no, "refund_amount": yuan, "refund_reason": "退货"});
        if let Some(r) = request_no {
            biz["out_request_no"] = json!(r);
        }
        self.call(REFUND, biz).await.checked()
    }
}

/// A gateway reply.
#[derive(Debug)]
struct Reply {
    key: String,
    status: u16,
    text: String,
}

impl Reply {
    /// The top-level members, each as its exact text.
    fn members(&self) -> BTreeMap<String, Box<RawValue>> {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not a JSON object ({e}): {}", self.text))
    }

    /// The method's object, or `error_response`.
    fn inner(&self) -> Value {
        let m = self.members();
        let raw = m.get(&self.key).or_else(|| m.get("error_response")).unwrap_or_else(|| panic!("{}", self.text));
        serde_json::from_str(raw.get()).expect("inner object")
    }

    fn code(&self) -> String {
        self.inner()["code"].as_str().unwrap_or_default().to_owned()
    }

    fn sub_code(&self) -> String {
        self.inner()["sub_code"].as_str().unwrap_or_default().to_owned()
    }

    /// `sign` verifies over the exact bytes of the method's object.
    fn verifies(&self) -> bool {
        let m = self.members();
        let (Some(inner), Some(sign)) = (m.get(&self.key), m.get("sign")) else { return false };
        let sign: String = serde_json::from_str(sign.get()).unwrap_or_default();
        verify(inner.get().as_bytes(), &sign)
    }

    fn checked(self) -> Reply {
        assert_eq!(self.status, 200, "{}", self.text);
        assert!(self.verifies(), "the reply's sign does not verify: {}", self.text);
        self
    }

    /// An unsigned refusal of the request: its code and sub-code.
    fn refused(&self) -> (String, String) {
        assert_eq!(self.status, 200, "{}", self.text);
        assert!(!self.members().contains_key("sign"), "refusals are unsigned: {}", self.text);
        (self.code(), self.sub_code())
    }
}

// ---------------------------------------------------------------- trade.pay scenarios

#[tokio::test]
async fn pay_paid_at_once() {
    let sb = start_default().await;
    let store = Store::new(&sb);
    for (no, ending) in [("A00", "00"), ("A42", "42"), ("A79", "79"), ("A98", "98")] {
        let r = store.pay(no, "68.00", &code(ending)).await.checked();
        assert_eq!(r.code(), "10000", "{}", r.text);
        let d = r.inner();
        assert_eq!(d["msg"], "Success");
        assert_eq!(d["out_trade_no"], no);
        for field in ["total_amount", "receipt_amount", "buyer_pay_amount"] {
            assert_eq!(d[field], "68.00", "{field}: amounts are yuan text");
        }
        assert_eq!(d["fund_bill_list"][0]["amount"], "68.00");
        assert!(d["trade_no"].as_str().is_some_and(|t| t.len() >= 16), "{d}");
        assert!(d["buyer_logon_id"].as_str().is_some_and(|b| b.contains('*')));
        assert!(chrono::NaiveDateTime::parse_from_str(
            d["gmt_payment"].as_str().unwrap_or_default(),
            "%Y-%m-%d %H:%M:%S"
        )
        .is_ok());

        let q = store.query(no).await;
        assert_eq!((q.code().as_str(), q.inner()["trade_status"].as_str()), ("10000", Some("TRADE_SUCCESS")));
        assert_eq!(q.inner()["trade_no"], d["trade_no"]);
        assert_eq!(q.inner()["total_amount"], "68.00");
        assert!(q.inner()["send_pay_date"].is_string());
        assert_eq!(charged(&sb, no), vec![6800]);
    }
    let truth = sb.truth();
    assert_eq!(truth.charges.len(), 4);
    assert!(truth.charges.iter().all(|c| c.channel == "alipay"));
    assert_eq!(sb.calls("/gateway.do"), 8);
    assert_eq!(sb.calls("alipay.trade.query"), 4);
    sb.shutdown().await;
}

#[tokio::test]
async fn pay_confirming_then_paid() {
    let sb = start_default().await;
    let store = Store::new(&sb);
    let r = store.pay("C82", "10.00", &code("82")).await.checked();
    assert_eq!(r.code(), "10003", "{}", r.text);
    let d = r.inner();
    assert_eq!(d["msg"], " order success pay inprocess");
    assert_eq!(d["buyer_pay_amount"], "0.00");
    assert_eq!(d["total_amount"], "10.00");
    assert_eq!(d["out_trade_no"], "C82");
    assert!(d["trade_no"].is_string());
    for _ in 0..3 {
        assert_eq!(store.status("C82").await, "WAIT_BUYER_PAY");
        assert!(charged(&sb, "C82").is_empty());
    }
    assert_eq!(store.status("C82").await, "TRADE_SUCCESS");
    assert_eq!(charged(&sb, "C82"), vec![1000]);
    // a repeated pay answers as the trade stands
    let again = store.pay("C82", "10.00", &code("82")).await.checked();
    assert_eq!(again.sub_code(), "ACQ.TRADE_HAS_SUCCESS");
    assert_eq!(charged(&sb, "C82"), vec![1000]);
    sb.shutdown().await;
}

#[tokio::test]
async fn pay_never_confirmed_is_closed_and_can_be_cancelled() {
    let sb =
        start(SandboxOptions { barcode_close_after: Duration::from_millis(800), ..SandboxOptions::default() }).await;
    let store = Store::new(&sb);
    assert_eq!(store.pay("N90A", "10.00", &code("90")).await.checked().code(), "10003");
    assert_eq!(store.pay("N90B", "10.00", &code("90")).await.checked().code(), "10003");
    assert_eq!(store.status("N90A").await, "WAIT_BUYER_PAY");

    // cancelled while the customer still "confirms": closed, nothing charged or refunded
    let r = store.call(CANCEL, json!({"out_trade_no": "N90A"})).await.checked();
    assert_eq!(r.code(), "10000", "{}", r.text);
    assert_eq!((r.inner()["action"].as_str(), r.inner()["retry_flag"].as_str()), (Some("close"), Some("N")));
    assert!(r.inner().get("gmt_refund_pay").is_none());
    assert_eq!(store.status("N90A").await, "TRADE_CLOSED");

    // the other is closed by Alipay after barcode_close_after
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(store.status("N90B").await, "TRADE_CLOSED");
    let truth = sb.truth();
    assert!(truth.charges.is_empty() && truth.refunds.is_empty(), "{truth:?}");
    sb.shutdown().await;
}

#[tokio::test]
async fn pay_definitive_failures() {
    let sb = start_default().await;
    let store = Store::new(&sb);
    // 91: refused, and the trade exists, closed
    let r = store.pay("F91", "10.00", &code("91")).await.checked();
    assert_eq!((r.code().as_str(), r.sub_code().as_str()), ("40004", "ACQ.BUYER_BALANCE_NOT_ENOUGH"));
    assert_eq!(r.inner()["msg"], "Business Failed");
    assert_eq!(r.inner()["sub_msg"], "买家余额不足");
    assert_eq!(store.status("F91").await, "TRADE_CLOSED");

    // 92, and codes that are not Alipay's: refused, no trade
    for (no, bad) in [
        ("F92", code("92")),
        ("FX1", "134567890123456700".to_owned()), // WeChat's
        ("FX2", "12345".to_owned()),
        ("FX3", "310123456789012345".to_owned()),
    ] {
        let r = store.pay(no, "10.00", &bad).await.checked();
        assert_eq!((r.code().as_str(), r.sub_code().as_str()), ("40004", "ACQ.PAYMENT_AUTH_CODE_INVALID"), "{bad}");
        assert_eq!(store.status(no).await, "ACQ.TRADE_NOT_EXIST", "{bad}");
    }
    // no trade: the number can be used again
    assert_eq!(store.pay("F92", "10.00", &code("00")).await.checked().code(), "10000");

    // 97: confirming, then the customer cancels
    assert_eq!(store.pay("F97", "10.00", &code("97")).await.checked().code(), "10003");
    assert_eq!(store.status("F97").await, "WAIT_BUYER_PAY");
    assert_eq!(store.status("F97").await, "TRADE_CLOSED");
    assert_eq!(sb.truth().charges.iter().map(|c| c.order_no.as_str()).collect::<Vec<_>>(), ["F92"]);
    sb.shutdown().await;
}

#[tokio::test]
async fn pay_connection_drops_after_charge() {
    let sb = start_default().await;
    let store = Store::new(&sb);
    let mut p = store.params(
        PAY,
        &json!({"out_trade_no": "X93", "scene": "bar_code", "auth_code": code("93"),
        "subject": "s", "total_amount": "20.00"}),
    );
    store.sign(&mut p);
    let err = store.send(&p).await.expect_err("the connection drops");
    assert!(!err.is_timeout(), "{err:?}");
    assert_eq!(store.status("X93").await, "TRADE_SUCCESS");
    assert_eq!(charged(&sb, "X93"), vec![2000]);
    sb.shutdown().await;
}

#[tokio::test]
async fn pay_hangs_and_charges_nothing() {
    let sb = start(SandboxOptions { hang: Duration::from_millis(400), ..SandboxOptions::default() }).await;
    let quick = Store { http: client_with_timeout(Duration::from_millis(100)), ..Store::new(&sb) };
    let mut p = quick.params(
        PAY,
        &json!({"out_trade_no": "H94", "scene": "bar_code", "auth_code": code("94"),
        "subject": "s", "total_amount": "20.00"}),
    );
    quick.sign(&mut p);
    let err = quick.send(&p).await.expect_err("times out");
    assert!(err.is_timeout(), "{err:?}");
    let store = Store::new(&sb);
    assert_eq!(store.status("H94").await, "ACQ.TRADE_NOT_EXIST");

    // a patient client gets no answer either, once the hang is over
    let started = Instant::now();
    let mut p = store.params(
        PAY,
        &json!({"out_trade_no": "H94B", "scene": "bar_code", "auth_code": code("94"),
        "subject": "s", "total_amount": "20.00"}),
    );
    store.sign(&mut p);
    store.send(&p).await.expect_err("no answer");
    assert!(started.elapsed() >= Duration::from_millis(350));
    assert!(sb.truth().charges.is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn pay_unknown_error_after_charge() {
    let sb = start_default().await;
    let store = Store::new(&sb);
    let r = store.pay("E95", "30.00", &code("95")).await.checked();
    assert_eq!(r.status, 200);
    assert_eq!((r.code().as_str(), r.sub_code().as_str()), ("20000", "isp.unknow-error"), "{}", r.text);
    assert_eq!(store.status("E95").await, "TRADE_SUCCESS");
    assert_eq!(charged(&sb, "E95"), vec![3000]);
    sb.shutdown().await;
}

#[tokio::test]
async fn pay_garbled_after_charge() {
    let sb = start_default().await;
    let store = Store::new(&sb);
    let r = store.pay("G96", "30.00", &code("96")).await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_str::<Value>(&r.text).is_err(), "{}", r.text);
    assert!(r.text.starts_with("{\"alipay_trade_pay_response\""), "{}", r.text);
    assert_eq!(store.status("G96").await, "TRADE_SUCCESS");
    assert_eq!(charged(&sb, "G96"), vec![3000]);
    sb.shutdown().await;
}

// ---------------------------------------------------------------- refused requests

#[tokio::test]
async fn requests_that_do_not_verify_are_refused_unsigned() {
    let sb = start_default().await;
    let store = Store::new(&sb);
    let biz = json!({"out_trade_no": "S1", "scene": "bar_code", "auth_code": code("00"), "subject": "s",
        "total_amount": "1.00"});

    // signed with another key (Alipay's own)
    let wrong = Store {
        key: SigningKey::new(RsaPrivateKey::from_pkcs8_pem(demo_keys::ALIPAY_PRIVATE_PEM).expect("key")),
        ..Store::new(&sb)
    };
    let r = wrong.call(PAY, biz.clone()).await;
    assert_eq!(r.refused(), ("40002".into(), "isv.invalid-signature".into()));
    assert!(r.members().contains_key("alipay_trade_pay_response"), "under the method's key: {}", r.text);
    assert!(r.inner()["sub_msg"].as_str().is_some_and(|m| m.contains("app_id=2021000000000001")), "{}", r.text);

    // tampered after signing
    let mut p = store.params(PAY, &biz);
    store.sign(&mut p);
    p.insert("biz_content".into(), biz.to_string().replace("1.00", "0.01"));
    assert_eq!(store.send(&p).await.expect("reply").refused().1, "isv.invalid-signature");

    // signed without sign_type (it must be in the signed content)
    let mut p = store.params(PAY, &biz);
    let sig: Signature = store.key.sign(sign_content(&p, &["sign_type"]).as_bytes());
    p.insert("sign".into(), base64::engine::general_purpose::STANDARD.encode(sig.to_bytes()));
    assert_eq!(store.send(&p).await.expect("reply").refused().1, "isv.invalid-signature");

    // the common parameters
    let cases: Vec<(&str, Option<&str>, &str, &str)> = vec![
        ("sign", None, "40001", "isv.missing-signature"),
        ("app_id", Some("2021000000000002"), "40002", "isv.invalid-app-id"),
        ("app_id", None, "40001", "isv.missing-app-id"),
        ("sign_type", Some("RSA"), "40002", "isv.invalid-signature-type"),
        ("timestamp", Some("2026/01/15 12:00:00"), "40002", "isv.invalid-timestamp"),
        ("version", Some("2.0"), "40002", "isv.invalid-version"),
        ("charset", Some("gbk"), "40002", "isv.invalid-charset"),
    ];
    for (name, value, code_, sub) in cases {
        let mut p = store.params(PAY, &biz);
        match value {
            Some(v) => p.insert(name.into(), v.into()),
            None => p.remove(name),
        };
        if name != "sign" {
            store.sign(&mut p);
        }
        let r = store.send(&p).await.expect("reply");
        assert_eq!(r.refused(), (code_.to_owned(), sub.to_owned()), "{name}={value:?}: {}", r.text);
    }

    // methods: missing or unknown, under error_response
    for (method, sub) in [(None, "isv.missing-method"), (Some("alipay.trade.create"), "isv.invalid-method")] {
        let mut p = store.params(PAY, &biz);
        match method {
            Some(m) => p.insert("method".into(), m.into()),
            None => p.remove("method"),
        };
        store.sign(&mut p);
        let r = store.send(&p).await.expect("reply");
        assert!(r.members().contains_key("error_response"), "{}", r.text);
        assert_eq!(r.refused().1, sub);
    }

    // a parameter given twice (query string and body)
    let mut p = store.params(PAY, &biz);
    store.sign(&mut p);
    let resp = client()
        .post(format!("{}/gateway.do?app_id=X", sb.base_url()))
        .form(&p.iter().collect::<Vec<_>>())
        .send()
        .await
        .expect("reply");
    let text = resp.text().await.expect("text");
    assert!(text.contains("error_response") && text.contains("isv.invalid-parameter"), "{text}");
    assert!(sb.truth().charges.is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn parameters_are_read_from_the_query_the_body_or_both() {
    let sb = start_default().await;
    let store = Store::new(&sb);
    let mut p = store.params(QUERY, &json!({"out_trade_no": "NONE"}));
    p.insert("notify_url".into(), String::new()); // empty values are not signed
    store.sign(&mut p);
    let pairs: Vec<(&String, &String)> = p.iter().collect();
    let url = format!("{}/gateway.do", sb.base_url());
    let all_in_body = client().post(&url).form(&pairs).send().await.expect("body");
    let all_in_query = client().post(&url).query(&pairs).send().await.expect("query");
    for resp in [all_in_body, all_in_query] {
        let r = Reply {
            key: "alipay_trade_query_response".into(),
            status: resp.status().as_u16(),
            text: resp.text().await.expect("t"),
        }
        .checked();
        assert_eq!(r.sub_code(), "ACQ.TRADE_NOT_EXIST", "{}", r.text);
    }

    // biz_content that is no JSON object, or a bad field: a signed business refusal
    for biz in [
        r#"{"out_trade_no":"#,
        r#"["x"]"#,
        r#"{"out_trade_no":"A1","scene":"bar_code","auth_code":"280123456789012300","subject":"s","total_amount":"1.234"}"#,
    ] {
        let mut p = store.params(PAY, &json!({}));
        p.insert("biz_content".into(), biz.into());
        store.sign(&mut p);
        let r = store.send(&p).await.expect("reply").checked();
        assert_eq!((r.code().as_str(), r.sub_code().as_str()), ("40004", "ACQ.INVALID_PARAMETER"), "{biz}");
    }
    assert!(sb.truth().charges.is_empty());
    sb.shutdown().await;
}

// ---------------------------------------------------------------- cert mode

fn cert_key(pem: &str) -> RsaPublicKey {
    let cert = x509_cert::Certificate::from_pem(pem.as_bytes()).expect("certificate");
    let spki = cert.tbs_certificate.subject_public_key_info.to_der().expect("spki");
    RsaPublicKey::from_public_key_der(&spki).expect("rsa key")
}

#[tokio::test]
async fn cert_mode_checks_the_sns_and_names_alipays_cert() {
    assert_eq!(
        paydesk_sandbox::alipay_cert_sn(demo_keys::ALIPAY_APP_CERT_PEM).as_deref(),
        Ok(demo_keys::ALIPAY_APP_CERT_SN)
    );
    assert_eq!(paydesk_sandbox::alipay_cert_sn(demo_keys::ALIPAY_CERT_PEM).as_deref(), Ok(demo_keys::ALIPAY_CERT_SN));
    assert_eq!(
        paydesk_sandbox::alipay_root_cert_sn(demo_keys::ALIPAY_ROOT_CERT_PEM).as_deref(),
        Ok(demo_keys::ALIPAY_ROOT_CERT_SN)
    );
    // replies are verified with the key of Alipay's certificate
    assert_eq!(
        cert_key(demo_keys::ALIPAY_CERT_PEM),
        RsaPublicKey::from_public_key_pem(demo_keys::ALIPAY_PUBLIC_PEM).expect("key")
    );

    let sb = start(SandboxOptions { alipay_cert_mode: true, ..SandboxOptions::default() }).await;
    let store = Store { cert_mode: true, ..Store::new(&sb) };
    let r = store.pay("CM1", "5.00", &code("00")).await.checked();
    assert_eq!(r.code(), "10000", "{}", r.text);
    let sn: String =
        serde_json::from_str(r.members().get("alipay_cert_sn").expect("alipay_cert_sn").get()).expect("sn");
    assert_eq!(sn, demo_keys::ALIPAY_CERT_SN);
    assert_eq!(store.status("CM1").await, "TRADE_SUCCESS");

    for (name, value, sub) in [
        ("app_cert_sn", Some("0123456789abcdef0123456789abcdef"), "isv.invalid-app-cert-sn"),
        ("alipay_root_cert_sn", Some(demo_keys::ALIPAY_CERT_SN), "isv.invalid-alipay-root-cert-sn"),
        ("app_cert_sn", None, "isv.missing-app-cert-sn"),
        ("alipay_root_cert_sn", None, "isv.missing-alipay-root-cert-sn"),
    ] {
        let mut p = store.params(QUERY, &json!({"out_trade_no": "CM1"}));
        match value {
            Some(v) => p.insert(name.into(), v.into()),
            None => p.remove(name),
        };
        store.sign(&mut p);
        let r = store.send(&p).await.expect("reply");
        assert_eq!(r.refused().1, sub, "{}", r.text);
    }
    // a public-key-mode store is refused by a cert-mode gateway
    let plain = Store::new(&sb);
    assert_eq!(plain.call(QUERY, json!({"out_trade_no": "CM1"})).await.refused().1, "isv.missing-app-cert-sn");
    sb.shutdown().await;

    // a public-key-mode gateway sends no alipay_cert_sn
    let sb = start_default().await;
    let r = Store::new(&sb).pay("PK1", "5.00", &code("00")).await.checked();
    assert!(!r.members().contains_key("alipay_cert_sn"));
    sb.shutdown().await;
}

// ---------------------------------------------------------------- cancel and close

#[tokio::test]
async fn cancel_refunds_a_paid_trade_and_retries_when_asked() {
    let sb = start_default().await;
    let store = Store::new(&sb);
    store.pay("K1", "12.00", &code("00")).await.checked();
    let r = store.call(CANCEL, json!({"out_trade_no": "K1"})).await.checked();
    assert_eq!(r.code(), "10000");
    let d = r.inner();
    assert_eq!((d["action"].as_str(), d["retry_flag"].as_str()), (Some("refund"), Some("N")));
    assert!(d["gmt_refund_pay"].is_string());
    assert_eq!(store.status("K1").await, "TRADE_CLOSED", "fully refunded");
    assert_eq!(refunded(&sb, "K1"), vec![1200]);
    // again: the same answer, nothing more refunded
    let again = store.call(CANCEL, json!({"out_trade_no": "K1"})).await.checked();
    assert_eq!(again.inner()["action"], "refund");
    assert_eq!(refunded(&sb, "K1"), vec![1200]);

    // 89: the first cancel asks to be retried, the next one works
    assert_eq!(store.pay("K89", "3.00", &code("89")).await.checked().code(), "10003");
    let first = store.call(CANCEL, json!({"out_trade_no": "K89"})).await.checked();
    assert_eq!((first.code().as_str(), first.sub_code().as_str()), ("40004", "ACQ.SYSTEM_ERROR"));
    assert_eq!(first.inner()["retry_flag"], "Y");
    assert_eq!(store.status("K89").await, "WAIT_BUYER_PAY");
    let second = store.call(CANCEL, json!({"out_trade_no": "K89"})).await.checked();
    assert_eq!((second.inner()["action"].as_str(), second.inner()["retry_flag"].as_str()), (Some("close"), Some("N")));
    assert_eq!(store.status("K89").await, "TRADE_CLOSED");

    // no such trade: success, no action
    let none = store.call(CANCEL, json!({"out_trade_no": "NOPE"})).await.checked();
    assert_eq!(none.code(), "10000");
    assert_eq!(none.inner()["retry_flag"], "N");
    assert!(none.inner().get("action").is_none(), "{}", none.text);
    assert_eq!(charged(&sb, "K89"), Vec::<i64>::new());
    sb.shutdown().await;
}

#[tokio::test]
async fn close_only_closes_a_waiting_trade() {
    let sb = start_default().await;
    let store = Store::new(&sb);
    store.pay("L1", "1.00", &code("00")).await.checked();
    store.pay("L2", "1.00", &code("85")).await.checked();
    let paid = store.call(CLOSE, json!({"out_trade_no": "L1"})).await.checked();
    assert_eq!(paid.sub_code(), "ACQ.TRADE_STATUS_ERROR");
    let waiting = store.call(CLOSE, json!({"out_trade_no": "L2"})).await.checked();
    assert_eq!(waiting.code(), "10000");
    assert_eq!(waiting.inner()["out_trade_no"], "L2");
    assert!(waiting.inner()["trade_no"].is_string());
    assert_eq!(store.status("L2").await, "TRADE_CLOSED");
    // closed stays closed, however many queries follow
    for _ in 0..8 {
        assert_eq!(store.status("L2").await, "TRADE_CLOSED");
    }
    let none = store.call(CLOSE, json!({"out_trade_no": "NOPE"})).await.checked();
    assert_eq!(none.sub_code(), "ACQ.TRADE_NOT_EXIST");
    assert_eq!(charged(&sb, "L2"), Vec::<i64>::new());
    sb.shutdown().await;
}

// ---------------------------------------------------------------- refunds

#[tokio::test]
async fn refunds_are_idempotent_per_request_number() {
    let sb = start_default().await;
    let store = Store::new(&sb);
    store.pay("R1", "100.00", &code("00")).await.checked();
    let r = store.refund("R1", "30.00", Some("RQ1")).await;
    assert_eq!(r.code(), "10000", "{}", r.text);
    let d = r.inner();
    assert_eq!((d["fund_change"].as_str(), d["refund_fee"].as_str()), (Some("Y"), Some("30.00")));
    assert_eq!(d["out_trade_no"], "R1");
    assert!(d["gmt_refund_pay"].is_string() && d["buyer_logon_id"].is_string());

    let again = store.refund("R1", "30.00", Some("RQ1")).await;
    assert_eq!(
        (again.inner()["fund_change"].as_str(), again.inner()["refund_fee"].as_str()),
        (Some("N"), Some("30.00"))
    );
    assert_eq!(again.inner()["gmt_refund_pay"], d["gmt_refund_pay"]);
    assert_eq!(store.refund("R1", "20.00", Some("RQ1")).await.sub_code(), "ACQ.DISCORDANT_REPEAT_REQUEST");
    assert_eq!(store.refund("R1", "80.00", Some("RQ2")).await.sub_code(), "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL");
    assert_eq!(store.status("R1").await, "TRADE_SUCCESS", "partly refunded");

    let rest = store.refund("R1", "70.00", Some("RQ2")).await;
    assert_eq!(
        (rest.inner()["fund_change"].as_str(), rest.inner()["refund_fee"].as_str()),
        (Some("Y"), Some("100.00"))
    );
    assert_eq!(store.status("R1").await, "TRADE_CLOSED", "fully refunded");
    assert_eq!(refunded(&sb, "R1"), vec![3000, 7000]);

    // refund query
    let q = store.call(REFUND_QUERY, json!({"out_trade_no": "R1", "out_request_no": "RQ1"})).await.checked();
    let d = q.inner();
    assert_eq!(q.code(), "10000");
    assert_eq!((d["refund_amount"].as_str(), d["total_amount"].as_str()), (Some("30.00"), Some("100.00")));
    assert_eq!((d["refund_status"].as_str(), d["out_request_no"].as_str()), (Some("REFUND_SUCCESS"), Some("RQ1")));
    let unknown = store.call(REFUND_QUERY, json!({"out_trade_no": "R1", "out_request_no": "RQ9"})).await.checked();
    assert_eq!(unknown.code(), "10000");
    assert!(unknown.inner().get("refund_amount").is_none() && unknown.inner().get("refund_status").is_none());
    assert_eq!(unknown.inner()["out_trade_no"], "R1");
    let none = store.call(REFUND_QUERY, json!({"out_trade_no": "NOPE", "out_request_no": "RQ1"})).await.checked();
    assert_eq!(none.sub_code(), "ACQ.TRADE_NOT_EXIST");

    // request numbers are the trade's own: another trade may use RQ1 too
    store.pay("R2", "10.00", &code("00")).await.checked();
    assert_eq!(store.refund("R2", "1.00", Some("RQ1")).await.inner()["fund_change"], "Y");
    // without a request number, only the whole trade
    assert_eq!(store.refund("R2", "2.00", None).await.sub_code(), "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL");
    store.pay("R3", "10.00", &code("00")).await.checked();
    assert_eq!(store.refund("R3", "10.00", None).await.inner()["refund_fee"], "10.00");

    // refusals
    store.pay("R4", "10.00", &code("84")).await.checked();
    assert_eq!(store.refund("R4", "1.00", Some("X")).await.sub_code(), "ACQ.TRADE_STATUS_ERROR");
    assert_eq!(store.refund("NOPE", "1.00", Some("X")).await.sub_code(), "ACQ.TRADE_NOT_EXIST");
    assert_eq!(sb.truth().refunds.iter().map(|r| r.amount_fen).sum::<i64>(), 3000 + 7000 + 100 + 1000);
    sb.shutdown().await;
}

// ---------------------------------------------------------------- precreate (QR)

#[tokio::test]
async fn a_precreated_qr_is_no_trade_until_scanned() {
    let sb = start_default().await;
    let store = Store::new(&sb);
    let r = store.precreate("Q1", "12.34").await;
    assert_eq!(r.code(), "10000", "{}", r.text);
    let qr = r.inner()["qr_code"].as_str().unwrap_or_default().to_owned();
    assert_eq!(qr, format!("{}/pay/Q1", sb.base_url()));
    assert_eq!(r.inner()["out_trade_no"], "Q1");

    // before the scan: no trade for query, close or cancel, which change nothing
    assert_eq!(store.status("Q1").await, "ACQ.TRADE_NOT_EXIST");
    assert_eq!(store.call(CLOSE, json!({"out_trade_no": "Q1"})).await.checked().sub_code(), "ACQ.TRADE_NOT_EXIST");
    let cancel = store.call(CANCEL, json!({"out_trade_no": "Q1"})).await.checked();
    assert_eq!(cancel.code(), "10000");
    assert!(cancel.inner().get("action").is_none());
    // a repeated precreate answers the same QR
    assert_eq!(store.precreate("Q1", "12.34").await.inner()["qr_code"], qr.as_str());

    // the customer opens the page: the trade exists, waiting
    assert_eq!(get(&sb, "/pay/Q1").await.status, 200);
    assert_eq!(store.status("Q1").await, "WAIT_BUYER_PAY");
    let q = store.query("Q1").await;
    assert_eq!(q.inner()["total_amount"], "12.34");
    assert!(q.inner().get("send_pay_date").is_none());
    assert_eq!(store.call(CLOSE, json!({"out_trade_no": "Q1"})).await.checked().code(), "10000");
    assert_eq!(store.status("Q1").await, "TRADE_CLOSED");
    assert!(sb.customer_pay("Q1").is_err());

    // a QR nobody opened can still be paid (closing it did nothing)
    store.precreate("Q2", "5.00").await;
    assert_eq!(store.call(CLOSE, json!({"out_trade_no": "Q2"})).await.checked().sub_code(), "ACQ.TRADE_NOT_EXIST");
    sb.customer_pay("Q2").expect("paid");
    assert_eq!(store.status("Q2").await, "TRADE_SUCCESS");
    assert_eq!(charged(&sb, "Q2"), vec![500]);
    assert_eq!(store.precreate("Q2", "5.00").await.sub_code(), "ACQ.TRADE_HAS_SUCCESS");

    // refused at creation (fen part 98): no trade
    let refused = store.precreate("Q98", "1.98").await;
    assert_eq!((refused.code().as_str(), refused.sub_code().as_str()), ("40004", "ACQ.ACCESS_FORBIDDEN"));
    assert!(sb.customer_pay("Q98").is_err());
    sb.shutdown().await;
}

#[tokio::test]
async fn a_precreated_qr_lapses_after_timeout_express() {
    let sb = start(SandboxOptions { minute: Duration::from_millis(500), ..SandboxOptions::default() }).await;
    let store = Store::new(&sb);
    for no in ["T1", "T2"] {
        let r = store
            .call(
                PRECREATE,
                json!({"out_trade_no": no, "total_amount": "1.00", "subject": "s", "timeout_express": "1m"}),
            )
            .await
            .checked();
        assert_eq!(r.code(), "10000", "{}", r.text);
    }
    get(&sb, "/pay/T2").await; // scanned
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(store.status("T1").await, "ACQ.TRADE_NOT_EXIST", "never scanned: never a trade");
    assert_eq!(store.status("T2").await, "TRADE_CLOSED");
    assert!(sb.customer_pay("T1").is_err() && sb.customer_pay("T2").is_err());
    let bad = store
        .call(PRECREATE, json!({"out_trade_no": "T3", "total_amount": "1.00", "subject": "s", "timeout_express": "1c"}))
        .await
        .checked();
    assert_eq!(bad.sub_code(), "ACQ.INVALID_PARAMETER");
    sb.shutdown().await;
}

// ---------------------------------------------------------------- notify

/// The notify's form pairs.
fn form_of(body: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(body.as_bytes()).into_owned().collect()
}

/// Signed with Alipay's key over every parameter but `sign` and `sign_type`.
fn notify_verifies(form: &BTreeMap<String, String>) -> bool {
    verify(sign_content(form, &["sign_type"]).as_bytes(), form.get("sign").map_or("", String::as_str))
}

#[tokio::test]
async fn a_paid_qr_is_notified_and_retried_until_success() {
    let rx = Receiver::start("success", vec![(500, "success"), (200, "SUCCESS"), (200, "success\n")]).await;
    let sb = start(SandboxOptions { minute: Duration::from_millis(30), ..SandboxOptions::default() }).await;
    let store = Store::new(&sb);
    let mut p =
        store.params(PRECREATE, &json!({"out_trade_no": "NQ1", "total_amount": "12.34", "subject": "扫码 商品&1"}));
    p.insert("notify_url".into(), rx.url.clone());
    store.sign(&mut p);
    assert_eq!(store.send(&p).await.expect("precreate").checked().code(), "10000");
    assert!(rx.got().is_empty(), "nothing before it is paid");
    get(&sb, "/pay/NQ1").await;
    sb.customer_pay("NQ1").expect("paid");
    wait_for("the notify to be acknowledged", || sb.notifies().iter().any(|n| n.order_no == "NQ1" && n.finished)).await;

    let rec = sb.notifies().into_iter().find(|n| n.order_no == "NQ1").expect("record");
    assert!(rec.acknowledged);
    assert_eq!((rec.format, rec.cause, rec.channel.as_str()), (NotifyFormat::Alipay, NotifyCause::Paid, "alipay"));
    assert_eq!(rec.attempts.iter().map(|a| a.acknowledged).collect::<Vec<_>>(), [false, false, false, true]);
    let got = rx.got();
    assert_eq!(got.len(), 4);
    // 2 min, then 10 min, scaled: 60 ms, 300 ms
    assert!(got[1].at.duration_since(got[0].at) >= Duration::from_millis(58));
    assert!(got[2].at.duration_since(got[1].at) >= Duration::from_millis(295));
    let trade_no = store.query("NQ1").await.inner()["trade_no"].as_str().unwrap_or_default().to_owned();
    let mut notify_ids = std::collections::HashSet::new();
    for g in &got {
        assert_eq!(g.content_type.as_deref(), Some("application/x-www-form-urlencoded; charset=utf-8"));
        let f = form_of(&g.body);
        assert!(notify_verifies(&f), "{}", g.body);
        let field = |k: &str| f.get(k).map_or("", String::as_str);
        assert_eq!(field("notify_type"), "trade_status_sync");
        assert_eq!((field("app_id"), field("seller_id")), (ALIPAY_APP_ID, ALIPAY_SELLER_ID));
        assert_eq!((field("out_trade_no"), field("trade_no")), ("NQ1", trade_no.as_str()));
        assert_eq!(field("trade_status"), "TRADE_SUCCESS");
        for amount in ["total_amount", "receipt_amount", "buyer_pay_amount"] {
            assert_eq!(field(amount), "12.34", "{amount}");
        }
        assert_eq!(field("subject"), "扫码 商品&1");
        assert_eq!((field("charset"), field("version"), field("sign_type")), ("utf-8", "1.0", "RSA2"));
        for stamp in ["notify_time", "gmt_create", "gmt_payment"] {
            assert!(chrono::NaiveDateTime::parse_from_str(field(stamp), "%Y-%m-%d %H:%M:%S").is_ok(), "{stamp}");
        }
        notify_ids.insert(field("notify_id").to_owned());
    }
    assert_eq!(notify_ids.len(), 4, "each attempt is signed afresh");

    // forged on demand
    let forged = sb
        .send_notify(NotifyRequest { order_no: "NQ1".into(), forge: Forge::BadSignature, ..Default::default() })
        .await
        .expect("sent");
    assert!(!notify_verifies(&form_of(&forged.attempts[0].body)));
    let wrong = sb
        .send_notify(NotifyRequest { order_no: "NQ1".into(), forge: Forge::WrongAmount, ..Default::default() })
        .await
        .expect("sent");
    let f = form_of(&wrong.attempts[0].body);
    assert!(notify_verifies(&f));
    assert_eq!(f.get("total_amount").map(String::as_str), Some("12.35"));
    sb.shutdown().await;
}

#[tokio::test]
async fn barcode_trades_and_unpaid_qrs_send_no_notify() {
    let rx = Receiver::start("success", vec![]).await;
    let sb = start_default().await;
    let store = Store::new(&sb);
    let mut p = store.params(
        PAY,
        &json!({"out_trade_no": "NB1", "scene": "bar_code", "auth_code": code("00"),
        "subject": "s", "total_amount": "1.00"}),
    );
    p.insert("notify_url".into(), rx.url.clone());
    store.sign(&mut p);
    assert_eq!(store.send(&p).await.expect("pay").checked().code(), "10000");
    let mut p = store.params(PRECREATE, &json!({"out_trade_no": "NB2", "total_amount": "1.99", "subject": "s"}));
    p.insert("notify_url".into(), rx.url.clone());
    store.sign(&mut p);
    store.send(&p).await.expect("precreate").checked();
    assert!(sb.customer_pay("NB2").is_err(), "fen part 99 is never paid");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx.got().is_empty());
    assert!(sb.notifies().is_empty());
    sb.shutdown().await;
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn the_bad_signature_fault_spoils_the_sign_only() {
    let sb = start_default().await;
    let store = Store::new(&sb);
    sb.set_faults(paydesk_sandbox::Faults { bad_signature_percent: 100, ..Default::default() });
    let r = store.pay("BS1", "1.00", &code("00")).await;
    assert_eq!(r.code(), "10000", "{}", r.text);
    assert!(!r.verifies());
    assert_eq!(sb.faults_injected().bad_signature, 1);
    sb.set_faults(paydesk_sandbox::Faults::default());
    assert_eq!(store.status("BS1").await, "TRADE_SUCCESS");
    sb.shutdown().await;
}
