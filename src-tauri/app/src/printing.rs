//! Commands of the receipt printer (docs/ui-contract.md, "Printing"): the print queue and its
//! `print-jobs` event, previews made from the bytes a printer would get, a payment's receipt,
//! the X / Z and test slips, the drawer, and the `[printer]` settings. Thin calls into
//! `paydesk_core::print`, which makes every slip and text.

use crate::approval::{approve, audit_settings_saved, ApprovalArg};
use crate::state::{ready, AppState};
use crate::ui_error::{UiError, UiResult};
use paydesk_core::config::{Config, PrinterConfig};
use paydesk_core::i18n::Localized;
use paydesk_core::people::Action;
use paydesk_core::print::{JobKind, Preview, PrintError, PrintJobView, PrinterCheck, Printing};
use paydesk_core::scan::serial::{list_ports, PortInfo};
use serde::Serialize;
use tauri::{AppHandle, Emitter, State};

/// Sends the open jobs to the window (`print-jobs`) each time the queue changes.
pub fn forward(app: &AppHandle, printing: &Printing) {
    let mut changes = printing.changes();
    let printing = printing.clone();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        while changes.changed().await.is_ok() {
            changes.borrow_and_update();
            match printing.jobs() {
                Ok(jobs) => {
                    if let Err(e) = app.emit("print-jobs", jobs) {
                        tracing::warn!(error = %e, "cannot send the print queue to the window");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "print queue: cannot read it for the window"),
            }
        }
    });
}

fn printing(state: &AppState) -> UiResult<&Printing> {
    ready(state).map(|r| &r.printing)
}

fn print_error(state: &AppState, e: PrintError) -> UiError {
    let lang = ready(state).map(|r| r.cashier.lang()).unwrap_or_default();
    UiError::new(e.code(), &e, lang)
}

fn kind(text: &str) -> UiResult<JobKind> {
    JobKind::parse(text).ok_or_else(|| UiError::plain("kind", format!("unknown slip {text}")))
}

/// Jobs waiting, printing or failed (until printed or dismissed), oldest first.
#[tauri::command]
pub async fn print_jobs(state: State<'_, AppState>) -> UiResult<Vec<PrintJobView>> {
    printing(&state)?.jobs().map_err(|e| print_error(&state, e))
}

/// A slip as the printer would print it now, read back from the bytes.
#[tauri::command]
pub async fn print_preview(state: State<'_, AppState>, kind: String, target: Option<String>) -> UiResult<Preview> {
    let kind = kind_of_slip(&kind)?;
    printing(&state)?.preview(kind, target.as_deref()).map_err(|e| print_error(&state, e))
}

/// The slips a person prints by name: X, Z, refund and test. A receipt goes through
/// `print_receipt`, the drawer through `open_drawer`.
fn kind_of_slip(text: &str) -> UiResult<JobKind> {
    match kind(text)? {
        JobKind::Drawer => Err(UiError::plain("kind", "the drawer is opened with open_drawer")),
        k => Ok(k),
    }
}

/// Queues a slip; the job's id.
#[tauri::command]
pub async fn print_slip(state: State<'_, AppState>, kind: String, target: Option<String>) -> UiResult<Option<i64>> {
    let kind = match kind_of_slip(&kind)? {
        JobKind::Receipt | JobKind::Reprint => {
            return Err(UiError::plain("kind", "a receipt prints with print_receipt"))
        }
        k => k,
    };
    let r = ready(&state)?;
    let by = r.cashier.people().clerk().ok().flatten();
    r.printing.queue(kind, target.as_deref(), by.as_deref()).map_err(|e| print_error(&state, e))
}

/// A paid payment's receipt from its detail: the receipt, or a copy (audited) once there is one.
#[tauri::command]
pub async fn print_receipt(state: State<'_, AppState>, payment_id: String) -> UiResult<Option<i64>> {
    printing(&state)?.print_receipt(&payment_id).map_err(|e| print_error(&state, e))
}

#[tauri::command]
pub async fn print_retry(state: State<'_, AppState>, id: i64) -> UiResult<bool> {
    printing(&state)?.retry(id).map_err(|e| print_error(&state, e))
}

#[tauri::command]
pub async fn print_dismiss(state: State<'_, AppState>, id: i64) -> UiResult<bool> {
    printing(&state)?.dismiss(id).map_err(|e| print_error(&state, e))
}

/// Opens the cash drawer without a sale: a manager's approval, written to the audit log.
#[tauri::command]
pub async fn open_drawer(state: State<'_, AppState>, approval: ApprovalArg) -> UiResult<Option<i64>> {
    let r = ready(&state)?;
    let a = approve(&r.cashier, approval, Action::OpenDrawer).await?;
    r.printing.open_drawer(&a).map_err(|e| print_error(&state, e))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrinterSettingsView {
    /// None: no printer set up.
    printer: Option<PrinterConfig>,
    /// Serial ports and USB printer devices on this machine, to pick from.
    ports: Vec<PortInfo>,
    usb: Vec<String>,
}

async fn settings_view(printer: Option<PrinterConfig>) -> UiResult<PrinterSettingsView> {
    // Listing ports touches udev: off the async workers.
    tauri::async_runtime::spawn_blocking(move || PrinterSettingsView {
        printer,
        ports: list_ports(),
        usb: paydesk_core::print::usb_printers(),
    })
    .await
    .map_err(|e| UiError::plain("settings", e.to_string()))
}

#[tauri::command]
pub async fn printer_settings(state: State<'_, AppState>) -> UiResult<PrinterSettingsView> {
    settings_view(printing(&state)?.config()).await
}

/// Saves `[printer]` into the config file (null removes it) and uses it from the next slip.
#[tauri::command]
pub async fn save_printer_settings(
    state: State<'_, AppState>,
    approval: ApprovalArg,
    printer: Option<PrinterConfig>,
) -> UiResult<PrinterSettingsView> {
    let r = ready(&state)?;
    let lang = r.cashier.lang();
    let a = approve(&r.cashier, approval, Action::ChangeSettings).await?;
    let config = Config::save_printer(&r.config_path, printer.as_ref())
        .map_err(|e| UiError::plain("config", e.message(lang)))?;
    tracing::info!(path = %r.config_path.display(), "printer settings saved");
    audit_settings_saved(&r.cashier, &a, "printer", serde_json::to_value(&printer).unwrap_or_default());
    r.printing.apply(config.printer.clone());
    settings_view(config.printer).await
}

/// Asks the printer for its state (paper, cover, online), in words.
#[tauri::command]
pub async fn printer_check(state: State<'_, AppState>) -> UiResult<PrinterCheck> {
    Ok(printing(&state)?.check_view().await)
}
