//! `lakala`: Lakala's aggregated cashier (聚合收银台) and aggregated scan (聚合扫码), seeds 000/001,
//! in two transports (`docs/wire-formats.md` has every field):
//!
//! - **backend**: the merchant backend the seeds document, Bearer token, counter create / query /
//!   close. Its legacy micropay has no query, so barcode payments are not offered in this mode.
//! - **direct**: Lakala open platform v3, every request signed with the store's RSA key and every
//!   reply verified with Lakala's certificate. Barcode (micropay, revoke at the deadline), wallet
//!   QR (preorder, close) or the hosted counter page, query and refund.
//!
//! Reading rules, written in the README's channel section too:
//! - A reply whose signature does not verify (direct), that is not JSON, or that is a 5xx is
//!   unknown. So is any code not in the tables below.
//! - Paid needs the reply's order number and amount equal to ours.
//! - `not_found_codes` and `definitive_failures` are assumptions (the seeds list no codes) and
//!   are config keys.
//! - The counter page's `callback_url` redirect carries a `status` parameter: it is never read;
//!   state comes from query (or a verified notify).

pub mod sign;

use super::http::{excerpt, not_encoded, HttpClient, Transport};
use super::{
    channel_time_ms, channel_time_text, is_clear, page_or_refusal, unsupported, CancelOutcome, Capabilities, Channel,
    ChannelSetupError, CreateOutcome, Display, Exchanged, Failure, Method, Notice, Order, PayOutcome, RefundOutcome,
    Reply, COMPACT_LOCAL,
};
use crate::config::{
    AmountText, ChannelZone, Config, LakalaConfig, LakalaMode, LAKALA_METHODS, LAKALA_PREORDER_METHODS,
};
use crate::i18n::Lang;
use crate::ledger::Flow;
use crate::money::{fen_json, Fen};
use async_trait::async_trait;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};
use sign::{PlatformVerifier, RequestSigner};
use std::time::Duration;

/// Labs calls: success, and "customer still paying, query later".
pub(crate) const LABS_OK: &str = "BBS00000";
const LABS_PAYING: &str = "BBS10000";
/// Codes a legacy micropay may answer while the customer confirms [ours: the seed lists none].
const LEGACY_PAYING: &[&str] = &[LABS_PAYING, "USERPAYING"];
/// Counter calls (backend and direct) succeed with this code.
pub(crate) const COUNTER_OK: &str = "000000";

/// Assumed codes for "no such order" (config `not_found_codes`).
pub const DEFAULT_NOT_FOUND: &[&str] = &["BBS11001", "ORDER_NOT_EXIST"];
/// Assumed codes after which nothing was charged (config `definitive_failures`): invalid payment
/// code, insufficient funds, our own signature (direct) or token (backend) refused. They end a
/// pay or create call; on a query they mean only that the query failed.
pub const DEFAULT_DEFINITIVE: &[&str] = &["BBS11105", "BBS11112", "BBS00004", "UNAUTHORIZED"];

const SUBJECT_LIMIT: usize = 64;

/// Plain words for the clerk for the codes of [`DEFAULT_DEFINITIVE`].
pub fn explain(code: &str, lang: Lang) -> Option<&'static str> {
    Some(match code {
        "BBS11105" => lang.pick(
            "付款码无效或已过期，未扣款。请顾客刷新付款码后重新扫描。",
            "The payment code is invalid or expired; nothing was charged. Ask the customer to refresh it and scan again.",
        ),
        "BBS11112" => lang.pick(
            "顾客余额不足，未扣款。请顾客换一种付款方式。",
            "The customer's balance is too low; nothing was charged. Ask for another way to pay.",
        ),
        "BBS00004" | "UNAUTHORIZED" => lang.pick(
            "拉卡拉拒绝了本机的身份（密钥、证书序列号或令牌配置有误），未扣款。请联系技术支持。",
            "Lakala refused this till's credentials (wrong key, certificate serial or token in the config); nothing was charged. Call support.",
        ),
        _ => return None,
    })
}

pub struct LakalaChannel {
    http: HttpClient,
    config: LakalaConfig,
    /// Nonces of the signed notifies taken within `notify_max_age_seconds`, with their time.
    notify_nonces: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    caps: Capabilities,
    direct: Option<Direct>,
    not_found: Vec<String>,
    definitive: Vec<String>,
}

struct Direct {
    signer: RequestSigner,
    verifier: PlatformVerifier,
}

/// A reply read far enough to be trusted: verified (direct), JSON, with a code.
#[derive(Clone)]
pub(crate) struct Answer {
    status: u16,
    code: String,
    msg: String,
    /// `resp_data` (or `data`): an object, or `Null` when absent.
    data: Value,
}

/// An exchange read, or why it cannot be used.
#[derive(Clone)]
pub(crate) enum Got {
    Answer(Answer),
    NotSent(String),
    Unknown(String),
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default, deserialize_with = "code_text")]
    code: Option<String>,
    #[serde(default)]
    msg: Option<String>,
    #[serde(default)]
    resp_data: Option<Value>,
    #[serde(default)]
    data: Option<Value>,
}

/// A code as text, whether it came as `"000000"` or a number.
fn code_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => return Err(serde::de::Error::custom(format!("code is {other}"))),
    })
}

/// Every field the trade replies may carry (tolerant reader; a present field must be well-formed).
#[derive(Deserialize, Default, Debug)]
struct TradeData {
    out_trade_no: Option<String>,
    out_order_no: Option<String>,
    trade_no: Option<String>,
    pay_order_no: Option<String>,
    transaction_id: Option<String>,
    #[serde(default, deserialize_with = "fen_json::option::deserialize")]
    total_amount: Option<Fen>,
    trade_state: Option<String>,
    #[serde(default, deserialize_with = "code_text")]
    order_status: Option<String>,
    trade_time: Option<String>,
    pay_time: Option<String>,
    /// Seed 000's legacy time of payment, and amount (in `legacy_amount_unit`, as text or number).
    time_end: Option<String>,
    #[serde(default, deserialize_with = "code_text")]
    total_fee: Option<String>,
    need_query: Option<String>,
    counter_url: Option<String>,
    qr_code: Option<String>,
    acc_resp_fields: Option<AccRespFields>,
}

#[derive(Deserialize, Default, Debug)]
struct AccRespFields {
    code: Option<String>,
}

impl TradeData {
    fn order_no(&self) -> Option<&str> {
        self.out_trade_no.as_deref().or(self.out_order_no.as_deref())
    }

    /// A reply about another order or amount changes nothing.
    fn mismatch(&self, order: &Order<'_>) -> Option<String> {
        if let Some(no) = self.order_no() {
            if no != order.id {
                return Some(format!("reply is for order {no}, not {}", order.id));
            }
        }
        match self.total_amount {
            Some(a) if a != order.amount => Some(format!("reply amount {a} fen is not {} fen", order.amount.0)),
            _ => None,
        }
    }

    /// Paid is believed only from a reply that names our order and our amount.
    fn paid(&self, order: &Order<'_>, zone: ChannelZone) -> PayOutcome {
        if self.order_no() != Some(order.id) || self.total_amount != Some(order.amount) {
            return PayOutcome::Unknown("a paid reply must name our order number and amount".into());
        }
        let trade_no =
            self.trade_no.clone().or_else(|| self.pay_order_no.clone()).or_else(|| self.transaction_id.clone());
        let time = self.trade_time.as_deref().or(self.pay_time.as_deref());
        PayOutcome::Paid { trade_no, paid_at: time.and_then(|t| channel_time_ms(t, COMPACT_LOCAL, zone)) }
    }
}

fn read_data<T: for<'de> Deserialize<'de> + Default>(data: &Value) -> Result<T, String> {
    if data.is_null() {
        return Ok(T::default());
    }
    serde_json::from_value(data.clone()).map_err(|e| format!("unreadable resp_data: {e}"))
}

fn is_2xx(status: u16) -> bool {
    (200..300).contains(&status)
}

impl LakalaChannel {
    pub fn new(config: &LakalaConfig, whole: &Config) -> Result<LakalaChannel, ChannelSetupError> {
        let setup = |why: String| ChannelSetupError { channel: "lakala".into(), why };
        let http = HttpClient::new(&crate::config::ChannelSection::http(config)).map_err(setup)?;
        let direct = match config.mode {
            LakalaMode::Backend => None,
            LakalaMode::Direct => {
                let (Some(key), Some(cert)) = (&config.private_key, &config.lakala_cert) else {
                    return Err(setup("direct mode needs private_key and lakala_cert".into()));
                };
                let signer = RequestSigner::from_pem_file(&config.appid, &config.serial_no, &whole.resolve(key))
                    .map_err(setup)?;
                let verifier = PlatformVerifier::from_pem_file(&whole.resolve(cert)).map_err(setup)?;
                Some(Direct { signer, verifier })
            }
        };
        let table = if config.uses_counter() { LAKALA_METHODS } else { LAKALA_PREORDER_METHODS };
        let direct_mode = direct.is_some();
        // Backend mode's legacy aggregated QR takes no tender (the customer's wallet decides)
        // and has no close call.
        let legacy_qr = !direct_mode && !config.uses_counter();
        let caps = Capabilities {
            barcode: true,
            qr: true,
            cancel: direct_mode,
            close: !legacy_qr,
            refund: direct_mode,
            refund_resend: direct_mode,
            barcode_wallets: vec!["alipay".into(), "wechat".into(), "unionpay".into()],
            methods: if legacy_qr { Vec::new() } else { Method::from_table(&config.methods, table) },
            display: Display::Qr,
        };
        let codes = |configured: &Option<Vec<String>>, default: &[&str]| {
            configured.clone().unwrap_or_else(|| default.iter().map(|c| c.to_string()).collect())
        };
        Ok(LakalaChannel {
            http,
            notify_nonces: Default::default(),
            caps,
            direct,
            not_found: codes(&config.not_found_codes, DEFAULT_NOT_FOUND),
            definitive: codes(&config.definitive_failures, DEFAULT_DEFINITIVE),
            config: config.clone(),
        })
    }

    fn counter_for(&self, order: &Order<'_>) -> bool {
        order.flow == Flow::Qr && self.config.uses_counter()
    }

    /// An order made by seed 000's legacy calls (backend micropay, or the legacy QR): nothing can
    /// close or cancel it, and the backend's query may not know it.
    fn legacy(&self, order: &Order<'_>) -> bool {
        self.direct.is_none() && !self.counter_for(order)
    }

    fn method<'a>(&'a self, order: &Order<'a>) -> &'a str {
        order.method.or(self.config.methods.first().map(String::as_str)).unwrap_or("ALIPAY")
    }

    fn subject<'a>(&'a self, order: &Order<'a>) -> String {
        let s = if order.subject.trim().is_empty() { &self.config.order_info } else { order.subject };
        s.chars().take(SUBJECT_LIMIT).collect()
    }

    fn location(&self) -> Value {
        json!({ "request_ip": self.config.request_ip })
    }

    /// Posts `body` (the whole JSON body: direct calls have already been wrapped) and reads it.
    async fn post(&self, call: &str, path: &str, body: &Value, secret: Option<&str>) -> Exchanged<Got> {
        let text = match serde_json::to_string(body) {
            Ok(t) => t,
            Err(e) => return Exchanged::new(not_encoded(call, e), |t| self.read(&t)),
        };
        let mut request = self.http.post(path).header("Content-Type", "application/json");
        request = match (&self.direct, &self.config.token) {
            (Some(d), _) => request.header("Authorization", d.signer.authorization(&text)),
            (None, Some(token)) => request.bearer_auth(token.reveal()),
            (None, None) => request,
        };
        let ex = self.http.exchange(call, request.body(text.clone()), Some(&text), secret).await;
        Exchanged::new(ex, |t| self.read(&t))
    }

    /// A direct call: the v3 envelope around `req_data`.
    async fn post_direct(&self, call: &str, path: &str, req_data: Value, secret: Option<&str>) -> Exchanged<Got> {
        let req_time = self.wall_clock(crate::ledger::now_ms());
        let body = json!({ "req_time": req_time, "version": "3.0", "req_data": req_data });
        self.post(call, path, &body, secret).await
    }

    pub(crate) fn read(&self, transport: &Transport) -> Got {
        let (status, headers, body) = match transport {
            Transport::NotSent(why) => return Got::NotSent(why.clone()),
            Transport::Lost(why) => return Got::Unknown(why.clone()),
            Transport::Answered { status, headers, body } => (*status, headers, body),
        };
        if let Some(direct) = &self.direct {
            if let Err(why) = direct.verifier.verify_reply(headers, body) {
                return Got::Unknown(format!("HTTP {status}, reply not trusted: {why}"));
            }
        }
        if status >= 500 {
            return Got::Unknown(format!("HTTP {status}: {}", excerpt(body)));
        }
        let envelope: Envelope = match serde_json::from_slice(body) {
            Ok(e) => e,
            Err(e) => return Got::Unknown(format!("HTTP {status}, unreadable reply: {e}")),
        };
        let Some(code) = envelope.code else {
            return Got::Unknown(format!("HTTP {status}, reply has no code"));
        };
        // Seed 001's own front-end reads `data`; the documented envelope is `resp_data`.
        let data = envelope.resp_data.or(envelope.data).unwrap_or(Value::Null);
        if !(data.is_object() || data.is_null()) {
            return Got::Unknown(format!("HTTP {status}, resp_data is not an object"));
        }
        Got::Answer(Answer { status, code, msg: envelope.msg.unwrap_or_default(), data })
    }

    fn failure(a: &Answer) -> Failure {
        Failure { code: a.code.clone(), message: a.msg.chars().take(200).collect() }
    }

    /// Only a clear refusal (2xx or 4xx) is definitive; a redirect or 5xx never is.
    fn is_definitive(&self, a: &Answer) -> bool {
        self.definitive.contains(&a.code) && is_clear(a.status)
    }

    fn is_not_found(&self, a: &Answer) -> bool {
        self.not_found.contains(&a.code) && (is_2xx(a.status) || a.status == 404)
    }

    fn unknown(a: &Answer) -> String {
        format!("HTTP {}, code {}: {}", a.status, a.code, a.msg.chars().take(200).collect::<String>())
    }

    /// A non-success answer to a query: "no such order", or unknown. A refused query (even our
    /// signature refused) says nothing about the payment.
    fn refusal(&self, a: &Answer) -> PayOutcome {
        if self.is_not_found(a) {
            PayOutcome::NotFound
        } else {
            PayOutcome::Unknown(Self::unknown(a))
        }
    }

    /// A pay call's answer read up to its data about our order, or the outcome to give instead:
    /// one of `paying` is the customer still confirming; another code than `ok` is failed when
    /// listed definitive, else unknown ("not found" makes no sense in reply to a pay call).
    fn pay_answer(&self, got: Got, order: &Order<'_>, ok: &str, paying: &[&str]) -> Result<TradeData, PayOutcome> {
        let a = match got {
            Got::Answer(a) => a,
            Got::NotSent(why) => return Err(PayOutcome::NotSent(why)),
            Got::Unknown(why) => return Err(PayOutcome::Unknown(why)),
        };
        if is_2xx(a.status) && paying.contains(&a.code.as_str()) {
            return Err(PayOutcome::Waiting);
        }
        if a.code != ok || !is_2xx(a.status) {
            return Err(if self.is_definitive(&a) {
                PayOutcome::Failed(Self::failure(&a))
            } else {
                PayOutcome::Unknown(Self::unknown(&a))
            });
        }
        let d: TradeData = read_data(&a.data).map_err(PayOutcome::Unknown)?;
        match d.mismatch(order) {
            Some(why) => Err(PayOutcome::Unknown(why)),
            None => Ok(d),
        }
    }

    pub(crate) fn pay_outcome(&self, got: Got, order: &Order<'_>) -> PayOutcome {
        let d = match self.pay_answer(got, order, LABS_OK, &[LABS_PAYING]) {
            Ok(d) => d,
            Err(outcome) => return outcome,
        };
        if d.need_query.as_deref() == Some("1") {
            return PayOutcome::Waiting;
        }
        d.paid(order, self.config.time_zone)
    }

    /// A query's answer read up to its data about our order, or the outcome to give instead.
    fn query_answer(&self, got: Got, ok: &str, order: &Order<'_>) -> Result<(TradeData, String), PayOutcome> {
        let a = match got {
            Got::Answer(a) => a,
            Got::NotSent(why) => return Err(PayOutcome::NotSent(why)),
            Got::Unknown(why) => return Err(PayOutcome::Unknown(why)),
        };
        if a.code != ok || !is_2xx(a.status) {
            return Err(self.refusal(&a));
        }
        let d: TradeData = read_data(&a.data).map_err(PayOutcome::Unknown)?;
        if let Some(why) = d.mismatch(order) {
            return Err(PayOutcome::Unknown(why));
        }
        Ok((d, a.msg))
    }

    pub(crate) fn labs_query_outcome(&self, got: Got, order: &Order<'_>) -> PayOutcome {
        let (d, msg) = match self.query_answer(got, LABS_OK, order) {
            Ok(answer) => answer,
            Err(outcome) => return outcome,
        };
        match d.trade_state.as_deref() {
            // A partial refund needs a paid trade: ours, since a reversal always returns it all.
            Some("SUCCESS" | "PART_REFUND") => d.paid(order, self.config.time_zone),
            // Returned in full before we recorded it paid: our reversal, its reply lost.
            Some("REFUND") => match d.paid(order, self.config.time_zone) {
                PayOutcome::Paid { trade_no, .. } => PayOutcome::Refunded { trade_no },
                other => other,
            },
            Some("INIT" | "CREATE" | "DEAL") => PayOutcome::Waiting,
            Some("FAIL") => PayOutcome::Failed(Failure { code: "FAIL".into(), message: msg }),
            Some("CLOSE") => PayOutcome::Closed,
            other => PayOutcome::Unknown(format!("trade_state {}", other.unwrap_or("missing"))),
        }
    }

    /// Counter query: `order_status` as text (backend) or as a number (direct). Backend mode
    /// answers this one query for the legacy orders too (our reading of seed 000): for those, "not
    /// paid yet" is `Unpaid` (nothing can close them). Where the backend keeps no legacy orders
    /// (`legacy_orders_queryable = false`), its "no such order" says nothing: unknown, never a
    /// reason to conclude a charged payment was never there.
    pub(crate) fn counter_query_outcome(&self, got: Got, order: &Order<'_>) -> PayOutcome {
        let legacy = self.legacy(order);
        let (d, msg) = match self.query_answer(got, COUNTER_OK, order) {
            Ok(answer) => answer,
            Err(PayOutcome::NotFound) if legacy && !self.config.legacy_orders_queryable => {
                return PayOutcome::Unknown("the backend keeps no legacy orders: not found says nothing".into())
            }
            Err(outcome) => return outcome,
        };
        let status = d.order_status.as_deref().unwrap_or("");
        match (self.direct.is_some(), status) {
            (false, "SUCCESS") | (true, "2" | "6") => d.paid(order, self.config.time_zone),
            (false, "FAILED") | (true, "3") => PayOutcome::Failed(Failure { code: status.into(), message: msg }),
            (false, "CLOSED") | (true, "4" | "5" | "7") => PayOutcome::Closed,
            (true, "0" | "1") => PayOutcome::Waiting,
            // Seed 001: anything else is still pending.
            (false, s) if !s.is_empty() && legacy => PayOutcome::Unpaid,
            (false, s) if !s.is_empty() => PayOutcome::Waiting,
            (_, s) => PayOutcome::Unknown(format!("order_status {}", if s.is_empty() { "missing" } else { s })),
        }
    }

    /// A create's reply. Only a clear answer about our order (2xx or 4xx; verified in direct
    /// mode) says anything; and a clear answer without a page or QR is a refusal whatever its
    /// code: nothing was shown, so nobody can pay.
    pub(crate) fn created(&self, got: Got, order: &Order<'_>, ok: &str) -> CreateOutcome {
        let a = match got {
            Got::Answer(a) => a,
            Got::NotSent(why) => return CreateOutcome::NotSent(why),
            Got::Unknown(why) => return CreateOutcome::Unknown(why),
        };
        if !is_clear(a.status) {
            return CreateOutcome::Unknown(Self::unknown(&a));
        }
        let d: TradeData = match read_data(&a.data) {
            Ok(d) => d,
            Err(why) => return CreateOutcome::Unknown(why),
        };
        if let Some(why) = d.mismatch(order) {
            return CreateOutcome::Unknown(why);
        }
        let payload = d.counter_url.or(d.acc_resp_fields.and_then(|f| f.code)).or(d.qr_code);
        page_or_refusal(a.code == ok && is_2xx(a.status), payload, || Self::failure(&a))
    }

    pub(crate) fn close_outcome(&self, got: Got, ok: &str) -> PayOutcome {
        match got {
            Got::Answer(a) if a.code == ok && is_2xx(a.status) => PayOutcome::Closed,
            Got::Answer(a) if self.is_not_found(&a) => PayOutcome::NotFound,
            // Refused (e.g. already paid): the engine queries to learn which.
            Got::Answer(a) if a.status < 500 => PayOutcome::Failed(Self::failure(&a)),
            Got::Answer(a) => PayOutcome::Unknown(Self::unknown(&a)),
            Got::NotSent(why) => PayOutcome::NotSent(why),
            Got::Unknown(why) => PayOutcome::Unknown(why),
        }
    }

    /// Maps a revoke reply (the revoke's own request number is the order's with a `C`).
    pub(crate) fn cancel_outcome(got: Got, order: &Order<'_>) -> CancelOutcome {
        match got {
            Got::Answer(a) if a.code == LABS_OK && is_2xx(a.status) => match read_data::<TradeData>(&a.data) {
                Ok(d) if d.out_trade_no.as_deref().is_some_and(|no| no != format!("{}C", order.id)) => {
                    CancelOutcome::Unknown("revoke reply names another request".into())
                }
                Ok(d) => CancelOutcome::Reversed {
                    was_paid: Some(matches!(d.trade_state.as_deref(), Some("REFUND" | "SUCCESS"))),
                },
                Err(why) => CancelOutcome::Unknown(why),
            },
            Got::Answer(a) if a.code == LABS_PAYING && is_2xx(a.status) => CancelOutcome::Retry,
            Got::Answer(a) if a.status < 500 => CancelOutcome::Failed(Self::failure(&a)),
            Got::Answer(a) => CancelOutcome::Unknown(Self::unknown(&a)),
            Got::NotSent(why) => CancelOutcome::NotSent(why),
            Got::Unknown(why) => CancelOutcome::Unknown(why),
        }
    }

    /// Maps a refund reply for the refund request `refund_id`.
    pub(crate) fn refund_outcome(&self, got: Got, refund_id: &str) -> RefundOutcome {
        match got {
            Got::Answer(a) if a.code == LABS_OK && is_2xx(a.status) => match read_data::<TradeData>(&a.data) {
                Ok(d) if d.out_trade_no.as_deref().is_some_and(|no| no != refund_id) => {
                    RefundOutcome::Unknown("refund reply names another request".into())
                }
                Ok(d) => match d.trade_state.as_deref() {
                    Some("SUCCESS") => RefundOutcome::Succeeded { refund_no: d.trade_no },
                    Some("DEAL" | "INIT" | "CREATE") => RefundOutcome::Processing { refund_no: d.trade_no },
                    Some("FAIL") => RefundOutcome::Failed(Failure { code: "FAIL".into(), message: a.msg }),
                    other => RefundOutcome::Unknown(format!("refund trade_state {}", other.unwrap_or("missing"))),
                },
                Err(why) => RefundOutcome::Unknown(why),
            },
            Got::Answer(a) if self.is_definitive(&a) => RefundOutcome::Failed(Self::failure(&a)),
            Got::Answer(a) => RefundOutcome::Unknown(Self::unknown(&a)),
            Got::NotSent(why) => RefundOutcome::NotSent(why),
            Got::Unknown(why) => RefundOutcome::Unknown(why),
        }
    }

    /// Backend mode's barcode payment: seed 000's legacy micropay. The seed contradicts itself on
    /// following it up (§1.2 "usually no separate query, the notify tells"; §2.1's front-end polls
    /// the status). Our reading: poll the backend's one query call (`counter/query`) with our order
    /// number; a notify only triggers that query; an order the query cannot find is never
    /// concluded "not charged" (see `counter_query_outcome`).
    async fn legacy_micropay(&self, order: &Order<'_>, code: &str) -> Reply<PayOutcome> {
        let body = json!({ "req_data": {
            "merchant_no": order.merchant, "term_no": self.config.term_no,
            "total_fee": self.legacy_fee(order.amount), "auth_code": code, "out_trade_no": order.id,
        }});
        let ex = self.post("legacy_micropay", "/api/v1/payment/lakala/micropay", &body, Some(code)).await;
        ex.into_reply(|got| self.legacy_pay_outcome(got, order))
    }

    /// A verified notify's time is within `notify_max_age_seconds` of ours, and its nonce was not
    /// taken within that window (Lakala signs every delivery afresh: a repeat is a replay).
    fn first_seen(&self, stamp: &sign::NotifyStamp) -> Result<(), String> {
        let now = crate::ledger::now_ms() / 1000;
        let max_age = self.config.notify_max_age_seconds as i64;
        let off = now.saturating_sub(stamp.timestamp);
        if off.saturating_abs() > max_age {
            return Err(format!("the notify was signed {off} s from now, over {max_age} s"));
        }
        let mut seen = self.notify_nonces.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, at| now.saturating_sub(*at) <= max_age);
        if seen.insert(stamp.nonce.clone(), stamp.timestamp).is_some() {
            return Err("a notify seen before (replayed)".into());
        }
        Ok(())
    }

    /// The legacy calls' `total_fee`, in `legacy_amount_unit` (seed 000: "may differ" from fen).
    fn legacy_fee(&self, amount: Fen) -> String {
        self.config.legacy_amount_unit.write(amount, AmountText::TwoDecimals)
    }

    /// Seed 000's micropay reply: `000000` with a `transaction_id` for our order is paid (the
    /// seed's reply names no amount; one that names another amount is not believed); without
    /// one, the customer is still confirming; "paying" codes likewise; a listed definitive code
    /// failed; anything else unknown, then queried.
    pub(crate) fn legacy_pay_outcome(&self, got: Got, order: &Order<'_>) -> PayOutcome {
        let d = match self.pay_answer(got, order, COUNTER_OK, LEGACY_PAYING) {
            Ok(d) => d,
            Err(outcome) => return outcome,
        };
        if let Some(fee) = &d.total_fee {
            if self.config.legacy_amount_unit.read(fee) != Some(order.amount) {
                return PayOutcome::Unknown(format!("reply total_fee {fee} is not our amount"));
            }
        }
        match (d.order_no(), d.transaction_id.clone().or(d.trade_no.clone())) {
            (Some(no), Some(trade_no)) if no == order.id => PayOutcome::Paid {
                trade_no: Some(trade_no),
                paid_at: d.time_end.as_deref().and_then(|t| channel_time_ms(t, COMPACT_LOCAL, self.config.time_zone)),
            },
            _ => PayOutcome::Waiting,
        }
    }

    /// An instant as Lakala's `yyyyMMddHHmmss`, in the channel's zone.
    fn wall_clock(&self, ms: i64) -> String {
        channel_time_text(ms, COMPACT_LOCAL, self.config.time_zone)
    }

    /// `order_efficient_time`: when the counter page stops taking payment. Whole seconds, rounded
    /// up from the screen's own deadline, so the channel never expires a code still shown.
    fn efficient_time(&self, expires_at_ms: i64) -> String {
        self.wall_clock(expires_at_ms.saturating_add(999) / 1000 * 1000)
    }
}

#[async_trait]
impl Channel for LakalaChannel {
    fn id(&self) -> &'static str {
        "lakala"
    }

    fn name(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => "拉卡拉",
            Lang::En => "Lakala",
        }
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    fn account(&self) -> &str {
        &self.config.merchant_no
    }

    async fn barcode_pay(&self, order: &Order<'_>, code: &str) -> Reply<PayOutcome> {
        if self.direct.is_none() {
            return self.legacy_micropay(order, code).await;
        }
        let mut req = json!({
            "merchant_no": order.merchant, "term_no": self.config.term_no, "out_trade_no": order.id,
            "auth_code": code, "total_amount": order.amount.0.to_string(),
            "location_info": self.location(), "subject": self.subject(order),
        });
        if let Some(url) = &self.config.notify_url {
            req["notify_url"] = json!(url);
        }
        let ex = self.post_direct("micropay", "/api/v3/labs/trans/micropay", req, Some(code)).await;
        ex.into_reply(|got| self.pay_outcome(got, order))
    }

    /// The counter page's `order_efficient_time` is the screen's deadline rounded up to the next
    /// whole second; preorder QR codes have no expiry of their own (the engine closes them).
    fn qr_expiry(&self, shown: Duration) -> Duration {
        shown + Duration::from_secs(1)
    }

    fn lapse_watch(&self) -> Duration {
        Duration::from_millis(self.config.lapse_watch_ms)
    }

    async fn create_qr(&self, order: &Order<'_>, expires_at_ms: i64) -> Reply<CreateOutcome> {
        let subject = self.subject(order);
        let method = self.method(order);
        let optional = |req: &mut Value| {
            for (key, value) in [
                ("notify_url", &self.config.notify_url),
                ("callback_url", &self.config.callback_url),
                ("vpos_id", &self.config.vpos_id),
                ("channel_id", &self.config.channel_id),
            ] {
                if let Some(v) = value {
                    req[key] = json!(v);
                }
            }
        };
        let flag = |on: bool| json!(u8::from(on));
        let (cancel, refund, repeat) =
            (flag(self.config.support_cancel), flag(self.config.support_refund), flag(self.config.support_repeat_pay));
        let (ex, ok) = match (&self.direct, self.config.uses_counter()) {
            (None, true) => {
                let mut body = json!({
                    "out_order_no": order.id, "total_amount": order.amount.0, "order_info": subject,
                    "payment_method": method, "order_efficient_time": self.efficient_time(expires_at_ms),
                    "support_cancel": cancel, "support_refund": refund, "support_repeat_pay": repeat,
                });
                optional(&mut body);
                (self.post("counter_create", "/api/v1/payment/lakala/counter/create", &body, None).await, COUNTER_OK)
            }
            // Seed 000's legacy aggregated QR: `req_data` with the seed's fields, `qr_code` back.
            (None, false) => {
                let body = json!({ "req_data": {
                    "merchant_no": order.merchant, "term_no": self.config.term_no,
                    "total_fee": self.legacy_fee(order.amount), "out_trade_no": order.id,
                }});
                (self.post("legacy_preorder", "/api/v1/payment/lakala/preorder", &body, None).await, COUNTER_OK)
            }
            (Some(_), true) => {
                let mut req = json!({
                    "out_order_no": order.id, "merchant_no": order.merchant, "total_amount": order.amount.0,
                    "order_efficient_time": self.efficient_time(expires_at_ms), "order_info": subject,
                    "support_cancel": cancel, "support_refund": refund, "support_repeat_pay": repeat,
                    "counter_param": { "pay_mode": method },
                });
                optional(&mut req);
                let path = "/api/v3/ccss/counter/order/special_create";
                (self.post_direct("counter_create", path, req, None).await, COUNTER_OK)
            }
            (Some(_), false) => {
                let mut req = json!({
                    "merchant_no": order.merchant, "term_no": self.config.term_no, "out_trade_no": order.id,
                    "account_type": method, "trans_type": "41", "total_amount": order.amount.0.to_string(),
                    "location_info": self.location(), "subject": subject,
                });
                if let Some(url) = &self.config.notify_url {
                    req["notify_url"] = json!(url);
                }
                (self.post_direct("preorder", "/api/v3/labs/trans/preorder", req, None).await, LABS_OK)
            }
        };
        ex.into_reply(|got| self.created(got, order, ok))
    }

    async fn query(&self, order: &Order<'_>) -> Reply<PayOutcome> {
        let counter = self.counter_for(order);
        let ex = match (&self.direct, counter) {
            (None, _) => {
                let body = json!({ "out_order_no": order.id });
                self.post("counter_query", "/api/v1/payment/lakala/counter/query", &body, None).await
            }
            (Some(_), true) => {
                let req = json!({ "out_order_no": order.id, "merchant_no": order.merchant });
                self.post_direct("counter_query", "/api/v3/ccss/counter/order/query", req, None).await
            }
            (Some(_), false) => {
                let req =
                    json!({ "merchant_no": order.merchant, "term_no": self.config.term_no, "out_trade_no": order.id });
                self.post_direct("tradequery", "/api/v3/labs/query/tradequery", req, None).await
            }
        };
        ex.into_reply(|got| {
            if counter || self.direct.is_none() {
                self.counter_query_outcome(got, order)
            } else {
                self.labs_query_outcome(got, order)
            }
        })
    }

    async fn cancel(&self, order: &Order<'_>) -> Reply<CancelOutcome> {
        if self.direct.is_none() {
            return unsupported(CancelOutcome::NotSent("no cancel call".into()), "lakala backend mode has no cancel");
        }
        let req = json!({
            "merchant_no": order.merchant, "term_no": self.config.term_no,
            "out_trade_no": format!("{}C", order.id), "origin_out_trade_no": order.id,
            "location_info": self.location(),
        });
        let ex = self.post_direct("revoked", "/api/v3/labs/relation/revoked", req, None).await;
        ex.into_reply(|got| Self::cancel_outcome(got, order))
    }

    async fn close(&self, order: &Order<'_>) -> Reply<PayOutcome> {
        let (ex, ok) = match (&self.direct, self.counter_for(order)) {
            (None, _) => {
                let body = json!({ "out_order_no": order.id });
                (self.post("counter_close", "/api/v1/payment/lakala/counter/close", &body, None).await, COUNTER_OK)
            }
            (Some(_), true) => {
                let req = json!({ "out_order_no": order.id, "merchant_no": order.merchant });
                (self.post_direct("counter_close", "/api/v3/ccss/counter/order/close", req, None).await, COUNTER_OK)
            }
            (Some(_), false) => {
                let req = json!({
                    "merchant_no": order.merchant, "term_no": self.config.term_no,
                    "origin_out_trade_no": order.id, "location_info": self.location(),
                });
                (self.post_direct("close", "/api/v3/labs/relation/close", req, None).await, LABS_OK)
            }
        };
        ex.into_reply(|got| self.close_outcome(got, ok))
    }

    async fn refund(&self, order: &Order<'_>, refund_id: &str, amount: Fen, reason: &str) -> Reply<RefundOutcome> {
        if self.direct.is_none() {
            return unsupported(RefundOutcome::NotSent("no refund call".into()), "lakala backend mode has no refund");
        }
        let req = json!({
            "merchant_no": order.merchant, "term_no": self.config.term_no, "out_trade_no": refund_id,
            "origin_out_trade_no": order.id, "refund_amount": amount.0.to_string(),
            "refund_reason": reason, "location_info": self.location(),
        });
        let ex = self.post_direct("refund", "/api/v3/labs/relation/refund", req, None).await;
        ex.into_reply(|got| self.refund_outcome(got, refund_id))
    }

    /// Direct: signed by Lakala, recent, and not seen before; a verified "paid" that names the
    /// merchant carries order, amount and merchant for the receiver to cross-check (without the
    /// merchant it is only a reason to query). Backend: unsigned, so only a reason to query.
    fn read_notify(&self, authorization: Option<&str>, body: &[u8]) -> Notice {
        if let Some(direct) = &self.direct {
            let Some(auth) = authorization else {
                return Notice::Refused("the notify is not signed".into());
            };
            let fresh = direct.verifier.verify_notify(auth, body).and_then(|stamp| self.first_seen(&stamp));
            if let Err(why) = fresh {
                return Notice::Refused(why);
            }
        }
        let d: NotifyData = match serde_json::from_slice(body) {
            Ok(d) => d,
            Err(e) => return Notice::Refused(format!("unreadable notify: {e}")),
        };
        let Some(order_id) = d.out_trade_no.clone().or(d.out_order_no.clone()).filter(|id| !id.is_empty()) else {
            return Notice::Refused("the notify names no order".into());
        };
        let paid = d.trade_status.as_deref() == Some("SUCCESS") || d.order_status.as_deref() == Some("2");
        match (self.direct.is_some(), paid, d.total_amount, d.merchant_no.filter(|m| !m.is_empty())) {
            (true, true, Some(amount), Some(merchant)) => Notice::Paid {
                order_id,
                amount,
                merchant: Some(merchant),
                trade_no: d.trade_no.or(d.pay_order_no),
                paid_at: d.trade_time.as_deref().and_then(|t| channel_time_ms(t, COMPACT_LOCAL, self.config.time_zone)),
            },
            _ => Notice::QueryNow { order_id },
        }
    }

    fn notify_ack(&self) -> String {
        if self.direct.is_some() {
            json!({ "code": "SUCCESS", "message": "执行成功" }).to_string()
        } else {
            let now = self.wall_clock(crate::ledger::now_ms());
            json!({ "code": COUNTER_OK, "msg": "Notification received successfully", "resp_time": now }).to_string()
        }
    }
}

/// A notify body, labs or counter (tolerant reader).
#[derive(Deserialize, Debug)]
struct NotifyData {
    out_trade_no: Option<String>,
    out_order_no: Option<String>,
    merchant_no: Option<String>,
    trade_no: Option<String>,
    pay_order_no: Option<String>,
    trade_status: Option<String>,
    #[serde(default, deserialize_with = "code_text")]
    order_status: Option<String>,
    #[serde(default, deserialize_with = "fen_json::option::deserialize")]
    total_amount: Option<Fen>,
    trade_time: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend() -> LakalaChannel {
        let text = "[terminal]\ncode=\"T1\"\n[channels.lakala]\nmode=\"backend\"\nbase_url=\"http://127.0.0.1:9\"\ntoken=\"t\"\n";
        let config = Config::parse(text, std::path::Path::new("c.toml")).unwrap();
        LakalaChannel::new(config.channels.lakala.as_ref().unwrap(), &config).unwrap()
    }

    const ORDER: Order<'static> =
        Order { id: "T1261122000000001", amount: Fen(100), subject: "", merchant: "M", method: None, flow: Flow::Qr };

    fn answer(code: &str, data: Value) -> Got {
        Got::Answer(Answer { status: 200, code: code.into(), msg: String::new(), data })
    }

    #[test]
    fn the_backend_reads_text_statuses_and_falls_back_to_data() {
        let ch = backend();
        let data = json!({ "out_order_no": ORDER.id, "order_status": "SUCCESS", "total_amount": "100" });
        assert!(matches!(ch.counter_query_outcome(answer("000000", data), &ORDER), PayOutcome::Paid { .. }));
        let pending = json!({ "out_order_no": ORDER.id, "order_status": "PAYING" });
        assert_eq!(ch.counter_query_outcome(answer("000000", pending), &ORDER), PayOutcome::Waiting);
        // Another amount: not believed.
        let cheaper = json!({ "out_order_no": ORDER.id, "order_status": "SUCCESS", "total_amount": 1 });
        assert!(matches!(ch.counter_query_outcome(answer("000000", cheaper), &ORDER), PayOutcome::Unknown(_)));
        // Paid without naming the amount: not believed either.
        let bare = json!({ "out_order_no": ORDER.id, "order_status": "SUCCESS" });
        assert!(matches!(ch.counter_query_outcome(answer("000000", bare), &ORDER), PayOutcome::Unknown(_)));
        // `data` instead of `resp_data`.
        let body = br#"{"code":"000000","data":{"out_order_no":"T1261122000000001","order_status":"CLOSED"}}"#;
        let got = ch.read(&Transport::Answered { status: 200, headers: Default::default(), body: body.to_vec() });
        assert_eq!(ch.counter_query_outcome(got, &ORDER), PayOutcome::Closed);
        assert_eq!(ch.counter_query_outcome(answer("ORDER_NOT_EXIST", Value::Null), &ORDER), PayOutcome::NotFound);
        assert!(matches!(ch.counter_query_outcome(answer("999999", Value::Null), &ORDER), PayOutcome::Unknown(_)));
    }

    #[test]
    fn malformed_replies_are_unknown() {
        let ch = backend();
        for body in [
            &b"<html>502 Bad Gateway</html>"[..],
            br#"{"code":"000000","resp_data":"SUCCESS"}"#,
            br#"{"msg":"no code"}"#,
            br#"{"code":"000000","resp_data":{"out_order_no":"T1261122000000001","order_status":"SUCCESS","total_amount":"1.5"}}"#,
            br#"{"code":"000000","resp_data":{"out_order_no":7}}"#,
            &[0xff, 0xfe, 0x00][..],
        ] {
            let got = ch.read(&Transport::Answered { status: 200, headers: Default::default(), body: body.to_vec() });
            assert!(
                matches!(ch.counter_query_outcome(got, &ORDER), PayOutcome::Unknown(_)),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_create_needs_a_page_for_our_order() {
        let ch = backend();
        let ok = json!({ "out_order_no": ORDER.id, "counter_url": "https://pay.lakala.com/x", "total_amount": "100" });
        assert_eq!(
            ch.created(answer("000000", ok), &ORDER, COUNTER_OK),
            CreateOutcome::Created { payload: "https://pay.lakala.com/x".into() }
        );
        let other = json!({ "out_order_no": "SOMEONE", "counter_url": "https://x" });
        assert!(matches!(ch.created(answer("000000", other), &ORDER, COUNTER_OK), CreateOutcome::Unknown(_)));
        // A clear answer without a page: nothing was shown, nobody can pay (whatever the code).
        assert!(
            matches!(ch.created(answer("000000", json!({})), &ORDER, COUNTER_OK), CreateOutcome::Failed(f) if f.code == "NO_PAGE")
        );
        assert!(
            matches!(ch.created(answer("X99", Value::Null), &ORDER, COUNTER_OK), CreateOutcome::Failed(f) if f.code == "X99")
        );
        // A refusal that carries a page, or a 5xx, is no clear answer.
        let page = json!({ "out_order_no": ORDER.id, "counter_url": "https://x" });
        assert!(matches!(ch.created(answer("X99", page), &ORDER, COUNTER_OK), CreateOutcome::Unknown(_)));
        let gateway = Got::Answer(Answer { status: 502, code: "X".into(), msg: String::new(), data: Value::Null });
        assert!(matches!(ch.created(gateway, &ORDER, COUNTER_OK), CreateOutcome::Unknown(_)));
    }

    #[test]
    fn legacy_micropay_replies() {
        let ch = backend();
        let order = Order { flow: Flow::Barcode, ..ORDER };
        let paid = json!({ "out_trade_no": ORDER.id, "transaction_id": "202411191234567890" });
        assert!(matches!(
            ch.legacy_pay_outcome(answer("000000", paid), &order),
            PayOutcome::Paid { trade_no: Some(_), .. }
        ));
        for waiting in [answer("BBS10000", Value::Null), answer("000000", json!({ "out_trade_no": ORDER.id }))] {
            assert_eq!(ch.legacy_pay_outcome(waiting, &order), PayOutcome::Waiting);
        }
        let other = json!({ "out_trade_no": "SOMEONE", "transaction_id": "1" });
        assert!(matches!(ch.legacy_pay_outcome(answer("000000", other), &order), PayOutcome::Unknown(_)));
        let cheaper = json!({ "out_trade_no": ORDER.id, "transaction_id": "1", "total_fee": "1" });
        assert!(matches!(ch.legacy_pay_outcome(answer("000000", cheaper), &order), PayOutcome::Unknown(_)));
        assert!(matches!(ch.legacy_pay_outcome(answer("BBS11112", Value::Null), &order), PayOutcome::Failed(_)));
        assert!(matches!(ch.legacy_pay_outcome(answer("E123", Value::Null), &order), PayOutcome::Unknown(_)));
        // Its query: "not yet" is unpaid (nothing closes it); "no such order" means one where the
        // backend keeps legacy orders, and nothing where it does not.
        let pending = json!({ "out_order_no": ORDER.id, "order_status": "PENDING" });
        assert_eq!(ch.counter_query_outcome(answer("000000", pending), &order), PayOutcome::Unpaid);
        assert_eq!(ch.counter_query_outcome(answer("ORDER_NOT_EXIST", Value::Null), &order), PayOutcome::NotFound);
        let text = "[terminal]\ncode=\"T1\"\n[channels.lakala]\nmode=\"backend\"\nbase_url=\"http://127.0.0.1:9\"\ntoken=\"t\"\nlegacy_orders_queryable=false\n";
        let config = Config::parse(text, std::path::Path::new("c.toml")).unwrap();
        let forgetful = LakalaChannel::new(config.channels.lakala.as_ref().unwrap(), &config).unwrap();
        let not_found = forgetful.counter_query_outcome(answer("ORDER_NOT_EXIST", Value::Null), &order);
        assert!(matches!(not_found, PayOutcome::Unknown(_)), "{not_found:?}");
    }

    #[test]
    fn the_counter_page_expiry_is_the_screens_rounded_up_in_beijing_time() {
        let ch = backend();
        // 2026-01-15 08:00:00.250 UTC is 16:00:00.250 in Beijing: the page lives to 16:00:01.
        assert_eq!(ch.efficient_time(1_768_464_000_250), "20260115160001");
        assert_eq!(ch.efficient_time(1_768_464_000_000), "20260115160000");
        assert!(ch.qr_expiry(Duration::from_millis(1_001)) >= Duration::from_millis(2_001));
    }
}
