//! The `abc` channel: the ABC bank (农行) integrated-cashier service for Alipay
//! (seed 004). Wire format exactly as the seed: JSON, camelCase, amounts in yuan as
//! JSON numbers with two decimals.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::faults;
use crate::money::{format_yuan, parse_yuan, Yuan};
use crate::server::ConnCtl;
use crate::state::{channel_stamp, ms, FailReason, Order, OrderKind, OrderStatus, RefundRefusal, Scenario};
use crate::{json_response, App};

pub const CHANNEL: &str = "abc";

const PARAM_ERROR: &str = "PARAM_ERROR";
const MISSING_DESC: &str = "AP7346";
const USER_PAYING: &str = "1002";
const ORDER_NOT_FOUND: &str = "ORDER_NOT_FOUND";
const STAMP: &str = "%Y-%m-%dT%H:%M:%S";
const DEFAULT_EXPIRE_MINUTES: i64 = 30;
/// The longest `expiredDate` accepted (one day).
const MAX_EXPIRE_MINUTES: i64 = 1440;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/api/payment/alipay/qrcode", post(qrcode))
        .route("/api/payment/alipay/wap", post(wap))
        .route("/api/payment/alipay/pc", post(pc))
        .route("/api/payment/alipay/app", post(app_pay))
        .route("/api/payment/alipay/barcode", post(barcode))
        .route("/api/payment/alipay/query/{order_no}", get(query))
        .route("/api/payment/alipay/refund", post(refund))
}

// ---------------------------------------------------------------- wire types

/// The body of every create call (`qrcode`, `wap`, `pc`, `app`, `barcode`).
/// Unknown fields are ignored; a known field of the wrong type is a PARAM_ERROR.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PayRequest {
    order_no: Option<String>,
    amount: Option<Box<RawValue>>,
    merchant_id: Option<String>,
    goods_name: Option<String>,
    #[allow(dead_code)]
    notify_url: Option<String>,
    expired_date: Option<String>,
    return_url: Option<String>,
    #[allow(dead_code)]
    quit_url: Option<String>,
    auth_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefundRequest {
    order_no: Option<String>,
    refund_amount: Option<Box<RawValue>>,
    #[allow(dead_code)]
    refund_reason: Option<String>,
    merchant_id: Option<String>,
}

/// Every reply of the service; absent fields are left out.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Reply {
    is_success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qr_code_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_string: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    third_order_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refund_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<Yuan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refund_amount: Option<Yuan>,
    status: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pay_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expire_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refund_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'static str>,
}

/// A refused call: `{"isSuccess":false,"status":"FAILED","errorCode",…}`.
#[derive(Debug)]
struct Refused {
    http: StatusCode,
    order_no: Option<String>,
    code: &'static str,
    message: String,
}

impl Refused {
    fn new(http: StatusCode, order_no: Option<&str>, code: &'static str, message: &str) -> Self {
        Refused { http, order_no: order_no.map(str::to_owned), code, message: message.to_owned() }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        json_response(
            self.http,
            &Reply {
                is_success: false,
                order_no: self.order_no,
                status: "FAILED",
                message: self.message,
                error_code: Some(self.code),
                ..Reply::default()
            },
        )
    }
}

fn error(http: StatusCode, order_no: Option<&str>, code: &'static str, message: &str) -> Response {
    Refused::new(http, order_no, code, message).into_response()
}

fn param_refused(order_no: Option<&str>, message: &str) -> Refused {
    Refused::new(StatusCode::BAD_REQUEST, order_no, PARAM_ERROR, message)
}

fn param_error(order_no: Option<&str>, message: &str) -> Response {
    param_refused(order_no, message).into_response()
}

fn fail_code(reason: FailReason) -> (&'static str, &'static str) {
    match reason {
        FailReason::InsufficientFunds => ("BALANCE_NOT_ENOUGH", "余额不足"),
        FailReason::InvalidCode => ("AUTHCODE_INVALID", "付款码无效"),
        FailReason::UserCancelled => ("USER_CANCELLED", "用户取消支付"),
    }
}

// ---------------------------------------------------------------- validation

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Qrcode,
    Wap,
    Pc,
    App,
    Barcode,
}

impl Call {
    fn name(self) -> &'static str {
        match self {
            Call::Qrcode => "qrcode",
            Call::Wap => "wap",
            Call::Pc => "pc",
            Call::App => "app",
            Call::Barcode => "barcode",
        }
    }
}

struct PayInput {
    order_no: String,
    merchant_id: String,
    goods_name: String,
    amount_fen: i64,
    expire_minutes: i64,
    return_url: Option<String>,
    auth_code: Option<String>,
}

/// A merchant order number: 1–32 ASCII letters or digits.
fn valid_order_no(s: &str) -> bool {
    (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// An Alipay payment code: 16–24 ASCII digits starting 25–30.
pub fn is_alipay_code(code: &str) -> bool {
    (16..=24).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_digit())
        && code.get(..2).and_then(|p| p.parse::<u8>().ok()).is_some_and(|p| (25..=30).contains(&p))
}

fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refused> {
    if !body.trim_ascii_start().starts_with(b"{") {
        return Err(param_refused(None, "请求格式错误"));
    }
    serde_json::from_slice(body).map_err(|e| {
        tracing::debug!("abc: bad request body: {e}");
        match e.classify() {
            serde_json::error::Category::Data => param_refused(None, "参数类型错误"),
            _ => param_refused(None, "请求格式错误"),
        }
    })
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.trim().is_empty())
}

fn parse_pay(body: &[u8], call: Call) -> Result<PayInput, Refused> {
    let req: PayRequest = parse_body(body)?;
    let order_no = match req.order_no {
        Some(no) if valid_order_no(&no) => no,
        Some(_) => return Err(param_refused(None, "订单号格式错误")),
        None => return Err(param_refused(None, "缺少订单号")),
    };
    let echo = Some(order_no.as_str());
    let merchant_id = non_empty(req.merchant_id).ok_or_else(|| param_refused(echo, "缺少商户号"))?;
    let amount_fen = req
        .amount
        .as_deref()
        .and_then(|raw| parse_yuan(raw.get()))
        .ok_or_else(|| param_refused(echo, "金额格式错误"))?;
    let goods_name = non_empty(req.goods_name)
        .ok_or_else(|| Refused::new(StatusCode::BAD_REQUEST, echo, MISSING_DESC, "缺少订单详情"))?;
    let expire_minutes = match req.expired_date {
        None => DEFAULT_EXPIRE_MINUTES,
        Some(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|m| (1..=MAX_EXPIRE_MINUTES).contains(m))
            .ok_or_else(|| param_refused(echo, "expiredDate格式错误"))?,
    };
    let return_url = non_empty(req.return_url);
    if matches!(call, Call::Wap | Call::Pc) && return_url.is_none() {
        return Err(param_refused(echo, "缺少returnUrl"));
    }
    let auth_code = if call == Call::Barcode {
        Some(non_empty(req.auth_code).ok_or_else(|| param_refused(echo, "缺少付款码"))?)
    } else {
        None
    };
    Ok(PayInput { order_no, merchant_id, goods_name, amount_fen, expire_minutes, return_url, auth_code })
}

// ---------------------------------------------------------------- numbers

fn transaction_id(now: i64, seq: u64) -> String {
    format!("ABC{}{seq:03}", channel_stamp(now, "%Y%m%d%H%M%S"))
}

/// Alipay-style trade number: date, `2200`, 16 digits (the `alipay` channel's too).
pub fn trade_no(now: i64, seq: u64) -> String {
    format!("{}2200{seq:016}", channel_stamp(now, "%Y%m%d"))
}

fn refund_no(now: i64, seq: u64) -> String {
    format!("RF{}{seq:03}", channel_stamp(now, "%Y%m%d%H%M%S"))
}

fn new_order(input: &PayInput, kind: OrderKind, now: i64, seq: u64) -> Order {
    Order::new(
        CHANNEL,
        &input.order_no,
        &input.merchant_id,
        &input.goods_name,
        input.amount_fen,
        kind,
        transaction_id(now, seq),
        trade_no(now, seq),
        now,
    )
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A plausible Alipay APP `orderString` (the sandbox signs nothing).
fn order_string(order: &Order, expire_minutes: i64) -> String {
    let biz = serde_json::json!({
        "out_trade_no": order.order_no,
        "total_amount": format_yuan(order.amount_fen),
        "subject": order.goods_name,
        "product_code": "QUICK_MSECURITY_PAY",
        "timeout_express": format!("{expire_minutes}m"),
    })
    .to_string();
    format!(
        "app_id=2021000000000000&biz_content={}&charset=utf-8&format=JSON\
         &method=alipay.trade.app.pay&sign_type=RSA2&timestamp={}&version=1.0&sign=SANDBOX",
        percent_encode(&biz),
        percent_encode(&channel_stamp(order.created_ms, "%Y-%m-%d %H:%M:%S")),
    )
}

// ---------------------------------------------------------------- create (page orders)

async fn qrcode(State(app): State<Arc<App>>, body: Bytes) -> Response {
    create_page(&app, &body, Call::Qrcode)
}

async fn wap(State(app): State<Arc<App>>, body: Bytes) -> Response {
    create_page(&app, &body, Call::Wap)
}

async fn pc(State(app): State<Arc<App>>, body: Bytes) -> Response {
    create_page(&app, &body, Call::Pc)
}

async fn app_pay(State(app): State<Arc<App>>, body: Bytes) -> Response {
    create_page(&app, &body, Call::App)
}

fn create_page(app: &App, body: &[u8], call: Call) -> Response {
    let input = match parse_pay(body, call) {
        Ok(input) => input,
        Err(refused) => return refused.into_response(),
    };
    if crate::state::declined_amount(input.amount_fen) {
        return error(StatusCode::OK, Some(&input.order_no), "TRADE_NOT_ALLOWED", crate::state::DECLINED_MSG);
    }
    let minute_ms = ms(app.store.rules.minute);
    let created = app.store.with(|st, now| {
        st.create_page_order(CHANNEL, &input.order_no, |seq| {
            let kind = OrderKind::Page { page: call.name().to_owned() };
            let mut order = new_order(&input, kind, now, seq);
            order.expires_ms = Some(now.saturating_add(input.expire_minutes.saturating_mul(minute_ms)));
            order.return_url.clone_from(&input.return_url);
            order
        })
    });
    let Some(order) = created else {
        return param_error(Some(&input.order_no), "订单号重复");
    };
    tracing::info!(
        order_no = %order.order_no,
        amount = %format_yuan(order.amount_fen),
        "abc {}: order created",
        call.name()
    );
    let page_url = app.page_url(&order.order_no);
    let mut reply = Reply {
        is_success: true,
        order_no: Some(order.order_no.clone()),
        transaction_id: Some(order.transaction_id.clone()),
        amount: Some(Yuan(order.amount_fen)),
        status: "PENDING",
        message: "支付订单创建成功".to_owned(),
        ..Reply::default()
    };
    match call {
        Call::Qrcode => {
            reply.qr_code_url = Some(page_url);
            reply.expire_time = order.expires_ms.map(|t| channel_stamp(t, STAMP));
        }
        // The seed's contradiction, kept: "SUCCESS" although nothing is paid yet.
        Call::Wap | Call::Pc => {
            reply.payment_url = Some(page_url);
            reply.status = "SUCCESS";
        }
        Call::App | Call::Barcode => {
            reply.order_string = Some(order_string(&order, input.expire_minutes));
        }
    }
    json_response(StatusCode::OK, &reply)
}

// ---------------------------------------------------------------- barcode

fn barcode_reply(order: &Order) -> Reply {
    let order_no = Some(order.order_no.clone());
    match (order.status, order.fail) {
        (OrderStatus::Paid, _) => Reply {
            is_success: true,
            order_no,
            transaction_id: Some(order.transaction_id.clone()),
            third_order_no: Some(order.trade_no.clone()),
            amount: Some(Yuan(order.amount_fen)),
            status: "SUCCESS",
            message: "支付成功".to_owned(),
            pay_time: order.paid_ms.map(|t| channel_stamp(t, STAMP)),
            ..Reply::default()
        },
        (OrderStatus::Pending, _) => Reply {
            is_success: false,
            order_no,
            status: "USERPAYING",
            message: "用户支付中，请轮询查询".to_owned(),
            error_code: Some(USER_PAYING),
            ..Reply::default()
        },
        (_, fail) => {
            let (code, message) = fail_code(fail.unwrap_or(FailReason::InvalidCode));
            Reply {
                is_success: false,
                order_no,
                status: "FAILED",
                message: message.to_owned(),
                error_code: Some(code),
                ..Reply::default()
            }
        }
    }
}

async fn barcode(State(app): State<Arc<App>>, Extension(ctl): Extension<ConnCtl>, body: Bytes) -> Response {
    let input = match parse_pay(&body, Call::Barcode) {
        Ok(input) => input,
        Err(refused) => return refused.into_response(),
    };
    let auth_code = input.auth_code.clone().unwrap_or_default();
    // A code that is not an Alipay payment code fails like scenario 92: a failed
    // order, nothing charged.
    let scenario = if is_alipay_code(&auth_code) { Scenario::from_code(&auth_code) } else { Scenario::InvalidCode };
    let outcome = app.store.with(|st, now| {
        st.create_barcode_order(CHANNEL, &input.order_no, now, |seq| {
            new_order(&input, OrderKind::Barcode { scenario }, now, seq)
        })
    });
    let outcome = outcome.ok_or_else(|| param_error(Some(&input.order_no), "订单号重复"));
    let (order, delivery) = match faults::started(&app, &ctl, "abc barcode", &input.order_no, outcome).await {
        Ok(started) => started,
        Err(resp) => return resp,
    };
    let resp = json_response(StatusCode::OK, &barcode_reply(&order));
    faults::deliver(delivery, &ctl, resp).await
}

// ---------------------------------------------------------------- query

async fn query(State(app): State<Arc<App>>, Path(order_no): Path<String>, headers: HeaderMap) -> Response {
    let merchant = headers.get("x-merchant-id").and_then(|v| v.to_str().ok()).unwrap_or("").trim().to_owned();
    let found = app.store.with(|st, now| match st.order(CHANNEL, &order_no) {
        Some(o) if o.merchant_id == merchant => st.query(CHANNEL, &order_no, now),
        _ => None,
    });
    let Some(order) = found else {
        return error(StatusCode::NOT_FOUND, Some(&order_no), ORDER_NOT_FOUND, "订单不存在");
    };
    let paid = order.status == OrderStatus::Paid;
    let fail = order.fail.map(fail_code);
    let reply = Reply {
        is_success: true,
        order_no: Some(order.order_no.clone()),
        transaction_id: Some(order.transaction_id.clone()),
        third_order_no: paid.then(|| order.trade_no.clone()),
        amount: Some(Yuan(order.amount_fen)),
        status: match order.status {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Paid => "SUCCESS",
            OrderStatus::Failed => "FAILED",
            OrderStatus::Closed => "CLOSED",
        },
        pay_time: order.paid_ms.map(|t| channel_stamp(t, STAMP)),
        message: fail.map_or("查询成功", |(_, m)| m).to_owned(),
        error_code: fail.map(|(c, _)| c),
        ..Reply::default()
    };
    json_response(StatusCode::OK, &reply)
}

// ---------------------------------------------------------------- refund

async fn refund(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let req: RefundRequest = match parse_body(&body) {
        Ok(req) => req,
        Err(refused) => return refused.into_response(),
    };
    let Some(order_no) = non_empty(req.order_no) else {
        return param_error(None, "缺少订单号");
    };
    let echo = Some(order_no.as_str());
    let Some(merchant_id) = non_empty(req.merchant_id) else {
        return param_error(echo, "缺少商户号");
    };
    let Some(amount_fen) = req.refund_amount.as_deref().and_then(|raw| parse_yuan(raw.get())) else {
        return param_error(echo, "金额格式错误");
    };
    let result = app.store.with(|st, now| match st.order(CHANNEL, &order_no) {
        Some(o) if o.merchant_id == merchant_id => st.refund(CHANNEL, &order_no, amount_fen, now, refund_no),
        _ => Err(RefundRefusal::NotFound),
    });
    match result {
        Ok(record) => {
            tracing::info!(
                order_no = %order_no,
                amount = %format_yuan(amount_fen),
                refund_no = %record.refund_no,
                "abc refund"
            );
            json_response(
                StatusCode::OK,
                &Reply {
                    is_success: true,
                    order_no: Some(order_no.clone()),
                    refund_no: Some(record.refund_no),
                    refund_amount: Some(Yuan(record.amount_fen)),
                    status: "SUCCESS",
                    message: "退款成功".to_owned(),
                    refund_time: Some(channel_stamp(record.at_ms, STAMP)),
                    ..Reply::default()
                },
            )
        }
        Err(RefundRefusal::NotFound) => error(StatusCode::NOT_FOUND, echo, ORDER_NOT_FOUND, "订单不存在"),
        // abc refunds carry no refund number of the merchant's.
        Err(RefundRefusal::NumberReused) => param_error(echo, "退款单号重复"),
        Err(RefundRefusal::NotPaid) => param_error(echo, "订单未支付，不能退款"),
        Err(RefundRefusal::Exceeds { refundable_fen }) => {
            param_error(echo, &format!("退款金额超过可退金额（可退 {}）", format_yuan(refundable_fen)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alipay_codes() {
        assert!(is_alipay_code("280123456789012345"));
        assert!(is_alipay_code("2501234567890123"));
        assert!(is_alipay_code("300123456789012345678901"));
        assert!(!is_alipay_code("310123456789012345"));
        assert!(!is_alipay_code("240123456789012345"));
        assert!(!is_alipay_code("134567890123456789"));
        assert!(!is_alipay_code("28012345678901"));
        assert!(!is_alipay_code("2801234567890123456789012"));
        assert!(!is_alipay_code("28012345678901234a"));
        assert!(!is_alipay_code("２８0123456789012345"));
    }

    #[test]
    fn order_numbers() {
        assert!(valid_order_no("ORD20260115001"));
        assert!(valid_order_no(&"A".repeat(32)));
        assert!(!valid_order_no(&"A".repeat(33)));
        assert!(!valid_order_no(""));
        assert!(!valid_order_no("ORD-1"));
        assert!(!valid_order_no("订单1"));
    }
}
