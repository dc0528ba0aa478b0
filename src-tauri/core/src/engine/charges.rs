//! Charges: amounts the store's ordering system (through the terminal API) or a kiosk customer
//! asked this till to collect. A charge is collected by payment attempts started from the screen
//! (`start_qr_for_charge`, or a scan armed with the charge); the ledger refuses a second attempt
//! while one is under way and any attempt once one is paid, so a charge is paid at most once.

use super::{Cashier, CheckoutError, Update};
use crate::channel::{Channel, Display};
use crate::config::Product;
use crate::i18n::{Lang, Localized};
use crate::ledger::{Admitted, ChargeRecord, ChargeRefused, LedgerError, NewCharge, Origin, Tender};
use crate::money::{AmountError, Fen};
use std::sync::Arc;
use std::time::Duration;

/// What the caller asks to collect.
#[derive(Debug, Clone)]
pub struct ChargeRequest<'a> {
    pub external_id: Option<&'a str>,
    pub amount: Fen,
    pub subject: &'a str,
    pub tender: Option<Tender>,
    pub channel: Option<&'a str>,
    pub origin: Origin,
}

/// One line of a kiosk basket.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasketItem {
    pub id: String,
    pub qty: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChargeError {
    #[error("{0}")]
    Amount(AmountError),
    #[error("the external order id must be 1–64 visible characters")]
    ExternalId,
    #[error("the subject must be at most 128 characters, without control or invisible characters")]
    Subject,
    #[error("no channel {0} is configured")]
    UnknownChannel(String),
    #[error("channel {channel} does not take {tender} payments")]
    NotOffered { channel: String, tender: &'static str },
    #[error("the basket is empty")]
    EmptyBasket,
    #[error("no product {0}")]
    UnknownProduct(String),
    #[error("a quantity is 1 to 99")]
    Quantity,
    #[error("{0}")]
    Ledger(LedgerError),
}

impl From<LedgerError> for ChargeError {
    fn from(e: LedgerError) -> Self {
        ChargeError::Ledger(e)
    }
}

impl ChargeError {
    pub fn code(&self) -> &'static str {
        match self {
            ChargeError::Amount(_) => "amount",
            ChargeError::ExternalId => "external_order_id",
            ChargeError::Subject => "subject",
            ChargeError::UnknownChannel(_) => "unknown_channel",
            ChargeError::NotOffered { .. } => "not_offered",
            ChargeError::EmptyBasket | ChargeError::UnknownProduct(_) | ChargeError::Quantity => "basket",
            ChargeError::Ledger(LedgerError::Charge(ChargeRefused::Conflict { .. })) => "conflict",
            ChargeError::Ledger(LedgerError::Charge(ChargeRefused::Busy { .. })) => "busy",
            ChargeError::Ledger(LedgerError::Charge(ChargeRefused::NotOpen { .. })) => "not_open",
            ChargeError::Ledger(LedgerError::NotFound(_)) => "not_found",
            ChargeError::Ledger(_) => "ledger",
        }
    }
}

impl Localized for ChargeError {
    fn message(&self, lang: Lang) -> String {
        match self {
            ChargeError::Amount(e) => e.message(lang),
            ChargeError::Ledger(e) => e.message(lang),
            ChargeError::ExternalId => lang
                .pick("外部订单号须为 1 到 64 个可见字符", "The external order id must be 1–64 visible characters")
                .into(),
            ChargeError::Subject => lang
                .pick(
                    "商品描述不超过 128 个字，且不能含控制字符或不可见字符",
                    "The subject is at most 128 characters, with no control or invisible characters",
                )
                .into(),
            ChargeError::UnknownChannel(c) => match lang {
                Lang::Zh => format!("未配置收款渠道 {c}"),
                Lang::En => format!("No payment channel {c} is configured"),
            },
            ChargeError::NotOffered { channel, tender } => match (lang, *tender) {
                (Lang::Zh, "code") => format!("渠道 {channel} 不支持扫付款码收款"),
                (Lang::Zh, _) => format!("渠道 {channel} 不支持二维码收款"),
                (Lang::En, _) => format!("Channel {channel} does not take {tender} payments"),
            },
            ChargeError::EmptyBasket => lang.pick("请先选择商品", "Choose something first").into(),
            ChargeError::UnknownProduct(id) => match lang {
                Lang::Zh => format!("没有这个商品：{id}"),
                Lang::En => format!("No product {id}"),
            },
            ChargeError::Quantity => lang.pick("每种商品数量为 1 到 99", "A quantity is 1 to 99").into(),
        }
    }
}

use crate::text::visible;

impl Cashier {
    /// Most charges unfinished at once (`[terminal_api] max_open_charges`; 1 without the API).
    fn max_open_charges(&self) -> u32 {
        self.inner.config.terminal_api.as_ref().map_or(1, |a| a.max_open_charges)
    }

    /// Records a charge (or finds the one made for the same external order id) and tells the
    /// screen. Nothing is sent to a channel: the screen collects it.
    pub fn create_charge(&self, req: &ChargeRequest<'_>) -> Result<Admitted, ChargeError> {
        self.inner.writable().map_err(ChargeError::Ledger)?;
        req.amount.payable(self.inner.config.ceiling()).map_err(ChargeError::Amount)?;
        if let Some(ext) = req.external_id {
            let n = ext.chars().count();
            if n == 0 || n > 64 || ext.trim() != ext || !visible(ext) {
                return Err(ChargeError::ExternalId);
            }
        }
        if req.subject.chars().count() > 128 || !visible(req.subject) {
            return Err(ChargeError::Subject);
        }
        if let Some(id) = req.channel {
            let ch = self.channel(id).ok_or_else(|| ChargeError::UnknownChannel(id.into()))?;
            if let Some(t) = req.tender.filter(|t| !ch.capabilities().takes(*t)) {
                return Err(ChargeError::NotOffered { channel: id.into(), tender: t.as_str() });
            }
        }
        let new = NewCharge {
            id: self.inner.numbers.next("C"),
            external_id: req.external_id.map(Into::into),
            origin: req.origin,
            terminal: self.inner.config.terminal.code.clone(),
            amount: req.amount,
            subject: req.subject.into(),
            tender: req.tender,
            channel: req.channel.map(Into::into),
        };
        let admitted = self.inner.ledger.insert_charge(&new, self.max_open_charges())?;
        if let Admitted::Created(c) = &admitted {
            tracing::info!(charge = %c.id, origin = ?c.origin, amount_fen = c.amount.0, "charge created");
            self.inner.emit_charge(&c.id);
        }
        Ok(admitted)
    }

    pub fn charge_record(&self, id: &str) -> Result<ChargeRecord, ChargeError> {
        Ok(self.inner.ledger.charge_record(id)?)
    }

    /// The oldest unfinished charge: the one the screen collects now.
    pub fn charge_on_screen(&self) -> Option<ChargeRecord> {
        let first = self.inner.ledger.unfinished_charges().ok()?.into_iter().next()?;
        self.inner.ledger.charge_record(&first.id).ok()
    }

    /// Cancels a charge: at once when no attempt is under way; otherwise its attempt is closed or
    /// reversed at the channel, and the charge ends `cancelled`, or `paid` if the customer paid
    /// first. Never decided locally.
    pub fn cancel_charge(&self, id: &str) -> Result<ChargeRecord, ChargeError> {
        let record = self.inner.ledger.request_charge_cancel(id)?;
        tracing::info!(charge = id, state = record.charge.state.as_str(), "charge cancel asked");
        match record.current().filter(|p| p.state.is_open()) {
            Some(attempt) => {
                // The attempt's own updates report the charge from here on.
                if let Err(e) = self.cancel(&attempt.id) {
                    tracing::warn!(charge = id, payment = %attempt.id, error = %e, "cannot cancel the charge's attempt now");
                }
                Ok(self.inner.ledger.charge_record(id)?)
            }
            None => {
                self.inner.send_charge(record.clone());
                Ok(record)
            }
        }
    }

    /// Waits up to `wait` for the charge to finish; returns it as it is then.
    pub async fn wait_charge(&self, id: &str, wait: Duration) -> Result<ChargeRecord, ChargeError> {
        if wait.is_zero() {
            return self.charge_record(id);
        }
        let mut updates = self.subscribe();
        let until = tokio::time::Instant::now() + wait;
        loop {
            let record = self.inner.ledger.charge_record(id)?;
            if record.charge.state.is_final() {
                return Ok(record);
            }
            loop {
                match tokio::time::timeout_at(until, updates.recv()).await {
                    Err(_) => return Ok(self.inner.ledger.charge_record(id)?),
                    Ok(Ok(Update::Charge { charge })) if charge.charge.id == id => break,
                    // Missed updates: read the ledger again.
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => break,
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => {
                        tokio::time::sleep_until(until).await;
                        return Ok(self.inner.ledger.charge_record(id)?);
                    }
                    Ok(Ok(_)) => {}
                }
            }
        }
    }

    /// The charge a new attempt would collect: its amount and subject, if it is open now (the
    /// ledger checks again when it records the attempt).
    pub(super) fn charge_due(&self, id: &str) -> Result<crate::ledger::Charge, CheckoutError> {
        self.inner.ledger.open_charge(id).map_err(CheckoutError::Ledger)
    }

    /// Whether a new attempt may start for this charge now.
    pub fn charge_open(&self, id: &str) -> Result<(), CheckoutError> {
        self.charge_due(id).map(|_| ())
    }

    /// The channel kiosk payments use: `[kiosk] channel`, else the first channel (by id) that
    /// shows its own QR and takes the first of the kiosk's tenders. None when there is none.
    pub fn kiosk_channel(&self) -> Option<&Arc<dyn Channel>> {
        let kiosk = &self.inner.config.kiosk;
        if let Some(id) = &kiosk.channel {
            return self.channel(id);
        }
        let first = kiosk.tenders.first().copied().unwrap_or(Tender::Qr);
        self.channels().values().find(|ch| ch.capabilities().display == Display::Qr && ch.capabilities().takes(first))
    }

    /// The kiosk's tenders that its channel takes, in the configured order.
    pub fn kiosk_tenders(&self, channel: &dyn Channel) -> Vec<Tender> {
        let caps = channel.capabilities();
        self.inner.config.kiosk.tenders.iter().copied().filter(|t| caps.takes(*t)).collect()
    }

    /// The kiosk basket's total and its one-line description, added up from the menu's prices.
    pub fn quote(&self, items: &[BasketItem]) -> Result<(Fen, String), ChargeError> {
        let menu = &self.inner.config.kiosk.products;
        if items.is_empty() {
            return Err(ChargeError::EmptyBasket);
        }
        let lang = self.lang();
        let mut total = 0i64;
        let mut lines = Vec::new();
        for item in items {
            let product: &Product =
                menu.iter().find(|p| p.id == item.id).ok_or_else(|| ChargeError::UnknownProduct(item.id.clone()))?;
            if !(1..=99).contains(&item.qty) {
                return Err(ChargeError::Quantity);
            }
            let price = product.price_fen().ok_or_else(|| ChargeError::UnknownProduct(item.id.clone()))?;
            // Saturating: an absurd basket ends above the ceiling, which refuses it below.
            total = total.saturating_add(price.0.saturating_mul(i64::from(item.qty)));
            lines.push(format!("{}×{}", product.name(lang), item.qty));
        }
        let total = Fen(total).payable(self.inner.config.ceiling()).map_err(ChargeError::Amount)?;
        let mut subject = lines.join(", ");
        if subject.chars().count() > 128 {
            subject = subject.chars().take(127).chain(['…']).collect();
        }
        Ok((total, subject))
    }

    /// A kiosk customer's basket as an open charge.
    pub fn kiosk_order(&self, items: &[BasketItem]) -> Result<ChargeRecord, ChargeError> {
        let (amount, subject) = self.quote(items)?;
        let kiosk = &self.inner.config.kiosk;
        let req = ChargeRequest {
            external_id: None,
            amount,
            subject: &subject,
            tender: None,
            channel: kiosk.channel.as_deref(),
            origin: Origin::Kiosk,
        };
        let id = match self.create_charge(&req)? {
            Admitted::Created(c) | Admitted::Repeated(c) => c.id,
        };
        self.charge_record(&id)
    }
}
