//! The least a Tauri v2 window costs on this machine: one static page, no commands, no core.
//! `memory-soak` starts it beside the cashier and reports both (the floor under the cashier's
//! memory is WebKitGTK's, not ours).
fn main() {
    if let Err(e) = tauri::Builder::default().run(tauri::generate_context!()) {
        eprintln!("tauri-floor: {e}");
        std::process::exit(1);
    }
}
