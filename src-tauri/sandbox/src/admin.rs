//! Admin endpoints on loopback only: the truth (every charge and refund), the fault
//! switches, the statements' faults, and the notifies (the record of every attempt; sending one
//! on demand).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::bills::BillFaults;
use crate::faults::Faults;
use crate::notify::{self, NotifyRequest};
use crate::{json_response, App};

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/admin/truth", get(truth))
        .route("/admin/faults", get(get_faults).post(set_faults))
        .route("/admin/bill-faults", get(get_bill_faults).post(set_bill_faults))
        .route("/admin/notifies", get(notifies))
        .route("/admin/notify", post(send_notify))
        .layer(middleware::from_fn(loopback_only))
}

/// Whether a peer may use the admin endpoints: loopback only (an IPv4-mapped IPv6
/// loopback address counts).
pub fn is_loopback(peer: &SocketAddr) -> bool {
    peer.ip().to_canonical().is_loopback()
}

async fn loopback_only(req: Request, next: Next) -> Response {
    let allowed = req.extensions().get::<ConnectInfo<SocketAddr>>().is_some_and(|ConnectInfo(peer)| is_loopback(peer));
    if allowed {
        next.run(req).await
    } else {
        (StatusCode::FORBIDDEN, "admin endpoints answer only on loopback\n").into_response()
    }
}

async fn truth(State(app): State<Arc<App>>) -> Response {
    json_response(StatusCode::OK, &app.truth())
}

/// Every notify and its attempts; `?orderNo=` keeps one order's.
async fn notifies(State(app): State<Arc<App>>, Query(params): Query<HashMap<String, String>>) -> Response {
    let mut records = app.notifier.records();
    if let Some(no) = params.get("orderNo") {
        records.retain(|r| &r.order_no == no);
    }
    json_response(StatusCode::OK, &records)
}

/// Sends a notify now: `{"orderNo", "channel"?, "forge"?: "none"|"badSignature"|"wrongAmount",
/// "url"?, "retry"?: false}` → the record after the first attempt.
async fn send_notify(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let req: NotifyRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return json_response(StatusCode::BAD_REQUEST, &serde_json::json!({ "error": format!("bad request: {e}") }))
        }
    };
    match notify::send_now(&app, req).await {
        Ok(record) => json_response(StatusCode::OK, &record),
        Err((status, error)) => json_response(status, &serde_json::json!({ "error": error })),
    }
}

async fn get_faults(State(app): State<Arc<App>>) -> Response {
    json_response(StatusCode::OK, &app.faults.get())
}

async fn set_faults(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let faults: Faults = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => {
            return json_response(StatusCode::BAD_REQUEST, &serde_json::json!({ "error": format!("bad faults: {e}") }))
        }
    };
    if let Err(e) = faults.validate() {
        return json_response(StatusCode::BAD_REQUEST, &serde_json::json!({ "error": e }));
    }
    tracing::info!(?faults, "faults set");
    let reply = json_response(StatusCode::OK, &faults);
    app.faults.set(faults);
    reply
}

async fn get_bill_faults(State(app): State<Arc<App>>) -> Response {
    json_response(StatusCode::OK, &app.bills.faults())
}

/// The statements' faults: [`BillFaults`] as camelCase JSON (absent fields: none, fee 60 bp);
/// an unknown field or a bad value is refused with 400.
async fn set_bill_faults(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let faults: BillFaults = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({ "error": format!("bad bill faults: {e}") }),
            )
        }
    };
    if let Err(e) = faults.validate() {
        return json_response(StatusCode::BAD_REQUEST, &serde_json::json!({ "error": e }));
    }
    tracing::info!(?faults, "bill faults set");
    let reply = json_response(StatusCode::OK, &faults);
    app.bills.set_faults(faults);
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_peers_are_admins() {
        let ok = |s: &str| is_loopback(&s.parse::<SocketAddr>().unwrap_or_else(|e| panic!("{s}: {e}")));
        assert!(ok("127.0.0.1:5000"));
        assert!(ok("127.8.9.10:5000"));
        assert!(ok("[::1]:5000"));
        assert!(ok("[::ffff:127.0.0.1]:5000"));
        assert!(!ok("192.168.1.20:5000"));
        assert!(!ok("10.0.0.1:5000"));
        assert!(!ok("0.0.0.0:5000"));
        assert!(!ok("[::ffff:192.168.1.20]:5000"));
        assert!(!ok("[fe80::1]:5000"));
    }
}
