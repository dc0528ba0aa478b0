//! Why a payment or refund could not start, in the clerk's language. Each has a stable `code` for
//! the UI and scripts.

use crate::config::ConfigError;
use crate::i18n::{Lang, Localized};
use crate::ledger::LedgerError;
use crate::money::AmountError;
use crate::paycode::CodeError;

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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    #[error("{0}")]
    Amount(AmountError),
    #[error("{0}")]
    Ledger(LedgerError),
    #[error("no channel {0} is configured")]
    UnknownChannel(String),
    #[error("channel {0} does not offer refunds")]
    NotOffered(String),
}

impl RefundError {
    pub fn code(&self) -> &'static str {
        match self {
            RefundError::Amount(_) => "amount",
            RefundError::Ledger(LedgerError::RefundExceeds { .. }) => "refund_exceeds",
            RefundError::Ledger(LedgerError::NotRefundable(_)) => "not_refundable",
            RefundError::Ledger(LedgerError::NotFound(_)) => "not_found",
            RefundError::Ledger(_) => "ledger",
            RefundError::UnknownChannel(_) => "unknown_channel",
            RefundError::NotOffered(_) => "not_offered",
        }
    }
}

impl Localized for RefundError {
    fn message(&self, lang: Lang) -> String {
        match self {
            RefundError::Amount(e) => e.message(lang),
            RefundError::Ledger(e) => e.message(lang),
            RefundError::UnknownChannel(c) => match lang {
                Lang::Zh => format!("未配置收款渠道 {c}"),
                Lang::En => format!("No payment channel {c} is configured"),
            },
            RefundError::NotOffered(c) => match lang {
                Lang::Zh => format!("渠道 {c} 不支持退款"),
                Lang::En => format!("Channel {c} does not offer refunds"),
            },
        }
    }
}
