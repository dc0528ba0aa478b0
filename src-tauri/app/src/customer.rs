//! The customer-facing window for page payments that only a browser can open (`paysvc`'s Alipay
//! form). It shows our own page (built by the core from the form it read, never the service's
//! HTML), served by the `customer` URI scheme with a CSP that lets the form post only to the
//! gateway it names. The window has no capability: it cannot call the cashier.

use paydesk_core::channel::paysvc::HostedForm;
use paydesk_core::channel::Display;
use paydesk_core::engine::{PaymentView, Phase};
use std::sync::Mutex;
use tauri::http::{header, Response, StatusCode};
use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder};

pub const SCHEME: &str = "customer";
const LABEL: &str = "customer";

/// The page the customer window shows now: the payment it is for, its HTML and CSP.
#[derive(Default)]
pub struct CustomerPage(Mutex<Option<Page>>);

struct Page {
    payment: String,
    html: String,
    csp: String,
}

/// Serves the current page to the customer window.
pub fn serve(app: &AppHandle) -> Response<Vec<u8>> {
    let state = app.state::<CustomerPage>();
    let page = state.0.lock().unwrap_or_else(|p| p.into_inner());
    let response = match page.as_ref() {
        Some(p) => Response::builder()
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .header("Content-Security-Policy", &p.csp)
            .body(p.html.clone().into_bytes()),
        None => Response::builder().status(StatusCode::NOT_FOUND).body(Vec::new()),
    };
    response.unwrap_or_else(|_| Response::new(Vec::new()))
}

/// Opens, or closes, the customer window as a page payment moves on.
pub fn follow(app: &AppHandle, view: &PaymentView) {
    if view.display != Display::CustomerWindow {
        return;
    }
    let showing = matches!(view.phase, Phase::Waiting | Phase::Checking);
    match (&view.qr_payload, showing) {
        (Some(payload), true) => open(app, view, payload),
        _ => close(app, &view.id),
    }
}

fn open(app: &AppHandle, view: &PaymentView, payload: &str) {
    let state = app.state::<CustomerPage>();
    {
        let mut page = state.0.lock().unwrap_or_else(|p| p.into_inner());
        if page.as_ref().is_some_and(|p| p.payment == view.id) {
            return;
        }
        let form: HostedForm = match serde_json::from_str(payload) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(payment = %view.id, error = %e, "the stored payment form is unreadable");
                return;
            }
        };
        let origin = tauri::Url::parse(&form.action).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
        let csp =
            format!("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action {origin}");
        let heading = format!("¥{}", view.amount_text);
        *page = Some(Page { payment: view.id.clone(), html: form.to_html(&heading), csp });
    }
    let url = format!("{SCHEME}://localhost/{}", view.id);
    if let Some(window) = app.get_webview_window(LABEL) {
        if let Ok(url) = tauri::Url::parse(&url) {
            let _ = window.navigate(url);
        }
        let _ = window.show();
        return;
    }
    let Ok(url) = tauri::Url::parse(&url) else { return };
    let built = WebviewWindowBuilder::new(app, LABEL, WebviewUrl::CustomProtocol(url))
        .title("付款 Payment")
        .inner_size(900.0, 700.0)
        .build();
    if let Err(e) = built {
        tracing::error!(error = %e, "cannot open the customer window");
    }
}

fn close(app: &AppHandle, payment: &str) {
    let state = app.state::<CustomerPage>();
    let mut page = state.0.lock().unwrap_or_else(|p| p.into_inner());
    if page.as_ref().is_some_and(|p| p.payment == payment) {
        *page = None;
        if let Some(window) = app.get_webview_window(LABEL) {
            let _ = window.close();
        }
    }
}
