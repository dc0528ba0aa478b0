//! The payment channels behind one trait. Field mapping, signing and code tables stay inside each
//! channel's module; the engine sees only the outcomes below.

pub mod abc;
pub mod alipay;
pub mod cashdesk;
pub(crate) mod http;
pub mod lakala;
pub mod paysvc;
pub mod wechat;

use crate::config::{ChannelZone, Config};
use crate::i18n::Lang;
use crate::ledger::{Flow, Tender};
use crate::money::Fen;
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The largest statement (a day's bill) taken from a channel, downloaded or unpacked from its zip:
/// 64 MiB (a busy store's day is a few MiB). The statement readers (`recon::bills`) hold to it too.
pub const MAX_STATEMENT_BYTES: u64 = 64 * 1024 * 1024;

/// What a channel can do; the engine and the UI never offer the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    pub barcode: bool,
    pub qr: bool,
    /// Cancel/reverse a barcode payment (撤销/冲正).
    pub cancel: bool,
    /// Close an unpaid QR order.
    pub close: bool,
    pub refund: bool,
    /// Re-sending a refund with the same request number is safe: the channel answers with the
    /// refund it already made instead of refunding again. An unknown refund is then resolved by
    /// re-sending; without it (and with no refund query), only a manager can resolve one.
    pub refund_resend: bool,
    /// Wallets whose payment codes the barcode call takes.
    pub barcode_wallets: Vec<String>,
    /// The tenders a QR payment can be made with; the clerk picks one (empty: the channel's
    /// page lets the customer choose).
    pub methods: Vec<Method>,
    /// How the customer is shown a QR/page payment.
    pub display: Display,
}

impl Capabilities {
    /// Whether the channel takes this tender (its QR flow, or a customer's payment code).
    pub fn takes(&self, tender: Tender) -> bool {
        match tender {
            Tender::Qr => self.qr,
            Tender::Code => self.barcode,
        }
    }

    /// Whether a payment under way can be stopped at the channel: a payment-code payment
    /// cancelled or reversed, or an unpaid QR order closed.
    pub fn can_cancel(&self) -> bool {
        self.cancel || self.close
    }
}

/// A tender a channel offers for QR payments (`ALIPAY`, `WECHAT`, …).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Method {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

impl Method {
    pub fn from_table(codes: &[String], table: &[(&str, &str, &str)]) -> Vec<Method> {
        codes
            .iter()
            .filter_map(|c| table.iter().find(|(code, _, _)| code == c))
            .map(|(code, zh, en)| Method { code: (*code).into(), name_zh: (*zh).into(), name_en: (*en).into() })
            .collect()
    }
}

/// What the create call's payload is and where the customer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Display {
    /// A QR text or a page URL: shown as a QR code for the customer's phone.
    Qr,
    /// A page form ([`paysvc::HostedForm`] as JSON) that only a browser can open: it opens in the
    /// customer-facing window.
    CustomerWindow,
}

/// The order a call is about, as the ledger has it.
#[derive(Debug, Clone, Copy)]
pub struct Order<'a> {
    pub id: &'a str,
    pub amount: Fen,
    pub subject: &'a str,
    /// The channel account (merchant number) the order was placed under: later calls about the
    /// order use it, even if the config has changed since.
    pub merchant: &'a str,
    /// The tender the clerk picked for a QR payment (one of [`Capabilities::methods`]).
    pub method: Option<&'a str>,
    pub flow: Flow,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

/// The answer to a pay or query call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayOutcome {
    /// `paid_at`: the channel's time of payment (ms since the epoch), when it says.
    Paid { trade_no: Option<String>, paid_at: Option<i64> },
    /// Paid, then refunded in full at the channel before the ledger recorded it paid: our
    /// reversal (撤销) whose reply was lost, as the chaos run found. The money went back.
    Refunded { trade_no: Option<String> },
    /// The channel says the order was reversed (撤销: our cancel whose answer was lost, or the
    /// wallet's own for a code never confirmed): whatever had been charged went back. Not known
    /// whether it had been paid.
    Reversed { trade_no: Option<String> },
    /// The customer has not confirmed yet ("user paying", QR not scanned).
    Waiting,
    /// Not paid (yet), on a channel that cannot close an order or say it closed. Before the
    /// payment's horizon (which includes the page's lifetime) it is the same as `Waiting`; past
    /// it the payment is `lapsed`: unpaid for now, watched, never final on our clock alone.
    Unpaid,
    /// A definitive no from the channel: nothing was charged.
    Failed(Failure),
    /// The channel confirms the unpaid order is closed.
    Closed,
    /// The channel has no such order.
    NotFound,
    /// The request never left: the connection could not be made. Nothing was charged.
    NotSent(String),
    /// We do not know whether money moved.
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    /// `payload` is what the customer's phone must open: a QR text or a page URL.
    Created {
        payload: String,
    },
    Failed(Failure),
    NotSent(String),
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// Reversed at the channel; `was_paid` when the channel says whether it had been paid (and
    /// the cancel refunded it), `None` when its reply does not say.
    /// refunded it.
    Reversed {
        was_paid: Option<bool>,
    },
    /// The channel asks to try again.
    Retry,
    Failed(Failure),
    NotSent(String),
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    Succeeded { refund_no: Option<String> },
    Processing { refund_no: Option<String> },
    Failed(Failure),
    NotSent(String),
    Unknown(String),
}

/// An outcome, what to keep of the exchange for audit (status, masked body, timing), and how
/// long the exchange took on the wire.
#[derive(Debug, Clone)]
pub struct Reply<T> {
    pub outcome: T,
    pub audit: Value,
    pub elapsed: Duration,
}

/// One exchange's reply as its channel read it (`R`, the channel's own reading: a wire format,
/// a signature, an envelope), kept with the exchange's audit record and time on the wire until
/// the channel makes an outcome of it. Every channel's calls end so.
pub(crate) struct Exchanged<R> {
    pub read: R,
    pub audit: Value,
    pub elapsed: Duration,
}

impl<R> Exchanged<R> {
    /// `ex`'s reply, read by the channel's `read`.
    pub(crate) fn new(ex: http::Exchange, read: impl FnOnce(http::Transport) -> R) -> Exchanged<R> {
        Exchanged { read: read(ex.transport), audit: ex.audit, elapsed: ex.elapsed }
    }

    /// The outcome the channel makes of its reading, with the audit record and timing kept.
    pub(crate) fn into_reply<T>(self, outcome: impl FnOnce(R) -> T) -> Reply<T> {
        Reply { outcome: outcome(self.read), audit: self.audit, elapsed: self.elapsed }
    }
}

#[async_trait]
pub trait Channel: Send + Sync {
    fn id(&self) -> &'static str;
    fn name(&self, lang: Lang) -> &'static str;
    fn capabilities(&self) -> &Capabilities;
    /// The merchant account new orders are placed under (recorded with each payment).
    fn account(&self) -> &str;
    /// The calls below default to "not offered" (nothing sent) for channels without them; the
    /// engine never makes them, because `capabilities()` says so.
    async fn barcode_pay(&self, _order: &Order<'_>, _code: &str) -> Reply<PayOutcome> {
        not_offered(self.id(), "barcode", PayOutcome::NotSent)
    }
    /// When the channel itself closes a QR shown for `shown`: it passes the time on in its own
    /// unit, which may round it up. The engine keeps querying at least this long.
    fn qr_expiry(&self, shown: Duration) -> Duration;
    /// How long a lapsed payment is still queried after its lapse: at least the channel's notify
    /// window (a customer who paid late is found by then, notify or not).
    fn lapse_watch(&self) -> Duration {
        Duration::from_secs(24 * 3600)
    }
    /// `expires_at_ms` is when the screen stops showing the code (ms since the epoch); the channel
    /// passes it on in its own unit, rounded up: its expiry is never earlier than the screen's.
    async fn create_qr(&self, order: &Order<'_>, expires_at_ms: i64) -> Reply<CreateOutcome>;
    async fn query(&self, order: &Order<'_>) -> Reply<PayOutcome>;
    async fn cancel(&self, _order: &Order<'_>) -> Reply<CancelOutcome> {
        not_offered(self.id(), "cancel", CancelOutcome::NotSent)
    }
    /// Closing an unpaid QR order. `Closed` or `Paid` (it was paid meanwhile) are the good ends.
    async fn close(&self, _order: &Order<'_>) -> Reply<PayOutcome> {
        not_offered(self.id(), "close", PayOutcome::NotSent)
    }
    async fn refund(&self, _order: &Order<'_>, _refund_id: &str, _amount: Fen, _reason: &str) -> Reply<RefundOutcome> {
        not_offered(self.id(), "refund", RefundOutcome::NotSent)
    }
    /// The channel's statement (对账单) of one of its business days, as the channel gives it.
    async fn statement(&self, _day: chrono::NaiveDate) -> Reply<StatementOutcome> {
        Reply { outcome: StatementOutcome::NotOffered, audit: Value::Null, elapsed: Duration::ZERO }
    }
    /// A notify posted to the local receiver: its `Authorization` header and exact body.
    fn read_notify(&self, _authorization: Option<&str>, _body: &[u8]) -> Notice {
        Notice::Refused("this channel sends no notifies to the cashier".into())
    }
    /// The body that tells the channel a notify was taken (HTTP 200).
    fn notify_ack(&self) -> String {
        String::new()
    }
}

/// A statement download's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementOutcome {
    /// The file, and the hash the channel gave with it, if any (SHA-1, hex).
    File { bytes: Vec<u8>, sha1: Option<String> },
    /// The channel has no statement of that day: not made yet (bills are T+1, ready in the
    /// morning), or none because the day had no trade. The channel's own words.
    NoStatement(String),
    /// The channel publishes no statement: a sweep of queries stands in.
    NotOffered,
    /// Refused, unreadable or lost: nothing learned; try again later.
    Failed(String),
}

/// What a notify says, once read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Signed, verified, and saying this order is paid: the receiver cross-checks it against the
    /// ledger and applies it as a query reply would be.
    Paid { order_id: String, amount: Fen, merchant: Option<String>, trade_no: Option<String>, paid_at: Option<i64> },
    /// Unsigned, or saying something other than paid: only a reason to query the order now.
    QueryNow { order_id: String },
    /// Unreadable or not trusted: changes nothing.
    Refused(String),
}

/// The channels a config names, by id.
pub type Channels = BTreeMap<&'static str, Arc<dyn Channel>>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("channel {channel}: {why}")]
pub struct ChannelSetupError {
    pub channel: String,
    pub why: String,
}

pub fn from_config(config: &Config) -> Result<Channels, ChannelSetupError> {
    let mut channels: Channels = BTreeMap::new();
    let c = &config.channels;
    if let Some(abc) = &c.abc {
        channels.insert("abc", Arc::new(abc::AbcChannel::new(abc)?));
    }
    if let Some(lakala) = &c.lakala {
        channels.insert("lakala", Arc::new(lakala::LakalaChannel::new(lakala, config)?));
    }
    if let Some(cashdesk) = &c.cashdesk {
        channels.insert("cashdesk", Arc::new(cashdesk::CashdeskChannel::new(cashdesk, config)?));
    }
    if let Some(paysvc) = &c.paysvc {
        channels.insert("paysvc", Arc::new(paysvc::PaysvcChannel::new(paysvc)?));
    }
    if let Some(alipay) = &c.alipay {
        channels.insert("alipay", Arc::new(alipay::AlipayChannel::new(alipay, config)?));
    }
    if let Some(wechat) = &c.wechat {
        channels.insert("wechat", Arc::new(wechat::WechatChannel::new(wechat, config)?));
    }
    Ok(channels)
}

/// Channels' wall-clock times: `yyyy-MM-ddTHH:mm:ss` (abc, paysvc), `yyyy-MM-dd HH:mm:ss` (cash
/// desk), `yyyyMMddHHmmss` (Lakala), each in the channel's own zone (config `time_zone`, Beijing
/// time by default), never the till's: a till set to UTC must still send and read Beijing times.
pub(crate) const ISO_LOCAL: &str = "%Y-%m-%dT%H:%M:%S";
pub(crate) const SPACED_LOCAL: &str = "%Y-%m-%d %H:%M:%S";
pub(crate) const COMPACT_LOCAL: &str = "%Y%m%d%H%M%S";

/// A channel's wall-clock time in its zone, to ms since the epoch.
pub(crate) fn channel_time_ms(text: &str, format: &str, zone: ChannelZone) -> Option<i64> {
    use chrono::TimeZone;
    let naive = chrono::NaiveDateTime::parse_from_str(text, format).ok()?;
    zone.0.from_local_datetime(&naive).single().map(|t| t.timestamp_millis())
}

/// An instant (ms since the epoch) as the channel's wall-clock text in its zone.
pub(crate) fn channel_time_text(ms: i64, format: &str, zone: ChannelZone) -> String {
    use chrono::TimeZone;
    zone.0.timestamp_millis_opt(ms).single().map(|t| t.format(format).to_string()).unwrap_or_default()
}

/// 32 random letters and digits (a request's `nonce_str`).
pub(crate) fn nonce() -> String {
    use rsa::rand_core::{OsRng, RngCore};
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char).collect()
}

/// A code field as text whether the channel wrote it as `"1002"` or `1002`.
pub(crate) fn code_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde::Deserialize;
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => return Err(serde::de::Error::custom(format!("a code that is {other}"))),
    })
}

/// Ours: a create "success" with no QR code or page to show.
pub const NO_PAGE: &str = "NO_PAGE";

/// The failure of a create that gave no page: nothing was shown, so nobody can pay.
pub(crate) fn no_page(why: &str) -> Failure {
    Failure { code: NO_PAGE.into(), message: why.into() }
}

/// A 2xx or 4xx: the service's own answer. A 3xx or 5xx may be a proxy's, or a crash's.
pub(crate) fn is_clear(status: u16) -> bool {
    (200..300).contains(&status) || (400..500).contains(&status)
}

/// A create call's clear answer about our order (2xx or 4xx, trusted, naming no other order):
/// the page to show, or a failure. Whatever the code, an answer without a page is a refusal: no
/// page was shown, so nobody can pay. A refusal that carries a page contradicts itself: unknown,
/// then queried.
pub(crate) fn page_or_refusal(
    accepted: bool,
    page: Option<String>,
    refusal: impl FnOnce() -> Failure,
) -> CreateOutcome {
    let page = page.filter(|p| !p.trim().is_empty() && p.len() <= 2048);
    match (accepted, page) {
        (true, Some(payload)) => CreateOutcome::Created { payload },
        (true, None) => CreateOutcome::Failed(no_page("the reply has no QR code or payment page")),
        (false, None) => CreateOutcome::Failed(refusal()),
        (false, Some(_)) => CreateOutcome::Unknown("a refusal that carries a payment page".into()),
    }
}

fn not_offered<T>(channel: &str, call: &str, outcome: impl FnOnce(String) -> T) -> Reply<T> {
    let why = format!("{channel} has no {call} call");
    unsupported(outcome(why.clone()), &why)
}

/// A call the channel does not have: nothing is sent.
pub(crate) fn unsupported<T>(outcome: T, why: &str) -> Reply<T> {
    Reply { outcome, audit: serde_json::json!({ "not_sent": why }), elapsed: Duration::ZERO }
}

/// Plain words for the clerk for a channel's own failure code, where the channel has them.
pub fn explain(channel: &str, code: &str, lang: Lang) -> Option<&'static str> {
    if code == NO_PAGE {
        return Some(lang.pick(
            "收款渠道没有给出收款码或支付页面，顾客无法付款，未扣款。请重新收款或换一个收款渠道。",
            "The channel gave no QR code or payment page, so the customer could not pay; nothing was charged. Try again or use another channel.",
        ));
    }
    match channel {
        "lakala" => lakala::explain(code, lang),
        "cashdesk" => cashdesk::explain(code, lang),
        "paysvc" => paysvc::explain(code, lang),
        "alipay" => alipay::explain(code, lang),
        "wechat" => wechat::explain(code, lang),
        _ => None,
    }
}
