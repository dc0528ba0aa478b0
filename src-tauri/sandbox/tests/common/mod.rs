//! Helpers shared by the integration tests: a sandbox on loopback and a plain
//! HTTP client.
#![allow(dead_code)]

pub mod lakala;
pub mod receiver;

use std::time::Duration;

use paydesk_sandbox::{Sandbox, SandboxOptions};
use serde_json::Value;

pub const MERCHANT: &str = "103881636900016";

pub async fn start(opts: SandboxOptions) -> Sandbox {
    Sandbox::start(opts).await.expect("sandbox starts")
}

pub async fn start_default() -> Sandbox {
    start(SandboxOptions::default()).await
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("client")
}

pub fn client_with_timeout(t: Duration) -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(t).build().expect("client")
}

/// An Alipay payment code (18 digits, starting 28) with the given last two digits.
pub fn code(ending: &str) -> String {
    format!("2801234567890123{ending}")
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("reply is not JSON ({e}): {}", self.text))
    }

    pub fn field(&self, name: &str) -> Value {
        self.json().get(name).cloned().unwrap_or(Value::Null)
    }

    pub fn str(&self, name: &str) -> String {
        self.field(name).as_str().unwrap_or_default().to_owned()
    }
}

pub async fn post_raw(sb: &Sandbox, path: &str, body: &str) -> Reply {
    post_with(&client(), sb, path, body).await.unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

pub async fn post_with(
    client: &reqwest::Client,
    sb: &Sandbox,
    path: &str,
    body: &str,
) -> Result<Reply, reqwest::Error> {
    let resp = client
        .post(format!("{}{path}", sb.base_url()))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await?;
    let status = resp.status().as_u16();
    let text = resp.text().await?;
    Ok(Reply { status, text })
}

pub async fn get(sb: &Sandbox, path: &str) -> Reply {
    let resp =
        client().get(format!("{}{path}", sb.base_url())).send().await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    Reply { status, text }
}

/// A create body with the amount written verbatim (raw JSON number text).
pub fn pay_body(order_no: &str, amount: &str, extra: &str) -> String {
    format!(r#"{{"orderNo":"{order_no}","amount":{amount},"merchantId":"{MERCHANT}","goodsName":"测试商品"{extra}}}"#)
}

pub async fn qrcode(sb: &Sandbox, order_no: &str, amount: &str, extra: &str) -> Reply {
    post_raw(sb, "/api/payment/alipay/qrcode", &pay_body(order_no, amount, extra)).await
}

pub async fn barcode(sb: &Sandbox, order_no: &str, amount: &str, auth_code: &str) -> Reply {
    post_raw(sb, "/api/payment/alipay/barcode", &pay_body(order_no, amount, &format!(r#","authCode":"{auth_code}""#)))
        .await
}

pub async fn barcode_with(
    client: &reqwest::Client,
    sb: &Sandbox,
    order_no: &str,
    amount: &str,
    auth_code: &str,
) -> Result<Reply, reqwest::Error> {
    post_with(
        client,
        sb,
        "/api/payment/alipay/barcode",
        &pay_body(order_no, amount, &format!(r#","authCode":"{auth_code}""#)),
    )
    .await
}

pub async fn query_as(sb: &Sandbox, order_no: &str, merchant: Option<&str>) -> Reply {
    let mut req = client().get(format!("{}/api/payment/alipay/query/{order_no}", sb.base_url()));
    if let Some(m) = merchant {
        req = req.header("X-Merchant-Id", m);
    }
    let resp = req.send().await.expect("query");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    Reply { status, text }
}

pub async fn query(sb: &Sandbox, order_no: &str) -> Reply {
    query_as(sb, order_no, Some(MERCHANT)).await
}

pub async fn query_status(sb: &Sandbox, order_no: &str) -> String {
    let r = query(sb, order_no).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.str("status")
}

pub async fn refund(sb: &Sandbox, order_no: &str, amount: &str) -> Reply {
    post_raw(
        sb,
        "/api/payment/alipay/refund",
        &format!(
            r#"{{"orderNo":"{order_no}","refundAmount":{amount},"refundReason":"用户申请退款","merchantId":"{MERCHANT}"}}"#
        ),
    )
    .await
}

pub async fn set_faults(sb: &Sandbox, json: &str) -> Reply {
    post_raw(sb, "/admin/faults", json).await
}

/// The charges of one order, in fen.
pub fn charged(sb: &Sandbox, order_no: &str) -> Vec<i64> {
    sb.truth().charges.iter().filter(|c| c.order_no == order_no).map(|c| c.amount_fen).collect()
}

/// The refunds of one order, in fen.
pub fn refunded(sb: &Sandbox, order_no: &str) -> Vec<i64> {
    sb.truth().refunds.iter().filter(|r| r.order_no == order_no).map(|r| r.amount_fen).collect()
}

/// WeChat Pay v2's signature as the merchant's client makes it: `k=v&…&key=<key>` over the
/// non-empty fields but `sign`, sorted; uppercase hex MD5 or HMAC-SHA256.
pub fn wechat_sign(fields: &std::collections::BTreeMap<String, String>, sign_type: &str, key: &str) -> String {
    use hmac::Mac;
    use md5::Digest;
    let mut text: String = fields
        .iter()
        .filter(|(k, v)| k.as_str() != "sign" && !v.is_empty())
        .map(|(k, v)| format!("{k}={v}&"))
        .collect();
    text.push_str(&format!("key={key}"));
    match sign_type {
        "HMAC-SHA256" => {
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("hmac key");
            mac.update(text.as_bytes());
            hex::encode_upper(mac.finalize().into_bytes())
        }
        _ => hex::encode_upper(md5::Md5::digest(text.as_bytes())),
    }
}
