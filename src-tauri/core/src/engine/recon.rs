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
    #[error("cannot keep the statement file: {0}")]
    File(String),
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
            (ReconError::File(why), Lang::Zh) => format!("无法保存对账单文件：{why}"),
            (ReconError::File(why), Lang::En) => format!("Cannot keep the statement file: {why}"),
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

/// `[start, end)` of the channel's business day `day`, in ms since the epoch.
pub fn day_bounds(day: NaiveDate) -> (i64, i64) {
    let zone = ChannelZone::default().0;
    let start = |d: NaiveDate| {
        zone.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN)).single().map_or(0, |t| t.timestamp_millis())
    };
    (start(day), start(day + Days::days(1)))
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
                PayOutcome::Waiting
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
        let mut side = LedgerSide { complete: sweep, ..LedgerSide::default() };

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
        let note = AuditNote {
            user: Some(by.to_string()),
            role: None,
            action: "reconciled",
            target: None,
            reason: None,
            detail: json!({
                "channel": channel, "day": day.to_string(), "source": record.source.as_str(),
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
    pub fn resolution_for(&self, d: &ReconDifference) -> Resolution {
        let kind = Kind::parse(&d.kind);
        match kind {
            Some(Kind::ChargedNotPaid) => match self.inner.ledger.payment(&d.order_no) {
                Ok(p) if p.state != State::Paid && p.state != State::Reversed && !self.given_back(d) => {
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

    /// The same run shows the charge given back in full (a refund row of the same order and
    /// amount the ledger does not have): no money is owed either way, a person looks at it.
    fn given_back(&self, d: &ReconDifference) -> bool {
        let Ok(all) = self.inner.ledger.recon_differences(d.run_id) else { return false };
        all.iter().any(|o| {
            Kind::parse(&o.kind) == Some(Kind::RefundNotInLedger) && o.order_no == d.order_no && o.channel == d.channel
        })
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
        let action = self.resolution_for(&d);
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
