//! paydesk: the clerk window. A thin Tauri v2 shell: start-up, commands that call the core, and
//! the core's updates forwarded to the UI as events. Everything else lives in paydesk-core.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod approval;
mod boot;
mod chain;
mod commands;
mod customer;
mod front;
mod malloc;
mod manager;
mod printing;
mod recon;
mod render;
mod scanners;
mod single;
mod state;
mod ui_error;

use paydesk_core::engine::{Cashier, Update};
use paydesk_core::scan::service::ScannerService;
use paydesk_core::scan::ScanHub;
use state::{AppState, Demo, Ready};
use tauri::{AppHandle, Emitter, Manager};

/// Forwards the engine's updates to the window: `payment-update` and `payment-alert`.
fn forward_updates(app: AppHandle, cashier: Cashier) {
    let mut updates = cashier.subscribe();
    tauri::async_runtime::spawn(async move {
        loop {
            match updates.recv().await {
                Ok(Update::Payment { payment, phase }) => {
                    let view = cashier.view_in(&payment, phase);
                    customer::follow(&app, &view);
                    if let Err(e) = app.emit("payment-update", view) {
                        tracing::warn!(error = %e, "cannot send an update to the window");
                    }
                }
                Ok(Update::LateAlert { payment }) => {
                    let message = commands::alert_message(&cashier, &payment);
                    let _ = app.emit("payment-alert", commands::Alert { id: payment.id, message });
                }
                Ok(Update::Charge { charge }) => {
                    if let Err(e) = app.emit("charge-update", cashier.charge_view(&charge)) {
                        tracing::warn!(error = %e, "cannot send a charge update to the window");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "the window missed updates; it refreshes from the ledger");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

fn main() {
    let rendering = render::choose();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PAYDESK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    rendering.log();
    malloc::return_big_blocks();

    // One window per data folder (see single.rs).
    let data_dir = boot::config_path().parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    let instance = match single::claim(&data_dir) {
        single::Claim::First(instance) => instance,
        single::Claim::Running => {
            let message = "paydesk 已在使用此数据文件夹，已切换到正在运行的收银窗口。\n\
                           paydesk is already running on this data folder; its window was brought to the front.";
            eprintln!("{message}");
            tracing::warn!(folder = %data_dir.display(), "a second copy was refused");
            std::process::exit(2);
        }
    };
    let focus_socket = instance.socket.clone();

    let result = tauri::Builder::default()
        // The folder picker of the exports (a USB stick, a shared folder).
        .plugin(tauri_plugin_dialog::init())
        .manage(customer::CustomerPage::default())
        .manage(front::KioskMode::default())
        .on_window_event(|window, event| {
            // A kiosk is left only with a manager's PIN (`leave_kiosk`), never by closing it.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                if window.label() == "main" && window.app_handle().state::<front::KioskMode>().on() {
                    tracing::info!("closing the kiosk refused: leaving it needs a manager's PIN");
                    api.prevent_close();
                }
            }
        })
        .register_uri_scheme_protocol(customer::SCHEME, |ctx, _request| customer::serve(ctx.app_handle()))
        .setup(move |app| {
            if let Some(socket) = &focus_socket {
                let handle = app.handle().clone();
                single::listen(socket, move || {
                    if let Some(w) = handle.get_webview_window("main") {
                        let steps = [w.unminimize(), w.show(), w.set_focus()];
                        if let Some(e) = steps.into_iter().find_map(Result::err) {
                            tracing::warn!(error = %e, "cannot bring the window to the front");
                        }
                    }
                });
            }
            // The window starts hidden and is shown fitted to its screen (a kiosk is full screen).
            let mut maximize = paydesk_core::config::Counter::default().start_maximized;
            let state = match tauri::async_runtime::block_on(boot::boot()) {
                Ok(booted) => {
                    tracing::info!(config = %booted.config_path.display(), "cashier ready");
                    let cashier = booted.cashier;
                    // Listen first, so the first recovery sweep's updates reach the window.
                    forward_updates(app.handle().clone(), cashier.clone());
                    // Inside the async runtime: the engine spawns its tasks onto it.
                    let (scanners, sync, printing) = tauri::async_runtime::block_on(async {
                        let _recovery = cashier.spawn_recovery();
                        let _reconciliation = cashier.spawn_reconcile_schedule();
                        // The chain's copy (`[sync]`): its own task and ledger connection, off the payment path.
                        let uploader =
                            paydesk_core::hq::upload::Uploader::from_config(cashier.config(), cashier.ledger().path());
                        let sync = uploader.as_ref().map(|u| u.status());
                        if let Some(uploader) = uploader {
                            // The chain gets a copy of a ledger that passed its check, or nothing.
                            let checked = cashier.clone();
                            tokio::spawn(async move {
                                if checked.ledger_checked().await {
                                    uploader.spawn();
                                }
                            });
                        }
                        boot::start_notify_receiver(&cashier).await;
                        boot::start_terminal_api(&cashier).await;
                        let hub = ScanHub::new(cashier.clone());
                        let dir = booted.config_path.parent().map(Into::into).unwrap_or_default();
                        // The print queue's worker: receipts never wait on the payment, nor it on them.
                        let printing = paydesk_core::print::Printing::start(cashier.clone());
                        (ScannerService::start(hub, cashier.config().scanners.clone(), dir), sync, printing)
                    });
                    scanners::forward(app.handle(), &scanners);
                    printing::forward(app.handle(), &printing);
                    let demo = booted.sandbox.map(|s| {
                        let url = s.base_url();
                        // The sandbox runs for the life of the app.
                        app.manage(s);
                        Demo { sandbox_url: url }
                    });
                    commands::check_ledger(app.handle(), &cashier);
                    let ready = Ready { cashier, demo, scanners, config_path: booted.config_path, sync, printing };
                    let config = ready.cashier.config();
                    maximize = config.counter.start_maximized;
                    if config.kiosk.enabled {
                        front::enter_kiosk_at_start(app.handle(), &ready);
                    }
                    if config.display.enabled {
                        front::open_display(app.handle(), config.display.on_single_screen);
                    }
                    AppState::Ready(Box::new(ready))
                }
                Err(e) => {
                    tracing::error!(zh = %e.zh, en = %e.en, "cannot start the cashier");
                    AppState::Failed(e)
                }
            };
            app.manage(state);
            front::fit_clerk_window(app.handle(), maximize);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::bootstrap,
            commands::set_language,
            commands::check_amount,
            scanners::arm_scan,
            scanners::disarm_scan,
            scanners::submit_scan,
            scanners::scanner_settings,
            scanners::save_scanner_settings,
            commands::start_qr,
            commands::cancel_payment,
            commands::today,
            commands::ack_alert,
            manager::sign_in,
            manager::sign_out,
            manager::lock,
            manager::users,
            manager::create_first_manager,
            manager::add_user,
            manager::payment_detail,
            manager::refund,
            manager::force_outcome,
            manager::resolve_refund,
            manager::shift_status,
            manager::open_shift,
            manager::close_shift,
            manager::shift_report,
            manager::z_reports,
            manager::z_report_html,
            manager::day_report,
            manager::range_report,
            manager::export_csv,
            manager::audit_log,
            manager::search_payments,
            manager::change_user,
            recon::recon_month,
            recon::recon_run,
            recon::reconcile_now,
            recon::resolve_difference,
            chain::sync_status,
            chain::chain_report,
            chain::export_chain_csv,
            printing::print_jobs,
            printing::print_preview,
            printing::print_slip,
            printing::print_receipt,
            printing::print_retry,
            printing::print_dismiss,
            printing::open_drawer,
            printing::printer_settings,
            printing::save_printer_settings,
            printing::printer_check,
            front::cancel_charge,
            front::kiosk_quote,
            front::kiosk_order,
            commands::leave_kiosk,
            front::display_bootstrap,
        ])
        .run(tauri::generate_context!("../../tauri.conf.json"));
    if let Err(e) = result {
        eprintln!("paydesk could not run: {e}");
        std::process::exit(1);
    }
}
