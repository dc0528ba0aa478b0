//! Sending a till's ledger to the chain's server: registration (which machine is this till),
//! batches applied exactly once, the background uploader, and the comparison of a till's
//! ledger with its copy on the server.

use super::status::{SharedStatus, SyncStatus};
use super::{schema, HqError, Server};
use crate::config::Config;
use crate::ledger::now_ms;
use crate::ledger::sync::{
    Kind, MirroredTable, OutboxReader, Row, SyncBatch, SyncCursor, Value, AUDIT_LOG, MIRRORED, PAYMENT_EVENTS,
};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, GenericClient};

/// Who is uploading: the till's chain-wide name and the ledger's install id.
#[derive(Debug, Clone)]
pub struct Till {
    pub till_id: String,
    pub store: String,
    pub terminal: String,
    pub install_id: String,
    pub profile: Option<String>,
}

impl Till {
    pub fn read(store: &str, terminal: &str, reader: &OutboxReader) -> Result<Till, HqError> {
        let terminal = terminal.to_ascii_uppercase();
        Ok(Till {
            till_id: format!("{store}/{terminal}"),
            store: store.to_string(),
            terminal,
            install_id: reader.install_id()?,
            profile: reader.profile()?,
        })
    }
}

/// Makes sure the server knows this till as this machine's, and returns where its copy ends.
///
/// Refused: a till name another install already uses (a copied config), an install already
/// registered under another name (a changed terminal code would count its payments twice), or a
/// server copy ahead of this ledger (a ledger restored from an older file).
pub async fn register(client: &mut Client, till: &Till, local_end: SyncCursor) -> Result<SyncCursor, HqError> {
    schema::check(client).await?;
    let tx = client.transaction().await?;
    let result = register_in(&tx, till).await;
    let cursor = settle(tx, result).await?;
    if cursor.outbox > local_end.outbox || cursor.events > local_end.events || cursor.audit > local_end.audit {
        return Err(HqError::Diverged {
            till: till.till_id.clone(),
            what: format!(
                "the server holds up to event {} and audit entry {}; this ledger has {} and {}",
                cursor.events, cursor.audit, local_end.events, local_end.audit
            ),
        });
    }
    Ok(cursor)
}

async fn register_in(tx: &tokio_postgres::Transaction<'_>, till: &Till) -> Result<SyncCursor, HqError> {
    tx.execute(
        "INSERT INTO paydesk.tills (till_id, store, terminal, install_id, profile, app_version) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        &[&till.till_id, &till.store, &till.terminal, &till.install_id, &till.profile, &env!("CARGO_PKG_VERSION")],
    )
    .await?;
    locked_cursor(tx, till).await
}

/// The last event and audit entry the server holds of this till are this ledger's own: a
/// ledger restored from an older copy that has since written past the server's numbers has other
/// rows under them, and must not go on as if it were the till the server knows.
pub async fn same_history(
    client: &Client,
    till: &Till,
    cursor: SyncCursor,
    local_event: Option<Row>,
    local_audit: Option<Row>,
) -> Result<(), HqError> {
    for (table, seq, local) in [(&PAYMENT_EVENTS, cursor.events, local_event), (&AUDIT_LOG, cursor.audit, local_audit)]
    {
        if seq == 0 {
            continue;
        }
        let select = format!(
            "SELECT {} FROM paydesk.{} WHERE till_id = $1 AND seq = $2",
            table.column_names().collect::<Vec<_>>().join(", "),
            table.name
        );
        let theirs = client.query_opt(&select, &[&till.till_id, &seq]).await?.map(|r| server_row(table, &r));
        if theirs != local {
            return Err(HqError::Diverged {
                till: till.till_id.clone(),
                what: format!("{} {seq} is not the same row", table.name),
            });
        }
    }
    Ok(())
}

/// The till's row, locked to the end of the transaction, checked to be this machine's.
async fn locked_cursor(tx: &tokio_postgres::Transaction<'_>, till: &Till) -> Result<SyncCursor, HqError> {
    let row = tx
        .query_opt(
            "SELECT install_id, outbox_seq, event_seq, audit_seq FROM paydesk.tills WHERE till_id = $1 FOR UPDATE",
            &[&till.till_id],
        )
        .await?;
    match row {
        Some(row) => {
            let install: String = row.get(0);
            if install != till.install_id {
                return Err(HqError::TakenTill { till: till.till_id.clone(), other: install });
            }
            Ok(SyncCursor { outbox: row.get(1), events: row.get(2), audit: row.get(3) })
        }
        None => {
            let other =
                tx.query_opt("SELECT till_id FROM paydesk.tills WHERE install_id = $1", &[&till.install_id]).await?;
            Err(match other {
                Some(row) => HqError::Renamed { till: till.till_id.clone(), registered: row.get(0) },
                None => HqError::Server(format!("till {} was not registered", till.till_id)),
            })
        }
    }
}

/// Applies one batch in one transaction: its rows and the till's new cursor, or nothing.
pub async fn upload(client: &mut Client, till: &Till, batch: &SyncBatch) -> Result<(), HqError> {
    let tx = client.transaction().await?;
    let result = upload_in(&tx, till, batch).await;
    settle(tx, result).await
}

async fn upload_in(tx: &tokio_postgres::Transaction<'_>, till: &Till, batch: &SyncBatch) -> Result<(), HqError> {
    let at = locked_cursor(tx, till).await?;
    for (table, rows) in MIRRORED.iter().zip(&batch.tables) {
        if rows.rows.is_empty() {
            continue;
        }
        let mut params: Vec<Box<dyn ToSql + Sync + Send>> = vec![Box::new(till.till_id.clone())];
        if table.changes() {
            params.push(Box::new(rows.versions.clone()));
        }
        params.extend(columns_of(table, &rows.rows));
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
        let inserted = tx.execute(&insert_sql(table), &refs).await?;
        if !table.changes() && (inserted as usize) < rows.rows.len() {
            // Rows already there (a batch sent again after a lost commit) must be the same rows.
            let differ: i64 = tx.query_one(&clash_sql(table), &refs).await?.get(0);
            if differ > 0 {
                return Err(HqError::Diverged {
                    till: till.till_id.clone(),
                    what: format!("{differ} {} rows with the same numbers and other contents", table.name),
                });
            }
        }
    }
    let next = batch.next;
    let synced_to = (!batch.more).then_some(batch.read_at);
    tx.execute(
        "UPDATE paydesk.tills SET outbox_seq = GREATEST(outbox_seq, $2), event_seq = GREATEST(event_seq, $3), \
         audit_seq = GREATEST(audit_seq, $4), last_upload_at = now(), \
         synced_to = GREATEST(synced_to, $5) WHERE till_id = $1",
        &[
            &till.till_id,
            &next.outbox.max(at.outbox),
            &next.events.max(at.events),
            &next.audit.max(at.audit),
            &synced_to,
        ],
    )
    .await?;
    Ok(())
}

/// Commits after `result` is Ok; on an error rolls back before returning: the till's row lock
/// is let go at once, not whenever the dropped transaction's rollback is next flushed.
async fn settle<T>(tx: tokio_postgres::Transaction<'_>, result: Result<T, HqError>) -> Result<T, HqError> {
    match result {
        Ok(v) => {
            tx.commit().await?;
            Ok(v)
        }
        Err(e) => {
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

/// Each column of `rows` as one typed array, for `UNNEST`.
fn columns_of(table: &MirroredTable, rows: &[Row]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| -> Box<dyn ToSql + Sync + Send> {
            match kind {
                Kind::Int => Box::new(
                    rows.iter().map(|r| if let Value::Int(v) = r[i] { Some(v) } else { None }).collect::<Vec<_>>(),
                ),
                Kind::Text => Box::new(
                    rows.iter()
                        .map(|r| if let Value::Text(v) = &r[i] { Some(v.clone()) } else { None })
                        .collect::<Vec<_>>(),
                ),
            }
        })
        .collect()
}

fn pg_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Int => "bigint",
        Kind::Text => "text",
    }
}

/// `UNNEST($2::bigint[], $3::text[], …) AS u(c1, c2, …)`: the batch as rows (after `$1`, the till).
fn unnest(table: &MirroredTable) -> String {
    let mut arrays = Vec::new();
    let mut names = Vec::new();
    let mut n = 2;
    if table.changes() {
        arrays.push(format!("${n}::bigint[]"));
        names.push("version".to_string());
        n += 1;
    }
    for (name, kind) in table.columns {
        arrays.push(format!("${n}::{}[]", pg_type(*kind)));
        names.push(name.to_string());
        n += 1;
    }
    format!("UNNEST({}) AS u({})", arrays.join(", "), names.join(", "))
}

fn insert_sql(table: &MirroredTable) -> String {
    let columns: Vec<&str> = table.column_names().collect();
    let t = table.name;
    if table.changes() {
        let updates: Vec<String> = columns
            .iter()
            .skip(1)
            .map(|c| format!("{c} = EXCLUDED.{c}"))
            .chain(["version = EXCLUDED.version".into()])
            .collect();
        format!(
            "INSERT INTO paydesk.{t} (till_id, version, {cols}) SELECT $1::text, u.* FROM {u} \
             ON CONFLICT (till_id, {key}) DO UPDATE SET {updates} WHERE paydesk.{t}.version < EXCLUDED.version",
            cols = columns.join(", "),
            u = unnest(table),
            key = table.key,
            updates = updates.join(", "),
        )
    } else {
        format!(
            "INSERT INTO paydesk.{t} (till_id, {cols}) SELECT $1::text, u.* FROM {u} ON CONFLICT (till_id, {key}) DO NOTHING",
            cols = columns.join(", "),
            u = unnest(table),
            key = table.key,
        )
    }
}

/// How many rows of the batch the server holds under the same number with other contents.
fn clash_sql(table: &MirroredTable) -> String {
    let columns: Vec<&str> = table.column_names().collect();
    let theirs: Vec<String> = columns.iter().map(|c| format!("t.{c}")).collect();
    let ours: Vec<String> = columns.iter().map(|c| format!("u.{c}")).collect();
    format!(
        "SELECT count(*) FROM {u} JOIN paydesk.{t} t ON t.till_id = $1::text AND t.{key} = u.{key} \
         WHERE ({theirs}) IS DISTINCT FROM ({ours})",
        u = unnest(table),
        t = table.name,
        key = table.key,
        theirs = theirs.join(", "),
        ours = ours.join(", "),
    )
}

/// One table of a till's ledger against its copy on the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TableComparison {
    pub table: &'static str,
    pub local: usize,
    pub server: usize,
    /// Keys of rows the server lacks, has but the ledger does not, or holds otherwise.
    pub missing: Vec<String>,
    pub extra: Vec<String>,
    pub differ: Vec<String>,
}

impl TableComparison {
    pub fn equal(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.differ.is_empty()
    }
}

/// Every mirrored row of a till's ledger against the server's: the check after a kill, an
/// outage or a chaos run, and `paydesk-cli hq verify`.
pub async fn compare(
    client: &impl GenericClient,
    till_id: &str,
    reader: &OutboxReader,
) -> Result<Vec<TableComparison>, HqError> {
    let mut out = Vec::new();
    for table in MIRRORED {
        let local = reader.all_rows(table)?;
        let select = format!(
            "SELECT {} FROM paydesk.{} WHERE till_id = $1 ORDER BY {}",
            table.column_names().collect::<Vec<_>>().join(", "),
            table.name,
            table.key
        );
        let server: Vec<Row> = client.query(&select, &[&till_id]).await?.iter().map(|r| server_row(table, r)).collect();
        out.push(compare_rows(table.name, &local, &server));
    }
    Ok(out)
}

/// A server row read back in the till's vocabulary.
fn server_row(table: &MirroredTable, r: &tokio_postgres::Row) -> Row {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| match kind {
            Kind::Int => r.get::<_, Option<i64>>(i).map_or(Value::Null, Value::Int),
            Kind::Text => r.get::<_, Option<String>>(i).map_or(Value::Null, Value::Text),
        })
        .collect()
}

fn compare_rows(table: &'static str, local: &[Row], server: &[Row]) -> TableComparison {
    use std::collections::BTreeMap;
    let key = |r: &Row| match &r[0] {
        Value::Int(v) => v.to_string(),
        Value::Text(t) => t.clone(),
        Value::Null => String::new(),
    };
    let theirs: BTreeMap<String, &Row> = server.iter().map(|r| (key(r), r)).collect();
    let ours: BTreeMap<String, &Row> = local.iter().map(|r| (key(r), r)).collect();
    let mut c = TableComparison { table, local: local.len(), server: server.len(), ..Default::default() };
    for (k, row) in &ours {
        match theirs.get(k) {
            None => c.missing.push(k.clone()),
            Some(s) if s != row => c.differ.push(k.clone()),
            Some(_) => {}
        }
    }
    c.extra = theirs.keys().filter(|k| !ours.contains_key(*k)).cloned().collect();
    c
}

/// The background uploader of one till.
#[derive(Clone)]
pub struct Uploader {
    server: Server,
    store: String,
    terminal: String,
    ledger: PathBuf,
    interval: Duration,
    batch: usize,
    status: SharedStatus,
}

/// Outbox entries the server holds are pruned once this many have piled up: pruning is a write,
/// and a write waits for (and makes wait) the payment path's writes, so it is rare.
const PRUNE_EVERY: i64 = 5_000;

impl Uploader {
    /// None when the config has no `[sync]`.
    pub fn from_config(config: &Config, ledger: &Path) -> Option<Uploader> {
        let sync = config.sync.as_ref()?;
        let server = Server::from_config(sync, |p| config.resolve(p));
        let till_id = sync.till_id(&config.terminal.code);
        let status = Arc::new(Mutex::new(SyncStatus::new(&till_id, &server.display(), sync.chain_reports)));
        Some(Uploader {
            server,
            store: sync.store.clone(),
            terminal: config.terminal.code.clone(),
            ledger: ledger.to_path_buf(),
            interval: Duration::from_millis(sync.interval_ms),
            batch: sync.batch,
            status,
        })
    }

    pub fn status(&self) -> SharedStatus {
        self.status.clone()
    }

    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Runs for the life of the process: uploads, waits, and after any failure waits longer
    /// (1 s doubling to 30 s; a refusal that needs the operator is retried each minute).
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut backoff = Duration::from_secs(1);
            loop {
                let e = match self.session(false).await {
                    Ok(()) => continue,
                    Err(e) => e,
                };
                tracing::warn!(error = %e, "chain upload stopped; trying again");
                let wait = if e.needs_operator() { Duration::from_secs(60) } else { backoff };
                self.status.lock().unwrap_or_else(|p| p.into_inner()).failed(e, now_ms());
                tokio::time::sleep(wait).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        })
    }

    /// Sends everything waiting, then returns: `paydesk-cli hq push`, tests.
    pub async fn push_until_caught_up(&self) -> Result<(), HqError> {
        self.session(true).await
    }

    async fn session(&self, once: bool) -> Result<(), HqError> {
        let path = self.ledger.clone();
        let reader = blocking(move || OutboxReader::open(&path).map_err(HqError::from)).await?;
        let reader = Arc::new(Mutex::new(reader));
        let till = {
            let (store, terminal, r) = (self.store.clone(), self.terminal.clone(), reader.clone());
            blocking(move || Till::read(&store, &terminal, &lock(&r))).await?
        };
        let mut client = self.server.connect().await?;
        let local_end = {
            let r = reader.clone();
            blocking(move || lock(&r).end().map_err(HqError::from)).await?
        };
        let mut cursor = register(&mut client, &till, local_end).await?;
        let (ours_event, ours_audit) = {
            let (r, c) = (reader.clone(), cursor);
            blocking(move || {
                let r = lock(&r);
                Ok((r.row_at(&PAYMENT_EVENTS, c.events)?, r.row_at(&AUDIT_LOG, c.audit)?))
            })
            .await?
        };
        same_history(&client, &till, cursor, ours_event, ours_audit).await?;
        // A server behind what this till pruned (a new server, or one restored from a backup)
        // gets every row again: nothing the till holds is left out of the chain's copy.
        let r = reader.clone();
        let (requeued, mut pruned) = blocking(move || {
            let mut r = lock(&r);
            let pruned = r.pruned_to()?;
            let requeued = if cursor.outbox < pruned { Some(r.requeue_all()?) } else { None };
            Ok((requeued, pruned))
        })
        .await?;
        if let Some(n) = requeued {
            tracing::warn!(till = %till.till_id, rows = n, "the chain's server lacks rows this till had pruned: sending every row again");
        }
        loop {
            let (r, from, limit) = (reader.clone(), cursor, self.batch);
            let batch = blocking(move || lock(&r).read_batch(from, limit).map_err(HqError::from)).await?;
            if batch.is_empty() {
                self.status.lock().unwrap_or_else(|p| p.into_inner()).caught_up(batch.read_at);
                if once {
                    return Ok(());
                }
                tokio::time::sleep(self.interval).await;
                continue;
            }
            upload(&mut client, &till, &batch).await?;
            cursor = batch.next;
            let backlog = if batch.more {
                let r = reader.clone();
                blocking(move || lock(&r).backlog(cursor).map(|b| b.total()).map_err(HqError::from)).await?
            } else {
                0
            };
            self.status.lock().unwrap_or_else(|p| p.into_inner()).sent(batch.row_count(), backlog, &batch);
            if cursor.outbox - pruned >= PRUNE_EVERY {
                let (r, upto) = (reader.clone(), cursor.outbox);
                // Pruning is housekeeping: a busy ledger only delays it to the next batch.
                match blocking(move || lock(&r).prune(upto).map_err(HqError::from)).await {
                    Ok(_) => pruned = upto,
                    Err(e) => tracing::debug!(error = %e, "outbox not pruned this time"),
                }
            }
        }
    }
}

fn lock(r: &Mutex<OutboxReader>) -> std::sync::MutexGuard<'_, OutboxReader> {
    r.lock().unwrap_or_else(|p| p.into_inner())
}

/// Ledger reads run on the blocking pool, never on the runtime's workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, HqError> + Send + 'static) -> Result<T, HqError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| HqError::Setup(format!("reader task: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::sync::PAYMENTS;

    #[test]
    fn the_upsert_moves_a_row_only_forward_and_append_only_rows_never_change() {
        let sql = insert_sql(&PAYMENTS);
        assert!(sql.contains("ON CONFLICT (till_id, id) DO UPDATE"), "{sql}");
        assert!(sql.ends_with("WHERE paydesk.payments.version < EXCLUDED.version"), "{sql}");
        assert!(sql.contains("$2::bigint[], $3::text[]"), "the version, then the id: {sql}");
        assert!(!sql.contains("id = EXCLUDED.id,"), "the key is not rewritten: {sql}");
        let sql = insert_sql(&AUDIT_LOG);
        assert!(sql.ends_with("ON CONFLICT (till_id, seq) DO NOTHING"), "{sql}");
        assert!(sql.contains("$2::bigint[], $3::bigint[], $4::text[]"), "seq, at, user_name: {sql}");
    }

    #[test]
    fn a_comparison_names_missing_extra_and_differing_rows() {
        let row = |k: &str, v: i64| vec![Value::Text(k.into()), Value::Int(v)];
        let c = compare_rows(
            "payments",
            &[row("A", 1), row("B", 2), row("C", 3)],
            &[row("A", 1), row("B", 9), row("D", 4)],
        );
        assert_eq!(
            (c.missing, c.differ, c.extra),
            (vec!["C".to_string()], vec!["B".to_string()], vec!["D".to_string()])
        );
        assert!(compare_rows("payments", &[row("A", 1)], &[row("A", 1)]).equal());
    }
}
