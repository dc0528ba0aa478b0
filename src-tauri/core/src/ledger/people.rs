//! Users and their PIN counters. The PIN itself is never here: only its argon2 hash, which the
//! `people` module makes and checks.

use super::audit::{append_audit, AuditNote};
use super::{now_ms, Ledger, LedgerError, Role};
use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};

/// A user as stored. `pin_hash` is a PHC string; it never leaves the core.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub pin_hash: String,
    pub failed_pins: u32,
    pub locked_until: i64,
    /// A disabled user cannot sign in or approve; their name stays on what they did.
    pub disabled: bool,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow").field("id", &self.id).field("name", &self.name).field("role", &self.role).finish()
    }
}

const COLUMNS: &str = "id, name, role, pin_hash, failed_pins, locked_until, disabled_at";

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<UserRow> {
    let role: String = r.get(2)?;
    Ok(UserRow {
        id: r.get(0)?,
        name: r.get(1)?,
        role: Role::parse(&role)
            .ok_or_else(|| rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, "role".into()))?,
        pin_hash: r.get(3)?,
        failed_pins: r.get(4)?,
        locked_until: r.get(5)?,
        disabled: r.get::<_, Option<i64>>(6)?.is_some(),
    })
}

/// What a manager changes about a user (`Ledger::change_user`).
#[derive(Debug, Clone, Copy, Default)]
pub struct UserChange<'a> {
    pub disable: Option<bool>,
    /// A new PIN's argon2 hash (never the PIN).
    pub pin_hash: Option<&'a str>,
    pub unlock: bool,
}

/// What claiming a PIN attempt gave: the attempt, counted (as if wrong), or a locked user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinClaim {
    Counted(PinMiss),
    Locked { until_ms: i64 },
}

/// What a PIN attempt (counted as wrong until the PIN matches) did to the user's counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinMiss {
    pub failed_pins: u32,
    /// Set when this miss locked the user.
    pub locked_until: Option<i64>,
}

impl Ledger {
    pub fn user_count(&self) -> Result<i64, LedgerError> {
        Ok(self.conn().query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?)
    }

    pub fn users(&self) -> Result<Vec<UserRow>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users ORDER BY role DESC, name"))?;
        let rows = stmt.query_map([], user_from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn user(&self, id: i64) -> Result<UserRow, LedgerError> {
        self.conn()
            .query_row(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"), [id], user_from_row)
            .optional()?
            .ok_or_else(|| LedgerError::NotFound(format!("user {id}")))
    }

    /// Adds a user. With `only_if_none`, only while the table is empty (the first manager), checked
    /// in the same transaction: two first-run forms racing cannot both succeed.
    pub fn insert_user(
        &self,
        name: &str,
        role: Role,
        pin_hash: &str,
        only_if_none: bool,
        audit: &AuditNote,
    ) -> Result<UserRow, LedgerError> {
        let now = now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if only_if_none {
            let n: i64 = tx.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?;
            if n > 0 {
                return Err(LedgerError::Duplicate);
            }
        }
        tx.execute(
            "INSERT INTO users (name, role, pin_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![name, role.as_str(), pin_hash, now],
        )?;
        let id = tx.last_insert_rowid();
        append_audit(&tx, now, &AuditNote { target: Some(name.into()), ..audit.clone() })?;
        let row = tx.query_row(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"), [id], user_from_row)?;
        tx.commit()?;
        Ok(row)
    }

    /// A manager's change to user `id`, with its audit row, in one transaction: disabled or not,
    /// a new PIN hash, and/or the wrong-PIN count cleared (a reset PIN also unlocks). Refuses to
    /// disable the last active manager: someone must be able to approve.
    pub fn change_user(&self, id: i64, change: &UserChange<'_>, audit: &AuditNote) -> Result<UserRow, LedgerError> {
        let now = now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let user = tx
            .query_row(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"), [id], user_from_row)
            .optional()?
            .ok_or_else(|| LedgerError::NotFound(format!("user {id}")))?;
        if change.disable == Some(true) && user.role == Role::Manager && !user.disabled {
            let others: i64 = tx.query_row(
                "SELECT COUNT(*) FROM users WHERE role = 'manager' AND disabled_at IS NULL AND id != ?1",
                [id],
                |r| r.get(0),
            )?;
            if others == 0 {
                return Err(LedgerError::LastManager);
            }
        }
        if let Some(disable) = change.disable {
            tx.execute("UPDATE users SET disabled_at = ?2 WHERE id = ?1", params![id, disable.then_some(now)])?;
        }
        if let Some(hash) = change.pin_hash {
            tx.execute("UPDATE users SET pin_hash = ?2 WHERE id = ?1", params![id, hash])?;
        }
        if change.unlock || change.pin_hash.is_some() {
            tx.execute("UPDATE users SET failed_pins = 0, locked_until = 0 WHERE id = ?1", [id])?;
        }
        append_audit(&tx, now, &AuditNote { target: Some(user.name.clone()), ..audit.clone() })?;
        let row = tx.query_row(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"), [id], user_from_row)?;
        tx.commit()?;
        Ok(row)
    }

    /// Claims one PIN attempt for user `id`, counted as wrong before the PIN is even checked:
    /// the check and the count are one step, serialised per ledger (across processes too), so N
    /// attempts at once get exactly as far as N one after another. `Err(Locked)` when the user is
    /// locked; the attempt that reaches `max` locks the user until `now + lock_ms` (and is still
    /// checked). A right PIN then takes its count back ([`Ledger::pin_matched`]).
    pub fn claim_pin_attempt(&self, id: i64, max: u32, lock_ms: i64) -> Result<PinClaim, LedgerError> {
        let now = now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (failed, locked): (u32, i64) =
            tx.query_row("SELECT failed_pins, locked_until FROM users WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        if locked > now {
            return Ok(PinClaim::Locked { until_ms: locked });
        }
        let failed = failed.saturating_add(1);
        let locked_until = (failed >= max).then_some(now + lock_ms);
        tx.execute(
            "UPDATE users SET failed_pins = ?2, locked_until = COALESCE(?3, locked_until) WHERE id = ?1",
            params![id, if locked_until.is_some() { 0 } else { failed }, locked_until],
        )?;
        tx.commit()?;
        Ok(PinClaim::Counted(PinMiss { failed_pins: failed, locked_until }))
    }

    /// The claimed attempt's PIN was wrong: logged with its count (`audit` says what it was for).
    pub fn pin_missed(&self, miss: &PinMiss, audit: &AuditNote) -> Result<(), LedgerError> {
        let mut detail = audit.detail.clone();
        if let Some(d) = detail.as_object_mut() {
            d.insert("failed_pins".into(), miss.failed_pins.into());
            d.insert("locked_until".into(), miss.locked_until.into());
        }
        self.audit(&AuditNote { detail, ..audit.clone() })
    }

    /// A right PIN clears the count of wrong ones, and the lock its own claim may have set.
    pub fn pin_matched(&self, id: i64) -> Result<(), LedgerError> {
        self.conn().execute(
            "UPDATE users SET failed_pins = 0, locked_until = 0 WHERE id = ?1 AND (failed_pins > 0 OR locked_until > 0)",
            [id],
        )?;
        Ok(())
    }
}
