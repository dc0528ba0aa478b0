//! Start-up: find or write the config, start the demo sandbox when the profile asks for one,
//! open the ledger (checking it is not damaged) and build the cashier.

use paydesk_core::config::{self, Config, ConfigError};
use paydesk_core::engine::Cashier;
use paydesk_core::i18n::{Lang, Localized};
use paydesk_sandbox::{Sandbox, SandboxOptions};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct Booted {
    pub cashier: Cashier,
    pub config_path: PathBuf,
    /// The demo's sandbox, kept alive as long as the app runs.
    pub sandbox: Option<Sandbox>,
}

/// A start-up failure, shown in the window in both languages (the config that names the
/// language may be the thing that failed).
#[derive(Debug, Clone)]
pub struct BootError {
    pub zh: String,
    pub en: String,
}

impl BootError {
    fn from(e: &impl Localized) -> BootError {
        BootError { zh: e.message(Lang::Zh), en: e.message(Lang::En) }
    }
}

pub fn config_path() -> PathBuf {
    std::env::var_os("PAYDESK_CONFIG").map(PathBuf::from).unwrap_or_else(config::default_config_path)
}

fn free_loopback_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

/// Starts the demo's sandbox on its port. When something else holds that port, the sandbox moves
/// to a free one and this run's channels follow it in memory; the config file is never rewritten.
async fn start_sandbox(config: &mut Config, config_path: &Path) -> Result<Option<Sandbox>, BootError> {
    let Some(demo) = config.demo.clone() else { return Ok(None) };
    let options = |port: u16| SandboxOptions {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        auto_pay_after: (demo.auto_pay_ms > 0).then(|| Duration::from_millis(demo.auto_pay_ms)),
        state_file: Some(config_path.with_file_name("sandbox-state.json")),
        // The demo's manager can reconcile today at once (a real wallet bills a day the next
        // morning).
        bills_ready_same_day: true,
        ..SandboxOptions::default()
    };
    let sandbox = match Sandbox::start(options(demo.sandbox_port)).await {
        Ok(s) => s,
        Err(e) => {
            // The port was taken since the profile was written. Whatever holds it is not ours:
            // no request of this run goes there.
            tracing::warn!(port = demo.sandbox_port, error = %e, "demo sandbox port busy; using another for this run");
            let s = Sandbox::start(options(0)).await.map_err(|e| BootError {
                zh: format!("演示沙箱无法启动：{e}"),
                en: format!("The demo sandbox cannot start: {e}"),
            })?;
            config.repoint_demo(s.addr().port());
            s
        }
    };
    tracing::info!(url = %sandbox.base_url(), "demo sandbox running");
    Ok(Some(sandbox))
}

pub async fn boot() -> Result<Booted, BootError> {
    let config_path = config_path();
    let keys = config::DemoKeys { files: paydesk_sandbox::demo_keys::CASHIER_FILES };
    if config::write_demo_on_first_run(&config_path, &keys, free_loopback_port).map_err(|e| BootError::from(&e))? {
        tracing::info!(path = %config_path.display(), "wrote the demo profile");
    }
    let mut config = Config::load(&config_path).map_err(|e: ConfigError| BootError::from(&e))?;
    let sandbox = start_sandbox(&mut config, &config_path).await?;
    // The integrity check runs once the window is up (`main.rs`): seconds on a big ledger.
    // Until it has passed nothing that moves money is written; a damaged ledger is refused then.
    let cashier = Cashier::open_unchecked(config, &config_path, None).map_err(|e| BootError::from(&e))?;
    if cashier.config().demo.is_some() {
        cashier.people().add_demo_users().map_err(|e| BootError::from(&e))?;
    }
    Ok(Booted { cashier, config_path, sandbox })
}

/// The notify receiver, when the config asks for one. A port in use is logged, not fatal: polling
/// alone resolves every payment, notifies only speed it up.
pub async fn start_notify_receiver(cashier: &Cashier) {
    let Some(notify) = cashier.config().notify.clone() else { return };
    if let Err(e) = paydesk_core::notify::serve(cashier.clone(), &notify.listen).await {
        tracing::error!(listen = %notify.listen, error = %e, "cannot start the notify receiver; payments are still polled");
    }
}

/// The terminal API, when the config asks for it. A port in use or a bad token file is logged,
/// not fatal: the till still takes payments typed at the counter.
pub async fn start_terminal_api(cashier: &Cashier) {
    let Some(settings) = cashier.config().terminal_api.clone() else { return };
    if let Err(e) = paydesk_core::terminal_api::serve(cashier.clone(), &settings).await {
        use paydesk_core::i18n::Localized;
        tracing::error!(listen = %settings.listen, error = %e.message(paydesk_core::i18n::Lang::En), "cannot start the terminal API");
    }
}
