//! The chain's figures as the manager's window shows them (`[sync] chain_reports`): totals of a
//! range of business days by store, till, channel, wallet and day, every till's unresolved
//! payments and refunds, how far each till's copy reaches, and the chain's CSV export. Read from
//! the chain's server (`hq::report`), named and written as the till's own reports are.

use super::errors::ManageError;
use super::export::{export_range, payment_head, refund_head, refund_record, CsvFile, ExportKind, PAGE};
use super::reports::{instant_text, state_text, DayPoint, GroupKind, GroupView, Money};
use super::Cashier;
use crate::hq::report::{self, By, ChainReport, ChainRow};
use crate::hq::{HqError, Server};
use crate::i18n::Lang;
use crate::ledger::{now_ms, Tally};
use crate::money::Fen;
use crate::text::local_time;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The most unresolved rows one view lists (the oldest first: they matter most).
const UNRESOLVED_SHOWN: i64 = 200;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainView {
    pub from: String,
    pub to: String,
    pub totals: ChainTotals,
    pub daily: Vec<DayPoint>,
    pub unresolved: Vec<ChainUnresolvedView>,
    pub tills: Vec<TillView>,
    /// When the server was read ("2026-12-04 10:42:05").
    pub read_at_text: String,
}

/// The range's money, as the till's own `BreakdownView` with the chain's groupings.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainTotals {
    pub count: i64,
    pub gross: Money,
    pub refund_count: i64,
    pub refunds: Money,
    pub net: Money,
    /// gross / count, rounded down to the fen (0 when there is no sale).
    pub average_ticket: Money,
    pub by_store: Vec<GroupView>,
    pub by_till: Vec<GroupView>,
    pub by_channel: Vec<GroupView>,
    pub by_wallet: Vec<GroupView>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainUnresolvedView {
    pub till_id: String,
    /// `payment` or `refund`
    pub what: String,
    pub id: String,
    pub payment_id: String,
    pub channel_name: String,
    pub amount: Money,
    pub state: String,
    pub state_text: String,
    pub time_text: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TillView {
    pub till_id: String,
    pub store: String,
    pub terminal: String,
    /// "已同步至 12-04 10:42", or that it has sent nothing yet.
    pub synced_text: String,
    /// "3 分钟前": the server's clock since the till's last upload.
    pub last_upload_text: String,
    /// No upload for over an hour: the till may be off, or offline.
    pub quiet: bool,
}

/// A till with no upload for longer than this is marked quiet.
const QUIET_S: i64 = 3600;

impl Cashier {
    /// The chain's server, when this till shows chain figures.
    fn chain_server(&self) -> Result<Server, ManageError> {
        let sync = self.config().sync.as_ref().filter(|s| s.chain_reports).ok_or(ManageError::ChainOff)?;
        Ok(Server::from_config(sync, |p| self.config().resolve(p)))
    }

    /// Whether managers on this till see the chain's figures.
    pub fn chain_reports(&self) -> bool {
        self.config().sync.as_ref().is_some_and(|s| s.chain_reports)
    }

    /// The chain's business days `from` to `to` (inclusive).
    pub async fn chain_view(&self, from: &str, to: &str) -> Result<ChainView, ManageError> {
        let (first, last) = crate::days::parse_span(from, to)?;
        let client = self.chain_server()?.connect().await.map_err(ManageError::Chain)?;
        let cutoff = self.config().business_day.cutoff_hour;
        let totals = |by| report::totals(&client, first, last, cutoff, by);
        let chain = |e: HqError| ManageError::Chain(e);
        let (store, till, channel, wallet, day) = (
            totals(By::Store).await.map_err(chain)?,
            totals(By::Till).await.map_err(chain)?,
            totals(By::Channel).await.map_err(chain)?,
            totals(By::Wallet).await.map_err(chain)?,
            totals(By::Day).await.map_err(chain)?,
        );
        let unresolved = report::unresolved(&client, UNRESOLVED_SHOWN).await.map_err(chain)?;
        let tills = report::tills(&client).await.map_err(chain)?;
        let lang = self.lang();
        let t = &day.total;
        Ok(ChainView {
            from: first.to_string(),
            to: last.to_string(),
            totals: ChainTotals {
                count: t.paid_count,
                gross: t.paid.into(),
                refund_count: t.refund_count,
                refunds: t.refunded.into(),
                net: t.net.into(),
                average_ticket: Tally { count: t.paid_count, gross: t.paid, refund_count: 0, refunds: Fen::ZERO }
                    .average_ticket()
                    .into(),
                by_store: self.chain_groups(&store, None, lang),
                by_till: self.chain_groups(&till, None, lang),
                by_channel: self.chain_groups(&channel, Some(GroupKind::Channel), lang),
                by_wallet: self.chain_groups(&wallet, Some(GroupKind::Wallet), lang),
            },
            daily: day
                .rows
                .iter()
                .map(|r| DayPoint {
                    date: r.key.clone(),
                    count: r.paid_count,
                    gross: r.paid.into(),
                    refunds: r.refunded.into(),
                    net: r.net.into(),
                })
                .collect(),
            unresolved: unresolved
                .into_iter()
                .map(|u| ChainUnresolvedView {
                    till_id: u.till_id,
                    what: u.kind.into(),
                    state_text: state_text(u.kind, &u.state, lang),
                    state: u.state,
                    channel_name: self.channel(&u.channel).map_or(u.channel.clone(), |c| c.name(lang).into()),
                    id: u.id,
                    payment_id: u.payment_id,
                    amount: u.amount.into(),
                    time_text: instant_text(u.created_at),
                })
                .collect(),
            tills: tills
                .into_iter()
                .map(|t| {
                    let synced_text = match (t.synced_to, lang) {
                        (Some(at), Lang::Zh) => format!("已同步至 {}", local_time(at, "%m-%d %H:%M")),
                        (Some(at), Lang::En) => format!("Synced to {}", local_time(at, "%m-%d %H:%M")),
                        (None, _) => lang.pick("尚未上传", "Nothing sent yet").into(),
                    };
                    let last_upload_text = match t.last_upload_s_ago {
                        Some(s) => crate::hq::status::ago(s.max(0) * 1000, lang),
                        None => "—".into(),
                    };
                    TillView {
                        quiet: t.last_upload_s_ago.is_none_or(|s| s > QUIET_S),
                        till_id: t.till_id,
                        store: t.store,
                        terminal: t.terminal,
                        synced_text,
                        last_upload_text,
                    }
                })
                .collect(),
            read_at_text: local_time(now_ms(), "%Y-%m-%d %H:%M:%S"),
        })
    }

    fn chain_groups(&self, report: &ChainReport, kind: Option<GroupKind>, lang: Lang) -> Vec<GroupView> {
        let mut rows: Vec<&ChainRow> = report.rows.iter().collect();
        // Biggest first, as the till's own breakdowns.
        rows.sort_by(|a, b| b.net.0.cmp(&a.net.0).then_with(|| a.key.cmp(&b.key)));
        rows.into_iter()
            .map(|r| GroupView {
                key: r.key.clone(),
                name: kind.map_or_else(|| r.key.clone(), |k| self.group_name(k, &r.key, lang)),
                count: r.paid_count,
                gross: r.paid.into(),
                refunds: r.refunded.into(),
                net: r.net.into(),
            })
            .collect()
    }

    /// The chain's `kind` rows started in business days `from` to `to`, every till, as the
    /// till's own export writes them: the terminal column holds the chain-wide till id, and a
    /// refund's row ends with it.
    pub async fn export_chain_csv(
        &self,
        kind: ExportKind,
        from: &str,
        to: &str,
        out: Option<&Path>,
    ) -> Result<(PathBuf, usize), ManageError> {
        let (first, last, range) = export_range(from, to, self.config().business_day.cutoff_hour)?;
        let client = self.chain_server()?.connect().await.map_err(ManageError::Chain)?;
        let lang = self.lang();
        let name = format!("chain_{}_{first}_{last}.csv", kind.as_str());
        let mut file = CsvFile::create(self.export_path(&name, out))?;
        let mut rows = 0;
        let mut after = None;
        match kind {
            ExportKind::Payments => {
                file.row(payment_head(lang))?;
                loop {
                    let page = report::payments_page(&client, range, after.as_ref(), PAGE as i64)
                        .await
                        .map_err(ManageError::Chain)?;
                    for (till, p, refunded) in &page {
                        file.row(self.payment_record(p, *refunded, till))?;
                    }
                    rows += page.len();
                    match page.last() {
                        Some((till, p, _)) if page.len() == PAGE => {
                            after = Some((p.created_at, till.clone(), p.id.clone()))
                        }
                        _ => break,
                    }
                }
            }
            ExportKind::Refunds => {
                let till_column = lang.pick("终端", "terminal");
                file.row(refund_head(lang).iter().copied().chain([till_column]))?;
                loop {
                    let page = report::refunds_page(&client, range, after.as_ref(), PAGE as i64)
                        .await
                        .map_err(ManageError::Chain)?;
                    for (till, r) in &page {
                        file.row(refund_record(r, lang).into_iter().chain([till.clone()]))?;
                    }
                    rows += page.len();
                    match page.last() {
                        Some((till, r)) if page.len() == PAGE => {
                            after = Some((r.created_at, till.clone(), r.id.clone()))
                        }
                        _ => break,
                    }
                }
            }
        }
        Ok((file.finish()?, rows))
    }
}
