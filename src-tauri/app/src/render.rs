//! How WebKitGTK draws the window. A cashier's screens are flat 2D, so they are painted on the CPU
//! by default: WebKit's GPU compositing costs the web process about 95 MiB (GL surfaces and
//! Mesa's driver mapped into it, measured on the memory bench) and buys nothing a counter sees.
//! The DMA-BUF renderer is off for the same reason, and because it leaves the window blank on
//! some GPU drivers. `PAYDESK_GPU=1` keeps WebKit's own choice; a WEBKIT_* variable already set
//! by the user is never overridden.

const SOFTWARE: [&str; 2] = ["WEBKIT_DISABLE_COMPOSITING_MODE", "WEBKIT_DISABLE_DMABUF_RENDERER"];

pub enum Rendering {
    Software,
    WebKitsChoice,
}

/// Sets the defaults into this process's environment, which the WebKit processes inherit. Must
/// run first thing in `main`, before any thread exists (setting the environment is not
/// thread-safe).
pub fn choose() -> Rendering {
    if std::env::var_os("PAYDESK_GPU").is_some_and(|v| v == "1") {
        return Rendering::WebKitsChoice;
    }
    for name in SOFTWARE {
        if std::env::var_os(name).is_none() {
            std::env::set_var(name, "1");
        }
    }
    Rendering::Software
}

impl Rendering {
    pub fn log(&self) {
        match self {
            Rendering::Software => tracing::info!("the window is painted on the CPU (PAYDESK_GPU=1 to use the GPU)"),
            Rendering::WebKitsChoice => tracing::info!("the window is drawn as WebKit chooses (PAYDESK_GPU=1)"),
        }
    }
}
