//! One stream of scans from every source (serial scanner, keyboard wedge, camera, typed by
//! hand): `{code, source, time}`. The hub counts the same code once within the dedupe window,
//! uses a scan only while a payment waits for one (the clerk armed it with an amount), and
//! otherwise shows what was read without using it.

pub mod camera;
pub mod decode;
pub mod serial;
pub mod service;

use crate::engine::{BarcodeRequest, Cashier, PaymentView};
use crate::i18n::{Lang, Localized};
use crate::ledger::now_ms;
use crate::paycode::{self, ScannedCode};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanSource {
    Wedge,
    Serial,
    Camera,
    Manual,
}

impl ScanSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanSource::Wedge => "wedge",
            ScanSource::Serial => "serial",
            ScanSource::Camera => "camera",
            ScanSource::Manual => "manual",
        }
    }

    pub fn parse(text: &str) -> Option<ScanSource> {
        [ScanSource::Wedge, ScanSource::Serial, ScanSource::Camera, ScanSource::Manual]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// One code read by one source. `at_ms` is when the source saw its end (terminator, Enter, frame).
#[derive(Clone, PartialEq, Eq)]
pub struct Scan {
    pub code: String,
    pub source: ScanSource,
    pub at_ms: i64,
}

impl Scan {
    pub fn now(code: impl Into<String>, source: ScanSource) -> Scan {
        Scan { code: code.into(), source, at_ms: now_ms() }
    }
}

// Never print a payment code in full, even in a debug dump.
impl std::fmt::Debug for Scan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scan({}, {:?}, {})", paycode::mask(&self.code), self.source, self.at_ms)
    }
}

/// Counts a code once while it keeps being seen: a sighting within `window_ms` of the previous
/// sighting of the same code is a duplicate (so a QR held in front of the camera is one scan).
#[derive(Debug, Default)]
pub struct Deduper {
    window_ms: i64,
    recent: Vec<(String, i64)>,
}

impl Deduper {
    pub fn new(window_ms: u64) -> Deduper {
        Deduper { window_ms: window_ms as i64, recent: Vec::new() }
    }

    /// Whether `code` seen at `at_ms` is new (not a duplicate).
    pub fn admit(&mut self, code: &str, at_ms: i64) -> bool {
        let window = self.window_ms;
        // abs(): a clock set back must not make every code a duplicate forever.
        self.recent.retain(|(_, seen)| (at_ms - seen).abs() < window);
        match self.recent.iter_mut().find(|(c, _)| c == code) {
            Some((_, seen)) => {
                *seen = at_ms;
                false
            }
            None => {
                if window > 0 {
                    self.recent.push((code.to_owned(), at_ms));
                }
                true
            }
        }
    }
}

/// What the clerk armed the hub with: the next payment code pays this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Armed {
    pub channel: String,
    pub amount_text: String,
    /// The charge the code pays (its amount replaces `amount_text`).
    pub charge: Option<String>,
}

/// What became of a scan.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScanOutcome {
    /// It paid the armed payment: this payment has started.
    Charging { payment: Box<PaymentView> },
    /// No payment was waiting: shown, not used.
    NotWaiting,
    /// The same code again within the dedupe window: ignored.
    Duplicate,
    /// A payment was waiting but the code cannot pay it (not a payment code, wrong wallet…);
    /// the payment still waits. `code` is the error code.
    Rejected { code: String },
    /// A receipt's QR code (its order number), this till's payment: the window opens it, ready
    /// for a refund. Nothing armed is touched.
    Receipt {
        #[serde(rename = "paymentId")]
        payment_id: String,
    },
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanEvent {
    pub source: ScanSource,
    /// Payment codes masked; product codes in full.
    pub code_shown: String,
    pub at_ms: i64,
    pub outcome: ScanOutcome,
    /// What to tell the clerk, in their language.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArmError {
    #[error("no channel `{0}` takes payment codes")]
    NoBarcodeChannel(String),
}

impl Localized for ArmError {
    fn message(&self, lang: Lang) -> String {
        match self {
            ArmError::NoBarcodeChannel(id) => match lang {
                Lang::Zh => format!("收款渠道 {id} 不支持扫付款码"),
                Lang::En => format!("Channel {id} does not take payment codes"),
            },
        }
    }
}

struct HubState {
    dedupe: Deduper,
    armed: Option<Armed>,
}

/// The scan stream. Cheap to clone; every clone is the same hub.
#[derive(Clone)]
pub struct ScanHub {
    cashier: Cashier,
    pub(crate) runtime: tokio::runtime::Handle,
    state: Arc<Mutex<HubState>>,
    events: broadcast::Sender<ScanEvent>,
    armed_tx: Arc<watch::Sender<bool>>,
}

impl ScanHub {
    /// Call inside the runtime that drives payments: a scan that pays starts its payment there.
    pub fn new(cashier: Cashier) -> ScanHub {
        let window = cashier.config().scanners.dedupe_window_ms;
        let (events, _) = broadcast::channel(64);
        ScanHub {
            cashier,
            runtime: tokio::runtime::Handle::current(),
            state: Arc::new(Mutex::new(HubState { dedupe: Deduper::new(window), armed: None })),
            events,
            armed_tx: Arc::new(watch::channel(false).0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every scan's outcome, as it happens.
    pub fn subscribe(&self) -> broadcast::Receiver<ScanEvent> {
        self.events.subscribe()
    }

    /// Whether a payment waits for a code (the camera runs only then).
    pub fn watch_armed(&self) -> watch::Receiver<bool> {
        self.armed_tx.subscribe()
    }

    pub fn set_dedupe_window(&self, window_ms: u64) {
        self.lock().dedupe = Deduper::new(window_ms);
    }

    /// The next payment code pays `amount_text` (or the open `charge`) through `channel`. The
    /// amount is checked now, so the clerk hears about a bad one before the customer scans; a
    /// refused one leaves nothing armed (the keypad arms as the clerk types: an amount being
    /// edited must never leave an earlier one waiting).
    pub fn arm(&self, channel: &str, amount_text: &str, charge: Option<&str>) -> Result<(), String> {
        match self.checked(channel, amount_text, charge) {
            Ok(armed) => {
                self.lock().armed = Some(armed);
                self.armed_tx.send_replace(true);
                Ok(())
            }
            Err(why) => {
                self.disarm();
                Err(why)
            }
        }
    }

    /// What `arm` would arm, checked: the amount (or that the charge is open) and the channel.
    fn checked(&self, channel: &str, amount_text: &str, charge: Option<&str>) -> Result<Armed, String> {
        let lang = self.cashier.lang();
        match charge {
            Some(id) => self.cashier.charge_open(id).map_err(|e| e.message(lang))?,
            None => self.cashier.check_amount(amount_text).map(|_| ()).map_err(|e| e.message(lang))?,
        }
        let takes_codes = self.cashier.channels().get(channel).is_some_and(|c| c.capabilities().barcode);
        if !takes_codes {
            return Err(ArmError::NoBarcodeChannel(channel.into()).message(lang));
        }
        Ok(Armed { channel: channel.into(), amount_text: amount_text.into(), charge: charge.map(Into::into) })
    }

    pub fn disarm(&self) {
        self.lock().armed = None;
        self.armed_tx.send_replace(false);
    }

    pub fn armed(&self) -> Option<Armed> {
        self.lock().armed.clone()
    }

    /// Takes one scan from any source; returns (and broadcasts, duplicates aside) what became of it.
    pub fn submit(&self, scan: Scan) -> ScanEvent {
        self.submit_with(scan, None)
    }

    /// A scan the window read while `amount_text` (or the open `charge`) was on its keypad: it pays
    /// exactly that, whatever an earlier keystroke armed (a wedge types its code into the keypad
    /// before the window undoes it). A bad amount rejects the scan with the amount's message.
    pub fn submit_for(&self, scan: Scan, channel: &str, amount_text: &str, charge: Option<&str>) -> ScanEvent {
        let arm = self.checked(channel, amount_text, charge);
        self.submit_with(scan, Some(arm))
    }

    fn submit_with(&self, scan: Scan, arm: Option<Result<Armed, String>>) -> ScanEvent {
        let lang = self.cashier.lang();
        let (outcome, refusal) = self.decide(&scan, arm);
        let read = paycode::classify(&scan.code, &self.cashier.config().payment_codes);
        let message = refusal.unwrap_or_else(|| describe(&read, &outcome, lang));
        let code_shown = match (&outcome, read) {
            (ScanOutcome::Receipt { payment_id }, _) => payment_id.clone(),
            (_, Ok(ScannedCode::Product { code, .. })) => code,
            _ => paycode::mask(&scan.code),
        };
        let event = ScanEvent { source: scan.source, code_shown, at_ms: scan.at_ms, outcome, message };
        if !matches!(event.outcome, ScanOutcome::Duplicate) {
            tracing::info!(source = scan.source.as_str(), code = %event.code_shown, outcome = ?kind(&event.outcome), "scan");
            let _ = self.events.send(event.clone());
        }
        event
    }

    /// What the scan does, under the lock so two scans never both take the armed payment; with
    /// the channel's refusal, in the clerk's language, when it is rejected. `arm`: what the scan
    /// itself asks to pay (checked before the lock), instead of what is armed.
    fn decide(&self, scan: &Scan, arm: Option<Result<Armed, String>>) -> (ScanOutcome, Option<String>) {
        let mut state = self.lock();
        if !state.dedupe.admit(&scan.code, scan.at_ms) {
            return (ScanOutcome::Duplicate, None);
        }
        if let Some(payment_id) = receipt_of(&self.cashier, &scan.code) {
            return (ScanOutcome::Receipt { payment_id }, None);
        }
        let armed = match arm {
            Some(Ok(armed)) => armed,
            // Not a payment code at all: that is the news, whatever the amount.
            Some(Err(_)) if !is_payment_code(&self.cashier, &scan.code) => return (ScanOutcome::NotWaiting, None),
            Some(Err(why)) => return (ScanOutcome::Rejected { code: "amount".into() }, Some(why)),
            None => match state.armed.clone() {
                Some(armed) => armed,
                None => return (ScanOutcome::NotWaiting, None),
            },
        };
        let request = BarcodeRequest {
            channel: &armed.channel,
            amount_text: &armed.amount_text,
            code: &scan.code,
            source: scan.source.as_str(),
            subject: None,
            charge: armed.charge.as_deref(),
        };
        let _in_runtime = self.runtime.enter();
        match self.cashier.start_barcode(&request) {
            Ok(p) => {
                state.armed = None;
                self.armed_tx.send_replace(false);
                (ScanOutcome::Charging { payment: Box::new(self.cashier.view(&p)) }, None)
            }
            Err(e) => (ScanOutcome::Rejected { code: e.code().into() }, Some(e.message(self.cashier.lang()))),
        }
    }
}

/// How often a source thread waiting out a pause looks at its stop flag: a stopped scanner's
/// thread ends (and the worker's drop returns) within this.
const STOP_TICK: Duration = Duration::from_millis(50);

/// Sleeps `d` on a source thread (a reconnect's backoff, a camera's reopen), waking every
/// [`STOP_TICK`] to look at `stop`; true when the thread was stopped.
pub(crate) fn sleep_unless_stopped(d: Duration, stop: &AtomicBool) -> bool {
    let until = Instant::now() + d;
    while Instant::now() < until {
        if stop.load(Ordering::Relaxed) {
            return true;
        }
        std::thread::sleep(STOP_TICK.min(until.saturating_duration_since(Instant::now())));
    }
    stop.load(Ordering::Relaxed)
}

/// The payment a receipt's QR names: the order number alone, of a payment in this ledger. A
/// payment code never reads as one (order numbers start with a letter; codes are digits).
fn receipt_of(cashier: &Cashier, code: &str) -> Option<String> {
    let id = code.trim();
    let looks_like_order = (8..=64).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !looks_like_order || is_payment_code(cashier, id) {
        return None;
    }
    cashier.ledger().payment(id).ok().map(|p| p.id)
}

fn is_payment_code(cashier: &Cashier, code: &str) -> bool {
    matches!(paycode::classify(code, &cashier.config().payment_codes), Ok(ScannedCode::Payment { .. }))
}

fn kind(outcome: &ScanOutcome) -> &'static str {
    match outcome {
        ScanOutcome::Charging { .. } => "charging",
        ScanOutcome::NotWaiting => "not_waiting",
        ScanOutcome::Duplicate => "duplicate",
        ScanOutcome::Rejected { .. } => "rejected",
        ScanOutcome::Receipt { .. } => "receipt",
    }
}

/// The clerk's line for a scan that was not rejected (`read`: what the code is).
fn describe(read: &Result<ScannedCode, paycode::CodeError>, outcome: &ScanOutcome, lang: Lang) -> String {
    match outcome {
        ScanOutcome::Charging { payment } => payment.message.clone(),
        ScanOutcome::Duplicate => lang.pick("重复扫码，已忽略", "Same code again; ignored").into(),
        ScanOutcome::Receipt { payment_id } => match lang {
            Lang::Zh => format!("扫到小票：订单 {payment_id}"),
            Lang::En => format!("Read a receipt: order {payment_id}"),
        },
        ScanOutcome::Rejected { .. } | ScanOutcome::NotWaiting => match read {
            Ok(ScannedCode::Payment { wallet, .. }) => match lang {
                Lang::Zh => format!(
                    "扫到{}付款码，但没有等待收款的订单：请先输入金额，再请顾客出示付款码",
                    paycode::wallet_name(wallet, Lang::Zh)
                ),
                Lang::En => format!(
                    "Read a {} payment code, but no payment is waiting: enter the amount first, then scan",
                    paycode::wallet_name(wallet, Lang::En)
                ),
            },
            Ok(ScannedCode::Product { code, .. }) => match lang {
                Lang::Zh => format!("扫到商品条码 {code}（不是付款码）"),
                Lang::En => format!("Read product barcode {code} (not a payment code)"),
            },
            Err(e) => e.message(lang),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_counts_once_while_it_keeps_being_seen() {
        let mut d = Deduper::new(2_000);
        assert!(d.admit("A", 0));
        assert!(!d.admit("A", 1_500));
        assert!(!d.admit("A", 3_000), "seen again within the window of the last sighting");
        assert!(d.admit("B", 3_100), "another code is new");
        assert!(d.admit("A", 5_001), "gone for the whole window: a new scan");
    }

    #[test]
    fn a_clock_set_back_does_not_hide_codes_forever() {
        let mut d = Deduper::new(2_000);
        assert!(d.admit("A", 100_000));
        assert!(d.admit("A", 10_000), "an hour back is outside the window");
    }

    #[test]
    fn a_zero_window_dedupes_nothing() {
        let mut d = Deduper::new(0);
        assert!(d.admit("A", 0));
        assert!(d.admit("A", 0));
    }

    #[test]
    fn source_names_round_trip() {
        for s in [ScanSource::Wedge, ScanSource::Serial, ScanSource::Camera, ScanSource::Manual] {
            assert_eq!(ScanSource::parse(s.as_str()), Some(s));
        }
        assert_eq!(ScanSource::parse("bluetooth"), None);
    }
}
