//! Why a payment or refund could not start, in the clerk's language. Each has a stable `code` for
//! the UI and scripts.

use crate::config::ConfigError;
use crate::i18n::{Lang, Localized};
use crate::ledger::LedgerError;
use crate::money::AmountError;
use crate::paycode::CodeError;
use crate::people::PeopleError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckoutError {
    #[error("{0}")]
    Amount(AmountError),
    #[error("{0}")]
    Code(CodeError),
    #[error("no channel {0} is configured")]
    UnknownChannel(String),
    #[error("channel {channel} does not offer {what} payments")]
    NotOffered { channel: String, what: &'static str },
    #[error("channel {channel} does not offer the tender {method}")]
    MethodNotOffered { channel: String, method: String },
    #[error("payment {0} is still waiting for the customer")]
    CounterBusy(String),
    #[error("{0}")]
    Ledger(LedgerError),
    #[error("{0}")]
    Config(ConfigError),
    #[error("cannot set up the channels: {0}")]
    ChannelSetup(String),
    #[error("{0}")]
    People(PeopleError),
}

impl CheckoutError {
    pub fn code(&self) -> &'static str {
        match self {
            CheckoutError::Amount(_) => "amount",
            CheckoutError::Code(_) => "payment_code",
            CheckoutError::UnknownChannel(_) => "unknown_channel",
            CheckoutError::NotOffered { .. } | CheckoutError::MethodNotOffered { .. } => "not_offered",
            CheckoutError::CounterBusy(_) => "counter_busy",
            CheckoutError::Ledger(_) => "ledger",
            CheckoutError::Config(_) => "config",
            CheckoutError::ChannelSetup(_) => "channel_setup",
            CheckoutError::People(e) => e.code(),
        }
    }
}

impl Localized for CheckoutError {
    fn message(&self, lang: Lang) -> String {
        match self {
            CheckoutError::Amount(e) => e.message(lang),
            CheckoutError::Code(e) => e.message(lang),
            CheckoutError::Ledger(e) => e.message(lang),
            CheckoutError::Config(e) => e.message(lang),
            CheckoutError::People(e) => e.message(lang),
            CheckoutError::UnknownChannel(c) => match lang {
                Lang::Zh => format!("未配置收款渠道 {c}"),
                Lang::En => format!("No payment channel {c} is configured"),
            },
            CheckoutError::NotOffered { channel, what } => match (lang, *what) {
                (Lang::Zh, "barcode") => format!("渠道 {channel} 不支持扫付款码收款"),
                (Lang::Zh, _) => format!("渠道 {channel} 不支持二维码收款"),
                (Lang::En, _) => format!("Channel {channel} does not offer {what} payments"),
            },
            CheckoutError::MethodNotOffered { channel, method } => match lang {
                Lang::Zh => format!("渠道 {channel} 不提供 {method} 付款方式"),
                Lang::En => format!("Channel {channel} does not offer {method}"),
            },
            CheckoutError::CounterBusy(id) => match lang {
                Lang::Zh => format!("上一笔收款（{id}）还在等待顾客，请先完成或取消"),
                Lang::En => format!("Payment {id} is still waiting for the customer; finish or cancel it first"),
            },
            CheckoutError::ChannelSetup(why) => match lang {
                Lang::Zh => format!("收款渠道初始化失败：{why}"),
                Lang::En => format!("Cannot set up the payment channels: {why}"),
            },
        }
    }
}

/// Why a manager's action (a refund, a decision, a shift, a report) did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManageError {
    #[error("{0}")]
    Amount(AmountError),
    #[error("{0}")]
    Ledger(LedgerError),
    #[error("{0}")]
    People(PeopleError),
    #[error("no channel {0} is configured")]
    UnknownChannel(String),
    #[error("channel {0} does not offer refunds")]
    NotOffered(String),
    #[error("a reason is required (at most 200 characters)")]
    Reason,
    #[error("only an unfinished payment or refund nobody is working on can be decided (this one is {0})")]
    NotForceable(&'static str),
    #[error("{0} payments or refunds are unresolved")]
    Unresolved(usize),
    #[error("not a date: {0}")]
    Date(String),
    #[error("a range is 1 to 366 days, from before to")]
    Range,
    /// This till shows no chain figures (`[sync] chain_reports` is off, or there is no `[sync]`).
    #[error("chain reports are off on this till")]
    ChainOff,
    #[error("{0}")]
    Chain(crate::hq::HqError),
}

impl From<LedgerError> for ManageError {
    fn from(e: LedgerError) -> Self {
        ManageError::Ledger(e)
    }
}

impl From<crate::days::SpanError> for ManageError {
    fn from(e: crate::days::SpanError) -> Self {
        match e {
            crate::days::SpanError::NotADay(text) => ManageError::Date(text),
            crate::days::SpanError::OutOfRange => ManageError::Range,
        }
    }
}

impl From<PeopleError> for ManageError {
    fn from(e: PeopleError) -> Self {
        ManageError::People(e)
    }
}

impl ManageError {
    pub fn code(&self) -> &'static str {
        match self {
            ManageError::Amount(_) => "amount",
            ManageError::Ledger(LedgerError::RefundExceeds { .. }) => "refund_exceeds",
            ManageError::Ledger(LedgerError::NotRefundable(_)) => "not_refundable",
            ManageError::Ledger(LedgerError::NotFound(_)) => "not_found",
            ManageError::Ledger(LedgerError::ShiftOpen) => "shift_open",
            ManageError::Ledger(LedgerError::NoOpenShift) => "no_shift",
            ManageError::Ledger(_) => "ledger",
            ManageError::People(e) => e.code(),
            ManageError::UnknownChannel(_) => "unknown_channel",
            ManageError::NotOffered(_) => "not_offered",
            ManageError::Reason => "reason",
            ManageError::NotForceable(_) => "not_forceable",
            ManageError::Unresolved(_) => "unresolved",
            ManageError::Date(_) | ManageError::Range => "date",
            ManageError::ChainOff => "chain_off",
            ManageError::Chain(_) => "chain",
        }
    }
}

impl Localized for ManageError {
    fn message(&self, lang: Lang) -> String {
        match self {
            ManageError::Amount(e) => e.message(lang),
            ManageError::Ledger(e) => e.message(lang),
            ManageError::People(e) => e.message(lang),
            ManageError::UnknownChannel(c) => match lang {
                Lang::Zh => format!("未配置收款渠道 {c}"),
                Lang::En => format!("No payment channel {c} is configured"),
            },
            ManageError::NotOffered(c) => match lang {
                Lang::Zh => format!("渠道 {c} 不支持退款"),
                Lang::En => format!("Channel {c} does not offer refunds"),
            },
            ManageError::Reason => {
                lang.pick("请填写原因（不超过 200 字）", "Give a reason (at most 200 characters)").into()
            }
            ManageError::NotForceable(state) => match lang {
                Lang::Zh => format!("只能处理尚未完成且无人处理中的记录（当前状态：{state}）"),
                Lang::En => {
                    format!("Only an unfinished record nobody is working on can be decided (this one is {state})")
                }
            },
            ManageError::Unresolved(n) => match lang {
                Lang::Zh => format!("还有 {n} 笔收款或退款未确定结果：交班须填写处理说明"),
                Lang::En => format!("{n} payments or refunds are unresolved: closing the shift needs your reason"),
            },
            ManageError::Date(d) => match lang {
                Lang::Zh => format!("日期格式不正确：{d}（应为 2026-11-22）"),
                Lang::En => format!("Not a date: {d} (use 2026-11-22)"),
            },
            ManageError::Range => lang
                .pick("日期范围须为 1 到 366 天，且开始不晚于结束", "A range is 1 to 366 days, start before end")
                .into(),
            ManageError::ChainOff => lang
                .pick(
                    "本收银台未开启连锁报表（配置 [sync] chain_reports = true）",
                    "Chain reports are off on this till ([sync] chain_reports = true)",
                )
                .into(),
            ManageError::Chain(e) => e.message(lang),
        }
    }
}
