//! How WebKitGTK draws the window. `PAYDESK_GPU=0` paints it on the CPU: WebKit's GPU
//! compositing costs the web process about 95 MiB here (GL surfaces and Mesa's driver mapped into
//! it, measured on the memory bench), and a cashier's flat screens do not need it. It is not the
//! default yet: with it the customer display's window test hangs under WebKitWebDriver
//! (tests/front.rs), which is not understood. A WEBKIT_* variable set by the user is never
//! overridden.

const SOFTWARE: [&str; 2] = ["WEBKIT_DISABLE_COMPOSITING_MODE", "WEBKIT_DISABLE_DMABUF_RENDERER"];

pub enum Rendering {
    Software,
    WebKitsChoice,
}

/// Sets the choice into this process's environment, which the WebKit processes inherit. Must
/// run first thing in `main`, before any thread exists (setting the environment is not
/// thread-safe).
pub fn choose() -> Rendering {
    if std::env::var_os("PAYDESK_GPU").is_none_or(|v| v != "0") {
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
            Rendering::Software => tracing::info!("the window is painted on the CPU (PAYDESK_GPU=0)"),
            Rendering::WebKitsChoice => tracing::debug!("the window is drawn as WebKit chooses"),
        }
    }
}
