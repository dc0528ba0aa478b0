//! Each channel's config section. Every section carries the same HTTP keys (`base_url`, the two
//! timeouts, `allow_insecure_http`) and its own account keys; [`ChannelSection`] is what the rest
//! of the config code needs from any of them.

use super::{invalid, ConfigError, MAX_WAIT_MS};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channels {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abc: Option<AbcConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lakala: Option<LakalaConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cashdesk: Option<CashdeskConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paysvc: Option<PaysvcConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alipay: Option<AlipayConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechat: Option<WechatConfig>,
}

impl Channels {
    /// The configured sections by channel id, in a fixed order (the order tenders are offered).
    pub fn sections(&self) -> Vec<(&'static str, &dyn ChannelSection)> {
        fn section<S: ChannelSection>(s: &Option<S>) -> Option<&dyn ChannelSection> {
            s.as_ref().map(|s| s as &dyn ChannelSection)
        }
        [
            ("abc", section(&self.abc)),
            ("lakala", section(&self.lakala)),
            ("cashdesk", section(&self.cashdesk)),
            ("paysvc", section(&self.paysvc)),
            ("alipay", section(&self.alipay)),
            ("wechat", section(&self.wechat)),
        ]
        .into_iter()
        .filter_map(|(id, s)| Some((id, s?)))
        .collect()
    }
}

/// What the config code needs from any channel's section.
pub trait ChannelSection {
    fn http(&self) -> HttpSettings;
    /// Overrides `timing.barcode_deadline_ms` for this channel.
    fn barcode_deadline_ms(&self) -> Option<u64> {
        None
    }
    /// The section's own keys; `key` is its path (`channels.lakala`).
    fn validate_own(&self, key: &str) -> Result<(), ConfigError>;
}

/// Settings shared by every HTTP channel (each channel's section holds these keys).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    pub base_url: String,
    pub connect_timeout_ms: u64,
    pub request_timeout_ms: u64,
    pub allow_insecure_http: bool,
}

/// A token or key kept out of `Debug` output (and so out of every log line).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

/// The clock a channel's time fields are written and read in: a fixed UTC offset, `+08:00` by
/// default (the seed services are Chinese, and China keeps Beijing time all year). The business
/// day stays in the store's own zone; only the wire uses this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelZone(pub chrono::FixedOffset);

impl ChannelZone {
    pub const BEIJING_SECS: i32 = 8 * 3600;

    pub fn parse(text: &str) -> Option<ChannelZone> {
        let t = text.trim();
        let (sign, rest) = match t.as_bytes().first()? {
            b'+' => (1, &t[1..]),
            b'-' => (-1, &t[1..]),
            _ => return None,
        };
        let (h, m) = rest.split_once(':')?;
        if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
        if h > 14 || m > 59 {
            return None;
        }
        chrono::FixedOffset::east_opt(sign * (h * 3600 + m * 60)).map(ChannelZone)
    }
}

impl Default for ChannelZone {
    fn default() -> Self {
        ChannelZone(chrono::FixedOffset::east_opt(Self::BEIJING_SECS).expect("+08:00 is a valid offset"))
    }
}

impl std::fmt::Display for ChannelZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.0.local_minus_utc();
        let sign = if secs < 0 { '-' } else { '+' };
        write!(f, "{sign}{:02}:{:02}", secs.abs() / 3600, secs.abs() % 3600 / 60)
    }
}

impl Serialize for ChannelZone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ChannelZone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ChannelZone::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "time_zone {text:?} is not a UTC offset like \"+08:00\" / 须为 UTC 偏移，例如 \"+08:00\""
            ))
        })
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Every section's HTTP keys, read the same way.
macro_rules! http_settings {
    ($section:expr) => {
        HttpSettings {
            base_url: $section.base_url.clone(),
            connect_timeout_ms: $section.connect_timeout_ms,
            request_timeout_ms: $section.request_timeout_ms,
            allow_insecure_http: $section.allow_insecure_http,
        }
    };
}

pub(super) fn default_connect_timeout() -> u64 {
    5_000
}
pub(super) fn default_request_timeout() -> u64 {
    15_000
}
pub(super) fn default_goods_name() -> String {
    "商品".into()
}
fn default_page_lifetime() -> u64 {
    7_200_000
}
/// Seed 002: the desk re-sends a notify for 24 h 4 min.
pub(super) fn default_desk_watch() -> u64 {
    86_640_000
}
/// Alipay's notify schedule behind the payment service runs about 25 h.
pub(super) fn default_paysvc_watch() -> u64 {
    90_000_000
}
pub(super) fn default_lakala_watch() -> u64 {
    86_400_000
}

/// How long a lapsed payment may be watched: up to 30 days.
fn watch_window(key: &str, v: u64) -> Result<(), ConfigError> {
    if v == 0 || v > 30 * MAX_WAIT_MS {
        return Err(invalid(
            &format!("{key}.lapse_watch_ms"),
            "between 1 and 2592000000 (30 days) / 1 到 2592000000 毫秒",
        ));
    }
    Ok(())
}

pub(super) fn yes() -> bool {
    true
}

fn required(key: &str, field: &str, value: &str) -> Result<(), ConfigError> {
    if value.trim().is_empty() {
        return Err(invalid(&format!("{key}.{field}"), "required / 必填"));
    }
    Ok(())
}

fn within_a_day(key: &str, field: &str, v: Option<u64>) -> Result<(), ConfigError> {
    if v.is_some_and(|v| v == 0 || v > MAX_WAIT_MS) {
        return Err(invalid(&format!("{key}.{field}"), "between 1 and 86400000 / 1 到 86400000 毫秒"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// abc

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AbcConfig {
    pub base_url: String,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_ms: u64,
    #[serde(default = "default_request_timeout")]
    pub request_timeout_ms: u64,
    /// Allow `http://` to a host that is not loopback. Off: money goes over TLS.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// The zone of the channel's time fields (`+08:00`, Beijing time, by default).
    #[serde(default)]
    pub time_zone: ChannelZone,
    pub merchant_id: String,
    /// `goodsName` sent when the clerk gives no subject (the service requires one: AP7346).
    #[serde(default = "default_goods_name")]
    pub goods_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// Required by the service for the WAP and PC calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quit_url: Option<String>,
    /// Overrides `timing.barcode_deadline_ms` for this channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barcode_deadline_ms: Option<u64>,
}

impl ChannelSection for AbcConfig {
    fn http(&self) -> HttpSettings {
        http_settings!(self)
    }
    fn barcode_deadline_ms(&self) -> Option<u64> {
        self.barcode_deadline_ms
    }
    fn validate_own(&self, key: &str) -> Result<(), ConfigError> {
        required(key, "merchant_id", &self.merchant_id)?;
        required(key, "goods_name", &self.goods_name)
    }
}

// ---------------------------------------------------------------------------------------------
// lakala

/// Which Lakala API the cashier speaks.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LakalaMode {
    /// The merchant backend of seeds 000/001 (Bearer token; counter calls only).
    Backend,
    /// Lakala open platform v3, signed with the store's own RSA key.
    Direct,
}

/// How QR payments are made.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LakalaQr {
    /// Direct: `labs/trans/preorder`, a wallet QR (`acc_resp_fields.code`). Backend: seed 000's
    /// legacy `preorder`, an aggregated QR (`qr_code`) that no call can close.
    Preorder,
    /// The hosted counter page, shown as a QR (direct `ccss/counter/order/special_create`,
    /// backend `counter/create`).
    Counter,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LakalaConfig {
    pub mode: LakalaMode,
    pub base_url: String,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_ms: u64,
    #[serde(default = "default_request_timeout")]
    pub request_timeout_ms: u64,
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// The zone of the channel's time fields (`+08:00`, Beijing time, by default).
    #[serde(default)]
    pub time_zone: ChannelZone,
    /// 商户号 (direct mode; recorded with each payment in both modes).
    #[serde(default)]
    pub merchant_no: String,
    /// 终端号 (direct mode).
    #[serde(default)]
    pub term_no: String,
    /// Backend mode: the Bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// Direct mode: the open-platform app id.
    #[serde(default)]
    pub appid: String,
    /// Direct mode: the serial of the store's API certificate, as Lakala lists it (hex).
    #[serde(default)]
    pub serial_no: String,
    /// Direct mode: the store's RSA private key (PEM, PKCS#8 or PKCS#1), relative to the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<PathBuf>,
    /// Direct mode: Lakala's platform certificate (PEM) that signs replies and notifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lakala_cert: Option<PathBuf>,
    /// How QR payments are made: direct mode `preorder` (default) or `counter`; backend mode
    /// `counter` (default) or `preorder`, seed 000's legacy aggregated QR (no close call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_api: Option<LakalaQr>,
    /// The counter order's `support_cancel`, `support_refund` and `support_repeat_pay` (0/1).
    /// Seed 001's example sends 0, 1, 1. Repeat pay stays 0 by default: Lakala's counter may then
    /// take a second payment for one order (its own `repeat_pay_auto_refund` exists for that),
    /// and one order is one payment in the ledger.
    #[serde(default)]
    pub support_cancel: bool,
    #[serde(default = "yes")]
    pub support_refund: bool,
    #[serde(default)]
    pub support_repeat_pay: bool,
    /// Backend mode, seed 000's legacy micropay: the unit of `total_fee` (seed: "may differ").
    #[serde(default)]
    pub legacy_amount_unit: AmountUnit,
    /// Direct mode: a signed notify older (or newer) than this is refused, and one whose nonce was
    /// seen within it is a replay.
    #[serde(default = "default_notify_max_age")]
    pub notify_max_age_seconds: u64,
    /// Backend mode: the backend's `counter/query` answers for the legacy orders too (our reading of
    /// seed 000), so its "no such order" means one. Off: "no such order" says nothing, and a
    /// legacy payment whose answer was lost stays unknown for a manager.
    #[serde(default = "yes")]
    pub legacy_orders_queryable: bool,
    /// The tenders offered for QR payments, in order; the clerk picks one. Preorder takes
    /// `ALIPAY`, `WECHAT`, `UQRCODEPAY`; the counter takes the 14 codes of seed 001.
    #[serde(default = "default_lakala_methods")]
    pub methods: Vec<String>,
    #[serde(default = "default_goods_name")]
    pub order_info: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpos_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    /// `location_info.request_ip` of direct calls: the store's address as Lakala should see it.
    #[serde(default = "default_request_ip")]
    pub request_ip: String,
    /// Reply codes that mean "no such order" (assumption: not in the seeds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_found_codes: Option<Vec<String>>,
    /// Reply codes after which nothing was charged (assumption: not in the seeds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definitive_failures: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barcode_deadline_ms: Option<u64>,
    /// How long a lapsed order (backend mode's legacy calls, which cannot be closed or
    /// cancelled) is still queried.
    #[serde(default = "default_lakala_watch")]
    pub lapse_watch_ms: u64,
}

pub(super) fn default_notify_max_age() -> u64 {
    300
}

fn default_lakala_methods() -> Vec<String> {
    vec!["ALIPAY".into(), "WECHAT".into()]
}
fn default_request_ip() -> String {
    "127.0.0.1".into()
}

/// The payment methods of seed 001, with their names.
pub const LAKALA_METHODS: &[(&str, &str, &str)] = &[
    ("ALIPAY", "支付宝", "Alipay"),
    ("WECHAT", "微信支付", "WeChat Pay"),
    ("UNION", "银联云闪付", "UnionPay QuickPass"),
    ("CARD", "POS刷卡", "Card at POS"),
    ("LKLAT", "线上转账", "Online transfer"),
    ("QUICK_PAY", "快捷支付", "Quick pay"),
    ("EBANK", "网银支付", "Online banking"),
    ("UNION_CC", "银联支付", "UnionPay"),
    ("BESTPAY", "翼支付", "Bestpay"),
    ("HB_FQ", "花呗分期", "Huabei instalments"),
    ("UNION_FQ", "银联聚分期", "UnionPay instalments"),
    ("ONLINE_CARDLESS", "线上外卡", "Foreign cards online"),
    ("JDBT", "京东白条", "JD Baitiao"),
    ("ALIPAY_HK", "支付宝香港钱包", "AlipayHK"),
];

/// The `account_type` values the preorder (wallet QR) call takes.
pub const LAKALA_PREORDER_METHODS: &[(&str, &str, &str)] = &[
    ("ALIPAY", "支付宝", "Alipay"),
    ("WECHAT", "微信支付", "WeChat Pay"),
    ("UQRCODEPAY", "银联二维码", "UnionPay QR"),
];

impl LakalaConfig {
    /// How QR payments are made: as configured, else the counter page in backend mode and the
    /// wallet QR in direct mode.
    pub fn qr_api(&self) -> LakalaQr {
        self.qr_api.unwrap_or(match self.mode {
            LakalaMode::Backend => LakalaQr::Counter,
            LakalaMode::Direct => LakalaQr::Preorder,
        })
    }

    /// Whether QR payments go through the hosted counter page.
    pub fn uses_counter(&self) -> bool {
        self.qr_api() == LakalaQr::Counter
    }
}

impl ChannelSection for LakalaConfig {
    fn http(&self) -> HttpSettings {
        http_settings!(self)
    }
    fn barcode_deadline_ms(&self) -> Option<u64> {
        self.barcode_deadline_ms
    }
    fn validate_own(&self, key: &str) -> Result<(), ConfigError> {
        match self.mode {
            LakalaMode::Backend => {
                if self.token.as_ref().is_none_or(|t| t.reveal().trim().is_empty()) {
                    return Err(invalid(&format!("{key}.token"), "required in backend mode / 后台模式必填"));
                }
            }
            LakalaMode::Direct => {
                required(key, "merchant_no", &self.merchant_no)?;
                required(key, "term_no", &self.term_no)?;
                required(key, "appid", &self.appid)?;
                required(key, "serial_no", &self.serial_no)?;
                if self.private_key.is_none() {
                    return Err(invalid(&format!("{key}.private_key"), "required in direct mode / 直连模式必填"));
                }
                if self.lakala_cert.is_none() {
                    return Err(invalid(&format!("{key}.lakala_cert"), "required in direct mode / 直连模式必填"));
                }
                if self.request_ip.parse::<IpAddr>().is_err() {
                    return Err(invalid(&format!("{key}.request_ip"), "an IP address / IP 地址"));
                }
            }
        }
        if self.order_info.trim().is_empty() || self.order_info.chars().count() > 64 {
            return Err(invalid(&format!("{key}.order_info"), "1–64 characters / 1 到 64 个字符"));
        }
        let known = if self.uses_counter() { LAKALA_METHODS } else { LAKALA_PREORDER_METHODS };
        if self.methods.is_empty() {
            return Err(invalid(&format!("{key}.methods"), "at least one / 至少一个"));
        }
        for m in &self.methods {
            if !known.iter().any(|(code, _, _)| code == m) {
                let codes: Vec<&str> = known.iter().map(|(c, _, _)| *c).collect();
                return Err(invalid(&format!("{key}.methods"), format!("{m} is not one of {}", codes.join(", "))));
            }
        }
        if !(1..=86_400).contains(&self.notify_max_age_seconds) {
            return Err(invalid(&format!("{key}.notify_max_age_seconds"), "1–86400 / 1 到 86400 秒"));
        }
        watch_window(key, self.lapse_watch_ms)
    }
}

// ---------------------------------------------------------------------------------------------
// cashdesk

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum SignScheme {
    /// MD5 of the canonical string (32 hex digits, like the seed's sample).
    #[default]
    Md5,
    /// SM3 (GM/T 0004) of the canonical string (64 hex digits).
    Sm3,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum AmountUnit {
    #[default]
    Fen,
    Yuan,
}

impl AmountUnit {
    /// An amount as this unit's text: fen as an integer; yuan as `text` says.
    pub fn write(self, amount: crate::money::Fen, text: AmountText) -> String {
        match (self, text) {
            (AmountUnit::Fen, _) => amount.0.to_string(),
            (AmountUnit::Yuan, AmountText::Plain) => amount.plain_yuan_text(),
            (AmountUnit::Yuan, AmountText::TwoDecimals) => amount.yuan_text(),
        }
    }

    /// An amount a channel wrote in this unit, read exactly; `None` when it is not one.
    pub fn read(self, text: &str) -> Option<crate::money::Fen> {
        match self {
            AmountUnit::Fen if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
                text.parse().ok().map(crate::money::Fen)
            }
            AmountUnit::Fen => None,
            AmountUnit::Yuan => crate::money::Fen::parse_yuan_wire(text).ok(),
        }
    }
}

/// How a yuan amount is written, on the wire and in the signed string alike (the seed does not
/// say). `plain`: the shortest decimal (`12.3`, `12`), which is the same text whether the desk
/// keeps the number as written or reads it as a number and prints it back; `two_decimals`:
/// always two (`12.30`), which a desk reading the number signs as `12.3` and refuses.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum AmountText {
    #[default]
    Plain,
    TwoDecimals,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CashdeskConfig {
    /// The API gateway, e.g. `https://lala-pay.huolalazuche.cn` (paths start `/api/cashier-desk/`).
    pub base_url: String,
    /// Where the payment page lives (`{web_url}/cashier-desk-web/payment?token=…`); default `base_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_url: Option<String>,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_ms: u64,
    #[serde(default = "default_request_timeout")]
    pub request_timeout_ms: u64,
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// The zone of the channel's time fields (`+08:00`, Beijing time, by default).
    #[serde(default)]
    pub time_zone: ChannelZone,
    pub app_id: String,
    pub app_key: Secret,
    #[serde(default)]
    pub sign_scheme: SignScheme,
    #[serde(default)]
    pub amount_unit: AmountUnit,
    /// With `amount_unit = "yuan"`: how the amount is written and signed.
    #[serde(default)]
    pub amount_text: AmountText,
    /// After the unified order, send the kept channels (one per type) to `payment/list` so the
    /// customer's page offers only those (seed 002 §四). Off for a desk without that call.
    #[serde(default = "yes")]
    pub payment_list: bool,
    #[serde(default = "default_goods_name")]
    pub order_title: String,
    /// `thirdPartyUser`: who places the order at the desk; default the terminal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_party_user: Option<String>,
    /// When several desk channels share a `channelType`, prefer these `channelName`s or
    /// `channelId`s, in order (after `sort`).
    #[serde(default)]
    pub preferred_channels: Vec<String>,
    /// How long the desk's payment page can still be paid (the seed does not say): after this
    /// plus `timing.late_horizon_ms` an order still reported unpaid is `lapsed` in the ledger.
    #[serde(default = "default_page_lifetime")]
    pub page_lifetime_ms: u64,
    /// How long a lapsed order is still queried: the desk's notify window (24 h 4 min).
    #[serde(default = "default_desk_watch")]
    pub lapse_watch_ms: u64,
}

impl CashdeskConfig {
    pub fn web_url(&self) -> &str {
        self.web_url.as_deref().unwrap_or(&self.base_url)
    }
}

impl ChannelSection for CashdeskConfig {
    fn http(&self) -> HttpSettings {
        http_settings!(self)
    }
    fn validate_own(&self, key: &str) -> Result<(), ConfigError> {
        required(key, "app_id", &self.app_id)?;
        required(key, "app_key", self.app_key.reveal())?;
        required(key, "order_title", &self.order_title)?;
        if let Some(web) = &self.web_url {
            let http = HttpSettings { base_url: web.clone(), ..self.http() };
            validate_http(&format!("{key}.web_url"), &http)?;
        }
        within_a_day(key, "page_lifetime_ms", Some(self.page_lifetime_ms))?;
        watch_window(key, self.lapse_watch_ms)
    }
}

// ---------------------------------------------------------------------------------------------
// paysvc

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PaysvcConfig {
    pub base_url: String,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_ms: u64,
    #[serde(default = "default_request_timeout")]
    pub request_timeout_ms: u64,
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// The zone of the channel's time fields (`+08:00`, Beijing time, by default).
    #[serde(default)]
    pub time_zone: ChannelZone,
    #[serde(default = "default_goods_name")]
    pub subject: String,
    /// Hosts the service's payment form may post to; any other `action` is refused.
    #[serde(default = "default_gateway_hosts")]
    pub gateway_hosts: Vec<String>,
    /// How long Alipay's page can still be paid (the seed does not say); see `cashdesk`.
    #[serde(default = "default_page_lifetime")]
    pub page_lifetime_ms: u64,
    /// How long a lapsed order is still queried (Alipay notifies the service for about 25 h).
    #[serde(default = "default_paysvc_watch")]
    pub lapse_watch_ms: u64,
}

fn default_gateway_hosts() -> Vec<String> {
    vec!["openapi.alipay.com".into(), "openapi-sandbox.dl.alipaydev.com".into()]
}

impl ChannelSection for PaysvcConfig {
    fn http(&self) -> HttpSettings {
        http_settings!(self)
    }
    fn validate_own(&self, key: &str) -> Result<(), ConfigError> {
        required(key, "subject", &self.subject)?;
        if self.gateway_hosts.is_empty() || self.gateway_hosts.iter().any(|h| h.trim().is_empty()) {
            return Err(invalid(&format!("{key}.gateway_hosts"), "at least one host / 至少一个主机名"));
        }
        within_a_day(key, "page_lifetime_ms", Some(self.page_lifetime_ms))?;
        watch_window(key, self.lapse_watch_ms)
    }
}

// ---------------------------------------------------------------------------------------------
// alipay (OpenAPI gateway, 当面付)

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlipayConfig {
    /// The gateway's origin: `https://openapi.alipay.com` (calls go to `{base_url}/gateway.do`);
    /// Alipay's sandbox is `https://openapi-sandbox.dl.alipaydev.com`.
    pub base_url: String,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_ms: u64,
    #[serde(default = "default_request_timeout")]
    pub request_timeout_ms: u64,
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// The zone of `timestamp` and of the times in replies (`+08:00` by default).
    #[serde(default)]
    pub time_zone: ChannelZone,
    pub app_id: String,
    /// The app's RSA private key (PEM PKCS#8/PKCS#1, or the key tool's Base64), 0600.
    pub private_key: PathBuf,
    /// Public-key mode: Alipay's public key (PEM or Base64) that signs replies and notifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alipay_public_key: Option<PathBuf>,
    /// Certificate mode: the app's certificate (`appCertPublicKey_….crt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_cert: Option<PathBuf>,
    /// Certificate mode: Alipay's certificate (`alipayCertPublicKey_RSA2.crt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alipay_cert: Option<PathBuf>,
    /// Certificate mode: Alipay's root bundle (`alipayRootCert.crt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alipay_root_cert: Option<PathBuf>,
    /// The merchant's PID (2088…): a notify for another seller is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_id: Option<String>,
    /// A service provider (ISV) calling for the merchant: the merchant's `app_auth_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_auth_token: Option<Secret>,
    #[serde(default = "default_goods_name")]
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// Where Alipay posts QR payments' notifies (the cashier's notify receiver, behind a proxy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// `sub_code`s of a refused payment after which nothing was charged; any other refusal is
    /// unknown and queried. Default: [`ALIPAY_PAY_FAILURES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_sub_codes: Option<Vec<String>>,
    /// `sub_code`s of a refused refund after which nothing was refunded. Default:
    /// [`ALIPAY_REFUND_FAILURES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_failure_sub_codes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barcode_deadline_ms: Option<u64>,
    /// How long an unpaid QR order that could not be closed (never scanned) is still queried:
    /// Alipay notifies for about 25 h.
    #[serde(default = "default_paysvc_watch")]
    pub lapse_watch_ms: u64,
}

/// `alipay.trade.pay` refusals after which nothing was charged (the method's documented
/// business errors). ACQ.SYSTEM_ERROR, ACQ.TRADE_HAS_SUCCESS, ACQ.TRADE_HAS_CLOSE and
/// ACQ.CONTEXT_INCONSISTENT are left out on purpose: they say something about an order that may
/// exist, so a query decides.
pub const ALIPAY_PAY_FAILURES: &[&str] = &[
    "ACQ.PAYMENT_AUTH_CODE_INVALID",
    "ACQ.BUYER_BALANCE_NOT_ENOUGH",
    "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH",
    "ACQ.ERROR_BALANCE_PAYMENT_DISABLE",
    "ACQ.BUYER_SELLER_EQUAL",
    "ACQ.TRADE_BUYER_NOT_MATCH",
    "ACQ.BUYER_ENABLE_STATUS_FORBID",
    "ACQ.PULL_MOBILE_CASHIER_FAIL",
    "ACQ.MOBILE_PAYMENT_SWITCH_OFF",
    "ACQ.PAYMENT_FAIL",
    "ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR",
    "ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR",
    "ACQ.BEYOND_PAY_RESTRICTION",
    "ACQ.BEYOND_PER_RECEIPT_RESTRICTION",
    "ACQ.SELLER_BEEN_BLOCKED",
    "ACQ.ERROR_BUYER_CERTIFY_LEVEL_LIMIT",
    "ACQ.PAYMENT_REQUEST_HAS_RISK",
    "ACQ.NO_PAYMENT_INSTRUMENTS_AVAILABLE",
    "ACQ.USER_FACE_PAYMENT_SWITCH_OFF",
    "ACQ.INVALID_PARAMETER",
    "ACQ.ACCESS_FORBIDDEN",
    "ACQ.EXIST_FORBIDDEN_WORD",
    "ACQ.PARTNER_ERROR",
    "ACQ.TOTAL_FEE_EXCEED",
    "ACQ.INVALID_STORE_ID",
];

/// `alipay.trade.refund` refusals after which nothing was refunded.
pub const ALIPAY_REFUND_FAILURES: &[&str] = &[
    "ACQ.TRADE_NOT_EXIST",
    "ACQ.TRADE_STATUS_ERROR",
    "ACQ.TRADE_NOT_ALLOW_REFUND",
    "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
    "ACQ.REASON_TRADE_REFUND_FEE_ERR",
    "ACQ.REFUND_FEE_ERROR",
    "ACQ.SELLER_BALANCE_NOT_ENOUGH",
    "ACQ.DISCORDANT_REPEAT_REQUEST",
    "ACQ.REASON_TRADE_BEEN_FREEZEN",
    "ACQ.ONLINE_TRADE_VOUCHER_NOT_ALLOW_REFUND",
    "ACQ.INVALID_PARAMETER",
];

/// Which way Alipay's signatures are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlipayKeys<'a> {
    PublicKey(&'a PathBuf),
    Certificates { app: &'a PathBuf, alipay: &'a PathBuf, root: &'a PathBuf },
}

impl AlipayConfig {
    /// Public-key mode or certificate mode, whichever the section names (never both).
    pub fn keys(&self) -> Result<AlipayKeys<'_>, String> {
        match (&self.alipay_public_key, &self.app_cert, &self.alipay_cert, &self.alipay_root_cert) {
            (Some(key), None, None, None) => Ok(AlipayKeys::PublicKey(key)),
            (None, Some(app), Some(alipay), Some(root)) => Ok(AlipayKeys::Certificates { app, alipay, root }),
            (Some(_), _, _, _) => Err("either alipay_public_key (public-key mode) or the three certificates (certificate mode), not both / 公钥模式与证书模式只能选一种".into()),
            _ => Err("alipay_public_key, or app_cert + alipay_cert + alipay_root_cert / 需配置支付宝公钥，或应用证书、支付宝证书、根证书三者".into()),
        }
    }

    pub fn pay_failures(&self) -> Vec<String> {
        codes_or(&self.failure_sub_codes, ALIPAY_PAY_FAILURES)
    }

    pub fn refund_failures(&self) -> Vec<String> {
        codes_or(&self.refund_failure_sub_codes, ALIPAY_REFUND_FAILURES)
    }
}

fn codes_or(configured: &Option<Vec<String>>, default: &[&str]) -> Vec<String> {
    configured.clone().unwrap_or_else(|| default.iter().map(|c| c.to_string()).collect())
}

impl ChannelSection for AlipayConfig {
    fn http(&self) -> HttpSettings {
        http_settings!(self)
    }
    fn barcode_deadline_ms(&self) -> Option<u64> {
        self.barcode_deadline_ms
    }
    fn validate_own(&self, key: &str) -> Result<(), ConfigError> {
        required(key, "app_id", &self.app_id)?;
        required(key, "subject", &self.subject)?;
        self.keys().map_err(|why| invalid(&format!("{key}.alipay_public_key"), why))?;
        watch_window(key, self.lapse_watch_ms)
    }
}

// ---------------------------------------------------------------------------------------------
// wechat (WeChat Pay merchant API v2)

/// How v2 messages are signed.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
pub enum WechatSignType {
    /// `HMAC-SHA256` (sent as `sign_type`).
    #[default]
    #[serde(rename = "HMAC-SHA256")]
    HmacSha256,
    /// `MD5`, v2's original algorithm, for merchants configured that way.
    #[serde(rename = "MD5")]
    Md5,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WechatConfig {
    /// `https://api.mch.weixin.qq.com` (backup `https://api2.mch.weixin.qq.com`).
    pub base_url: String,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_ms: u64,
    #[serde(default = "default_request_timeout")]
    pub request_timeout_ms: u64,
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// The zone of `time_expire` and `time_end` (`+08:00` by default).
    #[serde(default)]
    pub time_zone: ChannelZone,
    pub appid: String,
    pub mch_id: String,
    /// A service provider's sub-merchant (服务商模式): `sub_mch_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_mch_id: Option<String>,
    /// The API v2 key (32 characters, set in the merchant platform).
    pub api_key: Secret,
    #[serde(default)]
    pub sign_type: WechatSignType,
    /// The merchant's API client certificate and its key (`apiclient_cert.pem`,
    /// `apiclient_key.pem`, 0600): reverse and refund are mutual-TLS calls.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A CA (PEM) to trust for the API host besides the system's: only for a test gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_ca_cert: Option<PathBuf>,
    #[serde(default = "default_goods_name")]
    pub body: String,
    /// `spbill_create_ip`: the till's address as WeChat should see it.
    #[serde(default = "default_request_ip")]
    pub spbill_create_ip: String,
    /// Where WeChat posts Native (QR) payments' notifies. WeChat requires one on every Native
    /// order: without it the channel takes payment codes only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// `err_code`s of a refused payment after which nothing was charged; any other refusal is
    /// unknown and queried. Default: [`WECHAT_PAY_FAILURES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_codes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barcode_deadline_ms: Option<u64>,
    /// The shortest `time_expire` of a Native order, from its creation: WeChat refuses a shorter
    /// one (5 minutes in the current v2 docs, 1 in older ones; 30 s of margin by default). The
    /// payment is followed at least this long.
    #[serde(default = "default_wechat_min_expiry")]
    pub min_qr_expiry_ms: u64,
    /// How long an unpaid QR order is still queried after it lapsed (WeChat notifies for about
    /// 24 h 4 min).
    #[serde(default = "default_desk_watch")]
    pub lapse_watch_ms: u64,
}

/// `micropay` refusals after which nothing was charged (the documented final errors).
/// SYSTEMERROR, BANKERROR and USERPAYING are not final (query); ORDERPAID, ORDERCLOSED and
/// OUT_TRADE_NO_USED speak about an order that exists, so a query decides them too.
pub const WECHAT_PAY_FAILURES: &[&str] = &[
    "AUTHCODEEXPIRE",
    "AUTH_CODE_INVALID",
    "AUTH_CODE_ERROR",
    "NOTENOUGH",
    "NOTSUPORTCARD",
    "PARAM_ERROR",
    "NOAUTH",
    "TRADE_ERROR",
    "BUYER_MISMATCH",
    "APPID_MCHID_NOT_MATCH",
    "MCHID_NOT_EXIST",
    "APPID_NOT_EXIST",
    "LACK_PARAMS",
    "INVALID_REQUEST",
    "XML_FORMAT_ERROR",
    "SIGNERROR",
    "REQUIRE_POST_METHOD",
    "POST_DATA_EMPTY",
    "NOT_UTF8",
];

pub(super) fn default_wechat_min_expiry() -> u64 {
    330_000
}

impl WechatConfig {
    pub fn pay_failures(&self) -> Vec<String> {
        codes_or(&self.failure_codes, WECHAT_PAY_FAILURES)
    }
}

impl ChannelSection for WechatConfig {
    fn http(&self) -> HttpSettings {
        http_settings!(self)
    }
    fn barcode_deadline_ms(&self) -> Option<u64> {
        self.barcode_deadline_ms
    }
    fn validate_own(&self, key: &str) -> Result<(), ConfigError> {
        required(key, "appid", &self.appid)?;
        required(key, "mch_id", &self.mch_id)?;
        required(key, "body", &self.body)?;
        if self.api_key.reveal().chars().count() != 32
            || !self.api_key.reveal().bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(invalid(
                &format!("{key}.api_key"),
                "32 letters and digits, as set in the merchant platform / 32 位字母数字（商户平台设置的 API 密钥）",
            ));
        }
        if self.spbill_create_ip.parse::<IpAddr>().is_err() {
            return Err(invalid(&format!("{key}.spbill_create_ip"), "an IP address / IP 地址"));
        }
        within_a_day(key, "min_qr_expiry_ms", Some(self.min_qr_expiry_ms))?;
        watch_window(key, self.lapse_watch_ms)
    }
}

// ---------------------------------------------------------------------------------------------

/// A whole section: the shared HTTP keys, the channel's own, then its barcode deadline.
pub(super) fn validate_section(key: &str, section: &dyn ChannelSection) -> Result<(), ConfigError> {
    let http = section.http();
    validate_http(key, &http)?;
    if http.connect_timeout_ms > MAX_WAIT_MS || http.request_timeout_ms > MAX_WAIT_MS {
        return Err(invalid(&format!("{key}.request_timeout_ms"), "at most 86400000 / 最多 86400000 毫秒"));
    }
    section.validate_own(key)?;
    within_a_day(key, "barcode_deadline_ms", section.barcode_deadline_ms())
}

/// `https://`, or `http://` to loopback, or `http://` with `allow_insecure_http`.
fn validate_http(section: &str, http: &HttpSettings) -> Result<(), ConfigError> {
    let key = if section.ends_with("web_url") { section.to_string() } else { format!("{section}.base_url") };
    let url =
        reqwest::Url::parse(&http.base_url).map_err(|e| invalid(&key, format!("not a URL / 不是有效网址: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if http.allow_insecure_http || is_loopback_host(&url) => {}
        "http" => {
            return Err(invalid(
                &key,
                "http:// is allowed only to loopback; use https:// or set allow_insecure_http / 非本机地址必须使用 https://",
            ))
        }
        other => return Err(invalid(&key, format!("scheme {other} is not http(s)"))),
    }
    if http.connect_timeout_ms == 0 || http.request_timeout_ms == 0 {
        return Err(invalid(&format!("{section}.request_timeout_ms"), "must be more than 0 / 必须大于 0"));
    }
    Ok(())
}

pub fn is_loopback_host(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}
