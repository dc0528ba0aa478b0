//! `paydesk-sandbox`: runs the payment-service simulator until Ctrl-C or SIGTERM.
//! The first line of stdout is the base URL it listens on (with `--tls-listen`, the second
//! line is the TLS listener's); logs go to stderr.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use paydesk_sandbox::{AmountUnit, Sandbox, SandboxOptions, SignScheme};

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
    /// lakala backend: the expected Bearer token [default: sandbox-token].
    #[arg(long, value_name = "TOKEN")]
    lakala_token: Option<String>,
    /// lakala direct: the expected appid [default: OP00000003].
    #[arg(long, value_name = "ID")]
    lakala_appid: Option<String>,
    /// lakala: the expected merchant number [default: 8222900701106PZ].
    #[arg(long, value_name = "NO")]
    lakala_merchant_no: Option<String>,
    /// lakala: the expected terminal number [default: D9296400].
    #[arg(long, value_name = "NO")]
    lakala_term_no: Option<String>,
    /// lakala direct: the store's certificate (PEM) [default: the built-in test certificate].
    #[arg(long, value_name = "FILE")]
    lakala_merchant_cert: Option<PathBuf>,
    /// lakala direct: the platform's private key (PEM) [default: the built-in test key].
    #[arg(long, value_name = "FILE")]
    lakala_platform_key: Option<PathBuf>,
    /// lakala direct: the platform's certificate (PEM) [default: the built-in test certificate].
    #[arg(long, value_name = "FILE")]
    lakala_platform_cert: Option<PathBuf>,
    /// cashdesk: the expected appId [default: 123456].
    #[arg(long, value_name = "ID")]
    cashdesk_app_id: Option<String>,
    /// cashdesk: the appKey [default: 000000].
    #[arg(long, value_name = "KEY")]
    cashdesk_app_key: Option<String>,
    /// cashdesk: the signature scheme, md5 or sm3 [default: md5].
    #[arg(long, value_name = "SCHEME")]
    cashdesk_sign: Option<SignScheme>,
    /// cashdesk: the unit of `amount`, fen or yuan [default: fen].
    #[arg(long, value_name = "UNIT")]
    cashdesk_amount_unit: Option<AmountUnit>,
    /// cashdesk: where paid orders are notified.
    #[arg(long, value_name = "URL")]
    cashdesk_notify_url: Option<String>,
    /// alipay: the expected app_id [default: 2021000000000001].
    #[arg(long, value_name = "ID")]
    alipay_app_id: Option<String>,
    /// alipay: the seller id (PID) notifies carry [default: 2088000000000001].
    #[arg(long, value_name = "PID")]
    alipay_seller_id: Option<String>,
    /// alipay public-key mode: the app's public key (PEM) [default: the built-in test key].
    #[arg(long, value_name = "FILE")]
    alipay_app_public_key: Option<PathBuf>,
    /// alipay: Alipay's private key (PEM) that signs replies [default: the built-in test key].
    #[arg(long, value_name = "FILE")]
    alipay_private_key: Option<PathBuf>,
    /// alipay: cert mode (app_cert_sn, alipay_root_cert_sn, alipay_cert_sn) instead of public-key mode.
    #[arg(long)]
    alipay_cert_mode: bool,
    /// alipay cert mode: the app's certificate (PEM) [default: the built-in test certificate].
    #[arg(long, value_name = "FILE")]
    alipay_app_cert: Option<PathBuf>,
    /// alipay cert mode: Alipay's certificate (PEM) [default: the built-in test certificate].
    #[arg(long, value_name = "FILE")]
    alipay_cert: Option<PathBuf>,
    /// alipay cert mode: Alipay's root bundle (PEM) [default: the built-in test bundle].
    #[arg(long, value_name = "FILE")]
    alipay_root_cert: Option<PathBuf>,
    /// wechat: the expected appid [default: wxd930ea5d5a258f4f].
    #[arg(long, value_name = "ID")]
    wechat_appid: Option<String>,
    /// wechat: the expected mch_id [default: 1900000109].
    #[arg(long, value_name = "ID")]
    wechat_mch_id: Option<String>,
    /// wechat: the API v2 key [default: the built-in test key].
    #[arg(long, value_name = "KEY")]
    wechat_api_key: Option<String>,
    /// Also listen here over TLS, requiring a client certificate (WeChat's /secapi mutual TLS).
    #[arg(long, value_name = "ADDR")]
    tls_listen: Option<SocketAddr>,
    /// The CA (PEM) the TLS listener trusts for client certificates [default: the built-in test CA].
    #[arg(long, value_name = "FILE")]
    wechat_ca_cert: Option<PathBuf>,
    /// The TLS listener's certificate (PEM) [default: the built-in test certificate].
    #[arg(long, value_name = "FILE")]
    tls_server_cert: Option<PathBuf>,
    /// The TLS listener's private key (PEM) [default: the built-in test key].
    #[arg(long, value_name = "FILE")]
    tls_server_key: Option<PathBuf>,
    /// Statements: bill any day at once, today and later ones with what they hold so far
    /// (default: T+1, once the day is over, as the wallets do).
    #[arg(long)]
    bills_ready_same_day: bool,
}

fn read_pem(path: Option<&PathBuf>, default: String) -> Result<String, String> {
    match path {
        Some(p) => std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display())),
        None => Ok(default),
    }
}

impl Args {
    fn options(&self) -> Result<SandboxOptions, String> {
        let d = SandboxOptions::default();
        Ok(SandboxOptions {
            listen: self.listen,
            minute: self.minute_ms.map_or(d.minute, Duration::from_millis),
            barcode_close_after: self.barcode_close_ms.map_or(d.barcode_close_after, Duration::from_millis),
            hang: self.hang_ms.map_or(d.hang, Duration::from_millis),
            auto_pay_after: self.auto_pay_ms.map(Duration::from_millis),
            state_file: self.state.clone(),
            seed: self.seed,
            lakala_token: self.lakala_token.clone().unwrap_or(d.lakala_token),
            lakala_appid: self.lakala_appid.clone().unwrap_or(d.lakala_appid),
            lakala_merchant_no: self.lakala_merchant_no.clone().unwrap_or(d.lakala_merchant_no),
            lakala_term_no: self.lakala_term_no.clone().unwrap_or(d.lakala_term_no),
            lakala_merchant_cert_pem: read_pem(self.lakala_merchant_cert.as_ref(), d.lakala_merchant_cert_pem)?,
            lakala_platform_key_pem: read_pem(self.lakala_platform_key.as_ref(), d.lakala_platform_key_pem)?,
            lakala_platform_cert_pem: read_pem(self.lakala_platform_cert.as_ref(), d.lakala_platform_cert_pem)?,
            cashdesk_app_id: self.cashdesk_app_id.clone().unwrap_or(d.cashdesk_app_id),
            cashdesk_app_key: self.cashdesk_app_key.clone().unwrap_or(d.cashdesk_app_key),
            cashdesk_sign: self.cashdesk_sign.unwrap_or(d.cashdesk_sign),
            cashdesk_amount_unit: self.cashdesk_amount_unit.unwrap_or(d.cashdesk_amount_unit),
            cashdesk_notify_url: self.cashdesk_notify_url.clone().or(d.cashdesk_notify_url),
            alipay_app_id: self.alipay_app_id.clone().unwrap_or(d.alipay_app_id),
            alipay_seller_id: self.alipay_seller_id.clone().unwrap_or(d.alipay_seller_id),
            alipay_app_public_key_pem: read_pem(self.alipay_app_public_key.as_ref(), d.alipay_app_public_key_pem)?,
            alipay_private_key_pem: read_pem(self.alipay_private_key.as_ref(), d.alipay_private_key_pem)?,
            alipay_cert_mode: self.alipay_cert_mode,
            alipay_app_cert_pem: read_pem(self.alipay_app_cert.as_ref(), d.alipay_app_cert_pem)?,
            alipay_cert_pem: read_pem(self.alipay_cert.as_ref(), d.alipay_cert_pem)?,
            alipay_root_cert_pem: read_pem(self.alipay_root_cert.as_ref(), d.alipay_root_cert_pem)?,
            wechat_appid: self.wechat_appid.clone().unwrap_or(d.wechat_appid),
            wechat_mch_id: self.wechat_mch_id.clone().unwrap_or(d.wechat_mch_id),
            wechat_api_key: self.wechat_api_key.clone().unwrap_or(d.wechat_api_key),
            tls_listen: self.tls_listen,
            wechat_ca_cert_pem: read_pem(self.wechat_ca_cert.as_ref(), d.wechat_ca_cert_pem)?,
            tls_server_cert_pem: read_pem(self.tls_server_cert.as_ref(), d.tls_server_cert_pem)?,
            tls_server_key_pem: read_pem(self.tls_server_key.as_ref(), d.tls_server_key_pem)?,
            bills_ready_same_day: self.bills_ready_same_day,
            ..d
        })
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
    let options = match args.options() {
        Ok(o) => o,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let sandbox = match Sandbox::start(options).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot start the sandbox: {e}");
            return ExitCode::FAILURE;
        }
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", sandbox.base_url());
        if let Some(tls) = sandbox.tls_base_url() {
            let _ = writeln!(out, "{tls}");
        }
        let _ = out.flush();
    }
    stop_signal().await;
    tracing::info!("stopping");
    sandbox.shutdown().await;
    ExitCode::SUCCESS
}
