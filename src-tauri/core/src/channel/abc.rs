//! `abc`: the ABC (农行) integrated-cashier service for Alipay (seed 004).
//!
//! Wire format: JSON, camelCase, amounts in yuan as JSON numbers with two decimals. The service
//! has no cancel, close or signature [seed]: a barcode payment the customer never confirms cannot
//! be reversed from here, so the engine keeps querying until the service reads `CLOSED`
//! (see CHANNELS.md, "no-cancel behaviour").
//!
//! Assumptions, each written in the README's channel section too:
//! - Definitive answers come only from a 2xx reply, or a 4xx refusal (`isSuccess:false`) with one
//!   of [`DEFINITIVE_FAILURES`]; 3xx, 5xx and other 4xx replies are unknown.
//! - `paid` needs `isSuccess:true` and the reply's `orderNo` and `amount` equal to ours.
//! - `isSuccess:false` on a *query* means the query itself failed: only `ORDER_NOT_FOUND` (on a
//!   404 or 2xx) is read as "no such order"; any other code is unknown, never a failed payment.
//! - On a *pay* call, `FAILED` is definitive only with one of [`DEFINITIVE_FAILURES`]; any other
//!   code, or none, is unknown and resolved by query.
//! - A create reply's `status` says nothing about payment (the seed's WAP/PC replies say `SUCCESS`
//!   for an unpaid order): a create is only ever "created".

use super::http::{excerpt, not_encoded, HttpClient, Transport};
use super::{
    channel_time_ms, is_clear, page_or_refusal, unsupported, Capabilities, Channel, ChannelSetupError, CreateOutcome,
    Exchanged, Failure, Order, PayOutcome, RefundOutcome, Reply, ISO_LOCAL,
};
use crate::config::{AbcConfig, ChannelSection, ChannelZone};
use crate::i18n::Lang;
use crate::money::{yuan_json, Fen};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Error codes after which nothing was charged and a retry with the same data cannot succeed.
pub const DEFINITIVE_FAILURES: &[&str] = &[
    "AUTHCODE_INVALID",
    "2308",
    "AP7346",
    "PARAM_ERROR",
    // Not in the seed's table; what the sandbox (and, we expect, the service) sends for a wallet's
    // own refusal. Unlisted codes still end right: unknown, then the query reads FAILED.
    "BALANCE_NOT_ENOUGH",
    "USER_CANCELLED",
];

const USER_PAYING: &str = "1002";
const ORDER_NOT_FOUND: &str = "ORDER_NOT_FOUND";

pub struct AbcChannel {
    http: HttpClient,
    config: AbcConfig,
    caps: Capabilities,
}

/// The page-flow variants of the create call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    Wap,
    Pc,
}

/// One request body for every create call; each call fills exactly the fields the seed lists
/// for it and the rest are left out (strict writer).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody<'a> {
    order_no: &'a str,
    #[serde(with = "yuan_json")]
    amount: Fen,
    merchant_id: &'a str,
    goods_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notify_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    return_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quit_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expired_date: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RefundBody<'a> {
    order_no: &'a str,
    #[serde(with = "yuan_json")]
    refund_amount: Fen,
    refund_reason: &'a str,
    merchant_id: &'a str,
}

/// Every field any reply may carry; unknown fields are ignored (tolerant reader), but a field
/// that is present must be well-formed or the whole reply is unreadable (→ unknown).
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AbcReply {
    is_success: Option<bool>,
    order_no: Option<String>,
    transaction_id: Option<String>,
    third_order_no: Option<String>,
    pub(crate) qr_code_url: Option<String>,
    pub(crate) payment_url: Option<String>,
    pub(crate) order_string: Option<String>,
    #[serde(default, deserialize_with = "yuan_json::option::deserialize")]
    amount: Option<Fen>,
    status: Option<String>,
    message: Option<String>,
    #[serde(default, deserialize_with = "super::code_text")]
    error_code: Option<String>,
    pay_time: Option<String>,
    refund_no: Option<String>,
    #[serde(default, deserialize_with = "yuan_json::option::deserialize")]
    refund_amount: Option<Fen>,
}

/// A reply that was answered and parsed, or why it could not be used.
pub(crate) enum Read {
    Reply { status: u16, reply: Box<AbcReply> },
    NotSent(String),
    Unknown(String),
}

impl AbcReply {
    fn failure(&self) -> Failure {
        Failure {
            code: self.error_code.clone().or_else(|| self.status.clone()).unwrap_or_else(|| "FAILED".into()),
            message: self.message.clone().unwrap_or_default(),
        }
    }

    /// Rule 6: a reply about another order or another amount changes nothing.
    fn mismatch(&self, order: &Order<'_>) -> Option<String> {
        if let Some(no) = &self.order_no {
            if no != order.id {
                return Some(format!("reply is for order {no}, not {}", order.id));
            }
        }
        if let Some(amount) = self.amount {
            if amount != order.amount {
                return Some(format!("reply amount {amount} is not {}", order.amount));
            }
        }
        None
    }

    fn trade_no(&self) -> Option<String> {
        self.third_order_no.clone().or_else(|| self.transaction_id.clone())
    }

    /// A payment is confirmed only by a reply that names our order and our amount.
    fn confirms(&self, order: &Order<'_>) -> bool {
        self.is_success == Some(true) && self.order_no.as_deref() == Some(order.id) && self.amount == Some(order.amount)
    }

    fn names(&self, order: &Order<'_>) -> bool {
        self.order_no.as_deref() == Some(order.id)
    }

    /// `payTime` is the service's wall clock, in its zone.
    fn paid(&self, zone: ChannelZone) -> PayOutcome {
        PayOutcome::Paid {
            trade_no: self.trade_no(),
            paid_at: self.pay_time.as_deref().and_then(|t| channel_time_ms(t, ISO_LOCAL, zone)),
        }
    }

    /// A refusal the service gives with a code after which nothing can have been charged.
    fn definitive_refusal(&self) -> bool {
        self.is_success == Some(false) && is_definitive(self.error_code.as_deref())
    }
}

fn is_definitive(code: Option<&str>) -> bool {
    code.is_some_and(|c| DEFINITIVE_FAILURES.contains(&c))
}

/// `expiredDate` is whole minutes [seed]; rounded up so the service never closes a code the screen
/// still shows.
fn expired_minutes(shown: Duration) -> u64 {
    (shown.as_millis().div_ceil(60_000) as u64).max(1)
}

fn is_2xx(status: u16) -> bool {
    (200..300).contains(&status)
}

impl AbcChannel {
    pub fn new(config: &AbcConfig) -> Result<AbcChannel, ChannelSetupError> {
        let http = HttpClient::new(&config.http()).map_err(|why| ChannelSetupError { channel: "abc".into(), why })?;
        let caps = Capabilities {
            barcode: true,
            qr: true,
            cancel: false,
            close: false,
            refund: true,
            refund_resend: false,
            barcode_wallets: vec!["alipay".into()],
            methods: Vec::new(),
            display: super::Display::Qr,
        };
        Ok(AbcChannel { http, config: config.clone(), caps })
    }

    fn body<'a>(&'a self, order: &Order<'a>) -> CreateBody<'a> {
        CreateBody {
            order_no: order.id,
            amount: order.amount,
            merchant_id: order.merchant,
            goods_name: if order.subject.trim().is_empty() { &self.config.goods_name } else { order.subject },
            auth_code: None,
            notify_url: self.config.notify_url.as_deref(),
            return_url: None,
            quit_url: None,
            expired_date: None,
        }
    }

    /// Sends, parses, and keeps the audit record. `secret` is masked wherever it appears.
    async fn exchange(
        &self,
        call: &str,
        request: reqwest::RequestBuilder,
        body: Option<&str>,
        secret: Option<&str>,
    ) -> Exchanged<Read> {
        Exchanged::new(self.http.exchange(call, request, body, secret).await, read)
    }

    async fn post_create(
        &self,
        call: &str,
        path: &str,
        body: &CreateBody<'_>,
        secret: Option<&str>,
    ) -> Exchanged<Read> {
        self.post_json(call, path, body, secret).await
    }

    /// Posts a body serialized straight to text, so amounts stay the exact raw numbers.
    async fn post_json(&self, call: &str, path: &str, body: &impl Serialize, secret: Option<&str>) -> Exchanged<Read> {
        let text = match serde_json::to_string(body) {
            Ok(t) => t,
            Err(e) => return Exchanged::new(not_encoded(call, e), read),
        };
        let request = self.http.post(path).header("Content-Type", "application/json").body(text.clone());
        self.exchange(call, request, Some(&text), secret).await
    }

    /// The WAP or PC page flow: `paymentUrl`, shown as a QR or opened in a customer window.
    pub async fn create_page(&self, order: &Order<'_>, kind: PageKind) -> Reply<CreateOutcome> {
        let Some(return_url) = self.config.return_url.as_deref() else {
            let why = "channels.abc.return_url is required for page payments".to_string();
            return unsupported(CreateOutcome::NotSent(why.clone()), &why);
        };
        let mut body = self.body(order);
        body.return_url = Some(return_url);
        let (call, path) = match kind {
            PageKind::Wap => {
                body.quit_url = self.config.quit_url.as_deref();
                ("wap", "/api/payment/alipay/wap")
            }
            PageKind::Pc => ("pc", "/api/payment/alipay/pc"),
        };
        let ex = self.post_create(call, path, &body, None).await;
        ex.into_reply(|read| created(read, order, |r| r.payment_url.clone()))
    }

    /// The APP call: an `orderString` for a mobile SDK. A desk cashier does not use it.
    pub async fn create_app(&self, order: &Order<'_>) -> Reply<CreateOutcome> {
        let body = self.body(order);
        let ex = self.post_create("app", "/api/payment/alipay/app", &body, None).await;
        ex.into_reply(|read| created(read, order, |r| r.order_string.clone()))
    }
}

pub(crate) fn read(transport: Transport) -> Read {
    match transport {
        Transport::NotSent(why) => Read::NotSent(why),
        Transport::Lost(why) => Read::Unknown(why),
        Transport::Answered { status, body, .. } if status >= 500 => {
            Read::Unknown(format!("HTTP {status}: {}", excerpt(&body)))
        }
        Transport::Answered { status, body, .. } => match serde_json::from_slice::<AbcReply>(&body) {
            Ok(reply) => Read::Reply { status, reply: Box::new(reply) },
            Err(e) => Read::Unknown(format!("HTTP {status}, unreadable reply: {e}")),
        },
    }
}

/// Maps a create reply: a page means created, whatever `status` says (the seed's WAP/PC replies
/// say `SUCCESS` for an unpaid order); a clear answer without one is a refusal.
pub(crate) fn created(read: Read, order: &Order<'_>, payload: impl Fn(&AbcReply) -> Option<String>) -> CreateOutcome {
    let (status, reply) = match read {
        Read::NotSent(why) => return CreateOutcome::NotSent(why),
        Read::Unknown(why) => return CreateOutcome::Unknown(why),
        Read::Reply { status, reply } => (status, reply),
    };
    // Only the service's clear answer about our order says anything: `isSuccess` true on a 2xx,
    // or false on a 2xx or 4xx (a 4xx without it may be a proxy's).
    let clear = match reply.is_success {
        Some(true) => is_2xx(status),
        Some(false) => is_clear(status),
        None => false,
    };
    if !clear {
        return CreateOutcome::Unknown(format!("HTTP {status}, code {}", reply.failure().code));
    }
    if let Some(why) = reply.mismatch(order) {
        return CreateOutcome::Unknown(why);
    }
    page_or_refusal(reply.is_success == Some(true), payload(&reply), || reply.failure())
}

/// Maps a barcode-pay reply.
pub(crate) fn pay_outcome(read: Read, order: &Order<'_>, zone: ChannelZone) -> PayOutcome {
    let (status, reply) = match read {
        Read::NotSent(why) => return PayOutcome::NotSent(why),
        Read::Unknown(why) => return PayOutcome::Unknown(why),
        Read::Reply { status, reply } => (status, reply),
    };
    if let Some(why) = reply.mismatch(order) {
        return PayOutcome::Unknown(why);
    }
    let code = reply.error_code.as_deref();
    let unknown = || {
        PayOutcome::Unknown(format!(
            "HTTP {status}, status {}, code {}",
            reply.status.as_deref().unwrap_or("-"),
            code.unwrap_or("-")
        ))
    };
    if !is_2xx(status) {
        return if reply.definitive_refusal() { PayOutcome::Failed(reply.failure()) } else { unknown() };
    }
    match reply.status.as_deref() {
        Some("SUCCESS") if reply.confirms(order) => reply.paid(zone),
        Some("USERPAYING") | Some("PENDING") => PayOutcome::Waiting,
        _ if code == Some(USER_PAYING) => PayOutcome::Waiting,
        Some("FAILED") | None if reply.definitive_refusal() => PayOutcome::Failed(reply.failure()),
        Some("CLOSED") if reply.names(order) => PayOutcome::Closed,
        _ => unknown(),
    }
}

/// Maps a query reply. `isSuccess:false` is about the query, not the payment.
pub(crate) fn query_outcome(read: Read, order: &Order<'_>, zone: ChannelZone) -> PayOutcome {
    let (status, reply) = match read {
        Read::NotSent(why) => return PayOutcome::NotSent(why),
        Read::Unknown(why) => return PayOutcome::Unknown(why),
        Read::Reply { status, reply } => (status, reply),
    };
    if reply.error_code.as_deref() == Some(ORDER_NOT_FOUND) && (status == 404 || is_2xx(status)) {
        return PayOutcome::NotFound;
    }
    if !is_2xx(status) || reply.is_success != Some(true) {
        return PayOutcome::Unknown(format!("HTTP {status}, query refused: {}", reply.failure().code));
    }
    if let Some(why) = reply.mismatch(order) {
        return PayOutcome::Unknown(why);
    }
    match reply.status.as_deref() {
        Some("SUCCESS") if reply.confirms(order) => reply.paid(zone),
        Some("PENDING") | Some("USERPAYING") => PayOutcome::Waiting,
        Some("FAILED") if reply.names(order) => PayOutcome::Failed(reply.failure()),
        Some("CLOSED") if reply.names(order) => PayOutcome::Closed,
        other => PayOutcome::Unknown(format!(
            "HTTP {status}, status {} without our order number and amount",
            other.unwrap_or("-")
        )),
    }
}

pub(crate) fn refund_outcome(read: Read, order: &Order<'_>, amount: Fen) -> RefundOutcome {
    let (status, reply) = match read {
        Read::NotSent(why) => return RefundOutcome::NotSent(why),
        Read::Unknown(why) => return RefundOutcome::Unknown(why),
        Read::Reply { status, reply } => (status, reply),
    };
    if reply.order_no.as_deref().is_some_and(|no| no != order.id) {
        return RefundOutcome::Unknown("refund reply is for another order".into());
    }
    if reply.refund_amount.is_some_and(|a| a != amount) {
        return RefundOutcome::Unknown(format!("refund reply amount is not {amount}"));
    }
    if reply.definitive_refusal() {
        return RefundOutcome::Failed(reply.failure());
    }
    if !is_2xx(status) {
        return RefundOutcome::Unknown(format!("HTTP {status}, code {}", reply.failure().code));
    }
    let refund_no = reply.refund_no.clone();
    match reply.status.as_deref() {
        Some("SUCCESS") if reply.is_success == Some(true) => RefundOutcome::Succeeded { refund_no },
        Some("PROCESSING") => RefundOutcome::Processing { refund_no },
        other => RefundOutcome::Unknown(format!(
            "refund status {}, code {}",
            other.unwrap_or("-"),
            reply.error_code.as_deref().unwrap_or("-")
        )),
    }
}

#[async_trait]
impl Channel for AbcChannel {
    fn id(&self) -> &'static str {
        "abc"
    }

    fn name(&self, lang: Lang) -> &'static str {
        lang.pick("农行收银台·支付宝", "ABC cashier · Alipay")
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    fn account(&self) -> &str {
        &self.config.merchant_id
    }

    fn qr_expiry(&self, shown: Duration) -> Duration {
        Duration::from_secs(expired_minutes(shown) * 60)
    }

    async fn barcode_pay(&self, order: &Order<'_>, code: &str) -> Reply<PayOutcome> {
        let mut body = self.body(order);
        body.auth_code = Some(code);
        let ex = self.post_create("barcode", "/api/payment/alipay/barcode", &body, Some(code)).await;
        ex.into_reply(|read| pay_outcome(read, order, self.config.time_zone))
    }

    async fn create_qr(&self, order: &Order<'_>, expires_at_ms: i64) -> Reply<CreateOutcome> {
        let mut body = self.body(order);
        // Minutes from now, rounded up: counted from when the service receives it, so its expiry
        // is never before the screen's.
        let left = Duration::from_millis((expires_at_ms - crate::ledger::now_ms()).max(0) as u64);
        body.expired_date = Some(expired_minutes(left).to_string());
        let ex = self.post_create("qrcode", "/api/payment/alipay/qrcode", &body, None).await;
        ex.into_reply(|read| created(read, order, |r| r.qr_code_url.clone()))
    }

    async fn query(&self, order: &Order<'_>) -> Reply<PayOutcome> {
        let path = format!("/api/payment/alipay/query/{}", order.id);
        let request = self.http.get(&path).header("X-Merchant-Id", order.merchant);
        let ex = self.exchange("query", request, None, None).await;
        ex.into_reply(|read| query_outcome(read, order, self.config.time_zone))
    }

    async fn refund(&self, order: &Order<'_>, _refund_id: &str, amount: Fen, reason: &str) -> Reply<RefundOutcome> {
        // The service takes no refund request number of ours [seed]; the ledger's refund id
        // stays local, and an unknown result is left for a person rather than re-sent.
        let body = RefundBody {
            order_no: order.id,
            refund_amount: amount,
            refund_reason: reason,
            merchant_id: order.merchant,
        };
        let ex = self.post_json("refund", "/api/payment/alipay/refund", &body, None).await;
        ex.into_reply(|read| refund_outcome(read, order, amount))
    }
}

#[cfg(test)]
mod tests {
    //! The reply mapping as pure logic; the wire itself is tested against the sandbox.
    use super::*;

    const BJ: ChannelZone = ChannelZone(match chrono::FixedOffset::east_opt(8 * 3600) {
        Some(z) => z,
        None => panic!("+08:00"),
    });

    const ORDER: Order<'static> = Order {
        id: "T0126112210300001",
        amount: Fen(6800),
        subject: "x",
        merchant: "M1",
        method: None,
        flow: crate::ledger::Flow::Barcode,
    };

    fn read(status: u16, body: &str) -> Read {
        match serde_json::from_str::<AbcReply>(body) {
            Ok(reply) => Read::Reply { status, reply: Box::new(reply) },
            Err(e) => Read::Unknown(e.to_string()),
        }
    }

    const SUCCESS: &str = r#"{"isSuccess":true,"orderNo":"T0126112210300001","transactionId":"ABC1","thirdOrderNo":"2026X","amount":68.00,"status":"SUCCESS","message":"支付成功","payTime":"2026-01-15T16:00:00"}"#;

    #[test]
    fn pay_replies_from_the_seed() {
        let paid_at = channel_time_ms("2026-01-15T16:00:00", ISO_LOCAL, ChannelZone::default());
        assert_eq!(paid_at, Some(1_768_464_000_000), "16:00 Beijing time is 08:00 UTC");
        assert!(paid_at.is_some());
        assert_eq!(
            pay_outcome(read(200, SUCCESS), &ORDER, BJ),
            PayOutcome::Paid { trade_no: Some("2026X".into()), paid_at }
        );
        let paying = r#"{"isSuccess":false,"orderNo":"T0126112210300001","status":"USERPAYING","message":"用户支付中，请轮询查询","errorCode":"1002"}"#;
        assert_eq!(pay_outcome(read(200, paying), &ORDER, BJ), PayOutcome::Waiting);
        let paying_numeric = r#"{"isSuccess":false,"errorCode":1002}"#;
        assert_eq!(pay_outcome(read(200, paying_numeric), &ORDER, BJ), PayOutcome::Waiting);
        let invalid = r#"{"isSuccess":false,"status":"FAILED","errorCode":"AUTHCODE_INVALID","message":"付款码无效"}"#;
        assert_eq!(
            pay_outcome(read(200, invalid), &ORDER, BJ),
            PayOutcome::Failed(Failure { code: "AUTHCODE_INVALID".into(), message: "付款码无效".into() })
        );
        // A 400 refusal with a listed code is definitive too (the sandbox's PARAM_ERROR, AP7346).
        let refused = r#"{"isSuccess":false,"status":"FAILED","errorCode":"AP7346","message":"缺少订单详情"}"#;
        assert!(matches!(pay_outcome(read(400, refused), &ORDER, BJ), PayOutcome::Failed(_)));
    }

    #[test]
    fn doubtful_pay_replies_are_unknown_never_failed() {
        for (status, body) in [
            (200, r#"{"isSuccess":false,"status":"FAILED","errorCode":"SYSTEM_ERROR"}"#),
            (200, r#"{"isSuccess":false,"status":"FAILED"}"#),
            (200, r#"{"status":"FAILED","message":"系统繁忙"}"#),
            (200, r#"{"isSuccess":true,"status":"UNKNOWN"}"#),
            (200, r#"{"isSuccess":false,"status":"SUCCESS"}"#),
            (200, r#"{"isSuccess":true}"#),
            (200, r#"{"status":"SUCCESS"}"#),
            (200, r#"{"isSuccess":true,"status":"SUCCESS","amount":68.00}"#),
            (200, r#"{"isSuccess":true,"orderNo":"T0126112210300001","status":"SUCCESS"}"#),
            (200, r#"{"isSuccess":true,"orderNo":"OTHER","amount":68.00,"status":"SUCCESS"}"#),
            (200, r#"{"isSuccess":true,"orderNo":"T0126112210300001","amount":0.01,"status":"SUCCESS"}"#),
            (200, r#"{"isSuccess":true,"amount":68.001,"status":"SUCCESS"}"#),
            (200, r#"{"isSuccess":tr"#),
            (200, ""),
            (403, r#"{"status":"FAILED","message":"forbidden"}"#),
            (429, r#"{"isSuccess":false,"status":"FAILED","errorCode":"TOO_MANY"}"#),
            (302, SUCCESS),
        ] {
            assert!(matches!(pay_outcome(read(status, body), &ORDER, BJ), PayOutcome::Unknown(_)), "{status} {body}");
        }
    }

    #[test]
    fn query_replies() {
        let q = |status: u16, body: &str| query_outcome(read(status, body), &ORDER, BJ);
        let named = |rest: &str| format!(r#"{{"isSuccess":true,"orderNo":"T0126112210300001",{rest}}}"#);
        assert_eq!(q(200, &named(r#""status":"PENDING""#)), PayOutcome::Waiting);
        assert_eq!(q(200, &named(r#""status":"CLOSED""#)), PayOutcome::Closed);
        assert!(matches!(q(200, &named(r#""status":"FAILED","errorCode":"USER_CANCELLED""#)), PayOutcome::Failed(_)));
        assert!(matches!(q(200, &named(r#""status":"SUCCESS","amount":68.00"#)), PayOutcome::Paid { .. }));
        assert_eq!(q(404, r#"{"isSuccess":false,"errorCode":"ORDER_NOT_FOUND"}"#), PayOutcome::NotFound);
        assert_eq!(q(200, r#"{"isSuccess":false,"errorCode":"ORDER_NOT_FOUND"}"#), PayOutcome::NotFound);
        for (status, body) in [
            // A refused query is not a failed payment.
            (200, r#"{"isSuccess":false,"status":"FAILED","errorCode":"PARAM_ERROR"}"#.to_string()),
            (401, named(r#""status":"FAILED""#)),
            (403, r#"{"isSuccess":false,"errorCode":"ORDER_NOT_FOUND"}"#.to_string()),
            (404, "<html>not here</html>".to_string()),
            // Without our order number or amount nothing is definitive.
            (200, r#"{"isSuccess":true,"status":"FAILED"}"#.to_string()),
            (200, r#"{"isSuccess":true,"status":"CLOSED"}"#.to_string()),
            (200, named(r#""status":"SUCCESS""#)),
            (200, r#"{"status":"SUCCESS","orderNo":"T0126112210300001","amount":68.00}"#.to_string()),
            (200, named(r#""status":"UNKNOWN""#)),
            (200, named(r#""status":"WHATEVER""#)),
        ] {
            assert!(matches!(q(status, &body), PayOutcome::Unknown(_)), "{status} {body}");
        }
    }

    #[test]
    fn create_status_never_means_paid() {
        let wap = r#"{"isSuccess":true,"orderNo":"T0126112210300001","paymentUrl":"https://openapi.alipay.com/gateway.do?x","amount":68.00,"status":"SUCCESS"}"#;
        assert_eq!(
            created(read(200, wap), &ORDER, |r| r.payment_url.clone()),
            CreateOutcome::Created { payload: "https://openapi.alipay.com/gateway.do?x".into() }
        );
        let missing = r#"{"isSuccess":false,"errorCode":"AP7346","message":"缺少订单详情"}"#;
        assert!(matches!(created(read(400, missing), &ORDER, |r| r.qr_code_url.clone()), CreateOutcome::Failed(_)));
        // A clear answer without a page is a refusal, whatever its code: nothing was shown.
        let empty = r#"{"isSuccess":true,"qrCodeUrl":""}"#;
        assert!(
            matches!(created(read(200, empty), &ORDER, |r| r.qr_code_url.clone()), CreateOutcome::Failed(f) if f.code == "NO_PAGE")
        );
        let unlisted = r#"{"isSuccess":false,"errorCode":"SYSTEM_BUSY","message":"系统繁忙"}"#;
        assert!(
            matches!(created(read(200, unlisted), &ORDER, |r| r.qr_code_url.clone()), CreateOutcome::Failed(f) if f.code == "SYSTEM_BUSY")
        );
        let answered_without_verdict = r#"{"orderNo":"T0126112210300001"}"#;
        assert!(matches!(
            created(read(200, answered_without_verdict), &ORDER, |r| r.qr_code_url.clone()),
            CreateOutcome::Unknown(_)
        ));
        let gateway = r#"{"message":"bad gateway"}"#;
        assert!(matches!(created(read(401, gateway), &ORDER, |r| r.qr_code_url.clone()), CreateOutcome::Unknown(_)));
    }

    #[test]
    fn refund_replies_are_checked_against_the_request() {
        let ok = r#"{"isSuccess":true,"orderNo":"T0126112210300001","refundNo":"RF1","refundAmount":50.00,"status":"SUCCESS"}"#;
        assert_eq!(
            refund_outcome(read(200, ok), &ORDER, Fen(5000)),
            RefundOutcome::Succeeded { refund_no: Some("RF1".into()) }
        );
        assert!(matches!(refund_outcome(read(200, ok), &ORDER, Fen(4999)), RefundOutcome::Unknown(_)));
        let processing = r#"{"isSuccess":true,"status":"PROCESSING"}"#;
        assert_eq!(
            refund_outcome(read(200, processing), &ORDER, Fen(1)),
            RefundOutcome::Processing { refund_no: None }
        );
        let over =
            r#"{"isSuccess":false,"status":"FAILED","errorCode":"PARAM_ERROR","message":"退款金额超过可退金额"}"#;
        assert!(matches!(refund_outcome(read(400, over), &ORDER, Fen(1)), RefundOutcome::Failed(_)));
        let bare = r#"{"status":"FAILED"}"#;
        assert!(matches!(refund_outcome(read(200, bare), &ORDER, Fen(1)), RefundOutcome::Unknown(_)));
    }

    #[test]
    fn qr_expiry_rounds_up_to_whole_minutes() {
        let ms = |v| expired_minutes(Duration::from_millis(v));
        assert_eq!((ms(1), ms(60_000), ms(60_001), ms(300_000)), (1, 1, 2, 5));
    }

    #[test]
    fn requests_are_written_exactly() {
        let body = CreateBody {
            order_no: "T1",
            amount: Fen(10_000),
            merchant_id: "103881636900016",
            goods_name: "测试商品",
            auth_code: Some("280123456789012345"),
            notify_url: None,
            return_url: None,
            quit_url: None,
            expired_date: None,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"orderNo":"T1","amount":100.00,"merchantId":"103881636900016","goodsName":"测试商品","authCode":"280123456789012345"}"#
        );
        let refund =
            RefundBody {
                order_no: "T1", refund_amount: Fen(5000), refund_reason: "用户申请退款", merchant_id: "M"
            };
        assert_eq!(
            serde_json::to_string(&refund).unwrap(),
            r#"{"orderNo":"T1","refundAmount":50.00,"refundReason":"用户申请退款","merchantId":"M"}"#
        );
    }
}
