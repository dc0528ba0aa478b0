//! Whose ledger this is: a demo's or a store's, settled by the first config that opens it and
//! never changed (migration 6).

use super::{now_ms, Ledger, LedgerError};
use rusqlite::OptionalExtension;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerProfile {
    /// Written by the demo profile: sandbox payments and the demo's users, whose PINs are public.
    Demo,
    Store,
}

impl LedgerProfile {
    fn as_str(self) -> &'static str {
        match self {
            LedgerProfile::Demo => "demo",
            LedgerProfile::Store => "store",
        }
    }

    fn parse(s: &str) -> Option<LedgerProfile> {
        match s {
            "demo" => Some(LedgerProfile::Demo),
            "store" => Some(LedgerProfile::Store),
            _ => None,
        }
    }
}

impl Ledger {
    /// The profile, if one has been settled.
    pub fn profile(&self) -> Result<Option<LedgerProfile>, LedgerError> {
        let conn = self.conn();
        let text: Option<String> =
            conn.query_row("SELECT profile FROM ledger_profile WHERE id = 1", [], |r| r.get(0)).optional()?;
        match text {
            None => Ok(None),
            Some(t) => LedgerProfile::parse(&t)
                .map(Some)
                .ok_or_else(|| LedgerError::Corrupt(format!("ledger_profile holds {t:?}"))),
        }
    }

    /// Settles the profile of a ledger that has none as `wanted`, then checks it: a ledger of the
    /// other profile is refused ([`LedgerError::ProfileMismatch`]), whoever settled it first.
    pub fn claim_profile(&self, wanted: LedgerProfile) -> Result<(), LedgerError> {
        self.conn().execute(
            "INSERT OR IGNORE INTO ledger_profile (id, profile, at) VALUES (1, ?1, ?2)",
            rusqlite::params![wanted.as_str(), now_ms()],
        )?;
        match self.profile()? {
            Some(found) if found == wanted => Ok(()),
            Some(found) => Err(LedgerError::ProfileMismatch { ledger: found, path: self.path.display().to_string() }),
            None => Err(LedgerError::Sqlite("ledger_profile was not written".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_is_settled_once_and_never_changes() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("ledger.db")).unwrap();
        assert_eq!(ledger.profile().unwrap(), None);
        ledger.claim_profile(LedgerProfile::Demo).unwrap();
        ledger.claim_profile(LedgerProfile::Demo).unwrap();
        assert!(matches!(
            ledger.claim_profile(LedgerProfile::Store),
            Err(LedgerError::ProfileMismatch { ledger: LedgerProfile::Demo, .. })
        ));
        assert_eq!(ledger.profile().unwrap(), Some(LedgerProfile::Demo));
        let conn = ledger.conn();
        assert!(conn.execute("UPDATE ledger_profile SET profile = 'store'", []).is_err());
        assert!(conn.execute("DELETE FROM ledger_profile", []).is_err());
    }

    /// A ledger from before profiles is read from what it holds: the demo's users mark a demo's,
    /// any other record a store's, and an empty one is settled by the next config to open it.
    #[test]
    fn an_older_ledger_gets_the_profile_of_what_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let old = |name: &str, rows: &[&str]| {
            let path = dir.path().join(name);
            let conn = rusqlite::Connection::open(&path).unwrap();
            for m in &super::super::schema::MIGRATIONS[..5] {
                if let Some(step) = m.before {
                    step(&conn).unwrap();
                }
                conn.execute_batch(m.sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 5).unwrap();
            for sql in rows {
                conn.execute(sql, []).unwrap();
            }
            drop(conn);
            Ledger::open(&path).unwrap().profile().unwrap()
        };
        let demo_user = "INSERT INTO audit_log (at, action, reason, detail) VALUES (1, 'user_added', 'demo', '{}')";
        let store_user = "INSERT INTO audit_log (at, action, detail) VALUES (1, 'first_manager', '{}')";
        let payment = "INSERT INTO payments (id, terminal, channel, flow, amount_fen, subject, merchant, state, \
                       created_at, updated_at, deadline_at, horizon_at) VALUES ('P', 'T', 'abc', 'qr', 1, '', 'M', 'paid', 1, 1, 2, 3)";
        assert_eq!(old("demo.db", &[demo_user]), Some(LedgerProfile::Demo));
        assert_eq!(old("store.db", &[store_user]), Some(LedgerProfile::Store));
        assert_eq!(old("sales.db", &[payment]), Some(LedgerProfile::Store));
        assert_eq!(old("empty.db", &[]), None);
    }
}
