//! The `paydesk-sandbox` binary: first stdout line is the URL; stops on SIGTERM.
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn binary_prints_its_url_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_paydesk-sandbox"))
        .args(["--listen", "127.0.0.1:0", "--minute-ms", "1000", "--seed", "7"])
        .arg("--state")
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("first line");
    let url = line.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");

    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let ok = client.get(format!("{url}/healthz")).send().await.expect("healthz").text().await.expect("text");
    assert_eq!(ok, "ok");
    let r = client
        .post(format!("{url}/api/payment/alipay/barcode"))
        .body(r#"{"orderNo":"CLI1","amount":1.00,"merchantId":"M","goodsName":"g","authCode":"280123456789012300"}"#)
        .send()
        .await
        .expect("barcode");
    assert_eq!(r.status().as_u16(), 200);

    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status:?}");
    let saved = std::fs::read_to_string(&state).expect("state saved");
    assert!(saved.contains("CLI1"));
}
