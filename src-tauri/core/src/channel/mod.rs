//! The payment channels behind one trait. Field mapping, signing and code tables stay inside each
//! channel's module; the engine sees only the outcomes below.

pub mod abc;
mod http;

use crate::config::Config;
use crate::i18n::Lang;
use crate::money::Fen;
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// What a channel can do; the engine and the UI never offer the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    pub barcode: bool,
    pub qr: bool,
    /// Cancel/reverse a barcode payment (撤销/冲正).
    pub cancel: bool,
    /// Close an unpaid QR order.
    pub close: bool,
    pub refund: bool,
    pub refund_query: bool,
    /// Wallets whose payment codes the barcode call takes.
    pub barcode_wallets: Vec<String>,
}

/// The order a call is about, as the ledger has it.
#[derive(Debug, Clone, Copy)]
pub struct Order<'a> {
    pub id: &'a str,
    pub amount: Fen,
    pub subject: &'a str,
    /// The channel account (merchant number) the order was placed under: later calls about the
    /// order use it, even if the config has changed since.
    pub merchant: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

/// The answer to a pay or query call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayOutcome {
    /// `paid_at`: the channel's time of payment (ms since the epoch), when it says.
    Paid { trade_no: Option<String>, paid_at: Option<i64> },
    /// The customer has not confirmed yet ("user paying", QR not scanned).
    Waiting,
    /// A definitive no from the channel: nothing was charged.
    Failed(Failure),
    /// The channel confirms the unpaid order is closed.
    Closed,
    /// The channel has no such order.
    NotFound,
    /// The request never left: the connection could not be made. Nothing was charged.
    NotSent(String),
    /// We do not know whether money moved.
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    /// `payload` is what the customer's phone must open: a QR text or a page URL.
    Created {
        payload: String,
    },
    Failed(Failure),
    NotSent(String),
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// Reversed at the channel; `was_paid` when the channel says it had been paid and the cancel
    /// refunded it.
    Reversed {
        was_paid: bool,
    },
    /// The channel asks to try again.
    Retry,
    Failed(Failure),
    NotSent(String),
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    Succeeded { refund_no: Option<String> },
    Processing { refund_no: Option<String> },
    Failed(Failure),
    NotSent(String),
    Unknown(String),
}

/// An outcome, what to keep of the exchange for audit (status, masked body, timing), and how
/// long the exchange took on the wire.
#[derive(Debug, Clone)]
pub struct Reply<T> {
    pub outcome: T,
    pub audit: Value,
    pub elapsed: Duration,
}

#[async_trait]
pub trait Channel: Send + Sync {
    fn id(&self) -> &'static str;
    fn name(&self, lang: Lang) -> &'static str;
    fn capabilities(&self) -> &Capabilities;
    /// The merchant account new orders are placed under (recorded with each payment).
    fn account(&self) -> &str;
    async fn barcode_pay(&self, order: &Order<'_>, code: &str) -> Reply<PayOutcome>;
    /// When the channel itself closes a QR shown for `shown`: it passes the time on in its own
    /// unit, which may round it up. The engine keeps querying at least this long.
    fn qr_expiry(&self, shown: Duration) -> Duration;
    /// `expires_in` is how long the QR may be paid; the channel passes it on in its own unit.
    async fn create_qr(&self, order: &Order<'_>, expires_in: Duration) -> Reply<CreateOutcome>;
    async fn query(&self, order: &Order<'_>) -> Reply<PayOutcome>;
    async fn cancel(&self, order: &Order<'_>) -> Reply<CancelOutcome>;
    /// Closing an unpaid QR order. `Closed` or `Paid` (it was paid meanwhile) are the good ends.
    async fn close(&self, order: &Order<'_>) -> Reply<PayOutcome>;
    async fn refund(&self, order: &Order<'_>, refund_id: &str, amount: Fen, reason: &str) -> Reply<RefundOutcome>;
}

/// The channels a config names, by id.
pub type Channels = BTreeMap<&'static str, Arc<dyn Channel>>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("channel {channel}: {why}")]
pub struct ChannelSetupError {
    pub channel: String,
    pub why: String,
}

pub fn from_config(config: &Config) -> Result<Channels, ChannelSetupError> {
    let mut channels: Channels = BTreeMap::new();
    if let Some(abc) = &config.channels.abc {
        channels.insert("abc", Arc::new(abc::AbcChannel::new(abc)?));
    }
    Ok(channels)
}
