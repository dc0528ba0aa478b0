//! The chain server's schema: numbered SQL files kept in the repo, applied in order by
//! `paydesk-cli hq migrate` (never by a till: tills log in with a role that cannot change it).

use super::HqError;
use tokio_postgres::Client;

/// The migrations, in order; `paydesk.schema_migrations` records which ran.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[(1, "chain", include_str!("migrations/0001_chain.sql"))];

/// The version this build reads and writes.
pub fn needed() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Applies what has not run, each migration in its own transaction, one migrator at a time
/// (an advisory lock). Returns the versions applied.
pub async fn migrate(client: &mut Client) -> Result<Vec<i32>, HqError> {
    client.batch_execute("CREATE SCHEMA IF NOT EXISTS paydesk").await?;
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS paydesk.schema_migrations (\
                 version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await?;
    let mut applied = Vec::new();
    for (version, name, sql) in MIGRATIONS {
        let tx = client.transaction().await?;
        // Held to the end of the transaction: a second migrator waits, then sees this one's work.
        tx.execute("SELECT pg_advisory_xact_lock(7404210419)", &[]).await?;
        let done = tx.query_opt("SELECT 1 FROM paydesk.schema_migrations WHERE version = $1", &[version]).await?;
        if done.is_none() {
            tx.batch_execute(sql).await?;
            tx.execute("INSERT INTO paydesk.schema_migrations (version, name) VALUES ($1, $2)", &[version, name])
                .await?;
            applied.push(*version);
        }
        tx.commit().await?;
    }
    Ok(applied)
}

/// The server's schema version (0: none), refused when older than this build needs. A newer one
/// is fine: a chain migrates its server first, then upgrades its tills one by one, and migrations
/// only add.
pub async fn check(client: &Client) -> Result<i32, HqError> {
    let found: i32 = match client.query_opt("SELECT max(version) FROM paydesk.schema_migrations", &[]).await {
        Ok(row) => row.and_then(|r| r.get::<_, Option<i32>>(0)).unwrap_or(0),
        // 42P01: no such table (never migrated); 3F000: no such schema.
        Err(e) if e.code().is_some_and(|c| c.code() == "42P01" || c.code() == "3F000") => 0,
        Err(e) => return Err(e.into()),
    };
    if found < needed() {
        return Err(HqError::Schema { found, needed: needed() });
    }
    Ok(found)
}
