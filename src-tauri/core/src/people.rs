//! Clerks and managers: PINs (argon2id hashes only), signing in, manager approvals and lock-out.
//!
//! A protected action takes an [`Approval`], which only [`People::approve`] makes, after checking
//! a manager's PIN for that one action: the prompt is not a session, and a clerk signed in on the
//! till cannot refund by being signed in. Wrong PINs count per user; `max_wrong_pins` in a row
//! lock that user for `lockout_minutes` (sign-in and approvals alike).

use crate::config;
use crate::i18n::{Lang, Localized};
use crate::ledger::{now_ms, AuditNote, Ledger, LedgerError, LedgerProfile, PinClaim, Role, UserRow};
use crate::text::local_time;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::Serialize;
use serde_json::json;
use std::sync::{Arc, Mutex};

/// What a manager's PIN can approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Refund,
    ForceOutcome,
    ResolveRefund,
    CloseShift,
    ChangeSettings,
    AddUser,
    /// Disable or enable a user, set a new PIN, unlock a locked user.
    ManageUsers,
    LeaveKiosk,
    /// Resolve a reconciliation difference (mark a charged payment paid, or follow one up).
    ResolveDifference,
    /// Open the cash drawer without a sale (change, a float count).
    OpenDrawer,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Refund => "refund",
            Action::ForceOutcome => "force_outcome",
            Action::ResolveRefund => "resolve_refund",
            Action::CloseShift => "close_shift",
            Action::ChangeSettings => "settings",
            Action::AddUser => "add_user",
            Action::ManageUsers => "manage_users",
            Action::LeaveKiosk => "leave_kiosk",
            Action::ResolveDifference => "resolve_difference",
            Action::OpenDrawer => "open_drawer",
        }
    }

    /// Every protected action needs a manager.
    pub fn needs(self) -> Role {
        Role::Manager
    }
}

/// A manager's PIN checked for one action. Fields are private: only `People::approve` makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    user: String,
    role: Role,
    action: Action,
}

impl Approval {
    pub fn by(&self) -> &str {
        &self.user
    }

    pub fn action(&self) -> Action {
        self.action
    }

    /// Refuses an approval given for another action.
    pub fn check(&self, action: Action) -> Result<(), PeopleError> {
        if self.action == action {
            Ok(())
        } else {
            Err(PeopleError::Forbidden)
        }
    }

    /// The audit row of the approved action.
    pub fn note(
        &self,
        action: &'static str,
        target: Option<String>,
        reason: Option<&str>,
        detail: serde_json::Value,
    ) -> AuditNote {
        AuditNote {
            target,
            reason: reason.map(str::to_string),
            ..AuditNote::by(&self.user, Some(self.role), action, detail)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub user_id: i64,
    pub name: String,
    pub role: Role,
    pub since_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeopleError {
    #[error("wrong PIN ({left} tries left)")]
    WrongPin { left: u32 },
    #[error("locked until {until_ms}")]
    Locked { until_ms: i64 },
    #[error("a manager must approve this")]
    Forbidden,
    #[error("no one is signed in")]
    SignedOut,
    #[error("no such user")]
    UnknownUser,
    #[error("a PIN is 4 to 8 digits")]
    PinFormat,
    #[error("a new manager's PIN is 6 to 8 digits")]
    ManagerPinShort,
    #[error("a name is 1 to 32 characters")]
    Name,
    #[error("that name is taken")]
    NameTaken,
    #[error("users exist already")]
    NotFirstRun,
    #[error("this user is disabled")]
    Disabled,
    #[error("{0}")]
    Ledger(LedgerError),
}

impl PeopleError {
    pub fn code(&self) -> &'static str {
        match self {
            PeopleError::WrongPin { .. } => "wrong_pin",
            PeopleError::Locked { .. } => "locked",
            PeopleError::Forbidden => "forbidden",
            PeopleError::SignedOut => "signed_out",
            PeopleError::UnknownUser => "unknown_user",
            PeopleError::PinFormat => "pin_format",
            PeopleError::ManagerPinShort => "manager_pin_short",
            PeopleError::Name | PeopleError::NameTaken => "name",
            PeopleError::NotFirstRun => "not_first_run",
            PeopleError::Disabled => "disabled",
            PeopleError::Ledger(_) => "ledger",
        }
    }
}

impl Localized for PeopleError {
    fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (PeopleError::WrongPin { left }, Lang::Zh) => format!("PIN 不正确，还可再试 {left} 次"),
            (PeopleError::WrongPin { left }, Lang::En) => format!("Wrong PIN; {left} tries left"),
            (PeopleError::Locked { until_ms }, Lang::Zh) => {
                format!("PIN 错误次数过多，该用户已锁定至 {}", local_time(*until_ms, "%H:%M"))
            }
            (PeopleError::Locked { until_ms }, Lang::En) => {
                format!("Too many wrong PINs: this user is locked until {}", local_time(*until_ms, "%H:%M"))
            }
            (PeopleError::Forbidden, Lang::Zh) => "此操作需要店长授权".into(),
            (PeopleError::Forbidden, Lang::En) => "A manager must approve this".into(),
            (PeopleError::SignedOut, Lang::Zh) => "请先登录".into(),
            (PeopleError::SignedOut, Lang::En) => "Sign in first".into(),
            (PeopleError::UnknownUser, Lang::Zh) => "找不到该用户".into(),
            (PeopleError::UnknownUser, Lang::En) => "No such user".into(),
            (PeopleError::PinFormat, Lang::Zh) => "PIN 须为 4 到 8 位数字".into(),
            (PeopleError::PinFormat, Lang::En) => "A PIN is 4 to 8 digits".into(),
            (PeopleError::ManagerPinShort, Lang::Zh) => "店长 PIN 须为 6 到 8 位数字".into(),
            (PeopleError::ManagerPinShort, Lang::En) => "A manager's PIN is 6 to 8 digits".into(),
            (PeopleError::Name, Lang::Zh) => "姓名须为 1 到 32 个字符".into(),
            (PeopleError::Name, Lang::En) => "A name is 1 to 32 characters".into(),
            (PeopleError::NameTaken, Lang::Zh) => "该姓名已被使用".into(),
            (PeopleError::NameTaken, Lang::En) => "That name is taken".into(),
            (PeopleError::Disabled, Lang::Zh) => "该用户已停用，请联系店长".into(),
            (PeopleError::Disabled, Lang::En) => "This user is disabled; ask a manager".into(),
            (PeopleError::NotFirstRun, Lang::Zh) => "已有用户，请由店长添加新用户".into(),
            (PeopleError::NotFirstRun, Lang::En) => "Users exist already; a manager adds new ones".into(),
            (PeopleError::Ledger(e), lang) => e.message(lang),
        }
    }
}

impl From<LedgerError> for PeopleError {
    fn from(e: LedgerError) -> Self {
        PeopleError::Ledger(e)
    }
}

fn check_pin_format(pin: &str) -> Result<(), PeopleError> {
    if (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(PeopleError::PinFormat)
    }
}

/// A manager's PIN approves refunds and decisions on money: a new one has at least 6 digits (a
/// million tries, against ten thousand). PINs made before the rule still sign in.
pub const MANAGER_PIN_MIN: usize = 6;

/// A PIN about to be set for a user of `role`.
fn check_new_pin(pin: &str, role: Role) -> Result<(), PeopleError> {
    check_pin_format(pin)?;
    if role == Role::Manager && pin.len() < MANAGER_PIN_MIN {
        return Err(PeopleError::ManagerPinShort);
    }
    Ok(())
}

fn clean_name(name: &str) -> Result<String, PeopleError> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > 32 || !crate::text::visible(name) {
        return Err(PeopleError::Name);
    }
    Ok(name.to_string())
}

fn hash_pin(pin: &str) -> Result<String, PeopleError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PeopleError::Ledger(LedgerError::Sqlite(format!("hashing a PIN: {e}"))))
}

fn pin_matches(hash: &str, pin: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(pin.as_bytes(), &h).is_ok())
}

pub struct People {
    ledger: Arc<Ledger>,
    settings: config::People,
    session: Mutex<Option<Session>>,
    /// A kiosk has no clerk: the kiosk itself takes payments until a manager leaves kiosk mode.
    kiosk: std::sync::atomic::AtomicBool,
}

/// Who a kiosk's payments are recorded as taken by.
pub const KIOSK_CLERK: &str = "kiosk";

impl People {
    pub fn new(ledger: Arc<Ledger>, settings: config::People) -> People {
        People { ledger, settings, session: Mutex::new(None), kiosk: Default::default() }
    }

    pub fn set_kiosk(&self, on: bool) {
        self.kiosk.store(on, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn kiosk(&self) -> bool {
        self.kiosk.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn settings(&self) -> &config::People {
        &self.settings
    }

    /// No user yet: the window offers to create the first manager.
    pub fn first_run(&self) -> Result<bool, PeopleError> {
        Ok(self.ledger.user_count()? == 0)
    }

    pub fn sign_in_required(&self) -> Result<bool, PeopleError> {
        Ok(self.sign_in_required_with(self.ledger.user_count()? as usize))
    }

    /// The rule, for a caller that has just read the users anyway.
    pub fn sign_in_required_with(&self, users: usize) -> bool {
        self.settings.require_sign_in && users > 0
    }

    pub fn users(&self) -> Result<Vec<UserRow>, PeopleError> {
        Ok(self.ledger.users()?)
    }

    pub fn session(&self) -> Option<Session> {
        self.session.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Who takes a payment now: the signed-in user; `SignedOut` when signing in is required and
    /// no one is; `None` when it is not required and no one is.
    pub fn clerk(&self) -> Result<Option<String>, PeopleError> {
        match self.session() {
            Some(s) => Ok(Some(s.name)),
            None if self.kiosk() => Ok(Some(KIOSK_CLERK.into())),
            None if self.sign_in_required()? => Err(PeopleError::SignedOut),
            None => Ok(None),
        }
    }

    /// The PIN of `user_id`, counted: a wrong one is logged and may lock the user.
    fn check_pin(&self, user_id: i64, pin: &str, purpose: &str) -> Result<UserRow, PeopleError> {
        // Not a PIN at all (an empty line from a script): said so, and not counted against the user.
        check_pin_format(pin)?;
        let user = match self.ledger.user(user_id) {
            Ok(u) => u,
            Err(LedgerError::NotFound(_)) => return Err(PeopleError::UnknownUser),
            Err(e) => return Err(e.into()),
        };
        if user.disabled {
            return Err(PeopleError::Disabled);
        }
        let max = self.settings.max_wrong_pins;
        let lock_ms = i64::from(self.settings.lockout_minutes) * 60_000;
        // Counted before it is checked, in one serialised step: parallel guesses get no further.
        let miss = match self.ledger.claim_pin_attempt(user.id, max, lock_ms)? {
            PinClaim::Counted(miss) => miss,
            PinClaim::Locked { until_ms } => return Err(PeopleError::Locked { until_ms }),
        };
        if pin_matches(&user.pin_hash, pin) {
            self.ledger.pin_matched(user.id)?;
            return Ok(user);
        }
        let note = AuditNote::by(&user.name, Some(user.role), "pin_failed", json!({ "for": purpose }));
        self.ledger.pin_missed(&miss, &note)?;
        Err(match miss.locked_until {
            Some(until_ms) => PeopleError::Locked { until_ms },
            None => PeopleError::WrongPin { left: max.saturating_sub(miss.failed_pins) },
        })
    }

    pub fn sign_in(&self, user_id: i64, pin: &str) -> Result<Session, PeopleError> {
        let user = self.check_pin(user_id, pin, "sign_in")?;
        self.ledger.audit(&AuditNote::by(&user.name, Some(user.role), "sign_in", json!({})))?;
        Ok(self.start_session(user))
    }

    fn start_session(&self, user: UserRow) -> Session {
        let session = Session { user_id: user.id, name: user.name, role: user.role, since_ms: now_ms() };
        *self.session.lock().unwrap_or_else(|p| p.into_inner()) = Some(session.clone());
        session
    }

    /// Ends the session: `sign_out` by the user, `lock` by the idle timer.
    pub fn sign_out(&self, action: &'static str) -> Result<(), PeopleError> {
        let ended = self.session.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(s) = ended {
            self.ledger.audit(&AuditNote::by(
                &s.name,
                Some(s.role),
                action,
                json!({ "signed_in_ms": now_ms() - s.since_ms }),
            ))?;
        }
        Ok(())
    }

    /// A manager's PIN for `action`.
    pub fn approve(&self, user_id: i64, pin: &str, action: Action) -> Result<Approval, PeopleError> {
        let user = self.check_pin(user_id, pin, action.as_str())?;
        if user.role != action.needs() {
            return Err(PeopleError::Forbidden);
        }
        Ok(Approval { user: user.name, role: user.role, action })
    }

    /// The first user of a new install: a manager, signed in at once.
    pub fn create_first_manager(&self, name: &str, pin: &str) -> Result<Session, PeopleError> {
        let name = clean_name(name)?;
        check_new_pin(pin, Role::Manager)?;
        let hash = hash_pin(pin)?;
        let note = AuditNote::by(&name, Some(Role::Manager), "first_manager", json!({ "role": "manager" }));
        let user = match self.ledger.insert_user(&name, Role::Manager, &hash, true, &note) {
            Err(LedgerError::Duplicate) => return Err(PeopleError::NotFirstRun),
            other => other?,
        };
        Ok(self.start_session(user))
    }

    /// The demo profile's users (`config::DEMO_USERS`), added to an empty demo ledger only (their
    /// PINs are public: a store's ledger never gets them); no one is signed in afterwards.
    pub fn add_demo_users(&self) -> Result<(), PeopleError> {
        if self.ledger.profile()? != Some(LedgerProfile::Demo) || !self.first_run()? {
            return Ok(());
        }
        for (i, (name, role, pin)) in config::DEMO_USERS.iter().enumerate() {
            let note = AuditNote {
                user: None,
                role: None,
                action: "user_added",
                target: None,
                reason: Some("demo".into()),
                detail: json!({ "role": role.as_str(), "demo": true }),
            };
            match self.ledger.insert_user(name, *role, &hash_pin(pin)?, i == 0, &note) {
                // Another process seeded them first.
                Err(LedgerError::Duplicate) => return Ok(()),
                other => other?,
            };
        }
        Ok(())
    }

    pub fn add_user(&self, approval: &Approval, name: &str, role: Role, pin: &str) -> Result<UserRow, PeopleError> {
        approval.check(Action::AddUser)?;
        let name = clean_name(name)?;
        check_new_pin(pin, role)?;
        let hash = hash_pin(pin)?;
        let note = approval.note("user_added", None, None, json!({ "role": role.as_str() }));
        match self.ledger.insert_user(&name, role, &hash, false, &note) {
            Err(LedgerError::Duplicate) => Err(PeopleError::NameTaken),
            other => Ok(other?),
        }
    }
}

impl People {
    /// A settings section saved with a manager's approval, into the audit log: the section names
    /// itself (target and `section`), the detail is what was saved (not an object: removed).
    pub fn audit_settings_saved(
        &self,
        approval: &Approval,
        section: &str,
        saved: serde_json::Value,
    ) -> Result<(), PeopleError> {
        approval.check(Action::ChangeSettings)?;
        let mut detail = match saved {
            serde_json::Value::Object(fields) => fields,
            _ => serde_json::Map::from_iter([("removed".to_string(), true.into())]),
        };
        detail.insert("section".into(), section.into());
        Ok(self.ledger.audit(&approval.note("settings_change", Some(section.into()), None, detail.into()))?)
    }

    /// Kiosk mode left with a manager's approval, into the audit log.
    pub fn audit_kiosk_left(&self, approval: &Approval) -> Result<(), PeopleError> {
        approval.check(Action::LeaveKiosk)?;
        Ok(self.ledger.audit(&approval.note("leave_kiosk", None, None, json!({})))?)
    }

    /// Disables (or enables again) a user: a disabled one cannot sign in or approve, and their
    /// name stays on what they did. The last active manager cannot be disabled. A user disabled
    /// while signed in here is signed out.
    pub fn set_disabled(&self, approval: &Approval, user_id: i64, disabled: bool) -> Result<UserRow, PeopleError> {
        approval.check(Action::ManageUsers)?;
        let action = if disabled { "user_disabled" } else { "user_enabled" };
        let change = crate::ledger::UserChange { disable: Some(disabled), ..Default::default() };
        let user = self.change(user_id, &change, approval.note(action, None, None, json!({})))?;
        if disabled && self.session().is_some_and(|s| s.user_id == user_id) {
            self.sign_out("sign_out")?;
        }
        Ok(user)
    }

    /// Sets a new PIN for a user (who forgot theirs, or whose PIN was seen): the rules of a new
    /// PIN apply, and the wrong-PIN count and any lock are cleared.
    pub fn reset_pin(&self, approval: &Approval, user_id: i64, pin: &str) -> Result<UserRow, PeopleError> {
        approval.check(Action::ManageUsers)?;
        let user = self.ledger.user(user_id).map_err(|e| match e {
            LedgerError::NotFound(_) => PeopleError::UnknownUser,
            e => e.into(),
        })?;
        check_new_pin(pin, user.role)?;
        let hash = hash_pin(pin)?;
        let change = crate::ledger::UserChange { pin_hash: Some(&hash), ..Default::default() };
        self.change(user_id, &change, approval.note("pin_reset", None, None, json!({})))
    }

    /// Lets a user locked by wrong PINs try again now.
    pub fn unlock(&self, approval: &Approval, user_id: i64) -> Result<UserRow, PeopleError> {
        approval.check(Action::ManageUsers)?;
        let change = crate::ledger::UserChange { unlock: true, ..Default::default() };
        self.change(user_id, &change, approval.note("user_unlocked", None, None, json!({})))
    }

    fn change(
        &self,
        user_id: i64,
        change: &crate::ledger::UserChange<'_>,
        note: AuditNote,
    ) -> Result<UserRow, PeopleError> {
        self.ledger.change_user(user_id, change, &note).map_err(|e| match e {
            LedgerError::NotFound(_) => PeopleError::UnknownUser,
            e => e.into(),
        })
    }
}

/// An audit action for a person.
pub fn action_text(action: &str, lang: Lang) -> String {
    let (zh, en) = match action {
        "sign_in" => ("登录", "Signed in"),
        "sign_out" => ("退出登录", "Signed out"),
        "lock" => ("闲置锁屏", "Locked (idle)"),
        "pin_failed" => ("PIN 错误", "Wrong PIN"),
        "first_manager" => ("创建首位店长", "First manager created"),
        "user_added" => ("添加用户", "User added"),
        "refund" => ("退款", "Refund"),
        "refund_resolved" => ("确认退款结果", "Refund outcome decided"),
        "force_outcome" => ("确认收款结果", "Payment outcome decided"),
        "shift_open" => ("开班", "Shift opened"),
        "shift_close" => ("交班（Z 报表）", "Shift closed (Z report)"),
        "settings_change" => ("修改设置", "Settings changed"),
        "leave_kiosk" => ("退出自助模式", "Left kiosk mode"),
        "reconciled" => ("对账", "Reconciled"),
        "difference_resolved" => ("处理对账差异", "Reconciliation difference resolved"),
        "user_disabled" => ("停用用户", "User disabled"),
        "user_enabled" => ("启用用户", "User enabled"),
        "pin_reset" => ("重设 PIN", "PIN reset"),
        "user_unlocked" => ("解除锁定", "User unlocked"),
        "drawer_opened" => ("打开钱箱", "Cash drawer opened"),
        "receipt_reprinted" => ("补打小票", "Receipt reprinted"),
        other => return other.to_string(),
    };
    lang.pick(zh, en).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::AuditFilter;

    fn people() -> (tempfile::TempDir, People) {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Arc::new(Ledger::open(&dir.path().join("l.db")).unwrap());
        (dir, People::new(ledger, config::People::default()))
    }

    #[test]
    fn pins_are_hashed_and_checked() {
        let (_d, p) = people();
        assert!(p.first_run().unwrap());
        assert!(!p.sign_in_required().unwrap());
        assert_eq!(p.clerk(), Ok(None));
        let s = p.create_first_manager("  王店长 ", "246813").unwrap();
        assert_eq!((s.name.as_str(), s.role), ("王店长", Role::Manager));
        assert_eq!(p.create_first_manager("又一个", "246813"), Err(PeopleError::NotFirstRun));
        let stored = p.users().unwrap().remove(0);
        assert!(stored.pin_hash.starts_with("$argon2id$"), "{}", stored.pin_hash);
        assert!(!stored.pin_hash.contains("246813"));
        assert!(p.sign_in_required().unwrap());
        assert_eq!(p.clerk(), Ok(Some("王店长".into())));
        p.sign_out("sign_out").unwrap();
        assert_eq!(p.clerk(), Err(PeopleError::SignedOut));
        for bad in ["123", "123456789", "12a4", ""] {
            let a = p.approve(s.user_id, "246813", Action::AddUser).unwrap();
            assert_eq!(p.add_user(&a, "李", Role::Clerk, bad), Err(PeopleError::PinFormat), "{bad:?}");
        }
        let a = p.approve(s.user_id, "246813", Action::AddUser).unwrap();
        assert_eq!(p.add_user(&a, "", Role::Clerk, "0000"), Err(PeopleError::Name));
        assert_eq!(p.add_user(&a, "王店长", Role::Clerk, "0000"), Err(PeopleError::NameTaken));
    }

    /// New manager PINs have 6–8 digits; a clerk's may have 4; a manager PIN made before the rule
    /// (the demo's 1234, an older install's) still signs in.
    #[test]
    fn a_new_manager_pin_has_at_least_six_digits() {
        let (_d, p) = people();
        for short in ["1357", "13579"] {
            assert_eq!(p.create_first_manager("王店长", short), Err(PeopleError::ManagerPinShort), "{short}");
        }
        assert!(PeopleError::ManagerPinShort.message(Lang::Zh).contains("6 到 8 位"));
        assert!(p.first_run().unwrap(), "nothing was added");
        let m = p.create_first_manager("王店长", "135792").unwrap();
        let a = p.approve(m.user_id, "135792", Action::AddUser).unwrap();
        assert_eq!(p.add_user(&a, "赵店长", Role::Manager, "24680"), Err(PeopleError::ManagerPinShort));
        assert!(p.add_user(&a, "李收银", Role::Clerk, "2468").is_ok());
        assert!(p.add_user(&a, "赵店长", Role::Manager, "24680135").is_ok());
        let old = p
            .ledger
            .insert_user(
                "老店长",
                Role::Manager,
                &hash_pin("1234").unwrap(),
                false,
                &AuditNote::by("-", None, "user_added", json!({})),
            )
            .unwrap();
        assert_eq!(p.sign_in(old.id, "1234").map(|s| s.role), Ok(Role::Manager));
    }

    #[test]
    fn a_manager_disables_resets_and_unlocks_users_and_each_change_is_audited() {
        let (_d, p) = people();
        let m = p.create_first_manager("王店长", "246813").unwrap();
        let ok = |action| p.approve(m.user_id, "246813", action).unwrap();
        let clerk = p.add_user(&ok(Action::AddUser), "李收银", Role::Clerk, "2468").unwrap();
        // Only with the users action's approval.
        assert_eq!(p.set_disabled(&ok(Action::Refund), clerk.id, true), Err(PeopleError::Forbidden));
        // Disabled: cannot sign in (not counted as a wrong PIN), then enabled again.
        assert!(p.set_disabled(&ok(Action::ManageUsers), clerk.id, true).unwrap().disabled);
        assert_eq!(p.sign_in(clerk.id, "2468"), Err(PeopleError::Disabled));
        p.set_disabled(&ok(Action::ManageUsers), clerk.id, false).unwrap();
        p.sign_in(clerk.id, "2468").unwrap();
        // The last active manager stays.
        let last = p.set_disabled(&ok(Action::ManageUsers), m.user_id, true).unwrap_err();
        assert!(last.message(Lang::Zh).contains("最后一位店长"), "{last:?}");
        // Locked by wrong PINs: a manager unlocks; a reset PIN also unlocks, and the old PIN is gone.
        for _ in 0..5 {
            let _ = p.sign_in(clerk.id, "1111");
        }
        assert!(matches!(p.sign_in(clerk.id, "2468"), Err(PeopleError::Locked { .. })));
        p.unlock(&ok(Action::ManageUsers), clerk.id).unwrap();
        p.sign_in(clerk.id, "2468").unwrap();
        for _ in 0..5 {
            let _ = p.sign_in(clerk.id, "1111");
        }
        assert_eq!(p.reset_pin(&ok(Action::ManageUsers), clerk.id, "12"), Err(PeopleError::PinFormat));
        p.reset_pin(&ok(Action::ManageUsers), clerk.id, "8642").unwrap();
        assert_eq!(p.sign_in(clerk.id, "2468"), Err(PeopleError::WrongPin { left: 4 }));
        p.sign_in(clerk.id, "8642").unwrap();
        // A manager's new PIN has six digits at least.
        assert_eq!(p.reset_pin(&ok(Action::ManageUsers), m.user_id, "1357"), Err(PeopleError::ManagerPinShort));
        let filter = AuditFilter { limit: 50, ..Default::default() };
        let actions: Vec<String> = p.ledger.audit_log(&filter).unwrap().into_iter().map(|e| e.action).collect();
        for done in ["user_disabled", "user_enabled", "user_unlocked", "pin_reset"] {
            assert!(actions.iter().any(|a| a == done), "{done} not in the audit log: {actions:?}");
        }
    }

    #[test]
    fn five_wrong_pins_lock_the_user_and_a_right_one_resets_the_count() {
        let (_d, p) = people();
        let m = p.create_first_manager("王店长", "246813").unwrap();
        // Not a PIN at all: refused without counting.
        assert_eq!(p.sign_in(m.user_id, ""), Err(PeopleError::PinFormat));
        assert_eq!(p.sign_in(m.user_id, "0000"), Err(PeopleError::WrongPin { left: 4 }));
        assert_eq!(p.sign_in(m.user_id, "0000"), Err(PeopleError::WrongPin { left: 3 }));
        p.sign_in(m.user_id, "246813").unwrap();
        for left in (1..=4).rev() {
            assert_eq!(p.approve(m.user_id, "9999", Action::Refund), Err(PeopleError::WrongPin { left }));
        }
        let Err(PeopleError::Locked { until_ms }) = p.approve(m.user_id, "9999", Action::Refund) else {
            panic!("the fifth wrong PIN locks");
        };
        assert!(until_ms > now_ms() + 14 * 60_000);
        // Locked: even the right PIN is refused, for sign-in and approvals.
        assert_eq!(p.sign_in(m.user_id, "246813"), Err(PeopleError::Locked { until_ms }));
        assert_eq!(p.approve(m.user_id, "246813", Action::Refund), Err(PeopleError::Locked { until_ms }));
        let failed =
            p.ledger.audit_log(&AuditFilter { action: Some("pin_failed".into()), limit: 50, ..Default::default() });
        assert_eq!(failed.unwrap().len(), 7);
        assert_eq!(p.sign_in(42, "246813"), Err(PeopleError::UnknownUser));
    }

    #[test]
    fn only_managers_approve_and_an_approval_is_for_one_action() {
        let (_d, p) = people();
        let m = p.create_first_manager("王店长", "246813").unwrap();
        let a = p.approve(m.user_id, "246813", Action::AddUser).unwrap();
        let clerk = p.add_user(&a, "李收银", Role::Clerk, "0000").unwrap();
        assert_eq!(p.add_user(&a, "赵", Role::Clerk, "1111").map(|u| u.name), Ok("赵".to_string()));
        for action in
            [Action::Refund, Action::ForceOutcome, Action::CloseShift, Action::ChangeSettings, Action::AddUser]
        {
            assert_eq!(p.approve(clerk.id, "0000", action), Err(PeopleError::Forbidden), "{action:?}");
        }
        let refund_only = p.approve(m.user_id, "246813", Action::Refund).unwrap();
        assert_eq!(p.add_user(&refund_only, "钱", Role::Clerk, "2222"), Err(PeopleError::Forbidden));
        let s = p.sign_in(clerk.id, "0000").unwrap();
        assert_eq!(s.role, Role::Clerk);
        assert_eq!(p.clerk(), Ok(Some("李收银".into())));
    }
}
