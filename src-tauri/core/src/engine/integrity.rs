//! The ledger's start-up integrity check (`PRAGMA quick_check`), run beside the window.
//!
//! On a big ledger the check reads the whole file (seconds for a million payments), so the
//! window opens first and the check runs on a read-only connection of its own. Until it has
//! passed, nothing that moves money is written: a payment, a charge, a refund, a recorded
//! outcome, a notify or a recovery sweep is refused (or waits) with `LedgerError::Checking`.
//! A damaged ledger is then refused for good, as when the check ran before the window: it is
//! never written to, repaired or recreated. The command line checks before it does anything.

use super::{Cashier, Inner};
use crate::ledger::{Ledger, LedgerError};
use tokio::sync::watch;

/// Where the start-up check is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerCheck {
    Checking,
    Intact,
    /// What `quick_check` (or opening the file) said.
    Damaged(String),
}

impl LedgerCheck {
    pub fn as_str(&self) -> &'static str {
        match self {
            LedgerCheck::Checking => "checking",
            LedgerCheck::Intact => "intact",
            LedgerCheck::Damaged(_) => "damaged",
        }
    }

    /// What may be written now: nothing while checking, nothing ever once damaged.
    pub fn writable(&self) -> Result<(), LedgerError> {
        match self {
            LedgerCheck::Intact => Ok(()),
            LedgerCheck::Checking => Err(LedgerError::Checking),
            LedgerCheck::Damaged(why) => Err(LedgerError::Corrupt(why.clone())),
        }
    }
}

impl Inner {
    pub(super) fn writable(&self) -> Result<(), LedgerError> {
        self.check.borrow().writable()
    }

    /// Waits for the check; true when the ledger is intact.
    pub(super) async fn checked(&self) -> bool {
        let mut rx = self.check.subscribe();
        let Ok(state) = rx.wait_for(|s| *s != LedgerCheck::Checking).await else { return false };
        *state == LedgerCheck::Intact
    }
}

impl Cashier {
    /// The check's state now.
    pub fn ledger_check(&self) -> LedgerCheck {
        self.inner.check.borrow().clone()
    }

    /// Follows the check (the window shows "checking the ledger" until it is done).
    pub fn watch_ledger_check(&self) -> watch::Receiver<LedgerCheck> {
        self.inner.check.subscribe()
    }

    /// Waits for the check; true when the ledger is intact.
    pub async fn ledger_checked(&self) -> bool {
        self.inner.checked().await
    }

    /// Runs the check on a connection of its own, off the async workers, and records the
    /// outcome. A damaged ledger is logged once here; everything that writes is refused after.
    pub async fn check_ledger(&self) -> LedgerCheck {
        let path = self.inner.ledger.path().to_path_buf();
        let started = std::time::Instant::now();
        let outcome = match tokio::task::spawn_blocking(move || Ledger::check_file(&path)).await {
            Ok(Ok(())) => LedgerCheck::Intact,
            Ok(Err(LedgerError::Corrupt(why))) => LedgerCheck::Damaged(why),
            Ok(Err(e)) => LedgerCheck::Damaged(e.to_string()),
            Err(e) => LedgerCheck::Damaged(format!("the check stopped: {e}")),
        };
        match &outcome {
            LedgerCheck::Damaged(why) => tracing::error!(why, "the ledger is damaged: nothing will be written to it"),
            _ => tracing::info!(ms = started.elapsed().as_millis() as u64, "ledger checked: intact"),
        }
        self.inner.check.send_replace(outcome.clone());
        outcome
    }
}
