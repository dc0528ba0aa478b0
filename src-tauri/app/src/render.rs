//! How WebKitGTK draws the window. By default it is painted on the CPU: WebKit's GPU compositing
//! costs the web process about 95 MiB here (GL surfaces and Mesa's driver mapped into it, measured
//! by the start-up bench), and a cashier's flat screens, with no 3D and few animations, do not need
//! it. `PAYDESK_GPU=1` gives WebKit its choice back (a kiosk with heavy pictures on a real GPU).
//! A WEBKIT_* variable set by the user is never overridden.
//!
//! Painted on the CPU, WebKitWebDriver's screenshot waits for the page's next paint, which a still
//! screen never makes: the tests' harness keeps a dot ticking while it takes one.

const SOFTWARE: [&str; 2] = ["WEBKIT_DISABLE_COMPOSITING_MODE", "WEBKIT_DISABLE_DMABUF_RENDERER"];

pub enum Rendering {
    Software,
    WebKitsChoice,
}

/// Sets the choice into this process's environment, which the WebKit processes inherit. Must
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
            Rendering::Software => {
                tracing::debug!("the window is painted on the CPU (PAYDESK_GPU=1 gives WebKit its choice)")
            }
            Rendering::WebKitsChoice => tracing::info!("the window is drawn as WebKit chooses (PAYDESK_GPU=1)"),
        }
    }
}
