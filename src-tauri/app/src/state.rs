//! What every command reads: the cashier the window runs on, or why it could not start.

use crate::boot::BootError;
use crate::ui_error::{UiError, UiResult};
use paydesk_core::engine::Cashier;
use paydesk_core::scan::service::ScannerService;
use serde::Serialize;
use std::path::PathBuf;

/// What the window is running on: a cashier, or the reason it could not start.
pub enum AppState {
    Ready(Box<Ready>),
    Failed(BootError),
}

pub struct Ready {
    pub cashier: Cashier,
    pub demo: Option<Demo>,
    pub scanners: ScannerService,
    pub config_path: PathBuf,
    /// The chain upload's state (`[sync]`), for the manager screen's status line.
    pub sync: Option<paydesk_core::hq::status::SharedStatus>,
    pub printing: paydesk_core::print::Printing,
}

#[derive(Clone, Serialize)]
pub struct Demo {
    #[serde(rename = "sandboxUrl")]
    pub sandbox_url: String,
}

pub fn ready(state: &AppState) -> UiResult<&Ready> {
    match state {
        AppState::Ready(r) => Ok(r),
        AppState::Failed(e) => Err(UiError::plain("startup", format!("{}\n{}", e.zh, e.en))),
    }
}

pub fn cashier(state: &AppState) -> UiResult<&Cashier> {
    ready(state).map(|r| &r.cashier)
}
