//! The audit log: who did what, when and why. Append-only (triggers refuse updates and deletes);
//! a row is written in the same transaction as the change it explains.

use super::Role;
use super::{Ledger, LedgerError};
use rusqlite::{params, Connection, Row};
use serde::Serialize;
use serde_json::Value;

/// One row to append. `detail` carries no secrets (never a PIN or a key).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditNote {
    pub user: Option<String>,
    pub role: Option<Role>,
    pub action: &'static str,
    pub target: Option<String>,
    pub reason: Option<String>,
    pub detail: Value,
}

impl AuditNote {
    /// What `user` did, with no target or reason (add them with struct update syntax).
    pub fn by(user: &str, role: Option<Role>, action: &'static str, detail: Value) -> AuditNote {
        AuditNote { user: Some(user.into()), role, action, target: None, reason: None, detail }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    pub user: Option<String>,
    pub role: Option<Role>,
    pub action: String,
    pub target: Option<String>,
    pub reason: Option<String>,
    pub detail: Value,
}

/// Which rows to list, newest first. `before_seq` pages back from a row already shown.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub action: Option<String>,
    pub user: Option<String>,
    pub before_seq: Option<i64>,
    pub limit: usize,
}

pub(super) fn append_audit(conn: &Connection, at: i64, note: &AuditNote) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO audit_log (at, user_name, role, action, target, reason, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            at,
            note.user,
            note.role.map(Role::as_str),
            note.action,
            note.target,
            note.reason,
            note.detail.to_string()
        ],
    )?;
    Ok(())
}

fn entry_from_row(r: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    let role: Option<String> = r.get(3)?;
    let detail: String = r.get(7)?;
    Ok(AuditEntry {
        seq: r.get(0)?,
        at: r.get(1)?,
        user: r.get(2)?,
        role: role.as_deref().and_then(Role::parse),
        action: r.get(4)?,
        target: r.get(5)?,
        reason: r.get(6)?,
        detail: serde_json::from_str(&detail).unwrap_or(Value::String(detail)),
    })
}

impl Ledger {
    pub fn audit(&self, note: &AuditNote) -> Result<(), LedgerError> {
        let conn = self.conn();
        append_audit(&conn, super::now_ms(), note)?;
        Ok(())
    }

    pub fn audit_log(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, at, user_name, role, action, target, reason, detail FROM audit_log \
             WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR at < ?2) AND (?3 IS NULL OR action = ?3) \
               AND (?4 IS NULL OR user_name = ?4) AND (?5 IS NULL OR seq < ?5) \
             ORDER BY seq DESC LIMIT ?6",
        )?;
        let limit = f.limit.clamp(1, 1000) as i64;
        let rows = stmt
            .query_map(params![f.from_ms, f.to_ms, f.action, f.user, f.before_seq, limit], entry_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::temp_ledger;
    use super::*;
    use serde_json::json;

    fn note(action: &'static str, user: &str) -> AuditNote {
        AuditNote {
            user: Some(user.into()),
            role: Some(Role::Manager),
            action,
            target: Some("P1".into()),
            reason: Some("why".into()),
            detail: json!({ "n": 1 }),
        }
    }

    #[test]
    fn the_log_filters_pages_and_refuses_changes() {
        let (_d, l) = temp_ledger();
        for i in 0..5 {
            l.audit(&note(if i % 2 == 0 { "refund" } else { "sign_in" }, if i < 3 { "王" } else { "李" })).unwrap();
        }
        let all = l.audit_log(&AuditFilter { limit: 100, ..Default::default() }).unwrap();
        assert_eq!(all.len(), 5);
        assert!(all.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");
        let refunds = l.audit_log(&AuditFilter { action: Some("refund".into()), limit: 100, ..Default::default() });
        assert_eq!(refunds.unwrap().len(), 3);
        let li = l.audit_log(&AuditFilter { user: Some("李".into()), limit: 100, ..Default::default() }).unwrap();
        assert_eq!(li.len(), 2);
        let page = l.audit_log(&AuditFilter { before_seq: Some(all[1].seq), limit: 2, ..Default::default() }).unwrap();
        assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![all[2].seq, all[3].seq]);
        assert_eq!(all[0].detail, json!({ "n": 1 }));
        let conn = l.conn();
        assert!(conn.execute("UPDATE audit_log SET reason = 'x'", []).is_err());
        assert!(conn.execute("DELETE FROM audit_log", []).is_err());
    }
}
