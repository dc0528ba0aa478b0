//! What faces the customer (docs/ui-contract.md, "Charges, kiosk mode and the customer display"):
//! charges pushed by the terminal API or made at the kiosk, kiosk mode (full screen, leaving needs
//! a manager's PIN), and the customer display in a second window.

use crate::state::{ready, AppState, Ready};
use crate::ui_error::{charge_error, UiError, UiResult};
use base64::Engine;
use paydesk_core::engine::{BasketItem, Cashier, ChargeView, PaymentView};
use paydesk_core::i18n::Lang;
use paydesk_core::ledger::{Role, Tender};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use tauri::{AppHandle, Manager, PhysicalPosition, PhysicalSize, State, WebviewUrl, WebviewWindowBuilder};

pub const DISPLAY_LABEL: &str = "display";
const MAIN_LABEL: &str = "main";
/// The logo shown when the config names none.
const BUNDLED_LOGO: &[u8] = include_bytes!("../../../assets/logo.svg");
const LOGO_LIMIT: u64 = 1024 * 1024;

/// Whether the window runs as a kiosk now (from `[kiosk] enabled` until a manager leaves it).
#[derive(Default)]
pub struct KioskMode(AtomicBool);

impl KioskMode {
    pub fn on(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    fn set(&self, on: bool) {
        self.0.store(on, Ordering::SeqCst)
    }
}

/// The open charge the screen collects now, if any.
pub fn charge_on_screen(c: &Cashier) -> Option<ChargeView> {
    c.charge_on_screen().map(|r| c.charge_view(&r))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KioskProduct {
    id: String,
    name: String,
    price_fen: i64,
    price_text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KioskInfo {
    welcome: String,
    logo_data_url: Option<String>,
    idle_reset_seconds: u32,
    paid_reset_seconds: u32,
    tenders: Vec<Tender>,
    channel: String,
    method: Option<String>,
    products: Vec<KioskProduct>,
}

pub fn kiosk_info(c: &Cashier) -> Option<KioskInfo> {
    let kiosk = &c.config().kiosk;
    let lang = c.lang();
    let channel = c.kiosk_channel()?;
    let tenders = c.kiosk_tenders(channel.as_ref());
    Some(KioskInfo {
        welcome: c.config().display.welcome(lang).to_string(),
        logo_data_url: logo_data_url(c),
        idle_reset_seconds: kiosk.idle_reset_seconds,
        paid_reset_seconds: kiosk.paid_reset_seconds,
        tenders,
        channel: channel.id().to_string(),
        method: kiosk.method.clone(),
        products: kiosk
            .products
            .iter()
            .filter_map(|p| {
                let price = p.price_fen()?;
                Some(KioskProduct {
                    id: p.id.clone(),
                    name: p.name(lang).to_string(),
                    price_fen: price.0,
                    price_text: price.yuan_text(),
                })
            })
            .collect(),
    })
}

/// The configured logo (or the bundled one) as a data URL, read once: every bootstrap of the
/// kiosk and the display carries it. An unreadable file is logged and the bundled logo shown.
fn logo_data_url(c: &Cashier) -> Option<String> {
    static LOGO: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    Some(LOGO.get_or_init(|| read_logo(c)).clone())
}

fn read_logo(c: &Cashier) -> String {
    let bundled = || ("image/svg+xml", BUNDLED_LOGO.to_vec());
    let (mime, bytes) = match &c.config().display.logo {
        None => bundled(),
        Some(name) => {
            let path = c.config().resolve(std::path::Path::new(name));
            let mime = match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
                Some("png") => Some("image/png"),
                Some("jpg" | "jpeg") => Some("image/jpeg"),
                Some("svg") => Some("image/svg+xml"),
                _ => None,
            };
            let read = std::fs::metadata(&path)
                .map_err(|e| e.to_string())
                .and_then(|m| if m.len() > LOGO_LIMIT { Err("larger than 1 MiB".into()) } else { Ok(()) })
                .and_then(|_| std::fs::read(&path).map_err(|e| e.to_string()));
            match (mime, read) {
                (Some(mime), Ok(bytes)) => (mime, bytes),
                (None, _) => {
                    tracing::warn!(path = %path.display(), "the logo must be a .png, .jpg or .svg; showing the bundled one");
                    bundled()
                }
                (_, Err(why)) => {
                    tracing::warn!(path = %path.display(), %why, "cannot read the logo; showing the bundled one");
                    bundled()
                }
            }
        }
    };
    format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Puts the main window into kiosk mode (or back) and tells the core who takes payments.
pub fn apply_kiosk(app: &AppHandle, r: &Ready, on: bool) {
    app.state::<KioskMode>().set(on);
    r.cashier.people().set_kiosk(on);
    if let Some(w) = app.get_webview_window(MAIN_LABEL) {
        let steps = [w.set_decorations(!on), w.set_fullscreen(on), w.set_always_on_top(on)];
        for e in steps.into_iter().filter_map(Result::err) {
            tracing::warn!(error = %e, "cannot switch the window's kiosk mode");
        }
    }
}

/// Kiosk mode at start-up, if someone can leave it: without a manager the window starts as the
/// clerk window (to create one) and says why in the log.
pub fn enter_kiosk_at_start(app: &AppHandle, r: &Ready) {
    let managers = r.cashier.people().users().map(|u| u.iter().filter(|u| u.role == Role::Manager).count());
    match managers {
        Ok(n) if n > 0 => apply_kiosk(app, r, true),
        Ok(_) => tracing::error!(
            "kiosk mode needs a manager who can leave it: create one in the clerk window, then restart paydesk"
        ),
        Err(e) => tracing::error!(error = %e, "cannot read the users; starting as the clerk window"),
    }
}

/// Fits the clerk window to its screen's work area (the screen less its panels), then shows it
/// (it starts hidden, so it never flashes at the wrong size): maximised when the till wants it
/// (`[counter] start_maximized`), else its size shrunk to fit and centred, so a 1366×768 panel
/// loses nothing at the top or bottom.
pub fn fit_clerk_window(app: &AppHandle, maximize: bool) {
    let Some(window) = app.get_webview_window(MAIN_LABEL) else { return };
    fit(app, &window, maximize);
    if let Err(e) = window.show() {
        tracing::error!(error = %e, "cannot show the window");
    }
}

fn fit(app: &AppHandle, window: &tauri::WebviewWindow, maximize: bool) {
    let monitor = match window.current_monitor() {
        Ok(Some(m)) => m,
        _ => match app.primary_monitor() {
            Ok(Some(m)) => m,
            _ => return,
        },
    };
    let area = *monitor.work_area();
    let (Ok(outer), Ok(inner)) = (window.outer_size(), window.inner_size()) else { return };
    // What the window manager's frame adds around the page.
    let frame = PhysicalSize::new(outer.width.saturating_sub(inner.width), outer.height.saturating_sub(inner.height));
    let fitted = if maximize {
        area.size
    } else {
        PhysicalSize::new(outer.width.min(area.size.width), outer.height.min(area.size.height))
    };
    let x = area.position.x + (area.size.width.saturating_sub(fitted.width) / 2) as i32;
    let y = area.position.y + (area.size.height.saturating_sub(fitted.height) / 2) as i32;
    let page = PhysicalSize::new(
        fitted.width - frame.width.min(fitted.width),
        fitted.height - frame.height.min(fitted.height),
    );
    let steps = [window.set_size(page), window.set_position(PhysicalPosition::new(x, y))];
    // Without a window manager (a bare X server) maximize does nothing: the size above stands.
    let maximized = if maximize { window.maximize() } else { Ok(()) };
    if let Some(e) = steps.into_iter().chain([maximized]).find_map(Result::err) {
        tracing::warn!(error = %e, "cannot fit the window to the screen");
    }
    tracing::info!(width = fitted.width, height = fitted.height, maximize, "clerk window fitted to the screen");
}

/// Opens the customer display: full screen on the second monitor. With one screen it would cover
/// the clerk's window, so it opens (as a window beside it) only when `[display] on_single_screen`
/// asks for it.
pub fn open_display(app: &AppHandle, on_single_screen: bool) {
    let monitors = app.available_monitors().unwrap_or_default();
    let primary = app.primary_monitor().ok().flatten();
    let second = monitors.into_iter().find(|m| primary.as_ref().is_none_or(|p| p.position() != m.position()));
    if second.is_none() && !on_single_screen {
        tracing::info!("the customer display needs a second screen; not opened (see [display] on_single_screen)");
        return;
    }
    let mut builder = WebviewWindowBuilder::new(app, DISPLAY_LABEL, WebviewUrl::App("index.html".into()))
        .title("顾客显示 Customer display")
        .focused(false);
    builder = match &second {
        Some(m) => {
            let scale = m.scale_factor();
            let pos = m.position().to_logical::<f64>(scale);
            builder.position(pos.x, pos.y).inner_size(800.0, 600.0).fullscreen(true).decorations(false)
        }
        None => builder.inner_size(800.0, 600.0).position(40.0, 40.0),
    };
    match builder.build() {
        Ok(_) => tracing::info!(second_monitor = second.is_some(), "customer display open"),
        Err(e) => tracing::error!(error = %e, "cannot open the customer display"),
    }
}

#[tauri::command]
pub async fn cancel_charge(state: State<'_, AppState>, id: String) -> UiResult<ChargeView> {
    let c = &ready(&state)?.cashier;
    let record = c.cancel_charge(&id).map_err(|e| charge_error(c, e))?;
    Ok(c.charge_view(&record))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quote {
    amount_fen: i64,
    amount_text: String,
}

#[tauri::command]
pub async fn kiosk_quote(state: State<'_, AppState>, items: Vec<BasketItem>) -> UiResult<Quote> {
    let c = &ready(&state)?.cashier;
    let (total, _) = c.quote(&items).map_err(|e| charge_error(c, e))?;
    Ok(Quote { amount_fen: total.0, amount_text: total.yuan_text() })
}

#[tauri::command]
pub async fn kiosk_order(
    state: State<'_, AppState>,
    kiosk: State<'_, KioskMode>,
    items: Vec<BasketItem>,
) -> UiResult<ChargeView> {
    let c = &ready(&state)?.cashier;
    if !kiosk.on() {
        return Err(UiError::plain("not_kiosk", c.lang().pick("当前不是自助模式", "Not in kiosk mode")));
    }
    let record = c.kiosk_order(&items).map_err(|e| charge_error(c, e))?;
    Ok(c.charge_view(&record))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DisplayBootstrap {
    lang: Lang,
    welcome: String,
    logo_data_url: Option<String>,
    terminal_name: String,
    active: Option<PaymentView>,
    charge: Option<ChargeView>,
}

#[tauri::command]
pub async fn display_bootstrap(state: State<'_, AppState>) -> UiResult<DisplayBootstrap> {
    let c = &ready(&state)?.cashier;
    Ok(DisplayBootstrap {
        lang: c.lang(),
        welcome: c.config().display.welcome(c.lang()).to_string(),
        logo_data_url: logo_data_url(c),
        terminal_name: c.config().terminal.name.clone(),
        active: c.on_counter().map(|p| c.view(&p)),
        charge: charge_on_screen(c),
    })
}
