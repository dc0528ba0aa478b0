//! The commands the web UI calls (docs/ui-contract.md). Each one is a thin call into the core;
//! errors come back as `{code, message}` with the message already in the UI's language.

use crate::approval::{approve, ApprovalArg};
use crate::state::{cashier, ready, AppState, Ready};
use crate::ui_error::{UiError, UiResult};
use paydesk_core::config::Scanners;
use paydesk_core::engine::{Cashier, LedgerCheck, PaymentView};
use paydesk_core::i18n::{Lang, Localized};
use paydesk_core::people::Action;
use paydesk_core::scan::service::ScannerStates;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, State};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelInfo {
    id: String,
    name: String,
    barcode: bool,
    qr: bool,
    can_cancel: bool,
    /// Tenders for QR payments (the clerk picks one); empty when the channel's page lets the
    /// customer choose.
    methods: Vec<MethodInfo>,
    /// `qr` or `customer_window`.
    display: paydesk_core::channel::Display,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodInfo {
    code: String,
    name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SampleCode {
    code: String,
    label: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DemoInfo {
    sample_codes: Vec<SampleCode>,
    sandbox_url: String,
    /// The demo's own users and PINs, for the sign-in screen's hint.
    users: Vec<DemoUser>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DemoUser {
    name: String,
    role: paydesk_core::ledger::Role,
    pin: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Terminal {
    code: String,
    name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bootstrap {
    lang: Lang,
    terminal: Terminal,
    channels: Vec<ChannelInfo>,
    default_channel: String,
    ceiling_text: String,
    demo: Option<DemoInfo>,
    active: Option<PaymentView>,
    /// Late payments nobody has acknowledged yet (they survive restarts).
    alerts: Vec<Alert>,
    /// The `[scanners]` settings (the window runs the keyboard-wedge detector with them).
    scanners: Scanners,
    scanner_state: ScannerStates,
    people: crate::manager::PeopleInfo,
    /// Kiosk mode: the window shows only the kiosk screens.
    kiosk: Option<crate::front::KioskInfo>,
    /// The open charge (terminal API or kiosk) the screen collects.
    charge: Option<paydesk_core::engine::ChargeView>,
    display: DisplayInfo,
    /// `[counter]`: the clerk window's behaviour (how long "paid" stays).
    counter: paydesk_core::config::Counter,
    /// `[sync] chain_reports`: managers see the Chain tab.
    chain_reports: bool,
    /// The start-up integrity check: `checking` until it has passed (payments wait).
    ledger_check: LedgerCheckView,
    /// A receipt printer is set up (`[printer]`): the window offers to print.
    printer: bool,
    /// Print jobs not over yet (a failed one stays until printed or dismissed, across restarts).
    print_jobs: Vec<paydesk_core::print::PrintJobView>,
}

#[derive(Serialize)]
pub struct DisplayInfo {
    enabled: bool,
}

/// A payment a person must see now: `message` says what happened and what to do.
#[derive(Clone, Serialize)]
pub struct Alert {
    pub id: String,
    pub message: String,
}

/// The demo's sample payment codes, as the sandbox defines them, labelled in the clerk's language.
fn sample_codes(lang: Lang) -> Vec<SampleCode> {
    paydesk_sandbox::SAMPLE_CODES
        .iter()
        .map(|s| SampleCode { code: s.code.into(), label: lang.pick(s.zh, s.en).into() })
        .collect()
}

pub fn bootstrap_of(app: &AppHandle, r: &Ready) -> UiResult<Bootstrap> {
    let (c, demo) = (&r.cashier, &r.demo);
    let lang = c.lang();
    let channels: Vec<ChannelInfo> = c
        .channels()
        .values()
        .map(|ch| {
            let caps = ch.capabilities();
            ChannelInfo {
                id: ch.id().into(),
                name: ch.name(lang).into(),
                barcode: caps.barcode,
                qr: caps.qr,
                can_cancel: caps.can_cancel(),
                methods: caps
                    .methods
                    .iter()
                    .map(|m| MethodInfo { code: m.code.clone(), name: lang.pick(&m.name_zh, &m.name_en).into() })
                    .collect(),
                display: caps.display,
            }
        })
        .collect();
    Ok(Bootstrap {
        lang,
        terminal: Terminal { code: c.config().terminal.code.clone(), name: c.config().terminal.name.clone() },
        default_channel: channels.first().map(|ch| ch.id.clone()).unwrap_or_default(),
        channels,
        ceiling_text: c.config().ceiling().yuan_text(),
        demo: demo.as_ref().map(|d| DemoInfo {
            sample_codes: sample_codes(lang),
            sandbox_url: d.sandbox_url.clone(),
            users: paydesk_core::config::DEMO_USERS
                .iter()
                .map(|(name, role, pin)| DemoUser { name: (*name).into(), role: *role, pin: (*pin).into() })
                .collect(),
        }),
        active: c.on_counter().map(|p| c.view(&p)),
        alerts: c
            .alerts()
            .unwrap_or_default()
            .iter()
            .map(|p| Alert { id: p.id.clone(), message: alert_message(c, p) })
            .collect(),
        scanners: r.scanners.settings(),
        scanner_state: r.scanners.states().borrow().clone(),
        people: crate::manager::people_of(c)?,
        kiosk: if app.state::<crate::front::KioskMode>().on() { crate::front::kiosk_info(c) } else { None },
        charge: crate::front::charge_on_screen(c),
        display: DisplayInfo { enabled: c.config().display.enabled },
        counter: c.config().counter.clone(),
        chain_reports: c.chain_reports(),
        ledger_check: LedgerCheckView::of(&c.ledger_check(), lang),
        printer: r.printing.config().is_some(),
        print_jobs: r.printing.jobs().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "print queue: cannot read it for the window");
            Vec::new()
        }),
    })
}

/// The ledger's start-up check as the window shows it (`ledger-check` event, `Bootstrap.ledgerCheck`).
#[derive(Clone, Serialize)]
pub struct LedgerCheckView {
    /// `checking`, `intact` or `damaged`.
    state: &'static str,
    /// What is wrong and what to do, for a damaged ledger.
    message: Option<String>,
}

impl LedgerCheckView {
    fn of(check: &LedgerCheck, lang: Lang) -> LedgerCheckView {
        let message = check.writable().err().filter(|_| matches!(check, LedgerCheck::Damaged(_)));
        LedgerCheckView { state: check.as_str(), message: message.map(|e| e.message(lang)) }
    }
}

/// Runs the ledger's integrity check beside the window and tells it the outcome.
pub fn check_ledger(app: &AppHandle, cashier: &Cashier) {
    let (app, cashier) = (app.clone(), cashier.clone());
    tauri::async_runtime::spawn(async move {
        let outcome = cashier.check_ledger().await;
        if let Err(e) = app.emit("ledger-check", LedgerCheckView::of(&outcome, cashier.lang())) {
            tracing::warn!(error = %e, "cannot tell the window the ledger check's outcome");
        }
    });
}

/// The late-payment alert line: amount, time, and what to do.
pub fn alert_message(c: &Cashier, p: &paydesk_core::ledger::Payment) -> String {
    let v = c.view(p);
    format!("¥{} {} {} — {}", v.amount_text, v.time_text, p.id, v.message)
}

#[tauri::command]
pub async fn bootstrap(app: AppHandle, state: State<'_, AppState>) -> UiResult<Bootstrap> {
    static FIRST: std::sync::Once = std::sync::Once::new();
    // The UI calls this once it is drawn: the start-up benchmark times the app by this line.
    FIRST.call_once(|| tracing::info!("clerk window ready"));
    let r = ready(&state)?;
    // A ledger that failed its check is refused as at start: the window says what to do.
    if let Err(e) = r.cashier.ledger_check().writable() {
        if !matches!(e, paydesk_core::ledger::LedgerError::Checking) {
            return Err(UiError::plain("ledger", e.message(r.cashier.lang())));
        }
    }
    bootstrap_of(&app, r)
}

#[tauri::command]
pub async fn set_language(app: AppHandle, state: State<'_, AppState>, lang: String) -> UiResult<Bootstrap> {
    let c = cashier(&state)?;
    let Some(lang) = Lang::parse(&lang) else {
        return Err(UiError::plain("lang", format!("不支持的语言 / unknown language: {lang}")));
    };
    c.set_lang(lang);
    // The customer display follows the clerk's language.
    if let Err(e) = app.emit("language", serde_json::json!({ "lang": lang })) {
        tracing::warn!(error = %e, "cannot tell the windows the language");
    }
    bootstrap(app, state).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckedAmount {
    amount_fen: i64,
    amount_text: String,
}

#[tauri::command]
pub async fn check_amount(state: State<'_, AppState>, amount_text: String) -> UiResult<CheckedAmount> {
    let c = cashier(&state)?;
    let fen = c.check_amount(&amount_text).map_err(|e| UiError::new(e.code(), &e, c.lang()))?;
    Ok(CheckedAmount { amount_fen: fen.0, amount_text: fen.yuan_text() })
}

#[tauri::command]
pub async fn start_qr(
    state: State<'_, AppState>,
    channel: String,
    amount_text: String,
    method: Option<String>,
    charge: Option<String>,
) -> UiResult<PaymentView> {
    let c = cashier(&state)?;
    let started = match &charge {
        Some(id) => c.start_qr_for_charge(id, &channel, method.as_deref()).await,
        None => c.start_qr(&channel, &amount_text, None, method.as_deref()).await,
    };
    let p = started.map_err(|e| UiError::new(e.code(), &e, c.lang()))?;
    Ok(c.view(&p))
}

#[tauri::command]
pub async fn cancel_payment(state: State<'_, AppState>, id: String) -> UiResult<PaymentView> {
    let c = cashier(&state)?;
    let p = c.cancel(&id).map_err(|e| UiError::new(e.code(), &e, c.lang()))?;
    Ok(c.view(&p))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TodayTotals {
    count: i64,
    paid_count: i64,
    paid_text: String,
    refunded_text: String,
    net_text: String,
}

#[derive(Serialize)]
pub struct Today {
    payments: Vec<PaymentView>,
    totals: TodayTotals,
    /// Unfinished payments of any day (not only today's): what recovery is still resolving.
    attention: Vec<PaymentView>,
}

#[tauri::command]
pub async fn today(state: State<'_, AppState>) -> UiResult<Today> {
    let c = cashier(&state)?;
    let (payments, totals) = c.today().map_err(|e| UiError::new("ledger", &e, c.lang()))?;
    let attention = c.open_payments().map_err(|e| UiError::new("ledger", &e, c.lang()))?;
    Ok(Today {
        attention: attention.iter().map(|p| c.view(p)).collect(),
        payments: payments.iter().map(|p| c.view(p)).collect(),
        totals: TodayTotals {
            count: totals.count,
            paid_count: totals.paid_count,
            paid_text: totals.paid.yuan_text(),
            refunded_text: totals.refunded.yuan_text(),
            net_text: totals.net.yuan_text(),
        },
    })
}

/// A person has seen a late-payment alert: it is not shown again (logged in the ledger).
#[tauri::command]
pub async fn ack_alert(state: State<'_, AppState>, id: String) -> UiResult<()> {
    let c = cashier(&state)?;
    c.acknowledge_alert(&id).map_err(|e| UiError::new("ledger", &e, c.lang()))?;
    Ok(())
}

/// Leaving kiosk mode (a manager's PIN) gives the clerk's window back: its bootstrap.
#[tauri::command]
pub async fn leave_kiosk(app: AppHandle, state: State<'_, AppState>, approval: ApprovalArg) -> UiResult<Bootstrap> {
    let r = ready(&state)?;
    let a = approve(&r.cashier, approval, Action::LeaveKiosk).await?;
    if let Err(e) = r.cashier.people().audit_kiosk_left(&a) {
        tracing::error!(error = %e, "leaving kiosk mode could not be written to the audit log");
    }
    crate::front::apply_kiosk(&app, r, false);
    tracing::info!(by = a.by(), "kiosk mode left");
    bootstrap_of(&app, r)
}
