//! The `alipay` channel: Alipay's OpenAPI gateway, `POST /gateway.do`, the calls of
//! face-to-face payment (当面付) told apart by the `method` parameter. Requests are signed by the
//! store (RSA2 over the sorted parameters), in public-key mode or cert mode; replies are signed
//! over the exact bytes of their inner object. Amounts are yuan text with two decimals.
//!
//! Readings where the contract (`docs/wire-formats.md`) and the wallets' docs are silent:
//! - Refusals of the request itself are unsigned and sit under the method's key (`error_response`
//!   when the method is missing or unknown): `40001` for a missing common parameter, `40002` for a
//!   bad one, `isv.*` sub-codes. A bad `biz_content` (not a JSON object, a field missing or
//!   malformed) is a business refusal, signed: `40004 ACQ.INVALID_PARAMETER`.
//! - The timestamp's format is checked, not its distance from the sandbox's clock.
//! - In public-key mode `app_cert_sn` and `alipay_root_cert_sn` are ignored if sent.
//! - A parameter given twice (in the query string and the body) is refused.
//! - A repeated `trade.pay` answers as the trade stands (`ACQ.TRADE_HAS_SUCCESS`,
//!   `ACQ.TRADE_HAS_CLOSE`, or `10003` while it waits); a repeated precreate of a waiting QR answers
//!   the same `qr_code`.
//! - `trade.close` of a trade already closed answers `10000` (as it stands); `TRADE_FINISHED` is
//!   never answered (the sandbox's refund period never ends).
//! - The cancel of a precreated QR nobody opened answers "no such trade" and, like close, leaves
//!   the QR payable until `timeout_express`.
//! - `out_request_no` is unique within its trade (as Alipay's docs say); without it the refund
//!   is the whole trade's, under the trade's own number. Reusing a number for another amount:
//!   `ACQ.DISCORDANT_REPEAT_REQUEST`.
//! - Only a precreate's `notify_url` is kept (the contract notifies precreated trades only).

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Router};
use rsa::pkcs1v15::{SigningKey, VerifyingKey};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use crate::faults;
use crate::lakala::wallet_of;
use crate::money::{format_yuan, parse_yuan};
use crate::server::ConnCtl;
use crate::sign;
use crate::state::{
    channel_stamp, declined_amount, CloseReason, CloseRefusal, Delivery, FailReason, Order, OrderKind, OrderStatus,
    RefundRefusal, RefundScope, Scenario, DECLINED_MSG,
};
use crate::wire::{parse_object, Bad, Fields};
use crate::{json_bytes, json_response, App, SandboxOptions};

pub const CHANNEL: &str = "alipay";
/// The call family of QR trades: they exist for Alipay only once the customer opens the page.
pub const API_PRECREATE: &str = "precreate";
const API_PAY: &str = "pay";

const STAMP: &str = "%Y-%m-%d %H:%M:%S";
/// A QR code lives 2 h unless `timeout_express` says otherwise (the wallets' docs).
const DEFAULT_QR_MINUTES: i64 = 120;
/// The longest `timeout_express` taken: 15 days.
const MAX_QR_MINUTES: i64 = 15 * 24 * 60;
/// The buyer every sandbox trade names (masked, as Alipay shows it).
pub(crate) const BUYER_LOGON_ID: &str = "158****1562";
/// Flag of a trade whose first cancel asks to be retried (payment code ending 89).
const RETRY_CANCEL: &str = "retry_cancel";
/// The signature type every request names and every notify carries (SHA256withRSA).
const SIGN_TYPE: &str = "RSA2";

pub fn router() -> Router<Arc<App>> {
    Router::new().route("/gateway.do", post(gateway))
}

// ---------------------------------------------------------------- set-up

/// The cert-mode SNs the requests and replies carry.
#[derive(Debug)]
struct CertSns {
    app: String,
    root: String,
    alipay: String,
}

/// The Alipay credentials and keys of a running sandbox.
pub struct Setup {
    pub app_id: String,
    pub seller_id: String,
    /// Verifies the store's requests: the app public key, or the app certificate's in cert mode.
    app_key: VerifyingKey<Sha256>,
    /// Signs replies and notifies as Alipay.
    alipay_key: SigningKey<Sha256>,
    cert: Option<CertSns>,
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("alipay::Setup")
            .field("app_id", &self.app_id)
            .field("seller_id", &self.seller_id)
            .field("cert", &self.cert)
            .finish_non_exhaustive()
    }
}

impl Setup {
    pub fn new(opts: &SandboxOptions) -> Result<Setup, String> {
        let alipay_private =
            sign::read_private_key(&opts.alipay_private_key_pem).map_err(|e| format!("Alipay private key: {e}"))?;
        let (app_public, cert) = if opts.alipay_cert_mode {
            let app_public =
                sign::read_public_key(&opts.alipay_app_cert_pem).map_err(|e| format!("Alipay app certificate: {e}"))?;
            let alipay_public =
                sign::read_public_key(&opts.alipay_cert_pem).map_err(|e| format!("Alipay certificate: {e}"))?;
            if !sign::same_key(&alipay_private, &alipay_public) {
                return Err("the Alipay private key does not belong to the Alipay certificate".to_owned());
            }
            let sns = CertSns {
                app: sign::alipay_cert_sn(&opts.alipay_app_cert_pem)?,
                root: sign::alipay_root_cert_sn(&opts.alipay_root_cert_pem)
                    .map_err(|e| format!("Alipay root certificate: {e}"))?,
                alipay: sign::alipay_cert_sn(&opts.alipay_cert_pem)?,
            };
            (app_public, Some(sns))
        } else {
            let app_public = sign::read_public_key(&opts.alipay_app_public_key_pem)
                .map_err(|e| format!("Alipay app public key: {e}"))?;
            (app_public, None)
        };
        Ok(Setup {
            app_id: opts.alipay_app_id.clone(),
            seller_id: opts.alipay_seller_id.clone(),
            app_key: VerifyingKey::new(app_public),
            alipay_key: SigningKey::new(alipay_private),
            cert,
        })
    }

    /// Base64 SHA256withRSA with Alipay's key.
    fn sign(&self, content: &[u8]) -> String {
        sign::rsa_sign(&self.alipay_key, content)
    }
}

// ---------------------------------------------------------------- methods and replies

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Pay,
    Precreate,
    Query,
    Cancel,
    Close,
    Refund,
    RefundQuery,
    BillUrl,
}

impl Method {
    const ALL: [Method; 8] = [
        Method::Pay,
        Method::Precreate,
        Method::Query,
        Method::Cancel,
        Method::Close,
        Method::Refund,
        Method::RefundQuery,
        Method::BillUrl,
    ];

    fn name(self) -> &'static str {
        match self {
            Method::Pay => "alipay.trade.pay",
            Method::Precreate => "alipay.trade.precreate",
            Method::Query => "alipay.trade.query",
            Method::Cancel => "alipay.trade.cancel",
            Method::Close => "alipay.trade.close",
            Method::Refund => "alipay.trade.refund",
            Method::RefundQuery => "alipay.trade.fastpay.refund.query",
            Method::BillUrl => "alipay.data.dataservice.bill.downloadurl.query",
        }
    }

    fn of(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The reply's key: `alipay.trade.pay` → `alipay_trade_pay_response`.
    fn key(self) -> String {
        format!("{}_response", self.name().replace('.', "_"))
    }
}

/// `10000` with the call's fields.
fn ok(fields: Value) -> Map<String, Value> {
    let mut inner = Map::new();
    inner.insert("code".to_owned(), json!("10000"));
    inner.insert("msg".to_owned(), json!("Success"));
    if let Value::Object(fields) = fields {
        inner.extend(fields);
    }
    inner
}

/// `40004` business failure with an `ACQ.*` sub-code.
fn failure(sub_code: &str, sub_msg: &str) -> Map<String, Value> {
    let mut inner = Map::new();
    inner.insert("code".to_owned(), json!("40004"));
    inner.insert("msg".to_owned(), json!("Business Failed"));
    inner.insert("sub_code".to_owned(), json!(sub_code));
    inner.insert("sub_msg".to_owned(), json!(sub_msg));
    inner
}

fn invalid_parameter(msg: &str) -> Map<String, Value> {
    failure("ACQ.INVALID_PARAMETER", &format!("参数无效: {msg}"))
}

/// `{"<method>_response":{…},"sign":"…"}` (+ `"alipay_cert_sn"` in cert mode): the signature
/// covers exactly the inner object's bytes as written here.
fn signed_body(app: &App, method: Method, inner: Map<String, Value>) -> Vec<u8> {
    let inner = serde_json::to_string(&Value::Object(inner)).unwrap_or_else(|_| "{}".to_owned());
    let signature = app.alipay.sign(inner.as_bytes());
    let cert_sn = app.alipay.cert.as_ref().map(|c| format!(r#","alipay_cert_sn":"{}""#, c.alipay)).unwrap_or_default();
    format!(r#"{{"{}":{inner},"sign":"{signature}"{cert_sn}}}"#, method.key()).into_bytes()
}

fn signed(app: &App, method: Method, inner: Map<String, Value>) -> Response {
    json_bytes(StatusCode::OK, signed_body(app, method, inner))
}

/// A refusal of the request itself, unsigned.
#[derive(Debug)]
struct Refusal {
    code: &'static str,
    sub_code: String,
    sub_msg: String,
}

impl Refusal {
    fn missing(name: &str, what: &str) -> Refusal {
        Refusal { code: "40001", sub_code: format!("isv.missing-{name}"), sub_msg: format!("缺少{what}参数") }
    }

    fn invalid(name: &str, sub_msg: impl Into<String>) -> Refusal {
        Refusal { code: "40002", sub_code: format!("isv.invalid-{name}"), sub_msg: sub_msg.into() }
    }

    fn into_response(self, key: &str) -> Response {
        let msg = if self.code == "40001" { "Missing Required Arguments" } else { "Invalid Arguments" };
        let inner = json!({"code": self.code, "msg": msg, "sub_code": self.sub_code, "sub_msg": self.sub_msg});
        let mut body = Map::new();
        body.insert(key.to_owned(), inner);
        json_response(StatusCode::OK, &body)
    }
}

/// The 20000 answer: the result is unknown (scenario 95, after charging).
fn unknown_error() -> Map<String, Value> {
    let mut inner = Map::new();
    inner.insert("code".to_owned(), json!("20000"));
    inner.insert("msg".to_owned(), json!("Service Currently Unavailable"));
    inner.insert("sub_code".to_owned(), json!("isp.unknow-error"));
    inner.insert("sub_msg".to_owned(), json!("系统繁忙"));
    inner
}

// ---------------------------------------------------------------- the gateway

/// The query string's and the body's parameters, merged; a name given twice is refused.
fn read_params(query: Option<&str>, body: &[u8]) -> Result<BTreeMap<String, String>, Refusal> {
    let mut params = BTreeMap::new();
    let pairs = form_urlencoded::parse(query.unwrap_or_default().as_bytes()).chain(form_urlencoded::parse(body));
    for (name, value) in pairs {
        if params.insert(name.to_string(), value.into_owned()).is_some() {
            return Err(Refusal::invalid("parameter", format!("参数{name}重复")));
        }
    }
    Ok(params)
}

/// A parameter if given and not empty.
fn param<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    params.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

/// The common parameters and the signature; only a request that passes them reaches its method.
fn authenticate(app: &App, params: &BTreeMap<String, String>) -> Result<(), Refusal> {
    let ali = &app.alipay;
    let need = |name: &str, sub: &str, what: &str| param(params, name).ok_or_else(|| Refusal::missing(sub, what));
    let app_id = need("app_id", "app-id", "AppID")?;
    if app_id != ali.app_id {
        return Err(Refusal::invalid("app-id", "无效的AppID参数"));
    }
    let signature = need("sign", "signature", "签名")?;
    if need("sign_type", "signature-type", "签名类型")? != SIGN_TYPE {
        return Err(Refusal::invalid("signature-type", "签名类型不支持，请使用RSA2"));
    }
    let timestamp = need("timestamp", "timestamp", "时间戳")?;
    if chrono::NaiveDateTime::parse_from_str(timestamp, STAMP).is_err() {
        return Err(Refusal::invalid("timestamp", "非法的时间戳参数（yyyy-MM-dd HH:mm:ss）"));
    }
    if need("version", "version", "版本")? != "1.0" {
        return Err(Refusal::invalid("version", "版本号必须是1.0"));
    }
    if param(params, "charset").is_some_and(|c| !c.eq_ignore_ascii_case("utf-8")) {
        return Err(Refusal::invalid("charset", "字符集不支持，请使用utf-8"));
    }
    if param(params, "format").is_some_and(|f| !f.eq_ignore_ascii_case("JSON")) {
        return Err(Refusal::invalid("format", "格式不支持，请使用JSON"));
    }
    if let Some(sns) = &ali.cert {
        // Cert mode: the SNs name the key the request is verified with.
        if need("app_cert_sn", "app-cert-sn", "应用公钥证书序列号")? != sns.app {
            return Err(Refusal::invalid("app-cert-sn", "应用公钥证书序列号不匹配"));
        }
        if need("alipay_root_cert_sn", "alipay-root-cert-sn", "支付宝根证书序列号")? != sns.root {
            return Err(Refusal::invalid("alipay-root-cert-sn", "支付宝根证书序列号不匹配"));
        }
    }
    let content = sign::join_sorted(params.iter().filter(|(k, _)| *k != "sign").map(|(k, v)| (k.as_str(), v.as_str())));
    if !sign::rsa_verify(&ali.app_key, content.as_bytes(), signature) {
        return Err(Refusal::invalid(
            "signature",
            format!("验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{content}"),
        ));
    }
    Ok(())
}

async fn gateway(
    State(app): State<Arc<App>>,
    Extension(ctl): Extension<ConnCtl>,
    RawQuery(raw_query): RawQuery,
    body: Bytes,
) -> Response {
    const ERROR_KEY: &str = "error_response";
    let params = match read_params(raw_query.as_deref(), &body) {
        Ok(p) => p,
        Err(r) => return r.into_response(ERROR_KEY),
    };
    let Some(name) = param(&params, "method") else {
        return Refusal::missing("method", "方法名").into_response(ERROR_KEY);
    };
    let Some(method) = Method::of(name) else {
        return Refusal::invalid("method", "不存在的方法名").into_response(ERROR_KEY);
    };
    {
        // Counted by method too, so a test can count one call of the single gateway path.
        let mut calls = app.calls.lock().unwrap_or_else(PoisonError::into_inner);
        *calls.entry(format!("/gateway.do?method={name}")).or_default() += 1;
    }
    if let Err(r) = authenticate(&app, &params) {
        tracing::info!(method = name, "alipay: request refused: {} {}", r.sub_code, r.sub_msg);
        return r.into_response(&method.key());
    }
    let biz = match param(&params, "biz_content")
        .ok_or_else(|| "缺少biz_content".to_owned())
        .and_then(|b| parse_object(b.as_bytes()))
    {
        Ok(biz) => biz,
        Err(msg) => return signed(&app, method, invalid_parameter(&msg)),
    };
    let f = Fields::new(&biz);
    let answer = match method {
        Method::Pay => return pay(&app, &ctl, &f).await,
        Method::Precreate => precreate(&app, &f, param(&params, "notify_url")),
        Method::Query => query(&app, &f),
        Method::Cancel => cancel(&app, &f),
        Method::Close => close(&app, &f),
        Method::Refund => refund(&app, &f),
        Method::RefundQuery => refund_query(&app, &f),
        Method::BillUrl => bill_url(&app, &f),
    };
    signed(&app, method, answer.unwrap_or_else(|msg| invalid_parameter(&msg)))
}

// ---------------------------------------------------------------- helpers

/// A yuan amount written as text (`"88.88"`), in fen.
fn yuan(f: &Fields, name: &str) -> Result<i64, Bad> {
    parse_yuan(f.str(name)?).ok_or_else(|| format!("{name}格式错误"))
}

fn stamp(at_ms: i64) -> String {
    channel_stamp(at_ms, STAMP)
}

/// `timeout_express` in minutes: `90m`, `2h`, `1d` (1 minute to 15 days).
fn express_minutes(text: &str) -> Option<i64> {
    let unit = text.chars().last()?;
    let number = text.get(..text.len() - unit.len_utf8())?;
    if number.is_empty() || number.len() > 6 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = number.parse().ok()?;
    let minutes = match unit {
        'm' => n,
        'h' => n.checked_mul(60)?,
        'd' => n.checked_mul(24 * 60)?,
        _ => return None,
    };
    (1..=MAX_QR_MINUTES).contains(&minutes).then_some(minutes)
}

/// Whether Alipay knows the trade: a precreated QR is a trade only once the customer opened its
/// page (scanned it) or paid it; before that every call answers `ACQ.TRADE_NOT_EXIST`.
fn exists(order: &Order) -> bool {
    order.api != API_PRECREATE || order.page_opened() || order.status == OrderStatus::Paid
}

fn not_exist() -> Map<String, Value> {
    failure("ACQ.TRADE_NOT_EXIST", "交易不存在")
}

fn status_error() -> Map<String, Value> {
    failure("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
}

/// `trade_status` of a trade.
fn trade_status(order: &Order) -> &'static str {
    match order.status {
        OrderStatus::Pending => "WAIT_BUYER_PAY",
        OrderStatus::Paid if order.fully_refunded() => "TRADE_CLOSED",
        OrderStatus::Paid => "TRADE_SUCCESS",
        OrderStatus::Failed | OrderStatus::Closed => "TRADE_CLOSED",
    }
}

fn new_order(app: &App, no: &str, subject: &str, amount_fen: i64, kind: OrderKind, now: i64, seq: u64) -> Order {
    let trade_no = crate::abc::trade_no(now, seq);
    Order::new(CHANNEL, no, &app.alipay.seller_id, subject, amount_fen, kind, trade_no.clone(), trade_no, now)
}

// ---------------------------------------------------------------- trade.pay

struct PayInput {
    no: String,
    auth_code: String,
    subject: String,
    amount_fen: i64,
}

fn read_pay(f: &Fields) -> Result<PayInput, Bad> {
    let no = f.order_no("out_trade_no")?.to_owned();
    let scene = f.str("scene")?;
    if scene != "bar_code" && scene != "wave_code" {
        return Err(format!("scene不支持: {scene}"));
    }
    let auth_code = f.str("auth_code")?.to_owned();
    let subject = f.str_max("subject", 256)?.to_owned();
    let amount_fen = yuan(f, "total_amount")?;
    f.opt_str("product_code")?;
    f.opt_str("timeout_express")?;
    Ok(PayInput { no, auth_code, subject, amount_fen })
}

/// The answer of a pay call about its trade as it stands.
fn pay_answer(order: &Order) -> Map<String, Value> {
    let amount = format_yuan(order.amount_fen);
    match (order.status, order.fail) {
        (OrderStatus::Paid, _) => ok(json!({
            "trade_no": order.trade_no,
            "out_trade_no": order.order_no,
            "buyer_logon_id": BUYER_LOGON_ID,
            "total_amount": amount,
            "receipt_amount": amount,
            "buyer_pay_amount": amount,
            "gmt_payment": order.paid_ms.map(stamp).unwrap_or_default(),
            "fund_bill_list": [{"fund_channel": "ALIPAYACCOUNT", "amount": amount}],
        })),
        (OrderStatus::Pending, _) => {
            let mut inner = Map::new();
            inner.insert("code".to_owned(), json!("10003"));
            // Alipay's own text, leading space included.
            inner.insert("msg".to_owned(), json!(" order success pay inprocess"));
            inner.insert("trade_no".to_owned(), json!(order.trade_no));
            inner.insert("out_trade_no".to_owned(), json!(order.order_no));
            inner.insert("buyer_logon_id".to_owned(), json!(BUYER_LOGON_ID));
            inner.insert("total_amount".to_owned(), json!(amount));
            inner.insert("buyer_pay_amount".to_owned(), json!("0.00"));
            inner
        }
        (OrderStatus::Failed, Some(FailReason::InsufficientFunds)) => {
            failure("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足")
        }
        (OrderStatus::Failed, Some(FailReason::InvalidCode)) => auth_code_invalid(),
        (OrderStatus::Failed | OrderStatus::Closed, _) => failure("ACQ.TRADE_HAS_CLOSE", "交易已经关闭"),
    }
}

fn auth_code_invalid() -> Map<String, Value> {
    failure("ACQ.PAYMENT_AUTH_CODE_INVALID", "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款")
}

/// A second pay or precreate with a number already used.
fn repeat_of(order: &Order) -> Map<String, Value> {
    match order.status {
        OrderStatus::Paid => failure("ACQ.TRADE_HAS_SUCCESS", "交易已被支付"),
        OrderStatus::Pending => pay_answer(order),
        OrderStatus::Failed | OrderStatus::Closed => failure("ACQ.TRADE_HAS_CLOSE", "交易已经关闭"),
    }
}

async fn pay(app: &App, ctl: &ConnCtl, f: &Fields<'_>) -> Response {
    let input = match read_pay(f) {
        Ok(input) => input,
        Err(msg) => return signed(app, Method::Pay, invalid_parameter(&msg)),
    };
    // A code of no Alipay wallet fails like scenario 92.
    let scenario = match wallet_of(&input.auth_code) {
        Some("ALIPAY") => Scenario::from_code(&input.auth_code),
        _ => Scenario::InvalidCode,
    };
    let outcome = app.store.with(|st, now| {
        if let Some(existing) = st.order(CHANNEL, &input.no) {
            return Err(repeat_of(existing));
        }
        // No trade exists for a code Alipay cannot read.
        if scenario == Scenario::InvalidCode {
            return Err(auth_code_invalid());
        }
        let seq = st.next_seq();
        let mut order =
            new_order(app, &input.no, &input.subject, input.amount_fen, OrderKind::Barcode { scenario }, now, seq);
        order.api = API_PAY.to_owned();
        if input.auth_code.ends_with("89") {
            order.extra.insert(RETRY_CANCEL.to_owned(), "1".to_owned());
        }
        Ok(st.start_barcode(order, now))
    });
    let outcome = outcome.map_err(|answer| signed(app, Method::Pay, answer));
    let (order, delivery) = match faults::started(app, ctl, "alipay trade.pay", &input.no, outcome).await {
        Ok(started) => started,
        Err(resp) => return resp,
    };
    match delivery {
        // Scenario 95 on Alipay: charged, and the gateway says it does not know (signed, HTTP 200).
        Delivery::ServerError => signed(app, Method::Pay, unknown_error()),
        delivery => faults::deliver(delivery, ctl, signed(app, Method::Pay, pay_answer(&order))).await,
    }
}

// ---------------------------------------------------------------- precreate

fn precreate(app: &App, f: &Fields, notify_url: Option<&str>) -> Result<Map<String, Value>, Bad> {
    let no = f.order_no("out_trade_no")?.to_owned();
    let amount_fen = yuan(f, "total_amount")?;
    let subject = f.str_max("subject", 256)?.to_owned();
    let minutes = match f.opt_str("timeout_express")? {
        None => DEFAULT_QR_MINUTES,
        Some(text) => express_minutes(text).ok_or_else(|| format!("timeout_express格式错误: {text}"))?,
    };
    if declined_amount(amount_fen) {
        return Ok(failure("ACQ.ACCESS_FORBIDDEN", DECLINED_MSG));
    }
    let lifetime = app.sandbox_minutes(minutes);
    let created = app.store.with(|st, now| {
        if let Some(existing) = st.order(CHANNEL, &no) {
            let same_qr = existing.api == API_PRECREATE
                && existing.status == OrderStatus::Pending
                && existing.amount_fen == amount_fen;
            return if same_qr { Ok(existing.clone()) } else { Err(repeat_of(existing)) };
        }
        let seq = st.next_seq();
        let kind = OrderKind::Page { page: API_PRECREATE.to_owned() };
        let mut order = new_order(app, &no, &subject, amount_fen, kind, now, seq);
        order.api = API_PRECREATE.to_owned();
        order.expires_ms = Some(now.saturating_add(lifetime));
        order.notify_url = notify_url.map(str::to_owned);
        st.insert_page_order(order.clone());
        Ok(order)
    });
    let order = match created {
        Ok(order) => order,
        Err(answer) => return Ok(answer),
    };
    tracing::info!(order_no = %order.order_no, amount = %format_yuan(order.amount_fen), "alipay precreate");
    Ok(ok(json!({"out_trade_no": order.order_no, "qr_code": app.page_url(&order.order_no)})))
}

// ---------------------------------------------------------------- query, cancel, close

fn query(app: &App, f: &Fields) -> Result<Map<String, Value>, Bad> {
    let no = f.str("out_trade_no")?;
    let found = app.store.with(|st, now| match st.order(CHANNEL, no) {
        Some(o) if exists(o) => st.query(CHANNEL, no, now),
        _ => None,
    });
    let Some(order) = found else { return Ok(not_exist()) };
    let mut fields = json!({
        "trade_no": order.trade_no,
        "out_trade_no": order.order_no,
        "trade_status": trade_status(&order),
        "total_amount": format_yuan(order.amount_fen),
        "buyer_logon_id": BUYER_LOGON_ID,
    });
    if let (Some(paid), Some(obj)) = (order.paid_ms, fields.as_object_mut()) {
        obj.insert("send_pay_date".to_owned(), json!(stamp(paid)));
    }
    Ok(ok(fields))
}

/// The number the refund of a cancelled paid trade is recorded under.
pub(crate) fn cancel_no(no: &str) -> String {
    format!("{no}-cancel")
}

fn cancel(app: &App, f: &Fields) -> Result<Map<String, Value>, Bad> {
    let no = f.str("out_trade_no")?;
    enum Done {
        NoTrade,
        Retry,
        Cancelled(Box<Order>, Option<i64>),
    }
    let done = app.store.with(|st, now| {
        if !st.order(CHANNEL, no).is_some_and(exists) {
            return Done::NoTrade;
        }
        if st.take_flag(CHANNEL, no, RETRY_CANCEL) {
            return Done::Retry;
        }
        let refund_no = cancel_no(no);
        match st.revoke(CHANNEL, no, &refund_no, now) {
            Some((order, _)) => {
                let refunded_at = st.find_refund(CHANNEL, Some(no), &refund_no).map(|(r, _)| r.at_ms);
                Done::Cancelled(Box::new(order), refunded_at)
            }
            None => Done::NoTrade,
        }
    });
    match done {
        Done::NoTrade => Ok(ok(json!({"out_trade_no": no, "retry_flag": "N"}))),
        Done::Retry => {
            let mut answer = failure("ACQ.SYSTEM_ERROR", "系统错误，请重试");
            answer.insert("out_trade_no".to_owned(), json!(no));
            answer.insert("retry_flag".to_owned(), json!("Y"));
            Ok(answer)
        }
        Done::Cancelled(order, refunded_at) => {
            let action = if order.status == OrderStatus::Paid { "refund" } else { "close" };
            tracing::info!(order_no = no, action, "alipay cancel");
            let mut fields = json!({
                "trade_no": order.trade_no,
                "out_trade_no": order.order_no,
                "retry_flag": "N",
                "action": action,
            });
            if let (Some(at), Some(obj)) = (refunded_at, fields.as_object_mut()) {
                obj.insert("gmt_refund_pay".to_owned(), json!(stamp(at)));
            }
            Ok(ok(fields))
        }
    }
}

fn close(app: &App, f: &Fields) -> Result<Map<String, Value>, Bad> {
    let no = f.str("out_trade_no")?;
    let result = app.store.with(|st, now| match st.order(CHANNEL, no) {
        Some(o) if exists(o) => st.close_order(CHANNEL, no, now, CloseReason::Closed),
        _ => Err(CloseRefusal::NotFound),
    });
    Ok(match result {
        Ok(order) => {
            tracing::info!(order_no = no, status = ?order.status, "alipay close");
            ok(json!({"trade_no": order.trade_no, "out_trade_no": order.order_no}))
        }
        Err(CloseRefusal::NotFound) => not_exist(),
        Err(CloseRefusal::AlreadyPaid) => status_error(),
    })
}

// ---------------------------------------------------------------- refunds

fn refund(app: &App, f: &Fields) -> Result<Map<String, Value>, Bad> {
    let no = f.str("out_trade_no")?;
    let amount_fen = yuan(f, "refund_amount")?;
    let request_no = f.opt_str("out_request_no")?;
    f.opt_str("refund_reason")?;
    let result = app.store.with(|st, now| {
        let order = st.order(CHANNEL, no).filter(|o| exists(o)).ok_or(RefundRefusal::NotFound)?;
        // Without a request number the refund is the whole trade's, under the trade's number.
        if request_no.is_none() && order.status == OrderStatus::Paid && amount_fen != order.amount_fen {
            return Err(RefundRefusal::Exceeds { refundable_fen: order.amount_fen - order.refunded_fen });
        }
        let (record, new) =
            st.refund_numbered(RefundScope::Order, CHANNEL, no, request_no.unwrap_or(no), amount_fen, now)?;
        let order = st.order(CHANNEL, no).cloned().ok_or(RefundRefusal::NotFound)?;
        Ok((record, new, order))
    });
    Ok(match result {
        Ok((record, new, order)) => {
            tracing::info!(order_no = no, refund_no = %record.refund_no, amount = %format_yuan(amount_fen), new, "alipay refund");
            ok(json!({
                "trade_no": order.trade_no,
                "out_trade_no": order.order_no,
                "buyer_logon_id": BUYER_LOGON_ID,
                "fund_change": if new { "Y" } else { "N" },
                "refund_fee": format_yuan(order.refunded_fen),
                "gmt_refund_pay": stamp(record.at_ms),
            }))
        }
        Err(RefundRefusal::NotFound) => not_exist(),
        Err(RefundRefusal::NotPaid) => status_error(),
        Err(RefundRefusal::Exceeds { .. }) => failure("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限"),
        Err(RefundRefusal::NumberReused) => failure("ACQ.DISCORDANT_REPEAT_REQUEST", "不一致的请求"),
    })
}

fn refund_query(app: &App, f: &Fields) -> Result<Map<String, Value>, Bad> {
    let no = f.str("out_trade_no")?;
    let request_no = f.opt_str("out_request_no")?.unwrap_or(no);
    let found = app.store.with(|st, _| {
        let order = st.order(CHANNEL, no).filter(|o| exists(o))?.clone();
        let record = st.find_refund(CHANNEL, Some(no), request_no).map(|(r, _)| r.clone());
        Some((order, record))
    });
    let Some((order, record)) = found else { return Ok(not_exist()) };
    let mut fields = json!({"trade_no": order.trade_no, "out_trade_no": order.order_no});
    if let (Some(r), Some(obj)) = (record, fields.as_object_mut()) {
        obj.insert("out_request_no".to_owned(), json!(request_no));
        obj.insert("refund_amount".to_owned(), json!(format_yuan(r.amount_fen)));
        obj.insert("total_amount".to_owned(), json!(format_yuan(order.amount_fen)));
        obj.insert("refund_status".to_owned(), json!("REFUND_SUCCESS"));
        obj.insert("gmt_refund_pay".to_owned(), json!(stamp(r.at_ms)));
    }
    Ok(ok(fields))
}

// ---------------------------------------------------------------- statements

/// `alipay.data.dataservice.bill.downloadurl.query`: `trade` bills of one day (`yyyy-MM-dd`) only.
fn bill_url(app: &App, f: &Fields) -> Result<Map<String, Value>, Bad> {
    let bill_type = f.str("bill_type")?;
    if bill_type != "trade" {
        return Err(format!("bill_type不支持: {bill_type}（仅支持trade）"));
    }
    let text = f.str("bill_date")?;
    let day =
        crate::bills::parse_day(text, "%Y-%m-%d").ok_or_else(|| format!("bill_date格式错误（yyyy-MM-dd）: {text}"))?;
    Ok(match crate::bills::alipay_download_url(app, day) {
        Ok(Some(url)) => ok(json!({"bill_download_url": url})),
        Ok(None) => failure("ACQ.BILL_NOT_EXIST", "账单不存在"),
        Err(e) => {
            tracing::error!("alipay bill of {day}: {e}");
            unknown_error()
        }
    })
}

// ---------------------------------------------------------------- notify

/// The form of the notify of a paid precreated trade, signed with Alipay's key over every
/// parameter but `sign` and `sign_type`; `bad_signature` spoils the signature.
pub fn notify_body(app: &App, order: &Order, amount_fen: i64, now: i64, bad_signature: bool) -> Vec<u8> {
    let ali = &app.alipay;
    let amount = format_yuan(amount_fen);
    let notify_id = format!("{:032x}", fastrand::u128(..));
    let fields: Vec<(&str, String)> = vec![
        ("notify_type", "trade_status_sync".to_owned()),
        ("notify_id", notify_id),
        ("notify_time", stamp(now)),
        ("app_id", ali.app_id.clone()),
        ("charset", "utf-8".to_owned()),
        ("version", "1.0".to_owned()),
        ("trade_no", order.trade_no.clone()),
        ("out_trade_no", order.order_no.clone()),
        ("buyer_logon_id", BUYER_LOGON_ID.to_owned()),
        ("seller_id", ali.seller_id.clone()),
        ("trade_status", "TRADE_SUCCESS".to_owned()),
        ("total_amount", amount.clone()),
        ("receipt_amount", amount.clone()),
        ("buyer_pay_amount", amount),
        ("subject", order.goods_name.clone()),
        ("gmt_create", stamp(order.created_ms)),
        ("gmt_payment", stamp(order.paid_ms.unwrap_or(now))),
    ];
    let content = sign::join_sorted(fields.iter().map(|(k, v)| (*k, v.as_str())));
    let mut signature = ali.sign(content.as_bytes());
    if bad_signature {
        signature = sign::corrupt_signature(&signature);
    }
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &fields {
        form.append_pair(k, v);
    }
    form.append_pair("sign_type", SIGN_TYPE);
    form.append_pair("sign", &signature);
    form.finish().into_bytes()
}

/// Whether the merchant acknowledged a notify: HTTP 200 and the body `success`, exactly.
pub fn acknowledged(status: u16, body: &[u8]) -> bool {
    status == 200 && body == b"success"
}

/// A gateway reply with its `sign` spoiled (the `badSignature` fault); `None` if it is not one.
pub fn spoil_reply(body: &[u8]) -> Option<Vec<u8>> {
    const MARK: &str = r#"},"sign":""#;
    let text = std::str::from_utf8(body).ok()?;
    if !text.starts_with("{\"alipay_") {
        return None;
    }
    let start = text.rfind(MARK)? + MARK.len();
    let len = text.get(start..)?.find('"')?;
    let signature = text.get(start..start + len)?;
    Some(format!("{}{}{}", &text[..start], sign::corrupt_signature(signature), &text[start + len..]).into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_and_keys() {
        assert_eq!(Method::of("alipay.trade.fastpay.refund.query"), Some(Method::RefundQuery));
        assert_eq!(Method::RefundQuery.key(), "alipay_trade_fastpay_refund_query_response");
        assert_eq!(Method::Pay.key(), "alipay_trade_pay_response");
        assert_eq!(Method::of("alipay.trade.create"), None);
    }

    #[test]
    fn timeout_express() {
        assert_eq!(express_minutes("90m"), Some(90));
        assert_eq!(express_minutes("2h"), Some(120));
        assert_eq!(express_minutes("1d"), Some(1440));
        assert_eq!(express_minutes("15d"), Some(MAX_QR_MINUTES));
        for bad in ["", "m", "0m", "16d", "1c", "-1m", "1.5h", "10", "１m", "m１", "9９"] {
            assert_eq!(express_minutes(bad), None, "{bad}");
        }
    }

    #[test]
    fn params_merge_and_refuse_repeats() {
        let p = read_params(Some("method=alipay.trade.query&sign=a%2Bb%3D"), b"biz_content=%7B%7D&x=1+2")
            .unwrap_or_default();
        assert_eq!(p.get("sign").map(String::as_str), Some("a+b="));
        assert_eq!(p.get("x").map(String::as_str), Some("1 2"));
        assert_eq!(p.get("biz_content").map(String::as_str), Some("{}"));
        assert!(read_params(Some("a=1"), b"a=1").is_err());
        assert!(read_params(None, b"\xff\xfe=%zz").is_ok(), "never a panic");
    }

    #[test]
    fn spoiling_keeps_the_inner_object() {
        let body = br#"{"alipay_trade_query_response":{"code":"10000","sign":"x"},"sign":"AAAA","alipay_cert_sn":"s"}"#;
        let spoiled = spoil_reply(body).unwrap_or_default();
        let text = String::from_utf8(spoiled).unwrap_or_default();
        assert!(text.starts_with(r#"{"alipay_trade_query_response":{"code":"10000","sign":"x"},"sign":""#), "{text}");
        assert!(!text.contains(r#""sign":"AAAA""#), "{text}");
        assert!(text.ends_with(r#","alipay_cert_sn":"s"}"#), "{text}");
        assert_eq!(spoil_reply(b"{\"code\":1}"), None);
    }

    #[test]
    fn acknowledgement_is_exact() {
        assert!(acknowledged(200, b"success"));
        assert!(!acknowledged(200, b"success\n"));
        assert!(!acknowledged(200, b"SUCCESS"));
        assert!(!acknowledged(500, b"success"));
    }
}
