//! How far the chain's copy of this till is behind: what the manager's screen shows
//! ("已同步至 10:42", "离线 2 小时").

use super::HqError;
use crate::i18n::{Lang, Localized};
use crate::ledger::sync::SyncBatch;
use crate::text::local_time;
use serde::Serialize;
use std::sync::{Arc, Mutex};

pub type SharedStatus = Arc<Mutex<SyncStatus>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Not yet reached the server since start.
    Starting,
    /// Sending a backlog.
    Uploading,
    /// The server holds everything the ledger had at `synced_to`.
    Synced,
    /// The server cannot be reached; the till keeps its rows and tries again.
    Offline,
    /// The server or the setup refused, and waiting will not mend it: the operator must act.
    Stopped,
}

#[derive(Debug, Clone)]
pub struct SyncStatus {
    pub till_id: String,
    pub server: String,
    pub chain_reports: bool,
    pub phase: Phase,
    /// Everything the ledger recorded by then is on the server.
    pub synced_to: Option<i64>,
    /// The last time the server answered.
    pub last_contact: Option<i64>,
    /// Unreachable since (the first failure after the last contact).
    pub offline_since: Option<i64>,
    /// Rows waiting after the server's cursor, as last counted.
    pub backlog: i64,
    /// Rows sent since this process started.
    pub sent_rows: u64,
    pub problem: Option<HqError>,
}

impl SyncStatus {
    pub fn new(till_id: &str, server: &str, chain_reports: bool) -> SyncStatus {
        SyncStatus {
            till_id: till_id.into(),
            server: server.into(),
            chain_reports,
            phase: Phase::Starting,
            synced_to: None,
            last_contact: None,
            offline_since: None,
            backlog: 0,
            sent_rows: 0,
            problem: None,
        }
    }

    pub fn caught_up(&mut self, read_at: i64) {
        self.phase = Phase::Synced;
        self.synced_to = Some(read_at);
        self.last_contact = Some(read_at);
        self.offline_since = None;
        self.backlog = 0;
        self.problem = None;
    }

    pub fn sent(&mut self, rows: usize, backlog: i64, batch: &SyncBatch) {
        self.sent_rows += rows as u64;
        self.backlog = backlog;
        self.last_contact = Some(batch.read_at);
        self.offline_since = None;
        self.problem = None;
        if batch.more {
            self.phase = Phase::Uploading;
        } else {
            self.phase = Phase::Synced;
            self.synced_to = Some(batch.read_at);
        }
    }

    pub fn failed(&mut self, e: HqError, now: i64) {
        self.phase = if e.needs_operator() { Phase::Stopped } else { Phase::Offline };
        if self.offline_since.is_none() {
            self.offline_since = Some(self.last_contact.map_or(now, |c| c.max(now - 1)).min(now));
        }
        self.problem = Some(e);
    }

    /// The one line the manager's screen shows.
    pub fn label(&self, lang: Lang, now: i64) -> String {
        let at = |ms: i64| {
            let same_day = local_time(ms, "%Y-%m-%d") == local_time(now, "%Y-%m-%d");
            local_time(ms, if same_day { "%H:%M" } else { "%m-%d %H:%M" })
        };
        let waiting = self.backlog;
        match (self.phase, lang) {
            (Phase::Starting, Lang::Zh) => "正在连接总部…".into(),
            (Phase::Starting, Lang::En) => "Connecting to the chain's server…".into(),
            (Phase::Synced, Lang::Zh) => format!("已同步至 {}", self.synced_to.map(at).unwrap_or_default()),
            (Phase::Synced, Lang::En) => format!("Synced to {}", self.synced_to.map(at).unwrap_or_default()),
            (Phase::Uploading, Lang::Zh) => format!("正在补传，还有 {waiting} 条"),
            (Phase::Uploading, Lang::En) => format!("Catching up: {waiting} rows to send"),
            (Phase::Offline, lang) => {
                let gone = self.offline_since.map_or(0, |s| (now - s).max(0));
                match (duration(gone, lang), lang) {
                    (None, lang) => lang.pick("刚刚离线", "Offline just now").into(),
                    (Some(d), Lang::Zh) => format!("离线 {d}"),
                    (Some(d), Lang::En) => format!("Offline for {d}"),
                }
            }
            (Phase::Stopped, Lang::Zh) => "上传已停止，需要处理".into(),
            (Phase::Stopped, Lang::En) => "Upload stopped: needs attention".into(),
        }
    }

    pub fn view(&self, lang: Lang, now: i64) -> SyncView {
        SyncView {
            till_id: self.till_id.clone(),
            server: self.server.clone(),
            chain_reports: self.chain_reports,
            phase: self.phase,
            label: self.label(lang, now),
            synced_to: self.synced_to,
            synced_to_text: self.synced_to.map(|t| local_time(t, "%Y-%m-%d %H:%M:%S")),
            backlog: self.backlog,
            problem: self.problem.as_ref().map(|p| p.message(lang)),
        }
    }
}

/// What the window shows of the sync.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncView {
    pub till_id: String,
    pub server: String,
    pub chain_reports: bool,
    pub phase: Phase,
    pub label: String,
    pub synced_to: Option<i64>,
    pub synced_to_text: Option<String>,
    pub backlog: i64,
    pub problem: Option<String>,
}

/// "3 分钟前" / "3 min ago": how long ago something last happened ("刚刚" under a minute).
pub fn ago(ms: i64, lang: Lang) -> String {
    match (duration(ms, lang), lang) {
        (None, lang) => lang.pick("刚刚", "just now").into(),
        (Some(d), Lang::Zh) => format!("{d}前"),
        (Some(d), Lang::En) => format!("{d} ago"),
    }
}

/// "2 小时" / "2 h", rounded down to the largest whole unit; none under a minute.
fn duration(ms: i64, lang: Lang) -> Option<String> {
    let (n, zh, en) = match ms / 1000 {
        s if s < 60 => return None,
        s if s < 3600 => (s / 60, "分钟", "min"),
        s if s < 86_400 => (s / 3600, "小时", "h"),
        s => (s / 86_400, "天", "d"),
    };
    Some(match lang {
        Lang::Zh => format!("{n} {zh}"),
        Lang::En => format!("{n} {en}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_reads_as_how_long_and_synced_as_until_when() {
        let mut s = SyncStatus::new("SH001/T01", "hq:5432/chain", false);
        let now = 1_767_225_600_000; // a fixed instant
        s.caught_up(now - 60_000);
        assert!(s.label(Lang::Zh, now).starts_with("已同步至 "), "{}", s.label(Lang::Zh, now));
        s.failed(HqError::Offline("connection refused".into()), now - 7_200_000 + 5);
        assert_eq!(s.label(Lang::Zh, now), "离线 1 小时");
        assert_eq!(s.label(Lang::Zh, now + 10_000), "离线 2 小时");
        assert_eq!(s.label(Lang::En, now + 10_000), "Offline for 2 h");
        s.failed(HqError::Offline("connection refused".into()), now);
        assert_eq!(s.label(Lang::Zh, now + 10_000), "离线 2 小时", "offline since the first failure");
        let mut fresh = SyncStatus::new("SH001/T01", "hq:5432/chain", false);
        fresh.failed(HqError::Offline("connection refused".into()), now);
        assert_eq!(fresh.label(Lang::Zh, now + 5_000), "刚刚离线");
        assert_eq!(ago(5_000, Lang::En), "just now");
        assert_eq!(ago(180_000, Lang::Zh), "3 分钟前");
        s.failed(HqError::TakenTill { till: "SH001/T01".into(), other: "ab".into() }, now);
        assert_eq!(s.phase, Phase::Stopped);
        assert!(s.view(Lang::Zh, now).problem.unwrap().contains("复制"));
    }
}
