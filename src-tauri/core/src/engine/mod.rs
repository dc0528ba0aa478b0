//! The payment engine: starts barcode and QR payments, drives each to a final state, resolves
//! every unfinished payment at start-up and every minute, and refunds.
//!
//! Rules it keeps (ARCHITECTURE.md, `engine`): the `created` row is committed before any
//! request; every state change is a guarded transition; unknown is never failed; nothing is
//! closed locally; a payment that turns out paid after the clerk gave up is kept, flagged late
//! and alerted.

pub mod chain;
pub mod charges;
pub mod decide;
mod driver;
mod errors;
pub mod export;
mod failpoint;
mod integrity;
pub mod manage;
mod notice;
pub mod recon;
pub mod reports;
pub mod view;

pub use charges::{BasketItem, ChargeError, ChargeRequest};
pub use errors::{CheckoutError, ManageError};
pub use integrity::LedgerCheck;
pub use notice::NoticeTaken;
pub use view::{ChargeView, PaymentView, Phase};

use crate::channel::{self, Channel, Channels};
use crate::config::{Config, Timing};
use crate::i18n::Lang;
use crate::ledger::{now_ms, DayRange, Flow, Ledger, LedgerError, LedgerProfile, NewPayment, Payment, Totals};
use crate::money::Fen;
use crate::orderno::OrderNumbers;
use crate::paycode;
use crate::people::People;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// How many of the day's newest payments the counter lists (the totals count them all; the
/// manager's payment list finds the rest). The window reads the list again after every sale: a
/// busy day's thousand rows, each read and drawn again, grew the window by the hour.
pub const COUNTER_ROWS: usize = 100;

/// What the engine tells the screen.
#[derive(Debug, Clone)]
pub enum Update {
    Payment {
        payment: Payment,
        phase: Phase,
    },
    /// A payment the clerk had given up on turned out paid.
    LateAlert {
        payment: Payment,
    },
    /// A charge was made, or its state or attempts changed.
    Charge {
        charge: Box<crate::ledger::ChargeRecord>,
    },
}

/// A payment this process is driving right now.
struct Live {
    cancel: watch::Sender<bool>,
    ended: watch::Receiver<bool>,
    /// The clerk is still waiting on it (not final, not given up).
    on_counter: bool,
    cancelling: bool,
    http_micros: Arc<AtomicU64>,
}

/// A payment whose driver has finished, and how long its HTTP exchanges took in all.
#[derive(Debug, Clone)]
pub struct Settled {
    pub payment: Payment,
    pub http_time: Duration,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoverySummary {
    pub examined: usize,
    pub resolved: usize,
    pub still_open: usize,
    /// Lapsed payments queried again.
    pub rechecked: usize,
    pub refunds_resolved: usize,
}

pub struct BarcodeRequest<'a> {
    pub channel: &'a str,
    pub amount_text: &'a str,
    pub code: &'a str,
    /// Where the code came from (`wedge`, `serial`, `camera`, `manual`, `cli`), for the audit.
    pub source: &'a str,
    pub subject: Option<&'a str>,
    /// The charge this code pays: its amount and subject then replace `amount_text` and `subject`.
    pub charge: Option<&'a str>,
}

#[derive(Clone)]
pub struct Cashier {
    inner: Arc<Inner>,
}

struct Inner {
    ledger: Arc<Ledger>,
    channels: Channels,
    config: Config,
    lang: RwLock<Lang>,
    updates: broadcast::Sender<Update>,
    live: Mutex<HashMap<String, Live>>,
    numbers: OrderNumbers,
    people: People,
    /// How long past its next step a driven payment stays leased to this process: the longest
    /// request plus the longest pause. Recovery elsewhere waits that long after a crash.
    lease_margin_ms: i64,
    /// Which notify hints may still make a query.
    hints: Mutex<notice::HintLimiter>,
    /// The start-up integrity check (`integrity.rs`): nothing moves money until it has passed.
    check: watch::Sender<LedgerCheck>,
}

impl Cashier {
    pub fn new(config: Config, ledger: Arc<Ledger>, channels: Channels) -> Cashier {
        let (updates, _) = broadcast::channel(256);
        let numbers = OrderNumbers::new(&config.terminal.code);
        let lang = RwLock::new(config.language);
        let people = People::new(ledger.clone(), config.people.clone());
        let t = &config.timing;
        let longest_pause =
            t.barcode_first_poll_ms.max(t.barcode_poll_interval_ms).max(t.qr_poll_interval_ms).max(t.cancel_retry_ms);
        let lease_margin_ms = (config.longest_request_ms() + longest_pause) as i64;
        Cashier {
            inner: Arc::new(Inner {
                ledger,
                channels,
                config,
                lang,
                updates,
                live: Mutex::new(HashMap::new()),
                numbers,
                people,
                lease_margin_ms,
                hints: Mutex::new(notice::HintLimiter::new()),
                check: watch::Sender::new(LedgerCheck::Intact),
            }),
        }
    }

    /// Opens the ledger the config names (relative to `config_path`), checks it is intact, and
    /// builds its channels.
    pub fn open(
        config: Config,
        config_path: &std::path::Path,
        ledger_override: Option<&std::path::Path>,
    ) -> Result<Cashier, CheckoutError> {
        Cashier::open_with(config, config_path, ledger_override, true)
    }

    /// As [`Cashier::open`], leaving the integrity check to [`Cashier::check_ledger`], run once the
    /// window is up: until it has passed, nothing that moves money is written (`integrity.rs`).
    pub fn open_unchecked(
        config: Config,
        config_path: &std::path::Path,
        ledger_override: Option<&std::path::Path>,
    ) -> Result<Cashier, CheckoutError> {
        Cashier::open_with(config, config_path, ledger_override, false)
    }

    fn open_with(
        config: Config,
        config_path: &std::path::Path,
        ledger_override: Option<&std::path::Path>,
        check_now: bool,
    ) -> Result<Cashier, CheckoutError> {
        let path = ledger_override.map(|p| p.to_path_buf()).unwrap_or_else(|| config.ledger_path(config_path));
        let ledger = Arc::new(Ledger::open(&path).map_err(CheckoutError::Ledger)?);
        // A damaged ledger is reported, never silently recreated or written to.
        if check_now {
            ledger.check_integrity().map_err(CheckoutError::Ledger)?;
        }
        let profile = if config.demo.is_some() { LedgerProfile::Demo } else { LedgerProfile::Store };
        ledger.claim_profile(profile).map_err(CheckoutError::Ledger)?;
        let channels = channel::from_config(&config).map_err(|e| CheckoutError::ChannelSetup(e.to_string()))?;
        let cashier = Cashier::new(config, ledger, channels);
        if !check_now {
            cashier.inner.check.send_replace(LedgerCheck::Checking);
        }
        Ok(cashier)
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn people(&self) -> &People {
        &self.inner.people
    }

    pub fn ledger(&self) -> &Ledger {
        &self.inner.ledger
    }

    pub fn lang(&self) -> Lang {
        *self.inner.lang.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_lang(&self, lang: Lang) {
        *self.inner.lang.write().unwrap_or_else(|p| p.into_inner()) = lang;
    }

    pub fn channel(&self, id: &str) -> Option<&Arc<dyn Channel>> {
        self.inner.channels.get(id)
    }

    pub fn channels(&self) -> &Channels {
        &self.inner.channels
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Update> {
        self.inner.updates.subscribe()
    }

    /// Payments a manager looks for by what they know: an amount ("12.34"), the last four digits
    /// of the customer's payment code, or part of the order number. Newest first, at most 100.
    pub fn search_payments(&self, query: &str) -> Result<Vec<Payment>, LedgerError> {
        let q = query.trim();
        if q.is_empty() || q.chars().count() > 40 || !crate::text::visible(q) {
            return Ok(Vec::new());
        }
        let amount = Fen::parse_input(q, Fen(i64::MAX)).ok();
        let code_end = (q.len() == 4 && q.bytes().all(|b| b.is_ascii_digit())).then_some(q);
        // An order number has letters and digits; 3 characters at least, so "12" is not everything.
        let order_part = (q.len() >= 3 && q.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(q);
        self.inner.ledger.search_payments(amount, code_end, order_part, 100)
    }

    pub fn check_amount(&self, text: &str) -> Result<Fen, CheckoutError> {
        Fen::parse_input(text, self.inner.config.ceiling()).map_err(CheckoutError::Amount)
    }

    fn offering(
        &self,
        channel: &str,
        what: &'static str,
        offered: impl Fn(&channel::Capabilities) -> bool,
    ) -> Result<Arc<dyn Channel>, CheckoutError> {
        let ch = self.inner.channels.get(channel).ok_or_else(|| CheckoutError::UnknownChannel(channel.into()))?;
        if !offered(ch.capabilities()) {
            return Err(CheckoutError::NotOffered { channel: channel.into(), what });
        }
        Ok(ch.clone())
    }

    /// The channel a payment code goes to: the one asked for when it takes the code's wallet;
    /// otherwise the wallet's own channel, then the first configured one that takes it (an Alipay
    /// code scanned while WeChat Pay is selected goes to Alipay): the clerk never has to choose.
    fn barcode_channel(&self, asked: &str, code: &str) -> Result<(String, Arc<dyn Channel>), CheckoutError> {
        let ch = self.offering(asked, "barcode", |c| c.barcode)?;
        let Ok(paycode::ScannedCode::Payment { wallet, .. }) =
            paycode::classify(code, &self.inner.config.payment_codes)
        else {
            return Ok((asked.to_string(), ch));
        };
        let takes = |c: &channel::Capabilities| c.barcode && c.barcode_wallets.contains(&wallet);
        if takes(ch.capabilities()) {
            return Ok((asked.to_string(), ch));
        }
        let ids = self.inner.config.channel_ids();
        let preferred = ids.iter().find(|id| **id == wallet).into_iter().chain(ids.iter());
        for id in preferred {
            if let Some(other) = self.inner.channels.get(id).filter(|c| takes(c.capabilities())) {
                return Ok((id.to_string(), other.clone()));
            }
        }
        Ok((asked.to_string(), ch))
    }

    /// Validates everything, commits the `created` row and starts the barcode flow in the
    /// background. Progress arrives as [`Update`]s.
    pub fn start_barcode(&self, req: &BarcodeRequest<'_>) -> Result<Payment, CheckoutError> {
        let clerk = self.inner.people.clerk().map_err(CheckoutError::People)?;
        let (amount, subject, charge) = self.due(req.amount_text, req.subject, req.charge)?;
        let (channel, ch) = self.barcode_channel(req.channel, req.code)?;
        let (code, wallet) =
            paycode::payment_code(req.code, &self.inner.config.payment_codes, &ch.capabilities().barcode_wallets)
                .map_err(CheckoutError::Code)?;
        let timing = &self.inner.config.timing;
        let now = now_ms();
        let deadline = now + self.inner.config.barcode_deadline(&channel).as_millis() as i64;
        let new = NewPayment {
            id: String::new(),
            terminal: self.inner.config.terminal.code.clone(),
            channel,
            flow: Flow::Barcode,
            amount,
            subject,
            merchant: ch.account().into(),
            wallet: Some(wallet),
            code_masked: Some(paycode::mask(&code)),
            created_at: now,
            deadline_at: deadline,
            horizon_at: deadline.max(now + timing.late_horizon_ms as i64),
            lease_until: now + self.inner.lease_margin_ms,
            source: req.source.into(),
            clerk,
            charge,
        };
        let (payment, cancel_rx, ended_tx, http) = self.admit(new)?;
        let inner = self.inner.clone();
        let id = payment.id.clone();
        tokio::spawn(async move {
            inner.run_barcode(&id, code, cancel_rx, &http).await;
            inner.finish(&id, ended_tx);
        });
        Ok(payment)
    }

    /// Commits the `created` row, asks the channel for a QR payload and returns the payment
    /// (pending with its payload, or final/unknown if the channel did not give one). Polling
    /// continues in the background.
    /// `method` is the tender picked (one of the channel's `methods`; default its first).
    pub async fn start_qr(
        &self,
        channel: &str,
        amount_text: &str,
        subject: Option<&str>,
        method: Option<&str>,
    ) -> Result<Payment, CheckoutError> {
        let clerk = self.inner.people.clerk().map_err(CheckoutError::People)?;
        let due = self.due(amount_text, subject, None)?;
        self.start_qr_due(channel, method, clerk, due).await
    }

    /// As [`Cashier::start_qr`], for the amount and subject of an open charge.
    pub async fn start_qr_for_charge(
        &self,
        charge: &str,
        channel: &str,
        method: Option<&str>,
    ) -> Result<Payment, CheckoutError> {
        let clerk = self.inner.people.clerk().map_err(CheckoutError::People)?;
        let due = self.due("", None, Some(charge))?;
        self.start_qr_due(channel, method, clerk, due).await
    }

    /// What a new payment collects: a typed amount and subject, or an open charge's.
    fn due(
        &self,
        amount_text: &str,
        subject: Option<&str>,
        charge: Option<&str>,
    ) -> Result<(Fen, String, Option<String>), CheckoutError> {
        match charge {
            Some(id) => {
                let c = self.charge_due(id)?;
                Ok((c.amount, c.subject, Some(c.id)))
            }
            None => Ok((self.check_amount(amount_text)?, subject.unwrap_or("").into(), None)),
        }
    }

    async fn start_qr_due(
        &self,
        channel: &str,
        method: Option<&str>,
        clerk: Option<String>,
        (amount, subject, charge): (Fen, String, Option<String>),
    ) -> Result<Payment, CheckoutError> {
        let ch = self.offering(channel, "qr", |c| c.qr)?;
        let offered = &ch.capabilities().methods;
        let method = match method {
            Some(m) if offered.iter().any(|o| o.code == m) => Some(m.to_string()),
            Some(m) => return Err(CheckoutError::MethodNotOffered { channel: channel.into(), method: m.into() }),
            None => offered.first().map(|o| o.code.clone()),
        };
        let timing = &self.inner.config.timing;
        let now = now_ms();
        let shown = timing.qr_timeout_ms as i64;
        let channel_expiry = ch.qr_expiry(Timing::ms(timing.qr_timeout_ms)).as_millis() as i64;
        let new = NewPayment {
            id: String::new(),
            terminal: self.inner.config.terminal.code.clone(),
            channel: channel.into(),
            flow: Flow::Qr,
            amount,
            subject,
            merchant: ch.account().into(),
            // A QR payment's tender; read back by `driver::order_of`.
            wallet: method,
            code_masked: None,
            created_at: now,
            deadline_at: now + shown,
            horizon_at: now + channel_expiry + timing.late_horizon_ms as i64,
            lease_until: now + self.inner.lease_margin_ms,
            source: "qr".into(),
            clerk,
            charge,
        };
        let (payment, cancel_rx, ended_tx, http) = self.admit(new)?;
        let created = self.inner.create_qr(&ch, &payment, &http).await;
        let inner = self.inner.clone();
        let id = payment.id.clone();
        tokio::spawn(async move {
            inner.run_qr(&id, cancel_rx, &http).await;
            inner.finish(&id, ended_tx);
        });
        Ok(created.unwrap_or(payment))
    }

    /// Refuses a second payment while the clerk still waits on one (by design: one counter, one
    /// customer; a queued payment would charge a customer who may have walked away). Then
    /// records the new payment and registers it as live.
    #[allow(clippy::type_complexity)]
    fn admit(
        &self,
        mut new: NewPayment,
    ) -> Result<(Payment, watch::Receiver<bool>, watch::Sender<bool>, Arc<AtomicU64>), CheckoutError> {
        self.inner.writable().map_err(CheckoutError::Ledger)?;
        let mut live = self.inner.live.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((id, _)) = live.iter().find(|(_, l)| l.on_counter) {
            return Err(CheckoutError::CounterBusy(id.clone()));
        }
        let mut attempt = 0;
        let payment = loop {
            new.id = self.inner.numbers.next("");
            match self.inner.ledger.insert_payment(&new) {
                Err(LedgerError::Duplicate) if attempt < 20 => attempt += 1,
                other => break other.map_err(CheckoutError::Ledger)?,
            }
        };
        let (cancel_tx, cancel_rx) = watch::channel(false);
        let (ended_tx, ended_rx) = watch::channel(false);
        let http = Arc::new(AtomicU64::new(0));
        live.insert(
            payment.id.clone(),
            Live { cancel: cancel_tx, ended: ended_rx, on_counter: true, cancelling: false, http_micros: http.clone() },
        );
        drop(live);
        self.inner.emit(&payment);
        Ok((payment, cancel_rx, ended_tx, http))
    }

    /// The clerk pressed Cancel: the flow ends its wait now and closes, reverses or (where the
    /// channel can do neither) keeps querying in the background.
    pub fn cancel(&self, id: &str) -> Result<Payment, CheckoutError> {
        let payment = self.inner.ledger.payment(id).map_err(CheckoutError::Ledger)?;
        {
            let mut live = self.inner.live.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(l) = live.get_mut(id) {
                if payment.state.is_open() {
                    l.cancelling = true;
                    let _ = l.cancel.send(true);
                }
            }
        }
        // Read again: the driver may have moved on while the flag was being set.
        let payment = self.inner.ledger.payment(id).map_err(CheckoutError::Ledger)?;
        self.inner.emit(&payment);
        Ok(payment)
    }

    /// Waits until this process's driver of `id` has finished (final, or handed to recovery).
    pub async fn wait_settled(&self, id: &str) -> Result<Settled, LedgerError> {
        let found = {
            let live = self.inner.live.lock().unwrap_or_else(|p| p.into_inner());
            live.get(id).map(|l| (l.ended.clone(), l.http_micros.clone()))
        };
        let mut http = Duration::ZERO;
        if let Some((mut ended, micros)) = found {
            while !*ended.borrow_and_update() {
                if ended.changed().await.is_err() {
                    break;
                }
            }
            http = Duration::from_micros(micros.load(Ordering::Relaxed));
        }
        Ok(Settled { payment: self.inner.ledger.payment(id)?, http_time: http })
    }

    /// The payment as the screen shows it now.
    pub fn view(&self, payment: &Payment) -> PaymentView {
        self.view_in(payment, self.inner.phase(payment))
    }

    /// The payment as the screen shows it in `phase` (the phase an [`Update`] carried).
    pub fn view_in(&self, payment: &Payment, phase: Phase) -> PaymentView {
        // Only a paid payment can have refunds; a ledger that cannot say counts none (the detail
        // and the reports read them again).
        let refunded = match payment.state {
            crate::ledger::State::Paid => self.inner.ledger.refunded(&payment.id).unwrap_or(Fen::ZERO),
            _ => Fen::ZERO,
        };
        PaymentView::of(payment, phase, self.lang(), self.display_of(&payment.channel), refunded)
    }

    /// A charge as the screen shows it.
    pub fn charge_view(&self, record: &crate::ledger::ChargeRecord) -> ChargeView {
        ChargeView::of(record, self.lang(), |c| self.display_of(c))
    }

    /// How a channel's QR payments reach the customer (a QR code when the channel is unknown).
    pub fn display_of(&self, channel: &str) -> channel::Display {
        self.inner.channels.get(channel).map_or(channel::Display::Qr, |c| c.capabilities().display)
    }

    /// The payment the clerk is waiting on, if any.
    pub fn on_counter(&self) -> Option<Payment> {
        let id = {
            let live = self.inner.live.lock().unwrap_or_else(|p| p.into_inner());
            live.iter().find(|(_, l)| l.on_counter).map(|(id, _)| id.clone())
        }?;
        self.inner.ledger.payment(&id).ok()
    }

    /// Asks the channel about an unfinished payment now and records the answer (a final payment
    /// is returned as the ledger has it).
    pub async fn query_now(&self, id: &str) -> Result<Payment, CheckoutError> {
        let p = self.inner.ledger.payment(id).map_err(CheckoutError::Ledger)?;
        if p.state.is_final() {
            return Ok(p);
        }
        Ok(self.inner.query_payment(&p).await.unwrap_or(p))
    }

    /// Resolves every unfinished payment this process is not driving: query, then close or
    /// reverse where the flow requires and the channel can.
    pub async fn recover(&self) -> RecoverySummary {
        self.inner.recover().await
    }

    /// Recovery now and then every `timing.recovery_interval_ms`, until the runtime stops.
    pub fn spawn_recovery(&self) -> tokio::task::JoinHandle<()> {
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let every = Timing::ms(inner.config.timing.recovery_interval_ms);
            // A sweep writes what the channels say: only into a ledger that passed its check.
            if !inner.checked().await {
                tracing::error!("no recovery sweeps: the ledger did not pass its check");
                return;
            }
            loop {
                // Each sweep in its own task: a panic in one is logged, and the next runs anyway.
                let sweep = inner.clone();
                match tokio::spawn(async move { sweep.recover().await }).await {
                    Ok(summary) if summary.examined > 0 || summary.refunds_resolved > 0 => {
                        tracing::info!(?summary, "recovery sweep")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "a recovery sweep failed; the next one runs as planned"),
                }
                tokio::time::sleep(every).await;
            }
        })
    }

    /// A notify posted to the local receiver for `channel` (see `notice.rs`).
    pub async fn take_notify(&self, channel: &str, authorization: Option<&str>, body: &[u8]) -> NoticeTaken {
        self.inner.take_notify(channel, authorization, body).await
    }

    /// Late payments nobody has acknowledged: shown until a person does.
    pub fn alerts(&self) -> Result<Vec<Payment>, LedgerError> {
        self.inner.ledger.unacknowledged_alerts()
    }

    pub fn acknowledge_alert(&self, id: &str) -> Result<bool, LedgerError> {
        self.inner.ledger.acknowledge_alert(id)
    }

    /// Every payment not final yet, whatever its day: the list a person must be able to see.
    pub fn open_payments(&self) -> Result<Vec<Payment>, LedgerError> {
        self.inner.ledger.open_payments()
    }

    /// This business day's payments (newest first) and totals.
    /// The counter's list: today's newest [`COUNTER_ROWS`] payments, and the totals of all of them.
    pub fn today(&self) -> Result<(Vec<Payment>, Totals), LedgerError> {
        self.day(DayRange::containing(now_ms(), self.inner.config.business_day.cutoff_hour), COUNTER_ROWS)
    }

    /// The newest `rows` payments of a day, and the totals of all its payments.
    pub fn day(&self, range: DayRange, rows: usize) -> Result<(Vec<Payment>, Totals), LedgerError> {
        let payments = self.inner.ledger.payments_created_between(range.from_ms, range.to_ms, rows)?;
        let totals = self.inner.ledger.totals(&range)?;
        Ok((payments, totals))
    }
}
