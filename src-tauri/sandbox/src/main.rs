//! `paydesk-sandbox`: runs the payment-service simulator until Ctrl-C or SIGTERM.
//! The first line of stdout is the base URL it listens on; logs go to stderr.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use paydesk_sandbox::{Sandbox, SandboxOptions};

#[derive(Parser, Debug)]
#[command(name = "paydesk-sandbox", version, about = "A loopback simulator of the payment services paydesk talks to")]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    listen: SocketAddr,
    /// Length of one `expiredDate` minute, in milliseconds [default: 60000].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    minute_ms: Option<u64>,
    /// When an unconfirmed barcode trade (code ending 90) is closed [default: 180000].
    #[arg(long, value_name = "N")]
    barcode_close_ms: Option<u64>,
    /// How long a hanging pay call (code ending 94) hangs [default: 20000].
    #[arg(long, value_name = "N")]
    hang_ms: Option<u64>,
    /// Demo mode: pay QR/page orders automatically this long after creation.
    #[arg(long, value_name = "N")]
    auto_pay_ms: Option<u64>,
    /// Keep orders, charges and refunds in this JSON file across restarts.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Seed of the fault generator.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,
}

impl Args {
    fn options(&self) -> SandboxOptions {
        let d = SandboxOptions::default();
        SandboxOptions {
            listen: self.listen,
            minute: self.minute_ms.map_or(d.minute, Duration::from_millis),
            barcode_close_after: self.barcode_close_ms.map_or(d.barcode_close_after, Duration::from_millis),
            hang: self.hang_ms.map_or(d.hang, Duration::from_millis),
            auto_pay_after: self.auto_pay_ms.map(Duration::from_millis),
            state_file: self.state.clone(),
            seed: self.seed,
        }
    }
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let sandbox = match Sandbox::start(args.options()).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot start the sandbox: {e}");
            return ExitCode::FAILURE;
        }
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", sandbox.base_url());
        let _ = out.flush();
    }
    stop_signal().await;
    tracing::info!("stopping");
    sandbox.shutdown().await;
    ExitCode::SUCCESS
}
