//! paydesk-sandbox: a loopback HTTP simulator of the payment services paydesk talks
//! to, for tests and the app's demo mode.
//!
//! It speaks each channel's wire format exactly as `docs/wire-formats.md` gives it, and
//! behaves like the channel (orders, states, expiry, refunds, notifies), all on one
//! state machine (`state.rs`):
//!
//! | channel | calls |
//! |---|---|
//! | `abc` (seed 004) | `/api/payment/alipay/{qrcode,wap,pc,app,barcode,refund}`, `…/query/{orderNo}` |
//! | `lakala` backend (seeds 000, 001) | `Authorization: Bearer`; `/api/v1/payment/lakala/counter/{create,query,close}`, legacy `…/lakala/{micropay,preorder}` |
//! | `lakala` direct (open platform v3) | signed requests, signed replies; `/api/v3/labs/trans/{micropay,preorder}`, `/api/v3/labs/query/tradequery`, `/api/v3/labs/relation/{revoked,close,refund}`, `/api/v3/ccss/counter/order/{special_create,query,close}` |
//! | `cashdesk` (seed 002) | MD5 or SM3 signed; `/api/cashier-desk/unified/orders`, `…/out-trade-no/query-pay-result/{outTradeNo}`, page `/cashier-desk-web/payment?token=` |
//! | `paysvc` (seed 003) | `/api/pay/create` (a form to `/alipay/gateway.do`), `/api/pay/status/{orderNo}` |
//! | `alipay` (OpenAPI, RSA2, public-key or cert mode) | `POST /gateway.do`, `method` = `alipay.trade.{pay,precreate,query,cancel,close,refund,fastpay.refund.query}`, `alipay.data.dataservice.bill.downloadurl.query`; `GET /bills/alipay/{token}` (the bill zip); async notify (form) |
//! | `wechat` (Pay v2, XML, MD5 or HMAC-SHA256) | `/pay/{micropay,orderquery,unifiedorder,closeorder,refundquery,downloadbill}`, `/secapi/pay/{reverse,refund}`; NATIVE notify (XML) |
//!
//! The credentials it expects default to the demo profile's ([`LAKALA_TOKEN`],
//! [`LAKALA_APPID`], [`LAKALA_MERCHANT_NO`], [`LAKALA_TERM_NO`], [`CASHDESK_APP_ID`],
//! [`CASHDESK_APP_KEY`], [`ALIPAY_APP_ID`], [`ALIPAY_SELLER_ID`], [`WECHAT_APPID`],
//! [`WECHAT_MCH_ID`], [`WECHAT_API_KEY`], and the test keys of [`demo_keys`]); see
//! [`SandboxOptions`].
//!
//! Barcode payments (abc `barcode`, lakala `micropay`, alipay `trade.pay`, wechat `micropay`)
//! follow the scenario table of CHANNELS.md, steered by the last two digits of the payment code:
//!
//! | ending | behaviour |
//! |---|---|
//! | `00`–`79` | paid at once (`98` and `99` too) |
//! | `8N` | "user paying" (lakala `BBS10000`, alipay `10003`, wechat `USERPAYING`), the next N+1 queries answer pending, then paid; `89` also: the first alipay cancel / wechat reverse answers "try again" (`retry_flag Y`, `recall Y`) |
//! | `90` | "user paying" until `barcode_close_after`, then closed, nothing charged (lakala: revoke closes it; wechat: `REVOKED`) |
//! | `91` | failed: insufficient funds (lakala `BBS11112`, alipay `ACQ.BUYER_BALANCE_NOT_ENOUGH` with a closed trade, wechat `NOTENOUGH` with no order) |
//! | `92` | failed: invalid or expired payment code (lakala `BBS11105`, alipay `ACQ.PAYMENT_AUTH_CODE_INVALID` and wechat `AUTH_CODE_INVALID`, no order); so is a code of no known wallet (of another wallet, for alipay and wechat) |
//! | `93` | charged, then the connection drops before the reply |
//! | `94` | the call hangs for `hang`, nothing charged, no order; then the connection drops |
//! | `95` | charged, reply is HTTP 500 (alipay: signed `20000 isp.unknow-error`, wechat: signed `SYSTEMERROR`, both HTTP 200) |
//! | `96` | charged; unsigned channels, alipay and wechat: the body is truncated; lakala direct: whole JSON with a `Lklapi-Signature` that does not verify |
//! | `97` | "user paying", one pending query, then cancelled by the customer (lakala `trade_state` `FAIL`, alipay `TRADE_CLOSED`, wechat `PAYERROR`) |
//!
//! An alipay precreated QR is no trade until the customer opens its page (GET
//! `/pay/{orderNo}`): until then query, close and cancel answer "no such trade", and the QR can
//! still be paid until `timeout_express`. A wechat refund whose amount's fen part is 97 answers
//! `PROCESSING` to its first refund query; 96 and 95 are given up by the wallet (`CHANGE`,
//! `REFUNDCLOSE`): no money goes back.
//!
//! With [`SandboxOptions::tls_listen`] a second listener serves the same routes over TLS and
//! requires a client certificate chained to the WeChat CA (`/secapi/*`'s mutual TLS); the plain
//! listener answers `/secapi/*` too.
//!
//! The lakala backend's legacy micropay answers `BBS10000` while the customer confirms, and
//! its orders are followed up through `counter/query` (`order_status` `PENDING`, `SUCCESS`,
//! `FAILED`, `CLOSED`), as the backend's one query call.
//!
//! QR and page orders of every channel are paid on the customer page `/pay/{orderNo}`
//! (or by [`Sandbox::customer_pay`], or automatically in demo mode); an amount whose fen
//! part is 99 is never paid, and one whose fen part is 98 is refused at creation with a code
//! no seed lists (abc and lakala `TRADE_NOT_ALLOWED`, lakala direct `BBS19999`/`CCSS1999`,
//! cashdesk `4999`, paysvc `创建支付订单失败: …`, alipay `ACQ.ACCESS_FORBIDDEN`, wechat `NOAUTH`).
//! Unpaid page orders close when their time is up: abc's `expiredDate` minutes, lakala
//! counter's `order_efficient_time` and wechat's `time_expire` (wall-clock times in Beijing
//! time), lakala preorders and wechat NATIVE orders without `time_expire` after 120 minutes,
//! alipay QR codes after `timeout_express` (default 120 minutes) (a minute lasts
//! [`SandboxOptions::minute`]). cashdesk and paysvc orders never close by themselves (their
//! seeds name no expiry and no close call): a customer can pay them however late.
//!
//! Every order with a notify address (lakala `notify_url`; cashdesk
//! [`SandboxOptions::cashdesk_notify_url`]; alipay precreate's and wechat NATIVE's `notify_url`)
//! is notified once paid, in the channel's
//! format and signature, and retried on the channel's schedule (scaled by `minute`)
//! until exactly acknowledged (see `notify.rs`).
//!
//! Each wallet publishes its daily statement (对账单, `bills.rs`), written from the sandbox's own
//! record (the truth) in the wallet's format: Alipay's trade bill through
//! `alipay.data.dataservice.bill.downloadurl.query` (biz `{bill_type:"trade",
//! bill_date:"yyyy-MM-dd"}` → `10000 {bill_download_url}`, a `GET /bills/alipay/{token}` that serves
//! `{pid}_{yyyymmdd}.csv.zip` for 30 s (scaled by `minute`), then 404), WeChat's ALL trade bill
//! through `POST /pay/downloadbill` (`bill_date` `yyyyMMdd`: the text itself, `text/plain`). A day
//! is billed T+1, once it is over (before: Alipay `40004 ACQ.BILL_NOT_EXIST`, WeChat `return_code
//! FAIL` `No Bill Exist`, as WeChat also answers for a day without trade; Alipay's file of such a
//! day has no rows); [`SandboxOptions::bills_ready_same_day`] bills any day at once (today and
//! later days: what they hold so far).
//! The fee is 0.6 % (60 bp per channel), charged on payments and given back pro rata on refunds.
//! `GET`/`POST /admin/bill-faults` ([`BillFaults`], [`Sandbox::set_bill_faults`]) makes the
//! statements wrong as real ones are (`dropOrders`, `dropRefunds`, `nextDayOrders`, `feeRateBp`,
//! `extraCharges`, `amountOverrides`); the truth stays as it is.
//!
//! Loopback-only admin endpoints: `GET /admin/truth` (every charge and refund),
//! `GET`/`POST /admin/faults` (latency, 503 before, 500 after, dropped connection
//! after, garbled body; on every channel call), `GET`/`POST /admin/bill-faults` (what the
//! statements get wrong), `GET /admin/notifies[?orderNo=]`
//! (every notify and its attempts) and `POST /admin/notify` (send one now, genuine
//! or forged: [`NotifyRequest`]). `GET /healthz` answers `ok`.

mod abc;
mod admin;
mod alipay;
mod bills;
mod cashdesk;
mod customer;
mod faults;
mod lakala;
mod lakala_direct;
mod money;
mod notify;
mod paysvc;
pub mod postgres;
mod server;
mod sign;
mod state;
mod wechat;
mod wire;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use bills::{AmountOverride, BillFaults, ExtraCharge, FeeRates, RefundAmountOverride, DEFAULT_FEE_RATE_BP};
pub use cashdesk::{AmountReading, AmountUnit, NoResult, QueryForm};
pub use faults::{Faults, Injected};
pub use money::{format_yuan, parse_yuan};
pub use notify::{Forge, NotifyAttempt, NotifyCause, NotifyFormat, NotifyRecord, NotifyRequest};
pub use sign::{alipay_cert_sn, alipay_root_cert_sn, demo_keys, SignScheme};
pub use state::{channel_stamp, Charge, RefundRecord, SampleCode, Scenario, Truth, SAMPLE_CODES};
pub use wechat::NOTIFY_ACK as WECHAT_NOTIFY_ACK;

/// The lakala backend's Bearer token the sandbox expects by default.
pub const LAKALA_TOKEN: &str = "sandbox-token";
/// The lakala open-platform app id the sandbox expects by default (direct mode).
pub const LAKALA_APPID: &str = "OP00000003";
/// The lakala merchant number (商户号) the sandbox expects by default.
pub const LAKALA_MERCHANT_NO: &str = "8222900701106PZ";
/// The lakala terminal number (终端号) the sandbox expects by default.
pub const LAKALA_TERM_NO: &str = "D9296400";
/// The cashdesk `appId` the sandbox expects by default (the seed's test value).
pub const CASHDESK_APP_ID: &str = "123456";
/// The cashdesk `appKey` the sandbox expects by default (the seed's test value).
pub const CASHDESK_APP_KEY: &str = "000000";
/// The Alipay `app_id` the sandbox expects by default.
pub const ALIPAY_APP_ID: &str = "2021000000000001";
/// The Alipay seller id (PID) the sandbox's notifies carry by default.
pub const ALIPAY_SELLER_ID: &str = "2088000000000001";
/// The WeChat Pay `appid` the sandbox expects by default.
pub const WECHAT_APPID: &str = "wxd930ea5d5a258f4f";
/// The WeChat Pay `mch_id` the sandbox expects by default.
pub const WECHAT_MCH_ID: &str = "1900000109";
/// The WeChat Pay API v2 key (32 characters) the sandbox signs and verifies with by default.
pub const WECHAT_API_KEY: &str = "paydesksandboxwechatv2apikey0032";

/// How the sandbox runs.
#[derive(Clone, Debug)]
pub struct SandboxOptions {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// How long a sandbox "minute" lasts (tests make it short): `expiredDate`, page
    /// lifetimes and the notify retry schedules are scaled by it (`order_efficient_time`,
    /// a wall-clock time, is not).
    pub minute: Duration,
    /// When a "user paying forever" barcode trade (ending `90`) is closed.
    pub barcode_close_after: Duration,
    /// How long a hanging pay call (ending `94`) hangs before its connection drops.
    pub hang: Duration,
    /// Demo mode: QR/page orders are paid this long after creation.
    pub auto_pay_after: Option<Duration>,
    /// Keep the state (orders, charges, refunds) in this JSON file across restarts.
    pub state_file: Option<PathBuf>,
    /// Seed of the fault generator, so runs are reproducible.
    pub seed: u64,
    /// lakala backend mode: the expected `Authorization: Bearer` token.
    pub lakala_token: String,
    /// lakala direct mode: the expected `appid`.
    pub lakala_appid: String,
    /// lakala: the merchant number every call must carry (where the call has one).
    pub lakala_merchant_no: String,
    /// lakala: the terminal number every labs and legacy call must carry.
    pub lakala_term_no: String,
    /// lakala direct mode: the store's certificate (PEM); requests are verified with its
    /// key and `serial_no` must be its serial.
    pub lakala_merchant_cert_pem: String,
    /// lakala direct mode: the platform's private key (PEM) that signs replies and notifies.
    pub lakala_platform_key_pem: String,
    /// lakala direct mode: the platform's certificate (PEM), whose serial is sent in `Lklapi-Serial`.
    pub lakala_platform_cert_pem: String,
    /// cashdesk: the expected `appId`.
    pub cashdesk_app_id: String,
    /// cashdesk: the `appKey` of the canonical string.
    pub cashdesk_app_key: String,
    /// cashdesk: MD5 (default) or SM3.
    pub cashdesk_sign: SignScheme,
    /// cashdesk: `amount` in fen (default) or yuan.
    pub cashdesk_amount_unit: AmountUnit,
    /// cashdesk: where paid orders are notified (the unified order carries no address).
    pub cashdesk_notify_url: Option<String>,
    /// cashdesk: how a number is read for the canonical string (default: as a number, `12.30`
    /// signed as `12.3`).
    pub cashdesk_amount_reading: cashdesk::AmountReading,
    /// cashdesk: the pay-result query's reply, flat as seed §4.3 shows it (default) or enveloped.
    pub cashdesk_query_form: cashdesk::QueryForm,
    /// cashdesk: how "no result yet" is written (default: `NULL`, `null` and absent by turns).
    pub cashdesk_no_result: cashdesk::NoResult,
    /// alipay: the expected `app_id`.
    pub alipay_app_id: String,
    /// alipay: the seller id (PID) notifies carry.
    pub alipay_seller_id: String,
    /// alipay public-key mode: the app's public key (PEM) that verifies requests.
    pub alipay_app_public_key_pem: String,
    /// alipay: Alipay's private key (PEM) that signs replies and notifies.
    pub alipay_private_key_pem: String,
    /// alipay: cert mode (requests carry `app_cert_sn` and `alipay_root_cert_sn`, checked against
    /// the certificates below, and are verified with the app certificate's key; replies carry
    /// `alipay_cert_sn`). Default: public-key mode.
    pub alipay_cert_mode: bool,
    /// alipay cert mode: the app's certificate (PEM).
    pub alipay_app_cert_pem: String,
    /// alipay cert mode: Alipay's certificate (PEM), whose key is `alipay_private_key_pem`'s.
    pub alipay_cert_pem: String,
    /// alipay cert mode: Alipay's root bundle (PEM).
    pub alipay_root_cert_pem: String,
    /// wechat: the expected `appid`.
    pub wechat_appid: String,
    /// wechat: the expected `mch_id`.
    pub wechat_mch_id: String,
    /// wechat: the API v2 key of the signatures.
    pub wechat_api_key: String,
    /// A second listener serving every route over TLS, requiring a client certificate chained to
    /// `wechat_ca_cert_pem` (the mutual TLS of wechat's `/secapi/*`). Default: none.
    pub tls_listen: Option<SocketAddr>,
    /// The CA (PEM) the TLS listener trusts for client certificates.
    pub wechat_ca_cert_pem: String,
    /// The TLS listener's certificate chain (PEM).
    pub tls_server_cert_pem: String,
    /// The TLS listener's private key (PEM).
    pub tls_server_key_pem: String,
    /// Statements: any day's bill exists at once (today's, and a later day's with what it holds
    /// so far), not only once the day is over (T+1, as the wallets do: the default). Tests switch
    /// it on to bill what they just paid, and the next day's bill.
    pub bills_ready_same_day: bool,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            minute: Duration::from_secs(60),
            barcode_close_after: Duration::from_secs(180),
            hang: Duration::from_secs(20),
            auto_pay_after: None,
            state_file: None,
            seed: 0,
            lakala_token: LAKALA_TOKEN.to_owned(),
            lakala_appid: LAKALA_APPID.to_owned(),
            lakala_merchant_no: LAKALA_MERCHANT_NO.to_owned(),
            lakala_term_no: LAKALA_TERM_NO.to_owned(),
            lakala_merchant_cert_pem: demo_keys::MERCHANT_CERT_PEM.to_owned(),
            lakala_platform_key_pem: demo_keys::LAKALA_PRIVATE_PEM.to_owned(),
            lakala_platform_cert_pem: demo_keys::LAKALA_CERT_PEM.to_owned(),
            cashdesk_app_id: CASHDESK_APP_ID.to_owned(),
            cashdesk_app_key: CASHDESK_APP_KEY.to_owned(),
            cashdesk_sign: SignScheme::Md5,
            cashdesk_amount_unit: AmountUnit::Fen,
            cashdesk_notify_url: None,
            cashdesk_amount_reading: cashdesk::AmountReading::default(),
            cashdesk_query_form: cashdesk::QueryForm::default(),
            cashdesk_no_result: cashdesk::NoResult::default(),
            alipay_app_id: ALIPAY_APP_ID.to_owned(),
            alipay_seller_id: ALIPAY_SELLER_ID.to_owned(),
            alipay_app_public_key_pem: demo_keys::ALIPAY_APP_PUBLIC_PEM.to_owned(),
            alipay_private_key_pem: demo_keys::ALIPAY_PRIVATE_PEM.to_owned(),
            alipay_cert_mode: false,
            alipay_app_cert_pem: demo_keys::ALIPAY_APP_CERT_PEM.to_owned(),
            alipay_cert_pem: demo_keys::ALIPAY_CERT_PEM.to_owned(),
            alipay_root_cert_pem: demo_keys::ALIPAY_ROOT_CERT_PEM.to_owned(),
            wechat_appid: WECHAT_APPID.to_owned(),
            wechat_mch_id: WECHAT_MCH_ID.to_owned(),
            wechat_api_key: WECHAT_API_KEY.to_owned(),
            tls_listen: None,
            wechat_ca_cert_pem: demo_keys::WECHAT_CA_CERT_PEM.to_owned(),
            tls_server_cert_pem: demo_keys::WECHAT_SERVER_CERT_PEM.to_owned(),
            tls_server_key_pem: demo_keys::WECHAT_SERVER_KEY_PEM.to_owned(),
            bills_ready_same_day: false,
        }
    }
}

/// What the handlers share.
#[derive(Debug)]
pub(crate) struct App {
    pub store: state::Store,
    pub faults: faults::FaultSwitch,
    pub base_url: String,
    pub hang: Duration,
    pub lakala: lakala_direct::Setup,
    pub cashdesk: cashdesk::Setup,
    pub alipay: alipay::Setup,
    pub wechat: wechat::Setup,
    pub notifier: notify::Notifier,
    /// Statements: their faults and the Alipay downloads on offer.
    pub bills: bills::Desk,
    /// Channel calls answered so far, by path (tests count the queries a cashier makes).
    pub calls: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

impl App {
    pub fn now_ms(&self) -> i64 {
        self.store.clock.now_ms()
    }

    /// `minutes` sandbox minutes, in milliseconds.
    pub fn sandbox_minutes(&self, minutes: i64) -> i64 {
        minutes.saturating_mul(state::ms(self.store.rules.minute))
    }

    /// A real-world delay in sandbox time (delay × `minute` / 60 s).
    pub fn scaled(&self, real: Duration) -> Duration {
        let nanos = real.as_nanos().saturating_mul(self.store.rules.minute.as_nanos()) / 60_000_000_000;
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// The customer page of an order.
    pub fn page_url(&self, order_no: &str) -> String {
        format!("{}/pay/{order_no}", self.base_url)
    }

    pub fn truth(&self) -> Truth {
        self.store.with(|st, _| st.truth())
    }

    pub fn customer_pay(&self, order_no: &str) -> Result<state::Order, state::PayRefusal> {
        let result = self.store.with(|st, now| st.pay_page(order_no, now));
        match &result {
            Ok(order) => tracing::info!(
                order_no,
                amount = %format_yuan(order.amount_fen),
                "customer paid"
            ),
            Err(r) => tracing::info!(order_no, "customer could not pay: {r}"),
        }
        result
    }
}

/// A JSON reply written by serde_json itself (so `RawValue` amounts stay exact).
pub(crate) fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => json_bytes(status, bytes),
        Err(e) => {
            tracing::error!("cannot serialize a reply: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "serialization error").into_response()
        }
    }
}

/// A JSON reply of these exact bytes.
pub(crate) fn json_bytes(status: StatusCode, bytes: Vec<u8>) -> Response {
    let mut resp = (status, bytes).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    resp
}

fn router(app: Arc<App>) -> Router {
    let channels = Router::new()
        .merge(abc::router())
        .merge(lakala::router())
        .merge(lakala_direct::router())
        .merge(cashdesk::router())
        .merge(paysvc::router())
        .merge(alipay::router())
        .merge(wechat::router())
        .merge(bills::router())
        .layer(axum::middleware::from_fn_with_state(app.clone(), faults::apply));
    Router::new()
        .merge(channels)
        .merge(customer::router())
        .merge(cashdesk::page_router())
        .merge(paysvc::page_router())
        .merge(admin::router())
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::middleware::from_fn(access_log))
        .with_state(app)
}

async fn access_log(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    tracing::debug!("{method} {path} → {}", resp.status().as_u16());
    resp
}

/// `http://IP:PORT`; an unspecified listen address is reached through loopback.
fn base_url_for(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => format!("http://127.0.0.1:{}", addr.port()),
        IpAddr::V4(ip) => format!("http://{ip}:{}", addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => {
            format!("http://[{}]:{}", Ipv6Addr::LOCALHOST, addr.port())
        }
        IpAddr::V6(ip) => format!("http://[{ip}]:{}", addr.port()),
    }
}

/// `https://IP:PORT` of the TLS listener.
fn tls_url_for(addr: SocketAddr) -> String {
    base_url_for(addr).replacen("http://", "https://", 1)
}

/// A running sandbox. Dropping it stops the server too (at the runtime's next
/// turn); [`Sandbox::shutdown`] waits until it has stopped.
pub struct Sandbox {
    addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    app: Arc<App>,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    tls_server: Option<JoinHandle<()>>,
    ticker: JoinHandle<()>,
    notifies: JoinHandle<()>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("addr", &self.addr).finish()
    }
}

impl Sandbox {
    /// Binds, loads the state file if any, spawns the server on the current tokio
    /// runtime, and returns once it is listening.
    pub async fn start(opts: SandboxOptions) -> io::Result<Sandbox> {
        let rules = state::Rules {
            minute: opts.minute,
            barcode_close_after: opts.barcode_close_after,
            auto_pay_after: opts.auto_pay_after,
        };
        let invalid = |e: String| io::Error::new(io::ErrorKind::InvalidInput, e);
        let lakala = lakala_direct::Setup::new(&opts).map_err(invalid)?;
        let alipay = alipay::Setup::new(&opts).map_err(invalid)?;
        let wechat = wechat::Setup::new(&opts).map_err(invalid)?;
        let tls = match opts.tls_listen {
            Some(at) => {
                let acceptor =
                    server::tls_acceptor(&opts.tls_server_cert_pem, &opts.tls_server_key_pem, &opts.wechat_ca_cert_pem)
                        .map_err(invalid)?;
                Some((TcpListener::bind(at).await?, acceptor))
            }
            None => None,
        };
        let (paid_tx, paid_rx) = mpsc::unbounded_channel();
        let (retry_tx, retry_rx) = mpsc::unbounded_channel();
        let notifier = notify::Notifier::new(retry_tx).map_err(io::Error::other)?;
        let store = state::Store::open(rules, opts.state_file.clone(), Some(paid_tx))?;
        let listener = TcpListener::bind(opts.listen).await?;
        let addr = listener.local_addr()?;
        let app = Arc::new(App {
            store,
            faults: faults::FaultSwitch::new(opts.seed),
            base_url: base_url_for(addr),
            hang: opts.hang,
            lakala,
            cashdesk: cashdesk::Setup::new(&opts),
            alipay,
            wechat,
            notifier,
            bills: bills::Desk::new(&opts),
            calls: Default::default(),
        });
        let (stop, stop_rx) = watch::channel(false);
        let router = router(app.clone());
        let server = tokio::spawn(server::serve(listener, router.clone(), None, stop_rx.clone()));
        let mut tls_addr = None;
        let mut tls_server = None;
        if let Some((listener, acceptor)) = tls {
            tls_addr = Some(listener.local_addr()?);
            tls_server = Some(tokio::spawn(server::serve(listener, router, Some(acceptor), stop_rx.clone())));
        }
        let notifies = tokio::spawn(notify::run(app.clone(), paid_rx, retry_rx, stop_rx.clone()));
        let ticker = tokio::spawn(tick(app.clone(), stop_rx));
        tracing::info!("sandbox listening on {}", app.base_url);
        if let Some(at) = tls_addr {
            tracing::info!("sandbox listening on {} (TLS, client certificate required)", tls_url_for(at));
        }
        Ok(Sandbox { addr, tls_addr, app, stop, server, tls_server, ticker, notifies })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        self.app.base_url.clone()
    }

    /// `https://127.0.0.1:PORT` of the TLS listener, if [`SandboxOptions::tls_listen`] asked for one.
    pub fn tls_base_url(&self) -> Option<String> {
        self.tls_addr.map(tls_url_for)
    }

    /// Every charge and refund so far (what `GET /admin/truth` returns).
    pub fn truth(&self) -> Truth {
        self.app.truth()
    }

    pub fn faults(&self) -> Faults {
        self.app.faults.get()
    }

    /// How many channel calls whose path ends with `suffix` were made so far. Alipay's calls are
    /// counted under `/gateway.do` and under `/gateway.do?method=<method>` too, so
    /// `calls("alipay.trade.query")` counts its queries.
    pub fn calls(&self, suffix: &str) -> u64 {
        let calls = self.app.calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        calls.iter().filter(|(path, _)| path.ends_with(suffix)).map(|(_, n)| n).sum()
    }

    /// How many faults were injected so far, by kind.
    pub fn faults_injected(&self) -> Injected {
        self.app.faults.injected()
    }

    /// Percentages above 100 act as 100.
    pub fn set_faults(&self, f: Faults) {
        self.app.faults.set(f);
    }

    /// The statements' faults (what `GET /admin/bill-faults` returns).
    pub fn bill_faults(&self) -> BillFaults {
        self.app.bills.faults()
    }

    /// Sets what the statements get wrong (what `POST /admin/bill-faults` does, unchecked: a rate
    /// above 10 000 bp acts as 10 000, an extra charge of a bad day or channel is never listed).
    /// The truth is untouched.
    pub fn set_bill_faults(&self, faults: BillFaults) {
        self.app.bills.set_faults(faults);
    }

    /// What the customer page's Pay button does; the error says why it could not pay.
    pub fn customer_pay(&self, order_no: &str) -> Result<(), String> {
        self.app.customer_pay(order_no).map(|_| ()).map_err(|r| r.to_string())
    }

    /// Every notify sent so far and its attempts (what `GET /admin/notifies` returns).
    pub fn notifies(&self) -> Vec<NotifyRecord> {
        self.app.notifier.records()
    }

    /// Sends a notify for an order now, genuine or forged (what `POST /admin/notify`
    /// does): answers the record after the first attempt.
    pub async fn send_notify(&self, req: NotifyRequest) -> Result<NotifyRecord, String> {
        notify::send_now(&self.app, req).await.map_err(|(_, e)| e)
    }

    /// Stops accepting, drops open connections (hung calls included), stops the
    /// background tick and the notifies (pending retries are dropped) and saves the
    /// state file.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
        if let Some(tls) = self.tls_server {
            let _ = tls.await;
        }
        let _ = self.ticker.await;
        let _ = self.notifies.await;
        if let Err(e) = self.app.store.save_now() {
            tracing::error!("cannot save sandbox state: {e}");
        }
        tracing::info!("sandbox stopped");
    }
}

/// Applies expiry and auto-pay every 200 ms, so the truth moves even when nobody asks.
async fn tick(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(Duration::from_millis(200));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = every.tick() => app.store.with(|_, _| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let url = |s: &str| base_url_for(s.parse().unwrap_or_else(|e| panic!("{s}: {e}")));
        assert_eq!(url("127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(url("0.0.0.0:8080"), "http://127.0.0.1:8080");
        assert_eq!(url("[::]:8080"), "http://[::1]:8080");
        assert_eq!(url("[::1]:8080"), "http://[::1]:8080");
    }
}
