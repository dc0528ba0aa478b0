//! A cashier on a real SQLite file talking to a real sandbox over loopback HTTP, with timings
//! shortened so every flow finishes in a few seconds.

#![allow(dead_code)]

pub mod ledger_gen;

use paydesk_core::config::{Config, Timing};
use paydesk_core::engine::{BarcodeRequest, Cashier, Settled};
use paydesk_core::ledger::{ChannelCharge, ChannelRefund, Ledger};
use paydesk_core::money::Fen;
use paydesk_core::people::{Action, Approval};
use paydesk_sandbox::{Sandbox, SandboxOptions, Truth};
use std::sync::Arc;
use std::time::Duration;

pub const MANAGER: &str = "测试店长";
pub const MANAGER_PIN: &str = "246813";

pub struct Rig {
    pub sandbox: Sandbox,
    pub cashier: Cashier,
    pub dir: tempfile::TempDir,
}

pub fn fast_timing() -> Timing {
    Timing::quick()
}

pub fn fast_sandbox() -> SandboxOptions {
    SandboxOptions {
        minute: Duration::from_millis(2_000),
        barcode_close_after: Duration::from_millis(2_200),
        hang: Duration::from_millis(2_500),
        ..SandboxOptions::default()
    }
}

/// A test config for a sandbox at `base_url`: the demo profile without the demo, fast timings,
/// a 1 s request timeout.
pub fn config_for(base_url: &str) -> Config {
    let port = base_url.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let mut c = Config::demo(port);
    c.demo = None;
    c.terminal.code = "T01".into();
    c.timing = fast_timing();
    let (key, cert) = key_files();
    let ch = &mut c.channels;
    let abc = ch.abc.as_mut().expect("demo has abc");
    (abc.base_url, abc.request_timeout_ms, abc.connect_timeout_ms) = (base_url.into(), 1_000, 500);
    let lakala = ch.lakala.as_mut().expect("demo has lakala");
    (lakala.base_url, lakala.request_timeout_ms, lakala.connect_timeout_ms) = (base_url.into(), 1_000, 500);
    (lakala.private_key, lakala.lakala_cert) = (Some(key), Some(cert));
    let desk = ch.cashdesk.as_mut().expect("demo has cashdesk");
    (desk.base_url, desk.request_timeout_ms, desk.connect_timeout_ms) = (base_url.into(), 1_000, 500);
    desk.page_lifetime_ms = 2_000;
    let paysvc = ch.paysvc.as_mut().expect("demo has paysvc");
    (paysvc.base_url, paysvc.request_timeout_ms, paysvc.connect_timeout_ms) = (base_url.into(), 1_000, 500);
    paysvc.page_lifetime_ms = 2_000;
    let keys = key_dir();
    let alipay = ch.alipay.as_mut().expect("demo has alipay");
    (alipay.base_url, alipay.request_timeout_ms, alipay.connect_timeout_ms) = (base_url.into(), 1_000, 500);
    alipay.private_key = keys.join("alipay_app_private.pem");
    alipay.alipay_public_key = Some(keys.join("alipay_public.pem"));
    let wechat = ch.wechat.as_mut().expect("demo has wechat");
    (wechat.base_url, wechat.request_timeout_ms, wechat.connect_timeout_ms) = (base_url.into(), 1_000, 500);
    (wechat.client_cert, wechat.client_key) =
        (keys.join("wechat_apiclient_cert.pem"), keys.join("wechat_apiclient_key.pem"));
    c
}

/// Alipay in certificate mode (公钥证书) instead of public-key mode.
pub fn alipay_cert_mode(c: &mut Config) {
    let keys = key_dir();
    let a = c.channels.alipay.as_mut().expect("demo has alipay");
    a.alipay_public_key = None;
    a.app_cert = Some(keys.join("alipay_app_cert.pem"));
    a.alipay_cert = Some(keys.join("alipay_cert.pem"));
    a.alipay_root_cert = Some(keys.join("alipay_root_cert.pem"));
}

/// Lakala through the seeds' merchant backend (Bearer token; counter methods) instead of direct.
pub fn lakala_backend(c: &mut Config) {
    let l = c.channels.lakala.as_mut().expect("demo has lakala");
    l.mode = paydesk_core::config::LakalaMode::Backend;
    l.token = Some(paydesk_core::config::Secret::new(paydesk_sandbox::LAKALA_TOKEN));
    l.methods = vec!["ALIPAY".into(), "WECHAT".into()];
}

/// The sandbox's test key files (the store's private key, Lakala's certificate), written once
/// under the target directory; absolute paths, so a config naming them works from anywhere.
pub fn key_files() -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = key_dir();
    (dir.join("merchant_private.pem"), dir.join("lakala_cert.pem"))
}

/// Every key file a demo cashier has (`demo_keys::CASHIER_FILES`), written once under the target
/// directory, private to this user.
pub fn key_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-keys");
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
            std::fs::create_dir_all(&dir).expect("key dir");
            // Unique per process and thread: tests of one binary run on parallel threads.
            let tmp = dir.join(format!("{name}.{}.{:?}.tmp", std::process::id(), std::thread::current().id()));
            std::fs::write(&tmp, text).expect("key written");
            std::fs::rename(&tmp, &path).expect("key in place");
        }
        // A key others can read is refused, as ssh refuses one.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("key made private");
        }
        path
    };
    for (name, text) in paydesk_sandbox::demo_keys::CASHIER_FILES {
        write(name, text);
    }
    dir
}

pub async fn rig() -> Rig {
    rig_with(fast_sandbox(), |_| {}).await
}

pub async fn rig_with(opts: SandboxOptions, tweak: impl FnOnce(&mut Config)) -> Rig {
    let sandbox = Sandbox::start(opts).await.expect("sandbox starts");
    let mut config = config_for(&sandbox.base_url());
    tweak(&mut config);
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = Arc::new(Ledger::open(&dir.path().join("ledger.db")).expect("ledger"));
    let channels = paydesk_core::channel::from_config(&config).expect("channels");
    let cashier = Cashier::new(config, ledger, channels);
    Rig { sandbox, cashier, dir }
}

/// An 18-digit Alipay payment code whose last two digits pick the sandbox scenario.
pub fn alipay_code(ending: &str) -> String {
    format!("2800000000000000{ending}")
}

/// An 18-digit WeChat payment code whose last two digits pick the sandbox scenario.
pub fn wechat_code(ending: &str) -> String {
    format!("1300000000000000{ending}")
}

impl Rig {
    pub async fn barcode(&self, amount: &str, ending: &str) -> Settled {
        self.barcode_on("abc", amount, ending).await
    }

    pub async fn barcode_on(&self, channel: &str, amount: &str, ending: &str) -> Settled {
        self.pay_code(channel, amount, &alipay_code(ending)).await
    }

    /// One payment-code payment with exactly `code`, run to its end.
    pub async fn pay_code(&self, channel: &str, amount: &str, code: &str) -> Settled {
        let p = self
            .cashier
            .start_barcode(&BarcodeRequest {
                channel,
                amount_text: amount,
                code,
                source: "test",
                subject: None,
                charge: None,
            })
            .expect("payment starts");
        self.cashier.wait_settled(&p.id).await.expect("settles")
    }

    /// A manager's approval for `action` (the first call creates the manager, who is then
    /// signed in and takes the payments that follow).
    pub fn approve(&self, action: Action) -> Approval {
        let people = self.cashier.people();
        if people.first_run().unwrap() {
            people.create_first_manager(MANAGER, MANAGER_PIN).unwrap();
        }
        let id = people.users().unwrap().iter().find(|u| u.name == MANAGER).unwrap().id;
        people.approve(id, MANAGER_PIN, action).unwrap()
    }

    /// Every `paid` payment was charged exactly once at its amount, and every charge is a
    /// `paid` payment; refunds match too.
    pub fn assert_matches_truth(&self) {
        assert_ledger_matches(self.cashier.ledger(), &self.sandbox.truth());
    }
}

pub fn assert_ledger_matches(ledger: &Ledger, truth: &Truth) {
    let mismatches = ledger.reconcile(&channel_charges(truth), &channel_refunds(truth)).expect("reconcile");
    assert!(mismatches.is_empty(), "the ledger disagrees with the sandbox: {mismatches:#?}");
}

/// The sandbox's record as a channel statement.
pub fn channel_charges(truth: &Truth) -> Vec<ChannelCharge> {
    truth.charges.iter().map(|c| ChannelCharge { order_no: c.order_no.clone(), amount: Fen(c.amount_fen) }).collect()
}

pub fn channel_refunds(truth: &Truth) -> Vec<ChannelRefund> {
    truth.refunds.iter().map(|r| ChannelRefund { order_no: r.order_no.clone(), amount: Fen(r.amount_fen) }).collect()
}

/// Writes `config` as the TOML file the CLI reads, with the ledger beside it.
pub fn write_config(dir: &std::path::Path, config: &Config) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    config.save(&path).expect("config saved");
    path
}

pub const CLI: &str = env!("CARGO_BIN_EXE_paydesk-cli");

/// Runs `paydesk-cli --config CONFIG ARGS…` to the end.
pub async fn cli(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    cli_env(config, args, &[]).await
}

/// `cli` with environment variables (PINs come from `PAYDESK_PIN` / `PAYDESK_NEW_PIN`).
pub async fn cli_env(config: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(CLI);
    cmd.arg("--config").arg(config).args(args).stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().await.expect("paydesk-cli runs")
}
