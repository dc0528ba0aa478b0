//! The local ledger: one SQLite file, WAL, `synchronous=FULL`. A payment row is committed before
//! anything is sent; every state change is a guarded UPDATE plus one append-only event row in the
//! same transaction.

mod audit;
mod charges;
mod payments;
mod people;
mod prints;
mod profile;
mod recon_runs;
mod reconcile;
mod refunds;
mod reports;
mod schema;
mod shifts;
mod status;
pub mod sync;

pub use audit::{AuditEntry, AuditFilter, AuditNote};
pub use charges::{Admitted, Charge, ChargeRecord, ChargeRefused, ChargeState, NewCharge, Origin, Tender};
pub use payments::{Change, Event, NewPayment, Payment, Watch};
pub use people::{PinClaim, PinMiss, UserChange, UserRow};
pub use prints::PrintJob;
pub use profile::LedgerProfile;
pub use recon_runs::{NewReconDifference, NewReconRun, ReconDifference, ReconResolution, ReconRun};
pub use reconcile::{ChannelCharge, ChannelRefund, Mismatch};
pub use refunds::{NewRefund, Refund, RefundChange, RefundState};
pub use reports::{breakdown_on, local_ms, Breakdown, DayRange, SaleTime, Tally, Totals};
pub use shifts::Shift;
pub use status::Status;

use crate::i18n::{Lang, Localized};
use crate::money::Fen;
use rusqlite::{Connection, ErrorCode, OpenFlags};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Who a user is at the till: what they may do, and what the audit log says they were.
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

/// The ledger's vocabulary of payment states.
///
/// Three kinds: *open* (`created`, `pending`, `unknown`: in flight, driven or recovered until
/// resolved), *final* (`paid`, `failed`, `closed`, `reversed`: the channel said so), and
/// `lapsed` between them: unpaid when its page lapsed by our clock, on a channel that cannot
/// close an order or say it closed. Our clock alone never makes "not charged" final, so a lapsed
/// payment is watched (queried with back-off) and counts as unpaid meanwhile.
///
/// Evidence that money moved always wins: a verified `paid` moves a payment out of `lapsed`,
/// `failed` or `closed` too (flagged late). Only `paid` and `reversed` never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Created,
    Pending,
    Unknown,
    Lapsed,
    Paid,
    Failed,
    Closed,
    Reversed,
}

impl State {
    /// In flight: what recovery resolves, what a lease guards, what a Z lists as unresolved.
    pub const OPEN: &'static [State] = &[State::Created, State::Pending, State::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Created => "created",
            State::Pending => "pending",
            State::Unknown => "unknown",
            State::Lapsed => "lapsed",
            State::Paid => "paid",
            State::Failed => "failed",
            State::Closed => "closed",
            State::Reversed => "reversed",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "created" => State::Created,
            "pending" => State::Pending,
            "unknown" => State::Unknown,
            "lapsed" => State::Lapsed,
            "paid" => State::Paid,
            "failed" => State::Failed,
            "closed" => State::Closed,
            "reversed" => State::Reversed,
            _ => return None,
        })
    }

    pub fn is_open(self) -> bool {
        State::OPEN.contains(&self)
    }

    /// What the channel confirmed. `lapsed` is neither open nor final.
    pub fn is_final(self) -> bool {
        !self.is_open() && self != State::Lapsed
    }

    /// The states a payment may move to `self` from.
    pub fn allowed_from(self) -> &'static [State] {
        const UNSETTLED: &[State] = &[State::Created, State::Pending, State::Unknown, State::Lapsed];
        match self {
            State::Created => &[],
            State::Pending => &[State::Created, State::Unknown],
            State::Unknown => &[State::Created, State::Pending],
            State::Lapsed => State::OPEN,
            // Evidence that money moved wins over any "not paid" we recorded.
            State::Paid => {
                &[State::Created, State::Pending, State::Unknown, State::Lapsed, State::Failed, State::Closed]
            }
            State::Failed | State::Closed | State::Reversed => UNSETTLED,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flow {
    Barcode,
    Qr,
}

impl Flow {
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Barcode => "barcode",
            Flow::Qr => "qr",
        }
    }

    pub fn parse(s: &str) -> Option<Flow> {
        match s {
            "barcode" => Some(Flow::Barcode),
            "qr" => Some(Flow::Qr),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("the disk is full")]
    DiskFull,
    #[error("the ledger file is read-only")]
    ReadOnly,
    #[error("the ledger file is damaged: {0}")]
    Corrupt(String),
    /// The start-up integrity check is still reading the file: nothing is written until it is done.
    #[error("the ledger is being checked")]
    Checking,
    #[error("the ledger was written by a newer paydesk (schema {found}, this build knows {known})")]
    NewerSchema { found: i64, known: i64 },
    #[error("a payment with this number already exists")]
    Duplicate,
    #[error("no payment or refund {0}")]
    NotFound(String),
    #[error("only paid payments can be refunded (this one is {0})")]
    NotRefundable(&'static str),
    #[error("the refund is more than the {refundable} that can still be refunded")]
    RefundExceeds { refundable: Fen },
    #[error("a shift is open already")]
    ShiftOpen,
    #[error("no shift is open")]
    NoOpenShift,
    #[error("the last active manager cannot be disabled")]
    LastManager,
    #[error("no reconciliation {0}")]
    ReconNotFound(String),
    #[error("this difference has been resolved already")]
    AlreadyResolved,
    #[error(transparent)]
    Charge(#[from] ChargeRefused),
    #[error("the ledger {path} is a {ledger:?} ledger, which this config cannot open")]
    ProfileMismatch { ledger: LedgerProfile, path: String },
    #[error("database error: {0}")]
    Sqlite(String),
}

impl Localized for LedgerError {
    fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (LedgerError::DiskFull, Lang::Zh) => "磁盘已满，无法记账。请先清理磁盘空间，再收款。".into(),
            (LedgerError::DiskFull, Lang::En) => {
                "The disk is full, so nothing can be recorded. Free disk space before taking payments.".into()
            }
            (LedgerError::ReadOnly, Lang::Zh) => "账本文件只读，无法记账。请检查文件权限。".into(),
            (LedgerError::ReadOnly, Lang::En) => "The ledger file is read-only. Check its permissions.".into(),
            (LedgerError::Corrupt(why), Lang::Zh) => {
                format!("账本文件已损坏（{why}），请联系技术支持，切勿删除该文件。")
            }
            (LedgerError::Corrupt(why), Lang::En) => {
                format!("The ledger file is damaged ({why}). Contact support; do not delete the file.")
            }
            (LedgerError::Checking, Lang::Zh) => "正在检查账本（启动时的完整性检查），请稍候再收款。".into(),
            (LedgerError::Checking, Lang::En) => {
                "The ledger is being checked (the start-up integrity check); take the payment in a moment.".into()
            }
            (LedgerError::NewerSchema { .. }, Lang::Zh) => "账本由更新版本的 paydesk 写入，请升级本程序。".into(),
            (LedgerError::NewerSchema { .. }, Lang::En) => {
                "The ledger was written by a newer paydesk; upgrade this program.".into()
            }
            (LedgerError::LastManager, Lang::Zh) => "不能停用最后一位店长：至少要有一位店长能授权。".into(),
            (LedgerError::LastManager, Lang::En) => {
                "The last active manager cannot be disabled: someone must be able to approve.".into()
            }
            (LedgerError::ReconNotFound(what), Lang::Zh) => format!("没有这条对账记录（{what}）"),
            (LedgerError::ReconNotFound(what), Lang::En) => format!("No such reconciliation record ({what})"),
            (LedgerError::AlreadyResolved, Lang::Zh) => "这条差异已经处理过了".into(),
            (LedgerError::AlreadyResolved, Lang::En) => "This difference has been resolved already".into(),
            (LedgerError::Duplicate, Lang::Zh) => "订单号重复".into(),
            (LedgerError::Duplicate, Lang::En) => "That order number exists already".into(),
            (LedgerError::NotFound(id), Lang::Zh) => format!("找不到记录 {id}"),
            (LedgerError::NotFound(id), Lang::En) => format!("No record {id}"),
            (LedgerError::NotRefundable(state), Lang::Zh) => {
                format!(
                    "只有已支付的订单可以退款（此订单状态：{}）",
                    State::parse(state).map_or(*state, |s| s.label(Lang::Zh))
                )
            }
            (LedgerError::NotRefundable(state), Lang::En) => {
                format!("Only paid payments can be refunded (this one is {state})")
            }
            (LedgerError::RefundExceeds { refundable }, Lang::Zh) => {
                format!("退款金额超过可退金额 ¥{refundable}")
            }
            (LedgerError::RefundExceeds { refundable }, Lang::En) => {
                format!("The refund is more than the ¥{refundable} that can still be refunded")
            }
            (LedgerError::ShiftOpen, Lang::Zh) => "已有未交班的班次，请先交班".into(),
            (LedgerError::ShiftOpen, Lang::En) => "A shift is open already; close it first".into(),
            (LedgerError::NoOpenShift, Lang::Zh) => "当前没有开班".into(),
            (LedgerError::NoOpenShift, Lang::En) => "No shift is open".into(),
            (LedgerError::Charge(ChargeRefused::Conflict { external_id, existing }), Lang::Zh) => {
                format!("订单号 {external_id} 已用于另一笔收款（{existing}），金额或内容不同")
            }
            (LedgerError::Charge(ChargeRefused::Conflict { external_id, existing }), Lang::En) => {
                format!("Order {external_id} was already used for a different charge ({existing})")
            }
            (LedgerError::Charge(ChargeRefused::Busy { open }), Lang::Zh) => {
                format!("收银台正忙：还有未完成的收款 {open}，请先完成或取消")
            }
            (LedgerError::Charge(ChargeRefused::Busy { open }), Lang::En) => {
                format!("The till is busy with unfinished charge {open}; finish or cancel it first")
            }
            (LedgerError::Charge(ChargeRefused::NotOpen { id, state }), Lang::Zh) => {
                let now = ChargeState::parse(state).map_or(*state, |s| s.label(Lang::Zh));
                format!("收款单 {id} {now}，不能再发起支付")
            }
            (LedgerError::Charge(ChargeRefused::NotOpen { id, state }), Lang::En) => {
                format!("Charge {id} is {state}; no new payment can start for it")
            }
            (LedgerError::ProfileMismatch { ledger: LedgerProfile::Demo, path }, Lang::Zh) => format!(
                "账本 {path} 是演示账本：其中是沙箱的收款和演示用户（PIN 公开）。正式门店须使用新账本：请将该文件（连同 -wal、-shm 文件）移走后再启动。"
            ),
            (LedgerError::ProfileMismatch { ledger: LedgerProfile::Demo, path }, Lang::En) => format!(
                "The ledger {path} belongs to the demo: it holds sandbox payments and the demo's users, whose PINs are public. A real store starts a new ledger: move that file (with its -wal and -shm files) aside and start again."
            ),
            (LedgerError::ProfileMismatch { ledger: LedgerProfile::Store, path }, Lang::Zh) => format!(
                "账本 {path} 记录着正式门店的账目，演示配置不能打开它（否则会向沙箱查询其中的订单）。请删除配置中的 [demo] 一节。"
            ),
            (LedgerError::ProfileMismatch { ledger: LedgerProfile::Store, path }, Lang::En) => format!(
                "The ledger {path} holds a real store's books; the demo profile cannot open it (it would ask the sandbox about its payments). Remove the [demo] section from the config."
            ),
            (LedgerError::Sqlite(why), Lang::Zh) => format!("账本错误：{why}"),
            (LedgerError::Sqlite(why), Lang::En) => format!("Ledger error: {why}"),
        }
    }
}

impl From<rusqlite::Error> for LedgerError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => LedgerError::DiskFull,
            Some(ErrorCode::ReadOnly) => LedgerError::ReadOnly,
            Some(ErrorCode::DatabaseCorrupt) | Some(ErrorCode::NotADatabase) => LedgerError::Corrupt(e.to_string()),
            Some(ErrorCode::ConstraintViolation) if e.to_string().contains("UNIQUE") => LedgerError::Duplicate,
            _ => LedgerError::Sqlite(e.to_string()),
        }
    }
}

pub struct Ledger {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl Ledger {
    /// Opens (creating if needed) and migrates the ledger file.
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        Ledger::open_rw(path).map_err(|e| match e {
            // SQLite says only "unable to open" when the file or its folder cannot be written
            // (a read-only mount, a file without write permission): say what it is.
            LedgerError::Sqlite(_) if not_writable(path) => LedgerError::ReadOnly,
            e => e,
        })
    }

    fn open_rw(path: &Path) -> Result<Ledger, LedgerError> {
        keep_private(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(LedgerError::Sqlite(format!("journal_mode is {mode}, not wal")));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Checkpoints run from the recovery sweep (`checkpoint`), not inside a payment's commit,
        // where they would add a burst of writes to that payment's latency.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        // The payment path's statements stay compiled (parsing them was a tenth of its CPU time);
        // rusqlite keeps 16 by default, fewer than the statements a day's work cycles through.
        conn.set_prepared_statement_cache_capacity(64);
        migrate(&mut conn)?;
        Ok(Ledger { conn: Mutex::new(conn), path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `PRAGMA quick_check`: a damaged file is reported, never silently recreated.
    pub fn check_integrity(&self) -> Result<(), LedgerError> {
        quick_check(&self.conn())
    }

    /// The same check on a read-only connection of its own, so that it can run beside the
    /// window (seconds on a big ledger) without holding the ledger's connection.
    pub fn check_file(path: &Path) -> Result<(), LedgerError> {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        quick_check(&conn)
    }

    /// Copies the write-ahead log into the database file without waiting for readers.
    pub fn checkpoint(&self) -> Result<(), LedgerError> {
        let conn = self.conn();
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Rows of `table` (payments or refunds) started in `[from, to)`, oldest first, `limit` at a
    /// time after the row `after` (its `created_at` and id).
    #[allow(clippy::too_many_arguments)]
    fn created_page<T>(
        &self,
        table: &str,
        columns: &str,
        read: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
        from: i64,
        to: i64,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<T>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {columns} FROM {table} WHERE created_at >= ?1 AND created_at < ?2 \
             AND (?3 IS NULL OR created_at > ?3 OR (created_at = ?3 AND id > ?4)) ORDER BY created_at, id LIMIT ?5"
        ))?;
        let (at, id) = after.map_or((None, None), |(t, i)| (Some(t), Some(i)));
        let rows = stmt.query_map(rusqlite::params![from, to, at, id, limit as i64], read)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock rolled its transaction back; the connection is fine.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The books (and every PIN's hash) are this user's only: a new ledger file is made 0600 before
/// SQLite opens it (its -wal and -shm files take the same mode), an existing one that others
/// could read is tightened.
fn keep_private(path: &Path) -> Result<(), LedgerError> {
    use crate::private_file;
    let io = |e: std::io::Error| LedgerError::Sqlite(e.to_string());
    if let Some(dir) = path.parent() {
        private_file::create_dir(dir).map_err(io)?;
    }
    match private_file::create_new(path, b"") {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(io(e)),
        _ => {}
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_os_string();
        file.push(suffix);
        match private_file::tighten(Path::new(&file)) {
            Ok(true) => {
                tracing::info!(file = %Path::new(&file).display(), "the ledger was readable by other users; now 0600")
            }
            Ok(false) => {}
            // A read-only file system: opening reports it in its own words.
            Err(e) => {
                tracing::warn!(file = %Path::new(&file).display(), error = %e, "cannot tighten the ledger's mode")
            }
        }
    }
    Ok(())
}

/// True when the ledger file, or the folder its log files go in, refuses writing.
fn not_writable(path: &Path) -> bool {
    use std::io::ErrorKind::{PermissionDenied, ReadOnlyFilesystem};
    let refused = |r: std::io::Result<std::fs::File>| matches!(r, Err(e) if matches!(e.kind(), PermissionDenied | ReadOnlyFilesystem));
    if path.exists() && refused(std::fs::OpenOptions::new().write(true).open(path)) {
        return true;
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let probe = dir.join(".paydesk-write-probe");
    let result = std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(&probe);
    let _ = std::fs::remove_file(&probe);
    refused(result)
}

fn migrate(conn: &mut Connection) -> Result<(), LedgerError> {
    let known = schema::MIGRATIONS.len() as i64;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > known {
        return Err(LedgerError::NewerSchema { found, known });
    }
    for (i, m) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        if let Some(step) = m.before {
            step(&tx)?;
        }
        tx.execute_batch(m.sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// Milliseconds since the epoch, UTC: the ledger's clock.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn quick_check(conn: &Connection) -> Result<(), LedgerError> {
    let mut stmt = conn.prepare("PRAGMA quick_check")?;
    let rows: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    if rows.len() == 1 && rows[0] == "ok" {
        Ok(())
    } else {
        Err(LedgerError::Corrupt(rows.join("; ")))
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub fn temp_ledger() -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("ledger.db")).unwrap();
        (dir, ledger)
    }

    pub fn new_payment(id: &str) -> NewPayment {
        NewPayment {
            id: id.into(),
            terminal: "T01".into(),
            channel: "abc".into(),
            flow: Flow::Barcode,
            amount: Fen(1234),
            subject: "商品".into(),
            merchant: "103881636900016".into(),
            wallet: Some("alipay".into()),
            code_masked: Some("2801**********2345".into()),
            created_at: now_ms(),
            deadline_at: now_ms() + 60_000,
            horizon_at: now_ms() + 180_000,
            lease_until: 0,
            source: "test".into(),
            clerk: None,
            charge: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::temp_ledger;
    use super::*;

    #[test]
    fn opens_in_wal_with_full_sync_and_current_schema() {
        let (_dir, ledger) = temp_ledger();
        let conn = ledger.conn();
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(sync, 2, "FULL");
        assert_eq!(fk, 1);
        assert_eq!(version, schema::MIGRATIONS.len() as i64);
        drop(conn);
        ledger.check_integrity().unwrap();
    }

    /// The ledger holds the books and every PIN's hash (a short PIN's argon2 hash falls to an
    /// offline search): no other user may read it, its log files, or its folder.
    #[cfg(unix)]
    #[test]
    fn the_ledger_and_its_logs_are_this_users_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop/ledger.db");
        let ledger = Ledger::open(&path).unwrap();
        ledger.conn().execute("INSERT INTO ledger_profile (id, profile, at) VALUES (1, 'store', 1)", []).unwrap();
        let files = ["ledger.db", "ledger.db-wal", "ledger.db-shm"].map(|f| dir.path().join("shop").join(f));
        assert_eq!(files.each_ref().map(|f| mode(f)), [0o600; 3]);
        assert_eq!(mode(&dir.path().join("shop")), 0o700);
        // A ledger an earlier version left readable by everyone is tightened when opened (here
        // while another process holds it, so its log files are there too).
        for f in &files {
            std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let other = Ledger::open(&path).unwrap();
        assert_eq!(other.profile().unwrap(), Some(LedgerProfile::Store));
        assert_eq!(files.each_ref().map(|f| mode(f)), [0o600; 3]);
    }

    #[test]
    fn reopening_does_not_migrate_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        drop(Ledger::open(&path).unwrap());
        Ledger::open(&path).unwrap();
    }

    /// A ledger written before the `lapsed` state (schema 4, with a payment in it) is migrated in
    /// place: the row is kept, `lapsed` is accepted, and a second connection sees the new schema.
    #[test]
    fn a_schema_4_ledger_takes_the_lapsed_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        {
            let conn = Connection::open(&path).unwrap();
            for m in &schema::MIGRATIONS[..4] {
                conn.execute_batch(m.sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 4).unwrap();
            for (id, state) in [("OLD1", "pending"), ("OLD2", "closed"), ("OLD3", "closed")] {
                conn.execute(
                    "INSERT INTO payments (id, terminal, channel, flow, amount_fen, subject, merchant, state, created_at, \
                     updated_at, deadline_at, horizon_at) VALUES (?1, 'T', 'cashdesk', 'qr', 100, '', 'M', ?2, 1, 1, 2, 3)",
                    [id, state],
                )
                .unwrap();
            }
            // OLD2 was closed on our clock (the old lapse note); OLD3 by its channel.
            let note = r#"{"note":"still unpaid after the payment page's lifetime: the channel cannot close it, the page has lapsed"}"#;
            for (id, detail) in [("OLD2", note), ("OLD3", r#"{"note":null}"#)] {
                conn.execute(
                    "INSERT INTO payment_events (payment_id, at, kind, from_state, to_state, detail) \
                     VALUES (?1, 2, 'transition', 'pending', 'closed', ?2)",
                    [id, detail],
                )
                .unwrap();
            }
            assert!(conn.execute("UPDATE payments SET state = 'lapsed'", []).is_err(), "schema 4 has no lapsed");
        }
        let ledger = Ledger::open(&path).unwrap();
        let other = Ledger::open(&path).unwrap();
        ledger.check_integrity().unwrap();
        let watch = Watch { every_ms: 1_000, until: now_ms() + 60_000 };
        let p = ledger.transition("OLD1", State::Lapsed, &Change { watch: Some(watch), ..Change::default() }).unwrap();
        let p = p.unwrap();
        assert_eq!((p.state, p.watch_until), (State::Lapsed, Some(watch.until)));
        assert!(p.recheck_at.is_some_and(|at| at > now_ms()));
        assert_eq!(other.payment("OLD1").unwrap().state, State::Lapsed);
        assert!(other.conn().execute("UPDATE payments SET state = 'bogus'", []).is_err(), "the CHECK still holds");
        // Leaving lapsed ends the watch.
        let p = other.transition("OLD1", State::Paid, &Change::default()).unwrap().unwrap();
        assert!(p.late && p.recheck_at.is_none());
        // What an earlier version closed on its own clock is lapsed and watched again; what a
        // channel closed stays closed.
        let reopened = ledger.payment("OLD2").unwrap();
        assert_eq!(reopened.state, State::Lapsed);
        assert!(reopened.recheck_at.is_some_and(|at| at <= now_ms()) && reopened.watch_until > Some(now_ms()));
        assert!(ledger.events("OLD2").unwrap().iter().any(|e| e.to_state.as_deref() == Some("lapsed")));
        assert_eq!(ledger.payment("OLD3").unwrap().state, State::Closed);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        drop(Ledger::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        assert!(matches!(Ledger::open(&path), Err(LedgerError::NewerSchema { found: 99, .. })));
    }

    #[test]
    fn a_file_that_is_not_a_database_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        let err = Ledger::open(&path).err().unwrap();
        assert!(matches!(err, LedgerError::Corrupt(_)), "{err:?}");
        // The damaged file is left as it was.
        assert_eq!(std::fs::read(&path).unwrap(), vec![0x5a; 8192]);
    }

    #[test]
    fn only_paid_and_reversed_never_change_and_only_paid_leaves_a_final_state() {
        use State::*;
        let all = [Created, Pending, Unknown, Lapsed, Paid, Failed, Closed, Reversed];
        for from in all {
            for to in all {
                let allowed = to.allowed_from().contains(&from);
                match from {
                    Paid | Reversed => assert!(!allowed, "{from:?} -> {to:?}"),
                    Failed | Closed => assert_eq!(allowed, to == Paid, "{from:?} -> {to:?}"),
                    Lapsed => assert_eq!(allowed, to.is_final(), "{from:?} -> {to:?}"),
                    _ => {}
                }
            }
        }
        assert!(!Lapsed.is_open() && !Lapsed.is_final());
    }
}
