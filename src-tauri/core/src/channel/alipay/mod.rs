//! `alipay`: Alipay's own OpenAPI gateway (当面付: payment codes and merchant-shown QR codes).
//!
//! Every call is `POST {base_url}/gateway.do` with the common parameters (and `sign`) in the query
//! string and `biz_content` in the form body, as the official SDKs send them. Replies are
//! `{"<method>_response":{…},"sign":"…"}`, verified over the exact text of the inner object.
//!
//! Readings of the documentation, each written in the README's channel section too:
//! - Only a reply whose `sign` verifies is believed. An unsigned reply (Alipay leaves some error
//!   replies unsigned) or one that does not verify is unknown, then queried: a forged "failed"
//!   must never make the ledger drop a charge.
//! - `10000` is an answer, `10003` (pay only) means the customer is confirming, `20000` is
//!   unknown. `40004` is a failure only with a `sub_code` of the configured table (defaults:
//!   [`ALIPAY_PAY_FAILURES`]); any other `sub_code` is unknown and queried. `40001`, `40002` and
//!   `40006` (the request itself refused: missing or illegal parameter, no permission) are
//!   failures: nothing was processed.
//! - `paid` needs `out_trade_no` and `total_amount` equal to ours.
//! - A precreated QR order does not exist at Alipay until the customer scans it. Before that,
//!   query and close answer `ACQ.TRADE_NOT_EXIST` and the code can still be paid until its
//!   `timeout_express`: for a QR order that is "unpaid, and cannot be closed" ([`PayOutcome::Unpaid`]),
//!   so the payment lapses and is watched instead of failing.
//! - `TRADE_CLOSED` covers "never paid", "cancelled" and "paid then refunded in full": all three
//!   end with the customer's money where it started. One that carries a payment time
//!   (`send_pay_date`, which stays on a trade once paid) had been charged: it reads as refunded
//!   (the ledger's `reversed`, money given back), not closed; one without reads as closed.
//! - A refund is done on `fund_change=Y`; otherwise (a repeat of the same `out_request_no`, or
//!   no such field) `alipay.trade.fastpay.refund.query` decides, and only
//!   `refund_status=REFUND_SUCCESS` means refunded. Re-sending the same number and amount is safe.

pub mod sign;

use super::http::{not_encoded, Answer, HttpClient, Transport};
use super::{
    channel_time_ms, page_or_refusal, CancelOutcome, Capabilities, Channel, ChannelSetupError, CreateOutcome,
    Exchanged, Failure, Notice, Order, PayOutcome, RefundOutcome, Reply, StatementOutcome, SPACED_LOCAL,
};
use crate::config::{AlipayConfig, AlipayKeys, ChannelZone, Config};
use crate::i18n::Lang;
use crate::ledger::Flow;
use crate::money::Fen;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sign::{AlipayVerifier, AppSigner};
use std::collections::BTreeMap;
use std::time::Duration;

const GATEWAY: &str = "/gateway.do";
const SUCCESS: &str = "10000";
const PAYING: &str = "10003";
const UNKNOWN: &str = "20000";
const BUSINESS_FAILED: &str = "40004";
/// The request itself was refused before any business ran: missing or illegal parameters,
/// insufficient permissions.
const REQUEST_REFUSED: &[&str] = &["40001", "40002", "40006"];
const TRADE_NOT_EXIST: &str = "ACQ.TRADE_NOT_EXIST";
const BILL_NOT_EXIST: &str = "ACQ.BILL_NOT_EXIST";

/// The certificate-mode serial numbers (`app_cert_sn`, `alipay_root_cert_sn`, and the
/// `alipay_cert_sn` replies must carry).
#[derive(Debug, Clone)]
struct CertSns {
    app: String,
    root: String,
    alipay: String,
}

pub struct AlipayChannel {
    http: HttpClient,
    config: AlipayConfig,
    caps: Capabilities,
    signer: AppSigner,
    keys: ReplyKeys,
    pay_failures: Vec<String>,
    refund_failures: Vec<String>,
}

/// What a reply is checked with.
#[derive(Debug, Clone)]
pub struct ReplyKeys {
    verifier: AlipayVerifier,
    certs: Option<CertSns>,
}

impl ReplyKeys {
    /// Public-key mode with Alipay's public key (PEM or Base64 text).
    pub fn public_key(text: &str) -> Result<ReplyKeys, String> {
        Ok(ReplyKeys { verifier: AlipayVerifier::from_text(text)?, certs: None })
    }
}

/// The fields of any `…_response` object we read; unknown fields are ignored, and a field
/// that is present must be well-formed text or the whole reply is unreadable (unknown).
#[derive(Deserialize, Debug, Default, Clone)]
pub(crate) struct Inner {
    #[serde(default, deserialize_with = "super::code_text")]
    code: Option<String>,
    msg: Option<String>,
    sub_code: Option<String>,
    sub_msg: Option<String>,
    trade_no: Option<String>,
    out_trade_no: Option<String>,
    total_amount: Option<String>,
    trade_status: Option<String>,
    gmt_payment: Option<String>,
    send_pay_date: Option<String>,
    pub(crate) qr_code: Option<String>,
    retry_flag: Option<String>,
    action: Option<String>,
    fund_change: Option<String>,
    out_request_no: Option<String>,
    refund_amount: Option<String>,
    refund_status: Option<String>,
    bill_download_url: Option<String>,
}

/// A reply that was answered, signed and parsed, or why it could not be used.
#[derive(Debug)]
pub(crate) enum Read {
    Reply(Box<Inner>),
    NotSent(String),
    Unknown(String),
}

impl Inner {
    fn code(&self) -> &str {
        self.code.as_deref().unwrap_or("")
    }

    fn failure(&self) -> Failure {
        let code = self.sub_code.clone().or_else(|| self.code.clone()).unwrap_or_else(|| "FAILED".into());
        let message = self.sub_msg.clone().or_else(|| self.msg.clone()).unwrap_or_default();
        Failure { code, message: message.trim().to_string() }
    }

    fn describe(&self) -> String {
        format!("code {} {}", self.code(), self.sub_code.as_deref().unwrap_or(""))
    }

    fn amount(&self) -> Option<Fen> {
        self.total_amount.as_deref().and_then(|t| Fen::parse_yuan_wire(t).ok())
    }

    /// A reply about another order, or another amount, says nothing about ours.
    fn mismatch(&self, order: &Order<'_>) -> Option<String> {
        if let Some(no) = self.out_trade_no.as_deref().filter(|no| *no != order.id) {
            return Some(format!("reply is for order {no}, not {}", order.id));
        }
        if let Some(text) = &self.total_amount {
            if self.amount() != Some(order.amount) {
                return Some(format!("reply amount {text} is not {}", order.amount.yuan_text()));
            }
        }
        None
    }

    /// Paid is said only by a reply naming our order and our amount.
    fn confirms(&self, order: &Order<'_>) -> bool {
        self.out_trade_no.as_deref() == Some(order.id) && self.amount() == Some(order.amount)
    }

    fn paid(&self, zone: ChannelZone) -> PayOutcome {
        let time = self.gmt_payment.as_deref().or(self.send_pay_date.as_deref());
        PayOutcome::Paid {
            trade_no: self.trade_no.clone(),
            paid_at: time.and_then(|t| channel_time_ms(t, SPACED_LOCAL, zone)),
        }
    }

    fn listed(&self, table: &[String]) -> bool {
        self.sub_code.as_deref().is_some_and(|c| table.iter().any(|t| t == c))
    }

    /// A refusal after which nothing happened: the request refused outright, or a business
    /// failure whose `sub_code` is in `table`.
    fn definitive_failure(&self, table: &[String]) -> bool {
        REQUEST_REFUSED.contains(&self.code()) || (self.code() == BUSINESS_FAILED && self.listed(table))
    }
}

/// The key of a method's reply object: `alipay.trade.pay` → `alipay_trade_pay_response`.
fn response_key(method: &str) -> String {
    format!("{}_response", method.replace('.', "_"))
}

/// Reads a gateway reply: finds the method's object (or `error_response`), checks `sign` over
/// its exact text and, in certificate mode, that the reply names our Alipay certificate.
pub(crate) fn read(transport: Transport, method: &str, keys: &ReplyKeys) -> Read {
    let body = match transport.body_2xx() {
        Answer::Body(body) => body,
        Answer::NotSent(why) => return Read::NotSent(why),
        Answer::Unknown(why) => return Read::Unknown(why),
    };
    read_body(&body, method, keys)
}

pub(crate) fn read_body(body: &[u8], method: &str, keys: &ReplyKeys) -> Read {
    let top: BTreeMap<String, Box<RawValue>> = match serde_json::from_slice(body) {
        Ok(top) => top,
        Err(e) => return Read::Unknown(format!("unreadable reply: {e}")),
    };
    let Some(object) = top.get(&response_key(method)).or_else(|| top.get("error_response")) else {
        return Read::Unknown(format!("the reply has no {} object", response_key(method)));
    };
    let text_of = |key: &str| top.get(key).and_then(|raw| serde_json::from_str::<String>(raw.get()).ok());
    let inner: Inner = match serde_json::from_str(object.get()) {
        Ok(inner) => inner,
        Err(e) => return Read::Unknown(format!("unreadable {}: {e}", response_key(method))),
    };
    let Some(sign) = text_of("sign").filter(|s| !s.is_empty()) else {
        return Read::Unknown(format!("an unsigned reply ({}): not believed", inner.describe()));
    };
    if let Some(certs) = &keys.certs {
        match text_of("alipay_cert_sn") {
            Some(sn) if sn != certs.alipay => {
                return Read::Unknown(format!(
                    "the reply is signed with Alipay certificate {sn}, not the configured {}: update alipay_cert",
                    certs.alipay
                ))
            }
            _ => {}
        }
    }
    if let Err(why) = keys.verifier.verify(object.get().as_bytes(), &sign) {
        return Read::Unknown(format!("{why} ({})", inner.describe()));
    }
    Read::Reply(Box::new(inner))
}

/// `timeout_express` is whole minutes [doc: 1m–15d, no decimals]: rounded up, so Alipay never
/// closes a code the screen still shows.
fn timeout_minutes(shown: Duration) -> u64 {
    (shown.as_millis().div_ceil(60_000) as u64).max(1)
}

/// A QR order's "no such trade": not scanned yet, so unpaid and impossible to close; for a
/// barcode order, "no such order".
fn not_exist(order: &Order<'_>) -> PayOutcome {
    match order.flow {
        Flow::Qr => PayOutcome::Unpaid,
        Flow::Barcode => PayOutcome::NotFound,
    }
}

pub(crate) fn pay_outcome(read: Read, order: &Order<'_>, zone: ChannelZone, failures: &[String]) -> PayOutcome {
    let reply = match read {
        Read::NotSent(why) => return PayOutcome::NotSent(why),
        Read::Unknown(why) => return PayOutcome::Unknown(why),
        Read::Reply(reply) => reply,
    };
    if let Some(why) = reply.mismatch(order) {
        return PayOutcome::Unknown(why);
    }
    match reply.code() {
        SUCCESS if reply.confirms(order) => reply.paid(zone),
        PAYING => PayOutcome::Waiting,
        _ if reply.definitive_failure(failures) => PayOutcome::Failed(reply.failure()),
        _ => PayOutcome::Unknown(reply.describe()),
    }
}

pub(crate) fn created(read: Read, order: &Order<'_>) -> CreateOutcome {
    match read {
        Read::NotSent(why) => CreateOutcome::NotSent(why),
        Read::Unknown(why) => CreateOutcome::Unknown(why),
        Read::Reply(reply) if reply.out_trade_no.as_deref().is_some_and(|no| no != order.id) => {
            CreateOutcome::Unknown("precreate reply is for another order".into())
        }
        Read::Reply(reply) if reply.code() == SUCCESS => {
            page_or_refusal(true, reply.qr_code.clone(), || reply.failure())
        }
        // Precreate charges nobody: any clear refusal leaves nothing to pay.
        Read::Reply(reply) if reply.code() == BUSINESS_FAILED || REQUEST_REFUSED.contains(&reply.code()) => {
            page_or_refusal(false, reply.qr_code.clone(), || reply.failure())
        }
        Read::Reply(reply) => CreateOutcome::Unknown(reply.describe()),
    }
}

pub(crate) fn query_outcome(read: Read, order: &Order<'_>, zone: ChannelZone) -> PayOutcome {
    let reply = match read {
        Read::NotSent(why) => return PayOutcome::NotSent(why),
        Read::Unknown(why) => return PayOutcome::Unknown(why),
        Read::Reply(reply) => reply,
    };
    if reply.code() == BUSINESS_FAILED && reply.sub_code.as_deref() == Some(TRADE_NOT_EXIST) {
        return not_exist(order);
    }
    if reply.code() != SUCCESS {
        return PayOutcome::Unknown(format!("query refused: {}", reply.describe()));
    }
    if let Some(why) = reply.mismatch(order) {
        return PayOutcome::Unknown(why);
    }
    let names = reply.out_trade_no.as_deref() == Some(order.id);
    match reply.trade_status.as_deref() {
        Some("TRADE_SUCCESS" | "TRADE_FINISHED") if reply.confirms(order) => reply.paid(zone),
        Some("WAIT_BUYER_PAY") if names => PayOutcome::Waiting,
        // Closed after it was paid (it has a payment time): refunded in full, by our cancel whose
        // answer was lost or by refunds. Reading: `send_pay_date` stays on a trade once paid.
        Some("TRADE_CLOSED") if names && reply.send_pay_date.is_some() => {
            PayOutcome::Refunded { trade_no: reply.trade_no.clone() }
        }
        Some("TRADE_CLOSED") if names => PayOutcome::Closed,
        other => PayOutcome::Unknown(format!("trade_status {} without our order and amount", other.unwrap_or("-"))),
    }
}

pub(crate) fn cancel_outcome(read: Read, order: &Order<'_>) -> CancelOutcome {
    let reply = match read {
        Read::NotSent(why) => return CancelOutcome::NotSent(why),
        Read::Unknown(why) => return CancelOutcome::Unknown(why),
        Read::Reply(reply) => reply,
    };
    if reply.out_trade_no.as_deref().is_some_and(|no| no != order.id) {
        return CancelOutcome::Unknown("cancel reply is for another order".into());
    }
    // Whatever the code, Alipay's "try again" is the instruction that counts [doc: retry_flag].
    if reply.retry_flag.as_deref() == Some("Y") {
        return CancelOutcome::Retry;
    }
    match (reply.code(), reply.action.as_deref()) {
        (SUCCESS, Some("refund")) => CancelOutcome::Reversed { was_paid: Some(true) },
        // `close`, or no action: no trade existed, and none can be made under this number now.
        (SUCCESS, Some("close") | None) => CancelOutcome::Reversed { was_paid: Some(false) },
        (SUCCESS, Some(other)) => CancelOutcome::Unknown(format!("cancel action {other}")),
        (UNKNOWN, _) => CancelOutcome::Unknown(reply.describe()),
        (BUSINESS_FAILED, _) => CancelOutcome::Failed(reply.failure()),
        _ => CancelOutcome::Unknown(reply.describe()),
    }
}

pub(crate) fn close_outcome(read: Read, order: &Order<'_>) -> PayOutcome {
    let reply = match read {
        Read::NotSent(why) => return PayOutcome::NotSent(why),
        Read::Unknown(why) => return PayOutcome::Unknown(why),
        Read::Reply(reply) => reply,
    };
    if reply.out_trade_no.as_deref().is_some_and(|no| no != order.id) {
        return PayOutcome::Unknown("close reply is for another order".into());
    }
    match (reply.code(), reply.sub_code.as_deref()) {
        (SUCCESS, _) => PayOutcome::Closed,
        (BUSINESS_FAILED, Some(TRADE_NOT_EXIST)) => not_exist(order),
        // Most often "already paid": a query between the attempts tells.
        (BUSINESS_FAILED, _) => PayOutcome::Failed(reply.failure()),
        _ => PayOutcome::Unknown(reply.describe()),
    }
}

/// The reply to `alipay.trade.refund`: done, refused, or "ask the refund query" (`None`).
pub(crate) fn refund_outcome(
    read: Read,
    order: &Order<'_>,
    failures: &[String],
) -> Result<Option<RefundOutcome>, String> {
    let reply = match read {
        Read::NotSent(why) => return Ok(Some(RefundOutcome::NotSent(why))),
        Read::Unknown(why) => return Err(why),
        Read::Reply(reply) => reply,
    };
    if reply.out_trade_no.as_deref().is_some_and(|no| no != order.id) {
        return Err("refund reply is for another order".into());
    }
    match reply.code() {
        SUCCESS if reply.fund_change.as_deref() == Some("Y") => {
            Ok(Some(RefundOutcome::Succeeded { refund_no: reply.trade_no.clone() }))
        }
        SUCCESS => Ok(None),
        _ if reply.definitive_failure(failures) => Ok(Some(RefundOutcome::Failed(reply.failure()))),
        _ => Err(reply.describe()),
    }
}

/// The reply to `alipay.trade.fastpay.refund.query` about refund `refund_id` of `amount`.
pub(crate) fn refund_query_outcome(read: Read, order: &Order<'_>, refund_id: &str, amount: Fen) -> RefundOutcome {
    let reply = match read {
        Read::NotSent(why) | Read::Unknown(why) => return RefundOutcome::Unknown(why),
        Read::Reply(reply) => reply,
    };
    if reply.code() != SUCCESS {
        return RefundOutcome::Unknown(format!("refund query refused: {}", reply.describe()));
    }
    if reply.out_trade_no.as_deref().is_some_and(|no| no != order.id)
        || reply.out_request_no.as_deref().is_some_and(|no| no != refund_id)
    {
        return RefundOutcome::Unknown("refund query reply is for another refund".into());
    }
    let refunded = reply.refund_amount.as_deref().and_then(|t| Fen::parse_yuan_wire(t).ok());
    match reply.refund_status.as_deref() {
        Some("REFUND_SUCCESS") if refunded == Some(amount) => {
            RefundOutcome::Succeeded { refund_no: reply.trade_no.clone() }
        }
        Some("REFUND_SUCCESS") => RefundOutcome::Unknown(format!(
            "refunded {} where {} was asked",
            reply.refund_amount.as_deref().unwrap_or("-"),
            amount.yuan_text()
        )),
        // Not (yet) refunded: sending the same number again is safe, and recovery does.
        _ => RefundOutcome::Processing { refund_no: None },
    }
}

/// What a notify form says. Verified first; then only `TRADE_SUCCESS`/`TRADE_FINISHED` for our
/// app (and seller, when configured) is news of a payment; anything else is a reason to query.
/// The bill's download link, or what the reply says instead. `ACQ.BILL_NOT_EXIST`: no bill of
/// that day (not made yet, T+1). Reading: the link is used as given (its host is Alipay's, named in
/// a signed reply); it is never logged beyond the audit of this call.
pub(crate) fn bill_url(read: Read) -> Result<String, StatementOutcome> {
    let reply = match read {
        Read::NotSent(why) | Read::Unknown(why) => return Err(StatementOutcome::Failed(why)),
        Read::Reply(reply) => reply,
    };
    match (reply.code(), reply.bill_download_url.as_deref()) {
        (SUCCESS, Some(url)) if url.starts_with("https://") || url.starts_with("http://") => Ok(url.to_string()),
        (SUCCESS, _) => Err(StatementOutcome::Failed("the reply has no bill_download_url".into())),
        (BUSINESS_FAILED, _) if reply.sub_code.as_deref() == Some(BILL_NOT_EXIST) => {
            Err(StatementOutcome::NoStatement(reply.failure().message))
        }
        _ => Err(StatementOutcome::Failed(format!("{} {}", reply.describe(), reply.failure().message))),
    }
}

pub(crate) fn read_notify(
    body: &[u8],
    keys: &ReplyKeys,
    app_id: &str,
    seller_id: Option<&str>,
    zone: ChannelZone,
) -> Notice {
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let get = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let Some(order_id) = get("out_trade_no").filter(|o| !o.is_empty() && o.len() <= 64) else {
        return Notice::Refused("the notify names no out_trade_no".into());
    };
    let order_id = order_id.to_string();
    if let Err(why) = keys.verifier.verify_notify(&fields) {
        tracing::warn!(order = %order_id, "an Alipay notify that does not verify: {why}");
        return Notice::QueryNow { order_id };
    }
    if get("app_id") != Some(app_id) {
        return Notice::Refused(format!("the notify is for app {}, not ours", get("app_id").unwrap_or("-")));
    }
    if let (Some(ours), Some(theirs)) = (seller_id, get("seller_id")) {
        if ours != theirs {
            return Notice::Refused(format!("the notify is for seller {theirs}, not ours"));
        }
    }
    let amount = get("total_amount").and_then(|t| Fen::parse_yuan_wire(t).ok());
    match (get("trade_status"), amount) {
        (Some("TRADE_SUCCESS" | "TRADE_FINISHED"), Some(amount)) => Notice::Paid {
            order_id,
            amount,
            merchant: Some(app_id.to_string()),
            trade_no: get("trade_no").map(str::to_string),
            paid_at: get("gmt_payment").and_then(|t| channel_time_ms(t, SPACED_LOCAL, zone)),
        },
        _ => Notice::QueryNow { order_id },
    }
}

/// The business fields of each call (`biz_content`), written exactly as listed.
#[derive(Serialize, Default)]
struct Biz<'a> {
    out_trade_no: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scene: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    store_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_express: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refund_amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refund_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    out_request_no: Option<&'a str>,
}

/// `alipay.data.dataservice.bill.downloadurl.query`'s business fields.
#[derive(Serialize)]
struct BillBiz<'a> {
    bill_type: &'a str,
    bill_date: String,
}

impl AlipayChannel {
    pub fn new(config: &AlipayConfig, whole: &Config) -> Result<AlipayChannel, ChannelSetupError> {
        let setup = |why: String| ChannelSetupError { channel: "alipay".into(), why };
        let http = HttpClient::new(&crate::config::ChannelSection::http(config)).map_err(setup)?;
        let signer = AppSigner::from_pem_file(&whole.resolve(&config.private_key)).map_err(setup)?;
        let read_text = |path: &std::path::Path| {
            let path = whole.resolve(path);
            std::fs::read_to_string(&path).map_err(|e| setup(format!("cannot read {}: {e}", path.display())))
        };
        let keys = match config.keys().map_err(setup)? {
            AlipayKeys::PublicKey(path) => {
                let verifier = AlipayVerifier::from_text(&read_text(path)?).map_err(setup)?;
                ReplyKeys { verifier, certs: None }
            }
            AlipayKeys::Certificates { app, alipay, root } => {
                let alipay_pem = read_text(alipay)?;
                let certs = CertSns {
                    app: sign::cert_sn(&read_text(app)?).map_err(|e| setup(format!("app_cert: {e}")))?,
                    root: sign::root_cert_sn(&read_text(root)?).map_err(|e| setup(format!("alipay_root_cert: {e}")))?,
                    alipay: sign::cert_sn(&alipay_pem).map_err(|e| setup(format!("alipay_cert: {e}")))?,
                };
                let verifier = AlipayVerifier::from_text(&alipay_pem).map_err(setup)?;
                ReplyKeys { verifier, certs: Some(certs) }
            }
        };
        let caps = Capabilities {
            barcode: true,
            qr: true,
            cancel: true,
            close: true,
            refund: true,
            refund_resend: true,
            barcode_wallets: vec!["alipay".into()],
            methods: Vec::new(),
            display: super::Display::Qr,
        };
        Ok(AlipayChannel {
            http,
            pay_failures: config.pay_failures(),
            refund_failures: config.refund_failures(),
            config: config.clone(),
            caps,
            signer,
            keys,
        })
    }

    /// The common parameters and `biz_content` of a call, signed: what goes on the wire.
    fn signed_params(&self, method: &str, biz_content: &str, notify: bool) -> Vec<(&'static str, String)> {
        let timestamp = super::channel_time_text(crate::ledger::now_ms(), SPACED_LOCAL, self.config.time_zone);
        let mut params: Vec<(&'static str, String)> = vec![
            ("app_id", self.config.app_id.clone()),
            ("method", method.to_string()),
            ("format", "JSON".into()),
            ("charset", "utf-8".into()),
            ("sign_type", "RSA2".into()),
            ("timestamp", timestamp),
            ("version", "1.0".into()),
            ("biz_content", biz_content.to_string()),
        ];
        if notify {
            if let Some(url) = &self.config.notify_url {
                params.push(("notify_url", url.clone()));
            }
        }
        if let Some(token) = &self.config.app_auth_token {
            params.push(("app_auth_token", token.reveal().to_string()));
        }
        if let Some(certs) = &self.keys.certs {
            params.push(("app_cert_sn", certs.app.clone()));
            params.push(("alipay_root_cert_sn", certs.root.clone()));
        }
        // A blank value is not sent at all: Alipay's SDKs disagree on whether one is signed
        // (the Node SDK signs `k=`, the Java SDK skips whitespace-only values).
        params.retain(|(_, v)| !v.trim().is_empty());
        let content = sign::sign_content(params.iter().map(|(k, v)| (*k, v.as_str())), &["sign"]);
        params.push(("sign", self.signer.sign(&content)));
        params
    }

    /// Signs, sends, verifies and reads one call. `secret` (a payment code) is masked in the audit.
    async fn call<B: Serialize + Sync>(
        &self,
        method: &str,
        biz: &B,
        notify: bool,
        secret: Option<&str>,
    ) -> Exchanged<Read> {
        let biz_content = match serde_json::to_string(biz) {
            Ok(text) => text,
            Err(e) => return Exchanged::new(not_encoded(method, e), |t| read(t, method, &self.keys)),
        };
        let params = self.signed_params(method, &biz_content, notify);
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter().filter(|(k, _)| *k != "biz_content").map(|(k, v)| (*k, v.as_str())))
            .finish();
        let form: String =
            url::form_urlencoded::Serializer::new(String::new()).append_pair("biz_content", &biz_content).finish();
        let request = self
            .http
            .post(&format!("{GATEWAY}?{query}"))
            .header("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
            .body(form);
        // The audit keeps the business fields; the common ones (and the token) are not news.
        let ex = self.http.exchange(method, request, Some(&biz_content), secret).await;
        Exchanged::new(ex, |t| read(t, method, &self.keys))
    }

    fn subject<'a>(&'a self, order: &Order<'a>) -> &'a str {
        if order.subject.trim().is_empty() {
            &self.config.subject
        } else {
            order.subject
        }
    }
}

#[async_trait]
impl Channel for AlipayChannel {
    fn id(&self) -> &'static str {
        "alipay"
    }

    fn name(&self, lang: Lang) -> &'static str {
        lang.pick("支付宝", "Alipay")
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    fn account(&self) -> &str {
        &self.config.app_id
    }

    fn qr_expiry(&self, shown: Duration) -> Duration {
        Duration::from_secs(timeout_minutes(shown) * 60)
    }

    fn lapse_watch(&self) -> Duration {
        Duration::from_millis(self.config.lapse_watch_ms)
    }

    async fn barcode_pay(&self, order: &Order<'_>, code: &str) -> Reply<PayOutcome> {
        let biz = Biz {
            out_trade_no: order.id,
            scene: Some("bar_code"),
            auth_code: Some(code),
            product_code: Some("FACE_TO_FACE_PAYMENT"),
            subject: Some(self.subject(order)),
            total_amount: Some(order.amount.yuan_text()),
            store_id: self.config.store_id.as_deref(),
            ..Biz::default()
        };
        let ex = self.call("alipay.trade.pay", &biz, true, Some(code)).await;
        ex.into_reply(|read| pay_outcome(read, order, self.config.time_zone, &self.pay_failures))
    }

    async fn create_qr(&self, order: &Order<'_>, expires_at_ms: i64) -> Reply<CreateOutcome> {
        let left = Duration::from_millis((expires_at_ms - crate::ledger::now_ms()).max(0) as u64);
        let biz = Biz {
            out_trade_no: order.id,
            subject: Some(self.subject(order)),
            total_amount: Some(order.amount.yuan_text()),
            store_id: self.config.store_id.as_deref(),
            timeout_express: Some(format!("{}m", timeout_minutes(left))),
            ..Biz::default()
        };
        let ex = self.call("alipay.trade.precreate", &biz, true, None).await;
        ex.into_reply(|read| created(read, order))
    }

    async fn query(&self, order: &Order<'_>) -> Reply<PayOutcome> {
        let biz = Biz { out_trade_no: order.id, ..Biz::default() };
        let ex = self.call("alipay.trade.query", &biz, false, None).await;
        ex.into_reply(|read| query_outcome(read, order, self.config.time_zone))
    }

    async fn cancel(&self, order: &Order<'_>) -> Reply<CancelOutcome> {
        let biz = Biz { out_trade_no: order.id, ..Biz::default() };
        let ex = self.call("alipay.trade.cancel", &biz, false, None).await;
        ex.into_reply(|read| cancel_outcome(read, order))
    }

    async fn close(&self, order: &Order<'_>) -> Reply<PayOutcome> {
        let biz = Biz { out_trade_no: order.id, ..Biz::default() };
        let ex = self.call("alipay.trade.close", &biz, false, None).await;
        ex.into_reply(|read| close_outcome(read, order))
    }

    async fn refund(&self, order: &Order<'_>, refund_id: &str, amount: Fen, reason: &str) -> Reply<RefundOutcome> {
        let biz = Biz {
            out_trade_no: order.id,
            refund_amount: Some(amount.yuan_text()),
            refund_reason: Some(reason).filter(|r| !r.trim().is_empty()),
            out_request_no: Some(refund_id),
            ..Biz::default()
        };
        let ex = self.call("alipay.trade.refund", &biz, false, None).await;
        let first = match refund_outcome(ex.read, order, &self.refund_failures) {
            Ok(Some(done)) => return Reply { outcome: done, audit: ex.audit, elapsed: ex.elapsed },
            Ok(None) => None,
            Err(why) => Some(why),
        };
        // Not said done: the refund query tells (the refund may have been made by an earlier try).
        let asked = Biz { out_trade_no: order.id, out_request_no: Some(refund_id), ..Biz::default() };
        let q = self.call("alipay.trade.fastpay.refund.query", &asked, false, None).await;
        let outcome = match (refund_query_outcome(q.read, order, refund_id, amount), first) {
            // The refund call's answer was lost and the query does not know it yet: unknown.
            (RefundOutcome::Processing { .. }, Some(why)) => RefundOutcome::Unknown(why),
            (outcome, _) => outcome,
        };
        let audit = serde_json::json!({ "refund": ex.audit, "refund_query": q.audit });
        Reply { outcome, audit, elapsed: ex.elapsed + q.elapsed }
    }

    /// The `trade` bill: the signed reply gives a short-lived link, which is fetched at once.
    async fn statement(&self, day: chrono::NaiveDate) -> Reply<StatementOutcome> {
        const METHOD: &str = "alipay.data.dataservice.bill.downloadurl.query";
        let biz = BillBiz { bill_type: "trade", bill_date: day.format("%Y-%m-%d").to_string() };
        let asked = self.call(METHOD, &biz, false, None).await;
        let url = match bill_url(asked.read) {
            Ok(url) => url,
            Err(outcome) => return Reply { outcome, audit: asked.audit, elapsed: asked.elapsed },
        };
        let got = self.http.statement("bill download", self.http.get_url(&url), None).await;
        let outcome = match got.transport.body_2xx() {
            Answer::Body(bytes) => StatementOutcome::File { bytes, sha1: None },
            Answer::NotSent(why) | Answer::Unknown(why) => {
                StatementOutcome::Failed(format!("the bill download: {why}"))
            }
        };
        let audit = serde_json::json!({ "bill_url": asked.audit, "download": got.audit });
        Reply { outcome, audit, elapsed: asked.elapsed + got.elapsed }
    }

    fn read_notify(&self, _authorization: Option<&str>, body: &[u8]) -> Notice {
        read_notify(body, &self.keys, &self.config.app_id, self.config.seller_id.as_deref(), self.config.time_zone)
    }

    fn notify_ack(&self) -> String {
        "success".into()
    }
}

/// Plain words for the clerk for Alipay's most common refusals.
pub fn explain(code: &str, lang: Lang) -> Option<&'static str> {
    Some(match code {
        "ACQ.PAYMENT_AUTH_CODE_INVALID" => lang.pick(
            "付款码无效或已过期，未扣款。请顾客刷新支付宝付款码后重新扫描。",
            "The payment code is invalid or expired; nothing was charged. Ask the customer to refresh the Alipay code and scan again.",
        ),
        "ACQ.BUYER_BALANCE_NOT_ENOUGH" | "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH" => lang.pick(
            "顾客余额不足，未扣款。请顾客换一张卡或换一种付款方式。",
            "The customer's balance is too low; nothing was charged. Ask them to switch card or pay another way.",
        ),
        "ACQ.PAYMENT_REQUEST_HAS_RISK" | "ACQ.BUYER_ENABLE_STATUS_FORBID" => lang.pick(
            "支付宝风控拒绝了这笔付款，未扣款。请顾客换一种付款方式。",
            "Alipay's risk control refused this payment; nothing was charged. Ask the customer to pay another way.",
        ),
        "isv.invalid-signature" | "isv.invalid-app-id" | "isv.missing-signature" => lang.pick(
            "支付宝拒绝了收款请求：应用 ID 或密钥配置有误，未扣款。请联系管理员检查支付宝配置。",
            "Alipay refused the request: the app id or key is misconfigured; nothing was charged. Ask a manager to check the Alipay settings.",
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
