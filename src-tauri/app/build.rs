// The Tauri config lives at the top of the repository (the customer's layout): run the Tauri
// build step from there so every path in it is relative to the top level.
fn main() {
    let top = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    println!("cargo:rerun-if-changed={}", top.join("tauri.conf.json").display());
    if let Err(e) = std::env::set_current_dir(&top) {
        panic!("cannot enter {}: {e}", top.display());
    }
    tauri_build::build()
}
