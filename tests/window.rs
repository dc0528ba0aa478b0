//! End to end through the real clerk window (Tauri + WebKitGTK under Xvfb): a barcode payment
//! typed as a keyboard-wedge scan, a QR payment paid on the sandbox's customer page, and the
//! first-run demo profile. Screenshots land in `target/e2e/`.

use paydesk_core::ledger::{AuditFilter, Ledger, State};
use paydesk_e2e::{config_for, write_config, Error, Session, MANAGER};
use paydesk_sandbox::{Sandbox, SandboxOptions};
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(30);

/// A sale as a clerk makes it: the amount, "scan customer code", the wedge types the sandbox's
/// paying code, and Done on the success screen.
async fn wedge_sale(s: &Session, amount: &str) -> Result<(), Error> {
    s.keypad(amount).await?;
    s.click("[data-testid=action-scan]").await?;
    s.wait_for("[data-testid=scan-overlay]", Duration::from_secs(10)).await?;
    s.wedge("280000000000000010\u{E007}").await?;
    s.wait_for("[data-testid=result-success]", SETTLE).await?;
    s.click("[data-testid=result-done]").await?;
    Ok(())
}

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
    write_config(home.path(), &config_for(&sandbox.base_url()))?;
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

/// Something else holds the demo sandbox's port when the app starts: the sandbox moves for this
/// run, no request goes to whatever holds the old port, and the config file is left as it was.
#[tokio::test(flavor = "multi_thread")]
async fn a_demo_whose_sandbox_port_is_taken_moves_for_the_run_and_keeps_its_config() -> Result<(), Error> {
    let squatter = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = squatter.local_addr()?.port();
    let home = tempfile::tempdir()?;
    write_config(home.path(), &paydesk_core::config::Config::demo(port))?;
    let written = std::fs::read(home.path().join("config.toml"))?;
    let s = Session::start(home.path(), "demo-moved").await?;
    s.keypad("10").await?;
    s.click("[data-testid=action-scan]").await?;
    s.click("[data-testid=sample-code]").await?;
    s.wait_for("[data-testid=result-success]", SETTLE).await?;
    assert_eq!(only_payment(home.path()).state, State::Paid);
    s.close().await;
    assert_eq!(std::fs::read(home.path().join("config.toml"))?, written, "starting never rewrites the config");
    squatter.set_nonblocking(true)?;
    assert!(
        matches!(squatter.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "no request went to the process holding the configured port"
    );
    Ok(())
}

/// Picks a channel (and a tender) on the tender bar, types the amount and asks for a QR.
async fn qr_on(s: &Session, channel: &str, method: Option<&str>, amount: &str) -> Result<(), Error> {
    s.click(&format!("[data-testid=channel-{channel}]")).await?;
    if let Some(m) = method {
        s.click(&format!("[data-testid=method-{m}]")).await?;
    }
    s.keypad(amount).await?;
    s.click("[data-testid=action-qr]").await?;
    Ok(())
}

/// Pays on the sandbox's customer page the way a phone would: opens the link (following any
/// redirect; on a cashier desk's list of ways to pay, the first one) and presses Pay.
async fn pay_on_phone(link: &str) -> Result<(), Error> {
    let http = reqwest::Client::new();
    let page = http.get(link).send().await?;
    let mut landed = page.url().clone();
    let mut text = page.text().await?;
    let picked = text.split("class=\"channel\"").nth(1).and_then(|rest| rest.split("href=\"").nth(1));
    if let Some(href) = picked.and_then(|rest| rest.split('"').next()).map(str::to_owned) {
        let page = http.get(&href).send().await?;
        landed = page.url().clone();
        text = page.text().await?;
    }
    assert!(text.contains("id=\"pay\""), "the customer page offers a Pay button: {landed}");
    assert!(http.post(landed).send().await?.status().is_success());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn lakala_wallet_qr_paid_on_the_customer_page() -> Result<(), Error> {
    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    let home = tempfile::tempdir()?;
    write_config(home.path(), &config_for(&sandbox.base_url()))?;
    let s = Session::start(home.path(), "lakala").await?;
    qr_on(&s, "lakala", Some("WECHAT"), "23.45").await?;
    let link = s.attr("[data-testid=qr-image]", "data-payload").await?.expect("the QR carries its link");
    s.wait_text("[data-testid=status-message]", "微信", Duration::from_secs(10)).await?;
    s.screenshot("lakala-qr.png").await?;
    pay_on_phone(&link).await?;
    s.wait_for("[data-testid=result-success]", SETTLE).await?;
    let p = only_payment(home.path());
    assert_eq!((p.channel.as_str(), p.state, p.amount.0), ("lakala", State::Paid, 2345));
    assert_eq!(p.wallet.as_deref(), Some("WECHAT"));
    s.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn cashdesk_page_qr_paid_on_the_customer_page() -> Result<(), Error> {
    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    let home = tempfile::tempdir()?;
    write_config(home.path(), &config_for(&sandbox.base_url()))?;
    let s = Session::start(home.path(), "cashdesk").await?;
    s.click("[data-testid=channel-cashdesk]").await?;
    assert!(
        s.client.find(fantoccini::Locator::Css("[data-testid=action-scan]")).await.is_err(),
        "the desk takes no payment codes: the scan action is hidden"
    );
    qr_on(&s, "cashdesk", None, "45.60").await?;
    let link = s.attr("[data-testid=qr-image]", "data-payload").await?.expect("the QR carries the desk's page");
    assert!(link.contains("/cashier-desk-web/payment?token="), "{link}");
    s.screenshot("cashdesk-qr.png").await?;
    pay_on_phone(&link).await?;
    s.wait_for("[data-testid=result-success]", SETTLE).await?;
    let p = only_payment(home.path());
    assert_eq!((p.channel.as_str(), p.state, p.amount.0), ("cashdesk", State::Paid, 4560));
    s.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn paysvc_page_opens_in_the_customer_window_and_is_paid_there() -> Result<(), Error> {
    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    let home = tempfile::tempdir()?;
    write_config(home.path(), &config_for(&sandbox.base_url()))?;
    let s = Session::start(home.path(), "paysvc").await?;
    let clerk = s.client.window().await?;
    qr_on(&s, "paysvc", None, "66.60").await?;
    s.wait_for("[data-testid=customer-window-note]", Duration::from_secs(10)).await?;
    assert!(s.client.find(fantoccini::Locator::Css("[data-testid=qr-image]")).await.is_err(), "no QR for a page");
    s.screenshot("paysvc-clerk.png").await?;
    // The customer window: our form posted itself to the gateway, which shows the order's page.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let customer = loop {
        let handles = s.client.windows().await?;
        if let Some(h) = handles.into_iter().find(|h| *h != clerk) {
            break h;
        }
        assert!(std::time::Instant::now() < deadline, "the customer window never opened");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    s.client.switch_to_window(customer).await?;
    // Our page submits itself to the gateway, which lands on the sandbox's page for the order.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !s.client.current_url().await?.path().starts_with("/pay/") {
        assert!(std::time::Instant::now() < deadline, "the form never reached the gateway");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    s.wait_for("#pay", Duration::from_secs(10)).await?;
    s.screenshot("paysvc-customer-window.png").await?;
    s.click("#pay").await?;
    s.client.switch_to_window(clerk).await?;
    s.wait_for("[data-testid=result-success]", SETTLE).await?;
    let p = only_payment(home.path());
    assert_eq!((p.channel.as_str(), p.state, p.amount.0), ("paysvc", State::Paid, 6660));
    s.close().await;
    Ok(())
}

/// Where a payment's code came from, as its audit trail recorded it.
fn source_of(home: &std::path::Path, id: &str) -> String {
    let events = Ledger::open(&home.join("ledger.db")).expect("ledger").events(id).expect("events");
    events.iter().find_map(|e| e.detail.get("source").and_then(|s| s.as_str()).map(String::from)).unwrap_or_default()
}

fn paid_payments(home: &std::path::Path) -> Vec<paydesk_core::ledger::Payment> {
    let ledger = Ledger::open(&home.join("ledger.db")).expect("ledger");
    ledger
        .payments_created_between(0, i64::MAX, 100)
        .expect("payments")
        .into_iter()
        .filter(|p| p.state == State::Paid)
        .collect()
}

/// Camera frames for the `files:` device: a few empty ones (so the preview can be seen), then
/// the customer's payment code.
fn camera_frames(dir: &std::path::Path, code: &str) {
    std::fs::create_dir_all(dir).expect("frames dir");
    for i in 0..12 {
        image::GrayImage::from_pixel(640, 480, image::Luma([80])).save(dir.join(format!("{i:02}.png"))).expect("frame");
    }
    let qr = qrcode::QrCode::new(code.as_bytes()).expect("qr");
    let modules = qr.render::<image::Luma<u8>>().quiet_zone(true).module_dimensions(6, 6).build();
    let mut frame = image::GrayImage::from_pixel(640, 480, image::Luma([80]));
    image::imageops::overlay(
        &mut frame,
        &modules,
        ((640 - modules.width()) / 2).into(),
        ((480 - modules.height()) / 2).into(),
    );
    frame.save(dir.join("99-code.png")).expect("frame");
}

#[tokio::test(flavor = "multi_thread")]
async fn serial_camera_and_wedge_scanners_and_their_settings() -> Result<(), Error> {
    use serialport::SerialPort;
    use std::io::Write;
    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    let home = tempfile::tempdir()?;
    let (mut scanner, slave) = serialport::TTYPort::pair()?;
    let mut config = config_for(&sandbox.base_url());
    config.scanners.serial.enabled = true;
    config.scanners.serial.port = slave.name().unwrap_or_default();
    config.scanners.camera.enabled = true;
    config.scanners.camera.device = "files:frames".into();
    config.scanners.camera.fps = 5;
    camera_frames(&home.path().join("frames"), "280000000000000055");
    write_config(home.path(), &config)?;
    let s = Session::start(home.path(), "scanners").await?;
    s.wait_for("[data-testid=scanner-status]", Duration::from_secs(10)).await?;

    // A wedge scan with no amount on the keypad, focus on the amount: shown, not used, and what
    // the scanner typed into the keypad is undone.
    s.click("[data-testid=key-clear]").await?;
    s.click("[data-testid=amount-display]").await?;
    s.wedge("280000000000000010\u{E007}").await?;
    s.wait_text("[data-testid=notice]", "没有等待收款", Duration::from_secs(10)).await?;
    let typed = s.wait_for("[data-testid=amount-display] .typed", Duration::from_secs(5)).await?;
    assert_eq!(typed.text().await?.trim(), "");
    assert!(paid_payments(home.path()).is_empty());

    // The serial scanner pays the armed payment.
    s.keypad("6.66").await?;
    s.click("[data-testid=action-scan]").await?;
    s.wait_for("[data-testid=serial-status][data-state=connected]", Duration::from_secs(10)).await?;
    scanner.write_all(b"280000000000000082\r")?;
    s.wait_for("[data-testid=result-success]", SETTLE).await?;
    s.click("[data-testid=result-done]").await?;

    // The camera: the preview shows, then the customer's code is read.
    s.keypad("3.21").await?;
    s.click("[data-testid=action-scan]").await?;
    s.wait_for("[data-testid=camera-preview]", Duration::from_secs(10)).await?;
    s.screenshot("camera-preview.png").await?;
    s.wait_for("[data-testid=result-success]", SETTLE).await?;
    s.click("[data-testid=result-done]").await?;
    let paid = paid_payments(home.path());
    let mut sources: Vec<(i64, String)> = paid.iter().map(|p| (p.amount.0, source_of(home.path(), &p.id))).collect();
    sources.sort();
    assert_eq!(sources, [(321, "camera".to_string()), (666, "serial".to_string())]);

    // Settings: the wedge gap changed and saved into the config file, the rest kept.
    s.click("[data-testid=open-settings]").await?;
    let gap = s.wait_for("[data-testid=settings-wedge-max-gap]", Duration::from_secs(10)).await?;
    gap.clear().await?;
    gap.send_keys("60").await?;
    s.screenshot("settings.png").await?;
    s.click("[data-testid=settings-save]").await?;
    // Changing settings takes a manager's PIN.
    s.approve(MANAGER.0, MANAGER.1).await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let saved = paydesk_core::config::Config::load(&home.path().join("config.toml"))?;
        if saved.scanners.wedge.max_gap_ms == 60 {
            assert_eq!(saved.scanners.serial.port, config.scanners.serial.port);
            assert_eq!(saved.terminal.code, "E2E01");
            let ledger = Ledger::open(&home.path().join("ledger.db"))?;
            let filter = AuditFilter { action: Some("settings_change".into()), limit: 10, ..Default::default() };
            assert_eq!(ledger.audit_log(&filter)?.len(), 1, "the change is in the audit log");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the settings were never saved");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    s.close().await;
    Ok(())
}

/// A receipt's QR is its order number: scanned by the wedge while a manager is signed in, the
/// payment opens with the refund amount (what is left) ready; the clerk types no order number.
#[tokio::test(flavor = "multi_thread")]
async fn a_scanned_receipt_opens_its_payment_ready_for_a_refund() -> Result<(), Error> {
    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    let home = tempfile::tempdir()?;
    write_config(home.path(), &config_for(&sandbox.base_url()))?;
    let s = Session::start(home.path(), "manager").await?;
    wedge_sale(&s, "20.00").await?;
    let p = only_payment(home.path());

    // the receipt's QR, read by the scanner on the main screen
    s.wedge(&format!("{}\u{E007}", p.id)).await?;
    s.wait_for(&format!("[data-testid=payment-detail][data-id='{}']", p.id), Duration::from_secs(10)).await?;
    s.wait_text("[data-testid=detail-refundable]", "20.00", Duration::from_secs(10)).await?;
    let focused = s
        .client
        .execute("const e = document.activeElement; return [e && e.dataset.testid, e && e.value]", vec![])
        .await?;
    assert_eq!(focused, serde_json::json!(["refund-amount", "20.00"]), "the refund amount is ready");
    s.screenshot("receipt-scan-opens-refund.png").await?;
    assert_eq!(only_payment(home.path()).state, State::Paid, "a scanned receipt changes nothing");
    assert!(sandbox.truth().refunds.is_empty());
    s.close().await;
    Ok(())
}

/// A network receipt printer on loopback that keeps every byte it is sent, one slip a connection,
/// and answers each status request (`DLE EOT n`) with "ready" (the status requests are not kept).
struct TcpPrinter {
    slips: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl TcpPrinter {
    fn listen(port: u16) -> std::io::Result<TcpPrinter> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        let slips = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = slips.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let slip = TcpPrinter::serve(&mut conn);
                if !slip.is_empty() {
                    kept.lock().unwrap_or_else(|p| p.into_inner()).push(slip);
                }
            }
        });
        Ok(TcpPrinter { slips })
    }

    /// One connection until the cashier hangs up: the slip's bytes.
    fn serve(conn: &mut std::net::TcpStream) -> Vec<u8> {
        use std::io::{Read, Write};
        let (mut got, mut slip, mut at) = (Vec::new(), Vec::new(), 0);
        let mut buf = [0u8; 4096];
        loop {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
            while at < got.len() {
                if got[at] == 0x10 && at + 2 >= got.len() {
                    break; // maybe a status request cut in two: wait for the rest
                }
                if got[at] == 0x10 && got[at + 1] == 0x04 {
                    // bits 1 and 4 set, nothing else: online, cover shut, paper in
                    let _ = conn.write_all(&[0x12]);
                    at += 3;
                    continue;
                }
                slip.push(got[at]);
                at += 1;
            }
        }
        slip.extend_from_slice(&got[at.min(got.len())..]);
        slip
    }

    /// Waits for the `n`th slip and reads it back (text, QR, cut).
    async fn slip(&self, n: usize) -> Result<paydesk_core::print::decode::Decoded, Error> {
        let deadline = std::time::Instant::now() + SETTLE;
        loop {
            if let Some(bytes) = self.slips.lock().unwrap_or_else(|p| p.into_inner()).get(n - 1) {
                return Ok(paydesk_core::print::decode::decode(bytes));
            }
            if std::time::Instant::now() > deadline {
                return Err(format!("the printer got no slip {n}").into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The slip preview's lines as the window shows them.
async fn preview_lines(s: &Session) -> Result<Vec<String>, Error> {
    let v = s
        .client
        .execute("return [...document.querySelectorAll('[data-testid=slip-line]')].map(e => e.textContent)", vec![])
        .await?;
    Ok(serde_json::from_value(v)?)
}

/// The receipt prints by itself after a sale; with the printer off, the window says so and the
/// payment stands. Retry prints it once the printer is back. The preview in the payment's detail
/// is then of the marked copy, and printing it from there sends exactly its lines; audited.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_receipt_prints_on_retry_and_the_preview_is_what_printed() -> Result<(), Error> {
    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    let home = tempfile::tempdir()?;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let mut config = config_for(&sandbox.base_url());
    let mut printer = paydesk_core::config::PrinterConfig::new(format!("tcp://127.0.0.1:{port}"));
    printer.paper_mm = 58;
    printer.auto_print = true;
    printer.timeout_ms = 1000;
    printer.footer = "谢谢惠顾".into();
    config.printer = Some(printer);
    write_config(home.path(), &config)?;
    let s = Session::start(home.path(), "printer").await?;

    // The printer is off: the sale is paid, and the failed receipt is shown with what to do.
    wedge_sale(&s, "20.00").await?;
    let p = only_payment(home.path());
    s.wait_for("[data-testid=print-failed][data-kind=receipt][data-error=unreachable]", SETTLE).await?;
    s.wait_text("[data-testid=print-failed-text]", "打印机", Duration::from_secs(5)).await?;
    s.screenshot("print-failed-banner.png").await?;
    assert_eq!(only_payment(home.path()).state, State::Paid, "a failed print leaves the payment as it is");

    // The printer is back: Retry prints the receipt, and the banner goes.
    let printer = TcpPrinter::listen(port)?;
    s.click("[data-testid=print-retry]").await?;
    let printed = printer.slip(1).await?;
    s.wait_gone("[data-testid=print-failed]", SETTLE).await?;
    let texts = printed.texts();
    assert!(texts.iter().any(|t| t.contains(&p.id)), "the order number: {texts:?}");
    assert!(texts.iter().any(|t| t.contains("￥20.00")), "the amount with the full-width yuan sign: {texts:?}");
    assert!(texts.iter().any(|t| t.contains("谢谢惠顾")), "the footer: {texts:?}");
    assert_eq!(printed.qr_codes(), vec![p.id.as_str()], "the QR is the order number");
    assert!(printed.printed.iter().any(|b| matches!(b, paydesk_core::print::decode::Printed::Cut)));

    // The preview from the payment's detail: the receipt printed, so it is the copy printing it
    // again gives; printed from there, the printer gets exactly those lines, and it is audited.
    s.click(&format!("[data-testid=payment-row][data-id='{}']", p.id)).await?;
    s.click("[data-testid=detail-preview-receipt]").await?;
    s.wait_for("[data-testid=slip-qr]", Duration::from_secs(10)).await?;
    assert_eq!(s.attr("[data-testid=slip-paper-roll]", "data-columns").await?.as_deref(), Some("32"));
    assert_eq!(s.attr("[data-testid=slip-qr]", "data-data").await?.as_deref(), Some(p.id.as_str()));
    let shown = preview_lines(&s).await?;
    assert!(shown.iter().any(|l| l.contains("（补打）")), "the preview is of the copy: {shown:?}");
    s.screenshot("slip-preview-receipt.png").await?;
    s.click("[data-testid=slip-print]").await?;
    let copy = printer.slip(2).await?;
    assert_eq!(copy.texts(), shown.iter().map(String::as_str).collect::<Vec<_>>(), "the preview is what printed");
    assert_eq!(copy.qr_codes(), vec![p.id.as_str()]);
    s.wait_gone("[data-testid=slip-preview]", Duration::from_secs(10)).await?;
    let ledger = Ledger::open(&home.path().join("ledger.db"))?;
    let reprints =
        ledger.audit_log(&AuditFilter { action: Some("receipt_reprinted".into()), limit: 5, ..Default::default() })?;
    assert_eq!(reprints.len(), 1, "{reprints:?}");
    s.close().await;
    Ok(())
}

/// A manager sets the printer up on the Printer tab (network, a drawer), saves with the PIN, checks
/// it and prints the test page; the drawer opens only with the PIN and is audited.
#[tokio::test(flavor = "multi_thread")]
async fn the_printer_tab_sets_up_a_network_printer_and_prints_the_test_page() -> Result<(), Error> {
    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    let home = tempfile::tempdir()?;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let printer = TcpPrinter::listen(port)?;
    write_config(home.path(), &config_for(&sandbox.base_url()))?;
    let s = Session::start(home.path(), "printer-tab").await?;
    s.click("[data-testid=open-manager]").await?;
    s.click("[data-testid=tab-printer]").await?;
    s.click("[data-testid=printer-conn-tcp]").await?;
    s.type_into("[data-testid=printer-host]", &format!("127.0.0.1:{port}")).await?;
    s.type_into("[data-testid=printer-footer]", "欢迎再来").await?;
    s.click("[data-testid=printer-drawer]").await?;
    s.wait_for("[data-testid=printer-save-first]", Duration::from_secs(5)).await?;
    s.click("[data-testid=printer-save]").await?;
    s.approve(MANAGER.0, MANAGER.1).await?;
    s.wait_for("[data-testid=printer-saved]", Duration::from_secs(10)).await?;
    let saved = paydesk_core::config::Config::load(&home.path().join("config.toml"))?;
    let p = saved.printer.ok_or("no [printer] saved")?;
    assert_eq!(p.address, format!("tcp://127.0.0.1:{port}"));
    assert_eq!((p.footer.as_str(), p.paper_mm, p.auto_print), ("欢迎再来", 80, true));
    assert!(p.drawer.is_some(), "the drawer is saved");

    s.click("[data-testid=printer-check]").await?;
    s.wait_text("[data-testid=printer-check-result][data-ready=true]", "打印机就绪", Duration::from_secs(10)).await?;
    s.click("[data-testid=printer-test]").await?;
    let test = printer.slip(1).await?;
    assert!(test.texts().iter().any(|t| t.contains('￥')), "the test page has the yuan sign: {:?}", test.texts());
    assert_eq!(test.qr_codes(), vec!["paydesk"]);
    s.screenshot("printer-tab-saved.png").await?;

    s.click("[data-testid=printer-open-drawer]").await?;
    s.approve(MANAGER.0, MANAGER.1).await?;
    let kick = printer.slip(2).await?;
    assert!(
        kick.printed.iter().any(|b| matches!(b, paydesk_core::print::decode::Printed::Drawer { pin: 2, .. })),
        "a drawer kick on pin 2: {:?}",
        kick.printed
    );
    let ledger = Ledger::open(&home.path().join("ledger.db"))?;
    let opened =
        ledger.audit_log(&AuditFilter { action: Some("drawer_opened".into()), limit: 5, ..Default::default() })?;
    assert_eq!(opened.len(), 1, "{opened:?}");
    s.close().await;
    Ok(())
}

/// The ledger's check runs once the window is up. A ledger whose payments table is damaged
/// opens (its first pages are whole), then fails the check: the window says so in the clerk's
/// language and offers nothing, and the file is left exactly as it was.
#[tokio::test(flavor = "multi_thread")]
async fn a_ledger_that_fails_its_check_is_refused_in_the_window_and_left_as_it_is() -> Result<(), Error> {
    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    let home = tempfile::tempdir()?;
    write_config(home.path(), &config_for(&sandbox.base_url()))?;
    let s = Session::start(home.path(), "ledger-damaged").await?;
    wedge_sale(&s, "20.00").await?;
    s.close().await;

    let path = home.path().join("ledger.db");
    let root: i64 = {
        Ledger::open(&path)?.checkpoint()?;
        let conn = rusqlite::Connection::open(&path)?;
        conn.query_row("SELECT rootpage FROM sqlite_master WHERE name = 'payments'", [], |r| r.get(0))?
    };
    let _ = std::fs::remove_file(home.path().join("ledger.db-wal"));
    let mut bytes = std::fs::read(&path)?;
    let (page, root) = (4096, root as usize);
    bytes[(root - 1) * page + 8..root * page].fill(0xA5);
    std::fs::write(&path, &bytes)?;

    let s = Session::launch(home.path(), "ledger-damaged-again").await?;
    s.wait_text("[data-testid=error-message]", "账本文件已损坏", SETTLE).await?;
    assert!(!s.present("[data-testid=action-scan]").await, "no payment can be started");
    s.screenshot("ledger-damaged.png").await?;
    s.close().await;
    assert_eq!(std::fs::read(&path)?, bytes, "never written, repaired or recreated");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn manager_refund_needs_the_pin_and_the_reports_show_it() -> Result<(), Error> {
    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    let home = tempfile::tempdir()?;
    write_config(home.path(), &config_for(&sandbox.base_url()))?;
    // A new ledger: the window asks for the first manager, who is then signed in.
    let s = Session::start(home.path(), "manager").await?;
    s.screenshot("manager-signed-in.png").await?;
    let who =
        s.client.execute("return document.querySelector('[data-testid=session-user]').textContent", vec![]).await?;
    assert!(who.as_str().unwrap_or_default().contains(MANAGER.0), "the header names who is signed in: {who}");
    wedge_sale(&s, "20.00").await?;
    let p = only_payment(home.path());
    assert_eq!(p.clerk.as_deref(), Some(MANAGER.0), "the payment names who took it");

    // The payment's detail: refund 5.00 with a reason; a wrong PIN first changes nothing.
    s.click(&format!("[data-testid=payment-row][data-id='{}']", p.id)).await?;
    s.wait_text("[data-testid=detail-refundable]", "20.00", Duration::from_secs(10)).await?;
    // Its history reads in Chinese: where the code came from, no English, no JSON.
    s.wait_text("[data-testid=detail-event][data-kind=created]", "来源：扫码枪", Duration::from_secs(10)).await?;
    s.type_into("[data-testid=refund-amount]", "5.00").await?;
    s.type_into("[data-testid=refund-reason]", "顾客退货").await?;
    s.click("[data-testid=refund-submit]").await?;
    // The PIN prompt says what it approves: the action, the amount and the order.
    let last4 = &p.id[p.id.len() - 4..];
    let asked = s.wait_text("[data-testid=pin-prompt-action]", "¥5.00", Duration::from_secs(10)).await?;
    assert!(asked.contains("退款") && asked.contains(last4), "{asked}");
    s.screenshot("pin-prompt-says-what.png").await?;
    s.approve(MANAGER.0, "1111").await?;
    s.wait_text("[data-testid=pin-prompt-error]", "PIN", Duration::from_secs(10)).await?;
    assert!(sandbox.truth().refunds.is_empty(), "a wrong PIN refunds nothing");
    s.click("[data-testid=pin-prompt-clear]").await?;
    for d in MANAGER.1.chars() {
        s.click(&format!("[data-testid=pin-prompt-key-{d}]")).await?;
    }
    s.click("[data-testid=pin-prompt-ok]").await?;
    s.wait_for("[data-testid=refund-row][data-state=succeeded]", SETTLE).await?;
    s.wait_text("[data-testid=detail-refundable]", "15.00", Duration::from_secs(10)).await?;
    // Refunds show: the detail and the list say 部分退款, never the green 已支付.
    s.wait_text("[data-testid=detail-status]", "部分退款", Duration::from_secs(10)).await?;
    s.screenshot("payment-detail-refunded.png").await?;
    let truth = sandbox.truth();
    assert_eq!(truth.refunds.iter().map(|r| r.amount_fen).collect::<Vec<_>>(), [500]);
    let ledger = Ledger::open(&home.path().join("ledger.db"))?;
    let refunds = ledger.refunds_of(&p.id)?;
    assert_eq!(refunds[0].approved_by.as_deref(), Some(MANAGER.0));
    s.click("[data-testid=detail-close]").await?;
    s.wait_text(
        &format!("[data-testid=payment-row][data-id='{}'] [data-testid=row-status]", p.id),
        "部分退款",
        Duration::from_secs(10),
    )
    .await?;
    s.screenshot("list-partly-refunded.png").await?;

    // The manager area: today's report shows the refund; the audit log has it.
    s.click("[data-testid=open-manager]").await?;
    s.click("[data-testid=tab-reports]").await?;
    s.wait_text("[data-testid=report-net]", "15.00", Duration::from_secs(10)).await?;
    s.wait_for("[data-testid=hourly-chart] canvas", Duration::from_secs(10)).await?;
    s.screenshot("manager-reports.png").await?;
    assert!(s.present("[data-testid=export-pick-dir]").await, "exports can go to a folder the manager picks");
    let js = "const t = document.querySelector('[data-group=byTerminal]'); t.scrollIntoView(); \
              const r = t.getBoundingClientRect(); const row = t.querySelector('tbody tr'); \
              return [r.right <= innerWidth + 0.5, t.scrollWidth <= t.clientWidth + 1, row ? row.textContent : ''];";
    let terminals = s.client.execute(js, vec![]).await?;
    s.screenshot("manager-reports-terminals.png").await?;
    assert_eq!((terminals[0].as_bool(), terminals[1].as_bool()), (Some(true), Some(true)), "cut off: {terminals}");
    s.click("[data-testid=tab-shift]").await?;
    s.wait_for("[data-testid=x-report]", Duration::from_secs(10)).await?;
    // The first shift's period starts at a real time, not "—".
    let x = s.wait_text("[data-testid=x-report]", " – ", Duration::from_secs(10)).await?;
    assert!(!x.contains("— –"), "the X period has a start: {x}");
    s.screenshot("manager-shift.png").await?;
    s.click("[data-testid=tab-audit]").await?;
    s.wait_for("[data-testid=audit-row][data-action=refund]", Duration::from_secs(10)).await?;
    s.wait_for("[data-testid=audit-row][data-action=pin_failed]", Duration::from_secs(10)).await?;
    let audit =
        s.wait_text("[data-testid=audit-row][data-action=refund]", "金额 ¥5.00", Duration::from_secs(10)).await?;
    assert!(!audit.contains('{') && !audit.contains("amount_fen"), "the audit log reads as words: {audit}");
    // Dates read and are typed YYYY-MM-DD in Chinese, not as the machine's locale (12/03/2026).
    assert_eq!(s.attr("[data-testid=audit-filter-from]", "placeholder").await?.as_deref(), Some("YYYY-MM-DD"));
    assert_eq!(s.attr("[data-testid=audit-filter-from]", "type").await?.as_deref(), Some("text"));
    s.screenshot("manager-audit.png").await?;
    // Find the payment by the last four digits of the customer's code.
    s.click("[data-testid=tab-payments]").await?;
    s.type_into("[data-testid=payments-search]", "0010\u{E007}").await?;
    s.wait_for(
        &format!("[data-testid=payments-found] [data-testid=payment-row][data-id='{}']", p.id),
        Duration::from_secs(10),
    )
    .await?;
    s.screenshot("manager-payments-search.png").await?;
    s.close().await;
    Ok(())
}

/// Reconciliation in the manager area: a day of WeChat Pay's bill (the sandbox's, with a charge
/// the ledger holds failed) shows the difference; the manager resolves it with a reason and the
/// PIN, and the payment becomes paid, late.
#[tokio::test(flavor = "multi_thread")]
async fn manager_reconciles_a_day_and_resolves_the_difference() -> Result<(), Error> {
    let sandbox = Sandbox::start(SandboxOptions { bills_ready_same_day: true, ..SandboxOptions::default() }).await?;
    let home = tempfile::tempdir()?;
    write_config(home.path(), &config_for(&sandbox.base_url()))?;
    let s = Session::start(home.path(), "recon").await?;
    // Refused for insufficient funds: failed in the ledger; the bill will say it was charged.
    s.keypad("66.00").await?;
    s.click("[data-testid=action-scan]").await?;
    s.wait_for("[data-testid=scan-overlay]", Duration::from_secs(10)).await?;
    s.wedge("130000000000000091\u{E007}").await?;
    s.wait_for("[data-testid=result-failure]", SETTLE).await?;
    s.click("[data-testid=result-done]").await?;
    let p = only_payment(home.path());
    assert_eq!((p.channel.as_str(), p.state), ("wechat", State::Failed));
    let today = paydesk_core::engine::recon::day_of(paydesk_core::ledger::now_ms()).to_string();
    sandbox.set_bill_faults(paydesk_sandbox::BillFaults {
        extra_charges: vec![paydesk_sandbox::ExtraCharge {
            channel: "wechat".into(),
            order_no: p.id.clone(),
            amount_fen: 6_600,
            day: today.clone(),
        }],
        ..Default::default()
    });

    s.click("[data-testid=open-manager]").await?;
    s.click("[data-testid=tab-recon]").await?;
    s.wait_for("[data-testid=recon-chart]", Duration::from_secs(10)).await?;
    s.client
        .execute(
            "const e = document.querySelector('[data-testid=recon-channel]'); e.value = 'wechat'; \
             e.dispatchEvent(new Event('change'));",
            vec![],
        )
        .await?;
    // Typed, then the button clicked at once, as a manager does: the day typed is the day run.
    s.type_into("[data-testid=recon-day]", &today).await?;
    s.click("[data-testid=recon-run]").await?;
    let found = s
        .wait_text(
            &format!("[data-testid=recon-difference][data-kind=charged_not_paid][data-order='{}']", p.id),
            "66.00",
            Duration::from_secs(20),
        )
        .await?;
    assert!(found.contains("渠道已扣款"), "the difference reads in Chinese: {found}");
    let row = format!("[data-testid=recon-run-row][data-channel=wechat][data-day='{today}']");
    s.wait_for(&format!("{row}[data-unresolved='1']"), Duration::from_secs(10)).await?;
    s.screenshot("manager-reconciliation.png").await?;

    s.type_into("[data-testid=recon-reason]", "账单显示已扣款").await?;
    s.click("[data-testid=recon-resolve]").await?;
    let asked = s.wait_text("[data-testid=pin-prompt-action]", "对账", Duration::from_secs(10)).await?;
    assert!(asked.contains(&p.id), "the prompt names the order: {asked}");
    s.approve(MANAGER.0, MANAGER.1).await?;
    s.wait_text("[data-testid=recon-resolution]", "账单显示已扣款", Duration::from_secs(10)).await?;
    s.wait_for(&format!("{row}[data-unresolved='0']"), Duration::from_secs(10)).await?;
    s.screenshot("manager-reconciliation-resolved.png").await?;
    // The same run in English: every text from the core follows the language.
    s.click("[data-testid=lang-toggle]").await?;
    s.wait_text("[data-testid=recon-detail]", "Charged, not paid in the ledger", Duration::from_secs(10)).await?;
    s.wait_text("[data-testid=recon-resolution]", "Record paid (late)", Duration::from_secs(10)).await?;
    s.screenshot("manager-reconciliation-en.png").await?;
    let ledger = Ledger::open(&home.path().join("ledger.db"))?;
    let now = ledger.payment(&p.id)?;
    assert_eq!((now.state, now.late), (State::Paid, true), "paid, late: {now:?}");
    s.close().await;
    Ok(())
}

/// A chain of two tills on a real PostgreSQL: the window's till (SH001) takes a payment and
/// uploads it by itself; another till (SH002, a cashier of the core in this process) uploads its
/// own. The manager header says how far the upload reaches; the Chain tab shows both tills'
/// money, in Chinese and English, and fits the screens stores use; with the server stopped the
/// header says offline and the tab says why, and payments go on.
#[tokio::test(flavor = "multi_thread")]
async fn chain_tab_shows_every_till_and_the_upload_line() -> Result<(), Error> {
    use paydesk_core::config::{Config, SyncConfig, SyncTls};
    use paydesk_core::hq::{schema, Server};
    use paydesk_sandbox::postgres::{Postgres, OWNER};

    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    let pg = Postgres::start()?;
    pg.create_database("chain")?;
    let keys = tempfile::tempdir()?;
    let (owner_pass, till_pass) = (keys.path().join("owner.pass"), keys.path().join("till.pass"));
    pg.write_password_file(&owner_pass, pg.owner_password())?;
    pg.write_password_file(&till_pass, "e2e-till-secret")?;
    let owner = Server {
        url: pg.url(OWNER, "chain"),
        password_file: Some(owner_pass),
        tls: SyncTls::Verify,
        ca_file: Some(pg.ca_file()),
    };
    schema::migrate(&mut owner.connect().await?).await?;
    pg.psql("chain", "CREATE ROLE e2e_till LOGIN PASSWORD 'e2e-till-secret' IN ROLE paydesk_till")?;
    let sync = |store: &str| SyncConfig {
        url: pg.url("e2e_till", "chain"),
        store: store.into(),
        password_file: Some(till_pass.clone()),
        tls: SyncTls::Verify,
        ca_file: Some(pg.ca_file()),
        interval_ms: 500,
        batch: 500,
        chain_reports: true,
    };

    // The other till: its own folder and ledger, a 12.34 sale, uploaded.
    let other = tempfile::tempdir()?;
    let mut other_config = config_for(&sandbox.base_url());
    other_config.terminal.code = "T09".into();
    other_config.sync = Some(sync("SH002"));
    write_config(other.path(), &other_config)?;
    let other_path = other.path().join("config.toml");
    let cashier = paydesk_core::engine::Cashier::open(Config::load(&other_path)?, &other_path, None)?;
    let sale = cashier.start_barcode(&paydesk_core::engine::BarcodeRequest {
        channel: "alipay",
        amount_text: "12.34",
        code: "280000000000000010",
        source: "test",
        subject: None,
        charge: None,
    })?;
    assert_eq!(cashier.wait_settled(&sale.id).await?.payment.state, State::Paid);
    paydesk_core::hq::upload::Uploader::from_config(cashier.config(), cashier.ledger().path())
        .ok_or("the other till has [sync]")?
        .push_until_caught_up()
        .await?;

    // The window's till: a 20.00 sale.
    let home = tempfile::tempdir()?;
    let mut config = config_for(&sandbox.base_url());
    config.sync = Some(sync("SH001"));
    write_config(home.path(), &config)?;
    let s = Session::start(home.path(), "chain").await?;
    wedge_sale(&s, "20.00").await?;

    s.click("[data-testid=open-manager]").await?;
    s.wait_text("[data-testid=sync-status]", "已同步至", Duration::from_secs(20)).await?;
    s.click("[data-testid=tab-chain]").await?;
    // Both tills' money: 20.00 + 12.34 (the window's upload may take a moment: refresh until in).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while s.attr("[data-testid=chain-totals]", "data-net-fen").await?.as_deref() != Some("3234") {
        assert!(std::time::Instant::now() < deadline, "the chain's net is both tills' sales");
        tokio::time::sleep(Duration::from_millis(500)).await;
        s.click("[data-testid=chain-refresh]").await?;
    }
    s.wait_for("[data-testid=chain-chart] canvas", Duration::from_secs(10)).await?;
    s.wait_for("[data-testid=chain-tills] [data-till='SH001/E2E01']", Duration::from_secs(10)).await?;
    s.wait_for("[data-testid=chain-tills] [data-till='SH002/T09']", Duration::from_secs(10)).await?;
    let stores = s.wait_text("[data-group=byStore]", "SH002", Duration::from_secs(10)).await?;
    assert!(stores.contains("SH001") && stores.contains("12.34") && stores.contains("20.00"), "{stores}");
    s.screenshot("chain-tab.png").await?;
    assert_chain_fits(&s).await?;

    // The chain's CSV: both tills' payments.
    s.click("[data-testid=chain-export-payments]").await?;
    s.wait_for("[data-testid=chain-export-path]", Duration::from_secs(10)).await?;
    assert_eq!(s.attr("[data-testid=chain-export-path]", "data-rows").await?.as_deref(), Some("2"));

    // In English: the names come from the core in the new language.
    s.click("[data-testid=manager-close]").await?;
    s.click("[data-testid=lang-toggle]").await?;
    s.click("[data-testid=open-manager]").await?;
    s.click("[data-testid=tab-chain]").await?;
    s.wait_text("[data-testid=chain-tills]", "Synced to", Duration::from_secs(20)).await?;
    s.wait_text("[data-testid=sync-status]", "Synced to", Duration::from_secs(20)).await?;
    s.screenshot("chain-tab-en.png").await?;
    assert_chain_fits(&s).await?;
    s.click("[data-testid=manager-close]").await?;
    s.click("[data-testid=lang-toggle]").await?;

    // The server goes away: the header says offline, the tab says why; a payment still goes through.
    pg.stop()?;
    wedge_sale(&s, "3.00").await?;
    s.click("[data-testid=open-manager]").await?;
    s.wait_text("[data-testid=sync-status]", "离线", Duration::from_secs(20)).await?;
    s.click("[data-testid=tab-chain]").await?;
    s.wait_text("[data-testid=chain-error]", "总部数据库", Duration::from_secs(20)).await?;
    s.screenshot("chain-offline.png").await?;
    // Back on: the window's till sends what it took meanwhile.
    pg.start_again()?;
    s.wait_text("[data-testid=sync-status]", "已同步至", Duration::from_secs(90)).await?;
    let client = owner.connect().await?;
    let n: i64 = client
        .query_one("SELECT count(*) FROM paydesk.payments WHERE till_id = 'SH001/E2E01' AND state = 'paid'", &[])
        .await?
        .get(0);
    assert_eq!(n, 2, "the sale taken offline reached the chain");
    s.close().await;
    Ok(())
}

/// The Chain tab and each of its tables fit the window: nothing to scroll sideways to read a net.
async fn assert_chain_fits(s: &Session) -> Result<(), Error> {
    let js = "const all = [document.querySelector('[data-testid=chain]'), \
                ...document.querySelectorAll('[data-testid=chain] .table-wrap')]; \
              return all.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.dataset.group || 'tab');";
    let cut = s.client.execute(js, vec![]).await?;
    assert_eq!(cut, serde_json::json!([]), "cut off on the right");
    Ok(())
}
