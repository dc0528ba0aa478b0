//! Commands of the manager screens (docs/ui-contract.md, "Managers"): people and approvals,
//! payment detail and refunds, shifts with X/Z reports, reports, export and the audit log.
//! Each is a thin call into the core; protected ones check the manager's PIN there.

use crate::approval::{approve, checking_pin, ApprovalArg};
use crate::state::{cashier, ready, AppState};
use crate::ui_error::{manage_error, people_error, UiError, UiResult};
use paydesk_core::engine::export::ExportKind;
use paydesk_core::engine::reports::{DayReport, RangeReport, ShiftInfo, ShiftReport};
use paydesk_core::engine::view::{local_time, PaymentDetail, PaymentView};
use paydesk_core::engine::Cashier;
use paydesk_core::ledger::{AuditFilter, Role};
use paydesk_core::people::{action_text, Action, Session};
use serde::Serialize;
use tauri::State;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    id: i64,
    name: String,
    role: Role,
    locked: bool,
    /// Cannot sign in or approve (shown in the users list only).
    disabled: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeopleInfo {
    sign_in_required: bool,
    first_run: bool,
    idle_lock_ms: u64,
    users: Vec<UserInfo>,
    session: Option<Session>,
}

fn user_list(c: &Cashier) -> UiResult<Vec<UserInfo>> {
    let now = paydesk_core::ledger::now_ms();
    let users = c.people().users().map_err(|e| people_error(c, e))?;
    Ok(users
        .into_iter()
        .map(|u| UserInfo { id: u.id, name: u.name, role: u.role, locked: u.locked_until > now, disabled: u.disabled })
        .collect())
}

pub fn people_of(c: &Cashier) -> UiResult<PeopleInfo> {
    let p = c.people();
    let users = user_list(c)?;
    Ok(PeopleInfo {
        sign_in_required: p.sign_in_required_with(users.len()),
        first_run: users.is_empty(),
        idle_lock_ms: u64::from(p.settings().idle_lock_minutes) * 60_000,
        users,
        session: p.session(),
    })
}

#[tauri::command]
pub async fn sign_in(state: State<'_, AppState>, user_id: i64, pin: String) -> UiResult<Session> {
    checking_pin(cashier(&state)?, move |c| c.people().sign_in(user_id, &pin)).await
}

#[tauri::command]
pub async fn sign_out(state: State<'_, AppState>) -> UiResult<()> {
    let c = cashier(&state)?;
    c.people().sign_out("sign_out").map_err(|e| people_error(c, e))
}

#[tauri::command]
pub async fn lock(state: State<'_, AppState>) -> UiResult<()> {
    let c = cashier(&state)?;
    c.people().sign_out("lock").map_err(|e| people_error(c, e))
}

#[tauri::command]
pub async fn users(state: State<'_, AppState>) -> UiResult<Vec<UserInfo>> {
    user_list(cashier(&state)?)
}

#[tauri::command]
pub async fn create_first_manager(state: State<'_, AppState>, name: String, pin: String) -> UiResult<Session> {
    let c = cashier(&state)?;
    c.people().create_first_manager(&name, &pin).map_err(|e| people_error(c, e))
}

#[tauri::command]
pub async fn add_user(
    state: State<'_, AppState>,
    approval: ApprovalArg,
    name: String,
    role: String,
    pin: String,
) -> UiResult<Vec<UserInfo>> {
    let c = cashier(&state)?;
    let role = Role::parse(&role).ok_or_else(|| UiError::plain("role", "clerk / manager"))?;
    let a = approve(c, approval, Action::AddUser).await?;
    c.people().add_user(&a, &name, role, &pin).map_err(|e| people_error(c, e))?;
    user_list(c)
}

/// A manager's change to a user: `disable`, `enable`, `unlock`, or `reset_pin` (with `pin`).
#[tauri::command]
pub async fn change_user(
    state: State<'_, AppState>,
    approval: ApprovalArg,
    user_id: i64,
    what: String,
    pin: Option<String>,
) -> UiResult<Vec<UserInfo>> {
    let c = cashier(&state)?;
    let a = approve(c, approval, Action::ManageUsers).await?;
    let p = c.people();
    let done = match what.as_str() {
        "disable" => p.set_disabled(&a, user_id, true),
        "enable" => p.set_disabled(&a, user_id, false),
        "unlock" => p.unlock(&a, user_id),
        "reset_pin" => p.reset_pin(&a, user_id, pin.as_deref().unwrap_or("")),
        _ => return Err(UiError::plain("what", "disable / enable / unlock / reset_pin")),
    };
    done.map_err(|e| people_error(c, e))?;
    user_list(c)
}

#[tauri::command]
pub async fn payment_detail(state: State<'_, AppState>, id: String) -> UiResult<PaymentDetail> {
    let c = cashier(&state)?;
    c.payment_detail(&id).map_err(|e| manage_error(c, e))
}

#[tauri::command]
pub async fn refund(
    state: State<'_, AppState>,
    approval: ApprovalArg,
    payment_id: String,
    amount_text: String,
    reason: String,
) -> UiResult<PaymentDetail> {
    let r = ready(&state)?;
    let c = &r.cashier;
    let a = approve(c, approval, Action::Refund).await?;
    let refund = c.refund(&a, &payment_id, &amount_text, &reason).await.map_err(|e| manage_error(c, e))?;
    r.printing.refunded(&refund);
    c.payment_detail(&payment_id).map_err(|e| manage_error(c, e))
}

#[tauri::command]
pub async fn force_outcome(
    state: State<'_, AppState>,
    approval: ApprovalArg,
    payment_id: String,
    outcome: String,
    reason: String,
) -> UiResult<PaymentDetail> {
    let c = cashier(&state)?;
    let paid = match outcome.as_str() {
        "paid" => true,
        "not_paid" => false,
        _ => return Err(UiError::plain("outcome", "paid / not_paid")),
    };
    let a = approve(c, approval, Action::ForceOutcome).await?;
    c.force_outcome(&a, &payment_id, paid, &reason).map_err(|e| manage_error(c, e))?;
    c.payment_detail(&payment_id).map_err(|e| manage_error(c, e))
}

#[tauri::command]
pub async fn resolve_refund(
    state: State<'_, AppState>,
    approval: ApprovalArg,
    refund_id: String,
    outcome: String,
    reason: String,
) -> UiResult<PaymentDetail> {
    let c = cashier(&state)?;
    let succeeded = match outcome.as_str() {
        "succeeded" => true,
        "failed" => false,
        _ => return Err(UiError::plain("outcome", "succeeded / failed")),
    };
    let a = approve(c, approval, Action::ResolveRefund).await?;
    let r = c.resolve_refund(&a, &refund_id, succeeded, &reason).map_err(|e| manage_error(c, e))?;
    c.payment_detail(&r.payment_id).map_err(|e| manage_error(c, e))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShiftStatus {
    open: Option<ShiftInfo>,
    x: ShiftReport,
}

#[tauri::command]
pub async fn shift_status(state: State<'_, AppState>) -> UiResult<ShiftStatus> {
    let c = cashier(&state)?;
    let (open, x) = c.x_report().map_err(|e| manage_error(c, e))?;
    let open = open.as_ref().map(ShiftInfo::from);
    Ok(ShiftStatus { open, x: c.shift_view(&x) })
}

#[tauri::command]
pub async fn open_shift(state: State<'_, AppState>, opening_cash_text: Option<String>) -> UiResult<ShiftInfo> {
    let c = cashier(&state)?;
    let s = c.open_shift(opening_cash_text.as_deref()).map_err(|e| manage_error(c, e))?;
    Ok(ShiftInfo::from(&s))
}

#[tauri::command]
pub async fn close_shift(
    state: State<'_, AppState>,
    approval: ApprovalArg,
    reason: Option<String>,
) -> UiResult<ShiftReport> {
    let c = cashier(&state)?;
    let a = approve(c, approval, Action::CloseShift).await?;
    let z = c.close_shift(&a, reason.as_deref()).map_err(|e| manage_error(c, e))?;
    Ok(c.shift_view(&z))
}

#[tauri::command]
pub async fn shift_report(state: State<'_, AppState>, shift_id: i64) -> UiResult<ShiftReport> {
    let c = cashier(&state)?;
    let f = c.shift_report(shift_id).map_err(|e| manage_error(c, e))?;
    Ok(c.shift_view(&f))
}

#[tauri::command]
pub async fn z_reports(state: State<'_, AppState>, limit: Option<usize>) -> UiResult<Vec<ShiftInfo>> {
    let c = cashier(&state)?;
    let shifts = c.ledger().closed_shifts(limit.unwrap_or(50)).map_err(|e| manage_error(c, e.into()))?;
    Ok(shifts.iter().map(ShiftInfo::from).collect())
}

#[tauri::command]
pub async fn z_report_html(state: State<'_, AppState>, shift_id: i64) -> UiResult<String> {
    let c = cashier(&state)?;
    let f = c.shift_report(shift_id).map_err(|e| manage_error(c, e))?;
    Ok(c.shift_report_html(&c.shift_view(&f)))
}

#[tauri::command]
pub async fn day_report(state: State<'_, AppState>, date: Option<String>) -> UiResult<DayReport> {
    let c = cashier(&state)?;
    c.day_report(date.as_deref().filter(|d| !d.is_empty())).map_err(|e| manage_error(c, e))
}

#[tauri::command]
pub async fn range_report(state: State<'_, AppState>, from: String, to: String) -> UiResult<RangeReport> {
    let c = cashier(&state)?;
    c.range_report(&from, &to).map_err(|e| manage_error(c, e))
}

#[derive(Serialize)]
pub struct Exported {
    pub path: String,
    pub rows: usize,
}

/// The folder a manager picked for an export; it must exist (the picker only offers existing
/// ones). None: the exports folder beside the ledger.
pub fn export_dir(c: &Cashier, dir: Option<String>) -> UiResult<Option<std::path::PathBuf>> {
    match dir.filter(|d| !d.is_empty()).map(std::path::PathBuf::from) {
        Some(d) if d.is_absolute() && d.is_dir() => Ok(Some(d)),
        Some(d) => {
            let message = match c.lang() {
                paydesk_core::i18n::Lang::Zh => format!("找不到文件夹 {}", d.display()),
                paydesk_core::i18n::Lang::En => format!("No folder {}", d.display()),
            };
            Err(UiError::plain("dir", message))
        }
        None => Ok(None),
    }
}

pub fn export_kind(kind: &str) -> UiResult<ExportKind> {
    ExportKind::parse(kind).ok_or_else(|| UiError::plain("kind", "payments / refunds"))
}

#[tauri::command]
pub async fn export_csv(
    state: State<'_, AppState>,
    kind: String,
    from: String,
    to: String,
    dir: Option<String>,
) -> UiResult<Exported> {
    let c = cashier(&state)?.clone();
    let kind = export_kind(&kind)?;
    let dir = export_dir(&c, dir)?;
    let cashier = c.clone();
    let (path, rows) =
        tauri::async_runtime::spawn_blocking(move || cashier.export_csv(kind, &from, &to, dir.as_deref()))
            .await
            .map_err(|e| UiError::plain("export", e.to_string()))?
            .map_err(|e| manage_error(&c, e))?;
    Ok(Exported { path: path.display().to_string(), rows })
}

/// Payments found by amount, payment code end or order number (the manager's search).
#[tauri::command]
pub async fn search_payments(state: State<'_, AppState>, query: String) -> UiResult<Vec<PaymentView>> {
    let c = cashier(&state)?;
    let found = c.search_payments(&query).map_err(|e| manage_error(c, e.into()))?;
    Ok(found.iter().map(|p| c.view(p)).collect())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRow {
    seq: i64,
    at_ms: i64,
    time_text: String,
    user: Option<String>,
    role: Option<Role>,
    action: String,
    action_text: String,
    target: Option<String>,
    reason: Option<String>,
    detail: String,
}

#[tauri::command]
pub async fn audit_log(
    state: State<'_, AppState>,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    action: Option<String>,
    user: Option<String>,
    limit: Option<usize>,
) -> UiResult<Vec<AuditRow>> {
    let c = cashier(&state)?;
    let filter = AuditFilter {
        from_ms,
        to_ms,
        action: action.filter(|a| !a.is_empty()),
        user: user.filter(|u| !u.is_empty()),
        before_seq: None,
        limit: limit.unwrap_or(200),
    };
    let rows = c.ledger().audit_log(&filter).map_err(|e| manage_error(c, e.into()))?;
    Ok(rows
        .into_iter()
        .map(|e| AuditRow {
            seq: e.seq,
            at_ms: e.at,
            time_text: local_time(e.at, "%Y-%m-%d %H:%M:%S"),
            user: e.user,
            role: e.role,
            action_text: action_text(&e.action, c.lang()),
            detail: paydesk_core::engine::view::audit_detail(&e.action, &e.detail, c.lang()),
            action: e.action,
            target: e.target.map(|t| paydesk_core::engine::view::audit_target(&t, c.lang())),
            reason: e.reason,
        })
        .collect())
}
