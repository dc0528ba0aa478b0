//! The `cashdesk` channel: the corporate cashier desk (lala-pay, seed 002). Every
//! request carries `appId`, `nonce`, `timestamp` and `signature`: the MD5 or SM3 (as
//! configured) lowercase hex of the canonical string (every other non-empty scalar
//! field, sorted by name, `name=value` joined by `&`, then `&key=<appKey>`). Replies
//! `{"code":1000,"msg":"操作成功","data":…,"responseTime":…}`; the pay-result query
//! answers the seed's flat object (§4.3) unless [`QueryForm::Envelope`] is set.
//!
//! Where the seed is silent the sandbox takes the reading of a desk built from the seed
//! alone: numbers are signed as a reader prints them back ([`AmountReading`]); "no result
//! yet" is written as `NULL`, JSON `null` or left out ([`NoResult`]); `payment/list` takes
//! the merchant's pick of channels (at most one per `channelType`) for the token, and the
//! payment page then offers only those.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::money::{format_yuan, parse_fen, parse_yuan, Yuan};
use crate::sign::{canonical_of_object, canonical_string, canonical_value, SignScheme};
use crate::state::{channel_stamp, Order, OrderKind, OrderStatus};
use crate::wire::valid_order_no;
use crate::{json_response, App, SandboxOptions};

pub const CHANNEL: &str = "cashdesk";

const OK: i64 = 1000;
const MISSING: i64 = 4000;
const BAD_SIGNATURE: i64 = 4001;
/// **[ours]**: the page names only 4000 and 4001.
const DUPLICATE: i64 = 4002;

/// The unit of `amount` (`amount_unit` in the cashier's config).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AmountUnit {
    /// An integer number of fen.
    #[default]
    Fen,
    /// Yuan as a JSON number with exactly two decimals.
    Yuan,
}

impl std::str::FromStr for AmountUnit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "fen" => Ok(AmountUnit::Fen),
            "yuan" => Ok(AmountUnit::Yuan),
            other => Err(format!("unknown amount unit {other:?} (fen or yuan)")),
        }
    }
}

/// How the desk reads a number for the canonical string (the seed does not say).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AmountReading {
    /// As a number, printed back in its shortest form: `12.30` is signed as `12.3`.
    #[default]
    AsNumber,
    /// As the text that was written: `12.30` is signed as `12.30`.
    AsWritten,
}

/// The shape of the pay-result query's reply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryForm {
    /// The seed's §4.3 object, flat.
    #[default]
    Flat,
    /// Inside the usual `{"code":1000,"data":…}` envelope.
    Envelope,
}

/// How "no result yet" (the seed's `NULL`) is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoResult {
    /// The text `"NULL"`.
    Text,
    /// `"resultCode": null`.
    JsonNull,
    /// No `resultCode` at all.
    Absent,
    /// Each of the three by the order number's last character.
    #[default]
    Mixed,
}

/// The desk's credentials and choices in a running sandbox.
#[derive(Debug, Clone)]
pub struct Setup {
    pub app_id: String,
    pub app_key: String,
    pub scheme: SignScheme,
    pub unit: AmountUnit,
    pub notify_url: Option<String>,
    pub reading: AmountReading,
    pub query_form: QueryForm,
    pub no_result: NoResult,
}

impl Setup {
    pub fn new(opts: &SandboxOptions) -> Setup {
        Setup {
            app_id: opts.cashdesk_app_id.clone(),
            app_key: opts.cashdesk_app_key.clone(),
            scheme: opts.cashdesk_sign,
            unit: opts.cashdesk_amount_unit,
            notify_url: opts.cashdesk_notify_url.clone(),
            reading: opts.cashdesk_amount_reading,
            query_form: opts.cashdesk_query_form,
            no_result: opts.cashdesk_no_result,
        }
    }

    /// The signature of a JSON object's fields (all but `signature`), numbers read the desk's way.
    pub fn sign_object(&self, fields: &BTreeMap<String, Box<RawValue>>) -> String {
        let as_number = self.reading == AmountReading::AsNumber;
        self.scheme.digest_hex(&canonical_of_object(fields, &self.app_key, as_number))
    }

    fn sign_pairs(&self, pairs: &[(&str, &str)]) -> String {
        self.scheme.digest_hex(&canonical_string(pairs.iter().copied(), &self.app_key))
    }
}

/// An amount in the desk's unit, written exactly: yuan as the desk's reader prints numbers
/// (`12.3` for one that reads numbers, `12.30` for one that keeps them as written).
#[derive(Clone, Copy, Debug)]
pub struct Amount {
    pub fen: i64,
    pub unit: AmountUnit,
    pub reading: AmountReading,
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (self.unit, self.reading) {
            (AmountUnit::Fen, _) => s.serialize_i64(self.fen),
            (AmountUnit::Yuan, AmountReading::AsWritten) => Yuan(self.fen).serialize(s),
            (AmountUnit::Yuan, AmountReading::AsNumber) => {
                let text = crate::sign::number_as_read(&format_yuan(self.fen));
                RawValue::from_string(text).map_err(serde::ser::Error::custom)?.serialize(s)
            }
        }
    }
}

/// The desk's payment channels (the seed's `channels`): two Alipay entries whose
/// `sort` disagrees with their order in the list, and one WeChat entry, so the
/// cashier's "one per `channelType`, lowest `sort`" rule is exercised.
pub fn channels(app_id: &str) -> Value {
    let app_id_number: Value = app_id.parse::<i64>().map_or_else(|_| json!(app_id), |n| json!(n));
    let entry = |id: i64, kind: &str, name: &str, scene: &str, mch: &str, sort: i64| {
        json!({
            "id": id,
            "appId": app_id_number,
            "appName": "沙箱收银应用",
            "channelId": id,
            "channelType": kind,
            "channelName": name,
            "sceneName": scene,
            "sceneCode": scene,
            "configId": 1,
            "mchId": mch,
            "url": format!("https://lala-pay.example/api/cashier-desk/{kind}/{scene}"),
            "method": "POST",
            "enctype": "json",
            "sort": sort,
        })
    };
    json!([
        entry(3, "ali-pay", "沙箱支付宝H5备用", "h5", "2021000117617569", 2),
        entry(1, "ali-pay", "沙箱支付宝H5", "h5", ALIPAY_MCH, 1),
        entry(2, "wx-pay", "沙箱微信H5", "h5", "1607531827", 1),
    ])
}

/// The channel a customer "pays with" on the sandbox's page: the lowest-sort Alipay.
const ALIPAY_CHANNEL_ID: i64 = 1;
const ALIPAY_MCH: &str = "2021000117617568";

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/api/cashier-desk/unified/orders", post(unified_order))
        .route("/api/cashier-desk/payment/list", post(payment_list))
        .route("/api/cashier-desk/out-trade-no/query-pay-result/{out_trade_no}", get(query))
}

/// The customer-facing page (no faults): the desk's payment list, which leads to the
/// sandbox's customer page.
pub fn page_router() -> Router<Arc<App>> {
    Router::new().route("/cashier-desk-web/payment", get(payment_page))
}

// ---------------------------------------------------------------- replies

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<T: Serialize> {
    code: i64,
    msg: String,
    data: Option<T>,
    response_time: i64,
}

fn ok<T: Serialize>(app: &App, data: T) -> Response {
    json_response(
        StatusCode::OK,
        &Envelope { code: OK, msg: "操作成功".to_owned(), data: Some(data), response_time: app.now_ms() },
    )
}

fn error(app: &App, code: i64, msg: &str) -> Response {
    json_response(
        StatusCode::OK,
        &Envelope::<()> { code, msg: msg.to_owned(), data: None, response_time: app.now_ms() },
    )
}

// ---------------------------------------------------------------- checks

/// 13 or more digits.
fn valid_nonce(s: &str) -> bool {
    s.len() >= 13 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Milliseconds since the epoch: digits.
fn valid_timestamp(s: &str) -> bool {
    (1..=16).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// The common part of every request: `appId`, `nonce`, `timestamp`, then the signature
/// (`expected` computes it). The error is the whole reply.
fn check_signed(
    app: &App,
    app_id: Option<&str>,
    nonce: Option<&str>,
    timestamp: Option<&str>,
    signature: Option<&str>,
    expected: impl FnOnce() -> String,
) -> Result<(), Box<Response>> {
    let desk = &app.cashdesk;
    for (name, value) in [("appId", app_id), ("nonce", nonce), ("timestamp", timestamp), ("signature", signature)] {
        if value.is_none_or(str::is_empty) {
            return Err(Box::new(error(app, MISSING, &format!("缺少参数: {name}"))));
        }
    }
    if !nonce.is_some_and(valid_nonce) {
        return Err(Box::new(error(app, MISSING, "nonce格式错误")));
    }
    if !timestamp.is_some_and(valid_timestamp) {
        return Err(Box::new(error(app, MISSING, "timestamp格式错误")));
    }
    if app_id != Some(desk.app_id.as_str()) {
        tracing::info!("cashdesk: unknown appId {app_id:?}");
        return Err(Box::new(error(app, BAD_SIGNATURE, "签名错误")));
    }
    let expected = expected();
    if signature != Some(expected.as_str()) {
        tracing::info!("cashdesk: bad signature ({} scheme)", desk.scheme.name());
        return Err(Box::new(error(app, BAD_SIGNATURE, "签名错误")));
    }
    Ok(())
}

/// [`check_signed`] for a JSON body: its identity fields, and its signature over every field.
fn check_signed_body(app: &App, fields: &BTreeMap<String, Box<RawValue>>) -> Result<(), Box<Response>> {
    let text = |name: &str| fields.get(name).and_then(|raw| canonical_value(raw));
    let signature = fields.get("signature").and_then(|raw| serde_json::from_str::<String>(raw.get()).ok());
    check_signed(
        app,
        text("appId").as_deref(),
        text("nonce").as_deref(),
        text("timestamp").as_deref(),
        signature.as_deref(),
        || app.cashdesk.sign_object(fields),
    )
}

// ---------------------------------------------------------------- unified order

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReplySignature {
    app_id: String,
    nonce: String,
    timestamp: i64,
    signature: String,
    out_trade_no: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeskOrder {
    order_id: i64,
    out_trade_no: String,
    amount: Amount,
    order_title: String,
    goods_desc: String,
    status: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UnifiedData {
    token: String,
    signature: ReplySignature,
    order: DeskOrder,
    channels: Value,
}

async fn unified_order(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let fields: BTreeMap<String, Box<RawValue>> = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(_) => return error(&app, MISSING, "请求体必须是JSON对象"),
    };
    let text = |name: &str| fields.get(name).and_then(|raw| canonical_value(raw));
    for name in ["amount", "orderTitle", "outTradeNo"] {
        if text(name).is_none() {
            return error(&app, MISSING, &format!("缺少参数: {name}"));
        }
    }
    let desk = &app.cashdesk;
    if let Err(resp) = check_signed_body(&app, &fields) {
        return *resp;
    }
    let string = |name: &str| fields.get(name).and_then(|raw| serde_json::from_str::<String>(raw.get()).ok());
    let Some(out_trade_no) = string("outTradeNo").filter(|no| valid_order_no(no)) else {
        return error(&app, MISSING, "outTradeNo格式错误");
    };
    let Some(order_title) = string("orderTitle").filter(|t| !t.trim().is_empty()) else {
        return error(&app, MISSING, "orderTitle必须是字符串");
    };
    let goods_desc = string("goodsDesc").unwrap_or_default();
    let third_party_user = string("thirdPartyUser").unwrap_or_default();
    let raw_amount = fields.get("amount").map(|raw| raw.get().trim()).unwrap_or_default();
    let amount_fen = match desk.unit {
        AmountUnit::Fen => parse_fen(raw_amount),
        AmountUnit::Yuan => parse_yuan(raw_amount),
    };
    let Some(amount_fen) = amount_fen else {
        return error(&app, MISSING, "amount格式错误");
    };
    if crate::state::declined_amount(amount_fen) {
        return error(&app, 4999, crate::state::DECLINED_MSG);
    }
    let created = app.store.with(|st, now| {
        st.create_page_order(CHANNEL, &out_trade_no, |seq| {
            let mut order = Order::new(
                CHANNEL,
                &out_trade_no,
                &desk.app_id,
                &order_title,
                amount_fen,
                OrderKind::Page { page: "unified".to_owned() },
                (100 + seq).to_string(),
                format!("{}2200{seq:016}", channel_stamp(now, "%Y%m%d")),
                now,
            );
            order.api = "unified".to_owned();
            order.method = Some("ali-pay".to_owned());
            order.notify_url.clone_from(&desk.notify_url);
            // Seed 002 names no expiry and no close call: an unpaid order stays payable, and a
            // customer may pay long after the cashier stopped showing its page.
            let token = format!("{:016X}{:016X}", fastrand::u64(..), seq);
            order.extra.insert("token".to_owned(), token);
            order.extra.insert("goodsDesc".to_owned(), goods_desc.clone());
            order.extra.insert("thirdPartyUser".to_owned(), third_party_user.clone());
            order
        })
    });
    let Some(order) = created else {
        return error(&app, DUPLICATE, "订单号重复");
    };
    tracing::info!(order_no = %order.order_no, amount = %format_yuan(order.amount_fen), "cashdesk: unified order");
    let now = app.now_ms();
    let nonce = format!("{now}{:03}", fastrand::u16(..1000));
    let timestamp = now.to_string();
    let reply_signature = desk.sign_pairs(&[
        ("appId", &desk.app_id),
        ("nonce", &nonce),
        ("outTradeNo", &order.order_no),
        ("timestamp", &timestamp),
    ]);
    ok(
        &app,
        UnifiedData {
            token: order.extra("token").to_owned(),
            signature: ReplySignature {
                app_id: desk.app_id.clone(),
                nonce,
                timestamp: now,
                signature: reply_signature,
                out_trade_no: order.order_no.clone(),
            },
            order: DeskOrder {
                order_id: order.transaction_id.parse().unwrap_or(0),
                out_trade_no: order.order_no.clone(),
                amount: Amount { fen: order.amount_fen, unit: desk.unit, reading: desk.reading },
                order_title: order.goods_name.clone(),
                goods_desc,
                status: "WAIT_PAY",
            },
            channels: channels(&desk.app_id),
        },
    )
}

// ---------------------------------------------------------------- query

/// `yyyy-MM-dd HH:mm:ss`
pub fn pay_time(at_ms: i64) -> String {
    channel_stamp(at_ms, "%Y-%m-%d %H:%M:%S")
}

async fn query(
    State(app): State<Arc<App>>,
    Path(out_trade_no): Path<String>,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = params else {
        return error(&app, MISSING, "查询参数格式错误");
    };
    let param = |name: &str| params.get(name).map(String::as_str);
    let desk = &app.cashdesk;
    if let Err(resp) =
        check_signed(&app, param("appId"), param("nonce"), param("timestamp"), param("signature"), || {
            desk.sign_pairs(&[
                ("appId", param("appId").unwrap_or_default()),
                ("nonce", param("nonce").unwrap_or_default()),
                ("outTradeNo", &out_trade_no),
                ("timestamp", param("timestamp").unwrap_or_default()),
            ])
        })
    {
        return *resp;
    }
    let found = app.store.with(|st, now| st.query(CHANNEL, &out_trade_no, now));
    let mut data = serde_json::Map::new();
    let mut put = |k: &str, v: Value| {
        data.insert(k.to_owned(), v);
    };
    match found.as_ref() {
        Some(order) if order.status == OrderStatus::Paid => {
            put("channelId", json!(ALIPAY_CHANNEL_ID));
            put("channelType", json!(order.method));
            put("mchId", json!(ALIPAY_MCH));
            put("payTime", json!(order.paid_ms.map(pay_time)));
            put("resultCode", json!("SUCCESS"));
        }
        Some(order) if matches!(order.status, OrderStatus::Failed | OrderStatus::Closed) => {
            put("resultCode", json!("FAIL"));
            put("resultErrorCode", json!("ORDER_CLOSED"));
            put("resultErrorMsg", json!("订单已关闭"));
        }
        // Nothing yet (or no such order): the seed's NULL, written the configured way.
        _ => {
            put("channelId", json!(0));
            put("payTime", Value::Null);
            let style = match desk.no_result {
                NoResult::Mixed => match out_trade_no.bytes().last().map_or(0, |b| b % 3) {
                    0 => NoResult::Text,
                    1 => NoResult::JsonNull,
                    _ => NoResult::Absent,
                },
                fixed => fixed,
            };
            match style {
                NoResult::JsonNull => put("resultCode", Value::Null),
                NoResult::Absent => {}
                _ => put("resultCode", json!("NULL")),
            }
            if found.is_none() {
                put("resultErrorCode", json!("ORDER_NOT_FOUND"));
                put("resultErrorMsg", json!("订单不存在"));
            }
        }
    }
    match desk.query_form {
        QueryForm::Flat => json_response(StatusCode::OK, &Value::Object(data)),
        QueryForm::Envelope => ok(&app, Value::Object(data)),
    }
}

// ---------------------------------------------------------------- payment list

/// Seed 002 §四 "选择支付方式": the merchant's pick of channels for a token, at most one per
/// `channelType` (§3.2). Read as `channelIds` (the list entries' `id`), or the `id`s of
/// `channels`; the payment page then offers only those.
async fn payment_list(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let fields: BTreeMap<String, Box<RawValue>> = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(_) => return error(&app, MISSING, "请求体必须是JSON对象"),
    };
    let text = |name: &str| fields.get(name).and_then(|raw| canonical_value(raw));
    let desk = &app.cashdesk;
    if let Err(resp) = check_signed_body(&app, &fields) {
        return *resp;
    }
    let Some(token) = text("token") else {
        return error(&app, MISSING, "缺少参数: token");
    };
    let list = |name: &str| fields.get(name).and_then(|raw| serde_json::from_str::<Vec<Value>>(raw.get()).ok());
    let ids: Option<Vec<i64>> = match (list("channelIds"), list("channels")) {
        (Some(ids), _) => ids.iter().map(Value::as_i64).collect(),
        (None, Some(entries)) => entries.iter().map(|e| e.get("id").and_then(Value::as_i64)).collect(),
        (None, None) => return error(&app, MISSING, "缺少参数: channelIds"),
    };
    let Some(ids) = ids.filter(|ids| !ids.is_empty()) else {
        return error(&app, MISSING, "channelIds格式错误");
    };
    let offered = channels(&desk.app_id);
    let mut types = std::collections::BTreeSet::new();
    for id in &ids {
        let entry = offered.as_array().and_then(|a| a.iter().find(|c| c["id"].as_i64() == Some(*id)));
        let Some(entry) = entry else {
            return error(&app, MISSING, &format!("渠道不存在: {id}"));
        };
        if !types.insert(entry["channelType"].as_str().unwrap_or_default().to_owned()) {
            return error(&app, MISSING, "一类渠道最多留下一个渠道");
        }
    }
    let chosen = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let found = app.store.with(|st, _| {
        let no = st.find_by_extra(CHANNEL, "token", &token).map(|o| o.order_no.clone())?;
        st.set_extra(CHANNEL, &no, "offered", &chosen);
        Some(no)
    });
    if found.is_none() {
        return error(&app, MISSING, "支付令牌无效");
    }
    ok(&app, json!({ "url": format!("{}/cashier-desk-web/payment?token={token}", app.base_url) }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Notify {
    out_trade_no: String,
    result_code: &'static str,
    pay_time: String,
    channel_type: String,
    mch_id: &'static str,
    amount: Amount,
    app_id: String,
    nonce: String,
    timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
}

/// The notify body of a paid order **[ours]**, signed like a request; `amount_fen` may
/// be forged, and `bad_signature` spoils the signature.
pub fn notify_body(app: &App, order: &Order, amount_fen: i64, now: i64, bad_signature: bool) -> Vec<u8> {
    let desk = &app.cashdesk;
    let mut notify = Notify {
        out_trade_no: order.order_no.clone(),
        result_code: "SUCCESS",
        pay_time: pay_time(order.paid_ms.unwrap_or(now)),
        channel_type: order.method.clone().unwrap_or_else(|| "ali-pay".to_owned()),
        mch_id: ALIPAY_MCH,
        amount: Amount { fen: amount_fen, unit: desk.unit, reading: desk.reading },
        app_id: desk.app_id.clone(),
        nonce: format!("{now}{:03}", fastrand::u16(..1000)),
        timestamp: now,
        signature: None,
    };
    let unsigned = serde_json::to_string(&notify).unwrap_or_default();
    let fields: BTreeMap<String, Box<RawValue>> = serde_json::from_str(&unsigned).unwrap_or_default();
    let mut signature = desk.sign_object(&fields);
    if bad_signature {
        signature = crate::sign::spoil_hex(&signature);
    }
    notify.signature = Some(signature);
    serde_json::to_vec(&notify).unwrap_or_default()
}

// ---------------------------------------------------------------- the payment page

async fn payment_page(
    State(app): State<Arc<App>>,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let token = params.ok().and_then(|Query(p)| p.get("token").cloned()).unwrap_or_default();
    let order = app.store.with(|st, _| st.find_by_extra(CHANNEL, "token", &token).cloned());
    let Some(order) = order.filter(|_| !token.is_empty()) else {
        return crate::customer::not_found_page("支付令牌无效", "Unknown payment token");
    };
    // The channels the merchant picked through payment/list; every one the app has otherwise.
    let picked: Vec<&str> = order.extra("offered").split(',').filter(|s| !s.is_empty()).collect();
    let all = channels(&app.cashdesk.app_id);
    let offered: Vec<&Value> = all
        .as_array()
        .map(|a| a.iter().filter(|c| picked.is_empty() || picked.contains(&c["id"].to_string().as_str())).collect())
        .unwrap_or_default();
    let esc = crate::customer::esc;
    let items: String = offered
        .iter()
        .map(|c| {
            format!(
                "<li><a class=\"channel\" data-type=\"{}\" href=\"{}\">{}</a></li>",
                esc(c["channelType"].as_str().unwrap_or_default()),
                esc(&app.page_url(&order.order_no)),
                esc(c["channelName"].as_str().unwrap_or_default()),
            )
        })
        .collect();
    let body = format!(
        "<div class=\"amount\">¥{}</div><p>选择支付方式</p><p class=\"en\">Choose how to pay</p>\
         <ul id=\"channels\" style=\"list-style:none;padding:0;font-size:18px;line-height:2.2\">{items}</ul>",
        format_yuan(order.amount_fen)
    );
    crate::customer::html(StatusCode::OK, crate::customer::page("收银台", &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_either_unit() {
        let amount = |fen, unit, reading| serde_json::to_string(&Amount { fen, unit, reading }).unwrap_or_default();
        assert_eq!(amount(1230, AmountUnit::Yuan, AmountReading::AsNumber), "12.3");
        assert_eq!(amount(1200, AmountUnit::Yuan, AmountReading::AsNumber), "12");
        assert_eq!(amount(1230, AmountUnit::Yuan, AmountReading::AsWritten), "12.30");
        let fen = serde_json::to_string(&Amount { fen: 1234, unit: AmountUnit::Fen, reading: AmountReading::AsNumber })
            .unwrap_or_default();
        assert_eq!(fen, "1234");
        let yuan =
            serde_json::to_string(&Amount { fen: 1234, unit: AmountUnit::Yuan, reading: AmountReading::AsWritten })
                .unwrap_or_default();
        assert_eq!(yuan, "12.34");
        assert_eq!("YUAN".parse::<AmountUnit>(), Ok(AmountUnit::Yuan));
        assert!("jiao".parse::<AmountUnit>().is_err());
    }

    #[test]
    fn the_channel_list_needs_filtering() {
        let list = channels("123456");
        let arr = list.as_array().cloned().unwrap_or_default();
        assert_eq!(arr.len(), 3);
        let ali: Vec<&Value> = arr.iter().filter(|c| c["channelType"] == "ali-pay").collect();
        assert_eq!(ali.len(), 2);
        assert_ne!(ali[0]["sort"], ali[1]["sort"]);
        // the lowest sort is not the first in the list
        assert!(ali[0]["sort"].as_i64() > ali[1]["sort"].as_i64());
        assert_eq!(arr[0]["appId"], 123456);
    }

    #[test]
    fn nonces_and_timestamps() {
        assert!(valid_nonce("1617095820812"));
        assert!(!valid_nonce("161709582081"));
        assert!(!valid_nonce("161709582081a"));
        assert!(valid_timestamp("1617096420811"));
        assert!(!valid_timestamp("-1"));
    }
}
