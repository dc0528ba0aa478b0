//! How the WebKit processes draw the window and run its scripts, set through the environment they
//! inherit. A WEBKIT_* or JSC_* variable set by the user is never overridden.
//!
//! The window is painted on the CPU: WebKit's GPU compositing costs the web process about 95 MiB
//! here (GL surfaces and Mesa's driver mapped into it, measured by the start-up bench), and a
//! cashier's flat screens, with no 3D and few animations, do not need it. `PAYDESK_GPU=1` gives
//! WebKit its choice back (a kiosk with heavy pictures on a real GPU).
//!
//! Scripts run in JavaScriptCore's interpreter, without its JIT compilers: the window's scripts
//! are small and spend their time waiting for the core, and the JIT's code and compilers cost the
//! web process about 7 MiB (start-up bench). `PAYDESK_JIT=1` brings the JIT back.
//!
//! Painted on the CPU, WebKitWebDriver's screenshot waits for the page's next paint, which a still
//! screen never makes: the tests' harness keeps a dot ticking while it takes one.

const SOFTWARE: [(&str, &str); 2] = [("WEBKIT_DISABLE_COMPOSITING_MODE", "1"), ("WEBKIT_DISABLE_DMABUF_RENDERER", "1")];
const NO_JIT: [(&str, &str); 1] = [("JSC_useJIT", "false")];

pub struct Choice {
    gpu: bool,
    jit: bool,
}

/// Sets the choice into this process's environment, which the WebKit processes inherit. Must
/// run first thing in `main`, before any thread exists (setting the environment is not
/// thread-safe).
pub fn choose() -> Choice {
    let asked = |name: &str| std::env::var_os(name).is_some_and(|v| v == "1");
    let choice = Choice { gpu: asked("PAYDESK_GPU"), jit: asked("PAYDESK_JIT") };
    let mut defaults = Vec::new();
    if !choice.gpu {
        defaults.extend(SOFTWARE);
    }
    if !choice.jit {
        defaults.extend(NO_JIT);
    }
    for (name, value) in defaults {
        if std::env::var_os(name).is_none() {
            std::env::set_var(name, value);
        }
    }
    choice
}

impl Choice {
    pub fn log(&self) {
        let painted = if self.gpu { "as WebKit chooses (PAYDESK_GPU=1)" } else { "on the CPU" };
        let scripts = if self.jit { "with the JIT (PAYDESK_JIT=1)" } else { "in the interpreter" };
        // The defaults at debug; a store's own choice is worth a line in every log.
        if self.gpu || self.jit {
            tracing::info!("the window is painted {painted}, its scripts run {scripts}");
        } else {
            tracing::debug!("the window is painted {painted}, its scripts run {scripts}");
        }
    }
}
