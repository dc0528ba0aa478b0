//! paydesk core: money, ledger, channels and the payment engine. Builds without any webview.

pub mod channel;
pub mod config;
pub mod days;
pub mod engine;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod hq;
pub mod i18n;
pub mod ledger;
pub mod listener;
pub mod money;
pub mod notify;
pub mod orderno;
pub mod paycode;
pub mod people;
pub mod print;
pub mod private_file;
pub mod qr;
pub mod recon;
pub mod scan;
pub mod terminal_api;
pub mod text;
