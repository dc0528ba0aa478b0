//! The counter as a clerk lives it, through the real window on the screens stores use (1366×768,
//! the common cheap POS panel, and 1280×800), in Chinese and English: the window fits its screen,
//! a sale is amount → scan → done, "paid" goes back to the keypad by itself, and the customer
//! display never covers the clerk window on a single screen. Screenshots land
//! in `target/e2e/counter-*.png`.

use paydesk_core::i18n::Lang;
use paydesk_core::ledger::{Ledger, State};
use paydesk_e2e::{config_for, write_config, Error, Screen, Session, DEMO_CLERK, MANAGER};
use paydesk_sandbox::{Sandbox, SandboxOptions};
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(30);
const SCREENS: [(u32, u32); 2] = [(1366, 768), (1280, 800)];
const LANGS: [Lang; 2] = [Lang::Zh, Lang::En];

fn lang_tag(lang: Lang) -> &'static str {
    lang.pick("zh", "en")
}

/// A till of its own on a screen of `size`, in `lang`: its Xvfb server, sandbox and data folder,
/// the config as `tweak` leaves it, signed in (the first manager).
struct Till {
    s: Session,
    home: tempfile::TempDir,
    _sandbox: Sandbox,
    _screen: Screen,
}

async fn till(
    size: (u32, u32),
    lang: Lang,
    name: &str,
    tweak: impl FnOnce(&mut paydesk_core::config::Config),
) -> Result<Till, Error> {
    let screen = Screen::start(size.0, size.1).await?;
    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    let home = tempfile::tempdir()?;
    let mut config = config_for(&sandbox.base_url());
    config.language = lang;
    tweak(&mut config);
    write_config(home.path(), &config)?;
    let s = Session::start_on(home.path(), name, Some(&screen)).await?;
    Ok(Till { s, home, _sandbox: sandbox, _screen: screen })
}

/// What the counter must show whole: the amount, the keypad's corners and both tender buttons.
const COUNTER_PARTS: &[&str] = &[
    "[data-testid=amount-display]",
    "[data-testid=key-0]",
    "[data-testid=key-clear]",
    "[data-testid=action-scan]",
    "[data-testid=action-qr]",
];

/// The window fills its screen, and the keypad, the amount and both tender buttons are wholly on
/// it (none pushed off by a wrapped row).
async fn assert_fits(s: &Session, size: (u32, u32)) -> Result<(), Error> {
    assert_parts_fit(s, size, COUNTER_PARTS).await
}

async fn assert_parts_fit(s: &Session, (width, height): (u32, u32), parts: &[&str]) -> Result<(), Error> {
    let js = r#"
        const box = (sel) => { const r = document.querySelector(sel)?.getBoundingClientRect();
                               return r ? [r.left, r.top, r.right, r.bottom] : null; };
        return { screen: [screen.width, screen.height], window: [window.screenX, window.screenY,
                 window.outerWidth, window.outerHeight], view: [innerWidth, innerHeight],
                 parts: arguments[0].map((s) => [s, box(s)]) };"#;
    let got = s.client.execute(js, vec![serde_json::json!(parts)]).await?;
    let n = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let w = &got["window"];
    assert_eq!((n(&got["screen"][0]), n(&got["screen"][1])), (width as f64, height as f64), "{got}");
    assert!(n(&w[0]) >= 0.0 && n(&w[1]) >= 0.0, "the window starts on the screen: {got}");
    assert!(n(&w[0]) + n(&w[2]) <= width as f64 && n(&w[1]) + n(&w[3]) <= height as f64, "and ends on it: {got}");
    assert!(n(&w[2]) >= width as f64 - 1.0 && n(&w[3]) >= height as f64 - 1.0, "maximised: {got}");
    let (vw, vh) = (n(&got["view"][0]), n(&got["view"][1]));
    for part in got["parts"].as_array().into_iter().flatten() {
        let r = &part[1];
        assert!(!r.is_null(), "{} is drawn: {got}", part[0]);
        assert!(
            n(&r[0]) >= 0.0 && n(&r[1]) >= 0.0 && n(&r[2]) <= vw + 0.5 && n(&r[3]) <= vh + 0.5,
            "{} is wholly on screen ({vw}×{vh}): {r}",
            part[0]
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sale_is_amount_then_scan_and_paid_goes_back_by_itself() -> Result<(), Error> {
    for size in SCREENS {
        for lang in LANGS {
            let name = format!("counter-{}x{}-{}", size.0, size.1, lang_tag(lang));
            let Till { s, home, _sandbox, _screen } = till(size, lang, &name, |c| {
                c.counter.paid_close_seconds = 3;
                // One screen: the customer display would cover the clerk window, so it stays shut.
                c.display.enabled = true;
            })
            .await?;
            assert_fits(&s, size).await?;
            assert_eq!(s.client.windows().await?.len(), 1, "no customer display on a single screen");

            // Amount, then the customer's code on the wedge scanner: no Enter, no button.
            s.keypad("12.34").await?;
            s.wait_for("[data-testid=scan-ready]", Duration::from_secs(5)).await?;
            s.screenshot(&format!("{name}-armed.png")).await?;
            s.wedge("280000000000000010\u{E007}").await?;
            s.wait_for("[data-testid=result-success]", SETTLE).await?;
            s.screenshot(&format!("{name}-paid.png")).await?;
            let ledger = Ledger::open(&home.path().join("ledger.db"))?;
            let all = ledger.payments_created_between(0, i64::MAX, 10)?;
            assert_eq!(all.len(), 1, "{all:?}");
            assert_eq!((all[0].state, all[0].amount.0), (State::Paid, 1234));
            let events = ledger.events(&all[0].id)?;
            assert!(events.iter().any(|e| e.detail["source"] == "wedge"), "a wedge scan: {events:?}");

            // "Paid" closes by itself; the keypad is empty for the next sale.
            s.wait_gone("[data-testid=result-success]", Duration::from_secs(8)).await?;
            let typed = s.wait_for("[data-testid=amount-display] .typed", Duration::from_secs(5)).await?;
            assert_eq!(typed.text().await?.trim(), "");
            assert!(!s.present("[data-testid=scan-ready]").await, "nothing typed, nothing armed");

            // A scan with no amount still explains itself, and pays nothing.
            s.wedge("280000000000000011\u{E007}").await?;
            let needle = match lang {
                Lang::Zh => "请先输入金额",
                Lang::En => "enter the amount first",
            };
            s.wait_text("[data-testid=notice]", needle, Duration::from_secs(10)).await?;
            s.screenshot(&format!("{name}-no-amount.png")).await?;
            assert_eq!(ledger.payments_created_between(0, i64::MAX, 10)?.len(), 1);
            s.click("[data-testid=notice] button").await?;

            // A WeChat code while the ABC (Alipay) channel is selected goes to WeChat Pay by
            // itself: the clerk never picks a channel for a scan.
            s.keypad("5.67").await?;
            s.wait_for("[data-testid=scan-ready]", Duration::from_secs(5)).await?;
            s.wedge("130000000000000010\u{E007}").await?;
            s.wait_for("[data-testid=result-success]", SETTLE).await?;
            s.screenshot(&format!("{name}-wechat-paid.png")).await?;
            let all = ledger.payments_created_between(0, i64::MAX, 10)?;
            let wechat = all.iter().find(|p| p.amount.0 == 567).expect("the WeChat payment");
            assert_eq!((wechat.channel.as_str(), wechat.state), ("wechat", State::Paid));
            s.close().await;
        }
    }
    Ok(())
}

/// The window fits every screen a store may have, in both languages: nothing is pushed off by a
/// wrapped row of channel buttons, and the window starts on the screen.
#[tokio::test(flavor = "multi_thread")]
async fn the_window_fits_every_screen_from_1024x768_to_1920x1080() -> Result<(), Error> {
    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    for size in [(1024, 768), (1366, 768), (1280, 800), (1920, 1080)] {
        let name = format!("fit-{}x{}", size.0, size.1);
        let screen = Screen::start(size.0, size.1).await?;
        let home = tempfile::tempdir()?;
        let config = config_for(&sandbox.base_url());
        write_config(home.path(), &config)?;
        let api = paydesk_e2e::TerminalApi::of(home.path(), &config);
        let s = Session::start_on(home.path(), &name, Some(&screen)).await?;
        s.keypad("88.88").await?;
        assert_fits(&s, size).await?;
        s.screenshot(&format!("{name}-zh.png")).await?;
        s.click("[data-testid=lang-toggle]").await?;
        s.wait_text("[data-testid=action-qr]", "QR", Duration::from_secs(10)).await?;
        assert_fits(&s, size).await?;
        s.screenshot(&format!("{name}-en.png")).await?;
        // A charge pushed by the ordering system: its banner, the wallets row and the keypad fit too.
        api.push(&format!("ERP-{}", size.0), 3600, "两份套餐 Two set meals", Some("qr")).await?;
        s.wait_for("[data-testid=charge-banner]", Duration::from_secs(10)).await?;
        // On Lakala the wallets row shows as well: the tallest counter there is.
        s.click("[data-testid=channel-lakala]").await?;
        s.wait_for("[data-testid=method-picker]", Duration::from_secs(5)).await?;
        let mut with_charge = COUNTER_PARTS.to_vec();
        with_charge[0] = "[data-testid=charge-banner]";
        with_charge.push("[data-testid=method-picker]");
        s.screenshot(&format!("{name}-charge-en.png")).await?;
        assert_parts_fit(&s, size, &with_charge).await?;
        s.close().await;
    }
    Ok(())
}

/// One stray Esc never drops a customer's payment: the first asks, the second cancels; and a QR
/// the clerk cancelled on purpose ends on a neutral "cancelled, nothing collected". On the way,
/// F4 picks the wallet and the QR names it.
#[tokio::test(flavor = "multi_thread")]
async fn esc_asks_before_it_cancels_and_a_cancelled_qr_is_not_a_failure() -> Result<(), Error> {
    const ESC: &str = "\u{E00C}";
    for size in SCREENS {
        for lang in LANGS {
            let name = format!("cancel-{}x{}-{}", size.0, size.1, lang_tag(lang));
            let Till { s, home, _sandbox, _screen } = till(size, lang, &name, |_| {}).await?;
            // Lakala closes a shown QR at the channel (abc cannot: its order stays open, "not confirmed").
            s.click("[data-testid=channel-lakala]").await?;
            // F4 switches the wallet (支付宝 → 微信); the QR then says which app to open.
            s.wedge("\u{E034}").await?;
            s.wait_for("[data-testid=method-WECHAT][aria-pressed=true]", Duration::from_secs(5)).await?;
            s.keypad("9.90").await?;
            s.click("[data-testid=action-qr]").await?;
            s.wait_for("[data-testid=qr-image]", SETTLE).await?;
            s.wait_for("[data-testid=wallet-marks][data-wallets=wechat]", Duration::from_secs(5)).await?;
            s.wedge(ESC).await?;
            s.wait_for("[data-testid=cancel][data-asked=true]", Duration::from_secs(5)).await?;
            s.screenshot(&format!("{name}-asked.png")).await?;
            assert!(s.present("[data-testid=qr-image]").await, "one Esc leaves the QR up");
            s.wedge(ESC).await?;
            s.wait_for("[data-testid=result-cancelled]", SETTLE).await?;
            assert!(!s.present("[data-testid=result-failure]").await);
            s.screenshot(&format!("{name}-cancelled.png")).await?;
            let ledger = Ledger::open(&home.path().join("ledger.db"))?;
            let all = ledger.payments_created_between(0, i64::MAX, 10)?;
            assert_eq!(all[0].state, State::Closed, "closed at the channel, nothing collected");
            s.close().await;
        }
    }
    Ok(())
}

/// The sign-in screen works without a mouse: arrows pick the user, digits type the PIN, Enter.
#[tokio::test(flavor = "multi_thread")]
async fn signing_in_by_keyboard_alone() -> Result<(), Error> {
    for size in SCREENS {
        sign_in_by_keys(size).await?;
    }
    Ok(())
}

async fn sign_in_by_keys(size: (u32, u32)) -> Result<(), Error> {
    let home = tempfile::tempdir()?;
    // A first run writes the demo profile, whose clerks sign in.
    let screen = Screen::start(size.0, size.1).await?;
    let s = Session::launch_on(home.path(), &format!("sign-in-keys-{}x{}", size.0, size.1), Some(&screen)).await?;
    s.wait_for("[data-testid=sign-in-user]", Duration::from_secs(30)).await?;
    let picked = "[data-testid=sign-in-user][aria-pressed=true]";
    let mut tries = 0;
    while !s.present(picked).await || s.wait_text(picked, DEMO_CLERK.0, Duration::from_millis(300)).await.is_err() {
        s.wedge("\u{E015}").await?; // ArrowDown
        tries += 1;
        assert!(tries < 10, "the arrows never reached {}", DEMO_CLERK.0);
    }
    // And back and forth: the arrows really move the pick.
    s.wedge("\u{E013}").await?; // ArrowUp
    let other = s.wait_for(picked, Duration::from_secs(5)).await?.text().await?;
    assert!(!other.contains(DEMO_CLERK.0), "ArrowUp moved off {}: {other}", DEMO_CLERK.0);
    s.wedge("\u{E015}").await?;
    s.wait_text(picked, DEMO_CLERK.0, Duration::from_secs(5)).await?;
    s.screenshot(&format!("sign-in-by-keyboard-{}x{}.png", size.0, size.1)).await?;
    s.wedge(&format!("{}\u{E007}", DEMO_CLERK.1)).await?;
    s.wait_for("[data-testid=action-scan]", Duration::from_secs(15)).await?;
    s.wait_text("[data-testid=session-user]", DEMO_CLERK.0, Duration::from_secs(5)).await?;
    s.close().await;
    Ok(())
}

/// A second copy of the app on the same data folder is refused with a message (and brings the
/// first to the front); the first keeps running.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_copy_on_the_same_folder_is_refused() -> Result<(), Error> {
    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    let home = tempfile::tempdir()?;
    write_config(home.path(), &config_for(&sandbox.base_url()))?;
    let s = Session::start(home.path(), "second-copy").await?;
    let second = tokio::process::Command::new(paydesk_e2e::app_binary())
        .env("PAYDESK_HOME", home.path())
        .stdin(std::process::Stdio::null())
        .output();
    let second = tokio::time::timeout(Duration::from_secs(20), second).await??;
    let said = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{said}");
    assert!(said.contains("已在使用此数据文件夹") && said.contains("already running"), "{said}");
    s.keypad("1.00").await?;
    s.wait_for("[data-testid=scan-ready]", Duration::from_secs(5)).await?;
    s.close().await;
    Ok(())
}

/// A manager disables a clerk: the clerk leaves the sign-in screen and cannot sign in; the
/// change needs the manager's PIN and is in the audit log.
#[tokio::test(flavor = "multi_thread")]
async fn a_manager_disables_a_clerk_who_then_cannot_sign_in() -> Result<(), Error> {
    for size in SCREENS {
        for lang in LANGS {
            let name = format!("users-{}x{}-{}", size.0, size.1, lang_tag(lang));
            disable_a_clerk(size, lang, &name).await?;
        }
    }
    Ok(())
}

async fn disable_a_clerk(size: (u32, u32), lang: Lang, name: &str) -> Result<(), Error> {
    use paydesk_core::ledger::{AuditFilter, Role};
    use paydesk_core::people::{Action, People};
    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    let home = tempfile::tempdir()?;
    let screen = Screen::start(size.0, size.1).await?;
    let mut config = config_for(&sandbox.base_url());
    config.language = lang;
    write_config(home.path(), &config)?;
    {
        let ledger = std::sync::Arc::new(Ledger::open(&home.path().join("ledger.db"))?);
        let people = People::new(ledger, config.people.clone());
        let m = people.create_first_manager(MANAGER.0, MANAGER.1)?;
        let ok = people.approve(m.user_id, MANAGER.1, Action::AddUser)?;
        people.add_user(&ok, "李收银", Role::Clerk, "2468")?;
    }
    let s = Session::launch_on(home.path(), name, Some(&screen)).await?;
    s.sign_in(MANAGER.0, MANAGER.1).await?;
    s.wait_for("[data-testid=action-scan]", Duration::from_secs(15)).await?;
    s.click("[data-testid=open-manager]").await?;
    s.click("[data-testid=tab-users]").await?;
    let clerk_row = "[data-testid=user-row][data-role=clerk]";
    s.wait_for(&format!("{clerk_row} [data-testid=user-disable]"), Duration::from_secs(10)).await?;
    s.click(&format!("{clerk_row} [data-testid=user-disable]")).await?;
    s.wait_text("[data-testid=pin-prompt-action]", "李收银", Duration::from_secs(10)).await?;
    s.approve(MANAGER.0, MANAGER.1).await?;
    s.wait_for(&format!("{clerk_row}[data-disabled=true]"), Duration::from_secs(10)).await?;
    s.screenshot(&format!("{name}.png")).await?;
    s.click("[data-testid=manager-close]").await?;
    s.click("[data-testid=sign-out]").await?;
    s.wait_for("[data-testid=sign-in-user]", Duration::from_secs(10)).await?;
    let names = s.client.find_all(fantoccini::Locator::Css("[data-testid=sign-in-user]")).await?;
    assert_eq!(names.len(), 1, "only the manager is offered");
    let ledger = Ledger::open(&home.path().join("ledger.db"))?;
    let filter = AuditFilter { action: Some("user_disabled".into()), limit: 5, ..Default::default() };
    assert_eq!(ledger.audit_log(&filter)?.len(), 1);
    s.close().await;
    Ok(())
}

/// Every screen of the clerk window in Chinese, on the common panel: no English words but names
/// and codes (paydesk, PIN, keys), and no raw JSON.
#[tokio::test(flavor = "multi_thread")]
async fn every_screen_in_chinese_has_no_english_or_raw_data() -> Result<(), Error> {
    // Latin words a Chinese screen may show: the product's name, key names, codes and formats.
    const ALLOWED: &[&str] = &[
        "paydesk",
        "English",
        "PIN",
        "Enter",
        "Esc",
        "Backspace",
        "Delete",
        "Tab",
        "QR",
        "Z",
        "X",
        "E2E",
        "YYYY",
        "MM",
        "DD",
        "IP",
        "USB",
    ];
    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    let screen = Screen::start(1366, 768).await?;
    let home = tempfile::tempdir()?;
    write_config(home.path(), &config_for(&sandbox.base_url()))?;
    let s = Session::start_on(home.path(), "walk-zh", Some(&screen)).await?;
    let problems = std::sync::Mutex::new(Vec::<String>::new());
    let look = |name: &'static str| {
        let s = &s;
        let problems = &problems;
        async move {
            let text = s.client.execute("return document.body.innerText", vec![]).await?;
            let text = text.as_str().unwrap_or_default().to_string();
            for word in text.split(|c: char| !c.is_ascii_alphanumeric()) {
                let latin = word.len() > 1 && word.chars().all(|c| c.is_ascii_alphabetic());
                let key = word.len() <= 3 && word.starts_with('F') && word[1..].chars().all(|c| c.is_ascii_digit());
                if latin && !key && !ALLOWED.contains(&word) {
                    problems.lock().unwrap().push(format!("{name}: {word:?}"));
                }
            }
            if text.contains("{\"") || text.contains("\":") {
                problems.lock().unwrap().push(format!("{name}: raw JSON"));
            }
            s.screenshot(&format!("walk-zh-{name}.png")).await?;
            Ok::<(), Error>(())
        }
    };
    look("keypad").await?;
    s.keypad("20.00").await?;
    s.wait_for("[data-testid=scan-ready]", Duration::from_secs(5)).await?;
    s.wedge("280000000000000010\u{E007}").await?;
    s.wait_for("[data-testid=result-success]", SETTLE).await?;
    look("paid").await?;
    s.click("[data-testid=result-done]").await?;
    s.keypad("8.00").await?;
    s.click("[data-testid=action-qr]").await?;
    s.wait_for("[data-testid=qr-image]", SETTLE).await?;
    look("qr").await?;
    s.wedge("\u{E00C}").await?;
    s.wait_for("[data-testid=cancel][data-asked=true]", Duration::from_secs(5)).await?;
    s.wedge("\u{E00C}").await?;
    s.wait_for("[data-testid=result-done]", SETTLE).await?;
    look("qr-ended").await?;
    s.click("[data-testid=result-done]").await?;
    s.click("[data-testid=payment-row]").await?;
    s.wait_for("[data-testid=detail-event]", Duration::from_secs(10)).await?;
    look("detail").await?;
    s.click("[data-testid=detail-close]").await?;
    s.click("[data-testid=payment-row][data-state=paid]").await?;
    s.click("[data-testid=detail-preview-receipt]").await?;
    s.wait_for("[data-testid=slip-qr]", Duration::from_secs(10)).await?;
    look("slip-preview").await?;
    s.click("[data-testid=slip-close]").await?;
    s.click("[data-testid=detail-close]").await?;
    s.click("[data-testid=open-manager]").await?;
    for tab in ["reports", "shift", "payments", "recon", "audit", "users", "printer"] {
        s.click(&format!("[data-testid=tab-{tab}]")).await?;
        tokio::time::sleep(Duration::from_millis(600)).await;
        look(tab).await?;
    }
    s.click("[data-testid=manager-close]").await?;
    s.click("[data-testid=open-settings]").await?;
    s.wait_for("[data-testid=settings-wedge-max-gap]", Duration::from_secs(10)).await?;
    look("settings").await?;
    let problems = problems.into_inner().unwrap();
    assert!(problems.is_empty(), "English or raw data on Chinese screens: {problems:#?}");
    s.close().await;
    Ok(())
}

/// Refunds show and the PIN prompt says what it approves, on both screens in both languages: a
/// partly refunded payment has one name in the list and the detail, never the green "paid".
#[tokio::test(flavor = "multi_thread")]
async fn a_refund_shows_everywhere_by_one_name_and_the_prompt_says_what() -> Result<(), Error> {
    for size in SCREENS {
        for lang in LANGS {
            let name = format!("refund-{}x{}-{}", size.0, size.1, lang_tag(lang));
            let Till { s, home, _sandbox, _screen } =
                till(size, lang, &name, |c| c.counter.paid_close_seconds = 1).await?;
            s.keypad("20.00").await?;
            s.wait_for("[data-testid=scan-ready]", Duration::from_secs(5)).await?;
            s.wedge("280000000000000010\u{E007}").await?;
            s.wait_for("[data-testid=result-success]", SETTLE).await?;
            s.wait_gone("[data-testid=result-success]", Duration::from_secs(5)).await?;
            let id =
                Ledger::open(&home.path().join("ledger.db"))?.payments_created_between(0, i64::MAX, 1)?[0].id.clone();
            s.click(&format!("[data-testid=payment-row][data-id='{id}']")).await?;
            s.type_into("[data-testid=refund-amount]", "5").await?;
            s.type_into("[data-testid=refund-reason]", "退货 return").await?;
            s.click("[data-testid=refund-submit]").await?;
            let (refund_word, partly) = match lang {
                Lang::Zh => ("退款", "部分退款"),
                Lang::En => ("Refund", "Partly refunded"),
            };
            let asked = s.wait_text("[data-testid=pin-prompt-action]", "¥5.00", Duration::from_secs(10)).await?;
            assert!(asked.contains(refund_word) && asked.contains(&id[id.len() - 4..]), "{asked}");
            s.screenshot(&format!("{name}-prompt.png")).await?;
            s.approve(MANAGER.0, MANAGER.1).await?;
            s.wait_text("[data-testid=detail-status]", partly, SETTLE).await?;
            s.click("[data-testid=detail-close]").await?;
            let row = format!("[data-testid=payment-row][data-id='{id}'] [data-testid=row-status]");
            s.wait_text(&row, partly, Duration::from_secs(10)).await?;
            s.screenshot(&format!("{name}-list.png")).await?;
            s.close().await;
        }
    }
    Ok(())
}

/// On the smallest screen, in English: a receipt that did not print (the printer is off) shows
/// its Retry over the counter without pushing the keypad or the tender buttons off, and the
/// receipt's preview and the Printer tab have their buttons on screen.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_receipt_and_the_printer_screens_fit_1024x768_in_english() -> Result<(), Error> {
    let size = (1024, 768);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    // (`_sandbox` and `_screen` are held to the end: the window's X server and channels live with them)
    let Till { s, _sandbox, _screen, .. } = till(size, Lang::En, "print-1024-en", |c| {
        let mut p = paydesk_core::config::PrinterConfig::new(format!("tcp://127.0.0.1:{closed}"));
        p.auto_print = true;
        p.paper_mm = 58;
        c.printer = Some(p);
    })
    .await?;
    s.keypad("20.00").await?;
    s.wait_for("[data-testid=scan-ready]", Duration::from_secs(5)).await?;
    s.wedge("280000000000000010\u{E007}").await?;
    s.wait_for("[data-testid=result-success]", SETTLE).await?;
    s.click("[data-testid=result-done]").await?;
    s.wait_text("[data-testid=print-failed-text]", "Cannot reach the printer", SETTLE).await?;
    let mut parts = COUNTER_PARTS.to_vec();
    parts.extend(["[data-testid=print-retry]", "[data-testid=print-dismiss]"]);
    assert_parts_fit(&s, size, &parts).await?;
    s.screenshot("print-1024-en-failed.png").await?;

    s.click("[data-testid=payment-row][data-state=paid]").await?;
    s.click("[data-testid=detail-preview-receipt]").await?;
    s.wait_for("[data-testid=slip-qr]", Duration::from_secs(10)).await?;
    assert_parts_fit(&s, size, &["[data-testid=slip-print]", "[data-testid=slip-close]", "[data-testid=slip-paper]"])
        .await?;
    s.screenshot("print-1024-en-preview.png").await?;
    s.wedge("\u{E00C}").await?; // Esc closes the preview, and only the preview
    s.wait_gone("[data-testid=slip-preview]", Duration::from_secs(5)).await?;
    assert!(s.present("[data-testid=payment-detail]").await, "the detail stays open under it");
    s.click("[data-testid=detail-close]").await?;

    s.click("[data-testid=open-manager]").await?;
    s.click("[data-testid=tab-printer]").await?;
    s.wait_for("[data-testid=printer-host]", Duration::from_secs(10)).await?;
    assert_parts_fit(
        &s,
        size,
        &["[data-testid=printer-save]", "[data-testid=printer-conn-serial]", "[data-testid=manager-close]"],
    )
    .await?;
    s.screenshot("print-1024-en-tab.png").await?;
    s.close().await;
    Ok(())
}
