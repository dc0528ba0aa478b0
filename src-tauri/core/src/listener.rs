//! The accept loop both listeners (the notify receiver, the terminal API) run on: HTTP/1.1 with a
//! deadline for a request's headers (an idle kept-alive connection included) and for its whole
//! body, and a cap on the connections each listener holds, so a flood of slow or idle connections
//! cannot hold one listener for long nor use up the file handles the other one and the ledger need.

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// What one listener allows a client.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections held at once; one more is closed as soon as it is accepted.
    pub max_connections: usize,
    /// From a connection's first byte, or the end of its last response, to the end of the next
    /// request's headers.
    pub header_timeout: Duration,
    /// From the end of the headers to the end of the body.
    pub body_timeout: Duration,
    /// The largest body read.
    pub body_limit: usize,
    /// The listener's answer, in its own format, to a body it did not read.
    pub refuse: fn(BodyRefused) -> Response,
}

/// Why a request's body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyRefused {
    /// Not all there within `body_timeout` (HTTP 408).
    Slow,
    /// More than `body_limit` (HTTP 413).
    TooLarge,
    /// The connection broke or the framing was wrong (HTTP 400).
    Broken,
}

/// Serves `app` on `listener` under `limits` until the runtime stops. `name` is for the logs.
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, name: &'static str) {
    raise_file_limit();
    let app = guarded(app, limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refused_logged_at = AtomicI64::new(0);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file handles, mostly: wait for some to be given back rather than spin.
                tracing::warn!(listener = name, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            let now = crate::ledger::now_ms();
            let last = refused_logged_at.load(Ordering::Relaxed);
            if now - last > 10_000
                && refused_logged_at.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
            {
                tracing::warn!(
                    listener = name,
                    max = limits.max_connections,
                    "connection cap reached; closing new connections"
                );
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = serve_connection(stream, app, limits).await {
                tracing::debug!(listener = name, error = %e, "connection ended");
            }
        });
    }
}

/// `app` behind the whole-body deadline every listener applies.
pub(crate) fn guarded(app: Router, limits: Limits) -> Router {
    app.layer(axum::middleware::from_fn(move |req: Request, next: Next| whole_body(limits, req, next)))
}

/// One connection of a `guarded` app, with the header deadline (the fuzz targets drive it too).
pub(crate) async fn serve_connection<I>(io: I, app: Router, limits: Limits) -> Result<(), hyper::Error>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(io), hyper_util::service::TowerToHyperService::new(app))
        .await
}

/// Reads the whole body within `limits.body_timeout` before the handler sees the request.
async fn whole_body(limits: Limits, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(limits.body_timeout, axum::body::to_bytes(body, limits.body_limit)).await {
        Ok(Ok(bytes)) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Ok(Err(e)) => {
            let too_large = std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            (limits.refuse)(if too_large { BodyRefused::TooLarge } else { BodyRefused::Broken })
        }
        Err(_) => (limits.refuse)(BodyRefused::Slow),
    }
}

/// Raises this process's soft limit on open files to its hard limit, once, as servers do: the
/// caps above then bound the listeners well inside it.
pub fn raise_file_limit() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open file limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open file limit"),
    });
}
