//! `wechat`: WeChat Pay's merchant API v2 (付款码支付 and Native QR), XML signed with the API v2
//! key (HMAC-SHA256 by default, MD5 where configured).
//!
//! Why v2 for both flows: v2 is the one API family that has the payment-code calls this counter
//! needs (`micropay`, `orderquery`, and `reverse` with its `recall` instruction) and Native QR
//! (`unifiedorder` with `trade_type=NATIVE`), under one key and one signature. v3's payment-code
//! API is newer and how it reports "the customer is confirming" is not documented clearly; v3
//! Native would add a second key, a platform certificate and AES-GCM notifies for one flow.
//!
//! Readings of the documentation, each written in the README's channel section too:
//! - `return_code=FAIL` means the request was not taken; such replies are unsigned. For a pay
//!   call it is unknown (then queried), never failed: unsigned text cannot make the ledger drop a
//!   charge. For a QR create it is a refusal (nothing can be paid without a code).
//! - Every `return_code=SUCCESS` reply must carry a `sign` that verifies, and our `appid` and
//!   `mch_id`; otherwise it is unknown.
//! - Payment codes: `USERPAYING` → confirming (poll); `SYSTEMERROR`, `BANKERROR` → unknown
//!   (query); only the configured failure codes (default [`WECHAT_PAY_FAILURES`]) are failed.
//! - `orderquery`: `SUCCESS`/`REFUND` → paid (with our order and amount); `NOTPAY`,
//!   `USERPAYING`, `ACCEPT` → waiting; `CLOSED` → closed; `REVOKED` → reversed (whatever was
//!   charged went back: a reverse made it); `PAYERROR` ("支付失败，请撤销订单")
//!   → unknown, so the engine reverses it at the clerk's deadline; `ORDERNOTEXIST` → no such order.
//! - `reverse`: `recall=Y` → try again; `SUCCESS` → reversed (the reply does not say whether it
//!   had been paid). `USERPAYING` and `SYSTEMERROR` → try again. Reverse and refund are sent with
//!   the merchant's client certificate.
//! - Refunds: `refund` SUCCESS means accepted; `refundquery` decides: `SUCCESS` refunded,
//!   `PROCESSING` pending, `REFUNDCLOSE` failed, `CHANGE` (abnormal: the money left but did not
//!   reach the customer) unknown, for a person in the merchant platform.

pub mod xml;

use super::http::{Answer, HttpClient, Tls, Transport};
use super::{
    channel_time_ms, channel_time_text, page_or_refusal, CancelOutcome, Capabilities, Channel, ChannelSetupError,
    CreateOutcome, Exchanged, Failure, Notice, Order, PayOutcome, RefundOutcome, Reply, StatementOutcome,
    COMPACT_LOCAL,
};
use crate::config::{ChannelZone, Config, WechatConfig, WechatSignType};
use crate::i18n::Lang;
use crate::money::Fen;
use async_trait::async_trait;
use std::time::Duration;
use xml::Fields;

const SUCCESS: &str = "SUCCESS";

/// `refund` refusals after which nothing was refunded.
pub const REFUND_FAILURES: &[&str] = &[
    "ERROR",
    "NOTENOUGH",
    "USER_ACCOUNT_ABNORMAL",
    "PARAM_ERROR",
    "ORDERNOTEXIST",
    "TRADE_STATE_ERROR",
    "INVALID_TRANSACTIONID",
    "APPID_MCHID_NOT_MATCH",
    "SIGNERROR",
    "XML_FORMAT_ERROR",
    "LACK_PARAMS",
];

pub struct WechatChannel {
    /// Holds the merchant's client certificate: reverse and refund need it (`/secapi/`); the
    /// other calls do not ask for one, and a server that does not ask is never shown it.
    http: HttpClient,
    config: WechatConfig,
    caps: Capabilities,
    check: Check,
    pay_failures: Vec<String>,
}

/// What a reply must match: our key, algorithm and ids.
#[derive(Clone)]
pub struct Check {
    key: String,
    sign_type: WechatSignType,
    appid: String,
    mch_id: String,
}

impl Check {
    pub fn new(key: &str, sign_type: WechatSignType, appid: &str, mch_id: &str) -> Check {
        Check { key: key.into(), sign_type, appid: appid.into(), mch_id: mch_id.into() }
    }
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check").field("appid", &self.appid).field("mch_id", &self.mch_id).finish()
    }
}

/// A reply read and verified, or why it cannot be used.
#[derive(Debug)]
pub(crate) enum Read {
    /// `return_code=SUCCESS`, signed and ours.
    Reply(Box<Fields>),
    /// `return_code=FAIL`: the request was not taken (unsigned).
    NotTaken(String),
    NotSent(String),
    Unknown(String),
}

fn get<'a>(f: &'a Fields, k: &str) -> Option<&'a str> {
    f.get(k).map(String::as_str).filter(|v| !v.is_empty())
}

fn fen(text: Option<&str>) -> Option<Fen> {
    text.filter(|t| !t.is_empty() && t.len() <= 15 && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse().ok())
        .map(Fen)
}

fn failure(f: &Fields) -> Failure {
    Failure {
        code: get(f, "err_code").unwrap_or("FAIL").to_string(),
        message: get(f, "err_code_des").or(get(f, "return_msg")).unwrap_or_default().to_string(),
    }
}

fn err_code(f: &Fields) -> &str {
    get(f, "err_code").unwrap_or("")
}

fn result_ok(f: &Fields) -> bool {
    get(f, "result_code") == Some(SUCCESS)
}

pub(crate) fn read(transport: Transport, check: &Check) -> Read {
    let body = match transport.body_2xx() {
        Answer::Body(body) => body,
        Answer::NotSent(why) => return Read::NotSent(why),
        Answer::Unknown(why) => return Read::Unknown(why),
    };
    read_body(&body, check)
}

pub(crate) fn read_body(body: &[u8], check: &Check) -> Read {
    let fields = match xml::read(body) {
        Ok(f) => f,
        Err(why) => return Read::Unknown(format!("unreadable reply: {why}")),
    };
    if get(&fields, "return_code") != Some(SUCCESS) {
        let why = get(&fields, "return_msg").unwrap_or("return_code is not SUCCESS");
        return Read::NotTaken(why.to_string());
    }
    if let Err(why) = xml::verify(&fields, &check.key, check.sign_type) {
        return Read::Unknown(format!(
            "{why} (result {}, {})",
            get(&fields, "result_code").unwrap_or("-"),
            err_code(&fields)
        ));
    }
    for (name, ours) in [("appid", &check.appid), ("mch_id", &check.mch_id)] {
        if let Some(theirs) = get(&fields, name).filter(|t| *t != ours.as_str()) {
            return Read::Unknown(format!("the reply is for {name} {theirs}, not ours"));
        }
    }
    Read::Reply(Box::new(fields))
}

/// A reply naming another order, or another amount, says nothing about ours.
fn mismatch(f: &Fields, order: &Order<'_>) -> Option<String> {
    if let Some(no) = get(f, "out_trade_no").filter(|no| *no != order.id) {
        return Some(format!("reply is for order {no}, not {}", order.id));
    }
    if let Some(text) = get(f, "total_fee") {
        if fen(Some(text)) != Some(order.amount) {
            return Some(format!("reply total_fee {text} is not {}", order.amount.0));
        }
    }
    None
}

fn confirms(f: &Fields, order: &Order<'_>) -> bool {
    get(f, "out_trade_no") == Some(order.id) && fen(get(f, "total_fee")) == Some(order.amount)
}

fn paid(f: &Fields, zone: ChannelZone) -> PayOutcome {
    PayOutcome::Paid {
        trade_no: get(f, "transaction_id").map(str::to_string),
        paid_at: get(f, "time_end").and_then(|t| channel_time_ms(t, COMPACT_LOCAL, zone)),
    }
}

pub(crate) fn pay_outcome(read: Read, order: &Order<'_>, zone: ChannelZone, failures: &[String]) -> PayOutcome {
    let f = match read {
        Read::NotSent(why) => return PayOutcome::NotSent(why),
        Read::Unknown(why) => return PayOutcome::Unknown(why),
        Read::NotTaken(why) => return PayOutcome::Unknown(format!("return_code FAIL: {why}")),
        Read::Reply(f) => f,
    };
    if let Some(why) = mismatch(&f, order) {
        return PayOutcome::Unknown(why);
    }
    match err_code(&f) {
        _ if result_ok(&f) && confirms(&f, order) => paid(&f, zone),
        _ if result_ok(&f) => PayOutcome::Unknown("SUCCESS without our order and amount".into()),
        "USERPAYING" => PayOutcome::Waiting,
        code if failures.iter().any(|c| c == code) => PayOutcome::Failed(failure(&f)),
        code => PayOutcome::Unknown(format!("err_code {}", if code.is_empty() { "-" } else { code })),
    }
}

pub(crate) fn created(read: Read, order: &Order<'_>) -> CreateOutcome {
    match read {
        Read::NotSent(why) => CreateOutcome::NotSent(why),
        Read::Unknown(why) => CreateOutcome::Unknown(why),
        // Nothing can be paid without a code: a refusal, signed or not.
        Read::NotTaken(why) => CreateOutcome::Failed(Failure { code: "FAIL".into(), message: why }),
        Read::Reply(f) if get(&f, "out_trade_no").is_some_and(|no| no != order.id) => {
            CreateOutcome::Unknown("unifiedorder reply is for another order".into())
        }
        Read::Reply(f) => page_or_refusal(result_ok(&f), get(&f, "code_url").map(str::to_string), || failure(&f)),
    }
}

pub(crate) fn query_outcome(read: Read, order: &Order<'_>, zone: ChannelZone) -> PayOutcome {
    let f = match read {
        Read::NotSent(why) => return PayOutcome::NotSent(why),
        Read::Unknown(why) => return PayOutcome::Unknown(why),
        Read::NotTaken(why) => return PayOutcome::Unknown(format!("query not taken: {why}")),
        Read::Reply(f) => f,
    };
    if !result_ok(&f) {
        return match err_code(&f) {
            "ORDERNOTEXIST" => PayOutcome::NotFound,
            code => PayOutcome::Unknown(format!("query refused: {code}")),
        };
    }
    if let Some(why) = mismatch(&f, order) {
        return PayOutcome::Unknown(why);
    }
    let names = get(&f, "out_trade_no") == Some(order.id);
    match get(&f, "trade_state") {
        Some("SUCCESS" | "REFUND") if confirms(&f, order) => paid(&f, zone),
        Some("NOTPAY" | "USERPAYING" | "ACCEPT") if names => PayOutcome::Waiting,
        Some("CLOSED") if names => PayOutcome::Closed,
        // Only a reversal (ours, or the wallet's for a code never confirmed) makes REVOKED: the
        // customer's money is where it started, charged or not. Not "closed": a charge went back.
        Some("REVOKED") if names => PayOutcome::Reversed { trade_no: get(&f, "transaction_id").map(str::to_string) },
        // "支付失败，请撤销订单": a charge may exist; the reversal at the deadline settles it.
        Some("PAYERROR") => PayOutcome::Unknown("PAYERROR: to be reversed".into()),
        other => PayOutcome::Unknown(format!("trade_state {} without our order and amount", other.unwrap_or("-"))),
    }
}

pub(crate) fn reverse_outcome(read: Read) -> CancelOutcome {
    let f = match read {
        Read::NotSent(why) => return CancelOutcome::NotSent(why),
        Read::Unknown(why) => return CancelOutcome::Unknown(why),
        Read::NotTaken(why) => return CancelOutcome::Unknown(format!("reverse not taken: {why}")),
        Read::Reply(f) => f,
    };
    if get(&f, "recall") == Some("Y") {
        return CancelOutcome::Retry;
    }
    match err_code(&f) {
        _ if result_ok(&f) => CancelOutcome::Reversed { was_paid: None },
        // Still confirming, or a system error: the documented answer is to call again.
        "USERPAYING" | "SYSTEMERROR" | "BANKERROR" | "FREQUENCY_LIMITED" => CancelOutcome::Retry,
        _ => CancelOutcome::Failed(failure(&f)),
    }
}

pub(crate) fn close_outcome(read: Read) -> PayOutcome {
    let f = match read {
        Read::NotSent(why) => return PayOutcome::NotSent(why),
        Read::Unknown(why) => return PayOutcome::Unknown(why),
        Read::NotTaken(why) => return PayOutcome::Unknown(format!("close not taken: {why}")),
        Read::Reply(f) => f,
    };
    match err_code(&f) {
        _ if result_ok(&f) => PayOutcome::Closed,
        "ORDERCLOSED" => PayOutcome::Closed,
        "ORDERNOTEXIST" => PayOutcome::NotFound,
        "SYSTEMERROR" => PayOutcome::Unknown("close: SYSTEMERROR".into()),
        // ORDERPAID and the rest: a query between the attempts tells.
        _ => PayOutcome::Failed(failure(&f)),
    }
}

/// The `refund` reply: refused (`Some`), accepted (`None`: the refund query says how it ends),
/// or not known (`Err`).
pub(crate) fn refund_outcome(read: Read, order: &Order<'_>, amount: Fen) -> Result<Option<RefundOutcome>, String> {
    let f = match read {
        Read::NotSent(why) => return Ok(Some(RefundOutcome::NotSent(why))),
        Read::Unknown(why) => return Err(why),
        Read::NotTaken(why) => return Err(format!("refund not taken: {why}")),
        Read::Reply(f) => f,
    };
    if get(&f, "out_trade_no").is_some_and(|no| no != order.id) {
        return Err("refund reply is for another order".into());
    }
    if get(&f, "refund_fee").is_some_and(|t| fen(Some(t)) != Some(amount)) {
        return Err(format!("refund reply refund_fee is not {}", amount.0));
    }
    match err_code(&f) {
        _ if result_ok(&f) => Ok(None),
        code if REFUND_FAILURES.contains(&code) => Ok(Some(RefundOutcome::Failed(failure(&f)))),
        code => Err(format!("refund err_code {code}")),
    }
}

/// The `refundquery` reply about refund `refund_id` of `amount`.
pub(crate) fn refund_query_outcome(read: Read, refund_id: &str, amount: Fen) -> RefundOutcome {
    let f = match read {
        Read::NotSent(why) | Read::Unknown(why) | Read::NotTaken(why) => return RefundOutcome::Unknown(why),
        Read::Reply(f) => f,
    };
    if !result_ok(&f) {
        return RefundOutcome::Unknown(format!("refund query refused: {}", err_code(&f)));
    }
    // The refunds are numbered `_0`, `_1`, …: ours is the one with our number.
    let Some(n) = (0..50).find(|n| get(&f, &format!("out_refund_no_{n}")) == Some(refund_id)) else {
        return RefundOutcome::Unknown("the refund query does not list our refund".into());
    };
    let field = |name: &str| get(&f, &format!("{name}_{n}"));
    if fen(field("refund_fee")) != Some(amount) {
        return RefundOutcome::Unknown(format!("refund_fee_{n} is not {}", amount.0));
    }
    let refund_no = field("refund_id").map(str::to_string);
    match field("refund_status") {
        Some("SUCCESS") => RefundOutcome::Succeeded { refund_no },
        Some("PROCESSING") => RefundOutcome::Processing { refund_no },
        Some("REFUNDCLOSE") => RefundOutcome::Failed(Failure {
            code: "REFUNDCLOSE".into(),
            message: "退款关闭 / the refund was closed".into(),
        }),
        Some("CHANGE") => RefundOutcome::Unknown(
            "退款异常（CHANGE）：款项未能退回顾客账户，请在微信支付商户平台处理 / refund abnormal: handle it in the merchant platform"
                .into(),
        ),
        other => RefundOutcome::Unknown(format!("refund_status {}", other.unwrap_or("-"))),
    }
}

/// What a Native payment's notify says. Believed only signed, for our ids and saying SUCCESS.
/// The bill text, or the XML that says why there is none: `No Bill Exist` (not made yet, T+1, or
/// no trade that day) is no statement; anything else a failure. Reading: the bill itself carries no
/// signature in v2 (TLS is its only protection); its summary line is checked by the reader.
pub(crate) fn bill_outcome(transport: Transport) -> StatementOutcome {
    let body = match transport.body_2xx() {
        Answer::Body(body) => body,
        Answer::NotSent(why) | Answer::Unknown(why) => return StatementOutcome::Failed(why),
    };
    if !body.trim_ascii_start().starts_with(b"<xml") {
        return StatementOutcome::File { bytes: body, sha1: None };
    }
    match xml::read(&body) {
        Ok(f) => {
            let why = get(&f, "return_msg").unwrap_or("return_code is not SUCCESS").to_string();
            if why.to_ascii_lowercase().contains("no bill exist") {
                StatementOutcome::NoStatement(why)
            } else {
                StatementOutcome::Failed(why)
            }
        }
        Err(why) => StatementOutcome::Failed(format!("unreadable reply: {why}")),
    }
}

pub(crate) fn read_notify(body: &[u8], check: &Check, zone: ChannelZone) -> Notice {
    let f = match xml::read(body) {
        Ok(f) => f,
        Err(why) => return Notice::Refused(format!("unreadable notify: {why}")),
    };
    let Some(order_id) = get(&f, "out_trade_no").filter(|o| o.len() <= 32).map(str::to_string) else {
        return Notice::Refused("the notify names no out_trade_no".into());
    };
    if let Err(why) = xml::verify(&f, &check.key, check.sign_type).or_else(|first| {
        // A notify is signed MD5 unless the order was made with HMAC-SHA256: either is ours.
        xml::verify(&f, &check.key, WechatSignType::Md5).map_err(|_| first)
    }) {
        tracing::warn!(order = %order_id, "a WeChat Pay notify that does not verify: {why}");
        return Notice::QueryNow { order_id };
    }
    if get(&f, "appid") != Some(check.appid.as_str()) || get(&f, "mch_id") != Some(check.mch_id.as_str()) {
        return Notice::Refused("the notify is for another appid or mch_id".into());
    }
    match (get(&f, "return_code"), get(&f, "result_code"), fen(get(&f, "total_fee"))) {
        (Some(SUCCESS), Some(SUCCESS), Some(amount)) => Notice::Paid {
            order_id,
            amount,
            merchant: Some(check.mch_id.clone()),
            trade_no: get(&f, "transaction_id").map(str::to_string),
            paid_at: get(&f, "time_end").and_then(|t| channel_time_ms(t, COMPACT_LOCAL, zone)),
        },
        _ => Notice::QueryNow { order_id },
    }
}

/// The notify answer WeChat expects.
pub const NOTIFY_ACK: &str =
    "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>";

impl WechatChannel {
    pub fn new(config: &WechatConfig, whole: &Config) -> Result<WechatChannel, ChannelSetupError> {
        let setup = |why: String| ChannelSetupError { channel: "wechat".into(), why };
        let settings = crate::config::ChannelSection::http(config);
        let cert_path = whole.resolve(&config.client_cert);
        let key_path = whole.resolve(&config.client_key);
        crate::private_file::refuse_if_shared(&key_path).map_err(setup)?;
        let read = |path: &std::path::Path, what: &str| {
            std::fs::read(path).map_err(|e| setup(format!("cannot read the {what} {}: {e}", path.display())))
        };
        let mut pem = read(&cert_path, "client certificate")?;
        pem.push(b'\n');
        pem.extend(read(&key_path, "client key")?);
        let identity = reqwest::Identity::from_pem(&pem).map_err(|_| {
            setup(format!(
                "{} and {} are not a PEM certificate and its private key (apiclient_cert.pem, apiclient_key.pem)",
                cert_path.display(),
                key_path.display()
            ))
        })?;
        let extra_root = match &config.extra_ca_cert {
            Some(path) => {
                let path = whole.resolve(path);
                let pem = read(&path, "CA certificate")?;
                Some(
                    reqwest::Certificate::from_pem(&pem)
                        .map_err(|_| setup(format!("{} is not a PEM certificate", path.display())))?,
                )
            }
            None => None,
        };
        let http = HttpClient::with_tls(&settings, Tls { identity: Some(identity), extra_root }).map_err(setup)?;
        let caps = Capabilities {
            barcode: true,
            // WeChat requires a `notify_url` on every Native order [doc: unifiedorder, 必填].
            qr: config.notify_url.is_some(),
            cancel: true,
            close: true,
            refund: true,
            refund_resend: true,
            barcode_wallets: vec!["wechat".into()],
            methods: Vec::new(),
            display: super::Display::Qr,
        };
        let check = Check {
            key: config.api_key.reveal().to_string(),
            sign_type: config.sign_type,
            appid: config.appid.clone(),
            mch_id: config.mch_id.clone(),
        };
        Ok(WechatChannel { http, pay_failures: config.pay_failures(), config: config.clone(), caps, check })
    }

    /// The common fields of every request.
    fn fields(&self, pairs: &[(&str, &str)]) -> Fields {
        let mut f = Fields::new();
        f.insert("appid".into(), self.config.appid.clone());
        f.insert("mch_id".into(), self.config.mch_id.clone());
        if let Some(sub) = &self.config.sub_mch_id {
            f.insert("sub_mch_id".into(), sub.clone());
        }
        f.insert("nonce_str".into(), super::nonce());
        if self.config.sign_type == WechatSignType::HmacSha256 {
            f.insert("sign_type".into(), "HMAC-SHA256".into());
        }
        for (k, v) in pairs {
            if !v.is_empty() {
                f.insert((*k).into(), (*v).into());
            }
        }
        f
    }

    /// `downloadbill`: the trade bill of `day` (`bill_type=ALL`), plain text; an XML reply instead
    /// says why there is none.
    async fn download_bill(&self, day: chrono::NaiveDate) -> Reply<StatementOutcome> {
        let date = day.format("%Y%m%d").to_string();
        let mut fields = self.fields(&[("bill_date", &date), ("bill_type", "ALL")]);
        let sign = xml::sign(&fields, &self.check.key, self.check.sign_type);
        fields.insert("sign".into(), sign);
        let body = xml::write(&fields);
        let request =
            self.http.post("/pay/downloadbill").header("Content-Type", "text/xml; charset=utf-8").body(body.clone());
        let ex = self.http.statement("/pay/downloadbill", request, Some(&body)).await;
        Reply { outcome: bill_outcome(ex.transport), audit: ex.audit, elapsed: ex.elapsed }
    }

    /// Signs, sends and reads one call. `secret` (a payment code) is masked in the audit.
    async fn call(&self, path: &str, mut fields: Fields, secret: Option<&str>) -> Exchanged<Read> {
        let sign = xml::sign(&fields, &self.check.key, self.check.sign_type);
        fields.insert("sign".into(), sign);
        let body = xml::write(&fields);
        let request = self.http.post(path).header("Content-Type", "text/xml; charset=utf-8").body(body.clone());
        let ex = self.http.exchange(path, request, Some(&body), secret).await;
        Exchanged::new(ex, |t| read(t, &self.check))
    }

    /// The fields of a new order (micropay, unifiedorder), then `more`.
    fn order_fields(&self, order: &Order<'_>, total_fen: &str, more: &[(&str, &str)]) -> Fields {
        let common = [
            ("body", self.body(order)),
            ("out_trade_no", order.id),
            ("total_fee", total_fen),
            ("fee_type", "CNY"),
            ("spbill_create_ip", self.config.spbill_create_ip.as_str()),
        ];
        self.fields(&[&common[..], more].concat())
    }

    fn body<'a>(&'a self, order: &Order<'a>) -> &'a str {
        if order.subject.trim().is_empty() {
            &self.config.body
        } else {
            order.subject
        }
    }

    /// WeChat closes an unpaid Native order at `time_expire`, which must be some minutes after
    /// the order (5 in the current v2 docs, 1 in older ones): `min_qr_expiry_ms`.
    fn min_expiry(&self) -> Duration {
        Duration::from_millis(self.config.min_qr_expiry_ms)
    }

    fn zone(&self) -> ChannelZone {
        self.config.time_zone
    }
}

#[async_trait]
impl Channel for WechatChannel {
    fn id(&self) -> &'static str {
        "wechat"
    }

    fn name(&self, lang: Lang) -> &'static str {
        lang.pick("微信支付", "WeChat Pay")
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    fn account(&self) -> &str {
        &self.config.mch_id
    }

    /// `time_expire` is whole seconds, and at least `min_qr_expiry_ms` away.
    fn qr_expiry(&self, shown: Duration) -> Duration {
        Duration::from_secs(shown.as_millis().div_ceil(1000) as u64).max(self.min_expiry())
    }

    fn lapse_watch(&self) -> Duration {
        Duration::from_millis(self.config.lapse_watch_ms)
    }

    async fn barcode_pay(&self, order: &Order<'_>, code: &str) -> Reply<PayOutcome> {
        let total = order.amount.0.to_string();
        let fields = self.order_fields(order, &total, &[("auth_code", code)]);
        let ex = self.call("/pay/micropay", fields, Some(code)).await;
        ex.into_reply(|read| pay_outcome(read, order, self.zone(), &self.pay_failures))
    }

    async fn create_qr(&self, order: &Order<'_>, expires_at_ms: i64) -> Reply<CreateOutcome> {
        let total = order.amount.0.to_string();
        let earliest = crate::ledger::now_ms() + self.min_expiry().as_millis() as i64;
        // Rounded up to the second: WeChat never closes a code the screen still shows.
        let expire = channel_time_text(expires_at_ms.max(earliest) + 999, COMPACT_LOCAL, self.zone());
        let notify = self.config.notify_url.as_deref().unwrap_or_default();
        let fields = self.order_fields(
            order,
            &total,
            &[("notify_url", notify), ("trade_type", "NATIVE"), ("product_id", order.id), ("time_expire", &expire)],
        );
        let ex = self.call("/pay/unifiedorder", fields, None).await;
        ex.into_reply(|read| created(read, order))
    }

    async fn query(&self, order: &Order<'_>) -> Reply<PayOutcome> {
        let fields = self.fields(&[("out_trade_no", order.id)]);
        let ex = self.call("/pay/orderquery", fields, None).await;
        ex.into_reply(|read| query_outcome(read, order, self.zone()))
    }

    async fn cancel(&self, order: &Order<'_>) -> Reply<CancelOutcome> {
        let fields = self.fields(&[("out_trade_no", order.id)]);
        let ex = self.call("/secapi/pay/reverse", fields, None).await;
        ex.into_reply(reverse_outcome)
    }

    async fn close(&self, order: &Order<'_>) -> Reply<PayOutcome> {
        let fields = self.fields(&[("out_trade_no", order.id)]);
        let ex = self.call("/pay/closeorder", fields, None).await;
        ex.into_reply(close_outcome)
    }

    async fn statement(&self, day: chrono::NaiveDate) -> Reply<StatementOutcome> {
        self.download_bill(day).await
    }

    async fn refund(&self, order: &Order<'_>, refund_id: &str, amount: Fen, reason: &str) -> Reply<RefundOutcome> {
        let (total, refund_fee) = (order.amount.0.to_string(), amount.0.to_string());
        let fields = self.fields(&[
            ("out_trade_no", order.id),
            ("out_refund_no", refund_id),
            ("total_fee", &total),
            ("refund_fee", &refund_fee),
            ("refund_fee_type", "CNY"),
            ("refund_desc", reason.trim()),
        ]);
        let ex = self.call("/secapi/pay/refund", fields, None).await;
        let first = match refund_outcome(ex.read, order, amount) {
            Ok(Some(done)) => return Reply { outcome: done, audit: ex.audit, elapsed: ex.elapsed },
            Ok(None) => None,
            Err(why) => Some(why),
        };
        let asked = self.fields(&[("out_refund_no", refund_id)]);
        let q = self.call("/pay/refundquery", asked, None).await;
        let outcome = match (refund_query_outcome(q.read, refund_id, amount), first) {
            // The refund's answer was lost and the query does not know it: unknown, re-sent later.
            (RefundOutcome::Unknown(q), Some(why)) => RefundOutcome::Unknown(format!("{why}; {q}")),
            (outcome, _) => outcome,
        };
        let audit = serde_json::json!({ "refund": ex.audit, "refund_query": q.audit });
        Reply { outcome, audit, elapsed: ex.elapsed + q.elapsed }
    }

    fn read_notify(&self, _authorization: Option<&str>, body: &[u8]) -> Notice {
        read_notify(body, &self.check, self.zone())
    }

    fn notify_ack(&self) -> String {
        NOTIFY_ACK.into()
    }
}

/// Plain words for the clerk for WeChat Pay's most common refusals.
pub fn explain(code: &str, lang: Lang) -> Option<&'static str> {
    Some(match code {
        "AUTHCODEEXPIRE" | "AUTH_CODE_INVALID" | "AUTH_CODE_ERROR" => lang.pick(
            "付款码无效或已过期，未扣款。请顾客刷新微信付款码后重新扫描。",
            "The payment code is invalid or expired; nothing was charged. Ask the customer to refresh the WeChat code and scan again.",
        ),
        "NOTENOUGH" => lang.pick(
            "顾客余额不足，未扣款。请顾客换一张卡或换一种付款方式。",
            "The customer's balance is too low; nothing was charged. Ask them to switch card or pay another way.",
        ),
        "NOTSUPORTCARD" => lang.pick(
            "顾客的银行卡不支持这笔付款，未扣款。请顾客换一张卡。",
            "The customer's card cannot be used for this payment; nothing was charged. Ask them to use another card.",
        ),
        "TRADE_ERROR" | "BUYER_MISMATCH" => lang.pick(
            "微信支付拒绝了这笔付款，未扣款。请顾客换一种付款方式。",
            "WeChat Pay refused this payment; nothing was charged. Ask the customer to pay another way.",
        ),
        "SIGNERROR" | "APPID_MCHID_NOT_MATCH" | "MCHID_NOT_EXIST" | "APPID_NOT_EXIST" | "NOAUTH" => lang.pick(
            "微信支付拒绝了收款请求：商户号、AppID 或密钥配置有误，未扣款。请联系管理员检查微信支付配置。",
            "WeChat Pay refused the request: the merchant id, AppID or key is misconfigured; nothing was charged. Ask a manager to check the WeChat Pay settings.",
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
