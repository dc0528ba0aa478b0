//! Commands of the Reconciliation tab (docs/ui-contract.md, "Reconciliation"): a month's runs
//! with each day's match rate, one run's differences, a run now (the channel's record, or a
//! statement file the manager picked), and a manager's resolution of a difference. Thin calls
//! into the core, which makes every figure and text shown.

use crate::commands::{ready, UiError, UiResult};
use crate::manager::{approve, ApprovalArg};
use crate::AppState;
use paydesk_core::engine::recon::{parse_day, MonthView, RunDetailView, StatementSource};
use paydesk_core::engine::Cashier;
use paydesk_core::i18n::Localized;
use paydesk_core::people::Action;
use tauri::State;

fn cashier(state: &AppState) -> UiResult<&Cashier> {
    ready(state).map(|r| &r.cashier)
}

fn detail(c: &Cashier, run_id: i64) -> UiResult<RunDetailView> {
    let report = c.recon_report(run_id).map_err(|e| UiError::plain("ledger", e.message(c.lang())))?;
    Ok(c.run_detail_view(&report))
}

#[tauri::command]
pub async fn recon_month(state: State<'_, AppState>, month: String) -> UiResult<MonthView> {
    let c = cashier(&state)?;
    c.recon_month(&month).map_err(|e| UiError::plain(e.code(), e.message(c.lang())))
}

#[tauri::command]
pub async fn recon_run(state: State<'_, AppState>, run_id: i64) -> UiResult<RunDetailView> {
    detail(cashier(&state)?, run_id)
}

/// Reconciles `channel`'s `day` now: from the channel, or from the statement file at `path`.
#[tauri::command]
pub async fn reconcile_now(
    state: State<'_, AppState>,
    channel: String,
    day: String,
    path: Option<String>,
) -> UiResult<RunDetailView> {
    let c = cashier(&state)?;
    let lang = c.lang();
    let day = parse_day(&day).map_err(|e| UiError::plain(e.code(), e.message(lang)))?;
    let source = match path {
        None => StatementSource::Channel,
        Some(path) => match std::fs::read(&path) {
            Ok(bytes) => StatementSource::Import(bytes),
            Err(e) => {
                let message = match lang {
                    paydesk_core::i18n::Lang::Zh => format!("无法读取文件 {path}：{e}"),
                    paydesk_core::i18n::Lang::En => format!("Cannot read {path}: {e}"),
                };
                return Err(UiError::plain("file", message));
            }
        },
    };
    let by = c.people().clerk().ok().flatten().unwrap_or_else(|| "-".into());
    let report =
        c.reconcile(&channel, day, source, &by).await.map_err(|e| UiError::plain(e.code(), e.message(lang)))?;
    Ok(c.run_detail_view(&report))
}

#[tauri::command]
pub async fn resolve_difference(
    state: State<'_, AppState>,
    approval: ApprovalArg,
    difference_id: i64,
    run_id: i64,
    reason: String,
) -> UiResult<RunDetailView> {
    let c = cashier(&state)?;
    let a = approve(c, approval, Action::ResolveDifference).await?;
    c.resolve_difference(&a, difference_id, &reason).map_err(|e| UiError::plain(e.code(), e.message(c.lang())))?;
    detail(c, run_id)
}
