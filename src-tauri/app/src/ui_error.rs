//! Errors as the window shows them: `{code, message}`, the message already in the window's
//! language (docs/ui-contract.md).

use paydesk_core::engine::{Cashier, ChargeError, ManageError};
use paydesk_core::i18n::{Lang, Localized};
use paydesk_core::people::PeopleError;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct UiError {
    code: String,
    message: String,
}

impl UiError {
    pub fn new(code: &str, err: &impl Localized, lang: Lang) -> UiError {
        UiError { code: code.into(), message: err.message(lang) }
    }

    /// An error whose message is already in the window's language.
    pub fn plain(code: &str, message: impl Into<String>) -> UiError {
        UiError { code: code.into(), message: message.into() }
    }
}

pub type UiResult<T> = Result<T, UiError>;

// The core's errors each carry their own code: one mapping per error type, in the cashier's language.

pub fn people_error(c: &Cashier, e: PeopleError) -> UiError {
    UiError::new(e.code(), &e, c.lang())
}

pub fn manage_error(c: &Cashier, e: ManageError) -> UiError {
    UiError::new(e.code(), &e, c.lang())
}

pub fn charge_error(c: &Cashier, e: ChargeError) -> UiError {
    UiError::new(e.code(), &e, c.lang())
}
