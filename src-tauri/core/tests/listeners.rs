//! The notify receiver and the terminal API under bounded floods on loopback: slow headers, idle
//! connections and slow bodies are given back within the listener's deadlines, connections over
//! its cap are closed at once, a flood on one listener never slows the other, and once the flood
//! ends a normal request is answered at once.

mod common;

use common::{fast_sandbox, rig_with, Rig};
use paydesk_core::config::TerminalApi;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The listeners' deadlines and caps (`notify.rs`, `terminal_api.rs`).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const API_CAP: usize = 64;
const NOTIFY_CAP: usize = 256;

struct Listeners {
    _rig: Rig,
    api: SocketAddr,
    notify: SocketAddr,
    token: String,
    _dir: tempfile::TempDir,
}

async fn listeners() -> Listeners {
    paydesk_core::listener::raise_file_limit();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("api.token").display().to_string();
    let settings = TerminalApi { listen: "127.0.0.1:0".into(), token_file, ..TerminalApi::default() };
    let for_config = settings.clone();
    let rig = rig_with(fast_sandbox(), move |c| c.terminal_api = Some(for_config)).await;
    let (api, _) = paydesk_core::terminal_api::serve(rig.cashier.clone(), &settings).await.expect("API starts");
    let (notify, _) = paydesk_core::notify::serve(rig.cashier.clone(), "127.0.0.1:0").await.expect("receiver starts");
    let token = std::fs::read_to_string(dir.path().join("api.token")).unwrap().trim().to_string();
    Listeners { _rig: rig, api, notify, token, _dir: dir }
}

/// A fresh connection each time (a pooled one would dodge the cap).
fn client() -> reqwest::Client {
    reqwest::Client::builder().pool_max_idle_per_host(0).timeout(Duration::from_secs(5)).build().unwrap()
}

impl Listeners {
    /// `GET /v1/health`, answered 200: how long it took.
    async fn api_answers(&self) -> Duration {
        let started = Instant::now();
        let r = client().get(format!("http://{}/v1/health", self.api)).bearer_auth(&self.token).send().await;
        let r = r.expect("the terminal API answers");
        assert_eq!(r.status(), 200);
        started.elapsed()
    }

    /// An unsigned notify, refused with 400: how long it took.
    async fn notify_answers(&self) -> Duration {
        let started = Instant::now();
        let r = client().post(format!("http://{}/notify/lakala", self.notify)).body("{}").send().await;
        assert_eq!(r.expect("the notify receiver answers").status(), 400);
        started.elapsed()
    }
}

/// Opens `n` connections to `addr`, each running `behave` until the server closes it; returns,
/// per connection, how long the server held it.
async fn flood(addr: SocketAddr, n: usize, behave: fn(TcpStream) -> Holding) -> Vec<tokio::task::JoinHandle<Duration>> {
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        let stream = TcpStream::connect(addr).await.expect("connects (the kernel accepts up to the backlog)");
        let started = Instant::now();
        let holding = behave(stream);
        held.push(tokio::spawn(async move {
            holding.await;
            started.elapsed()
        }));
    }
    held
}

type Holding = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Sends a request line and then one header line a second, never ending the headers, until the
/// server closes the connection.
fn slow_headers(mut stream: TcpStream) -> Holding {
    Box::pin(async move {
        if stream.write_all(b"GET /v1/health HTTP/1.1\r\nHost: till\r\n").await.is_err() {
            return;
        }
        let mut buf = [0u8; 256];
        loop {
            tokio::select! {
                read = stream.read(&mut buf) => if matches!(read, Ok(0) | Err(_)) { return },
                _ = tokio::time::sleep(Duration::from_secs(1)) => {
                    if stream.write_all(b"X-Slow: 1\r\n").await.is_err() { return }
                }
            }
        }
    })
}

/// Sends nothing; waits for the server to close the connection.
fn idle(mut stream: TcpStream) -> Holding {
    Box::pin(async move {
        let mut buf = [0u8; 64];
        while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
    })
}

/// How long each connection was held, longest last; fails (rather than hangs) when the server
/// still holds one after 30 s.
async fn held_times(held: Vec<tokio::task::JoinHandle<Duration>>) -> Vec<Duration> {
    let all = async {
        let mut times = Vec::with_capacity(held.len());
        for h in held {
            times.push(h.await.unwrap());
        }
        times
    };
    let mut times = tokio::time::timeout(Duration::from_secs(30), all)
        .await
        .expect("the server still holds connections after 30 s");
    times.sort();
    times
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_headers_hold_the_terminal_api_no_longer_than_its_header_deadline() {
    let l = listeners().await;
    let held = flood(l.api, 500, slow_headers).await;
    // The other listener does not notice.
    let notify = l.notify_answers().await;
    assert!(notify < Duration::from_secs(1), "the notify receiver took {notify:?} during the API flood");
    let times = held_times(held).await;
    let at_once = times.iter().filter(|t| **t < Duration::from_secs(2)).count();
    let longest = *times.last().unwrap();
    eprintln!(
        "terminal API, 500 slow-header connections: {at_once} closed at once, the rest held {:?}–{longest:?}",
        times[at_once.min(499)]
    );
    assert!(at_once >= 500 - API_CAP, "over the cap of {API_CAP}, connections are closed at once ({at_once})");
    assert!(longest < HEADER_TIMEOUT + Duration::from_secs(3), "a slow-header connection was held {longest:?}");
    let after = l.api_answers().await;
    assert!(after < Duration::from_secs(1), "after the flood the API took {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_connections_to_the_notify_port_cannot_starve_the_terminal_api() {
    let l = listeners().await;
    let mut streams = Vec::new();
    for _ in 0..1100 {
        streams.push(TcpStream::connect(l.notify).await.expect("connects"));
    }
    // Over the cap, connections are closed at once: the receiver never holds more than its cap.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut closed = 0;
    for s in &mut streams {
        let mut buf = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(Duration::from_millis(5), s.read(&mut buf)).await {
            closed += 1;
        }
    }
    eprintln!("notify receiver, 1100 idle connections: {closed} closed at once, {} held", 1100 - closed);
    assert!(closed >= 1100 - NOTIFY_CAP, "only {closed} of 1100 closed over a cap of {NOTIFY_CAP}");
    let api = l.api_answers().await;
    assert!(api < Duration::from_secs(1), "the terminal API took {api:?} during the notify flood");
    drop(streams);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = l.notify_answers().await;
    assert!(after < Duration::from_secs(1), "after the flood the receiver took {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_and_kept_alive_connections_are_given_back_at_the_header_deadline() {
    let l = listeners().await;
    let held = flood(l.notify, 20, idle).await;
    let times = held_times(held).await;
    let (shortest, longest) = (times[0], *times.last().unwrap());
    assert!(
        shortest >= HEADER_TIMEOUT - Duration::from_secs(1) && longest < HEADER_TIMEOUT + Duration::from_secs(3),
        "{times:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_body_that_never_arrives_is_refused_at_the_body_deadline() {
    let l = listeners().await;
    let mut stream = TcpStream::connect(l.api).await.unwrap();
    let head = format!(
        "POST /v1/charges HTTP/1.1\r\nHost: till\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"amount",
        l.token
    );
    let started = Instant::now();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut took = None;
    let mut buf = [0u8; 1024];
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(15), stream.read(&mut buf)).await {
        took = took.or(Some(started.elapsed()));
        answer.extend_from_slice(&buf[..n]);
        if n == 0 || String::from_utf8_lossy(&answer).contains("message_en") {
            break;
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    let took = took.expect("an answer came");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"slow_body\"") && answer.contains("请求内容未能及时收到"), "{answer}");
    assert!(took >= Duration::from_secs(9) && took < Duration::from_secs(13), "{took:?}");
    assert!(l._rig.cashier.ledger().payments_created_between(0, i64::MAX, 10).unwrap().is_empty());
}
