//! Notifies: when an order with a notify address becomes paid (barcode, customer page,
//! auto-pay, a query-driven scenario), the sandbox posts the channel's notify and
//! retries on the channel's schedule until the merchant acknowledges it exactly:
//!
//! | format | body | signed | acknowledgement | retries after |
//! |---|---|---|---|---|
//! | `lakala-backend` | `{out_order_no, pay_order_no, order_status:"SUCCESS", total_amount:"100", resp_time}` | no | HTTP 200 `{"code":"000000",…}` | 1s 5s 5s 10s 3m 10m 20m 30m 1h 2h |
//! | `lakala-labs` | `{merchant_no, out_trade_no, trade_no, trade_status:"SUCCESS", total_amount:"100", trade_time, account_type}` | `Authorization: LKLAPI-SHA256withRSA timestamp,nonce_str,signature` | HTTP 200 `{"code":"SUCCESS",…}` | as above |
//! | `lakala-counter` | `{out_order_no, merchant_no, order_status:2, total_amount:100, pay_order_no}` | as labs | as labs | as above |
//! | `cashdesk` | `{outTradeNo, resultCode, payTime, channelType, mchId, amount, appId, nonce, timestamp, signature}` | `signature` field (md5/sm3) | HTTP 200 `{"code":1000,…}` | 15s 15s 30s 3m 10m 20m 30m 30m 30m 60m 3h 3h 3h 6h 6h |
//! | `alipay` | form `notify_type=trade_status_sync&…&trade_status=TRADE_SUCCESS&sign_type=RSA2&sign=…` | RSA2 over all but `sign`, `sign_type` | HTTP 200, body `success` | 2m 10m 10m 1h 2h 6h 15h |
//! | `wechat` | XML `<xml><return_code>SUCCESS…<sign>…</xml>` | `sign` (the order's MD5 or HMAC-SHA256) | HTTP 200, XML `return_code` `SUCCESS` | as cashdesk |
//!
//! Delays are scaled like every sandbox minute (delay × `minute` / 60 s). Every attempt
//! is re-signed with a fresh timestamp and nonce. Attempts are recorded
//! (`GET /admin/notifies`); `POST /admin/notify` sends one on demand, genuine or forged.
//! The record lives in memory only: a restart forgets it and the pending retries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::http::{header, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::lakala::{stamp, API_BACKEND_COUNTER, API_CCSS, API_LABS};
use crate::sign::{self, LKLAPI_SCHEME};
use crate::state::Order;
use crate::App;

/// How long one delivery attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of the merchant's answer is kept in the record.
const REPLY_KEEP: usize = 2000;

const LAKALA_SCHEDULE_S: &[u64] = &[1, 5, 5, 10, 180, 600, 1200, 1800, 3600, 7200];
const WECHAT_SCHEDULE_S: &[u64] =
    &[15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600];
/// The cash desk's seed gives WeChat Pay's schedule.
const CASHDESK_SCHEDULE_S: &[u64] = WECHAT_SCHEDULE_S;
const ALIPAY_SCHEDULE_S: &[u64] = &[120, 600, 600, 3600, 7200, 21600, 54000];

/// Which notify a channel sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotifyFormat {
    LakalaBackend,
    LakalaLabs,
    LakalaCounter,
    Cashdesk,
    Alipay,
    Wechat,
}

impl NotifyFormat {
    /// The notify of an order's channel and call family; `None` if it sends none
    /// (`abc`, `paysvc`, the lakala legacy calls).
    pub fn of(order: &Order) -> Option<NotifyFormat> {
        match (order.channel.as_str(), order.api.as_str()) {
            (crate::lakala::CHANNEL, API_BACKEND_COUNTER) => Some(NotifyFormat::LakalaBackend),
            (crate::lakala::CHANNEL, API_LABS) => Some(NotifyFormat::LakalaLabs),
            (crate::lakala::CHANNEL, API_CCSS) => Some(NotifyFormat::LakalaCounter),
            (crate::cashdesk::CHANNEL, _) => Some(NotifyFormat::Cashdesk),
            (crate::alipay::CHANNEL, crate::alipay::API_PRECREATE) => Some(NotifyFormat::Alipay),
            (crate::wechat::CHANNEL, crate::wechat::API_NATIVE) => Some(NotifyFormat::Wechat),
            _ => None,
        }
    }

    /// Seconds to wait before each retry (the first attempt is at once).
    pub fn schedule_s(self) -> &'static [u64] {
        match self {
            NotifyFormat::Cashdesk => CASHDESK_SCHEDULE_S,
            NotifyFormat::Wechat => WECHAT_SCHEDULE_S,
            NotifyFormat::Alipay => ALIPAY_SCHEDULE_S,
            NotifyFormat::LakalaBackend | NotifyFormat::LakalaLabs | NotifyFormat::LakalaCounter => LAKALA_SCHEDULE_S,
        }
    }

    pub fn signed(self) -> bool {
        self != NotifyFormat::LakalaBackend
    }

    /// The `Content-Type` of the notify's body.
    pub fn content_type(self) -> &'static str {
        match self {
            NotifyFormat::Alipay => "application/x-www-form-urlencoded; charset=utf-8",
            NotifyFormat::Wechat => "text/xml; charset=utf-8",
            _ => "application/json; charset=utf-8",
        }
    }

    /// Whether the merchant's answer is the channel's exact acknowledgement.
    pub fn acknowledged(self, status: u16, body: &[u8]) -> bool {
        match self {
            NotifyFormat::Alipay => return crate::alipay::acknowledged(status, body),
            NotifyFormat::Wechat => return crate::wechat::acknowledged(status, body),
            _ => {}
        }
        if status != 200 {
            return false;
        }
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return false;
        };
        let code = v.get("code");
        match self {
            NotifyFormat::LakalaBackend => code == Some(&json!("000000")),
            NotifyFormat::LakalaLabs | NotifyFormat::LakalaCounter => code == Some(&json!("SUCCESS")),
            NotifyFormat::Cashdesk => code.and_then(Value::as_i64) == Some(1000) && code.is_some_and(Value::is_i64),
            NotifyFormat::Alipay | NotifyFormat::Wechat => false,
        }
    }
}

/// What an on-demand notify spoils on purpose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Forge {
    /// A genuine notify.
    #[default]
    None,
    /// Signed, then the signature spoiled (signed channels only).
    BadSignature,
    /// Correctly signed, but the amount is one fen more than the order's.
    WrongAmount,
}

/// Why a notify was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NotifyCause {
    /// The order became paid.
    Paid,
    /// `POST /admin/notify` (or [`crate::Sandbox::send_notify`]).
    Admin,
}

/// One delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyAttempt {
    pub at_ms: i64,
    /// The exact body sent.
    pub body: String,
    /// The `Authorization` header sent (lakala direct).
    pub authorization: Option<String>,
    /// The merchant's HTTP status, if it answered.
    pub http_status: Option<u16>,
    /// The start of the merchant's answer.
    pub reply: Option<String>,
    /// Why no answer came (connection refused, timeout…).
    pub error: Option<String>,
    pub acknowledged: bool,
}

/// One notify and its attempts (`GET /admin/notifies`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyRecord {
    pub id: u64,
    pub channel: String,
    pub order_no: String,
    pub url: String,
    pub format: NotifyFormat,
    pub forge: Forge,
    pub cause: NotifyCause,
    pub attempts: Vec<NotifyAttempt>,
    /// An attempt was acknowledged.
    pub acknowledged: bool,
    /// No more attempts will be made (acknowledged, or the schedule is over).
    pub finished: bool,
}

/// A notify sent on demand (`POST /admin/notify`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotifyRequest {
    pub order_no: String,
    /// The order's channel; the most recent order with this number when absent.
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub forge: Forge,
    /// Where to send it instead of the order's notify address.
    #[serde(default)]
    pub url: Option<String>,
    /// Follow the channel's retry schedule until acknowledged (default: one attempt).
    #[serde(default)]
    pub retry: bool,
}

#[derive(Clone, Debug)]
struct Job {
    id: u64,
    format: NotifyFormat,
    url: String,
    order: Order,
    forge: Forge,
}

#[derive(Debug, Default)]
struct Book {
    next_id: u64,
    records: Vec<NotifyRecord>,
    jobs: HashMap<u64, Job>,
}

/// The record of notifies, and the client that sends them.
#[derive(Debug)]
pub struct Notifier {
    book: Mutex<Book>,
    client: reqwest::Client,
    /// Jobs whose retries continue in the dispatcher.
    retries: UnboundedSender<u64>,
}

impl Notifier {
    pub fn new(retries: UnboundedSender<u64>) -> Result<Notifier, String> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(ATTEMPT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the notify client: {e}"))?;
        Ok(Notifier { book: Mutex::new(Book::default()), client, retries })
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every notify so far, oldest first.
    pub fn records(&self) -> Vec<NotifyRecord> {
        self.book().records.clone()
    }

    fn record(&self, id: u64) -> Option<NotifyRecord> {
        self.book().records.iter().find(|r| r.id == id).cloned()
    }

    fn open(&self, format: NotifyFormat, url: String, order: Order, forge: Forge, cause: NotifyCause) -> Job {
        let mut book = self.book();
        book.next_id += 1;
        let id = book.next_id;
        book.records.push(NotifyRecord {
            id,
            channel: order.channel.clone(),
            order_no: order.order_no.clone(),
            url: url.clone(),
            format,
            forge,
            cause,
            attempts: Vec::new(),
            acknowledged: false,
            finished: false,
        });
        let job = Job { id, format, url, order, forge };
        book.jobs.insert(id, job.clone());
        job
    }

    fn add_attempt(&self, id: u64, attempt: NotifyAttempt, last: bool) {
        let mut book = self.book();
        if let Some(r) = book.records.iter_mut().find(|r| r.id == id) {
            r.acknowledged |= attempt.acknowledged;
            r.attempts.push(attempt);
            r.finished |= last;
        }
        if last {
            book.jobs.remove(&id);
        }
    }

    fn finish(&self, id: u64) {
        let mut book = self.book();
        if let Some(r) = book.records.iter_mut().find(|r| r.id == id) {
            r.finished = true;
        }
        book.jobs.remove(&id);
    }
}

// ---------------------------------------------------------------- building

/// The body and `Authorization` header of one attempt, signed now.
fn build(app: &App, job: &Job, now: i64) -> (Vec<u8>, Option<String>) {
    let order = &job.order;
    let amount = order.amount_fen + i64::from(job.forge == Forge::WrongAmount);
    let bad_signature = job.forge == Forge::BadSignature;
    let paid_at = order.paid_ms.unwrap_or(now);
    let value = match job.format {
        NotifyFormat::Cashdesk => return (crate::cashdesk::notify_body(app, order, amount, now, bad_signature), None),
        NotifyFormat::Alipay => return (crate::alipay::notify_body(app, order, amount, now, bad_signature), None),
        NotifyFormat::Wechat => return (crate::wechat::notify_body(app, order, amount, bad_signature), None),
        NotifyFormat::LakalaBackend => json!({
            "out_order_no": order.order_no,
            "pay_order_no": order.transaction_id,
            "order_status": "SUCCESS",
            "total_amount": amount.to_string(),
            "resp_time": stamp(now),
        }),
        NotifyFormat::LakalaLabs => json!({
            "merchant_no": order.merchant_id,
            "out_trade_no": order.order_no,
            "trade_no": order.transaction_id,
            "trade_status": "SUCCESS",
            "total_amount": amount.to_string(),
            "trade_time": stamp(paid_at),
            "account_type": order.method.clone().unwrap_or_default(),
        }),
        NotifyFormat::LakalaCounter => json!({
            "out_order_no": order.order_no,
            "merchant_no": order.merchant_id,
            "order_status": 2,
            "total_amount": amount,
            "pay_order_no": order.transaction_id,
        }),
    };
    let body = serde_json::to_vec(&value).unwrap_or_default();
    if !job.format.signed() {
        return (body, None);
    }
    let timestamp = (now / 1000).to_string();
    let nonce = app.lakala.nonce();
    let mut signature =
        app.lakala.platform_sign(&sign::lakala_message(&[timestamp.as_bytes(), nonce.as_bytes(), &body]));
    if bad_signature {
        signature = sign::corrupt_signature(&signature);
    }
    let auth = format!(r#"{LKLAPI_SCHEME} timestamp="{timestamp}",nonce_str="{nonce}",signature="{signature}""#);
    (body, Some(auth))
}

async fn attempt(app: &App, job: &Job) -> NotifyAttempt {
    let at_ms = app.now_ms();
    let (body, authorization) = build(app, job, at_ms);
    let mut req =
        app.notifier.client.post(&job.url).header(header::CONTENT_TYPE, job.format.content_type()).body(body.clone());
    if let Some(auth) = &authorization {
        req = req.header(header::AUTHORIZATION, auth);
    }
    let mut out = NotifyAttempt {
        at_ms,
        body: String::from_utf8_lossy(&body).into_owned(),
        authorization,
        http_status: None,
        reply: None,
        error: None,
        acknowledged: false,
    };
    match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            out.http_status = Some(status);
            match resp.bytes().await {
                Ok(bytes) => {
                    out.acknowledged = job.format.acknowledged(status, &bytes);
                    let text = String::from_utf8_lossy(&bytes);
                    out.reply = Some(text.chars().take(REPLY_KEEP).collect());
                }
                Err(e) => out.error = Some(format!("reading the answer: {e}")),
            }
        }
        Err(e) => out.error = Some(e.to_string()),
    }
    tracing::info!(
        id = job.id,
        order_no = %job.order.order_no,
        url = %job.url,
        status = ?out.http_status,
        error = ?out.error,
        acknowledged = out.acknowledged,
        "notify attempt"
    );
    out
}

/// Attempts `start..` of a job's schedule (attempt 0 at once, attempt i after the
/// i-th delay), until one is acknowledged.
async fn deliver(app: Arc<App>, job: Job, start: usize) {
    let schedule = job.format.schedule_s();
    for i in start..=schedule.len() {
        if let Some(delay) = i.checked_sub(1).and_then(|k| schedule.get(k)) {
            tokio::time::sleep(app.scaled(Duration::from_secs(*delay))).await;
        }
        let a = attempt(&app, &job).await;
        let acknowledged = a.acknowledged;
        app.notifier.add_attempt(job.id, a, acknowledged || i == schedule.len());
        if acknowledged {
            return;
        }
    }
    app.notifier.finish(job.id);
}

/// Sends the notifies of newly paid orders and continues on-demand ones with retries,
/// until the sandbox stops (pending retries are dropped then).
pub async fn run(
    app: Arc<App>,
    mut paid: UnboundedReceiver<Order>,
    mut retries: UnboundedReceiver<u64>,
    mut stop: watch::Receiver<bool>,
) {
    let mut deliveries = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(order) = paid.recv() => {
                let Some(format) = NotifyFormat::of(&order) else { continue };
                let Some(url) = order.notify_url.clone() else { continue };
                let job = app.notifier.open(format, url, order, Forge::None, NotifyCause::Paid);
                deliveries.spawn(deliver(app.clone(), job, 0));
            }
            Some(id) = retries.recv() => {
                let job = app.notifier.book().jobs.get(&id).cloned();
                if let Some(job) = job {
                    deliveries.spawn(deliver(app.clone(), job, 1));
                }
            }
            Some(_) = deliveries.join_next(), if !deliveries.is_empty() => {}
        }
    }
    deliveries.shutdown().await;
}

/// Sends a notify now (one attempt, answered with the record), then, with `retry`,
/// keeps retrying on the schedule in the background.
pub async fn send_now(app: &Arc<App>, req: NotifyRequest) -> Result<NotifyRecord, (StatusCode, String)> {
    let order = app.store.with(|st, _| match &req.channel {
        Some(channel) => st.order(channel, &req.order_no).cloned(),
        None => st.find_by_no(&req.order_no).cloned(),
    });
    let Some(order) = order else {
        return Err((StatusCode::NOT_FOUND, format!("no order {}", req.order_no)));
    };
    let Some(format) = NotifyFormat::of(&order) else {
        return Err((StatusCode::CONFLICT, format!("channel {} sends no notify for this order", order.channel)));
    };
    if req.forge == Forge::BadSignature && !format.signed() {
        return Err((StatusCode::BAD_REQUEST, "the lakala backend's notify is unsigned: no signature to spoil".into()));
    }
    let Some(url) = req.url.clone().or_else(|| order.notify_url.clone()) else {
        return Err((StatusCode::CONFLICT, "the order has no notify address: give \"url\"".into()));
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err((StatusCode::BAD_REQUEST, format!("not an http(s) address: {url}")));
    }
    let job = app.notifier.open(format, url, order, req.forge, NotifyCause::Admin);
    let a = attempt(app, &job).await;
    let last = a.acknowledged || !req.retry;
    app.notifier.add_attempt(job.id, a, last);
    if !last && app.notifier.retries.send(job.id).is_err() {
        app.notifier.finish(job.id);
    }
    app.notifier.record(job.id).ok_or((StatusCode::INTERNAL_SERVER_ERROR, "the record vanished".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgements_are_exact() {
        use NotifyFormat::*;
        assert!(LakalaLabs.acknowledged(200, r#"{"code":"SUCCESS","message":"执行成功"}"#.as_bytes()));
        assert!(!LakalaLabs.acknowledged(201, br#"{"code":"SUCCESS"}"#));
        assert!(!LakalaLabs.acknowledged(200, br#"{"code":"success"}"#));
        assert!(!LakalaLabs.acknowledged(200, b"SUCCESS"));
        assert!(LakalaCounter.acknowledged(200, br#"{"code":"SUCCESS"}"#));
        assert!(LakalaBackend.acknowledged(200, br#"{"code":"000000","msg":"ok"}"#));
        assert!(!LakalaBackend.acknowledged(200, br#"{"code":0}"#));
        assert!(Cashdesk.acknowledged(200, r#"{"code":1000,"msg":"操作成功"}"#.as_bytes()));
        assert!(!Cashdesk.acknowledged(200, br#"{"code":"1000"}"#));
        assert!(!Cashdesk.acknowledged(200, br#"{"code":1000.0}"#));
        assert!(!Cashdesk.acknowledged(500, br#"{"code":1000}"#));
    }

    #[test]
    fn schedules_are_the_channels() {
        let total: u64 = NotifyFormat::Cashdesk.schedule_s().iter().sum();
        assert_eq!(total, 24 * 3600 + 4 * 60);
        assert_eq!(NotifyFormat::Wechat.schedule_s(), NotifyFormat::Cashdesk.schedule_s());
        // Alipay: 8 attempts within 25 h (the first at once, then 7 retries).
        let total: u64 = NotifyFormat::Alipay.schedule_s().iter().sum();
        assert_eq!((NotifyFormat::Alipay.schedule_s().len(), total), (7, 24 * 3600 + 22 * 60));
        assert_eq!(NotifyFormat::LakalaLabs.schedule_s().len(), 10);
        assert_eq!(NotifyFormat::LakalaBackend.schedule_s(), NotifyFormat::LakalaCounter.schedule_s());
    }

    #[test]
    fn requests_read_with_defaults() {
        let r: NotifyRequest = serde_json::from_str(r#"{"orderNo":"A1","forge":"wrongAmount"}"#).unwrap_or_default();
        assert_eq!(r.order_no, "A1");
        assert_eq!(r.forge, Forge::WrongAmount);
        assert!(!r.retry);
        assert!(serde_json::from_str::<NotifyRequest>(r#"{"orderNo":"A1","forge":"nope"}"#).is_err());
        assert!(serde_json::from_str::<NotifyRequest>(r#"{"orderNo":"A1","retries":true}"#).is_err());
    }
}
