//! `[sync]`: this till sends its ledger to the chain's PostgreSQL (see `hq`).

use super::{invalid, ConfigError};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::str::FromStr;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// The chain's server: `postgresql://user@host:port/database`. The password never goes
    /// here (config files get copied and shown): it is read from `password_file`.
    pub url: String,
    /// This store's code in the chain. With `terminal.code` it names the till chain-wide
    /// (`SH001/T01`).
    pub store: String,
    /// A file holding the password alone, readable by this user only (chmod 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// `verify` (default): TLS, the server's certificate checked against `ca_file` or the
    /// system's roots. `off`: plain TCP, for a server on this machine or a private link only.
    #[serde(default)]
    pub tls: SyncTls,
    /// The chain's own certificate authority (PEM), when its server's certificate is not
    /// signed by a public one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// How often the uploader looks for new rows when it has caught up.
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
    /// Rows per table in one upload transaction.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Managers signed in on this till see the whole chain's figures (the chain tab).
    #[serde(default)]
    pub chain_reports: bool,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SyncTls {
    #[default]
    Verify,
    Off,
}

fn default_interval_ms() -> u64 {
    1000
}

fn default_batch() -> usize {
    2000
}

impl SyncConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let pg = tokio_postgres::Config::from_str(&self.url).map_err(|e| {
            invalid(
                "sync.url",
                format!("postgresql://user@host:port/database ({e}) / 应为 postgresql://用户@主机:端口/数据库"),
            )
        })?;
        if pg.get_password().is_some() {
            return Err(invalid(
                "sync.url",
                "no password in the url: put it in sync.password_file (chmod 600) / 地址中不要写密码，请写入 sync.password_file（权限 600）",
            ));
        }
        if pg.get_hosts().is_empty() || pg.get_user().is_none() || pg.get_dbname().is_none() {
            return Err(invalid("sync.url", "the host, user and database are all needed / 需要主机、用户和数据库名"));
        }
        if !valid_code(&self.store, 16) {
            return Err(invalid("sync.store", "1–16 letters, digits, - or _ / 1 到 16 个字母、数字、- 或 _"));
        }
        if !(100..=3_600_000).contains(&self.interval_ms) {
            return Err(invalid("sync.interval_ms", "100–3600000"));
        }
        if !(1..=20_000).contains(&self.batch) {
            return Err(invalid("sync.batch", "1–20000"));
        }
        if self.tls == SyncTls::Off && self.ca_file.is_some() {
            return Err(invalid("sync.ca_file", "only with tls = \"verify\" / 仅在 tls = \"verify\" 时使用"));
        }
        Ok(())
    }

    /// The till's name in the chain: store code and terminal code.
    pub fn till_id(&self, terminal: &str) -> String {
        format!("{}/{}", self.store, terminal.to_ascii_uppercase())
    }
}

fn valid_code(code: &str, max: usize) -> bool {
    (1..=max).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sync(url: &str) -> SyncConfig {
        SyncConfig {
            url: url.into(),
            store: "SH001".into(),
            password_file: None,
            tls: SyncTls::Verify,
            ca_file: None,
            interval_ms: 1000,
            batch: 2000,
            chain_reports: false,
        }
    }

    #[test]
    fn a_url_without_password_host_user_and_database_is_refused() {
        assert!(sync("postgresql://till@hq.example.com:5432/chain").validate().is_ok());
        for (url, says) in [
            ("postgresql://till:secret@hq.example.com/chain", "password"),
            ("postgresql://hq.example.com/chain", "user"),
            ("postgresql://till@hq.example.com", "database"),
            ("http://hq.example.com", "postgresql://"),
        ] {
            let why = sync(url).validate().unwrap_err().to_string();
            assert!(why.contains(says), "{url}: {why}");
        }
        let mut s = sync("postgresql://till@h/c");
        s.store = "上海一店".into();
        assert!(s.validate().unwrap_err().to_string().contains("sync.store"));
        assert_eq!(sync("postgresql://till@h/c").till_id("t01"), "SH001/T01");
    }
}
