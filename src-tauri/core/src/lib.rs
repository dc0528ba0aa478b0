//! paydesk core: money, ledger, channels and the payment engine. Builds without any webview.

pub mod config;
pub mod i18n;
pub mod ledger;
pub mod money;
pub mod paycode;
