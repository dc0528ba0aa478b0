//! The `wechat` channel: WeChat Pay v2, XML over `POST /pay/…` and `/secapi/pay/…`. Every
//! request is signed with the merchant's API key (MD5 or HMAC-SHA256, as `sign_type` names it)
//! and every reply that took the request is signed the same way. Amounts are integer fen.
//!
//! Two layers, as the docs give them: `return_code FAIL` (+`return_msg`, unsigned) when the
//! request was not taken (bad XML, bad signature, a missing `appid`/`mch_id`/`nonce_str`/`sign`);
//! otherwise `result_code SUCCESS`/`FAIL` with `err_code`/`err_code_des`, signed.
//!
//! Readings where the contract (`docs/wire-formats.md`) and the wallets' docs are silent:
//! - A business field missing or malformed: `result_code FAIL`, `err_code PARAM_ERROR`.
//! - Orders are found by `out_trade_no` only (not `transaction_id`); refunds by `out_refund_no`.
//! - A repeated micropay or unifiedorder with a used `out_trade_no`: `ORDERPAID` if paid; a
//!   waiting NATIVE order of the same amount answers the same `code_url`, a micropay still being
//!   confirmed answers `USERPAYING`; otherwise `OUT_TRADE_NO_USED`.
//! - `unifiedorder` takes only `trade_type NATIVE`; without `time_expire` a code lives 2 h
//!   (sandbox minutes); a `time_expire` already past is `PARAM_ERROR`.
//! - A reverse of a NATIVE order does what it does to a micropay one.
//! - A refund number reused for another order or amount: `PARAM_ERROR`. Refunds ending 95/96 (fen)
//!   are accepted, then given up by the wallet: no money goes back, the order is refundable again.
//! - The merchant's notify answer counts when it is HTTP 200 and XML whose `return_code` is
//!   `SUCCESS` (what WeChat checks), `return_msg` whatever it says.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use quick_xml::events::Event;

use crate::faults;
use crate::lakala::{parse_stamp, stamp, wallet_of};
use crate::money::{format_yuan, parse_fen};
use crate::server::ConnCtl;
use crate::sign::{self, WechatSignType};
use crate::state::{
    channel_stamp, declined_amount, CloseReason, CloseRefusal, Delivery, FailReason, Order, OrderKind, OrderStatus,
    RefundFate, RefundRefusal, RefundScope, Scenario,
};
use crate::wire::valid_order_no;
use crate::{App, SandboxOptions};

pub const CHANNEL: &str = "wechat";
const API_MICROPAY: &str = "micropay";
/// NATIVE orders (`unifiedorder`): the customer scans the merchant's code.
pub const API_NATIVE: &str = "native";

/// A NATIVE code lives 2 h unless `time_expire` says otherwise (the wallets' docs).
const DEFAULT_NATIVE_MINUTES: i64 = 120;
/// The payer every sandbox order names (the docs' sample openid).
pub(crate) const OPENID: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";
/// Extra values of an order.
const SIGN_TYPE: &str = "sign_type";
const PREPAY_ID: &str = "prepay_id";
/// Flag of an order whose first reverse asks to be retried (payment code ending 89).
const RETRY_REVERSE: &str = "retry_reverse";
/// Flag of a paid order that was reversed (refunded in full by the reverse).
const REVERSED: &str = "reversed";
/// The merchant's acknowledgement of a notify, as the contract writes it.
pub const NOTIFY_ACK: &str =
    "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>";

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/pay/micropay", post(micropay))
        .route("/pay/orderquery", post(orderquery))
        .route("/secapi/pay/reverse", post(reverse))
        .route("/pay/unifiedorder", post(unifiedorder))
        .route("/pay/closeorder", post(closeorder))
        .route("/secapi/pay/refund", post(refund))
        .route("/pay/refundquery", post(refundquery))
        .route("/pay/downloadbill", post(downloadbill))
}

// ---------------------------------------------------------------- set-up

/// The WeChat Pay credentials of a running sandbox.
pub struct Setup {
    pub appid: String,
    pub mch_id: String,
    api_key: String,
    rng: Mutex<fastrand::Rng>,
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("wechat::Setup")
            .field("appid", &self.appid)
            .field("mch_id", &self.mch_id)
            .finish_non_exhaustive()
    }
}

impl Setup {
    pub fn new(opts: &SandboxOptions) -> Result<Setup, String> {
        if opts.wechat_api_key.is_empty() {
            return Err("the WeChat Pay API key is empty".to_owned());
        }
        Ok(Setup {
            appid: opts.wechat_appid.clone(),
            mch_id: opts.wechat_mch_id.clone(),
            api_key: opts.wechat_api_key.clone(),
            rng: Mutex::new(fastrand::Rng::new()),
        })
    }

    fn nonce(&self) -> String {
        sign::new_nonce(&mut self.rng.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

// ---------------------------------------------------------------- XML

/// The fields of a WeChat Pay v2 XML body: `<xml>` holding flat `<name>value</name>` children
/// (text, CDATA, XML's five entities and character references). Refused: a DOCTYPE (so no entity
/// can be declared: no XXE), any other entity reference, nested elements, a field given twice,
/// anything beside the one `<xml>` element, and a body that is not UTF-8.
pub fn parse_xml(body: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "XML不是UTF-8编码".to_owned())?;
    let mut reader = quick_xml::Reader::from_str(text);
    let malformed = |why: &str| format!("XML格式错误: {why}");
    let mut fields = BTreeMap::new();
    // Where the reader is: before `<xml>`, inside it, inside one field, after `</xml>`.
    enum At {
        Before,
        Root,
        Field(String, String),
        After,
    }
    let mut at = At::Before;
    loop {
        let event = reader.read_event().map_err(|e| malformed(&e.to_string()))?;
        at = match (at, event) {
            (_, Event::DocType(_)) => return Err("XML不能包含DOCTYPE".to_owned()),
            (_, Event::PI(_)) => return Err(malformed("processing instruction")),
            (at @ (At::Before | At::Root | At::After), Event::Decl(_) | Event::Comment(_)) => at,
            (At::Before, Event::Start(e)) if e.name().as_ref() == "xml" => At::Root,
            (At::Before, Event::Empty(e)) if e.name().as_ref() == "xml" => At::After,
            (At::Root, Event::Start(e)) => At::Field(e.name().as_ref().to_owned(), String::new()),
            (At::Root, Event::Empty(e)) => {
                insert_field(&mut fields, e.name().as_ref().to_owned(), String::new())?;
                At::Root
            }
            (At::Root, Event::End(_)) => At::After,
            (At::Field(name, mut value), Event::Text(t)) => {
                value.push_str(&t.xml10_content());
                At::Field(name, value)
            }
            (At::Field(name, mut value), Event::CData(c)) => {
                value.push_str(&c);
                At::Field(name, value)
            }
            (At::Field(name, mut value), Event::GeneralRef(r)) => {
                value.push(resolve_reference(&r)?);
                At::Field(name, value)
            }
            (At::Field(name, value), Event::Comment(_)) => At::Field(name, value),
            (At::Field(name, value), Event::End(_)) => {
                insert_field(&mut fields, name, value)?;
                At::Root
            }
            (At::Field(..), Event::Start(_) | Event::Empty(_)) => return Err(malformed("nested element")),
            (at @ (At::Before | At::Root | At::After), Event::Text(t)) if t.trim().is_empty() => at,
            (At::After, Event::Eof) => return Ok(fields),
            (_, Event::Eof) => return Err(malformed("unexpected end")),
            (_, _) => return Err(malformed("unexpected content")),
        };
    }
}

fn insert_field(fields: &mut BTreeMap<String, String>, name: String, value: String) -> Result<(), String> {
    if fields.contains_key(&name) {
        return Err(format!("XML格式错误: {name}重复"));
    }
    fields.insert(name, value);
    Ok(())
}

/// XML's five entities and character references; anything else is refused, never expanded.
fn resolve_reference(r: &quick_xml::events::BytesRef) -> Result<char, String> {
    if let Some(c) = r.resolve_char_ref().map_err(|e| format!("XML格式错误: {e}"))? {
        return Ok(c);
    }
    match &**r {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        other => Err(format!("XML不能引用实体: {other}")),
    }
}

/// `<xml><k><![CDATA[v]]></k>…</xml>`, in the order given.
pub fn to_xml<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::from("<xml>");
    for (name, value) in fields {
        // A `]]>` inside a value ends one CDATA section and opens another.
        let value = value.replace("]]>", "]]]]><![CDATA[>");
        out.push_str(&format!("<{name}><![CDATA[{value}]]></{name}>"));
    }
    out.push_str("</xml>");
    out
}

fn xml_response(body: String) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml; charset=utf-8"));
    resp
}

// ---------------------------------------------------------------- replies

/// What a call that was taken answers.
enum Outcome {
    Success(Vec<(&'static str, String)>),
    Fail { code: &'static str, des: String, fields: Vec<(&'static str, String)> },
}

fn fail(code: &'static str, des: &str) -> Outcome {
    Outcome::Fail { code, des: des.to_owned(), fields: Vec::new() }
}

fn param_error(des: &str) -> Outcome {
    fail("PARAM_ERROR", des)
}

/// `return_code FAIL`: the request was not taken; unsigned.
fn not_taken(msg: &str) -> Response {
    tracing::info!("wechat: request not taken: {msg}");
    xml_response(to_xml([("return_code", "FAIL"), ("return_msg", msg)]))
}

/// The XML of a reply that took the request, signed with the request's algorithm.
fn reply_body(app: &App, ty: WechatSignType, outcome: Outcome) -> String {
    let wx = &app.wechat;
    let mut fields: Vec<(&str, String)> = vec![
        ("return_code", "SUCCESS".to_owned()),
        ("return_msg", "OK".to_owned()),
        ("appid", wx.appid.clone()),
        ("mch_id", wx.mch_id.clone()),
        ("nonce_str", wx.nonce()),
    ];
    match outcome {
        Outcome::Success(more) => {
            fields.push(("result_code", "SUCCESS".to_owned()));
            fields.extend(more);
        }
        Outcome::Fail { code, des, fields: more } => {
            fields.push(("result_code", "FAIL".to_owned()));
            fields.push(("err_code", code.to_owned()));
            fields.push(("err_code_des", des));
            fields.extend(more);
        }
    }
    if ty == WechatSignType::HmacSha256 {
        fields.push(("sign_type", ty.name().to_owned()));
    }
    let signature = ty.sign(fields.iter().map(|(k, v)| (*k, v.as_str())), &wx.api_key);
    fields.push(("sign", signature));
    to_xml(fields.iter().map(|(k, v)| (*k, v.as_str())))
}

fn reply(app: &App, ty: WechatSignType, outcome: Outcome) -> Response {
    xml_response(reply_body(app, ty, outcome))
}

// ---------------------------------------------------------------- requests

/// A request that passed the communication layer.
struct Req {
    fields: BTreeMap<String, String>,
    ty: WechatSignType,
}

impl Req {
    fn opt(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    fn need(&self, name: &str) -> Result<&str, Outcome> {
        self.opt(name).ok_or_else(|| param_error(&format!("缺少参数{name}")))
    }

    fn order_no(&self, name: &str) -> Result<&str, Outcome> {
        let no = self.need(name)?;
        if valid_order_no(no) {
            Ok(no)
        } else {
            Err(param_error(&format!("{name}格式错误")))
        }
    }

    fn fen(&self, name: &str) -> Result<i64, Outcome> {
        parse_fen(self.need(name)?).ok_or_else(|| param_error(&format!("{name}必须是正整数（分）")))
    }
}

/// Parses and authenticates a request; the error is the whole reply (`return_code FAIL`, or a
/// signed `APPID_MCHID_NOT_MATCH`).
fn accept(app: &App, body: &[u8]) -> Result<Req, Box<Response>> {
    let fields = parse_xml(body).map_err(|msg| Box::new(not_taken(&msg)))?;
    let present = |name: &str| fields.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let ty = WechatSignType::named(present("sign_type")).ok_or_else(|| Box::new(not_taken("sign_type参数错误")))?;
    for name in ["appid", "mch_id", "nonce_str", "sign"] {
        if present(name).is_none() {
            return Err(Box::new(not_taken(&format!("缺少参数{name}"))));
        }
    }
    let expected = ty.sign(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())), &app.wechat.api_key);
    if present("sign") != Some(expected.as_str()) {
        return Err(Box::new(not_taken("签名错误")));
    }
    if present("nonce_str").is_some_and(|n| n.len() > 32) {
        return Err(Box::new(not_taken("nonce_str参数长度有误")));
    }
    if present("appid") != Some(app.wechat.appid.as_str()) || present("mch_id") != Some(app.wechat.mch_id.as_str()) {
        return Err(Box::new(reply(app, ty, fail("APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配"))));
    }
    Ok(Req { fields, ty })
}

/// Runs a call: accept, then `f`, which answers an outcome (an `Err` is a refusal).
fn handle(app: &App, body: &[u8], f: impl FnOnce(&App, &Req) -> Result<Outcome, Outcome>) -> Response {
    match accept(app, body) {
        Ok(req) => {
            let outcome = f(app, &req).unwrap_or_else(|refusal| refusal);
            reply(app, req.ty, outcome)
        }
        Err(resp) => *resp,
    }
}

// ---------------------------------------------------------------- numbers and states

/// WeChat-style transaction id: `4200`, date, 16 digits (28 digits).
fn transaction_id(now: i64, seq: u64) -> String {
    format!("4200{}{seq:016}", channel_stamp(now, "%Y%m%d"))
}

fn new_order(app: &App, req: &Req, no: &str, amount_fen: i64, kind: OrderKind, now: i64, seq: u64) -> Order {
    let id = transaction_id(now, seq);
    let body = req.opt("body").unwrap_or("商品");
    let mut order = Order::new(CHANNEL, no, &app.wechat.mch_id, body, amount_fen, kind, id.clone(), id, now);
    order.extra.insert(SIGN_TYPE.to_owned(), req.ty.name().to_owned());
    order
}

/// `trade_state` of an order, and its description.
fn trade_state(order: &Order) -> (&'static str, &'static str) {
    match order.status {
        OrderStatus::Pending if order.is_page() => ("NOTPAY", "订单未支付"),
        OrderStatus::Pending => ("USERPAYING", "用户支付中"),
        OrderStatus::Paid if order.extra(REVERSED) == "1" => ("REVOKED", "已撤销"),
        OrderStatus::Paid if order.refunded_fen > 0 => ("REFUND", "转入退款"),
        OrderStatus::Paid => ("SUCCESS", "支付成功"),
        // A micropay order the wallet gave up (ending 90) was auto-revoked.
        OrderStatus::Closed if order.close_reason == Some(CloseReason::Revoked) || !order.is_page() => {
            ("REVOKED", "已撤销")
        }
        OrderStatus::Closed => ("CLOSED", "已关闭"),
        OrderStatus::Failed => ("PAYERROR", "支付失败，请撤销订单"),
    }
}

/// The fields of a paid order, as micropay, orderquery and the notify give them.
fn paid_fields(order: &Order, amount_fen: i64, trade_type: &str) -> Vec<(&'static str, String)> {
    vec![
        ("openid", OPENID.to_owned()),
        ("is_subscribe", "N".to_owned()),
        ("trade_type", trade_type.to_owned()),
        ("bank_type", "OTHERS".to_owned()),
        ("fee_type", "CNY".to_owned()),
        ("total_fee", amount_fen.to_string()),
        ("cash_fee", amount_fen.to_string()),
        ("transaction_id", order.transaction_id.clone()),
        ("out_trade_no", order.order_no.clone()),
        ("time_end", stamp(order.paid_ms.unwrap_or(order.created_ms))),
    ]
}

fn trade_type(order: &Order) -> &'static str {
    if order.api == API_NATIVE {
        "NATIVE"
    } else {
        "MICROPAY"
    }
}

fn not_exist() -> Outcome {
    fail("ORDERNOTEXIST", "此交易订单号不存在")
}

fn order_paid() -> Outcome {
    fail("ORDERPAID", "该订单已支付")
}

/// A second micropay or unifiedorder with a number already used.
fn repeat_of(order: &Order) -> Outcome {
    match order.status {
        OrderStatus::Paid => order_paid(),
        OrderStatus::Pending if !order.is_page() => fail("USERPAYING", "需要用户输入支付密码"),
        _ => fail("OUT_TRADE_NO_USED", "商户订单号重复"),
    }
}

// ---------------------------------------------------------------- micropay

async fn micropay(State(app): State<Arc<App>>, Extension(ctl): Extension<ConnCtl>, body: Bytes) -> Response {
    let req = match accept(&app, &body) {
        Ok(req) => req,
        Err(resp) => return *resp,
    };
    let read = (|| {
        req.need("body")?;
        req.need("spbill_create_ip")?;
        Ok::<_, Outcome>((req.order_no("out_trade_no")?, req.fen("total_fee")?, req.need("auth_code")?))
    })();
    let (no, amount_fen, auth_code) = match read {
        Ok(v) => v,
        Err(refusal) => return reply(&app, req.ty, refusal),
    };
    // A code of no WeChat wallet fails like scenario 92.
    let scenario = match wallet_of(auth_code) {
        Some("WECHAT") => Scenario::from_code(auth_code),
        _ => Scenario::InvalidCode,
    };
    let outcome = app.store.with(|st, now| {
        if let Some(existing) = st.order(CHANNEL, no) {
            return Err(repeat_of(existing));
        }
        // Insufficient funds and an unreadable code make no order.
        match scenario {
            Scenario::InsufficientFunds => return Err(fail("NOTENOUGH", "余额不足")),
            Scenario::InvalidCode => {
                return Err(fail("AUTH_CODE_INVALID", "请扫描微信支付授权码(以10/11/12/13/14/15为前缀的18位数字)"))
            }
            _ => {}
        }
        let seq = st.next_seq();
        let mut order = new_order(&app, &req, no, amount_fen, OrderKind::Barcode { scenario }, now, seq);
        order.api = API_MICROPAY.to_owned();
        if auth_code.ends_with("89") {
            order.extra.insert(RETRY_REVERSE.to_owned(), "1".to_owned());
        }
        Ok(st.start_barcode(order, now))
    });
    let outcome = outcome.map_err(|refusal| reply(&app, req.ty, refusal));
    let (order, delivery) = match faults::started(&app, &ctl, "wechat micropay", no, outcome).await {
        Ok(started) => started,
        Err(resp) => return resp,
    };
    let answer = match (order.status, order.fail) {
        (OrderStatus::Paid, _) => Outcome::Success(paid_fields(&order, order.amount_fen, "MICROPAY")),
        (OrderStatus::Pending, _) => fail("USERPAYING", "需要用户输入支付密码"),
        (_, Some(FailReason::InsufficientFunds)) => fail("NOTENOUGH", "余额不足"),
        (_, _) => fail("TRADE_ERROR", "交易错误"),
    };
    match delivery {
        // Scenario 95 on WeChat: charged, and the reply says the system timed out (signed, HTTP 200).
        Delivery::ServerError => reply(&app, req.ty, fail("SYSTEMERROR", "系统超时")),
        delivery => faults::deliver(delivery, &ctl, reply(&app, req.ty, answer)).await,
    }
}

// ---------------------------------------------------------------- orderquery, reverse, close

async fn orderquery(State(app): State<Arc<App>>, body: Bytes) -> Response {
    handle(&app, &body, |app, req| {
        let no = req.order_no("out_trade_no")?;
        let found = app.store.with(|st, now| match st.order(CHANNEL, no) {
            Some(_) => st.query(CHANNEL, no, now),
            None => None,
        });
        let order = found.ok_or_else(not_exist)?;
        let (state, desc) = trade_state(&order);
        let mut fields = vec![("trade_state", state.to_owned()), ("trade_state_desc", desc.to_owned())];
        if order.paid_ms.is_some() {
            fields.extend(paid_fields(&order, order.amount_fen, trade_type(&order)));
        } else {
            fields.push(("out_trade_no", order.order_no.clone()));
            fields.push(("total_fee", order.amount_fen.to_string()));
        }
        Ok(Outcome::Success(fields))
    })
}

/// The number the refund of a reversed paid order is recorded under.
pub(crate) fn reverse_no(no: &str) -> String {
    format!("{no}-reverse")
}

async fn reverse(State(app): State<Arc<App>>, body: Bytes) -> Response {
    handle(&app, &body, |app, req| {
        let no = req.order_no("out_trade_no")?;
        let retry = app.store.with(|st, now| {
            if st.order(CHANNEL, no).is_none() {
                return false;
            }
            if st.take_flag(CHANNEL, no, RETRY_REVERSE) {
                return true;
            }
            if let Some((order, _)) = st.revoke(CHANNEL, no, &reverse_no(no), now) {
                if order.status == OrderStatus::Paid {
                    st.set_flag(CHANNEL, no, REVERSED);
                }
                tracing::info!(order_no = no, status = ?order.status, "wechat reverse");
            }
            false
        });
        if retry {
            return Err(Outcome::Fail {
                code: "SYSTEMERROR",
                des: "系统错误，请重试".to_owned(),
                fields: vec![("recall", "Y".to_owned())],
            });
        }
        Ok(Outcome::Success(vec![("recall", "N".to_owned())]))
    })
}

async fn closeorder(State(app): State<Arc<App>>, body: Bytes) -> Response {
    handle(&app, &body, |app, req| {
        let no = req.order_no("out_trade_no")?;
        match app.store.with(|st, now| st.close_order(CHANNEL, no, now, CloseReason::Closed)) {
            Ok(order) => {
                tracing::info!(order_no = no, status = ?order.status, "wechat closeorder");
                Ok(Outcome::Success(Vec::new()))
            }
            Err(CloseRefusal::NotFound) => Err(fail("ORDERNOTEXIST", "订单不存在")),
            Err(CloseRefusal::AlreadyPaid) => Err(order_paid()),
        }
    })
}

// ---------------------------------------------------------------- unifiedorder (NATIVE)

async fn unifiedorder(State(app): State<Arc<App>>, body: Bytes) -> Response {
    handle(&app, &body, |app, req| {
        req.need("body")?;
        req.need("spbill_create_ip")?;
        let no = req.order_no("out_trade_no")?;
        let amount_fen = req.fen("total_fee")?;
        let notify_url = req.need("notify_url")?;
        if req.need("trade_type")? != "NATIVE" {
            return Err(param_error("trade_type仅支持NATIVE"));
        }
        req.need("product_id")?;
        let until = match req.opt("time_expire") {
            None => None,
            Some(text) => Some(parse_stamp(text).ok_or_else(|| param_error("time_expire格式错误（yyyyMMddHHmmss）"))?),
        };
        if declined_amount(amount_fen) {
            return Err(fail("NOAUTH", "商户无此接口权限"));
        }
        let lifetime = app.sandbox_minutes(DEFAULT_NATIVE_MINUTES);
        let created = app.store.with(|st, now| {
            if let Some(existing) = st.order(CHANNEL, no) {
                let same = existing.api == API_NATIVE
                    && existing.status == OrderStatus::Pending
                    && existing.amount_fen == amount_fen;
                return if same { Ok(existing.clone()) } else { Err(repeat_of(existing)) };
            }
            let expires = until.unwrap_or(now.saturating_add(lifetime));
            if expires <= now {
                return Err(param_error("time_expire时间过短"));
            }
            let seq = st.next_seq();
            let kind = OrderKind::Page { page: API_NATIVE.to_owned() };
            let mut order = new_order(app, req, no, amount_fen, kind, now, seq);
            order.api = API_NATIVE.to_owned();
            order.expires_ms = Some(expires);
            order.notify_url = Some(notify_url.to_owned());
            order.extra.insert(PREPAY_ID.to_owned(), format!("wx{}{seq:020}", stamp(now)));
            st.insert_page_order(order.clone());
            Ok(order)
        })?;
        tracing::info!(order_no = no, amount = %format_yuan(amount_fen), "wechat unifiedorder NATIVE");
        Ok(Outcome::Success(vec![
            ("trade_type", "NATIVE".to_owned()),
            ("prepay_id", created.extra(PREPAY_ID).to_owned()),
            ("code_url", app.page_url(&created.order_no)),
        ]))
    })
}

// ---------------------------------------------------------------- refunds

/// Extra values of an order, per refund number.
pub(crate) fn refund_id_key(refund_no: &str) -> String {
    format!("refund_id/{refund_no}")
}

fn refund_pending_key(refund_no: &str) -> String {
    format!("refund_pending/{refund_no}")
}

async fn refund(State(app): State<Arc<App>>, body: Bytes) -> Response {
    handle(&app, &body, |app, req| {
        let no = req.order_no("out_trade_no")?;
        let refund_no = req.order_no("out_refund_no")?;
        let total_fee = req.fen("total_fee")?;
        let refund_fee = req.fen("refund_fee")?;
        let done = app.store.with(|st, now| {
            let order = st.order(CHANNEL, no).ok_or_else(not_exist)?;
            if order.amount_fen != total_fee {
                return Err(param_error("订单金额total_fee与原订单不一致"));
            }
            let (record, new) = st
                .refund_numbered(RefundScope::Channel, CHANNEL, no, refund_no, refund_fee, now)
                .map_err(|r| match r {
                    RefundRefusal::NotFound => not_exist(),
                    RefundRefusal::NotPaid => fail("TRADE_STATE_ERROR", "订单状态错误"),
                    RefundRefusal::Exceeds { .. } => fail("ERROR", "申请退款金额超过订单可退金额"),
                    RefundRefusal::NumberReused => param_error("退款单号已用于其他订单或金额"),
                })?;
            if new {
                let seq = st.next_seq();
                let id = format!("5030{}{seq:017}", channel_stamp(now, "%Y%m%d"));
                st.set_extra(CHANNEL, no, &refund_id_key(refund_no), &id);
                match refund_fee % 100 {
                    // The sandbox's refund scenarios: processing for one query, or given up.
                    97 => st.set_flag(CHANNEL, no, &refund_pending_key(refund_no)),
                    95 | 96 => st.fail_refund(CHANNEL, no, refund_no),
                    _ => {}
                }
            }
            let order = st.order(CHANNEL, no).cloned().ok_or_else(not_exist)?;
            Ok((record, new, order))
        })?;
        let (record, new, order) = done;
        tracing::info!(order_no = no, refund_no, amount = %format_yuan(record.amount_fen), new, "wechat refund");
        Ok(Outcome::Success(vec![
            ("transaction_id", order.transaction_id.clone()),
            ("out_trade_no", order.order_no.clone()),
            ("out_refund_no", record.refund_no.clone()),
            ("refund_id", order.extra(&refund_id_key(refund_no)).to_owned()),
            ("refund_fee", record.amount_fen.to_string()),
            ("total_fee", order.amount_fen.to_string()),
            ("cash_fee", order.amount_fen.to_string()),
        ]))
    })
}

async fn refundquery(State(app): State<Arc<App>>, body: Bytes) -> Response {
    handle(&app, &body, |app, req| {
        let refund_no = req.need("out_refund_no")?;
        let found = app.store.with(|st, _| {
            let (record, fate) = st.find_refund(CHANNEL, None, refund_no).map(|(r, f)| (r.clone(), f))?;
            let order = st.order(CHANNEL, &record.order_no)?.clone();
            let processing =
                fate == RefundFate::Returned && st.take_flag(CHANNEL, &record.order_no, &refund_pending_key(refund_no));
            Some((record, fate, order, processing))
        });
        let (record, fate, order, processing) = found.ok_or_else(|| fail("REFUNDNOTEXIST", "退款订单查询失败"))?;
        let status = match fate {
            RefundFate::Returned if processing => "PROCESSING",
            RefundFate::Returned => "SUCCESS",
            RefundFate::Failed if record.amount_fen % 100 == 96 => "CHANGE",
            RefundFate::Failed => "REFUNDCLOSE",
        };
        let mut fields = vec![
            ("out_trade_no", order.order_no.clone()),
            ("transaction_id", order.transaction_id.clone()),
            ("total_fee", order.amount_fen.to_string()),
            ("cash_fee", order.amount_fen.to_string()),
            ("refund_count", "1".to_owned()),
            ("out_refund_no_0", record.refund_no.clone()),
            ("refund_id_0", order.extra(&refund_id_key(refund_no)).to_owned()),
            ("refund_fee_0", record.amount_fen.to_string()),
            ("refund_status_0", status.to_owned()),
        ];
        if status == "SUCCESS" {
            fields.push(("refund_success_time_0", channel_stamp(record.at_ms, "%Y-%m-%d %H:%M:%S")));
        }
        Ok(Outcome::Success(fields))
    })
}

// ---------------------------------------------------------------- statements

/// `/pay/downloadbill`: the ALL trade bill of one day (`yyyyMMdd`) as text, or `return_code
/// FAIL`: `No Bill Exist` before the day is billed (T+1) or when it had no trade. Only
/// `bill_type ALL` (the default) is served, and only as plain text (no `tar_type`).
async fn downloadbill(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let req = match accept(&app, &body) {
        Ok(req) => req,
        Err(resp) => return *resp,
    };
    if req.opt("bill_type").is_some_and(|t| t != "ALL") {
        return not_taken("invalid bill_type");
    }
    if req.opt("tar_type").is_some() {
        return not_taken("invalid tar_type");
    }
    let Some(day) = req.opt("bill_date").and_then(|d| crate::bills::parse_day(d, "%Y%m%d")) else {
        return not_taken("invalid bill_date");
    };
    match crate::bills::wechat_bill(&app, day) {
        Some(text) => {
            let mut resp = (StatusCode::OK, text).into_response();
            resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain;charset=utf-8"));
            resp
        }
        None => not_taken("No Bill Exist"),
    }
}

// ---------------------------------------------------------------- notify

/// The XML notify of a paid NATIVE order, signed with the order's algorithm (MD5 unless it was
/// created with HMAC-SHA256); `bad_signature` spoils the signature.
pub fn notify_body(app: &App, order: &Order, amount_fen: i64, bad_signature: bool) -> Vec<u8> {
    let wx = &app.wechat;
    let ty = WechatSignType::named(Some(order.extra(SIGN_TYPE))).unwrap_or_default();
    let mut fields: Vec<(&str, String)> = vec![
        ("return_code", "SUCCESS".to_owned()),
        ("appid", wx.appid.clone()),
        ("mch_id", wx.mch_id.clone()),
        ("nonce_str", wx.nonce()),
        ("result_code", "SUCCESS".to_owned()),
    ];
    fields.extend(paid_fields(order, amount_fen, "NATIVE"));
    let mut signature = ty.sign(fields.iter().map(|(k, v)| (*k, v.as_str())), &wx.api_key);
    if bad_signature {
        signature = sign::spoil_hex(&signature);
    }
    fields.push(("sign", signature));
    to_xml(fields.iter().map(|(k, v)| (*k, v.as_str()))).into_bytes()
}

/// Whether the merchant acknowledged a notify: HTTP 200 and XML whose `return_code` is `SUCCESS`.
pub fn acknowledged(status: u16, body: &[u8]) -> bool {
    status == 200 && parse_xml(body).is_ok_and(|f| f.get("return_code").is_some_and(|c| c == "SUCCESS"))
}

/// A reply with its `sign` spoiled (the `badSignature` fault); `None` if it carries none.
pub fn spoil_reply(body: &[u8]) -> Option<Vec<u8>> {
    const OPEN: &str = "<sign><![CDATA[";
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find(OPEN)? + OPEN.len();
    let len = text.get(start..)?.find("]]>")?;
    let signature = text.get(start..start + len)?;
    Some(format!("{}{}{}", &text[..start], sign::spoil_hex(signature), &text[start + len..]).into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn reads_flat_xml() {
        let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xml>\n  <appid><![CDATA[wx1]]></appid>\n  \
                    <total_fee>100</total_fee><body>a &amp; b &#x4E2D;<![CDATA[<x>]]></body><empty/><e></e>\
                    <!-- note --></xml>\n";
        assert_eq!(
            parse_xml(body.as_bytes()),
            Ok(fields(&[("appid", "wx1"), ("total_fee", "100"), ("body", "a & b 中<x>"), ("empty", ""), ("e", "")]))
        );
        let round = to_xml([("a", "x]]>y"), ("b", "<&>")]);
        assert_eq!(parse_xml(round.as_bytes()), Ok(fields(&[("a", "x]]>y"), ("b", "<&>")])));
        assert_eq!(parse_xml(b"<xml/>"), Ok(BTreeMap::new()));
    }

    #[test]
    fn refuses_what_is_not_flat_xml() {
        let xxe =
            r#"<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><a>&x;</a></xml>"#;
        assert_eq!(parse_xml(xxe.as_bytes()), Err("XML不能包含DOCTYPE".to_owned()));
        for bad in [
            "<xml><a>&x;</a></xml>",
            "<xml><a><b>1</b></a></xml>",
            "<xml><a>1</a><a>2</a></xml>",
            "<xml><a>1</a></xml><xml/>",
            "<other><a>1</a></other>",
            "<xml><a>1</a>",
            "<xml><a>1</b></xml>",
            "<xml>text<a>1</a></xml>",
            "<xml><?pi x?><a>1</a></xml>",
            "{\"a\":1}",
            "",
            "<xml><a>&#0;</a></xml>",
        ] {
            assert!(parse_xml(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(parse_xml(b"<xml><a>\xff</a></xml>").is_err());
    }

    #[test]
    fn acknowledgements() {
        assert!(acknowledged(200, NOTIFY_ACK.as_bytes()));
        assert!(acknowledged(200, b"<xml><return_code>SUCCESS</return_code></xml>"));
        assert!(!acknowledged(200, b"<xml><return_code>FAIL</return_code></xml>"));
        assert!(!acknowledged(500, NOTIFY_ACK.as_bytes()));
        assert!(!acknowledged(200, b"success"));
    }

    #[test]
    fn spoiling_changes_only_the_sign() {
        let body = to_xml([("a", "1"), ("sign", "ABCD")]);
        let spoiled = String::from_utf8(spoil_reply(body.as_bytes()).unwrap_or_default()).unwrap_or_default();
        assert_eq!(spoiled, to_xml([("a", "1"), ("sign", "0BCD")]));
        assert_eq!(spoil_reply(b"<xml></xml>"), None);
    }
}
