//! Commands of the Reconciliation tab (docs/ui-contract.md, "Reconciliation"): a month's runs
//! with each day's match rate, one run's differences, a run now (the channel's record, or a
//! statement file the manager picked), and a manager's resolution of a difference. Thin calls
//! into the core, which makes every figure and text shown.

use crate::approval::{approve, ApprovalArg};
use crate::state::{cashier, AppState};
use crate::ui_error::{UiError, UiResult};
use paydesk_core::engine::recon::{parse_day, MonthView, ReconError, RunDetailView, StatementSource};
use paydesk_core::engine::Cashier;
use paydesk_core::people::Action;
use tauri::State;

fn detail(c: &Cashier, run_id: i64) -> UiResult<RunDetailView> {
    let report = c.recon_report(run_id).map_err(|e| UiError::new("ledger", &e, c.lang()))?;
    Ok(c.run_detail_view(&report))
}

#[tauri::command]
pub async fn recon_month(state: State<'_, AppState>, month: String) -> UiResult<MonthView> {
    let c = cashier(&state)?;
    c.recon_month(&month).map_err(|e| UiError::new(e.code(), &e, c.lang()))
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
    let error = |e: ReconError| UiError::new(e.code(), &e, lang);
    let day = parse_day(&day).map_err(error)?;
    let source = match path {
        None => StatementSource::Channel,
        Some(path) => StatementSource::from_file(std::path::Path::new(&path)).map_err(error)?,
    };
    let by = c.people().clerk().ok().flatten().unwrap_or_else(|| "-".into());
    let report = c.reconcile(&channel, day, source, &by).await.map_err(error)?;
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
    c.resolve_difference(&a, difference_id, &reason).map_err(|e| UiError::new(e.code(), &e, c.lang()))?;
    detail(c, run_id)
}
