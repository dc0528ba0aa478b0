//! The `lakala` channel, backend mode (seeds 000, 001): the merchant backend that wraps
//! Lakala. `Authorization: Bearer <token>`; counter create/query/close, and the legacy
//! micropay/preorder calls. Replies `{"code":"000000","msg","resp_time","resp_data"}`,
//! unsigned. Seed 000 contradicts itself on following the legacy calls up (§1.2 "no query
//! needed", §2.1 polls); the backend here answers its one query, `counter/query`, for legacy
//! orders too, and a legacy micropay follows the whole scenario table through it. Also what
//! the direct mode (`lakala_direct.rs`) shares: the channel's numbers, wallets and counter orders.
//!
//! Orders of both modes live under the one channel `lakala` (one order-number space,
//! one truth); each remembers which call family made it (`Order::api`) and is only
//! found by the calls of that family.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Router};
use serde_json::{json, Map, Value};

use crate::faults;
use crate::money::format_yuan;
use crate::server::ConnCtl;
use crate::state::{channel_stamp, FailReason, Order, OrderKind, OrderStatus, Scenario};
use crate::wire::{parse_object, Bad, Fields};
use crate::{json_response, App};

pub const CHANNEL: &str = "lakala";

/// Call families (`Order::api`).
pub const API_BACKEND_COUNTER: &str = "backend-counter";
pub const API_BACKEND_LEGACY: &str = "backend-legacy";
pub const API_LABS: &str = "labs";
pub const API_CCSS: &str = "ccss";

/// `yyyyMMddHHmmss`, Beijing time.
pub const STAMP: &str = "%Y%m%d%H%M%S";

/// The payment methods of seed 001 (`payment_method`, `counter_param.pay_mode`).
pub const METHODS: [&str; 14] = [
    "ALIPAY",
    "WECHAT",
    "UNION",
    "CARD",
    "LKLAT",
    "QUICK_PAY",
    "EBANK",
    "UNION_CC",
    "BESTPAY",
    "HB_FQ",
    "UNION_FQ",
    "ONLINE_CARDLESS",
    "JDBT",
    "ALIPAY_HK",
];

/// How long a counter order stays open without `order_efficient_time`, and a preorder
/// QR, in sandbox minutes **[ours]**.
pub const DEFAULT_PAGE_MINUTES: i64 = 120;

/// How far in the past an `order_efficient_time` may be (clock skew) before it is refused.
const PAST_TOLERANCE_MS: i64 = 60_000;

const OK: &str = "000000";
const UNAUTHORIZED: &str = "UNAUTHORIZED";
const PARAM_ERROR: &str = "PARAM_ERROR";
const ORDER_EXISTS: &str = "ORDER_EXISTS";
pub const ORDER_NOT_EXIST: &str = "ORDER_NOT_EXIST";
pub const ORDER_PAID: &str = "ORDER_PAID";

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/api/v1/payment/lakala/counter/create", post(counter_create))
        .route("/api/v1/payment/lakala/counter/query", post(counter_query))
        .route("/api/v1/payment/lakala/counter/close", post(counter_close))
        .route("/api/v1/payment/lakala/micropay", post(legacy_micropay))
        .route("/api/v1/payment/lakala/preorder", post(legacy_preorder))
}

// ---------------------------------------------------------------- shared with direct mode

/// The wallet of a payment code: Alipay (16–24 digits starting 25–30), WeChat (18
/// digits starting 10–15), UnionPay (19 digits starting 62); `None` for anything else.
pub fn wallet_of(code: &str) -> Option<&'static str> {
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix: u8 = code.get(..2)?.parse().ok()?;
    match (prefix, code.len()) {
        (25..=30, 16..=24) => Some("ALIPAY"),
        (10..=15, 18) => Some("WECHAT"),
        (62, 19) => Some("UQRCODEPAY"),
        _ => None,
    }
}

/// The scenario of a payment code; a code of no known wallet fails like `92`.
pub fn scenario_of(code: &str) -> Scenario {
    match wallet_of(code) {
        Some(_) => Scenario::from_code(code),
        None => Scenario::InvalidCode,
    }
}

/// Lakala's own trade number: date and 14 digits.
pub fn trade_no(now: i64, seq: u64) -> String {
    format!("{}{seq:014}", channel_stamp(now, "%Y%m%d"))
}

/// Lakala's 14-digit log number.
pub fn log_no(seq: u64) -> String {
    format!("66{seq:012}")
}

/// The counter's 29-digit order number.
pub fn pay_order_no(now: i64, seq: u64) -> String {
    format!("{}{seq:017}", channel_stamp(now, "%y%m%d%H%M%S"))
}

/// The wallet's trade number, in its own style.
pub fn wallet_trade_no(method: &str, now: i64, seq: u64) -> String {
    let date = channel_stamp(now, "%Y%m%d");
    match method {
        "WECHAT" => format!("4200{date}{seq:016}"),
        "ALIPAY" | "ALIPAY_HK" | "HB_FQ" => format!("{date}2200{seq:016}"),
        _ => format!("{date}{seq:016}"),
    }
}

/// A stamp in `yyyyMMddHHmmss`, Beijing time.
pub fn stamp(at_ms: i64) -> String {
    channel_stamp(at_ms, STAMP)
}

/// Parses `yyyyMMddHHmmss`, Beijing time, to epoch milliseconds.
pub fn parse_stamp(text: &str) -> Option<i64> {
    use chrono::TimeZone;
    if text.len() != 14 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let naive = chrono::NaiveDateTime::parse_from_str(text, STAMP).ok()?;
    crate::state::beijing().from_local_datetime(&naive).single().map(|t| t.timestamp_millis())
}

/// The `merchant_no` (and `term_no`) of a request must be the sandbox's.
pub fn check_merchant(app: &App, f: &Fields, with_term: bool) -> Result<(), Bad> {
    if f.str("merchant_no")? != app.lakala.merchant_no {
        return Err("商户号不存在".to_owned());
    }
    if with_term && f.str("term_no")? != app.lakala.term_no {
        return Err("终端号不存在".to_owned());
    }
    Ok(())
}

/// A counter order to create (backend `counter/create`, direct `special_create`).
pub struct CounterInput {
    pub out_order_no: String,
    pub amount_fen: i64,
    pub order_info: String,
    pub method: String,
    /// `order_efficient_time` as sent, and as epoch milliseconds.
    pub efficient: Option<(String, i64)>,
    pub notify_url: Option<String>,
    pub callback_url: Option<String>,
    pub channel_id: Option<String>,
}

/// Reads the counter fields both modes share; `amount` reads `total_amount` the mode's way.
pub fn read_counter(
    f: &Fields,
    amount: impl FnOnce(&Fields) -> Result<i64, Bad>,
    method: Option<&str>,
) -> Result<CounterInput, Bad> {
    let out_order_no = f.order_no("out_order_no")?.to_owned();
    let amount_fen = amount(f)?;
    let order_info = f.str_max("order_info", 64)?.to_owned();
    let method = method.unwrap_or("ALIPAY");
    if !METHODS.contains(&method) {
        return Err(format!("不支持的支付方式: {method}"));
    }
    let efficient = match f.opt_str("order_efficient_time")? {
        None => None,
        Some(text) => Some((text.to_owned(), parse_stamp(text).ok_or("order_efficient_time格式错误")?)),
    };
    for flag in ["support_cancel", "support_refund", "support_repeat_pay"] {
        f.flag(flag)?;
    }
    Ok(CounterInput {
        out_order_no,
        amount_fen,
        order_info,
        method: method.to_owned(),
        efficient,
        notify_url: f.opt_str("notify_url")?.map(str::to_owned),
        callback_url: f.opt_str("callback_url")?.map(str::to_owned),
        channel_id: f.opt_str("channel_id")?.map(str::to_owned),
    })
}

/// Why a counter order was not created.
pub enum CreateRefusal {
    Exists,
    Bad(Bad),
    /// The sandbox's [`crate::state::declined_amount`] rule.
    Declined,
}

/// Records a new counter order (a page order: paid on the customer page).
pub fn create_counter(app: &App, input: &CounterInput, api: &str) -> Result<Order, CreateRefusal> {
    let minute_ms = crate::state::ms(app.store.rules.minute);
    if crate::state::declined_amount(input.amount_fen) {
        return Err(CreateRefusal::Declined);
    }
    app.store.with(|st, now| {
        if st.exists(CHANNEL, &input.out_order_no) {
            return Err(CreateRefusal::Exists);
        }
        // `order_efficient_time` is a wall-clock time: the order stops taking payment then.
        // Without one, the order lives DEFAULT_PAGE_MINUTES sandbox minutes.
        let (efficient_text, expires_ms) = match &input.efficient {
            Some((text, at)) if *at >= now - PAST_TOLERANCE_MS => (text.clone(), *at),
            Some(_) => return Err(CreateRefusal::Bad("order_efficient_time已过期".to_owned())),
            None => {
                let at = now.saturating_add(DEFAULT_PAGE_MINUTES.saturating_mul(minute_ms));
                (stamp(at), at)
            }
        };
        let seq = st.next_seq();
        let mut order = Order::new(
            CHANNEL,
            &input.out_order_no,
            &app.lakala.merchant_no,
            &input.order_info,
            input.amount_fen,
            OrderKind::Page { page: "counter".to_owned() },
            pay_order_no(now, seq),
            wallet_trade_no(&input.method, now, seq),
            now,
        );
        order.api = api.to_owned();
        order.method = Some(input.method.clone());
        order.notify_url.clone_from(&input.notify_url);
        order.return_url.clone_from(&input.callback_url);
        order.expires_ms = Some(expires_ms);
        order.extra.insert("order_create_time".to_owned(), stamp(now));
        order.extra.insert("order_efficient_time".to_owned(), efficient_text);
        order.extra.insert("trade_no".to_owned(), trade_no(now, seq));
        order.extra.insert("log_no".to_owned(), log_no(seq));
        if let Some(c) = &input.channel_id {
            order.extra.insert("channel_id".to_owned(), c.clone());
        }
        st.insert_page_order(order.clone());
        Ok(order)
    })
}

/// The order of one of the call families `apis`, with its query counted.
pub fn query_of(app: &App, order_no: &str, apis: &[&str]) -> Option<Order> {
    app.store.with(|st, now| match st.order(CHANNEL, order_no) {
        Some(o) if apis.contains(&o.api.as_str()) => st.query(CHANNEL, order_no, now),
        _ => None,
    })
}

// ---------------------------------------------------------------- backend replies

fn envelope(code: &str, msg: &str, now: i64, resp_data: Option<Value>) -> Value {
    let mut map = Map::new();
    map.insert("code".to_owned(), json!(code));
    map.insert("msg".to_owned(), json!(msg));
    map.insert("resp_time".to_owned(), json!(stamp(now)));
    if let Some(data) = resp_data {
        map.insert("resp_data".to_owned(), data);
    }
    Value::Object(map)
}

fn reply(app: &App, code: &str, msg: &str, resp_data: Option<Value>) -> Response {
    json_response(StatusCode::OK, &envelope(code, msg, app.now_ms(), resp_data))
}

fn param_error(app: &App, msg: &str) -> Response {
    reply(app, PARAM_ERROR, msg, None)
}

/// `Authorization: Bearer <token>` with the sandbox's token, or HTTP 401.
fn bearer(app: &App, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
        .map(|(_, token)| token.trim());
    if given == Some(app.lakala.token.as_str()) {
        return Ok(());
    }
    tracing::info!("lakala backend: refused a call without the right Bearer token");
    let refusal = envelope(UNAUTHORIZED, "未授权：令牌无效或缺失", app.now_ms(), None);
    Err(Box::new(json_response(StatusCode::UNAUTHORIZED, &refusal)))
}

/// Where a backend call's own fields are.
#[derive(Clone, Copy)]
enum Family {
    /// The counter calls: at the top of the request.
    Counter,
    /// Seed 000's legacy scan calls: in `req_data`, with the sandbox's merchant and terminal.
    Legacy,
}

/// The token check, the request's JSON object, then the call's own fields read by `read`; an
/// error is the whole reply.
fn accept<T>(
    app: &App,
    headers: &HeaderMap,
    body: &[u8],
    family: Family,
    read: impl FnOnce(&Fields) -> Result<T, Bad>,
) -> Result<T, Box<Response>> {
    bearer(app, headers)?;
    let refuse = |msg: Bad| Box::new(param_error(app, &msg));
    let map = parse_object(body).map_err(refuse)?;
    let top = Fields::new(&map);
    let fields = match family {
        Family::Counter => Ok(top),
        Family::Legacy => top.object("req_data", "req_data.").and_then(|f| check_merchant(app, &f, true).map(|()| f)),
    };
    fields.and_then(|f| read(&f)).map_err(refuse)
}

fn status_word(order: &Order) -> &'static str {
    match order.status {
        OrderStatus::Pending => "PENDING",
        OrderStatus::Paid => "SUCCESS",
        OrderStatus::Failed => "FAILED",
        OrderStatus::Closed => "CLOSED",
    }
}

// ---------------------------------------------------------------- counter

async fn counter_create(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let read = |f: &Fields| {
        let input = read_counter(f, |f| f.fen_number("total_amount"), f.opt_str("payment_method")?)?;
        f.opt_str("vpos_id")?;
        Ok(input)
    };
    let input = match accept(&app, &headers, &body, Family::Counter, read) {
        Ok(input) => input,
        Err(resp) => return *resp,
    };
    let order = match create_counter(&app, &input, API_BACKEND_COUNTER) {
        Ok(order) => order,
        Err(CreateRefusal::Exists) => return reply(&app, ORDER_EXISTS, "订单号重复", None),
        Err(CreateRefusal::Bad(msg)) => return param_error(&app, &msg),
        Err(CreateRefusal::Declined) => return reply(&app, "TRADE_NOT_ALLOWED", crate::state::DECLINED_MSG, None),
    };
    tracing::info!(order_no = %order.order_no, amount = %format_yuan(order.amount_fen), "lakala backend: counter order");
    let mut data = json!({
        "merchant_no": order.merchant_id,
        "out_order_no": order.order_no,
        "order_create_time": order.extra("order_create_time"),
        "order_efficient_time": order.extra("order_efficient_time"),
        "pay_order_no": order.transaction_id,
        "total_amount": order.amount_fen.to_string(),
        "counter_url": app.page_url(&order.order_no),
    });
    if let (Some(c), Some(obj)) = (order.extra.get("channel_id"), data.as_object_mut()) {
        obj.insert("channel_id".to_owned(), json!(c));
    }
    reply(&app, OK, "操作成功", Some(data))
}

async fn counter_query(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let out_order_no = match accept(&app, &headers, &body, Family::Counter, |f| Ok(f.str("out_order_no")?.to_owned())) {
        Ok(no) => no,
        Err(resp) => return *resp,
    };
    let Some(order) = query_of(&app, &out_order_no, &[API_BACKEND_COUNTER, API_BACKEND_LEGACY]) else {
        return reply(&app, ORDER_NOT_EXIST, "订单不存在", None);
    };
    let mut data = json!({
        "out_order_no": order.order_no,
        "order_status": status_word(&order),
        "total_amount": order.amount_fen.to_string(),
        "pay_order_no": order.transaction_id,
    });
    if let (Some(paid), Some(obj)) = (order.paid_ms, data.as_object_mut()) {
        obj.insert("pay_time".to_owned(), json!(stamp(paid)));
    }
    reply(&app, OK, "操作成功", Some(data))
}

async fn counter_close(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let out_order_no = match accept(&app, &headers, &body, Family::Counter, |f| Ok(f.str("out_order_no")?.to_owned())) {
        Ok(no) => no,
        Err(resp) => return *resp,
    };
    match close_of(&app, &out_order_no, API_BACKEND_COUNTER) {
        Ok(_) => reply(&app, OK, "操作成功", None),
        Err(crate::state::CloseRefusal::NotFound) => reply(&app, ORDER_NOT_EXIST, "订单不存在", None),
        Err(crate::state::CloseRefusal::AlreadyPaid) => reply(&app, ORDER_PAID, "订单已支付，不能关闭", None),
    }
}

/// Closes an order of a call family (the close call, not expiry).
pub fn close_of(app: &App, order_no: &str, api: &str) -> Result<Order, crate::state::CloseRefusal> {
    app.store.with(|st, now| match st.order(CHANNEL, order_no) {
        Some(o) if o.api == api => st.close_order(CHANNEL, order_no, now, crate::state::CloseReason::Closed),
        _ => Err(crate::state::CloseRefusal::NotFound),
    })
}

// ---------------------------------------------------------------- legacy scan calls

/// An order of seed 000's legacy calls (micropay, the aggregated QR); `wallet` makes its trade number.
fn legacy_order(
    app: &App,
    out_trade_no: &str,
    amount_fen: i64,
    kind: OrderKind,
    wallet: &str,
    now: i64,
    seq: u64,
) -> Order {
    let mut order = Order::new(
        CHANNEL,
        out_trade_no,
        &app.lakala.merchant_no,
        "聚合扫码",
        amount_fen,
        kind,
        format!("{}{seq:010}", channel_stamp(now, "%Y%m%d")),
        wallet_trade_no(wallet, now, seq),
        now,
    );
    order.api = API_BACKEND_LEGACY.to_owned();
    order
}

fn legacy_fail(reason: FailReason) -> (&'static str, &'static str) {
    match reason {
        FailReason::InsufficientFunds => ("BBS11112", "余额不足"),
        FailReason::InvalidCode => ("BBS11105", "付款码无效或已过期"),
        FailReason::UserCancelled => ("USER_CANCELLED", "用户取消支付"),
    }
}

async fn legacy_micropay(
    State(app): State<Arc<App>>,
    Extension(ctl): Extension<ConnCtl>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let read = |f: &Fields| {
        Ok((f.order_no("out_trade_no")?.to_owned(), f.fen_string("total_fee")?, f.str("auth_code")?.to_owned()))
    };
    let (out_trade_no, amount_fen, auth_code) = match accept(&app, &headers, &body, Family::Legacy, read) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    // Followed up by counter/query, so the whole scenario table applies.
    let scenario = scenario_of(&auth_code);
    let method = wallet_of(&auth_code).unwrap_or("ALIPAY");
    let outcome = app.store.with(|st, now| {
        st.create_barcode_order(CHANNEL, &out_trade_no, now, |seq| {
            let kind = OrderKind::Barcode { scenario };
            let mut order = legacy_order(&app, &out_trade_no, amount_fen, kind, method, now, seq);
            order.method = wallet_of(&auth_code).map(str::to_owned);
            order
        })
    });
    let outcome = outcome.ok_or_else(|| reply(&app, ORDER_EXISTS, "订单号重复", None));
    let (order, delivery) = match faults::started(&app, &ctl, "lakala legacy micropay", &out_trade_no, outcome).await {
        Ok(started) => started,
        Err(resp) => return resp,
    };
    let resp = match (order.status, order.fail) {
        (OrderStatus::Paid, _) => reply(
            &app,
            OK,
            "成功",
            Some(json!({"out_trade_no": order.order_no, "transaction_id": order.transaction_id})),
        ),
        (OrderStatus::Pending, _) => {
            reply(&app, "BBS10000", "用户支付中", Some(json!({"out_trade_no": order.order_no})))
        }
        (_, fail) => {
            let (code, msg) = legacy_fail(fail.unwrap_or(FailReason::InvalidCode));
            reply(&app, code, msg, None)
        }
    };
    faults::deliver(delivery, &ctl, resp).await
}

async fn legacy_preorder(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let read = |f: &Fields| Ok((f.order_no("out_trade_no")?.to_owned(), f.fen_string("total_fee")?));
    let (out_trade_no, amount_fen) = match accept(&app, &headers, &body, Family::Legacy, read) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    if crate::state::declined_amount(amount_fen) {
        return reply(&app, "TRADE_NOT_ALLOWED", crate::state::DECLINED_MSG, None);
    }
    let lifetime = app.sandbox_minutes(DEFAULT_PAGE_MINUTES);
    let created = app.store.with(|st, now| {
        st.create_page_order(CHANNEL, &out_trade_no, |seq| {
            let kind = OrderKind::Page { page: "preorder".to_owned() };
            let mut order = legacy_order(&app, &out_trade_no, amount_fen, kind, "ALIPAY", now, seq);
            order.expires_ms = Some(now.saturating_add(lifetime));
            order
        })
    });
    let Some(order) = created else {
        return reply(&app, ORDER_EXISTS, "订单号重复", None);
    };
    tracing::info!(order_no = %order.order_no, amount = %format_yuan(order.amount_fen), "lakala legacy preorder");
    reply(&app, OK, "成功", Some(json!({"out_trade_no": order.order_no, "qr_code": app.page_url(&order.order_no)})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wallets_of_codes() {
        assert_eq!(wallet_of("280123456789012345"), Some("ALIPAY"));
        assert_eq!(wallet_of("134567890123456789"), Some("WECHAT"));
        assert_eq!(wallet_of("6212345678901234567"), Some("UQRCODEPAY"));
        assert_eq!(wallet_of("13456789012345678"), None);
        assert_eq!(wallet_of("310123456789012345"), None);
        assert_eq!(wallet_of("28012345678901234a"), None);
        assert_eq!(wallet_of(""), None);
        assert_eq!(scenario_of("280123456789012391"), Scenario::InsufficientFunds);
        assert_eq!(scenario_of("999"), Scenario::InvalidCode);
    }

    #[test]
    fn stamps_round_trip() {
        let at = parse_stamp("20260115123045").unwrap_or_default();
        assert_eq!(stamp(at), "20260115123045");
        assert_eq!(parse_stamp("2026011512304"), None);
        assert_eq!(parse_stamp("20261315123045"), None);
        assert_eq!(parse_stamp("2026-01-15 12:30"), None);
    }

    #[test]
    fn numbers_have_their_lengths() {
        assert_eq!(pay_order_no(0, 7).len(), 29);
        assert_eq!(trade_no(0, 7).len(), 22);
        assert_eq!(log_no(7).len(), 14);
        assert_eq!(wallet_trade_no("WECHAT", 0, 7).len(), 28);
        assert_eq!(wallet_trade_no("ALIPAY", 0, 7).len(), 28);
    }
}
