//! End to end through the real windows (Tauri + WebKitGTK under Xvfb) for what faces the customer:
//! a kiosk collecting a charge pushed through the terminal API, its idle reset, leaving it only
//! with a manager's PIN; the customer display showing the very QR the clerk window shows; and a
//! pushed charge collected at the clerk window. Screenshots land in `target/e2e/`.

use paydesk_core::config::Config;
use paydesk_core::ledger::{AuditFilter, ChargeState, Ledger, State, Tender};
use paydesk_core::people::People;
use paydesk_e2e::{config_for, write_config, Error, Session, TerminalApi, MANAGER};
use paydesk_sandbox::{Sandbox, SandboxOptions};

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(30);
/// A kiosk config on lakala; a manager exists beforehand (kiosk mode needs someone who can leave it).
fn kiosk_home(sandbox: &Sandbox, tenders: Vec<Tender>, idle_s: u32) -> Result<(tempfile::TempDir, Config), Error> {
    let home = tempfile::tempdir()?;
    let mut config = config_for(&sandbox.base_url());
    config.kiosk.enabled = true;
    config.kiosk.tenders = tenders;
    config.kiosk.channel = Some("lakala".into());
    config.kiosk.idle_reset_seconds = idle_s;
    config.kiosk.paid_reset_seconds = 3;
    write_config(home.path(), &config)?;
    let ledger = Arc::new(Ledger::open(&home.path().join("ledger.db"))?);
    People::new(ledger, config.people.clone()).create_first_manager(MANAGER.0, MANAGER.1)?;
    Ok((home, config))
}

fn charges_of(home: &Path) -> Vec<paydesk_core::ledger::Charge> {
    let ledger = Ledger::open(&home.join("ledger.db")).expect("ledger");
    ledger.charges_page(0, i64::MAX, None, 100).expect("charges").into_iter().map(|r| r.charge).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn kiosk_collects_a_pushed_charge_and_only_a_manager_leaves() -> Result<(), Error> {
    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    let (home, config) = kiosk_home(&sandbox, vec![Tender::Qr], 60)?;
    let api = TerminalApi::of(home.path(), &config);
    let s = Session::launch(home.path(), "kiosk").await?;
    s.wait_attr("[data-testid=kiosk]", "data-screen", "start", Duration::from_secs(30)).await?;
    assert!(!s.present("[data-testid=open-manager]").await, "no clerk controls on a kiosk");
    s.screenshot("kiosk-start.png").await?;

    // The ordering system pushes a charge; the kiosk shows it and, with one tender, its QR.
    let charge = api.push("POS-1", 1880, "套餐A", None).await?;
    let id = charge["id"].as_str().unwrap_or_default().to_string();
    s.wait_text("[data-testid=kiosk-amount]", "18.80", Duration::from_secs(15)).await?;
    let payload = s.attr("[data-testid=kiosk-qr]", "data-payload").await?.unwrap_or_default();
    // The customer is told which app to open (Lakala's first method: Alipay), with its mark.
    s.wait_for("[data-testid=wallet-marks][data-wallets=alipay]", Duration::from_secs(5)).await?;
    assert!(!payload.is_empty());
    assert_eq!(s.qr_in_screenshot("kiosk-qr.png").await?, payload, "the QR on screen is the channel's");

    let payment = api.attempt(&id).await?;
    sandbox.customer_pay(&payment)?;
    s.wait_attr("[data-testid=kiosk-state]", "data-state", "paid", SETTLE).await?;
    s.screenshot("kiosk-paid.png").await?;
    let done = api.charge(&id, 10).await?;
    assert_eq!((done["state"].as_str(), done["payment"]["id"].as_str()), (Some("paid"), Some(payment.as_str())));
    s.wait_attr("[data-testid=kiosk]", "data-screen", "start", Duration::from_secs(15)).await?;

    // Leaving: the hidden corner asks for a manager's PIN; cancel or a wrong PIN keep the kiosk.
    s.long_press("[data-testid=kiosk-exit]", Duration::from_millis(3_500)).await?;
    s.wait_for("[data-testid=pin-prompt]", Duration::from_secs(5)).await?;
    s.click("[data-testid=pin-prompt-cancel]").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!s.present("[data-testid=pin-prompt]").await);
    s.wait_attr("[data-testid=kiosk]", "data-screen", "start", Duration::from_secs(5)).await?;
    s.long_press("[data-testid=kiosk-exit]", Duration::from_millis(3_500)).await?;
    s.approve(MANAGER.0, "1111").await?;
    s.wait_for("[data-testid=pin-prompt-error]", Duration::from_secs(10)).await?;
    s.screenshot("kiosk-exit-wrong-pin.png").await?;
    assert!(s.present("[data-testid=kiosk]").await, "a wrong PIN keeps the kiosk");
    s.click("[data-testid=pin-prompt-cancel]").await?;
    s.long_press("[data-testid=kiosk-exit]", Duration::from_millis(3_500)).await?;
    s.approve(MANAGER.0, MANAGER.1).await?;
    s.wait_for("[data-testid=sign-in-user]", Duration::from_secs(15)).await?;
    assert!(!s.present("[data-testid=kiosk]").await);
    s.screenshot("kiosk-left.png").await?;
    let ledger = Ledger::open(&home.path().join("ledger.db"))?;
    let audit = ledger.audit_log(&AuditFilter { limit: 50, ..AuditFilter::default() })?;
    assert!(audit.iter().any(|e| e.action == "leave_kiosk" && e.user.as_deref() == Some(MANAGER.0)));
    assert!(audit.iter().any(|e| e.action == "pin_failed"));
    s.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn kiosk_menu_order_resets_when_idle_and_pays_by_payment_code() -> Result<(), Error> {
    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    let (home, _config) = kiosk_home(&sandbox, vec![Tender::Qr, Tender::Code], 10)?;
    let s = Session::launch(home.path(), "kiosk-menu").await?;
    s.wait_attr("[data-testid=kiosk]", "data-screen", "start", Duration::from_secs(30)).await?;

    let add = |id: &str| format!("[data-testid=kiosk-product][data-id={id}] [data-testid=kiosk-add]");
    s.click(&add("coffee")).await?;
    s.click(&add("coffee")).await?;
    s.wait_text("[data-testid=kiosk-total]", "24.00", Duration::from_secs(10)).await?;
    s.click("[data-testid=kiosk-pay]").await?;
    s.wait_for("[data-testid=kiosk-tender-code]", Duration::from_secs(10)).await?;
    s.wait_for("[data-testid=kiosk-tender-qr]", Duration::from_secs(1)).await?;
    let open = charges_of(home.path());
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].amount.0, open[0].state, open[0].external_id.clone()), (2400, ChargeState::Open, None));

    // The customer walks away: a warning, then the kiosk cancels the order and starts over.
    s.wait_for("[data-testid=kiosk-idle-warning]", Duration::from_secs(15)).await?;
    s.screenshot("kiosk-idle-warning.png").await?;
    s.wait_attr("[data-testid=kiosk]", "data-screen", "start", Duration::from_secs(15)).await?;
    s.wait_gone("[data-testid=kiosk-idle-warning]", Duration::from_secs(5)).await?;
    s.wait_text("[data-testid=kiosk-qty][data-id=coffee]", "0", Duration::from_secs(2)).await?;
    let after = charges_of(home.path());
    assert_eq!(after[0].state, ChargeState::Cancelled, "{after:?}");

    // The next customer pays a milk tea by showing a payment code to the (wedge) scanner.
    s.click(&add("tea")).await?;
    s.wait_text("[data-testid=kiosk-total]", "9.50", Duration::from_secs(10)).await?;
    s.click("[data-testid=kiosk-pay]").await?;
    s.click("[data-testid=kiosk-tender-code]").await?;
    s.wait_attr("[data-testid=kiosk-state]", "data-state", "waiting", Duration::from_secs(10)).await?;
    // A wallet short of money first: the customer reads why in words, never the channel's code.
    s.wedge("280000000000000091\u{E007}").await?;
    s.wait_attr("[data-testid=kiosk-state]", "data-state", "failed", SETTLE).await?;
    let said = s.wait_text("[data-testid=kiosk-message]", "未扣款", Duration::from_secs(10)).await?;
    assert!(!said.chars().any(|c| c.is_ascii_uppercase()), "a channel code on the kiosk: {said}");
    s.screenshot("kiosk-failed-in-words.png").await?;
    s.click("[data-testid=kiosk-retry]").await?;
    s.click("[data-testid=kiosk-tender-code]").await?;
    s.wait_attr("[data-testid=kiosk-state]", "data-state", "waiting", Duration::from_secs(10)).await?;
    s.wedge("280000000000000010\u{E007}").await?;
    s.wait_attr("[data-testid=kiosk-state]", "data-state", "paid", SETTLE).await?;
    let charges = charges_of(home.path());
    assert_eq!((charges[0].amount.0, charges[0].state), (950, ChargeState::Paid));
    let ledger = Ledger::open(&home.path().join("ledger.db"))?;
    let paid = ledger.charge_record(&charges[0].id)?;
    assert_eq!(paid.attempts.len(), 2, "the failed attempt, then the paid one");
    assert_eq!((paid.attempts[1].state, paid.attempts[1].clerk.as_deref()), (State::Paid, Some("kiosk")));
    s.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn customer_display_shows_the_clerk_qr_and_a_pushed_charge_is_collected_at_the_counter() -> Result<(), Error> {
    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    let home = tempfile::tempdir()?;
    let mut config = config_for(&sandbox.base_url());
    config.display.enabled = true;
    // One screen under Xvfb: the display opens as a window only because this asks for it.
    config.display.on_single_screen = true;
    config.display.welcome_zh = "欢迎光临 E2E 小店".into();
    write_config(home.path(), &config)?;
    let api = TerminalApi::of(home.path(), &config);
    let s = Session::start(home.path(), "display").await?;
    let clerk = s.client.window().await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let display = loop {
        if let Some(h) = s.client.windows().await?.into_iter().find(|h| *h != clerk) {
            break h;
        }
        assert!(std::time::Instant::now() < deadline, "the customer display never opened");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    s.client.switch_to_window(display.clone()).await?;
    s.wait_text("[data-testid=display-welcome]", "欢迎光临 E2E 小店", Duration::from_secs(15)).await?;
    s.screenshot("display-welcome.png").await?;
    // The display may read its own bootstrap (it just did) and nothing else of the cashier's.
    let asked = s
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI_INTERNALS__.invoke('today').then(() => done('allowed'), (e) => done('refused: ' + e));",
            vec![],
        )
        .await?;
    let asked = asked.as_str().unwrap_or_default().to_owned();
    assert!(
        asked.starts_with("refused") && asked.contains("not allowed"),
        "the display called a clerk command: {asked}"
    );
    // Nor may it emit an event (a fake "paid" for the clerk's window to show).
    let emitted = s
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI_INTERNALS__.invoke('plugin:event|emit', { event: 'payment', payload: { state: 'paid' } })
               .then(() => done('allowed'), (e) => done('refused: ' + e));",
            vec![],
        )
        .await?;
    let emitted = emitted.as_str().unwrap_or_default().to_owned();
    assert!(
        emitted.starts_with("refused") && emitted.contains("not allowed"),
        "the display emitted an event: {emitted}"
    );

    // The clerk asks for a QR; both screens show the same code.
    s.client.switch_to_window(clerk.clone()).await?;
    s.click("[data-testid=channel-lakala]").await?;
    s.keypad("23.45").await?;
    s.click("[data-testid=action-qr]").await?;
    let payload = s.attr("[data-testid=qr-image]", "data-payload").await?.unwrap_or_default();
    let on_clerk = s.qr_in_screenshot("display-clerk-qr.png").await?;
    s.client.switch_to_window(display.clone()).await?;
    s.wait_attr("[data-testid=display]", "data-mode", "qr", Duration::from_secs(10)).await?;
    s.wait_text("[data-testid=display-amount]", "23.45", Duration::from_secs(5)).await?;
    let on_display = s.qr_in_screenshot("display-qr.png").await?;
    assert_eq!(on_clerk, on_display, "both windows show the same QR");
    assert_eq!(on_clerk, payload, "and it is the channel's");

    s.client.switch_to_window(clerk.clone()).await?;
    let payment = s.attr("[data-testid=payment-overlay]", "data-id").await?.unwrap_or_default();
    sandbox.customer_pay(&payment)?;
    s.wait_for("[data-testid=result-success]", SETTLE).await?;
    s.client.switch_to_window(display.clone()).await?;
    s.wait_attr("[data-testid=display-result]", "data-state", "paid", Duration::from_secs(10)).await?;
    s.screenshot("display-paid.png").await?;

    // An order pushed through the API appears at the counter, locked to its amount.
    s.client.switch_to_window(clerk.clone()).await?;
    s.click("[data-testid=result-done]").await?;
    let charge = api.push("ERP-42", 3600, "两份套餐", Some("qr")).await?;
    let id = charge["id"].as_str().unwrap_or_default().to_string();
    s.wait_text("[data-testid=charge-amount]", "36.00", Duration::from_secs(15)).await?;
    s.wait_text("[data-testid=charge-order-id]", "ERP-42", Duration::from_secs(5)).await?;
    s.screenshot("clerk-charge-banner.png").await?;
    s.click("[data-testid=action-qr]").await?;
    s.wait_for("[data-testid=qr-image]", Duration::from_secs(10)).await?;
    let attempt = api.attempt(&id).await?;
    s.client.switch_to_window(display.clone()).await?;
    s.wait_text("[data-testid=display-amount]", "36.00", Duration::from_secs(10)).await?;
    s.client.switch_to_window(clerk).await?;
    sandbox.customer_pay(&attempt)?;
    s.wait_for("[data-testid=result-success]", SETTLE).await?;
    let done = api.charge(&id, 10).await?;
    assert_eq!(done["state"], "paid");
    assert_eq!(done["payment"]["id"].as_str(), Some(attempt.as_str()));
    let ledger = Ledger::open(&home.path().join("ledger.db"))?;
    assert_eq!(ledger.payment(&attempt)?.amount.0, 3600);
    s.close().await;
    Ok(())
}
