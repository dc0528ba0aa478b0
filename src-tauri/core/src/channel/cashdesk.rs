//! `cashdesk`: the corporate cashier desk (lala-pay), seed 002. Unified order → token → the desk's
//! payment-list page, shown as a QR; the customer picks a wallet there. Pay-result query; no
//! close, refund or barcode call exists.
//!
//! Assumptions (README, "cashdesk"): the seed's signing document (GM-TOOLS) is missing, so the
//! signature is a pluggable scheme over one canonical string (see [`DeskSigner`]); the amount unit
//! is configurable; `NULL` (no result) is "unpaid" and lapses after `page_lifetime_ms`; the query
//! reply names no amount, so `SUCCESS` is believed for the order number it was asked about.

use super::http::{excerpt, HttpClient, Transport};
use super::{
    channel_time_ms, unsupported, Capabilities, Channel, ChannelSetupError, CreateOutcome, Display, Failure, Notice,
    Order, PayOutcome, Reply, SPACED_LOCAL,
};
use crate::config::{AmountUnit, CashdeskConfig, ChannelSection, Config, Secret, SignScheme};
use crate::i18n::Lang;
use crate::money::Fen;
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

const OK: i64 = 1000;
/// Refusals of a unified order after which nothing exists at the desk [ours]: missing fields,
/// bad signature. The clerk's config must be fixed; no customer can have paid.
const CREATE_REFUSALS: &[&str] = &["4000", "4001"];

/// Plain words for the clerk for [`CREATE_REFUSALS`] and the desk's own "no channel".
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

/// A JSON object's scalar fields as text (numbers as written), for the canonical string.
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

/// A reply's envelope: `code` and `data`, or the seed's flat query result.
pub(crate) enum Read {
    Data(Value),
    Refused { code: String, msg: String },
    NotSent(String),
    Unknown(String),
}

pub(crate) fn read(transport: Transport) -> Read {
    let (status, body) = match transport {
        Transport::NotSent(why) => return Read::NotSent(why),
        Transport::Lost(why) => return Read::Unknown(why),
        Transport::Answered { status, body, .. } => (status, body),
    };
    if !(200..300).contains(&status) {
        return Read::Unknown(format!("HTTP {status}: {}", excerpt(&body)));
    }
    let value: Value = match serde_json::from_slice(&body) {
        Ok(Value::Object(o)) => Value::Object(o),
        Ok(_) => return Read::Unknown("reply is not a JSON object".into()),
        Err(e) => return Read::Unknown(format!("unreadable reply: {e}")),
    };
    if value.get("resultCode").is_some() {
        return Read::Data(value);
    }
    match value.get("code").and_then(Value::as_i64) {
        Some(OK) => match value.get("data") {
            Some(d @ Value::Object(_)) => Read::Data(d.clone()),
            _ => Read::Unknown("reply has no data object".into()),
        },
        Some(code) => Read::Refused {
            code: code.to_string(),
            msg: value.get("msg").and_then(Value::as_str).unwrap_or("").chars().take(200).collect(),
        },
        None => Read::Unknown("reply has no code".into()),
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
        match self.config.amount_unit {
            AmountUnit::Fen => amount.0.to_string(),
            AmountUnit::Yuan => amount.yuan_text(),
        }
    }

    fn page_url(&self, token: &str) -> Result<String, String> {
        let mut url = reqwest::Url::parse(self.config.web_url()).map_err(|e| e.to_string())?;
        url.set_path("/cashier-desk-web/payment");
        url.query_pairs_mut().clear().append_pair("token", token);
        Ok(url.to_string())
    }

    pub(crate) fn created(&self, read: Read, order: &Order<'_>) -> (CreateOutcome, Option<Value>) {
        let data = match read {
            Read::Data(d) => d,
            Read::Refused { code, msg } if CREATE_REFUSALS.contains(&code.as_str()) => {
                return (CreateOutcome::Failed(Failure { code, message: msg }), None)
            }
            Read::Refused { code, msg } => return (CreateOutcome::Unknown(format!("code {code}: {msg}")), None),
            Read::NotSent(why) => return (CreateOutcome::NotSent(why), None),
            Read::Unknown(why) => return (CreateOutcome::Unknown(why), None),
        };
        let token = data.get("token").and_then(Value::as_str).unwrap_or("");
        if token.is_empty() || token.len() > 256 {
            return (CreateOutcome::Unknown("reply has no usable token".into()), None);
        }
        let Some(Value::Object(sig)) = data.get("signature") else {
            return (CreateOutcome::Unknown("reply is not signed".into()), None);
        };
        let fields = scalar_fields(sig);
        if let Err(why) = self.signer.verify(&fields) {
            return (CreateOutcome::Unknown(format!("reply not trusted: {why}")), None);
        }
        if fields.get("outTradeNo").map(String::as_str) != Some(order.id) {
            return (CreateOutcome::Unknown("reply is signed for another order".into()), None);
        }
        let kept = match data.get("channels") {
            None | Some(Value::Null) => None,
            Some(list) => match serde_json::from_value::<Vec<DeskChannel>>(list.clone()) {
                Ok(list) => Some(keep_one_per_type(&list, &self.config.preferred_channels)),
                Err(e) => return (CreateOutcome::Unknown(format!("unreadable channel list: {e}")), None),
            },
        };
        if kept.as_ref().is_some_and(|k| k.is_empty()) {
            let f = Failure { code: "NO_CHANNEL".into(), message: "the desk offers no payment channel".into() };
            return (CreateOutcome::Failed(f), Some(json!([])));
        }
        let kept = kept.map(|k| serde_json::to_value(k).unwrap_or(Value::Null));
        match self.page_url(token) {
            Ok(payload) => (CreateOutcome::Created { payload }, kept),
            Err(why) => (CreateOutcome::Unknown(why), kept),
        }
    }

    pub(crate) fn query_outcome(&self, read: Read) -> PayOutcome {
        let data = match read {
            Read::Data(d) => d,
            Read::Refused { code, msg } => return PayOutcome::Unknown(format!("code {code}: {msg}")),
            Read::NotSent(why) => return PayOutcome::NotSent(why),
            Read::Unknown(why) => return PayOutcome::Unknown(why),
        };
        let q: QueryData = match serde_json::from_value(data) {
            Ok(q) => q,
            Err(e) => return PayOutcome::Unknown(format!("unreadable result: {e}")),
        };
        match q.result_code.as_deref() {
            Some("SUCCESS" | "FINISH") => PayOutcome::Paid {
                trade_no: q.channel_type.map(|t| format!("cashdesk:{t}")),
                paid_at: q.pay_time.as_deref().and_then(|t| channel_time_ms(t, SPACED_LOCAL, self.config.time_zone)),
            },
            Some("FAIL") => PayOutcome::Failed(Failure {
                code: q.result_error_code.unwrap_or_else(|| "FAIL".into()),
                message: q.result_error_msg.unwrap_or_default().chars().take(200).collect(),
            }),
            Some("NULL") => PayOutcome::Unpaid,
            other => PayOutcome::Unknown(format!("resultCode {}", other.unwrap_or("missing"))),
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
        let fields = self.signer.stamp(&business);
        // `amount` and `timestamp` go as JSON numbers written exactly as signed (`1.00` stays
        // `1.00`: a number parsed into a float would come out `1.0` and break the signature).
        let mut body: BTreeMap<&str, Box<RawValue>> = BTreeMap::new();
        for (k, v) in &fields {
            let raw = match k.as_str() {
                "amount" | "timestamp" => RawValue::from_string(v.clone()),
                _ => serde_json::value::to_raw_value(v),
            };
            match raw {
                Ok(raw) => body.insert(k, raw),
                Err(e) => return unsupported(CreateOutcome::NotSent(e.to_string()), "cannot encode request"),
            };
        }
        let text = match serde_json::to_string(&body) {
            Ok(t) => t,
            Err(e) => return unsupported(CreateOutcome::NotSent(e.to_string()), "cannot encode request"),
        };
        let request = self.http.post("/api/cashier-desk/unified/orders").header("Content-Type", "application/json");
        let ex = self.http.exchange("unified_order", request.body(text.clone()), Some(&text), None).await;
        let (outcome, kept) = self.created(read(ex.transport), order);
        let mut audit = ex.audit;
        if let Some(kept) = kept {
            audit["channels_kept"] = kept;
        }
        Reply { outcome, audit, elapsed: ex.elapsed }
    }

    async fn query(&self, order: &Order<'_>) -> Reply<PayOutcome> {
        let business = BTreeMap::from([("outTradeNo".to_string(), order.id.to_string())]);
        let mut fields = self.signer.stamp(&business);
        fields.remove("outTradeNo");
        let path = format!("/api/cashier-desk/out-trade-no/query-pay-result/{}", order.id);
        let request = self.http.get(&path).query(&fields);
        let ex = self.http.exchange("query", request, None, None).await;
        Reply { outcome: self.query_outcome(read(ex.transport)), audit: ex.audit, elapsed: ex.elapsed }
    }

    /// Signed with the app key; verified, it is a reason to query now (the query decides).
    fn read_notify(&self, _authorization: Option<&str>, body: &[u8]) -> Notice {
        let object = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(o)) => o,
            _ => return Notice::Refused("the notify is not a JSON object".into()),
        };
        let fields = scalar_fields(&object);
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
        for bad in
            [r#"{"code":4001,"msg":"签名错误"}"#, r#"{"code":1000,"data":{"resultCode":"MAYBE"}}"#, "<html>", "[]"]
        {
            assert!(matches!(ch.query_outcome(read(body(bad))), PayOutcome::Unknown(_)), "{bad}");
        }
    }
}
