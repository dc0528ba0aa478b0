//! Reconciliation: a business day of one channel, the ledger against the channel's own record.
//!
//! The record is the channel's statement (downloaded, or a file a manager imports) or, for a
//! channel that publishes none, a sweep of queries about every order of the day, including those
//! the ledger holds failed, closed or lapsed. The raw file is kept under `statements/` beside the
//! ledger with its SHA-256; the run and its differences are written once (`ledger::recon_runs`).
//! A difference is resolved by a manager with a reason, through the ledger's guarded transitions:
//! a payment the channel charged becomes `paid` (late, alerted); anything else is marked for
//! follow-up, never dropped.
//!
//! Business days are the channel's (Beijing: the wallets cut their bills at Beijing midnight).

use super::driver::order_of;
use super::errors::ManageError;
use super::Cashier;
use crate::channel::{Channel, PayOutcome, StatementOutcome};
use crate::config::ChannelZone;
use crate::i18n::{Lang, Localized};
use crate::ledger::{
    now_ms, AuditNote, Change, LedgerError, NewReconDifference, NewReconRun, Payment, ReconDifference, ReconRun,
    RefundChange, RefundState, State,
};
use crate::money::Fen;
use crate::people::{Action, Approval};
use crate::recon::bills::{self, Format};
use crate::recon::compare::{self, Difference, Kind, LedgerPayment, LedgerRefund, LedgerSide};
use crate::recon::statement::{Movement, Source, StatementError, StatementRow};
use chrono::{Duration as Days, NaiveDate, TimeZone};
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

/// Where the channel's record of the day comes from.
#[derive(Debug, Clone)]
pub enum StatementSource {
    /// Asked of the channel: its bill where it publishes one, else a query sweep.
    Channel,
    /// A file a manager imports (any format `recon::bills::read_statement` reads).
    Import(Vec<u8>),
}

impl StatementSource {
    /// A statement file a manager picked; a file that cannot be read is said so, in words.
    pub fn from_file(path: &std::path::Path) -> Result<StatementSource, ReconError> {
        std::fs::read(path)
            .map(StatementSource::Import)
            .map_err(|e| ReconError::File(format!("{}: {e}", path.display())))
    }
}

/// How much later than the channel the ledger may record a refund's success (its answer's time
/// on the wire, a retry): see `record_run`.
const REFUND_CLOCK_SLACK_MS: i64 = 5 * 60_000;

/// How many queries a sweep keeps in flight.
const SWEEP_CONCURRENCY: usize = 4;

/// A bill of day D is surely made by D+1 at this hour (Beijing): after it, "no bill" from the
/// channel means the day had no trade; before it, not made yet. Reading of both wallets' docs
/// (bills ready from about 09:00–10:00 the next day); a late channel only delays a run.
const BILL_READY_HOUR: i64 = 12;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReconError {
    #[error("no channel {0} is configured")]
    UnknownChannel(String),
    #[error("the statement is not available yet: {0}")]
    NotReady(String),
    #[error("the channel could not give its statement: {0}")]
    Channel(String),
    #[error("{0}")]
    Statement(StatementError),
    #[error("{0}")]
    Ledger(LedgerError),
    #[error("cannot read or keep the statement file: {0}")]
    File(String),
    #[error("not a date: {0}")]
    Date(String),
}

impl From<LedgerError> for ReconError {
    fn from(e: LedgerError) -> Self {
        ReconError::Ledger(e)
    }
}

impl ReconError {
    pub fn code(&self) -> &'static str {
        match self {
            ReconError::UnknownChannel(_) => "unknown_channel",
            ReconError::NotReady(_) => "not_ready",
            ReconError::Channel(_) => "channel",
            ReconError::Statement(_) => "statement",
            ReconError::Ledger(_) => "ledger",
            ReconError::File(_) => "file",
            ReconError::Date(_) => "date",
        }
    }
}

impl Localized for ReconError {
    fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (ReconError::UnknownChannel(c), Lang::Zh) => format!("未配置收款渠道 {c}"),
            (ReconError::UnknownChannel(c), Lang::En) => format!("No payment channel {c} is configured"),
            (ReconError::NotReady(why), Lang::Zh) => {
                format!("渠道的对账单还没有生成（对账单次日上午可下载）：{why}")
            }
            (ReconError::NotReady(why), Lang::En) => {
                format!("The channel's statement is not ready yet (bills are ready the next morning): {why}")
            }
            (ReconError::Channel(why), Lang::Zh) => format!("未能从渠道取得对账单，请稍后再试：{why}"),
            (ReconError::Channel(why), Lang::En) => {
                format!("Could not get the statement from the channel; try again later: {why}")
            }
            (ReconError::Statement(e), Lang::Zh) => format!("对账单无法读取，未做任何更改：{e}"),
            (ReconError::Statement(e), Lang::En) => format!("The statement cannot be read; nothing changed: {e}"),
            (ReconError::Ledger(e), _) => e.message(lang),
            (ReconError::File(why), Lang::Zh) => format!("无法读取或保存对账单文件：{why}"),
            (ReconError::File(why), Lang::En) => format!("Cannot read or keep the statement file: {why}"),
            (ReconError::Date(d), Lang::Zh) => format!("日期格式不正确：{d}（应为 2026-11-22）"),
            (ReconError::Date(d), Lang::En) => format!("Not a date: {d} (use 2026-11-22)"),
        }
    }
}

/// A run as the manager sees it: its figures and every difference.
#[derive(Debug, Clone, Serialize)]
pub struct ReconReport {
    pub run: ReconRun,
    pub differences: Vec<ReconDifference>,
}

/// What a resolution did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The channel charged it: the payment is now paid (late, alerted).
    MarkedPaid,
    /// The channel refunded it: the ledger's unfinished refund is now succeeded.
    RefundRecorded,
    /// Nothing the ledger can do by itself: marked for a person to follow up with the channel.
    FollowUp,
}

impl Resolution {
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::MarkedPaid => "marked_paid",
            Resolution::RefundRecorded => "refund_recorded",
            Resolution::FollowUp => "follow_up",
        }
    }
}

/// A run as the Reconciliation tab shows it: every figure the screen prints, made here.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    pub id: i64,
    pub channel: String,
    pub channel_name: String,
    pub day: String,
    pub source: String,
    pub source_text: String,
    pub file_name: Option<String>,
    pub file_sha256: Option<String>,
    pub rows: i64,
    pub other_tills_rows: i64,
    pub matched: i64,
    pub matched_yuan: String,
    pub refunds_matched: i64,
    pub refunds_matched_yuan: String,
    pub fee_yuan: String,
    pub differences: i64,
    pub unresolved: i64,
    pub waiting: i64,
    /// Matched payments out of matched plus differences to act on, in per mille (the chart).
    pub match_permille: i64,
    pub run_by: String,
    pub at_text: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DifferenceView {
    pub id: i64,
    pub kind: String,
    pub kind_text: String,
    /// What it means and what resolving it does, in the manager's words.
    pub explain: String,
    pub waiting: bool,
    pub order_no: String,
    pub refund_no: Option<String>,
    pub trade_no: Option<String>,
    pub ledger_yuan: Option<String>,
    pub channel_yuan: Option<String>,
    /// What resolving does (`marked_paid`, `refund_recorded`, `follow_up`); none once resolved
    /// or while it awaits the next bill.
    pub proposed: Option<String>,
    pub proposed_text: Option<String>,
    pub resolution: Option<ResolutionView>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolutionView {
    pub action: String,
    pub action_text: String,
    pub reason: String,
    pub by: String,
    pub at_text: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDetailView {
    pub run: RunView,
    pub differences: Vec<DifferenceView>,
}

/// The days of a month: the newest run of each channel and day, and each day's match rate.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MonthView {
    pub month: String,
    pub channels: Vec<ChannelName>,
    pub runs: Vec<RunView>,
    pub days: Vec<DayRate>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelName {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DayRate {
    pub day: String,
    /// None: no run that day.
    pub match_permille: Option<i64>,
    pub unresolved: i64,
}

fn permille(matched: i64, unresolved: i64) -> i64 {
    let all = matched + unresolved;
    if all == 0 {
        1000
    } else {
        matched * 1000 / all
    }
}

fn kind_text(kind: &str, lang: Lang) -> (&'static str, &'static str) {
    let (zh, en, zh_explain, en_explain) = match Kind::parse(kind) {
        Some(Kind::ChargedNotPaid) => (
            "渠道已扣款，账本未收款",
            "Charged, not paid in the ledger",
            "渠道的账单显示顾客已付款，本机账本却没有记为已收款（或没有这笔订单）。处理后记为已收款（迟到），并提醒。",
            "The channel's record shows the customer paid; the ledger does not have it paid (or has no such order). Resolving records it paid (late) and alerts.",
        ),
        Some(Kind::ChargedTwice) => (
            "渠道重复扣款",
            "Charged twice",
            "账单中同一订单出现多次收款，请联系渠道核实并退回多扣的款项。",
            "The statement lists the order charged more than once: check with the channel and refund the extra.",
        ),
        Some(Kind::PaidAbsent) => (
            "账本已收款，渠道无记录",
            "Paid in the ledger, absent at the channel",
            "本机记为已收款，但当天和次日的账单里都没有。标记为待跟进，绝不删除。",
            "Paid in the ledger, but in neither this bill nor the next day's. Marked for follow-up, never dropped.",
        ),
        Some(Kind::AwaitingNextBill) => (
            "等待次日账单",
            "Awaiting the next day's bill",
            "账单按渠道的日切生成，接近零点的收款可能出现在次日账单中。次日对账后再判断。",
            "Bills are cut at the channel's midnight: a payment near it may be in the next day's bill. The next run decides.",
        ),
        Some(Kind::AmountDiffers) => (
            "金额不一致",
            "Amounts differ",
            "账单金额与账本金额不同，请联系渠道核实。",
            "The statement's amount is not the ledger's: check with the channel.",
        ),
        Some(Kind::RefundNotInLedger) => (
            "渠道已退款，账本未记录",
            "Refunded at the channel, not in the ledger",
            "渠道已退款，本机账本没有记为退款成功。若本机有这笔未完成的退款，处理后记为退款成功。",
            "The channel refunded money the ledger does not hold refunded. If the ledger has that refund unfinished, resolving records it succeeded.",
        ),
        Some(Kind::RefundAbsent) => (
            "账本已退款，渠道无记录",
            "Refunded in the ledger, absent at the channel",
            "本机记为退款成功，但当天和次日的账单里都没有。标记为待跟进。",
            "Refunded in the ledger, in neither this bill nor the next day's. Marked for follow-up.",
        ),
        Some(Kind::RefundAwaitingNextBill) => (
            "退款等待次日账单",
            "Refund awaiting the next day's bill",
            "退款可能出现在次日账单中。次日对账后再判断。",
            "The refund may be in the next day's bill. The next run decides.",
        ),
        Some(Kind::RefundAmountDiffers) => (
            "退款金额不一致",
            "Refund amounts differ",
            "账单中的退款与账本中的退款不一致，请联系渠道核实。",
            "The statement's refund is not the ledger's: check with the channel.",
        ),
        Some(Kind::FeeDiffers) => (
            "手续费与费率不符",
            "Fee off the contracted rate",
            "账单对这笔收款收取的手续费与配置的签约费率不符（账本金额一栏为按费率应收的手续费）。请联系渠道核实。",
            "The statement's fee on this payment is not the contracted rate of it (the ledger column shows the fee at that rate): check with the channel.",
        ),
        Some(Kind::NotAsked) => (
            "未能查询",
            "Could not be asked",
            "逐笔查询时渠道没有回答这笔订单，请稍后重新对账。",
            "The channel did not answer about this order during the sweep: run it again later.",
        ),
        None => ("未知差异", "Unknown difference", "", ""),
    };
    match lang {
        Lang::Zh => (zh, zh_explain),
        Lang::En => (en, en_explain),
    }
}

fn action_text(action: &str, lang: Lang) -> &'static str {
    match (action, lang) {
        ("marked_paid", Lang::Zh) => "记为已收款（迟到）",
        ("marked_paid", Lang::En) => "Record paid (late)",
        ("refund_recorded", Lang::Zh) => "记为退款成功",
        ("refund_recorded", Lang::En) => "Record the refund succeeded",
        (_, Lang::Zh) => "标记为待跟进",
        (_, Lang::En) => "Mark for follow-up",
    }
}

fn source_text(source: &str, lang: Lang) -> &'static str {
    match (source, lang) {
        ("download", Lang::Zh) => "渠道账单",
        ("download", Lang::En) => "Channel bill",
        ("import", Lang::Zh) => "导入的对账单",
        ("import", Lang::En) => "Imported statement",
        (_, Lang::Zh) => "逐笔查询",
        (_, Lang::En) => "Query sweep",
    }
}

/// The same run shows the charge given back in full (a refund row of the same order and amount
/// the ledger does not have): no money is owed either way, a person looks at it.
fn given_back(d: &ReconDifference, run: &[ReconDifference]) -> bool {
    run.iter().any(|o| {
        Kind::parse(&o.kind) == Some(Kind::RefundNotInLedger) && o.order_no == d.order_no && o.channel == d.channel
    })
}

/// `[start, end)` of the channel's business day `day`, in ms since the epoch.
pub fn day_bounds(day: NaiveDate) -> (i64, i64) {
    let zone = ChannelZone::default().0;
    let start = |d: NaiveDate| {
        zone.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN)).single().map_or(0, |t| t.timestamp_millis())
    };
    (start(day), start(day + Days::days(1)))
}

/// A business day typed `YYYY-MM-DD`.
pub fn parse_day(text: &str) -> Result<NaiveDate, ReconError> {
    crate::days::parse_day(text).ok_or_else(|| ReconError::Date(text.to_string()))
}

/// The channel's business day containing `ms`.
pub fn day_of(ms: i64) -> NaiveDate {
    let zone = ChannelZone::default().0;
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().with_timezone(&zone).date_naive()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The record of the day, read: rows, where they came from, and the file kept.
struct Record {
    rows: Vec<StatementRow>,
    source: Source,
    format: Option<Format>,
    file: Option<(String, String)>,
    /// Orders a sweep could not learn about (each becomes a `not_asked` difference).
    not_asked: Vec<(String, Fen)>,
    /// The orders a sweep asked about, answered (its "day": what it must account for).
    asked: Option<BTreeSet<String>>,
}

impl Cashier {
    /// The folder the statements are kept in: `statements/` beside the ledger.
    pub fn statements_dir(&self) -> PathBuf {
        let ledger = self.inner.ledger.path();
        ledger.parent().map(|p| p.join("statements")).unwrap_or_else(|| PathBuf::from("statements"))
    }

    /// Reconciles `channel`'s business day `day`. `by` names who or what started it (a user,
    /// `schedule`, `cli`). The run is recorded even when it finds nothing wrong; a statement
    /// that cannot be had or read records nothing.
    pub async fn reconcile(
        &self,
        channel: &str,
        day: NaiveDate,
        source: StatementSource,
        by: &str,
    ) -> Result<ReconReport, ReconError> {
        self.inner.writable().map_err(ReconError::Ledger)?;
        let ch = self.channel(channel).cloned().ok_or_else(|| ReconError::UnknownChannel(channel.to_string()))?;
        let record = match source {
            StatementSource::Import(bytes) => self.read_file(channel, day, Source::Import, bytes, None)?,
            StatementSource::Channel => match ch.statement(day).await.outcome {
                StatementOutcome::File { bytes, sha1 } => {
                    self.read_file(channel, day, Source::Download, bytes, sha1.as_deref())?
                }
                StatementOutcome::NoStatement(why) => {
                    let (_, end) = day_bounds(day);
                    if now_ms() < end + BILL_READY_HOUR * 3_600_000 {
                        return Err(ReconError::NotReady(why));
                    }
                    // Past the hour every bill is made by: the day had no trade at the channel.
                    Record {
                        rows: Vec::new(),
                        source: Source::Download,
                        format: None,
                        file: None,
                        not_asked: Vec::new(),
                        asked: None,
                    }
                }
                StatementOutcome::NotOffered => self.sweep(&ch, day).await?,
                StatementOutcome::Failed(why) => return Err(ReconError::Channel(why)),
            },
        };
        self.record_run(channel, day, record, by)
    }

    /// Reads a statement file, checks it, and keeps it under `statements/` (named by day, channel
    /// and hash: a second copy of the same file is the same file).
    fn read_file(
        &self,
        channel: &str,
        day: NaiveDate,
        source: Source,
        bytes: Vec<u8>,
        sha1: Option<&str>,
    ) -> Result<Record, ReconError> {
        let (format, rows) = bills::read_statement(&bytes, sha1).map_err(ReconError::Statement)?;
        let sha256 = sha256_hex(&bytes);
        let name = format!("{day}_{channel}_{}_{}.{}", source.as_str(), &sha256[..12], format.extension());
        let path = self.statements_dir().join(&name);
        if !path.exists() {
            crate::private_file::write_atomically(&path, &bytes).map_err(|e| ReconError::File(e.to_string()))?;
        }
        Ok(Record {
            rows,
            source,
            format: Some(format),
            file: Some((name, sha256)),
            not_asked: Vec::new(),
            asked: None,
        })
    }

    /// Asks the channel about every order of the day the ledger has, whatever its state.
    async fn sweep(&self, ch: &Arc<dyn Channel>, day: NaiveDate) -> Result<Record, ReconError> {
        let (from, to) = day_bounds(day);
        let payments = self.inner.ledger.created_between_on(ch.id(), from, to)?;
        let mut answers: Vec<(Payment, PayOutcome)> = Vec::with_capacity(payments.len());
        let mut pending = payments.into_iter();
        let mut set = tokio::task::JoinSet::new();
        loop {
            while set.len() < SWEEP_CONCURRENCY {
                let Some(p) = pending.next() else { break };
                let ch = Arc::clone(ch);
                set.spawn(async move {
                    let outcome = ch.query(&order_of(&p)).await.outcome;
                    (p, outcome)
                });
            }
            match set.join_next().await {
                Some(Ok(answer)) => answers.push(answer),
                Some(Err(e)) => tracing::warn!("a sweep query ended abnormally: {e}"),
                None => break,
            }
        }
        let mut rows = Vec::new();
        let mut not_asked = Vec::new();
        let mut asked = BTreeSet::new();
        for (p, outcome) in answers {
            let row = |movement, trade_no: &Option<String>, at_ms| StatementRow {
                trade_no: trade_no.clone().or_else(|| p.channel_trade_no.clone()).unwrap_or_default(),
                order_no: p.id.clone(),
                movement,
                amount: p.amount,
                fee: Fen::ZERO,
                at_ms,
                refund_no: None,
            };
            match &outcome {
                PayOutcome::Paid { trade_no, paid_at } => rows.push(row(Movement::Pay, trade_no, *paid_at)),
                // Paid and given back in full at the channel: a reversal, or the ledger's own
                // refunds of all of it (then only the payment is the sweep's to check).
                PayOutcome::Refunded { trade_no } => {
                    rows.push(row(Movement::Pay, trade_no, None));
                    let refunded = self.inner.ledger.refunded(&p.id)?;
                    if p.state != State::Paid || refunded != p.amount {
                        rows.push(row(Movement::Refund, trade_no, None));
                    }
                }
                PayOutcome::NotSent(_) | PayOutcome::Unknown(_) => {
                    not_asked.push((p.id.clone(), p.amount));
                    continue;
                }
                // Reversed: whatever was charged went back; nothing of it stands at the channel.
                PayOutcome::Reversed { .. }
                | PayOutcome::Waiting
                | PayOutcome::Unpaid
                | PayOutcome::Failed(_)
                | PayOutcome::Closed
                | PayOutcome::NotFound => {}
            }
            asked.insert(p.id.clone());
        }
        Ok(Record { rows, source: Source::QuerySweep, format: None, file: None, not_asked, asked: Some(asked) })
    }

    /// What the ledger holds for the day, compared with the record, written as one run.
    fn record_run(
        &self,
        channel: &str,
        day: NaiveDate,
        mut record: Record,
        by: &str,
    ) -> Result<ReconReport, ReconError> {
        let ledger = &self.inner.ledger;
        // Several tills share a merchant account, and so its bill: another till's orders are its
        // own ledger's to match. An order number no till made stays (a charge made elsewhere).
        let terminal = self.inner.config.terminal.code.to_ascii_uppercase();
        let all_rows = record.rows.len();
        record
            .rows
            .retain(|r| crate::orderno::terminal_of(&r.order_no).is_none_or(|t| t.eq_ignore_ascii_case(&terminal)));
        let other_tills_rows = all_rows - record.rows.len();
        let (from, to) = day_bounds(day);
        let sweep = record.asked.is_some();
        let fee_rate_bp = self.inner.config.reconciliation.fee_rate_bp.get(channel).copied().filter(|_| !sweep);
        let mut side = LedgerSide { complete: sweep, fee_rate_bp, ..LedgerSide::default() };

        // What the previous day's run left waiting for this statement.
        if !sweep {
            let before = (day - Days::days(1)).to_string();
            if let Some(prev) = ledger.latest_recon_run(channel, &before)? {
                for d in ledger.recon_differences(prev.id)? {
                    match (Kind::parse(&d.kind), d.refund_no) {
                        (Some(Kind::AwaitingNextBill), _) => {
                            side.awaiting_payments.insert(d.order_no);
                        }
                        (Some(Kind::RefundAwaitingNextBill), Some(no)) => {
                            side.awaiting_refunds.insert(no);
                        }
                        _ => {}
                    }
                }
            }
        }

        let paid: Vec<Payment> = match &record.asked {
            // A sweep accounts for the orders it asked about (created that day).
            Some(asked) => {
                let ids: Vec<&str> = asked.iter().map(String::as_str).collect();
                ledger.payments_by_ids(&ids)?.into_iter().filter(|p| p.state == State::Paid).collect()
            }
            None => ledger.paid_between(channel, from, to)?,
        };
        side.paid_that_day = paid.iter().map(|p| p.id.clone()).collect();
        let mut named: BTreeSet<&str> = record.rows.iter().map(|r| r.order_no.as_str()).collect();
        named.extend(side.awaiting_payments.iter().map(String::as_str));
        let mut payments: BTreeMap<String, Payment> = paid.into_iter().map(|p| (p.id.clone(), p)).collect();
        let missing: Vec<&str> = named.into_iter().filter(|id| !payments.contains_key(*id)).collect();
        for p in ledger.payments_by_ids(&missing)? {
            payments.insert(p.id.clone(), p);
        }
        // An order of another channel is not this channel's to have charged.
        payments.retain(|_, p| p.channel == channel);
        let ids: Vec<&str> = payments.keys().map(String::as_str).collect();
        side.refunds = ledger
            .refunds_of_payments(&ids)?
            .into_iter()
            .map(|r| LedgerRefund { id: r.id, payment_id: r.payment_id, state: r.state, amount: r.amount })
            .collect();
        if !sweep {
            // A refund's day in the ledger is when it recorded the success, a little after the
            // channel's own time: the window runs late by that slack, so one made just before
            // midnight is expected in its own day's bill, and one made just after is expected in
            // the previous day's (where it waits, and the next bill finds it).
            let (from, to) = (from + REFUND_CLOCK_SLACK_MS, to + REFUND_CLOCK_SLACK_MS);
            side.refunded_that_day =
                ledger.refunds_succeeded_between(channel, from, to)?.into_iter().map(|r| r.id).collect();
        }
        side.payments = payments
            .into_values()
            .map(|p| (p.id.clone(), LedgerPayment { id: p.id, state: p.state, amount: p.amount }))
            .collect();

        let mut outcome = compare::compare(&record.rows, &side);
        for (id, amount) in &record.not_asked {
            outcome.differences.push(Difference {
                kind: Kind::NotAsked,
                order_no: id.clone(),
                refund_no: None,
                trade_no: None,
                ledger: Some(*amount),
                channel: None,
                channel_at: None,
            });
        }
        let (file_name, file_sha256) = record.file.map_or((None, None), |(n, h)| (Some(n), Some(h)));
        let run = NewReconRun {
            channel: channel.to_string(),
            day: day.to_string(),
            source: record.source.as_str(),
            format: record.format.map(Format::as_str),
            file_name,
            file_sha256,
            rows: all_rows,
            other_tills_rows,
            matched: outcome.matched,
            matched_fen: outcome.matched_fen,
            refunds_matched: outcome.refunds_matched,
            refunds_matched_fen: outcome.refunds_matched_fen,
            fee_fen: outcome.fee_fen,
            differences: outcome
                .differences
                .iter()
                .map(|d| NewReconDifference {
                    kind: d.kind.as_str(),
                    waiting: d.kind.is_waiting(),
                    order_no: d.order_no.clone(),
                    refund_no: d.refund_no.clone(),
                    trade_no: d.trade_no.clone(),
                    ledger: d.ledger,
                    channel: d.channel,
                    channel_at: d.channel_at,
                })
                .collect(),
            run_by: by.to_string(),
        };
        // The schedule and the command line are not people: the log names them in the detail.
        let person = !matches!(by, "schedule" | "cli");
        let note = AuditNote {
            user: person.then(|| by.to_string()),
            role: None,
            action: "reconciled",
            target: None,
            reason: None,
            detail: json!({
                "channel": channel, "day": day.to_string(), "source": record.source.as_str(), "by": by,
                "rows": outcome.rows, "matched": outcome.matched, "differences": outcome.differences.len(),
            }),
        };
        let stored = ledger.record_recon_run(&run, &note)?;
        let differences = ledger.recon_differences(stored.id)?;
        if stored.unresolved > 0 {
            tracing::warn!(channel, day = %day, run = stored.id, unresolved = stored.unresolved, "reconciliation found differences");
        }
        Ok(ReconReport { run: stored, differences })
    }

    pub fn run_view(&self, r: &ReconRun) -> RunView {
        let lang = self.lang();
        RunView {
            id: r.id,
            channel: r.channel.clone(),
            channel_name: self.channel(&r.channel).map_or_else(|| r.channel.clone(), |c| c.name(lang).to_string()),
            day: r.day.clone(),
            source: r.source.clone(),
            source_text: source_text(&r.source, lang).to_string(),
            file_name: r.file_name.clone(),
            file_sha256: r.file_sha256.clone(),
            rows: r.rows,
            other_tills_rows: r.other_tills_rows,
            matched: r.matched,
            matched_yuan: r.matched_fen.yuan_text(),
            refunds_matched: r.refunds_matched,
            refunds_matched_yuan: r.refunds_matched_fen.yuan_text(),
            fee_yuan: r.fee_fen.yuan_text(),
            differences: r.differences,
            unresolved: r.unresolved,
            waiting: r.waiting,
            match_permille: permille(r.matched, r.unresolved),
            run_by: super::view::run_by_text(&r.run_by, lang).map_or_else(|| r.run_by.clone(), str::to_string),
            at_text: super::view::local_time(r.at, "%Y-%m-%d %H:%M"),
        }
    }

    pub fn run_detail_view(&self, report: &ReconReport) -> RunDetailView {
        let lang = self.lang();
        let differences = report
            .differences
            .iter()
            .map(|d| {
                let (kind_text, explain) = kind_text(&d.kind, lang);
                let proposed = (d.resolution.is_none() && !d.waiting)
                    .then(|| self.resolution_for(d, &report.differences).as_str());
                DifferenceView {
                    id: d.id,
                    kind: d.kind.clone(),
                    kind_text: kind_text.to_string(),
                    explain: explain.to_string(),
                    waiting: d.waiting,
                    order_no: d.order_no.clone(),
                    refund_no: d.refund_no.clone(),
                    trade_no: d.trade_no.clone(),
                    ledger_yuan: d.ledger.map(Fen::yuan_text),
                    channel_yuan: d.channel.map(Fen::yuan_text),
                    proposed: proposed.map(str::to_string),
                    proposed_text: proposed.map(|a| action_text(a, lang).to_string()),
                    resolution: d.resolution.as_ref().map(|s| ResolutionView {
                        action: s.action.clone(),
                        action_text: action_text(&s.action, lang).to_string(),
                        reason: s.reason.clone(),
                        by: s.by.clone(),
                        at_text: super::view::local_time(s.at, "%Y-%m-%d %H:%M"),
                    }),
                }
            })
            .collect();
        RunDetailView { run: self.run_view(&report.run), differences }
    }

    /// The month `YYYY-MM` for the Reconciliation tab: the newest run of each channel and day,
    /// and each day's match rate over all its channels.
    pub fn recon_month(&self, month: &str) -> Result<MonthView, ManageError> {
        let first = NaiveDate::parse_from_str(&format!("{}-01", month.trim()), "%Y-%m-%d")
            .map_err(|_| ManageError::Date(month.to_string()))?;
        let next = first.checked_add_months(chrono::Months::new(1)).ok_or(ManageError::Range)?;
        let last = next - Days::days(1);
        let mut newest: BTreeMap<(String, String), ReconRun> = BTreeMap::new();
        for r in self.recon_runs(first, last)? {
            // Newest first: the first seen of each (day, channel) is the one that stands.
            newest.entry((r.day.clone(), r.channel.clone())).or_insert(r);
        }
        let mut days = Vec::new();
        let mut day = first;
        while day <= last {
            let key = day.to_string();
            let of_day: Vec<&ReconRun> = newest.iter().filter(|((d, _), _)| *d == key).map(|(_, r)| r).collect();
            let (matched, unresolved) = of_day.iter().fold((0, 0), |(m, u), r| (m + r.matched, u + r.unresolved));
            days.push(DayRate {
                day: key,
                match_permille: (!of_day.is_empty()).then(|| permille(matched, unresolved)),
                unresolved,
            });
            day += Days::days(1);
        }
        let lang = self.lang();
        let channels = self
            .channels()
            .iter()
            .map(|(id, c)| ChannelName { id: id.to_string(), name: c.name(lang).to_string() })
            .collect();
        let mut runs: Vec<RunView> = newest.values().map(|r| self.run_view(r)).collect();
        runs.sort_by(|a, b| b.day.cmp(&a.day).then(a.channel.cmp(&b.channel)));
        Ok(MonthView { month: first.format("%Y-%m").to_string(), channels, runs, days })
    }

    /// Runs of business days `from..=to`, newest first.
    pub fn recon_runs(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<ReconRun>, LedgerError> {
        self.inner.ledger.recon_runs(&from.to_string(), &to.to_string())
    }

    pub fn recon_report(&self, run_id: i64) -> Result<ReconReport, LedgerError> {
        let run = self.inner.ledger.recon_run(run_id)?;
        let differences = self.inner.ledger.recon_differences(run_id)?;
        Ok(ReconReport { run, differences })
    }

    /// What resolving this difference would do (the manager's screen shows it before the PIN).
    /// `run` is every difference of its run (read once by the caller).
    pub fn resolution_for(&self, d: &ReconDifference, run: &[ReconDifference]) -> Resolution {
        let kind = Kind::parse(&d.kind);
        match kind {
            Some(Kind::ChargedNotPaid) => match self.inner.ledger.payment(&d.order_no) {
                Ok(p) if p.state != State::Paid && p.state != State::Reversed && !given_back(d, run) => {
                    Resolution::MarkedPaid
                }
                _ => Resolution::FollowUp,
            },
            Some(Kind::RefundNotInLedger) => match d.refund_no.as_deref().map(|no| self.inner.ledger.refund(no)) {
                Some(Ok(r)) if !r.state.is_final() || r.state == RefundState::Failed => Resolution::RefundRecorded,
                _ => Resolution::FollowUp,
            },
            _ => Resolution::FollowUp,
        }
    }

    /// A manager acts on a difference, with a reason. Charged but not paid: the payment becomes
    /// paid (late, alerted) through the guarded transition, unless a process is driving it. A
    /// refund the channel made that the ledger holds unfinished: it becomes succeeded. Anything
    /// else: marked for follow-up. Written once; a difference still awaiting the next statement
    /// cannot be resolved yet.
    pub fn resolve_difference(
        &self,
        approval: &Approval,
        difference_id: i64,
        reason: &str,
    ) -> Result<ReconDifference, ManageError> {
        approval.check(Action::ResolveDifference)?;
        self.inner.writable()?;
        let reason = super::manage::reason_of(reason)?;
        let ledger = &self.inner.ledger;
        let d = ledger.recon_difference(difference_id)?;
        if d.resolution.is_some() {
            return Err(LedgerError::AlreadyResolved.into());
        }
        if d.waiting {
            return Err(ManageError::NotForceable("awaiting_next_bill"));
        }
        let run = ledger.recon_run(d.run_id)?;
        let action = self.resolution_for(&d, &ledger.recon_differences(d.run_id)?);
        let evidence = json!({
            "difference": d.id, "kind": d.kind, "run": run.id, "day": run.day,
            "statement_sha256": run.file_sha256, "decided_by": approval.by(), "reason": reason,
        });
        match action {
            Resolution::MarkedPaid => {
                let p = ledger.payment(&d.order_no)?;
                if !self.can_settle_from_statement(&p) {
                    return Err(ManageError::NotForceable(p.state.as_str()));
                }
                // Nobody waits at the counter for it any more: its `paid` is late, and alerted.
                ledger.mark_abandoned(&p.id, "the channel's statement shows it charged")?;
                let change = Change {
                    trade_no: d.trade_no.clone(),
                    paid_at: d.channel_at,
                    detail: json!({ "reconciliation": evidence }),
                    audit: Some(approval.note(
                        "force_outcome",
                        Some(p.id.clone()),
                        Some(reason),
                        json!({ "outcome": "paid", "reconciliation": d.id }),
                    )),
                    // Only an unfinished payment is driven under a lease; any other is guarded by
                    // its state alone (a watch that finds it paid first makes this a no-op).
                    unless_leased: p.state.is_open(),
                    ..Default::default()
                };
                match ledger.transition(&p.id, State::Paid, &change)? {
                    Some(paid) => self.inner.emit(&paid),
                    // Paid meanwhile (recovery, a notify): the ledger agrees with the channel now.
                    None if ledger.payment(&p.id)?.state == State::Paid => {}
                    None => return Err(ManageError::NotForceable(p.state.as_str())),
                }
            }
            Resolution::RefundRecorded => {
                let no = d.refund_no.clone().unwrap_or_default();
                let r = ledger.refund(&no)?;
                if !self.can_resolve_refund(&r) && r.state != RefundState::Failed {
                    return Err(ManageError::NotForceable(r.state.as_str()));
                }
                let change = RefundChange {
                    detail: json!({ "reconciliation": evidence }),
                    audit: Some(approval.note(
                        "refund_resolved",
                        Some(r.payment_id.clone()),
                        Some(reason),
                        json!({ "refund": no, "outcome": "succeeded", "reconciliation": d.id }),
                    )),
                    unless_leased: true,
                    ..Default::default()
                };
                let done = ledger.refund_transition(&no, RefundState::Succeeded, &change)?;
                if done.is_none() && ledger.refund(&no)?.state != RefundState::Succeeded {
                    return Err(ManageError::NotForceable(r.state.as_str()));
                }
            }
            Resolution::FollowUp => {}
        }
        let note = approval.note(
            "difference_resolved",
            Some(d.order_no.clone()),
            Some(reason),
            json!({ "difference": d.id, "kind": d.kind, "action": action.as_str(), "run": run.id }),
        );
        Ok(ledger.resolve_recon_difference(d.id, action.as_str(), reason, approval.by(), &note)?)
    }

    /// The morning run: once `[reconciliation] hour` (Beijing) has passed, every channel's past
    /// `catch_up_days` business days that have no run yet are reconciled, by `schedule`. A bill
    /// that is not ready, or a channel that does not answer, is tried again at the next tick.
    /// Returns how many runs it recorded.
    pub async fn reconcile_due_days(&self) -> usize {
        let settings = self.inner.config.reconciliation.clone();
        let now = now_ms();
        let (today_start, _) = day_bounds(day_of(now));
        if !settings.auto || now < today_start + i64::from(settings.hour) * 3_600_000 {
            return 0;
        }
        let today = day_of(now);
        let mut done = 0;
        let channels: Vec<&'static str> = self.channels().keys().copied().collect();
        for back in (1..=i64::from(settings.catch_up_days)).rev() {
            let day = today - Days::days(back);
            for channel in &channels {
                match self.inner.ledger.latest_recon_run(channel, &day.to_string()) {
                    Ok(None) => {}
                    Ok(Some(_)) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "reconciliation schedule: cannot read the runs");
                        return done;
                    }
                }
                match self.reconcile(channel, day, StatementSource::Channel, "schedule").await {
                    Ok(report) => {
                        done += 1;
                        tracing::info!(channel, day = %day, run = report.run.id, unresolved = report.run.unresolved, "reconciled");
                    }
                    Err(e) => tracing::info!(channel, day = %day, error = %e, "reconciliation not done yet"),
                }
            }
        }
        done
    }

    /// [`Cashier::reconcile_due_days`] every 15 minutes, the first two minutes after start (start-up
    /// and the first recovery sweep come first), until the runtime stops.
    pub fn spawn_reconcile_schedule(&self) -> tokio::task::JoinHandle<()> {
        let cashier = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(120)).await;
            if !cashier.ledger_checked().await {
                return;
            }
            loop {
                let tick = cashier.clone();
                if let Err(e) = tokio::spawn(async move { tick.reconcile_due_days().await }).await {
                    tracing::error!(error = %e, "a reconciliation tick failed; the next one runs as planned");
                }
                tokio::time::sleep(std::time::Duration::from_secs(15 * 60)).await;
            }
        })
    }

    /// A payment the statement shows charged can be settled paid unless a process is driving it
    /// right now (it will learn the same from the channel).
    fn can_settle_from_statement(&self, p: &Payment) -> bool {
        let driven = self.inner.live.lock().unwrap_or_else(|e| e.into_inner()).contains_key(&p.id);
        let leased = p.state.is_open() && p.lease_until > now_ms();
        p.state != State::Paid && p.state != State::Reversed && !driven && !leased
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_business_day_is_cut_at_beijing_midnight() {
        let day = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
        let (start, end) = day_bounds(day);
        // 2026-01-15 00:00 +08:00 is 2026-01-14 16:00 UTC.
        assert_eq!(start, 1_768_406_400_000);
        assert_eq!(end - start, 86_400_000);
        assert_eq!(day_of(start), day);
        assert_eq!(day_of(end - 1), day);
        assert_eq!(day_of(end), NaiveDate::from_ymd_opt(2026, 1, 16).unwrap());
    }
}
