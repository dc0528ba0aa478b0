//! `cashdesk`: the corporate cashier desk (lala-pay), seed 002. Unified order → token → the desk's
//! payment-list page, shown as a QR; the customer picks a wallet there. Pay-result query; no
//! close, refund or barcode call exists.
//!
//! Assumptions (README, "cashdesk"): the seed's signing document (GM-TOOLS) is missing, so the
//! signature is a pluggable scheme over one canonical string (see [`DeskSigner`]); the amount unit
//! and its text are configurable; the kept channels go to `payment/list` (seed 002 §四) as
//! `{token, channelIds, channels}`; `NULL` (no result), written as text, JSON `null` or left out,
//! is "unpaid", and lapses after `page_lifetime_ms`; the query reply names no amount, so
//! `SUCCESS` is believed for the order number it was asked about.

use super::http::{Answer, HttpClient, Transport};
use super::{
    channel_time_ms, no_page, unsupported, Capabilities, Channel, ChannelSetupError, CreateOutcome, Display, Exchanged,
    Failure, Notice, Order, PayOutcome, Reply, SPACED_LOCAL,
};
use crate::config::{CashdeskConfig, ChannelSection, Config, Secret, SignScheme};
use crate::i18n::Lang;
use crate::money::Fen;
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

const OK: i64 = 1000;
/// The fields of seed 002 §4.3's query result.
const QUERY_FIELDS: &[&str] =
    &["channelId", "channelType", "mchId", "payTime", "resultCode", "resultErrorCode", "resultErrorMsg"];

/// Plain words for the clerk for the desk's refusals (the seed lists none; `4000` fields and
/// `4001` signature are ours), and for what the cashier itself concludes.
pub fn explain(code: &str, lang: Lang) -> Option<&'static str> {
    Some(match code {
        "4001" => lang.pick(
            "收银台拒绝了签名（应用密钥或签名方式配置有误），未扣款。请联系技术支持。",
            "The cashier desk refused the signature (wrong app key or signing scheme in the config); nothing was charged. Call support.",
        ),
        "4000" => lang.pick(
            "收银台拒绝了订单（数据不完整），未扣款。请联系技术支持。",
            "The cashier desk refused the order (incomplete data); nothing was charged. Call support.",
        ),
        "NO_CHANNEL" => lang.pick(
            "收银台没有可用的支付方式，未扣款。请换一个收款渠道。",
            "The cashier desk offers no way to pay; nothing was charged. Use another channel.",
        ),
        _ => return None,
    })
}

/// Signs and verifies the desk's canonical string: every field with a non-empty scalar value
/// except `signature`, sorted by name, as `name=value` joined by `&`, then `&key=<appKey>`;
/// lowercase hex of MD5 or SM3.
pub struct DeskSigner {
    app_id: String,
    key: Secret,
    scheme: SignScheme,
}

impl DeskSigner {
    pub fn new(app_id: &str, key: &Secret, scheme: SignScheme) -> DeskSigner {
        DeskSigner { app_id: app_id.into(), key: key.clone(), scheme }
    }

    pub fn canonical(fields: &BTreeMap<String, String>) -> String {
        fields
            .iter()
            .filter(|(k, v)| k.as_str() != "signature" && !v.is_empty())
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    }

    pub fn sign(&self, fields: &BTreeMap<String, String>) -> String {
        let text = format!("{}&key={}", Self::canonical(fields), self.key.reveal());
        match self.scheme {
            SignScheme::Md5 => {
                use md5::Digest;
                hex::encode(md5::Md5::digest(text.as_bytes()))
            }
            SignScheme::Sm3 => {
                use sm3::Digest;
                hex::encode(sm3::Sm3::digest(text.as_bytes()))
            }
        }
    }

    /// `fields` must hold `signature` and `appId`; both are checked.
    pub fn verify(&self, fields: &BTreeMap<String, String>) -> Result<(), String> {
        let given = fields.get("signature").ok_or("no signature")?;
        if fields.get("appId") != Some(&self.app_id) {
            return Err("signed for another appId".into());
        }
        if !given.eq_ignore_ascii_case(&self.sign(fields)) {
            return Err("the signature does not verify".into());
        }
        Ok(())
    }

    /// The identity fields every request carries, signed over `business` plus themselves.
    pub fn stamp(&self, business: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let now = chrono::Utc::now().timestamp_millis();
        let mut fields = business.clone();
        fields.insert("appId".into(), self.app_id.clone());
        fields.insert("nonce".into(), format!("{now}{:03}", fastrand::u16(..1000)));
        fields.insert("timestamp".into(), now.to_string());
        let signature = self.sign(&fields);
        fields.insert("signature".into(), signature);
        fields
    }
}

/// A request body: the signed fields (`amount` and `timestamp` as JSON numbers written exactly as
/// signed: `12.30` parsed into a float would come out `12.3`), then unsigned `extra` values.
fn signed_body(fields: &BTreeMap<String, String>, extra: &[(&str, Value)]) -> Option<String> {
    let mut body: BTreeMap<&str, Box<RawValue>> = BTreeMap::new();
    for (k, v) in fields {
        let raw = match k.as_str() {
            "amount" | "timestamp" => RawValue::from_string(v.clone()).ok()?,
            _ => serde_json::value::to_raw_value(v).ok()?,
        };
        body.insert(k, raw);
    }
    for (k, v) in extra {
        body.insert(k, serde_json::value::to_raw_value(v).ok()?);
    }
    serde_json::to_string(&body).ok()
}

/// A JSON object's scalar fields as the sender wrote them (a number's own text: `12.30` stays
/// `12.30`), for the canonical string of a body signed as sent.
fn written_fields(object: &BTreeMap<String, Box<RawValue>>) -> BTreeMap<String, String> {
    object
        .iter()
        .filter_map(|(k, raw)| {
            let text = raw.get().trim();
            let value = match text.as_bytes().first()? {
                b'"' => serde_json::from_str::<String>(text).ok()?,
                b'{' | b'[' | b'n' => return None,
                _ => text.to_string(),
            };
            Some((k.clone(), value))
        })
        .collect()
}

/// A JSON object's scalar fields as text (numbers as serde reads them back), for the canonical
/// string of the small signed objects inside a reply (strings and integers only).
pub fn scalar_fields(object: &Map<String, Value>) -> BTreeMap<String, String> {
    object
        .iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k.clone(), s.clone())),
            Value::Number(n) => Some((k.clone(), n.to_string())),
            Value::Bool(b) => Some((k.clone(), b.to_string())),
            _ => None,
        })
        .collect()
}

/// One payment channel on the desk's list.
#[derive(Debug, Clone, Deserialize, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeskChannel {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub channel_id: Option<i64>,
    pub channel_type: String,
    #[serde(default)]
    pub channel_name: Option<String>,
    #[serde(default)]
    pub scene_code: Option<String>,
    #[serde(default)]
    pub sort: Option<i64>,
    /// The entry exactly as the desk sent it (what `payment/list` gets back).
    #[serde(skip)]
    pub raw: Value,
}

/// Seed 002: "一类渠道最多留下一个渠道": at most one channel per `channelType`, the lowest `sort`
/// first, then the configured preference (by name or id), then the lowest id.
pub fn keep_one_per_type(channels: &[DeskChannel], preferred: &[String]) -> Vec<DeskChannel> {
    let rank = |c: &DeskChannel| {
        let name = c.channel_name.clone().unwrap_or_default();
        let id = c.channel_id.map(|i| i.to_string()).unwrap_or_default();
        let preference = preferred.iter().position(|p| *p == name || *p == id).unwrap_or(usize::MAX);
        (c.sort.unwrap_or(i64::MAX), preference, c.id.unwrap_or(i64::MAX))
    };
    let mut best: BTreeMap<&str, &DeskChannel> = BTreeMap::new();
    for c in channels {
        match best.get(c.channel_type.as_str()) {
            Some(kept) if rank(kept) <= rank(c) => {}
            _ => {
                best.insert(&c.channel_type, c);
            }
        }
    }
    best.into_values().cloned().collect()
}

/// A unified order the desk accepted.
pub(crate) struct Unified {
    token: String,
    /// One channel per type of the desk's list (none when the desk sent no list).
    kept: Option<Vec<DeskChannel>>,
}

pub struct CashdeskChannel {
    http: HttpClient,
    config: CashdeskConfig,
    signer: DeskSigner,
    caps: Capabilities,
    third_party_user: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct QueryData {
    result_code: Option<String>,
    result_error_code: Option<String>,
    result_error_msg: Option<String>,
    pay_time: Option<String>,
    channel_type: Option<String>,
}

/// A reply read: its data (an envelope's `data`, `Null` when it has none, or the seed's flat query
/// result, which has no envelope), or a refusal with the desk's code.
pub(crate) enum Read {
    Data(Value),
    Refused { code: String, msg: String },
    NotSent(String),
    Unknown(String),
}

pub(crate) fn read(transport: Transport) -> Read {
    let body = match transport.body_2xx() {
        Answer::Body(body) => body,
        Answer::NotSent(why) => return Read::NotSent(why),
        Answer::Unknown(why) => return Read::Unknown(why),
    };
    let value: Value = match serde_json::from_slice(&body) {
        Ok(Value::Object(o)) => Value::Object(o),
        Ok(_) => return Read::Unknown("reply is not a JSON object".into()),
        Err(e) => return Read::Unknown(format!("unreadable reply: {e}")),
    };
    let code = match value.get("code") {
        // Seed 002 §4.3 shows the query result flat, without an envelope: an object of its fields
        // (or none of them set). Anything else without a code is not the desk's answer.
        None | Some(Value::Null) => {
            let flat =
                value.as_object().is_some_and(|o| o.is_empty() || QUERY_FIELDS.iter().any(|f| o.contains_key(*f)));
            return if flat { Read::Data(value) } else { Read::Unknown("reply has no code".into()) };
        }
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(_) => None,
    };
    match code {
        Some(OK) => Read::Data(value.get("data").cloned().unwrap_or(Value::Null)),
        Some(code) => Read::Refused {
            code: code.to_string(),
            msg: value.get("msg").and_then(Value::as_str).unwrap_or("").chars().take(200).collect(),
        },
        None => Read::Unknown("reply's code is not a number".into()),
    }
}

impl CashdeskChannel {
    pub fn new(config: &CashdeskConfig, whole: &Config) -> Result<CashdeskChannel, ChannelSetupError> {
        let http =
            HttpClient::new(&config.http()).map_err(|why| ChannelSetupError { channel: "cashdesk".into(), why })?;
        let caps = Capabilities {
            barcode: false,
            qr: true,
            cancel: false,
            close: false,
            refund: false,
            refund_resend: false,
            barcode_wallets: Vec::new(),
            methods: Vec::new(),
            display: Display::Qr,
        };
        Ok(CashdeskChannel {
            http,
            signer: DeskSigner::new(&config.app_id, &config.app_key, config.sign_scheme),
            caps,
            third_party_user: config.third_party_user.clone().unwrap_or_else(|| whole.terminal.code.clone()),
            config: config.clone(),
        })
    }

    fn amount_text(&self, amount: Fen) -> String {
        self.config.amount_unit.write(amount, self.config.amount_text)
    }

    fn page_url(&self, token: &str) -> Result<String, String> {
        let mut url = reqwest::Url::parse(self.config.web_url()).map_err(|e| e.to_string())?;
        url.set_path("/cashier-desk-web/payment");
        url.query_pairs_mut().clear().append_pair("token", token);
        Ok(url.to_string())
    }

    /// The unified order's reply: the token and the channels kept, or the outcome instead. A
    /// well-formed refusal, whatever its code, is a failure: no page exists, so nobody can pay.
    pub(crate) fn unified(&self, read: Read, order: &Order<'_>) -> Result<Unified, CreateOutcome> {
        let data = match read {
            Read::Data(d) => d,
            Read::Refused { code, msg } => return Err(CreateOutcome::Failed(Failure { code, message: msg })),
            Read::NotSent(why) => return Err(CreateOutcome::NotSent(why)),
            Read::Unknown(why) => return Err(CreateOutcome::Unknown(why)),
        };
        if !(data.is_object() || data.is_null()) {
            return Err(CreateOutcome::Unknown("reply's data is not an object".into()));
        }
        if let Some(Value::Object(sig)) = data.get("signature") {
            let fields = scalar_fields(sig);
            if let Err(why) = self.signer.verify(&fields) {
                return Err(CreateOutcome::Unknown(format!("reply not trusted: {why}")));
            }
            if fields.get("outTradeNo").map(String::as_str) != Some(order.id) {
                return Err(CreateOutcome::Unknown("reply is signed for another order".into()));
            }
        }
        let token = data.get("token").and_then(Value::as_str).unwrap_or("").trim();
        if token.is_empty() {
            return Err(CreateOutcome::Failed(no_page("the desk's reply has no token")));
        }
        if token.len() > 256 || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(CreateOutcome::Unknown("reply's token is not usable".into()));
        }
        if !matches!(data.get("signature"), Some(Value::Object(_))) {
            return Err(CreateOutcome::Unknown("reply is not signed".into()));
        }
        let kept = match data.get("channels") {
            None | Some(Value::Null) => None,
            Some(Value::Array(list)) => {
                let mut channels = Vec::with_capacity(list.len());
                for raw in list {
                    match serde_json::from_value::<DeskChannel>(raw.clone()) {
                        Ok(c) => channels.push(DeskChannel { raw: raw.clone(), ..c }),
                        Err(e) => return Err(CreateOutcome::Unknown(format!("unreadable channel list: {e}"))),
                    }
                }
                Some(keep_one_per_type(&channels, &self.config.preferred_channels))
            }
            Some(_) => return Err(CreateOutcome::Unknown("the channel list is not a list".into())),
        };
        if kept.as_ref().is_some_and(|k| k.is_empty()) {
            let f = Failure { code: "NO_CHANNEL".into(), message: "the desk offers no payment channel".into() };
            return Err(CreateOutcome::Failed(f));
        }
        Ok(Unified { token: token.to_string(), kept })
    }

    /// The unified order alone, as if no channel list were sent: the outcome, and the channels
    /// kept (for the audit).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn created(&self, read: Read, order: &Order<'_>) -> (CreateOutcome, Option<Value>) {
        match self.unified(read, order) {
            Err(outcome) => (outcome, None),
            Ok(u) => {
                let kept = u.kept.as_ref().map(|k| serde_json::to_value(k).unwrap_or(Value::Null));
                match self.page_url(&u.token) {
                    Ok(payload) => (CreateOutcome::Created { payload }, kept),
                    Err(why) => (CreateOutcome::Unknown(why), kept),
                }
            }
        }
    }

    /// The reply to `payment/list`: the page to show (the desk's own link if it gives one, else
    /// the one the token makes). A refused or lost answer shows the page all the same (its answer
    /// stays in the audit): the order exists and was accepted, and a page that offers more ways
    /// to pay, all into the same account, is no risk to anyone's money, while refusing the sale
    /// over a call whose body the seed never gave would stop a till for nothing.
    pub(crate) fn listed(&self, read: Read, token: &str) -> CreateOutcome {
        let data = match read {
            Read::Data(d) => d,
            Read::Refused { code, msg } => {
                tracing::warn!(code = %code, msg = %msg, "the desk refused the payment list; its page offers every channel");
                Value::Null
            }
            Read::NotSent(_) | Read::Unknown(_) => Value::Null,
        };
        let given = match &data {
            Value::String(url) => Some(url.as_str()),
            Value::Object(o) => ["paymentUrl", "url", "payUrl"].iter().find_map(|k| o.get(*k).and_then(Value::as_str)),
            _ => None,
        };
        // The desk's own link is shown only on the desk's own page host (as configured), over
        // https (plain http only to loopback, the sandbox): a reply must not send the customer
        // anywhere else.
        let desk_host = reqwest::Url::parse(self.config.web_url()).ok().and_then(|u| u.host_str().map(str::to_owned));
        let usable = given.filter(|u| {
            u.len() <= 2048
                && reqwest::Url::parse(u).is_ok_and(|url| {
                    let secure =
                        url.scheme() == "https" || (url.scheme() == "http" && crate::config::is_loopback_host(&url));
                    secure && url.host_str().is_some() && url.host_str() == desk_host.as_deref()
                })
        });
        match usable.map(str::to_string).map_or_else(|| self.page_url(token), Ok) {
            Ok(payload) => CreateOutcome::Created { payload },
            Err(why) => CreateOutcome::Unknown(why),
        }
    }

    pub(crate) fn query_outcome(&self, read: Read) -> PayOutcome {
        let data = match read {
            Read::Data(d) => d,
            Read::Refused { code, msg } => return PayOutcome::Unknown(format!("code {code}: {msg}")),
            Read::NotSent(why) => return PayOutcome::NotSent(why),
            Read::Unknown(why) => return PayOutcome::Unknown(why),
        };
        let q: QueryData = match data {
            // An envelope with no data: nothing to report.
            Value::Null => QueryData::default(),
            Value::Object(_) => match serde_json::from_value(data) {
                Ok(q) => q,
                Err(e) => return PayOutcome::Unknown(format!("unreadable result: {e}")),
            },
            _ => return PayOutcome::Unknown("the result is not an object".into()),
        };
        match q.result_code.as_deref().map(str::trim) {
            Some("SUCCESS" | "FINISH") => PayOutcome::Paid {
                trade_no: q.channel_type.map(|t| format!("cashdesk:{t}")),
                paid_at: q.pay_time.as_deref().and_then(|t| channel_time_ms(t, SPACED_LOCAL, self.config.time_zone)),
            },
            Some("FAIL") => PayOutcome::Failed(Failure {
                code: q.result_error_code.unwrap_or_else(|| "FAIL".into()),
                message: q.result_error_msg.unwrap_or_default().chars().take(200).collect(),
            }),
            // Seed 002: NULL, "no payment result yet". A well-formed reply whose resultCode is JSON
            // null, empty or left out says the same (a Java desk writes an unset field so).
            Some("NULL" | "") | None => PayOutcome::Unpaid,
            Some(other) => PayOutcome::Unknown(format!("resultCode {other}")),
        }
    }
}

#[async_trait]
impl Channel for CashdeskChannel {
    fn id(&self) -> &'static str {
        "cashdesk"
    }

    fn name(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => "收银台",
            Lang::En => "Cashier desk",
        }
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    fn account(&self) -> &str {
        &self.config.app_id
    }

    /// The desk's page lives until its own expiry (config `page_lifetime_ms`); no close exists.
    fn qr_expiry(&self, shown: Duration) -> Duration {
        shown.max(Duration::from_millis(self.config.page_lifetime_ms))
    }

    fn lapse_watch(&self) -> Duration {
        Duration::from_millis(self.config.lapse_watch_ms)
    }

    async fn create_qr(&self, order: &Order<'_>, _expires_at_ms: i64) -> Reply<CreateOutcome> {
        let title = if order.subject.trim().is_empty() { self.config.order_title.as_str() } else { order.subject };
        let amount = self.amount_text(order.amount);
        let business: BTreeMap<String, String> = [
            ("amount", amount.as_str()),
            ("goodsDesc", title),
            ("orderTitle", title),
            ("outTradeNo", order.id),
            ("thirdPartyUser", self.third_party_user.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let Some(text) = signed_body(&self.signer.stamp(&business), &[]) else {
            return unsupported(CreateOutcome::NotSent("cannot encode request".into()), "cannot encode request");
        };
        let request = self.http.post("/api/cashier-desk/unified/orders").header("Content-Type", "application/json");
        let ex = self.http.exchange("unified_order", request.body(text.clone()), Some(&text), None).await;
        let (mut audit, mut elapsed) = (ex.audit, ex.elapsed);
        let unified = match self.unified(read(ex.transport), order) {
            Ok(u) => u,
            Err(outcome) => return Reply { outcome, audit, elapsed },
        };
        let kept = match (&unified.kept, self.config.payment_list) {
            (Some(kept), true) => kept,
            _ => {
                let outcome = self
                    .page_url(&unified.token)
                    .map_or_else(CreateOutcome::Unknown, |payload| CreateOutcome::Created { payload });
                return Reply { outcome, audit, elapsed };
            }
        };
        audit["channels_kept"] = serde_json::to_value(kept).unwrap_or(Value::Null);
        // Seed 002 §四: the merchant system picks the channels (one per type) and the desk's page
        // offers only those. `token` is signed; the lists are not scalar, so not in the signature.
        let ids: Vec<Value> = kept.iter().map(|c| c.id.map_or(Value::Null, Value::from)).collect();
        let raw: Vec<Value> = kept.iter().map(|c| c.raw.clone()).collect();
        let business = BTreeMap::from([("token".to_string(), unified.token.clone())]);
        let lists = [("channelIds", Value::Array(ids)), ("channels", Value::Array(raw))];
        let Some(text) = signed_body(&self.signer.stamp(&business), &lists) else {
            return Reply { outcome: CreateOutcome::NotSent("cannot encode request".into()), audit, elapsed };
        };
        let request = self.http.post("/api/cashier-desk/payment/list").header("Content-Type", "application/json");
        let listed = self.http.exchange("payment_list", request.body(text.clone()), Some(&text), None).await;
        audit["payment_list"] = listed.audit;
        elapsed += listed.elapsed;
        Reply { outcome: self.listed(read(listed.transport), &unified.token), audit, elapsed }
    }

    async fn query(&self, order: &Order<'_>) -> Reply<PayOutcome> {
        let business = BTreeMap::from([("outTradeNo".to_string(), order.id.to_string())]);
        let mut fields = self.signer.stamp(&business);
        fields.remove("outTradeNo");
        let path = format!("/api/cashier-desk/out-trade-no/query-pay-result/{}", order.id);
        let request = self.http.get(&path).query(&fields);
        let ex = self.http.exchange("query", request, None, None).await;
        Exchanged::new(ex, read).into_reply(|r| self.query_outcome(r))
    }

    /// Signed with the app key over its fields as the desk wrote them (numbers as their text);
    /// verified, it is a reason to query now, and the query decides.
    fn read_notify(&self, _authorization: Option<&str>, body: &[u8]) -> Notice {
        let Ok(object) = serde_json::from_slice::<BTreeMap<String, Box<RawValue>>>(body) else {
            return Notice::Refused("the notify is not a JSON object".into());
        };
        let fields = written_fields(&object);
        if let Err(why) = self.signer.verify(&fields) {
            return Notice::Refused(why);
        }
        match fields.get("outTradeNo") {
            Some(id) if !id.is_empty() => Notice::QueryNow { order_id: id.clone() },
            _ => Notice::Refused("the notify names no order".into()),
        }
    }

    fn notify_ack(&self) -> String {
        r#"{"code":1000,"msg":"操作成功"}"#.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AmountText, AmountUnit};

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_canonical_string_is_sorted_skips_empty_values_and_the_signature() {
        let f = fields(&[("b", "2"), ("a", "1"), ("empty", ""), ("signature", "x")]);
        assert_eq!(DeskSigner::canonical(&f), "a=1&b=2");
    }

    #[test]
    fn md5_and_sm3_sign_the_same_string_and_verify_round_trip() {
        let key = Secret::new("000000");
        let f = fields(&[
            ("appId", "123456"),
            ("nonce", "1617095820812"),
            ("outTradeNo", "110"),
            ("timestamp", "1617096420811"),
        ]);
        let md5 = DeskSigner::new("123456", &key, SignScheme::Md5);
        let sm3 = DeskSigner::new("123456", &key, SignScheme::Sm3);
        let text = "appId=123456&nonce=1617095820812&outTradeNo=110&timestamp=1617096420811&key=000000";
        {
            use md5::Digest;
            assert_eq!(md5.sign(&f), hex::encode(md5::Md5::digest(text.as_bytes())));
        }
        assert_eq!(md5.sign(&f).len(), 32);
        assert_eq!(sm3.sign(&f).len(), 64);
        // SM3 of "abc" from GB/T 32905 (the standard's own example).
        {
            use sm3::Digest;
            assert_eq!(
                hex::encode(sm3::Sm3::digest(b"abc")),
                "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
            );
        }
        let mut signed = f.clone();
        signed.insert("signature".into(), md5.sign(&f));
        md5.verify(&signed).unwrap();
        assert!(sm3.verify(&signed).is_err());
        signed.insert("outTradeNo".into(), "111".into());
        assert!(md5.verify(&signed).is_err());
    }

    #[test]
    fn one_channel_per_type_by_sort_then_preference() {
        let c = |id: i64, t: &str, name: &str, sort: i64| DeskChannel {
            id: Some(id),
            channel_id: Some(id),
            channel_type: t.into(),
            channel_name: Some(name.into()),
            scene_code: None,
            sort: Some(sort),
            raw: Value::Null,
        };
        let list =
            vec![c(1, "ali-pay", "A", 2), c(2, "ali-pay", "B", 1), c(3, "wx-pay", "W", 1), c(4, "ali-pay", "C", 1)];
        let kept = keep_one_per_type(&list, &[]);
        assert_eq!(kept.iter().map(|c| c.id.unwrap()).collect::<Vec<_>>(), vec![2, 3]);
        let kept = keep_one_per_type(&list, &["C".into()]);
        assert_eq!(kept.iter().map(|c| c.id.unwrap()).collect::<Vec<_>>(), vec![4, 3]);
        assert!(keep_one_per_type(&[], &[]).is_empty());
    }

    #[test]
    fn query_results_map_and_the_flat_form_is_read() {
        let config = Config::demo(9);
        let ch = CashdeskChannel::new(config.channels.cashdesk.as_ref().unwrap(), &config).unwrap();
        let body =
            |b: &str| Transport::Answered { status: 200, headers: Default::default(), body: b.as_bytes().to_vec() };
        let flat = r#"{"channelId":1,"channelType":"ali-pay","payTime":"2026-11-22 10:00:00","resultCode":"SUCCESS"}"#;
        assert!(matches!(ch.query_outcome(read(body(flat))), PayOutcome::Paid { paid_at: Some(_), .. }));
        let wrapped = r#"{"code":1000,"data":{"resultCode":"NULL"}}"#;
        assert_eq!(ch.query_outcome(read(body(wrapped))), PayOutcome::Unpaid);
        let failed = r#"{"code":1000,"data":{"resultCode":"FAIL","resultErrorCode":"E1","resultErrorMsg":"no"}}"#;
        assert!(matches!(ch.query_outcome(read(body(failed))), PayOutcome::Failed(f) if f.code == "E1"));
        for bad in [
            r#"{"code":4001,"msg":"签名错误"}"#,
            r#"{"code":1000,"data":{"resultCode":"MAYBE"}}"#,
            r#"{"resultCode":5}"#,
            r#"{"error":"gateway timeout"}"#,
            r#"{"code":"x","data":{"resultCode":"SUCCESS"}}"#,
            r#"{"code":1000,"data":"SUCCESS"}"#,
            "<html>",
            "[]",
        ] {
            assert!(matches!(ch.query_outcome(read(body(bad))), PayOutcome::Unknown(_)), "{bad}");
        }
        // "No result yet", however a desk writes it: NULL, JSON null, empty, or left out.
        for nothing in [
            r#"{"resultCode":null,"channelId":0,"payTime":null}"#,
            r#"{"channelId":0,"channelType":null}"#,
            "{}",
            r#"{"resultCode":""}"#,
            r#"{"code":1000,"data":null}"#,
            r#"{"code":1000,"msg":"操作成功"}"#,
            r#"{"code":"1000","data":{"resultCode":null}}"#,
        ] {
            assert_eq!(ch.query_outcome(read(body(nothing))), PayOutcome::Unpaid, "{nothing}");
        }
    }

    #[test]
    fn a_well_formed_create_without_a_page_fails_whatever_its_code() {
        let config = Config::demo(9);
        let ch = CashdeskChannel::new(config.channels.cashdesk.as_ref().unwrap(), &config).unwrap();
        let order = Order {
            id: "DEMO012611221030000001",
            amount: Fen(100),
            subject: "",
            merchant: "123456",
            method: None,
            flow: crate::ledger::Flow::Qr,
        };
        let body =
            |b: &str| Transport::Answered { status: 200, headers: Default::default(), body: b.as_bytes().to_vec() };
        for (reply, code) in [
            (r#"{"code":4999,"msg":"应用未绑定渠道"}"#, "4999"),
            (r#"{"code":"5001","msg":"系统繁忙"}"#, "5001"),
            (r#"{"code":1000,"msg":"操作成功","data":{"token":""}}"#, "NO_PAGE"),
            (r#"{"code":1000,"msg":"操作成功","data":null}"#, "NO_PAGE"),
        ] {
            match ch.created(read(body(reply)), &order).0 {
                CreateOutcome::Failed(f) => assert_eq!(f.code, code, "{reply}"),
                other => panic!("{reply}: {other:?}"),
            }
        }
        // A token that is not signed for our order is not believed either way.
        let unsigned = r#"{"code":1000,"data":{"token":"ABC"}}"#;
        assert!(matches!(ch.created(read(body(unsigned)), &order).0, CreateOutcome::Unknown(_)));
    }

    #[test]
    fn yuan_amounts_are_written_plain_by_default_or_with_two_decimals() {
        let config = Config::demo(9);
        let mut desk = config.channels.cashdesk.clone().unwrap();
        desk.amount_unit = AmountUnit::Yuan;
        let plain = CashdeskChannel::new(&desk, &config).unwrap();
        desk.amount_text = AmountText::TwoDecimals;
        let two = CashdeskChannel::new(&desk, &config).unwrap();
        for (fen, p, t) in
            [(1230, "12.3", "12.30"), (1200, "12", "12.00"), (1234, "12.34", "12.34"), (5, "0.05", "0.05")]
        {
            assert_eq!((plain.amount_text(Fen(fen)), two.amount_text(Fen(fen))), (p.to_string(), t.to_string()));
        }
    }

    #[test]
    fn the_payment_list_reply_gives_the_page_and_a_refusal_still_shows_it() {
        let config = Config::demo(9);
        let ch = CashdeskChannel::new(config.channels.cashdesk.as_ref().unwrap(), &config).unwrap();
        let body =
            |b: &str| Transport::Answered { status: 200, headers: Default::default(), body: b.as_bytes().to_vec() };
        let ours = ch.page_url("T0KEN").unwrap();
        let created = |b: &str| ch.listed(read(body(b)), "T0KEN");
        assert_eq!(created(r#"{"code":1000,"data":null}"#), CreateOutcome::Created { payload: ours.clone() });
        let theirs = "http://127.0.0.1:9/cashier-desk-web/payment?token=T0KEN&v=2";
        for given in
            [format!(r#"{{"code":1000,"data":"{theirs}"}}"#), format!(r#"{{"code":1000,"data":{{"url":"{theirs}"}}}}"#)]
        {
            assert_eq!(created(&given), CreateOutcome::Created { payload: theirs.into() });
        }
        // Not a web address, or not on the desk's own host: the page the token makes.
        for elsewhere in [
            r#"{"code":1000,"data":{"url":"javascript:alert(1)"}}"#,
            r#"{"code":1000,"data":"https://evil.example/pay?token=T0KEN"}"#,
        ] {
            assert_eq!(created(elsewhere), CreateOutcome::Created { payload: ours.clone() }, "{elsewhere}");
        }
        assert_eq!(
            created(r#"{"code":4000,"msg":"一类渠道最多留下一个渠道"}"#),
            CreateOutcome::Created { payload: ours.clone() }
        );
        // The answer was lost: the page is shown all the same (the desk most likely took the list).
        assert_eq!(
            ch.listed(read(Transport::Lost("timeout".into())), "T0KEN"),
            CreateOutcome::Created { payload: ours }
        );
    }
}
