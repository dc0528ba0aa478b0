//! Reports as people read them (docs/ui-contract.md, "Reports" and "Shifts"): a business day
//! with its hourly curve and the same weekday a week before, a date range by day, and shift X/Z
//! reports. Figures come from the ledger (`ledger/reports.rs`); here they get names and texts.

use super::errors::ManageError;
use super::view::{local_time, PaymentView};
use super::Cashier;
use crate::i18n::Lang;
use crate::ledger::{now_ms, Breakdown, DayRange, Payment, Refund, SaleTime, Shift, Tally};
use crate::money::Fen;
use crate::paycode;
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Money {
    pub fen: i64,
    pub text: String,
}

impl From<Fen> for Money {
    fn from(f: Fen) -> Money {
        Money { fen: f.0, text: f.yuan_text() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupView {
    pub key: String,
    pub name: String,
    pub count: i64,
    pub gross: Money,
    pub refunds: Money,
    pub net: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakdownView {
    pub count: i64,
    pub gross: Money,
    pub refund_count: i64,
    pub refunds: Money,
    pub net: Money,
    pub average_ticket: Money,
    pub by_channel: Vec<GroupView>,
    pub by_wallet: Vec<GroupView>,
    pub by_clerk: Vec<GroupView>,
    pub by_terminal: Vec<GroupView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HourPoint {
    pub hour: u32,
    pub label: String,
    pub count: i64,
    pub gross: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastWeek {
    pub date: String,
    pub totals: BreakdownView,
    pub hourly: Vec<HourPoint>,
    /// The day's net minus this day's net (the screen never subtracts money itself).
    pub net_change: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DayReport {
    pub date: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub cutoff_hour: u32,
    pub totals: BreakdownView,
    pub hourly: Vec<HourPoint>,
    pub last_week: LastWeek,
    /// Payments started that day, in any state.
    pub started: i64,
    /// Payments of that day not final yet.
    pub unresolved: Vec<PaymentView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DayPoint {
    pub date: String,
    pub count: i64,
    pub gross: Money,
    pub refunds: Money,
    pub net: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RangeReport {
    pub from: String,
    pub to: String,
    pub totals: BreakdownView,
    pub daily: Vec<DayPoint>,
}

/// A payment or refund not final when a report was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unresolved {
    pub id: String,
    /// `payment` or `refund`.
    pub what: String,
    pub state: String,
    pub amount_fen: i64,
    pub created_at: i64,
}

impl Unresolved {
    pub fn payment(p: &Payment) -> Unresolved {
        Unresolved {
            id: p.id.clone(),
            what: "payment".into(),
            state: p.state.as_str().into(),
            amount_fen: p.amount.0,
            created_at: p.created_at,
        }
    }

    pub fn refund(r: &Refund) -> Unresolved {
        Unresolved {
            id: r.id.clone(),
            what: "refund".into(),
            state: r.state.as_str().into(),
            amount_fen: r.amount.0,
            created_at: r.created_at,
        }
    }
}

/// An X or Z report's figures, in the form a Z is stored (and reprinted) in: keys, not names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftFigures {
    pub shift: Option<Shift>,
    pub from_ms: i64,
    pub to_ms: i64,
    pub totals: Breakdown,
    pub unresolved: Vec<Unresolved>,
    pub close_reason: Option<String>,
    pub printed_at_ms: i64,
}

impl ShiftFigures {
    pub fn new(
        shift: Option<&Shift>,
        from_ms: i64,
        to_ms: i64,
        totals: Breakdown,
        unresolved: Vec<Unresolved>,
        close_reason: Option<String>,
        printed_at_ms: i64,
    ) -> ShiftFigures {
        ShiftFigures { shift: shift.cloned(), from_ms, to_ms, totals, unresolved, close_reason, printed_at_ms }
    }

    pub fn is_z(&self) -> bool {
        self.shift.as_ref().is_some_and(|s| s.z_no.is_some())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShiftInfo {
    pub id: i64,
    pub z_no: Option<i64>,
    pub terminal: String,
    pub opened_by: String,
    pub opened_at_ms: i64,
    pub opening_cash: Option<Money>,
    pub closed_by: Option<String>,
    pub closed_at_ms: Option<i64>,
}

impl From<&Shift> for ShiftInfo {
    fn from(s: &Shift) -> ShiftInfo {
        ShiftInfo {
            id: s.id,
            z_no: s.z_no,
            terminal: s.terminal.clone(),
            opened_by: s.opened_by.clone(),
            opened_at_ms: s.opened_at,
            opening_cash: s.opening_cash.map(Money::from),
            closed_by: s.closed_by.clone(),
            closed_at_ms: s.closed_at,
        }
    }
}

/// An unfinished payment's or refund's state, named as everywhere else.
pub(super) fn state_text(what: &str, state: &str, lang: Lang) -> String {
    let named = match what {
        "refund" => crate::ledger::RefundState::parse(state).map(|s| s.label(lang)),
        _ => crate::ledger::State::parse(state).map(|s| s.label(lang)),
    };
    named.unwrap_or(state).to_string()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnresolvedView {
    pub id: String,
    pub what: String,
    pub state: String,
    /// The state's one name (`ledger::status`).
    pub state_text: String,
    pub amount: Money,
    pub time_text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShiftReport {
    pub shift: Option<ShiftInfo>,
    /// `x` or `z`.
    pub kind: &'static str,
    pub from_ms: i64,
    pub to_ms: i64,
    pub period_text: String,
    pub totals: BreakdownView,
    pub unresolved: Vec<UnresolvedView>,
    pub close_reason: Option<String>,
    pub printed_at_ms: i64,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum GroupKind {
    Channel,
    Wallet,
    Clerk,
    Terminal,
}

/// A shift report's group tables, titled in `lang`, in the order every printout shows them.
pub fn shift_groups(b: &BreakdownView, lang: crate::i18n::Lang) -> [(&'static str, &Vec<GroupView>); 3] {
    [
        (lang.pick("按渠道", "By channel"), &b.by_channel),
        (lang.pick("按付款方式", "By wallet"), &b.by_wallet),
        (lang.pick("按收银员", "By clerk"), &b.by_clerk),
    ]
}

/// "2026-11-22 08:00" for a period's ends; the start of time reads as "—".
pub fn instant_text(ms: i64) -> String {
    if ms <= 0 {
        "—".into()
    } else {
        local_time(ms, "%Y-%m-%d %H:%M")
    }
}

fn parse_date(text: &str) -> Result<NaiveDate, ManageError> {
    crate::days::parse_day(text).ok_or_else(|| ManageError::Date(text.into()))
}

impl Cashier {
    fn cutoff(&self) -> u32 {
        self.inner.config.business_day.cutoff_hour
    }

    pub(super) fn group_name(&self, kind: GroupKind, key: &str, lang: Lang) -> String {
        match kind {
            GroupKind::Channel => self.channel(key).map_or(key, |c| c.name(lang)).to_string(),
            GroupKind::Wallet if key.is_empty() => lang.pick("顾客在页面上选择", "Chosen on the page").into(),
            GroupKind::Wallet => {
                let method = self
                    .channels()
                    .values()
                    .flat_map(|c| c.capabilities().methods.iter())
                    .find(|m| m.code == key)
                    .map(|m| lang.pick(&m.name_zh, &m.name_en).to_string());
                method.unwrap_or_else(|| paycode::wallet_name(key, lang).to_string())
            }
            GroupKind::Clerk if key.is_empty() => lang.pick("（未登录）", "(no one signed in)").into(),
            GroupKind::Clerk => key.into(),
            GroupKind::Terminal if key == self.config().terminal.code => {
                format!("{} {}", key, self.config().terminal.name)
            }
            GroupKind::Terminal => key.into(),
        }
    }

    fn groups(&self, kind: GroupKind, groups: &[(String, Tally)], lang: Lang) -> Vec<GroupView> {
        groups
            .iter()
            .map(|(key, t)| GroupView {
                key: key.clone(),
                name: self.group_name(kind, key, lang),
                count: t.count,
                gross: t.gross.into(),
                refunds: t.refunds.into(),
                net: t.net().into(),
            })
            .collect()
    }

    pub fn breakdown_view(&self, b: &Breakdown) -> BreakdownView {
        let lang = self.lang();
        BreakdownView {
            count: b.all.count,
            gross: b.all.gross.into(),
            refund_count: b.all.refund_count,
            refunds: b.all.refunds.into(),
            net: b.all.net().into(),
            average_ticket: b.all.average_ticket().into(),
            by_channel: self.groups(GroupKind::Channel, &b.by_channel, lang),
            by_wallet: self.groups(GroupKind::Wallet, &b.by_wallet, lang),
            by_clerk: self.groups(GroupKind::Clerk, &b.by_clerk, lang),
            by_terminal: self.groups(GroupKind::Terminal, &b.by_terminal, lang),
        }
    }

    fn hourly(&self, range: &DayRange) -> Result<(Breakdown, Vec<HourPoint>), ManageError> {
        let bounds = range.hours(self.cutoff());
        let b = self.ledger().breakdown(SaleTime::Paid, range.from_ms, range.to_ms, None, &bounds)?;
        let points = b
            .buckets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let hour = (self.cutoff() + i as u32) % 24;
                HourPoint { hour, label: format!("{hour:02}:00"), count: t.count, gross: t.gross.into() }
            })
            .collect();
        Ok((b, points))
    }

    /// The business day `date` (`YYYY-MM-DD`; `None`: the current one).
    pub fn day_report(&self, date: Option<&str>) -> Result<DayReport, ManageError> {
        let range = match date {
            Some(d) => DayRange::of(parse_date(d)?, self.cutoff()),
            None => DayRange::containing(now_ms(), self.cutoff()),
        };
        let (b, hourly) = self.hourly(&range)?;
        let week_before = DayRange::of(range.day - Duration::days(7), self.cutoff());
        let (wb, w_hourly) = self.hourly(&week_before)?;
        let unresolved = self
            .open_payments()?
            .iter()
            .filter(|p| p.created_at >= range.from_ms && p.created_at < range.to_ms)
            .map(|p| self.view(p))
            .collect();
        Ok(DayReport {
            date: range.day.to_string(),
            from_ms: range.from_ms,
            to_ms: range.to_ms,
            cutoff_hour: self.cutoff(),
            totals: self.breakdown_view(&b),
            hourly,
            last_week: LastWeek {
                date: week_before.day.to_string(),
                totals: self.breakdown_view(&wb),
                hourly: w_hourly,
                net_change: Fen(b.all.net().0.saturating_sub(wb.all.net().0)).into(),
            },
            started: self.ledger().started_between(range.from_ms, range.to_ms)?,
            unresolved,
        })
    }

    /// Business days `from` to `to`, inclusive, with one point per day.
    pub fn range_report(&self, from: &str, to: &str) -> Result<RangeReport, ManageError> {
        let (first, last) = crate::days::parse_span(from, to)?;
        let days = (last - first).num_days() + 1;
        let dates: Vec<NaiveDate> = (0..days).map(|i| first + Duration::days(i)).collect();
        let mut bounds: Vec<i64> = dates.iter().map(|d| DayRange::of(*d, self.cutoff()).from_ms).collect();
        let end = DayRange::of(last, self.cutoff()).to_ms;
        bounds.push(end);
        let b = self.ledger().breakdown(SaleTime::Paid, bounds[0], end, None, &bounds)?;
        let daily = dates
            .iter()
            .zip(&b.buckets)
            .map(|(d, t)| DayPoint {
                date: d.to_string(),
                count: t.count,
                gross: t.gross.into(),
                refunds: t.refunds.into(),
                net: t.net().into(),
            })
            .collect();
        Ok(RangeReport { from: first.to_string(), to: last.to_string(), totals: self.breakdown_view(&b), daily })
    }

    /// Where a shift's period is shown to start: the previous Z, or (with none before it) the
    /// terminal's first payment or shift, never "—" or 1970.
    fn period_shown_from(&self, f: &ShiftFigures) -> i64 {
        if f.from_ms > 0 {
            return f.from_ms;
        }
        let first = self.ledger().first_activity(&self.config().terminal.code).ok().flatten();
        first.unwrap_or(f.to_ms).min(f.to_ms)
    }

    pub fn shift_view(&self, f: &ShiftFigures) -> ShiftReport {
        let lang = self.lang();
        ShiftReport {
            shift: f.shift.as_ref().map(ShiftInfo::from),
            kind: if f.is_z() { "z" } else { "x" },
            from_ms: f.from_ms,
            to_ms: f.to_ms,
            period_text: format!("{} – {}", instant_text(self.period_shown_from(f)), instant_text(f.to_ms)),
            totals: self.breakdown_view(&f.totals),
            unresolved: f
                .unresolved
                .iter()
                .map(|u| UnresolvedView {
                    id: u.id.clone(),
                    what: u.what.clone(),
                    state: u.state.clone(),
                    state_text: state_text(&u.what, &u.state, lang),
                    amount: Fen(u.amount_fen).into(),
                    time_text: local_time(u.created_at, "%m-%d %H:%M:%S"),
                })
                .collect(),
            close_reason: f.close_reason.clone(),
            printed_at_ms: f.printed_at_ms,
        }
    }
}
