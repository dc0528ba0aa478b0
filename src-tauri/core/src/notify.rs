//! The notify receiver: a local HTTP listener (off by default) for stores whose channels can reach
//! them. `POST /notify/{channel}`; what a notify may change is decided in `engine/notice.rs`.
//! Each channel gets the acknowledgement in its own format when the notify was taken, HTTP 400
//! when it was refused (the channel retries; a forger only gets more refusals), and HTTP 503 when
//! the query it called for got no answer (the channel retries, and the news is not lost).

use crate::engine::{Cashier, NoticeTaken};
use crate::listener;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use std::net::SocketAddr;
use std::time::Duration;

/// Notify bodies are small JSON objects; anything bigger is not one.
const BODY_LIMIT: usize = 64 * 1024;

/// A channel sends one notify per connection, or a few on a kept-alive one: 256 connections
/// serve any store, and a flood of idle or slow ones gives each back within 10 s.
pub(crate) const LIMITS: listener::Limits = listener::Limits {
    max_connections: 256,
    header_timeout: Duration::from_secs(10),
    body_timeout: Duration::from_secs(10),
    body_limit: BODY_LIMIT,
    refuse,
};

fn refuse(why: listener::BodyRefused) -> Response {
    let (status, text) = match why {
        listener::BodyRefused::Slow => (StatusCode::REQUEST_TIMEOUT, "the body did not arrive in time"),
        listener::BodyRefused::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "the body is too large"),
        listener::BodyRefused::Broken => (StatusCode::BAD_REQUEST, "the body could not be read"),
    };
    (status, text).into_response()
}

pub fn router(cashier: Cashier) -> Router {
    Router::new().route("/notify/{channel}", post(receive)).layer(DefaultBodyLimit::max(BODY_LIMIT)).with_state(cashier)
}

/// Binds `listen` and serves until the runtime stops. Returns the bound address.
pub async fn serve(cashier: Cashier, listen: &str) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let addr: SocketAddr =
        listen.parse().map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "notify.listen"))?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tracing::info!(%bound, "notify receiver listening");
    let task = tokio::spawn(listener::serve(listener, router(cashier), LIMITS, "notify"));
    Ok((bound, task))
}

async fn receive(
    State(cashier): State<Cashier>,
    Path(channel): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let taken = cashier.take_notify(&channel, authorization, &body).await;
    tracing::info!(channel = %channel, outcome = ?taken, "notify");
    match taken {
        NoticeTaken::Refused(why) => (StatusCode::BAD_REQUEST, why).into_response(),
        // Trusted but not yet settled by a query: the channel sends it again on its schedule.
        NoticeTaken::Retry(why) => (StatusCode::SERVICE_UNAVAILABLE, why).into_response(),
        _ => {
            let ack = cashier.channel(&channel).map(|c| c.notify_ack()).unwrap_or_default();
            ([(header::CONTENT_TYPE, "application/json")], ack).into_response()
        }
    }
}
