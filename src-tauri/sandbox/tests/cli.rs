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

/// Spawns the binary with `args`; the URL it prints and the child.
fn spawn(args: &[&str]) -> (String, std::process::Child) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_paydesk-sandbox"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("first line");
    (line.trim().to_owned(), child)
}

#[tokio::test]
async fn channel_flags_are_taken() {
    use md5::Digest as _;
    let (url, mut child) = spawn(&[
        "--listen",
        "127.0.0.1:0",
        "--lakala-token",
        "tok-123",
        "--cashdesk-sign",
        "sm3",
        "--cashdesk-amount-unit",
        "yuan",
        "--cashdesk-app-key",
        "k9",
        "--cashdesk-notify-url",
        "http://127.0.0.1:9/notify",
    ]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let query = |token: &str| {
        client
            .post(format!("{url}/api/v1/payment/lakala/counter/query"))
            .header("authorization", format!("Bearer {token}"))
            .body(r#"{"out_order_no":"NOSUCH"}"#)
            .send()
    };
    assert_eq!(query("tok-123").await.expect("query").status().as_u16(), 200);
    assert_eq!(query("sandbox-token").await.expect("query").status().as_u16(), 401);

    // an SM3-signed desk order in yuan, with the given key (the desk reads `1.00` as the number 1)
    let ts = 1_767_225_600_000_i64;
    let text = format!("amount=1&appId=123456&nonce={ts}1&orderTitle=t&outTradeNo=CLI2&timestamp={ts}&key=k9");
    let sm3_sig = hex::encode(sm3::Sm3::digest(text.as_bytes()));
    let md5_sig = hex::encode(md5::Md5::digest(text.as_bytes()));
    for (sig, expected) in [(md5_sig, 4001), (sm3_sig, 1000)] {
        let body = format!(
            r#"{{"amount":1.00,"orderTitle":"t","outTradeNo":"CLI2","appId":"123456","nonce":"{ts}1","timestamp":{ts},"signature":"{sig}"}}"#
        );
        let r = client.post(format!("{url}/api/cashier-desk/unified/orders")).body(body).send().await.expect("order");
        let v: serde_json::Value = r.json().await.expect("json");
        assert_eq!(v["code"], expected, "{v}");
    }

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    assert!(child.wait().expect("wait").success());
}

#[tokio::test]
async fn wallet_flags_are_taken() {
    use md5::Digest as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_paydesk-sandbox"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--tls-listen",
            "127.0.0.1:0",
            "--alipay-cert-mode",
            "--bills-ready-same-day",
        ])
        .args(["--alipay-app-id", "2021000000000009", "--wechat-api-key", "abcdefghijklmnopqrstuvwxyz012345"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = lines.next().expect("first line").expect("url");
    let tls = lines.next().expect("second line").expect("tls url");
    assert!(url.starts_with("http://127.0.0.1:") && tls.starts_with("https://127.0.0.1:"), "{url} {tls}");
    let client = reqwest::Client::builder().no_proxy().build().expect("client");

    // WeChat: a query signed with the given key is taken
    let text = "appid=wxd930ea5d5a258f4f&mch_id=1900000109&nonce_str=abc123&out_trade_no=NONE\
                &key=abcdefghijklmnopqrstuvwxyz012345";
    let sign = hex::encode_upper(md5::Md5::digest(text.as_bytes()));
    let body = format!(
        "<xml><appid>wxd930ea5d5a258f4f</appid><mch_id>1900000109</mch_id><nonce_str>abc123</nonce_str>\
         <out_trade_no>NONE</out_trade_no><sign>{sign}</sign></xml>"
    );
    let r = client.post(format!("{url}/pay/orderquery")).body(body).send().await.expect("orderquery");
    let text = r.text().await.expect("text");
    assert!(text.contains("<err_code><![CDATA[ORDERNOTEXIST]]></err_code>"), "{text}");

    // WeChat: with --bills-ready-same-day, today's payment is on today's bill
    let signed = |fields: &[(&str, &str)]| {
        let fields: std::collections::BTreeMap<&str, &str> = fields.iter().copied().collect();
        let mut text: String = fields.iter().map(|(k, v)| format!("{k}={v}&")).collect();
        text.push_str("key=abcdefghijklmnopqrstuvwxyz012345");
        let sign = hex::encode_upper(md5::Md5::digest(text.as_bytes()));
        let inner: String = fields.iter().map(|(k, v)| format!("<{k}>{v}</{k}>")).collect();
        format!("<xml>{inner}<sign>{sign}</sign></xml>")
    };
    let common = [("appid", "wxd930ea5d5a258f4f"), ("mch_id", "1900000109"), ("nonce_str", "abc124")];
    let pay = [&common[..], &[("body", "b"), ("out_trade_no", "CLI3"), ("total_fee", "100")]].concat();
    let pay = [&pay[..], &[("spbill_create_ip", "127.0.0.1"), ("auth_code", "134567890123456700")]].concat();
    let r = client.post(format!("{url}/pay/micropay")).body(signed(&pay)).send().await.expect("micropay");
    assert!(r.text().await.expect("text").contains("<result_code><![CDATA[SUCCESS]]></result_code>"));
    let today = paydesk_sandbox::channel_stamp(chrono::Utc::now().timestamp_millis(), "%Y%m%d");
    let bill = [&common[..], &[("bill_date", today.as_str()), ("bill_type", "ALL")]].concat();
    let r = client.post(format!("{url}/pay/downloadbill")).body(signed(&bill)).send().await.expect("downloadbill");
    let text = r.text().await.expect("text");
    assert!(text.starts_with('\u{feff}') && text.contains("`CLI3,"), "{text}");

    // Alipay: the given app id, in cert mode (the SNs are asked for before the signature)
    let gateway = |app_id: &'static str| {
        let params = [
            ("app_id", app_id),
            ("method", "alipay.trade.query"),
            ("sign", "x"),
            ("sign_type", "RSA2"),
            ("timestamp", "2026-01-15 12:00:00"),
            ("version", "1.0"),
        ];
        client.post(format!("{url}/gateway.do")).form(&params).send()
    };
    let refused = gateway("2021000000000001").await.expect("gateway").text().await.expect("text");
    assert!(refused.contains("isv.invalid-app-id"), "{refused}");
    let refused = gateway("2021000000000009").await.expect("gateway").text().await.expect("text");
    assert!(refused.contains("isv.missing-app-cert-sn"), "{refused}");

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    assert!(child.wait().expect("wait").success());
}

#[test]
fn bad_channel_flags_stop_the_binary() {
    let app_cert = concat!(env!("CARGO_MANIFEST_DIR"), "/keys/alipay_app_cert.pem");
    for args in [
        vec!["--cashdesk-sign", "sha1"],
        vec!["--cashdesk-amount-unit", "jiao"],
        vec!["--lakala-merchant-cert", "/nonexistent/merchant_cert.pem"],
        vec!["--alipay-private-key", "/nonexistent/alipay_private.pem"],
        // Alipay's key does not belong to this certificate
        vec!["--alipay-cert-mode", "--alipay-cert", app_cert],
        vec!["--tls-listen", "127.0.0.1:0", "--tls-server-key", app_cert],
    ] {
        let status = Command::new(env!("CARGO_BIN_EXE_paydesk-sandbox"))
            .args(["--listen", "127.0.0.1:0"])
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run");
        assert!(!status.success(), "{args:?}");
    }
}
