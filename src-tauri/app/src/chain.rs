//! Commands of the chain (docs/ui-contract.md, "Chain"): the upload's status line on the
//! manager screen, and, on a till with `[sync] chain_reports`, the Chain tab's figures of every
//! till and its CSV export. Thin calls into the core, which reads the chain's server and makes
//! every figure and text shown.

use crate::manager::{export_dir, export_kind, Exported};
use crate::state::{cashier, ready, AppState};
use crate::ui_error::{manage_error, UiResult};
use paydesk_core::engine::chain::ChainView;
use paydesk_core::hq::status::SyncView;
use tauri::State;

/// The upload's state in the window's language; null when this till has no `[sync]`.
#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> UiResult<Option<SyncView>> {
    let r = ready(&state)?;
    let lang = r.cashier.lang();
    let now = paydesk_core::ledger::now_ms();
    Ok(r.sync.as_ref().map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).view(lang, now)))
}

/// The chain's business days `from` to `to`: totals by store, till, channel, wallet and day,
/// every till's unresolved payments, and how far each till's copy reaches.
#[tauri::command]
pub async fn chain_report(state: State<'_, AppState>, from: String, to: String) -> UiResult<ChainView> {
    let c = cashier(&state)?;
    c.chain_view(&from, &to).await.map_err(|e| manage_error(c, e))
}

/// The chain's payments or refunds of a range as CSV, as the till's own export writes them.
#[tauri::command]
pub async fn export_chain_csv(
    state: State<'_, AppState>,
    kind: String,
    from: String,
    to: String,
    dir: Option<String>,
) -> UiResult<Exported> {
    let c = cashier(&state)?;
    let kind = export_kind(&kind)?;
    let dir = export_dir(c, dir)?;
    let (path, rows) = c.export_chain_csv(kind, &from, &to, dir.as_deref()).await.map_err(|e| manage_error(c, e))?;
    Ok(Exported { path: path.display().to_string(), rows })
}
