//! A manager's approval for one protected call: the PIN is checked in the core (argon2, off the
//! async runtime), and a settings change is written to the audit log.

use crate::ui_error::{people_error, UiError, UiResult};
use paydesk_core::engine::Cashier;
use paydesk_core::people::{Action, Approval, PeopleError};
use serde::Deserialize;

/// A manager's PIN for one protected call.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalArg {
    user_id: i64,
    pin: String,
}

/// Runs a PIN check off the async runtime's threads: argon2 takes tens of milliseconds.
pub async fn checking_pin<T: Send + 'static>(
    c: &Cashier,
    check: impl FnOnce(&Cashier) -> Result<T, PeopleError> + Send + 'static,
) -> UiResult<T> {
    let cashier = c.clone();
    tauri::async_runtime::spawn_blocking(move || check(&cashier))
        .await
        .map_err(|e| UiError::plain("pin", e.to_string()))?
        .map_err(|e| people_error(c, e))
}

pub async fn approve(c: &Cashier, arg: ApprovalArg, action: Action) -> UiResult<Approval> {
    checking_pin(c, move |c| c.people().approve(arg.user_id, &arg.pin, action)).await
}

/// A settings section saved with a manager's approval, into the audit log (`People`). The file is
/// already written, so a failed audit write is logged, not the save undone.
pub fn audit_settings_saved(c: &Cashier, a: &Approval, section: &str, saved: serde_json::Value) {
    if let Err(e) = c.people().audit_settings_saved(a, section, saved) {
        tracing::error!(error = %e, section, "the settings change could not be written to the audit log");
    }
}
