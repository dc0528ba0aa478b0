// The Tauri config lives at the top of the repository (the customer's layout): run the Tauri
// build step from there so every path in it is relative to the top level.
fn main() {
    let top = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    println!("cargo:rerun-if-changed={}", top.join("tauri.conf.json").display());
    if let Err(e) = std::env::set_current_dir(&top) {
        panic!("cannot enter {}: {e}", top.display());
    }
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        panic!("tauri build step: {e:#}");
    }
}

/// Every command of `main.rs`'s `generate_handler!`. Listing them gives each an `allow-…`
/// permission, so a window may call only those its capability in `tauri.conf.json` grants (the
/// customer display: its own bootstrap and nothing else).
const COMMANDS: &[&str] = &[
    "bootstrap",
    "set_language",
    "check_amount",
    "arm_scan",
    "disarm_scan",
    "submit_scan",
    "scanner_settings",
    "save_scanner_settings",
    "start_qr",
    "cancel_payment",
    "today",
    "ack_alert",
    "sign_in",
    "sign_out",
    "lock",
    "users",
    "create_first_manager",
    "add_user",
    "payment_detail",
    "refund",
    "force_outcome",
    "resolve_refund",
    "shift_status",
    "open_shift",
    "close_shift",
    "shift_report",
    "z_reports",
    "z_report_html",
    "day_report",
    "range_report",
    "export_csv",
    "audit_log",
    "search_payments",
    "change_user",
    "recon_month",
    "recon_run",
    "reconcile_now",
    "resolve_difference",
    "sync_status",
    "chain_report",
    "export_chain_csv",
    "print_jobs",
    "print_preview",
    "print_slip",
    "print_receipt",
    "print_retry",
    "print_dismiss",
    "open_drawer",
    "printer_settings",
    "save_printer_settings",
    "printer_check",
    "cancel_charge",
    "kiosk_quote",
    "kiosk_order",
    "leave_kiosk",
    "display_bootstrap",
];
