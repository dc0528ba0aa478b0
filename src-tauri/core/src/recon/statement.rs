//! A channel's own record of a business day, normalised: one row per money movement, whatever
//! the file or call it came from.

use crate::money::Fen;
use serde::{Deserialize, Serialize};

/// Which way the money moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Movement {
    /// The customer paid the merchant.
    Pay,
    /// The merchant paid (part of) it back.
    Refund,
}

/// One row of a channel's statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementRow {
    /// The channel's (wallet's) trade number.
    pub trade_no: String,
    /// Our order number: the payment's id.
    pub order_no: String,
    pub movement: Movement,
    /// Always positive: a refund row's amount is what was given back.
    pub amount: Fen,
    /// The channel's service fee on this row (a refund's is usually negative: the fee returned).
    pub fee: Fen,
    /// When the channel completed it (ms since the epoch), when the statement says.
    pub at_ms: Option<i64>,
    /// A refund row's request number, ours (`out_request_no` / `out_refund_no`), when given.
    pub refund_no: Option<String>,
}

/// Where a statement came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Downloaded from the channel (Alipay's bill URL, WeChat Pay's trade bill).
    Download,
    /// A file a manager imported.
    Import,
    /// No statement exists: every order of the day was queried instead.
    QuerySweep,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Download => "download",
            Source::Import => "import",
            Source::QuerySweep => "query_sweep",
        }
    }

    pub fn parse(text: &str) -> Option<Source> {
        Some(match text {
            "download" => Source::Download,
            "import" => Source::Import,
            "query_sweep" => Source::QuerySweep,
            _ => return None,
        })
    }
}

/// Why a statement file could not be read: nothing of it is used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    #[error("not a statement this channel writes: {0}")]
    Format(String),
    #[error("the statement's column {0:?} is missing")]
    MissingColumn(String),
    #[error("row {row}: {why}")]
    Row { row: usize, why: String },
    #[error("the statement's hash is not the one the channel gave: {0}")]
    Hash(String),
}
