//! The HTTP transport every channel shares. It tells apart the two failures that matter for
//! money: the request never left (connection not made: nothing can have been charged) and the
//! request left but the answer was lost (anything may have happened).

use crate::config::HttpSettings;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub(crate) enum Transport {
    Answered { status: u16, body: Vec<u8> },
    NotSent(String),
    Lost(String),
}

pub(crate) struct HttpClient {
    client: reqwest::Client,
    base: String,
}

/// How much of a reply body the audit trail keeps.
const AUDIT_BODY_LIMIT: usize = 4096;

impl HttpClient {
    pub fn new(settings: &HttpSettings) -> Result<HttpClient, String> {
        let client = reqwest::Client::builder()
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
            .map_err(|e| e.to_string())?;
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
        let started = Instant::now();
        let transport = match request.send().await {
            Err(e) if e.is_connect() => Transport::NotSent(describe(&e)),
            Err(e) => Transport::Lost(describe(&e)),
            Ok(resp) => {
                let status = resp.status().as_u16();
                match resp.bytes().await {
                    Ok(body) => Transport::Answered { status, body: body.to_vec() },
                    Err(e) => Transport::Lost(format!("HTTP {status}, body lost: {}", describe(&e))),
                }
            }
        };
        (transport, started.elapsed())
    }
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
    let mut source: &dyn std::error::Error = e;
    while let Some(next) = source.source() {
        source = next;
    }
    format!("{kind}: {source}")
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
        Transport::Answered { status, body } => {
            let text = String::from_utf8_lossy(body);
            let mut cut: String = text.chars().take(AUDIT_BODY_LIMIT).collect();
            if cut.len() < text.len() {
                cut.push('…');
            }
            json!({ "call": call, "request": request, "status": status, "body": scrub(&cut), "ms": elapsed_ms })
        }
        Transport::NotSent(why) => json!({ "call": call, "request": request, "not_sent": why, "ms": elapsed_ms }),
        Transport::Lost(why) => json!({ "call": call, "request": request, "lost": why, "ms": elapsed_ms }),
    }
}
