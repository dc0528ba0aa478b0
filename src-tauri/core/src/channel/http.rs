//! The HTTP transport every channel shares. It tells apart the two failures that matter for
//! money: the request never left (connection not made: nothing can have been charged) and the
//! request left but the answer was lost (anything may have happened).

use crate::config::HttpSettings;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub(crate) enum Transport {
    Answered { status: u16, headers: reqwest::header::HeaderMap, body: Vec<u8> },
    NotSent(String),
    Lost(String),
}

pub(crate) struct HttpClient {
    client: reqwest::Client,
    base: String,
}

/// How much of a reply body the audit trail keeps.
const AUDIT_BODY_LIMIT: usize = 4096;

/// A channel's answer is a few KiB. A bigger body is not one (a proxy's page, a broken or hostile
/// peer): it is not read into memory, and the answer counts as lost (unknown, then queried).
const MAX_REPLY_BYTES: usize = 1 << 20;

/// A statement (a day's bill) is bigger.
const MAX_STATEMENT_BYTES: usize = super::MAX_STATEMENT_BYTES as usize;

/// A statement download may take longer than a payment call's timeout allows.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(120);

/// What a mutual-TLS call adds to the connection: the merchant's client certificate, and a CA
/// to trust besides the system's (a test gateway only).
#[derive(Default)]
pub(crate) struct Tls {
    pub identity: Option<reqwest::Identity>,
    pub extra_root: Option<reqwest::Certificate>,
}

impl HttpClient {
    pub fn new(settings: &HttpSettings) -> Result<HttpClient, String> {
        Self::with_tls(settings, Tls::default())
    }

    pub fn with_tls(settings: &HttpSettings, tls: Tls) -> Result<HttpClient, String> {
        let mut builder = reqwest::Client::builder();
        if let Some(identity) = tls.identity {
            builder = builder.identity(identity);
        }
        if let Some(root) = tls.extra_root {
            builder = builder.add_root_certificate(root);
        }
        let client = builder
            .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
            .timeout(Duration::from_millis(settings.request_timeout_ms))
            // The base URL is the whole truth about where money requests go: no proxy from the
            // environment silently in between.
            .no_proxy()
            // A redirect would carry the request (payment code included) to a host the config
            // never named; a 3xx is read as "unknown" instead.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("paydesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| innermost(&e))?;
        Ok(HttpClient { client, base: settings.base_url.trim_end_matches('/').to_string() })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path))
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path))
    }

    /// Sends and reads the whole body. Returns the transport result and the elapsed time.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> (Transport, Duration) {
        self.send_limited(request, MAX_REPLY_BYTES).await
    }

    async fn send_limited(&self, request: reqwest::RequestBuilder, limit: usize) -> (Transport, Duration) {
        let started = Instant::now();
        let transport = match request.send().await {
            Err(e) if e.is_connect() => Transport::NotSent(describe(&e)),
            Err(e) => Transport::Lost(describe(&e)),
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let mut body = Vec::new();
                loop {
                    match resp.chunk().await {
                        Ok(Some(chunk)) if body.len() + chunk.len() > limit => {
                            break Transport::Lost(format!(
                                "HTTP {status}, a reply over {} KiB: not read",
                                limit / 1024
                            ));
                        }
                        Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                        Ok(None) => break Transport::Answered { status, headers, body },
                        Err(e) => break Transport::Lost(format!("HTTP {status}, body lost: {}", describe(&e))),
                    }
                }
            }
        };
        (transport, started.elapsed())
    }
}

/// One exchange: what came back, its audit record, and the time on the wire.
pub(crate) struct Exchange {
    pub transport: Transport,
    pub audit: Value,
    pub elapsed: Duration,
}

impl HttpClient {
    /// Sends, and keeps the audit record with `secret` (a payment code) masked wherever it appears.
    pub async fn exchange(
        &self,
        call: &str,
        request: reqwest::RequestBuilder,
        body: Option<&str>,
        secret: Option<&str>,
    ) -> Exchange {
        let (transport, elapsed) = self.send(request).await;
        let scrub = |text: &str| match secret {
            Some(code) if !code.is_empty() => text.replace(code, &crate::paycode::mask(code)),
            _ => text.to_string(),
        };
        let audit = audit(call, body, &transport, elapsed, &scrub);
        Exchange { transport, audit, elapsed }
    }

    /// A statement: `request` (built by the caller, to the base URL or to a URL the channel
    /// signed) read up to a statement's size, with a statement's timeout.
    pub async fn statement(&self, call: &str, request: reqwest::RequestBuilder, body: Option<&str>) -> Exchange {
        let (transport, elapsed) = self.send_limited(request.timeout(STATEMENT_TIMEOUT), MAX_STATEMENT_BYTES).await;
        let audit = audit(call, body, &transport, elapsed, &|text: &str| text.to_string());
        Exchange { transport, audit, elapsed }
    }

    /// A GET of an absolute URL (a download link a signed reply gave).
    pub fn get_url(&self, url: &str) -> reqwest::RequestBuilder {
        self.client.get(url)
    }
}

/// A 2xx answer's body, or why the exchange says nothing about the call.
pub(crate) enum Answer {
    Body(Vec<u8>),
    NotSent(String),
    Unknown(String),
}

impl Transport {
    /// For channels whose every answer is a 2xx: a 3xx, 4xx or 5xx may be a proxy's or a crash's.
    pub(crate) fn body_2xx(self) -> Answer {
        match self {
            Transport::NotSent(why) => Answer::NotSent(why),
            Transport::Lost(why) => Answer::Unknown(why),
            Transport::Answered { status, body, .. } if (200..300).contains(&status) => Answer::Body(body),
            Transport::Answered { status, body, .. } => Answer::Unknown(format!("HTTP {status}: {}", excerpt(&body))),
        }
    }
}

/// The first 200 characters of a body, for a reason text.
pub(crate) fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(200).collect()
}

/// A request that could not even be encoded: nothing left.
pub(crate) fn not_encoded(call: &str, e: impl std::fmt::Display) -> Exchange {
    let why = format!("cannot encode request: {e}");
    Exchange {
        audit: json!({ "call": call, "not_sent": why }),
        transport: Transport::NotSent(why),
        elapsed: Duration::ZERO,
    }
}

/// The deepest cause of an error: reqwest's own text ("builder error") says nothing.
fn innermost(e: &dyn std::error::Error) -> String {
    let mut source = e;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "reply cut off"
    } else {
        "transport error"
    };
    format!("{kind}: {}", innermost(e))
}

/// The audit record of one exchange. `scrub` masks what must not be stored (payment codes).
pub(crate) fn audit(
    call: &str,
    request: Option<&str>,
    transport: &Transport,
    elapsed: Duration,
    scrub: &dyn Fn(&str) -> String,
) -> Value {
    let request = request.map(|r| Value::String(scrub(r)));
    let elapsed_ms = elapsed.as_millis();
    match transport {
        Transport::Answered { status, body, .. } => {
            // A character is at most 4 bytes: more than this is never kept (a statement is MiBs).
            let head = &body[..body.len().min(AUDIT_BODY_LIMIT * 4)];
            let text = String::from_utf8_lossy(head);
            let mut cut: String = text.chars().take(AUDIT_BODY_LIMIT).collect();
            if cut.len() < body.len() {
                cut.push('…');
            }
            json!({ "call": call, "request": request, "status": status, "body": scrub(&cut), "ms": elapsed_ms })
        }
        Transport::NotSent(why) => json!({ "call": call, "request": request, "not_sent": why, "ms": elapsed_ms }),
        Transport::Lost(why) => json!({ "call": call, "request": request, "lost": why, "ms": elapsed_ms }),
    }
}

#[cfg(test)]
mod reply_size_tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A peer on loopback that answers every request with `body_len` bytes.
    async fn peer(body_len: usize) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let head =
                    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {body_len}\r\n\r\n");
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&vec![b'7'; body_len]).await;
            }
        });
        format!("http://{addr}")
    }

    fn client(base_url: String) -> HttpClient {
        let settings =
            HttpSettings { base_url, connect_timeout_ms: 500, request_timeout_ms: 5_000, allow_insecure_http: true };
        HttpClient::new(&settings).unwrap()
    }

    #[tokio::test]
    async fn a_reply_over_the_limit_is_lost_not_read_and_one_under_it_is_read() {
        let big = client(peer(MAX_REPLY_BYTES + 1).await);
        let (t, _) = big.send(big.get("/")).await;
        assert!(matches!(&t, Transport::Lost(why) if why.contains("not read")));
        let fits = client(peer(MAX_REPLY_BYTES).await);
        let (t, _) = fits.send(fits.get("/")).await;
        assert!(matches!(&t, Transport::Answered { status: 200, body, .. } if body.len() == MAX_REPLY_BYTES));
    }
}
