//! End to end through the real clerk window (Tauri + WebKitGTK under Xvfb): a barcode payment
//! typed as a keyboard-wedge scan, a QR payment paid on the sandbox's customer page, and the
//! first-run demo profile. Screenshots land in `target/e2e/`.

use paydesk_core::ledger::{Ledger, State};
use paydesk_e2e::{config_for, Error, Session};
use paydesk_sandbox::{Sandbox, SandboxOptions};
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(30);

fn only_payment(home: &std::path::Path) -> paydesk_core::ledger::Payment {
    let ledger = Ledger::open(&home.join("ledger.db")).expect("ledger");
    let mut all = ledger.payments_created_between(0, i64::MAX, 10).expect("payments");
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn barcode_by_wedge_scan_and_qr_by_customer_page() -> Result<(), Error> {
    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    let home = tempfile::tempdir()?;
    config_for(&sandbox.base_url()).save(&home.path().join("config.toml"))?;
    let s = Session::start(home.path(), "clerk").await?;

    // Barcode: amount on the keypad, "scan customer code", then the scanner types the code
    // back to back and presses Enter, while the manual field has focus.
    s.keypad("12.34").await?;
    s.click("[data-testid=action-scan]").await?;
    s.wait_for("[data-testid=scan-overlay]", Duration::from_secs(10)).await?;
    s.wedge("280000000000000010\u{E007}").await?;
    s.wait_for("[data-testid=result-success]", SETTLE).await?;
    s.screenshot("barcode-success.png").await?;
    let p = only_payment(home.path());
    assert_eq!((p.state, p.amount.0), (State::Paid, 1234));
    assert_eq!(p.code_masked.as_deref(), Some("2800**********0010"));
    let events = Ledger::open(&home.path().join("ledger.db"))?.events(&p.id)?;
    assert!(
        events.iter().any(|e| e.detail["source"] == "wedge"),
        "the code came in as a wedge scan, not typed: {events:?}"
    );
    s.click("[data-testid=result-done]").await?;

    // QR: the window shows a code; the customer opens its link and presses Pay.
    s.keypad("88.88").await?;
    s.click("[data-testid=action-qr]").await?;
    let link = s.attr("[data-testid=qr-image]", "data-payload").await?.expect("the QR carries its link");
    assert!(link.starts_with(&sandbox.base_url()), "{link}");
    s.screenshot("qr-shown.png").await?;
    let http = reqwest::Client::new();
    let page = http.get(&link).send().await?.text().await?;
    assert!(page.contains("id=\"pay\""), "the customer page offers a Pay button");
    let paid = http.post(&link).send().await?;
    assert!(paid.status().is_success());
    s.wait_for("[data-testid=result-success]", SETTLE).await?;
    s.screenshot("qr-success.png").await?;
    let ledger = Ledger::open(&home.path().join("ledger.db"))?;
    let qr = ledger.payment(link.rsplit('/').next().unwrap_or_default())?;
    assert_eq!((qr.state, qr.amount.0), (State::Paid, 8888));
    s.click("[data-testid=result-done]").await?;

    // Today's list shows both, paid.
    s.wait_for("[data-testid=payment-row][data-state=paid]", Duration::from_secs(10)).await?;
    let rows = s.client.find_all(fantoccini::Locator::Css("[data-testid=payment-row][data-state=paid]")).await?;
    assert_eq!(rows.len(), 2);
    s.screenshot("clerk-window.png").await?;
    let truth = sandbox.truth();
    assert_eq!(truth.charges.iter().map(|c| c.amount_fen).collect::<Vec<_>>(), [1234, 8888]);
    s.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn first_run_writes_the_demo_profile_and_takes_a_payment() -> Result<(), Error> {
    let home = tempfile::tempdir()?;
    let s = Session::start(home.path(), "demo").await?;
    let config = std::fs::read_to_string(home.path().join("config.toml"))?;
    assert!(config.contains("[demo]") && config.contains("[channels.abc]"), "{config}");

    // No amount yet: the window says so in Chinese, then in English after the switch, and
    // nothing is recorded.
    s.click("[data-testid=action-scan]").await?;
    let zh = s.wait_for("[data-testid=error-message]", Duration::from_secs(10)).await?.text().await?;
    assert!(zh.contains("请输入金额"), "{zh}");
    s.click("[data-testid=lang-toggle]").await?;
    s.wait_text("[data-testid=action-scan]", "Scan customer code", Duration::from_secs(10)).await?;
    assert!(
        s.client.find(fantoccini::Locator::Css("[data-testid=error-message]")).await.is_err(),
        "the Chinese message does not stay on an English screen"
    );
    s.click("[data-testid=action-scan]").await?;
    let en = s.wait_text("[data-testid=error-message]", "Enter an amount", Duration::from_secs(10)).await?;
    s.screenshot("demo-no-amount-en.png").await?;
    let shown = s.wait_for("[data-testid=error-message]", Duration::from_secs(1)).await?.text().await?;
    assert_eq!(shown, en, "the message stays in English");
    assert!(
        !home.path().join("ledger.db").exists() || {
            let ledger = Ledger::open(&home.path().join("ledger.db"))?;
            ledger.payments_created_between(0, i64::MAX, 10)?.is_empty()
        }
    );
    s.click("[data-testid=lang-toggle]").await?;
    s.wait_text("[data-testid=action-scan]", "扫顾客付款码", Duration::from_secs(10)).await?;

    s.keypad("10").await?;
    s.click("[data-testid=action-scan]").await?;
    // The demo offers the sandbox's scenarios as sample codes; the first pays at once.
    s.click("[data-testid=sample-code]").await?;
    s.wait_for("[data-testid=result-success]", SETTLE).await?;
    s.screenshot("demo-success.png").await?;
    let p = only_payment(home.path());
    assert_eq!((p.state, p.amount.0), (State::Paid, 1000));
    s.close().await;
    Ok(())
}
