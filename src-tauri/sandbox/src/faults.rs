//! Injected faults, applied to every channel call (not to the admin endpoints or
//! the customer page).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::money::format_yuan;
use crate::server::ConnCtl;
use crate::state::{BarcodeOutcome, Delivery, Order};
use crate::App;

/// The faults switched on (`GET`/`POST /admin/faults`). Percentages are 0–100.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Faults {
    /// Only calls whose path ends with this (`/counter/close`) get the faults; all when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub only_path: Option<String>,
    /// Added before every channel reply.
    pub latency_ms: u64,
    /// HTTP 503 without processing the call.
    pub fail_before_percent: u8,
    /// The call is processed (charges happen), then HTTP 500.
    pub fail_after_percent: u8,
    /// The call is processed, then the connection drops.
    pub drop_after_percent: u8,
    /// The call is processed, then the body is garbled (truncated).
    pub garble_percent: u8,
    /// The call is processed, then the reply's signature is spoiled (lakala direct's
    /// `Lklapi-Signature` header, the cashdesk's signed block, Alipay's `sign`, WeChat's
    /// `<sign>`); unsigned replies pass as they are.
    pub bad_signature_percent: u8,
}

/// How many faults were injected since the start, by kind (the chaos harness reports them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Injected {
    pub delayed: u64,
    pub fail_before: u64,
    pub fail_after: u64,
    pub drop_after: u64,
    pub garble: u64,
    pub bad_signature: u64,
}

impl Injected {
    pub fn total(&self) -> u64 {
        self.delayed + self.fail_before + self.fail_after + self.drop_after + self.garble + self.bad_signature
    }
}

impl Faults {
    /// A percentage above 100 is refused by the admin endpoint.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("failBeforePercent", self.fail_before_percent),
            ("failAfterPercent", self.fail_after_percent),
            ("dropAfterPercent", self.drop_after_percent),
            ("garblePercent", self.garble_percent),
            ("badSignaturePercent", self.bad_signature_percent),
        ] {
            if v > 100 {
                return Err(format!("{name} must be 0..=100, not {v}"));
            }
        }
        Ok(())
    }
}

/// The faults in force and the seeded generator that decides each roll.
#[derive(Debug)]
pub struct FaultSwitch {
    inner: Mutex<(Faults, fastrand::Rng)>,
    injected: Mutex<Injected>,
}

impl FaultSwitch {
    pub fn new(seed: u64) -> FaultSwitch {
        FaultSwitch {
            inner: Mutex::new((Faults::default(), fastrand::Rng::with_seed(seed))),
            injected: Mutex::new(Injected::default()),
        }
    }

    pub fn injected(&self) -> Injected {
        *self.injected.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn count(&self, kind: impl FnOnce(&mut Injected) -> &mut u64) {
        *kind(&mut self.injected.lock().unwrap_or_else(PoisonError::into_inner)) += 1;
    }

    pub fn get(&self) -> Faults {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).0.clone()
    }

    pub fn set(&self, faults: Faults) {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).0 = faults;
    }

    /// True with probability `percent` %. Draws nothing for 0 % or ≥ 100 %, so a run
    /// without faults leaves the sequence untouched.
    fn roll(&self, percent: u8) -> bool {
        match percent {
            0 => false,
            100.. => true,
            p => {
                let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
                inner.1.u8(0..100) < p
            }
        }
    }
}

/// The first half of a body, cut on a character boundary: truncated JSON.
pub fn garble(body: &[u8]) -> Vec<u8> {
    let mut cut = body.len() / 2;
    if let Ok(text) = std::str::from_utf8(body) {
        while cut > 0 && !text.is_char_boundary(cut) {
            cut -= 1;
        }
    }
    let mut out = body.get(..cut).unwrap_or_default().to_vec();
    if out.is_empty() {
        out.extend_from_slice(b"{\"");
    }
    out
}

/// A reply whose JSON body is cut in half (same status and headers).
pub async fn garbled(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(garble(&bytes)))
}

pub fn server_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"message":"Internal Server Error"}"#,
    )
        .into_response()
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"message":"Service Unavailable"}"#,
    )
        .into_response()
}

/// Scenario 94: the pay call hangs past the client's timeout, then its connection drops.
pub async fn hang(app: &App, ctl: &ConnCtl, call: &str, order_no: &str) -> Response {
    tracing::info!(order_no, "{call}: hanging (scenario 94)");
    tokio::time::sleep(app.hang).await;
    ctl.drop_connection();
    StatusCode::GATEWAY_TIMEOUT.into_response()
}

/// A barcode payment as started: its order and how its reply goes (logged as `call`), or the
/// response instead: the channel's refusal (`outcome`'s error), or for scenario 94 the dropped
/// connection once it has hung.
pub async fn started(
    app: &App,
    ctl: &ConnCtl,
    call: &str,
    order_no: &str,
    outcome: Result<BarcodeOutcome, Response>,
) -> Result<(Box<Order>, Delivery), Response> {
    match outcome? {
        BarcodeOutcome::Hang => Err(hang(app, ctl, call, order_no).await),
        BarcodeOutcome::Done { order, delivery } => {
            tracing::info!(
                order_no = %order.order_no,
                amount = %format_yuan(order.amount_fen),
                status = ?order.status,
                ?delivery,
                "{call}"
            );
            Ok((order, delivery))
        }
    }
}

/// How a barcode scenario's unsigned reply reaches the client (normal, dropped, 500, garbled).
pub async fn deliver(delivery: Delivery, ctl: &ConnCtl, resp: Response) -> Response {
    match delivery {
        Delivery::Normal => resp,
        Delivery::DropConnection => {
            ctl.drop_connection();
            resp
        }
        Delivery::ServerError => server_error(),
        Delivery::Garbled => garbled(resp).await,
    }
}

/// Middleware over the channel routes.
pub async fn apply(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    {
        let mut calls = app.calls.lock().unwrap_or_else(PoisonError::into_inner);
        *calls.entry(req.uri().path().to_owned()).or_default() += 1;
    }
    let faults = app.faults.get();
    if faults.only_path.as_deref().is_some_and(|only| !req.uri().path().ends_with(only)) {
        return next.run(req).await;
    }
    let ctl = req.extensions().get::<ConnCtl>().cloned();
    let latency = Duration::from_millis(faults.latency_ms);
    if !latency.is_zero() {
        app.faults.count(|i| &mut i.delayed);
    }
    if app.faults.roll(faults.fail_before_percent) {
        tokio::time::sleep(latency).await;
        tracing::info!("fault: failBefore → 503");
        app.faults.count(|i| &mut i.fail_before);
        return unavailable();
    }
    let resp = next.run(req).await;
    if ctl.as_ref().is_some_and(ConnCtl::is_dropped) {
        return resp;
    }
    tokio::time::sleep(latency).await;
    if app.faults.roll(faults.fail_after_percent) {
        tracing::info!("fault: failAfter → 500");
        app.faults.count(|i| &mut i.fail_after);
        return server_error();
    }
    if app.faults.roll(faults.drop_after_percent) {
        if let Some(ctl) = &ctl {
            tracing::info!("fault: dropAfter → connection dropped");
            app.faults.count(|i| &mut i.drop_after);
            ctl.drop_connection();
            return resp;
        }
    }
    if app.faults.roll(faults.garble_percent) {
        tracing::info!("fault: garble");
        app.faults.count(|i| &mut i.garble);
        return garbled(resp).await;
    }
    if app.faults.roll(faults.bad_signature_percent) {
        let (resp, spoiled) = spoil_signature(resp).await;
        if spoiled {
            tracing::info!("fault: bad signature");
            app.faults.count(|i| &mut i.bad_signature);
        }
        return resp;
    }
    resp
}

/// The reply with its signature spoiled: lakala direct's `Lklapi-Signature` header, else
/// Alipay's `sign` or WeChat's `<sign>`, else the cashdesk's `data.signature.signature`. False
/// when the reply carries no signature.
async fn spoil_signature(resp: Response) -> (Response, bool) {
    const HEADER: &str = "lklapi-signature";
    let (mut parts, body) = resp.into_parts();
    if let Some(sig) = parts.headers.get(HEADER).and_then(|v| v.to_str().ok()) {
        let spoiled = crate::sign::corrupt_signature(sig);
        if let Ok(value) = header::HeaderValue::from_str(&spoiled) {
            parts.headers.insert(HEADER, value);
            return (Response::from_parts(parts, body), true);
        }
    }
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    if let Some(spoiled) = crate::alipay::spoil_reply(&bytes).or_else(|| crate::wechat::spoil_reply(&bytes)) {
        parts.headers.remove(header::CONTENT_LENGTH);
        return (Response::from_parts(parts, Body::from(spoiled)), true);
    }
    let mut json: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return (Response::from_parts(parts, Body::from(bytes)), false),
    };
    let Some(sig) = json.pointer_mut("/data/signature/signature") else {
        return (Response::from_parts(parts, Body::from(bytes)), false);
    };
    let spoiled = match sig.as_str() {
        Some(s) if s.starts_with('0') => format!("1{}", &s[1..]),
        Some(s) => format!("0{}", s.get(1..).unwrap_or_default()),
        None => "0".to_owned(),
    };
    *sig = serde_json::Value::String(spoiled);
    parts.headers.remove(header::CONTENT_LENGTH);
    (Response::from_parts(parts, Body::from(serde_json::to_vec(&json).unwrap_or_default())), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garble_cuts_on_char_boundary() {
        let body = r#"{"message":"支付成功","status":"SUCCESS"}"#.as_bytes();
        let g = garble(body);
        assert!(g.len() < body.len());
        assert!(std::str::from_utf8(&g).is_ok());
        assert!(serde_json::from_slice::<serde_json::Value>(&g).is_err());
        assert_eq!(garble(b""), b"{\"".to_vec());
    }

    #[test]
    fn rolls_are_reproducible() {
        let a = FaultSwitch::new(7);
        let b = FaultSwitch::new(7);
        let ra: Vec<bool> = (0..50).map(|_| a.roll(50)).collect();
        let rb: Vec<bool> = (0..50).map(|_| b.roll(50)).collect();
        assert_eq!(ra, rb);
        assert!(ra.iter().any(|x| *x) && ra.iter().any(|x| !*x));
        assert!(!a.roll(0));
        assert!(a.roll(100));
    }

    #[test]
    fn faults_parse_with_defaults() {
        let f: Faults = serde_json::from_str(r#"{"failAfterPercent":100}"#).unwrap_or_default();
        assert_eq!(f.fail_after_percent, 100);
        assert_eq!(f.latency_ms, 0);
        let bad = Faults { garble_percent: 101, ..Faults::default() };
        assert!(bad.validate().is_err());
    }
}
