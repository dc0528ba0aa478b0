//! Our Alipay and WeChat Pay signatures checked by code nobody here wrote: the wallets' own npm
//! client libraries (`alipay-sdk` 4, `wechatpay-axios-plugin` 0.9), run by the scripts in
//! `scripts/wallet-sdks/`. "Our client and our sandbox agree" could hide the same misreading on
//! both sides; these tests do not:
//!
//! - the SDKs act as the merchant against the sandbox (`against-sandbox.mjs`): the sandbox verifies
//!   their requests, they verify its replies and notifies (Alipay in public-key and certificate mode,
//!   WeChat Pay HMAC-SHA256 and MD5, reverse and refund over the sandbox's mutual-TLS listener);
//! - the real `AlipayChannel` and `WechatChannel` send every call to a capture server, and the SDKs
//!   verify each captured request's signature (`verify-requests.mjs`).
//!
//! Needs Node 20 and `npm ci` in `scripts/wallet-sdks` (scripts/test.sh runs it).

mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Uri};
use axum::Router;
use common::{alipay_cert_mode, alipay_code, config_for, wechat_code};
use paydesk_core::channel::alipay::AlipayChannel;
use paydesk_core::channel::wechat::WechatChannel;
use paydesk_core::channel::{Channel, Order};
use paydesk_core::config::{Config, Secret, WechatSignType};
use paydesk_core::ledger::Flow;
use paydesk_core::money::Fen;
use paydesk_sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `scripts/wallet-sdks`, after checking its packages are installed: a missing install fails the
/// test (never a silent skip).
fn sdk_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/wallet-sdks");
    let dir = dir.canonicalize().unwrap_or(dir);
    for package in ["alipay-sdk", "wechatpay-axios-plugin"] {
        assert!(
            dir.join("node_modules").join(package).join("package.json").is_file(),
            "{}/node_modules/{package} is missing: run `npm ci` in scripts/wallet-sdks \
             (`cd scripts/wallet-sdks && npm ci --no-audit --no-fund`; scripts/test.sh does it)",
            dir.display()
        );
    }
    dir
}

/// Runs `node <script> <args…>` in `scripts/wallet-sdks` and asserts it exits 0; its output is
/// printed either way (shown on failure, or with `--nocapture`).
async fn node(script: &str, args: &[&str]) {
    let dir = sdk_dir();
    let mut cmd = tokio::process::Command::new("node");
    cmd.current_dir(&dir).arg(script).args(args).stdin(std::process::Stdio::null()).kill_on_drop(true);
    let run = tokio::time::timeout(Duration::from_secs(120), cmd.output()).await;
    let out = run
        .unwrap_or_else(|_| panic!("node {script} {args:?} took over 120 s"))
        .unwrap_or_else(|e| panic!("cannot run node (Node 20 is needed for scripts/wallet-sdks): {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("$ node {script} {}\n{stdout}{stderr}", args.join(" "));
    assert!(out.status.success(), "node {script} {args:?} failed ({}):\n{stdout}\n{stderr}", out.status);
}

// ---------------------------------------------------------------- the SDKs against the sandbox

#[tokio::test]
async fn the_wallet_sdks_and_the_sandbox_verify_each_other() {
    let sandbox = Sandbox::start(SandboxOptions {
        tls_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox starts");
    let tls = sandbox.tls_base_url().expect("a TLS listener");
    node("against-sandbox.mjs", &[&sandbox.base_url(), &tls]).await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_alipay_sdk_and_the_sandbox_verify_each_other_in_certificate_mode() {
    let sandbox = Sandbox::start(SandboxOptions { alipay_cert_mode: true, ..SandboxOptions::default() })
        .await
        .expect("sandbox starts");
    node("against-sandbox.mjs", &["--alipay-cert-mode", "--no-wechat", &sandbox.base_url()]).await;
    sandbox.shutdown().await;
}

// ---------------------------------------------------------------- our requests, verified by the SDKs

/// A loopback server that records every request and answers `captured` (which no channel can
/// read: every call ends unknown, and nothing else is sent).
struct Capture {
    base_url: String,
    seen: Arc<Mutex<Vec<Value>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Capture {
    async fn start() -> Capture {
        let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
        let app = Router::new().fallback(record).with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("capture server binds");
        let base_url = format!("http://{}", listener.local_addr().expect("address"));
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("capture server runs");
        });
        Capture { base_url, seen, server }
    }

    /// The requests recorded since the last call, as `verify-requests.mjs` reads them.
    fn take(&self, channel: &str) -> Vec<Value> {
        let mut seen = self.seen.lock().expect("capture lock");
        seen.drain(..)
            .map(|mut r| {
                r["channel"] = json!(channel);
                r
            })
            .collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn record(State(seen): State<Arc<Mutex<Vec<Value>>>>, uri: Uri, headers: HeaderMap, body: Bytes) -> &'static str {
    let body = String::from_utf8(body.to_vec()).expect("a request body in UTF-8");
    let content_type = headers.get(header::CONTENT_TYPE).map(|v| v.to_str().expect("content type text").to_owned());
    seen.lock().expect("capture lock").push(json!({
        "path": uri.path(),
        "query": uri.query(),
        "content_type": content_type,
        "body": body,
    }));
    "captured"
}

/// Text that needs encoding everywhere: the form, the query string, XML, JSON.
const SUBJECT: &str = "咖啡 & 茶 <大杯> +1 = 100% \"热\"";
const REASON: &str = "退款 <测试> & 100% ]]> 完";

/// Whether a call went out (anything but `NotSent`: the capture server's answer reads as unknown).
fn sent(tag: &str, call: &str, outcome: &impl std::fmt::Debug) {
    let text = format!("{outcome:?}");
    assert!(!text.starts_with("NotSent"), "{tag} {call} was not sent: {text}");
}

/// Every call of the `Channel` trait once, on orders numbered after `tag`; returns how many
/// requests that makes (a refund not known done asks the refund query too).
async fn every_call(ch: &dyn Channel, code: &str, tag: &str) -> usize {
    let account = ch.account().to_owned();
    let (bar_id, qr_id, refund_id) = (format!("{tag}B0001"), format!("{tag}Q0001"), format!("{tag}R0001"));
    let order = |id, flow| Order { id, amount: Fen(1234), subject: SUBJECT, merchant: &account, method: None, flow };
    let (bar, qr) = (order(&bar_id, Flow::Barcode), order(&qr_id, Flow::Qr));
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis();
    let in_ten_minutes = i64::try_from(now_ms).expect("ms fit i64") + 600_000;
    sent(tag, "barcode_pay", &ch.barcode_pay(&bar, code).await.outcome);
    sent(tag, "create_qr", &ch.create_qr(&qr, in_ten_minutes).await.outcome);
    sent(tag, "query", &ch.query(&bar).await.outcome);
    sent(tag, "cancel", &ch.cancel(&bar).await.outcome);
    sent(tag, "close", &ch.close(&qr).await.outcome);
    sent(tag, "refund", &ch.refund(&bar, &refund_id, Fen(234), REASON).await.outcome);
    // barcode_pay, create_qr, query, cancel, close, refund and its refund query.
    7
}

/// A cashier's config whose channels all point at the capture server.
fn config(capture: &Capture) -> Config {
    let mut c = config_for(&capture.base_url);
    let alipay = c.channels.alipay.as_mut().expect("demo has alipay");
    alipay.notify_url = Some("https://pos.example.com/notify/alipay?till=T01&x=a b".into());
    alipay.store_id = Some("门店 01".into());
    let wechat = c.channels.wechat.as_mut().expect("demo has wechat");
    wechat.notify_url = Some("https://pos.example.com/notify/wechat".into());
    c
}

/// Writes `requests` as JSON lines and has `verify-requests.mjs` check them.
async fn verify(requests: &[Value], expected: usize, extra: &[&str]) {
    assert_eq!(
        requests.len(),
        expected,
        "the capture server recorded {} requests, {expected} expected: {requests:#?}",
        requests.len()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("requests.jsonl");
    let lines: Vec<String> = requests.iter().map(|r| r.to_string()).collect();
    std::fs::write(&file, lines.join("\n") + "\n").expect("requests written");
    println!("requests captured:\n{}", lines.join("\n"));
    let file = file.to_str().expect("a UTF-8 temp path").to_owned();
    let mut args: Vec<&str> = extra.to_vec();
    args.push(&file);
    node("verify-requests.mjs", &args).await;
}

#[tokio::test]
async fn the_alipay_sdk_verifies_our_requests_in_public_key_mode() {
    sdk_dir();
    let capture = Capture::start().await;
    let mut c = config(&capture);
    c.channels.alipay.as_mut().expect("demo has alipay").app_auth_token = Some(Secret::new("202612BB0123456789"));
    let ch = AlipayChannel::new(c.channels.alipay.as_ref().expect("alipay"), &c).expect("alipay channel");
    let n = every_call(&ch, &alipay_code("00"), "SDKALIPAYPK").await;
    verify(&capture.take("alipay"), n, &["--alipay-mode=public-key"]).await;
}

#[tokio::test]
async fn the_alipay_sdk_verifies_our_requests_in_certificate_mode() {
    sdk_dir();
    let capture = Capture::start().await;
    let mut c = config(&capture);
    alipay_cert_mode(&mut c);
    let ch = AlipayChannel::new(c.channels.alipay.as_ref().expect("alipay"), &c).expect("alipay channel");
    let n = every_call(&ch, &alipay_code("00"), "SDKALIPAYCERT").await;
    verify(&capture.take("alipay"), n, &["--alipay-mode=cert"]).await;
}

#[tokio::test]
async fn the_wechat_pay_plugin_verifies_our_requests() {
    sdk_dir();
    let capture = Capture::start().await;
    let mut requests = Vec::new();
    let mut expected = 0;
    for (sign_type, tag) in [(WechatSignType::HmacSha256, "SDKWECHATHMAC"), (WechatSignType::Md5, "SDKWECHATMD5")] {
        let mut c = config(&capture);
        c.channels.wechat.as_mut().expect("demo has wechat").sign_type = sign_type;
        let ch = WechatChannel::new(c.channels.wechat.as_ref().expect("wechat"), &c).expect("wechat channel");
        expected += every_call(&ch, &wechat_code("00"), tag).await;
        requests.extend(capture.take("wechat"));
    }
    // Both algorithms were sent.
    let names = |ty: &str| requests.iter().filter(|r| r["body"].as_str().unwrap_or("").contains(ty)).count();
    assert_eq!(names("<sign_type>"), expected / 2, "half the requests name HMAC-SHA256, the other half no sign_type");
    verify(&requests, expected, &[]).await;
}
