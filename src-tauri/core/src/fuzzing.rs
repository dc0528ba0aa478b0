//! Entry points for the fuzz targets in `core/fuzz` (feature `fuzzing`; never in the app): the
//! parsers of untrusted input that are private to their channel, fed exactly as the channel feeds
//! them after an HTTP exchange. Every function here runs *all* parse paths of its input (pay,
//! query, create, cancel, close, refund) and returns the outcomes for the target to check.

use crate::channel::cashdesk::CashdeskChannel;
use crate::channel::http::{audit, Transport};
use crate::channel::lakala::{LakalaChannel, COUNTER_OK, LABS_OK};
use crate::channel::paysvc::PaysvcChannel;
use crate::channel::{
    abc, alipay, cashdesk, paysvc, wechat, CancelOutcome, CreateOutcome, Notice, Order, PayOutcome, RefundOutcome,
};
use crate::config::{ChannelZone, Config, DemoKeys, LakalaMode, Secret, SignScheme};
use crate::money::Fen;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// A reply as the transport hands it over. Header names or values HTTP cannot carry are left out
/// (the HTTP client never delivers them).
fn answered(status: u16, headers: &[(String, String)], body: &[u8]) -> Transport {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            map.append(n, v);
        }
    }
    Transport::Answered { status, headers: map, body: body.to_vec() }
}

/// The audit record every channel keeps of a reply, with `secret` (a payment code) masked.
pub fn audit_reply(call: &str, request: Option<&str>, status: u16, body: &[u8], secret: &str) -> Value {
    let scrub = |text: &str| {
        if secret.is_empty() {
            text.to_string()
        } else {
            text.replace(secret, &crate::paycode::mask(secret))
        }
    };
    audit(call, request, &answered(status, &[], body), Duration::from_millis(7), &scrub)
}

// ---------------------------------------------------------------- abc

/// What the abc channel makes of one reply, for each call it could answer.
#[derive(Debug, Clone)]
pub struct AbcOutcomes {
    pub qr: CreateOutcome,
    pub page: CreateOutcome,
    pub app: CreateOutcome,
    pub pay: PayOutcome,
    pub query: PayOutcome,
    pub refund: RefundOutcome,
}

pub fn abc_reply(status: u16, body: &[u8], order: &Order<'_>, refund_amount: Fen) -> AbcOutcomes {
    let read = || abc::read(answered(status, &[], body));
    AbcOutcomes {
        qr: abc::created(read(), order, |r| r.qr_code_url.clone()),
        page: abc::created(read(), order, |r| r.payment_url.clone()),
        app: abc::created(read(), order, |r| r.order_string.clone()),
        pay: abc::pay_outcome(read(), order, ChannelZone::default()),
        query: abc::query_outcome(read(), order, ChannelZone::default()),
        refund: abc::refund_outcome(read(), order, refund_amount),
    }
}

// ---------------------------------------------------------------- lakala

/// The sandbox's test keys, as PEM text (the fuzz targets embed them from `sandbox/keys`).
#[derive(Debug, Clone, Copy)]
pub struct TestKeys<'a> {
    pub merchant_private_pem: &'a str,
    pub lakala_cert_pem: &'a str,
}

impl TestKeys<'_> {
    /// Writes Lakala's key files where the demo config names them.
    fn write(&self, config_path: &std::path::Path) -> Result<(), String> {
        let files = [("merchant_private.pem", self.merchant_private_pem), ("lakala_cert.pem", self.lakala_cert_pem)];
        DemoKeys { files: &files }.write(config_path).map_err(|e| e.to_string())
    }
}

/// Lakala in both transports: backend (no signatures) and direct (every reply verified).
pub struct Lakala {
    pub backend: LakalaChannel,
    pub direct: LakalaChannel,
}

/// What one Lakala channel makes of one reply, for each call it could answer.
#[derive(Debug, Clone)]
pub struct LakalaOutcomes {
    pub pay: PayOutcome,
    pub labs_query: PayOutcome,
    pub counter_query: PayOutcome,
    pub labs_create: CreateOutcome,
    pub counter_create: CreateOutcome,
    pub labs_close: PayOutcome,
    pub counter_close: PayOutcome,
    pub cancel: CancelOutcome,
    pub refund: RefundOutcome,
}

impl Lakala {
    /// Writes the keys where the demo config expects them (a fresh directory under the temp dir,
    /// removed again once the channels have read them) and builds both channels.
    pub fn new(keys: TestKeys<'_>) -> Result<Lakala, String> {
        let dir: PathBuf = std::env::temp_dir().join(format!("paydesk-fuzz-{}", std::process::id()));
        keys.write(&dir.join("config.toml"))?;
        let mut config = Config::demo(9);
        config.dir = dir.clone();
        let built = Self::from_config(&config);
        let _ = std::fs::remove_dir_all(&dir);
        built
    }

    fn from_config(config: &Config) -> Result<Lakala, String> {
        let mut direct = config.channels.lakala.clone().ok_or("the demo config has no lakala")?;
        direct.mode = LakalaMode::Direct;
        let mut backend = direct.clone();
        backend.mode = LakalaMode::Backend;
        backend.token = Some(Secret::new("token"));
        Ok(Lakala {
            backend: LakalaChannel::new(&backend, config).map_err(|e| e.to_string())?,
            direct: LakalaChannel::new(&direct, config).map_err(|e| e.to_string())?,
        })
    }

    /// Each reply read three ways: by the backend channel, by the direct channel (its signature
    /// headers checked first), and the backend's reading mapped by the direct channel's rules (so
    /// the direct mapping is reached without a valid signature).
    pub fn reply(
        &self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
        order: &Order<'_>,
        refund_id: &str,
    ) -> [LakalaOutcomes; 3] {
        let transport = answered(status, headers, body);
        let unsigned = self.backend.read(&transport);
        let signed = self.direct.read(&transport);
        [
            outcomes(&self.backend, &unsigned, order, refund_id),
            outcomes(&self.direct, &signed, order, refund_id),
            outcomes(&self.direct, &unsigned, order, refund_id),
        ]
    }
}

fn outcomes(ch: &LakalaChannel, got: &crate::channel::lakala::Got, order: &Order<'_>, id: &str) -> LakalaOutcomes {
    LakalaOutcomes {
        pay: ch.pay_outcome(got.clone(), order),
        labs_query: ch.labs_query_outcome(got.clone(), order),
        counter_query: ch.counter_query_outcome(got.clone(), order),
        labs_create: ch.created(got.clone(), order, LABS_OK),
        counter_create: ch.created(got.clone(), order, COUNTER_OK),
        labs_close: ch.close_outcome(got.clone(), LABS_OK),
        counter_close: ch.close_outcome(got.clone(), COUNTER_OK),
        cancel: LakalaChannel::cancel_outcome(got.clone(), order),
        refund: ch.refund_outcome(got.clone(), id),
    }
}

// ---------------------------------------------------------------- cashdesk

/// The demo config's cash desk (app id `123456`, key `000000`) signing with `scheme`.
pub fn cashdesk_channel(scheme: SignScheme) -> Result<CashdeskChannel, String> {
    let config = Config::demo(9);
    let mut desk = config.channels.cashdesk.clone().ok_or("the demo config has no cashdesk")?;
    desk.sign_scheme = scheme;
    CashdeskChannel::new(&desk, &config).map_err(|e| e.to_string())
}

#[derive(Debug, Clone)]
pub struct CashdeskOutcomes {
    pub create: CreateOutcome,
    /// The channel list kept for the audit, when the reply had one.
    pub channels_kept: Option<Value>,
    pub query: PayOutcome,
}

pub fn cashdesk_reply(ch: &CashdeskChannel, status: u16, body: &[u8], order: &Order<'_>) -> CashdeskOutcomes {
    let read = || cashdesk::read(answered(status, &[], body));
    let (create, channels_kept) = ch.created(read(), order);
    CashdeskOutcomes { create, channels_kept, query: ch.query_outcome(read()) }
}

// ---------------------------------------------------------------- paysvc

/// The demo config's page-pay service, taking forms to `gateway_hosts`.
pub fn paysvc_channel(gateway_hosts: &[&str]) -> Result<PaysvcChannel, String> {
    let mut svc = Config::demo(9).channels.paysvc.clone().ok_or("the demo config has no paysvc")?;
    svc.gateway_hosts = gateway_hosts.iter().map(|h| h.to_string()).collect();
    PaysvcChannel::new(&svc).map_err(|e| e.to_string())
}

#[derive(Debug, Clone)]
pub struct PaysvcOutcomes {
    pub create: CreateOutcome,
    pub status: PayOutcome,
}

pub fn paysvc_reply(ch: &PaysvcChannel, status: u16, body: &[u8], order: &Order<'_>) -> PaysvcOutcomes {
    let read = || paysvc::read(answered(status, &[], body));
    PaysvcOutcomes { create: ch.created(read()), status: ch.status_outcome(read(), order) }
}

// ---------------------------------------------------------------- alipay

pub use crate::channel::alipay::ReplyKeys as AlipayKeys;

/// What the alipay channel makes of one reply, for each call it could answer. `refund` is the
/// refund call's reading: done or refused (`Ok(Some)`), "ask the refund query" (`Ok(None)`), or
/// unknown (`Err`).
#[derive(Debug, Clone)]
pub struct AlipayOutcomes {
    pub pay: PayOutcome,
    pub create: CreateOutcome,
    pub query_barcode: PayOutcome,
    pub query_qr: PayOutcome,
    pub cancel: CancelOutcome,
    pub close: PayOutcome,
    pub refund: Result<Option<RefundOutcome>, String>,
    pub refund_query: RefundOutcome,
}

/// `body_for(method)` is the reply body as the gateway would answer `method` (a target wraps one
/// inner object under each method's key when it signs).
pub fn alipay_reply(
    keys: &AlipayKeys,
    status: u16,
    body_for: impl Fn(&str) -> Vec<u8>,
    order: &Order<'_>,
    refund_amount: Fen,
) -> AlipayOutcomes {
    let read = |method: &str| alipay::read(answered(status, &[], &body_for(method)), method, keys);
    let zone = ChannelZone::default();
    let qr = Order { flow: crate::ledger::Flow::Qr, ..*order };
    let failures: Vec<String> = crate::config::ALIPAY_PAY_FAILURES.iter().map(|c| c.to_string()).collect();
    let refund_failures: Vec<String> = crate::config::ALIPAY_REFUND_FAILURES.iter().map(|c| c.to_string()).collect();
    AlipayOutcomes {
        pay: alipay::pay_outcome(read("alipay.trade.pay"), order, zone, &failures),
        create: alipay::created(read("alipay.trade.precreate"), &qr),
        query_barcode: alipay::query_outcome(read("alipay.trade.query"), order, zone),
        query_qr: alipay::query_outcome(read("alipay.trade.query"), &qr, zone),
        cancel: alipay::cancel_outcome(read("alipay.trade.cancel"), order),
        close: alipay::close_outcome(read("alipay.trade.close"), &qr),
        refund: alipay::refund_outcome(read("alipay.trade.refund"), order, &refund_failures),
        refund_query: alipay::refund_query_outcome(
            read("alipay.trade.fastpay.refund.query"),
            order,
            "R1",
            refund_amount,
        ),
    }
}

/// An Alipay notify (a form body) as the channel reads it, for app `app_id` and seller `seller_id`.
pub fn alipay_notify(keys: &AlipayKeys, body: &[u8], app_id: &str, seller_id: Option<&str>) -> Notice {
    alipay::read_notify(body, keys, app_id, seller_id, ChannelZone::default())
}

// ---------------------------------------------------------------- wechat

pub use crate::channel::wechat::Check as WechatCheck;

/// What the wechat channel makes of one reply, for each call it could answer (`refund` as for
/// [`AlipayOutcomes`]).
#[derive(Debug, Clone)]
pub struct WechatOutcomes {
    pub pay: PayOutcome,
    pub create: CreateOutcome,
    pub query: PayOutcome,
    pub reverse: CancelOutcome,
    pub close: PayOutcome,
    pub refund: Result<Option<RefundOutcome>, String>,
    pub refund_query: RefundOutcome,
}

pub fn wechat_reply(
    check: &WechatCheck,
    status: u16,
    body: &[u8],
    order: &Order<'_>,
    refund_amount: Fen,
) -> WechatOutcomes {
    let read = || wechat::read(answered(status, &[], body), check);
    let zone = ChannelZone::default();
    let failures: Vec<String> = crate::config::WECHAT_PAY_FAILURES.iter().map(|c| c.to_string()).collect();
    WechatOutcomes {
        pay: wechat::pay_outcome(read(), order, zone, &failures),
        create: wechat::created(read(), order),
        query: wechat::query_outcome(read(), order, zone),
        reverse: wechat::reverse_outcome(read()),
        close: wechat::close_outcome(read()),
        refund: wechat::refund_outcome(read(), order, refund_amount),
        refund_query: wechat::refund_query_outcome(read(), "R1", refund_amount),
    }
}

pub fn wechat_notify(check: &WechatCheck, body: &[u8]) -> Notice {
    wechat::read_notify(body, check, ChannelZone::default())
}

// ---------------------------------------------------------------- the listeners' HTTP layer

/// The bearer token the fuzzed terminal API takes; seed inputs carry it so the handlers behind
/// the check are reached.
pub const API_TOKEN: &str = "fuzz-terminal-token-0123456789";

/// The notify receiver and the terminal API as they serve one connection (hyper's parser, the
/// whole-body deadline, the routes and handlers), on a demo cashier whose ledger is in `dir` and
/// whose channels are unreachable (port 9).
pub struct Listeners {
    pub cashier: crate::engine::Cashier,
    notify: axum::Router,
    api: axum::Router,
    ledger: PathBuf,
}

/// Which listener an input goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    Notify,
    TerminalApi,
}

impl Listeners {
    /// Call inside a Tokio runtime: the cashier starts its tasks there.
    pub fn new(dir: &std::path::Path, keys: TestKeys<'_>) -> Result<Listeners, String> {
        use crate::{listener, notify, terminal_api};
        let config_path = dir.join("config.toml");
        keys.write(&config_path)?;
        let mut config = Config::demo(9);
        config.dir = dir.to_path_buf();
        // The wallets' notifies are fuzzed by the notify target; these listeners need no keys of theirs.
        (config.channels.alipay, config.channels.wechat) = (None, None);
        let ledger = config.ledger_path(&config_path);
        let cashier = crate::engine::Cashier::open(config, &config_path, None).map_err(|e| e.to_string())?;
        let notify = listener::guarded(notify::router(cashier.clone()), notify::LIMITS);
        let token = terminal_api::Token::new(API_TOKEN);
        let api = terminal_api::router(cashier.clone(), token, Duration::from_secs(2));
        let api = listener::guarded(api, terminal_api::LIMITS);
        Ok(Listeners { cashier, notify, api, ledger })
    }

    /// One connection: `raw` is everything the client sends, and the answer everything it got.
    /// The client never closes its side (as a slow one would), so the connection ends when the
    /// server closes it: on bad input, or at the header deadline (run under paused Tokio time, so
    /// the deadlines pass at once).
    pub async fn exchange(&self, to: Listener, raw: &[u8]) -> Vec<u8> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (app, limits) = match to {
            Listener::Notify => (self.notify.clone(), crate::notify::LIMITS),
            Listener::TerminalApi => (self.api.clone(), crate::terminal_api::LIMITS),
        };
        let (client, server) = tokio::io::duplex(16 * 1024);
        let (mut reading, mut writing) = tokio::io::split(client);
        let mut answer = Vec::new();
        let send = async {
            let _ = writing.write_all(raw).await;
            writing
        };
        let (_, _, _writing) = tokio::join!(
            crate::listener::serve_connection(server, app, limits),
            reading.read_to_end(&mut answer),
            send
        );
        answer
    }

    /// The ledger's bytes on disk (database and WAL): what a request that writes nothing leaves
    /// as it was.
    pub fn ledger_bytes(&self) -> u64 {
        let wal = self.ledger.with_extension("db-wal");
        [&self.ledger, &wal].iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum()
    }
}

// ---------------------------------------------------------------- reconciliation statements

// The statement parsers themselves are public: `crate::recon::bills`.

/// The CSV inside Alipay's trade-bill zip (GBK bytes), read as `alipay_trade_bill` reads the zip's
/// entry: the target reaches the CSV reader without having to build a zip.
pub fn alipay_detail_csv(
    bytes: &[u8],
) -> Result<Vec<crate::recon::statement::StatementRow>, crate::recon::statement::StatementError> {
    crate::recon::bills::alipay_detail_csv(bytes)
}

/// `csv` as the one entry of an Alipay trade-bill zip (`…_业务明细.csv`, deflated).
pub fn alipay_zip_of(csv: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("20880000000000010156_20260115_业务明细.csv", options).map_err(|e| e.to_string())?;
    zip.write_all(csv).map_err(|e| e.to_string())?;
    Ok(zip.finish().map_err(|e| e.to_string())?.into_inner())
}

/// A file's SHA-1 as WeChat Pay gives it (`hash_value`, lowercase hex).
pub fn sha1_hex(bytes: &[u8]) -> String {
    crate::recon::bills::sha1_hex(bytes)
}
