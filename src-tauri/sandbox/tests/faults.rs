//! Fault injection and the admin endpoints, over real HTTP on loopback.

mod common;

use std::time::{Duration, Instant};

use common::*;
use paydesk_sandbox::Faults;

#[tokio::test]
async fn fail_before_is_503_and_charges_nothing() {
    let sb = start_default().await;
    let r = set_faults(&sb, r#"{"failBeforePercent":100}"#).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.field("failBeforePercent"), 100);
    assert_eq!(r.field("latencyMs"), 0);

    let r = barcode(&sb, "FB1", "10.00", &code("00")).await;
    assert_eq!(r.status, 503);
    let r = qrcode(&sb, "FB2", "10.00", "").await;
    assert_eq!(r.status, 503);
    // queries are channel calls too
    assert_eq!(query(&sb, "FB1").await.status, 503);
    // the admin endpoints, the customer page and healthz are not
    assert_eq!(get(&sb, "/healthz").await.text, "ok");
    assert_eq!(get(&sb, "/admin/truth").await.status, 200);
    assert_eq!(get(&sb, "/pay/FB2").await.status, 404);

    assert_eq!(set_faults(&sb, "{}").await.status, 200);
    assert_eq!(query(&sb, "FB1").await.status, 404); // never processed
    assert!(sb.truth().charges.is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn fail_after_is_500_and_charged() {
    let sb = start_default().await;
    set_faults(&sb, r#"{"failAfterPercent":100}"#).await;
    let r = barcode(&sb, "FA1", "10.00", &code("00")).await;
    assert_eq!(r.status, 500);
    assert_eq!(charged(&sb, "FA1"), vec![1000]);
    set_faults(&sb, "{}").await;
    assert_eq!(query_status(&sb, "FA1").await, "SUCCESS");
    sb.shutdown().await;
}

#[tokio::test]
async fn drop_after_is_a_transport_error_and_charged() {
    let sb = start_default().await;
    sb.set_faults(Faults { drop_after_percent: 100, ..Faults::default() });
    let err = barcode_with(&client(), &sb, "FD1", "10.00", &code("00")).await.expect_err("connection dropped");
    assert!(!err.is_timeout(), "{err:?}");
    assert_eq!(charged(&sb, "FD1"), vec![1000]);
    sb.set_faults(Faults::default());
    assert_eq!(query_status(&sb, "FD1").await, "SUCCESS");
    sb.shutdown().await;
}

#[tokio::test]
async fn garble_truncates_the_body_and_charges() {
    let sb = start_default().await;
    set_faults(&sb, r#"{"garblePercent":100}"#).await;
    let r = barcode(&sb, "FG1", "10.00", &code("00")).await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&r.text).is_err(), "{}", r.text);
    assert_eq!(charged(&sb, "FG1"), vec![1000]);
    sb.shutdown().await;
}

#[tokio::test]
async fn latency_is_added() {
    let sb = start_default().await;
    set_faults(&sb, r#"{"latencyMs":300}"#).await;
    let started = Instant::now();
    let r = qrcode(&sb, "FL1", "1.00", "").await;
    assert_eq!(r.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    // not on healthz
    let started = Instant::now();
    get(&sb, "/healthz").await;
    assert!(started.elapsed() < Duration::from_millis(300));
    sb.shutdown().await;
}

#[tokio::test]
async fn faults_endpoint_reads_and_validates() {
    let sb = start_default().await;
    let r = get(&sb, "/admin/faults").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        serde_json::json!({"latencyMs":0,"failBeforePercent":0,"failAfterPercent":0,
                           "dropAfterPercent":0,"garblePercent":0,"badSignaturePercent":0})
    );
    set_faults(&sb, r#"{"latencyMs":5,"garblePercent":10}"#).await;
    assert_eq!(sb.faults(), Faults { latency_ms: 5, garble_percent: 10, ..Faults::default() });
    assert_eq!(get(&sb, "/admin/faults").await.field("garblePercent"), 10);
    for bad in [r#"{"garblePercent":101}"#, r#"{"badSignaturePercent":101}"#, r#"{"latencyMs":"x"}"#, "nope"] {
        assert_eq!(set_faults(&sb, bad).await.status, 400, "{bad}");
    }
    // a refused update changes nothing
    assert_eq!(sb.faults().garble_percent, 10);
    sb.shutdown().await;
}

#[tokio::test]
async fn partial_faults_are_reproducible_with_a_seed() {
    async fn run(seed: u64) -> Vec<u16> {
        let sb = start(paydesk_sandbox::SandboxOptions { seed, ..paydesk_sandbox::SandboxOptions::default() }).await;
        set_faults(&sb, r#"{"failBeforePercent":50}"#).await;
        let mut statuses = Vec::new();
        for i in 0..16 {
            statuses.push(qrcode(&sb, &format!("RP{i}"), "1.00", "").await.status);
        }
        sb.shutdown().await;
        statuses
    }
    let a = run(42).await;
    assert_eq!(a, run(42).await);
    assert!(a.contains(&503) && a.contains(&200), "{a:?}");
}

#[tokio::test]
async fn faults_can_be_limited_to_one_call() {
    let sb = start_default().await;
    let r = set_faults(&sb, r#"{"failBeforePercent":100,"onlyPath":"/alipay/query/OP2"}"#).await;
    assert_eq!(r.field("onlyPath"), "/alipay/query/OP2");
    assert_eq!(barcode(&sb, "OP1", "10.00", &code("00")).await.status, 200, "another call is untouched");
    assert_eq!(query(&sb, "OP1").await.status, 200);
    assert_eq!(query(&sb, "OP2").await.status, 503);
    sb.shutdown().await;
}
