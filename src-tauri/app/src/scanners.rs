//! The scanners, for the window: the scan stream's events, the scanners' states and the camera
//! preview forwarded as events; the settings commands (saved into the config file).

use crate::approval::{approve, audit_settings_saved, ApprovalArg};
use crate::state::{ready, AppState};
use crate::ui_error::{UiError, UiResult};
use base64::Engine;
use paydesk_core::config::{Config, Scanners};
use paydesk_core::i18n::Localized;
use paydesk_core::scan::camera::{list_cameras, CameraInfo};
use paydesk_core::scan::serial::{list_ports, PortInfo};
use paydesk_core::scan::service::{ScannerService, ScannerStates};
use paydesk_core::scan::{Scan, ScanEvent, ScanSource};
use serde::Serialize;
use tauri::{AppHandle, Emitter, State};

/// Forwards `scan`, `scanner-state` and `camera-preview` to the window.
pub fn forward(app: &AppHandle, service: &ScannerService) {
    let mut scans = service.hub().subscribe();
    let to = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match scans.recv().await {
                Ok(event) => emit(&to, "scan", event),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "the window missed scan events");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    let mut states = service.states();
    let to = app.clone();
    tauri::async_runtime::spawn(async move {
        while states.changed().await.is_ok() {
            let now = states.borrow_and_update().clone();
            emit(&to, "scanner-state", now);
        }
    });
    let mut previews = service.previews();
    let to = app.clone();
    tauri::async_runtime::spawn(async move {
        while previews.changed().await.is_ok() {
            let Some(p) = previews.borrow_and_update().clone() else { continue };
            let data_url =
                format!("data:image/jpeg;base64,{}", base64::engine::general_purpose::STANDARD.encode(&p.jpeg));
            emit(
                &to,
                "camera-preview",
                CameraPreview { data_url, frame_width: p.frame_width, frame_height: p.frame_height },
            );
        }
    });
}

fn emit(app: &AppHandle, name: &str, payload: impl Serialize + Clone) {
    if let Err(e) = app.emit(name, payload) {
        tracing::warn!(error = %e, "cannot send {name} to the window");
    }
}

#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct CameraPreview {
    data_url: String,
    frame_width: u32,
    frame_height: u32,
}

/// The next payment code from any source pays this amount (or this open charge) through this
/// channel.
#[tauri::command]
pub async fn arm_scan(
    state: State<'_, AppState>,
    channel: String,
    amount_text: String,
    charge: Option<String>,
) -> UiResult<()> {
    let r = ready(&state)?;
    r.scanners.hub().arm(&channel, &amount_text, charge.as_deref()).map_err(|message| UiError::plain("arm", message))
}

#[tauri::command]
pub async fn disarm_scan(state: State<'_, AppState>) -> UiResult<()> {
    ready(&state)?.scanners.hub().disarm();
    Ok(())
}

/// A scan the window read itself: the keyboard wedge, or a code the clerk typed. With `channel`,
/// it was read while the keypad showed `amount_text` (or the open `charge`): it pays exactly that.
#[tauri::command]
pub async fn submit_scan(
    state: State<'_, AppState>,
    code: String,
    source: String,
    channel: Option<String>,
    amount_text: Option<String>,
    charge: Option<String>,
) -> UiResult<ScanEvent> {
    let r = ready(&state)?;
    let source = match ScanSource::parse(&source) {
        Some(s @ (ScanSource::Wedge | ScanSource::Manual)) => s,
        _ => return Err(UiError::plain("source", format!("unknown scan source {source}"))),
    };
    let hub = r.scanners.hub();
    let scan = Scan::now(code, source);
    Ok(match channel {
        Some(channel) => hub.submit_for(scan, &channel, amount_text.as_deref().unwrap_or(""), charge.as_deref()),
        None => hub.submit(scan),
    })
}

#[derive(Serialize)]
pub struct ScannerSettingsView {
    settings: Scanners,
    ports: Vec<PortInfo>,
    cameras: Vec<CameraInfo>,
    serial: paydesk_core::scan::serial::SerialState,
    camera: paydesk_core::scan::camera::CameraState,
}

fn settings_view(service: &ScannerService) -> ScannerSettingsView {
    let ScannerStates { serial, camera } = service.states().borrow().clone();
    ScannerSettingsView { settings: service.settings(), ports: list_ports(), cameras: list_cameras(), serial, camera }
}

#[tauri::command]
pub async fn scanner_settings(state: State<'_, AppState>) -> UiResult<ScannerSettingsView> {
    let r = ready(&state)?;
    let service = r.scanners.clone();
    // Listing devices touches udev and the camera stack: off the async workers.
    tauri::async_runtime::spawn_blocking(move || settings_view(&service))
        .await
        .map_err(|e| UiError::plain("settings", e.to_string()))
}

/// Saves the `[scanners]` section into the config file and restarts the scanners with it.
#[tauri::command]
pub async fn save_scanner_settings(
    state: State<'_, AppState>,
    approval: ApprovalArg,
    settings: Scanners,
) -> UiResult<ScannerSettingsView> {
    let r = ready(&state)?;
    let lang = r.cashier.lang();
    let a = approve(&r.cashier, approval, paydesk_core::people::Action::ChangeSettings).await?;
    let config =
        Config::save_scanners(&r.config_path, &settings).map_err(|e| UiError::plain("config", e.message(lang)))?;
    tracing::info!(path = %r.config_path.display(), "scanner settings saved");
    let saved = serde_json::to_value(&settings).unwrap_or_default();
    audit_settings_saved(&r.cashier, &a, "scanners", saved);
    let service = r.scanners.clone();
    tauri::async_runtime::spawn_blocking(move || {
        service.apply(config.scanners);
        settings_view(&service)
    })
    .await
    .map_err(|e| UiError::plain("settings", e.to_string()))
}
