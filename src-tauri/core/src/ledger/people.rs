//! Users and their PIN counters. The PIN itself is never here: only its argon2 hash, which the
//! `people` module makes and checks.

use super::audit::{append_audit, AuditNote};
use super::{now_ms, Ledger, LedgerError};
use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Clerk,
    Manager,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Manager => "manager",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "clerk" => Some(Role::Clerk),
            "manager" => Some(Role::Manager),
            _ => None,
        }
    }
}

/// A user as stored. `pin_hash` is a PHC string; it never leaves the core.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub pin_hash: String,
    pub failed_pins: u32,
    pub locked_until: i64,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow").field("id", &self.id).field("name", &self.name).field("role", &self.role).finish()
    }
}

const COLUMNS: &str = "id, name, role, pin_hash, failed_pins, locked_until";

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
    })
}

/// What a wrong PIN did to the user's counter.
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

    /// Counts a wrong PIN; the `max`-th in a row locks the user until `now + lock_ms`.
    pub fn pin_missed(&self, id: i64, max: u32, lock_ms: i64, audit: &AuditNote) -> Result<PinMiss, LedgerError> {
        let now = now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let failed: u32 = tx.query_row(
            "UPDATE users SET failed_pins = failed_pins + 1 WHERE id = ?1 RETURNING failed_pins",
            [id],
            |r| r.get(0),
        )?;
        let locked_until = if failed >= max {
            tx.execute(
                "UPDATE users SET failed_pins = 0, locked_until = ?2 WHERE id = ?1",
                params![id, now + lock_ms],
            )?;
            Some(now + lock_ms)
        } else {
            None
        };
        // The caller's detail (what the PIN was for) plus the count.
        let mut detail = audit.detail.clone();
        if let Some(d) = detail.as_object_mut() {
            d.insert("failed_pins".into(), failed.into());
            d.insert("locked_until".into(), locked_until.into());
        }
        append_audit(&tx, now, &AuditNote { detail, ..audit.clone() })?;
        tx.commit()?;
        Ok(PinMiss { failed_pins: failed, locked_until })
    }

    /// A right PIN clears the count of wrong ones.
    pub fn pin_matched(&self, id: i64) -> Result<(), LedgerError> {
        self.conn().execute("UPDATE users SET failed_pins = 0 WHERE id = ?1 AND failed_pins > 0", [id])?;
        Ok(())
    }
}
