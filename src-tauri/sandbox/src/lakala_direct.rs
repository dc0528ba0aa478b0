//! The `lakala` channel, direct mode: the Lakala open platform v3. Every request is
//! signed by the store (SHA256withRSA over `appid\nserial_no\ntimestamp\nnonce_str\nbody\n`)
//! and every reply, refusals included, is signed by the platform (`Lklapi-*` headers).
//! Labs calls (`/api/v3/labs/…`, amounts as strings of fen, success `BBS00000`) and
//! counter calls (`/api/v3/ccss/…`, amounts as numbers, success `000000`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use rsa::pkcs1v15::{SigningKey, VerifyingKey};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use crate::lakala::{
    check_merchant, close_of, create_counter, query_of, read_counter, scenario_of, stamp, wallet_of, wallet_trade_no,
    CreateRefusal, API_CCSS, API_LABS, CHANNEL, DEFAULT_PAGE_MINUTES, ORDER_NOT_EXIST, ORDER_PAID,
};
use crate::money::format_yuan;
use crate::server::ConnCtl;
use crate::sign;
use crate::state::{CloseReason, CloseRefusal, Delivery, FailReason, Order, OrderKind, OrderStatus};
use crate::wire::{parse_object, Bad, Fields};
use crate::{App, SandboxOptions};

const LABS_OK: &str = "BBS00000";
const PAYING: &str = "BBS10000";
/// The refusal of a request whose signature does not hold, exactly as the page gives it.
pub const SIGNATURE_REFUSAL: &[u8] = "{\"code\":\"BBS00004\",\"msg\":\"签名验证失败\"}".as_bytes();
const INSUFFICIENT: &str = "BBS11112";
const INVALID_CODE: &str = "BBS11105";
const NOT_FOUND: &str = "BBS11001";
const ALREADY_PAID: &str = "BBS11003";
/// **[ours]** codes the page leaves open.
const PARAM_ERROR: &str = "BBS11000";
const DUPLICATE: &str = "BBS11002";
const REFUND_REFUSED: &str = "BBS11006";
const COUNTER_OK: &str = "000000";
const COUNTER_PARAM_ERROR: &str = "PARAM_ERROR";
const COUNTER_EXISTS: &str = "ORDER_EXISTS";
/// How far a request's timestamp may be from the sandbox's clock.
const MAX_SKEW_S: i64 = 300;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/api/v3/labs/trans/micropay", post(micropay))
        .route("/api/v3/labs/trans/preorder", post(preorder))
        .route("/api/v3/labs/query/tradequery", post(tradequery))
        .route("/api/v3/labs/relation/revoked", post(revoked))
        .route("/api/v3/labs/relation/close", post(close))
        .route("/api/v3/labs/relation/refund", post(refund))
        .route("/api/v3/ccss/counter/order/special_create", post(counter_create))
        .route("/api/v3/ccss/counter/order/query", post(counter_query))
        .route("/api/v3/ccss/counter/order/close", post(counter_close))
}

// ---------------------------------------------------------------- set-up

/// The lakala credentials and keys of a running sandbox (both modes).
pub struct Setup {
    pub token: String,
    pub appid: String,
    pub merchant_no: String,
    pub term_no: String,
    /// The serial of the merchant certificate (uppercase hex).
    pub merchant_serial: String,
    merchant_key: VerifyingKey<Sha256>,
    platform_key: SigningKey<Sha256>,
    /// The serial of the platform certificate, sent in `Lklapi-Serial`.
    pub platform_serial: String,
    /// Nonces accepted, with when they may be forgotten (epoch ms).
    nonces: Mutex<HashMap<String, i64>>,
    rng: Mutex<fastrand::Rng>,
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("lakala::Setup")
            .field("appid", &self.appid)
            .field("merchant_no", &self.merchant_no)
            .field("term_no", &self.term_no)
            .field("merchant_serial", &self.merchant_serial)
            .field("platform_serial", &self.platform_serial)
            .finish_non_exhaustive()
    }
}

impl Setup {
    pub fn new(opts: &SandboxOptions) -> Result<Setup, String> {
        let (merchant_public, merchant_serial) =
            sign::read_cert(&opts.lakala_merchant_cert_pem).map_err(|e| format!("lakala merchant certificate: {e}"))?;
        let platform_private =
            sign::read_private_key(&opts.lakala_platform_key_pem).map_err(|e| format!("lakala platform key: {e}"))?;
        let (platform_public, platform_serial) =
            sign::read_cert(&opts.lakala_platform_cert_pem).map_err(|e| format!("lakala platform certificate: {e}"))?;
        if !sign::same_key(&platform_private, &platform_public) {
            return Err("the lakala platform key does not belong to the platform certificate".to_owned());
        }
        Ok(Setup {
            token: opts.lakala_token.clone(),
            appid: opts.lakala_appid.clone(),
            merchant_no: opts.lakala_merchant_no.clone(),
            term_no: opts.lakala_term_no.clone(),
            merchant_serial,
            merchant_key: VerifyingKey::new(merchant_public),
            platform_key: SigningKey::new(platform_private),
            platform_serial,
            nonces: Mutex::new(HashMap::new()),
            rng: Mutex::new(fastrand::Rng::new()),
        })
    }

    pub fn nonce(&self) -> String {
        sign::new_nonce(&mut self.rng.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Base64 SHA256withRSA with the platform key.
    pub fn platform_sign(&self, message: &[u8]) -> String {
        sign::rsa_sign(&self.platform_key, message)
    }

    /// Remembers a nonce; false if it was seen within the window.
    fn first_use(&self, nonce: &str, now_ms: i64) -> bool {
        let mut seen = self.nonces.lock().unwrap_or_else(PoisonError::into_inner);
        seen.retain(|_, forget_at| *forget_at > now_ms);
        if seen.contains_key(nonce) {
            return false;
        }
        // Past this a replay is refused as stale anyway.
        seen.insert(nonce.to_owned(), now_ms + 2 * MAX_SKEW_S * 1000 + 1000);
        true
    }
}

// ---------------------------------------------------------------- signed replies

/// A reply with the platform's `Lklapi-*` signature headers; `bad_signature` corrupts it.
fn signed_bytes(app: &App, status: StatusCode, body: Vec<u8>, bad_signature: bool) -> Response {
    let lk = &app.lakala;
    let timestamp = (app.now_ms() / 1000).to_string();
    let nonce = lk.nonce();
    let message = sign::lakala_message(&[
        lk.appid.as_bytes(),
        lk.platform_serial.as_bytes(),
        timestamp.as_bytes(),
        nonce.as_bytes(),
        &body,
    ]);
    let mut signature = lk.platform_sign(&message);
    if bad_signature {
        signature = sign::corrupt_signature(&signature);
    }
    let mut resp = (status, Body::from(body)).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    for (name, value) in [
        ("lklapi-appid", lk.appid.as_str()),
        ("lklapi-serial", lk.platform_serial.as_str()),
        ("lklapi-timestamp", timestamp.as_str()),
        ("lklapi-nonce", nonce.as_str()),
        ("lklapi-signature", signature.as_str()),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    }
    resp
}

fn to_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}

/// `{"code","msg","resp_time","resp_data"?}`, signed, HTTP 200.
fn reply(app: &App, code: &str, msg: &str, resp_data: Option<Value>) -> Response {
    signed_bytes(app, StatusCode::OK, to_bytes(&envelope(app, code, msg, resp_data)), false)
}

fn envelope(app: &App, code: &str, msg: &str, resp_data: Option<Value>) -> Value {
    let mut map = Map::new();
    map.insert("code".to_owned(), json!(code));
    map.insert("msg".to_owned(), json!(msg));
    map.insert("resp_time".to_owned(), json!(stamp(app.now_ms())));
    if let Some(data) = resp_data {
        map.insert("resp_data".to_owned(), data);
    }
    Value::Object(map)
}

fn refuse_signature(app: &App, why: &str) -> Response {
    tracing::info!("lakala direct: signature refused: {why}");
    signed_bytes(app, StatusCode::UNAUTHORIZED, SIGNATURE_REFUSAL.to_vec(), false)
}

// ---------------------------------------------------------------- request checks

/// Checks the `Authorization` header against the exact body bytes. Only a request
/// that passes every check uses up its nonce.
fn authenticate(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let lk = &app.lakala;
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or("no Authorization header")?
        .to_str()
        .map_err(|_| "Authorization is not visible ASCII")?;
    let pairs = sign::parse_lklapi_auth(value)?;
    let get = |name: &str| pairs.get(name).map(String::as_str).ok_or_else(|| format!("no {name}"));
    let (appid, serial, timestamp, nonce, signature) =
        (get("appid")?, get("serial_no")?, get("timestamp")?, get("nonce_str")?, get("signature")?);
    if appid != lk.appid {
        return Err(format!("unknown appid {appid:?}"));
    }
    if !serial.eq_ignore_ascii_case(&lk.merchant_serial) {
        return Err(format!("serial_no {serial:?} is not the merchant certificate's"));
    }
    let ts: i64 = Some(timestamp)
        .filter(|t| !t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| format!("timestamp {timestamp:?} is not Unix seconds"))?;
    let now_ms = app.now_ms();
    if (now_ms / 1000 - ts).abs() > MAX_SKEW_S {
        return Err(format!("timestamp {ts} is more than {MAX_SKEW_S} s from the sandbox's clock"));
    }
    if !sign::valid_nonce(nonce) {
        return Err(format!("nonce_str {nonce:?} is not 12–32 letters or digits"));
    }
    let message =
        sign::lakala_message(&[appid.as_bytes(), serial.as_bytes(), timestamp.as_bytes(), nonce.as_bytes(), body]);
    if !sign::rsa_verify(&lk.merchant_key, &message, signature) {
        return Err("the signature does not verify".to_owned());
    }
    if !lk.first_use(nonce, now_ms) {
        return Err(format!("nonce_str {nonce:?} was used before"));
    }
    Ok(())
}

/// The `req_data` of an authenticated `{"req_time","version":"3.0","req_data"}` body.
fn req_data(body: &[u8]) -> Result<Map<String, Value>, Bad> {
    let mut map = parse_object(body)?;
    let f = Fields::new(&map);
    if f.str("version")? != "3.0" {
        return Err("version必须是3.0".to_owned());
    }
    let req_time = f.str("req_time")?;
    if crate::lakala::parse_stamp(req_time).is_none() {
        return Err("req_time格式错误（yyyyMMddHHmmss）".to_owned());
    }
    f.object("req_data", "req_data.")?;
    match map.remove("req_data") {
        Some(Value::Object(data)) => Ok(data),
        _ => Err("缺少req_data".to_owned()),
    }
}

/// The two families of direct calls, which differ in their parameter-error code and in whose
/// numbers a request must carry.
#[derive(Clone, Copy)]
enum Family {
    /// `/api/v3/labs/…`: the merchant's and the terminal's.
    Labs,
    /// `/api/v3/ccss/…`: the merchant's.
    Counter,
}

impl Family {
    fn param_error(self) -> &'static str {
        match self {
            Family::Labs => PARAM_ERROR,
            Family::Counter => COUNTER_PARAM_ERROR,
        }
    }
}

/// Authenticates, reads `req_data`, checks the merchant (and for labs calls the terminal), then
/// reads the call's own fields with `read`; an error is the whole (signed) reply.
fn accept<T>(
    app: &App,
    headers: &HeaderMap,
    body: &[u8],
    family: Family,
    read: impl FnOnce(&Fields) -> Result<T, Bad>,
) -> Result<T, Box<Response>> {
    authenticate(app, headers, body).map_err(|why| Box::new(refuse_signature(app, &why)))?;
    let refuse = |msg: Bad| Box::new(reply(app, family.param_error(), &msg, None));
    let data = req_data(body).map_err(refuse)?;
    let f = Fields::new(&data);
    check_merchant(app, &f, matches!(family, Family::Labs)).and_then(|()| read(&f)).map_err(refuse)
}

fn location(f: &Fields) -> Result<(), Bad> {
    f.object("location_info", "location_info.")?.str("request_ip")?;
    Ok(())
}

// ---------------------------------------------------------------- labs

/// `trade_state` of a labs order.
fn trade_state(order: &Order) -> &'static str {
    match order.status {
        OrderStatus::Pending if order.is_page() => "CREATE",
        OrderStatus::Pending => "DEAL",
        OrderStatus::Paid if order.fully_refunded() => "REFUND",
        OrderStatus::Paid if order.partly_refunded() => "PART_REFUND",
        OrderStatus::Paid => "SUCCESS",
        OrderStatus::Failed => "FAIL",
        OrderStatus::Closed => "CLOSE",
    }
}

fn fail_code(reason: FailReason) -> (&'static str, &'static str) {
    match reason {
        FailReason::InsufficientFunds => (INSUFFICIENT, "余额不足"),
        FailReason::InvalidCode => (INVALID_CODE, "付款码无效或已过期"),
        FailReason::UserCancelled => ("BBS11114", "用户取消支付"),
    }
}

struct LabsPay {
    out_trade_no: String,
    amount_fen: i64,
    subject: String,
    notify_url: Option<String>,
}

fn labs_pay(f: &Fields) -> Result<LabsPay, Bad> {
    let out_trade_no = f.order_no("out_trade_no")?.to_owned();
    let amount_fen = f.fen_string("total_amount")?;
    location(f)?;
    let subject = f.opt_str("subject")?.unwrap_or("商品").to_owned();
    let notify_url = f.opt_str("notify_url")?.map(str::to_owned);
    Ok(LabsPay { out_trade_no, amount_fen, subject, notify_url })
}

fn new_labs_order(app: &App, pay: &LabsPay, kind: OrderKind, method: &str, now: i64, seq: u64) -> Order {
    let mut order = Order::new(
        CHANNEL,
        &pay.out_trade_no,
        &app.lakala.merchant_no,
        &pay.subject,
        pay.amount_fen,
        kind,
        crate::lakala::trade_no(now, seq),
        wallet_trade_no(method, now, seq),
        now,
    );
    order.api = API_LABS.to_owned();
    order.method = Some(method.to_owned());
    order.notify_url.clone_from(&pay.notify_url);
    order.extra.insert("log_no".to_owned(), crate::lakala::log_no(seq));
    order
}

async fn micropay(
    State(app): State<Arc<App>>,
    Extension(ctl): Extension<ConnCtl>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (pay, auth_code) =
        match accept(&app, &headers, &body, Family::Labs, |f| Ok((labs_pay(f)?, f.str("auth_code")?.to_owned()))) {
            Ok(v) => v,
            Err(resp) => return *resp,
        };
    let scenario = scenario_of(&auth_code);
    let method = wallet_of(&auth_code).unwrap_or("ALIPAY");
    let outcome = app.store.with(|st, now| {
        st.create_barcode_order(CHANNEL, &pay.out_trade_no, now, |seq| {
            let mut order = new_labs_order(&app, &pay, OrderKind::Barcode { scenario }, method, now, seq);
            order.method = wallet_of(&auth_code).map(str::to_owned);
            order
        })
    });
    let outcome = outcome.ok_or_else(|| reply(&app, DUPLICATE, "商户订单号重复", None));
    let (order, delivery) =
        match crate::faults::started(&app, &ctl, "lakala micropay", &pay.out_trade_no, outcome).await {
            Ok(started) => started,
            Err(resp) => return resp,
        };
    let account_type = order.method.clone().unwrap_or_default();
    let value = match (order.status, order.fail) {
        (OrderStatus::Paid, _) => envelope(
            &app,
            LABS_OK,
            "交易成功",
            Some(json!({
                "merchant_no": order.merchant_id,
                "out_trade_no": order.order_no,
                "trade_no": order.transaction_id,
                "log_no": order.extra("log_no"),
                "acc_trade_no": order.trade_no,
                "account_type": account_type,
                "total_amount": order.amount_fen.to_string(),
                "trade_time": order.paid_ms.map(stamp).unwrap_or_default(),
            })),
        ),
        (OrderStatus::Pending, _) => envelope(
            &app,
            PAYING,
            "用户支付中，请稍后查询",
            Some(json!({
                "merchant_no": order.merchant_id,
                "out_trade_no": order.order_no,
                "trade_no": order.transaction_id,
                "log_no": order.extra("log_no"),
                "account_type": account_type,
                "total_amount": order.amount_fen.to_string(),
            })),
        ),
        (_, fail) => {
            let (code, msg) = fail_code(fail.unwrap_or(FailReason::InvalidCode));
            envelope(&app, code, msg, None)
        }
    };
    let body = to_bytes(&value);
    match delivery {
        Delivery::Normal => signed_bytes(&app, StatusCode::OK, body, false),
        Delivery::DropConnection => {
            ctl.drop_connection();
            signed_bytes(&app, StatusCode::OK, body, false)
        }
        Delivery::ServerError => signed_bytes(
            &app,
            StatusCode::INTERNAL_SERVER_ERROR,
            br#"{"message":"Internal Server Error"}"#.to_vec(),
            false,
        ),
        // A signed channel: the reply is whole JSON with a signature that does not verify.
        Delivery::Garbled => signed_bytes(&app, StatusCode::OK, body, true),
    }
}

async fn preorder(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let read = |f: &Fields| {
        let pay = labs_pay(f)?;
        let account_type = f.str("account_type")?;
        if !["ALIPAY", "WECHAT", "UQRCODEPAY"].contains(&account_type) {
            return Err(format!("不支持的account_type: {account_type}"));
        }
        if f.str("trans_type")? != "41" {
            return Err("trans_type必须是41".to_owned());
        }
        Ok((pay, account_type.to_owned()))
    };
    let (pay, account_type) = match accept(&app, &headers, &body, Family::Labs, read) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    if crate::state::declined_amount(pay.amount_fen) {
        return reply(&app, "BBS19999", crate::state::DECLINED_MSG, None);
    }
    let lifetime = app.sandbox_minutes(DEFAULT_PAGE_MINUTES);
    let created = app.store.with(|st, now| {
        st.create_page_order(CHANNEL, &pay.out_trade_no, |seq| {
            let kind = OrderKind::Page { page: "preorder".to_owned() };
            let mut order = new_labs_order(&app, &pay, kind, &account_type, now, seq);
            order.expires_ms = Some(now.saturating_add(lifetime));
            order
        })
    });
    let Some(order) = created else {
        return reply(&app, DUPLICATE, "商户订单号重复", None);
    };
    tracing::info!(order_no = %order.order_no, amount = %format_yuan(order.amount_fen), "lakala preorder");
    reply(
        &app,
        LABS_OK,
        "交易成功",
        Some(json!({
            "out_trade_no": order.order_no,
            "trade_no": order.transaction_id,
            "log_no": order.extra("log_no"),
            "acc_resp_fields": {"code": app.page_url(&order.order_no)},
        })),
    )
}

async fn tradequery(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let out_trade_no = match accept(&app, &headers, &body, Family::Labs, |f| Ok(f.str("out_trade_no")?.to_owned())) {
        Ok(no) => no,
        Err(resp) => return *resp,
    };
    let Some(order) = query_of(&app, &out_trade_no, &[API_LABS]) else {
        return reply(&app, NOT_FOUND, "交易不存在", None);
    };
    let mut resp_data = json!({
        "out_trade_no": order.order_no,
        "trade_no": order.transaction_id,
        "trade_state": trade_state(&order),
        "total_amount": order.amount_fen.to_string(),
        "account_type": order.method.clone().unwrap_or_default(),
    });
    if let (Some(paid), Some(obj)) = (order.paid_ms, resp_data.as_object_mut()) {
        obj.insert("acc_trade_no".to_owned(), json!(order.trade_no));
        obj.insert("trade_time".to_owned(), json!(stamp(paid)));
    }
    reply(&app, LABS_OK, "查询成功", Some(resp_data))
}

async fn revoked(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let read = |f: &Fields| {
        let revoke_no = f.order_no("out_trade_no")?.to_owned();
        let origin = f.str("origin_out_trade_no")?.to_owned();
        location(f)?;
        Ok((revoke_no, origin))
    };
    let (revoke_no, origin) = match accept(&app, &headers, &body, Family::Labs, read) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let done = app.store.with(|st, now| match st.order(CHANNEL, &origin) {
        Some(o) if o.api == API_LABS => st.revoke(CHANNEL, &origin, &revoke_no, now),
        _ => None,
    });
    let Some((order, refund)) = done else {
        return reply(&app, NOT_FOUND, "交易不存在", None);
    };
    let state = if order.status == OrderStatus::Paid { "REFUND" } else { "CLOSE" };
    tracing::info!(
        origin = %origin,
        revoke_no = %revoke_no,
        refunded = ?refund.as_ref().map(|r| format_yuan(r.amount_fen)),
        "lakala revoked → {state}"
    );
    reply(
        &app,
        LABS_OK,
        "撤销成功",
        Some(json!({"out_trade_no": revoke_no, "origin_out_trade_no": origin, "trade_state": state})),
    )
}

async fn close(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let read = |f: &Fields| {
        let origin = f.str("origin_out_trade_no")?.to_owned();
        location(f)?;
        Ok(origin)
    };
    let origin = match accept(&app, &headers, &body, Family::Labs, read) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    match close_of(&app, &origin, API_LABS) {
        Ok(order) => {
            tracing::info!(origin = %origin, status = ?order.status, "lakala close");
            reply(&app, LABS_OK, "关单成功", Some(json!({"origin_out_trade_no": origin, "trade_state": "CLOSE"})))
        }
        Err(CloseRefusal::NotFound) => reply(&app, NOT_FOUND, "交易不存在", None),
        Err(CloseRefusal::AlreadyPaid) => reply(&app, ALREADY_PAID, "交易已支付", None),
    }
}

async fn refund(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let read = |f: &Fields| {
        let refund_no = f.order_no("out_trade_no")?.to_owned();
        let origin = f.str("origin_out_trade_no")?.to_owned();
        let amount = f.fen_string("refund_amount")?;
        f.opt_str("refund_reason")?;
        location(f)?;
        Ok((refund_no, origin, amount))
    };
    let (refund_no, origin, amount_fen) = match accept(&app, &headers, &body, Family::Labs, read) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    use crate::state::{RefundRefusal, RefundScope};
    let result = app.store.with(|st, now| match st.order(CHANNEL, &origin) {
        // Counter orders are refunded through the labs call too.
        Some(o) if o.api == API_LABS || o.api == API_CCSS => {
            let trade = o.transaction_id.clone();
            st.refund_numbered(RefundScope::Channel, CHANNEL, &origin, &refund_no, amount_fen, now).map(
                |(record, new)| {
                    let index =
                        st.truth().refunds.iter().filter(|r| r.order_no == origin && r.channel == CHANNEL).count();
                    (record, new, format!("{trade}{index:02}"))
                },
            )
        }
        _ => Err(RefundRefusal::NotFound),
    });
    match result {
        Ok((record, new, trade_no)) => {
            tracing::info!(
                origin = %origin,
                refund_no = %refund_no,
                amount = %format_yuan(record.amount_fen),
                new,
                "lakala refund"
            );
            reply(
                &app,
                LABS_OK,
                "退款成功",
                Some(json!({
                    "out_trade_no": record.refund_no,
                    "origin_out_trade_no": origin,
                    "trade_no": trade_no,
                    "refund_amount": record.amount_fen.to_string(),
                    "trade_state": "SUCCESS",
                })),
            )
        }
        Err(RefundRefusal::NotFound) => reply(&app, NOT_FOUND, "交易不存在", None),
        Err(RefundRefusal::NotPaid) => reply(&app, REFUND_REFUSED, "交易未支付，不能退款", None),
        Err(RefundRefusal::Exceeds { refundable_fen }) => {
            reply(&app, REFUND_REFUSED, &format!("退款金额超过可退金额（可退 {refundable_fen} 分）"), None)
        }
        Err(RefundRefusal::NumberReused) => reply(&app, DUPLICATE, "退款单号重复", None),
    }
}

// ---------------------------------------------------------------- counter (ccss)

/// `order_status` of a counter order (a number).
pub fn counter_status(order: &Order) -> i64 {
    match order.status {
        OrderStatus::Pending => 0,
        OrderStatus::Paid if order.fully_refunded() => 6,
        OrderStatus::Paid => 2,
        OrderStatus::Failed => 3,
        OrderStatus::Closed => match order.close_reason {
            Some(CloseReason::Expired) | None => 4,
            Some(CloseReason::Revoked) => 5,
            Some(CloseReason::Closed) => 7,
        },
    }
}

async fn counter_create(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let read = |f: &Fields| {
        let pay_mode = match f.opt_object("counter_param", "counter_param.")? {
            Some(param) => param.opt_str("pay_mode")?,
            None => None,
        };
        read_counter(f, |f| f.fen_number("total_amount"), pay_mode)
    };
    let input = match accept(&app, &headers, &body, Family::Counter, read) {
        Ok(input) => input,
        Err(resp) => return *resp,
    };
    let order = match create_counter(&app, &input, API_CCSS) {
        Ok(order) => order,
        Err(CreateRefusal::Exists) => return reply(&app, COUNTER_EXISTS, "订单号重复", None),
        Err(CreateRefusal::Bad(msg)) => return reply(&app, COUNTER_PARAM_ERROR, &msg, None),
        Err(CreateRefusal::Declined) => return reply(&app, "CCSS1999", crate::state::DECLINED_MSG, None),
    };
    tracing::info!(order_no = %order.order_no, amount = %format_yuan(order.amount_fen), "lakala counter order");
    reply(
        &app,
        COUNTER_OK,
        "操作成功",
        Some(json!({
            "merchant_no": order.merchant_id,
            "out_order_no": order.order_no,
            "order_create_time": order.extra("order_create_time"),
            "order_efficient_time": order.extra("order_efficient_time"),
            "pay_order_no": order.transaction_id,
            "total_amount": order.amount_fen,
            "counter_url": app.page_url(&order.order_no),
        })),
    )
}

async fn counter_query(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let out_order_no = match accept(&app, &headers, &body, Family::Counter, |f| Ok(f.str("out_order_no")?.to_owned())) {
        Ok(no) => no,
        Err(resp) => return *resp,
    };
    let Some(order) = query_of(&app, &out_order_no, &[API_CCSS]) else {
        return reply(&app, ORDER_NOT_EXIST, "订单不存在", None);
    };
    let mut resp_data = json!({
        "out_order_no": order.order_no,
        "merchant_no": order.merchant_id,
        "pay_order_no": order.transaction_id,
        "order_status": counter_status(&order),
        "total_amount": order.amount_fen,
        "order_create_time": order.extra("order_create_time"),
        "order_efficient_time": order.extra("order_efficient_time"),
    });
    if let (Some(paid), Some(obj)) = (order.paid_ms, resp_data.as_object_mut()) {
        obj.insert(
            "order_trade_info_list".to_owned(),
            json!([{
                "trade_no": order.extra("trade_no"),
                "log_no": order.extra("log_no"),
                "acc_trade_no": order.trade_no,
                "trade_amount": order.amount_fen,
                "trade_status": "S",
                "trade_time": stamp(paid),
                "pay_mode": order.method.clone().unwrap_or_default(),
            }]),
        );
    }
    reply(&app, COUNTER_OK, "操作成功", Some(resp_data))
}

async fn counter_close(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let out_order_no = match accept(&app, &headers, &body, Family::Counter, |f| Ok(f.str("out_order_no")?.to_owned())) {
        Ok(no) => no,
        Err(resp) => return *resp,
    };
    match close_of(&app, &out_order_no, API_CCSS) {
        Ok(_) => reply(&app, COUNTER_OK, "操作成功", None),
        Err(CloseRefusal::NotFound) => reply(&app, ORDER_NOT_EXIST, "订单不存在", None),
        Err(CloseRefusal::AlreadyPaid) => reply(&app, ORDER_PAID, "订单已支付，不能关闭", None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_body_is_the_pages() {
        let v: Value = serde_json::from_slice(SIGNATURE_REFUSAL).unwrap_or_default();
        assert_eq!(v, json!({"code":"BBS00004","msg":"签名验证失败"}));
    }

    #[test]
    fn envelopes_are_strict() {
        let ok = br#"{"req_time":"20260115123045","version":"3.0","req_data":{"a":"b"}}"#;
        assert_eq!(req_data(ok).map(|m| m.len()), Ok(1));
        for bad in [
            r#"{"req_time":"20260115123045","version":"2.0","req_data":{}}"#,
            r#"{"req_time":"2026-01-15","version":"3.0","req_data":{}}"#,
            r#"{"version":"3.0","req_data":{}}"#,
            r#"{"req_time":"20260115123045","version":"3.0"}"#,
            r#"{"req_time":"20260115123045","version":"3.0","req_data":[]}"#,
            r#"{"req_time":"20260115123045","version":3.0,"req_data":{}}"#,
            "[]",
            "",
        ] {
            assert!(req_data(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
