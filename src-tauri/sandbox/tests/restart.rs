//! The state file keeps the new channels' orders across a restart, and bad key options are
//! refused at start.

mod common;

use common::lakala as lk;
use common::{code, get, post_raw, start};
use paydesk_sandbox::{demo_keys, Sandbox, SandboxOptions, CASHDESK_APP_ID, CASHDESK_APP_KEY};
use serde_json::json;

async fn desk_order(sb: &Sandbox, no: &str) -> String {
    use md5::Digest as _;
    let nonce = format!("{}456", chrono::Utc::now().timestamp_millis());
    let ts = chrono::Utc::now().timestamp_millis();
    let text = format!(
        "amount=100&appId={CASHDESK_APP_ID}&nonce={nonce}&orderTitle=t&outTradeNo={no}&timestamp={ts}&key={CASHDESK_APP_KEY}"
    );
    let sig = hex::encode(md5::Md5::digest(text.as_bytes()));
    let body = format!(
        r#"{{"amount":100,"orderTitle":"t","outTradeNo":"{no}","appId":"{CASHDESK_APP_ID}","nonce":"{nonce}","timestamp":{ts},"signature":"{sig}"}}"#
    );
    let r = post_raw(sb, "/api/cashier-desk/unified/orders", &body).await;
    assert_eq!(r.field("code"), 1000, "{}", r.text);
    r.field("data")["token"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn new_channels_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("sandbox.json");
    let opts = SandboxOptions { state_file: Some(file.clone()), ..SandboxOptions::default() };
    let sb = start(opts.clone()).await;
    lk::micropay(&sb, "R1", 1000, &code("00")).await.checked();
    lk::refund(&sb, "R1", "R1F", 400).await;
    lk::micropay(&sb, "R2", 500, &code("81")).await.checked();
    assert_eq!(lk::trade_state(&sb, "R2").await, "DEAL"); // one of two pending queries
    lk::call(&sb, lk::COUNTER_CREATE, lk::counter_data("R3", 700, 30)).await.checked();
    lk::call(&sb, lk::COUNTER_CREATE, lk::counter_data("R4", 700, 30)).await.checked();
    lk::call(&sb, lk::COUNTER_CLOSE, json!({"out_order_no": "R4", "merchant_no": paydesk_sandbox::LAKALA_MERCHANT_NO}))
        .await
        .checked();
    let token = desk_order(&sb, "R5").await;
    let r = post_raw(&sb, "/api/pay/create", r#"{"orderId":1,"orderNo":"R6","amount":2.00,"subject":"x"}"#).await;
    assert_eq!(r.field("code"), 200);
    let before = sb.truth();
    sb.shutdown().await;

    let sb = start(opts).await;
    assert_eq!(sb.truth(), before);
    assert_eq!(lk::trade_state(&sb, "R1").await, "PART_REFUND");
    assert_eq!(lk::trade_state(&sb, "R2").await, "DEAL");
    assert_eq!(lk::trade_state(&sb, "R2").await, "SUCCESS");
    assert_eq!(lk::counter_query(&sb, "R3").await.data()["order_status"], 0);
    assert_eq!(lk::counter_query(&sb, "R4").await.data()["order_status"], 7, "closed stays closed, by close");
    // the desk's token still leads to its order
    let page = get(&sb, &format!("/cashier-desk-web/payment?token={token}")).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("/pay/R5"), "{}", page.text);
    for no in ["R3", "R5", "R6"] {
        sb.customer_pay(no).unwrap_or_else(|e| panic!("{no}: {e}"));
    }
    assert_eq!(get(&sb, "/api/pay/status/R6").await.field("data")["status"], "PAID");
    // refund numbers are remembered: the same number is the same refund
    let again = lk::refund(&sb, "R1", "R1F", 400).await;
    assert_eq!(again.code(), "BBS00000");
    assert_eq!(sb.truth().refunds.len(), 1);
    assert_eq!(lk::revoke(&sb, "R1").await.data()["trade_state"], "REFUND");
    assert_eq!(sb.truth().refunds.iter().map(|r| r.amount_fen).sum::<i64>(), 1000);
    // order numbers stay taken
    assert_eq!(lk::micropay(&sb, "R1", 1000, &code("00")).await.code(), "BBS11002");
    sb.shutdown().await;
}

#[tokio::test]
async fn bad_key_options_are_refused_at_start() {
    for (why, opts) in [
        ("no certificate", SandboxOptions { lakala_merchant_cert_pem: "nope".into(), ..SandboxOptions::default() }),
        ("no key", SandboxOptions { lakala_platform_key_pem: "nope".into(), ..SandboxOptions::default() }),
        (
            "key and certificate of different pairs",
            SandboxOptions {
                lakala_platform_key_pem: demo_keys::MERCHANT_PRIVATE_PEM.into(),
                ..SandboxOptions::default()
            },
        ),
    ] {
        let err = Sandbox::start(opts).await.expect_err(why);
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{why}: {err}");
    }
    // another store certificate: its serial becomes the expected one
    let sb = start(SandboxOptions {
        lakala_merchant_cert_pem: demo_keys::LAKALA_CERT_PEM.into(),
        ..SandboxOptions::default()
    })
    .await;
    let r = lk::micropay(&sb, "K1", 100, &code("00")).await;
    assert_eq!(r.status, 401, "the store's serial is no longer the expected one");
    let body = lk::envelope(&lk::micropay_data("K2", 100, &code("00")));
    let auth =
        lk::Auth { serial: demo_keys::LAKALA_SERIAL.into(), ..lk::Auth::fresh() }.header(&lk::wrong_key(), &body);
    let r = lk::post_signed(&sb, lk::MICROPAY, &body, Some(&auth)).await.expect("answer").checked();
    assert_eq!(r.code(), "BBS00000", "{}", r.text);
    sb.shutdown().await;
}
