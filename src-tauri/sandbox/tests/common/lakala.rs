//! Lakala v3 as a client does it, written here independently of the sandbox's own code:
//! requests signed with the store's key, replies verified with the platform certificate.

use base64::Engine as _;
use paydesk_sandbox::{demo_keys, Sandbox, LAKALA_APPID, LAKALA_MERCHANT_NO, LAKALA_TERM_NO};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};
use sha2::Sha256;
use x509_cert::der::{DecodePem, Encode};

use super::client;

pub fn merchant_key() -> SigningKey<Sha256> {
    SigningKey::new(RsaPrivateKey::from_pkcs8_pem(demo_keys::MERCHANT_PRIVATE_PEM).expect("merchant key"))
}

/// A key that is not the store's (the platform's own): signatures made with it do not verify.
pub fn wrong_key() -> SigningKey<Sha256> {
    SigningKey::new(RsaPrivateKey::from_pkcs8_pem(demo_keys::LAKALA_PRIVATE_PEM).expect("platform key"))
}

pub fn public_key_of(cert_pem: &str) -> RsaPublicKey {
    let cert = x509_cert::Certificate::from_pem(cert_pem.as_bytes()).expect("certificate");
    let spki = cert.tbs_certificate.subject_public_key_info.to_der().expect("spki");
    RsaPublicKey::from_public_key_der(&spki).expect("rsa key")
}

pub fn platform_verifier() -> VerifyingKey<Sha256> {
    VerifyingKey::new(public_key_of(demo_keys::LAKALA_CERT_PEM))
}

pub fn sign_b64(key: &SigningKey<Sha256>, message: &[u8]) -> String {
    let sig: Signature = key.sign(message);
    base64::engine::general_purpose::STANDARD.encode(sig.to_bytes())
}

pub fn verify_b64(key: &VerifyingKey<Sha256>, message: &[u8], sig: &str) -> bool {
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(sig) else { return false };
    let Ok(sig) = Signature::try_from(bytes.as_slice()) else { return false };
    key.verify(message, &sig).is_ok()
}

pub fn now_s() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

pub fn fresh_nonce() -> String {
    (0..24).map(|_| fastrand::alphanumeric()).collect()
}

/// What goes into an `Authorization` header.
#[derive(Clone, Debug)]
pub struct Auth {
    pub appid: String,
    pub serial: String,
    pub timestamp: i64,
    pub nonce: String,
}

impl Auth {
    pub fn fresh() -> Auth {
        Auth {
            appid: LAKALA_APPID.to_owned(),
            serial: demo_keys::MERCHANT_SERIAL.to_owned(),
            timestamp: now_s(),
            nonce: fresh_nonce(),
        }
    }

    /// `appid\nserial_no\ntimestamp\nnonce_str\nbody\n`
    pub fn message(&self, body: &str) -> Vec<u8> {
        format!("{}\n{}\n{}\n{}\n{}\n", self.appid, self.serial, self.timestamp, self.nonce, body).into_bytes()
    }

    pub fn header(&self, key: &SigningKey<Sha256>, body: &str) -> String {
        let signature = sign_b64(key, &self.message(body));
        format!(
            r#"LKLAPI-SHA256withRSA appid="{}",serial_no="{}",timestamp="{}",nonce_str="{}",signature="{}""#,
            self.appid, self.serial, self.timestamp, self.nonce, signature
        )
    }
}

/// `{"req_time","version":"3.0","req_data"}`
pub fn envelope(req_data: &Value) -> String {
    let req_time = paydesk_sandbox::channel_stamp(chrono::Utc::now().timestamp_millis(), "%Y%m%d%H%M%S");
    json!({"req_time": req_time, "version": "3.0", "req_data": req_data}).to_string()
}

pub fn location() -> Value {
    json!({"request_ip": "127.0.0.1"})
}

/// A reply with its headers.
#[derive(Debug)]
pub struct Signed {
    pub status: u16,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Signed {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("reply is not JSON ({e}): {}", self.text))
    }

    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    pub fn data(&self) -> Value {
        self.json()["resp_data"].clone()
    }

    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    }

    /// The `Lklapi-*` headers sign this exact body with the platform certificate's key.
    pub fn verifies(&self) -> bool {
        let message = format!(
            "{}\n{}\n{}\n{}\n{}\n",
            self.header("Lklapi-Appid"),
            self.header("Lklapi-Serial"),
            self.header("Lklapi-Timestamp"),
            self.header("Lklapi-Nonce"),
            self.text
        );
        self.header("Lklapi-Serial") == demo_keys::LAKALA_SERIAL
            && self.header("Lklapi-Appid") == LAKALA_APPID
            && verify_b64(&platform_verifier(), message.as_bytes(), &self.header("Lklapi-Signature"))
    }

    /// A verified reply (panics otherwise), for brevity.
    pub fn checked(self) -> Signed {
        assert!(self.verifies(), "the reply's signature does not verify: {} {:?}", self.text, self.headers);
        self
    }
}

/// Posts `body` with `authorization` (none: no header).
pub async fn post_signed(
    sb: &Sandbox,
    path: &str,
    body: &str,
    authorization: Option<&str>,
) -> Result<Signed, reqwest::Error> {
    post_signed_with(&client(), sb, path, body, authorization).await
}

pub async fn post_signed_with(
    client: &reqwest::Client,
    sb: &Sandbox,
    path: &str,
    body: &str,
    authorization: Option<&str>,
) -> Result<Signed, reqwest::Error> {
    let mut req = client
        .post(format!("{}{path}", sb.base_url()))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await?;
    Ok(Signed { status, text, headers })
}

/// A properly signed direct call with `req_data`.
pub async fn call(sb: &Sandbox, path: &str, req_data: Value) -> Signed {
    let body = envelope(&req_data);
    let auth = Auth::fresh().header(&merchant_key(), &body);
    post_signed(sb, path, &body, Some(&auth)).await.unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

pub const MICROPAY: &str = "/api/v3/labs/trans/micropay";
pub const PREORDER: &str = "/api/v3/labs/trans/preorder";
pub const TRADEQUERY: &str = "/api/v3/labs/query/tradequery";
pub const REVOKED: &str = "/api/v3/labs/relation/revoked";
pub const CLOSE: &str = "/api/v3/labs/relation/close";
pub const REFUND: &str = "/api/v3/labs/relation/refund";
pub const COUNTER_CREATE: &str = "/api/v3/ccss/counter/order/special_create";
pub const COUNTER_QUERY: &str = "/api/v3/ccss/counter/order/query";
pub const COUNTER_CLOSE: &str = "/api/v3/ccss/counter/order/close";

pub fn micropay_data(out_trade_no: &str, fen: i64, auth_code: &str) -> Value {
    json!({
        "merchant_no": LAKALA_MERCHANT_NO, "term_no": LAKALA_TERM_NO, "out_trade_no": out_trade_no,
        "auth_code": auth_code, "total_amount": fen.to_string(), "location_info": location(), "subject": "测试商品",
    })
}

pub async fn micropay(sb: &Sandbox, out_trade_no: &str, fen: i64, auth_code: &str) -> Signed {
    call(sb, MICROPAY, micropay_data(out_trade_no, fen, auth_code)).await
}

pub async fn preorder(sb: &Sandbox, out_trade_no: &str, fen: i64, account_type: &str) -> Signed {
    let data = json!({
        "merchant_no": LAKALA_MERCHANT_NO, "term_no": LAKALA_TERM_NO, "out_trade_no": out_trade_no,
        "account_type": account_type, "trans_type": "41", "total_amount": fen.to_string(),
        "location_info": location(), "subject": "测试商品",
    });
    call(sb, PREORDER, data).await
}

pub async fn tradequery(sb: &Sandbox, out_trade_no: &str) -> Signed {
    let data = json!({"merchant_no": LAKALA_MERCHANT_NO, "term_no": LAKALA_TERM_NO, "out_trade_no": out_trade_no});
    call(sb, TRADEQUERY, data).await.checked()
}

/// The `trade_state` of a labs order (asserts the query succeeded).
pub async fn trade_state(sb: &Sandbox, out_trade_no: &str) -> String {
    let r = tradequery(sb, out_trade_no).await;
    assert_eq!(r.code(), "BBS00000", "{}", r.text);
    r.data()["trade_state"].as_str().unwrap_or_default().to_owned()
}

pub async fn revoke(sb: &Sandbox, origin: &str) -> Signed {
    let data = json!({
        "merchant_no": LAKALA_MERCHANT_NO, "term_no": LAKALA_TERM_NO, "out_trade_no": format!("{origin}C"),
        "origin_out_trade_no": origin, "location_info": location(),
    });
    call(sb, REVOKED, data).await.checked()
}

pub async fn close(sb: &Sandbox, origin: &str) -> Signed {
    let data = json!({
        "merchant_no": LAKALA_MERCHANT_NO, "term_no": LAKALA_TERM_NO, "origin_out_trade_no": origin,
        "location_info": location(),
    });
    call(sb, CLOSE, data).await.checked()
}

pub async fn refund(sb: &Sandbox, origin: &str, refund_no: &str, fen: i64) -> Signed {
    let data = json!({
        "merchant_no": LAKALA_MERCHANT_NO, "term_no": LAKALA_TERM_NO, "out_trade_no": refund_no,
        "origin_out_trade_no": origin, "refund_amount": fen.to_string(), "refund_reason": "退货",
        "location_info": location(),
    });
    call(sb, REFUND, data).await.checked()
}

/// A counter order that stays open `minutes` wall-clock minutes.
pub fn counter_data(out_order_no: &str, fen: i64, minutes: i64) -> Value {
    let until =
        paydesk_sandbox::channel_stamp(chrono::Utc::now().timestamp_millis() + minutes * 60_000, "%Y%m%d%H%M%S");
    json!({
        "out_order_no": out_order_no, "merchant_no": LAKALA_MERCHANT_NO, "total_amount": fen,
        "order_efficient_time": until, "order_info": "测试商品", "support_cancel": 0, "support_refund": 1,
        "support_repeat_pay": 0, "counter_param": {"pay_mode": "ALIPAY"},
    })
}

pub async fn counter_query(sb: &Sandbox, out_order_no: &str) -> Signed {
    call(sb, COUNTER_QUERY, json!({"out_order_no": out_order_no, "merchant_no": LAKALA_MERCHANT_NO})).await.checked()
}
