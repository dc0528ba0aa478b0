//! The chain's server: a PostgreSQL the chain runs, holding every till's ledger.
//!
//! A till owns its rows, so the whole model is exactly-once upload with de-duplication on the
//! server: each row keeps its till's key, append-only rows are inserted `ON CONFLICT DO
//! NOTHING`, changing rows are upserted only by a newer version, and the till's cursor moves in
//! the same transaction as its rows. No sync protocol of our own, no merging.
//!
//! Invariants: nothing here runs on the payment path (the uploader has its own connection to the
//! ledger file and its own task); this module never writes the ledger except its outbox (prune
//! the entries the server already holds; queue every row again when the server lost them); it
//! never logs the password.

pub mod report;
pub mod schema;
pub mod status;
pub mod upload;

use crate::config::{SyncConfig, SyncTls};
use crate::i18n::{Lang, Localized};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::Client;

/// Why the chain's server could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HqError {
    /// The config or its password or CA file: fixed by the operator, not by waiting.
    #[error("sync setup: {0}")]
    Setup(String),
    /// The server could not be reached or dropped the connection: the till keeps its rows and
    /// tries again.
    #[error("the chain's server is unreachable: {0}")]
    Offline(String),
    /// The server answered with an error.
    #[error("the chain's server refused: {0}")]
    Server(String),
    /// The server's schema is older than this version needs (`paydesk-cli hq migrate`).
    #[error("the chain's server has schema {found}; this version needs {needed}")]
    Schema { found: i32, needed: i32 },
    /// Another machine already uploads as this till (a copied config).
    #[error("till {till} is already another machine's (install {other})")]
    TakenTill { till: String, other: String },
    /// These books were registered under another till name (the terminal or store code changed).
    #[error("this ledger is till {registered} on the server, not {till}")]
    Renamed { till: String, registered: String },
    /// The server holds rows under this till's numbers that this ledger does not have: a ledger
    /// restored from an older copy, or one ledger file on two machines.
    #[error("the server's copy of till {till} differs from this ledger: {what}")]
    Diverged { till: String, what: String },
}

impl HqError {
    /// Waiting does not mend it: the operator must act (the uploader retries slowly).
    pub fn needs_operator(&self) -> bool {
        !matches!(self, HqError::Offline(_) | HqError::Server(_))
    }
}

impl Localized for HqError {
    fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (HqError::Setup(why), Lang::Zh) => format!("总部数据库设置有误：{why}"),
            (HqError::Setup(why), Lang::En) => format!("Chain server setup: {why}"),
            // The driver's reason is English and for support: it is in the log and the English text.
            (HqError::Offline(_), Lang::Zh) => "连不上总部数据库，收款照常，恢复后自动补传".to_string(),
            (HqError::Offline(why), Lang::En) => {
                format!("The chain's server cannot be reached ({why}); payments go on and are sent once it is back")
            }
            (HqError::Server(why), Lang::Zh) => format!("总部数据库拒绝了请求：{why}"),
            (HqError::Server(why), Lang::En) => format!("The chain's server refused: {why}"),
            (HqError::Schema { found, needed }, Lang::Zh) => format!(
                "总部数据库结构版本为 {found}，本版本需要 {needed}：请总部执行 paydesk-cli hq migrate"
            ),
            (HqError::Schema { found, needed }, Lang::En) => format!(
                "The chain's server has schema version {found}; this version needs {needed}: run paydesk-cli hq migrate on it"
            ),
            (HqError::TakenTill { till, other }, Lang::Zh) => format!(
                "收银台编号 {till} 已被另一台收银机使用（安装编号 {other}）。可能是复制了别的收银机的配置：请在配置中给本机一个自己的收银台编号（terminal.code）。上传已停止，本机账目不受影响。"
            ),
            (HqError::TakenTill { till, other }, Lang::En) => format!(
                "Till {till} is already used by another machine (install {other}), most likely a copied config: give this till its own terminal.code. Uploading has stopped; this till's books are unaffected."
            ),
            (HqError::Renamed { till, registered }, Lang::Zh) => format!(
                "本机账本在总部登记为收银台 {registered}，不能改作 {till}（否则总部会把同一笔账算两次）。请恢复原来的门店和收银台编号。"
            ),
            (HqError::Renamed { till, registered }, Lang::En) => format!(
                "This ledger is registered as till {registered} on the chain's server and cannot become {till} (its payments would count twice). Restore the store and terminal codes."
            ),
            (HqError::Diverged { till, what }, Lang::Zh) => format!(
                "总部保存的收银台 {till} 账目与本机账本不一致（{what}）：本机账本可能是从旧备份恢复的，或同一账本被复制到了两台机器。上传已停止，请联系总部。"
            ),
            (HqError::Diverged { till, what }, Lang::En) => format!(
                "The chain's copy of till {till} differs from this ledger ({what}): the ledger may have been restored from an older copy, or copied to a second machine. Uploading has stopped; call the chain's office."
            ),
        }
    }
}

impl From<tokio_postgres::Error> for HqError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => HqError::Server(format!("{}: {}", db.code().code(), db.message())),
            // Closed connections, I/O, TLS, timeouts: the server is away. The causes say which.
            None => {
                let mut why = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    why = format!("{why}: {cause}");
                    source = cause.source();
                }
                HqError::Offline(why)
            }
        }
    }
}

impl From<crate::ledger::LedgerError> for HqError {
    fn from(e: crate::ledger::LedgerError) -> Self {
        HqError::Setup(format!("ledger: {e}"))
    }
}

/// How to reach the chain's server: what `[sync]` (or `paydesk-cli hq --url`) says, with the
/// files it names resolved.
#[derive(Debug, Clone)]
pub struct Server {
    pub url: String,
    pub password_file: Option<PathBuf>,
    pub tls: SyncTls,
    pub ca_file: Option<PathBuf>,
}

impl Server {
    pub fn from_config(sync: &SyncConfig, resolve: impl Fn(&Path) -> PathBuf) -> Server {
        Server {
            url: sync.url.clone(),
            password_file: sync.password_file.as_deref().map(&resolve),
            tls: sync.tls,
            ca_file: sync.ca_file.as_deref().map(&resolve),
        }
    }

    /// `host:port/database`, for screens and logs (never a password).
    pub fn display(&self) -> String {
        let Ok(pg) = tokio_postgres::Config::from_str(&self.url) else { return "?".into() };
        let host = match pg.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "?".into(),
        };
        let port = pg.get_ports().first().copied().unwrap_or(5432);
        format!("{host}:{port}/{}", pg.get_dbname().unwrap_or("?"))
    }

    /// A connection, its driver running on the current runtime.
    pub async fn connect(&self) -> Result<Client, HqError> {
        let mut pg =
            tokio_postgres::Config::from_str(&self.url).map_err(|e| HqError::Setup(format!("sync.url: {e}")))?;
        if let Some(file) = &self.password_file {
            pg.password(read_password(file)?);
        }
        pg.connect_timeout(Duration::from_secs(10));
        pg.keepalives_idle(Duration::from_secs(30));
        pg.application_name(concat!("paydesk ", env!("CARGO_PKG_VERSION")));
        // A stuck statement ends the session; the uploader reconnects and goes on from the cursor.
        pg.options("-c statement_timeout=120000 -c idle_in_transaction_session_timeout=120000");
        let client = match self.tls {
            SyncTls::Off => {
                pg.ssl_mode(tokio_postgres::config::SslMode::Disable);
                let (client, connection) = pg.connect(tokio_postgres::NoTls).await?;
                tokio::spawn(drive(connection));
                client
            }
            SyncTls::Verify => {
                pg.ssl_mode(tokio_postgres::config::SslMode::Require);
                let tls = tokio_postgres_rustls::MakeRustlsConnect::new(self.tls_config()?);
                let (client, connection) = pg.connect(tls).await?;
                tokio::spawn(drive(connection));
                client
            }
        };
        Ok(client)
    }

    fn tls_config(&self) -> Result<rustls::ClientConfig, HqError> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::CertificateDer;
        let mut roots = rustls::RootCertStore::empty();
        match &self.ca_file {
            Some(file) => {
                let bad = |why: String| HqError::Setup(format!("sync.ca_file {}: {why}", file.display()));
                let certs = CertificateDer::pem_file_iter(file).map_err(|e| bad(e.to_string()))?;
                for cert in certs {
                    roots.add(cert.map_err(|e| bad(e.to_string()))?).map_err(|e| bad(e.to_string()))?;
                }
                if roots.is_empty() {
                    return Err(bad("no certificate in it / 文件中没有证书".into()));
                }
            }
            None => {
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| HqError::Setup(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth())
    }
}

async fn drive<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if let Err(e) = connection.await {
        tracing::debug!(error = %e, "the connection to the chain's server ended");
    }
}

/// The password file: the password alone on its first line, this user's only.
fn read_password(file: &Path) -> Result<String, HqError> {
    let bad = |why: String| HqError::Setup(format!("sync.password_file {}: {why}", file.display()));
    let text = std::fs::read_to_string(file).map_err(|e| bad(e.to_string()))?;
    crate::private_file::refuse_if_shared(file).map_err(bad)?;
    let password = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if password.is_empty() || password.len() > 1024 {
        return Err(bad("1–1024 characters on the first line / 第一行应为密码（1 到 1024 个字符）".into()));
    }
    Ok(password.to_string())
}
