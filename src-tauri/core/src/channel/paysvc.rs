//! `paysvc`: the Alipay payment service of seed 003. Create → `formHtml` (an auto-submitting form
//! to Alipay's page-pay gateway) → status polling. No close, refund or barcode call exists.
//!
//! The cashier never runs the service's HTML: it reads the form's `action` and hidden fields
//! ([`HostedForm`]), refuses an action outside `gateway_hosts`, and the app renders its own form
//! in the customer window. Assumptions (README, "paysvc"): `orderId` is the numeric part of our
//! order number; errors come as `code:500` in the body whatever the HTTP status, and a refused
//! create is a failure (no form, so nothing to pay); `PENDING` is "unpaid" and lapses after
//! `page_lifetime_ms`; the status reply names no amount.

use super::http::{excerpt, HttpClient, Transport};
use super::{
    channel_time_ms, no_page, unsupported, Capabilities, Channel, ChannelSetupError, CreateOutcome, Display, Exchanged,
    Failure, Order, PayOutcome, Reply, ISO_LOCAL,
};
use crate::config::{ChannelSection, PaysvcConfig};
use crate::i18n::Lang;
use crate::money::{yuan_json, Fen};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// The seed's validation messages, each a definitive refusal (nothing was created), and its code.
const REFUSALS: &[(&str, &str)] = &[
    ("订单号不能为空", "ORDER_NO_MISSING"),
    ("支付金额不能为空", "AMOUNT_MISSING"),
    ("支付金额必须大于0", "AMOUNT_NOT_POSITIVE"),
    ("订单标题不能为空", "SUBJECT_MISSING"),
];
const NOT_FOUND_PREFIX: &str = "订单不存在";
/// Any other refusal of the create call (`创建支付订单失败: …` and the like).
const CREATE_REFUSED: &str = "CREATE_REFUSED";
/// A create "success" with a payment form the cashier will not show (a gateway outside
/// `gateway_hosts`, not https, unreadable).
const BAD_PAGE: &str = "BAD_PAGE";

/// Plain words for the clerk for this channel's failure codes.
pub fn explain(code: &str, lang: Lang) -> Option<&'static str> {
    Some(match code {
        "ORDER_NO_MISSING" | "AMOUNT_MISSING" | "AMOUNT_NOT_POSITIVE" => lang.pick(
            "支付服务拒绝了订单（收银软件发送的数据不完整），未扣款。请联系技术支持。",
            "The payment service refused the order (the cashier sent incomplete data); nothing was charged. Call support.",
        ),
        BAD_PAGE => lang.pick(
            "支付服务没有给出可用的支付页面，未向顾客显示，未扣款。请联系技术支持。",
            "The payment service gave no usable payment page; nothing was shown to the customer and nothing was charged. Call support.",
        ),
        "SUBJECT_MISSING" => lang.pick(
            "支付服务要求填写商品名称，未扣款。请在设置中填写默认商品名称后重试。",
            "The payment service needs an item name; nothing was charged. Set a default item name and try again.",
        ),
        _ => return None,
    })
}

/// A payment form, read from the service's HTML: where it posts and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedForm {
    pub action: String,
    pub method: String,
    pub fields: Vec<(String, String)>,
}

/// The HTML is read, never run: only the first `<form>`'s action, method and its named
/// `<input>` values are kept. The action must be a host in `allowed_hosts`, over https (or plain
/// http to loopback, for the sandbox).
pub fn read_form(html: &str, allowed_hosts: &[String]) -> Result<HostedForm, String> {
    if html.len() > 64 * 1024 {
        return Err("the payment form is too long".into());
    }
    let dom = tl::parse(html, tl::ParserOptions::default()).map_err(|e| format!("unreadable form: {e}"))?;
    let parser = dom.parser();
    let attr = |tag: &tl::HTMLTag, name: &str| -> Option<String> {
        let raw = tag.attributes().get(name).flatten()?;
        Some(html_escape::decode_html_entities(&raw.as_utf8_str()).into_owned())
    };
    let form = dom
        .query_selector("form")
        .and_then(|mut q| q.next())
        .and_then(|h| h.get(parser))
        .and_then(|n| n.as_tag())
        .ok_or("the reply has no payment form")?;
    let action = attr(form, "action").ok_or("the payment form has no action")?;
    let method = attr(form, "method").unwrap_or_else(|| "get".into()).to_ascii_lowercase();
    if method != "post" && method != "get" {
        return Err(format!("the payment form's method {method} is not post or get"));
    }
    let url = reqwest::Url::parse(&action).map_err(|_| "the payment form's action is not an absolute URL")?;
    let host = url.host_str().unwrap_or("");
    let secure = url.scheme() == "https" || (url.scheme() == "http" && crate::config::is_loopback_host(&url));
    if !secure || !allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return Err(format!("the payment form posts to {}://{host}, which is not an allowed gateway", url.scheme()));
    }
    let mut fields = Vec::new();
    for handle in form.query_selector(parser, "input").into_iter().flatten() {
        let Some(input) = handle.get(parser).and_then(|n| n.as_tag()) else { continue };
        if let Some(name) = attr(input, "name").filter(|n| !n.is_empty()) {
            fields.push((name, attr(input, "value").unwrap_or_default()));
        }
    }
    Ok(HostedForm { action: url.to_string(), method, fields })
}

impl HostedForm {
    /// Our own page for the customer window: the amount, a Pay button, and the form, submitted
    /// by our script (the service's script never runs). Every value is escaped.
    pub fn to_html(&self, heading: &str) -> String {
        use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
        let inputs: String = self
            .fields
            .iter()
            .map(|(k, v)| format!(r#"<input type="hidden" name="{}" value="{}">"#, attr(k), attr(v)))
            .collect();
        format!(
            r#"<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{h}</title>
<style>body{{font:20px sans-serif;text-align:center;margin-top:20vh}}button{{font-size:24px;padding:12px 32px}}</style></head>
<body><h1>{h}</h1><p>正在打开支付页面… Opening the payment page…</p>
<form id="payment-form" method="{m}" action="{a}">{inputs}<button type="submit">继续 Continue</button></form>
<script>document.getElementById("payment-form").submit();</script></body></html>"#,
            h = text(heading),
            m = attr(&self.method),
            a = attr(&self.action),
        )
    }
}

pub struct PaysvcChannel {
    http: HttpClient,
    config: PaysvcConfig,
    caps: Capabilities,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody<'a> {
    order_id: i64,
    order_no: &'a str,
    #[serde(with = "yuan_json")]
    amount: Fen,
    subject: &'a str,
}

#[derive(Deserialize)]
struct Envelope {
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    data: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Status {
    order_no: Option<String>,
    status: Option<String>,
    paid_at: Option<String>,
    trade_no: Option<String>,
}

pub(crate) enum Read {
    Data(Value),
    Refused(String),
    NotSent(String),
    Unknown(String),
}

pub(crate) fn read(transport: Transport) -> Read {
    let (status, body) = match transport {
        Transport::NotSent(why) => return Read::NotSent(why),
        Transport::Lost(why) => return Read::Unknown(why),
        Transport::Answered { status, body, .. } => (status, body),
    };
    // The service reports its errors as `code:500`; a Spring error page or a proxy's HTML is unknown.
    let envelope: Envelope = match serde_json::from_slice(&body) {
        Ok(e) => e,
        Err(_) => return Read::Unknown(format!("HTTP {status}: {}", excerpt(&body))),
    };
    match (status, envelope.code) {
        (200..=299, Some(200)) => match envelope.data {
            Some(d @ Value::Object(_)) => Read::Data(d),
            None | Some(Value::Null) => Read::Data(Value::Null),
            Some(_) => Read::Unknown("reply's data is not an object".into()),
        },
        (200..=299 | 500, Some(500)) => Read::Refused(envelope.message.unwrap_or_default().chars().take(200).collect()),
        (s, c) => Read::Unknown(format!("HTTP {s}, code {}", c.map_or("-".into(), |c| c.to_string()))),
    }
}

/// The numeric `orderId` the service wants: the date-and-sequence digits of our order number.
pub fn numeric_order_id(order_no: &str) -> Option<i64> {
    let tail = order_no.get(order_no.len().checked_sub(16)?..)?;
    if !tail.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    tail.parse().ok()
}

impl PaysvcChannel {
    pub fn new(config: &PaysvcConfig) -> Result<PaysvcChannel, ChannelSetupError> {
        let http =
            HttpClient::new(&config.http()).map_err(|why| ChannelSetupError { channel: "paysvc".into(), why })?;
        let caps = Capabilities {
            barcode: false,
            qr: true,
            cancel: false,
            close: false,
            refund: false,
            refund_resend: false,
            barcode_wallets: Vec::new(),
            methods: Vec::new(),
            display: Display::CustomerWindow,
        };
        Ok(PaysvcChannel { http, config: config.clone(), caps })
    }

    pub(crate) fn created(&self, read: Read) -> CreateOutcome {
        let data = match read {
            Read::Data(d) => d,
            // A refusal, whatever its message ("创建支付订单失败: …" too), gives no payment form: the
            // customer is shown nothing and cannot pay, so nothing can be charged.
            Read::Refused(message) => {
                let code = REFUSALS.iter().find(|(m, _)| message.contains(m)).map_or(CREATE_REFUSED, |(_, c)| *c);
                return CreateOutcome::Failed(Failure { code: code.into(), message });
            }
            Read::NotSent(why) => return CreateOutcome::NotSent(why),
            Read::Unknown(why) => return CreateOutcome::Unknown(why),
        };
        // A success without a usable form is a refusal too: nothing is shown, nobody can pay.
        let Some(html) = data.get("formHtml").and_then(Value::as_str) else {
            return CreateOutcome::Failed(no_page("the reply has no formHtml"));
        };
        match read_form(html, &self.config.gateway_hosts) {
            Ok(form) => match serde_json::to_string(&form) {
                Ok(payload) => CreateOutcome::Created { payload },
                Err(e) => CreateOutcome::Unknown(e.to_string()),
            },
            Err(why) => CreateOutcome::Failed(Failure { code: BAD_PAGE.into(), message: why }),
        }
    }

    pub(crate) fn status_outcome(&self, read: Read, order: &Order<'_>) -> PayOutcome {
        let data = match read {
            Read::Data(d) => d,
            Read::Refused(message) if message.starts_with(NOT_FOUND_PREFIX) => return PayOutcome::NotFound,
            Read::Refused(message) => return PayOutcome::Unknown(format!("status refused: {message}")),
            Read::NotSent(why) => return PayOutcome::NotSent(why),
            Read::Unknown(why) => return PayOutcome::Unknown(why),
        };
        if data.is_null() {
            return PayOutcome::Unknown("the status reply has no data".into());
        }
        let s: Status = match serde_json::from_value(data) {
            Ok(s) => s,
            Err(e) => return PayOutcome::Unknown(format!("unreadable status: {e}")),
        };
        if s.order_no.as_deref().is_some_and(|no| no != order.id) {
            return PayOutcome::Unknown("status is for another order".into());
        }
        match s.status.as_deref() {
            Some("PAID") if s.order_no.as_deref() == Some(order.id) => PayOutcome::Paid {
                trade_no: s.trade_no,
                paid_at: s.paid_at.as_deref().and_then(|t| channel_time_ms(t, ISO_LOCAL, self.config.time_zone)),
            },
            Some("PAID") => PayOutcome::Unknown("a paid status must name our order".into()),
            Some("PENDING") => PayOutcome::Unpaid,
            Some("FAILED") => PayOutcome::Failed(Failure { code: "FAILED".into(), message: String::new() }),
            other => PayOutcome::Unknown(format!("status {}", other.unwrap_or("missing"))),
        }
    }
}

#[async_trait]
impl Channel for PaysvcChannel {
    fn id(&self) -> &'static str {
        "paysvc"
    }

    fn name(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => "支付宝网页支付",
            Lang::En => "Alipay page pay",
        }
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    fn account(&self) -> &str {
        ""
    }

    fn qr_expiry(&self, shown: Duration) -> Duration {
        shown.max(Duration::from_millis(self.config.page_lifetime_ms))
    }

    fn lapse_watch(&self) -> Duration {
        Duration::from_millis(self.config.lapse_watch_ms)
    }

    async fn create_qr(&self, order: &Order<'_>, _expires_at_ms: i64) -> Reply<CreateOutcome> {
        let Some(order_id) = numeric_order_id(order.id) else {
            let why = format!("order number {} has no numeric part for orderId", order.id);
            return unsupported(CreateOutcome::NotSent(why.clone()), &why);
        };
        let subject = if order.subject.trim().is_empty() { self.config.subject.as_str() } else { order.subject };
        let body = CreateBody { order_id, order_no: order.id, amount: order.amount, subject };
        let text = match serde_json::to_string(&body) {
            Ok(t) => t,
            Err(e) => return unsupported(CreateOutcome::NotSent(e.to_string()), "cannot encode request"),
        };
        let request = self.http.post("/api/pay/create").header("Content-Type", "application/json").body(text.clone());
        let ex = self.http.exchange("create", request, Some(&text), None).await;
        Exchanged::new(ex, read).into_reply(|r| self.created(r))
    }

    async fn query(&self, order: &Order<'_>) -> Reply<PayOutcome> {
        let ex =
            self.http.exchange("status", self.http.get(&format!("/api/pay/status/{}", order.id)), None, None).await;
        Exchanged::new(ex, read).into_reply(|r| self.status_outcome(r, order))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> Vec<String> {
        vec!["openapi.alipay.com".into(), "127.0.0.1".into()]
    }

    const ALIPAY_FORM: &str = r#"<form name="punchout_form" method="post" action="https://openapi.alipay.com/gateway.do?charset=UTF-8&amp;method=alipay.trade.page.pay&amp;sign=abc%3D">
<input type="hidden" name="biz_content" value="{&quot;out_trade_no&quot;:&quot;T1&quot;,&quot;total_amount&quot;:&quot;99.99&quot;}">
<input type="submit" value="立即支付" style="display:none" >
</form>
<script>document.forms[0].submit();</script>"#;

    #[test]
    fn the_alipay_form_is_read_with_its_entities_decoded() {
        let form = read_form(ALIPAY_FORM, &hosts()).unwrap();
        assert_eq!(form.method, "post");
        assert!(form
            .action
            .starts_with("https://openapi.alipay.com/gateway.do?charset=UTF-8&method=alipay.trade.page.pay"));
        assert_eq!(form.fields[0], ("biz_content".into(), r#"{"out_trade_no":"T1","total_amount":"99.99"}"#.into()));
        // The unnamed submit input is not a field.
        assert_eq!(form.fields.len(), 1);
    }

    #[test]
    fn a_form_to_another_host_or_over_plain_http_is_refused() {
        for html in [
            ALIPAY_FORM.replace("openapi.alipay.com", "evil.example.com"),
            ALIPAY_FORM.replace("https://", "http://"),
            ALIPAY_FORM.replace("action=\"https://openapi.alipay.com/gateway.do", "action=\"/gateway.do"),
            "<p>no form</p>".into(),
            "<form method=\"delete\" action=\"https://openapi.alipay.com/\"></form>".into(),
            "x".repeat(70_000),
        ] {
            assert!(read_form(&html, &hosts()).is_err(), "{}", &html[..60.min(html.len())]);
        }
        let sandbox = "<form method='post' action='http://127.0.0.1:4000/alipay/gateway.do'></form>";
        assert!(read_form(sandbox, &hosts()).is_ok());
    }

    #[test]
    fn our_page_escapes_every_value() {
        let form = HostedForm {
            action: "https://openapi.alipay.com/gateway.do?a=1&b=2".into(),
            method: "post".into(),
            fields: vec![("biz_content".into(), r#"{"x":"</script><script>alert(1)</script>"}"#.into())],
        };
        let html = form.to_html("¥12.00 <b>");
        assert!(!html.contains("</script><script>alert"));
        assert!(html.contains("&lt;b&gt;"));
        assert!(html.contains("a=1&amp;b=2"));
        assert_eq!(html.matches("<script>").count(), 1);
    }

    #[test]
    fn the_numeric_order_id_is_the_date_and_sequence() {
        assert_eq!(numeric_order_id("DEMO012611221030000001"), Some(2611221030000001));
        assert_eq!(numeric_order_id("T12611221030000001"), Some(2611221030000001));
        assert_eq!(numeric_order_id("SHORT1"), None);
        assert_eq!(numeric_order_id("DEMO01261122103000000X"), None);
    }

    #[test]
    fn statuses_and_refusals_map() {
        let ch = PaysvcChannel::new(crate::config::Config::demo(9).channels.paysvc.as_ref().unwrap()).unwrap();
        let order = Order {
            id: "DEMO012611221030000001",
            amount: Fen(100),
            subject: "",
            merchant: "",
            method: None,
            flow: crate::ledger::Flow::Qr,
        };
        let at = |status: u16, b: &str| Transport::Answered {
            status,
            headers: Default::default(),
            body: b.as_bytes().to_vec(),
        };
        let paid = r#"{"code":200,"data":{"orderNo":"DEMO012611221030000001","status":"PAID","paidAt":"2026-11-22T10:30:05","tradeNo":"2026"}}"#;
        assert!(matches!(ch.status_outcome(read(at(200, paid)), &order), PayOutcome::Paid { paid_at: Some(_), .. }));
        let pending = r#"{"code":200,"data":{"orderNo":"DEMO012611221030000001","status":"PENDING"}}"#;
        assert_eq!(ch.status_outcome(read(at(200, pending)), &order), PayOutcome::Unpaid);
        let missing = r#"{"code":500,"message":"订单不存在: DEMO012611221030000001","data":null}"#;
        assert_eq!(ch.status_outcome(read(at(200, missing)), &order), PayOutcome::NotFound);
        assert_eq!(ch.status_outcome(read(at(500, missing)), &order), PayOutcome::NotFound);
        for bad in [
            at(200, r#"{"code":200,"data":{"orderNo":"OTHER","status":"PAID"}}"#),
            at(200, r#"{"code":200,"data":{"status":"PAID"}}"#),
            at(502, "<html>Bad Gateway</html>"),
            at(200, r#"{"code":200,"data":{"orderNo":"DEMO012611221030000001","status":7}}"#),
        ] {
            assert!(matches!(ch.status_outcome(read(bad), &order), PayOutcome::Unknown(_)));
        }
        let refused = r#"{"code":500,"message":"订单标题不能为空","data":null}"#;
        assert!(matches!(ch.created(read(at(200, refused))), CreateOutcome::Failed(f) if f.code == "SUBJECT_MISSING"));
        let broken = r#"{"code":500,"message":"创建支付订单失败: timeout","data":null}"#;
        assert!(
            matches!(ch.created(read(at(200, broken))), CreateOutcome::Failed(f) if f.code == "CREATE_REFUSED" && f.message.contains("timeout"))
        );
        assert!(
            matches!(ch.created(read(at(500, broken))), CreateOutcome::Failed(_)),
            "a 500 carrying the service's refusal"
        );
        // A reply that is not the service's (a proxy's page) is unknown.
        assert!(matches!(ch.created(read(at(502, "<html>Bad Gateway</html>"))), CreateOutcome::Unknown(_)));
    }
}
