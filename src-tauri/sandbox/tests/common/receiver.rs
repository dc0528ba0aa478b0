//! A tiny merchant that receives notifies: it records each one and answers from a script,
//! then with its acknowledgement.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;

#[derive(Clone, Debug)]
pub struct Got {
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
    pub at: Instant,
}

#[derive(Default)]
struct Inbox {
    got: Vec<Got>,
    /// Answers for the next requests; then `ack`.
    script: VecDeque<(u16, String)>,
    ack: String,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inbox: Arc<Mutex<Inbox>>,
}

impl Receiver {
    pub async fn start(ack: &str, script: Vec<(u16, &str)>) -> Receiver {
        let inbox = Arc::new(Mutex::new(Inbox {
            got: Vec::new(),
            script: script.into_iter().map(|(s, b)| (s, b.to_owned())).collect(),
            ack: ack.to_owned(),
        }));
        let app = Router::new().route("/notify", post(take)).with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url: format!("http://{addr}/notify"), inbox }
    }

    pub fn got(&self) -> Vec<Got> {
        self.inbox.lock().expect("inbox").got.clone()
    }
}

async fn take(State(inbox): State<Arc<Mutex<Inbox>>>, headers: HeaderMap, body: String) -> (StatusCode, String) {
    let mut inbox = inbox.lock().expect("inbox");
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (authorization, content_type) = (header("authorization"), header("content-type"));
    inbox.got.push(Got { authorization, content_type, body, at: Instant::now() });
    let (status, text) = inbox.script.pop_front().unwrap_or_else(|| (200, inbox.ack.clone()));
    (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), text)
}

/// Waits (up to 5 s) until `done`.
pub async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
